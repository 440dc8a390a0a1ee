//! The story tests every roll backend runs: [`roll_suite`] takes a fresh, empty backend (a new
//! SQLite file, a new PostgreSQL schema) and a way to run raw SQL against it (for the
//! tampering stories), and panics with the story's name on failure. Compiled into the library
//! so each backend's `tests/` share it; production code never calls it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use urne_roll::audit::{AdditionSource, UpdateReason};
use urne_roll::lookup::LookupQuery;
use urne_roll::record::{RemovalReason, Status, VoterRecord};
use urne_roll::rules::Role;
use urne_roll::synth::Synth;
use urne_roll::{Date, MasterKey, PublicStatus};

use crate::service::day_of;
use crate::{
    Applied, ImportError, ImportSummary, Policy, Roll, RollBackend, RollStoreError, RowError,
    Session, StatusChange,
};

/// Runs raw SQL against the backend under test (tampering stories); returns the error text if
/// the database refused it.
pub type RawSql =
    Arc<dyn Fn(String) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

/// A fixed "today" for the stories: 2026-06-01 12:00 UTC.
pub fn today() -> u64 {
    let d = Date::new(2026, 6, 1).map_or(0, Date::days_since_epoch);
    (d * 86_400 + 43_200) as u64
}

/// Unix seconds of noon UTC on `d`.
pub fn noon(d: Date) -> u64 {
    (d.days_since_epoch() * 86_400 + 43_200) as u64
}

/// A test master key (fixed bytes: tests only).
pub fn test_master() -> MasterKey {
    MasterKey::from_bytes([7u8; 32])
}

/// `n` synthetic voters, as of 2026-06-01, from `seed`.
pub fn synthetic(seed: u64, n: usize) -> Vec<VoterRecord> {
    let as_of = Date::new(2026, 6, 1).unwrap_or(Date::EPOCH);
    let mut s = Synth::new(seed, as_of, "CA");
    (0..n).map(|_| s.record()).collect()
}

/// Rows for [`Roll::import`] from records, numbered from line 2 (after a header).
pub fn rows(
    records: Vec<VoterRecord>,
) -> impl Iterator<Item = Result<(u64, VoterRecord), RowError>> + Send + 'static {
    records
        .into_iter()
        .enumerate()
        .map(|(i, r)| Ok((i as u64 + 2, r)))
}

/// Runs every story against an empty backend.
pub async fn roll_suite(db: Arc<dyn RollBackend>, raw: RawSql) {
    let roll = Roll::open(db.clone(), &test_master(), Some("ca-test"))
        .await
        .unwrap_or_else(|e| panic!("open: {e}"));
    wrong_key_refused(db.clone()).await;
    let staff = staff_accounts(&roll).await;
    import_is_all_or_nothing(&roll, &staff).await;
    import_needs_role_and_approver(&roll, &staff).await;
    let voters = synthetic(11, 120);
    let summary = roll
        .import(
            &staff.supervisor,
            Some(&staff.supervisor2),
            AdditionSource::Mail,
            rows(voters.clone()),
            &(),
            today(),
        )
        .await
        .unwrap_or_else(|e| panic!("import: {e}"));
    assert_eq!(summary.records, 120, "import count");
    lookup_same_shape(&roll, &voters).await;
    role_matrix(&roll, &staff, &voters).await;
    bulk_needs_second_supervisor(&roll, &staff, &voters).await;
    ninety_day_window(&roll, &staff, &voters).await;
    non_voting_refused(&roll, &staff, &voters).await;
    digest_counts(&roll).await;
    audit_detects_tampering(&roll, &raw).await;
}

async fn wrong_key_refused(db: Arc<dyn RollBackend>) {
    match Roll::open(db, &MasterKey::from_bytes([8u8; 32]), None).await {
        Err(RollStoreError::WrongKey) => {}
        other => panic!("wrong_key_refused: expected WrongKey, got {other:?}"),
    }
}

