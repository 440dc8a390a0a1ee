//! The verifier side: replay the whole log, entry by entry, with the same
//! checks the server ran before sequencing.

use crate::accept::{DecreaseCheck, LogState, Payload, Refusal, Release, check_release};
use crate::manifest::{Sha256Hash, hex};

/// Entries a [`Chain`] keeps (the log's releases, not ballots: an office
/// publishes thousands, not millions).
pub const CHAIN_ENTRIES_MAX: usize = 1_000_000;

/// An entry of the log that does not replay.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// The entry at this log index was refused.
    #[error("log entry {index}: {refusal}")]
    Refused {
        /// 0-based log index.
        index: u64,
        /// Why.
        refusal: Refusal,
    },
    /// More than [`CHAIN_ENTRIES_MAX`] entries.
    #[error("more than {CHAIN_ENTRIES_MAX} log entries")]
    TooManyEntries,
    /// The first entry is not the pinned genesis policy.
    #[error("log entry 0 is not the pinned trust policy (manifest hash {})", hex(.got))]
    GenesisNotPinned {
        /// The first entry's manifest hash.
        got: Sha256Hash,
    },
    /// An empty log has no trust policy.
    #[error("the log is empty: no trust policy")]
    Empty,
}

/// A log replayed so far. Each entry is checked against the policy in force
/// just before it, so rotations apply from the next entry on.
#[derive(Clone, Debug, Default)]
pub struct Chain {
    state: LogState,
    releases: Vec<Release>,
    pinned: Option<Sha256Hash>,
}

impl Chain {
    /// An empty log that trusts whatever self-signed policy comes first.
    /// Trust on first use: a verifier should pin it afterwards.
    pub fn new() -> Chain {
        Chain::default()
    }

    /// An empty log whose first entry must be the trust policy with this
    /// manifest hash (pinned out of band or from an earlier run).
    pub fn pinned(genesis_manifest_hash: Sha256Hash) -> Chain {
        Chain {
            pinned: Some(genesis_manifest_hash),
            ..Chain::default()
        }
    }

    /// Checks the next entry in log order; on error the chain is unchanged.
    pub fn push(
        &mut self,
        entry: &[u8],
        payload: Payload<'_>,
        decrease: &dyn DecreaseCheck,
    ) -> Result<&Release, ChainError> {
        if self.releases.len() == CHAIN_ENTRIES_MAX {
            return Err(ChainError::TooManyEntries);
        }
        let index = self.releases.len() as u64;
        let accepted = check_release(&self.state, entry, payload, decrease)
            .map_err(|refusal| ChainError::Refused { index, refusal })?;
        let (release, state) = accepted.into_parts();
        if let Some(pin) = self.pinned
            && index == 0
            && *release.manifest_hash() != pin
        {
            let got = *release.manifest_hash();
            return Err(ChainError::GenesisNotPinned { got });
        }
        self.state = state;
        self.releases.push(release);
        Ok(&self.releases[self.releases.len() - 1])
    }

    /// The state after the entries so far.
    pub fn state(&self) -> &LogState {
        &self.state
    }

    /// The entries accepted so far, in log order.
    pub fn releases(&self) -> &[Release] {
        &self.releases
    }

    /// The token for the replayed log; an empty log is refused.
    pub fn finish(self) -> Result<VerifiedHistory, ChainError> {
        let Some(first) = self.releases.first() else {
            return Err(ChainError::Empty);
        };
        Ok(VerifiedHistory {
            genesis: *first.manifest_hash(),
            state: self.state,
            releases: self.releases,
        })
    }
}

/// Token: a whole log whose every entry passed [`check_release`] in order,
/// starting from a trust policy. Only [`Chain::finish`] builds it.
#[derive(Clone, Debug)]
pub struct VerifiedHistory {
    genesis: Sha256Hash,
    state: LogState,
    releases: Vec<Release>,
}

impl VerifiedHistory {
    /// Every release, in log order (index = log index).
    pub fn releases(&self) -> &[Release] {
        &self.releases
    }
    /// The first entry's manifest hash: what a verifier pins.
    pub fn genesis_hash(&self) -> &Sha256Hash {
        &self.genesis
    }
    /// The final state: policy in force, revoked keys, stream tips.
    pub fn state(&self) -> &LogState {
        &self.state
    }
}

/// Replays `(entry bytes, payload)` pairs in log order.
pub fn verify_entries<'a>(
    entries: impl IntoIterator<Item = (&'a [u8], Payload<'a>)>,
    decrease: &dyn DecreaseCheck,
) -> Result<VerifiedHistory, ChainError> {
    let mut chain = Chain::new();
    for (entry, payload) in entries {
        chain.push(entry, payload, decrease)?;
    }
    chain.finish()
}
