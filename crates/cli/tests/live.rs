//! Live events on the light path of a real `urne serve` (`urne::live`), over raw TCP so every
//! byte of the answer is seen: the stream's head and events, a request line split across
//! segments, the limits on the request head, and the same connection-level behaviour as
//! before for everything else (an events request on a kept-alive connection still goes to
//! axum and gets the same events).

mod common;

use std::io::{BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use common::{Serve, official, policy_bundle, publish, results_bundle};

const READ_WAIT_MAX: Duration = Duration::from_secs(20);

fn connect(server: &Serve) -> TcpStream {
    let s = TcpStream::connect(server.url.trim_start_matches("http://")).unwrap();
    s.set_read_timeout(Some(READ_WAIT_MAX)).unwrap();
    s
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `event:`/`data:` lines read from a subscribed stream until the release event's data.
fn events_until_release(r: &mut impl std::io::BufRead) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let mut line = String::new();
        assert!(
            r.read_line(&mut line).unwrap() > 0,
            "stream ended: {seen:?}"
        );
        let line = line.trim_end().to_owned();
        // A chunked body (axum's path) carries chunk-size lines; only SSE fields count.
        if line.starts_with("event:") || line.starts_with("data:") {
            seen.push(line);
        }
        if seen.len() >= 2 && seen[seen.len() - 2] == "event: release" {
            return seen;
        }
    }
}

#[test]
fn live_events_on_the_light_path_and_through_axum() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Serve::start(&data).unwrap();
    let (alice, bob) = (official("alice", 1), official("bob", 2));
    let policy = policy_bundle(&tmp.path().join("p"), &[&alice, &bob], server.log_vkey());
    assert_eq!(publish(&policy, &server.url).status, 200);

    // 1. A subscriber whose request line arrives in two segments: the light path.
    let mut light = connect(&server);
    light.write_all(b"GET /api/v1/ev").unwrap();
    light.flush().unwrap();
    std::thread::sleep(Duration::from_millis(50));
    light
        .write_all(b"ents HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        .unwrap();
    let mut light = BufReader::new(light);
    let (status, headers) = common::read_head(&mut light);
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(header(&headers, "content-type"), Some("text/event-stream"));
    assert_eq!(header(&headers, "cache-control"), Some("no-cache"));
    assert_eq!(header(&headers, "access-control-allow-origin"), Some("*"));
    assert_eq!(header(&headers, "connection"), Some("close"));
    assert_eq!(header(&headers, "transfer-encoding"), None);

    // 2. An events request after a page on one kept-alive connection: axum's path.
    let mut kept = connect(&server);
    kept.write_all(b"GET /log/checkpoint HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut kept = BufReader::new(kept);
    let (status, headers) = common::read_head(&mut kept);
    assert_eq!(status, "HTTP/1.1 200 OK");
    let len: usize = header(&headers, "content-length").unwrap().parse().unwrap();
    let mut note = vec![0; len];
    kept.read_exact(&mut note).unwrap();
    assert!(note.starts_with(common::ORIGIN.as_bytes()));
    kept.get_mut()
        .write_all(b"GET /api/v1/events HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let (status, headers) = common::read_head(&mut kept);
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(header(&headers, "content-type"), Some("text/event-stream"));
    assert_eq!(header(&headers, "transfer-encoding"), Some("chunked"));

    // Both see the same events for one release.
    let r0 = results_bundle(&tmp.path().join("r0"), 0, None, (1, 2), &[&alice, &bob]);
    let answer = publish(&r0, &server.url);
    assert_eq!(answer.status, 200, "{}", answer.text);
    let from_light = events_until_release(&mut light);
    let from_axum = events_until_release(&mut kept);
    assert_eq!(from_light, from_axum);
    let manifest =
        urne_release::manifest::hex(&urne_release::manifest::sha256(r0.manifest.as_bytes()));
    assert_eq!(
        from_light[from_light.len() - 2..],
        [
            "event: release".to_owned(),
            format!(
                "data: {{\"election\":\"{}\",\"log_index\":1,\"manifest_hash\":\"{manifest}\"}}",
                common::ELECTION
            ),
        ]
    );

    // 3. Refused heads get an answer naming why, and the connection closes.
    let mut big = b"GET /api/v1/events HTTP/1.1\r\n".to_vec();
    while big.len() < urne::live::EVENTS_HEAD_BYTES_MAX + 100 {
        big.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    for (request, want) in [
        (big, "HTTP/1.1 431 Request Header Fields Too Large"),
        (
            b"GET /api/v1/events HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc".to_vec(),
            "HTTP/1.1 400 Bad Request",
        ),
        (
            b"GET /api/v1/events HTTP/1.1\r\nno colon here\r\n\r\n".to_vec(),
            "HTTP/1.1 400 Bad Request",
        ),
    ] {
        let mut c = connect(&server);
        // The server may answer and close before it has read all of a too-large head.
        let _ = c.write_all(&request);
        let mut answer = String::new();
        let _ = c.read_to_string(&mut answer);
        assert!(answer.starts_with(want), "{want}: got {answer:?}");
    }

    // 4. Everything else is served as before on a fresh connection.
    let (status, page) = common::get(&format!("{}/index.html", server.url));
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&page).contains(common::TITLE));
}
