//! CVR readers. Each turns one `cvrFileSources` entry into ballots, naming the file and the
//! row/cell or JSON path of any problem.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;
use urne_tally::model::{Ballots, Cand, OVERVOTE};

use crate::Error;
use crate::config::{Config, Source};

/// Largest CVR file read, in bytes.
pub const CVR_FILE_BYTES_MAX: u64 = 2 << 30;
/// Most ballots one tabulation reads.
pub const BALLOTS_MAX: usize = 50_000_000;

/// RCTab's `sanitizeStringForOutput`: characters outside `[A-Za-z0-9_.-]` become `_`.
pub fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Java's `String.trim()`: strips characters up to U+0020 only (not NBSP or other Unicode
/// spaces, which RCTab keeps as part of a name).
pub fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// Maps the strings a CVR uses for choices to candidate indexes.
#[derive(Debug)]
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
        Names {
            map,
            uwi: config.contest.uwi,
        }
    }

    /// Resolves one choice: the source's overvote and write-in labels, then names and aliases.
    fn resolve(&self, source: &Source, raw: &str, at: impl Fn() -> String) -> Result<Cand, Error> {
        if !source.overvote_label.is_empty() && raw == source.overvote_label {
            return Ok(OVERVOTE);
        }
        if !source.uwi_label.is_empty()
            && raw == source.uwi_label
            && let Some(u) = self.uwi
        {
            return Ok(u);
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
pub fn read_ess(
    config: &Config,
    source: &Source,
    names: &Names<'_>,
    out: &mut Ballots,
) -> Result<(), Error> {
    let file = &source.resolved;
    let first_col = source.first_vote_column.unwrap_or(1) - 1;
    let first_row = source.first_vote_row.unwrap_or(1) - 1;
    let max_rank = config.rules.max_rankings;
    let file_name = file
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let sanitized = sanitize(&file_name);
    let mut index = 0usize;
    // Buffers reused for every row: a million ballots should not cost millions of allocations.
    // Per rank, the index of its cell in the row.
    let mut texts: Vec<Option<usize>> = Vec::new();
    let mut marks: Vec<(u32, Cand)> = Vec::new();
    crate::xlsx::for_each_row(file, |row_idx, cells| {
        if row_idx < first_row {
            return Ok(());
        }
        index += 1;
        let get = |col: u32| cells.iter().find(|c| c.0 == col).map(|c| c.1.as_ref());
        let precinct = source
            .precinct_column
            .map(|c| get(c - 1).unwrap_or("missing_precinct_id"));
        // RCTab groups ballots whose batch cell is empty under "missing_batch_id".
        let batch = source
            .batch_column
            .map(|c| get(c - 1).unwrap_or("missing_batch_id"));
        let id = match source.id_column {
            Some(c) => get(c - 1).map(str::to_string).ok_or_else(|| Error::Cvr {
                file: file.clone(),
                at: format!("row {}", row_idx + 1),
                rule: "the cast vote record id cell is empty".into(),
            })?,
            None => format!("{sanitized}-{index}"),
        };
        texts.clear();
        texts.resize(max_rank as usize, None);
        for (k, (c, _)) in cells.iter().enumerate() {
            if *c >= first_col && *c < first_col + max_rank {
                texts[(*c - first_col) as usize] = Some(k);
            }
        }
        marks.clear();
        for (i, text) in texts.iter().enumerate() {
            let rank = i as u32 + 1;
            let col = first_col + i as u32;
            let at = || format!("cell {}{}", column_name(col), row_idx + 1);
            let Some(raw) = text.map(|k| cells[k].1.as_ref()) else {
                if source.treat_blank_as_uwi
                    && let Some(u) = config.contest.uwi
                {
                    marks.push((rank, u));
                }
                continue;
            };
            let raw = java_trim(raw);
            let delimiter = source.overvote_delimiter.as_str();
            // Java's `String.split` drops trailing empty pieces ("A|" is one piece, "|" none).
            let mut parts: Vec<&str> = if delimiter.is_empty() {
                vec![raw]
            } else {
                raw.split(delimiter).collect()
            };
            if !delimiter.is_empty() && !raw.is_empty() {
                while parts.last() == Some(&"") {
                    parts.pop();
                }
            }
            let split = parts.len() > 1;
            for part in parts.into_iter().map(java_trim) {
                if split && (part.is_empty() || part == source.skipped_rank_label) {
                    return Err(Error::Cvr {
                        file: file.clone(),
                        at: at(),
                        rule: "a cell split by the overvote delimiter may not hold a blank or an undervote".into(),
                    });
                }
                if part == source.skipped_rank_label {
                    continue;
                }
                marks.push((rank, names.resolve(source, part, at)?));
            }
        }
        if out.len() >= BALLOTS_MAX {
            return Err(Error::Cvr {
                file: file.clone(),
                at: String::new(),
                rule: format!("more than {BALLOTS_MAX} ballots"),
            });
        }
        out.push_marks(id, precinct, batch, &marks);
        Ok(())
    })
}

pub(crate) fn read_json(file: &Path) -> Result<Value, Error> {
    let meta = std::fs::metadata(file).map_err(|e| Error::Io {
        file: file.to_path_buf(),
        source: e,
    })?;
    if meta.len() > CVR_FILE_BYTES_MAX {
        return Err(Error::Cvr {
            file: file.to_path_buf(),
            at: String::new(),
            rule: format!("larger than {CVR_FILE_BYTES_MAX} bytes"),
        });
    }
    let bytes = std::fs::read(file).map_err(|e| Error::Io {
        file: file.to_path_buf(),
        source: e,
    })?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Cvr {
        file: file.to_path_buf(),
        at: format!("line {} column {}", e.line(), e.column()),
        rule: format!("not valid JSON: {e}"),
    })
}

/// A list field; a single value (as XML gives for one child) counts as a list of one.
pub(crate) fn arr<'v>(v: &'v Value, key: &str) -> &'v [Value] {
    match v.get(key) {
        Some(Value::Array(a)) => a.as_slice(),
        Some(Value::Null) | None => &[],
        Some(one) => std::slice::from_ref(one),
    }
}

