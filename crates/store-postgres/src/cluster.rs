//! Several `urne serve` processes on one database: who sequences a log, and how the others
//! hear about new checkpoints.
//!
//! - [`LeaderLock`]: a session-level advisory lock on a connection of its own. Whoever holds
//!   it sequences; if its process dies or its connection drops, PostgreSQL releases the lock
//!   and another process's [`LeaderLock::try_acquire`] succeeds.
//! - [`PgStore::notify`] / [`PgStore::listen`]: `NOTIFY`/`LISTEN` on a channel named after
//!   the schema and the log, so that followers learn of a new checkpoint within milliseconds.
//!   Notifications are hints only: a follower re-reads the store on every one, after every
//!   reconnect (when some may have been missed) and on a timer.
//! - [`PgStore::set_leader_url`] / [`PgStore::leader_url`]: where the leader takes releases,
//!   so that the others can redirect publishers to it.
//!
//! Locks and channels are per database, not per schema, so both are named by a 64-bit hash
//! of `current_schema()` and the log's name: two logs (or two test schemas) never share one.

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgListener};

use urne_store::StoreError;

use crate::{PgStore, backend};

/// The SQL expression for the 64-bit key of the log named by `$1` in the current schema.
const LOCK_KEY_SQL: &str = "hashtextextended(coalesce(current_schema(), '') || '/' || $1, 0)";

/// A session-level advisory lock, held on its own connection for as long as the process
/// leads. Dropping it closes the connection, which releases the lock.
#[derive(Debug)]
pub struct LeaderLock {
    options: PgConnectOptions,
    name: String,
    conn: Option<PgConnection>,
}

impl LeaderLock {
    /// The lock for the log `name` on `store`'s database. Connects lazily.
    pub fn new(store: &PgStore, name: &str) -> LeaderLock {
        LeaderLock {
            options: store.options.clone(),
            name: name.to_owned(),
            conn: None,
        }
    }

    /// Takes the lock if nobody holds it. `Ok(true)`: this session holds it now (taking a
    /// lock the session already holds is also `true`). An error drops the connection, and with
    /// it any lock it held.
    pub async fn try_acquire(&mut self) -> Result<bool, StoreError> {
        let conn = match &mut self.conn {
            Some(conn) => conn,
            None => self.conn.insert(
                PgConnection::connect_with(&self.options)
                    .await
                    .map_err(|e| backend("connecting for the leader lock", e))?,
            ),
        };
        let got =
            sqlx::query_scalar::<_, bool>(&format!("SELECT pg_try_advisory_lock({LOCK_KEY_SQL})"))
                .bind(&self.name)
                .fetch_one(conn)
                .await;
        match got {
            Ok(got) => Ok(got),
            Err(e) => {
                self.conn = None;
                Err(backend("taking the leader lock", e))
            }
        }
    }

    /// Checks, on the lock's own connection, that this session (and so the lock) is alive. An
    /// error means another process may be sequencing already: stop.
    pub async fn check(&mut self) -> Result<(), StoreError> {
        let Some(conn) = &mut self.conn else {
            return Err(StoreError::Backend("the leader lock is not held".into()));
        };
        // A session lock is released only by its session ending (we never unlock), so the
        // session being alive is the lock being held.
        let alive = sqlx::query_scalar::<_, i32>("SELECT 1")
            .fetch_one(&mut *conn)
            .await;
        match alive {
            Ok(_) => Ok(()),
            Err(e) => {
                self.conn = None;
                Err(backend("checking the leader lock", e))
            }
        }
    }

    /// Lets go of the lock (closes its connection).
    pub async fn release(mut self) {
        if let Some(mut conn) = self.conn.take() {
            // Unlock before closing: a closed session's locks are freed only when its server
            // process exits, after `close` returns, so another process could still find the
            // lock held. Every lock this session took is released at once.
            let _ = sqlx::query("SELECT pg_advisory_unlock_all()")
                .execute(&mut conn)
                .await;
            let _ = conn.close().await;
        }
    }
}

impl PgStore {
    /// The `LISTEN`/`NOTIFY` channel of the log `name` in this store's schema.
    pub async fn channel(&self, name: &str) -> Result<String, StoreError> {
        sqlx::query_scalar::<_, String>(&format!("SELECT 'urne_' || to_hex({LOCK_KEY_SQL})"))
            .bind(name)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| backend("naming the notification channel", e))
    }

    /// Sends `payload` to every process listening on `channel` (delivered at commit; this is
    /// one autocommit statement).
    pub async fn notify(&self, channel: &str, payload: &str) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(channel)
            .bind(payload)
            .execute(&self.pool)
            .await
            .map_err(|e| backend("sending a notification", e))?;
        Ok(())
    }

    /// A listener on `channel`.
    pub async fn listen(&self, channel: &str) -> Result<Listener, StoreError> {
        let mut listener = PgListener::connect_with(&self.pool)
            .await
            .map_err(|e| backend("connecting a listener", e))?;
        listener
            .listen(channel)
            .await
            .map_err(|e| backend("LISTEN", e))?;
        Ok(Listener(listener))
    }

    /// Records that the leader of log `name` takes releases at `url`.
    pub async fn set_leader_url(&self, name: &str, url: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO leaders (name, url) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET url = EXCLUDED.url, since = now()",
        )
        .bind(name)
        .bind(url)
        .execute(&self.pool)
        .await
        .map_err(|e| backend("recording the leader", e))?;
        Ok(())
    }

    /// Where the last leader of log `name` said it takes releases, if any did.
    pub async fn leader_url(&self, name: &str) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar::<_, String>("SELECT url FROM leaders WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| backend("reading the leader", e))
    }
}

/// Notifications on one channel ([`PgStore::listen`]).
#[derive(Debug)]
pub struct Listener(PgListener);

impl Listener {
    /// The next notification's payload. `Ok(None)`: the connection was lost and has been
    /// re-established, so notifications may have been missed (re-read the store).
    pub async fn recv(&mut self) -> Result<Option<String>, StoreError> {
        self.0
            .try_recv()
            .await
            .map(|n| n.map(|n| n.payload().to_owned()))
            .map_err(|e| backend("receiving a notification", e))
    }
}
