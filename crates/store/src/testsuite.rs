//! The one story test suite every backend runs: [`store_suite`] for a [`Store`],
//! [`blobs_suite`] for a [`Blobs`]. Each backend's tests hand it a fresh, empty instance
//! (a new SQLite file, a new PostgreSQL schema, a new temporary directory) on a
//! multi-threaded tokio runtime, so that the concurrency stories really race.
//!
//! Also home of the [`POSTGRES_URL_ENV`] convention used by every crate with database tests.
//!
//! This module is compiled into the library (it is small and has no extra dependencies) so
//! that other crates' tests can use it; production code never calls it. Failures panic with
//! the story's name.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::Arc;

use tokio::sync::Barrier;

use crate::{BlobError, Blobs, KEY_BYTES_MAX, KEY_SEGMENT_BYTES_MAX, Store, StoreError};

/// The environment variable that holds a PostgreSQL URL for tests, e.g.
/// `postgres://postgres@127.0.0.1:5432/test`. CI sets it.
pub const POSTGRES_URL_ENV: &str = "URNE_TEST_POSTGRES_URL";

/// The PostgreSQL URL from [`POSTGRES_URL_ENV`], or `None` after telling stderr loudly that
/// `test_name` is skipped, why, and how to enable it. An empty value counts as unset.
///
/// Writes to the stderr handle directly: libtest captures only the print macros, so the
/// notice shows even when the test passes.
pub fn postgres_url_or_skip(test_name: &str) -> Option<String> {
    match std::env::var(POSTGRES_URL_ENV) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            let _ = writeln!(
                std::io::stderr(),
                "\n*** SKIPPED {test_name}: {POSTGRES_URL_ENV} is not set, so this PostgreSQL \
                 test ran nothing.\n*** To run it: {POSTGRES_URL_ENV}=postgres://postgres@\
                 127.0.0.1:5432/test cargo test (needs a reachable server; CI sets it).\n"
            );
            None
        }
    }
}

/// Runs every [`Store`] story against `store`, which must be empty.
pub async fn store_suite<S: Store + ?Sized>(store: Arc<S>) {
    store_starts_empty(&*store).await;
    store_cas_from_none(&*store).await;
    store_cas_chain(&*store).await;
    store_conflicts_change_nothing(&*store).await;
    store_logs_are_independent(&*store).await;
    store_values_are_exact_bytes(&*store).await;
    store_one_winner_among_racers(Arc::clone(&store)).await;
    store_contended_chain_is_linear(store).await;
}

fn expect_conflict(story: &str, result: Result<(), StoreError>) {
    match result {
        Err(StoreError::Conflict { .. }) => {}
        other => panic!("{story}: expected a Conflict, got {other:?}"),
    }
}

async fn current<S: Store + ?Sized>(store: &S, story: &str, log: &str) -> Option<Vec<u8>> {
    match store.checkpoint(log).await {
        Ok(value) => value,
        Err(e) => panic!("{story}: checkpoint({log:?}) failed: {e}"),
    }
}

async fn swap<S: Store + ?Sized>(
    store: &S,
    story: &str,
    log: &str,
    old: Option<&[u8]>,
    new: &[u8],
) {
    if let Err(e) = store.swap_checkpoint(log, old, new).await {
        panic!("{story}: swap_checkpoint({log:?}) failed: {e}");
    }
}

async fn store_starts_empty<S: Store + ?Sized>(store: &S) {
    let story = "starts empty";
    for log in ["story/empty", "results.example-county.gov/log"] {
        assert_eq!(current(store, story, log).await, None, "{story}: {log:?}");
    }
}

async fn store_cas_from_none<S: Store + ?Sized>(store: &S) {
    let story = "CAS from None";
    let log = "story/from-none";
    swap(store, story, log, None, b"first").await;
    assert_eq!(
        current(store, story, log).await.as_deref(),
        Some(&b"first"[..]),
        "{story}"
    );
    // A second "first" checkpoint is a conflict: someone already sequenced.
    expect_conflict(story, store.swap_checkpoint(log, None, b"other").await);
    assert_eq!(
        current(store, story, log).await.as_deref(),
        Some(&b"first"[..]),
        "{story}"
    );
}

