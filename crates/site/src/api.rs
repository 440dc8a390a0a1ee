//! JSON API v1 files (documented in `assets/openapi.json`, served at `api/v1/openapi.json`).
//! Built by hand from the view, never by deriving `Serialize` on the results model, so the
//! published shape changes only when this file does.

use serde_json::{Value, json};
use urne_results::diff::SnapshotDiff;
use urne_results::{Contest, CountType, Snapshot};

use crate::view::{ContestView, Reporting, UnitTotals, View};
use crate::{ReleaseRef, path_segment};

/// The API's version, in every file.
pub const API_VERSION: u64 = 1;

pub fn release(r: &ReleaseRef<'_>, id_seg: &str) -> Value {
    json!({
        "log_index": r.log_index,
        "sequence": r.sequence,
        "timestamp": r.timestamp,
        "published": crate::i18n::utc(r.timestamp).1,
        "status": r.status.as_str(),
        "correction": r.correction,
        "signers": r.signers,
        "manifest_sha256": r.manifest_hex,
        "payload": {
            "sha256": r.payload_hex,
            "size": r.payload_size,
            "media_type": r.media_type,
            "url": format!("blobs/sha256/{}", r.payload_hex),
        },
        "summary_url": format!("api/v1/elections/{id_seg}/releases/{}/summary.json", r.log_index),
    })
}

fn reporting(r: Reporting) -> Value {
    json!({ "known": r.known, "units_reporting": r.reporting, "units_total": r.total })
}

fn election(s: &Snapshot, id: &str) -> Value {
    let e = &s.election;
    json!({
        "id": id,
        "name": e.name,
        "kind": e.kind.as_str(),
        "start_date": e.start_date,
        "end_date": e.end_date,
        "scope_unit": e.scope_unit,
        "report_status": s.status.as_str(),
    })
}

/// Choices, most votes first. `all` false leaves out choices with no votes (a unit file of a
/// state with hundreds of write-in names would otherwise list every name in every precinct).
fn choices(s: &Snapshot, cv: &ContestView<'_>, t: &UnitTotals, marks: bool, all: bool) -> Value {
    let mut order: Vec<usize> = (0..cv.c.choices.len())
        .filter(|&i| all || t.by_choice[i] > 0)
        .collect();
    order.sort_by(|&a, &b| t.by_choice[b].cmp(&t.by_choice[a]).then(a.cmp(&b)));
    Value::Array(
        order
            .into_iter()
            .map(|i| {
                let ch = &cv.c.choices[i];
                let party = ch
                    .party
                    .as_deref()
                    .map(|p| s.party(p).map_or_else(|| p.to_owned(), |x| x.name.clone()));
                json!({
                    "id": ch.id,
                    "name": ch.name,
                    "party": party,
                    "write_in": ch.write_in,
                    "votes": t.by_choice[i],
                    "mark": if marks { cv.marks[i].map(|m| m.as_str()) } else { None },
                })
            })
            .collect(),
    )
}

fn contest_summary(s: &Snapshot, cv: &ContestView<'_>) -> Value {
    let c = cv.c;
    let t = cv.district();
    json!({
        "id": c.id,
        "name": c.name,
        "kind": c.kind.as_str(),
        "district": c.district,
        "votes_allowed": c.votes_allowed,
        "reporting": reporting(cv.reporting),
        "total_votes": t.total,
        "choices": choices(s, cv, &t, true, true),
    })
}

/// `summary.json` of one release (also the election's latest summary).
/// The latest `summary.json` also says whether the release awaits witnesses when the trust
/// policy needs cosignatures (the immutable per-release copies do not: that changes after
/// they are written).
pub fn witnesses(w: &crate::Witnesses<'_>, r: &ReleaseRef<'_>) -> Value {
    let witnessed = r.log_index < w.size;
    json!({
        "status": if witnessed { "witnessed" } else { "awaiting" },
        "witnessed_size": w.size,
        "cosigners": if witnessed { w.cosigners } else { &[] },
    })
}

pub fn summary(view: &View<'_>, id: &str, id_seg: &str, r: &ReleaseRef<'_>) -> Value {
    let s = view.s;
    json!({
        "api_version": API_VERSION,
        "election": election(s, id),
        "release": release(r, id_seg),
        "reporting": reporting(view.reporting),
        "turnout": { "ballots_cast": view.turnout.0, "registered_voters": view.turnout.1 },
        "contests": view.contests.iter().map(|cv| contest_summary(s, cv)).collect::<Vec<_>>(),
    })
}

fn by_type(c: &Contest, t: &UnitTotals) -> Value {
    let mut out = serde_json::Map::new();
    for (k, v) in &t.by_kind {
        let m: serde_json::Map<String, Value> = c
            .choices
            .iter()
            .zip(v)
            .filter(|(_, n)| **n > 0)
            .map(|(ch, n)| (ch.id.clone(), json!(n)))
            .collect();
        out.insert(k.as_str().to_owned(), Value::Object(m));
    }
    Value::Object(out)
}

/// Votes per choice id, leaving out choices with none.
fn votes_map(c: &Contest, t: &UnitTotals) -> Value {
    Value::Object(
        c.choices
            .iter()
            .zip(&t.by_choice)
            .filter(|(_, n)| **n > 0)
            .map(|(ch, n)| (ch.id.clone(), json!(n)))
            .collect(),
    )
}

