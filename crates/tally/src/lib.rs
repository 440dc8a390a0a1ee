//! urne's tally core: ranked-choice (every RCTab rule) and plurality tabulation as pure
//! functions with a per-round trace, and RCTab's round-by-round reports as strings.
//!
//! Invariant: this crate never touches files, network, environment or clock; readers and
//! writers live in `urne-tally-io`.
#![forbid(unsafe_code)]

pub mod decimal;
pub mod java;
pub mod json;
pub mod model;
pub mod plurality;
pub mod rcv;
pub mod report;

pub use decimal::Dec;
pub use model::{Ballots, Cand, Contest, OvervoteRule, Rules, TiebreakMode, WinnerMode};
pub use plurality::{PluralityResult, plurality};
pub use rcv::{Outcome, Setup, SliceKind, TallyError, tabulate};