pub(crate) fn s<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

/// A rank value; RCTab's rankings start at 1, so 0 is refused like a non-number.
fn rank_of(v: &Value) -> Option<u32> {
    let r: u32 = match v {
        Value::Number(n) => n.as_u64().and_then(|r| u32::try_from(r).ok())?,
        Value::String(t) => t.trim().parse().ok()?,
        _ => return None,
    };
    (r >= 1).then_some(r)
}

/// NIST SP 1500-103 CDF (`CastVoteRecordReport`), JSON or XML.
pub fn read_cdf(
    config: &Config,
    source: &Source,
    names: &Names<'_>,
    out: &mut Ballots,
) -> Result<(), Error> {
    let file = &source.resolved;
    let is_xml = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("xml"));
    // XML is read whole; JSON is read in two streaming passes (the election header, then one
    // CVR at a time) so that decks of millions of ballots never sit in memory as a tree.
    let json = if is_xml {
        read_cdf_xml_tree(file)?
    } else {
        read_cdf_json_header(file)?
    };
    let err = |at: String, rule: String| Error::Cvr {
        file: file.clone(),
        at,
        rule,
    };
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
            if let Some(id) = s(c, "@id")
                && candidates.insert(id, c).is_some()
            {
                return Err(err(
                    format!("$.Election[{ei}].Candidate"),
                    format!("candidate id {id:?} is not unique"),
                ));
            }
        }
        if contest.is_none() {
            contest = arr(e, "Contest")
                .iter()
                .find(|c| s(c, "Name") == Some(source.contest_id.as_str()));
        }
    }
    let contest = contest.ok_or_else(|| {
        err(
            "$.Election[*].Contest".into(),
            format!(
                "contest {:?} from the config is not in the file",
                source.contest_id
            ),
        )
    })?;
    let contest_id = s(contest, "@id").unwrap_or_default();
    let mut selections: HashMap<&str, &Value> = HashMap::new();
    for cs in arr(contest, "ContestSelection") {
        if let Some(id) = s(cs, "@id") {
            selections.insert(id, cs);
        }
    }
    let file_name = file
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut process = |ci: usize, cvr: &Value| -> Result<(), Error> {
        let path = format!("$.CVR[{ci}]");
        let current = s(cvr, "CurrentSnapshotId");
        let snaps = arr(cvr, "CVRSnapshot");
        let snapshot = snaps
            .iter()
            .find(|sn| current.is_some() && s(sn, "@id") == current)
            .or(snaps.first());
        let mut marks: Vec<(u32, Cand, u32)> = Vec::new();
        let cvr_contest = snapshot.and_then(|sn| {
            arr(sn, "CVRContest")
                .iter()
                .find(|c| s(c, "ContestId") == Some(contest_id))
        });
        // A record that does not include the contest is not a ballot of this contest.
        let Some(cc) = cvr_contest else {
            return Ok(());
        };
        {
            for (si, sel) in arr(cc, "CVRContestSelection").iter().enumerate() {
                let sel_path = format!("{path}.CVRContestSelection[{si}]");
                // A NIST_V0 write-in may carry no ContestSelectionId: it names no candidate.
                let Some(sel_id) = s(sel, "ContestSelectionId").filter(|v| !v.is_empty()) else {
                    continue;
                };
                let cs = selections.get(sel_id).ok_or_else(|| {
                    err(
                        sel_path.clone(),
                        format!("ContestSelection {sel_id:?} is not in the contest"),
                    )
                })?;
                let is_write_in = matches!(cs.get("IsWriteIn"), Some(Value::Bool(true)))
                    || matches!(s(cs, "IsWriteIn"), Some("true" | "1" | "yes"));
                let mut spelling = u32::MAX;
                let cand: Option<Cand> = if is_write_in {
                    config.contest.uwi
                } else {
                    let ids = arr(cs, "CandidateIds");
                    let first = ids.first().and_then(Value::as_str).ok_or_else(|| {
                        err(
                            sel_path.clone(),
                            format!("ContestSelection {sel_id:?} has no CandidateIds"),
                        )
                    })?;
                    let c = candidates.get(first).ok_or_else(|| {
                        err(
                            sel_path.clone(),
                            format!("candidate {first:?} is not in the candidate list"),
                        )
                    })?;
                    let name = s(c, "Name").unwrap_or_default();
                    let resolved = names.resolve(source, name, || sel_path.clone())?;
                    if resolved != OVERVOTE && config.contest.name(resolved) != name {
                        spelling = out.spelling(name);
                    }
                    Some(resolved)
                };
                if let Some(raw_rank) = sel.get("Rank") {
                    let rank = rank_of(raw_rank).ok_or_else(|| {
                        err(
                            sel_path.clone(),
                            format!("Rank {raw_rank} is not a number from 1"),
                        )
                    })?;
                    let c = cand.ok_or_else(|| {
                        err(
                            sel_path.clone(),
                            "a write-in but the config has no undeclared write-in label".into(),
                        )
                    })?;
                    marks.push((rank, c, spelling));
                    continue;
                }
                for (pi, pos) in arr(sel, "SelectionPosition").iter().enumerate() {
                    let mut c = cand;
                    let mut spelled = spelling;
                    if pos.get("CVRWriteIn").is_some() {
                        c = config.contest.uwi;
                        spelled = u32::MAX;
                    }
                    if s(pos, "HasIndication") == Some("no") || s(pos, "IsAllocable") == Some("no")
                    {
                        continue;
                    }
                    let pos_path = format!("{sel_path}.SelectionPosition[{pi}]");
                    // A position without a rank is not a ranking (NIST_V0 plurality marks).
                    let Some(raw_rank) = pos.get("Rank") else {
                        continue;
                    };
                    let rank = rank_of(raw_rank).ok_or_else(|| {
                        err(
                            pos_path.clone(),
                            format!("Rank {raw_rank} is not a number from 1"),
                        )
                    })?;
                    let c = c.ok_or_else(|| {
                        err(
                            pos_path,
                            "a write-in but the config has no undeclared write-in label".into(),
                        )
                    })?;
                    marks.push((rank, c, spelled));
                }
            }
        }
        let precinct = s(cvr, "BallotStyleUnitId")
            .and_then(|u| gp_units.get(u))
            .and_then(|g| s(g, "Name"));
        // RCTab identifies CDF records by file and position, not by BallotPrePrintedId.
        let id = format!("{file_name}({})", ci + 1);
        out.push_spelled(id, precinct, None, marks);
        if let Some(vendor) = s(cvr, "BallotPrePrintedId") {
            out.set_last_extra(urne_tally::model::BallotExtra {
                vendor_id: Some(vendor.to_string()),
                ..Default::default()
            });
        }
        if out.len() > BALLOTS_MAX {
            return Err(err(path, format!("more than {BALLOTS_MAX} ballots")));
        }
        Ok(())
    };
    if is_xml {
        for (ci, cvr) in arr(&json, "CVR").iter().enumerate() {
            process(ci, cvr)?;
        }
        Ok(())
    } else {
        stream_cdf_json_cvrs(file, |ci, cvr| process(ci, &cvr))
    }
}

