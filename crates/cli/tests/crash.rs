//! A crash test that really crashes: a child process appends in a loop and is killed with
//! SIGKILL at random moments. After each kill, recovery plus a full verification of the log
//! from scratch must pass, and every append the child saw acknowledged must be in the log at the
//! index it was given.
//!
//! `URNE_CRASH_ITERATIONS` sets the number of kills (default 25; the soak script runs 200+).
//! `URNE_CRASH_SEED` replays a run.

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader, Write},
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

const ITERATIONS_DEFAULT: usize = 25;

#[test]
fn sigkill_at_random_moments_loses_nothing_acknowledged() {
    let iterations: usize = std::env::var("URNE_CRASH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(ITERATIONS_DEFAULT);
    let seed: u64 = std::env::var("URNE_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    let mut rng = fastrand::Rng::with_seed(seed);
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    // index → entry, for every acknowledged append so far.
    let mut acked: BTreeMap<u64, String> = BTreeMap::new();
    let mut kills_mid_batch = 0usize;
    let started = Instant::now();
    for run in 0..iterations {
        let before = acked.len();
        let lines = run_and_kill(dir.path(), run, &mut rng);
        for line in lines {
            let (index, entry) = parse_ack(&line);
            if let Some(old) = acked.insert(index, entry.clone()) {
                panic!("seed {seed}: index {index} acknowledged twice: {old:?} and {entry:?}");
            }
        }
        if acked.len() > before {
            kills_mid_batch += 1;
        }
        let size = rt.block_on(recover_and_verify(dir.path(), &acked, seed));
        assert!(
            size >= acked.len() as u64,
            "seed {seed}: log shrank below what was acknowledged"
        );
    }
    assert!(
        acked.len() > iterations,
        "seed {seed}: the child acknowledged only {} appends in {iterations} runs; the test tested nothing",
        acked.len()
    );
    let _ = writeln!(
        std::io::stderr(),
        "crash test: {iterations} SIGKILLs (seed {seed}), {} appends acknowledged and found, \
         {kills_mid_batch} kills while appending, {:.1} s",
        acked.len(),
        started.elapsed().as_secs_f64()
    );
}

/// Starts the child, lets it run for a random moment, kills it with SIGKILL, and returns the
/// complete `ACK` lines it printed.
fn run_and_kill(dir: &Path, run: usize, rng: &mut fastrand::Rng) -> Vec<String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_urne-crash-child"))
        .arg(dir)
        .arg(run.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting the crash child");
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut lines = Vec::new();
        let mut line = Vec::new();
        while reader.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
            // A line cut by the kill has no newline: it was never fully acknowledged to us.
            if line.ends_with(b"\n") {
                lines.push(String::from_utf8(line.clone()).unwrap());
            }
            line.clear();
        }
        lines
    });
    // Sometimes during start-up and recovery, mostly while appending.
    let delay = if rng.u8(..10) == 0 {
        rng.u64(0..30)
    } else {
        rng.u64(30..400)
    };
    std::thread::sleep(Duration::from_millis(delay));
    child.kill().expect("SIGKILL"); // std sends SIGKILL on Unix.
    let status = child.wait().unwrap();
    assert!(!status.success(), "the child exited by itself: {status:?}");
    reader.join().unwrap()
}

fn parse_ack(line: &str) -> (u64, String) {
    let rest = line.strip_prefix("ACK ").expect("ACK line");
    let (index, entry) = rest
        .trim_end_matches('\n')
        .split_once(' ')
        .expect("ACK index entry");
    (index.parse().expect("index"), entry.to_owned())
}

/// Recovers the log in this process, verifies it from scratch, and checks every acknowledged
/// entry. Returns the tree size.
async fn recover_and_verify(dir: &Path, acked: &BTreeMap<u64, String>, seed: u64) -> u64 {
    let data = urne::open_data_dir(dir, "crash.urne.localhost/log", None)
        .await
        .unwrap();
    let verifier = data.signer.verifier();
    let log = urne_log::Log::open(
        urne_log::Config::new(data.origin()),
        data.signer.clone(),
        data.store.clone(),
        data.blobs.clone(),
    )
    .await
    .unwrap_or_else(|e| panic!("seed {seed}: recovery failed: {e}"));
    let size = log.size_at_open();
    log.shutdown().await;
    let report = urne_log::verify_tree(data.blobs.as_ref(), data.origin(), &verifier)
        .await
        .unwrap_or_else(|e| panic!("seed {seed}: verification after recovery failed: {e}"));
    assert_eq!(
        report.size, size,
        "seed {seed}: public checkpoint differs from the store's"
    );
    let entries = urne_log::read_all_entries(data.blobs.as_ref(), size)
        .await
        .unwrap();
    for (index, entry) in acked {
        let found = entries
            .get(*index as usize)
            .map(|e| String::from_utf8_lossy(e));
        assert_eq!(
            found.as_deref(),
            Some(entry.as_str()),
            "seed {seed}: acknowledged entry {index} is missing or different"
        );
    }
    size
}
