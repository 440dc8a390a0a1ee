//! Every shipped results file imported, its outputs pinned by digest: the canonical bytes,
//! the warnings and the error (every field, by `Debug`), and the four exports. A change to any
//! importer, the model or an exporter that alters one byte of any of them on real data shows
//! up here; `UPDATE_EXPECT=1 cargo test -p urne-results --test golden` rewrites the list when
//! the change is meant.
//!
//! Inputs: each OpenElections directory as one set and each of its files alone, both strict and
//! lenient; every NIST JSON and XML file under `nist/` (most are not results reports and are
//! refused: their errors are pinned too); every Clarity `detail.xml` under `vendor/`.

mod common;

use std::fmt::Write as _;
use std::path::Path;

use sha2::{Digest, Sha256};
use urne_results::{
    ClarityOptions, CsvOptions, CsvSource, ImportError, Imported, NistOptions, canonical,
    export_flat_csv, export_nist_json, export_nist_xml, export_summary_csv, import_clarity_xml,
    import_nist_json_bytes, import_nist_xml_bytes, import_openelections_csv,
};

/// The first 16 hex digits of SHA-256: plenty to tell outputs apart.
fn digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One line: canonical bytes and warnings, or the error; with `exports`, the four exports too.
fn line(result: Result<Imported, ImportError>, exports: bool) -> String {
    match result {
        Ok(i) => {
            let warnings: String = i.warnings.iter().map(|w| format!("{w:?}\n")).collect();
            let mut out = format!(
                "canonical {} warnings {} {}",
                digest(&canonical::encode(&i.snapshot)),
                i.warnings.len(),
                digest(warnings.as_bytes())
            );
            if exports {
                let (mut flat, mut summary, mut json, mut xml) = (vec![], vec![], vec![], vec![]);
                export_flat_csv(&i.snapshot, &mut flat).unwrap();
                export_summary_csv(&i.snapshot, &mut summary).unwrap();
                export_nist_json(&i.snapshot, "2024-11-05T20:00:00Z", &mut json).unwrap();
                export_nist_xml(&i.snapshot, "2024-11-05T20:00:00Z", &mut xml).unwrap();
                let _ = write!(
                    out,
                    " flat {} summary {} json {} xml {}",
                    digest(&flat),
                    digest(&summary),
                    digest(&json),
                    digest(&xml)
                );
            }
            out
        }
        Err(e) => format!("error {}", digest(format!("{e:?}").as_bytes())),
    }
}

fn csv_import(root: &Path, files: &[std::path::PathBuf], lenient: bool) -> String {
    let options = CsvOptions {
        danger_skip_bad_rows: lenient,
        ..CsvOptions::new("State", "General Election", "2024-11-05")
    };
    let sources = files
        .iter()
        .map(|p| CsvSource {
            name: p.strip_prefix(root).unwrap().display().to_string(),
            reader: std::fs::File::open(p).unwrap(),
        })
        .collect();
    line(
        import_openelections_csv(sources, &options),
        files.len() == 1,
    )
}

#[test]
fn shipped_files_keep_their_outputs() {
    let Some(data) = common::data_dir("shipped_files_keep_their_outputs") else {
        return;
    };
    let rel = |p: &Path| p.strip_prefix(&data).unwrap().display().to_string();
    let mut out = String::new();
    let oe = data.join("openelections");
    let mut dirs: Vec<_> = std::fs::read_dir(&oe)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in &dirs {
        let files = common::files(dir, ".csv");
        for lenient in [false, true] {
            let mode = if lenient { "lenient" } else { "strict" };
            let _ = writeln!(
                out,
                "{}/*.csv {mode}: {}",
                rel(dir),
                csv_import(&data, &files, lenient)
            );
            for f in &files {
                let one = std::slice::from_ref(f);
                let _ = writeln!(
                    out,
                    "{} {mode}: {}",
                    rel(f),
                    csv_import(&data, one, lenient)
                );
            }
        }
    }
    let options = NistOptions::default();
    for f in common::files(&data.join("nist"), ".json") {
        let bytes = std::fs::read(&f).unwrap();
        let r = import_nist_json_bytes(&rel(&f), &bytes, &options);
        let _ = writeln!(out, "{}: {}", rel(&f), line(r, true));
    }
    for f in common::files(&data.join("nist"), ".xml") {
        let bytes = std::fs::read(&f).unwrap();
        let r = import_nist_xml_bytes(&rel(&f), &bytes, &options);
        let _ = writeln!(out, "{}: {}", rel(&f), line(r, true));
    }
    for f in common::files(&data.join("vendor/clarity-enr-detailxml"), ".xml") {
        let file = std::fs::File::open(&f).unwrap();
        let r = import_clarity_xml(&rel(&f), file, &ClarityOptions::default());
        let _ = writeln!(out, "{}: {}", rel(&f), line(r, true));
    }
    expect_test::expect_file!["golden.txt"].assert_eq(&out);
}
