//! The public tree of an election office, rendered from verified releases.
//!
//! Pure: no files, network, environment or clock. `urne serve` serves exactly the bytes
//! [`render`] returns, `urne export` writes them to a directory, and `urne verify` renders
//! them again from the releases it verified and compares byte for byte. So the output must be
//! a function of the input alone (no timestamps of rendering, no hash-map order).
//!
//! What this crate renders (DESIGN.md "The public tree"; `log/` and `blobs/` are not here,
//! the server adds them from its store):
//!
//! ```text
//! index.html, elections/<id>/index.html, …/contests/<contest>.html, …/units/<unit>.html
//! api/v1/elections.json, api/v1/elections/<id>/{summary,contests/<c>,units/<u>,releases}.json
//! downloads/<id>/results.{json,xml,csv}
//! verify.js
//! ```
//!
//! Interface contract (the server and the verifier rely on it):
//! * [`render`] takes a [`Site`] and returns a [`Tree`]: relative path (no leading `/`,
//!   `/`-separated, no `..`) → bytes.
//! * Ids from snapshots are untrusted; paths made from them are sanitized with
//!   [`path_segment`].
//! * Live push (served by `urne serve`, not part of the tree): `GET /api/v1/events` is a
//!   Server-Sent Events stream. Event `checkpoint`, data = the new tree size as decimal text;
//!   event `release`, data = JSON `{"election":"<id>","log_index":N,"manifest_hash":"<hex>"}`
//!   (`election` is null for releases without one). Pages must also work without it: with no
//!   JavaScript by reload, on a static host by polling `log/checkpoint`.
//! * A release bundle on an official's workstation is a directory: `manifest` (the
//!   `urne-release/v1` text officials sign), `payload` (its bytes) and `signatures` (zero or
//!   more signed-note signature lines, one per official, appended by `urne sign`). The log
//!   entry is the signed note: manifest text, a blank line, the signature lines.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;

use urne_release::Release;
use urne_results::ValidSnapshot;

/// Relative path → file bytes. Sorted, so iteration order is deterministic.
pub type Tree = BTreeMap<String, Vec<u8>>;

/// Everything the public tree is rendered from.
#[derive(Debug)]
pub struct Site<'a> {
    /// The office's name, shown in page headers ("Example County Elections").
    pub title: &'a str,
    /// The log origin line of checkpoints (`results.example-county.gov/log`).
    pub log_origin: &'a str,
    /// The log's public key as a note verifier key string (`origin+hash+base64`), for
    /// `verify.js`.
    pub log_vkey: &'a str,
    /// Elections, each with its results releases in log order (oldest first).
    pub elections: Vec<ElectionReleases<'a>>,
}

/// The results releases of one election.
#[derive(Debug)]
pub struct ElectionReleases<'a> {
    /// The manifest's election id.
    pub id: &'a str,
    /// Oldest first; never empty.
    pub releases: Vec<PublishedRelease<'a>>,
}

/// One sequenced results release and its decoded payload.
#[derive(Debug)]
pub struct PublishedRelease<'a> {
    /// Index of the release's entry in the log.
    pub log_index: u64,
    /// The accepted release (manifest, signers, entry bytes).
    pub release: &'a Release,
    /// The snapshot its payload decodes to.
    pub snapshot: &'a ValidSnapshot,
}

/// Why the tree could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// Two elections or ids map to the same path.
    #[error("path collision: {0}")]
    PathCollision(String),
}

/// Renders the whole public tree (except `log/` and `blobs/`).
pub fn render(site: &Site<'_>) -> Result<Tree, RenderError> {
    let mut tree = Tree::new();
    let mut index = String::from("<!doctype html>\n<title>");
    index.push_str(&escape(site.title));
    index.push_str("</title>\n<ul>\n");
    for e in &site.elections {
        index.push_str(&format!(
            "<li><a href=\"elections/{0}/index.html\">{0}</a></li>\n",
            escape(&path_segment(e.id))
        ));
    }
    index.push_str("</ul>\n");
    tree.insert("index.html".into(), index.into_bytes());
    Ok(tree)
}

/// Makes an untrusted id safe as one path segment: keeps `[A-Za-z0-9._-]` (a leading `.` is
/// escaped), writes every other byte as `~XX` (hex; `~` itself is not kept), so distinct ids
/// stay distinct and no static server decodes the name into something else.
pub fn path_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for (i, b) in id.bytes().enumerate() {
        let keep = b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || (b == b'.' && i > 0);
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("~{b:02X}"));
        }
    }
    if out.is_empty() {
        out.push('~');
    }
    out
}

/// Escapes text for HTML element content and double-quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
