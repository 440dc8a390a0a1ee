//! Flat and summary CSV exports.

use std::io::Write;

use crate::model::{Contest, CountType, VoteCount};
use crate::validate::{ValidSnapshot, unit_totals};

/// A contest's counts grouped by choice, in the order of `contest.choices`.
pub(crate) fn counts_by_choice(contest: &Contest) -> Vec<Vec<&VoteCount>> {
    let mut out: Vec<Vec<&VoteCount>> = vec![Vec::new(); contest.choices.len()];
    for vc in &contest.counts {
        if let Some(choice) = out.get_mut(vc.choice as usize) {
            choice.push(vc);
        }
    }
    out
}

/// Header of [`export_flat_csv`].
pub const FLAT_CSV_HEADER: [&str; 11] = [
    "contest_id",
    "contest",
    "unit_id",
    "unit",
    "unit_kind",
    "choice_id",
    "choice",
    "party",
    "count_type",
    "round",
    "votes",
];

/// One row per unit × contest × choice × count type (× round), in canonical order.
pub fn export_flat_csv(snapshot: &ValidSnapshot, writer: impl Write) -> Result<(), csv::Error> {
    let mut w = csv::Writer::from_writer(writer);
    w.write_record(FLAT_CSV_HEADER)?;
    for c in &snapshot.contests {
        for vc in &c.counts {
            let unit = snapshot.units.get(vc.unit as usize);
            let choice = c.choices.get(vc.choice as usize);
            let party = choice
                .and_then(|ch| ch.party.as_deref())
                .and_then(|p| snapshot.party(p));
            let round = vc.round.map(|r| r.to_string()).unwrap_or_default();
            let votes = vc.votes.to_string();
            w.write_record([
                c.id.as_str(),
                c.name.as_str(),
                unit.map_or("", |u| u.id.as_str()),
                unit.map_or("", |u| u.name.as_str()),
                unit.map_or("", |u| u.kind.as_str()),
                choice.map_or("", |ch| ch.id.as_str()),
                choice.map_or("", |ch| ch.name.as_str()),
                party.map_or("", |p| p.name.as_str()),
                vc.kind.as_str(),
                round.as_str(),
                votes.as_str(),
            ])?;
        }
    }
    w.flush()?;
    Ok(())
}

/// Header of [`export_summary_csv`].
pub const SUMMARY_CSV_HEADER: [&str; 7] = [
    "contest_id",
    "contest",
    "district",
    "choice_id",
    "choice",
    "party",
    "votes",
];

/// One row per contest × choice: the total votes in the contest's district, aggregated
/// exactly from the units below it where the district itself has no counts (first round for
/// RCV). A choice with no data in the district gets an empty `votes`.
pub fn export_summary_csv(snapshot: &ValidSnapshot, writer: impl Write) -> Result<(), csv::Error> {
    let mut w = csv::Writer::from_writer(writer);
    w.write_record(SUMMARY_CSV_HEADER)?;
    for c in &snapshot.contests {
        let totals = unit_totals(snapshot, c, &c.district)
            .ok()
            .flatten()
            .unwrap_or_default();
        let first_round = totals
            .keys()
            .filter(|k| k.1 == CountType::Total)
            .map(|k| k.2)
            .min();
        for ch in &c.choices {
            let votes = first_round
                .and_then(|r| totals.get(&(ch.id.clone(), CountType::Total, r)))
                .map(|v| v.to_string())
                .unwrap_or_default();
            let party = ch.party.as_deref().and_then(|p| snapshot.party(p));
            w.write_record([
                c.id.as_str(),
                c.name.as_str(),
                c.district.as_str(),
                ch.id.as_str(),
                ch.name.as_str(),
                party.map_or("", |p| p.name.as_str()),
                votes.as_str(),
            ])?;
        }
    }
    w.flush()?;
    Ok(())
}
