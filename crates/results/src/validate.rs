//! Validation of a [`Snapshot`] and exact aggregation up the unit tree.
//!
//! [`validate`] is the only way to get a [`ValidSnapshot`]; exporters, the canonical encoder and
//! the diff take that token, so nothing downstream sees results that were not checked.

use std::collections::BTreeMap;
use std::ops::Range;

use foldhash::HashMap;

use crate::error::{ImportError, Location, ProblemKind, Problems, Warning, WarningKind};
use crate::model::{Contest, ContestKind, CountType, Snapshot, VoteCount};

/// Named limits on what one snapshot may hold. Imports beyond them are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of one source file.
    pub source_bytes_max: u64,
    /// Data rows of one CSV source.
    pub rows_max: u64,
    pub contests_max: u64,
    pub units_max: u64,
    pub choices_per_contest_max: u64,
    /// Vote counts over all contests.
    pub counts_max: u64,
    /// Bytes of one id or name.
    pub text_bytes_max: u64,
}

impl Limits {
    /// Comfortably above a large US state's precinct-level general election (California:
    /// ~25,000 precincts, a few hundred contests, ~10 million counts).
    pub const DEFAULT: Limits = Limits {
        source_bytes_max: 4 << 30,
        rows_max: 50_000_000,
        contests_max: 100_000,
        units_max: 1_000_000,
        choices_per_contest_max: 10_000,
        counts_max: 100_000_000,
        text_bytes_max: 4096,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// A snapshot that passed [`validate`]. Only this module builds one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidSnapshot {
    snapshot: Snapshot,
}

impl ValidSnapshot {
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    pub fn into_inner(self) -> Snapshot {
        self.snapshot
    }
}

impl std::ops::Deref for ValidSnapshot {
    type Target = Snapshot;
    fn deref(&self) -> &Snapshot {
        &self.snapshot
    }
}

/// A validated snapshot and the warnings found on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub snapshot: ValidSnapshot,
    pub warnings: Vec<Warning>,
}

/// Sorts and checks a snapshot: ids unique, references resolve, units form no cycle, counts
/// within limits, vote types add up to totals, votes ≤ ballots cast × votes allowed, and every
/// total the source gives for a parent unit equals the sum of its children.
pub fn validate(
    source_name: &str,
    mut snapshot: Snapshot,
    limits: &Limits,
    warnings: &mut Vec<Warning>,
) -> Result<ValidSnapshot, ImportError> {
    snapshot.normalize();
    validate_sorted(source_name, snapshot, limits, warnings, None)
}

/// What an importer that built a snapshot's counts itself vouches for, so that validation does
/// not derive it again from 1 M counts:
/// - `layouts`: each contest's [`Layout`], made while the counts were put in order;
/// - every count's unit and choice are positions in range;
/// - no two counts of a contest share a key;
/// - in every (unit, choice) group the breakdown types sum exactly to the total (or there is
///   no breakdown), so [`check_breakdowns`] would find nothing.
///
/// The OpenElections importer checks the last two at each row, with its line number: a
/// second row for the same unit and choice is refused, and so is a row whose vote types do not
/// sum to its total. Debug builds check every claim again and panic if one is false.
#[derive(Debug)]
pub(crate) struct Vouched {
    pub layouts: Vec<Layout>,
}

/// [`validate`] for a snapshot an importer built already in canonical order, with what it
/// vouches for (`None`: nothing). Debug builds check the claims.
pub(crate) fn validate_sorted(
    source_name: &str,
    snapshot: Snapshot,
    limits: &Limits,
    warnings: &mut Vec<Warning>,
    vouched: Option<Vouched>,
) -> Result<ValidSnapshot, ImportError> {
    if cfg!(debug_assertions) {
        let mut sorted = snapshot.clone();
        sorted.normalize();
        assert!(
            sorted == snapshot,
            "validate_sorted: not in canonical order"
        );
    }
    let mut problems = Problems::default();
    check_limits(&snapshot, limits, &mut problems);
    problems.into_result(source_name)?;
    let mut problems = Problems::default();
    let index = UnitIndex::new(&snapshot);
    let all_layouts = || -> Vec<Layout> {
        snapshot
            .contests
            .iter()
            .map(|c| Layout::new(c, snapshot.units.len()))
            .collect()
    };
    let (layouts, check_counts) = match vouched {
        Some(v) => {
            if cfg!(debug_assertions) {
                assert_vouched(&snapshot, &v, &all_layouts(), &index);
            }
            (v.layouts, false)
        }
        None => (all_layouts(), true),
    };
    check_ids(&snapshot, &layouts, check_counts, &mut problems);
    check_references(&snapshot, &index, &layouts, check_counts, &mut problems);
    check_cycles(&snapshot, &index, &mut problems);
    check_write_ins(&snapshot, &mut problems);
    check_votes_allowed(&snapshot, &mut problems);
    problems.into_result(source_name)?;
    let mut problems = Problems::default();
    for (contest, layout) in snapshot.contests.iter().zip(&layouts) {
        let c = Resolved { contest };
        if check_counts {
            check_breakdowns(&snapshot, contest, &mut problems, warnings);
        }
        check_ballots(&snapshot, &c, layout, &mut problems, warnings);
        check_aggregates(&snapshot, &index, &c, layout, &mut problems);
    }
    problems.into_result(source_name)?;
    warn_units_without_votes(&snapshot, &index, &layouts, warnings);
    Ok(ValidSnapshot { snapshot })
}

