//! Benchmarks on a 1M-entry log of 100-byte entries, tiles in a HashMap.
//!
//! Every measurement sits in a criterion group next to a baseline measured in
//! the same run, so the report is a ratio and machine noise mostly cancels:
//!
//! - proofs: `tlog_tiles` (Cloudflare's port of Go's sumdb/tlog) proving and
//!   checking the same proof from the same tiles, once through its
//!   `TileHashReader` (which also authenticates the tiles against the root and
//!   clones them) and once through a plain reader that borrows them, which is
//!   the like-for-like comparison with ours;
//! - append and full recompute: the RFC 6962 hashing floor, i.e. `sha2` leaf
//!   hashes of the same entries and node hashes on an in-memory stack, with no
//!   tiles or bundles produced.
//!
//! Run: `cargo bench -p urne-tlog --bench tlog`.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use sha2::{Digest, Sha256};
use urne_tlog::{
    BundleId, Edge, Hash, TileId, TreeBuilder, consistency_proof, inclusion_proof, leaf_hash,
    verify_consistency, verify_inclusion,
};

const LOG_SIZE: u64 = 1 << 20;
const APPEND_ENTRIES: u64 = 10_000;
const INCLUSION_INDEX: u64 = 777_777;
const CONSISTENCY_OLD: u64 = 654_321;

fn entry(i: u64) -> Vec<u8> {
    let mut e = vec![0u8; 100];
    e[..8].copy_from_slice(&i.to_be_bytes());
    e
}

struct Log {
    edge: Edge,
    tiles: HashMap<TileId, Vec<u8>>,
    bundles: Vec<(BundleId, Vec<u8>)>,
}

fn build() -> Log {
    let mut log = Log {
        edge: Edge::empty(),
        tiles: HashMap::new(),
        bundles: Vec::new(),
    };
    for start in (0..LOG_SIZE).step_by(4096) {
        let batch: Vec<Vec<u8>> = (start..(start + 4096).min(LOG_SIZE)).map(entry).collect();
        let (edge, seq) = log.edge.append(&batch).expect("append");
        log.tiles.extend(seq.tiles);
        log.bundles
            .extend(seq.bundles.into_iter().filter(|(id, _)| id.is_full()));
        log.edge = edge;
    }
    log
}

fn group<'a>(c: &'a mut Criterion, name: &str, elements: u64) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .throughput(Throughput::Elements(elements));
    g
}

// ---------------------------------------------------------------------------
// Baseline for append and recompute: the bare RFC 6962 hashing floor.

/// RFC 6962 §2.1: SHA-256(0x00 || entry).
fn floor_leaf(entry: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(entry);
    h.finalize().into()
}

/// RFC 6962 §2.1: SHA-256(0x01 || left || right).
fn floor_node(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The simplest streaming Merkle tree: the roots of the perfect subtrees
/// covering the leaves so far, largest first (one per set bit of `size`).
struct FloorStack {
    size: u64,
    roots: Vec<[u8; 32]>,
}

impl FloorStack {
    fn new() -> FloorStack {
        FloorStack {
            size: 0,
            roots: Vec::with_capacity(64),
        }
    }

    /// A tree whose size is a power of two is a single perfect subtree.
    fn from_perfect(size: u64, root: [u8; 32]) -> FloorStack {
        assert!(size.is_power_of_two());
        FloorStack {
            size,
            roots: vec![root],
        }
    }

    fn push_leaf(&mut self, mut hash: [u8; 32]) {
        let mut n = self.size;
        while n & 1 == 1 {
            let left = self.roots.pop().expect("a root per set bit");
            hash = floor_node(&left, &hash);
            n >>= 1;
        }
        self.roots.push(hash);
        self.size += 1;
    }

    /// RFC 6962 §2.1 MTH: fold the subtree roots right to left.
    fn root(&self) -> [u8; 32] {
        let mut roots = self.roots.iter().rev();
        let last = *roots.next().expect("non-empty tree");
        roots.fold(last, |acc, left| floor_node(left, &acc))
    }
}

/// The entries of a tlog-tiles bundle: big-endian uint16 length, then bytes.
fn bundle_entries(mut bundle: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        let (len, rest) = bundle.split_first_chunk::<2>()?;
        let (e, rest) = rest.split_at(u16::from_be_bytes(*len) as usize);
        bundle = rest;
        Some(e)
    })
}

// ---------------------------------------------------------------------------
// Baseline for proofs: tlog_tiles reading the same HashMap of tiles.

