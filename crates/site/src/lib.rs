//! The public tree of an election office, rendered from verified releases.
//!
//! Pure: no files, network, environment or clock. `urne serve` serves exactly the bytes
//! [`render`] returns, `urne export` writes them to a directory, and `urne verify` renders
//! them again from the releases it verified and compares byte for byte. So the output must be
//! a function of the input alone (no timestamps of rendering, no hash-map order).
//!
//! What this crate renders (DESIGN.md "The public tree"; `log/` and `blobs/` are not here,
//! the server adds them from its store). English pages live at the root, every other
//! language (`es`, `zh`, `vi`, `tl`, `ko`) under `<lang>/` with the same relative paths; every
//! page links its translations with `hreflang` and a language switcher. `<id>`, `<c>` and `<u>`
//! are ids escaped by [`path_segment`]; a page too big for [`PAGE_BYTES_MAX`] continues at
//! `<name>~p2.html`, `<name>~p3.html`, ….
//!
//! ```text
//! index.html                                    elections list            (+ <lang>/index.html)
//! elections/<id>/index.html                     summary: every contest     (+ <lang>/elections/…)
//! elections/<id>/contests/<c>.html              contest: by vote type, by sub-area of its district
//! elections/<id>/contests/<c>/<u>.html          the contest inside sub-area <u> (drill-down)
//! elections/<id>/units/<u>.html                 a reporting unit: facts, its contests, sub-areas
//! elections/<id>/releases.html                  release history with what changed
//! elections/<id>/downloads.html                 downloads and API links
//! api/v1/elections.json
//! api/v1/elections/<id>/{summary,releases}.json
//! api/v1/elections/<id>/contests/<c>.json, …/units/<u>.json
//! api/v1/elections/<id>/releases/<log_index>/summary.json   (immutable)
//! api/v1/openapi.json                           OpenAPI 3.1 description of the above
//! downloads/<id>/results.{json,xml,csv}, downloads/<id>/summary.csv
//! site.css, verify.js
//! ```
//!
//! Links are relative, so the tree works under any prefix on any static host.
//!
//! Interface contract (the server and the verifier rely on it):
//! * [`render`] takes a [`Site`] and returns a [`Tree`]: relative path (no leading `/`,
//!   `/`-separated, no `..`) → bytes.
//! * Ids from snapshots are untrusted; paths made from them are sanitized with
//!   [`path_segment`].
//! * Live push (served by `urne serve`, not part of the tree): `GET /api/v1/events` is a
//!   Server-Sent Events stream. Event `checkpoint`, data = the new tree size as decimal text;
//!   event `release`, data = JSON `{"election":"<id>","log_index":N,"manifest_hash":"<hex>"}`
//!   (`election` is null for releases without one); event `witnessed`, data = the tree size
//!   of the newest checkpoint the witness quorum cosigned (releases below it are no longer
//!   "awaiting witnesses"). Pages must also work without it: with no
//!   JavaScript by reload, on a static host by polling `log/checkpoint`.
//! * A release bundle on an official's workstation is a directory: `manifest` (the
//!   `urne-release/v1` text officials sign), `payload` (its bytes) and `signatures` (zero or
//!   more signed-note signature lines, one per official, appended by `urne sign`). The log
//!   entry is the signed note: manifest text, a blank line, the signature lines.
#![forbid(unsafe_code)]

mod api;
mod html;
pub mod i18n;
mod pages;
mod view;

use std::collections::{BTreeMap, BTreeSet};

use urne_release::{Release, Status};
use urne_results::ValidSnapshot;

pub use html::{PAGE_BYTES_MAX, PAGE_CONTENT_BYTES_MAX};
pub use i18n::Lang;

/// Relative path → file bytes. Sorted, so iteration order is deterministic.
pub type Tree = BTreeMap<String, Vec<u8>>;

/// The stylesheet, served at `site.css`.
pub const SITE_CSS: &str = include_str!("../assets/site.css");
/// The in-browser verifier, served at `verify.js`.
pub const VERIFY_JS: &str = include_str!("../assets/verify.js");
/// The OpenAPI 3.1 description of API v1, served at `api/v1/openapi.json`.
pub const OPENAPI_JSON: &str = include_str!("../assets/openapi.json");

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
    /// The witness state, when the trust policy in force needs witness cosignatures (`None`:
    /// it needs none, and pages say nothing about witnesses).
    pub witnesses: Option<Witnesses<'a>>,
}

