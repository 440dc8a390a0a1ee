//! NIST SP 1500-100 v2 (Election Results Reporting): the document shape shared by the JSON and
//! XML readers, and its conversion into a [`Snapshot`].
//!
//! Kept from the format: the report status, the one election, reporting units with their
//! composition, registered voters, count status and ballot counts, parties, candidate /
//! ballot-measure / retention / party contests with their selections, `VoteCounts` (with
//! `Round`) and `OtherCounts` (over/undervotes). Left out on purpose: ballot styles, offices,
//! people, headers, contact information, device classes. Candidates are folded into the choices
//! that name them (a ticket's names joined with " / ").

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use crate::error::{ImportError, Location, ProblemKind, Problems, Warning, WarningKind};
use crate::model::{
    Choice, Contest, ContestKind, CountType, Election, ElectionKind, Id, OtherCount, Party,
    ReportStatus, ReportingStatus, Snapshot, Unit, UnitFacts, UnitKind, VoteCount, VoteVariation,
};
use crate::validate::{Imported, Limits, validate};

/// Options for the NIST readers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NistOptions {
    pub limits: Limits,
    /// Accept a contest selection id that another contest already used (xs:ID forbids it; some
    /// third-party exporters do it anyway) by renaming the later one `<contest id>-<id>`, with a
    /// warning. Off by default: such a file is refused, naming the id.
    pub danger_rename_duplicate_selection_ids: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Doc {
    #[serde(default)]
    pub election: Vec<ElectionD>,
    #[serde(default)]
    pub gp_unit: Vec<GpUnitD>,
    #[serde(default)]
    pub party: Vec<PartyD>,
    #[serde(default)]
    pub status: String,
    pub is_test: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ElectionD {
    pub name: Option<TextD>,
    #[serde(rename = "Type", default)]
    pub kind: String,
    #[serde(default)]
    pub start_date: String,
    #[serde(default)]
    pub end_date: String,
    #[serde(default)]
    pub election_scope_id: String,
    #[serde(default)]
    pub candidate: Vec<CandidateD>,
    #[serde(default)]
    pub contest: Vec<ContestD>,
    #[serde(default)]
    pub ballot_counts: Vec<BallotCountsD>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct TextD {
    #[serde(rename = "Text", default)]
    pub text: Vec<LangD>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct LangD {
    #[serde(rename = "Content", default)]
    pub content: String,
    #[serde(rename = "Language", default)]
    pub language: String,
}

impl TextD {
    /// English if present, else the first text, else empty.
    fn pick(&self) -> String {
        let en = self
            .text
            .iter()
            .find(|t| t.language.eq_ignore_ascii_case("en"));
        en.or(self.text.first())
            .map(|t| t.content.clone())
            .unwrap_or_default()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct GpUnitD {
    #[serde(rename = "@id", default)]
    pub id: String,
    #[serde(rename = "@type", default)]
    pub ty: String,
    #[serde(rename = "Type", default)]
    pub kind: String,
    pub name: Option<TextD>,
    #[serde(default)]
    pub composing_gp_unit_ids: Vec<String>,
    pub voters_registered: Option<CountD>,
    #[serde(default)]
    pub count_status: Vec<CountStatusD>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CountStatusD {
    #[serde(default)]
    pub status: String,
    #[serde(rename = "Type", default)]
    pub kind: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PartyD {
    #[serde(rename = "@id", default)]
    pub id: String,
    pub name: Option<TextD>,
    pub abbreviation: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CandidateD {
    #[serde(rename = "@id", default)]
    pub id: String,
    pub ballot_name: Option<TextD>,
    pub party_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct BallotCountsD {
    #[serde(default)]
    pub gp_unit_id: String,
    #[serde(rename = "Type", default)]
    pub kind: String,
    pub ballots_cast: Option<CountD>,
    pub ballots_outstanding: Option<CountD>,
    pub round: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ContestD {
    #[serde(rename = "@id", default)]
    pub id: String,
    #[serde(rename = "@type", default)]
    pub ty: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub election_district_id: String,
    pub votes_allowed: Option<u32>,
    pub vote_variation: Option<String>,
    pub candidate_id: Option<String>,
    #[serde(default)]
    pub external_identifier: Vec<ExternalIdD>,
    #[serde(default)]
    pub contest_selection: Vec<SelectionD>,
    #[serde(default)]
    pub other_counts: Vec<OtherCountsD>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ExternalIdD {
    #[serde(rename = "Type", default)]
    pub kind: String,
    pub other_type: Option<String>,
    #[serde(default)]
    pub value: String,
}

/// `ExternalIdentifier` `OtherType` with which our exports say that the number of votes
/// allowed is unknown (NIST requires `VotesAllowed`; the exported 1 is then a placeholder).
pub const VOTES_ALLOWED_UNKNOWN: &str = "urne-votes-allowed";

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SelectionD {
    #[serde(rename = "@id", default)]
    pub id: String,
    #[serde(default)]
    pub candidate_ids: Vec<String>,
    #[serde(default)]
    pub party_ids: Vec<String>,
    pub selection: Option<TextD>,
    pub is_write_in: Option<bool>,
    #[serde(default)]
    pub vote_counts: Vec<VoteCountsD>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct VoteCountsD {
    #[serde(default)]
    pub gp_unit_id: String,
    #[serde(rename = "Type", default)]
    pub kind: CountKindD,
    pub count: Option<CountD>,
    pub round: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct OtherCountsD {
    #[serde(default)]
    pub gp_unit_id: String,
    pub overvotes: Option<CountD>,
    pub undervotes: Option<CountD>,
}

/// A `CountItemType` as written, parsed while reading: there is one per count, and keeping
/// the text would cost an allocation each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CountKindD {
    Known(CountType),
    Unknown(String),
}

impl CountKindD {
    pub(crate) fn parse(s: &str) -> Self {
        CountType::from_nist(s).map_or_else(|| CountKindD::Unknown(s.to_owned()), CountKindD::Known)
    }
}

impl Default for CountKindD {
    fn default() -> Self {
        CountKindD::Unknown(String::new())
    }
}

impl<'de> Deserialize<'de> for CountKindD {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = CountKindD;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a CountItemType string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<CountKindD, E> {
                Ok(CountKindD::parse(v))
            }
        }
        d.deserialize_str(V)
    }
}

/// A count as written: JSON numbers arrive as numbers, XML ones as text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CountD {
    Number(serde_json::Number),
    Text(String),
}

impl<'de> Deserialize<'de> for CountD {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde_json::Number::deserialize(d).map(CountD::Number)
    }
}

impl Default for CountD {
    fn default() -> Self {
        CountD::Text(String::new())
    }
}

/// Largest count accepted from a floating-point number: 2^53, past which doubles lose
/// whole numbers.
const FLOAT_COUNT_MAX: f64 = 9_007_199_254_740_992.0;

impl CountD {
    /// The whole, non-negative value, or the problem. `xs:double` allows `12.0`; a fraction is
    /// refused (our counts are whole votes).
    fn value(&self) -> Result<u64, ProblemKind> {
        let bad = |s: String| ProblemKind::BadCount { value: s };
        match self {
            CountD::Number(n) => {
                if let Some(v) = n.as_u64() {
                    return Ok(v);
                }
                match n.as_f64() {
                    Some(f) if f >= 0.0 && f.fract() == 0.0 && f <= FLOAT_COUNT_MAX => Ok(f as u64),
                    _ => Err(bad(n.to_string())),
                }
            }
            CountD::Text(t) => {
                let t = t.trim();
                if let Ok(v) = t.parse::<u64>() {
                    return Ok(v);
                }
                match t.parse::<f64>() {
                    Ok(f) if f >= 0.0 && f.fract() == 0.0 && f <= FLOAT_COUNT_MAX => Ok(f as u64),
                    _ => Err(bad(t.to_owned())),
                }
            }
        }
    }
}

/// How to name places in the source, so errors point into the file the user has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Json,
    Xml,
}

impl Dialect {
    /// Location of `segments` (name, index), e.g. `[("Election", 0), ("Contest", 3)]`.
    fn at(self, segments: &[(&str, usize)], leaf: Option<&str>) -> Location {
        let mut s = String::new();
        match self {
            Dialect::Json => {
                for (i, (name, idx)) in segments.iter().enumerate() {
                    if i > 0 {
                        s.push('.');
                    }
                    s.push_str(&format!("{name}[{idx}]"));
                }
                if let Some(l) = leaf {
                    if !s.is_empty() {
                        s.push('.');
                    }
                    s.push_str(l);
                }
                Location::JsonPath(s)
            }
            Dialect::Xml => {
                s.push_str("/ElectionReport");
                for (name, idx) in segments {
                    // XPath positions are 1-based.
                    s.push_str(&format!("/{name}[{}]", idx + 1));
                }
                if let Some(l) = leaf {
                    s.push('/');
                    s.push_str(l);
                }
                Location::XmlElement {
                    path: s,
                    byte: None,
                }
            }
        }
    }
}

pub(crate) fn convert(
    source_name: &str,
    doc: Doc,
    dialect: Dialect,
    options: &NistOptions,
) -> Result<Imported, ImportError> {
    let mut p = Problems::default();
    let mut warnings = Vec::new();
    let at = |segs: &[(&str, usize)], leaf: Option<&str>| dialect.at(segs, leaf);

    let status = match (ReportStatus::from_nist(&doc.status), doc.is_test) {
        (_, Some(true)) => ReportStatus::Test,
        (Some(s), _) if s != ReportStatus::Test => s,
        _ => {
            p.push(
                at(&[], Some("Status")),
                ProblemKind::UnknownValue {
                    what: "ResultsStatus",
                    value: doc.status.clone(),
                },
            );
            ReportStatus::PreElection
        }
    };
    if doc.election.len() != 1 {
        p.push(
            at(&[], Some("Election")),
            ProblemKind::UnknownValue {
                what: "number of Election elements (exactly one is supported)",
                value: doc.election.len().to_string(),
            },
        );
        return Err(p.into_error(source_name));
    }

    // NIST ids are document-wide (xs:ID): check them all in one namespace.
    let mut ids: HashSet<String> = HashSet::new();

    let mut parties = Vec::with_capacity(doc.party.len());
    for (i, pd) in doc.party.iter().enumerate() {
        dup(&mut ids, &mut p, &pd.id, at(&[("Party", i)], None));
        parties.push(Party {
            id: pd.id.clone(),
            name: pd.name.as_ref().map(TextD::pick).unwrap_or_default(),
            abbreviation: pd.abbreviation.clone(),
        });
    }
    // The contests are consumed (counts move into the snapshot rather than being copied).
    let mut doc = doc;
    let contests_d = std::mem::take(&mut doc.election[0].contest);
    let election_d = &doc.election[0];
    let mut units = Vec::with_capacity(doc.gp_unit.len());
    let mut unit_index: HashMap<String, usize> = HashMap::new();
    for (i, g) in doc.gp_unit.iter().enumerate() {
        let loc = || at(&[("GpUnit", i)], None);
        if dup(&mut ids, &mut p, &g.id, loc()) {
            continue;
        }
        if !g.ty.is_empty() && !g.ty.ends_with("ReportingUnit") {
            warnings.push(Warning {
                kind: WarningKind::Dropped,
                location: loc(),
                detail: format!("GpUnit {:?} of type {} left out", g.id, g.ty),
            });
            continue;
        }
        let kind = UnitKind::from_nist(&g.kind).unwrap_or_else(|| {
            p.push(
                at(&[("GpUnit", i)], Some("Type")),
                ProblemKind::UnknownValue {
                    what: "ReportingUnitType",
                    value: g.kind.clone(),
                },
            );
            UnitKind::Other
        });
        let mut facts = UnitFacts::default();
        if let Some(v) = &g.voters_registered {
            match v.value() {
                Ok(v) => facts.registered_voters = Some(v),
                Err(e) => p.push(at(&[("GpUnit", i)], Some("VotersRegistered")), e),
            }
        }
        for cs in g.count_status.iter().filter(|c| c.kind == "total") {
            facts.reporting = ReportingStatus::from_nist(&cs.status);
        }
        unit_index.insert(g.id.clone(), units.len());
        units.push(Unit {
            id: g.id.clone(),
            name: g.name.as_ref().map(TextD::pick).unwrap_or_default(),
            kind,
            children: g.composing_gp_unit_ids.clone(),
            facts,
        });
    }
    for (i, bc) in election_d.ballot_counts.iter().enumerate() {
        let segs = [("Election", 0), ("BallotCounts", i)];
        let Some(&ui) = unit_index.get(&bc.gp_unit_id) else {
            p.push(
                at(&segs, Some("GpUnitId")),
                ProblemKind::UnknownReference {
                    what: "GpUnit",
                    id: bc.gp_unit_id.clone(),
                },
            );
            continue;
        };
        if bc.kind != "total" || bc.round.is_some() {
            warnings.push(Warning {
                kind: WarningKind::Dropped,
                location: at(&segs, None),
                detail: format!(
                    "ballot counts of type {:?} left out (only total kept)",
                    bc.kind
                ),
            });
            continue;
        }
        let facts = &mut units[ui].facts;
        for (field, value, slot) in [
            ("BallotsCast", &bc.ballots_cast, &mut facts.ballots_cast),
            (
                "BallotsOutstanding",
                &bc.ballots_outstanding,
                &mut facts.ballots_outstanding,
            ),
        ] {
            if let Some(v) = value {
                match v.value() {
                    // Several `total` BallotCounts for one unit (Cambridge's primary gives one
                    // per party ballot, without saying which) are added up, with a warning.
                    Ok(v) => match slot {
                        None => *slot = Some(v),
                        Some(prev) => {
                            warnings.push(Warning {
                                kind: WarningKind::Lenient,
                                location: at(&segs, Some(field)),
                                detail: format!(
                                    "second {field} for unit {:?} ({v}) added to the first ({prev})",
                                    bc.gp_unit_id
                                ),
                            });
                            match prev.checked_add(v) {
                                Some(x) => *slot = Some(x),
                                None => p.push(at(&segs, Some(field)), ProblemKind::Overflow),
                            }
                        }
                    },
                    Err(k) => p.push(at(&segs, Some(field)), k),
                }
            }
        }
    }
    let candidates: HashMap<&str, &CandidateD> = election_d
        .candidate
        .iter()
        .map(|c| (c.id.as_str(), c))
        .collect();
    for (i, c) in election_d.candidate.iter().enumerate() {
        dup(
            &mut ids,
            &mut p,
            &c.id,
            at(&[("Election", 0), ("Candidate", i)], None),
        );
    }
    let party_names: HashMap<&str, &str> = parties
        .iter()
        .map(|x| (x.id.as_str(), x.name.as_str()))
        .collect();

    let mut contests = Vec::with_capacity(contests_d.len());
    let mut unit_ids = foldhash::HashSet::default();
    for (ci, mut cd) in contests_d.into_iter().enumerate() {
        let cseg = [("Election", 0), ("Contest", ci)];
        dup(&mut ids, &mut p, &cd.id, at(&cseg, None));
        let kind = match cd.ty.rsplit(['.', ':']).next().unwrap_or("") {
            "CandidateContest" => ContestKind::Candidate,
            "BallotMeasureContest" => ContestKind::BallotMeasure,
            "RetentionContest" => ContestKind::Retention,
            "PartyContest" => ContestKind::Party,
            other => {
                p.push(
                    at(&cseg, None),
                    ProblemKind::UnknownValue {
                        what: "contest type",
                        value: other.to_owned(),
                    },
                );
                continue;
            }
        };
        let variation = match &cd.vote_variation {
            None => None,
            Some(v) => match VoteVariation::from_nist(v) {
                Some(v) => Some(v),
                None => {
                    p.push(
                        at(&cseg, Some("VoteVariation")),
                        ProblemKind::UnknownValue {
                            what: "VoteVariation",
                            value: v.clone(),
                        },
                    );
                    None
                }
            },
        };
        let mut contest = Contest {
            id: cd.id.clone(),
            name: cd.name.clone(),
            kind,
            district: cd.election_district_id.clone(),
            votes_allowed: if cd.external_identifier.iter().any(|x| {
                x.kind == "other"
                    && x.other_type.as_deref() == Some(VOTES_ALLOWED_UNKNOWN)
                    && x.value == "unknown"
            }) {
                None
            } else {
                Some(cd.votes_allowed.unwrap_or(1))
            },
            variation,
            choices: Vec::with_capacity(cd.contest_selection.len()),
            counts: Vec::new(),
            other_counts: Vec::new(),
        };
        if kind == ContestKind::Retention {
            // The retained candidate becomes the contest's name suffix-free subject: we keep
            // the name as given and the candidate as a choice-less reference is dropped.
            if let Some(cid) = &cd.candidate_id
                && !candidates.contains_key(cid.as_str())
            {
                p.push(
                    at(&cseg, Some("CandidateId")),
                    ProblemKind::UnknownReference {
                        what: "Candidate",
                        id: cid.clone(),
                    },
                );
            }
        }
        for (si, sd) in std::mem::take(&mut cd.contest_selection)
            .into_iter()
            .enumerate()
        {
            let sseg = [("Election", 0), ("Contest", ci), ("ContestSelection", si)];
            let mut id = sd.id.clone();
            if ids.contains(&id) && options.danger_rename_duplicate_selection_ids {
                let renamed = format!("{}-{}", cd.id, sd.id);
                warnings.push(Warning {
                    kind: WarningKind::Lenient,
                    location: at(&sseg, None),
                    detail: format!("duplicate id {:?} renamed {renamed:?}", sd.id),
                });
                id = renamed;
            }
            dup(&mut ids, &mut p, &id, at(&sseg, None));
            let (name, party) = selection_name(&sd, &candidates, &party_names, |k, leaf| {
                p.push(at(&sseg, Some(leaf)), k)
            });
            // Below `choices_per_contest_max` once validated; a longer list is refused there.
            let choice = contest.choices.len() as u32;
            contest.choices.push(Choice {
                id: id.clone(),
                name,
                party,
                write_in: sd.is_write_in.unwrap_or(false),
            });
            for (vi, vc) in sd.vote_counts.into_iter().enumerate() {
                let vseg = [
                    ("Election", 0),
                    ("Contest", ci),
                    ("ContestSelection", si),
                    ("VoteCounts", vi),
                ];
                let kind = match vc.kind {
                    CountKindD::Known(k) => k,
                    CountKindD::Unknown(value) => {
                        p.push(
                            at(&vseg, Some("Type")),
                            ProblemKind::UnknownValue {
                                what: "CountItemType",
                                value,
                            },
                        );
                        continue;
                    }
                };
                let votes = match vc.count.as_ref().map(CountD::value) {
                    Some(Ok(v)) => v,
                    Some(Err(k)) => {
                        p.push(at(&vseg, Some("Count")), k);
                        continue;
                    }
                    None => {
                        p.push(at(&vseg, None), ProblemKind::Missing("Count"));
                        continue;
                    }
                };
                let Some(&unit) = unit_index.get(vc.gp_unit_id.as_str()) else {
                    p.push(
                        at(&vseg, Some("GpUnitId")),
                        ProblemKind::UnknownReference {
                            what: "unit",
                            id: vc.gp_unit_id.clone(),
                        },
                    );
                    continue;
                };
                contest.counts.push(VoteCount {
                    // Below `units_max` once validated; more units are refused there.
                    unit: unit as u32,
                    choice,
                    kind,
                    round: vc.round,
                    votes,
                });
            }
        }
        for (oi, od) in cd.other_counts.iter().enumerate() {
            let oseg = [("Election", 0), ("Contest", ci), ("OtherCounts", oi)];
            let mut get = |v: &Option<CountD>, leaf| match v.as_ref().map(CountD::value) {
                Some(Ok(v)) => Some(v),
                Some(Err(k)) => {
                    p.push(at(&oseg, Some(leaf)), k);
                    None
                }
                None => None,
            };
            let overvotes = get(&od.overvotes, "Overvotes");
            let undervotes = get(&od.undervotes, "Undervotes");
            contest.other_counts.push(OtherCount {
                unit: intern(&mut unit_ids, &od.gp_unit_id),
                kind: CountType::Total,
                overvotes,
                undervotes,
            });
        }
        contests.push(contest);
    }
    let kind = ElectionKind::from_nist(&election_d.kind).unwrap_or_else(|| {
        p.push(
            at(&[("Election", 0)], Some("Type")),
            ProblemKind::UnknownValue {
                what: "ElectionType",
                value: election_d.kind.clone(),
            },
        );
        ElectionKind::Other
    });
    p.into_result(source_name)?;
    let snapshot = Snapshot {
        election: Election {
            name: election_d
                .name
                .as_ref()
                .map(TextD::pick)
                .unwrap_or_default(),
            kind,
            start_date: election_d.start_date.clone(),
            end_date: election_d.end_date.clone(),
            scope_unit: election_d.election_scope_id.clone(),
        },
        status,
        parties,
        units,
        contests,
    };
    let snapshot = validate(source_name, snapshot, &options.limits, &mut warnings)?;
    Ok(Imported { snapshot, warnings })
}

fn selection_name(
    sd: &SelectionD,
    candidates: &HashMap<&str, &CandidateD>,
    party_names: &HashMap<&str, &str>,
    mut problem: impl FnMut(ProblemKind, &'static str),
) -> (String, Option<String>) {
    if let Some(sel) = &sd.selection {
        return (sel.pick(), None);
    }
    if !sd.party_ids.is_empty() {
        let mut names = Vec::new();
        for pid in &sd.party_ids {
            match party_names.get(pid.as_str()) {
                Some(n) => names.push((*n).to_owned()),
                None => problem(
                    ProblemKind::UnknownReference {
                        what: "Party",
                        id: pid.clone(),
                    },
                    "PartyIds",
                ),
            }
        }
        return (names.join(" / "), sd.party_ids.first().cloned());
    }
    let mut names = Vec::new();
    let mut party = None;
    for cid in &sd.candidate_ids {
        match candidates.get(cid.as_str()) {
            Some(c) => {
                names.push(c.ballot_name.as_ref().map(TextD::pick).unwrap_or_default());
                if party.is_none() {
                    party = c.party_id.clone();
                }
            }
            None => problem(
                ProblemKind::UnknownReference {
                    what: "Candidate",
                    id: cid.clone(),
                },
                "CandidateIds",
            ),
        }
    }
    if names.is_empty() && sd.is_write_in == Some(true) {
        names.push("Write-in".to_owned());
    }
    (names.join(" / "), party)
}

/// Records `id` as used; a second use is a problem (NIST ids are xs:ID, unique per document).
fn dup(ids: &mut HashSet<String>, p: &mut Problems, id: &str, loc: Location) -> bool {
    if !ids.insert(id.to_owned()) {
        p.push(
            loc,
            ProblemKind::DuplicateId {
                what: "object",
                id: id.to_owned(),
            },
        );
        return true;
    }
    false
}

/// The shared [`Id`] for `s`: counts name a few thousand units over and over.
fn intern(ids: &mut foldhash::HashSet<Id>, s: &str) -> Id {
    if let Some(id) = ids.get(s) {
        return id.clone();
    }
    let id = Id::from(s);
    ids.insert(id.clone());
    id
}