/// `contests/<c>.json`: the contest with votes by count type and every unit with data.
pub fn contest(
    view: &View<'_>,
    cv: &ContestView<'_>,
    id: &str,
    id_seg: &str,
    r: &ReleaseRef<'_>,
) -> Value {
    let s = view.s;
    let t = cv.district();
    let units: Vec<Value> = cv
        .units
        .iter()
        .map(|(u, ut)| {
            let unit = s.unit(u);
            json!({
                "id": u,
                "name": unit.map(|x| x.name.as_str()),
                "kind": unit.map(|x| x.kind.as_str()),
                "total_votes": ut.total,
                "votes": votes_map(cv.c, ut),
            })
        })
        .collect();
    json!({
        "api_version": API_VERSION,
        "election_id": id,
        "release": release(r, id_seg),
        "contest": contest_summary(s, cv),
        "by_count_type": by_type(cv.c, &t),
        "units": units,
    })
}

/// `units/<u>.json`: a unit's facts and every contest's totals there.
pub fn unit(
    view: &View<'_>,
    u: &urne_results::Unit,
    id: &str,
    id_seg: &str,
    r: &ReleaseRef<'_>,
) -> Value {
    let s = view.s;
    let f = &u.facts;
    let contests: Vec<Value> = view
        .unit_contests
        .get(u.id.as_str())
        .into_iter()
        .flatten()
        .map(|&i| {
            let cv = &view.contests[i];
            let t = &cv.units[u.id.as_str()];
            json!({
                "id": cv.c.id,
                "name": cv.c.name,
                "total_votes": t.total,
                "choices": choices(s, cv, t, false, false),
                "by_count_type": by_type(cv.c, t),
            })
        })
        .collect();
    json!({
        "api_version": API_VERSION,
        "election_id": id,
        "release": release(r, id_seg),
        "unit": {
            "id": u.id,
            "name": u.name,
            "kind": u.kind.as_str(),
            "children": u.children,
            "ballots_cast": f.ballots_cast,
            "registered_voters": f.registered_voters,
            "reporting": f.reporting.map(|x| x.as_str()),
            "ballots_outstanding": f.ballots_outstanding,
            "progress": reporting(view.unit_reporting(&u.id)),
        },
        "contests": contests,
    })
}

pub fn changes(d: &SnapshotDiff) -> Value {
    let net: i128 = d
        .changes
        .iter()
        .filter(|c| c.kind == CountType::Total)
        .map(|c| c.delta())
        .sum();
    let decreases: Vec<Value> = d
        .decreases()
        .map(|c| {
            json!({
                "contest": c.contest, "unit": c.unit, "choice": c.choice,
                "count_type": c.kind.as_str(), "old": c.old, "new": c.new,
            })
        })
        .collect();
    json!({
        "units_changed": d.units_changed.len(),
        "counts_changed": d.changes.len(),
        "net_votes": i64::try_from(net).unwrap_or(if net < 0 { i64::MIN } else { i64::MAX }),
        "contests_added": d.contests_added,
        "contests_removed": d.contests_removed,
        "metadata_changed": d.metadata_changed,
        "decreases": decreases,
    })
}

/// `releases.json`: every release of the election, oldest first, with what changed.
pub fn releases(
    id: &str,
    id_seg: &str,
    rs: &[ReleaseRef<'_>],
    diffs: &[Option<SnapshotDiff>],
) -> Value {
    let list: Vec<Value> = rs
        .iter()
        .zip(diffs)
        .map(|(r, d)| {
            let mut v = release(r, id_seg);
            v["changes"] = d.as_ref().map_or(Value::Null, changes);
            v
        })
        .collect();
    json!({ "api_version": API_VERSION, "election_id": id, "releases": list })
}

/// `elections.json`.
pub fn elections(items: &[(String, &str, &Snapshot, &ReleaseRef<'_>)]) -> Value {
    let list: Vec<Value> = items
        .iter()
        .map(|(seg, id, s, r)| {
            json!({
                "id": id,
                "name": s.election.name,
                "start_date": s.election.start_date,
                "release": release(r, seg),
                "summary_url": format!("api/v1/elections/{seg}/summary.json"),
                "releases_url": format!("api/v1/elections/{seg}/releases.json"),
                "page_url": format!("elections/{seg}/index.html"),
            })
        })
        .collect();
    json!({ "api_version": API_VERSION, "elections": list })
}

/// Paths of a contest's and a unit's API files.
pub fn contest_path(id_seg: &str, c: &str) -> String {
    format!(
        "api/v1/elections/{id_seg}/contests/{}.json",
        path_segment(c)
    )
}

pub fn unit_path(id_seg: &str, u: &str) -> String {
    format!("api/v1/elections/{id_seg}/units/{}.json", path_segment(u))
}

/// Compact JSON plus a newline: deterministic (the map type is ordered) and small.
pub fn bytes(v: &Value) -> Vec<u8> {
    let mut out = serde_json::to_vec(v).unwrap_or_default();
    out.push(b'\n');
    out
}
