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
use axum::serve::ListenerExt as _;
use clap::{Parser, Subcommand};
use urne::{DataDir, bundle::Bundle, officials, open_data_dir, read_vkey, serve};
use urne_release::Status;

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
    /// Use PostgreSQL at this URL instead of the SQLite file in the data directory: the
    /// checkpoint and the blobs (tiles, payloads) live in the database, and several `urne
    /// serve` processes may share it (one sequences, all serve). Put the tables in their own
    /// schema with `?options=-csearch_path%3Dmyschema`.
    #[arg(long, env = "URNE_DATABASE_URL")]
    database_url: Option<String>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the public tree over HTTP and accept signed releases (`POST /api/v1/releases`).
    Serve {
        #[command(flatten)]
        data: DataArgs,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Page title (the office's name).
        #[arg(long, default_value = urne::DEFAULT_TITLE, env = "URNE_TITLE")]
        title: String,
        /// Run an election night: demo officials publish signed releases of real results
        /// every few seconds through the publish endpoint.
        #[arg(long)]
        demo: bool,
        #[command(flatten)]
        roll: roll::ServeRoll,
        /// Seconds between demo releases.
        #[arg(long, default_value_t = 3)]
        demo_every: u64,
        /// With `--database-url`: the base URL other servers of the same database redirect
        /// publishers to while this one sequences (default `http://` + the listen address).
        #[arg(long, env = "URNE_ADVERTISE")]
        advertise: Option<String>,
        /// Bytes of rendered pages, API files and downloads kept in memory (each is rendered
        /// on its first request; the least recently used go first).
        #[arg(long, env = "URNE_RENDER_CACHE_BYTES", default_value_t = urne::rendered::RENDER_CACHE_BYTES_DEFAULT)]
        render_cache_bytes: usize,
    },
    /// Write the whole public tree (pages, API, downloads, log/, blobs/) to DIR as static
    /// files, byte for byte what `urne serve` serves for the same log.
    Export {
        dir: PathBuf,
        /// Data directory of the log to export.
        #[arg(long, default_value = "urne-data", env = "URNE_DATA")]
        data: PathBuf,
        /// Page title (must match `serve`'s for byte-identical pages).
        #[arg(long, default_value = urne::DEFAULT_TITLE, env = "URNE_TITLE")]
        title: String,
        /// The log's PostgreSQL database, when `serve` runs with `--database-url`.
        #[arg(long, env = "URNE_DATABASE_URL")]
        database_url: Option<String>,
    },
    /// Make an official's signing key: FILE (private, mode 0600) and FILE.vkey.
    Keygen {
        /// The official's name as it appears in signatures, e.g. `registrar.example-county.gov`.
        #[arg(long)]
        name: String,
        #[arg(long)]
        out: PathBuf,
        /// Seal the private key under a passphrase (Argon2id + XChaCha20-Poly1305), asked on
        /// the terminal twice, or read from --passphrase-file or URNE_KEY_PASSPHRASE.
        #[arg(long)]
        encrypt: bool,
        /// A file whose first line is the passphrase (for scripts).
        #[arg(long, requires = "encrypt")]
        passphrase_file: Option<PathBuf>,
    },
    /// The officials' trust policy.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Results releases.
    Results {
        #[command(subcommand)]
        command: ResultsCommand,
    },
    /// Add one official's signature to a release bundle.
    Sign {
        bundle: PathBuf,
        /// The official's private key file.
        #[arg(long)]
        key: PathBuf,
        /// For a passphrase-protected key: a file whose first line is the passphrase
        /// (otherwise URNE_KEY_PASSPHRASE, otherwise a prompt on the terminal).
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
    },
    /// Upload a signed release bundle to a server (one request).
    Publish {
        bundle: PathBuf,
        /// The server's base URL, e.g. `https://results.example-county.gov`.
        #[arg(long, env = "URNE_SERVER")]
        server: String,
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
    /// the last run (`--state`), every tile, entry, official signature and payload hash, and
    /// every page, API file and download against the tree re-rendered from the payloads.
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
        /// The site title the pages must show (not signed); by default read from the served
        /// `index.html`.
        #[arg(long)]
        title: Option<String>,
        /// Check only the log, not the pages, API files and downloads.
        #[arg(long)]
        log_only: bool,
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
        /// Page title of the pages the mirror renders from the verified log (the primary's
        /// `--title`, so they are byte-identical to the primary's).
        #[arg(long, default_value = urne::DEFAULT_TITLE, env = "URNE_TITLE")]
        title: String,
    },
    /// Work with the transparency log directly.
    Log {
        #[command(subcommand)]
        command: LogCommand,
    },
}

