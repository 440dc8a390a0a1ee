//! The answer to "Am I registered?": the same shape and the same serialized size whether or not
//! the voter was found, so neither the fields present nor the response length tell more than
//! the answer itself. It never carries an address of the voter or any ID.

use crate::error::InvalidField;
use crate::limits::{POLLING_PLACE_BYTES_MAX, PRECINCT_BYTES_MAX};
use crate::record::Status;

/// Bytes in every serialized lookup answer.
pub const LOOKUP_JSON_BYTES: usize = 1024;

/// Registration status as the public sees it. A cancelled record answers `NotRegistered`, the
/// same as no record, so the lookup does not confirm that a person was ever on the roll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicStatus {
    /// Registered and active.
    Active,
    /// Registered, inactive: may vote, may be asked to confirm the address.
    Inactive,
    /// No active or inactive registration matches.
    NotRegistered,
}

impl PublicStatus {
    /// The status shown for a record's status.
    pub fn of(status: Status) -> PublicStatus {
        match status {
            Status::Active => PublicStatus::Active,
            Status::Inactive(_) => PublicStatus::Inactive,
            Status::Cancelled(_) => PublicStatus::NotRegistered,
        }
    }
    fn name(self) -> &'static str {
        match self {
            PublicStatus::Active => "active",
            PublicStatus::Inactive => "inactive",
            PublicStatus::NotRegistered => "not-registered",
        }
    }
}

/// The lookup answer. Build with [`LookupAnswer::found`] or [`LookupAnswer::not_found`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupAnswer {
    status: PublicStatus,
    precinct: String,
    polling_place: String,
}

impl LookupAnswer {
    /// A match: status, precinct code and polling place (name and public address of the site).
    /// A cancelled status gives the not-found answer.
    pub fn found(
        status: Status,
        precinct: &str,
        polling_place: &str,
    ) -> Result<LookupAnswer, InvalidField> {
        let status = PublicStatus::of(status);
        if status == PublicStatus::NotRegistered {
            return Ok(LookupAnswer::not_found());
        }
        for (field, v, max) in [
            ("precinct", precinct, PRECINCT_BYTES_MAX),
            ("polling_place", polling_place, POLLING_PLACE_BYTES_MAX),
        ] {
            if v.len() > max {
                return Err(InvalidField::TooLong { field, max });
            }
            if v.chars().any(char::is_control) {
                return Err(InvalidField::Malformed {
                    field,
                    why: "contains control characters",
                });
            }
        }
        Ok(LookupAnswer {
            status,
            precinct: precinct.to_owned(),
            polling_place: polling_place.to_owned(),
        })
    }

    /// No registration matches.
    pub fn not_found() -> LookupAnswer {
        LookupAnswer {
            status: PublicStatus::NotRegistered,
            precinct: String::new(),
            polling_place: String::new(),
        }
    }

    /// The status.
    pub fn status(&self) -> PublicStatus {
        self.status
    }
    /// The precinct code (empty when not registered).
    pub fn precinct(&self) -> &str {
        &self.precinct
    }
    /// The polling place (empty when not registered).
    pub fn polling_place(&self) -> &str {
        &self.polling_place
    }

    /// JSON of exactly [`LOOKUP_JSON_BYTES`] bytes: the same keys always, then a `pad` of spaces.
    pub fn to_json(&self) -> String {
        let mut s = format!(
            "{{\"v\":1,\"registered\":{},\"status\":\"{}\",\"precinct\":\"{}\",\"polling_place\":\"{}\",\"pad\":\"",
            self.status != PublicStatus::NotRegistered,
            self.status.name(),
            escape(&self.precinct),
            escape(&self.polling_place),
        );
        // The limits keep the body under the fixed size: escaping at most doubles a field.
        let pad = LOOKUP_JSON_BYTES.saturating_sub(s.len() + 2);
        s.extend(std::iter::repeat_n(' ', pad));
        s.push_str("\"}");
        s
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
