//! The pure sequencing step: the right edge of the tree plus a batch of
//! entries gives the new edge and every tile and bundle to write.
//!
//! The sequencer keeps an [`Edge`] in memory. After a restart it rebuilds it
//! from storage: [`Edge::needed`] lists the partial tiles and bundle of the
//! checkpointed size, and [`Edge::from_tiles`] checks and loads them. The
//! caller must then compare [`Edge::root`] with the checkpoint's root.

use crate::hash::{HASH_BYTES, Hash, empty_root, leaf_hash, node_hash, subtree_root};
use crate::proof::{ProofError, TileSource, read_tile};
use crate::tile::{
    BundleError, BundleId, ENTRY_BYTES_MAX, TILE_HEIGHT, TILE_WIDTH, TileId, decode_bundle,
    push_entry,
};

/// Entries in one [`Edge::append`] batch.
pub const BATCH_ENTRIES_MAX: usize = 1 << 24;

/// The right edge of a Merkle tree of `size` leaves: at each tile level the
/// hashes of the rightmost partial tile (possibly none), and the entries of
/// the rightmost partial entry bundle. It is all that is needed to append.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Edge {
    size: u64,
    /// `levels[l]`: the hashes of the partial tile at level `l`, fewer than 256.
    levels: Vec<Vec<Hash>>,
    /// The partial entry bundle, already encoded (tlog-tiles length-prefixed).
    bundle: Vec<u8>,
}

/// What one [`Edge::append`] produced. Every tile and bundle created or grown
/// by the batch appears once, at its final width: full tiles in the order they
/// filled, then the partial tiles from level 0 up. Tiles and bundles are
/// immutable once named, so writing them in this order (and the checkpoint
/// last) is safe to redo after a crash.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Sequenced {
    /// The tree size after the batch.
    pub size: u64,
    /// The root hash after the batch.
    pub root: Hash,
    /// Tiles to write, with their bytes.
    pub tiles: Vec<(TileId, Vec<u8>)>,
    /// Entry bundles to write, with their bytes.
    pub bundles: Vec<(BundleId, Vec<u8>)>,
}

/// Appending or rebuilding an edge failed; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EdgeError {
    #[error("entry {index} of the batch is {len} bytes, over the {ENTRY_BYTES_MAX}-byte limit")]
    EntryTooLong { index: usize, len: usize },
    #[error("batch has {0} entries, over the limit of {BATCH_ENTRIES_MAX}")]
    BatchTooLarge(usize),
    #[error("tree size would overflow 64 bits")]
    TreeFull,
    #[error("reading a tile: {0}")]
    Tile(#[from] ProofError),
    #[error("entry bundle {0} is missing")]
    MissingBundle(BundleId),
    #[error("entry bundle: {0}")]
    Bundle(#[from] BundleError),
    #[error("entry bundle {id} has {count} entries, want {}", id.width)]
    BundleWidth { id: BundleId, count: usize },
    #[error("entry {index} of the partial bundle does not hash to the level 0 tile")]
    BundleMismatch { index: u64 },
    #[error("bundle {got} does not come next; the tree has {size} entries")]
    BundleOutOfOrder { got: BundleId, size: u64 },
}

fn shr(value: u64, bits: u32) -> u64 {
    value.checked_shr(bits).unwrap_or(0)
}

/// Tile levels a tree of `size` leaves has partial or full tiles at.
fn level_count(size: u64) -> usize {
    (0..).take_while(|l| shr(size, l * TILE_HEIGHT) > 0).count()
}

fn tile_bytes(hashes: &[Hash]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hashes.len() * HASH_BYTES);
    for h in hashes {
        out.extend_from_slice(&h.0);
    }
    out
}

impl Default for Edge {
    fn default() -> Self {
        Edge::empty()
    }
}

impl Edge {
    /// The edge of the empty tree.
    pub fn empty() -> Edge {
        Edge {
            size: 0,
            levels: Vec::new(),
            bundle: Vec::new(),
        }
    }