/// Imports follow the role matrix and the bulk rule: a viewer may not import; a clerk may up
/// to the threshold; above it a supervisor needs a second, different supervisor; a refused
/// import leaves nothing behind.
async fn import_needs_role_and_approver(roll: &Roll, staff: &Accounts) {
    let story = "import_needs_role_and_approver";
    let mut recs = synthetic(8, 101);
    for r in &mut recs {
        r.voter_id = format!("Z{}", &r.voter_id[1..]);
    }
    let before = roll.backend().voter_count().await.ok();
    let refused = |r: Result<ImportSummary, ImportError>, what: &str| match r {
        Err(ImportError::Store(RollStoreError::Refused(e))) => e.to_string(),
        other => panic!("{story}: {what}: expected a refusal, got {other:?}"),
    };
    let import = |by: Session, approver: Option<Session>, recs: Vec<VoterRecord>| async move {
        roll.import(
            &by,
            approver.as_ref(),
            AdditionSource::Mail,
            rows(recs),
            &(),
            today(),
        )
        .await
    };
    let viewer = refused(
        import(staff.viewer.clone(), None, recs[..1].to_vec()).await,
        "viewer",
    );
    assert!(viewer.contains("viewer may not edit"), "{story}: {viewer}");
    // 101 records, over the default threshold of 100.
    let clerk = refused(
        import(staff.clerk.clone(), None, recs.clone()).await,
        "clerk",
    );
    assert!(clerk.contains("may not bulk-change"), "{story}: {clerk}");
    let alone = refused(
        import(staff.supervisor.clone(), None, recs.clone()).await,
        "no approver",
    );
    assert!(
        alone.contains("needs a second approver"),
        "{story}: {alone}"
    );
    let own = refused(
        import(
            staff.supervisor.clone(),
            Some(staff.supervisor.clone()),
            recs.clone(),
        )
        .await,
        "self-approval",
    );
    assert!(own.contains("different person"), "{story}: {own}");
    let by_clerk = refused(
        import(
            staff.supervisor.clone(),
            Some(staff.clerk.clone()),
            recs.clone(),
        )
        .await,
        "clerk approver",
    );
    assert!(
        by_clerk.contains("approver role clerk"),
        "{story}: {by_clerk}"
    );
    assert_eq!(
        roll.backend().voter_count().await.ok(),
        before,
        "{story}: a refused import left records"
    );
    // Up to the threshold a clerk imports alone.
    let s = import(staff.clerk.clone(), None, recs[..100].to_vec())
        .await
        .unwrap_or_else(|e| panic!("{story}: clerk import of 100: {e}"));
    assert_eq!(s.records, 100, "{story}");
    let s = import(
        staff.supervisor.clone(),
        Some(staff.supervisor2.clone()),
        recs[100..].to_vec(),
    )
    .await
    .unwrap_or_else(|e| panic!("{story}: approved import: {e}"));
    assert_eq!(s.records, 1, "{story}");
}

/// A failing import commits nothing; a clean one, then one repeating an id (the second
/// commits nothing). Expects an empty roll.
pub async fn import_is_all_or_nothing(roll: &Roll, staff: &Accounts) {
    let story = "import_is_all_or_nothing";
    let mut recs = synthetic(5, 30);
    for r in &mut recs {
        r.voter_id = format!("X{}", &r.voter_id[1..]);
    }
    recs[4].residence.zip = "9021".into();
    recs[20].voter_id = recs[3].voter_id.clone();
    let err = roll
        .import(
            &staff.clerk,
            None,
            AdditionSource::Mail,
            rows(recs),
            &(),
            today(),
        )
        .await;
    match err {
        Err(ImportError::Rows(rows)) => {
            let lines: Vec<u64> = rows.iter().map(|r| r.line).collect();
            assert_eq!(lines, vec![6, 22], "{story}: bad lines {rows:?}");
            assert!(
                rows[0].message.contains("residence.zip"),
                "{story}: {rows:?}"
            );
        }
        other => panic!("{story}: expected row errors, got {other:?}"),
    }
    assert_eq!(roll.backend().voter_count().await.ok(), Some(0), "{story}");
    let report = roll
        .audit()
        .await
        .unwrap_or_else(|e| panic!("{story}: {e}"));
    assert_eq!(report.events.len, 0, "{story}: events left behind");
    // A clean batch then a second import repeating one id: the second commits nothing.
    let mut recs = synthetic(6, 3);
    for r in &mut recs {
        r.voter_id = format!("Y{}", &r.voter_id[1..]);
    }
    let again = vec![recs[1].clone()];
    roll.import(
        &staff.clerk,
        None,
        AdditionSource::Mail,
        rows(recs),
        &(),
        today(),
    )
    .await
    .unwrap_or_else(|e| panic!("{story}: {e}"));
    let err = roll
        .import(
            &staff.clerk,
            None,
            AdditionSource::Mail,
            rows(again),
            &(),
            today(),
        )
        .await;
    assert!(
        matches!(err, Err(ImportError::Rows(ref r)) if r[0].line == 2),
        "{story}: repeat id: {err:?}"
    );
    assert_eq!(roll.backend().voter_count().await.ok(), Some(3), "{story}");
}

/// One account per role, plus a second supervisor.
#[derive(Debug)]
pub struct Accounts {
    /// Viewer.
    pub viewer: Session,
    /// Clerk.
    pub clerk: Session,
    /// Supervisor.
    pub supervisor: Session,
    /// Another supervisor.
    pub supervisor2: Session,
    /// Admin.
    pub admin: Session,
}

const PASSWORD: &str = "correct horse battery staple";

