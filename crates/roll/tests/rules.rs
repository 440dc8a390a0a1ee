//! The rules as tables: role matrix, bulk approval, NVRA removal windows.
mod common;

use expect_test::expect;
use urne_roll::record::RemovalReason;
use urne_roll::rules::*;

#[test]
fn role_matrix() {
    let mut table = format!("{:<11}", "");
    for a in Action::ALL {
        table += &format!(" {:>12}", a.name());
    }
    table.push('\n');
    for r in Role::ALL {
        table += &format!("{:<11}", r.name());
        for a in Action::ALL {
            table += &format!(" {:>12}", if allows(r, a) { "yes" } else { "-" });
        }
        table.push('\n');
    }
    expect![[r#"
                            read     read-pii         edit  bulk-change approve-bulk manage-staff
        viewer               yes            -            -            -            -            -
        clerk                yes          yes          yes            -            -            -
        supervisor           yes          yes          yes          yes          yes            -
        admin                yes            -            -            -            -          yes
    "#]]
    .assert_eq(&table);
}

fn staff(id: &str, role: Role) -> Staff {
    Staff {
        id: id.into(),
        role,
    }
}

#[test]
fn authorize_names_the_refusal() {
    let v = staff("vi", Role::Viewer);
    assert!(authorize(&v, Action::Read).is_ok());
    expect!["role viewer may not read-pii"]
        .assert_eq(&authorize(&v, Action::ReadPii).unwrap_err().to_string());
    let admin = staff("ad", Role::Admin);
    expect!["role admin may not edit"]
        .assert_eq(&authorize(&admin, Action::Edit).unwrap_err().to_string());
}

#[test]
fn bulk_approval() {
    let policy = BulkPolicy {
        records_without_approver_max: 50,
    };
    let clerk = staff("cl", Role::Clerk);
    let sup_a = staff("sa", Role::Supervisor);
    let sup_b = staff("sb", Role::Supervisor);
    let admin = staff("ad", Role::Admin);
    let cases: [(u64, &Staff, Option<&Staff>); 9] = [
        (1, &clerk, None),
        (50, &clerk, None),
        (51, &clerk, Some(&sup_a)),
        (51, &sup_a, None),
        (51, &sup_a, Some(&sup_a)),
        (51, &sup_a, Some(&clerk)),
        (51, &sup_a, Some(&admin)),
        (51, &sup_a, Some(&sup_b)),
        (1_000_000, &sup_b, Some(&sup_a)),
    ];
    let out: String = cases
        .iter()
        .map(|(n, req, appr)| {
            let r = match approve_change(policy, *n, req, *appr) {
                Ok(ok) => format!("ok approver={:?}", ok.approver()),
                Err(e) => e.to_string(),
            };
            format!(
                "{n} by {} approved by {:?}: {r}\n",
                req.id,
                appr.map(|a| &a.id)
            )
        })
        .collect();
    expect![[r#"
        1 by cl approved by None: ok approver=None
        50 by cl approved by None: ok approver=None
        51 by cl approved by Some("sa"): role clerk may not bulk-change
        51 by sa approved by None: bulk change of 51 records (threshold 50) needs a second approver
        51 by sa approved by Some("sa"): the approver must be a different person from the requester
        51 by sa approved by Some("cl"): approver role clerk may not approve bulk changes
        51 by sa approved by Some("ad"): approver role admin may not approve bulk changes
        51 by sa approved by Some("sb"): ok approver=Some("sb")
        1000000 by sb approved by Some("sa"): ok approver=Some("sa")
    "#]]
    .assert_eq(&out);
    let viewer = staff("vi", Role::Viewer);
    assert!(approve_change(policy, 1, &viewer, None).is_err());
}

#[test]
fn removals_and_the_ninety_day_window() {
    // 2026-11-03 general; 2026-06-02 primary.
    let elections = [common::date(2026, 6, 2), common::date(2026, 11, 3)];
    let reasons = [
        RemovalReason::VoterRequest,
        RemovalReason::Death,
        RemovalReason::CriminalConviction,
        RemovalReason::MentalIncapacity,
        RemovalReason::NoticeUnansweredAndTwoGenerals,
        RemovalReason::ListMaintenanceProgram,
        RemovalReason::Duplicate,
        RemovalReason::NonVoting,
    ];
    let days = [
        common::date(2026, 3, 3),  // 91 days before the primary
        common::date(2026, 3, 4),  // 90 days before: the last allowed day
        common::date(2026, 3, 5),  // 89 days before
        common::date(2026, 6, 2),  // primary day
        common::date(2026, 6, 3),  // day after the primary, 153 before the general
        common::date(2026, 8, 5),  // 90 days before the general
        common::date(2026, 8, 6),  // 89 days before the general
        common::date(2026, 11, 4), // day after the general
    ];
    let mut out = String::new();
    for day in days {
        out += &format!("{day}:");
        for r in reasons {
            out += match check_removal(r, day, &elections) {
                Ok(_) => " ok",
                Err(Refused::NonVoting) => " NV",
                Err(Refused::NinetyDayWindow { .. }) => " 90",
                Err(_) => " ??",
            };
        }
        out.push('\n');
    }
    expect![[r#"
        2026-03-03: ok ok ok ok ok ok ok NV
        2026-03-04: ok ok ok ok ok ok ok NV
        2026-03-05: ok ok ok ok 90 90 90 NV
        2026-06-02: ok ok ok ok 90 90 90 NV
        2026-06-03: ok ok ok ok ok ok ok NV
        2026-08-05: ok ok ok ok ok ok ok NV
        2026-08-06: ok ok ok ok 90 90 90 NV
        2026-11-04: ok ok ok ok ok ok ok NV
    "#]]
    .assert_eq(&out);
    expect!["systematic removal (list-maintenance) refused: 29 days before the federal election on 2026-11-03 (NVRA §8(c)(2)(A) closes systematic programs 90 days before)"]
        .assert_eq(&check_removal(RemovalReason::ListMaintenanceProgram, common::date(2026, 10, 5), &elections).unwrap_err().to_string());
    expect!["removal solely for not voting is refused (NVRA §8(b)(2))"].assert_eq(
        &check_removal(RemovalReason::NonVoting, common::date(2025, 1, 1), &[])
            .unwrap_err()
            .to_string(),
    );
    assert!(check_removal(RemovalReason::Duplicate, common::date(2026, 10, 5), &[]).is_ok());
}
