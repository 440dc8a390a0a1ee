//! The page frame (head, header, language switcher, footer with the verification panel),
//! relative links, and pagination under a byte budget.

use std::fmt::Write as _;

use crate::i18n::{Lang, Tr};
use crate::{ReleaseRef, escape};

/// The hard limit on one page, in bytes (DESIGN.md: pages < 100 KB).
pub const PAGE_BYTES_MAX: usize = 100_000;
/// Bytes of paginated content (blocks) per page; the frame and headers take the rest.
pub const PAGE_CONTENT_BYTES_MAX: usize = 72_000;

/// Where a page sits and how it links: `rel` is its path inside a language's tree
/// (`elections/x/index.html`); the full path is the language prefix plus `rel`.
#[derive(Debug)]
pub struct Loc<'a> {
    pub lang: Lang,
    pub rel: &'a str,
}

impl Loc<'_> {
    /// The full tree path.
    pub fn path(&self) -> String {
        format!("{}{}", self.lang.prefix(), self.rel)
    }

    /// `../` repeated up to the tree's root.
    pub fn root(&self) -> String {
        "../".repeat(self.path().matches('/').count())
    }

    /// A link to `rel` in the same language.
    pub fn href(&self, rel: &str) -> String {
        format!("{}{}{}", self.root(), self.lang.prefix(), rel)
    }

    /// A link to a language-neutral file (`site.css`, `api/…`, `downloads/…`).
    pub fn asset(&self, path: &str) -> String {
        format!("{}{}", self.root(), path)
    }
}

/// What goes around a page's main content.
#[derive(Debug)]
pub struct Frame<'a> {
    pub site_title: &'a str,
    pub title: String,
    pub verify: Option<&'a ReleaseRef<'a>>,
    /// The summary page updates itself on live events.
    pub live: bool,
    pub log_origin: &'a str,
    pub log_vkey: &'a str,
    /// Where `verify.js` finds the witness policy (only when the policy needs cosignatures).
    pub witnesses: Option<crate::Witnesses<'a>>,
}

pub fn page(tr: &Tr, loc: &Loc<'_>, frame: &Frame<'_>, main: &str) -> Vec<u8> {
    let mut o = String::with_capacity(main.len() + 4096);
    let root = loc.root();
    let _ = write!(
        o,
        "<!doctype html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} · {}</title>\n<link rel=\"stylesheet\" href=\"{root}site.css\">\n",
        loc.lang.tag(),
        escape(&frame.title),
        escape(frame.site_title),
    );
    for l in Lang::ALL {
        let _ = writeln!(
            o,
            "<link rel=\"alternate\" hreflang=\"{}\" href=\"{root}{}{}\">",
            l.tag(),
            l.prefix(),
            loc.rel
        );
    }
    let _ = writeln!(
        o,
        "<link rel=\"alternate\" hreflang=\"x-default\" href=\"{root}{}\">",
        loc.rel
    );
    if frame.verify.is_some() {
        let _ = writeln!(o, "<script src=\"{root}verify.js\" defer></script>");
    }
    o.push_str("</head>\n<body>\n");
    let _ = writeln!(
        o,
        "<a class=\"skip\" href=\"#main\">{}</a>",
        escape(&tr.t("skip"))
    );
    let _ = write!(
        o,
        "<header class=\"top\">\n<p class=\"site\"><a href=\"{}\">{}</a></p>\n\
         <nav class=\"langs\" aria-label=\"{}\"><ul>",
        loc.href("index.html"),
        escape(frame.site_title),
        escape(&tr.t("language")),
    );
    for l in Lang::ALL {
        let current = if l == loc.lang {
            " aria-current=\"page\""
        } else {
            ""
        };
        let _ = write!(
            o,
            "<li><a href=\"{root}{}{}\" hreflang=\"{}\" lang=\"{}\"{current}>{}</a></li>",
            l.prefix(),
            loc.rel,
            l.tag(),
            l.tag(),
            l.autonym()
        );
    }
    o.push_str("</ul></nav>\n</header>\n");
    let live = if frame.live { " data-live=\"1\"" } else { "" };
    let _ = writeln!(o, "<main id=\"main\" tabindex=\"-1\"{live}>");
    o.push_str(main);
    o.push_str("</main>\n<footer>\n");
    if let Some(r) = frame.verify {
        verify_panel(&mut o, tr, &root, r, frame);
    }
    o.push_str("</footer>\n</body>\n</html>\n");
    o.into_bytes()
}