/// Panics unless every claim of `vouched` holds (debug builds).
fn assert_vouched(s: &Snapshot, vouched: &Vouched, layouts: &[Layout], index: &UnitIndex<'_>) {
    assert_eq!(vouched.layouts, layouts, "vouched layouts");
    let (mut problems, mut warnings) = (Problems::default(), Vec::new());
    check_ids(s, layouts, true, &mut problems);
    check_references(s, index, layouts, true, &mut problems);
    for contest in &s.contests {
        check_breakdowns(s, contest, &mut problems, &mut warnings);
    }
    assert!(
        problems.is_empty() && warnings.is_empty(),
        "vouched counts: {:?} {warnings:?}",
        problems.list
    );
}

/// Write-in choices only in candidate contests (found by the `results_nist_json` fuzz target:
/// a write-in flag on a ballot-measure selection was lost on export).
fn check_write_ins(s: &Snapshot, problems: &mut Problems) {
    for contest in s
        .contests
        .iter()
        .filter(|c| c.kind != ContestKind::Candidate)
    {
        for choice in contest.choices.iter().filter(|ch| ch.write_in) {
            problems.push(
                Location::Model(format!("contest {:?}, choice {:?}", contest.id, choice.id)),
                ProblemKind::WriteInOutsideCandidateContest {
                    choice: choice.id.clone(),
                },
            );
        }
    }
}

/// Only candidate contests allow other than one vote (found by the `results_nist_json` fuzz
/// target: NIST has `VotesAllowed` on candidate contests only, so a ballot measure allowing 2
/// was exported without it and came back allowing 1).
fn check_votes_allowed(s: &Snapshot, problems: &mut Problems) {
    for contest in s
        .contests
        .iter()
        .filter(|c| c.kind != ContestKind::Candidate)
    {
        if let Some(votes_allowed) = contest.votes_allowed.filter(|&n| n != 1) {
            problems.push(
                Location::Model(format!("contest {:?}", contest.id)),
                ProblemKind::VotesAllowedOutsideCandidateContest {
                    contest: contest.id.clone(),
                    votes_allowed,
                },
            );
        }
    }
}

fn check_limits(s: &Snapshot, limits: &Limits, problems: &mut Problems) {
    let mut limit = |what, count: usize, max: u64| {
        if count as u64 > max {
            problems.push(
                Location::Whole,
                ProblemKind::Limit {
                    what,
                    count: count as u64,
                    max,
                },
            );
        }
    };
    limit("contests", s.contests.len(), limits.contests_max);
    limit("units", s.units.len(), limits.units_max);
    let counts: usize = s
        .contests
        .iter()
        .map(|c| c.counts.len() + c.other_counts.len())
        .sum();
    limit("counts", counts, limits.counts_max);
    for c in &s.contests {
        limit(
            "choices in one contest",
            c.choices.len(),
            limits.choices_per_contest_max,
        );
    }
    let mut texts: Vec<&str> = vec![&s.election.name, &s.election.scope_unit];
    texts.extend(
        s.parties
            .iter()
            .flat_map(|p| [p.id.as_str(), p.name.as_str()]),
    );
    texts.extend(
        s.units
            .iter()
            .flat_map(|u| [u.id.as_str(), u.name.as_str()]),
    );
    for c in &s.contests {
        texts.extend([c.id.as_str(), c.name.as_str(), c.district.as_str()]);
        texts.extend(
            c.choices
                .iter()
                .flat_map(|ch| [ch.id.as_str(), ch.name.as_str()]),
        );
    }
    for t in texts {
        if t.len() as u64 > limits.text_bytes_max {
            let head: String = t.chars().take(40).collect();
            problems.push(
                Location::Model(format!("text starting {head:?}")),
                ProblemKind::Limit {
                    what: "text bytes",
                    count: t.len() as u64,
                    max: limits.text_bytes_max,
                },
            );
        }
    }
}

/// Ids unique and not empty; with `counts`, each contest's counts too (else vouched for).
fn check_ids(s: &Snapshot, layouts: &[Layout], counts: bool, problems: &mut Problems) {
    let dup = |problems: &mut Problems, what, ids: &mut dyn Iterator<Item = &str>| {
        let mut prev: Option<&str> = None;
        for id in ids {
            if id.is_empty() {
                problems.push(
                    Location::Model(format!("a {what}")),
                    ProblemKind::Empty("id"),
                );
            }
            if prev == Some(id) {
                problems.push(
                    Location::Model(format!("{what} {id:?}")),
                    ProblemKind::DuplicateId {
                        what,
                        id: id.to_owned(),
                    },
                );
            }
            prev = Some(id);
        }
    };
    dup(
        problems,
        "party",
        &mut s.parties.iter().map(|p| p.id.as_str()),
    );
    dup(problems, "unit", &mut s.units.iter().map(|p| p.id.as_str()));
    dup(
        problems,
        "contest",
        &mut s.contests.iter().map(|p| p.id.as_str()),
    );
    for (c, layout) in s.contests.iter().zip(layouts) {
        dup(
            problems,
            "choice",
            &mut c.choices.iter().map(|p| p.id.as_str()),
        );
        // Counts are sorted: a duplicate is next to its twin, in the same unit group.
        for range in layout.units.iter().filter(|_| counts) {
            for w in c.counts[range.clone()].windows(2) {
                if w[0].key() == w[1].key() {
                    problems.push(
                        Location::Model(format!("contest {:?}", c.id)),
                        ProblemKind::DuplicateCount(count_label(s, c, &w[0])),
                    );
                }
            }
        }
        for w in c.other_counts.windows(2) {
            if w[0].key() == w[1].key() {
                problems.push(
                    Location::Model(format!("contest {:?}", c.id)),
                    ProblemKind::DuplicateCount(format!(
                        "over/undervotes in unit {:?}, {}",
                        w[0].unit, w[0].kind
                    )),
                );
            }
        }
    }
}

