//! The roll on SQLite: its own file (`roll.sqlite` in the data directory), opened through
//! `urne_store_sqlite::open_durable_pool` (WAL, `synchronous=FULL`), so an acknowledged change
//! survives a crash. Writers take `BEGIN IMMEDIATE`, so one writer at a time and no lock
//! upgrades that could deadlock.

use std::path::Path;

use async_trait::async_trait;
use sqlx::sqlite::{Sqlite, SqlitePool, SqliteRow};
use sqlx::{QueryBuilder, Row, Transaction};
use urne_roll::Tip;

use crate::{
    AccessRow, EventRow, PendingRow, RollBackend, RollStoreError, RollTx, StaffRow, VoterRow, arr,
    role_from_name,
};

/// The migrations in order: a roll at schema version N has run the first N.
const MIGRATIONS: [&str; 2] = [
    include_str!("../migrations-sqlite/0001_roll.sql"),
    include_str!("../migrations-sqlite/0002_sealed.sql"),
];
/// The schema version this code writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;
/// Whether the roll holds any voter or event (a bulk load is for an empty one).
const EMPTY_ROLL_USED: &str =
    "SELECT EXISTS (SELECT 1 FROM roll_voters) OR EXISTS (SELECT 1 FROM roll_events)";
/// Bound parameters per statement (SQLite's default limit is 32766).
const PARAMS_PER_STATEMENT_MAX: usize = 30_000;

/// The roll in one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteRoll {
    pool: SqlitePool,
}

