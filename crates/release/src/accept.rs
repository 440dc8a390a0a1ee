//! Acceptance: the checks a release must pass before the server sequences
//! it, and that a verifier replays over the whole log.

use std::collections::BTreeMap;
use std::fmt;

use urne_tlog::note::{Ed25519Signer, Ed25519Verifier, Note, NoteError, NoteVerifier};

use crate::manifest::{
    ElectionId, Kind, Manifest, ManifestError, PayloadRef, Sha256Hash, Status, hex, sha256,
};
use crate::trust::{POLICY_MEDIA_TYPE, TrustPolicy, TrustPolicyError};

/// Bytes in a log entry (manifest note with signatures): tlog-tiles' uint16 length.
pub const ENTRY_BYTES_MAX: usize = urne_tlog::ENTRY_BYTES_MAX;

/// The payload as the checker sees it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Payload<'a> {
    /// The bytes themselves (required for `trust-policy` entries).
    Bytes(&'a [u8]),
    /// SHA-256 and size computed by the caller, e.g. while streaming a blob to storage.
    Digest {
        /// SHA-256 of the payload bytes.
        sha256: Sha256Hash,
        /// Length in bytes.
        size: u64,
    },
}

impl Payload<'_> {
    fn digest(&self) -> (Sha256Hash, u64) {
        match *self {
            Payload::Bytes(b) => (sha256(b), b.len() as u64),
            Payload::Digest { sha256, size } => (sha256, size),
        }
    }
}

/// A stream: one kind of release for one election (the trust policy is one
/// stream for the whole log).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct StreamKey {
    /// The kind.
    pub kind: Kind,
    /// The election; `None` for the trust-policy stream.
    pub election: Option<ElectionId>,
}

impl fmt::Display for StreamKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.election {
            Some(e) => write!(f, "{} {}", self.kind, e),
            None => write!(f, "{}", self.kind),
        }
    }
}

/// The last accepted release of a stream.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct StreamTip {
    sequence: u64,
    manifest_hash: Sha256Hash,
    timestamp: u64,
    status: Status,
    payload: PayloadRef,
}

impl StreamTip {
    /// Its stream sequence number.
    pub fn sequence(&self) -> u64 {
        self.sequence
    }
    /// Its manifest hash, which the next release must name as `previous`.
    pub fn manifest_hash(&self) -> &Sha256Hash {
        &self.manifest_hash
    }
    /// Its timestamp.
    pub fn timestamp(&self) -> u64 {
        self.timestamp
    }
    /// Its status.
    pub fn status(&self) -> Status {
        self.status
    }
    /// Its payload.
    pub fn payload(&self) -> &PayloadRef {
        &self.payload
    }
}

/// The trust state after replaying a log prefix: the policy in force, the
/// keys earlier policies had and it dropped, and every stream's tip. Only
/// [`LogState::new`] (empty log) and accepting releases build one.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct LogState {
    policy: Option<TrustPolicy>,
    revoked: Vec<Ed25519Verifier>,
    streams: BTreeMap<StreamKey, StreamTip>,
    entries: u64,
}

impl LogState {
    /// The state of an empty log: the next entry must be a trust policy.
    pub fn new() -> LogState {
        LogState::default()
    }

    /// The trust policy in force, `None` before the first entry.
    pub fn policy(&self) -> Option<&TrustPolicy> {
        self.policy.as_ref()
    }

    /// Officials' keys that an earlier policy held and a rotation removed.
    pub fn revoked(&self) -> &[Ed25519Verifier] {
        &self.revoked
    }

    /// A stream's last release.
    pub fn stream(&self, key: &StreamKey) -> Option<&StreamTip> {
        self.streams.get(key)
    }

    /// Every stream with its last release.
    pub fn streams(&self) -> impl Iterator<Item = (&StreamKey, &StreamTip)> {
        self.streams.iter()
    }

    /// Releases accepted so far (the log size if every entry is a release).
    pub fn entries(&self) -> u64 {
        self.entries
    }
}

