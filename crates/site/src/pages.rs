//! The HTML pages of one election in one language.

use std::fmt::Write as _;

use urne_results::diff::SnapshotDiff;
use urne_results::{Contest, CountType, ReportingStatus, Snapshot, Unit};

use crate::html::{Frame, Loc, PAGE_CONTENT_BYTES_MAX, page, page_path, pager, paginate};
use crate::i18n::{Tr, tenths, utc};
use crate::view::{ContestView, Mark, Reporting, UnitTotals, View};
use crate::{ReleaseRef, Site, Tree, escape, path_segment};

/// Choices listed per contest on the summary and unit pages (the rest are on the contest page).
pub const SUMMARY_CHOICES_MAX: usize = 10;
/// Choices listed on a contest page; the rest are one "Others (N)" row (all are in the API).
pub const CONTEST_CHOICES_MAX: usize = 30;
/// Choice columns in a by-area table; the remaining choices are summed as "Others".
pub const AREA_CHOICE_COLUMNS_MAX: usize = 6;
/// Changed areas and decreased counts listed per release on the history page.
pub const RELEASE_CHANGES_LISTED_MAX: usize = 20;
/// Child links per block on a unit page.
const CHILD_LINKS_PER_BLOCK: usize = 100;

/// A paginated page: where, its title, the header every page repeats, and what wraps the
/// blocks (a table's start and end).
struct Paged<'a> {
    base: &'a str,
    title: &'a str,
    live: bool,
    header: &'a str,
    /// Shown on the first page only, after the header (a contest's totals tables).
    first: &'a str,
    wrap: (&'a str, &'a str),
}

/// Everything one election's pages share.
#[derive(Debug)]
pub struct Ctx<'a> {
    pub site: &'a Site<'a>,
    pub tr: &'a Tr,
    pub id_seg: String,
    pub view: &'a View<'a>,
    pub latest: &'a ReleaseRef<'a>,
    pub releases: &'a [ReleaseRef<'a>],
    /// `diffs[i]`: what changed from release `i - 1` to release `i` (`None` for the first).
    pub diffs: &'a [Option<SnapshotDiff>],
    /// Download files with their sizes, in listing order.
    pub downloads: &'a [(String, &'static str, usize)],
}

impl Ctx<'_> {
    fn s(&self) -> &Snapshot {
        self.view.s
    }

    pub(crate) fn base(&self) -> String {
        format!("elections/{}/", self.id_seg)
    }

    fn frame(&self, title: String, live: bool) -> Frame<'_> {
        Frame {
            site_title: self.site.title,
            title,
            verify: Some(self.latest),
            live,
            log_origin: self.site.log_origin,
            log_vkey: self.site.log_vkey,
            witnesses: self.site.witnesses,
        }
    }

    fn emit(&self, tree: &mut Tree, rel: &str, title: String, live: bool, main: &str) {
        let loc = Loc {
            lang: self.tr.lang,
            rel,
        };
        let bytes = page(self.tr, &loc, &self.frame(title, live), main);
        tree.insert(loc.path(), bytes);
    }

    /// Emits `header + blocks` over as many pages as the budget needs.
    fn emit_paged(&self, tree: &mut Tree, p: Paged<'_>, blocks: Vec<String>) {
        let Paged {
            base,
            title,
            live,
            header,
            first,
            wrap,
        } = p;
        let pages = paginate(blocks, PAGE_CONTENT_BYTES_MAX);
        let total = pages.len();
        for (i, blocks) in pages.into_iter().enumerate() {
            let n = i + 1;
            let rel = page_path(base, n);
            let loc = Loc {
                lang: self.tr.lang,
                rel: &rel,
            };
            let nav = pager(self.tr, &loc, base, n, total);
            let mut main = String::with_capacity(PAGE_CONTENT_BYTES_MAX + header.len());
            main.push_str(header);
            if n == 1 {
                main.push_str(first);
            }
            main.push_str(&nav);
            main.push_str(wrap.0);
            for b in blocks {
                main.push_str(&b);
            }
            main.push_str(wrap.1);
            main.push_str(&nav);
            let t = if total > 1 {
                format!(
                    "{title} ({})",
                    self.tr.fmt(
                        "page-of",
                        &[("n", &n.to_string()), ("total", &total.to_string())]
                    )
                )
            } else {
                title.to_owned()
            };
            self.emit(tree, &rel, t, live, &main);
        }
    }

    fn link(&self, loc_rel: &str, target: &str) -> String {
        Loc {
            lang: self.tr.lang,
            rel: loc_rel,
        }
        .href(target)
    }

    pub(crate) fn contest_rel(&self, c: &Contest) -> String {
        format!("{}contests/{}.html", self.base(), path_segment(&c.id))
    }

    pub(crate) fn unit_rel(&self, u: &str) -> String {
        format!("{}units/{}.html", self.base(), path_segment(u))
    }

    fn unit_name<'s>(&'s self, id: &'s str) -> &'s str {
        self.s().unit(id).map_or(id, |u| u.name.as_str())
    }

    fn choice_label(&self, c: &Contest, i: usize) -> String {
        let ch = &c.choices[i];
        let party = ch
            .party
            .as_deref()
            .and_then(|p| self.s().party(p))
            .map(|p| p.abbreviation.clone().unwrap_or_else(|| p.name.clone()));
        match party {
            Some(p) => format!(
                "{} <span class=\"party\">({})</span>",
                escape(&ch.name),
                escape(&p)
            ),
            None => escape(&ch.name),
        }
    }
}

