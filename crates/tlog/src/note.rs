//! c2sp.org/signed-note: notes, Ed25519 (type `0x01`) signers and verifiers,
//! and the `vkey` / private-key strings of Go's `golang.org/x/mod/sumdb/note`.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};

/// Bytes in a whole note (text and signatures).
pub const NOTE_BYTES_MAX: usize = 1_000_000;
/// Signature lines in a note. signed-note: verifiers MUST accept at least 16.
pub const NOTE_SIGNATURES_MAX: usize = 100;
/// Bytes in a key name.
pub const KEY_NAME_BYTES_MAX: usize = 1024;

/// signed-note signature type for Ed25519 note signatures.
pub const SIGNATURE_TYPE_ED25519: u8 = 0x01;

/// A note, a key string or a signature that is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    #[error("note is longer than {NOTE_BYTES_MAX} bytes")]
    TooLong,
    #[error("note is not valid UTF-8")]
    NotUtf8,
    #[error("note contains an ASCII control character other than newline")]
    ControlCharacter,
    #[error("note text does not end with a newline")]
    NoFinalNewline,
    #[error("note has no blank line before its signatures")]
    NoSignatureBlock,
    #[error("note has more than {NOTE_SIGNATURES_MAX} signatures")]
    TooManySignatures,
    #[error("signature line {0} is malformed")]
    MalformedSignature(usize),
    #[error("key name is empty, too long, or contains a space or `+`")]
    BadKeyName,
    #[error("key string is malformed")]
    MalformedKey,
    #[error("key string's key ID does not match its key")]
    KeyIdMismatch,
    #[error("key has signature type {0:#04x}, want {1:#04x}")]
    WrongKeyType(u8, u8),
    #[error("signature by known key {name}+{key_id:08x} does not verify")]
    InvalidSignature { name: String, key_id: u32 },
    #[error("no signature by a known key")]
    NoKnownSignature,
}

/// One signature line: `— <name> base64(key ID || signature)`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Signature {
    /// The key name.
    pub name: String,
    /// signed-note: the 32-bit key ID, big-endian in the encoding.
    pub key_id: u32,
    /// The signature bytes after the key ID.
    pub signature: Vec<u8>,
}

impl Signature {
    /// The signature line, with its final newline.
    pub fn line(&self) -> String {
        let mut bytes = self.key_id.to_be_bytes().to_vec();
        bytes.extend_from_slice(&self.signature);
        format!("\u{2014} {} {}\n", self.name, STANDARD.encode(bytes))
    }
}

/// A signed note: text (ending in a newline) and its signatures.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Note {
    text: String,
    signatures: Vec<Signature>,
}

/// Something that checks note signatures by one key.
pub trait NoteVerifier {
    /// The key name.
    fn name(&self) -> &str;
    /// The key ID.
    fn key_id(&self) -> u32;
    /// Whether `signature` (without the key ID) is valid for `text`.
    fn verify(&self, text: &[u8], signature: &[u8]) -> bool;
}

/// Token: a note whose signatures by known keys all verified, and at least
/// one did. Only [`Note::verify`] builds it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct VerifiedNote {
    text: String,
    verified: Vec<(String, u32)>,
}

impl VerifiedNote {
    /// The note text, now authenticated.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// `(name, key ID)` of each known key whose signature verified, in note order.
    pub fn verified_by(&self) -> &[(String, u32)] {
        &self.verified
    }

    /// Whether a key with this name verified.
    pub fn is_verified_by(&self, name: &str) -> bool {
        self.verified.iter().any(|(n, _)| n == name)
    }
}

/// signed-note: key names are non-empty, with no Unicode spaces and no `+`.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= KEY_NAME_BYTES_MAX
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || (c as u32) < 0x20)
}