async fn store_cas_chain<S: Store + ?Sized>(store: &S) {
    let story = "CAS chain";
    let log = "story/chain";
    let mut old: Option<Vec<u8>> = None;
    for i in 0..20 {
        let new = format!("checkpoint {i}").into_bytes();
        swap(store, story, log, old.as_deref(), &new).await;
        assert_eq!(
            current(store, story, log).await,
            Some(new.clone()),
            "{story}: step {i}"
        );
        old = Some(new);
    }
    // Swapping a value for itself is allowed (a restart re-committing what it found).
    swap(
        store,
        story,
        log,
        old.as_deref(),
        old.as_deref().unwrap_or_default(),
    )
    .await;
    assert_eq!(current(store, story, log).await, old, "{story}: self-swap");
}

async fn store_conflicts_change_nothing<S: Store + ?Sized>(store: &S) {
    let story = "conflicts change nothing";
    let log = "story/conflicts";
    // Some(old) where there is no checkpoint yet.
    expect_conflict(story, store.swap_checkpoint(log, Some(b"a"), b"b").await);
    assert_eq!(
        current(store, story, log).await,
        None,
        "{story}: phantom old created a row"
    );
    swap(store, story, log, None, b"a").await;
    swap(store, story, log, Some(b"a"), b"b").await;
    // Stale old value (the previous checkpoint), a prefix, an extension, a different value,
    // the new value itself spelled differently by case: all refused.
    for stale in [&b"a"[..], b"", b"B", b"bb", b"b\0", b"c"] {
        expect_conflict(story, store.swap_checkpoint(log, Some(stale), b"x").await);
        assert_eq!(
            current(store, story, log).await.as_deref(),
            Some(&b"b"[..]),
            "{story}: old {stale:?} changed the row"
        );
    }
    expect_conflict(story, store.swap_checkpoint(log, None, b"x").await);
    assert_eq!(
        current(store, story, log).await.as_deref(),
        Some(&b"b"[..]),
        "{story}"
    );
}

async fn store_logs_are_independent<S: Store + ?Sized>(store: &S) {
    let story = "logs are independent";
    let logs = [
        "story/indep/a",
        "story/indep/a/b",
        "story/indep/A",
        "story/indep/a ",
        "story/indep/'; DROP TABLE checkpoints; --",
        "story/indep/\u{65e5}\u{672c}\u{8a9e}",
    ];
    for (i, log) in logs.iter().enumerate() {
        swap(store, story, log, None, format!("value {i}").as_bytes()).await;
    }
    for (i, log) in logs.iter().enumerate() {
        let want = format!("value {i}").into_bytes();
        assert_eq!(
            current(store, story, log).await,
            Some(want),
            "{story}: {log:?}"
        );
    }
    swap(store, story, logs[0], Some(b"value 0"), b"moved").await;
    for (i, log) in logs.iter().enumerate().skip(1) {
        let want = format!("value {i}").into_bytes();
        assert_eq!(
            current(store, story, log).await,
            Some(want),
            "{story}: {log:?} moved too"
        );
    }
}

async fn store_values_are_exact_bytes<S: Store + ?Sized>(store: &S) {
    let story = "values are exact bytes";
    let binary: Vec<u8> = (0..=255).collect();
    let large: Vec<u8> = (0..64 * 1024 + 1).map(|i: u32| (i % 251) as u8).collect();
    let huge: Vec<u8> = (0..1024 * 1024).map(|i: u32| (i % 253) as u8).collect();
    let log = "story/bytes";
    let mut old: Option<Vec<u8>> = None;
    // The empty value is a value, distinct from "no checkpoint".
    for value in [Vec::new(), binary, large, huge.clone(), Vec::new(), huge] {
        swap(store, story, log, old.as_deref(), &value).await;
        let got = current(store, story, log).await;
        assert!(
            got.as_ref() == Some(&value),
            "{story}: {} bytes came back different",
            value.len()
        );
        old = Some(value);
    }
    let mut almost = old.clone().unwrap_or_default();
    if let Some(last) = almost.last_mut() {
        *last ^= 1;
    }
    expect_conflict(story, store.swap_checkpoint(log, Some(&almost), b"x").await);
}

