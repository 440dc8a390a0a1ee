//! Bad input, as data: each case is a small source and the exact message (or warnings) it gets.

use expect_test::{Expect, expect};
use urne_results::{
    CsvOptions, CsvSource, ImportError, Imported, NistOptions, export_nist_xml, import_nist_json,
    import_nist_json_bytes, import_nist_xml, import_nist_xml_bytes, import_openelections_csv,
    import_openelections_csv_bytes,
};

fn check_csv(csv: &str, expect: Expect) {
    let options = CsvOptions::new("Testland", "Test Election", "2024-11-05");
    expect.assert_eq(&csv_outcome(csv, &options));
}

/// What importing `csv` as `t.csv` gives, the same through a reader and from bytes.
fn csv_outcome(csv: &str, options: &CsvOptions) -> String {
    let source = CsvSource {
        name: "t.csv".to_owned(),
        reader: csv.as_bytes(),
    };
    let outcome = |result: Result<Imported, ImportError>| match result {
        Ok(i) => {
            let mut out = String::from("ok");
            for w in &i.warnings {
                out.push_str(&format!("\nwarning: {w}"));
            }
            out
        }
        Err(e) => e.to_string(),
    };
    let from_bytes = outcome(import_openelections_csv_bytes(
        std::slice::from_ref(&source),
        options,
    ));
    let got = outcome(import_openelections_csv(vec![source], options));
    assert_eq!(got, from_bytes, "through a reader and from bytes");
    got
}

const H: &str = "county,precinct,office,district,party,candidate,votes,election_day,mail\n";

