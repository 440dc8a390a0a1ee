//! Election night with real processes on loopback: a primary `urne serve` fed by the officials'
//! own commands (`urne keygen`, `urne policy init --witness "VKEY URL"`, `urne results import`,
//! `urne sign`, `urne publish`), whose trust policy names three `urne witness` processes (2 of
//! 3), so the primary asks them for cosignatures itself; two `urne mirror` processes; and
//! `urne verify`.
//!
//! A real server tells no lies, so the lies are told by a lying HTTP host in this test
//! ([`Proxy`]) between the real primaries and the readers (mirrors and verifier): it chooses
//! which primary each reader sees, can serve an older checkpoint it saw, and can change a
//! blob's bytes. The fork is genuine: a second `urne serve` holding the same log key
//! ([`common::share_log_key`]) is fed the same first releases and then different ones, so the
//! two histories are both signed by the log key. No fixture primary is left.
//!
//! Phases, each asserting the exact outcome:
//! 1. a normal night: every witness cosigns, both mirrors serve the primary's tree byte for
//!    byte (pages, API, checkpoint, tiles, bundles, payloads), `urne verify` accepts a mirror,
//!    and the second mirror, also a witness (`--witness-name`), cosigns the checkpoint;
//! 2. witnesses down: one down, the quorum (2 of 3) is still met; two down, the primary and
//!    both mirrors say "awaiting witnesses" with identical trees and `urne verify` exits 4;
//!    the witness back, the primary asks again and all say witnessed;
//! 3. a tampered blob: the mirrors refuse it and keep the last verified state, `urne verify`
//!    exits 1 naming the entry; untampered, the mirrors catch up;
//! 4. equivocation: fork A (the primary, grown by one release) is cosigned by w1 and w2; fork
//!    B (the second primary, grown by two other releases) gets no cosignature although it asks
//!    the witnesses itself, and shown to w2 by the test it is refused with 422 (C2SP
//!    tlog-witness: its consistency proof does not extend what w2 cosigned), and so is it by
//!    the witnessing mirror; shown to the mirrors as their primary, they refuse it, keep serving the old state and write evidence that
//!    `urne verify --evidence` proves a fork with; `urne verify` exits 3;
//! 5. a rollback: the host serves an older checkpoint; `urne verify` exits 3 with evidence
//!    (a rollback observation), the mirrors keep their state.

mod common;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{
    ELECTION, Proc, Serve, free_addr, s, share_log_key, start_mirror, start_witness, urne,
    wait_until,
};
use urne_tlog::note::Note;
use urne_verify::fixture::DirProofs;
use urne_witness::client::{Cosigner, Outcome};

/// What the lying host does; the test changes it between phases.
#[derive(Default)]
struct Lies {
    /// Base URL of the primary whose files are passed on.
    upstream: String,
    /// Served instead of the upstream `log/checkpoint` (a rollback).
    checkpoint: Option<Vec<u8>>,
    /// A path whose bytes are changed on the way (a tampered blob).
    tamper: Option<String>,
    /// Every distinct checkpoint passed on, in order.
    seen: Vec<Vec<u8>>,
}

/// The lying host: an HTTP server passing GETs on to a real primary, lying as [`Lies`] says.
struct Proxy {
    url: String,
    lies: Arc<Mutex<Lies>>,
}

impl Proxy {
    fn start(upstream: &str) -> Proxy {
        use axum::extract::State;
        use axum::http::{StatusCode, Uri};
        use axum::response::IntoResponse;
        let lies = Arc::new(Mutex::new(Lies {
            upstream: upstream.to_owned(),
            ..Lies::default()
        }));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = lies.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let handler = |State(lies): State<Arc<Mutex<Lies>>>, uri: Uri| async move {
                    let path = uri.path().to_owned();
                    let (upstream, fake, tamper) = {
                        let l = lies.lock().unwrap();
                        (l.upstream.clone(), l.checkpoint.clone(), l.tamper.clone())
                    };
                    if let (Some(fake), "/log/checkpoint") = (fake, path.as_str()) {
                        return fake.into_response();
                    }
                    let url = format!("{upstream}{path}");
                    let (status, mut body) = tokio::task::spawn_blocking(move || common::get(&url))
                        .await
                        .unwrap();
                    if tamper.as_deref() == Some(&path[1..]) && !body.is_empty() {
                        let at = body.len() / 2;
                        body[at] ^= 1;
                    }
                    if path == "/log/checkpoint" && status == 200 {
                        let mut l = lies.lock().unwrap();
                        if l.seen.last() != Some(&body) {
                            l.seen.push(body.clone());
                        }
                    }
                    (StatusCode::from_u16(status).unwrap(), body).into_response()
                };
                let app = axum::Router::new().fallback(handler).with_state(state);
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        });
        Proxy { url, lies }
    }

    fn set(&self, f: impl FnOnce(&mut Lies)) {
        f(&mut self.lies.lock().unwrap());
    }
}

