//! Duplicate confirmation and update classification.
mod common;

use urne_roll::audit::UpdateReason;
use urne_roll::compare::{DuplicateMatch, duplicate, update_reasons};
use urne_roll::record::*;

#[test]
fn duplicates() {
    let a = common::sample();
    let mut b = common::sample();
    assert_eq!(duplicate(&a, &b), None, "same record");
    b.voter_id = "V2".into();
    assert_eq!(duplicate(&a, &b), Some(DuplicateMatch::DlNumber));
    b.sensitive.dl_number = Some("d-1234567".into());
    assert_eq!(
        duplicate(&a, &b),
        Some(DuplicateMatch::DlNumber),
        "normalized"
    );
    b.sensitive.dl_number = None;
    assert_eq!(duplicate(&a, &b), Some(DuplicateMatch::Ssn4DobLastName));
    b.name.last = "DE LA CRUZ".into();
    assert_eq!(duplicate(&a, &b), Some(DuplicateMatch::Ssn4DobLastName));
    b.name.last = "Reyes".into();
    assert_eq!(duplicate(&a, &b), None, "SSN4 and DOB alone are not enough");
    let mut c = b.clone();
    c.sensitive.ssn4 = None;
    let mut d = c.clone();
    d.voter_id = "V3".into();
    assert_eq!(duplicate(&c, &d), None, "no IDs, no match");
}

#[test]
fn update_kinds() {
    let a = common::sample();
    assert_eq!(update_reasons(&a, &a), []);
    let mut b = a.clone();
    b.residence.line1 = "9 Elm St".into();
    b.party = None;
    b.status = Status::Inactive(InactiveReason::MailReturned);
    assert_eq!(
        update_reasons(&a, &b),
        [
            UpdateReason::AddressChange,
            UpdateReason::PartyChange,
            UpdateReason::MadeInactive
        ]
    );
    assert_eq!(update_reasons(&b, &a)[2], UpdateReason::Reactivated);
    let mut c = a.clone();
    c.sensitive.phone = None;
    c.history.clear();
    c.name.middle = None;
    assert_eq!(
        update_reasons(&a, &c),
        [
            UpdateReason::NameChange,
            UpdateReason::Correction,
            UpdateReason::VotingHistory
        ]
    );
    let mut gone = a.clone();
    gone.status = Status::Cancelled(RemovalReason::Death);
    assert_eq!(update_reasons(&a, &gone), []);
}
