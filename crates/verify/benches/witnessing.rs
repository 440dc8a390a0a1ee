//! Witnessing and mirroring costs, each as a ratio to a baseline measured in the same run.
//!
//! 1. Cosignature round trip: `Cosigner::cosign` against one real witness on loopback
//!    (`SqliteState`, fsync), the log growing one entry per round, vs a bare HTTP round trip
//!    (ureq POST of the same body to a handler that answers 200 with no work).
//! 2. Release to quorum: from appending one release (tiles, blob, checkpoint written) to a
//!    checkpoint cosigned by all of 5 witnesses on loopback (quorum 5 of 5), vs the same bare
//!    HTTP round trip.
//! 3. Mirror catch-up on a log of `MIRROR_BENCH_ENTRIES` (default 100,000) release entries: a
//!    fresh follower (the mirror's verifier) reading and verifying the whole tree from a
//!    directory — every bundle, tile, official signature and payload hash — vs only reading the
//!    same files. Storing is left out: `DirBlobs` fsyncs every file, so it measures the disk.
//!
//! Run: `cargo bench -p urne-verify --bench witnessing`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use urne_tlog::cosignature::CosignatureSigner;
use urne_verify::fixture::{DirProofs, FixtureLog};
use urne_verify::{DirSource, Follower, Options};
use urne_witness::client::Cosigner;
use urne_witness::{KnownLogs, SqliteState, SystemClock, Witness};

const ORIGIN: &str = "results.example-county.gov/log";

fn stats(name: &str, mut times: Vec<Duration>) -> f64 {
    times.sort();
    let n = times.len();
    let mean = times.iter().sum::<Duration>().as_secs_f64() / n as f64;
    let p99 = times[((n as f64 * 0.99) as usize).min(n - 1)];
    println!(
        "{name:<44} n={n:<5} mean={:>9.1}µs p50={:>9.1}µs p99={:>9.1}µs",
        mean * 1e6,
        times[n / 2].as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6
    );
    mean
}

async fn start_witness(dir: &std::path::Path, i: usize, log: &FixtureLog) -> (String, String) {
    let mut seed = [9u8; 32];
    seed[0] = i as u8;
    let signer = CosignatureSigner::from_seed(&format!("w{i}.bench"), seed).expect("key");
    let vkey = signer.verifier().vkey();
    let mut known = KnownLogs::new();
    known.add(ORIGIN, log.log_key().verifier());
    let state = SqliteState::open(dir.join(format!("w{i}.db")))
        .await
        .expect("state");
    let witness = Arc::new(Witness::new(
        signer,
        known,
        Arc::new(state),
        Arc::new(SystemClock),
    ));
    let app = urne_witness::router(witness).route(
        "/baseline",
        axum::routing::post(|body: axum::body::Bytes| async move { format!("{}\n", body.len()) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (url, vkey)
}

fn baseline(url: &str, body: &str, n: usize) -> Vec<Duration> {
    let agent = urne_verify::fetch::agent(Duration::from_secs(5));
    (0..n)
        .map(|_| {
            let start = Instant::now();
            let mut r = agent
                .post(&format!("{url}/baseline"))
                .send(body)
                .expect("post");
            let _ = r.body_mut().read_to_string();
            start.elapsed()
        })
        .collect()
}

fn main() {
    let rounds: usize = std::env::var("WITNESS_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let entries: usize = std::env::var("MIRROR_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let tmp = tempfile::tempdir_in(std::env::temp_dir()).expect("tempdir");

    // 1 and 2: five witnesses; the policy lists them all with quorum 5 of 5.
    let dir = tmp.path().join("log");
    let probe = FixtureLog::new(&tmp.path().join("probe"), ORIGIN, "quorum none");
    let witnesses: Vec<(String, String)> = rt.block_on(async {
        let mut out = Vec::new();
        for i in 0..5 {
            out.push(start_witness(tmp.path(), i, &probe).await);
        }
        out
    });
    let mut lines = String::new();
    for (i, (url, vkey)) in witnesses.iter().enumerate() {
        lines.push_str(&format!("witness w{i} {vkey} {url}\n"));
    }
    let first = lines.lines().next().unwrap_or_default();
    let one = urne_tlog::policy::Policy::parse(&format!("{first}\nquorum w0\n")).expect("policy");
    lines.push_str("group all all w0 w1 w2 w3 w4\nquorum all\n");
    let all = urne_tlog::policy::Policy::parse(&lines).expect("policy");
    let mut log = FixtureLog::new(&dir, ORIGIN, &lines);
    log.publish(1000, "warm");

    let body = urne_witness::request::AddCheckpoint::body(0, &[], &log.signed_checkpoint());
    let base = stats(
        "baseline: bare HTTP POST round trip",
        baseline(&witnesses[0].0, &body, rounds),
    );

    let single = Cosigner::new(&one);
    let proofs = DirProofs(dir.clone());
    rt.block_on(single.cosign(&log.signed_checkpoint(), &proofs));
    let mut times = Vec::new();
    for _ in 0..rounds {
        log.publish(1, "r");
        let note = log.signed_checkpoint();
        let start = Instant::now();
        let report = rt.block_on(single.cosign(&note, &proofs));
        times.push(start.elapsed());
        assert!(report.quorum_met, "{:?}", report.outcomes);
    }
    let cosign = stats("cosignature round trip (1 witness, sqlite)", times);

    let five = Cosigner::new(&all);
    rt.block_on(five.cosign(&log.signed_checkpoint(), &proofs));
    let mut times = Vec::new();
    for _ in 0..rounds {
        let start = Instant::now();
        log.publish(1, "q");
        let report = rt.block_on(five.cosign(&log.signed_checkpoint(), &proofs));
        times.push(start.elapsed());
        assert!(report.quorum_met, "{:?}", report.outcomes);
    }
    let quorum = stats("release -> 5-of-5 cosigned checkpoint", times);
    println!("ratio cosign / baseline: {:.1}x", cosign / base);
    println!("ratio release-to-quorum / baseline: {:.1}x", quorum / base);

    // 3: mirror catch-up.
    let big = tmp.path().join("big");
    let start = Instant::now();
    let mut big_log = FixtureLog::new(&big, ORIGIN, "quorum none");
    big_log.publish(entries, "m");
    println!(
        "built a {}-entry log in {:.1}s",
        big_log.size(),
        start.elapsed().as_secs_f64()
    );
    let start = Instant::now();
    let (files, bytes) = read_tree(&big);
    let read = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let mut follower = Follower::new(Options::default(), None);
    let advance = follower.advance(&DirSource::new(&big)).expect("catch-up");
    let catch_up = start.elapsed().as_secs_f64();
    println!(
        "baseline: read {files} files ({bytes} bytes) of the tree: {read:.2}s; verified catch-up of {} entries: {catch_up:.2}s ({:.0} entries/s); ratio {:.1}x",
        advance.to,
        advance.to as f64 / catch_up,
        catch_up / read
    );
}

fn read_tree(dir: &std::path::Path) -> (usize, usize) {
    let (mut files, mut bytes) = (0, 0);
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let entry = entry.expect("entry");
        if entry.file_type().expect("type").is_dir() {
            let (f, b) = read_tree(&entry.path());
            files += f;
            bytes += b;
        } else {
            bytes += std::hint::black_box(std::fs::read(entry.path()).expect("read")).len();
            files += 1;
        }
    }
    (files, bytes)
}
