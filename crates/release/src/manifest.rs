//! The release manifest: the body of every log entry, encoded by hand.
//!
//! Encoding `urne-release/v1` (one `key value` per line, this order, each
//! line ending in `\n`, no blank lines; `correction` is the only optional line):
//!
//! ```text
//! urne-release/v1
//! kind results
//! election 2026-11-03-general
//! sequence 3
//! previous 5e3b…(64 lowercase hex) | none
//! timestamp 1793750400
//! status unofficial
//! correction Precinct 12 was counted twice in release 2.
//! payload-sha256 9f86…(64 lowercase hex)
//! payload-size 123456
//! payload-type application/json
//! ```
//!
//! `election` is `-` exactly for kind `trust-policy` (the policy governs the
//! whole log, not one election). `previous` is `none` exactly when
//! `sequence` is 0. Decimals have no sign and no leading zeros.

use std::fmt;

use sha2::{Digest, Sha256};

/// The first line of every manifest: names the format and its version.
pub const MANIFEST_HEADER: &str = "urne-release/v1";
/// Bytes in an election id.
pub const ELECTION_ID_BYTES_MAX: usize = 64;
/// Bytes in a correction reason.
pub const CORRECTION_BYTES_MAX: usize = 1024;
/// Bytes in a payload media type (RFC 6838 §4.2 caps each name at 127).
pub const MEDIA_TYPE_BYTES_MAX: usize = 255;
/// Bytes in an encoded manifest. The whole entry (manifest and signatures)
/// must also fit [`crate::ENTRY_BYTES_MAX`].
pub const MANIFEST_BYTES_MAX: usize = 4096;
/// Bytes in one decimal field (`u64::MAX` has 20 digits).
const DECIMAL_BYTES_MAX: usize = 20;

/// A SHA-256 digest.
pub type Sha256Hash = [u8; 32];

/// What a release publishes. Each kind is its own stream per election.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[non_exhaustive]
pub enum Kind {
    /// The officials' trust policy (its payload is a [`crate::TrustPolicy`]).
    TrustPolicy,
    /// A results snapshot.
    Results,
    /// Rendered page content.
    Page,
    /// A voter-roll digest (counts and root, no PII).
    RollDigest,
    /// A cast-vote-record export.
    Cvr,
}

impl Kind {
    /// Every kind, in encoding order.
    pub const ALL: [Kind; 5] = [
        Kind::TrustPolicy,
        Kind::Results,
        Kind::Page,
        Kind::RollDigest,
        Kind::Cvr,
    ];

    /// The encoded name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::TrustPolicy => "trust-policy",
            Kind::Results => "results",
            Kind::Page => "page",
            Kind::RollDigest => "roll-digest",
            Kind::Cvr => "cvr",
        }
    }

    fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How final a release is. Within a stream it never goes down.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[non_exhaustive]
pub enum Status {
    /// Test data (logic and accuracy tests, rehearsals).
    Test,
    /// Election-night counts.
    Unofficial,
    /// The canvass is complete.
    Official,
    /// Certified by the canvassing board.
    Certified,
}

impl Status {
    /// Every status, lowest first.
    pub const ALL: [Status; 4] = [
        Status::Test,
        Status::Unofficial,
        Status::Official,
        Status::Certified,
    ];

    /// The encoded name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Test => "test",
            Status::Unofficial => "unofficial",
            Status::Official => "official",
            Status::Certified => "certified",
        }
    }

    fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An election id: 1 to [`ELECTION_ID_BYTES_MAX`] bytes of `[a-z0-9._-]`,
/// starting with a letter or digit (so `-` stays free for "no election").
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct ElectionId(String);

