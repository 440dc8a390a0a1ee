//! Languages of the public pages: Fluent bundles for UI strings, and number, percent and date
//! formatting done by hand so that output never depends on the host's locale data.

use fluent_bundle::{FluentArgs, FluentBundle, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

/// A page language. English lives at the tree's root, every other one under `<code>/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lang {
    En,
    Es,
    Zh,
    Vi,
    Tl,
    Ko,
}

impl Lang {
    /// Every language, in the order the switcher lists them.
    pub const ALL: [Lang; 6] = [Lang::En, Lang::Es, Lang::Zh, Lang::Vi, Lang::Tl, Lang::Ko];

    /// The URL prefix code (`zh`, not `zh-Hans`: short and stable).
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
            Lang::Zh => "zh",
            Lang::Vi => "vi",
            Lang::Tl => "tl",
            Lang::Ko => "ko",
        }
    }

    /// The BCP 47 tag for `lang` and `hreflang` attributes.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-Hans",
            other => other.code(),
        }
    }

    /// The language's own name, shown in the switcher.
    pub fn autonym(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Es => "Español",
            Lang::Zh => "中文",
            Lang::Vi => "Tiếng Việt",
            Lang::Tl => "Tagalog",
            Lang::Ko => "한국어",
        }
    }

    /// The path prefix of this language's pages: empty for English, `<code>/` otherwise.
    pub fn prefix(self) -> &'static str {
        match self {
            Lang::En => "",
            Lang::Es => "es/",
            Lang::Zh => "zh/",
            Lang::Vi => "vi/",
            Lang::Tl => "tl/",
            Lang::Ko => "ko/",
        }
    }

    fn ftl(self) -> &'static str {
        match self {
            Lang::En => include_str!("../locales/en.ftl"),
            Lang::Es => include_str!("../locales/es.ftl"),
            Lang::Zh => include_str!("../locales/zh.ftl"),
            Lang::Vi => include_str!("../locales/vi.ftl"),
            Lang::Tl => include_str!("../locales/tl.ftl"),
            Lang::Ko => include_str!("../locales/ko.ftl"),
        }
    }

    /// Thousands separator and decimal mark.
    fn separators(self) -> (char, char) {
        match self {
            Lang::Es | Lang::Vi => ('.', ','),
            _ => (',', '.'),
        }
    }
}

/// One language's strings and formatters.
pub struct Tr {
    pub lang: Lang,
    bundle: FluentBundle<FluentResource>,
    /// Messages without arguments, formatted once: a state's pages ask for them millions of
    /// times.
    plain: std::cell::RefCell<std::collections::HashMap<String, String>>,
}

impl std::fmt::Debug for Tr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tr").field("lang", &self.lang).finish()
    }
}

impl Tr {
    /// Loads the bundled `.ftl` file. The files ship inside the binary and a test parses
    /// them all, so a failure here is a bug in this crate, reported as a missing string.
    pub fn new(lang: Lang) -> Tr {
        let langid: LanguageIdentifier = lang.tag().parse().unwrap_or_default();
        let mut bundle = FluentBundle::new(vec![langid]);
        // Isolation marks (U+2068/U+2069) around arguments would end up in titles and
        // table cells; our arguments are plain text already escaped by the caller.
        bundle.set_use_isolating(false);
        if let Ok(res) = FluentResource::try_new(lang.ftl().to_owned()) {
            let _ = bundle.add_resource(res);
        }
        Tr {
            lang,
            bundle,
            plain: Default::default(),
        }
    }

    /// The message `id` with no arguments.
    pub fn t(&self, id: &str) -> String {
        if let Some(s) = self.plain.borrow().get(id) {
            return s.clone();
        }
        let s = self.fmt(id, &[]);
        self.plain.borrow_mut().insert(id.to_owned(), s.clone());
        s
    }

