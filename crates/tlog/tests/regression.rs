//! Regression tests, named after what went wrong.

use urne_tlog::note::{Ed25519Signer, NOTE_SIGNATURES_MAX, Note, NoteError};

/// Re-signing a full note with a key already on it replaces its signature instead of being
/// refused as one signature too many (found by the release crate's fuzz target).
#[test]
fn resigning_a_full_note_replaces_the_signature() {
    let mut note = Note::new("text\n").unwrap();
    let signers: Vec<Ed25519Signer> = (0..NOTE_SIGNATURES_MAX)
        .map(|i| Ed25519Signer::from_seed(&format!("official-{i}"), [i as u8; 32]).unwrap())
        .collect();
    for signer in &signers {
        note.sign(signer).unwrap();
    }
    assert_eq!(note.signatures().len(), NOTE_SIGNATURES_MAX);
    note.sign(&signers[7]).unwrap();
    assert_eq!(note.signatures().len(), NOTE_SIGNATURES_MAX);
    let extra = Ed25519Signer::from_seed("one-too-many", [200; 32]).unwrap();
    assert!(matches!(
        note.sign(&extra),
        Err(NoteError::TooManySignatures)
    ));
    assert_eq!(note.signatures().len(), NOTE_SIGNATURES_MAX);
}
