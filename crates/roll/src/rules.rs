//! The roll's rules as pure functions: who may do what, when a bulk change needs a second
//! approver, and which removals the NVRA forbids. Each check returns a token only it can build,
//! so code that applies a change must have passed the check.

use crate::record::{Date, RemovalReason};

/// A staff role, least to most trusted for roll data (admin manages accounts, not voters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Reads records without sealed fields.
    Viewer,
    /// Also reads sealed fields (PII) and edits single records.
    Clerk,
    /// Also submits and approves bulk changes.
    Supervisor,
    /// Manages staff accounts only. Separation of duties: an admin neither reads PII nor edits
    /// the roll, so one stolen admin login cannot both mint accounts and change voters.
    Admin,
}

/// Something a staff member asks to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Read a record's public fields.
    Read,
    /// Read sealed fields (DOB, IDs, contact).
    ReadPii,
    /// Change one record.
    Edit,
    /// Submit a change over many records.
    BulkChange,
    /// Approve someone else's bulk change.
    ApproveBulk,
    /// Create, change or disable staff accounts and tokens.
    ManageStaff,
}

impl Role {
    /// Every role, for tables.
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Clerk, Role::Supervisor, Role::Admin];
    /// The stable name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Clerk => "clerk",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }
}

impl Action {
    /// Every action, for tables.
    pub const ALL: [Action; 6] = [
        Action::Read,
        Action::ReadPii,
        Action::Edit,
        Action::BulkChange,
        Action::ApproveBulk,
        Action::ManageStaff,
    ];
    /// The stable name.
    pub fn name(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::ReadPii => "read-pii",
            Action::Edit => "edit",
            Action::BulkChange => "bulk-change",
            Action::ApproveBulk => "approve-bulk",
            Action::ManageStaff => "manage-staff",
        }
    }
}

/// The role × action matrix.
pub fn allows(role: Role, action: Action) -> bool {
    use Action::*;
    match role {
        Role::Viewer => matches!(action, Read),
        Role::Clerk => matches!(action, Read | ReadPii | Edit),
        Role::Supervisor => matches!(action, Read | ReadPii | Edit | BulkChange | ApproveBulk),
        Role::Admin => matches!(action, Read | ManageStaff),
    }
}

/// A refused request. Every variant says which rule refused it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refused {
    /// The role does not allow the action.
    #[error("role {role} may not {action}")]
    Role {
        /// The role's name.
        role: &'static str,
        /// The action's name.
        action: &'static str,
    },
    /// The change touches more records than the threshold and has no approver yet.
    #[error("bulk change of {records} records (threshold {threshold}) needs a second approver")]
    NeedsApprover {
        /// Records in the change.
        records: u64,
        /// The configured threshold.
        threshold: u64,
    },
    /// The approver is the requester.
    #[error("the approver must be a different person from the requester")]
    SelfApproval,
    /// The approver's role cannot approve bulk changes.
    #[error("approver role {0} may not approve bulk changes")]
    ApproverRole(&'static str),
    /// NVRA §8(c)(2)(A): systematic removal within 90 days of a federal election.
    #[error(
        "systematic removal ({reason}) refused: {days} days before the federal election on \
         {election} (NVRA §8(c)(2)(A) closes systematic programs 90 days before)"
    )]
    NinetyDayWindow {
        /// The removal reason's name.
        reason: &'static str,
        /// The election date.
        election: Date,
        /// Days from the change to the election.
        days: i64,
    },
    /// NVRA §8(b)(2): removal solely for not voting.
    #[error("removal solely for not voting is refused (NVRA §8(b)(2))")]
    NonVoting,
}

/// Proof that `actor` may do `action`. Only [`authorize`] builds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authorized {
    action: Action,
}

impl Authorized {
    /// The action authorized.
    pub fn action(self) -> Action {
        self.action
    }
}

/// A staff member as the rules see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    /// Stable staff id (login name).
    pub id: String,
    /// Role.
    pub role: Role,
}

/// Checks the role matrix.
pub fn authorize(staff: &Staff, action: Action) -> Result<Authorized, Refused> {
    if allows(staff.role, action) {
        Ok(Authorized { action })
    } else {
        Err(Refused::Role {
            role: staff.role.name(),
            action: action.name(),
        })
    }
}

