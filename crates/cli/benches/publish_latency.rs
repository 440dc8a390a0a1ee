//! Time from a signed release's `POST /api/v1/releases` to its checkpoint and pages being
//! served, for a county (Georgia 2018, Appling) and a state (Pennsylvania 2024, 67 counties'
//! precinct files imported leniently as one snapshot), on a real `urne serve` stack
//! (`Publisher` + the axum router on loopback, SQLite store, `DirBlobs`), over real HTTP.
//!
//! Per case: the policy and a first release (half the precincts) are published; then the full
//! release is timed from the POST until `GET /log/checkpoint` shows the new size and the
//! election's summary page has a new ETag. Baselines from the same run: the same POST answered
//! `already-published` (upload, decode, signature and stream checks, no sequencing or render),
//! and `History::render` of the same log alone (the part that grows with the state).
//!
//! `cargo bench -p urne --bench publish_latency` (needs ../shared/data; prints SKIPPED
//! without). `PUBLISH_BENCH_CASES=county` runs the county only.

use std::{path::Path, time::Instant};

use urne::{
    bundle::Bundle,
    demo,
    officials::{self, PolicyArgs, ResultsRelease},
    publish::Publisher,
};
use urne_release::{
    Status,
    manifest::{ElectionId, sha256},
};
use urne_results::ValidSnapshot;
use urne_tlog::note::Ed25519Signer;

const ORIGIN: &str = "bench.urne.localhost/log";
const ELECTION: &str = "bench-general";

fn import(dir: &Path, filter: &dyn Fn(&str) -> bool, state: &str, date: &str) -> ValidSnapshot {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "csv")
                && filter(&p.file_name().unwrap().to_string_lossy())
        })
        .collect();
    paths.sort();
    let sources = paths
        .iter()
        .map(|p| urne_results::CsvSource {
            name: p.file_name().unwrap().to_string_lossy().into_owned(),
            reader: std::fs::File::open(p).unwrap(),
        })
        .collect();
    let mut options = urne_results::CsvOptions::new(state, "General Election", date);
    options.danger_skip_bad_rows = true;
    urne_results::import_openelections_csv(sources, &options)
        .unwrap_or_else(|e| panic!("{e}"))
        .snapshot
}

fn signed(bundle: Bundle, by: &[&Ed25519Signer]) -> Bundle {
    let mut b = bundle;
    for s in by {
        b.sign(s).unwrap();
    }
    b
}

