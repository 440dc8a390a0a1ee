//! Fixtures: fixed keys, manifests that continue the log, and a scenario
//! runner that prints each step's outcome (tests as data, STYLE habit 9).
#![allow(dead_code)]

use std::collections::HashMap;

use urne_release::manifest::{ElectionId, MediaType, sha256};
use urne_release::trust::POLICY_MEDIA_TYPE;
use urne_release::{
    Kind, LogState, Manifest, Payload, PayloadRef, Status, StreamKey, TrustPolicy, check_release,
};
use urne_tlog::note::{Ed25519Signer, Note};

pub const T0: u64 = 1_793_750_400;
pub const ELECTION: &str = "2026-11-03-general";
pub const RESULTS_TYPE: &str = "application/vnd.urne.results+json";

/// A fixed key per name (seed = name bytes, zero-padded).
pub fn key(name: &str) -> Ed25519Signer {
    let mut seed = [0u8; 32];
    seed[..name.len()].copy_from_slice(name.as_bytes());
    Ed25519Signer::from_seed(name, seed).unwrap()
}

pub fn policy(officials: &[&str], k: usize) -> TrustPolicy {
    let keys = officials.iter().map(|n| key(n).verifier()).collect();
    TrustPolicy::new(keys, k, "quorum none").unwrap()
}

pub fn payload_ref(bytes: &[u8], media_type: &str) -> PayloadRef {
    PayloadRef {
        sha256: sha256(bytes),
        size: bytes.len() as u64,
        media_type: MediaType::new(media_type).unwrap(),
    }
}

/// The manifest that continues `kind`'s stream in `state`.
pub fn next(state: &LogState, kind: Kind, status: Status, payload: &[u8]) -> Manifest {
    let election = match kind {
        Kind::TrustPolicy => None,
        _ => Some(ElectionId::new(ELECTION).unwrap()),
    };
    let tip = state.stream(&StreamKey {
        kind,
        election: election.clone(),
    });
    let media_type = match kind {
        Kind::TrustPolicy => POLICY_MEDIA_TYPE,
        _ => RESULTS_TYPE,
    };
    Manifest {
        kind,
        election,
        sequence: tip.map_or(0, |t| t.sequence() + 1),
        previous: tip.map(|t| *t.manifest_hash()),
        timestamp: T0 + state.entries() * 60,
        status,
        correction: None,
        payload: payload_ref(payload, media_type),
    }
}

/// The signed note of `manifest`, signed by `signers` in order.
pub fn sign(manifest: &Manifest, signers: &[&str]) -> Vec<u8> {
    let mut note = Note::new(&manifest.encode().unwrap()).unwrap();
    for s in signers {
        note.sign(&key(s)).unwrap();
    }
    note.to_text().into_bytes()
}

/// Runs steps against a log state, accepting what passes, and records one
/// line per step. Results payloads are `total N`; the decrease check
/// compares N.
#[derive(Default)]
pub struct Scenario {
    pub state: LogState,
    pub blobs: HashMap<[u8; 32], Vec<u8>>,
    pub out: String,
}

impl Scenario {
    /// A log whose first entry is a policy of `officials` with threshold `k`.
    pub fn genesis(officials: &[&str], k: usize) -> Scenario {
        let mut s = Scenario::default();
        let text = policy(officials, k).encode();
        let m = next(
            &s.state,
            Kind::TrustPolicy,
            Status::Official,
            text.as_bytes(),
        );
        s.step("genesis", &sign(&m, officials), text.as_bytes());
        s
    }

    pub fn step(&mut self, label: &str, entry: &[u8], payload: &[u8]) {
        self.blobs.insert(sha256(payload), payload.to_vec());
        self.step_with(label, entry, Payload::Bytes(payload));
    }

    pub fn step_with(&mut self, label: &str, entry: &[u8], payload: Payload<'_>) {
        let blobs = &self.blobs;
        let total = |p: &PayloadRef| -> u64 {
            let text = blobs
                .get(&p.sha256)
                .map(|b| String::from_utf8_lossy(b).to_string());
            text.and_then(|t| t.strip_prefix("total ")?.parse().ok())
                .unwrap_or(0)
        };
        let decreased = |prev: &PayloadRef, next: &PayloadRef| total(next) < total(prev);
        let line = match check_release(&self.state, entry, payload, &decreased) {
            Ok(accepted) => {
                let r = accepted.release();
                let m = r.manifest();
                let line = format!(
                    "{label}: accepted {} #{} {} by {}\n",
                    m.kind,
                    m.sequence,
                    m.status,
                    r.signers().join(",")
                );
                self.state = accepted.into_parts().1;
                line
            }
            Err(e) => format!("{label}: refused: {e}\n"),
        };
        self.out.push_str(&line);
    }

    /// Signs and submits the next release of `kind` with `payload`.
    pub fn release(&mut self, label: &str, kind: Kind, status: Status, payload: &str, by: &[&str]) {
        let m = next(&self.state, kind, status, payload.as_bytes());
        self.step(label, &sign(&m, by), payload.as_bytes());
    }

    /// Signs and submits a rotation to a policy of `officials` with `k`.
    pub fn rotate(&mut self, label: &str, officials: &[&str], k: usize, by: &[&str]) {
        let text = policy(officials, k).encode();
        let m = next(
            &self.state,
            Kind::TrustPolicy,
            Status::Official,
            text.as_bytes(),
        );
        self.step(label, &sign(&m, by), text.as_bytes());
    }
}
