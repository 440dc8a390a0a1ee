//! Benchmarks on a 1M-entry log of 100-byte entries, tiles in a HashMap.
//!
//! Run: `cargo bench -p urne-tlog --bench tlog`.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use urne_tlog::{
    BundleId, Edge, Hash, TileId, TreeBuilder, consistency_proof, inclusion_proof, leaf_hash,
    verify_consistency, verify_inclusion,
};

const LOG_SIZE: u64 = 1 << 20;

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

fn benches(c: &mut Criterion) {
    let log = build();
    let root = log.edge.root();
    let mut g = c.benchmark_group("tlog");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));

    let batch: Vec<Vec<u8>> = (LOG_SIZE..LOG_SIZE + 10_000).map(entry).collect();
    g.throughput(Throughput::Elements(batch.len() as u64));
    g.bench_function("append 10k x 100B at 1M", |b| {
        b.iter(|| log.edge.append(black_box(&batch)).expect("append"))
    });

    g.throughput(Throughput::Elements(1));
    let index = 777_777;
    let leaf = leaf_hash(&entry(index));
    let proof = inclusion_proof(index, LOG_SIZE, &log.tiles).expect("proof");
    g.bench_function("inclusion_proof 1M", |b| {
        b.iter(|| inclusion_proof(black_box(index), LOG_SIZE, &log.tiles))
    });
    g.bench_function("verify_inclusion 1M", |b| {
        b.iter(|| verify_inclusion(&leaf, index, LOG_SIZE, black_box(&proof), &root).expect("ok"))
    });

    let old = 654_321;
    let old_root = urne_tlog::root_from_tiles(old, &log.tiles).expect("old root");
    let cproof = consistency_proof(old, LOG_SIZE, &log.tiles).expect("proof");
    g.bench_function("consistency_proof 654321->1M", |b| {
        b.iter(|| consistency_proof(black_box(old), LOG_SIZE, &log.tiles))
    });
    g.bench_function("verify_consistency 654321->1M", |b| {
        b.iter(|| {
            verify_consistency(old, LOG_SIZE, black_box(&cproof), &old_root, &root).expect("ok")
        })
    });

    g.throughput(Throughput::Elements(LOG_SIZE));
    g.bench_function("verify 1M-entry log from bundles", |b| {
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
    g.finish();
}

criterion_group!(tlog, benches);
criterion_main!(tlog);
