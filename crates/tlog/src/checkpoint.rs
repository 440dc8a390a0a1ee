//! c2sp.org/tlog-checkpoint note bodies.

use crate::hash::Hash;

/// Bytes in a checkpoint body.
pub const CHECKPOINT_BYTES_MAX: usize = 8 * 1024;
/// Bytes in the origin line.
pub const ORIGIN_BYTES_MAX: usize = 1024;
/// Extension lines in a checkpoint.
pub const EXTENSION_LINES_MAX: usize = 16;

/// A checkpoint body: origin, tree size, root hash, extension lines.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Checkpoint {
    /// tlog-checkpoint line 1: the log identity, e.g. `results.example.gov/log`.
    pub origin: String,
    /// tlog-checkpoint line 2: the number of leaves.
    pub size: u64,
    /// tlog-checkpoint line 3: the RFC 6962 root hash.
    pub root: Hash,
    /// tlog-checkpoint lines 4..: opaque, non-empty extension lines.
    pub extensions: Vec<String>,
}

/// A checkpoint body that is not canonical tlog-checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    #[error("checkpoint is longer than {CHECKPOINT_BYTES_MAX} bytes")]
    TooLong,
    #[error("checkpoint does not end with a newline")]
    NoFinalNewline,
    #[error("checkpoint has fewer than three lines")]
    TooFewLines,
    #[error("line {line}: {what}")]
    Line { line: usize, what: &'static str },
    #[error("checkpoint has more than {EXTENSION_LINES_MAX} extension lines")]
    TooManyExtensions,
}

impl Checkpoint {
    /// The note text: `origin\nsize\nbase64(root)\n` then each extension line.
    pub fn body(&self) -> String {
        let mut out = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        );
        for line in &self.extensions {
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    /// Checks what [`Checkpoint::parse`] checks, for a checkpoint about to be
    /// signed (assert invariants on both sides of a boundary).
    pub fn check(&self) -> Result<(), CheckpointError> {
        let body = self.body();
        let parsed = Checkpoint::parse(&body)?;
        if parsed != *self {
            return Err(CheckpointError::Line {
                line: 1,
                what: "fields contain newlines",
            });
        }
        Ok(())
    }

    /// Parses a checkpoint body (the note text, without signatures).
    pub fn parse(text: &str) -> Result<Checkpoint, CheckpointError> {
        if text.len() > CHECKPOINT_BYTES_MAX {
            return Err(CheckpointError::TooLong);
        }
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::NoFinalNewline)?;
        let lines: Vec<&str> = body.split('\n').collect();
        if lines.len() < 3 {
            return Err(CheckpointError::TooFewLines);
        }
        if lines.len() - 3 > EXTENSION_LINES_MAX {
            return Err(CheckpointError::TooManyExtensions);
        }
        for (i, line) in lines.iter().enumerate() {
            // signed-note: no ASCII control characters other than newline.
            if line.chars().any(|c| (c as u32) < 0x20 || c == '\u{7f}') {
                return Err(line_error(i, "contains a control character"));
            }
            // tlog-checkpoint: the origin is non-empty; extension lines MUST be non-empty.
            if line.is_empty() {
                return Err(line_error(i, "is empty"));
            }
        }
        let origin = lines[0];
        if origin.len() > ORIGIN_BYTES_MAX {
            return Err(line_error(0, "origin is too long"));
        }
        let size = parse_size(lines[1]).ok_or(line_error(
            1,
            "tree size is not a decimal without leading zeros",
        ))?;
        let root = Hash::from_base64(lines[2])
            .map_err(|_| line_error(2, "root hash is not base64 of 32 bytes"))?;
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
            extensions: lines[3..].iter().map(|s| s.to_string()).collect(),
        })
    }
}

fn line_error(index: usize, what: &'static str) -> CheckpointError {
    CheckpointError::Line {
        line: index + 1,
        what,
    }
}

/// tlog-checkpoint: ASCII decimal, no leading zeroes unless the size is `0`.
fn parse_size(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if text.len() > 1 && text.starts_with('0') {
        return None;
    }
    text.parse().ok()
}
