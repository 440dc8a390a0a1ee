//! Publish, serve, export over real HTTP: officials' bundles go through `urne publish`'s
//! client to a running server; every refusal names its rule and changes nothing; the served
//! tree equals the export byte for byte; a restart rebuilds the same state from the log.

use std::{
    io::{BufRead as _, Read as _, Write as _},
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
};

use urne::{
    bundle::Bundle,
    demo,
    officials::{self, PolicyArgs, ResultsRelease, ServerAnswer},
    publish::{Publisher, RELEASE_BODY_BYTES_MAX},
};
use urne_release::{
    Status,
    manifest::{Correction, ElectionId, Sha256Hash, sha256},
};
use urne_tlog::note::Ed25519Signer;

const ORIGIN: &str = "test.urne.localhost/log";

struct Server {
    url: String,
    addr: SocketAddr,
    data: PathBuf,
    publisher: Arc<Publisher>,
    log: Option<urne_log::Log>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start(data: &Path) -> Server {
        Server::start_with(data, |site| site).await
    }

    /// A server whose site settings `site` changes from the default.
    async fn start_with(
        data: &Path,
        site: impl FnOnce(urne::publish::SiteConfig) -> urne::publish::SiteConfig,
    ) -> Server {
        let dir = urne::open_data_dir(data, ORIGIN, None).await.unwrap();
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
            site(urne::site_config("Test County", &dir.signer)),
        )
        .await
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = urne::serve::router(publisher.clone());
        let task = tokio::spawn(async move {
            // The data dir (and its lock) lives as long as the server task.
            let _dir = dir;
            axum::serve(listener, router).await.unwrap();
        });
        Server {
            url: format!("http://{addr}"),
            addr,
            data: data.to_owned(),
            publisher,
            log: Some(log),
            task,
        }
    }

    async fn stop(mut self) {
        self.task.abort();
        let _ = self.task.await;
        self.publisher.close();
        self.log.take().unwrap().shutdown().await;
    }

    async fn publish(&self, bundle: &Bundle) -> ServerAnswer {
        let (b, url) = (bundle.clone(), self.url.clone());
        tokio::task::spawn_blocking(move || officials::publish(&b, &url).unwrap())
            .await
            .unwrap()
    }

    async fn get(&self, path: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
        let url = format!("{}{path}", self.url);
        tokio::task::spawn_blocking(move || get(&url, None))
            .await
            .unwrap()
    }

    /// Everything that must not change when a release is refused.
    async fn fingerprint(&self) -> (Vec<u8>, usize, usize) {
        let (_, _, checkpoint) = self.get("/log/checkpoint").await;
        let blobs = walk(&self.data.join("public/blobs")).len();
        // The served state itself: a refused release swaps in no other.
        let served = std::sync::Arc::as_ptr(&self.publisher.served()) as usize;
        (checkpoint, blobs, served)
    }
}

fn get(url: &str, if_none_match: Option<&str>) -> (u16, Vec<(String, String)>, Vec<u8>) {
    match if_none_match {
        Some(tag) => get_with(url, &[("if-none-match", tag)]),
        None => get_with(url, &[]),
    }
}

