//! The voter roll's storage: sealed records with their blind indexes, the hash-chained change
//! history and access log, staff accounts and API tokens, pending bulk changes and the office's
//! policy, on SQLite (one file in the data directory) and PostgreSQL.
//!
//! Two layers:
//! - [`RollBackend`] / [`RollTx`]: a small storage trait, one implementation per database
//!   ([`sqlite::SqliteRoll`], [`postgres::PgRoll`]). Plain rows in, plain rows out; every
//!   statement is parameterized; the change history and access log tables refuse `UPDATE` and
//!   `DELETE` by trigger.
//! - [`Roll`]: the service every edge (HTTP API, CLI) goes through. It holds the roll's field
//!   cipher and blind-index keys, checks the role matrix and the NVRA rules from `urne-roll` for
//!   each call, and writes the change and its event, or the PII read and its access event, in
//!   one transaction.
//!
//! Invariant: no row holds a plaintext date of birth, DL number, SSN4, phone or email; no
//!   error or log line carries one.
//! Invariant: a change and its event commit together; an import commits whole or not at all.
//! Invariant: the master key is never written by this crate; only the wrapped data key is.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod audit;
mod import;
pub mod postgres;
mod service;
pub mod sqlite;
pub mod testsuite;

use async_trait::async_trait;
use urne_roll::Tip;
use urne_roll::rules::Role;

pub use audit::AuditReport;
pub use import::{ImportError, ImportProgress, ImportSummary, RowError};
pub use service::{
    Applied, ApprovalOutcome, OPERATOR_ID, Policy, REMOVAL_REASONS, Roll, Session, StatusChange,
    VoterView, day_of,
};

/// Named limits of the store, unit last.
pub mod limits {
    /// Records sealed and written per batch during an import.
    pub const IMPORT_BATCH_RECORDS: usize = 2048;
    /// Bad rows reported before an import stops reading (it fails either way).
    pub const IMPORT_ROW_ERRORS_MAX: usize = 100;
    /// SQLite page cache during an import, KiB (the default is 2 MiB).
    pub const IMPORT_SQLITE_CACHE_KIB: i64 = 256 * 1024;
    /// Most helper threads SQLite's sorter may use while an import rebuilds the indexes it
    /// dropped (`PRAGMA threads`; the default is none). One per core, at most this many.
    pub const IMPORT_SQLITE_SORT_THREADS_MAX: usize = 4;
    /// Records in one import.
    pub const IMPORT_RECORDS_MAX: u64 = 50_000_000;
    /// Changes in one submitted change set.
    pub const CHANGE_SET_ENTRIES_MAX: usize = 100_000;
    /// Rows read per page when streaming events or records.
    pub const PAGE_ROWS: i64 = 4096;
    /// Bytes in an access purpose ("why" of a PII read; the core's limit).
    pub const PURPOSE_BYTES_MAX: usize = urne_roll::limits::ACCESS_PURPOSE_BYTES_MAX;
    /// Federal election dates in the policy.
    pub const FEDERAL_ELECTIONS_MAX: usize = 64;
    /// Precinct → polling place rows.
    pub const POLLING_PLACES_MAX: usize = 100_000;
}

/// A storage error. Messages name the operation, never a record's sensitive fields.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RollStoreError {
    /// The database failed or is unreachable (retryable).
    #[error("roll database: {0}")]
    Backend(String),
    /// The stored data is inconsistent (fatal: stop and run `urne roll audit`).
    #[error("roll data corrupt: {0}")]
    Corrupt(String),
    /// A role or NVRA rule refused the request.
    #[error("refused: {0}")]
    Refused(#[from] urne_roll::Refused),
    /// Wrong or unknown credentials (the message does not say which).
    #[error("wrong credentials")]
    Credentials,
    /// The request is malformed.
    #[error("invalid: {0}")]
    Invalid(String),
    /// The named thing does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The thing already exists.
    #[error("already exists: {0}")]
    Exists(String),
    /// The master key does not open this roll's data key.
    #[error("the master key does not open this roll (wrong key or roll id)")]
    WrongKey,
}

impl From<sqlx::Error> for RollStoreError {
    fn from(e: sqlx::Error) -> Self {
        // sqlx errors carry SQL text and driver messages, never bound values.
        RollStoreError::Backend(e.to_string())
    }
}

