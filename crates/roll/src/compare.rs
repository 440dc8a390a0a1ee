//! Comparisons on opened records: whether two records are the same person (after a blind-index
//! match, which is only a candidate), and which kinds of update a change makes.

use crate::audit::UpdateReason;
use crate::crypto::{normalize_id, normalize_name};
use crate::record::{Status, VoterRecord};

/// Why two records look like the same person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DuplicateMatch {
    /// Same DL / state ID number (normalized).
    DlNumber,
    /// Same SSN4, date of birth and last name. SSN4 and DOB alone are shared by strangers often
    /// enough at state scale that the name is required too.
    Ssn4DobLastName,
}

/// Confirms a duplicate candidate on plaintext; `None` if the records are different people by
/// these rules. A record is never its own duplicate.
pub fn duplicate(a: &VoterRecord, b: &VoterRecord) -> Option<DuplicateMatch> {
    if a.voter_id == b.voter_id {
        return None;
    }
    let (sa, sb) = (&a.sensitive, &b.sensitive);
    let norm = |d: &Option<String>| d.as_deref().map(normalize_id).filter(|d| !d.is_empty());
    if norm(&sa.dl_number).is_some() && norm(&sa.dl_number) == norm(&sb.dl_number) {
        return Some(DuplicateMatch::DlNumber);
    }
    let ssn = sa.ssn4.is_some() && sa.ssn4 == sb.ssn4;
    if ssn && sa.dob == sb.dob && normalize_name(&a.name.last) == normalize_name(&b.name.last) {
        return Some(DuplicateMatch::Ssn4DobLastName);
    }
    None
}

/// The update reasons a change from `before` to `after` makes, in code order. Status changes
/// to cancelled are removals, not updates, and are left out; an unchanged record gives none.
pub fn update_reasons(before: &VoterRecord, after: &VoterRecord) -> Vec<UpdateReason> {
    let mut out = Vec::new();
    if before.residence != after.residence || before.mailing != after.mailing {
        out.push(UpdateReason::AddressChange);
    }
    if before.name != after.name {
        out.push(UpdateReason::NameChange);
    }
    if before.party != after.party {
        out.push(UpdateReason::PartyChange);
    }
    match (before.status, after.status) {
        (Status::Active, Status::Inactive(_)) => out.push(UpdateReason::MadeInactive),
        (Status::Inactive(_) | Status::Cancelled(_), Status::Active) => {
            out.push(UpdateReason::Reactivated)
        }
        _ => {}
    }
    let other = before.sensitive != after.sensitive
        || before.precinct != after.precinct
        || before.districts != after.districts
        || before.language != after.language
        || before.registered_on != after.registered_on;
    if other {
        out.push(UpdateReason::Correction);
    }
    if before.history != after.history {
        out.push(UpdateReason::VotingHistory);
    }
    out
}
