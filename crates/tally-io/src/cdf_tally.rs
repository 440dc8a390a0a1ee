//! Tallies a whole NIST SP 1500-103 CDF cast vote record report into an `urne-results`
//! snapshot: every contest, every choice, per ballot-style reporting unit and for the
//! election scope.
//!
//! Counting follows SP 1500-103 as the NIST test data applies it: a `SelectionPosition`
//! counts `NumberVotes` (1 when absent) only when `HasIndication` is `yes` and `IsAllocable`
//! is not `no` (overvoted and rule-invalidated marks are kept in the record but marked not
//! allocable; straight-party marks are already expanded into `generated-rules` positions).
//! Over- and undervotes are the sums of each `CVRContest`'s `Overvotes` / `Undervotes`.
//! Ranked-choice contests (`VoteVariation` `rcv`) also go through the pure IRV core; their
//! rounds are reported for the election scope unit.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde_json::Value;
use urne_results::{
    Choice, Contest, ContestKind, CountType, Election, ElectionKind, Limits, OtherCount, Party,
    ReportStatus, Snapshot, Unit, UnitFacts, UnitKind, ValidSnapshot, VoteVariation,
};
use urne_tally::model::{Ballots, Cand, OvervoteRule, Rules, TiebreakMode, WinnerMode};
use urne_tally::rcv::{Setup, tabulate};
use urne_tally::{Dec, model};

use crate::Error;
use crate::readers::{arr, read_cdf_xml_tree, read_json, s};
use crate::snapshot::NamedTotal as Named;

/// Reads a CDF CVR report (JSON, or XML by extension) and tallies every contest in it.
pub fn tally_cdf_report(file: &Path) -> Result<ValidSnapshot, Error> {
    let is_xml = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("xml"));
    let tree = if is_xml {
        read_cdf_xml_tree(file)?
    } else {
        read_json(file)?
    };
    let snapshot = snapshot_of(file, &tree)?;
    let name = file.display().to_string();
    urne_results::validate(&name, snapshot, &Limits::DEFAULT, &mut Vec::new()).map_err(|e| {
        Error::Results {
            file: file.to_path_buf(),
            source: e,
        }
    })
}

fn num(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(t) => t.trim().parse().ok(),
        _ => None,
    }
}

/// The local type name of a `@type` (`CVR.CandidateContest`, `cdf:CandidateContest`).
fn type_name(v: &Value) -> &str {
    let t = s(v, "@type").unwrap_or_default();
    t.rsplit(['.', ':']).next().unwrap_or(t)
}

/// A list of ids: a JSON array, or XML's whitespace-separated `xs:IDREFS`.
fn ids(v: &Value, key: &str) -> Vec<String> {
    arr(v, key)
        .iter()
        .filter_map(Value::as_str)
        .flat_map(str::split_whitespace)
        .map(str::to_owned)
        .collect()
}

fn is_true(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::Bool(true))) || matches!(v.and_then(Value::as_str), Some("true" | "1"))
}

/// Per contest: votes per (unit, selection), (over, under) per unit, and ranked ballots.
#[derive(Default)]
struct Acc {
    votes: BTreeMap<(String, String), u64>,
    other: BTreeMap<String, (u64, u64)>,
    ranked: Vec<(String, Vec<(u32, String)>)>,
}

