//! CVR readers. Each turns one `cvrFileSources` entry into ballots, naming the file and the
//! row/cell or JSON path of any problem.

use std::collections::HashMap;
use std::path::Path;

use calamine::{Data, Reader, Xlsx};
use serde_json::Value;
use urne_tally::model::{Ballots, Cand, OVERVOTE};

use crate::config::{Config, Source};
use crate::Error;

/// Largest CVR file read, in bytes.
pub const CVR_FILE_BYTES_MAX: u64 = 2 << 30;
/// Most ballots one tabulation reads.
pub const BALLOTS_MAX: usize = 50_000_000;

/// RCTab's `sanitizeStringForOutput`: characters outside `[A-Za-z0-9_.-]` become `_`.
pub fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') { c } else { '_' })
        .collect()
}

/// Maps the strings a CVR uses for choices to candidate indexes.
pub struct Names<'a> {
    map: HashMap<&'a str, Cand>,
    uwi: Option<Cand>,
}

impl<'a> Names<'a> {
    pub fn new(config: &'a Config) -> Names<'a> {
        let mut map = HashMap::new();
        for (i, al) in config.aliases.iter().enumerate() {
            for a in al {
                map.insert(a.as_str(), i as Cand);
            }
        }
        Names { map, uwi: config.contest.uwi }
    }

    /// Resolves one choice: the source's overvote and write-in labels, then names and aliases.
    fn resolve(&self, source: &Source, raw: &str, at: impl Fn() -> String) -> Result<Cand, Error> {
        if !source.overvote_label.is_empty() && raw == source.overvote_label {
            return Ok(OVERVOTE);
        }
        if !source.uwi_label.is_empty() && raw == source.uwi_label {
            if let Some(u) = self.uwi {
                return Ok(u);
            }
        }
        match self.map.get(raw) {
            Some(c) => Ok(*c),
            None => Err(Error::UnknownCandidate {
                file: source.resolved.clone(),
                at: at(),
                name: raw.to_string(),
            }),
        }
    }
}

fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 1e15 {
                format!("{}", *f as i64)
            } else {
                format!("{f}")
            }
        }
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => if *b { "TRUE".to_string() } else { "FALSE".to_string() },
        other => other.to_string(),
    }
}

