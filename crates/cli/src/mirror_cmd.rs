//! `urne mirror`: follow a primary, serve its verified public tree, optionally witness it.
//!
//! The log (`log/`) and payloads (`blobs/`) are what `urne_verify::mirror` stored after they
//! verified (partial tiles of sizes the mirror never polled at are cut from wider verified
//! ones). The pages, API and downloads are never copied from the primary: after each verified
//! advance the mirror replays its own verified log and renders them on demand exactly as
//! `urne serve` does (same code: `publish::History` and `rendered::ServedTree`). The witnessed
//! state is the same input the primary renders with: [`witnessing::read_witnessed`] of the
//! newest verified checkpoint note that met the quorum (`urne_verify::mirror::WITNESSED_KEY`,
//! the primary's key too), so while the primary awaits witnesses the mirror, which follows the
//! same checkpoint, says "awaiting witnesses" on the same pages. It then fetches a few of the
//! primary's rendered files and says whether they match (`--title` must be the primary's for
//! that).
//!
//! [`witnessing::read_witnessed`]: crate::witnessing::read_witnessed

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::RwLock;
use urne_store::Blobs as _;
use urne_tlog::cosignature::CosignatureSigner;
use urne_tlog::note::NoteVerifier as _;
use urne_verify::mirror::{self, Mirror};
use urne_verify::{Options, Source};

/// Arguments of `urne mirror`.
#[derive(Debug)]
pub struct MirrorArgs {
    /// The primary: URL or directory.
    pub source: String,
    /// The mirror's data directory.
    pub data: PathBuf,
    /// Where to serve.
    pub listen: SocketAddr,
    /// Genesis pin (hex).
    pub pin: Option<String>,
    /// Log key or file.
    pub log_vkey: Option<String>,
    /// Poll interval.
    pub interval: Duration,
    /// Also run a tlog-witness for the log at `/add-checkpoint`, with this key name.
    pub witness_name: Option<String>,
    /// The page title (the primary's `--title`, for byte-identical pages).
    pub title: String,
}

/// The mirror's rendered pages, API and downloads, for the checkpoint they were rendered at.
#[derive(Debug, Default)]
pub struct Rendered {
    /// The verified checkpoint note the tree was rendered for.
    pub checkpoint: Vec<u8>,
    /// The witnessed checkpoint note it was rendered with (`None`: none met the quorum yet).
    pub witnessed: Option<Vec<u8>>,
    /// The tree, rendered on demand (`None` before the first verified checkpoint).
    pub tree: Option<Arc<crate::rendered::ServedTree>>,
    /// The files compared with the primary's: `index.html`, `api/v1/elections.json` and each
    /// election's latest `summary.json`.
    pub compared: Vec<String>,
    /// Whether the primary's copies of the compared files were byte-identical (`None`: the
    /// primary had moved on or could not be read).
    pub primary_matches: Option<bool>,
}

/// A checkpoint note and the compared files rendered for it (path, bytes if any).
pub type Compared = (Vec<u8>, Vec<(String, Option<Vec<u8>>)>);

/// A mirror and its rendered tree: what the HTTP handlers share.
#[derive(Debug)]
pub struct MirrorSite {
    pub mirror: Arc<Mirror>,
    pub title: String,
    /// Where large rendered files are kept while served (`DATA/spill`; `None`: the system's
    /// temporary directory).
    pub spill_dir: Option<PathBuf>,
    pub rendered: RwLock<Rendered>,
}

