//! A whole state from real data: Georgia 2018, every county's precinct file (2,634 precincts,
//! 571 contests incl. local races) as one release. One render, several checks, so the import
//! and render are paid once. Pennsylvania 2024 (~9,000 precincts) is rendered by the bench
//! (`benches/render.rs`), too slow for a debug-build test; BENCHMARKS.md has its page sizes.

mod common;

use std::time::Instant;

use urne_site::PAGE_BYTES_MAX;

#[test]
fn ga_2018_pages_small_and_api_valid() {
    let t = Instant::now();
    let Some(snapshot) = common::state_snapshot(
        "ga_2018_pages_small_and_api_valid",
        "openelections/ga-2018-general-precinct",
        "Georgia",
        "2018-11-06",
    ) else {
        return;
    };
    let imported = t.elapsed();
    let f = common::build(vec![common::Step {
        snapshot,
        status: urne_release::Status::Unofficial,
        correction: None,
        signers: vec!["registrar", "deputy"],
    }]);
    let t = Instant::now();
    let tree = urne_site::render(&common::site(&f)).unwrap();
    let rendered = t.elapsed();
    let mut biggest = (0, String::new());
    let mut pages = 0;
    for (p, b) in tree.iter().filter(|(p, _)| p.ends_with(".html")) {
        pages += 1;
        if b.len() > biggest.0 {
            biggest = (b.len(), p.clone());
        }
    }
    println!(
        "import {imported:?}, render {rendered:?}, {pages} pages, biggest {} ({} bytes)",
        biggest.1, biggest.0
    );
    assert!(
        biggest.0 < PAGE_BYTES_MAX,
        "{} is {} bytes",
        biggest.1,
        biggest.0
    );
    assert!(pages > 6 * 2634, "{pages} pages");
    // The statewide summary is paginated rather than one huge page.
    assert!(tree.contains_key("elections/2026-11-03-general/index~p2.html"));
    // Schema check on the election-level files and a spread of contests and units (all of
    // them take minutes in a debug build; `api.rs` checks every file of the small fixture).
    let mut n = 0usize;
    let checked = common::check_tree_where(&tree, |p| {
        let sampled = p.contains("/contests/") || p.contains("/units/");
        n += usize::from(sampled);
        !sampled || n % 97 == 1
    });
    assert!(checked > 30, "{checked}");
    // Every path names an object, and rendering on demand gives the whole render's files
    // (every object on the fixture in render.rs; a sample here).
    let site = common::site(&f);
    let t = Instant::now();
    let prepared = urne_site::Prepared::new(&site).unwrap();
    let prepared_in = t.elapsed();
    let t = Instant::now();
    common::assert_render_path_is_render(&prepared, &tree, 97);
    println!(
        "prepared {prepared_in:?}, sampled objects on demand {:?}",
        t.elapsed()
    );
}
