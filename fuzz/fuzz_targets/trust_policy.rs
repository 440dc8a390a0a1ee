//! Trust policies: parsing never panics, whatever parses re-encodes to the
//! same bytes, and the warnings and quorum evaluation run on it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use urne_release::TrustPolicy;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = TrustPolicy::parse(data) {
        assert_eq!(
            p.encode().as_bytes(),
            data,
            "trust policy parse is not canonical"
        );
        let _ = p.warnings();
        let _ = p.witnesses().quorum_met(&[]);
    }
});