/// signed-note: key ID = `SHA-256(key name || 0x0A || signature type || public key)[:4]`.
pub fn key_id(name: &str, signature_type: u8, public_key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', signature_type]);
    h.update(public_key);
    let digest = h.finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

impl Note {
    /// A note with `text` and no signatures. The text must end in a newline
    /// and obey the signed-note character rules.
    pub fn new(text: &str) -> Result<Note, NoteError> {
        check_chars(text)?;
        if !text.ends_with('\n') {
            return Err(NoteError::NoFinalNewline);
        }
        Ok(Note {
            text: text.to_string(),
            signatures: Vec::new(),
        })
    }

    /// Parses a signed note: text, a blank line, then signature lines.
    pub fn parse(bytes: &[u8]) -> Result<Note, NoteError> {
        if bytes.len() > NOTE_BYTES_MAX {
            return Err(NoteError::TooLong);
        }
        let all = std::str::from_utf8(bytes).map_err(|_| NoteError::NotUtf8)?;
        check_chars(all)?;
        // signed-note: the text is separated from the signatures by the last empty line.
        let (text, block) = all.rsplit_once("\n\n").ok_or(NoteError::NoSignatureBlock)?;
        let block = block.strip_suffix('\n').ok_or(NoteError::NoFinalNewline)?;
        let mut signatures = Vec::new();
        for (i, line) in block.split('\n').enumerate() {
            if i == NOTE_SIGNATURES_MAX {
                return Err(NoteError::TooManySignatures);
            }
            signatures
                .push(parse_signature_line(line).ok_or(NoteError::MalformedSignature(i + 1))?);
        }
        Ok(Note {
            text: format!("{text}\n"),
            signatures,
        })
    }

    /// The note text, ending in a newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signatures, in order.
    pub fn signatures(&self) -> &[Signature] {
        &self.signatures
    }

    /// Adds a signature, replacing any by the same (name, key ID).
    pub fn add_signature(&mut self, signature: Signature) -> Result<(), NoteError> {
        if !is_valid_key_name(&signature.name) {
            return Err(NoteError::BadKeyName);
        }
        // Replacing a signature by the same key never grows the note, so it is always allowed.
        self.signatures
            .retain(|s| !(s.name == signature.name && s.key_id == signature.key_id));
        if self.signatures.len() >= NOTE_SIGNATURES_MAX {
            return Err(NoteError::TooManySignatures);
        }
        self.signatures.push(signature);
        Ok(())
    }

    /// Signs the text with an Ed25519 note key and adds the signature.
    pub fn sign(&mut self, signer: &Ed25519Signer) -> Result<(), NoteError> {
        let signature = signer.sign(self.text.as_bytes());
        self.add_signature(signature)
    }

    /// The serialized note: text, blank line, signature lines.
    pub fn to_text(&self) -> String {
        let mut out = self.text.clone();
        out.push('\n');
        for s in &self.signatures {
            out.push_str(&s.line());
        }
        out
    }

    /// signed-note: signatures from unknown keys (name and ID not both
    /// matching a verifier) are ignored; a signature from a known key must
    /// verify or the whole note is rejected; at least one must verify.
    pub fn verify(&self, known: &[&dyn NoteVerifier]) -> Result<VerifiedNote, NoteError> {
        let mut verified: Vec<(String, u32)> = Vec::new();
        for s in &self.signatures {
            let Some(v) = known
                .iter()
                .find(|v| v.name() == s.name && v.key_id() == s.key_id)
            else {
                continue;
            };
            if !v.verify(self.text.as_bytes(), &s.signature) {
                return Err(NoteError::InvalidSignature {
                    name: s.name.clone(),
                    key_id: s.key_id,
                });
            }
            if !verified
                .iter()
                .any(|(n, id)| *n == s.name && *id == s.key_id)
            {
                verified.push((s.name.clone(), s.key_id));
            }
        }
        if verified.is_empty() {
            return Err(NoteError::NoKnownSignature);
        }
        Ok(VerifiedNote {
            text: self.text.clone(),
            verified,
        })
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// signed-note: valid UTF-8 with no ASCII control characters but newline.
fn check_chars(text: &str) -> Result<(), NoteError> {
    if text.len() > NOTE_BYTES_MAX {
        return Err(NoteError::TooLong);
    }
    if text.bytes().any(|b| b < 0x20 && b != b'\n') {
        return Err(NoteError::ControlCharacter);
    }
    Ok(())
}

fn parse_signature_line(line: &str) -> Option<Signature> {
    let rest = line.strip_prefix("\u{2014} ")?;
    let (name, b64) = rest.split_once(' ')?;
    if !is_valid_key_name(name) {
        return None;
    }
    let bytes = STANDARD.decode(b64).ok()?;
    // signed-note: 4 bytes of key ID, then at least one byte of signature.
    if bytes.len() < 5 || STANDARD.encode(&bytes) != b64 {
        return None;
    }
    Some(Signature {
        name: name.to_string(),
        key_id: u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
        signature: bytes[4..].to_vec(),
    })
}

/// Splits `name+hex8+base64(type || key)` and checks the key ID.
pub(crate) fn parse_key_string(
    text: &str,
    want_type: u8,
) -> Result<(String, u32, [u8; 32]), NoteError> {
    // Names never contain `+`, but base64 does: split at the first two only.
    let mut parts = text.splitn(3, '+');
    let (Some(name), Some(id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(NoteError::MalformedKey);
    };
    if !is_valid_key_name(name) {
        return Err(NoteError::BadKeyName);
    }
    if id.len() != 8
        || !id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        return Err(NoteError::MalformedKey);
    }
    let id = u32::from_str_radix(id, 16).map_err(|_| NoteError::MalformedKey)?;
    let bytes = STANDARD.decode(b64).map_err(|_| NoteError::MalformedKey)?;
    let (&kind, key) = bytes.split_first().ok_or(NoteError::MalformedKey)?;
    if kind != want_type {
        return Err(NoteError::WrongKeyType(kind, want_type));
    }
    let key: [u8; 32] = key.try_into().map_err(|_| NoteError::MalformedKey)?;
    Ok((name.to_string(), id, key))
}

pub(crate) fn key_string(name: &str, id: u32, kind: u8, key: &[u8; 32]) -> String {
    let mut bytes = vec![kind];
    bytes.extend_from_slice(key);
    format!("{name}+{id:08x}+{}", STANDARD.encode(bytes))
}

/// An Ed25519 note signing key (signed-note type `0x01`). `Debug` hides the key.
#[derive(Clone)]
pub struct Ed25519Signer {
    name: String,
    key_id: u32,
    key: SigningKey,
}

impl fmt::Debug for Ed25519Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Ed25519Signer({}+{:08x}, <secret>)",
            self.name, self.key_id
        )
    }
}

