//! `urne serve` as a process, the way it runs on election night:
//!
//! * SIGKILL of the server at varied moments while `urne publish` uploads releases in a loop:
//!   after each restart every acknowledged release is in the log at the index it was given, a
//!   re-publish of an unacknowledged one is answered consistently, and at the end the log
//!   verifies (`urne verify`) and the served tree equals `urne export` byte for byte.
//! * The summary page in headless chromium (DevTools protocol over a pipe): a release
//!   published while it is open shows its numbers without a reload; a screenshot is written to
//!   `<target>/artifacts/live-update.png`; with JavaScript off a reload shows them too.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{ELECTION, Serve, TITLE, s, urne};

/// Server kills in the crash test (`URNE_SERVE_CRASH_KILLS` to soak).
const KILLS_DEFAULT: usize = 6;
/// Results releases prepared for the crash test.
const RELEASES: u64 = 24;

/// Parses `published log_index N …` / `already-published log_index N …`.
fn answer_index(text: &str) -> (bool, u64) {
    let already = text.starts_with("already-published ");
    let n = text
        .split_whitespace()
        .skip_while(|w| *w != "log_index")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no log_index in {text:?}"));
    (already, n)
}

/// Whether the served release-addressed summary at `index` is `bundle`'s release.
fn in_log(url: &str, index: u64, bundle: &urne::bundle::Bundle) -> bool {
    let hash =
        urne_release::manifest::hex(&urne_release::manifest::sha256(bundle.manifest.as_bytes()));
    let (status, body) = common::get(&format!(
        "{url}/api/v1/elections/{ELECTION}/releases/{index}/summary.json"
    ));
    status == 200
        && String::from_utf8_lossy(&body).contains(&format!("\"manifest_sha256\":\"{hash}\""))
}