/// "Totals went down" needs the results crate; the caller answers it.
///
/// Called only for `results` releases that follow an earlier one of the same
/// stream and carry no correction reason. A closure works:
/// `|previous: &PayloadRef, next: &PayloadRef| -> bool`.
pub trait DecreaseCheck {
    /// Whether any total in `next` is lower than in `previous`.
    fn totals_decreased(&self, previous: &PayloadRef, next: &PayloadRef) -> bool;
}

impl<F: Fn(&PayloadRef, &PayloadRef) -> bool> DecreaseCheck for F {
    fn totals_decreased(&self, previous: &PayloadRef, next: &PayloadRef) -> bool {
        self(previous, next)
    }
}

/// Never reports a decrease. Only for callers that cannot read payloads
/// (tests, a log-structure-only check); the server must not use it.
#[derive(Clone, Copy, Debug)]
pub struct DangerSkipDecreaseCheck;

impl DecreaseCheck for DangerSkipDecreaseCheck {
    fn totals_decreased(&self, _: &PayloadRef, _: &PayloadRef) -> bool {
        false
    }
}

/// Why a release is refused. Nothing changes when one is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    #[error("entry is {bytes} bytes, more than {ENTRY_BYTES_MAX}")]
    EntryTooLarge { bytes: usize },
    #[error("entry is not a signed note: {0}")]
    Note(NoteError),
    #[error("entry is not in canonical signed-note form")]
    NoteNotCanonical,
    #[error("{0}")]
    Manifest(#[from] ManifestError),
    #[error("the first entry of the log must be a trust policy, not {0}")]
    NoTrustPolicy(Kind),
    #[error("signature by {name}+{key_id:08x}: not an official of the policy in force")]
    UnknownKey { name: String, key_id: u32 },
    #[error("signature by {name}+{key_id:08x}: key revoked by a policy rotation")]
    RevokedKey { name: String, key_id: u32 },
    #[error("signature by official {name}+{key_id:08x} does not verify")]
    SignatureInvalid { name: String, key_id: u32 },
    #[error("{valid} valid official signatures, the policy in force needs {needed}")]
    BelowQuorum { valid: usize, needed: usize },
    #[error("{valid} valid signatures by the new policy's officials, it needs {needed}")]
    NewPolicyBelowQuorum { valid: usize, needed: usize },
    #[error("payload is {actual} bytes, manifest says {declared}")]
    PayloadSizeMismatch { declared: u64, actual: u64 },
    #[error(
        "payload SHA-256 is {actual}, manifest says {declared}",
        actual = hex(.actual),
        declared = hex(.declared)
    )]
    PayloadHashMismatch {
        declared: Sha256Hash,
        actual: Sha256Hash,
    },
    #[error("a trust-policy release needs its payload bytes, not only a digest")]
    PolicyPayloadMissing,
    #[error("payload type {0:?} is not {POLICY_MEDIA_TYPE:?}")]
    PolicyMediaType(String),
    #[error("payload: {0}")]
    Policy(#[from] TrustPolicyError),
    #[error("status {status} is not allowed for kind {kind}")]
    StatusNotAllowed { kind: Kind, status: Status },
    #[error("stream {stream}: sequence {sequence} is already the last release (a retry?)")]
    AlreadyAccepted { stream: StreamKey, sequence: u64 },
    #[error("stream {stream}: sequence {sequence} replays (last accepted is {last})")]
    Replayed {
        stream: StreamKey,
        sequence: u64,
        last: u64,
    },
    #[error("stream {stream}: sequence {sequence} is out of order (expected {expected})")]
    OutOfOrder {
        stream: StreamKey,
        sequence: u64,
        expected: u64,
    },
    #[error(
        "stream {stream}: previous manifest hash is not the last release's ({})",
        hex(.expected)
    )]
    WrongPrevious {
        stream: StreamKey,
        expected: Sha256Hash,
    },
    #[error("stream {stream}: timestamp {timestamp} is before the last release's {last}")]
    TimestampWentBack {
        stream: StreamKey,
        timestamp: u64,
        last: u64,
    },
    #[error("stream {stream}: status {to} after {from} (status never goes back)")]
    StatusWentBack {
        stream: StreamKey,
        from: Status,
        to: Status,
    },
    #[error("stream {stream}: totals went down without a correction reason")]
    DecreaseWithoutCorrection { stream: StreamKey },
}

