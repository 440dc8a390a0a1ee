//! Pure transparency-log primitives for urne, following the C2SP specs.
//!
//! This crate implements, and nothing more:
//!
//! * [`hash`]: RFC 6962 / RFC 9162 Merkle tree hashing (SHA-256, `0x00` leaf and
//!   `0x01` node prefixes).
//! * [`tile`]: c2sp.org/tlog-tiles tile and entry-bundle coordinates, paths and
//!   the entry-bundle encoding.
//! * [`edge`]: the pure sequencing step. An [`Edge`] is the right edge of the
//!   tree (the rightmost, possibly partial tile at every level plus the last
//!   partial entry bundle); appending a batch of entries to it yields the new
//!   edge and every tile and bundle the batch created or grew.
//! * [`proof`]: inclusion and consistency proofs (RFC 9162 §2.1.3, §2.1.4)
//!   computed from tiles, and their verification, which returns tokens only
//!   this crate can build ([`InclusionChecked`], [`ConsistencyChecked`]).
//! * [`checkpoint`]: c2sp.org/tlog-checkpoint note bodies.
//! * [`note`]: c2sp.org/signed-note with Ed25519 (type `0x01`) keys, in the
//!   `vkey` and private-key string forms of Go's `golang.org/x/mod/sumdb/note`.
//! * [`cosignature`]: c2sp.org/tlog-cosignature `cosignature/v1` (type `0x04`).
//! * [`policy`]: c2sp.org/tlog-policy files and quorum evaluation.
//!
//! # Example
//!
//! ```
//! use std::collections::HashMap;
//! use urne_tlog::{Edge, TileId, inclusion_proof, inclusion_tiles, leaf_hash, verify_inclusion};
//!
//! // Sequence a batch: the caller writes tiles and bundles, then the checkpoint.
//! let (edge, seq) = Edge::empty().append(&[b"a".as_slice(), b"b", b"c"])?;
//! let tiles: HashMap<TileId, Vec<u8>> = seq.tiles.into_iter().collect();
//! assert_eq!(seq.root, edge.root());
//!
//! // Prove entry 1: fetch the listed tiles first (async, elsewhere), then prove.
//! assert_eq!(inclusion_tiles(1, 3)?.len(), 1);
//! let proof = inclusion_proof(1, 3, &tiles)?;
//! let _checked = verify_inclusion(&leaf_hash(b"b"), 1, 3, &proof, &seq.root)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Trust model
//!
//! Tiles and bundles handed to [`Edge::from_tiles`], [`inclusion_proof`] and
//! friends are untrusted: lengths and bundle/tile agreement are checked, but
//! only a root compared against a verified checkpoint authenticates them.
//! Proofs computed from bad tiles simply fail [`verify_inclusion`] /
//! [`verify_consistency`]. Signing keys are only ever arguments; `Debug` on
//! signers never prints key material.
//!
//! # Invariants
//!
//! * Invariant: `tlog` never reads the clock. Timestamps (cosignatures) are
//!   arguments.
//! * Invariant: `tlog` never draws randomness itself. Key generation takes the
//!   caller's `CryptoRngCore`; Ed25519 signing is deterministic (RFC 8032).
//! * Invariant: `tlog` never touches files, network or environment, and is
//!   synchronous. Callers fetch the tiles listed by [`inclusion_tiles`],
//!   [`consistency_tiles`] or [`Edge::needed`] and hand them over through a
//!   [`TileSource`].
//! * Invariant: no public function panics on bad input. Every parser returns a
//!   typed, `#[non_exhaustive]` error, and every input size has a named limit
//!   (`*_MAX` constants).
//! * Invariant: a check returns a token ([`InclusionChecked`],
//!   [`ConsistencyChecked`], [`note::VerifiedNote`],
//!   [`cosignature::CosignatureChecked`], [`policy::PolicyChecked`]) that code
//!   outside this crate cannot construct.
//! * Invariant: [`Edge::append`] is pure: the original edge is untouched and an
//!   error (for instance an oversized entry) leaves nothing half-done.
#![forbid(unsafe_code)]

pub mod checkpoint;
pub mod cosignature;
pub mod edge;
pub mod hash;
pub mod note;
pub mod policy;
pub mod proof;
pub mod tile;

pub use checkpoint::{Checkpoint, CheckpointError};
pub use edge::{Edge, EdgeError, Sequenced, TreeBuilder};
pub use hash::{Hash, empty_root, leaf_hash, node_hash};
pub use proof::{
    ConsistencyChecked, InclusionChecked, ProofError, TileSource, consistency_proof,
    consistency_tiles, implied_roots, inclusion_proof, inclusion_tiles, root_from_tiles,
    verify_consistency, verify_inclusion,
};
pub use tile::{BundleId, ENTRY_BYTES_MAX, TILE_HEIGHT, TILE_WIDTH, TileId, TilePathError};
