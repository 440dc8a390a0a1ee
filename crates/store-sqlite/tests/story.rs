//! The shared story suite on SQLite, and what only a file can show: reopening.

use std::sync::Arc;

use urne_store::Store;
use urne_store::testsuite::store_suite;
use urne_store_sqlite::SqliteStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_store_story() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path().join("urne.db"))
        .await
        .expect("open");
    store_suite(Arc::new(store)).await;
}

#[tokio::test]
async fn sqlite_store_survives_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("urne.db");
    let store = SqliteStore::open(&path).await.expect("open");
    store
        .swap_checkpoint("log", None, b"one")
        .await
        .expect("swap");
    store.close().await;
    // Migrations run again on an up-to-date database and change nothing.
    let store = SqliteStore::open(&path).await.expect("reopen");
    assert_eq!(
        store.checkpoint("log").await.expect("read").as_deref(),
        Some(&b"one"[..])
    );
    store
        .swap_checkpoint("log", Some(b"one"), b"two")
        .await
        .expect("swap after reopen");
}

#[tokio::test]
async fn sqlite_store_open_failure_is_a_clear_backend_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("no/such/dir/urne.db");
    let err = SqliteStore::open(&path)
        .await
        .expect_err("missing parent directory");
    let message = err.to_string();
    assert!(
        message.contains("cannot open") && message.contains("urne.db"),
        "{message}"
    );
}
