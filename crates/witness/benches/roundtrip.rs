//! Add-checkpoint round-trip latency over loopback HTTP/1.1 (one keep-alive connection, one
//! request at a time), against a baseline on the same server: a trivial `POST /baseline`
//! handler that reads a body of the same size and answers 200.
//!
//! Cases: baseline; re-cosign of the same checkpoint (full checks, a SQLite commit); a log that
//! grows by one entry per request (proof check, SQLite commit); the same with the in-memory
//! state (no fsync). Run: `cargo bench -p urne-witness --bench roundtrip`. Set
//! `WITNESS_BENCH_ITERATIONS` to change the number of timed requests per case.

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::routing::post;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use urne_witness::{MemoryState, SqliteState, WitnessState, router};

use common::TestLog;

type HttpClient = Client<HttpConnector, Full<Bytes>>;

const WARMUP: usize = 100;

async fn post_ok(client: &HttpClient, url: &str, body: &Bytes) {
    let request = hyper::Request::post(url)
        .body(Full::new(body.clone()))
        .expect("request");
    let response = client.request(request).await.expect("response");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert!(status.is_success(), "{status}: {bytes:?}");
}

async fn start(state: Arc<dyn WitnessState>) -> String {
    let (witness, _clock) = common::witness(state);
    let app = router(witness).route(
        "/baseline",
        post(|body: Bytes| async move { format!("{}\n", body.len()) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    base
}

/// Times `bodies` sent one after the other (the first `WARMUP` untimed).
async fn run(client: &HttpClient, url: &str, bodies: &[Bytes]) -> Vec<Duration> {
    let mut times = Vec::with_capacity(bodies.len());
    for (i, body) in bodies.iter().enumerate() {
        let start = Instant::now();
        post_ok(client, url, body).await;
        if i >= WARMUP {
            times.push(start.elapsed());
        }
    }
    times
}

fn report(name: &str, mut times: Vec<Duration>) {
    times.sort();
    let n = times.len();
    let mean = times.iter().sum::<Duration>() / n as u32;
    let at = |q: f64| times[((n as f64 * q) as usize).min(n - 1)];
    println!(
        "{name:<28} n={n:<6} mean={:>8.1}µs p50={:>8.1}µs p99={:>8.1}µs",
        mean.as_secs_f64() * 1e6,
        at(0.50).as_secs_f64() * 1e6,
        at(0.99).as_secs_f64() * 1e6,
    );
}

/// Bodies for a log growing one entry per request, starting from a log of 1000 entries.
fn growing_bodies(count: usize) -> Vec<Bytes> {
    let mut log = TestLog::new();
    log.grow("e", 1000);
    let mut bodies = vec![Bytes::from(log.body(0))];
    for _ in 1..count {
        let old = log.size();
        log.grow("e", 1);
        bodies.push(Bytes::from(log.body(old)));
    }
    bodies
}

fn main() {
    let iterations: usize = std::env::var("WITNESS_BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let count = WARMUP + iterations;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir_in(std::env::temp_dir()).expect("tempdir");
    runtime.block_on(async {
        let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
        let growing = growing_bodies(count);

        let sqlite = SqliteState::open(dir.path().join("witness.db"))
            .await
            .expect("open");
        let base = start(Arc::new(sqlite)).await;
        let add = format!("{base}/add-checkpoint");
        // Baseline: the body of a typical grow request, answered without any work.
        let baseline = vec![growing[count / 2].clone(); count];
        report(
            "baseline (trivial 200)",
            run(&client, &format!("{base}/baseline"), &baseline).await,
        );
        report(
            "add-checkpoint grow sqlite",
            run(&client, &add, &growing).await,
        );
        // Re-cosign the last checkpoint: `old` = its size, no proof.
        let mut log = TestLog::new();
        log.grow("e", 1000 + count as u64 - 1);
        let same = vec![Bytes::from(log.body(log.size())); count];
        report(
            "add-checkpoint same sqlite",
            run(&client, &add, &same).await,
        );

        let base = start(Arc::new(MemoryState::new())).await;
        let add = format!("{base}/add-checkpoint");
        report(
            "add-checkpoint grow memory",
            run(&client, &add, &growing).await,
        );
    });
    println!("sqlite file in {}", dir.path().display());
}
