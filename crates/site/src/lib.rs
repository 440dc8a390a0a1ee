//! The public tree of an election office, rendered from verified releases.
//!
//! Pure: no files, network, environment or clock. `urne serve` serves exactly the bytes
//! [`render`] returns (rendering each file on demand with [`render_path`]), `urne export`
//! writes them to a directory, and `urne verify` renders
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
//! * On demand: [`Prepared::new`] computes once what every file needs (the latest snapshot's
//!   totals, release references, id ↔ path-segment maps); [`render_path`] then renders only
//!   the [`Object`] a path belongs to. [`render`] is the composition of the same per-object
//!   functions over [`Prepared::objects`], so `render_path(p) == render()[p]` for every path
//!   and `None` for every other (tested on the fixture and on Georgia 2018 statewide).
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

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

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

/// Renders the whole public tree (except `log/` and `blobs/`): [`Prepared::new`], then every
/// object of [`Prepared::objects`] through [`Prepared::render_object`], so each file is byte
/// for byte what [`render_path`] gives for its path.
///
/// The output is a function of the input alone: maps are ordered, no clock is read, and
/// exporters get the release's own timestamp as their "generated" date.
pub fn render(site: &Site<'_>) -> Result<Tree, RenderError> {
    let prepared = Prepared::new(site)?;
    let mut tree = Tree::new();
    for object in prepared.objects() {
        tree.append(&mut prepared.render_object(&object)?);
    }
    Ok(tree)
}

/// Renders the one file at `path` (`None`: not a path of the tree [`render`] makes). Only the
/// object the path belongs to is rendered (a page with its `~pN` continuations, one API file,
/// one download).
pub fn render_path(prepared: &Prepared<'_>, path: &str) -> Result<Option<Vec<u8>>, RenderError> {
    let Some(object) = prepared.object(path) else {
        return Ok(None);
    };
    Ok(prepared.render_object(&object)?.remove(path))
}

thread_local! {
    /// The translations, one set per thread: Fluent bundles and their caches are not `Sync`,
    /// so a [`Prepared`] shared by rendering threads does not hold them.
    static TRANSLATIONS: Vec<i18n::Tr> = Lang::ALL.iter().map(|l| i18n::Tr::new(*l)).collect();
}

/// One renderable unit of the tree: every file [`render`] makes belongs to exactly one, and
/// rendering an object gives all of its files (a paginated page gives every `~pN` page).
/// Indices are into [`Prepared`]'s elections (id order), the latest snapshot's contests and
/// units, and the election's results releases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Object {
    /// `<lang>/index.html`.
    Index(Lang),
    /// `api/v1/elections.json`.
    ElectionsJson,
    /// `api/v1/openapi.json`.
    OpenApi,
    /// `site.css`.
    Css,
    /// `verify.js`.
    VerifyJs,
    /// `<lang>/elections/<id>/index.html` and its continuations.
    Summary(Lang, usize),
    /// `<lang>/elections/<id>/contests/<c>.html`.
    Contest(Lang, usize, usize),
    /// `<lang>/elections/<id>/contests/<c>/<u>.html` (a sub-area with sub-areas of its own).
    ContestIn(Lang, usize, usize, usize),
    /// `<lang>/elections/<id>/units/<u>.html`.
    Unit(Lang, usize, usize),
    /// `<lang>/elections/<id>/releases.html`.
    ReleasesPage(Lang, usize),
    /// `<lang>/elections/<id>/downloads.html`.
    DownloadsPage(Lang, usize),
    /// `api/v1/elections/<id>/summary.json` (latest).
    ApiSummary(usize),
    /// `api/v1/elections/<id>/releases.json`.
    ApiReleases(usize),
    /// `api/v1/elections/<id>/contests/<c>.json`.
    ApiContest(usize, usize),
    /// `api/v1/elections/<id>/units/<u>.json`.
    ApiUnit(usize, usize),
    /// `api/v1/elections/<id>/releases/<log_index>/summary.json` of the election's `n`th
    /// release (immutable).
    ApiReleaseSummary(usize, usize),
    /// `downloads/<id>/<file>`, the `n`th of [`DOWNLOADS`].
    Download(usize, usize),
}

