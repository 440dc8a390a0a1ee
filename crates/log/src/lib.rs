//! urne's log sequencer: the one writer of the public transparency log.
//!
//! [`Log::open`] recovers the log from durable state and starts a task that batches appends.
//! Each batch follows Sunlight's order (DESIGN.md "The public log"):
//!
//! 1. sequence the batch in memory ([`urne_tlog::Edge::append`], pure) and sign the checkpoint;
//! 2. **stage**: write every new tile and entry bundle as one durable blob (`staging/log`);
//! 3. **compare-and-swap** the checkpoint row in the [`Store`] (the commit point);
//! 4. write the tiles and entry bundles under `log/tile/…`;
//! 5. write `log/checkpoint` last; then acknowledge the appends.
//!
//! A crash before 3 loses only unacknowledged appends. A crash after 3 is finished by recovery,
//! which re-applies the staged tiles of exactly the checkpoint the store holds. The log key only
//! ever signs checkpoints that extend the store's checkpoint, and a checkpoint is public only
//! after its swap succeeded, so two inconsistent checkpoints are never published.
//!
//! Invariants:
//! - Nothing under `log/` is written for a tree size the store has not committed.
//! - An append is acknowledged only once its tiles and the checkpoint covering it are durable.
//! - Any error after the swap was attempted is fatal: the task stops signing and recovers from
//!   the store before it sequences again.
#![forbid(unsafe_code)]

mod staging;
pub mod verify;

use std::{sync::Arc, time::Duration};

use tokio::sync::{mpsc, oneshot};
use urne_store::{BlobError, Blobs, Store, StoreError};
use urne_tlog::{
    Checkpoint, Edge, Hash,
    note::{Ed25519Signer, Ed25519Verifier, Note, NoteVerifier},
};

pub use verify::{VerifyError, VerifyReport, read_all_entries, read_entry, verify_tree};

/// Blob key of the public checkpoint.
pub const CHECKPOINT_KEY: &str = "log/checkpoint";
/// Blob key of the staging bundle (private to the operator: not under `log/`).
pub const STAGING_KEY: &str = "staging/log";
/// Longest a batch may wait for more entries (the design's "batch every ≤ 1 s").
pub const BATCH_WAIT_MAX: Duration = Duration::from_secs(1);

/// The blob key of a tile or entry bundle path (`tile/…` → `log/tile/…`).
pub fn log_key(tile_path: &str) -> String {
    format!("log/{tile_path}")
}

/// Sequencer settings. Every limit is named and bounded.
#[derive(Debug, Clone)]
pub struct Config {
    /// The checkpoint origin line, e.g. `results.example-county.gov/log`.
    pub origin: String,
    /// Most entries sequenced under one checkpoint.
    pub batch_entries_max: usize,
    /// How long a batch waits for more entries after its first one (≤ [`BATCH_WAIT_MAX`]).
    pub batch_wait: Duration,
    /// Most appends waiting to be sequenced; beyond it `append` answers [`AppendError::Busy`].
    pub pending_entries_max: usize,
}

impl Config {
    /// Defaults suited to election night: a release is public within about 100 ms.
    pub fn new(origin: impl Into<String>) -> Config {
        Config {
            origin: origin.into(),
            batch_entries_max: 4096,
            batch_wait: Duration::from_millis(100),
            pending_entries_max: 65_536,
        }
    }

    fn check(&self) -> Result<(), LogError> {
        if self.batch_entries_max == 0 || self.pending_entries_max == 0 {
            return Err(LogError::Config(
                "batch and queue limits must be at least 1",
            ));
        }
        if self.batch_wait > BATCH_WAIT_MAX {
            return Err(LogError::Config("batch_wait must be at most 1 s"));
        }
        Ok(())
    }
}

/// Why an append was not acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AppendError {
    /// The pending queue is full: try again later. Nothing was queued.
    #[error("log is busy: {pending_max} appends are already waiting")]
    Busy { pending_max: usize },
    /// The entry is larger than the tile format allows. Nothing was queued.
    #[error("entry is {bytes} bytes; the most a log entry may hold is {max}")]
    TooLarge { bytes: usize, max: usize },
    /// The batch failed or the sequencer stopped. The entry was not acknowledged: it may or may
    /// not be in the log, and the caller must look before retrying.
    #[error("append not acknowledged: {0}")]
    Unavailable(String),
}

/// An acknowledged append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// The entry's index in the log.
    pub index: u64,
    /// The size of the first published checkpoint that includes it.
    pub tree_size: u64,
}

/// Errors opening or recovering the log. All are fatal: sequencing does not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    #[error("invalid log configuration: {0}")]
    Config(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// Durable state contradicts itself (a missing tile, a checkpoint not signed by our key, a
    /// root the tiles do not reproduce). Needs an operator; never papered over.
    #[error("log state is inconsistent: {0}")]
    Inconsistent(String),
}