/// Creates one account per role (the first story of the suite).
pub async fn staff_accounts(roll: &Roll) -> Accounts {
    let story = "staff_accounts";
    let op = Roll::operator();
    roll.add_staff(&op, "ada", Role::Admin, PASSWORD, today())
        .await
        .unwrap_or_else(|e| panic!("{story}: {e}"));
    let admin = roll
        .login("ada", PASSWORD)
        .await
        .unwrap_or_else(|e| panic!("{story}: {e}"));
    for (id, role) in [
        ("vic", Role::Viewer),
        ("cleo", Role::Clerk),
        ("sam", Role::Supervisor),
        ("sue", Role::Supervisor),
    ] {
        roll.add_staff(&admin, id, role, PASSWORD, today())
            .await
            .unwrap_or_else(|e| panic!("{story}: {e}"));
    }
    assert!(
        matches!(
            roll.login("cleo", "wrong password!!").await,
            Err(RollStoreError::Credentials)
        ),
        "{story}: wrong password"
    );
    assert!(
        matches!(
            roll.login("nobody", PASSWORD).await,
            Err(RollStoreError::Credentials)
        ),
        "{story}: unknown id"
    );
    let login = |id: &'static str| async move {
        roll.login(id, PASSWORD)
            .await
            .unwrap_or_else(|e| panic!("{story}: {e}"))
    };
    let accounts = Accounts {
        viewer: login("vic").await,
        clerk: login("cleo").await,
        supervisor: login("sam").await,
        supervisor2: login("sue").await,
        admin,
    };
    // Tokens: the secret works, only its hash is stored, a disabled account's token fails.
    let token = roll
        .mint_token(&accounts.viewer, today())
        .await
        .unwrap_or_else(|e| panic!("{story}: {e}"));
    let s = roll
        .session_for_token(token.danger_secret())
        .await
        .unwrap_or_else(|e| panic!("{story}: {e}"));
    assert_eq!(s.id(), "vic", "{story}");
    assert!(
        roll.session_for_token("urne_rt_00").await.is_err(),
        "{story}"
    );
    roll.add_staff(&accounts.admin, "gone", Role::Clerk, PASSWORD, today())
        .await
        .unwrap_or_else(|e| panic!("{story}: {e}"));
    let gone = roll
        .login("gone", PASSWORD)
        .await
        .unwrap_or_else(|e| panic!("{story}: {e}"));
    let t = roll
        .mint_token(&gone, today())
        .await
        .unwrap_or_else(|e| panic!("{story}: {e}"));
    roll.disable_staff(&accounts.admin, "gone", today())
        .await
        .unwrap_or_else(|e| panic!("{story}: {e}"));
    assert!(
        roll.session_for_token(t.danger_secret()).await.is_err(),
        "{story}: disabled"
    );
    assert!(
        roll.login("gone", PASSWORD).await.is_err(),
        "{story}: disabled login"
    );
    accounts
}

fn query_for(r: &VoterRecord) -> LookupQuery {
    let dob = r.sensitive.dob.to_string();
    LookupQuery::new(&r.name.last, &r.name.first, &dob, &r.residence.zip)
        .unwrap_or_else(|e| panic!("query: {e}"))
}

async fn lookup_same_shape(roll: &Roll, voters: &[VoterRecord]) {
    let story = "lookup_same_shape";
    let op = Roll::operator();
    let places: Vec<(String, String)> = voters
        .iter()
        .map(|v| (v.precinct.clone(), format!("School {} gym", v.precinct)))
        .collect::<std::collections::BTreeMap<_, _>>()
        .into_iter()
        .collect();
    roll.set_polling_places(&op, &places, today())
        .await
        .unwrap_or_else(|e| panic!("{story}: {e}"));
    let active = voters
        .iter()
        .find(|v| v.status == Status::Active)
        .unwrap_or_else(|| panic!("{story}: no active voter"));
    let found = roll
        .lookup(&query_for(active))
        .await
        .unwrap_or_else(|e| panic!("{story}: {e}"));
    assert_eq!(found.status(), PublicStatus::Active, "{story}");
    assert_eq!(found.precinct(), active.precinct, "{story}");
    assert_eq!(
        found.polling_place(),
        format!("School {} gym", active.precinct),
        "{story}"
    );
    // Accents, case and punctuation typed differently still match.
    let q = LookupQuery::new(
        &active.name.last.to_uppercase(),
        &format!(" {} ", active.name.first.to_lowercase()),
        &active.sensitive.dob.to_string(),
        &format!("{}-1234", active.residence.zip),
    )
    .unwrap_or_else(|e| panic!("{story}: {e}"));
    assert_eq!(
        roll.lookup(&q).await.ok().map(|a| a.status()),
        Some(PublicStatus::Active),
        "{story}"
    );
    let mut wrong = active.clone();
    wrong.sensitive.dob = Date::new(1901, 1, 1).unwrap_or(Date::EPOCH);
    let missing = roll
        .lookup(&query_for(&wrong))
        .await
        .unwrap_or_else(|e| panic!("{story}: {e}"));
    assert_eq!(missing.status(), PublicStatus::NotRegistered, "{story}");
    assert_eq!(
        found.to_json().len(),
        missing.to_json().len(),
        "{story}: same length"
    );
    let cancelled = voters
        .iter()
        .find(|v| matches!(v.status, Status::Cancelled(_)));
    if let Some(c) = cancelled {
        let a = roll
            .lookup(&query_for(c))
            .await
            .unwrap_or_else(|e| panic!("{story}: {e}"));
        assert_eq!(
            a.status(),
            PublicStatus::NotRegistered,
            "{story}: cancelled"
        );
    }
}

/// The role matrix as data: each row is a role, then `+` (allowed) or `-` (refused) for read,
/// read-pii, edit, bulk-change, approve-bulk, manage-staff, exercised through the store.
pub const ROLE_MATRIX: &str = "\
viewer     + - - - - -
clerk      + + + - - -
supervisor + + + + + -
admin      + - - - - +
";

