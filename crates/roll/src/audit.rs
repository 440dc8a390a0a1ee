//! Change events and their hash chains.
//!
//! Every change to the roll is a [`ChangeEvent`]: who, when, why (a [`ReasonCode`]) and the
//! sealed record before and after. Each event carries the hash of the previous event globally
//! (`prev_hash`) and of the previous event for the same voter (`prev_voter_hash`), so the
//! global history and each voter's history are both hash chains. An event's hash is SHA-256
//! over its canonical encoding (`URCE` version 1):
//!
//! ```text
//! "URCE" 0x01 seq:u64 voter_id:str voter_seq:u64 actor:str approver:opt at:u64
//! reason:u16 before:optbytes after:snapshot prev_hash:[32] prev_voter_hash:[32]
//! ```
//!
//! `optbytes` is `0x00` (absent) or `0x01 len:u32 bytes`; `snapshot` is the same or
//! `0x02 commitment:[32]`: the record's [`crate::digest::record_commitment`] instead of its
//! bytes ([`Snapshot::Committed`]). Additions use the commitment, so an added record is stored
//! once (in its voter row) and still bound into both chains; the store's audit checks the row
//! against it, and each later event's `before` against the event before it.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::error::{DecodeError, InvalidField};
use crate::limits::*;
use crate::record::RemovalReason;
use crate::wire::{Reader, Writer};

/// A SHA-256 hash.
pub type Hash = [u8; 32];
/// Seconds since the Unix epoch, UTC. The caller reads the clock.
pub type UnixSeconds = u64;

const MAGIC: &[u8; 4] = b"URCE";
const VERSION: u8 = 1;

/// Whether a change adds, changes or removes a registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChangeKind {
    /// A new registration.
    Addition,
    /// An update to an existing one.
    Change,
    /// A cancellation.
    Removal,
}

/// Where a new registration came from (NVRA §5 motor vehicle, §6 mail, §7 agencies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum AdditionSource {
    /// §5: with a driver's licence application.
    MotorVehicle,
    /// §6: mail-in form.
    Mail,
    /// §7: a designated public-assistance or disability agency, or armed forces recruiting.
    Agency,
    /// Online registration.
    Online,
    /// At the election office or a registration drive.
    InPerson,
}

/// Why an existing record changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum UpdateReason {
    /// Moved within the jurisdiction (§8(f)).
    AddressChange,
    /// Name changed.
    NameChange,
    /// Party affiliation changed.
    PartyChange,
    /// Made inactive (§8(d) notice sent or mail returned).
    MadeInactive,
    /// Back to active (voted, answered the notice, or re-registered).
    Reactivated,
    /// Clerical correction (§8(c)(2)(B)(ii)).
    Correction,
    /// Voting history recorded after an election.
    VotingHistory,
}

/// The NVRA reason code of a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReasonCode {
    /// A new registration.
    Add(AdditionSource),
    /// An update.
    Update(UpdateReason),
    /// A removal.
    Remove(RemovalReason),
}

impl AdditionSource {
    const ALL: [AdditionSource; 5] = [
        AdditionSource::MotorVehicle,
        AdditionSource::Mail,
        AdditionSource::Agency,
        AdditionSource::Online,
        AdditionSource::InPerson,
    ];
    fn name(self) -> &'static str {
        match self {
            AdditionSource::MotorVehicle => "motor-vehicle",
            AdditionSource::Mail => "mail",
            AdditionSource::Agency => "agency",
            AdditionSource::Online => "online",
            AdditionSource::InPerson => "in-person",
        }
    }
}

impl UpdateReason {
    const ALL: [UpdateReason; 7] = [
        UpdateReason::AddressChange,
        UpdateReason::NameChange,
        UpdateReason::PartyChange,
        UpdateReason::MadeInactive,
        UpdateReason::Reactivated,
        UpdateReason::Correction,
        UpdateReason::VotingHistory,
    ];
    fn name(self) -> &'static str {
        match self {
            UpdateReason::AddressChange => "address",
            UpdateReason::NameChange => "name",
            UpdateReason::PartyChange => "party",
            UpdateReason::MadeInactive => "made-inactive",
            UpdateReason::Reactivated => "reactivated",
            UpdateReason::Correction => "correction",
            UpdateReason::VotingHistory => "voting-history",
        }
    }
}

const REMOVALS: [RemovalReason; 8] = [
    RemovalReason::VoterRequest,
    RemovalReason::Death,
    RemovalReason::CriminalConviction,
    RemovalReason::MentalIncapacity,
    RemovalReason::NoticeUnansweredAndTwoGenerals,
    RemovalReason::ListMaintenanceProgram,
    RemovalReason::Duplicate,
    RemovalReason::NonVoting,
];

