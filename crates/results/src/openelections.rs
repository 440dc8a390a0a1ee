//! OpenElections-style precinct CSV (`county,precinct,office,district,party,candidate,votes`
//! plus optional vote-type columns), one or many files into one snapshot.
//!
//! Units: one state root, its counties, their precincts (a row whose precinct is empty or
//! "not available" is about the county itself). Contests are (office, district); choices are
//! (candidate, party) spelled exactly as in the file; names that differ only in case or
//! punctuation stay apart and are reported as [`WarningKind::NameVariants`]. The pseudo-offices
//! "Registered Voters" and "Ballots Cast" become unit facts; candidates named "Over Votes" /
//! "Under Votes" become over/undervotes, "Write-ins" a write-in choice.

use std::collections::BTreeMap;
use std::io::Read;
use std::ops::ControlFlow;

use foldhash::{HashMap, HashSet};

use crate::error::{ImportError, Location, ProblemKind, Problems, Warning, WarningKind};
use crate::model::{
    Choice, Contest, ContestKind, CountType, Election, ElectionKind, Id, OtherCount, Party,
    ReportStatus, Snapshot, Unit, UnitFacts, UnitKind, VoteCount,
};
use crate::validate::{Imported, Layout, Limits, Vouched, validate_sorted};

/// One CSV file: its name (for messages) and its bytes.
#[derive(Debug)]
pub struct CsvSource<R> {
    pub name: String,
    pub reader: R,
}

/// What the CSV does not say, and how strict to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    pub limits: Limits,
    pub election_name: String,
    pub election_kind: ElectionKind,
    /// `YYYY-MM-DD`.
    pub election_date: String,
    pub status: ReportStatus,
    /// Name of the root unit (the state); its id is `state`.
    pub state_name: String,
    /// Skip rows that the strict import refuses (non-numeric counts, empty office, vote types
    /// that do not add up, duplicate rows), each with a [`WarningKind::Lenient`] warning.
    /// For exploring messy third-party files; never for publishing.
    pub danger_skip_bad_rows: bool,
}

impl CsvOptions {
    pub fn new(state_name: &str, election_name: &str, election_date: &str) -> Self {
        CsvOptions {
            limits: Limits::DEFAULT,
            election_name: election_name.to_owned(),
            election_kind: ElectionKind::General,
            election_date: election_date.to_owned(),
            status: ReportStatus::UnofficialComplete,
            state_name: state_name.to_owned(),
            danger_skip_bad_rows: false,
        }
    }
}

/// Id of the root unit.
pub const STATE_UNIT_ID: &str = "state";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    County,
    Precinct,
    Office,
    District,
    Party,
    Candidate,
    Total,
    Type(CountType),
    Ignored,
}

fn column(name: &str, seen_office: bool) -> Option<Col> {
    let n = name.trim().to_ascii_lowercase();
    Some(match n.as_str() {
        "county" => Col::County,
        "precinct" => Col::Precinct,
        // Wayne County PA's header says `office,office`: the second one is the district.
        "office" if seen_office => Col::District,
        "office" => Col::Office,
        "district" => Col::District,
        "party" => Col::Party,
        "candidate" => Col::Candidate,
        "votes" | "total_votes" => Col::Total,
        "election_day" | "election_day_votes" => Col::Type(CountType::ElectionDay),
        "absentee_by_mail"
        | "absentee_by_mail_votes"
        | "mail"
        | "mail_in"
        | "mail-in"
        | "absentee"
        | "absentee/mail-in"
        | "absentee/mail"
        | "mail_in_/_absentee" => Col::Type(CountType::AbsenteeMail),
        "advance_in_person"
        | "advance_in_person_1"
        | "advance_in_person_2"
        | "advance_in_person_3"
        | "advanced_votes"
        | "early_voting"
        | "early" => Col::Type(CountType::Early),
        "provisional" | "provisional_votes" => Col::Type(CountType::Provisional),
        "uocava" => Col::Type(CountType::Uocava),
        _ => return None,
    })
}

#[derive(Debug, Default)]
struct Header {
    cols: Vec<Col>,
    county: usize,
    precinct: usize,
    office: usize,
    district: Option<usize>,
    party: Option<usize>,
    candidate: usize,
    total: Option<usize>,
    /// The count columns in order: (position, slot in the row's vote types; `None`: the total).
    counts: Vec<(usize, Option<usize>)>,
}

/// The vote types a row can give besides its total, in count-type order.
const ROW_TYPES: [CountType; 5] = [
    CountType::ElectionDay,
    CountType::Early,
    CountType::AbsenteeMail,
    CountType::Provisional,
    CountType::Uocava,
];

fn header(record: &[&str], p: &mut Problems, w: &mut Vec<Warning>, src: &str) -> Header {
    let mut h = Header::default();
    let mut found = [None::<usize>; 4];
    let mut seen_office = false;
    for (i, &name) in record.iter().enumerate() {
        let col = column(name, seen_office).unwrap_or_else(|| {
            w.push(Warning {
                kind: WarningKind::Dropped,
                location: Location::Line {
                    line: 1,
                    column: Some(name.to_owned()),
                },
                detail: format!("{src}: unknown column {name:?} left out"),
            });
            Col::Ignored
        });
        match col {
            Col::County => found[0] = Some(i),
            Col::Precinct => found[1] = Some(i),
            Col::Office => {
                seen_office = true;
                found[2] = Some(i)
            }
            Col::Candidate => found[3] = Some(i),
            Col::District => h.district = Some(i),
            Col::Party => h.party = Some(i),
            Col::Total => h.total = Some(i),
            _ => {}
        }
        h.cols.push(col);
    }
    for (slot, name) in found
        .iter()
        .zip(["county", "precinct", "office", "candidate"])
    {
        if slot.is_none() {
            p.push(
                Location::Line {
                    line: 1,
                    column: Some(name.to_owned()),
                },
                ProblemKind::Missing("column"),
            );
        }
    }
    if h.total.is_none() && !h.cols.iter().any(|c| matches!(c, Col::Type(_))) {
        p.push(
            Location::Line {
                line: 1,
                column: Some("votes".into()),
            },
            ProblemKind::Missing("column"),
        );
    }
    [h.county, h.precinct, h.office, h.candidate] = found.map(|x| x.unwrap_or(0));
    h.counts = h
        .cols
        .iter()
        .enumerate()
        .filter_map(|(i, col)| match col {
            Col::Total => Some((i, None)),
            Col::Type(t) => Some((i, ROW_TYPES.iter().position(|x| x == t))),
            _ => None,
        })
        .collect();
    h
}

/// Parses a count: digits, optionally with US thousands separators (`1,159`, reported).
#[inline]
fn parse_count(s: &str) -> Result<(u64, bool), ProblemKind> {
    match parse_digits(s.as_bytes()) {
        Some(v) => Ok((v, false)),
        None => parse_count_slow(s),
    }
}

/// The usual count: 1 to 19 ASCII digits (never overflows u64).
#[inline(always)]
fn parse_digits(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 19 {
        return None;
    }
    let mut v = 0u64;
    let mut ok = true;
    for &c in b {
        let d = c.wrapping_sub(b'0');
        ok &= d <= 9;
        v = v.wrapping_mul(10).wrapping_add(u64::from(d));
    }
    ok.then_some(v)
}

