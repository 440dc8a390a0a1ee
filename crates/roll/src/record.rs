//! Voter records, after the NIST SP 1500-102 (VRI) concepts: `VRI.Voter` (name, addresses, date
//! of birth, `VoterId` of types `drivers-license` and `ssn4`, contact methods, party),
//! `VRI.VoterRecord` (status, districts, polling location) and `VRI.VoterParticipation`
//! (voting history).
//!
//! [`VoterRecord::validate`] is the one gate: a record that passed it is safe to seal, and every
//! error names the field.

use crate::error::InvalidField;
use crate::limits::*;

/// A calendar date (proleptic Gregorian). Only constructible valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

impl Date {
    /// 1970-01-01.
    pub const EPOCH: Date = Date {
        year: 1970,
        month: 1,
        day: 1,
    };
    /// A date, if it exists on the calendar (years 1800..=9999).
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        let leap =
            (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        ((1800..=9999).contains(&year) && (1..=days).contains(&day)).then_some(Date {
            year,
            month,
            day,
        })
    }
    /// Parses `YYYY-MM-DD` (ISO 8601, as NIST 1500-102 `DateOfBirth`).
    pub fn parse_iso(s: &str, field: &'static str) -> Result<Date, InvalidField> {
        let bad = InvalidField::Malformed {
            field,
            why: "expected a real date as YYYY-MM-DD",
        };
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(bad);
        }
        let num = |r: std::ops::Range<usize>| -> Option<u16> {
            s.get(r)
                .filter(|t| t.bytes().all(|c| c.is_ascii_digit()))?
                .parse()
                .ok()
        };
        let (y, m, d) = (num(0..4), num(5..7), num(8..10));
        match (y, m, d) {
            (Some(y), Some(m), Some(d)) => Date::new(y, m as u8, d as u8).ok_or(bad),
            _ => Err(bad),
        }
    }
    /// The year.
    pub fn year(self) -> u16 {
        self.year
    }
    /// The month, 1..=12.
    pub fn month(self) -> u8 {
        self.month
    }
    /// The day of the month.
    pub fn day(self) -> u8 {
        self.day
    }
    /// Days since 1970-01-01 (negative before), by Howard Hinnant's `days_from_civil`.
    pub fn days_since_epoch(self) -> i64 {
        let (m, d) = (i64::from(self.month), i64::from(self.day));
        let y = i64::from(self.year) - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }
    /// The date `days` days since 1970-01-01, if within the supported years.
    pub fn from_days_since_epoch(days: i64) -> Option<Date> {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        Date::new(u16::try_from(y).ok()?, m as u8, d as u8)
    }
    /// Whole years of age on `on` (0 if `on` is before `self`).
    pub fn age_on(self, on: Date) -> u16 {
        let had_birthday = (on.month, on.day) >= (self.month, self.day);
        on.year
            .saturating_sub(self.year)
            .saturating_sub(u16::from(!had_birthday))
    }
    pub(crate) fn to_wire(self) -> [u8; 4] {
        let y = self.year.to_be_bytes();
        [y[0], y[1], self.month, self.day]
    }
    pub(crate) fn from_wire(b: [u8; 4], field: &'static str) -> Result<Date, InvalidField> {
        Date::new(u16::from_be_bytes([b[0], b[1]]), b[2], b[3]).ok_or(InvalidField::Malformed {
            field,
            why: "not a calendar date",
        })
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// A voter's name (`VRI.Name`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Name {
    /// Given name. Required.
    pub first: String,
    /// Middle name(s) or initial.
    pub middle: Option<String>,
    /// Family name. Required.
    pub last: String,
    /// Generational suffix (Jr, Sr, III).
    pub suffix: Option<String>,
}

/// A US postal address, flattened from the FGDC street-address types NIST uses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    /// Number and street (or PO box for mailing addresses).
    pub line1: String,
    /// Unit, apartment, suite.
    pub line2: Option<String>,
    /// City or place name.
    pub city: String,
    /// Two-letter USPS state code, upper case.
    pub state: String,
    /// Five-digit ZIP code.
    pub zip: String,
    /// ZIP+4 add-on, four digits.
    pub zip4: Option<String>,
}