#[test]
fn csv_bad_count_names_file_line_and_column() {
    check_csv(
        &format!("{H}A,P1,Mayor,,DEM,Ann,3,1,2\nA,P1,Mayor,,REP,Bob,x,1,2\n"),
        expect![[r#"t.csv: line 3, column "votes": count "x" is not a non-negative whole number"#]],
    );
}

#[test]
fn csv_negative_count_is_refused() {
    check_csv(
        &format!("{H}A,P1,Mayor,,DEM,Ann,-3,,\n"),
        expect![[
            r#"t.csv: line 2, column "votes": count "-3" is not a non-negative whole number"#
        ]],
    );
}

#[test]
fn csv_vote_types_must_add_up_to_the_total() {
    check_csv(
        &format!("{H}A,P1,Mayor,,DEM,Ann,4,1,2\n"),
        expect![[
            r#"t.csv: line 2, column "votes": total 4 differs from the sum of the vote types 3"#
        ]],
    );
}

#[test]
fn csv_duplicate_row_is_refused() {
    check_csv(
        &format!("{H}A,P1,Mayor,,DEM,Ann,3,1,2\nA,P1,Mayor,,DEM,Ann,3,1,2\n"),
        expect![[r#"t.csv: line 3: duplicate count for "A" "P1" "Mayor" "" "Ann" "DEM""#]],
    );
}

#[test]
fn csv_missing_column_is_refused() {
    check_csv(
        "county,precinct,party,candidate,votes\nA,P1,DEM,Ann,3\n",
        expect![[r#"t.csv: line 1, column "office": missing required column"#]],
    );
}

#[test]
fn csv_ragged_row_is_refused() {
    check_csv(
        &format!("{H}A,P1,Mayor,,DEM,Ann,3,1\n"),
        expect!["t.csv: line 2: malformed input: 8 fields, the header has 9"],
    );
}

#[test]
fn csv_pseudo_contests_become_unit_facts_and_votes_over_ballots_warn() {
    check_csv(
        &format!(
            "{H}A,P1,Registered Voters,,,,10,,\nA,P1,Ballots Cast,,,,2,1,1\nA,P1,Mayor,,DEM,Ann,\"1,002\",1000,2\nA,P1,Mayor,,,Over Votes,1,1,0\n"
        ),
        expect![[r#"
            ok
            warning: line 4: ThousandsSeparator: t.csv: 1 counts written with thousands separators (first here)
            warning: contest "c-mayor", unit "p-a-p1": VotesExceedBallots: 1002 votes exceed 2 ballots cast x 1 votes allowed (votes allowed unknown, 1 assumed)"#]],
    );
}

#[test]
fn csv_county_total_must_match_its_precincts() {
    check_csv(
        &format!(
            "{H}A,P1,Mayor,,DEM,Ann,3,1,2\nA,P2,Mayor,,DEM,Ann,4,2,2\nA,,Mayor,,DEM,Ann,8,3,5\n"
        ),
        expect![[
            r#"OpenElections CSV set: contest "c-mayor": unit "county-a" gives 8 for choice "c-mayor.ann-dem", total but its precinct units add up to 7; contest "c-mayor": unit "county-a" gives 5 for choice "c-mayor.ann-dem", absentee-mail but its precinct units add up to 4"#
        ]],
    );
}

fn check_json(json: &str, expect: Expect) {
    let got = match import_nist_json_bytes("t.json", json.as_bytes(), &NistOptions::default()) {
        Ok(i) => format!("ok, {} warnings", i.warnings.len()),
        Err(e) => e.to_string(),
    };
    expect.assert_eq(&got);
}

fn report(contest: &str) -> String {
    format!(
        r#"{{"@type":"ElectionResults.ElectionReport","Status":"unofficial-partial",
        "GpUnit":[{{"@type":"ElectionResults.ReportingUnit","@id":"city","Type":"city","ComposingGpUnitIds":["p1","p2"]}},
                  {{"@type":"ElectionResults.ReportingUnit","@id":"p1","Type":"precinct"}},
                  {{"@type":"ElectionResults.ReportingUnit","@id":"p2","Type":"precinct"}}],
        "Election":[{{"@type":"ElectionResults.Election","Type":"general","StartDate":"2024-11-05","EndDate":"2024-11-05",
          "ElectionScopeId":"city","Name":{{"Text":[{{"Content":"E","Language":"en"}}]}},
          "BallotCounts":[{{"GpUnitId":"p1","Type":"total","BallotsCast":5}}],
          "Contest":[{contest}]}}]}}"#
    )
}

fn contest(counts_a: &str) -> String {
    format!(
        r#"{{"@type":"ElectionResults.BallotMeasureContest","@id":"m","Name":"Measure","ElectionDistrictId":"city",
        "ContestSelection":[{{"@type":"ElectionResults.BallotMeasureSelection","@id":"m-yes",
           "Selection":{{"Text":[{{"Content":"Yes","Language":"en"}}]}},"VoteCounts":[{counts_a}]}}]}}"#
    )
}

fn vc(unit: &str, count: &str) -> String {
    format!(
        r#"{{"@type":"ElectionResults.VoteCounts","GpUnitId":"{unit}","Type":"total","Count":{count}}}"#
    )
}

#[test]
fn json_good_report_loads() {
    check_json(
        &report(&contest(
            &[vc("p1", "3"), vc("p2", "4"), vc("city", "7")].join(","),
        )),
        expect!["ok, 0 warnings"],
    );
}

#[test]
fn json_negative_count_names_the_path() {
    check_json(
        &report(&contest(&vc("p1", "-3"))),
        expect![[
            r#"t.json: JSON path Election[0].Contest[0].ContestSelection[0].VoteCounts[0].Count: count "-3" is not a non-negative whole number"#
        ]],
    );
}

#[test]
fn json_fractional_count_is_refused() {
    check_json(
        &report(&contest(&vc("p1", "2.5"))),
        expect![[
            r#"t.json: JSON path Election[0].Contest[0].ContestSelection[0].VoteCounts[0].Count: count "2.5" is not a non-negative whole number"#
        ]],
    );
}

#[test]
fn json_unknown_unit_is_refused() {
    check_json(
        &report(&contest(&vc("p9", "3"))),
        expect![[
            r#"t.json: JSON path Election[0].Contest[0].ContestSelection[0].VoteCounts[0].GpUnitId: unknown unit "p9" referenced"#
        ]],
    );
}

#[test]
fn json_votes_over_ballots_is_refused() {
    check_json(
        &report(&contest(&vc("p1", "6"))),
        expect![[
            r#"t.json: contest "m", unit "p1": 6 votes exceed 5 ballots cast x 1 votes allowed"#
        ]],
    );
}

#[test]
fn json_duplicate_count_is_refused() {
    check_json(
        &report(&contest(&[vc("p1", "2"), vc("p1", "2")].join(","))),
        expect![[r#"t.json: contest "m": duplicate count for unit "p1", choice "m-yes", total"#]],
    );
}

#[test]
fn json_parent_total_must_equal_children() {
    check_json(
        &report(&contest(
            &[vc("p1", "3"), vc("p2", "4"), vc("city", "8")].join(","),
        )),
        expect![[
            r#"t.json: contest "m": unit "city" gives 8 for choice "m-yes", total but its precinct units add up to 7"#
        ]],
    );
}

#[test]
fn json_wrong_type_names_the_path() {
    check_json(
        &report(&contest(&vc("p1", "\"three\""))),
        expect![[
            r#"t.json: JSON path Election[0].Contest[0].ContestSelection[0].VoteCounts[0].Count: malformed input: invalid type: string "three", expected a JSON number at line 10 column 166 (line 10, column 166)"#
        ]],
    );
}

#[test]
fn json_syntax_error_names_line_and_column() {
    check_json(
        "{\"Election\": [",
        expect![
            "t.json: JSON path Election: malformed input: EOF while parsing a list at line 1 column 14 (line 1, column 14)"
        ],
    );
}

#[test]
fn xml_malformed_names_the_element() {
    let got = import_nist_xml_bytes(
        "t.xml",
        b"<ElectionReport><Election><Contest></Election>",
        &NistOptions::default(),
    )
    .unwrap_err()
    .to_string();
    expect!["t.xml: element /ElectionReport/Election/Contest (byte 35): malformed input: ill-formed document: expected `</Contest>`, but `</Election>` was found"].assert_eq(&got);
}

#[test]
fn csv_crlf_line_numbers_are_physical_lines() {
    check_csv(
        "county,precinct,office,district,party,candidate,votes\r\nA,P1,Mayor,,DEM,Ann,3\r\nA,P1,Mayor,,REP,Bob,x\r\n",
        expect![[r#"t.csv: line 3, column "votes": count "x" is not a non-negative whole number"#]],
    );
}

#[test]
fn csv_row_limit_is_named() {
    let mut options = CsvOptions::new("Testland", "Test Election", "2024-11-05");
    options.limits.rows_max = 1;
    let csv = format!("{H}A,P1,Mayor,,DEM,Ann,3,1,2\nA,P1,Mayor,,REP,Bob,3,1,2\n");
    expect!["t.csv: line 3: rows count 2 exceeds the limit 1"]
        .assert_eq(&csv_outcome(&csv, &options));
}

#[test]
fn csv_source_size_limit_is_named() {
    let mut options = CsvOptions::new("Testland", "Test Election", "2024-11-05");
    let csv = format!("{H}A,P1,Mayor,,DEM,Ann,3,1,2\n");
    options.limits.source_bytes_max = csv.len() as u64 - 1;
    expect!["t.csv: whole file: source bytes count 98 exceeds the limit 97"]
        .assert_eq(&csv_outcome(&csv, &options));
    options.limits.source_bytes_max = csv.len() as u64;
    expect!["ok"].assert_eq(&csv_outcome(&csv, &options));
}

/// A NIST source one byte over its limit is refused by name, from bytes and through a reader,
/// JSON and XML alike; at its length it loads.
#[test]
fn nist_source_size_limit_is_named() {
    let json = report(&contest(&vc("p1", "3")));
    let snapshot = import_nist_json_bytes("t.json", json.as_bytes(), &NistOptions::default())
        .unwrap()
        .snapshot;
    let mut xml = Vec::new();
    export_nist_xml(&snapshot, "2024-11-05T20:00:00Z", &mut xml).unwrap();
    let outcome = |r: Result<Imported, ImportError>| match r {
        Ok(_) => "ok".to_owned(),
        Err(e) => e.to_string(),
    };
    let all = |options: &NistOptions| {
        [
            outcome(import_nist_json_bytes("t.json", json.as_bytes(), options)),
            outcome(import_nist_json("t.json", json.as_bytes(), options)),
            outcome(import_nist_xml_bytes("t.xml", &xml, options)),
            outcome(import_nist_xml("t.xml", xml.as_slice(), options)),
        ]
        .join("\n")
    };
    let mut options = NistOptions::default();
    options.limits.source_bytes_max = json.len().min(xml.len()) as u64 - 1;
    // A reader stops one byte past the limit, so that is the count it gives.
    expect![[r#"
        json 1047 bytes, xml 1526 bytes
        t.json: whole file: source bytes count 1047 exceeds the limit 1046
        t.json: whole file: source bytes count 1047 exceeds the limit 1046
        t.xml: whole file: source bytes count 1526 exceeds the limit 1046
        t.xml: whole file: source bytes count 1047 exceeds the limit 1046"#]]
    .assert_eq(&format!(
        "json {} bytes, xml {} bytes\n{}",
        json.len(),
        xml.len(),
        all(&options)
    ));
    options.limits.source_bytes_max = json.len().max(xml.len()) as u64;
    expect![[r#"
        ok
        ok
        ok
        ok"#]]
    .assert_eq(&all(&options));
}

#[test]
fn json_unit_cycle_is_refused() {
    let json = report(&contest(&vc("p1", "3"))).replace(
        r#""@id":"p1","Type":"precinct""#,
        r#""@id":"p1","Type":"precinct","ComposingGpUnitIds":["city"]"#,
    );
    check_json(
        &json,
        expect![[r#"t.json: unit "city": unit "city" contains itself"#]],
    );
}

#[test]
fn json_duplicate_id_is_refused() {
    let json = report(&contest(&vc("p1", "3"))).replace(r#""@id":"p2""#, r#""@id":"p1""#);
    check_json(
        &json,
        expect![[r#"t.json: JSON path GpUnit[2]: duplicate object id "p1""#]],
    );
}

#[test]
fn json_trailing_characters_are_refused() {
    let mut json = report(&contest(&vc("p1", "3")));
    json.push_str(" {\"Status\": \"certified\"}");
    check_json(
        &json,
        expect![
            "t.json: whole file: malformed input: trailing characters at line 10 column 171 (line 10, column 171)"
        ],
    );
}

#[test]
fn json_unknown_count_type_names_the_path() {
    let counts = vc("p1", "3").replace("\"total\"", "\"by-carrier-pigeon\"");
    check_json(
        &report(&contest(&counts)),
        expect![[
            r#"t.json: JSON path Election[0].Contest[0].ContestSelection[0].VoteCounts[0].Type: unknown value "by-carrier-pigeon" for CountItemType"#
        ]],
    );
}

#[test]
fn csv_unit_in_no_contest_is_reported() {
    // P2 has turnout but no votes in any contest: legal (nobody voted there, or its rows are
    // missing), so a warning, not an error. A county is covered by its precincts' votes.
    check_csv(
        &format!("{H}A,P1,Mayor,,DEM,Ann,3,1,2\nA,P2,Registered Voters,,,,10,,\n"),
        expect![[r#"
            ok
            warning: unit "p-a-p2": UnitWithoutVotes: precinct "P2" has no votes in any contest"#]],
    );
}

#[test]
fn csv_duplicate_row_skipped_leniently_keeps_the_first() {
    let options = CsvOptions {
        danger_skip_bad_rows: true,
        ..CsvOptions::new("Testland", "Test Election", "2024-11-05")
    };
    let csv = format!("{H}A,P1,Mayor,,DEM,Ann,3,1,2\nA,P1,Mayor,,DEM,Ann,5,4,1\n");
    let source = CsvSource {
        name: "t.csv".to_owned(),
        reader: csv.as_bytes(),
    };
    let i = import_openelections_csv(vec![source], &options).unwrap();
    let votes: Vec<String> = i.snapshot.contests[0]
        .counts
        .iter()
        .map(|vc| format!("{} {}", vc.kind, vc.votes))
        .collect();
    expect![[r#"
        total 3, election-day 1, absentee-mail 2
        line 3: Lenient: t.csv: row skipped: duplicate count for "A" "P1" "Mayor" "" "Ann" "DEM""#]]
    .assert_eq(&format!("{}\n{}", votes.join(", "), i.warnings[0]));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
    /// Any mix of rows (repeated, over/under lines, vote types that do or do not add up,
    /// county-level rows, blanks) is imported or refused without a panic. In debug builds this
    /// also checks every claim the importer vouches for to validation (`Vouched`), which
    /// panics if one is false, and that counts come out in canonical order.
    #[test]
    fn any_mix_of_rows_imports_or_is_refused_cleanly(
        rows in proptest::collection::vec(
            (0..3usize, 0..4usize, 0..3usize, 0..6usize, 0..40u64, proptest::option::of(0..20u64), proptest::option::of(0..20u64)),
            0..40,
        ),
        lenient in proptest::bool::ANY,
    ) {
        let mut csv = String::from(H);
        for (county, precinct, office, candidate, votes, day, mail) in rows {
            let county = ["Adams", "Bucks", "Centre"][county];
            let precinct = ["P1", "P2", "", "Not Available"][precinct];
            let office = ["Mayor", "Registered Voters", "Council"][office];
            let (party, candidate) = [
                ("DEM", "Ann"),
                ("REP", "Bob"),
                ("", "Over Votes"),
                ("", "Under Votes"),
                ("", "Write-ins"),
                ("GRN", "Ann"),
            ][candidate];
            let opt = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
            csv.push_str(&format!(
                "{county},{precinct},{office},,{party},{candidate},{votes},{},{}\n",
                opt(day),
                opt(mail)
            ));
        }
        let mut options = CsvOptions::new("Testland", "Test Election", "2024-11-05");
        options.danger_skip_bad_rows = lenient;
        let _ = csv_outcome(&csv, &options);
    }
}
