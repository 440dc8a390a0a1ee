//! The results snapshot: one election's contests, choices, reporting units and counts.
//!
//! Identifiers are the strings the source file used (NIST `@id`/`ObjectId`) or ones an
//! importer derived from names (CSV). Collections are kept sorted by id so that two imports of
//! the same results compare equal and encode to the same bytes.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// An id that many counts share (a unit's or a choice's): cloning one copies a pointer, not
/// the text, so a state's millions of counts hold a few thousand strings. It reads as a `str`
/// (`Deref`, `as_str`, comparisons with `str` and `String`) and orders, hashes and prints like
/// one.
#[derive(Clone, Eq)]
pub struct Id(Arc<str>);

impl std::hash::Hash for Id {
    /// As the `str`, so that a set of ids can be searched by `&str` ([`Borrow`]).
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (*self.0).hash(state)
    }
}

impl PartialEq for Id {
    fn eq(&self, other: &Id) -> bool {
        // Counts of one import share their ids: equal pointers settle most comparisons.
        Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
    }
}

impl Ord for Id {
    fn cmp(&self, other: &Id) -> std::cmp::Ordering {
        if Arc::ptr_eq(&self.0, &other.0) {
            std::cmp::Ordering::Equal
        } else {
            self.0.cmp(&other.0)
        }
    }
}

