//! RFC 6962 §2.1 / RFC 9162 §2.1.1 Merkle tree hashing with SHA-256.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

/// Bytes in a SHA-256 hash.
pub const HASH_BYTES: usize = 32;

/// A SHA-256 Merkle tree hash. Shown as lowercase hex by `Debug` and `Display`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; HASH_BYTES]);

/// A hash that failed to decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HashError {
    /// The text is not canonical standard base64 (RFC 4648 §4, padded).
    #[error("hash is not canonical padded base64")]
    Base64,
    /// The text is not 64 lowercase hex digits.
    #[error("hash is not 64 lowercase hex digits")]
    Hex,
    /// The decoded bytes are not 32 long.
    #[error("hash is {0} bytes, want 32")]
    Length(usize),
}

impl Hash {
    /// Copies a hash out of exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Hash, HashError> {
        let array: [u8; HASH_BYTES] = bytes
            .try_into()
            .map_err(|_| HashError::Length(bytes.len()))?;
        Ok(Hash(array))
    }

    /// Standard padded base64 (RFC 4648 §4), as in checkpoints.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// Parses standard padded base64 of exactly 32 bytes. Non-canonical
    /// encodings (stray trailing bits) are rejected so every hash has one text.
    pub fn from_base64(text: &str) -> Result<Hash, HashError> {
        // 32 bytes encode to 44 characters; refuse anything else before decoding.
        if text.len() != 44 {
            return Err(HashError::Base64);
        }
        let bytes = STANDARD.decode(text).map_err(|_| HashError::Base64)?;
        let hash = Hash::from_slice(&bytes)?;
        if hash.to_base64() != text {
            return Err(HashError::Base64);
        }
        Ok(hash)
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        self.to_string()
    }

    /// Parses 64 lowercase hex digits.
    pub fn from_hex(text: &str) -> Result<Hash, HashError> {
        let bytes = text.as_bytes();
        if bytes.len() != 2 * HASH_BYTES {
            return Err(HashError::Hex);
        }
        let mut out = [0u8; HASH_BYTES];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            out[i] = (hex_digit(pair[0])? << 4) | hex_digit(pair[1])?;
        }
        Ok(Hash(out))
    }
}

fn hex_digit(c: u8) -> Result<u8, HashError> {
    match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        _ => Err(HashError::Hex),
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({self})")
    }
}

/// RFC 6962 §2.1: `MTH({d(0)}) = SHA-256(0x00 || d(0))`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(entry);
    Hash(h.finalize().into())
}

/// RFC 6962 §2.1: `MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut buf = [0u8; 1 + 2 * HASH_BYTES];
    buf[0] = 0x01;
    buf[1..33].copy_from_slice(&left.0);
    buf[33..].copy_from_slice(&right.0);
    Hash(Sha256::digest(buf).into())
}

/// RFC 6962 §2.1: the hash of an empty list is SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    Hash(Sha256::digest([]).into())
}

/// RFC 6962 §2.1: MTH of a list of subtree hashes, splitting at the largest
/// power of two smaller than the length. Used inside tiles, where `hashes` are
/// the hashes of equal-sized complete subtrees.
pub(crate) fn subtree_root(hashes: &[Hash]) -> Hash {
    match hashes.len() {
        0 => empty_root(),
        1 => hashes[0],
        n => {
            let k = largest_power_of_two_below(n as u64) as usize;
            node_hash(&subtree_root(&hashes[..k]), &subtree_root(&hashes[k..]))
        }
    }
}

/// RFC 6962 §2.1: k is the largest power of two smaller than n (n > 1).
pub(crate) fn largest_power_of_two_below(n: u64) -> u64 {
    debug_assert!(n > 1);
    1u64 << (63 - (n - 1).leading_zeros())
}