impl From<urne_roll::InvalidField> for RollStoreError {
    fn from(e: urne_roll::InvalidField) -> Self {
        RollStoreError::Invalid(e.to_string())
    }
}

/// One voter's row: the sealed record (`URSR` v1), its commitment, blind indexes, the clear
/// status and precinct (for lookups and counts), and the voter's chain tip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoterRow {
    /// Voter id.
    pub voter_id: String,
    /// `SealedRecord::encode()` bytes.
    pub sealed: Vec<u8>,
    /// `digest::record_commitment(sealed)`.
    pub commitment: [u8; 32],
    /// "Am I registered?" blind index.
    pub ix_registered: [u8; 8],
    /// DL number blind index.
    pub ix_dl: Option<[u8; 8]>,
    /// SSN4 + DOB blind index.
    pub ix_ssn4_dob: Option<[u8; 8]>,
    /// 0 active, 1 inactive, 2 cancelled.
    pub status: i16,
    /// Precinct code.
    pub precinct: String,
    /// Events in this voter's history.
    pub voter_len: i64,
    /// Hash of this voter's last event.
    pub voter_head: [u8; 32],
}

/// One change event row (`URCE` v1 bytes plus columns for queries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    /// Global position.
    pub seq: i64,
    /// Voter id.
    pub voter_id: String,
    /// Unix seconds.
    pub at: i64,
    /// NVRA reason code.
    pub reason: i32,
    /// Canonical encoding.
    pub encoded: Vec<u8>,
    /// SHA-256 of `encoded`.
    pub hash: [u8; 32],
}

/// One access event row (`URAE` v1 bytes plus the purpose given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRow {
    /// Position in the access log.
    pub seq: i64,
    /// Unix seconds.
    pub at: i64,
    /// Staff id.
    pub actor: String,
    /// Why, as the staff member gave it (no PII by policy; bounded).
    pub purpose: String,
    /// Canonical encoding.
    pub encoded: Vec<u8>,
    /// SHA-256 of `encoded`.
    pub hash: [u8; 32],
}

/// A staff account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffRow {
    /// Login name.
    pub id: String,
    /// Role.
    pub role: Role,
    /// argon2id PHC string.
    pub password_phc: String,
    /// Disabled accounts cannot log in and their tokens fail.
    pub disabled: bool,
}

/// A bulk change waiting for, or past, its second approver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRow {
    /// Id.
    pub id: i64,
    /// Who submitted it.
    pub requester: String,
    /// When.
    pub created_at: i64,
    /// Records it touches.
    pub records: i64,
    /// The change set, encoded by [`StatusChange::encode_set`] (no PII).
    pub body: Vec<u8>,
    /// `pending`, `applied` or `rejected`.
    pub state: String,
}

