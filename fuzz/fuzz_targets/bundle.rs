//! Entry bundles: decode never panics, and decoded bundles encode back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use urne_tlog::tile::{decode_bundle, encode_bundle};

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = decode_bundle(data) {
        assert_eq!(encode_bundle(&entries).expect("re-encode"), data);
    }
});
