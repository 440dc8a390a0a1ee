//! `SqliteStore::swap_checkpoint` one after another, as the sequencer does once per batch.
//! Every swap is a WAL commit with `synchronous=FULL`, i.e. one fsync.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use urne_store::Store;
use urne_store_sqlite::SqliteStore;

fn swap(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = runtime
        .block_on(SqliteStore::open(dir.path().join("urne.db")))
        .expect("open");
    // A checkpoint is a few hundred bytes: origin, size, root hash, signature lines.
    let mut current = vec![b'c'; 400];
    runtime
        .block_on(store.swap_checkpoint("log", None, &current))
        .expect("first swap");
    let mut group = c.benchmark_group("sqlite_store");
    group.sample_size(10);
    group.throughput(Throughput::Elements(1));
    let mut n = 0u64;
    group.bench_function("swap_checkpoint_400B", |b| {
        b.iter(|| {
            n += 1;
            let mut next = current.clone();
            next[..8].copy_from_slice(&n.to_be_bytes());
            runtime
                .block_on(store.swap_checkpoint("log", Some(black_box(&current)), &next))
                .expect("swap");
            current = next;
        });
    });
    group.finish();
}

criterion_group!(benches, swap);
criterion_main!(benches);
