//! NIST SP 1500-100 v2 XML: reader and writer.

use std::io::{Read, Write};

use crate::error::{ImportError, Location, ProblemKind, Problems};
use crate::model::{ContestKind, CountType, Snapshot};
use crate::nist::{
    BallotCountsD, CandidateD, ContestD, CountD, CountKindD, CountStatusD, Dialect, Doc, ElectionD,
    ExternalIdD, GpUnitD, LangD, NistOptions, OtherCountsD, PartyD, SelectionD, TextD,
    VOTES_ALLOWED_UNKNOWN, VoteCountsD, convert,
};
use crate::nist_json::{candidate_id, nist_status, read_limited};
use crate::validate::{Imported, ValidSnapshot};
use crate::xml::{Element, escape, parse};

/// The ERR v2 namespace.
pub const NIST_ERR_NAMESPACE: &str = "http://itl.nist.gov/ns/voting/1500-100/v2";

/// Imports a NIST SP 1500-100 v2 XML `ElectionReport`.
pub fn import_nist_xml(
    source_name: &str,
    reader: impl Read,
    options: &NistOptions,
) -> Result<Imported, ImportError> {
    let bytes = read_limited(source_name, reader, options.limits.source_bytes_max)?;
    import_nist_xml_bytes(source_name, &bytes, options)
}

/// [`import_nist_xml`] on bytes already in memory (refused, like a reader's, when longer
/// than `limits.source_bytes_max`).
pub fn import_nist_xml_bytes(
    source_name: &str,
    bytes: &[u8],
    options: &NistOptions,
) -> Result<Imported, ImportError> {
    crate::nist_json::check_source_size(source_name, bytes.len(), options.limits.source_bytes_max)?;
    let root = parse(source_name, bytes)?;
    if root.name != "ElectionReport" {
        return Err(ImportError::one(
            source_name,
            Location::XmlElement {
                path: format!("/{}", root.name),
                byte: Some(root.byte),
            },
            ProblemKind::UnknownValue {
                what: "root element",
                value: root.name.clone(),
            },
        ));
    }
    let mut p = Problems::default();
    let doc = doc(&root, &mut p);
    if !p.is_empty() {
        return Err(p.into_error(source_name));
    }
    convert(source_name, doc, Dialect::Xml, options)
}

fn text_d(e: Option<&Element>) -> Option<TextD> {
    e.map(|e| TextD {
        text: e
            .children_named("Text")
            .map(|t| LangD {
                content: t.text.clone(),
                language: t.attr("Language").unwrap_or("").to_owned(),
            })
            .collect(),
    })
}

fn s(e: &Element, name: &str) -> String {
    e.child_text(name)
        .map(|t| t.trim().to_owned())
        .unwrap_or_default()
}

fn opt_s(e: &Element, name: &str) -> Option<String> {
    e.child_text(name).map(|t| t.trim().to_owned())
}

fn ids(e: &Element, name: &str) -> Vec<String> {
    // IDREFS: a whitespace-separated list; some producers repeat the element instead.
    e.children_named(name)
        .flat_map(|c| c.text.split_whitespace().map(str::to_owned))
        .collect()
}

fn count(e: &Element, name: &str) -> Option<CountD> {
    e.child_text(name).map(|t| CountD::Text(t.to_owned()))
}

fn small(e: &Element, name: &str, p: &mut Problems) -> Option<u32> {
    let c = e.child(name)?;
    match c.text.trim().parse() {
        Ok(v) => Some(v),
        Err(_) => {
            p.push(
                Location::XmlElement {
                    path: name.to_owned(),
                    byte: Some(c.byte),
                },
                ProblemKind::BadCount {
                    value: c.text.clone(),
                },
            );
            None
        }
    }
}

