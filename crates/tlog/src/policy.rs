//! c2sp.org/tlog-policy: which logs and witnesses to trust, and the quorum of
//! witness cosignatures a checkpoint needs.

use std::collections::HashSet;

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::cosignature::{CosignatureError, CosignatureVerifier};
use crate::note::{Ed25519Verifier, Note, NoteError, NoteVerifier};

/// Bytes in a policy file.
pub const POLICY_BYTES_MAX: usize = 64 * 1024;
/// `log` lines. tlog-policy: support at least 32.
pub const POLICY_LOGS_MAX: usize = 256;
/// `witness` lines. tlog-policy: support at least 32.
pub const POLICY_WITNESSES_MAX: usize = 256;
/// `group` lines. tlog-policy: support at least 32.
pub const POLICY_GROUPS_MAX: usize = 256;

/// A log the policy accepts checkpoints from.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PolicyLog {
    /// Its checkpoint key; the key name is the log's origin.
    pub verifier: Ed25519Verifier,
    /// Optional application-specific URL.
    pub url: Option<String>,
}

/// A named witness.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PolicyWitness {
    /// The policy-local name used by groups and the quorum.
    pub name: String,
    /// Its cosignature key.
    pub verifier: CosignatureVerifier,
    /// Optional submission prefix URL.
    pub url: Option<String>,
}

/// A named group: witnessed iff at least `threshold` members witnessed.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PolicyGroup {
    /// The group's name.
    pub name: String,
    /// `k`: 1 for `any`, `members.len()` for `all`.
    pub threshold: usize,
    /// Names of witnesses or groups defined earlier.
    pub members: Vec<String>,
}

/// The `quorum` line.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Quorum {
    /// `quorum none`: no cosignatures needed.
    None,
    /// A witness or group name.
    Name(String),
}

/// A parsed policy.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Policy {
    /// `log` lines.
    pub logs: Vec<PolicyLog>,
    /// `witness` lines.
    pub witnesses: Vec<PolicyWitness>,
    /// `group` lines, in file order.
    pub groups: Vec<PolicyGroup>,
    /// The one `quorum` line.
    pub quorum: Quorum,
}

/// A policy file error, naming its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("policy line {line}: {kind}")]
pub struct PolicyError {
    /// 1-based line number (the line after the last for a missing quorum).
    pub line: usize,
    /// What is wrong.
    pub kind: PolicyErrorKind,
}

/// What is wrong with a policy line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyErrorKind {
    #[error("policy is longer than {POLICY_BYTES_MAX} bytes")]
    TooLong,
    #[error("control character other than tab or newline")]
    ControlCharacter,
    #[error("unknown keyword {0:?}")]
    UnknownKeyword(String),
    #[error("wrong number of items")]
    Arity,
    #[error("bad key: {0}")]
    Key(String),
    #[error("duplicate public key")]
    DuplicateKey,
    #[error("name {0:?} is already defined or reserved")]
    DuplicateName(String),
    #[error("name {0:?} is not defined on an earlier line")]
    UndefinedName(String),
    #[error("group member {0:?} is listed twice or is `none`")]
    BadMember(String),
    #[error("threshold is not `all`, `any` or a decimal between 1 and the member count")]
    Threshold,
    #[error("more than one quorum line")]
    DuplicateQuorum,
    #[error("no quorum line")]
    NoQuorum,
    #[error("too many logs, witnesses or groups")]
    TooMany,
}

/// A checkpoint note that the policy does not accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyCheckError {
    #[error("no valid signature by a policy log: {0}")]
    Log(NoteError),
    #[error("checkpoint origin {0:?} is not the signing log's key name")]
    Origin(String),
    #[error("checkpoint body: {0}")]
    Checkpoint(#[from] CheckpointError),
    #[error("cosignature by witness {name}: {error}")]
    Cosignature {
        name: String,
        error: CosignatureError,
    },
    #[error("cosignatures do not meet the quorum")]
    QuorumNotMet,
}

/// Token: a checkpoint signed by a policy log and cosigned by a quorum. Only
/// [`Policy::verify_checkpoint`] builds it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PolicyChecked {
    checkpoint: Checkpoint,
    witnesses: Vec<(String, u64)>,
}

