//! Several `urne serve` processes on one PostgreSQL schema, for real: three copies of the built
//! binary. Publishing to a follower is redirected to the leader; every process serves the new
//! checkpoint, the same pages and the live event; after `kill -9` of the leader another takes
//! the lock, recovers from the store and accepts the next release; nothing acknowledged is
//! lost, and `urne export --database-url` equals what the survivors serve, byte for byte.
//! Needs `URNE_TEST_POSTGRES_URL` (skips loudly without it).

use std::{
    io::{BufRead as _, BufReader, Write as _},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use urne::{
    bundle::Bundle,
    demo,
    officials::{self, PolicyArgs, ResultsRelease, ServerAnswer},
};
use urne_release::{
    Status,
    manifest::{ElectionId, Sha256Hash, hex, sha256},
};
use urne_store::testsuite::postgres_url_or_skip;
use urne_store_postgres::testing::TestSchema;
use urne_tlog::note::Ed25519Signer;

const ORIGIN: &str = "cluster.urne.localhost/log";
const TITLE: &str = "Cluster County";
/// The longest any step waits (a takeover needs the lock poll plus a recovery).
const WAIT_MAX: Duration = Duration::from_secs(20);

/// One `urne serve` child; killed with SIGKILL when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data: &Path, database_url: &str, log: &Path) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_urne"))
        .args(["serve", "--listen", "127.0.0.1:0", "--title", TITLE])
        .arg("--data")
        .arg(data)
        .args(["--origin", ORIGIN, "--database-url", database_url])
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    // Owned by the guard at once: killed and waited for on every path, panics included.
    let mut server = Server {
        child,
        url: String::new(),
    };
    let stdout = server.child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + WAIT_MAX;
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| {
                panic!(
                    "urne serve did not start; its log:\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                )
            });
        if let Some(rest) = line.strip_prefix("urne is serving log ") {
            let url = rest.split(" at ").nth(1).unwrap().trim_end_matches('/');
            server.url = url.to_owned();
            return server;
        }
    }
}

fn get(url: &str) -> Option<(u16, Vec<u8>)> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let mut resp = agent.get(url).call().ok()?;
    let status = resp.status().as_u16();
    let body = resp
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .ok()?;
    Some((status, body))
}

fn checkpoint_size(note: &[u8]) -> u64 {
    let text = std::str::from_utf8(note).unwrap();
    text.lines().nth(1).unwrap().parse().unwrap()
}

