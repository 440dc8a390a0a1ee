//! tlog-witness: "checking the old size against the latest checkpoint and persisting the new
//! checkpoint must be performed atomically". Many tasks race, each with a valid request from
//! the same old size, half of them on one fork and half on another: exactly one may win, and
//! the record must be the winner's.

mod common;

use std::sync::Arc;
use std::time::Duration;

use urne_tlog::ConsistencyChecked;
use urne_witness::{
    AddError, Cosigned, Evidence, MemoryState, SqliteState, StateError, WitnessState,
};

use common::TestLog;

const TASKS: u64 = 32;
const ROUNDS: u64 = 8;

/// Widens the window between reading the record and swapping it, so that every racer reads
/// the same record before any of them swaps: without an atomic compare-and-swap, several would
/// win (checked by breaking `MemoryState`'s comparison: this test then fails).
#[derive(Debug)]
struct SlowReads<S>(S);

#[async_trait::async_trait]
impl<S: WitnessState> WitnessState for SlowReads<S> {
    async fn latest(&self, origin: &str) -> Result<Option<Cosigned>, StateError> {
        let latest = self.0.latest(origin).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        latest
    }

    async fn compare_and_swap(
        &self,
        origin: &str,
        old: Option<Cosigned>,
        new: Cosigned,
        note: &[u8],
        checked: ConsistencyChecked,
    ) -> Result<(), StateError> {
        self.0
            .compare_and_swap(origin, old, new, note, checked)
            .await
    }

    async fn record_refused(
        &self,
        origin: &str,
        status: u16,
        body: &[u8],
    ) -> Result<(), StateError> {
        self.0.record_refused(origin, status, body).await
    }

    async fn evidence(&self, origin: &str) -> Result<Evidence, StateError> {
        self.0.evidence(origin).await
    }
}

async fn race(state: impl WitnessState + 'static) {
    let (witness, _clock) = common::witness(Arc::new(SlowReads(state)));
    let mut base = TestLog::new();
    base.grow("a", 1);
    witness
        .add_checkpoint(base.body(0).as_bytes())
        .await
        .expect("first checkpoint");
    // Both forks share entry 0 and differ from then on: the log equivocates.
    let mut tasks = Vec::new();
    for i in 0..TASKS {
        let mut log = base.clone();
        log.grow(if i % 2 == 0 { "a" } else { "b" }, 1 + i / 2);
        let witness = Arc::clone(&witness);
        tasks.push(tokio::spawn(async move {
            let result = witness.add_checkpoint(log.body(1).as_bytes()).await;
            (log, result)
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        let (log, result) = task.await.expect("task");
        match result {
            Ok(line) => {
                common::check_cosignature(&log.note(), &line);
                winners.push(log);
            }
            Err(AddError::OldSizeMismatch { latest }) => assert!(latest > 1, "{latest}"),
            Err(e) => panic!("unexpected refusal: {e}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one racer wins");
    let latest = witness
        .latest(common::ORIGIN)
        .await
        .expect("latest")
        .expect("a record");
    assert_eq!(
        (latest.size, latest.root),
        (winners[0].size(), winners[0].edge.root())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_requests_cosign_one_history_memory() {
    for _ in 0..ROUNDS {
        race(MemoryState::new()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_requests_cosign_one_history_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    for round in 0..ROUNDS {
        let state = SqliteState::open(dir.path().join(format!("witness-{round}.db")))
            .await
            .expect("open");
        race(state).await;
    }
}
