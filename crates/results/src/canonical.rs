//! The canonical byte encoding of a snapshot, for hashing and signing.
//!
//! Written by hand so the bytes never change behind our back (a serde derive or a field
//! reordering would). Version 1 layout, all integers big-endian:
//!
//! ```text
//! snapshot  = MAGIC version:u16 election status:str parties units contests
//! election  = name:str kind:str start_date:str end_date:str scope_unit:str
//! parties   = n:u32 { id:str name:str abbreviation:opt<str> }
//! units     = n:u32 { id:str name:str kind:str children:(n:u32 {unit_index:u32})
//!                     ballots_cast:opt<u64> registered_voters:opt<u64>
//!                     reporting:opt<str> ballots_outstanding:opt<u64> }
//! contests  = n:u32 { id:str name:str kind:str district:unit_index:u32 votes_allowed:opt<u32>
//!                     variation:opt<str>
//!                     choices:(n:u32 { id:str name:str party:opt<party_index:u32> write_in:u8 })
//!                     counts:(n:u32 { unit_index:u32 choice_index:u32 kind:str
//!                                     round:opt<u32> votes:u64 })
//!                     other:(n:u32 { unit_index:u32 kind:str overvotes:opt<u64>
//!                                    undervotes:opt<u64> }) }
//! str       = len:u32 utf8-bytes
//! opt<T>    = 0x00 | 0x01 T
//! ```
//!
//! Every list is in the order [`Snapshot::normalize`] gives (sorted by id bytes; counts by unit id,
//! choice id, count type in the declaration order of [`CountType::ALL`](crate::CountType::ALL),
//! round with none first), which
//! [`validate`](crate::validate) guarantees, so indexes are positions in sorted tables.
//! Enum values are their NIST spellings. Changing any of this needs a new version number.
//!
//! [`decode`] is the strict inverse of [`encode`]: it accepts exactly the bytes `encode` can
//! produce (`encode(decode(b)?) == b`), so one snapshot has one encoding and one hash.

use crate::error::ImportError;
use crate::model::{
    Choice, Contest, ContestKind, CountType, Election, ElectionKind, Id, OtherCount, Party,
    ReportStatus, ReportingStatus, Snapshot, Unit, UnitFacts, UnitKind, VoteCount, VoteVariation,
};
use crate::validate::{Limits, ValidSnapshot, validate};

/// First bytes of every encoding: names the format, NUL-terminated.
pub const MAGIC: &[u8] = b"urne-results-snapshot\0";
/// The encoding version this crate writes.
pub const VERSION: u16 = 1;
/// The media type of an encoded snapshot (a release manifest's `payload-type`).
pub const MEDIA_TYPE: &str = "application/vnd.urne.results-snapshot.v1";