async fn store_one_winner_among_racers<S: Store + ?Sized>(store: Arc<S>) {
    let story = "one winner among racers";
    let racers = 32;
    for round in 0..3 {
        let log = format!("story/race/{round}");
        let base = b"base".to_vec();
        swap(&*store, story, &log, None, &base).await;
        let barrier = Arc::new(Barrier::new(racers));
        let tasks: Vec<_> = (0..racers)
            .map(|i| {
                let (store, barrier, log, base) = (
                    Arc::clone(&store),
                    Arc::clone(&barrier),
                    log.clone(),
                    base.clone(),
                );
                tokio::spawn(async move {
                    barrier.wait().await;
                    let new = format!("racer {i}").into_bytes();
                    (
                        new.clone(),
                        store.swap_checkpoint(&log, Some(&base), &new).await,
                    )
                })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            let (new, result) = task.await.expect("racer task panicked");
            match result {
                Ok(()) => winners.push(new),
                Err(StoreError::Conflict { .. }) => {}
                Err(e) => panic!("{story}: a racer got a backend error: {e}"),
            }
        }
        assert_eq!(
            winners.len(),
            1,
            "{story}: round {round}: {} winners",
            winners.len()
        );
        assert_eq!(
            current(&*store, story, &log).await,
            winners.pop(),
            "{story}: round {round}"
        );
    }
}

async fn store_contended_chain_is_linear<S: Store + ?Sized>(store: Arc<S>) {
    let story = "contended chain is linear";
    let (workers, swaps_each) = (8, 25);
    let log = "story/contended";
    swap(&*store, story, log, None, b"genesis").await;
    let tasks: Vec<_> = (0..workers)
        .map(|w| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let mut done = Vec::new();
                while done.len() < swaps_each {
                    let old = store.checkpoint(log).await.expect("read").expect("row");
                    let new = format!("worker {w} swap {}", done.len()).into_bytes();
                    match store.swap_checkpoint(log, Some(&old), &new).await {
                        Ok(()) => done.push((old, new)),
                        Err(StoreError::Conflict { .. }) => tokio::task::yield_now().await,
                        Err(e) => panic!("contended chain is linear: backend error: {e}"),
                    }
                }
                done
            })
        })
        .collect();
    let mut next: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
    for task in tasks {
        for (old, new) in task.await.expect("worker task panicked") {
            // Two successful swaps from the same old value would break linearizability.
            assert!(
                next.insert(old, new).is_none(),
                "{story}: two swaps from one value"
            );
        }
    }
    let mut value = b"genesis".to_vec();
    for step in 0..workers * swaps_each {
        value = match next.remove(&value) {
            Some(new) => new,
            None => panic!("{story}: the chain breaks after {step} swaps"),
        };
    }
    assert!(next.is_empty(), "{story}: swaps off the chain");
    assert_eq!(
        current(&*store, story, log).await,
        Some(value),
        "{story}: final value"
    );
}

/// Runs every [`Blobs`] story against `blobs`, which must be empty.
pub async fn blobs_suite<B: Blobs + ?Sized>(blobs: Arc<B>) {
    blobs_start_empty(&*blobs).await;
    blobs_round_trip(&*blobs).await;
    blobs_delete(&*blobs).await;
    blobs_list(&*blobs).await;
    blobs_refuse_bad_keys(&*blobs).await;
    blobs_racing_puts_never_mix(Arc::clone(&blobs)).await;
    blobs_racing_puts_in_new_dirs(blobs).await;
}

async fn get<B: Blobs + ?Sized>(blobs: &B, story: &str, key: &str) -> Option<Vec<u8>> {
    match blobs.get(key).await {
        Ok(value) => value,
        Err(e) => panic!("{story}: get({key:?}) failed: {e}"),
    }
}

async fn put<B: Blobs + ?Sized>(blobs: &B, story: &str, key: &str, bytes: &[u8]) {
    if let Err(e) = blobs.put(key, bytes).await {
        panic!("{story}: put({key:?}) failed: {e}");
    }
}

async fn list<B: Blobs + ?Sized>(blobs: &B, story: &str, prefix: &str) -> Vec<String> {
    match blobs.list(prefix).await {
        Ok(keys) => keys,
        Err(e) => panic!("{story}: list({prefix:?}) failed: {e}"),
    }
}

