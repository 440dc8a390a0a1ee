//! The trust core of urne releases. Pure: no files, network, environment or
//! clock (timestamps are fields the officials chose).
//!
//! * [`manifest`]: the release manifest, the body of every log entry,
//!   encoded by hand as `urne-release/v1` text and parsed strictly.
//! * [`trust`]: the officials' trust policy (`urne-trust-policy/v1`): their
//!   Ed25519 keys, k, and the log key and witness quorum as a C2SP
//!   tlog-policy.
//! * [`accept`]: [`check_release`], what the server runs before sequencing a
//!   signed release; it returns an [`Accepted`] token or a typed [`Refusal`].
//! * [`chain`]: [`verify_entries`] / [`Chain`], the same checks replayed over
//!   the whole log, which `urne verify` uses.
//!
//! A log entry is a C2SP signed note whose text is a manifest and whose
//! signatures are the officials' (`urne_tlog::note`, Ed25519 type `0x01`).
//!
//! # Example
//!
//! ```
//! use urne_release::manifest::{Kind, Manifest, MediaType, PayloadRef, Status, sha256};
//! use urne_release::trust::{POLICY_MEDIA_TYPE, TrustPolicy};
//! use urne_release::{DangerSkipDecreaseCheck, LogState, Payload, check_release};
//! use urne_tlog::note::{Ed25519Signer, Note};
//!
//! let alice = Ed25519Signer::from_seed("alice", [1; 32])?;
//! let bob = Ed25519Signer::from_seed("bob", [2; 32])?;
//! let policy = TrustPolicy::new(vec![alice.verifier(), bob.verifier()], 2, "quorum none")?;
//! let payload = policy.encode();
//! let manifest = Manifest {
//!     kind: Kind::TrustPolicy,
//!     election: None,
//!     sequence: 0,
//!     previous: None,
//!     timestamp: 1_793_750_400,
//!     status: Status::Official,
//!     correction: None,
//!     payload: PayloadRef {
//!         sha256: sha256(payload.as_bytes()),
//!         size: payload.len() as u64,
//!         media_type: MediaType::new(POLICY_MEDIA_TYPE)?,
//!     },
//! };
//! let mut note = Note::new(&manifest.encode()?)?;
//! note.sign(&alice)?;
//! note.sign(&bob)?;
//! let entry = note.to_text();
//! let accepted = check_release(
//!     &LogState::new(),
//!     entry.as_bytes(),
//!     Payload::Bytes(payload.as_bytes()),
//!     &DangerSkipDecreaseCheck,
//! )?;
//! assert_eq!(accepted.release().signers(), ["alice", "bob"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Trust model
//!
//! Everything handed in is untrusted: entry bytes, payloads, and the
//! [`DecreaseCheck`] answer's inputs. Trust comes only from the first entry
//! (a self-signed trust policy, pinned by whoever pins the log) and from k
//! signatures of the policy in force. A rotation needs k signatures of the
//! current officials and k' of the new ones (TUF root rotation): the old
//! officials authorise it, the new ones prove they hold their keys.
//! Officials a rotation drops become revoked; their signatures are refused
//! by name rather than ignored.
//!
//! # Invariants
//!
//! * Invariant: `release` never reads the clock, files, network,
//!   environment or randomness.
//! * Invariant: every parser accepts only its canonical form
//!   (`parse(b).encode() == b`), returns a typed error naming the line, and
//!   never panics (fuzz targets `release_manifest`, `trust_policy`).
//! * Invariant: [`Accepted`] and [`VerifiedHistory`] are built only by
//!   [`check_release`] and [`Chain`]; a [`LogState`] only by accepting.
//! * Invariant: status never goes down within a stream, sequences have no
//!   gaps, and each release names the previous manifest of its stream.
#![forbid(unsafe_code)]

pub mod accept;
pub mod chain;
pub mod manifest;
pub mod trust;

pub use accept::{
    Accepted, DangerSkipDecreaseCheck, DecreaseCheck, ENTRY_BYTES_MAX, LogState, Payload, Refusal,
    Release, SignError, StreamKey, StreamTip, check_release, sign_entry,
};
pub use chain::{Chain, ChainError, VerifiedHistory, verify_entries};
pub use manifest::{Kind, Manifest, ManifestError, ManifestErrorKind, PayloadRef, Status};
pub use trust::{PolicyWarning, TrustPolicy, TrustPolicyError, TrustPolicyErrorKind};
