//! `urne serve`: serves the public log tree over HTTP (and, with `--demo`, feeds it).
//!
//! This is the spine's server: `GET /log/checkpoint`, `GET /log/tile/…` and a small status page.
//! The results site (issue "Publish, serve, verify") grows from here.

use std::{fmt::Write as _, sync::Arc, time::Duration};

use axum::{
    Router,
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use urne_store::Blobs;
use urne_tlog::{BundleId, TileId};

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub blobs: Arc<dyn Blobs>,
    pub origin: String,
    pub vkey: String,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// The router for the public log tree.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/log/checkpoint", get(checkpoint))
        .route("/log/{*path}", get(tile))
        .with_state(state)
}

/// One error type for every handler: the cause goes to the log, the client gets a plain line.
enum HttpError {
    NotFound,
    BadPath(String),
    Internal(String),
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        match self {
            HttpError::NotFound => (StatusCode::NOT_FOUND, "not found\n").into_response(),
            HttpError::BadPath(why) => {
                (StatusCode::BAD_REQUEST, format!("{why}\n")).into_response()
            }
            HttpError::Internal(cause) => {
                tracing::error!(%cause, "request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response()
            }
        }
    }
}

async fn checkpoint(State(state): State<AppState>) -> Result<Response, HttpError> {
    let bytes = get_blob(&state, urne_log::CHECKPOINT_KEY).await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        bytes,
    )
        .into_response())
}

/// `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]`: immutable once written
/// (C2SP tlog-tiles: a partial tile's path names its width).
async fn tile(
    State(state): State<AppState>,
    Path(path): Path<String>,
) -> Result<Response, HttpError> {
    let valid = TileId::parse(&path).is_ok() || BundleId::parse(&path).is_ok();
    if !valid {
        return Err(HttpError::BadPath(format!(
            "{path:?} is not a tlog-tiles path"
        )));
    }
    let bytes = get_blob(&state, &urne_log::log_key(&path)).await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        ],
        bytes,
    )
        .into_response())
}

async fn get_blob(state: &AppState, key: &str) -> Result<Vec<u8>, HttpError> {
    match state.blobs.get(key).await {
        Ok(Some(bytes)) => Ok(bytes),
        Ok(None) => Err(HttpError::NotFound),
        Err(e) => Err(HttpError::Internal(e.to_string())),
    }
}

/// Entries shown on the status page.
const INDEX_ENTRIES_MAX: u64 = 10;

async fn index(State(state): State<AppState>) -> Result<Html<String>, HttpError> {
    let note = get_blob(&state, urne_log::CHECKPOINT_KEY).await?;
    let text = String::from_utf8_lossy(&note);
    let body = text.split("\n\n").next().unwrap_or_default();
    let size: u64 = body
        .lines()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut rows = String::new();
    for index in (size.saturating_sub(INDEX_ENTRIES_MAX)..size).rev() {
        let entry = urne_log::read_entry(state.blobs.as_ref(), index, size)
            .await
            .map_err(|e| HttpError::Internal(e.to_string()))?;
        let _ = write!(
            rows,
            "<tr><td>{index}</td><td><code>{}</code></td></tr>",
            escape(&String::from_utf8_lossy(&entry))
        );
    }
    Ok(Html(format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="2">
<title>urne log: {origin}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem}}
pre,code{{font-size:.9rem;overflow-wrap:anywhere;white-space:pre-wrap}}table{{border-collapse:collapse}}
td,th{{border-bottom:1px solid #ccc;padding:.25rem .5rem;text-align:left}}</style></head>
<body><main>
<h1>Transparency log <code>{origin}</code></h1>
<p>{size} entries. This page reloads every 2 seconds.</p>
<h2>Signed checkpoint</h2>
<pre>{note}</pre>
<p>Log public key: <code>{vkey}</code></p>
<p>Verify everything from the tiles: <code>urne log verify DIR --vkey '{vkey}'</code> on a copy of this tree.
Raw files: <a href="/log/checkpoint">/log/checkpoint</a>, tiles under <code>/log/tile/</code> (C2SP tlog-tiles).</p>
<h2>Latest entries</h2>
<table><thead><tr><th scope="col">Index</th><th scope="col">Entry</th></tr></thead>
<tbody>{rows}</tbody></table>
</main></body></html>
"#,
        origin = escape(&state.origin),
        note = escape(&text),
        vkey = escape(&state.vkey),
    )))
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Appends a demo entry every `every` until the handle's log stops.
pub async fn demo_feed(log: urne_log::LogHandle, every: Duration) {
    let mut n = 0u64;
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        n += 1;
        let entry = format!("demo entry #{n}: a stand-in for a signed results release");
        match log.append(entry.into_bytes()).await {
            Ok(a) => tracing::info!(index = a.index, size = a.tree_size, "demo entry logged"),
            Err(urne_log::AppendError::Unavailable(why)) if why.contains("stopped") => return,
            Err(e) => tracing::warn!(error = %e, "demo append failed"),
        }
    }
}
