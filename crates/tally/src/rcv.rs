//! Ranked-choice tabulation, round by round, following RCTab's `Tabulator` rule for rule.
//!
//! Invariant: no I/O, no clock, no global state; the only randomness is the seeded
//! [`JavaRandom`] named by the rules.

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::decimal::{Dec, Rounding};
use crate::java::{self, JavaRandom};
use crate::model::{
    Ballots, Cand, Contest, OVERVOTE, OvervoteRule, Rules, TiebreakMode, WinnerMode,
};

/// No current recipient.
const NOBODY: Cand = u16::MAX - 1;

/// Why a ballot counts or not in a round (RCTab `StatusForRound`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
    Active = 0,
    DidNotRankAnyCandidates = 1,
    ExhaustedChoice = 2,
    InvalidatedByOvervote = 3,
    InvalidatedBySkippedRanking = 4,
    InvalidatedByRepeatedRanking = 5,
    FinalRoundSurplus = 6,
}

/// Every [`Status`], in discriminant order.
const STATUSES: [Status; 7] = [
    Status::Active,
    Status::DidNotRankAnyCandidates,
    Status::ExhaustedChoice,
    Status::InvalidatedByOvervote,
    Status::InvalidatedBySkippedRanking,
    Status::InvalidatedByRepeatedRanking,
    Status::FinalRoundSurplus,
];

/// Adds whole-ballot counts (per candidate, per status) to a round's exact tally.
fn add_counts(tally: &mut RoundTally, to: &[u64], inactive: &[u64; 7]) {
    for (c, n) in to.iter().enumerate() {
        if *n > 0 {
            tally.add_candidate(c as Cand, Dec::from_int(*n as i64));
        }
    }
    for (status, n) in STATUSES.into_iter().zip(inactive) {
        if *n > 0 {
            tally.add_inactive(status, Dec::from_int(*n as i64));
        }
    }
}

/// Errors that stop a tabulation (RCTab `TabulationAbortedException`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum TallyError {
    #[error(
        "round {round}: a tie between {candidates:?} must be broken by an operator \
         (tiebreakMode stopCountingAndAsk); refused in non-interactive use"
    )]
    TiebreakNeedsOperator { round: u32, candidates: Vec<String> },
    #[error("round {round}: all declared candidates are below the minimum vote threshold")]
    AllBelowMinimumThreshold { round: u32 },
    #[error("round {round}: no candidate could be eliminated")]
    NoElimination { round: u32 },
    #[error("a ranking holds the overvote label together with other choices")]
    OvervoteWithOtherChoices,
    #[error("tabulate by {slice} is enabled but no cast vote record names a {slice}")]
    NoSliceIds { slice: &'static str },
}

/// One kind of slice a contest can be tabulated by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SliceKind {
    Precinct,
    Batch,
}

impl SliceKind {
    /// `TabulateBySlice.toLowerString()`.
    pub fn lower(self) -> &'static str {
        match self {
            SliceKind::Precinct => "precinct",
            SliceKind::Batch => "batch",
        }
    }
    /// `TabulateBySlice.toString()`.
    pub fn title(self) -> &'static str {
        match self {
            SliceKind::Precinct => "Precinct",
            SliceKind::Batch => "Batch",
        }
    }
}

/// The counts of one round (RCTab `RoundTally`).
#[derive(Clone, Debug)]
pub struct RoundTally {
    pub round: u32,
    tallies: Vec<Option<Dec>>,
    /// Candidates in the order they entered the tally (drives Java hash iteration order).
    keys: Vec<Cand>,
    statuses: [Dec; 7],
    pub threshold: Dec,
    locked_in: Dec,
}

impl RoundTally {
    fn new(round: u32, n: usize, keys: Vec<Cand>) -> RoundTally {
        let mut tallies = vec![None; n];
        for k in &keys {
            tallies[*k as usize] = Some(Dec::ZERO);
        }
        RoundTally {
            round,
            tallies,
            keys,
            statuses: [Dec::ZERO; 7],
            threshold: Dec::ZERO,
            locked_in: Dec::ZERO,
        }
    }

    /// A candidate's votes this round, if the candidate is in this round's tally.
    pub fn tally(&self, c: Cand) -> Option<Dec> {
        self.tallies.get(c as usize).copied().flatten()
    }

    fn add_candidate(&mut self, c: Cand, v: Dec) {
        self.statuses[0] = self.statuses[0].plus(v);
        let t = &mut self.tallies[c as usize];
        *t = Some(t.unwrap_or(Dec::ZERO).plus(v));
    }

    fn add_inactive(&mut self, s: Status, v: Dec) {
        let i = s as usize;
        self.statuses[i] = self.statuses[i].plus(v);
    }

    fn set_via_surplus(&mut self, c: Cand, v: Dec) {
        let prev = self.tallies[c as usize];
        if prev.is_none() {
            self.keys.push(c);
        }
        let diff = v.minus(prev.unwrap_or(Dec::ZERO));
        self.tallies[c as usize] = Some(v);
        self.locked_in = self.locked_in.plus(diff);
    }

    /// Sum of ballots with a status.
    pub fn status(&self, s: Status) -> Dec {
        self.statuses[s as usize]
    }

    /// `activeBallotSum`.
    pub fn active(&self) -> Dec {
        self.statuses[0]
    }

