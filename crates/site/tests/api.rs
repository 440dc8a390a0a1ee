//! Every rendered API file validates against its schema in the shipped OpenAPI document, and
//! the release-addressed copies agree with the latest files.

mod common;

use common::{check_tree, validators};
use serde_json::Value;
use urne_site::render;

#[test]
fn every_api_file_matches_its_schema() {
    let f = common::night();
    let tree = render(&common::site(&f)).unwrap();
    let checked = check_tree(&tree);
    // elections, summary, releases, 2 contests, 4 units, 3 release summaries.
    assert_eq!(checked, 12);
}

#[test]
fn schemas_reject_what_they_should() {
    // The test above could pass with a schema that accepts anything: make sure it does not.
    let make = validators();
    let f = common::night();
    let tree = render(&common::site(&f)).unwrap();
    let path = "api/v1/elections/2026-11-03-general/summary.json";
    let mut doc: Value = serde_json::from_slice(&tree[path]).unwrap();
    let v = make("Summary");
    assert!(v.is_valid(&doc));
    doc["contests"][0]["choices"][0]["votes"] = Value::from(-1);
    assert!(!v.is_valid(&doc));
    let mut doc: Value = serde_json::from_slice(&tree[path]).unwrap();
    doc["release"]["surprise"] = Value::from(1);
    assert!(!v.is_valid(&doc));
}

#[test]
fn latest_summary_is_the_latest_release_copy() {
    let f = common::night();
    let tree = render(&common::site(&f)).unwrap();
    let base = "api/v1/elections/2026-11-03-general";
    let latest = f.log_indices.last().unwrap();
    assert_eq!(
        tree[&format!("{base}/summary.json")],
        tree[&format!("{base}/releases/{latest}/summary.json")]
    );
    let first: Value =
        serde_json::from_slice(&tree[&format!("{base}/releases/1/summary.json")]).unwrap();
    assert_eq!(first["release"]["log_index"], 1);
    assert_eq!(first["reporting"]["units_reporting"], 1);
}

/// With a trust policy that needs witnesses, the latest summary also says whether its release
/// awaits them (and validates); the immutable copy stays the same.
#[test]
fn latest_summary_says_awaiting_witnesses_until_the_quorum() {
    let f = common::night();
    let base = "api/v1/elections/2026-11-03-general";
    let latest = *f.log_indices.last().unwrap();
    let cosigners = vec!["w1".to_owned(), "w2".to_owned()];
    let with = |size| {
        render(&urne_site::Site {
            witnesses: Some(urne_site::Witnesses {
                size,
                cosigners: &cosigners,
                policy_log_index: 0,
            }),
            ..common::site(&f)
        })
        .unwrap()
    };
    let plain = render(&common::site(&f)).unwrap();
    for (size, want) in [
        (
            latest,
            r#"{"cosigners":[],"status":"awaiting","witnessed_size":3}"#,
        ),
        (
            latest + 1,
            r#"{"cosigners":["w1","w2"],"status":"witnessed","witnessed_size":4}"#,
        ),
    ] {
        let tree = with(size);
        assert_eq!(check_tree(&tree), 12);
        let doc: Value = serde_json::from_slice(&tree[&format!("{base}/summary.json")]).unwrap();
        assert_eq!(doc["witnesses"].to_string(), want);
        let copy = format!("{base}/releases/{latest}/summary.json");
        assert_eq!(tree[&copy], plain[&copy]);
        let page =
            String::from_utf8(tree["elections/2026-11-03-general/index.html"].clone()).unwrap();
        let marker = if size > latest {
            "witnessed"
        } else {
            "awaiting"
        };
        assert!(
            page.contains(&format!("data-witness=\"{marker}\"")),
            "{page}"
        );
    }
    // Only the six summary pages and the latest summary.json depend on the witnessed state.
    let (a, b) = (with(latest), with(latest + 1));
    let changed: Vec<&String> = a.keys().filter(|p| a[*p] != b[*p]).collect();
    assert_eq!(changed.len(), 7, "{changed:?}");
    assert!(
        changed.iter().all(|p| *p == &format!("{base}/summary.json")
            || p.ends_with("elections/2026-11-03-general/index.html")),
        "{changed:?}"
    );
}