impl PartialOrd for Id {
    fn partial_cmp(&self, other: &Id) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Id {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for Id {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Id {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Id {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Id {
    fn from(s: &str) -> Id {
        Id(Arc::from(s))
    }
}

impl From<&String> for Id {
    fn from(s: &String) -> Id {
        Id(Arc::from(s.as_str()))
    }
}

impl From<String> for Id {
    fn from(s: String) -> Id {
        Id(Arc::from(s))
    }
}

impl From<Id> for String {
    fn from(id: Id) -> String {
        id.0.as_ref().to_owned()
    }
}

impl PartialEq<str> for Id {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for Id {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<String> for Id {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<Id> for str {
    fn eq(&self, other: &Id) -> bool {
        *self == *other.0
    }
}

impl PartialEq<Id> for &str {
    fn eq(&self, other: &Id) -> bool {
        **self == *other.0
    }
}

impl PartialEq<Id> for String {
    fn eq(&self, other: &Id) -> bool {
        **self == *other.0
    }
}

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum $name { $($(#[$vm])* $v),+ }
        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$v),+];
            /// The NIST SP 1500-100 v2 spelling.
            pub fn as_str(self) -> &'static str { match self { $($name::$v => $s),+ } }
            /// Parses the NIST SP 1500-100 v2 spelling.
            pub fn from_nist(s: &str) -> Option<Self> {
                match s { $($s => Some($name::$v),)+ _ => None }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

string_enum! {
    /// NIST `ResultsStatus`: how final a report is.
    ReportStatus {
        PreElection = "pre-election",
        UnofficialPartial = "unofficial-partial",
        UnofficialComplete = "unofficial-complete",
        Certified = "certified",
        Recount = "recount",
        Correction = "correction",
        /// Not a NIST value: test results (AP's "test"); exported to NIST as
        /// `unofficial-partial` with `IsTest` true.
        Test = "test",
    }
}

string_enum! {
    /// NIST `ElectionType`.
    ElectionKind {
        General = "general",
        PartisanPrimaryClosed = "partisan-primary-closed",
        PartisanPrimaryOpen = "partisan-primary-open",
        Primary = "primary",
        Runoff = "runoff",
        Special = "special",
        Other = "other",
    }
}

string_enum! {
    /// NIST `ReportingUnitType`.
    UnitKind {
        BallotBatch = "ballot-batch",
        BallotStyleArea = "ballot-style-area",
        Borough = "borough",
        City = "city",
        CityCouncil = "city-council",
        CombinedPrecinct = "combined-precinct",
        Congressional = "congressional",
        Country = "country",
        County = "county",
        CountyCouncil = "county-council",
        DropBox = "drop-box",
        Judicial = "judicial",
        Municipality = "municipality",
        PollingPlace = "polling-place",
        Precinct = "precinct",
        School = "school",
        Special = "special",
        SplitPrecinct = "split-precinct",
        State = "state",
        StateHouse = "state-house",
        StateSenate = "state-senate",
        Town = "town",
        Township = "township",
        Utility = "utility",
        Village = "village",
        VoteCenter = "vote-center",
        Ward = "ward",
        Water = "water",
        Other = "other",
    }
}

string_enum! {
    /// NIST `CountItemType`: how a ballot was cast. `Total` is the sum of the others.
    CountType {
        Total = "total",
        ElectionDay = "election-day",
        Early = "early",
        Absentee = "absentee",
        AbsenteeMail = "absentee-mail",
        AbsenteeInPerson = "absentee-in-person",
        AbsenteeFwab = "absentee-fwab",
        Provisional = "provisional",
        Uocava = "uocava",
        WriteIn = "write-in",
        Seats = "seats",
        Other = "other",
    }
}

string_enum! {
    /// How far counting in a unit has got (NIST `CountItemStatus`).
    ReportingStatus {
        NotStarted = "not-processed",
        Partial = "in-process",
        Complete = "completed",
    }
}

string_enum! {
    /// What is being decided (NIST's Contest subtypes).
    ContestKind {
        Candidate = "candidate",
        BallotMeasure = "ballot-measure",
        Retention = "retention",
        Party = "party",
    }
}

string_enum! {
    /// NIST `VoteVariation`.
    VoteVariation {
        Approval = "approval",
        Borda = "borda",
        Cumulative = "cumulative",
        Majority = "majority",
        NOfM = "n-of-m",
        Plurality = "plurality",
        Proportional = "proportional",
        Range = "range",
        Rcv = "rcv",
        SuperMajority = "super-majority",
        Other = "other",
    }
}

/// The whole of one results release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub election: Election,
    pub status: ReportStatus,
    /// Sorted by id, ids unique.
    pub parties: Vec<Party>,
    /// Sorted by id, ids unique.
    pub units: Vec<Unit>,
    /// Sorted by id, ids unique.
    pub contests: Vec<Contest>,
}

/// The election the results belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Election {
    pub name: String,
    pub kind: ElectionKind,
    /// ISO 8601 date (`YYYY-MM-DD`), as the source gave it.
    pub start_date: String,
    pub end_date: String,
    /// The unit the election covers (a state, a county, a city).
    pub scope_unit: String,
}

/// A political party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub id: String,
    pub name: String,
    pub abbreviation: Option<String>,
}

/// A reporting unit: precinct, vote center, district, county, state. Units nest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub id: String,
    pub name: String,
    pub kind: UnitKind,
    /// Units this one is composed of (NIST `ComposingGpUnitIds`), sorted, unique. Children of
    /// different kinds may overlap (a state is made of counties *and* of house districts).
    pub children: Vec<String>,
    pub facts: UnitFacts,
}

/// What is known about a unit apart from the votes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitFacts {
    pub ballots_cast: Option<u64>,
    pub registered_voters: Option<u64>,
    pub reporting: Option<ReportingStatus>,
    /// Ballots left to count, where the office knows.
    pub ballots_outstanding: Option<u64>,
}

/// One contest with its choices and its counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contest {
    pub id: String,
    pub name: String,
    pub kind: ContestKind,
    /// The unit the contest is decided in.
    pub district: String,
    /// How many choices a voter may mark (vote-for-N); 1 for measures. `None` when the source
    /// does not say (CSV): the votes ≤ ballots check then only warns.
    pub votes_allowed: Option<u32>,
    pub variation: Option<VoteVariation>,
    /// Sorted by id, ids unique within the contest.
    pub choices: Vec<Choice>,
    /// Sorted by (unit, choice, kind, round); no two with the same key.
    pub counts: Vec<VoteCount>,
    /// Sorted by (unit, kind); no two with the same key.
    pub other_counts: Vec<OtherCount>,
}

/// A candidate (or ticket), a measure's yes/no, a party, a write-in line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub id: String,
    /// The name exactly as the source spelled it (no fuzzy merging).
    pub name: String,
    pub party: Option<String>,
    pub write_in: bool,
}

/// Votes for one choice in one unit, of one count type (and RCV round).
///
/// The unit and the choice are positions, as in the canonical encoding: a state holds millions
/// of counts, and two 4-byte positions are a fifth of the two shared ids they replace (no
/// reference counts to touch when counts are built, compared or dropped).
/// [`Snapshot::normalize`] keeps them pointing at the same unit and choice when it sorts units
/// and choices; [`crate::validate`] refuses a position past the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoteCount {
    /// Position of the unit in [`Snapshot::units`].
    pub unit: u32,
    /// Position of the choice in [`Contest::choices`].
    pub choice: u32,
    pub kind: CountType,
    pub round: Option<u32>,
    pub votes: u64,
}

/// Over- and undervotes for a contest in one unit, of one count type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherCount {
    pub unit: Id,
    pub kind: CountType,
    pub overvotes: Option<u64>,
    pub undervotes: Option<u64>,
}

impl VoteCount {
    /// The sort key that orders [`Contest::counts`]: positions, which in a normalized snapshot
    /// are in the order of the unit and choice ids.
    pub fn key(&self) -> (u32, u32, CountType, Option<u32>) {
        (self.unit, self.choice, self.kind, self.round)
    }
}

impl OtherCount {
    /// The sort key that orders [`Contest::other_counts`].
    pub fn key(&self) -> (&str, CountType) {
        (&self.unit, self.kind)
    }
}

impl Snapshot {
    /// Sorts every collection into canonical order. Importers call this before validating.
    /// Counts keep naming the same unit and choice: their positions follow the sort. A
    /// position past the end stays past the end (for [`crate::validate`] to refuse).
    pub fn normalize(&mut self) {
        self.parties.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        let unit_moves = sort_with_moves(&mut self.units, |a, b| a.id.cmp(&b.id));
        for unit in &mut self.units {
            unit.children.sort();
            unit.children.dedup();
        }
        self.contests.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        for contest in &mut self.contests {
            let choice_moves = sort_with_moves(&mut contest.choices, |a, b| a.id.cmp(&b.id));
            if unit_moves.is_some() || choice_moves.is_some() {
                let moved = |moves: &Option<Vec<u32>>, at: u32| match moves {
                    Some(m) => m.get(at as usize).copied().unwrap_or(at),
                    None => at,
                };
                for vc in &mut contest.counts {
                    vc.unit = moved(&unit_moves, vc.unit);
                    vc.choice = moved(&choice_moves, vc.choice);
                }
            }
            if !contest.counts.is_sorted_by_key(VoteCount::key) {
                contest.counts.sort_unstable_by_key(VoteCount::key);
            }
            contest
                .other_counts
                .sort_unstable_by(|a, b| a.key().cmp(&b.key()));
        }
    }

