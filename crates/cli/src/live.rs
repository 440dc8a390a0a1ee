//! The listener of `urne serve`: live event subscribers on a light path, everything else to
//! hyper.
//!
//! Election night's load is mostly open `GET /api/v1/events` streams (DESIGN.md: live push).
//! Through hyper + axum every such stream keeps an HTTP/1 connection with an 8 KiB read and an
//! 8 KiB write buffer, a body stream and a keep-alive timer (≈ 16 KB per subscriber, measured in
//! BENCHMARKS.md), and each event is formatted and chunk-encoded once per subscriber. Here a
//! connection whose *first* request is `GET /api/v1/events` is answered on the socket itself:
//! the request head is read into a bounded buffer that is dropped once parsed, and the
//! subscriber then holds only its socket, one small task and a broadcast receiver of
//! [`Frame`]s. Each event is encoded once into one shared [`Bytes`] frame for all of them, and
//! one timer (not one per subscriber) sends the keep-alive comment.
//!
//! Every other connection, and an events request later on a kept-alive connection, goes to
//! axum unchanged (the classifier only peeks: it consumes nothing), and those answers are
//! the same as before. The event stream's bytes are the ones axum's `Sse` writes for the same
//! events (`event: NAME\ndata: DATA\n\n`, keep-alive `:\n\n`); the body ends when the
//! connection closes (`Connection: close`, no length), which EventSource and every HTTP/1.x
//! client read as the end of the stream.
//!
//! Limits: [`EVENTS_HEAD_BYTES_MAX`] for the request head, [`HEAD_WAIT_MAX`] to see the request
//! line, [`EVENTS_WRITE_WAIT_MAX`] for one frame to a subscriber (a reader that stopped reading
//! is dropped), and the publisher's `event_subscribers_max` over both paths together.

use std::{io, net::SocketAddr, sync::Arc, time::Duration};

use axum::body::Bytes;
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{TcpListener, TcpStream},
    sync::{broadcast, mpsc},
};

use crate::publish::{EVENT_QUEUE_MAX, EVENT_SUBSCRIBERS_MAX, Event, Publisher};
use crate::serve::EVENTS_KEEPALIVE;

/// The request line that takes the light path (then `' '` or `'?'`).
const EVENTS_REQUEST: &[u8] = b"GET /api/v1/events";
/// Largest request head (request line and headers) accepted on the light path.
pub const EVENTS_HEAD_BYTES_MAX: usize = 8 * 1024;
/// How long a new connection may take to send enough of its request line to be classified;
/// after that it goes to hyper as it is.
pub const HEAD_WAIT_MAX: Duration = Duration::from_secs(10);
/// How long one frame may take to be written to one subscriber before it is dropped.
pub const EVENTS_WRITE_WAIT_MAX: Duration = Duration::from_secs(30);
/// Connections classified and waiting for axum to take them.
const HANDOFF_QUEUE_MAX: usize = 1024;

/// One encoded SSE frame, shared by every subscriber.
pub type Frame = Bytes;

