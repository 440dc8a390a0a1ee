//! A log that equivocates: after the witness cosigned its checkpoint at size N, every other
//! checkpoint of size N and every checkpoint of size M not consistent with it is refused, by
//! whatever route the log tries. Then the honest history goes on.

mod common;

use std::fmt::Write as _;
use std::sync::Arc;

use expect_test::expect;
use urne_tlog::consistency_proof;
use urne_witness::{AddCheckpoint, SqliteState, Witness};

use common::TestLog;

async fn outcome(witness: &Witness, name: &str, body: String, out: &mut String) {
    let result = match witness.add_checkpoint(body.as_bytes()).await {
        Ok(_) => "200 cosigned".to_string(),
        Err(e) => format!("{} {e}", e.status().as_u16()),
    };
    writeln!(out, "{name}: {result}").expect("write");
}

#[tokio::test]
async fn equivocating_log_gets_one_history_cosigned() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = SqliteState::open(dir.path().join("witness.db"))
        .await
        .expect("open");
    let (witness, _clock) = common::witness(Arc::new(state));
    let n = 10;
    let mut honest = TestLog::new();
    honest.grow("a", 4);
    let mut out = String::new();
    outcome(&witness, "honest 4", honest.body(0), &mut out).await;
    honest.grow("a", n - 4);
    outcome(&witness, "honest N", honest.body(4), &mut out).await;

    // A fork sharing the first 4 entries, then diverging.
    let mut fork = TestLog::new();
    fork.grow("a", 4);
    fork.grow("b", n - 4);
    outcome(&witness, "fork N, old N", fork.body(n), &mut out).await;
    outcome(
        &witness,
        "fork N, old 4 (fork's own proof)",
        fork.body(4),
        &mut out,
    )
    .await;
    outcome(&witness, "fork N, old 0", fork.body(0), &mut out).await;

    let mut fork_m = fork.clone();
    fork_m.grow("b", 7);
    let m = fork_m.size();
    outcome(
        &witness,
        "fork M, old N (fork's own proof)",
        fork_m.body(n),
        &mut out,
    )
    .await;
    // The honest tree's proof from N to M, attached to the fork's checkpoint at M.
    let mut honest_m = honest.clone();
    honest_m.grow("a", m - n);
    let honest_proof = consistency_proof(n, m, &honest_m.tiles).expect("proof");
    let spliced = AddCheckpoint::body(n, &honest_proof, &fork_m.note());
    outcome(&witness, "fork M, old N (honest proof)", spliced, &mut out).await;
    outcome(&witness, "fork M, old 4", fork_m.body(4), &mut out).await;
    outcome(&witness, "fork M, old 0", fork_m.body(0), &mut out).await;
    // A fork that diverges before N, at a smaller size than N: a rollback.
    let mut short = TestLog::new();
    short.grow("c", 6);
    let rollback = AddCheckpoint::body(n, &[], &short.note());
    outcome(&witness, "fork 6, old N", rollback, &mut out).await;
    outcome(&witness, "fork 6, old 0", short.body(0), &mut out).await;

    outcome(&witness, "honest N again", honest.body(n), &mut out).await;
    outcome(&witness, "honest M", honest_m.body(n), &mut out).await;
    outcome(&witness, "fork M after honest M", fork_m.body(m), &mut out).await;

    expect![[r#"
        honest 4: 200 cosigned
        honest N: 200 cosigned
        fork N, old N: 409 checkpoint of size 10 has a root other than the one cosigned
        fork N, old 4 (fork's own proof): 409 old size does not match the latest cosigned size 10
        fork N, old 0: 409 old size does not match the latest cosigned size 10
        fork M, old N (fork's own proof): 422 consistency proof from size 10 to 17 does not verify: proof does not lead to the given root
        fork M, old N (honest proof): 422 consistency proof from size 10 to 17 does not verify: proof does not lead to the given root
        fork M, old 4: 409 old size does not match the latest cosigned size 10
        fork M, old 0: 409 old size does not match the latest cosigned size 10
        fork 6, old N: 400 old size 10 is larger than the checkpoint size 6
        fork 6, old 0: 409 old size does not match the latest cosigned size 10
        honest N again: 200 cosigned
        honest M: 200 cosigned
        fork M after honest M: 409 checkpoint of size 17 has a root other than the one cosigned
    "#]]
    .assert_eq(&out);
    let latest = witness.latest(common::ORIGIN).await.expect("latest");
    assert_eq!(latest.map(|c| c.root), Some(honest_m.edge.root()));

    // The witness kept the signed forks it refused as inconsistent (409 same size, 422), and
    // the last checkpoint it cosigned: the material for an evidence file.
    let evidence = witness.evidence(common::ORIGIN).await.expect("evidence");
    let statuses: Vec<u16> = evidence.refused.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses, [409, 422, 422, 409]);
    assert_eq!(evidence.refused[0].1, fork.body(n).into_bytes());
    assert_eq!(
        evidence.cosigned,
        Some(honest_m.note().to_text().into_bytes())
    );
}
