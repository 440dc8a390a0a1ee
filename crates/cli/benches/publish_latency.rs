//! Time from a signed release's `POST /api/v1/releases` to its checkpoint and pages being
//! served, for a county (Georgia 2018, Appling) and a state (Pennsylvania 2024, 67 counties'
//! precinct files imported leniently as one snapshot), on a real `urne serve` stack
//! (`Publisher` + the axum router on loopback, SQLite store, `DirBlobs`), over real HTTP.
//!
//! Per case: the policy and a first release (half the precincts) are published; then the full
//! release is timed from the POST until `GET /log/checkpoint` shows the new size and the
//! election's summary page, one contest page and one precinct page are served with new ETags
//! (pages render on demand: the first GET of each renders it). Baseline from the same run: the
//! whole tree rendered at once (`History::render`, what every new checkpoint cost before pages
//! were rendered on demand, and what `urne export` still does). Also: preparing the state alone
//! (`ServedTree::start`) and the process's resident memory (VmRSS) holding the served state,
//! then holding the whole tree as the server used to (every file with its ETag).
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
    let snap = full.snapshot();
    let contest = urne_site::path_segment(&snap.contests[0].id);
    let unit = snap
        .units
        .iter()
        .rev()
        .find(|u| u.children.is_empty())
        .map(|u| urne_site::path_segment(&u.id))
        .unwrap();
    let (n_units, n_contests) = (snap.units.len(), snap.contests.len());
    drop(full);
    let pages: Vec<String> = [
        format!("elections/{ELECTION}/index.html"),
        format!("elections/{ELECTION}/contests/{contest}.html"),
        format!("elections/{ELECTION}/units/{unit}.html"),
    ]
    .into_iter()
    .map(|p| format!("{url}/{p}"))
    .collect();
    let before: Vec<Option<String>> = {
        let pages = pages.clone();
        tokio::task::spawn_blocking(move || {
            pages
                .iter()
                .map(|p| {
                    let (status, tag) = get(p);
                    assert_eq!(status, 200, "{p}");
                    tag
                })
                .collect()
        })
        .await
        .unwrap()
    };
    let rss_r0 = rss_kb();

    // Measured: POST of the next release until the checkpoint and the three pages are served.
    let t = Instant::now();
    let answer = post(&r1).await.unwrap();
    let acked = t.elapsed().as_secs_f64();
    assert_eq!(answer.status, 200, "{}", answer.text);
    let checkpoint_url = format!("{url}/log/checkpoint");
    let pages2 = pages.clone();
    tokio::task::spawn_blocking(move || {
        loop {
            let (status, body) = get_body(&checkpoint_url);
            let size = String::from_utf8_lossy(&body)
                .lines()
                .nth(1)
                .and_then(|l| l.parse::<u64>().ok());
            if status == 200 && size == Some(3) {
                break;
            }
        }
        for (p, old) in pages2.iter().zip(&before) {
            let (status, tag) = get(p);
            assert_eq!(status, 200, "{p}");
            assert_ne!(&tag, old, "{p} is the new release's");
        }
    })
    .await
    .unwrap();
    let served = t.elapsed().as_secs_f64();
    let rss_served = rss_kb();

    let history = urne::publish::History::replay(dir.blobs.as_ref(), 3)
        .await
        .unwrap();
    let site = urne::site_config("Bench", &dir.signer);
    // Preparing the state alone.
    let t = Instant::now();
    let prepared =
        urne::rendered::ServedTree::start(history.clone(), site.clone(), None, 1 << 20, None)
            .await
            .unwrap();
    let prepare = t.elapsed().as_secs_f64();
    drop(prepared);
    // Baseline: the whole tree at once, held as the server used to hold it.
    let t = Instant::now();
    let tree = history.render(&site, None).unwrap();
    let render = t.elapsed().as_secs_f64();
    let files = tree.len();
    let bytes: usize = tree.values().map(Vec::len).sum();
    let held: std::collections::HashMap<String, urne::serve::ServedFile> = tree
        .into_iter()
        .map(|(p, b)| {
            let f = urne::serve::ServedFile::new(&p, b);
            (p, f)
        })
        .collect();
    let rss_whole = rss_kb();
    drop(held);
    println!(
        "{name}: {n_units} units, {n_contests} contests; whole tree {files} files, {} MB\n  \
         POST→200 {acked:.3} s | POST→checkpoint + summary + contest + unit page served {served:.3} s | \
         prepare alone {prepare:.3} s\n  baseline, same run: whole-tree render {render:.3} s | \
         ratio served/baseline {:.3} ({:.1}x faster)\n  VmRSS: after the first release served {} MB, \
         after the new one served on demand {} MB, holding the whole tree as before {} MB",
        bytes / 1_000_000,
        served / render,
        render / served,
        rss_r0 / 1024,
        rss_served / 1024,
        rss_whole / 1024,
    );

    // A state's downloads across a new served state that keeps their release: another
    // election's release is published. Baseline, same run: the first GET of each, which
    // renders it (what every new state cost before states took over their downloads).
    let downloads = [
        format!("{url}/downloads/{ELECTION}/results.json"),
        format!("{url}/elections/{ELECTION}/downloads.html"),
    ];
    let timed_gets = |urls: [String; 2]| {
        tokio::task::spawn_blocking(move || {
            urls.map(|u| {
                let t = Instant::now();
                let (status, _) = get(&u);
                assert_eq!(status, 200, "{u}");
                t.elapsed().as_secs_f64()
            })
        })
    };
    let first = timed_gets(downloads.clone()).await.unwrap();
    let other = ResultsRelease {
        election: ElectionId::new("bench-other").unwrap(),
        sequence: 0,
        previous: None,
        status: Status::Unofficial,
        correction: None,
        timestamp: 1_800_000_300,
    }
    .write_bundle(&demo::fixture_snapshot().unwrap(), &b.join("other"))
    .unwrap();
    let answer = post(&signed(other, &[&alice, &bob])).await.unwrap();
    assert_eq!(answer.status, 200, "{}", answer.text);
    let after = timed_gets(downloads).await.unwrap();
    println!(
        "  after another election's release (a new served state, same release for this one): \
         first GET of results.json {:.3} s → {:.3} s, of the downloads page {:.3} s → {:.3} s",
        first[0], after[0], first[1], after[1],
    );
    server.abort();
    publisher.close();
    log.shutdown().await;
}

/// This process's resident set (kB), from /proc (0 where there is none).
fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn get_body(url: &str) -> (u16, Vec<u8>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut resp = agent.get(url).call().unwrap();
    let status = resp.status().as_u16();
    let body = resp.body_mut().read_to_vec().unwrap_or_default();
    (status, body)
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
