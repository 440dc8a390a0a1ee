//! The verifier's core: follow a published log from one signed checkpoint to the next,
//! checking everything before accepting anything.
//!
//! [`Follower::advance`] reads the served checkpoint and, in order:
//! 1. checks the log's signature (key from `--log-vkey`, the state file, or the trust policy
//!    replayed from the log itself on first use);
//! 2. checks it is consistent with the last checkpoint accepted (a consistency path read from
//!    the served tiles and authenticated by the new root): a smaller size is a rollback, a path
//!    that leads to the new root but not to the old one is a fork; both are [`Failure::Alarm`]
//!    with an [`Evidence`] file's content;
//! 3. reads every new entry bundle, recomputes every tile and the root, and compares the served
//!    tiles and bundles byte for byte with the recomputed ones;
//! 4. replays every new entry through [`Chain`] (officials' signatures, rotations, streams)
//!    with its payload blob, whose SHA-256 and size must match the manifest;
//! 5. checks the witnesses' cosignatures and the quorum of the trust policy in force.
//!
//! Nothing changes in the follower unless every step passed: a mirror built on it never
//! serves what did not verify, and keeps its last verified state when the primary lies.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use urne_release::manifest::{Manifest, Sha256Hash, hex, sha256};
use urne_release::{
    Chain, ChainError, DangerSkipDecreaseCheck, Kind, LogState, Payload, PayloadRef,
};
use urne_results::ValidSnapshot;
use urne_results::canonical::{self, MEDIA_TYPE};
use urne_results::diff::diff;
use urne_tlog::note::{Ed25519Verifier, NOTE_BYTES_MAX, Note, NoteVerifier};
use urne_tlog::policy::{Policy, Quorum};
use urne_tlog::tile::{BUNDLE_BYTES_MAX, TILE_BYTES_MAX, decode_bundle};
use urne_tlog::{BundleId, Checkpoint, Hash, TILE_WIDTH, TileId, TileSource, TreeBuilder};

use crate::evidence::{Evidence, Verdict, full_path, implied_roots};
use crate::fetch::{Fetch, FetchError};

/// Bytes in one payload blob (a full state's results snapshot is tens of MB).
pub const PAYLOAD_BYTES_MAX: u64 = 1 << 30;
/// Where the checkpoint is in the public tree.
pub const CHECKPOINT_PATH: &str = "log/checkpoint";

const WIDTH: u64 = TILE_WIDTH as u64;

/// The public-tree path of a payload blob.
pub fn blob_path(sha256: &Sha256Hash) -> String {
    format!("blobs/sha256/{}", hex(sha256))
}

/// What the caller trusts before reading anything.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The genesis trust policy's manifest hash the log must start with.
    pub pin: Option<Sha256Hash>,
    /// The log key; otherwise taken from the state or the trust policy.
    pub log_key: Option<Ed25519Verifier>,
    /// Refuse to advance to a checkpoint without the policy's witness quorum.
    pub require_quorum: bool,
    /// Keep every results release with its decoded snapshot ([`Follower::results`]), so the
    /// public tree can be re-rendered from them (`urne verify`; a mirror does not need it).
    pub keep_releases: bool,
}

/// A verified results release and the snapshot its payload decodes to.
#[derive(Debug)]
pub struct VerifiedResults {
    /// Index of its entry in the log.
    pub log_index: u64,
    /// The release as the chain accepted it.
    pub release: urne_release::Release,
    /// Its payload, decoded strictly.
    pub snapshot: Arc<ValidSnapshot>,
}

/// A log-signed checkpoint accepted earlier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    /// The signed note, byte for byte.
    pub note: Vec<u8>,
    /// Its body.
    pub checkpoint: Checkpoint,
}

