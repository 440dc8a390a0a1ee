//! The verifier core and evidence files against real logs built with the pure sequencer:
//! honest growth, forks at equal and larger sizes, rollbacks, tampered blobs and tiles,
//! cosignatures and quorums.

use expect_test::expect;
use urne_tlog::cosignature::CosignatureSigner;
use urne_verify::fixture::FixtureLog;
use urne_verify::{
    DirSource, Evidence, EvidenceError, Failure, Follower, ForkProof, Options, Verdict,
};

const ORIGIN: &str = "results.example-county.gov/log";

fn witness(name: &str) -> CosignatureSigner {
    let mut seed = [7u8; 32];
    seed[..name.len()].copy_from_slice(name.as_bytes());
    CosignatureSigner::from_seed(name, seed).unwrap()
}

fn follower() -> Follower {
    Follower::new(Options::default(), None)
}

/// Runs one advance and prints its outcome as one line.
fn outcome(f: &mut Follower, log: &FixtureLog) -> String {
    match f.advance(&DirSource::new(log.dir())) {
        Ok(a) => format!(
            "ok {}->{} entries={} bundles={} tiles={} blobs={} cosigners={:?} quorum={} met={}{}",
            a.from,
            a.to,
            a.entries,
            a.bundles.len(),
            a.tiles_compared,
            a.blobs.len(),
            a.cosigners,
            a.quorum,
            a.quorum_met,
            if a.snapshots_decoded + a.results_not_decoded > 0 {
                format!(" snapshots={}", a.snapshots_decoded)
            } else {
                String::new()
            }
        ),
        Err(Failure::Alarm { verdict, evidence }) => {
            let reparsed = Evidence::parse(&evidence.encode()).unwrap();
            assert_eq!(reparsed, *evidence, "evidence round-trips");
            format!("alarm {verdict:?} proof={}", evidence.proof.len())
        }
        Err(e) => format!("error {e}"),
    }
}

