//! Interop with independent implementations from crates.io: `tlog_tiles`
//! (Cloudflare's port of Go's golang.org/x/mod/sumdb/tlog) and `signed_note`
//! (its port of golang.org/x/mod/sumdb/note). We generate with theirs and
//! verify with ours, and the other way round.

mod common;

use std::collections::{BTreeSet, HashMap};

use rand_core::OsRng;
use urne_tlog::note::{Ed25519Signer, Ed25519Verifier, Note, NoteVerifier};
use urne_tlog::{
    Checkpoint, Hash, TileId, consistency_proof, inclusion_proof, leaf_hash, root_from_tiles,
    verify_consistency, verify_inclusion,
};

/// Go's hash storage layout, filled by `tlog_tiles::stored_hashes`.
struct Storage(Vec<tlog_tiles::Hash>);

impl tlog_tiles::HashReader for Storage {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tlog_tiles::Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|&i| {
                self.0
                    .get(i as usize)
                    .copied()
                    .ok_or(tlog_tiles::Error::InvalidTile)
            })
            .collect()
    }
}

fn storage(n: u64) -> Storage {
    let mut s = Storage(Vec::new());
    for i in 0..n {
        let hashes = tlog_tiles::stored_hashes(i, &common::entry(i), &s).expect("stored_hashes");
        s.0.extend(hashes);
    }
    s
}

fn ours(h: tlog_tiles::Hash) -> Hash {
    Hash(h.0)
}

fn theirs(h: Hash) -> tlog_tiles::Hash {
    tlog_tiles::Hash(h.0)
}

/// Every size around tile boundaries; the largest is one past a level 1 tile.
const SIZES: &[u64] = &[
    1, 2, 3, 7, 8, 255, 256, 257, 511, 512, 513, 1000, 65_535, 65_536, 65_537,
];

#[test]
fn roots_and_tiles_match_tlog_tiles() {
    let s = storage(*SIZES.last().unwrap_or(&1));
    for &n in SIZES {
        let log = common::build(n);
        let want = tlog_tiles::tree_hash(n, &s).expect("tree_hash");
        assert_eq!(log.edge.root(), ours(want), "root at {n}");
        assert_eq!(
            root_from_tiles(n, &log.tiles),
            Ok(ours(want)),
            "root_from_tiles at {n}"
        );

        // Their tile coordinates carry the height (`tile/8/...`); ours are C2SP's.
        let mut expected = BTreeSet::new();
        for t in tlog_tiles::Tile::new_tiles(8, 0, n) {
            let data = t.read_data(&s).expect("read_data");
            let path = t.path().replacen("tile/8/", "tile/", 1);
            let id = TileId::parse(&path).expect("their path parses");
            assert_eq!(id.path(), path);
            expected.insert((id, data));
        }
        let got: BTreeSet<(TileId, Vec<u8>)> = log.tiles.clone().into_iter().collect();
        assert_eq!(got, expected, "tiles at {n}");
    }
}

#[test]
fn proofs_match_tlog_tiles() {
    let s = storage(*SIZES.last().unwrap_or(&1));
    for &n in SIZES {
        let log = common::build(n);
        let root = log.edge.root();
        let picks: Vec<u64> = [
            0,
            1,
            n / 3,
            n / 2,
            n.saturating_sub(257),
            n.saturating_sub(2),
            n - 1,
        ]
        .into_iter()
        .filter(|&i| i < n)
        .collect();
        for &i in &picks {
            let theirs_proof = tlog_tiles::prove_record(n, i, &s).expect("prove_record");
            let our_proof = inclusion_proof(i, n, &log.tiles).expect("inclusion_proof");
            assert_eq!(
                our_proof,
                theirs_proof.iter().map(|h| ours(*h)).collect::<Vec<_>>(),
                "inclusion {i} in {n}"
            );
            let their_check = tlog_tiles::check_record(
                &our_proof.iter().map(|h| theirs(*h)).collect(),
                n,
                theirs(root),
                i,
                theirs(log.leaves[i as usize]),
            );
            assert!(
                their_check.is_ok(),
                "tlog_tiles rejects our inclusion {i} in {n}"
            );
            assert!(verify_inclusion(&log.leaves[i as usize], i, n, &our_proof, &root).is_ok());
        }
        for &old in &picks {
            let old = old + 1;
            let old_root = ours(tlog_tiles::tree_hash(old, &s).expect("tree_hash"));
            let theirs_proof = tlog_tiles::prove_tree(n, old, &s).expect("prove_tree");
            let our_proof = consistency_proof(old, n, &log.tiles).expect("consistency_proof");
            assert_eq!(
                our_proof,
                theirs_proof.iter().map(|h| ours(*h)).collect::<Vec<_>>(),
                "consistency {old} -> {n}"
            );
            let their_check = tlog_tiles::check_tree(
                &our_proof.iter().map(|h| theirs(*h)).collect(),
                n,
                theirs(root),
                old,
                theirs(old_root),
            );
            assert!(
                their_check.is_ok(),
                "tlog_tiles rejects our consistency {old} -> {n}"
            );
            assert!(verify_consistency(old, n, &our_proof, &old_root, &root).is_ok());
        }
    }
}

