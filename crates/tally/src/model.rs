//! Contest rules and cast vote records as the tabulator sees them.

use crate::decimal::Dec;

/// A candidate index into [`Contest::names`].
pub type Cand = u16;

/// A ranking mark that is RCTab's explicit overvote label, not a candidate.
pub const OVERVOTE: Cand = u16::MAX;

/// Most candidates a contest may have (indexes are `u16`, two values reserved).
pub const CANDIDATES_MAX: usize = 60_000;

/// Label RCTab uses for all undeclared write-ins.
pub const UWI_LABEL: &str = "Undeclared Write-ins";

/// How winners are chosen (`rules.winnerElectionMode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WinnerMode {
    /// `singleWinnerMajority`
    SingleWinnerMajority,
    /// `multiWinnerAllowOnlyOneWinnerPerRound`
    MultiOnlyOneWinnerPerRound,
    /// `multiWinnerAllowMultipleWinnersPerRound`
    MultiMultipleWinnersPerRound,
    /// `bottomsUp`
    BottomsUp,
    /// `bottomsUpUsingPercentageThreshold`
    BottomsUpPercentageThreshold,
    /// `multiPassIrv`
    MultiPassIrv,
}

/// How ties are broken (`rules.tiebreakMode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TiebreakMode {
    /// `random`
    Random,
    /// `stopCountingAndAsk`: refused in non-interactive use.
    StopCountingAndAsk,
    /// `previousRoundCountsThenRandom`
    PreviousRoundCountsThenRandom,
    /// `previousRoundCountsThenAsk`
    PreviousRoundCountsThenAsk,
    /// `useCandidateOrder`
    UseCandidateOrder,
    /// `generatePermutation`
    GeneratePermutation,
}

impl TiebreakMode {
    /// Whether this mode draws from the seeded generator.
    pub fn needs_random_seed(self) -> bool {
        matches!(
            self,
            TiebreakMode::Random
                | TiebreakMode::PreviousRoundCountsThenRandom
                | TiebreakMode::GeneratePermutation
        )
    }
}

/// What an overvote does to a ballot (`rules.overvoteRule`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OvervoteRule {
    /// `alwaysSkipToNextRank`
    AlwaysSkipToNextRank,
    /// `exhaustImmediately`
    ExhaustImmediately,
    /// `exhaustIfMultipleContinuing`
    ExhaustIfMultipleContinuing,
}

/// Tabulation rules, already validated.
#[derive(Clone, Debug)]
pub struct Rules {
    pub mode: WinnerMode,
    pub tiebreak: TiebreakMode,
    pub random_seed: i64,
    pub overvote: OvervoteRule,
    pub number_of_winners: u32,
    /// Bottoms-up percentage as a fraction (15 % → 0.15).
    pub bottoms_up_fraction: Dec,
    pub decimal_places: u32,
    pub minimum_vote_threshold: Dec,
    /// `None` means unlimited.
    pub max_skipped_ranks: Option<u32>,
    pub max_rankings: u32,
    pub non_integer_threshold: bool,
    pub first_round_determines_threshold: bool,
    pub hare_quota: bool,
    pub batch_elimination: bool,
    /// Bottoms-up with a percentage threshold: drop everyone under it in one round.
    pub cutoff_elimination: bool,
    pub continue_until_two: bool,
    pub exhaust_on_duplicate: bool,
    /// `None` means never stop early.
    pub stop_after_round: Option<u32>,
}

impl Rules {
    /// Multi-seat contests that transfer surpluses (RCTab `usesSurpluses`).
    pub fn uses_surpluses(&self) -> bool {
        self.number_of_winners > 1 && self.mode != WinnerMode::BottomsUp
    }

    /// `isSingleWinnerEnabled`.
    pub fn is_single_winner(&self) -> bool {
        self.mode == WinnerMode::SingleWinnerMajority
    }

    /// `config.divide`.
    pub fn divide(&self, a: Dec, b: Dec) -> Dec {
        a.div(b, self.decimal_places, crate::decimal::Rounding::Down)
    }

    /// `config.multiply`.
    pub fn multiply(&self, a: Dec, b: Dec) -> Dec {
        a.times(b)
            .set_scale(self.decimal_places, crate::decimal::Rounding::Down)
    }
}

