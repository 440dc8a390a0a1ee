//! What officials run on their own workstations: make a key, write the trust policy, import
//! results into a release bundle, sign it, and publish it.
//!
//! None of this needs the server's data directory or the log key: the server only checks
//! what officials signed.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context, bail};
use urne_release::{
    Kind, Manifest, PayloadRef, Status,
    manifest::{Correction, ElectionId, MediaType, Sha256Hash, sha256},
    trust::{POLICY_MEDIA_TYPE, TrustPolicy},
};
use urne_results::{
    ClarityOptions, CsvOptions, CsvSource, Imported, Limits, NistOptions, ReportStatus, canonical,
};
use urne_tlog::note::{Ed25519Signer, Ed25519Verifier};

use crate::bundle::{Bundle, MANIFEST_FILE, UPLOAD_MEDIA_TYPE};

/// Makes an official's key: the private key file (mode 0600, never overwritten) and
/// `FILE.vkey` beside it. Returns the verifier key.
pub fn keygen(name: &str, out: &Path) -> anyhow::Result<Ed25519Verifier> {
    let signer = Ed25519Signer::generate(name, &mut rand_core::OsRng)
        .with_context(|| format!("{name:?} is not a valid key name"))?;
    crate::write_private_key_file(out, &signer.private_key())?;
    let vkey_path = vkey_path(out);
    std::fs::write(&vkey_path, format!("{}\n", signer.verifier().vkey()))
        .with_context(|| format!("writing {}", vkey_path.display()))?;
    Ok(signer.verifier())
}

/// [`keygen`], with the private key sealed under `passphrase` ([`crate::keyfile`]).
pub fn keygen_encrypted(
    name: &str,
    out: &Path,
    passphrase: &str,
) -> anyhow::Result<Ed25519Verifier> {
    let signer = Ed25519Signer::generate(name, &mut rand_core::OsRng)
        .with_context(|| format!("{name:?} is not a valid key name"))?;
    let sealed = crate::keyfile::encrypt(&signer.private_key(), passphrase)?;
    crate::write_private_key_file(out, sealed.trim_end())?;
    let vkey_path = vkey_path(out);
    std::fs::write(&vkey_path, format!("{}\n", signer.verifier().vkey()))
        .with_context(|| format!("writing {}", vkey_path.display()))?;
    Ok(signer.verifier())
}

/// `FILE.vkey` for a private key `FILE`.
pub fn vkey_path(key: &Path) -> PathBuf {
    let mut name = key.as_os_str().to_owned();
    name.push(".vkey");
    PathBuf::from(name)
}

/// Reads an official's private key file (refusing one others can read); a passphrase-protected
/// one asks for its passphrase (terminal, or `URNE_KEY_PASSPHRASE`).
pub fn read_signer(path: &Path) -> anyhow::Result<Ed25519Signer> {
    read_signer_with(path, &crate::keyfile::PassphraseSource::default())
}

/// [`read_signer`] with the passphrase, if the file needs one, from `passphrase`.
pub fn read_signer_with(
    path: &Path,
    passphrase: &crate::keyfile::PassphraseSource,
) -> anyhow::Result<Ed25519Signer> {
    let text = zeroize::Zeroizing::new(
        crate::read_private_key_file(path)?
            .with_context(|| format!("{} does not exist", path.display()))?,
    );
    let text = if crate::keyfile::is_encrypted(&text) {
        let pass = passphrase.read(&format!("Passphrase for {}: ", path.display()), false)?;
        crate::keyfile::decrypt(&text, &pass, path)?
    } else {
        text
    };
    Ed25519Signer::from_private_key(&text)
        .with_context(|| format!("{}: not a signed-note private key", path.display()))
}

/// What `urne policy init` needs.
#[derive(Debug)]
pub struct PolicyArgs {
    pub officials: Vec<Ed25519Verifier>,
    pub threshold: usize,
    /// The log's key (a `log` line), if known.
    pub log: Option<Ed25519Verifier>,
    /// Witness cosigner verifier keys, each optionally followed by whitespace and its URL.
    pub witnesses: Vec<String>,
    pub witness_quorum: Option<usize>,
    pub status: Status,
    /// For a rotation: the current policy's bundle or manifest hash, and its sequence + 1.
    pub previous: Option<Sha256Hash>,
    pub sequence: u64,
    pub timestamp: u64,
}

