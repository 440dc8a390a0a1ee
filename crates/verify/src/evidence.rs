//! Split-view evidence: two checkpoints signed by the same log key that cannot both be true.
//!
//! An evidence file is self-contained and checked offline (`urne verify --evidence FILE`): it
//! holds the log's verifier key, the two signed checkpoint notes exactly as served, in the
//! order they were seen, and a consistency path computed from the larger tree. Format
//! `urne-evidence/v1`, every line ending in `\n`:
//!
//! ```text
//! urne-evidence/v1
//! log-key <vkey of the log: origin+keyid+base64>
//! first <N>
//! <N bytes: the signed checkpoint note seen first>
//! second <M>
//! <M bytes: the signed checkpoint note seen later>
//! proof <K>
//! <K lines: base64 SHA-256 hashes>
//! ```
//!
//! The proof is the RFC 9162 §2.1.4 consistency proof from the smaller tree size to the larger,
//! computed from the larger tree, with one change: when the smaller size is a power of two the
//! proof omits the old root, and here it is written out as the first hash (the node the larger
//! tree has there). Hashing the path up then yields two roots: the larger must equal the larger
//! checkpoint's root (so the path is the log's own data, authenticated by its signature), and
//! the smaller then *is* the root the larger tree has at the smaller size. If that differs from
//! the smaller checkpoint's root, no valid history contains both checkpoints (SHA-256 collision
//! resistance): the log forked.
//!
//! Verdicts ([`Evidence::check`]):
//! * [`Verdict::Fork`]: both signatures verify under the key, same origin, and either the
//!   sizes are equal with different roots, or the path proves the prefix roots differ.
//! * [`Verdict::Rollback`]: both verify, the second is smaller than the first, and the file
//!   cannot show a fork (no path, or the smaller tree is a prefix of the larger): the log
//!   served an older state after a newer one. That is what the observer saw; the two notes
//!   alone do not prove the order (checkpoints carry no time).
//! * Anything else is an [`EvidenceError`]: not evidence of misbehaviour.
//!
//! Pure: bytes in, verdicts out.

use urne_tlog::note::{Ed25519Verifier, Note, NoteVerifier as _};
use urne_tlog::{Checkpoint, Hash, ProofError, TileSource, consistency_proof};

/// The first line of an evidence file.
pub const EVIDENCE_HEADER: &str = "urne-evidence/v1";
/// Bytes in an evidence file (two notes of at most 1 MB and a short proof).
pub const EVIDENCE_BYTES_MAX: usize = 2 * urne_tlog::note::NOTE_BYTES_MAX + 16 * 1024;
/// Hashes in the proof: RFC 9162's bound plus the written-out old root.
pub const EVIDENCE_PROOF_HASHES_MAX: usize = urne_tlog::proof::CONSISTENCY_PROOF_HASHES_MAX + 1;

/// Two signed checkpoints of one log and a path between them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    /// The log's verifier key string.
    pub log_key: String,
    /// The signed note seen first, byte for byte.
    pub first: Vec<u8>,
    /// The signed note seen second.
    pub second: Vec<u8>,
    /// The full consistency path from the smaller size to the larger (see the module docs);
    /// empty when the sizes are equal or no path could be computed.
    pub proof: Vec<Hash>,
}

/// What valid evidence shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Proven: the log signed two checkpoints no single history contains.
    Fork {
        /// Origin line of both checkpoints.
        origin: String,
        /// The two sizes (first, second).
        sizes: (u64, u64),
        /// How it is proven.
        how: ForkProof,
    },
    /// The second checkpoint is smaller than the first, and no fork is shown.
    Rollback {
        /// Origin line of both checkpoints.
        origin: String,
        /// The two sizes (first, second).
        sizes: (u64, u64),
    },
}

/// How a fork is proven.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForkProof {
    /// Same size, different roots.
    SameSizeDifferentRoots,
    /// The larger tree's path gives another root at the smaller size.
    PrefixRootDiffers,
}

