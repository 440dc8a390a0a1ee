//! The listener of `urne serve`: a light path for the public tree and live event subscribers,
//! everything else to hyper + axum.
//!
//! Each accepted connection starts on a light path that reads requests on the socket itself
//! (one bounded head buffer, `httparse`, no per-request allocation beyond the answer's head):
//!
//! - **Rendered-tree files.** A `GET` or `HEAD` of a file of the rendered tree (what
//!   `serve.rs`'s `tree_file` fallback serves) is answered here: the same `tree_reply` as
//!   axum's handler (ETag, `If-None-Match` → 304, gzip for clients that accept it), written
//!   with the status line and headers hyper writes for that answer, in hyper's order (Date
//!   cached per second as hyper does), head and body in one vectored write, the body a shared
//!   [`Bytes`] never copied; a large file's plain body goes out with `sendfile(2)` from a
//!   copy in an unlinked temporary file instead ([`crate::sendfile`]), so the kernel takes
//!   its pages rather than copying the bytes on every request. Keep-alive follows hyper's
//!   rules (HTTP/1.1 default, `Connection: close`, HTTP/1.0 with `Connection: keep-alive`),
//!   pipelined requests are answered in order. On election night almost every request is
//!   one of these: hyper's and axum's fixed per-request cost (parse into a `HeaderMap`,
//!   routing, middleware, encoding) was most of the time per request (BENCHMARKS.md,
//!   "Serving").
//! - **Live events.** A connection whose *first* request is `GET /api/v1/events` is answered
//!   on the socket: the request head is dropped once parsed, and the subscriber then holds
//!   only its socket, one small task and a broadcast receiver of [`Frame`]s. Through hyper +
//!   axum every stream kept an HTTP/1 connection with an 8 KiB read and an 8 KiB write buffer,
//!   a body stream and a keep-alive timer (≈ 16 KB per subscriber, BENCHMARKS.md). Each event
//!   is encoded once into one shared frame for all of them, and one timer (not one per
//!   subscriber) sends the keep-alive comment. The bytes are the ones axum's `Sse` writes for
//!   the same events (`event: NAME\ndata: DATA\n\n`, keep-alive `:\n\n`); the body ends when
//!   the connection closes (`Connection: close`, no length), which EventSource and every
//!   HTTP/1.x client read as the end of the stream.
//! - **Everything else goes to axum, with the bytes already read** ([`Conn`] yields them
//!   before reading the socket again), and the connection stays with axum: other routes
//!   ([`ROUTED_PREFIXES`]), other methods, a request with a body, `Expect` or `Upgrade`, a
//!   path with bytes outside a plain set (percent-encoding, fragments, …), a path the tree has
//!   no file for (axum answers the 404) or could not render, a head that does not parse or
//!   is over [`LIGHT_HEAD_BYTES_MAX`] (hyper answers 400 or 431), a request not complete
//!   within [`HEAD_WAIT_MAX`] (and an idle kept-alive connection after it). So whatever the
//!   light path does not answer is answered exactly as before.
//!
//! Invariant: for a request the light path answers, the status line, headers (but Date's
//! value) and body are the bytes axum + hyper write for it (`tests/light_path.rs` compares
//! them request by request).
//!
//! Limits: [`LIGHT_HEAD_BYTES_MAX`] and [`LIGHT_HEADERS_MAX`] for one request head on the tree
//! path, [`EVENTS_HEAD_BYTES_MAX`] for the events request head, [`HEAD_WAIT_MAX`] for a
//! request, [`WRITE_WAIT_MAX`] for one answer or frame (a reader that stopped reading is
//! dropped), and the publisher's `event_subscribers_max` over both paths together.