async fn role_matrix(roll: &Roll, a: &Accounts, voters: &[VoterRecord]) {
    let story = "role_matrix";
    roll.set_policy(
        &a.admin,
        &Policy {
            bulk: urne_roll::rules::BulkPolicy {
                records_without_approver_max: 2,
            },
            federal_elections: Vec::new(),
        },
        today(),
    )
    .await
    .unwrap_or_else(|e| panic!("{story}: {e}"));
    let mut got = String::new();
    for (i, (name, s)) in [
        ("viewer", &a.viewer),
        ("clerk", &a.clerk),
        ("supervisor", &a.supervisor),
        ("admin", &a.admin),
    ]
    .into_iter()
    .enumerate()
    {
        let v = &voters[10 + i];
        let mut cells = Vec::new();
        let read = roll
            .read_voter(s, &v.voter_id, "role matrix test", today())
            .await;
        cells.push(read.is_ok());
        cells.push(
            read.as_ref()
                .is_ok_and(|r| r.sensitive.as_ref() == Some(&v.sensitive)),
        );
        let mut edited = v.clone();
        edited.language = "fr".into();
        let edit = roll
            .update_voter(s, &edited, UpdateReason::Correction, today())
            .await;
        cells.push(edit.is_ok());
        let set: Vec<StatusChange> = voters[30 + 3 * i..33 + 3 * i]
            .iter()
            .map(|v| StatusChange::Inactivate {
                voter_id: v.voter_id.clone(),
                reason: urne_roll::record::InactiveReason::MailReturned,
            })
            .collect();
        let bulk = roll.submit_changes(s, &set, today()).await;
        cells.push(matches!(bulk, Ok(Applied::Pending { .. })));
        // Approve a set someone else (the other supervisor) submitted.
        let other = if s.id() == "sue" {
            &a.supervisor
        } else {
            &a.supervisor2
        };
        let theirs = roll.submit_changes(other, &set, today()).await;
        let approved = match theirs {
            Ok(Applied::Pending { id, .. }) => roll.approve(s, id, today()).await.is_ok(),
            other => panic!("{story}: submit by supervisor: {other:?}"),
        };
        cells.push(approved);
        let add = roll
            .add_staff(s, &format!("new-{name}"), Role::Viewer, PASSWORD, today())
            .await;
        cells.push(add.is_ok());
        let row: Vec<&str> = cells.iter().map(|c| if *c { "+" } else { "-" }).collect();
        got.push_str(&format!("{name:<10} {}\n", row.join(" ")));
    }
    assert_eq!(got, ROLE_MATRIX, "{story}: role × action");
}

async fn bulk_needs_second_supervisor(roll: &Roll, a: &Accounts, voters: &[VoterRecord]) {
    let story = "bulk_needs_second_supervisor";
    let set: Vec<StatusChange> = voters[50..53]
        .iter()
        .map(|v| StatusChange::Remove {
            voter_id: v.voter_id.clone(),
            reason: RemovalReason::ListMaintenanceProgram,
        })
        .collect();
    let before = roll
        .audit()
        .await
        .unwrap_or_else(|e| panic!("{story}: {e}"))
        .events;
    assert!(
        matches!(
            roll.submit_changes(&a.clerk, &set, today()).await,
            Err(RollStoreError::Refused(_))
        ),
        "{story}: clerk may not submit bulk"
    );
    let id = match roll.submit_changes(&a.supervisor, &set, today()).await {
        Ok(Applied::Pending { id, records: 3 }) => id,
        other => panic!("{story}: expected pending, got {other:?}"),
    };
    let after_submit = roll
        .audit()
        .await
        .unwrap_or_else(|e| panic!("{story}: {e}"))
        .events;
    assert_eq!(before, after_submit, "{story}: pending changes nothing");
    for (who, s) in [
        ("requester", &a.supervisor),
        ("clerk", &a.clerk),
        ("admin", &a.admin),
    ] {
        let r = roll.approve(s, id, today()).await;
        assert!(
            matches!(r, Err(RollStoreError::Refused(_))),
            "{story}: {who} approved: {r:?}"
        );
    }
    let done = roll
        .approve(&a.supervisor2, id, today())
        .await
        .unwrap_or_else(|e| panic!("{story}: {e}"));
    assert_eq!(
        (done.records, done.approver.as_str()),
        (3, "sue"),
        "{story}"
    );
    let after = roll
        .audit()
        .await
        .unwrap_or_else(|e| panic!("{story}: {e}"))
        .events;
    assert_eq!(after.len, before.len + 3, "{story}: three events");
    let v = roll
        .read_voter(&a.viewer, &voters[51].voter_id, "check removal", today())
        .await
        .unwrap_or_else(|e| panic!("{story}: {e}"));
    assert_eq!(
        v.clear.status,
        Status::Cancelled(RemovalReason::ListMaintenanceProgram),
        "{story}"
    );
    assert!(
        roll.approve(&a.supervisor2, id, today()).await.is_err(),
        "{story}: twice"
    );
    // A set at the threshold applies at once for a clerk.
    let small: Vec<StatusChange> = voters[54..56]
        .iter()
        .map(|v| StatusChange::Reactivate {
            voter_id: v.voter_id.clone(),
        })
        .collect();
    let r = roll.submit_changes(&a.clerk, &small, today()).await;
    assert!(
        matches!(r, Ok(Applied::Done { records: 2 })),
        "{story}: {r:?}"
    );
}