/// A GET with these request headers, over a plain HTTP/1.1 connection: the body as it came
/// (ureq, with the gzip feature the workspace enables, would decode it).
fn get_with(url: &str, request_headers: &[(&str, &str)]) -> (u16, Vec<(String, String)>, Vec<u8>) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    let mut request = format!("GET {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n");
    for (name, value) in request_headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(answer[..split].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.trim().to_ascii_lowercase(), v.trim().to_owned())
        })
        .collect();
    (status, headers, answer[split + 4..].to_vec())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn walk(dir: &Path) -> Vec<PathBuf> {
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
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn official(name: &str, seed: u8) -> Ed25519Signer {
    Ed25519Signer::from_seed(name, [seed; 32]).unwrap()
}

/// The bundle signed by exactly `by` (earlier signatures dropped: each case starts clean).
fn signed(bundle: &Bundle, by: &[&Ed25519Signer]) -> Bundle {
    let mut b = Bundle::read(&bundle.dir).unwrap();
    b.signatures.clear();
    for s in by {
        b.sign(s).unwrap();
    }
    b
}

fn policy_bundle(
    dir: &Path,
    officials: &[&Ed25519Signer],
    sequence: u64,
    previous: Option<Sha256Hash>,
) -> Bundle {
    let args = PolicyArgs {
        officials: officials.iter().map(|o| o.verifier()).collect(),
        threshold: 2,
        log: None,
        witnesses: Vec::new(),
        witness_quorum: None,
        status: Status::Official,
        previous,
        sequence,
        timestamp: 1_800_000_000,
    };
    officials::policy_init(&args, dir).unwrap()
}

fn results_bundle(
    dir: &Path,
    sequence: u64,
    previous: Option<&Bundle>,
    reporting: (u64, u64),
    correction: Option<&str>,
) -> Bundle {
    let full = demo::fixture_snapshot().unwrap();
    let snapshot = demo::partial(&full, reporting.0, reporting.1).unwrap();
    let release = ResultsRelease {
        election: ElectionId::new("2018-general").unwrap(),
        sequence,
        previous: previous.map(|b| sha256(b.manifest.as_bytes())),
        status: Status::Unofficial,
        correction: correction.map(|c| Correction::new(c).unwrap()),
        timestamp: 1_800_000_100 + sequence,
    };
    release.write_bundle(&snapshot, dir).unwrap()
}

/// Asserts a refusal: status, the rule's name in the text, and nothing changed.
async fn refused(server: &Server, bundle: &Bundle, status: u16, rule: &str) {
    let before = server.fingerprint().await;
    let answer = server.publish(bundle).await;
    assert_eq!(answer.status, status, "{}", answer.text);
    assert!(
        answer.text.contains(rule),
        "expected rule {rule:?} in {:?}",
        answer.text
    );
    assert_eq!(
        server.fingerprint().await,
        before,
        "a refusal changed state"
    );
}

fn ok(answer: &ServerAnswer) {
    assert_eq!(answer.status, 200, "{}", answer.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn officials_publish_and_every_refusal_names_its_rule_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let b = tmp.path();
    let server = Server::start(&b.join("data")).await;
    let (alice, bob, carol, dave) = (
        official("alice", 1),
        official("bob", 2),
        official("carol", 3),
        official("dave", 4),
    );
    let mallory = official("mallory", 9);

    // Genesis: the policy needs 2 of its own officials.
    let policy = policy_bundle(&b.join("policy"), &[&alice, &bob, &carol], 0, None);
    refused(
        &server,
        &signed(&policy, &[&alice]),
        403,
        "refused (quorum)",
    )
    .await;
    // A results release before any policy.
    let r0 = results_bundle(&b.join("r0"), 0, None, (1, 2), None);
    refused(
        &server,
        &signed(&r0, &[&alice, &bob]),
        422,
        "trust-policy-first",
    )
    .await;
    ok(&server.publish(&signed(&policy, &[&alice, &bob])).await);

    // Results: below quorum, unknown key, then accepted; a retry is idempotent.
    refused(&server, &signed(&r0, &[&alice]), 403, "refused (quorum)").await;
    refused(
        &server,
        &signed(&r0, &[&alice, &mallory]),
        403,
        "unknown-key",
    )
    .await;
    let answer = server.publish(&signed(&r0, &[&alice, &carol])).await;
    ok(&answer);
    assert!(
        answer.text.starts_with("published log_index 1 "),
        "{}",
        answer.text
    );
    let again = server.publish(&signed(&r0, &[&alice, &carol])).await;
    assert!(
        again.text.starts_with("already-published log_index 1 "),
        "{}",
        again.text
    );

    // Another release claiming sequence 0: a replay.
    let other0 = results_bundle(&b.join("other0"), 0, None, (1, 1), None);
    refused(
        &server,
        &signed(&other0, &[&alice, &bob]),
        409,
        "refused (replay)",
    )
    .await;
    // Sequence 2 with 1 missing: out of order.
    let r2 = results_bundle(&b.join("r2"), 2, Some(&r0), (1, 1), None);
    refused(
        &server,
        &signed(&r2, &[&alice, &bob]),
        409,
        "refused (order)",
    )
    .await;
    // Fewer precincts than before and no correction reason: a decrease.
    let fewer = results_bundle(&b.join("fewer"), 1, Some(&r0), (1, 4), None);
    refused(
        &server,
        &signed(&fewer, &[&alice, &bob]),
        422,
        "decrease-without-correction",
    )
    .await;
    // A payload that is not what the manifest says.
    let mut tampered = signed(
        &results_bundle(&b.join("r1"), 1, Some(&r0), (1, 1), None),
        &[&alice, &bob],
    );
    let good = tampered.clone();
    tampered.payload[40] ^= 1;
    refused(&server, &tampered, 422, "payload-hash").await;
    ok(&server.publish(&good).await);

    // A correction with a reason may lower counts.
    let corrected = results_bundle(
        &b.join("r2c"),
        2,
        Some(&good),
        (1, 2),
        Some("Precincts 3-9 were loaded from the wrong memory cards"),
    );
    ok(&server.publish(&signed(&corrected, &[&bob, &carol])).await);
    // An older acknowledged release uploaded again (a client that retries late, with other
    // signatures even) is the same release: answered with its index, nothing changes.
    let before = server.fingerprint().await;
    for signers in [&[&alice, &carol], &[&bob, &carol]] {
        let again = server.publish(&signed(&r0, signers)).await;
        assert!(
            again.text.starts_with("already-published log_index 1 "),
            "{}",
            again.text
        );
    }
    assert_eq!(server.fingerprint().await, before);

    // Rotation: carol leaves, dave joins (2 of the current and 2 of the new policy).
    let rotation = policy_bundle(
        &b.join("policy1"),
        &[&alice, &bob, &dave],
        1,
        Some(sha256(policy.manifest.as_bytes())),
    );
    ok(&server
        .publish(&signed(&rotation, &[&alice, &bob, &dave]))
        .await);
    let r3 = results_bundle(&b.join("r3"), 3, Some(&corrected), (1, 1), None);
    refused(&server, &signed(&r3, &[&alice, &carol]), 403, "revoked-key").await;
    ok(&server.publish(&signed(&r3, &[&alice, &dave])).await);

    // A body over the named limit is refused before it is read.
    let before = server.fingerprint().await;
    let addr = server.addr;
    let answer = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        write!(
            s,
            "POST /api/v1/releases HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            RELEASE_BODY_BYTES_MAX + 1
        )
        .unwrap();
        // The server answers without reading the body; it may keep the connection open.
        s.set_read_timeout(Some(std::time::Duration::from_millis(500)))
            .unwrap();
        let mut bytes = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                break;
            }
            bytes.extend_from_slice(&buf[..n]);
        }
        String::from_utf8(bytes).unwrap()
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("release_body_bytes_max"), "{answer}");
    assert_eq!(server.fingerprint().await, before);
    // Garbage is a 400 naming the framing.
    let garbage = Bundle {
        signatures: "not a signature\n".into(),
        ..signed(&r3, &[&alice])
    };
    let answer = server.publish(&garbage).await;
    assert_eq!(answer.status, 422, "{}", answer.text);

    // The whole log replays, and `urne log verify` style verification passes.
    let report = urne_log::verify_tree(
        &urne_store::DirBlobs::new(b.join("data/public")),
        ORIGIN,
        &urne::read_vkey(&b.join("data/log.vkey").to_string_lossy()).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(report.size, 6);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_past_the_cache_limit_is_kept_on_disk_and_rendered_once() {
    let tmp = tempfile::tempdir().unwrap();
    let b = tmp.path();
    let spill = b.join("spill");
    std::fs::create_dir(&spill).unwrap();
    // A 4 KiB cache: each download of the fixture is larger, so when only memory held rendered
    // files, every request for one rendered it (and gzipped it) again.
    let server = Server::start_with(&b.join("data"), |site| urne::publish::SiteConfig {
        render_cache_bytes: 4096,
        spill_dir: Some(spill.clone()),
        spill_bytes_min: 2048,
        ..site
    })
    .await;
    let (alice, bob) = (official("alice", 1), official("bob", 2));
    let policy = policy_bundle(&b.join("policy"), &[&alice, &bob], 0, None);
    ok(&server.publish(&signed(&policy, &[&alice, &bob])).await);
    let r0 = results_bundle(&b.join("r0"), 0, None, (1, 2), None);
    ok(&server.publish(&signed(&r0, &[&alice, &bob])).await);

    let url = format!("{}/downloads/2018-general/results.xml", server.url);
    let before = server.publisher.served().renders();
    let mut plain = std::collections::BTreeSet::new();
    // One after the other: readers at the same time would share one render anyway.
    for i in 0..6 {
        let url = url.clone();
        let encoding = if i % 2 == 0 { "gzip" } else { "identity" };
        let (status, headers, body) =
            tokio::task::spawn_blocking(move || get_with(&url, &[("Accept-Encoding", encoding)]))
                .await
                .unwrap();
        assert_eq!(status, 200);
        let body = match header(&headers, "content-encoding") {
            Some("gzip") => {
                let mut decoded = Vec::new();
                flate2::read::GzDecoder::new(&body[..])
                    .read_to_end(&mut decoded)
                    .unwrap();
                decoded
            }
            other => {
                assert_eq!(other, None);
                body
            }
        };
        plain.insert(body);
    }
    assert_eq!(plain.len(), 1, "every reader got the same file");
    let file = plain.pop_first().unwrap();
    assert!(file.len() > 4096, "{} bytes", file.len());
    assert!(file.starts_with(b"<?xml"));
    assert_eq!(server.publisher.served().renders() - before, 1);
    // Unlinked from the start: the directory shows nothing while the file is served.
    assert_eq!(std::fs::read_dir(&spill).unwrap().count(), 0);

    // A new release of the election: its download is made again, from the new release.
    let r1 = results_bundle(&b.join("r1"), 1, Some(&r0), (2, 2), None);
    ok(&server.publish(&signed(&r1, &[&alice, &bob])).await);
    let (status, _, body) = tokio::task::spawn_blocking(move || get(&url, None))
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert_ne!(body, file, "the new release's download is the old one");
    assert_eq!(server.publisher.served().renders(), 1);
    let fresh = server.publisher.served().all().await.unwrap();
    assert_eq!(Some(&body), fresh.get("downloads/2018-general/results.xml"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_tree_equals_the_export_and_a_restart_rebuilds_it_from_the_log() {
    let tmp = tempfile::tempdir().unwrap();
    let b = tmp.path();
    let data = b.join("data");
    let server = Server::start(&data).await;
    let (alice, bob) = (official("alice", 1), official("bob", 2));
    let policy = policy_bundle(&b.join("policy"), &[&alice, &bob], 0, None);
    ok(&server.publish(&signed(&policy, &[&alice, &bob])).await);
    // Live events: subscribe before the release.
    let addr = server.addr;
    let events = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        write!(s, "GET /api/v1/events HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut lines = std::io::BufReader::new(s).lines();
        let mut seen = Vec::new();
        for line in lines.by_ref() {
            let line = line.unwrap();
            if line.starts_with("event:") || line.starts_with("data:") {
                seen.push(line);
            }
            if seen.len() == 4 {
                break;
            }
        }
        seen
    });
    // Wait until the subscriber is counted, so the event cannot be missed.
    while server.publisher.subscribers() == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let r0 = results_bundle(&b.join("r0"), 0, None, (1, 2), None);
    ok(&server.publish(&signed(&r0, &[&alice, &bob])).await);
    let seen = events.await.unwrap();
    let manifest = urne_release::manifest::hex(&sha256(r0.manifest.as_bytes()));
    assert_eq!(
        seen,
        [
            "event: release".to_owned(),
            format!(
                "data: {{\"election\":\"2018-general\",\"log_index\":1,\"manifest_hash\":\"{manifest}\"}}"
            ),
            "event: checkpoint".to_owned(),
            "data: 2".to_owned(),
        ]
    );
    let r1 = results_bundle(&b.join("r1"), 1, Some(&r0), (1, 1), None);
    ok(&server.publish(&signed(&r1, &[&alice, &bob])).await);

    // Many readers of a page nobody asked for yet: it is rendered once, and its ~pN siblings
    // come with it.
    assert_eq!(server.publisher.served().renders(), 0);
    let readers: Vec<_> = (0..32)
        .map(|_| {
            let url = format!("{}/elections/2018-general/index.html", server.url);
            tokio::task::spawn_blocking(move || get(&url, None))
        })
        .collect();
    let mut bodies = std::collections::BTreeSet::new();
    for r in readers {
        let (status, _, body) = r.await.unwrap();
        assert_eq!(status, 200);
        bodies.insert(body);
    }
    assert_eq!(bodies.len(), 1);
    assert_eq!(server.publisher.served().renders(), 1);
    assert!(server.publisher.served().cached_bytes() > 0);

    // Export, then fetch every exported file over HTTP and compare bytes.
    let out = b.join("export");
    let site = urne::site_config("Test County", &server.publisher_signer_site());
    let n = urne::export_tree(&urne_store::DirBlobs::new(data.join("public")), &site, &out)
        .await
        .unwrap();
    let files = walk(&out);
    assert_eq!(files.len(), n);
    assert!(n >= 1 + 2 + 3, "tree, checkpoint + tiles, 3 payloads: {n}");
    for file in &files {
        let rel = file
            .strip_prefix(&out)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let (status, headers, body) = server.get(&format!("/{rel}")).await;
        assert_eq!(status, 200, "{rel}");
        assert_eq!(
            body,
            std::fs::read(file).unwrap(),
            "{rel} differs from the export"
        );
        assert_eq!(
            header(&headers, "access-control-allow-origin"),
            Some("*"),
            "{rel}"
        );
        let cache = header(&headers, "cache-control").unwrap();
        let expected = if rel == "log/checkpoint" {
            "no-cache"
        } else if rel.starts_with("blobs/") || rel.starts_with("log/tile/") {
            "public, max-age=31536000, immutable"
        } else {
            urne::serve::tree_cache_control(&rel)
        };
        assert_eq!(cache, expected, "{rel}");
        // Revalidation: the ETag gives a 304 with no body.
        let tag = header(&headers, "etag").unwrap().to_owned();
        let url = format!("{}/{rel}", server.url);
        let (status, _, body) = tokio::task::spawn_blocking(move || get(&url, Some(&tag)))
            .await
            .unwrap();
        assert_eq!((status, body.len()), (304, 0), "{rel}");
    }
    let (_, _, index) = server.get("/").await;
    assert_eq!(index, std::fs::read(out.join("index.html")).unwrap());

    // A browser gets text gzip-encoded: the same bytes once decoded, its own ETag, and a 304
    // for either form's ETag. `gzip;q=0` refuses it.
    let summary = "/api/v1/elections/2018-general/summary.json";
    let exported = std::fs::read(out.join(&summary[1..])).unwrap();
    let url = format!("{}{summary}", server.url);
    let (status, headers, body) = get_with(&url, &[("accept-encoding", "gzip, deflate, br")]);
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-encoding"), Some("gzip"));
    assert_eq!(header(&headers, "vary"), Some("accept-encoding"));
    assert!(body.len() < exported.len());
    let mut decoded = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut decoded).unwrap();
    assert_eq!(decoded, exported, "gzip form decodes to the exported file");
    let gzip_tag = header(&headers, "etag").unwrap().to_owned();
    let (_, identity, _) = get_with(&url, &[]);
    let identity_tag = header(&identity, "etag").unwrap().to_owned();
    assert_ne!(gzip_tag, identity_tag);
    for tag in [&gzip_tag, &identity_tag] {
        let (status, _, body) = get_with(
            &url,
            &[("accept-encoding", "gzip"), ("if-none-match", tag.as_str())],
        );
        assert_eq!((status, body.len()), (304, 0), "{tag}");
    }
    let (status, headers, body) = get_with(&url, &[("accept-encoding", "gzip;q=0, br")]);
    assert_eq!((status, header(&headers, "content-encoding")), (200, None));
    assert_eq!(body, exported);

    // Restart: the same tree from the log alone, and the stream continues where it was.
    let before = server.publisher.served().all().await.unwrap();
    server.stop().await;
    let server = Server::start(&data).await;
    assert_eq!(server.publisher.served().all().await.unwrap(), before);
    let r1_again = server.publish(&signed(&r1, &[&alice, &bob])).await;
    assert!(
        r1_again.text.starts_with("already-published log_index 2"),
        "{}",
        r1_again.text
    );
    let r2 = results_bundle(&b.join("r2"), 2, Some(&r1), (1, 1), None);
    ok(&server.publish(&signed(&r2, &[&alice, &bob])).await);
    server.stop().await;
}

impl Server {
    fn publisher_signer_site(&self) -> Ed25519Signer {
        let text = std::fs::read_to_string(self.data.join("log.key")).unwrap();
        Ed25519Signer::from_private_key(text.trim()).unwrap()
    }
}

/// The policy names a witness with its URL: the server asks it to cosign every new checkpoint
/// and serves `log/checkpoint` with its cosignature; sequencing never waits for it. Pages and
/// API say "awaiting witnesses" until the quorum cosigned, then stop; the cosigned checkpoint
/// is durable (a restart serves it before asking anyone) and `urne export` writes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_witness_cosigns_what_the_server_serves() {
    use urne_tlog::cosignature::CosignatureSigner;
    let tmp = tempfile::tempdir().unwrap();
    let b = tmp.path();
    let data = b.join("data");
    // The fixture's downloads kept on disk, as a state's are: those are taken over.
    let spill = b.join("spill");
    std::fs::create_dir(&spill).unwrap();
    let server = Server::start_with(&data, |site| urne::publish::SiteConfig {
        spill_dir: Some(spill.clone()),
        spill_bytes_min: 1024,
        ..site
    })
    .await;
    let log_key = server.publisher_signer_site().verifier();

    let signer = CosignatureSigner::from_seed("witness.test", [9; 32]).unwrap();
    let witness_vkey = signer.verifier().vkey();
    let mut known = urne_witness::KnownLogs::new();
    known.add(ORIGIN, log_key.clone());
    let witness = Arc::new(urne_witness::Witness::new(
        signer,
        known,
        Arc::new(urne_witness::MemoryState::new()),
        Arc::new(urne_witness::SystemClock),
    ));
    // The witness's port, with nothing listening yet: the first rounds find it down.
    let witness_addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let witness_url = format!("http://{witness_addr}");

    let (alice, bob) = (official("alice", 1), official("bob", 2));
    let args = PolicyArgs {
        officials: vec![alice.verifier(), bob.verifier()],
        threshold: 2,
        log: Some(log_key.clone()),
        witnesses: vec![format!("{witness_vkey} {witness_url}")],
        witness_quorum: Some(1),
        status: Status::Official,
        previous: None,
        sequence: 0,
        timestamp: 1_800_000_000,
    };
    let policy = officials::policy_init(&args, &b.join("policy")).unwrap();
    ok(&server.publish(&signed(&policy, &[&alice, &bob])).await);
    let r0 = results_bundle(&b.join("r0"), 0, None, (1, 4), None);
    ok(&server.publish(&signed(&r0, &[&alice, &bob])).await);

    // A follower on the same store (a second cluster member) serves the log but asks no
    // witness: only the process that sequences does.
    let site = urne::site_config("Test County", &server.publisher_signer_site());
    let follower_blobs: Arc<dyn urne_store::Blobs> =
        Arc::new(urne_store::DirBlobs::new(data.join("public")));
    let follower = Publisher::open_follower(follower_blobs, site)
        .await
        .unwrap();
    assert!(follower.witness_status().is_none());

    // Witness down: sequencing went on; the pages and API say "awaiting witnesses".
    let summary = "/elections/2018-general/index.html";
    let api = "/api/v1/elections/2018-general/summary.json";
    for _ in 0..300 {
        if server
            .publisher
            .witness_status()
            .is_some_and(|s| !s.missing.is_empty())
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let status = server.publisher.witness_status().unwrap();
    assert!(!status.quorum_met, "{status:?}");
    let (_, _, page) = server.get(summary).await;
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains("data-witness=\"awaiting\""), "{page}");
    assert!(page.contains("data-policy-index=\"0\""));
    let (_, _, es) = server.get(&format!("/es{summary}")).await;
    assert!(
        String::from_utf8(es)
            .unwrap()
            .contains("En espera de testigos")
    );
    let (_, _, json) = server.get(api).await;
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(
        json["witnesses"],
        serde_json::json!({"status": "awaiting", "witnessed_size": 0, "cosigners": []})
    );
    let (_, _, bare) = server.get("/log/checkpoint").await;
    assert!(!String::from_utf8(bare).unwrap().contains("witness.test"));
    // A download, made from the release alone, rendered while awaiting witnesses; and the
    // downloads page, which counts every download's bytes.
    let download = "/downloads/2018-general/results.csv";
    let (status, _, awaiting_csv) = server.get(download).await;
    assert_eq!(status, 200);
    let (status, _, _) = server.get("/elections/2018-general/downloads.html").await;
    assert_eq!(status, 200);

    // The witness comes up: the next round (after RETRY_AFTER) gets the quorum.
    let listener = tokio::net::TcpListener::bind(witness_addr).await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let witness_task = tokio::spawn(urne_witness::serve(listener, witness, async {
        let _ = stopped.await;
    }));
    let mut page = String::new();
    for _ in 0..500 {
        let (_, _, body) = server.get(summary).await;
        page = String::from_utf8(body).unwrap();
        if page.contains("data-witness=\"witnessed\"") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        page.contains("the log checkpoint that includes this release is cosigned by witness.test"),
        "{page}"
    );
    // The witnessed state serves that download as it was, without rendering it again, and
    // its downloads page shows the sizes counted before (the export comparison below checks
    // both against a fresh render).
    let renders = server.publisher.served().renders();
    let (status, _, witnessed_csv) = server.get(download).await;
    assert_eq!(status, 200);
    assert_eq!(witnessed_csv, awaiting_csv);
    assert_eq!(
        server.publisher.served().renders(),
        renders,
        "the witnessed state rendered the download again"
    );
    let (_, _, json) = server.get(api).await;
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(
        json["witnesses"],
        serde_json::json!({"status": "witnessed", "witnessed_size": 2, "cosigners": ["witness.test"]})
    );
    // The immutable per-release copy says nothing about witnesses.
    let (_, _, frozen) = server
        .get("/api/v1/elections/2018-general/releases/1/summary.json")
        .await;
    let frozen: serde_json::Value = serde_json::from_slice(&frozen).unwrap();
    assert!(frozen.get("witnesses").is_none());
    let (status, _, body) = server.get("/log/checkpoint").await;
    assert_eq!(status, 200);
    let served = String::from_utf8(body).unwrap();
    assert!(
        served.contains("\n2\n") && served.contains("\u{2014} witness.test "),
        "no cosignature served: {served}"
    );
    let status = server.publisher.witness_status().unwrap();
    assert!(status.quorum_met, "{status:?}");
    assert_eq!(status.cosigners, ["witness.test"]);
    // The follower reads the stored witnessed state and serves what the leader serves.
    follower.catch_up().await.unwrap();
    follower.refresh_witnessed().await.unwrap();
    assert!(follower.witness_status().is_none());
    assert_eq!(
        follower.served().all().await.unwrap(),
        server.publisher.served().all().await.unwrap()
    );
    follower.close();
    // The served checkpoint passes the policy's own quorum check.
    let note = urne_tlog::note::Note::parse(served.as_bytes()).unwrap();
    let trust = urne_release::TrustPolicy::parse(&policy.payload).unwrap();
    trust.witnesses().verify_checkpoint(&note).unwrap();

    // `urne export` writes the cosigned checkpoint and the witnessed pages, as served.
    let out = b.join("export");
    let site = urne::site_config("Test County", &server.publisher_signer_site());
    urne::export_tree(&urne_store::DirBlobs::new(data.join("public")), &site, &out)
        .await
        .unwrap();
    for file in walk(&out) {
        let rel = file
            .strip_prefix(&out)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let (_, _, body) = server.get(&format!("/{rel}")).await;
        assert_eq!(
            body,
            std::fs::read(&file).unwrap(),
            "{rel} differs from the export"
        );
    }
    assert_eq!(
        std::fs::read(out.join("log/checkpoint")).unwrap(),
        served.as_bytes()
    );
    // `urne verify` re-renders the witnessed pages from the signed payloads and the
    // cosigned checkpoint, and finds the exported copies identical.
    let verified = std::process::Command::new(env!("CARGO_BIN_EXE_urne"))
        .args(["verify", out.to_str().unwrap(), "--title", "Test County"])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&verified.stdout);
    assert_eq!(verified.status.code(), Some(0), "{report}");
    assert!(report.contains("served copies identical"), "{report}");

    // Restart with the witness gone: the cosigned checkpoint and the witnessed pages are
    // served at once, from what was stored.
    stop.send(()).unwrap();
    witness_task.await.unwrap().unwrap();
    let before = server.publisher.served().all().await.unwrap();
    server.stop().await;
    let server = Server::start(&data).await;
    let (_, _, again) = server.get("/log/checkpoint").await;
    assert_eq!(again, served.as_bytes());
    assert_eq!(server.publisher.served().all().await.unwrap(), before);
    server.stop().await;
}