    /// `activeAndLockedInBallotSum`; final-round surplus still counts as locked in.
    pub fn active_and_locked_in(&self) -> Dec {
        self.statuses[0]
            .plus(self.locked_in)
            .plus(self.statuses[Status::FinalRoundSurplus as usize])
    }

    /// `inactiveBallotSum`.
    pub fn inactive(&self) -> Dec {
        let mut sum = Dec::ZERO;
        for s in [
            Status::DidNotRankAnyCandidates,
            Status::ExhaustedChoice,
            Status::InvalidatedByOvervote,
            Status::InvalidatedBySkippedRanking,
            Status::InvalidatedByRepeatedRanking,
        ] {
            sum = sum.plus(self.status(s));
        }
        sum
    }

    /// Candidates in this tally, in Java `HashMap` iteration order.
    pub fn candidates(&self, contest: &Contest) -> Vec<Cand> {
        let names: Vec<&str> = self.keys.iter().map(|k| contest.name(*k)).collect();
        let cap = java::default_capacity(names.len());
        java::hash_order(&names, cap)
            .into_iter()
            .map(|i| self.keys[i])
            .collect()
    }

    /// Number of candidates in the tally.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no candidate is in the tally.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// `getSortedCandidatesByTally`: highest first, undeclared write-ins last, stable.
    pub fn sorted_by_tally(&self, contest: &Contest) -> Vec<Cand> {
        let mut c = self.candidates(contest);
        let uwi = contest.uwi;
        c.sort_by(|a, b| {
            if Some(*a) == uwi {
                Ordering::Greater
            } else if Some(*b) == uwi {
                Ordering::Less
            } else {
                self.tally(*b)
                    .unwrap_or(Dec::ZERO)
                    .cmp_num(self.tally(*a).unwrap_or(Dec::ZERO))
            }
        });
        c
    }
}

/// A source or target of a vote transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Flow {
    Cand(Cand),
    Uncounted,
    Exhausted,
    Residual,
}

/// Transfers per round: round → source → target → votes (RCTab `TallyTransfers`).
#[derive(Clone, Debug, Default)]
pub struct Transfers {
    rounds: HashMap<u32, HashMap<Flow, HashMap<Flow, Dec>>>,
}

impl Transfers {
    fn record(&mut self, round: u32, from: Flow, to: Flow, v: Dec) {
        let e = self
            .rounds
            .entry(round)
            .or_default()
            .entry(from)
            .or_default();
        let cur = e.get(&to).copied().unwrap_or(Dec::ZERO);
        e.insert(to, cur.plus(v));
    }

    /// Transfers recorded under `round` out of `from`.
    pub fn from(&self, round: u32, from: Flow) -> Option<&HashMap<Flow, Dec>> {
        self.rounds.get(&round).and_then(|r| r.get(&from))
    }
}

/// Per-slice tallies and transfers.
#[derive(Clone, Debug)]
pub struct SliceResults {
    pub kind: SliceKind,
    /// Slice ids (precinct or batch names), by slice index.
    pub ids: Vec<String>,
    /// `rounds[slice][round - 1]`.
    pub rounds: Vec<Vec<RoundTally>>,
    pub transfers: Vec<Transfers>,
}

/// Where each ballot's vote sits in each round, for the CDF CVR export.
pub type Snapshot = Vec<(Cand, Dec)>;

/// The outcome of a ranked-choice tabulation.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub rounds: Vec<RoundTally>,
    /// `(candidate, round)` in the order candidates were eliminated.
    pub eliminated: Vec<(Cand, u32)>,
    /// `(candidate, round)` in the order candidates were elected.
    pub winners: Vec<(Cand, u32)>,
    pub transfers: Transfers,
    /// Residual surplus per round (index round - 1).
    pub residual: Vec<Dec>,
    pub slices: Vec<SliceResults>,
    /// Per ballot: `(round, allocation)` whenever the allocation changed.
    pub snapshots: Option<Vec<Vec<(u32, Snapshot)>>>,
    /// The tie-breaking permutation in use, after any shuffle.
    pub permutation: Vec<Cand>,
    /// Candidates elected or eliminated by a tiebreak.
    pub tie_broken: Vec<Cand>,
}

impl Outcome {
    /// Number of rounds tabulated.
    pub fn num_rounds(&self) -> u32 {
        self.rounds.len() as u32
    }
}

/// Inputs of a tabulation besides the ballots.
#[derive(Clone, Debug)]
pub struct Setup<'a> {
    pub contest: &'a Contest,
    pub rules: &'a Rules,
    /// Candidate order for `useCandidateOrder` / `generatePermutation`.
    pub permutation: Vec<Cand>,
    pub slices: Vec<SliceKind>,
    pub record_snapshots: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum CandStatus {
    Continuing,
    Winner,
    Eliminated,
    Excluded,
}

struct Tabulator<'a> {
    contest: &'a Contest,
    rules: &'a Rules,
    ballots: &'a Ballots,
    recipient: Vec<Cand>,
    status: Vec<Status>,
    fractions: Vec<Vec<(Cand, Dec)>>,
    cand_status: Vec<CandStatus>,
    rounds: Vec<RoundTally>,
    eliminated: Vec<(Cand, u32)>,
    winners: Vec<(Cand, u32)>,
    transfers: Transfers,
    residual: Vec<Dec>,
    permutation: Vec<Cand>,
    tie_broken: Vec<Cand>,
    rng: Option<JavaRandom>,
    round: u32,
    slice_kinds: Vec<SliceKind>,
    /// Per slice kind: per ballot slice index.
    slice_of: Vec<Vec<Option<u32>>>,
    slice_ids: Vec<Vec<String>>,
    slice_rounds: Vec<Vec<Vec<RoundTally>>>,
    slice_transfers: Vec<Vec<Transfers>>,
    snapshots: Option<Vec<Vec<(u32, Snapshot)>>>,
}

