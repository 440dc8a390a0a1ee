//! The roll on PostgreSQL, in the connection's `search_path` schema. Writers lock
//! `roll_events` (`SHARE ROW EXCLUSIVE`, which conflicts with itself) at the start of each
//! transaction, so one writer at a time across all servers sharing the database; readers are
//! not blocked. Batches go in through binary `COPY … FROM STDIN` (64 rows or more) or as arrays
//! through `UNNEST`: values are never spliced into SQL text.

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow, Postgres};
use sqlx::{QueryBuilder, Row, Transaction};
use urne_roll::Tip;

use crate::{
    AccessRow, EventRow, PendingRow, RollBackend, RollStoreError, RollTx, StaffRow, VoterRow, arr,
    role_from_name,
};

/// The migrations in order: a roll at schema version N has run the first N.
const MIGRATIONS: [&str; 2] = [
    include_str!("../migrations-postgres/0001_roll.sql"),
    include_str!("../migrations-postgres/0002_sealed.sql"),
];
/// The schema version this code writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;
/// Bound parameters per statement (the protocol's limit is 65535).
const PARAMS_PER_STATEMENT_MAX: usize = 60_000;
/// Connections in the pool.
pub const POOL_CONNECTIONS_MAX: u32 = 16;
/// The statement every write transaction starts with.
const WRITER_LOCK: &str = "LOCK TABLE roll_events IN SHARE ROW EXCLUSIVE MODE";

/// The roll in a PostgreSQL schema.
#[derive(Debug, Clone)]
pub struct PgRoll {
    pool: PgPool,
}

impl PgRoll {
    /// Connects with `options` and brings the schema (in the `search_path`) up to date.
    pub async fn connect_with(options: PgConnectOptions) -> Result<PgRoll, RollStoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(POOL_CONNECTIONS_MAX)
            .connect_with(options)
            .await?;
        let mut tx = pool.begin().await?;
        sqlx::query("CREATE TABLE IF NOT EXISTS roll_schema (version BIGINT NOT NULL)")
            .execute(&mut *tx)
            .await?;
        sqlx::query("LOCK TABLE roll_schema IN EXCLUSIVE MODE")
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
            sqlx::query("INSERT INTO roll_schema (version) VALUES ($1)")
                .bind(SCHEMA_VERSION)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(PgRoll { pool })
    }

    /// Connects to a `postgres://` URL.
    pub async fn connect(url: &str) -> Result<PgRoll, RollStoreError> {
        let options: PgConnectOptions = url
            .parse()
            .map_err(|e| RollStoreError::Backend(format!("invalid PostgreSQL URL: {e}")))?;
        PgRoll::connect_with(options).await
    }

    /// The pool, for tests that read raw columns.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Rows from which an insert goes through binary `COPY` rather than `INSERT … UNNEST`.
const COPY_ROWS_MIN: usize = 64;

/// A `COPY … FROM STDIN (FORMAT binary)` payload: the signature, then per row a field count
/// and each field as a length (−1 for NULL) and its bytes in the column type's binary form
/// (text as UTF-8, `bytea` raw, integers big-endian), then the trailer.
struct CopyBinary {
    buf: Vec<u8>,
}