/// What the witnesses have cosigned, for the "awaiting witnesses" notices.
#[derive(Debug, Clone, Copy)]
pub struct Witnesses<'a> {
    /// The largest tree size whose checkpoint the policy's witness quorum cosigned (0: none).
    /// A release at log index `size` or later is "awaiting witnesses".
    pub size: u64,
    /// Policy names of the witnesses that cosigned that checkpoint.
    pub cosigners: &'a [String],
    /// Log index of the trust-policy entry in force, from which `verify.js` reads the witness
    /// keys and quorum.
    pub policy_log_index: u64,
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
    /// An election was given with no release.
    #[error("election {0} has no release")]
    NoReleases(String),
    /// An exporter failed (it writes to memory, so this is a bug in it).
    #[error("exporting election {election} as {format}: {message}")]
    Export {
        election: String,
        format: &'static str,
        message: String,
    },
}

/// What pages and the API say about one release, taken from its manifest.
#[derive(Debug)]
pub(crate) struct ReleaseRef<'a> {
    pub election: &'a str,
    pub log_index: u64,
    pub sequence: u64,
    pub timestamp: u64,
    pub status: Status,
    pub correction: Option<&'a str>,
    pub signers: &'a [String],
    pub manifest_hex: String,
    pub payload_hex: String,
    pub payload_size: u64,
    pub media_type: &'a str,
}

impl<'a> ReleaseRef<'a> {
    fn new(election: &'a str, p: &PublishedRelease<'a>) -> ReleaseRef<'a> {
        let m = p.release.manifest();
        ReleaseRef {
            election,
            log_index: p.log_index,
            sequence: m.sequence,
            timestamp: m.timestamp,
            status: m.status,
            correction: m.correction.as_ref().map(|c| c.as_str()),
            signers: p.release.signers(),
            manifest_hex: urne_release::manifest::hex(p.release.manifest_hash()),
            payload_hex: urne_release::manifest::hex(&m.payload.sha256),
            payload_size: m.payload.size,
            media_type: m.payload.media_type.as_str(),
        }
    }
}

/// Renders the whole public tree (except `log/` and `blobs/`).
///
/// The output is a function of the input alone: maps are ordered, no clock is read, and
/// exporters get the release's own timestamp as their "generated" date.
pub fn render(site: &Site<'_>) -> Result<Tree, RenderError> {
    let mut tree = Tree::new();
    let mut seen = BTreeSet::new();
    for e in &site.elections {
        if !seen.insert(path_segment(e.id)) {
            return Err(RenderError::PathCollision(format!(
                "elections/{}",
                path_segment(e.id)
            )));
        }
        if e.releases.is_empty() {
            return Err(RenderError::NoReleases(e.id.to_owned()));
        }
    }
    // Elections in id order whatever order the caller gave them in.
    let mut elections: Vec<&ElectionReleases<'_>> = site.elections.iter().collect();
    elections.sort_by(|a, b| a.id.cmp(b.id));
    let trs: Vec<i18n::Tr> = Lang::ALL.iter().map(|l| i18n::Tr::new(*l)).collect();
    let mut index_items = Vec::new();
    let mut api_items = Vec::new();
    let mut latest_refs = Vec::new();
    for e in &elections {
        let refs: Vec<ReleaseRef<'_>> = e
            .releases
            .iter()
            .map(|p| ReleaseRef::new(e.id, p))
            .collect();
        latest_refs.push(refs);
    }
    for (e, refs) in elections.iter().zip(&latest_refs) {
        let seg = path_segment(e.id);
        render_election(&mut tree, site, e, refs, &seg, &trs)?;
        let last = e.releases.last().expect("checked non-empty");
        let latest = refs.last().expect("checked non-empty");
        index_items.push((seg.clone(), last.snapshot.election.name.clone(), latest));
        api_items.push((seg, e.id, last.snapshot.snapshot(), latest));
    }
    for tr in &trs {
        pages::index(&mut tree, site, tr, &index_items);
    }
    tree.insert(
        "api/v1/elections.json".into(),
        api::bytes(&api::elections(&api_items)),
    );
    tree.insert(
        "api/v1/openapi.json".into(),
        OPENAPI_JSON.as_bytes().to_vec(),
    );
    tree.insert("site.css".into(), SITE_CSS.as_bytes().to_vec());
    tree.insert("verify.js".into(), VERIFY_JS.as_bytes().to_vec());
    Ok(tree)
}

