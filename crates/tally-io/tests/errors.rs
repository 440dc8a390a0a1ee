//! Bad input is refused with an error that names the file, the place and the rule.

use std::path::PathBuf;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("urne-tally-errors-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

fn config(sources: &str, rules: &str) -> String {
    format!(
        r#"{{"outputSettings": {{"contestName": "T"}},
            "cvrFileSources": [{sources}],
            "candidates": [{{"name": "A"}}, {{"name": "B"}}],
            "rules": {{"tiebreakMode": "useCandidateOrder", "overvoteRule": "exhaustImmediately",
                      "winnerElectionMode": "singleWinnerMajority", "numberOfWinners": "1",
                      "decimalPlacesForVoteArithmetic": "4", "maxSkippedRanksAllowed": "1",
                      "maxRankingsAllowed": "2" {rules}}}}}"#
    )
}

fn check(name: &str, config_text: &str, files: &[(&str, &str)], expect: &[&str]) {
    let dir = scratch(name);
    for (f, text) in files {
        std::fs::write(dir.join(f), text).expect("write fixture");
    }
    let path = dir.join("config.json");
    std::fs::write(&path, config_text).expect("write config");
    let err = urne_tally_io::run(&path, &dir.join("out")).expect_err("must be refused");
    let msg = err.to_string();
    for want in expect {
        assert!(msg.contains(want), "{name}: {msg:?} lacks {want:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn refusals_name_file_place_and_rule() {
    let csv = r#"{"filePath": "cvr.csv", "provider": "genericCsv", "firstVoteColumnIndex": "2", "firstVoteRowIndex": "2"}"#;
    check(
        "provider",
        &config(r#"{"filePath": "x", "provider": "punchcards"}"#, ""),
        &[],
        &[
            "config.json",
            "$.cvrFileSources[0].provider",
            "unknown provider",
        ],
    );
    check(
        "seed",
        &config(csv, r#", "tiebreakMode": "random""#)
            .replace(r#""tiebreakMode": "useCandidateOrder", "#, ""),
        &[],
        &["$.rules.randomSeed", "random seed is required"],
    );
    check(
        "unknown-candidate",
        &config(csv, ""),
        &[("cvr.csv", "id,A,C\n1,1,2\n")],
        &["cvr.csv", "row 2 column 3", "\"C\""],
    );
    check(
        "rank-too-high",
        &config(csv, ""),
        &[("cvr.csv", "id,A,B\n1,3,1\n")],
        &["cvr.csv", "row 2 column 2", "maxRankingsAllowed"],
    );
    check(
        "missing-file",
        &config(csv, ""),
        &[],
        &["cvr.csv", "does not exist"],
    );
}