fn count_label(s: &Snapshot, contest: &Contest, c: &VoteCount) -> String {
    let (unit, choice) = (unit_label(s, c.unit), choice_label(contest, c.choice));
    match c.round {
        Some(r) => format!("unit {unit}, choice {choice}, {}, round {r}", c.kind),
        None => format!("unit {unit}, choice {choice}, {}", c.kind),
    }
}

/// The id of the unit at `position`, quoted, for messages (or the position past the end).
fn unit_label(s: &Snapshot, position: u32) -> String {
    match s.units.get(position as usize) {
        Some(u) => format!("{:?}", u.id),
        None => format!("#{position}"),
    }
}

/// The id of the choice at `position`, quoted, for messages (or the position past the end).
fn choice_label(contest: &Contest, position: u32) -> String {
    match contest.choices.get(position as usize) {
        Some(c) => format!("{:?}", c.id),
        None => format!("#{position}"),
    }
}

/// The count's choice position if the contest has that choice, else `u32::MAX`.
fn choice_at(contest: &Contest, vc: &VoteCount) -> u32 {
    if (vc.choice as usize) < contest.choices.len() {
        vc.choice
    } else {
        u32::MAX
    }
}

/// Unit id to position in [`Snapshot::units`], built once per validation: counts name their
/// unit by id, and a hash lookup is much cheaper than a binary search over string ids.
struct UnitIndex<'a> {
    units: &'a [crate::model::Unit],
    /// `None`: binary search in `units` (sorted), for one-off lookups where building the map
    /// would cost more than it saves.
    by_id: Option<HashMap<&'a str, u32>>,
}

impl<'a> UnitIndex<'a> {
    fn new(s: &'a Snapshot) -> Self {
        let mut by_id = HashMap::default();
        by_id.reserve(s.units.len());
        // Ids are unique once `check_ids` passed; until then the last of equal ids wins.
        for (i, u) in s.units.iter().enumerate() {
            by_id.insert(u.id.as_str(), i as u32);
        }
        UnitIndex {
            units: &s.units,
            by_id: Some(by_id),
        }
    }

    /// Lookups by binary search: `s` must be normalized (a [`ValidSnapshot`] is).
    fn sorted(s: &'a Snapshot) -> Self {
        UnitIndex {
            units: &s.units,
            by_id: None,
        }
    }

    fn get(&self, id: &str) -> Option<usize> {
        match &self.by_id {
            Some(m) => m.get(id).map(|&i| i as usize),
            None => self.units.binary_search_by(|u| u.id.as_str().cmp(id)).ok(),
        }
    }
}

/// A contest of the snapshot being checked or summed.
struct Resolved<'a> {
    contest: &'a Contest,
}

impl Resolved<'_> {
    /// The choice positions of the counts in `range` (`u32::MAX`: past the end).
    fn choices(&self, range: Range<usize>) -> impl Iterator<Item = u32> + '_ {
        self.contest.counts[range]
            .iter()
            .map(|vc| choice_at(self.contest, vc))
    }
}

/// One pass over a contest's sorted counts: where each unit's counts start and end.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Ranges of counts with the same unit, in order; none empty.
    pub units: Vec<Range<usize>>,
    /// The position in [`Snapshot::units`] of each range's unit (`u32::MAX`: past the end).
    pub unit_of: Vec<u32>,
}

impl Layout {
    fn new(contest: &Contest, units_len: usize) -> Layout {
        let counts = &contest.counts;
        let mut units = Vec::new();
        let mut unit_of = Vec::new();
        for run in counts.chunk_by(|a, b| a.unit == b.unit) {
            let start = units.last().map_or(0, |r: &Range<usize>| r.end);
            units.push(start..start + run.len());
            let u = run[0].unit;
            unit_of.push(if (u as usize) < units_len {
                u
            } else {
                u32::MAX
            });
        }
        Layout { units, unit_of }
    }
}

