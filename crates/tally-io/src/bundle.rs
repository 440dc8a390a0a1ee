//! The signed payload of a `cvr` release: one canonical JSON container that holds everything a
//! re-tally needs and what the re-tally must reproduce, so that nothing outside the signatures
//! decides the result.
//!
//! ```text
//! {"cvr": <NIST SP 1500-103 CDF CVR JSON>,
//!  "format": "urne-cvr-bundle/v1",
//!  "reports": {"<report path>": <RCTab detailed report JSON>, ...},
//!  "tally_config": <RCTab contest config: one cdf source, filePath "cvr.json">}
//! ```
//!
//! Keys are sorted and the text is compact (serde_json's `Value` order), so the same inputs give
//! the same bytes. The detailed reports carry every round, fractional tallies included (the
//! results snapshot keeps only whole-vote rounds). [`verify_payload`] re-tallies from the
//! container alone and compares its reports with the signed ones, ignoring only RCTab's
//! `GeneratedDate` / `generatedBy` keys.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::Error;

/// The container's `format` value.
pub const FORMAT: &str = "urne-cvr-bundle/v1";
/// The payload's media type in the release manifest.
pub const MEDIA_TYPE: &str = "application/vnd.urne.cvr-bundle.v1+json";
/// The CVR file name the container's config reads (inside the re-tally's work directory).
pub const CVR_FILE: &str = "cvr.json";
/// The config file name written into the re-tally's work directory.
pub const CONFIG_FILE: &str = "tally_config.json";
/// Largest payload [`verify_payload`] accepts, in bytes.
pub const PAYLOAD_BYTES_MAX: u64 = 4 << 30;
/// Most reports one container may hold (one per pass and per precinct or batch).
pub const REPORTS_MAX: usize = 100_000;

/// A built payload.
#[derive(Debug)]
pub struct Payload {
    /// The container's bytes (what the release manifest commits to).
    pub bytes: Vec<u8>,
    /// Ballots in the CVR.
    pub ballots: usize,
    /// Detailed reports carried.
    pub reports: usize,
}

/// What a verification re-tallied.
#[derive(Debug)]
pub struct Verified {
    pub ballots: usize,
    pub winners: Vec<String>,
    /// Reports compared, all equal.
    pub reports: usize,
}

fn bundle_err(file: &Path, rule: impl Into<String>) -> Error {
    Error::Config {
        file: file.to_path_buf(),
        path: "$".into(),
        rule: rule.into(),
    }
}

fn io(file: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |e| Error::Io {
        file: file.to_path_buf(),
        source: e,
    }
}

/// Removes RCTab's run-dependent keys (`GeneratedDate`, `generatedBy`) at any depth.
fn strip_generated(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.remove("GeneratedDate");
            m.remove("generatedBy");
            m.values_mut().for_each(strip_generated);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_generated),
        _ => {}
    }
}

fn read_json(file: &Path) -> Result<Value, Error> {
    let text = std::fs::read_to_string(file).map_err(io(file))?;
    serde_json::from_str(&text).map_err(|e| bundle_err(file, format!("not valid JSON: {e}")))
}

/// Tallies `config` into `out` and returns its detailed reports by path (with `/`).
fn detailed_reports(
    config: &Path,
    out: &Path,
) -> Result<(crate::Report, BTreeMap<String, Value>), Error> {
    let report = crate::run(config, out)?;
    let mut reports = BTreeMap::new();
    for f in &report.files {
        let name = f
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        if name.ends_with("detailed_report.json") {
            reports.insert(name, read_json(&out.join(f))?);
        }
    }
    Ok((report, reports))
}

/// Builds the payload for `config_path`, using `work` (created, left for the caller to remove)
/// for the re-tally. Refuses when the re-tally of the exported CVRs does not reproduce the
/// original tally's top-level detailed reports (the export lost something).
pub fn build_payload(config_path: &Path, work: &Path) -> Result<Payload, Error> {
    let export = crate::cvr_export(config_path, CVR_FILE)?;
    std::fs::create_dir_all(work).map_err(io(work))?;
    let cvr_path = work.join(CVR_FILE);
    let retally_path = work.join(CONFIG_FILE);
    std::fs::write(&cvr_path, &export.cdf_json).map_err(io(&cvr_path))?;
    std::fs::write(&retally_path, &export.retally_config).map_err(io(&retally_path))?;
    let (_, original) = detailed_reports(config_path, &work.join("original"))?;
    let (_, reports) = detailed_reports(&retally_path, &work.join("retally"))?;
    for (name, want) in original.iter().filter(|(n, _)| !n.contains('/')) {
        let mut want = want.clone();
        strip_generated(&mut want);
        let mut got = reports.get(name).cloned().unwrap_or(Value::Null);
        strip_generated(&mut got);
        if want != got {
            return Err(bundle_err(
                config_path,
                format!("re-tallying the exported CVRs does not reproduce {name}"),
            ));
        }
    }
    let cvr: Value = serde_json::from_str(&export.cdf_json)
        .map_err(|e| bundle_err(&cvr_path, format!("export is not valid JSON: {e}")))?;
    let tally_config: Value = serde_json::from_str(&export.retally_config)
        .map_err(|e| bundle_err(&retally_path, format!("not valid JSON: {e}")))?;
    let n = reports.len();
    let container = serde_json::json!({
        "cvr": cvr,
        "format": FORMAT,
        "reports": reports,
        "tally_config": tally_config,
    });
    let bytes = serde_json::to_vec(&container)
        .map_err(|e| bundle_err(config_path, format!("cannot encode the payload: {e}")))?;
    Ok(Payload {
        bytes,
        ballots: export.ballots,
        reports: n,
    })
}

