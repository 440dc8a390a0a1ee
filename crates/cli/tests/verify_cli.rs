//! `urne verify` as a user runs it: the real binary against a static tree, a state file, a
//! fork (exit 3 and an evidence file that `--evidence` proves), a tampered blob (exit 1).

use std::path::Path;
use std::process::{Command, Output};

use urne_verify::fixture::FixtureLog;

const ORIGIN: &str = "results.example-county.gov/log";

fn urne(args: &[&str]) -> (i32, String) {
    let out: Output = Command::new(env!("CARGO_BIN_EXE_urne"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run urne");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code().unwrap_or(-1), text)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_journalist_verifies_then_catches_a_fork() {
    let work = tempfile::tempdir().unwrap();
    let tree = work.path().join("tree");
    let state = work.path().join("state");
    let mut log = FixtureLog::new(&tree, ORIGIN, "quorum none");
    log.publish(3, "night");
    let pin = log.genesis_hex();

    let (code, out) = urne(&["verify", s(&tree), "--state", s(&state), "--pin", &pin]);
    assert_eq!(code, 0, "{out}");
    for want in [
        "size 4",
        "4 replayed (1 trust-policy, 3 results)",
        "4 blobs: SHA-256 and size OK",
        "first run",
        "\nOK\n",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }

    log.publish(2, "later");
    let (code, out) = urne(&["verify", s(&tree), "--state", s(&state)]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("with the state file's size 4: OK"), "{out}");

    // The host shows another history of the same size to this reader.
    let fork_dir = work.path().join("fork");
    let mut fork = log.fork(4, &fork_dir);
    fork.publish(2, "forged");
    let evidence_dir = work.path().join("evidence");
    std::fs::create_dir_all(&evidence_dir).unwrap();
    let (code, out) = urne(&[
        "verify",
        s(&fork_dir),
        "--state",
        s(&state),
        "--evidence-dir",
        s(&evidence_dir),
    ]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("ALARM: SPLIT VIEW"), "{out}");
    let file = std::fs::read_dir(&evidence_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let (code, out) = urne(&["verify", "--evidence", s(&file)]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("PROVEN FORK"), "{out}");
    // The state is unchanged: the honest log still verifies.
    let (code, out) = urne(&["verify", s(&tree), "--state", s(&state)]);
    assert_eq!(code, 0, "{out}");

    // A changed byte in a payload blob.
    log.tamper_blob(5);
    let (code, out) = urne(&["verify", s(&tree)]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("(payload of log entry 5) has SHA-256"),
        "{out}"
    );

    let (code, out) = urne(&["verify", s(&work.path().join("nothing"))]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("log/checkpoint is missing"), "{out}");
    let (code, out) = urne(&["verify", "http://127.0.0.1:9/"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("CANNOT CHECK"), "{out}");
}

/// `urne log append` refuses an entry one byte over the limit by name (reading no further than
/// that byte) and appends nothing; an entry at the limit goes in.
#[test]
fn log_append_refuses_an_entry_over_the_limit() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let at = work.path().join("at-limit.bin");
    let over = work.path().join("over-limit.bin");
    std::fs::write(&at, vec![b'a'; urne_tlog::ENTRY_BYTES_MAX]).unwrap();
    std::fs::write(&over, vec![b'a'; urne_tlog::ENTRY_BYTES_MAX + 1]).unwrap();
    let append = |file: &Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_urne"))
            .args(["log", "append", "--data", s(&data), s(file)])
            .env("RUST_LOG", "warn")
            .output()
            .expect("run urne");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.code().unwrap_or(-1), text)
    };
    let (code, text) = append(&over);
    assert_ne!(code, 0, "{text}");
    let want = format!(
        "{}: over 65535 bytes; a log entry holds at most 65535",
        s(&over)
    );
    assert!(text.contains(&want), "{text}");
    let (code, text) = append(&at);
    assert_eq!(code, 0, "{text}");
    assert_eq!(
        text,
        format!("0\t{}\n", s(&at)),
        "the refused entry took no index"
    );
}