/// Bulk-change policy: the office's configured threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkPolicy {
    /// A change of more than this many records is a bulk change (`bulk_records_max` without a
    /// second approver).
    pub records_without_approver_max: u64,
}

/// Proof that a change of some size may be applied. Only [`approve_change`] builds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeApproved {
    records: u64,
    approver: Option<String>,
}

impl ChangeApproved {
    /// Records covered.
    pub fn records(&self) -> u64 {
        self.records
    }
    /// The second approver, for a bulk change.
    pub fn approver(&self) -> Option<&str> {
        self.approver.as_deref()
    }
}

/// Decides whether a change of `records` records by `requester` may go ahead, with `approver`
/// if one has approved. Over the threshold: the requester needs `BulkChange`, and a different
/// person with the supervisor role must approve.
pub fn approve_change(
    policy: BulkPolicy,
    records: u64,
    requester: &Staff,
    approver: Option<&Staff>,
) -> Result<ChangeApproved, Refused> {
    if records <= policy.records_without_approver_max {
        authorize(requester, Action::Edit)?;
        return Ok(ChangeApproved {
            records,
            approver: None,
        });
    }
    authorize(requester, Action::BulkChange)?;
    let threshold = policy.records_without_approver_max;
    let approver = approver.ok_or(Refused::NeedsApprover { records, threshold })?;
    if approver.id == requester.id {
        return Err(Refused::SelfApproval);
    }
    if approver.role != Role::Supervisor {
        return Err(Refused::ApproverRole(approver.role.name()));
    }
    Ok(ChangeApproved {
        records,
        approver: Some(approver.id.clone()),
    })
}

/// Days before a federal election in which systematic removal programs must be finished
/// (NVRA §8(c)(2)(A), 52 U.S.C. §20507(c)(2)(A)).
pub const SYSTEMATIC_REMOVAL_QUIET_DAYS: i64 = 90;

impl RemovalReason {
    /// Whether removals for this reason are systematic list maintenance. §8(c)(2)(B) exempts
    /// removals at the registrant's request, for criminal conviction or mental incapacity, and
    /// for death.
    pub fn is_systematic(self) -> bool {
        !matches!(
            self,
            RemovalReason::VoterRequest
                | RemovalReason::Death
                | RemovalReason::CriminalConviction
                | RemovalReason::MentalIncapacity
        )
    }
    /// The stable name.
    pub fn name(self) -> &'static str {
        match self {
            RemovalReason::VoterRequest => "voter-request",
            RemovalReason::Death => "death",
            RemovalReason::CriminalConviction => "criminal-conviction",
            RemovalReason::MentalIncapacity => "mental-incapacity",
            RemovalReason::NoticeUnansweredAndTwoGenerals => "notice-unanswered-two-generals",
            RemovalReason::ListMaintenanceProgram => "list-maintenance",
            RemovalReason::Duplicate => "duplicate",
            RemovalReason::NonVoting => "non-voting",
        }
    }
}

/// Proof that a removal is lawful on its date. Only [`check_removal`] builds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemovalAllowed {
    reason: RemovalReason,
}

impl RemovalAllowed {
    /// The reason checked.
    pub fn reason(self) -> RemovalReason {
        self.reason
    }
}

/// Checks a removal on `on` against the NVRA, given the dates of the federal elections (primary
/// and general) the office is configured with. Refuses removal for not voting always, and
/// systematic removals when a federal election falls within 90 days on or after `on` (the day
/// 90 days before is still allowed: the program must be complete "not later than 90 days
/// prior").
pub fn check_removal(
    reason: RemovalReason,
    on: Date,
    federal_elections: &[Date],
) -> Result<RemovalAllowed, Refused> {
    if reason == RemovalReason::NonVoting {
        return Err(Refused::NonVoting);
    }
    if reason.is_systematic() {
        let today = on.days_since_epoch();
        let closing = federal_elections
            .iter()
            .map(|e| (*e, e.days_since_epoch() - today))
            .filter(|&(_, days)| (0..SYSTEMATIC_REMOVAL_QUIET_DAYS).contains(&days))
            .min_by_key(|&(_, days)| days);
        if let Some((election, days)) = closing {
            return Err(Refused::NinetyDayWindow {
                reason: reason.name(),
                election,
                days,
            });
        }
    }
    Ok(RemovalAllowed { reason })
}