async fn ninety_day_window(roll: &Roll, a: &Accounts, voters: &[VoterRecord]) {
    let story = "ninety_day_window";
    let election = Date::new(2026, 11, 3).unwrap_or(Date::EPOCH);
    roll.set_policy(
        &a.admin,
        &Policy {
            bulk: urne_roll::rules::BulkPolicy {
                records_without_approver_max: 2,
            },
            federal_elections: vec![election],
        },
        today(),
    )
    .await
    .unwrap_or_else(|e| panic!("{story}: {e}"));
    let day = |offset: i64| {
        noon(Date::from_days_since_epoch(election.days_since_epoch() - offset).unwrap_or(election))
    };
    let remove = |v: &VoterRecord, reason| StatusChange::Remove {
        voter_id: v.voter_id.clone(),
        reason,
    };
    let sys = [remove(&voters[60], RemovalReason::Duplicate)];
    let before = roll
        .audit()
        .await
        .unwrap_or_else(|e| panic!("{story}: {e}"))
        .events;
    for offset in [89, 30, 1, 0] {
        let r = roll.submit_changes(&a.clerk, &sys, day(offset)).await;
        assert!(
            matches!(
                r,
                Err(RollStoreError::Refused(
                    urne_roll::Refused::NinetyDayWindow { .. }
                ))
            ),
            "{story}: {offset} days before: {r:?}"
        );
    }
    assert_eq!(
        roll.audit().await.ok().map(|r| r.events),
        Some(before),
        "{story}: unchanged"
    );
    // Successful changes in time order (the history never goes back in time).
    // A bulk set submitted outside the window...
    let set: Vec<StatusChange> = voters[63..66]
        .iter()
        .map(|v| remove(v, RemovalReason::ListMaintenanceProgram))
        .collect();
    let id = match roll.submit_changes(&a.supervisor, &set, day(95)).await {
        Ok(Applied::Pending { id, .. }) => id,
        other => panic!("{story}: {other:?}"),
    };
    // ... 90 days before is still open ...
    let r = roll.submit_changes(&a.clerk, &sys, day(90)).await;
    assert!(
        matches!(r, Ok(Applied::Done { .. })),
        "{story}: 90 days before: {r:?}"
    );
    // ... and approved inside the window is refused at approval.
    let r = roll.approve(&a.supervisor2, id, day(80)).await;
    assert!(
        matches!(r, Err(RollStoreError::Refused(_))),
        "{story}: approval in window: {r:?}"
    );
    assert!(day_of(day(80)) < election, "{story}");
    // Individual removals (death) are exempt; the day after the election is open again.
    let death = [remove(&voters[61], RemovalReason::Death)];
    let r = roll.submit_changes(&a.clerk, &death, day(10)).await;
    assert!(
        matches!(r, Ok(Applied::Done { .. })),
        "{story}: death: {r:?}"
    );
    let after = [remove(&voters[62], RemovalReason::ListMaintenanceProgram)];
    let r = roll.submit_changes(&a.clerk, &after, day(-1)).await;
    assert!(
        matches!(r, Ok(Applied::Done { .. })),
        "{story}: day after: {r:?}"
    );
}

async fn non_voting_refused(roll: &Roll, a: &Accounts, voters: &[VoterRecord]) {
    let story = "non_voting_refused";
    let set = [StatusChange::Remove {
        voter_id: voters[70].voter_id.clone(),
        reason: RemovalReason::NonVoting,
    }];
    // Far from any election, by a supervisor: still refused.
    let when = noon(Date::new(2027, 3, 1).unwrap_or(Date::EPOCH));
    let r = roll.submit_changes(&a.supervisor, &set, when).await;
    assert!(
        matches!(
            r,
            Err(RollStoreError::Refused(urne_roll::Refused::NonVoting))
        ),
        "{story}: {r:?}"
    );
    // The clock stepping back (a change stamped before the last event) does not break the
    // chain: the event takes the last event's time.
    let back = [StatusChange::Reactivate {
        voter_id: voters[71].voter_id.clone(),
    }];
    roll.submit_changes(&a.clerk, &back, today())
        .await
        .unwrap_or_else(|e| panic!("{story}: {e}"));
    roll.audit()
        .await
        .unwrap_or_else(|e| panic!("{story}: clock stepped back: {e}"));
}

async fn digest_counts(roll: &Roll) {
    let story = "digest_counts";
    let d = roll
        .digest(0, today() + 10 * 365 * 86_400)
        .await
        .unwrap_or_else(|e| panic!("{story}: {e}"));
    let report = roll
        .audit()
        .await
        .unwrap_or_else(|e| panic!("{story}: {e}"));
    assert_eq!(d.audit, report.events, "{story}: audit tip");
    assert_eq!(d.access, report.access, "{story}: access tip");
    // 120 voters + 3 from import_is_all_or_nothing + 101 from import_needs_role_and_approver.
    assert_eq!(d.records, 224, "{story}: records");
    assert_eq!(
        d.total(urne_roll::ChangeKind::Addition),
        224,
        "{story}: additions"
    );
    // 3 bulk list-maintenance + 1 death + 1 duplicate + 1 after the election.
    assert_eq!(
        d.total(urne_roll::ChangeKind::Removal),
        6,
        "{story}: removals"
    );
    let text = d.encode().unwrap_or_else(|e| panic!("{story}: {e}"));
    assert_eq!(
        urne_roll::RollDigest::decode(&text).ok().as_ref(),
        Some(&d),
        "{story}"
    );
}