/// Why an advance did not happen. The follower is unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Failure {
    /// The log showed a history inconsistent with one it signed before.
    #[error("{}", describe_alarm(.verdict))]
    Alarm {
        /// What the evidence shows.
        verdict: Verdict,
        /// The evidence file's content.
        evidence: Box<Evidence>,
    },
    /// Something served does not verify.
    #[error("{0}")]
    Invalid(String),
    /// The checkpoint verifies but lacks the witness quorum (only with `require_quorum`).
    #[error("awaiting witnesses: checkpoint of size {size} is cosigned by [{}], below the policy's quorum", .cosigners.join(", "))]
    AwaitingWitnesses {
        /// The size.
        size: u64,
        /// Who cosigned.
        cosigners: Vec<String>,
    },
    /// The tree could not be read.
    #[error(transparent)]
    Fetch(#[from] FetchError),
}

fn describe_alarm(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Fork { origin, sizes, .. } => format!(
            "SPLIT VIEW: log {origin} signed checkpoints of sizes {} and {} that no single history contains",
            sizes.0, sizes.1
        ),
        Verdict::Rollback { origin, sizes } => format!(
            "ROLLBACK: log {origin} now serves size {} after having signed size {}",
            sizes.1, sizes.0
        ),
    }
}

fn invalid(why: impl Into<String>) -> Failure {
    Failure::Invalid(why.into())
}

/// What one successful advance checked and produced.
#[derive(Clone, Debug, Default)]
pub struct Advance {
    /// Tree size before.
    pub from: u64,
    /// Tree size after.
    pub to: u64,
    /// The new checkpoint note, byte for byte as served.
    pub note: Vec<u8>,
    /// Tiles created or grown, as recomputed (and found identical where served).
    pub tiles: Vec<(TileId, Vec<u8>)>,
    /// Entry bundles created or grown, as recomputed (and identical to the served ones).
    pub bundles: Vec<(BundleId, Vec<u8>)>,
    /// New payload blobs: `(path, bytes)`, hash-checked.
    pub blobs: Vec<(String, Vec<u8>)>,
    /// Entries replayed through the chain.
    pub entries: u64,
    /// Served tiles compared byte for byte.
    pub tiles_compared: u64,
    /// Witnesses (policy names) whose cosignatures verified.
    pub cosigners: Vec<String>,
    /// Whether the cosigners meet the policy's quorum.
    pub quorum_met: bool,
    /// The policy's quorum line, for reports.
    pub quorum: String,
    /// Results payloads decoded as `urne-results/v1` snapshots (totals-decrease rule replayed).
    pub snapshots_decoded: u64,
    /// Results payloads of another media type (not decoded; their totals are not compared).
    pub results_not_decoded: u64,
}

/// Tiles by (level, index), at the widest width seen.
#[derive(Clone, Debug, Default)]
pub struct TileMap(HashMap<(u8, u64), Vec<u8>>);

impl TileMap {
    /// Keeps `bytes` for `id` unless a wider version is held.
    pub fn insert(&mut self, id: TileId, bytes: Vec<u8>) {
        let slot = self.0.entry((id.level, id.index)).or_default();
        if bytes.len() >= slot.len() {
            *slot = bytes;
        }
    }
}

impl TileSource for TileMap {
    fn tile(&self, id: TileId) -> Option<&[u8]> {
        // A wider tile's prefix is the narrower one (tlog-tiles); the reader cuts it.
        self.0
            .get(&(id.level, id.index))
            .filter(|b| b.len() >= id.byte_len())
            .map(Vec::as_slice)
    }
}

/// A verified log so far.
#[derive(Clone, Debug)]
pub struct Follower {
    options: Options,
    log_key: Option<Ed25519Verifier>,
    tree: TreeBuilder,
    tiles: TileMap,
    chain: Chain,
    blobs_seen: HashSet<Sha256Hash>,
    /// The latest decoded results snapshot per election (the decrease check's "previous").
    snapshots: HashMap<Option<String>, Arc<ValidSnapshot>>,
    /// Every results release with a decoded snapshot, in log order (with `keep_releases`).
    results: Vec<Arc<VerifiedResults>>,
    last: Option<Seen>,
}

