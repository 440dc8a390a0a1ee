//! Differences between two snapshots: what changed between two releases, and how two
//! snapshots of the same election at different levels (county file vs precinct file) disagree.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::model::{CountType, UnitKind, VoteCount};
use crate::validate::{ValidSnapshot, unit_totals};

/// One count that differs. `None` means absent on that side.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CountChange {
    pub contest: String,
    pub unit: String,
    pub choice: String,
    pub kind: CountType,
    pub round: Option<u32>,
    pub old: Option<u64>,
    pub new: Option<u64>,
}

impl CountChange {
    /// `new - old`, absent counted as zero.
    pub fn delta(&self) -> i128 {
        i128::from(self.new.unwrap_or(0)) - i128::from(self.old.unwrap_or(0))
    }

    /// A count that went down or disappeared. Publishing one needs a correction reason.
    pub fn is_decrease(&self) -> bool {
        self.delta() < 0
    }
}

/// What changed from `old` to `new`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotDiff {
    /// Every count that differs, in (contest, unit, choice, kind, round) order.
    pub changes: Vec<CountChange>,
    /// Units with at least one changed count, sorted, unique.
    pub units_changed: Vec<String>,
    pub contests_added: Vec<String>,
    pub contests_removed: Vec<String>,
    /// True when the report status or a unit's facts changed.
    pub metadata_changed: bool,
}

impl SnapshotDiff {
    /// The changes that lower a count (the publish step requires a correction reason).
    pub fn decreases(&self) -> impl Iterator<Item = &CountChange> {
        self.changes.iter().filter(|c| c.is_decrease())
    }
}

/// Compares two releases count by count.
pub fn diff(old: &ValidSnapshot, new: &ValidSnapshot) -> SnapshotDiff {
    let mut out = SnapshotDiff {
        metadata_changed: old.status != new.status
            || old.units.len() != new.units.len()
            || old
                .units
                .iter()
                .zip(&new.units)
                .any(|(a, b)| a.id != b.id || a.facts != b.facts),
        ..SnapshotDiff::default()
    };
    let mut units = std::collections::BTreeSet::new();
    for c in &old.contests {
        if new.contest(&c.id).is_none() {
            out.contests_removed.push(c.id.clone());
        }
    }
    for c in &new.contests {
        if old.contest(&c.id).is_none() {
            out.contests_added.push(c.id.clone());
        }
    }
    let ids: std::collections::BTreeSet<&str> = old
        .contests
        .iter()
        .chain(&new.contests)
        .map(|c| c.id.as_str())
        .collect();
    // Releases of one election nearly always list the same units: then positions compare
    // like ids.
    let same_units = old.units.len() == new.units.len()
        && old.units.iter().zip(&new.units).all(|(a, b)| a.id == b.id);
    let empty: &[VoteCount] = &[];
    for id in ids {
        // Both sides' counts are sorted by key, which is id order: one merge walk.
        let (ca, cb) = (old.contest(id), new.contest(id));
        let same_choices = match (ca, cb) {
            (Some(x), Some(y)) => {
                x.choices.len() == y.choices.len()
                    && x.choices.iter().zip(&y.choices).all(|(a, b)| a.id == b.id)
            }
            // One side has no counts: no two keys are compared.
            _ => true,
        };
        let a = ca.map_or(empty, |c| &c.counts);
        let b = cb.map_or(empty, |c| &c.counts);
        let key_a = |vc: &VoteCount| {
            let choice = ca.map_or("", |c| c.choice_id(vc.choice));
            (old.unit_id(vc.unit), choice)
        };
        let key_b = |vc: &VoteCount| {
            let choice = cb.map_or("", |c| c.choice_id(vc.choice));
            (new.unit_id(vc.unit), choice)
        };
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            let order = match (a.get(i), b.get(j)) {
                (Some(x), Some(y)) if same_units && same_choices => x.key().cmp(&y.key()),
                (Some(x), Some(y)) => key_a(x)
                    .cmp(&key_b(y))
                    .then_with(|| (x.kind, x.round).cmp(&(y.kind, y.round))),
                (Some(_), None) => Ordering::Less,
                _ => Ordering::Greater,
            };
            let ((unit, choice), vc, o, n) = match order {
                Ordering::Less => {
                    i += 1;
                    let vc = &a[i - 1];
                    (key_a(vc), vc, Some(vc.votes), None)
                }
                Ordering::Greater => {
                    j += 1;
                    let vc = &b[j - 1];
                    (key_b(vc), vc, None, Some(vc.votes))
                }
                Ordering::Equal => {
                    i += 1;
                    j += 1;
                    let vc = &b[j - 1];
                    (key_b(vc), vc, Some(a[i - 1].votes), Some(vc.votes))
                }
            };
            if o != n {
                units.insert(unit.to_owned());
                out.changes.push(CountChange {
                    contest: id.to_owned(),
                    unit: unit.to_owned(),
                    choice: choice.to_owned(),
                    kind: vc.kind,
                    round: vc.round,
                    old: o,
                    new: n,
                });
            }
        }
    }
    out.units_changed = units.into_iter().collect();
    out
}

/// For every unit of `kind` and contest present in both snapshots, compares the exact totals
/// (`Total` count type, first round) per choice: each side's own counts where it has them,
/// else the sum of its sub-units. Returns the differing ones, `old` = `a`, `new` = `b`.
///
/// Used to reconcile a county-level file against the precinct file of the same election.
pub fn reconcile(a: &ValidSnapshot, b: &ValidSnapshot, kind: UnitKind) -> Vec<CountChange> {
    let mut out = Vec::new();
    for ca in &a.contests {
        let Some(cb) = b.contest(&ca.id) else {
            continue;
        };
        for unit in a.units.iter().filter(|u| u.kind == kind) {
            if b.unit(&unit.id).is_none() {
                continue;
            }
            let ta = unit_totals(a, ca, &unit.id)
                .ok()
                .flatten()
                .unwrap_or_default();
            let tb = unit_totals(b, cb, &unit.id)
                .ok()
                .flatten()
                .unwrap_or_default();
            if ta.is_empty() && tb.is_empty() {
                continue;
            }
            let pick = |t: &crate::validate::Totals| -> BTreeMap<String, u64> {
                let first = t
                    .keys()
                    .filter(|k| k.1 == CountType::Total)
                    .map(|k| k.2)
                    .min();
                t.iter()
                    .filter(|(k, _)| k.1 == CountType::Total && Some(k.2) == first)
                    .map(|(k, v)| (k.0.clone(), *v))
                    .collect()
            };
            let (pa, pb) = (pick(&ta), pick(&tb));
            let choices: std::collections::BTreeSet<&String> = pa.keys().chain(pb.keys()).collect();
            for ch in choices {
                let (x, y) = (pa.get(ch).copied(), pb.get(ch).copied());
                if x != y {
                    out.push(CountChange {
                        contest: ca.id.clone(),
                        unit: unit.id.clone(),
                        choice: ch.clone(),
                        kind: CountType::Total,
                        round: None,
                        old: x,
                        new: y,
                    });
                }
            }
        }
    }
    out
}
