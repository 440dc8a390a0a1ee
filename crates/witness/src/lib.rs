//! A c2sp.org/tlog-witness server: cosigns a log's checkpoint only if it is consistent with
//! every checkpoint of that log it cosigned before.
//!
//! * [`Witness`] holds the configuration (known logs: origin → log keys, and the witness's
//!   [`CosignatureSigner`]), the per-origin [`WitnessState`] and a [`Clock`].
//!   [`Witness::add_checkpoint`] is the whole protocol step, free of HTTP.
//! * [`router`] serves it as `POST /add-checkpoint`; [`serve`] runs that router on a listener.
//! * [`SqliteState`] is the durable state (one SQLite file, WAL, `synchronous=FULL`);
//!   [`MemoryState`] is for tests.
//! * [`Witness::evidence`]: the last cosigned note and the log-signed requests refused as
//!   inconsistent (at most [`REFUSED_PER_ORIGIN_MAX`] per origin), for split-view evidence.
//!
//! # Response codes (tlog-witness, "add-checkpoint")
//!
//! | status | when |
//! |---|---|
//! | 200 | all checks passed; the record is durable; body: one `cosignature/v1` line |
//! | 400 | body malformed or over [`BODY_BYTES_MAX`]; or `old` > checkpoint size |
//! | 403 | no signature verifies against a key trusted for the origin |
//! | 404 | the origin is not a known log |
//! | 409 | `old` is not the latest cosigned size, or same size with another root; body: latest size, `Content-Type: text/x.tlog.size` (the spec requires that body for the first case; we send it for both) |
//! | 422 | the consistency proof from the latest cosigned checkpoint does not verify |
//! | 405 | not a POST (axum's method router) |
//! | 408 | the request took over [`REQUEST_TIME_MAX`] (a slow body) |
//! | 500 | the state backend or the signer failed; nothing was cosigned (the record may have moved: a retry with the same checkpoint and the new `old` is a re-cosign) |
//!
//! Checks run in this order: parse (400), origin (404), log signature (403), `old` ≤ size
//! (400), `old` = latest size (409), same size ⇒ same root (409), consistency proof (422),
//! atomic swap (409 if another request won), then the cosignature (200).
//!
//! # Trust model
//!
//! Requests are unauthenticated; only the log's signature on the checkpoint is checked
//! (tlog-witness: "there is no authentication of requests beyond the validation of the
//! signature on the checkpoint"). The state file is trusted: whoever can write it can roll a
//! record back and make the witness cosign a fork. The witness key signs only after the new
//! record is durable, so a crash never leaves a cosignature the witness has forgotten.
//!
//! # Invariants
//!
//! * Invariant: for each origin the recorded size never decreases, and every cosigned
//!   checkpoint is consistent with the record it replaced ([`ConsistencyChecked`] is required by
//!   [`WitnessState::compare_and_swap`], which compares the whole record, size and root).
//! * Invariant: the witness reads time only through its [`Clock`].
//! * Invariant: no input makes the server panic; every size has a named limit
//!   ([`BODY_BYTES_MAX`], [`PROOF_LINES_MAX`], [`TREE_SIZE_MAX`], [`REQUEST_TIME_MAX`],
//!   [`REFUSED_PER_ORIGIN_MAX`]).
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use urne_tlog::cosignature::{CosignatureError, CosignatureSigner, CosignatureVerifier};
use urne_tlog::note::{Ed25519Verifier, NoteError, NoteVerifier};
use urne_tlog::policy::Policy;
use urne_tlog::{ConsistencyChecked, ProofError, empty_root, verify_consistency};

pub mod client;
mod http;
pub mod request;
pub mod state;

pub use http::{CONTENT_TYPE_TLOG_SIZE, REQUEST_TIME_MAX, router};
pub use request::{AddCheckpoint, BODY_BYTES_MAX, PROOF_LINES_MAX, RequestError, TREE_SIZE_MAX};
pub use state::{
    Cosigned, Evidence, MemoryState, REFUSED_PER_ORIGIN_MAX, SqliteState, StateError, WitnessState,
};

