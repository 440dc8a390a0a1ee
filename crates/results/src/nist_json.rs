//! NIST SP 1500-100 v2 JSON: reader and writer.

use std::io::{Read, Write};

use serde::Serialize;

use crate::error::{ImportError, Location, ProblemKind};
use crate::model::{Contest, ContestKind, CountType, Party, ReportStatus, Snapshot, Unit};
use crate::nist::{Dialect, Doc, NistOptions, convert};
use crate::validate::{Imported, ValidSnapshot};

/// Reads all of `reader` (refusing more than `limits.source_bytes_max` bytes).
pub(crate) fn read_limited(
    source_name: &str,
    reader: impl Read,
    bytes_max: u64,
) -> Result<Vec<u8>, ImportError> {
    let mut buf = Vec::new();
    read_limited_into(source_name, reader, bytes_max, &mut buf)?;
    Ok(buf)
}

/// [`read_limited`] into `buf` (cleared first), so that an importer reading many files can
/// reuse one buffer and grow it only for the biggest.
pub(crate) fn read_limited_into(
    source_name: &str,
    reader: impl Read,
    bytes_max: u64,
    buf: &mut Vec<u8>,
) -> Result<(), ImportError> {
    // Through a small buffer: copies this size are a few vector moves (bigger ones become
    // `rep movsb`), so the whole read costs a fraction of an instruction per byte.
    let mut reader = reader.take(bytes_max.saturating_add(1));
    buf.clear();
    let mut scratch = [0u8; 2048];
    loop {
        match reader.read(&mut scratch) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&scratch[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ImportError::read(source_name, e)),
        }
    }
    check_source_size(source_name, buf.len(), bytes_max)
}

/// Refuses a source of `len` bytes over `bytes_max`, naming it.
pub(crate) fn check_source_size(
    source_name: &str,
    len: usize,
    bytes_max: u64,
) -> Result<(), ImportError> {
    if len as u64 > bytes_max {
        return Err(ImportError::one(
            source_name,
            Location::Whole,
            ProblemKind::Limit {
                what: "source bytes",
                count: len as u64,
                max: bytes_max,
            },
        ));
    }
    Ok(())
}

/// Imports a NIST SP 1500-100 v2 JSON `ElectionReport`.
pub fn import_nist_json(
    source_name: &str,
    reader: impl Read,
    options: &NistOptions,
) -> Result<Imported, ImportError> {
    let bytes = read_limited(source_name, reader, options.limits.source_bytes_max)?;
    import_nist_json_bytes(source_name, &bytes, options)
}

/// [`import_nist_json`] on bytes already in memory (refused, like a reader's, when longer
/// than `limits.source_bytes_max`).
pub fn import_nist_json_bytes(
    source_name: &str,
    bytes: &[u8],
    options: &NistOptions,
) -> Result<Imported, ImportError> {
    check_source_size(source_name, bytes.len(), options.limits.source_bytes_max)?;
    // The path-tracking reader costs time on every value: run it only to explain a failure.
    let doc: Doc = match serde_json::from_slice(bytes) {
        Ok(doc) => doc,
        Err(first) => return Err(json_error(source_name, bytes, first)),
    };
    convert(source_name, doc, Dialect::Json, options)
}

/// The error for bytes that failed to parse, with the JSON path of the failure (found by
/// parsing again, tracking the path).
fn json_error(source_name: &str, bytes: &[u8], first: serde_json::Error) -> ImportError {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let Err(e) = serde_path_to_error::deserialize::<_, Doc>(de) else {
        // The document itself parsed: what follows it is wrong (trailing characters).
        let message = format!("{first} (line {}, column {})", first.line(), first.column());
        return ImportError::one(source_name, Location::Whole, ProblemKind::Syntax(message));
    };
    let path = e.path().to_string();
    let inner = e.into_inner();
    let message = format!("{inner} (line {}, column {})", inner.line(), inner.column());
    ImportError::one(
        source_name,
        Location::JsonPath(path),
        ProblemKind::Syntax(message),
    )
}

/// Ids of the NIST `Candidate` objects the exporters invent for each candidate choice.
pub(crate) fn candidate_id(choice_id: &str) -> String {
    format!("cand-{choice_id}")
}

/// `(Status, IsTest)` for a report status: NIST has no "test" status.
pub(crate) fn nist_status(s: ReportStatus) -> (&'static str, bool) {
    match s {
        ReportStatus::Test => ("unofficial-partial", true),
        other => (other.as_str(), false),
    }
}