async fn audit_detects_tampering(roll: &Roll, raw: &RawSql) {
    let story = "audit_detects_tampering";
    roll.audit()
        .await
        .unwrap_or_else(|e| panic!("{story}: clean roll: {e}"));
    for sql in [
        "UPDATE roll_events SET at = at + 1 WHERE seq = 3",
        "DELETE FROM roll_events WHERE seq = 3",
        "UPDATE roll_access SET actor = 'x' WHERE seq = 0",
        "DELETE FROM roll_access",
    ] {
        let r = raw(sql.to_owned()).await;
        assert!(r.is_err(), "{story}: append-only table accepted {sql}");
    }
    // An addition's event holds only the commitment to the row's record: replacing a record
    // that has no later event (and its commitment column with it) is still caught.
    for sql in [
        "CREATE TABLE keep_z1 AS SELECT s.sealed, v.commitment FROM roll_voters v \
         JOIN roll_sealed s ON s.voter_id = v.voter_id WHERE v.voter_id = 'Z000000001'",
        "UPDATE roll_sealed SET sealed = (SELECT sealed FROM roll_sealed WHERE voter_id = \
         'Z000000002') WHERE voter_id = 'Z000000001'",
        "UPDATE roll_voters SET commitment = (SELECT commitment FROM roll_voters WHERE \
         voter_id = 'Z000000002') WHERE voter_id = 'Z000000001'",
    ] {
        let r = raw(sql.to_owned()).await;
        assert!(r.is_ok(), "{story}: {sql}: {r:?}");
    }
    match roll.audit().await {
        Err(RollStoreError::Corrupt(m)) => assert!(
            m.contains("Z000000001") && m.contains("does not match its last event"),
            "{story}: {m}"
        ),
        other => panic!("{story}: replaced added record not detected: {other:?}"),
    }
    for sql in [
        "UPDATE roll_sealed SET sealed = (SELECT sealed FROM keep_z1) \
         WHERE voter_id = 'Z000000001'",
        "UPDATE roll_voters SET commitment = (SELECT commitment FROM keep_z1) \
         WHERE voter_id = 'Z000000001'",
        "DROP TABLE keep_z1",
    ] {
        let r = raw(sql.to_owned()).await;
        assert!(r.is_ok(), "{story}: {sql}: {r:?}");
    }
    roll.audit()
        .await
        .unwrap_or_else(|e| panic!("{story}: restored roll: {e}"));
    // The sealed record lives in a table of its own: a voter row without one is corrupt.
    for sql in [
        "CREATE TABLE keep_z2 AS SELECT voter_id, sealed FROM roll_sealed \
         WHERE voter_id = 'Z000000002'",
        "DELETE FROM roll_sealed WHERE voter_id = 'Z000000002'",
    ] {
        let r = raw(sql.to_owned()).await;
        assert!(r.is_ok(), "{story}: {sql}: {r:?}");
    }
    match roll.audit().await {
        Err(RollStoreError::Corrupt(m)) => assert!(
            m.contains("Z000000002") && m.contains("no sealed record"),
            "{story}: {m}"
        ),
        other => panic!("{story}: missing sealed record not detected: {other:?}"),
    }
    for sql in [
        "INSERT INTO roll_sealed (voter_id, sealed) SELECT voter_id, sealed FROM keep_z2",
        "DROP TABLE keep_z2",
    ] {
        let r = raw(sql.to_owned()).await;
        assert!(r.is_ok(), "{story}: {sql}: {r:?}");
    }
    roll.audit()
        .await
        .unwrap_or_else(|e| panic!("{story}: restored sealed record: {e}"));
    // Swap one voter's record for another's status without an event: the audit notices.
    for sql in [
        "UPDATE roll_voters SET status = 2 WHERE voter_id = 'V000000001'",
        "UPDATE roll_sealed SET sealed = (SELECT sealed FROM roll_sealed \
         WHERE voter_id = 'V000000002') WHERE voter_id = 'V000000001'",
    ] {
        let r = raw(sql.to_owned()).await;
        assert!(r.is_ok(), "{story}: raw update failed: {sql}: {r:?}");
    }
    match roll.audit().await {
        Err(RollStoreError::Corrupt(m)) => assert!(m.contains("V000000001"), "{story}: {m}"),
        other => panic!("{story}: tampering not detected: {other:?}"),
    }
}

