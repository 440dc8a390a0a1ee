//! Throwaway schemas for tests against a real server (see
//! [`urne_store::testsuite::postgres_url_or_skip`]). Each test gets a fresh, uniquely named
//! schema, so tests run in parallel and leave nothing behind.

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use urne_store::StoreError;

use crate::{PgStore, backend, describe};

/// PostgreSQL's identifier limit (NAMEDATALEN - 1), in bytes.
const IDENTIFIER_BYTES_MAX: usize = 63;

static SCHEMA_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A schema created for one test; drop it with [`TestSchema::drop_schema`].
#[derive(Debug)]
pub struct TestSchema {
    name: String,
    options: PgConnectOptions,
    admin: PgConnection,
}

impl TestSchema {
    /// Connects to `url` and creates a schema named after `test_name`, the process and a
    /// counter. Fails with a message naming the server (not the password) if unreachable.
    pub async fn create(url: &str, test_name: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Backend(format!("invalid PostgreSQL URL: {e}")))?;
        let target = describe(&options);
        let mut admin = PgConnection::connect_with(&options)
            .await
            .map_err(|e| backend(&format!("cannot connect to {target}"), e))?;
        let name = schema_name(test_name);
        // Identifiers cannot be bound as parameters; `name` is ours, `[a-z0-9_]` only.
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        );
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(&mut admin)
            .await
            .map_err(|e| backend(&format!("creating schema {name} on {target}"), e))?;
        let options = options.options([("search_path", name.as_str())]);
        Ok(TestSchema {
            name,
            options,
            admin,
        })
    }

    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Connection options whose `search_path` is this schema.
    pub fn connect_options(&self) -> PgConnectOptions {
        self.options.clone()
    }

    /// A [`PgStore`] whose tables live in this schema.
    pub async fn store(&self) -> Result<PgStore, StoreError> {
        PgStore::connect_with(self.connect_options()).await
    }

    /// Drops the schema and everything in it.
    pub async fn drop_schema(mut self) -> Result<(), StoreError> {
        sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.name))
            .execute(&mut self.admin)
            .await
            .map_err(|e| backend(&format!("dropping schema {}", self.name), e))?;
        self.admin.close().await.map_err(|e| backend("closing", e))
    }
}

/// The environment variable that overrides the `urne_t_` prefix of test schemas (lowercase
/// letters, digits and `_` only, not starting with PostgreSQL's reserved `pg_`; anything else
/// is ignored), so that several people sharing a
/// database can tell their schemas apart.
pub const SCHEMA_PREFIX_ENV: &str = "URNE_TEST_SCHEMA_PREFIX";

fn schema_prefix() -> String {
    std::env::var(SCHEMA_PREFIX_ENV)
        .ok()
        .filter(|p| {
            !p.is_empty()
                && p.len() <= 16
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                && p.as_bytes()[0].is_ascii_lowercase()
                // PostgreSQL reserves `pg_` schema names for itself.
                && !p.starts_with("pg_")
        })
        .unwrap_or_else(|| "urne_t_".to_owned())
}

/// A fresh schema name for `test_name` (the prefix, the test's name, the process id, a clock
/// reading and a counter), `[a-z0-9_]` only and within PostgreSQL's identifier limit.
pub fn schema_name(test_name: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let n = SCHEMA_COUNTER.fetch_add(1, Ordering::Relaxed);
    let suffix = format!("_{}_{nanos}_{n}", std::process::id());
    let prefix = schema_prefix();
    let room = IDENTIFIER_BYTES_MAX - prefix.len() - suffix.len();
    let slug: String = test_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(room)
        .collect();
    format!("{prefix}{slug}{suffix}")
}
