//! Parsers and encoders as data (STYLE habit 9): golden bytes pin the
//! encodings; tables of mutated inputs pin every refusal and its line.

mod common;

use common::*;
use expect_test::{Expect, expect};
use urne_release::manifest::{Correction, ElectionId};
use urne_release::{Kind, Manifest, Status, TrustPolicy};
use urne_tlog::cosignature::CosignatureSigner;

fn witness(name: &str) -> String {
    let mut seed = [0u8; 32];
    seed[..name.len()].copy_from_slice(name.as_bytes());
    CosignatureSigner::from_seed(name, seed)
        .unwrap()
        .verifier()
        .vkey()
}

fn golden_manifest() -> Manifest {
    Manifest {
        kind: Kind::Results,
        election: Some(ElectionId::new(ELECTION).unwrap()),
        sequence: 3,
        previous: Some([0xab; 32]),
        timestamp: T0,
        status: Status::Unofficial,
        correction: Some(
            Correction::new("Precinct 12 was counted twice; décompte corrigé.").unwrap(),
        ),
        payload: payload_ref(b"total 100", RESULTS_TYPE),
    }
}

#[test]
fn manifest_golden_bytes() {
    let text = golden_manifest().encode().unwrap();
    expect![[r#"
        urne-release/v1
        kind results
        election 2026-11-03-general
        sequence 3
        previous abababababababababababababababababababababababababababababababab
        timestamp 1793750400
        status unofficial
        correction Precinct 12 was counted twice; décompte corrigé.
        payload-sha256 4f2379c8c8e73a18994a3bfc7b0cd7c8d629a20ea5d8bdbeeebbb4c5cd84aba6
        payload-size 9
        payload-type application/vnd.urne.results+json
    "#]]
    .assert_eq(&text);
    let mut first = golden_manifest();
    first.sequence = 0;
    first.previous = None;
    first.correction = None;
    expect![[r#"
        urne-release/v1
        kind results
        election 2026-11-03-general
        sequence 0
        previous none
        timestamp 1793750400
        status unofficial
        payload-sha256 4f2379c8c8e73a18994a3bfc7b0cd7c8d629a20ea5d8bdbeeebbb4c5cd84aba6
        payload-size 9
        payload-type application/vnd.urne.results+json
    "#]]
    .assert_eq(&first.encode().unwrap());
    let hash = urne_release::manifest::hex(&golden_manifest().hash().unwrap());
    expect!["3d8f8c1be98cce998faf0f372cca375fd833c66434c41a85a5d3787a1ef6a297"].assert_eq(&hash);
}

#[test]
fn policy_golden_bytes() {
    let witnesses = format!(
        "
        # the log key and two of three witnesses
        log {}
        witness w1 {}
        witness  w2   {} https://w2.example/
        witness w3 {}
        group g 2 w1 w2 w3
        quorum g
    ",
        key("demo.urne.localhost/log").verifier().vkey(),
        witness("w1.example"),
        witness("w2.example"),
        witness("w3.example"),
    );
    let keys = ["alice", "bob", "carol"]
        .map(|n| key(n).verifier())
        .to_vec();
    let result = TrustPolicy::new(keys, 2, &witnesses);
    let out = match &result {
        Ok(p) => format!("{}warnings: {:?}\n", p.encode(), p.warnings()),
        Err(e) => format!("error: {e}\n"),
    };
    expect![[r#"
        urne-trust-policy/v1
        official alice+6f18ace2+ATgIjkwq6C9cRcaAimGmSQ08YSzh2iNXFEZvx0j7xMu7
        official bob+e8ba738b+Ad11YED91RReK/mDLSZN0IDks+cwFr32V0tM2H6qaX9e
        official carol+ae9eb5b9+AT7mdkJgcH/Nh40Pg33pk8Kh2KwP1qoPqhOPh2cigDcD
        threshold 2
        log demo.urne.localhost/log+6d5014d4+Ab+DfrSCAXeKadMOq8OeiVG0VOlbWVTrUTyEdNtLX3By
        witness w1 w1.example+261586be+BH8CgqS+uJ3X66p2i2kQAZrK5Zr6uh5vIRBD6xDZFyla
        witness w2 w2.example+f7689a1a+BIsH4CVk99RHY2oN2stCAJA4+Vz+mbq3jNRdXJFOx7/n https://w2.example/
        witness w3 w3.example+3397d0b8+BOq03J5LyzYLhuJ8GNF1URf8B5nNXeJYcgnoSFaMrlhE
        group g 2 w1 w2 w3
        quorum g
        warnings: []
    "#]].assert_eq(&out);
}

/// A signed entry is the manifest as a signed note; Ed25519 is deterministic,
/// so the signature lines are pinned too.
#[test]
fn entry_golden_bytes() {
    let entry = sign(&golden_manifest(), &["alice", "bob"]);
    expect![[r#"
        urne-release/v1
        kind results
        election 2026-11-03-general
        sequence 3
        previous abababababababababababababababababababababababababababababababab
        timestamp 1793750400
        status unofficial
        correction Precinct 12 was counted twice; décompte corrigé.
        payload-sha256 4f2379c8c8e73a18994a3bfc7b0cd7c8d629a20ea5d8bdbeeebbb4c5cd84aba6
        payload-size 9
        payload-type application/vnd.urne.results+json

        — alice bxis4mbBeb3kY3pkH7eUeVxGg8ASXZSxQOD7q4L9RvBw+er+uv71GPiLgODndfaJG6rBc9PqtQ0xD9ZeSdiH07xiIAM=
        — bob 6Lpzi5cFyOVUTHDTFuNsL00rPAF9ES/deVErlXB/ClIykQqZzEs+pxzFZeM+TA6phF0QNWGAq2AB4oCVXwU134ex1ww=
    "#]].assert_eq(&String::from_utf8(entry).unwrap());
}

fn check_manifests(cases: &[(&str, String)], expect: Expect) {
    let mut out = String::new();
    for (label, text) in cases {
        let got = match Manifest::parse(text.as_bytes()) {
            Ok(m) => {
                assert_eq!(m.encode().unwrap(), *text, "{label}: round trip");
                format!("ok {} #{}", m.kind, m.sequence)
            }
            Err(e) => format!("{e}"),
        };
        out.push_str(&format!("{label:28} {got}\n"));
    }
    expect.assert_eq(&out);
}

#[test]
fn manifest_parser() {
    let g = golden_manifest().encode().unwrap();
    let r = |from: &str, to: &str| {
        assert!(g.contains(from), "{from}");
        g.replacen(from, to, 1)
    };
    let policy = {
        let mut m = golden_manifest();
        m.kind = Kind::TrustPolicy;
        m.election = None;
        m.encode().unwrap()
    };
    let cases = [
        ("golden", g.clone()),
        ("policy", policy.clone()),
        (
            "no correction",
            r(
                "correction Precinct 12 was counted twice; décompte corrigé.\n",
                "",
            ),
        ),
        ("empty", String::new()),
        ("no final newline", g.trim_end().to_string()),
        ("v2 header", r("urne-release/v1", "urne-release/v2")),
        ("blank line", r("kind results\n", "kind results\n\n")),
        ("CRLF", r("kind results\n", "kind results\r\n")),
        ("tab", r("kind results", "kind\tresults")),
        ("two spaces", r("kind results", "kind  results")),
        ("trailing space", r("kind results", "kind results ")),
        ("no value", r("kind results", "kind")),
        (
            "unknown key",
            r("status unofficial\n", "status unofficial\ncolor blue\n"),
        ),
        ("upper-case key", r("kind results", "Kind results")),
        (
            "duplicate key",
            r(
                "status unofficial\n",
                "status unofficial\nstatus official\n",
            ),
        ),
        ("missing status", r("status unofficial\n", "")),
        (
            "missing payload-type",
            r("payload-type application/vnd.urne.results+json\n", ""),
        ),
        (
            "swapped lines",
            r("sequence 3\nprevious", "previous").replacen("timestamp", "sequence 3\ntimestamp", 1),
        ),
        (
            "correction last",
            r(
                "correction Precinct 12 was counted twice; décompte corrigé.\n",
                "",
            ) + "correction late\n",
        ),
        ("unknown kind", r("kind results", "kind tallies")),
        ("election upper", r(ELECTION, "General-2026")),
        ("election -", r(ELECTION, "-")),
        ("election too long", r(ELECTION, &"a".repeat(65))),
        (
            "policy with election",
            policy.replacen("election -", "election x", 1),
        ),
        ("sequence +3", r("sequence 3", "sequence +3")),
        ("sequence 03", r("sequence 3", "sequence 03")),
        ("sequence 0 with previous", r("sequence 3", "sequence 0")),
        (
            "sequence 2^64",
            r("sequence 3", "sequence 18446744073709551616"),
        ),
        (
            "sequence 21 digits",
            r("sequence 3", "sequence 100000000000000000000"),
        ),
        (
            "previous none at 3",
            r(&format!("previous {}", "ab".repeat(32)), "previous none"),
        ),
        ("previous upper hex", r(&"ab".repeat(32), &"AB".repeat(32))),
        ("previous short", r(&"ab".repeat(32), &"ab".repeat(31))),
        (
            "timestamp -1",
            r(&format!("timestamp {T0}"), "timestamp -1"),
        ),
        ("status final", r("status unofficial", "status final")),
        ("correction control", r("twice;", "twice;\u{7}")),
        ("correction U+2028", r("twice;", "twice;\u{2028}")),
        ("correction too long", r("twice;", &"x".repeat(1100))),
        ("payload-size 1e3", r("payload-size 9", "payload-size 1e3")),
        ("media type upper", r("application/vnd", "Application/vnd")),
        (
            "media type no subtype",
            r("application/vnd.urne.results+json", "application"),
        ),
        ("media type param", r("+json", "+json;charset=utf-8")),
        ("media type param space", r("+json", "+json; charset=utf-8")),
        ("non-ascii value", r("kind results", "kind résults")),
        ("too large", g.clone() + &"x".repeat(4096)),
    ];
    check_manifests(
        &cases,
        expect![[r#"
        golden                       ok results #3
        policy                       ok trust-policy #3
        no correction                ok results #3
        empty                        manifest line 0: does not end with a newline
        no final newline             manifest line 0: does not end with a newline
        v2 header                    manifest line 1: first line is not `urne-release/v1`
        blank line                   manifest line 3: not `key value` with one space
        CRLF                         manifest line 2: control character or bad charset
        tab                          manifest line 2: control character or bad charset
        two spaces                   manifest line 2: not `key value` with one space
        trailing space               manifest line 2: not `key value` with one space
        no value                     manifest line 2: not `key value` with one space
        unknown key                  manifest line 8: unknown key "color"
        upper-case key               manifest line 2: not `key value` with one space
        duplicate key                manifest line 8: duplicate key "status"
        missing status               manifest line 7: missing key "status"
        missing payload-type         manifest line 11: missing key "payload-type"
        swapped lines                manifest line 4: missing key "sequence"
        correction last              manifest line 11: key "correction" out of order (expected "end of manifest")
        unknown kind                 manifest line 2: bad value for "kind"
        election upper               manifest line 3: bad value for "election"
        election -                   manifest line 3: election must be `-` exactly for kind trust-policy
        election too long            manifest line 3: election is longer than 64 bytes
        policy with election         manifest line 3: election must be `-` exactly for kind trust-policy
        sequence +3                  manifest line 4: bad value for "sequence"
        sequence 03                  manifest line 4: bad value for "sequence"
        sequence 0 with previous     manifest line 5: previous must be `none` exactly when sequence is 0
        sequence 2^64                manifest line 4: bad value for "sequence"
        sequence 21 digits           manifest line 4: sequence is longer than 20 bytes
        previous none at 3           manifest line 5: previous must be `none` exactly when sequence is 0
        previous upper hex           manifest line 5: bad value for "previous"
        previous short               manifest line 5: bad value for "previous"
        timestamp -1                 manifest line 6: bad value for "timestamp"
        status final                 manifest line 7: bad value for "status"
        correction control           manifest line 8: control character or bad charset
        correction U+2028            manifest line 8: control character or bad charset
        correction too long          manifest line 8: correction is longer than 1024 bytes
        payload-size 1e3             manifest line 10: bad value for "payload-size"
        media type upper             manifest line 11: bad value for "payload-type"
        media type no subtype        manifest line 11: bad value for "payload-type"
        media type param             ok results #3
        media type param space       manifest line 11: control character or bad charset
        non-ascii value              manifest line 2: control character or bad charset
        too large                    manifest line 0: manifest is longer than 4096 bytes
    "#]],
    );
}

fn check_policies(cases: &[(&str, String)], expect: Expect) {
    let mut out = String::new();
    for (label, text) in cases {
        let got = match TrustPolicy::parse(text.as_bytes()) {
            Ok(p) => {
                assert_eq!(p.encode(), *text, "{label}: round trip");
                format!("ok {} of {}", p.threshold(), p.officials().len())
            }
            Err(e) => format!("{e}"),
        };
        out.push_str(&format!("{label:28} {got}\n"));
    }
    expect.assert_eq(&out);
}

#[test]
fn policy_parser() {
    let keys = ["alice", "bob", "carol"]
        .map(|n| key(n).verifier())
        .to_vec();
    let wp = format!("witness w1 {}\nquorum w1\n", witness("w1.example"));
    let g = TrustPolicy::new(keys, 2, &wp).unwrap().encode();
    let alice = format!("official {}\n", key("alice").verifier().vkey());
    let r = |from: &str, to: &str| {
        assert!(g.contains(from), "{from}");
        g.replacen(from, to, 1)
    };
    let cases = [
        ("golden", g.clone()),
        ("k 3 of 3", r("threshold 2", "threshold 3")),
        ("k 1", r("threshold 2", "threshold 1")),
        ("k 0", r("threshold 2", "threshold 0")),
        ("k 4 of 3", r("threshold 2", "threshold 4")),
        ("k 02", r("threshold 2", "threshold 02")),
        ("no threshold", r("threshold 2\n", "")),
        (
            "two thresholds",
            r("threshold 2\n", "threshold 2\nthreshold 2\n"),
        ),
        (
            "official after threshold",
            r("threshold 2\n", "")
                .replacen("witness", "threshold 2\nwitness", 1)
                .replacen(&alice, "", 1)
                .replacen("threshold 2\n", &format!("threshold 2\n{alice}"), 1),
        ),
        ("duplicate official", r(&alice, &format!("{alice}{alice}"))),
        (
            "no officials",
            format!("urne-trust-policy/v1\nthreshold 1\n{wp}"),
        ),
        ("bad vkey", r("official alice+", "official alice+0")),
        (
            "witness before threshold",
            r("threshold 2\nwitness w1", "witness w1").replacen("quorum", "threshold 2\nquorum", 1),
        ),
        ("comment", r("quorum", "# hi\nquorum")),
        ("no quorum", r("quorum w1\n", "")),
        ("quorum none", r("quorum w1", "quorum none")),
        ("undefined quorum", r("quorum w1", "quorum w9")),
        ("tab", r("quorum w1", "quorum\tw1")),
        ("two spaces", r("quorum w1", "quorum  w1")),
        (
            "unknown keyword",
            r("quorum w1\n", "quorum w1\nofficer x\n"),
        ),
        ("header v2", r("/v1", "/v2")),
        ("no final newline", g.trim_end().to_string()),
        ("trailing blank line", g.clone() + "\n"),
    ];
    check_policies(
        &cases,
        expect![[r##"
        golden                       ok 2 of 3
        k 3 of 3                     ok 3 of 3
        k 1                          ok 1 of 3
        k 0                          trust policy line 5: threshold must be a decimal from 1 to the number of officials (3)
        k 4 of 3                     trust policy line 5: threshold must be a decimal from 1 to the number of officials (3)
        k 02                         trust policy line 5: threshold must be a decimal from 1 to the number of officials (3)
        no threshold                 trust policy line 5: unknown or misplaced keyword "witness"
        two thresholds               trust policy line 6: unknown or misplaced keyword "threshold"
        official after threshold     trust policy line 5: unknown or misplaced keyword "official"
        duplicate official           trust policy line 3: official "alice" is listed twice (same name or same key)
        no officials                 trust policy line 2: no official lines
        bad vkey                     trust policy line 2: bad official key: key string is malformed
        witness before threshold     trust policy line 5: unknown or misplaced keyword "witness"
        comment                      trust policy line 7: unknown or misplaced keyword "#"
        no quorum                    trust policy line 7: witness policy (C2SP tlog-policy): no quorum line
        quorum none                  ok 2 of 3
        undefined quorum             trust policy line 7: witness policy (C2SP tlog-policy): name "w9" is not defined on an earlier line
        tab                          trust policy line 7: control character, tab, or not single-spaced
        two spaces                   trust policy line 7: control character, tab, or not single-spaced
        unknown keyword              trust policy line 8: unknown or misplaced keyword "officer"
        header v2                    trust policy line 1: first line is not `urne-trust-policy/v1`
        no final newline             trust policy line 0: does not end with a newline
        trailing blank line          trust policy line 8: control character, tab, or not single-spaced
    "##]],
    );
}