fn column_name(mut col: u32) -> String {
    let mut s = Vec::new();
    col += 1;
    while col > 0 {
        let r = (col - 1) % 26;
        s.push(b'A' + r as u8);
        col = (col - 1) / 26;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

/// ES&S `.xlsx` export: one row per ballot, rankings in consecutive columns.
pub fn read_ess(config: &Config, source: &Source, names: &Names<'_>, out: &mut Ballots) -> Result<(), Error> {
    let file = &source.resolved;
    let mut book: Xlsx<_> = calamine::open_workbook(file).map_err(|e| Error::Cvr {
        file: file.clone(),
        at: String::new(),
        rule: format!("not a readable ES&S xlsx workbook: {e}"),
    })?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| Error::Cvr { file: file.clone(), at: String::new(), rule: "the workbook has no sheet".into() })?
        .map_err(|e| Error::Cvr { file: file.clone(), at: String::new(), rule: format!("unreadable sheet: {e}") })?;
    let first_col = source.first_vote_column.unwrap_or(1) - 1;
    let first_row = source.first_vote_row.unwrap_or(1) - 1;
    let max_rank = config.rules.max_rankings;
    let file_name = file.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let sanitized = sanitize(&file_name);
    let (start_row, start_col) = range.start().unwrap_or((0, 0));
    let mut index = 0usize;
    for (r, row) in range.rows().enumerate() {
        let row_idx = start_row + r as u32;
        if row_idx < first_row {
            continue;
        }
        if row.iter().all(|c| matches!(c, Data::Empty)) {
            continue;
        }
        index += 1;
        let cell = |col: u32| -> Option<&Data> {
            col.checked_sub(start_col).and_then(|c| row.get(c as usize))
        };
        let text_at = |col: Option<u32>| -> Option<String> {
            col.and_then(|c| cell(c - 1)).filter(|d| !matches!(d, Data::Empty)).map(cell_text)
        };
        let precinct = source.precinct_column.map(|_| {
            text_at(source.precinct_column).unwrap_or_else(|| "missing_precinct_id".to_string())
        });
        let batch = text_at(source.batch_column);
        let id = match source.id_column {
            Some(_) => text_at(source.id_column).ok_or_else(|| Error::Cvr {
                file: file.clone(),
                at: format!("row {}", row_idx + 1),
                rule: "the cast vote record id cell is empty".into(),
            })?,
            None => format!("{sanitized}-{index}"),
        };
        let mut marks: Vec<(u32, Cand)> = Vec::new();
        for rank in 1..=max_rank {
            let col = first_col + rank - 1;
            let at = || format!("cell {}{}", column_name(col), row_idx + 1);
            let raw = cell(col).map(cell_text).unwrap_or_default();
            let raw = raw.trim();
            if raw.is_empty() && cell(col).is_none_or(|d| matches!(d, Data::Empty)) {
                if source.treat_blank_as_uwi {
                    if let Some(u) = config.contest.uwi {
                        marks.push((rank, u));
                    }
                }
                continue;
            }
            let parts: Vec<&str> = if source.overvote_delimiter.is_empty() {
                vec![raw]
            } else {
                raw.split(source.overvote_delimiter.as_str()).map(str::trim).collect()
            };
            for part in &parts {
                if parts.len() > 1 && (part.is_empty() || *part == source.skipped_rank_label) {
                    return Err(Error::Cvr {
                        file: file.clone(),
                        at: at(),
                        rule: "a cell split by the overvote delimiter may not hold a blank or an undervote".into(),
                    });
                }
                if *part == source.skipped_rank_label {
                    continue;
                }
                if part.is_empty() {
                    // RCTab keeps a blank string as a choice; no candidate has that name.
                    return Err(Error::UnknownCandidate { file: file.clone(), at: at(), name: String::new() });
                }
                marks.push((rank, names.resolve(source, part, at)?));
            }
        }
        if out.len() >= BALLOTS_MAX {
            return Err(Error::Cvr { file: file.clone(), at: String::new(), rule: format!("more than {BALLOTS_MAX} ballots") });
        }
        out.push(id, precinct.as_deref(), batch.as_deref(), marks);
    }
    Ok(())
}

fn read_json(file: &Path) -> Result<Value, Error> {
    let meta = std::fs::metadata(file).map_err(|e| Error::Io { file: file.to_path_buf(), source: e })?;
    if meta.len() > CVR_FILE_BYTES_MAX {
        return Err(Error::Cvr { file: file.to_path_buf(), at: String::new(), rule: format!("larger than {CVR_FILE_BYTES_MAX} bytes") });
    }
    let bytes = std::fs::read(file).map_err(|e| Error::Io { file: file.to_path_buf(), source: e })?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Cvr {
        file: file.to_path_buf(),
        at: format!("line {} column {}", e.line(), e.column()),
        rule: format!("not valid JSON: {e}"),
    })
}

fn arr<'v>(v: &'v Value, key: &str) -> &'v [Value] {
    v.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn s<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

fn rank_of(v: &Value) -> Option<u32> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|r| u32::try_from(r).ok()),
        Value::String(t) => t.trim().parse().ok(),
        _ => None,
    }
}

