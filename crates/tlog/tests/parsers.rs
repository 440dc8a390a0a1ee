//! Parser tests as data (STYLE habit 9): each input and the parse result.

use expect_test::{Expect, expect};
use urne_tlog::cosignature::CosignatureSigner;
use urne_tlog::note::{Ed25519Signer, Note};
use urne_tlog::policy::Policy;
use urne_tlog::tile::{decode_bundle, encode_bundle};
use urne_tlog::{BundleId, Checkpoint, TileId};

fn check_tiles(inputs: &[&str], expect: Expect) {
    let mut out = String::new();
    for input in inputs {
        let got = match (TileId::parse(input), BundleId::parse(input)) {
            (Ok(t), _) => {
                assert_eq!(t.path(), *input, "round trip");
                format!("tile {} {} w{}", t.level, t.index, t.width)
            }
            (_, Ok(b)) => {
                assert_eq!(b.path(), *input, "round trip");
                format!("bundle {} w{}", b.index, b.width)
            }
            (Err(_), Err(b)) if input.starts_with("tile/entries/") => format!("error: {b}"),
            (Err(e), Err(_)) => format!("error: {e}"),
        };
        out.push_str(&format!("{input:32} {got}\n"));
    }
    expect.assert_eq(&out);
}

#[test]
fn tile_paths() {
    check_tiles(
        &[
            "tile/0/000",
            "tile/0/x001/x234/067",
            "tile/2/000.p/5",
            "tile/63/999.p/255",
            "tile/entries/x001/x234/067",
            "tile/entries/000.p/1",
            "tile/0/x018/x446/x744/x073/x709/x551/615",
            "tile/0/x018/x446/x744/x073/x709/x551/616",
            "tile/64/000",
            "tile/01/000",
            "tile/0/00",
            "tile/0/0000",
            "tile/0/x000/001",
            "tile/0/001/002",
            "tile/0/x001",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/05",
            "tile/0/000.p",
            "tile/0/000.p/5/6",
            "tile/0/x001.p/5",
            "log/tile/0/000",
            "tile/0/-01",
            "tile/0/+01",
            "tile/entries/000.p/",
            "",
        ],
        expect![[r#"
            tile/0/000                       tile 0 0 w256
            tile/0/x001/x234/067             tile 0 1234067 w256
            tile/2/000.p/5                   tile 2 0 w5
            tile/63/999.p/255                tile 63 999 w255
            tile/entries/x001/x234/067       bundle 1234067 w256
            tile/entries/000.p/1             bundle 0 w1
            tile/0/x018/x446/x744/x073/x709/x551/615 tile 0 18446744073709551615 w256
            tile/0/x018/x446/x744/x073/x709/x551/616 error: index does not fit in 64 bits
            tile/64/000                      error: level is not a decimal between 0 and 63 without leading zeros
            tile/01/000                      error: level is not a decimal between 0 and 63 without leading zeros
            tile/0/00                        error: index element "00" is not canonical (`xDDD/`... then `DDD`, no leading x000)
            tile/0/0000                      error: index element "0000" is not canonical (`xDDD/`... then `DDD`, no leading x000)
            tile/0/x000/001                  error: index element "x000" is not canonical (`xDDD/`... then `DDD`, no leading x000)
            tile/0/001/002                   error: index element "001" is not canonical (`xDDD/`... then `DDD`, no leading x000)
            tile/0/x001                      error: index element "x001" is not canonical (`xDDD/`... then `DDD`, no leading x000)
            tile/0/000.p/0                   error: partial width is not a decimal between 1 and 255 without leading zeros
            tile/0/000.p/256                 error: partial width is not a decimal between 1 and 255 without leading zeros
            tile/0/000.p/05                  error: partial width is not a decimal between 1 and 255 without leading zeros
            tile/0/000.p                     error: index element "000.p" is not canonical (`xDDD/`... then `DDD`, no leading x000)
            tile/0/000.p/5/6                 error: index element "000.p" is not canonical (`xDDD/`... then `DDD`, no leading x000)
            tile/0/x001.p/5                  error: index element "x001" is not canonical (`xDDD/`... then `DDD`, no leading x000)
            log/tile/0/000                   error: path does not start with `tile/`
            tile/0/-01                       error: index element "-01" is not canonical (`xDDD/`... then `DDD`, no leading x000)
            tile/0/+01                       error: index element "+01" is not canonical (`xDDD/`... then `DDD`, no leading x000)
            tile/entries/000.p/              error: partial width is not a decimal between 1 and 255 without leading zeros
                                             error: path does not start with `tile/`
        "#]],
    );
}

fn check_checkpoint(input: &str, expect: Expect) {
    let got = match Checkpoint::parse(input) {
        Ok(c) => {
            assert_eq!(c.body(), input, "round trip");
            format!("{c:?}")
        }
        Err(e) => format!("error: {e}"),
    };
    expect.assert_eq(&got);
}

#[test]
fn checkpoints() {
    let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
    check_checkpoint(
        &format!("example.com/log\n20852163\n{root}\n"),
        expect![[
            r#"Checkpoint { origin: "example.com/log", size: 20852163, root: Hash(0ac5186a91863e8e1d90c808014aa89bf5da8e3ee1d9f07630f0378f68f1ab62), extensions: [] }"#
        ]],
    );
    check_checkpoint(
        &format!("o\n0\n{root}\next a\next b\n"),
        expect![[
            r#"Checkpoint { origin: "o", size: 0, root: Hash(0ac5186a91863e8e1d90c808014aa89bf5da8e3ee1d9f07630f0378f68f1ab62), extensions: ["ext a", "ext b"] }"#
        ]],
    );
    check_checkpoint(
        &format!("o\n0\n{root}"),
        expect!["error: checkpoint does not end with a newline"],
    );
    check_checkpoint(
        &format!("\n0\n{root}\n"),
        expect!["error: line 1: is empty"],
    );
    check_checkpoint(
        &format!("o\n00\n{root}\n"),
        expect!["error: line 2: tree size is not a decimal without leading zeros"],
    );
    check_checkpoint(
        &format!("o\n-1\n{root}\n"),
        expect!["error: line 2: tree size is not a decimal without leading zeros"],
    );
    check_checkpoint(
        &format!("o\n18446744073709551616\n{root}\n"),
        expect!["error: line 2: tree size is not a decimal without leading zeros"],
    );
    check_checkpoint(
        "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2=\n",
        expect!["error: line 3: root hash is not base64 of 32 bytes"],
    );
    check_checkpoint(
        "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n",
        expect!["error: line 3: root hash is not base64 of 32 bytes"],
    );
    check_checkpoint(
        &format!("o\n1\n{root}\n\n"),
        expect!["error: line 4: is empty"],
    );
    check_checkpoint(
        &format!("o\t\n1\n{root}\n"),
        expect!["error: line 1: contains a control character"],
    );
    check_checkpoint(
        "o\n1\n",
        expect!["error: checkpoint has fewer than three lines"],
    );
}

fn check_note(input: &str, expect: Expect) {
    let got = match Note::parse(input.as_bytes()) {
        Ok(n) => {
            assert_eq!(n.to_text(), input, "round trip");
            let sigs: Vec<String> = n
                .signatures()
                .iter()
                .map(|s| format!("{}+{:08x} ({} bytes)", s.name, s.key_id, s.signature.len()))
                .collect();
            format!("text {:?} sigs {sigs:?}", n.text())
        }
        Err(e) => format!("error: {e}"),
    };
    expect.assert_eq(&got);
}

#[test]
fn notes() {
    let sig = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    check_note(
        &format!("hello\n\n{sig}"),
        expect![[r#"text "hello\n" sigs ["PeterNeumann+c74f20a3 (64 bytes)"]"#]],
    );
    check_note(
        &format!("a\n\nb\n\n{sig}{sig}"),
        expect![[
            r#"text "a\n\nb\n" sigs ["PeterNeumann+c74f20a3 (64 bytes)", "PeterNeumann+c74f20a3 (64 bytes)"]"#
        ]],
    );
    check_note(
        "hello\n",
        expect!["error: note has no blank line before its signatures"],
    );
    check_note(
        &format!("hello\n\n{}", sig.trim_end()),
        expect!["error: note text does not end with a newline"],
    );
    check_note(
        "hello\n\n\u{2014} a AAAA\n",
        expect!["error: signature line 1 is malformed"],
    );
    check_note(
        "hello\n\n\u{2014} a+b AAAAAAA=\n",
        expect!["error: signature line 1 is malformed"],
    );
    check_note(
        "hello\n\n\u{2014}  AAAAAAA=\n",
        expect!["error: signature line 1 is malformed"],
    );
    check_note(
        "hello\n\n- a AAAAAAA=\n",
        expect!["error: signature line 1 is malformed"],
    );
    check_note(
        "hello\r\n\n\u{2014} a AAAAAAA=\n",
        expect!["error: note contains an ASCII control character other than newline"],
    );
    check_note(
        "hello\n\n\u{2014} a AAAAAAB=\n",
        expect!["error: signature line 1 is malformed"],
    );
    check_note(
        "hello\n\n\u{2014} a AAAAAAA=\n",
        expect![[r#"text "hello\n" sigs ["a+00000000 (1 bytes)"]"#]],
    );
    check_note(
        &format!("x\n\n{}", sig.repeat(101)),
        expect!["error: note has more than 100 signatures"],
    );
}

#[test]
fn bundles() {
    let mut out = String::new();
    for input in [
        &b""[..],
        b"\x00\x00",
        b"\x00\x01a\x00\x02bc",
        b"\x00\x02a",
        b"\x00",
        b"\x00\x00\x00",
    ] {
        out.push_str(&format!("{input:?} -> {:?}\n", decode_bundle(input)));
    }
    out.push_str(&format!("{:?}\n", encode_bundle(&[&b"a"[..], b"bc"])));
    out.push_str(&format!(
        "{:?}\n",
        encode_bundle(&[vec![0u8; 65_536]]).map(|b| b.len())
    ));
    out.push_str(&format!(
        "{:?}\n",
        decode_bundle(&vec![0u8; 2 * 257]).map(|b| b.len())
    ));
    out.push_str(&format!(
        "{:?}\n",
        decode_bundle(&vec![0u8; 2 * 256]).map(|b| b.len())
    ));
    expect![[r#"
        [] -> Err(Empty)
        [0, 0] -> Ok([[]])
        [0, 1, 97, 0, 2, 98, 99] -> Ok([[97], [98, 99]])
        [0, 2, 97] -> Err(Truncated(0))
        [0] -> Err(Truncated(0))
        [0, 0, 0] -> Err(Truncated(1))
        Ok([0, 1, 97, 0, 2, 98, 99])
        Err(EntryTooLong { index: 0, len: 65536 })
        Err(TooManyEntries(257))
        Ok(256)
    "#]]
    .assert_eq(&out);
}

fn keys() -> (String, String, String, String) {
    let log = Ed25519Signer::from_seed("example.com/log", [1; 32]).expect("key");
    let w1 = CosignatureSigner::from_seed("w1.example", [2; 32]).expect("key");
    let w2 = CosignatureSigner::from_seed("w2.example", [3; 32]).expect("key");
    let w3 = CosignatureSigner::from_seed("w3.example", [4; 32]).expect("key");
    (
        log.verifier().vkey(),
        w1.verifier().vkey(),
        w2.verifier().vkey(),
        w3.verifier().vkey(),
    )
}

fn check_policy(template: &str, expect: Expect) {
    let (log, w1, w2, w3) = keys();
    let text = template
        .replace("$LOG", &log)
        .replace("$W1", &w1)
        .replace("$W2", &w2)
        .replace("$W3", &w3);
    let got = match Policy::parse(&text) {
        Ok(p) => {
            let groups: Vec<String> = p
                .groups
                .iter()
                .map(|g| format!("{} {}/{:?}", g.name, g.threshold, g.members))
                .collect();
            let mut out = format!(
                "logs {} witnesses {:?} groups {groups:?} quorum {:?}\n",
                p.logs.len(),
                p.witnesses
                    .iter()
                    .map(|w| w.name.as_str())
                    .collect::<Vec<_>>(),
                p.quorum
            );
            for set in [&[][..], &["A"], &["A", "B"], &["A", "B", "C"], &["C"]] {
                out.push_str(&format!("  {set:?} -> {}\n", p.quorum_met(set)));
            }
            out
        }
        Err(e) => format!("error: {e}"),
    };
    expect.assert_eq(&got);
}

#[test]
fn policies() {
    check_policy(
        "# example\nlog $LOG\n\nwitness A $W1\nwitness B $W2 https://b.example/\n  witness\tC $W3  \ngroup AB 2 A B\ngroup Q any AB C\nquorum Q\n",
        expect![[r#"
            logs 1 witnesses ["A", "B", "C"] groups ["AB 2/[\"A\", \"B\"]", "Q 1/[\"AB\", \"C\"]"] quorum Name("Q")
              [] -> false
              ["A"] -> false
              ["A", "B"] -> true
              ["A", "B", "C"] -> true
              ["C"] -> true
        "#]],
    );
    check_policy(
        "log $LOG\nwitness A $W1\nwitness B $W2\ngroup G all A B\nquorum G",
        expect![[r#"
        logs 1 witnesses ["A", "B"] groups ["G 2/[\"A\", \"B\"]"] quorum Name("G")
          [] -> false
          ["A"] -> false
          ["A", "B"] -> true
          ["A", "B", "C"] -> true
          ["C"] -> false
    "#]],
    );
    check_policy(
        "quorum none\n",
        expect![[r#"
        logs 0 witnesses [] groups [] quorum None
          [] -> true
          ["A"] -> true
          ["A", "B"] -> true
          ["A", "B", "C"] -> true
          ["C"] -> true
    "#]],
    );
    check_policy(
        "witness A $W1\nquorum A\n",
        expect![[r#"
        logs 0 witnesses ["A"] groups [] quorum Name("A")
          [] -> false
          ["A"] -> true
          ["A", "B"] -> true
          ["A", "B", "C"] -> true
          ["C"] -> false
    "#]],
    );
    check_policy(
        "log $LOG\n",
        expect!["error: policy line 2: no quorum line"],
    );
    check_policy(
        "quorum none\nquorum none\n",
        expect!["error: policy line 2: more than one quorum line"],
    );
    check_policy(
        "quorum X\n",
        expect![[r#"error: policy line 1: name "X" is not defined on an earlier line"#]],
    );
    check_policy(
        "witness A $W1\nwitness A $W2\nquorum A\n",
        expect![[r#"error: policy line 2: name "A" is already defined or reserved"#]],
    );
    check_policy(
        "witness A $W1\nwitness B $W1\nquorum A\n",
        expect!["error: policy line 2: duplicate public key"],
    );
    check_policy(
        "witness none $W1\nquorum none\n",
        expect![[r#"error: policy line 1: name "none" is already defined or reserved"#]],
    );
    check_policy(
        "witness A $W1\ngroup G 2 A\nquorum G\n",
        expect![
            "error: policy line 2: threshold is not `all`, `any` or a decimal between 1 and the member count"
        ],
    );
    check_policy(
        "witness A $W1\ngroup G 0 A\nquorum G\n",
        expect![
            "error: policy line 2: threshold is not `all`, `any` or a decimal between 1 and the member count"
        ],
    );
    check_policy(
        "witness A $W1\ngroup G 01 A\nquorum G\n",
        expect![
            "error: policy line 2: threshold is not `all`, `any` or a decimal between 1 and the member count"
        ],
    );
    check_policy(
        "witness A $W1\ngroup G any A A\nquorum G\n",
        expect![[r#"error: policy line 2: group member "A" is listed twice or is `none`"#]],
    );
    check_policy(
        "witness A $W1\ngroup G any A none\nquorum G\n",
        expect![[r#"error: policy line 2: group member "none" is listed twice or is `none`"#]],
    );
    check_policy(
        "witness A $W1\ngroup G any\nquorum G\n",
        expect!["error: policy line 2: wrong number of items"],
    );
    check_policy(
        "witness A $W1\ngroup G any B\nquorum G\n",
        expect![[r#"error: policy line 2: name "B" is not defined on an earlier line"#]],
    );
    check_policy(
        "witness A $LOG\nquorum A\n",
        expect!["error: policy line 1: bad key: key has signature type 0x01, want 0x04"],
    );
    check_policy(
        "log $W1\nquorum none\n",
        expect!["error: policy line 1: bad key: key has signature type 0x04, want 0x01"],
    );
    check_policy(
        "log $LOG\nlog $LOG\nquorum none\n",
        expect!["error: policy line 2: duplicate public key"],
    );
    check_policy(
        "logs $LOG\nquorum none\n",
        expect![[r#"error: policy line 1: unknown keyword "logs""#]],
    );
    check_policy(
        "quorum none\r\n",
        expect!["error: policy line 1: control character other than tab or newline"],
    );
    check_policy(
        "witness A $W1 url extra\nquorum none\n",
        expect!["error: policy line 1: wrong number of items"],
    );
}

#[test]
fn hashes() {
    use urne_tlog::{Hash, empty_root};
    let e = empty_root();
    let mut out = format!("{e}\n{e:?}\n{}\n", e.to_base64());
    for input in [
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=",
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuF==",
        "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=",
        "",
    ] {
        out.push_str(&format!("{input:?} -> {:?}\n", Hash::from_base64(input)));
    }
    for input in [&e.to_hex()[..], &e.to_hex().to_uppercase(), "00"] {
        out.push_str(&format!("{input:?} -> {:?}\n", Hash::from_hex(input)));
    }
    out.push_str(&format!("{:?}\n", Hash::from_slice(&[0; 31])));
    expect![[r#"
        e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
        Hash(e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855)
        47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" -> Ok(Hash(e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855))
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=" -> Err(Base64)
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuF==" -> Err(Base64)
        "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=" -> Err(Base64)
        "" -> Err(Base64)
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" -> Ok(Hash(e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855))
        "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855" -> Err(Hex)
        "00" -> Err(Hex)
        Err(Length(31))
    "#]].assert_eq(&out);
}