impl Ed25519Signer {
    /// A new key for `name`, drawn from the caller's RNG.
    pub fn generate(name: &str, rng: &mut impl CryptoRngCore) -> Result<Ed25519Signer, NoteError> {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        Ed25519Signer::from_seed(name, seed)
    }

    /// The key for `name` with this 32-byte RFC 8032 seed.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Ed25519Signer, NoteError> {
        if !is_valid_key_name(name) {
            return Err(NoteError::BadKeyName);
        }
        let key = SigningKey::from_bytes(&seed);
        let key_id = key_id(name, SIGNATURE_TYPE_ED25519, key.verifying_key().as_bytes());
        Ok(Ed25519Signer {
            name: name.to_string(),
            key_id,
            key,
        })
    }

    /// Parses Go's `PRIVATE+KEY+<name>+<hex8>+base64(0x01 || seed)`.
    pub fn from_private_key(text: &str) -> Result<Ed25519Signer, NoteError> {
        let rest = text
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(NoteError::MalformedKey)?;
        let (name, id, seed) = parse_key_string(rest, SIGNATURE_TYPE_ED25519)?;
        let signer = Ed25519Signer::from_seed(&name, seed)?;
        if signer.key_id != id {
            return Err(NoteError::KeyIdMismatch);
        }
        Ok(signer)
    }

    /// Go's private key string. Secret: keep it out of logs.
    pub fn private_key(&self) -> String {
        format!(
            "PRIVATE+KEY+{}",
            key_string(
                &self.name,
                self.key_id,
                SIGNATURE_TYPE_ED25519,
                self.key.as_bytes()
            )
        )
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The matching verifier.
    pub fn verifier(&self) -> Ed25519Verifier {
        Ed25519Verifier {
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.key.verifying_key(),
        }
    }

    /// RFC 8032 signature over `text` (deterministic).
    pub fn sign(&self, text: &[u8]) -> Signature {
        Signature {
            name: self.name.clone(),
            key_id: self.key_id,
            signature: self.key.sign(text).to_bytes().to_vec(),
        }
    }
}

/// An Ed25519 note verifier key (signed-note type `0x01`).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Ed25519Verifier {
    name: String,
    key_id: u32,
    key: VerifyingKey,
}

impl Ed25519Verifier {
    /// A verifier for `name` and a 32-byte public key.
    pub fn new(name: &str, public_key: &[u8; 32]) -> Result<Ed25519Verifier, NoteError> {
        if !is_valid_key_name(name) {
            return Err(NoteError::BadKeyName);
        }
        let key = VerifyingKey::from_bytes(public_key).map_err(|_| NoteError::MalformedKey)?;
        Ok(Ed25519Verifier {
            name: name.to_string(),
            key_id: key_id(name, SIGNATURE_TYPE_ED25519, public_key),
            key,
        })
    }

    /// Parses a vkey: `<name>+<hex8>+base64(0x01 || public key)`.
    pub fn from_vkey(text: &str) -> Result<Ed25519Verifier, NoteError> {
        let (name, id, key) = parse_key_string(text, SIGNATURE_TYPE_ED25519)?;
        let v = Ed25519Verifier::new(&name, &key)?;
        if v.key_id != id {
            return Err(NoteError::KeyIdMismatch);
        }
        Ok(v)
    }

    /// The vkey string.
    pub fn vkey(&self) -> String {
        key_string(
            &self.name,
            self.key_id,
            SIGNATURE_TYPE_ED25519,
            self.key.as_bytes(),
        )
    }

    /// The 32-byte public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }
}

impl NoteVerifier for Ed25519Verifier {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> u32 {
        self.key_id
    }

    fn verify(&self, text: &[u8], signature: &[u8]) -> bool {
        let Ok(sig) = ed25519_dalek::Signature::from_slice(signature) else {
            return false;
        };
        self.key.verify_strict(text, &sig).is_ok()
    }
}
