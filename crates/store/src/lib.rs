//! Storage behind two small traits.
//!
//! - [`Store`]: the small, strongly consistent state (the log's checkpoint row, compared and
//!   swapped by the one sequencer). SQLite by default, PostgreSQL at state scale.
//! - [`Blobs`]: large, write-once-mostly bytes (tiles, entry bundles, payloads, the rendered
//!   tree). A directory by default, object storage later.
//!
//! Here too: [`DirBlobs`] (the directory backend), [`MemStore`] and [`MemBlobs`] (in-memory
//! fakes with failure hooks for sequencer tests), key rules shared by every [`Blobs`] backend
//! ([`validate_key`], [`KEY_BYTES_MAX`]), and [`testsuite`], the one story suite every backend
//! runs. The SQL stores live in `urne-store-sqlite` and `urne-store-postgres`.
//!
//! Invariant: nothing here understands tiles, checkpoints or signatures; callers hand over bytes.
//! Invariant: every `Blobs` backend refuses the same keys (all call [`validate_key`]).
#![forbid(unsafe_code)]

mod dir;
mod key;
mod mem;
pub mod testsuite;

use async_trait::async_trait;

pub use dir::DirBlobs;
pub use key::{KEY_BYTES_MAX, KEY_SEGMENT_BYTES_MAX, validate_key, validate_prefix};
pub use mem::{BlobOp, Fault, MemBlobs, MemStore, StoreOp};

/// Errors a [`Store`] can return.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A compare-and-swap found a different current value than the caller expected:
    /// someone else sequenced, or the caller's view is stale. Fatal for a sequencer: it must
    /// stop signing and reload from durable state.
    #[error("checkpoint compare-and-swap conflict for log {log:?}")]
    Conflict { log: String },
    /// The backend failed (I/O, connection, constraint). May be retried.
    #[error("store backend error: {0}")]
    Backend(String),
}

/// The strongly consistent part of urne's state.
///
/// Invariant: `swap_checkpoint` is atomic and linearizable; two concurrent swaps from the same
/// `old` value can never both succeed.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The latest checkpoint committed for `log` (the exact signed-note bytes), if any.
    async fn checkpoint(&self, log: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Replaces the checkpoint for `log` with `new` only if the current value equals `old`
    /// (`None`: no checkpoint yet). Returns [`StoreError::Conflict`] otherwise, changing nothing.
    async fn swap_checkpoint(
        &self,
        log: &str,
        old: Option<&[u8]>,
        new: &[u8],
    ) -> Result<(), StoreError>;
}

/// Errors a [`Blobs`] backend can return.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlobError {
    /// The key is not a safe relative path (empty, absolute, `..`, odd characters, too long).
    #[error("invalid blob key {key:?}: {why}")]
    InvalidKey { key: String, why: &'static str },
    /// The backend failed.
    #[error("blob backend error on {key:?}: {source}")]
    Io {
        key: String,
        #[source]
        source: std::io::Error,
    },
}

/// Byte storage addressed by relative, slash-separated keys such as `log/tile/0/000`.
///
/// Invariant: when `put` returns `Ok`, the bytes are durable (survive a power cut) and a
/// concurrent or later `get` sees either the old or the new value, never a mix.
#[async_trait]
pub trait Blobs: Send + Sync + 'static {
    /// Writes `bytes` at `key`, replacing any previous value atomically and durably.
    async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), BlobError>;
    /// Reads the value at `key`; `Ok(None)` if there is none.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BlobError>;
    /// Removes `key`; removing a missing key is not an error.
    async fn delete(&self, key: &str) -> Result<(), BlobError>;
    /// Keys that start with `prefix`, sorted.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, BlobError>;
}
