//! The roll digest: counts, commitment, canonical text.
mod common;

use std::collections::BTreeMap;

use expect_test::expect;
use sha2::{Digest, Sha256};
use urne_roll::audit::{AdditionSource, UpdateReason};
use urne_roll::digest::{record_commitment, roll_root};
use urne_roll::record::RemovalReason;
use urne_roll::synth::Synth;
use urne_roll::*;

fn sample_digest() -> RollDigest {
    let commitments: Vec<_> = (0u8..5).map(|i| record_commitment(&[i; 40])).collect();
    let (root, records) = roll_root(&commitments).unwrap();
    let mut counts = BTreeMap::new();
    counts.insert(ReasonCode::Remove(RemovalReason::Death), 3);
    counts.insert(ReasonCode::Add(AdditionSource::MotorVehicle), 12);
    counts.insert(ReasonCode::Update(UpdateReason::AddressChange), 7);
    counts.insert(ReasonCode::Add(AdditionSource::Online), 2);
    counts.insert(ReasonCode::Remove(RemovalReason::VoterRequest), 0);
    RollDigest {
        roll_id: "ca-example-county".into(),
        period_start: 1_795_996_800,
        period_end: 1_796_083_200,
        records,
        root,
        audit: Tip {
            len: 24,
            head: [0xab; 32],
        },
        access: Tip {
            len: 310,
            head: [0xcd; 32],
        },
        counts,
    }
}

#[test]
fn golden_text() {
    let d = sample_digest();
    let text = d.encode().unwrap();
    expect![[r#"
        urne roll-digest v1
        roll ca-example-county
        period 1795996800 1796083200
        records 5
        root 55d35ed1a06b9b32f2c83116045641da6d94053a52a3f10c6e868b9f9cf059ae
        audit 24 abababababababababababababababababababababababababababababababab
        access 310 cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd
        count add/motor-vehicle 12
        count add/online 2
        count change/address 7
        count remove/death 3
    "#]]
    .assert_eq(&text);
    assert_eq!(d.total(ChangeKind::Addition), 14);
    assert_eq!(d.total(ChangeKind::Change), 7);
    assert_eq!(d.total(ChangeKind::Removal), 3);
    let mut back = RollDigest::decode(&text).unwrap();
    back.counts
        .insert(ReasonCode::Remove(RemovalReason::VoterRequest), 0);
    assert_eq!(back, d);
}

#[test]
fn encode_refuses_ambiguous_roll_ids() {
    let mut d = sample_digest();
    d.roll_id = "ca county\nroot 00".into();
    expect!["roll_id: letters, digits, . _ : / - only"]
        .assert_eq(&d.encode().unwrap_err().to_string());
    d.roll_id = "x".repeat(129);
    expect!["roll_id: longer than 128 bytes"].assert_eq(&d.encode().unwrap_err().to_string());
}

#[test]
fn decode_refuses_non_canonical() {
    let text = sample_digest().encode().unwrap();
    let cases = [
        text.replace("count add/online 2\n", "count add/online 02\n"),
        text.replace("records 5", "records  5"),
        text.trim_end().to_owned(),
        text.replace("urne roll-digest v1", "urne roll-digest v2"),
        text.replace("count remove/death 3\n", "") + "count remove/death 3\ncount add/mail 1\n",
        text.replace("remove/death", "remove/rapture"),
        text.clone() + "count add/mail 0\n",
        text.replace("root ", "root 00"),
    ];
    let out: String = cases
        .iter()
        .map(|t| RollDigest::decode(t).unwrap_err().to_string() + "\n")
        .collect();
    expect![[r#"
        invalid value: roll-digest: not a number
        invalid value: roll-digest: wrong number of values
        invalid value: roll-digest: missing final newline
        not a roll-digest (bad magic or version)
        invalid value: roll-digest: not in canonical form (order, zero counts, spacing)
        invalid value: roll-digest: unknown reason
        invalid value: roll-digest: not in canonical form (order, zero counts, spacing)
        invalid value: roll-digest: root is not 64 hex digits
    "#]]
    .assert_eq(&out);
}

#[test]
fn digest_has_no_pii() {
    // Commitments are over sealed bytes, so the digest never contains names, dates or IDs.
    let master = MasterKey::from_bytes([1; 32]);
    let data = DataKey::generate(&mut common::rng(1));
    let idx = IndexKeys::derive(&master);
    let mut s = Synth::new(3, common::date(2026, 11, 24), "CA");
    let mut rng = common::rng(2);
    let recs: Vec<_> = (0..200).map(|_| s.record()).collect();
    let commitments: Vec<_> = recs
        .iter()
        .map(|r| {
            record_commitment(
                &seal_record(r, &data.cipher(), &idx, &mut rng)
                    .unwrap()
                    .0
                    .encode(),
            )
        })
        .collect();
    let (root, n) = roll_root(&commitments).unwrap();
    let mut d = sample_digest();
    d.root = root;
    d.records = n;
    let text = d.encode().unwrap();
    for r in &recs {
        for needle in [
            &r.name.last,
            &r.voter_id,
            &r.sensitive.dob.to_string(),
            &r.residence.line1,
        ] {
            assert!(!text.contains(needle.as_str()));
        }
    }
}

fn leaf(c: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(c);
    h.finalize().into()
}

fn node(l: &[u8; 32], r: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(l);
    h.update(r);
    h.finalize().into()
}

/// RFC 6962 §2.1 MTH, recursively, as the reference.
fn mth(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves.len() {
        0 => Sha256::digest(b"").into(),
        1 => leaf(&leaves[0]),
        n => {
            let k = n.next_power_of_two() / 2;
            node(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

#[test]
fn streaming_root_matches_rfc6962() {
    for n in 0..40u32 {
        let mut cs: Vec<[u8; 32]> = (0..n)
            .map(|i| Sha256::digest(i.to_be_bytes()).into())
            .collect();
        let (root, count) = roll_root(&cs).unwrap();
        cs.sort_unstable();
        assert_eq!((root, count), (mth(&cs), u64::from(n)), "n = {n}");
    }
    let c = record_commitment(b"x");
    let mut b = RootBuilder::default();
    b.push(c).unwrap();
    expect!["record commitment 1 is not greater than the one before (unsorted or duplicate)"]
        .assert_eq(&b.push(c).unwrap_err().to_string());
    assert!(roll_root(&[c, c]).is_err());
}

proptest::proptest! {
    #[test]
    fn root_is_order_independent(set in proptest::collection::hash_set(proptest::array::uniform32(0u8..), 0..64)) {
        let mut v: Vec<[u8; 32]> = set.into_iter().collect();
        let a = roll_root(&v).unwrap();
        v.reverse();
        proptest::prop_assert_eq!(roll_root(&v).unwrap(), a);
    }

    #[test]
    fn decode_never_panics(s in "\\PC{0,300}") {
        let _ = RollDigest::decode(&s);
        let _ = RollDigest::decode(&format!("urne roll-digest v1\n{s}\n"));
    }
}