/// Exports a snapshot as NIST SP 1500-100 v2 JSON (pretty-printed). `generated` is the
/// report's `GeneratedDate` (an RFC 3339 time the caller supplies: this crate reads no clock).
///
/// Streams: each object is serialized from the snapshot as it is reached, so memory stays
/// near the snapshot's own (building a `serde_json::Value` of Pennsylvania first peaked at
/// 2.6 GB). Keys come in byte order within each object, the order a `serde_json::Value`
/// writes them in, so the bytes are those the earlier `Value`-based writer made (pinned by
/// `tests/golden.rs`); each struct below lists its fields in that order.
pub fn export_nist_json(
    snapshot: &ValidSnapshot,
    generated: &str,
    writer: impl Write,
) -> Result<(), std::io::Error> {
    let mut w = std::io::BufWriter::with_capacity(1 << 16, writer);
    serde_json::to_writer_pretty(&mut w, &report(snapshot, generated))
        .map_err(std::io::Error::other)?;
    w.flush()
}

/// A sequence serialized from a fresh iterator each time (nothing collected first).
struct Each<F>(F);

impl<F, I> Serialize for Each<F>
where
    F: Fn() -> I,
    I: Iterator,
    I::Item: Serialize,
{
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq((self.0)())
    }
}

fn no(b: &bool) -> bool {
    !*b
}

#[derive(Serialize)]
struct Text<'a> {
    #[serde(rename = "@type")]
    ty: &'static str,
    #[serde(rename = "Text")]
    text: [LanguageString<'a>; 1],
}

#[derive(Serialize)]
struct LanguageString<'a> {
    #[serde(rename = "@type")]
    ty: &'static str,
    #[serde(rename = "Content")]
    content: &'a str,
    #[serde(rename = "Language")]
    language: &'static str,
}

fn text(s: &str) -> Text<'_> {
    Text {
        ty: "ElectionResults.InternationalizedText",
        text: [LanguageString {
            ty: "ElectionResults.LanguageString",
            content: s,
            language: "en",
        }],
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Report<'a> {
    #[serde(rename = "@type")]
    ty: &'static str,
    election: [ElectionOut<'a>; 1],
    format: &'static str,
    generated_date: &'a str,
    #[serde(rename = "GpUnit", skip_serializing_if = "Option::is_none")]
    gp_unit: Option<Each<Dyn<'a, UnitOut<'a>>>>,
    #[serde(skip_serializing_if = "no")]
    is_test: bool,
    issuer: &'static str,
    issuer_abbreviation: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    party: Option<Each<Dyn<'a, PartyOut<'a>>>>,
    sequence_end: u32,
    sequence_start: u32,
    status: &'static str,
    vendor_application_id: &'static str,
}

type Dyn<'a, T> = Box<dyn Fn() -> Box<dyn Iterator<Item = T> + 'a> + 'a>;

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ElectionOut<'a> {
    #[serde(rename = "@type")]
    ty: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ballot_counts: Option<Each<Dyn<'a, BallotCountsOut<'a>>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    candidate: Option<Each<Dyn<'a, CandidateOut<'a>>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    contest: Option<Each<Dyn<'a, ContestOut<'a>>>>,
    election_scope_id: &'a str,
    end_date: &'a str,
    name: Text<'a>,
    start_date: &'a str,
    #[serde(rename = "Type")]
    kind: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BallotCountsOut<'a> {
    #[serde(rename = "@type")]
    ty: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ballots_cast: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ballots_outstanding: Option<u64>,
    gp_unit_id: &'a str,
    #[serde(rename = "Type")]
    kind: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CandidateOut<'a> {
    #[serde(rename = "@id")]
    id: String,
    #[serde(rename = "@type")]
    ty: &'static str,
    ballot_name: Text<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    party_id: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ContestOut<'a> {
    #[serde(rename = "@id")]
    id: &'a str,
    #[serde(rename = "@type")]
    ty: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    candidate_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    contest_selection: Option<Each<Dyn<'a, SelectionOut<'a>>>>,
    election_district_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_identifier: Option<[ExternalIdentifierOut; 1]>,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    other_counts: Option<Each<Dyn<'a, OtherCountsOut<'a>>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vote_variation: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    votes_allowed: Option<u32>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ExternalIdentifierOut {
    #[serde(rename = "@type")]
    ty: &'static str,
    other_type: &'static str,
    #[serde(rename = "Type")]
    kind: &'static str,
    value: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SelectionOut<'a> {
    #[serde(rename = "@id")]
    id: &'a str,
    #[serde(rename = "@type")]
    ty: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    candidate_ids: Option<[String; 1]>,
    #[serde(skip_serializing_if = "no")]
    is_write_in: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    party_ids: Option<[&'a str; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    selection: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vote_counts: Option<Each<Dyn<'a, VoteCountsOut<'a>>>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct VoteCountsOut<'a> {
    #[serde(rename = "@type")]
    ty: &'static str,
    count: u64,
    gp_unit_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    round: Option<u32>,
    #[serde(rename = "Type")]
    kind: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct OtherCountsOut<'a> {
    #[serde(rename = "@type")]
    ty: &'static str,
    gp_unit_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    overvotes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    undervotes: Option<u64>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct UnitOut<'a> {
    #[serde(rename = "@id")]
    id: &'a str,
    #[serde(rename = "@type")]
    ty: &'static str,
    #[serde(
        rename = "ComposingGpUnitIds",
        skip_serializing_if = "<[String]>::is_empty"
    )]
    children: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    count_status: Option<[CountStatusOut; 1]>,
    name: Text<'a>,
    #[serde(rename = "Type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    voters_registered: Option<u64>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CountStatusOut {
    #[serde(rename = "@type")]
    ty: &'static str,
    status: &'static str,
    #[serde(rename = "Type")]
    kind: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PartyOut<'a> {
    #[serde(rename = "@id")]
    id: &'a str,
    #[serde(rename = "@type")]
    ty: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    abbreviation: Option<&'a str>,
    name: Text<'a>,
}

/// The candidates the exporters invent: one per candidate choice, and one per retention
/// contest (the model does not keep the retained candidate; NIST requires one, so the
/// contest's name stands in for it), in contest order.
fn candidates(s: &Snapshot) -> impl Iterator<Item = CandidateOut<'_>> {
    s.contests.iter().flat_map(|c| {
        let choices = match c.kind {
            ContestKind::Candidate => &c.choices[..],
            _ => &[],
        };
        let for_choices = choices.iter().map(|ch| CandidateOut {
            id: candidate_id(&ch.id),
            ty: "ElectionResults.Candidate",
            ballot_name: text(&ch.name),
            party_id: ch.party.as_deref(),
        });
        let retained = (c.kind == ContestKind::Retention).then(|| CandidateOut {
            id: candidate_id(&c.id),
            ty: "ElectionResults.Candidate",
            ballot_name: text(&c.name),
            party_id: None,
        });
        for_choices.chain(retained)
    })
}