/// NIST SP 1500-103 CDF JSON (`CastVoteRecordReport`).
pub fn read_cdf_json(config: &Config, source: &Source, names: &Names<'_>, out: &mut Ballots) -> Result<(), Error> {
    let file = &source.resolved;
    let json = read_json(file)?;
    let err = |at: String, rule: String| Error::Cvr { file: file.clone(), at, rule };
    let mut gp_units: HashMap<&str, &Value> = HashMap::new();
    for g in arr(&json, "GpUnit") {
        if let Some(id) = s(g, "@id") {
            gp_units.insert(id, g);
        }
    }
    let mut candidates: HashMap<&str, &Value> = HashMap::new();
    let mut contest: Option<&Value> = None;
    for (ei, e) in arr(&json, "Election").iter().enumerate() {
        for c in arr(e, "Candidate") {
            if let Some(id) = s(c, "@id") {
                if candidates.insert(id, c).is_some() {
                    return Err(err(format!("$.Election[{ei}].Candidate"), format!("candidate id {id:?} is not unique")));
                }
            }
        }
        if contest.is_none() {
            contest = arr(e, "Contest").iter().find(|c| s(c, "Name") == Some(source.contest_id.as_str()));
        }
    }
    let contest = contest.ok_or_else(|| err("$.Election[*].Contest".into(), format!("contest {:?} from the config is not in the file", source.contest_id)))?;
    let contest_id = s(contest, "@id").unwrap_or_default();
    let mut selections: HashMap<&str, &Value> = HashMap::new();
    for cs in arr(contest, "ContestSelection") {
        if let Some(id) = s(cs, "@id") {
            selections.insert(id, cs);
        }
    }
    let file_name = file.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    for (ci, cvr) in arr(&json, "CVR").iter().enumerate() {
        let path = format!("$.CVR[{ci}]");
        let current = s(cvr, "CurrentSnapshotId");
        let snaps = arr(cvr, "CVRSnapshot");
        let snapshot = snaps.iter().find(|sn| current.is_some() && s(sn, "@id") == current).or(snaps.first());
        let mut marks: Vec<(u32, Cand)> = Vec::new();
        let cvr_contest = snapshot.and_then(|sn| arr(sn, "CVRContest").iter().find(|c| s(c, "ContestId") == Some(contest_id)));
        if let Some(cc) = cvr_contest {
            for (si, sel) in arr(cc, "CVRContestSelection").iter().enumerate() {
                let sel_path = format!("{path}.CVRContestSelection[{si}]");
                let sel_id = s(sel, "ContestSelectionId").unwrap_or_default();
                let cs = selections.get(sel_id).ok_or_else(|| err(sel_path.clone(), format!("ContestSelection {sel_id:?} is not in the contest")))?;
                let is_write_in = matches!(cs.get("IsWriteIn"), Some(Value::Bool(true)))
                    || s(cs, "IsWriteIn") == Some("true");
                let mut cand: Option<Cand> = None;
                if is_write_in {
                    cand = config.contest.uwi;
                } else {
                    let ids = arr(cs, "CandidateIds");
                    let first = ids.first().and_then(Value::as_str).ok_or_else(|| err(sel_path.clone(), format!("ContestSelection {sel_id:?} has no CandidateIds")))?;
                    let c = candidates.get(first).ok_or_else(|| err(sel_path.clone(), format!("candidate {first:?} is not in the candidate list")))?;
                    let name = s(c, "Name").unwrap_or_default();
                    cand = Some(names.resolve(source, name, || sel_path.clone())?);
                }
                if let Some(rank) = sel.get("Rank").and_then(rank_of) {
                    let c = cand.ok_or_else(|| err(sel_path.clone(), "a write-in but the config has no undeclared write-in label".into()))?;
                    marks.push((rank, c));
                    continue;
                }
                for (pi, pos) in arr(sel, "SelectionPosition").iter().enumerate() {
                    let mut c = cand;
                    if pos.get("CVRWriteIn").is_some() {
                        c = config.contest.uwi;
                    }
                    if s(pos, "HasIndication") == Some("no") || s(pos, "IsAllocable") == Some("no") {
                        continue;
                    }
                    let pos_path = format!("{sel_path}.SelectionPosition[{pi}]");
                    let rank = pos.get("Rank").and_then(rank_of).ok_or_else(|| err(pos_path.clone(), "Rank is missing or not a number".into()))?;
                    let c = c.ok_or_else(|| err(pos_path, "a write-in but the config has no undeclared write-in label".into()))?;
                    marks.push((rank, c));
                }
            }
        }
        let precinct = s(cvr, "BallotStyleUnitId").and_then(|u| gp_units.get(u)).and_then(|g| s(g, "Name"));
        let id = s(cvr, "BallotPrePrintedId").map_or_else(|| format!("{file_name}({})", ci + 1), str::to_string);
        out.push(id, precinct, None, marks);
    }
    Ok(())
}