impl Object {
    /// Whether the object is a page in some language (else it is language-neutral).
    pub fn lang(&self) -> Option<Lang> {
        match *self {
            Object::Index(l)
            | Object::Summary(l, _)
            | Object::Contest(l, ..)
            | Object::ContestIn(l, ..)
            | Object::Unit(l, ..)
            | Object::ReleasesPage(l, _)
            | Object::DownloadsPage(l, _) => Some(l),
            _ => None,
        }
    }
}

/// The downloads of an election: file name and the downloads page's label message.
pub const DOWNLOADS: [(&str, &str); 4] = [
    ("results.json", "download-nist-json"),
    ("results.xml", "download-nist-xml"),
    ("results.csv", "download-flat-csv"),
    ("summary.csv", "download-summary-csv"),
];

/// What every file of the tree is rendered from, computed once per [`Site`]: the elections in
/// id order, each with its release references, the latest snapshot's `View` (totals
/// per contest and unit) and the path segments of its contests and units. What only a few
/// files need is computed on their first render and kept: the release diffs (history page,
/// `releases.json`) and the downloads' sizes (downloads page). `Sync`: rendering threads
/// share one.
#[derive(Debug)]
pub struct Prepared<'a> {
    site: &'a Site<'a>,
    elections: Vec<PreparedElection<'a>>,
    by_seg: HashMap<String, usize>,
}

#[derive(Debug)]
struct PreparedElection<'a> {
    e: &'a ElectionReleases<'a>,
    seg: String,
    refs: Vec<ReleaseRef<'a>>,
    view: view::View<'a>,
    contests: HashMap<String, usize>,
    units: HashMap<String, usize>,
    by_log_index: HashMap<u64, usize>,
    diffs: OnceLock<Vec<Option<urne_results::diff::SnapshotDiff>>>,
    download_sizes: OnceLock<Vec<(String, &'static str, usize)>>,
    /// Sizes of downloads known without counting them ([`Prepared::know_download_size`]),
    /// by position in [`DOWNLOADS`].
    size_hints: std::sync::Mutex<[Option<usize>; DOWNLOADS.len()]>,
}

impl<'a> PreparedElection<'a> {
    fn latest(&self) -> &ValidSnapshot {
        self.e.releases.last().expect("checked non-empty").snapshot
    }

    fn diffs(&self) -> &[Option<urne_results::diff::SnapshotDiff>] {
        self.diffs.get_or_init(|| {
            let rs = &self.e.releases;
            (0..rs.len())
                .map(|i| {
                    (i > 0).then(|| urne_results::diff::diff(rs[i - 1].snapshot, rs[i].snapshot))
                })
                .collect()
        })
    }
}