/// The officials: two keys made with `urne keygen` (2 of 2 sign), and their releases made and
/// signed with `urne results import` and `urne sign`.
struct Officials {
    dir: PathBuf,
    full: urne_results::ValidSnapshot,
}

impl Officials {
    fn new(dir: &Path) -> Officials {
        std::fs::create_dir_all(dir).unwrap();
        for name in ["alice", "bob"] {
            let out = dir.join(name);
            let (code, text) = urne(&[
                "keygen",
                "--name",
                &format!("{name}.example-county.gov"),
                "--out",
                s(&out),
            ]);
            assert_eq!(code, 0, "{text}");
        }
        Officials {
            dir: dir.to_owned(),
            full: urne::demo::fixture_snapshot().unwrap(),
        }
    }

    fn sign(&self, bundle: &Path) {
        for name in ["alice", "bob"] {
            let key = self.dir.join(name);
            let (code, text) = urne(&["sign", s(bundle), "--key", s(&key)]);
            assert_eq!(code, 0, "{text}");
        }
    }

    /// The genesis trust policy naming the witnesses ("VKEY URL"), 2 of them needed.
    fn policy(&self, witnesses: &[String], log_vkey: &Path) -> PathBuf {
        let out = self.dir.join("policy");
        let (alice, bob) = (self.dir.join("alice.vkey"), self.dir.join("bob.vkey"));
        let mut args = vec![
            "policy",
            "init",
            "--official",
            s(&alice),
            "--official",
            s(&bob),
        ];
        args.extend([
            "--threshold",
            "2",
            "--witness-quorum",
            "2",
            "--log",
            s(log_vkey),
        ]);
        for w in witnesses {
            args.extend(["--witness", w.as_str()]);
        }
        args.extend(["--out", s(&out)]);
        let (code, text) = urne(&args);
        assert_eq!(code, 0, "{text}");
        self.sign(&out);
        out
    }

    /// The results release with `tenths` of the precincts counted, as the county's NIST JSON
    /// export imported by `urne results import`, following `previous`.
    fn release(&self, name: &str, tenths: u64, previous: Option<&Path>) -> PathBuf {
        let json = self.dir.join(format!("{name}.json"));
        let snapshot = urne::demo::partial(&self.full, tenths, 10).unwrap();
        let file = std::fs::File::create(&json).unwrap();
        urne_results::export_nist_json(&snapshot, "2018-11-06T21:00:00Z", file).unwrap();
        let out = self.dir.join(name);
        let mut args = vec!["results", "import", s(&json), "--election", ELECTION];
        args.extend(["--status", "unofficial", "--out", s(&out)]);
        if let Some(p) = previous {
            args.extend(["--previous", s(p)]);
        }
        let (code, text) = urne(&args);
        assert_eq!(code, 0, "{text}");
        self.sign(&out);
        out
    }
}

/// `urne publish BUNDLE --server URL`: asserts it was published at `index`.
fn publish(bundle: &Path, server: &str, index: u64) {
    let (code, text) = urne(&["publish", s(bundle), "--server", server]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.starts_with(&format!("published log_index {index} ")),
        "{text}"
    );
}

fn fetch(base: &str, path: &str) -> Option<Vec<u8>> {
    let (status, body) = common::get(&format!("{base}/{path}"));
    (status == 200).then_some(body)
}

fn checkpoint(base: &str) -> Vec<u8> {
    fetch(base, "log/checkpoint").expect("log/checkpoint")
}

fn size_of(note: &[u8]) -> u64 {
    let note = Note::parse(note).unwrap();
    urne_tlog::Checkpoint::parse(note.text()).unwrap().size
}

