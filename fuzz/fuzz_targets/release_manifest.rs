//! Release manifests and signed release entries: parsing never panics, and
//! whatever parses re-encodes to the same bytes (canonical form only).
#![no_main]

use libfuzzer_sys::fuzz_target;
use urne_release::{
    DangerSkipDecreaseCheck, LogState, Manifest, Payload, check_release, sign_entry,
};
use urne_tlog::note::Ed25519Signer;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Manifest::parse(data) {
        let text = m.encode().expect("a parsed manifest encodes");
        assert_eq!(text.as_bytes(), data, "manifest parse is not canonical");
    }
    // The same bytes as a whole entry against an empty log: refused or
    // accepted, never a panic.
    let _ = check_release(
        &LogState::new(),
        data,
        Payload::Bytes(data),
        &DangerSkipDecreaseCheck,
    );
    // `urne sign` on the same bytes: a signed result must parse again.
    let signer = Ed25519Signer::from_seed("fuzz", [7; 32]).expect("valid key name");
    if let Ok(signed) = sign_entry(data, &signer) {
        assert!(
            sign_entry(&signed, &signer).is_ok(),
            "signed entry does not re-sign"
        );
    }
});
