//! What the pages and the API show, computed once per snapshot: totals per contest and unit,
//! choice order, winner/leading marks, reporting progress and turnout.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use urne_release::Status;
use urne_results::{
    Contest, CountType, ReportStatus, ReportingStatus, ValidSnapshot, VoteVariation,
};

/// A choice's mark on the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Winner,
    Leading,
}

impl Mark {
    pub fn as_str(self) -> &'static str {
        match self {
            Mark::Winner => "winner",
            Mark::Leading => "leading",
        }
    }
}

/// One contest's totals in one unit: first-round votes per choice (indexed like
/// `Contest::choices`) and per count type.
#[derive(Debug, Clone, Default)]
pub struct UnitTotals {
    pub by_choice: Vec<u64>,
    /// Count types other than `Total`, each with votes per choice.
    pub by_kind: BTreeMap<CountType, Vec<u64>>,
    pub total: u64,
}

/// Precincts (leaf units) reporting out of those in a contest's district or a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reporting {
    pub reporting: u64,
    pub total: u64,
    /// False when the snapshot says nothing about progress.
    pub known: bool,
}

#[derive(Debug)]
pub struct ContestView<'a> {
    pub c: &'a Contest,
    /// Every unit with data for this contest (its own counts or a descendant's).
    pub units: BTreeMap<&'a str, UnitTotals>,
    /// Choice indices, most votes first in the district (ties by id).
    pub order: Vec<usize>,
    /// Marks per choice index.
    pub marks: Vec<Option<Mark>>,
    pub reporting: Reporting,
}

impl ContestView<'_> {
    /// The district's totals (zeros when nothing is reported yet).
    pub fn district(&self) -> UnitTotals {
        self.units
            .get(self.c.district.as_str())
            .cloned()
            .unwrap_or_else(|| UnitTotals {
                by_choice: vec![0; self.c.choices.len()],
                ..UnitTotals::default()
            })
    }
}

#[derive(Debug)]
pub struct View<'a> {
    pub s: &'a ValidSnapshot,
    pub contests: Vec<ContestView<'a>>,
    /// Unit → contest indices with data there.
    pub unit_contests: BTreeMap<&'a str, Vec<usize>>,
    pub reporting: Reporting,
    /// (ballots cast, registered voters) of the scope unit, or summed over leaves.
    pub turnout: (Option<u64>, Option<u64>),
}

/// Whether counts present without a reporting fact mean "reported": only when the snapshot as a
/// whole says counting is done.
fn complete_by_status(s: &ValidSnapshot) -> bool {
    matches!(
        s.status,
        ReportStatus::UnofficialComplete
            | ReportStatus::Certified
            | ReportStatus::Recount
            | ReportStatus::Correction
    )
}

impl<'a> View<'a> {
    pub fn new(s: &'a ValidSnapshot, release_status: Status) -> View<'a> {
        let mut parents: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for u in &s.units {
            for ch in &u.children {
                parents.entry(ch.as_str()).or_default().push(u.id.as_str());
            }
        }
        let facts_known = s.units.iter().any(|u| u.facts.reporting.is_some());
        let final_ = matches!(release_status, Status::Official | Status::Certified)
            || s.status == ReportStatus::Certified;
        let mut contests = Vec::with_capacity(s.contests.len());
        let mut unit_contests: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        let totals = urne_results::SnapshotTotals::new(s);
        // Contests share districts (every contest of a CSV import is statewide): each
        // district's leaves are found once.
        let mut leaves_of: HashMap<&str, Vec<&str>> = HashMap::new();
        for (i, c) in s.contests.iter().enumerate() {
            let district = leaves_of
                .entry(c.district.as_str())
                .or_insert_with(|| leaves(s, &c.district));
            let cv = contest_view(s, &totals, c, district, &parents, facts_known, final_);
            for u in cv.units.keys() {
                unit_contests.entry(u).or_default().push(i);
            }
            contests.push(cv);
        }
        let scope = s.election.scope_unit.as_str();
        let reporting = reporting(s, &leaves(s, scope), facts_known, |u| {
            unit_contests.contains_key(u)
        });
        let turnout = turnout(s, scope);
        View {
            s,
            contests,
            unit_contests,
            reporting,
            turnout,
        }
    }

    /// Reporting progress of the leaves under `unit`.
    pub fn unit_reporting(&self, unit: &str) -> Reporting {
        let known = self.reporting.known;
        reporting(self.s, &leaves(self.s, unit), known, |u| {
            self.unit_contests.contains_key(u)
        })
    }
}

/// `district_leaves`: the leaves under `c.district` ([`leaves`]).
fn contest_view<'a>(
    s: &'a ValidSnapshot,
    totals: &urne_results::SnapshotTotals<'a>,
    c: &'a Contest,
    district_leaves: &[&str],
    parents: &BTreeMap<&'a str, Vec<&'a str>>,
    facts_known: bool,
    final_: bool,
) -> ContestView<'a> {
    // Units with own counts, then every ancestor of one.
    // Counts are sorted by unit: one insert per unit, not per count.
    let mut relevant: BTreeSet<&str> = c
        .counts
        .chunk_by(|a, b| a.unit == b.unit)
        .map(|run| s.unit_id(run[0].unit))
        .collect();
    let mut stack: Vec<&str> = relevant.iter().copied().collect();
    while let Some(u) = stack.pop() {
        for p in parents.get(u).into_iter().flatten() {
            if relevant.insert(p) {
                stack.push(p);
            }
        }
    }
    // Each unit's totals once, a parent's from its children's (`urne_results::unit_totals`
    // per unit summed every precinct again for each county and for the state).
    let mut contest_totals = totals.contest(c);
    let mut units = BTreeMap::new();
    for u in relevant {
        let Ok(Some(t)) = contest_totals.get(u) else {
            continue;
        };
        units.insert(u, fold(t, c.choices.len()));
    }
    let district = units
        .get(c.district.as_str())
        .map(|t: &UnitTotals| t.by_choice.clone())
        .unwrap_or_else(|| vec![0; c.choices.len()]);
    let mut order: Vec<usize> = (0..c.choices.len()).collect();
    order.sort_by(|&a, &b| district[b].cmp(&district[a]).then(a.cmp(&b)));
    let marks = marks(c, &district, &order, final_);
    let has = |u: &str| units.contains_key(u);
    let reporting = reporting(s, district_leaves, facts_known, has);
    ContestView {
        c,
        units,
        order,
        marks,
        reporting,
    }
}

