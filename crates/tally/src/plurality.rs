//! Plurality and vote-for-N: each ballot gives one vote to each distinct candidate it marks,
//! unless it marks more than the votes allowed (an overvote: no candidate gets a vote).
//!
//! Counting follows NIST SP 1500-100's convention for the contest-level counts: an overvoted
//! ballot adds `votes_allowed` to `overvotes`; a ballot marking fewer than `votes_allowed`
//! candidates adds the unused votes to `undervotes`.

use crate::model::{Ballots, Cand, Contest, OVERVOTE};

/// The counts of a plurality or vote-for-N contest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluralityResult {
    /// Votes per candidate index of the contest.
    pub votes: Vec<u64>,
    pub overvotes: u64,
    pub undervotes: u64,
    pub ballots: u64,
    /// Candidates with the most votes, best first, `votes_allowed` of them (ties at the cut
    /// are all included, so the list may be longer).
    pub leaders: Vec<Cand>,
}

/// Counts a plurality (`votes_allowed == 1`) or vote-for-N contest. Ranks are ignored.
pub fn plurality(contest: &Contest, ballots: &Ballots, votes_allowed: u32) -> PluralityResult {
    let allowed = u64::from(votes_allowed.max(1));
    let mut votes = vec![0u64; contest.names.len()];
    let (mut overvotes, mut undervotes) = (0u64, 0u64);
    let mut chosen: Vec<Cand> = Vec::new();
    for i in 0..ballots.len() {
        chosen.clear();
        let mut explicit_overvote = false;
        for (_, c) in ballots.marks(i) {
            if *c == OVERVOTE {
                explicit_overvote = true;
            } else if !chosen.contains(c) {
                chosen.push(*c);
            }
        }
        let marked = chosen.len() as u64;
        if explicit_overvote || marked > allowed {
            overvotes += allowed;
            continue;
        }
        undervotes += allowed - marked;
        for c in &chosen {
            if let Some(v) = votes.get_mut(*c as usize) {
                *v += 1;
            }
        }
    }
    let mut order: Vec<Cand> = (0..votes.len() as Cand)
        .filter(|c| !contest.excluded.get(*c as usize).copied().unwrap_or(false))
        .collect();
    order.sort_by(|a, b| votes[*b as usize].cmp(&votes[*a as usize]).then(a.cmp(b)));
    let cut = order.get(allowed as usize - 1).map(|c| votes[*c as usize]);
    let leaders = order
        .into_iter()
        .enumerate()
        .take_while(|(i, c)| (*i as u64) < allowed || Some(votes[*c as usize]) == cut)
        .map(|(_, c)| c)
        .collect();
    PluralityResult {
        votes,
        overvotes,
        undervotes,
        ballots: ballots.len() as u64,
        leaders,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contest() -> Contest {
        Contest {
            names: vec!["A".into(), "B".into(), "C".into()],
            excluded: vec![false; 3],
            uwi: None,
        }
    }

    #[test]
    fn vote_for_two_counts_overvotes_and_undervotes() {
        let mut b = Ballots::default();
        b.push("1".into(), None, None, vec![(1, 0), (1, 1)]);
        b.push("2".into(), None, None, vec![(1, 0)]);
        b.push("3".into(), None, None, vec![(1, 0), (1, 1), (1, 2)]);
        b.push("4".into(), None, None, vec![]);
        let r = plurality(&contest(), &b, 2);
        assert_eq!(r.votes, vec![2, 1, 0]);
        assert_eq!((r.overvotes, r.undervotes, r.ballots), (2, 3, 4));
        assert_eq!(r.leaders, vec![0, 1]);
    }
}