fn snapshot_of(file: &Path, tree: &Value) -> Result<Snapshot, Error> {
    let err = |at: String, rule: String| Error::Cvr {
        file: file.to_path_buf(),
        at,
        rule,
    };
    let election = arr(tree, "Election")
        .first()
        .ok_or_else(|| err("$.Election".into(), "no Election".into()))?;
    let scope = s(election, "ElectionScopeId")
        .ok_or_else(|| err("$.Election[0]".into(), "no ElectionScopeId".into()))?
        .to_owned();
    let parties: Vec<Party> = arr(tree, "Party")
        .iter()
        .filter_map(|p| {
            Some(Party {
                id: s(p, "@id")?.to_owned(),
                name: s(p, "Name").unwrap_or_default().to_owned(),
                abbreviation: s(p, "Abbreviation").map(str::to_owned),
            })
        })
        .collect();
    let party_ids: Vec<&str> = parties.iter().map(|p| p.id.as_str()).collect();
    let candidates: HashMap<&str, &Value> = arr(election, "Candidate")
        .iter()
        .filter_map(|c| Some((s(c, "@id")?, c)))
        .collect();
    let mut contests: Vec<Contest> = Vec::new();
    for (ci, c) in arr(election, "Contest").iter().enumerate() {
        contests.push(
            contest_of(c, &scope, &candidates, &party_ids).ok_or_else(|| {
                err(
                    format!("$.Election[0].Contest[{ci}]"),
                    "a contest or selection without @id".into(),
                )
            })?,
        );
    }
    let index: HashMap<String, usize> = contests
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.clone(), i))
        .collect();
    let mut acc: Vec<Acc> = contests.iter().map(|_| Acc::default()).collect();
    for (ri, cvr) in arr(tree, "CVR").iter().enumerate() {
        count_cvr(cvr, &scope, &index, &mut acc)
            .map_err(|rule| err(format!("$.CVR[{ri}]"), rule))?;
    }
    let mut used_units: Vec<String> = Vec::new();
    let mut named = Vec::with_capacity(contests.len());
    for (contest, acc) in contests.iter_mut().zip(acc) {
        named.push(
            fill_counts(contest, acc, &scope, &mut used_units)
                .map_err(|rule| err(format!("contest {:?}", contest.id), rule))?,
        );
    }
    used_units.sort();
    used_units.dedup();
    let units = units_of(tree, &scope, &used_units);
    let mut snapshot = Snapshot {
        election: Election {
            name: s(election, "Name")
                .or_else(|| s(election, "@id"))
                .unwrap_or_default()
                .to_owned(),
            kind: ElectionKind::Other,
            start_date: String::new(),
            end_date: String::new(),
            scope_unit: scope,
        },
        status: ReportStatus::UnofficialComplete,
        parties,
        units,
        contests,
    };
    // Counts name units by position: added once the units are in place.
    crate::snapshot::add_totals(&mut snapshot, &named).map_err(|(i, e)| {
        err(
            format!("contest {:?}", snapshot.contests[i].id),
            e.to_string(),
        )
    })?;
    Ok(snapshot)
}

fn contest_of(
    c: &Value,
    scope: &str,
    candidates: &HashMap<&str, &Value>,
    party_ids: &[&str],
) -> Option<Contest> {
    let kind = match type_name(c) {
        "BallotMeasureContest" => ContestKind::BallotMeasure,
        "RetentionContest" => ContestKind::Retention,
        "PartyContest" => ContestKind::Party,
        _ => ContestKind::Candidate,
    };
    let mut choices = Vec::new();
    for cs in arr(c, "ContestSelection") {
        let id = s(cs, "@id")?.to_owned();
        let cands: Vec<&Value> = ids(cs, "CandidateIds")
            .iter()
            .filter_map(|i| candidates.get(i.as_str()).copied())
            .collect();
        let name = if !cands.is_empty() {
            let names: Vec<&str> = cands.iter().filter_map(|c| s(c, "Name")).collect();
            names.join(" / ")
        } else if let Some(sel) = s(cs, "Selection") {
            sel.to_owned()
        } else {
            ids(cs, "PartyIds").join(" / ")
        };
        let party = cands
            .first()
            .and_then(|c| s(c, "PartyId"))
            .filter(|p| party_ids.contains(p))
            .map(str::to_owned);
        choices.push(Choice {
            name: if name.is_empty() { id.clone() } else { name },
            id,
            party,
            write_in: is_true(cs.get("IsWriteIn")),
        });
    }
    Some(Contest {
        id: s(c, "@id")?.to_owned(),
        name: s(c, "Name").unwrap_or_default().to_owned(),
        kind,
        district: scope.to_owned(),
        votes_allowed: num(c.get("VotesAllowed")).and_then(|v| u32::try_from(v).ok()),
        variation: s(c, "VoteVariation").and_then(VoteVariation::from_nist),
        choices,
        counts: Vec::new(),
        other_counts: Vec::new(),
    })
}