/// The C2SP tlog-policy part of a trust policy.
fn witness_policy(args: &PolicyArgs) -> anyhow::Result<String> {
    let mut text = String::new();
    if let Some(log) = &args.log {
        text.push_str(&format!("log {}\n", log.vkey()));
    }
    let mut names = Vec::new();
    for w in &args.witnesses {
        // `VKEY` or `VKEY URL`: the URL is where the server asks for cosignatures.
        let mut parts = w.split_whitespace();
        let (vkey, url) = (parts.next().unwrap_or(""), parts.next());
        if parts.next().is_some() {
            bail!("{w:?}: a witness is a verifier key, optionally followed by its URL");
        }
        let name = vkey
            .split('+')
            .next()
            .filter(|n| !n.is_empty())
            .with_context(|| format!("{w:?} is not a witness verifier key"))?;
        match url {
            Some(url) => text.push_str(&format!("witness {name} {vkey} {url}\n")),
            None => text.push_str(&format!("witness {name} {vkey}\n")),
        }
        names.push(name);
    }
    match (names.is_empty(), args.witness_quorum) {
        (true, None) => text.push_str("quorum none\n"),
        (true, Some(_)) => bail!("--witness-quorum needs at least one --witness"),
        (false, quorum) => {
            let k = quorum.unwrap_or(names.len());
            text.push_str(&format!("group witnesses {k} {}\n", names.join(" ")));
            text.push_str("quorum witnesses\n");
        }
    }
    Ok(text)
}

/// Writes an unsigned trust-policy bundle.
pub fn policy_init(args: &PolicyArgs, out: &Path) -> anyhow::Result<Bundle> {
    let policy = TrustPolicy::new(
        args.officials.clone(),
        args.threshold,
        &witness_policy(args)?,
    )
    .context("building the trust policy")?;
    for warning in policy.warnings() {
        eprintln!("warning: {warning:?}");
    }
    let payload = policy.encode();
    let manifest = Manifest {
        kind: Kind::TrustPolicy,
        election: None,
        sequence: args.sequence,
        previous: args.previous,
        timestamp: args.timestamp,
        status: args.status,
        correction: None,
        payload: PayloadRef {
            sha256: sha256(payload.as_bytes()),
            size: payload.len() as u64,
            media_type: MediaType::new(POLICY_MEDIA_TYPE).expect("a valid media type"),
        },
    };
    Bundle::create(out, &manifest, payload.as_bytes())
}

/// Results file formats `urne results import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    NistJson,
    NistXml,
    OpenelectionsCsv,
    Clarity,
}

impl Format {
    /// Guesses from the file name.
    pub fn guess(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
        if name.ends_with(".json") {
            Some(Format::NistJson)
        } else if name.ends_with(".csv") {
            Some(Format::OpenelectionsCsv)
        } else if name == "detail.xml" {
            Some(Format::Clarity)
        } else if name.ends_with(".xml") {
            Some(Format::NistXml)
        } else {
            None
        }
    }
}

/// What `urne results import` needs.
#[derive(Debug)]
pub struct ImportArgs {
    pub files: Vec<PathBuf>,
    pub format: Option<Format>,
    pub election: String,
    pub sequence: u64,
    /// The stream's previous release: a bundle directory or a manifest hash in hex.
    pub previous: Option<String>,
    pub status: Status,
    pub correction: Option<String>,
    pub timestamp: u64,
    /// For CSV, which says nothing about the election: its name, date and the state's name.
    pub csv_election_name: String,
    pub csv_date: String,
    pub csv_state: String,
}

/// Imports and validates results, and writes an unsigned results bundle whose payload is the
/// canonical snapshot.
pub fn results_import(args: &ImportArgs, out: &Path) -> anyhow::Result<Bundle> {
    let election = ElectionId::new(&args.election)
        .map_err(|e| anyhow::anyhow!("--election {:?}: {e}", args.election))?;
    let correction = args
        .correction
        .as_deref()
        .map(Correction::new)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--correction: {e}"))?;
    let previous = args.previous.as_deref().map(previous_hash).transpose()?;
    let imported = import(args)?;
    for w in &imported.warnings {
        eprintln!("warning: {w}");
    }
    let release = ResultsRelease {
        election,
        sequence: args.sequence,
        previous,
        status: args.status,
        correction,
        timestamp: args.timestamp,
    };
    release.write_bundle(&imported.snapshot, out)
}

