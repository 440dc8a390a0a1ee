//! What the witness remembers per log: the latest checkpoint it cosigned.
//!
//! tlog-witness: "checking the old size against the latest checkpoint and persisting the new
//! checkpoint must be performed atomically". [`WitnessState::compare_and_swap`] is that one
//! atomic step: it replaces the record only if it is still exactly the one the caller checked
//! the consistency proof against, so two racing requests can never both win from the same
//! record, and the stored size never goes back.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::Mutex;

use async_trait::async_trait;
use sqlx::Row as _;
use sqlx::sqlite::SqlitePool;
use urne_tlog::{ConsistencyChecked, Hash};

/// The latest checkpoint cosigned for one origin.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Cosigned {
    /// Tree size.
    pub size: u64,
    /// Root hash at that size.
    pub root: Hash,
}

/// A state backend failure, or a lost compare-and-swap.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The record was not the expected one; `current` is what it is now.
    #[error("the latest cosigned checkpoint changed (now {current:?})")]
    Conflict {
        /// The record at the time of the failed swap (`None`: never cosigned).
        current: Option<Cosigned>,
    },
    /// The backend failed. The swap may or may not have committed; the witness answers 500 and
    /// the client retries, reading the record afresh.
    #[error("witness state: {0}")]
    Backend(String),
}

/// Per-origin record of the latest cosigned checkpoint.
#[async_trait]
pub trait WitnessState: Send + Sync + fmt::Debug {
    /// The latest cosigned checkpoint for `origin`, or `None` if never cosigned.
    async fn latest(&self, origin: &str) -> Result<Option<Cosigned>, StateError>;

    /// Atomically: if the record for `origin` is `old` (`None`: no record), set it to `new`
    /// and keep `note` (the signed checkpoint) beside it; otherwise change nothing and return
    /// [`StateError::Conflict`] with the current record. `old == new` is allowed (a re-cosign).
    ///
    /// The [`ConsistencyChecked`] token says the caller verified `new` against `old`.
    async fn compare_and_swap(
        &self,
        origin: &str,
        old: Option<Cosigned>,
        new: Cosigned,
        note: &[u8],
        checked: ConsistencyChecked,
    ) -> Result<(), StateError>;

    /// Keeps a refused request `body` whose checkpoint the log did sign (`status` 422, or 409
    /// for the same size with another root) as possible evidence of log misbehavior. Keeps at
    /// most [`REFUSED_PER_ORIGIN_MAX`] per origin and drops the rest.
    async fn record_refused(
        &self,
        origin: &str,
        status: u16,
        body: &[u8],
    ) -> Result<(), StateError>;

    /// The signed checkpoint last cosigned for `origin` and the refused requests kept for it
    /// (`(status, body)`, oldest first): the material for an evidence file.
    async fn evidence(&self, origin: &str) -> Result<Evidence, StateError>;
}

/// Refused requests kept per origin. Only holders of the log key can fill the quota.
pub const REFUSED_PER_ORIGIN_MAX: usize = 64;

/// What a witness keeps about one log besides its record.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Evidence {
    /// The signed checkpoint note last cosigned, as received.
    pub cosigned: Option<Vec<u8>>,
    /// Refused requests with a valid log signature: `(status, request body)`, oldest first.
    pub refused: Vec<(u16, Vec<u8>)>,
}

/// An in-memory [`WitnessState`] for tests and benches. Forgets everything on drop: never use
/// it for a real witness, which would then cosign a fork after a restart.
#[derive(Debug, Default)]
pub struct MemoryState {
    inner: Mutex<MemoryInner>,
}

#[derive(Debug, Default)]
struct MemoryInner {
    records: HashMap<String, Cosigned>,
    evidence: HashMap<String, Evidence>,
}

impl MemoryState {
    /// An empty state.
    pub fn new() -> MemoryState {
        MemoryState::default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, MemoryInner>, StateError> {
        self.inner
            .lock()
            .map_err(|_| StateError::Backend("memory state lock poisoned".into()))
    }
}

#[async_trait]
impl WitnessState for MemoryState {
    async fn latest(&self, origin: &str) -> Result<Option<Cosigned>, StateError> {
        Ok(self.lock()?.records.get(origin).copied())
    }

