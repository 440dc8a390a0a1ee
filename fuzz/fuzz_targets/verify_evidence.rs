//! Evidence files and verifier state: parsing and checking never panic, and parsed evidence
//! encodes back the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use urne_verify::Evidence;

fuzz_target!(|data: &[u8]| {
    if let Ok(evidence) = Evidence::parse(data) {
        assert_eq!(evidence.encode(), data);
        let _ = evidence.check(None);
    }
    let _ = urne_verify::evidence::implied_roots(
        u64::from(data.first().copied().unwrap_or(1)),
        u64::from(data.get(1).copied().unwrap_or(2)) + 300,
        &data
            .chunks_exact(32)
            .map(|c| urne_tlog::Hash(c.try_into().unwrap_or([0; 32])))
            .collect::<Vec<_>>(),
    );
});