/// Every reference names something; with `counts`, each count's unit and choice too (else
/// vouched for).
fn check_references(
    s: &Snapshot,
    index: &UnitIndex<'_>,
    layouts: &[Layout],
    counts: bool,
    problems: &mut Problems,
) {
    let unit = |id: &str| index.get(id).is_some();
    let mut unknown = |place: String, what, id: &str| {
        problems.push(
            Location::Model(place),
            ProblemKind::UnknownReference {
                what,
                id: id.to_owned(),
            },
        )
    };
    if !unit(&s.election.scope_unit) {
        unknown("election scope".into(), "unit", &s.election.scope_unit);
    }
    for u in &s.units {
        for child in &u.children {
            if !unit(child) {
                unknown(format!("unit {:?}", u.id), "unit", child);
            }
        }
    }
    for (c, layout) in s.contests.iter().zip(layouts) {
        if !unit(&c.district) {
            unknown(format!("contest {:?} district", c.id), "unit", &c.district);
        }
        for ch in &c.choices {
            if let Some(p) = &ch.party
                && s.party(p).is_none()
            {
                unknown(
                    format!("contest {:?}, choice {:?}", c.id, ch.id),
                    "party",
                    p,
                );
            }
        }
        // Counts are sorted by unit: look at each unit once.
        for (range, &u) in layout.units.iter().zip(&layout.unit_of).filter(|_| counts) {
            let group = &c.counts[range.clone()];
            if u == u32::MAX {
                let vc = &group[0];
                unknown(
                    format!("contest {:?}, {}", c.id, count_label(s, c, vc)),
                    "unit",
                    &unit_label(s, vc.unit),
                );
            }
            let n = c.choices.len() as u64;
            // Nearly always every choice is known: one vectorised scan says so.
            if group.iter().all(|vc| u64::from(vc.choice) < n) {
                continue;
            }
            for vc in group.iter().filter(|vc| u64::from(vc.choice) >= n) {
                unknown(
                    format!("contest {:?}, {}", c.id, count_label(s, c, vc)),
                    "choice",
                    &choice_label(c, vc.choice),
                );
            }
        }
        for oc in &c.other_counts {
            if !unit(&oc.unit) {
                unknown(
                    format!("contest {:?} over/undervotes", c.id),
                    "unit",
                    &oc.unit,
                );
            }
        }
    }
}

fn check_cycles(s: &Snapshot, index: &UnitIndex<'_>, problems: &mut Problems) {
    // Iterative depth-first search; colour 1 = on the stack, 2 = done.
    let mut colour = vec![0u8; s.units.len()];
    for start in 0..s.units.len() {
        if colour[start] != 0 {
            continue;
        }
        let mut stack = vec![(start, 0usize)];
        colour[start] = 1;
        while let Some((node, next)) = stack.pop() {
            let children = &s.units[node].children;
            if next == children.len() {
                colour[node] = 2;
                continue;
            }
            stack.push((node, next + 1));
            let Some(child) = index.get(children[next].as_str()) else {
                continue;
            };
            match colour[child] {
                0 => {
                    colour[child] = 1;
                    stack.push((child, 0));
                }
                1 => problems.push(
                    Location::Model(format!("unit {:?}", s.units[child].id)),
                    ProblemKind::UnitCycle(s.units[child].id.clone()),
                ),
                _ => {}
            }
        }
    }
}

/// Count types that partition the ballots of a unit (NIST `CountItemType`); `absentee` is
/// left out when its sub-types are present.
fn is_breakdown(kind: CountType) -> bool {
    !matches!(
        kind,
        CountType::Total | CountType::WriteIn | CountType::Seats | CountType::Other
    )
}

fn check_breakdowns(
    s: &Snapshot,
    contest: &Contest,
    problems: &mut Problems,
    warnings: &mut Vec<Warning>,
) {
    // Counts are sorted by (unit, choice, kind, round): each (unit, choice) group is a run,
    // summed as it is read, in one pass over the contest.
    let mut rest = &contest.counts[..];
    while let Some(first) = rest.first() {
        let mut sums = GroupSums::default();
        let len = rest
            .iter()
            .take_while(|vc| vc.unit == first.unit && vc.choice == first.choice)
            .inspect(|vc| sums.add(vc))
            .count();
        let (group, after) = rest.split_at(len);
        if sums.rounds || sums.total.is_some() {
            sums.check(s, contest, group, problems, warnings);
        }
        rest = after;
    }
}

/// What [`check_breakdowns`] sums over one (unit, choice) group, or over one round of a group
/// with rounds. Saturating sums of non-negative counts do not depend on order.
#[derive(Debug, Default)]
struct GroupSums {
    total: Option<u64>,
    has_sub: bool,
    /// Breakdown types other than `Absentee`: (any, saturating sum).
    rest: (bool, u64),
    /// `Absentee`: (any, saturating sum).
    absentee: (bool, u64),
    /// Some count of the group has a round: the group is checked round by round instead.
    rounds: bool,
}

impl GroupSums {
    #[inline(always)]
    fn add(&mut self, vc: &VoteCount) {
        self.rounds |= vc.round.is_some();
        match vc.kind {
            CountType::Total => self.total = Some(vc.votes),
            CountType::Absentee => {
                self.absentee = (true, self.absentee.1.saturating_add(vc.votes));
                return;
            }
            CountType::AbsenteeMail | CountType::AbsenteeInPerson | CountType::AbsenteeFwab => {
                self.has_sub = true
            }
            _ => {}
        }
        if is_breakdown(vc.kind) {
            self.rest = (true, self.rest.1.saturating_add(vc.votes));
        }
    }

