//! The I/O edge shared by the `urne` binary and its test harness: opening the embedded
//! default (a data directory holding the SQLite store, the public tree and the log key) or a
//! PostgreSQL store.
//!
//! Invariant: only one process sequences a log at a time: an exclusive lock on `urne.lock`
//! (SQLite, the default), or the log's advisory lock on PostgreSQL ([`cluster`]); the store's
//! compare-and-swap catches anything that slips past either.
#![forbid(unsafe_code)]

pub mod bundle;
pub mod cluster;
pub mod demo;
pub mod keyfile;
pub mod live;
pub mod mirror_cmd;
pub mod officials;
pub mod publish;
pub mod rendered;
pub mod sendfile;
pub mod serve;
pub mod verify_cmd;
pub mod witnessing;

use std::{
    fs::{self, File, OpenOptions},
    io::Write,
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
    sync::Arc,
};

use anyhow::{Context, bail};
use urne_store::{Blobs, DirBlobs, Store};
use urne_tlog::note::{Ed25519Signer, Ed25519Verifier};

/// File names inside a data directory.
pub const LOCK_FILE: &str = "urne.lock";
pub const SQLITE_FILE: &str = "urne.db";
pub const PUBLIC_DIR: &str = "public";
pub const LOG_KEY_FILE: &str = "log.key";
pub const LOG_VKEY_FILE: &str = "log.vkey";

/// An opened data directory.
pub struct DataDir {
    pub path: PathBuf,
    pub store: Arc<dyn Store>,
    pub blobs: Arc<dyn Blobs>,
    pub signer: Ed25519Signer,
    /// The PostgreSQL store when `--database-url` is given (then `store` and `blobs` are it).
    pub postgres: Option<urne_store_postgres::PgStore>,
    /// Held for the life of the process: the single-writer lock (SQLite only; on PostgreSQL
    /// the log's advisory lock decides, see [`cluster`]).
    _lock: Option<File>,
}

impl std::fmt::Debug for DataDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The signer holds the private log key: never print it.
        f.debug_struct("DataDir")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl DataDir {
    /// The log's checkpoint origin (the log key's name).
    pub fn origin(&self) -> &str {
        self.signer.name()
    }
}

/// Opens (creating on first use) the data directory at `path`.
///
/// `origin` names a new log (ignored when the key already exists). `database_url` selects
/// PostgreSQL instead of the embedded SQLite file: then the store *and the blobs* (log tiles,
/// payloads) live in the database, the directory holds only the log key, and several
/// processes (on one host or many, each with a copy of the key) may open it at once; who
/// sequences is decided by [`cluster`]. Without it, one process holds `urne.lock`.
pub async fn open_data_dir(
    path: &Path,
    origin: &str,
    database_url: Option<&str>,
) -> anyhow::Result<DataDir> {
    fs::create_dir_all(path).with_context(|| format!("creating {}", path.display()))?;
    let lock = match database_url {
        Some(_) => None,
        None => {
            let lock_path = path.join(LOCK_FILE);
            let lock = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)
                .with_context(|| format!("opening {}", lock_path.display()))?;
            if lock.try_lock().is_err() {
                bail!(
                    "another urne process is using {}; stop it first (one sequencer per log)",
                    path.display()
                );
            }
            Some(lock)
        }
    };
    let signer = load_or_create_log_key(path, origin)?;
    let (store, blobs, postgres): (Arc<dyn Store>, Arc<dyn Blobs>, _) = match database_url {
        Some(url) => {
            let pg = urne_store_postgres::PgStore::connect(url)
                .await
                .context("connecting to PostgreSQL")?;
            (Arc::new(pg.clone()), Arc::new(pg.blobs()), Some(pg))
        }
        None => {
            let db = path.join(SQLITE_FILE);
            let store = urne_store_sqlite::SqliteStore::open(&db)
                .await
                .with_context(|| format!("opening {}", db.display()))?;
            (
                Arc::new(store),
                Arc::new(DirBlobs::new(path.join(PUBLIC_DIR))),
                None,
            )
        }
    };
    Ok(DataDir {
        path: path.to_owned(),
        store,
        blobs,
        signer,
        postgres,
        _lock: lock,
    })
}

/// Reads the log key, or makes one (mode 0600) with `origin` as its name.
fn load_or_create_log_key(dir: &Path, origin: &str) -> anyhow::Result<Ed25519Signer> {
    let key_path = dir.join(LOG_KEY_FILE);
    if let Some(text) = read_private_key_file(&key_path)? {
        return Ed25519Signer::from_private_key(&text)
            .with_context(|| format!("{}: not a signed-note private key", key_path.display()));
    }
    let signer = Ed25519Signer::generate(origin, &mut rand_core::OsRng)
        .with_context(|| format!("{origin:?} is not a valid log origin"))?;
    write_private_key_file(&key_path, &signer.private_key())?;
    fs::write(
        dir.join(LOG_VKEY_FILE),
        format!("{}\n", signer.verifier().vkey()),
    )?;
    tracing::info!(vkey = %signer.verifier().vkey(), "created a new log key");
    Ok(signer)
}

