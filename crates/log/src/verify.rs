//! Full verification of a log from its public tree, trusting nothing but the log's public key.
//!
//! Reads `log/checkpoint`, checks its signature, then reads every entry bundle in order,
//! recomputes every tile from the entries and compares it byte for byte with the stored tile,
//! and finally compares the recomputed root with the checkpoint's. Any difference is an error
//! that names the blob key.

use std::collections::HashMap;

use futures_util::{StreamExt, TryStreamExt, stream};
use urne_store::{BlobError, Blobs};
use urne_tlog::{
    BundleId, Checkpoint, Hash, TILE_WIDTH, TileId, TreeBuilder, note::Ed25519Verifier,
};

use crate::{CHECKPOINT_KEY, LogError, log_key};

/// Entries per bundle and hashes per tile, as a `u64` for index arithmetic.
const WIDTH: u64 = TILE_WIDTH as u64;

/// Bundles fetched ahead of the one being hashed.
const PREFETCH_BUNDLES_MAX: usize = 32;

/// What a successful verification saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// Tiles (all levels, full and partial) compared byte for byte.
    pub tiles_checked: u64,
    /// Entry bundles read.
    pub bundles_checked: u64,
}

/// Why a log did not verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error("{key} is missing")]
    Missing { key: String },
    #[error("log/checkpoint: {0}")]
    Checkpoint(String),
    #[error("{key}: {why}")]
    Malformed { key: String, why: String },
    #[error("{key} differs from the tile recomputed from the entries")]
    TileMismatch { key: String },
    #[error("recomputed root {computed} differs from the checkpoint's {signed}")]
    RootMismatch { computed: Hash, signed: Hash },
}

/// Verifies the whole log under `log/` in `blobs`.
pub async fn verify_tree(
    blobs: &dyn Blobs,
    origin: &str,
    verifier: &Ed25519Verifier,
) -> Result<VerifyReport, VerifyError> {
    let note = get(blobs, CHECKPOINT_KEY).await?;
    let checkpoint = crate::open_checkpoint(&note, origin, verifier).map_err(|e| match e {
        LogError::Inconsistent(why) => VerifyError::Checkpoint(why),
        other => VerifyError::Checkpoint(other.to_string()),
    })?;
    let size = checkpoint.size;
    let bundle_ids: Vec<BundleId> = bundles_of(size).collect();
    let bundles_checked = bundle_ids.len() as u64;

    let mut tree = TreeBuilder::new();
    let mut partial: HashMap<(u8, u64), (TileId, Vec<u8>)> = HashMap::new();
    let mut tiles_checked = 0u64;
    let mut fetched = stream::iter(bundle_ids)
        .map(|id| async move { get(blobs, &log_key(&id.path())).await.map(|b| (id, b)) })
        .buffered(PREFETCH_BUNDLES_MAX);
    while let Some((id, bytes)) = fetched.try_next().await? {
        let key = log_key(&id.path());
        let seq = tree
            .push_bundle(id, &bytes)
            .map_err(|e| VerifyError::Malformed {
                key,
                why: e.to_string(),
            })?;
        let mut full = Vec::new();
        for (tile, bytes) in seq.tiles {
            if tile.is_full() {
                partial.remove(&(tile.level, tile.index));
                full.push((tile, bytes));
            } else {
                partial.insert((tile.level, tile.index), (tile, bytes));
            }
        }
        tiles_checked += compare_tiles(blobs, full).await?;
    }
    tiles_checked += compare_tiles(blobs, partial.into_values().collect()).await?;

    let computed = tree.edge().root();
    if computed != checkpoint.root {
        return Err(VerifyError::RootMismatch {
            computed,
            signed: checkpoint.root,
        });
    }
    Ok(VerifyReport {
        origin: checkpoint.origin,
        size,
        root: checkpoint.root,
        tiles_checked,
        bundles_checked,
    })
}