    async fn compare_and_swap(
        &self,
        origin: &str,
        old: Option<Cosigned>,
        new: Cosigned,
        note: &[u8],
        _checked: ConsistencyChecked,
    ) -> Result<(), StateError> {
        let mut inner = self.lock()?;
        let current = inner.records.get(origin).copied();
        if current != old {
            return Err(StateError::Conflict { current });
        }
        inner.records.insert(origin.to_string(), new);
        inner
            .evidence
            .entry(origin.to_string())
            .or_default()
            .cosigned = Some(note.to_vec());
        Ok(())
    }

    async fn record_refused(
        &self,
        origin: &str,
        status: u16,
        body: &[u8],
    ) -> Result<(), StateError> {
        let mut inner = self.lock()?;
        let evidence = inner.evidence.entry(origin.to_string()).or_default();
        if evidence.refused.len() < REFUSED_PER_ORIGIN_MAX {
            evidence.refused.push((status, body.to_vec()));
        }
        Ok(())
    }

    async fn evidence(&self, origin: &str) -> Result<Evidence, StateError> {
        Ok(self
            .lock()?
            .evidence
            .get(origin)
            .cloned()
            .unwrap_or_default())
    }
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A [`WitnessState`] in one SQLite file (WAL, `synchronous=FULL`).
///
/// Crash safety: when [`WitnessState::compare_and_swap`] returns `Ok` the new record is in the
/// fsynced write-ahead log, so the witness never answers 200 for a record a power cut could
/// lose (given a disk that honours fsync).
///
/// Trust: whoever can write the file can roll the record back and make the witness cosign a
/// fork. Keep it as private as the witness key.
#[derive(Debug, Clone)]
pub struct SqliteState {
    pool: SqlitePool,
}

impl SqliteState {
    /// Opens (creating if missing) the database at `path`, sets WAL mode and
    /// `synchronous=FULL`, and applies the embedded migrations.
    pub async fn open(path: impl AsRef<Path>) -> Result<SqliteState, StateError> {
        let path = path.as_ref();
        let pool = urne_store_sqlite::open_durable_pool(path)
            .await
            .map_err(|e| backend(&format!("cannot open {}", path.display()), e))?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StateError::Backend(format!("sqlite migrations failed: {e}")))?;
        Ok(SqliteState { pool })
    }

    /// Closes every connection, waiting for calls in flight. Later calls fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn backend(context: &str, e: sqlx::Error) -> StateError {
    StateError::Backend(format!("sqlite: {context}: {e}"))
}

fn to_i64(size: u64) -> Result<i64, StateError> {
    i64::try_from(size).map_err(|_| StateError::Backend(format!("size {size} exceeds i64")))
}

#[async_trait]
impl WitnessState for SqliteState {
    async fn latest(&self, origin: &str) -> Result<Option<Cosigned>, StateError> {
        let row = sqlx::query("SELECT size, root FROM cosigned WHERE origin = ?1")
            .bind(origin)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| backend("reading record", e))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let size: i64 = row.try_get(0).map_err(|e| backend("size column", e))?;
        let root: Vec<u8> = row.try_get(1).map_err(|e| backend("root column", e))?;
        // Check on both sides of the boundary: what we read must be what we could have written.
        let size = u64::try_from(size)
            .map_err(|_| StateError::Backend(format!("stored size {size} is negative")))?;
        let root = Hash::from_slice(&root)
            .map_err(|e| StateError::Backend(format!("stored root: {e}")))?;
        Ok(Some(Cosigned { size, root }))
    }