#[test]
fn sigkill_while_publishing_loses_no_acknowledged_release() {
    let kills: usize = std::env::var("URNE_SERVE_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(KILLS_DEFAULT);
    let seed: u64 = std::env::var("URNE_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    let mut rng = fastrand::Rng::with_seed(seed);
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let data = work.join("data");
    let (alice, bob) = (common::official("alice", 1), common::official("bob", 2));

    let server = Serve::start(&data).unwrap();
    let policy = common::policy_bundle(&work.join("policy"), &[&alice, &bob], server.log_vkey());
    // Releases 0..RELEASES with ever more precincts counted; log index = sequence + 1.
    let mut bundles = Vec::new();
    for i in 0..RELEASES {
        let b = common::results_bundle(
            &work.join(format!("r{i}")),
            i,
            bundles.last(),
            (i + 1, RELEASES),
            &[&alice, &bob],
        );
        bundles.push(b);
    }
    assert_eq!(common::publish(&policy, &server.url).status, 200);

    // Release i → the log index the server acknowledged.
    let mut acked: BTreeMap<u64, u64> = BTreeMap::new();
    let (mut unacked_then_present, mut unacked_then_new) = (0, 0);
    let mut server = Some(server);
    let mut next = 0u64;
    for kill in 0..kills {
        let srv = server
            .take()
            .unwrap_or_else(|| Serve::start(&data).unwrap());
        let url = srv.url.clone();
        // After the restart: everything acknowledged is still there, at its index, and an
        // older acknowledged release sent again is answered with its index (an idempotent
        // retry: the same manifest is already in the log).
        for (&i, &index) in &acked {
            assert!(
                in_log(&url, index, &bundles[i as usize]),
                "seed {seed}: acknowledged release {i} (log index {index}) lost by kill {kill}"
            );
        }
        if acked.len() >= 2 {
            let (&i, &index) = acked.iter().next().expect("two acknowledged");
            let a = common::publish(&bundles[i as usize], &url);
            assert_eq!(a.status, 200, "seed {seed}: {}", a.text);
            assert_eq!(answer_index(&a.text), (true, index), "seed {seed}");
        }
        // Publish in a loop while a timer kills the server.
        let pid = srv.child.id();
        let delay = Duration::from_millis(rng.u64(0..1200));
        let killer = std::thread::spawn(move || {
            std::thread::sleep(delay);
            // SIGKILL by pid: the process we started, nothing else.
            let _ = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status();
        });
        let mut first = true;
        while next < RELEASES {
            let b = bundles[next as usize].clone();
            let u = url.clone();
            let answer = std::thread::spawn(move || urne::officials::publish(&b, &u))
                .join()
                .unwrap();
            match answer {
                Ok(a) if a.status == 200 => {
                    let (already, index) = answer_index(&a.text);
                    assert_eq!(index, next + 1, "seed {seed}: {}", a.text);
                    if first && acked.len() as u64 == next {
                        // The first upload after a restart repeats the one the kill cut off
                        // (if any): it is either in the log already or new, never refused.
                        if already {
                            unacked_then_present += 1;
                        } else if kill > 0 {
                            unacked_then_new += 1;
                        }
                    } else {
                        assert!(!already, "seed {seed}: {}", a.text);
                    }
                    acked.insert(next, index);
                    next += 1;
                    first = false;
                }
                Ok(a) => panic!(
                    "seed {seed}: release {next} refused: {} {}",
                    a.status, a.text
                ),
                Err(_) => break, // the connection died with the server: not acknowledged
            }
        }
        killer.join().unwrap();
        srv.kill9();
        if next == RELEASES {
            break;
        }
    }

    assert!(
        !acked.is_empty(),
        "seed {seed}: nothing was acknowledged between the kills; the test tested nothing"
    );
    // Finally: restart, publish the rest (the first one may be the cut-off upload, already
    // in the log), then every release is in the log at its index and it all verifies.
    let srv = Serve::start(&data).unwrap();
    for i in next..RELEASES {
        let a = common::publish(&bundles[i as usize], &srv.url);
        assert_eq!(a.status, 200, "seed {seed}: {}", a.text);
        let (already, index) = answer_index(&a.text);
        assert_eq!(index, i + 1, "seed {seed}");
        assert!(i == next || !already, "seed {seed}: {}", a.text);
    }
    for i in 0..RELEASES {
        assert!(
            in_log(&srv.url, i + 1, &bundles[i as usize]),
            "seed {seed}: release {i}"
        );
    }
    let (code, out) = urne(&["verify", &srv.url]);
    assert_eq!(code, 0, "seed {seed}:\n{out}");
    assert!(
        out.contains(&format!(
            "{} replayed (1 trust-policy, {RELEASES} results)",
            RELEASES + 1
        )),
        "{out}"
    );
    let export = work.join("export");
    let (code, out) = urne(&["export", s(&export), "--data", s(&data), "--title", TITLE]);
    assert_eq!(code, 0, "{out}");
    let files = common::walk(&export);
    assert!(files.len() > 100, "{}", files.len());
    for rel in &files {
        let (status, body) = common::get(&format!("{}/{rel}", srv.url));
        assert_eq!(status, 200, "{rel}");
        assert!(
            body == std::fs::read(export.join(rel)).unwrap(),
            "seed {seed}: served {rel} differs from the export"
        );
    }
    eprintln!(
        "serve crash test: seed {seed}, {} releases acknowledged before the kills, \
         {unacked_then_present} cut-off uploads found in the log on retry, {unacked_then_new} \
         published on retry, {} files compared, {:.1} s",
        acked.len(),
        files.len(),
        started.elapsed().as_secs_f64()
    );
}

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| ["chromium", "chromium-browser"].map(|n| d.join(n)))
        .find(|p| p.is_file())
}

/// A DevTools-protocol client over `--remote-debugging-pipe` (JSON messages ended by NUL on
/// the browser's fds 3 and 4, which `sh` wires to our pipes).
struct Browser {
    child: std::process::Child,
    to: std::process::ChildStdin,
    from: std::sync::mpsc::Receiver<serde_json::Value>,
    events: Vec<serde_json::Value>,
    id: u64,
    _profile: tempfile::TempDir,
}