/// Largest CDF JSON file streamed, in bytes.
pub const CDF_JSON_BYTES_MAX: u64 = 64 << 30;

/// First pass over a CDF JSON report: `Election` and `GpUnit`, skipping `CVR` without
/// keeping it.
fn read_cdf_json_header(file: &Path) -> Result<Value, Error> {
    #[derive(serde::Deserialize)]
    struct Header {
        #[serde(rename = "Election", default)]
        election: Vec<Value>,
        #[serde(rename = "GpUnit", default)]
        gp_unit: Vec<Value>,
    }
    let reader = open_limited(file, CDF_JSON_BYTES_MAX)?;
    let header: Header = serde_json::from_reader(reader).map_err(|e| Error::Cvr {
        file: file.to_path_buf(),
        at: format!("line {} column {}", e.line(), e.column()),
        rule: format!("not a valid CDF JSON report: {e}"),
    })?;
    let mut map = serde_json::Map::new();
    map.insert("Election".into(), Value::Array(header.election));
    map.insert("GpUnit".into(), Value::Array(header.gp_unit));
    Ok(Value::Object(map))
}

fn open_limited(file: &Path, max: u64) -> Result<std::io::BufReader<std::fs::File>, Error> {
    let io = |e| Error::Io {
        file: file.to_path_buf(),
        source: e,
    };
    let f = std::fs::File::open(file).map_err(io)?;
    let len = f.metadata().map_err(io)?.len();
    if len > max {
        return Err(Error::Cvr {
            file: file.to_path_buf(),
            at: String::new(),
            rule: format!("larger than {max} bytes"),
        });
    }
    Ok(std::io::BufReader::with_capacity(1 << 20, f))
}

