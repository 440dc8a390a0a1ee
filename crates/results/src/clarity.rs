//! Clarity ENR (Scytl / SOE Software) `detail.xml`.
//!
//! `ElectionResult` > `VoterTurnout/Precincts/Precinct` (or `ElectionVoterTurnout/Counties/
//! County`) gives the sub-units of the `Region` with registered voters and ballots cast; each
//! `Contest` > `Choice` > `VoteType` > `Precinct|County` gives votes by vote type. The region's
//! own totals (`Choice@totalVotes`, `VoteType@votes`) are kept as counts of the region unit, so
//! validation checks them against the sum of the sub-units. Contest-level `VoteType`s
//! "Undervotes" / "Overvotes" become over/undervotes.

use std::collections::HashMap;
use std::io::Read;

use crate::error::{ImportError, Location, ProblemKind, Problems, Warning, WarningKind};
use crate::model::{
    Choice, Contest, ContestKind, CountType, Election, ElectionKind, OtherCount, Party,
    ReportStatus, ReportingStatus, Snapshot, Unit, UnitFacts, UnitKind, VoteCount,
};
use crate::nist_json::read_limited;
use crate::openelections::{UniqueIds, slug};
use crate::validate::{Imported, Limits, validate};
use crate::xml::{Element, parse};

/// What `detail.xml` does not say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClarityOptions {
    pub limits: Limits,
    pub election_kind: ElectionKind,
    pub status: ReportStatus,
}

impl Default for ClarityOptions {
    fn default() -> Self {
        ClarityOptions {
            limits: Limits::DEFAULT,
            election_kind: ElectionKind::General,
            status: ReportStatus::UnofficialComplete,
        }
    }
}

/// Id of the region (root) unit.
pub const REGION_UNIT_ID: &str = "region";

/// Clarity vote type names seen in the wild, mapped to NIST count types.
fn vote_type(name: &str) -> Option<CountType> {
    let n = name.trim().to_ascii_lowercase();
    Some(match n.as_str() {
        "election day" | "election day votes" | "election" => CountType::ElectionDay,
        "absentee by mail" | "absentee by mail votes" | "mail in / absentee" | "mail-in" => {
            CountType::AbsenteeMail
        }
        "absentee" => CountType::Absentee,
        "advance in person" | "advanced voting votes" | "early vote" | "early voting" => {
            CountType::Early
        }
        "provisional" | "provisional votes" => CountType::Provisional,
        _ => return None,
    })
}

/// `M/D/YYYY` to `YYYY-MM-DD`; anything else is kept as given.
fn iso_date(d: &str) -> String {
    let parts: Vec<&str> = d.trim().split('/').collect();
    match parts.as_slice() {
        [m, day, y] if y.len() == 4 => format!("{y}-{:0>2}-{:0>2}", m, day),
        _ => d.trim().to_owned(),
    }
}

/// Status from "reported of participating" counts (county-level `County` elements and the
/// contests' `precinctsReported` of `precinctsParticipating` / `precinctsReporting`).
fn status_of(reported: u64, participating: u64) -> Option<ReportingStatus> {
    match (reported, participating) {
        (_, 0) => None,
        (0, _) => Some(ReportingStatus::NotStarted),
        (r, p) if r < p => Some(ReportingStatus::Partial),
        (r, p) if r == p => Some(ReportingStatus::Complete),
        _ => None, // More reported than take part: not trusted, left unknown (a warning).
    }
}

/// A precinct's `percentReporting`. Despite the name it is not a percentage: every precinct
/// of every complete file we have says `4`. Clarity does not document it; we read it, as the
/// Washington Post's elex-clarity does, as the number of the four vote-type tallies (election
/// day, advance, mail, provisional) that are in: 0 none, 1–3 some, 4 all. Any other value (one
/// Kentucky file has `32` on its absentee pseudo-precinct) is left unknown, with a warning.
fn precinct_status(percent_reporting: &str) -> Option<ReportingStatus> {
    match percent_reporting.trim() {
        "0" => Some(ReportingStatus::NotStarted),
        "1" | "2" | "3" => Some(ReportingStatus::Partial),
        "4" => Some(ReportingStatus::Complete),
        _ => None,
    }
}

