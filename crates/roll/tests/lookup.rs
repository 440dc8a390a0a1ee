//! "Am I registered?" answers: same shape and size whether found or not.
use expect_test::expect;
use urne_roll::lookup::LOOKUP_JSON_BYTES;
use urne_roll::record::{InactiveReason, RemovalReason};
use urne_roll::*;

#[test]
fn same_size_found_or_not() {
    let long_place = "É".repeat(100); // 200 bytes, the limit
    let quotes = "\"\\".repeat(16); // 32 bytes that escape to 64
    let answers = [
        LookupAnswer::not_found(),
        LookupAnswer::found(Status::Active, "P0101", "Springfield Library, 100 Oak Ave").unwrap(),
        LookupAnswer::found(Status::Inactive(InactiveReason::MailReturned), "P1", "x").unwrap(),
        LookupAnswer::found(Status::Active, &quotes, &long_place).unwrap(),
        LookupAnswer::found(Status::Active, &"9".repeat(32), &"\"".repeat(200)).unwrap(),
        LookupAnswer::found(Status::Cancelled(RemovalReason::Death), "P0101", "Library").unwrap(),
    ];
    for a in &answers {
        assert_eq!(a.to_json().len(), LOOKUP_JSON_BYTES, "{a:?}");
    }
    let keys = |j: &str| -> Vec<String> {
        j.split(",\"")
            .map(|kv| {
                kv.trim_start_matches("{\"")
                    .split('"')
                    .next()
                    .unwrap_or("")
                    .to_owned()
            })
            .collect()
    };
    for a in &answers[1..] {
        assert_eq!(keys(&a.to_json()), keys(&answers[0].to_json()));
    }
    assert_eq!(
        answers[5],
        LookupAnswer::not_found(),
        "cancelled answers as not registered"
    );
    expect![[r#"{"v":1,"registered":false,"status":"not-registered","precinct":"","polling_place":"","pad":"#]]
        .assert_eq(answers[0].to_json().trim_end_matches(['"', '}', ' ']));
    expect![[r#"{"v":1,"registered":true,"status":"active","precinct":"P0101","polling_place":"Springfield Library, 100 Oak Ave","pad":"#]]
        .assert_eq(answers[1].to_json().trim_end_matches(['"', '}', ' ']));
    assert!(answers[0].to_json().ends_with(" \"}"));
}

#[test]
fn refuses_over_limit_or_control_characters() {
    expect!["polling_place: longer than 200 bytes"].assert_eq(
        &LookupAnswer::found(Status::Active, "P1", &"x".repeat(201))
            .unwrap_err()
            .to_string(),
    );
    expect!["precinct: contains control characters"].assert_eq(
        &LookupAnswer::found(Status::Active, "P\n1", "x")
            .unwrap_err()
            .to_string(),
    );
}