/// Second pass: calls `on_cvr(index, record)` for each element of the top-level `CVR` array,
/// one at a time.
fn stream_cdf_json_cvrs(
    file: &Path,
    on_cvr: impl FnMut(usize, Value) -> Result<(), Error>,
) -> Result<(), Error> {
    use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use std::cell::RefCell;

    struct Top<'a, F> {
        on_cvr: &'a RefCell<F>,
        failure: &'a RefCell<Option<Error>>,
    }
    struct Cvrs<'a, F> {
        on_cvr: &'a RefCell<F>,
        failure: &'a RefCell<Option<Error>>,
    }
    impl<'de, F: FnMut(usize, Value) -> Result<(), Error>> Visitor<'de> for Top<'_, F> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a CDF CastVoteRecordReport object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<String>()? {
                if key == "CVR" {
                    map.next_value_seed(Cvrs {
                        on_cvr: self.on_cvr,
                        failure: self.failure,
                    })?;
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(())
        }
    }
    impl<'de, F: FnMut(usize, Value) -> Result<(), Error>> DeserializeSeed<'de> for Cvrs<'_, F> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_seq(self)
        }
    }
    impl<'de, F: FnMut(usize, Value) -> Result<(), Error>> Visitor<'de> for Cvrs<'_, F> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a list of CVR records")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let mut i = 0usize;
            while let Some(cvr) = seq.next_element::<Value>()? {
                let result = (self.on_cvr.borrow_mut())(i, cvr);
                if let Err(e) = result {
                    *self.failure.borrow_mut() = Some(e);
                    return Err(serde::de::Error::custom("stopped"));
                }
                i += 1;
            }
            Ok(())
        }
    }

    let reader = open_limited(file, CDF_JSON_BYTES_MAX)?;
    let on_cvr = RefCell::new(on_cvr);
    let failure = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_reader(reader);
    let parsed = de.deserialize_map(Top {
        on_cvr: &on_cvr,
        failure: &failure,
    });
    if let Some(e) = failure.into_inner() {
        return Err(e);
    }
    parsed.map_err(|e| Error::Cvr {
        file: file.to_path_buf(),
        at: format!("line {} column {}", e.line(), e.column()),
        rule: format!("not a valid CDF JSON report: {e}"),
    })
}

