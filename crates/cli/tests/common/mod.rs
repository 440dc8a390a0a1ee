//! What the tests that run `urne` as real processes share: the binary, a server process on a
//! loopback port, witnesses and mirrors, officials, and release bundles of the demo county.
#![allow(dead_code)] // each test binary uses part of it

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use urne::bundle::Bundle;
use urne::demo;
use urne::officials::{self, PolicyArgs, ResultsRelease, ServerAnswer};
use urne_release::Status;
use urne_release::manifest::{ElectionId, sha256};
use urne_tlog::note::{Ed25519Signer, Ed25519Verifier};

pub const ORIGIN: &str = "tamper.urne.localhost/log";
pub const TITLE: &str = "Test County Elections";
pub const ELECTION: &str = "2018-general";

/// Runs `urne ARGS` and returns its exit code and standard output.
pub fn urne(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_urne"))
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("URNE_TITLE")
        .output()
        .expect("run urne");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        text.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    (out.status.code().unwrap_or(-1), text)
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `urne serve` as a child process on a loopback port chosen by the OS.
pub struct Serve {
    pub child: Child,
    pub url: String,
    pub data: PathBuf,
}

impl Serve {
    /// Starts the server on `data`; `Err` with its standard error if it exits instead.
    pub fn start(data: &Path) -> Result<Serve, String> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_urne"))
            .args([
                "serve",
                "--data",
                s(data),
                "--origin",
                ORIGIN,
                "--listen",
                "127.0.0.1:0",
                "--title",
                TITLE,
            ])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start urne serve");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().and_then(Result::ok);
        let Some(url) = first.as_deref().and_then(|l| {
            let at = l.find("http://")?;
            Some(l[at..].trim_end_matches('/').to_owned())
        }) else {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        };
        // Keep draining standard output and error so the server never blocks on them.
        std::thread::spawn(move || for _ in lines {});
        if let Some(mut err) = child.stderr.take() {
            std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
        }
        Ok(Serve {
            child,
            url,
            data: data.to_owned(),
        })
    }

    /// SIGKILL, no shutdown of any kind.
    pub fn kill9(mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }

    pub fn log_vkey(&self) -> Ed25519Verifier {
        urne::read_vkey(s(&self.data.join("log.vkey"))).unwrap()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn official(name: &str, seed: u8) -> Ed25519Signer {
    Ed25519Signer::from_seed(name, [seed; 32]).unwrap()
}

/// The genesis policy: `officials`, 2 must sign, the log's key named (so `urne verify` learns
/// it from the policy), no witnesses.
pub fn policy_bundle(dir: &Path, officials: &[&Ed25519Signer], log: Ed25519Verifier) -> Bundle {
    let args = PolicyArgs {
        officials: officials.iter().map(|o| o.verifier()).collect(),
        threshold: 2,
        log: Some(log),
        witnesses: Vec::new(),
        witness_quorum: None,
        status: Status::Official,
        previous: None,
        sequence: 0,
        timestamp: 1_800_000_000,
    };
    let mut b = officials::policy_init(&args, dir).unwrap();
    for o in officials.iter().take(2) {
        b.sign(o).unwrap();
    }
    b
}

/// Results release `sequence` of the demo county with `reporting` of its precincts counted,
/// signed by `by`.
pub fn results_bundle(
    dir: &Path,
    sequence: u64,
    previous: Option<&Bundle>,
    reporting: (u64, u64),
    by: &[&Ed25519Signer],
) -> Bundle {
    let full = demo::fixture_snapshot().unwrap();
    let snapshot = demo::partial(&full, reporting.0, reporting.1).unwrap();
    let release = ResultsRelease {
        election: ElectionId::new(ELECTION).unwrap(),
        sequence,
        previous: previous.map(|b| sha256(b.manifest.as_bytes())),
        status: Status::Unofficial,
        correction: None,
        timestamp: 1_800_000_100 + sequence,
    };
    let mut b = release.write_bundle(&snapshot, dir).unwrap();
    for o in by {
        b.sign(o).unwrap();
    }
    b
}

pub fn publish(bundle: &Bundle, url: &str) -> ServerAnswer {
    officials::publish(bundle, url).unwrap()
}

/// GET `url`: status and body.
pub fn get(url: &str) -> (u16, Vec<u8>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut resp = agent.get(url).call().unwrap();
    let status = resp.status().as_u16();
    let body = resp
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .unwrap();
    (status, body)
}

/// Every file under `dir`, as sorted relative paths.
pub fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

/// How long a test waits for processes to converge before it fails.
pub const WAIT_MAX: Duration = Duration::from_secs(30);

/// Polls `ok` every 50 ms until it holds; panics naming `what` after [`WAIT_MAX`].
pub fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < WAIT_MAX, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A child process killed (SIGKILL) when dropped.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback address no one listens on (yet).
pub fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// `urne witness` at `addr` for the log `log_vkey` (a key or a file holding it), its key and
/// state in `dir`: the process and its cosigner verifier key.
pub fn start_witness(dir: &Path, name: &str, addr: SocketAddr, log_vkey: &str) -> (Proc, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_urne"))
        .args(["witness", "--data", s(dir), "--name", name])
        .args(["--listen", &addr.to_string(), "--log", log_vkey])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start urne witness");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let vkey = loop {
        let line = lines.next().expect("witness output").unwrap();
        if let Some(k) = line.strip_prefix("witness key: ") {
            break k.to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (Proc(child), vkey)
}

/// `urne mirror SOURCE` into `data`, serving at `addr` with the test title, polling every
/// 100 ms, with `more` arguments (e.g. `--witness-name`). Its standard error (the refusals it
/// logs) goes to `data/mirror.log`.
pub fn start_mirror(data: &Path, source: &str, addr: SocketAddr, more: &[&str]) -> Proc {
    std::fs::create_dir_all(data).unwrap();
    let log = std::fs::File::create(data.join("mirror.log")).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_urne"));
    command
        .args(["mirror", source, "--data", s(data)])
        .args(["--listen", &addr.to_string()])
        .args(["--interval-ms", "100", "--title", TITLE])
        .args(more);
    let child = command
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start urne mirror");
    Proc(child)
}

/// Gives the data directory `to` the log key of `from`: a second server signing as the same
/// log (the way an operator with the key can fork it).
pub fn share_log_key(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for file in ["log.key", "log.vkey"] {
        // `copy` keeps the key file's 0600 mode.
        std::fs::copy(from.join(file), to.join(file)).unwrap();
    }
}

/// Reads a response head (status line and headers, names lower-cased, values trimmed) from `r`.
pub fn read_head(r: &mut impl std::io::BufRead) -> (String, Vec<(String, String)>) {
    let mut status = String::new();
    r.read_line(&mut status).unwrap();
    assert!(!status.is_empty(), "the connection closed before an answer");
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (k, v) = line.split_once(':').unwrap();
        headers.push((k.to_ascii_lowercase(), v.trim().to_owned()));
    }
    (status.trim_end().to_owned(), headers)
}