#[derive(Subcommand, Debug)]
enum PolicyCommand {
    /// Write an unsigned trust-policy bundle (the log's first entry, or a rotation).
    Init {
        /// An official's verifier key (`name+hash+key`) or a file holding it; repeat.
        #[arg(long = "official", required = true)]
        officials: Vec<String>,
        /// Signatures every release needs (k of n).
        #[arg(long)]
        threshold: usize,
        /// A witness's cosigner verifier key or a file holding it, optionally followed by a
        /// space and the URL `urne serve` asks for cosignatures (`"KEY http://host:port"`);
        /// repeat.
        #[arg(long = "witness")]
        witnesses: Vec<String>,
        /// Witness cosignatures a checkpoint needs (default: all witnesses).
        #[arg(long)]
        witness_quorum: Option<usize>,
        /// The log's verifier key (or file), recorded in the policy for verifiers.
        #[arg(long)]
        log: Option<String>,
        /// `official`, or `test` for a rehearsal log.
        #[arg(long, default_value = "official", value_parser = parse_status)]
        status: Status,
        /// For a rotation: the current policy's bundle directory or manifest hash.
        #[arg(long)]
        previous: Option<String>,
        /// For a rotation: the policy stream's next sequence number.
        #[arg(long)]
        sequence: Option<u64>,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum ResultsCommand {
    /// Validate a results export and write an unsigned release bundle (canonical snapshot
    /// payload and manifest).
    Import {
        /// The results file (several OpenElections CSV files make one snapshot).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Default: from the file name (`.json` NIST JSON, `.xml` NIST XML, `detail.xml`
        /// Clarity, `.csv` OpenElections).
        #[arg(long, value_enum)]
        format: Option<officials::Format>,
        /// The election id (`[a-z0-9._-]`, e.g. `2026-11-03-general`).
        #[arg(long)]
        election: String,
        /// Position in the election's results stream (default: 0, or the previous bundle's + 1).
        #[arg(long)]
        sequence: Option<u64>,
        /// The stream's previous release: its bundle directory or manifest hash.
        #[arg(long)]
        previous: Option<String>,
        /// test, unofficial, official or certified.
        #[arg(long, value_parser = parse_status)]
        status: Status,
        /// Why totals went down since the previous release (required if any did).
        #[arg(long)]
        correction: Option<String>,
        /// CSV only: the election's name.
        #[arg(long, default_value = "General Election")]
        election_name: String,
        /// CSV only: the election date (YYYY-MM-DD).
        #[arg(long, default_value = "")]
        date: String,
        /// CSV only: the state's name (the root unit).
        #[arg(long, default_value = "State")]
        state: String,
        #[arg(long)]
        out: PathBuf,
    },
}

fn parse_status(text: &str) -> Result<Status, String> {
    Status::ALL
        .into_iter()
        .find(|s| s.as_str() == text)
        .ok_or_else(|| format!("{text:?}: expected test, unofficial, official or certified"))
}

/// The sequence after a previous bundle, or 0 without one.
fn next_sequence(explicit: Option<u64>, previous: Option<&str>) -> anyhow::Result<u64> {
    match (explicit, previous) {
        (Some(n), _) => Ok(n),
        (None, None) => Ok(0),
        (None, Some(p)) => {
            let dir = Path::new(p);
            if !dir.join(urne::bundle::MANIFEST_FILE).is_file() {
                bail!("--previous is a hash: give --sequence too");
            }
            Ok(Bundle::read(dir)?.parsed_manifest().sequence + 1)
        }
    }
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
            title,
            demo,
            roll,
            demo_every,
            advertise,
            render_cache_bytes,
        } => {
            run_serve(
                &data,
                listen,
                &title,
                demo.then_some(Duration::from_secs(demo_every)),
                &roll,
                advertise,
                render_cache_bytes,
            )
            .await
        }
        Command::Export {
            dir,
            data,
            title,
            database_url,
        } => export(&dir, &data, &title, database_url.as_deref()).await,
        Command::Keygen {
            name,
            out,
            encrypt,
            passphrase_file,
        } => {
            let vkey = if encrypt {
                let source = urne::keyfile::PassphraseSource {
                    file: passphrase_file,
                };
                let pass = source.read(&format!("Passphrase for {}: ", out.display()), true)?;
                officials::keygen_encrypted(&name, &out, &pass)?
            } else {
                officials::keygen(&name, &out)?
            };
            println!("{}", vkey.vkey());
            eprintln!(
                "wrote {} (private, mode 0600{}) and {}",
                out.display(),
                if encrypt {
                    ", passphrase-protected"
                } else {
                    ""
                },
                officials::vkey_path(&out).display()
            );
            Ok(())
        }
        Command::Policy {
            command:
                PolicyCommand::Init {
                    officials: keys,
                    threshold,
                    witnesses,
                    witness_quorum,
                    log,
                    status,
                    previous,
                    sequence,
                    out,
                },
        } => {
            let args = officials::PolicyArgs {
                officials: keys
                    .iter()
                    .map(|k| read_vkey(k))
                    .collect::<Result<_, _>>()?,
                threshold,
                log: log.as_deref().map(read_vkey).transpose()?,
                witnesses: witnesses
                    .iter()
                    .map(|w| read_text_arg(w))
                    .collect::<Result<_, _>>()?,
                witness_quorum,
                status,
                sequence: next_sequence(sequence, previous.as_deref())?,
                previous: previous
                    .as_deref()
                    .map(officials::previous_hash)
                    .transpose()?,
                timestamp: officials::now(),
            };
            let bundle = officials::policy_init(&args, &out)?;
            print_bundle(&bundle);
            Ok(())
        }
        Command::Results {
            command:
                ResultsCommand::Import {
                    files,
                    format,
                    election,
                    sequence,
                    previous,
                    status,
                    correction,
                    election_name,
                    date,
                    state,
                    out,
                },
        } => {
            let args = officials::ImportArgs {
                files,
                format,
                election,
                sequence: next_sequence(sequence, previous.as_deref())?,
                previous,
                status,
                correction,
                timestamp: officials::now(),
                csv_election_name: election_name,
                csv_date: date,
                csv_state: state,
            };
            let bundle = officials::results_import(&args, &out)?;
            print_bundle(&bundle);
            Ok(())
        }
        Command::Sign {
            bundle,
            key,
            passphrase_file,
        } => {
            let source = urne::keyfile::PassphraseSource {
                file: passphrase_file,
            };
            let signer = officials::read_signer_with(&key, &source)?;
            let mut b = Bundle::read(&bundle)?;
            b.sign(&signer)?;
            println!(
                "signed {} as {}; signatures now:\n{}",
                bundle.display(),
                signer.name(),
                b.signatures.trim_end()
            );
            Ok(())
        }
        Command::Publish { bundle, server } => {
            let b = Bundle::read(&bundle)?;
            let answer =
                tokio::task::spawn_blocking(move || officials::publish(&b, &server)).await??;
            if answer.status != 200 {
                bail!(
                    "the server refused the release ({}): {}",
                    answer.status,
                    answer.text.trim()
                );
            }
            print!("{}", answer.text);
            Ok(())
        }
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
            title,
            log_only,
        } => {
            let args = urne::verify_cmd::VerifyArgs {
                source,
                state,
                pin,
                log_vkey,
                evidence_dir,
                evidence,
                title,
                log_only,
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
            title,
        } => {
            urne::mirror_cmd::run(urne::mirror_cmd::MirrorArgs {
                source,
                data,
                listen,
                pin,
                log_vkey,
                interval: Duration::from_millis(interval_ms.max(10)),
                witness_name,
                title,
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

/// Opens the data directory and the log for a one-shot writer. On PostgreSQL it first takes
/// the log's leader lock (refused while a server sequences); the lock is held until the
/// returned guard is dropped.
async fn open(
    data: &DataArgs,
) -> anyhow::Result<(
    DataDir,
    urne_log::Log,
    Option<urne_store_postgres::LeaderLock>,
)> {
    let dir = open_data_dir(&data.data, &data.origin, data.database_url.as_deref()).await?;
    let lock = match &dir.postgres {
        Some(pg) => Some(urne::cluster::exclusive(pg, dir.origin()).await?),
        None => None,
    };
    let config = urne_log::Config::new(dir.origin());
    let log = urne_log::Log::open(
        config,
        dir.signer.clone(),
        dir.store.clone(),
        dir.blobs.clone(),
    )
    .await
    .context("opening the log")?;
    Ok((dir, log, lock))
}

fn print_bundle(bundle: &Bundle) {
    println!(
        "wrote {} (manifest {}); officials sign it with `urne sign {} --key FILE`",
        bundle.dir.display(),
        urne_release::manifest::hex(&urne_release::manifest::sha256(bundle.manifest.as_bytes())),
        bundle.dir.display()
    );
}

/// A key string or a file holding one.
fn read_text_arg(arg: &str) -> anyhow::Result<String> {
    if Path::new(arg).is_file() {
        Ok(std::fs::read_to_string(arg)
            .with_context(|| format!("reading {arg}"))?
            .trim()
            .to_owned())
    } else {
        Ok(arg.to_owned())
    }
}

async fn export(
    dir: &Path,
    data: &Path,
    title: &str,
    database_url: Option<&str>,
) -> anyhow::Result<()> {
    let vkey = read_vkey(&data.join(urne::LOG_VKEY_FILE).to_string_lossy())?;
    let site = urne::publish::SiteConfig {
        title: title.to_owned(),
        origin: vkey.name().to_owned(),
        log_vkey: vkey.vkey(),
        render_cache_bytes: urne::rendered::RENDER_CACHE_BYTES_DEFAULT,
        spill_dir: None,
        spill_bytes_min: urne::serve::SPILL_BYTES_MIN,
    };
    let blobs: Arc<dyn urne_store::Blobs> = match database_url {
        Some(url) => Arc::new(
            urne_store_postgres::PgStore::connect(url)
                .await
                .context("connecting to PostgreSQL")?
                .blobs(),
        ),
        None => Arc::new(DirBlobs::new(data.join(urne::PUBLIC_DIR))),
    };
    let n = urne::export_tree(blobs.as_ref(), &site, dir).await?;
    println!("exported {n} files to {}", dir.display());
    Ok(())
}

/// `DATA/spill`, made if missing: where `urne serve` keeps large rendered files while serving
/// them (on the data directory's disk, not a temporary directory that may be memory).
fn spill_dir(data: &Path) -> anyhow::Result<PathBuf> {
    let dir = data.join("spill");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

async fn run_serve(
    data: &DataArgs,
    listen: SocketAddr,
    title: &str,
    demo: Option<Duration>,
    roll_args: &roll::ServeRoll,
    advertise: Option<String>,
    render_cache_bytes: usize,
) -> anyhow::Result<()> {
    if let Some(n) = serve::raise_open_files_limit()
        && n < urne::publish::EVENT_SUBSCRIBERS_MAX as u64 + 1_000
    {
        tracing::warn!(
            open_files = n,
            "the open-files limit (ulimit -Hn) caps live event subscribers below event_subscribers_max"
        );
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let local = listener.local_addr()?;
    let (dir, publisher, mut log, membership) = match &data.database_url {
        // Several processes on one database: follow, and lead while holding the lock.
        Some(url) => {
            let dir = open_data_dir(&data.data, &data.origin, Some(url)).await?;
            let site = urne::publish::SiteConfig {
                render_cache_bytes,
                spill_dir: Some(spill_dir(&data.data)?),
                ..urne::site_config(title, &dir.signer)
            };
            let publisher = urne::publish::Publisher::open_follower(dir.blobs.clone(), site)
                .await
                .context("replaying the log")?;
            let member = urne::cluster::Member {
                store: dir.postgres.clone().context("PostgreSQL store")?,
                blobs: dir.blobs.clone(),
                signer: dir.signer.clone(),
                advertise: advertise.unwrap_or_else(|| format!("http://{}", loopback(local))),
            };
            let membership = urne::cluster::spawn(member, publisher.clone());
            (dir, publisher, None, Some(membership))
        }
        None => {
            let (dir, log, _) = open(data).await?;
            let site = urne::publish::SiteConfig {
                render_cache_bytes,
                spill_dir: Some(spill_dir(&data.data)?),
                ..urne::site_config(title, &dir.signer)
            };
            let publisher = urne::publish::Publisher::open(
                dir.blobs.clone(),
                log.handle(),
                log.size_at_open(),
                site,
            )
            .await
            .context("replaying the log")?;
            (dir, publisher, Some(log), None)
        }
    };
    let roll_router =
        roll::serve_router(roll_args, &data.data, data.database_url.as_deref()).await?;
    println!("urne is serving log {} at http://{local}/", dir.origin());
    println!("log key: {}", publisher.site().log_vkey);
    println!(
        "releases: POST http://{local}/api/v1/releases (urne publish --server http://{local})"
    );
    if let Some(every) = demo {
        let url = format!("http://{}", loopback(local));
        let data = dir.path.clone();
        tokio::spawn(async move {
            if let Err(e) = urne::demo::run(data, url, every).await {
                eprintln!("demo stopped: {e:#}");
            }
        });
    }
    let mut app = serve::router(publisher.clone());
    if let Some(r) = roll_router {
        println!("voter roll: staff API and public lookup under http://{local}/roll/v1/");
        app = app.merge(r);
    }
    // Not a graceful shutdown: live event streams never end on their own. Releases in flight
    // are either acknowledged (durable) or not; nothing acknowledged is lost. Peer addresses
    // feed the roll's per-client rate limit.
    // Live event subscribers are answered on a light path (`urne::live`); every other
    // connection goes to axum as it is.
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    let listener = urne::live::Listener::new(listener, publisher.clone())?.tap_io(|_| {});
    tokio::select! {
        served = axum::serve(listener, service) => served?,
        _ = tokio::signal::ctrl_c() => {}
    }
    publisher.close();
    if let Some(m) = membership {
        m.stop().await;
    }
    if let Some(log) = log.take() {
        log.shutdown().await;
    }
    Ok(())
}

/// The address a local client reaches a listener on (`0.0.0.0` → `127.0.0.1`).
fn loopback(addr: SocketAddr) -> SocketAddr {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    addr
}

async fn append(data: &DataArgs, files: &[PathBuf]) -> anyhow::Result<()> {
    let mut entries = Vec::with_capacity(files.len());
    for file in files {
        let mut bytes = Vec::new();
        if file.as_os_str() == "-" {
            std::io::stdin()
                .take(urne_tlog::ENTRY_BYTES_MAX as u64 + 1)
                .read_to_end(&mut bytes)
                .context("reading standard input")?;
        } else {
            bytes = urne::read_at_most(file, urne_tlog::ENTRY_BYTES_MAX as u64)?;
        }
        if bytes.len() > urne_tlog::ENTRY_BYTES_MAX {
            bail!(
                "{}: over {} bytes; a log entry holds at most {1}",
                file.display(),
                urne_tlog::ENTRY_BYTES_MAX
            );
        }
        entries.push((file, bytes));
    }
    let (_dir, log, _lock) = open(data).await?;
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