#[test]
fn honest_growth_verifies_from_scratch_and_incrementally() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = FixtureLog::new(dir.path(), ORIGIN, "quorum none");
    log.publish(300, "a");
    let mut f = follower();
    let first = outcome(&mut f, &log);
    log.publish(5, "b");
    let second = outcome(&mut f, &log);
    // A second run that only remembers the checkpoint (state file) replays everything.
    let mut g = Follower::new(Options::default(), f.last().cloned());
    log.publish(1, "c");
    let third = outcome(&mut g, &log);
    expect![[r#"
        ok 0->301 entries=301 bundles=2 tiles=3 blobs=301 cosigners=[] quorum=none met=true snapshots=0
        ok 301->306 entries=5 bundles=1 tiles=1 blobs=5 cosigners=[] quorum=none met=true snapshots=0
        error a remembered checkpoint needs the log key it was verified with
    "#]]
    .assert_eq(&format!("{first}\n{second}\n{third}\n"));
}

#[test]
fn a_pinned_genesis_must_match() {
    let dir = tempfile::tempdir().unwrap();
    let log = FixtureLog::new(dir.path(), ORIGIN, "quorum none");
    let other = tempfile::tempdir().unwrap();
    let other_log = FixtureLog::new(other.path(), "other.example/log", "quorum none");
    let pin = urne_tlog::Hash::from_hex(&other_log.genesis_hex())
        .unwrap()
        .0;
    let mut f = Follower::new(
        Options {
            pin: Some(pin),
            ..Options::default()
        },
        None,
    );
    let got = outcome(&mut f, &log);
    assert!(got.contains("is not the pinned trust policy"), "{got}");
}

#[test]
fn forks_and_rollbacks_are_alarms_with_checkable_evidence() {
    let a = tempfile::tempdir().unwrap();
    let mut log = FixtureLog::new(a.path(), ORIGIN, "quorum none");
    log.publish(20, "honest");
    let mut f = follower();
    outcome(&mut f, &log);
    let seen = f.last().cloned();
    let mut lines = Vec::new();
    for (keep, publish) in [(10u64, 11usize), (10, 30), (20, 0), (5, 0)] {
        let b = tempfile::tempdir().unwrap();
        let mut fork = log.fork(keep, b.path());
        fork.publish(publish, "fork");
        // A verifier that kept only the checkpoint (state file) ...
        let key = Some(log.log_key().verifier());
        let mut v = Follower::new(
            Options {
                log_key: key,
                ..Options::default()
            },
            seen.clone(),
        );
        let verifier = outcome(&mut v, &fork);
        // ... and a mirror that holds the whole verified tree.
        let mut m = f.clone();
        let mirror = outcome(&mut m, &fork);
        lines.push(format!(
            "keep {keep} +{publish}: verifier {verifier}\n  mirror {mirror}"
        ));
        assert_eq!(m.size(), 21, "the mirror keeps its verified state");
    }
    expect![[r#"
        keep 10 +11: verifier alarm Fork { origin: "results.example-county.gov/log", sizes: (21, 21), how: SameSizeDifferentRoots } proof=0
          mirror alarm Fork { origin: "results.example-county.gov/log", sizes: (21, 21), how: SameSizeDifferentRoots } proof=0
        keep 10 +30: verifier alarm Fork { origin: "results.example-county.gov/log", sizes: (21, 40), how: PrefixRootDiffers } proof=7
          mirror alarm Fork { origin: "results.example-county.gov/log", sizes: (21, 40), how: PrefixRootDiffers } proof=7
        keep 20 +0: verifier alarm Rollback { origin: "results.example-county.gov/log", sizes: (21, 20) } proof=0
          mirror alarm Rollback { origin: "results.example-county.gov/log", sizes: (21, 20) } proof=3
        keep 5 +0: verifier alarm Rollback { origin: "results.example-county.gov/log", sizes: (21, 5) } proof=0
          mirror alarm Rollback { origin: "results.example-county.gov/log", sizes: (21, 5) } proof=6
    "#]]
    .assert_eq(&(lines.join("\n") + "\n"));
}

#[test]
fn a_mirror_proves_a_fork_behind_a_rollback() {
    let a = tempfile::tempdir().unwrap();
    let mut log = FixtureLog::new(a.path(), ORIGIN, "quorum none");
    log.publish(20, "honest");
    let mut m = follower();
    outcome(&mut m, &log);
    // Cut back to 5 and grow a different history to 12 < 21.
    let b = tempfile::tempdir().unwrap();
    let mut fork = log.fork(5, b.path());
    fork.publish(7, "fork");
    let got = outcome(&mut m, &fork);
    expect![[r#"alarm Fork { origin: "results.example-county.gov/log", sizes: (21, 12), how: PrefixRootDiffers } proof=4"#]]
        .assert_eq(&got);
}

#[test]
fn tampered_blobs_tiles_and_signatures_do_not_verify() {
    let a = tempfile::tempdir().unwrap();
    let mut log = FixtureLog::new(a.path(), ORIGIN, "quorum none");
    log.publish(3, "x");
    log.tamper_blob(2);
    let blob = outcome(&mut follower(), &log);
    let b = tempfile::tempdir().unwrap();
    let mut log = FixtureLog::new(b.path(), ORIGIN, "quorum none");
    log.publish(3, "x");
    let mut bytes = std::fs::read(b.path().join("log/tile/0/000.p/4")).unwrap();
    bytes[0] ^= 1;
    std::fs::write(b.path().join("log/tile/0/000.p/4"), bytes).unwrap();
    let tile = outcome(&mut follower(), &log);
    let c = tempfile::tempdir().unwrap();
    let log = FixtureLog::new(c.path(), ORIGIN, "quorum none");
    let mut note = std::fs::read(c.path().join("log/checkpoint")).unwrap();
    note[0] = b'R';
    std::fs::write(c.path().join("log/checkpoint"), note).unwrap();
    let origin = outcome(&mut follower(), &log);
    expect![[r#"
        error blobs/sha256/0acc2dcb16204a35410089a57c5ade2a18386f6b9a30414d7245b789c04e9283 (payload of log entry 2) has SHA-256 bf61c4c8271370aa5d310c7bb003b720703e8d5e4313c7751986da329674583c
        error log/tile/0/000.p/4 differs from the tile recomputed from the entries
        error the trust policy names no log key for origin Results.example-county.gov/log; pass --log-vkey
    "#]]
    .assert_eq(&format!("{blob}\n{tile}\n{origin}\n"));
}

#[test]
fn cosignatures_count_toward_the_policys_quorum() {
    let (w1, w2, w3) = (
        witness("w1.example"),
        witness("w2.example"),
        witness("w3.example"),
    );
    let lines = format!(
        "witness w1 {}\nwitness w2 {}\nwitness w3 {}\ngroup g 2 w1 w2 w3\nquorum g\n",
        w1.verifier().vkey(),
        w2.verifier().vkey(),
        w3.verifier().vkey()
    );
    let a = tempfile::tempdir().unwrap();
    let mut log = FixtureLog::new(a.path(), ORIGIN, &lines);
    log.publish(2, "x");
    let mut f = follower();
    let none = outcome(&mut f, &log);
    let mut note = log.signed_checkpoint();
    let cp = urne_tlog::Checkpoint::parse(note.text()).unwrap();
    note.add_signature(w1.sign(&cp, 1_800_000_000).unwrap())
        .unwrap();
    log.write_note(&note);
    let one = outcome(&mut f, &log);
    note.add_signature(w3.sign(&cp, 1_800_000_001).unwrap())
        .unwrap();
    log.write_note(&note);
    let two = outcome(&mut f, &log);
    // A bad cosignature by a policy witness is refused outright.
    let mut bad = w2.sign(&cp, 1_800_000_002).unwrap();
    bad.signature[9] ^= 1;
    note.add_signature(bad).unwrap();
    log.write_note(&note);
    let broken = outcome(&mut f, &log);
    // The strict mode (mirrors) does not advance below quorum.
    log.publish(1, "y");
    let mut strict = Follower::new(
        Options {
            require_quorum: true,
            ..Options::default()
        },
        None,
    );
    let awaiting = outcome(&mut strict, &log);
    expect![[r#"
        ok 0->3 entries=3 bundles=1 tiles=1 blobs=3 cosigners=[] quorum=g met=false snapshots=0
        ok 3->3 entries=0 bundles=0 tiles=0 blobs=0 cosigners=["w1"] quorum=g met=false
        ok 3->3 entries=0 bundles=0 tiles=0 blobs=0 cosigners=["w1", "w3"] quorum=g met=true
        error log/checkpoint: cosignature by witness w2: cosignature does not verify
        error awaiting witnesses: checkpoint of size 4 is cosigned by [], below the policy's quorum
    "#]]
    .assert_eq(&format!("{none}\n{one}\n{two}\n{broken}\n{awaiting}\n"));
}

#[test]
fn evidence_that_shows_nothing_is_refused() {
    let a = tempfile::tempdir().unwrap();
    let mut log = FixtureLog::new(a.path(), ORIGIN, "quorum none");
    log.publish(4, "x");
    let small = log.signed_checkpoint().to_text().into_bytes();
    log.publish(4, "y");
    let large = log.signed_checkpoint().to_text().into_bytes();
    let vkey = log.log_key().verifier().vkey();
    let e = |first: &[u8], second: &[u8], proof| Evidence {
        log_key: vkey.clone(),
        first: first.to_vec(),
        second: second.to_vec(),
        proof,
    };
    // The honest path between them.
    let mut tiles = urne_verify::follow::TileMap::default();
    for entry in std::fs::read_dir(a.path().join("log/tile/0/000.p")).unwrap() {
        let entry = entry.unwrap();
        let width: u16 = entry.file_name().to_str().unwrap().parse().unwrap();
        let id = urne_tlog::TileId {
            level: 0,
            index: 0,
            width,
        };
        tiles.insert(id, std::fs::read(entry.path()).unwrap());
    }
    let path = urne_verify::evidence::full_path(5, 9, &tiles).unwrap();
    let other = FixtureLog::new(
        tempfile::tempdir().unwrap().path(),
        "x.example/log",
        "quorum none",
    );
    let foreign = other.signed_checkpoint().to_text().into_bytes();
    let cases = [
        ("grown, honest path", e(&small, &large, path.clone())),
        ("grown, no path", e(&small, &large, vec![])),
        ("shrunk, honest path", e(&large, &small, path)),
        ("same note twice", e(&small, &small, vec![])),
        ("another log's note", e(&small, &foreign, vec![])),
    ];
    let mut out = String::new();
    for (name, ev) in cases {
        let verdict: Result<Verdict, EvidenceError> = ev.check(None);
        out.push_str(&format!("{name}: {verdict:?}\n"));
    }
    assert!(Evidence::parse(b"urne-evidence/v1\nlog-key x\nfirst 01\n").is_err());
    expect![[r#"
        grown, honest path: Err(Consistent(5, 9))
        grown, no path: Err(Inconclusive(5, 9))
        shrunk, honest path: Ok(Rollback { origin: "results.example-county.gov/log", sizes: (9, 5) })
        same note twice: Err(Consistent(5, 5))
        another log's note: Err(NotSigned { which: "second", why: "no signature by a known key" })
    "#]]
    .assert_eq(&out);
    let _ = ForkProof::SameSizeDifferentRoots;
}

#[test]
fn totals_that_go_down_need_a_correction_reason() {
    let a = tempfile::tempdir().unwrap();
    let mut log = FixtureLog::new(a.path(), ORIGIN, "quorum none");
    log.publish_snapshot(10, None);
    log.publish_snapshot(12, None);
    let mut f = follower();
    let up = outcome(&mut f, &log);
    log.publish_snapshot(11, Some("precinct P1 was counted twice"));
    let corrected = outcome(&mut f, &log);
    log.publish_snapshot(9, None);
    let down = outcome(&mut f, &log);
    expect![[r#"
        ok 0->3 entries=3 bundles=1 tiles=1 blobs=3 cosigners=[] quorum=none met=true snapshots=2
        ok 3->4 entries=1 bundles=1 tiles=1 blobs=1 cosigners=[] quorum=none met=true snapshots=1
        error log entry 4: stream results 2026-11-03-general: totals went down without a correction reason
    "#]]
    .assert_eq(&format!("{up}\n{corrected}\n{down}\n"));
}