use std::{
    io::{self, IoSlice},
    net::SocketAddr,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use axum::body::Bytes;
use tokio::{
    io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{broadcast, mpsc},
    time::Instant,
};

use crate::publish::{EVENT_QUEUE_MAX, EVENT_SUBSCRIBERS_MAX, Event, Publisher};
use crate::serve::{Body, EVENTS_KEEPALIVE, ROUTED_PREFIXES, TreeReply, header_str, tree_reply};

/// The request line that takes the events path (then `' '` or `'?'`).
const EVENTS_REQUEST: &[u8] = b"GET /api/v1/events";
/// Largest request head (request line and headers) accepted on the events path.
pub const EVENTS_HEAD_BYTES_MAX: usize = 8 * 1024;
/// Largest request head the light path reads for a tree file; a larger one goes to hyper
/// (whose own limit answers 431 far above it).
pub const LIGHT_HEAD_BYTES_MAX: usize = 8 * 1024;
/// Headers one request may have on the light path; more go to hyper (limit 100).
pub const LIGHT_HEADERS_MAX: usize = 32;
/// Bytes read from the socket at a time while a request head is incomplete.
const READ_CHUNK_BYTES: usize = 2 * 1024;
/// How long a request (a new connection's first, or the next on a kept-alive one) may take to
/// arrive whole on the light path; after that the connection goes to hyper as it is.
pub const HEAD_WAIT_MAX: Duration = Duration::from_secs(10);
/// How long one answer or frame may take to be written before the connection is dropped.
pub const WRITE_WAIT_MAX: Duration = Duration::from_secs(30);
/// Connections waiting for axum to take them.
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

/// A listener for `axum::serve`: accepts TCP connections, answers rendered-tree files and live
/// event subscribers itself and hands every other connection over.
#[derive(Debug)]
pub struct Listener {
    connections: mpsc::Receiver<(Conn, SocketAddr)>,
    local: SocketAddr,
    stats: Arc<Stats>,
}

/// What the light path did so far.
#[derive(Debug, Default)]
pub struct Stats {
    answered: AtomicU64,
    sent_from_files: AtomicU64,
    handed_off: AtomicU64,
}

impl Stats {
    /// Requests answered on the light path (tree files; not event streams), counted as the
    /// answer starts to be written.
    pub fn answered(&self) -> u64 {
        self.answered.load(Ordering::Relaxed)
    }

    /// Of those, answers whose body went out with `sendfile(2)` ([`crate::sendfile`]).
    pub fn sent_from_files(&self) -> u64 {
        self.sent_from_files.load(Ordering::Relaxed)
    }

    /// Connections handed to axum.
    pub fn handed_off(&self) -> u64 {
        self.handed_off.load(Ordering::Relaxed)
    }
}

impl Listener {
    /// Starts accepting on `tcp`. Files and events come from `publisher`.
    pub fn new(tcp: TcpListener, publisher: Arc<Publisher>) -> io::Result<Listener> {
        let local = tcp.local_addr()?;
        let (handoff, connections) = mpsc::channel(HANDOFF_QUEUE_MAX);
        let frames = Frames::start(&publisher);
        let stats = Arc::new(Stats::default());
        tokio::spawn(accept_loop(tcp, handoff, frames, publisher, stats.clone()));
        Ok(Listener {
            connections,
            local,
            stats,
        })
    }

    /// What the light path did so far (shared: it keeps counting after the listener is
    /// handed to `axum::serve`).
    pub fn stats(&self) -> Arc<Stats> {
        self.stats.clone()
    }
}

impl axum::serve::Listener for Listener {
    type Io = Conn;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Conn, SocketAddr) {
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

/// A connection handed to axum: first the bytes the light path read and did not answer, then
/// the socket.
#[derive(Debug)]
pub struct Conn {
    read: Bytes,
    stream: TcpStream,
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.read.is_empty() {
            return Pin::new(&mut this.stream).poll_read(cx, buf);
        }
        let n = this.read.len().min(buf.remaining());
        buf.put_slice(&this.read.split_to(n));
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
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
    handoff: mpsc::Sender<(Conn, SocketAddr)>,
    frames: Frames,
    publisher: Arc<Publisher>,
    stats: Arc<Stats>,
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
        let stats = stats.clone();
        tokio::spawn(async move {
            let next = connection(stream, &publisher, &stats).await;
            match next {
                Next::Done => {}
                Next::Events(stream, head) => subscriber(stream, head, &frames, &publisher).await,
                Next::Axum(stream, read) => {
                    stats.handed_off.fetch_add(1, Ordering::Relaxed);
                    let conn = Conn {
                        read: Bytes::from(read),
                        stream,
                    };
                    let _ = handoff.send((conn, peer)).await;
                }
            }
        });
    }
}

/// What becomes of a connection when the light path for files lets go of it.
enum Next {
    /// Closed (by the client, or after an answer that closes it).
    Done,
    /// The first request is for live events: the subscriber path, with the bytes read.
    Events(TcpStream, Vec<u8>),
    /// To axum, with the bytes read and not answered.
    Axum(TcpStream, Vec<u8>),
}

/// What the bytes read so far call for.
enum Step<'b, 'h> {
    /// Nothing, or part of a request head, is here: read more.
    Read,
    /// The connection's first request is for live events.
    Events,
    /// A request the light path answers.
    Answer(TreeRequest<'b, 'h>),
    /// Anything else.
    Axum,
}

/// A `GET` or `HEAD` of what may be a rendered-tree file.
struct TreeRequest<'b, 'h> {
    /// Bytes of the request head (no body follows).
    len: usize,
    head_only: bool,
    http10: bool,
    /// Whether the connection stays open after the answer (hyper's rule).
    keep_alive: bool,
    /// The request path without its query.
    path: &'b str,
    headers: &'h [httparse::Header<'b>],
}

