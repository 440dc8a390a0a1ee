//! NIST SP 1500-102 style XML: round trips against the JSON form, bad input naming the line and
//! element, limits, and an all-or-nothing import through the `urne roll` commands on SQLite.

use std::sync::Arc;

use urne_roll::audit::AdditionSource;
use urne_roll::{Role, VoterRecord};
use urne_roll_server::commands::{self, CommandError, FileFormat};
use urne_roll_server::format::record_from_json;
use urne_roll_server::xml::{
    XML_DEPTH_MAX, XML_HEAD, XML_TAIL, XML_TEXT_BYTES_MAX, record_to_xml, records_from_xml,
};
use urne_roll_store::sqlite::SqliteRoll;
use urne_roll_store::testsuite::{synthetic, test_master, today};
use urne_roll_store::{Roll, RollBackend};

fn document(records: &[VoterRecord]) -> String {
    let mut s = XML_HEAD.to_owned();
    for r in records {
        s.push_str(&record_to_xml(r).expect("xml"));
    }
    s.push_str(XML_TAIL);
    s
}

fn decoded(xml: &str) -> Vec<VoterRecord> {
    records_from_xml(xml.as_bytes())
        .expect("document")
        .into_iter()
        .map(|(_, r)| r.expect("record"))
        .collect()
}

#[test]
fn records_round_trip_and_match_the_json_form() {
    let mut voters = synthetic(5, 200);
    // Characters XML must escape, and a non-ASCII name.
    voters[0].name.last = "O'Brien & <Sons> \"Ltd\"".into();
    voters[1].name.first = "Zoë".into();
    voters[2].residence.line2 = Some("Apt 4 & 5".into());
    let xml = document(&voters);
    assert_eq!(decoded(&xml), voters);
    for v in &voters {
        let via_json =
            record_from_json(&urne_roll_server::format::record_to_json(v), "$").expect("json");
        assert_eq!(&via_json, v);
    }
    // Every optional part occurs somewhere in the sample, so the round trip covers it.
    assert!(voters.iter().any(|v| v.mailing.is_some()));
    assert!(voters.iter().any(|v| !v.history.is_empty()));
    assert!(voters.iter().any(|v| v.sensitive.email.is_some()));
}

#[test]
fn pretty_printed_namespaced_input_with_cdata_and_references_decodes() {
    let v = synthetic(9, 1).remove(0);
    let one = record_to_xml(&v).expect("xml");
    // Indent every element, put the root in a namespace, and spell a value with a character
    // reference and CDATA.
    let pretty = one.replace("><", ">\n    <");
    let xml = format!(
        "<?xml version=\"1.0\"?>\n<!-- export -->\n<v:VoterRecords xmlns:v=\"urn:x\">\n{pretty}</v:VoterRecords>\n"
    );
    assert_eq!(decoded(&xml), vec![v.clone()]);
    let first = format!("<FirstName>{}</FirstName>", v.name.first);
    let spelled = format!(
        "<FirstName>&#{};<![CDATA[{}]]></FirstName>",
        v.name.first.chars().next().map_or(65, |c| c as u32),
        v.name.first.chars().skip(1).collect::<String>()
    );
    let xml = document(std::slice::from_ref(&v)).replace(&first, &spelled);
    assert_eq!(decoded(&xml), vec![v]);
}

#[test]
fn bad_records_name_their_line_and_element() {
    let voters = synthetic(3, 3);
    let good = document(&voters);
    // Record 2 (line 4) loses its last name.
    let line2 = record_to_xml(&voters[1]).expect("xml");
    let broken = line2.replace(&format!("<LastName>{}</LastName>", voters[1].name.last), "");
    let xml = good.replace(&line2, &broken);
    let got = records_from_xml(xml.as_bytes()).expect("document");
    assert!(got[0].1.is_ok() && got[2].1.is_ok());
    assert_eq!(got[1].0, 4);
    let e = got[1].1.clone().expect_err("bad record");
    assert!(
        e.contains("VoterRecords/VoterRecord[2].Name.LastName: required"),
        "{e}"
    );
    // An unknown status names the rule, not the value.
    let xml = good.replacen("<VoterStatus>", "<VoterStatus>x", 1);
    let e = records_from_xml(xml.as_bytes()).expect("document")[0]
        .1
        .clone()
        .expect_err("bad status");
    assert!(e.contains("VoterRecord[1]") && e.contains("status"), "{e}");
}

