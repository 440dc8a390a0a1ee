//! urne's [`Store`] on PostgreSQL, for state-scale deployments where several `urne serve`
//! processes share one database.
//!
//! Crash safety: every connection runs with `synchronous_commit=on` whatever the server or
//! role default, so when [`Store::swap_checkpoint`] returns `Ok` the commit is flushed to the
//! server's WAL (and to synchronous standbys, if the server has any) and survives a crash of
//! the database host (given `fsync=on` on the server, the default). A swap that returned an
//! error may or may not have committed: callers recover by reading [`Store::checkpoint`].
//!
//! Trust: the checkpoint row is trusted state. Whoever can write the table (a DBA, the host)
//! can roll the log back to an older checkpoint; the sequencer would then sign a fork, which
//! witnesses refuse to cosign.
//!
//! Secrets: error messages name the user, host, port and database, never the password or
//! the URL.
#![forbid(unsafe_code)]

mod blobs;
pub mod cluster;
pub mod testing;

pub use blobs::PgBlobs;
pub use cluster::{LeaderLock, Listener};

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Connection;
pub use sqlx::postgres::PgConnectOptions;
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions};
use urne_store::{Store, StoreError};

/// Connections in each process's pool. Several processes share the server's
/// `max_connections` (100 by default), and the store's statements are short.
pub const POOL_CONNECTIONS_MAX: u32 = 8;

/// How long a call waits for a pooled connection (including connecting) before failing.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A [`Store`] in a PostgreSQL database (the tables live in the connection's `search_path`).
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// For the connections that live outside the pool (the leader lock).
    options: PgConnectOptions,
}

impl PgStore {
    /// Connects to `url` (`postgres://user[:password]@host[:port]/database[?...]`) and applies
    /// the embedded migrations. Fails if the server is unreachable.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        // The parse error says what is wrong without echoing the URL (it may hold a password).
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Backend(format!("invalid PostgreSQL URL: {e}")))?;
        Self::connect_with(options).await
    }

    /// Like [`connect`](Self::connect), from parsed options (for example with a
    /// `search_path` option to keep urne's tables in their own schema).
    pub async fn connect_with(options: PgConnectOptions) -> Result<Self, StoreError> {
        let target = describe(&options);
        // Durability must not depend on the server's or role's defaults.
        let options = options.options([("synchronous_commit", "on")]);
        // One direct connection first: a pool would retry until ACQUIRE_TIMEOUT and then
        // report only "pool timed out", hiding "connection refused" or a bad password.
        let mut conn = PgConnection::connect_with(&options)
            .await
            .map_err(|e| backend(&format!("cannot connect to {target}"), e))?;
        MIGRATOR
            .run(&mut conn)
            .await
            .map_err(|e| StoreError::Backend(format!("postgres: migrations on {target}: {e}")))?;
        // Best effort: the server cleans up a connection dropped without a goodbye.
        let _ = conn.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(POOL_CONNECTIONS_MAX)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(options.clone());
        Ok(PgStore { pool, options })
    }

    /// The [`PgBlobs`] in the same database and schema, sharing this store's pool.
    pub fn blobs(&self) -> PgBlobs {
        PgBlobs::new(self.pool.clone())
    }

    /// Closes every connection, waiting for calls in flight. Later calls fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// `user@host:port/database`, for error messages: everything but the password.
pub(crate) fn describe(options: &PgConnectOptions) -> String {
    format!(
        "{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("(default database)")
    )
}

pub(crate) fn backend(context: &str, e: sqlx::Error) -> StoreError {
    StoreError::Backend(format!("postgres: {context}: {e}"))
}

#[async_trait]
impl Store for PgStore {
    async fn checkpoint(&self, log: &str) -> Result<Option<Vec<u8>>, StoreError> {
        sqlx::query_scalar::<_, Vec<u8>>("SELECT checkpoint FROM checkpoints WHERE log = $1")
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
        // Each branch is one autocommit statement. Under READ COMMITTED a concurrent UPDATE
        // of the same row waits for the other to commit and then re-checks the WHERE clause
        // against the new row version, and a concurrent INSERT waits and then does nothing:
        // so exactly one of several swaps from the same `old` affects a row.
        let done = match old {
            None => {
                sqlx::query(
                    "INSERT INTO checkpoints (log, checkpoint) VALUES ($1, $2) \
                     ON CONFLICT (log) DO NOTHING",
                )
                .bind(log)
                .bind(new)
                .execute(&self.pool)
                .await
            }
            Some(old) => {
                sqlx::query(
                    "UPDATE checkpoints SET checkpoint = $3 WHERE log = $1 AND checkpoint = $2",
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
                "postgres: swap touched {n} rows, not 1"
            ))),
        }
    }
}
