//! `urne`: the one binary. Parses arguments, picks the backend, and calls into the libraries.
#![forbid(unsafe_code)]

mod cvr;

use std::{
    io::Read,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use urne::{DataDir, open_data_dir, read_vkey, serve};

mod roll;
use urne_store::DirBlobs;
use urne_tlog::note::NoteVerifier as _;

/// Verifiable election results, run by the election office.
#[derive(Parser, Debug)]
#[command(name = "urne", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the state lives.
#[derive(clap::Args, Debug)]
struct DataArgs {
    /// Data directory: SQLite store, public tree and log key (created on first use).
    #[arg(long, default_value = "urne-data", env = "URNE_DATA")]
    data: PathBuf,
    /// Log origin for a new log (the checkpoint's first line and the log key's name).
    #[arg(long, default_value = "demo.urne.localhost/log", env = "URNE_ORIGIN")]
    origin: String,
    /// Use PostgreSQL at this URL instead of the SQLite file in the data directory.
    #[arg(long, env = "URNE_DATABASE_URL")]
    database_url: Option<String>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the public tree over HTTP.
    Serve {
        #[command(flatten)]
        data: DataArgs,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Feed the log with a demo entry every second.
        #[arg(long)]
        demo: bool,
        #[command(flatten)]
        roll: roll::ServeRoll,
    },
    /// The voter registration list: import, export, audit, digest, staff, policy.
    Roll {
        #[command(subcommand)]
        command: roll::RollCommand,
    },
    /// Tally cast vote records as RCTab does, from an RCTab contest config (JSON).
    ///
    /// Writes `detailed_report.json`, `detailed_report.csv`, `summary_report.csv`, and, as the
    /// config asks, `cdf_cvr.json`, `pass_<i>/…`, `precinct/<id>/…` and `batch/<id>/…`.
    Tally {
        /// The RCTab config; CVR paths in it are relative to its folder.
        config: PathBuf,
        /// Output directory (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Only convert the CVRs (CDF JSON and normalised CSV), without tabulating.
        #[arg(long)]
        convert_only: bool,
    },
    /// Cast vote record exports (`cvr` releases, so anyone can re-tally).
    Cvr {
        #[command(subcommand)]
        command: cvr::CvrCommand,
    },
    /// Run a C2SP tlog-witness: cosign the checkpoints of the logs named, never two
    /// inconsistent ones (`POST /add-checkpoint`).
    Witness {
        /// Directory for the witness key (`witness.key`, made on first use) and its state
        /// (`witness.db`: the latest checkpoint cosigned per log).
        #[arg(long, default_value = "urne-witness")]
        data: PathBuf,
        /// Name for a new witness key, e.g. `witness.example-university.edu`.
        #[arg(long, default_value = "witness.urne.localhost")]
        name: String,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8081")]
        listen: SocketAddr,
        /// A log to witness: its verifier key (`origin+hash+key`) or a file holding it.
        #[arg(long = "log", required = true)]
        logs: Vec<String>,
    },
    /// Verify a published election log: checkpoint signature, witness quorum, consistency with
    /// the last run (`--state`), every tile, entry, official signature and payload hash.
    ///
    /// Exit codes: 0 verified; 1 something did not verify; 2 could not check; 3 split view or
    /// rollback (evidence file written); 4 verified but awaiting the witness quorum. With
    /// `--evidence FILE`: 0 the file proves a fork; 3 a rollback observation; 1 not evidence.
    Verify {
        /// The public tree: an `http://` or `https://` URL, or a directory (`urne export`).
        source: Option<String>,
        /// State file: the last checkpoint accepted; the next run must be consistent with it.
        #[arg(long)]
        state: Option<PathBuf>,
        /// The genesis trust policy's manifest hash (hex) the log must start with.
        #[arg(long)]
        pin: Option<String>,
        /// The log's verifier key (`origin+hash+key`) or a file holding it; by default the
        /// trust policy's `log` line.
        #[arg(long)]
        log_vkey: Option<String>,
        /// Directory for the evidence file written on a split view or rollback.
        #[arg(long, default_value = ".")]
        evidence_dir: PathBuf,
        /// Check this evidence file offline instead of a log.
        #[arg(long, conflicts_with = "source")]
        evidence: Option<PathBuf>,
    },
    /// Mirror a primary: verify every checkpoint, cosignature, tile, entry and blob before
    /// storing it, and serve the identical public tree; keep serving the last verified state
    /// if the primary lies or goes dark (evidence files go to `DATA/evidence/`).
    Mirror {
        /// The primary's public tree: an `http://` or `https://` URL, or a directory.
        source: String,
        /// The mirror's data directory (`public/` is what it serves).
        #[arg(long, default_value = "urne-mirror")]
        data: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8082")]
        listen: SocketAddr,
        /// The genesis trust policy's manifest hash (hex) the log must start with.
        #[arg(long)]
        pin: Option<String>,
        /// The log's verifier key (`origin+hash+key`) or a file holding it.
        #[arg(long)]
        log_vkey: Option<String>,
        /// Milliseconds between polls of the primary.
        #[arg(long, default_value_t = 1000)]
        interval_ms: u64,
        /// Also act as a C2SP tlog-witness for the log (`POST /add-checkpoint`), with a key of
        /// this name kept in the data directory.
        #[arg(long)]
        witness_name: Option<String>,
    },
    /// Work with the transparency log directly.
    Log {
        #[command(subcommand)]
        command: LogCommand,
    },
}

#[derive(Subcommand, Debug)]
enum LogCommand {
    /// Append each FILE (or standard input for `-`) as one entry, and print its index.
    Append {
        #[command(flatten)]
        data: DataArgs,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Verify a log tree from scratch: signature, every tile, every entry, the root.
    Verify {
        /// The public tree's root directory (the one holding `log/`).
        dir: PathBuf,
        /// The log's verifier key (`name+hash+key`) or a file holding it.
        #[arg(long)]
        vkey: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve {
            data,
            listen,
            demo,
            roll,
        } => run_serve(&data, listen, demo, &roll).await,
        Command::Roll { command } => roll::run(command).await,
        Command::Tally {
            config,
            out,
            convert_only,
        } => tally(&config, &out, convert_only),
        Command::Cvr { command } => cvr::run(command),
        Command::Witness {
            data,
            name,
            listen,
            logs,
        } => witness(&data, &name, listen, &logs).await,
        Command::Verify {
            source,
            state,
            pin,
            log_vkey,
            evidence_dir,
            evidence,
        } => {
            let args = urne::verify_cmd::VerifyArgs {
                source,
                state,
                pin,
                log_vkey,
                evidence_dir,
                evidence,
            };
            let code = tokio::task::spawn_blocking(move || urne::verify_cmd::run(&args)).await?;
            std::process::exit(code)
        }
        Command::Mirror {
            source,
            data,
            listen,
            pin,
            log_vkey,
            interval_ms,
            witness_name,
        } => {
            urne::mirror_cmd::run(urne::mirror_cmd::MirrorArgs {
                source,
                data,
                listen,
                pin,
                log_vkey,
                interval: Duration::from_millis(interval_ms.max(10)),
                witness_name,
            })
            .await
        }
        Command::Log {
            command: LogCommand::Append { data, files },
        } => append(&data, &files).await,
        Command::Log {
            command: LogCommand::Verify { dir, vkey },
        } => verify(&dir, &vkey).await,
    }
}

async fn open(data: &DataArgs) -> anyhow::Result<(DataDir, urne_log::Log)> {
    let dir = open_data_dir(&data.data, &data.origin, data.database_url.as_deref()).await?;
    let config = urne_log::Config::new(dir.origin());
    let log = urne_log::Log::open(
        config,
        dir.signer.clone(),
        dir.store.clone(),
        dir.blobs.clone(),
    )
    .await
    .context("opening the log")?;
    Ok((dir, log))
}

async fn run_serve(
    data: &DataArgs,
    listen: SocketAddr,
    demo: bool,
    roll_args: &roll::ServeRoll,
) -> anyhow::Result<()> {
    let (dir, log) = open(data).await?;
    let roll_router =
        roll::serve_router(roll_args, &data.data, data.database_url.as_deref()).await?;
    let state = serve::AppState {
        blobs: dir.blobs.clone(),
        origin: dir.origin().to_owned(),
        vkey: dir.signer.verifier().vkey(),
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    println!("urne is serving log {} at http://{listen}/", dir.origin());
    println!("log key: {}", state.vkey);
    if demo {
        println!("demo: appending an entry every second; Ctrl-C to stop");
        tokio::spawn(serve::demo_feed(log.handle(), Duration::from_secs(1)));
    }
    let mut app = serve::router(state);
    if let Some(r) = roll_router {
        println!("voter roll: staff API and public lookup under http://{listen}/roll/v1/");
        app = app.merge(r);
    }
    // Peer addresses feed the roll's per-client rate limit.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    log.shutdown().await;
    Ok(())
}

async fn append(data: &DataArgs, files: &[PathBuf]) -> anyhow::Result<()> {
    let mut entries = Vec::with_capacity(files.len());
    for file in files {
        let mut bytes = Vec::new();
        if file.as_os_str() == "-" {
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("reading standard input")?;
        } else {
            bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        }
        if bytes.len() > urne_tlog::ENTRY_BYTES_MAX {
            bail!(
                "{}: {} bytes; a log entry holds at most {}",
                file.display(),
                bytes.len(),
                urne_tlog::ENTRY_BYTES_MAX
            );
        }
        entries.push((file, bytes));
    }
    let (_dir, log) = open(data).await?;
    let handle = log.handle();
    for (file, bytes) in entries {
        let appended = handle.append(bytes).await?;
        println!("{}\t{}", appended.index, file.display());
    }
    log.shutdown().await;
    Ok(())
}

async fn witness(
    data: &Path,
    name: &str,
    listen: SocketAddr,
    logs: &[String],
) -> anyhow::Result<()> {
    use urne_tlog::cosignature::CosignatureSigner;
    std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
    let key_path = data.join("witness.key");
    let signer = match urne::read_private_key_file(&key_path)? {
        Some(text) => CosignatureSigner::from_private_key(&text)
            .with_context(|| format!("{}: not a cosigner private key", key_path.display()))?,
        None => {
            let signer = CosignatureSigner::generate(name, &mut rand_core::OsRng)
                .with_context(|| format!("{name:?} is not a valid witness name"))?;
            urne::write_private_key_file(&key_path, &signer.private_key())?;
            signer
        }
    };
    let mut known = urne_witness::KnownLogs::new();
    for log in logs {
        let verifier = read_vkey(log)?;
        known.add(verifier.name(), verifier.clone());
    }
    let state = urne_witness::SqliteState::open(data.join("witness.db"))
        .await
        .context("opening the witness state")?;
    let witness = std::sync::Arc::new(urne_witness::Witness::new(
        signer,
        known,
        Arc::new(state),
        Arc::new(urne_witness::SystemClock),
    ));
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    println!("urne witness at http://{listen}/add-checkpoint");
    println!("witness key: {}", witness.verifier().vkey());
    urne_witness::serve(listener, witness, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}

fn tally(config: &Path, out: &Path, convert_only: bool) -> anyhow::Result<()> {
    if convert_only {
        for file in urne_tally_io::convert(config, out)? {
            println!("wrote {}", file.display());
        }
        return Ok(());
    }
    let report = urne_tally_io::run(config, out)?;
    println!(
        "{} ballots, {} rounds; elected: {}",
        report.ballots,
        report.rounds,
        report.winners.join(", ")
    );
    for file in &report.files {
        println!("wrote {}", file.display());
    }
    Ok(())
}

async fn verify(dir: &Path, vkey: &str) -> anyhow::Result<()> {
    let verifier = read_vkey(vkey)?;
    let blobs = Arc::new(DirBlobs::new(dir));
    let report = urne_log::verify_tree(blobs.as_ref(), verifier.name(), &verifier)
        .await
        .with_context(|| format!("verifying the log in {}", dir.display()))?;
    println!(
        "OK {} size {} root {}: {} bundles and {} tiles checked",
        report.origin, report.size, report.root, report.bundles_checked, report.tiles_checked
    );
    Ok(())
}
