//! urne's [`Store`] on SQLite: one file in the data directory, the embedded default.
//!
//! Crash safety: the database runs in WAL mode with `synchronous=FULL`, so when
//! [`Store::swap_checkpoint`] returns `Ok` the new row is in the fsynced write-ahead log and
//! survives a power cut (given a disk that honours fsync). A swap that returned an error may
//! or may not have committed: callers recover by reading [`Store::checkpoint`].
//!
//! Trust: the checkpoint row is trusted state. Whoever can write the file can roll the log
//! back to an older checkpoint; the sequencer would then sign a fork, which witnesses refuse
//! to cosign. Keep the file as private as the log's signing key.
//!
//! Concurrency: one process should own the file. Several connections (and processes) are
//! safe, since every swap is one atomic statement, but writers queue on SQLite's single write
//! lock for at most [`BUSY_TIMEOUT`].
#![forbid(unsafe_code)]

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use urne_store::{Store, StoreError};

/// Connections in the pool. SQLite has one writer at a time; the rest serve concurrent
/// reads, which WAL mode lets run beside the writer.
pub const POOL_CONNECTIONS_MAX: u32 = 4;

/// How long a statement waits for SQLite's write lock before failing with "database is
/// locked" (mapped to [`StoreError::Backend`]).
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a call waits for a free pooled connection.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Opens (creating if missing) a pool on the SQLite file at `path` with urne's durability
/// settings: WAL mode and `synchronous=FULL` (every commit fsyncs the WAL, so an acknowledged
/// write survives a power cut), a busy timeout and bounded connections. Every SQLite database
/// urne keeps (the store, a witness's state) opens through here, so the settings cannot drift.
pub async fn open_durable_pool(path: &Path) -> Result<SqlitePool, sqlx::Error> {
    open_durable_pool_sized(path, POOL_CONNECTIONS_MAX).await
}

/// [`open_durable_pool`] with at most `connections` connections (a bulk load into an empty
/// database holds the only one, so that it may leave WAL mode for its one transaction).
pub async fn open_durable_pool_sized(
    path: &Path,
    connections: u32,
) -> Result<SqlitePool, sqlx::Error> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true);
    SqlitePoolOptions::new()
        .max_connections(connections.max(1))
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await
}

/// A [`Store`] in one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `path`, sets WAL mode and
    /// `synchronous=FULL`, and applies the embedded migrations.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let pool = open_durable_pool(path)
            .await
            .map_err(|e| backend(&format!("cannot open {}", path.display()), e))?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Backend(format!("sqlite migrations failed: {e}")))?;
        Ok(SqliteStore { pool })
    }

    /// Closes every connection, waiting for calls in flight. Later calls fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn backend(context: &str, e: sqlx::Error) -> StoreError {
    StoreError::Backend(format!("sqlite: {context}: {e}"))
}

#[async_trait]
impl Store for SqliteStore {
    async fn checkpoint(&self, log: &str) -> Result<Option<Vec<u8>>, StoreError> {
        sqlx::query_scalar::<_, Vec<u8>>("SELECT checkpoint FROM checkpoints WHERE log = ?1")
            .bind(log)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| backend("reading checkpoint", e))
    }

    async fn swap_checkpoint(
        &self,
        log: &str,
        old: Option<&[u8]>,
        new: &[u8],
    ) -> Result<(), StoreError> {
        // Each branch is one autocommit statement, so the compare and the swap are atomic;
        // zero rows affected means the current value was not `old`.
        let done = match old {
            None => {
                sqlx::query(
                    "INSERT INTO checkpoints (log, checkpoint) VALUES (?1, ?2) \
                     ON CONFLICT (log) DO NOTHING",
                )
                .bind(log)
                .bind(new)
                .execute(&self.pool)
                .await
            }
            Some(old) => {
                sqlx::query(
                    "UPDATE checkpoints SET checkpoint = ?3 WHERE log = ?1 AND checkpoint = ?2",
                )
                .bind(log)
                .bind(old)
                .bind(new)
                .execute(&self.pool)
                .await
            }
        }
        .map_err(|e| backend("swapping checkpoint", e))?;
        match done.rows_affected() {
            1 => Ok(()),
            0 => Err(StoreError::Conflict {
                log: log.to_owned(),
            }),
            n => Err(StoreError::Backend(format!(
                "sqlite: swap touched {n} rows, not 1"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn durability_pragmas_are_set_on_every_connection() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path().join("urne.db"))
            .await
            .expect("open");
        // Hold several connections at once so that more than the first one is checked.
        let mut held = Vec::new();
        for _ in 0..POOL_CONNECTIONS_MAX {
            let mut conn = store.pool.acquire().await.expect("acquire");
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(&mut *conn)
                .await
                .expect("q");
            let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(&mut *conn)
                .await
                .expect("q");
            let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
                .fetch_one(&mut *conn)
                .await
                .expect("q");
            assert_eq!((mode.as_str(), sync, busy), ("wal", 2, 5000));
            held.push(conn);
        }
    }
}
