//! Test support shared by the crates whose tests read real election data.
//!
//! The data lives in `../shared/data` beside the workspace (or wherever `URNE_SHARED_DATA`
//! points). A user's clone may not have it: tests then print a loud `SKIPPED` line and pass.
//! CI always has it: with `CI` set, missing data fails the test.
#![forbid(unsafe_code)]

use std::{io::Write, path::PathBuf};

/// The folder `sub` of the shared data (`""` for the data root), or `None` after a loud
/// `SKIPPED` line on stderr. Panics when `CI` is set and the folder is missing.
///
/// The line is written to the stderr handle directly: libtest captures the print macros of
/// passing tests, not direct writes, so the skip is seen.
pub fn shared_data(test: &str, sub: &str) -> Option<PathBuf> {
    let root = match std::env::var_os("URNE_SHARED_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    };
    let dir = if sub.is_empty() { root } else { root.join(sub) };
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "{test}: shared data {} is missing (CI is set)",
            dir.display()
        );
    }
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: shared data {} is missing (set URNE_SHARED_DATA to run it)",
        dir.display()
    );
    None
}

/// Parses a known-failures list: one `name: reason` per line; blank lines and `#` comments
/// are ignored.
pub fn known_list(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| match line.split_once(':') {
            Some((name, reason)) => (name.trim().to_owned(), reason.trim().to_owned()),
            None => (line.to_owned(), String::new()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_lists_skip_comments_and_split_reasons() {
        let list = super::known_list("# comment\n\ncase_a: needs X\ncase_b\n");
        assert_eq!(
            list,
            [
                ("case_a".to_owned(), "needs X".to_owned()),
                ("case_b".to_owned(), String::new())
            ]
        );
    }
}