/// A count field that is not bare digits: trimmed, then parsed (thousands separators allowed,
/// reported by the `bool`). `Ok(None)`: an empty vote type, which the row does not give; an
/// empty total is refused.
#[cold]
fn unusual_count(untrimmed: &[u8], is_total: bool) -> Result<Option<(u64, bool)>, ProblemKind> {
    let raw = text(trim(untrimmed));
    if raw.is_empty() && !is_total {
        return Ok(None);
    }
    parse_count(raw).map(Some)
}

#[cold]
fn parse_count_slow(s: &str) -> Result<(u64, bool), ProblemKind> {
    let t = s.trim();
    if let Ok(v) = t.parse::<u64>() {
        return Ok((v, false));
    }
    let groups: Vec<&str> = t.split(',').collect();
    let grouped = groups.len() > 1
        && (1..=3).contains(&groups[0].len())
        && groups[1..].iter().all(|g| g.len() == 3)
        && groups
            .iter()
            .all(|g| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit()));
    if grouped {
        let digits: String = groups.concat();
        return digits
            .parse::<u64>()
            .map(|v| (v, true))
            .map_err(|_| ProblemKind::Overflow);
    }
    Err(ProblemKind::BadCount {
        value: t.to_owned(),
    })
}

/// Lowercase letters and digits, runs of anything else as one `-` (an XML NCName once prefixed).
pub(crate) fn slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    slug_into(&mut out, &[s]);
    out
}

/// Appends to `out` the [`slug`] of `parts` read as one text. A run of other characters
/// becomes a `-` only once a letter or digit follows it, so none ends or starts what is added.
fn slug_into(out: &mut String, parts: &[&str]) {
    let start = out.len();
    let mut dash = false;
    for part in parts {
        for ch in part.chars() {
            let alnum = if ch.is_ascii() {
                ch.is_ascii_alphanumeric()
            } else {
                ch.is_alphanumeric()
            };
            if !alnum {
                dash = out.len() > start;
                continue;
            }
            if dash {
                out.push('-');
                dash = false;
            }
            if ch.is_ascii() {
                out.push(ch.to_ascii_lowercase());
            } else {
                out.extend(ch.to_lowercase());
            }
        }
    }
}

/// An id: `prefix` as it is, then the [`slug`] of `parts` read as one text.
fn id_from(prefix: &[&str], parts: &[&str]) -> String {
    let len = prefix.iter().chain(parts).map(|p| p.len()).sum();
    let mut id = String::with_capacity(len);
    for p in prefix {
        id.push_str(p);
    }
    slug_into(&mut id, parts);
    id
}

/// `a`, `sep` and `b` in one string: what `format!("{a}{sep}{b}")` gives, without the
/// formatting machinery (one call per new unit, contest and choice).
fn joined(a: &str, sep: &str, b: &str) -> String {
    let mut s = String::with_capacity(a.len() + sep.len() + b.len());
    s.push_str(a);
    s.push_str(sep);
    s.push_str(b);
    s
}

/// Ids made unique: the first to ask for a slug gets it as it is, a later one the first free
/// `{slug}-{n}`, n = 2, 3, ….
///
/// Invariant: no id is handed out twice. Every id handed out, suffixed or not, is taken from
/// then on, so a later name whose own slug is `aliquippa-2` does not get the id an earlier
/// `ALIQUIPPA` got when `ALIQUIPPA=` had taken `aliquippa`.
#[derive(Debug, Default)]
pub(crate) struct UniqueIds {
    /// Every id handed out.
    taken: HashSet<String>,
    /// Per slug that was taken when asked for, the last suffix tried.
    suffix: HashMap<String, u32>,
}

impl UniqueIds {
    /// `base`, or the first free suffixed form of it; taken from now on.
    pub(crate) fn claim(&mut self, base: String) -> String {
        if self.taken.insert(base.clone()) {
            return base;
        }
        let n = self.suffix.entry(base.clone()).or_insert(1);
        loop {
            *n += 1;
            let id = format!("{base}-{n}");
            if self.taken.insert(id.clone()) {
                return id;
            }
        }
    }
}

/// Hands out ids derived from names, unique even when two names slug the same
/// ([`UniqueIds`]).
#[derive(Debug, Default)]
struct Ids {
    by_key: HashMap<String, usize>,
    unique: UniqueIds,
}

impl Ids {
    /// Index for `key`, creating it with the id `base()` (made unique) if new.
    fn get(
        &mut self,
        key: &str,
        base: impl FnOnce() -> String,
        ids: &mut Vec<String>,
    ) -> (usize, bool) {
        if let Some(&i) = self.by_key.get(key) {
            return (i, false);
        }
        let id = self.unique.claim(base());
        let i = ids.len();
        ids.push(id);
        self.by_key.insert(key.to_owned(), i);
        (i, true)
    }
}

/// One accepted choice row: what it counts, and where its counts are in
/// [`ContestAcc::votes`].
#[derive(Debug, Clone, Copy)]
struct RowRec {
    unit: u32,
    choice: u32,
    /// Where its counts start in `votes`: the total, then one per vote type it gives.
    start: u32,
    /// Which of [`ROW_TYPES`] it gives (bit `j`: `ROW_TYPES[j]`).
    types: u8,
}

#[derive(Debug, Default)]
struct ContestAcc {
    choices: Vec<Choice>,
    choice_ids: Ids,
    choice_id_list: Vec<String>,
    /// Per choice, the units that already have a row for it: a second row is a duplicate.
    seen: Vec<UnitSet>,
    /// Per choice, the party as the file spelled it (the name is in `choices`).
    choice_party: Vec<String>,
    /// The choice of the previous choice row, and per choice the one that followed it last:
    /// files repeat the same order of candidates unit after unit (or list one candidate's rows
    /// together), so most rows find their choice by comparing two strings, without hashing.
    last_choice: Option<u32>,
    next_choice: Vec<u32>,
    /// Every accepted choice row, in file order; put in order in [`finish`].
    rows: Vec<RowRec>,
    /// The counts of every accepted row, each row's in count-type order: the total, then the
    /// vote types the row gives.
    votes: Vec<u64>,
    /// (unit index, kind) -> (over, under); put in order in [`finish`].
    other: HashMap<(u32, CountType), OverUnder>,
}

impl ContestAcc {
    /// The choice that followed the previous choice row's last time, or that one again, if it
    /// is `candidate` of `party`.
    #[inline(always)]
    fn predict_choice(&self, candidate: &[u8], party: &[u8]) -> Option<u32> {
        let last = self.last_choice?;
        let next = self.next_choice[last as usize];
        if next != u32::MAX && self.is_choice(next, candidate, party) {
            Some(next)
        } else if self.is_choice(last, candidate, party) {
            Some(last)
        } else {
            None
        }
    }

    #[inline(always)]
    fn is_choice(&self, i: u32, candidate: &[u8], party: &[u8]) -> bool {
        let i = i as usize;
        same(self.choices[i].name.as_bytes(), candidate)
            && same(self.choice_party[i].as_bytes(), party)
    }
}

