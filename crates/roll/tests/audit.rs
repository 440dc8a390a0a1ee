//! The change-event hash chains: any edit, deletion, reorder or insertion is caught.
mod common;

use expect_test::{Expect, expect};
use urne_roll::audit::{AdditionSource, UpdateReason};
use urne_roll::record::RemovalReason;
use urne_roll::*;

fn draft(voter: &str, at: u64, reason: ReasonCode) -> EventDraft {
    EventDraft {
        voter_id: voter.into(),
        actor: "clerk-1".into(),
        approver: None,
        at,
        reason,
        before: (reason.kind() != ChangeKind::Addition)
            .then(|| format!("before {voter} {at}").into_bytes()),
        after: Some(Snapshot::Sealed(format!("after {voter} {at}").into_bytes())),
    }
}

/// Five events over two voters.
fn history() -> Vec<ChangeEvent> {
    let mut chain = AuditChain::default();
    [
        draft("V1", 100, ReasonCode::Add(AdditionSource::MotorVehicle)),
        draft("V2", 110, ReasonCode::Add(AdditionSource::Online)),
        draft("V1", 120, ReasonCode::Update(UpdateReason::AddressChange)),
        draft("V2", 130, ReasonCode::Update(UpdateReason::PartyChange)),
        draft("V1", 140, ReasonCode::Remove(RemovalReason::Death)),
    ]
    .into_iter()
    .map(|d| chain.append(d).unwrap())
    .collect()
}

fn check(tamper: impl FnOnce(&mut Vec<ChangeEvent>), expect: Expect) {
    let mut evs = history();
    let trusted = verify_chain(&evs).unwrap().tip();
    tamper(&mut evs);
    let got = match verify_chain(&evs).and_then(|c| c.expect_tip(trusted)) {
        Ok(c) => format!("ok, {} events", c.tip().len),
        Err(e) => e.to_string(),
    };
    expect.assert_eq(&got);
}

#[test]
fn untouched_history_verifies() {
    check(|_| {}, expect!["ok, 5 events"]);
}

#[test]
fn edits_are_caught() {
    check(
        |e| e[1].draft.actor = "mallory".into(),
        expect!["event 2: prev_hash does not match event 1 (edited or replaced)"],
    );
    check(
        |e| e[0].draft.after = None,
        expect!["event 1: prev_hash does not match event 0 (edited or replaced)"],
    );
    check(
        |e| e[2].draft.reason = ReasonCode::Remove(RemovalReason::NonVoting),
        expect!["event 3: prev_hash does not match event 2 (edited or replaced)"],
    );
    // The last event has no successor; the trusted tip from the public log catches it.
    check(
        |e| e[4].draft.at = 141,
        expect!["chain ends at 5 events with a different head than the trusted one (5)"],
    );
}

#[test]
fn deletions_are_caught() {
    check(
        |e| drop(e.remove(2)),
        expect!["event at position 2 has seq 3 (deleted, inserted or reordered)"],
    );
    check(
        |e| drop(e.remove(0)),
        expect!["event at position 0 has seq 1 (deleted, inserted or reordered)"],
    );
    check(
        |e| drop(e.pop()),
        expect!["chain ends at 4 events with a different head than the trusted one (5)"],
    );
}

#[test]
fn deletion_with_renumbering_is_caught() {
    // Removing an event and renumbering the rest still breaks the hash links.
    check(
        |e| {
            e.remove(1);
            for (i, ev) in e.iter_mut().enumerate() {
                ev.seq = i as u64;
            }
        },
        expect!["event 1: prev_hash does not match event 0 (edited or replaced)"],
    );
}

#[test]
fn reorders_are_caught() {
    check(
        |e| e.swap(1, 2),
        expect!["event at position 1 has seq 2 (deleted, inserted or reordered)"],
    );
    check(
        |e| {
            e.swap(1, 2);
            e[1].seq = 1;
            e[2].seq = 2;
        },
        expect!["event 1: prev_hash does not match event 0 (edited or replaced)"],
    );
}

#[test]
fn insertions_are_caught() {
    check(
        |e| {
            let forged = e[1].clone();
            e.insert(2, forged);
        },
        expect!["event at position 2 has seq 1 (deleted, inserted or reordered)"],
    );
    // A well-formed forged event appended after the real tip verifies as a chain, but not
    // against the trusted tip.
    check(
        |e| {
            let mut chain = AuditChain::default();
            let mut rebuilt: Vec<_> = e
                .iter()
                .map(|ev| chain.append(ev.draft.clone()).unwrap())
                .collect();
            rebuilt.push(
                chain
                    .append(draft(
                        "V2",
                        150,
                        ReasonCode::Remove(RemovalReason::VoterRequest),
                    ))
                    .unwrap(),
            );
            *e = rebuilt;
        },
        expect!["chain ends at 6 events with a different head than the trusted one (5)"],
    );
}