/// The witness names whose cosignature lines a checkpoint note carries.
fn cosigners(note: &[u8]) -> Vec<String> {
    let note = Note::parse(note).unwrap();
    let mut names: Vec<String> = note
        .signatures()
        .iter()
        .map(|s| s.name.clone())
        .filter(|n| n.starts_with('w'))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The summary page's witness state (`awaiting` or `witnessed`).
fn witness_state(base: &str) -> String {
    let page = fetch(base, &format!("elections/{ELECTION}/index.html")).unwrap();
    let page = String::from_utf8(page).unwrap();
    let at = page.find("data-witness=\"").expect("no witness notice") + 14;
    page[at..at + page[at..].find('"').unwrap()].to_owned()
}

/// The primary's public tree as a reader reaches it: the home and summary pages in every
/// language, the latest API files, the pages linked from them breadth-first (at most
/// `PAGES_MAX` files), and `log/checkpoint`, every tile and entry bundle and every payload of
/// the log. Path → bytes.
fn reachable(base: &str) -> BTreeMap<String, Vec<u8>> {
    const PAGES_MAX: usize = 120;
    let mut queue: VecDeque<String> = VecDeque::new();
    for lang in ["", "es/", "zh/", "vi/", "tl/", "ko/"] {
        queue.push_back(format!("{lang}index.html"));
        queue.push_back(format!("{lang}elections/{ELECTION}/index.html"));
    }
    queue.push_back("api/v1/elections.json".into());
    queue.push_back(format!("api/v1/elections/{ELECTION}/summary.json"));
    let mut seen: BTreeSet<String> = queue.iter().cloned().collect();
    let mut out = BTreeMap::new();
    while let Some(path) = queue.pop_front() {
        if out.len() >= PAGES_MAX {
            break;
        }
        let Some(body) = fetch(base, &path) else {
            continue; // not this test's business (a link outside the tree)
        };
        if path.ends_with(".html") {
            let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
            for link in links(&String::from_utf8_lossy(&body)) {
                if let Some(p) = resolve(dir, &link)
                    && seen.insert(p.clone())
                {
                    queue.push_back(p);
                }
            }
        }
        out.insert(path, body);
    }
    let note = checkpoint(base);
    let size = size_of(&note);
    out.insert("log/checkpoint".into(), note);
    for kind in ["0", "entries"] {
        let path = format!("log/tile/{kind}/000.p/{size}");
        out.insert(path.clone(), fetch(base, &path).unwrap());
    }
    let bundle = out[&format!("log/tile/entries/000.p/{size}")].clone();
    for entry in urne_tlog::tile::decode_bundle(&bundle).unwrap() {
        let note = Note::parse(entry).unwrap();
        let m = urne_release::manifest::Manifest::parse(note.text().as_bytes()).unwrap();
        let path = urne_verify::follow::blob_path(&m.payload.sha256);
        out.insert(path.clone(), fetch(base, &path).unwrap());
    }
    out
}

/// `href="…"` and `src="…"` values of a page.
fn links(page: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["href=\"", "src=\""] {
        let mut rest = page;
        while let Some(at) = rest.find(attr) {
            rest = &rest[at + attr.len()..];
            if let Some(end) = rest.find('"') {
                out.push(rest[..end].to_owned());
            }
        }
    }
    out
}

/// A relative link from a page in `dir` as a path of the tree (`None`: not in the tree).
fn resolve(dir: &str, link: &str) -> Option<String> {
    let link = link.split(['#', '?']).next()?;
    if link.is_empty() || link.contains(':') || link.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in link.split('/') {
        match part {
            "." | "" => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    let mut path = parts.join("/");
    if link.ends_with('/') || path.is_empty() {
        if !path.is_empty() {
            path.push('/');
        }
        path.push_str("index.html");
    }
    Some(path)
}

/// Waits until `mirror` serves exactly the primary's reachable tree (the mirror renders after
/// it stored a checkpoint, so it may lag a moment), then returns the primary's checkpoint.
fn same_tree(primary: &str, mirror: &str) -> Vec<u8> {
    let start = std::time::Instant::now();
    let mut last = String::from("the primary kept moving");
    loop {
        assert!(
            start.elapsed() < common::WAIT_MAX,
            "{mirror} never served {primary}'s tree: {last}"
        );
        let before = checkpoint(primary);
        let tree = reachable(primary);
        if checkpoint(primary) == before {
            assert!(tree.len() > 100, "only {} files reached", tree.len());
            match tree
                .iter()
                .find(|(path, bytes)| fetch(mirror, path).as_ref() != Some(*bytes))
            {
                None => return before,
                Some((path, _)) => last = format!("{path} differs (of {} files)", tree.len()),
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `urne verify ARGS`: exit code and report.
fn verify(args: &[&str]) -> (i32, String) {
    let mut all = vec!["verify"];
    all.extend_from_slice(args);
    urne(&all)
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    out.sort();
    out
}

fn wait_for_witness_state(base: &str, want: &str, size: u64) {
    wait_until(&format!("{base} to say {want} at size {size}"), || {
        size_of(&checkpoint(base)) == size && witness_state(base) == want
    });
}

#[test]
fn election_night() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let officials = Officials::new(&w.join("officials"));

    // The primary makes its log key on first start; the witnesses are told about it.
    let a_data = w.join("primary");
    let a = Serve::start(&a_data).unwrap();
    let log_vkey = a_data.join("log.vkey");
    let mut witnesses: Vec<Option<Proc>> = Vec::new();
    let mut lines = Vec::new();
    let mut addrs = Vec::new();
    for i in 1..=3 {
        let addr = free_addr();
        let (proc, vkey) = start_witness(
            &w.join(format!("w{i}")),
            &format!("w{i}.example"),
            addr,
            s(&log_vkey),
        );
        lines.push(format!("{vkey} http://{addr}"));
        witnesses.push(Some(proc));
        addrs.push(addr);
    }
    let policy = officials.policy(&lines, &log_vkey);
    publish(&policy, &a.url, 0);
    let r0 = officials.release("r0", 1, None);
    publish(&r0, &a.url, 1);
    wait_for_witness_state(&a.url, "witnessed", 2);

    let host = Proxy::start(&a.url);
    let (m1, m2) = (free_addr(), free_addr());
    let (m1_data, m2_data) = (w.join("m1"), w.join("m2"));
    let _mirrors = [
        start_mirror(&m1_data, &host.url, m1, &[]),
        start_mirror(
            &m2_data,
            &host.url,
            m2,
            &["--witness-name", "m2.example", "--log-vkey", s(&log_vkey)],
        ),
    ];
    let (m1, m2) = (format!("http://{m1}"), format!("http://{m2}"));
    // The second mirror is a witness too; the test shows it checkpoints (a policy of it alone).
    let key_file = m2_data.join("witness.key");
    wait_until("the mirror's witness key", || key_file.exists());
    let mirror_witness = urne_tlog::cosignature::CosignatureSigner::from_private_key(
        std::fs::read_to_string(&key_file).unwrap().trim(),
    )
    .unwrap()
    .verifier()
    .vkey();
    let mirror_witness = Cosigner::with_timeout(
        &urne_tlog::policy::Policy::parse(&format!(
            "witness m2.example {mirror_witness} {m2}\nquorum m2.example\n"
        ))
        .unwrap(),
        Duration::from_secs(5),
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let primary_proofs = DirProofs(a_data.join("public"));
    let mirror_cosigns = |note: &[u8]| {
        let report =
            rt.block_on(mirror_witness.cosign(&Note::parse(note).unwrap(), &primary_proofs));
        assert!(report.quorum_met, "{:?}", report.outcomes);
    };

    // Phase 1: a normal night. Every witness cosigns; both mirrors serve the primary's tree.
    let r1 = officials.release("r1", 2, Some(&r0));
    publish(&r1, &a.url, 2);
    wait_until("all three cosignatures", || {
        cosigners(&checkpoint(&a.url)) == ["w1.example", "w2.example", "w3.example"]
    });
    wait_for_witness_state(&a.url, "witnessed", 3);
    for m in [&m1, &m2] {
        same_tree(&a.url, m);
    }
    let state = w.join("verify.state");
    let (code, out) = verify(&[&m1, "--state", s(&state), "--title", common::TITLE]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("cosigned by [w1.example, w2.example, w3.example]; quorum \"witnesses\": met"),
        "{out}"
    );
    mirror_cosigns(&checkpoint(&a.url));

    // Phase 2: w3 down: the other two still make the quorum.
    witnesses[2] = None;
    let r2 = officials.release("r2", 3, Some(&r1));
    publish(&r2, &a.url, 3);
    wait_for_witness_state(&a.url, "witnessed", 4);
    assert_eq!(cosigners(&checkpoint(&a.url)), ["w1.example", "w2.example"]);
    same_tree(&a.url, &m1);
    // w2 down too: the next release awaits witnesses, on the primary and on the mirrors alike
    // (same pages: the mirror renders with the witnessed checkpoint it verified).
    witnesses[1] = None;
    let r3 = officials.release("r3", 4, Some(&r2));
    publish(&r3, &a.url, 4);
    wait_for_witness_state(&a.url, "awaiting", 5);
    wait_until("w1's cosignature on the awaiting checkpoint", || {
        cosigners(&checkpoint(&a.url)) == ["w1.example"]
    });
    for m in [&m1, &m2] {
        same_tree(&a.url, m);
        assert_eq!(witness_state(m), "awaiting");
    }
    let (code, out) = verify(&[&m2, "--log-only"]);
    assert_eq!(code, 4, "{out}");
    assert!(out.contains("AWAITING WITNESSES"), "{out}");
    // w2 back (same key, state and address): the primary asks again and gets the quorum.
    let (proc, _) = start_witness(&w.join("w2"), "w2.example", addrs[1], s(&log_vkey));
    witnesses[1] = Some(proc);
    wait_for_witness_state(&a.url, "witnessed", 5);
    for m in [&m1, &m2] {
        same_tree(&a.url, m);
        assert_eq!(witness_state(m), "witnessed");
    }
    let good = checkpoint(&m1);

    // Phase 3: a tampered blob. The host changes the next release's payload on its way to the
    // readers: the mirrors refuse the state, keep serving the last verified one, and catch up
    // once the host stops.
    let r4 = officials.release("r4", 5, Some(&r3));
    let r4_blob = {
        let payload = std::fs::read(r4.join("payload")).unwrap();
        urne_verify::follow::blob_path(&urne_release::manifest::sha256(&payload))
    };
    host.set(|l| l.tamper = Some(r4_blob.clone()));
    publish(&r4, &a.url, 5);
    wait_for_witness_state(&a.url, "witnessed", 6);
    for data in [&m1_data, &m2_data] {
        wait_until("the mirror to refuse the tampered blob", || {
            std::fs::read_to_string(data.join("mirror.log"))
                .is_ok_and(|t| t.contains("(payload of log entry 5) has SHA-256"))
        });
    }
    for m in [&m1, &m2] {
        assert_eq!(checkpoint(m), good, "a mirror stored a tampered state");
    }
    let (code, out) = verify(&[&host.url, "--log-only"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "FAILED: {r4_blob} (payload of log entry 5) has SHA-256"
        )),
        "{out}"
    );
    host.set(|l| l.tamper = None);
    for m in [&m1, &m2] {
        same_tree(&a.url, m);
    }

    // Phase 4: equivocation. A second server with the same log key is fed the same first
    // releases (the same entries, so the same checkpoints), then its own.
    let b_data = w.join("fork");
    share_log_key(&a_data, &b_data);
    let b = Serve::start(&b_data).unwrap();
    for (i, bundle) in [&policy, &r0, &r1, &r2, &r3, &r4].into_iter().enumerate() {
        publish(bundle, &b.url, i as u64);
    }
    assert_eq!(
        Note::parse(&checkpoint(&b.url)).unwrap().text(),
        Note::parse(&checkpoint(&a.url)).unwrap().text(),
        "the same entries give the same checkpoint"
    );
    // Fork A grows and w1 and w2 cosign it ...
    let r5 = officials.release("r5", 6, Some(&r4));
    publish(&r5, &a.url, 6);
    wait_until("fork A cosigned by w1 and w2", || {
        let note = checkpoint(&a.url);
        size_of(&note) == 7 && cosigners(&note) == ["w1.example", "w2.example"]
    });
    wait_for_witness_state(&a.url, "witnessed", 7);
    let good = same_tree(&a.url, &m1);
    same_tree(&a.url, &m2);
    let (code, out) = verify(&[&host.url, "--state", s(&state), "--log-only"]);
    assert_eq!(code, 0, "{out}");
    mirror_cosigns(&good);
    // ... fork B grows differently, and shown to w2 it is refused: 422, its consistency proof
    // does not extend the checkpoint w2 cosigned.
    let f5 = officials.release("f5", 7, Some(&r4));
    publish(&f5, &b.url, 6);
    let f6 = officials.release("f6", 8, Some(&f5));
    publish(&f6, &b.url, 7);
    let fork_note = Note::parse(&checkpoint(&b.url)).unwrap();
    let w2_only = urne_tlog::policy::Policy::parse(&format!(
        "witness w2.example {}\nquorum w2.example\n",
        lines[1]
    ))
    .unwrap();
    let fork_proofs = DirProofs(b_data.join("public"));
    let w2_only = Cosigner::with_timeout(&w2_only, Duration::from_secs(5));
    for (witness, name) in [(&w2_only, "w2.example"), (&mirror_witness, "m2.example")] {
        let report = rt.block_on(witness.cosign(&fork_note, &fork_proofs));
        match &report.outcomes[..] {
            [(got, Outcome::Refused { status, .. })] => {
                assert_eq!((got.as_str(), *status), (name, 422));
            }
            other => panic!("{name} did not refuse the fork: {other:?}"),
        }
        assert!(!report.quorum_met);
    }
    // Its own requests (every round, every witness of the policy) got it nothing either.
    let fork_served = checkpoint(&b.url);
    assert_eq!(size_of(&fork_served), 8);
    assert_eq!(cosigners(&fork_served), Vec::<String>::new());
    // The host shows fork B to the readers: the mirrors refuse it, keep serving the old state
    // and write evidence; the verifier raises the alarm.
    host.set(|l| l.upstream = b.url.clone());
    for data in [&m1_data, &m2_data] {
        wait_until("the mirror's evidence", || {
            !files_in(&data.join("evidence")).is_empty()
        });
    }
    for m in [&m1, &m2] {
        assert_eq!(checkpoint(m), good, "a mirror followed the fork");
        assert_eq!(witness_state(m), "witnessed");
    }
    let file = files_in(&m1_data.join("evidence")).remove(0);
    let (code, out) = verify(&["--evidence", s(&file)]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!(
            "PROVEN FORK: log {}, sizes 7 and 8",
            common::ORIGIN
        )),
        "{out}"
    );
    let evidence = w.join("verifier-evidence");
    std::fs::create_dir_all(&evidence).unwrap();
    let (code, out) = verify(&[
        &host.url,
        "--state",
        s(&state),
        "--evidence-dir",
        s(&evidence),
    ]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("ALARM: SPLIT VIEW"), "{out}");
    let written = files_in(&evidence);
    assert_eq!(written.len(), 1, "{out}");
    let (code, out) = verify(&["--evidence", s(&written[0])]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("PROVEN FORK"), "{out}");

    // Phase 5: a rollback. The host serves the primary again, but with a checkpoint it passed
    // on earlier (size 4).
    let old = host
        .lies
        .lock()
        .unwrap()
        .seen
        .iter()
        .find(|n| size_of(n) == 4)
        .cloned()
        .expect("the host saw size 4");
    let before = files_in(&m1_data.join("evidence")).len();
    host.set(|l| {
        l.upstream = a.url.clone();
        l.checkpoint = Some(old);
    });
    let (code, out) = verify(&[
        &host.url,
        "--state",
        s(&state),
        "--evidence-dir",
        s(&evidence),
    ]);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains(&format!(
            "ALARM: ROLLBACK: log {} now serves size 4 after having signed size 7",
            common::ORIGIN
        )),
        "{out}"
    );
    let rollback = files_in(&evidence)
        .into_iter()
        .find(|f| f.to_string_lossy().ends_with("-7-4.txt"))
        .expect("rollback evidence");
    let (code, out) = verify(&["--evidence", s(&rollback)]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("ROLLBACK OBSERVED"), "{out}");
    wait_until("the mirror's rollback evidence", || {
        files_in(&m1_data.join("evidence")).len() > before
    });
    for m in [&m1, &m2] {
        assert_eq!(checkpoint(m), good, "a mirror rolled back");
    }
    // The host honest again: nothing to catch up, the mirrors serve the primary's tree.
    host.set(|l| l.checkpoint = None);
    same_tree(&a.url, &m1);
    drop(b);
}
