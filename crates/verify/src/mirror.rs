//! `urne mirror`: follow a primary, store only what verified, serve the identical public tree.
//!
//! The mirror keeps a [`Follower`] (the verifier core) and its own [`DirBlobs`] under
//! `DATA/public`. Every poll it advances the follower against the primary; only when the whole
//! advance verified (checkpoint, every cosignature by a policy witness, consistency, every
//! tile, bundle, entry and payload) does it write the new payloads, tiles and bundles, and then
//! the checkpoint last.
//!
//! Like the primary, the mirror follows a checkpoint that is still below the witness quorum
//! (its pages then say "awaiting witnesses", as the primary's do), and keeps the newest
//! verified checkpoint note that met the quorum at [`WITNESSED_KEY`]: the same key and meaning
//! as the primary's (`urne::witnessing`), so both render the same witnessed state.
//! A primary that lies (a fork, a rollback, a tampered blob) or goes dark changes nothing: the
//! mirror keeps serving its last verified state, and for a fork or rollback writes an evidence
//! file under `DATA/evidence/`.
//!
//! On start the mirror re-verifies its own stored tree with a fresh follower (it never stored
//! anything unverified, but the disk could have been edited), so a restart resumes from a
//! verified state.
//!
//! Invariant: nothing under `DATA/public` was written before the advance that produced it
//! verified, and `log/checkpoint` is written after everything it covers.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use urne_store::{Blobs, DirBlobs};

use crate::fetch::{DirSource, Fetch};
use crate::follow::{Advance, CHECKPOINT_PATH, Failure, Follower, Options};

/// Blob key (outside `log/`, never served) of the newest verified checkpoint note whose
/// cosignatures met the trust policy's witness quorum.
pub const WITNESSED_KEY: &str = "witnessing/witnessed";

/// What the mirror last did, for its status line and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Status {
    /// The verified size served.
    pub size: u64,
    /// The last poll's problem, if any.
    pub last_error: Option<String>,
    /// Evidence files written.
    pub evidence: Vec<PathBuf>,
}

/// A mirror's state: its store and its follower.
#[derive(Debug)]
pub struct Mirror {
    data: PathBuf,
    blobs: Arc<DirBlobs>,
    follower: Mutex<Follower>,
    status: Mutex<Status>,
}

/// A mirror that cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MirrorError {
    /// The stored tree does not verify.
    #[error("the mirror's own tree in {dir} does not verify: {why}")]
    Stored {
        /// The directory.
        dir: String,
        /// Why.
        why: String,
    },
    /// Writing failed.
    #[error("writing {key}: {why}")]
    Write {
        /// The key.
        key: String,
        /// Why.
        why: String,
    },
}

impl Mirror {
    /// Opens `data` (created if missing) and re-verifies what it holds.
    pub fn open(data: &Path, options: Options) -> Result<Mirror, MirrorError> {
        let public = data.join("public");
        std::fs::create_dir_all(&public).map_err(|e| MirrorError::Write {
            key: public.display().to_string(),
            why: e.to_string(),
        })?;
        let mut follower = Follower::new(options, None);
        let own = DirSource::new(&public);
        let stored = own.get(CHECKPOINT_PATH, 1 << 20).ok().flatten().is_some();
        if stored {
            follower.advance(&own).map_err(|e| MirrorError::Stored {
                dir: public.display().to_string(),
                why: e.to_string(),
            })?;
        }
        let size = follower.size();
        Ok(Mirror {
            data: data.to_owned(),
            blobs: Arc::new(DirBlobs::new(public)),
            follower: Mutex::new(follower),
            status: Mutex::new(Status {
                size,
                ..Status::default()
            }),
        })
    }

    /// The verified store (what [`router`] serves).
    pub fn blobs(&self) -> &Arc<DirBlobs> {
        &self.blobs
    }

