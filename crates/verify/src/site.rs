//! The served pages, API files and downloads against the signed payloads.
//!
//! [`check_site`] renders the public tree again with [`urne_site::render`] (pure and
//! deterministic) from the results releases a [`Follower`] verified, then reads every file of
//! that tree from the source and compares bytes. A file the tree must have that is not served
//! is a failure; so is, in a directory, a page or API file served that the tree does not have
//! (a page of an election nobody signed). `log/` and `blobs/` are checked by the follower.
//!
//! The site title is the one input of the render that no signature covers: it is given by the
//! caller or read back from the served `index.html` ([`urne_site::site_title`]), and the report
//! says which.

use std::collections::BTreeMap;

use urne_site::{ElectionReleases, PublishedRelease, Site, Witnesses};
use urne_tlog::note::Note;
use urne_tlog::policy::{PolicyLog, Quorum};

use crate::fetch::Fetch;
use crate::follow::{Failure, Follower, Seen};

/// Where the unsigned site title came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TitleFrom {
    /// The caller gave it (`urne verify --title`).
    Given,
    /// Read from the served `index.html`.
    Served,
}

/// What [`check_site`] compared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteCheck {
    /// The site title used.
    pub title: String,
    /// Where it came from.
    pub title_from: TitleFrom,
    /// HTML pages compared.
    pub pages: u64,
    /// API files (`api/…`) compared.
    pub api: u64,
    /// Downloads (`downloads/…`) compared.
    pub downloads: u64,
    /// Other files (`site.css`, `verify.js`) compared.
    pub assets: u64,
    /// Bytes compared.
    pub bytes: u64,
    /// Files listed in a directory source and checked for extras (0 over HTTP).
    pub listed: u64,
}

/// Re-renders the tree from `follower`'s verified results releases and compares every file
/// with `src`. `follower` must have advanced with [`crate::Options::keep_releases`].
pub fn check_site(
    follower: &Follower,
    src: &dyn Fetch,
    title: Option<&str>,
) -> Result<SiteCheck, Failure> {
    let invalid = |why: String| Failure::Invalid(why);
    let seen = follower
        .last()
        .ok_or_else(|| invalid("no verified checkpoint to render the site from".into()))?;
    let log_vkey = follower
        .log_key()
        .map(|k| k.vkey())
        .ok_or_else(|| invalid("no log key to render the site with".into()))?;
    let (title, title_from) = match title {
        Some(t) => (t.to_owned(), TitleFrom::Given),
        None => {
            let index = src
                .get("index.html", urne_site::PAGE_BYTES_MAX as u64)?
                .ok_or_else(|| {
                    invalid(
                        "index.html is missing (the tree rendered from the signed payloads has it)"
                            .into(),
                    )
                })?;
            let t = urne_site::site_title(&index).ok_or_else(|| {
                invalid("index.html: no site title in its header (not a page urne renders)".into())
            })?;
            (t, TitleFrom::Served)
        }
    };
    let mut elections: BTreeMap<&str, Vec<PublishedRelease<'_>>> = BTreeMap::new();
    for r in follower.results() {
        let Some(election) = &r.release.manifest().election else {
            continue;
        };
        elections
            .entry(election.as_str())
            .or_default()
            .push(PublishedRelease {
                log_index: r.log_index,
                release: &r.release,
                snapshot: &r.snapshot,
            });
    }
    let witnessed = witnessed(follower, seen)?;
    let tree = urne_site::render(&Site {
        title: &title,
        log_origin: &seen.checkpoint.origin,
        log_vkey: &log_vkey,
        witnesses: witnessed
            .as_ref()
            .map(|(size, cosigners, policy_log_index)| Witnesses {
                size: *size,
                cosigners,
                policy_log_index: *policy_log_index,
            }),
        elections: elections
            .into_iter()
            .map(|(id, releases)| ElectionReleases { id, releases })
            .collect(),
    })
    .map_err(|e| invalid(format!("the signed payloads do not render: {e}")))?;
    let mut check = SiteCheck {
        title,
        title_from,
        pages: 0,
        api: 0,
        downloads: 0,
        assets: 0,
        bytes: 0,
        listed: 0,
    };
    for (path, rendered) in &tree {
        let what = kind(path);
        // Our own rendering bounds the read: anything longer differs anyway.
        let limit = rendered.len() as u64;
        let served = match src.get(path, limit) {
            Ok(Some(b)) => b,
            Ok(None) => {
                return Err(invalid(format!(
                    "{path} is missing (the tree rendered from the signed payloads has this {what})"
                )));
            }
            Err(crate::FetchError::TooLarge { .. }) => {
                return Err(invalid(format!(
                    "{path}: the served {what} is longer than the one rendered from the signed payloads ({} bytes)",
                    rendered.len()
                )));
            }
            Err(e) => return Err(e.into()),
        };
        if served != *rendered {
            let at = served
                .iter()
                .zip(rendered)
                .position(|(a, b)| a != b)
                .unwrap_or(served.len().min(rendered.len()));
            return Err(invalid(format!(
                "{path}: the served {what} differs from the one rendered from the signed payloads \
                 (first difference at byte {at}{})",
                context(&served, rendered, at)
            )));
        }
        check.bytes += rendered.len() as u64;
        match what {
            "page" => check.pages += 1,
            "API file" => check.api += 1,
            "download" => check.downloads += 1,
            _ => check.assets += 1,
        }
    }
    if let Some(listed) = src.list()? {
        check.listed = listed.len() as u64;
        let extra = listed.iter().find(|p| {
            !p.starts_with("log/")
                && !p.starts_with("blobs/")
                && !tree.contains_key(p.as_str())
                && [".html", ".json", ".csv", ".xml", ".js", ".css"]
                    .iter()
                    .any(|e| p.ends_with(e))
        });
        if let Some(p) = extra {
            return Err(invalid(format!(
                "{p} is served but is not in the tree rendered from the signed payloads"
            )));
        }
    }
    Ok(check)
}

