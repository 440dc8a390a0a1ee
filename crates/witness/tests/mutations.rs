//! No panics on any input, and no cosignature for anything but the honest checkpoint: a valid
//! request body is mutated (byte flips, truncations, insertions) thousands of times with a
//! fixed-seed generator, and each mutant is submitted to a fresh witness that cosigned size 3.

mod common;

use std::sync::Arc;

use urne_witness::{AddCheckpoint, MemoryState};

use common::TestLog;

const MUTANTS: usize = 3000;

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n as u64) as usize
    }
}

#[tokio::test]
async fn mutated_requests_never_panic_nor_cosign_anything_else() {
    let mut log = TestLog::new();
    log.grow("a", 3);
    let first = log.body(0);
    log.grow("a", 2);
    let honest = log.body(3).into_bytes();
    let mut rng = Rng(0x5eed);
    let mut counts = std::collections::BTreeMap::new();
    for _ in 0..MUTANTS {
        let mut body = honest.clone();
        for _ in 0..1 + rng.below(3) {
            match rng.below(3) {
                0 => {
                    let i = rng.below(body.len());
                    body[i] ^= 1 << rng.below(8);
                }
                1 => body.truncate(rng.below(body.len() + 1)),
                _ => {
                    let i = rng.below(body.len() + 1);
                    body.insert(i, b"\n 0a=+\xe2"[rng.below(7)]);
                }
            }
            if body.is_empty() {
                break;
            }
        }
        let (witness, _clock) = common::witness(Arc::new(MemoryState::new()));
        witness
            .add_checkpoint(first.as_bytes())
            .await
            .expect("first checkpoint");
        let status = match witness.add_checkpoint(&body).await {
            Ok(_) => {
                let parsed = AddCheckpoint::parse(&body).expect("a cosigned body parses");
                assert_eq!(parsed.checkpoint, log.checkpoint(), "cosigned a mutant");
                200
            }
            Err(e) => e.status().as_u16(),
        };
        *counts.entry(status).or_insert(0) += 1;
    }
    // Only the spec's codes, and every class of refusal is reached (a 200 could only come from
    // a mutant that still means the honest request; this seed has none).
    let statuses: Vec<u16> = counts.keys().copied().collect();
    assert_eq!(statuses, [400, 403, 404, 409, 422], "{counts:?}");
}
