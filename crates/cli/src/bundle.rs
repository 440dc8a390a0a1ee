//! Release bundles: the directory officials pass around (`manifest`, `payload`, `signatures`,
//! as `urne_site` documents), and the one-request upload framing `urne publish` sends.
//!
//! Upload body (`application/vnd.urne.release-bundle`), version 1:
//!
//! ```text
//! urne-release-bundle/v1\n
//! <entry length, decimal>\n
//! <entry bytes: the signed note><payload bytes>
//! ```
//!
//! The payload's length is the rest of the body; the manifest inside the entry declares it
//! and its SHA-256, and the server checks both.

use std::{
    fs,
    io::Write as _,
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};
use urne_release::{Manifest, sign_entry};
use urne_tlog::note::Ed25519Signer;

/// File names inside a bundle directory.
pub const MANIFEST_FILE: &str = "manifest";
pub const PAYLOAD_FILE: &str = "payload";
pub const SIGNATURES_FILE: &str = "signatures";

/// First line of an upload body.
pub const UPLOAD_HEADER: &[u8] = b"urne-release-bundle/v1\n";
/// The upload's media type.
pub const UPLOAD_MEDIA_TYPE: &str = "application/vnd.urne.release-bundle";
/// Digits in the entry-length line (an entry is at most 65,535 bytes).
const LENGTH_DIGITS_MAX: usize = 5;

/// A release bundle read from disk.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub dir: PathBuf,
    /// The `urne-release/v1` text.
    pub manifest: String,
    pub payload: Vec<u8>,
    /// Signature lines (each ending in `\n`), possibly empty.
    pub signatures: String,
}

impl Bundle {
    /// Writes a new, unsigned bundle; refuses to overwrite an existing one.
    pub fn create(dir: &Path, manifest: &Manifest, payload: &[u8]) -> anyhow::Result<Bundle> {
        let text = manifest.encode().context("encoding the manifest")?;
        if dir.join(MANIFEST_FILE).exists() {
            bail!(
                "{} already holds a bundle; choose another --out",
                dir.display()
            );
        }
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        write_synced(&dir.join(PAYLOAD_FILE), payload)?;
        write_synced(&dir.join(SIGNATURES_FILE), b"")?;
        // The manifest last: a bundle with a manifest is complete.
        write_synced(&dir.join(MANIFEST_FILE), text.as_bytes())?;
        Ok(Bundle {
            dir: dir.to_owned(),
            manifest: text,
            payload: payload.to_vec(),
            signatures: String::new(),
        })
    }

    /// Reads a bundle directory, checking the manifest parses and the payload matches it.
    pub fn read(dir: &Path) -> anyhow::Result<Bundle> {
        let read = |name: &str| {
            let path = dir.join(name);
            fs::read(&path).with_context(|| format!("reading {}", path.display()))
        };
        let manifest_bytes = read(MANIFEST_FILE)?;
        let manifest = Manifest::parse(&manifest_bytes)
            .with_context(|| format!("{}", dir.join(MANIFEST_FILE).display()))?;
        let payload = read(PAYLOAD_FILE)?;
        let declared = &manifest.payload;
        if payload.len() as u64 != declared.size
            || urne_release::manifest::sha256(&payload) != declared.sha256
        {
            bail!(
                "{}: does not match the manifest's payload-sha256 / payload-size",
                dir.join(PAYLOAD_FILE).display()
            );
        }
        let signatures = match fs::read_to_string(dir.join(SIGNATURES_FILE)) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e).context(format!("reading {}", dir.display())),
        };
        Ok(Bundle {
            dir: dir.to_owned(),
            manifest: String::from_utf8(manifest_bytes).expect("a parsed manifest is UTF-8"),
            payload,
            signatures,
        })
    }

    /// The parsed manifest.
    pub fn parsed_manifest(&self) -> Manifest {
        Manifest::parse(self.manifest.as_bytes()).expect("checked when read")
    }

    /// The log entry: the manifest as a signed note (manifest, blank line, signatures).
    /// Without signatures it is the bare manifest, which the server refuses.
    pub fn entry(&self) -> Vec<u8> {
        if self.signatures.is_empty() {
            return self.manifest.clone().into_bytes();
        }
        format!("{}\n{}", self.manifest, self.signatures).into_bytes()
    }

    /// Adds (or replaces) one official's signature and saves the `signatures` file.
    pub fn sign(&mut self, signer: &Ed25519Signer) -> anyhow::Result<()> {
        let signed = sign_entry(&self.entry(), signer)
            .with_context(|| format!("signing the bundle in {}", self.dir.display()))?;
        let text = String::from_utf8(signed).expect("a signed note is UTF-8");
        let (_, signatures) = text
            .split_once("\n\n")
            .expect("a signed note has a blank line before its signatures");
        self.signatures = signatures.to_owned();
        write_synced(&self.dir.join(SIGNATURES_FILE), self.signatures.as_bytes())?;
        Ok(())
    }

    /// The upload body for `POST /api/v1/releases`.
    pub fn upload_body(&self) -> Vec<u8> {
        encode_upload(&self.entry(), &self.payload)
    }
}

