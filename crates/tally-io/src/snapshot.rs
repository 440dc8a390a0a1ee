//! An RCTab-config tally as an `urne-results` snapshot: what the results site shows and what a
//! `results` release publishes. Works for every CVR format, since it starts from the ballots
//! and the tabulation, not from the files.
//!
//! The mapping (the round-by-round detail beyond it, with exact decimals, transfers and
//! inactive ballots by reason, is RCTab's `detailed_report.json`, written beside it):
//! - one contest (one per pass for multi-pass IRV, ids `<contest>/pass-<i>`), kind candidate,
//!   variation `rcv`, one vote allowed per ballot;
//! - choices: the config's candidates in config order, and the undeclared write-in line
//!   (flagged `write_in`) when write-ins are tallied; ids are the names (prefixed
//!   `pass-<i>/` for multi-pass IRV, as NIST exports need selection ids unique across contests);
//! - units: the jurisdiction (`contestJurisdiction`, else `jurisdiction`), and when tabulating by
//!   precinct one unit per precinct, composing the jurisdiction when every ballot names a
//!   precinct (so `validate` checks that precinct counts add up to the jurisdiction's in every
//!   round);
//! - counts per unit: round `None` holds first choices (round 1), round `r` the tally of every
//!   candidate still in round `r` (winners included). A round where any tally has a fraction
//!   (surplus transfers in multi-seat contests) has no place in the model's whole votes and is
//!   left out; [`ResultsSnapshot::fractional_rounds`] lists those rounds;
//! - over/undervotes per unit: ballots inactive in round 1 because of an overvote, and ballots
//!   that ranked no candidate. Exhausted ballots per round have no place in the model.
//! - `ballots_cast` per unit: the ballots read for it.

use std::collections::BTreeMap;

use urne_results::{
    Choice, Contest, ContestKind, CountType, Election, ElectionKind, Limits, Location, OtherCount,
    ReportStatus, Snapshot, Unit, UnitFacts, UnitKind, ValidSnapshot, VoteVariation,
};
use urne_tally::Dec;
use urne_tally::model::{Ballots, Cand};
use urne_tally::rcv::{Outcome, RoundTally, SliceKind, Status};

use crate::{Config, Error};

/// Unit id of a ballot that names no precinct although the config tabulates by precinct.
pub const BLANK_PRECINCT: &str = "(blank)";

/// A tally's validated snapshot and what could not go into it.
#[derive(Debug)]
pub struct ResultsSnapshot {
    pub snapshot: ValidSnapshot,
    /// `(pass, round)` of rounds left out because some tally in them has a fraction (pass 1
    /// unless multi-pass IRV).
    pub fractional_rounds: Vec<(u32, u32)>,
}