fn render_election(
    tree: &mut Tree,
    site: &Site<'_>,
    e: &ElectionReleases<'_>,
    refs: &[ReleaseRef<'_>],
    seg: &str,
    trs: &[i18n::Tr],
) -> Result<(), RenderError> {
    let last = e.releases.last().expect("checked non-empty");
    let latest = refs.last().expect("checked non-empty");
    let view = view::View::new(last.snapshot, latest.status);
    let diffs: Vec<Option<urne_results::diff::SnapshotDiff>> = e
        .releases
        .iter()
        .enumerate()
        .map(|(i, p)| {
            (i > 0).then(|| urne_results::diff::diff(e.releases[i - 1].snapshot, p.snapshot))
        })
        .collect();
    let downloads = downloads(tree, e.id, seg, last.snapshot, latest.timestamp)?;
    for tr in trs {
        let cx = pages::Ctx {
            site,
            tr,
            id_seg: seg.to_owned(),
            view: &view,
            latest,
            releases: refs,
            diffs: &diffs,
            downloads: &downloads,
        };
        pages::election(tree, &cx);
    }
    // API: latest files, then one immutable summary per release.
    let api_base = format!("api/v1/elections/{seg}");
    let summary = api::summary(&view, e.id, seg, latest);
    let mut latest_summary = summary.clone();
    if let (Some(w), serde_json::Value::Object(m)) = (&site.witnesses, &mut latest_summary) {
        m.insert("witnesses".into(), api::witnesses(w, latest));
    }
    tree.insert(
        format!("{api_base}/summary.json"),
        api::bytes(&latest_summary),
    );
    let summary = api::bytes(&summary);
    for cv in &view.contests {
        let v = api::contest(&view, cv, e.id, seg, latest);
        tree.insert(api::contest_path(seg, &cv.c.id), api::bytes(&v));
    }
    for u in &last.snapshot.units {
        let v = api::unit(&view, u, e.id, seg, latest);
        tree.insert(api::unit_path(seg, &u.id), api::bytes(&v));
    }
    tree.insert(
        format!("{api_base}/releases.json"),
        api::bytes(&api::releases(e.id, seg, refs, &diffs)),
    );
    for (p, r) in e.releases.iter().zip(refs) {
        let bytes = if std::ptr::eq(r, latest) {
            summary.clone()
        } else {
            let v = view::View::new(p.snapshot, r.status);
            api::bytes(&api::summary(&v, e.id, seg, r))
        };
        tree.insert(
            format!("{api_base}/releases/{}/summary.json", r.log_index),
            bytes,
        );
    }
    Ok(())
}

/// `downloads/<id>/…`: NIST JSON and XML, flat CSV, summary CSV of the latest release.
/// Returns (path, label message id, size) for the downloads page.
fn downloads(
    tree: &mut Tree,
    id: &str,
    seg: &str,
    s: &ValidSnapshot,
    timestamp: u64,
) -> Result<Vec<(String, &'static str, usize)>, RenderError> {
    let generated = i18n::utc(timestamp).1;
    let err = |format: &'static str| {
        move |e: &dyn std::fmt::Display| RenderError::Export {
            election: id.to_owned(),
            format,
            message: e.to_string(),
        }
    };
    let mut files = Vec::new();
    let mut json = Vec::new();
    urne_results::export_nist_json(s, &generated, &mut json).map_err(|e| err("nist-json")(&e))?;
    files.push(("results.json", "download-nist-json", json));
    let mut xml = Vec::new();
    urne_results::export_nist_xml(s, &generated, &mut xml).map_err(|e| err("nist-xml")(&e))?;
    files.push(("results.xml", "download-nist-xml", xml));
    let mut csv = Vec::new();
    urne_results::export_flat_csv(s, &mut csv).map_err(|e| err("flat-csv")(&e))?;
    files.push(("results.csv", "download-flat-csv", csv));
    let mut sum = Vec::new();
    urne_results::export_summary_csv(s, &mut sum).map_err(|e| err("summary-csv")(&e))?;
    files.push(("summary.csv", "download-summary-csv", sum));
    let mut out = Vec::new();
    for (name, label, bytes) in files {
        let path = format!("downloads/{seg}/{name}");
        out.push((path.clone(), label, bytes.len()));
        tree.insert(path, bytes);
    }
    Ok(out)
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

/// The site title ([`Site::title`]) a page rendered by [`render`] shows in its header, or
/// `None` if `page` is not such a page. The title is not signed, so a verifier that does not
/// know it reads it back from a served page (`index.html`) before re-rendering the tree.
pub fn site_title(page: &[u8]) -> Option<String> {
    const START: &str = "<p class=\"site\"><a href=\"";
    let page = std::str::from_utf8(page).ok()?;
    let at = page.find(START)? + START.len();
    let rest = &page[at..];
    let text = &rest[rest.find("\">")? + 2..];
    let text = &text[..text.find("</a></p>")?];
    unescape(text)
}

/// The inverse of [`escape`]; `None` for an `&` that `escape` does not write.
fn unescape(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let (entity, c) = [
            ("&amp;", '&'),
            ("&lt;", '<'),
            ("&gt;", '>'),
            ("&quot;", '"'),
            ("&#39;", '\''),
        ]
        .into_iter()
        .find(|(e, _)| rest.starts_with(e))?;
        out.push(c);
        rest = &rest[entity.len()..];
    }
    out.push_str(rest);
    Some(out)
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