/// Frames an entry and its payload as one upload body.
pub fn encode_upload(entry: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(UPLOAD_HEADER.len() + 8 + entry.len() + payload.len());
    body.extend_from_slice(UPLOAD_HEADER);
    body.extend_from_slice(format!("{}\n", entry.len()).as_bytes());
    body.extend_from_slice(entry);
    body.extend_from_slice(payload);
    body
}

/// Splits an upload body into (entry, payload). The error says what is malformed.
pub fn decode_upload(body: &[u8]) -> Result<(&[u8], &[u8]), &'static str> {
    let rest = body
        .strip_prefix(UPLOAD_HEADER)
        .ok_or("body does not start with `urne-release-bundle/v1`")?;
    let newline = rest
        .iter()
        .take(LENGTH_DIGITS_MAX + 1)
        .position(|&b| b == b'\n')
        .ok_or("second line is not the entry length")?;
    let digits = &rest[..newline];
    let canonical = !digits.is_empty()
        && digits.iter().all(u8::is_ascii_digit)
        && (digits[0] != b'0' || digits.len() == 1);
    if !canonical {
        return Err("entry length is not a decimal without leading zeros");
    }
    let length: usize = std::str::from_utf8(digits)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or("entry length is not a decimal")?;
    if length > urne_tlog::ENTRY_BYTES_MAX {
        return Err("entry length exceeds the 65,535-byte entry limit");
    }
    let rest = &rest[newline + 1..];
    if rest.len() < length {
        return Err("body is shorter than the entry length");
    }
    Ok(rest.split_at(length))
}

/// Writes a file and fsyncs it.
fn write_synced(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut file =
        fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_framing_round_trips_and_refuses_malformed_bodies() {
        let body = encode_upload(b"entry", b"payload bytes");
        assert_eq!(
            decode_upload(&body),
            Ok((&b"entry"[..], &b"payload bytes"[..]))
        );
        let cases: [(&[u8], &str); 5] = [
            (b"nope", "body does not start with `urne-release-bundle/v1`"),
            (
                b"urne-release-bundle/v1\n05\nabcde",
                "entry length is not a decimal without leading zeros",
            ),
            (
                b"urne-release-bundle/v1\n99999\nabc",
                "entry length exceeds the 65,535-byte entry limit",
            ),
            (
                b"urne-release-bundle/v1\n9\nabc",
                "body is shorter than the entry length",
            ),
            (
                b"urne-release-bundle/v1\n1234567",
                "second line is not the entry length",
            ),
        ];
        for (body, want) in cases {
            assert_eq!(
                decode_upload(body),
                Err(want),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
