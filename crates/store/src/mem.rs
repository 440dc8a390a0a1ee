//! In-memory fakes with failure hooks, for tests of the code above the storage traits
//! (the sequencer above all). After sunlight's `MemoryBackend` callbacks.
//!
//! Nothing here is durable: the fakes model a backend that never loses an acknowledged write,
//! and faults are injected only through the hooks.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use crate::key::{validate_key, validate_prefix};
use crate::{BlobError, Blobs, Store, StoreError};

/// What a fault hook tells a fake to do with one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    /// Run the operation normally.
    #[default]
    Pass,
    /// Fail without changing anything (a refused connection, a full disk).
    Fail,
    /// Apply the change, then report a backend failure: the lost-acknowledgement case, where
    /// the write is durable but the caller cannot know. Reads simply fail. If the operation
    /// itself fails (a compare-and-swap conflict), that true outcome is returned instead.
    FailAfterApply,
}

/// One [`Store`] operation, as seen by a [`MemStore`] hook.
#[derive(Debug, Clone, Copy)]
pub enum StoreOp<'a> {
    /// [`Store::checkpoint`].
    Checkpoint { log: &'a str },
    /// [`Store::swap_checkpoint`].
    SwapCheckpoint {
        log: &'a str,
        old: Option<&'a [u8]>,
        new: &'a [u8],
    },
}

impl StoreOp<'_> {
    /// The log the operation is about.
    pub fn log(&self) -> &str {
        match self {
            StoreOp::Checkpoint { log } | StoreOp::SwapCheckpoint { log, .. } => log,
        }
    }
}

/// One [`Blobs`] operation, as seen by a [`MemBlobs`] hook.
#[derive(Debug, Clone, Copy)]
pub enum BlobOp<'a> {
    /// [`Blobs::put`].
    Put { key: &'a str, bytes: &'a [u8] },
    /// [`Blobs::get`].
    Get { key: &'a str },
    /// [`Blobs::delete`].
    Delete { key: &'a str },
    /// [`Blobs::list`].
    List { prefix: &'a str },
}

impl BlobOp<'_> {
    /// The key (or, for `List`, the prefix) the operation is about.
    pub fn key(&self) -> &str {
        match self {
            BlobOp::Put { key, .. } | BlobOp::Get { key } | BlobOp::Delete { key } => key,
            BlobOp::List { prefix } => prefix,
        }
    }
}

type StoreHook = Box<dyn for<'a> FnMut(StoreOp<'a>) -> Fault + Send>;
type BlobHook = Box<dyn for<'a> FnMut(BlobOp<'a>) -> Fault + Send>;

/// The fault plan of one fake: first `fail_next` operations fail, then the hook decides.
struct Faults<H> {
    fail_next: usize,
    hook: Option<H>,
}

impl<H> Default for Faults<H> {
    fn default() -> Self {
        Faults {
            fail_next: 0,
            hook: None,
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking hook must not wedge every later test step.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An in-memory [`Store`] with failure hooks.
#[derive(Default)]
pub struct MemStore {
    checkpoints: Mutex<HashMap<String, Vec<u8>>>,
    faults: Mutex<Faults<StoreHook>>,
}

impl fmt::Debug for MemStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemStore")
            .field("logs", &lock(&self.checkpoints).len())
            .finish()
    }
}

impl MemStore {
    /// An empty store with no faults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the next `n` operations fail (without applying), before any hook is asked.
    pub fn fail_next(&self, n: usize) {
        lock(&self.faults).fail_next = n;
    }

    /// Asks `hook` about every later operation (after any [`fail_next`](Self::fail_next)
    /// budget is spent). Replaces the previous hook.
    pub fn set_hook(&self, hook: impl for<'a> FnMut(StoreOp<'a>) -> Fault + Send + 'static) {
        lock(&self.faults).hook = Some(Box::new(hook));
    }

    /// Removes the hook and any remaining `fail_next` budget.
    pub fn clear_faults(&self) {
        *lock(&self.faults) = Faults::default();
    }

    fn fault(&self, op: StoreOp<'_>) -> Fault {
        let mut faults = lock(&self.faults);
        if faults.fail_next > 0 {
            faults.fail_next -= 1;
            return Fault::Fail;
        }
        faults.hook.as_mut().map_or(Fault::Pass, |hook| hook(op))
    }
}

fn injected(op: &str, log: &str) -> StoreError {
    StoreError::Backend(format!("injected fault in {op} for log {log:?}"))
}

