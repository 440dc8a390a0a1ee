//! Rendering: the tree's file list, a snapshot of a small page, determinism (twice, and with
//! the elections given in another order), page sizes, and translations.

mod common;

use expect_test::expect;
use urne_site::{ElectionReleases, PAGE_BYTES_MAX, Site, Tree, render};

fn night_tree() -> Tree {
    let f = common::night();
    render(&common::site(&f)).unwrap()
}

fn dump(tree: &Tree) {
    // URNE_SITE_DUMP=dir writes the tree out for a look in a browser.
    if let Ok(dir) = std::env::var("URNE_SITE_DUMP") {
        for (p, b) in tree {
            let path = std::path::Path::new(&dir).join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, b).unwrap();
        }
    }
}

#[test]
fn file_list() {
    let tree = night_tree();
    dump(&tree);
    let english: Vec<&str> = tree
        .keys()
        .map(String::as_str)
        .filter(|p| {
            !["es/", "zh/", "vi/", "tl/", "ko/"]
                .iter()
                .any(|l| p.starts_with(l))
        })
        .collect();
    expect![[r#"
        api/v1/elections.json
        api/v1/elections/2026-11-03-general/contests/mayor.json
        api/v1/elections/2026-11-03-general/contests/measure-a.json
        api/v1/elections/2026-11-03-general/releases.json
        api/v1/elections/2026-11-03-general/releases/1/summary.json
        api/v1/elections/2026-11-03-general/releases/2/summary.json
        api/v1/elections/2026-11-03-general/releases/3/summary.json
        api/v1/elections/2026-11-03-general/summary.json
        api/v1/elections/2026-11-03-general/units/county.json
        api/v1/elections/2026-11-03-general/units/p1.json
        api/v1/elections/2026-11-03-general/units/p2.json
        api/v1/elections/2026-11-03-general/units/p3.json
        api/v1/openapi.json
        downloads/2026-11-03-general/results.csv
        downloads/2026-11-03-general/results.json
        downloads/2026-11-03-general/results.xml
        downloads/2026-11-03-general/summary.csv
        elections/2026-11-03-general/contests/mayor.html
        elections/2026-11-03-general/contests/measure-a.html
        elections/2026-11-03-general/downloads.html
        elections/2026-11-03-general/index.html
        elections/2026-11-03-general/releases.html
        elections/2026-11-03-general/units/county.html
        elections/2026-11-03-general/units/p1.html
        elections/2026-11-03-general/units/p2.html
        elections/2026-11-03-general/units/p3.html
        index.html
        site.css
        verify.js"#]]
    .assert_eq(&english.join("\n"));
    // Every other language has the same pages under its prefix.
    for lang in ["es", "zh", "vi", "tl", "ko"] {
        for p in english.iter().filter(|p| p.ends_with(".html")) {
            assert!(tree.contains_key(&format!("{lang}/{p}")), "{lang}/{p}");
        }
    }
}

/// The main content of a page, without the frame (head, switcher, verify panel).
fn main_of(tree: &Tree, path: &str) -> String {
    let html = std::str::from_utf8(&tree[path]).unwrap();
    let start = html.find("<main").unwrap();
    let end = html.find("</main>").unwrap();
    html[start..end].to_owned()
}

#[test]
fn unit_page_snapshot() {
    let tree = night_tree();
    expect![[r#"
        <main id="main" tabindex="-1">
        <p class="crumbs"><a href="../../../elections/2026-11-03-general/index.html">General Election &lt;2026&gt;</a></p>
        <h1>Precinct 2</h1>
        <dl class="facts">
        <dt>Ballots cast</dt><dd>1,100</dd>
        <dt>Registered voters</dt><dd>3,000</dd>
        <dt>Turnout</dt><dd>1,100 ballots cast of 3,000 registered voters (36.7%)</dd>
        <dt>Counting</dt><dd>Complete</dd>
        </dl>
        <h2>Contests in this area</h2>
        <section class="contest" aria-labelledby="h-mayor">
        <h3 id="h-mayor"><a href="../../../elections/2026-11-03-general/contests/mayor.html">Mayor</a></h3>
        <table class="results">
        <caption class="sr-only">Mayor</caption>
        <thead><tr><th scope="col">Choice</th><th scope="col" class="n">Votes</th><th scope="col" class="n">Percent</th><th scope="col" class="bar-col"><span class="sr-only">Share of votes</span></th></tr></thead>
        <tbody>
        <tr><th scope="row">Ana Alvarez <span class="party">(DEM)</span></th><td class="n">420</td><td class="n">43.8%</td><td class="bar" aria-hidden="true"><span style="width:43.8%"></span></td></tr>
        <tr><th scope="row">Bo Brown <span class="party">(REP)</span></th><td class="n">400</td><td class="n">41.7%</td><td class="bar" aria-hidden="true"><span style="width:41.7%"></span></td></tr>
        <tr><th scope="row">Chen Wei</th><td class="n">140</td><td class="n">14.6%</td><td class="bar" aria-hidden="true"><span style="width:14.6%"></span></td></tr>
        </tbody>
        </table>
        </section>
        <section class="contest" aria-labelledby="h-measure-a">
        <h3 id="h-measure-a"><a href="../../../elections/2026-11-03-general/contests/measure-a.html">Measure A: Library bond</a></h3>
        <table class="results">
        <caption class="sr-only">Measure A: Library bond</caption>
        <thead><tr><th scope="col">Choice</th><th scope="col" class="n">Votes</th><th scope="col" class="n">Percent</th><th scope="col" class="bar-col"><span class="sr-only">Share of votes</span></th></tr></thead>
        <tbody>
        <tr><th scope="row">Yes</th><td class="n">610</td><td class="n">63.5%</td><td class="bar" aria-hidden="true"><span style="width:63.5%"></span></td></tr>
        <tr><th scope="row">No</th><td class="n">350</td><td class="n">36.5%</td><td class="bar" aria-hidden="true"><span style="width:36.5%"></span></td></tr>
        </tbody>
        </table>
        </section>
    "#]]
    .assert_eq(&main_of(&tree, "elections/2026-11-03-general/units/p2.html"));
}

#[test]
fn releases_page_shows_changes_and_the_correction() {
    let tree = night_tree();
    let main = main_of(&tree, "elections/2026-11-03-general/releases.html");
    for want in [
        "Release 2",
        "1 area changed, net \u{2212}10 votes.",
        "2 areas changed, net +3,890 votes.",
        "First release of this election.",
        "Counts that went down",
        "Precinct 2 mail ballots for Chen Wei were counted twice.",
        "150 → 140 (\u{2212}10)",
        "registrar, deputy, observer",
    ] {
        assert!(main.contains(want), "missing {want:?} in\n{main}");
    }
    let es = main_of(&tree, "es/elections/2026-11-03-general/releases.html");
    assert!(
        es.contains("Cambió 1 zona, \u{2212}10 votos netos."),
        "{es}"
    );
}

#[test]
fn deterministic_and_order_independent() {
    let f = common::night();
    let g = common::night();
    let a = render(&common::site(&f)).unwrap();
    let b = render(&common::site(&f)).unwrap();
    assert!(a == b, "two renders differ");
    // Two elections, given in either order, render the same tree.
    let mk = |first: bool| {
        let mut one = common::site(&f).elections.pop().unwrap();
        let mut two = common::site(&g).elections.pop().unwrap();
        two.id = "2027-special";
        if !first {
            std::mem::swap(&mut one, &mut two);
        }
        render(&Site {
            elections: vec![one, two],
            ..common::site(&f)
        })
        .unwrap()
    };
    let x = mk(true);
    assert!(x == mk(false), "election order changed the tree");
    assert!(x.contains_key("elections/2027-special/index.html"));
    // Same id twice is a collision, not a silent overwrite.
    let dup = Site {
        elections: vec![
            common::site(&f).elections.pop().unwrap(),
            common::site(&g).elections.pop().unwrap(),
        ],
        ..common::site(&f)
    };
    expect!["path collision: elections/2026-11-03-general"]
        .assert_eq(&render(&dup).unwrap_err().to_string());
    let empty = Site {
        elections: vec![ElectionReleases {
            id: "x",
            releases: vec![],
        }],
        ..common::site(&f)
    };
    expect!["election x has no release"].assert_eq(&render(&empty).unwrap_err().to_string());
}

#[test]
fn pages_are_small_and_accessible_basics() {
    let tree = night_tree();
    for (p, b) in tree.iter().filter(|(p, _)| p.ends_with(".html")) {
        assert!(b.len() < PAGE_BYTES_MAX, "{p}: {} bytes", b.len());
        let html = std::str::from_utf8(b).unwrap();
        for want in [
            "<html lang=\"",
            "<a class=\"skip\" href=\"#main\">",
            "<main id=\"main\"",
            "name=\"viewport\"",
        ] {
            assert!(html.contains(want), "{p}: no {want}");
        }
        // Every table has a caption and header cells with a scope.
        assert_eq!(
            html.matches("<table").count(),
            html.matches("<caption").count(),
            "{p}"
        );
        assert_eq!(
            html.matches("<th ").count(),
            html.matches("<th scope=").count(),
            "{p}"
        );
    }
}

#[test]
fn every_language_has_every_string_translated() {
    use urne_site::i18n::{Lang, Tr};
    let en_src = include_str!("../locales/en.ftl");
    let ids: Vec<&str> = en_src
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.starts_with('}') && l.contains(" = "))
        .map(|l| l.split(" = ").next().unwrap())
        .collect();
    assert!(ids.len() > 80, "{}", ids.len());
    let en = Tr::new(Lang::En);
    for lang in Lang::ALL {
        let tr = Tr::new(lang);
        let mut same = 0;
        for id in &ids {
            assert!(tr.has(id), "{lang:?} lacks {id}");
            if lang != Lang::En && tr.t(id) == en.t(id) {
                same += 1;
            }
        }
        // A few strings are the same in some languages ("Total", "JSON API", "File"); a
        // copied English file would match them all.
        assert!(same <= 8, "{lang:?}: {same} strings identical to English");
    }
}

/// `urne verify` reads the unsigned site title back from a served page: every page carries it
/// and it survives any characters `escape` rewrites.
#[test]
fn the_site_title_reads_back_from_every_page() {
    let f = common::night();
    for title in ["Election results", "Bureau <d'élections> & \"Co\""] {
        let mut site = common::site(&f);
        site.title = title;
        let tree = render(&site).unwrap();
        for (path, bytes) in tree.iter().filter(|(p, _)| p.ends_with(".html")) {
            assert_eq!(
                urne_site::site_title(bytes).as_deref(),
                Some(title),
                "{path}"
            );
        }
    }
    assert_eq!(urne_site::site_title(b"<html>no header</html>"), None);
    assert_eq!(
        urne_site::site_title(b"<p class=\"site\"><a href=\"x\">a &bogus; b</a></p>"),
        None
    );
}

#[test]
fn every_path_renders_on_demand_as_in_the_whole_tree() {
    let f = common::night();
    let cosigners = vec!["w1".to_owned()];
    for witnesses in [
        None,
        Some(urne_site::Witnesses {
            size: 2,
            cosigners: &cosigners,
            policy_log_index: 0,
        }),
    ] {
        let site = urne_site::Site {
            witnesses,
            ..common::site(&f)
        };
        let tree = urne_site::render(&site).unwrap();
        let prepared = urne_site::Prepared::new(&site).unwrap();
        common::assert_render_path_is_render(&prepared, &tree, 1);
    }
}

/// A download's key is its election's latest release, whatever the witnesses say; pages have
/// none. Sizes given for downloads are what the downloads page shows (without rendering them
/// to count their bytes), and the others are counted.
#[test]
fn downloads_are_keyed_by_their_release_and_their_sizes_can_be_given() {
    let f = common::night();
    let site = common::site(&f);
    let prepared = urne_site::Prepared::new(&site).unwrap();
    let seg = "2026-11-03-general";
    let download = |name: &str| format!("downloads/{seg}/{name}");
    let key_of = |path: &str| {
        let object = prepared.object(path).unwrap();
        prepared.release_key(&object).map(str::to_owned)
    };
    let key = key_of(&download("results.json")).expect("a download has a key");
    assert_eq!(key.len(), 64, "a manifest hash in hex: {key}");
    assert_eq!(key_of(&download("summary.csv")).as_deref(), Some(&key[..]));
    assert_eq!(key_of(&format!("elections/{seg}/downloads.html")), None);
    assert_eq!(
        key_of(&format!("api/v1/elections/{seg}/summary.json")),
        None
    );
    let cosigners = vec!["w1".to_owned()];
    let witnessed = urne_site::Site {
        witnesses: Some(urne_site::Witnesses {
            size: 2,
            cosigners: &cosigners,
            policy_log_index: 0,
        }),
        ..common::site(&f)
    };
    let witnessed = urne_site::Prepared::new(&witnessed).unwrap();
    let object = witnessed.object(&download("results.json")).unwrap();
    assert_eq!(witnessed.release_key(&object), Some(&key[..]));

    let page = format!("elections/{seg}/downloads.html");
    let real = urne_site::render_path(&prepared, &page).unwrap().unwrap();
    let counted = prepared.known_download_sizes();
    assert_eq!(counted.len(), 4);

    // Given the sizes it counted, a new state renders the same page; given another for one
    // download, it shows that one and counts the rest.
    let again = urne_site::Prepared::new(&site).unwrap();
    for (path, n) in &counted {
        again.know_download_size(path, *n);
    }
    again.know_download_size("elections/no-such/downloads.html", 7);
    assert_eq!(
        urne_site::render_path(&again, &page).unwrap().unwrap(),
        real
    );
    let other = urne_site::Prepared::new(&site).unwrap();
    other.know_download_size(&download("results.xml"), 123_456_789);
    let given = urne_site::render_path(&other, &page).unwrap().unwrap();
    let given = String::from_utf8(given).unwrap();
    assert_eq!(given.matches("123,456,789").count(), 1, "{given}");
    let sizes = other.known_download_sizes();
    for (path, n) in &counted {
        let shown = sizes.iter().find(|s| &s.0 == path).unwrap().1;
        if path.ends_with("results.xml") {
            assert_eq!(shown, 123_456_789);
        } else {
            assert_eq!(shown, *n, "{path}");
        }
    }
}
