//! RFC 9162 §2.1.3 inclusion and §2.1.4 consistency proofs, computed from
//! tlog-tiles and verified into tokens.
//!
//! Proof generation is split in two so an async caller can fetch first:
//! [`inclusion_tiles`] / [`consistency_tiles`] list the tiles needed, then
//! [`inclusion_proof`] / [`consistency_proof`] read them from a [`TileSource`].

use std::collections::{BTreeMap, HashMap};

use crate::hash::{
    HASH_BYTES, Hash, empty_root, largest_power_of_two_below, node_hash, subtree_root,
};
use crate::tile::{TILE_HEIGHT, TILE_WIDTH, TileId};

/// Hashes in an inclusion proof: one per tree level, and a tree of at most
/// 2^64 - 1 leaves has at most 64 levels below the root.
pub const INCLUSION_PROOF_HASHES_MAX: usize = 64;
/// Hashes in a consistency proof: RFC 9162 §2.1.4 SUBPROOF adds at most one
/// hash per level plus the old root's subtree, so 65; we allow 64 + 1.
pub const CONSISTENCY_PROOF_HASHES_MAX: usize = 65;

/// Where proofs read tiles from. A stored tile may be wider than asked for (a
/// wider partial or the full tile); the readers here take its prefix.
pub trait TileSource {
    /// The bytes of exactly this tile, if held.
    fn tile(&self, id: TileId) -> Option<&[u8]>;
}

impl TileSource for HashMap<TileId, Vec<u8>> {
    fn tile(&self, id: TileId) -> Option<&[u8]> {
        self.get(&id).map(Vec::as_slice)
    }
}

impl TileSource for BTreeMap<TileId, Vec<u8>> {
    fn tile(&self, id: TileId) -> Option<&[u8]> {
        self.get(&id).map(Vec::as_slice)
    }
}

impl<T: TileSource + ?Sized> TileSource for &T {
    fn tile(&self, id: TileId) -> Option<&[u8]> {
        (**self).tile(id)
    }
}

/// Proof generation or verification failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    #[error("index {index} is not in a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("old size {old} is larger than new size {new}")]
    OldLargerThanNew { old: u64, new: u64 },
    #[error("tile {0} is missing")]
    MissingTile(TileId),
    #[error("tile {id} is {len} bytes, want at least {}", id.byte_len())]
    TileLength { id: TileId, len: usize },
    #[error("proof has {len} hashes, over the limit of {max}")]
    TooLong { len: usize, max: usize },
    #[error("proof has the wrong number of hashes for these sizes")]
    WrongLength,
    #[error("proof does not lead to the given root")]
    RootMismatch,
}

/// Token: an inclusion proof checked out. Only [`verify_inclusion`] builds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InclusionChecked(());

/// Token: a consistency proof checked out. Only [`verify_consistency`] builds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsistencyChecked(());

/// A complete subtree: `2^level` leaves starting at leaf `index << level`.
type Node = (u8, u64);

/// Reads `id` from `source`, falling back to the full tile or a wider partial
/// one (tlog-tiles: a partial tile's hashes are a prefix of the wider ones).
pub(crate) fn read_tile<S: TileSource + ?Sized>(
    source: &S,
    id: TileId,
) -> Result<&[u8], ProofError> {
    let want = id.byte_len();
    let found = source.tile(id).or_else(|| {
        (id.width.saturating_add(1)..=TILE_WIDTH)
            .rev()
            .find_map(|width| source.tile(TileId { width, ..id }))
    });
    match found {
        Some(bytes) if bytes.len() >= want && bytes.len() % HASH_BYTES == 0 => Ok(&bytes[..want]),
        Some(bytes) => Err(ProofError::TileLength {
            id,
            len: bytes.len(),
        }),
        None => Err(ProofError::MissingTile(id)),
    }
}

fn shr(value: u64, bits: u32) -> u64 {
    value.checked_shr(bits).unwrap_or(0)
}

/// The tile holding the hashes that make up `node` in a tree of `size`
/// leaves, and the range of those hashes inside it.
fn node_tile(node: Node, size: u64) -> (TileId, std::ops::Range<usize>) {
    let (level, index) = node;
    let tile_level = level as u32 / TILE_HEIGHT;
    let within = level as u32 % TILE_HEIGHT;
    // tlog-tiles: tile n at level l holds MTH(D[(n*256+i)*256^l : ...]).
    let start = index << within;
    let tile_index = start >> TILE_HEIGHT;
    let hashes_at_level = shr(size, tile_level * TILE_HEIGHT);
    let width = (hashes_at_level - (tile_index << TILE_HEIGHT)).min(TILE_WIDTH as u64) as u16;
    let offset = (start & 0xff) as usize;
    let id = TileId {
        level: tile_level as u8,
        index: tile_index,
        width,
    };
    (id, offset..offset + (1usize << within))
}