/// Tabulates a ranked-choice contest.
pub fn tabulate(setup: Setup<'_>, ballots: &Ballots) -> Result<Outcome, TallyError> {
    let n = ballots.len();
    let mut slice_of = Vec::new();
    let mut slice_ids = Vec::new();
    for kind in &setup.slices {
        let (of, names) = match kind {
            SliceKind::Precinct => (&ballots.precinct, &ballots.precinct_names),
            SliceKind::Batch => (&ballots.batch, &ballots.batch_names),
        };
        if !of.iter().any(Option::is_some) {
            return Err(TallyError::NoSliceIds {
                slice: kind.lower(),
            });
        }
        slice_of.push(of.clone());
        slice_ids.push(names.clone());
    }
    let nslices = setup.slices.len();
    let mut t = Tabulator {
        contest: setup.contest,
        rules: setup.rules,
        ballots,
        recipient: vec![NOBODY; n],
        status: vec![Status::Active; n],
        fractions: vec![Vec::new(); if setup.rules.uses_surpluses() { n } else { 0 }],
        cand_status: setup
            .contest
            .excluded
            .iter()
            .map(|e| {
                if *e {
                    CandStatus::Excluded
                } else {
                    CandStatus::Continuing
                }
            })
            .collect(),
        rounds: Vec::new(),
        eliminated: Vec::new(),
        winners: Vec::new(),
        transfers: Transfers::default(),
        residual: Vec::new(),
        permutation: setup.permutation,
        tie_broken: Vec::new(),
        rng: None,
        round: 0,
        slice_kinds: setup.slices.clone(),
        slice_rounds: slice_ids
            .iter()
            .map(|ids| vec![Vec::new(); ids.len()])
            .collect(),
        slice_transfers: slice_ids
            .iter()
            .map(|ids| vec![Transfers::default(); ids.len()])
            .collect(),
        slice_of,
        slice_ids,
        snapshots: setup.record_snapshots.then(|| vec![Vec::new(); n]),
    };
    debug_assert_eq!(t.slice_rounds.len(), nslices);
    t.run()?;
    let slices = (0..nslices)
        .map(|k| SliceResults {
            kind: t.slice_kinds[k],
            ids: std::mem::take(&mut t.slice_ids[k]),
            rounds: std::mem::take(&mut t.slice_rounds[k]),
            transfers: std::mem::take(&mut t.slice_transfers[k]),
        })
        .collect();
    Ok(Outcome {
        rounds: t.rounds,
        eliminated: t.eliminated,
        winners: t.winners,
        transfers: t.transfers,
        residual: t.residual,
        slices,
        snapshots: t.snapshots,
        permutation: t.permutation,
        tie_broken: t.tie_broken,
    })
}

