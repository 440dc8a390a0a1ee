//! A decimal number with an explicit scale, behaving as Java's `BigDecimal` does for the
//! operations RCTab uses (add, subtract, multiply, divide with a scale and rounding mode,
//! `setScale`, `compareTo`, `toString`).
//!
//! RCTab's reports print `BigDecimal.toString()`, so `"8"` and `"8.0000"` are different outputs
//! of the same number: the scale is part of the value here, exactly as in Java.

use std::cmp::Ordering;
use std::fmt;

/// Scales above this are refused: 10^scale must fit an `i128` with room for vote counts.
pub const SCALE_MAX: u32 = 18;

/// `unscaled × 10^-scale`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Dec {
    unscaled: i128,
    scale: u32,
}

/// Java's `RoundingMode` values RCTab uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rounding {
    /// Towards zero.
    Down,
    /// Away from zero.
    Up,
    /// To nearest, ties to even.
    HalfEven,
}

fn pow10(n: u32) -> i128 {
    10i128.pow(n)
}

/// Integer division `n / d` (d > 0 or d < 0) rounded as `mode` says.
fn div_round(n: i128, d: i128, mode: Rounding) -> i128 {
    let q = n / d;
    let r = n % d;
    if r == 0 {
        return q;
    }
    let negative = (n < 0) != (d < 0);
    let away = if negative { q - 1 } else { q + 1 };
    match mode {
        Rounding::Down => q,
        Rounding::Up => away,
        Rounding::HalfEven => {
            let twice = (r.abs()) * 2;
            match twice.cmp(&d.abs()) {
                Ordering::Less => q,
                Ordering::Greater => away,
                Ordering::Equal => {
                    if q % 2 == 0 {
                        q
                    } else {
                        away
                    }
                }
            }
        }
    }
}

impl Dec {
    /// `BigDecimal.ZERO`.
    pub const ZERO: Dec = Dec {
        unscaled: 0,
        scale: 0,
    };
    /// `BigDecimal.ONE`.
    pub const ONE: Dec = Dec {
        unscaled: 1,
        scale: 0,
    };

    /// `unscaled × 10^-scale`.
    pub fn new(unscaled: i128, scale: u32) -> Dec {
        Dec { unscaled, scale }
    }

    /// An integer with scale 0.
    pub fn from_int(n: i64) -> Dec {
        Dec {
            unscaled: i128::from(n),
            scale: 0,
        }
    }

    /// The scale (digits after the decimal point).
    pub fn scale(self) -> u32 {
        self.scale
    }

    fn at_scale(self, scale: u32) -> i128 {
        debug_assert!(scale >= self.scale);
        self.unscaled * pow10(scale - self.scale)
    }

    /// `this.plus(other)`: the result has the larger scale.
    #[must_use]
    pub fn plus(self, other: Dec) -> Dec {
        let scale = self.scale.max(other.scale);
        Dec {
            unscaled: self.at_scale(scale) + other.at_scale(scale),
            scale,
        }
    }

    /// `this.subtract(other)`.
    #[must_use]
    pub fn minus(self, other: Dec) -> Dec {
        let scale = self.scale.max(other.scale);
        Dec {
            unscaled: self.at_scale(scale) - other.at_scale(scale),
            scale,
        }
    }

    /// `this.multiply(other)`: scales add.
    #[must_use]
    pub fn times(self, other: Dec) -> Dec {
        Dec {
            unscaled: self.unscaled * other.unscaled,
            scale: self.scale + other.scale,
        }
    }

    /// `this.divide(other, scale, mode)`. Division by zero yields zero (callers check first).
    #[must_use]
    pub fn div(self, other: Dec, scale: u32, mode: Rounding) -> Dec {
        if other.unscaled == 0 {
            return Dec { unscaled: 0, scale };
        }
        // self/other = (a·10^-sa)/(b·10^-sb); result·10^scale = a·10^(scale+sb-sa)/b
        let exp = i64::from(scale) + i64::from(other.scale) - i64::from(self.scale);
        let (n, d) = if exp >= 0 {
            (self.unscaled * pow10(exp as u32), other.unscaled)
        } else {
            (self.unscaled, other.unscaled * pow10((-exp) as u32))
        };
        Dec {
            unscaled: div_round(n, d, mode),
            scale,
        }
    }

    /// `this.setScale(scale, mode)`.
    #[must_use]
    pub fn set_scale(self, scale: u32, mode: Rounding) -> Dec {
        if scale >= self.scale {
            Dec {
                unscaled: self.at_scale(scale),
                scale,
            }
        } else {
            Dec {
                unscaled: div_round(self.unscaled, pow10(self.scale - scale), mode),
                scale,
            }
        }
    }

    /// `signum()`.
    pub fn signum(self) -> i32 {
        self.unscaled.signum() as i32
    }

    /// Whether the value is zero (at any scale).
    pub fn is_zero(self) -> bool {
        self.unscaled == 0
    }