/// Candidates of one contest.
#[derive(Clone, Debug)]
pub struct Contest {
    /// Declared candidates in config order, then [`UWI_LABEL`] when write-ins are tallied.
    pub names: Vec<String>,
    pub excluded: Vec<bool>,
    /// Index of the undeclared write-in pseudo-candidate, if any.
    pub uwi: Option<Cand>,
}

impl Contest {
    /// RCTab `getNumCandidates`: non-excluded candidates, write-ins included.
    pub fn num_candidates(&self) -> usize {
        self.excluded.iter().filter(|e| !**e).count()
    }

    /// RCTab `getNumDeclaredCandidates`.
    pub fn num_declared(&self) -> usize {
        self.num_candidates() - usize::from(self.uwi.is_some())
    }

    /// Name of a candidate index.
    pub fn name(&self, c: Cand) -> &str {
        if c == OVERVOTE {
            "overvote"
        } else {
            &self.names[c as usize]
        }
    }
}

/// Identifiers a vendor export gives a ballot besides its RCTab id.
#[derive(Clone, Debug, Default)]
pub struct BallotExtra {
    pub vendor_id: Option<String>,
    pub tabulator_id: Option<String>,
    pub precinct_portion: Option<String>,
}

/// All cast vote records of a contest, stored flat so a million ballots stay small.
#[derive(Clone, Debug, Default)]
pub struct Ballots {
    /// Supplied (or computed) record id per ballot.
    pub ids: Vec<String>,
    /// Precinct index per ballot into `precinct_names`.
    pub precinct: Vec<Option<u32>>,
    pub precinct_names: Vec<String>,
    /// Batch index per ballot into `batch_names`.
    pub batch: Vec<Option<u32>>,
    pub batch_names: Vec<String>,
    /// `(rank, choice)` for all ballots, each ballot's run sorted by rank.
    marks: Vec<(u32, Cand)>,
    /// Per mark, the index into `spellings` of the text the CVR used (alias or label).
    mark_spellings: Vec<u32>,
    /// Distinct choice texts as written in the CVRs.
    pub spellings: Vec<String>,
    spelling_lookup: std::collections::HashMap<String, u32>,
    starts: Vec<u32>,
    /// Index of the CVR source each ballot came from.
    pub source: Vec<u16>,
    /// Source that ballots pushed now come from.
    pub current_source: u16,
    /// Vendor identifiers, only for ballots that have any and only when `keep_extra`.
    pub extra: Vec<Option<Box<BallotExtra>>>,
    /// Whether to keep vendor identifiers (only the normalised CVR CSV shows them; they cost
    /// memory at millions of ballots).
    pub keep_extra: bool,
    precinct_lookup: std::collections::HashMap<String, u32>,
    batch_lookup: std::collections::HashMap<String, u32>,
}

impl Ballots {
    /// An empty set that keeps vendor identifiers or not.
    pub fn with_vendor_ids(keep: bool) -> Ballots {
        Ballots {
            keep_extra: keep,
            ..Ballots::default()
        }
    }

    /// Adds one ballot; `marks` are `(rank, choice)` in reading order, sorted here by rank
    /// (stable). Ranks start at 1; readers refuse 0.
    pub fn push(
        &mut self,
        id: String,
        precinct: Option<&str>,
        batch: Option<&str>,
        marks: Vec<(u32, Cand)>,
    ) {
        let spelled = marks.into_iter().map(|(r, c)| (r, c, u32::MAX)).collect();
        self.push_spelled(id, precinct, batch, spelled);
    }

    /// Like [`Ballots::push`] without taking ownership of the marks (readers reuse one buffer
    /// for every ballot).
    pub fn push_marks(
        &mut self,
        id: String,
        precinct: Option<&str>,
        batch: Option<&str>,
        marks: &[(u32, Cand)],
    ) {
        let start = self.marks.len();
        self.starts.push(start as u32);
        self.marks.extend_from_slice(marks);
        // Stable, as in `push_spelled` (no allocation for a ballot's few marks).
        self.marks[start..].sort_by_key(|m| m.0);
        self.mark_spellings
            .extend(std::iter::repeat_n(u32::MAX, marks.len()));
        self.ids.push(id);
        self.source.push(self.current_source);
        self.extra.push(None);
        let p = precinct.map(|p| intern(&mut self.precinct_names, &mut self.precinct_lookup, p));
        self.precinct.push(p);
        let b = batch.map(|b| intern(&mut self.batch_names, &mut self.batch_lookup, b));
        self.batch.push(b);
    }

