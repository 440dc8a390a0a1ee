//! The pure sequencing step: errors change nothing, outputs are complete.

mod common;

use expect_test::expect;
use urne_tlog::edge::EdgeError;
use urne_tlog::{BundleId, ENTRY_BYTES_MAX, Edge, TileId, TreeBuilder, empty_root};

#[test]
fn empty_edge() {
    let e = Edge::empty();
    assert_eq!((e.size(), e.root()), (0, empty_root()));
    assert_eq!(Edge::needed(0), (vec![], None));
    assert_eq!(
        Edge::from_tiles(0, &std::collections::HashMap::new(), None),
        Ok(Edge::empty())
    );
    let (next, seq) = e.append::<&[u8]>(&[]).expect("empty batch");
    assert_eq!(next, e);
    assert!(seq.tiles.is_empty() && seq.bundles.is_empty());
}

#[test]
fn oversized_entry_changes_nothing() {
    let (edge, _) = Edge::empty().append(&[b"a".to_vec()]).expect("append");
    let batch = vec![
        vec![0u8; 10],
        vec![0u8; ENTRY_BYTES_MAX],
        vec![0u8; ENTRY_BYTES_MAX + 1],
    ];
    let err = edge.append(&batch).expect_err("too long");
    assert_eq!(
        err,
        EdgeError::EntryTooLong {
            index: 2,
            len: ENTRY_BYTES_MAX + 1
        }
    );
    assert_eq!(edge.size(), 1);
    let mut builder = TreeBuilder::from_edge(edge.clone());
    assert!(builder.push_entries(&batch).is_err());
    assert_eq!(builder.edge(), &edge);
}

#[test]
fn batch_output_lists_each_tile_once() {
    // 255 entries, then 2: the level 0 tile fills, a bundle fills, level 1 starts.
    let (edge, first) = Edge::empty()
        .append(&(0..255).map(common::entry).collect::<Vec<_>>())
        .expect("a");
    let (_, second) = edge
        .append(&[common::entry(255), common::entry(256)])
        .expect("b");
    let show = |s: &urne_tlog::Sequenced| {
        let mut out = format!("size {} root {}\n", s.size, s.root);
        for (id, bytes) in &s.tiles {
            out.push_str(&format!("  {} {} bytes\n", id, bytes.len()));
        }
        for (id, bytes) in &s.bundles {
            out.push_str(&format!("  {} {} bytes\n", id, bytes.len()));
        }
        out
    };
    expect![[r#"
        size 255 root d71592a219d4067663eede247f9b54c3f9e0290682d55de09b495b07f1de41c9
          tile/0/000.p/255 8160 bytes
          tile/entries/000.p/255 2440 bytes
        size 257 root 855b936aa00cb98b5114484249ad39d78a6be93623e26c01e8e487dc02184a5a
          tile/0/000 8192 bytes
          tile/0/001.p/1 32 bytes
          tile/1/000.p/1 32 bytes
          tile/entries/000 2450 bytes
          tile/entries/001.p/1 10 bytes
    "#]]
    .assert_eq(&(show(&first) + &show(&second)));
}

#[test]
fn from_tiles_rejects_bad_storage() {
    let log = common::build(300);
    let (tiles, bundle) = Edge::needed(300);
    let bundle = bundle.expect("partial bundle");
    let bytes = log.bundles[&bundle].clone();
    assert_eq!(
        Edge::from_tiles(300, &log.tiles, Some(&bytes))
            .as_ref()
            .map(Edge::root),
        Ok(log.edge.root())
    );

    assert_eq!(
        Edge::from_tiles(300, &log.tiles, None),
        Err(EdgeError::MissingBundle(bundle))
    );

    let mut short = log.tiles.clone();
    let id = tiles[0];
    short.insert(id, vec![0; id.byte_len() - 1]);
    assert!(matches!(
        Edge::from_tiles(300, &short, Some(&bytes)),
        Err(EdgeError::Tile(_))
    ));

    let mut missing = log.tiles.clone();
    missing.remove(&TileId {
        level: 1,
        index: 0,
        width: 1,
    });
    assert!(matches!(
        Edge::from_tiles(300, &missing, Some(&bytes)),
        Err(EdgeError::Tile(_))
    ));

    // A bundle whose entries do not hash to the level 0 tile.
    let mut other = bytes.clone();
    let last = other.len() - 1;
    other[last] ^= 1;
    assert_eq!(
        Edge::from_tiles(300, &log.tiles, Some(&other)),
        Err(EdgeError::BundleMismatch { index: 299 })
    );

    let mut b = TreeBuilder::new();
    let wrong = BundleId {
        index: 1,
        width: 256,
    };
    assert!(matches!(
        b.push_bundle(wrong, &bytes),
        Err(EdgeError::BundleOutOfOrder { .. })
    ));
}