#[test]
fn malformed_documents_are_refused_with_their_line() {
    let voters = synthetic(4, 2);
    let good = document(&voters);
    let cases: Vec<(String, u64, &str)> = vec![
        (
            good.replacen("</Name>", "</Nam>", 1),
            3,
            "mismatched or unclosed element",
        ),
        (good.replace(XML_TAIL, ""), 5, "mismatched or unclosed"),
        (
            good.replacen("<VoterRecord>", "<Voter>", 1),
            3,
            "Voter: expected VoterRecord",
        ),
        ("<Records/>".into(), 1, "root element must be VoterRecords"),
        (
            "".into(),
            1,
            "no VoterRecordsResponse (or VoterRecords) element",
        ),
        (
            format!(
                "<!DOCTYPE x [<!ENTITY a \"b\">]>\n{}",
                good.replace(XML_HEAD, "<VoterRecords>\n")
            ),
            1,
            "document type declaration",
        ),
        (
            good.replacen("<FirstName>", "<FirstName>&bogus;", 1),
            3,
            "Name/FirstName: unknown entity",
        ),
        (
            good.replacen(
                "<FirstName>",
                &format!("<FirstName>{}", "a".repeat(XML_TEXT_BYTES_MAX)),
                1,
            ),
            3,
            "text over",
        ),
        (
            good.replacen(
                "<Name>",
                &format!(
                    "<Name>{}{}",
                    "<X>".repeat(XML_DEPTH_MAX),
                    "</X>".repeat(XML_DEPTH_MAX)
                ),
                1,
            ),
            3,
            "nested over",
        ),
        (
            good.replacen("<Precinct>", "<Precinct>p</Precinct><Precinct>", 1),
            3,
            "Precinct: repeated",
        ),
        (
            good.replacen("<Name>", "<Name>stray", 1),
            3,
            "Name: text mixed with elements",
        ),
    ];
    for (xml, line, rule) in cases {
        let e = records_from_xml(xml.as_bytes()).expect_err(rule);
        assert_eq!(e.line, line, "{rule}: {e}");
        assert!(e.message.contains(rule), "{rule}: {e}");
    }
}

async fn roll_with_clerk(dir: &std::path::Path) -> (Roll, urne_roll_store::Session) {
    let db: Arc<dyn RollBackend> = Arc::new(
        SqliteRoll::open(&dir.join("roll.sqlite"))
            .await
            .expect("open"),
    );
    let roll = Roll::open(db, &test_master(), Some("ca-test"))
        .await
        .expect("roll");
    let pw = "correct horse battery staple";
    roll.add_staff(&Roll::operator(), "cleo", Role::Clerk, pw, today())
        .await
        .expect("staff");
    let clerk = roll.login("cleo", pw).await.expect("login");
    (roll, clerk)
}