/// The "status / last updated / reporting / turnout" lines and the election's navigation.
fn overview(cx: &Ctx<'_>, rel: &str) -> String {
    let tr = cx.tr;
    let s = cx.s();
    let (shown, iso) = utc(cx.latest.timestamp);
    let status = cx.latest.status.as_str();
    let mut o = format!(
        "<h1>{}</h1>\n<dl class=\"facts\">\n<dt>{}</dt><dd><span class=\"badge badge-{status}\">{}</span></dd>\n\
         <dt>{}</dt><dd><time datetime=\"{iso}\">{shown}</time></dd>\n<dt>{}</dt><dd>{}</dd>\n<dt>{}</dt><dd>{}</dd>\n</dl>\n",
        escape(&s.election.name),
        escape(&tr.t("status")),
        escape(&tr.t(&format!("status-{status}"))),
        escape(&tr.t("last-updated")),
        escape(&tr.t("reporting-status")),
        escape(&reporting_text(tr, cx.view.reporting)),
        escape(&tr.t("turnout")),
        escape(&turnout_text(tr, cx.view.turnout)),
    );
    if let Some(w) = cx.site.witnesses {
        o.push_str(&witness_notice(tr, &w, cx.latest.log_index));
    }
    let b = cx.base();
    let _ = writeln!(
        o,
        "<nav class=\"sub\" aria-label=\"{}\"><ul><li><a href=\"{}\">{}</a></li><li><a href=\"{}\">{}</a></li>\
         <li><a href=\"{}\">{}</a></li><li><a href=\"{}\">{}</a></li></ul></nav>",
        escape(&s.election.name),
        cx.link(rel, &format!("{b}index.html")),
        escape(&tr.t("summary")),
        cx.link(rel, &format!("{b}releases.html")),
        escape(&tr.t("releases")),
        cx.link(rel, &format!("{b}downloads.html")),
        escape(&tr.t("downloads")),
        cx.link(rel, &cx.unit_rel(&s.election.scope_unit)),
        escape(cx.unit_name(&s.election.scope_unit)),
    );
    o
}

/// "Awaiting witnesses" until the witness quorum cosigned a checkpoint that includes the
/// release at `log_index`, then who cosigned it. `data-witness` lets the live update see it
/// change.
fn witness_notice(tr: &Tr, w: &crate::Witnesses<'_>, log_index: u64) -> String {
    if log_index < w.size {
        format!(
            "<p class=\"witness witness-ok\" data-witness=\"witnessed\">{}</p>\n",
            escape(&tr.fmt("witness-cosigned", &[("names", &w.cosigners.join(", "))]))
        )
    } else {
        format!(
            "<p class=\"witness witness-awaiting\" data-witness=\"awaiting\">{}</p>\n",
            escape(&tr.t("witness-awaiting"))
        )
    }
}

fn reporting_text(tr: &Tr, r: Reporting) -> String {
    if !r.known {
        return tr.t("reporting-unknown");
    }
    tr.fmt(
        "reporting",
        &[
            ("reporting", &tr.num(r.reporting)),
            ("total", &tr.num(r.total)),
        ],
    )
}

fn turnout_text(tr: &Tr, t: (Option<u64>, Option<u64>)) -> String {
    match t {
        (Some(b), Some(r)) if r > 0 => tr.fmt(
            "turnout-value",
            &[
                ("ballots", &tr.num(b)),
                ("registered", &tr.num(r)),
                ("percent", &tr.percent(b, r)),
            ],
        ),
        (Some(b), _) => tr.fmt("ballots-only", &[("ballots", &tr.num(b))]),
        _ => tr.t("not-reported"),
    }
}

