//! Times one RCTab case split into reading and tabulating, and prints peak memory.
//! `cargo run --release -p urne-tally-io --example tally_timing -- CONFIG.json`

use std::path::PathBuf;
use std::time::Instant;

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config_path: PathBuf = std::env::args_os()
        .nth(1)
        .ok_or("usage: tally_timing CONFIG.json")?
        .into();
    let t0 = Instant::now();
    let config = urne_tally_io::load_config(&config_path)?;
    let ballots = urne_tally_io::read_ballots(&config)?;
    let read = t0.elapsed();
    let t1 = Instant::now();
    let outcome = urne_tally_io::tabulate(&config, &ballots)?;
    let tabulate = t1.elapsed();
    println!(
        "ballots {} rounds {} read {:.3}s tabulate {:.3}s total {:.3}s peak_rss {} MiB",
        ballots.len(),
        outcome.num_rounds(),
        read.as_secs_f64(),
        tabulate.as_secs_f64(),
        (read + tabulate).as_secs_f64(),
        peak_rss_kib().unwrap_or(0) / 1024
    );
    Ok(())
}