/// Builds and validates the snapshot of one tabulation. `passes` holds one outcome, or one per
/// pass for multi-pass IRV; `pass_contests` the candidates of each pass (earlier winners
/// excluded).
pub fn results_snapshot(
    config: &Config,
    ballots: &Ballots,
    passes: &[(&urne_tally::model::Contest, &Outcome)],
) -> Result<ResultsSnapshot, Error> {
    let units = Units::of(config, ballots);
    let mut contests = Vec::new();
    let mut named = Vec::new();
    let mut fractional_rounds = Vec::new();
    let base_id = non_empty(&config.info.name, "contest");
    for (p, (contest, outcome)) in passes.iter().enumerate() {
        let pass = p as u32 + 1;
        let (id, name) = if passes.len() > 1 {
            (
                format!("{base_id}/pass-{pass}"),
                format!("{} (pass {pass})", config.info.name),
            )
        } else {
            (base_id.to_owned(), config.info.name.clone())
        };
        // NIST exports need selection ids unique across contests: prefix them per pass.
        let prefix = if passes.len() > 1 {
            format!("pass-{pass}/")
        } else {
            String::new()
        };
        let (counts, other_counts, fractional) =
            counts_of(config, contest, outcome, &units, &prefix);
        named.push(counts);
        fractional_rounds.extend(fractional.into_iter().map(|r| (pass, r)));
        contests.push(Contest {
            id,
            name,
            kind: ContestKind::Candidate,
            district: units.scope.clone(),
            votes_allowed: Some(1),
            variation: Some(VoteVariation::Rcv),
            choices: choices_of(config, &prefix),
            counts: Vec::new(),
            other_counts,
        });
    }
    let date = &config.info.date;
    let iso = date.len() == 10
        && date.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    let mut snapshot = Snapshot {
        election: Election {
            name: non_empty(&config.info.name, "contest").to_owned(),
            kind: ElectionKind::Other,
            start_date: if iso { date.clone() } else { String::new() },
            end_date: if iso { date.clone() } else { String::new() },
            scope_unit: units.scope.clone(),
        },
        status: ReportStatus::UnofficialComplete,
        parties: Vec::new(),
        units: units.list(),
        contests,
    };
    let name = config.path.display().to_string();
    // Counts name units by position: added once the units are in place.
    add_totals(&mut snapshot, &named).map_err(|(i, e)| {
        let at = format!("contest {:?}", snapshot.contests[i].id);
        Error::Results {
            file: config.path.clone(),
            source: urne_results::ImportError::one(&name, Location::Model(at), e),
        }
    })?;
    let snapshot = urne_results::validate(&name, snapshot, &Limits::DEFAULT, &mut Vec::new())
        .map_err(|e| Error::Results {
            file: config.path.clone(),
            source: e,
        })?;
    Ok(ResultsSnapshot {
        snapshot,
        fractional_rounds,
    })
}

/// A total count named by ids: (unit, choice, round, votes).
pub(crate) type NamedTotal = (String, String, Option<u32>, u64);

/// Adds `named[i]`, total counts named by ids, to contest `i` of `snapshot`, whose units and
/// choices are in place. `Err` names the contest and the unknown id.
pub(crate) fn add_totals(
    snapshot: &mut Snapshot,
    named: &[Vec<NamedTotal>],
) -> Result<(), (usize, urne_results::ProblemKind)> {
    for (i, counts) in named.iter().enumerate() {
        let by_id = counts.iter().map(|(unit, choice, round, votes)| {
            let (unit, choice) = (unit.as_str(), choice.as_str());
            (unit, choice, CountType::Total, *round, *votes)
        });
        snapshot.add_counts_by_id(i, by_id).map_err(|e| (i, e))?;
    }
    Ok(())
}

fn non_empty<'a>(text: &'a str, default: &'a str) -> &'a str {
    if text.trim().is_empty() {
        default
    } else {
        text
    }
}

fn choices_of(config: &Config, prefix: &str) -> Vec<Choice> {
    config
        .contest
        .names
        .iter()
        .enumerate()
        .map(|(i, name)| Choice {
            id: format!("{prefix}{name}"),
            name: name.clone(),
            party: None,
            write_in: config.contest.uwi == Some(i as Cand),
        })
        .collect()
}

/// The jurisdiction and, when tabulating by precinct, the precincts.
struct Units {
    scope: String,
    /// Ballots per precinct unit id.
    precinct_ballots: BTreeMap<String, u64>,
    /// Whether every ballot names a precinct (then the precincts compose the scope).
    complete: bool,
    ballots: u64,
}

impl Units {
    fn of(config: &Config, ballots: &Ballots) -> Units {
        let mut precinct_ballots = BTreeMap::new();
        let mut complete = true;
        if config.tabulate_by_precinct {
            for p in &ballots.precinct {
                match p {
                    Some(p) => {
                        let id = precinct_id(&ballots.precinct_names[*p as usize]);
                        *precinct_ballots.entry(id).or_insert(0u64) += 1;
                    }
                    None => complete = false,
                }
            }
        }
        let mut scope = non_empty(&config.info.jurisdiction, "jurisdiction").to_owned();
        while precinct_ballots.contains_key(&scope) {
            scope.push_str(" (jurisdiction)");
        }
        Units {
            scope,
            precinct_ballots,
            complete,
            ballots: ballots.len() as u64,
        }
    }