/// One contest as a section: heading, progress, and a table of its leading choices in `unit`.
fn contest_block(
    cx: &Ctx<'_>,
    rel: &str,
    cv: &ContestView<'_>,
    unit: &str,
    heading: &str,
) -> String {
    let tr = cx.tr;
    let c = cv.c;
    let seg = path_segment(&c.id);
    let mut o = format!(
        "<section class=\"contest\" aria-labelledby=\"h-{seg}\">\n<{heading} id=\"h-{seg}\"><a href=\"{}\">{}</a></{heading}>\n",
        cx.link(rel, &cx.contest_rel(c)),
        escape(&c.name)
    );
    let mut meta = Vec::new();
    if unit == c.district {
        meta.push(reporting_text(tr, cv.reporting));
    }
    if let Some(n) = c.votes_allowed.filter(|n| *n > 1) {
        meta.push(tr.fmt("vote-for", &[("n", &n.to_string())]));
    }
    if !meta.is_empty() {
        let _ = writeln!(o, "<p class=\"meta\">{}</p>", escape(&meta.join(" · ")));
    }
    let Some(t) = cv.units.get(unit).filter(|t| t.total > 0) else {
        let _ = writeln!(o, "<p>{}</p>\n</section>", escape(&tr.t("no-data")));
        return o;
    };
    let marks = unit == c.district;
    o.push_str(&choice_table(cx, cv, t, marks, SUMMARY_CHOICES_MAX));
    let more = ranked(cv, t, SUMMARY_CHOICES_MAX)
        .len()
        .saturating_sub(SUMMARY_CHOICES_MAX) as u64;
    if more > 0 {
        let _ = writeln!(
            o,
            "<p class=\"more\"><a href=\"{}\">{}</a></p>",
            cx.link(rel, &cx.contest_rel(c)),
            escape(&tr.fmt_n("more-choices", more, &[]))
        );
    }
    o.push_str("</section>\n");
    o
}

/// The choices a table lists, most votes first (ties by id): all of them when they fit in
/// `max`, else only those with votes (a state's write-in names would otherwise be sorted and
/// listed in every precinct).
fn ranked(cv: &ContestView<'_>, t: &UnitTotals, max: usize) -> Vec<usize> {
    let n = cv.c.choices.len();
    let mut order: Vec<usize> = (0..n).filter(|&i| n <= max || t.by_choice[i] > 0).collect();
    order.sort_by(|&a, &b| t.by_choice[b].cmp(&t.by_choice[a]).then(a.cmp(&b)));
    order
}

/// Choices (most votes first) with votes, percent and a bar.
fn choice_table(
    cx: &Ctx<'_>,
    cv: &ContestView<'_>,
    t: &UnitTotals,
    marks: bool,
    max: usize,
) -> String {
    let tr = cx.tr;
    let mut o = format!(
        "<table class=\"results\">\n<caption class=\"sr-only\">{}</caption>\n<thead><tr><th scope=\"col\">{}</th>\
         <th scope=\"col\" class=\"n\">{}</th><th scope=\"col\" class=\"n\">{}</th>\
         <th scope=\"col\" class=\"bar-col\"><span class=\"sr-only\">{}</span></th></tr></thead>\n<tbody>\n",
        escape(&cv.c.name),
        escape(&tr.t("choice")),
        escape(&tr.t("votes")),
        escape(&tr.t("percent")),
        escape(&tr.t("share")),
    );
    let order = ranked(cv, t, max);
    let rest: u64 = order.iter().skip(max).map(|&i| t.by_choice[i]).sum();
    for &i in order.iter().take(max) {
        let v = t.by_choice[i];
        let mark = if marks { cv.marks[i] } else { None };
        let (cls, badge) = match mark {
            Some(Mark::Winner) => (
                " class=\"won\"",
                format!(
                    " <strong class=\"mark\">{}</strong>",
                    escape(&tr.t("winner"))
                ),
            ),
            Some(Mark::Leading) => (
                " class=\"lead\"",
                format!(
                    " <strong class=\"mark\">{}</strong>",
                    escape(&tr.t("leading"))
                ),
            ),
            None => ("", String::new()),
        };
        let w = tenths(v, t.total);
        let _ = writeln!(
            o,
            "<tr{cls}><th scope=\"row\">{}{badge}</th><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"bar\" aria-hidden=\"true\"><span style=\"width:{}.{}%\"></span></td></tr>",
            cx.choice_label(cv.c, i),
            tr.num(v),
            tr.percent(v, t.total),
            w / 10,
            w % 10,
        );
    }
    if order.len() > max {
        let w = tenths(rest, t.total);
        let _ = writeln!(
            o,
            "<tr><th scope=\"row\">{} ({})</th><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"bar\" aria-hidden=\"true\"><span style=\"width:{}.{}%\"></span></td></tr>",
            escape(&tr.t("others")),
            tr.num((order.len() - max) as u64),
            tr.num(rest),
            tr.percent(rest, t.total),
            w / 10,
            w % 10,
        );
    }
    o.push_str("</tbody>\n</table>\n");
    o
}