fn get(url: &str) -> (u16, Option<String>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut resp = agent.get(url).call().unwrap();
    let tag = resp
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let status = resp.status().as_u16();
    let _ = resp.body_mut().with_config().limit(1 << 30).read_to_vec();
    (status, tag)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

async fn case(name: &str, full: ValidSnapshot) {
    let tmp = tempfile::tempdir().unwrap();
    let b = tmp.path();
    let dir = urne::open_data_dir(&b.join("data"), ORIGIN, None)
        .await
        .unwrap();
    let log = urne_log::Log::open(
        urne_log::Config::new(ORIGIN),
        dir.signer.clone(),
        dir.store.clone(),
        dir.blobs.clone(),
    )
    .await
    .unwrap();
    let publisher = Publisher::open(
        dir.blobs.clone(),
        log.handle(),
        log.size_at_open(),
        urne::site_config("Bench", &dir.signer),
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = urne::serve::router(publisher.clone());
    let server = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let alice = Ed25519Signer::from_seed("alice", [1; 32]).unwrap();
    let bob = Ed25519Signer::from_seed("bob", [2; 32]).unwrap();
    let policy = officials::policy_init(
        &PolicyArgs {
            officials: vec![alice.verifier(), bob.verifier()],
            threshold: 2,
            log: None,
            witnesses: Vec::new(),
            witness_quorum: None,
            status: Status::Official,
            previous: None,
            sequence: 0,
            timestamp: 1_800_000_000,
        },
        &b.join("policy"),
    )
    .unwrap();
    let half = demo::partial(&full, 1, 2).unwrap();
    let election = ElectionId::new(ELECTION).unwrap();
    let r0 = ResultsRelease {
        election: election.clone(),
        sequence: 0,
        previous: None,
        status: Status::Unofficial,
        correction: None,
        timestamp: 1_800_000_100,
    }
    .write_bundle(&half, &b.join("r0"))
    .unwrap();
    let r1 = ResultsRelease {
        election,
        sequence: 1,
        previous: Some(sha256(r0.manifest.as_bytes())),
        status: Status::Unofficial,
        correction: None,
        timestamp: 1_800_000_200,
    }
    .write_bundle(&full, &b.join("r1"))
    .unwrap();
    let (policy, r0, r1) = (
        signed(policy, &[&alice, &bob]),
        signed(r0, &[&alice, &bob]),
        signed(r1, &[&alice, &bob]),
    );
    let post = |bundle: &Bundle| {
        let (bundle, url) = (bundle.clone(), url.clone());
        tokio::task::spawn_blocking(move || officials::publish(&bundle, &url).unwrap())
    };
    for bundle in [&policy, &r0] {
        let answer = post(bundle).await.unwrap();
        assert_eq!(answer.status, 200, "{}", answer.text);
    }
    let page = format!("{url}/elections/{ELECTION}/index.html");
    let (status, before) = {
        let page = page.clone();
        tokio::task::spawn_blocking(move || get(&page))
            .await
            .unwrap()
    };
    assert_eq!(status, 200, "{page}");

    // Baseline 1: the same POST answered already-published.
    let mut already = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let answer = post(&r0).await.unwrap();
        already.push(t.elapsed().as_secs_f64());
        assert!(
            answer.text.starts_with("already-published"),
            "{}",
            answer.text
        );
    }
    // Measured: POST of the next release until checkpoint and page are served.
    let t = Instant::now();
    let answer = post(&r1).await.unwrap();
    let acked = t.elapsed().as_secs_f64();
    assert_eq!(answer.status, 200, "{}", answer.text);
    let (checkpoint_url, page2) = (format!("{url}/log/checkpoint"), page.clone());
    let after = tokio::task::spawn_blocking(move || {
        loop {
            let (_, _) = get(&checkpoint_url);
            let (status, tag) = get(&page2);
            if status == 200 && tag != before {
                return tag;
            }
        }
    })
    .await
    .unwrap();
    let served = t.elapsed().as_secs_f64();
    assert!(after.is_some());
    // Baseline 2: rendering the same log alone.
    let history = urne::publish::History::replay(dir.blobs.as_ref(), 3)
        .await
        .unwrap();
    let site = urne::site_config("Bench", &dir.signer);
    let t = Instant::now();
    let tree = history.render(&site, None).unwrap();
    let render = t.elapsed().as_secs_f64();
    let already = median(already);
    println!(
        "{name}: {} units, {} files rendered | POST→200 {acked:.3} s | POST→checkpoint+page served {served:.3} s | baseline already-published POST {already:.3} s (ratio {:.1}x) | render alone {render:.3} s ({:.0}% of served)",
        full.snapshot().units.len(),
        tree.len(),
        served / already,
        100.0 * render / served,
    );
    server.abort();
    publisher.close();
    log.shutdown().await;
}

fn main() {
    let cases = std::env::var("PUBLISH_BENCH_CASES").unwrap_or_else(|_| "county,state".into());
    let rt = tokio::runtime::Runtime::new().unwrap();
    if cases.contains("county") {
        match urne_testdata::shared_data(
            "bench publish_latency county",
            "openelections/ga-2018-general-precinct",
        ) {
            Some(dir) => {
                let s = import(
                    &dir,
                    &|f| f.contains("__appling__"),
                    "Georgia",
                    "2018-11-06",
                );
                rt.block_on(case("county (GA 2018 Appling)", s));
            }
            None => return,
        }
    }
    if cases.contains("state")
        && let Some(dir) = urne_testdata::shared_data(
            "bench publish_latency state",
            "openelections/pa-2024-general-precinct",
        )
    {
        let s = import(&dir, &|_| true, "Pennsylvania", "2024-11-05");
        rt.block_on(case("state (PA 2024)", s));
    }
}