#[tokio::test]
async fn import_and_export_through_the_commands_all_or_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (roll, clerk) = roll_with_clerk(dir.path()).await;
    let voters = synthetic(11, 60);
    let good = document(&voters);

    // One bad record: nothing is imported, and the error names the file and line.
    let bad_file = dir.path().join("bad.voters");
    let broken = good.replacen("<RegistrationDate>", "<RegistrationDate>x", 1);
    std::fs::write(&bad_file, &broken).expect("write");
    let e = commands::import(
        &roll,
        &bad_file,
        Some(FileFormat::Xml),
        None,
        AdditionSource::Mail,
        &clerk,
        None,
        false,
        today(),
    )
    .await
    .expect_err("bad record");
    match &e {
        CommandError::Rows { rows, .. } => {
            assert_eq!(rows.len(), 1);
            assert_eq!(rows[0].line, 3);
            assert!(rows[0].message.contains("RegistrationDate"), "{e}");
        }
        other => panic!("expected bad rows, got {other}"),
    }
    let empty = dir.path().join("empty.xml");
    let n = commands::export(&roll, &clerk, "test", &empty, None, today())
        .await
        .expect("export");
    assert_eq!(n, 0, "a refused import leaves nothing behind");

    // The good file imports (format from the extension), and exports back to the same records
    // in XML and, through the JSON export, the same records again.
    let file = dir.path().join("voters.xml");
    std::fs::write(&file, &good).expect("write");
    let s = commands::import(
        &roll,
        &file,
        None,
        None,
        AdditionSource::Mail,
        &clerk,
        None,
        false,
        today(),
    )
    .await
    .expect("import");
    assert_eq!(s.records, 60);
    let out = dir.path().join("out.xml");
    let n = commands::export(&roll, &clerk, "test", &out, None, today())
        .await
        .expect("export");
    assert_eq!(n, 60);
    let mut back = decoded(&std::fs::read_to_string(&out).expect("read"));
    let mut want = voters.clone();
    back.sort_by(|a, b| a.voter_id.cmp(&b.voter_id));
    want.sort_by(|a, b| a.voter_id.cmp(&b.voter_id));
    assert_eq!(back, want);

    let json_out = dir.path().join("out.data");
    commands::export(
        &roll,
        &clerk,
        "test",
        &json_out,
        Some(FileFormat::Json),
        today(),
    )
    .await
    .expect("export json");
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json_out).expect("read")).expect("json");
    assert_eq!(v["@type"], "VRI.VoterRecordResults");
    let mut from_json: Vec<VoterRecord> = v["VoterRecord"]
        .as_array()
        .expect("array")
        .iter()
        .map(|r| urne_roll_server::vri::record_from_vri_json(r, "$").expect("record"))
        .collect();
    from_json.sort_by(|a, b| a.voter_id.cmp(&b.voter_id));
    assert_eq!(from_json, want);

    // Importing the export into a fresh roll gives the same records again.
    let dir2 = tempfile::tempdir().expect("tempdir");
    let (roll2, clerk2) = roll_with_clerk(dir2.path()).await;
    commands::import(
        &roll2,
        &out,
        None,
        None,
        AdditionSource::Mail,
        &clerk2,
        None,
        false,
        today(),
    )
    .await
    .expect("re-import");
    let out2 = dir2.path().join("out2.xml");
    commands::export(&roll2, &clerk2, "test", &out2, None, today())
        .await
        .expect("export");
    let mut again = decoded(&std::fs::read_to_string(&out2).expect("read"));
    again.sort_by(|a, b| a.voter_id.cmp(&b.voter_id));
    assert_eq!(again, want);

    // And the VRI JSON export imports back too.
    let dir3 = tempfile::tempdir().expect("tempdir");
    let (roll3, clerk3) = roll_with_clerk(dir3.path()).await;
    commands::import(
        &roll3,
        &json_out,
        Some(FileFormat::Json),
        None,
        AdditionSource::Mail,
        &clerk3,
        None,
        false,
        today(),
    )
    .await
    .expect("re-import json");
    let out3 = dir3.path().join("out3.xml");
    commands::export(&roll3, &clerk3, "test", &out3, None, today())
        .await
        .expect("export");
    let mut again = decoded(&std::fs::read_to_string(&out3).expect("read"));
    again.sort_by(|a, b| a.voter_id.cmp(&b.voter_id));
    assert_eq!(again, want);
}

// ---- VRI (`VoterRecordsResponse`), what `urne roll export --format xml` writes ----

use urne_roll::Status;
use urne_roll_server::vri::{VRI_HEAD, VRI_TAIL, record_to_vri};

fn vri_document(records: &[VoterRecord]) -> String {
    let mut s = VRI_HEAD.to_owned();
    for r in records {
        s.push_str(&record_to_vri(r).expect("vri"));
    }
    s.push_str(VRI_TAIL);
    s
}

fn vri_sample() -> Vec<VoterRecord> {
    let mut voters = synthetic(11, 300);
    voters[0].name.last = "O'Brien & <Sons> \"Ltd\"".into();
    voters[1].name.first = "Zoë".into();
    voters[2].residence.line2 = Some("Apt 4 & 5".into());
    voters[3].name.middle = Some("Anne Marie".into());
    let mut mailing = voters[4].residence.clone();
    mailing.line1 = "PO Box 12".into();
    mailing.line2 = Some("c/o Rivera".into());
    voters[4].mailing = Some(mailing);
    voters[5].party = None;
    voters
}