    /// The vote types of `group` (the counts summed) must not add up to more than its total;
    /// less is a warning. Inlined: called once per group of every contest, and a call would
    /// put the sums in memory (PA's validation: 107 M instructions inlined, 123 M not).
    #[inline(always)]
    fn check(
        &self,
        s: &Snapshot,
        contest: &Contest,
        group: &[VoteCount],
        problems: &mut Problems,
        warnings: &mut Vec<Warning>,
    ) {
        if self.rounds {
            rounds_breakdown(s, contest, group, problems, warnings);
            return;
        }
        let Some(total) = self.total else { return };
        let (any, sum) = if self.has_sub {
            self.rest
        } else {
            (
                self.rest.0 || self.absentee.0,
                self.rest.1.saturating_add(self.absentee.1),
            )
        };
        if any && sum != total {
            breakdown_problem(s, contest, group, total, sum, problems, warnings);
        }
    }
}

/// [`check_breakdowns`] for a (unit, choice) group with rounds: each round on its own, summed
/// as a group without rounds is.
fn rounds_breakdown(
    s: &Snapshot,
    contest: &Contest,
    group: &[VoteCount],
    problems: &mut Problems,
    warnings: &mut Vec<Warning>,
) {
    let mut rounds: Vec<Option<u32>> = group.iter().map(|vc| vc.round).collect();
    rounds.sort_unstable();
    rounds.dedup();
    for round in rounds {
        let mut sums = GroupSums::default();
        for vc in group.iter().filter(|vc| vc.round == round) {
            sums.add(vc);
        }
        sums.rounds = false;
        sums.check(s, contest, group, problems, warnings);
    }
}

/// Vote types adding up to more than their total (a problem) or less (a warning).
fn breakdown_problem(
    s: &Snapshot,
    contest: &Contest,
    group: &[VoteCount],
    total: u64,
    sum: u64,
    problems: &mut Problems,
    warnings: &mut Vec<Warning>,
) {
    let place = Location::Model(format!(
        "contest {:?}, unit {}, choice {}",
        contest.id,
        unit_label(s, group[0].unit),
        choice_label(contest, group[0].choice)
    ));
    if sum > total {
        problems.push(place, ProblemKind::TotalMismatch { total, sum });
    } else {
        warnings.push(Warning {
            kind: WarningKind::PartialBreakdown,
            location: place,
            detail: format!("vote types add up to {sum} of the total {total}"),
        });
    }
}

/// The first-round (or only) total of some counts, summed over their choices.
fn total_votes<'a>(counts: impl Iterator<Item = &'a VoteCount>) -> Option<u64> {
    let mut first_round: Option<Option<u32>> = None;
    let mut sum = 0u64;
    for vc in counts.filter(|vc| vc.kind == CountType::Total) {
        let round = *first_round.get_or_insert(vc.round);
        if vc.round == round {
            sum = sum.checked_add(vc.votes)?;
        }
    }
    Some(sum)
}

/// Positions in `contest.counts` of the counts of the unit at `unit` (counts are sorted by
/// unit).
fn unit_range(contest: &Contest, unit: u32) -> Range<usize> {
    let start = contest.counts.partition_point(|vc| vc.unit < unit);
    let end = start + contest.counts[start..].partition_point(|vc| vc.unit <= unit);
    start..end
}

fn check_ballots(
    s: &Snapshot,
    c: &Resolved<'_>,
    layout: &Layout,
    problems: &mut Problems,
    warnings: &mut Vec<Warning>,
) {
    let contest = c.contest;
    for (range, &u) in layout.units.iter().zip(&layout.unit_of) {
        let range = range.clone();
        let group = &contest.counts[range.clone()];
        let Some(ballots) = s.units.get(u as usize).and_then(|u| u.facts.ballots_cast) else {
            continue;
        };
        // Write-in lines are left out: exports commonly give the write-in total and the names
        // it resolved to (Clarity "SCATTER", OpenElections "Not Assigned"), counting those
        // votes twice. Named choices alone must still fit in the ballots.
        let named = group
            .iter()
            .zip(c.choices(range))
            .filter(|&(_, ch)| {
                contest
                    .choices
                    .get(ch as usize)
                    .is_some_and(|c| !c.write_in)
            })
            .map(|(vc, _)| vc);
        let Some(votes) = total_votes(named) else {
            problems.push(
                Location::Model(format!("contest {:?}", contest.id)),
                ProblemKind::Overflow,
            );
            continue;
        };
        let allowed = contest.votes_allowed.unwrap_or(1);
        if votes <= ballots.saturating_mul(u64::from(allowed.max(1))) {
            continue;
        }
        let location = Location::Model(format!(
            "contest {:?}, unit {}",
            contest.id,
            unit_label(s, u)
        ));
        let kind = ProblemKind::VotesExceedBallots {
            votes,
            ballots,
            votes_allowed: allowed,
        };
        match contest.votes_allowed {
            Some(_) => problems.push(location, kind),
            // The source does not say how many votes a ballot may give: this may be legal.
            None => warnings.push(Warning {
                kind: WarningKind::VotesExceedBallots,
                location,
                detail: format!("{kind} (votes allowed unknown, 1 assumed)"),
            }),
        }
    }
}

