//! A floor for the CSV import benchmarks, shared by `benches/import.rs` and
//! `examples/import_once.rs`: the least any typed import of an OpenElections set must do, so
//! that what is left between the `ByteRecord` scan and this floor is what resolving names,
//! putting counts in order and validating may cost at most.

use urne_results::{CountType, VoteCount};

/// A floor, not an import: the least any typed import of these files must do. Each line is cut
/// at every `,` (these sets quote no field that holds one) and the fields after the sixth are
/// parsed as counts, each handed to `each(row, column, votes)`. No id is resolved, no order
/// made, nothing checked.
pub fn floor_scan(files: &[(String, Vec<u8>)], mut each: impl FnMut(u32, u32, u64)) {
    let mut row = 0u32;
    for (_, bytes) in files {
        let body = memchr::memchr(b'\n', bytes).map_or(&[][..], |i| &bytes[i + 1..]);
        let mut at = 0;
        for end in memchr::memchr_iter(b'\n', body).chain([body.len()]) {
            let line = &body[at..end];
            at = end + 1;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let mut start = 0;
            let ends = memchr::memchr_iter(b',', line).chain([line.len()]);
            for (col, end) in ends.enumerate() {
                let field = &line[start..end];
                start = end + 1;
                if col < 6 || field.is_empty() {
                    continue;
                }
                let votes = field.iter().fold(0u64, |v, &b| {
                    v.wrapping_mul(10)
                        .wrapping_add(u64::from(b.wrapping_sub(b'0')))
                });
                each(row, col as u32, votes);
            }
            row += 1;
        }
    }
}

/// The floor with every count kept as urne's [`VoteCount`], all in one `Vec`: what it costs
/// beyond [`floor_scan`] alone is what writing the counts out costs.
pub fn floor_counts(files: &[(String, Vec<u8>)]) -> Vec<VoteCount> {
    let mut counts = Vec::new();
    floor_scan(files, |unit, choice, votes| {
        counts.push(VoteCount {
            unit,
            choice,
            kind: CountType::Total,
            round: None,
            votes,
        })
    });
    counts
}
