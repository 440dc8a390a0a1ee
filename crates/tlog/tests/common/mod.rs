//! Shared test helpers: build a log of `n` entries with our sequencer.
#![allow(dead_code)]

use std::collections::HashMap;

use urne_tlog::{BundleId, Edge, Hash, TileId, leaf_hash};

/// The test entry at `i`.
pub fn entry(i: u64) -> Vec<u8> {
    format!("leaf {i}").into_bytes()
}

/// A log of `n` entries sequenced in one batch.
pub struct Log {
    pub edge: Edge,
    pub tiles: HashMap<TileId, Vec<u8>>,
    pub bundles: HashMap<BundleId, Vec<u8>>,
    pub leaves: Vec<Hash>,
}

/// Sequences entries `0..n` in batches of the given sizes (cycled), keeping
/// every tile and bundle ever written (partial ones too).
pub fn build_in_batches(n: u64, batches: &[u64]) -> Log {
    let mut log = Log {
        edge: Edge::empty(),
        tiles: HashMap::new(),
        bundles: HashMap::new(),
        leaves: Vec::new(),
    };
    let mut i = 0;
    let mut b = 0;
    while i < n {
        let len = batches[b % batches.len()].max(1).min(n - i);
        b += 1;
        let entries: Vec<Vec<u8>> = (i..i + len).map(entry).collect();
        log.leaves.extend(entries.iter().map(|e| leaf_hash(e)));
        let (edge, seq) = log.edge.append(&entries).expect("append");
        log.tiles.extend(seq.tiles);
        log.bundles.extend(seq.bundles);
        log.edge = edge;
        i += len;
    }
    log
}

pub fn build(n: u64) -> Log {
    build_in_batches(n, &[n.max(1)])
}

pub fn hex(h: &str) -> Hash {
    Hash::from_hex(h).expect("hex")
}

pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}