/// One accepted release: the entry bytes to sequence and what they say.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Release {
    manifest: Manifest,
    manifest_hash: Sha256Hash,
    entry: Vec<u8>,
    signers: Vec<String>,
    policy: Option<TrustPolicy>,
}

impl Release {
    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }
    /// SHA-256 of the manifest text.
    pub fn manifest_hash(&self) -> &Sha256Hash {
        &self.manifest_hash
    }
    /// The log entry: the signed note, exactly as checked.
    pub fn entry_bytes(&self) -> &[u8] {
        &self.entry
    }
    /// Names of the officials whose signatures verified, in note order.
    pub fn signers(&self) -> &[String] {
        &self.signers
    }
    /// For a `trust-policy` release, the policy it puts in force.
    pub fn new_policy(&self) -> Option<&TrustPolicy> {
        self.policy.as_ref()
    }
}

/// Token: a release that passed [`check_release`] against a state, and the
/// state after it. Only this crate builds it; sequencing code requires it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Accepted {
    release: Release,
    state: LogState,
}

impl Accepted {
    /// The accepted release.
    pub fn release(&self) -> &Release {
        &self.release
    }
    /// The state once this release is sequenced.
    pub fn state(&self) -> &LogState {
        &self.state
    }
    /// Splits the token into the release and the next state.
    pub fn into_parts(self) -> (Release, LogState) {
        (self.release, self.state)
    }
}

/// Checks a signed release against the state of the log before it.
///
/// In order: size, signed-note form, manifest, payload (and for a trust
/// policy, the new policy), officials' signatures and quorum (for a
/// rotation: k of the current policy *and* k of the new one), then the
/// stream: sequence, previous hash, timestamp, status, decreases.
pub fn check_release(
    state: &LogState,
    entry: &[u8],
    payload: Payload<'_>,
    decrease: &dyn DecreaseCheck,
) -> Result<Accepted, Refusal> {
    if entry.len() > ENTRY_BYTES_MAX {
        return Err(Refusal::EntryTooLarge { bytes: entry.len() });
    }
    let note = Note::parse(entry).map_err(Refusal::Note)?;
    if note.to_text().as_bytes() != entry {
        return Err(Refusal::NoteNotCanonical);
    }
    let manifest = Manifest::parse(note.text().as_bytes())?;
    if state.policy.is_none() && manifest.kind != Kind::TrustPolicy {
        return Err(Refusal::NoTrustPolicy(manifest.kind));
    }
    check_payload(&manifest.payload, payload)?;
    let new_policy = match manifest.kind {
        Kind::TrustPolicy => Some(check_policy_payload(&manifest, payload)?),
        _ => None,
    };
    let signers = check_signatures(state, &note, new_policy.as_ref())?;
    let stream = StreamKey {
        kind: manifest.kind,
        election: manifest.election.clone(),
    };
    let manifest_hash = sha256(note.text().as_bytes());
    let tip = state.streams.get(&stream);
    if tip.is_some_and(|t| t.manifest_hash == manifest_hash) {
        // Same manifest as the tip: an idempotent retry the caller may answer with "done".
        let sequence = manifest.sequence;
        return Err(Refusal::AlreadyAccepted { stream, sequence });
    }
    check_stream(tip, &stream, &manifest, decrease)?;
    let mut next = state.clone();
    next.entries += 1;
    next.streams.insert(
        stream,
        StreamTip {
            sequence: manifest.sequence,
            manifest_hash,
            timestamp: manifest.timestamp,
            status: manifest.status,
            payload: manifest.payload.clone(),
        },
    );
    if let Some(p) = &new_policy {
        next.rotate(p.clone());
    }
    let release = Release {
        manifest,
        manifest_hash,
        entry: entry.to_vec(),
        signers,
        policy: new_policy,
    };
    Ok(Accepted {
        release,
        state: next,
    })
}

