//! `urne cvr bundle` end to end on a real RCTab case (ES&S xlsx with undeclared write-ins and
//! precincts): the bundle's manifest commits to its payload, which holds the CVRs, the re-tally
//! config and the detailed reports; `urne cvr verify` re-tallies from the payload alone, matches
//! the signed reports and the report tabulated from the original CVR files, and refuses a
//! payload changed in any of its parts (even with a manifest rewritten to match). Then the
//! stream's next bundle chains to it, and wrong chaining is refused.

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

    // Nothing beside the signed files.
    let mut names: Vec<String> = std::fs::read_dir(&b0)
        .expect("bundle dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["manifest", "payload", "signatures"]);
    let container: Value = serde_json::from_slice(&payload).expect("payload is JSON");
    assert_eq!(container["format"], "urne-cvr-bundle/v1");
    assert_eq!(
        container["tally_config"]["cvrFileSources"][0]["filePath"],
        "cvr.json"
    );
    assert!(
        container["cvr"]["CVR"]
            .as_array()
            .is_some_and(|c| !c.is_empty())
    );
    // The signed report is the original tally's.
    let mut signed = container["reports"]["detailed_report.json"].clone();
    signed["config"]["generatedBy"] = Value::Null;
    signed["config"]["GeneratedDate"] = Value::Null;
    assert_eq!(signed, report(&original));

    let again = tmp.path().join("again");
    let (ok, text) = urne(&["cvr", "verify", &s(&b0), "--out", &s(&again)]);
    assert!(ok, "{text}");
    assert!(text.contains("signed detailed reports match"), "{text}");
    assert_eq!(report(&original), report(&again.join("retally")));

    // Tampering: a changed payload under the old manifest, then changed parts of the payload
    // under a manifest rewritten to match (what a forger without the officials' keys can do;
    // the signatures then fail, and the re-tally catches it even without them).
    let tampered = |name: &str, edit: &dyn Fn(&mut Value), rewrite: bool| -> String {
        let dir = tmp.path().join(name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let mut c = container.clone();
        edit(&mut c);
        let bytes = serde_json::to_vec(&c).expect("encode");
        let mut m = urne_release::Manifest::parse(&manifest_bytes).expect("parse");
        if rewrite {
            m.payload.size = bytes.len() as u64;
            m.payload.sha256 = urne_release::manifest::sha256(&bytes);
        }
        std::fs::write(dir.join("manifest"), m.encode().expect("encode")).expect("write");
        std::fs::write(dir.join("payload"), bytes).expect("write");
        std::fs::write(dir.join("signatures"), b"").expect("write");
        let (ok, text) = urne(&["cvr", "verify", &s(&dir)]);
        assert!(!ok, "{name}: a tampered bundle verified: {text}");
        text
    };
    let text = tampered(
        "t-unchanged-manifest",
        &|c| c["reports"]["detailed_report.json"]["config"]["contest"] = "Another".into(),
        false,
    );
    assert!(text.contains("manifest"), "{text}");
    let text = tampered(
        "t-report",
        &|c| {
            let tally = &mut c["reports"]["detailed_report.json"]["results"][0]["tally"];
            let first = tally
                .as_object()
                .and_then(|t| t.keys().next().cloned())
                .expect("a candidate");
            tally[&first] = "999999".into();
        },
        true,
    );
    assert!(text.contains("differs from the re-tally"), "{text}");
    let text = tampered(
        "t-cvr",
        &|c| {
            c["cvr"]["CVR"].as_array_mut().expect("CVR list").pop();
        },
        true,
    );
    assert!(text.contains("differs from the re-tally"), "{text}");
    let text = tampered(
        "t-rules",
        &|c| c["tally_config"]["candidates"][0]["excluded"] = true.into(),
        true,
    );
    assert!(text.contains("differs from the re-tally"), "{text}");
    let text = tampered(
        "t-elsewhere",
        &|c| c["tally_config"]["cvrFileSources"][0]["filePath"] = "/etc/passwd.json".into(),
        true,
    );
    assert!(text.contains("cvrFileSources"), "{text}");

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