/// Reads entry `index` of a tree of `size` from its entry bundle.
pub async fn read_entry(blobs: &dyn Blobs, index: u64, size: u64) -> Result<Vec<u8>, VerifyError> {
    let id = bundles_of(size)
        .nth(usize::try_from(index / WIDTH).unwrap_or(usize::MAX))
        .filter(|_| index < size)
        .ok_or_else(|| VerifyError::Missing {
            key: format!("entry {index} of {size}"),
        })?;
    let key = log_key(&id.path());
    let bytes = get(blobs, &key).await?;
    let entries = decode_bundle(&key, &bytes, id)?;
    let offset = (index % WIDTH) as usize;
    entries
        .get(offset)
        .map(|e| e.to_vec())
        .ok_or(VerifyError::Malformed {
            key,
            why: "bundle too short".into(),
        })
}

/// The entry bundles of a tree of `size`, in order, the last one partial if needed.
fn bundles_of(size: u64) -> impl Iterator<Item = BundleId> {
    let full = size / WIDTH;
    let rest = size % WIDTH;
    let last = (rest > 0).then_some(BundleId {
        index: full,
        width: rest as u16,
    });
    (0..full)
        .map(|index| BundleId {
            index,
            width: TILE_WIDTH,
        })
        .chain(last)
}

async fn compare_tiles(
    blobs: &dyn Blobs,
    tiles: Vec<(TileId, Vec<u8>)>,
) -> Result<u64, VerifyError> {
    let n = tiles.len() as u64;
    let checks = tiles.into_iter().map(|(id, expected)| async move {
        let key = log_key(&id.path());
        let stored = get(blobs, &key).await?;
        if stored == expected {
            Ok(())
        } else {
            Err(VerifyError::TileMismatch { key })
        }
    });
    futures_util::future::try_join_all(checks).await?;
    Ok(n)
}

async fn get(blobs: &dyn Blobs, key: &str) -> Result<Vec<u8>, VerifyError> {
    blobs.get(key).await?.ok_or_else(|| VerifyError::Missing {
        key: key.to_owned(),
    })
}

/// Parses the public checkpoint without verifying the tree (for tools that only need its size).
pub async fn public_checkpoint(
    blobs: &dyn Blobs,
    origin: &str,
    verifier: &Ed25519Verifier,
) -> Result<Checkpoint, VerifyError> {
    let note = get(blobs, CHECKPOINT_KEY).await?;
    crate::open_checkpoint(&note, origin, verifier)
        .map_err(|e| VerifyError::Checkpoint(e.to_string()))
}

/// Reads every entry of a tree of `size`, bundle by bundle (for tests and exports).
pub async fn read_all_entries(blobs: &dyn Blobs, size: u64) -> Result<Vec<Vec<u8>>, VerifyError> {
    let mut out = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    let mut fetched = stream::iter(bundles_of(size))
        .map(|id| async move { get(blobs, &log_key(&id.path())).await.map(|b| (id, b)) })
        .buffered(PREFETCH_BUNDLES_MAX);
    while let Some((id, bytes)) = fetched.try_next().await? {
        let entries = decode_bundle(&log_key(&id.path()), &bytes, id)?;
        out.extend(entries.into_iter().map(|e| e.to_vec()));
    }
    Ok(out)
}

/// Decodes a bundle and checks it holds exactly the entries its path promises.
fn decode_bundle<'a>(
    key: &str,
    bytes: &'a [u8],
    id: BundleId,
) -> Result<Vec<&'a [u8]>, VerifyError> {
    let entries = urne_tlog::tile::decode_bundle(bytes).map_err(|e| VerifyError::Malformed {
        key: key.to_owned(),
        why: e.to_string(),
    })?;
    if entries.len() != usize::from(id.width) {
        return Err(VerifyError::Malformed {
            key: key.to_owned(),
            why: format!("{} entries where the path says {}", entries.len(), id.width),
        });
    }
    Ok(entries)
}
