//! The process `tests/crash.rs` kills with SIGKILL: appends entries from several tasks as fast
//! as the log takes them and prints `ACK <index> <entry>` once each append is acknowledged.
//!
//! Usage: `urne-crash-child DATA_DIR RUN_ID`
#![forbid(unsafe_code)]

use std::{io::Write, path::PathBuf, time::Duration};

use anyhow::Context;

/// Concurrent appenders: enough to fill batches and straddle tile boundaries.
const WORKERS: usize = 8;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let data = PathBuf::from(
        args.next()
            .context("usage: urne-crash-child DATA_DIR RUN_ID")?,
    );
    let run = args
        .next()
        .context("usage: urne-crash-child DATA_DIR RUN_ID")?;
    let dir = urne::open_data_dir(&data, "crash.urne.localhost/log", None).await?;
    let mut config = urne_log::Config::new(dir.origin());
    // Small, odd-sized batches: many commits, each a chance for SIGKILL to land mid-way.
    config.batch_entries_max = 37;
    config.batch_wait = Duration::from_millis(2);
    config.pending_entries_max = 1024;
    let log = urne_log::Log::open(
        config,
        dir.signer.clone(),
        dir.store.clone(),
        dir.blobs.clone(),
    )
    .await?;
    let mut tasks = Vec::new();
    for worker in 0..WORKERS {
        let handle = log.handle();
        let run = run.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0u64.. {
                let entry = format!("run {run} worker {worker} entry {n}");
                match handle.append(entry.clone().into_bytes()).await {
                    Ok(a) => {
                        let line = format!("ACK {} {entry}\n", a.index);
                        let mut out = std::io::stdout().lock();
                        out.write_all(line.as_bytes())?;
                        out.flush()?;
                    }
                    Err(urne_log::AppendError::Busy { .. }) => {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                    Err(e) => anyhow::bail!("append failed: {e}"),
                }
            }
            Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(())
}
