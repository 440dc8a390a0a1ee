//! The voter roll's stored formats: decoding never panics, and what decodes re-encodes to the
//! same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use urne_roll::{ChangeEvent, RollDigest, SealedRecord, access::AccessEvent};

fuzz_target!(|data: &[u8]| {
    if let Ok(record) = SealedRecord::decode(data) {
        assert_eq!(record.encode(), data);
    }
    if let Ok(event) = ChangeEvent::decode(data) {
        assert_eq!(event.encode(), data);
    }
    if let Ok(event) = AccessEvent::decode(data) {
        assert_eq!(event.encode(), data);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(digest) = RollDigest::decode(text) {
            assert_eq!(digest.encode().unwrap(), text);
        }
    }
});