impl Follower {
    /// Nothing verified yet. `last` is a checkpoint accepted in an earlier run (from the
    /// state file): the next one must be consistent with it.
    pub fn new(options: Options, last: Option<Seen>) -> Follower {
        let chain = options.pin.map_or_else(Chain::new, Chain::pinned);
        Follower {
            log_key: options.log_key.clone(),
            options,
            tree: TreeBuilder::new(),
            tiles: TileMap::default(),
            chain,
            blobs_seen: HashSet::new(),
            snapshots: HashMap::new(),
            results: Vec::new(),
            last,
        }
    }

    /// Every verified results release whose payload decoded, in log order; empty unless
    /// [`Options::keep_releases`] is set.
    pub fn results(&self) -> &[Arc<VerifiedResults>] {
        &self.results
    }

    /// The last accepted checkpoint.
    pub fn last(&self) -> Option<&Seen> {
        self.last.as_ref()
    }

    /// The log key in use, once known.
    pub fn log_key(&self) -> Option<&Ed25519Verifier> {
        self.log_key.as_ref()
    }

    /// The verified tree size.
    pub fn size(&self) -> u64 {
        self.tree.edge().size()
    }

    /// The replayed releases' state (policy in force, streams).
    pub fn state(&self) -> &LogState {
        self.chain.state()
    }

    /// The replayed chain so far.
    pub fn chain(&self) -> &Chain {
        &self.chain
    }

    /// Reads the served checkpoint and, if everything verifies, moves to it.
    pub fn advance(&mut self, src: &dyn Fetch) -> Result<Advance, Failure> {
        let note_bytes = src
            .get(CHECKPOINT_PATH, NOTE_BYTES_MAX as u64)?
            .ok_or_else(|| invalid(format!("{CHECKPOINT_PATH} is missing")))?;
        let note = Note::parse(&note_bytes)
            .map_err(|e| invalid(format!("{CHECKPOINT_PATH}: not a signed note: {e}")))?;
        let cp = Checkpoint::parse(note.text())
            .map_err(|e| invalid(format!("{CHECKPOINT_PATH}: not a checkpoint: {e}")))?;
        if let Some(key) = &self.log_key {
            check_log_signature(&note, &cp, key)?;
        }
        if let Some(last) = &self.last {
            self.check_consistent(src, last, &note_bytes, &cp)?;
        }
        let mut next = self.clone();
        let mut advance = next.extend(src, &cp)?;
        let key = next.learn_log_key(&cp)?;
        check_log_signature(&note, &cp, &key)?;
        let policy = next
            .chain
            .state()
            .policy()
            .ok_or_else(|| invalid("the log has no trust policy"))?;
        let (cosigners, quorum_met) = witnesses(policy.witnesses(), &key, &note)?;
        if self.options.require_quorum && !quorum_met {
            return Err(Failure::AwaitingWitnesses {
                size: cp.size,
                cosigners,
            });
        }
        advance.quorum = match &policy.witnesses().quorum {
            Quorum::None => "none".into(),
            Quorum::Name(n) => n.clone(),
        };
        advance.cosigners = cosigners;
        advance.quorum_met = quorum_met;
        advance.note = note_bytes.clone();
        next.last = Some(Seen {
            note: note_bytes,
            checkpoint: cp,
        });
        *self = next;
        Ok(advance)
    }