/// The manifest fields of a results release other than its payload.
#[derive(Debug, Clone)]
pub struct ResultsRelease {
    pub election: ElectionId,
    pub sequence: u64,
    pub previous: Option<Sha256Hash>,
    pub status: Status,
    pub correction: Option<Correction>,
    pub timestamp: u64,
}

impl ResultsRelease {
    /// Writes an unsigned bundle whose payload is the snapshot's canonical encoding.
    pub fn write_bundle(
        &self,
        snapshot: &urne_results::ValidSnapshot,
        out: &Path,
    ) -> anyhow::Result<Bundle> {
        let payload = canonical::encode(snapshot);
        let manifest = Manifest {
            kind: Kind::Results,
            election: Some(self.election.clone()),
            sequence: self.sequence,
            previous: self.previous,
            timestamp: self.timestamp,
            status: self.status,
            correction: self.correction.clone(),
            payload: PayloadRef {
                sha256: sha256(&payload),
                size: payload.len() as u64,
                media_type: MediaType::new(canonical::MEDIA_TYPE).expect("a valid media type"),
            },
        };
        manifest.encode().context(
            "--sequence and --previous: the first release (sequence 0) has no previous, every later one names it",
        )?;
        Bundle::create(out, &manifest, &payload)
    }
}

/// The report status a release status implies for importers that do not say.
fn report_status(status: Status) -> ReportStatus {
    match status {
        Status::Test => ReportStatus::Test,
        Status::Certified => ReportStatus::Certified,
        _ => ReportStatus::UnofficialComplete,
    }
}

fn import(args: &ImportArgs) -> anyhow::Result<Imported> {
    let first = args.files.first().context("no results file given")?;
    let format = args
        .format
        .or_else(|| Format::guess(first))
        .with_context(|| format!("{}: say --format", first.display()))?;
    // Each importer refuses a file over its `source_bytes_max` by name; reading stops just past it.
    let read = |p: &Path, limits: &Limits| crate::read_at_most(p, limits.source_bytes_max);
    let name = |p: &Path| p.display().to_string();
    if format != Format::OpenelectionsCsv && args.files.len() > 1 {
        bail!("only openelections-csv imports several files into one snapshot");
    }
    let imported = match format {
        Format::NistJson => {
            let options = NistOptions::default();
            let bytes = read(first, &options.limits)?;
            urne_results::import_nist_json_bytes(&name(first), &bytes, &options)?
        }
        Format::NistXml => {
            let options = NistOptions::default();
            let bytes = read(first, &options.limits)?;
            urne_results::import_nist_xml_bytes(&name(first), &bytes, &options)?
        }
        Format::Clarity => {
            let options = ClarityOptions {
                status: report_status(args.status),
                ..ClarityOptions::default()
            };
            let bytes = read(first, &options.limits)?;
            urne_results::import_clarity_xml(&name(first), bytes.as_slice(), &options)?
        }
        Format::OpenelectionsCsv => {
            let mut options =
                CsvOptions::new(&args.csv_state, &args.csv_election_name, &args.csv_date);
            options.status = report_status(args.status);
            let mut sources = Vec::new();
            for f in &args.files {
                let file =
                    std::fs::File::open(f).with_context(|| format!("opening {}", f.display()))?;
                sources.push(CsvSource {
                    name: name(f),
                    reader: std::io::BufReader::new(file),
                });
            }
            urne_results::import_openelections_csv(sources, &options)?
        }
    };
    Ok(imported)
}

/// A previous release given as a bundle directory or a 64-hex manifest hash.
pub fn previous_hash(arg: &str) -> anyhow::Result<Sha256Hash> {
    let path = Path::new(arg);
    if path.join(MANIFEST_FILE).is_file() {
        let bytes = std::fs::read(path.join(MANIFEST_FILE))?;
        return Ok(sha256(&bytes));
    }
    parse_hex32(arg).with_context(|| {
        format!("--previous {arg:?}: neither a bundle directory nor a 64-hex manifest hash")
    })
}