impl PolicyChecked {
    /// The accepted checkpoint.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// Policy names of witnesses whose cosignatures verified, with their timestamps.
    pub fn witnesses(&self) -> &[(String, u64)] {
        &self.witnesses
    }
}

fn err(line: usize, kind: PolicyErrorKind) -> PolicyError {
    PolicyError { line, kind }
}

impl Policy {
    /// Parses a policy file.
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        if text.len() > POLICY_BYTES_MAX {
            return Err(err(1, PolicyErrorKind::TooLong));
        }
        let mut p = Policy {
            logs: Vec::new(),
            witnesses: Vec::new(),
            groups: Vec::new(),
            quorum: Quorum::None,
        };
        let mut quorum_seen = false;
        let mut line_count = 0;
        for (i, line) in text.split('\n').enumerate() {
            let n = i + 1;
            line_count = n;
            // tlog-policy: only 0x09, 0x0A, 0x20-0x7E and 0x80-0xFF are allowed.
            if line.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
                return Err(err(n, PolicyErrorKind::ControlCharacter));
            }
            let items: Vec<&str> = line.split([' ', '\t']).filter(|s| !s.is_empty()).collect();
            let Some((&keyword, args)) = items.split_first() else {
                continue;
            };
            if keyword.starts_with('#') {
                continue;
            }
            match keyword {
                "log" => p.parse_log(args).map_err(|k| err(n, k))?,
                "witness" => p.parse_witness(args).map_err(|k| err(n, k))?,
                "group" => p.parse_group(args).map_err(|k| err(n, k))?,
                "quorum" => {
                    if quorum_seen {
                        return Err(err(n, PolicyErrorKind::DuplicateQuorum));
                    }
                    let [name] = args else {
                        return Err(err(n, PolicyErrorKind::Arity));
                    };
                    p.quorum = match *name {
                        "none" => Quorum::None,
                        name if p.is_defined(name) => Quorum::Name(name.to_string()),
                        name => {
                            return Err(err(n, PolicyErrorKind::UndefinedName(name.to_string())));
                        }
                    };
                    quorum_seen = true;
                }
                other => return Err(err(n, PolicyErrorKind::UnknownKeyword(other.to_string()))),
            }
        }
        if !quorum_seen {
            return Err(err(line_count, PolicyErrorKind::NoQuorum));
        }
        Ok(p)
    }

    fn is_defined(&self, name: &str) -> bool {
        self.witnesses.iter().any(|w| w.name == name) || self.groups.iter().any(|g| g.name == name)
    }

    fn check_new_name(&self, name: &str) -> Result<(), PolicyErrorKind> {
        if name == "none" || self.is_defined(name) {
            return Err(PolicyErrorKind::DuplicateName(name.to_string()));
        }
        Ok(())
    }

    fn parse_log(&mut self, args: &[&str]) -> Result<(), PolicyErrorKind> {
        let (vkey, url) = match args {
            [vkey] => (vkey, None),
            [vkey, url] => (vkey, Some(url.to_string())),
            _ => return Err(PolicyErrorKind::Arity),
        };
        let verifier =
            Ed25519Verifier::from_vkey(vkey).map_err(|e| PolicyErrorKind::Key(e.to_string()))?;
        // tlog-policy: duplicate means the same underlying public key.
        if self
            .logs
            .iter()
            .any(|l| l.verifier.public_key() == verifier.public_key())
        {
            return Err(PolicyErrorKind::DuplicateKey);
        }
        if self.logs.len() == POLICY_LOGS_MAX {
            return Err(PolicyErrorKind::TooMany);
        }
        self.logs.push(PolicyLog { verifier, url });
        Ok(())
    }

    fn parse_witness(&mut self, args: &[&str]) -> Result<(), PolicyErrorKind> {
        let (name, vkey, url) = match args {
            [name, vkey] => (name, vkey, None),
            [name, vkey, url] => (name, vkey, Some(url.to_string())),
            _ => return Err(PolicyErrorKind::Arity),
        };
        self.check_new_name(name)?;
        let verifier = CosignatureVerifier::from_vkey(vkey)
            .map_err(|e| PolicyErrorKind::Key(e.to_string()))?;
        if self
            .witnesses
            .iter()
            .any(|w| w.verifier.public_key() == verifier.public_key())
        {
            return Err(PolicyErrorKind::DuplicateKey);
        }
        if self.witnesses.len() == POLICY_WITNESSES_MAX {
            return Err(PolicyErrorKind::TooMany);
        }
        self.witnesses.push(PolicyWitness {
            name: name.to_string(),
            verifier,
            url,
        });
        Ok(())
    }

    fn parse_group(&mut self, args: &[&str]) -> Result<(), PolicyErrorKind> {
        let [name, threshold, members @ ..] = args else {
            return Err(PolicyErrorKind::Arity);
        };
        if members.is_empty() {
            return Err(PolicyErrorKind::Arity);
        }
        self.check_new_name(name)?;
        let mut seen = HashSet::new();
        for m in members {
            if *m == "none" || !seen.insert(*m) {
                return Err(PolicyErrorKind::BadMember(m.to_string()));
            }
            if !self.is_defined(m) {
                return Err(PolicyErrorKind::UndefinedName(m.to_string()));
            }
        }
        let n = members.len();
        let threshold = match *threshold {
            "all" => n,
            "any" => 1,
            k => parse_threshold(k)
                .filter(|k| (1..=n).contains(k))
                .ok_or(PolicyErrorKind::Threshold)?,
        };
        if self.groups.len() == POLICY_GROUPS_MAX {
            return Err(PolicyErrorKind::TooMany);
        }
        self.groups.push(PolicyGroup {
            name: name.to_string(),
            threshold,
            members: members.iter().map(|m| m.to_string()).collect(),
        });
        Ok(())
    }

    /// Whether witnesses with these policy names, having cosigned, meet the quorum.
    pub fn quorum_met(&self, cosigned: &[&str]) -> bool {
        match &self.quorum {
            Quorum::None => true,
            Quorum::Name(name) => self.witnessed(name, cosigned, 0),
        }
    }

    fn witnessed(&self, name: &str, cosigned: &[&str], depth: usize) -> bool {
        // Groups only name earlier lines, so depth is bounded by the group count.
        if depth > self.groups.len() {
            return false;
        }
        if self.witnesses.iter().any(|w| w.name == name) {
            return cosigned.contains(&name);
        }
        match self.groups.iter().find(|g| g.name == name) {
            Some(g) => {
                let count = g
                    .members
                    .iter()
                    .filter(|m| self.witnessed(m, cosigned, depth + 1))
                    .count();
                count >= g.threshold
            }
            None => false,
        }
    }

    /// Checks a checkpoint note: signed by a policy log whose key name is the
    /// origin, every cosignature by a policy witness valid, and the quorum met.
    pub fn verify_checkpoint(&self, note: &Note) -> Result<PolicyChecked, PolicyCheckError> {
        let logs: Vec<&dyn NoteVerifier> = self.logs.iter().map(|l| &l.verifier as _).collect();
        let verified = note.verify(&logs).map_err(PolicyCheckError::Log)?;
        let checkpoint = Checkpoint::parse(verified.text())?;
        // tlog-policy: the log's key name MUST correspond to the origin line.
        if !verified.is_verified_by(&checkpoint.origin) {
            return Err(PolicyCheckError::Origin(checkpoint.origin));
        }
        let mut witnesses: Vec<(String, u64)> = Vec::new();
        for w in &self.witnesses {
            let v = &w.verifier;
            let Some(sig) = note
                .signatures()
                .iter()
                .find(|s| s.name == NoteVerifier::name(v) && s.key_id == NoteVerifier::key_id(v))
            else {
                continue;
            };
            let checked =
                v.verify(note.text(), sig)
                    .map_err(|error| PolicyCheckError::Cosignature {
                        name: w.name.clone(),
                        error,
                    })?;
            witnesses.push((w.name.clone(), checked.timestamp()));
        }
        let names: Vec<&str> = witnesses.iter().map(|(n, _)| n.as_str()).collect();
        if !self.quorum_met(&names) {
            return Err(PolicyCheckError::QuorumNotMet);
        }
        Ok(PolicyChecked {
            checkpoint,
            witnesses,
        })
    }
}

/// A decimal without sign or leading zeros.
fn parse_threshold(text: &str) -> Option<usize> {
    if text.is_empty()
        || text.len() > 6
        || text.starts_with('0')
        || !text.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    text.parse().ok()
}
