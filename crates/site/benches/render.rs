//! Rendering the whole public tree for Pennsylvania 2024 (every county's precinct file, one
//! release), against a baseline measured in the same run: serde_json writing the same snapshot
//! as NIST SP 1500-100 JSON (`export_nist_json`), the cheapest full pass over the data.
//!
//! `cargo bench -p urne-site --bench render` (needs ../shared/data; prints SKIPPED without).

use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};

#[path = "../tests/common/mod.rs"]
mod common;

fn bench(c: &mut Criterion) {
    let Some(snapshot) = common::pa_snapshot("bench render") else {
        return;
    };
    let f = common::build(vec![common::Step {
        snapshot,
        status: urne_release::Status::Unofficial,
        correction: None,
        signers: vec!["registrar", "deputy"],
    }]);
    let site = common::site(&f);
    // One render outside criterion for the size report.
    let t = Instant::now();
    let tree = urne_site::render(&site).unwrap();
    let once = t.elapsed();
    let html: Vec<usize> = tree
        .iter()
        .filter(|(p, _)| p.ends_with(".html"))
        .map(|(_, b)| b.len())
        .collect();
    let total: usize = tree.values().map(Vec::len).sum();
    let html_total: usize = html.iter().sum();
    let biggest = tree
        .iter()
        .filter(|(p, _)| p.ends_with(".html"))
        .max_by_key(|(_, b)| b.len())
        .unwrap();
    println!(
        "PA 2024: {} files, {} bytes; {} pages, {} bytes, mean {} bytes, biggest {} ({} bytes); summary {} bytes; one render {:?}",
        tree.len(),
        total,
        html.len(),
        html_total,
        html_total / html.len().max(1),
        biggest.0,
        biggest.1.len(),
        tree["elections/2026-11-03-general/index.html"].len(),
        once
    );
    drop(tree);
    let mut g = c.benchmark_group("pa_2024");
    g.sample_size(10)
        .sampling_mode(criterion::SamplingMode::Flat)
        .warm_up_time(std::time::Duration::from_millis(1))
        .measurement_time(std::time::Duration::from_secs(1));
    g.bench_function("baseline_nist_json_serde", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            urne_results::export_nist_json(&f.snapshots[0], "2024-11-06T00:00:00Z", &mut out)
                .unwrap();
            out.len()
        })
    });
    g.bench_function("render_tree", |b| {
        b.iter(|| urne_site::render(&site).unwrap().len())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