impl<'b> TreeRequest<'b, '_> {
    /// The raw values of every header named `name`.
    fn values(&self, name: &'static str) -> impl Iterator<Item = &'b [u8]> + '_ {
        self.headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    }
}

/// Serves rendered-tree files on `stream` until the client closes it or a request needs
/// another path.
async fn connection(mut stream: TcpStream, publisher: &Publisher, stats: &Stats) -> Next {
    let mut buf: Vec<u8> = Vec::new();
    let mut head = Vec::new();
    let mut first = true;
    let mut deadline = Instant::now() + HEAD_WAIT_MAX;
    loop {
        let mut headers = [httparse::EMPTY_HEADER; LIGHT_HEADERS_MAX];
        let request = match step(&buf, first, &mut headers) {
            Step::Answer(r) => r,
            Step::Events => return Next::Events(stream, buf),
            Step::Axum => return Next::Axum(stream, buf),
            Step::Read if buf.len() >= LIGHT_HEAD_BYTES_MAX => return Next::Axum(stream, buf),
            Step::Read => {
                buf.reserve(READ_CHUNK_BYTES);
                match tokio::time::timeout_at(deadline, stream.read_buf(&mut buf)).await {
                    Ok(Ok(0)) if buf.is_empty() => return Next::Done,
                    // Closed within a request, or slow: hyper decides what that means.
                    Ok(Ok(0)) | Err(_) => return Next::Axum(stream, buf),
                    Ok(Ok(_)) => continue,
                    Ok(Err(_)) => return Next::Done,
                }
            }
        };
        let served = publisher.served();
        let file = match served.get(&crate::serve::tree_path(request.path)).await {
            Ok(Some(f)) => f,
            // No such file (axum answers 404) or a render error (axum answers 500).
            Ok(None) | Err(_) => return Next::Axum(stream, buf),
        };
        let reply = tree_reply(
            &file,
            request.values("if-none-match"),
            request.values("accept-encoding"),
        );
        encode_head(&mut head, &reply, &request);
        let body = if reply.not_modified || request.head_only {
            None
        } else {
            Some(reply.body)
        };
        // Counted before the write: a client that has read the answer sees it counted.
        stats.answered.fetch_add(1, Ordering::Relaxed);
        let written = match body {
            None => write_answer(&mut stream, &head, &[]).await,
            Some(Body::Memory(bytes)) => {
                // The plain body of a large file goes out from its file copy, not from memory.
                let copy = if !bytes.is_empty() && !reply.gzip {
                    file.file_copy()
                } else {
                    None
                };
                match copy {
                    Some(m) => {
                        stats.sent_from_files.fetch_add(1, Ordering::Relaxed);
                        m.send(&stream, &head).await
                    }
                    None => write_answer(&mut stream, &head, bytes).await,
                }
            }
            Some(Body::Disk { file, len }) => {
                stats.sent_from_files.fetch_add(1, Ordering::Relaxed);
                send_disk(&stream, &head, file, *len).await
            }
        };
        if written.is_err() {
            return Next::Done;
        }
        if !request.keep_alive {
            let _ = stream.shutdown().await;
            return Next::Done;
        }
        let len = request.len;
        buf.drain(..len);
        first = false;
        deadline = Instant::now() + HEAD_WAIT_MAX;
    }
}

