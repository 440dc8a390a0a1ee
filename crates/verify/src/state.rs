//! The verifier's state file: what an earlier run accepted, so the next one can tell a fork or
//! a rollback from progress. Format `urne-verify-state/v1`:
//!
//! ```text
//! urne-verify-state/v1
//! log-key <vkey>
//! genesis <hex SHA-256 of the genesis trust policy's manifest>
//! checkpoint <N>
//! <N bytes: the last accepted signed checkpoint note>
//! ```
//!
//! Written atomically (a temporary file, fsync, rename, fsync of the directory), so a crash
//! leaves the old state or the new, never a mix. Trusted: whoever can edit it can make the
//! verifier forget what it saw (the trust model in ARCHITECTURE.md says so).

use std::io::Write as _;
use std::path::Path;

use urne_release::manifest::{Sha256Hash, hex};
use urne_tlog::Checkpoint;
use urne_tlog::note::{Ed25519Verifier, NOTE_BYTES_MAX, Note, NoteVerifier};

use crate::follow::Seen;

/// The first line of a state file.
pub const STATE_HEADER: &str = "urne-verify-state/v1";
/// Bytes in a state file.
pub const STATE_BYTES_MAX: usize = NOTE_BYTES_MAX + 4096;

/// What a verifier remembers about one log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyState {
    /// The log key the checkpoint was verified with.
    pub log_key: Ed25519Verifier,
    /// The pinned genesis trust policy (manifest hash).
    pub genesis: Sha256Hash,
    /// The last accepted checkpoint.
    pub last: Seen,
}

/// A state file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateFileError {
    /// Read or write failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Not a valid state file.
    #[error("{path} line {line}: {what}")]
    Malformed {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        what: String,
    },
}

impl VerifyState {
    /// The file's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = format!(
            "{STATE_HEADER}\nlog-key {}\ngenesis {}\ncheckpoint {}\n",
            self.log_key.vkey(),
            hex(&self.genesis),
            self.last.note.len()
        )
        .into_bytes();
        out.extend_from_slice(&self.last.note);
        out
    }

    /// Reads `path`; `Ok(None)` if it does not exist. The checkpoint's log signature is
    /// checked again (assert on both sides of a boundary).
    pub fn read(path: &Path) -> Result<Option<VerifyState>, StateFileError> {
        let shown = path.display().to_string();
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StateFileError::Io {
                    path: shown,
                    source,
                });
            }
        };
        let bad = |line: usize, what: String| StateFileError::Malformed {
            path: shown.clone(),
            line,
            what,
        };
        if bytes.len() > STATE_BYTES_MAX {
            return Err(bad(0, format!("longer than {STATE_BYTES_MAX} bytes")));
        }
        let mut lines = bytes.splitn(5, |&b| b == b'\n');
        let mut next = |n: usize, word: &str| -> Result<String, StateFileError> {
            let line = lines.next().unwrap_or_default();
            let text = std::str::from_utf8(line).unwrap_or_default();
            if word.is_empty() {
                return Ok(text.to_string());
            }
            text.strip_prefix(word)
                .and_then(|r| r.strip_prefix(' '))
                .map(str::to_string)
                .ok_or_else(|| bad(n, format!("expected `{word} …`")))
        };
        if next(1, "")? != STATE_HEADER {
            return Err(bad(1, format!("not `{STATE_HEADER}`")));
        }
        let log_key = Ed25519Verifier::from_vkey(&next(2, "log-key")?)
            .map_err(|e| bad(2, format!("log key: {e}")))?;
        let genesis = urne_tlog::Hash::from_hex(&next(3, "genesis")?)
            .map_err(|_| bad(3, "genesis is not 64 hex digits".into()))?
            .0;
        let n: usize = next(4, "checkpoint")?
            .parse()
            .map_err(|_| bad(4, "checkpoint needs a byte count".into()))?;
        let note = lines.next().unwrap_or_default().to_vec();
        if note.len() != n {
            return Err(bad(
                5,
                format!("checkpoint is {} bytes, not {n}", note.len()),
            ));
        }
        let parsed = Note::parse(&note).map_err(|e| bad(5, e.to_string()))?;
        parsed
            .verify(&[&log_key as &dyn NoteVerifier])
            .map_err(|e| bad(5, format!("log signature: {e}")))?;
        let checkpoint = Checkpoint::parse(parsed.text()).map_err(|e| bad(5, e.to_string()))?;
        Ok(Some(VerifyState {
            log_key,
            genesis,
            last: Seen { note, checkpoint },
        }))
    }

    /// Replaces the file at `path` atomically and durably.
    pub fn write(&self, path: &Path) -> Result<(), StateFileError> {
        write_atomic(path, &self.encode())
    }
}

/// Writes `bytes` to `path` via a temporary file and a rename, with fsyncs.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StateFileError> {
    let io = |source| StateFileError::Io {
        path: path.display().to_string(),
        source,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{}.tmp", name.unwrap_or_default()));
    let mut file = std::fs::File::create(&tmp).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io)?;
    Ok(())
}
