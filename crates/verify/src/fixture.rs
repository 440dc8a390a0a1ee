//! Test and bench support: a real release log written as a static public tree.
//!
//! [`FixtureLog`] signs a genesis trust policy and results releases with fixed official keys,
//! sequences them with the pure [`Edge`] (the same step `urne_log` uses), and writes tiles,
//! bundles, payload blobs and the signed checkpoint under a directory, exactly as
//! `urne export` lays them out, with the pages, API files and downloads `urne_site::render`
//! makes from its snapshot releases (title [`TITLE`]). It can also misbehave on purpose: fork at any size, roll back,
//! tamper with a blob. Nothing here is used by the verifier itself.

use std::path::{Path, PathBuf};

use urne_release::manifest::{ElectionId, MediaType, sha256};
use urne_release::trust::POLICY_MEDIA_TYPE;
use urne_release::{
    DangerSkipDecreaseCheck, Kind, LogState, Manifest, Payload, PayloadRef, Status, StreamKey,
    TrustPolicy, check_release,
};
use urne_tlog::note::{Ed25519Signer, Note};
use urne_tlog::{Checkpoint, Edge};

use crate::follow::blob_path;

/// The fixture's election id.
pub const ELECTION: &str = "2026-11-03-general";
/// The fixture's results media type.
pub const RESULTS_TYPE: &str = "application/vnd.urne.results";
/// The site title of the rendered pages.
pub const TITLE: &str = "Fixture County Elections";
/// First release time.
pub const T0: u64 = 1_793_750_400;

/// A fixed Ed25519 note key per name (seed = the name's bytes, zero-padded to 32).
pub fn key(name: &str) -> Ed25519Signer {
    let mut seed = [0u8; 32];
    for (s, b) in seed.iter_mut().zip(name.bytes()) {
        *s = b;
    }
    // Names here are short ASCII; a bad one is a bug in the test that calls this.
    Ed25519Signer::from_seed(name, seed).expect("valid key name")
}

/// A release log being written to a directory.
#[derive(Clone, Debug)]
pub struct FixtureLog {
    dir: PathBuf,
    log: Ed25519Signer,
    officials: Vec<Ed25519Signer>,
    state: LogState,
    edge: Edge,
    entries: Vec<Vec<u8>>,
    payloads: Vec<Vec<u8>>,
    correction: Option<String>,
    snapshot_next: bool,
    /// Accepted releases whose payload is a results snapshot, with their log index.
    snapshots: Vec<(u64, urne_release::Release, urne_results::ValidSnapshot)>,
}

impl FixtureLog {
    /// A new log under `dir` with origin `origin`, officials alice and bob (k = 2), and
    /// `witness_lines` (tlog-policy `witness`/`group`/`quorum` lines) after the log's own
    /// `log` line. Writes the genesis entry and checkpoint.
    pub fn new(dir: &Path, origin: &str, witness_lines: &str) -> FixtureLog {
        let log = key(origin);
        let officials = vec![key("alice"), key("bob")];
        let policy_text = format!("log {}\n{witness_lines}", log.verifier().vkey());
        let policy = TrustPolicy::new(
            officials.iter().map(|o| o.verifier()).collect(),
            2,
            &policy_text,
        )
        .expect("fixture policy");
        let mut me = FixtureLog {
            dir: dir.to_owned(),
            log,
            officials,
            state: LogState::new(),
            edge: Edge::empty(),
            entries: Vec::new(),
            payloads: Vec::new(),
            correction: None,
            snapshot_next: false,
            snapshots: Vec::new(),
        };
        let payload = policy.encode().into_bytes();
        let genesis = me.release(Kind::TrustPolicy, Status::Official, payload);
        me.append(vec![genesis]);
        me.write_checkpoint();
        me
    }

    /// The public tree's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The log's signer.
    pub fn log_key(&self) -> &Ed25519Signer {
        &self.log
    }

    /// Entries so far.
    pub fn size(&self) -> u64 {
        self.edge.size()
    }

    /// The genesis manifest hash (hex), what a verifier pins.
    pub fn genesis_hex(&self) -> String {
        let note = Note::parse(&self.entries[0]).expect("own entry");
        let m = Manifest::parse(note.text().as_bytes()).expect("own manifest");
        urne_release::manifest::hex(&m.hash().expect("own manifest"))
    }