async fn blobs_start_empty<B: Blobs + ?Sized>(blobs: &B) {
    let story = "blobs start empty";
    assert_eq!(get(blobs, story, "log/checkpoint").await, None, "{story}");
    assert_eq!(
        list(blobs, story, "").await,
        Vec::<String>::new(),
        "{story}"
    );
    assert_eq!(
        list(blobs, story, "log/tile/").await,
        Vec::<String>::new(),
        "{story}"
    );
}

async fn blobs_round_trip<B: Blobs + ?Sized>(blobs: &B) {
    let story = "blobs round trip";
    let binary: Vec<u8> = (0..=255).collect();
    let huge: Vec<u8> = (0..1024 * 1024).map(|i: u32| (i % 253) as u8).collect();
    let longest = format!(
        "{}/{}/{}",
        "x".repeat(KEY_SEGMENT_BYTES_MAX),
        "y".repeat(KEY_SEGMENT_BYTES_MAX),
        "z".repeat(KEY_BYTES_MAX - 2 * KEY_SEGMENT_BYTES_MAX - 2)
    );
    let cases: [(&str, &[u8]); 6] = [
        ("log/checkpoint", b"first"),
        ("log/checkpoint", b"second, longer than the first"),
        ("log/tile/0/x001/234", &binary),
        ("blobs/sha256/00ff", &huge),
        ("empty.-_", b""),
        (&longest, b"longest key"),
    ];
    for (key, value) in cases {
        put(blobs, story, key, value).await;
        let got = get(blobs, story, key).await;
        assert!(
            got.as_deref() == Some(value),
            "{story}: {key:?} came back different"
        );
    }
    // A key under which only deeper keys exist holds nothing.
    assert_eq!(
        get(blobs, story, "log/tile").await,
        None,
        "{story}: a directory is no blob"
    );
    assert_eq!(
        get(blobs, story, "log/checkpoint/x").await,
        None,
        "{story}: under a blob"
    );
}

async fn blobs_delete<B: Blobs + ?Sized>(blobs: &B) {
    let story = "blobs delete";
    put(blobs, story, "del/a", b"a").await;
    put(blobs, story, "del/b", b"b").await;
    blobs.delete("del/a").await.expect("delete");
    assert_eq!(get(blobs, story, "del/a").await, None, "{story}");
    assert_eq!(
        get(blobs, story, "del/b").await.as_deref(),
        Some(&b"b"[..]),
        "{story}"
    );
    blobs
        .delete("del/a")
        .await
        .expect("deleting a missing key is fine");
    blobs
        .delete("del/never/was")
        .await
        .expect("deleting a missing key is fine");
    assert_eq!(list(blobs, story, "del/").await, ["del/b"], "{story}");
    put(blobs, story, "del/a", b"again").await;
    assert_eq!(
        get(blobs, story, "del/a").await.as_deref(),
        Some(&b"again"[..]),
        "{story}"
    );
}

async fn blobs_list<B: Blobs + ?Sized>(blobs: &B) {
    let story = "blobs list";
    for key in [
        "ls/b", "ls/a/c/d", "ls/a/b", "ls/a/cc", "ls/ab", "ls/a-", "ls/a.p/1",
    ] {
        put(blobs, story, key, key.as_bytes()).await;
    }
    let cases: [(&str, &[&str]); 8] = [
        (
            "ls/",
            &[
                "ls/a-", "ls/a.p/1", "ls/a/b", "ls/a/c/d", "ls/a/cc", "ls/ab", "ls/b",
            ],
        ),
        ("ls/a/", &["ls/a/b", "ls/a/c/d", "ls/a/cc"]),
        ("ls/a/c", &["ls/a/c/d", "ls/a/cc"]),
        ("ls/a/c/", &["ls/a/c/d"]),
        (
            "ls/a",
            &[
                "ls/a-", "ls/a.p/1", "ls/a/b", "ls/a/c/d", "ls/a/cc", "ls/ab",
            ],
        ),
        ("ls/a/b", &["ls/a/b"]),
        ("ls/zz", &[]),
        ("ls/none/", &[]),
    ];
    for (prefix, want) in cases {
        assert_eq!(
            list(blobs, story, prefix).await,
            want,
            "{story}: prefix {prefix:?}"
        );
    }
    let all = list(blobs, story, "").await;
    assert!(
        all.windows(2).all(|w| w[0] < w[1]),
        "{story}: not sorted: {all:?}"
    );
    assert!(
        all.iter().any(|k| k == "ls/a/c/d"),
        "{story}: list(\"\") misses keys"
    );
}

