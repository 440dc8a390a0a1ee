//! Clarity ENR detail.xml: every shipped file imports (its own totals checked against its
//! sub-units), and Luzerne County 2024 President equals the OpenElections CSV precinct by precinct.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use expect_test::expect;
use urne_results::{
    ClarityOptions, CountType, CsvOptions, CsvSource, ValidSnapshot, import_clarity_xml,
    import_openelections_csv,
};

#[test]
fn every_clarity_file_imports() {
    let Some(data) = common::data_dir("every_clarity_file_imports") else {
        return;
    };
    let mut report = String::new();
    for path in common::files(&data.join("vendor/clarity-enr-detailxml"), ".xml") {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let file = std::fs::File::open(&path).unwrap();
        match import_clarity_xml(&name, file, &ClarityOptions::default()) {
            Ok(i) => {
                let s = &i.snapshot;
                let counts: usize = s.contests.iter().map(|c| c.counts.len()).sum();
                writeln!(
                    report,
                    "{name}: contests={} units={} counts={counts} warnings={}",
                    s.contests.len(),
                    s.units.len(),
                    i.warnings.len()
                )
                .unwrap();
            }
            Err(e) => writeln!(report, "{e}").unwrap(),
        }
    }
    expect![[r#"
        county.xml: contest "c-100": unit "region" gives 477734 for choice "c-100.001", total but its county units add up to 462123
        precinct.xml: contests=1 units=34 counts=340 warnings=1
        ga-2018-07-24-primary-runoff-statewide-detail.xml: contests=18 units=160 counts=6840 warnings=0
        ga-2018-12-18-hd14-special-primary-bartow-detail.xml: contests=1 units=9 counts=180 warnings=2
        ga-2018-12-18-hd14-special-primary-floyd-detail.xml: contests=1 units=6 counts=120 warnings=2
        ga-2020-11-03-general-statewide-detail.xml: contests=298 units=160 counts=39625 warnings=0
        pa-2024-11-05-general-luzerne-county-detail.xml: contests=15 units=187 counts=51180 warnings=0
    "#]].assert_eq(&report);
}

/// (unit name, choice name) -> total votes, for the contest named `contest`.
fn by_name(s: &ValidSnapshot, contest: &str) -> BTreeMap<(String, String), u64> {
    let c = s
        .contests
        .iter()
        .find(|c| c.name == contest)
        .unwrap_or_else(|| panic!("no {contest}"));
    c.counts
        .iter()
        .filter(|vc| {
            vc.kind == CountType::Total
                && s.units[vc.unit as usize].kind == urne_results::UnitKind::Precinct
        })
        .map(|vc| {
            (
                (
                    s.units[vc.unit as usize].name.clone(),
                    c.choices[vc.choice as usize].name.clone(),
                ),
                vc.votes,
            )
        })
        .collect()
}

#[test]
fn luzerne_2024_president_matches_openelections_csv() {
    let Some(data) = common::data_dir("luzerne_2024_president_matches_openelections_csv") else {
        return;
    };
    let xml =
        data.join("vendor/clarity-enr-detailxml/pa-2024-11-05-general-luzerne-county-detail.xml");
    let clarity = import_clarity_xml(
        "luzerne detail.xml",
        std::fs::File::open(xml).unwrap(),
        &ClarityOptions::default(),
    )
    .unwrap();
    let csv = data.join(
        "openelections/pa-2024-general-precinct/20241105__pa__general__luzerne__precinct.csv",
    );
    let options = CsvOptions::new("Pennsylvania", "2024 General Election", "2024-11-05");
    let source = CsvSource {
        name: "luzerne.csv".into(),
        reader: std::fs::File::open(csv).unwrap(),
    };
    let oe = import_openelections_csv(vec![source], &options).unwrap();
    let a = by_name(&clarity.snapshot, "Presidential Electors");
    let b = by_name(&oe.snapshot, "President");
    assert_eq!(a.len(), b.len());
    assert_eq!(a, b);
    let mut totals: BTreeMap<&str, u64> = BTreeMap::new();
    for ((_, choice), v) in &a {
        *totals.entry(choice).or_default() += v;
    }
    expect![[r#"5580 precinct x choice totals equal; {"Alix C. Toulme Jr.": 1, "Andre Ramon McNeil Sr.": 0, "Angela Dwyer": 0, "Carol Ashwer": 0, "Chris Franklin": 0, "Christin Powers": 0, "Christopher Stried": 0, "Doug Bell": 0, "Edward Shlikas": 0, "HARRIS / WALZ": 62504, "Jay J. Bowman": 0, "Jimmy Giles": 0, "John E. Diaz": 0, "OLIVER / MAAT": 640, "Patrick Christian": 0, "Paul Vincent Catanese": 0, "Perry Jones": 0, "Rich Marin": 0, "Richard Root": 0, "SCATTER": 281, "STEIN / WARE": 562, "Sethatina Newman": 0, "Shiva Ayyadurai": 0, "Shondra Irving": 0, "Susan Maude Buchser": 0, "Suzie Scott": 0, "TRUMP / VANCE": 92444, "William Cody Nalbach": 0, "William Peterson": 0, "Write-in": 282}"#]].assert_eq(&format!("{} precinct x choice totals equal; {totals:?}", a.len()));
}

#[test]
fn ga_2020_president_summary_matches_published_totals() {
    let Some(data) = common::data_dir("ga_2020_president_summary_matches_published_totals") else {
        return;
    };
    let path = data.join("vendor/clarity-enr-detailxml/ga-2020-11-03-general-statewide-detail.xml");
    let i = import_clarity_xml(
        "ga-2020",
        std::fs::File::open(path).unwrap(),
        &ClarityOptions::default(),
    )
    .unwrap();
    let mut out = Vec::new();
    urne_results::export_summary_csv(&i.snapshot, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let president: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("President of the United States"))
        .collect();
    expect![[r#"
        c-5000,President of the United States,region,c-5000.1,Donald J. Trump (I) (Rep),NP,2461837
        c-5000,President of the United States,region,c-5000.2,Joseph R. Biden (Dem),NP,2474507
        c-5000,President of the United States,region,c-5000.3,Jo Jorgensen (Lib),NP,62138"#]]
    .assert_eq(&president.join("\n"));
}

/// Reporting status per unit, as "region status; sub-unit status: how many" lines.
fn reporting(s: &ValidSnapshot) -> String {
    let region = s.unit(urne_results::REGION_UNIT_ID).unwrap();
    let mut subs: BTreeMap<String, usize> = BTreeMap::new();
    for u in s.units.iter().filter(|u| u.id != region.id) {
        let status = u.facts.reporting.map_or("unknown", |r| r.as_str());
        *subs.entry(format!("{} {status}", u.kind)).or_default() += 1;
    }
    let region_status = region.facts.reporting.map_or("unknown", |r| r.as_str());
    format!("region {region_status}; {subs:?}")
}

#[test]
fn clarity_reporting_status_is_read_from_every_file() {
    let Some(data) = common::data_dir("clarity_reporting_status_is_read_from_every_file") else {
        return;
    };
    let mut report = String::new();
    for path in common::files(&data.join("vendor/clarity-enr-detailxml"), ".xml") {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let file = std::fs::File::open(&path).unwrap();
        if let Ok(i) = import_clarity_xml(&name, file, &ClarityOptions::default()) {
            writeln!(report, "{name}: {}", reporting(&i.snapshot)).unwrap();
            for w in i.warnings.iter().filter(|w| w.detail.contains("reporting")) {
                writeln!(report, "  {w}").unwrap();
            }
        }
    }
    expect![[r#"
        precinct.xml: region completed; {"precinct completed": 32, "precinct unknown": 1}
          element /ElectionResult/.../Precinct[1]/@percentReporting (byte 394): Dropped: precinct "AB": percentReporting "32" not understood, reporting status left unknown
        ga-2018-07-24-primary-runoff-statewide-detail.xml: region completed; {"county completed": 159}
        ga-2018-12-18-hd14-special-primary-bartow-detail.xml: region completed; {"precinct completed": 8}
        ga-2018-12-18-hd14-special-primary-floyd-detail.xml: region completed; {"precinct completed": 5}
        ga-2020-11-03-general-statewide-detail.xml: region completed; {"county completed": 159}
        pa-2024-11-05-general-luzerne-county-detail.xml: region completed; {"precinct completed": 186}
    "#]]
    .assert_eq(&report);
}

const PARTIAL_PRECINCTS: &str = r#"<?xml version="1.0"?>
<ElectionResult>
  <ElectionName>Test</ElectionName><ElectionDate>11/5/2024</ElectionDate><Region>Test</Region>
  <VoterTurnout totalVoters="30" ballotsCast="12">
    <Precincts>
      <Precinct name="A" totalVoters="10" ballotsCast="0" percentReporting="0" />
      <Precinct name="B" totalVoters="10" ballotsCast="5" percentReporting="2" />
      <Precinct name="C" totalVoters="10" ballotsCast="7" percentReporting="4" />
    </Precincts>
  </VoterTurnout>
  <Contest key="1" text="Mayor" voteFor="1" isQuestion="false" precinctsReporting="3" precinctsReported="1">
    <Choice key="1" text="Ann" totalVotes="9">
      <VoteType name="Election Day" votes="9">
        <Precinct name="A" votes="0" /><Precinct name="B" votes="3" /><Precinct name="C" votes="6" />
      </VoteType>
    </Choice>
  </Contest>
</ElectionResult>"#;

#[test]
fn clarity_partial_results_say_so() {
    let precincts = import_clarity_xml(
        "partial.xml",
        PARTIAL_PRECINCTS.as_bytes(),
        &ClarityOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let counties = PARTIAL_PRECINCTS
        .replace(
            "<VoterTurnout totalVoters=\"30\" ballotsCast=\"12\">",
            "<ElectionVoterTurnout>",
        )
        .replace("</VoterTurnout>", "</ElectionVoterTurnout>")
        .replace("Precincts>", "Counties>")
        .replace("<Precinct ", "<County ")
        .replace(
            "percentReporting=\"0\"",
            "precinctsParticipating=\"4\" precinctsReported=\"0\"",
        )
        .replace(
            "percentReporting=\"2\"",
            "precinctsParticipating=\"4\" precinctsReported=\"3\"",
        )
        .replace(
            "percentReporting=\"4\"",
            "precinctsParticipating=\"4\" precinctsReported=\"4\"",
        )
        .replace("precinctsReporting=\"3\" precinctsReported=\"1\"", "");
    let counties = import_clarity_xml(
        "partial.xml",
        counties.as_bytes(),
        &ClarityOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let status = |i: &urne_results::Imported| {
        i.snapshot
            .units
            .iter()
            .map(|u| {
                format!(
                    "{} {}",
                    u.name,
                    u.facts.reporting.map_or("unknown", |r| r.as_str())
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    expect![[r#"
        A not-processed, B in-process, C completed, Test in-process
        A not-processed, B in-process, C completed, Test in-process"#]]
    .assert_eq(&format!("{}\n{}", status(&precincts), status(&counties)));
}