impl MirrorSite {
    /// Renders the pages again if the verified checkpoint or the witnessed one changed.
    /// Returns whether it did.
    pub async fn refresh(&self) -> anyhow::Result<bool> {
        let blobs = self.mirror.blobs().clone();
        let Some(note) = blobs.get(urne_verify::follow::CHECKPOINT_PATH).await? else {
            return Ok(false);
        };
        let witnessed_note = blobs.get(mirror::WITNESSED_KEY).await?;
        {
            let r = self.rendered.read().expect("lock");
            if r.checkpoint == note && r.witnessed == witnessed_note {
                return Ok(false);
            }
        }
        let follower = self.mirror.follower();
        let key = follower
            .log_key()
            .context("the verified tree has no log key")?
            .clone();
        let size = follower.size();
        let site = crate::publish::SiteConfig {
            title: self.title.clone(),
            origin: key.name().to_owned(),
            log_vkey: key.vkey(),
            render_cache_bytes: crate::rendered::RENDER_CACHE_BYTES_DEFAULT,
            spill_dir: self.spill_dir.clone(),
            spill_bytes_min: crate::serve::SPILL_BYTES_MIN,
        };
        let history = crate::publish::History::replay(blobs.as_ref(), size).await?;
        let witnessed = crate::witnessing::witnessed_view(
            witnessed_note.as_deref(),
            &key,
            history.witness_policy(),
            history.size(),
        );
        let mut compared = vec!["index.html".to_owned(), "api/v1/elections.json".to_owned()];
        let elections: std::collections::BTreeSet<String> = history
            .releases()
            .iter()
            .filter(|s| s.snapshot.is_some())
            .filter_map(|s| s.release.manifest().election.as_ref())
            .map(|e| urne_site::path_segment(e.as_str()))
            .collect();
        compared.extend(
            elections
                .into_iter()
                .map(|seg| format!("api/v1/elections/{seg}/summary.json")),
        );
        let previous = self.rendered.read().expect("lock").tree.clone();
        let tree = crate::rendered::ServedTree::start(
            history,
            site.clone(),
            witnessed,
            site.render_cache_bytes,
            previous.as_deref(),
        )
        .await?;
        *self.rendered.write().expect("lock") = Rendered {
            checkpoint: note,
            witnessed: witnessed_note,
            tree: Some(Arc::new(tree)),
            compared,
            primary_matches: None,
        };
        Ok(true)
    }

    /// The checkpoint and the [`Rendered::compared`] files of the rendered tree.
    pub async fn compared_files(
        &self,
    ) -> anyhow::Result<(Vec<u8>, Vec<(String, Option<Vec<u8>>)>)> {
        let (checkpoint, tree, paths) = {
            let r = self.rendered.read().expect("lock");
            (r.checkpoint.clone(), r.tree.clone(), r.compared.clone())
        };
        let mut files = Vec::new();
        if let Some(tree) = tree {
            for path in paths {
                let file = tree.get(&path).await?;
                let bytes = file.map(|f| f.bytes()).transpose()?;
                files.push((path, bytes.map(|b| b.to_vec())));
            }
        }
        Ok((checkpoint, files))
    }

    /// Compares the rendered `index.html`, `api/v1/elections.json` and each election's
    /// `summary.json` (`ours`, from [`MirrorSite::compared_files`]) with the primary's, when
    /// the primary still serves the same checkpoint. Blocking.
    pub fn compare_with(&self, primary: &dyn urne_verify::Fetch, ours: &Compared) -> Option<bool> {
        const READ_MAX: u64 = 1 << 24;
        let (checkpoint, files) = ours;
        let theirs = primary
            .get(urne_verify::follow::CHECKPOINT_PATH, READ_MAX)
            .ok()??;
        if &theirs != checkpoint {
            return None;
        }
        let mut matches = true;
        for (path, ours) in files {
            let theirs = primary.get(path, READ_MAX).ok().flatten();
            if theirs != *ours {
                tracing::warn!(
                    %path,
                    "the primary's file differs from the render of the verified log (is --title the primary's?); serving the render"
                );
                matches = false;
            }
        }
        self.rendered.write().expect("lock").primary_matches = Some(matches);
        Some(matches)
    }
}

/// Serves the mirror: `log/` and `blobs/` from the verified store, everything else from the
/// rendered tree (`/` and `…/` are `index.html`).
pub fn router(site: Arc<MirrorSite>) -> axum::Router {
    axum::Router::new()
        .fallback(axum::routing::get(mirror_file))
        .with_state(site)
}

async fn mirror_file(
    State(site): State<Arc<MirrorSite>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    let mut path = uri.path().trim_start_matches('/').to_owned();
    if path.starts_with("log/") || path.starts_with("blobs/") {
        if urne_store::validate_key(&path).is_err() {
            return (StatusCode::BAD_REQUEST, "not a path of the public tree\n").into_response();
        }
        return mirror::serve_key(&site.mirror, &path).await;
    }
    if path.is_empty() || path.ends_with('/') {
        path.push_str("index.html");
    }
    let tree = site.rendered.read().expect("lock").tree.clone();
    let file = match tree {
        Some(tree) => tree.get(&path).await,
        None => Ok(None),
    };
    match file {
        Ok(Some(f)) => crate::serve::tree_answer(&headers, &f),
        Ok(None) => (StatusCode::NOT_FOUND, "not found\n").into_response(),
        Err(e) => {
            tracing::error!(error = %e, %path, "rendering");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response()
        }
    }
}