    /// Step 2: the new checkpoint against the last accepted one.
    fn check_consistent(
        &self,
        src: &dyn Fetch,
        last: &Seen,
        note: &[u8],
        cp: &Checkpoint,
    ) -> Result<(), Failure> {
        let old = &last.checkpoint;
        if self.log_key.is_none() {
            return Err(invalid(
                "a remembered checkpoint needs the log key it was verified with",
            ));
        }
        if cp.origin != old.origin {
            return Err(invalid(format!(
                "checkpoint origin {:?} is not the log's {:?}",
                cp.origin, old.origin
            )));
        }
        let evidence = |proof| Evidence {
            log_key: self.log_key.as_ref().map(|k| k.vkey()).unwrap_or_default(),
            first: last.note.clone(),
            second: note.to_vec(),
            proof,
        };
        let alarm = |e: Evidence| -> Failure {
            match e.check(None) {
                Ok(verdict) => Failure::Alarm {
                    verdict,
                    evidence: Box::new(e),
                },
                // Unreachable for notes that verified; say so rather than panic.
                Err(why) => invalid(format!("inconsistent checkpoint, bad evidence: {why}")),
            }
        };
        if cp.size < old.size {
            // Our own tiles prove a fork if we hold the larger tree; otherwise it is a rollback.
            let proof = if self.size() >= old.size {
                full_path(cp.size, old.size, &self.tiles).unwrap_or_default()
            } else {
                Vec::new()
            };
            return Err(alarm(evidence(proof)));
        }
        if cp.size == old.size {
            return if cp.root == old.root {
                Ok(())
            } else {
                Err(alarm(evidence(Vec::new())))
            };
        }
        if old.size == 0 {
            return Ok(());
        }
        // The path from the served tiles of the new tree, authenticated by the new root.
        let served = fetch_path_tiles(src, old.size, cp.size)?;
        let path = full_path(old.size, cp.size, &served)
            .map_err(|e| invalid(format!("consistency path from the served tiles: {e}")))?;
        let (prefix, root) = implied_roots(old.size, cp.size, &path)
            .map_err(|e| invalid(format!("consistency path: {e}")))?;
        if root != cp.root {
            return Err(invalid(format!(
                "the served tiles do not lead to the checkpoint's root (size {})",
                cp.size
            )));
        }
        if prefix != old.root {
            return Err(alarm(evidence(path)));
        }
        Ok(())
    }

    /// Steps 3 and 4 on a copy: entries from our size to the checkpoint's.
    fn extend(&mut self, src: &dyn Fetch, cp: &Checkpoint) -> Result<Advance, Failure> {
        let from = self.size();
        let mut advance = Advance {
            from,
            to: cp.size,
            ..Advance::default()
        };
        if cp.size < from {
            return Err(invalid(format!(
                "checkpoint size {} is below the verified size {from}",
                cp.size
            )));
        }
        let mut first = from / WIDTH;
        while cp.size > from && first * WIDTH < cp.size {
            let id = BundleId {
                index: first,
                width: (cp.size - first * WIDTH).min(WIDTH) as u16,
            };
            first += 1;
            let path = id.path();
            let full = format!("log/{path}");
            let bytes = src
                .get(&full, BUNDLE_BYTES_MAX as u64)?
                .ok_or_else(|| invalid(format!("{full} is missing")))?;
            let entries = decode_bundle(&bytes).map_err(|e| invalid(format!("{full}: {e}")))?;
            if entries.len() != usize::from(id.width) {
                return Err(invalid(format!(
                    "{full}: {} entries where the path says {}",
                    entries.len(),
                    id.width
                )));
            }
            let skip = (self.size() - id.index * WIDTH) as usize;
            let new = &entries[skip..];
            let seq = self
                .tree
                .push_entries(new)
                .map_err(|e| invalid(format!("{full}: {e}")))?;
            for (bid, computed) in seq.bundles {
                if bid != id || computed != bytes {
                    return Err(invalid(format!(
                        "{full} differs from the bundle recomputed from the verified entries"
                    )));
                }
                advance.bundles.push((bid, computed));
            }
            for (tid, computed) in seq.tiles {
                advance.tiles.push((tid, computed));
            }
            for (i, entry) in new.iter().enumerate() {
                let index = id.index * WIDTH + (skip + i) as u64;
                self.replay(src, index, entry, &mut advance)?;
            }
        }
        let root = self.tree.edge().root();
        if root != cp.root {
            return Err(invalid(format!(
                "the entries served give root {root}, the checkpoint says {} (size {})",
                cp.root, cp.size
            )));
        }
        // Keep only the widest version of each tile, then compare with what is served.
        let mut widest: HashMap<(u8, u64), (TileId, Vec<u8>)> = HashMap::new();
        for (id, bytes) in std::mem::take(&mut advance.tiles) {
            widest.insert((id.level, id.index), (id, bytes));
        }
        let mut tiles: Vec<(TileId, Vec<u8>)> = widest.into_values().collect();
        tiles.sort_by_key(|(id, _)| (id.level, id.index));
        for (id, computed) in &tiles {
            let full = format!("log/{}", id.path());
            let served = src
                .get(&full, TILE_BYTES_MAX as u64)?
                .ok_or_else(|| invalid(format!("{full} is missing")))?;
            if served != *computed {
                return Err(invalid(format!(
                    "{full} differs from the tile recomputed from the entries"
                )));
            }
            self.tiles.insert(*id, computed.clone());
        }
        advance.tiles_compared = tiles.len() as u64;
        advance.tiles = tiles;
        Ok(advance)
    }