/// A source of POSIX time in seconds, for cosignature timestamps.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Seconds since the Unix epoch.
    fn unix_seconds(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn unix_seconds(&self) -> u64 {
        // A clock before 1970 is broken; 0 still yields a valid (if odd) cosignature.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// A clock that says what it is told, for deterministic tests.
#[derive(Debug, Default)]
pub struct FixedClock(AtomicU64);

impl FixedClock {
    /// A clock stopped at `unix_seconds`.
    pub fn new(unix_seconds: u64) -> FixedClock {
        FixedClock(AtomicU64::new(unix_seconds))
    }

    /// Moves the clock to `unix_seconds`.
    pub fn set(&self, unix_seconds: u64) {
        self.0.store(unix_seconds, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn unix_seconds(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The logs a witness cosigns for: origin → the log's checkpoint keys.
#[derive(Debug, Clone, Default)]
pub struct KnownLogs {
    logs: HashMap<String, Vec<Ed25519Verifier>>,
}

impl KnownLogs {
    /// No logs.
    pub fn new() -> KnownLogs {
        KnownLogs::default()
    }

    /// Trusts `key` for checkpoints with this `origin` line. An origin may have several keys
    /// (tlog-witness: "the public key(s) it trusts for the checkpoint origin").
    pub fn add(&mut self, origin: &str, key: Ed25519Verifier) -> &mut KnownLogs {
        let keys = self.logs.entry(origin.to_string()).or_default();
        if !keys.contains(&key) {
            keys.push(key);
        }
        self
    }

    /// The `log` lines of a tlog-policy, whose key names are the origins.
    pub fn from_policy(policy: &Policy) -> KnownLogs {
        let mut logs = KnownLogs::new();
        for log in &policy.logs {
            logs.add(log.verifier.name(), log.verifier.clone());
        }
        logs
    }

    /// The keys trusted for `origin`, if it is known.
    pub fn keys(&self, origin: &str) -> Option<&[Ed25519Verifier]> {
        self.logs.get(origin).map(Vec::as_slice)
    }
}

/// Why an `add-checkpoint` request was refused; [`AddError::status`] is its HTTP status.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AddError {
    /// 400: the body could not be read (too long, connection cut).
    #[error("cannot read request body: {0}")]
    Body(String),
    /// 400: the body is not a well-formed request.
    #[error("malformed request: {0}")]
    Malformed(#[from] RequestError),
    /// 400: `old` is larger than the checkpoint's size.
    #[error("old size {old} is larger than the checkpoint size {size}")]
    OldLargerThanNew {
        /// The request's old size.
        old: u64,
        /// The checkpoint's size.
        size: u64,
    },
    /// 404: no log with this origin is known.
    #[error("unknown log origin")]
    UnknownLog(String),
    /// 403: no trusted key's signature verifies (or a trusted key's signature is bad).
    #[error("checkpoint is not signed by a key trusted for this log: {0}")]
    Forbidden(NoteError),
    /// 409: `old` is not the size of the latest cosigned checkpoint.
    #[error("old size does not match the latest cosigned size {latest}")]
    OldSizeMismatch {
        /// The latest cosigned size (0 if none).
        latest: u64,
    },
    /// 409: the checkpoint has the latest cosigned size but another root hash.
    #[error("checkpoint of size {latest} has a root other than the one cosigned")]
    RootMismatch {
        /// The latest cosigned size, equal to the checkpoint's.
        latest: u64,
        /// The log's origin.
        origin: String,
    },
    /// 422: the consistency proof does not verify.
    #[error("consistency proof from size {old} to {size} does not verify: {error}")]
    Inconsistent {
        /// The old size.
        old: u64,
        /// The checkpoint size.
        size: u64,
        /// Why.
        error: ProofError,
    },
    /// 408: the request took over [`REQUEST_TIME_MAX`].
    #[error("request took over {} s", REQUEST_TIME_MAX.as_secs())]
    TimedOut,
    /// 500: the state backend failed.
    #[error(transparent)]
    State(StateError),
    /// 500: the cosignature could not be made (a clock past 2^63 - 1).
    #[error("cannot cosign: {0}")]
    Sign(CosignatureError),
}

/// A witness: configuration, state and clock. Share it behind an [`Arc`].
#[derive(Debug)]
pub struct Witness {
    signer: CosignatureSigner,
    logs: KnownLogs,
    state: Arc<dyn WitnessState>,
    clock: Arc<dyn Clock>,
}

impl Witness {
    /// A witness signing with `signer` for the `logs`, remembering in `state`.
    pub fn new(
        signer: CosignatureSigner,
        logs: KnownLogs,
        state: Arc<dyn WitnessState>,
        clock: Arc<dyn Clock>,
    ) -> Witness {
        Witness {
            signer,
            logs,
            state,
            clock,
        }
    }

    /// The witness's cosignature verifier key (for the logs' policies).
    pub fn verifier(&self) -> CosignatureVerifier {
        self.signer.verifier()
    }

    /// The latest checkpoint cosigned for `origin`.
    pub async fn latest(&self, origin: &str) -> Result<Option<Cosigned>, StateError> {
        self.state.latest(origin).await
    }

    /// tlog-witness add-checkpoint: checks the request body and, if every check passes,
    /// records the checkpoint durably and returns the cosignature line(s).
    pub async fn add_checkpoint(&self, body: &[u8]) -> Result<String, AddError> {
        let request = AddCheckpoint::parse(body)?;
        let checkpoint = &request.checkpoint;
        let origin = checkpoint.origin.as_str();
        // tlog-witness: "If the checkpoint origin is unknown, the witness MUST respond with a
        // 404 Not Found".
        let keys = self
            .logs
            .keys(origin)
            .ok_or_else(|| AddError::UnknownLog(origin.to_string()))?;
        // tlog-witness: "it MUST ignore signatures from unknown keys ... If none of the
        // signatures verify against a trusted public key, ... 403 Forbidden". Note::verify
        // ignores unknown keys; it also refuses a bad signature by a trusted key.
        {
            // Scoped: `&dyn NoteVerifier` is not `Send` and must not live across an await.
            let known: Vec<&dyn NoteVerifier> =
                keys.iter().map(|k| k as &dyn NoteVerifier).collect();
            request.note.verify(&known).map_err(AddError::Forbidden)?;
        }
        // tlog-witness: "The old size MUST be equal to or lower than the checkpoint size.
        // Otherwise, the witness MUST respond with a 400 Bad Request".
        if request.old > checkpoint.size {
            return Err(AddError::OldLargerThanNew {
                old: request.old,
                size: checkpoint.size,
            });
        }
        let latest = self.state.latest(origin).await.map_err(AddError::State)?;
        let checked = match check_against(latest, &request) {
            Ok(checked) => checked,
            Err(refusal) => {
                self.keep_if_evidence(origin, &refusal, body).await;
                return Err(refusal);
            }
        };
        let new = Cosigned {
            size: checkpoint.size,
            root: checkpoint.root,
        };
        // tlog-witness: "checking the old size against the latest checkpoint and persisting
        // the new checkpoint must be performed atomically". The swap succeeds only if the
        // record is still the `latest` the proof was checked against.
        let note = request.note.to_text();
        match self
            .state
            .compare_and_swap(origin, latest, new, note.as_bytes(), checked)
            .await
        {
            Ok(()) => {}
            Err(StateError::Conflict { current }) => {
                // Another request won the race: answer as if it had come first.
                return Err(AddError::OldSizeMismatch {
                    latest: current.map_or(0, |c| c.size),
                });
            }
            Err(e) => return Err(AddError::State(e)),
        }
        // tlog-witness: "The witness MUST persist the new checkpoint before responding."
        // It is persisted; only now is it cosigned.
        let signature = self
            .signer
            .sign(checkpoint, self.clock.unix_seconds())
            .map_err(AddError::Sign)?;
        Ok(signature.line())
    }
}

impl Witness {
    /// The log signed this checkpoint, yet it does not extend what was cosigned: keep the
    /// request (tlog-witness: "the witness MAY log the request even if the consistency proof
    /// doesn't verify (but MUST NOT cosign the checkpoint) as it might be proof of log
    /// misbehavior"). A failure to keep it does not change the answer.
    async fn keep_if_evidence(&self, origin: &str, refusal: &AddError, body: &[u8]) {
        if !matches!(
            refusal,
            AddError::Inconsistent { .. } | AddError::RootMismatch { .. }
        ) {
            return;
        }
        let status = refusal.status().as_u16();
        if let Err(e) = self.state.record_refused(origin, status, body).await {
            tracing::error!(error = %e, "cannot keep refused checkpoint");
        }
    }

    /// What this witness kept about `origin`: the last cosigned note and refused requests
    /// the log signed (see [`WitnessState::evidence`]).
    pub async fn evidence(&self, origin: &str) -> Result<Evidence, StateError> {
        self.state.evidence(origin).await
    }
}

/// The checks against the latest record: 409 and 422. Pure.
fn check_against(
    latest: Option<Cosigned>,
    request: &AddCheckpoint,
) -> Result<ConsistencyChecked, AddError> {
    let checkpoint = &request.checkpoint;
    // tlog-witness: "The witness MUST check that the old size matches the size of the latest
    // checkpoint it cosigned for the checkpoint's origin (or zero if it never cosigned a
    // checkpoint for that origin). If it doesn't match, ... 409 Conflict".
    let latest_size = latest.map_or(0, |c| c.size);
    if request.old != latest_size {
        return Err(AddError::OldSizeMismatch {
            latest: latest_size,
        });
    }
    // Never cosigned: the old tree is the empty tree (RFC 6962 §2.1: MTH({}) = SHA-256()).
    let old_root = latest.map_or_else(empty_root, |c| c.root);
    // tlog-witness: "If the old size matches the checkpoint size, the witness MUST check that
    // the root hashes are also identical. If they don't match, ... 409 Conflict". Same size
    // and same root is a re-cosign and passes.
    if request.old == checkpoint.size && checkpoint.root != old_root {
        return Err(AddError::RootMismatch {
            latest: latest_size,
            origin: checkpoint.origin.clone(),
        });
    }
    // tlog-witness: "The consistency proof lines MUST encode a Merkle Consistency Proof from
    // the old size to the checkpoint size ... The proof MUST be empty if the old size is zero.
    // If the Merkle Consistency Proof doesn't verify, ... 422 Unprocessable Entity".
    verify_consistency(
        request.old,
        checkpoint.size,
        &request.proof,
        &old_root,
        &checkpoint.root,
    )
    .map_err(|error| AddError::Inconsistent {
        old: request.old,
        size: checkpoint.size,
        error,
    })
}

/// Serves [`router`] on `listener` until `shutdown` completes, then finishes the requests in
/// flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    witness: Arc<Witness>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(witness))
        .with_graceful_shutdown(shutdown)
        .await
}
