//! [`PgBlobs`]: blobs as rows of one table, shared by every process on the database.

use async_trait::async_trait;
use sqlx::postgres::PgPool;
use urne_store::{BlobError, Blobs, validate_key, validate_prefix};

/// [`Blobs`] in the `blobs` table of a PostgreSQL database (the connection's `search_path`).
///
/// Crash safety: each `put` is one autocommit upsert on a connection with
/// `synchronous_commit=on`, so when it returns `Ok` the bytes are in the server's flushed WAL;
/// a concurrent `get` sees the old row or the new one (MVCC), never a mix.
///
/// Trust: as for [`urne_store::DirBlobs`]: whoever can write the table can change or remove
/// any blob; readers verify tiles and payloads by hash and signature, so this is availability.
///
/// Unlike a directory, `a` and `a/b` may both hold blobs.
#[derive(Debug, Clone)]
pub struct PgBlobs {
    pool: PgPool,
}

impl PgBlobs {
    pub(crate) fn new(pool: PgPool) -> PgBlobs {
        PgBlobs { pool }
    }
}

fn io(key: &str, context: &str, e: sqlx::Error) -> BlobError {
    BlobError::Io {
        key: key.to_owned(),
        source: std::io::Error::other(format!("postgres: {context}: {e}")),
    }
}

/// The exclusive upper bound of the keys starting with `prefix`: every key byte is below
/// `0x7f` (see [`validate_key`]), so `prefix` + DEL sorts after all of them.
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{7f}")
}

#[async_trait]
impl Blobs for PgBlobs {
    async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), BlobError> {
        validate_key(key)?;
        sqlx::query(
            "INSERT INTO blobs (key, bytes) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET bytes = EXCLUDED.bytes",
        )
        .bind(key)
        .bind(bytes)
        .execute(&self.pool)
        .await
        .map_err(|e| io(key, "writing blob", e))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BlobError> {
        validate_key(key)?;
        sqlx::query_scalar::<_, Vec<u8>>("SELECT bytes FROM blobs WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| io(key, "reading blob", e))
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        validate_key(key)?;
        sqlx::query("DELETE FROM blobs WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(|e| io(key, "deleting blob", e))?;
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, BlobError> {
        validate_prefix(prefix)?;
        sqlx::query_scalar::<_, String>(
            "SELECT key FROM blobs WHERE key >= $1 AND key < $2 ORDER BY key",
        )
        .bind(prefix)
        .bind(prefix_end(prefix))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| io(prefix, "listing blobs", e))
    }
}
