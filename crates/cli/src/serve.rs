//! `urne serve`: the public tree over HTTP, the one publish endpoint, and live events.
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/`, any rendered path (`index.html`, `elections/…`, `api/v1/…`, `downloads/…`, `verify.js`) | the file `urne_site::render` makes there from the log, rendered on first request ([`crate::rendered`]) |
//! | GET | `/log/checkpoint`, `/log/tile/…` | the C2SP tlog-tiles log |
//! | GET | `/blobs/sha256/<hex>` | release payloads, content-addressed |
//! | GET | `/api/v1/events` | Server-Sent Events: `checkpoint` and `release` |
//! | POST | `/api/v1/releases` | a signed release bundle (see [`crate::bundle`]); a follower of a PostgreSQL cluster answers 307 to the leader's |
//!
//! Every GET answer carries an ETag (`If-None-Match` gives 304), a Cache-Control (immutable
//! for blobs, tiles and release-addressed files; `no-cache` for `log/checkpoint`; short for the
//! "latest" pages and API) and `Access-Control-Allow-Origin: *`. Text files of the rendered
//! tree go gzip-encoded to clients that accept it (`Vary: Accept-Encoding`; the gzip form has
//! its own ETag and is compressed once per cached file, on first request).

use std::{
    convert::Infallible,
    sync::{Arc, OnceLock},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::{Path, Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::{self, Next},
    response::{
        IntoResponse, Response,
        sse::{Event as SseEvent, KeepAlive, Sse},
    },
    routing::{get, post},
};
use futures_util::stream::{self, Stream};
use urne_tlog::{BundleId, TileId};

use crate::publish::{
    EVENT_SUBSCRIBERS_MAX, PublishError, Publisher, RELEASE_BODY_BYTES_MAX, etag,
};

/// What the handlers share.
pub type AppState = Arc<Publisher>;

/// Cache-Control for files that never change once written.
pub const CACHE_IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Cache-Control for the "latest" pages and API: short, so a CDN follows election night.
pub const CACHE_LATEST: &str = "public, max-age=5";
/// Cache-Control for `log/checkpoint`: always revalidate.
pub const CACHE_CHECKPOINT: &str = "no-cache";
/// How often an idle event stream gets a comment line (keeps proxies from closing it).
pub const EVENTS_KEEPALIVE: Duration = Duration::from_secs(15);

/// Raises the process's soft open-files limit to its hard limit and returns the new soft
/// limit (`None` where there is no such limit). Each live event subscriber holds one socket;
/// Debian's default soft limit (1,024) would cap `urne serve` near a thousand subscribers
/// while the hard limit (usually 524,288) allows [`EVENT_SUBSCRIBERS_MAX`].
pub fn raise_open_files_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let mut limit = getrlimit(Resource::Nofile);
        if limit.current != limit.maximum {
            let raised = rustix::process::Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            };
            if setrlimit(Resource::Nofile, raised).is_ok() {
                limit = raised;
            }
        }
        limit.current
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Request paths starting with one of these are (or may be) routed to a handler other than
/// the rendered tree's, here or in the merged roll router: the light path of
/// [`crate::live`] leaves them to axum. (Longer than needed is harmless: axum answers.)
pub const ROUTED_PREFIXES: &[&str] = &[
    "/log",
    "/blobs",
    "/api/v1/events",
    "/api/v1/releases",
    "/roll",
];

/// The router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/log/checkpoint", get(checkpoint))
        .route("/log/{*path}", get(tile))
        .route("/blobs/sha256/{hex}", get(blob))
        .route("/api/v1/events", get(events))
        .route("/api/v1/releases", post(publish))
        .fallback(get(tree_file))
        .layer(middleware::from_fn(cors))
        .with_state(state)
}

/// One error type for every handler: the cause goes to the log, the client gets a plain line.
#[derive(Debug)]
enum HttpError {
    NotFound,
    BadPath(String),
    Publish(PublishError),
    Busy(&'static str),
    Internal(String),
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        if let HttpError::Publish(PublishError::NotLeader(leader)) = &self {
            // 307 keeps the method and body: the client posts the same bundle to the leader.
            let location = format!("{}/api/v1/releases", leader.trim_end_matches('/'));
            if let Ok(value) = HeaderValue::from_str(&location) {
                return (
                    StatusCode::TEMPORARY_REDIRECT,
                    [
                        (header::LOCATION, value),
                        (
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("text/plain; charset=utf-8"),
                        ),
                    ],
                    format!("{}\n", PublishError::NotLeader(leader.clone())),
                )
                    .into_response();
            }
        }
        let (status, text) = match self {
            HttpError::NotFound => (StatusCode::NOT_FOUND, "not found".to_owned()),
            HttpError::BadPath(why) => (StatusCode::BAD_REQUEST, why),
            HttpError::Busy(why) => (StatusCode::SERVICE_UNAVAILABLE, why.to_owned()),
            HttpError::Publish(e) => {
                let status = publish_status(&e);
                if status.is_server_error() {
                    tracing::error!(error = %e, "release not acknowledged");
                } else {
                    tracing::info!(error = %e, "release refused");
                }
                (status, e.to_string())
            }
            HttpError::Internal(cause) => {
                tracing::error!(%cause, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error".to_owned(),
                )
            }
        };
        (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{text}\n"),
        )
            .into_response()
    }
}

fn publish_status(e: &PublishError) -> StatusCode {
    use urne_release::Refusal as R;
    match e {
        PublishError::Malformed(_) => StatusCode::BAD_REQUEST,
        PublishError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        PublishError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        PublishError::NotLeader(_) => StatusCode::TEMPORARY_REDIRECT,
        PublishError::Refused(
            R::UnknownKey { .. }
            | R::RevokedKey { .. }
            | R::SignatureInvalid { .. }
            | R::BelowQuorum { .. }
            | R::NewPolicyBelowQuorum { .. },
        ) => StatusCode::FORBIDDEN,
        PublishError::Refused(
            R::Replayed { .. } | R::OutOfOrder { .. } | R::WrongPrevious { .. },
        ) => StatusCode::CONFLICT,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// CORS for reads: anyone may fetch the public tree from any origin.
async fn cors(request: Request, next: Next) -> Response {
    let read = matches!(*request.method(), Method::GET | Method::HEAD);
    let mut response = next.run(request).await;
    if read {
        response.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    }
    response
}

/// Files of the rendered tree at least this large are kept on disk while served, not in
/// memory (a state's downloads: PA's NIST JSON is 284 MB), with their gzip form made at once
/// (the default of [`crate::publish::SiteConfig::spill_bytes_min`]).
pub const SPILL_BYTES_MIN: usize = 4 << 20;

/// Where a served file's large bytes go: a directory, and the smallest file kept there.
#[derive(Debug, Clone, Copy)]
pub struct Spill<'a> {
    pub dir: &'a std::path::Path,
    pub bytes_min: usize,
}

/// Where one representation of a served file is.
#[derive(Debug)]
pub(crate) enum Body {
    Memory(Bytes),
    /// An unlinked temporary file (`O_TMPFILE`, mode 0600, reachable only through this
    /// descriptor), written once when the file was rendered and never again; `len` bytes.
    Disk {
        file: std::fs::File,
        len: usize,
    },
}

impl Body {
    /// `bytes` on disk when `spill` allows it (at least its `bytes_min`; Linux) and the file
    /// could be made; in memory otherwise.
    fn store(bytes: Vec<u8>, spill: Option<Spill<'_>>) -> Body {
        let spill = spill.filter(|&s| Body::spills(bytes.len(), s));
        if let Some(Spill { dir, .. }) = spill {
            use std::io::Write as _;
            let made = tempfile::tempfile_in(dir).and_then(|mut file| {
                file.write_all(&bytes)?;
                Ok(file)
            });
            match made {
                Ok(file) => {
                    return Body::Disk {
                        file,
                        len: bytes.len(),
                    };
                }
                Err(e) => tracing::warn!(
                    dir = %dir.display(),
                    error = %e,
                    "could not keep a large file on disk; serving it from memory"
                ),
            }
        }
        Body::Memory(Bytes::from(bytes))
    }

    /// Whether `len` bytes go to disk under `spill` (only on Linux).
    fn spills(len: usize, spill: Spill<'_>) -> bool {
        cfg!(target_os = "linux") && len >= spill.bytes_min
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            Body::Memory(b) => b.len(),
            Body::Disk { len, .. } => *len,
        }
    }

    /// Bytes this body holds in memory.
    fn memory(&self) -> usize {
        match self {
            Body::Memory(b) => b.len(),
            Body::Disk { .. } => 0,
        }
    }

    /// Bytes this body holds on disk.
    fn disk(&self) -> usize {
        match self {
            Body::Memory(_) => 0,
            Body::Disk { len, .. } => *len,
        }
    }

    /// `n` bytes from `offset` (blocking for a body on disk).
    fn chunk(&self, offset: usize, n: usize) -> std::io::Result<Bytes> {
        match self {
            Body::Memory(b) => Ok(b.slice(offset..offset + n)),
            #[cfg(unix)]
            Body::Disk { file, .. } => {
                use std::os::unix::fs::FileExt as _;
                let mut buf = vec![0; n];
                file.read_exact_at(&mut buf, offset as u64)?;
                Ok(Bytes::from(buf))
            }
            #[cfg(not(unix))]
            Body::Disk { .. } => Err(std::io::ErrorKind::Unsupported.into()),
        }
    }

    /// All the bytes (read back for a body on disk).
    fn contents(&self) -> std::io::Result<Bytes> {
        self.chunk(0, self.len())
    }
}

/// One file of the rendered tree as served: its bytes (shared by every response, never
/// copied), its ETag, and, for text over [`GZIP_BYTES_MIN`], its gzip form, compressed on the
/// first request that accepts it and kept for as long as the file is cached. A file of at
/// least [`SPILL_BYTES_MIN`] rendered by `urne serve` is kept on disk instead, gzip form and
/// all, both made on the render thread (compressing 284 MB takes seconds: never on a request).
#[derive(Debug)]
pub struct ServedFile {
    body: Body,
    etag: HeaderValue,
    content_type: &'static str,
    cache: &'static str,
    gzip: Option<OnceLock<Option<Gzipped>>>,
    /// The file copy the light path sends with `sendfile(2)`, made on first use.
    copy: OnceLock<Option<crate::sendfile::FileCopy>>,
}

#[derive(Debug)]
struct Gzipped {
    body: Body,
    etag: HeaderValue,
}

/// Files smaller than this are served as they are even to clients that accept gzip.
pub const GZIP_BYTES_MIN: usize = 1024;

/// Bytes read from disk per chunk of a body axum streams.
const DISK_CHUNK_BYTES: usize = 256 << 10;

impl ServedFile {
    /// The file at `path` (relative, as rendered) with these bytes, in memory.
    pub fn new(path: &str, bytes: Vec<u8>) -> ServedFile {
        ServedFile::rendered(path, bytes, None)
    }

    /// The file at `path` with these bytes; kept on disk as `spill` says if large enough, with
    /// its gzip form made now. Blocking: call it off the async workers (the render threads do).
    pub fn rendered(path: &str, bytes: Vec<u8>, spill: Option<Spill<'_>>) -> ServedFile {
        let content_type = content_type(path);
        let compressible = bytes.len() >= GZIP_BYTES_MIN && compressible(content_type);
        let etag = HeaderValue::from_str(&etag(&bytes)).expect("hex ETag is a valid header");
        let gzip_form = compressible.then(OnceLock::new);
        // A file going to disk gets its gzip form now, from the bytes in hand (no request
        // should compress hundreds of megabytes, nor read them back to do it).
        let to_disk = spill.is_some_and(|s| Body::spills(bytes.len(), s));
        if let (true, Some(cell)) = (to_disk, &gzip_form) {
            let gz = gzip(&bytes).and_then(|gz| {
                Some(Gzipped {
                    body: Body::store(gz, spill),
                    etag: gzip_etag(&etag)?,
                })
            });
            let _ = cell.set(gz);
        }
        ServedFile {
            body: Body::store(bytes, spill),
            etag,
            content_type,
            cache: tree_cache_control(path),
            gzip: gzip_form,
            copy: OnceLock::new(),
        }
    }

    /// The file copy the light path sends the plain body from, for a file in memory big
    /// enough to gain from it (`crate::sendfile`); `None` means write the bytes.
    pub(crate) fn file_copy(&self) -> Option<&crate::sendfile::FileCopy> {
        let Body::Memory(bytes) = &self.body else {
            return None;
        };
        if !crate::sendfile::worth_it(bytes.len()) {
            return None;
        }
        self.copy
            .get_or_init(|| crate::sendfile::FileCopy::new(bytes))
            .as_ref()
    }

    /// The bytes, as `urne export` writes them (read back from disk for a file kept there).
    pub fn bytes(&self) -> std::io::Result<Bytes> {
        self.body.contents()
    }

    /// The file's length.
    pub fn len(&self) -> usize {
        self.body.len()
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.body.len() == 0
    }

    /// Whether the file (and its gzip form) is kept on disk, not in memory.
    pub fn on_disk(&self) -> bool {
        matches!(self.body, Body::Disk { .. })
    }

    /// Bytes held in memory and on disk by the file and its gzip form (if made).
    pub(crate) fn footprint(&self) -> (usize, usize) {
        let gz = self
            .gzip
            .as_ref()
            .and_then(|g| g.get())
            .and_then(Option::as_ref);
        let (memory, disk) = (self.body.memory(), self.body.disk());
        match gz {
            Some(g) => (memory + g.body.memory(), disk + g.body.disk()),
            None => (memory, disk),
        }
    }

    /// The gzip form (`None` when gzip does not make it smaller).
    fn gzipped(&self) -> Option<&Gzipped> {
        self.gzip
            .as_ref()?
            .get_or_init(|| {
                // Only a file in memory gets here uncompressed (one on disk got its gzip form
                // when it was made); it is below `SPILL_BYTES_MIN`.
                let Body::Memory(bytes) = &self.body else {
                    return None;
                };
                let gz = gzip(bytes)?;
                Some(Gzipped {
                    body: Body::Memory(Bytes::from(gz)),
                    etag: gzip_etag(&self.etag)?,
                })
            })
            .as_ref()
    }
}

/// `bytes` gzip-compressed, if that makes them smaller.
fn gzip(bytes: &[u8]) -> Option<Vec<u8>> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 4),
        flate2::Compression::default(),
    );
    encoder.write_all(bytes).ok()?;
    let gz = encoder.finish().ok()?;
    (gz.len() < bytes.len()).then_some(gz)
}

/// The gzip form is another representation: its own strong ETag.
fn gzip_etag(plain: &HeaderValue) -> Option<HeaderValue> {
    let tag = plain.to_str().ok()?.trim_end_matches('"');
    HeaderValue::from_str(&format!("{tag}-gzip\"")).ok()
}

impl PartialEq for ServedFile {
    fn eq(&self, other: &ServedFile) -> bool {
        match (self.bytes(), other.bytes()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }
}

fn compressible(content_type: &str) -> bool {
    content_type.starts_with("text/")
        || content_type.starts_with("application/json")
        || content_type.starts_with("application/xml")
        || content_type.starts_with("image/svg+xml")
}

/// Whether an `Accept-Encoding` value accepts gzip (`gzip` or `*` with a q-value above 0).
pub fn accepts_gzip(accept_encoding: &str) -> bool {
    accept_encoding.split(',').any(|item| {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim();
        if !(coding.eq_ignore_ascii_case("gzip") || coding == "*") {
            return false;
        }
        let refused = parts.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        !refused
    })
}

/// Whether `If-None-Match` names one of `tags` (or is `*`).
fn none_match(request: &HeaderMap, tags: &[&HeaderValue]) -> bool {
    none_match_raw(
        request
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .map(HeaderValue::as_bytes),
        tags,
    )
}

/// [`none_match`] over raw `If-None-Match` values (as `HeaderValue::to_str` reads them: a
/// value with bytes other than visible ASCII or tab names no tag).
fn none_match_raw<'v>(values: impl Iterator<Item = &'v [u8]>, tags: &[&HeaderValue]) -> bool {
    values
        .filter_map(header_str)
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|t| t == "*" || tags.iter().any(|tag| tag.as_bytes() == t.as_bytes()))
}

/// A header value as text, exactly when `HeaderValue::to_str` gives it.
pub(crate) fn header_str(value: &[u8]) -> Option<&str> {
    let visible = value.iter().all(|&b| b == b'\t' || (32..127).contains(&b));
    if visible {
        std::str::from_utf8(value).ok()
    } else {
        None
    }
}

/// A file answer with ETag / If-None-Match and Cache-Control.
fn file(
    request: &HeaderMap,
    bytes: Bytes,
    tag: HeaderValue,
    content_type: &'static str,
    cache: &'static str,
) -> Response {
    let headers = [
        (header::ETAG, tag),
        (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
    ];
    if none_match(request, &[&headers[0].1]) {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (headers, bytes).into_response()
}

/// What the rendered tree answers for one file and one request, whichever HTTP stack writes
/// it: axum ([`tree_answer`]) or the light path ([`crate::live`]).
#[derive(Debug)]
pub(crate) struct TreeReply<'f> {
    /// 304: the client's copy is current (no body, no Content-Encoding).
    pub not_modified: bool,
    /// The representation sent (the file or its gzip form).
    pub body: &'f Body,
    pub etag: &'f HeaderValue,
    pub content_type: &'static str,
    pub cache: &'static str,
    /// `Vary: accept-encoding`: the file has a gzip form.
    pub vary: bool,
    /// `Content-Encoding: gzip`.
    pub gzip: bool,
}

/// A file of the rendered tree, gzip-encoded when the client accepts it and that is smaller.
/// Either representation's ETag gives a 304. `if_none_match` and `accept_encoding` are the
/// raw values of every such request header.
pub(crate) fn tree_reply<'f, 'v>(
    f: &'f ServedFile,
    if_none_match: impl Iterator<Item = &'v [u8]>,
    accept_encoding: impl Iterator<Item = &'v [u8]>,
) -> TreeReply<'f> {
    let mut reply = TreeReply {
        not_modified: false,
        body: &f.body,
        etag: &f.etag,
        content_type: f.content_type,
        cache: f.cache,
        vary: false,
        gzip: false,
    };
    let Some(gzip) = &f.gzip else {
        reply.not_modified = none_match_raw(if_none_match, &[&f.etag]);
        return reply;
    };
    reply.vary = true;
    let wants_gzip = accept_encoding.filter_map(header_str).any(accepts_gzip);
    let gzipped = if wants_gzip { f.gzipped() } else { None };
    if let Some(g) = gzipped {
        (reply.body, reply.etag) = (&g.body, &g.etag);
    }
    // A cached copy of either form is still good: the tags name the same file. A 304 has no
    // body, so no Content-Encoding (clients would try to decode the empty body).
    let tags = match gzip.get().and_then(Option::as_ref) {
        Some(g) => [&f.etag, &g.etag],
        None => [&f.etag, &f.etag],
    };
    reply.not_modified = none_match_raw(if_none_match, &tags);
    reply.gzip = gzipped.is_some() && !reply.not_modified;
    reply
}

/// [`tree_reply`] as an axum response. A body on disk is streamed in chunks read off the
/// async workers.
pub(crate) fn tree_answer(request: &HeaderMap, f: &Arc<ServedFile>) -> Response {
    let reply = tree_reply(
        f,
        request
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .map(HeaderValue::as_bytes),
        request
            .get_all(header::ACCEPT_ENCODING)
            .iter()
            .map(HeaderValue::as_bytes),
    );
    let mut headers = HeaderMap::with_capacity(6);
    if reply.not_modified {
        headers.insert(header::ETAG, reply.etag.clone());
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(reply.cache));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(reply.content_type),
        );
        if reply.vary {
            headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        }
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    // The order axum gave these headers when the body was always `Bytes` (its content type
    // first, replaced in place), which the light path writes too.
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(reply.content_type),
    );
    headers.insert(header::ETAG, reply.etag.clone());
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(reply.cache));
    if reply.vary {
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    if reply.gzip {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    let body = match reply.body {
        Body::Memory(bytes) => axum::body::Body::from(bytes.clone()),
        Body::Disk { len, .. } => axum::body::Body::new(DiskStream {
            file: Arc::clone(f),
            gzip: reply.gzip,
            offset: 0,
            len: *len,
            reading: None,
        }),
    };
    (headers, body).into_response()
}

/// A served file's body on disk, read in [`DISK_CHUNK_BYTES`] chunks on tokio's blocking
/// threads, with its exact length (so hyper sends `content-length`, as for a body in memory).
struct DiskStream {
    file: Arc<ServedFile>,
    /// The gzip form, not the file.
    gzip: bool,
    offset: usize,
    len: usize,
    reading: Option<tokio::task::JoinHandle<std::io::Result<Bytes>>>,
}

impl http_body::Body for DiskStream {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        use std::future::Future as _;
        use std::task::Poll;
        let this = &mut *self;
        if this.offset >= this.len {
            return Poll::Ready(None);
        }
        if this.reading.is_none() {
            let (file, gzip, offset) = (Arc::clone(&this.file), this.gzip, this.offset);
            let n = DISK_CHUNK_BYTES.min(this.len - offset);
            this.reading = Some(tokio::task::spawn_blocking(move || {
                let body = match (gzip, file.gzipped()) {
                    (true, Some(g)) => &g.body,
                    (true, None) => return Err(std::io::ErrorKind::NotFound.into()),
                    (false, _) => &file.body,
                };
                body.chunk(offset, n)
            }));
        }
        let handle = this.reading.as_mut().expect("set above");
        let done = std::task::ready!(std::pin::Pin::new(handle).poll(cx));
        this.reading = None;
        let chunk = done.unwrap_or_else(|e| Err(std::io::Error::other(e)));
        match chunk {
            Ok(bytes) => {
                this.offset += bytes.len();
                Poll::Ready(Some(Ok(http_body::Frame::data(bytes))))
            }
            Err(e) => {
                this.offset = this.len;
                Poll::Ready(Some(Err(e)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.offset >= self.len
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact((self.len - self.offset) as u64)
    }
}

async fn checkpoint(State(p): State<AppState>, headers: HeaderMap) -> Result<Response, HttpError> {
    let bytes = match crate::witnessing::served_checkpoint(p.blobs().as_ref()).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Err(HttpError::NotFound),
        Err(e) => return Err(HttpError::Internal(e.to_string())),
    };
    let tag = header_etag(&bytes);
    Ok(file(
        &headers,
        bytes.into(),
        tag,
        "text/plain; charset=utf-8",
        CACHE_CHECKPOINT,
    ))
}

/// `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]`: immutable once written
/// (C2SP tlog-tiles: a partial tile's path names its width).
async fn tile(
    State(p): State<AppState>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let valid = TileId::parse(&path).is_ok() || BundleId::parse(&path).is_ok();
    if !valid {
        return Err(HttpError::BadPath(format!(
            "{path:?} is not a tlog-tiles path"
        )));
    }
    let bytes = get_blob(&p, &urne_log::log_key(&path)).await?;
    let tag = header_etag(&bytes);
    Ok(file(
        &headers,
        bytes.into(),
        tag,
        "application/octet-stream",
        CACHE_IMMUTABLE,
    ))
}

/// `blobs/sha256/<64 lowercase hex>`: the ETag is the content hash itself.
async fn blob(
    State(p): State<AppState>,
    Path(hex): Path<String>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let valid = hex.len() == 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !valid {
        return Err(HttpError::BadPath(format!(
            "{hex:?} is not a SHA-256 in lowercase hex"
        )));
    }
    let bytes = get_blob(&p, &format!("blobs/sha256/{hex}")).await?;
    let tag = HeaderValue::from_str(&format!("\"{hex}\"")).expect("hex is a valid header");
    Ok(file(
        &headers,
        bytes.into(),
        tag,
        "application/octet-stream",
        CACHE_IMMUTABLE,
    ))
}

async fn get_blob(p: &Publisher, key: &str) -> Result<Vec<u8>, HttpError> {
    match p.blobs().get(key).await {
        Ok(Some(bytes)) => Ok(bytes),
        Ok(None) => Err(HttpError::NotFound),
        Err(e) => Err(HttpError::Internal(e.to_string())),
    }
}

fn header_etag(bytes: &[u8]) -> HeaderValue {
    HeaderValue::from_str(&etag(bytes)).expect("hex ETag is a valid header")
}

/// A file of the rendered tree. `/` and paths ending in `/` serve their `index.html`.
async fn tree_file(State(p): State<AppState>, request: Request) -> Result<Response, HttpError> {
    let path = tree_path(request.uri().path());
    let served = p.served();
    match served.get(path.as_ref()).await {
        Ok(Some(f)) => Ok(tree_answer(request.headers(), &f)),
        Ok(None) => Err(HttpError::NotFound),
        Err(e) => Err(HttpError::Internal(format!("{e:#}"))),
    }
}

/// The rendered-tree path a request path (without its query) names.
pub(crate) fn tree_path(uri_path: &str) -> std::borrow::Cow<'_, str> {
    let path = uri_path.trim_start_matches('/');
    if path.is_empty() || path.ends_with('/') {
        std::borrow::Cow::Owned(format!("{path}index.html"))
    } else {
        std::borrow::Cow::Borrowed(path)
    }
}

/// Release-addressed files (a path with a `releases/<n>` part naming one release) never
/// change; everything else in the rendered tree is "latest".
pub fn tree_cache_control(path: &str) -> &'static str {
    let mut parts = path.split('/');
    let release_addressed = parts.by_ref().any(|p| p == "releases") && parts.next().is_some();
    if release_addressed {
        CACHE_IMMUTABLE
    } else {
        CACHE_LATEST
    }
}

/// Content type by extension (the tree is ours: a short list suffices).
pub fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("json") => "application/json",
        Some("js") => "text/javascript; charset=utf-8",
        Some("csv") => "text/csv; charset=utf-8",
        Some("xml") => "application/xml",
        Some("txt") => "text/plain; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

/// `POST /api/v1/releases`: one signed release bundle per request.
async fn publish(State(p): State<AppState>, request: Request) -> Result<Response, HttpError> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > RELEASE_BODY_BYTES_MAX as u64) {
        return Err(HttpError::Publish(PublishError::TooLarge));
    }
    let body = axum::body::to_bytes(request.into_body(), RELEASE_BODY_BYTES_MAX)
        .await
        .map_err(|_| HttpError::Publish(PublishError::TooLarge))?;
    let ack = p.publish(&body).await.map_err(HttpError::Publish)?;
    tracing::info!(
        index = ack.log_index,
        size = ack.tree_size,
        already = ack.already,
        "release published"
    );
    let text = format!(
        "{} log_index {} tree_size {} manifest {}\n",
        if ack.already {
            "already-published"
        } else {
            "published"
        },
        ack.log_index,
        ack.tree_size,
        urne_release::manifest::hex(&ack.manifest_hash)
    );
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response())
}

/// `GET /api/v1/events`: Server-Sent Events, one stream per subscriber.
async fn events(State(p): State<AppState>) -> Result<Response, HttpError> {
    if p.subscribers() >= EVENT_SUBSCRIBERS_MAX {
        return Err(HttpError::Busy(
            "too many live subscribers (event_subscribers_max); reload to poll instead",
        ));
    }
    let rx = p.subscribe();
    let stream = event_stream(rx);
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(EVENTS_KEEPALIVE))
        .into_response())
}

fn event_stream(
    rx: tokio::sync::broadcast::Receiver<crate::publish::Event>,
) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    use tokio::sync::broadcast::error::RecvError;
    stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(event) => {
                    let (name, data) = event.sse();
                    return Some((Ok(SseEvent::default().event(name).data(data)), rx));
                }
                // A slow subscriber missed events; the next checkpoint event catches it up.
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return None,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_accepted_unless_its_q_value_is_zero() {
        for yes in [
            "gzip",
            "gzip, deflate, br, zstd",
            "br;q=1.0, GZIP;q=0.5",
            "*",
            "deflate, *;q=0.1",
        ] {
            assert!(accepts_gzip(yes), "{yes}");
        }
        for no in [
            "",
            "identity",
            "br, deflate",
            "gzip;q=0",
            "gzip; q=0.000, br",
            "x-gzip",
        ] {
            assert!(!accepts_gzip(no), "{no}");
        }
    }

    #[test]
    fn only_text_over_the_minimum_has_a_gzip_form_and_it_decodes_to_the_file() {
        let html = "<tr><td>Precinct</td><td>1,234</td></tr>\n"
            .repeat(100)
            .into_bytes();
        let page = ServedFile::new("elections/e/index.html", html.clone());
        let gz = page.gzipped().expect("a repetitive page compresses");
        let mut decoded = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(&gz.body.contents().unwrap()[..]),
            &mut decoded,
        )
        .unwrap();
        assert_eq!(decoded, html);
        assert_ne!(gz.etag, page.etag);
        assert!(ServedFile::new("small.json", b"{}".to_vec()).gzip.is_none());
        assert!(
            ServedFile::new("downloads/e/results.zip", html)
                .gzip
                .is_none()
        );
    }

    #[test]
    fn a_large_file_is_kept_on_disk_with_its_gzip_form_made_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let csv = "county,precinct,office,candidate,votes\nAdams,1,President,Someone,123\n"
            .repeat(SPILL_BYTES_MIN / 40)
            .into_bytes();
        assert!(csv.len() >= SPILL_BYTES_MIN);
        let spill = Spill {
            dir: dir.path(),
            bytes_min: SPILL_BYTES_MIN,
        };
        let f = ServedFile::rendered("downloads/e/results.csv", csv.clone(), Some(spill));
        let in_memory = ServedFile::new("downloads/e/results.csv", csv.clone());
        assert!(!in_memory.on_disk());
        assert_eq!(f.etag, in_memory.etag);
        if !cfg!(target_os = "linux") {
            assert!(!f.on_disk());
            return;
        }
        assert!(f.on_disk());
        assert_eq!(f.len(), csv.len());
        assert_eq!(&f.bytes().unwrap()[..], &csv[..]);
        assert_eq!(f, in_memory);
        // The gzip form is there before any request asked for it, and is what the in-memory
        // file makes on request.
        let made = f.gzip.as_ref().unwrap().get().expect("made with the file");
        let gz = made.as_ref().expect("a repetitive file compresses");
        let lazy = in_memory.gzipped().unwrap();
        assert_eq!(gz.etag, lazy.etag);
        assert_eq!(gz.body.contents().unwrap(), lazy.body.contents().unwrap());
        // Served in parts, as axum streams it.
        let half = csv.len() / 2;
        let mut parts = f.body.chunk(0, half).unwrap().to_vec();
        parts.extend_from_slice(&f.body.chunk(half, csv.len() - half).unwrap());
        assert_eq!(parts, csv);
        // The cache counts a few hundred bytes of memory for it, and its bytes on disk.
        let (memory, disk) = f.footprint();
        assert!(memory < 1 << 20, "{memory}");
        assert!(disk >= csv.len(), "{disk}");
        // Nothing is left in the directory: the file is unlinked from the start.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
