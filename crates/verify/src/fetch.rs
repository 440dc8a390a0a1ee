//! Reading a public tree: over HTTP(S) from a server, CDN or mirror, or from a directory (an
//! `urne export`, a mirror's data directory, a copied bucket).
//!
//! Everything read here is untrusted; the caller authenticates it against a signed checkpoint.
//! Every read has a byte limit named by the caller, so a hostile server cannot exhaust memory.

use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Time for one HTTP request, connect to last body byte.
pub const HTTP_REQUEST_TIME_MAX: Duration = Duration::from_secs(30);

/// Why a read failed. `NotFound` is not here: [`Fetch::get`] answers `Ok(None)` for it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The path is not a relative path inside the tree.
    #[error("{path:?} is not a path inside the public tree")]
    BadPath {
        /// The path asked for.
        path: String,
    },
    /// The file or response is larger than allowed.
    #[error("{path}: larger than the {limit}-byte limit")]
    TooLarge {
        /// The path asked for.
        path: String,
        /// The limit.
        limit: u64,
    },
    /// The server answered something other than 200 or 404.
    #[error("{path}: HTTP status {status}")]
    Status {
        /// The path asked for.
        path: String,
        /// The status code.
        status: u16,
    },
    /// Network or file error.
    #[error("{path}: {why}")]
    Io {
        /// The path asked for.
        path: String,
        /// What went wrong.
        why: String,
    },
}

/// Read access to a public tree, by relative path (`log/checkpoint`, `blobs/sha256/<hex>`).
pub trait Fetch: Send + Sync + fmt::Debug {
    /// The bytes at `path`, at most `limit` of them; `Ok(None)` if there is no such file.
    fn get(&self, path: &str, limit: u64) -> Result<Option<Vec<u8>>, FetchError>;

    /// Where the tree is, for messages.
    fn describe(&self) -> String;

    /// Every file's relative path, where the source can list them (a directory); `None`
    /// over HTTP.
    fn list(&self) -> Result<Option<Vec<String>>, FetchError> {
        Ok(None)
    }
}

/// Files one directory listing returns at most.
pub const LIST_FILES_MAX: usize = 10_000_000;

/// A public tree at an `http://` or `https://` URL, or in a local directory.
#[derive(Debug)]
pub enum Source {
    /// A base URL ending in `/`.
    Http(HttpSource),
    /// A directory.
    Dir(DirSource),
}

impl Source {
    /// `http(s)://…` is fetched over the network; anything else is a directory.
    pub fn open(location: &str) -> Source {
        if location.starts_with("http://") || location.starts_with("https://") {
            Source::Http(HttpSource::new(location))
        } else {
            Source::Dir(DirSource::new(location))
        }
    }
}

impl Fetch for Source {
    fn get(&self, path: &str, limit: u64) -> Result<Option<Vec<u8>>, FetchError> {
        match self {
            Source::Http(s) => s.get(path, limit),
            Source::Dir(s) => s.get(path, limit),
        }
    }

    fn describe(&self) -> String {
        match self {
            Source::Http(s) => s.describe(),
            Source::Dir(s) => s.describe(),
        }
    }

    fn list(&self) -> Result<Option<Vec<String>>, FetchError> {
        match self {
            Source::Http(s) => s.list(),
            Source::Dir(s) => s.list(),
        }
    }
}

/// A tree served over HTTP(S) (rustls with the Mozilla roots for `https://`).
pub struct HttpSource {
    base: String,
    agent: ureq::Agent,
}

impl fmt::Debug for HttpSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpSource")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl HttpSource {
    /// A source rooted at `base` (a trailing `/` is added if missing).
    pub fn new(base: &str) -> HttpSource {
        let mut base = base.to_string();
        if !base.ends_with('/') {
            base.push('/');
        }
        HttpSource {
            base,
            agent: agent(HTTP_REQUEST_TIME_MAX),
        }
    }
}