impl SqliteRoll {
    /// Opens (creating if missing) the roll database at `path` and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<SqliteRoll, RollStoreError> {
        Self::open_pool(urne_store_sqlite::open_durable_pool(path).await?).await
    }

    /// [`SqliteRoll::open`] with one connection, for a process that only loads records: a
    /// load into an empty roll may then leave WAL mode for its transaction
    /// ([`RollBackend::bulk_journal`]).
    pub async fn open_for_load(path: &Path) -> Result<SqliteRoll, RollStoreError> {
        Self::open_pool(urne_store_sqlite::open_durable_pool_sized(path, 1).await?).await
    }

    async fn open_pool(pool: SqlitePool) -> Result<SqliteRoll, RollStoreError> {
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("CREATE TABLE IF NOT EXISTS roll_schema (version INTEGER NOT NULL)")
            .execute(&mut *tx)
            .await?;
        let v: Option<i64> = sqlx::query_scalar("SELECT max(version) FROM roll_schema")
            .fetch_one(&mut *tx)
            .await?;
        let ran = crate::migrations_done(v, SCHEMA_VERSION)?;
        for sql in &MIGRATIONS[ran..] {
            sqlx::raw_sql(sql).execute(&mut *tx).await?;
        }
        if ran < MIGRATIONS.len() {
            sqlx::query("DELETE FROM roll_schema")
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO roll_schema (version) VALUES (?)")
                .bind(SCHEMA_VERSION)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(SqliteRoll { pool })
    }

    /// Flushes the WAL into the main file (for backups and the raw-file test).
    pub async fn checkpoint(&self) -> Result<(), RollStoreError> {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The file's journal mode (`wal`, or `delete` during a bulk load).
    pub async fn journal_mode(&self) -> Result<String, RollStoreError> {
        Ok(sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

struct SqliteTx {
    tx: Transaction<'static, Sqlite>,
}

fn voter_row(r: &SqliteRow) -> Result<VoterRow, RollStoreError> {
    let opt8 = |c: &str| -> Result<Option<[u8; 8]>, RollStoreError> {
        let v: Option<Vec<u8>> = r.try_get(c)?;
        v.map(|v| arr(&v, c)).transpose()
    };
    let voter_id: String = r.try_get("voter_id")?;
    let sealed: Option<Vec<u8>> = r.try_get("sealed")?;
    let Some(sealed) = sealed else {
        return Err(RollStoreError::Corrupt(format!(
            "voter {voter_id} has no sealed record"
        )));
    };
    Ok(VoterRow {
        voter_id,
        sealed,
        commitment: arr(&r.try_get::<Vec<u8>, _>("commitment")?, "commitment")?,
        ix_registered: arr(&r.try_get::<Vec<u8>, _>("ix_registered")?, "ix_registered")?,
        ix_dl: opt8("ix_dl")?,
        ix_ssn4_dob: opt8("ix_ssn4_dob")?,
        status: r.try_get("status")?,
        precinct: r.try_get("precinct")?,
        voter_len: r.try_get("voter_len")?,
        voter_head: arr(&r.try_get::<Vec<u8>, _>("voter_head")?, "voter_head")?,
    })
}

fn event_row(r: &SqliteRow) -> Result<EventRow, RollStoreError> {
    Ok(EventRow {
        seq: r.try_get("seq")?,
        voter_id: r.try_get("voter_id")?,
        at: r.try_get("at")?,
        reason: r.try_get("reason")?,
        encoded: r.try_get("encoded")?,
        hash: arr(&r.try_get::<Vec<u8>, _>("hash")?, "event hash")?,
    })
}

fn staff_row(r: &SqliteRow) -> Result<StaffRow, RollStoreError> {
    Ok(StaffRow {
        id: r.try_get("id")?,
        role: role_from_name(&r.try_get::<String, _>("role")?)?,
        password_phc: r.try_get("password_phc")?,
        disabled: r.try_get("disabled")?,
    })
}

/// A voter's columns, from `VOTERS_JOINED` (a missing sealed record reads as NULL: corrupt).
const VOTER_COLUMNS: &str = "v.voter_id, s.sealed, v.commitment, v.ix_registered, v.ix_dl, \
                             v.ix_ssn4_dob, v.status, v.precinct, v.voter_len, v.voter_head";
/// Each voter row with its sealed record.
const VOTERS_JOINED: &str = "roll_voters v LEFT JOIN roll_sealed s ON s.voter_id = v.voter_id";
/// The columns of `roll_voters` an insert writes (the sealed record goes to `roll_sealed`).
const VOTER_INSERT_COLUMNS: &str = "voter_id, commitment, ix_registered, ix_dl, ix_ssn4_dob, \
                                    status, precinct, voter_len, voter_head";

fn tip(row: Option<(i64, Vec<u8>)>, what: &str) -> Result<Tip, RollStoreError> {
    match row {
        None => Ok(Tip::default()),
        Some((seq, hash)) => Ok(Tip {
            len: u64::try_from(seq + 1).map_err(|_| RollStoreError::Corrupt(what.into()))?,
            head: arr(&hash, what)?,
        }),
    }
}

#[async_trait]
impl RollTx for SqliteTx {
    async fn meta(&mut self) -> Result<Option<(String, Vec<u8>)>, RollStoreError> {
        Ok(
            sqlx::query_as("SELECT roll_id, wrapped_key FROM roll_meta WHERE singleton = 1")
                .fetch_optional(&mut *self.tx)
                .await?,
        )
    }
    async fn put_meta(&mut self, roll_id: &str, wrapped: &[u8]) -> Result<(), RollStoreError> {
        sqlx::query("INSERT INTO roll_meta (singleton, roll_id, wrapped_key) VALUES (1, ?, ?)")
            .bind(roll_id)
            .bind(wrapped)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
    async fn event_tip(&mut self) -> Result<Tip, RollStoreError> {
        let row = sqlx::query_as("SELECT seq, hash FROM roll_events ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *self.tx)
            .await?;
        tip(row, "event tip")
    }
    async fn access_tip(&mut self) -> Result<Tip, RollStoreError> {
        let row = sqlx::query_as("SELECT seq, hash FROM roll_access ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *self.tx)
            .await?;
        tip(row, "access tip")
    }
    async fn last_times(&mut self) -> Result<(i64, i64), RollStoreError> {
        let e: Option<i64> = sqlx::query_scalar("SELECT max(at) FROM roll_events")
            .fetch_one(&mut *self.tx)
            .await?;
        let a: Option<i64> =
            sqlx::query_scalar("SELECT at FROM roll_access ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&mut *self.tx)
                .await?;
        Ok((e.unwrap_or(0), a.unwrap_or(0)))
    }
    async fn voter(&mut self, voter_id: &str) -> Result<Option<VoterRow>, RollStoreError> {
        let q = format!("SELECT {VOTER_COLUMNS} FROM {VOTERS_JOINED} WHERE v.voter_id = ?");
        let row = sqlx::query(&q)
            .bind(voter_id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(voter_row).transpose()
    }
    async fn existing(&mut self, ids: &[String]) -> Result<Vec<String>, RollStoreError> {
        let mut out = Vec::new();
        for chunk in ids.chunks(PARAMS_PER_STATEMENT_MAX) {
            let mut q =
                QueryBuilder::<Sqlite>::new("SELECT voter_id FROM roll_voters WHERE voter_id IN (");
            let mut sep = q.separated(", ");
            for id in chunk {
                sep.push_bind(id);
            }
            q.push(")");
            let found: Vec<String> = q.build_query_scalar().fetch_all(&mut *self.tx).await?;
            out.extend(found);
        }
        Ok(out)
    }
    async fn begin_bulk_load(&mut self) -> Result<bool, RollStoreError> {
        // This connection keeps the larger cache; imports run in a short-lived CLI process.
        sqlx::query(&format!(
            "PRAGMA cache_size = -{}",
            crate::limits::IMPORT_SQLITE_CACHE_KIB
        ))
        .execute(&mut *self.tx)
        .await?;
        let used: bool = sqlx::query_scalar(EMPTY_ROLL_USED)
            .fetch_one(&mut *self.tx)
            .await?;
        if used {
            return Ok(false);
        }
        for (name, _) in crate::SECONDARY_INDEXES {
            sqlx::query(&format!("DROP INDEX {name}"))
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(true)
    }
    async fn end_bulk_load(&mut self) -> Result<(), RollStoreError> {
        // Each CREATE INDEX scans the table and sorts its keys: let the sorter use the cores
        // the sealing threads no longer need.
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(crate::limits::IMPORT_SQLITE_SORT_THREADS_MAX);
        sqlx::query(&format!("PRAGMA threads = {threads}"))
            .execute(&mut *self.tx)
            .await?;
        for (_, create) in crate::SECONDARY_INDEXES {
            sqlx::query(create).execute(&mut *self.tx).await?;
        }
        Ok(())
    }
    async fn insert_voters(&mut self, rows: &[VoterRow]) -> Result<(), RollStoreError> {
        for chunk in rows.chunks(PARAMS_PER_STATEMENT_MAX / 9) {
            let mut q = QueryBuilder::<Sqlite>::new(format!(
                "INSERT INTO roll_voters ({VOTER_INSERT_COLUMNS}) "
            ));
            q.push_values(chunk, |mut b, r| {
                b.push_bind(&r.voter_id)
                    .push_bind(r.commitment.as_slice())
                    .push_bind(r.ix_registered.as_slice())
                    .push_bind(r.ix_dl.map(|x| x.to_vec()))
                    .push_bind(r.ix_ssn4_dob.map(|x| x.to_vec()))
                    .push_bind(r.status)
                    .push_bind(&r.precinct)
                    .push_bind(r.voter_len)
                    .push_bind(r.voter_head.as_slice());
            });
            q.build().execute(&mut *self.tx).await?;
        }
        for chunk in rows.chunks(PARAMS_PER_STATEMENT_MAX / 2) {
            let mut q = QueryBuilder::<Sqlite>::new("INSERT INTO roll_sealed (voter_id, sealed) ");
            q.push_values(chunk, |mut b, r| {
                b.push_bind(&r.voter_id).push_bind(&r.sealed);
            });
            q.build().execute(&mut *self.tx).await?;
        }
        Ok(())
    }
    async fn update_voter(&mut self, r: &VoterRow) -> Result<(), RollStoreError> {
        let done = sqlx::query(
            "UPDATE roll_voters SET commitment = ?, ix_registered = ?, ix_dl = ?, \
             ix_ssn4_dob = ?, status = ?, precinct = ?, voter_len = ?, voter_head = ? \
             WHERE voter_id = ?",
        )
        .bind(r.commitment.as_slice())
        .bind(r.ix_registered.as_slice())
        .bind(r.ix_dl.map(|x| x.to_vec()))
        .bind(r.ix_ssn4_dob.map(|x| x.to_vec()))
        .bind(r.status)
        .bind(&r.precinct)
        .bind(r.voter_len)
        .bind(r.voter_head.as_slice())
        .bind(&r.voter_id)
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(RollStoreError::NotFound("voter".into()));
        }
        let sealed = sqlx::query("UPDATE roll_sealed SET sealed = ? WHERE voter_id = ?")
            .bind(&r.sealed)
            .bind(&r.voter_id)
            .execute(&mut *self.tx)
            .await?;
        if sealed.rows_affected() != 1 {
            return Err(RollStoreError::Corrupt(format!(
                "voter {} has no sealed record",
                r.voter_id
            )));
        }
        Ok(())
    }
    async fn insert_events(&mut self, rows: &[EventRow]) -> Result<(), RollStoreError> {
        for chunk in rows.chunks(PARAMS_PER_STATEMENT_MAX / 6) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO roll_events (seq, voter_id, at, reason, encoded, hash) ",
            );
            q.push_values(chunk, |mut b, r| {
                b.push_bind(r.seq)
                    .push_bind(&r.voter_id)
                    .push_bind(r.at)
                    .push_bind(r.reason)
                    .push_bind(&r.encoded)
                    .push_bind(r.hash.as_slice());
            });
            q.build().execute(&mut *self.tx).await?;
        }
        Ok(())
    }
    async fn insert_access(&mut self, r: &AccessRow) -> Result<(), RollStoreError> {
        sqlx::query(
            "INSERT INTO roll_access (seq, at, actor, purpose, encoded, hash) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(r.seq)
        .bind(r.at)
        .bind(&r.actor)
        .bind(&r.purpose)
        .bind(&r.encoded)
        .bind(r.hash.as_slice())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
    async fn staff(&mut self, id: &str) -> Result<Option<StaffRow>, RollStoreError> {
        let row =
            sqlx::query("SELECT id, role, password_phc, disabled FROM roll_staff WHERE id = ?")
                .bind(id)
                .fetch_optional(&mut *self.tx)
                .await?;
        row.as_ref().map(staff_row).transpose()
    }
    async fn staff_count(&mut self) -> Result<i64, RollStoreError> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM roll_staff")
            .fetch_one(&mut *self.tx)
            .await?)
    }
    async fn insert_staff(&mut self, r: &StaffRow, at: i64) -> Result<(), RollStoreError> {
        sqlx::query(
            "INSERT INTO roll_staff (id, role, password_phc, disabled, created_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&r.id)
        .bind(r.role.name())
        .bind(&r.password_phc)
        .bind(r.disabled)
        .bind(at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
    async fn set_staff_disabled(&mut self, id: &str, disabled: bool) -> Result<(), RollStoreError> {
        sqlx::query("UPDATE roll_staff SET disabled = ? WHERE id = ?")
            .bind(disabled)
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
    async fn insert_token(
        &mut self,
        hash: &[u8; 32],
        staff_id: &str,
        at: i64,
    ) -> Result<(), RollStoreError> {
        sqlx::query("INSERT INTO roll_tokens (hash, staff_id, created_at) VALUES (?, ?, ?)")
            .bind(hash.as_slice())
            .bind(staff_id)
            .bind(at)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
    async fn insert_pending(&mut self, r: &PendingRow) -> Result<i64, RollStoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO roll_pending (requester, created_at, records, body, state) \
             VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&r.requester)
        .bind(r.created_at)
        .bind(r.records)
        .bind(&r.body)
        .bind(&r.state)
        .fetch_one(&mut *self.tx)
        .await?)
    }
    async fn pending(&mut self, id: i64) -> Result<Option<PendingRow>, RollStoreError> {
        let row: Option<(i64, String, i64, i64, Vec<u8>, String)> = sqlx::query_as(
            "SELECT id, requester, created_at, records, body, state FROM roll_pending WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&mut *self.tx)
        .await?;
        Ok(row.map(
            |(id, requester, created_at, records, body, state)| PendingRow {
                id,
                requester,
                created_at,
                records,
                body,
                state,
            },
        ))
    }
    async fn decide_pending(
        &mut self,
        id: i64,
        state: &str,
        by: &str,
        at: i64,
    ) -> Result<(), RollStoreError> {
        sqlx::query(
            "UPDATE roll_pending SET state = ?, decided_by = ?, decided_at = ? \
             WHERE id = ? AND state = 'pending'",
        )
        .bind(state)
        .bind(by)
        .bind(at)
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
    async fn put_config(&mut self, key: &str, value: &str) -> Result<(), RollStoreError> {
        sqlx::query(
            "INSERT INTO roll_config (key, value) VALUES (?, ?) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
    async fn replace_places(&mut self, rows: &[(String, String)]) -> Result<(), RollStoreError> {
        sqlx::query("DELETE FROM roll_places")
            .execute(&mut *self.tx)
            .await?;
        for chunk in rows.chunks(PARAMS_PER_STATEMENT_MAX / 2) {
            let mut q = QueryBuilder::<Sqlite>::new("INSERT INTO roll_places (precinct, place) ");
            q.push_values(chunk, |mut b, (p, place)| {
                b.push_bind(p).push_bind(place);
            });
            q.build().execute(&mut *self.tx).await?;
        }
        Ok(())
    }
    async fn commit(self: Box<Self>) -> Result<(), RollStoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl RollBackend for SqliteRoll {
    async fn begin(&self) -> Result<Box<dyn RollTx>, RollStoreError> {
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok(Box::new(SqliteTx { tx }))
    }
    async fn candidates(
        &self,
        ix: &[u8; 8],
        limit: i64,
    ) -> Result<Vec<(Vec<u8>, Option<String>)>, RollStoreError> {
        Ok(sqlx::query_as(
            "SELECT s.sealed, p.place FROM roll_voters v \
                 JOIN roll_sealed s ON s.voter_id = v.voter_id \
                 LEFT JOIN roll_places p ON p.precinct = v.precinct \
                 WHERE v.ix_registered = ? LIMIT ?",
        )
        .bind(ix.as_slice())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }
    async fn token_staff(&self, hash: &[u8; 32]) -> Result<Option<StaffRow>, RollStoreError> {
        let row = sqlx::query(
            "SELECT s.id, s.role, s.password_phc, s.disabled FROM roll_tokens t \
             JOIN roll_staff s ON s.id = t.staff_id WHERE t.hash = ?",
        )
        .bind(hash.as_slice())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(staff_row).transpose()
    }
    async fn config(&self, key: &str) -> Result<Option<String>, RollStoreError> {
        Ok(
            sqlx::query_scalar("SELECT value FROM roll_config WHERE key = ?")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }
    async fn events_after(&self, after: i64, limit: i64) -> Result<Vec<EventRow>, RollStoreError> {
        let rows = sqlx::query(
            "SELECT seq, voter_id, at, reason, encoded, hash FROM roll_events \
             WHERE seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event_row).collect()
    }
    async fn events_by_voter_after(
        &self,
        after: (&str, i64),
        limit: i64,
    ) -> Result<Vec<EventRow>, RollStoreError> {
        let rows = sqlx::query(
            "SELECT seq, voter_id, at, reason, encoded, hash FROM roll_events \
             WHERE (voter_id, seq) > (?, ?) ORDER BY voter_id, seq LIMIT ?",
        )
        .bind(after.0)
        .bind(after.1)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event_row).collect()
    }
    async fn access_after(&self, after: i64, limit: i64) -> Result<Vec<AccessRow>, RollStoreError> {
        let rows: Vec<(i64, i64, String, String, Vec<u8>, Vec<u8>)> = sqlx::query_as(
            "SELECT seq, at, actor, purpose, encoded, hash FROM roll_access \
             WHERE seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(seq, at, actor, purpose, encoded, hash)| {
                Ok(AccessRow {
                    seq,
                    at,
                    actor,
                    purpose,
                    encoded,
                    hash: arr(&hash, "access hash")?,
                })
            })
            .collect()
    }
    async fn voters_after(&self, after: &str, limit: i64) -> Result<Vec<VoterRow>, RollStoreError> {
        let q = format!(
            "SELECT {VOTER_COLUMNS} FROM {VOTERS_JOINED} WHERE v.voter_id > ? \
             ORDER BY v.voter_id LIMIT ?"
        );
        let rows = sqlx::query(&q)
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(voter_row).collect()
    }
    async fn commitments_after(
        &self,
        after: &[u8; 32],
        limit: i64,
    ) -> Result<Vec<[u8; 32]>, RollStoreError> {
        let rows: Vec<Vec<u8>> = sqlx::query_scalar(
            "SELECT commitment FROM roll_voters WHERE commitment > ? ORDER BY commitment LIMIT ?",
        )
        .bind(after.as_slice())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|c| arr(c, "commitment")).collect()
    }
    async fn reason_counts(&self, start: i64, end: i64) -> Result<Vec<(i32, i64)>, RollStoreError> {
        Ok(sqlx::query_as(
            "SELECT reason, count(*) FROM roll_events WHERE at >= ? AND at < ? \
             GROUP BY reason ORDER BY reason",
        )
        .bind(start)
        .bind(end)
        .fetch_all(&self.pool)
        .await?)
    }
    async fn voter_count(&self) -> Result<i64, RollStoreError> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM roll_voters")
            .fetch_one(&self.pool)
            .await?)
    }
    async fn bulk_journal(&self, bulk: bool) -> Result<bool, RollStoreError> {
        if !bulk {
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode = WAL")
                .fetch_one(&self.pool)
                .await?;
            return Ok(mode.eq_ignore_ascii_case("wal"));
        }
        if self.pool.options().get_max_connections() != 1 {
            return Ok(false);
        }
        let mut c = self.pool.acquire().await?;
        let used: bool = sqlx::query_scalar(EMPTY_ROLL_USED)
            .fetch_one(&mut *c)
            .await?;
        if used {
            return Ok(false);
        }
        // Another process on the file: give up at once rather than wait for it.
        sqlx::query("PRAGMA busy_timeout = 0")
            .execute(&mut *c)
            .await?;
        let mode = sqlx::query_scalar::<_, String>("PRAGMA journal_mode = DELETE")
            .fetch_one(&mut *c)
            .await;
        sqlx::query(&format!(
            "PRAGMA busy_timeout = {}",
            urne_store_sqlite::BUSY_TIMEOUT.as_millis()
        ))
        .execute(&mut *c)
        .await?;
        match mode {
            Ok(m) => Ok(m.eq_ignore_ascii_case("delete")),
            Err(sqlx::Error::Database(e))
                if matches!(e.code().as_deref(), Some("5" | "6" | "517")) =>
            {
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }
}