/// Adds one record's contests to the accumulators. SP 1500-103: the record's current
/// snapshot (`CurrentSnapshotId`) is the one that counts.
fn count_cvr(
    cvr: &Value,
    scope: &str,
    index: &HashMap<String, usize>,
    acc: &mut [Acc],
) -> Result<(), String> {
    let snaps = arr(cvr, "CVRSnapshot");
    let current = s(cvr, "CurrentSnapshotId");
    let Some(snapshot) = snaps
        .iter()
        .find(|sn| current.is_some() && s(sn, "@id") == current)
        .or(snaps.first())
    else {
        return Ok(());
    };
    let unit = s(cvr, "BallotStyleUnitId").unwrap_or(scope).to_owned();
    for cc in arr(snapshot, "CVRContest") {
        let id = s(cc, "ContestId").unwrap_or_default();
        let i = *index
            .get(id)
            .ok_or_else(|| format!("ContestId {id:?} is not a contest of the election"))?;
        let a = &mut acc[i];
        let o = a.other.entry(unit.clone()).or_default();
        o.0 += num(cc.get("Overvotes")).unwrap_or(0);
        o.1 += num(cc.get("Undervotes")).unwrap_or(0);
        let mut ranks = Vec::new();
        for sel in arr(cc, "CVRContestSelection") {
            let Some(sel_id) = s(sel, "ContestSelectionId") else {
                continue;
            };
            for pos in arr(sel, "SelectionPosition") {
                if s(pos, "HasIndication") != Some("yes") || s(pos, "IsAllocable") == Some("no") {
                    continue;
                }
                let n = num(pos.get("NumberVotes")).unwrap_or(1);
                if let Some(rank) = num(pos.get("Rank")) {
                    let rank = u32::try_from(rank).ok().filter(|r| *r >= 1);
                    let rank = rank.ok_or_else(|| format!("Rank {rank:?} is not from 1"))?;
                    ranks.push((rank, sel_id.to_owned()));
                }
                *a.votes
                    .entry((unit.clone(), sel_id.to_owned()))
                    .or_default() += n;
            }
        }
        a.ranked.push((unit.clone(), ranks));
    }
    Ok(())
}

/// The contest's over- and undervotes, and its counts to add once the units are known.
fn fill_counts(
    contest: &mut Contest,
    acc: Acc,
    scope: &str,
    used_units: &mut Vec<String>,
) -> Result<Vec<Named>, String> {
    let mut named = Vec::new();
    let rcv = contest.variation == Some(VoteVariation::Rcv);
    let mut units: Vec<String> = acc.other.keys().cloned().collect();
    if !units.is_empty() && !units.iter().any(|u| u == scope) {
        units.push(scope.to_owned());
    }
    used_units.extend(units.iter().cloned());
    for unit in &units {
        let at = |k: &(String, String)| unit == scope || k.0 == *unit;
        for choice in &contest.choices {
            let votes = if rcv {
                first_choices(&acc.ranked, unit, scope, &choice.id)
            } else {
                acc.votes
                    .iter()
                    .filter(|(k, _)| at(k) && k.1 == choice.id)
                    .map(|(_, v)| *v)
                    .sum()
            };
            named.push((unit.clone(), choice.id.clone(), None, votes));
        }
        let (over, under) = acc
            .other
            .iter()
            .filter(|(u, _)| unit == scope || *u == unit)
            .fold((0, 0), |s, (_, o)| (s.0 + o.0, s.1 + o.1));
        contest.other_counts.push(OtherCount {
            unit: unit.into(),
            kind: CountType::Total,
            overvotes: Some(over),
            undervotes: Some(under),
        });
    }
    if rcv && !acc.ranked.is_empty() {
        let rounds = irv_rounds(contest, &acc.ranked)?;
        for (r, votes) in rounds.into_iter().enumerate() {
            for (choice, v) in votes {
                named.push((scope.to_owned(), choice.to_string(), Some(r as u32 + 1), v));
            }
        }
    }
    Ok(named)
}

