//! The bits of the Java runtime whose exact behaviour shows in RCTab's results: the seeded
//! `java.util.Random`, `Collections.shuffle`, `String.compareTo`, and the iteration order of a
//! `java.util.HashMap<String, _>` (RCTab lists same-round eliminations and winners in it).

use std::cmp::Ordering;

/// `java.util.Random`: a 48-bit linear congruential generator (Java SE API, `Random.next`).
#[derive(Debug, Clone)]
pub struct JavaRandom {
    seed: i64,
}

const MULTIPLIER: i64 = 0x5_DEEC_E66D;
const ADDEND: i64 = 0xB;
const MASK: i64 = (1 << 48) - 1;

impl JavaRandom {
    /// `new Random(seed)`: the seed is scrambled with the multiplier.
    pub fn new(seed: i64) -> JavaRandom {
        JavaRandom {
            seed: (seed ^ MULTIPLIER) & MASK,
        }
    }

    fn next(&mut self, bits: u32) -> i32 {
        self.seed = (self.seed.wrapping_mul(MULTIPLIER).wrapping_add(ADDEND)) & MASK;
        (self.seed >> (48 - bits)) as i32
    }

    /// `nextDouble()`: 53 random bits over 2^53.
    pub fn next_double(&mut self) -> f64 {
        let hi = i64::from(self.next(26)) << 27;
        let lo = i64::from(self.next(27));
        (hi + lo) as f64 * (1.0 / (1i64 << 53) as f64)
    }

    /// `nextInt(bound)` for `bound > 0`, with Java's rejection loop.
    pub fn next_int(&mut self, bound: i32) -> i32 {
        if bound <= 0 {
            return 0;
        }
        if bound & (-bound) == bound {
            return ((i64::from(bound) * i64::from(self.next(31))) >> 31) as i32;
        }
        loop {
            let bits = self.next(31);
            let val = bits % bound;
            if bits.wrapping_sub(val).wrapping_add(bound - 1) >= 0 {
                return val;
            }
        }
    }

    /// `Collections.shuffle(list, this)`: swaps from the end down.
    pub fn shuffle<T>(&mut self, list: &mut [T]) {
        let n = list.len();
        for i in (2..=n).rev() {
            let j = self.next_int(i as i32) as usize;
            list.swap(i - 1, j);
        }
    }
}

/// `String.compareTo`: lexicographic over UTF-16 code units.
pub fn compare_strings(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// `String.hashCode()`.
pub fn string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

fn bucket(s: &str, capacity: usize) -> usize {
    let h = string_hash(s);
    let spread = h ^ ((h as u32) >> 16) as i32;
    (spread as u32 as usize) & (capacity - 1)
}

/// Table capacity of a `new HashMap<>()` after `len` insertions (load factor 0.75).
pub fn default_capacity(len: usize) -> usize {
    let mut cap = 16;
    while len * 4 > cap * 3 {
        cap *= 2;
    }
    cap
}

/// Table capacity of `new HashSet<>(collection)` of `len` elements.
pub fn copy_capacity(len: usize) -> usize {
    let wanted = ((len as f32 / 0.75f32) as usize + 1).max(16);
    wanted.next_power_of_two()
}

/// The order in which a Java `HashMap`/`HashSet` with `capacity` buckets iterates `keys`
/// (given in insertion order): by bucket, then insertion order within a bucket. Returns
/// indexes into `keys`.
pub fn hash_order<S: AsRef<str>>(keys: &[S], capacity: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..keys.len()).collect();
    idx.sort_by_key(|&i| (bucket(keys[i].as_ref(), capacity), i));
    idx
}

/// `Double.toString(x)` for values of moderate magnitude (10^-3 ≤ |x| < 10^7, or 0).
pub fn double_to_string(x: f64) -> String {
    let s = format!("{x}");
    if s.contains('.') || s.contains('e') || s.contains("inf") || s.contains("NaN") {
        s
    } else {
        format!("{s}.0")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_matches_java() {
        // new Random(0).nextInt(10) sequence and nextDouble() known values.
        let mut r = JavaRandom::new(0);
        assert_eq!(r.next_int(10), 0);
        assert_eq!(r.next_int(10), 8);
        assert_eq!(r.next_int(10), 9);
        let mut r = JavaRandom::new(42);
        assert!((r.next_double() - 0.7275636800328681).abs() < 1e-16);
    }

    #[test]
    fn hash_matches_java() {
        assert_eq!(string_hash("hello"), 99162322);
        assert_eq!(double_to_string(25.0), "25.0");
        assert_eq!(double_to_string(41.66), "41.66");
    }
}
