//! The trust policy: who may sign releases, how many must, and which
//! witnesses must cosign checkpoints. It is the payload of every
//! `trust-policy` entry; the first entry of the log is one.
//!
//! Encoding `urne-trust-policy/v1` (lines end in `\n`, single spaces, no
//! blank lines or comments):
//!
//! ```text
//! urne-trust-policy/v1
//! official <vkey>              (1 to OFFICIALS_MAX lines; the key name is the official's name)
//! threshold <k>                (1 ≤ k ≤ number of officials)
//! log <vkey> [url]             ┐
//! witness <name> <vkey> [url]  │ a C2SP tlog-policy, in canonical form
//! group <name> <k|all|any> …   │ (the quorum line is required)
//! quorum <name|none>           ┘
//! ```

use urne_tlog::note::Ed25519Verifier;
use urne_tlog::policy::{Policy, PolicyErrorKind, Quorum};

use crate::manifest::decimal;

/// The first line of every trust policy.
pub const POLICY_HEADER: &str = "urne-trust-policy/v1";
/// The payload media type of a `trust-policy` release.
pub const POLICY_MEDIA_TYPE: &str = "text/vnd.urne.trust-policy";
/// Bytes in an encoded trust policy (also tlog-policy's own cap).
pub const TRUST_POLICY_BYTES_MAX: usize = urne_tlog::policy::POLICY_BYTES_MAX;
/// `official` lines.
pub const OFFICIALS_MAX: usize = 64;

/// A trust policy that cannot be built or parsed, naming its 1-based line
/// (0 for the whole text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("trust policy line {line}: {kind}")]
pub struct TrustPolicyError {
    /// 1-based line; 0 for the whole text.
    pub line: usize,
    /// What is wrong.
    pub kind: TrustPolicyErrorKind,
}

/// What is wrong with a trust policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustPolicyErrorKind {
    #[error("policy is longer than {TRUST_POLICY_BYTES_MAX} bytes")]
    TooLarge,
    #[error("not valid UTF-8")]
    NotUtf8,
    #[error("does not end with a newline")]
    NoFinalNewline,
    #[error("first line is not `{POLICY_HEADER}`")]
    BadHeader,
    #[error("control character, tab, or not single-spaced")]
    NotCanonical,
    #[error("unknown or misplaced keyword {0:?}")]
    UnexpectedKeyword(String),
    #[error("bad official key: {0}")]
    Key(String),
    #[error("official {0:?} is listed twice (same name or same key)")]
    DuplicateOfficial(String),
    #[error("no official lines")]
    NoOfficials,
    #[error("more than {OFFICIALS_MAX} officials")]
    TooManyOfficials,
    #[error("threshold must be a decimal from 1 to the number of officials ({0})")]
    Threshold(usize),
    #[error("missing threshold line")]
    NoThreshold,
    #[error("witness policy (C2SP tlog-policy): {0}")]
    Witnesses(PolicyErrorKind),
}

fn err(line: usize, kind: TrustPolicyErrorKind) -> TrustPolicyError {
    TrustPolicyError { line, kind }
}

/// Something a deployment should fix before election night; the policy is
/// still valid.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum PolicyWarning {
    /// k < 2: one official can publish alone (DESIGN.md: k ≥ 2 in production).
    SingleSignature,
    /// `quorum none`: checkpoints need no witness cosignatures.
    NoWitnessQuorum,
    /// No `log` line: verifiers must learn the log key elsewhere.
    NoLogKey,
}

/// A parsed trust policy.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TrustPolicy {
    officials: Vec<Ed25519Verifier>,
    threshold: usize,
    witness_lines: Vec<String>,
    witnesses: Policy,
}

impl TrustPolicy {
    /// A policy from officials' keys, k, and a C2SP tlog-policy text for the
    /// log key and witnesses (comments, blank lines and extra spaces are
    /// dropped: the stored form is canonical).
    pub fn new(
        officials: Vec<Ed25519Verifier>,
        threshold: usize,
        witness_policy: &str,
    ) -> Result<TrustPolicy, TrustPolicyError> {
        let witness_lines: Vec<String> = witness_policy
            .lines()
            .map(|l| {
                l.split([' ', '\t'])
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
            })
            .filter(|items| items.first().is_some_and(|k| !k.starts_with('#')))
            .map(|items| items.join(" "))
            .collect();
        let policy = TrustPolicy::build(officials, threshold, witness_lines)?;
        let text = policy.encode();
        if text.len() > TRUST_POLICY_BYTES_MAX {
            return Err(err(0, TrustPolicyErrorKind::TooLarge));
        }
        Ok(policy)
    }