/// Reads what `buf` holds: see [`Step`].
fn step<'b, 'h>(
    buf: &'b [u8],
    first: bool,
    headers: &'h mut [httparse::Header<'b>],
) -> Step<'b, 'h> {
    if buf.is_empty() {
        return Step::Read;
    }
    if first {
        match classify(buf) {
            Some(true) => return Step::Events,
            None => return Step::Read,
            Some(false) => {}
        }
    }
    let mut req = httparse::Request::new(headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Step::Read,
        Err(_) => return Step::Axum,
    };
    let httparse::Request {
        method: Some(method),
        path: Some(target),
        version: Some(version),
        headers,
    } = req
    else {
        return Step::Axum;
    };
    let head_only = match method {
        "GET" => false,
        "HEAD" => true,
        _ => return Step::Axum,
    };
    let Some(path) = plain_path(target) else {
        return Step::Axum;
    };
    let http10 = version == 0;
    // hyper's rule: HTTP/1.1 keeps the connection unless a `Connection` header says close;
    // HTTP/1.0 closes it unless one says keep-alive, and a close anywhere wins.
    let mut keep_alive = !http10;
    let mut saw_close = false;
    for h in headers.iter() {
        let name = h.name;
        let body_or_protocol = ["content-length", "transfer-encoding", "expect", "upgrade"]
            .iter()
            .any(|n| name.eq_ignore_ascii_case(n));
        if body_or_protocol {
            return Step::Axum;
        }
        if name.eq_ignore_ascii_case("connection") {
            if saw_close || connection_has(h.value, "close") {
                saw_close = true;
                keep_alive = false;
            } else if !keep_alive {
                keep_alive = connection_has(h.value, "keep-alive");
            }
        }
    }
    Step::Answer(TreeRequest {
        len,
        head_only,
        http10,
        keep_alive,
        path,
        headers,
    })
}

/// The path of a request target the light path may answer: origin-form, plain bytes only
/// (letters, digits, `-._~/`; the query, dropped as axum's tree handler drops it, may also
/// have `=&;,+%:@!$'()*`), and not routed elsewhere.
fn plain_path(target: &str) -> Option<&str> {
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let plain = |b: u8| b.is_ascii_alphanumeric() || b"-._~/".contains(&b);
    let plain_query = |b: u8| plain(b) || b"=&;,+%:@!$'()*?".contains(&b);
    let ok = path.starts_with('/')
        && path.bytes().all(plain)
        && query.is_none_or(|q| q.bytes().all(plain_query))
        && !ROUTED_PREFIXES.iter().any(|p| path.starts_with(p));
    ok.then_some(path)
}

/// Whether a `Connection` value has `token` (as hyper reads it).
fn connection_has(value: &[u8], token: &str) -> bool {
    header_str(value).is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
}