async fn blobs_refuse_bad_keys<B: Blobs + ?Sized>(blobs: &B) {
    let story = "blobs refuse bad keys";
    let too_long_segment = "s".repeat(KEY_SEGMENT_BYTES_MAX + 1);
    let too_long_key = ["k"; KEY_BYTES_MAX / 2 + 1].join("/");
    let bad = [
        "",
        "/abs",
        "trailing/",
        "a//b",
        ".",
        "..",
        "./a",
        "a/.",
        "a/../b",
        "../escape",
        "a\\b",
        "a b",
        "a\0b",
        "caf\u{e9}",
        "a:b",
        "a~b",
        "*",
        "a\nb",
        &too_long_segment,
        &too_long_key,
    ];
    let before = list(blobs, story, "").await;
    for key in bad {
        let is_invalid = |r: &Result<_, BlobError>| matches!(r, Err(BlobError::InvalidKey { .. }));
        assert!(
            is_invalid(&blobs.put(key, b"x").await.map(drop)),
            "{story}: put {key:?}"
        );
        assert!(
            is_invalid(&blobs.get(key).await.map(drop)),
            "{story}: get {key:?}"
        );
        assert!(
            is_invalid(&blobs.delete(key).await.map(drop)),
            "{story}: delete {key:?}"
        );
    }
    for prefix in [
        "/",
        "/a",
        "a//",
        "../",
        "a/../",
        "./",
        "a\\",
        "a b",
        "\u{e9}",
        &too_long_key,
    ] {
        let result = blobs.list(prefix).await;
        assert!(
            matches!(result, Err(BlobError::InvalidKey { .. })),
            "{story}: list {prefix:?} gave {result:?}"
        );
    }
    assert_eq!(
        list(blobs, story, "").await,
        before,
        "{story}: a bad key changed something"
    );
}

async fn blobs_racing_puts_never_mix<B: Blobs + ?Sized>(blobs: Arc<B>) {
    let story = "racing puts never mix";
    let (writers, size) = (8u8, 64 * 1024);
    let key = "race/same";
    put(&*blobs, story, key, &vec![0xEE; size / 2]).await;
    let barrier = Arc::new(Barrier::new(usize::from(writers) + 1));
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (blobs, barrier) = (Arc::clone(&blobs), Arc::clone(&barrier));
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            for _ in 0..5 {
                blobs.put(key, &vec![w; size]).await.expect("racing put");
            }
        }));
    }
    let reader = {
        let (blobs, barrier) = (Arc::clone(&blobs), Arc::clone(&barrier));
        tokio::spawn(async move {
            barrier.wait().await;
            for _ in 0..50 {
                let value = blobs.get(key).await.expect("racing get").expect("present");
                let whole = value.iter().all(|&b| b == value[0]);
                assert!(whole, "racing puts never mix: a reader saw a mix");
                tokio::task::yield_now().await;
            }
        })
    };
    for task in tasks {
        task.await.expect("writer task panicked");
    }
    reader.await.expect("reader task panicked");
    let last = get(&*blobs, story, key).await.expect("present");
    assert!(
        last.len() == size && last.iter().all(|&b| b == last[0] && b < writers),
        "{story}"
    );
}

async fn blobs_racing_puts_in_new_dirs<B: Blobs + ?Sized>(blobs: Arc<B>) {
    let story = "racing puts in new dirs";
    let keys: Vec<String> = (0..24)
        .map(|i| format!("fresh/d{}/sub/k{i:02}", i % 3))
        .collect();
    let tasks: Vec<_> = keys
        .iter()
        .map(|key| {
            let (blobs, key) = (Arc::clone(&blobs), key.clone());
            tokio::spawn(async move { blobs.put(&key, key.as_bytes()).await })
        })
        .collect();
    for task in tasks {
        task.await
            .expect("put task panicked")
            .expect("put in a new directory");
    }
    let mut want = keys.clone();
    want.sort();
    assert_eq!(list(&*blobs, story, "fresh/").await, want, "{story}");
    let distinct: HashSet<_> = want.iter().collect();
    assert_eq!(distinct.len(), keys.len(), "{story}");
}