    /// `intValue()` for non-huge values: truncation toward zero.
    pub fn int_value(self) -> i128 {
        self.unscaled / pow10(self.scale)
    }

    /// `remainder(ONE)`: the fractional part, same sign, same scale.
    #[must_use]
    pub fn frac(self) -> Dec {
        Dec {
            unscaled: self.unscaled % pow10(self.scale),
            scale: self.scale,
        }
    }

    /// `compareTo`: numeric comparison ignoring scale.
    pub fn cmp_num(self, other: Dec) -> Ordering {
        let scale = self.scale.max(other.scale);
        self.at_scale(scale).cmp(&other.at_scale(scale))
    }

    /// `equals`: same value AND same scale.
    pub fn java_equals(self, other: Dec) -> bool {
        self.unscaled == other.unscaled && self.scale == other.scale
    }

    /// `new BigDecimal(String)` for plain decimals (`-12`, `0.5`, `3.`); `None` if not one.
    pub fn parse(text: &str) -> Option<Dec> {
        let t = text.trim();
        let (neg, body) = match t.as_bytes().first()? {
            b'-' => (true, &t[1..]),
            b'+' => (false, &t[1..]),
            _ => (false, t),
        };
        let (int_part, frac_part) = match body.split_once('.') {
            Some((i, f)) => (i, f),
            None => (body, ""),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        if !int_part
            .bytes()
            .chain(frac_part.bytes())
            .all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let scale = u32::try_from(frac_part.len()).ok()?;
        if scale > SCALE_MAX || int_part.len() + frac_part.len() > 30 {
            return None;
        }
        let mut unscaled: i128 = 0;
        for b in int_part.bytes().chain(frac_part.bytes()) {
            unscaled = unscaled * 10 + i128::from(b - b'0');
        }
        Some(Dec {
            unscaled: if neg { -unscaled } else { unscaled },
            scale,
        })
    }

    /// `divide(divisor, MathContext.DECIMAL32)` then `scaleByPowerOfTen(4).intValue()`:
    /// the percentage in hundredths that RCTab prints, for non-negative operands.
    pub fn percent_hundredths(self, divisor: Dec) -> i64 {
        // q = a / b exactly, with a, b integers.
        let a = self.unscaled * pow10(divisor.scale);
        let b = divisor.unscaled * pow10(self.scale);
        if a == 0 || b == 0 {
            return 0;
        }
        let (a, b, neg) = (a.abs(), b.abs(), (a < 0) != (b < 0));
        // Find k with 10^6 <= a·10^k / b < 10^7 (7 significant digits, DECIMAL32).
        let mut k: i32 = 0;
        let scaled = |k: i32| -> (i128, i128) {
            if k >= 0 {
                (a * pow10(k as u32), b)
            } else {
                (a, b * pow10((-k) as u32))
            }
        };
        loop {
            let (n, d) = scaled(k);
            let q = n / d;
            if q >= 10_000_000 {
                k -= 1;
            } else if q < 1_000_000 {
                k += 1;
            } else {
                break;
            }
        }
        let (n, d) = scaled(k);
        let r = div_round(n, d, Rounding::HalfEven); // value = r·10^-k
        // value·10^4 truncated = r·10^(4-k)
        let shift = 4 - k;
        let v = if shift >= 0 {
            r * pow10(shift as u32)
        } else {
            r / pow10((-shift) as u32)
        };
        let v = i64::try_from(v).unwrap_or(i64::MAX);
        if neg { -v } else { v }
    }
}

impl fmt::Display for Dec {
    /// Java's `BigDecimal.toString()`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.unscaled.abs().to_string();
        let sign = if self.unscaled < 0 { "-" } else { "" };
        if self.scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        let adjusted = digits.len() as i64 - 1 - i64::from(self.scale);
        if adjusted >= -6 {
            let scale = self.scale as usize;
            if digits.len() > scale {
                let (i, fr) = digits.split_at(digits.len() - scale);
                write!(f, "{sign}{i}.{fr}")
            } else {
                write!(f, "{sign}0.{}{digits}", "0".repeat(scale - digits.len()))
            }
        } else {
            let (first, rest) = digits.split_at(1);
            let dot = if rest.is_empty() {
                String::new()
            } else {
                format!(".{rest}")
            };
            write!(f, "{sign}{first}{dot}E{adjusted}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_semantics() {
        let p = |s| Dec::parse(s).unwrap();
        assert_eq!(p("14866").plus(p("0.0000")).to_string(), "14866.0000");
        assert_eq!(p("27").times(p("0.15")).to_string(), "4.05");
        assert_eq!(p("2").div(p("3"), 4, Rounding::Down).to_string(), "0.6666");
        assert_eq!(p("0").set_scale(4, Rounding::Down).to_string(), "0.0000");
        assert_eq!(Dec::new(1, 7).to_string(), "1E-7");
        assert_eq!(p("5").percent_hundredths(p("12")), 4166);
        assert_eq!(p("1").percent_hundredths(p("3")), 3333);
    }
}
