//! [`Roll`]: every read and change of the roll goes through here, checked by the role matrix
//! and the NVRA rules of `urne-roll`, and recorded in the same transaction.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use rand_chacha::ChaCha20Rng;
use rand_core::{OsRng, RngCore, SeedableRng};
use urne_roll::access::AccessEvent;
use urne_roll::audit::{AdditionSource, EventDraft, Snapshot, UnixSeconds, UpdateReason, link};
use urne_roll::digest::{RootBuilder, record_commitment};
use urne_roll::lookup::{LOOKUP_CANDIDATES_MAX, LookupQuery, answer};
use urne_roll::record::{InactiveReason, RemovalReason, Sensitive};
use urne_roll::rules::{
    Action, Authorized, BulkPolicy, ChangeApproved, Staff, approve_change, authorize, check_removal,
};
use urne_roll::sealed::ClearFields;
use urne_roll::staff::{ApiToken, hash_password, mint_token, token_hash, verify_password};
use urne_roll::{
    ChangeEvent, DataKey, Date, FieldCipher, IndexKeys, LookupAnswer, MasterKey, ReasonCode,
    RecordIndexes, RollDigest, SealedRecord, Status, Tip, VoterRecord, WrappedKey, seal_record,
};

use crate::limits::*;
use crate::{EventRow, PendingRow, RollBackend, RollStoreError, RollTx, StaffRow, VoterRow};

/// Configuration key of the bulk threshold.
const CONFIG_BULK: &str = "bulk_records_without_approver_max";
/// Configuration key of the federal election dates.
const CONFIG_ELECTIONS: &str = "federal_elections";
/// The bulk threshold until an office sets one.
pub const DEFAULT_BULK_RECORDS_WITHOUT_APPROVER_MAX: u64 = 100;
/// The staff id the key holder (the CLI with the master key) acts as.
pub const OPERATOR_ID: &str = "operator";

/// The office's rules configuration, stored in the roll database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Changes of more records than this need a second approver.
    pub bulk: BulkPolicy,
    /// Federal election days (primaries and generals) for the NVRA 90-day rule.
    pub federal_elections: Vec<Date>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            bulk: BulkPolicy {
                records_without_approver_max: DEFAULT_BULK_RECORDS_WITHOUT_APPROVER_MAX,
            },
            federal_elections: Vec::new(),
        }
    }
}

/// A logged-in staff member. Only [`Roll::login`], [`Roll::session_for_token`] and
/// [`Roll::operator`] build one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub(crate) staff: Staff,
}

impl Session {
    /// Staff id.
    pub fn id(&self) -> &str {
        &self.staff.id
    }
    /// Role.
    pub fn role(&self) -> urne_roll::Role {
        self.staff.role
    }
}

/// A voter record as a staff member may see it: the sealed fields only for roles that may read
/// PII.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoterView {
    /// Fields that are not sealed.
    pub clear: ClearFields,
    /// Sealed fields, opened, for clerks and supervisors.
    pub sensitive: Option<Sensitive>,
    /// Events in the voter's history.
    pub history_events: u64,
}

/// A status change in a change set (no PII, so pending sets are stored in the clear).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusChange {
    /// Cancel the registration.
    Remove {
        /// Voter id.
        voter_id: String,
        /// Why.
        reason: RemovalReason,
    },
    /// Make inactive.
    Inactivate {
        /// Voter id.
        voter_id: String,
        /// Why.
        reason: InactiveReason,
    },
    /// Make active again.
    Reactivate {
        /// Voter id.
        voter_id: String,
    },
}

const INACTIVE: [(InactiveReason, &str); 2] = [
    (
        InactiveReason::ConfirmationNoticeSent,
        "confirmation-notice-sent",
    ),
    (InactiveReason::MailReturned, "mail-returned"),
];

/// Every removal reason, for parsing names.
pub const REMOVAL_REASONS: [RemovalReason; 8] = [
    RemovalReason::VoterRequest,
    RemovalReason::Death,
    RemovalReason::CriminalConviction,
    RemovalReason::MentalIncapacity,
    RemovalReason::NoticeUnansweredAndTwoGenerals,
    RemovalReason::ListMaintenanceProgram,
    RemovalReason::Duplicate,
    RemovalReason::NonVoting,
];

