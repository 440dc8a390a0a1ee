//! Passphrase protection of an official's private key file (`urne keygen --encrypt`).
//!
//! The file stays a small text file, mode 0600 like an unencrypted one:
//!
//! ```text
//! urne-encrypted-key/v1
//! kdf argon2id m=65536 t=3 p=1
//! salt <16 bytes, hex>
//! check <32 bytes, hex>
//! nonce <24 bytes, hex>
//! sealed <XChaCha20-Poly1305 of the signed-note private key string, hex>
//! ```
//!
//! Argon2id of the passphrase and salt gives 64 bytes: the first 32 are the sealing key, the
//! last 32 are `check`, so a wrong passphrase is told apart from a file edited after it was
//! written (the seal then fails authentication). The lines before `sealed` are the associated
//! data of the seal. Argon2 parameters read from a file are bounded (`ARGON2_*_MAX`), so a
//! hostile file cannot make `urne sign` allocate or spin without limit.

use std::path::Path;

use chacha20poly1305::{
    KeyInit, XChaCha20Poly1305, XNonce,
    aead::{Aead, Payload},
};
use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

/// The first line of an encrypted key file.
pub const HEADER: &str = "urne-encrypted-key/v1";
/// Argon2id memory for new files, KiB (64 MiB).
pub const ARGON2_MEMORY_KIB: u32 = 64 * 1024;
/// Argon2id passes for new files.
pub const ARGON2_TIME: u32 = 3;
/// Argon2id lanes for new files.
pub const ARGON2_LANES: u32 = 1;
/// The most Argon2id memory a key file may ask for, KiB (1 GiB).
pub const ARGON2_MEMORY_KIB_MAX: u32 = 1 << 20;
/// The most Argon2id passes a key file may ask for.
pub const ARGON2_TIME_MAX: u32 = 16;
/// The most Argon2id lanes a key file may ask for.
pub const ARGON2_LANES_MAX: u32 = 16;
/// Bytes in a passphrase.
pub const PASSPHRASE_BYTES_MAX: usize = 1024;
/// Bytes in a key file (encrypted or not).
pub const KEY_FILE_BYTES_MAX: usize = 4096;

/// Why an encrypted key file could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The passphrase does not derive the file's check value.
    #[error("{file}: wrong passphrase (or its salt or kdf line was edited)")]
    WrongPassphrase { file: String },
    /// The passphrase is right but the sealed key fails authentication.
    #[error(
        "{file}: the sealed key fails authentication: the file was changed after it was written"
    )]
    Tampered { file: String },
    /// Not in the format above.
    #[error("{file} line {line}: {why}")]
    Format {
        file: String,
        line: usize,
        why: String,
    },
    /// The passphrase is empty or too long.
    #[error("the passphrase must be 1 to {PASSPHRASE_BYTES_MAX} bytes")]
    PassphraseLength,
}

/// Whether a key file's text is an encrypted one.
pub fn is_encrypted(text: &str) -> bool {
    text.starts_with(HEADER)
}

struct Params {
    m: u32,
    t: u32,
    p: u32,
}

fn derive(passphrase: &str, salt: &[u8], params: &Params) -> Zeroizing<[u8; 64]> {
    let argon = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        // Bounded before we get here; the crate's own limits are wider.
        argon2::Params::new(params.m, params.t, params.p, Some(64)).expect("bounded parameters"),
    );
    let mut out = Zeroizing::new([0u8; 64]);
    argon
        .hash_password_into(passphrase.as_bytes(), salt, &mut out[..])
        .expect("salt and output lengths are fixed");
    out
}

fn check_passphrase(passphrase: &str) -> Result<(), KeyFileError> {
    if passphrase.is_empty() || passphrase.len() > PASSPHRASE_BYTES_MAX {
        return Err(KeyFileError::PassphraseLength);
    }
    Ok(())
}

/// Seals `private_key` (a signed-note private key string) under `passphrase`.
pub fn encrypt(private_key: &str, passphrase: &str) -> Result<String, KeyFileError> {
    check_passphrase(passphrase)?;
    let params = Params {
        m: ARGON2_MEMORY_KIB,
        t: ARGON2_TIME,
        p: ARGON2_LANES,
    };
    let mut salt = [0u8; 16];
    let mut nonce = [0u8; 24];
    OsRng.fill_bytes(&mut salt);
    OsRng.fill_bytes(&mut nonce);
    let derived = derive(passphrase, &salt, &params);
    let head = format!(
        "{HEADER}\nkdf argon2id m={} t={} p={}\nsalt {}\ncheck {}\nnonce {}\n",
        params.m,
        params.t,
        params.p,
        hex(&salt),
        hex(&derived[32..]),
        hex(&nonce)
    );
    let cipher = XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(&derived[..32]));
    let sealed = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: private_key.as_bytes(),
                aad: head.as_bytes(),
            },
        )
        .expect("XChaCha20-Poly1305 seals any length we give it");
    Ok(format!("{head}sealed {}\n", hex(&sealed)))
}