/// Default page title (`--title`).
pub const DEFAULT_TITLE: &str = "Election results";

/// The site settings for a data directory's log.
pub fn site_config(title: &str, signer: &Ed25519Signer) -> publish::SiteConfig {
    publish::SiteConfig {
        title: title.to_owned(),
        origin: signer.name().to_owned(),
        log_vkey: signer.verifier().vkey(),
        render_cache_bytes: rendered::RENDER_CACHE_BYTES_DEFAULT,
        spill_dir: None,
        spill_bytes_min: serve::SPILL_BYTES_MIN,
    }
}

/// Writes the whole public tree of the log in `blobs` (as of its public checkpoint) to `out`:
/// the rendered pages, API and downloads, `log/` and `blobs/`, byte for byte what
/// `urne serve` serves. Reads only public files, so it runs beside a live server.
/// Returns the number of files written.
pub async fn export_tree(
    blobs: &dyn Blobs,
    site: &publish::SiteConfig,
    out: &Path,
) -> anyhow::Result<usize> {
    let verifier = Ed25519Verifier::from_vkey(&site.log_vkey).context("the log key")?;
    let checkpoint = urne_log::verify::public_checkpoint(blobs, &site.origin, &verifier)
        .await
        .context("reading log/checkpoint")?;
    let history = publish::History::replay(blobs, checkpoint.size).await?;
    let witnessed =
        witnessing::read_witnessed(blobs, &verifier, history.witness_policy(), history.size())
            .await?;
    let tree = history.render(site, witnessed.as_ref())?;
    let mut written = 0;
    for (path, bytes) in &tree {
        write_export_file(out, path, bytes)?;
        written += 1;
    }
    for prefix in ["log/", "blobs/"] {
        for key in blobs.list(prefix).await? {
            let bytes = if key == urne_log::CHECKPOINT_KEY {
                // With the stored cosignatures for exactly this checkpoint, as served.
                witnessing::served_checkpoint(blobs).await?
            } else {
                blobs.get(&key).await?
            };
            let bytes = bytes.with_context(|| format!("{key} vanished while exporting"))?;
            write_export_file(out, &key, &bytes)?;
            written += 1;
        }
    }
    Ok(written)
}

fn write_export_file(out: &Path, relative: &str, bytes: &[u8]) -> anyhow::Result<()> {
    // Paths come from the renderer (sanitized) and validated blob keys; check anyway.
    if relative
        .split('/')
        .any(|s| s.is_empty() || s == ".." || s == ".")
    {
        bail!("refusing to export the unsafe path {relative:?}");
    }
    let path = out.join(relative);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// Reads `path`, but no more than `bytes_max + 1` bytes: enough for the reader of the result
/// to refuse a longer file by name without it ever being held whole in memory.
pub fn read_at_most(path: &Path, bytes_max: u64) -> anyhow::Result<Vec<u8>> {
    use std::io::Read as _;
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(bytes_max.saturating_add(1))
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(bytes)
}

/// Reads a private key file, if it exists, refusing one that others can read: whoever reads it
/// can sign in its owner's name.
pub fn read_private_key_file(path: &Path) -> anyhow::Result<Option<String>> {
    if !path.exists() {
        return Ok(None);
    }
    let mode = fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        bail!(
            "{} is readable by others (mode {:o}); run `chmod 600` on it",
            path.display(),
            mode & 0o777
        );
    }
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(Some(text.trim().to_owned()))
}

/// Creates a private key file with mode 0600; never overwrites one.
pub fn write_private_key_file(path: &Path, key: &str) -> anyhow::Result<()> {
    let mut file = OpenOptions::new()
        .create_new(true)
        .write(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    writeln!(file, "{key}")?;
    file.sync_all()?;
    Ok(())
}

/// Reads a verifier key given as a `name+hash+key` string or as a file holding one.
pub fn read_vkey(arg: &str) -> anyhow::Result<Ed25519Verifier> {
    let text = if Path::new(arg).is_file() {
        fs::read_to_string(arg).with_context(|| format!("reading {arg}"))?
    } else {
        arg.to_owned()
    };
    Ed25519Verifier::from_vkey(text.trim())
        .with_context(|| format!("{arg}: not a signed-note verifier key"))
}