    /// Step 4 for one entry: its payload blob, then the chain.
    fn replay(
        &mut self,
        src: &dyn Fetch,
        index: u64,
        entry: &[u8],
        advance: &mut Advance,
    ) -> Result<(), Failure> {
        let refused = |e: ChainError| invalid(e.to_string());
        let manifest = Note::parse(entry)
            .ok()
            .and_then(|n| Manifest::parse(n.text().as_bytes()).ok());
        let Some(manifest) = manifest else {
            // Not a manifest: the chain says exactly why.
            self.chain
                .push(entry, Payload::Bytes(b""), &DangerSkipDecreaseCheck)
                .map_err(refused)?;
            return Err(invalid(format!(
                "log entry {index}: not a release manifest"
            )));
        };
        let want = manifest.payload.sha256;
        let path = blob_path(&want);
        let limit = manifest.payload.size.min(PAYLOAD_BYTES_MAX);
        let bytes = src
            .get(&path, limit)
            .map_err(|e| match e {
                FetchError::TooLarge { .. } => invalid(format!(
                    "{path} (log entry {index}): larger than the manifest's {} bytes",
                    manifest.payload.size
                )),
                other => Failure::Fetch(other),
            })?
            .ok_or_else(|| invalid(format!("{path} (payload of log entry {index}) is missing")))?;
        let got = sha256(&bytes);
        if got != want {
            return Err(invalid(format!(
                "{path} (payload of log entry {index}) has SHA-256 {}",
                hex(&got)
            )));
        }
        // Results snapshots are decoded (strictly) so the chain's "totals went down without a
        // correction" rule can be replayed against the stream's previous snapshot.
        let is_results = manifest.kind == Kind::Results;
        let snapshot = if is_results && manifest.payload.media_type.as_str() == MEDIA_TYPE {
            let s = canonical::decode(&bytes).map_err(|e| {
                invalid(format!(
                    "{path} (payload of log entry {index}): not a valid results snapshot: {e}"
                ))
            })?;
            advance.snapshots_decoded += 1;
            Some(Arc::new(s))
        } else {
            if is_results {
                advance.results_not_decoded += 1;
            }
            None
        };
        let stream = manifest.election.as_ref().map(|e| e.as_str().to_string());
        let previous = self.snapshots.get(&stream).cloned();
        let check = |_: &PayloadRef, _: &PayloadRef| match (&previous, &snapshot) {
            (Some(p), Some(n)) => diff(p, n).decreases().next().is_some(),
            _ => false,
        };
        let release = self
            .chain
            .push(entry, Payload::Bytes(&bytes), &check)
            .map_err(refused)?;
        if let (true, Some(s)) = (self.options.keep_releases, &snapshot) {
            self.results.push(Arc::new(VerifiedResults {
                log_index: index,
                release: release.clone(),
                snapshot: s.clone(),
            }));
        }
        if is_results {
            match snapshot {
                Some(s) => self.snapshots.insert(stream, s),
                None => self.snapshots.remove(&stream),
            };
        }
        advance.entries += 1;
        if self.blobs_seen.insert(want) {
            advance.blobs.push((path, bytes));
        }
        Ok(())
    }