    /// Appends `n` results releases (payload `results <i> <salt>`), writes their tiles and
    /// blobs, then the checkpoint.
    pub fn publish(&mut self, n: usize, salt: &str) {
        let mut batch = Vec::with_capacity(n);
        for i in 0..n {
            let payload = format!("results {} {salt}\n", self.size() + i as u64).into_bytes();
            batch.push(self.release(Kind::Results, Status::Unofficial, payload));
        }
        self.append(batch);
        self.write_checkpoint();
    }

    /// Appends one results release whose payload is a real `urne-results/v1` snapshot (Ann
    /// has `ann` votes, Bob 5, in one precinct), with an optional correction reason.
    pub fn publish_snapshot(&mut self, ann: u64, correction: Option<&str>) {
        let csv = format!(
            "county,precinct,office,district,party,candidate,votes\n\
             A,P1,Mayor,,DEM,Ann,{ann}\nA,P1,Mayor,,REP,Bob,5\n"
        );
        let options = urne_results::CsvOptions::new("Testland", "Test Election", "2026-11-03");
        let source = urne_results::CsvSource {
            name: "fixture.csv".to_owned(),
            reader: csv.as_bytes(),
        };
        let imported = urne_results::import_openelections_csv(vec![source], &options)
            .expect("fixture snapshot");
        let payload = urne_results::canonical::encode(&imported.snapshot);
        self.correction = correction.map(str::to_string);
        self.snapshot_next = true;
        let release = self.release(Kind::Results, Status::Unofficial, payload);
        self.correction = None;
        self.snapshot_next = false;
        self.append(vec![release]);
        self.write_checkpoint();
    }

    /// The current checkpoint note signed by the log only.
    pub fn signed_checkpoint(&self) -> Note {
        let cp = Checkpoint {
            origin: self.log.name().to_string(),
            size: self.edge.size(),
            root: self.edge.root(),
            extensions: Vec::new(),
        };
        let mut note = Note::new(&cp.body()).expect("checkpoint note");
        note.sign(&self.log).expect("sign");
        note
    }

    /// Writes the rendered pages, API files and downloads, then `log/checkpoint` (log
    /// signature only).
    pub fn write_checkpoint(&self) {
        self.write_site();
        self.write_note(&self.signed_checkpoint());
    }

    /// Writes the tree `urne_site::render` makes from the snapshot releases so far.
    pub fn write_site(&self) {
        let vkey = self.log.verifier().vkey();
        let releases = self
            .snapshots
            .iter()
            .map(
                |(log_index, release, snapshot)| urne_site::PublishedRelease {
                    log_index: *log_index,
                    release,
                    snapshot,
                },
            )
            .collect::<Vec<_>>();
        let elections = if releases.is_empty() {
            Vec::new()
        } else {
            vec![urne_site::ElectionReleases {
                id: ELECTION,
                releases,
            }]
        };
        let tree = urne_site::render(&urne_site::Site {
            title: TITLE,
            log_origin: self.log.name(),
            log_vkey: &vkey,
            witnesses: None,
            elections,
        })
        .expect("fixture site renders");
        for (path, bytes) in &tree {
            self.put(path, bytes);
        }
    }

    /// Writes `note` as `log/checkpoint` (e.g. with cosignatures).
    pub fn write_note(&self, note: &Note) {
        self.put("log/checkpoint", note.to_text().as_bytes());
    }

    /// A copy of the log cut back to its first `keep` entries, writing into `dir` (which
    /// receives the tiles and blobs of the kept prefix). Publishing on it makes a fork.
    pub fn fork(&self, keep: u64, dir: &Path) -> FixtureLog {
        let mut other = FixtureLog {
            dir: dir.to_owned(),
            log: self.log.clone(),
            officials: self.officials.clone(),
            state: LogState::new(),
            edge: Edge::empty(),
            entries: Vec::new(),
            payloads: Vec::new(),
            correction: None,
            snapshot_next: false,
            snapshots: Vec::new(),
        };
        let mut batch = Vec::new();
        for (entry, payload) in self.entries.iter().zip(&self.payloads).take(keep as usize) {
            other.accept(entry, payload);
            batch.push((entry.clone(), payload.clone()));
        }
        other.append(batch);
        other.write_checkpoint();
        other
    }