fn node_hash_from_tiles<S: TileSource + ?Sized>(
    source: &S,
    node: Node,
    size: u64,
) -> Result<Hash, ProofError> {
    let (id, range) = node_tile(node, size);
    let bytes = read_tile(source, id)?;
    let hashes: Vec<Hash> = bytes[range.start * HASH_BYTES..range.end * HASH_BYTES]
        .chunks_exact(HASH_BYTES)
        .map(|chunk| Hash(chunk.try_into().unwrap_or([0; HASH_BYTES])))
        .collect();
    Ok(subtree_root(&hashes))
}

/// RFC 6962 §2.1: MTH(D[lo:hi]), asking `get` for complete subtrees.
fn range_hash<F>(lo: u64, hi: u64, get: &mut F) -> Result<Hash, ProofError>
where
    F: FnMut(Node) -> Result<Hash, ProofError>,
{
    let n = hi - lo;
    if n == 0 {
        return Ok(empty_root());
    }
    if n.is_power_of_two() && lo.is_multiple_of(n) {
        return get((n.trailing_zeros() as u8, lo >> n.trailing_zeros()));
    }
    let k = if n.is_power_of_two() {
        n / 2
    } else {
        largest_power_of_two_below(n)
    };
    let left = range_hash(lo, lo + k, get)?;
    let right = range_hash(lo + k, hi, get)?;
    Ok(node_hash(&left, &right))
}

/// RFC 9162 §2.1.3.1 PATH(m, D[lo:hi]), leaf first.
fn path<F>(m: u64, lo: u64, hi: u64, get: &mut F, out: &mut Vec<Hash>) -> Result<(), ProofError>
where
    F: FnMut(Node) -> Result<Hash, ProofError>,
{
    let n = hi - lo;
    if n <= 1 {
        return Ok(());
    }
    let k = largest_power_of_two_below(n);
    if m < k {
        // PATH(m, D[0:k]) : MTH(D[k:n])
        path(m, lo, lo + k, get, out)?;
        out.push(range_hash(lo + k, hi, get)?);
    } else {
        // PATH(m - k, D[k:n]) : MTH(D[0:k])
        path(m - k, lo + k, hi, get, out)?;
        out.push(range_hash(lo, lo + k, get)?);
    }
    Ok(())
}

/// RFC 9162 §2.1.4.1 SUBPROOF(m, D[lo:hi], b).
fn subproof<F>(
    m: u64,
    lo: u64,
    hi: u64,
    complete: bool,
    get: &mut F,
    out: &mut Vec<Hash>,
) -> Result<(), ProofError>
where
    F: FnMut(Node) -> Result<Hash, ProofError>,
{
    let n = hi - lo;
    if m == n {
        if !complete {
            out.push(range_hash(lo, hi, get)?);
        }
        return Ok(());
    }
    let k = largest_power_of_two_below(n);
    if m <= k {
        // SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
        subproof(m, lo, lo + k, complete, get, out)?;
        out.push(range_hash(lo + k, hi, get)?);
    } else {
        // SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
        subproof(m - k, lo + k, hi, false, get, out)?;
        out.push(range_hash(lo, lo + k, get)?);
    }
    Ok(())
}

fn tiles_of(size: u64, nodes: Vec<Node>) -> Vec<TileId> {
    let mut tiles: Vec<TileId> = Vec::new();
    for node in nodes {
        let (id, _) = node_tile(node, size);
        if !tiles.contains(&id) {
            tiles.push(id);
        }
    }
    tiles
}

fn recording(nodes: &mut Vec<Node>) -> impl FnMut(Node) -> Result<Hash, ProofError> + '_ {
    move |node| {
        nodes.push(node);
        Ok(Hash::default())
    }
}

/// The tiles [`inclusion_proof`] reads for leaf `index` in a tree of `size`.
pub fn inclusion_tiles(index: u64, size: u64) -> Result<Vec<TileId>, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut nodes = Vec::new();
    path(index, 0, size, &mut recording(&mut nodes), &mut Vec::new())?;
    Ok(tiles_of(size, nodes))
}

/// The tiles [`consistency_proof`] reads to prove `old` is a prefix of `new`.
pub fn consistency_tiles(old: u64, new: u64) -> Result<Vec<TileId>, ProofError> {
    if old > new {
        return Err(ProofError::OldLargerThanNew { old, new });
    }
    let mut nodes = Vec::new();
    if old > 0 && old < new {
        subproof(
            old,
            0,
            new,
            true,
            &mut recording(&mut nodes),
            &mut Vec::new(),
        )?;
    }
    Ok(tiles_of(new, nodes))
}

