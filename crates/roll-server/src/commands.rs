//! The `urne roll` commands as library functions; `cli` only parses arguments, reads the master
//! key and opens the database.

use std::io::Write;
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use urne_release::manifest::{ElectionId, Kind, Manifest, MediaType, PayloadRef, Status};
use urne_roll::audit::AdditionSource;
use urne_roll::synth::Synth;
use urne_roll::{Date, VoterRecord};
use urne_roll_store::{
    ImportError, ImportProgress, ImportSummary, Roll, RollStoreError, RowError, Session,
};

use crate::format::{self, CSV_COLUMNS, CsvLayout};
use crate::{vri, xml};

/// Bytes in a JSON or XML import file (these are parsed whole; use CSV for state-size files).
pub const JSON_IMPORT_BYTES_MAX: u64 = 1024 * 1024 * 1024;

/// A voter file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// CSV, urne layout or a state's through a mapping file.
    Csv,
    /// NIST SP 1500-102 style JSON.
    Json,
    /// NIST SP 1500-102 style XML.
    Xml,
}

impl FileFormat {
    /// The format named `name` (`csv`, `json`, `xml`).
    pub fn named(name: &str) -> Option<FileFormat> {
        match name.to_ascii_lowercase().as_str() {
            "csv" => Some(FileFormat::Csv),
            "json" => Some(FileFormat::Json),
            "xml" => Some(FileFormat::Xml),
            _ => None,
        }
    }

    /// The format `given`, else the one `path`'s extension names, else CSV.
    pub fn of(given: Option<FileFormat>, path: &Path) -> FileFormat {
        given
            .or_else(|| {
                path.extension()
                    .and_then(|e| e.to_str())
                    .and_then(FileFormat::named)
            })
            .unwrap_or(FileFormat::Csv)
    }
}
/// Records in one generated file.
pub const GENERATE_RECORDS_MAX: u64 = 100_000_000;

/// A command failed; the message names the file and line or path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// Reading or writing a file.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        error: std::io::Error,
    },
    /// The input is malformed (before any row).
    #[error("{0}")]
    Input(String),
    /// Bad rows: nothing was imported.
    #[error("{file}: {} bad row(s), nothing imported:\n{}", .rows.len(), .rows.iter().map(|r| format!("  {file}:{r}")).collect::<Vec<_>>().join("\n"))]
    Rows {
        /// The file.
        file: String,
        /// The rows.
        rows: Vec<RowError>,
    },
    /// The roll store.
    #[error(transparent)]
    Store(#[from] RollStoreError),
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> CommandError + '_ {
    move |error| CommandError::Io {
        path: path.display().to_string(),
        error,
    }
}

/// Writes `n` synthetic voters (seed `seed`, as of `as_of`) as urne-layout CSV.
pub fn generate(n: u64, seed: u64, as_of: Date, out: &mut dyn Write) -> Result<(), std::io::Error> {
    if n > GENERATE_RECORDS_MAX {
        return Err(std::io::Error::other(format!(
            "at most {GENERATE_RECORDS_MAX} records"
        )));
    }
    let mut w = csv::Writer::from_writer(out);
    w.write_record(CSV_COLUMNS)?;
    let mut s = Synth::new(seed, as_of, "CA");
    for _ in 0..n {
        w.write_record(format::record_to_csv(&s.record()))?;
    }
    w.flush()
}

struct Bar(ProgressBar);

impl ImportProgress for Bar {
    fn written(&self, n: u64) {
        self.0.inc(n);
    }
}

/// Imports a CSV (urne layout, or a state's through `mapping`), NIST-style JSON or NIST-style
/// XML file (`format`, else by extension: `.json`, `.xml`, else CSV), all or nothing, with a
/// progress bar on stderr when `progress`.
#[allow(clippy::too_many_arguments)]
pub async fn import(
    roll: &Roll,
    file: &Path,
    format: Option<FileFormat>,
    mapping: Option<&Path>,
    source: AdditionSource,
    by: &Session,
    approver: Option<&Session>,
    progress: bool,
    now: u64,
) -> Result<ImportSummary, CommandError> {
    let name = file.display().to_string();
    let bar = if progress {
        let b = ProgressBar::new_spinner();
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} {pos} records sealed and written ({per_sec}) {elapsed}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        b.enable_steady_tick(std::time::Duration::from_millis(200));
        b
    } else {
        ProgressBar::hidden()
    };
    let whole = match FileFormat::of(format, file) {
        FileFormat::Csv => None,
        FileFormat::Json => Some(json_rows(file)?),
        FileFormat::Xml => Some(xml_rows(file)?),
    };
    let result = if let Some(rows) = whole {
        roll.import(
            by,
            approver,
            source,
            rows.into_iter(),
            &Bar(bar.clone()),
            now,
        )
        .await
    } else {
        let rows = csv_rows(file, mapping)?;
        roll.import(by, approver, source, rows, &Bar(bar.clone()), now)
            .await
    };
    bar.finish_and_clear();
    match result {
        Ok(s) => Ok(s),
        Err(ImportError::Rows(rows)) => Err(CommandError::Rows { file: name, rows }),
        Err(ImportError::Store(e)) => Err(e.into()),
        Err(e) => Err(CommandError::Input(e.to_string())),
    }
}

