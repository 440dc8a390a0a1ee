//! Regression tests, named after what went wrong.

use expect_test::expect;
use urne_results::{
    ClarityOptions, CsvOptions, CsvSource, NistOptions, ProblemKind, import_clarity_xml,
    import_nist_json_bytes, import_openelections_csv_bytes,
};

/// Found by the `results_nist_json` fuzz target: a write-in candidate selection inside a
/// ballot-measure contest imported fine, but export dropped the write-in flag, so export →
/// import changed the snapshot. Write-ins outside candidate contests are now refused.
#[test]
fn a_write_in_in_a_ballot_measure_is_refused() {
    let bytes = include_bytes!("fixtures/writein_in_ballot_measure.json");
    let err = import_nist_json_bytes("writein.json", bytes, &NistOptions::default()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("only candidate contests have write-ins") && text.contains("writein.json"),
        "{text}"
    );
    let urne_results::ImportError::Invalid { problems, .. } = err else {
        panic!("expected a validation error, got {text}");
    };
    assert!(problems.iter().any(|p| matches!(
        &p.kind,
        ProblemKind::WriteInOutsideCandidateContest { choice } if choice == "cs-sc-justice-b-wi"
    )));
}

/// Found by the `results_openelections` fuzz target: two names that slug alike get ids made
/// unique by a suffix (`aliquippa`, then `aliquippa-2`), but a third name whose own slug is
/// that suffixed id (`ALIQUIPPA 2`) was handed it again. The set was refused with "duplicate
/// unit id", an id that appears nowhere in the file (and a debug build panicked on the order).
/// Units, contests and choices share the scheme; each gets distinct ids now.
#[test]
fn names_whose_slug_is_another_names_suffixed_id_get_their_own() {
    let csv = "county,precinct,office,district,party,candidate,votes\n\
               Beaver,ALIQUIPPA=,Mayor,,,Ann Lee,2\n\
               Beaver,ALIQUIPPA,Mayor!,,,Ann-Lee,2\n\
               Beaver,ALIQUIPPA 2,Mayor 2,,,Ann Lee,1\n\
               Beaver,ALIQUIPPA 2,Mayor,,,Ann-Lee,1\n\
               Beaver,ALIQUIPPA 2,Mayor,,,Ann Lee 2,1\n";
    let options = CsvOptions::new("Testland", "Test Election", "2024-11-05");
    let imported = import_openelections_csv_bytes(
        &[CsvSource {
            name: "t.csv".to_owned(),
            reader: csv.as_bytes(),
        }],
        &options,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let s = &imported.snapshot;
    let mut got = String::new();
    for u in &s.units {
        got.push_str(&format!("unit {} {:?}\n", u.id, u.name));
    }
    for c in &s.contests {
        got.push_str(&format!("contest {} {:?}\n", c.id, c.name));
        for ch in &c.choices {
            got.push_str(&format!("  choice {} {:?}\n", ch.id, ch.name));
        }
    }
    expect![[r#"
        unit county-beaver "Beaver"
        unit p-beaver-aliquippa "ALIQUIPPA="
        unit p-beaver-aliquippa-2 "ALIQUIPPA"
        unit p-beaver-aliquippa-2-2 "ALIQUIPPA 2"
        unit state "Testland"
        contest c-mayor "Mayor"
          choice c-mayor.ann-lee "Ann Lee"
          choice c-mayor.ann-lee-2 "Ann-Lee"
          choice c-mayor.ann-lee-2-2 "Ann Lee 2"
        contest c-mayor-2 "Mayor!"
          choice c-mayor-2.ann-lee "Ann-Lee"
        contest c-mayor-2-2 "Mayor 2"
          choice c-mayor-2-2.ann-lee "Ann Lee"
    "#]]
    .assert_eq(&got);
}

/// The Clarity importer had its own suffix scheme (`{slug}-{position}`), checked once: with
/// precincts `A`, `A 3`, `A!`, the third took `p-a-3`, the second's id, and the file was
/// refused with "duplicate unit id". It also compared each new id with every earlier one
/// (quadratic in the precincts). It now shares the CSV importer's `UniqueIds`.
#[test]
fn clarity_precincts_whose_slugs_meet_get_their_own_ids() {
    let xml = r#"<?xml version="1.0"?>
<ElectionResult>
  <ElectionName>Test</ElectionName><ElectionDate>11/5/2024</ElectionDate><Region>Test</Region>
  <VoterTurnout totalVoters="30" ballotsCast="12">
    <Precincts>
      <Precinct name="A" totalVoters="10" ballotsCast="2" percentReporting="4" />
      <Precinct name="A 3" totalVoters="10" ballotsCast="3" percentReporting="4" />
      <Precinct name="A!" totalVoters="10" ballotsCast="7" percentReporting="4" />
    </Precincts>
  </VoterTurnout>
  <Contest key="1" text="Mayor" voteFor="1" isQuestion="false" precinctsReporting="3" precinctsReported="3">
    <Choice key="1" text="Ann" totalVotes="12">
      <VoteType name="Election Day" votes="12">
        <Precinct name="A" votes="2" /><Precinct name="A 3" votes="3" /><Precinct name="A!" votes="7" />
      </VoteType>
    </Choice>
  </Contest>
</ElectionResult>"#;
    let imported = import_clarity_xml("t.xml", xml.as_bytes(), &ClarityOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let units: Vec<String> = imported
        .snapshot
        .units
        .iter()
        .map(|u| format!("{} {:?}", u.id, u.name))
        .collect();
    expect![[r#"
        p-a "A"
        p-a-2 "A!"
        p-a-3 "A 3"
        region "Test""#]]
    .assert_eq(&units.join("\n"));
}

/// Found by the `results_nist_json` fuzz target: a `BallotMeasureContest` with
/// `"VotesAllowed": 2` imported, but NIST has `VotesAllowed` on candidate contests only, so
/// the export left it out and the re-import allowed 1: export → import changed the snapshot.
/// Only candidate contests may now allow other than one vote; 1 is still accepted.
#[test]
fn votes_allowed_other_than_one_outside_a_candidate_contest_is_refused() {
    let json = |votes_allowed: u32| {
        format!(
            r#"{{"Election":[{{"Contest":[{{"VotesAllowed":{votes_allowed},"@type":"ElectionResults.BallotMeasureContest","@id":"m","ElectionDistrictId":"county"}}],"ElectionScopeId":"county","Type":"general"}}],"GpUnit":[{{"Type":"county","@id":"county"}}],"Status":"unofficial-complete"}}"#
        )
    };
    let outcome = |json: String| match import_nist_json_bytes(
        "m.json",
        json.as_bytes(),
        &NistOptions::default(),
    ) {
        Ok(i) => format!(
            "ok, votes allowed {:?}",
            i.snapshot.contests[0].votes_allowed
        ),
        Err(e) => e.to_string(),
    };
    expect![[r#"
        m.json: contest "m": contest "m" allows 2 votes, but only a candidate contest may allow other than 1
        ok, votes allowed Some(1)"#]].assert_eq(&format!("{}\n{}", outcome(json(2)), outcome(json(1))));
}