/// A set of unit indices: a bitmap over the words its units span while that stays small next
/// to the units it holds, otherwise a hash set (so that no input makes it large). A contest's
/// units are mostly created together (one county's precincts), so the span starts at the first
/// one's word, not at 0.
#[derive(Debug)]
enum UnitSet {
    Bits {
        /// Word index of `words[0]`.
        base: u32,
        words: Vec<u64>,
        len: usize,
    },
    Hashed(HashSet<u32>),
}

impl Default for UnitSet {
    fn default() -> Self {
        UnitSet::Bits {
            base: 0,
            words: Vec::new(),
            len: 0,
        }
    }
}

impl UnitSet {
    /// Adds `u`; false if it was there already.
    fn insert(&mut self, u: u32) -> bool {
        match self {
            UnitSet::Bits { base, words, len } => {
                let (w, bit) = (u / 64, 1u64 << (u % 64));
                if words.is_empty() {
                    *base = w;
                }
                // The span of words with `w` in it, if it has to grow.
                let (from, to) = ((*base).min(w), (*base + words.len() as u32).max(w + 1));
                if to - from > words.len() as u32 {
                    if (to - from) as usize > 64 + 16 * *len {
                        let mut set: HashSet<u32> = HashSet::default();
                        for (i, &word) in (*base..).zip(words.iter()) {
                            set.extend((0..64).filter(|b| word >> b & 1 == 1).map(|b| i * 64 + b));
                        }
                        set.insert(u);
                        *self = UnitSet::Hashed(set);
                        return true;
                    }
                    if from < *base {
                        words.splice(0..0, std::iter::repeat_n(0, (*base - from) as usize));
                        *base = from;
                    }
                    words.resize((to - from) as usize, 0);
                }
                let word = &mut words[(w - *base) as usize];
                let new = *word & bit == 0;
                *word |= bit;
                *len += usize::from(new);
                new
            }
            UnitSet::Hashed(set) => set.insert(u),
        }
    }
}

/// Predicts the next row's unit or office from the previous row's, as
/// [`ContestAcc::next_choice`] does for choices: consecutive rows nearly always share their
/// unit and office, and where they do not, files repeat the same sequence (the offices of each
/// precinct; the precincts of each candidate's run of rows), so most rows find both by
/// comparing strings with the predicted entry's, without building a key or hashing.
#[derive(Debug, Default)]
struct Predictor {
    /// Per entry, the two fields of a row that the keyed lookup resolved to it (a shortcut
    /// only: a row whose fields differ goes through that lookup, which decides; `None`: not
    /// yet seen as a row's entry).
    names: Vec<Option<(String, String)>>,
    /// Per entry, the one that followed it last (`u32::MAX`: none yet).
    next: Vec<u32>,
    last: Option<u32>,
}

impl Predictor {
    /// The entry named by `(a, b)` if it is the previous row's or the one that followed it
    /// last time.
    #[inline(always)]
    fn predict(&self, a: &[u8], b: &[u8]) -> Option<u32> {
        let last = self.last?;
        if self.is(last, a, b) {
            return Some(last);
        }
        let next = self.next[last as usize];
        (next != u32::MAX && self.is(next, a, b)).then_some(next)
    }

    #[inline(always)]
    fn is(&self, i: u32, a: &[u8], b: &[u8]) -> bool {
        match &self.names[i as usize] {
            Some((x, y)) => same(x.as_bytes(), a) && same(y.as_bytes(), b),
            None => false,
        }
    }

    /// Records that this row's entry is `i`.
    #[inline]
    fn seen(&mut self, i: u32) {
        if let Some(last) = self.last
            && last != i
        {
            self.next[last as usize] = i;
        }
        self.last = Some(i);
    }

    /// Names entry `i` by `(a, b)` unless it has a name already.
    fn add(&mut self, i: usize, a: &str, b: &str) {
        if self.names.len() <= i {
            self.names.resize(i + 1, None);
            self.next.resize(i + 1, u32::MAX);
        }
        if self.names[i].is_none() {
            self.names[i] = Some((a.to_owned(), b.to_owned()));
        }
    }
}

/// String equality without a call into `memcmp` for the short fields of a CSV row: whole
/// words, the last one overlapping the one before it.
#[inline(always)]
fn same(x: &[u8], y: &[u8]) -> bool {
    let n = x.len();
    if n != y.len() {
        return false;
    }
    if n >= 8 {
        if n > 32 {
            return x == y;
        }
        let word =
            |s: &[u8], i: usize| u64::from_le_bytes(s[i..i + 8].try_into().unwrap_or([0; 8]));
        let mut i = 0;
        while i + 8 < n {
            if word(x, i) != word(y, i) {
                return false;
            }
            i += 8;
        }
        return word(x, n - 8) == word(y, n - 8);
    }
    if n >= 4 {
        let half =
            |s: &[u8], i: usize| u32::from_le_bytes(s[i..i + 4].try_into().unwrap_or([0; 4]));
        return half(x, 0) == half(y, 0) && half(x, n - 4) == half(y, n - 4);
    }
    n == 0 || (x[0] == y[0] && x[n / 2] == y[n / 2] && x[n - 1] == y[n - 1])
}

/// What a row's (office, district) stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Pseudo(Pseudo),
    Contest(usize),
}

#[derive(Debug, Default)]
struct Acc {
    units: Vec<Unit>,
    unit_ids: Ids,
    unit_id_list: Vec<String>,
    contests: Vec<(String, ContestAcc)>,
    contest_ids: Ids,
    contest_id_list: Vec<String>,
    parties: Vec<Party>,
    party_ids: Ids,
    party_id_list: Vec<String>,
    rows: u64,
    key: String,
    /// Units by (county, precinct field).
    unit_guess: Predictor,
    /// Offices by (office, district), with what each stands for.
    office_guess: Predictor,
    office_targets: Vec<Target>,
    office_keys: HashMap<String, u32>,
    /// csv-core's reader for records the fast path leaves to it, kept from file to file.
    csv_core: Option<crate::csv_records::Slow>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pseudo {
    RegisteredVoters,
    BallotsCast,
    Dropped,
}

fn pseudo(office: &str) -> Option<Pseudo> {
    let o = office.trim();
    let is = |name: &str| o.eq_ignore_ascii_case(name);
    if is("registered voters") {
        Some(Pseudo::RegisteredVoters)
    } else if is("ballots cast") {
        Some(Pseudo::BallotsCast)
    } else if is("ballots cast blank") || is("ballots cast - blank") {
        Some(Pseudo::Dropped)
    } else {
        None
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line {
    Choice { write_in: bool },
    Over,
    Under,
}

/// `str::trim` of a field's bytes, with a shortcut for the usual field that starts and ends
/// with a printable ASCII character (every whitespace character is either ASCII at or below
/// b' ' or not ASCII).
#[inline(always)]
fn trim(s: &[u8]) -> &[u8] {
    let printable = |b: Option<&u8>| b.is_none_or(|&b| b > b' ' && b < 0x7f);
    // An empty field is its own trim too.
    if printable(s.first()) & printable(s.last()) {
        s
    } else {
        trim_slow(s)
    }
}

#[cold]
fn trim_slow(s: &[u8]) -> &[u8] {
    text(s).trim().as_bytes()
}

/// A field's bytes as text. Fields are cut from UTF-8 text at ASCII separators, so they are
/// UTF-8 too: this never gives the empty fallback. Used off the per-row path (new names,
/// messages), where checking is cheap next to the rest.
fn text(field: &[u8]) -> &str {
    std::str::from_utf8(field).unwrap_or_default()
}

/// Field `i` of a record, trimmed (empty if the record is shorter).
#[inline(always)]
fn field<'a>(r: &[&'a [u8]], i: usize) -> &'a [u8] {
    trim(r.get(i).copied().unwrap_or(&[]))
}

