//! Shared test fixtures: a log that grows with `urne_tlog::Edge` and signs its checkpoints, and
//! a witness configured for it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;

use urne_tlog::cosignature::CosignatureSigner;
use urne_tlog::note::{Ed25519Signer, Note, NoteVerifier};
use urne_tlog::{Checkpoint, Edge, Hash, TileId, consistency_proof};
use urne_witness::{AddCheckpoint, Clock, FixedClock, KnownLogs, Witness, WitnessState};

pub const ORIGIN: &str = "results.example-county.gov/log";
pub const WITNESS_NAME: &str = "witness.example/w1";
pub const NOW: u64 = 1_795_000_000;

pub fn log_key() -> Ed25519Signer {
    Ed25519Signer::from_seed(ORIGIN, [1; 32]).expect("log key")
}

pub fn witness_key() -> CosignatureSigner {
    CosignatureSigner::from_seed(WITNESS_NAME, [2; 32]).expect("witness key")
}

/// A log whose entries are `<prefix><i>`: two logs with different prefixes after a shared
/// start are two forks of one history.
#[derive(Debug, Clone)]
pub struct TestLog {
    pub edge: Edge,
    pub tiles: HashMap<TileId, Vec<u8>>,
    pub signer: Ed25519Signer,
}

impl TestLog {
    pub fn new() -> TestLog {
        TestLog {
            edge: Edge::empty(),
            tiles: HashMap::new(),
            signer: log_key(),
        }
    }

    /// Appends `n` entries named `<prefix><index>`.
    pub fn grow(&mut self, prefix: &str, n: u64) {
        let start = self.edge.size();
        let entries: Vec<Vec<u8>> = (start..start + n)
            .map(|i| format!("{prefix}{i}").into_bytes())
            .collect();
        let (edge, seq) = self.edge.append(&entries).expect("append");
        self.tiles.extend(seq.tiles);
        self.edge = edge;
    }

    pub fn size(&self) -> u64 {
        self.edge.size()
    }

    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            origin: ORIGIN.to_string(),
            size: self.edge.size(),
            root: self.edge.root(),
            extensions: vec![],
        }
    }

    /// The checkpoint at the current size, signed by the log key.
    pub fn note(&self) -> Note {
        let mut note = Note::new(&self.checkpoint().body()).expect("note");
        note.sign(&self.signer).expect("sign");
        note
    }

    pub fn proof(&self, old: u64) -> Vec<Hash> {
        consistency_proof(old, self.size(), &self.tiles).expect("proof")
    }

    /// The add-checkpoint body for the current checkpoint, proving from `old`.
    pub fn body(&self, old: u64) -> String {
        AddCheckpoint::body(old, &self.proof(old), &self.note())
    }
}

pub fn witness(state: Arc<dyn WitnessState>) -> (Arc<Witness>, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::new(NOW));
    let mut logs = KnownLogs::new();
    logs.add(ORIGIN, log_key().verifier());
    let witness = Witness::new(
        witness_key(),
        logs,
        state,
        Arc::clone(&clock) as Arc<dyn Clock>,
    );
    (Arc::new(witness), clock)
}

/// Checks a 200 body as the log would: append it to the note and verify with the witness key.
pub fn check_cosignature(note: &Note, response: &str) -> u64 {
    let joined = format!("{}{response}", note.to_text());
    let cosigned = Note::parse(joined.as_bytes()).expect("cosigned note parses");
    let verifier = witness_key().verifier();
    let known: [&dyn NoteVerifier; 1] = [&verifier];
    cosigned.verify(&known).expect("cosignature verifies");
    let sig = cosigned
        .signatures()
        .iter()
        .find(|s| s.name == WITNESS_NAME)
        .expect("cosignature line");
    verifier
        .verify(note.text(), sig)
        .expect("cosignature/v1")
        .timestamp()
}