impl ReasonCode {
    /// The kind of change.
    pub fn kind(self) -> ChangeKind {
        match self {
            ReasonCode::Add(_) => ChangeKind::Addition,
            ReasonCode::Update(_) => ChangeKind::Change,
            ReasonCode::Remove(_) => ChangeKind::Removal,
        }
    }
    /// The stable numeric code: 1xx additions, 2xx changes, 3xx removals. Never renumber.
    pub fn code(self) -> u16 {
        match self {
            ReasonCode::Add(s) => {
                101 + AdditionSource::ALL
                    .iter()
                    .position(|x| *x == s)
                    .unwrap_or(0) as u16
            }
            ReasonCode::Update(u) => {
                201 + UpdateReason::ALL.iter().position(|x| *x == u).unwrap_or(0) as u16
            }
            ReasonCode::Remove(r) => 300 + u16::from(r.code()),
        }
    }
    /// The reason for a stable numeric code.
    pub fn from_code(code: u16) -> Option<ReasonCode> {
        let i = usize::from(code % 100);
        match code / 100 {
            1 => AdditionSource::ALL
                .get(i.checked_sub(1)?)
                .map(|s| ReasonCode::Add(*s)),
            2 => UpdateReason::ALL
                .get(i.checked_sub(1)?)
                .map(|u| ReasonCode::Update(*u)),
            3 => RemovalReason::from_code(u8::try_from(i).ok()?).map(ReasonCode::Remove),
            _ => None,
        }
    }
    /// The stable name, `kind/detail`.
    pub fn name(self) -> String {
        match self {
            ReasonCode::Add(s) => format!("add/{}", s.name()),
            ReasonCode::Update(u) => format!("change/{}", u.name()),
            ReasonCode::Remove(r) => format!("remove/{}", r.name()),
        }
    }
    /// Every reason code, in code order.
    pub fn all() -> Vec<ReasonCode> {
        let adds = AdditionSource::ALL.into_iter().map(ReasonCode::Add);
        let ups = UpdateReason::ALL.into_iter().map(ReasonCode::Update);
        adds.chain(ups)
            .chain(REMOVALS.into_iter().map(ReasonCode::Remove))
            .collect()
    }
}

/// A change not yet linked into the chains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventDraft {
    /// The voter changed.
    pub voter_id: String,
    /// Staff id that made the change.
    pub actor: String,
    /// Second approver, for a bulk change.
    pub approver: Option<String>,
    /// When.
    pub at: UnixSeconds,
    /// Why.
    pub reason: ReasonCode,
    /// Sealed record bytes before (absent for an addition).
    pub before: Option<Vec<u8>>,
    /// The sealed record after: its bytes, or (for additions) its commitment.
    pub after: Option<Snapshot>,
}

/// A sealed record as an event holds it: the bytes, or the commitment to bytes kept elsewhere
/// (the voter row), so an addition does not store its record twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Snapshot {
    /// `SealedRecord::encode()` bytes.
    Sealed(Vec<u8>),
    /// [`crate::digest::record_commitment`] of those bytes.
    Committed(Hash),
}

impl Snapshot {
    /// The commitment to the record.
    pub fn commitment(&self) -> Hash {
        match self {
            Snapshot::Sealed(b) => crate::digest::record_commitment(b),
            Snapshot::Committed(c) => *c,
        }
    }
    /// Whether `sealed` is this record.
    pub fn is(&self, sealed: &[u8]) -> bool {
        match self {
            Snapshot::Sealed(b) => b.as_slice() == sealed,
            Snapshot::Committed(c) => crate::digest::record_commitment(sealed) == *c,
        }
    }
    /// The bytes, when the event holds them.
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Snapshot::Sealed(b) => Some(b),
            Snapshot::Committed(_) => None,
        }
    }
}

/// One linked change event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeEvent {
    /// Position in the global history, from 0.
    pub seq: u64,
    /// Position in this voter's history, from 0.
    pub voter_seq: u64,
    /// The change.
    pub draft: EventDraft,
    /// Hash of the previous global event; zero for the first.
    pub prev_hash: Hash,
    /// Hash of this voter's previous event; zero for the voter's first.
    pub prev_voter_hash: Hash,
}

/// The end of a chain: how many events it has and the last one's hash (zero when empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tip {
    /// Events so far.
    pub len: u64,
    /// Hash of the last event.
    pub head: Hash,
}