impl StatusChange {
    /// The voter changed.
    pub fn voter_id(&self) -> &str {
        match self {
            StatusChange::Remove { voter_id, .. }
            | StatusChange::Inactivate { voter_id, .. }
            | StatusChange::Reactivate { voter_id } => voter_id,
        }
    }
    /// Parses `remove <reason>`, `inactivate <reason>` or `reactivate` for `voter_id`.
    pub fn parse(voter_id: &str, action: &str, reason: Option<&str>) -> Result<Self, String> {
        let voter_id = voter_id.to_owned();
        match (action, reason) {
            ("remove", Some(r)) => REMOVAL_REASONS
                .into_iter()
                .find(|x| x.name() == r)
                .map(|reason| StatusChange::Remove { voter_id, reason })
                .ok_or_else(|| format!("unknown removal reason {r:?}")),
            ("inactivate", Some(r)) => INACTIVE
                .iter()
                .find(|x| x.1 == r)
                .map(|x| StatusChange::Inactivate {
                    voter_id,
                    reason: x.0,
                })
                .ok_or_else(|| format!("unknown inactive reason {r:?}")),
            ("reactivate", None) => Ok(StatusChange::Reactivate { voter_id }),
            _ => Err(format!(
                "expected remove <reason>, inactivate <reason> or reactivate, got {action:?}"
            )),
        }
    }
    fn line(&self) -> String {
        match self {
            StatusChange::Remove { voter_id, reason } => {
                format!("{voter_id}\tremove\t{}", reason.name())
            }
            StatusChange::Inactivate { voter_id, reason } => {
                let name = INACTIVE.iter().find(|x| x.0 == *reason).map_or("", |x| x.1);
                format!("{voter_id}\tinactivate\t{name}")
            }
            StatusChange::Reactivate { voter_id } => format!("{voter_id}\treactivate"),
        }
    }
    /// Encodes a change set: one tab-separated line per change.
    pub fn encode_set(changes: &[StatusChange]) -> Vec<u8> {
        let mut s = String::new();
        for c in changes {
            s.push_str(&c.line());
            s.push('\n');
        }
        s.into_bytes()
    }
    /// Decodes [`StatusChange::encode_set`] output.
    pub fn decode_set(bytes: &[u8]) -> Result<Vec<StatusChange>, RollStoreError> {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| RollStoreError::Corrupt("pending change set not UTF-8".into()))?;
        text.lines()
            .map(|l| {
                let mut p = l.split('\t');
                let (id, action, reason) =
                    (p.next().unwrap_or(""), p.next().unwrap_or(""), p.next());
                StatusChange::parse(id, action, reason).map_err(RollStoreError::Corrupt)
            })
            .collect()
    }
}

/// What a change request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Applied now; the events' global positions.
    Done {
        /// Records changed.
        records: u64,
    },
    /// Over the bulk threshold: waits for a second supervisor.
    Pending {
        /// The pending change set's id.
        id: i64,
        /// Records in it.
        records: u64,
    },
}

/// The result of approving a pending change set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalOutcome {
    /// Records changed.
    pub records: u64,
    /// Who approved.
    pub approver: String,
}

/// The roll service: storage plus keys plus rules.
#[derive(Clone)]
pub struct Roll {
    pub(crate) db: Arc<dyn RollBackend>,
    pub(crate) roll_id: String,
    pub(crate) cipher: Arc<FieldCipher>,
    pub(crate) keys: Arc<IndexKeys>,
    pub(crate) rng: Arc<Mutex<ChaCha20Rng>>,
    /// A synthetic record sealed under this roll's key, opened by a lookup that finds nothing
    /// so found and not found cost the same. Never stored.
    pub(crate) decoy: Arc<SealedRecord>,
}

impl std::fmt::Debug for Roll {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Roll")
            .field("db", &self.db)
            .field("roll_id", &self.roll_id)
            .finish_non_exhaustive()
    }
}

fn now_i64(at: UnixSeconds) -> i64 {
    i64::try_from(at).unwrap_or(i64::MAX)
}

/// The calendar day of a Unix time (UTC).
pub fn day_of(at: UnixSeconds) -> Date {
    Date::from_days_since_epoch(now_i64(at) / 86_400).unwrap_or(Date::EPOCH)
}

pub(crate) fn status_code(s: Status) -> i16 {
    match s {
        Status::Active => 0,
        Status::Inactive(_) => 1,
        Status::Cancelled(_) => 2,
    }
}

pub(crate) fn voter_row(sealed: &SealedRecord, ix: &RecordIndexes, voter: Tip) -> VoterRow {
    let bytes = sealed.encode();
    VoterRow {
        voter_id: sealed.clear.voter_id.clone(),
        commitment: record_commitment(&bytes),
        sealed: bytes,
        ix_registered: ix.registered.0,
        ix_dl: ix.dl_number.map(|x| x.0),
        ix_ssn4_dob: ix.ssn4_dob.map(|x| x.0),
        status: status_code(sealed.clear.status),
        precinct: sealed.clear.precinct.clone(),
        voter_len: i64::try_from(voter.len).unwrap_or(i64::MAX),
        voter_head: voter.head,
    }
}

pub(crate) fn event_row(ev: &ChangeEvent) -> (EventRow, Tip) {
    let encoded = ev.encode();
    let hash = crate::sha256(&encoded);
    let row = EventRow {
        seq: ev.seq as i64,
        voter_id: ev.draft.voter_id.clone(),
        at: now_i64(ev.draft.at),
        reason: i32::from(ev.draft.reason.code()),
        encoded,
        hash,
    };
    (
        row,
        Tip {
            len: ev.seq + 1,
            head: hash,
        },
    )
}