/// Re-tallies a payload (read from `file`, for errors) in `work` and compares every signed
/// report with the re-tally's. Only the container is used: its config must read exactly its
/// own CVR (one `cdf` source named [`CVR_FILE`]).
pub fn verify_payload(file: &Path, bytes: &[u8], work: &Path) -> Result<Verified, Error> {
    if bytes.len() as u64 > PAYLOAD_BYTES_MAX {
        return Err(bundle_err(
            file,
            format!("payload larger than {PAYLOAD_BYTES_MAX} bytes"),
        ));
    }
    let at = |path: &str, rule: &str| Error::Config {
        file: file.to_path_buf(),
        path: path.into(),
        rule: rule.into(),
    };
    let mut root: Value = serde_json::from_slice(bytes)
        .map_err(|e| bundle_err(file, format!("payload is not valid JSON: {e}")))?;
    let obj = root
        .as_object_mut()
        .ok_or_else(|| at("$", "must be an object"))?;
    if obj.remove("format").as_ref().and_then(Value::as_str) != Some(FORMAT) {
        return Err(at("$.format", &format!("must be {FORMAT:?}")));
    }
    let cvr = obj
        .remove("cvr")
        .ok_or_else(|| at("$.cvr", "is required"))?;
    if !cvr.is_object() {
        return Err(at("$.cvr", "must be a CDF CVR object"));
    }
    let config = obj
        .remove("tally_config")
        .ok_or_else(|| at("$.tally_config", "is required"))?;
    let sources = config.get("cvrFileSources").and_then(Value::as_array);
    let own = sources.is_some_and(|s| {
        s.len() == 1
            && s[0].get("provider").and_then(Value::as_str) == Some("cdf")
            && s[0].get("filePath").and_then(Value::as_str) == Some(CVR_FILE)
    });
    if !own {
        return Err(at(
            "$.tally_config.cvrFileSources",
            "must be exactly one cdf source reading cvr.json (the container's own CVR)",
        ));
    }
    let signed = match obj.remove("reports") {
        Some(Value::Object(m)) if !m.is_empty() && m.len() <= REPORTS_MAX => m,
        _ => {
            return Err(at(
                "$.reports",
                &format!("must be an object of 1 to {REPORTS_MAX} detailed reports"),
            ));
        }
    };
    if let Some(k) = obj.keys().next() {
        return Err(at(&format!("$.{k}"), "unexpected key"));
    }
    std::fs::create_dir_all(work).map_err(io(work))?;
    let cvr_path = work.join(CVR_FILE);
    let config_path: PathBuf = work.join(CONFIG_FILE);
    let text = serde_json::to_vec(&cvr).map_err(|e| bundle_err(file, e.to_string()))?;
    std::fs::write(&cvr_path, text).map_err(io(&cvr_path))?;
    let text = serde_json::to_vec_pretty(&config).map_err(|e| bundle_err(file, e.to_string()))?;
    std::fs::write(&config_path, text).map_err(io(&config_path))?;
    let (report, got) = detailed_reports(&config_path, &work.join("retally"))?;
    for name in got.keys() {
        if !signed.contains_key(name) {
            return Err(at(
                "$.reports",
                &format!("the re-tally writes {name}, which the payload lacks"),
            ));
        }
    }
    for (name, want) in &signed {
        let path = format!("$.reports[{name:?}]");
        let Some(got) = got.get(name) else {
            return Err(at(&path, "the re-tally writes no such report"));
        };
        let (mut want, mut got) = (want.clone(), got.clone());
        strip_generated(&mut want);
        strip_generated(&mut got);
        if want != got {
            return Err(at(
                &path,
                "differs from the re-tally of the payload's CVR under its config",
            ));
        }
    }
    Ok(Verified {
        ballots: report.ballots,
        winners: report.winners,
        reports: signed.len(),
    })
}