type Row = Result<(u64, VoterRecord), RowError>;
type Rows = Box<dyn Iterator<Item = Row> + Send>;

fn csv_rows(file: &Path, mapping: Option<&Path>) -> Result<Rows, CommandError> {
    let map = match mapping {
        Some(m) => {
            let text = std::fs::read_to_string(m).map_err(io(m))?;
            format::parse_mapping(&text)
                .map_err(|e| CommandError::Input(format!("{}: {e}", m.display())))?
        }
        None => Default::default(),
    };
    let mut r = csv::ReaderBuilder::new()
        .flexible(false)
        .from_path(file)
        .map_err(|e| CommandError::Input(format!("{}: {e}", file.display())))?;
    let header = r
        .headers()
        .map_err(|e| CommandError::Input(format!("{}:1: {e}", file.display())))?
        .clone();
    let layout = CsvLayout::from_header(&header, &map)
        .map_err(|e| CommandError::Input(format!("{}:1: {e}", file.display())))?;
    let mut rec = csv::StringRecord::new();
    let it = std::iter::from_fn(move || {
        let line = r.position().line() + 1;
        match r.read_record(&mut rec) {
            Ok(false) => None,
            Ok(true) => {
                let line = rec.position().map_or(line, |p| p.line());
                Some(
                    layout
                        .record(&rec)
                        .map(|v| (line, v))
                        .map_err(|message| RowError { line, message }),
                )
            }
            Err(e) => Some(Err(RowError {
                line,
                message: format!("CSV: {}", csv_error_kind(&e)),
            })),
        }
    });
    Ok(Box::new(it.fuse()))
}

/// A CSV error without the offending bytes (they may be PII).
fn csv_error_kind(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("{len} fields, expected {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "not UTF-8".into(),
        _ => "malformed row".into(),
    }
}

fn read_whole(file: &Path) -> Result<Vec<u8>, CommandError> {
    let len = std::fs::metadata(file).map_err(io(file))?.len();
    if len > JSON_IMPORT_BYTES_MAX {
        return Err(CommandError::Input(format!(
            "{}: over {JSON_IMPORT_BYTES_MAX} bytes; use CSV",
            file.display()
        )));
    }
    std::fs::read(file).map_err(io(file))
}

fn xml_rows(file: &Path) -> Result<Vec<Row>, CommandError> {
    let bytes = read_whole(file)?;
    let recs = xml::records_from_xml(&bytes).map_err(|e| {
        CommandError::Input(format!("{}:{}: {}", file.display(), e.line, e.message))
    })?;
    Ok(recs
        .into_iter()
        .map(|(line, r)| {
            r.map(|v| (line, v))
                .map_err(|message| RowError { line, message })
        })
        .collect())
}

fn json_rows(file: &Path) -> Result<Vec<Row>, CommandError> {
    let bytes = read_whole(file)?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        CommandError::Input(format!("{}:{}: invalid JSON", file.display(), e.line()))
    })?;
    // The VRI JSON form (what `export` writes) or the older `{"VoterRecords": [...]}`.
    let vri = v.get("@type").and_then(|t| t.as_str()) == Some(vri::VRI_JSON_TYPE);
    type Decode = fn(&serde_json::Value, &str) -> Result<VoterRecord, String>;
    let (key, decode): (&str, Decode) = if vri {
        ("VoterRecord", vri::record_from_vri_json)
    } else {
        ("VoterRecords", format::record_from_json)
    };
    let recs = v.get(key).and_then(|r| r.as_array()).ok_or_else(|| {
        CommandError::Input(format!(
            "{}: $.{key}: expected an array (a VRI.VoterRecordResults or {{\"VoterRecords\": [...]}})",
            file.display()
        ))
    })?;
    Ok(recs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            decode(r, &format!("$.{key}[{i}]"))
                .map(|v| (i as u64 + 1, v))
                .map_err(|message| RowError {
                    line: i as u64 + 1,
                    message,
                })
        })
        .collect())
}