/// The verification panel: what the server knows (signers) without JavaScript, and the data
/// `verify.js` needs to check it again in the browser. Strings come translated in `data-t-*`.
fn verify_panel(o: &mut String, tr: &Tr, root: &str, r: &ReleaseRef<'_>, frame: &Frame<'_>) {
    let names = r.signers.join(", ");
    let _ = write!(
        o,
        "<section class=\"verify\" id=\"verify\" aria-labelledby=\"verify-h\" \
         data-root=\"{root}\" data-log-index=\"{}\" data-manifest=\"{}\" data-payload=\"{}\" \
         data-vkey=\"{}\" data-origin=\"{}\" data-election=\"{}\" \
         data-t-ok=\"{}\" data-t-fail=\"{}\" data-t-running=\"{}\" data-t-signed=\"{}\" \
         data-t-log=\"{}\" data-t-live=\"{}\" data-t-awaiting=\"{}\" data-t-witnessed=\"{}\"{}>\n\
         <h2 id=\"verify-h\">{}</h2>\n",
        r.log_index,
        r.manifest_hex,
        r.payload_hex,
        escape(frame.log_vkey),
        escape(frame.log_origin),
        escape(r.election),
        escape(&tr.t("verify-ok")),
        escape(&tr.t("verify-fail")),
        escape(&tr.t("verify-running")),
        escape(&tr.fmt("verify-signed", &[("names", "{names}")])),
        escape(&tr.fmt(
            "verify-log",
            &[
                ("index", "{index}"),
                ("size", "{size}"),
                ("origin", "{origin}")
            ]
        )),
        escape(&tr.t("live-updated")),
        escape(&tr.t("verify-awaiting")),
        escape(&tr.fmt("verify-witnessed", &[("names", "{names}")])),
        frame.witnesses.map_or(String::new(), |w| format!(
            " data-policy-index=\"{}\"",
            w.policy_log_index
        )),
        escape(&tr.t("verification")),
    );
    let _ = writeln!(
        o,
        "<p>{}: {}. {}: <a href=\"{root}blobs/sha256/{}\"><code>{}</code></a></p>",
        escape(&tr.t("signed-by")),
        escape(&names),
        escape(&tr.t("payload")),
        r.payload_hex,
        &r.payload_hex[..16.min(r.payload_hex.len())],
    );
    let _ = writeln!(
        o,
        "<p class=\"verify-status\" role=\"status\" aria-live=\"polite\">{}</p>\n</section>",
        escape(&tr.t("verify-nojs"))
    );
}

/// Splits blocks into pages of at most `budget` bytes each (a block larger than the budget
/// gets a page of its own). Never returns zero pages.
pub fn paginate(blocks: Vec<String>, budget: usize) -> Vec<Vec<String>> {
    let mut pages: Vec<Vec<String>> = vec![Vec::new()];
    let mut used = 0;
    for b in blocks {
        let last = pages.last_mut().expect("never empty");
        if !last.is_empty() && used + b.len() > budget {
            used = 0;
            pages.push(Vec::new());
        }
        used += b.len();
        pages.last_mut().expect("never empty").push(b);
    }
    pages
}

/// Path of page `n` (1-based) of a paginated page at `base` (`…/x.html` → `…/x~p2.html`).
/// `~` never appears in a [`crate::path_segment`] except before two hex digits, so these
/// names cannot collide with an id's page.
pub fn page_path(base: &str, n: usize) -> String {
    if n <= 1 {
        return base.to_owned();
    }
    let stem = base.strip_suffix(".html").unwrap_or(base);
    format!("{stem}~p{n}.html")
}

/// The "Page n of m" navigation, or nothing for a single page.
pub fn pager(tr: &Tr, loc: &Loc<'_>, base: &str, n: usize, total: usize) -> String {
    if total <= 1 {
        return String::new();
    }
    let mut o = format!(
        "<nav class=\"pager\" aria-label=\"{}\"><p>{}</p><ul>",
        escape(&tr.t("pages")),
        escape(&tr.fmt(
            "page-of",
            &[("n", &n.to_string()), ("total", &total.to_string())]
        ))
    );
    if n > 1 {
        let _ = write!(
            o,
            "<li><a href=\"{}\" rel=\"prev\">{}</a></li>",
            loc.href(&page_path(base, n - 1)),
            escape(&tr.t("previous"))
        );
    }
    for k in 1..=total {
        if k == n {
            let _ = write!(o, "<li><a aria-current=\"page\">{k}</a></li>");
        } else {
            let _ = write!(
                o,
                "<li><a href=\"{}\">{k}</a></li>",
                loc.href(&page_path(base, k))
            );
        }
    }
    if n < total {
        let _ = write!(
            o,
            "<li><a href=\"{}\" rel=\"next\">{}</a></li>",
            loc.href(&page_path(base, n + 1)),
            escape(&tr.t("next"))
        );
    }
    o.push_str("</ul></nav>\n");
    o
}