#[test]
fn vri_records_round_trip_with_every_field() {
    let voters = vri_sample();
    let xml = vri_document(&voters);
    assert_eq!(decoded(&xml), voters);
    // Every optional part and every status occurs in the sample, so the round trip covers it.
    assert!(voters.iter().any(|v| v.mailing.is_some()));
    assert!(
        voters
            .iter()
            .any(|v| v.mailing.as_ref().is_some_and(|m| m.line2.is_some()))
    );
    assert!(voters.iter().any(|v| v.residence.zip4.is_some()));
    assert!(voters.iter().any(|v| !v.history.is_empty()));
    assert!(voters.iter().any(|v| v.sensitive.email.is_some()));
    assert!(voters.iter().any(|v| v.sensitive.dl_number.is_some()));
    assert!(voters.iter().any(|v| v.party.is_none()));
    assert!(
        voters
            .iter()
            .any(|v| matches!(v.status, Status::Inactive(_)))
    );
    assert!(
        voters
            .iter()
            .any(|v| matches!(v.status, Status::Cancelled(_)))
    );
}

#[test]
fn vri_errors_name_the_record_and_field_never_the_value() {
    let voters = synthetic(12, 2);
    let good = vri_document(&voters);
    // A record without its Voter element.
    let start = good.find("<Voter>").unwrap();
    let end = good.find("</Voter>").unwrap() + "</Voter>".len();
    let mut bad = good.clone();
    bad.replace_range(start..end, "");
    let e = records_from_xml(bad.as_bytes()).expect("document")[0]
        .1
        .clone()
        .expect_err("no Voter");
    assert_eq!(e, "VoterRecordsResponse/VoterRecord[1]/Voter: missing");
    // A street address VRI allows but urne does not read names the element.
    let bad = good.replacen(
        "<GeneralAddressClass_type>",
        "<NumberedThoroughfareAddress_type><GeneralAddressClass_type>",
        1,
    );
    let bad = bad.replacen(
        "</GeneralAddressClass_type>",
        "</GeneralAddressClass_type></NumberedThoroughfareAddress_type>",
        1,
    );
    let e = records_from_xml(bad.as_bytes()).expect("document")[0]
        .1
        .clone()
        .expect_err("other address class");
    assert!(
        e.starts_with("VoterRecordsResponse/VoterRecord[1]/Voter/")
            && e.contains("only GeneralAddressClass_type"),
        "{e}"
    );
    // No value appears in an error.
    let dob = voters[0].sensitive.dob.to_string();
    let bad = good.replacen(&format!("<DateOfBirth>{dob}"), "<DateOfBirth>1999-02-31", 1);
    let e = records_from_xml(bad.as_bytes()).expect("document")[0]
        .1
        .clone()
        .expect_err("bad date");
    assert!(e.contains("DateOfBirth") && !e.contains("1999"), "{e}");
}

/// The shipped SP 1500-102 examples are single-voter request transactions (registrations,
/// absentee requests) and one acknowledgement, not voter lists: each is refused, by its root
/// or by its first element that is not a `VoterRecord`, naming the line.
#[test]
fn vri_request_examples_are_refused_by_their_root() {
    let Some(dir) = urne_testdata::shared_data(
        "vri_request_examples_are_refused_by_their_root",
        "nist/voter-records-interchange-sp1500-102/examples",
    ) else {
        return;
    };
    let mut seen = 0;
    for sub in ["NVRA-PDF-examples", "VA-examples"] {
        for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "xml") {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let e = records_from_xml(&bytes).expect_err("a request is not a voter list");
            assert!(
                (e.message
                    .contains("must be VoterRecordsResponse or VoterRecords")
                    || e.message.contains("expected VoterRecord"))
                    && e.line >= 2,
                "{}: {e}",
                path.display()
            );
            seen += 1;
        }
    }
    assert!(seen >= 20, "{seen} examples");
}

fn xmllint() -> Option<&'static str> {
    let ok = std::process::Command::new("xmllint")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some("xmllint");
    }
    if std::env::var_os("CI").is_some() {
        panic!("xmllint not found: install Debian package libxml2-utils");
    }
    eprintln!("SKIPPED vri_export_validates_against_the_shipped_xsd: no xmllint");
    None
}