/// The candidate's letters and digits, lowercased, if that is short ASCII (every special line
/// name is); `None` otherwise. Same result as collecting and lowercasing, without allocating.
fn squeeze(candidate: &str, buf: &mut [u8; 16]) -> Option<usize> {
    let mut n = 0;
    if candidate.is_ascii() {
        // The same for ASCII, without a Unicode table per character.
        for b in candidate.bytes().filter(u8::is_ascii_alphanumeric) {
            *buf.get_mut(n)? = b.to_ascii_lowercase();
            n += 1;
        }
        return Some(n);
    }
    for ch in candidate.chars().filter(|c| c.is_alphanumeric()) {
        for lc in ch.to_lowercase() {
            if !lc.is_ascii() || n == buf.len() {
                return None;
            }
            buf[n] = lc as u8;
            n += 1;
        }
    }
    Some(n)
}

/// [`line_kind`] of a field's bytes, settled without making it text when its first letter or
/// digit is ASCII and not o, u or w (or it has none): every special name starts with one.
#[inline]
fn line_kind_of(candidate: &[u8]) -> Line {
    let first = candidate
        .iter()
        .find(|b| b.is_ascii_alphanumeric() || !b.is_ascii());
    match first {
        None => Line::Choice { write_in: false },
        Some(&b) if b.is_ascii() && !matches!(b.to_ascii_lowercase(), b'o' | b'u' | b'w') => {
            Line::Choice { write_in: false }
        }
        Some(_) => line_kind(text(candidate)),
    }
}

/// What a candidate field names: an over/under line, a write-in line, or a choice. Every
/// special name starts with o, u or w; [`line_kind_of`] settles the other names by their
/// first letter before calling this.
fn line_kind(candidate: &str) -> Line {
    let mut buf = [0u8; 16];
    let Some(n) = squeeze(candidate, &mut buf) else {
        return Line::Choice { write_in: false };
    };
    match std::str::from_utf8(&buf[..n]).unwrap_or("") {
        "overvotes" | "overvote" => Line::Over,
        "undervotes" | "undervote" => Line::Under,
        "writeins" | "writein" | "writeinvotes" | "writeintotals" => {
            Line::Choice { write_in: true }
        }
        _ => Line::Choice { write_in: false },
    }
}

/// Imports OpenElections CSV files into one snapshot.
pub fn import_openelections_csv<R: Read>(
    sources: Vec<CsvSource<R>>,
    options: &CsvOptions,
) -> Result<Imported, ImportError> {
    // One buffer for every file: it grows only for the biggest.
    let mut bytes = Vec::new();
    import_set(options, |acc, warnings| {
        for source in sources {
            let bytes_max = options.limits.source_bytes_max;
            crate::nist_json::read_limited_into(
                &source.name,
                source.reader,
                bytes_max,
                &mut bytes,
            )?;
            read_file(&source.name, &bytes, options, acc, warnings)?;
        }
        Ok(())
    })
}

/// [`import_openelections_csv`] for files already in memory, read where they are.
pub fn import_openelections_csv_bytes(
    sources: &[CsvSource<&[u8]>],
    options: &CsvOptions,
) -> Result<Imported, ImportError> {
    import_set(options, |acc, warnings| {
        for source in sources {
            let bytes_max = options.limits.source_bytes_max;
            crate::nist_json::check_source_size(&source.name, source.reader.len(), bytes_max)?;
            read_file(&source.name, source.reader, options, acc, warnings)?;
        }
        Ok(())
    })
}

/// One set: the files `read_all` reads into the accumulator, then put in order and validated.
fn import_set(
    options: &CsvOptions,
    read_all: impl FnOnce(&mut Acc, &mut Vec<Warning>) -> Result<(), ImportError>,
) -> Result<Imported, ImportError> {
    let mut acc = Acc::default();
    acc.unit_ids.get(
        STATE_UNIT_ID,
        || STATE_UNIT_ID.to_owned(),
        &mut acc.unit_id_list,
    );
    acc.units.push(Unit {
        id: STATE_UNIT_ID.to_owned(),
        name: options.state_name.clone(),
        kind: UnitKind::State,
        children: Vec::new(),
        facts: UnitFacts::default(),
    });
    let mut warnings = Vec::new();
    read_all(&mut acc, &mut warnings)?;
    let set_name = "OpenElections CSV set";
    let (snapshot, vouched) = finish(acc, options, &mut warnings);
    let snapshot = validate_sorted(
        set_name,
        snapshot,
        &options.limits,
        &mut warnings,
        Some(vouched),
    )?;
    Ok(Imported { snapshot, warnings })
}

/// Physical line numbers from byte offsets. The csv crate's own line count lags by one after a
/// CRLF line end (the record starts at the `\n`), so we count newlines ourselves.
#[derive(Debug, Default)]
struct LineCounter {
    byte: usize,
    newlines: u64,
}

impl LineCounter {
    fn line_at(&mut self, bytes: &[u8], start: u64) -> u64 {
        let mut start = usize::try_from(start)
            .unwrap_or(bytes.len())
            .min(bytes.len());
        // A record "starting" on line-end bytes really starts after them.
        while start < bytes.len() && matches!(bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        if start >= self.byte {
            self.newlines += memchr::memchr_iter(b'\n', &bytes[self.byte..start]).count() as u64;
            self.byte = start;
        }
        self.newlines + 1
    }
}

struct Summary {
    thousands: (u64, u64),
    dropped_pseudo: (u64, u64),
    skipped: u64,
}

/// One file being read: its header once seen, its problems and summary so far.
struct FileState<'a> {
    src: &'a str,
    options: &'a CsvOptions,
    header: Option<Header>,
    p: Problems,
    sum: Summary,
}

impl FileState<'_> {
    /// The header (first record) or one data row.
    fn record(
        &mut self,
        line: u64,
        fields: &[&[u8]],
        acc: &mut Acc,
        warnings: &mut Vec<Warning>,
    ) -> Result<(), ImportError> {
        let (src, options) = (self.src, self.options);
        let Some(h) = &self.header else {
            let names: Vec<&str> = fields.iter().map(|f| text(f)).collect();
            let h = header(&names, &mut self.p, warnings, src);
            if !self.p.is_empty() {
                return Err(std::mem::take(&mut self.p).into_error(src));
            }
            self.header = Some(h);
            return Ok(());
        };
        acc.rows += 1;
        if acc.rows > options.limits.rows_max {
            return Err(ImportError::one(
                src,
                Location::Line { line, column: None },
                ProblemKind::Limit {
                    what: "rows",
                    count: acc.rows,
                    max: options.limits.rows_max,
                },
            ));
        }
        let mut row_p = Problems::default();
        row(fields, line, h, acc, &mut row_p, &mut self.sum);
        if !row_p.is_empty() {
            if options.danger_skip_bad_rows {
                self.sum.skipped += 1;
                for pr in row_p.list {
                    warnings.push(Warning {
                        kind: WarningKind::Lenient,
                        location: pr.location,
                        detail: format!("{src}: row skipped: {}", pr.kind),
                    });
                }
            } else {
                for pr in row_p.list {
                    self.p.push(pr.location, pr.kind);
                }
            }
        }
        Ok(())
    }
}