/// Generic CSV: a header row of candidate names; each cell holds the rank given to the
/// candidate of its column.
pub fn read_generic_csv(
    config: &Config,
    source: &Source,
    names: &Names<'_>,
    out: &mut Ballots,
) -> Result<(), Error> {
    let file = &source.resolved;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_path(file)
        .map_err(|e| Error::Cvr {
            file: file.clone(),
            at: String::new(),
            rule: format!("unreadable CSV: {e}"),
        })?;
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| Error::Cvr {
            file: file.clone(),
            at: "row 1".into(),
            rule: format!("unreadable header: {e}"),
        })?
        .iter()
        .map(str::to_string)
        .collect();
    let first_col = (source.first_vote_column.unwrap_or(1) - 1) as usize;
    let file_name = file
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let max_rank = config.rules.max_rankings;
    for (i, record) in reader.records().enumerate() {
        let row = i + 2;
        let record = record.map_err(|e| Error::Cvr {
            file: file.clone(),
            at: format!("row {row}"),
            rule: format!("unreadable CSV record: {e}"),
        })?;
        let get = |col: Option<u32>| col.and_then(|c| record.get(c as usize - 1)).map(str::trim);
        let id = match get(source.id_column) {
            Some(v) if !v.is_empty() => v.to_string(),
            _ => format!("{}-{}", sanitize(&file_name), i + 1),
        };
        let precinct = source
            .precinct_column
            .map(|_| match get(source.precinct_column) {
                Some(v) if !v.is_empty() => v.to_string(),
                _ => "no precinct id".to_string(),
            });
        let batch = source.batch_column.map(|_| match get(source.batch_column) {
            Some(v) if !v.is_empty() => v.to_string(),
            _ => "no batch id".to_string(),
        });
        let mut marks = Vec::new();
        for col in first_col..record.len() {
            let cell = record.get(col).unwrap_or("").trim();
            if cell.is_empty() {
                continue;
            }
            let at = || format!("row {row} column {}", col + 1);
            let rank: u32 = cell.parse().map_err(|_| Error::Cvr {
                file: file.clone(),
                at: at(),
                rule: format!("expected a rank number, got {cell:?}"),
            })?;
            if rank < 1 || rank > max_rank {
                return Err(Error::Cvr {
                    file: file.clone(),
                    at: at(),
                    rule: format!("rank {rank} is outside 1..={max_rank} (maxRankingsAllowed)"),
                });
            }
            let name = header.get(col).map_or("", String::as_str);
            let cand = if !source.uwi_label.is_empty() && name == source.uwi_label {
                config.contest.uwi.ok_or_else(|| Error::UnknownCandidate {
                    file: file.clone(),
                    at: at(),
                    name: name.to_string(),
                })?
            } else {
                names.resolve(source, name, at)?
            };
            marks.push((rank, cand));
        }
        if out.len() >= BALLOTS_MAX {
            return Err(Error::Cvr {
                file: file.clone(),
                at: String::new(),
                rule: format!("more than {BALLOTS_MAX} ballots"),
            });
        }
        out.push(id, precinct.as_deref(), batch.as_deref(), marks);
    }
    Ok(())
}

/// Most XML elements one CDF XML file may hold.
pub const XML_ELEMENTS_MAX: usize = 200_000_000;

