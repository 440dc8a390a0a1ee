//! The crate's error enums. None of them ever carries a plaintext sensitive value: a field is
//! named, never quoted, so errors are safe to log.

/// A record or input failed validation. The field is named by its stable path
/// (`residence.zip`, `ids.ssn4`), never its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidField {
    /// A required field is empty.
    #[error("{field}: required")]
    Missing {
        /// The field's path.
        field: &'static str,
    },
    /// A field is longer than its named limit.
    #[error("{field}: longer than {max} bytes")]
    TooLong {
        /// The field's path.
        field: &'static str,
        /// The limit in bytes.
        max: usize,
    },
    /// A field has the wrong form (characters, digits, calendar).
    #[error("{field}: {why}")]
    Malformed {
        /// The field's path.
        field: &'static str,
        /// What form was expected.
        why: &'static str,
    },
    /// A list has more entries than its named limit.
    #[error("{field}: more than {max} entries")]
    TooMany {
        /// The field's path.
        field: &'static str,
        /// The limit in entries.
        max: usize,
    },
}

/// Bytes read back from storage do not decode as the canonical encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The magic prefix or version is not one we write.
    #[error("not a {what} (bad magic or version)")]
    BadHeader {
        /// Which encoding was expected.
        what: &'static str,
    },
    /// The bytes end inside a value.
    #[error("truncated at byte {at}")]
    Truncated {
        /// Offset where more bytes were needed.
        at: usize,
    },
    /// Bytes follow the last value.
    #[error("{extra} trailing bytes")]
    Trailing {
        /// How many bytes are left over.
        extra: usize,
    },
    /// An enum tag or flag has no meaning.
    #[error("byte {at}: unknown tag {tag}")]
    BadTag {
        /// Offset of the tag.
        at: usize,
        /// The tag value.
        tag: u8,
    },
    /// A decoded value is not valid (length over its limit, bad UTF-8, bad date).
    #[error("invalid value: {0}")]
    Invalid(#[from] InvalidField),
}

/// Sealing, opening, wrapping or unwrapping failed. Deliberately vague: an AEAD failure means
/// the wrong key, the wrong record or field, or tampered bytes, and we do not say which.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// Authentication failed: wrong key, wrong record/field binding, or tampered bytes.
    #[error("authentication failed (wrong key, wrong record or field, or tampered bytes)")]
    Auth,
    /// The sealed bytes are not in a format we write.
    #[error("malformed sealed value")]
    Malformed,
    /// The opened plaintext does not validate.
    #[error("opened value invalid: {0}")]
    Invalid(#[from] InvalidField),
}