/// Voter status (`VRI.VoterStatus` active/inactive, plus cancelled as states keep it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// May vote a regular ballot.
    Active,
    /// Still registered, but flagged (NVRA §8(d) confirmation process).
    Inactive(InactiveReason),
    /// Removed from the rolls; kept for history.
    Cancelled(RemovalReason),
}

/// Why a record is inactive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum InactiveReason {
    /// A §8(d)(2) forwardable confirmation notice was sent and not yet answered.
    ConfirmationNoticeSent,
    /// Official mail came back undeliverable.
    MailReturned,
}

/// Why a record was removed (cancelled). The NVRA distinguishes removals made on individual
/// information (request, death, criminal conviction or mental incapacity per state law; §8(a)(3),
/// §8(a)(4)(A), exempt from the 90-day rule by §8(c)(2)(B)) from systematic list maintenance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum RemovalReason {
    /// The registrant asked in writing (§8(a)(3)(A)), including a written confirmation of a move.
    VoterRequest,
    /// Death (§8(a)(4)(A)).
    Death,
    /// Criminal conviction, as state law provides (§8(a)(3)(B)).
    CriminalConviction,
    /// Mental incapacity, as state law provides (§8(a)(3)(B)).
    MentalIncapacity,
    /// §8(d)(1)(B): failed to answer a confirmation notice and did not vote or appear in the two
    /// following federal general elections. Systematic.
    NoticeUnansweredAndTwoGenerals,
    /// A systematic program (NCOA, cross-state comparison) matched the record. Systematic.
    ListMaintenanceProgram,
    /// Merged into another record of the same person. Systematic.
    Duplicate,
    /// Not voting, and nothing else. Always refused by §8(b)(2); it exists so a request for it can
    /// be named and refused.
    NonVoting,
}

/// Political party affiliation (`VRI.Party`): an abbreviation such as `DEM`, `REP`, `NPP`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Party(pub String);

/// A district the residence falls in (`VRI.ReportingUnit` with `IsDistricted`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct District {
    /// The kind of district.
    pub kind: DistrictKind,
    /// The district's identifier, e.g. an OCD-ID or a local code.
    pub id: String,
}

/// `VRI.ReportingUnitType` values that are districts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DistrictKind {
    /// U.S. House district.
    Congressional,
    /// State senate district.
    StateSenate,
    /// State house / assembly district.
    StateHouse,
    /// County supervisor or council district.
    CountyCouncil,
    /// City council district.
    CityCouncil,
    /// School district.
    School,
    /// Judicial district.
    Judicial,
    /// Special, water or utility district.
    Special,
}

/// How a ballot was cast, for voting history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VoteMethod {
    /// In person on election day.
    ElectionDay,
    /// In person before election day.
    Early,
    /// By mail.
    Mail,
    /// Provisional ballot (counted or not, per the canvass).
    Provisional,
}

/// One election the voter took part in (`VRI.VoterParticipation`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participation {
    /// The election's identifier.
    pub election_id: String,
    /// Election day.
    pub date: Date,
    /// How the ballot was cast.
    pub method: VoteMethod,
}

/// The sensitive part of a record. Every field here is sealed at rest, field by field. `Debug`
/// shows only which fields are present, so records can be logged in tests and errors.
#[derive(Clone, PartialEq, Eq)]
pub struct Sensitive {
    /// Date of birth.
    pub dob: Date,
    /// Driver's licence or state ID number (`VoterId` type `drivers-license` / `state-id`).
    pub dl_number: Option<String>,
    /// Last four digits of the SSN (`VoterId` type `ssn4`).
    pub ssn4: Option<String>,
    /// Phone number, digits only after validation (10 for NANP).
    pub phone: Option<String>,
    /// Email address.
    pub email: Option<String>,
}

/// A voter's registration record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoterRecord {
    /// The office's voter id (`VoterId` type `local-voter-registration-id`).
    pub voter_id: String,
    /// The voter's name.
    pub name: Name,
    /// Where the voter lives; decides precinct and districts.
    pub residence: Address,
    /// Where mail goes, if not the residence.
    pub mailing: Option<Address>,
    /// Sealed fields.
    pub sensitive: Sensitive,
    /// Party affiliation, if any.
    pub party: Option<Party>,
    /// Status with its reason.
    pub status: Status,
    /// Date the registration took effect.
    pub registered_on: Date,
    /// Precinct code.
    pub precinct: String,
    /// Districts of the residence.
    pub districts: Vec<District>,
    /// Preferred language, a BCP 47 tag such as `en`, `es`, `zh-Hant`.
    pub language: String,
    /// Elections voted, oldest first.
    pub history: Vec<Participation>,
}

