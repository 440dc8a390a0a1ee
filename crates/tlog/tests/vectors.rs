//! Published test vectors, copied with their sources.

mod common;

use std::collections::HashMap;

use common::{hex, unhex};
use urne_tlog::cosignature::CosignatureVerifier;
use urne_tlog::note::{Ed25519Signer, Ed25519Verifier, Note, NoteError, NoteVerifier};
use urne_tlog::{
    Checkpoint, Edge, Hash, TileId, consistency_proof, empty_root, inclusion_proof, leaf_hash,
    verify_consistency, verify_inclusion,
};

// RFC 6962 reference vectors: the eight leaves and roots of the
// certificate-transparency C++ `merkle_tree_test.cc`, also shipped as
// transparency-dev/merkle testdata.
const LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];
const ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];
// (0-based leaf index, tree size, audit path) from the same file.
const INCLUSION: [(u64, u64, &[&str]); 3] = [
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];
// (old size, new size, consistency proof) from the same file.
const CONSISTENCY: [(u64, u64, &[&str]); 4] = [
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

fn rfc_log() -> (HashMap<TileId, Vec<u8>>, Vec<Hash>) {
    let entries: Vec<Vec<u8>> = LEAVES.iter().map(|l| unhex(l)).collect();
    let (_, seq) = Edge::empty().append(&entries).expect("append");
    (
        seq.tiles.into_iter().collect(),
        entries.iter().map(|e| leaf_hash(e)).collect(),
    )
}

#[test]
fn rfc6962_roots() {
    assert_eq!(empty_root(), hex(ROOTS[0]));
    let mut edge = Edge::empty();
    assert_eq!(edge.root(), hex(ROOTS[0]));
    for (n, leaf) in LEAVES.iter().enumerate() {
        let (next, seq) = edge.append(&[unhex(leaf)]).expect("append");
        assert_eq!(seq.root, hex(ROOTS[n + 1]), "size {}", n + 1);
        assert_eq!(next.root(), seq.root);
        edge = next;
    }
}

#[test]
fn rfc6962_inclusion() {
    let (tiles, leaves) = rfc_log();
    for (index, size, path) in INCLUSION {
        let want: Vec<Hash> = path.iter().map(|h| hex(h)).collect();
        assert_eq!(inclusion_proof(index, size, &tiles), Ok(want.clone()));
        let root = hex(ROOTS[size as usize]);
        assert!(verify_inclusion(&leaves[index as usize], index, size, &want, &root).is_ok());
        assert!(
            verify_inclusion(&leaves[index as usize], index, size, &want, &empty_root()).is_err()
        );
    }
}

#[test]
fn rfc6962_consistency() {
    let (tiles, _) = rfc_log();
    for (old, new, path) in CONSISTENCY {
        let want: Vec<Hash> = path.iter().map(|h| hex(h)).collect();
        assert_eq!(consistency_proof(old, new, &tiles), Ok(want.clone()));
        let (r1, r2) = (hex(ROOTS[old as usize]), hex(ROOTS[new as usize]));
        assert!(
            verify_consistency(old, new, &want, &r1, &r2).is_ok(),
            "{old} -> {new}"
        );
    }
}

// golang.org/x/mod/sumdb/note note_test.go (TestSign, TestOpen): the
// PeterNeumann key and its signature on the Peter Neumann quote.
const PETER_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

#[test]
fn go_note_sign() {
    let signer = Ed25519Signer::from_private_key(PETER_SKEY).expect("skey");
    assert_eq!(signer.key_id(), 0xc74f20a3);
    assert_eq!(signer.verifier().vkey(), PETER_VKEY);
    let mut note = Note::new(PETER_TEXT).expect("text");
    note.sign(&signer).expect("sign");
    assert_eq!(note.to_text(), format!("{PETER_TEXT}\n{PETER_SIG}"));
}

#[test]
fn go_note_open() {
    let peter = Ed25519Verifier::from_vkey(PETER_VKEY).expect("vkey");
    let known: [&dyn NoteVerifier; 1] = [&peter];
    let msg = format!("{PETER_TEXT}\n{PETER_SIG}");
    let verified = Note::parse(msg.as_bytes())
        .expect("parse")
        .verify(&known)
        .expect("verify");
    assert_eq!(verified.text(), PETER_TEXT);
    assert_eq!(
        verified.verified_by(),
        &[("PeterNeumann".to_string(), 0xc74f20a3)]
    );

    // TestOpen: an unknown key's signature is ignored; with no known one the note fails.
    let misnamed = msg.replace("PeterNeumann", "CarmenSandiego");
    let note = Note::parse(misnamed.as_bytes()).expect("parse");
    assert_eq!(note.verify(&known), Err(NoteError::NoKnownSignature));

    // A known key whose signature does not verify rejects the whole note.
    let bad = msg.replace("wJnAM=", "wJnAA=");
    let note = Note::parse(bad.as_bytes()).expect("parse");
    assert!(matches!(
        note.verify(&known),
        Err(NoteError::InvalidSignature { .. })
    ));

    // Text changed after signing.
    let tampered = msg.replace("cryptography", "cryptanalysis");
    let note = Note::parse(tampered.as_bytes()).expect("parse");
    assert!(matches!(
        note.verify(&known),
        Err(NoteError::InvalidSignature { .. })
    ));
}

// c2sp.org/tlog-checkpoint and c2sp.org/tlog-cosignature: the example
// checkpoint and its witness cosignature line.
const SPEC_CHECKPOINT: &str = "example.com/behind-the-sofa
20852163
CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=

\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=
\u{2014} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==
";

#[test]
fn c2sp_checkpoint_example() {
    let note = Note::parse(SPEC_CHECKPOINT.as_bytes()).expect("parse");
    let cp = Checkpoint::parse(note.text()).expect("checkpoint");
    assert_eq!(cp.origin, "example.com/behind-the-sofa");
    assert_eq!(cp.size, 20_852_163);
    assert_eq!(cp.body(), note.text());
    assert_eq!(note.to_text(), SPEC_CHECKPOINT);
    let [log, witness] = note.signatures() else {
        panic!("want two signatures, got {:?}", note.signatures());
    };
    assert_eq!(log.signature.len(), 64);
    // tlog-cosignature: key ID, then the timestamp 1679315147 big-endian, then 64 bytes.
    assert_eq!(witness.key_id, 0x8d66cf3f);
    assert_eq!(witness.signature.len(), 72);
    assert_eq!(
        u64::from_be_bytes(witness.signature[..8].try_into().expect("8")),
        1_679_315_147
    );
    // The example's witness key is not published: a made-up key with the same
    // name has another key ID, so its signature line is ignored, not failed.
    let other = CosignatureVerifier::new("witness.example.com/w1", &[0x11; 32]);
    if let Ok(v) = other {
        assert_ne!(NoteVerifier::key_id(&v), witness.key_id);
        assert_eq!(note.verify(&[&v]), Err(NoteError::NoKnownSignature));
    }
}

#[test]
fn c2sp_tile_path_examples() {
    // tlog-tiles: index 1234067 is `x001/x234/067`.
    let id = TileId {
        level: 0,
        index: 1_234_067,
        width: 256,
    };
    assert_eq!(id.path(), "tile/0/x001/x234/067");
    assert_eq!(TileId::parse("tile/0/x001/x234/067"), Ok(id));
    // tlog-tiles: a tree of 70,000 entries is 273 full level 0 tiles, a
    // partial level 0 tile of width 112, a full level 1 tile, a partial
    // level 1 tile of width 17, and a partial level 2 tile of width 1.
    let (needed, bundle) = Edge::needed(70_000);
    let paths: Vec<String> = needed.iter().map(|t| t.path()).collect();
    assert_eq!(
        paths,
        ["tile/0/273.p/112", "tile/1/001.p/17", "tile/2/000.p/1"]
    );
    assert_eq!(
        bundle.map(|b| b.path()),
        Some("tile/entries/273.p/112".to_string())
    );
    // tlog-tiles: a tree of 256 is a full level 0 tile and a level 1 tile of width 1.
    let (needed, bundle) = Edge::needed(256);
    assert_eq!(
        needed.iter().map(|t| t.path()).collect::<Vec<_>>(),
        ["tile/1/000.p/1"]
    );
    assert_eq!(bundle, None);
    let log = common::build(70_000);
    let full0 = log
        .tiles
        .keys()
        .filter(|t| t.level == 0 && t.is_full())
        .count();
    let full1 = log
        .tiles
        .keys()
        .filter(|t| t.level == 1 && t.is_full())
        .count();
    assert_eq!((full0, full1), (273, 1));
}
