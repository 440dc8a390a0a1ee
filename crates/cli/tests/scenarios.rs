//! Election night with real processes on loopback: a primary (a static tree served by this
//! test, published and cosigned through `urne_witness::client`), three `urne witness`
//! processes, two `urne mirror` processes following the primary over HTTP, and `urne verify`.
//!
//! The primary is the fixture log plus a plain static HTTP server, not `urne serve`: the
//! publish server is not on main yet, and a plain server is what lets the test make the
//! primary lie (forks, rollbacks, tampered blobs) without any check in the way.
//!
//! Phases, each asserting the exact outcome: a normal night; a witness down; a tampered blob;
//! an equivocating primary (two forks shown to two witnesses, a fork shown to the mirrors); a
//! rollback.

use std::io::{BufRead as _, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use urne_tlog::note::Note;
use urne_verify::fixture::{DirProofs, FixtureLog};
use urne_verify::{Fetch as _, HttpSource};
use urne_witness::client::{CosignReport, Cosigner, Outcome};

const ORIGIN: &str = "results.example-county.gov/log";
const WAIT_MAX: Duration = Duration::from_secs(30);

/// A child process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn urne() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_urne"));
    c.env("RUST_LOG", "warn").stderr(Stdio::null());
    c
}

/// Starts `urne witness` and returns it with its cosigner vkey.
fn witness(dir: &Path, name: &str, addr: SocketAddr, log_vkey: &str) -> (Proc, String) {
    let mut child = urne()
        .args(["witness", "--data", dir.to_str().unwrap(), "--name", name])
        .args(["--listen", &addr.to_string(), "--log", log_vkey])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let vkey = loop {
        let line = lines.next().expect("witness output").unwrap();
        if let Some(k) = line.strip_prefix("witness key: ") {
            break k.to_string();
        }
    };
    (Proc(child), vkey)
}