/// One file's bytes into the accumulator.
fn read_file(
    src: &str,
    bytes: &[u8],
    options: &CsvOptions,
    acc: &mut Acc,
    warnings: &mut Vec<Warning>,
) -> Result<(), ImportError> {
    let mut file = FileState {
        src,
        options,
        header: None,
        p: Problems::default(),
        sum: Summary {
            thousands: (0, 0),
            dropped_pseudo: (0, 0),
            skipped: 0,
        },
    };
    match std::str::from_utf8(bytes) {
        // The usual case: the whole file is text, so every field is.
        Ok(text) => {
            let mut slow = acc.csv_core.take();
            let on_record = |line, fields: &[&[u8]]| match file.record(line, fields, acc, warnings)
            {
                Ok(()) => ControlFlow::Continue(()),
                Err(e) => ControlFlow::Break(e),
            };
            let flow = crate::csv_records::for_each_record(text, &mut slow, on_record);
            acc.csv_core = slow;
            if let ControlFlow::Break(e) = flow {
                return Err(e);
            }
        }
        // Not UTF-8 somewhere: the csv crate reads up to the bad record and reports it.
        Err(_) => {
            let mut rdr = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(bytes);
            let mut record = csv::StringRecord::new();
            let read_err = |e: csv::Error| {
                let line = e.position().map_or(0, |pos| pos.line());
                ImportError::one(
                    src,
                    Location::Line { line, column: None },
                    ProblemKind::Syntax(e.to_string()),
                )
            };
            let mut lines = LineCounter::default();
            while rdr.read_record(&mut record).map_err(read_err)? {
                let line = lines.line_at(bytes, record.position().map_or(0, |pos| pos.byte()));
                let fields: Vec<&[u8]> = record.iter().map(str::as_bytes).collect();
                file.record(line, &fields, acc, warnings)?;
            }
        }
    }
    if file.header.is_none() {
        return Err(ImportError::one(
            src,
            Location::Whole,
            ProblemKind::Empty("file"),
        ));
    }
    let FileState { p, sum, .. } = file;
    if !p.is_empty() {
        return Err(p.into_error(src));
    }
    if sum.thousands.0 > 0 {
        warnings.push(Warning {
            kind: WarningKind::ThousandsSeparator,
            location: Location::Line {
                line: sum.thousands.1,
                column: None,
            },
            detail: format!(
                "{src}: {} counts written with thousands separators (first here)",
                sum.thousands.0
            ),
        });
    }
    if sum.dropped_pseudo.0 > 0 {
        warnings.push(Warning {
            kind: WarningKind::Dropped,
            location: Location::Line {
                line: sum.dropped_pseudo.1,
                column: None,
            },
            detail: format!(
                "{src}: {} \"Ballots Cast Blank\" rows left out (first here)",
                sum.dropped_pseudo.0
            ),
        });
    }
    Ok(())
}

fn row(r: &[&[u8]], line: u64, h: &Header, acc: &mut Acc, p: &mut Problems, sum: &mut Summary) {
    let at = |col: &str| Location::Line {
        line,
        column: Some(col.to_owned()),
    };
    if r.len() != h.cols.len() {
        p.push(
            Location::Line { line, column: None },
            ProblemKind::Syntax(format!(
                "{} fields, the header has {}",
                r.len(),
                h.cols.len()
            )),
        );
        return;
    }
    let field = |i: usize| field(r, i);
    let county = field(h.county);
    let precinct = field(h.precinct);
    let office = field(h.office);
    let district = h.district.map_or(&b""[..], field);
    let party = h.party.map_or(&b""[..], field);
    let candidate = field(h.candidate);
    if county.is_empty() {
        p.push(at("county"), ProblemKind::Empty("county"));
        return;
    }
    if office.is_empty() {
        p.push(at("office"), ProblemKind::Empty("office"));
        return;
    }
    // Counts first: a bad row must change nothing.
    let mut total: Option<u64> = None;
    // Per vote type of `ROW_TYPES`, the row's votes (summed if several columns give the type),
    // and which types the row gives (bit `j`: `ROW_TYPES[j]`).
    let mut types = [0u64; 5];
    let mut types_given = 0u8;
    for &(i, slot) in &h.counts {
        // `r` has the header's length, and the header's count columns are in it.
        let untrimmed = r[i];
        // The usual count is bare digits, which trimming would leave as they are.
        let v = match parse_digits(untrimmed) {
            Some(v) => v,
            None => match unusual_count(untrimmed, slot.is_none()) {
                Ok(Some((v, grouped))) => {
                    if grouped {
                        sum.thousands.0 += 1;
                        if sum.thousands.1 == 0 {
                            sum.thousands.1 = line;
                        }
                    }
                    v
                }
                Ok(None) => continue, // A vote type this row does not report.
                Err(k) => {
                    let name = match h.cols[i] {
                        Col::Total => "votes".to_owned(),
                        Col::Type(t) => t.as_str().to_owned(),
                        _ => String::new(),
                    };
                    p.push(at(&name), k);
                    return;
                }
            },
        };
        match slot {
            None => total = Some(v),
            Some(s) => {
                let Some(x) = types[s].checked_add(v) else {
                    p.push(at("votes"), ProblemKind::Overflow);
                    return;
                };
                types[s] = x;
                types_given |= 1 << s;
            }
        }
    }
    // Types the row does not give are 0 here.
    let Some(type_sum) = types.iter().try_fold(0u64, |a, &t| a.checked_add(t)) else {
        p.push(at("votes"), ProblemKind::Overflow);
        return;
    };
    let total = match total {
        Some(t) if types_given != 0 && t != type_sum => {
            p.push(
                at("votes"),
                ProblemKind::TotalMismatch {
                    total: t,
                    sum: type_sum,
                },
            );
            return;
        }
        Some(t) => t,
        None => type_sum,
    };

    let unit = unit_index(acc, county, precinct);
    let ci = match office_target(acc, office, district) {
        Target::Contest(ci) => ci,
        Target::Pseudo(ps) => {
            let facts = &mut acc.units[unit].facts;
            match ps {
                Pseudo::RegisteredVoters => facts.registered_voters = Some(total),
                Pseudo::BallotsCast => facts.ballots_cast = Some(total),
                Pseudo::Dropped => {
                    sum.dropped_pseudo.0 += 1;
                    if sum.dropped_pseudo.1 == 0 {
                        sum.dropped_pseudo.1 = line;
                    }
                }
            }
            return;
        }
    };
    let contest_id = &acc.contest_id_list[ci];
    let Acc {
        contests,
        parties,
        party_ids,
        party_id_list,
        key,
        ..
    } = acc;
    let c = &mut contests[ci].1;
    let predicted = c.predict_choice(candidate, party);
    let kind_line = match predicted {
        // The same text as a choice's: a choice line.
        Some(_) => Line::Choice { write_in: false },
        None => line_kind_of(candidate),
    };
    match kind_line {
        Line::Choice { write_in } => {
            let chi = match predicted {
                Some(i) => i as usize,
                None => choice_index(
                    c,
                    contest_id,
                    text(candidate),
                    text(party),
                    write_in,
                    parties,
                    party_ids,
                    party_id_list,
                    key,
                ),
            };
            if let Some(last) = c.last_choice {
                c.next_choice[last as usize] = chi as u32;
            }
            c.last_choice = Some(chi as u32);
            // Indices fit in u32: units and choices are far below the limits that refuse
            // bigger imports, and ids are created one per row at most.
            let (u, ch) = (unit as u32, chi as u32);
            if !c.seen[chi].insert(u) {
                p.push(
                    Location::Line { line, column: None },
                    ProblemKind::DuplicateCount(format!(
                        "{:?} {:?} {:?} {:?} {:?} {:?}",
                        text(county),
                        text(precinct),
                        text(office),
                        text(district),
                        text(candidate),
                        text(party)
                    )),
                );
                return;
            }
            c.rows.push(RowRec {
                unit: u,
                choice: ch,
                start: c.votes.len() as u32,
                types: types_given,
            });
            c.votes.push(total);
            for (j, &v) in types.iter().enumerate() {
                if types_given >> j & 1 == 1 {
                    c.votes.push(v);
                }
            }
        }
        Line::Over | Line::Under => {
            let mut entries = [(CountType::Total, total); 6];
            let mut n = 1;
            for (j, (&kind, &v)) in ROW_TYPES.iter().zip(&types).enumerate() {
                if types_given >> j & 1 == 1 {
                    entries[n] = (kind, v);
                    n += 1;
                }
            }
            let entries = &entries[..n];
            // Check every slot before writing any: a refused row changes nothing.
            let slot_of = |e: &(Option<u64>, Option<u64>)| {
                if kind_line == Line::Over { e.0 } else { e.1 }
            };
            if entries.iter().any(|&(kind, _)| {
                c.other
                    .get(&(unit as u32, kind))
                    .and_then(slot_of)
                    .is_some()
            }) {
                p.push(
                    Location::Line { line, column: None },
                    ProblemKind::DuplicateCount(format!(
                        "{:?} {:?} {:?} {:?} {:?}",
                        text(county),
                        text(precinct),
                        text(office),
                        text(district),
                        text(candidate)
                    )),
                );
                return;
            }
            for &(kind, v) in entries {
                let e = c.other.entry((unit as u32, kind)).or_default();
                if kind_line == Line::Over {
                    e.0 = Some(v)
                } else {
                    e.1 = Some(v)
                }
            }
        }
    }
}