impl Roll {
    /// Opens the roll in `db` with the office's master key. A new database gets a fresh data
    /// key (stored wrapped) under `new_roll_id`; an existing one must have been created under
    /// the same master key (else [`RollStoreError::WrongKey`]) and, if given, the same id.
    pub async fn open(
        db: Arc<dyn RollBackend>,
        master: &MasterKey,
        new_roll_id: Option<&str>,
    ) -> Result<Roll, RollStoreError> {
        let rng = ChaCha20Rng::from_rng(OsRng)
            .map_err(|_| RollStoreError::Backend("the operating system's RNG failed".into()))?;
        Roll::open_with(db, master, new_roll_id, rng).await
    }

    /// [`Roll::open`] with every random choice (data key, nonces, salts) drawn from `seed`, so
    /// a test's stored bytes are the same on every run and machine. Never for production:
    /// nonces and keys must be unpredictable.
    pub async fn danger_open_seeded(
        db: Arc<dyn RollBackend>,
        master: &MasterKey,
        new_roll_id: Option<&str>,
        seed: [u8; 32],
    ) -> Result<Roll, RollStoreError> {
        Roll::open_with(db, master, new_roll_id, ChaCha20Rng::from_seed(seed)).await
    }

    async fn open_with(
        db: Arc<dyn RollBackend>,
        master: &MasterKey,
        new_roll_id: Option<&str>,
        mut rng: ChaCha20Rng,
    ) -> Result<Roll, RollStoreError> {
        let mut tx = db.begin().await?;
        let (roll_id, data_key) = match tx.meta().await? {
            Some((id, wrapped)) => {
                if new_roll_id.is_some_and(|n| n != id) {
                    return Err(RollStoreError::Invalid(format!(
                        "this database holds roll {id:?}"
                    )));
                }
                let wrapped =
                    WrappedKey::from_bytes(&wrapped).map_err(|_| RollStoreError::WrongKey)?;
                let key = master
                    .unwrap(&wrapped, &id)
                    .map_err(|_| RollStoreError::WrongKey)?;
                (id, key)
            }
            None => {
                let id = new_roll_id.ok_or_else(|| {
                    RollStoreError::NotFound("no roll in this database yet (give a roll id)".into())
                })?;
                check_roll_id(id)?;
                let key = DataKey::generate(&mut rng);
                let wrapped = master.wrap(&key, id, &mut rng);
                tx.put_meta(id, wrapped.as_bytes()).await?;
                tx.commit().await?;
                (id.to_owned(), key)
            }
        };
        let cipher = data_key.cipher();
        let keys = IndexKeys::derive(master);
        // Its own RNG: a seeded roll's stored bytes do not depend on it.
        let mut decoy_rng = ChaCha20Rng::from_rng(OsRng)
            .map_err(|_| RollStoreError::Backend("the operating system's RNG failed".into()))?;
        let as_of = urne_roll::Date::new(2000, 1, 1)
            .ok_or_else(|| RollStoreError::Invalid("decoy date".into()))?;
        let decoy_record = urne_roll::synth::Synth::new(decoy_rng.next_u64(), as_of, "CA").record();
        let (decoy, _) = seal_record(&decoy_record, &cipher, &keys, &mut decoy_rng)?;
        Ok(Roll {
            db,
            roll_id,
            cipher: Arc::new(cipher),
            keys: Arc::new(keys),
            rng: Arc::new(Mutex::new(rng)),
            decoy: Arc::new(decoy),
        })
    }

    pub(crate) fn fork_rng(&self) -> ChaCha20Rng {
        let mut seed = [0u8; 32];
        if let Ok(mut r) = self.rng.lock() {
            r.fill_bytes(&mut seed);
        }
        ChaCha20Rng::from_seed(seed)
    }

