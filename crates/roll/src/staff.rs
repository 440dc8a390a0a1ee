//! Staff credentials: argon2id password hashes and random API tokens stored hashed.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::limits::{PASSWORD_BYTES_MAX, PASSWORD_CHARS_MIN};

/// Argon2id memory cost in KiB (OWASP's 2023 minimum: 19 MiB, 2 passes, 1 lane).
pub const ARGON2_MEMORY_KIB: u32 = 19 * 1024;
/// Argon2id passes.
pub const ARGON2_PASSES: u32 = 2;
/// Argon2id lanes.
pub const ARGON2_LANES: u32 = 1;
/// Random bytes in an API token.
pub const TOKEN_RANDOM_BYTES: usize = 32;
/// The prefix of every API token, so leaked tokens are recognizable by secret scanners.
pub const TOKEN_PREFIX: &str = "urne_rt_";

/// A password or token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// Shorter than the minimum.
    #[error("password shorter than {PASSWORD_CHARS_MIN} characters")]
    TooShort,
    /// Longer than the maximum (bounds hashing work per request).
    #[error("password longer than {PASSWORD_BYTES_MAX} bytes")]
    TooLong,
    /// The stored hash is not a PHC argon2id string.
    #[error("stored password hash is malformed")]
    BadStoredHash,
    /// Wrong password or token.
    #[error("wrong credentials")]
    Wrong,
}

fn argon2() -> Argon2<'static> {
    // The constants are within argon2's bounds; `Params::new` cannot fail for them, and the
    // default parameters are the fallback all the same.
    let params =
        Params::new(ARGON2_MEMORY_KIB, ARGON2_PASSES, ARGON2_LANES, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn check_length(password: &str) -> Result<(), CredentialError> {
    if password.len() > PASSWORD_BYTES_MAX {
        return Err(CredentialError::TooLong);
    }
    if password.chars().count() < PASSWORD_CHARS_MIN {
        return Err(CredentialError::TooShort);
    }
    Ok(())
}

/// Hashes a new password to a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`).
pub fn hash_password(
    password: &str,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<String, CredentialError> {
    check_length(password)?;
    let mut salt = [0u8; 16];
    rng.fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|_| CredentialError::BadStoredHash)?;
    let hash = argon2()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|_| CredentialError::BadStoredHash)?;
    Ok(hash.to_string())
}

/// Proof that a password matched. Only [`verify_password`] builds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordOk(());

/// Checks a password against its stored PHC string (the parameters come from the string).
pub fn verify_password(password: &str, stored: &str) -> Result<PasswordOk, CredentialError> {
    if password.len() > PASSWORD_BYTES_MAX {
        return Err(CredentialError::TooLong);
    }
    let parsed = PasswordHash::new(stored).map_err(|_| CredentialError::BadStoredHash)?;
    if parsed.algorithm.as_str() != "argon2id" {
        return Err(CredentialError::BadStoredHash);
    }
    argon2()
        .verify_password(password.as_bytes(), &parsed)
        .map(|()| PasswordOk(()))
        .map_err(|_| CredentialError::Wrong)
}

/// A freshly minted API token. Shown to its owner once; `Debug` is redacted.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ApiToken(String);

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiToken(<redacted>)")
    }
}

impl ApiToken {
    /// The secret string to hand to the owner once.
    pub fn danger_secret(&self) -> &str {
        &self.0
    }
}

/// What the store keeps of a token: SHA-256 of the token string. A token has 256 random bits,
/// so a fast hash is enough; no salt or slow hash is needed to stop guessing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

/// Mints a token: `urne_rt_` then 64 hex digits of randomness. Returns the secret and its hash.
pub fn mint_token(rng: &mut (impl RngCore + CryptoRng)) -> (ApiToken, TokenHash) {
    let mut raw = [0u8; TOKEN_RANDOM_BYTES];
    rng.fill_bytes(&mut raw);
    let token = ApiToken(format!("{TOKEN_PREFIX}{}", crate::digest::hex(&raw)));
    raw.zeroize();
    let h = token_hash(&token.0);
    (token, h)
}

/// The stored hash of a presented token string.
pub fn token_hash(presented: &str) -> TokenHash {
    TokenHash(Sha256::digest(presented.as_bytes()).into())
}

/// Checks a presented token against a stored hash in constant time.
pub fn verify_token(presented: &str, stored: &TokenHash) -> Result<(), CredentialError> {
    let ok = presented.len() == TOKEN_PREFIX.len() + 2 * TOKEN_RANDOM_BYTES
        && presented.starts_with(TOKEN_PREFIX);
    let h = token_hash(presented);
    if ok && bool::from(h.0.ct_eq(&stored.0)) {
        Ok(())
    } else {
        Err(CredentialError::Wrong)
    }
}