fn contest<'a>(s: &'a Snapshot, c: &'a Contest) -> ContestOut<'a> {
    let selections: Dyn<'_, SelectionOut<'_>> = Box::new(move || {
        let by_choice = crate::export::counts_by_choice(c);
        Box::new(c.choices.iter().zip(by_choice).map(move |(ch, counts)| {
            let mut sel = SelectionOut {
                id: &ch.id,
                ty: "",
                candidate_ids: None,
                is_write_in: false,
                party_ids: None,
                selection: None,
                vote_counts: None,
            };
            match c.kind {
                ContestKind::Candidate => {
                    sel.ty = "ElectionResults.CandidateSelection";
                    sel.candidate_ids = Some([candidate_id(&ch.id)]);
                    sel.is_write_in = ch.write_in;
                }
                ContestKind::BallotMeasure | ContestKind::Retention => {
                    sel.ty = "ElectionResults.BallotMeasureSelection";
                    sel.selection = Some(text(&ch.name));
                }
                ContestKind::Party => {
                    sel.ty = "ElectionResults.PartySelection";
                    sel.party_ids = Some([ch.party.as_deref().unwrap_or_default()]);
                }
            }
            if !counts.is_empty() {
                let counts: Dyn<'_, VoteCountsOut<'_>> = Box::new(move || {
                    Box::new(counts.clone().into_iter().map(|vc| VoteCountsOut {
                        ty: "ElectionResults.VoteCounts",
                        count: vc.votes,
                        gp_unit_id: s.unit_id(vc.unit),
                        round: vc.round,
                        kind: vc.kind.as_str(),
                    }))
                });
                sel.vote_counts = Some(Each(counts));
            }
            sel
        }))
    });
    let has_totals = c.other_counts.iter().any(|o| o.kind == CountType::Total);
    let others: Dyn<'_, OtherCountsOut<'_>> = Box::new(move || {
        Box::new(
            c.other_counts
                .iter()
                .filter(|o| o.kind == CountType::Total)
                .map(|o| OtherCountsOut {
                    ty: "ElectionResults.OtherCounts",
                    gp_unit_id: o.unit.as_str(),
                    overvotes: o.overvotes,
                    undervotes: o.undervotes,
                }),
        )
    });
    ContestOut {
        id: &c.id,
        ty: match c.kind {
            ContestKind::Candidate => "ElectionResults.CandidateContest",
            ContestKind::BallotMeasure => "ElectionResults.BallotMeasureContest",
            ContestKind::Retention => "ElectionResults.RetentionContest",
            ContestKind::Party => "ElectionResults.PartyContest",
        },
        candidate_id: (c.kind == ContestKind::Retention).then(|| candidate_id(&c.id)),
        contest_selection: (!c.choices.is_empty()).then_some(Each(selections)),
        election_district_id: &c.district,
        external_identifier: c.votes_allowed.is_none().then_some([ExternalIdentifierOut {
            ty: "ElectionResults.ExternalIdentifier",
            other_type: crate::nist::VOTES_ALLOWED_UNKNOWN,
            kind: "other",
            value: "unknown",
        }]),
        name: &c.name,
        other_counts: has_totals.then_some(Each(others)),
        vote_variation: c.variation.map(|v| v.as_str()),
        votes_allowed: (c.kind == ContestKind::Candidate).then(|| c.votes_allowed.unwrap_or(1)),
    }
}