/// The region's status over its contests (each says how many of its precincts reported): all
/// complete is complete, none started is not started, anything else partial. Without such
/// attributes, the same rule over the sub-units' statuses (unknown if any is unknown).
fn region_status(contests: &[Option<ReportingStatus>], units: &[Unit]) -> Option<ReportingStatus> {
    let given: Vec<Option<ReportingStatus>> = if contests.iter().any(Option::is_some) {
        contests.iter().copied().filter(Option::is_some).collect()
    } else {
        units.iter().skip(1).map(|u| u.facts.reporting).collect()
    };
    if given.is_empty() || given.iter().any(Option::is_none) {
        return None;
    }
    let all = |s| given.iter().all(|g| *g == Some(s));
    Some(if all(ReportingStatus::Complete) {
        ReportingStatus::Complete
    } else if all(ReportingStatus::NotStarted) {
        ReportingStatus::NotStarted
    } else {
        ReportingStatus::Partial
    })
}

/// Imports a Clarity `detail.xml`.
pub fn import_clarity_xml(
    source_name: &str,
    reader: impl Read,
    options: &ClarityOptions,
) -> Result<Imported, ImportError> {
    let bytes = read_limited(source_name, reader, options.limits.source_bytes_max)?;
    let root = parse(source_name, &bytes)?;
    let mut p = Problems::default();
    let mut warnings = Vec::new();
    let loc = |e: &Element, path: &str| Location::XmlElement {
        path: path.to_owned(),
        byte: Some(e.byte),
    };
    if root.name != "ElectionResult" {
        p.push(
            loc(&root, &root.name),
            ProblemKind::UnknownValue {
                what: "root element",
                value: root.name.clone(),
            },
        );
        return Err(p.into_error(source_name));
    }
    let count = |p: &mut Problems, e: &Element, path: &str, attr: &str| -> Option<u64> {
        let v = e.attr(attr)?;
        match v.trim().parse::<u64>() {
            Ok(v) => Some(v),
            Err(_) => {
                p.push(
                    loc(e, &format!("{path}/@{attr}")),
                    ProblemKind::BadCount {
                        value: v.to_owned(),
                    },
                );
                None
            }
        }
    };

    // Sub-units: precincts of a county file, or counties of a state file.
    let (sub_kind, sub_tag, list) = if let Some(t) = root.child("VoterTurnout") {
        (UnitKind::Precinct, "Precinct", t.child("Precincts"))
    } else {
        let t = root.child("ElectionVoterTurnout");
        (
            UnitKind::County,
            "County",
            t.and_then(|t| t.child("Counties")),
        )
    };
    let mut units = vec![Unit {
        id: REGION_UNIT_ID.to_owned(),
        name: root.child_text("Region").unwrap_or("").to_owned(),
        kind: if sub_kind == UnitKind::Precinct {
            UnitKind::County
        } else {
            UnitKind::State
        },
        children: Vec::new(),
        facts: UnitFacts::default(),
    }];
    // Unit name -> (id, position in `units`).
    let mut by_name: HashMap<String, (String, u32)> = HashMap::new();
    // Two names may slug alike: each still gets its own id.
    let mut unit_ids = UniqueIds::default();
    let prefix = if sub_kind == UnitKind::Precinct {
        "p-"
    } else {
        "county-"
    };
    if let Some(t) = root.child("VoterTurnout") {
        units[0].facts.registered_voters =
            count(&mut p, t, "/ElectionResult/VoterTurnout", "totalVoters");
        units[0].facts.ballots_cast =
            count(&mut p, t, "/ElectionResult/VoterTurnout", "ballotsCast");
    }
    for (i, e) in list
        .map(|l| l.children_named(sub_tag).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let path = format!("/ElectionResult/.../{sub_tag}[{}]", i + 1);
        let name = e.attr("name").unwrap_or("").to_owned();
        if by_name.contains_key(&name) {
            p.push(
                loc(e, &path),
                ProblemKind::DuplicateId {
                    what: "unit name",
                    id: name.clone(),
                },
            );
            continue;
        }
        let id = unit_ids.claim(format!("{prefix}{}", slug(&name)));
        // Positions fit in u32: the file is below `Limits::source_bytes_max`, 4 GiB, and each
        // unit takes more than one byte of it.
        let at = units.len() as u32;
        by_name.insert(name.clone(), (id.clone(), at));
        let reporting = if sub_kind == UnitKind::Precinct {
            let given = e.attr("percentReporting");
            let status = given.and_then(precinct_status);
            if let (Some(v), None) = (given, status) {
                warnings.push(Warning {
                    kind: WarningKind::Dropped,
                    location: loc(e, &format!("{path}/@percentReporting")),
                    detail: format!(
                        "precinct {name:?}: percentReporting {v:?} not understood, reporting status left unknown"
                    ),
                });
            }
            status
        } else {
            let reported = count(&mut p, e, &path, "precinctsReported");
            let participating = count(&mut p, e, &path, "precinctsParticipating");
            reported_status(
                reported,
                participating,
                || loc(e, &path),
                &name,
                &mut warnings,
            )
        };
        let facts = UnitFacts {
            registered_voters: count(&mut p, e, &path, "totalVoters"),
            // Clarity writes ballotsCast="0" where turnout was not reported (GA 2018 runoff,
            // Arkansas 2014: every county 0 with thousands of votes). Zero is read as unknown;
            // a unit that really had no ballots has no votes either, so no check is lost.
            ballots_cast: count(&mut p, e, &path, "ballotsCast").filter(|&b| b > 0),
            reporting,
            ..UnitFacts::default()
        };
        units[0].children.push(id.clone());
        units.push(Unit {
            id,
            name,
            kind: sub_kind,
            children: Vec::new(),
            facts,
        });
    }

    let mut parties: Vec<Party> = Vec::new();
    let mut contests = Vec::new();
    let mut contest_status = Vec::new();
    for (ci, ce) in root.children_named("Contest").enumerate() {
        let cpath = format!("/ElectionResult/Contest[{}]", ci + 1);
        // County files say `precinctsReporting` for the precincts taking part, state files
        // `precinctsParticipating` (elex-clarity reads them the same way).
        let reported = count(&mut p, ce, &cpath, "precinctsReported");
        let participating = count(&mut p, ce, &cpath, "precinctsParticipating")
            .or_else(|| count(&mut p, ce, &cpath, "precinctsReporting"));
        let what = format!("contest {:?}", ce.attr("text").unwrap_or(""));
        contest_status.push(reported_status(
            reported,
            participating,
            || loc(ce, &cpath),
            &what,
            &mut warnings,
        ));
        let key = ce.attr("key").unwrap_or("").trim();
        let id = format!("c-{}", slug(key));
        let mut contest = Contest {
            id: id.clone(),
            name: ce.attr("text").unwrap_or("").to_owned(),
            kind: if ce.attr("isQuestion") == Some("true") {
                ContestKind::BallotMeasure
            } else {
                ContestKind::Candidate
            },
            district: REGION_UNIT_ID.to_owned(),
            votes_allowed: ce.attr("voteFor").and_then(|v| v.trim().parse().ok()),
            variation: None,
            choices: Vec::new(),
            counts: Vec::new(),
            other_counts: Vec::new(),
        };
        let mut others: HashMap<String, (Option<u64>, Option<u64>)> = HashMap::new();
        for (vi, ve) in ce.children_named("VoteType").enumerate() {
            let vpath = format!("{cpath}/VoteType[{}]", vi + 1);
            let name = ve.attr("name").unwrap_or("");
            let over = match name.trim().to_ascii_lowercase().as_str() {
                "overvotes" => true,
                "undervotes" => false,
                _ => {
                    warnings.push(Warning {
                        kind: WarningKind::Dropped,
                        location: loc(ve, &vpath),
                        detail: format!("contest-level vote type {name:?} left out"),
                    });
                    continue;
                }
            };
            let region_total = count(&mut p, ve, &vpath, "votes");
            let mut sub: Vec<(String, Option<u64>)> =
                vec![(REGION_UNIT_ID.to_owned(), region_total)];
            for (si, se) in ve.children_named(sub_tag).enumerate() {
                let spath = format!("{vpath}/{sub_tag}[{}]", si + 1);
                let Some((uid, _)) = by_name.get(se.attr("name").unwrap_or("")) else {
                    p.push(
                        loc(se, &spath),
                        ProblemKind::UnknownReference {
                            what: "unit",
                            id: se.attr("name").unwrap_or("").to_owned(),
                        },
                    );
                    continue;
                };
                sub.push((uid.clone(), count(&mut p, se, &spath, "votes")));
            }
            for (uid, v) in sub {
                let e = others.entry(uid).or_default();
                if over { e.0 = v } else { e.1 = v }
            }
        }
        contest.other_counts = others
            .into_iter()
            .map(|(unit, (overvotes, undervotes))| OtherCount {
                unit: unit.into(),
                kind: CountType::Total,
                overvotes,
                undervotes,
            })
            .collect();
        for (chi, che) in ce.children_named("Choice").enumerate() {
            let chpath = format!("{cpath}/Choice[{}]", chi + 1);
            let choice_id = format!("{id}.{}", slug(che.attr("key").unwrap_or("")));
            let party = che
                .attr("party")
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|name| {
                    let pid = format!("party-{}", slug(name));
                    if !parties.iter().any(|x| x.id == pid) {
                        parties.push(Party {
                            id: pid.clone(),
                            name: name.to_owned(),
                            abbreviation: None,
                        });
                    }
                    pid
                });
            let name = che.attr("text").unwrap_or("").to_owned();
            // Below `choices_per_contest_max` once validated; a longer list is refused there.
            let choice = contest.choices.len() as u32;
            // Clarity lists the write-in total ("Write-in") and then, without a party, the
            // write-ins it resolved to names (Luzerne 2024: "SCATTER", named people), whose
            // votes the total already holds. All of those are write-in lines.
            let write_in = name.to_ascii_lowercase().starts_with("write-in")
                || (party.is_none() && contest.choices.iter().any(|c| c.write_in));
            contest.choices.push(Choice {
                id: choice_id.clone(),
                name,
                party,
                write_in,
            });
            if let Some(t) = count(&mut p, che, &chpath, "totalVotes") {
                contest
                    .counts
                    .push(vc(REGION_AT, choice, CountType::Total, t));
            }
            let mut sub_totals: HashMap<u32, u64> = HashMap::new();
            for (vi, ve) in che.children_named("VoteType").enumerate() {
                let vpath = format!("{chpath}/VoteType[{}]", vi + 1);
                let tname = ve.attr("name").unwrap_or("");
                let Some(kind) = vote_type(tname) else {
                    p.push(
                        loc(ve, &vpath),
                        ProblemKind::UnknownValue {
                            what: "vote type",
                            value: tname.to_owned(),
                        },
                    );
                    continue;
                };
                if let Some(v) = count(&mut p, ve, &vpath, "votes") {
                    contest.counts.push(vc(REGION_AT, choice, kind, v));
                }
                for (si, se) in ve.children_named(sub_tag).enumerate() {
                    let spath = format!("{vpath}/{sub_tag}[{}]", si + 1);
                    let Some(&(_, unit)) = by_name.get(se.attr("name").unwrap_or("")) else {
                        p.push(
                            loc(se, &spath),
                            ProblemKind::UnknownReference {
                                what: "unit",
                                id: se.attr("name").unwrap_or("").to_owned(),
                            },
                        );
                        continue;
                    };
                    let Some(v) = count(&mut p, se, &spath, "votes") else {
                        continue;
                    };
                    contest.counts.push(vc(unit, choice, kind, v));
                    let t = sub_totals.entry(unit).or_insert(0);
                    match t.checked_add(v) {
                        Some(x) => *t = x,
                        None => p.push(loc(se, &spath), ProblemKind::Overflow),
                    }
                }
            }
            for (unit, t) in sub_totals {
                contest.counts.push(vc(unit, choice, CountType::Total, t));
            }
        }
        contests.push(contest);
    }
    if !p.is_empty() {
        return Err(p.into_error(source_name));
    }
    units[0].facts.reporting = region_status(&contest_status, &units);
    let date = iso_date(root.child_text("ElectionDate").unwrap_or(""));
    let snapshot = Snapshot {
        election: Election {
            name: root.child_text("ElectionName").unwrap_or("").to_owned(),
            kind: options.election_kind,
            start_date: date.clone(),
            end_date: date,
            scope_unit: REGION_UNIT_ID.to_owned(),
        },
        status: options.status,
        parties,
        units,
        contests,
    };
    let snapshot = validate(source_name, snapshot, &options.limits, &mut warnings)?;
    Ok(Imported { snapshot, warnings })
}

/// [`status_of`] for optional attributes; a count that is not trusted gets a warning.
fn reported_status(
    reported: Option<u64>,
    participating: Option<u64>,
    location: impl FnOnce() -> Location,
    what: &str,
    warnings: &mut Vec<Warning>,
) -> Option<ReportingStatus> {
    let (r, n) = (reported?, participating?);
    let status = status_of(r, n);
    if status.is_none() && n > 0 {
        warnings.push(Warning {
            kind: WarningKind::Dropped,
            location: location(),
            detail: format!(
                "{what}: {r} precincts reported of {n} taking part, reporting status left unknown"
            ),
        });
    }
    status
}

/// Position of the region's unit in `units`: the first.
const REGION_AT: u32 = 0;

fn vc(unit: u32, choice: u32, kind: CountType, votes: u64) -> VoteCount {
    VoteCount {
        unit,
        choice,
        kind,
        round: None,
        votes,
    }
}