impl LogState {
    /// Puts `policy` in force; officials it drops join the revoked keys.
    fn rotate(&mut self, policy: TrustPolicy) {
        let keeps = |k: &Ed25519Verifier| policy.officials().iter().any(|o| o == k);
        if let Some(old) = self.policy.take() {
            for o in old.officials() {
                if !keeps(o) && !self.revoked.contains(o) {
                    self.revoked.push(o.clone());
                }
            }
        }
        self.revoked.retain(|k| !keeps(k));
        self.policy = Some(policy);
    }
}

fn check_payload(declared: &PayloadRef, payload: Payload<'_>) -> Result<(), Refusal> {
    let (actual, size) = payload.digest();
    if size != declared.size {
        return Err(Refusal::PayloadSizeMismatch {
            declared: declared.size,
            actual: size,
        });
    }
    if actual != declared.sha256 {
        return Err(Refusal::PayloadHashMismatch {
            declared: declared.sha256,
            actual,
        });
    }
    Ok(())
}

fn check_policy_payload(manifest: &Manifest, payload: Payload<'_>) -> Result<TrustPolicy, Refusal> {
    // A policy governs the log; only real and rehearsal policies make sense.
    if !matches!(manifest.status, Status::Official | Status::Test) {
        return Err(Refusal::StatusNotAllowed {
            kind: manifest.kind,
            status: manifest.status,
        });
    }
    if manifest.payload.media_type.as_str() != POLICY_MEDIA_TYPE {
        let got = manifest.payload.media_type.as_str().to_string();
        return Err(Refusal::PolicyMediaType(got));
    }
    let Payload::Bytes(bytes) = payload else {
        return Err(Refusal::PolicyPayloadMissing);
    };
    Ok(TrustPolicy::parse(bytes)?)
}

/// Every signature must be by an official of the policy in force (or, for a
/// trust-policy release, of the new policy) and verify; distinct valid
/// officials are counted against k. The genesis policy signs itself.
fn check_signatures(
    state: &LogState,
    note: &Note,
    new_policy: Option<&TrustPolicy>,
) -> Result<Vec<String>, Refusal> {
    let text = note.text().as_bytes();
    let mut current: Vec<&Ed25519Verifier> = Vec::new();
    let mut new: Vec<&Ed25519Verifier> = Vec::new();
    let mut signers = Vec::new();
    for s in note.signatures() {
        let in_current = state
            .policy
            .as_ref()
            .and_then(|p| p.official(&s.name, s.key_id));
        let in_new = new_policy.and_then(|p| p.official(&s.name, s.key_id));
        if in_current.is_none() && in_new.is_none() {
            let revoked = state
                .revoked
                .iter()
                .any(|k| k.name() == s.name && k.key_id() == s.key_id);
            let (name, key_id) = (s.name.clone(), s.key_id);
            return Err(match revoked {
                true => Refusal::RevokedKey { name, key_id },
                false => Refusal::UnknownKey { name, key_id },
            });
        }
        // Key IDs are 32 bits: a match by (name, ID) is only a hint, so each
        // candidate key is checked and counted on its own.
        let ok_current = in_current.filter(|k| k.verify(text, &s.signature));
        let ok_new = in_new.filter(|k| k.verify(text, &s.signature));
        if ok_current.is_none() && ok_new.is_none() {
            return Err(Refusal::SignatureInvalid {
                name: s.name.clone(),
                key_id: s.key_id,
            });
        }
        for (set, key) in [(&mut current, ok_current), (&mut new, ok_new)] {
            if let Some(k) = key.filter(|k| !set.contains(k)) {
                set.push(k);
            }
        }
        if !signers.contains(&s.name) {
            signers.push(s.name.clone());
        }
    }
    if let Some(p) = &state.policy
        && current.len() < p.threshold()
    {
        return Err(Refusal::BelowQuorum {
            valid: current.len(),
            needed: p.threshold(),
        });
    }
    if let Some(p) = new_policy
        && new.len() < p.threshold()
    {
        // Genesis: the new policy is the only one, so this is plain quorum.
        let (valid, needed) = (new.len(), p.threshold());
        return Err(match state.policy {
            None => Refusal::BelowQuorum { valid, needed },
            Some(_) => Refusal::NewPolicyBelowQuorum { valid, needed },
        });
    }
    Ok(signers)
}

