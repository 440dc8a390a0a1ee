//! NIST SP 1500-100 v2: every shipped ERR example loads, round-trips through our JSON and XML
//! exports, and the Wyoming file with duplicate ids is refused unless asked to be lenient.

mod common;

use std::fmt::Write as _;

use expect_test::expect;
use urne_results::{
    ImportError, NistOptions, ProblemKind, ValidSnapshot, canonical, export_nist_json,
    export_nist_xml, import_nist_json_bytes, import_nist_xml_bytes,
};

const ERR: &str = "nist/election-results-reporting-sp1500-100-v2";

fn import(
    path: &std::path::Path,
    options: &NistOptions,
) -> Result<urne_results::Imported, ImportError> {
    let bytes = std::fs::read(path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    if name.ends_with(".json") {
        import_nist_json_bytes(&name, &bytes, options)
    } else {
        import_nist_xml_bytes(&name, &bytes, options)
    }
}

fn round_trip(s: &ValidSnapshot) {
    let mut json = Vec::new();
    export_nist_json(s, "2024-11-05T20:00:00Z", &mut json).unwrap();
    let back = import_nist_json_bytes("export.json", &json, &NistOptions::default()).unwrap();
    assert_eq!(back.snapshot, *s, "JSON round trip");
    let mut xml = Vec::new();
    export_nist_xml(s, "2024-11-05T20:00:00Z", &mut xml).unwrap();
    let back = import_nist_xml_bytes("export.xml", &xml, &NistOptions::default()).unwrap();
    assert_eq!(back.snapshot, *s, "XML round trip");
    let bytes = canonical::encode(s);
    assert_eq!(canonical::encode(&back.snapshot), bytes);
    assert_eq!(
        canonical::decode(&bytes).unwrap(),
        *s,
        "canonical decode round trip"
    );
}

#[test]
fn every_err_example_loads_and_round_trips() {
    let Some(data) = common::data_dir("every_err_example_loads_and_round_trips") else {
        return;
    };
    let dir = data.join(ERR).join("examples/cdf-test-method");
    let mut report = String::new();
    let mut paths = common::files(&dir, ".json");
    paths.extend(common::files(&dir, ".xml"));
    paths.sort();
    for path in &paths {
        let imported = import(path, &NistOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let s = &imported.snapshot;
        let counts: usize = s.contests.iter().map(|c| c.counts.len()).sum();
        writeln!(
            report,
            "{} {} contests={} units={} counts={} warnings={}",
            path.file_name().unwrap().to_string_lossy(),
            s.status,
            s.contests.len(),
            s.units.len(),
            counts,
            imported.warnings.len()
        )
        .unwrap();
        round_trip(s);
    }
    expect![[r#"
        err-2022-11-08-Massachusetts-Cambridge.json certified contests=26 units=88 counts=2160 warnings=0
        err-2022-11-08-Massachusetts-Cambridge.xml certified contests=26 units=88 counts=2160 warnings=0
        err-2022-09-06-Massachusetts-Cambridge.json certified contests=42 units=88 counts=2910 warnings=42
        err-2022-09-06-Massachusetts-Cambridge.xml certified contests=42 units=88 counts=2910 warnings=42
        err-gen-01.json unofficial-complete contests=19 units=14 counts=202 warnings=9
        err-gen-01.xml unofficial-complete contests=19 units=14 counts=202 warnings=9
        pe-err-gen-01.json pre-election contests=19 units=26 counts=0 warnings=0
        pe-err-gen-01.xml pre-election contests=19 units=26 counts=0 warnings=0
        err-gen-02.json unofficial-complete contests=15 units=4 counts=174 warnings=0
        err-gen-02.xml unofficial-complete contests=15 units=4 counts=174 warnings=0
        pe-err-gen-02.json pre-election contests=15 units=9 counts=0 warnings=0
        pe-err-gen-02.xml pre-election contests=15 units=9 counts=0 warnings=0
        err-gen-03.json unofficial-complete contests=8 units=3 counts=53 warnings=0
        err-gen-03.xml unofficial-complete contests=8 units=3 counts=53 warnings=0
        pe-err-gen-03.json pre-election contests=8 units=7 counts=0 warnings=0
        pe-err-gen-03.xml pre-election contests=8 units=7 counts=0 warnings=0
        err-prim-01.json unofficial-complete contests=30 units=3 counts=201 warnings=0
        err-prim-01.xml unofficial-complete contests=30 units=3 counts=201 warnings=0
        pe-err-prim-01.json pre-election contests=30 units=3 counts=0 warnings=0
        pe-err-prim-01.xml pre-election contests=30 units=3 counts=0 warnings=0
        err-prim-02.json unofficial-complete contests=13 units=3 counts=104 warnings=0
        err-prim-02.xml unofficial-complete contests=13 units=3 counts=104 warnings=0
        pe-err-prim-02.json pre-election contests=13 units=3 counts=0 warnings=0
        pe-err-prim-02.xml pre-election contests=13 units=3 counts=0 warnings=0
        err-prim-03.json unofficial-complete contests=10 units=3 counts=71 warnings=0
        err-prim-03.xml unofficial-complete contests=10 units=3 counts=71 warnings=0
        pe-err-prim-03.json pre-election contests=10 units=5 counts=0 warnings=0
        pe-err-prim-03.xml pre-election contests=10 units=5 counts=0 warnings=0
    "#]].assert_eq(&report);
}

#[test]
fn json_and_xml_forms_of_one_example_agree() {
    let Some(data) = common::data_dir("json_and_xml_forms_of_one_example_agree") else {
        return;
    };
    let dir = data.join(ERR).join("examples/cdf-test-method/synthetic");
    for name in [
        "gen-01", "gen-02", "gen-03", "prim-01", "prim-02", "prim-03",
    ] {
        let j = import(
            &dir.join(format!("{name}/err_v2/err-{name}.json")),
            &NistOptions::default(),
        )
        .unwrap();
        let x = import(
            &dir.join(format!("{name}/err_v2/err-{name}.xml")),
            &NistOptions::default(),
        )
        .unwrap();
        assert_eq!(
            canonical::encode(&j.snapshot),
            canonical::encode(&x.snapshot),
            "{name}"
        );
    }
}

#[test]
fn wyoming_duplicate_ids_are_refused_naming_the_id() {
    let Some(data) = common::data_dir("wyoming_duplicate_ids_are_refused_naming_the_id") else {
        return;
    };
    let path = data
        .join(ERR)
        .join("examples/electiondata/nist_v2_wy20g.xml");
    let err = import(&path, &NistOptions::default()).unwrap_err();
    let first = &err.problems()[0];
    assert!(
        matches!(first.kind, ProblemKind::DuplicateId { .. }),
        "{err}"
    );
    expect![[r#"element /ElectionReport/Election[1]/Contest[2]/ContestSelection[3]: duplicate object id "oid114211""#]].assert_eq(&first.to_string());

    let lenient = NistOptions {
        danger_rename_duplicate_selection_ids: true,
        ..NistOptions::default()
    };
    let imported = import(&path, &lenient).unwrap_or_else(|e| panic!("{e}"));
    let s = &imported.snapshot;
    let counts: usize = s.contests.iter().map(|c| c.counts.len()).sum();
    let renamed = imported
        .warnings
        .iter()
        .filter(|w| w.kind == urne_results::WarningKind::Lenient)
        .count();
    expect!["contests=78 units=99 counts=5290 renamed=113"].assert_eq(&format!(
        "contests={} units={} counts={counts} renamed={renamed}",
        s.contests.len(),
        s.units.len()
    ));
    round_trip(s);
}
