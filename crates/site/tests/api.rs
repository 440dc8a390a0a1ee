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
