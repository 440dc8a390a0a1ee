//! The sequencer driven through the in-memory fakes, with faults injected at every step of a
//! batch (STYLE.md habit 8). Each test states the outcome it expects of one failure.

use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use urne_log::{AppendError, Config, Log, LogError, VerifyError};
use urne_store::{BlobOp, Blobs, Fault, MemBlobs, MemStore, Store, StoreOp};
use urne_tlog::note::Ed25519Signer;

const ORIGIN: &str = "test.urne.localhost/log";

struct Fixture {
    store: Arc<MemStore>,
    blobs: Arc<MemBlobs>,
    signer: Ed25519Signer,
    config: Config,
}

fn fixture() -> Fixture {
    let mut config = Config::new(ORIGIN);
    config.batch_wait = Duration::from_millis(5);
    Fixture {
        store: Arc::new(MemStore::new()),
        blobs: Arc::new(MemBlobs::new()),
        signer: Ed25519Signer::from_seed(ORIGIN, [7; 32]).unwrap(),
        config,
    }
}

impl Fixture {
    async fn open(&self) -> Result<Log, LogError> {
        Log::open(
            self.config.clone(),
            self.signer.clone(),
            self.store.clone(),
            self.blobs.clone(),
        )
        .await
    }

    async fn verify(&self) -> Result<urne_log::VerifyReport, VerifyError> {
        urne_log::verify_tree(self.blobs.as_ref(), ORIGIN, &self.signer.verifier()).await
    }

    async fn entries(&self) -> Vec<String> {
        let size = self.verify().await.unwrap().size;
        urne_log::read_all_entries(self.blobs.as_ref(), size)
            .await
            .unwrap()
            .into_iter()
            .map(|e| String::from_utf8(e).unwrap())
            .collect()
    }
}