/// Totals keyed by (choice, count type, round).
pub type Totals = BTreeMap<(String, CountType, Option<u32>), u64>;

/// [`Totals`] with the choice as its position in [`Contest::choices`] (`u32::MAX`: a choice the
/// contest does not list).
pub type IndexTotals = BTreeMap<(u32, CountType, Option<u32>), u64>;

/// [`unit_totals`] for many units of one snapshot: units are looked up through one hash map,
/// and each contest's totals ([`SnapshotTotals::contest`]) are kept per unit as they are
/// computed, so a county's are summed once from its precincts and the state's from its
/// counties, not again from every precinct; and a sum visits only the units with data in the
/// contest (a house district's contest does not walk the state's every precinct). The results
/// site asks for every unit of every contest.
pub struct SnapshotTotals<'s> {
    s: &'s Snapshot,
    index: UnitIndex<'s>,
    /// Per unit (by position), the units it is a child of.
    parents: Vec<Vec<u32>>,
    /// Some unit has [`UNIT_DEPTH_MAX`] levels of units below it.
    deep: bool,
}

impl<'s> SnapshotTotals<'s> {
    pub fn new(s: &'s ValidSnapshot) -> Self {
        let index = UnitIndex::new(s);
        let n = s.units.len();
        let children: Vec<Vec<u32>> = s
            .units
            .iter()
            .map(|u| {
                u.children
                    .iter()
                    .filter_map(|c| index.get(c).map(|i| i as u32))
                    .collect()
            })
            .collect();
        let mut parents = vec![Vec::new(); n];
        for (p, cs) in children.iter().enumerate() {
            for &c in cs {
                parents[c as usize].push(p as u32);
            }
        }
        // Heights, children first, with a stack of our own; a cycle (refused by `validate`)
        // counts as the limit.
        let mut height = vec![usize::MAX; n];
        let mut pending = vec![false; n];
        for root in 0..n {
            let mut stack = vec![(root, false)];
            while let Some((u, expanded)) = stack.pop() {
                if height[u] != usize::MAX {
                    continue;
                }
                if expanded {
                    pending[u] = false;
                    let below = children[u].iter().map(|&c| height[c as usize]);
                    let h = below.map(|h| h.saturating_add(1)).max().unwrap_or(0);
                    height[u] = h.min(UNIT_DEPTH_MAX);
                    continue;
                }
                if pending[u] {
                    height[u] = UNIT_DEPTH_MAX;
                    continue;
                }
                pending[u] = true;
                stack.push((u, true));
                for &c in &children[u] {
                    if height[c as usize] == usize::MAX {
                        if pending[c as usize] {
                            height[c as usize] = UNIT_DEPTH_MAX;
                        } else {
                            stack.push((c as usize, false));
                        }
                    }
                }
            }
        }
        SnapshotTotals {
            s,
            index,
            parents,
            deep: height.iter().any(|&h| h >= UNIT_DEPTH_MAX),
        }
    }

    /// The totals of `contest` (one of the snapshot's), unit by unit.
    pub fn contest(&self, contest: &'s Contest) -> ContestTotals<'_, 's> {
        let layout = Layout::new(contest, self.s.units.len());
        // Units with counts, and every unit above one.
        let mut has_data = vec![false; self.s.units.len()];
        let mut stack: Vec<u32> = layout
            .unit_of
            .iter()
            .copied()
            .filter(|&u| u != u32::MAX)
            .collect();
        while let Some(u) = stack.pop() {
            if std::mem::replace(&mut has_data[u as usize], true) {
                continue;
            }
            stack.extend(&self.parents[u as usize]);
        }
        ContestTotals {
            units: self,
            contest,
            has_data,
            memo: HashMap::default(),
        }
    }
}

impl std::fmt::Debug for SnapshotTotals<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotTotals")
            .field("units", &self.s.units.len())
            .finish_non_exhaustive()
    }
}

/// The totals of one contest in the units asked so far: see [`SnapshotTotals`].
pub struct ContestTotals<'u, 's> {
    units: &'u SnapshotTotals<'s>,
    contest: &'s Contest,
    /// Per unit: it has counts in the contest, or a unit below it has.
    has_data: Vec<bool>,
    memo: HashMap<&'s str, Entry>,
}

/// One unit's totals in [`ContestTotals`].
struct Entry {
    totals: Result<Option<IndexTotals>, ProblemKind>,
    /// How deep below the unit the sum went through units without counts (see
    /// [`ContestTotals::get`]).
    deep: usize,
    /// The totals are the unit's own counts.
    own: bool,
}

impl std::fmt::Debug for ContestTotals<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContestTotals")
            .field("contest", &self.contest.id)
            .field("units", &self.memo.len())
            .finish_non_exhaustive()
    }
}

