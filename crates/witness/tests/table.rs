//! Data-driven add-checkpoint tests: each step is a request body and the exact response
//! (status, content type, body), in order, against one witness whose state carries over.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request};
use expect_test::{Expect, expect};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;
use urne_tlog::note::{Ed25519Signer, Note};
use urne_tlog::{Checkpoint, Hash};
use urne_witness::{AddCheckpoint, BODY_BYTES_MAX, MemoryState, Witness, router};

use common::{ORIGIN, TestLog};

async fn send(witness: &Arc<Witness>, method: Method, body: Vec<u8>) -> String {
    let request = Request::builder()
        .method(method)
        .uri("/add-checkpoint")
        .body(Body::from(body))
        .expect("request");
    let response = router(Arc::clone(witness))
        .oneshot(request)
        .await
        .expect("infallible");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or("?").to_string())
        .unwrap_or_default();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    format!(
        "{status} {content_type}\n{}",
        String::from_utf8_lossy(&bytes)
    )
}

async fn check(witness: &Arc<Witness>, body: impl Into<Vec<u8>>, expect: Expect) {
    expect.assert_eq(&send(witness, Method::POST, body.into()).await);
}

fn signed(checkpoint: &Checkpoint, key: &Ed25519Signer) -> Note {
    let mut note = Note::new(&checkpoint.body()).expect("note");
    note.sign(key).expect("sign");
    note
}

