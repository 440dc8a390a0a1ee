//! The `roll-digest` payload for the public log: counts of changes by reason over a period, the
//! roll's size, a commitment to its state, and the audit chain's tip. No PII.
//!
//! The commitment is an RFC 6962 Merkle tree hash over the records' commitments in ascending
//! order, where a record's commitment is SHA-256 over its *sealed* bytes. Sealed bytes carry
//! random nonces, so a commitment cannot be tested against guessed names and birth dates, as a
//! hash of plaintext could.
//!
//! Encoding (`urne roll-digest v1`), UTF-8 text, one field a line, `\n` endings, counts sorted
//! by reason code and zero counts omitted:
//!
//! ```text
//! urne roll-digest v1
//! roll <roll id>
//! period <start unix seconds> <end unix seconds>
//! records <n>
//! root <64 hex>
//! audit <events> <64 hex>
//! access <events> <64 hex>
//! count <reason name> <n>
//! ```

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::audit::{ChangeKind, Hash, ReasonCode, Tip, UnixSeconds};
use crate::error::{DecodeError, InvalidField};
use crate::limits::{DIGEST_BYTES_MAX, ROLL_ID_BYTES_MAX};

const HEADER: &str = "urne roll-digest v1";

/// A record's commitment: SHA-256 over a domain tag and its sealed bytes.
pub fn record_commitment(sealed_bytes: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update(b"urne-roll/v1/record\0");
    h.update(sealed_bytes);
    h.finalize().into()
}

/// Builds the RFC 6962 Merkle tree hash over commitments fed in strictly ascending order, in
/// O(log n) memory, so a store can stream 22.6M commitments `ORDER BY` from the database.
#[derive(Debug, Default, Clone)]
pub struct RootBuilder {
    /// Roots of full subtrees, with their heights, largest first.
    stack: Vec<(u32, Hash)>,
    last: Option<Hash>,
    leaves: u64,
}

/// Commitments were not fed in strictly ascending order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("record commitment {position} is not greater than the one before (unsorted or duplicate)")]
pub struct Unsorted {
    /// Zero-based position of the offending commitment.
    pub position: u64,
}

fn node(l: &Hash, r: &Hash) -> Hash {
    // RFC 6962 §2.1: MTH = SHA-256(0x01 || left || right).
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(l);
    h.update(r);
    h.finalize().into()
}

impl RootBuilder {
    /// Adds the next commitment.
    pub fn push(&mut self, commitment: Hash) -> Result<(), Unsorted> {
        if self.last.is_some_and(|l| l >= commitment) {
            return Err(Unsorted {
                position: self.leaves,
            });
        }
        self.last = Some(commitment);
        self.leaves += 1;
        // RFC 6962 §2.1: leaf hash = SHA-256(0x00 || leaf).
        let mut h = Sha256::new();
        h.update([0u8]);
        h.update(commitment);
        let mut cur = (0u32, h.finalize().into());
        while let Some(&(height, left)) = self.stack.last() {
            if height != cur.0 {
                break;
            }
            self.stack.pop();
            cur = (height + 1, node(&left, &cur.1));
        }
        self.stack.push(cur);
        Ok(())
    }
    /// The root and the number of records. The empty tree's root is SHA-256 of nothing.
    pub fn finish(&self) -> (Hash, u64) {
        let mut iter = self.stack.iter().rev();
        let Some(&(_, mut acc)) = iter.next() else {
            return (Sha256::digest(b"").into(), 0);
        };
        for (_, left) in iter {
            acc = node(left, &acc);
        }
        (acc, self.leaves)
    }
}

/// Root over commitments in any order (sorts a copy).
pub fn roll_root(commitments: &[Hash]) -> Result<(Hash, u64), Unsorted> {
    let mut sorted = commitments.to_vec();
    sorted.sort_unstable();
    let mut b = RootBuilder::default();
    for c in sorted {
        b.push(c)?;
    }
    Ok(b.finish())
}

/// The digest released into the public log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollDigest {
    /// The roll (jurisdiction) id.
    pub roll_id: String,
    /// Period start, inclusive.
    pub period_start: UnixSeconds,
    /// Period end, exclusive.
    pub period_end: UnixSeconds,
    /// Records in the roll at the end of the period (any status).
    pub records: u64,
    /// Merkle root over record commitments.
    pub root: Hash,
    /// The change history's tip at the end of the period.
    pub audit: Tip,
    /// The access log's tip at the end of the period: publishing it makes deleting a record of
    /// a PII read detectable, while the log itself stays private.
    pub access: Tip,
    /// Changes in the period by reason; zero counts absent.
    pub counts: BTreeMap<ReasonCode, u64>,
}

impl RollDigest {
    /// Total changes of one kind in the period.
    pub fn total(&self, kind: ChangeKind) -> u64 {
        self.counts
            .iter()
            .filter(|(r, _)| r.kind() == kind)
            .map(|(_, n)| n)
            .sum()
    }