fn our_tile_id(t: &tlog_tiles::Tile) -> TileId {
    TileId {
        level: t.level(),
        index: t.level_index(),
        width: u16::try_from(t.width()).expect("width <= 256"),
    }
}

/// Feeds `tlog_tiles::TileHashReader`, which authenticates tiles itself.
struct TheirTiles<'a>(&'a HashMap<TileId, Vec<u8>>);

impl tlog_tiles::TileReader for TheirTiles<'_> {
    fn height(&self) -> u8 {
        8
    }

    fn read_tiles(&self, tiles: &[tlog_tiles::Tile]) -> Result<Vec<Vec<u8>>, tlog_tiles::Error> {
        tiles
            .iter()
            .map(|t| self.0.get(&our_tile_id(t)).cloned())
            .collect::<Option<_>>()
            .ok_or(tlog_tiles::Error::InvalidTile)
    }

    fn save_tiles(&self, _tiles: &[tlog_tiles::Tile], _data: &[Vec<u8>]) {}
}

/// Reads hashes straight out of the tiles of a tree of `size`, borrowing
/// them and trusting them, as `urne_tlog::inclusion_proof` does.
struct TheirHashes<'a> {
    tiles: &'a HashMap<TileId, Vec<u8>>,
    size: u64,
}

impl tlog_tiles::HashReader for TheirHashes<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tlog_tiles::Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|&x| {
                let tile = tlog_tiles::Tile::from_index(8, x)
                    .parent(0, self.size)
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)?;
                let data = self
                    .tiles
                    .get(&our_tile_id(&tile))
                    .ok_or(tlog_tiles::Error::InvalidTile)?;
                tile.hash_at_index(data, x)
            })
            .collect()
    }
}

fn theirs(h: Hash) -> tlog_tiles::Hash {
    tlog_tiles::Hash(h.0)
}

// ---------------------------------------------------------------------------

fn bench_append(c: &mut Criterion, log: &Log) {
    let batch: Vec<Vec<u8>> = (LOG_SIZE..LOG_SIZE + APPEND_ENTRIES).map(entry).collect();
    let (after, _) = log.edge.append(&batch).expect("append");
    let floor = |batch: &[Vec<u8>]| {
        let mut stack = FloorStack::from_perfect(LOG_SIZE, log.edge.root().0);
        for e in batch {
            stack.push_leaf(floor_leaf(e));
        }
        stack.root()
    };
    assert_eq!(floor(&batch), after.root().0, "floor and urne agree");

    let mut g = group(c, "append 10k x 100B at 1M", APPEND_ENTRIES);
    g.bench_function("urne Edge::append", |b| {
        b.iter(|| log.edge.append(black_box(&batch)).expect("append"))
    });
    g.bench_function("floor sha2 leaves+nodes", |b| {
        b.iter(|| floor(black_box(&batch)))
    });
    g.finish();
}

fn bench_inclusion(c: &mut Criterion, log: &Log) {
    let (index, root) = (INCLUSION_INDEX, log.edge.root());
    let leaf = leaf_hash(&entry(index));
    let proof = inclusion_proof(index, LOG_SIZE, &log.tiles).expect("proof");
    let source = TheirTiles(&log.tiles);
    let authed = tlog_tiles::TileHashReader::new(LOG_SIZE, theirs(root), &source);
    let plain = TheirHashes {
        tiles: &log.tiles,
        size: LOG_SIZE,
    };
    let their_proof = tlog_tiles::prove_record(LOG_SIZE, index, &authed).expect("proof");
    let want: Vec<_> = proof.iter().copied().map(theirs).collect();
    assert_eq!(their_proof, want, "tlog_tiles and urne agree");
    let plain_proof = tlog_tiles::prove_record(LOG_SIZE, index, &plain).expect("proof");
    assert_eq!(plain_proof, want, "plain reader agrees");

    let mut g = group(c, "inclusion_proof 777777 in 1M", 1);
    g.bench_function("urne", |b| {
        b.iter(|| inclusion_proof(black_box(index), LOG_SIZE, &log.tiles))
    });
    g.bench_function("tlog_tiles TileHashReader", |b| {
        b.iter(|| tlog_tiles::prove_record(LOG_SIZE, black_box(index), &authed))
    });
    g.bench_function("tlog_tiles plain reader", |b| {
        b.iter(|| tlog_tiles::prove_record(LOG_SIZE, black_box(index), &plain))
    });
    g.finish();

    let mut g = group(c, "verify_inclusion 777777 in 1M", 1);
    g.bench_function("urne", |b| {
        b.iter(|| verify_inclusion(&leaf, index, LOG_SIZE, black_box(&proof), &root).expect("ok"))
    });
    let (their_leaf, their_root) = (theirs(leaf), theirs(root));
    g.bench_function("tlog_tiles check_record", |b| {
        b.iter(|| {
            tlog_tiles::check_record(
                black_box(&their_proof),
                LOG_SIZE,
                their_root,
                index,
                their_leaf,
            )
            .expect("ok")
        })
    });
    g.finish();
}

