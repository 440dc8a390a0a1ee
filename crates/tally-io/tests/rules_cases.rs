//! Rule fixtures written as data, one folder per case under `tests/rules/`, each derived from
//! RCTab's source (ContestConfig validation, Tabulator) rather than from its test data:
//! - `config.json` (+ CVR files): an RCTab contest config;
//! - `expected_error.txt`: the config must be refused, and the error must contain every line;
//! - `expected_subset.json`: the tally must succeed, and its detailed report JSON must contain
//!   this JSON (objects: listed keys only; arrays: same length, item by item; leaves equal);
//! - `expected_files.txt` (optional, with `expected_subset.json`): every line must occur in the
//!   path of some written file.

use std::path::Path;

use serde_json::Value;

fn subset(path: &str, want: &Value, got: &Value, out: &mut Vec<String>) {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, wv) in w {
                match g.get(k) {
                    Some(gv) => subset(&format!("{path}.{k}"), wv, gv, out),
                    None => out.push(format!("{path}.{k}: missing")),
                }
            }
        }
        (Value::Array(w), Value::Array(g)) if w.len() == g.len() => {
            for (i, (wv, gv)) in w.iter().zip(g).enumerate() {
                subset(&format!("{path}[{i}]"), wv, gv, out);
            }
        }
        _ if want == got => {}
        _ => out.push(format!("{path}: got {got}, want {want}")),
    }
}

fn run_case(dir: &Path) -> Result<(), String> {
    let config = dir.join("config.json");
    let out = std::env::temp_dir().join(format!(
        "urne-rules-{}-{}",
        std::process::id(),
        dir.file_name().unwrap_or_default().to_string_lossy()
    ));
    let _ = std::fs::remove_dir_all(&out);
    let result = urne_tally_io::run(&config, &out);
    let error_file = dir.join("expected_error.txt");
    if error_file.exists() {
        let want = std::fs::read_to_string(&error_file).map_err(|e| e.to_string())?;
        let msg = match result {
            Ok(_) => return Err("accepted, but RCTab refuses this config".into()),
            Err(e) => e.to_string(),
        };
        if !msg.contains("config.json") {
            return Err(format!("error does not name the file: {msg}"));
        }
        for line in want.lines().filter(|l| !l.trim().is_empty()) {
            if !msg.contains(line) {
                return Err(format!("error {msg:?} lacks {line:?}"));
            }
        }
        return Ok(());
    }
    let report = result.map_err(|e| format!("refused: {e}"))?;
    let json = report
        .files
        .iter()
        .find(|f| f.to_string_lossy().ends_with("detailed_report.json"))
        .ok_or("no detailed report written")?;
    let got: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join(json)).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    let want: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("expected_subset.json")).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let mut problems = Vec::new();
    subset("$", &want, &got, &mut problems);
    let files_want = dir.join("expected_files.txt");
    if files_want.exists() {
        let want = std::fs::read_to_string(&files_want).map_err(|e| e.to_string())?;
        for line in want.lines().filter(|l| !l.trim().is_empty()) {
            if !report
                .files
                .iter()
                .any(|f| f.to_string_lossy().contains(line))
            {
                problems.push(format!("no written file's path contains {line:?}"));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

#[test]
fn rule_fixtures() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rules");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .expect("tests/rules")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("config.json").exists())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 20, "rule fixtures missing");
    let mut failed = Vec::new();
    for dir in &dirs {
        if let Err(e) = run_case(dir) {
            failed.push(format!("{}: {e}", dir.display()));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}