impl CopyBinary {
    fn new() -> Self {
        let mut buf = Vec::with_capacity(1 << 20);
        buf.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        buf.extend_from_slice(&0i32.to_be_bytes()); // flags
        buf.extend_from_slice(&0i32.to_be_bytes()); // header extension length
        CopyBinary { buf }
    }
    fn row(&mut self, fields: i16) {
        self.buf.extend_from_slice(&fields.to_be_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        // Field sizes are bounded far below 2 GiB (sealed records by SEALED_RECORD_BYTES_MAX).
        let len = i32::try_from(b.len()).unwrap_or(i32::MAX);
        self.buf.extend_from_slice(&len.to_be_bytes());
        self.buf.extend_from_slice(b);
    }
    fn text(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
    fn opt_bytes(&mut self, b: Option<&[u8]>) {
        match b {
            Some(b) => self.bytes(b),
            None => self.buf.extend_from_slice(&(-1i32).to_be_bytes()),
        }
    }
    async fn send(
        mut self,
        tx: &mut Transaction<'static, Postgres>,
        statement: &str,
    ) -> Result<(), RollStoreError> {
        self.buf.extend_from_slice(&(-1i16).to_be_bytes());
        let mut copy = tx.copy_in_raw(statement).await?;
        if let Err(e) = copy.send(self.buf).await {
            let _ = copy.abort("send failed").await;
            return Err(e.into());
        }
        copy.finish().await?;
        Ok(())
    }
}

struct PgTx {
    tx: Transaction<'static, Postgres>,
}

fn voter_row(r: &PgRow) -> Result<VoterRow, RollStoreError> {
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

fn event_row(r: &PgRow) -> Result<EventRow, RollStoreError> {
    Ok(EventRow {
        seq: r.try_get("seq")?,
        voter_id: r.try_get("voter_id")?,
        at: r.try_get("at")?,
        reason: r.try_get("reason")?,
        encoded: r.try_get("encoded")?,
        hash: arr(&r.try_get::<Vec<u8>, _>("hash")?, "event hash")?,
    })
}

fn staff_row(r: &PgRow) -> Result<StaffRow, RollStoreError> {
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
impl RollTx for PgTx {
    async fn meta(&mut self) -> Result<Option<(String, Vec<u8>)>, RollStoreError> {
        Ok(
            sqlx::query_as("SELECT roll_id, wrapped_key FROM roll_meta WHERE singleton = 1")
                .fetch_optional(&mut *self.tx)
                .await?,
        )
    }
    async fn put_meta(&mut self, roll_id: &str, wrapped: &[u8]) -> Result<(), RollStoreError> {
        sqlx::query("INSERT INTO roll_meta (singleton, roll_id, wrapped_key) VALUES (1, $1, $2)")
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
        let q = format!("SELECT {VOTER_COLUMNS} FROM {VOTERS_JOINED} WHERE v.voter_id = $1");
        let row = sqlx::query(&q)
            .bind(voter_id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(voter_row).transpose()
    }
    async fn existing(&mut self, ids: &[String]) -> Result<Vec<String>, RollStoreError> {
        Ok(
            sqlx::query_scalar("SELECT voter_id FROM roll_voters WHERE voter_id = ANY($1)")
                .bind(ids)
                .fetch_all(&mut *self.tx)
                .await?,
        )
    }

    async fn begin_bulk_load(&mut self) -> Result<bool, RollStoreError> {
        // Memory for the index builds at the end of the load (this transaction only).
        sqlx::query("SET LOCAL maintenance_work_mem = '256MB'")
            .execute(&mut *self.tx)
            .await?;
        let used: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM roll_voters) OR EXISTS (SELECT 1 FROM roll_events)",
        )
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
        for (_, create) in crate::SECONDARY_INDEXES {
            sqlx::query(create).execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    async fn insert_voters(&mut self, rows: &[VoterRow]) -> Result<(), RollStoreError> {
        if rows.len() >= COPY_ROWS_MIN {
            let mut b = CopyBinary::new();
            for r in rows {
                b.row(9);
                b.text(&r.voter_id);
                b.bytes(&r.commitment);
                b.bytes(&r.ix_registered);
                b.opt_bytes(r.ix_dl.as_ref().map(|x| x.as_slice()));
                b.opt_bytes(r.ix_ssn4_dob.as_ref().map(|x| x.as_slice()));
                b.bytes(&r.status.to_be_bytes());
                b.text(&r.precinct);
                b.bytes(&r.voter_len.to_be_bytes());
                b.bytes(&r.voter_head);
            }
            let q = format!("COPY roll_voters ({VOTER_INSERT_COLUMNS}) FROM STDIN (FORMAT binary)");
            b.send(&mut self.tx, &q).await?;
            let mut b = CopyBinary::new();
            for r in rows {
                b.row(2);
                b.text(&r.voter_id);
                b.bytes(&r.sealed);
            }
            return b
                .send(
                    &mut self.tx,
                    "COPY roll_sealed (voter_id, sealed) FROM STDIN (FORMAT binary)",
                )
                .await;
        }
        let col = |f: fn(&VoterRow) -> Vec<u8>| rows.iter().map(f).collect::<Vec<_>>();
        let opt = |f: fn(&VoterRow) -> Option<Vec<u8>>| rows.iter().map(f).collect::<Vec<_>>();
        sqlx::query(&format!(
            "INSERT INTO roll_voters ({VOTER_INSERT_COLUMNS}) SELECT * FROM UNNEST($1::text[], \
             $2::bytea[], $3::bytea[], $4::bytea[], $5::bytea[], $6::int2[], \
             $7::text[], $8::int8[], $9::bytea[])"
        ))
        .bind(rows.iter().map(|r| r.voter_id.as_str()).collect::<Vec<_>>())
        .bind(col(|r| r.commitment.to_vec()))
        .bind(col(|r| r.ix_registered.to_vec()))
        .bind(opt(|r| r.ix_dl.map(|x| x.to_vec())))
        .bind(opt(|r| r.ix_ssn4_dob.map(|x| x.to_vec())))
        .bind(rows.iter().map(|r| r.status).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.precinct.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.voter_len).collect::<Vec<_>>())
        .bind(col(|r| r.voter_head.to_vec()))
        .execute(&mut *self.tx)
        .await?;
        sqlx::query(
            "INSERT INTO roll_sealed (voter_id, sealed) SELECT * FROM UNNEST($1::text[], \
             $2::bytea[])",
        )
        .bind(rows.iter().map(|r| r.voter_id.as_str()).collect::<Vec<_>>())
        .bind(col(|r| r.sealed.clone()))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn update_voter(&mut self, r: &VoterRow) -> Result<(), RollStoreError> {
        let done = sqlx::query(
            "UPDATE roll_voters SET commitment = $1, ix_registered = $2, ix_dl = $3, \
             ix_ssn4_dob = $4, status = $5, precinct = $6, voter_len = $7, voter_head = $8 \
             WHERE voter_id = $9",
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
        let sealed = sqlx::query("UPDATE roll_sealed SET sealed = $1 WHERE voter_id = $2")
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
        if rows.len() >= COPY_ROWS_MIN {
            let mut b = CopyBinary::new();
            for r in rows {
                b.row(6);
                b.bytes(&r.seq.to_be_bytes());
                b.text(&r.voter_id);
                b.bytes(&r.at.to_be_bytes());
                b.bytes(&r.reason.to_be_bytes());
                b.bytes(&r.encoded);
                b.bytes(&r.hash);
            }
            let q = "COPY roll_events (seq, voter_id, at, reason, encoded, hash) FROM STDIN \
                     (FORMAT binary)";
            return b.send(&mut self.tx, q).await;
        }
        sqlx::query(
            "INSERT INTO roll_events (seq, voter_id, at, reason, encoded, hash) \
             SELECT * FROM UNNEST($1::int8[], $2::text[], $3::int8[], $4::int4[], $5::bytea[], \
             $6::bytea[])",
        )
        .bind(rows.iter().map(|r| r.seq).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.voter_id.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.at).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.reason).collect::<Vec<_>>())
        .bind(
            rows.iter()
                .map(|r| r.encoded.as_slice())
                .collect::<Vec<_>>(),
        )
        .bind(rows.iter().map(|r| r.hash.to_vec()).collect::<Vec<_>>())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn insert_access(&mut self, r: &AccessRow) -> Result<(), RollStoreError> {
        sqlx::query(
            "INSERT INTO roll_access (seq, at, actor, purpose, encoded, hash) \
             VALUES ($1, $2, $3, $4, $5, $6)",
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
            sqlx::query("SELECT id, role, password_phc, disabled FROM roll_staff WHERE id = $1")
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
             VALUES ($1, $2, $3, $4, $5)",
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
        sqlx::query("UPDATE roll_staff SET disabled = $1 WHERE id = $2")
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
        sqlx::query("INSERT INTO roll_tokens (hash, staff_id, created_at) VALUES ($1, $2, $3)")
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
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
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
            "SELECT id, requester, created_at, records, body, state FROM roll_pending WHERE id = $1",
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
            "UPDATE roll_pending SET state = $1, decided_by = $2, decided_at = $3 \
             WHERE id = $4 AND state = 'pending'",
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
            "INSERT INTO roll_config (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
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
            let mut q = QueryBuilder::<Postgres>::new("INSERT INTO roll_places (precinct, place) ");
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
impl RollBackend for PgRoll {
    async fn begin(&self) -> Result<Box<dyn RollTx>, RollStoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(WRITER_LOCK).execute(&mut *tx).await?;
        Ok(Box::new(PgTx { tx }))
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
                 WHERE v.ix_registered = $1 LIMIT $2",
        )
        .bind(ix.as_slice())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }
    async fn token_staff(&self, hash: &[u8; 32]) -> Result<Option<StaffRow>, RollStoreError> {
        let row = sqlx::query(
            "SELECT s.id, s.role, s.password_phc, s.disabled FROM roll_tokens t \
             JOIN roll_staff s ON s.id = t.staff_id WHERE t.hash = $1",
        )
        .bind(hash.as_slice())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(staff_row).transpose()
    }
    async fn config(&self, key: &str) -> Result<Option<String>, RollStoreError> {
        Ok(
            sqlx::query_scalar("SELECT value FROM roll_config WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }
    async fn events_after(&self, after: i64, limit: i64) -> Result<Vec<EventRow>, RollStoreError> {
        let rows = sqlx::query(
            "SELECT seq, voter_id, at, reason, encoded, hash FROM roll_events \
             WHERE seq > $1 ORDER BY seq LIMIT $2",
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
             WHERE (voter_id, seq) > ($1, $2) ORDER BY voter_id, seq LIMIT $3",
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
             WHERE seq > $1 ORDER BY seq LIMIT $2",
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
            "SELECT {VOTER_COLUMNS} FROM {VOTERS_JOINED} WHERE v.voter_id > $1 \
             ORDER BY v.voter_id LIMIT $2"
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
            "SELECT commitment FROM roll_voters WHERE commitment > $1 ORDER BY commitment LIMIT $2",
        )
        .bind(after.as_slice())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|c| arr(c, "commitment")).collect()
    }
    async fn reason_counts(&self, start: i64, end: i64) -> Result<Vec<(i32, i64)>, RollStoreError> {
        Ok(sqlx::query_as(
            "SELECT reason, count(*) FROM roll_events WHERE at >= $1 AND at < $2 \
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
}