    /// Overwrites the payload blob of entry `index` with other bytes of the same length
    /// (its first byte flipped).
    pub fn tamper_blob(&self, index: usize) {
        let hash = sha256(&self.payloads[index]);
        let mut bytes = self.payloads[index].clone();
        bytes[0] ^= 0x20;
        self.put(&blob_path(&hash), &bytes);
    }

    /// Makes, signs and accepts the next release of `kind`; the caller appends it.
    /// Writes the true bytes of entry `index`'s payload blob back.
    pub fn restore_blob(&self, index: usize) {
        let hash = sha256(&self.payloads[index]);
        self.put(&blob_path(&hash), &self.payloads[index]);
    }

    fn release(&mut self, kind: Kind, status: Status, payload: Vec<u8>) -> (Vec<u8>, Vec<u8>) {
        let election = (kind != Kind::TrustPolicy).then(|| ElectionId::new(ELECTION).expect("id"));
        let tip = self.state.stream(&StreamKey {
            kind,
            election: election.clone(),
        });
        let media = match kind {
            Kind::TrustPolicy => POLICY_MEDIA_TYPE,
            _ if self.snapshot_next => urne_results::canonical::MEDIA_TYPE,
            _ => RESULTS_TYPE,
        };
        let manifest = Manifest {
            kind,
            election,
            sequence: tip.map_or(0, |t| t.sequence() + 1),
            previous: tip.map(|t| *t.manifest_hash()),
            timestamp: T0 + self.state.entries() * 60,
            status,
            correction: self
                .correction
                .as_deref()
                .map(|c| urne_release::manifest::Correction::new(c).expect("correction")),
            payload: PayloadRef {
                sha256: sha256(&payload),
                size: payload.len() as u64,
                media_type: MediaType::new(media).expect("media type"),
            },
        };
        let mut note = Note::new(&manifest.encode().expect("manifest")).expect("note");
        for o in &self.officials {
            note.sign(o).expect("sign");
        }
        let entry = note.to_text().into_bytes();
        self.accept(&entry, &payload);
        (entry, payload)
    }

    fn accept(&mut self, entry: &[u8], payload: &[u8]) {
        let accepted = check_release(
            &self.state,
            entry,
            Payload::Bytes(payload),
            &DangerSkipDecreaseCheck,
        )
        .expect("fixture release accepted");
        let index = self.state.entries();
        let (release, state) = accepted.into_parts();
        self.state = state;
        if release.manifest().payload.media_type.as_str() == urne_results::canonical::MEDIA_TYPE {
            let snapshot = urne_results::canonical::decode(payload).expect("fixture snapshot");
            self.snapshots.push((index, release, snapshot));
        }
    }

    /// Sequences a batch and writes its tiles, bundles and payload blobs.
    fn append(&mut self, batch: Vec<(Vec<u8>, Vec<u8>)>) {
        let entries: Vec<&[u8]> = batch.iter().map(|(e, _)| e.as_slice()).collect();
        let (edge, seq) = self.edge.append(&entries).expect("append");
        self.edge = edge;
        for (id, bytes) in seq.tiles {
            self.put(&format!("log/{}", id.path()), &bytes);
        }
        for (id, bytes) in seq.bundles {
            self.put(&format!("log/{}", id.path()), &bytes);
        }
        for (entry, payload) in batch {
            self.put(&blob_path(&sha256(&payload)), &payload);
            self.entries.push(entry);
            self.payloads.push(payload);
        }
    }

    fn put(&self, path: &str, bytes: &[u8]) {
        let full = self.dir.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&full, bytes).expect("write");
    }
}

/// Consistency proofs read from a static tree's tiles (the publishing side of a fixture log).
#[derive(Clone, Debug)]
pub struct DirProofs(pub PathBuf);

#[async_trait::async_trait]
impl urne_witness::client::ProofSource for DirProofs {
    async fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<urne_tlog::Hash>, String> {
        let src = crate::fetch::DirSource::new(&self.0);
        let mut tiles = crate::follow::TileMap::default();
        for id in urne_tlog::consistency_tiles(old, new).map_err(|e| e.to_string())? {
            let path = format!("log/{}", id.path());
            let bytes = crate::fetch::Fetch::get(&src, &path, 8192)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("{path} is missing"))?;
            tiles.insert(id, bytes);
        }
        urne_tlog::consistency_proof(old, new, &tiles).map_err(|e| e.to_string())
    }
}