impl ChangeEvent {
    /// Canonical bytes (the hash input).
    pub fn encode(&self) -> Vec<u8> {
        let d = &self.draft;
        let mut w = Writer::default();
        w.raw(MAGIC);
        w.u8(VERSION);
        w.u64(self.seq);
        w.str(&d.voter_id);
        w.u64(self.voter_seq);
        w.str(&d.actor);
        w.opt_str(d.approver.as_deref());
        w.u64(d.at);
        w.u16(d.reason.code());
        match &d.before {
            None => w.u8(0),
            Some(b) => {
                w.u8(1);
                w.bytes(b);
            }
        }
        match &d.after {
            None => w.u8(0),
            Some(Snapshot::Sealed(b)) => {
                w.u8(1);
                w.bytes(b);
            }
            Some(Snapshot::Committed(c)) => {
                w.u8(2);
                w.raw(c);
            }
        }
        w.raw(&self.prev_hash);
        w.raw(&self.prev_voter_hash);
        w.buf
    }

    /// Decodes canonical bytes strictly.
    pub fn decode(bytes: &[u8]) -> Result<ChangeEvent, DecodeError> {
        let mut r = Reader::new(bytes);
        if r.take(4).ok() != Some(MAGIC.as_slice()) || r.u8().ok() != Some(VERSION) {
            return Err(DecodeError::BadHeader {
                what: "change event",
            });
        }
        let seq = r.u64()?;
        let voter_id = r.string("voter_id", VOTER_ID_BYTES_MAX)?;
        let voter_seq = r.u64()?;
        let actor = r.string("actor", STAFF_ID_BYTES_MAX)?;
        let approver = r.opt_string("approver", STAFF_ID_BYTES_MAX)?;
        let at = r.u64()?;
        let pos = r.pos();
        let code = r.u16()?;
        let reason = ReasonCode::from_code(code).ok_or(DecodeError::BadTag {
            at: pos,
            tag: (code % 256) as u8,
        })?;
        let before = if r.flag()? {
            Some(r.bytes("before", SEALED_RECORD_BYTES_MAX)?.to_vec())
        } else {
            None
        };
        let at_after = r.pos();
        let after = match r.u8()? {
            0 => None,
            1 => Some(Snapshot::Sealed(
                r.bytes("after", SEALED_RECORD_BYTES_MAX)?.to_vec(),
            )),
            2 => Some(Snapshot::Committed(r.array()?)),
            tag => return Err(DecodeError::BadTag { at: at_after, tag }),
        };
        let prev_hash = r.array()?;
        let prev_voter_hash = r.array()?;
        r.finish()?;
        let draft = EventDraft {
            voter_id,
            actor,
            approver,
            at,
            reason,
            before,
            after,
        };
        Ok(ChangeEvent {
            seq,
            voter_seq,
            draft,
            prev_hash,
            prev_voter_hash,
        })
    }

    /// SHA-256 of the canonical bytes.
    pub fn hash(&self) -> Hash {
        Sha256::digest(self.encode()).into()
    }
}

impl EventDraft {
    /// Checks the limits the decoder enforces, so every linked event decodes again.
    pub fn validate(&self) -> Result<(), InvalidField> {
        let short = |field, v: &str, max| {
            if v.is_empty() {
                Err(InvalidField::Missing { field })
            } else if v.len() > max {
                Err(InvalidField::TooLong { field, max })
            } else {
                Ok(())
            }
        };
        short("voter_id", &self.voter_id, VOTER_ID_BYTES_MAX)?;
        short("actor", &self.actor, STAFF_ID_BYTES_MAX)?;
        if let Some(a) = &self.approver {
            short("approver", a, STAFF_ID_BYTES_MAX)?;
        }
        let after = self.after.as_ref().and_then(Snapshot::bytes);
        for (field, b) in [("before", self.before.as_deref()), ("after", after)] {
            if b.is_some_and(|b| b.len() > SEALED_RECORD_BYTES_MAX) {
                return Err(InvalidField::TooLong {
                    field,
                    max: SEALED_RECORD_BYTES_MAX,
                });
            }
        }
        Ok(())
    }
}

/// Links a validated draft after the global tip and the voter's tip. Pure: the store keeps the
/// tips.
pub fn link(draft: EventDraft, global: Tip, voter: Tip) -> Result<ChangeEvent, InvalidField> {
    draft.validate()?;
    Ok(ChangeEvent {
        seq: global.len,
        voter_seq: voter.len,
        draft,
        prev_hash: global.head,
        prev_voter_hash: voter.head,
    })
}

/// An in-memory chain builder (tests, imports): tracks the global and per-voter tips.
#[derive(Debug, Default, Clone)]
pub struct AuditChain {
    global: Tip,
    voters: HashMap<String, Tip>,
}