fn parse_hex32(text: &str) -> Option<Sha256Hash> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Bytes of a server answer we read (a status line of text).
const ANSWER_BYTES_MAX: u64 = 64 * 1024;
/// How long one upload may take.
pub const PUBLISH_TIMEOUT: Duration = Duration::from_secs(300);

/// The server's answer to an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAnswer {
    pub status: u16,
    pub text: String,
}

/// Uploads a bundle to `server` (`http://` or `https://` base URL) in one request.
/// Blocking; call from a blocking thread.
pub fn publish(bundle: &Bundle, server: &str) -> anyhow::Result<ServerAnswer> {
    let mut url = format!("{}/api/v1/releases", server.trim_end_matches('/'));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(PUBLISH_TIMEOUT))
        .max_redirects(0)
        .build()
        .into();
    let body = bundle.upload_body();
    // A follower of a cluster on PostgreSQL answers 307 with the leader's endpoint: follow
    // it once (the same body, the same method), never a chain of them.
    for hop in 0..2 {
        let mut response = agent
            .post(&url)
            .header("content-type", UPLOAD_MEDIA_TYPE)
            .send(&body[..])
            .with_context(|| format!("POST {url}"))?;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = response
            .body_mut()
            .with_config()
            .limit(ANSWER_BYTES_MAX)
            .read_to_string()
            .with_context(|| format!("reading the answer of {url}"))?;
        match location {
            Some(next) if status == 307 && hop == 0 && next.starts_with("http") => url = next,
            _ => return Ok(ServerAnswer { status, text }),
        }
    }
    anyhow::bail!("{url} redirected the release again; publish to the leader directly")
}

/// Seconds since the Unix epoch (the manifest timestamp of a new release).
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn keygen_writes_a_private_key_only_its_owner_can_read_and_refuses_a_shared_one() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("registrar.key");
        let vkey = keygen("registrar.example-county.gov", &key).unwrap();
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(read_signer(&key).unwrap().verifier(), vkey);
        let written = std::fs::read_to_string(vkey_path(&key)).unwrap();
        assert_eq!(written.trim(), vkey.vkey());
        // Never overwritten.
        assert!(keygen("other", &key).is_err());
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
        let err = read_signer(&key).unwrap_err().to_string();
        assert!(err.contains("readable by others (mode 640)"), "{err}");
    }

    #[test]
    fn a_passphrase_protected_key_signs_with_its_passphrase_and_names_what_went_wrong() {
        use crate::keyfile::PassphraseSource;
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("registrar.key");
        let vkey = keygen_encrypted("registrar.example-county.gov", &key, "s3cret words").unwrap();
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let text = std::fs::read_to_string(&key).unwrap();
        assert!(text.starts_with("urne-encrypted-key/v1\n"), "{text}");
        let pass = |p: &str| {
            let file = dir.path().join("pass");
            std::fs::write(&file, format!("{p}\n")).unwrap();
            PassphraseSource { file: Some(file) }
        };
        let signer = read_signer_with(&key, &pass("s3cret words")).unwrap();
        assert_eq!(signer.verifier(), vkey);
        let err = format!(
            "{:#}",
            read_signer_with(&key, &pass("s3cret word")).unwrap_err()
        );
        assert_eq!(
            err,
            format!(
                "{}: wrong passphrase (or its salt or kdf line was edited)",
                key.display()
            )
        );
        // One hex digit of the sealed key changed.
        let at = text.find("sealed ").unwrap() + 20;
        let mut edited = text.clone().into_bytes();
        edited[at] = if edited[at] == b'a' { b'b' } else { b'a' };
        std::fs::write(&key, &edited).unwrap();
        let err = format!(
            "{:#}",
            read_signer_with(&key, &pass("s3cret words")).unwrap_err()
        );
        assert_eq!(
            err,
            format!(
                "{}: the sealed key fails authentication: the file was changed after it was written",
                key.display()
            )
        );
    }
}