    /// The roll id.
    pub fn roll_id(&self) -> &str {
        &self.roll_id
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn RollBackend> {
        &self.db
    }

    /// The office's policy (defaults until set).
    pub async fn policy(&self) -> Result<Policy, RollStoreError> {
        let mut p = Policy::default();
        if let Some(v) = self.db.config(CONFIG_BULK).await? {
            p.bulk.records_without_approver_max = v
                .parse()
                .map_err(|_| RollStoreError::Corrupt(format!("{CONFIG_BULK} {v:?}")))?;
        }
        if let Some(v) = self.db.config(CONFIG_ELECTIONS).await? {
            for d in v.split(',').filter(|d| !d.is_empty()) {
                p.federal_elections.push(
                    Date::parse_iso(d, "federal_elections")
                        .map_err(|e| RollStoreError::Corrupt(e.to_string()))?,
                );
            }
        }
        Ok(p)
    }

    /// Sets the policy. Admins only (or the operator); recorded in the access log.
    pub async fn set_policy(
        &self,
        by: &Session,
        policy: &Policy,
        now: UnixSeconds,
    ) -> Result<(), RollStoreError> {
        let ok = authorize(&by.staff, Action::ManageStaff)?;
        if policy.federal_elections.len() > FEDERAL_ELECTIONS_MAX {
            return Err(RollStoreError::Invalid(format!(
                "more than {FEDERAL_ELECTIONS_MAX} federal elections"
            )));
        }
        let dates: Vec<String> = policy
            .federal_elections
            .iter()
            .map(Date::to_string)
            .collect();
        let mut tx = self.db.begin().await?;
        let bulk = policy.bulk.records_without_approver_max.to_string();
        tx.put_config(CONFIG_BULK, &bulk).await?;
        tx.put_config(CONFIG_ELECTIONS, &dates.join(",")).await?;
        let why = format!(
            "set policy: bulk {bulk}, federal elections {}",
            dates.join(" ")
        );
        self.log_access(&mut *tx, ok, by, None, &why, now).await?;
        tx.commit().await
    }

    /// Replaces the precinct → polling place table (public information). Operator or admin.
    pub async fn set_polling_places(
        &self,
        by: &Session,
        rows: &[(String, String)],
        now: UnixSeconds,
    ) -> Result<(), RollStoreError> {
        let ok = authorize(&by.staff, Action::ManageStaff)?;
        if rows.len() > POLLING_PLACES_MAX {
            return Err(RollStoreError::Invalid(format!(
                "more than {POLLING_PLACES_MAX} polling places"
            )));
        }
        for (p, place) in rows {
            urne_roll::LookupAnswer::found(Status::Active, p, place)?;
        }
        let mut tx = self.db.begin().await?;
        tx.replace_places(rows).await?;
        let why = format!("set {} polling places", rows.len());
        self.log_access(&mut *tx, ok, by, None, &why, now).await?;
        tx.commit().await
    }

    /// The key holder's bootstrap session, recorded as `operator`: an admin, so it manages
    /// staff accounts but neither reads PII nor changes voters. The CLI uses it only to create
    /// the first account (see [`Roll::staff_count`]); everything else runs as a named staff
    /// member.
    pub fn operator() -> Session {
        Session {
            staff: Staff {
                id: OPERATOR_ID.to_owned(),
                role: urne_roll::Role::Admin,
            },
        }
    }

    pub(crate) async fn log_access(
        &self,
        tx: &mut dyn RollTx,
        ok: Authorized,
        by: &Session,
        voter_id: Option<&str>,
        purpose: &str,
        now: UnixSeconds,
    ) -> Result<(), RollStoreError> {
        if purpose.trim().is_empty() || purpose.len() > PURPOSE_BYTES_MAX {
            return Err(RollStoreError::Invalid(format!(
                "a purpose of 1 to {PURPOSE_BYTES_MAX} bytes is required"
            )));
        }
        let tip = tx.access_tip().await?;
        // Never before the last access: a clock stepping back must not break the chain.
        let now = now.max(tx.last_times().await?.1 as u64);
        // The purpose is inside the chained bytes; the column is a copy for queries.
        let ev = AccessEvent::record(tip, ok, by.id(), now, voter_id, purpose)?;
        let encoded = ev.encode();
        tx.insert_access(&crate::AccessRow {
            seq: ev.seq as i64,
            at: now_i64(now),
            actor: by.id().to_owned(),
            purpose: purpose.to_owned(),
            hash: crate::sha256(&encoded),
            encoded,
        })
        .await
    }

    // ----- staff -----

    /// Creates a staff account. Needs `ManageStaff` (admins, or the operator to bootstrap).
    pub async fn add_staff(
        &self,
        by: &Session,
        id: &str,
        role: urne_roll::Role,
        password: &str,
        now: UnixSeconds,
    ) -> Result<(), RollStoreError> {
        let ok = authorize(&by.staff, Action::ManageStaff)?;
        check_staff_id(id)?;
        let password = password.to_owned();
        let mut rng = self.fork_rng();
        let phc = tokio::task::spawn_blocking(move || hash_password(&password, &mut rng))
            .await
            .map_err(|e| RollStoreError::Backend(e.to_string()))?
            .map_err(|e| RollStoreError::Invalid(e.to_string()))?;
        let mut tx = self.db.begin().await?;
        if tx.staff(id).await?.is_some() {
            return Err(RollStoreError::Exists(format!("staff {id}")));
        }
        let row = StaffRow {
            id: id.to_owned(),
            role,
            password_phc: phc,
            disabled: false,
        };
        tx.insert_staff(&row, now_i64(now)).await?;
        let why = format!("add staff {id} as {}", role.name());
        self.log_access(&mut *tx, ok, by, None, &why, now).await?;
        tx.commit().await
    }

    /// Disables a staff account (its tokens stop working). Needs `ManageStaff`.
    pub async fn disable_staff(
        &self,
        by: &Session,
        id: &str,
        now: UnixSeconds,
    ) -> Result<(), RollStoreError> {
        let ok = authorize(&by.staff, Action::ManageStaff)?;
        let mut tx = self.db.begin().await?;
        if tx.staff(id).await?.is_none() {
            return Err(RollStoreError::NotFound(format!("staff {id}")));
        }
        tx.set_staff_disabled(id, true).await?;
        self.log_access(&mut *tx, ok, by, None, &format!("disable staff {id}"), now)
            .await?;
        tx.commit().await
    }

    /// Staff accounts in total (zero before the first is bootstrapped).
    pub async fn staff_count(&self) -> Result<i64, RollStoreError> {
        let mut tx = self.db.begin().await?;
        tx.staff_count().await
    }

    /// Checks a password. Unknown ids cost the same argon2 work as known ones.
    pub async fn login(&self, id: &str, password: &str) -> Result<Session, RollStoreError> {
        let row = {
            let mut tx = self.db.begin().await?;
            tx.staff(id).await?
        };
        // A valid PHC string for an unguessable password, so a missing account is verified
        // with the same work as a present one.
        const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$\
                             qhRTr8zjqdvJ6NQrA5BAZ8hZ2Q7t0dKOUnCKsv7zQ2g";
        let phc = row
            .as_ref()
            .map_or(DUMMY.to_owned(), |r| r.password_phc.clone());
        let password = password.to_owned();
        let ok = tokio::task::spawn_blocking(move || verify_password(&password, &phc).is_ok())
            .await
            .map_err(|e| RollStoreError::Backend(e.to_string()))?;
        match row {
            Some(r) if ok && !r.disabled => Ok(Session {
                staff: Staff {
                    id: r.id,
                    role: r.role,
                },
            }),
            _ => Err(RollStoreError::Credentials),
        }
    }

    /// Mints an API token for the session's own account; only its SHA-256 is stored.
    pub async fn mint_token(
        &self,
        s: &Session,
        now: UnixSeconds,
    ) -> Result<ApiToken, RollStoreError> {
        let ok = authorize(&s.staff, Action::Read)?;
        let (token, hash) = mint_token(&mut self.fork_rng());
        let mut tx = self.db.begin().await?;
        tx.insert_token(&hash.0, s.id(), now_i64(now)).await?;
        self.log_access(&mut *tx, ok, s, None, "mint API token", now)
            .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// The session of a presented API token, if it is live and its account enabled.
    pub async fn session_for_token(&self, presented: &str) -> Result<Session, RollStoreError> {
        let h = token_hash(presented);
        match self.db.token_staff(&h.0).await? {
            Some(r) if !r.disabled => {
                urne_roll::staff::verify_token(presented, &h)
                    .map_err(|_| RollStoreError::Credentials)?;
                Ok(Session {
                    staff: Staff {
                        id: r.id,
                        role: r.role,
                    },
                })
            }
            _ => Err(RollStoreError::Credentials),
        }
    }

    // ----- voters -----

    /// Reads one voter. Everyone with `Read` sees the clear fields; roles with `ReadPii` also
    /// get the sealed fields opened. Either way the read is recorded with `purpose`.
    pub async fn read_voter(
        &self,
        s: &Session,
        voter_id: &str,
        purpose: &str,
        now: UnixSeconds,
    ) -> Result<VoterView, RollStoreError> {
        let read = authorize(&s.staff, Action::Read)?;
        let pii = authorize(&s.staff, Action::ReadPii).ok();
        let mut tx = self.db.begin().await?;
        let row = tx
            .voter(voter_id)
            .await?
            .ok_or_else(|| RollStoreError::NotFound("voter".into()))?;
        let sealed = decode_sealed(&row.sealed)?;
        let sensitive = match pii {
            Some(_) => Some(
                sealed
                    .open(&self.cipher)
                    .map_err(|e| RollStoreError::Corrupt(format!("voter record: {e}")))?
                    .sensitive,
            ),
            None => None,
        };
        self.log_access(
            &mut *tx,
            pii.unwrap_or(read),
            s,
            Some(voter_id),
            purpose,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(VoterView {
            clear: sealed.clear,
            sensitive,
            history_events: row.voter_len as u64,
        })
    }

    /// Adds one registration (a single-record change: `Edit`).
    pub async fn add_voter(
        &self,
        s: &Session,
        record: &VoterRecord,
        source: AdditionSource,
        now: UnixSeconds,
    ) -> Result<(), RollStoreError> {
        let policy = self.policy().await?;
        let approved = approve_change(policy.bulk, 1, &s.staff, None)?;
        let (sealed, ix) = seal_record(record, &self.cipher, &self.keys, &mut self.fork_rng())?;
        let mut tx = self.db.begin().await?;
        let now = event_time(&mut *tx, now).await?;
        if tx.voter(&record.voter_id).await?.is_some() {
            return Err(RollStoreError::Exists("voter id".into()));
        }
        let draft = EventDraft {
            voter_id: record.voter_id.clone(),
            actor: s.id().to_owned(),
            approver: approved.approver().map(str::to_owned),
            at: now,
            reason: ReasonCode::Add(source),
            before: None,
            after: Some(Snapshot::Committed(record_commitment(&sealed.encode()))),
        };
        let tip = self.append(&mut *tx, draft, Tip::default()).await?;
        tx.insert_voters(&[voter_row(&sealed, &ix, tip)]).await?;
        tx.commit().await
    }

    /// Replaces one voter's record (a single-record change: `Edit`), for `reason`.
    pub async fn update_voter(
        &self,
        s: &Session,
        record: &VoterRecord,
        reason: UpdateReason,
        now: UnixSeconds,
    ) -> Result<(), RollStoreError> {
        let policy = self.policy().await?;
        let approved = approve_change(policy.bulk, 1, &s.staff, None)?;
        let (sealed, ix) = seal_record(record, &self.cipher, &self.keys, &mut self.fork_rng())?;
        let mut tx = self.db.begin().await?;
        let now = event_time(&mut *tx, now).await?;
        let old = tx
            .voter(&record.voter_id)
            .await?
            .ok_or_else(|| RollStoreError::NotFound("voter".into()))?;
        if let Status::Cancelled(r) = sealed.clear.status {
            // A removal goes through `change_status`, where the NVRA rules are checked.
            let old_status = decode_sealed(&old.sealed)?.clear.status;
            if old_status != Status::Cancelled(r) {
                return Err(RollStoreError::Invalid(
                    "cancel a registration with a removal, not an edit".into(),
                ));
            }
        }
        let draft = EventDraft {
            voter_id: record.voter_id.clone(),
            actor: s.id().to_owned(),
            approver: approved.approver().map(str::to_owned),
            at: now,
            reason: ReasonCode::Update(reason),
            before: Some(old.sealed.clone()),
            after: Some(Snapshot::Sealed(sealed.encode())),
        };
        let tip = self.append(&mut *tx, draft, voter_tip(&old)).await?;
        tx.update_voter(&voter_row(&sealed, &ix, tip)).await?;
        tx.commit().await
    }

    /// Links `draft` after the global tip and `voter` tip, writes the event, returns the new
    /// voter tip.
    async fn append(
        &self,
        tx: &mut dyn RollTx,
        draft: EventDraft,
        voter: Tip,
    ) -> Result<Tip, RollStoreError> {
        let global = tx.event_tip().await?;
        let ev = link(draft, global, voter)?;
        let (row, tip) = event_row(&ev);
        tx.insert_events(&[row]).await?;
        Ok(Tip {
            len: voter.len + 1,
            head: tip.head,
        })
    }

    /// Submits a set of status changes. Every removal is checked against the NVRA first (the
    /// whole set is refused if one is unlawful). Up to the bulk threshold it is applied now
    /// (`Edit`); above it, it is stored for a second supervisor (`BulkChange`).
    pub async fn submit_changes(
        &self,
        s: &Session,
        changes: &[StatusChange],
        now: UnixSeconds,
    ) -> Result<Applied, RollStoreError> {
        if changes.is_empty() || changes.len() > CHANGE_SET_ENTRIES_MAX {
            return Err(RollStoreError::Invalid(format!(
                "a change set has 1 to {CHANGE_SET_ENTRIES_MAX} changes"
            )));
        }
        let policy = self.policy().await?;
        check_removals(changes, &policy, now)?;
        let records = changes.len() as u64;
        if records <= policy.bulk.records_without_approver_max {
            let approved = approve_change(policy.bulk, records, &s.staff, None)?;
            let mut tx = self.db.begin().await?;
            self.apply(&mut *tx, changes, s.id(), &approved, &policy, now)
                .await?;
            tx.commit().await?;
            return Ok(Applied::Done { records });
        }
        let ok = authorize(&s.staff, Action::BulkChange)?;
        let mut tx = self.db.begin().await?;
        let id = tx
            .insert_pending(&PendingRow {
                id: 0,
                requester: s.id().to_owned(),
                created_at: now_i64(now),
                records: records as i64,
                body: StatusChange::encode_set(changes),
                state: "pending".into(),
            })
            .await?;
        let why = format!("submit bulk change {id} of {records} records");
        self.log_access(&mut *tx, ok, s, None, &why, now).await?;
        tx.commit().await?;
        Ok(Applied::Pending { id, records })
    }

    /// Approves and applies a pending change set: a supervisor other than the requester. The
    /// NVRA rules are checked again on the day of approval.
    pub async fn approve(
        &self,
        s: &Session,
        id: i64,
        now: UnixSeconds,
    ) -> Result<ApprovalOutcome, RollStoreError> {
        let policy = self.policy().await?;
        let mut tx = self.db.begin().await?;
        let p = tx
            .pending(id)
            .await?
            .ok_or_else(|| RollStoreError::NotFound(format!("change set {id}")))?;
        if p.state != "pending" {
            return Err(RollStoreError::Invalid(format!(
                "change set {id} is already {}",
                p.state
            )));
        }
        let requester = tx
            .staff(&p.requester)
            .await?
            .ok_or_else(|| RollStoreError::Corrupt("requester missing".into()))?;
        let requester = Staff {
            id: requester.id,
            role: requester.role,
        };
        let changes = StatusChange::decode_set(&p.body)?;
        let approved = approve_change(
            policy.bulk,
            changes.len() as u64,
            &requester,
            Some(&s.staff),
        )?;
        check_removals(&changes, &policy, now)?;
        self.apply(&mut *tx, &changes, &p.requester, &approved, &policy, now)
            .await?;
        tx.decide_pending(id, "applied", s.id(), now_i64(now))
            .await?;
        tx.commit().await?;
        Ok(ApprovalOutcome {
            records: approved.records(),
            approver: s.id().to_owned(),
        })
    }

    async fn apply(
        &self,
        tx: &mut dyn RollTx,
        changes: &[StatusChange],
        actor: &str,
        approved: &ChangeApproved,
        policy: &Policy,
        now: UnixSeconds,
    ) -> Result<(), RollStoreError> {
        let now = event_time(tx, now).await?;
        let mut global = tx.event_tip().await?;
        let mut touched: HashMap<String, Tip> = HashMap::new();
        for c in changes {
            let row = tx
                .voter(c.voter_id())
                .await?
                .ok_or_else(|| RollStoreError::NotFound(format!("voter {}", c.voter_id())))?;
            let mut sealed = decode_sealed(&row.sealed)?;
            let voter = touched
                .get(c.voter_id())
                .copied()
                .unwrap_or(voter_tip(&row));
            let before = row.sealed.clone();
            let (status, reason) = match c {
                StatusChange::Remove { reason, .. } => {
                    (Status::Cancelled(*reason), ReasonCode::Remove(*reason))
                }
                StatusChange::Inactivate { reason, .. } => (
                    Status::Inactive(*reason),
                    ReasonCode::Update(UpdateReason::MadeInactive),
                ),
                StatusChange::Reactivate { .. } => (
                    Status::Active,
                    ReasonCode::Update(UpdateReason::Reactivated),
                ),
            };
            sealed.clear.status = status;
            let after = sealed.encode();
            let draft = match c {
                StatusChange::Remove { reason, voter_id } => {
                    let allowed = check_removal(*reason, day_of(now), &policy.federal_elections)?;
                    EventDraft::removal(voter_id, actor, now, allowed, approved, before, after)
                }
                _ => EventDraft {
                    voter_id: c.voter_id().to_owned(),
                    actor: actor.to_owned(),
                    approver: approved.approver().map(str::to_owned),
                    at: now,
                    reason,
                    before: Some(before),
                    after: Some(Snapshot::Sealed(after)),
                },
            };
            let ev = link(draft, global, voter)?;
            let (erow, g) = event_row(&ev);
            global = g;
            let vt = Tip {
                len: voter.len + 1,
                head: g.head,
            };
            touched.insert(c.voter_id().to_owned(), vt);
            let mut new_row = row.clone();
            new_row.sealed = sealed.encode();
            new_row.commitment = record_commitment(&new_row.sealed);
            new_row.status = status_code(status);
            new_row.voter_len = vt.len as i64;
            new_row.voter_head = vt.head;
            tx.insert_events(&[erow]).await?;
            tx.update_voter(&new_row).await?;
        }
        Ok(())
    }

    // ----- public lookup -----

    /// "Am I registered?": the same answer shape whether found or not. Confirms blind-index
    /// candidates by opening them; reads the polling place once either way.
    pub async fn lookup(&self, q: &LookupQuery) -> Result<LookupAnswer, RollStoreError> {
        let cands = match q.index(&self.keys) {
            Some(ix) => {
                self.db
                    .candidates(&ix.0, LOOKUP_CANDIDATES_MAX as i64)
                    .await?
            }
            None => Vec::new(),
        };
        let mut sealed = Vec::with_capacity(cands.len());
        let mut places = BTreeMap::new();
        for (bytes, place) in &cands {
            if let Ok(s) = SealedRecord::decode(bytes) {
                places.insert(s.clear.precinct.clone(), place.clone().unwrap_or_default());
                sealed.push(s);
            }
        }
        if sealed.is_empty() {
            // Not found does the crypto work of found: open a record that matches nothing.
            let _ = answer(q, std::slice::from_ref(&*self.decoy), &self.cipher, |_| {
                String::new()
            });
        }
        Ok(answer(q, &sealed, &self.cipher, |p| {
            places.get(p).cloned().unwrap_or_default()
        }))
    }

    // ----- digest and export -----

    /// The `roll-digest` for `[start, end)`: change counts by reason in the period, and the
    /// roll's current size, Merkle root over record commitments and chain tips. Writers wait
    /// while it is computed, so the root and tips describe one state.
    pub async fn digest(
        &self,
        start: UnixSeconds,
        end: UnixSeconds,
    ) -> Result<RollDigest, RollStoreError> {
        let mut tx = self.db.begin().await?;
        let audit = tx.event_tip().await?;
        let access = tx.access_tip().await?;
        let mut root = RootBuilder::default();
        let mut after = [0u8; 32];
        loop {
            let page = self.db.commitments_after(&after, PAGE_ROWS).await?;
            for c in &page {
                root.push(*c)
                    .map_err(|e| RollStoreError::Corrupt(e.to_string()))?;
            }
            match page.last() {
                Some(c) if page.len() as i64 == PAGE_ROWS => after = *c,
                _ => break,
            }
        }
        let (root, records) = root.finish();
        let mut counts = BTreeMap::new();
        for (code, n) in self.db.reason_counts(now_i64(start), now_i64(end)).await? {
            let r = u16::try_from(code)
                .ok()
                .and_then(ReasonCode::from_code)
                .ok_or_else(|| RollStoreError::Corrupt(format!("reason code {code}")))?;
            counts.insert(r, n as u64);
        }
        drop(tx);
        Ok(RollDigest {
            roll_id: self.roll_id.clone(),
            period_start: start,
            period_end: end,
            records,
            root,
            audit,
            access,
            counts,
        })
    }

    /// Streams every record, opened, to `sink`, in voter id order. Reading every PII field, it
    /// needs `ReadPii` (a clerk or supervisor); one access event records the export and its
    /// purpose.
    pub async fn export(
        &self,
        s: &Session,
        purpose: &str,
        now: UnixSeconds,
        mut sink: impl FnMut(VoterRecord) -> Result<(), String>,
    ) -> Result<u64, RollStoreError> {
        let ok = authorize(&s.staff, Action::ReadPii)?;
        {
            let mut tx = self.db.begin().await?;
            self.log_access(&mut *tx, ok, s, None, purpose, now).await?;
            tx.commit().await?;
        }
        let mut after = String::new();
        let mut n = 0u64;
        loop {
            let page = self.db.voters_after(&after, PAGE_ROWS).await?;
            for row in &page {
                let rec = decode_sealed(&row.sealed)?
                    .open(&self.cipher)
                    .map_err(|e| RollStoreError::Corrupt(format!("voter record: {e}")))?;
                sink(rec).map_err(RollStoreError::Invalid)?;
                n += 1;
            }
            match page.last() {
                Some(r) if page.len() as i64 == PAGE_ROWS => after = r.voter_id.clone(),
                _ => break,
            }
        }
        Ok(n)
    }
}

/// `now`, or the last event's time if the clock stepped back: the history never goes back in
/// time (the audit refuses that).
pub(crate) async fn event_time(
    tx: &mut dyn RollTx,
    now: UnixSeconds,
) -> Result<UnixSeconds, RollStoreError> {
    Ok(now.max(tx.last_times().await?.0 as u64))
}

pub(crate) fn voter_tip(row: &VoterRow) -> Tip {
    Tip {
        len: row.voter_len as u64,
        head: row.voter_head,
    }
}

pub(crate) fn decode_sealed(bytes: &[u8]) -> Result<SealedRecord, RollStoreError> {
    SealedRecord::decode(bytes).map_err(|e| RollStoreError::Corrupt(format!("sealed record: {e}")))
}

fn check_removals(
    changes: &[StatusChange],
    policy: &Policy,
    now: UnixSeconds,
) -> Result<(), RollStoreError> {
    for c in changes {
        if let StatusChange::Remove { reason, .. } = c {
            check_removal(*reason, day_of(now), &policy.federal_elections)?;
        }
    }
    Ok(())
}

fn check_staff_id(id: &str) -> Result<(), RollStoreError> {
    let ok = !id.is_empty()
        && id.len() <= urne_roll::limits::STAFF_ID_BYTES_MAX
        && id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-._@".contains(&c))
        && id != OPERATOR_ID;
    if ok {
        Ok(())
    } else {
        Err(RollStoreError::Invalid(
            "staff id: letters, digits and - . _ @ only, not \"operator\"".into(),
        ))
    }
}

fn check_roll_id(id: &str) -> Result<(), RollStoreError> {
    let ok = !id.is_empty()
        && id.len() <= urne_roll::limits::ROLL_ID_BYTES_MAX
        && id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"._:/-".contains(&c));
    if ok {
        Ok(())
    } else {
        Err(RollStoreError::Invalid(
            "roll id: letters, digits and . _ : / - only".into(),
        ))
    }
}
