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

/// Candidates examined per lookup at most; more blind-index matches than this for one
/// (name, DOB, ZIP) would mean a corrupt roll or an index collision storm.
pub const LOOKUP_CANDIDATES_MAX: usize = 16;

/// A validated "Am I registered?" question.
#[derive(Clone, PartialEq, Eq)]
pub struct LookupQuery {
    last: String,
    first: String,
    dob: crate::Date,
    zip: String,
}

impl std::fmt::Debug for LookupQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The question is PII: a name with a date of birth.
        f.write_str("LookupQuery(<redacted>)")
    }
}

impl LookupQuery {
    /// Validates the form input: names within limits, date as `YYYY-MM-DD`, ZIP as five digits
    /// (a ZIP+4 is cut to five).
    pub fn new(last: &str, first: &str, dob: &str, zip: &str) -> Result<LookupQuery, InvalidField> {
        use crate::crypto::{normalize_name, normalize_zip};
        use crate::limits::NAME_PART_BYTES_MAX;
        for (field, v) in [("last", last), ("first", first)] {
            if v.len() > NAME_PART_BYTES_MAX {
                return Err(InvalidField::TooLong {
                    field,
                    max: NAME_PART_BYTES_MAX,
                });
            }
            if normalize_name(v).is_empty() {
                return Err(InvalidField::Missing { field });
            }
        }
        let dob = crate::Date::parse_iso(dob.trim(), "dob")?;
        let zip_ok = zip.len() <= 10 && zip.trim().bytes().all(|c| c.is_ascii_digit() || c == b'-');
        let zip = normalize_zip(zip);
        if !zip_ok || zip.len() != 5 {
            return Err(InvalidField::Malformed {
                field: "zip",
                why: "expected five digits",
            });
        }
        Ok(LookupQuery {
            last: normalize_name(last),
            first: normalize_name(first),
            dob,
            zip,
        })
    }

    /// The blind index to look candidates up by.
    pub fn index(&self, keys: &crate::IndexKeys) -> Option<crate::BlindIndex> {
        crate::crypto::registered_index(
            &keys.registered,
            &self.last,
            &self.first,
            self.dob,
            &self.zip,
        )
    }

    fn matches(&self, r: &crate::sealed::ClearFields, dob: crate::Date) -> bool {
        use crate::crypto::{normalize_name, normalize_zip};
        normalize_name(&r.name.last) == self.last
            && normalize_name(&r.name.first) == self.first
            && dob == self.dob
            && normalize_zip(&r.residence.zip) == self.zip
    }
}

/// Answers a lookup from the records whose blind index matched: opens the date of birth of
/// each (at most [`LOOKUP_CANDIDATES_MAX`]; no other sealed field is needed), confirms the
/// match on the plaintext (the index is truncated, so
/// a match is only a candidate), and answers for the best status found (active before
/// inactive). `polling_place` maps a precinct to its polling place. A candidate that fails to
/// open is skipped: the caller logs it, the voter sees "not registered" rather than an error
/// that would tell a prober a record exists.
pub fn answer(
    query: &LookupQuery,
    candidates: &[crate::SealedRecord],
    cipher: &crate::FieldCipher,
    polling_place: impl Fn(&str) -> String,
) -> LookupAnswer {
    let best = candidates
        .iter()
        .take(LOOKUP_CANDIDATES_MAX)
        .filter_map(|c| c.open_dob(cipher).ok().map(|dob| (&c.clear, dob)))
        .filter(|(r, dob)| {
            query.matches(r, *dob) && PublicStatus::of(r.status) != PublicStatus::NotRegistered
        })
        .map(|(r, _)| r)
        .min_by_key(|r| PublicStatus::of(r.status) != PublicStatus::Active);
    match best {
        Some(r) => LookupAnswer::found(r.status, &r.precinct, &polling_place(&r.precinct))
            .unwrap_or_else(|_| LookupAnswer::not_found()),
        None => LookupAnswer::not_found(),
    }
}
