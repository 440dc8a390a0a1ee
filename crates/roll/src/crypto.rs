//! Keys, field sealing and blind indexes.
//!
//! Key hierarchy (after CipherSweet's): the office's [`MasterKey`] is given to the process from
//! outside (file or environment, read by `cli`) and is never stored beside the data. From it,
//! HKDF-SHA256 derives one key-encryption key and one blind-index key per [`IndexPurpose`].
//! Each roll has a random [`DataKey`], stored only wrapped ([`WrappedKey`]) by the
//! key-encryption key. Sensitive fields are sealed with XChaCha20-Poly1305 under the data key, a
//! fresh random 192-bit nonce per field (random nonces of that size cannot realistically
//! collide), and associated data binding the record id and field, so a ciphertext moved to
//! another record or field fails to open.
//!
//! Sealing builds XChaCha20-Poly1305 from its two halves (HChaCha20 from `chacha20`, then
//! ChaCha20-Poly1305 from `ring`), because a record seals five short fields and RustCrypto's
//! AVX2 Poly1305 spends most of its time setting up and finalizing on such short inputs.
//! Opening uses RustCrypto's `XChaCha20Poly1305`; tests check both produce the same bytes.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand_core::{CryptoRng, RngCore};
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::CryptoError;
use crate::limits::BLIND_INDEX_BYTES;

/// Bytes in a key.
pub const KEY_BYTES: usize = 32;
/// Bytes in an XChaCha20-Poly1305 nonce.
pub const NONCE_BYTES: usize = 24;
/// Bytes in a Poly1305 tag.
pub const TAG_BYTES: usize = 16;
/// Version byte leading every sealed field and wrapped key.
const SEAL_VERSION: u8 = 1;

/// The office master key. Never stored beside the data; zeroized on drop; `Debug` is redacted.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct MasterKey([u8; KEY_BYTES]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    /// Takes the key bytes (from a file or environment read at the edge).
    pub fn from_bytes(bytes: [u8; KEY_BYTES]) -> MasterKey {
        MasterKey(bytes)
    }
    /// A fresh random master key.
    pub fn generate(rng: &mut (impl RngCore + CryptoRng)) -> MasterKey {
        let mut k = [0u8; KEY_BYTES];
        rng.fill_bytes(&mut k);
        MasterKey(k)
    }
    /// The key bytes, for writing the key file once at setup. Handle with care.
    pub fn danger_expose_bytes(&self) -> &[u8; KEY_BYTES] {
        &self.0
    }
    fn derive(&self, info: &[u8]) -> Zeroizing<[u8; KEY_BYTES]> {
        let hk = Hkdf::<Sha256>::new(Some(b"urne-roll/v1"), &self.0);
        let mut out = Zeroizing::new([0u8; KEY_BYTES]);
        // HKDF-Expand only fails for outputs over 255 hash lengths; 32 bytes never does.
        let _ = hk.expand(info, out.as_mut());
        out
    }
    fn kek(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.derive(b"key-wrap").as_ref().into())
    }
    /// The blind-index key for one purpose.
    pub fn index_key(&self, purpose: IndexPurpose) -> IndexKey {
        let mut info = b"blind-index/".to_vec();
        info.extend_from_slice(purpose.name().as_bytes());
        IndexKey {
            key: *self.derive(&info),
            purpose,
        }
    }
    /// Wraps a roll's data key for storage. `roll_id` is bound as associated data.
    pub fn wrap(
        &self,
        key: &DataKey,
        roll_id: &str,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> WrappedKey {
        let aad = wrap_aad(roll_id);
        WrappedKey(seal_xchacha(&self.derive(b"key-wrap"), &key.0, &aad, rng))
    }
    /// Unwraps a stored data key; fails on a different master key, roll id, or tampering.
    pub fn unwrap(&self, wrapped: &WrappedKey, roll_id: &str) -> Result<DataKey, CryptoError> {
        let aad = wrap_aad(roll_id);
        let plain = Zeroizing::new(open_raw(&self.kek(), &wrapped.0, &aad)?);
        let bytes: [u8; KEY_BYTES] = plain
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::Malformed)?;
        Ok(DataKey(bytes))
    }
}

fn wrap_aad(roll_id: &str) -> Vec<u8> {
    let mut aad = b"urne-roll/v1/wrapped-key/".to_vec();
    aad.extend_from_slice(roll_id.as_bytes());
    aad
}

/// A roll's data key. Zeroized on drop; `Debug` is redacted.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DataKey([u8; KEY_BYTES]);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

impl DataKey {
    /// A fresh random data key.
    pub fn generate(rng: &mut (impl RngCore + CryptoRng)) -> DataKey {
        let mut k = [0u8; KEY_BYTES];
        rng.fill_bytes(&mut k);
        DataKey(k)
    }
    /// The AEAD for this key, built once per batch of records.
    pub fn cipher(&self) -> FieldCipher {
        FieldCipher {
            aead: XChaCha20Poly1305::new((&self.0).into()),
            key: Zeroizing::new(self.0),
        }
    }
}