fn doc(root: &Element, p: &mut Problems) -> Doc {
    Doc {
        election: root
            .children_named("Election")
            .map(|e| election(e, p))
            .collect(),
        gp_unit: root
            .children_named("GpUnit")
            .map(|g| GpUnitD {
                id: g.attr("ObjectId").unwrap_or("").trim().to_owned(),
                ty: g.attr("type").unwrap_or("").to_owned(),
                kind: s(g, "Type"),
                name: text_d(g.child("Name")),
                composing_gp_unit_ids: ids(g, "ComposingGpUnitIds"),
                voters_registered: count(g, "VotersRegistered"),
                count_status: g
                    .children_named("CountStatus")
                    .map(|c| CountStatusD {
                        status: s(c, "Status"),
                        kind: s(c, "Type"),
                    })
                    .collect(),
            })
            .collect(),
        party: root
            .children_named("Party")
            .map(|x| PartyD {
                id: x.attr("ObjectId").unwrap_or("").trim().to_owned(),
                name: text_d(x.child("Name")),
                abbreviation: x.child_text("Abbreviation").map(str::to_owned),
            })
            .collect(),
        status: s(root, "Status"),
        is_test: root
            .child_text("IsTest")
            .map(|t| t.trim() == "true" || t.trim() == "1"),
    }
}

fn election(e: &Element, p: &mut Problems) -> ElectionD {
    ElectionD {
        name: text_d(e.child("Name")),
        kind: s(e, "Type"),
        start_date: s(e, "StartDate"),
        end_date: s(e, "EndDate"),
        election_scope_id: s(e, "ElectionScopeId"),
        candidate: e
            .children_named("Candidate")
            .map(|c| CandidateD {
                id: c.attr("ObjectId").unwrap_or("").trim().to_owned(),
                ballot_name: text_d(c.child("BallotName")),
                party_id: opt_s(c, "PartyId"),
            })
            .collect(),
        contest: e.children_named("Contest").map(|c| contest(c, p)).collect(),
        ballot_counts: e
            .children_named("BallotCounts")
            .map(|b| BallotCountsD {
                gp_unit_id: s(b, "GpUnitId"),
                kind: s(b, "Type"),
                ballots_cast: count(b, "BallotsCast"),
                ballots_outstanding: count(b, "BallotsOutstanding"),
                round: small(b, "Round", p),
            })
            .collect(),
    }
}

fn contest(c: &Element, p: &mut Problems) -> ContestD {
    ContestD {
        id: c.attr("ObjectId").unwrap_or("").trim().to_owned(),
        ty: c.attr("type").unwrap_or("").to_owned(),
        name: c.child_text("Name").unwrap_or("").to_owned(),
        election_district_id: s(c, "ElectionDistrictId"),
        votes_allowed: small(c, "VotesAllowed", p),
        vote_variation: opt_s(c, "VoteVariation"),
        candidate_id: opt_s(c, "CandidateId"),
        external_identifier: c
            .children_named("ExternalIdentifier")
            .map(|e| ExternalIdD {
                kind: s(e, "Type"),
                other_type: opt_s(e, "OtherType"),
                value: s(e, "Value"),
            })
            .collect(),
        contest_selection: c
            .children_named("ContestSelection")
            .map(|x| SelectionD {
                id: x.attr("ObjectId").unwrap_or("").trim().to_owned(),
                candidate_ids: ids(x, "CandidateIds"),
                party_ids: ids(x, "PartyIds"),
                selection: text_d(x.child("Selection")),
                is_write_in: x
                    .child_text("IsWriteIn")
                    .map(|t| t.trim() == "true" || t.trim() == "1"),
                vote_counts: x
                    .children_named("VoteCounts")
                    .map(|v| VoteCountsD {
                        gp_unit_id: s(v, "GpUnitId"),
                        kind: CountKindD::parse(&s(v, "Type")),
                        count: count(v, "Count"),
                        round: small(v, "Round", p),
                    })
                    .collect(),
            })
            .collect(),
        other_counts: c
            .children_named("OtherCounts")
            .map(|o| OtherCountsD {
                gp_unit_id: s(o, "GpUnitId"),
                overvotes: count(o, "Overvotes"),
                undervotes: count(o, "Undervotes"),
            })
            .collect(),
    }
}

/// Exports a snapshot as NIST SP 1500-100 v2 XML, elements in the XSD's sequence order.
/// `generated` is the `GeneratedDate` the caller supplies (no clock here).
pub fn export_nist_xml(
    snapshot: &ValidSnapshot,
    generated: &str,
    writer: impl Write,
) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::new(writer);
    write_report(snapshot, generated, &mut w)?;
    w.flush()
}