    /// The log key: the one given, or the trust policy's `log` line for this origin.
    fn learn_log_key(&mut self, cp: &Checkpoint) -> Result<Ed25519Verifier, Failure> {
        let from_policy: Vec<Ed25519Verifier> = self
            .chain
            .state()
            .policy()
            .map(|p| {
                p.witnesses()
                    .logs
                    .iter()
                    .filter(|l| l.verifier.name() == cp.origin)
                    .map(|l| l.verifier.clone())
                    .collect()
            })
            .unwrap_or_default();
        let key = match (&self.log_key, from_policy.first()) {
            (Some(k), _) if from_policy.is_empty() || from_policy.contains(k) => k.clone(),
            (Some(k), _) => {
                return Err(invalid(format!(
                    "the trust policy names other log keys for {} than {}",
                    cp.origin,
                    k.vkey()
                )));
            }
            (None, Some(k)) => k.clone(),
            (None, None) => {
                return Err(invalid(format!(
                    "the trust policy names no log key for origin {}; pass --log-vkey",
                    cp.origin
                )));
            }
        };
        self.log_key = Some(key.clone());
        Ok(key)
    }
}

/// The log's signature on the checkpoint, by a key whose name is the origin.
fn check_log_signature(note: &Note, cp: &Checkpoint, key: &Ed25519Verifier) -> Result<(), Failure> {
    if key.name() != cp.origin {
        return Err(invalid(format!(
            "checkpoint origin {:?} is not the log key's name {:?}",
            cp.origin,
            key.name()
        )));
    }
    note.verify(&[key as &dyn NoteVerifier])
        .map_err(|e| invalid(format!("{CHECKPOINT_PATH}: log signature: {e}")))?;
    Ok(())
}

/// Step 5: which policy witnesses cosigned (every cosignature by a policy witness must
/// verify), and whether that meets the quorum.
fn witnesses(
    policy: &Policy,
    key: &Ed25519Verifier,
    note: &Note,
) -> Result<(Vec<String>, bool), Failure> {
    let mut relaxed = policy.clone();
    relaxed.quorum = Quorum::None;
    relaxed.logs = vec![urne_tlog::policy::PolicyLog {
        verifier: key.clone(),
        url: None,
    }];
    let checked = relaxed
        .verify_checkpoint(note)
        .map_err(|e| invalid(format!("{CHECKPOINT_PATH}: {e}")))?;
    let names: Vec<String> = checked.witnesses().iter().map(|(n, _)| n.clone()).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let met = policy.quorum_met(&refs);
    Ok((names, met))
}

/// The served tiles a consistency path from `old` to `new` reads, at their widths in `new`.
fn fetch_path_tiles(src: &dyn Fetch, old: u64, new: u64) -> Result<TileMap, Failure> {
    let mut ids = urne_tlog::consistency_tiles(old, new)
        .map_err(|e| invalid(format!("consistency tiles: {e}")))?;
    ids.extend(urne_tlog::proof::root_tiles(old));
    let mut map = TileMap::default();
    let mut done = HashSet::new();
    for id in ids {
        let id = width_at(id, new);
        if !done.insert((id.level, id.index)) {
            continue;
        }
        let full = format!("log/{}", id.path());
        let bytes = src
            .get(&full, TILE_BYTES_MAX as u64)?
            .ok_or_else(|| invalid(format!("{full} is missing")))?;
        if bytes.len() != id.byte_len() {
            return Err(invalid(format!("{full}: {} bytes", bytes.len())));
        }
        map.insert(id, bytes);
    }
    Ok(map)
}

/// The tile at `id`'s coordinates in a tree of `size` (its width there).
fn width_at(id: TileId, size: u64) -> TileId {
    let at_level = size.checked_shr(8 * u32::from(id.level)).unwrap_or(0);
    let width = at_level.saturating_sub(id.index * WIDTH).min(WIDTH) as u16;
    TileId { width, ..id }
}

/// The hash of a note's checkpoint, for messages.
pub fn short(h: &Hash) -> String {
    h.to_hex()[..16].to_string()
}