/// Synthetic voters for the raw-file scan: every one has every sealed field, and SSN4 values
/// (only four digits) are chosen not to occur in any clear field of any record, so a hit in a
/// dump can only be a leak.
pub fn scan_records(seed: u64, n: usize) -> Vec<VoterRecord> {
    let mut recs = synthetic(seed, n);
    let mut clear = String::new();
    for r in &recs {
        let a = &r.residence;
        clear.push_str(&format!(
            "{} {} {} {} {} {} {} {} {:?} {} {}|",
            r.voter_id,
            r.name.first,
            r.name.last,
            a.line1,
            a.line2.as_deref().unwrap_or(""),
            a.city,
            a.zip,
            a.zip4.as_deref().unwrap_or(""),
            r.mailing,
            r.precinct,
            r.language,
        ));
        for d in &r.districts {
            clear.push_str(&d.id);
        }
        for h in &r.history {
            clear.push_str(&h.election_id);
        }
    }
    let mut next = 1000u32;
    for (i, r) in recs.iter_mut().enumerate() {
        let s = &mut r.sensitive;
        loop {
            next = (next * 7919 + 13) % 10_000;
            let ssn = format!("{next:04}");
            if !clear.contains(&ssn) {
                s.ssn4 = Some(ssn);
                break;
            }
        }
        s.dl_number
            .get_or_insert_with(|| format!("Q{:07}", 4_000_000 + i));
        s.phone
            .get_or_insert_with(|| format!("415{:07}", 5_550_000 + i));
        s.email
            .get_or_insert_with(|| format!("scan.voter{i}@example.org"));
    }
    recs
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Every encoding of every sealed value the scan looks for: `(what, bytes)`. The label names
/// the field and format, never the value.
pub fn pii_needles(records: &[VoterRecord]) -> Vec<(String, Vec<u8>)> {
    let mut clear_dates = std::collections::HashSet::new();
    for r in records {
        clear_dates.insert(r.registered_on);
        clear_dates.extend(r.history.iter().map(|h| h.date));
    }
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    let mut text = |label: &str, v: String| {
        let utf16: Vec<u8> = v.encode_utf16().flat_map(u16::to_le_bytes).collect();
        out.push((format!("{label} hex"), hex(v.as_bytes()).into_bytes()));
        out.push((format!("{label} utf-16le"), utf16));
        out.push((label.to_owned(), v.into_bytes()));
    };
    for r in records {
        let s = &r.sensitive;
        let (y, m, d) = (s.dob.year(), s.dob.month(), s.dob.day());
        text("dob iso", format!("{y:04}-{m:02}-{d:02}"));
        text("dob yyyymmdd", format!("{y:04}{m:02}{d:02}"));
        text("dob mm/dd/yyyy", format!("{m:02}/{d:02}/{y:04}"));
        text("dob m/d/yyyy", format!("{m}/{d}/{y:04}"));
        text("dob dd/mm/yyyy", format!("{d:02}/{m:02}/{y:04}"));
        text("dob dd.mm.yyyy", format!("{d:02}.{m:02}.{y:04}"));
        text("dob yyyy/mm/dd", format!("{y:04}/{m:02}/{d:02}"));
        text("dob mmddyyyy", format!("{m:02}{d:02}{y:04}"));
        if let Some(dl) = &s.dl_number {
            text("dl", dl.clone());
            text("dl lower", dl.to_lowercase());
            text(
                "dl digits",
                dl.chars().filter(char::is_ascii_digit).collect(),
            );
        }
        if let Some(ssn) = &s.ssn4 {
            text("ssn4", ssn.clone());
            text("ssn4 masked", format!("***-**-{ssn}"));
            text("ssn4 xxx", format!("XXX-XX-{ssn}"));
        }
        if let Some(p) = &s.phone {
            let (a, b, c) = (&p[0..3], &p[3..6], &p[6..]);
            text("phone digits", p.clone());
            text("phone dashed", format!("{a}-{b}-{c}"));
            text("phone dotted", format!("{a}.{b}.{c}"));
            text("phone parens", format!("({a}) {b}-{c}"));
            text("phone e164", format!("+1{p}"));
        }
        if let Some(e) = &s.email {
            text("email", e.clone());
            text("email upper", e.to_uppercase());
        }
    }
    for r in records {
        // The 4-byte wire date is also how clear dates (registration, history) are stored, so
        // it is only a leak for a date no clear field holds.
        let dob = r.sensitive.dob;
        if !clear_dates.contains(&dob) {
            let y = dob.year().to_be_bytes();
            let wire = vec![y[0], y[1], dob.month(), dob.day()];
            out.push(("dob wire hex".into(), hex(&wire).into_bytes()));
            out.push(("dob wire".into(), wire));
        }
    }
    out
}

/// Panics if any needle occurs in `haystack`, compared ASCII case-insensitively. In a text
/// dump (`text_dump`), binary columns are hex, so a needle made only of hex digits counts only
/// as a whole token (not inside a longer run of letters and digits): that is how a plaintext
/// value stored in a text or number column would show, while a hex run of ciphertext contains
/// every short digit string by chance.
pub fn assert_no_pii(what: &str, haystack: &[u8], needles: &[(String, Vec<u8>)], text_dump: bool) {
    use std::collections::HashMap;
    let hay = haystack.to_ascii_lowercase();
    let mut by_len: HashMap<usize, HashMap<Vec<u8>, &str>> = HashMap::new();
    for (label, n) in needles {
        by_len
            .entry(n.len())
            .or_default()
            .insert(n.to_ascii_lowercase(), label.as_str());
    }
    let alnum = |i: Option<&u8>| i.is_some_and(|b| b.is_ascii_alphanumeric());
    let mut hits: Vec<&str> = Vec::new();
    for (len, set) in &by_len {
        for (i, w) in hay.windows(*len).enumerate() {
            if let Some(label) = set.get(w) {
                let hexy = w.iter().all(u8::is_ascii_hexdigit);
                let inside =
                    alnum(i.checked_sub(1).and_then(|j| hay.get(j))) || alnum(hay.get(i + len));
                if !(text_dump && hexy && inside) {
                    hits.push(label);
                }
            }
        }
    }
    assert!(
        hits.is_empty(),
        "{what}: sealed values found in the raw data ({} hits; formats: {:?})",
        hits.len(),
        hits.iter().take(10).collect::<Vec<_>>()
    );
}

/// Imports the scan records into `roll` (open it with [`Roll::danger_open_seeded`] and a fixed
/// clock, so the stored bytes, and any chance occurrence of a 4-byte needle in ciphertext, are
/// the same on every run); returns them.
pub async fn import_scan_records(roll: &Roll, n: usize) -> Vec<VoterRecord> {
    let recs = scan_records(3, n);
    let op = Roll::operator();
    roll.add_staff(&op, "ada", Role::Admin, PASSWORD, today())
        .await
        .unwrap_or_else(|e| panic!("scan: {e}"));
    let admin = roll
        .login("ada", PASSWORD)
        .await
        .unwrap_or_else(|e| panic!("scan: {e}"));
    for (id, role) in [
        ("cleo", Role::Clerk),
        ("sam", Role::Supervisor),
        ("sue", Role::Supervisor),
    ] {
        roll.add_staff(&admin, id, role, PASSWORD, today())
            .await
            .unwrap_or_else(|e| panic!("scan: {e}"));
    }
    let login = |id: &'static str| async move {
        roll.login(id, PASSWORD)
            .await
            .unwrap_or_else(|e| panic!("scan: {e}"))
    };
    let clerk = login("cleo").await;
    roll.import(
        &login("sam").await,
        Some(&login("sue").await),
        AdditionSource::Mail,
        rows(recs.clone()),
        &(),
        today(),
    )
    .await
    .unwrap_or_else(|e| panic!("scan import: {e}"));
    // Exercise the other writers too: a PII read, an edit, a removal.
    let v = roll
        .read_voter(&clerk, &recs[0].voter_id, "scan test", today())
        .await
        .unwrap_or_else(|e| panic!("scan: {e}"));
    assert_eq!(
        v.sensitive.as_ref(),
        Some(&recs[0].sensitive),
        "scan: PII opens"
    );
    let mut edited = recs[1].clone();
    edited.residence.line1 = "1 Scan Way".into();
    roll.update_voter(&clerk, &edited, UpdateReason::AddressChange, today())
        .await
        .unwrap_or_else(|e| panic!("scan: {e}"));
    let set = [StatusChange::Remove {
        voter_id: recs[2].voter_id.clone(),
        reason: RemovalReason::Death,
    }];
    roll.submit_changes(&clerk, &set, today())
        .await
        .unwrap_or_else(|e| panic!("scan: {e}"));
    recs
}

