//! The shared story suite on PostgreSQL, in a fresh schema per test. Needs
//! `URNE_TEST_POSTGRES_URL`; without it the tests say loudly that they skipped.

use std::sync::Arc;

use urne_store::Blobs as _;
use urne_store::testsuite::{POSTGRES_URL_ENV, blobs_suite, postgres_url_or_skip, store_suite};
use urne_store::{Store, StoreError};
use urne_store_postgres::testing::TestSchema;
use urne_store_postgres::{LeaderLock, PgStore};

async fn schema_or_fail(url: &str, test: &str) -> TestSchema {
    match TestSchema::create(url, test).await {
        Ok(schema) => schema,
        Err(e) => panic!("{POSTGRES_URL_ENV} is set, but the test database is unusable: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_store_story() {
    let test = "postgres_store_story";
    let Some(url) = postgres_url_or_skip(test) else {
        return;
    };
    let schema = schema_or_fail(&url, test).await;
    let store = Arc::new(schema.store().await.expect("connect in test schema"));
    // Run the suite in its own task so that the schema is dropped even if a story fails.
    let outcome = tokio::spawn(store_suite(Arc::clone(&store))).await;
    store.close().await;
    schema.drop_schema().await.expect("drop test schema");
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

#[tokio::test]
async fn postgres_store_reconnects_to_existing_state() {
    let test = "postgres_store_reconnects";
    let Some(url) = postgres_url_or_skip(test) else {
        return;
    };
    let schema = schema_or_fail(&url, test).await;
    let first = schema.store().await.expect("connect");
    first
        .swap_checkpoint("log", None, b"one")
        .await
        .expect("swap");
    first.close().await;
    // A second process: migrations are already applied, the row is there.
    let second = schema.store().await.expect("reconnect");
    let got = second.checkpoint("log").await.expect("read");
    second.close().await;
    schema.drop_schema().await.expect("drop test schema");
    assert_eq!(got.as_deref(), Some(&b"one"[..]));
}

/// Runs without a server: connecting to a closed loopback port must fail with a message that
/// names the target but not the password.
#[tokio::test]
async fn connect_errors_do_not_leak_the_password() {
    let url = "postgres://alice:s3cret-Pa55@127.0.0.1:1/urne";
    let err = PgStore::connect(url)
        .await
        .expect_err("nothing listens on port 1");
    let message = err.to_string();
    assert!(matches!(err, StoreError::Backend(_)), "{message}");
    assert!(message.contains("alice@127.0.0.1:1/urne"), "{message}");
    assert!(!message.contains("s3cret"), "password leaked: {message}");
    let err = PgStore::connect("postgres://alice:s3cret-Pa55@[bad")
        .await
        .expect_err("bad url");
    assert!(
        !err.to_string().contains("s3cret"),
        "password leaked: {err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_blobs_story() {
    let test = "postgres_blobs_story";
    let Some(url) = postgres_url_or_skip(test) else {
        return;
    };
    let schema = schema_or_fail(&url, test).await;
    let store = schema.store().await.expect("connect in test schema");
    let blobs = Arc::new(store.blobs());
    let outcome = tokio::spawn(blobs_suite(blobs)).await;
    store.close().await;
    schema.drop_schema().await.expect("drop test schema");
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Blobs a `put` acknowledged are there for a second process (a fresh pool) and survive the
/// first one closing.
#[tokio::test]
async fn postgres_blobs_are_shared_between_processes() {
    let test = "postgres_blobs_shared";
    let Some(url) = postgres_url_or_skip(test) else {
        return;
    };
    let schema = schema_or_fail(&url, test).await;
    let first = schema.store().await.expect("connect");
    first
        .blobs()
        .put("log/tile/0/000", b"tile")
        .await
        .expect("put");
    first.close().await;
    let second = schema.store().await.expect("reconnect");
    let got = second.blobs().get("log/tile/0/000").await.expect("get");
    let listed = second.blobs().list("log/").await.expect("list");
    second.close().await;
    schema.drop_schema().await.expect("drop test schema");
    assert_eq!(got.as_deref(), Some(&b"tile"[..]));
    assert_eq!(listed, ["log/tile/0/000"]);
}

/// One holder of the leader lock at a time; closing the holder's session frees it; two
/// schemas (two logs) never share a lock.
#[tokio::test]
async fn postgres_leader_lock_has_one_holder_and_passes_on() {
    let test = "postgres_leader_lock";
    let Some(url) = postgres_url_or_skip(test) else {
        return;
    };
    let schema = schema_or_fail(&url, test).await;
    let other_schema = schema_or_fail(&url, "postgres_leader_lock_other").await;
    let store = schema.store().await.expect("connect");
    let other_store = other_schema.store().await.expect("connect");
    let mut a = LeaderLock::new(&store, "log.example/log");
    let mut b = LeaderLock::new(&store, "log.example/log");
    let mut elsewhere = LeaderLock::new(&other_store, "log.example/log");
    let (store2, other2) = (store.clone(), other_store.clone());
    let outcome = async move {
        let (store, other_store) = (store2, other2);
        assert!(a.try_acquire().await.expect("a"), "a takes the free lock");
        assert!(a.try_acquire().await.expect("a again"), "re-taking is fine");
        a.check().await.expect("a holds it");
        assert!(!b.try_acquire().await.expect("b"), "b must wait");
        assert!(
            elsewhere.try_acquire().await.expect("other schema"),
            "another schema's log has its own lock"
        );
        a.release().await;
        assert!(b.try_acquire().await.expect("b"), "b takes over");
        b.check().await.expect("b holds it");
        // The channel is per schema too, and a notification reaches a listener.
        let channel = store.channel("log.example/log").await.expect("channel");
        let other = other_store
            .channel("log.example/log")
            .await
            .expect("channel");
        assert_ne!(channel, other);
        let mut listener = store.listen(&channel).await.expect("listen");
        store.notify(&channel, "7").await.expect("notify");
        let got = tokio::time::timeout(std::time::Duration::from_secs(10), listener.recv())
            .await
            .expect("notification within 10 s")
            .expect("recv");
        assert_eq!(got.as_deref(), Some("7"));
        store
            .set_leader_url("log.example/log", "http://127.0.0.1:1")
            .await
            .expect("set leader");
        assert_eq!(
            store
                .leader_url("log.example/log")
                .await
                .expect("leader")
                .as_deref(),
            Some("http://127.0.0.1:1")
        );
        b.release().await;
        elsewhere.release().await;
    };
    let result = tokio::spawn(outcome).await;
    store.close().await;
    other_store.close().await;
    schema.drop_schema().await.expect("drop");
    other_schema.drop_schema().await.expect("drop");
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}