pub(crate) fn summary(tree: &mut Tree, cx: &Ctx<'_>) {
    let base = format!("{}index.html", cx.base());
    // Every page of the summary links the same way: pages are siblings.
    let header = overview(cx, &base);
    let blocks: Vec<String> = cx
        .view
        .contests
        .iter()
        .map(|cv| contest_block(cx, &base, cv, &cv.c.district, "h2"))
        .collect();
    let wrap = (
        format!(
            "<h2 class=\"sr-only\">{}</h2>\n",
            escape(&cx.tr.t("contests"))
        ),
        String::new(),
    );
    let title = format!("{} · {}", cx.s().election.name, cx.tr.t("summary"));
    let paged = Paged {
        base: &base,
        title: &title,
        live: true,
        header: &header,
        first: "",
        wrap: (&wrap.0, &wrap.1),
    };
    cx.emit_paged(tree, paged, blocks);
}

pub(crate) fn has_children_with_data(s: &Snapshot, cv: &ContestView<'_>, unit: &str) -> bool {
    s.unit(unit).is_some_and(|u| {
        u.children
            .iter()
            .any(|ch| cv.units.contains_key(ch.as_str()))
    })
}

/// The contest page in `unit` (its district: the contest page at `base`; a sub-area with sub-areas
/// of its own: a drill-down page), so no page lists a whole state's precincts.
pub(crate) fn contest_in_unit(
    tree: &mut Tree,
    cx: &Ctx<'_>,
    cv: &ContestView<'_>,
    unit: &str,
    base: &str,
) {
    let tr = cx.tr;
    let c = cv.c;
    let in_district = unit == c.district;
    let title = if in_district {
        c.name.clone()
    } else {
        format!("{} · {}", c.name, cx.unit_name(unit))
    };
    let mut h = format!(
        "<p class=\"crumbs\"><a href=\"{}\">{}</a></p>\n<h1>{}</h1>\n",
        cx.link(base, &format!("{}index.html", cx.base())),
        escape(&cx.s().election.name),
        escape(&title)
    );
    let reporting = if in_district {
        cv.reporting
    } else {
        cx.view.unit_reporting(unit)
    };
    let _ = writeln!(
        h,
        "<p class=\"meta\"><a href=\"{}\">{}</a> · {}</p>",
        cx.link(base, &cx.unit_rel(unit)),
        escape(cx.unit_name(unit)),
        escape(&reporting_text(tr, reporting))
    );
    if !in_district {
        let _ = writeln!(
            h,
            "<p><a href=\"{}\">{}</a></p>",
            cx.link(base, &cx.contest_rel(c)),
            escape(&tr.fmt("see-contest", &[("name", &c.name)]))
        );
    }
    let Some(t) = cv.units.get(unit).filter(|t| t.total > 0) else {
        let _ = writeln!(h, "<p>{}</p>", escape(&tr.t("no-data")));
        cx.emit(tree, base, title, false, &h);
        return;
    };
    let mut tables = choice_table(cx, cv, t, in_district, CONTEST_CHOICES_MAX);
    tables.push_str(&type_table(cx, cv, t));
    // By area: the unit's children with data, one row each.
    let Some(u) = cx.s().unit(unit) else {
        h.push_str(&tables);
        cx.emit(tree, base, title, false, &h);
        return;
    };
    let mut kids: Vec<&Unit> = u
        .children
        .iter()
        .filter(|ch| cv.units.contains_key(ch.as_str()))
        .filter_map(|ch| cx.s().unit(ch))
        .collect();
    if kids.is_empty() {
        h.push_str(&tables);
        cx.emit(tree, base, title, false, &h);
        return;
    }
    kids.sort_by(|a, b| {
        a.kind
            .cmp(&b.kind)
            .then(a.name.cmp(&b.name))
            .then(a.id.cmp(&b.id))
    });
    let cols: Vec<usize> = cv
        .order
        .iter()
        .copied()
        .take(AREA_CHOICE_COLUMNS_MAX)
        .collect();
    let others = c.choices.len() > cols.len();
    let mut head = format!(
        "<h2 id=\"by-area\">{}</h2>\n<div class=\"scroll\"><table class=\"areas\">\n<caption class=\"sr-only\">{} · {}</caption>\n\
         <thead><tr><th scope=\"col\">{}</th>",
        escape(&tr.t("by-area")),
        escape(&title),
        escape(&tr.t("by-area")),
        escape(&tr.t("area"))
    );
    for &i in &cols {
        let _ = write!(
            head,
            "<th scope=\"col\" class=\"n\">{}</th>",
            escape(&c.choices[i].name)
        );
    }
    if others {
        let _ = write!(
            head,
            "<th scope=\"col\" class=\"n\">{}</th>",
            escape(&tr.t("others"))
        );
    }
    let _ = write!(
        head,
        "<th scope=\"col\" class=\"n\">{}</th></tr></thead>\n<tbody>\n",
        escape(&tr.t("total"))
    );
    let rows: Vec<String> = kids
        .iter()
        .map(|k| {
            let kt = &cv.units[k.id.as_str()];
            let target = if has_children_with_data(cx.s(), cv, &k.id) {
                format!(
                    "{}contests/{}/{}.html",
                    cx.base(),
                    path_segment(&c.id),
                    path_segment(&k.id)
                )
            } else {
                cx.unit_rel(&k.id)
            };
            let mut r = format!(
                "<tr><th scope=\"row\"><a href=\"{}\">{}</a></th>",
                cx.link(base, &target),
                escape(&k.name)
            );
            let mut shown = 0u64;
            for &i in &cols {
                shown += kt.by_choice[i];
                let _ = write!(r, "<td class=\"n\">{}</td>", tr.num(kt.by_choice[i]));
            }
            if others {
                let _ = write!(
                    r,
                    "<td class=\"n\">{}</td>",
                    tr.num(kt.total.saturating_sub(shown))
                );
            }
            let _ = writeln!(r, "<td class=\"n\">{}</td></tr>", tr.num(kt.total));
            r
        })
        .collect();
    let paged = Paged {
        base,
        title: &title,
        live: false,
        header: &h,
        first: &tables,
        wrap: (&head, "</tbody>\n</table></div>\n"),
    };
    cx.emit_paged(tree, paged, rows);
}

