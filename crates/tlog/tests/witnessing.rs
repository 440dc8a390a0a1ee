//! Checkpoints signed by a log, cosigned by witnesses, accepted by a policy.

use urne_tlog::cosignature::{
    CosignatureError, CosignatureSigner, CosignatureVerifier, TIMESTAMP_MAX,
};
use urne_tlog::note::{Ed25519Signer, Ed25519Verifier, Note, NoteError};
use urne_tlog::policy::{Policy, PolicyCheckError};
use urne_tlog::{Checkpoint, leaf_hash};

struct Setup {
    log: Ed25519Signer,
    witnesses: Vec<CosignatureSigner>,
    checkpoint: Checkpoint,
}

fn setup() -> Setup {
    Setup {
        log: Ed25519Signer::from_seed("results.example.gov/log", [1; 32]).expect("log key"),
        witnesses: (0..3)
            .map(|i| {
                CosignatureSigner::from_seed(&format!("w{i}.example"), [10 + i; 32])
                    .expect("witness key")
            })
            .collect(),
        checkpoint: Checkpoint {
            origin: "results.example.gov/log".into(),
            size: 1234,
            root: leaf_hash(b"root"),
            extensions: vec![],
        },
    }
}

fn policy(s: &Setup, quorum: &str) -> Policy {
    let mut text = format!("log {}\n", s.log.verifier().vkey());
    for (i, w) in s.witnesses.iter().enumerate() {
        text.push_str(&format!("witness W{i} {}\n", w.verifier().vkey()));
    }
    text.push_str(quorum);
    Policy::parse(&text).expect("policy")
}

fn signed(s: &Setup, cosigners: &[usize]) -> Note {
    let mut note = Note::new(&s.checkpoint.body()).expect("note");
    note.sign(&s.log).expect("sign");
    for &i in cosigners {
        let sig = s.witnesses[i]
            .sign(&s.checkpoint, 1_700_000_000 + i as u64)
            .expect("cosign");
        note.add_signature(sig).expect("add");
    }
    Note::parse(note.to_text().as_bytes()).expect("reparse")
}

#[test]
fn quorum_of_two_of_three() {
    let s = setup();
    let p = policy(&s, "group G 2 W0 W1 W2\nquorum G\n");
    assert_eq!(
        p.verify_checkpoint(&signed(&s, &[0])),
        Err(PolicyCheckError::QuorumNotMet)
    );
    let ok = p.verify_checkpoint(&signed(&s, &[0, 2])).expect("quorum");
    assert_eq!(ok.checkpoint(), &s.checkpoint);
    assert_eq!(
        ok.witnesses(),
        &[
            ("W0".to_string(), 1_700_000_000),
            ("W2".to_string(), 1_700_000_002)
        ]
    );
}

#[test]
fn bad_cosignature_rejects_the_note() {
    let s = setup();
    let p = policy(&s, "quorum none\n");
    let text = signed(&s, &[1]).to_text();
    // Flip a bit inside W1's signature bytes (not its key ID or timestamp).
    let line = text.lines().last().expect("line").to_string();
    let b64 = line.rsplit(' ').next().expect("b64");
    let mut chars: Vec<char> = b64.chars().collect();
    chars[40] = if chars[40] == 'A' { 'B' } else { 'A' };
    let tampered = text.replace(b64, &chars.into_iter().collect::<String>());
    let note = Note::parse(tampered.as_bytes()).expect("parse");
    assert!(matches!(
        p.verify_checkpoint(&note),
        Err(PolicyCheckError::Cosignature { .. })
    ));
}

#[test]
fn log_must_sign_and_match_origin() {
    let s = setup();
    let p = policy(&s, "quorum none\n");
    let mut note = Note::new(&s.checkpoint.body()).expect("note");
    let sig = s.witnesses[0].sign(&s.checkpoint, 1).expect("cosign");
    note.add_signature(sig).expect("add");
    assert_eq!(
        p.verify_checkpoint(&note),
        Err(PolicyCheckError::Log(NoteError::NoKnownSignature))
    );

    let other = Checkpoint {
        origin: "elsewhere.example/log".into(),
        ..s.checkpoint.clone()
    };
    let mut note = Note::new(&other.body()).expect("note");
    note.sign(&s.log).expect("sign");
    assert_eq!(
        p.verify_checkpoint(&note),
        Err(PolicyCheckError::Origin("elsewhere.example/log".into()))
    );
}

#[test]
fn cosignature_limits_and_keys() {
    let s = setup();
    let w = &s.witnesses[0];
    assert_eq!(
        w.sign(&s.checkpoint, TIMESTAMP_MAX + 1),
        Err(CosignatureError::TimestampTooLarge(TIMESTAMP_MAX + 1))
    );
    let sig = w.sign(&s.checkpoint, TIMESTAMP_MAX).expect("max timestamp");
    assert_eq!(
        w.verifier()
            .verify(&s.checkpoint.body(), &sig)
            .map(|c| c.timestamp()),
        Ok(TIMESTAMP_MAX)
    );
    // Another checkpoint body does not verify.
    let other = Checkpoint {
        size: 1235,
        ..s.checkpoint.clone()
    };
    assert_eq!(
        w.verifier().verify(&other.body(), &sig),
        Err(CosignatureError::Invalid)
    );
    // Another witness's signature is refused by key.
    assert!(matches!(
        s.witnesses[1].verifier().verify(&s.checkpoint.body(), &sig),
        Err(CosignatureError::WrongKey { .. })
    ));
    // Key strings round trip; a note key is not a cosignature key and back.
    let vkey = w.verifier().vkey();
    assert_eq!(
        CosignatureVerifier::from_vkey(&vkey).map(|v| v.vkey()),
        Ok(vkey.clone())
    );
    assert!(Ed25519Verifier::from_vkey(&vkey).is_err());
    assert!(CosignatureVerifier::from_vkey(&s.log.verifier().vkey()).is_err());
    let skey = w.private_key();
    assert_eq!(
        CosignatureSigner::from_private_key(&skey).map(|k| k.key_id()),
        Ok(w.key_id())
    );
    // A vkey whose key ID does not match its name and key is refused.
    let renamed = vkey.replacen("w0.example", "w9.example", 1);
    assert!(CosignatureVerifier::from_vkey(&renamed).is_err());
}

#[test]
fn signer_debug_hides_the_key() {
    let s = setup();
    let shown = format!("{:?} {:?}", s.log, s.witnesses[0]);
    assert!(shown.contains("<secret>"));
    assert!(!shown.contains(&s.log.private_key()[20..]));
}
