//! Acceptance and replay as data: each scenario prints one line per step.

mod common;

use common::*;
use expect_test::{Expect, expect};
use urne_release::manifest::{Correction, MediaType, sha256};
use urne_release::{
    Chain, ChainError, DangerSkipDecreaseCheck, ENTRY_BYTES_MAX, Kind, LogState, Payload, Status,
    sign_entry, verify_entries,
};

fn check(s: Scenario, expect: Expect) {
    expect.assert_eq(&s.out);
}

#[test]
fn happy_path() {
    let mut s = Scenario::genesis(&["alice", "bob", "carol"], 2);
    s.release(
        "r0",
        Kind::Results,
        Status::Unofficial,
        "total 10",
        &["alice", "bob"],
    );
    s.release(
        "r1",
        Kind::Results,
        Status::Unofficial,
        "total 20",
        &["carol", "alice"],
    );
    s.release(
        "r2",
        Kind::Results,
        Status::Official,
        "total 20",
        &["alice", "bob", "carol"],
    );
    s.release(
        "page0",
        Kind::Page,
        Status::Official,
        "<p>hi</p>",
        &["bob", "carol"],
    );
    s.release(
        "r3",
        Kind::Results,
        Status::Certified,
        "total 21",
        &["bob", "carol"],
    );
    check(
        s,
        expect![[r#"
        genesis: accepted trust-policy #0 official by alice,bob,carol
        r0: accepted results #0 unofficial by alice,bob
        r1: accepted results #1 unofficial by carol,alice
        r2: accepted results #2 official by alice,bob,carol
        page0: accepted page #0 official by bob,carol
        r3: accepted results #3 certified by bob,carol
    "#]],
    );
}

#[test]
fn first_entry_must_be_a_policy() {
    let mut s = Scenario::default();
    s.release(
        "results first",
        Kind::Results,
        Status::Unofficial,
        "total 1",
        &["alice"],
    );
    let text = policy(&["alice", "bob"], 2).encode();
    let m = next(
        &s.state,
        Kind::TrustPolicy,
        Status::Official,
        text.as_bytes(),
    );
    s.step(
        "genesis by one of two",
        &sign(&m, &["alice"]),
        text.as_bytes(),
    );
    s.step(
        "genesis by a stranger",
        &sign(&m, &["mallory"]),
        text.as_bytes(),
    );
    s.step(
        "genesis by both",
        &sign(&m, &["alice", "bob"]),
        text.as_bytes(),
    );
    check(
        s,
        expect![[r#"
        results first: refused: the first entry of the log must be a trust policy, not results
        genesis by one of two: refused: 1 valid official signatures, the policy in force needs 2
        genesis by a stranger: refused: signature by mallory+54181baa: not an official of the policy in force
        genesis by both: accepted trust-policy #0 official by alice,bob
    "#]],
    );
}

#[test]
fn below_quorum() {
    let mut s = Scenario::genesis(&["alice", "bob", "carol"], 2);
    s.release(
        "one signature",
        Kind::Results,
        Status::Unofficial,
        "total 1",
        &["alice"],
    );
    s.release(
        "no signature",
        Kind::Results,
        Status::Unofficial,
        "total 1",
        &[],
    );
    s.release(
        "same one twice",
        Kind::Results,
        Status::Unofficial,
        "total 1",
        &["alice", "alice"],
    );
    check(
        s,
        expect![[r#"
        genesis: accepted trust-policy #0 official by alice,bob,carol
        one signature: refused: 1 valid official signatures, the policy in force needs 2
        no signature: refused: entry is not a signed note: note text does not end with a newline
        same one twice: refused: 1 valid official signatures, the policy in force needs 2
    "#]],
    );
}

#[test]
fn unknown_key() {
    let mut s = Scenario::genesis(&["alice", "bob"], 2);
    s.release(
        "stranger",
        Kind::Results,
        Status::Unofficial,
        "total 1",
        &["alice", "bob", "mallory"],
    );
    check(
        s,
        expect![[r#"
        genesis: accepted trust-policy #0 official by alice,bob
        stranger: refused: signature by mallory+54181baa: not an official of the policy in force
    "#]],
    );
}

#[test]
fn signature_invalid() {
    let mut s = Scenario::genesis(&["alice", "bob"], 2);
    let m = next(&s.state, Kind::Results, Status::Unofficial, b"total 1");
    // Bob's signature over a different manifest, pasted under this one.
    let mut other = m.clone();
    other.timestamp += 1;
    let good = String::from_utf8(sign(&m, &["alice"])).unwrap();
    let bob_line = String::from_utf8(sign(&other, &["bob"])).unwrap();
    let bob_line = bob_line.lines().last().unwrap();
    let forged = format!("{good}{bob_line}\n");
    s.step("pasted signature", forged.as_bytes(), b"total 1");
    check(
        s,
        expect![[r#"
        genesis: accepted trust-policy #0 official by alice,bob
        pasted signature: refused: signature by official bob+e8ba738b does not verify
    "#]],
    );
}

#[test]
fn stream_sequence() {
    let mut s = Scenario::genesis(&["alice", "bob"], 2);
    let r0 = next(&s.state, Kind::Results, Status::Unofficial, b"total 1");
    s.step("r0", &sign(&r0, &["alice", "bob"]), b"total 1");
    s.step("r0 again", &sign(&r0, &["alice", "bob"]), b"total 1");
    let mut skip = next(&s.state, Kind::Results, Status::Unofficial, b"total 2");
    skip.sequence += 1;
    s.step("skips one", &sign(&skip, &["alice", "bob"]), b"total 2");
    let mut late_start = next(&s.state, Kind::Cvr, Status::Unofficial, b"cvr");
    late_start.sequence = 1;
    late_start.previous = Some([7; 32]);
    s.step(
        "stream starts at 1",
        &sign(&late_start, &["alice", "bob"]),
        b"cvr",
    );
    let mut wrong_prev = next(&s.state, Kind::Results, Status::Unofficial, b"total 2");
    wrong_prev.previous = Some([7; 32]);
    s.step(
        "wrong previous",
        &sign(&wrong_prev, &["alice", "bob"]),
        b"total 2",
    );
    let mut back = next(&s.state, Kind::Results, Status::Unofficial, b"total 2");
    back.timestamp = T0 - 1;
    s.step(
        "timestamp back",
        &sign(&back, &["alice", "bob"]),
        b"total 2",
    );
    s.release(
        "r1",
        Kind::Results,
        Status::Unofficial,
        "total 2",
        &["alice", "bob"],
    );
    s.step(
        "r0 replayed after r1",
        &sign(&r0, &["alice", "bob"]),
        b"total 1",
    );
    check(
        s,
        expect![[r#"
            genesis: accepted trust-policy #0 official by alice,bob
            r0: accepted results #0 unofficial by alice,bob
            r0 again: refused: stream results 2026-11-03-general: sequence 0 is already the last release (a retry?)
            skips one: refused: stream results 2026-11-03-general: sequence 2 is out of order (expected 1)
            stream starts at 1: refused: stream cvr 2026-11-03-general: sequence 1 is out of order (expected 0)
            wrong previous: refused: stream results 2026-11-03-general: previous manifest hash is not the last release's (890363a09ca63a315407b55c025d85bc31e169e081194658f2e429fb25385916)
            timestamp back: refused: stream results 2026-11-03-general: timestamp 1793750399 is before the last release's 1793750460
            r1: accepted results #1 unofficial by alice,bob
            r0 replayed after r1: refused: stream results 2026-11-03-general: sequence 0 replays (last accepted is 1)
        "#]],
    );
}

#[test]
fn payload_mismatch() {
    let mut s = Scenario::genesis(&["alice", "bob"], 2);
    let m = next(&s.state, Kind::Results, Status::Unofficial, b"total 1");
    let entry = sign(&m, &["alice", "bob"]);
    s.step("other bytes", &entry, b"total 2");
    s.step("longer bytes", &entry, b"total 10");
    let digest = Payload::Digest {
        sha256: sha256(b"total 1"),
        size: 8,
    };
    s.step_with("wrong size digest", &entry, digest);
    let digest = Payload::Digest {
        sha256: sha256(b"total 1"),
        size: 7,
    };
    s.step_with("matching digest", &entry, digest);
    check(
        s,
        expect![[r#"
        genesis: accepted trust-policy #0 official by alice,bob
        other bytes: refused: payload SHA-256 is d30056b1a12a4fa292afb8ee44f53bd5953281a4b7c6ddf45a67152a686452ca, manifest says d9bb47de030415cee82e0abadff0c865f50dcc58ee7dc9d5417ec94b13e2542f
        longer bytes: refused: payload is 8 bytes, manifest says 7
        wrong size digest: refused: payload is 8 bytes, manifest says 7
        matching digest: accepted results #0 unofficial by alice,bob
    "#]],
    );
}

#[test]
fn status_rules() {
    let mut s = Scenario::genesis(&["alice", "bob"], 2);
    s.release(
        "certified",
        Kind::Results,
        Status::Certified,
        "total 5",
        &["alice", "bob"],
    );
    s.release(
        "back to unofficial",
        Kind::Results,
        Status::Unofficial,
        "total 5",
        &["alice", "bob"],
    );
    s.release(
        "test after certified",
        Kind::Results,
        Status::Test,
        "total 5",
        &["alice", "bob"],
    );
    s.release(
        "other stream unaffected",
        Kind::Page,
        Status::Test,
        "page",
        &["alice", "bob"],
    );
    let text = policy(&["alice", "bob"], 2).encode();
    s.release(
        "policy as unofficial",
        Kind::TrustPolicy,
        Status::Unofficial,
        &text,
        &["alice", "bob"],
    );
    s.release(
        "policy as certified",
        Kind::TrustPolicy,
        Status::Certified,
        &text,
        &["alice", "bob"],
    );
    check(
        s,
        expect![[r#"
        genesis: accepted trust-policy #0 official by alice,bob
        certified: accepted results #0 certified by alice,bob
        back to unofficial: refused: stream results 2026-11-03-general: status unofficial after certified (status never goes back)
        test after certified: refused: stream results 2026-11-03-general: status test after certified (status never goes back)
        other stream unaffected: accepted page #0 test by alice,bob
        policy as unofficial: refused: status unofficial is not allowed for kind trust-policy
        policy as certified: refused: status certified is not allowed for kind trust-policy
    "#]],
    );
}

#[test]
fn decrease_needs_correction() {
    let mut s = Scenario::genesis(&["alice", "bob"], 2);
    s.release(
        "r0",
        Kind::Results,
        Status::Unofficial,
        "total 100",
        &["alice", "bob"],
    );
    s.release(
        "went down",
        Kind::Results,
        Status::Unofficial,
        "total 90",
        &["alice", "bob"],
    );
    let mut m = next(&s.state, Kind::Results, Status::Unofficial, b"total 90");
    m.correction = Some(Correction::new("Precinct 12 was counted twice.").unwrap());
    s.step(
        "went down, corrected",
        &sign(&m, &["alice", "bob"]),
        b"total 90",
    );
    s.release(
        "pages may shrink",
        Kind::Page,
        Status::Unofficial,
        "total 1",
        &["alice", "bob"],
    );
    check(
        s,
        expect![[r#"
        genesis: accepted trust-policy #0 official by alice,bob
        r0: accepted results #0 unofficial by alice,bob
        went down: refused: stream results 2026-11-03-general: totals went down without a correction reason
        went down, corrected: accepted results #1 unofficial by alice,bob
        pages may shrink: accepted page #0 unofficial by alice,bob
    "#]],
    );
}

#[test]
fn malformed_entries() {
    let mut s = Scenario::genesis(&["alice", "bob"], 2);
    let m = next(&s.state, Kind::Results, Status::Unofficial, b"total 1");
    let entry = sign(&m, &["alice", "bob"]);
    let big = vec![b'a'; ENTRY_BYTES_MAX + 1];
    s.step("too large", &big, b"total 1");
    s.step("not a note", b"urne-release/v1\n", b"total 1");
    let mut loose = entry.clone();
    loose.splice(0..0, b"\n".iter().copied());
    s.step("not a manifest", &loose, b"total 1");
    let text = String::from_utf8(entry)
        .unwrap()
        .replace("kind results", "kind  results");
    s.step("manifest not canonical", text.as_bytes(), b"total 1");
    let mut policy_m = next(&s.state, Kind::TrustPolicy, Status::Official, b"junk");
    s.step(
        "policy payload not a policy",
        &sign(&policy_m, &["alice", "bob"]),
        b"junk",
    );
    policy_m.payload.media_type = MediaType::new("text/plain").unwrap();
    s.step(
        "policy media type",
        &sign(&policy_m, &["alice", "bob"]),
        b"junk",
    );
    let text = policy(&["alice", "bob"], 2).encode();
    let pm = next(
        &s.state,
        Kind::TrustPolicy,
        Status::Official,
        text.as_bytes(),
    );
    let digest = Payload::Digest {
        sha256: sha256(text.as_bytes()),
        size: text.len() as u64,
    };
    s.step_with(
        "policy by digest only",
        &sign(&pm, &["alice", "bob"]),
        digest,
    );
    check(
        s,
        expect![[r#"
        genesis: accepted trust-policy #0 official by alice,bob
        too large: refused: entry is 65536 bytes, more than 65535
        not a note: refused: entry is not a signed note: note has no blank line before its signatures
        not a manifest: refused: manifest line 1: first line is not `urne-release/v1`
        manifest not canonical: refused: manifest line 2: not `key value` with one space
        policy payload not a policy: refused: payload: trust policy line 0: does not end with a newline
        policy media type: refused: payload type "text/plain" is not "text/vnd.urne.trust-policy"
        policy by digest only: refused: a trust-policy release needs its payload bytes, not only a digest
    "#]],
    );
}

#[test]
fn rotation() {
    let mut s = Scenario::genesis(&["alice", "bob", "carol"], 2);
    s.rotate("new keys only", &["dave", "erin"], 2, &["dave", "erin"]);
    s.rotate(
        "one old, new keys",
        &["dave", "erin"],
        2,
        &["alice", "dave", "erin"],
    );
    s.rotate(
        "old keys, new not proven",
        &["dave", "erin"],
        2,
        &["alice", "bob", "dave"],
    );
    s.rotate(
        "good rotation",
        &["bob", "dave", "erin"],
        2,
        &["alice", "bob", "dave", "erin"],
    );
    s.release(
        "revoked alice",
        Kind::Results,
        Status::Unofficial,
        "total 1",
        &["alice", "bob"],
    );
    s.release(
        "carol too",
        Kind::Results,
        Status::Unofficial,
        "total 1",
        &["carol", "dave"],
    );
    s.release(
        "new officials",
        Kind::Results,
        Status::Unofficial,
        "total 1",
        &["dave", "erin"],
    );
    s.rotate(
        "re-add alice, by alice+bob",
        &["alice", "bob"],
        2,
        &["alice", "bob"],
    );
    s.rotate(
        "restore alice",
        &["alice", "bob"],
        1,
        &["bob", "dave", "alice"],
    );
    s.release(
        "alice alone",
        Kind::Results,
        Status::Unofficial,
        "total 2",
        &["alice"],
    );
    s.release(
        "dave revoked now",
        Kind::Results,
        Status::Unofficial,
        "total 3",
        &["dave"],
    );
    let warnings = format!("{:?}\n", s.state.policy().unwrap().warnings());
    s.out.push_str(&warnings);
    let revoked: Vec<String> = s.state.revoked().iter().map(|k| k.vkey()).collect();
    s.out.push_str(&format!("revoked: {}\n", revoked.len()));
    check(
        s,
        expect![[r#"
            genesis: accepted trust-policy #0 official by alice,bob,carol
            new keys only: refused: 0 valid official signatures, the policy in force needs 2
            one old, new keys: refused: 1 valid official signatures, the policy in force needs 2
            old keys, new not proven: refused: 1 valid signatures by the new policy's officials, it needs 2
            good rotation: accepted trust-policy #1 official by alice,bob,dave,erin
            revoked alice: refused: signature by alice+6f18ace2: key revoked by a policy rotation
            carol too: refused: signature by carol+ae9eb5b9: key revoked by a policy rotation
            new officials: accepted results #0 unofficial by dave,erin
            re-add alice, by alice+bob: refused: 1 valid official signatures, the policy in force needs 2
            restore alice: accepted trust-policy #2 official by bob,dave,alice
            alice alone: accepted results #1 unofficial by alice
            dave revoked now: refused: signature by dave+fbd9cc37: key revoked by a policy rotation
            [SingleSignature, NoWitnessQuorum, NoLogKey]
            revoked: 3
        "#]],
    );
}

/// Replays a log built by a scenario; every prefix verifies, a tampered or
/// reordered log does not.
#[test]
fn replay() {
    let mut s = Scenario::genesis(&["alice", "bob", "carol"], 2);
    let mut log: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let text = policy(&["alice", "bob", "carol"], 2).encode();
    let g = next(
        &LogState::new(),
        Kind::TrustPolicy,
        Status::Official,
        text.as_bytes(),
    );
    log.push((sign(&g, &["alice", "bob", "carol"]), text.into_bytes()));
    for (i, by) in [["alice", "bob"], ["bob", "carol"], ["carol", "alice"]]
        .iter()
        .enumerate()
    {
        let payload = format!("total {}", i * 10);
        let m = next(
            &s.state,
            Kind::Results,
            Status::Unofficial,
            payload.as_bytes(),
        );
        let entry = sign(&m, by);
        s.step("r", &entry, payload.as_bytes());
        log.push((entry, payload.into_bytes()));
    }
    let run = |log: &[(Vec<u8>, Vec<u8>)]| {
        let entries = log.iter().map(|(e, p)| (e.as_slice(), Payload::Bytes(p)));
        match verify_entries(entries, &DangerSkipDecreaseCheck) {
            Ok(h) => format!(
                "ok: {} releases, {} streams, last signers {:?}",
                h.releases().len(),
                h.state().streams().count(),
                h.releases().last().unwrap().signers()
            ),
            Err(e) => format!("error: {e}"),
        }
    };
    let mut out = String::new();
    out.push_str(&format!("whole: {}\n", run(&log)));
    out.push_str(&format!("empty: {}\n", run(&[])));
    out.push_str(&format!("no policy: {}\n", run(&log[1..])));
    let mut swapped = log.clone();
    swapped.swap(2, 3);
    out.push_str(&format!("swapped: {}\n", run(&swapped)));
    let mut dropped = log.clone();
    dropped.remove(2);
    out.push_str(&format!("dropped: {}\n", run(&dropped)));
    let mut tampered = log.clone();
    tampered[3].1 = b"total 99".to_vec();
    out.push_str(&format!("tampered payload: {}\n", run(&tampered)));
    let mut chain = Chain::new();
    let (e, p) = &log[1];
    let refused = match chain.push(e, Payload::Bytes(p), &DangerSkipDecreaseCheck) {
        Ok(_) => "ok".to_string(),
        Err(ChainError::Refused { index, refusal }) => format!("refused at {index}: {refusal}"),
        Err(e) => format!("{e}"),
    };
    let entries = chain.state().entries();
    out.push_str(&format!(
        "chain push before policy: {refused} (entries {entries})\n"
    ));
    expect![[r#"
        whole: ok: 4 releases, 2 streams, last signers ["carol", "alice"]
        empty: error: the log is empty: no trust policy
        no policy: error: log entry 0: the first entry of the log must be a trust policy, not results
        swapped: error: log entry 2: stream results 2026-11-03-general: sequence 2 is out of order (expected 1)
        dropped: error: log entry 2: stream results 2026-11-03-general: sequence 2 is out of order (expected 1)
        tampered payload: error: log entry 3: payload SHA-256 is 90b65987cdec96a4271898b03130de644a8a05328b2000fa58d1cd47c05e3476, manifest says 645c5d87f23b8c28cfd6f39e2eee7c34f520a81d938982cb018d76ff7d395a5d
        chain push before policy: refused at 0: the first entry of the log must be a trust policy, not results (entries 0)
    "#]].assert_eq(&out);
}

#[test]
fn retry_and_pin() {
    let mut s = Scenario::genesis(&["alice", "bob"], 2);
    let text = policy(&["alice", "bob"], 2).encode();
    let g = next(
        &LogState::new(),
        Kind::TrustPolicy,
        Status::Official,
        text.as_bytes(),
    );
    let genesis = sign(&g, &["alice", "bob"]);
    let m = next(&s.state, Kind::Results, Status::Unofficial, b"total 1");
    let entry = sign(&m, &["alice", "bob"]);
    s.step("r0", &entry, b"total 1");
    s.step("r0 retried", &entry, b"total 1");
    let other = policy(&["alice", "carol"], 2).encode();
    let og = next(
        &LogState::new(),
        Kind::TrustPolicy,
        Status::Official,
        other.as_bytes(),
    );
    let other_genesis = sign(&og, &["alice", "carol"]);
    let pin = *urne_release::Chain::new()
        .push(
            &genesis,
            Payload::Bytes(text.as_bytes()),
            &DangerSkipDecreaseCheck,
        )
        .unwrap()
        .manifest_hash();
    for (label, e, p) in [
        ("pinned", &genesis, &text),
        ("other genesis", &other_genesis, &other),
    ] {
        let mut chain = Chain::pinned(pin);
        let got = chain.push(e, Payload::Bytes(p.as_bytes()), &DangerSkipDecreaseCheck);
        let line = match got {
            Ok(_) => "ok".to_string(),
            Err(e) => e.to_string(),
        };
        s.out.push_str(&format!("{label}: {line}\n"));
    }
    let h = verify_entries(
        [(genesis.as_slice(), Payload::Bytes(text.as_bytes()))],
        &DangerSkipDecreaseCheck,
    )
    .unwrap();
    s.out.push_str(&format!(
        "genesis hash pinned: {}\n",
        *h.genesis_hash() == pin
    ));
    check(
        s,
        expect![[r#"
        genesis: accepted trust-policy #0 official by alice,bob
        r0: accepted results #0 unofficial by alice,bob
        r0 retried: refused: stream results 2026-11-03-general: sequence 0 is already the last release (a retry?)
        pinned: ok
        other genesis: log entry 0 is not the pinned trust policy (manifest hash 41c161cedb159cbab5bdb3e0432c632bddb07ece7b19c14079a3f328e84dc8c6)
        genesis hash pinned: true
    "#]],
    );
}

/// `urne sign` flow: each official adds a signature in turn.
#[test]
fn sign_in_turn() {
    let mut s = Scenario::genesis(&["alice", "bob", "carol"], 2);
    let m = next(&s.state, Kind::Results, Status::Unofficial, b"total 1");
    let bare = m.encode().unwrap().into_bytes();
    let mut out = String::new();
    let one = sign_entry(&bare, &key("alice")).unwrap();
    let again = sign_entry(&one, &key("alice")).unwrap();
    out.push_str(&format!("alice twice is idempotent: {}\n", one == again));
    let two = sign_entry(&one, &key("bob")).unwrap();
    out.push_str(&format!(
        "same as signing at once: {}\n",
        two == sign(&m, &["alice", "bob"])
    ));
    for (label, input) in [
        ("garbage", b"hello\n".to_vec()),
        ("bad manifest", b"urne-release/v1\nkind x\n".to_vec()),
        ("loose note", [one.as_slice(), b"\n"].concat()),
    ] {
        let line = match sign_entry(&input, &key("bob")) {
            Ok(_) => "ok".to_string(),
            Err(e) => e.to_string(),
        };
        out.push_str(&format!("{label}: {line}\n"));
    }
    s.out.clear();
    s.step("two signatures", &two, b"total 1");
    out.push_str(&s.out);
    expect![[r#"
        alice twice is idempotent: true
        same as signing at once: true
        garbage: manifest line 1: first line is not `urne-release/v1`
        bad manifest: manifest line 3: missing key "election"
        loose note: signed note: note text does not end with a newline
        two signatures: accepted results #0 unofficial by alice,bob
    "#]]
    .assert_eq(&out);
}