#[test]
fn tile_paths_match_tlog_tiles() {
    for (level, index, width) in [
        (0u8, 0u64, 256u16),
        (0, 1_234_067, 256),
        (2, 0, 5),
        (5, 999, 255),
        (1, 1000, 1),
        (63, u64::MAX, 17),
    ] {
        let id = TileId {
            level,
            index,
            width,
        };
        let t = tlog_tiles::Tile::new(8, level, index, u32::from(width), false);
        assert_eq!(id.path(), t.path().replacen("tile/8/", "tile/", 1));
        let back = tlog_tiles::Tile::from_path(&id.path().replacen("tile/", "tile/8/", 1));
        assert_eq!(back.ok(), Some(t));
    }
}

#[test]
fn checkpoints_match_tlog_tiles() {
    let root = leaf_hash(b"x");
    for (origin, size, ext) in [
        ("example.com/log", 0u64, ""),
        ("results.example-county.gov/log", 20_852_163, ""),
        ("o", u64::MAX, "ext one\next two\n"),
    ] {
        let c = tlog_tiles::Checkpoint::new(origin, size, theirs(root), ext).expect("theirs");
        let text = String::from_utf8(c.to_bytes()).expect("utf8");
        let parsed = Checkpoint::parse(&text).expect("ours parses theirs");
        assert_eq!(parsed.body(), text);
        assert_eq!(
            (parsed.origin.as_str(), parsed.size, parsed.root),
            (origin, size, root)
        );
        let back = tlog_tiles::Checkpoint::from_bytes(parsed.body().as_bytes())
            .expect("theirs parses ours");
        assert_eq!(back.to_bytes(), c.to_bytes());
    }
}

#[test]
fn notes_signed_by_signed_note_verify_with_ours() {
    for name in ["example.com/log", "PeterNeumann", "a"] {
        let (skey, vkey) = signed_note::generate_key(&mut OsRng, name);
        let signer = signed_note::StandardSigner::new(&skey).expect("their signer");
        let text = b"origin\n42\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        let mut n = signed_note::Note::new(text, &[]).expect("note");
        n.add_sigs(&[&signer]).expect("sign");
        let bytes = n.to_bytes();

        let ours_v = Ed25519Verifier::from_vkey(&vkey).expect("our vkey parse");
        assert_eq!(ours_v.vkey(), vkey);
        let ours_s = Ed25519Signer::from_private_key(&skey).expect("our skey parse");
        assert_eq!(ours_s.private_key(), skey);
        assert_eq!(ours_s.verifier(), ours_v);

        let note = Note::parse(&bytes).expect("parse");
        let verified = note
            .verify(&[&ours_v as &dyn NoteVerifier])
            .expect("verify");
        assert_eq!(
            verified.verified_by(),
            &[(name.to_string(), ours_v.key_id())]
        );
        assert_eq!(note.to_text().as_bytes(), bytes.as_slice());

        // Ours signs the same bytes (Ed25519 is deterministic).
        let mut mine = Note::new(std::str::from_utf8(text).expect("utf8")).expect("note");
        mine.sign(&ours_s).expect("sign");
        assert_eq!(mine.to_text().as_bytes(), bytes.as_slice());
    }
}

