//! c2sp.org/tlog-tiles coordinates, paths and entry bundles.
//!
//! Paths are relative to the log prefix: `tile/0/x001/x234/067`, never
//! `log/tile/...`.

use std::fmt;

use crate::hash::HASH_BYTES;

/// tlog-tiles: every tile spans 8 levels of the Merkle tree.
pub const TILE_HEIGHT: u32 = 8;
/// tlog-tiles: a full tile holds 256 hashes, a full bundle 256 entries.
pub const TILE_WIDTH: u16 = 256;
/// tlog-tiles: entries are big-endian uint16 length-prefixed, so at most 65,535 bytes.
pub const ENTRY_BYTES_MAX: usize = 65_535;
/// tlog-tiles: `<L>` is between 0 and 63.
pub const TILE_LEVEL_MAX: u8 = 63;
/// Bytes in a full tile (256 hashes of 32 bytes).
pub const TILE_BYTES_MAX: usize = TILE_WIDTH as usize * HASH_BYTES;
/// Bytes in the largest possible entry bundle (256 entries of 2 + 65,535 bytes).
pub const BUNDLE_BYTES_MAX: usize = TILE_WIDTH as usize * (2 + ENTRY_BYTES_MAX);
/// The longest canonical tile path: `tile/entries/` plus 7 index groups plus `.p/255`.
pub const TILE_PATH_BYTES_MAX: usize = 13 + 7 * 5 - 1 + 6;

/// A Merkle tree tile: `width` consecutive hashes at tree level `8 * level`,
/// starting at hash index `256 * index`. `width` is 1..=256; 256 is a full tile.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct TileId {
    /// tlog-tiles `<L>`, 0..=63.
    pub level: u8,
    /// tlog-tiles `<N>`, the tile's index within its level.
    pub index: u64,
    /// Number of hashes, 1..=256. 256 is a full tile, anything less a partial one.
    pub width: u16,
}

/// An entry bundle: `width` consecutive entries starting at entry `256 * index`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct BundleId {
    /// tlog-tiles `<N>`.
    pub index: u64,
    /// Number of entries, 1..=256. 256 is a full bundle.
    pub width: u16,
}

/// A tile path, bundle path or bundle that is not canonical tlog-tiles.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TilePathError {
    #[error("path is longer than {TILE_PATH_BYTES_MAX} bytes")]
    TooLong,
    #[error("path does not start with `tile/`")]
    Prefix,
    #[error("path is an entry bundle path, not a tile path")]
    IsBundle,
    #[error("path is a tile path, not an entry bundle path")]
    IsTile,
    #[error("level is not a decimal between 0 and 63 without leading zeros")]
    Level,
    #[error("index element {0:?} is not canonical (`xDDD/`... then `DDD`, no leading x000)")]
    Index(String),
    #[error("index does not fit in 64 bits")]
    IndexOverflow,
    #[error("partial width is not a decimal between 1 and 255 without leading zeros")]
    Width,
    #[error("unexpected path element {0:?}")]
    Trailing(String),
}

/// An entry bundle that cannot be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    #[error("entry {index} is {len} bytes, over the {ENTRY_BYTES_MAX}-byte limit")]
    EntryTooLong { index: usize, len: usize },
    #[error("bundle has {0} entries, over the 256-entry limit")]
    TooManyEntries(usize),
    #[error("bundle is empty; empty bundles are never served")]
    Empty,
    #[error("bundle is truncated inside entry {0}")]
    Truncated(usize),
}

impl TileId {
    /// The tile path, e.g. `tile/0/x001/x234/067` or `tile/2/000.p/5`.
    pub fn path(&self) -> String {
        format!(
            "tile/{}/{}{}",
            self.level,
            index_path(self.index),
            width_suffix(self.width)
        )
    }

    /// Parses a canonical tile path.
    pub fn parse(path: &str) -> Result<TileId, TilePathError> {
        let rest = strip_tile_prefix(path)?;
        let (level, rest) = rest.split_once('/').ok_or(TilePathError::Level)?;
        if level == "entries" {
            return Err(TilePathError::IsBundle);
        }
        let level = parse_decimal(level, TILE_LEVEL_MAX as u64).ok_or(TilePathError::Level)?;
        let (index, width) = parse_index_width(rest)?;
        Ok(TileId {
            level: level as u8,
            index,
            width,
        })
    }

    /// Whether this is a full (256-hash) tile.
    pub fn is_full(&self) -> bool {
        self.width == TILE_WIDTH
    }

    /// The tile's length in bytes: `width * 32`.
    pub fn byte_len(&self) -> usize {
        self.width as usize * HASH_BYTES
    }
}

impl BundleId {
    /// The bundle path, e.g. `tile/entries/x001/x234/067.p/8`.
    pub fn path(&self) -> String {
        format!(
            "tile/entries/{}{}",
            index_path(self.index),
            width_suffix(self.width)
        )
    }

    /// Parses a canonical entry bundle path.
    pub fn parse(path: &str) -> Result<BundleId, TilePathError> {
        let rest = strip_tile_prefix(path)?;
        let rest = match rest.strip_prefix("entries/") {
            Some(rest) => rest,
            None => return Err(TilePathError::IsTile),
        };
        let (index, width) = parse_index_width(rest)?;
        Ok(BundleId { index, width })
    }

