//! `urne cvr bundle`: a config's cast vote records as an unsigned `cvr` release bundle, so that
//! anyone can re-tally a published election.
//!
//! The bundle is the directory `urne_site` documents: `manifest` (`urne-release/v1`, kind
//! `cvr`), `payload` and `signatures` (empty; officials add theirs with `urne sign`). The
//! payload is one JSON container ([`urne_tally_io::bundle`]): the CVRs as NIST SP 1500-103 CDF
//! JSON, the RCTab config that tabulates exactly them under the original rules, and the
//! detailed reports of that tally. Everything a re-tally needs is covered by the manifest's
//! hash and so by the signatures; `urne cvr verify BUNDLE` re-tallies from the payload alone
//! and compares with the signed reports.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;
use urne_release::manifest::{ElectionId, MediaType, sha256};
use urne_release::{Kind, Manifest, PayloadRef, Status};

/// File names inside a bundle directory (`urne_site`'s bundle contract).
const MANIFEST_FILE: &str = "manifest";
const PAYLOAD_FILE: &str = "payload";
const SIGNATURES_FILE: &str = "signatures";

#[derive(Subcommand, Debug)]
pub enum CvrCommand {
    /// Export a config's cast vote records as an unsigned `cvr` release bundle.
    ///
    /// Writes BUNDLE/manifest, BUNDLE/payload (CDF CVRs, re-tally config and detailed reports
    /// in one JSON container) and an empty BUNDLE/signatures. Check with `urne cvr verify`.
    Bundle {
        /// The RCTab config whose CVR sources are exported.
        config: PathBuf,
        /// The election id of the release (`[a-z0-9._-]`, at most 64 bytes).
        #[arg(long)]
        election: String,
        /// Position in the election's `cvr` stream, from 0.
        #[arg(long)]
        sequence: u64,
        /// The stream's previous bundle (directory or its `manifest` file); needed exactly
        /// when the sequence is not 0.
        #[arg(long)]
        previous: Option<PathBuf>,
        /// test, unofficial, official or certified.
        #[arg(long, default_value = "unofficial")]
        status: String,
        /// The bundle directory to create (must not hold a bundle yet).
        #[arg(long)]
        out: PathBuf,
    },
    /// Re-tally a `cvr` bundle from its payload alone and compare with the reports it carries.
    ///
    /// Checks that BUNDLE/payload is the one BUNDLE/manifest names (size and SHA-256), then
    /// tabulates the payload's CVRs under the payload's config and compares every detailed
    /// report. (Signatures over the manifest are checked with `urne verify`.)
    Verify {
        /// The bundle directory.
        bundle: PathBuf,
        /// Keep the re-tally's files here (default: a temporary directory, removed).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Runs a `urne cvr` command.
pub fn run(command: CvrCommand) -> anyhow::Result<()> {
    match command {
        CvrCommand::Bundle {
            config,
            election,
            sequence,
            previous,
            status,
            out,
        } => bundle(
            &config,
            &election,
            sequence,
            previous.as_deref(),
            &status,
            &out,
        ),
        CvrCommand::Verify { bundle, out } => verify(&bundle, out.as_deref()),
    }
}

/// Largest manifest read, in bytes.
const MANIFEST_BYTES_MAX: u64 = 64 << 10;

fn verify(bundle: &Path, keep: Option<&Path>) -> anyhow::Result<()> {
    let manifest_file = bundle.join(MANIFEST_FILE);
    let payload_file = bundle.join(PAYLOAD_FILE);
    let size = fs::metadata(&manifest_file)
        .with_context(|| format!("reading {}", manifest_file.display()))?
        .len();
    if size > MANIFEST_BYTES_MAX {
        bail!(
            "{}: larger than {MANIFEST_BYTES_MAX} bytes",
            manifest_file.display()
        );
    }
    let manifest_bytes =
        fs::read(&manifest_file).with_context(|| format!("reading {}", manifest_file.display()))?;
    let manifest =
        Manifest::parse(&manifest_bytes).with_context(|| format!("{}", manifest_file.display()))?;
    if manifest.kind != Kind::Cvr
        || manifest.payload.media_type.as_str() != urne_tally_io::bundle::MEDIA_TYPE
    {
        bail!(
            "{}: not a cvr release with a {} payload",
            manifest_file.display(),
            urne_tally_io::bundle::MEDIA_TYPE
        );
    }
    let payload_size = fs::metadata(&payload_file)
        .with_context(|| format!("reading {}", payload_file.display()))?
        .len();
    if payload_size != manifest.payload.size
        || payload_size > urne_tally_io::bundle::PAYLOAD_BYTES_MAX
    {
        bail!(
            "{}: {payload_size} bytes, but the manifest names {} bytes",
            payload_file.display(),
            manifest.payload.size
        );
    }
    let payload =
        fs::read(&payload_file).with_context(|| format!("reading {}", payload_file.display()))?;
    if sha256(&payload) != manifest.payload.sha256 {
        bail!(
            "{}: its SHA-256 is not the one the manifest names (the payload was changed)",
            payload_file.display()
        );
    }
    let temp;
    let work = match keep {
        Some(dir) => dir.to_path_buf(),
        None => {
            temp = tempfile::tempdir().context("creating a temporary directory")?;
            temp.path().to_path_buf()
        }
    };
    let verified = urne_tally_io::bundle::verify_payload(&payload_file, &payload, &work)?;
    println!(
        "{}: re-tallied {} ballots from the payload; all {} signed detailed reports match \
         (winners: {})",
        bundle.display(),
        verified.ballots,
        verified.reports,
        verified.winners.join(", ")
    );
    Ok(())
}

fn bundle(
    config: &Path,
    election: &str,
    sequence: u64,
    previous: Option<&Path>,
    status: &str,
    out: &Path,
) -> anyhow::Result<()> {
    let election =
        ElectionId::new(election).map_err(|e| anyhow::anyhow!("--election {election:?}: {e}"))?;
    let status = Status::ALL
        .into_iter()
        .find(|s| s.as_str() == status)
        .with_context(|| {
            format!("--status {status:?}: expected test, unofficial, official or certified")
        })?;
    let previous = previous_hash(previous, &election, sequence)?;
    if out.join(MANIFEST_FILE).exists() {
        bail!(
            "{} already holds a bundle; choose another --out",
            out.display()
        );
    }
    let work = tempfile::tempdir().context("creating a temporary directory")?;
    let built = urne_tally_io::bundle::build_payload(config, work.path())?;
    let payload = built.bytes;
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("the clock is before 1970")?
        .as_secs();
    let manifest = Manifest {
        kind: Kind::Cvr,
        election: Some(election),
        sequence,
        previous,
        timestamp,
        status,
        correction: None,
        payload: PayloadRef {
            sha256: sha256(&payload),
            size: payload.len() as u64,
            media_type: MediaType::new(urne_tally_io::bundle::MEDIA_TYPE)
                .map_err(|e| anyhow::anyhow!("media type: {e}"))?,
        },
    };
    let text = manifest.encode().context("encoding the manifest")?;
    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    write_synced(&out.join(PAYLOAD_FILE), &payload)?;
    write_synced(&out.join(SIGNATURES_FILE), b"")?;
    // The manifest last: a directory with a manifest is a complete bundle.
    write_synced(&out.join(MANIFEST_FILE), text.as_bytes())?;
    println!(
        "{} ballots, {} detailed reports; wrote the unsigned cvr bundle {} (payload {} bytes, \
         sha256 {})",
        built.ballots,
        built.reports,
        out.display(),
        payload.len(),
        hex(&manifest.payload.sha256)
    );
    Ok(())
}

/// The previous manifest's hash, after checking it belongs to the same stream, one before.
fn previous_hash(
    previous: Option<&Path>,
    election: &ElectionId,
    sequence: u64,
) -> anyhow::Result<Option<[u8; 32]>> {
    let Some(path) = previous else {
        if sequence != 0 {
            bail!("--previous is required when --sequence is not 0");
        }
        return Ok(None);
    };
    if sequence == 0 {
        bail!("--previous is not allowed with --sequence 0 (the stream's first release)");
    }
    let file = if path.is_dir() {
        path.join(MANIFEST_FILE)
    } else {
        path.to_path_buf()
    };
    let bytes = fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
    let before = Manifest::parse(&bytes).with_context(|| format!("{}", file.display()))?;
    if before.kind != Kind::Cvr || before.election.as_ref() != Some(election) {
        bail!(
            "{}: not a cvr release of election {}",
            file.display(),
            election.as_str()
        );
    }
    if before.sequence.checked_add(1) != Some(sequence) {
        bail!(
            "{}: has sequence {}, so this bundle must have sequence {}",
            file.display(),
            before.sequence,
            before.sequence.saturating_add(1)
        );
    }
    Ok(Some(
        before
            .hash()
            .with_context(|| format!("{}", file.display()))?,
    ))
}

fn write_synced(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut f = fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