/// Exports every record as urne CSV, NIST-style JSON or NIST-style XML (`format`, else by
/// `out`'s extension), as the staff member `by` (who needs `ReadPii`), recorded in the access
/// log with `purpose`. Returns the count.
pub async fn export(
    roll: &Roll,
    by: &Session,
    purpose: &str,
    out: &Path,
    format: Option<FileFormat>,
    now: u64,
) -> Result<u64, CommandError> {
    let f = std::fs::File::create(out).map_err(io(out))?;
    let mut w = std::io::BufWriter::new(f);
    let fmt = FileFormat::of(format, out);
    let n = if fmt == FileFormat::Xml {
        w.write_all(vri::VRI_HEAD.as_bytes()).map_err(io(out))?;
        let n = roll
            .export(by, purpose, now, |r| {
                let el = vri::record_to_vri(&r)?;
                w.write_all(el.as_bytes()).map_err(|e| e.to_string())
            })
            .await?;
        w.write_all(vri::VRI_TAIL.as_bytes()).map_err(io(out))?;
        n
    } else if fmt == FileFormat::Json {
        let head = format!("{{\"@type\":\"{}\",\"VoterRecord\":[\n", vri::VRI_JSON_TYPE);
        w.write_all(head.as_bytes()).map_err(io(out))?;
        let mut first = true;
        let n = roll
            .export(by, purpose, now, |r| {
                if !first {
                    w.write_all(b",\n").map_err(|e| e.to_string())?;
                }
                first = false;
                serde_json::to_writer(&mut w, &vri::record_to_vri_json(&r))
                    .map_err(|e| e.to_string())
            })
            .await?;
        w.write_all(b"\n]}\n").map_err(io(out))?;
        n
    } else {
        let mut c = csv::Writer::from_writer(&mut w);
        c.write_record(CSV_COLUMNS)
            .map_err(|e| CommandError::Input(e.to_string()))?;
        let n = roll
            .export(by, purpose, now, |r| {
                c.write_record(format::record_to_csv(&r))
                    .map_err(|e| e.to_string())
            })
            .await?;
        c.flush().map_err(io(out))?;
        drop(c);
        n
    };
    w.flush().map_err(io(out))?;
    w.get_ref().sync_all().map_err(io(out))?;
    Ok(n)
}

/// Where a digest goes in the release streams: the `roll-digest` stream of `election`.
#[derive(Debug, Clone)]
pub struct DigestRelease {
    /// The stream's id (e.g. the roll id, lower case).
    pub election: String,
    /// Position in the stream, from 0.
    pub sequence: u64,
    /// The previous manifest's hash (64 hex), exactly when `sequence > 0`.
    pub previous: Option<String>,
    /// Period start (Unix seconds).
    pub start: u64,
}

fn parse_hex32(s: &str) -> Result<[u8; 32], CommandError> {
    let bad = || CommandError::Input("--previous: expected 64 hex digits".into());
    if s.len() != 64 {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2).ok_or_else(bad)?, 16).map_err(|_| bad())?;
    }
    Ok(out)
}

/// Writes a `roll-digest` release bundle to the new directory `out`: `manifest`
/// (`urne-release/v1`, kind `roll-digest`), `payload` (the `urne roll-digest v1` text) and an
/// empty `signatures` for officials to sign (`urne sign`) and publish like results.
pub async fn digest_bundle(
    roll: &Roll,
    release: &DigestRelease,
    out: &Path,
    now: u64,
) -> Result<Manifest, CommandError> {
    let d = roll.digest(release.start, now).await?;
    let payload = d
        .encode()
        .map_err(|e| CommandError::Input(e.to_string()))?
        .into_bytes();
    let election = ElectionId::new(&release.election)
        .map_err(|e| CommandError::Input(format!("election id: {e}")))?;
    let manifest = Manifest {
        kind: Kind::RollDigest,
        election: Some(election),
        sequence: release.sequence,
        previous: release.previous.as_deref().map(parse_hex32).transpose()?,
        timestamp: now,
        status: Status::Official,
        correction: None,
        payload: PayloadRef {
            sha256: urne_release::manifest::sha256(&payload),
            size: payload.len() as u64,
            media_type: MediaType::new("text/plain")
                .map_err(|e| CommandError::Input(e.to_string()))?,
        },
    };
    let text = manifest
        .encode()
        .map_err(|e| CommandError::Input(e.to_string()))?;
    std::fs::create_dir(out).map_err(io(out))?;
    for (name, bytes) in [
        ("payload", payload.as_slice()),
        ("manifest", text.as_bytes()),
        ("signatures", b"".as_slice()),
    ] {
        let p = out.join(name);
        std::fs::write(&p, bytes).map_err(io(&p))?;
    }
    Ok(manifest)
}
