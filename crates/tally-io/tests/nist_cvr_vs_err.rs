//! Issue 5: tallying the CVRs of NIST's six synthetic test elections (SP 1500-103, from
//! `usnistgov/cdf-test-method`) must give the totals of their ERR results files (SP 1500-100).
//! Every CVR form (JSON, XML) is compared with every ERR form, contest by contest, choice by
//! choice, unit by unit (and round by round), over- and undervotes included; all mismatches are
//! reported together. Only vote counts and over/undervotes are compared: the ERR's unit facts
//! (registered voters, ballots cast) are not in the CVRs. Mismatches listed in
//! `nist_cvr_vs_err_known.txt` (as `election contest: reason`) are allowed; the list may only
//! shrink: a listed contest that matches fails this test until it is removed.

use std::collections::BTreeMap;
use std::path::Path;

use urne_results::{Contest, NistOptions, Snapshot, VoteCount, import_nist_json, import_nist_xml};

const ELECTIONS: [&str; 6] = [
    "gen-01", "gen-02", "gen-03", "prim-01", "prim-02", "prim-03",
];

fn import_err(file: &Path) -> Snapshot {
    let f = std::fs::File::open(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let name = file.display().to_string();
    let imported = if file.extension().is_some_and(|e| e == "xml") {
        import_nist_xml(&name, f, &NistOptions::default())
    } else {
        import_nist_json(&name, f, &NistOptions::default())
    };
    imported
        .unwrap_or_else(|e| panic!("{e}"))
        .snapshot
        .into_inner()
}

/// Every ERR count the tally must reproduce, as `key -> (ERR, tally)`, grouped by contest.
fn compare(err: &Snapshot, got: &Snapshot, out: &mut BTreeMap<String, Vec<String>>) {
    for want in &err.contests {
        let mut lines = Vec::new();
        let Some(have) = got.contest(&want.id) else {
            lines.push("contest not in the CVRs".to_owned());
            out.insert(want.id.clone(), lines);
            continue;
        };
        // Counts name units and choices by position, which differ between the two snapshots:
        // compare by ids.
        let key = |s: &Snapshot, c: &Contest, vc: &VoteCount| {
            let (unit, choice) = (s.unit_id(vc.unit).to_owned(), c.choice_id(vc.choice));
            (unit, choice.to_owned(), vc.kind, vc.round)
        };
        for vc in &want.counts {
            let found = have
                .counts
                .iter()
                .find(|c| key(got, have, c) == key(err, want, vc));
            if found.map(|c| c.votes) != Some(vc.votes) {
                lines.push(format!(
                    "choice {} unit {} {} round {:?}: ERR {}, tally {:?}",
                    want.choice_id(vc.choice),
                    err.unit_id(vc.unit),
                    vc.kind,
                    vc.round,
                    vc.votes,
                    found.map(|c| c.votes)
                ));
            }
        }
        for oc in &want.other_counts {
            let found = have.other_counts.iter().find(|c| c.key() == oc.key());
            for (what, w, h) in [
                ("overvotes", oc.overvotes, found.and_then(|f| f.overvotes)),
                (
                    "undervotes",
                    oc.undervotes,
                    found.and_then(|f| f.undervotes),
                ),
            ] {
                if w.is_some() && w != h {
                    lines.push(format!(
                        "unit {} {} {what}: ERR {w:?}, tally {h:?}",
                        oc.unit, oc.kind
                    ));
                }
            }
        }
        if !lines.is_empty() {
            out.insert(want.id.clone(), lines);
        }
    }
}

#[test]
fn nist_synthetic_cvr_tallies_equal_err_results() {
    let Some(nist) =
        urne_testdata::shared_data("nist_synthetic_cvr_tallies_equal_err_results", "nist")
    else {
        return;
    };
    let cvr_root = nist.join("cast-vote-records-sp1500-103/examples/cdf-test-method/synthetic");
    let err_root =
        nist.join("election-results-reporting-sp1500-100-v2/examples/cdf-test-method/synthetic");
    let known = urne_testdata::known_list(include_str!("nist_cvr_vs_err_known.txt"));
    let mut report = Vec::new();
    let mut mismatched: BTreeMap<String, usize> = BTreeMap::new();
    let mut compared = 0;
    for election in ELECTIONS {
        let mut forms: Vec<(&str, Snapshot)> = Vec::new();
        for cvr_ext in ["json", "xml"] {
            let cvr = cvr_root.join(format!("{election}/cvr_v1/cvr-{election}.{cvr_ext}"));
            if !cvr.is_file() {
                continue;
            }
            let got = match urne_tally_io::tally_cdf_report(&cvr) {
                Ok(s) => s.into_inner(),
                Err(e) => {
                    report.push(format!("{election} {cvr_ext}: tally failed: {e}"));
                    continue;
                }
            };
            for err_ext in ["json", "xml"] {
                let err = err_root.join(format!("{election}/err_v2/err-{election}.{err_ext}"));
                if !err.is_file() {
                    continue;
                }
                compared += 1;
                let mut out = BTreeMap::new();
                compare(&import_err(&err), &got, &mut out);
                for (contest, lines) in out {
                    let key = format!("{election} {contest}");
                    *mismatched.entry(key.clone()).or_default() += 1;
                    if known.iter().any(|(k, _)| *k == key) {
                        continue;
                    }
                    for l in lines {
                        report.push(format!("{key} (CVR {cvr_ext}, ERR {err_ext}): {l}"));
                    }
                }
            }
            forms.push((cvr_ext, got));
        }
        // The JSON and XML forms of one deck must give the same counts. (Names may differ:
        // gen-02's JSON spells a candidate "Edris Thomas " where the XML reader trims.)
        let counts = |s: &Snapshot| -> Vec<_> {
            s.contests
                .iter()
                .map(|c| {
                    let by_id: Vec<_> = c
                        .counts
                        .iter()
                        .map(|vc| {
                            let (unit, choice) = (s.unit_id(vc.unit), c.choice_id(vc.choice));
                            (
                                unit.to_owned(),
                                choice.to_owned(),
                                vc.kind,
                                vc.round,
                                vc.votes,
                            )
                        })
                        .collect();
                    (c.id.clone(), by_id, c.other_counts.clone())
                })
                .collect()
        };
        if let [(a, first), rest @ ..] = forms.as_slice() {
            for (b, other) in rest {
                if counts(first) != counts(other) {
                    report.push(format!("{election}: CVR {a} and CVR {b} tally differently"));
                }
            }
        }
    }
    assert!(
        compared > 0,
        "no CVR/ERR pairs found under {}",
        nist.display()
    );
    for (key, reason) in &known {
        if !mismatched.contains_key(key) {
            report.push(format!(
                "{key} now matches; remove it from nist_cvr_vs_err_known.txt ({reason})"
            ));
        }
    }
    assert!(
        report.is_empty(),
        "{} problems:\n{}",
        report.len(),
        report.join("\n")
    );
}

/// A hand-made deck whose RCV contest needs two rounds (the NIST gen-02 contest is decided in
/// round 1), plus a vote-for-2 contest with an overvote: the snapshot carries the core's IRV
/// rounds for the scope unit and the records' own over/undervotes.
#[test]
fn cdf_deck_with_rcv_rounds_and_overvotes() {
    let pos = |rank: Option<u32>, alloc: &str| match rank {
        Some(r) => format!(
            r#"{{"HasIndication":"yes","IsAllocable":"{alloc}","NumberVotes":1,"Rank":{r}}}"#
        ),
        None => format!(r#"{{"HasIndication":"yes","IsAllocable":"{alloc}","NumberVotes":1}}"#),
    };
    let sel = |id: &str, p: String| {
        format!(r#"{{"ContestSelectionId":"{id}","SelectionPosition":[{p}]}}"#)
    };
    let ranked = |unit: &str, ranks: &[&str], vote2: &str| {
        let sels: Vec<String> = ranks
            .iter()
            .enumerate()
            .map(|(i, c)| sel(c, pos(Some(i as u32 + 1), "yes")))
            .collect();
        format!(
            r#"{{"BallotStyleUnitId":"{unit}","CurrentSnapshotId":"s","CVRSnapshot":[{{"@id":"s",
                "CVRContest":[{{"ContestId":"rcv","CVRContestSelection":[{}]}},{vote2}]}}]}}"#,
            sels.join(",")
        )
    };
    let two = |marks: &[(&str, &str)], over: u32, under: u32| {
        let sels: Vec<String> = marks.iter().map(|(c, a)| sel(c, pos(None, a))).collect();
        format!(
            r#"{{"ContestId":"v2","Overvotes":{over},"Undervotes":{under},
                "CVRContestSelection":[{}]}}"#,
            sels.join(",")
        )
    };
    let cvrs = [
        ranked("p1", &["a", "b"], &two(&[("x", "yes"), ("y", "yes")], 0, 0)),
        ranked("p1", &["a"], &two(&[("x", "yes")], 0, 1)),
        ranked(
            "p2",
            &["b", "c"],
            &two(&[("x", "no"), ("y", "no"), ("z", "no")], 2, 0),
        ),
        ranked("p2", &["c", "b"], &two(&[], 0, 2)),
        ranked("p2", &["c"], &two(&[("z", "yes"), ("y", "yes")], 0, 0)),
    ];
    let choices = |ids: &[&str]| -> String {
        let v: Vec<String> = ids.iter().map(|i| format!(r#"{{"@id":"{i}"}}"#)).collect();
        v.join(",")
    };
    let deck = format!(
        r#"{{"@type":"CVR.CastVoteRecordReport",
            "GpUnit":[{{"@id":"county","Type":"county"}},{{"@id":"p1","Type":"precinct"}},
                      {{"@id":"p2","Type":"precinct"}}],
            "Election":[{{"@id":"e","ElectionScopeId":"county","Contest":[
              {{"@id":"rcv","@type":"CVR.CandidateContest","VoteVariation":"rcv","VotesAllowed":1,
                "ContestSelection":[{}]}},
              {{"@id":"v2","@type":"CVR.CandidateContest","VoteVariation":"n-of-m","VotesAllowed":2,
                "ContestSelection":[{}]}}]}}],
            "CVR":[{}]}}"#,
        choices(&["a", "b", "c"]),
        choices(&["x", "y", "z"]),
        cvrs.join(",")
    );
    let dir = std::env::temp_dir().join(format!("urne-cdf-tally-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let file = dir.join("deck.json");
    std::fs::write(&file, deck).expect("write deck");
    let snapshot = urne_tally_io::tally_cdf_report(&file).expect("tally");
    let _ = std::fs::remove_dir_all(&dir);
    let snapshot = &snapshot;
    let lines: Vec<String> = snapshot
        .contests
        .iter()
        .flat_map(|c| {
            let counts = c.counts.iter().map(move |v| {
                let round = v.round.map(|r| format!(" round {r}")).unwrap_or_default();
                let (unit, choice) = (snapshot.unit_id(v.unit), c.choice_id(v.choice));
                format!("{} {unit} {choice}{round}: {}", c.id, v.votes)
            });
            let other = c.other_counts.iter().map(move |o| {
                format!(
                    "{} {} over {:?} under {:?}",
                    c.id, o.unit, o.overvotes, o.undervotes
                )
            });
            counts.chain(other).collect::<Vec<_>>()
        })
        .collect();
    let want = [
        // First choices per unit; then round 1 (a 2, b 1, c 2: no majority of 5), b is
        // eliminated and its ballot moves to c: round 2 a 2, c 3.
        "rcv county a: 2",
        "rcv county a round 1: 2",
        "rcv county a round 2: 2",
        "rcv county b: 1",
        "rcv county b round 1: 1",
        "rcv county c: 2",
        "rcv county c round 1: 2",
        "rcv county c round 2: 3",
        "rcv p1 a: 2",
        "rcv p1 b: 0",
        "rcv p1 c: 0",
        "rcv p2 a: 0",
        "rcv p2 b: 1",
        "rcv p2 c: 2",
        "rcv county over Some(0) under Some(0)",
        "rcv p1 over Some(0) under Some(0)",
        "rcv p2 over Some(0) under Some(0)",
        // Not-allocable (overvoted) marks count for nobody; the record's counts are summed.
        "v2 county x: 2",
        "v2 county y: 2",
        "v2 county z: 1",
        "v2 p1 x: 2",
        "v2 p1 y: 1",
        "v2 p1 z: 0",
        "v2 p2 x: 0",
        "v2 p2 y: 1",
        "v2 p2 z: 1",
        "v2 county over Some(2) under Some(3)",
        "v2 p1 over Some(0) under Some(1)",
        "v2 p2 over Some(2) under Some(2)",
    ];
    let got: Vec<&str> = lines.iter().map(String::as_str).collect();
    assert_eq!(got, want, "got:\n{}", lines.join("\n"));
}