impl<'s> ContestTotals<'_, 's> {
    /// The totals [`unit_totals`] gives for `unit`, with choices as positions (unknown ones as
    /// `u32::MAX`, which [`unit_totals`] leaves out); `Err` where it fails.
    pub fn get(&mut self, unit: &'s str) -> Result<Option<&IndexTotals>, ProblemKind> {
        self.ensure(unit);
        let entry = &self.memo[unit];
        // `unit_totals` refuses a sum that goes `UNIT_DEPTH_MAX` units without counts deep
        // below the one asked for; `deep` is that nesting, measured from this unit.
        if entry.deep >= UNIT_DEPTH_MAX {
            return Err(ProblemKind::Limit {
                what: "unit depth",
                count: UNIT_DEPTH_MAX as u64,
                max: UNIT_DEPTH_MAX as u64,
            });
        }
        match &entry.totals {
            Ok(t) => Ok(t.as_ref()),
            Err(e) => Err(e.clone()),
        }
    }

    /// Computes the entries of `root` and of the units under it that it needs, children
    /// first, with a stack of its own (units may nest deeper than the thread's stack would
    /// allow recursion). A unit met again while its own sum is pending (a cycle, which
    /// [`validate`] refuses) counts as having no data.
    fn ensure(&mut self, root: &'s str) {
        let s = self.units.s;
        let mut stack: Vec<(&'s str, bool)> = vec![(root, false)];
        let mut pending: std::collections::HashSet<&'s str> = Default::default();
        while let Some((unit, expanded)) = stack.pop() {
            if self.memo.contains_key(unit) {
                continue;
            }
            if expanded {
                pending.remove(unit);
                let entry = self.sum_children(unit);
                self.memo.insert(unit, entry);
                continue;
            }
            let at = self.units.index.get(unit);
            let own = at.map_or(0..0, |u| unit_range(self.contest, u as u32));
            if !own.is_empty() {
                let mut t = IndexTotals::new();
                for vc in &self.contest.counts[own] {
                    t.insert((choice_at(self.contest, vc), vc.kind, vc.round), vc.votes);
                }
                let entry = Entry {
                    totals: Ok(Some(t)),
                    deep: 0,
                    own: true,
                };
                self.memo.insert(unit, entry);
                continue;
            }
            let Some(u) = at else {
                let entry = Entry {
                    totals: Ok(None),
                    deep: 0,
                    own: false,
                };
                self.memo.insert(unit, entry);
                continue;
            };
            if !pending.insert(unit) {
                continue;
            }
            stack.push((unit, true));
            // Children without data add nothing; only their depth could matter (`get`), and
            // only in a snapshot whose units nest `UNIT_DEPTH_MAX` levels deep.
            let every_child = self.units.deep;
            for child in &s.units[u].children {
                let child = child.as_str();
                let Some(c) = self.units.index.get(child) else {
                    continue;
                };
                let wanted = every_child || self.has_data[c];
                if wanted && !self.memo.contains_key(child) && !pending.contains(child) {
                    stack.push((child, false));
                }
            }
        }
    }

    /// The entry of a unit without counts of its own whose children's entries are made: as
    /// `child_groups`, children with data summed per unit kind, the best group.
    fn sum_children(&self, unit: &str) -> Entry {
        let (s, index) = (self.units.s, &self.units.index);
        let entry = |totals, deep| Entry {
            totals,
            deep,
            own: false,
        };
        let Some(u) = index.get(unit) else {
            return entry(Ok(None), 0);
        };
        let children = &s.units[u].children;
        let mut deep = 0;
        for child in children.iter().filter(|c| index.get(c).is_some()) {
            if let Some(e) = self.memo.get(child.as_str())
                && !e.own
            {
                deep = deep.max(1 + e.deep);
            }
        }
        let mut groups: BTreeMap<&'static str, (usize, IndexTotals)> = BTreeMap::new();
        for child in children {
            let Some(cu) = index.get(child) else { continue };
            let t = match self.memo.get(child.as_str()).map(|e| &e.totals) {
                Some(Ok(Some(t))) => t,
                Some(Ok(None)) | None => continue,
                Some(Err(e)) => return entry(Err(e.clone()), deep),
            };
            let g = groups.entry(s.units[cu].kind.as_str()).or_default();
            g.0 += 1;
            for (k, v) in t {
                let e = g.1.entry(*k).or_insert(0);
                match e.checked_add(*v) {
                    Some(sum) => *e = sum,
                    None => return entry(Err(ProblemKind::Overflow), deep),
                }
            }
        }
        let mut out: Vec<_> = groups.into_iter().map(|(k, (n, t))| (n, k, t)).collect();
        out.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        entry(Ok(out.into_iter().next().map(|(_, _, t)| t)), deep)
    }
}

/// Exact totals of `contest` (one of `s`'s) in `unit`: the unit's own counts if the source gives any,
/// otherwise the sum over one group of its children (those of one unit kind, so that overlapping
/// groups such as counties and house districts are not added twice; the group with the most
/// children that have data wins, ties broken by kind). `None` if no data at all, `Err` on overflow.
pub fn unit_totals(
    s: &ValidSnapshot,
    contest: &Contest,
    unit: &str,
) -> Result<Option<Totals>, ProblemKind> {
    let index = UnitIndex::sorted(s);
    let c = Resolved { contest };
    let totals = totals_inner(s, &index, &c, unit, 0)?;
    Ok(totals.map(|t| {
        t.into_iter()
            .filter_map(|((ch, kind, round), v)| {
                let choice = contest.choices.get(ch as usize)?;
                Some(((choice.id.clone(), kind, round), v))
            })
            .collect()
    }))
}