impl<'a> Prepared<'a> {
    /// Checks the elections (distinct paths, each with a release) and computes what every
    /// file needs. Costs one `View` of each election's latest snapshot.
    pub fn new(site: &'a Site<'a>) -> Result<Prepared<'a>, RenderError> {
        let mut by_seg = HashMap::new();
        for e in &site.elections {
            if by_seg.insert(path_segment(e.id), 0).is_some() {
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
        let mut order: Vec<&ElectionReleases<'_>> = site.elections.iter().collect();
        order.sort_by(|a, b| a.id.cmp(b.id));
        let mut elections = Vec::with_capacity(order.len());
        for (i, e) in order.into_iter().enumerate() {
            let seg = path_segment(e.id);
            by_seg.insert(seg.clone(), i);
            let refs: Vec<ReleaseRef<'_>> = e
                .releases
                .iter()
                .map(|p| ReleaseRef::new(e.id, p))
                .collect();
            let last = e.releases.last().expect("checked non-empty");
            let view = view::View::new(last.snapshot, refs.last().expect("non-empty").status);
            let contests = view
                .contests
                .iter()
                .enumerate()
                .map(|(i, cv)| (path_segment(&cv.c.id), i))
                .collect();
            let units = last
                .snapshot
                .units
                .iter()
                .enumerate()
                .map(|(i, u)| (path_segment(&u.id), i))
                .collect();
            let by_log_index = refs
                .iter()
                .enumerate()
                .map(|(i, r)| (r.log_index, i))
                .collect();
            elections.push(PreparedElection {
                e,
                seg,
                refs,
                view,
                contests,
                units,
                by_log_index,
                diffs: OnceLock::new(),
                download_sizes: OnceLock::new(),
                size_hints: Default::default(),
            });
        }
        Ok(Prepared {
            site,
            elections,
            by_seg,
        })
    }

    /// Every object of the tree (their files together are [`render`]'s tree).
    pub fn objects(&self) -> Vec<Object> {
        let mut out = vec![
            Object::ElectionsJson,
            Object::OpenApi,
            Object::Css,
            Object::VerifyJs,
        ];
        for l in Lang::ALL {
            out.push(Object::Index(l));
        }
        for (e, pe) in self.elections.iter().enumerate() {
            let s = pe.latest();
            for l in Lang::ALL {
                out.push(Object::Summary(l, e));
                for (c, cv) in pe.view.contests.iter().enumerate() {
                    out.push(Object::Contest(l, e, c));
                    for u in cv.units.keys() {
                        if *u != cv.c.district.as_str() && pages::has_children_with_data(s, cv, u) {
                            let ui = pe.units[&path_segment(u)];
                            out.push(Object::ContestIn(l, e, c, ui));
                        }
                    }
                }
                for u in 0..s.units.len() {
                    out.push(Object::Unit(l, e, u));
                }
                out.push(Object::ReleasesPage(l, e));
                out.push(Object::DownloadsPage(l, e));
            }
            out.push(Object::ApiSummary(e));
            out.push(Object::ApiReleases(e));
            for c in 0..pe.view.contests.len() {
                out.push(Object::ApiContest(e, c));
            }
            for u in 0..s.units.len() {
                out.push(Object::ApiUnit(e, u));
            }
            for r in 0..pe.refs.len() {
                out.push(Object::ApiReleaseSummary(e, r));
            }
            for d in 0..DOWNLOADS.len() {
                out.push(Object::Download(e, d));
            }
        }
        out
    }

    /// What `object`'s bytes are made from, when that is one release alone: a download is
    /// its election's latest release exported, whatever the witnesses, the checkpoint or the
    /// other elections say. The key is that release's manifest hash (hex), which covers its
    /// payload and timestamp: two states of the log that give one download the same key give
    /// it the same bytes. `None`: the object shows more than one release (every page shows the
    /// witnessed state).
    pub fn release_key(&self, object: &Object) -> Option<&str> {
        match *object {
            Object::Download(e, _) => self
                .elections
                .get(e)
                .and_then(|pe| pe.refs.last())
                .map(|r| r.manifest_hex.as_str()),
            _ => None,
        }
    }

    /// Tells the downloads page of the download at `path` its size, so that it does not
    /// render the download to count its bytes: `size` must be that of the file this state
    /// renders there (one rendered already, or kept from an earlier state that made it from
    /// the same release, [`Prepared::release_key`]). Other paths are ignored.
    pub fn know_download_size(&self, path: &str, size: usize) {
        if let Some(Object::Download(e, d)) = self.object(path)
            && let Some(pe) = self.elections.get(e)
        {
            pe.size_hints.lock().expect("size hints lock poisoned")[d] = Some(size);
        }
    }

    /// The downloads' sizes of every election whose downloads page has been rendered (those
    /// given by [`Prepared::know_download_size`], the rest counted), by path.
    pub fn known_download_sizes(&self) -> Vec<(String, usize)> {
        self.elections
            .iter()
            .filter_map(|pe| pe.download_sizes.get())
            .flatten()
            .map(|(path, _, n)| (path.clone(), *n))
            .collect()
    }

    /// The object whose files include `path`, if the path has the shape of one (the file
    /// itself may still not exist: a page number past the last). Ids are found by their
    /// exact [`path_segment`], which is injective.
    pub fn object(&self, path: &str) -> Option<Object> {
        match path {
            "api/v1/elections.json" => return Some(Object::ElectionsJson),
            "api/v1/openapi.json" => return Some(Object::OpenApi),
            "site.css" => return Some(Object::Css),
            "verify.js" => return Some(Object::VerifyJs),
            _ => {}
        }
        if let Some(rest) = path.strip_prefix("api/v1/elections/") {
            let (seg, rest) = rest.split_once('/')?;
            let e = *self.by_seg.get(seg)?;
            let pe = &self.elections[e];
            return match rest {
                "summary.json" => Some(Object::ApiSummary(e)),
                "releases.json" => Some(Object::ApiReleases(e)),
                _ => {
                    if let Some(c) = rest.strip_prefix("contests/") {
                        let c = c.strip_suffix(".json")?;
                        return Some(Object::ApiContest(e, *pe.contests.get(c)?));
                    }
                    if let Some(u) = rest.strip_prefix("units/") {
                        let u = u.strip_suffix(".json")?;
                        return Some(Object::ApiUnit(e, *pe.units.get(u)?));
                    }
                    let n = rest
                        .strip_prefix("releases/")?
                        .strip_suffix("/summary.json")?;
                    let log_index: u64 = n.parse().ok()?;
                    Some(Object::ApiReleaseSummary(
                        e,
                        *pe.by_log_index.get(&log_index)?,
                    ))
                }
            };
        }
        if let Some(rest) = path.strip_prefix("downloads/") {
            let (seg, name) = rest.split_once('/')?;
            let e = *self.by_seg.get(seg)?;
            let d = DOWNLOADS.iter().position(|(n, _)| *n == name)?;
            return Some(Object::Download(e, d));
        }
        let (lang, rel) = Lang::ALL
            .into_iter()
            .filter(|l| *l != Lang::En)
            .find_map(|l| path.strip_prefix(l.prefix()).map(|r| (l, r)))
            .unwrap_or((Lang::En, path));
        if rel == "index.html" {
            return Some(Object::Index(lang));
        }
        let rest = rel.strip_prefix("elections/")?;
        let (seg, rest) = rest.split_once('/')?;
        let e = *self.by_seg.get(seg)?;
        let pe = &self.elections[e];
        // `<base>~pN.html` is page N of `<base>.html`; `~p` never occurs in a path segment.
        let stem = rest.strip_suffix(".html")?;
        let stem = match stem.rsplit_once("~p") {
            Some((base, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => base,
            Some(_) => return None,
            None => stem,
        };
        match stem {
            "index" => return Some(Object::Summary(lang, e)),
            "releases" => return Some(Object::ReleasesPage(lang, e)),
            "downloads" => return Some(Object::DownloadsPage(lang, e)),
            _ => {}
        }
        if let Some(u) = stem.strip_prefix("units/") {
            return Some(Object::Unit(lang, e, *pe.units.get(u)?));
        }
        let rest = stem.strip_prefix("contests/")?;
        match rest.split_once('/') {
            None => Some(Object::Contest(lang, e, *pe.contests.get(rest)?)),
            Some((c, u)) => {
                let c = *pe.contests.get(c)?;
                let ui = *pe.units.get(u)?;
                let cv = &pe.view.contests[c];
                let uid = pe.latest().units[ui].id.as_str();
                let drill = uid != cv.c.district
                    && cv.units.contains_key(uid)
                    && pages::has_children_with_data(pe.latest(), cv, uid);
                drill.then_some(Object::ContestIn(lang, e, c, ui))
            }
        }
    }

    /// Every file of `object`.
    pub fn render_object(&self, object: &Object) -> Result<Tree, RenderError> {
        let mut tree = Tree::new();
        match *object {
            Object::ElectionsJson => {
                let items: Vec<_> = self
                    .elections
                    .iter()
                    .map(|pe| {
                        (
                            pe.seg.clone(),
                            pe.e.id,
                            pe.latest().snapshot(),
                            pe.refs.last().expect("non-empty"),
                        )
                    })
                    .collect();
                tree.insert(
                    "api/v1/elections.json".into(),
                    api::bytes(&api::elections(&items)),
                );
            }
            Object::OpenApi => {
                tree.insert(
                    "api/v1/openapi.json".into(),
                    OPENAPI_JSON.as_bytes().to_vec(),
                );
            }
            Object::Css => {
                tree.insert("site.css".into(), SITE_CSS.as_bytes().to_vec());
            }
            Object::VerifyJs => {
                tree.insert("verify.js".into(), VERIFY_JS.as_bytes().to_vec());
            }
            Object::Index(lang) => {
                let items: Vec<_> = self
                    .elections
                    .iter()
                    .map(|pe| {
                        (
                            pe.seg.clone(),
                            pe.latest().election.name.clone(),
                            pe.refs.last().expect("non-empty"),
                        )
                    })
                    .collect();
                TRANSLATIONS
                    .with(|trs| pages::index(&mut tree, self.site, &trs[lang as usize], &items));
            }
            Object::Summary(lang, e)
            | Object::Contest(lang, e, _)
            | Object::ContestIn(lang, e, ..)
            | Object::Unit(lang, e, _)
            | Object::ReleasesPage(lang, e)
            | Object::DownloadsPage(lang, e) => {
                let pe = &self.elections[e];
                let diffs = match object {
                    Object::ReleasesPage(..) => pe.diffs(),
                    _ => &[],
                };
                let downloads = match object {
                    Object::DownloadsPage(..) => self.download_sizes(pe)?,
                    _ => &[],
                };
                TRANSLATIONS.with(|trs| {
                    let cx = pages::Ctx {
                        site: self.site,
                        tr: &trs[lang as usize],
                        id_seg: pe.seg.clone(),
                        view: &pe.view,
                        latest: pe.refs.last().expect("non-empty"),
                        releases: &pe.refs,
                        diffs,
                        downloads,
                    };
                    match *object {
                        Object::Summary(..) => pages::summary(&mut tree, &cx),
                        Object::Contest(_, _, c) => {
                            let cv = &pe.view.contests[c];
                            pages::contest_in_unit(
                                &mut tree,
                                &cx,
                                cv,
                                &cv.c.district,
                                &cx.contest_rel(cv.c),
                            );
                        }
                        Object::ContestIn(_, _, c, u) => {
                            let cv = &pe.view.contests[c];
                            let u = &pe.latest().units[u].id;
                            let rel = format!(
                                "{}contests/{}/{}.html",
                                cx.base(),
                                path_segment(&cv.c.id),
                                path_segment(u)
                            );
                            pages::contest_in_unit(&mut tree, &cx, cv, u, &rel);
                        }
                        Object::Unit(_, _, u) => {
                            pages::unit_page(&mut tree, &cx, &pe.latest().units[u])
                        }
                        Object::ReleasesPage(..) => pages::releases_page(&mut tree, &cx),
                        _ => pages::downloads_page(&mut tree, &cx),
                    }
                });
            }
            Object::ApiSummary(e) => {
                let pe = &self.elections[e];
                let latest = pe.refs.last().expect("non-empty");
                let mut v = api::summary(&pe.view, pe.e.id, &pe.seg, latest);
                if let (Some(w), serde_json::Value::Object(m)) = (&self.site.witnesses, &mut v) {
                    m.insert("witnesses".into(), api::witnesses(w, latest));
                }
                tree.insert(
                    format!("api/v1/elections/{}/summary.json", pe.seg),
                    api::bytes(&v),
                );
            }
            Object::ApiReleases(e) => {
                let pe = &self.elections[e];
                tree.insert(
                    format!("api/v1/elections/{}/releases.json", pe.seg),
                    api::bytes(&api::releases(pe.e.id, &pe.seg, &pe.refs, pe.diffs())),
                );
            }
            Object::ApiContest(e, c) => {
                let pe = &self.elections[e];
                let cv = &pe.view.contests[c];
                let latest = pe.refs.last().expect("non-empty");
                let v = api::contest(&pe.view, cv, pe.e.id, &pe.seg, latest);
                tree.insert(api::contest_path(&pe.seg, &cv.c.id), api::bytes(&v));
            }
            Object::ApiUnit(e, u) => {
                let pe = &self.elections[e];
                let u = &pe.latest().units[u];
                let latest = pe.refs.last().expect("non-empty");
                let v = api::unit(&pe.view, u, pe.e.id, &pe.seg, latest);
                tree.insert(api::unit_path(&pe.seg, &u.id), api::bytes(&v));
            }
            Object::ApiReleaseSummary(e, n) => {
                let pe = &self.elections[e];
                let r = &pe.refs[n];
                let v = if n + 1 == pe.refs.len() {
                    api::summary(&pe.view, pe.e.id, &pe.seg, r)
                } else {
                    let v = view::View::new(pe.e.releases[n].snapshot, r.status);
                    api::summary(&v, pe.e.id, &pe.seg, r)
                };
                tree.insert(
                    format!(
                        "api/v1/elections/{}/releases/{}/summary.json",
                        pe.seg, r.log_index
                    ),
                    api::bytes(&v),
                );
            }
            Object::Download(e, d) => {
                let pe = &self.elections[e];
                let bytes = self.download(pe, d)?;
                tree.insert(format!("downloads/{}/{}", pe.seg, DOWNLOADS[d].0), bytes);
            }
        }
        Ok(tree)
    }

    /// Download `d` of an election (exporters get the release's own timestamp).
    fn download(&self, pe: &PreparedElection<'_>, d: usize) -> Result<Vec<u8>, RenderError> {
        let mut out = Vec::new();
        self.download_to(pe, d, &mut out)?;
        Ok(out)
    }

    /// [`Prepared::download`] written to `out`.
    fn download_to(
        &self,
        pe: &PreparedElection<'_>,
        d: usize,
        mut out: impl std::io::Write,
    ) -> Result<(), RenderError> {
        let s = pe.latest();
        let generated = i18n::utc(pe.refs.last().expect("non-empty").timestamp).1;
        let (name, _) = DOWNLOADS[d];
        let (format, result) = match name {
            "results.json" => (
                "nist-json",
                urne_results::export_nist_json(s, &generated, &mut out).map_err(|e| e.to_string()),
            ),
            "results.xml" => (
                "nist-xml",
                urne_results::export_nist_xml(s, &generated, &mut out).map_err(|e| e.to_string()),
            ),
            "results.csv" => (
                "flat-csv",
                urne_results::export_flat_csv(s, &mut out).map_err(|e| e.to_string()),
            ),
            _ => (
                "summary-csv",
                urne_results::export_summary_csv(s, &mut out).map_err(|e| e.to_string()),
            ),
        };
        result.map_err(|message| RenderError::Export {
            election: pe.e.id.to_owned(),
            format,
            message,
        })
    }

    /// (path, label, size) of each download, for the downloads page: the downloads are
    /// rendered once to learn their sizes, and only the sizes are kept.
    fn download_sizes<'s>(
        &self,
        pe: &'s PreparedElection<'_>,
    ) -> Result<&'s [(String, &'static str, usize)], RenderError> {
        if let Some(sizes) = pe.download_sizes.get() {
            return Ok(sizes);
        }
        let hints = *pe.size_hints.lock().expect("size hints lock poisoned");
        let mut sizes = Vec::with_capacity(DOWNLOADS.len());
        for (d, (name, label)) in DOWNLOADS.iter().enumerate() {
            let n = match hints[d] {
                Some(n) => n,
                None => {
                    // Counted as written, not held: a state's NIST XML is hundreds of megabytes.
                    let mut n = Counted(0);
                    self.download_to(pe, d, &mut n)?;
                    n.0
                }
            };
            sizes.push((format!("downloads/{}/{name}", pe.seg), *label, n));
        }
        Ok(pe.download_sizes.get_or_init(|| sizes))
    }
}

/// A writer that keeps only the number of bytes written to it.
struct Counted(usize);

impl std::io::Write for Counted {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
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