/// Encodes a validated snapshot canonically (see the module docs for the layout).
pub fn encode(snapshot: &ValidSnapshot) -> Vec<u8> {
    let s: &Snapshot = snapshot;
    let mut out = Encoder {
        buf: Vec::with_capacity(1024),
    };
    out.buf.extend_from_slice(MAGIC);
    out.buf.extend_from_slice(&VERSION.to_be_bytes());
    out.str(&s.election.name);
    out.str(s.election.kind.as_str());
    out.str(&s.election.start_date);
    out.str(&s.election.end_date);
    out.str(&s.election.scope_unit);
    out.str(status_str(s.status));
    out.len(s.parties.len());
    for p in &s.parties {
        out.str(&p.id);
        out.str(&p.name);
        out.opt(p.abbreviation.as_deref(), |o, v| o.str(v));
    }
    let unit_index = |id: &str| -> u32 {
        // Validation guarantees every reference resolves.
        s.units
            .binary_search_by(|u| u.id.as_str().cmp(id))
            .map_or(u32::MAX, |i| i as u32)
    };
    out.len(s.units.len());
    for u in &s.units {
        out.str(&u.id);
        out.str(&u.name);
        out.str(u.kind.as_str());
        out.len(u.children.len());
        for c in &u.children {
            out.u32(unit_index(c));
        }
        out.opt(u.facts.ballots_cast, Encoder::u64);
        out.opt(u.facts.registered_voters, Encoder::u64);
        out.opt(u.facts.reporting, |o, r| o.str(r.as_str()));
        out.opt(u.facts.ballots_outstanding, Encoder::u64);
    }
    out.len(s.contests.len());
    for c in &s.contests {
        out.str(&c.id);
        out.str(&c.name);
        out.str(c.kind.as_str());
        out.u32(unit_index(&c.district));
        out.opt(c.votes_allowed, Encoder::u32);
        out.opt(c.variation, |o, v| o.str(v.as_str()));
        out.len(c.choices.len());
        for ch in &c.choices {
            out.str(&ch.id);
            out.str(&ch.name);
            let party = ch.party.as_deref().map(|p| {
                s.parties
                    .binary_search_by(|x| x.id.as_str().cmp(p))
                    .map_or(u32::MAX, |i| i as u32)
            });
            out.opt(party, Encoder::u32);
            out.buf.push(u8::from(ch.write_in));
        }
        out.len(c.counts.len());
        for vc in &c.counts {
            // Positions in the sorted units and choices: the canonical indexes themselves.
            out.u32(vc.unit);
            out.u32(vc.choice);
            out.str(vc.kind.as_str());
            out.opt(vc.round, Encoder::u32);
            out.u64(vc.votes);
        }
        out.len(c.other_counts.len());
        for oc in &c.other_counts {
            out.u32(unit_index(&oc.unit));
            out.str(oc.kind.as_str());
            out.opt(oc.overvotes, Encoder::u64);
            out.opt(oc.undervotes, Encoder::u64);
        }
    }
    out.buf
}

fn status_str(s: ReportStatus) -> &'static str {
    s.as_str()
}

struct Encoder {
    buf: Vec<u8>,
}

impl Encoder {
    fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    fn len(&mut self, n: usize) {
        // Limits keep every list and string far below 2^32 entries.
        self.u32(u32::try_from(n).unwrap_or(u32::MAX));
    }
    fn str(&mut self, s: &str) {
        self.len(s.len());
        self.buf.extend_from_slice(s.as_bytes());
    }
    fn opt<T>(&mut self, v: Option<T>, f: impl FnOnce(&mut Self, T)) {
        match v {
            None => self.buf.push(0),
            Some(v) => {
                self.buf.push(1);
                f(self, v);
            }
        }
    }
}

/// Why bytes are not a canonical `urne-results/v1` snapshot. Nothing is returned on error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The bytes do not start with [`MAGIC`].
    #[error("not an urne results snapshot (bad magic)")]
    BadMagic,
    /// A version this crate does not read.
    #[error("snapshot encoding version {0}, this build reads {VERSION}")]
    Version(u16),
    /// The bytes end inside a field.
    #[error("byte {offset}: truncated {what}")]
    Truncated { offset: usize, what: &'static str },
    /// A field holds a value the format does not allow.
    #[error("byte {offset}: bad {what}")]
    Bad { offset: usize, what: &'static str },
    /// An index points past its table.
    #[error("byte {offset}: {what} index {index} out of range (table has {len})")]
    BadIndex {
        offset: usize,
        what: &'static str,
        index: u32,
        len: usize,
    },
    /// A list is longer than the limits allow.
    #[error("byte {offset}: {what} count {count} exceeds the limit {max}")]
    TooMany {
        offset: usize,
        what: &'static str,
        count: u64,
        max: u64,
    },
    /// Bytes after the end of the snapshot.
    #[error("{0} trailing bytes after the snapshot")]
    TrailingBytes(usize),
    /// The decoded snapshot does not validate.
    #[error("decoded snapshot is invalid: {0}")]
    Invalid(Box<ImportError>),
    /// The bytes decode, but are not what `encode` writes for that snapshot (unsorted
    /// lists, duplicates): a second encoding of the same results is refused.
    #[error("not in canonical form (re-encoding gives different bytes)")]
    NotCanonical,
}

/// Decodes canonical bytes back into a validated snapshot, with [`Limits::DEFAULT`].
pub fn decode(bytes: &[u8]) -> Result<ValidSnapshot, DecodeError> {
    decode_with_limits(bytes, &Limits::DEFAULT)
}

/// [`decode`] with explicit limits (list lengths are checked before anything is allocated).
pub fn decode_with_limits(bytes: &[u8], limits: &Limits) -> Result<ValidSnapshot, DecodeError> {
    let mut d = Decoder {
        buf: bytes,
        pos: 0,
        limits,
    };
    if d.take(MAGIC.len(), "magic")? != MAGIC {
        return Err(DecodeError::BadMagic);
    }
    let version = u16::from_be_bytes(d.array("version")?);
    if version != VERSION {
        return Err(DecodeError::Version(version));
    }
    let snapshot = d.snapshot()?;
    if d.pos != bytes.len() {
        return Err(DecodeError::TrailingBytes(bytes.len() - d.pos));
    }
    let valid = validate("canonical snapshot", snapshot, limits, &mut Vec::new())
        .map_err(|e| DecodeError::Invalid(Box::new(e)))?;
    // Validation sorts; anything that was not already in canonical order (or that encode
    // would write differently) re-encodes to other bytes.
    if encode(&valid) != bytes {
        return Err(DecodeError::NotCanonical);
    }
    Ok(valid)
}

struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
    limits: &'a Limits,
}

