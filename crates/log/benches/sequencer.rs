//! Sequencer throughput and full-log verification, each against a baseline measured in the same
//! run on the same disk. Prints Markdown rows for BENCHMARKS.md.
//!
//! `cargo bench -p urne-log --bench sequencer` (env `URNE_BENCH_APPENDS`, `URNE_BENCH_VERIFY_SIZE`).
//!
//! - appends/s: `Log` on `DirBlobs` + `SqliteStore` (stage, swap, tiles, checkpoint, all fsynced)
//!   vs the simplest durable log: one append-only file, same batching, one fsync per batch.
//! - verify: `verify_tree` over a log of `URNE_BENCH_VERIFY_SIZE` entries vs reading the same
//!   bundle and tile files without hashing.

use std::{
    io::Write,
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::sync::{mpsc, oneshot};
use urne_store::{Blobs, DirBlobs};
use urne_tlog::{Edge, note::Ed25519Signer};

const ENTRY_BYTES: usize = 128;
const CONCURRENT_APPENDERS: usize = 2048;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn entry(i: u64) -> Vec<u8> {
    let mut e = format!("bench entry {i} ").into_bytes();
    e.resize(ENTRY_BYTES, b'.');
    e
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let appends = env_or("URNE_BENCH_APPENDS", 200_000);
    let verify_size = env_or("URNE_BENCH_VERIFY_SIZE", 1_000_000);
    println!("| measurement | urne | baseline | ratio |");
    println!("|---|---|---|---|");
    rt.block_on(async {
        let ours = sequencer_appends(appends).await;
        let base = file_log_appends(appends).await;
        println!(
            "| appends/s, {appends} × {ENTRY_BYTES} B, {CONCURRENT_APPENDERS} concurrent appenders \
             (baseline: append-only file, fsync per batch) | {ours:.0} | {base:.0} | {:.2}× |",
            ours / base
        );
        let (verify, read) = verify_log(verify_size).await;
        println!(
            "| full verification of a {verify_size}-entry log from its tiles, s \
             (baseline: reading the same files) | {verify:.3} | {read:.3} | {:.2}× |",
            verify / read
        );
    });
}

async fn sequencer_appends(n: u64) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        urne_store_sqlite::SqliteStore::open(dir.path().join("db"))
            .await
            .unwrap(),
    );
    let blobs = Arc::new(DirBlobs::new(dir.path().join("public")));
    let signer =
        Ed25519Signer::generate("bench.urne.localhost/log", &mut rand_core::OsRng).unwrap();
    let config = urne_log::Config::new("bench.urne.localhost/log");
    let log = urne_log::Log::open(config, signer, store, blobs)
        .await
        .unwrap();
    let started = Instant::now();
    let handle = log.handle();
    drive(n, move |e| {
        let h = handle.clone();
        async move { h.append(e).await.map(|_| ()).map_err(|e| e.to_string()) }
    })
    .await;
    let rate = n as f64 / started.elapsed().as_secs_f64();
    log.shutdown().await;
    rate
}

/// Runs `n` appends from `CONCURRENT_APPENDERS` tasks, retrying on `Busy`.
async fn drive<F, Fut>(n: u64, append: F)
where
    F: Fn(Vec<u8>) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENT_APPENDERS {
        let next = next.clone();
        let append = append.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    return;
                }
                while let Err(e) = append(entry(i)).await {
                    assert!(e.contains("busy"), "append failed: {e}");
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// The baseline: the same batching, but a batch is one write to one file and one fsync.
async fn file_log_appends(n: u64) -> f64 {
    type Req = (Vec<u8>, oneshot::Sender<()>);
    let dir = tempfile::tempdir().unwrap();
    let mut file = std::fs::File::create(dir.path().join("log")).unwrap();
    let (tx, mut rx) = mpsc::channel::<Req>(65_536);
    let writer = tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let deadline = tokio::time::Instant::now() + Duration::from_millis(100);
            let mut batch = vec![first];
            while batch.len() < 4096 {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(r)) => batch.push(r),
                    _ => break,
                }
            }
            let bytes: Vec<u8> = batch.iter().flat_map(|(e, _)| e.iter().copied()).collect();
            file = tokio::task::spawn_blocking(move || {
                file.write_all(&bytes).unwrap();
                file.sync_data().unwrap();
                file
            })
            .await
            .unwrap();
            for (_, ack) in batch {
                let _ = ack.send(());
            }
        }
    });
    let started = Instant::now();
    drive(n, move |e| {
        let tx = tx.clone();
        async move {
            let (ack, done) = oneshot::channel();
            tx.send((e, ack)).await.map_err(|e| e.to_string())?;
            done.await.map_err(|e| e.to_string())
        }
    })
    .await;
    let rate = n as f64 / started.elapsed().as_secs_f64();
    writer.abort();
    rate
}

/// Writes a log of `size` entries straight from the pure sequencing step (fast set-up), then
/// times `verify_tree` against reading every file it reads.
async fn verify_log(size: u64) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let blobs = DirBlobs::new(dir.path());
    let signer =
        Ed25519Signer::generate("bench.urne.localhost/log", &mut rand_core::OsRng).unwrap();
    let mut edge = Edge::empty();
    let mut keys = Vec::new();
    let chunk = 65_536u64;
    let mut start = 0u64;
    while start < size {
        let end = (start + chunk).min(size);
        let entries: Vec<Vec<u8>> = (start..end).map(entry).collect();
        let (next, seq) = edge.append(&entries).unwrap();
        for (id, bytes) in &seq.bundles {
            let key = urne_log::log_key(&id.path());
            blobs.put(&key, bytes).await.unwrap();
            if id.is_full() || end == size {
                keys.push(key);
            }
        }
        for (id, bytes) in &seq.tiles {
            let key = urne_log::log_key(&id.path());
            blobs.put(&key, bytes).await.unwrap();
            if id.is_full() || end == size {
                keys.push(key);
            }
        }
        edge = next;
        start = end;
    }
    let checkpoint = urne_tlog::Checkpoint {
        origin: "bench.urne.localhost/log".into(),
        size,
        root: edge.root(),
        extensions: Vec::new(),
    };
    let mut note = urne_tlog::note::Note::new(&checkpoint.body()).unwrap();
    note.sign(&signer).unwrap();
    blobs
        .put(urne_log::CHECKPOINT_KEY, note.to_text().as_bytes())
        .await
        .unwrap();

    let started = Instant::now();
    let report = urne_log::verify_tree(&blobs, "bench.urne.localhost/log", &signer.verifier())
        .await
        .unwrap();
    let verify = started.elapsed().as_secs_f64();
    assert_eq!(report.size, size);

    let started = Instant::now();
    // Read with the same prefetch depth verify_tree uses, so only the hashing differs.
    use futures_util::{StreamExt, stream};
    let bytes: usize = stream::iter(&keys)
        .map(|key| async { blobs.get(key).await.unwrap().unwrap().len() })
        .buffered(32)
        .fold(0, |acc, n| async move { acc + n })
        .await;
    let read = started.elapsed().as_secs_f64();
    assert!(bytes > 0);
    (verify, read)
}