/// Units nest at most this deep (a cycle is refused earlier; this bounds the recursion).
pub const UNIT_DEPTH_MAX: usize = 64;

fn totals_inner(
    s: &Snapshot,
    index: &UnitIndex<'_>,
    c: &Resolved<'_>,
    unit: &str,
    depth: usize,
) -> Result<Option<IndexTotals>, ProblemKind> {
    let at = index.get(unit);
    let own = at.map_or(0..0, |u| unit_range(c.contest, u as u32));
    if !own.is_empty() {
        let mut t = IndexTotals::new();
        for (vc, ch) in c.contest.counts[own.clone()].iter().zip(c.choices(own)) {
            t.insert((ch, vc.kind, vc.round), vc.votes);
        }
        return Ok(Some(t));
    }
    if depth >= UNIT_DEPTH_MAX {
        return Err(ProblemKind::Limit {
            what: "unit depth",
            count: depth as u64,
            max: UNIT_DEPTH_MAX as u64,
        });
    }
    let Some(u) = at else {
        return Ok(None);
    };
    Ok(child_groups(s, index, c, &s.units[u].children, depth)?
        .into_iter()
        .next()
        .map(|(_, _, t)| t))
}

/// Children with data, summed per unit kind; best group first.
fn child_groups(
    s: &Snapshot,
    index: &UnitIndex<'_>,
    c: &Resolved<'_>,
    children: &[String],
    depth: usize,
) -> Result<Vec<(usize, &'static str, IndexTotals)>, ProblemKind> {
    let mut groups: BTreeMap<&'static str, (usize, IndexTotals)> = BTreeMap::new();
    for child in children {
        let Some(cu) = index.get(child) else { continue };
        let Some(t) = totals_inner(s, index, c, child, depth + 1)? else {
            continue;
        };
        let g = groups.entry(s.units[cu].kind.as_str()).or_default();
        g.0 += 1;
        for (k, v) in t {
            let e = g.1.entry(k).or_insert(0);
            *e = e.checked_add(v).ok_or(ProblemKind::Overflow)?;
        }
    }
    let mut out: Vec<_> = groups.into_iter().map(|(k, (n, t))| (n, k, t)).collect();
    out.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    Ok(out)
}

fn check_aggregates(
    s: &Snapshot,
    index: &UnitIndex<'_>,
    c: &Resolved<'_>,
    layout: &Layout,
    problems: &mut Problems,
) {
    let contest = c.contest;
    // Counts are sorted by unit: each range is a different unit.
    for (range, &u) in layout.units.iter().zip(&layout.unit_of) {
        let range = range.clone();
        let group = &contest.counts[range.clone()];
        let Some(unit) = s.units.get(u as usize) else {
            continue;
        };
        let unit_id = unit.id.as_str();
        if unit.children.is_empty() {
            continue;
        }
        let groups = match child_groups(s, index, c, &unit.children, 0) {
            Ok(g) => g,
            Err(kind) => {
                problems.push(Location::Model(format!("contest {:?}", contest.id)), kind);
                continue;
            }
        };
        for (_, child_kind, sums) in groups {
            for (vc, ch) in group.iter().zip(c.choices(range.clone())) {
                // Only compare what the children report: a type the children leave out is
                // not evidence of a mismatch.
                let Some(&sum) = sums.get(&(ch, vc.kind, vc.round)) else {
                    continue;
                };
                if sum != vc.votes {
                    problems.push(
                        Location::Model(format!("contest {:?}", contest.id)),
                        ProblemKind::AggregateMismatch {
                            unit: unit_id.to_owned(),
                            key: format!(
                                "choice {}, {}",
                                choice_label(contest, vc.choice),
                                vc.kind
                            ),
                            child_kind: child_kind.to_owned(),
                            given: vc.votes,
                            sum,
                        },
                    );
                }
            }
        }
    }
}

fn warn_units_without_votes(
    s: &Snapshot,
    index: &UnitIndex<'_>,
    layouts: &[Layout],
    warnings: &mut Vec<Warning>,
) {
    // By position in `s.units`; every count's unit is known by now.
    let mut covered = vec![false; s.units.len()];
    let mut any = false;
    for layout in layouts {
        for &u in &layout.unit_of {
            if let Some(c) = covered.get_mut(u as usize) {
                *c = true;
                any = true;
            }
        }
    }
    if !any {
        return; // A pre-election report: no unit has votes yet, nothing to flag.
    }
    // A unit with no votes of its own is fine if it is made of units that have some.
    let mut changed = true;
    while changed {
        changed = false;
        for (i, u) in s.units.iter().enumerate() {
            if !covered[i]
                && u.children
                    .iter()
                    .any(|c| index.get(c).is_some_and(|j| covered[j]))
            {
                covered[i] = true;
                changed = true;
            }
        }
    }
    for (u, _) in s.units.iter().zip(&covered).filter(|(_, c)| !**c) {
        warnings.push(Warning {
            kind: WarningKind::UnitWithoutVotes,
            location: Location::Model(format!("unit {:?}", u.id)),
            detail: format!("{} {:?} has no votes in any contest", u.kind, u.name),
        });
    }
}
