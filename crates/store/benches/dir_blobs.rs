//! `DirBlobs::put` of an 8 KiB value (a full tile is 8 KiB: 256 hashes of 32 bytes), each to
//! a new key as the sequencer writes new tiles. Every put fsyncs the file and its directory,
//! so the number depends on the disk far more than on the code.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use urne_store::{Blobs, DirBlobs};

fn put_8k(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let blobs = DirBlobs::new(dir.path());
    let tile = vec![0xA5u8; 8 * 1024];
    let mut group = c.benchmark_group("dir_blobs");
    group.sample_size(10);
    group.throughput(Throughput::Elements(1));
    let mut n = 0u64;
    group.bench_function("put_8KiB_new_key", |b| {
        b.iter(|| {
            n += 1;
            let key = format!("log/tile/0/x{:03}/{:03}", n / 1000, n % 1000);
            runtime
                .block_on(blobs.put(black_box(&key), black_box(&tile)))
                .expect("put");
        });
    });
    group.bench_function("put_8KiB_same_key", |b| {
        b.iter(|| {
            runtime
                .block_on(blobs.put("log/checkpoint", black_box(&tile)))
                .expect("put")
        });
    });
    // The sequencer can write a batch's tiles concurrently: the file system then commits
    // their metadata together, so eight puts cost far less than eight times one.
    let blobs = Arc::new(blobs);
    let tile = Arc::new(tile);
    group.throughput(Throughput::Elements(8));
    group.bench_function("put_8KiB_x8_concurrent", |b| {
        b.iter(|| {
            n += 1;
            runtime.block_on(async {
                let puts: Vec<_> = (0..8)
                    .map(|i| {
                        let (blobs, tile) = (Arc::clone(&blobs), Arc::clone(&tile));
                        let key = format!("log/tile/1/x{:03}/{:03}.p/{i}", n / 1000, n % 1000);
                        tokio::spawn(async move { blobs.put(&key, &tile).await })
                    })
                    .collect();
                for put in puts {
                    put.await.expect("task").expect("put");
                }
            });
        });
    });
    group.finish();
}

criterion_group!(benches, put_8k);
criterion_main!(benches);