/// Votes by count type (election day, mail, …) per choice, when the source splits them.
fn type_table(cx: &Ctx<'_>, cv: &ContestView<'_>, t: &UnitTotals) -> String {
    let tr = cx.tr;
    let kinds: Vec<CountType> = t.by_kind.keys().copied().collect();
    if kinds.is_empty() {
        return String::new();
    }
    let mut o = format!(
        "<h2>{}</h2>\n<div class=\"scroll\"><table class=\"types\">\n<caption class=\"sr-only\">{} · {}</caption>\n<thead><tr><th scope=\"col\">{}</th>",
        escape(&tr.t("by-type")),
        escape(&cv.c.name),
        escape(&tr.t("by-type")),
        escape(&tr.t("choice"))
    );
    for k in &kinds {
        let _ = write!(
            o,
            "<th scope=\"col\" class=\"n\">{}</th>",
            escape(&tr.t(&format!("count-{}", k.as_str())))
        );
    }
    let _ = write!(
        o,
        "<th scope=\"col\" class=\"n\">{}</th></tr></thead>\n<tbody>\n",
        escape(&tr.t("total"))
    );
    for &i in cv.order.iter().take(CONTEST_CHOICES_MAX) {
        let _ = write!(o, "<tr><th scope=\"row\">{}</th>", cx.choice_label(cv.c, i));
        for k in &kinds {
            let _ = write!(o, "<td class=\"n\">{}</td>", tr.num(t.by_kind[k][i]));
        }
        let _ = writeln!(o, "<td class=\"n\">{}</td></tr>", tr.num(t.by_choice[i]));
    }
    o.push_str("</tbody>\n</table></div>\n");
    o
}