/// The running sequencer. [`Log::shutdown`] stops it even while [`LogHandle`]s are alive;
/// dropping it instead leaves it running until the last handle is dropped.
#[derive(Debug)]
pub struct Log {
    handle: LogHandle,
    task: tokio::task::JoinHandle<()>,
    stop: oneshot::Sender<()>,
    size: u64,
}

/// A cheap, cloneable handle for appending.
#[derive(Debug, Clone)]
pub struct LogHandle {
    tx: mpsc::Sender<Pending>,
    pending_max: usize,
}

#[derive(Debug)]
struct Pending {
    entry: Vec<u8>,
    ack: oneshot::Sender<Result<Appended, AppendError>>,
}

impl Log {
    /// Recovers the log from `store` and `blobs` and starts sequencing.
    ///
    /// A new log (no checkpoint row) starts with a signed checkpoint of size 0.
    pub async fn open(
        config: Config,
        signer: Ed25519Signer,
        store: Arc<dyn Store>,
        blobs: Arc<dyn Blobs>,
    ) -> Result<Log, LogError> {
        config.check()?;
        let io = Io {
            config,
            signer,
            store,
            blobs,
        };
        let state = recover(&io).await?;
        let size = state.edge.size();
        let pending_max = io.config.pending_entries_max;
        let (tx, rx) = mpsc::channel(pending_max);
        let (stop, stop_rx) = oneshot::channel();
        let task = tokio::spawn(run(io, state, rx, stop_rx));
        Ok(Log {
            handle: LogHandle { tx, pending_max },
            task,
            stop,
            size,
        })
    }

    /// A handle for appending.
    pub fn handle(&self) -> LogHandle {
        self.handle.clone()
    }

    /// The tree size recovered at open.
    pub fn size_at_open(&self) -> u64 {
        self.size
    }

    /// Stops accepting appends, sequences what is queued, and waits for the task to finish.
    /// Appends through a handle still alive are refused from then on
    /// ([`AppendError::Unavailable`]).
    pub async fn shutdown(self) {
        drop(self.handle);
        // The task may already have stopped (a panic): then no one listens, which is fine.
        let _ = self.stop.send(());
        // A panic in the task has already been reported by tokio; nothing more to do here.
        let _ = self.task.await;
    }
}

impl LogHandle {
    /// Appends one entry and waits until it is durable and covered by a published checkpoint.
    pub async fn append(&self, entry: Vec<u8>) -> Result<Appended, AppendError> {
        if entry.len() > urne_tlog::ENTRY_BYTES_MAX {
            return Err(AppendError::TooLarge {
                bytes: entry.len(),
                max: urne_tlog::ENTRY_BYTES_MAX,
            });
        }
        let (ack, done) = oneshot::channel();
        self.tx
            .try_send(Pending { entry, ack })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => AppendError::Busy {
                    pending_max: self.pending_max,
                },
                mpsc::error::TrySendError::Closed(_) => {
                    AppendError::Unavailable("the sequencer has stopped".into())
                }
            })?;
        done.await
            .unwrap_or_else(|_| Err(AppendError::Unavailable("the sequencer stopped".into())))
    }
}

/// Everything the sequencer touches.
struct Io {
    config: Config,
    signer: Ed25519Signer,
    store: Arc<dyn Store>,
    blobs: Arc<dyn Blobs>,
}

/// The sequencer's in-memory view, always equal to what the store holds.
struct State {
    edge: Edge,
    /// The exact signed-note bytes in the store's checkpoint row.
    checkpoint: Vec<u8>,
}

/// How a batch failed.
enum BatchError {
    /// Nothing durable changed; the next batch may proceed.
    Retryable(String),
    /// The swap was attempted or succeeded: memory may disagree with the store. Recover.
    Fatal(String),
}

async fn run(
    io: Io,
    mut state: State,
    mut rx: mpsc::Receiver<Pending>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut watching = true;
    loop {
        let next = tokio::select! {
            next = rx.recv() => next,
            asked = &mut stop, if watching => {
                watching = false;
                // `shutdown`: refuse new appends; what is queued is still received, then
                // `recv` ends. A `Log` dropped without it (`Err`) leaves the handles working.
                if asked.is_ok() {
                    rx.close();
                }
                continue;
            }
        };
        let Some(first) = next else { break };
        let batch = gather(&io.config, first, &mut rx).await;
        let entries: Vec<&[u8]> = batch.iter().map(|p| p.entry.as_slice()).collect();
        match commit(&io, &mut state, &entries).await {
            Ok((first_index, tree_size)) => {
                for (i, p) in (first_index..).zip(batch) {
                    // A caller that gave up waiting is not an error.
                    let _ = p.ack.send(Ok(Appended {
                        index: i,
                        tree_size,
                    }));
                }
            }
            Err(BatchError::Retryable(why)) => {
                tracing::warn!(%why, "batch failed before commit; nothing changed");
                nack(batch, &why);
            }
            Err(BatchError::Fatal(why)) => {
                tracing::error!(%why, "batch failed after the swap was attempted; recovering");
                nack(batch, &why);
                state = recover_with_backoff(&io).await;
            }
        }
    }
}