    /// Number of leaves in the tree.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// RFC 6962 §2.1 root hash. The tree is the concatenation, from the top
    /// level down, of the partial tiles' hashes (each the root of a complete
    /// subtree); split each into power-of-two runs and fold from the right.
    pub fn root(&self) -> Hash {
        let mut subtrees: Vec<Hash> = Vec::new();
        for hashes in self.levels.iter().rev() {
            let mut start = 0;
            for bit in (0..TILE_HEIGHT).rev() {
                let run = 1usize << bit;
                if hashes.len() & run != 0 {
                    subtrees.push(subtree_root(&hashes[start..start + run]));
                    start += run;
                }
            }
        }
        let mut iter = subtrees.into_iter().rev();
        match iter.next() {
            None => empty_root(),
            Some(last) => iter.fold(last, |acc, left| node_hash(&left, &acc)),
        }
    }

    /// The partial tiles and bundle that hold the edge of a tree of `size`
    /// (tlog-tiles: the partial tile at level l has floor(s / 256^l) mod 256
    /// hashes; none when that is 0).
    pub fn needed(size: u64) -> (Vec<TileId>, Option<BundleId>) {
        let mut tiles = Vec::new();
        for level in 0..level_count(size) as u32 {
            let width = (shr(size, level * TILE_HEIGHT) % 256) as u16;
            if width > 0 {
                tiles.push(TileId {
                    level: level as u8,
                    index: shr(size, (level + 1) * TILE_HEIGHT),
                    width,
                });
            }
        }
        let bundle = (!size.is_multiple_of(256)).then_some(BundleId {
            index: size / 256,
            width: (size % 256) as u16,
        });
        (tiles, bundle)
    }

    /// Rebuilds the edge of a tree of `size` from the tiles and bundle that
    /// [`Edge::needed`] lists. Wider tiles and bundles are accepted and cut to
    /// width. The bundle's entries must hash to the level 0 tile. The caller
    /// must still compare [`Edge::root`] with a checkpoint it trusts.
    pub fn from_tiles<S: TileSource + ?Sized>(
        size: u64,
        tiles: &S,
        bundle: Option<&[u8]>,
    ) -> Result<Edge, EdgeError> {
        let (ids, bundle_id) = Edge::needed(size);
        let mut levels = vec![Vec::new(); level_count(size)];
        for id in ids {
            let bytes = read_tile(tiles, id)?;
            levels[id.level as usize] = bytes
                .chunks_exact(HASH_BYTES)
                .map(|c| Hash(c.try_into().unwrap_or([0; HASH_BYTES])))
                .collect();
        }
        let mut encoded = Vec::new();
        if let Some(id) = bundle_id {
            let bytes = bundle.ok_or(EdgeError::MissingBundle(id))?;
            let entries = decode_bundle(bytes)?;
            if entries.len() < id.width as usize {
                return Err(EdgeError::BundleWidth {
                    id,
                    count: entries.len(),
                });
            }
            for (i, entry) in entries.iter().take(id.width as usize).enumerate() {
                if leaf_hash(entry) != levels[0][i] {
                    return Err(EdgeError::BundleMismatch {
                        index: id.index * 256 + i as u64,
                    });
                }
                push_entry(&mut encoded, i, entry)?;
            }
        }
        Ok(Edge {
            size,
            levels,
            bundle: encoded,
        })
    }

    /// Appends `entries` to a copy of this edge. Pure: `self` is untouched,
    /// and on error nothing is produced.
    pub fn append<E: AsRef<[u8]>>(&self, entries: &[E]) -> Result<(Edge, Sequenced), EdgeError> {
        let mut next = self.clone();
        let sequenced = next.extend(entries)?;
        Ok((next, sequenced))
    }