    /// What the mirror last did.
    pub fn status(&self) -> Status {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The follower (verified state).
    pub fn follower(&self) -> Follower {
        self.follower
            .lock()
            .map(|f| f.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// One poll: verify the primary's current state and store it if it verified. Blocking
    /// (network reads); run it off the async runtime.
    pub fn poll_once(
        &self,
        primary: &dyn Fetch,
        rt: &tokio::runtime::Handle,
    ) -> Result<Option<Advance>, String> {
        let mut next = self.follower();
        let result = next.advance(primary);
        match result {
            Ok(advance) => {
                let changed = self
                    .follower()
                    .last()
                    .is_none_or(|l| l.note != advance.note);
                if changed {
                    rt.block_on(self.store(&advance))
                        .map_err(|e| e.to_string())?;
                }
                if advance.quorum_met {
                    // After the checkpoint it is for; checked every poll, so a crash between
                    // the two writes is repaired by the next one.
                    rt.block_on(self.record_witnessed(&advance.note))
                        .map_err(|e| e.to_string())?;
                }
                if let Ok(mut f) = self.follower.lock() {
                    *f = next;
                }
                self.set_status(advance.to, None, None);
                Ok(changed.then_some(advance))
            }
            Err(Failure::Alarm { verdict, evidence }) => {
                let why = Failure::Alarm {
                    verdict: verdict.clone(),
                    evidence: evidence.clone(),
                }
                .to_string();
                let path = self.write_evidence(&evidence);
                tracing::error!(%why, evidence = ?path, "primary contradicts the verified state");
                let size = self.follower().size();
                self.set_status(size, Some(why.clone()), path);
                Err(why)
            }
            Err(other) => {
                let why = other.to_string();
                tracing::warn!(%why, "primary state not accepted; serving the last verified state");
                let size = self.follower().size();
                self.set_status(size, Some(why.clone()), None);
                Err(why)
            }
        }
    }

    fn set_status(&self, size: u64, error: Option<String>, evidence: Option<PathBuf>) {
        if let Ok(mut s) = self.status.lock() {
            s.size = size;
            s.last_error = error;
            s.evidence.extend(evidence);
        }
    }

    fn write_evidence(&self, evidence: &crate::Evidence) -> Option<PathBuf> {
        let dir = self.data.join("evidence");
        std::fs::create_dir_all(&dir).ok()?;
        let bytes = evidence.encode();
        let digest = urne_release::manifest::hex(&urne_release::manifest::sha256(&bytes));
        let path = dir.join(format!("{}.txt", &digest[..16]));
        crate::state::write_atomic(&path, &bytes).ok()?;
        Some(path)
    }

    /// Stores `note` (verified, quorum met) as the witnessed checkpoint unless it already is.
    async fn record_witnessed(&self, note: &[u8]) -> Result<(), MirrorError> {
        let write = |e: urne_store::BlobError| MirrorError::Write {
            key: WITNESSED_KEY.into(),
            why: e.to_string(),
        };
        if self
            .blobs
            .get(WITNESSED_KEY)
            .await
            .map_err(write)?
            .as_deref()
            != Some(note)
        {
            self.blobs.put(WITNESSED_KEY, note).await.map_err(write)?;
        }
        Ok(())
    }

    /// Writes an advance: payloads, then bundles and tiles, then the checkpoint last.
    async fn store(&self, advance: &Advance) -> Result<(), MirrorError> {
        let put = |key: String, bytes: &[u8]| {
            let blobs = self.blobs.clone();
            let bytes = bytes.to_vec();
            async move {
                blobs
                    .put(&key, &bytes)
                    .await
                    .map_err(|e| MirrorError::Write {
                        key,
                        why: e.to_string(),
                    })
            }
        };
        for (path, bytes) in &advance.blobs {
            put(path.clone(), bytes).await?;
        }
        for (id, bytes) in &advance.bundles {
            put(format!("log/{}", id.path()), bytes).await?;
        }
        for (id, bytes) in &advance.tiles {
            put(format!("log/{}", id.path()), bytes).await?;
        }
        put(CHECKPOINT_PATH.to_string(), &advance.note).await
    }
}

/// Polls `primary` every `interval` until `shutdown` resolves.
pub async fn follow(
    mirror: Arc<Mirror>,
    primary: Arc<dyn Fetch>,
    interval: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let (m, p) = (mirror.clone(), primary.clone());
        let rt = tokio::runtime::Handle::current();
        let polled = tokio::task::spawn_blocking(move || m.poll_once(p.as_ref(), &rt)).await;
        if let Ok(Ok(Some(a))) = polled {
            tracing::info!(from = a.from, to = a.to, cosigners = ?a.cosigners, "mirrored");
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Serves the mirror's verified tree: `log/checkpoint`, tiles, bundles, blobs and any other
/// file it stored, read-only.
pub fn router(mirror: Arc<Mirror>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/{*path}", get(file))
        .with_state(mirror)
}

async fn index(State(mirror): State<Arc<Mirror>>) -> Response {
    serve_key(&mirror, "index.html").await
}

async fn file(State(mirror): State<Arc<Mirror>>, UrlPath(path): UrlPath<String>) -> Response {
    if urne_store::validate_key(&path).is_err() {
        return (StatusCode::BAD_REQUEST, "not a path of the public tree\n").into_response();
    }
    serve_key(&mirror, &path).await
}

/// Reads a stored file; a partial tile or bundle the mirror never stored (the primary wrote
/// it at a size the mirror did not poll at) is cut from a wider one it verified.
pub async fn read_key(
    mirror: &Mirror,
    key: &str,
) -> Result<Option<Vec<u8>>, urne_store::BlobError> {
    if let Some(bytes) = mirror.blobs.get(key).await? {
        return Ok(Some(bytes));
    }
    partial_from_wider(mirror.blobs.as_ref(), key).await
}

/// C2SP tlog-tiles: a partial tile of width `w` is the first `w` hashes of any wider version of
/// the same tile, and a partial entry bundle the first `w` entries of a wider bundle. So every
/// partial tile of a verified tree is derived from verified bytes, byte-identical to the one
/// the primary wrote at that size.
async fn partial_from_wider(
    blobs: &DirBlobs,
    key: &str,
) -> Result<Option<Vec<u8>>, urne_store::BlobError> {
    let Some(path) = key.strip_prefix("log/") else {
        return Ok(None);
    };
    if let Ok(id) = urne_tlog::TileId::parse(path) {
        for width in (id.width + 1..=urne_tlog::TILE_WIDTH).rev() {
            let wider = urne_tlog::TileId { width, ..id };
            if let Some(bytes) = blobs.get(&format!("log/{}", wider.path())).await? {
                return Ok(bytes.get(..id.byte_len()).map(<[u8]>::to_vec));
            }
        }
    } else if let Ok(id) = urne_tlog::BundleId::parse(path) {
        for width in (id.width + 1..=urne_tlog::TILE_WIDTH).rev() {
            let wider = urne_tlog::BundleId { width, ..id };
            if let Some(bytes) = blobs.get(&format!("log/{}", wider.path())).await? {
                let Ok(entries) = urne_tlog::tile::decode_bundle(&bytes) else {
                    return Ok(None);
                };
                let Some(cut) = entries.get(..id.width as usize) else {
                    return Ok(None);
                };
                return Ok(urne_tlog::tile::encode_bundle(cut).ok());
            }
        }
    }
    Ok(None)
}

/// Answers a GET of `key` from the mirror's verified store (see [`read_key`]).
pub async fn serve_key(mirror: &Mirror, key: &str) -> Response {
    match read_key(mirror, key).await {
        Ok(Some(bytes)) => {
            let (kind, cache) = headers_for(key);
            (
                [
                    (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
                    (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
                ],
                bytes,
            )
                .into_response()
        }
        Ok(None) => (StatusCode::NOT_FOUND, "not found\n").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "mirror read failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response()
        }
    }
}

fn headers_for(key: &str) -> (&'static str, &'static str) {
    const IMMUTABLE: &str = "public, max-age=31536000, immutable";
    if key == CHECKPOINT_PATH {
        return ("text/plain; charset=utf-8", "no-cache");
    }
    if key.starts_with("log/") || key.starts_with("blobs/") {
        return ("application/octet-stream", IMMUTABLE);
    }
    let kind = match key.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("json") => "application/json",
        Some("js") => "text/javascript; charset=utf-8",
        Some("csv") => "text/csv; charset=utf-8",
        Some("xml") => "application/xml",
        _ => "application/octet-stream",
    };
    (kind, "no-cache")
}
