//! Finding the shared test data (`URNE_SHARED_DATA`, else `<workspace>/../shared/data`).
#![allow(dead_code)]

use std::path::PathBuf;

/// The data directory, or `None` after a loud SKIPPED line (a failure when `CI` is set).
pub fn data_dir(test: &str) -> Option<PathBuf> {
    urne_testdata::shared_data(test, "")
}

/// All files under `dir` whose names end with `ext`, sorted.
pub fn files(dir: &std::path::Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(ext) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
