//! Property tests: proofs round-trip and reject tampering at random sizes
//! (biased to tile boundaries), and sequencing does not depend on batching.

mod common;

use std::collections::HashMap;
use std::sync::OnceLock;

use proptest::prelude::*;
use urne_tlog::{
    BundleId, Edge, Hash, TileId, TreeBuilder, consistency_proof, consistency_tiles,
    inclusion_proof, inclusion_tiles, node_hash, root_from_tiles, verify_consistency,
    verify_inclusion,
};

const LOG_SIZE: u64 = 140_000;

fn big() -> &'static common::Log {
    static LOG: OnceLock<common::Log> = OnceLock::new();
    LOG.get_or_init(|| common::build(LOG_SIZE))
}

/// RFC 6962 §2.1 MTH, written the naive way as an independent reference.
fn reference_root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => urne_tlog::empty_root(),
        1 => leaves[0],
        n => {
            let mut k = 1;
            while k * 2 < n {
                k *= 2;
            }
            node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
        }
    }
}

fn size() -> impl Strategy<Value = u64> {
    prop_oneof![
        1..=LOG_SIZE,
        prop::sample::select(vec![
            1u64, 2, 255, 256, 257, 511, 512, 513, 65_535, 65_536, 65_537, 131_072, LOG_SIZE
        ]),
    ]
}

