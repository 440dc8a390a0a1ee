//! Record validation: each bad field is named, as data.
mod common;

use expect_test::{Expect, expect};
use urne_roll::record::*;

fn check(edit: impl FnOnce(&mut VoterRecord), expect: Expect) {
    let mut r = common::sample();
    edit(&mut r);
    let got = match r.validate() {
        Ok(()) => "ok".to_owned(),
        Err(e) => e.to_string(),
    };
    expect.assert_eq(&got);
}

#[test]
fn sample_is_valid() {
    check(|_| {}, expect!["ok"]);
}

#[test]
fn bad_fields_are_named() {
    check(
        |r| r.voter_id = String::new(),
        expect!["voter_id: required"],
    );
    check(
        |r| r.voter_id = "V 1".into(),
        expect!["voter_id: letters, digits, - . _ only"],
    );
    check(
        |r| r.name.first = " ".into(),
        expect!["name.first: required"],
    );
    check(
        |r| r.name.last = "x".repeat(65),
        expect!["name.last: longer than 64 bytes"],
    );
    check(
        |r| r.name.middle = Some("a\u{7}b".into()),
        expect!["name.middle: contains control characters"],
    );
    check(
        |r| r.residence.zip = "9501".into(),
        expect!["residence.zip: expected five digits"],
    );
    check(
        |r| r.residence.state = "ca".into(),
        expect!["residence.state: expected a two-letter USPS code"],
    );
    check(
        |r| r.mailing.as_mut().unwrap().zip4 = Some("12".into()),
        expect!["mailing.zip4: expected four digits"],
    );
    check(
        |r| r.sensitive.ssn4 = Some("12a4".into()),
        expect!["ids.ssn4: expected four digits"],
    );
    check(
        |r| r.sensitive.dl_number = Some("D12 34".into()),
        expect!["ids.dl_number: letters, digits and - only"],
    );
    check(
        |r| r.sensitive.phone = Some("(415) 555-0123".into()),
        expect!["contact.phone: expected ten digits (NANP, no punctuation)"],
    );
    check(
        |r| r.sensitive.email = Some("ana.example.com".into()),
        expect!["contact.email: expected local@domain"],
    );
    check(
        |r| r.sensitive.dob = common::date(2009, 1, 1),
        expect!["dob: after the registration date"],
    );
    check(
        |r| r.precinct = "P/1".into(),
        expect!["precinct: letters, digits, - . _ only"],
    );
    check(
        |r| r.districts[1].id = "ad 24".into(),
        expect!["districts.id: letters, digits, - . _ : / only (an OCD-ID or local code)"],
    );
    check(
        |r| {
            let h = r.history[0].clone();
            r.history = vec![h; 257];
        },
        expect!["history: more than 256 entries"],
    );
    check(
        |r| r.language = String::new(),
        expect!["language: required"],
    );
}

#[test]
fn dates() {
    let bad: Vec<_> = [
        "2023-02-29",
        "2024-13-01",
        "1987-3-09",
        "87-03-09",
        "2024-04-31",
        "abcd-ef-gh",
    ]
    .iter()
    .map(|s| Date::parse_iso(s, "dob").is_ok())
    .collect();
    assert_eq!(bad, [false; 6]);
    let d = Date::parse_iso("2024-02-29", "dob").unwrap();
    assert_eq!(d.to_string(), "2024-02-29");
    assert_eq!(Date::EPOCH.days_since_epoch(), 0);
    assert_eq!(common::date(2000, 3, 1).days_since_epoch(), 11_017);
    assert_eq!(
        common::date(1987, 3, 9).age_on(common::date(2026, 3, 8)),
        38
    );
    assert_eq!(
        common::date(1987, 3, 9).age_on(common::date(2026, 3, 9)),
        39
    );
}

proptest::proptest! {
    #[test]
    fn days_round_trip(days in -60_000i64..2_900_000) {
        let d = Date::from_days_since_epoch(days).unwrap();
        proptest::prop_assert_eq!(d.days_since_epoch(), days);
    }
}

#[test]
fn debug_redacts_sensitive_fields() {
    let r = common::sample();
    let shown = format!("{r:?} {r:#?}");
    for secret in ["1987", "D1234567", "6789", "4155550123", "ana@example.com"] {
        assert!(!shown.contains(secret), "{secret} shown in Debug");
    }
    assert!(shown.contains("dob: <redacted>"));
}