/// The tiles [`root_from_tiles`] reads for a tree of `size`.
pub fn root_tiles(size: u64) -> Vec<TileId> {
    let mut nodes = Vec::new();
    // The recording closure never fails, so neither does range_hash here.
    let _ = range_hash(0, size, &mut recording(&mut nodes));
    tiles_of(size, nodes)
}

/// RFC 9162 §2.1.3.1: the inclusion proof of leaf `index` in a tree of `size`.
pub fn inclusion_proof<S: TileSource + ?Sized>(
    index: u64,
    size: u64,
    source: &S,
) -> Result<Vec<Hash>, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut out = Vec::new();
    let mut get = |node| node_hash_from_tiles(source, node, size);
    path(index, 0, size, &mut get, &mut out)?;
    Ok(out)
}

/// RFC 9162 §2.1.4.1: the consistency proof from tree size `old` to `new`.
/// Empty when `old` is 0 or equal to `new`.
pub fn consistency_proof<S: TileSource + ?Sized>(
    old: u64,
    new: u64,
    source: &S,
) -> Result<Vec<Hash>, ProofError> {
    if old > new {
        return Err(ProofError::OldLargerThanNew { old, new });
    }
    let mut out = Vec::new();
    if old > 0 && old < new {
        let mut get = |node| node_hash_from_tiles(source, node, new);
        subproof(old, 0, new, true, &mut get, &mut out)?;
    }
    Ok(out)
}

/// RFC 6962 §2.1: the root hash of a tree of `size`, from its tiles.
pub fn root_from_tiles<S: TileSource + ?Sized>(size: u64, source: &S) -> Result<Hash, ProofError> {
    let mut get = |node| node_hash_from_tiles(source, node, size);
    range_hash(0, size, &mut get)
}

/// RFC 9162 §2.1.3.2: checks that `leaf` (a leaf hash) is at `index` in the
/// tree of `size` with `root`.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<InclusionChecked, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    if proof.len() > INCLUSION_PROOF_HASHES_MAX {
        return Err(ProofError::TooLong {
            len: proof.len(),
            max: INCLUSION_PROOF_HASHES_MAX,
        });
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(ProofError::WrongLength);
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength);
    }
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(InclusionChecked(()))
}

/// RFC 9162 §2.1.4.2: checks that the tree of `old` leaves with `old_root` is
/// a prefix of the tree of `new` leaves with `new_root`.
pub fn verify_consistency(
    old: u64,
    new: u64,
    proof: &[Hash],
    old_root: &Hash,
    new_root: &Hash,
) -> Result<ConsistencyChecked, ProofError> {
    if old > new {
        return Err(ProofError::OldLargerThanNew { old, new });
    }
    if proof.len() > CONSISTENCY_PROOF_HASHES_MAX {
        return Err(ProofError::TooLong {
            len: proof.len(),
            max: CONSISTENCY_PROOF_HASHES_MAX,
        });
    }
    if old == 0 || old == new {
        // The empty tree is a prefix of every tree; equal sizes need equal roots.
        if !proof.is_empty() {
            return Err(ProofError::WrongLength);
        }
        let expected = if old == 0 { empty_root() } else { *new_root };
        if *old_root != expected {
            return Err(ProofError::RootMismatch);
        }
        return Ok(ConsistencyChecked(()));
    }
    if proof.is_empty() {
        return Err(ProofError::WrongLength);
    }
    // RFC 9162 §2.1.4.2 step 2: if first is an exact power of 2, prepend first_hash.
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let (fr, sr) = implied_roots(old, new, &path)?;
    if fr != *old_root || sr != *new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(ConsistencyChecked(()))
}

/// RFC 9162 §2.1.4.2's loop over a full path (the proof, with the old root first when `old` is
/// a power of two): the roots at sizes `old` and `new` it implies. `0 < old < new`.
/// [`verify_consistency`] compares them with the roots it was given; evidence of a fork uses
/// them to show which root the proof contradicts.
pub fn implied_roots(old: u64, new: u64, path: &[Hash]) -> Result<(Hash, Hash), ProofError> {
    if old == 0 || old >= new {
        return Err(ProofError::OldLargerThanNew { old, new });
    }
    if path.is_empty() {
        return Err(ProofError::WrongLength);
    }
    let (mut fnode, mut snode) = (old - 1, new - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if snode == 0 {
            return Err(ProofError::WrongLength);
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength);
    }
    Ok((fr, sr))
}