/// A data key wrapped by the master key: `version(1) || nonce(24) || ciphertext(32) || tag(16)`.
/// Safe to store beside the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey(Vec<u8>);

impl WrappedKey {
    /// The stored bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
    /// Stored bytes back; only the length is checked here, authenticity on unwrap.
    pub fn from_bytes(b: &[u8]) -> Result<WrappedKey, CryptoError> {
        if b.len() == 1 + NONCE_BYTES + KEY_BYTES + TAG_BYTES && b[0] == SEAL_VERSION {
            Ok(WrappedKey(b.to_vec()))
        } else {
            Err(CryptoError::Malformed)
        }
    }
}

/// XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03 §2.3) as `version || nonce || ciphertext ||
/// tag`, the bytes RustCrypto's `XChaCha20Poly1305` writes (a test checks): the subkey is HChaCha20 of the key and the nonce's
/// first 16 bytes, then IETF ChaCha20-Poly1305 under the subkey with the nonce `0^4 || nonce[16..24]`.
fn seal_xchacha(
    key: &[u8; KEY_BYTES],
    plain: &[u8],
    aad: &[u8],
    rng: &mut (impl RngCore + CryptoRng),
) -> Vec<u8> {
    use chacha20::cipher::consts::U10;
    use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
    let mut nonce = [0u8; NONCE_BYTES];
    rng.fill_bytes(&mut nonce);
    let mut sub = chacha20::hchacha::<U10>(key.into(), (&nonce[..16]).into());
    let mut inner = [0u8; 12];
    inner[4..].copy_from_slice(&nonce[16..]);
    let mut out = Vec::with_capacity(1 + NONCE_BYTES + plain.len() + TAG_BYTES);
    out.push(SEAL_VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plain);
    // A 32-byte key is always accepted, and sealing fails only past ChaCha20's 256 GiB.
    let sealed = UnboundKey::new(&CHACHA20_POLY1305, &sub)
        .ok()
        .map(LessSafeKey::new)
        .and_then(|k| {
            k.seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(inner),
                Aad::from(aad),
                &mut out[1 + NONCE_BYTES..],
            )
            .ok()
        });
    sub.zeroize();
    match sealed {
        Some(tag) => {
            out.extend_from_slice(tag.as_ref());
            out
        }
        None => Vec::new(),
    }
}

fn open_raw(aead: &XChaCha20Poly1305, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if sealed.len() < 1 + NONCE_BYTES + TAG_BYTES || sealed[0] != SEAL_VERSION {
        return Err(CryptoError::Malformed);
    }
    let (nonce, ct) = sealed[1..].split_at(NONCE_BYTES);
    aead.decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad })
        .map_err(|_| CryptoError::Auth)
}

/// The sealed fields of a record. The tag is part of the associated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SealedField {
    /// Date of birth.
    Dob = 1,
    /// Driver's licence or state ID number.
    DlNumber = 2,
    /// SSN last four.
    Ssn4 = 3,
    /// Phone number.
    Phone = 4,
    /// Email address.
    Email = 5,
}

impl SealedField {
    /// The field's stable name, used in associated data.
    pub fn name(self) -> &'static str {
        match self {
            SealedField::Dob => "dob",
            SealedField::DlNumber => "dl_number",
            SealedField::Ssn4 => "ssn4",
            SealedField::Phone => "phone",
            SealedField::Email => "email",
        }
    }
}

/// Associated data: domain, record id and field name, each length-prefixed so no two
/// (record, field) pairs share one.
fn field_aad(record_id: &str, field: SealedField) -> Vec<u8> {
    let mut w = crate::wire::Writer::default();
    w.raw(b"urne-roll/v1/field");
    w.str(record_id);
    w.str(field.name());
    w.buf
}

/// Seals and opens fields under one roll's data key.
pub struct FieldCipher {
    aead: XChaCha20Poly1305,
    key: Zeroizing<[u8; KEY_BYTES]>,
}

impl std::fmt::Debug for FieldCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FieldCipher(<redacted>)")
    }
}

impl FieldCipher {
    /// Seals one field value: `version(1) || nonce(24) || ciphertext || tag(16)`.
    pub fn seal(
        &self,
        record_id: &str,
        field: SealedField,
        plain: &[u8],
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Vec<u8> {
        seal_xchacha(&self.key, plain, &field_aad(record_id, field), rng)
    }
    /// Opens one field value sealed for this record and field.
    pub fn open(
        &self,
        record_id: &str,
        field: SealedField,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        open_raw(&self.aead, sealed, &field_aad(record_id, field)).map(Zeroizing::new)
    }
}

/// What a blind index is for. Each purpose has its own key, so indexes of different purposes
/// cannot be compared with each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IndexPurpose {
    /// "Am I registered?": normalized last name, first name, date of birth, 5-digit ZIP.
    Registered,
    /// Duplicate detection by driver's licence / state ID number.
    DlNumber,
    /// Duplicate detection by SSN last four with date of birth (SSN4 alone has only 10,000
    /// values, so on its own it would put thousands of voters in every bucket).
    Ssn4Dob,
}