/// Only the tiles a proof asks for, to check the lists are complete.
fn only(ids: &[TileId], tiles: &HashMap<TileId, Vec<u8>>) -> HashMap<TileId, Vec<u8>> {
    ids.iter()
        .filter_map(|id| {
            let wider = (id.width..=256).find_map(|w| tiles.get(&TileId { width: w, ..*id }))?;
            Some((*id, wider[..id.byte_len()].to_vec()))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn inclusion_round_trips(n in size(), seed in any::<u64>(), flip in any::<(usize, u8)>()) {
        let log = big();
        let index = seed % n;
        let root = root_from_tiles(n, &log.tiles).expect("root");
        prop_assert_eq!(root, reference_root(&log.leaves[..n as usize]));
        let needed = inclusion_tiles(index, n).expect("tiles");
        let proof = inclusion_proof(index, n, &only(&needed, &log.tiles)).expect("proof");
        let leaf = log.leaves[index as usize];
        prop_assert!(verify_inclusion(&leaf, index, n, &proof, &root).is_ok());

        if !proof.is_empty() {
            let mut bad = proof.clone();
            let at = flip.0 % bad.len();
            bad[at].0[(flip.1 % 32) as usize] ^= 1 << (flip.1 % 8);
            prop_assert!(verify_inclusion(&leaf, index, n, &bad, &root).is_err());
            prop_assert!(verify_inclusion(&leaf, index, n, &proof[1..], &root).is_err());
        }
        let mut longer = proof.clone();
        longer.push(leaf);
        prop_assert!(verify_inclusion(&leaf, index, n, &longer, &root).is_err());
        if n > 1 {
            let other = (index + 1) % n;
            prop_assert!(verify_inclusion(&leaf, other, n, &proof, &root).is_err());
        }
    }

    #[test]
    fn consistency_round_trips(a in size(), b in size(), flip in any::<(usize, u8)>()) {
        let log = big();
        let (old, new) = (a.min(b), a.max(b));
        let old_root = reference_root(&log.leaves[..old as usize]);
        let new_root = root_from_tiles(new, &log.tiles).expect("root");
        let needed = consistency_tiles(old, new).expect("tiles");
        let proof = consistency_proof(old, new, &only(&needed, &log.tiles)).expect("proof");
        prop_assert!(verify_consistency(old, new, &proof, &old_root, &new_root).is_ok());
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let at = flip.0 % bad.len();
            bad[at].0[(flip.1 % 32) as usize] ^= 1 << (flip.1 % 8);
            prop_assert!(verify_consistency(old, new, &bad, &old_root, &new_root).is_err());
            prop_assert!(verify_consistency(old, new, &proof[..proof.len() - 1], &old_root, &new_root).is_err());
        }
        if old < new {
            let mut wrong = old_root;
            wrong.0[0] ^= 1;
            prop_assert!(verify_consistency(old, new, &proof, &wrong, &new_root).is_err());
        }
    }

    #[test]
    fn batching_does_not_matter(n in 1u64..3_000, batches in prop::collection::vec(1u64..600, 1..8)) {
        let one = common::build(n);
        let many = common::build_in_batches(n, &batches);
        prop_assert_eq!(&many.edge, &one.edge);
        prop_assert_eq!(many.edge.root(), reference_root(&one.leaves));
        // Every tile of the one-batch log was written with the same bytes, and
        // every extra (intermediate partial) tile is a prefix of a final one.
        for (id, bytes) in &one.tiles {
            prop_assert_eq!(many.tiles.get(id), Some(bytes));
        }
        for (id, bytes) in &many.tiles {
            let wider = (id.width..=256).find_map(|w| one.tiles.get(&TileId { width: w, ..*id }));
            prop_assert!(wider.is_some_and(|w| w.starts_with(bytes)), "{}", id);
        }
        for (id, bytes) in &one.bundles {
            prop_assert_eq!(many.bundles.get(id), Some(bytes));
        }
    }

    #[test]
    fn edge_rebuilds_from_storage(n in size(), extra in 1usize..300) {
        let log = big();
        let (tiles, bundle) = Edge::needed(n);
        let bundle_bytes = bundle.map(|b| {
            let full = BundleId { width: 256, ..b };
            log.bundles.get(&b).or(log.bundles.get(&full)).expect("bundle").clone()
        });
        let edge = Edge::from_tiles(n, &only(&tiles, &log.tiles), bundle_bytes.as_deref()).expect("rebuild");
        prop_assert_eq!(edge.size(), n);
        prop_assert_eq!(edge.root(), reference_root(&log.leaves[..n as usize]));
        // Appending to the rebuilt edge continues the same tree.
        let more: Vec<Vec<u8>> = (n..n + extra as u64).map(common::entry).collect();
        let (next, seq) = edge.append(&more).expect("append");
        let m = (n + extra as u64).min(LOG_SIZE);
        if m == n + extra as u64 {
            prop_assert_eq!(seq.root, reference_root(&log.leaves[..m as usize]));
        }
        prop_assert_eq!(next.size(), n + extra as u64);
    }
}

#[test]
fn verifier_recomputes_every_tile_from_bundles() {
    let log = big();
    let mut builder = TreeBuilder::new();
    let mut seen = 0;
    for index in 0..LOG_SIZE / 256 {
        let id = BundleId { index, width: 256 };
        let seq = builder.push_bundle(id, &log.bundles[&id]).expect("push");
        for (tile, bytes) in &seq.tiles {
            if tile.is_full() {
                assert_eq!(log.tiles.get(tile), Some(bytes), "{tile}");
                seen += 1;
            }
        }
    }
    let last = BundleId {
        index: LOG_SIZE / 256,
        width: (LOG_SIZE % 256) as u16,
    };
    let seq = builder
        .push_bundle(last, &log.bundles[&last])
        .expect("last");
    for (tile, bytes) in &seq.tiles {
        assert_eq!(log.tiles.get(tile), Some(bytes), "{tile}");
    }
    assert_eq!(seq.root, log.edge.root());
    assert_eq!(builder.edge(), &log.edge);
    assert_eq!(seen, log.tiles.keys().filter(|t| t.is_full()).count());

    // Out of order or wrong width is refused and changes nothing.
    let first = BundleId {
        index: 0,
        width: 256,
    };
    assert!(builder.push_bundle(first, &log.bundles[&first]).is_err());
    assert_eq!(builder.edge(), &log.edge);
}