/// How long one DevTools call or wait may take before the test fails.
const BROWSER_WAIT_MAX: Duration = Duration::from_secs(60);

impl Browser {
    fn start(exe: &Path) -> Browser {
        use std::io::{BufRead as _, BufReader};
        use std::process::{Command, Stdio};
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#"exec "$0" "$@" 3<&0 4>&1 0</dev/null 1>/dev/null 2>/dev/null"#)
            .arg(exe)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-extensions",
                "--hide-scrollbars",
                "--window-size=1000,1400",
                "--remote-debugging-pipe",
                &format!("--user-data-dir={}", profile.path().display()),
                "about:blank",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start chromium");
        let to = child.stdin.take().unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, from) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(out);
            let mut buf = Vec::new();
            while r.read_until(0, &mut buf).unwrap_or(0) > 0 {
                buf.pop_if(|b| *b == 0);
                if let Ok(v) = serde_json::from_slice(&buf)
                    && tx.send(v).is_err()
                {
                    return;
                }
                buf.clear();
            }
        });
        Browser {
            child,
            to,
            from,
            events: Vec::new(),
            id: 0,
            _profile: profile,
        }
    }

    fn call(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: serde_json::Value,
    ) -> serde_json::Value {
        use std::io::Write as _;
        self.id += 1;
        let mut msg = serde_json::json!({"id": self.id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = s.into();
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(0);
        self.to.write_all(&bytes).unwrap();
        self.to.flush().unwrap();
        let deadline = Instant::now() + BROWSER_WAIT_MAX;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = self
                .from
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("chromium did not answer {method}"));
            if v["id"] == self.id {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
            self.events.push(v);
        }
    }

    /// Waits for an event `method` whose params satisfy `pred`.
    fn wait_event(&mut self, method: &str, pred: impl Fn(&serde_json::Value) -> bool) {
        let deadline = Instant::now() + BROWSER_WAIT_MAX;
        loop {
            if self
                .events
                .iter()
                .any(|e| e["method"] == method && pred(&e["params"]))
            {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let v = self
                .from
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no {method} event"));
            self.events.push(v);
        }
    }

    fn eval(&mut self, session: &str, js: &str) -> serde_json::Value {
        let r = self.call(
            Some(session),
            "Runtime.evaluate",
            serde_json::json!({"expression": js, "returnByValue": true, "awaitPromise": true}),
        );
        r["result"]["value"].clone()
    }

    /// Evaluates `js` until it returns a string containing `want`.
    fn eval_until(&mut self, session: &str, js: &str, want: &str) -> String {
        let deadline = Instant::now() + BROWSER_WAIT_MAX;
        loop {
            let got = self
                .eval(session, js)
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if got.contains(want) {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "page never showed {want:?}; it shows:\n{got}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `<target>/artifacts`, from this test's own binary path (`<target>/debug/deps/…`).
fn artifacts_dir() -> PathBuf {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_urne"));
    let target = exe.parent().and_then(Path::parent).unwrap();
    target.join("artifacts")
}

#[test]
fn the_summary_page_shows_a_new_release_live_in_chromium() {
    let Some(exe) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is missing (CI is set)"
        );
        eprintln!(
            "SKIPPED the_summary_page_shows_a_new_release_live_in_chromium: no chromium on PATH (apt-get install chromium)"
        );
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let server = Serve::start(&work.join("data")).unwrap();
    let (alice, bob) = (common::official("alice", 1), common::official("bob", 2));
    let policy = common::policy_bundle(&work.join("policy"), &[&alice, &bob], server.log_vkey());
    assert_eq!(common::publish(&policy, &server.url).status, 200);
    let r0 = common::results_bundle(&work.join("r0"), 0, None, (1, 4), &[&alice, &bob]);
    assert_eq!(common::publish(&r0, &server.url).status, 200);
    let r1 = common::results_bundle(&work.join("r1"), 1, Some(&r0), (1, 1), &[&alice, &bob]);
    // What the summary shows for each release, from the server's own API.
    let reporting = |url: &str| -> String {
        let (_, body) = common::get(&format!("{url}/api/v1/elections/{ELECTION}/summary.json"));
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let r = &v["reporting"];
        format!(
            "{} of {} precincts reporting",
            r["units_reporting"], r["units_total"]
        )
    };
    let before = reporting(&server.url);

    let mut b = Browser::start(&exe);
    let target = b.call(
        None,
        "Target.createTarget",
        serde_json::json!({"url": "about:blank"}),
    );
    let target_id = target["targetId"].as_str().unwrap().to_owned();
    let attached = b.call(
        None,
        "Target.attachToTarget",
        serde_json::json!({"targetId": target_id, "flatten": true}),
    );
    let session = attached["sessionId"].as_str().unwrap().to_owned();
    let ses = Some(session.as_str());
    b.call(ses, "Network.enable", serde_json::json!({}));
    b.call(ses, "Page.enable", serde_json::json!({}));
    let page = format!("{}/elections/{ELECTION}/index.html", server.url);
    b.call(ses, "Page.navigate", serde_json::json!({"url": page}));
    let main_text =
        "document.querySelector('main') ? document.querySelector('main').innerText : ''";
    b.eval_until(&session, main_text, &before);
    b.eval_until(
        &session,
        "document.querySelector('.verify-status') ? document.querySelector('.verify-status').textContent : ''",
        "verified: Signed by alice, bob.",
    );
    // The live stream is open (its response arrived), so the release event cannot be missed.
    b.wait_event("Network.responseReceived", |p| {
        p["response"]["url"]
            .as_str()
            .is_some_and(|u| u.ends_with("/api/v1/events"))
    });
    // A mark on the window: it survives only if the page is not reloaded.
    b.eval(&session, "window.urneNotReloaded = 'yes'; 'set'");

    let answer = common::publish(&r1, &server.url);
    assert_eq!(answer.status, 200, "{}", answer.text);
    let after = reporting(&server.url);
    assert_ne!(before, after);
    let shown = b.eval_until(&session, main_text, &after);
    assert!(shown.contains("Updated with new results."), "{shown}");
    assert!(!shown.contains(&before), "{shown}");
    assert_eq!(
        b.eval(&session, "window.urneNotReloaded || 'reloaded'"),
        "yes"
    );
    // verify.js checked the new release too.
    b.eval_until(
        &session,
        "document.querySelector('.verify-status').textContent",
        "Log entry 2 of 3",
    );
    let shot = b.call(
        ses,
        "Page.captureScreenshot",
        serde_json::json!({"format": "png"}),
    );
    use base64::Engine as _;
    let png = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().unwrap())
        .unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let dir = artifacts_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("live-update.png");
    std::fs::write(&file, &png).unwrap();
    println!("screenshot: {}", file.display());
    eprintln!("screenshot: {}", file.display());

    // Without JavaScript, a reload shows the same numbers (server-rendered).
    b.call(
        ses,
        "Emulation.setScriptExecutionDisabled",
        serde_json::json!({"value": true}),
    );
    b.events.clear();
    b.call(ses, "Page.reload", serde_json::json!({"ignoreCache": true}));
    b.wait_event("Page.loadEventFired", |_| true);
    let shown = b.eval_until(&session, main_text, &after);
    assert!(!shown.contains("Updated with new results."), "{shown}");
    // No script ran: the verification panel still says it is checking (its no-JS text).
    let status = b.eval(
        &session,
        "document.querySelector('.verify-status').textContent",
    );
    assert!(
        !status.as_str().unwrap().starts_with("verified"),
        "{status}"
    );
    drop(server);
}