fn bench_consistency(c: &mut Criterion, log: &Log) {
    let (old, root) = (CONSISTENCY_OLD, log.edge.root());
    let old_root = urne_tlog::root_from_tiles(old, &log.tiles).expect("old root");
    let proof = consistency_proof(old, LOG_SIZE, &log.tiles).expect("proof");
    let source = TheirTiles(&log.tiles);
    let authed = tlog_tiles::TileHashReader::new(LOG_SIZE, theirs(root), &source);
    let plain = TheirHashes {
        tiles: &log.tiles,
        size: LOG_SIZE,
    };
    let their_proof = tlog_tiles::prove_tree(LOG_SIZE, old, &authed).expect("proof");
    let want: Vec<_> = proof.iter().copied().map(theirs).collect();
    assert_eq!(their_proof, want, "tlog_tiles and urne agree");
    let plain_proof = tlog_tiles::prove_tree(LOG_SIZE, old, &plain).expect("proof");
    assert_eq!(plain_proof, want, "plain reader agrees");

    let mut g = group(c, "consistency_proof 654321->1M", 1);
    g.bench_function("urne", |b| {
        b.iter(|| consistency_proof(black_box(old), LOG_SIZE, &log.tiles))
    });
    g.bench_function("tlog_tiles TileHashReader", |b| {
        b.iter(|| tlog_tiles::prove_tree(LOG_SIZE, black_box(old), &authed))
    });
    g.bench_function("tlog_tiles plain reader", |b| {
        b.iter(|| tlog_tiles::prove_tree(LOG_SIZE, black_box(old), &plain))
    });
    g.finish();

    let mut g = group(c, "verify_consistency 654321->1M", 1);
    g.bench_function("urne", |b| {
        b.iter(|| {
            verify_consistency(old, LOG_SIZE, black_box(&proof), &old_root, &root).expect("ok")
        })
    });
    let (their_old, their_root) = (theirs(old_root), theirs(root));
    g.bench_function("tlog_tiles check_tree", |b| {
        b.iter(|| {
            tlog_tiles::check_tree(
                black_box(&their_proof),
                LOG_SIZE,
                their_root,
                old,
                their_old,
            )
            .expect("ok")
        })
    });
    g.finish();
}

fn bench_recompute(c: &mut Criterion, log: &Log) {
    let root = log.edge.root();
    let floor = |bundles: &[(BundleId, Vec<u8>)]| {
        let mut stack = FloorStack::new();
        for (_, bytes) in bundles {
            for e in bundle_entries(bytes) {
                stack.push_leaf(floor_leaf(e));
            }
        }
        assert_eq!(stack.size, LOG_SIZE);
        stack.root()
    };
    assert_eq!(floor(&log.bundles), root.0, "floor and urne agree");

    let mut g = group(c, "recompute 1M-entry log from bundles", LOG_SIZE);
    g.bench_function("urne TreeBuilder + tile compare", |b| {
        b.iter(|| {
            let mut builder = TreeBuilder::new();
            for (id, bytes) in &log.bundles {
                let seq = builder.push_bundle(*id, bytes).expect("push");
                for (tile, data) in &seq.tiles {
                    if tile.is_full() && log.tiles.get(tile) != Some(data) {
                        panic!("tile {tile} differs");
                    }
                }
            }
            let got: Hash = builder.edge().root();
            assert_eq!(got, root);
        })
    });
    g.bench_function("floor sha2 leaves+nodes", |b| {
        b.iter(|| assert_eq!(floor(black_box(&log.bundles)), root.0))
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    let log = build();
    bench_append(c, &log);
    bench_inclusion(c, &log);
    bench_consistency(c, &log);
    bench_recompute(c, &log);
}

criterion_group!(tlog, benches);
criterion_main!(tlog);