/// The export validates against the shipped VRI schema. Its imports (the FGDC address schema,
/// which imports GML) are mapped to the shipped local copies by an XML catalog, as the data's
/// README says; nothing is fetched (`--nonet`).
#[test]
fn vri_export_validates_against_the_shipped_xsd() {
    let Some(schema) = urne_testdata::shared_data(
        "vri_export_validates_against_the_shipped_xsd",
        "nist/voter-records-interchange-sp1500-102/schema",
    ) else {
        return;
    };
    let Some(xmllint) = xmllint() else { return };
    let dir = tempfile::tempdir().unwrap();
    let imports = schema.join("imports");
    let catalog = dir.path().join("catalog.xml");
    std::fs::write(
        &catalog,
        format!(
            "<?xml version=\"1.0\"?>\n<catalog xmlns=\"urn:oasis:names:tc:entity:xmlns:xml:catalog\">\n\
             <system systemId=\"https://www.fgdc.gov/schemas/address/addr.xsd\" uri=\"file://{}\"/>\n\
             <system systemId=\"http://schemas.opengis.net/gml/3.1.1/base/gml.xsd\" uri=\"file://{}\"/>\n\
             </catalog>\n",
            imports.join("addr.xsd").display(),
            imports.join("geometryPrimitives.xsd").display()
        ),
    )
    .unwrap();
    let doc = dir.path().join("export.xml");
    std::fs::write(&doc, vri_document(&vri_sample())).unwrap();
    let out = std::process::Command::new(xmllint)
        .env("XML_CATALOG_FILES", &catalog)
        .args(["--noout", "--nonet", "--schema"])
        .arg(schema.join("NIST_V0_voter_records_interchange.xsd"))
        .arg(&doc)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.contains("validates"),
        "{}",
        stderr.chars().take(4000).collect::<String>()
    );
}

// ---- VRI JSON (`VRI.VoterRecordResults`), what `urne roll export --format json` writes ----

use urne_roll_server::vri::{VRI_JSON_TYPE, record_from_vri_json, record_to_vri_json};

fn vri_json_document(records: &[VoterRecord]) -> serde_json::Value {
    serde_json::json!({
        "@type": VRI_JSON_TYPE,
        "VoterRecord": records.iter().map(record_to_vri_json).collect::<Vec<_>>(),
    })
}

#[test]
fn vri_json_records_round_trip_and_equal_the_xml_form() {
    let voters = vri_sample();
    let doc = vri_json_document(&voters);
    // Through text, as a file would.
    let text = serde_json::to_string(&doc).unwrap();
    let back: serde_json::Value = serde_json::from_str(&text).unwrap();
    for (i, (r, v)) in back["VoterRecord"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&voters)
        .enumerate()
    {
        assert_eq!(
            &record_from_vri_json(r, &format!("$.VoterRecord[{i}]")).unwrap(),
            v
        );
    }
    let mut bad = back["VoterRecord"][0].clone();
    bad["Voter"].as_object_mut().unwrap().remove("Name");
    let e = record_from_vri_json(&bad, "$.VoterRecord[0]").expect_err("no name");
    assert!(e.contains("Name"), "{e}");
}

/// The JSON export validates against the shipped VRI JSON schema (draft-04; it has no root
/// `$ref`, so the document is checked against `VRI.VoterRecordResults` explicitly).
#[test]
fn vri_json_export_validates_against_the_shipped_schema() {
    let Some(schema_dir) = urne_testdata::shared_data(
        "vri_json_export_validates_against_the_shipped_schema",
        "nist/voter-records-interchange-sp1500-102/schema",
    ) else {
        return;
    };
    let mut schema: serde_json::Value = serde_json::from_slice(
        &std::fs::read(schema_dir.join("NIST_V0_voter_records_interchange.json")).unwrap(),
    )
    .unwrap();
    schema["$ref"] = serde_json::json!("#/definitions/VRI.VoterRecordResults");
    let validator = jsonschema::draft4::new(&schema).unwrap();
    let doc = vri_json_document(&vri_sample());
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .take(10)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // The check has teeth: a record without its required Voter fails.
    let mut bad = doc.clone();
    bad["VoterRecord"][0]
        .as_object_mut()
        .unwrap()
        .remove("Voter");
    assert!(!validator.is_valid(&bad));
}