/// What a path of the tree is, for messages.
fn kind(path: &str) -> &'static str {
    if path.starts_with("api/") {
        "API file"
    } else if path.starts_with("downloads/") {
        "download"
    } else if path.ends_with(".html") {
        "page"
    } else {
        "file"
    }
}

/// A short excerpt of both sides at a text difference: `: served "…", signed "…"`.
fn context(served: &[u8], rendered: &[u8], at: usize) -> String {
    let cut = |b: &[u8]| -> Option<String> {
        let from = at.saturating_sub(16);
        let to = (at + 24).min(b.len());
        let text = std::str::from_utf8(b.get(from..to)?).ok()?;
        Some(text.escape_debug().to_string())
    };
    match (cut(served), cut(rendered)) {
        (Some(s), Some(r)) => format!(": served \"{s}\", signed \"{r}\""),
        _ => String::new(),
    }
}

/// The witness state the pages were rendered with: `None` when the trust policy in force needs
/// no cosignatures; else `(size, cosigners, policy entry index)` from the served checkpoint,
/// which must meet the quorum. A server whose newest checkpoint still awaits witnesses renders
/// its notices from an older cosigned checkpoint it no longer serves, so the pages cannot be
/// re-derived then: that is [`Failure::AwaitingWitnesses`], not a mismatch.
fn witnessed(follower: &Follower, seen: &Seen) -> Result<Option<(u64, Vec<String>, u64)>, Failure> {
    let chain = follower.chain();
    let Some(policy) = chain
        .state()
        .policy()
        .map(|p| p.witnesses())
        .filter(|p| p.quorum != Quorum::None)
    else {
        return Ok(None);
    };
    let policy_log_index = chain
        .releases()
        .iter()
        .enumerate()
        .rev()
        .find(|(_, r)| r.manifest().kind == urne_release::Kind::TrustPolicy)
        .map_or(0, |(i, _)| i as u64);
    let Some(log) = follower.log_key() else {
        return Ok(None);
    };
    let mut checker = policy.clone();
    checker.logs = vec![PolicyLog {
        verifier: log.clone(),
        url: None,
    }];
    let checked = Note::parse(&seen.note)
        .ok()
        .and_then(|n| checker.verify_checkpoint(&n).ok());
    match checked {
        Some(c) => Ok(Some((
            c.checkpoint().size,
            c.witnesses().iter().map(|(n, _)| n.clone()).collect(),
            policy_log_index,
        ))),
        None => Err(Failure::AwaitingWitnesses {
            size: seen.checkpoint.size,
            cosigners: Vec::new(),
        }),
    }
}
