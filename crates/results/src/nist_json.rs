//! NIST SP 1500-100 v2 JSON: reader and writer.

use std::io::{Read, Write};

use serde_json::{Map, Value, json};

use crate::error::{ImportError, Location, ProblemKind};
use crate::model::{ContestKind, CountType, ReportStatus, Snapshot};
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
    if buf.len() as u64 > bytes_max {
        return Err(ImportError::one(
            source_name,
            Location::Whole,
            ProblemKind::Limit {
                what: "source bytes",
                count: buf.len() as u64,
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

/// [`import_nist_json`] on bytes already in memory.
pub fn import_nist_json_bytes(
    source_name: &str,
    bytes: &[u8],
    options: &NistOptions,
) -> Result<Imported, ImportError> {
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

fn text(s: &str) -> Value {
    json!({
        "@type": "ElectionResults.InternationalizedText",
        "Text": [{"@type": "ElectionResults.LanguageString", "Content": s, "Language": "en"}],
    })
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
pub fn export_nist_json(
    snapshot: &ValidSnapshot,
    generated: &str,
    writer: impl Write,
) -> Result<(), std::io::Error> {
    let v = to_value(snapshot, generated);
    serde_json::to_writer_pretty(writer, &v).map_err(std::io::Error::other)
}

fn to_value(s: &Snapshot, generated: &str) -> Value {
    let (status, is_test) = nist_status(s.status);
    let mut candidates = Vec::new();
    let mut contests = Vec::new();
    for c in &s.contests {
        let mut selections = Vec::new();
        let by_choice = crate::export::counts_by_choice(c);
        for (ch, counts) in c.choices.iter().zip(by_choice) {
            let counts: Vec<Value> = counts
                .into_iter()
                .map(|vc| {
                    let mut m = json!({
                        "@type": "ElectionResults.VoteCounts",
                        "Count": vc.votes,
                        "GpUnitId": vc.unit.as_str(),
                        "Type": vc.kind.as_str(),
                    });
                    if let Some(r) = vc.round {
                        m["Round"] = json!(r);
                    }
                    m
                })
                .collect();
            let mut sel = Map::new();
            sel.insert("@id".into(), json!(ch.id));
            match c.kind {
                ContestKind::Candidate => {
                    sel.insert("@type".into(), json!("ElectionResults.CandidateSelection"));
                    let mut cand = json!({
                        "@type": "ElectionResults.Candidate",
                        "@id": candidate_id(&ch.id),
                        "BallotName": text(&ch.name),
                    });
                    if let Some(p) = &ch.party {
                        cand["PartyId"] = json!(p);
                    }
                    candidates.push(cand);
                    sel.insert("CandidateIds".into(), json!([candidate_id(&ch.id)]));
                    if ch.write_in {
                        sel.insert("IsWriteIn".into(), json!(true));
                    }
                }
                ContestKind::BallotMeasure | ContestKind::Retention => {
                    sel.insert(
                        "@type".into(),
                        json!("ElectionResults.BallotMeasureSelection"),
                    );
                    sel.insert("Selection".into(), text(&ch.name));
                }
                ContestKind::Party => {
                    sel.insert("@type".into(), json!("ElectionResults.PartySelection"));
                    sel.insert(
                        "PartyIds".into(),
                        json!([ch.party.clone().unwrap_or_default()]),
                    );
                }
            }
            if !counts.is_empty() {
                sel.insert("VoteCounts".into(), Value::Array(counts));
            }
            selections.push(Value::Object(sel));
        }
        let ty = match c.kind {
            ContestKind::Candidate => "ElectionResults.CandidateContest",
            ContestKind::BallotMeasure => "ElectionResults.BallotMeasureContest",
            ContestKind::Retention => "ElectionResults.RetentionContest",
            ContestKind::Party => "ElectionResults.PartyContest",
        };
        let mut m = json!({
            "@type": ty,
            "@id": c.id,
            "ElectionDistrictId": c.district,
            "Name": c.name,
        });
        if c.kind == ContestKind::Candidate {
            m["VotesAllowed"] = json!(c.votes_allowed.unwrap_or(1));
        }
        if c.votes_allowed.is_none() {
            m["ExternalIdentifier"] = json!([{
                "@type": "ElectionResults.ExternalIdentifier",
                "Type": "other",
                "OtherType": crate::nist::VOTES_ALLOWED_UNKNOWN,
                "Value": "unknown",
            }]);
        }
        if c.kind == ContestKind::Retention {
            // The model does not keep the retained candidate; NIST requires one, so the
            // contest's name stands in for it.
            let id = candidate_id(&c.id);
            candidates.push(json!({
                "@type": "ElectionResults.Candidate", "@id": id, "BallotName": text(&c.name),
            }));
            m["CandidateId"] = json!(id);
        }
        if let Some(v) = c.variation {
            m["VoteVariation"] = json!(v.as_str());
        }
        if !selections.is_empty() {
            m["ContestSelection"] = Value::Array(selections);
        }
        let others: Vec<Value> = c
            .other_counts
            .iter()
            .filter(|o| o.kind == CountType::Total)
            .map(|o| {
                let mut v =
                    json!({"@type": "ElectionResults.OtherCounts", "GpUnitId": o.unit.as_str()});
                if let Some(x) = o.overvotes {
                    v["Overvotes"] = json!(x);
                }
                if let Some(x) = o.undervotes {
                    v["Undervotes"] = json!(x);
                }
                v
            })
            .collect();
        if !others.is_empty() {
            m["OtherCounts"] = Value::Array(others);
        }
        contests.push(m);
    }
    let mut ballot_counts = Vec::new();
    let mut units = Vec::new();
    for u in &s.units {
        let mut m = json!({
            "@type": "ElectionResults.ReportingUnit",
            "@id": u.id,
            "Name": text(&u.name),
            "Type": u.kind.as_str(),
        });
        if !u.children.is_empty() {
            m["ComposingGpUnitIds"] = json!(u.children);
        }
        if let Some(r) = u.facts.reporting {
            m["CountStatus"] = json!([{
                "@type": "ElectionResults.CountStatus", "Status": r.as_str(), "Type": "total",
            }]);
        }
        if let Some(v) = u.facts.registered_voters {
            m["VotersRegistered"] = json!(v);
        }
        units.push(m);
        if u.facts.ballots_cast.is_some() || u.facts.ballots_outstanding.is_some() {
            let mut b = json!({
                "@type": "ElectionResults.BallotCounts", "GpUnitId": u.id, "Type": "total",
            });
            if let Some(v) = u.facts.ballots_cast {
                b["BallotsCast"] = json!(v);
            }
            if let Some(v) = u.facts.ballots_outstanding {
                b["BallotsOutstanding"] = json!(v);
            }
            ballot_counts.push(b);
        }
    }
    let parties: Vec<Value> = s
        .parties
        .iter()
        .map(|p| {
            let mut m =
                json!({"@type": "ElectionResults.Party", "@id": p.id, "Name": text(&p.name)});
            if let Some(a) = &p.abbreviation {
                m["Abbreviation"] = json!(a);
            }
            m
        })
        .collect();
    let mut election = json!({
        "@type": "ElectionResults.Election",
        "ElectionScopeId": s.election.scope_unit,
        "Name": text(&s.election.name),
        "StartDate": s.election.start_date,
        "EndDate": s.election.end_date,
        "Type": s.election.kind.as_str(),
    });
    if !ballot_counts.is_empty() {
        election["BallotCounts"] = Value::Array(ballot_counts);
    }
    if !candidates.is_empty() {
        election["Candidate"] = Value::Array(candidates);
    }
    if !contests.is_empty() {
        election["Contest"] = Value::Array(contests);
    }
    let mut report = json!({
        "@type": "ElectionResults.ElectionReport",
        "Election": [election],
        "Format": "precinct-level",
        "GeneratedDate": generated,
        "Issuer": "urne",
        "IssuerAbbreviation": "urne",
        "SequenceStart": 1,
        "SequenceEnd": 1,
        "Status": status,
        "VendorApplicationId": concat!("urne-results ", env!("CARGO_PKG_VERSION")),
    });
    if is_test {
        report["IsTest"] = json!(true);
    }
    if !units.is_empty() {
        report["GpUnit"] = Value::Array(units);
    }
    if !parties.is_empty() {
        report["Party"] = Value::Array(parties);
    }
    report
}