fn intl(w: &mut impl Write, tag: &str, text: &str) -> std::io::Result<()> {
    write!(
        w,
        "<{tag}><Text Language=\"en\">{}</Text></{tag}>",
        escape(text)
    )
}

fn write_report(s: &Snapshot, generated: &str, w: &mut impl Write) -> std::io::Result<()> {
    let (status, is_test) = nist_status(s.status);
    writeln!(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
    writeln!(
        w,
        "<ElectionReport xmlns=\"{NIST_ERR_NAMESPACE}\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">"
    )?;
    write_election(s, w)?;
    writeln!(w, "<Format>precinct-level</Format>")?;
    writeln!(w, "<GeneratedDate>{}</GeneratedDate>", escape(generated))?;
    for u in &s.units {
        write!(
            w,
            "<GpUnit ObjectId=\"{}\" xsi:type=\"ReportingUnit\">",
            escape(&u.id)
        )?;
        if !u.children.is_empty() {
            write!(
                w,
                "<ComposingGpUnitIds>{}</ComposingGpUnitIds>",
                escape(&u.children.join(" "))
            )?;
        }
        intl(w, "Name", &u.name)?;
        if let Some(r) = u.facts.reporting {
            write!(
                w,
                "<CountStatus><Status>{}</Status><Type>total</Type></CountStatus>",
                r.as_str()
            )?;
        }
        write!(w, "<Type>{}</Type>", u.kind.as_str())?;
        if let Some(v) = u.facts.registered_voters {
            write!(w, "<VotersRegistered>{v}</VotersRegistered>")?;
        }
        writeln!(w, "</GpUnit>")?;
    }
    writeln!(
        w,
        "<Issuer>urne</Issuer><IssuerAbbreviation>urne</IssuerAbbreviation>"
    )?;
    if is_test {
        writeln!(w, "<IsTest>true</IsTest>")?;
    }
    for p in &s.parties {
        write!(w, "<Party ObjectId=\"{}\">", escape(&p.id))?;
        if let Some(a) = &p.abbreviation {
            write!(w, "<Abbreviation>{}</Abbreviation>", escape(a))?;
        }
        intl(w, "Name", &p.name)?;
        writeln!(w, "</Party>")?;
    }
    writeln!(
        w,
        "<SequenceStart>1</SequenceStart><SequenceEnd>1</SequenceEnd>"
    )?;
    writeln!(w, "<Status>{status}</Status>")?;
    writeln!(
        w,
        "<VendorApplicationId>urne-results {}</VendorApplicationId>",
        env!("CARGO_PKG_VERSION")
    )?;
    writeln!(w, "</ElectionReport>")
}

fn write_election(s: &Snapshot, w: &mut impl Write) -> std::io::Result<()> {
    writeln!(w, "<Election>")?;
    for u in &s.units {
        if u.facts.ballots_cast.is_none() && u.facts.ballots_outstanding.is_none() {
            continue;
        }
        write!(
            w,
            "<BallotCounts><GpUnitId>{}</GpUnitId><Type>total</Type>",
            escape(&u.id)
        )?;
        if let Some(v) = u.facts.ballots_cast {
            write!(w, "<BallotsCast>{v}</BallotsCast>")?;
        }
        if let Some(v) = u.facts.ballots_outstanding {
            write!(w, "<BallotsOutstanding>{v}</BallotsOutstanding>")?;
        }
        writeln!(w, "</BallotCounts>")?;
    }
    for c in &s.contests {
        if c.kind == ContestKind::Candidate {
            for ch in &c.choices {
                write!(
                    w,
                    "<Candidate ObjectId=\"{}\">",
                    escape(&candidate_id(&ch.id))
                )?;
                intl(w, "BallotName", &ch.name)?;
                if let Some(p) = &ch.party {
                    write!(w, "<PartyId>{}</PartyId>", escape(p))?;
                }
                writeln!(w, "</Candidate>")?;
            }
        } else if c.kind == ContestKind::Retention {
            write!(
                w,
                "<Candidate ObjectId=\"{}\">",
                escape(&candidate_id(&c.id))
            )?;
            intl(w, "BallotName", &c.name)?;
            writeln!(w, "</Candidate>")?;
        }
    }
    for c in &s.contests {
        write_contest(s, c, w)?;
    }
    write!(
        w,
        "<ElectionScopeId>{}</ElectionScopeId>",
        escape(&s.election.scope_unit)
    )?;
    intl(w, "Name", &s.election.name)?;
    writeln!(
        w,
        "<StartDate>{}</StartDate><EndDate>{}</EndDate><Type>{}</Type>",
        escape(&s.election.start_date),
        escape(&s.election.end_date),
        s.election.kind.as_str()
    )?;
    writeln!(w, "</Election>")
}

fn write_contest(
    s: &crate::model::Snapshot,
    c: &crate::model::Contest,
    w: &mut impl Write,
) -> std::io::Result<()> {
    let ty = match c.kind {
        ContestKind::Candidate => "CandidateContest",
        ContestKind::BallotMeasure => "BallotMeasureContest",
        ContestKind::Retention => "RetentionContest",
        ContestKind::Party => "PartyContest",
    };
    writeln!(
        w,
        "<Contest ObjectId=\"{}\" xsi:type=\"{ty}\">",
        escape(&c.id)
    )?;
    let by_choice = crate::export::counts_by_choice(c);
    for (ch, counts) in c.choices.iter().zip(by_choice) {
        let sty = match c.kind {
            ContestKind::Candidate => "CandidateSelection",
            ContestKind::BallotMeasure | ContestKind::Retention => "BallotMeasureSelection",
            ContestKind::Party => "PartySelection",
        };
        write!(
            w,
            "<ContestSelection ObjectId=\"{}\" xsi:type=\"{sty}\">",
            escape(&ch.id)
        )?;
        for vc in counts {
            write!(
                w,
                "<VoteCounts><GpUnitId>{}</GpUnitId>",
                escape(s.unit_id(vc.unit))
            )?;
            if let Some(r) = vc.round {
                write!(w, "<Round>{r}</Round>")?;
            }
            write!(
                w,
                "<Type>{}</Type><Count>{}</Count></VoteCounts>",
                vc.kind.as_str(),
                vc.votes
            )?;
        }
        match c.kind {
            ContestKind::Candidate => {
                write!(
                    w,
                    "<CandidateIds>{}</CandidateIds>",
                    escape(&candidate_id(&ch.id))
                )?;
                if ch.write_in {
                    write!(w, "<IsWriteIn>true</IsWriteIn>")?;
                }
            }
            ContestKind::BallotMeasure | ContestKind::Retention => intl(w, "Selection", &ch.name)?,
            ContestKind::Party => write!(
                w,
                "<PartyIds>{}</PartyIds>",
                escape(ch.party.as_deref().unwrap_or(""))
            )?,
        }
        writeln!(w, "</ContestSelection>")?;
    }
    write!(
        w,
        "<ElectionDistrictId>{}</ElectionDistrictId>",
        escape(&c.district)
    )?;
    if c.votes_allowed.is_none() {
        write!(
            w,
            "<ExternalIdentifier><Type>other</Type><OtherType>{VOTES_ALLOWED_UNKNOWN}</OtherType><Value>unknown</Value></ExternalIdentifier>"
        )?;
    }
    write!(w, "<Name>{}</Name>", escape(&c.name))?;
    for o in c.other_counts.iter().filter(|o| o.kind == CountType::Total) {
        write!(w, "<OtherCounts><GpUnitId>{}</GpUnitId>", escape(&o.unit))?;
        if let Some(v) = o.overvotes {
            write!(w, "<Overvotes>{v}</Overvotes>")?;
        }
        if let Some(v) = o.undervotes {
            write!(w, "<Undervotes>{v}</Undervotes>")?;
        }
        write!(w, "</OtherCounts>")?;
    }
    if let Some(v) = c.variation {
        write!(w, "<VoteVariation>{}</VoteVariation>", v.as_str())?;
    }
    match c.kind {
        ContestKind::Candidate => write!(
            w,
            "<VotesAllowed>{}</VotesAllowed>",
            c.votes_allowed.unwrap_or(1)
        )?,
        ContestKind::Retention => write!(
            w,
            "<CandidateId>{}</CandidateId>",
            escape(&candidate_id(&c.id))
        )?,
        _ => {}
    }
    writeln!(w, "</Contest>")
}