    async fn compare_and_swap(
        &self,
        origin: &str,
        old: Option<Cosigned>,
        new: Cosigned,
        note: &[u8],
        _checked: ConsistencyChecked,
    ) -> Result<(), StateError> {
        let new_size = to_i64(new.size)?;
        // Each branch is one autocommit statement, so the compare and the swap are atomic;
        // zero rows affected means the record was not `old`.
        let done = match old {
            None => {
                sqlx::query(
                    "INSERT INTO cosigned (origin, size, root, note) VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (origin) DO NOTHING",
                )
                .bind(origin)
                .bind(new_size)
                .bind(new.root.0.as_slice())
                .bind(note)
                .execute(&self.pool)
                .await
            }
            Some(old) => {
                sqlx::query(
                    "UPDATE cosigned SET size = ?2, root = ?3, note = ?4 \
                     WHERE origin = ?1 AND size = ?5 AND root = ?6",
                )
                .bind(origin)
                .bind(new_size)
                .bind(new.root.0.as_slice())
                .bind(note)
                .bind(to_i64(old.size)?)
                .bind(old.root.0.as_slice())
                .execute(&self.pool)
                .await
            }
        }
        .map_err(|e| backend("swapping record", e))?;
        match done.rows_affected() {
            1 => Ok(()),
            0 => Err(StateError::Conflict {
                current: self.latest(origin).await?,
            }),
            n => Err(StateError::Backend(format!(
                "sqlite: swap touched {n} rows, not 1"
            ))),
        }
    }

    async fn record_refused(
        &self,
        origin: &str,
        status: u16,
        body: &[u8],
    ) -> Result<(), StateError> {
        // One statement: the quota check and the insert cannot race.
        sqlx::query(
            "INSERT INTO refused (origin, status, body) SELECT ?1, ?2, ?3 \
             WHERE (SELECT count(*) FROM refused WHERE origin = ?1) < ?4",
        )
        .bind(origin)
        .bind(i64::from(status))
        .bind(body)
        .bind(REFUSED_PER_ORIGIN_MAX as i64)
        .execute(&self.pool)
        .await
        .map_err(|e| backend("recording refused request", e))?;
        Ok(())
    }

    async fn evidence(&self, origin: &str) -> Result<Evidence, StateError> {
        let cosigned =
            sqlx::query_scalar::<_, Vec<u8>>("SELECT note FROM cosigned WHERE origin = ?1")
                .bind(origin)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| backend("reading cosigned note", e))?;
        let rows = sqlx::query("SELECT status, body FROM refused WHERE origin = ?1 ORDER BY id")
            .bind(origin)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| backend("reading refused requests", e))?;
        let mut refused = Vec::with_capacity(rows.len());
        for row in rows {
            let status: i64 = row.try_get(0).map_err(|e| backend("status column", e))?;
            let body: Vec<u8> = row.try_get(1).map_err(|e| backend("body column", e))?;
            let status = u16::try_from(status)
                .map_err(|_| StateError::Backend(format!("stored status {status}")))?;
            refused.push((status, body));
        }
        Ok(Evidence { cosigned, refused })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn durability_pragmas_are_set_on_every_connection() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = SqliteState::open(dir.path().join("witness.db"))
            .await
            .expect("open");
        // Hold several connections at once so that more than the first one is checked.
        let mut held = Vec::new();
        for _ in 0..urne_store_sqlite::POOL_CONNECTIONS_MAX {
            let mut conn = state.pool.acquire().await.expect("acquire");
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(&mut *conn)
                .await
                .expect("journal_mode");
            let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(&mut *conn)
                .await
                .expect("synchronous");
            assert_eq!((mode.as_str(), sync), ("wal", 2));
            held.push(conn);
        }
    }

    #[tokio::test]
    async fn refused_requests_are_capped_per_origin() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sqlite = SqliteState::open(dir.path().join("witness.db"))
            .await
            .expect("open");
        let memory = MemoryState::new();
        for state in [&sqlite as &dyn WitnessState, &memory] {
            for i in 0..REFUSED_PER_ORIGIN_MAX + 5 {
                let body = format!("request {i}");
                state
                    .record_refused("log", 422, body.as_bytes())
                    .await
                    .expect("record");
            }
            state
                .record_refused("other", 409, b"x")
                .await
                .expect("record");
            let kept = state.evidence("log").await.expect("evidence");
            assert_eq!(kept.refused.len(), REFUSED_PER_ORIGIN_MAX);
            assert_eq!(kept.refused[0], (422, b"request 0".to_vec()));
            assert_eq!(kept.cosigned, None);
            let other = state.evidence("other").await.expect("evidence");
            assert_eq!(other.refused, [(409, b"x".to_vec())]);
        }
    }
}
