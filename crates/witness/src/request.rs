//! The `add-checkpoint` request body (c2sp.org/tlog-witness), parsed by hand.
//!
//! This module is pure: bytes in, a typed request or a [`RequestError`] out.

use urne_tlog::note::Note;
use urne_tlog::{Checkpoint, Hash};

/// Bytes in an `add-checkpoint` request body. A real request is an old size line (≤ 25 bytes),
/// at most 63 proof lines of 45 bytes, a blank line and a checkpoint (≤ 8 KiB of text) with a
/// handful of signature lines; 64 KiB leaves room for about 400 signature lines with long key
/// names. Larger bodies are refused with 400 before they are read in full.
pub const BODY_BYTES_MAX: usize = 64 * 1024;

/// Consistency proof lines. tlog-witness: "The client MUST NOT send more than 63 consistency
/// proof lines."
pub const PROOF_LINES_MAX: usize = 63;

/// Largest tree size the witness accepts: sizes are stored as SQLite `INTEGER` (i64). A log
/// would need 2^63 entries to reach it.
pub const TREE_SIZE_MAX: u64 = i64::MAX as u64;

/// A parsed `add-checkpoint` body. The checkpoint signatures are not checked yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The `old <size>` line: the size of the latest checkpoint the client believes the
    /// witness cosigned.
    pub old: u64,
    /// Consistency proof hashes from `old` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note as sent.
    pub note: Note,
    /// The checkpoint body parsed from the note text.
    pub checkpoint: Checkpoint,
}

/// A request body that is not a well-formed `add-checkpoint` request (400 Bad Request).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    #[error("body is longer than {BODY_BYTES_MAX} bytes")]
    TooLong,
    #[error("body is not valid UTF-8")]
    NotUtf8,
    #[error("body line {0} does not end with a newline")]
    NoNewline(usize),
    #[error("line 1 is not `old <size>` with a decimal size without leading zeros")]
    OldLine,
    #[error("line {0} is not a base64 SHA-256 hash")]
    ProofLine(usize),
    #[error("more than {PROOF_LINES_MAX} consistency proof lines")]
    ProofTooLong,
    #[error("checkpoint note: {0}")]
    Note(#[from] urne_tlog::note::NoteError),
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] urne_tlog::CheckpointError),
    #[error("tree size {0} is over the limit of {TREE_SIZE_MAX}")]
    SizeTooLarge(u64),
}

impl AddCheckpoint {
    /// Parses a request body: an `old` line, zero or more proof lines, an empty line, then the
    /// signed checkpoint note.
    pub fn parse(body: &[u8]) -> Result<AddCheckpoint, RequestError> {
        if body.len() > BODY_BYTES_MAX {
            return Err(RequestError::TooLong);
        }
        let text = std::str::from_utf8(body).map_err(|_| RequestError::NotUtf8)?;
        // tlog-witness: "Each line MUST terminate in a newline character (U+000A)."
        let (first, mut rest) = text.split_once('\n').ok_or(RequestError::NoNewline(1))?;
        let old = parse_old_line(first).ok_or(RequestError::OldLine)?;
        let mut proof = Vec::new();
        let mut line_number = 1;
        loop {
            line_number += 1;
            let (line, after) = rest
                .split_once('\n')
                .ok_or(RequestError::NoNewline(line_number))?;
            rest = after;
            if line.is_empty() {
                break;
            }
            if proof.len() == PROOF_LINES_MAX {
                return Err(RequestError::ProofTooLong);
            }
            // tlog-witness: "Each consistency proof line MUST encode a single hash in base64."
            let hash = Hash::from_base64(line).map_err(|_| RequestError::ProofLine(line_number))?;
            proof.push(hash);
        }
        let note = Note::parse(rest.as_bytes())?;
        let checkpoint = Checkpoint::parse(note.text())?;
        if checkpoint.size > TREE_SIZE_MAX {
            return Err(RequestError::SizeTooLarge(checkpoint.size));
        }
        Ok(AddCheckpoint {
            old,
            proof,
            note,
            checkpoint,
        })
    }

    /// The request body for these parts (what a log sends; used by tests and clients).
    pub fn body(old: u64, proof: &[Hash], note: &Note) -> String {
        let mut out = format!("old {old}\n");
        for hash in proof {
            out.push_str(&hash.to_base64());
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&note.to_text());
        out
    }
}

/// tlog-witness: "`old`, a single space (0x20), and the tree size of the previous checkpoint
/// encoded as an ASCII decimal with no leading zeroes (unless the size is zero, in which case
/// the encoding MUST be `0`)."
fn parse_old_line(line: &str) -> Option<u64> {
    let digits = line.strip_prefix("old ")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return None;
    }
    let size: u64 = digits.parse().ok()?;
    (size <= TREE_SIZE_MAX).then_some(size)
}