    /// Appends in place; on error `self` is unchanged.
    pub(crate) fn extend<E: AsRef<[u8]>>(&mut self, entries: &[E]) -> Result<Sequenced, EdgeError> {
        if entries.len() > BATCH_ENTRIES_MAX {
            return Err(EdgeError::BatchTooLarge(entries.len()));
        }
        // Check everything before touching anything.
        if let Some((index, e)) = entries
            .iter()
            .enumerate()
            .find(|(_, e)| e.as_ref().len() > ENTRY_BYTES_MAX)
        {
            return Err(EdgeError::EntryTooLong {
                index,
                len: e.as_ref().len(),
            });
        }
        let old = self.size;
        let new = old
            .checked_add(entries.len() as u64)
            .ok_or(EdgeError::TreeFull)?;
        let mut tiles = Vec::new();
        let mut bundles = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            let entry = entry.as_ref();
            push_entry(&mut self.bundle, index, entry)?;
            self.size += 1;
            self.push_hash(0, leaf_hash(entry), &mut tiles);
            if self.size.is_multiple_of(256) {
                let id = BundleId {
                    index: self.size / 256 - 1,
                    width: TILE_WIDTH,
                };
                let bytes = std::mem::take(&mut self.bundle);
                self.bundle.reserve(bytes.len());
                bundles.push((id, bytes));
            }
        }
        for (level, hashes) in self.levels.iter().enumerate() {
            let bits = level as u32 * TILE_HEIGHT;
            // A partial tile grew iff the count of hashes at its level changed.
            if !hashes.is_empty() && shr(old, bits) != shr(new, bits) {
                let id = TileId {
                    level: level as u8,
                    index: shr(new, bits + TILE_HEIGHT),
                    width: hashes.len() as u16,
                };
                tiles.push((id, tile_bytes(hashes)));
            }
        }
        if !self.bundle.is_empty() && old != new {
            let id = BundleId {
                index: new / 256,
                width: (new % 256) as u16,
            };
            bundles.push((id, self.bundle.clone()));
        }
        Ok(Sequenced {
            size: new,
            root: self.root(),
            tiles,
            bundles,
        })
    }

    /// tlog-tiles: adds a hash to the partial tile at `level`; a tile that
    /// reaches 256 hashes is emitted and its MTH goes one level up.
    fn push_hash(&mut self, level: usize, hash: Hash, tiles: &mut Vec<(TileId, Vec<u8>)>) {
        if self.levels.len() <= level {
            self.levels.push(Vec::with_capacity(TILE_WIDTH as usize));
        }
        let hashes = &mut self.levels[level];
        hashes.push(hash);
        if hashes.len() == TILE_WIDTH as usize {
            let parent = subtree_root(hashes);
            let id = TileId {
                level: level as u8,
                index: shr(self.size, (level as u32 + 1) * TILE_HEIGHT) - 1,
                width: TILE_WIDTH,
            };
            tiles.push((id, tile_bytes(hashes)));
            hashes.clear();
            self.push_hash(level + 1, parent, tiles);
        }
    }
}

/// Streams a log through an [`Edge`] in place, for a verifier that feeds
/// entry bundles in order and compares the tiles it gets back byte for byte
/// with the stored ones, then the final root with the checkpoint.
#[derive(Clone, Debug, Default)]
pub struct TreeBuilder {
    edge: Edge,
}

impl TreeBuilder {
    /// Starts from the empty tree.
    pub fn new() -> TreeBuilder {
        TreeBuilder::default()
    }

    /// Continues from a known edge.
    pub fn from_edge(edge: Edge) -> TreeBuilder {
        TreeBuilder { edge }
    }

    /// The edge so far.
    pub fn edge(&self) -> &Edge {
        &self.edge
    }

    /// Consumes the builder.
    pub fn into_edge(self) -> Edge {
        self.edge
    }

    /// Appends entries in place; on error nothing changes.
    pub fn push_entries<E: AsRef<[u8]>>(&mut self, entries: &[E]) -> Result<Sequenced, EdgeError> {
        self.edge.extend(entries)
    }

    /// Decodes and appends the next entry bundle. The tree must end on a
    /// bundle boundary and `id` must be the next bundle, with exactly
    /// `id.width` entries.
    pub fn push_bundle(&mut self, id: BundleId, bundle: &[u8]) -> Result<Sequenced, EdgeError> {
        let size = self.edge.size;
        if !size.is_multiple_of(256) || id.index != size / 256 {
            return Err(EdgeError::BundleOutOfOrder { got: id, size });
        }
        let entries = decode_bundle(bundle)?;
        if entries.len() != id.width as usize {
            return Err(EdgeError::BundleWidth {
                id,
                count: entries.len(),
            });
        }
        self.edge.extend(&entries)
    }
}