/// A storage transaction. Dropping it without [`RollTx::commit`] rolls everything back.
/// Writers are serialized (SQLite `BEGIN IMMEDIATE`, PostgreSQL a table lock), so the tips read
/// in a transaction stay the tips until it ends.
#[async_trait]
pub trait RollTx: Send {
    /// The roll id and wrapped data key, if the roll exists.
    async fn meta(&mut self) -> Result<Option<(String, Vec<u8>)>, RollStoreError>;
    /// Creates the roll's single meta row.
    async fn put_meta(&mut self, roll_id: &str, wrapped: &[u8]) -> Result<(), RollStoreError>;
    /// The change history's tip.
    async fn event_tip(&mut self) -> Result<Tip, RollStoreError>;
    /// The access log's tip.
    async fn access_tip(&mut self) -> Result<Tip, RollStoreError>;
    /// The times (Unix seconds, 0 when empty) of the last change event and last access event.
    async fn last_times(&mut self) -> Result<(i64, i64), RollStoreError>;
    /// One voter's row.
    async fn voter(&mut self, voter_id: &str) -> Result<Option<VoterRow>, RollStoreError>;
    /// Which of `ids` are already on the roll.
    async fn existing(&mut self, ids: &[String]) -> Result<Vec<String>, RollStoreError>;
    /// Starts a bulk load if the roll has no voters and no events yet: drops the secondary
    /// indexes (blind indexes, commitments, the events' voter and time indexes) so the load
    /// writes rows in key order only, and returns `true`; [`RollTx::end_bulk_load`] builds them
    /// again before commit. Both are part of the transaction, so a rolled-back load leaves the
    /// indexes as they were. Returns `false` (and changes nothing) on a non-empty roll.
    async fn begin_bulk_load(&mut self) -> Result<bool, RollStoreError>;
    /// Rebuilds the indexes [`RollTx::begin_bulk_load`] dropped.
    async fn end_bulk_load(&mut self) -> Result<(), RollStoreError>;
    /// Inserts new voters (fails on an existing id).
    async fn insert_voters(&mut self, rows: &[VoterRow]) -> Result<(), RollStoreError>;
    /// Replaces an existing voter's row.
    async fn update_voter(&mut self, row: &VoterRow) -> Result<(), RollStoreError>;
    /// Appends change events (their `seq` continue the tip).
    async fn insert_events(&mut self, rows: &[EventRow]) -> Result<(), RollStoreError>;
    /// Appends one access event.
    async fn insert_access(&mut self, row: &AccessRow) -> Result<(), RollStoreError>;
    /// A staff account.
    async fn staff(&mut self, id: &str) -> Result<Option<StaffRow>, RollStoreError>;
    /// Staff accounts in total.
    async fn staff_count(&mut self) -> Result<i64, RollStoreError>;
    /// Creates a staff account.
    async fn insert_staff(&mut self, row: &StaffRow, at: i64) -> Result<(), RollStoreError>;
    /// Enables or disables an account.
    async fn set_staff_disabled(&mut self, id: &str, disabled: bool) -> Result<(), RollStoreError>;
    /// Stores a token hash for a staff member.
    async fn insert_token(
        &mut self,
        hash: &[u8; 32],
        staff_id: &str,
        at: i64,
    ) -> Result<(), RollStoreError>;
    /// Stores a pending change set; returns its id.
    async fn insert_pending(&mut self, row: &PendingRow) -> Result<i64, RollStoreError>;
    /// A pending change set.
    async fn pending(&mut self, id: i64) -> Result<Option<PendingRow>, RollStoreError>;
    /// Marks a change set decided.
    async fn decide_pending(
        &mut self,
        id: i64,
        state: &str,
        by: &str,
        at: i64,
    ) -> Result<(), RollStoreError>;
    /// Sets a configuration value.
    async fn put_config(&mut self, key: &str, value: &str) -> Result<(), RollStoreError>;
    /// Replaces the precinct → polling place table.
    async fn replace_places(&mut self, rows: &[(String, String)]) -> Result<(), RollStoreError>;
    /// Commits.
    async fn commit(self: Box<Self>) -> Result<(), RollStoreError>;
}

/// A roll database.
#[async_trait]
pub trait RollBackend: Send + Sync + std::fmt::Debug {
    /// Starts a write transaction.
    async fn begin(&self) -> Result<Box<dyn RollTx>, RollStoreError>;
    /// Sealed records whose "Am I registered?" index is `ix`, at most `limit`, each with its
    /// precinct's polling place (one query, found or not).
    async fn candidates(
        &self,
        ix: &[u8; 8],
        limit: i64,
    ) -> Result<Vec<(Vec<u8>, Option<String>)>, RollStoreError>;
    /// A staff member by token hash, with whether the token is live.
    async fn token_staff(&self, hash: &[u8; 32]) -> Result<Option<StaffRow>, RollStoreError>;
    /// A configuration value.
    async fn config(&self, key: &str) -> Result<Option<String>, RollStoreError>;
    /// Events with `seq > after`, ascending, at most `limit`.
    async fn events_after(&self, after: i64, limit: i64) -> Result<Vec<EventRow>, RollStoreError>;
    /// Events ordered by (voter id, seq) after the given key, at most `limit`: `(voter_id, seq,
    /// hash, encoded)`.
    async fn events_by_voter_after(
        &self,
        after: (&str, i64),
        limit: i64,
    ) -> Result<Vec<EventRow>, RollStoreError>;
    /// Access events with `seq > after`, ascending.
    async fn access_after(&self, after: i64, limit: i64) -> Result<Vec<AccessRow>, RollStoreError>;
    /// Voter rows with `voter_id > after`, ascending.
    async fn voters_after(&self, after: &str, limit: i64) -> Result<Vec<VoterRow>, RollStoreError>;
    /// Record commitments greater than `after`, ascending.
    async fn commitments_after(
        &self,
        after: &[u8; 32],
        limit: i64,
    ) -> Result<Vec<[u8; 32]>, RollStoreError>;
    /// Change counts by reason code for events with `start <= at < end`.
    async fn reason_counts(&self, start: i64, end: i64) -> Result<Vec<(i32, i64)>, RollStoreError>;
    /// Voter rows in total.
    async fn voter_count(&self) -> Result<i64, RollStoreError>;
    /// Switches the journal for a bulk load of an empty roll (`true`; a roll with voters or
    /// events keeps its journal) and back (`false`); returns whether it switched. Only SQLite has one to switch: its rollback journal writes
    /// the pages a load adds once, where WAL mode writes them to the WAL and again when
    /// checkpointing. Leaving WAL mode needs the only connection to the file, so it is tried
    /// only on a one-connection pool and gives up at once (staying in WAL mode) when another
    /// process has the file open. Either journal is durable; a crash mid-load rolls back.
    async fn bulk_journal(&self, _bulk: bool) -> Result<bool, RollStoreError> {
        Ok(false)
    }
}