/// Opens an encrypted key file's `text` (from `file`, for messages) with `passphrase`.
pub fn decrypt(
    text: &str,
    passphrase: &str,
    file: &Path,
) -> Result<Zeroizing<String>, KeyFileError> {
    check_passphrase(passphrase)?;
    let file = file.display().to_string();
    let format = |line: usize, why: &str| KeyFileError::Format {
        file: file.clone(),
        line,
        why: why.to_owned(),
    };
    let lines: Vec<&str> = text.lines().collect();
    if lines.first() != Some(&HEADER) {
        return Err(format(1, &format!("not {HEADER:?}")));
    }
    let field = |n: usize, name: &str| -> Result<&str, KeyFileError> {
        lines
            .get(n - 1)
            .and_then(|l| l.strip_prefix(name))
            .and_then(|l| l.strip_prefix(' '))
            .ok_or_else(|| format(n, &format!("expected \"{name} …\"")))
    };
    let params = parse_kdf(field(2, "kdf")?).map_err(|why| format(2, &why))?;
    let hex_field = |n: usize, name: &str, len: Option<usize>| -> Result<Vec<u8>, KeyFileError> {
        let bytes = unhex(field(n, name)?).ok_or_else(|| format(n, "not lowercase hex"))?;
        match len {
            Some(len) if bytes.len() != len => Err(format(n, &format!("not {len} bytes"))),
            _ => Ok(bytes),
        }
    };
    let salt = hex_field(3, "salt", Some(16))?;
    let check = hex_field(4, "check", Some(32))?;
    let nonce = hex_field(5, "nonce", Some(24))?;
    let sealed = hex_field(6, "sealed", None)?;
    if lines.len() > 6 {
        return Err(format(7, "unexpected line after \"sealed\""));
    }
    let derived = derive(passphrase, &salt, &params);
    // Not secret-dependent timing worth hiding: the check value is in the file.
    if derived[32..] != check[..] {
        return Err(KeyFileError::WrongPassphrase { file });
    }
    let head: String = lines[..5].iter().map(|l| format!("{l}\n")).collect();
    let cipher = XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(&derived[..32]));
    let plain = cipher
        .decrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &sealed,
                aad: head.as_bytes(),
            },
        )
        .map_err(|_| KeyFileError::Tampered { file: file.clone() })?;
    let plain = Zeroizing::new(plain);
    let text = std::str::from_utf8(&plain).map_err(|_| KeyFileError::Tampered { file })?;
    Ok(Zeroizing::new(text.to_owned()))
}

fn parse_kdf(s: &str) -> Result<Params, String> {
    let mut parts = s.split(' ');
    if parts.next() != Some("argon2id") {
        return Err("the only kdf is argon2id".into());
    }
    let mut get = |name: &str, max: u32, min: u32| -> Result<u32, String> {
        let v: u32 = parts
            .next()
            .and_then(|p| p.strip_prefix(name))
            .and_then(|p| p.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("expected {name}=N"))?;
        if !(min..=max).contains(&v) {
            return Err(format!("{name}={v} is outside {min}..={max}"));
        }
        Ok(v)
    };
    let m = get("m", ARGON2_MEMORY_KIB_MAX, 8 * 1024)?;
    let t = get("t", ARGON2_TIME_MAX, 1)?;
    let p = get("p", ARGON2_LANES_MAX, 1)?;
    if parts.next().is_some() {
        return Err("unexpected text after p=N".into());
    }
    Ok(Params { m, t, p })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || s.len() > 2 * KEY_FILE_BYTES_MAX {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            let pair = s.get(i..i + 2)?;
            if pair.bytes().any(|b| b.is_ascii_uppercase()) {
                return None;
            }
            u8::from_str_radix(pair, 16).ok()
        })
        .collect()
}

/// Where a passphrase comes from: `--passphrase-file`, else `URNE_KEY_PASSPHRASE`, else a
/// prompt on the terminal (echo off).
#[derive(Debug, Clone, Default)]
pub struct PassphraseSource {
    /// A file whose first line is the passphrase.
    pub file: Option<std::path::PathBuf>,
}