impl std::fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |present: bool| if present { "<redacted>" } else { "None" };
        f.debug_struct("Sensitive")
            .field("dob", &format_args!("<redacted>"))
            .field(
                "dl_number",
                &format_args!("{}", shown(self.dl_number.is_some())),
            )
            .field("ssn4", &format_args!("{}", shown(self.ssn4.is_some())))
            .field("phone", &format_args!("{}", shown(self.phone.is_some())))
            .field("email", &format_args!("{}", shown(self.email.is_some())))
            .finish()
    }
}

fn text(field: &'static str, v: &str, max: usize) -> Result<(), InvalidField> {
    if v.trim().is_empty() {
        return Err(InvalidField::Missing { field });
    }
    if v.len() > max {
        return Err(InvalidField::TooLong { field, max });
    }
    if v.chars().any(char::is_control) {
        return Err(InvalidField::Malformed {
            field,
            why: "contains control characters",
        });
    }
    Ok(())
}

fn opt_text(field: &'static str, v: Option<&str>, max: usize) -> Result<(), InvalidField> {
    v.map_or(Ok(()), |v| text(field, v, max))
}

fn digits(field: &'static str, v: &str, n: usize, why: &'static str) -> Result<(), InvalidField> {
    if v.len() == n && v.bytes().all(|c| c.is_ascii_digit()) {
        Ok(())
    } else {
        Err(InvalidField::Malformed { field, why })
    }
}

fn token(field: &'static str, v: &str, max: usize, why: &'static str) -> Result<(), InvalidField> {
    token_with(field, v, max, b"-._", why)
}

/// ASCII letters and digits plus the `extra` bytes.
fn token_with(
    field: &'static str,
    v: &str,
    max: usize,
    extra: &[u8],
    why: &'static str,
) -> Result<(), InvalidField> {
    text(field, v, max)?;
    if v.bytes()
        .all(|c| c.is_ascii_alphanumeric() || extra.contains(&c))
    {
        Ok(())
    } else {
        Err(InvalidField::Malformed { field, why })
    }
}

impl Name {
    fn validate(&self) -> Result<(), InvalidField> {
        text("name.first", &self.first, NAME_PART_BYTES_MAX)?;
        opt_text("name.middle", self.middle.as_deref(), NAME_PART_BYTES_MAX)?;
        text("name.last", &self.last, NAME_PART_BYTES_MAX)?;
        opt_text("name.suffix", self.suffix.as_deref(), NAME_SUFFIX_BYTES_MAX)
    }
}

/// Field paths for one address, so errors say which address.
struct AddressFields {
    line1: &'static str,
    line2: &'static str,
    city: &'static str,
    state: &'static str,
    zip: &'static str,
    zip4: &'static str,
}

const RESIDENCE: AddressFields = AddressFields {
    line1: "residence.line1",
    line2: "residence.line2",
    city: "residence.city",
    state: "residence.state",
    zip: "residence.zip",
    zip4: "residence.zip4",
};
const MAILING: AddressFields = AddressFields {
    line1: "mailing.line1",
    line2: "mailing.line2",
    city: "mailing.city",
    state: "mailing.state",
    zip: "mailing.zip",
    zip4: "mailing.zip4",
};

impl Address {
    fn validate(&self, f: &AddressFields) -> Result<(), InvalidField> {
        text(f.line1, &self.line1, ADDRESS_LINE_BYTES_MAX)?;
        opt_text(f.line2, self.line2.as_deref(), ADDRESS_LINE_BYTES_MAX)?;
        text(f.city, &self.city, CITY_BYTES_MAX)?;
        let state_ok = self.state.len() == 2 && self.state.bytes().all(|c| c.is_ascii_uppercase());
        if !state_ok {
            return Err(InvalidField::Malformed {
                field: f.state,
                why: "expected a two-letter USPS code",
            });
        }
        digits(f.zip, &self.zip, 5, "expected five digits")?;
        match &self.zip4 {
            Some(z) => digits(f.zip4, z, 4, "expected four digits"),
            None => Ok(()),
        }
    }
}