/// The tree size in a checkpoint note (second line).
fn size_of(note: &[u8]) -> u64 {
    let text = std::str::from_utf8(note).unwrap();
    text.lines().nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_get_distinct_indices_and_the_log_verifies() {
    let f = fixture();
    let log = f.open().await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..1000 {
        let h = log.handle();
        tasks.push(tokio::spawn(async move {
            (i, h.append(format!("e{i}").into_bytes()).await)
        }));
    }
    let mut indices = BTreeSet::new();
    let mut by_index = vec![String::new(); 1000];
    for t in tasks {
        let (i, appended) = t.await.unwrap();
        let a = appended.unwrap();
        assert!(a.tree_size > a.index);
        assert!(indices.insert(a.index));
        by_index[a.index as usize] = format!("e{i}");
    }
    assert_eq!(indices, (0..1000).collect());
    log.shutdown().await;
    let report = f.verify().await.unwrap();
    assert_eq!(report.size, 1000);
    assert_eq!(report.bundles_checked, 4);
    assert_eq!(f.entries().await, by_index);
}

#[tokio::test]
async fn a_reopened_log_continues_where_it_stopped() {
    let f = fixture();
    let log = f.open().await.unwrap();
    for i in 0..300u64 {
        assert_eq!(
            log.handle()
                .append(vec![b'a'; (i % 7) as usize])
                .await
                .unwrap()
                .index,
            i
        );
    }
    log.shutdown().await;
    let log = f.open().await.unwrap();
    assert_eq!(log.size_at_open(), 300);
    assert_eq!(
        log.handle().append(b"next".to_vec()).await.unwrap().index,
        300
    );
    log.shutdown().await;
    assert_eq!(f.verify().await.unwrap().size, 301);
}

#[tokio::test]
async fn batches_hold_at_most_batch_entries_max() {
    let mut f = fixture();
    f.config.batch_entries_max = 10;
    let sizes = Arc::new(Mutex::new(Vec::new()));
    let seen = sizes.clone();
    f.store.set_hook(move |op| {
        if let StoreOp::SwapCheckpoint { new, .. } = op {
            seen.lock().unwrap().push(size_of(new));
        }
        Fault::Pass
    });
    let log = f.open().await.unwrap();
    let tasks: Vec<_> = (0..95)
        .map(|i| {
            let h = log.handle();
            tokio::spawn(async move { h.append(vec![i]).await.unwrap() })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    log.shutdown().await;
    let sizes = sizes.lock().unwrap().clone();
    assert_eq!(
        sizes.first(),
        Some(&0),
        "a new log starts with a checkpoint of size 0"
    );
    assert_eq!(sizes.last(), Some(&95));
    for pair in sizes.windows(2) {
        assert!(
            pair[1] > pair[0] && pair[1] - pair[0] <= 10,
            "batch sizes {sizes:?}"
        );
    }
}

#[tokio::test]
async fn an_oversized_entry_is_refused_and_changes_nothing() {
    let f = fixture();
    let log = f.open().await.unwrap();
    let max = urne_tlog::ENTRY_BYTES_MAX;
    let err = log.handle().append(vec![0; max + 1]).await.unwrap_err();
    assert_eq!(
        err,
        AppendError::TooLarge {
            bytes: max + 1,
            max
        }
    );
    assert_eq!(log.handle().append(vec![0; max]).await.unwrap().index, 0);
    log.shutdown().await;
    assert_eq!(f.verify().await.unwrap().size, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_busy() {
    let mut f = fixture();
    f.config.pending_entries_max = 2;
    f.config.batch_entries_max = 1;
    // Slow staging writes keep the sequencer busy while the queue fills.
    f.blobs.set_hook(|op| {
        if op.key() == urne_log::STAGING_KEY {
            std::thread::sleep(Duration::from_millis(50));
        }
        Fault::Pass
    });
    let log = f.open().await.unwrap();
    let tasks: Vec<_> = (0..20u8)
        .map(|i| {
            let h = log.handle();
            tokio::spawn(async move { h.append(vec![i]).await })
        })
        .collect();
    let (mut ok, mut busy) = (0u64, 0u64);
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(AppendError::Busy { pending_max: 2 }) => busy += 1,
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert!(busy > 0, "the queue never filled");
    log.shutdown().await;
    assert_eq!(f.verify().await.unwrap().size, ok);
}

#[tokio::test]
async fn a_failed_staging_write_fails_the_batch_and_changes_nothing() {
    let f = fixture();
    let log = f.open().await.unwrap();
    let failed = Arc::new(Mutex::new(false));
    let once = failed.clone();
    f.blobs.set_hook(move |op| match op {
        BlobOp::Put { key, .. } if key == urne_log::STAGING_KEY && !*once.lock().unwrap() => {
            *once.lock().unwrap() = true;
            Fault::Fail
        }
        _ => Fault::Pass,
    });
    let err = log.handle().append(b"lost".to_vec()).await.unwrap_err();
    assert!(matches!(err, AppendError::Unavailable(_)), "{err:?}");
    assert_eq!(
        size_of(&f.store.checkpoint(ORIGIN).await.unwrap().unwrap()),
        0
    );
    assert_eq!(
        log.handle().append(b"kept".to_vec()).await.unwrap().index,
        0
    );
    log.shutdown().await;
    assert_eq!(f.entries().await, ["kept"]);
}

/// Fails the first swap after the log was created, applying it or not.
fn fail_first_append_swap(store: &MemStore, fault: Fault) {
    let mut done = false;
    store.set_hook(move |op| match op {
        StoreOp::SwapCheckpoint { old: Some(_), .. } if !done => {
            done = true;
            fault
        }
        _ => Fault::Pass,
    });
}

#[tokio::test]
async fn a_failed_swap_is_fatal_and_the_log_recovers() {
    let f = fixture();
    let log = f.open().await.unwrap();
    fail_first_append_swap(&f.store, Fault::Fail);
    let err = log.handle().append(b"lost".to_vec()).await.unwrap_err();
    assert!(matches!(err, AppendError::Unavailable(_)), "{err:?}");
    assert_eq!(
        log.handle().append(b"kept".to_vec()).await.unwrap().index,
        0
    );
    log.shutdown().await;
    assert_eq!(f.entries().await, ["kept"]);
}

#[tokio::test]
async fn a_swap_whose_acknowledgement_was_lost_is_finished_by_recovery() {
    let f = fixture();
    let log = f.open().await.unwrap();
    fail_first_append_swap(&f.store, Fault::FailAfterApply);
    // Not acknowledged, but committed: recovery finishes it from the staging bundle.
    let err = log
        .handle()
        .append(b"committed".to_vec())
        .await
        .unwrap_err();
    assert!(matches!(err, AppendError::Unavailable(_)), "{err:?}");
    assert_eq!(
        log.handle().append(b"next".to_vec()).await.unwrap().index,
        1
    );
    log.shutdown().await;
    assert_eq!(f.entries().await, ["committed", "next"]);
}

#[tokio::test]
async fn a_failed_tile_write_after_the_swap_is_finished_from_staging() {
    let f = fixture();
    let log = f.open().await.unwrap();
    let mut done = false;
    f.blobs.set_hook(move |op| match op {
        BlobOp::Put { key, .. } if key.starts_with("log/tile/") && !done => {
            done = true;
            Fault::Fail
        }
        _ => Fault::Pass,
    });
    assert!(log.handle().append(b"committed".to_vec()).await.is_err());
    assert_eq!(
        log.handle().append(b"next".to_vec()).await.unwrap().index,
        1
    );
    log.shutdown().await;
    assert_eq!(f.entries().await, ["committed", "next"]);
}

#[tokio::test]
async fn recovery_refuses_a_public_tree_without_a_store_row() {
    let f = fixture();
    f.open().await.unwrap().shutdown().await;
    let other = Fixture {
        store: Arc::new(MemStore::new()),
        ..fixture()
    };
    other
        .blobs
        .put(
            urne_log::CHECKPOINT_KEY,
            &f.blobs
                .get(urne_log::CHECKPOINT_KEY)
                .await
                .unwrap()
                .unwrap(),
        )
        .await
        .unwrap();
    let err = other.open().await.unwrap_err();
    assert!(matches!(err, LogError::Inconsistent(_)), "{err}");
}

#[tokio::test]
async fn recovery_refuses_a_checkpoint_signed_by_another_key() {
    let f = fixture();
    f.open().await.unwrap().shutdown().await;
    let impostor = Fixture {
        store: f.store.clone(),
        blobs: f.blobs.clone(),
        signer: Ed25519Signer::from_seed(ORIGIN, [8; 32]).unwrap(),
        config: f.config.clone(),
    };
    let err = impostor.open().await.unwrap_err();
    assert!(err.to_string().contains("signature"), "{err}");
}

#[tokio::test]
async fn tampering_with_a_tile_or_an_entry_is_caught() {
    let f = fixture();
    let log = f.open().await.unwrap();
    for i in 0..300u32 {
        log.handle().append(i.to_be_bytes().to_vec()).await.unwrap();
    }
    log.shutdown().await;
    let snapshot = f.blobs.snapshot();

    // A flipped bit in a right-edge tile that the last batch did not touch (the last batch's
    // own tiles are rewritten from the staging bundle by recovery): both refuse.
    let edge_tile = "log/tile/1/000.p/1";
    let mut bytes = snapshot[edge_tile].clone();
    bytes[0] ^= 1;
    f.blobs.put(edge_tile, &bytes).await.unwrap();
    assert!(matches!(
        f.open().await.unwrap_err(),
        LogError::Inconsistent(_)
    ));
    assert!(
        matches!(f.verify().await.unwrap_err(), VerifyError::TileMismatch { key } if key == edge_tile)
    );
    f.blobs.put(edge_tile, &snapshot[edge_tile]).await.unwrap();

    // A changed entry in a full bundle: its recomputed tile differs from the stored one.
    let bundle = "log/tile/entries/000";
    let mut bytes = snapshot[bundle].clone();
    bytes[2] ^= 1;
    f.blobs.put(bundle, &bytes).await.unwrap();
    assert!(
        matches!(f.verify().await.unwrap_err(), VerifyError::TileMismatch { key } if key == "log/tile/0/000")
    );
    f.blobs.put(bundle, &snapshot[bundle]).await.unwrap();

    // A truncated bundle is malformed; a missing one is named.
    f.blobs.put(bundle, &snapshot[bundle][..10]).await.unwrap();
    assert!(
        matches!(f.verify().await.unwrap_err(), VerifyError::Malformed { key, .. } if key == bundle)
    );
    f.blobs.delete(bundle).await.unwrap();
    assert!(matches!(f.verify().await.unwrap_err(), VerifyError::Missing { key } if key == bundle));
    f.blobs.put(bundle, &snapshot[bundle]).await.unwrap();
    assert_eq!(f.verify().await.unwrap().size, 300);
}

/// `shutdown` ends the sequencer even while a handle is alive (as `urne log append` holds
/// one): it used to wait for the last handle to drop, forever. The handle then refuses.
#[tokio::test]
async fn shutdown_finishes_while_a_handle_is_alive() {
    let f = fixture();
    let log = f.open().await.unwrap();
    let handle = log.handle();
    assert_eq!(handle.append(b"kept".to_vec()).await.unwrap().index, 0);
    // A hang is a failure, not a slow pass: no timing is measured here.
    tokio::time::timeout(std::time::Duration::from_secs(60), log.shutdown())
        .await
        .expect("shutdown finished while a handle was alive");
    let refused = handle.append(b"late".to_vec()).await.unwrap_err();
    assert!(
        matches!(refused, urne_log::AppendError::Unavailable(_)),
        "{refused:?}"
    );
    drop(handle);
    assert_eq!(f.verify().await.unwrap().size, 1);
}