/// Reads a NIST SP 1500-103 CDF XML file (final or the `NIST_V0` pre-release dialect) into the
/// same tree the JSON reader walks: elements become objects, repeated children arrays,
/// text-only elements strings, and `ObjectId` attributes `@id`.
pub fn read_cdf_xml_tree(file: &Path) -> Result<Value, Error> {
    use quick_xml::events::Event;
    let meta = std::fs::metadata(file).map_err(|e| Error::Io {
        file: file.to_path_buf(),
        source: e,
    })?;
    if meta.len() > CVR_FILE_BYTES_MAX {
        return Err(Error::Cvr {
            file: file.to_path_buf(),
            at: String::new(),
            rule: format!("larger than {CVR_FILE_BYTES_MAX} bytes"),
        });
    }
    let bytes = std::fs::read(file).map_err(|e| Error::Io {
        file: file.to_path_buf(),
        source: e,
    })?;
    let mut reader = quick_xml::Reader::from_reader(bytes.as_slice());
    // Stack of (name, children, text).
    type Frame = (String, Vec<(String, Value)>, String);
    let mut stack: Vec<Frame> = vec![(String::new(), Vec::new(), String::new())];
    let mut buf = Vec::new();
    let mut count = 0usize;
    let bad = |reader: &quick_xml::Reader<&[u8]>, e: String| Error::Cvr {
        file: file.to_path_buf(),
        at: format!("byte {}", reader.buffer_position()),
        rule: e,
    };
    loop {
        let ev = reader
            .read_event_into(&mut buf)
            .map_err(|e| bad(&reader, format!("bad XML: {e}")))?;
        let (opened, empty) = match &ev {
            Event::Start(e) => (Some(e.clone()), false),
            Event::Empty(e) => (Some(e.clone()), true),
            _ => (None, false),
        };
        if let Some(e) = opened {
            count += 1;
            if count > XML_ELEMENTS_MAX {
                return Err(bad(
                    &reader,
                    format!("more than {XML_ELEMENTS_MAX} elements"),
                ));
            }
            let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
            let mut children = Vec::new();
            for a in e.attributes().flatten() {
                let key = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
                let val = a
                    .unescape_value()
                    .map(|v| v.into_owned())
                    .unwrap_or_default();
                let key = match key.as_str() {
                    "ObjectId" | "id" => "@id".to_string(),
                    "type" => "@type".to_string(),
                    _ => key,
                };
                children.push((key, Value::String(val)));
            }
            stack.push((name, children, String::new()));
            if !empty {
                buf.clear();
                continue;
            }
        }
        match ev {
            Event::End(_) | Event::Empty(_) => {
                let Some((name, children, text)) = stack.pop() else {
                    break;
                };
                let value = if children.is_empty() {
                    Value::String(text.trim().to_string())
                } else {
                    let mut map = serde_json::Map::new();
                    for (k, v) in children {
                        match map.get_mut(&k) {
                            Some(Value::Array(a)) => a.push(v),
                            Some(existing) => {
                                let first = existing.take();
                                *existing = Value::Array(vec![first, v]);
                            }
                            None => {
                                map.insert(k, v);
                            }
                        }
                    }
                    Value::Object(map)
                };
                match stack.last_mut() {
                    Some(parent) => parent.1.push((name, value)),
                    None => break,
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.2.push_str(&t.decode().unwrap_or_default());
                }
            }
            Event::GeneralRef(r) => {
                if let Some(top) = stack.last_mut() {
                    let s = match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        _ => match r.decode().unwrap_or_default().as_ref() {
                            "amp" => "&".into(),
                            "lt" => "<".into(),
                            "gt" => ">".into(),
                            "quot" => "\"".into(),
                            "apos" => "'".into(),
                            _ => String::new(),
                        },
                    };
                    top.2.push_str(&s);
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    let root = stack.pop().map(|f| f.1).unwrap_or_default();
    // The document element's content is the report.
    Ok(root
        .into_iter()
        .next()
        .map(|(_, v)| v)
        .unwrap_or(Value::Null))
}

/// Dominion's JSON export folder: `CvrExport*.json` sessions plus manifests.
pub fn read_dominion(
    config: &Config,
    source: &Source,
    names: &Names<'_>,
    out: &mut Ballots,
) -> Result<(), Error> {
    let dir = &source.resolved;
    let manifest = |name: &str| -> Result<Option<Value>, Error> {
        let p = dir.join(name);
        if p.exists() {
            read_json(&p).map(Some)
        } else {
            Ok(None)
        }
    };
    let list_map = |v: &Option<Value>| -> HashMap<String, String> {
        let mut m = HashMap::new();
        if let Some(v) = v {
            for e in arr(v, "List") {
                if let (Some(id), Some(d)) = (e.get("Id"), s(e, "Description")) {
                    m.insert(id.to_string(), d.to_string());
                }
            }
        }
        m
    };
    let precincts = list_map(&manifest("PrecinctManifest.json")?);
    // Contests the scanner flagged "InvalidContest" are not ballots of the contest (RCTab 2).
    let invalid_condition: Option<String> = list_map(&manifest("OutstackConditionManifest.json")?)
        .into_iter()
        .find(|(_, d)| d == "InvalidContest")
        .map(|(id, _)| id);
    let candidates_v = manifest("CandidateManifest.json")?.ok_or_else(|| Error::Cvr {
        file: dir.join("CandidateManifest.json"),
        at: String::new(),
        rule: "the Dominion candidate manifest is missing".into(),
    })?;
    let mut candidate_names: HashMap<String, String> = HashMap::new();
    for c in arr(&candidates_v, "List") {
        if (c.get("ContestId").map(Value::to_string).as_deref() == Some(source.contest_id.as_str())
            || s(c, "ContestId") == Some(source.contest_id.as_str()))
            && let (Some(id), Some(d)) = (c.get("Id"), s(c, "Description"))
        {
            candidate_names.insert(id.to_string(), d.to_string());
        }
    }
    let mut exports: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::Io {
            file: dir.clone(),
            source: e,
        })?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = p
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            n.starts_with("CvrExport") && n.ends_with(".json")
        })
        .collect();
    exports.sort();
    if exports.is_empty() {
        return Err(Error::Cvr {
            file: dir.clone(),
            at: String::new(),
            rule: "no CvrExport*.json file in the Dominion folder".into(),
        });
    }
    let before = out.len();
    for export in &exports {
        let json = read_json(export)?;
        for (si, session) in arr(&json, "Sessions").iter().enumerate() {
            let path = format!("$.Sessions[{si}]");
            let mut data = session.get("Original");
            let current = data
                .and_then(|d| d.get("IsCurrent"))
                .and_then(Value::as_bool)
                .unwrap_or(true);
            if !current {
                match session.get("Modified") {
                    Some(m) => data = Some(m),
                    None => continue,
                }
            }
            let Some(data) = data else { continue };
            let precinct = data
                .get("PrecinctId")
                .map(Value::to_string)
                .and_then(|p| precincts.get(&p).cloned());
            let batch = session.get("BatchId").map(Value::to_string);
            let record = session
                .get("RecordId")
                .map(Value::to_string)
                .unwrap_or_default();
            let tabulator = session
                .get("TabulatorId")
                .map(Value::to_string)
                .unwrap_or_default();
            let mut contests: Vec<&Value> = Vec::new();
            if data.get("Cards").is_some() {
                for card in arr(data, "Cards") {
                    contests.extend(arr(card, "Contests"));
                }
            } else {
                contests.extend(arr(data, "Contests"));
            }
            for (ci, contest) in contests.into_iter().enumerate() {
                let id = contest
                    .get("Id")
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string));
                if id.as_deref() != Some(source.contest_id.as_str()) {
                    continue;
                }
                if let Some(invalid) = &invalid_condition
                    && arr(contest, "OutstackConditionIds")
                        .iter()
                        .any(|c| &c.to_string() == invalid)
                {
                    continue;
                }
                let mut marks = Vec::new();
                for (mi, mark) in arr(contest, "Marks").iter().enumerate() {
                    if mark
                        .get("IsAmbiguous")
                        .and_then(Value::as_bool)
                        .unwrap_or(false)
                    {
                        continue;
                    }
                    let at = || format!("{}: {path}.Contests[{ci}].Marks[{mi}]", export.display());
                    let code = mark
                        .get("CandidateId")
                        .map(Value::to_string)
                        .unwrap_or_default();
                    let rank = mark
                        .get("Rank")
                        .and_then(rank_of)
                        .ok_or_else(|| Error::Cvr {
                            file: export.clone(),
                            at: at(),
                            rule: "Rank is missing".into(),
                        })?;
                    let cand = if !source.uwi_label.is_empty() && code == source.uwi_label {
                        config.contest.uwi.ok_or_else(|| Error::UnknownCandidate {
                            file: export.clone(),
                            at: at(),
                            name: code.clone(),
                        })?
                    } else {
                        let name = candidate_names.get(&code).ok_or_else(|| Error::Cvr {
                            file: export.clone(),
                            at: at(),
                            rule: format!(
                                "candidate id {code} is not in the manifest for contest {}",
                                source.contest_id
                            ),
                        })?;
                        names.resolve(source, name, at)?
                    };
                    marks.push((rank, cand));
                }
                if out.len() >= BALLOTS_MAX {
                    return Err(Error::Cvr {
                        file: export.clone(),
                        at: String::new(),
                        rule: format!("more than {BALLOTS_MAX} ballots"),
                    });
                }
                out.push(
                    format!("{tabulator}-{}-{record}", batch.clone().unwrap_or_default()),
                    precinct.as_deref(),
                    batch.as_deref(),
                    marks,
                );
            }
        }
    }
    if out.len() == before {
        return Err(Error::Cvr {
            file: dir.clone(),
            at: String::new(),
            rule: format!("no cast vote record for contest {}", source.contest_id),
        });
    }
    Ok(())
}

