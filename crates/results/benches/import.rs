//! Import speed against an untyped parse of the same bytes, measured in the same run:
//! the PA 2024 and GA 2018 OpenElections sets (vs the csv crate's raw records: a streaming
//! `ByteRecord` scan that keeps nothing, and every row kept as a `ByteRecord` or as a
//! `StringRecord`, the CSV counterparts of a `serde_json::Value`), NIST JSON files built from
//! PA and from GA (vs `serde_json::Value`), and a synthetic state 10x PA (time and peak
//! memory, one shot).
//! Data as for the tests (`URNE_SHARED_DATA` or `../shared/data`).
//!
//! `URNE_BENCH_SYNTHETIC_ONLY=1` runs only the synthetic state and exits, so that
//! `/usr/bin/time -v` on the bench binary reports that import's peak memory.

use std::hint::black_box;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[path = "support/floor.rs"]
mod floor;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use urne_results::{
    CsvOptions, CsvSource, NistOptions, export_nist_json, import_nist_json_bytes,
    import_openelections_csv, import_openelections_csv_bytes,
};

fn data_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("URNE_SHARED_DATA") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    };
    if dir.is_dir() {
        Some(dir)
    } else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED benches: no data at {}",
            dir.display()
        );
        None
    }
}

fn load(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

fn raw_records(files: &[(String, Vec<u8>)]) -> u64 {
    let mut n = 0;
    let mut record = csv::ByteRecord::new();
    for (_, bytes) in files {
        let mut r = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(&bytes[..]);
        while r.read_byte_record(&mut record).unwrap() {
            n += record.len() as u64;
        }
    }
    n
}

/// Every row of every file parsed and kept as raw bytes (no UTF-8 check).
fn byte_records_kept(files: &[(String, Vec<u8>)]) -> Vec<csv::ByteRecord> {
    let mut rows = Vec::new();
    for (_, bytes) in files {
        let mut r = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(&bytes[..]);
        for record in r.byte_records() {
            rows.push(record.unwrap());
        }
    }
    rows
}

/// Every row of every file parsed and kept, untyped: what a `serde_json::Value` is for JSON.
fn raw_records_kept(files: &[(String, Vec<u8>)]) -> Vec<csv::StringRecord> {
    let mut rows = Vec::new();
    for (_, bytes) in files {
        let mut r = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(&bytes[..]);
        for record in r.records() {
            rows.push(record.unwrap());
        }
    }
    rows
}

/// Our import of files in memory, read where they are.
fn ours(files: &[(String, Vec<u8>)], options: &CsvOptions) -> usize {
    let sources: Vec<CsvSource<&[u8]>> = files
        .iter()
        .map(|(name, bytes)| CsvSource {
            name: name.clone(),
            reader: &bytes[..],
        })
        .collect();
    let imported = import_openelections_csv_bytes(&sources, options).unwrap();
    imported.snapshot.contests.len()
}

/// Our import through readers (each file copied into the importer's buffer first).
fn ours_read(files: &[(String, Vec<u8>)], options: &CsvOptions) -> usize {
    let sources = files
        .iter()
        .map(|(name, bytes)| CsvSource {
            name: name.clone(),
            reader: &bytes[..],
        })
        .collect();
    let imported = import_openelections_csv(sources, options).unwrap();
    imported.snapshot.contests.len()
}

fn pa_options() -> CsvOptions {
    CsvOptions {
        danger_skip_bad_rows: true,
        ..CsvOptions::new("Pennsylvania", "2024 General Election", "2024-11-05")
    }
}

fn ga_options() -> CsvOptions {
    CsvOptions::new("Georgia", "2018 General Election", "2018-11-06")
}

fn bench(c: &mut Criterion) {
    let Some(data) = data_dir() else { return };
    let pa = load(&data.join("openelections/pa-2024-general-precinct"));
    // First, while the process is small, so its peak memory is the import's.
    synthetic_state(&pa);
    if std::env::var_os("URNE_BENCH_SYNTHETIC_ONLY").is_some() {
        std::process::exit(0);
    }
    let ga = load(&data.join("openelections/ga-2018-general-precinct"));

    for (name, files, options) in [
        ("pa-2024", &pa, pa_options()),
        ("ga-2018", &ga, ga_options()),
    ] {
        let bytes: usize = files.iter().map(|f| f.1.len()).sum();
        let mut g = c.benchmark_group(format!("csv/{name}"));
        g.sample_size(10);
        g.throughput(Throughput::Bytes(bytes as u64));
        g.bench_function("baseline csv ByteRecord", |b| {
            b.iter(|| black_box(raw_records(files)))
        });
        g.bench_function("baseline csv ByteRecords kept", |b| {
            b.iter(|| black_box(byte_records_kept(files)))
        });
        g.bench_function("baseline csv StringRecords kept", |b| {
            b.iter(|| black_box(raw_records_kept(files)))
        });
        g.bench_function("floor: counts parsed, none kept", |b| {
            b.iter(|| {
                let mut sum = 0u64;
                floor::floor_scan(files, |_, _, v| sum = sum.wrapping_add(v));
                black_box(sum)
            })
        });
        g.bench_function("floor: counts written, nothing resolved", |b| {
            b.iter(|| black_box(floor::floor_counts(files)))
        });
        g.bench_function("urne import (typed, validated)", |b| {
            b.iter(|| black_box(ours(files, &options)))
        });
        g.bench_function("urne import through readers", |b| {
            b.iter(|| black_box(ours_read(files, &options)))
        });
        g.finish();
    }

    // Each state's CSV set exported as NIST JSON, then imported back.
    for (name, files, options) in [
        ("pa-2024", &pa, pa_options()),
        ("ga-2018", &ga, ga_options()),
    ] {
        let sources = files
            .iter()
            .map(|(n, b)| CsvSource {
                name: n.clone(),
                reader: &b[..],
            })
            .collect();
        let snapshot = import_openelections_csv(sources, &options)
            .unwrap()
            .snapshot;
        let mut json = Vec::new();
        export_nist_json(&snapshot, "2024-11-05T20:00:00Z", &mut json).unwrap();
        drop(snapshot);
        let mut g = c.benchmark_group(format!("nist-json/{name}"));
        g.sample_size(10);
        g.throughput(Throughput::Bytes(json.len() as u64));
        g.bench_function("baseline serde_json::Value", |b| {
            b.iter(|| black_box(serde_json::from_slice::<serde_json::Value>(&json).unwrap()))
        });
        g.bench_function("urne import (typed, validated)", |b| {
            b.iter(|| {
                black_box(
                    import_nist_json_bytes("state.json", &json, &NistOptions::default()).unwrap(),
                )
            })
        });
        g.finish();
    }
}

/// A field of `/proc/self/status` (Linux) in MiB: `VmHWM` (peak RSS) or `VmRSS`.
fn status_mib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Ten copies of PA with renamed counties: ~3.6M rows, one shot.
fn synthetic_state(pa: &[(String, Vec<u8>)]) {
    let mut files = Vec::new();
    for copy in 0..10 {
        for (name, bytes) in pa {
            let text = String::from_utf8_lossy(bytes);
            let mut out = String::with_capacity(bytes.len() + bytes.len() / 8);
            for (i, line) in text.split_inclusive('\n').enumerate() {
                if i == 0 {
                    out.push_str(line);
                } else {
                    // The county is the first column: suffix it so copies are distinct units.
                    match line.split_once(',') {
                        Some((county, rest)) => {
                            out.push_str(county);
                            out.push_str(&format!(" {copy},"));
                            out.push_str(rest);
                        }
                        None => out.push_str(line),
                    }
                }
            }
            files.push((format!("{copy}-{name}"), out.into_bytes()));
        }
    }
    let bytes: usize = files.iter().map(|f| f.1.len()).sum();
    // Linux: writing 5 to clear_refs resets the peak RSS, so the peak below is this import's.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = status_mib("VmRSS:").unwrap_or(0.0);
    let t = Instant::now();
    let n = raw_records(&files);
    let raw = t.elapsed();
    let t = Instant::now();
    let sources = files
        .iter()
        .map(|(n, b)| CsvSource {
            name: n.clone(),
            reader: &b[..],
        })
        .collect();
    let imported = import_openelections_csv(sources, &pa_options()).unwrap();
    let ours = t.elapsed();
    let counts: usize = imported
        .snapshot
        .contests
        .iter()
        .map(|c| c.counts.len())
        .sum();
    let after = status_mib("VmHWM:").unwrap_or(0.0);
    let t = Instant::now();
    drop(imported);
    let dropped = t.elapsed();
    // After the import is gone, so the process peak stays the import's.
    let t = Instant::now();
    let kept = raw_records_kept(&files);
    let kept_time = t.elapsed();
    let rows = kept.len();
    drop(kept);
    println!(
        "synthetic 10x PA: {:.1} MB, {rows} rows, {n} fields; baseline ByteRecord {:.2?}, StringRecords kept {:.2?}; urne import {:.2?} ({counts} counts; dropping it {:.2?}); peak RSS {:.0} MiB (RSS before, input bytes held: {:.0} MiB)",
        bytes as f64 / 1e6,
        raw,
        kept_time,
        ours,
        dropped,
        after,
        before
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