/// A ureq agent that reports every status as a response (we map them ourselves) and gives up
/// after `timeout`.
pub fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .user_agent(concat!("urne/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

impl Fetch for HttpSource {
    fn get(&self, path: &str, limit: u64) -> Result<Option<Vec<u8>>, FetchError> {
        check_path(path)?;
        let url = format!("{}{path}", self.base);
        let io = |why: String| FetchError::Io {
            path: url.clone(),
            why,
        };
        let mut response = self.agent.get(&url).call().map_err(|e| io(e.to_string()))?;
        match response.status().as_u16() {
            200 => {}
            404 => return Ok(None),
            status => return Err(FetchError::Status { path: url, status }),
        }
        let bytes = response
            .body_mut()
            .with_config()
            .limit(limit.saturating_add(1))
            .read_to_vec()
            .map_err(|e| io(e.to_string()))?;
        if bytes.len() as u64 > limit {
            return Err(FetchError::TooLarge { path: url, limit });
        }
        Ok(Some(bytes))
    }

    fn describe(&self) -> String {
        self.base.clone()
    }
}

/// A tree in a local directory.
#[derive(Debug, Clone)]
pub struct DirSource {
    root: PathBuf,
}

impl DirSource {
    /// A source rooted at `root`.
    pub fn new(root: impl AsRef<Path>) -> DirSource {
        DirSource {
            root: root.as_ref().to_owned(),
        }
    }
}

impl Fetch for DirSource {
    fn get(&self, path: &str, limit: u64) -> Result<Option<Vec<u8>>, FetchError> {
        check_path(path)?;
        let full = self.root.join(path);
        let io = |e: std::io::Error| FetchError::Io {
            path: full.display().to_string(),
            why: e.to_string(),
        };
        let file = match std::fs::File::open(&full) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        let mut bytes = Vec::new();
        file.take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() as u64 > limit {
            return Err(FetchError::TooLarge {
                path: full.display().to_string(),
                limit,
            });
        }
        Ok(Some(bytes))
    }

    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn list(&self) -> Result<Option<Vec<String>>, FetchError> {
        let mut out = Vec::new();
        let mut stack = vec![(self.root.clone(), String::new())];
        while let Some((dir, prefix)) = stack.pop() {
            let io = |e: std::io::Error| FetchError::Io {
                path: dir.display().to_string(),
                why: e.to_string(),
            };
            for entry in std::fs::read_dir(&dir).map_err(io)? {
                let entry = entry.map_err(io)?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let rel = format!("{prefix}{name}");
                if entry.file_type().map_err(io)?.is_dir() {
                    stack.push((entry.path(), format!("{rel}/")));
                } else {
                    if out.len() == LIST_FILES_MAX {
                        return Err(FetchError::TooLarge {
                            path: self.root.display().to_string(),
                            limit: LIST_FILES_MAX as u64,
                        });
                    }
                    out.push(rel);
                }
            }
        }
        out.sort();
        Ok(Some(out))
    }
}

/// Only plain relative paths: segments of `[A-Za-z0-9._-]`, none empty, `.` or `..`.
fn check_path(path: &str) -> Result<(), FetchError> {
    let ok = !path.is_empty()
        && path.len() <= 1024
        && path.split('/').all(|s| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        });
    if ok {
        Ok(())
    } else {
        Err(FetchError::BadPath {
            path: path.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_tree() {
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "log//x",
            "log/./x",
            "a b",
            "log/%2e%2e",
        ] {
            assert!(check_path(bad).is_err(), "{bad:?}");
        }
        for good in [
            "log/checkpoint",
            "log/tile/0/x001/234.p/7",
            "blobs/sha256/ab",
        ] {
            assert!(check_path(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn a_directory_read_is_limited_and_missing_is_none() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), b"12345").unwrap();
        let src = DirSource::new(dir.path());
        assert_eq!(src.get("f", 5).unwrap().unwrap(), b"12345");
        assert!(matches!(src.get("f", 4), Err(FetchError::TooLarge { .. })));
        assert!(src.get("g", 4).unwrap().is_none());
    }
}