/// How many of its migrations a roll at schema `version` (`None`: a new database) has run,
/// refusing a version this code (which writes `known`) does not know.
pub(crate) fn migrations_done(version: Option<i64>, known: i64) -> Result<usize, RollStoreError> {
    match version {
        None => Ok(0),
        Some(v) if (1..=known).contains(&v) => Ok(usize::try_from(v).unwrap_or(0)),
        Some(v) => Err(RollStoreError::Corrupt(format!(
            "roll schema version {v}, this urne knows 1 to {known}"
        ))),
    }
}

pub(crate) fn arr<const N: usize>(v: &[u8], what: &str) -> Result<[u8; N], RollStoreError> {
    v.try_into().map_err(|_| {
        RollStoreError::Corrupt(format!("{what}: expected {N} bytes, found {}", v.len()))
    })
}

pub(crate) fn role_from_name(s: &str) -> Result<Role, RollStoreError> {
    Role::ALL
        .into_iter()
        .find(|r| r.name() == s)
        .ok_or_else(|| RollStoreError::Corrupt(format!("unknown role {s:?}")))
}

/// The secondary indexes a bulk load drops and rebuilds: name and `CREATE INDEX` statement,
/// the same text on both databases and in both migrations (a test checks).
pub(crate) const SECONDARY_INDEXES: [(&str, &str); 6] = [
    (
        "roll_voters_registered",
        "CREATE INDEX roll_voters_registered ON roll_voters (ix_registered)",
    ),
    (
        "roll_voters_dl",
        "CREATE INDEX roll_voters_dl ON roll_voters (ix_dl) WHERE ix_dl IS NOT NULL",
    ),
    (
        "roll_voters_ssn4_dob",
        "CREATE INDEX roll_voters_ssn4_dob ON roll_voters (ix_ssn4_dob) WHERE ix_ssn4_dob IS NOT NULL",
    ),
    (
        "roll_voters_commitment",
        "CREATE INDEX roll_voters_commitment ON roll_voters (commitment)",
    ),
    (
        "roll_events_voter",
        "CREATE INDEX roll_events_voter ON roll_events (voter_id, seq)",
    ),
    (
        "roll_events_at",
        "CREATE INDEX roll_events_at ON roll_events (at)",
    ),
];

pub(crate) fn sha256(b: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(b).into()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_bulk_load_rebuilds_the_indexes_the_migrations_create() {
        for schema in [
            include_str!("../migrations-sqlite/0001_roll.sql"),
            include_str!("../migrations-postgres/0001_roll.sql"),
        ] {
            let created = schema.matches("CREATE INDEX").count();
            assert_eq!(created, super::SECONDARY_INDEXES.len());
            for (name, sql) in super::SECONDARY_INDEXES {
                assert!(sql.contains(name));
                assert!(schema.contains(&format!("{sql};")), "{sql}");
            }
        }
    }
}
