//! Checkpoint bodies: parse never panics, and parsed bodies print back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use urne_tlog::Checkpoint;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(c) = Checkpoint::parse(text) {
        assert_eq!(c.body(), text);
        assert!(c.check().is_ok());
    }
});
