//! A published CVR export re-tallies to the same result: for every RCTab case whose folder
//! holds under 1 MB (larger ones only repeat the same readers, slowly in a debug test), export the CVRs as CDF JSON with the
//! re-tally config, run `urne_tally_io::run` on that pair, and compare the detailed report with
//! the one tabulated from the original CVR files.

use std::path::Path;

use serde_json::Value;

/// Cases whose re-tally cannot equal the original, with the reason.
const NOT_RETALLIABLE: &[(&str, &str)] = &[];

fn strip_dates(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.remove("GeneratedDate");
            m.remove("generatedBy");
            m.values_mut().for_each(strip_dates);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_dates),
        _ => {}
    }
}

fn report(dir: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(dir.join("detailed_report.json"))
        .or_else(|_| std::fs::read_to_string(dir.join("pass_1/detailed_report.json")))
        .ok()?;
    let mut v: Value = serde_json::from_str(&text).ok()?;
    strip_dates(&mut v);
    Some(v)
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

fn first_difference(path: &str, a: &Option<Value>, b: &Option<Value>) -> String {
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            for (k, v) in x {
                let d =
                    first_difference(&format!("{path}.{k}"), &Some(v.clone()), &y.get(k).cloned());
                if !d.is_empty() {
                    return d;
                }
            }
            String::new()
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) if x.len() == y.len() => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                let d =
                    first_difference(&format!("{path}[{i}]"), &Some(v.clone()), &Some(w.clone()));
                if !d.is_empty() {
                    return d;
                }
            }
            String::new()
        }
        _ if a == b => String::new(),
        _ => format!("{path}: {a:?} vs {b:?}"),
    }
}

#[test]
fn cvr_exports_retally_to_the_same_result() {
    let Some(dir) = urne_testdata::shared_data("cvr_export", "rctab") else {
        return;
    };
    let scratch = std::env::temp_dir().join(format!("urne-cvr-export-{}", std::process::id()));
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .expect("read rctab dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    cases.sort();
    let (mut checked, mut failures) = (0, Vec::new());
    for case in cases {
        let stem = case
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let config = case.join(format!("{stem}_config.json"));
        if !config.exists()
            || dir_bytes(&case) > 1 << 20
            || stem.starts_with("conversions_from_")
            || NOT_RETALLIABLE.iter().any(|n| n.0 == stem)
        {
            continue;
        }
        let original = scratch.join(&stem).join("original");
        if urne_tally_io::run(&config, &original).is_err() {
            continue; // an error case: nothing to export
        }
        let export = match urne_tally_io::cvr_export(&config, "cvr.json") {
            Ok(e) => e,
            Err(e) => {
                failures.push(format!("{stem}: export: {e}"));
                continue;
            }
        };
        let bundle = scratch.join(&stem).join("bundle");
        std::fs::create_dir_all(&bundle).expect("scratch dir");
        std::fs::write(bundle.join("cvr.json"), &export.cdf_json).expect("write");
        std::fs::write(bundle.join("config.json"), &export.retally_config).expect("write");
        let again = scratch.join(&stem).join("again");
        match urne_tally_io::run(&bundle.join("config.json"), &again) {
            Ok(_) if report(&original) == report(&again) && report(&again).is_some() => {
                checked += 1
            }
            Ok(_) => failures.push(format!(
                "{stem}: the re-tally differs: {}",
                first_difference("$", &report(&original), &report(&again))
            )),
            Err(e) => failures.push(format!("{stem}: re-tally: {e}")),
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!("cvr export: {checked} cases re-tallied to the same detailed report");
    assert!(checked >= 30, "only {checked} cases re-tallied");
}
