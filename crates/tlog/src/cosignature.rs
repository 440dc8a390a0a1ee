//! c2sp.org/tlog-cosignature `cosignature/v1`: timestamped Ed25519 witness
//! cosignatures (signed-note type `0x04`).

use std::fmt;

use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use rand_core::CryptoRngCore;

use crate::checkpoint::Checkpoint;
use crate::note::{
    NoteError, NoteVerifier, Signature, is_valid_key_name, key_id, key_string, parse_key_string,
};

/// signed-note signature type for tlog-cosignature Ed25519 cosignatures.
pub const SIGNATURE_TYPE_COSIGNATURE: u8 = 0x04;
/// tlog-cosignature: the timestamp MUST NOT exceed 2^63 - 1.
pub const TIMESTAMP_MAX: u64 = (1 << 63) - 1;
/// tlog-cosignature: 8-byte timestamp then a 64-byte Ed25519 signature.
pub const COSIGNATURE_BYTES: usize = 8 + 64;

/// A cosignature that cannot be made or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CosignatureError {
    #[error("timestamp {0} exceeds 2^63 - 1")]
    TimestampTooLarge(u64),
    #[error("signature is by {name}+{key_id:08x}, not this cosigner")]
    WrongKey { name: String, key_id: u32 },
    #[error("cosignature is {0} bytes, want {COSIGNATURE_BYTES}")]
    Length(usize),
    #[error("cosignature does not verify")]
    Invalid,
    #[error(transparent)]
    Key(#[from] NoteError),
}

/// Token: a checked cosignature and the time the cosigner claims. Only
/// [`CosignatureVerifier::verify`] builds it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct CosignatureChecked {
    timestamp: u64,
}

impl CosignatureChecked {
    /// The POSIX timestamp in the cosignature; the caller decides whether it
    /// is too far in the future (this crate has no clock).
    pub fn timestamp(&self) -> u64 {
        self.timestamp
    }
}

/// tlog-cosignature: `cosignature/v1\ntime <T>\n` then the checkpoint body.
pub fn cosigned_message(checkpoint_body: &str, timestamp: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{checkpoint_body}").into_bytes()
}

/// A witness's Ed25519 cosigning key. `Debug` hides the key.
#[derive(Clone)]
pub struct CosignatureSigner {
    name: String,
    key_id: u32,
    key: SigningKey,
}

impl fmt::Debug for CosignatureSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CosignatureSigner({}+{:08x}, <secret>)",
            self.name, self.key_id
        )
    }
}

impl CosignatureSigner {
    /// A new key for `name`, drawn from the caller's RNG.
    pub fn generate(name: &str, rng: &mut impl CryptoRngCore) -> Result<Self, CosignatureError> {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        CosignatureSigner::from_seed(name, seed)
    }