/// Runs the mirror until Ctrl-C.
pub async fn run(args: MirrorArgs) -> anyhow::Result<()> {
    let pin = args
        .pin
        .as_deref()
        .map(urne_tlog::Hash::from_hex)
        .transpose()
        .map_err(|_| anyhow::anyhow!("--pin needs 64 hex digits"))?
        .map(|h| h.0);
    let log_key = args.log_vkey.as_deref().map(crate::read_vkey).transpose()?;
    let options = Options {
        pin,
        log_key: log_key.clone(),
        // Follow what the primary serves, witnessed or not: the pages say which (as the
        // primary's do), and a fork is refused against the last verified state either way.
        require_quorum: false,
        keep_releases: false,
    };
    let data = args.data.clone();
    let mirror = tokio::task::spawn_blocking(move || Mirror::open(&data, options)).await??;
    let mirror = Arc::new(mirror);
    let primary: Arc<dyn urne_verify::Fetch> = Arc::new(Source::open(&args.source));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let follow = tokio::spawn(mirror::follow(
        mirror.clone(),
        primary,
        args.interval,
        stopped,
    ));
    // Large rendered files go on the data directory's disk, not a temporary directory that
    // may be memory.
    let spill_dir = args.data.join("spill");
    std::fs::create_dir_all(&spill_dir)
        .with_context(|| format!("creating {}", spill_dir.display()))?;
    let site = Arc::new(MirrorSite {
        mirror: mirror.clone(),
        title: args.title.clone(),
        spill_dir: Some(spill_dir),
        rendered: RwLock::default(),
    });
    if let Err(e) = site.refresh().await {
        // The log, blobs and checkpoint are still served; pages wait for the next advance.
        tracing::error!(error = %e, "rendering the verified tree");
    }
    let render = tokio::spawn(render_loop(
        site.clone(),
        Arc::new(Source::open(&args.source)),
        args.interval,
    ));
    let mut app = router(site.clone());
    if let Some(name) = &args.witness_name {
        let key = log_key
            .or_else(|| mirror.follower().log_key().cloned())
            .context("a witnessing mirror needs --log-vkey (or a verified tree) to know the log")?;
        app = urne_witness::router(witness(&args.data, name, key).await?).merge(app);
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    println!(
        "urne mirror of {} at http://{}/ (verified size {})",
        args.source,
        args.listen,
        mirror.status().size
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    let _ = stop.send(true);
    let _ = follow.await;
    render.abort();
    Ok(())
}

/// Renders the pages after each verified advance and compares them with the primary's.
async fn render_loop(
    site: Arc<MirrorSite>,
    primary: Arc<dyn urne_verify::Fetch>,
    interval: Duration,
) {
    loop {
        tokio::time::sleep(interval).await;
        match site.refresh().await {
            Ok(true) => {
                let ours = match site.compared_files().await {
                    Ok(ours) => ours,
                    Err(e) => {
                        tracing::error!(error = %e, "rendering the verified tree");
                        continue;
                    }
                };
                let (s, p) = (site.clone(), primary.clone());
                let matches =
                    tokio::task::spawn_blocking(move || s.compare_with(p.as_ref(), &ours))
                        .await
                        .ok()
                        .flatten();
                tracing::info!(?matches, "rendered the verified tree");
            }
            Ok(false) => {}
            Err(e) => tracing::error!(error = %e, "rendering the verified tree"),
        }
    }
}

async fn witness(
    data: &std::path::Path,
    name: &str,
    log: urne_tlog::note::Ed25519Verifier,
) -> anyhow::Result<Arc<urne_witness::Witness>> {
    let key_path = data.join("witness.key");
    let signer = match crate::read_private_key_file(&key_path)? {
        Some(text) => CosignatureSigner::from_private_key(&text)
            .with_context(|| format!("{}: not a cosigner private key", key_path.display()))?,
        None => {
            let signer = CosignatureSigner::generate(name, &mut rand_core::OsRng)
                .with_context(|| format!("{name:?} is not a valid witness name"))?;
            crate::write_private_key_file(&key_path, &signer.private_key())?;
            signer
        }
    };
    let mut known = urne_witness::KnownLogs::new();
    known.add(log.name(), log.clone());
    let state = urne_witness::SqliteState::open(data.join("witness.db"))
        .await
        .context("opening the witness state")?;
    let witness = urne_witness::Witness::new(
        signer,
        known,
        Arc::new(state),
        Arc::new(urne_witness::SystemClock),
    );
    println!("witness key: {}", witness.verifier().vkey());
    Ok(Arc::new(witness))
}
