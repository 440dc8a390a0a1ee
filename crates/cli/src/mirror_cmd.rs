//! `urne mirror`: follow a primary, serve its verified public tree, optionally witness it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
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
        require_quorum: true,
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
    let mut app = mirror::router(mirror.clone());
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
    Ok(())
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
