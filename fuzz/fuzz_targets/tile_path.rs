//! Tile and bundle paths: parse never panics, and what parses prints back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use urne_tlog::{BundleId, TileId};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(id) = TileId::parse(text) {
        assert_eq!(id.path(), text);
    }
    if let Ok(id) = BundleId::parse(text) {
        assert_eq!(id.path(), text);
    }
});
