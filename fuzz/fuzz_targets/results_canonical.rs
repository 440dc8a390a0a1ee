//! The canonical snapshot decoder: never panics, and whatever decodes re-encodes to exactly
//! the same bytes (one snapshot, one encoding, one hash).
#![no_main]

use libfuzzer_sys::fuzz_target;
use urne_results::canonical;

fuzz_target!(|data: &[u8]| {
    if let Ok(snapshot) = canonical::decode(data) {
        assert_eq!(canonical::encode(&snapshot), data, "decode is not canonical");
    }
});