    /// The position in [`Snapshot::units`] of the unit with this id (binary search: units are
    /// sorted once normalized).
    pub fn unit_position(&self, id: &str) -> Option<u32> {
        self.units
            .binary_search_by(|u| u.id.as_str().cmp(id))
            .ok()
            .map(|i| i as u32)
    }

    /// Adds to the contest at position `contest` counts named by ids: (unit id, choice id,
    /// count type, round, votes). For code that has ids rather than positions (tally exports,
    /// tests); the units and the contest's choices must be in place, in any order. Adds nothing
    /// if an id is unknown, and names it.
    pub fn add_counts_by_id<'i>(
        &mut self,
        contest: usize,
        counts: impl IntoIterator<Item = (&'i str, &'i str, CountType, Option<u32>, u64)>,
    ) -> Result<(), crate::error::ProblemKind> {
        let positions =
            |ids: &mut dyn Iterator<Item = &str>| -> std::collections::HashMap<String, u32> {
                let mut map = std::collections::HashMap::new();
                for (i, id) in ids.enumerate() {
                    // The first of equal ids, as a lookup by position would find (validation
                    // refuses duplicates anyway). Positions fit: `Limits` caps units and choices.
                    map.entry(id.to_owned()).or_insert(i as u32);
                }
                map
            };
        let units = positions(&mut self.units.iter().map(|u| u.id.as_str()));
        let Some(c) = self.contests.get_mut(contest) else {
            return Err(crate::error::ProblemKind::UnknownReference {
                what: "contest",
                id: format!("#{contest}"),
            });
        };
        let choices = positions(&mut c.choices.iter().map(|ch| ch.id.as_str()));
        let unknown = |what, id: &str| crate::error::ProblemKind::UnknownReference {
            what,
            id: id.to_owned(),
        };
        let mut add = Vec::new();
        for (unit, choice, kind, round, votes) in counts {
            add.push(VoteCount {
                unit: *units.get(unit).ok_or_else(|| unknown("unit", unit))?,
                choice: *choices
                    .get(choice)
                    .ok_or_else(|| unknown("choice", choice))?,
                kind,
                round,
                votes,
            });
        }
        c.counts.extend(add);
        Ok(())
    }