/// The choice for `candidate` and `party` in contest `c`, created (with its party) if new.
#[allow(clippy::too_many_arguments)]
fn choice_index(
    c: &mut ContestAcc,
    contest_id: &str,
    candidate: &str,
    party: &str,
    write_in: bool,
    parties: &mut Vec<Party>,
    party_ids: &mut Ids,
    party_id_list: &mut Vec<String>,
    key: &mut String,
) -> usize {
    key.clear();
    key.push_str(candidate);
    key.push('\u{1f}');
    key.push_str(party);
    let label = || {
        if party.is_empty() {
            id_from(&[contest_id, "."], &[candidate])
        } else {
            id_from(&[contest_id, "."], &[candidate, " ", party])
        }
    };
    let (chi, new) = c.choice_ids.get(key, label, &mut c.choice_id_list);
    if new {
        let party_id = if party.is_empty() {
            None
        } else {
            let (pi, new) = party_ids.get(party, || id_from(&["party-"], &[party]), party_id_list);
            if new {
                parties.push(Party {
                    id: party_id_list[pi].clone(),
                    name: party.to_owned(),
                    abbreviation: None,
                });
            }
            Some(party_id_list[pi].clone())
        };
        c.choices.push(Choice {
            id: c.choice_id_list[chi].clone(),
            name: candidate.to_owned(),
            party: party_id,
            write_in,
        });
        c.choice_party.push(party.to_owned());
        c.seen.push(UnitSet::default());
        c.next_choice.push(u32::MAX);
    }
    chi
}

/// The pseudo-office or contest that `office` and `district` name, created if new.
#[inline]
fn office_target(acc: &mut Acc, office: &[u8], district: &[u8]) -> Target {
    if let Some(i) = acc.office_guess.predict(office, district) {
        acc.office_guess.seen(i);
        return acc.office_targets[i as usize];
    }
    office_lookup(acc, text(office), text(district))
}

fn office_lookup(acc: &mut Acc, office: &str, district: &str) -> Target {
    acc.key.clear();
    acc.key.push_str(office);
    acc.key.push('\u{1f}');
    acc.key.push_str(district);
    let i = match acc.office_keys.get(&acc.key) {
        Some(&i) => i,
        None => {
            let target = match pseudo(office) {
                Some(ps) => Target::Pseudo(ps),
                None => Target::Contest(contest_index(acc, office, district)),
            };
            let i = acc.office_targets.len() as u32;
            acc.office_targets.push(target);
            acc.office_keys.insert(acc.key.clone(), i);
            acc.office_guess.add(i as usize, office, district);
            i
        }
    };
    acc.office_guess.seen(i);
    acc.office_targets[i as usize]
}

fn contest_index(acc: &mut Acc, office: &str, district: &str) -> usize {
    let label = || {
        if district.is_empty() {
            id_from(&["c-"], &[office])
        } else {
            id_from(&["c-"], &[office, " ", district])
        }
    };
    // `acc.key` holds office, separator, district.
    let (ci, new) = acc
        .contest_ids
        .get(&acc.key, label, &mut acc.contest_id_list);
    if new {
        let name = if district.is_empty() {
            office.to_owned()
        } else {
            joined(office, ", ", district)
        };
        acc.contests.push((name, ContestAcc::default()));
    }
    ci
}

#[inline]
fn unit_index(acc: &mut Acc, county: &[u8], precinct: &[u8]) -> usize {
    if let Some(u) = acc.unit_guess.predict(county, precinct) {
        acc.unit_guess.seen(u);
        return u as usize;
    }
    let (county, precinct) = (text(county), text(precinct));
    let u = unit_lookup(acc, county, precinct);
    acc.unit_guess.add(u, county, precinct);
    acc.unit_guess.seen(u as u32);
    u
}