pub(crate) fn unit_page(tree: &mut Tree, cx: &Ctx<'_>, u: &Unit) {
    let tr = cx.tr;
    let base = cx.unit_rel(&u.id);
    let mut h = format!(
        "<p class=\"crumbs\"><a href=\"{}\">{}</a></p>\n<h1>{}</h1>\n<dl class=\"facts\">\n",
        cx.link(&base, &format!("{}index.html", cx.base())),
        escape(&cx.s().election.name),
        escape(&u.name)
    );
    let f = &u.facts;
    let fact = |h: &mut String, label: &str, value: String| {
        let _ = writeln!(
            h,
            "<dt>{}</dt><dd>{}</dd>",
            escape(&tr.t(label)),
            escape(&value)
        );
    };
    let num = |v: Option<u64>| v.map_or_else(|| tr.t("not-reported"), |n| tr.num(n));
    fact(&mut h, "ballots-cast", num(f.ballots_cast));
    fact(&mut h, "registered", num(f.registered_voters));
    fact(
        &mut h,
        "turnout",
        turnout_text(tr, (f.ballots_cast, f.registered_voters)),
    );
    if let Some(r) = f.reporting {
        let key = match r {
            ReportingStatus::NotStarted => "reporting-not-processed",
            ReportingStatus::Partial => "reporting-in-process",
            _ => "reporting-completed",
        };
        fact(&mut h, "reporting-status", tr.t(key));
    }
    if let Some(b) = f.ballots_outstanding {
        fact(&mut h, "ballots-outstanding", tr.num(b));
    }
    if !u.children.is_empty() {
        fact(
            &mut h,
            "reporting-status",
            reporting_text(tr, cx.view.unit_reporting(&u.id)),
        );
    }
    h.push_str("</dl>\n");
    let mut blocks = Vec::new();
    let contests = cx.view.unit_contests.get(u.id.as_str());
    match contests {
        Some(list) => {
            blocks.push(format!("<h2>{}</h2>\n", escape(&tr.t("contests-here"))));
            for &i in list {
                let cv = &cx.view.contests[i];
                blocks.push(contest_block(cx, &base, cv, &u.id, "h3"));
            }
        }
        None => blocks.push(format!("<p>{}</p>\n", escape(&tr.t("no-data")))),
    }
    if !u.children.is_empty() {
        blocks.push(format!(
            "<h2>{}</h2>\n",
            escape(&tr.fmt("areas-within", &[("name", &u.name)]))
        ));
        let mut kids: Vec<&Unit> = u.children.iter().filter_map(|c| cx.s().unit(c)).collect();
        kids.sort_by(|a, b| {
            a.kind
                .cmp(&b.kind)
                .then(a.name.cmp(&b.name))
                .then(a.id.cmp(&b.id))
        });
        for chunk in kids.chunks(CHILD_LINKS_PER_BLOCK) {
            let mut b = String::from("<ul class=\"areas-list\">\n");
            for k in chunk {
                let _ = writeln!(
                    b,
                    "<li><a href=\"{}\">{}</a></li>",
                    cx.link(&base, &cx.unit_rel(&k.id)),
                    escape(&k.name)
                );
            }
            b.push_str("</ul>\n");
            blocks.push(b);
        }
    }
    cx.emit_paged(
        tree,
        Paged {
            base: &base,
            title: &u.name,
            live: false,
            header: &h,
            first: "",
            wrap: ("", ""),
        },
        blocks,
    );
}

pub(crate) fn releases_page(tree: &mut Tree, cx: &Ctx<'_>) {
    let tr = cx.tr;
    let base = format!("{}releases.html", cx.base());
    let title = format!("{} · {}", cx.s().election.name, tr.t("releases"));
    let header = format!(
        "<p class=\"crumbs\"><a href=\"{}\">{}</a></p>\n<h1>{}</h1>\n",
        cx.link(&base, &format!("{}index.html", cx.base())),
        escape(&cx.s().election.name),
        escape(&tr.t("releases"))
    );
    let mut blocks = Vec::new();
    for (r, d) in cx.releases.iter().zip(cx.diffs).rev() {
        blocks.push(release_block(cx, &base, r, d.as_ref()));
    }
    cx.emit_paged(
        tree,
        Paged {
            base: &base,
            title: &title,
            live: false,
            header: &header,
            first: "",
            wrap: ("", ""),
        },
        blocks,
    );
}