/// Rank-1 marks for a choice (what an RCV contest's plain count means).
fn first_choices(
    ranked: &[(String, Vec<(u32, String)>)],
    unit: &str,
    scope: &str,
    id: &str,
) -> u64 {
    ranked
        .iter()
        .filter(|(u, _)| unit == scope || u == unit)
        .filter(|(_, marks)| {
            let top = marks.iter().map(|m| m.0).min();
            let at_top: Vec<_> = marks.iter().filter(|m| Some(m.0) == top).collect();
            at_top.len() == 1 && at_top[0].1 == id
        })
        .count() as u64
}

/// Single-winner IRV through the pure core: each selection is a candidate (write-in lines
/// too), overvotes exhaust, ties go by selection order. Returns per round (choice, votes).
fn irv_rounds(
    contest: &Contest,
    ranked: &[(String, Vec<(u32, String)>)],
) -> Result<Vec<Vec<(String, u64)>>, String> {
    let n = contest.choices.len();
    let core = model::Contest {
        names: contest.choices.iter().map(|c| c.id.clone()).collect(),
        excluded: vec![false; n],
        uwi: None,
    };
    let position: HashMap<&str, Cand> = contest
        .choices
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.as_str(), i as Cand))
        .collect();
    let mut ballots = Ballots::default();
    for (bi, (unit, marks)) in ranked.iter().enumerate() {
        let marks = marks
            .iter()
            .filter_map(|(r, id)| Some((*r, *position.get(id.as_str())?)))
            .collect();
        ballots.push(bi.to_string(), Some(unit), None, marks);
    }
    let rules = Rules {
        mode: WinnerMode::SingleWinnerMajority,
        tiebreak: TiebreakMode::UseCandidateOrder,
        random_seed: 0,
        overvote: OvervoteRule::ExhaustImmediately,
        number_of_winners: 1,
        bottoms_up_fraction: Dec::ZERO,
        decimal_places: 0,
        minimum_vote_threshold: Dec::ZERO,
        max_skipped_ranks: None,
        max_rankings: n as u32,
        non_integer_threshold: false,
        first_round_determines_threshold: false,
        hare_quota: false,
        batch_elimination: false,
        cutoff_elimination: false,
        continue_until_two: false,
        exhaust_on_duplicate: false,
        stop_after_round: None,
    };
    let setup = Setup {
        contest: &core,
        rules: &rules,
        permutation: (0..n as Cand).collect(),
        slices: Vec::new(),
        record_snapshots: false,
    };
    let outcome = tabulate(setup, &ballots).map_err(|e| format!("IRV: {e}"))?;
    let mut rounds = Vec::new();
    for round in &outcome.rounds {
        let mut votes = Vec::new();
        for (i, choice) in contest.choices.iter().enumerate() {
            if let Some(v) = round.tally(i as Cand) {
                let v: u64 = v
                    .to_string()
                    .parse()
                    .map_err(|_| format!("IRV: {v} votes"))?;
                votes.push((choice.id.clone(), v));
            }
        }
        rounds.push(votes);
    }
    Ok(rounds)
}

/// The report's GpUnits, plus any unit id the records use without defining it. Composition
/// is left empty: a CVR report does not say how units nest, and ballot-style units of different
/// kinds (combined and split precincts in gen-01) together partition the scope, which
/// `validate`'s per-kind sum check would misread.
fn units_of(tree: &Value, scope: &str, used: &[String]) -> Vec<Unit> {
    let mut units: Vec<Unit> = arr(tree, "GpUnit")
        .iter()
        .filter_map(|g| {
            let id = s(g, "@id")?.to_owned();
            Some(Unit {
                name: s(g, "Name").unwrap_or(&id).to_owned(),
                kind: s(g, "Type")
                    .and_then(UnitKind::from_nist)
                    .unwrap_or(UnitKind::Other),
                children: Vec::new(),
                facts: UnitFacts::default(),
                id,
            })
        })
        .collect();
    for id in used.iter().map(String::as_str).chain([scope]) {
        if !units.iter().any(|u| u.id == id) {
            units.push(Unit {
                id: id.to_owned(),
                name: id.to_owned(),
                kind: UnitKind::Other,
                children: Vec::new(),
                facts: UnitFacts::default(),
            });
        }
    }
    units
}