#[async_trait]
impl Store for MemStore {
    async fn checkpoint(&self, log: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self.fault(StoreOp::Checkpoint { log }) {
            Fault::Pass => Ok(lock(&self.checkpoints).get(log).cloned()),
            Fault::Fail | Fault::FailAfterApply => Err(injected("checkpoint", log)),
        }
    }

    async fn swap_checkpoint(
        &self,
        log: &str,
        old: Option<&[u8]>,
        new: &[u8],
    ) -> Result<(), StoreError> {
        let fault = self.fault(StoreOp::SwapCheckpoint { log, old, new });
        if fault == Fault::Fail {
            return Err(injected("swap_checkpoint", log));
        }
        {
            let mut checkpoints = lock(&self.checkpoints);
            if checkpoints.get(log).map(Vec::as_slice) != old {
                return Err(StoreError::Conflict {
                    log: log.to_owned(),
                });
            }
            checkpoints.insert(log.to_owned(), new.to_vec());
        }
        match fault {
            Fault::FailAfterApply => Err(injected("swap_checkpoint", log)),
            Fault::Pass | Fault::Fail => Ok(()),
        }
    }
}

/// An in-memory [`Blobs`] with failure hooks. Keys are checked like every backend's.
#[derive(Default)]
pub struct MemBlobs {
    blobs: Mutex<BTreeMap<String, Vec<u8>>>,
    faults: Mutex<Faults<BlobHook>>,
}

impl fmt::Debug for MemBlobs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemBlobs")
            .field("blobs", &lock(&self.blobs).len())
            .finish()
    }
}

impl MemBlobs {
    /// An empty store with no faults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the next `n` operations fail (without applying), before any hook is asked.
    pub fn fail_next(&self, n: usize) {
        lock(&self.faults).fail_next = n;
    }

    /// Asks `hook` about every later operation with a valid key (after any
    /// [`fail_next`](Self::fail_next) budget is spent). Replaces the previous hook.
    pub fn set_hook(&self, hook: impl for<'a> FnMut(BlobOp<'a>) -> Fault + Send + 'static) {
        lock(&self.faults).hook = Some(Box::new(hook));
    }

    /// Removes the hook and any remaining `fail_next` budget.
    pub fn clear_faults(&self) {
        *lock(&self.faults) = Faults::default();
    }

    /// A copy of everything stored, for assertions.
    pub fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        lock(&self.blobs).clone()
    }

    fn fault(&self, op: BlobOp<'_>) -> Result<Fault, BlobError> {
        let key = op.key();
        if let BlobOp::List { .. } = op {
            validate_prefix(key)
        } else {
            validate_key(key)
        }?;
        let mut faults = lock(&self.faults);
        if faults.fail_next > 0 {
            faults.fail_next -= 1;
            return Ok(Fault::Fail);
        }
        Ok(faults.hook.as_mut().map_or(Fault::Pass, |hook| hook(op)))
    }
}

fn injected_io(key: &str) -> BlobError {
    BlobError::Io {
        key: key.to_owned(),
        source: io::Error::other("injected fault"),
    }
}

#[async_trait]
impl Blobs for MemBlobs {
    async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), BlobError> {
        let fault = self.fault(BlobOp::Put { key, bytes })?;
        if fault != Fault::Fail {
            lock(&self.blobs).insert(key.to_owned(), bytes.to_vec());
        }
        if fault == Fault::Pass {
            Ok(())
        } else {
            Err(injected_io(key))
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BlobError> {
        match self.fault(BlobOp::Get { key })? {
            Fault::Pass => Ok(lock(&self.blobs).get(key).cloned()),
            Fault::Fail | Fault::FailAfterApply => Err(injected_io(key)),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let fault = self.fault(BlobOp::Delete { key })?;
        if fault != Fault::Fail {
            lock(&self.blobs).remove(key);
        }
        if fault == Fault::Pass {
            Ok(())
        } else {
            Err(injected_io(key))
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, BlobError> {
        match self.fault(BlobOp::List { prefix })? {
            Fault::Pass => Ok(lock(&self.blobs)
                .range(prefix.to_owned()..)
                .map(|(key, _)| key)
                .take_while(|key| key.starts_with(prefix))
                .cloned()
                .collect()),
            Fault::Fail | Fault::FailAfterApply => Err(injected_io(prefix)),
        }
    }
}
