//! [`DirBlobs`]: blobs as files under one directory.

use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use crate::key::{is_valid_segment, split_prefix, validate_key, validate_prefix};
use crate::{BlobError, Blobs};

/// [`Blobs`] stored as files under a root directory, the key being the relative path.
///
/// Crash safety: `put` writes a temporary file next to the target, `fsync`s it, renames it over
/// the target and `fsync`s the directory; new directories are `fsync`ed into their parents.
/// So when `put` returns `Ok` the new bytes survive a power cut, and a reader (in this or
/// another process) sees the old file or the new one, never a mix. A crash before the rename
/// leaves the old value plus a stray temporary file (`.<name>~<pid>-<n>.tmp`, never a valid
/// key, so [`Blobs::list`] skips it). `delete` also `fsync`s the directory.
///
/// Trust: whoever can write the directory can change or remove any blob. The log's tiles and
/// payloads are verified by hash and signature by their readers, so this is availability,
/// not integrity.
///
/// Limitation: a key cannot hold a blob while keys under it exist (`a` and `a/b`), since `a`
/// would be both a file and a directory; such a `put` fails with [`BlobError::Io`]. urne's
/// layouts (tiles, `blobs/sha256/<hex>`) never need both.
///
/// All file I/O runs on tokio's blocking thread pool.
#[derive(Debug, Clone)]
pub struct DirBlobs {
    root: Arc<Path>,
}

impl DirBlobs {
    /// Blobs under `root`. The directory (and its missing parents) is created by the first
    /// `put`; until then every `get` and `list` is empty.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DirBlobs {
            root: Arc::from(root.into()),
        }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    async fn blocking<T, F>(&self, key: &str, work: F) -> Result<T, BlobError>
    where
        T: Send + 'static,
        F: FnOnce(&Path) -> io::Result<T> + Send + 'static,
    {
        let root = Arc::clone(&self.root);
        let result = tokio::task::spawn_blocking(move || work(&root))
            .await
            .unwrap_or_else(|join| Err(io::Error::other(format!("blocking task failed: {join}"))));
        result.map_err(|source| BlobError::Io {
            key: key.to_owned(),
            source,
        })
    }
}

#[async_trait]
impl Blobs for DirBlobs {
    async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), BlobError> {
        validate_key(key)?;
        let (owned_key, bytes) = (key.to_owned(), bytes.to_vec());
        self.blocking(key, move |root| put_file(root, &owned_key, &bytes))
            .await
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BlobError> {
        validate_key(key)?;
        let owned_key = key.to_owned();
        self.blocking(key, move |root| match fs::read(root.join(&owned_key)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if is_absent(&e) => Ok(None),
            Err(e) => Err(e),
        })
        .await
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        validate_key(key)?;
        let owned_key = key.to_owned();
        self.blocking(key, move |root| {
            let path = root.join(&owned_key);
            match fs::remove_file(&path) {
                Ok(()) => sync_dir(parent(&path)),
                Err(e) if is_absent(&e) => Ok(()),
                Err(e) => Err(e),
            }
        })
        .await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, BlobError> {
        validate_prefix(prefix)?;
        let owned_prefix = prefix.to_owned();
        self.blocking(prefix, move |root| {
            let (dirs, _) = split_prefix(&owned_prefix);
            let (start, base) = match dirs {
                Some(dirs) => (root.join(dirs), format!("{dirs}/")),
                None => (root.to_path_buf(), String::new()),
            };
            let mut keys = Vec::new();
            walk(&start, &base, &mut keys)?;
            keys.retain(|key| key.starts_with(&owned_prefix));
            keys.sort_unstable();
            Ok(keys)
        })
        .await
    }
}

/// Distinguishes concurrent temporary files of the same key, within and across processes.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn put_file(root: &Path, key: &str, bytes: &[u8]) -> io::Result<()> {
    let path = root.join(key);
    let dir = parent(&path);
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .expect("validated key has a name");
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    // `~` is not a key character, so a temporary file can never be mistaken for a blob.
    let temp = dir.join(format!(".{name}~{}-{n}.tmp", std::process::id()));
    let file = match create_new(&temp) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            create_dirs_durably(dir)?;
            create_new(&temp)?
        }
        Err(e) => return Err(e),
    };
    let result = write_and_rename(file, bytes, &temp, &path);
    if result.is_err() {
        // Best effort: the temporary file is garbage either way.
        let _ = fs::remove_file(&temp);
    }
    result
}

fn write_and_rename(mut file: File, bytes: &[u8], temp: &Path, path: &Path) -> io::Result<()> {
    file.write_all(bytes)?;
    // fdatasync also flushes the file size, all a reader needs; the rename below is made
    // durable by the directory fsync.
    file.sync_data()?;
    drop(file);
    fs::rename(temp, path)?;
    sync_dir(parent(path))
}

fn create_new(path: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).open(path)
}

/// Creates `dir` and its missing ancestors, fsyncing each new directory's parent so that the
/// directory itself survives a power cut.
fn create_dirs_durably(dir: &Path) -> io::Result<()> {
    match fs::create_dir(dir) {
        Ok(()) => {}
        // Someone else created it; they may not have fsynced its parent yet, so we do too.
        // (If it is a file, the caller's next open fails with a clear error.)
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {
            create_dirs_durably(parent(dir))?;
            match fs::create_dir(dir) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        Err(e) => return Err(e),
    }
    sync_dir(parent(dir))
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn parent(path: &Path) -> &Path {
    // Every path here is `root` joined with a validated key, so it has a parent; the root
    // itself may be relative with an empty parent, which means the current directory.
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// A key that is missing, or that names a directory or runs through a file, holds no blob.
fn is_absent(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::NotFound | ErrorKind::IsADirectory | ErrorKind::NotADirectory
    )
}

/// Appends to `keys` every regular file under `dir` whose path is a valid key, as
/// `base` + relative path. Symlinks and foreign names (temporary files) are skipped.
fn walk(dir: &Path, base: &str, keys: &mut Vec<String>) -> io::Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if is_absent(&e) => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if !is_valid_segment(&name) {
            continue;
        }
        let key = format!("{base}{name}");
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(&entry.path(), &format!("{key}/"), keys)?,
            Ok(t) if t.is_file() => keys.push(key),
            Ok(_) => {}
            // Deleted while we listed.
            Err(e) if is_absent(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