impl Sensitive {
    fn validate(&self, registered_on: Date) -> Result<(), InvalidField> {
        if self.dob > registered_on {
            return Err(InvalidField::Malformed {
                field: "dob",
                why: "after the registration date",
            });
        }
        if let Some(dl) = &self.dl_number {
            token_with(
                "ids.dl_number",
                dl,
                DL_NUMBER_BYTES_MAX,
                b"-",
                "letters, digits and - only",
            )?;
        }
        if let Some(s) = &self.ssn4 {
            digits("ids.ssn4", s, 4, "expected four digits")?;
        }
        if let Some(p) = &self.phone {
            digits(
                "contact.phone",
                p,
                10,
                "expected ten digits (NANP, no punctuation)",
            )?;
        }
        if let Some(e) = &self.email {
            text("contact.email", e, EMAIL_BYTES_MAX)?;
            let ok = e
                .split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
                && !e.contains(char::is_whitespace);
            if !ok {
                return Err(InvalidField::Malformed {
                    field: "contact.email",
                    why: "expected local@domain",
                });
            }
        }
        Ok(())
    }
}

impl VoterRecord {
    /// Checks every field against its form and limit; the error names the first bad field.
    pub fn validate(&self) -> Result<(), InvalidField> {
        token(
            "voter_id",
            &self.voter_id,
            VOTER_ID_BYTES_MAX,
            "letters, digits, - . _ only",
        )?;
        self.name.validate()?;
        self.residence.validate(&RESIDENCE)?;
        if let Some(m) = &self.mailing {
            m.validate(&MAILING)?;
        }
        self.sensitive.validate(self.registered_on)?;
        if let Some(p) = &self.party {
            token(
                "party",
                &p.0,
                PARTY_BYTES_MAX,
                "letters, digits, - . _ only",
            )?;
        }
        token(
            "precinct",
            &self.precinct,
            PRECINCT_BYTES_MAX,
            "letters, digits, - . _ only",
        )?;
        if self.districts.len() > DISTRICTS_MAX {
            return Err(InvalidField::TooMany {
                field: "districts",
                max: DISTRICTS_MAX,
            });
        }
        for d in &self.districts {
            let why = "letters, digits, - . _ : / only (an OCD-ID or local code)";
            token_with("districts.id", &d.id, DISTRICT_ID_BYTES_MAX, b"-._:/", why)?;
        }
        token(
            "language",
            &self.language,
            LANGUAGE_BYTES_MAX,
            "a BCP 47 tag",
        )?;
        if self.history.len() > HISTORY_ENTRIES_MAX {
            return Err(InvalidField::TooMany {
                field: "history",
                max: HISTORY_ENTRIES_MAX,
            });
        }
        for h in &self.history {
            token(
                "history.election_id",
                &h.election_id,
                ELECTION_ID_BYTES_MAX,
                "letters, digits, - . _ only",
            )?;
        }
        Ok(())
    }
}

/// Stable one-byte codes for the encodings; never renumber.
macro_rules! codes {
    ($ty:ident { $($v:ident = $c:literal),* $(,)? }) => {
        impl $ty {
            /// The stable code in the canonical encodings.
            pub fn code(self) -> u8 {
                match self { $($ty::$v => $c),* }
            }
            /// The value for a stable code.
            pub fn from_code(c: u8) -> Option<$ty> {
                match c { $($c => Some($ty::$v),)* _ => None }
            }
        }
    };
}

codes!(InactiveReason { ConfirmationNoticeSent = 1, MailReturned = 2 });
codes!(RemovalReason {
    VoterRequest = 1,
    Death = 2,
    CriminalConviction = 3,
    MentalIncapacity = 4,
    NoticeUnansweredAndTwoGenerals = 5,
    ListMaintenanceProgram = 6,
    Duplicate = 7,
    NonVoting = 8,
});
codes!(DistrictKind {
    Congressional = 1,
    StateSenate = 2,
    StateHouse = 3,
    CountyCouncil = 4,
    CityCouncil = 5,
    School = 6,
    Judicial = 7,
    Special = 8,
});
codes!(VoteMethod { ElectionDay = 1, Early = 2, Mail = 3, Provisional = 4 });