fn mirror(data: &Path, primary: SocketAddr, addr: SocketAddr) -> Proc {
    let child = urne()
        .args(["mirror", &format!("http://{primary}/")])
        .args([
            "--data",
            data.to_str().unwrap(),
            "--listen",
            &addr.to_string(),
        ])
        .args(["--interval-ms", "100"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    Proc(child)
}

fn verify(args: &[&str]) -> (i32, String) {
    let out = urne().arg("verify").args(args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code().unwrap_or(-1), text)
}

fn get(addr: SocketAddr, path: &str) -> Option<Vec<u8>> {
    HttpSource::new(&format!("http://{addr}/"))
        .get(path, 1 << 20)
        .ok()
        .flatten()
}

fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < WAIT_MAX, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A plain static file server over whichever directory `root` names (the "primary").
fn static_server(root: Arc<Mutex<PathBuf>>) -> SocketAddr {
    use axum::extract::{Path as UrlPath, State};
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let app = axum::Router::new()
                .route(
                    "/{*path}",
                    axum::routing::get(
                        |State(root): State<Arc<Mutex<PathBuf>>>,
                         UrlPath(path): UrlPath<String>| async move {
                            let dir = root.lock().unwrap().clone();
                            match std::fs::read(dir.join(path)) {
                                Ok(bytes) => bytes.into_response(),
                                Err(_) => StatusCode::NOT_FOUND.into_response(),
                            }
                        },
                    ),
                )
                .with_state(root);
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    addr
}

/// Asks the witnesses to cosign the log's current checkpoint and publishes the result.
fn cosign(rt: &tokio::runtime::Runtime, cosigner: &Cosigner, log: &FixtureLog) -> CosignReport {
    let note = log.signed_checkpoint();
    let report = rt.block_on(cosigner.cosign(&note, &DirProofs(log.dir().to_owned())));
    log.write_note(&report.note);
    report
}

fn outcomes(r: &CosignReport) -> String {
    let mut out: Vec<String> = r
        .outcomes
        .iter()
        .map(|(n, o)| match o {
            Outcome::Cosigned(_) => format!("{n}: cosigned"),
            Outcome::Refused { status, .. } => format!("{n}: refused {status}"),
            Outcome::Unreachable(_) => format!("{n}: unreachable"),
            other => format!("{n}: {other:?}"),
        })
        .collect();
    out.push(format!("quorum met: {}", r.quorum_met));
    out.join("; ")
}

fn checkpoint_of(addr: SocketAddr) -> Option<Vec<u8>> {
    get(addr, "log/checkpoint")
}

fn size_of(note: &[u8]) -> u64 {
    let note = Note::parse(note).unwrap();
    urne_tlog::Checkpoint::parse(note.text()).unwrap().size
}

#[test]
fn election_night() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let log_vkey = urne_verify::fixture::key(ORIGIN).verifier().vkey();

    // Three witnesses; their keys and URLs go into the genesis trust policy (2 of 3).
    let mut witnesses = Vec::new();
    let mut lines = String::new();
    for i in 1..=3 {
        let addr = free_addr();
        let (proc, vkey) = witness(
            &w.join(format!("w{i}")),
            &format!("w{i}.example"),
            addr,
            &log_vkey,
        );
        lines.push_str(&format!("witness w{i} {vkey} http://{addr}\n"));
        witnesses.push(Some(proc));
    }
    lines.push_str("group g 2 w1 w2 w3\nquorum g\n");
    let honest = w.join("primary");
    let mut log = FixtureLog::new(&honest, ORIGIN, &lines);
    let root = Arc::new(Mutex::new(honest.clone()));
    let primary = static_server(root.clone());
    let cosigner = Cosigner::with_timeout(
        &urne_release::TrustPolicy::parse(&std::fs::read(blob_of_genesis(&honest)).unwrap())
            .unwrap()
            .witnesses()
            .clone(),
        Duration::from_secs(2),
    );
    let report = cosign(&rt, &cosigner, &log);
    assert_eq!(
        outcomes(&report),
        "w1: cosigned; w2: cosigned; w3: cosigned; quorum met: true"
    );

    let (m1, m2) = (free_addr(), free_addr());
    let _mirrors = [
        mirror(&w.join("m1"), primary, m1),
        mirror(&w.join("m2"), primary, m2),
    ];

    // Phase 1: a normal night. Three releases batches, each cosigned; both mirrors follow and
    // serve byte-identical checkpoints and tiles; the verifier accepts a mirror.
    for batch in 0..3 {
        log.publish(40, &format!("batch {batch}"));
        let report = cosign(&rt, &cosigner, &log);
        assert_eq!(
            outcomes(&report),
            "w1: cosigned; w2: cosigned; w3: cosigned; quorum met: true"
        );
        let want = checkpoint_of(primary).unwrap();
        for m in [m1, m2] {
            wait_until("a mirror to catch up", || {
                checkpoint_of(m).as_ref() == Some(&want)
            });
        }
    }
    for path in ["log/tile/0/000.p/121", "log/tile/entries/000.p/121"] {
        assert_eq!(get(m1, path), get(primary, path), "{path}");
        assert!(get(m1, path).is_some(), "{path}");
    }
    let state = w.join("verify.state");
    let (code, out) = verify(&[&format!("http://{m1}/"), "--state", state.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("cosigned by [w1, w2, w3]; quorum \"g\": met"),
        "{out}"
    );

    // Phase 2: a witness down. Sequencing and cosigning go on with the other two.
    witnesses[2] = None;
    log.publish(5, "late");
    let started = Instant::now();
    let report = cosign(&rt, &cosigner, &log);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "a dead witness must not block"
    );
    assert_eq!(
        outcomes(&report),
        "w1: cosigned; w2: cosigned; w3: unreachable; quorum met: true"
    );
    let want = checkpoint_of(primary).unwrap();
    wait_until("mirror 1 after a witness died", || {
        checkpoint_of(m1).as_ref() == Some(&want)
    });
    let (code, out) = verify(&[
        &format!("http://{primary}/"),
        "--state",
        state.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    let good = want;
    let rollback_copy = w.join("rollback");
    copy_dir(&honest, &rollback_copy);

    // Phase 3: a tampered blob. The witnesses cosign (they see only checkpoints), but the
    // mirrors refuse the new state and keep serving the last verified one.
    log.publish(3, "tamper");
    log.tamper_blob(127);
    let report = cosign(&rt, &cosigner, &log);
    assert!(report.quorum_met);
    std::thread::sleep(Duration::from_millis(800));
    for m in [m1, m2] {
        assert_eq!(
            checkpoint_of(m).as_ref(),
            Some(&good),
            "a mirror served a tampered state"
        );
    }
    let (code, out) = verify(&[&format!("http://{primary}/")]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("(payload of log entry 127) has SHA-256"),
        "{out}"
    );
    log.restore_blob(127);
    let want = checkpoint_of(primary).unwrap();
    wait_until("mirror 1 after the blob was restored", || {
        checkpoint_of(m1).as_ref() == Some(&want)
    });
    let good = want;

    // Phase 4: an equivocating primary. Fork A (the honest log, grown) goes to w1; fork B (cut
    // at 100, grown past the cosigned size) goes to w2, which refuses: it cosigned the honest
    // history before.
    let size = log.size();
    let fork_dir = w.join("fork");
    let mut fork = log.fork(100, &fork_dir);
    fork.publish((size - 100 + 10) as usize, "forged");
    log.publish(10, "honest");
    let only = |name: &str| {
        let keep: String = lines
            .lines()
            .filter(|l| l.starts_with(&format!("witness {name} ")))
            .map(|l| format!("{l}\n"))
            .collect();
        Cosigner::with_timeout(
            &urne_tlog::policy::Policy::parse(&format!("{keep}quorum {name}\n")).unwrap(),
            Duration::from_secs(2),
        )
    };
    let a = rt.block_on(only("w1").cosign(&log.signed_checkpoint(), &DirProofs(honest.clone())));
    let b = rt.block_on(only("w2").cosign(&fork.signed_checkpoint(), &DirProofs(fork_dir.clone())));
    assert_eq!(outcomes(&a), "w1: cosigned; quorum met: true");
    assert_eq!(outcomes(&b), "w2: refused 422; quorum met: false");
    // The primary now shows fork B to everyone: the mirrors raise the alarm and keep serving
    // the last verified state; the evidence they wrote proves the fork offline.
    *root.lock().unwrap() = fork_dir.clone();
    let evidence_dir = w.join("m1/evidence");
    wait_until("mirror 1 to write evidence", || {
        std::fs::read_dir(&evidence_dir)
            .map(|d| d.count() > 0)
            .unwrap_or(false)
    });
    for m in [m1, m2] {
        assert_eq!(
            checkpoint_of(m).as_ref(),
            Some(&good),
            "a mirror followed a fork"
        );
    }
    let file = std::fs::read_dir(&evidence_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let (code, out) = verify(&["--evidence", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("PROVEN FORK"), "{out}");
    let evidence_out = w.join("verifier-evidence");
    std::fs::create_dir_all(&evidence_out).unwrap();
    let (code, out) = verify(&[
        &format!("http://{primary}/"),
        "--state",
        state.to_str().unwrap(),
        "--evidence-dir",
        evidence_out.to_str().unwrap(),
    ]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("ALARM: SPLIT VIEW"), "{out}");

    // Phase 5: a rollback to an earlier copy of the honest tree.
    *root.lock().unwrap() = rollback_copy;
    let (code, out) = verify(&[
        &format!("http://{primary}/"),
        "--state",
        state.to_str().unwrap(),
        "--evidence-dir",
        evidence_out.to_str().unwrap(),
    ]);
    // The state file was last advanced in phase 2 at exactly the copied size: no rollback yet.
    assert_eq!(code, 0, "{out}");
    *root.lock().unwrap() = honest.clone();
    let (code, out) = verify(&[
        &format!("http://{primary}/"),
        "--state",
        state.to_str().unwrap(),
    ]);
    assert_eq!(code, 4, "{out}"); // the newest checkpoint lacks the quorum (w1 only)
    *root.lock().unwrap() = w.join("rollback");
    let (code, out) = verify(&[
        &format!("http://{primary}/"),
        "--state",
        state.to_str().unwrap(),
        "--evidence-dir",
        evidence_out.to_str().unwrap(),
    ]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("ALARM: ROLLBACK"), "{out}");
    for m in [m1, m2] {
        assert_eq!(
            checkpoint_of(m).as_ref(),
            Some(&good),
            "a mirror rolled back"
        );
    }
    assert!(size_of(&good) > 100);
}

/// The genesis payload (the trust policy) of a fixture tree.
fn blob_of_genesis(tree: &Path) -> PathBuf {
    let dir = tree.join("blobs/sha256");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if std::fs::read(&path)
            .unwrap()
            .starts_with(b"urne-trust-policy/v1")
        {
            return path;
        }
    }
    panic!("no trust policy blob in {}", dir.display());
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