    /// The id of the unit a count names (`""` for a position past the end, which
    /// [`crate::validate`] refuses).
    pub fn unit_id(&self, position: u32) -> &str {
        self.units
            .get(position as usize)
            .map_or("", |u| u.id.as_str())
    }

    /// The unit with this id, if any (binary search: units are sorted).
    pub fn unit(&self, id: &str) -> Option<&Unit> {
        self.units
            .binary_search_by(|u| u.id.as_str().cmp(id))
            .ok()
            .map(|i| &self.units[i])
    }

    /// The contest with this id, if any.
    pub fn contest(&self, id: &str) -> Option<&Contest> {
        self.contests
            .binary_search_by(|c| c.id.as_str().cmp(id))
            .ok()
            .map(|i| &self.contests[i])
    }

    /// The party with this id, if any.
    pub fn party(&self, id: &str) -> Option<&Party> {
        self.parties
            .binary_search_by(|p| p.id.as_str().cmp(id))
            .ok()
            .map(|i| &self.parties[i])
    }
}

/// Sorts `items` (stably) and returns, if anything moved, each item's new position by its old
/// one.
fn sort_with_moves<T>(
    items: &mut Vec<T>,
    cmp: impl Fn(&T, &T) -> std::cmp::Ordering,
) -> Option<Vec<u32>> {
    if items.is_sorted_by(|a, b| cmp(a, b).is_le()) {
        return None;
    }
    let mut order: Vec<u32> = (0..items.len() as u32).collect();
    order.sort_by(|&a, &b| cmp(&items[a as usize], &items[b as usize]));
    let mut moves = vec![0u32; items.len()];
    for (new, &old) in order.iter().enumerate() {
        moves[old as usize] = new as u32;
    }
    let mut slots: Vec<Option<T>> = std::mem::take(items).into_iter().map(Some).collect();
    items.extend(order.iter().filter_map(|&old| slots[old as usize].take()));
    Some(moves)
}

impl Contest {
    /// The id of the choice a count names (`""` for a position past the end, which
    /// [`crate::validate`] refuses).
    pub fn choice_id(&self, position: u32) -> &str {
        self.choices
            .get(position as usize)
            .map_or("", |c| c.id.as_str())
    }

    /// The position in [`Contest::choices`] of the choice with this id (binary search:
    /// choices are sorted once normalized).
    pub fn choice_position(&self, id: &str) -> Option<u32> {
        self.choices
            .binary_search_by(|c| c.id.as_str().cmp(id))
            .ok()
            .map(|i| i as u32)
    }

    /// The choice with this id, if any.
    pub fn choice(&self, id: &str) -> Option<&Choice> {
        self.choices
            .binary_search_by(|c| c.id.as_str().cmp(id))
            .ok()
            .map(|i| &self.choices[i])
    }
}
