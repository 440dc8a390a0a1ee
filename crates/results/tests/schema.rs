//! Our NIST exports validate against the shipped ERR v2 schemas: the JSON schema (draft-04,
//! via the `jsonschema` crate) and the XSD (via `xmllint`, Debian package `libxml2-utils`).
//! Covered: every ERR example re-exported, a CSV-derived and a Clarity-derived snapshot.

mod common;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use urne_results::{
    ClarityOptions, CsvOptions, CsvSource, NistOptions, ValidSnapshot, export_nist_json,
    export_nist_xml, import_clarity_xml, import_nist_json_bytes, import_nist_xml_bytes,
    import_openelections_csv,
};

const ERR: &str = "nist/election-results-reporting-sp1500-100-v2";

fn snapshots(data: &Path) -> Vec<(String, ValidSnapshot)> {
    let mut out = Vec::new();
    let dir = data.join(ERR).join("examples/cdf-test-method");
    let mut paths = common::files(&dir, ".json");
    paths.extend(common::files(&dir, ".xml"));
    for p in paths {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&p).unwrap();
        let imported = if name.ends_with(".json") {
            import_nist_json_bytes(&name, &bytes, &NistOptions::default())
        } else {
            import_nist_xml_bytes(&name, &bytes, &NistOptions::default())
        };
        out.push((name, imported.unwrap().snapshot));
    }
    let wy = data
        .join(ERR)
        .join("examples/electiondata/nist_v2_wy20g.xml");
    let lenient = NistOptions {
        danger_rename_duplicate_selection_ids: true,
        ..NistOptions::default()
    };
    out.push((
        "wy-lenient".into(),
        import_nist_xml_bytes("wy", &std::fs::read(wy).unwrap(), &lenient)
            .unwrap()
            .snapshot,
    ));
    let csv = data.join("openelections/ga-2024-general/20241105__ga__general__county-level.csv");
    let options = CsvOptions::new("Georgia", "2024 General Election", "2024-11-05");
    let source = CsvSource {
        name: "ga-county".into(),
        reader: std::fs::File::open(csv).unwrap(),
    };
    out.push((
        "ga-2024-county-csv".into(),
        import_openelections_csv(vec![source], &options)
            .unwrap()
            .snapshot,
    ));
    let csv = data.join(
        "openelections/pa-2024-general-precinct/20241105__pa__general__luzerne__precinct.csv",
    );
    let options = CsvOptions::new("Pennsylvania", "2024 General Election", "2024-11-05");
    let source = CsvSource {
        name: "luzerne".into(),
        reader: std::fs::File::open(csv).unwrap(),
    };
    out.push((
        "pa-2024-luzerne-csv".into(),
        import_openelections_csv(vec![source], &options)
            .unwrap()
            .snapshot,
    ));
    let xml = data
        .join("vendor/clarity-enr-detailxml/ga-2018-12-18-hd14-special-primary-floyd-detail.xml");
    let clarity = import_clarity_xml(
        "floyd",
        std::fs::File::open(xml).unwrap(),
        &ClarityOptions::default(),
    );
    out.push(("floyd-clarity".into(), clarity.unwrap().snapshot));
    out
}

#[test]
fn json_exports_validate_against_the_json_schema() {
    let Some(data) = common::data_dir("json_exports_validate_against_the_json_schema") else {
        return;
    };
    let schema: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            data.join(ERR)
                .join("schema/NIST_V2_election_results_reporting.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::draft4::new(&schema).unwrap();
    for (name, s) in snapshots(&data) {
        let mut out = Vec::new();
        export_nist_json(&s, "2024-11-05T20:00:00Z", &mut out).unwrap();
        let instance: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .take(5)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}");
    }
}

fn xmllint() -> Option<PathBuf> {
    let ok = Command::new("xmllint")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(PathBuf::from("xmllint"));
    }
    if std::env::var_os("CI").is_some() {
        panic!("xmllint not found: install Debian package libxml2-utils");
    }
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED xml_exports_validate_against_the_xsd: no xmllint (apt-get install libxml2-utils)"
    );
    None
}

#[test]
fn xml_exports_validate_against_the_xsd() {
    let Some(data) = common::data_dir("xml_exports_validate_against_the_xsd") else {
        return;
    };
    let Some(xmllint) = xmllint() else { return };
    let xsd = data
        .join(ERR)
        .join("schema/NIST_V2_election_results_reporting.xsd");
    let dir = std::env::temp_dir().join(format!("urne-results-xsd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = Vec::new();
    for (name, s) in snapshots(&data) {
        let path = dir.join(format!("{name}.export.xml"));
        let mut out = Vec::new();
        export_nist_xml(&s, "2024-11-05T20:00:00Z", &mut out).unwrap();
        std::fs::write(&path, out).unwrap();
        files.push(path);
    }
    let output = Command::new(xmllint)
        .arg("--noout")
        .arg("--schema")
        .arg(&xsd)
        .args(&files)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        output.status.success(),
        "{}",
        stderr.chars().take(4000).collect::<String>()
    );
}
