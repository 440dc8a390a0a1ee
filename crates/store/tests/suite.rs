//! The shared story suite on the in-memory fakes and the directory backend, and the fakes'
//! failure hooks.

use std::sync::Arc;

use urne_store::testsuite::{blobs_suite, store_suite};
use urne_store::{
    BlobError, BlobOp, Blobs, DirBlobs, Fault, MemBlobs, MemStore, Store, StoreError, StoreOp,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mem_store_story() {
    store_suite(Arc::new(MemStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mem_blobs_story() {
    blobs_suite(Arc::new(MemBlobs::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dir_blobs_story() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A root that does not exist yet: the first put creates it.
    blobs_suite(Arc::new(DirBlobs::new(dir.path().join("root/of/blobs")))).await;
    // No temporary file is left behind after successful puts.
    let stray = walk_names(dir.path())
        .into_iter()
        .filter(|n| n.contains('~'))
        .count();
    assert_eq!(stray, 0, "temporary files left behind");
}

#[tokio::test]
async fn dir_blobs_list_skips_foreign_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let blobs = DirBlobs::new(dir.path());
    blobs.put("log/checkpoint", b"c").await.expect("put");
    // A crash leaves a temporary file; an operator leaves odd names around.
    std::fs::write(dir.path().join("log/.checkpoint~1-2.tmp"), b"partial").expect("write");
    std::fs::write(dir.path().join("log/has space"), b"x").expect("write");
    assert_eq!(blobs.list("").await.expect("list"), ["log/checkpoint"]);
}

#[tokio::test]
async fn dir_blobs_put_over_a_directory_fails_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let blobs = DirBlobs::new(dir.path());
    blobs.put("a/b", b"under").await.expect("put");
    let result = blobs.put("a", b"over").await;
    assert!(matches!(result, Err(BlobError::Io { .. })), "{result:?}");
    assert_eq!(blobs.list("").await.expect("list"), ["a/b"]);
}

#[tokio::test]
async fn mem_store_fail_next_fails_without_applying() {
    let store = MemStore::new();
    store.fail_next(2);
    assert!(matches!(
        store.swap_checkpoint("l", None, b"a").await,
        Err(StoreError::Backend(_))
    ));
    assert!(matches!(
        store.checkpoint("l").await,
        Err(StoreError::Backend(_))
    ));
    assert_eq!(store.checkpoint("l").await.expect("third op passes"), None);
}

#[tokio::test]
async fn mem_store_hook_sees_ops_and_can_lose_the_ack() {
    let store = MemStore::new();
    store.set_hook(|op| match op {
        StoreOp::SwapCheckpoint {
            log: "lossy",
            new: b"b",
            ..
        } => Fault::FailAfterApply,
        StoreOp::Checkpoint { log: "broken" } => Fault::Fail,
        _ => Fault::Pass,
    });
    store
        .swap_checkpoint("lossy", None, b"a")
        .await
        .expect("pass");
    // The swap is applied although the caller is told it failed.
    assert!(matches!(
        store.swap_checkpoint("lossy", Some(b"a"), b"b").await,
        Err(StoreError::Backend(_))
    ));
    assert_eq!(
        store.checkpoint("lossy").await.expect("read").as_deref(),
        Some(&b"b"[..])
    );
    // A conflict stays a conflict even under FailAfterApply.
    let again = store.swap_checkpoint("lossy", Some(b"a"), b"b").await;
    assert!(
        matches!(again, Err(StoreError::Conflict { .. })),
        "{again:?}"
    );
    assert!(store.checkpoint("broken").await.is_err());
    store.clear_faults();
    assert_eq!(store.checkpoint("broken").await.expect("cleared"), None);
}

#[tokio::test]
async fn mem_blobs_hook_by_key_predicate() {
    let blobs = MemBlobs::new();
    blobs.set_hook(|op| match op {
        BlobOp::Put { key, .. } if key.starts_with("log/tile/") => Fault::Fail,
        BlobOp::Put {
            key: "log/checkpoint",
            ..
        } => Fault::FailAfterApply,
        _ => Fault::Pass,
    });
    assert!(matches!(
        blobs.put("log/tile/0/000", b"t").await,
        Err(BlobError::Io { .. })
    ));
    assert!(matches!(
        blobs.put("log/checkpoint", b"c").await,
        Err(BlobError::Io { .. })
    ));
    blobs.put("blobs/sha256/00", b"p").await.expect("pass");
    let keys: Vec<_> = blobs.snapshot().into_keys().collect();
    assert_eq!(keys, ["blobs/sha256/00", "log/checkpoint"]);
    // Bad keys are refused before any hook or budget is consulted.
    blobs.fail_next(1);
    assert!(matches!(
        blobs.get("../x").await,
        Err(BlobError::InvalidKey { .. })
    ));
    assert!(
        blobs.get("log/checkpoint").await.is_err(),
        "the budget is still there"
    );
    assert!(blobs.get("log/checkpoint").await.is_ok());
}

fn walk_names(dir: &std::path::Path) -> Vec<String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry"))
    {
        names.push(entry.file_name().to_string_lossy().into_owned());
        if entry.file_type().expect("type").is_dir() {
            names.extend(walk_names(&entry.path()));
        }
    }
    names
}
