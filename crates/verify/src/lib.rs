//! `urne verify`, evidence files and `urne mirror`: checking a published election log from
//! the outside, trusting only a pinned genesis trust policy (or log key).
//!
//! * [`fetch`]: reading a public tree over HTTP(S) or from a directory, with byte limits.
//! * [`follow`]: [`Follower`], the verifier core: checkpoint signature, consistency with the
//!   last accepted checkpoint, every tile and entry recomputed, every release replayed through
//!   [`urne_release::Chain`] with its payload hash, the witnesses' cosignatures and quorum.
//! * [`evidence`]: the self-contained split-view evidence format and its offline check.
//! * [`state`]: the verifier's state file (the last accepted checkpoint, the pinned genesis).
//! * [`site`]: the pages, API files and downloads re-rendered from the verified releases with
//!   [`urne_site::render`] and compared byte for byte with what is served.
//! * [`mirror`]: a mirror that follows a primary with a [`Follower`], stores only what
//!   verified, and serves the identical public tree.
//!
//! # Trust model
//!
//! Everything fetched is untrusted. Trust comes from the genesis trust policy (pinned by its
//! manifest hash, or trusted on first use and then kept in the state file), the officials' k-of-n
//! signatures it names, the log key it names, and the witness quorum it sets. A state file is
//! trusted: it is the verifier's memory.
//!
//! # Invariants
//!
//! * Invariant: a [`Follower`] changes only when every check of an advance passed.
//! * Invariant: an [`evidence::Evidence`] is written only for two checkpoints that both verify
//!   under the log key, and [`evidence::Evidence::check`] re-derives its verdict from the bytes.
//! * Invariant: every read is bounded by a named limit.
#![forbid(unsafe_code)]

pub mod evidence;
pub mod fetch;
pub mod fixture;
pub mod follow;
pub mod mirror;
pub mod site;
pub mod state;

pub use evidence::{Evidence, EvidenceError, ForkProof, Verdict};
pub use fetch::{DirSource, Fetch, FetchError, HttpSource, Source};
pub use follow::{Advance, Failure, Follower, Options, Seen, VerifiedResults};
pub use site::{SiteCheck, check_site};
pub use state::{StateFileError, VerifyState};