    /// The canonical text. Refuses a roll id that is empty, too long, or not made of ASCII
    /// letters, digits and `. _ : / -` (a space or newline would make the text ambiguous).
    pub fn encode(&self) -> Result<String, InvalidField> {
        let id_ok = self
            .roll_id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"._:/-".contains(&c));
        if self.roll_id.is_empty() || !id_ok {
            return Err(InvalidField::Malformed {
                field: "roll_id",
                why: "letters, digits, . _ : / - only",
            });
        }
        if self.roll_id.len() > ROLL_ID_BYTES_MAX {
            return Err(InvalidField::TooLong {
                field: "roll_id",
                max: ROLL_ID_BYTES_MAX,
            });
        }
        Ok(self.encode_unchecked())
    }

    fn encode_unchecked(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(s, "{HEADER}");
        let _ = writeln!(s, "roll {}", self.roll_id);
        let _ = writeln!(s, "period {} {}", self.period_start, self.period_end);
        let _ = writeln!(s, "records {}", self.records);
        let _ = writeln!(s, "root {}", hex(&self.root));
        let _ = writeln!(s, "audit {} {}", self.audit.len, hex(&self.audit.head));
        let _ = writeln!(s, "access {} {}", self.access.len, hex(&self.access.head));
        let mut counts: Vec<_> = self.counts.iter().filter(|(_, n)| **n > 0).collect();
        counts.sort_by_key(|(r, _)| r.code());
        for (r, n) in counts {
            let _ = writeln!(s, "count {} {n}", r.name());
        }
        s
    }

    /// Parses the canonical text strictly: it must re-encode to the same bytes.
    pub fn decode(text: &str) -> Result<RollDigest, DecodeError> {
        let bad = |why| {
            DecodeError::Invalid(InvalidField::Malformed {
                field: "roll-digest",
                why,
            })
        };
        if text.len() > DIGEST_BYTES_MAX {
            return Err(InvalidField::TooLong {
                field: "roll-digest",
                max: DIGEST_BYTES_MAX,
            }
            .into());
        }
        let mut lines = text
            .strip_suffix('\n')
            .ok_or(bad("missing final newline"))?
            .split('\n');
        if lines.next() != Some(HEADER) {
            return Err(DecodeError::BadHeader {
                what: "roll-digest",
            });
        }
        let mut field = |name: &str, n: usize| -> Result<Vec<String>, DecodeError> {
            let line = lines.next().ok_or(bad("missing line"))?;
            let rest = line
                .strip_prefix(name)
                .and_then(|r| r.strip_prefix(' '))
                .ok_or(bad("unexpected line"))?;
            let parts: Vec<String> = rest.split(' ').map(str::to_owned).collect();
            if parts.len() == n {
                Ok(parts)
            } else {
                Err(bad("wrong number of values"))
            }
        };
        let roll_id = field("roll", 1)?.remove(0);
        if roll_id.is_empty() || roll_id.len() > ROLL_ID_BYTES_MAX {
            return Err(bad("roll id empty or too long"));
        }
        let num = |s: &str| {
            s.parse::<u64>()
                .ok()
                .filter(|n| n.to_string() == s)
                .ok_or(bad("not a number"))
        };
        let p = field("period", 2)?;
        let (period_start, period_end) = (num(&p[0])?, num(&p[1])?);
        let records = num(&field("records", 1)?[0])?;
        let root = unhex(&field("root", 1)?[0]).ok_or(bad("root is not 64 hex digits"))?;
        let a = field("audit", 2)?;
        let audit = Tip {
            len: num(&a[0])?,
            head: unhex(&a[1]).ok_or(bad("audit head is not 64 hex digits"))?,
        };
        let a = field("access", 2)?;
        let access = Tip {
            len: num(&a[0])?,
            head: unhex(&a[1]).ok_or(bad("access head is not 64 hex digits"))?,
        };
        let names: BTreeMap<String, ReasonCode> = ReasonCode::all()
            .into_iter()
            .map(|r| (r.name(), r))
            .collect();
        let mut counts = BTreeMap::new();
        for line in lines {
            let mut it = line.split(' ');
            let (Some("count"), Some(name), Some(n), None) =
                (it.next(), it.next(), it.next(), it.next())
            else {
                return Err(bad("unexpected line"));
            };
            let reason = *names.get(name).ok_or(bad("unknown reason"))?;
            counts.insert(reason, num(n)?);
        }
        let d = RollDigest {
            roll_id,
            period_start,
            period_end,
            records,
            root,
            audit,
            access,
            counts,
        };
        if d.encode().ok().as_deref() != Some(text) {
            return Err(bad("not in canonical form (order, zero counts, spacing)"));
        }
        Ok(d)
    }
}

/// Lower-case hex.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Hash> {
    if s.len() != 64 || !s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}