/// The status line and headers hyper writes for axum's answer of `reply`, in its order:
/// axum's headers (a 200's Content-Type first, as `(HeaderMap, Bytes)` makes it), the CORS
/// middleware's, then hyper's Connection and Date.
fn encode_head(out: &mut Vec<u8>, reply: &TreeReply<'_>, request: &TreeRequest<'_, '_>) {
    fn header(out: &mut Vec<u8>, name: &str, value: &[u8]) {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    out.clear();
    out.extend_from_slice(if request.http10 {
        b"HTTP/1.0 "
    } else {
        b"HTTP/1.1 "
    });
    let etag = reply.etag.as_bytes();
    if reply.not_modified {
        out.extend_from_slice(b"304 Not Modified\r\n");
        header(out, "etag", etag);
        header(out, "cache-control", reply.cache.as_bytes());
        header(out, "content-type", reply.content_type.as_bytes());
        if reply.vary {
            header(out, "vary", b"accept-encoding");
        }
        // axum sets the empty body's length; hyper drops it from a 304 except to a HEAD.
        if request.head_only {
            header(out, "content-length", b"0");
        }
    } else {
        out.extend_from_slice(b"200 OK\r\n");
        header(out, "content-type", reply.content_type.as_bytes());
        header(out, "etag", etag);
        header(out, "cache-control", reply.cache.as_bytes());
        if reply.vary {
            header(out, "vary", b"accept-encoding");
        }
        if reply.gzip {
            header(out, "content-encoding", b"gzip");
        }
        let mut digits = [0u8; 20];
        header(
            out,
            "content-length",
            decimal(reply.body.len(), &mut digits),
        );
    }
    header(out, "access-control-allow-origin", b"*");
    match (request.http10, request.keep_alive) {
        (true, true) => header(out, "connection", b"keep-alive"),
        (false, false) => header(out, "connection", b"close"),
        _ => {}
    }
    out.extend_from_slice(b"date: ");
    http_date(out);
    out.extend_from_slice(b"\r\n\r\n");
}

/// `n` in decimal, in `digits`.
fn decimal(mut n: usize, digits: &mut [u8; 20]) -> &[u8] {
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &digits[at..];
        }
    }
}

/// Appends the IMF-fixdate of now, formatted once per second per thread (as hyper does).
fn http_date(out: &mut Vec<u8>) {
    use std::{cell::RefCell, time::SystemTime};
    thread_local! {
        static DATE: RefCell<(u64, String)> = const { RefCell::new((0, String::new())) };
    }
    let now = SystemTime::now();
    let second = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    DATE.with_borrow_mut(|(at, text)| {
        if *at != second || text.is_empty() {
            *at = second;
            *text = httpdate::fmt_http_date(now);
        }
        out.extend_from_slice(text.as_bytes());
    });
}

/// Writes `head`, then a body kept on disk, with `sendfile(2)` (Linux, the only system where
/// files are kept on disk).
async fn send_disk(
    stream: &TcpStream,
    head: &[u8],
    file: &std::fs::File,
    len: usize,
) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        crate::sendfile::send_file(stream, head, file, len).await
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (stream, head, file, len);
        Err(io::ErrorKind::Unsupported.into())
    }
}

/// Writes `head` and `body` with vectored writes (one, unless the socket takes less).
async fn write_answer(stream: &mut TcpStream, head: &[u8], body: &[u8]) -> io::Result<()> {
    let write = async {
        let mut slices = [IoSlice::new(head), IoSlice::new(body)];
        let mut rest = &mut slices[..];
        while !rest.is_empty() {
            let n = stream.write_vectored(rest).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            IoSlice::advance_slices(&mut rest, n);
        }
        Ok(())
    };
    tokio::time::timeout(WRITE_WAIT_MAX, write)
        .await
        .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into()))
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

/// Reads the request head (through the blank line; `head` holds what was read already) and
/// checks it is an HTTP/1.x GET of the events path. Bytes past the head (a pipelined request)
/// are ignored: the stream never ends.
async fn read_head(stream: &mut TcpStream, mut head: Vec<u8>) -> Result<(), HeadError> {
    let mut chunk = [0u8; 512];
    let deadline = Instant::now() + HEAD_WAIT_MAX;
    loop {
        match parse_head(&head) {
            Ok(true) => return Ok(()),
            Ok(false) if head.len() >= EVENTS_HEAD_BYTES_MAX => return Err(HeadError::TooLarge),
            Ok(false) => {}
            Err(e) => return Err(e),
        }
        let n = match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return Err(HeadError::Malformed),
            Ok(Ok(n)) => n,
        };
        head.extend_from_slice(&chunk[..n]);
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
async fn subscriber(mut stream: TcpStream, head: Vec<u8>, frames: &Frames, publisher: &Publisher) {
    if let Err(e) = read_head(&mut stream, head).await {
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
                    let sent = tokio::time::timeout(WRITE_WAIT_MAX, write.write_all(&f)).await;
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
    match tokio::time::timeout(WRITE_WAIT_MAX, stream.write_all(bytes)).await {
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