    /// The key for `name` with this 32-byte RFC 8032 seed.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, CosignatureError> {
        if !is_valid_key_name(name) {
            return Err(NoteError::BadKeyName.into());
        }
        let key = SigningKey::from_bytes(&seed);
        Ok(CosignatureSigner {
            name: name.to_string(),
            key_id: key_id(
                name,
                SIGNATURE_TYPE_COSIGNATURE,
                key.verifying_key().as_bytes(),
            ),
            key,
        })
    }

    /// Parses `PRIVATE+KEY+<name>+<hex8>+base64(0x04 || seed)`, the Go
    /// private-key layout with the cosignature type byte.
    pub fn from_private_key(text: &str) -> Result<Self, CosignatureError> {
        let rest = text
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(NoteError::MalformedKey)?;
        let (name, id, seed) = parse_key_string(rest, SIGNATURE_TYPE_COSIGNATURE)?;
        let signer = CosignatureSigner::from_seed(&name, seed)?;
        if signer.key_id != id {
            return Err(NoteError::KeyIdMismatch.into());
        }
        Ok(signer)
    }

    /// The private key string. Secret: keep it out of logs.
    pub fn private_key(&self) -> String {
        format!(
            "PRIVATE+KEY+{}",
            key_string(
                &self.name,
                self.key_id,
                SIGNATURE_TYPE_COSIGNATURE,
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
    pub fn verifier(&self) -> CosignatureVerifier {
        CosignatureVerifier {
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.key.verifying_key(),
        }
    }

    /// Cosigns `checkpoint` at `timestamp` (the caller's clock). The caller
    /// must have checked consistency with everything it cosigned before.
    pub fn sign(
        &self,
        checkpoint: &Checkpoint,
        timestamp: u64,
    ) -> Result<Signature, CosignatureError> {
        if timestamp > TIMESTAMP_MAX {
            return Err(CosignatureError::TimestampTooLarge(timestamp));
        }
        let message = cosigned_message(&checkpoint.body(), timestamp);
        // tlog-cosignature: timestamped_signature = u64 timestamp (big-endian) || signature.
        let mut bytes = timestamp.to_be_bytes().to_vec();
        bytes.extend_from_slice(&self.key.sign(&message).to_bytes());
        Ok(Signature {
            name: self.name.clone(),
            key_id: self.key_id,
            signature: bytes,
        })
    }
}

/// A witness's cosignature verifier key (vkey type `0x04`).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CosignatureVerifier {
    name: String,
    key_id: u32,
    key: VerifyingKey,
}

impl CosignatureVerifier {
    /// A verifier for `name` and a 32-byte public key.
    pub fn new(name: &str, public_key: &[u8; 32]) -> Result<Self, CosignatureError> {
        if !is_valid_key_name(name) {
            return Err(NoteError::BadKeyName.into());
        }
        let key = VerifyingKey::from_bytes(public_key).map_err(|_| NoteError::MalformedKey)?;
        Ok(CosignatureVerifier {
            name: name.to_string(),
            key_id: key_id(name, SIGNATURE_TYPE_COSIGNATURE, public_key),
            key,
        })
    }

    /// Parses a vkey with type `0x04`.
    pub fn from_vkey(text: &str) -> Result<Self, CosignatureError> {
        let (name, id, key) = parse_key_string(text, SIGNATURE_TYPE_COSIGNATURE)?;
        let v = CosignatureVerifier::new(&name, &key)?;
        if v.key_id != id {
            return Err(NoteError::KeyIdMismatch.into());
        }
        Ok(v)
    }

    /// The vkey string.
    pub fn vkey(&self) -> String {
        key_string(
            &self.name,
            self.key_id,
            SIGNATURE_TYPE_COSIGNATURE,
            self.key.as_bytes(),
        )
    }

    /// The 32-byte public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// Checks `signature` as this cosigner's cosignature on `checkpoint_body`.
    pub fn verify(
        &self,
        checkpoint_body: &str,
        signature: &Signature,
    ) -> Result<CosignatureChecked, CosignatureError> {
        if signature.name != self.name || signature.key_id != self.key_id {
            return Err(CosignatureError::WrongKey {
                name: signature.name.clone(),
                key_id: signature.key_id,
            });
        }
        self.check(checkpoint_body.as_bytes(), &signature.signature)
    }

    fn check(&self, body: &[u8], bytes: &[u8]) -> Result<CosignatureChecked, CosignatureError> {
        if bytes.len() != COSIGNATURE_BYTES {
            return Err(CosignatureError::Length(bytes.len()));
        }
        let (ts, sig) = bytes.split_at(8);
        let timestamp = u64::from_be_bytes(ts.try_into().map_err(|_| CosignatureError::Invalid)?);
        if timestamp > TIMESTAMP_MAX {
            return Err(CosignatureError::TimestampTooLarge(timestamp));
        }
        let sig =
            ed25519_dalek::Signature::from_slice(sig).map_err(|_| CosignatureError::Invalid)?;
        let mut message = format!("cosignature/v1\ntime {timestamp}\n").into_bytes();
        message.extend_from_slice(body);
        self.key
            .verify_strict(&message, &sig)
            .map_err(|_| CosignatureError::Invalid)?;
        Ok(CosignatureChecked { timestamp })
    }
}

impl NoteVerifier for CosignatureVerifier {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> u32 {
        self.key_id
    }

    fn verify(&self, text: &[u8], signature: &[u8]) -> bool {
        self.check(text, signature).is_ok()
    }
}