/// A roll written at schema 1 (each sealed record in its `roll_voters` row) opens at the
/// current schema with every row and its history intact, and a schema this code does not know
/// is refused. `open` opens the backend under test (each call a new pool on the same
/// database); `blob` is its binary column type, for turning the roll back into schema 1.
pub async fn schema_1_migrates<F, Fut>(open: F, raw: RawSql, blob: &str)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Arc<dyn RollBackend>, RollStoreError>>,
{
    let story = "schema_1_migrates";
    let db = open()
        .await
        .unwrap_or_else(|e| panic!("{story}: open: {e}"));
    let roll = Roll::open(db.clone(), &test_master(), Some("migrate"))
        .await
        .unwrap_or_else(|e| panic!("{story}: roll: {e}"));
    let staff = staff_accounts(&roll).await;
    roll.import(
        &staff.supervisor,
        Some(&staff.supervisor2),
        AdditionSource::Mail,
        rows(synthetic(5, 150)),
        &(),
        today(),
    )
    .await
    .unwrap_or_else(|e| panic!("{story}: import: {e}"));
    let before = db
        .voters_after("", 1_000)
        .await
        .unwrap_or_else(|e| panic!("{story}: voters: {e}"));
    assert_eq!(before.len(), 150, "{story}");
    drop(roll);
    drop(db);
    for sql in [
        format!("ALTER TABLE roll_voters ADD COLUMN sealed {blob}"),
        "UPDATE roll_voters SET sealed = (SELECT s.sealed FROM roll_sealed s \
         WHERE s.voter_id = roll_voters.voter_id)"
            .to_owned(),
        "DROP TABLE roll_sealed".to_owned(),
        "UPDATE roll_schema SET version = 1".to_owned(),
    ] {
        let r = raw(sql.clone()).await;
        assert!(r.is_ok(), "{story}: {sql}: {r:?}");
    }
    let db = open()
        .await
        .unwrap_or_else(|e| panic!("{story}: migrate: {e}"));
    let after = db
        .voters_after("", 1_000)
        .await
        .unwrap_or_else(|e| panic!("{story}: voters after: {e}"));
    assert!(after == before, "{story}: rows changed by the migration");
    let roll = Roll::open(db.clone(), &test_master(), Some("migrate"))
        .await
        .unwrap_or_else(|e| panic!("{story}: roll after: {e}"));
    roll.audit()
        .await
        .unwrap_or_else(|e| panic!("{story}: audit after: {e}"));
    drop(roll);
    drop(db);
    // Opening again at the current schema runs nothing more.
    open()
        .await
        .unwrap_or_else(|e| panic!("{story}: reopen: {e}"));
    let r = raw("UPDATE roll_schema SET version = 99".to_owned()).await;
    assert!(r.is_ok(), "{story}: {r:?}");
    match open().await {
        Err(RollStoreError::Corrupt(m)) => {
            assert!(m.contains("roll schema version 99"), "{story}: {m}")
        }
        Err(e) => panic!("{story}: unknown schema: {e}"),
        Ok(_) => panic!("{story}: a schema this code does not know was opened"),
    }
}