fn unit_lookup(acc: &mut Acc, county: &str, precinct: &str) -> usize {
    acc.key.clear();
    acc.key.push_str(county);
    let (cu, new) = acc.unit_ids.get(
        &acc.key,
        || id_from(&["county-"], &[county]),
        &mut acc.unit_id_list,
    );
    if new {
        acc.units.push(Unit {
            id: acc.unit_id_list[cu].clone(),
            name: county.to_owned(),
            kind: UnitKind::County,
            children: Vec::new(),
            facts: UnitFacts::default(),
        });
        let id = acc.unit_id_list[cu].clone();
        acc.units[0].children.push(id);
    }
    if precinct.is_empty() || precinct.eq_ignore_ascii_case("not available") {
        return cu;
    }
    acc.key.push('\u{1f}');
    acc.key.push_str(precinct);
    let label = || id_from(&["p-"], &[county, " ", precinct]);
    let (pu, new) = acc.unit_ids.get(&acc.key, label, &mut acc.unit_id_list);
    if new {
        acc.units.push(Unit {
            id: acc.unit_id_list[pu].clone(),
            name: precinct.to_owned(),
            kind: UnitKind::Precinct,
            children: Vec::new(),
            facts: UnitFacts::default(),
        });
        let id = acc.unit_id_list[pu].clone();
        acc.units[cu].children.push(id);
    }
    pu
}

/// Position of each id in sorted order, so counts can be emitted already in canonical order
/// (sorting integers here is much cheaper than sorting by strings later).
fn ranks(ids: &[String]) -> Vec<u32> {
    let mut order: Vec<u32> = (0..ids.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| ids[a as usize].cmp(&ids[b as usize]));
    let mut rank = vec![0; ids.len()];
    for (r, i) in order.into_iter().enumerate() {
        rank[i as usize] = r as u32;
    }
    rank
}

/// Sorts rows keyed by unit rank (high 32 bits) and choice rank (each below `units` and
/// `choices`). Two stable counting sorts, by choice then by unit, cost a fraction of a general
/// sort. Where the rows are in unit order already, or too few for a pass over every unit to
/// pay, each unit's few rows are sorted instead.
fn sort_rows(
    keyed: &mut Vec<(u64, u32)>,
    units: usize,
    choices: usize,
    (starts, tmp, runs): &mut SortScratch,
) {
    let unit = |k: u64| (k >> 32) as usize;
    if !keyed.is_sorted_by_key(|e| unit(e.0)) {
        if keyed.len() < units / 4 {
            // Few rows for many units: the counting sort's pass over all units would dominate.
            // Sort the runs of one unit's rows instead (a unit's rows nearly always come
            // together, so there are a few times fewer runs than rows); runs of the same
            // unit stay in file order and end up next to each other.
            runs.clear();
            let mut at = 0u32;
            for run in keyed.chunk_by(|a, b| unit(a.0) == unit(b.0)) {
                // Row counts fit in u32 (they index `rows` as u32 already).
                runs.push(((run[0].0 >> 32) as u32, at, run.len() as u32));
                at += run.len() as u32;
            }
            runs.sort_unstable();
            tmp.clear();
            for &(_, start, len) in runs.iter() {
                tmp.extend_from_slice(&keyed[start as usize..(start + len) as usize]);
            }
            std::mem::swap(keyed, tmp);
            for run in keyed.chunk_by_mut(|a, b| unit(a.0) == unit(b.0)) {
                run.sort_unstable();
            }
            return;
        }
        // Two stable counting sorts, by choice and then by unit, leave rows in (unit, choice)
        // order: no comparison sort of each unit's rows afterwards.
        let choice = |k: u64| (k as u32) as usize;
        counting_sort(keyed, tmp, starts, choices, choice);
        counting_sort(tmp, keyed, starts, units, unit);
        return;
    }
    for run in keyed.chunk_by_mut(|a, b| unit(a.0) == unit(b.0)) {
        run.sort_unstable();
    }
}