fn unit(u: &Unit) -> UnitOut<'_> {
    UnitOut {
        id: &u.id,
        ty: "ElectionResults.ReportingUnit",
        children: &u.children,
        count_status: u.facts.reporting.map(|r| {
            [CountStatusOut {
                ty: "ElectionResults.CountStatus",
                status: r.as_str(),
                kind: "total",
            }]
        }),
        name: text(&u.name),
        kind: u.kind.as_str(),
        voters_registered: u.facts.registered_voters,
    }
}

fn report<'a>(s: &'a Snapshot, generated: &'a str) -> Report<'a> {
    let (status, is_test) = nist_status(s.status);
    let ballot_counts: Dyn<'a, BallotCountsOut<'a>> = Box::new(move || {
        Box::new(
            s.units
                .iter()
                .filter(|u| u.facts.ballots_cast.is_some() || u.facts.ballots_outstanding.is_some())
                .map(|u| BallotCountsOut {
                    ty: "ElectionResults.BallotCounts",
                    ballots_cast: u.facts.ballots_cast,
                    ballots_outstanding: u.facts.ballots_outstanding,
                    gp_unit_id: &u.id,
                    kind: "total",
                }),
        )
    });
    let has_ballot_counts = s
        .units
        .iter()
        .any(|u| u.facts.ballots_cast.is_some() || u.facts.ballots_outstanding.is_some());
    let candidate: Dyn<'a, CandidateOut<'a>> = Box::new(move || Box::new(candidates(s)));
    let contests: Dyn<'a, ContestOut<'a>> =
        Box::new(move || Box::new(s.contests.iter().map(move |c| contest(s, c))));
    fn party(p: &Party) -> PartyOut<'_> {
        PartyOut {
            id: &p.id,
            ty: "ElectionResults.Party",
            abbreviation: p.abbreviation.as_deref(),
            name: text(&p.name),
        }
    }
    let units: Dyn<'a, UnitOut<'a>> = Box::new(move || Box::new(s.units.iter().map(unit)));
    let parties: Dyn<'a, PartyOut<'a>> = Box::new(move || Box::new(s.parties.iter().map(party)));
    Report {
        ty: "ElectionResults.ElectionReport",
        election: [ElectionOut {
            ty: "ElectionResults.Election",
            ballot_counts: has_ballot_counts.then_some(Each(ballot_counts)),
            candidate: candidates(s).next().is_some().then_some(Each(candidate)),
            contest: (!s.contests.is_empty()).then_some(Each(contests)),
            election_scope_id: &s.election.scope_unit,
            end_date: &s.election.end_date,
            name: text(&s.election.name),
            start_date: &s.election.start_date,
            kind: s.election.kind.as_str(),
        }],
        format: "precinct-level",
        generated_date: generated,
        gp_unit: (!s.units.is_empty()).then_some(Each(units)),
        is_test,
        issuer: "urne",
        issuer_abbreviation: "urne",
        party: (!s.parties.is_empty()).then_some(Each(parties)),
        sequence_end: 1,
        sequence_start: 1,
        status,
        vendor_application_id: concat!("urne-results ", env!("CARGO_PKG_VERSION")),
    }
}