    /// Sets the vendor identifiers of the ballot pushed last.
    pub fn set_last_extra(&mut self, extra: BallotExtra) {
        if !self.keep_extra {
            return;
        }
        if let Some(last) = self.extra.last_mut() {
            *last = Some(Box::new(extra));
        }
    }

    /// Interns a choice text as written in a CVR (for exports that show it).
    pub fn spelling(&mut self, text: &str) -> u32 {
        intern(&mut self.spellings, &mut self.spelling_lookup, text)
    }

    /// Like [`Ballots::push`], with each mark's spelling (`u32::MAX`: the candidate's name).
    pub fn push_spelled(
        &mut self,
        id: String,
        precinct: Option<&str>,
        batch: Option<&str>,
        mut marks: Vec<(u32, Cand, u32)>,
    ) {
        // Stable, as RCTab's `List.sort`; a choice repeated at one rank is kept twice (RCTab's
        // ranking is a list, so the repeat counts as an overvote).
        marks.sort_by_key(|m| m.0);
        self.starts.push(self.marks.len() as u32);
        self.marks.extend(marks.iter().map(|m| (m.0, m.1)));
        self.mark_spellings.extend(marks.iter().map(|m| m.2));
        self.ids.push(id);
        self.source.push(self.current_source);
        self.extra.push(None);
        let p = precinct.map(|p| intern(&mut self.precinct_names, &mut self.precinct_lookup, p));
        self.precinct.push(p);
        let b = batch.map(|b| intern(&mut self.batch_names, &mut self.batch_lookup, b));
        self.batch.push(b);
    }

    /// Number of ballots.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are no ballots.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Marks of ballot `i`, sorted by rank.
    pub fn marks(&self, i: usize) -> &[(u32, Cand)] {
        let start = self.starts[i] as usize;
        let end = self
            .starts
            .get(i + 1)
            .map_or(self.marks.len(), |e| *e as usize);
        &self.marks[start..end]
    }

    /// Spellings of ballot `i`'s marks (parallel to [`Ballots::marks`]); `None` where the CVR
    /// used the candidate's own name.
    pub fn mark_spelling(&self, i: usize, k: usize) -> Option<&str> {
        let start = self.starts[i] as usize;
        match self.mark_spellings.get(start + k) {
            Some(&s) if s != u32::MAX => self.spellings.get(s as usize).map(String::as_str),
            _ => None,
        }
    }

    /// Forgets how the CVRs spelled each choice, so exports name candidates as the config does.
    pub fn forget_spellings(&mut self) {
        self.mark_spellings.fill(u32::MAX);
    }

    /// Appends all ballots of `other` (keeping their sources, spellings and vendor ids).
    pub fn append(&mut self, other: Ballots) {
        let saved = self.current_source;
        self.keep_extra |= other.keep_extra;
        for i in 0..other.len() {
            let p = other.precinct[i].map(|p| other.precinct_names[p as usize].as_str());
            let b = other.batch[i].map(|b| other.batch_names[b as usize].as_str());
            let marks: Vec<(u32, Cand, u32)> = other
                .marks(i)
                .iter()
                .enumerate()
                .map(|(k, (r, c))| {
                    let spelled = other
                        .mark_spelling(i, k)
                        .map_or(u32::MAX, |t| self.spelling(t));
                    (*r, *c, spelled)
                })
                .collect();
            self.current_source = other.source[i];
            self.push_spelled(other.ids[i].clone(), p, b, marks);
            if let Some(extra) = &other.extra[i] {
                self.set_last_extra((**extra).clone());
            }
        }
        self.current_source = saved;
    }
}

fn intern(
    names: &mut Vec<String>,
    lookup: &mut std::collections::HashMap<String, u32>,
    name: &str,
) -> u32 {
    if let Some(pos) = lookup.get(name) {
        return *pos;
    }
    names.push(name.to_string());
    let pos = (names.len() - 1) as u32;
    lookup.insert(name.to_string(), pos);
    pos
}
