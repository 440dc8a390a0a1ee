//! Regression tests, named after what went wrong.

use urne_results::{NistOptions, ProblemKind, import_nist_json_bytes};

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
