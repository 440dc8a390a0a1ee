//! Signed notes: parse and verify never panic; parsed notes print back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use urne_tlog::note::{Ed25519Signer, Note, NoteVerifier};

fuzz_target!(|data: &[u8]| {
    if let Ok(note) = Note::parse(data) {
        assert_eq!(note.to_text().as_bytes(), data);
        let signer = Ed25519Signer::from_seed("PeterNeumann", [1; 32]).expect("key");
        let v = signer.verifier();
        let _ = note.verify(&[&v as &dyn NoteVerifier]);
    }
});