impl AuditChain {
    /// Links and records one draft; returns the event to store.
    pub fn append(&mut self, draft: EventDraft) -> Result<ChangeEvent, InvalidField> {
        let voter = self
            .voters
            .get(&draft.voter_id)
            .copied()
            .unwrap_or_default();
        let ev = link(draft, self.global, voter)?;
        let h = ev.hash();
        self.global = Tip {
            len: self.global.len + 1,
            head: h,
        };
        self.voters.insert(
            ev.draft.voter_id.clone(),
            Tip {
                len: voter.len + 1,
                head: h,
            },
        );
        Ok(ev)
    }
    /// The global tip.
    pub fn tip(&self) -> Tip {
        self.global
    }
}

/// A chain that failed verification. Positions are global sequence numbers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// An event is missing, repeated or out of place.
    #[error("event at position {position} has seq {found} (deleted, inserted or reordered)")]
    Sequence {
        /// Index in the list given.
        position: u64,
        /// The seq it carries.
        found: u64,
    },
    /// `prev_hash` does not match the previous event: an event before it was edited.
    #[error("event {seq}: prev_hash does not match event {prev} (edited or replaced)")]
    GlobalLink {
        /// The event.
        seq: u64,
        /// The event before it.
        prev: u64,
    },
    /// The per-voter chain is broken at this event.
    #[error("event {seq}: voter history broken (voter_seq or prev_voter_hash)")]
    VoterLink {
        /// The event.
        seq: u64,
    },
    /// Time went backwards.
    #[error("event {seq}: time earlier than the event before")]
    Time {
        /// The event.
        seq: u64,
    },
    /// The chain is internally consistent but does not end where the trusted head says.
    #[error(
        "chain ends at {found_len} events with a different head than the trusted one ({expected_len})"
    )]
    Head {
        /// Events found.
        found_len: u64,
        /// Events in the trusted tip.
        expected_len: u64,
    },
}

/// Proof that a list of events is one unbroken history from the start. Only [`verify_chain`]
/// builds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainChecked {
    tip: Tip,
}

impl ChainChecked {
    /// The verified tip (events and head hash), to compare with the one in the public log.
    pub fn tip(&self) -> Tip {
        self.tip
    }
    /// Checks the tip against a trusted one (from a signed roll digest). Without this, deleting
    /// the last events cannot be seen: a chain only protects what comes before its head.
    pub fn expect_tip(self, trusted: Tip) -> Result<ChainChecked, ChainError> {
        if self.tip == trusted {
            Ok(self)
        } else {
            Err(ChainError::Head {
                found_len: self.tip.len,
                expected_len: trusted.len,
            })
        }
    }
}

/// Verifies a whole history from its first event: sequence numbers 0, 1, 2, …; each
/// `prev_hash` the hash of the event before; each voter's `voter_seq` and `prev_voter_hash`
/// following that voter's previous event; times never going back.
pub fn verify_chain(events: &[ChangeEvent]) -> Result<ChainChecked, ChainError> {
    let mut global = Tip::default();
    let mut last_at = 0;
    let mut voters: HashMap<&str, Tip> = HashMap::new();
    for (i, ev) in events.iter().enumerate() {
        if ev.seq != i as u64 {
            return Err(ChainError::Sequence {
                position: i as u64,
                found: ev.seq,
            });
        }
        if ev.prev_hash != global.head {
            return Err(ChainError::GlobalLink {
                seq: ev.seq,
                prev: ev.seq.saturating_sub(1),
            });
        }
        let voter = voters.entry(ev.draft.voter_id.as_str()).or_default();
        if ev.voter_seq != voter.len || ev.prev_voter_hash != voter.head {
            return Err(ChainError::VoterLink { seq: ev.seq });
        }
        if ev.draft.at < last_at {
            return Err(ChainError::Time { seq: ev.seq });
        }
        last_at = ev.draft.at;
        let h = ev.hash();
        *voter = Tip {
            len: voter.len + 1,
            head: h,
        };
        global = Tip {
            len: global.len + 1,
            head: h,
        };
    }
    Ok(ChainChecked { tip: global })
}

impl EventDraft {
    /// A removal event, buildable only from the checks that allow it: the NVRA check
    /// ([`crate::rules::check_removal`]) and the role/bulk gate
    /// ([`crate::rules::approve_change`]), whose second approver it records.
    pub fn removal(
        voter_id: &str,
        actor: &str,
        at: UnixSeconds,
        allowed: crate::rules::RemovalAllowed,
        approved: &crate::rules::ChangeApproved,
        before: Vec<u8>,
        after: Vec<u8>,
    ) -> EventDraft {
        EventDraft {
            voter_id: voter_id.to_owned(),
            actor: actor.to_owned(),
            approver: approved.approver().map(str::to_owned),
            at,
            reason: ReasonCode::Remove(allowed.reason()),
            before: Some(before),
            after: Some(Snapshot::Sealed(after)),
        }
    }
}