fn check_stream(
    tip: Option<&StreamTip>,
    stream: &StreamKey,
    m: &Manifest,
    decrease: &dyn DecreaseCheck,
) -> Result<(), Refusal> {
    let stream = stream.clone();
    let Some(tip) = tip else {
        // Parsing guarantees `previous` is none exactly at sequence 0.
        if m.sequence != 0 {
            return Err(Refusal::OutOfOrder {
                stream,
                sequence: m.sequence,
                expected: 0,
            });
        }
        return Ok(());
    };
    if m.sequence <= tip.sequence {
        let (sequence, last) = (m.sequence, tip.sequence);
        return Err(Refusal::Replayed {
            stream,
            sequence,
            last,
        });
    }
    if m.sequence - tip.sequence != 1 {
        let (sequence, expected) = (m.sequence, tip.sequence + 1);
        return Err(Refusal::OutOfOrder {
            stream,
            sequence,
            expected,
        });
    }
    if m.previous != Some(tip.manifest_hash) {
        let expected = tip.manifest_hash;
        return Err(Refusal::WrongPrevious { stream, expected });
    }
    if m.timestamp < tip.timestamp {
        let (timestamp, last) = (m.timestamp, tip.timestamp);
        return Err(Refusal::TimestampWentBack {
            stream,
            timestamp,
            last,
        });
    }
    if m.status < tip.status {
        let (from, to) = (tip.status, m.status);
        return Err(Refusal::StatusWentBack { stream, from, to });
    }
    let needs_reason = m.kind == Kind::Results && m.correction.is_none();
    if needs_reason && decrease.totals_decreased(&tip.payload, &m.payload) {
        return Err(Refusal::DecreaseWithoutCorrection { stream });
    }
    Ok(())
}

/// An entry `urne sign` cannot add a signature to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    #[error("entry is {bytes} bytes, more than {ENTRY_BYTES_MAX}")]
    TooLarge { bytes: usize },
    #[error("{0}")]
    Manifest(#[from] ManifestError),
    #[error("signed note: {0}")]
    Note(#[from] NoteError),
    #[error("entry is not in canonical signed-note form")]
    NotCanonical,
}

/// Adds one official's signature to an entry: either a bare manifest (the
/// first signer) or a signed note from an earlier signer. The manifest must
/// parse, so nobody signs bytes the server would refuse to read. Signing
/// twice with the same key replaces the earlier signature.
pub fn sign_entry(entry: &[u8], signer: &Ed25519Signer) -> Result<Vec<u8>, SignError> {
    if entry.len() > ENTRY_BYTES_MAX {
        return Err(SignError::TooLarge { bytes: entry.len() });
    }
    // A manifest has no blank line; a signed note has one before its signatures.
    let is_note = entry.windows(2).any(|w| w == b"\n\n");
    let mut note = if is_note {
        let note = Note::parse(entry)?;
        if note.to_text().as_bytes() != entry {
            return Err(SignError::NotCanonical);
        }
        Manifest::parse(note.text().as_bytes())?;
        note
    } else {
        Manifest::parse(entry)?;
        Note::new(std::str::from_utf8(entry).map_err(|_| NoteError::NotUtf8)?)?
    };
    note.sign(signer)?;
    let out = note.to_text().into_bytes();
    if out.len() > ENTRY_BYTES_MAX {
        return Err(SignError::TooLarge { bytes: out.len() });
    }
    Ok(out)
}