    /// The message `id` with string arguments. `count`-like plural selectors take a number:
    /// pass it through [`Tr::fmt_n`].
    pub fn fmt(&self, id: &str, args: &[(&str, &str)]) -> String {
        let mut fa = FluentArgs::new();
        for (k, v) in args {
            fa.set(*k, FluentValue::from(*v));
        }
        self.format(id, &fa)
    }

    /// The message `id` with `count` as a number (for plural selection; shown formatted as
    /// `$shown`) and further string arguments.
    pub fn fmt_n(&self, id: &str, count: u64, args: &[(&str, &str)]) -> String {
        let mut fa = FluentArgs::new();
        fa.set("count", FluentValue::from(count));
        let shown = self.num(count);
        fa.set("shown", FluentValue::from(shown));
        for (k, v) in args {
            fa.set(*k, FluentValue::from(*v));
        }
        self.format(id, &fa)
    }

    fn format(&self, id: &str, args: &FluentArgs) -> String {
        let Some(msg) = self.bundle.get_message(id) else {
            return id.to_owned();
        };
        let Some(pattern) = msg.value() else {
            return id.to_owned();
        };
        let mut errors = Vec::new();
        let out = self.bundle.format_pattern(pattern, Some(args), &mut errors);
        out.into_owned()
    }

    /// Whether every message id exists in this language (a test checks all languages).
    pub fn has(&self, id: &str) -> bool {
        self.bundle.get_message(id).is_some()
    }

    /// A whole number with the language's thousands separator.
    pub fn num(&self, n: u64) -> String {
        group(&n.to_string(), self.lang.separators().0)
    }

    /// A signed number with an explicit `+` or `−`.
    pub fn signed(&self, n: i128) -> String {
        let digits = group(&n.unsigned_abs().to_string(), self.lang.separators().0);
        match n.signum() {
            -1 => format!("\u{2212}{digits}"),
            1 => format!("+{digits}"),
            _ => digits,
        }
    }

    /// `part / whole` as a percentage with one decimal, rounded half up, from integers only.
    pub fn percent(&self, part: u64, whole: u64) -> String {
        let tenths = tenths(part, whole);
        let (_, dec) = self.lang.separators();
        let body = format!("{}{dec}{}", tenths / 10, tenths % 10);
        match self.lang {
            Lang::Es => format!("{body}\u{a0}%"),
            _ => format!("{body}%"),
        }
    }
}

/// `part / whole` in tenths of a percent, rounded half up; 0 when `whole` is 0.
pub fn tenths(part: u64, whole: u64) -> u64 {
    if whole == 0 {
        return 0;
    }
    let t = (u128::from(part) * 2000 + u128::from(whole)) / (u128::from(whole) * 2);
    t.min(u128::from(u64::MAX)) as u64
}

fn group(digits: &str, sep: char) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

/// Unix seconds as `YYYY-MM-DD HH:MM UTC` and as an RFC 3339 `datetime` value. The same in
/// every language: ISO dates are unambiguous and need no locale data.
pub fn utc(ts: u64) -> (String, String) {
    let days = (ts / 86_400) as i64;
    let secs = ts % 86_400;
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    (
        format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02} UTC"),
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z"),
    )
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 → (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let en = Tr::new(Lang::En);
        let es = Tr::new(Lang::Es);
        assert_eq!(en.num(1_234_567), "1,234,567");
        assert_eq!(es.num(1_234_567), "1.234.567");
        assert_eq!(en.num(999), "999");
        assert_eq!(en.percent(1, 3), "33.3%");
        assert_eq!(en.percent(2, 3), "66.7%");
        assert_eq!(es.percent(1, 8), "12,5\u{a0}%");
        assert_eq!(en.percent(0, 0), "0.0%");
        assert_eq!(en.signed(-1500), "\u{2212}1,500");
        assert_eq!(utc(0).1, "1970-01-01T00:00:00Z");
        assert_eq!(utc(1_793_750_400).0, "2026-11-04 00:00 UTC");
        assert_eq!(utc(951_782_400).1, "2000-02-29T00:00:00Z");
    }
}