impl ElectionId {
    /// Checks and wraps an id.
    pub fn new(text: &str) -> Result<ElectionId, ManifestErrorKind> {
        let first_ok = text
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if text.len() > ELECTION_ID_BYTES_MAX {
            return Err(ManifestErrorKind::TooLong {
                field: "election",
                max: ELECTION_ID_BYTES_MAX,
            });
        }
        let chars_ok = text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
        if !first_ok || !chars_ok {
            return Err(ManifestErrorKind::BadValue("election"));
        }
        Ok(ElectionId(text.to_string()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ElectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A payload media type: `type/subtype` with optional `;param=value`
/// parts, RFC 6838 restricted-name characters, no spaces, lowercase.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct MediaType(String);

impl MediaType {
    /// Checks and wraps a media type.
    pub fn new(text: &str) -> Result<MediaType, ManifestErrorKind> {
        if text.len() > MEDIA_TYPE_BYTES_MAX {
            return Err(ManifestErrorKind::TooLong {
                field: "payload-type",
                max: MEDIA_TYPE_BYTES_MAX,
            });
        }
        let mut parts = text.split(';');
        let essence = parts.next().unwrap_or("");
        let essence_ok = essence
            .split_once('/')
            .is_some_and(|(t, s)| is_restricted_name(t) && is_restricted_name(s));
        let params_ok = parts.all(|p| {
            p.split_once('=')
                .is_some_and(|(k, v)| is_restricted_name(k) && is_restricted_name(v))
        });
        if !essence_ok || !params_ok {
            return Err(ManifestErrorKind::BadValue("payload-type"));
        }
        Ok(MediaType(text.to_string()))
    }

    /// The media type.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// RFC 6838 §4.2 restricted-name, lowercase only (so the encoding is canonical).
fn is_restricted_name(text: &str) -> bool {
    let mut bytes = text.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"!#$&-^_.+".contains(&b))
}

/// A correction reason: 1 to [`CORRECTION_BYTES_MAX`] bytes of UTF-8 text
/// without control characters and without leading or trailing whitespace.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Correction(String);

impl Correction {
    /// Checks and wraps a reason.
    pub fn new(text: &str) -> Result<Correction, ManifestErrorKind> {
        if text.len() > CORRECTION_BYTES_MAX {
            return Err(ManifestErrorKind::TooLong {
                field: "correction",
                max: CORRECTION_BYTES_MAX,
            });
        }
        if text.is_empty() || text.trim() != text || text.chars().any(is_forbidden_char) {
            return Err(ManifestErrorKind::BadValue("correction"));
        }
        Ok(Correction(text.to_string()))
    }

    /// The reason.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Control characters and Unicode line/paragraph separators would let a
/// reason look like several lines on a page.
fn is_forbidden_char(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

/// What a manifest says about its payload.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct PayloadRef {
    /// SHA-256 of the payload bytes.
    pub sha256: Sha256Hash,
    /// Payload length in bytes.
    pub size: u64,
    /// Its media type.
    pub media_type: MediaType,
}

/// A release manifest. Build one with a struct literal; [`Manifest::encode`]
/// checks the cross-field rules and [`Manifest::parse`] accepts only what
/// `encode` produces.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Manifest {
    /// What is published.
    pub kind: Kind,
    /// `None` exactly for [`Kind::TrustPolicy`].
    pub election: Option<ElectionId>,
    /// Position in the stream (kind, election), from 0.
    pub sequence: u64,
    /// [`Manifest::hash`] of the stream's previous manifest; `None` exactly
    /// when `sequence` is 0.
    pub previous: Option<Sha256Hash>,
    /// Unix seconds, chosen by the officials' workstation.
    pub timestamp: u64,
    /// How final it is.
    pub status: Status,
    /// Why this release corrects an earlier one (needed when totals went down).
    pub correction: Option<Correction>,
    /// The payload it commits to.
    pub payload: PayloadRef,
}

/// A manifest that cannot be encoded or parsed, naming its 1-based line
/// (0 when the problem is the whole text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("manifest line {line}: {kind}")]
pub struct ManifestError {
    /// 1-based line; 0 for the whole text.
    pub line: usize,
    /// What is wrong.
    pub kind: ManifestErrorKind,
}

/// What is wrong with a manifest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestErrorKind {
    #[error("manifest is longer than {MANIFEST_BYTES_MAX} bytes")]
    TooLarge,
    #[error("not valid UTF-8")]
    NotUtf8,
    #[error("does not end with a newline")]
    NoFinalNewline,
    #[error("first line is not `{MANIFEST_HEADER}`")]
    BadHeader,
    #[error("control character or bad charset")]
    BadCharset,
    #[error("not `key value` with one space")]
    BadLine,
    #[error("unknown key {0:?}")]
    UnknownKey(String),
    #[error("duplicate key {0:?}")]
    DuplicateKey(&'static str),
    #[error("key {found:?} out of order (expected {expected:?})")]
    OutOfOrder {
        found: &'static str,
        expected: &'static str,
    },
    #[error("missing key {0:?}")]
    Missing(&'static str),
    #[error("{field} is longer than {max} bytes")]
    TooLong { field: &'static str, max: usize },
    #[error("bad value for {0:?}")]
    BadValue(&'static str),
    #[error("election must be `-` exactly for kind trust-policy")]
    ElectionForKind,
    #[error("previous must be `none` exactly when sequence is 0")]
    PreviousForSequence,
}

fn err(line: usize, kind: ManifestErrorKind) -> ManifestError {
    ManifestError { line, kind }
}

/// Keys in encoding order; `correction` (index 6) is the optional one.
const KEYS: [&str; 10] = [
    "kind",
    "election",
    "sequence",
    "previous",
    "timestamp",
    "status",
    "correction",
    "payload-sha256",
    "payload-size",
    "payload-type",
];
const CORRECTION_KEY: usize = 6;

impl Manifest {
    /// The `urne-release/v1` bytes. Fails if the cross-field rules are broken
    /// (election vs kind, previous vs sequence) or the result is too large.
    pub fn encode(&self) -> Result<String, ManifestError> {
        self.check_rules().map_err(|k| err(0, k))?;
        let mut out = String::with_capacity(512);
        out.push_str(MANIFEST_HEADER);
        out.push('\n');
        let mut line = |key: &str, value: &str| {
            out.push_str(key);
            out.push(' ');
            out.push_str(value);
            out.push('\n');
        };
        line("kind", self.kind.as_str());
        line(
            "election",
            self.election.as_ref().map_or("-", |e| e.as_str()),
        );
        line("sequence", &self.sequence.to_string());
        line(
            "previous",
            &self.previous.map_or("none".into(), |h| hex(&h)),
        );
        line("timestamp", &self.timestamp.to_string());
        line("status", self.status.as_str());
        if let Some(c) = &self.correction {
            line("correction", c.as_str());
        }
        line("payload-sha256", &hex(&self.payload.sha256));
        line("payload-size", &self.payload.size.to_string());
        line("payload-type", self.payload.media_type.as_str());
        if out.len() > MANIFEST_BYTES_MAX {
            return Err(err(0, ManifestErrorKind::TooLarge));
        }
        Ok(out)
    }

    /// SHA-256 of the encoded manifest: what the next manifest of the stream
    /// names as `previous`. The header line separates it from other hashes.
    pub fn hash(&self) -> Result<Sha256Hash, ManifestError> {
        Ok(sha256(self.encode()?.as_bytes()))
    }

    fn check_rules(&self) -> Result<(), ManifestErrorKind> {
        if (self.kind == Kind::TrustPolicy) != self.election.is_none() {
            return Err(ManifestErrorKind::ElectionForKind);
        }
        if (self.sequence == 0) != self.previous.is_none() {
            return Err(ManifestErrorKind::PreviousForSequence);
        }
        Ok(())
    }

    /// Parses the canonical encoding only: `parse(b).encode() == b`.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        if bytes.len() > MANIFEST_BYTES_MAX {
            return Err(err(0, ManifestErrorKind::TooLarge));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| err(0, ManifestErrorKind::NotUtf8))?;
        let body = text
            .strip_suffix('\n')
            .ok_or(err(0, ManifestErrorKind::NoFinalNewline))?;
        let mut lines = body.split('\n');
        if lines.next() != Some(MANIFEST_HEADER) {
            return Err(err(1, ManifestErrorKind::BadHeader));
        }
        let mut values: [Option<(usize, &str)>; 10] = [None; 10];
        let mut next = 0;
        for (i, line) in lines.enumerate() {
            let n = i + 2;
            let (key, value) = split_line(line).map_err(|k| err(n, k))?;
            let at = KEYS
                .iter()
                .position(|k| *k == key)
                .ok_or_else(|| err(n, ManifestErrorKind::UnknownKey(key.to_string())))?;
            if values[at].is_some() {
                return Err(err(n, ManifestErrorKind::DuplicateKey(KEYS[at])));
            }
            let skip_ok = next == CORRECTION_KEY && at == CORRECTION_KEY + 1;
            if at < next {
                let expected = KEYS.get(next).copied().unwrap_or("end of manifest");
                let found = KEYS[at];
                return Err(err(n, ManifestErrorKind::OutOfOrder { found, expected }));
            }
            if at > next && !skip_ok {
                let missing = if next == CORRECTION_KEY {
                    next + 1
                } else {
                    next
                };
                return Err(err(n, ManifestErrorKind::Missing(KEYS[missing])));
            }
            values[at] = Some((n, value));
            next = at + 1;
        }
        if let Some(missing) = (next..KEYS.len()).find(|&k| k != CORRECTION_KEY) {
            let last = body.split('\n').count();
            return Err(err(last + 1, ManifestErrorKind::Missing(KEYS[missing])));
        }
        let manifest = Manifest::from_values(&values)?;
        let n_of = |k: usize| values[k].map_or(0, |(n, _)| n);
        manifest.check_rules().map_err(|k| {
            let line = match k {
                ManifestErrorKind::ElectionForKind => n_of(1),
                _ => n_of(3),
            };
            err(line, k)
        })?;
        Ok(manifest)
    }

    fn from_values(values: &[Option<(usize, &str)>; 10]) -> Result<Manifest, ManifestError> {
        // Every non-optional slot is filled: `parse` checked it.
        fn field<T>(
            values: &[Option<(usize, &str)>; 10],
            k: usize,
            f: impl Fn(&str) -> Result<T, ManifestErrorKind>,
        ) -> Result<T, ManifestError> {
            let (n, v) = values[k].unwrap_or((0, ""));
            f(v).map_err(|kind| err(n, kind))
        }
        let kind = field(values, 0, |v| {
            Kind::parse(v).ok_or(ManifestErrorKind::BadValue("kind"))
        })?;
        let election = field(values, 1, |v| match v {
            "-" => Ok(None),
            v => ElectionId::new(v).map(Some),
        })?;
        let sequence = field(values, 2, |v| decimal(v, "sequence"))?;
        let previous = field(values, 3, |v| match v {
            "none" => Ok(None),
            v => unhex(v)
                .map(Some)
                .ok_or(ManifestErrorKind::BadValue("previous")),
        })?;
        let timestamp = field(values, 4, |v| decimal(v, "timestamp"))?;
        let status = field(values, 5, |v| {
            Status::parse(v).ok_or(ManifestErrorKind::BadValue("status"))
        })?;
        let correction = match values[CORRECTION_KEY] {
            None => None,
            Some((n, v)) => Some(Correction::new(v).map_err(|k| err(n, k))?),
        };
        let sha = field(values, 7, |v| {
            unhex(v).ok_or(ManifestErrorKind::BadValue("payload-sha256"))
        })?;
        let size = field(values, 8, |v| decimal(v, "payload-size"))?;
        let media_type = field(values, 9, MediaType::new)?;
        Ok(Manifest {
            kind,
            election,
            sequence,
            previous,
            timestamp,
            status,
            correction,
            payload: PayloadRef {
                sha256: sha,
                size,
                media_type,
            },
        })
    }
}

/// `key value`: key in `[a-z0-9-]`, one space, a non-empty value without
/// control characters. Only `correction` may hold non-ASCII (checked later).
fn split_line(line: &str) -> Result<(&str, &str), ManifestErrorKind> {
    if line.chars().any(is_forbidden_char) {
        return Err(ManifestErrorKind::BadCharset);
    }
    let (key, value) = line.split_once(' ').ok_or(ManifestErrorKind::BadLine)?;
    if key.is_empty()
        || value.is_empty()
        || value.starts_with(' ')
        || value.ends_with(' ')
        || !key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(ManifestErrorKind::BadLine);
    }
    if key != "correction" && !value.bytes().all(|b| (0x21..0x7f).contains(&b)) {
        return Err(ManifestErrorKind::BadCharset);
    }
    Ok((key, value))
}

/// A decimal `u64` without sign or leading zeros.
pub(crate) fn decimal(text: &str, field: &'static str) -> Result<u64, ManifestErrorKind> {
    if text.len() > DECIMAL_BYTES_MAX {
        return Err(ManifestErrorKind::TooLong {
            field,
            max: DECIMAL_BYTES_MAX,
        });
    }
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if !canonical {
        return Err(ManifestErrorKind::BadValue(field));
    }
    text.parse().map_err(|_| ManifestErrorKind::BadValue(field))
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> Sha256Hash {
    Sha256::digest(bytes).into()
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

/// 64 lowercase hex digits to 32 bytes.
fn unhex(text: &str) -> Option<Sha256Hash> {
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    };
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        out[i] = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    Some(out)
}
