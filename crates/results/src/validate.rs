//! Validation of a [`Snapshot`] and exact aggregation up the unit tree.
//!
//! [`validate`] is the only way to get a [`ValidSnapshot`]; exporters, the canonical encoder and
//! the diff take that token, so nothing downstream sees results that were not checked.

use std::collections::{BTreeMap, HashMap, HashSet};

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
    let mut problems = Problems::default();
    check_limits(&snapshot, limits, &mut problems);
    problems.into_result(source_name)?;
    let mut problems = Problems::default();
    check_ids(&snapshot, &mut problems);
    check_references(&snapshot, &mut problems);
    check_cycles(&snapshot, &mut problems);
    check_write_ins(&snapshot, &mut problems);
    problems.into_result(source_name)?;
    let mut problems = Problems::default();
    for contest in &snapshot.contests {
        check_breakdowns(contest, &mut problems, warnings);
        check_ballots(&snapshot, contest, &mut problems, warnings);
        check_aggregates(&snapshot, contest, &mut problems);
    }
    problems.into_result(source_name)?;
    warn_units_without_votes(&snapshot, warnings);
    Ok(ValidSnapshot { snapshot })
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

fn check_ids(s: &Snapshot, problems: &mut Problems) {
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
    for c in &s.contests {
        dup(
            problems,
            "choice",
            &mut c.choices.iter().map(|p| p.id.as_str()),
        );
        for w in c.counts.windows(2) {
            if w[0].key() == w[1].key() {
                problems.push(
                    Location::Model(format!("contest {:?}", c.id)),
                    ProblemKind::DuplicateCount(count_label(&w[0])),
                );
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

fn count_label(c: &VoteCount) -> String {
    match c.round {
        Some(r) => format!(
            "unit {:?}, choice {:?}, {}, round {r}",
            c.unit, c.choice, c.kind
        ),
        None => format!("unit {:?}, choice {:?}, {}", c.unit, c.choice, c.kind),
    }
}

fn check_references(s: &Snapshot, problems: &mut Problems) {
    let unit = |id: &str| s.unit(id).is_some();
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
    for c in &s.contests {
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
        // Counts are sorted by unit: look each unit up once.
        for group in c.counts.chunk_by(|a, b| a.unit == b.unit) {
            if !unit(&group[0].unit) {
                let vc = &group[0];
                unknown(
                    format!("contest {:?}, {}", c.id, count_label(vc)),
                    "unit",
                    &vc.unit,
                );
            }
            for vc in group {
                if c.choice(&vc.choice).is_none() {
                    unknown(
                        format!("contest {:?}, {}", c.id, count_label(vc)),
                        "choice",
                        &vc.choice,
                    );
                }
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

fn check_cycles(s: &Snapshot, problems: &mut Problems) {
    // Iterative depth-first search; colour 1 = on the stack, 2 = done.
    let index: HashMap<&str, usize> = s
        .units
        .iter()
        .enumerate()
        .map(|(i, u)| (u.id.as_str(), i))
        .collect();
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
            let Some(&child) = index.get(children[next].as_str()) else {
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

fn check_breakdowns(contest: &Contest, problems: &mut Problems, warnings: &mut Vec<Warning>) {
    // Counts are sorted by (unit, choice, kind, round): group by (unit, choice), then by round.
    for group in contest
        .counts
        .chunk_by(|a, b| a.unit == b.unit && a.choice == b.choice)
    {
        let mut by_round: BTreeMap<Option<u32>, (Option<u64>, u64, bool, bool)> = BTreeMap::new();
        for vc in group {
            let e = by_round.entry(vc.round).or_default();
            match vc.kind {
                CountType::Total => e.0 = Some(vc.votes),
                CountType::Absentee => e.2 = true,
                CountType::AbsenteeMail | CountType::AbsenteeInPerson | CountType::AbsenteeFwab => {
                    e.3 = true
                }
                _ => {}
            }
        }
        for (round, (total, _, has_absentee, has_sub)) in by_round {
            let Some(total) = total else { continue };
            let mut sum = 0u64;
            let mut any = false;
            for vc in group
                .iter()
                .filter(|vc| vc.round == round && is_breakdown(vc.kind))
            {
                if vc.kind == CountType::Absentee && has_sub {
                    continue;
                }
                let _ = has_absentee;
                any = true;
                sum = sum.saturating_add(vc.votes);
            }
            let place = || {
                Location::Model(format!(
                    "contest {:?}, unit {:?}, choice {:?}",
                    contest.id, group[0].unit, group[0].choice
                ))
            };
            if any && sum > total {
                problems.push(place(), ProblemKind::TotalMismatch { total, sum });
            } else if any && sum < total {
                warnings.push(Warning {
                    kind: WarningKind::PartialBreakdown,
                    location: place(),
                    detail: format!("vote types add up to {sum} of the total {total}"),
                });
            }
        }
    }
}

/// The first-round (or only) total of a count slice, summed over its choices.
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

fn unit_range<'a>(contest: &'a Contest, unit: &str) -> &'a [VoteCount] {
    let start = contest.counts.partition_point(|vc| vc.unit.as_str() < unit);
    let end = contest
        .counts
        .partition_point(|vc| vc.unit.as_str() <= unit);
    &contest.counts[start..end]
}

fn check_ballots(
    s: &Snapshot,
    contest: &Contest,
    problems: &mut Problems,
    warnings: &mut Vec<Warning>,
) {
    for group in contest.counts.chunk_by(|a, b| a.unit == b.unit) {
        let unit = &group[0].unit;
        let Some(ballots) = s.unit(unit).and_then(|u| u.facts.ballots_cast) else {
            continue;
        };
        // Write-in lines are left out: exports commonly give the write-in total and the names
        // it resolved to (Clarity "SCATTER", OpenElections "Not Assigned"), counting those
        // votes twice. Named choices alone must still fit in the ballots.
        let named = group
            .iter()
            .filter(|vc| contest.choice(&vc.choice).is_some_and(|c| !c.write_in));
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
        let location = Location::Model(format!("contest {:?}, unit {unit:?}", contest.id));
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

/// Exact totals of `contest` in `unit`: the unit's own counts if the source gives any,
/// otherwise the sum over one group of its children (those of one unit kind, so that overlapping
/// groups such as counties and house districts are not added twice; the group with the most
/// children that have data wins, ties broken by kind). `None` if no data at all, `Err` on overflow.
pub fn unit_totals(
    s: &ValidSnapshot,
    contest: &Contest,
    unit: &str,
) -> Result<Option<Totals>, ProblemKind> {
    totals_inner(s, contest, unit, 0)
}

/// Units nest at most this deep (a cycle is refused earlier; this bounds the recursion).
pub const UNIT_DEPTH_MAX: usize = 64;

fn totals_inner(
    s: &Snapshot,
    contest: &Contest,
    unit: &str,
    depth: usize,
) -> Result<Option<Totals>, ProblemKind> {
    let own = unit_range(contest, unit);
    if !own.is_empty() {
        let mut t = Totals::new();
        for vc in own {
            t.insert((vc.choice.clone(), vc.kind, vc.round), vc.votes);
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
    let Some(u) = s.unit(unit) else {
        return Ok(None);
    };
    Ok(child_groups(s, contest, &u.children, depth)?
        .into_iter()
        .next()
        .map(|(_, _, t)| t))
}

/// Children with data, summed per unit kind; best group first.
fn child_groups(
    s: &Snapshot,
    contest: &Contest,
    children: &[String],
    depth: usize,
) -> Result<Vec<(usize, String, Totals)>, ProblemKind> {
    let mut groups: BTreeMap<String, (usize, Totals)> = BTreeMap::new();
    for child in children {
        let Some(cu) = s.unit(child) else { continue };
        let Some(t) = totals_inner(s, contest, child, depth + 1)? else {
            continue;
        };
        let g = groups.entry(cu.kind.as_str().to_owned()).or_default();
        g.0 += 1;
        for (k, v) in t {
            let e = g.1.entry(k).or_insert(0);
            *e = e.checked_add(v).ok_or(ProblemKind::Overflow)?;
        }
    }
    let mut out: Vec<_> = groups.into_iter().map(|(k, (n, t))| (n, k, t)).collect();
    out.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    Ok(out)
}

fn check_aggregates(s: &Snapshot, contest: &Contest, problems: &mut Problems) {
    let mut seen = HashSet::new();
    for group in contest.counts.chunk_by(|a, b| a.unit == b.unit) {
        let unit_id = group[0].unit.as_str();
        let Some(unit) = s.unit(unit_id) else {
            continue;
        };
        if unit.children.is_empty() || !seen.insert(unit_id) {
            continue;
        }
        let groups = match child_groups(s, contest, &unit.children, 0) {
            Ok(g) => g,
            Err(kind) => {
                problems.push(Location::Model(format!("contest {:?}", contest.id)), kind);
                continue;
            }
        };
        for (_, child_kind, sums) in groups {
            for vc in group {
                let key = (vc.choice.clone(), vc.kind, vc.round);
                // Only compare what the children report: a type the children leave out is
                // not evidence of a mismatch.
                let Some(&sum) = sums.get(&key) else { continue };
                if sum != vc.votes {
                    problems.push(
                        Location::Model(format!("contest {:?}", contest.id)),
                        ProblemKind::AggregateMismatch {
                            unit: unit_id.to_owned(),
                            key: format!("choice {:?}, {}", vc.choice, vc.kind),
                            child_kind: child_kind.clone(),
                            given: vc.votes,
                            sum,
                        },
                    );
                }
            }
        }
    }
}

fn warn_units_without_votes(s: &Snapshot, warnings: &mut Vec<Warning>) {
    let mut with_votes: HashSet<&str> = HashSet::new();
    for c in &s.contests {
        for group in c.counts.chunk_by(|a, b| a.unit == b.unit) {
            with_votes.insert(&group[0].unit);
        }
    }
    if with_votes.is_empty() {
        return; // A pre-election report: no unit has votes yet, nothing to flag.
    }
    // A unit with no votes of its own is fine if it is made of units that have some.
    let mut covered: HashSet<&str> = with_votes.clone();
    let mut changed = true;
    while changed {
        changed = false;
        for u in &s.units {
            if !covered.contains(u.id.as_str())
                && u.children.iter().any(|c| covered.contains(c.as_str()))
            {
                covered.insert(&u.id);
                changed = true;
            }
        }
    }
    for u in &s.units {
        if !covered.contains(u.id.as_str()) {
            warnings.push(Warning {
                kind: WarningKind::UnitWithoutVotes,
                location: Location::Model(format!("unit {:?}", u.id)),
                detail: format!("{} {:?} has no votes in any contest", u.kind, u.name),
            });
        }
    }
}
