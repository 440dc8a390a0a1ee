//! vkeys and private key strings: parse never panics; parsed keys print back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use urne_tlog::cosignature::{CosignatureSigner, CosignatureVerifier};
use urne_tlog::note::{Ed25519Signer, Ed25519Verifier};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(v) = Ed25519Verifier::from_vkey(text) {
        assert_eq!(v.vkey(), text);
    }
    if let Ok(v) = CosignatureVerifier::from_vkey(text) {
        assert_eq!(v.vkey(), text);
    }
    if let Ok(s) = Ed25519Signer::from_private_key(text) {
        assert_eq!(s.private_key(), text);
    }
    let _ = CosignatureSigner::from_private_key(text);
});