impl<'a> Decoder<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let offset = self.pos;
        let end = offset
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or(DecodeError::Truncated { offset, what })?;
        self.pos = end;
        Ok(&self.buf[offset..end])
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let bytes = self.take(N, what)?;
        let mut out = [0; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(what)?[0])
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    /// A list length, checked against `max` and against the bytes left (every element takes
    /// at least `min_bytes`), so a forged length cannot make us allocate.
    fn len(
        &mut self,
        what: &'static str,
        max: u64,
        min_bytes: usize,
    ) -> Result<usize, DecodeError> {
        let offset = self.pos;
        let count = self.u32(what)?;
        if u64::from(count) > max {
            return Err(DecodeError::TooMany {
                offset,
                what,
                count: count.into(),
                max,
            });
        }
        let count = count as usize;
        if count.saturating_mul(min_bytes) > self.buf.len() - self.pos {
            return Err(DecodeError::Truncated { offset, what });
        }
        Ok(count)
    }

    fn str(&mut self, what: &'static str) -> Result<String, DecodeError> {
        let offset = self.pos;
        let n = self.len(what, self.limits.text_bytes_max, 1)?;
        let bytes = self.take(n, what)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| DecodeError::Bad { offset, what })
    }

    fn opt<T>(
        &mut self,
        what: &'static str,
        f: impl FnOnce(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Option<T>, DecodeError> {
        let offset = self.pos;
        match self.u8(what)? {
            0 => Ok(None),
            1 => f(self).map(Some),
            _ => Err(DecodeError::Bad { offset, what }),
        }
    }

    fn enumerated<T>(
        &mut self,
        what: &'static str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<T, DecodeError> {
        let offset = self.pos;
        let text = self.str(what)?;
        parse(&text).ok_or(DecodeError::Bad { offset, what })
    }

    fn index(&mut self, what: &'static str, len: usize) -> Result<usize, DecodeError> {
        let offset = self.pos;
        let index = self.u32(what)?;
        if (index as usize) < len {
            Ok(index as usize)
        } else {
            Err(DecodeError::BadIndex {
                offset,
                what,
                index,
                len,
            })
        }
    }

    fn snapshot(&mut self) -> Result<Snapshot, DecodeError> {
        let election = Election {
            name: self.str("election name")?,
            kind: self.enumerated("election kind", ElectionKind::from_nist)?,
            start_date: self.str("start date")?,
            end_date: self.str("end date")?,
            scope_unit: self.str("scope unit")?,
        };
        let status = self.enumerated("report status", ReportStatus::from_nist)?;
        let n = self.len("parties", u32::MAX.into(), 9)?;
        let mut parties = Vec::with_capacity(n);
        for _ in 0..n {
            parties.push(Party {
                id: self.str("party id")?,
                name: self.str("party name")?,
                abbreviation: self.opt("party abbreviation", |d| d.str("party abbreviation"))?,
            });
        }
        let units = self.units()?;
        let unit_ids: Vec<Id> = units.iter().map(|u| Id::from(&u.id)).collect();
        let n = self.len("contests", self.limits.contests_max, 30)?;
        let mut contests = Vec::with_capacity(n);
        for _ in 0..n {
            contests.push(self.contest(&units, &unit_ids, &parties)?);
        }
        Ok(Snapshot {
            election,
            status,
            parties,
            units,
            contests,
        })
    }

    /// Units refer to each other by index, so ids are resolved once all are read.
    fn units(&mut self) -> Result<Vec<Unit>, DecodeError> {
        let n = self.len("units", self.limits.units_max, 20)?;
        let mut units = Vec::with_capacity(n);
        let mut children_at = Vec::with_capacity(n);
        for _ in 0..n {
            let id = self.str("unit id")?;
            let name = self.str("unit name")?;
            let kind = self.enumerated("unit kind", UnitKind::from_nist)?;
            let c = self.len("unit children", self.limits.units_max, 4)?;
            let mut children = Vec::with_capacity(c);
            for _ in 0..c {
                children.push(self.index("child unit", n)?);
            }
            let facts = UnitFacts {
                ballots_cast: self.opt("ballots cast", |d| d.u64("ballots cast"))?,
                registered_voters: self.opt("registered voters", |d| d.u64("registered voters"))?,
                reporting: self.opt("reporting status", |d| {
                    d.enumerated("reporting status", ReportingStatus::from_nist)
                })?,
                ballots_outstanding: self
                    .opt("ballots outstanding", |d| d.u64("ballots outstanding"))?,
            };
            children_at.push(children);
            units.push(Unit {
                id,
                name,
                kind,
                children: Vec::new(),
                facts,
            });
        }
        for (i, children) in children_at.into_iter().enumerate() {
            units[i].children = children.into_iter().map(|c| units[c].id.clone()).collect();
        }
        Ok(units)
    }

    fn contest(
        &mut self,
        units: &[Unit],
        unit_ids: &[Id],
        parties: &[Party],
    ) -> Result<Contest, DecodeError> {
        let id = self.str("contest id")?;
        let name = self.str("contest name")?;
        let kind = self.enumerated("contest kind", ContestKind::from_nist)?;
        let district = units[self.index("district unit", units.len())?].id.clone();
        let votes_allowed = self.opt("votes allowed", |d| d.u32("votes allowed"))?;
        let variation = self.opt("vote variation", |d| {
            d.enumerated("vote variation", VoteVariation::from_nist)
        })?;
        let n = self.len("choices", self.limits.choices_per_contest_max, 10)?;
        let mut choices = Vec::with_capacity(n);
        for _ in 0..n {
            let id = self.str("choice id")?;
            let name = self.str("choice name")?;
            let party = self.opt("choice party", |d| d.index("party", parties.len()))?;
            let offset = self.pos;
            let write_in = match self.u8("write-in flag")? {
                0 => false,
                1 => true,
                _ => {
                    return Err(DecodeError::Bad {
                        offset,
                        what: "write-in flag",
                    });
                }
            };
            choices.push(Choice {
                id,
                name,
                party: party.map(|p| parties[p].id.clone()),
                write_in,
            });
        }
        let n = self.len("counts", self.limits.counts_max, 21)?;
        let mut counts = Vec::with_capacity(n);
        for _ in 0..n {
            // Indexes below `len`, itself below 2^32 (read as a u32).
            let unit = self.index("count unit", units.len())? as u32;
            let choice = self.index("count choice", choices.len())? as u32;
            counts.push(VoteCount {
                unit,
                choice,
                kind: self.enumerated("count type", CountType::from_nist)?,
                round: self.opt("round", |d| d.u32("round"))?,
                votes: self.u64("votes")?,
            });
        }
        let n = self.len("other counts", self.limits.counts_max, 10)?;
        let mut other_counts = Vec::with_capacity(n);
        for _ in 0..n {
            other_counts.push(OtherCount {
                unit: unit_ids[self.index("other-count unit", units.len())?].clone(),
                kind: self.enumerated("count type", CountType::from_nist)?,
                overvotes: self.opt("overvotes", |d| d.u64("overvotes"))?,
                undervotes: self.opt("undervotes", |d| d.u64("undervotes"))?,
            });
        }
        Ok(Contest {
            id,
            name,
            kind,
            district,
            votes_allowed,
            variation,
            choices,
            counts,
            other_counts,
        })
    }
}
