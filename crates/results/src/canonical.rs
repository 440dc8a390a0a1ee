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

use crate::model::{ReportStatus, Snapshot};
use crate::validate::ValidSnapshot;

/// First bytes of every encoding: names the format, NUL-terminated.
pub const MAGIC: &[u8] = b"urne-results-snapshot\0";
/// The encoding version this crate writes.
pub const VERSION: u16 = 1;

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
        let mut last_unit: (&str, u32) = ("", 0);
        for vc in &c.counts {
            if last_unit.0 != vc.unit {
                last_unit = (&vc.unit, unit_index(&vc.unit));
            }
            out.u32(last_unit.1);
            let choice = c
                .choices
                .binary_search_by(|x| x.id.as_str().cmp(&vc.choice));
            out.u32(choice.map_or(u32::MAX, |i| i as u32));
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