impl Tabulator<'_> {
    fn run(&mut self) -> Result<(), TallyError> {
        if self.rules.tiebreak.needs_random_seed() {
            let mut rng = JavaRandom::new(self.rules.random_seed);
            if self.rules.tiebreak == TiebreakMode::GeneratePermutation {
                let c = self.contest;
                self.permutation
                    .sort_by(|a, b| java::compare_strings(c.name(*a), c.name(*b)));
                rng.shuffle(&mut self.permutation);
            } else {
                self.rng = Some(rng);
            }
        }
        while self.should_continue() {
            self.round += 1;
            let round = self.round;
            let tally = self.compute_round()?;
            self.rounds.push(tally);
            let prev_residual = self.residual.last().copied().unwrap_or(Dec::ZERO);
            self.residual.push(prev_residual);

            // Single-winner thresholds follow the active ballots until someone wins (then, with
            // continue-until-two, they freeze).
            let recompute = if self.rules.number_of_winners > 1 {
                round == 1
            } else {
                round == 1
                    || (!self.rules.first_round_determines_threshold && self.winners.is_empty())
            };
            let threshold = if recompute {
                self.winning_threshold()
            } else {
                self.rounds[round as usize - 2].threshold
            };
            self.set_threshold(threshold);

            let groups = self.tally_groups(round);
            let winners = self.identify_winners(&groups)?;
            if !winners.is_empty() {
                for w in &winners {
                    self.winners.push((*w, round));
                    self.cand_status[*w as usize] = CandStatus::Winner;
                }
                if self.rules.uses_surpluses() {
                    for w in &winners {
                        self.distribute_surplus(*w);
                    }
                }
            } else if (self.winners.len() as u32) < self.rules.number_of_winners
                || (self.rules.continue_until_two
                    && self.eliminated.len() + 2 < self.contest.num_candidates())
                || self.rules.mode == WinnerMode::BottomsUpPercentageThreshold
            {
                let eliminated = self.choose_eliminations(&groups)?;
                for c in eliminated {
                    self.eliminated.push((c, round));
                    self.cand_status[c as usize] = CandStatus::Eliminated;
                }
            }
            if self.rules.number_of_winners > 1 {
                self.update_winner_tallies();
            }
        }
        Ok(())
    }

    fn set_threshold(&mut self, threshold: Dec) {
        let r = self.round as usize - 1;
        self.rounds[r].threshold = threshold;
        for kind in &mut self.slice_rounds {
            for slice in kind.iter_mut() {
                if let Some(t) = slice.get_mut(r) {
                    t.threshold = threshold;
                }
            }
        }
    }

    fn should_continue(&self) -> bool {
        let eliminated = self.eliminated.len();
        let winners = self.winners.len();
        let r = self.rules;
        // Stop early when asked, or when every declared candidate won a contest that wanted
        // more winners than candidates.
        let everyone_won = winners == self.contest.num_declared()
            && r.number_of_winners as usize > self.contest.num_candidates();
        if self.round >= r.stop_after_round.unwrap_or(u32::MAX) || everyone_won {
            false
        } else if r.continue_until_two {
            eliminated + winners + 1 < self.contest.num_candidates()
                || self.eliminated.iter().any(|e| e.1 == self.round)
        } else if r.mode == WinnerMode::BottomsUpPercentageThreshold {
            winners == 0
        } else {
            (winners as u32) < r.number_of_winners
                || (r.uses_surpluses() && self.winners.iter().any(|w| w.1 == self.round))
        }
    }

    fn is_continuing(&self, c: Cand) -> bool {
        if c == OVERVOTE {
            return false;
        }
        match self.cand_status[c as usize] {
            CandStatus::Continuing => true,
            CandStatus::Winner => self.rules.continue_until_two,
            CandStatus::Eliminated | CandStatus::Excluded => false,
        }
    }

    fn value(&self, i: usize) -> Dec {
        match self.fractions.get(i) {
            Some(f) if !f.is_empty() => f.iter().fold(Dec::ONE, |acc, (_, v)| acc.minus(*v)),
            _ => Dec::ONE,
        }
    }

    fn new_tally(&self, round: u32) -> RoundTally {
        let keys: Vec<Cand> = (0..self.contest.names.len() as Cand)
            .filter(|c| self.is_continuing(*c))
            .collect();
        RoundTally::new(round, self.contest.names.len(), keys)
    }

    fn winning_threshold(&self) -> Dec {
        let tally = &self.rounds[self.round as usize - 1];
        let total = tally.active();
        let r = self.rules;
        let mut threshold = if r.mode == WinnerMode::BottomsUpPercentageThreshold {
            total.times(r.bottoms_up_fraction)
        } else {
            let divisor = Dec::from_int(i64::from(if r.hare_quota {
                r.number_of_winners
            } else {
                r.number_of_winners + 1
            }));
            let decimals = if r.non_integer_threshold {
                r.decimal_places
            } else {
                0
            };
            let augend = Dec::new(1, decimals);
            if r.hare_quota {
                total.div(divisor, decimals, Rounding::Up)
            } else {
                total.div(divisor, decimals, Rounding::Down).plus(augend)
            }
        };
        let min = r.minimum_vote_threshold;
        if min.signum() == 1 && min.cmp_num(threshold) == Ordering::Greater {
            threshold = min;
        }
        threshold
    }

    /// `buildTallyToCandidates`: ascending tallies, candidates in tally iteration order.
    fn tally_groups(&self, round: u32) -> Vec<(Dec, Vec<Cand>)> {
        let tally = &self.rounds[round as usize - 1];
        group_by_tally(tally, &tally.candidates(self.contest))
    }

    fn identify_winners(&mut self, groups: &[(Dec, Vec<Cand>)]) -> Result<Vec<Cand>, TallyError> {
        let tally = &self.rounds[self.round as usize - 1];
        let r = self.rules;
        if let Some(uwi) = self.contest.uwi
            && tally.tally(uwi).is_some_and(|t| t.signum() != 0)
        {
            return Ok(Vec::new());
        }
        let mut selected: Vec<Cand> = Vec::new();
        if r.mode == WinnerMode::BottomsUpPercentageThreshold {
            let cands = tally.candidates(self.contest);
            let above = cands
                .iter()
                .filter(|c| {
                    tally
                        .tally(**c)
                        .unwrap_or(Dec::ZERO)
                        .cmp_num(tally.threshold)
                        .is_gt()
                })
                .count();
            if above == tally.len() {
                selected = cands;
            }
            return Ok(selected);
        }
        let unfilled = r.number_of_winners as i64 - self.winners.len() as i64;
        if unfilled > 0 {
            if tally.len() as i64 <= unfilled {
                selected = tally.candidates(self.contest);
            } else if r.first_round_determines_threshold
                && tally.len() as i64 - 1 == i64::from(r.number_of_winners)
            {
                selected = groups.last().map(|g| g.1.clone()).unwrap_or_default();
            } else if r.mode != WinnerMode::BottomsUp {
                for (votes, cands) in groups {
                    if votes.cmp_num(tally.threshold).is_ge() {
                        selected.extend(cands.iter().filter(|c| Some(**c) != self.contest.uwi));
                    }
                }
            }
        }
        let multiple = selected.len() > 1
            && (r.mode == WinnerMode::MultiOnlyOneWinnerPerRound
                || r.first_round_determines_threshold);
        let none = r.number_of_winners == 1
            && selected.is_empty()
            && tally.len() == 2
            && unfilled == 1
            && groups
                .iter()
                .all(|g| g.0.cmp_num(r.minimum_vote_threshold).is_ge());
        if (multiple || none)
            && let Some((votes, top)) = groups.last()
        {
            selected = top.clone();
            if selected.len() > 1 {
                let w = self.tiebreak(true, selected.clone(), *votes)?;
                selected = vec![w];
            }
        }
        Ok(selected)
    }

    fn distribute_surplus(&mut self, winner: Cand) {
        let tally = &self.rounds[self.round as usize - 1];
        let votes = tally.tally(winner).unwrap_or(Dec::ZERO);
        let extra = votes.minus(tally.threshold);
        let fraction = if extra.signum() == 1 {
            self.rules.divide(extra, votes)
        } else {
            Dec::ZERO
        };
        for i in 0..self.ballots.len() {
            if self.recipient[i] == winner {
                let value = self.value(i);
                let transfer = self.rules.multiply(value, fraction);
                let allocated = value.minus(transfer);
                let f = &mut self.fractions[i];
                if let Some(e) = f.iter_mut().find(|e| e.0 == winner) {
                    e.1 = allocated;
                } else {
                    f.push((winner, allocated));
                }
            }
        }
    }

    fn choose_eliminations(
        &mut self,
        groups: &[(Dec, Vec<Cand>)],
    ) -> Result<Vec<Cand>, TallyError> {
        let round = self.round;
        // 1. Undeclared write-ins go first.
        if let Some(uwi) = self.contest.uwi
            && self.rounds[round as usize - 1]
                .tally(uwi)
                .is_some_and(|t| t.signum() == 1)
        {
            return Ok(vec![uwi]);
        }
        // 2. Everyone below the minimum vote threshold.
        let min = self.rules.minimum_vote_threshold;
        let mut eliminated = Vec::new();
        if min.signum() == 1 && groups.first().is_some_and(|g| g.0.cmp_num(min).is_lt()) {
            for (votes, cands) in groups {
                if votes.cmp_num(min).is_lt() {
                    eliminated.extend(cands.iter().copied());
                } else {
                    break;
                }
            }
            if eliminated.len() == self.contest.num_declared() {
                return Err(TallyError::AllBelowMinimumThreshold { round });
            }
        }
        // 2b. Bottoms-up with cutoff: everyone not above the percentage threshold at once.
        if eliminated.is_empty()
            && self.rules.cutoff_elimination
            && self.rules.mode == WinnerMode::BottomsUpPercentageThreshold
        {
            let threshold = self.rounds[round as usize - 1].threshold;
            for (votes, cands) in groups {
                if !votes.cmp_num(threshold).is_gt() {
                    eliminated.extend(cands.iter().copied());
                }
            }
        }
        // 3. Batch elimination.
        if eliminated.is_empty() && self.rules.batch_elimination {
            let batch = self.batch_elimination(groups);
            if batch.len() > 1 {
                eliminated = batch;
            }
        }
        // 4. The lowest, breaking a tie if needed.
        if eliminated.is_empty()
            && let Some((votes, last)) = groups.first()
        {
            if last.len() > 1 {
                eliminated.push(self.tiebreak(false, last.clone(), *votes)?);
            } else if let Some(only) = last.first() {
                eliminated.push(*only);
            }
        }
        if eliminated.is_empty() {
            return Err(TallyError::NoElimination { round });
        }
        Ok(eliminated)
    }

    fn batch_elimination(&self, groups: &[(Dec, Vec<Cand>)]) -> Vec<Cand> {
        let mut running = Dec::ZERO;
        let mut seen: Vec<Cand> = Vec::new();
        let mut eliminations: Vec<Cand> = Vec::new();
        let mut previous: Vec<Cand> = Vec::new();
        for (votes, cands) in groups {
            let mut new = eliminations.clone();
            if running.cmp_num(*votes).is_lt() {
                for c in &seen {
                    if !new.contains(c) {
                        new.push(*c);
                    }
                }
            }
            let total = self
                .rules
                .multiply(*votes, Dec::from_int(cands.len() as i64));
            running = running.plus(total);
            seen.extend(cands.iter().copied());
            if new.len() > eliminations.len() {
                previous = std::mem::replace(&mut eliminations, new);
            }
        }
        if self.rules.continue_until_two
            && eliminations.len() + self.eliminated.len() + 1 == self.contest.num_candidates()
        {
            eliminations = previous;
        }
        eliminations
    }

    fn tiebreak(&mut self, winner: bool, tied: Vec<Cand>, votes: Dec) -> Result<Cand, TallyError> {
        let chosen = self.break_tie(winner, tied, votes)?;
        self.tie_broken.push(chosen);
        Ok(chosen)
    }

    fn break_tie(
        &mut self,
        winner: bool,
        mut tied: Vec<Cand>,
        _votes: Dec,
    ) -> Result<Cand, TallyError> {
        let c = self.contest;
        tied.sort_by(|a, b| java::compare_strings(c.name(*a), c.name(*b)));
        let round = self.round;
        match self.rules.tiebreak {
            TiebreakMode::StopCountingAndAsk => Err(self.ask(&tied)),
            TiebreakMode::Random => Ok(self.random_pick(&tied)),
            TiebreakMode::UseCandidateOrder | TiebreakMode::GeneratePermutation => {
                let found = if winner {
                    self.permutation.iter().find(|p| tied.contains(p))
                } else {
                    self.permutation.iter().rev().find(|p| tied.contains(p))
                };
                Ok(found.copied().unwrap_or(tied[0]))
            }
            TiebreakMode::PreviousRoundCountsThenRandom
            | TiebreakMode::PreviousRoundCountsThenAsk => {
                let mut contention = tied;
                let mut r = round.saturating_sub(1);
                while r > 0 {
                    let names: Vec<&str> = contention.iter().map(|x| c.name(*x)).collect();
                    let order = java::hash_order(&names, java::copy_capacity(names.len()));
                    let ordered: Vec<Cand> = order.iter().map(|i| contention[*i]).collect();
                    let groups = group_by_tally(&self.rounds[r as usize - 1], &ordered);
                    let pick = if winner {
                        groups.last()
                    } else {
                        groups.first()
                    };
                    if let Some((_, g)) = pick {
                        contention = g.clone();
                    }
                    if contention.len() == 1 {
                        return Ok(contention[0]);
                    }
                    r -= 1;
                }
                if self.rules.tiebreak == TiebreakMode::PreviousRoundCountsThenAsk {
                    Err(self.ask(&contention))
                } else {
                    Ok(self.random_pick(&contention))
                }
            }
        }
    }

    fn ask(&self, tied: &[Cand]) -> TallyError {
        TallyError::TiebreakNeedsOperator {
            round: self.round,
            candidates: tied
                .iter()
                .map(|c| self.contest.name(*c).to_string())
                .collect(),
        }
    }

    fn random_pick(&mut self, tied: &[Cand]) -> Cand {
        // Tiebreak.doRandom: floor(nextDouble() * size). The seed is validated with the rules,
        // so the generator exists whenever the mode draws from it.
        let rng = self.rng.get_or_insert_with(|| JavaRandom::new(0));
        let idx = (rng.next_double() * tied.len() as f64).floor() as usize;
        tied[idx.min(tied.len() - 1)]
    }

    fn record(
        &mut self,
        i: usize,
        tally: &mut RoundTally,
        slices: &mut [Vec<RoundTally>],
        selected: Option<Cand>,
        status: Status,
    ) {
        let v = self.value(i);
        let round = tally.round;
        let from = match self.recipient[i] {
            NOBODY => Flow::Uncounted,
            c => Flow::Cand(c),
        };
        let to = selected.map_or(Flow::Exhausted, Flow::Cand);
        if v.signum() == 1 {
            self.transfers.record(round, from, to, v);
            for k in 0..self.slice_kinds.len() {
                if let Some(s) = self.slice_of[k][i] {
                    self.slice_transfers[k][s as usize].record(round, from, to, v);
                }
            }
        }
        self.recipient[i] = selected.unwrap_or(NOBODY);
        if selected.is_none() {
            self.status[i] = status;
        }
        if status != Status::Active {
            tally.add_inactive(status, v);
            for (k, per_slice) in slices.iter_mut().enumerate() {
                if let Some(s) = self.slice_of[k][i] {
                    per_slice[s as usize].add_inactive(status, v);
                }
            }
        }
        if self.snapshots.is_some() {
            let mut data: Snapshot = self.fractions.get(i).cloned().unwrap_or_default();
            if let Some(c) = selected {
                data.push((c, v));
            }
            if let Some(s) = self.snapshots.as_mut() {
                s[i].push((round, data));
            }
        }
    }

    fn increment(&self, i: usize, tally: &mut RoundTally, slices: &mut [Vec<RoundTally>], c: Cand) {
        let v = self.value(i);
        tally.add_candidate(c, v);
        for (k, per_slice) in slices.iter_mut().enumerate() {
            if let Some(s) = self.slice_of[k][i] {
                per_slice[s as usize].add_candidate(c, v);
            }
        }
    }

    fn overvote_decision(&self, choices: &[(u32, Cand)]) -> Result<Overvote, TallyError> {
        let rule = self.rules.overvote;
        if choices.iter().any(|c| c.1 == OVERVOTE) {
            if choices.len() != 1 {
                return Err(TallyError::OvervoteWithOtherChoices);
            }
            return Ok(if rule == OvervoteRule::ExhaustImmediately {
                Overvote::Exhaust
            } else {
                Overvote::Skip
            });
        }
        if choices.len() <= 1 {
            return Ok(Overvote::None);
        }
        Ok(match rule {
            OvervoteRule::ExhaustImmediately => Overvote::Exhaust,
            OvervoteRule::AlwaysSkipToNextRank => Overvote::Skip,
            OvervoteRule::ExhaustIfMultipleContinuing => {
                let continuing = choices.iter().filter(|c| self.is_continuing(c.1)).count();
                if continuing >= 2 {
                    Overvote::Exhaust
                } else {
                    Overvote::None
                }
            }
        })
    }

    fn compute_round(&mut self) -> Result<RoundTally, TallyError> {
        let round = self.round;
        let mut tally = self.new_tally(round);
        let mut slices: Vec<Vec<RoundTally>> = self
            .slice_ids
            .iter()
            .map(|ids| ids.iter().map(|_| self.new_tally(round)).collect())
            .collect();
        let ballots = self.ballots;
        let final_surplus = self.rules.uses_surpluses()
            && self.winners.len() as u32 == self.rules.number_of_winners;
        // Whole ballots that stay where they were are only counted here and added to the tally
        // once at the end: exact sums are the same in any order, and `Dec` addition keeps the
        // larger scale, so value and scale come out as adding them one by one would.
        // The same per slice: `[kind][slice]` → counts per candidate, and per status.
        let n = self.contest.names.len();
        let mut whole_to: Vec<u64> = vec![0; n];
        let mut whole_inactive = [0u64; 7];
        let mut slice_to: Vec<Vec<Vec<u64>>> = slices
            .iter()
            .map(|per| vec![vec![0; n]; per.len()])
            .collect();
        let mut slice_inactive: Vec<Vec<[u64; 7]>> =
            slices.iter().map(|per| vec![[0; 7]; per.len()]).collect();
        for i in 0..ballots.len() {
            let status = self.status[i];
            let whole = self.fractions.get(i).is_none_or(Vec::is_empty);
            if status != Status::Active && whole {
                whole_inactive[status as usize] += 1;
                for (k, per) in slice_inactive.iter_mut().enumerate() {
                    if let Some(s) = self.slice_of[k][i] {
                        per[s as usize][status as usize] += 1;
                    }
                }
                continue;
            }
            if status != Status::Active {
                let v = self.value(i);
                tally.add_inactive(status, v);
                for (k, per_slice) in slices.iter_mut().enumerate() {
                    if let Some(s) = self.slice_of[k][i] {
                        per_slice[s as usize].add_inactive(status, v);
                    }
                }
                continue;
            }
            let current = self.recipient[i];
            if current != NOBODY && self.is_continuing(current) {
                if whole {
                    whole_to[current as usize] += 1;
                    for (k, per) in slice_to.iter_mut().enumerate() {
                        if let Some(s) = self.slice_of[k][i] {
                            per[s as usize][current as usize] += 1;
                        }
                    }
                } else {
                    self.increment(i, &mut tally, &mut slices, current);
                }
                continue;
            }
            let marks = ballots.marks(i);
            if marks.is_empty() {
                self.record(
                    i,
                    &mut tally,
                    &mut slices,
                    None,
                    Status::DidNotRankAnyCandidates,
                );
                continue;
            }
            let max_rank = marks[marks.len() - 1].0;
            let mut last_rank = 0u32;
            let mut seen: Vec<Cand> = Vec::new();
            let mut start = 0;
            while start < marks.len() {
                let rank = marks[start].0;
                let end = start + marks[start..].iter().take_while(|m| m.0 == rank).count();
                let choices = &marks[start..end];
                start = end;
                if final_surplus {
                    self.record(i, &mut tally, &mut slices, None, Status::FinalRoundSurplus);
                    break;
                }
                if let Some(max_skip) = self.rules.max_skipped_ranks
                    && i64::from(rank) - i64::from(last_rank) > i64::from(max_skip) + 1
                {
                    let status = Status::InvalidatedBySkippedRanking;
                    self.record(i, &mut tally, &mut slices, None, status);
                    break;
                }
                last_rank = rank;
                if self.rules.exhaust_on_duplicate {
                    let mut duplicate = false;
                    for c in choices {
                        if seen.contains(&c.1) {
                            duplicate = true;
                            break;
                        }
                        seen.push(c.1);
                    }
                    if duplicate {
                        self.record(
                            i,
                            &mut tally,
                            &mut slices,
                            None,
                            Status::InvalidatedByRepeatedRanking,
                        );
                        break;
                    }
                }
                match self.overvote_decision(choices)? {
                    Overvote::Exhaust => {
                        self.record(
                            i,
                            &mut tally,
                            &mut slices,
                            None,
                            Status::InvalidatedByOvervote,
                        );
                        break;
                    }
                    Overvote::Skip => {
                        if rank == max_rank {
                            self.record(i, &mut tally, &mut slices, None, Status::ExhaustedChoice);
                        }
                        continue;
                    }
                    Overvote::None => {}
                }
                if let Some(c) = choices.iter().map(|c| c.1).find(|c| self.is_continuing(*c)) {
                    self.record(i, &mut tally, &mut slices, Some(c), Status::Active);
                    self.increment(i, &mut tally, &mut slices, c);
                    break;
                }
                if rank == max_rank {
                    self.record(i, &mut tally, &mut slices, None, Status::ExhaustedChoice);
                }
            }
        }
        add_counts(&mut tally, &whole_to, &whole_inactive);
        for (k, per_slice) in slices.into_iter().enumerate() {
            for (s, mut t) in per_slice.into_iter().enumerate() {
                add_counts(&mut t, &slice_to[k][s], &slice_inactive[k][s]);
                self.slice_rounds[k][s].push(t);
            }
        }
        Ok(tally)
    }

    fn winner_names_order(&self) -> Vec<(Cand, u32)> {
        let names: Vec<&str> = self
            .winners
            .iter()
            .map(|w| self.contest.name(w.0))
            .collect();
        java::hash_order(&names, java::default_capacity(names.len()))
            .into_iter()
            .map(|i| self.winners[i])
            .collect()
    }

    fn update_winner_tallies(&mut self) {
        let round = self.round;
        let r = round as usize - 1;
        let mut to_process = Vec::new();
        let mut requiring = Vec::new();
        for (w, won) in self.winner_names_order() {
            if won == round {
                continue;
            }
            to_process.push(w);
            if won + 1 == round {
                requiring.push(w);
            }
        }
        for w in &to_process {
            let v = if requiring.contains(w) {
                Dec::ZERO
            } else {
                self.rounds[r - 1].tally(*w).unwrap_or(Dec::ZERO)
            };
            self.rounds[r].set_via_surplus(*w, v);
            for kind in &mut self.slice_rounds {
                for slice in kind.iter_mut() {
                    let v = if requiring.contains(w) {
                        Dec::ZERO
                    } else {
                        slice[r - 1].tally(*w).unwrap_or(Dec::ZERO)
                    };
                    slice[r].set_via_surplus(*w, v);
                }
            }
        }
        if requiring.is_empty() {
            return;
        }
        for i in 0..self.ballots.len() {
            for (w, v) in &self.fractions[i] {
                if !requiring.contains(w) {
                    continue;
                }
                let cur = self.rounds[r].tally(*w).unwrap_or(Dec::ZERO);
                self.rounds[r].set_via_surplus(*w, cur.plus(*v));
                for k in 0..self.slice_kinds.len() {
                    if let Some(s) = self.slice_of[k][i] {
                        let t = &mut self.slice_rounds[k][s as usize][r];
                        let cur = t.tally(*w).unwrap_or(Dec::ZERO);
                        t.set_via_surplus(*w, cur.plus(*v));
                    }
                }
            }
        }
        for w in requiring {
            let t = &self.rounds[r];
            let residual = t.tally(w).unwrap_or(Dec::ZERO).minus(t.threshold);
            if residual.signum() == 1 {
                self.residual[r] = self.residual[r].plus(residual);
                let threshold = self.rounds[r].threshold;
                self.rounds[r].set_via_surplus(w, threshold);
                self.transfers
                    .record(round, Flow::Cand(w), Flow::Residual, residual);
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Overvote {
    None,
    Exhaust,
    Skip,
}

/// Groups `cands` by their tally in `tally`, ascending; each group keeps `cands` order.
fn group_by_tally(tally: &RoundTally, cands: &[Cand]) -> Vec<(Dec, Vec<Cand>)> {
    let mut groups: Vec<(Dec, Vec<Cand>)> = Vec::new();
    for c in cands {
        let v = tally.tally(*c).unwrap_or(Dec::ZERO);
        match groups.iter_mut().find(|g| g.0.cmp_num(v).is_eq()) {
            Some(g) => g.1.push(*c),
            None => groups.push((v, vec![*c])),
        }
    }
    groups.sort_by(|a, b| a.0.cmp_num(b.0));
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{OvervoteRule, Rules, TiebreakMode};

    fn rules(tiebreak: TiebreakMode) -> Rules {
        Rules {
            mode: WinnerMode::SingleWinnerMajority,
            tiebreak,
            random_seed: 0,
            overvote: OvervoteRule::ExhaustImmediately,
            number_of_winners: 1,
            bottoms_up_fraction: Dec::ZERO,
            decimal_places: 4,
            minimum_vote_threshold: Dec::ZERO,
            max_skipped_ranks: None,
            max_rankings: 3,
            non_integer_threshold: false,
            first_round_determines_threshold: false,
            hare_quota: false,
            batch_elimination: false,
            cutoff_elimination: false,
            continue_until_two: false,
            exhaust_on_duplicate: false,
            stop_after_round: None,
        }
    }

    fn contest() -> Contest {
        Contest {
            names: vec!["A".into(), "B".into(), "C".into()],
            excluded: vec![false; 3],
            uwi: None,
        }
    }

    fn run(ballots: &[&[(u32, Cand)]], tiebreak: TiebreakMode) -> Result<Outcome, TallyError> {
        let mut b = Ballots::default();
        for (i, marks) in ballots.iter().enumerate() {
            b.push(i.to_string(), None, None, marks.to_vec());
        }
        let (c, r) = (contest(), rules(tiebreak));
        let setup = Setup {
            contest: &c,
            rules: &r,
            permutation: vec![0, 1, 2],
            slices: vec![],
            record_snapshots: false,
        };
        tabulate(setup, &b)
    }

    #[test]
    fn irv_transfers_and_overvotes() {
        // A 2, B 2 (one then C), C 1 then B, one overvote: C goes, B wins with 3 of 5 active.
        let out = run(
            &[
                &[(1, 0)],
                &[(1, 0)],
                &[(1, 1), (2, 2)],
                &[(1, 1)],
                &[(1, 2), (2, 1)],
                &[(1, 0), (1, 1)],
            ],
            TiebreakMode::UseCandidateOrder,
        )
        .unwrap();
        assert_eq!(out.winners, vec![(1, 2)]);
        assert_eq!(out.eliminated, vec![(2, 1)]);
        assert_eq!(
            out.rounds[0]
                .status(Status::InvalidatedByOvervote)
                .to_string(),
            "1"
        );
        assert_eq!(
            out.rounds[1].tally(1).map(|d| d.to_string()).as_deref(),
            Some("3")
        );
    }

    #[test]
    fn operator_tiebreak_is_refused() {
        let err = run(
            &[&[(1, 0)], &[(1, 1)], &[(1, 2)]],
            TiebreakMode::StopCountingAndAsk,
        )
        .unwrap_err();
        assert!(matches!(
            err,
            TallyError::TiebreakNeedsOperator { round: 1, .. }
        ));
    }
}