impl IndexPurpose {
    /// The purpose's stable name (HKDF info and storage column).
    pub fn name(self) -> &'static str {
        match self {
            IndexPurpose::Registered => "registered",
            IndexPurpose::DlNumber => "dl_number",
            IndexPurpose::Ssn4Dob => "ssn4_dob",
        }
    }
}

/// A truncated keyed blind index (HMAC-SHA256). A match is a candidate, to be confirmed by
/// opening the sealed fields; truncation to [`BLIND_INDEX_BYTES`] keeps indexes short.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlindIndex(pub [u8; BLIND_INDEX_BYTES]);

/// The HMAC key for one index purpose. Zeroized on drop; `Debug` is redacted.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct IndexKey {
    key: [u8; KEY_BYTES],
    #[zeroize(skip)]
    purpose: IndexPurpose,
}

impl std::fmt::Debug for IndexKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IndexKey({}, <redacted>)", self.purpose.name())
    }
}

impl IndexKey {
    /// The purpose this key serves.
    pub fn purpose(&self) -> IndexPurpose {
        self.purpose
    }
    /// HMAC-SHA256 over the length-prefixed, already normalized parts, truncated.
    fn index(&self, parts: &[&str]) -> BlindIndex {
        // RFC 2104 §2: a key shorter than the 64-byte block is zero-padded, so the padded key
        // gives the same MAC as the 32-byte key, through the infallible constructor.
        let mut block = Zeroizing::new([0u8; 64]);
        block[..KEY_BYTES].copy_from_slice(&self.key);
        let mut mac = <Hmac<Sha256> as KeyInit>::new((&*block).into());
        for p in parts {
            mac.update(&(p.len() as u64).to_be_bytes());
            mac.update(p.as_bytes());
        }
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; BLIND_INDEX_BYTES];
        out.copy_from_slice(&full[..BLIND_INDEX_BYTES]);
        BlindIndex(out)
    }
}

/// Normalizes a name part for indexing: Unicode compatibility decomposition (NFKD), then
/// letters and digits only, lower case. That drops spaces, hyphens, apostrophes, periods and
/// accents alike, so `O'Brien-Smith` matches `obrien smith` and `José` (composed or not)
/// matches `Jose`: people type their names without accents as often as with.
pub fn normalize_name(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.nfkd()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Normalizes an ID number: upper case ASCII letters and digits only.
pub fn normalize_id(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Normalizes a ZIP code to its first five digits.
pub fn normalize_zip(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).take(5).collect()
}

/// The "Am I registered?" index of (last name, first name, date of birth, ZIP).
pub fn registered_index(
    key: &IndexKey,
    last: &str,
    first: &str,
    dob: crate::Date,
    zip: &str,
) -> Option<BlindIndex> {
    let (last, first, zip) = (
        normalize_name(last),
        normalize_name(first),
        normalize_zip(zip),
    );
    if key.purpose != IndexPurpose::Registered
        || last.is_empty()
        || first.is_empty()
        || zip.len() != 5
    {
        return None;
    }
    Some(key.index(&[&last, &first, &dob.to_string(), &zip]))
}

/// The duplicate-detection index of a driver's licence number.
pub fn dl_index(key: &IndexKey, dl_number: &str) -> Option<BlindIndex> {
    let dl = normalize_id(dl_number);
    (key.purpose == IndexPurpose::DlNumber && !dl.is_empty()).then(|| key.index(&[&dl]))
}

/// The duplicate-detection index of SSN last four with date of birth.
pub fn ssn4_index(key: &IndexKey, ssn4: &str, dob: crate::Date) -> Option<BlindIndex> {
    let s: String = ssn4.chars().filter(char::is_ascii_digit).collect();
    let ok = key.purpose == IndexPurpose::Ssn4Dob && s.len() == 4;
    ok.then(|| key.index(&[&s, &dob.to_string()]))
}

#[cfg(test)]
mod tests {
    use chacha20poly1305::KeyInit;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    use super::*;

    proptest::proptest! {
        /// The sealing path (HChaCha20 + ring's ChaCha20-Poly1305) writes the same bytes as
        /// RustCrypto's XChaCha20-Poly1305 for the same nonce, and those bytes open.
        #[test]
        fn seal_matches_rustcrypto(
            key in proptest::array::uniform32(proptest::num::u8::ANY),
            plain in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
            aad in proptest::collection::vec(proptest::num::u8::ANY, 0..80),
            seed in proptest::num::u64::ANY,
        ) {
            let aead = XChaCha20Poly1305::new((&key).into());
            let ours = seal_xchacha(&key, &plain, &aad, &mut ChaCha20Rng::seed_from_u64(seed));
            let mut nonce = [0u8; NONCE_BYTES];
            ChaCha20Rng::seed_from_u64(seed).fill_bytes(&mut nonce);
            let ct = aead.encrypt(XNonce::from_slice(&nonce), Payload { msg: &plain, aad: &aad });
            let reference = [&[SEAL_VERSION][..], &nonce, &ct.unwrap_or_default()].concat();
            proptest::prop_assert_eq!(&ours, &reference);
            proptest::prop_assert_eq!(open_raw(&aead, &ours, &aad).ok(), Some(plain));
        }
    }
}