#[test]
fn voter_chain_is_checked() {
    // Rewrite one voter's link while keeping the global chain consistent from there on.
    check(
        |e| {
            e[2].prev_voter_hash = [0; 32];
            let mut prev = e[2].hash();
            for ev in e.iter_mut().skip(3) {
                ev.prev_hash = prev;
                prev = ev.hash();
            }
        },
        expect!["event 2: voter history broken (voter_seq or prev_voter_hash)"],
    );
}

#[test]
fn time_never_goes_back() {
    let mut chain = AuditChain::default();
    let evs = vec![
        chain
            .append(draft("V1", 200, ReasonCode::Add(AdditionSource::Mail)))
            .unwrap(),
        chain
            .append(draft("V2", 199, ReasonCode::Add(AdditionSource::Mail)))
            .unwrap(),
    ];
    expect!["event 1: time earlier than the event before"]
        .assert_eq(&verify_chain(&evs).unwrap_err().to_string());
}

#[test]
fn event_golden_bytes_and_round_trip() {
    let evs = history();
    for ev in &evs {
        assert_eq!(&ChangeEvent::decode(&ev.encode()).unwrap(), ev);
    }
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    expect!["55524345010000000000000000000000025631000000000000000000000007636c65726b2d31000000000000000064006500010000000c61667465722056312031303000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"]
        .assert_eq(&hex(&evs[0].encode()));
    expect!["149e0355c1491de09615f3cce500fb57f4536e27565d2bb821feca12448f0a0c"]
        .assert_eq(&hex(&evs[4].hash()));
    let mut bad = evs[0].encode();
    bad.push(0);
    assert!(ChangeEvent::decode(&bad).is_err());
}

#[test]
fn reason_codes_are_stable() {
    let table: String = ReasonCode::all()
        .iter()
        .map(|r| format!("{} {}\n", r.code(), r.name()))
        .collect();
    expect![[r#"
        101 add/motor-vehicle
        102 add/mail
        103 add/agency
        104 add/online
        105 add/in-person
        201 change/address
        202 change/name
        203 change/party
        204 change/made-inactive
        205 change/reactivated
        206 change/correction
        207 change/voting-history
        301 remove/voter-request
        302 remove/death
        303 remove/criminal-conviction
        304 remove/mental-incapacity
        305 remove/notice-unanswered-two-generals
        306 remove/list-maintenance
        307 remove/duplicate
        308 remove/non-voting
    "#]]
    .assert_eq(&table);
    for r in ReasonCode::all() {
        assert_eq!(ReasonCode::from_code(r.code()), Some(r));
    }
    assert_eq!(ReasonCode::from_code(100), None);
    assert_eq!(ReasonCode::from_code(309), None);
}

#[test]
fn removal_events_come_from_checks() {
    use urne_roll::rules::{BulkPolicy, Role, Staff, approve_change, check_removal};
    let sup = Staff {
        id: "sup-a".into(),
        role: Role::Supervisor,
    };
    let sup2 = Staff {
        id: "sup-b".into(),
        role: Role::Supervisor,
    };
    let allowed = check_removal(
        RemovalReason::Death,
        common::date(2026, 10, 20),
        &[common::date(2026, 11, 3)],
    )
    .unwrap();
    let approved = approve_change(
        BulkPolicy {
            records_without_approver_max: 10,
        },
        500,
        &sup,
        Some(&sup2),
    )
    .unwrap();
    let d = EventDraft::removal(
        "V1",
        &sup.id,
        5,
        allowed,
        &approved,
        b"b".to_vec(),
        b"a".to_vec(),
    );
    assert_eq!(d.reason, ReasonCode::Remove(RemovalReason::Death));
    assert_eq!(d.approver.as_deref(), Some("sup-b"));
}

#[test]
fn drafts_over_limits_are_refused() {
    let mut chain = AuditChain::default();
    let mut d = draft("V1", 1, ReasonCode::Add(AdditionSource::Mail));
    d.voter_id = "V".repeat(33);
    expect!["voter_id: longer than 32 bytes"].assert_eq(&chain.append(d).unwrap_err().to_string());
    let mut d = draft("V1", 1, ReasonCode::Add(AdditionSource::Mail));
    d.actor = String::new();
    expect!["actor: required"].assert_eq(&chain.append(d).unwrap_err().to_string());
    assert_eq!(chain.tip(), Tip::default(), "nothing linked");
}