fn release_block(cx: &Ctx<'_>, base: &str, r: &ReleaseRef<'_>, d: Option<&SnapshotDiff>) -> String {
    let tr = cx.tr;
    let (shown, iso) = utc(r.timestamp);
    let status = r.status.as_str();
    let mut o = format!(
        "<section class=\"release\" aria-labelledby=\"r-{0}\">\n<h2 id=\"r-{0}\">{1}</h2>\n<dl class=\"facts\">\n\
         <dt>{2}</dt><dd>{0}</dd>\n<dt>{3}</dt><dd><time datetime=\"{iso}\">{shown}</time></dd>\n\
         <dt>{4}</dt><dd><span class=\"badge badge-{status}\">{5}</span></dd>\n<dt>{6}</dt><dd>{7}</dd>\n\
         <dt>{8}</dt><dd><code>{9}</code></dd>\n<dt>{10}</dt><dd><a href=\"{11}\"><code>{12}</code></a></dd>\n</dl>\n",
        r.log_index,
        escape(&tr.fmt("release", &[("n", &r.sequence.to_string())])),
        escape(&tr.t("log-entry")),
        escape(&tr.t("published")),
        escape(&tr.t("status")),
        escape(&tr.t(&format!("status-{status}"))),
        escape(&tr.t("signed-by")),
        escape(&r.signers.join(", ")),
        escape(&tr.t("manifest")),
        r.manifest_hex,
        escape(&tr.t("payload")),
        Loc {
            lang: tr.lang,
            rel: base
        }
        .asset(&format!("blobs/sha256/{}", r.payload_hex)),
        r.payload_hex,
    );
    let _ = writeln!(o, "<h3>{}</h3>", escape(&tr.t("changes")));
    let Some(d) = d else {
        let _ = writeln!(o, "<p>{}</p>\n</section>", escape(&tr.t("first-release")));
        return o;
    };
    if d.changes.is_empty() && d.contests_added.is_empty() && d.contests_removed.is_empty() {
        let _ = writeln!(o, "<p>{}</p>", escape(&tr.t("no-changes")));
    } else {
        let net: i128 = d
            .changes
            .iter()
            .filter(|c| c.kind == CountType::Total)
            .map(|c| c.delta())
            .sum();
        let _ = writeln!(
            o,
            "<p>{}</p>",
            escape(&tr.fmt_n(
                "units-changed",
                d.units_changed.len() as u64,
                &[("delta", &tr.signed(net))]
            ))
        );
        // Net change of total votes per unit, largest first.
        let mut per_unit: std::collections::BTreeMap<&str, i128> = Default::default();
        for c in d.changes.iter().filter(|c| c.kind == CountType::Total) {
            *per_unit.entry(c.unit.as_str()).or_default() += c.delta();
        }
        let mut per_unit: Vec<(&str, i128)> = per_unit.into_iter().collect();
        per_unit.sort_by(|a, b| b.1.abs().cmp(&a.1.abs()).then(a.0.cmp(b.0)));
        if !per_unit.is_empty() {
            let _ = write!(
                o,
                "<table class=\"changes\">\n<caption class=\"sr-only\">{}</caption>\n<thead><tr><th scope=\"col\">{}</th><th scope=\"col\" class=\"n\">{}</th></tr></thead>\n<tbody>\n",
                escape(&tr.t("changes")),
                escape(&tr.t("area")),
                escape(&tr.t("change"))
            );
            for (u, delta) in per_unit.iter().take(RELEASE_CHANGES_LISTED_MAX) {
                let _ = writeln!(
                    o,
                    "<tr><th scope=\"row\">{}</th><td class=\"n\">{}</td></tr>",
                    escape(cx.unit_name(u)),
                    tr.signed(*delta)
                );
            }
            o.push_str("</tbody>\n</table>\n");
            let more = per_unit.len().saturating_sub(RELEASE_CHANGES_LISTED_MAX) as u64;
            if more > 0 {
                let _ = writeln!(
                    o,
                    "<p class=\"more\">{}</p>",
                    escape(&tr.fmt_n("more-changes", more, &[]))
                );
            }
        }
        list_ids(&mut o, tr, "contests-added", &d.contests_added);
        list_ids(&mut o, tr, "contests-removed", &d.contests_removed);
        decreases(&mut o, cx, r, d);
    }
    o.push_str("</section>\n");
    o
}

fn list_ids(o: &mut String, tr: &Tr, label: &str, ids: &[String]) {
    if ids.is_empty() {
        return;
    }
    let _ = writeln!(o, "<h4>{}</h4>\n<ul>", escape(&tr.t(label)));
    for id in ids.iter().take(RELEASE_CHANGES_LISTED_MAX) {
        let _ = writeln!(o, "<li>{}</li>", escape(id));
    }
    o.push_str("</ul>\n");
}

fn decreases(o: &mut String, cx: &Ctx<'_>, r: &ReleaseRef<'_>, d: &SnapshotDiff) {
    let tr = cx.tr;
    let dec: Vec<_> = d.decreases().collect();
    if dec.is_empty() {
        return;
    }
    let _ = writeln!(o, "<h4>{}</h4>", escape(&tr.t("decreases")));
    let _ = writeln!(
        o,
        "<p><strong>{}:</strong> {}</p>",
        escape(&tr.t("correction")),
        escape(
            r.correction
                .map_or_else(|| tr.t("no-correction"), str::to_owned)
                .as_str()
        )
    );
    let _ = write!(
        o,
        "<table class=\"changes\">\n<caption class=\"sr-only\">{}</caption>\n<thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\" class=\"n\">{}</th></tr></thead>\n<tbody>\n",
        escape(&tr.t("decreases")),
        escape(&tr.t("contests")),
        escape(&tr.t("area")),
        escape(&tr.t("choice")),
        escape(&tr.t("change")),
    );
    let s = cx.s();
    for c in dec.iter().take(RELEASE_CHANGES_LISTED_MAX) {
        let contest = s.contest(&c.contest);
        let cname = contest.map_or(c.contest.as_str(), |x| x.name.as_str());
        let chname = contest
            .and_then(|x| x.choice(&c.choice))
            .map_or(c.choice.as_str(), |x| x.name.as_str());
        let _ = writeln!(
            o,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td class=\"n\">{} → {} ({})</td></tr>",
            escape(cname),
            escape(cx.unit_name(&c.unit)),
            escape(chname),
            tr.num(c.old.unwrap_or(0)),
            tr.num(c.new.unwrap_or(0)),
            tr.signed(c.delta())
        );
    }
    o.push_str("</tbody>\n</table>\n");
}

