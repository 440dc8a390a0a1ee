//! The listener's light path for rendered-tree files (`urne::live`) answers exactly as axum
//! does: each case sends the same raw requests over loopback TCP twice, once on a fresh
//! connection (the light path answers what it can) and once after a `GET /log/checkpoint` in
//! the same packet (the connection goes to axum first, so axum answers everything), and
//! compares status lines, every header but Date's value, bodies, and whether the connection
//! closes. The listener's counters say which path answered, so the cases the light path is
//! meant to take are checked to take it.
//!
//! The server runs in this process (the same `Listener` + `serve::router` as `urne serve`)
//! so those counters can be read.

mod common;

use std::io::{BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt as _;
use common::{ELECTION, ORIGIN, TITLE, official, policy_bundle, publish, results_bundle};
use urne::live::{LIGHT_HEAD_BYTES_MAX, Stats};

const READ_WAIT_MAX: Duration = Duration::from_secs(20);
/// A request axum answers, sent first to put a connection on axum's path.
const TO_AXUM: &[u8] = b"GET /log/checkpoint HTTP/1.1\r\nHost: x\r\n\r\n";

/// `urne serve`'s listener and router on a loopback port, in this process.
struct Server {
    addr: SocketAddr,
    stats: Arc<Stats>,
    _runtime: tokio::runtime::Runtime,
}

impl Server {
    /// `spill_bytes_min`: the smallest rendered file kept on disk.
    fn start(data: &Path, spill_bytes_min: usize) -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (addr, stats) = runtime.block_on(async {
            let dir = urne::open_data_dir(data, ORIGIN, None).await.unwrap();
            let log = urne_log::Log::open(
                urne_log::Config::new(dir.origin()),
                dir.signer.clone(),
                dir.store.clone(),
                dir.blobs.clone(),
            )
            .await
            .unwrap();
            let site = urne::publish::SiteConfig {
                spill_bytes_min,
                ..urne::site_config(TITLE, &dir.signer)
            };
            let publisher = urne::publish::Publisher::open(
                dir.blobs.clone(),
                log.handle(),
                log.size_at_open(),
                site,
            )
            .await
            .unwrap();
            let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = tcp.local_addr().unwrap();
            let listener = urne::live::Listener::new(tcp, publisher.clone()).unwrap();
            let stats = listener.stats();
            let app =
                urne::serve::router(publisher).into_make_service_with_connect_info::<SocketAddr>();
            tokio::spawn(async move {
                // The data directory and the log live as long as the server.
                let _keep = (dir, log);
                // `tap_io` as in `urne serve`: axum gives the peer address to a tapped listener.
                axum::serve(listener.tap_io(|_| {}), app).await.unwrap();
            });
            (addr, stats)
        });
        Server {
            addr,
            stats,
            _runtime: runtime,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// One answer as read off the wire.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    status: String,
    /// In order, names lower-cased; Date's value replaced by `*`.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the server closes the connection after this answer (HTTP/1.1 rules).
    fn closes(&self) -> bool {
        let connection = self.header("connection").unwrap_or("");
        connection.eq_ignore_ascii_case("close")
            || self.status.starts_with("HTTP/1.0") && !connection.eq_ignore_ascii_case("keep-alive")
    }
}

fn read_answer(r: &mut BufReader<TcpStream>, head_request: bool) -> Answer {
    let (status, mut headers) = common::read_head(r);
    // Date's value differs between the two answers; its presence and place do not.
    for (k, v) in &mut headers {
        if k == "date" {
            *v = "*".to_owned();
        }
    }
    let mut answer = Answer {
        status,
        headers,
        body: Vec::new(),
    };
    assert_eq!(answer.header("date"), Some("*"), "{answer:?}");
    let len: usize = match answer.header("content-length") {
        Some(n) if !head_request && !answer.status.contains(" 304 ") => n.parse().unwrap(),
        _ => 0,
    };
    answer.body = vec![0; len];
    r.read_exact(&mut answer.body).unwrap();
    answer
}

/// Sends `packets` (a short pause between them, so each is its own segment) and reads one
/// answer per entry of `heads` (`true`: to a HEAD request); then, if the last answer closes
/// the connection, checks that it does.
fn exchange(server: &Server, packets: &[Vec<u8>], heads: &[bool]) -> (Vec<Answer>, bool) {
    let stream = TcpStream::connect(server.addr).unwrap();
    stream.set_read_timeout(Some(READ_WAIT_MAX)).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    for (i, p) in packets.iter().enumerate() {
        if i > 0 {
            std::thread::sleep(Duration::from_millis(30));
        }
        writer.write_all(p).unwrap();
        writer.flush().unwrap();
    }
    let answers: Vec<Answer> = heads.iter().map(|&h| read_answer(&mut reader, h)).collect();
    let closes = answers.last().is_some_and(Answer::closes);
    if closes {
        let mut rest = Vec::new();
        let _ = reader.read_to_end(&mut rest);
        assert!(rest.is_empty(), "bytes after a closing answer: {rest:?}");
    }
    (answers, closes)
}

struct Case {
    name: &'static str,
    packets: Vec<Vec<u8>>,
    /// One entry per answer: whether it answers a HEAD.
    heads: Vec<bool>,
    /// How many of the answers the light path writes.
    light: u64,
}

fn case(name: &'static str, packets: &[&[u8]], heads: &[bool], light: u64) -> Case {
    Case {
        name,
        packets: packets.iter().map(|p| p.to_vec()).collect(),
        heads: heads.to_vec(),
        light,
    }
}

fn get(path: &str, extra: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n").into_bytes()
}

fn head(path: &str, extra: &str) -> Vec<u8> {
    format!("HEAD {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n").into_bytes()
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// The ETag `server` sends for `path` with these extra headers.
fn etag_of(server: &Server, path: &str, extra: &str) -> String {
    let (answers, _) = exchange(server, &[get(path, extra)], &[false]);
    answers[0].header("etag").unwrap().to_owned()
}

#[test]
fn the_light_path_answers_as_axum_does() {
    // As `urne serve` runs (files in memory below `SPILL_BYTES_MIN`, which these all are), then
    // on a new server with every rendered file kept on disk, gzip form and all.
    for on_disk in [false, true] {
        table(on_disk);
    }
}

/// The table of exchanges, each sent to the light path and to axum; `on_disk`: every rendered
/// file is kept on disk.
fn table(on_disk: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(
        &tmp.path().join("data"),
        if on_disk {
            1
        } else {
            urne::serve::SPILL_BYTES_MIN
        },
    );
    let (alice, bob) = (official("alice", 1), official("bob", 2));
    let log_vkey = {
        let vkey = std::fs::read_to_string(tmp.path().join("data/log.vkey")).unwrap();
        urne_tlog::note::Ed25519Verifier::from_vkey(vkey.trim()).unwrap()
    };
    let policy = policy_bundle(&tmp.path().join("p"), &[&alice, &bob], log_vkey);
    assert_eq!(publish(&policy, &server.url()).status, 200);
    let r0 = results_bundle(&tmp.path().join("r0"), 0, None, (1, 2), &[&alice, &bob]);
    let answer = publish(&r0, &server.url());
    assert_eq!(answer.status, 200, "{}", answer.text);

    let html = format!("/elections/{ELECTION}/index.html");
    let json = format!("/api/v1/elections/{ELECTION}/summary.json");
    let small = "/api/v1/elections.json";
    let gzip = "Accept-Encoding: gzip, deflate, br, zstd\r\n";
    let html_tag = etag_of(&server, &html, "");
    let html_gz_tag = etag_of(&server, &html, gzip);
    let json_tag = etag_of(&server, &json, "");
    let json_gz_tag = etag_of(&server, &json, gzip);
    let small_tag = etag_of(&server, small, "");
    assert_ne!(html_tag, html_gz_tag);
    let inm = |tag: &str| format!("If-None-Match: {tag}\r\n");

    let mut many_headers = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..120 {
        many_headers.extend_from_slice(format!("x-h{i}: v\r\n").as_bytes());
    }
    many_headers.extend_from_slice(b"\r\n");
    let mut long_head = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    while long_head.len() < LIGHT_HEAD_BYTES_MAX + 1_000 {
        long_head
            .extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    long_head.extend_from_slice(b"\r\n");
    let split = get(&html, gzip);

    let cases = vec![
        case("GET html", &[&get(&html, "")], &[false], 1),
        case("HEAD html", &[&head(&html, "")], &[true], 1),
        case("GET html gzip", &[&get(&html, gzip)], &[false], 1),
        case("HEAD html gzip", &[&head(&html, gzip)], &[true], 1),
        case("GET json", &[&get(&json, "")], &[false], 1),
        case("GET json gzip", &[&get(&json, gzip)], &[false], 1),
        case(
            "gzip refused",
            &[&get(&json, "Accept-Encoding: gzip;q=0, br\r\n")],
            &[false],
            1,
        ),
        case("GET small file", &[&get(small, gzip)], &[false], 1),
        case(
            "304 small file",
            &[&get(small, &inm(&small_tag))],
            &[false],
            1,
        ),
        case(
            "304 plain tag",
            &[&get(&json, &inm(&json_tag))],
            &[false],
            1,
        ),
        case(
            "304 gzip tag, gzip",
            &[&get(&json, &format!("{gzip}{}", inm(&json_gz_tag)))],
            &[false],
            1,
        ),
        case(
            "304 plain tag, gzip",
            &[&get(&html, &format!("{gzip}{}", inm(&html_tag)))],
            &[false],
            1,
        ),
        case(
            "304 gzip tag, plain",
            &[&get(&html, &inm(&html_gz_tag))],
            &[false],
            1,
        ),
        case(
            "304 among tags, two headers",
            &[&get(
                &html,
                &format!("If-None-Match: \"nope\"\r\nIf-None-Match: \"x\", {html_tag}\r\n"),
            )],
            &[false],
            1,
        ),
        case(
            "304 star",
            &[&get(&json, "If-None-Match: *\r\n")],
            &[false],
            1,
        ),
        case("HEAD 304", &[&head(&json, &inm(&json_tag))], &[true], 1),
        case(
            "stale tag",
            &[&get(&json, "If-None-Match: \"old\"\r\n")],
            &[false],
            1,
        ),
        case("root", &[&get("/", "")], &[false], 1),
        case("root query", &[&get("/?lang=en&x=1", gzip)], &[false], 1),
        case(
            "file query",
            &[&get(&format!("{json}?t=123"), "")],
            &[false],
            1,
        ),
        case(
            "directory",
            &[&get(&format!("/elections/{ELECTION}/"), "")],
            &[false],
            1,
        ),
        case(
            "double slash",
            &[&get(&format!("/{html}"), "")],
            &[false],
            1,
        ),
        case("no such file", &[&get("/nope.html", "")], &[false], 0),
        case(
            "percent-encoded",
            &[&get(&format!("/elections/{ELECTION}/index%2Ehtml"), "")],
            &[false],
            0,
        ),
        case(
            "routed elsewhere",
            &[&get("/log/checkpoint", "")],
            &[false],
            0,
        ),
        case(
            "GET of the POST route",
            &[&get("/api/v1/releases", "")],
            &[false],
            0,
        ),
        case(
            "lower-case method",
            &[b"get / HTTP/1.1\r\nHost: x\r\n\r\n"],
            &[false],
            0,
        ),
        case(
            "OPTIONS",
            &[b"OPTIONS / HTTP/1.1\r\nHost: x\r\n\r\n"],
            &[false],
            0,
        ),
        case(
            "Expect",
            &[&get(&html, "Expect: 100-continue\r\n")],
            &[false],
            0,
        ),
        case(
            "HTTP/1.0",
            &[format!("GET {html} HTTP/1.0\r\n\r\n").as_bytes()],
            &[false],
            1,
        ),
        case(
            "HTTP/1.0 keep-alive, twice",
            &[format!(
                "GET {html} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n\
                 HEAD {json} HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"
            )
            .as_bytes()],
            &[false, true],
            2,
        ),
        case(
            "Connection: close",
            &[&get(&html, "Connection: close\r\n")],
            &[false],
            1,
        ),
        case(
            "close wins over keep-alive",
            &[&get(
                &html,
                "Connection: keep-alive\r\nConnection: close\r\n",
            )],
            &[false],
            1,
        ),
        case(
            "pipelined, one packet",
            &[&cat(&[
                &get(&html, ""),
                &head(&json, gzip),
                &get(&json, gzip),
                &get(&html, &inm(&html_tag)),
                &get("/", "Connection: close\r\n"),
            ])],
            &[false, true, false, false, false],
            5,
        ),
        case(
            "one request in three packets",
            &[&split[..5], &split[5..30], &split[30..]],
            &[false],
            1,
        ),
        case(
            "POST after GETs",
            &[&cat(&[
                &get(&html, ""),
                &get(&json, gzip),
                b"POST /api/v1/releases HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
                &get(&html, ""),
            ])],
            &[false, false, false, false],
            2,
        ),
        case(
            "GET with a body",
            &[&cat(&[&get(&html, "Content-Length: 2\r\n"), b"hi"])],
            &[false],
            0,
        ),
        case("head over the light limit", &[&long_head], &[false], 0),
        case("too many headers (431)", &[&many_headers], &[false], 0),
        case(
            "malformed (400)",
            &[b"GET / HTTP/1.1\r\nno colon here\r\n\r\n"],
            &[false],
            0,
        ),
        case(
            "malformed after a good one",
            &[&cat(&[
                &get(&html, ""),
                b"GET / HTTP/1.1\r\nno colon\r\n\r\n",
            ])],
            &[false, false],
            1,
        ),
    ];

    let mut seen_statuses = std::collections::BTreeSet::new();
    // Twice: as `urne serve` runs (bodies of large files by sendfile(2), the rest written from
    // memory), then with every plain body by sendfile(2).
    for sendfile_min in [urne::sendfile::SENDFILE_BYTES_MIN, 1] {
        urne::sendfile::set_bytes_min(sendfile_min);
        let from_files = server.stats.sent_from_files();
        for c in &cases {
            let before = server.stats.answered();
            let (light, light_closes) = exchange(&server, &c.packets, &c.heads);
            let light_answered = server.stats.answered() - before;

            let mut via_axum = c.packets.clone();
            via_axum[0].splice(0..0, TO_AXUM.iter().copied());
            let mut heads = vec![false];
            heads.extend(&c.heads);
            let before = server.stats.answered();
            let (mut axum, axum_closes) = exchange(&server, &via_axum, &heads);
            assert_eq!(
                server.stats.answered(),
                before,
                "{}: answered by axum",
                c.name
            );
            let checkpoint = axum.remove(0);
            assert_eq!(checkpoint.status, "HTTP/1.1 200 OK", "{}", c.name);

            assert_eq!(light_answered, c.light, "{}: light-path answers", c.name);
            assert_eq!(light, axum, "{}", c.name);
            assert_eq!(light_closes, axum_closes, "{}", c.name);
            for a in &light {
                seen_statuses.insert(a.status.clone());
            }
        }
        if sendfile_min == 1 || on_disk {
            let sent = server.stats.sent_from_files() - from_files;
            assert!(sent >= 10, "{sent} answers by sendfile(2)");
        }
    }
    // The table covers what it says it covers.
    for status in [
        "HTTP/1.1 200 OK",
        "HTTP/1.0 200 OK",
        "HTTP/1.1 304 Not Modified",
        "HTTP/1.1 404 Not Found",
        "HTTP/1.1 400 Bad Request",
        "HTTP/1.1 431 Request Header Fields Too Large",
    ] {
        assert!(
            seen_statuses.contains(status),
            "{status}: {seen_statuses:?}"
        );
    }
    let (small_answer, _) = exchange(&server, &[get(small, gzip)], &[false]);
    assert_eq!(
        small_answer[0].header("vary"),
        None,
        "a file without a gzip form is covered"
    );
    assert!(server.stats.handed_off() > 0);
}