    fn list(&self) -> Vec<Unit> {
        let mut units = vec![Unit {
            id: self.scope.clone(),
            name: self.scope.clone(),
            kind: UnitKind::Other,
            children: if self.complete {
                self.precinct_ballots.keys().cloned().collect()
            } else {
                Vec::new()
            },
            facts: UnitFacts {
                ballots_cast: Some(self.ballots),
                ..UnitFacts::default()
            },
        }];
        units.extend(self.precinct_ballots.iter().map(|(id, n)| Unit {
            id: id.clone(),
            name: id.clone(),
            kind: UnitKind::Precinct,
            children: Vec::new(),
            facts: UnitFacts {
                ballots_cast: Some(*n),
                ..UnitFacts::default()
            },
        }));
        units
    }
}

fn precinct_id(name: &str) -> String {
    if name.is_empty() {
        BLANK_PRECINCT.to_owned()
    } else {
        name.to_owned()
    }
}

/// A tally as whole votes, `None` if it has a fraction.
fn whole(v: Dec) -> Option<u64> {
    if v.frac().is_zero() {
        u64::try_from(v.int_value()).ok()
    } else {
        None
    }
}

/// Total counts named by ids: (unit, choice, round, votes); over- and undervotes; the rounds
/// left out for fractional tallies.
type Counts = (
    Vec<(String, String, Option<u32>, u64)>,
    Vec<OtherCount>,
    Vec<u32>,
);

fn counts_of(
    config: &Config,
    contest: &urne_tally::model::Contest,
    outcome: &Outcome,
    units: &Units,
    prefix: &str,
) -> Counts {
    // (unit, its rounds) for the scope and each precinct slice.
    let mut sliced: Vec<(String, &[RoundTally])> = vec![(units.scope.clone(), &outcome.rounds)];
    if let Some(slice) = outcome
        .slices
        .iter()
        .find(|s| s.kind == SliceKind::Precinct)
    {
        for (i, id) in slice.ids.iter().enumerate() {
            sliced.push((precinct_id(id), &slice.rounds[i]));
        }
    }
    let n = contest.names.len() as Cand;
    let whole_round = |r: usize| {
        sliced.iter().all(|(_, rounds)| {
            rounds
                .get(r)
                .is_none_or(|t| (0..n).all(|c| t.tally(c).is_none_or(|v| whole(v).is_some())))
        })
    };
    let fractional: Vec<u32> = (0..outcome.rounds.len())
        .filter(|r| !whole_round(*r))
        .map(|r| r as u32 + 1)
        .collect();
    let mut counts = Vec::new();
    let mut other = Vec::new();
    for (unit, rounds) in &sliced {
        let Some(first) = rounds.first() else {
            continue;
        };
        for (r, tally) in rounds.iter().enumerate() {
            if fractional.contains(&(r as u32 + 1)) {
                continue;
            }
            for c in 0..n {
                let Some(votes) = tally.tally(c).and_then(whole) else {
                    continue;
                };
                let count = |round| {
                    let choice = format!("{prefix}{}", config.contest.names[c as usize]);
                    (unit.clone(), choice, round, votes)
                };
                if r == 0 {
                    counts.push(count(None));
                }
                counts.push(count(Some(r as u32 + 1)));
            }
        }
        other.push(OtherCount {
            unit: unit.into(),
            kind: CountType::Total,
            overvotes: whole(first.status(Status::InvalidatedByOvervote)),
            undervotes: whole(first.status(Status::DidNotRankAnyCandidates)),
        });
    }
    (counts, other, fractional)
}
