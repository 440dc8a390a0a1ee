//! `urne roll …` and the `--roll` options of `urne serve`: argument parsing, the master key,
//! and opening the roll database; the work is in `urne-roll-server`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use urne_roll::{Date, MasterKey, Role};
use urne_roll_server::commands::{self, DigestRelease};
use urne_roll_store::postgres::PgRoll;
use urne_roll_store::sqlite::SqliteRoll;
use urne_roll_store::{Policy, Roll, RollBackend, Session};

/// Where the roll lives and the key that opens it.
#[derive(clap::Args, Debug)]
pub struct RollDb {
    /// Data directory; the roll is `roll.sqlite` in it.
    #[arg(long, default_value = "urne-data", env = "URNE_DATA")]
    pub data: PathBuf,
    /// Use PostgreSQL at this URL instead of the SQLite file.
    #[arg(long, env = "URNE_DATABASE_URL")]
    pub database_url: Option<String>,
    /// The master key file (32 bytes, or 64 hex digits). Must not be in the data directory.
    #[arg(long, env = "URNE_ROLL_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
    /// The roll id, to create a new roll (e.g. `ca-sos`).
    #[arg(long)]
    pub roll_id: Option<String>,
    /// The staff member a command that reads PII or changes the roll acts as; the role matrix
    /// applies as over HTTP. The password comes from URNE_ROLL_PASSWORD or the first line of
    /// standard input.
    #[arg(long = "as", env = "URNE_ROLL_AS", value_name = "STAFF")]
    pub as_staff: Option<String>,
    /// Act as the staff member of this API token file (from `POST /roll/v1/login`) instead of
    /// `--as` and a password.
    #[arg(long, env = "URNE_ROLL_TOKEN_FILE", conflicts_with = "as_staff")]
    pub token_file: Option<PathBuf>,
}