/// An evidence file that is malformed or shows no misbehaviour.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvidenceError {
    /// Not an `urne-evidence/v1` file.
    #[error("evidence line {line}: {what}")]
    Malformed {
        /// 1-based line.
        line: usize,
        /// What is wrong.
        what: String,
    },
    /// A checkpoint is not signed by the key in the file (or the note is malformed).
    #[error("the {which} checkpoint: {why}")]
    NotSigned {
        /// `first` or `second`.
        which: &'static str,
        /// Why.
        why: String,
    },
    /// The two checkpoints name different logs.
    #[error("the checkpoints have different origins ({0:?} and {1:?})")]
    OriginMismatch(String, String),
    /// The key in the file is not the one the caller trusts for this log.
    #[error("the evidence is for log key {got}, not {want}")]
    WrongKey {
        /// The key in the file.
        got: String,
        /// The key the caller asked for.
        want: String,
    },
    /// The two checkpoints are consistent: this is not evidence.
    #[error("the checkpoints are consistent (sizes {0} and {1}): no misbehaviour shown")]
    Consistent(u64, u64),
    /// The checkpoints differ in size and the file has no path authenticated by the larger
    /// root, so it cannot show they are inconsistent.
    #[error(
        "sizes {0} and {1}: the proof does not lead to the larger checkpoint's root, so it shows nothing"
    )]
    Inconclusive(u64, u64),
}

impl Evidence {
    /// The `urne-evidence/v1` bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = format!("{EVIDENCE_HEADER}\nlog-key {}\n", self.log_key).into_bytes();
        out.extend_from_slice(format!("first {}\n", self.first.len()).as_bytes());
        out.extend_from_slice(&self.first);
        out.extend_from_slice(format!("second {}\n", self.second.len()).as_bytes());
        out.extend_from_slice(&self.second);
        out.extend_from_slice(format!("proof {}\n", self.proof.len()).as_bytes());
        for h in &self.proof {
            out.extend_from_slice(h.to_base64().as_bytes());
            out.push(b'\n');
        }
        out
    }

    /// Parses the canonical encoding only (`parse(b)?.encode() == b`).
    pub fn parse(bytes: &[u8]) -> Result<Evidence, EvidenceError> {
        if bytes.len() > EVIDENCE_BYTES_MAX {
            return Err(malformed(
                0,
                format!("longer than {EVIDENCE_BYTES_MAX} bytes"),
            ));
        }
        let mut r = Reader {
            rest: bytes,
            line: 0,
        };
        if r.line()? != EVIDENCE_HEADER {
            return Err(malformed(1, format!("not `{EVIDENCE_HEADER}`")));
        }
        let log_key = r.keyword("log-key")?.to_string();
        let n = r.count("first")?;
        let first = r.bytes(n)?.to_vec();
        let n = r.count("second")?;
        let second = r.bytes(n)?.to_vec();
        let k = r.count("proof")?;
        if k > EVIDENCE_PROOF_HASHES_MAX {
            return Err(malformed(
                r.line,
                format!("more than {EVIDENCE_PROOF_HASHES_MAX} hashes"),
            ));
        }
        let mut proof = Vec::with_capacity(k);
        for _ in 0..k {
            let line = r.line()?;
            let hash = Hash::from_base64(line)
                .map_err(|_| malformed(r.line, "not a base64 SHA-256 hash".into()))?;
            proof.push(hash);
        }
        if !r.rest.is_empty() {
            return Err(malformed(r.line + 1, "text after the proof".into()));
        }
        let evidence = Evidence {
            log_key,
            first,
            second,
            proof,
        };
        if evidence.encode() != bytes {
            return Err(malformed(0, "not in canonical form".into()));
        }
        Ok(evidence)
    }

    /// Checks the evidence offline. With `trusted`, the file's key must be that key.
    pub fn check(&self, trusted: Option<&Ed25519Verifier>) -> Result<Verdict, EvidenceError> {
        let key =
            Ed25519Verifier::from_vkey(&self.log_key).map_err(|e| EvidenceError::Malformed {
                line: 2,
                what: format!("log key: {e}"),
            })?;
        if let Some(t) = trusted
            && t.vkey() != key.vkey()
        {
            return Err(EvidenceError::WrongKey {
                got: key.vkey(),
                want: t.vkey(),
            });
        }
        let a = open("first", &self.first, &key)?;
        let b = open("second", &self.second, &key)?;
        if a.origin != b.origin {
            return Err(EvidenceError::OriginMismatch(a.origin, b.origin));
        }
        let sizes = (a.size, b.size);
        let origin = a.origin.clone();
        let fork = |how| Verdict::Fork {
            origin: origin.clone(),
            sizes,
            how,
        };
        if a.size == b.size {
            return if a.root != b.root {
                Ok(fork(ForkProof::SameSizeDifferentRoots))
            } else {
                Err(EvidenceError::Consistent(a.size, b.size))
            };
        }
        let (small, large) = if a.size < b.size { (&a, &b) } else { (&b, &a) };
        let rollback = b.size < a.size;
        match implied_roots(small.size, large.size, &self.proof) {
            Ok((prefix, root)) if root == large.root => {
                if prefix != small.root {
                    Ok(fork(ForkProof::PrefixRootDiffers))
                } else if rollback {
                    Ok(Verdict::Rollback { origin, sizes })
                } else {
                    Err(EvidenceError::Consistent(a.size, b.size))
                }
            }
            _ if rollback => Ok(Verdict::Rollback { origin, sizes }),
            _ => Err(EvidenceError::Inconclusive(a.size, b.size)),
        }
    }
}

