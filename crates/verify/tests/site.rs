//! The pages, API files and downloads against the signed payloads: a fixture log with real
//! results snapshots and its rendered tree, then one tampering per case (a number edited in a
//! page, in an API file, in a download; a file removed; a page of an election nobody signed
//! added; a wrong title). Each must fail with a message naming the file, and the untouched tree
//! must pass again after it.

use std::path::Path;

use expect_test::expect;
use urne_verify::fixture::{FixtureLog, TITLE};
use urne_verify::{DirSource, Follower, Options, check_site};

const ORIGIN: &str = "results.example-county.gov/log";
const E: &str = urne_verify::fixture::ELECTION;

fn check(dir: &Path, title: Option<&str>) -> String {
    let src = DirSource::new(dir);
    let mut f = Follower::new(
        Options {
            keep_releases: true,
            ..Options::default()
        },
        None,
    );
    if let Err(e) = f.advance(&src) {
        return format!("log: {e}");
    }
    match check_site(&f, &src, title) {
        Ok(s) => format!(
            "ok pages={} api={} downloads={} assets={} listed={} title={:?} {:?}",
            s.pages, s.api, s.downloads, s.assets, s.listed, s.title, s.title_from
        ),
        Err(e) => e.to_string(),
    }
}

/// One tampering: what it does to the tree directory.
enum Tamper {
    /// Replace the first `from` in the file with `to`.
    Edit(String, &'static str, &'static str),
    Remove(String),
    Add(String, &'static str),
    Title(&'static str),
}

#[test]
fn every_served_file_must_be_the_one_rendered_from_the_signed_payloads() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut log = FixtureLog::new(dir, ORIGIN, "quorum none");
    log.publish_snapshot(10, None);
    log.publish(1, "other media type");
    log.publish_snapshot(12, None);
    let honest = check(dir, None);
    assert!(honest.starts_with("ok "), "{honest}");

    let cases = [
        Tamper::Edit(format!("elections/{E}/index.html"), ">12<", ">21<"),
        Tamper::Edit(format!("es/elections/{E}/index.html"), ">12<", ">13<"),
        Tamper::Edit(format!("api/v1/elections/{E}/summary.json"), "12", "99"),
        Tamper::Edit(format!("downloads/{E}/results.csv"), ",12", ",92"),
        Tamper::Edit("verify.js".into(), "sha256", "sha265"),
        Tamper::Remove(format!("downloads/{E}/results.xml")),
        Tamper::Remove(format!("api/v1/elections/{E}/releases/1/summary.json")),
        Tamper::Add(
            "elections/2026-11-03-special/index.html".into(),
            "<p>made up</p>",
        ),
        Tamper::Title("Some Other County"),
    ];
    let mut lines = vec![honest];
    for case in cases {
        let (line, undo): (String, Box<dyn FnOnce()>) = match case {
            Tamper::Edit(path, from, to) => {
                let file = dir.join(&path);
                let good = std::fs::read_to_string(&file).unwrap();
                assert!(good.contains(from), "{path} has no {from:?}");
                std::fs::write(&file, good.replacen(from, to, 1)).unwrap();
                (
                    check(dir, None),
                    Box::new(move || std::fs::write(&file, good).unwrap()),
                )
            }
            Tamper::Remove(path) => {
                let file = dir.join(&path);
                let good = std::fs::read(&file).unwrap();
                std::fs::remove_file(&file).unwrap();
                (
                    check(dir, None),
                    Box::new(move || std::fs::write(&file, good).unwrap()),
                )
            }
            Tamper::Add(path, text) => {
                let file = dir.join(&path);
                std::fs::create_dir_all(file.parent().unwrap()).unwrap();
                std::fs::write(&file, text).unwrap();
                (
                    check(dir, None),
                    Box::new(move || std::fs::remove_file(&file).unwrap()),
                )
            }
            Tamper::Title(t) => (check(dir, Some(t)), Box::new(|| ())),
        };
        lines.push(line);
        undo();
        assert_eq!(check(dir, None), lines[0], "the tree is back to honest");
    }
    let given = check(dir, Some(TITLE));
    assert!(given.ends_with("Given"), "{given}");
    expect![[r#"
        ok pages=54 api=10 downloads=4 assets=2 listed=83 title="Fixture County Elections" Served
        elections/2026-11-03-general/index.html: the served page differs from the one rendered from the signed payloads (first difference at byte 3248: served "h><td class=\"n\">21</td><td class=\"n\">70.", signed "h><td class=\"n\">12</td><td class=\"n\">70.")
        es/elections/2026-11-03-general/index.html: the served page differs from the one rendered from the signed payloads (first difference at byte 3399: served "><td class=\"n\">13</td><td class=\"n\">70,6", signed "><td class=\"n\">12</td><td class=\"n\">70,6")
        api/v1/elections/2026-11-03-general/summary.json: the served API file differs from the one rendered from the signed payloads (first difference at byte 117: served "\":\"DEM\",\"votes\":99,\"write_in\":false},{\"i", signed "\":\"DEM\",\"votes\":12,\"write_in\":false},{\"i")
        downloads/2026-11-03-general/results.csv: the served download differs from the one rendered from the signed payloads (first difference at byte 152: served ",Ann,DEM,total,,92\nc-mayor,Mayor,p-a-p1,", signed ",Ann,DEM,total,,12\nc-mayor,Mayor,p-a-p1,")
        verify.js: the served file differs from the one rendered from the signed payloads (first difference at byte 616: served "/     blobs/sha265/<hex> hashes to the m", signed "/     blobs/sha256/<hex> hashes to the m")
        downloads/2026-11-03-general/results.xml is missing (the tree rendered from the signed payloads has this download)
        api/v1/elections/2026-11-03-general/releases/1/summary.json is missing (the tree rendered from the signed payloads has this API file)
        elections/2026-11-03-special/index.html is served but is not in the tree rendered from the signed payloads
        elections/2026-11-03-general/contests/c-mayor.html: the served page is longer than the one rendered from the signed payloads (4706 bytes)"#]].assert_eq(&lines.join("\n"));
}
