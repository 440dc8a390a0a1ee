//! Times one RCTab case split into reading and tabulating, and prints peak memory.
//! `cargo run --release -p urne-tally-io --example tally_timing -- CONFIG.json`
//!
//! Besides wall time it prints the process CPU time (user + system, from `/proc/self/stat`) of
//! each step, which a loaded machine distorts far less, and a same-run baseline: only
//! inflating every ES&S source's sheets (`zip` + zlib-rs, no XML), the floor any xlsx reader
//! pays.

use std::io::Read;
use std::path::PathBuf;
use std::time::Instant;

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// User + system CPU seconds of this process so far (clock ticks of 10 ms).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let after = stat.rsplit_once(')').map_or("", |s| s.1);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// Inflates every sheet of every xlsx source (the baseline), returning bytes inflated.
fn inflate_only(config: &urne_tally_io::Config) -> Result<u64, Box<dyn std::error::Error>> {
    let mut total = 0u64;
    let mut buf = vec![0u8; 1 << 16];
    for source in &config.sources {
        let f = std::fs::File::open(&source.resolved)?;
        let mut zip = zip::ZipArchive::new(std::io::BufReader::new(f))?;
        for i in 0..zip.len() {
            let mut entry = zip.by_index(i)?;
            if !entry.name().ends_with(".xml") {
                continue;
            }
            loop {
                let n = entry.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                total += n as u64;
            }
        }
    }
    Ok(total)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config_path: PathBuf = std::env::args_os()
        .nth(1)
        .ok_or("usage: tally_timing CONFIG.json")?
        .into();
    let (t0, c0) = (Instant::now(), cpu_seconds());
    let config = urne_tally_io::load_config(&config_path)?;
    let ballots = urne_tally_io::read_ballots(&config)?;
    let (read, read_cpu) = (t0.elapsed(), cpu_seconds() - c0);
    let (t1, c1) = (Instant::now(), cpu_seconds());
    let outcome = urne_tally_io::tabulate(&config, &ballots)?;
    let (tabulate, tabulate_cpu) = (t1.elapsed(), cpu_seconds() - c1);
    println!(
        "ballots {} rounds {} read {:.3}s (cpu {:.2}s) tabulate {:.3}s (cpu {:.2}s) \
         total {:.3}s peak_rss {} MiB",
        ballots.len(),
        outcome.num_rounds(),
        read.as_secs_f64(),
        read_cpu,
        tabulate.as_secs_f64(),
        tabulate_cpu,
        (read + tabulate).as_secs_f64(),
        peak_rss_kib().unwrap_or(0) / 1024
    );
    if config
        .sources
        .iter()
        .all(|s| s.provider == urne_tally_io::config::Provider::Ess)
    {
        let (t2, c2) = (Instant::now(), cpu_seconds());
        let bytes = inflate_only(&config)?;
        println!(
            "baseline: inflate only (one thread) {:.3}s (cpu {:.2}s), {} MiB of XML",
            t2.elapsed().as_secs_f64(),
            cpu_seconds() - c2,
            bytes >> 20
        );
    }
    Ok(())
}