#[tokio::test]
async fn add_checkpoint_table() {
    let (witness, _clock) = common::witness(Arc::new(MemoryState::new()));
    let mut log = TestLog::new();
    log.grow("a", 3);
    let note3 = log.note();

    // 400: malformed bodies.
    check(
        &witness,
        vec![0xff, b'\n'],
        expect![[r#"
        400 text/plain; charset=utf-8
        malformed request: body is not valid UTF-8
    "#]],
    )
    .await;
    check(
        &witness,
        "old 0",
        expect![[r#"
        400 text/plain; charset=utf-8
        malformed request: body line 1 does not end with a newline
    "#]],
    )
    .await;
    check(
        &witness,
        format!("old 00\n\n{note3}"),
        expect![[r#"
        400 text/plain; charset=utf-8
        malformed request: line 1 is not `old <size>` with a decimal size without leading zeros
    "#]],
    )
    .await;
    check(
        &witness,
        format!("old  1\n\n{note3}"),
        expect![[r#"
        400 text/plain; charset=utf-8
        malformed request: line 1 is not `old <size>` with a decimal size without leading zeros
    "#]],
    )
    .await;
    check(
        &witness,
        format!("old 18446744073709551616\n\n{note3}"),
        expect![[r#"
        400 text/plain; charset=utf-8
        malformed request: line 1 is not `old <size>` with a decimal size without leading zeros
    "#]],
    )
    .await;
    check(
        &witness,
        format!("old 0\nnot-base64\n\n{note3}"),
        expect![[r#"
        400 text/plain; charset=utf-8
        malformed request: line 2 is not a base64 SHA-256 hash
    "#]],
    )
    .await;
    check(
        &witness,
        "old 0\nAAAA\n",
        expect![[r#"
        400 text/plain; charset=utf-8
        malformed request: line 2 is not a base64 SHA-256 hash
    "#]],
    )
    .await;
    let proof64 = vec![Hash([7; 32]); 64];
    check(
        &witness,
        AddCheckpoint::body(0, &proof64, &note3),
        expect![[r#"
        400 text/plain; charset=utf-8
        malformed request: more than 63 consistency proof lines
    "#]],
    )
    .await;
    check(
        &witness,
        format!("old 0\n{}", note3.text()),
        expect![[r#"
        400 text/plain; charset=utf-8
        malformed request: line 2 is not a base64 SHA-256 hash
    "#]],
    )
    .await;
    check(
        &witness,
        format!("old 0\n\n{}\n", note3.text()),
        expect![[r#"
        400 text/plain; charset=utf-8
        malformed request: checkpoint note: note text does not end with a newline
    "#]],
    )
    .await;
    check(
        &witness,
        format!("old 0\n\nx\n3\nnot-a-root\n\n— {ORIGIN} AAAAAAAA\n"),
        expect![[r#"
        400 text/plain; charset=utf-8
        malformed request: checkpoint: line 3: root hash is not base64 of 32 bytes
    "#]],
    )
    .await;
    let mut big = format!("old 0\n\n{note3}").into_bytes();
    big.resize(BODY_BYTES_MAX + 1, b'x');
    check(
        &witness,
        big,
        expect![[r#"
        400 text/plain; charset=utf-8
        cannot read request body: Failed to buffer the request body: length limit exceeded
    "#]],
    )
    .await;

    // 404: unknown origin, even when well signed by its own key.
    let mut other = log.checkpoint();
    other.origin = "other.example/log".into();
    let other_key = Ed25519Signer::from_seed("other.example/log", [9; 32]).expect("key");
    check(
        &witness,
        AddCheckpoint::body(0, &[], &signed(&other, &other_key)),
        expect![[r#"
        404 text/plain; charset=utf-8
        unknown log origin
    "#]],
    )
    .await;

    // 403: no signature by the trusted key (same name, other key: ignored as unknown).
    let impostor = Ed25519Signer::from_seed(ORIGIN, [8; 32]).expect("key");
    check(
        &witness,
        AddCheckpoint::body(0, &[], &signed(&log.checkpoint(), &impostor)),
        expect![[r#"
        403 text/plain; charset=utf-8
        checkpoint is not signed by a key trusted for this log: no signature by a known key
    "#]],
    )
    .await;
    // 403: the trusted key's signature does not verify (the checkpoint was altered).
    let mut altered = log.checkpoint();
    altered.size = 4;
    let forged = format!("{}\n{}", altered.body(), note3.signatures()[0].line());
    check(&witness, format!("old 0\n\n{forged}"), expect![[r#"
        403 text/plain; charset=utf-8
        checkpoint is not signed by a key trusted for this log: signature by known key results.example-county.gov/log+45d5dec5 does not verify
    "#]]).await;

    // 400: old larger than the checkpoint.
    check(
        &witness,
        AddCheckpoint::body(5, &[], &note3),
        expect![[r#"
        400 text/plain; charset=utf-8
        old size 5 is larger than the checkpoint size 3
    "#]],
    )
    .await;

    // 409: never cosigned, so the latest size is 0.
    check(
        &witness,
        log.body(2),
        expect![[r#"
        409 text/x.tlog.size
        0
    "#]],
    )
    .await;
    // 422: old 0 needs an empty proof.
    check(&witness, AddCheckpoint::body(0, &[Hash([7; 32])], &note3), expect![[r#"
        422 text/plain; charset=utf-8
        consistency proof from size 0 to 3 does not verify: proof has the wrong number of hashes for these sizes
    "#]]).await;

    // 200: the first checkpoint, then the same one again (a re-cosign).
    check(&witness, log.body(0), expect![[r#"
        200 text/plain; charset=utf-8
        — witness.example/w1 3xwKNQAAAABq/YbATszu217zx587rRntfgHNhIp3cGUrs9c067ySvBMWFbmIVprFSNCG3uCsTd0j8CjuWK4+pPSAMGgkBt9R0ULuAA==
    "#]]).await;
    check(&witness, log.body(3), expect![[r#"
        200 text/plain; charset=utf-8
        — witness.example/w1 3xwKNQAAAABq/YbATszu217zx587rRntfgHNhIp3cGUrs9c067ySvBMWFbmIVprFSNCG3uCsTd0j8CjuWK4+pPSAMGgkBt9R0ULuAA==
    "#]]).await;

    // 409: a client that thinks the witness is fresh learns the latest size.
    let mut grown = log.clone();
    grown.grow("a", 2);
    check(
        &witness,
        grown.body(0),
        expect![[r#"
        409 text/x.tlog.size
        3
    "#]],
    )
    .await;
    // 409: same size, other root.
    let mut fork = TestLog::new();
    fork.grow("b", 3);
    check(
        &witness,
        fork.body(3),
        expect![[r#"
        409 text/x.tlog.size
        3
    "#]],
    )
    .await;
    // 422: a wrong proof from 3 to 5.
    let mut bad_proof = grown.proof(3);
    bad_proof[0].0[0] ^= 1;
    check(
        &witness,
        AddCheckpoint::body(3, &bad_proof, &grown.note()),
        expect![[r#"
        422 text/plain; charset=utf-8
        consistency proof from size 3 to 5 does not verify: proof does not lead to the given root
    "#]],
    )
    .await;
    check(&witness, AddCheckpoint::body(3, &[], &grown.note()), expect![[r#"
        422 text/plain; charset=utf-8
        consistency proof from size 3 to 5 does not verify: proof has the wrong number of hashes for these sizes
    "#]]).await;
    // 200: the right proof.
    check(&witness, grown.body(3), expect![[r#"
        200 text/plain; charset=utf-8
        — witness.example/w1 3xwKNQAAAABq/YbAmERSTtdKPPJhz1c48gWv+FRSGac1/NwEgi/+gAJLr+2oVQCA9QD2+X3RVF5dr76/Ups70MFgm45qLJ7wB4XmCw==
    "#]]).await;
    // 409: a stale old size; 400: a rollback to a smaller checkpoint with the current old.
    check(
        &witness,
        AddCheckpoint::body(3, &log.proof(3), &note3),
        expect![[r#"
        409 text/x.tlog.size
        5
    "#]],
    )
    .await;
    check(
        &witness,
        AddCheckpoint::body(5, &[], &note3),
        expect![[r#"
        400 text/plain; charset=utf-8
        old size 5 is larger than the checkpoint size 3
    "#]],
    )
    .await;

    // 405: only POST.
    expect![[r#"
        405 
    "#]]
    .assert_eq(&send(&witness, Method::GET, vec![]).await);
}

#[tokio::test(start_paused = true)]
async fn slow_body_times_out_with_408() {
    let (witness, _clock) = common::witness(Arc::new(MemoryState::new()));
    // A body that never finishes; paused time jumps to the deadline once the runtime idles.
    let stream = futures_util::stream::pending::<Result<Vec<u8>, std::io::Error>>();
    let request = Request::builder()
        .method(Method::POST)
        .uri("/add-checkpoint")
        .body(Body::from_stream(stream))
        .expect("request");
    let response = router(witness).oneshot(request).await.expect("infallible");
    assert_eq!(response.status().as_u16(), 408);
}

#[tokio::test]
async fn known_logs_from_a_tlog_policy() {
    let policy = format!("log {}\nquorum none\n", common::log_key().verifier().vkey());
    let policy = urne_tlog::policy::Policy::parse(&policy).expect("policy");
    let logs = urne_witness::KnownLogs::from_policy(&policy);
    assert_eq!(logs.keys(ORIGIN).map(<[_]>::len), Some(1));
    let witness = Witness::new(
        common::witness_key(),
        logs,
        Arc::new(MemoryState::new()),
        Arc::new(urne_witness::FixedClock::new(common::NOW)),
    );
    let mut log = TestLog::new();
    log.grow("a", 2);
    let line = witness
        .add_checkpoint(log.body(0).as_bytes())
        .await
        .expect("cosigned");
    assert_eq!(common::check_cosignature(&log.note(), &line), common::NOW);
}