    /// Whether this is a full (256-entry) bundle.
    pub fn is_full(&self) -> bool {
        self.width == TILE_WIDTH
    }
}

impl fmt::Display for TileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

impl fmt::Display for BundleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

fn strip_tile_prefix(path: &str) -> Result<&str, TilePathError> {
    if path.len() > TILE_PATH_BYTES_MAX {
        return Err(TilePathError::TooLong);
    }
    path.strip_prefix("tile/").ok_or(TilePathError::Prefix)
}

// tlog-tiles: `<N>` is zero-padded 3-digit path elements, all but the last
// beginning with `x`; 1234067 is `x001/x234/067`.
fn index_path(index: u64) -> String {
    let mut groups = vec![index % 1000];
    let mut n = index / 1000;
    while n > 0 {
        groups.push(n % 1000);
        n /= 1000;
    }
    let mut out = String::with_capacity(groups.len() * 5);
    for (i, group) in groups.iter().rev().enumerate() {
        if i + 1 < groups.len() {
            out.push_str(&format!("x{group:03}/"));
        } else {
            out.push_str(&format!("{group:03}"));
        }
    }
    out
}

fn width_suffix(width: u16) -> String {
    if width >= TILE_WIDTH {
        String::new()
    } else {
        format!(".p/{width}")
    }
}

/// Parses `xDDD/.../DDD[.p/W]`, rejecting every non-canonical spelling.
fn parse_index_width(rest: &str) -> Result<(u64, u16), TilePathError> {
    let mut elements: Vec<&str> = rest.split('/').collect();
    let mut width = TILE_WIDTH;
    if let Some(last) = elements.last().copied()
        && elements.len() >= 2
        && elements[elements.len() - 2].ends_with(".p")
    {
        // tlog-tiles: `<W>` is between 1 and 255 with no leading zeros.
        width = parse_decimal(last, 255)
            .filter(|w| *w >= 1)
            .ok_or(TilePathError::Width)? as u16;
        elements.pop();
        let n = elements.len();
        elements[n - 1] = elements[n - 1]
            .strip_suffix(".p")
            .unwrap_or(elements[n - 1]);
    }
    let count = elements.len();
    let mut index: u64 = 0;
    for (i, element) in elements.iter().enumerate() {
        let last = i + 1 == count;
        let digits = if last {
            *element
        } else {
            element
                .strip_prefix('x')
                .ok_or_else(|| TilePathError::Index(element.to_string()))?
        };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TilePathError::Index(element.to_string()));
        }
        // A leading `x000` element would be a second spelling of the same index.
        if i == 0 && !last && digits == "000" {
            return Err(TilePathError::Index(element.to_string()));
        }
        let group: u64 = digits
            .parse()
            .map_err(|_| TilePathError::Index(element.to_string()))?;
        index = index
            .checked_mul(1000)
            .and_then(|n| n.checked_add(group))
            .ok_or(TilePathError::IndexOverflow)?;
    }
    Ok((index, width))
}

/// A decimal without leading zeros (except `0` itself), at most `max`.
fn parse_decimal(text: &str, max: u64) -> Option<u64> {
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if text.len() > 1 && text.starts_with('0') {
        return None;
    }
    text.parse::<u64>().ok().filter(|n| *n <= max)
}

/// tlog-tiles: entry bundles are sequences of big-endian uint16
/// length-prefixed entries. Up to 256 entries, each at most 65,535 bytes.
pub fn encode_bundle<E: AsRef<[u8]>>(entries: &[E]) -> Result<Vec<u8>, BundleError> {
    if entries.len() > TILE_WIDTH as usize {
        return Err(BundleError::TooManyEntries(entries.len()));
    }
    let mut out = Vec::with_capacity(entries.iter().map(|e| 2 + e.as_ref().len()).sum());
    for (index, entry) in entries.iter().enumerate() {
        push_entry(&mut out, index, entry.as_ref())?;
    }
    Ok(out)
}

pub(crate) fn push_entry(out: &mut Vec<u8>, index: usize, entry: &[u8]) -> Result<(), BundleError> {
    let len = u16::try_from(entry.len()).map_err(|_| BundleError::EntryTooLong {
        index,
        len: entry.len(),
    })?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(entry);
    Ok(())
}

/// Decodes an entry bundle into its entries (borrowed). Rejects empty,
/// truncated and over-256-entry bundles.
pub fn decode_bundle(bytes: &[u8]) -> Result<Vec<&[u8]>, BundleError> {
    if bytes.is_empty() {
        return Err(BundleError::Empty);
    }
    let mut entries = Vec::with_capacity(TILE_WIDTH as usize);
    let mut rest = bytes;
    while !rest.is_empty() {
        if entries.len() == TILE_WIDTH as usize {
            return Err(BundleError::TooManyEntries(entries.len() + 1));
        }
        let index = entries.len();
        let (len, tail) = match rest {
            [a, b, tail @ ..] => (u16::from_be_bytes([*a, *b]) as usize, tail),
            _ => return Err(BundleError::Truncated(index)),
        };
        if tail.len() < len {
            return Err(BundleError::Truncated(index));
        }
        let (entry, tail) = tail.split_at(len);
        entries.push(entry);
        rest = tail;
    }
    Ok(entries)
}