#[test]
fn notes_signed_by_ours_verify_with_signed_note() {
    let signer = Ed25519Signer::generate("urne.example/log", &mut OsRng).expect("gen");
    let mut note = Note::new("hello\n\nworld\n").expect("note");
    note.sign(&signer).expect("sign");
    let theirs_v = signed_note::StandardVerifier::new(&signer.verifier().vkey()).expect("vkey");
    let parsed = signed_note::Note::from_bytes(note.to_text().as_bytes()).expect("their parse");
    let list = signed_note::VerifierList::new(vec![Box::new(theirs_v)]);
    let (verified, _) = parsed.verify(&list).expect("their verify");
    assert_eq!(verified.len(), 1);
    assert_eq!(parsed.text(), note.text().as_bytes());
}

#[test]
fn key_ids_match_signed_note() {
    let signer = Ed25519Signer::from_seed("example.com/w1", [7; 32]).expect("key");
    let mut encoded = vec![0x01];
    encoded.extend_from_slice(&signer.verifier().public_key());
    assert_eq!(
        signer.key_id(),
        signed_note::key_id("example.com/w1", &encoded)
    );

    // tlog-cosignature key IDs use type 0x04 with the same hash construction.
    let cos = urne_tlog::cosignature::CosignatureSigner::from_seed("example.com/w1", [7; 32])
        .expect("key");
    encoded[0] = 0x04;
    assert_eq!(
        cos.key_id(),
        signed_note::key_id("example.com/w1", &encoded)
    );
}

#[test]
fn cosignatures_verify_with_plain_ed25519() {
    // Independent check of the tlog-cosignature message layout with ed25519-dalek alone.
    use ed25519_dalek::Verifier as _;
    let cos =
        urne_tlog::cosignature::CosignatureSigner::from_seed("witness.example.com/w1", [9; 32])
            .expect("key");
    let cp = Checkpoint {
        origin: "example.com/behind-the-sofa".into(),
        size: 20_852_163,
        root: Hash::from_base64("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=").expect("b64"),
        extensions: vec![],
    };
    let sig = cos.sign(&cp, 1_679_315_147).expect("sign");
    assert_eq!(&sig.signature[..8], &1_679_315_147u64.to_be_bytes());
    let message = "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&cos.verifier().public_key()).expect("vk");
    let s = ed25519_dalek::Signature::from_slice(&sig.signature[8..]).expect("sig");
    assert!(vk.verify(message.as_bytes(), &s).is_ok());
    let checked = cos
        .verifier()
        .verify(&cp.body(), &sig)
        .expect("ours verifies");
    assert_eq!(checked.timestamp(), 1_679_315_147);
}

#[test]
fn hashmap_source_is_what_tlog_tiles_reads() {
    // Their TileHashReader asks a TileReader for C2SP tiles; feed it ours.
    struct Reader<'a>(&'a HashMap<TileId, Vec<u8>>);
    impl tlog_tiles::TileReader for Reader<'_> {
        fn height(&self) -> u8 {
            8
        }
        fn read_tiles(
            &self,
            tiles: &[tlog_tiles::Tile],
        ) -> Result<Vec<Vec<u8>>, tlog_tiles::Error> {
            tiles
                .iter()
                .map(|t| {
                    let id = TileId::parse(&t.path().replacen("tile/8/", "tile/", 1))
                        .map_err(|_| tlog_tiles::Error::InvalidTile)?;
                    self.0
                        .get(&id)
                        .cloned()
                        .ok_or(tlog_tiles::Error::InvalidTile)
                })
                .collect()
        }
        fn save_tiles(&self, _: &[tlog_tiles::Tile], _: &[Vec<u8>]) {}
    }
    let n = 70_000;
    let log = common::build(n);
    let reader = Reader(&log.tiles);
    let thr = tlog_tiles::TileHashReader::new(n, theirs(log.edge.root()), &reader);
    for i in [0, 255, 256, 65_535, 65_536, 69_999] {
        let p = tlog_tiles::prove_record(n, i, &thr).expect("their proof from our tiles");
        assert_eq!(
            p.iter().map(|h| ours(*h)).collect::<Vec<_>>(),
            inclusion_proof(i, n, &log.tiles).expect("ours")
        );
    }
}