/// Clear Ballot CSV: one column per (contest, rank, candidate), headed
/// `Choice_<n>_<m>:<contest>:<rank>:<vote for>:<candidate>:<party>`, `1` where marked.
pub fn read_clear_ballot(
    config: &Config,
    source: &Source,
    names: &Names<'_>,
    out: &mut Ballots,
) -> Result<(), Error> {
    let file = &source.resolved;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_path(file)
        .map_err(|e| Error::Cvr {
            file: file.clone(),
            at: String::new(),
            rule: format!("unreadable CSV: {e}"),
        })?;
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| Error::Cvr {
            file: file.clone(),
            at: "row 1".into(),
            rule: format!("unreadable header: {e}"),
        })?
        .iter()
        .map(str::to_string)
        .collect();
    let column = |name: &str| header.iter().position(|h| h == name);
    let (ballot_col, precinct_col) = (column("BallotID"), column("PrecinctID"));
    // (column, rank, candidate) for this contest.
    let mut choices: Vec<(usize, u32, Cand)> = Vec::new();
    for (col, h) in header.iter().enumerate() {
        let parts: Vec<&str> = h.split(':').collect();
        if parts.len() < 5 || !parts[0].starts_with("Choice_") || parts[1] != source.contest_id {
            continue;
        }
        let at = || format!("row 1 column {}", col + 1);
        let rank: u32 = parts[2].trim().parse().map_err(|_| Error::Cvr {
            file: file.clone(),
            at: at(),
            rule: format!("rank {:?} is not a number", parts[2]),
        })?;
        let name = parts[4].trim();
        let cand = if name == source.uwi_label || name.eq_ignore_ascii_case("write-in") {
            config.contest.uwi.ok_or_else(|| Error::UnknownCandidate {
                file: file.clone(),
                at: at(),
                name: name.to_string(),
            })?
        } else {
            names.resolve(source, name, at)?
        };
        choices.push((col, rank, cand));
    }
    if choices.is_empty() {
        return Err(Error::Cvr {
            file: file.clone(),
            at: "row 1".into(),
            rule: format!("no column for contest {:?}", source.contest_id),
        });
    }
    for (i, record) in reader.records().enumerate() {
        let row = i + 2;
        let record = record.map_err(|e| Error::Cvr {
            file: file.clone(),
            at: format!("row {row}"),
            rule: format!("unreadable CSV record: {e}"),
        })?;
        let marks: Vec<(u32, Cand)> = choices
            .iter()
            .filter(|(col, _, _)| record.get(*col).is_some_and(|v| v.trim() == "1"))
            .map(|(_, rank, c)| (*rank, *c))
            .collect();
        let id = ballot_col
            .and_then(|c| record.get(c))
            .map_or_else(|| format!("{}-{}", file.display(), i + 1), str::to_string);
        let precinct = precinct_col.and_then(|c| record.get(c));
        if out.len() >= BALLOTS_MAX {
            return Err(Error::Cvr {
                file: file.clone(),
                at: String::new(),
                rule: format!("more than {BALLOTS_MAX} ballots"),
            });
        }
        out.push(id, precinct, None, marks);
    }
    Ok(())
}

