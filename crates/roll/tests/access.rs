//! The PII access log.
use expect_test::expect;
use urne_roll::access::{AccessEvent, verify_access_log};
use urne_roll::rules::{Action, Role, Staff, authorize};
use urne_roll::*;

fn log() -> Vec<AccessEvent> {
    let clerk = Staff {
        id: "clerk-1".into(),
        role: Role::Clerk,
    };
    let mut tip = Tip::default();
    let mut out = Vec::new();
    for (i, (action, voter)) in [
        (Action::ReadPii, Some("V1")),
        (Action::Read, Some("V2")),
        (Action::Edit, Some("V1")),
    ]
    .into_iter()
    .enumerate()
    {
        let ok = authorize(&clerk, action).unwrap();
        let ev =
            AccessEvent::record(tip, ok, &clerk.id, 1_000 + i as u64, voter, "case 17").unwrap();
        tip = Tip {
            len: tip.len + 1,
            head: ev.hash(),
        };
        out.push(ev);
    }
    out
}

#[test]
fn access_log_chain() {
    let evs = log();
    let tip = verify_access_log(&evs).unwrap();
    assert_eq!(tip.len, 3);
    for ev in &evs {
        assert_eq!(&AccessEvent::decode(&ev.encode()).unwrap(), ev);
    }
    let hex: String = evs[0].encode().iter().map(|b| format!("{b:02x}")).collect();
    expect!["5552414502000000000000000000000007636c65726b2d3100000000000003e8020100000002563100000007636173652031370000000000000000000000000000000000000000000000000000000000000000"].assert_eq(&hex);
    let mut edited = evs.clone();
    edited[0].voter_id = Some("V2".into());
    expect!["access log broken at position 1 (deleted, inserted, reordered or edited)"]
        .assert_eq(&verify_access_log(&edited).unwrap_err().to_string());
    let mut repurposed = evs.clone();
    repurposed[1].purpose = "curiosity".into();
    expect!["access log broken at position 2 (deleted, inserted, reordered or edited)"]
        .assert_eq(&verify_access_log(&repurposed).unwrap_err().to_string());
    let mut deleted = evs.clone();
    deleted.remove(1);
    assert!(verify_access_log(&deleted).is_err());
    let mut swapped = evs;
    swapped.swap(0, 1);
    assert!(verify_access_log(&swapped).is_err());
}
