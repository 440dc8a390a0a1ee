//! `urne cvr bundle`: a config's cast vote records as an unsigned `cvr` release bundle, so that
//! anyone can re-tally a published election.
//!
//! The bundle is the directory `urne_site` documents: `manifest` (`urne-release/v1`, kind
//! `cvr`), `payload` (the CVRs as NIST SP 1500-103 CDF JSON, candidates named as in the config)
//! and `signatures` (empty; officials add theirs with `urne sign`). Beside them,
//! `tally_config.json` is the RCTab config that tabulates exactly `payload` under the original
//! rules: `urne tally BUNDLE/tally_config.json --out DIR` reproduces the reports. It is not
//! covered by the signatures; the rules it carries are the ones the results release states.

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
/// The re-tally config written beside the bundle files.
const TALLY_CONFIG_FILE: &str = "tally_config.json";
/// The payload's media type.
const PAYLOAD_MEDIA_TYPE: &str = "application/json";

#[derive(Subcommand, Debug)]
pub enum CvrCommand {
    /// Export a config's cast vote records as an unsigned `cvr` release bundle.
    ///
    /// Writes BUNDLE/manifest, BUNDLE/payload (CDF JSON), an empty BUNDLE/signatures, and
    /// BUNDLE/tally_config.json (re-tally with `urne tally BUNDLE/tally_config.json`).
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
    }
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
    let export = urne_tally_io::cvr_export(config, PAYLOAD_FILE)?;
    let payload = export.cdf_json.into_bytes();
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
            media_type: MediaType::new(PAYLOAD_MEDIA_TYPE)
                .map_err(|e| anyhow::anyhow!("media type: {e}"))?,
        },
    };
    let text = manifest.encode().context("encoding the manifest")?;
    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    write_synced(&out.join(PAYLOAD_FILE), &payload)?;
    write_synced(&out.join(SIGNATURES_FILE), b"")?;
    write_synced(
        &out.join(TALLY_CONFIG_FILE),
        export.retally_config.as_bytes(),
    )?;
    // The manifest last: a directory with a manifest is a complete bundle.
    write_synced(&out.join(MANIFEST_FILE), text.as_bytes())?;
    println!(
        "{} ballots; wrote the unsigned cvr bundle {} (payload {} bytes, sha256 {})",
        export.ballots,
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