/// The environment variable a script can set instead of a prompt.
pub const PASSPHRASE_ENV: &str = "URNE_KEY_PASSPHRASE";

impl PassphraseSource {
    /// Reads the passphrase; `confirm` asks twice on a terminal (a new key).
    pub fn read(&self, prompt: &str, confirm: bool) -> anyhow::Result<Zeroizing<String>> {
        use anyhow::Context as _;
        if let Some(path) = &self.file {
            let text = Zeroizing::new(
                std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?,
            );
            return Ok(Zeroizing::new(
                text.lines().next().unwrap_or_default().to_owned(),
            ));
        }
        if let Ok(p) = std::env::var(PASSPHRASE_ENV) {
            return Ok(Zeroizing::new(p));
        }
        let first = prompt_tty(prompt)?;
        if confirm {
            let again = prompt_tty("Same passphrase again: ")?;
            if *again != *first {
                anyhow::bail!("the two passphrases differ");
            }
        }
        Ok(first)
    }
}

/// Reads one line from the terminal with echo off, restoring the terminal afterwards.
fn prompt_tty(prompt: &str) -> anyhow::Result<Zeroizing<String>> {
    use std::io::{BufRead as _, Write as _};

    use anyhow::Context as _;
    use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .with_context(|| {
            format!(
                "no terminal to ask for the passphrase: use --passphrase-file or {PASSPHRASE_ENV}"
            )
        })?;
    let saved = tcgetattr(&tty).context("reading the terminal's settings")?;
    let mut quiet = saved.clone();
    quiet.local_modes.remove(LocalModes::ECHO);
    quiet.local_modes.insert(LocalModes::ECHONL);
    (&tty).write_all(prompt.as_bytes())?;
    tcsetattr(&tty, OptionalActions::Flush, &quiet).context("turning echo off")?;
    let mut line = Zeroizing::new(String::new());
    let read = std::io::BufReader::new(&tty).read_line(&mut line);
    tcsetattr(&tty, OptionalActions::Flush, &saved).context("turning echo back on")?;
    read.context("reading the passphrase")?;
    let trimmed = line.trim_end_matches(['\n', '\r']).to_owned();
    Ok(Zeroizing::new(trimmed))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "PRIVATE+KEY+registrar.example-county.gov+01234567+AbCdEf";

    #[test]
    fn a_sealed_key_opens_with_its_passphrase_only_and_any_edit_is_caught() {
        let file = Path::new("registrar.key");
        let text = encrypt(KEY, "correct horse battery staple").unwrap();
        assert!(is_encrypted(&text));
        assert!(!text.contains("PRIVATE+KEY"), "{text}");
        let opened = decrypt(&text, "correct horse battery staple", file).unwrap();
        assert_eq!(opened.as_str(), KEY);

        let wrong = decrypt(&text, "correct horse battery stapler", file).unwrap_err();
        assert_eq!(
            wrong.to_string(),
            "registrar.key: wrong passphrase (or its salt or kdf line was edited)"
        );
        // One hex digit changed in the sealed key, then in the nonce (associated data).
        for line in ["sealed ", "nonce "] {
            let at = text.find(line).unwrap() + line.len() + 3;
            let mut edited = text.clone().into_bytes();
            edited[at] = if edited[at] == b'0' { b'1' } else { b'0' };
            let err = decrypt(
                std::str::from_utf8(&edited).unwrap(),
                "correct horse battery staple",
                file,
            )
            .unwrap_err();
            assert_eq!(
                err.to_string(),
                "registrar.key: the sealed key fails authentication: the file was changed after it was written",
                "{line}"
            );
        }
        // A hostile kdf line is refused before any work, naming the line.
        let greedy = text.replacen("m=65536", "m=4294967295", 1);
        let err = decrypt(&greedy, "x", file).unwrap_err();
        assert_eq!(
            err.to_string(),
            "registrar.key line 2: m=4294967295 is outside 8192..=1048576"
        );
        let cut: String = text.lines().take(4).map(|l| format!("{l}\n")).collect();
        let err = decrypt(&cut, "x", file).unwrap_err();
        assert_eq!(
            err.to_string(),
            "registrar.key line 5: expected \"nonce …\""
        );
        assert!(matches!(
            encrypt(KEY, ""),
            Err(KeyFileError::PassphraseLength)
        ));
    }
}
