//! Errors and warnings. Errors stop an import; warnings are legal but suspicious.

use std::fmt;

/// Where in its source a problem was found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// A CSV line (1-based, the header is line 1) and, where known, the column.
    Line { line: u64, column: Option<String> },
    /// A JSON path such as `Election[0].Contest[3].ContestSelection[1].VoteCounts[0].Count`.
    JsonPath(String),
    /// An XML element path such as `/ElectionReport/Election[1]/Contest[4]`, with the byte offset.
    XmlElement { path: String, byte: Option<u64> },
    /// A place in the model, e.g. `contest "cc-1", unit "p-4"`; used for checks that run after
    /// parsing, when the source position is no longer known.
    Model(String),
    /// The source as a whole.
    Whole,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line {
                line,
                column: Some(c),
            } => write!(f, "line {line}, column {c:?}"),
            Location::Line { line, column: None } => write!(f, "line {line}"),
            Location::JsonPath(p) => write!(f, "JSON path {p}"),
            Location::XmlElement {
                path,
                byte: Some(b),
            } => write!(f, "element {path} (byte {b})"),
            Location::XmlElement { path, byte: None } => write!(f, "element {path}"),
            Location::Model(m) => f.write_str(m),
            Location::Whole => f.write_str("whole file"),
        }
    }
}

/// What is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProblemKind {
    #[error("malformed input: {0}")]
    Syntax(String),
    #[error("missing required {0}")]
    Missing(&'static str),
    #[error("unknown value {value:?} for {what}")]
    UnknownValue { what: &'static str, value: String },
    #[error("duplicate {what} id {id:?}")]
    DuplicateId { what: &'static str, id: String },
    #[error("unknown {what} {id:?} referenced")]
    UnknownReference { what: &'static str, id: String },
    #[error("count {value:?} is not a non-negative whole number")]
    BadCount { value: String },
    #[error("count overflows 64 bits")]
    Overflow,
    #[error("{votes} votes exceed {ballots} ballots cast x {votes_allowed} votes allowed")]
    VotesExceedBallots {
        votes: u64,
        ballots: u64,
        votes_allowed: u32,
    },
    #[error("total {total} differs from the sum of the vote types {sum}")]
    TotalMismatch { total: u64, sum: u64 },
    #[error("unit {unit:?} gives {given} for {key} but its {child_kind} units add up to {sum}")]
    AggregateMismatch {
        unit: String,
        key: String,
        child_kind: String,
        given: u64,
        sum: u64,
    },
    #[error("unit {0:?} contains itself")]
    UnitCycle(String),
    #[error("{what} count {count} exceeds the limit {max}")]
    Limit {
        what: &'static str,
        count: u64,
        max: u64,
    },
    #[error("duplicate count for {0}")]
    DuplicateCount(String),
    #[error("empty {0}")]
    Empty(&'static str),
    /// Write-ins exist only in candidate contests; NIST has no way to say "write-in" for a
    /// ballot-measure, retention or party selection, so the flag could not survive an export.
    #[error("choice {choice:?} is a write-in, but only candidate contests have write-ins")]
    WriteInOutsideCandidateContest { choice: String },
    /// NIST says how many votes a contest allows (`VotesAllowed`) for candidate contests only;
    /// a ballot-measure, retention or party contest allows one, and any other number could not
    /// survive an export.
    #[error(
        "contest {contest:?} allows {votes_allowed} votes, but only a candidate contest may allow other than 1"
    )]
    VotesAllowedOutsideCandidateContest { contest: String, votes_allowed: u32 },
}

/// One error with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub location: Location,
    pub kind: ProblemKind,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.kind)
    }
}

/// Problems reported per import before giving up (the rest are counted, not listed).
pub const PROBLEMS_LISTED_MAX: usize = 100;

/// An import or validation that failed. Nothing partial is returned with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The source could not be read at all (I/O error from the reader).
    #[error("{source_name}: read failed: {message}")]
    Read {
        source_name: String,
        message: String,
    },
    /// The source was read but is wrong; at least one problem, at most
    /// [`PROBLEMS_LISTED_MAX`] listed, `more` not listed.
    #[error("{source_name}: {}", DisplayProblems(problems, *more))]
    Invalid {
        source_name: String,
        problems: Vec<Problem>,
        more: usize,
    },
}

struct DisplayProblems<'a>(&'a [Problem], usize);

impl fmt::Display for DisplayProblems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{p}")?;
        }
        if self.1 > 0 {
            write!(f, "; and {} more", self.1)?;
        }
        Ok(())
    }
}

impl ImportError {
    /// The problems listed (empty for [`ImportError::Read`]).
    pub fn problems(&self) -> &[Problem] {
        match self {
            ImportError::Invalid { problems, .. } => problems,
            ImportError::Read { .. } => &[],
        }
    }

    /// The error for one problem.
    pub fn one(source_name: &str, location: Location, kind: ProblemKind) -> Self {
        ImportError::Invalid {
            source_name: source_name.to_owned(),
            problems: vec![Problem { location, kind }],
            more: 0,
        }
    }

    pub(crate) fn read(source_name: &str, e: impl fmt::Display) -> Self {
        ImportError::Read {
            source_name: source_name.to_owned(),
            message: e.to_string(),
        }
    }
}

/// Collects problems, keeping the first [`PROBLEMS_LISTED_MAX`].
#[derive(Debug, Default)]
pub(crate) struct Problems {
    pub list: Vec<Problem>,
    pub more: usize,
}

impl Problems {
    pub fn push(&mut self, location: Location, kind: ProblemKind) {
        if self.list.len() < PROBLEMS_LISTED_MAX {
            self.list.push(Problem { location, kind });
        } else {
            self.more += 1;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The error for these problems (call only when some were pushed).
    pub fn into_error(self, source_name: &str) -> ImportError {
        ImportError::Invalid {
            source_name: source_name.to_owned(),
            problems: self.list,
            more: self.more,
        }
    }

    pub fn into_result(self, source_name: &str) -> Result<(), ImportError> {
        if self.list.is_empty() {
            Ok(())
        } else {
            Err(ImportError::Invalid {
                source_name: source_name.to_owned(),
                problems: self.list,
                more: self.more,
            })
        }
    }
}

/// Kinds of warnings: legal input that a human should look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum WarningKind {
    /// A unit has no votes in any contest.
    UnitWithoutVotes,
    /// One contest has choice names that differ only in case, spacing or punctuation. They are
    /// kept apart, as the source spelled them.
    NameVariants,
    /// A count was written with thousands separators (`1,159`) and read as a number.
    ThousandsSeparator,
    /// The vote types of a count add up to less than its total (some types not reported).
    PartialBreakdown,
    /// A lenient option let through something the strict import refuses.
    Lenient,
    /// Part of the source has no place in the model and was left out.
    Dropped,
    /// More votes than ballots cast × votes allowed, where the source does not give votes
    /// allowed (an error when it does).
    VotesExceedBallots,
}

/// A warning with its place and a human sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub kind: WarningKind,
    pub location: Location,
    pub detail: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {:?}: {}", self.location, self.kind, self.detail)
    }
}
