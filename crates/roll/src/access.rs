//! The access log: every read of PII (and any other authorized action that changes nothing) is
//! recorded as an [`AccessEvent`] in its own hash chain, apart from the change history so reads
//! neither lengthen voters' histories nor count in roll digests.
//!
//! Encoding (`URAE` version 2), hashed with SHA-256 for the next event's `prev_hash`:
//!
//! ```text
//! "URAE" 0x02 seq:u64 actor:str at:u64 action:u8 voter_id:opt purpose:str prev_hash:[32]
//! ```
//!
//! Version 2 puts the purpose the staff member gave inside the chain (version 1 kept it in a
//! column beside it, where it could be edited unseen); version 1 events are not read.

use sha2::{Digest, Sha256};

use crate::audit::{Hash, Tip, UnixSeconds};
use crate::error::DecodeError;
use crate::error::InvalidField;
use crate::limits::{ACCESS_PURPOSE_BYTES_MAX, STAFF_ID_BYTES_MAX, VOTER_ID_BYTES_MAX};
use crate::rules::{Action, Authorized};
use crate::wire::{Reader, Writer};

const MAGIC: &[u8; 4] = b"URAE";
const VERSION: u8 = 2;

/// One recorded access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessEvent {
    /// Position in the access log, from 0.
    pub seq: u64,
    /// Staff id.
    pub actor: String,
    /// When.
    pub at: UnixSeconds,
    /// What was done.
    pub action: Action,
    /// Whose record, if one.
    pub voter_id: Option<String>,
    /// Why, as the staff member gave it (1 to [`ACCESS_PURPOSE_BYTES_MAX`] bytes; no PII by
    /// policy).
    pub purpose: String,
    /// Hash of the previous access event; zero for the first.
    pub prev_hash: Hash,
}

fn action_code(a: Action) -> u8 {
    match a {
        Action::Read => 1,
        Action::ReadPii => 2,
        Action::Edit => 3,
        Action::BulkChange => 4,
        Action::ApproveBulk => 5,
        Action::ManageStaff => 6,
    }
}

impl AccessEvent {
    /// Records an authorized action after the log's tip, for `purpose`. Needs the
    /// [`Authorized`] token, so only checked accesses are logged as allowed. The purpose must
    /// be 1 to [`ACCESS_PURPOSE_BYTES_MAX`] bytes and not blank.
    pub fn record(
        tip: Tip,
        authorized: Authorized,
        actor: &str,
        at: UnixSeconds,
        voter_id: Option<&str>,
        purpose: &str,
    ) -> Result<AccessEvent, InvalidField> {
        if purpose.trim().is_empty() {
            return Err(InvalidField::Missing { field: "purpose" });
        }
        if purpose.len() > ACCESS_PURPOSE_BYTES_MAX {
            return Err(InvalidField::TooLong {
                field: "purpose",
                max: ACCESS_PURPOSE_BYTES_MAX,
            });
        }
        Ok(AccessEvent {
            seq: tip.len,
            actor: actor.to_owned(),
            at,
            action: authorized.action(),
            voter_id: voter_id.map(str::to_owned),
            purpose: purpose.to_owned(),
            prev_hash: tip.head,
        })
    }

    /// Canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.raw(MAGIC);
        w.u8(VERSION);
        w.u64(self.seq);
        w.str(&self.actor);
        w.u64(self.at);
        w.u8(action_code(self.action));
        w.opt_str(self.voter_id.as_deref());
        w.str(&self.purpose);
        w.raw(&self.prev_hash);
        w.buf
    }

    /// Decodes canonical bytes strictly.
    pub fn decode(bytes: &[u8]) -> Result<AccessEvent, DecodeError> {
        let mut r = Reader::new(bytes);
        if r.take(4).ok() != Some(MAGIC.as_slice()) || r.u8().ok() != Some(VERSION) {
            return Err(DecodeError::BadHeader {
                what: "access event",
            });
        }
        let seq = r.u64()?;
        let actor = r.string("actor", STAFF_ID_BYTES_MAX)?;
        let at = r.u64()?;
        let action = r.tag(|t| Action::ALL.into_iter().find(|a| action_code(*a) == t))?;
        let voter_id = r.opt_string("voter_id", VOTER_ID_BYTES_MAX)?;
        let purpose = r.string("purpose", ACCESS_PURPOSE_BYTES_MAX)?;
        let prev_hash = r.array()?;
        r.finish()?;
        Ok(AccessEvent {
            seq,
            actor,
            at,
            action,
            voter_id,
            purpose,
            prev_hash,
        })
    }

    /// SHA-256 of the canonical bytes.
    pub fn hash(&self) -> Hash {
        Sha256::digest(self.encode()).into()
    }
}

/// The access log broke at `seq`: missing, reordered, inserted or edited events.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("access log broken at position {position} (deleted, inserted, reordered or edited)")]
pub struct AccessLogBroken {
    /// Index in the list given.
    pub position: u64,
}

/// Verifies an access log from its first event and returns its tip, to compare with a trusted
/// tip.
pub fn verify_access_log(events: &[AccessEvent]) -> Result<Tip, AccessLogBroken> {
    let mut tip = Tip::default();
    let mut last_at = 0;
    for (i, ev) in events.iter().enumerate() {
        if ev.seq != i as u64 || ev.prev_hash != tip.head || ev.at < last_at {
            return Err(AccessLogBroken { position: i as u64 });
        }
        last_at = ev.at;
        tip = Tip {
            len: tip.len + 1,
            head: ev.hash(),
        };
    }
    Ok(tip)
}
