//! The voter roll's pure core: records after NIST SP 1500-102, field-level encryption and blind
//! indexes, the canonical sealed-record encoding, change events in hash chains, the NVRA and
//! role rules, staff credentials, the public `roll-digest`, the "Am I registered?" answer, and a
//! synthetic voter generator.
//!
//! Invariant: this crate never touches files, network, environment or clock. Times, dates and
//! random number generators are parameters; keys come in as bytes.
//!
//! Invariant: no error, `Debug` output or public encoding carries a plaintext sensitive field
//! (date of birth, DL number, SSN4, phone, email) or a key.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod access;
pub mod audit;
pub mod compare;
pub mod crypto;
pub mod digest;
pub mod error;
pub mod lookup;
pub mod record;
pub mod rules;
pub mod sealed;
pub mod staff;
pub mod synth;
mod wire;

pub use audit::{
    AuditChain, ChainChecked, ChainError, ChangeEvent, ChangeKind, EventDraft, ReasonCode,
    Snapshot, Tip, verify_chain,
};
pub use crypto::{BlindIndex, DataKey, FieldCipher, IndexPurpose, MasterKey, WrappedKey};
pub use digest::{RollDigest, RootBuilder};
pub use error::{CryptoError, DecodeError, InvalidField};
pub use lookup::{LookupAnswer, PublicStatus};
pub use record::{Date, Status, VoterRecord};
pub use rules::{Action, Refused, Role};
pub use sealed::{IndexKeys, RecordIndexes, SealedRecord, seal_record};

/// Named limits, unit last. Every decoder and validator enforces them.
pub mod limits {
    /// Bytes in a voter id.
    pub const VOTER_ID_BYTES_MAX: usize = 32;
    /// Bytes in one name part (first, middle, last).
    pub const NAME_PART_BYTES_MAX: usize = 64;
    /// Bytes in a name suffix.
    pub const NAME_SUFFIX_BYTES_MAX: usize = 16;
    /// Bytes in an address line.
    pub const ADDRESS_LINE_BYTES_MAX: usize = 100;
    /// Bytes in a city name.
    pub const CITY_BYTES_MAX: usize = 64;
    /// Bytes in a DL or state ID number.
    pub const DL_NUMBER_BYTES_MAX: usize = 32;
    /// Bytes in an email address (RFC 5321 path limit).
    pub const EMAIL_BYTES_MAX: usize = 254;
    /// Bytes in a party abbreviation.
    pub const PARTY_BYTES_MAX: usize = 16;
    /// Bytes in a precinct code.
    pub const PRECINCT_BYTES_MAX: usize = 32;
    /// Districts per record.
    pub const DISTRICTS_MAX: usize = 32;
    /// Bytes in a district id (room for an OCD-ID).
    pub const DISTRICT_ID_BYTES_MAX: usize = 128;
    /// Bytes in a language tag.
    pub const LANGUAGE_BYTES_MAX: usize = 35;
    /// Voting-history entries per record (a century of primaries and generals, with room).
    pub const HISTORY_ENTRIES_MAX: usize = 256;
    /// Bytes in an election id.
    pub const ELECTION_ID_BYTES_MAX: usize = 64;
    /// Bytes in one sealed field (version, nonce, longest plaintext, tag).
    pub const SEALED_FIELD_BYTES_MAX: usize = 1 + 24 + EMAIL_BYTES_MAX + 16;
    /// Bytes in one sealed record's encoding.
    pub const SEALED_RECORD_BYTES_MAX: usize = 64 * 1024;
    /// Bytes kept of a blind index's HMAC-SHA256 (64 bits: at 22.6M records a chance collision
    /// is about 1 in 36,000 per lookup; matches are confirmed by opening the record anyway).
    pub const BLIND_INDEX_BYTES: usize = 8;
    /// Bytes in a staff id.
    pub const STAFF_ID_BYTES_MAX: usize = 64;
    /// Bytes in an access purpose (the "why" of a PII read, inside the access log's chain).
    pub const ACCESS_PURPOSE_BYTES_MAX: usize = 200;
    /// Bytes in a roll id.
    pub const ROLL_ID_BYTES_MAX: usize = 128;
    /// Bytes in a roll-digest text.
    pub const DIGEST_BYTES_MAX: usize = 16 * 1024;
    /// Bytes in a polling place (name and public address of the site) in a lookup answer.
    pub const POLLING_PLACE_BYTES_MAX: usize = 200;
    /// Bytes in a staff password (bounds argon2 input work per login).
    pub const PASSWORD_BYTES_MAX: usize = 1024;
    /// Characters in a staff password, at least (NIST SP 800-63B §5.1.1.2 asks 8; we ask 12).
    pub const PASSWORD_CHARS_MIN: usize = 12;
}
