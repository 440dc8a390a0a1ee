//! Shared fixtures.
#![allow(dead_code)]

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use urne_roll::record::*;

pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

pub fn date(y: u16, m: u8, d: u8) -> Date {
    Date::new(y, m, d).expect("fixture date")
}

/// A complete record with every optional field present.
pub fn sample() -> VoterRecord {
    VoterRecord {
        voter_id: "V000000042".into(),
        name: Name {
            first: "Ana".into(),
            middle: Some("Luisa".into()),
            last: "De La Cruz".into(),
            suffix: None,
        },
        residence: Address {
            line1: "123 Main St".into(),
            line2: Some("Apt 4".into()),
            city: "Springfield".into(),
            state: "CA".into(),
            zip: "95014".into(),
            zip4: Some("1234".into()),
        },
        mailing: Some(Address {
            line1: "PO Box 77".into(),
            line2: None,
            city: "Springfield".into(),
            state: "CA".into(),
            zip: "95014".into(),
            zip4: None,
        }),
        sensitive: Sensitive {
            dob: date(1987, 3, 9),
            dl_number: Some("D1234567".into()),
            ssn4: Some("6789".into()),
            phone: Some("4155550123".into()),
            email: Some("ana@example.com".into()),
        },
        party: Some(Party("DEM".into())),
        status: Status::Active,
        registered_on: date(2008, 10, 1),
        precinct: "P0101".into(),
        districts: vec![
            District {
                kind: DistrictKind::Congressional,
                id: "ocd-division/country:us/state:ca/cd:17".into(),
            },
            District {
                kind: DistrictKind::StateHouse,
                id: "ad-24".into(),
            },
        ],
        language: "es".into(),
        history: vec![Participation {
            election_id: "2024-general".into(),
            date: date(2024, 11, 5),
            method: VoteMethod::Mail,
        }],
    }
}
