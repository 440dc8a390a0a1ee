//! "Am I registered?" answers: same shape and size whether found or not.
use expect_test::expect;
use urne_roll::lookup::LOOKUP_JSON_BYTES;
use urne_roll::lookup::PublicStatus;
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

mod common;

#[test]
fn query_validation() {
    use urne_roll::lookup::LookupQuery;
    let out: String = [
        LookupQuery::new("Cruz", "Ana", "1987-03-09", "95014").map(|_| ()),
        LookupQuery::new("Cruz", "Ana", "1987-03-09", "95014-1234").map(|_| ()),
        LookupQuery::new("--", "Ana", "1987-03-09", "95014").map(|_| ()),
        LookupQuery::new("Cruz", "Ana", "03/09/1987", "95014").map(|_| ()),
        LookupQuery::new("Cruz", "Ana", "1987-03-09", "9501").map(|_| ()),
        LookupQuery::new("Cruz", &"a".repeat(65), "1987-03-09", "95014").map(|_| ()),
    ]
    .iter()
    .map(|r| match r {
        Ok(()) => "ok\n".to_owned(),
        Err(e) => format!("{e}\n"),
    })
    .collect();
    expect![[r#"
        ok
        ok
        last: required
        dob: expected a real date as YYYY-MM-DD
        zip: expected five digits
        first: longer than 64 bytes
    "#]]
    .assert_eq(&out);
    let q = LookupQuery::new("Cruz", "Ana", "1987-03-09", "95014").unwrap();
    assert_eq!(format!("{q:?}"), "LookupQuery(<redacted>)");
}

#[test]
fn answer_from_candidates() {
    use urne_roll::lookup::{LookupQuery, answer};
    let master = MasterKey::from_bytes([3; 32]);
    let data = DataKey::generate(&mut common::rng(1));
    let keys = IndexKeys::derive(&master);
    let cipher = data.cipher();
    let mut rng = common::rng(2);
    let rec = common::sample();
    let (sealed, ix) = seal_record(&rec, &cipher, &keys, &mut rng).unwrap();
    let mut cancelled = rec.clone();
    cancelled.voter_id = "V9".into();
    cancelled.status = Status::Cancelled(RemovalReason::Duplicate);
    let (sealed_cancelled, _) = seal_record(&cancelled, &cipher, &keys, &mut rng).unwrap();
    let place = |p: &str| format!("Polling place for {p}");

    let q = LookupQuery::new("de la CRUZ", "ana", "1987-03-09", "95014-0000").unwrap();
    assert_eq!(q.index(&keys), Some(ix.registered));
    let found = answer(
        &q,
        &[sealed_cancelled.clone(), sealed.clone()],
        &cipher,
        place,
    );
    assert_eq!(found.status(), PublicStatus::Active);
    assert_eq!(found.polling_place(), "Polling place for P0101");
    // Only a cancelled record: not registered.
    assert_eq!(
        answer(&q, &[sealed_cancelled], &cipher, place),
        LookupAnswer::not_found()
    );
    // An index collision (a candidate that does not match on plaintext) is not an answer.
    let other = LookupQuery::new("Cruz", "Ana", "1987-03-10", "95014").unwrap();
    assert_eq!(
        answer(&other, std::slice::from_ref(&sealed), &cipher, place),
        LookupAnswer::not_found()
    );
    // A candidate that fails to open is skipped.
    let mut broken = sealed;
    broken.dob[5] ^= 1;
    assert_eq!(
        answer(&q, &[broken], &cipher, place),
        LookupAnswer::not_found()
    );
}