    fn build(
        officials: Vec<Ed25519Verifier>,
        threshold: usize,
        witness_lines: Vec<String>,
    ) -> Result<TrustPolicy, TrustPolicyError> {
        // Line numbers as in the encoding: header, officials, threshold, witnesses.
        if officials.is_empty() {
            return Err(err(2, TrustPolicyErrorKind::NoOfficials));
        }
        if officials.len() > OFFICIALS_MAX {
            return Err(err(
                2 + OFFICIALS_MAX,
                TrustPolicyErrorKind::TooManyOfficials,
            ));
        }
        for (i, o) in officials.iter().enumerate() {
            let name = urne_tlog::note::NoteVerifier::name(o);
            let dup = officials[..i].iter().any(|p| {
                urne_tlog::note::NoteVerifier::name(p) == name || p.public_key() == o.public_key()
            });
            if dup {
                let kind = TrustPolicyErrorKind::DuplicateOfficial(name.to_string());
                return Err(err(i + 2, kind));
            }
        }
        let threshold_line = officials.len() + 2;
        if threshold == 0 || threshold > officials.len() {
            let kind = TrustPolicyErrorKind::Threshold(officials.len());
            return Err(err(threshold_line, kind));
        }
        let mut joined = witness_lines.join("\n");
        joined.push('\n');
        let witnesses = Policy::parse(&joined).map_err(|e| {
            err(
                threshold_line + e.line,
                TrustPolicyErrorKind::Witnesses(e.kind),
            )
        })?;
        Ok(TrustPolicy {
            officials,
            threshold,
            witness_lines,
            witnesses,
        })
    }

    /// The officials, in policy order.
    pub fn officials(&self) -> &[Ed25519Verifier] {
        &self.officials
    }

    /// k: how many distinct officials must sign a release.
    pub fn threshold(&self) -> usize {
        self.threshold
    }

    /// The log key and witness quorum (C2SP tlog-policy).
    pub fn witnesses(&self) -> &Policy {
        &self.witnesses
    }

    /// The official with this key name and key ID, if any.
    pub fn official(&self, name: &str, key_id: u32) -> Option<&Ed25519Verifier> {
        use urne_tlog::note::NoteVerifier as _;
        self.officials
            .iter()
            .find(|o| o.name() == name && o.key_id() == key_id)
    }

    /// What this policy lacks for production use.
    pub fn warnings(&self) -> Vec<PolicyWarning> {
        let mut out = Vec::new();
        if self.threshold < 2 {
            out.push(PolicyWarning::SingleSignature);
        }
        if self.witnesses.quorum == Quorum::None {
            out.push(PolicyWarning::NoWitnessQuorum);
        }
        if self.witnesses.logs.is_empty() {
            out.push(PolicyWarning::NoLogKey);
        }
        out
    }

    /// The `urne-trust-policy/v1` bytes.
    pub fn encode(&self) -> String {
        let mut out = format!("{POLICY_HEADER}\n");
        for o in &self.officials {
            out.push_str(&format!("official {}\n", o.vkey()));
        }
        out.push_str(&format!("threshold {}\n", self.threshold));
        for l in &self.witness_lines {
            out.push_str(l);
            out.push('\n');
        }
        out
    }

    /// Parses the canonical encoding only: `parse(b).encode() == b`.
    pub fn parse(bytes: &[u8]) -> Result<TrustPolicy, TrustPolicyError> {
        if bytes.len() > TRUST_POLICY_BYTES_MAX {
            return Err(err(0, TrustPolicyErrorKind::TooLarge));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| err(0, TrustPolicyErrorKind::NotUtf8))?;
        let body = text
            .strip_suffix('\n')
            .ok_or(err(0, TrustPolicyErrorKind::NoFinalNewline))?;
        let mut lines = body.split('\n').enumerate().map(|(i, l)| (i + 1, l));
        if lines.next().map(|(_, l)| l) != Some(POLICY_HEADER) {
            return Err(err(1, TrustPolicyErrorKind::BadHeader));
        }
        let mut officials = Vec::new();
        let mut threshold = None;
        let mut witness_lines = Vec::new();
        for (n, line) in lines {
            let canonical = !line.is_empty()
                && line.split(' ').all(|item| !item.is_empty())
                && line.bytes().all(|b| b >= 0x20 && b != 0x7f);
            if !canonical {
                return Err(err(n, TrustPolicyErrorKind::NotCanonical));
            }
            let (keyword, rest) = line.split_once(' ').unwrap_or((line, ""));
            match (keyword, threshold) {
                ("official", None) => {
                    if officials.len() == OFFICIALS_MAX {
                        return Err(err(n, TrustPolicyErrorKind::TooManyOfficials));
                    }
                    let key = Ed25519Verifier::from_vkey(rest)
                        .map_err(|e| err(n, TrustPolicyErrorKind::Key(e.to_string())))?;
                    if key.vkey() != rest {
                        return Err(err(n, TrustPolicyErrorKind::NotCanonical));
                    }
                    officials.push(key);
                }
                ("threshold", None) => {
                    let k = decimal(rest, "threshold")
                        .ok()
                        .and_then(|k| usize::try_from(k).ok())
                        .ok_or(err(n, TrustPolicyErrorKind::Threshold(officials.len())))?;
                    threshold = Some(k);
                }
                ("log" | "witness" | "group" | "quorum", Some(_)) => {
                    witness_lines.push(line.to_string());
                }
                _ => {
                    let kind = TrustPolicyErrorKind::UnexpectedKeyword(keyword.to_string());
                    return Err(err(n, kind));
                }
            }
        }
        let line_count = body.split('\n').count();
        let threshold = threshold.ok_or(err(line_count + 1, TrustPolicyErrorKind::NoThreshold))?;
        TrustPolicy::build(officials, threshold, witness_lines)
    }
}