/// The SSE bytes of one event, as axum's `Sse` writes them.
pub fn frame(event: &Event) -> Frame {
    let (name, data) = event.sse();
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

/// The keep-alive comment axum's `KeepAlive` sends.
const KEEPALIVE_FRAME: &[u8] = b":\n\n";

/// A listener for `axum::serve`: accepts TCP connections, serves live event subscribers itself
/// and hands every other connection over.
#[derive(Debug)]
pub struct Listener {
    connections: mpsc::Receiver<(TcpStream, SocketAddr)>,
    local: SocketAddr,
}

impl Listener {
    /// Starts accepting on `tcp`. Events come from `publisher`.
    pub fn new(tcp: TcpListener, publisher: Arc<Publisher>) -> io::Result<Listener> {
        let local = tcp.local_addr()?;
        let (handoff, connections) = mpsc::channel(HANDOFF_QUEUE_MAX);
        let frames = Frames::start(&publisher);
        tokio::spawn(accept_loop(tcp, handoff, frames, publisher));
        Ok(Listener { connections, local })
    }
}

impl axum::serve::Listener for Listener {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        match self.connections.recv().await {
            Some(c) => c,
            // The accept loop only ends with the runtime; nothing more will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }
}

/// The encoded frames of the publisher's events, plus keep-alives, for the light path.
#[derive(Debug, Clone)]
struct Frames {
    tx: broadcast::Sender<Frame>,
}

impl Frames {
    fn start(publisher: &Publisher) -> Frames {
        let (tx, _) = broadcast::channel(EVENT_QUEUE_MAX);
        let frames = Frames { tx };
        let mut events = publisher.subscribe();
        let out = frames.tx.clone();
        tokio::spawn(async move {
            use broadcast::error::RecvError;
            let mut keepalive = tokio::time::interval(EVENTS_KEEPALIVE);
            keepalive.tick().await;
            loop {
                tokio::select! {
                    event = events.recv() => match event {
                        Ok(e) => { let _ = out.send(frame(&e)); }
                        // Too far behind to say which events were missed: the next
                        // checkpoint event tells every page to reload anyway.
                        Err(RecvError::Lagged(_)) => {}
                        Err(RecvError::Closed) => return,
                    },
                    _ = keepalive.tick() => {
                        let _ = out.send(Bytes::from_static(KEEPALIVE_FRAME));
                    }
                }
            }
        });
        frames
    }

    fn subscribers(&self) -> usize {
        self.tx.receiver_count()
    }
}

async fn accept_loop(
    tcp: TcpListener,
    handoff: mpsc::Sender<(TcpStream, SocketAddr)>,
    frames: Frames,
    publisher: Arc<Publisher>,
) {
    loop {
        let (stream, peer) = match tcp.accept().await {
            Ok(c) => c,
            Err(e) => {
                // As axum's own listener: out of descriptors or a connection reset before
                // accept; wait a little rather than spin.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let handoff = handoff.clone();
        let frames = frames.clone();
        let publisher = publisher.clone();
        tokio::spawn(async move {
            if is_events_request(&stream).await {
                subscriber(stream, &frames, &publisher).await;
            } else {
                let _ = handoff.send((stream, peer)).await;
            }
        });
    }
}

/// Whether the connection's first bytes are the events request line. Consumes nothing.
async fn is_events_request(stream: &TcpStream) -> bool {
    let mut buf = [0u8; EVENTS_REQUEST.len() + 1];
    let deadline = tokio::time::Instant::now() + HEAD_WAIT_MAX;
    loop {
        let n = match tokio::time::timeout_at(deadline, stream.peek(&mut buf)).await {
            Ok(Ok(n)) => n,
            _ => return false,
        };
        match classify(&buf[..n]) {
            Some(answer) => return answer,
            // Only part of the request line is there yet (rare: it fits one segment).
            None => tokio::time::sleep(Duration::from_millis(2)).await,
        }
    }
}

/// `Some(true)`: the events request; `Some(false)`: anything else; `None`: can't tell yet.
fn classify(seen: &[u8]) -> Option<bool> {
    if seen.is_empty() {
        // Closed before sending anything: let hyper see the end.
        return Some(false);
    }
    let n = seen.len().min(EVENTS_REQUEST.len());
    if seen[..n] != EVENTS_REQUEST[..n] {
        return Some(false);
    }
    match seen.get(EVENTS_REQUEST.len()) {
        Some(b' ' | b'?') => Some(true),
        Some(_) => Some(false),
        None => None,
    }
}

/// Why a request head on the light path was refused.
#[derive(Debug, PartialEq, Eq)]
enum HeadError {
    TooLarge,
    Malformed,
}

/// Reads the request head (through the blank line) and checks it is an HTTP/1.x GET of the
/// events path. Bytes past the head (a pipelined request) are ignored: the stream never ends.
async fn read_head(stream: &mut TcpStream) -> Result<(), HeadError> {
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    let deadline = tokio::time::Instant::now() + HEAD_WAIT_MAX;
    loop {
        let n = match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return Err(HeadError::Malformed),
            Ok(Ok(n)) => n,
        };
        head.extend_from_slice(&chunk[..n]);
        match parse_head(&head) {
            Ok(true) => return Ok(()),
            Ok(false) if head.len() >= EVENTS_HEAD_BYTES_MAX => return Err(HeadError::TooLarge),
            Ok(false) => {}
            Err(e) => return Err(e),
        }
    }
}

/// `Ok(true)`: a complete, acceptable head; `Ok(false)`: incomplete so far.
fn parse_head(head: &[u8]) -> Result<bool, HeadError> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(head) {
        Ok(httparse::Status::Partial) => Ok(false),
        Ok(httparse::Status::Complete(len)) => {
            let path_ok = req
                .path
                .is_some_and(|p| p == "/api/v1/events" || p.starts_with("/api/v1/events?"));
            // A body on a GET is not expected; one announced is refused rather than read.
            let body = req.headers.iter().any(|h| {
                h.name.eq_ignore_ascii_case("content-length") && h.value != b"0"
                    || h.name.eq_ignore_ascii_case("transfer-encoding")
            });
            if req.method != Some("GET") || !path_ok || body || len > EVENTS_HEAD_BYTES_MAX {
                return Err(HeadError::Malformed);
            }
            Ok(true)
        }
        Err(httparse::Error::TooManyHeaders) => Err(HeadError::TooLarge),
        Err(_) => Err(HeadError::Malformed),
    }
}

const STREAM_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\n\
content-type: text/event-stream\r\n\
cache-control: no-cache\r\n\
access-control-allow-origin: *\r\n\
connection: close\r\n\r\n";

fn plain_answer(status: &str, text: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\n\
         access-control-allow-origin: *\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
        text.len()
    )
    .into_bytes()
}

/// Serves one live subscriber on its socket until it goes away.
async fn subscriber(mut stream: TcpStream, frames: &Frames, publisher: &Publisher) {
    if let Err(e) = read_head(&mut stream).await {
        let answer = match e {
            HeadError::TooLarge => plain_answer(
                "431 Request Header Fields Too Large",
                "request head too large (events_head_bytes_max)\n",
            ),
            HeadError::Malformed => plain_answer("400 Bad Request", "bad request\n"),
        };
        let _ = write_within(&mut stream, &answer).await;
        return;
    }
    if frames.subscribers() + publisher.subscribers() >= EVENT_SUBSCRIBERS_MAX {
        let answer = plain_answer(
            "503 Service Unavailable",
            "too many live subscribers (event_subscribers_max); reload to poll instead\n",
        );
        let _ = write_within(&mut stream, &answer).await;
        return;
    }
    // Subscribe before the head goes out: no event after the answer can be missed.
    let mut rx = frames.tx.subscribe();
    if write_within(&mut stream, STREAM_HEAD).await.is_err() {
        return;
    }
    let (mut read, mut write) = stream.split();
    let mut sink = [0u8; 64];
    loop {
        tokio::select! {
            frame = rx.recv() => match frame {
                Ok(f) => {
                    let sent = tokio::time::timeout(EVENTS_WRITE_WAIT_MAX, write.write_all(&f)).await;
                    if !matches!(sent, Ok(Ok(()))) {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            },
            // The client sends nothing more on an event stream; a read of 0 (or an error) is
            // it going away, anything else is discarded.
            got = read.read(&mut sink) => {
                if !matches!(got, Ok(n) if n > 0) {
                    return;
                }
            }
        }
    }
}

async fn write_within(stream: &mut TcpStream, bytes: &[u8]) -> Result<(), ()> {
    match tokio::time::timeout(EVENTS_WRITE_WAIT_MAX, stream.write_all(bytes)).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_events_request_line_takes_the_light_path() {
        let cases: &[(&[u8], Option<bool>)] = &[
            (b"GET /api/v1/events HTTP/1.1\r\n", Some(true)),
            (b"GET /api/v1/events?x=1 HTTP/1.1\r\n", Some(true)),
            (b"GET /api/v1/eventsX HTTP/1.1\r\n", Some(false)),
            (b"GET /api/v1/events/ HTTP/1.1\r\n", Some(false)),
            (b"GET /index.html HTTP/1.1\r\n", Some(false)),
            (b"POST /api/v1/events HTTP/1.1\r\n", Some(false)),
            (b"HEAD /api/v1/events HTTP/1.1\r\n", Some(false)),
            (b"GET /api/v1/ev", None),
            (b"GET /api/v1/events", None),
            (b"G", None),
            (b"", Some(false)),
            (b"\x16\x03\x01", Some(false)),
        ];
        for (seen, want) in cases {
            assert_eq!(classify(seen), *want, "{:?}", String::from_utf8_lossy(seen));
        }
    }

    #[test]
    fn request_heads_are_checked() {
        let ok = b"GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n";
        assert_eq!(parse_head(ok), Ok(true));
        assert_eq!(parse_head(&ok[..30]), Ok(false));
        assert_eq!(parse_head(b"GET /api/v1/events HTTP/1.0\r\n\r\n"), Ok(true));
        for bad in [
            &b"GET /api/v1/events HTTP/1.1\r\nContent-Length: 5\r\n\r\n"[..],
            b"GET /api/v1/events HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"GET /api/v1/eventsX HTTP/1.1\r\n\r\n",
            b"GET /api/v1/events HTTP/1.1\r\nbad header\r\n\r\n",
            b"GET /api/v1/events HTTP/2.0\r\n\r\n",
        ] {
            assert_eq!(
                parse_head(bad),
                Err(HeadError::Malformed),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let mut many = b"GET /api/v1/events HTTP/1.1\r\n".to_vec();
        for i in 0..65 {
            many.extend_from_slice(format!("h{i}: v\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(parse_head(&many), Err(HeadError::TooLarge));
    }

    /// The light path must write what axum's `Sse` (the path it replaces) writes.
    #[tokio::test]
    async fn frames_are_the_bytes_axum_sse_writes() {
        use axum::response::{
            IntoResponse as _,
            sse::{Event as SseEvent, Sse},
        };
        let events = vec![
            Event::Checkpoint(7),
            Event::Witnessed(12),
            Event::Release {
                election: Some("2018-11-06-general".into()),
                log_index: 3,
                manifest_hash: [0xab; 32],
            },
            Event::Release {
                election: None,
                log_index: 4,
                manifest_hash: [1; 32],
            },
        ];
        let axum_events = events.clone().into_iter().map(|e| {
            let (name, data) = e.sse();
            Ok::<_, std::convert::Infallible>(SseEvent::default().event(name).data(data))
        });
        let body = Sse::new(futures_util::stream::iter(axum_events))
            .into_response()
            .into_body();
        let want = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        let ours: Vec<u8> = events.iter().flat_map(|e| frame(e).to_vec()).collect();
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&want)
        );
        assert_eq!(
            KEEPALIVE_FRAME, b":\n\n",
            "axum's KeepAlive::new() comment (Event::DEFAULT_KEEP_ALIVE)"
        );
    }
}