pub(crate) fn downloads_page(tree: &mut Tree, cx: &Ctx<'_>) {
    let tr = cx.tr;
    let base = format!("{}downloads.html", cx.base());
    let loc = Loc {
        lang: tr.lang,
        rel: &base,
    };
    let title = format!("{} · {}", cx.s().election.name, tr.t("downloads"));
    let mut o = format!(
        "<p class=\"crumbs\"><a href=\"{}\">{}</a></p>\n<h1>{}</h1>\n<table class=\"downloads\">\n<caption class=\"sr-only\">{}</caption>\n\
         <thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\" class=\"n\">{}</th></tr></thead>\n<tbody>\n",
        cx.link(&base, &format!("{}index.html", cx.base())),
        escape(&cx.s().election.name),
        escape(&tr.t("downloads")),
        escape(&tr.t("downloads")),
        escape(&tr.t("file")),
        escape(&tr.t("format")),
        escape(&tr.t("size-bytes")),
    );
    for (path, label, size) in cx.downloads {
        let name = path.rsplit('/').next().unwrap_or(path);
        let _ = writeln!(
            o,
            "<tr><th scope=\"row\"><a href=\"{}\" download>{}</a></th><td>{}</td><td class=\"n\">{}</td></tr>",
            loc.asset(path),
            escape(name),
            escape(&tr.t(label)),
            tr.num(*size as u64)
        );
    }
    let r = cx.latest;
    let _ = writeln!(
        o,
        "<tr><th scope=\"row\"><a href=\"{}\"><code>{}</code></a></th><td>{}</td><td class=\"n\">{}</td></tr>\n</tbody>\n</table>",
        loc.asset(&format!("blobs/sha256/{}", r.payload_hex)),
        &r.payload_hex[..16.min(r.payload_hex.len())],
        escape(&tr.t("download-payload")),
        tr.num(r.payload_size)
    );
    let api = format!("api/v1/elections/{}/", cx.id_seg);
    let _ = writeln!(
        o,
        "<h2>{}</h2>\n<ul>\n<li><a href=\"{}\">summary.json</a></li>\n<li><a href=\"{}\">releases.json</a></li>\n\
         <li><a href=\"{}\">{}</a></li>\n</ul>",
        escape(&tr.t("api")),
        loc.asset(&format!("{api}summary.json")),
        loc.asset(&format!("{api}releases.json")),
        loc.asset("api/v1/openapi.json"),
        escape(&tr.t("api-doc")),
    );
    cx.emit(tree, &base, title, false, &o);
}

/// The list of elections (`index.html` of a language).
pub fn index(
    tree: &mut Tree,
    site: &Site<'_>,
    tr: &Tr,
    items: &[(String, String, &ReleaseRef<'_>)],
) {
    let loc = Loc {
        lang: tr.lang,
        rel: "index.html",
    };
    let mut o = format!("<h1>{}</h1>\n", escape(&tr.t("elections")));
    if items.is_empty() {
        let _ = writeln!(o, "<p>{}</p>", escape(&tr.t("no-elections")));
    } else {
        o.push_str("<ul class=\"elections\">\n");
        for (seg, name, r) in items {
            let (shown, iso) = utc(r.timestamp);
            let status = r.status.as_str();
            let _ = writeln!(
                o,
                "<li><a href=\"{}\">{}</a> <span class=\"badge badge-{status}\">{}</span> \
                 <span class=\"meta\">{}: <time datetime=\"{iso}\">{shown}</time></span></li>",
                loc.href(&format!("elections/{seg}/index.html")),
                escape(name),
                escape(&tr.t(&format!("status-{status}"))),
                escape(&tr.t("last-updated")),
            );
        }
        o.push_str("</ul>\n");
    }
    let frame = Frame {
        site_title: site.title,
        title: tr.t("elections"),
        verify: None,
        live: false,
        log_origin: site.log_origin,
        log_vkey: site.log_vkey,
        witnesses: None,
    };
    tree.insert(loc.path(), page(tr, &loc, &frame, &o));
}