/// Hart: a folder of one-XML-file-per-sheet CVRs; a ranking is a bit string read from the
/// left (`010000` is rank 2).
pub fn read_hart(
    config: &Config,
    source: &Source,
    names: &Names<'_>,
    out: &mut Ballots,
) -> Result<(), Error> {
    let dir = &source.resolved;
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::Io {
            file: dir.clone(),
            source: e,
        })?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("xml")))
        .collect();
    files.sort();
    for file in &files {
        let cvr = read_cdf_xml_tree(file)?;
        let contests: Vec<&Value> = arr(&cvr, "Contests")
            .iter()
            .flat_map(|c| arr(c, "Contest"))
            .collect();
        let Some(contest) = contests
            .into_iter()
            .find(|c| s(c, "Id") == Some(source.contest_id.as_str()))
        else {
            continue;
        };
        let mut marks = Vec::new();
        let options: Vec<&Value> = arr(contest, "Options")
            .iter()
            .flat_map(|o| arr(o, "Option"))
            .collect();
        for (oi, option) in options.into_iter().enumerate() {
            let at = || format!("Contest {}.Options.Option[{oi}]", source.contest_id);
            let id = s(option, "Id").unwrap_or_default();
            let cand = if !source.uwi_label.is_empty() && id == source.uwi_label {
                config.contest.uwi.ok_or_else(|| Error::UnknownCandidate {
                    file: file.clone(),
                    at: at(),
                    name: id.to_string(),
                })?
            } else {
                match names.resolve(source, id, at) {
                    Ok(c) => c,
                    Err(e) => match s(option, "Name") {
                        Some(n) => names.resolve(source, n, at).map_err(|_| e)?,
                        None => return Err(e),
                    },
                }
            };
            let bits = s(option, "Value").unwrap_or_default().trim();
            if !bits.bytes().all(|b| b == b'0' || b == b'1') {
                return Err(Error::Cvr {
                    file: file.clone(),
                    at: at(),
                    rule: format!("rank bits {bits:?} are not a bit string"),
                });
            }
            for (i, b) in bits.bytes().enumerate() {
                if b == b'1' {
                    marks.push((i as u32 + 1, cand));
                }
            }
        }
        let id = s(&cvr, "CvrGuid").map_or_else(|| file.display().to_string(), str::to_string);
        let precinct = cvr.get("PrecinctSplit").and_then(|p| s(p, "Name"));
        let batch = s(&cvr, "BatchNumber");
        if out.len() >= BALLOTS_MAX {
            return Err(Error::Cvr {
                file: file.clone(),
                at: String::new(),
                rule: format!("more than {BALLOTS_MAX} ballots"),
            });
        }
        out.push(id, precinct, batch, marks);
    }
    Ok(())
}
