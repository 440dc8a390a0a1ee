//! Measures sealing + blind indexing + encoding per record on synthetic voters.
//!
//! `cargo run --release -p urne-roll --example seal_throughput -- 200000`

use std::time::Instant;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use urne_roll::digest::{RootBuilder, record_commitment};
use urne_roll::synth::Synth;
use urne_roll::{DataKey, Date, IndexKeys, MasterKey, SealedRecord, seal_record};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let as_of = Date::new(2026, 11, 24).unwrap_or(Date::EPOCH);
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let master = MasterKey::generate(&mut rng);
    let data = DataKey::generate(&mut rng);
    let (cipher, keys) = (data.cipher(), IndexKeys::derive(&master));

    let t = Instant::now();
    let mut synth = Synth::new(7, as_of, "CA");
    let records: Vec<_> = (0..n).map(|_| synth.record()).collect();
    let generated = t.elapsed();

    let t = Instant::now();
    let mut bytes = 0usize;
    let mut stored = Vec::with_capacity(n);
    for r in &records {
        let (sealed, _ix) =
            seal_record(r, &cipher, &keys, &mut rng).unwrap_or_else(|e| panic!("{e}"));
        let enc = sealed.encode();
        bytes += enc.len();
        stored.push(enc);
    }
    let sealed = t.elapsed();

    let t = Instant::now();
    for s in &stored {
        let rec = SealedRecord::decode(s).map(|r| r.open(&cipher));
        assert!(matches!(rec, Ok(Ok(_))));
    }
    let opened = t.elapsed();

    let t = Instant::now();
    let mut commitments: Vec<_> = stored.iter().map(|s| record_commitment(s)).collect();
    commitments.sort_unstable();
    let mut b = RootBuilder::default();
    for c in commitments {
        b.push(c).unwrap_or_else(|e| panic!("{e}"));
    }
    let _ = b.finish();
    let rooted = t.elapsed();

    let t = Instant::now();
    for r in &records {
        let s = &r.sensitive;
        let _ = urne_roll::crypto::registered_index(
            &keys.registered,
            &r.name.last,
            &r.name.first,
            s.dob,
            &r.residence.zip,
        );
    }
    let indexed = t.elapsed();
    let t = Instant::now();
    for r in &records {
        let _ = cipher.seal(
            &r.voter_id,
            urne_roll::crypto::SealedField::Dob,
            b"1234",
            &mut rng,
        );
    }
    let one_field = t.elapsed();

    let per_s = |d: std::time::Duration| n as f64 / d.as_secs_f64();
    println!("records            {n}");
    println!("generate           {:>10.0} records/s", per_s(generated));
    println!(
        "seal+index+encode  {:>10.0} records/s ({:.2} µs each)",
        per_s(sealed),
        sealed.as_secs_f64() * 1e6 / n as f64
    );
    println!("decode+open        {:>10.0} records/s", per_s(opened));
    println!("commit+root        {:>10.0} records/s", per_s(rooted));
    println!(
        "stored bytes       {:>10.0} per record",
        bytes as f64 / n as f64
    );
    println!(
        "one blind index    {:>10.2} µs",
        indexed.as_secs_f64() * 1e6 / n as f64
    );
    println!(
        "one sealed field   {:>10.2} µs",
        one_field.as_secs_f64() * 1e6 / n as f64
    );
}
