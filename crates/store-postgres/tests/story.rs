//! The shared story suite on PostgreSQL, in a fresh schema per test. Needs
//! `URNE_TEST_POSTGRES_URL`; without it the tests say loudly that they skipped.

use std::sync::Arc;

use urne_store::testsuite::{POSTGRES_URL_ENV, postgres_url_or_skip, store_suite};
use urne_store::{Store, StoreError};
use urne_store_postgres::PgStore;
use urne_store_postgres::testing::TestSchema;

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
