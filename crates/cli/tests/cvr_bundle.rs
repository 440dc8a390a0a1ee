//! `urne cvr bundle` end to end on a real RCTab case (ES&S xlsx with undeclared write-ins and
//! precincts): the bundle's manifest commits to its payload, and `urne tally` on the bundle's
//! re-tally config reproduces the detailed report tabulated from the original CVR files. Then
//! the stream's next bundle chains to it, and wrong chaining is refused.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn urne(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_urne"))
        .args(args)
        .output()
        .expect("run urne");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn report(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("detailed_report.json")).expect("report");
    let mut v: Value = serde_json::from_str(&text).expect("json");
    v["config"]["generatedBy"] = Value::Null;
    v["config"]["GeneratedDate"] = Value::Null;
    v
}

#[test]
fn cvr_bundle_retallies_and_chains() {
    let Some(data) = urne_testdata::shared_data("cvr_bundle", "rctab") else {
        return;
    };
    let case = data.join("precinct_example");
    let config = case.join("precinct_example_config.json");
    let tmp = tempfile::tempdir().expect("tempdir");
    let s = |p: &Path| p.to_string_lossy().into_owned();
    let original = tmp.path().join("original");
    let (ok, text) = urne(&["tally", &s(&config), "--out", &s(&original)]);
    assert!(ok, "{text}");

    let b0 = tmp.path().join("b0");
    let (ok, text) = urne(&[
        "cvr",
        "bundle",
        &s(&config),
        "--election",
        "2026-test",
        "--sequence",
        "0",
        "--out",
        &s(&b0),
    ]);
    assert!(ok, "{text}");
    let manifest_bytes = std::fs::read(b0.join("manifest")).expect("manifest");
    let manifest = urne_release::Manifest::parse(&manifest_bytes).expect("a valid manifest");
    let payload = std::fs::read(b0.join("payload")).expect("payload");
    assert_eq!(manifest.kind, urne_release::Kind::Cvr);
    assert_eq!(manifest.payload.size, payload.len() as u64);
    assert_eq!(
        manifest.payload.sha256,
        urne_release::manifest::sha256(&payload)
    );
    assert_eq!(
        std::fs::read(b0.join("signatures")).expect("signatures"),
        b""
    );

    let again = tmp.path().join("again");
    let retally = b0.join("tally_config.json");
    let (ok, text) = urne(&["tally", &s(&retally), "--out", &s(&again)]);
    assert!(ok, "{text}");
    assert_eq!(report(&original), report(&again));

    // The next release of the stream names this one; a gap or a missing link is refused.
    let b1 = tmp.path().join("b1");
    let next = |seq: &str, previous: Option<&Path>, out: &Path| {
        let mut args = vec![
            "cvr".to_owned(),
            "bundle".into(),
            s(&config),
            "--election".into(),
            "2026-test".into(),
            "--sequence".into(),
            seq.into(),
            "--status".into(),
            "official".into(),
            "--out".into(),
            s(out),
        ];
        if let Some(p) = previous {
            args.extend(["--previous".into(), s(p)]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        urne(&args)
    };
    let (ok, text) = next("1", None, &b1);
    assert!(!ok && text.contains("--previous is required"), "{text}");
    let (ok, text) = next("2", Some(&b0), &b1);
    assert!(!ok && text.contains("must have sequence 1"), "{text}");
    let (ok, text) = next("1", Some(&b0), &b1);
    assert!(ok, "{text}");
    let m1 = urne_release::Manifest::parse(&std::fs::read(b1.join("manifest")).expect("read"))
        .expect("parse");
    assert_eq!(m1.previous, Some(manifest.hash().expect("hash")));
    assert_eq!(m1.status, urne_release::Status::Official);
    let (ok, text) = next("1", Some(&b0), &b1);
    assert!(!ok && text.contains("already holds a bundle"), "{text}");
}