/// A secret from the environment variable `var`, else the next line of standard input.
fn secret(var: &str, what: &str) -> anyhow::Result<String> {
    if let Ok(p) = std::env::var(var) {
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .with_context(|| format!("reading {what} from standard input"))?;
    let line = line.trim_end_matches(['\r', '\n']).to_owned();
    if line.is_empty() {
        bail!("{what}: set {var} or give it on standard input");
    }
    Ok(line)
}

/// Logs in as the staff member the command names (`--as` or `--token-file`).
async fn acting(roll: &Roll, db: &RollDb) -> anyhow::Result<Session> {
    if let Some(f) = &db.token_file {
        let token =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        return roll
            .session_for_token(token.trim())
            .await
            .with_context(|| format!("the API token in {}", f.display()));
    }
    let id = db.as_staff.as_deref().context(
        "name the staff member this command acts as: --as STAFF (or URNE_ROLL_AS), or --token-file",
    )?;
    let password = secret("URNE_ROLL_PASSWORD", "the password of --as")?;
    roll.login(id, &password)
        .await
        .with_context(|| format!("logging in as {id}"))
}

/// `urne serve --roll`.
#[derive(clap::Args, Debug)]
pub struct ServeRoll {
    /// Also serve the voter roll (staff API and public lookup under /roll/v1).
    #[arg(long, requires = "roll_master_key_file")]
    pub roll: bool,
    /// The roll's master key file (never inside the data directory).
    #[arg(long)]
    pub roll_master_key_file: Option<PathBuf>,
    /// Public lookups per second per client IP.
    #[arg(long, default_value_t = 2)]
    pub roll_lookups_per_second: u32,
    /// Burst of public lookups per client IP.
    #[arg(long, default_value_t = 10)]
    pub roll_lookup_burst: u32,
    /// Minimum lookup response time, in microseconds (found or not).
    #[arg(long, default_value_t = 1000)]
    pub roll_lookup_floor_us: u64,
}

/// `urne roll …`.
#[derive(clap::Subcommand, Debug)]
pub enum RollCommand {
    /// Write a new random master key file (outside the data directory).
    Keygen {
        /// Where to write it (refuses to overwrite).
        #[arg(long)]
        out: PathBuf,
    },
    /// Write N synthetic voters as urne-layout CSV.
    Generate {
        /// How many.
        n: u64,
        /// Seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output file (standard output if absent).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Import a voter file (CSV, or NIST 1500-102 style `.json` or `.xml`): all or nothing.
    Import {
        #[command(flatten)]
        db: RollDb,
        /// The file.
        file: PathBuf,
        /// csv, json or xml (default: from the file's extension, else csv).
        #[arg(long)]
        format: Option<String>,
        /// Mapping file from a state's CSV headers to urne's columns.
        #[arg(long)]
        layout: Option<PathBuf>,
        /// Where the registrations came from (mail, motor-vehicle, agency, online, in-person).
        #[arg(long, default_value = "mail")]
        source: String,
        /// The second supervisor approving an import larger than the bulk threshold
        /// (password from URNE_ROLL_APPROVER_PASSWORD or the next line of standard input).
        #[arg(long)]
        approver: Option<String>,
    },
    /// Export every record (CSV, or NIST 1500-102 style `.json` or `.xml`) as a clerk or
    /// supervisor; recorded in the access log with its purpose.
    Export {
        #[command(flatten)]
        db: RollDb,
        /// Output file.
        out: PathBuf,
        /// csv, json or xml (default: from the file's extension, else csv).
        #[arg(long)]
        format: Option<String>,
        /// Why (recorded in the access log's chain; no PII).
        #[arg(long, default_value = "export to file")]
        purpose: String,
    },
    /// Verify the change history, every record against it, and the access log.
    Audit {
        #[command(flatten)]
        db: RollDb,
    },
    /// Write a `roll-digest` release bundle (manifest, payload, signatures) to sign and publish.
    Digest {
        #[command(flatten)]
        db: RollDb,
        /// The bundle directory to create.
        #[arg(long)]
        out: PathBuf,
        /// The digest stream's id (lower case), e.g. the roll id.
        #[arg(long)]
        stream: String,
        /// Position in the stream.
        #[arg(long, default_value_t = 0)]
        sequence: u64,
        /// The previous digest manifest's hash (64 hex), for sequence > 0.
        #[arg(long)]
        previous: Option<String>,
        /// Period start, Unix seconds (counts changes since then).
        #[arg(long, default_value_t = 0)]
        since: u64,
    },
    /// Add a staff account, as an admin (`--as`); the very first account, an admin, is created
    /// by the key holder alone. The new password comes from URNE_ROLL_NEW_PASSWORD or the next
    /// line of standard input.
    StaffAdd {
        #[command(flatten)]
        db: RollDb,
        /// Login name.
        id: String,
        /// viewer, clerk, supervisor or admin.
        #[arg(long)]
        role: String,
    },
    /// Set the bulk threshold and the federal election days (NVRA 90-day rule).
    Policy {
        #[command(flatten)]
        db: RollDb,
        /// Changes of more records than this need a second supervisor.
        #[arg(long)]
        bulk_max: u64,
        /// A federal election day, YYYY-MM-DD (repeat).
        #[arg(long)]
        federal_election: Vec<String>,
    },
    /// Replace the precinct → polling place table from a CSV `precinct,place`.
    Places {
        #[command(flatten)]
        db: RollDb,
        /// The CSV file.
        file: PathBuf,
    },
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Reads the master key: 32 raw bytes or 64 hex digits. Refuses a key inside `data`.
pub fn read_master_key(file: &Path, data: &Path) -> anyhow::Result<MasterKey> {
    let key = std::fs::canonicalize(file)
        .with_context(|| format!("master key file {}", file.display()))?;
    if let Ok(d) = std::fs::canonicalize(data)
        && key.starts_with(&d)
    {
        bail!(
            "{}: the master key must not be stored beside the data (it is inside {})",
            file.display(),
            data.display()
        );
    }
    let bytes = std::fs::read(&key).with_context(|| format!("reading {}", file.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    let raw: Vec<u8> = if bytes.len() == 32 {
        bytes
    } else if text.trim().len() == 64 {
        (0..32)
            .map(|i| u8::from_str_radix(&text.trim()[2 * i..2 * i + 2], 16))
            .collect::<Result<_, _>>()
            .with_context(|| format!("{}: not 64 hex digits", file.display()))?
    } else {
        bail!("{}: expected 32 bytes or 64 hex digits", file.display());
    };
    let arr: [u8; 32] = raw.try_into().map_err(|_| anyhow::anyhow!("key length"))?;
    Ok(MasterKey::from_bytes(arr))
}

/// Opens the roll database and the roll.
pub async fn open(db: &RollDb) -> anyhow::Result<Roll> {
    open_db(db, false).await
}

/// Opens the roll database and the roll; `load`: for an import only (on SQLite one
/// connection, so that loading an empty roll may leave WAL mode for its transaction).
async fn open_db(db: &RollDb, load: bool) -> anyhow::Result<Roll> {
    let key_file = db
        .master_key_file
        .as_ref()
        .context("--master-key-file (or URNE_ROLL_MASTER_KEY_FILE) is required")?;
    let master = read_master_key(key_file, &db.data)?;
    open_with(
        &db.data,
        db.database_url.as_deref(),
        &master,
        db.roll_id.as_deref(),
        load,
    )
    .await
}

/// Opens the roll in `data` (or at `url`) with `master`.
pub async fn open_with(
    data: &Path,
    url: Option<&str>,
    master: &MasterKey,
    roll_id: Option<&str>,
    load: bool,
) -> anyhow::Result<Roll> {
    let backend: Arc<dyn RollBackend> = match url {
        Some(url) => Arc::new(
            PgRoll::connect(url)
                .await
                .context("opening the roll on PostgreSQL")?,
        ),
        None => {
            std::fs::create_dir_all(data)
                .with_context(|| format!("creating {}", data.display()))?;
            let path = data.join("roll.sqlite");
            let roll = if load {
                SqliteRoll::open_for_load(&path).await
            } else {
                SqliteRoll::open(&path).await
            };
            Arc::new(roll.with_context(|| format!("opening {}", path.display()))?)
        }
    };
    Ok(Roll::open(backend, master, roll_id).await?)
}

/// Runs one `urne roll` command.
pub async fn run(cmd: RollCommand) -> anyhow::Result<()> {
    match cmd {
        RollCommand::Keygen { out } => {
            let key = MasterKey::generate(&mut rand_core::OsRng);
            let hex: String = key
                .danger_expose_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&out)
                .with_context(|| format!("creating {}", out.display()))?;
            std::io::Write::write_all(&mut f, format!("{hex}\n").as_bytes())?;
            f.sync_all()?;
            println!(
                "wrote a new master key to {}; keep it away from the data directory",
                out.display()
            );
        }
        RollCommand::Generate { n, seed, out } => {
            let as_of = urne_roll_store::day_of(now());
            match out {
                Some(p) => {
                    let f = std::fs::File::create(&p)
                        .with_context(|| format!("creating {}", p.display()))?;
                    let mut w = std::io::BufWriter::new(f);
                    commands::generate(n, seed, as_of, &mut w)
                        .with_context(|| format!("writing {}", p.display()))?;
                }
                None => commands::generate(n, seed, as_of, &mut std::io::stdout().lock())?,
            }
        }
        RollCommand::Import {
            db,
            file,
            format,
            layout,
            source,
            approver,
        } => {
            let roll = open_db(&db, true).await?;
            let source = urne_roll_server::format::addition_source(&source)
                .with_context(|| format!("unknown --source {source:?}"))?;
            let by = acting(&roll, &db).await?;
            let approver = match approver {
                Some(id) => {
                    let pw = secret("URNE_ROLL_APPROVER_PASSWORD", "the password of --approver")?;
                    Some(
                        roll.login(&id, &pw)
                            .await
                            .with_context(|| format!("logging in the approver {id}"))?,
                    )
                }
                None => None,
            };
            let started = std::time::Instant::now();
            let s = commands::import(
                &roll,
                &file,
                file_format(format.as_deref())?,
                layout.as_deref(),
                source,
                &by,
                approver.as_ref(),
                true,
                now(),
            )
            .await?;
            let secs = started.elapsed().as_secs_f64();
            println!(
                "imported {} records in {secs:.1}s ({:.0}/s); history now {} events",
                s.records,
                s.records as f64 / secs.max(1e-9),
                s.tip.len
            );
        }
        RollCommand::Export {
            db,
            out,
            format,
            purpose,
        } => {
            let format = file_format(format.as_deref())?;
            let roll = open(&db).await?;
            let by = acting(&roll, &db).await?;
            let n = commands::export(&roll, &by, &purpose, &out, format, now()).await?;
            println!("exported {n} records to {}", out.display());
        }
        RollCommand::Audit { db } => {
            let roll = open(&db).await?;
            let r = roll.audit().await?;
            let hex = |h: &[u8]| h.iter().map(|b| format!("{b:02x}")).collect::<String>();
            println!(
                "ok: {} events, {} voters checked against their histories, {} access events",
                r.events.len, r.voters, r.access.len
            );
            println!("audit {} {}", r.events.len, hex(&r.events.head));
            println!("access {} {}", r.access.len, hex(&r.access.head));
            println!("compare these with the last published roll digest");
        }
        RollCommand::Digest {
            db,
            out,
            stream,
            sequence,
            previous,
            since,
        } => {
            let roll = open(&db).await?;
            let release = DigestRelease {
                election: stream,
                sequence,
                previous,
                start: since,
            };
            let m = commands::digest_bundle(&roll, &release, &out, now()).await?;
            println!(
                "wrote roll-digest bundle {} ({} payload bytes); sign it and publish it like results",
                out.display(),
                m.payload.size
            );
        }
        RollCommand::StaffAdd { db, id, role } => {
            let roll = open(&db).await?;
            let role = Role::ALL
                .into_iter()
                .find(|r| r.name() == role)
                .with_context(|| format!("unknown role {role:?}"))?;
            let by = if roll.staff_count().await? == 0 && db.as_staff.is_none() {
                if role != Role::Admin {
                    bail!("the first staff account must be an admin (--role admin)");
                }
                Roll::operator()
            } else {
                acting(&roll, &db).await?
            };
            let password = secret("URNE_ROLL_NEW_PASSWORD", "the new account's password")?;
            roll.add_staff(&by, &id, role, &password, now()).await?;
            println!("added {id} as {}", role.name());
        }
        RollCommand::Policy {
            db,
            bulk_max,
            federal_election,
        } => {
            let roll = open(&db).await?;
            let mut dates = Vec::new();
            for d in &federal_election {
                dates.push(Date::parse_iso(d, "--federal-election")?);
            }
            let policy = Policy {
                bulk: urne_roll::rules::BulkPolicy {
                    records_without_approver_max: bulk_max,
                },
                federal_elections: dates,
            };
            let by = acting(&roll, &db).await?;
            roll.set_policy(&by, &policy, now()).await?;
            println!("policy set");
        }
        RollCommand::Places { db, file } => {
            let roll = open(&db).await?;
            let mut r = csv::Reader::from_path(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let mut rows = Vec::new();
            for (i, rec) in r.records().enumerate() {
                let rec = rec.with_context(|| format!("{}:{}", file.display(), i + 2))?;
                let (Some(p), Some(place)) = (rec.get(0), rec.get(1)) else {
                    bail!("{}:{}: expected precinct,place", file.display(), i + 2);
                };
                rows.push((p.to_owned(), place.to_owned()));
            }
            let by = acting(&roll, &db).await?;
            roll.set_polling_places(&by, &rows, now()).await?;
            println!("{} polling places set", rows.len());
        }
    }
    Ok(())
}

/// The roll's router for `urne serve --roll`, or `None`.
pub async fn serve_router(
    args: &ServeRoll,
    data: &Path,
    url: Option<&str>,
) -> anyhow::Result<Option<axum::Router>> {
    if !args.roll {
        return Ok(None);
    }
    let key_file = args
        .roll_master_key_file
        .as_ref()
        .context("--roll needs --roll-master-key-file")?;
    let master = read_master_key(key_file, data)?;
    let roll = open_with(data, url, &master, None, false).await?;
    let config = urne_roll_server::Config {
        lookup_floor: std::time::Duration::from_micros(args.roll_lookup_floor_us),
        per_client_per_second: args.roll_lookups_per_second,
        per_client_burst: args.roll_lookup_burst,
    };
    Ok(Some(urne_roll_server::router(roll, config)))
}

fn file_format(name: Option<&str>) -> anyhow::Result<Option<commands::FileFormat>> {
    name.map(|n| {
        commands::FileFormat::named(n)
            .with_context(|| format!("unknown --format {n:?} (csv, json or xml)"))
    })
    .transpose()
}