/// Collects up to `batch_entries_max` entries, waiting at most `batch_wait` after the first.
async fn gather(config: &Config, first: Pending, rx: &mut mpsc::Receiver<Pending>) -> Vec<Pending> {
    let deadline = tokio::time::Instant::now() + config.batch_wait;
    let mut batch = vec![first];
    while batch.len() < config.batch_entries_max {
        match rx.try_recv() {
            Ok(p) => batch.push(p),
            Err(mpsc::error::TryRecvError::Disconnected) => break,
            Err(mpsc::error::TryRecvError::Empty) => {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(p)) => batch.push(p),
                    Ok(None) | Err(_) => break,
                }
            }
        }
    }
    batch
}

fn nack(batch: Vec<Pending>, why: &str) {
    for p in batch {
        let _ = p.ack.send(Err(AppendError::Unavailable(why.to_owned())));
    }
}

async fn recover_with_backoff(io: &Io) -> State {
    let mut wait = Duration::from_millis(50);
    loop {
        match recover(io).await {
            Ok(state) => return state,
            Err(e) => {
                tracing::error!(error = %e, "recovery failed; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Sequences one batch; returns the first new index and the new tree size.
async fn commit(io: &Io, state: &mut State, entries: &[&[u8]]) -> Result<(u64, u64), BatchError> {
    let first_index = state.edge.size();
    let (edge, seq) = state
        .edge
        .append(entries)
        .map_err(|e| BatchError::Retryable(e.to_string()))?;
    let checkpoint = Checkpoint {
        origin: io.config.origin.clone(),
        size: seq.size,
        root: seq.root,
        extensions: Vec::new(),
    };
    let note = sign_checkpoint(&io.signer, &checkpoint).map_err(BatchError::Retryable)?;

    let items: Vec<(String, &[u8])> = seq
        .bundles
        .iter()
        .map(|(id, bytes)| (log_key(&id.path()), bytes.as_slice()))
        .chain(
            seq.tiles
                .iter()
                .map(|(id, bytes)| (log_key(&id.path()), bytes.as_slice())),
        )
        .collect();
    let staged = staging::encode(seq.size, &seq.root, &items);
    io.blobs
        .put(STAGING_KEY, &staged)
        .await
        .map_err(|e| BatchError::Retryable(format!("staging: {e}")))?;

    io.store
        .swap_checkpoint(&io.config.origin, Some(&state.checkpoint), &note)
        .await
        .map_err(|e| BatchError::Fatal(format!("checkpoint swap: {e}")))?;

    write_items(io.blobs.as_ref(), &items)
        .await
        .map_err(|e| BatchError::Fatal(format!("writing tiles: {e}")))?;
    io.blobs
        .put(CHECKPOINT_KEY, &note)
        .await
        .map_err(|e| BatchError::Fatal(format!("writing checkpoint: {e}")))?;

    state.edge = edge;
    state.checkpoint = note;
    Ok((first_index, seq.size))
}

/// Writes tiles and bundles concurrently: they are independent files, and each `put` waits for
/// its own fsync.
async fn write_items(blobs: &dyn Blobs, items: &[(String, &[u8])]) -> Result<(), BlobError> {
    const CONCURRENT_WRITES_MAX: usize = 16;
    for chunk in items.chunks(CONCURRENT_WRITES_MAX) {
        futures_util::future::try_join_all(chunk.iter().map(|(key, bytes)| blobs.put(key, bytes)))
            .await?;
    }
    Ok(())
}

/// Signs a checkpoint with the log key; an error means the origin cannot be signed (bad config).
fn sign_checkpoint(signer: &Ed25519Signer, checkpoint: &Checkpoint) -> Result<Vec<u8>, String> {
    let mut note = Note::new(&checkpoint.body()).map_err(|e| format!("checkpoint: {e}"))?;
    note.sign(signer)
        .map_err(|e| format!("signing the checkpoint: {e}"))?;
    Ok(note.to_text().into_bytes())
}

/// Parses and checks a checkpoint our key signed; every read of durable state goes through it.
fn open_checkpoint(
    note: &[u8],
    origin: &str,
    verifier: &Ed25519Verifier,
) -> Result<Checkpoint, LogError> {
    let inconsistent = |what: String| LogError::Inconsistent(what);
    let note = Note::parse(note).map_err(|e| inconsistent(format!("checkpoint note: {e}")))?;
    let verified = note
        .verify(&[verifier as &dyn NoteVerifier])
        .map_err(|e| inconsistent(format!("checkpoint signature: {e}")))?;
    let checkpoint = Checkpoint::parse(verified.text())
        .map_err(|e| inconsistent(format!("checkpoint body: {e}")))?;
    if checkpoint.origin != origin {
        return Err(inconsistent(format!(
            "checkpoint origin is {:?}, expected {origin:?}",
            checkpoint.origin
        )));
    }
    Ok(checkpoint)
}

/// Rebuilds the in-memory state from durable state, finishing an interrupted batch.
async fn recover(io: &Io) -> Result<State, LogError> {
    let origin = io.config.origin.as_str();
    let verifier = io.signer.verifier();
    let Some(note) = io.store.checkpoint(origin).await? else {
        return create(io).await;
    };
    let checkpoint = open_checkpoint(&note, origin, &verifier)?;

    // Finish the batch whose swap succeeded but whose tiles may not all be written. Staged
    // bundles for any other size were never committed and are ignored.
    if let Some(bytes) = io.blobs.get(STAGING_KEY).await? {
        match staging::decode(&bytes) {
            Ok(staged) if staged.size == checkpoint.size && staged.root == checkpoint.root => {
                let items: Vec<(String, &[u8])> = staged
                    .items
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_slice()))
                    .collect();
                write_items(io.blobs.as_ref(), &items).await?;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "ignoring an unreadable staging bundle"),
        }
    }

    let edge = load_edge(io.blobs.as_ref(), checkpoint.size).await?;
    if edge.root() != checkpoint.root {
        return Err(LogError::Inconsistent(format!(
            "tiles give root {} for size {}, the checkpoint says {}",
            edge.root(),
            checkpoint.size,
            checkpoint.root
        )));
    }

    // The public checkpoint may lag the store's by one batch; never let it lead.
    let public = io.blobs.get(CHECKPOINT_KEY).await?;
    if public.as_deref() != Some(note.as_slice()) {
        if let Some(public) = &public {
            let shown = open_checkpoint(public, origin, &verifier)?;
            if shown.size > checkpoint.size {
                return Err(LogError::Inconsistent(format!(
                    "public checkpoint size {} is ahead of the store's {}",
                    shown.size, checkpoint.size
                )));
            }
        }
        io.blobs.put(CHECKPOINT_KEY, &note).await?;
    }
    tracing::info!(size = checkpoint.size, root = %checkpoint.root, "log recovered");
    Ok(State {
        edge,
        checkpoint: note,
    })
}

/// Starts a new log: a signed checkpoint of the empty tree.
async fn create(io: &Io) -> Result<State, LogError> {
    if io.blobs.get(CHECKPOINT_KEY).await?.is_some() {
        return Err(LogError::Inconsistent(
            "a public checkpoint exists but the store has none: is this the right database?".into(),
        ));
    }
    let edge = Edge::empty();
    let checkpoint = Checkpoint {
        origin: io.config.origin.clone(),
        size: 0,
        root: edge.root(),
        extensions: Vec::new(),
    };
    let note = sign_checkpoint(&io.signer, &checkpoint).map_err(LogError::Inconsistent)?;
    io.store
        .swap_checkpoint(&io.config.origin, None, &note)
        .await?;
    io.blobs.put(CHECKPOINT_KEY, &note).await?;
    Ok(State {
        edge,
        checkpoint: note,
    })
}

/// Reads the right edge of a tree of `size` from its tiles.
async fn load_edge(blobs: &dyn Blobs, size: u64) -> Result<Edge, LogError> {
    let (tile_ids, bundle_id) = Edge::needed(size);
    let mut tiles = std::collections::HashMap::new();
    for id in tile_ids {
        let key = log_key(&id.path());
        let bytes = blobs
            .get(&key)
            .await?
            .ok_or_else(|| LogError::Inconsistent(format!("missing {key}")))?;
        tiles.insert(id, bytes);
    }
    let bundle = match bundle_id {
        Some(id) => {
            let key = log_key(&id.path());
            Some(
                blobs
                    .get(&key)
                    .await?
                    .ok_or_else(|| LogError::Inconsistent(format!("missing {key}")))?,
            )
        }
        None => None,
    };
    Edge::from_tiles(size, &tiles, bundle.as_deref())
        .map_err(|e| LogError::Inconsistent(format!("right edge of size {size}: {e}")))
}

/// The root of the empty tree, for callers that need it without building an `Edge`.
pub fn empty_root() -> Hash {
    Edge::empty().root()
}
