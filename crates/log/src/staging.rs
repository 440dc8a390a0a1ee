//! The staging bundle: every tile and entry bundle of one batch, written durably *before* the
//! checkpoint row is swapped, so that a crash after the swap can finish writing the tiles.
//!
//! Encoding (version 1, big-endian, hand-written so that it never changes by accident):
//!
//! ```text
//! "urne-staging/v1\n"
//! u64 tree size | 32-byte root hash | u32 item count
//! item count × ( u16 key length | key bytes | u32 value length | value bytes )
//! ```
//!
//! The bundle is private to the operator (it is not under `log/`), and it is only ever applied
//! when its size and root equal those of the checkpoint the store holds, which the log key
//! signed: a tampered bundle cannot produce tiles that pass the root check in recovery.

use urne_tlog::Hash;

const MAGIC: &[u8] = b"urne-staging/v1\n";

/// Upper bound on items in one bundle: a batch touches at most a few tiles per level and one
/// entry bundle per 256 entries.
const ITEMS_MAX: u32 = 1 << 20;

/// One staged batch.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Staged {
    pub size: u64,
    pub root: Hash,
    /// `(blob key, bytes)` in the order they must be written.
    pub items: Vec<(String, Vec<u8>)>,
}

#[derive(Debug, thiserror::Error)]
#[error("staging bundle is malformed: {0}")]
pub(crate) struct StagingError(&'static str);

pub(crate) fn encode(size: u64, root: &Hash, items: &[(String, &[u8])]) -> Vec<u8> {
    let body: usize = items.iter().map(|(k, v)| 6 + k.len() + v.len()).sum();
    let mut out = Vec::with_capacity(MAGIC.len() + 44 + body);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&size.to_be_bytes());
    out.extend_from_slice(&root.0);
    let count = u32::try_from(items.len()).expect("batch items fit in u32");
    out.extend_from_slice(&count.to_be_bytes());
    for (key, value) in items {
        let key_len = u16::try_from(key.len()).expect("blob keys are short");
        let value_len = u32::try_from(value.len()).expect("tiles and bundles are < 4 GiB");
        out.extend_from_slice(&key_len.to_be_bytes());
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(&value_len.to_be_bytes());
        out.extend_from_slice(value);
    }
    out
}

pub(crate) fn decode(bytes: &[u8]) -> Result<Staged, StagingError> {
    let mut r = Reader(bytes);
    if r.take(MAGIC.len())? != MAGIC {
        return Err(StagingError("bad magic"));
    }
    let size = u64::from_be_bytes(r.array()?);
    let root = Hash(r.array()?);
    let count = u32::from_be_bytes(r.array()?);
    if count > ITEMS_MAX {
        return Err(StagingError("too many items"));
    }
    let mut items = Vec::new();
    for _ in 0..count {
        let key_len = u16::from_be_bytes(r.array()?) as usize;
        let key = std::str::from_utf8(r.take(key_len)?)
            .map_err(|_| StagingError("key is not UTF-8"))?
            .to_owned();
        if !key.starts_with("log/tile/") {
            return Err(StagingError("key outside log/tile/"));
        }
        let value_len = u32::from_be_bytes(r.array()?) as usize;
        items.push((key, r.take(value_len)?.to_vec()));
    }
    if !r.0.is_empty() {
        return Err(StagingError("trailing bytes"));
    }
    Ok(Staged { size, root, items })
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], StagingError> {
        if self.0.len() < n {
            return Err(StagingError("truncated"));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], StagingError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_golden_bytes() {
        let root = Hash([7; 32]);
        let items = [("log/tile/0/000.p/1".to_owned(), &b"ab"[..])];
        let bytes = encode(1, &root, &items);
        let mut golden = b"urne-staging/v1\n".to_vec();
        golden.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1]);
        golden.extend_from_slice(&[7; 32]);
        golden.extend_from_slice(&[0, 0, 0, 1, 0, 18]);
        golden.extend_from_slice(b"log/tile/0/000.p/1");
        golden.extend_from_slice(&[0, 0, 0, 2, b'a', b'b']);
        assert_eq!(bytes, golden);
        let staged = decode(&bytes).unwrap();
        assert_eq!(staged.size, 1);
        assert_eq!(staged.items, vec![(items[0].0.clone(), b"ab".to_vec())]);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let items = [("log/tile/entries/000.p/1".to_owned(), &b"xyz"[..])];
        let bytes = encode(3, &Hash([1; 32]), &items);
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(decode(&long).is_err());
    }

    #[test]
    fn keys_outside_the_tile_tree_are_refused() {
        let items = [("log/checkpoint".to_owned(), &b"x"[..])];
        let bytes = encode(3, &Hash([1; 32]), &items);
        assert!(decode(&bytes).is_err());
    }
}