/// `from` into `to` in the order of `bucket(key)` (each below `buckets`), stable.
fn counting_sort(
    from: &[(u64, u32)],
    to: &mut Vec<(u64, u32)>,
    starts: &mut Vec<u32>,
    buckets: usize,
    bucket: impl Fn(u64) -> usize,
) {
    starts.clear();
    starts.resize(buckets + 1, 0);
    for &(k, _) in from {
        starts[bucket(k) + 1] += 1;
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    to.clear();
    to.resize(from.len(), (0, 0));
    for &e in from {
        let at = &mut starts[bucket(e.0)];
        to[*at as usize] = e;
        *at += 1;
    }
}

/// A unit's overvotes and undervotes of one count type, as far as given.
type OverUnder = (Option<u64>, Option<u64>);

/// Buffers [`sort_rows`] keeps from one contest to the next.
type SortScratch = (Vec<u32>, Vec<(u64, u32)>, Vec<(u32, u32, u32)>);

/// `items` moved into the order `rank` gives them (`rank` a permutation of their positions).
fn in_rank_order<T>(items: Vec<T>, rank: &[u32]) -> Vec<T> {
    // Each item straight to its place: no comparison sort moving whole items.
    let mut slots: Vec<Option<T>> = std::iter::repeat_with(|| None).take(items.len()).collect();
    for (item, &r) in items.into_iter().zip(rank) {
        slots[r as usize] = Some(item);
    }
    slots.into_iter().flatten().collect()
}

/// The snapshot in canonical order (units, parties, contests, choices sorted by id, counts by
/// unit, choice and count type), built from the importer's indices: each id's rank in sorted
/// order is its final position, which is what a count holds, so rows are put in order by one
/// integer key each.
fn finish(acc: Acc, options: &CsvOptions, warnings: &mut Vec<Warning>) -> (Snapshot, Vouched) {
    let unit_rank = ranks(&acc.unit_id_list);
    let unit_ids_ranked: Vec<Id> =
        in_rank_order(acc.unit_id_list.iter().map(Id::from).collect(), &unit_rank);
    let contest_rank = ranks(&acc.contest_id_list);
    let mut contests = Vec::with_capacity(acc.contests.len());
    let mut keyed: Vec<(u64, u32)> = Vec::new();
    let mut scratch: SortScratch = (Vec::new(), Vec::new(), Vec::new());
    // Per set of vote types a row gives (`RowRec::types`), the kinds of its counts.
    let kinds_of: Vec<Vec<CountType>> = (0..32u8)
        .map(|set| {
            let given = ROW_TYPES
                .iter()
                .enumerate()
                .filter(|(j, _)| set >> j & 1 == 1);
            std::iter::once(CountType::Total)
                .chain(given.map(|(_, &t)| t))
                .collect()
        })
        .collect();
    for (ci, (name, c)) in acc.contests.into_iter().enumerate() {
        let id = acc.contest_id_list[ci].clone();
        warn_variants(&id, &c.choices, warnings);
        let choice_rank = ranks(&c.choice_id_list);
        keyed.clear();
        keyed.extend(c.rows.iter().enumerate().map(|(r, row)| {
            let key = (u64::from(unit_rank[row.unit as usize]) << 32)
                | u64::from(choice_rank[row.choice as usize]);
            (key, r as u32)
        }));
        sort_rows(&mut keyed, unit_rank.len(), choice_rank.len(), &mut scratch);
        let mut counts = Vec::with_capacity(c.votes.len());
        let mut layout = Layout {
            units: Vec::new(),
            unit_of: Vec::new(),
        };
        for &(key, r) in &keyed {
            let rec = c.rows[r as usize];
            let start = rec.start as usize;
            let end = start + 1 + rec.types.count_ones() as usize;
            let rank = (key >> 32) as u32;
            // Ranks are the positions in the sorted units and choices (`in_rank_order` below).
            let (unit, choice) = (rank, key as u32);
            // `extend` from slices: no capacity check per count.
            let row = &c.votes[start..end];
            let kinds = &kinds_of[usize::from(rec.types & 31)];
            let (from, to) = (counts.len(), counts.len() + row.len());
            match layout.units.last_mut() {
                Some(range) if layout.unit_of.last() == Some(&unit) => range.end = to,
                _ => {
                    layout.units.push(from..to);
                    layout.unit_of.push(unit);
                }
            }
            counts.extend(row.iter().zip(kinds).map(|(&votes, &kind)| VoteCount {
                unit,
                choice,
                kind,
                round: None,
                votes,
            }));
        }
        // Unit rank order is unit id order, and a kind's position in `CountType::ALL` is its
        // order: one packed key per entry gives `OtherCount::key` order.
        let mut other: Vec<(u64, OverUnder)> = c
            .other
            .into_iter()
            .map(|((u, kind), v)| {
                let key = (u64::from(unit_rank[u as usize]) << 8) | u64::from(kind as u8);
                (key, v)
            })
            .collect();
        other.sort_unstable_by_key(|e| e.0);
        let other_counts: Vec<OtherCount> = other
            .into_iter()
            .map(|(key, (overvotes, undervotes))| OtherCount {
                unit: unit_ids_ranked[(key >> 8) as usize].clone(),
                kind: CountType::ALL[(key & 0xff) as usize],
                overvotes,
                undervotes,
            })
            .collect();
        let contest = Contest {
            id,
            name,
            kind: ContestKind::Candidate,
            district: STATE_UNIT_ID.to_owned(),
            votes_allowed: None,
            variation: None,
            choices: in_rank_order(c.choices, &choice_rank),
            counts,
            other_counts,
        };
        contests.push((contest, layout));
    }
    let mut units = in_rank_order(acc.units, &unit_rank);
    for u in &mut units {
        u.children.sort_unstable();
    }
    let mut parties = acc.parties;
    parties.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    let (contests, layouts) = in_rank_order(contests, &contest_rank).into_iter().unzip();
    let snapshot = Snapshot {
        election: Election {
            name: options.election_name.clone(),
            kind: options.election_kind,
            start_date: options.election_date.clone(),
            end_date: options.election_date.clone(),
            scope_unit: STATE_UNIT_ID.to_owned(),
        },
        status: options.status,
        parties,
        units,
        contests,
    };
    (snapshot, Vouched { layouts })
}

fn warn_variants(contest: &str, choices: &[Choice], warnings: &mut Vec<Warning>) {
    let mut by_norm: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for ch in choices {
        let norm: String = ch
            .name
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect();
        let names = by_norm.entry(norm).or_default();
        if !names.contains(&ch.name.as_str()) {
            names.push(&ch.name);
        }
    }
    for names in by_norm.values().filter(|n| n.len() > 1) {
        warnings.push(Warning {
            kind: WarningKind::NameVariants,
            location: Location::Model(format!("contest {contest:?}")),
            detail: format!("names kept apart: {}", names.join(" | ")),
        });
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::model::CountType;

    /// `finish` packs a kind as its position in `CountType::ALL` and sorts by it.
    #[test]
    fn count_types_are_listed_in_their_order() {
        for (i, kind) in CountType::ALL.iter().enumerate() {
            assert_eq!(*kind as usize, i);
        }
        assert!(CountType::ALL.is_sorted());
    }

    /// `slug` as it was before its ASCII fast path: the reference for both paths.
    fn slug_by_chars(s: &str) -> String {
        let mut out = String::new();
        for ch in s.chars() {
            if ch.is_alphanumeric() {
                out.extend(ch.to_lowercase());
            } else if !out.ends_with('-') && !out.is_empty() {
                out.push('-');
            }
        }
        while out.ends_with('-') {
            out.pop();
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]
        #[test]
        fn same_is_string_equality(a in "[ab]{0,40}", b in "[ab]{0,40}") {
            prop_assert_eq!(super::same(a.as_bytes(), b.as_bytes()), a == b);
            prop_assert!(super::same(a.as_bytes(), a.as_bytes()));
        }

        #[test]
        fn same_sees_any_one_differing_byte(a in "[ab]{1,40}", i in any::<usize>()) {
            let mut b = a.clone().into_bytes();
            let i = i % b.len();
            b[i] = if b[i] == b'a' { b'b' } else { b'a' };
            let b = String::from_utf8(b).unwrap();
            prop_assert!(!super::same(a.as_bytes(), b.as_bytes()));
        }

        #[test]
        fn squeeze_agrees_with_collecting_and_lowercasing(s in "[a-zA-Z0-9 \\-/.éÉßİ]{0,24}") {
            let chars: String = s
                .chars()
                .filter(|c| c.is_alphanumeric())
                .flat_map(char::to_lowercase)
                .collect();
            let expected = (chars.is_ascii() && chars.len() <= 16).then_some(chars);
            let mut buf = [0u8; 16];
            let got = super::squeeze(&s, &mut buf)
                .map(|n| String::from_utf8(buf[..n].to_vec()).unwrap());
            prop_assert_eq!(got, expected);
        }

        #[test]
        fn an_id_slugs_its_parts_as_one_text(
            a in "[a-zA-Z0-9 ,.'()&\\-éÉßİ]{0,20}",
            b in "[a-zA-Z0-9 ,.'()&\\-éÉßİ]{0,20}",
        ) {
            let joined = format!("{a} {b}");
            prop_assert_eq!(
                super::id_from(&["p-", "x."], &[&a, " ", &b]),
                format!("p-x.{}", slug_by_chars(&joined))
            );
        }

        #[test]
        fn line_kind_of_bytes_agrees_with_line_kind(s in "[a-zA-Z0-9 \\-/.éÉßİ]{0,16}") {
            prop_assert_eq!(super::line_kind_of(s.as_bytes()), super::line_kind(&s));
        }

        #[test]
        fn trim_of_bytes_agrees_with_str_trim(s in "[ a\t\r\u{a0}\u{3000}é~\u{7f}]{0,6}") {
            prop_assert_eq!(super::trim(s.as_bytes()), s.trim().as_bytes());
        }

        #[test]
        fn a_unit_set_agrees_with_a_hash_set(
            units in proptest::collection::vec(
                prop_oneof![0..200u32, 5_000..5_300u32, 0..2_000_000u32],
                0..300,
            ),
        ) {
            let mut set = super::UnitSet::default();
            let mut reference = std::collections::HashSet::new();
            for u in units {
                prop_assert_eq!(set.insert(u), reference.insert(u), "unit {}", u);
            }
        }

        #[test]
        fn slug_agrees_with_its_char_by_char_form(s in "[a-zA-Z0-9 ,.'()&\\-éÉßİ]{0,30}") {
            prop_assert_eq!(super::slug(&s), slug_by_chars(&s));
        }
    }
}