/// Waits until `server` serves a checkpoint of `size`; returns its bytes.
fn wait_for_size(server: &Server, size: u64) -> Vec<u8> {
    let deadline = Instant::now() + WAIT_MAX;
    loop {
        if let Some((200, note)) = get(&format!("{}/log/checkpoint", server.url))
            && checkpoint_size(&note) == size
        {
            return note;
        }
        assert!(
            Instant::now() < deadline,
            "{} never served a checkpoint of size {size}",
            server.url
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until `server` serves `path` with exactly `want`.
fn wait_for_bytes(server: &Server, path: &str, want: &[u8]) {
    let deadline = Instant::now() + WAIT_MAX;
    loop {
        if let Some((200, body)) = get(&format!("{}{path}", server.url))
            && body == want
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} never served the leader's {path}",
            server.url
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Subscribes to `/api/v1/events` and collects `event:`/`data:` lines until the checkpoint
/// event for `size`. Returns once the server answered (so it is subscribed).
fn subscribe(server: &Server, size: u64) -> mpsc::Receiver<Vec<String>> {
    let addr = server.url.trim_start_matches("http://").to_owned();
    let (ready_tx, ready_rx) = mpsc::channel();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        write!(s, "GET /api/v1/events HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut lines = BufReader::new(s).lines();
        let status = lines.next().unwrap().unwrap();
        assert!(status.contains(" 200 "), "{status}");
        ready_tx.send(()).unwrap();
        let mut seen: Vec<String> = Vec::new();
        for line in lines {
            let Ok(line) = line else { break };
            if line.starts_with("event:") || line.starts_with("data:") {
                seen.push(line.clone());
            }
            let n = seen.len();
            if n >= 2
                && seen[n - 2] == "event: checkpoint"
                && seen[n - 1] == format!("data: {size}")
            {
                break;
            }
        }
        let _ = tx.send(seen);
    });
    ready_rx.recv_timeout(WAIT_MAX).expect("subscribed");
    rx
}

fn official(name: &str, seed: u8) -> Ed25519Signer {
    Ed25519Signer::from_seed(name, [seed; 32]).unwrap()
}

fn signed(bundle: &Bundle, by: &[&Ed25519Signer]) -> Bundle {
    let mut b = Bundle::read(&bundle.dir).unwrap();
    b.signatures.clear();
    for s in by {
        b.sign(s).unwrap();
    }
    b
}

fn policy_bundle(dir: &Path, officials: &[&Ed25519Signer]) -> Bundle {
    let args = PolicyArgs {
        officials: officials.iter().map(|o| o.verifier()).collect(),
        threshold: 2,
        log: None,
        witnesses: Vec::new(),
        witness_quorum: None,
        status: Status::Official,
        previous: None,
        sequence: 0,
        timestamp: 1_800_000_000,
    };
    officials::policy_init(&args, dir).unwrap()
}

fn results_bundle(dir: &Path, sequence: u64, previous: Option<Sha256Hash>, num: u64) -> Bundle {
    let full = demo::fixture_snapshot().unwrap();
    let snapshot = demo::partial(&full, num, 2).unwrap();
    let release = ResultsRelease {
        election: ElectionId::new("2018-general").unwrap(),
        sequence,
        previous,
        status: Status::Unofficial,
        correction: None,
        timestamp: 1_800_000_100 + sequence,
    };
    release.write_bundle(&snapshot, dir).unwrap()
}

fn publish(bundle: &Bundle, server: &Server) -> anyhow::Result<ServerAnswer> {
    officials::publish(bundle, &server.url)
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn three_servers_on_one_database_follow_the_leader_and_survive_its_kill() {
    let test = "cluster_three_servers";
    let Some(url) = postgres_url_or_skip(test) else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let schema = rt
        .block_on(TestSchema::create(&url, test))
        .expect("URNE_TEST_POSTGRES_URL is set, but the test database is unusable");
    let sep = if url.contains('?') { '&' } else { '?' };
    let database_url = format!("{url}{sep}options=-csearch_path%3D{}", schema.name());
    let outcome = std::panic::catch_unwind(|| run(&database_url));
    rt.block_on(schema.drop_schema()).expect("drop schema");
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

fn run(database_url: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let b = tmp.path();
    let data = b.join("data");
    // The first process creates the log key and leads; the others share the key.
    let a = start(&data, database_url, &b.join("a.log"));
    wait_for_size(&a, 0);
    let bs = start(&data, database_url, &b.join("b.log"));
    let cs = start(&data, database_url, &b.join("c.log"));

    let (alice, bob) = (official("alice", 1), official("bob", 2));
    let policy = signed(
        &policy_bundle(&b.join("policy"), &[&alice, &bob]),
        &[&alice, &bob],
    );
    // To a follower: redirected (307) to the leader, which sequences it.
    let answer = publish(&policy, &bs).unwrap();
    assert_eq!(answer.status, 200, "{}", answer.text);
    for s in [&a, &bs, &cs] {
        wait_for_size(s, 1);
    }

    // Subscribers on both followers, then a results release.
    let events_b = subscribe(&bs, 2);
    let events_c = subscribe(&cs, 2);
    let r0 = results_bundle(&b.join("r0"), 0, None, 1);
    let r0 = signed(&r0, &[&alice, &bob]);
    let answer = publish(&r0, &cs).unwrap();
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(
        answer.text.starts_with("published log_index 1 "),
        "{}",
        answer.text
    );
    let note = wait_for_size(&a, 2);
    let (_, index) = get(&format!("{}/", a.url)).unwrap();
    for s in [&bs, &cs] {
        wait_for_bytes(s, "/log/checkpoint", &note);
        wait_for_bytes(s, "/", &index);
    }
    let manifest = hex(&sha256(r0.manifest.as_bytes()));
    let release_event = format!(
        "data: {{\"election\":\"2018-general\",\"log_index\":1,\"manifest_hash\":\"{manifest}\"}}"
    );
    for events in [events_b, events_c] {
        let seen = events.recv_timeout(WAIT_MAX).expect("live events");
        let at = seen.iter().position(|l| *l == release_event);
        assert!(
            at.is_some_and(|i| i > 0 && seen[i - 1] == "event: release"),
            "no release event in {seen:?}"
        );
    }

    // kill -9 the leader: a follower takes the lock, recovers, and takes the next release.
    drop(a);
    let r1 = results_bundle(&b.join("r1"), 1, Some(sha256(r0.manifest.as_bytes())), 2);
    let r1 = signed(&r1, &[&alice, &bob]);
    let deadline = Instant::now() + WAIT_MAX;
    let answer = 'published: loop {
        for s in [&bs, &cs] {
            // Until a new leader holds the lock: a redirect to the dead one, or a 503.
            if let Ok(answer) = publish(&r1, s)
                && answer.status == 200
            {
                break 'published answer;
            }
        }
        assert!(Instant::now() < deadline, "no process took over");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        answer.text.starts_with("published log_index 2 "),
        "{}",
        answer.text
    );
    let note = wait_for_size(&bs, 3);
    wait_for_bytes(&cs, "/log/checkpoint", &note);
    // Retrying the acknowledged release is answered as such, wherever it lands.
    for s in [&bs, &cs] {
        let again = publish(&r1, s).unwrap();
        assert!(
            again.text.starts_with("already-published log_index 2 "),
            "{}",
            again.text
        );
    }

    // Nothing acknowledged lost, and the export is what both survivors serve.
    let out = b.join("export");
    let status = Command::new(env!("CARGO_BIN_EXE_urne"))
        .arg("export")
        .arg(&out)
        .arg("--data")
        .arg(&data)
        .args(["--title", TITLE, "--database-url", database_url])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let files = walk(&out);
    let payload = format!("blobs/sha256/{}", hex(&sha256(&r0.payload)));
    assert!(files.iter().any(|f| f.ends_with(&payload)), "r0's payload");
    for file in &files {
        let rel = file
            .strip_prefix(&out)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let want = std::fs::read(file).unwrap();
        for s in [&bs, &cs] {
            wait_for_bytes(s, &format!("/{rel}"), &want);
        }
    }
    assert_eq!(
        checkpoint_size(&std::fs::read(out.join("log/checkpoint")).unwrap()),
        3
    );
}
