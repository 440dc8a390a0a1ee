//! The synthetic generator: valid, seedable, plausible.
mod common;

use std::collections::{HashMap, HashSet};

use expect_test::expect;
use urne_roll::record::Status;
use urne_roll::synth::{Synth, election_day};

#[test]
fn seeded_and_valid() {
    let as_of = common::date(2026, 11, 24);
    let a: Vec<_> = {
        let mut s = Synth::new(42, as_of, "CA");
        (0..2000).map(|_| s.record()).collect()
    };
    let mut s = Synth::new(42, as_of, "CA");
    let b: Vec<_> = (0..2000).map(|_| s.record()).collect();
    assert_eq!(a, b, "same seed, same records");
    let mut other = Synth::new(43, as_of, "CA");
    assert_ne!(other.record(), a[0]);

    let ids: HashSet<_> = a.iter().map(|r| r.voter_id.clone()).collect();
    assert_eq!(ids.len(), a.len());
    let mut status = HashMap::new();
    for r in &a {
        r.validate().unwrap();
        let age = r.sensitive.dob.age_on(as_of);
        assert!((18..=100).contains(&age), "age {age}");
        assert!(r.registered_on >= r.sensitive.dob && r.registered_on <= as_of);
        assert!(
            r.history
                .iter()
                .all(|h| h.date >= r.registered_on && h.date <= as_of)
        );
        let k = match r.status {
            Status::Active => "active",
            Status::Inactive(_) => "inactive",
            Status::Cancelled(_) => "cancelled",
        };
        *status.entry(k).or_insert(0) += 1;
    }
    // About 85% active, 10% inactive, 5% cancelled.
    assert!((1600..1800).contains(&status["active"]), "{status:?}");
    assert!((130..270).contains(&status["inactive"]), "{status:?}");
    assert!((50..150).contains(&status["cancelled"]), "{status:?}");
}

#[test]
fn first_record_shape() {
    let mut s = Synth::new(1, common::date(2026, 11, 24), "CA");
    let r = s.record();
    expect![[r#"
        VoterRecord {
            voter_id: "V000000001",
            name: Name {
                first: "Sarah",
                middle: Some(
                    "Leilani",
                ),
                last: "Wilson",
                suffix: None,
            },
            residence: Address {
                line1: "836 El Camino Real",
                line2: Some(
                    "Apt 36",
                ),
                city: "Madison",
                state: "CA",
                zip: "95763",
                zip4: Some(
                    "1311",
                ),
            },
            mailing: None,
            sensitive: Sensitive {
                dob: <redacted>,
                dl_number: <redacted>,
                ssn4: <redacted>,
                phone: <redacted>,
                email: None,
            },
            party: Some(
                Party(
                    "LIB",
                ),
            ),
            status: Cancelled(
                NoticeUnansweredAndTwoGenerals,
            ),
            registered_on: Date {
                year: 1990,
                month: 6,
                day: 20,
            },
            precinct: "P0281",
            districts: [
                District {
                    kind: Congressional,
                    id: "cd-1",
                },
                District {
                    kind: StateSenate,
                    id: "sd-2",
                },
                District {
                    kind: StateHouse,
                    id: "ad-3",
                },
            ],
            language: "en",
            history: [
                Participation {
                    election_id: "2006-general",
                    date: Date {
                        year: 2006,
                        month: 11,
                        day: 7,
                    },
                    method: ElectionDay,
                },
                Participation {
                    election_id: "2008-general",
                    date: Date {
                        year: 2008,
                        month: 11,
                        day: 4,
                    },
                    method: ElectionDay,
                },
                Participation {
                    election_id: "2012-general",
                    date: Date {
                        year: 2012,
                        month: 11,
                        day: 6,
                    },
                    method: Early,
                },
                Participation {
                    election_id: "2014-general",
                    date: Date {
                        year: 2014,
                        month: 11,
                        day: 4,
                    },
                    method: Mail,
                },
                Participation {
                    election_id: "2016-general",
                    date: Date {
                        year: 2016,
                        month: 11,
                        day: 8,
                    },
                    method: Provisional,
                },
                Participation {
                    election_id: "2018-general",
                    date: Date {
                        year: 2018,
                        month: 11,
                        day: 6,
                    },
                    method: Mail,
                },
            ],
        }"#]]
    .assert_eq(&format!("{r:#?}"));
}

#[test]
fn election_days() {
    let days: Vec<String> = [2020, 2022, 2024, 2026, 2028]
        .iter()
        .map(|y| election_day(*y).to_string())
        .collect();
    assert_eq!(
        days,
        [
            "2020-11-03",
            "2022-11-08",
            "2024-11-05",
            "2026-11-03",
            "2028-11-07"
        ]
    );
}