/// A unit's totals (choices as positions; one the contest does not list, as `u32::MAX`, is left
/// out) per choice and per count type.
fn fold(t: &urne_results::IndexTotals, n: usize) -> UnitTotals {
    let known = |choice: u32| (choice as usize) < n;
    // RCV contests carry rounds; the summary shows the first round's (or unrounded) counts.
    let first = t.keys().filter(|k| known(k.0)).map(|k| k.2).min().flatten();
    let mut out = UnitTotals {
        by_choice: vec![0; n],
        ..UnitTotals::default()
    };
    let mut have_total = vec![false; n];
    for (&(choice, kind, round), votes) in t {
        if round != first && round.is_some() {
            continue;
        }
        if !known(choice) {
            continue;
        }
        let i = choice as usize;
        if kind == CountType::Total {
            out.by_choice[i] = *votes;
            have_total[i] = true;
        } else {
            out.by_kind.entry(kind).or_insert_with(|| vec![0; n])[i] = *votes;
        }
    }
    // A source with only per-type counts: the total is their sum.
    for i in 0..n {
        if !have_total[i] {
            out.by_choice[i] = out
                .by_kind
                .iter()
                .filter(|(k, _)| **k != CountType::Seats)
                .map(|(_, v)| v[i])
                .fold(0u64, u64::saturating_add);
        }
    }
    out.total = out.by_choice.iter().copied().fold(0, u64::saturating_add);
    out
}

fn marks(c: &Contest, votes: &[u64], order: &[usize], final_: bool) -> Vec<Option<Mark>> {
    let mut out = vec![None; c.choices.len()];
    let seats = c.votes_allowed.unwrap_or(1).max(1) as usize;
    let total: u64 = votes.iter().sum();
    // No mark when nothing is counted, when a tie straddles the last seat, or when the rule
    // is not "most votes wins" (a supermajority needs a threshold the snapshot does not carry).
    let plurality = !matches!(
        c.variation,
        Some(VoteVariation::SuperMajority | VoteVariation::Rcv | VoteVariation::Proportional)
    );
    if total == 0 || !plurality {
        return out;
    }
    if order.len() > seats && votes[order[seats - 1]] == votes[order[seats]] {
        return out;
    }
    let mark = if final_ { Mark::Winner } else { Mark::Leading };
    for &i in order.iter().take(seats) {
        if votes[i] > 0 {
            out[i] = Some(mark);
        }
    }
    out
}

/// Leaves under `root` (deduplicated: children of different kinds may overlap).
pub fn leaves<'a>(s: &'a ValidSnapshot, root: &str) -> Vec<&'a str> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        let Some(u) = s.unit(id) else { continue };
        if !seen.insert(u.id.as_str()) {
            continue;
        }
        if u.children.is_empty() {
            out.push(u.id.as_str());
        } else {
            stack.extend(u.children.iter().map(String::as_str));
        }
    }
    out.sort_unstable();
    out
}

/// Reporting progress of `leaves` (those under one unit: [`leaves`]).
fn reporting(
    s: &ValidSnapshot,
    leaves: &[&str],
    facts_known: bool,
    has_data: impl Fn(&str) -> bool,
) -> Reporting {
    let total = leaves.len() as u64;
    if facts_known {
        let n = leaves
            .iter()
            .filter(|l| {
                s.unit(l).and_then(|u| u.facts.reporting) == Some(ReportingStatus::Complete)
            })
            .count() as u64;
        return Reporting {
            reporting: n,
            total,
            known: true,
        };
    }
    if complete_by_status(s) {
        let n = leaves.iter().filter(|l| has_data(l)).count() as u64;
        return Reporting {
            reporting: n,
            total,
            known: true,
        };
    }
    Reporting {
        reporting: 0,
        total,
        known: false,
    }
}

fn turnout(s: &ValidSnapshot, scope: &str) -> (Option<u64>, Option<u64>) {
    if let Some(u) = s.unit(scope).filter(|u| u.facts.ballots_cast.is_some()) {
        return (u.facts.ballots_cast, u.facts.registered_voters);
    }
    let mut ballots = None::<u64>;
    let mut registered = None::<u64>;
    for l in leaves(s, scope) {
        let Some(u) = s.unit(l) else { continue };
        if let Some(b) = u.facts.ballots_cast {
            ballots = Some(ballots.unwrap_or(0).saturating_add(b));
        }
        if let Some(r) = u.facts.registered_voters {
            registered = Some(registered.unwrap_or(0).saturating_add(r));
        }
    }
    (ballots, registered)
}
