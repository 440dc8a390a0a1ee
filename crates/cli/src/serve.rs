//! `urne serve`: the public tree over HTTP, the one publish endpoint, and live events.
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/`, any rendered path (`index.html`, `elections/…`, `api/v1/…`, `downloads/…`, `verify.js`) | the tree `urne_site::render` made from the log |
//! | GET | `/log/checkpoint`, `/log/tile/…` | the C2SP tlog-tiles log |
//! | GET | `/blobs/sha256/<hex>` | release payloads, content-addressed |
//! | GET | `/api/v1/events` | Server-Sent Events: `checkpoint` and `release` |
//! | POST | `/api/v1/releases` | a signed release bundle (see [`crate::bundle`]) |
//!
//! Every GET answer carries an ETag (`If-None-Match` gives 304), a Cache-Control (immutable
//! for blobs, tiles and release-addressed files; `no-cache` for `log/checkpoint`; short for the
//! "latest" pages and API) and `Access-Control-Allow-Origin: *`.

use std::{convert::Infallible, sync::Arc, time::Duration};

use axum::{
    Router,
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

/// A file answer with ETag / If-None-Match and Cache-Control.
fn file(
    request: &HeaderMap,
    bytes: Vec<u8>,
    tag: String,
    content_type: &'static str,
    cache: &'static str,
) -> Response {
    let not_modified = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    let tag = HeaderValue::from_str(&tag).expect("hex ETag is a valid header");
    let headers = [
        (header::ETAG, tag),
        (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
    ];
    if not_modified {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (headers, bytes).into_response()
}

async fn checkpoint(State(p): State<AppState>, headers: HeaderMap) -> Result<Response, HttpError> {
    let bytes = match crate::witnessing::served_checkpoint(p.blobs().as_ref()).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Err(HttpError::NotFound),
        Err(e) => return Err(HttpError::Internal(e.to_string())),
    };
    let tag = etag(&bytes);
    Ok(file(
        &headers,
        bytes,
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
    let tag = etag(&bytes);
    Ok(file(
        &headers,
        bytes,
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
    Ok(file(
        &headers,
        bytes,
        format!("\"{hex}\""),
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

/// A file of the rendered tree. `/` and paths ending in `/` serve their `index.html`.
async fn tree_file(
    State(p): State<AppState>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let mut path = uri.path().trim_start_matches('/').to_owned();
    if path.is_empty() || path.ends_with('/') {
        path.push_str("index.html");
    }
    let tree = p.tree();
    let (Some(bytes), Some(tag)) = (tree.files.get(&path), tree.etags.get(&path)) else {
        return Err(HttpError::NotFound);
    };
    Ok(file(
        &headers,
        bytes.clone(),
        tag.clone(),
        content_type(&path),
        tree_cache_control(&path),
    ))
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