/// The full consistency path (see the module docs) from `small` to `large`, read from tiles
/// of the tree of size `large`.
pub fn full_path<S: TileSource + ?Sized>(
    small: u64,
    large: u64,
    tiles: &S,
) -> Result<Vec<Hash>, ProofError> {
    let mut path = Vec::new();
    if small == 0 || small >= large {
        return Ok(path);
    }
    if small.is_power_of_two() {
        path.push(urne_tlog::root_from_tiles(small, tiles)?);
    }
    path.extend(consistency_proof(small, large, tiles)?);
    Ok(path)
}

/// RFC 9162 §2.1.4.2's loop over a full path: the roots at sizes `small` and `large` it
/// implies (`urne_tlog::implied_roots`, with evidence's own length limit). `0 < small < large`.
pub fn implied_roots(small: u64, large: u64, path: &[Hash]) -> Result<(Hash, Hash), ProofError> {
    if small == 0 || small >= large {
        return Err(ProofError::OldLargerThanNew {
            old: small,
            new: large,
        });
    }
    if path.len() > EVIDENCE_PROOF_HASHES_MAX {
        return Err(ProofError::WrongLength);
    }
    urne_tlog::implied_roots(small, large, path)
}

/// Verifies a signed checkpoint note under `key`, whose name must be the origin.
fn open(
    which: &'static str,
    bytes: &[u8],
    key: &Ed25519Verifier,
) -> Result<Checkpoint, EvidenceError> {
    let not_signed = |why: String| EvidenceError::NotSigned { which, why };
    let note = Note::parse(bytes).map_err(|e| not_signed(e.to_string()))?;
    let verified = note
        .verify(&[key as &dyn urne_tlog::note::NoteVerifier])
        .map_err(|e| not_signed(e.to_string()))?;
    let checkpoint = Checkpoint::parse(verified.text()).map_err(|e| not_signed(e.to_string()))?;
    if checkpoint.origin != key.name() {
        return Err(not_signed(format!(
            "origin {:?} is not the key's name {:?}",
            checkpoint.origin,
            key.name()
        )));
    }
    Ok(checkpoint)
}

fn malformed(line: usize, what: String) -> EvidenceError {
    EvidenceError::Malformed { line, what }
}

struct Reader<'a> {
    rest: &'a [u8],
    line: usize,
}

impl<'a> Reader<'a> {
    fn line(&mut self) -> Result<&'a str, EvidenceError> {
        self.line += 1;
        let end = self
            .rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| malformed(self.line, "missing or unterminated line".into()))?;
        let (line, rest) = self.rest.split_at(end);
        self.rest = &rest[1..];
        std::str::from_utf8(line).map_err(|_| malformed(self.line, "not UTF-8".into()))
    }

    fn keyword(&mut self, word: &str) -> Result<&'a str, EvidenceError> {
        let line = self.line()?;
        line.strip_prefix(word)
            .and_then(|r| r.strip_prefix(' '))
            .ok_or_else(|| malformed(self.line, format!("expected `{word} …`")))
    }

    fn count(&mut self, word: &str) -> Result<usize, EvidenceError> {
        let text = self.keyword(word)?;
        let ok = !text.is_empty()
            && text.bytes().all(|b| b.is_ascii_digit())
            && (text == "0" || !text.starts_with('0'));
        ok.then(|| text.parse().ok())
            .flatten()
            .ok_or_else(|| malformed(self.line, format!("`{word}` needs a decimal count")))
    }

    fn bytes(&mut self, n: usize) -> Result<&'a [u8], EvidenceError> {
        if n > self.rest.len() {
            return Err(malformed(self.line + 1, "file ends inside a note".into()));
        }
        let (bytes, rest) = self.rest.split_at(n);
        self.line += bytes.iter().filter(|&&b| b == b'\n').count();
        self.rest = rest;
        Ok(bytes)
    }
}
