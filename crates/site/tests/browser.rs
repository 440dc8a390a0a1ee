//! verify.js in a real browser: a log built with tlog's `TreeBuilder`, the rendered tree and
//! the log files served from a directory on a loopback port, headless chromium loading the
//! summary page. It must show "verified" with the signers, and "FAILED" with the reason
//! once a payload byte, the checkpoint signature or a tile is tampered with. With a trust
//! policy that needs 2 of 3 witnesses: "verified" with the quorum's cosignatures, "awaiting
//! witnesses" below it, "FAILED" for a forged cosignature. With the policy rotated before the
//! latest release: "verified" when the page names the rotation, "FAILED" when it names the
//! superseded genesis policy.
//!
//! Without chromium this test prints SKIPPED (and fails when `CI` is set).

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

async fn serve(State(dir): State<Arc<PathBuf>>, uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    if path.split('/').any(|s| s == ".." || s.starts_with('.')) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let file = dir.join(if path.is_empty() { "index.html" } else { path });
    let kind = match file.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    };
    match tokio::fs::read(&file).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, kind)], bytes).into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Loads `url` headless and returns the DOM after scripts ran.
async fn dump_dom(browser: &Path, url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-extensions",
                "--virtual-time-budget=20000",
                &format!("--user-data-dir={}", profile.path().display()),
                "--dump-dom",
                url,
            ])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("chromium did not finish in 120 s")
    .expect("chromium runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The text of the verification status paragraph.
fn status(dom: &str) -> String {
    let at = dom
        .find("verify-status")
        .unwrap_or_else(|| panic!("no status in\n{dom}"));
    let start = at + dom[at..].find('>').unwrap() + 1;
    let end = start + dom[start..].find("</p>").unwrap();
    dom[start..end].to_owned()
}

fn write_tree(dir: &Path, files: impl IntoIterator<Item = (String, Vec<u8>)>) {
    for (p, b) in files {
        let path = dir.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_js_in_chromium() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "verify_js_in_chromium: chromium is missing (CI is set)"
        );
        eprintln!("SKIPPED verify_js_in_chromium: no chromium on PATH (apt-get install chromium)");
        return;
    };
    let f = common::night();
    let tree = urne_site::render(&common::site(&f)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), tree.into_iter().chain(f.files.iter().cloned()));
    let app = Router::new()
        .fallback(serve)
        .with_state(Arc::new(dir.path().to_path_buf()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let url = format!("http://{addr}/elections/{}/index.html", common::ELECTION);

    let ok = status(&dump_dom(&browser, &url).await);
    assert_eq!(
        ok,
        "verified: Signed by registrar, deputy, observer. Log entry 3 of 4, log key results.example-county.gov/log."
    );
    // The Korean page says the same in Korean.
    let ko = status(
        &dump_dom(
            &browser,
            &format!("http://{addr}/ko/elections/{}/index.html", common::ELECTION),
        )
        .await,
    );
    assert!(
        ko.starts_with("검증됨: 서명자: registrar, deputy, observer."),
        "{ko}"
    );

    // Tamper one byte of the latest payload: the hash no longer matches the manifest.
    let payload_hex =
        urne_release::manifest::hex(&f.releases.last().unwrap().manifest().payload.sha256);
    let blob = dir.path().join(format!("blobs/sha256/{payload_hex}"));
    let good = std::fs::read(&blob).unwrap();
    let mut bad = good.clone();
    bad[good.len() / 2] ^= 1;
    std::fs::write(&blob, &bad).unwrap();
    assert_eq!(
        status(&dump_dom(&browser, &url).await),
        "FAILED: payload does not hash to the signed value"
    );
    std::fs::write(&blob, &good).unwrap();

    // Tamper the checkpoint's signature (flip bits in one base64 character of the signature).
    let cp_path = dir.path().join("log/checkpoint");
    let cp = std::fs::read_to_string(&cp_path).unwrap();
    let sig_at = cp.rfind('\u{2014}').unwrap()
        + cp[cp.rfind('\u{2014}').unwrap()..].rfind(' ').unwrap()
        + 10;
    let mut forged = cp.clone().into_bytes();
    forged[sig_at] = if forged[sig_at] == b'A' { b'B' } else { b'A' };
    std::fs::write(&cp_path, &forged).unwrap();
    assert_eq!(
        status(&dump_dom(&browser, &url).await),
        "FAILED: checkpoint signature does not verify"
    );
    std::fs::write(&cp_path, cp).unwrap();

    // Tamper a hash in the level-0 tile: the proof no longer leads to the signed root.
    let tile = dir.path().join("log/tile/0/000.p/4");
    let good_tile = std::fs::read(&tile).unwrap();
    let mut bad_tile = good_tile.clone();
    bad_tile[5] ^= 0x80;
    std::fs::write(&tile, &bad_tile).unwrap();
    assert_eq!(
        status(&dump_dom(&browser, &url).await),
        "FAILED: inclusion proof does not match the signed root"
    );
    std::fs::write(&tile, &good_tile).unwrap();

    // And back to verified once everything is restored.
    assert!(status(&dump_dom(&browser, &url).await).starts_with("verified: "));
}

/// A trust policy needing 2 of 3 witnesses: verify.js reads it from the log (entry 0) and
/// checks the checkpoint's cosignatures against it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_js_requires_the_witness_quorum() {
    use urne_tlog::cosignature::CosignatureSigner;
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "verify_js_requires_the_witness_quorum: chromium is missing (CI is set)"
        );
        eprintln!(
            "SKIPPED verify_js_requires_the_witness_quorum: no chromium on PATH (apt-get install chromium)"
        );
        return;
    };
    let witnesses: Vec<CosignatureSigner> = (1..=3u8)
        .map(|i| CosignatureSigner::from_seed(&format!("w{i}.example"), [i; 32]).unwrap())
        .collect();
    let mut lines = String::new();
    for (i, w) in witnesses.iter().enumerate() {
        lines.push_str(&format!("witness w{} {}\n", i + 1, w.verifier().vkey()));
    }
    lines.push_str("group g 2 w1 w2 w3\nquorum g\n");
    let f = common::night_with(&lines);
    let cosigners = vec!["w1".to_owned(), "w2".to_owned()];
    let site = urne_site::Site {
        witnesses: Some(urne_site::Witnesses {
            size: 4,
            cosigners: &cosigners,
            policy_log_index: 0,
        }),
        ..common::site(&f)
    };
    let tree = urne_site::render(&site).unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), tree.into_iter().chain(f.files.iter().cloned()));
    let app = Router::new()
        .fallback(serve)
        .with_state(Arc::new(dir.path().to_path_buf()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let url = format!("http://{addr}/elections/{}/index.html", common::ELECTION);

    // The log-signed checkpoint with cosignatures by the witnesses `by` (index into witnesses).
    let cp_path = dir.path().join("log/checkpoint");
    let bare = std::fs::read(&cp_path).unwrap();
    let cosigned = |by: &[usize]| {
        let mut note = urne_tlog::note::Note::parse(&bare).unwrap();
        let cp = urne_tlog::Checkpoint::parse(note.text()).unwrap();
        for &i in by {
            let sig = witnesses[i].sign(&cp, 1_800_000_000 + i as u64).unwrap();
            note.add_signature(sig).unwrap();
        }
        note.to_text()
    };
    let signed = "Signed by registrar, deputy, observer. Log entry 3 of 4, log key results.example-county.gov/log.";

    // Quorum met (w1 and w3 of the group's 2 of 3).
    std::fs::write(&cp_path, cosigned(&[0, 2])).unwrap();
    assert_eq!(
        status(&dump_dom(&browser, &url).await),
        format!("verified: {signed} Cosigned by the witnesses w1, w3.")
    );
    // One cosignature: below the quorum.
    std::fs::write(&cp_path, cosigned(&[1])).unwrap();
    assert_eq!(
        status(&dump_dom(&browser, &url).await),
        format!("awaiting witnesses: {signed}")
    );
    // None at all: the same.
    std::fs::write(&cp_path, &bare).unwrap();
    assert_eq!(
        status(&dump_dom(&browser, &url).await),
        format!("awaiting witnesses: {signed}")
    );
    // A forged cosignature by w2 beside a valid one by w1: FAILED, even though two lines are
    // there.
    let good = cosigned(&[0, 1]);
    let line_at = good.find("\u{2014} w2.example ").unwrap();
    let line_end = line_at + good[line_at..].find('\n').unwrap();
    let sig_at = line_at + good[line_at..line_end].rfind(' ').unwrap() + 30;
    let mut forged = good.clone().into_bytes();
    forged[sig_at] = if forged[sig_at] == b'A' { b'B' } else { b'A' };
    std::fs::write(&cp_path, &forged).unwrap();
    assert_eq!(
        status(&dump_dom(&browser, &url).await),
        "FAILED: cosignature by witness w2 does not verify"
    );
    // The summary page says what the server knew when it rendered.
    let page = std::fs::read_to_string(
        dir.path()
            .join(format!("elections/{}/index.html", common::ELECTION)),
    )
    .unwrap();
    assert!(
        page.contains("the log checkpoint that includes this release is cosigned by w1, w2."),
        "{page}"
    );
}

/// The trust policy rotated (entry 2) between the first release (entry 1) and the latest (entry
/// 4): verify.js proves the entries after the named policy from the bundles and tiles, so a
/// page naming the superseded genesis policy fails, and the rotation verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_js_refuses_a_superseded_trust_policy() {
    use urne_tlog::cosignature::CosignatureSigner;
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "verify_js_refuses_a_superseded_trust_policy: chromium is missing (CI is set)"
        );
        eprintln!(
            "SKIPPED verify_js_refuses_a_superseded_trust_policy: no chromium on PATH (apt-get install chromium)"
        );
        return;
    };
    let witness = CosignatureSigner::from_seed("w1.example", [1; 32]).unwrap();
    let lines = format!("witness w1 {}\nquorum w1\n", witness.verifier().vkey());
    let f = common::night_rotating(&lines, Some(1));
    assert_eq!(f.log_indices, [1, 3, 4]);
    let cosigners = vec!["w1".to_owned()];
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), f.files.iter().cloned());
    // The checkpoint cosigned by the witness: the quorum of either policy entry.
    let cp_path = dir.path().join("log/checkpoint");
    let mut note = urne_tlog::note::Note::parse(&std::fs::read(&cp_path).unwrap()).unwrap();
    let cp = urne_tlog::Checkpoint::parse(note.text()).unwrap();
    assert_eq!(cp.size, 5);
    note.add_signature(witness.sign(&cp, 1_800_000_000).unwrap())
        .unwrap();
    std::fs::write(&cp_path, note.to_text()).unwrap();
    let app = Router::new()
        .fallback(serve)
        .with_state(Arc::new(dir.path().to_path_buf()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let url = format!("http://{addr}/elections/{}/index.html", common::ELECTION);
    let render = |policy_log_index: u64| {
        let site = urne_site::Site {
            witnesses: Some(urne_site::Witnesses {
                size: 5,
                cosigners: &cosigners,
                policy_log_index,
            }),
            ..common::site(&f)
        };
        write_tree(dir.path(), urne_site::render(&site).unwrap());
    };

    render(2);
    assert_eq!(
        status(&dump_dom(&browser, &url).await),
        "verified: Signed by registrar, deputy, observer. Log entry 4 of 5, log key results.example-county.gov/log. Cosigned by the witnesses w1."
    );
    render(0);
    assert_eq!(
        status(&dump_dom(&browser, &url).await),
        "FAILED: the page names trust policy entry 0, replaced by entry 2 before this release"
    );
    // A host that alters the entries after the named policy (to hide a rotation) is caught by
    // the recomputed root.
    render(2);
    let bundle_path = dir.path().join("log/tile/entries/000.p/5");
    let mut bundle = std::fs::read(&bundle_path).unwrap();
    let at: usize = f.entries[..3].iter().map(|e| 2 + e.len()).sum::<usize>() + 2 + 20;
    bundle[at] ^= 1;
    std::fs::write(&bundle_path, &bundle).unwrap();
    assert_eq!(
        status(&dump_dom(&browser, &url).await),
        "FAILED: log entries 3 to 4 do not match the signed root"
    );
}
