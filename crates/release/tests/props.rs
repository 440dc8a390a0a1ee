//! Property tests: encode/parse round trips, and parsers never panic and
//! accept only canonical bytes.

use proptest::prelude::*;
use urne_release::manifest::{Correction, ElectionId, MediaType};
use urne_release::{Kind, Manifest, PayloadRef, Status, TrustPolicy};
use urne_tlog::cosignature::CosignatureSigner;
use urne_tlog::note::Ed25519Signer;

fn arb_manifest() -> impl Strategy<Value = Manifest> {
    (
        prop::sample::select(Kind::ALL.to_vec()),
        "[a-z0-9][a-z0-9._-]{0,63}",
        any::<u64>(),
        any::<[u8; 32]>(),
        any::<u64>(),
        prop::sample::select(Status::ALL.to_vec()),
        prop::option::of("[^\\p{Cc}\\s][^\\p{Cc}\u{2028}\u{2029}]{0,60}[^\\p{Cc}\\s]"),
        (any::<[u8; 32]>(), any::<u64>()),
        "[a-z0-9]{1,10}/[a-z0-9][a-z0-9.+-]{0,20}(;[a-z]{1,8}=[a-z0-9][a-z0-9-]{0,7})?",
    )
        .prop_map(
            |(
                kind,
                election,
                sequence,
                previous,
                timestamp,
                status,
                correction,
                (sha, size),
                media,
            )| {
                Manifest {
                    kind,
                    election: (kind != Kind::TrustPolicy)
                        .then(|| ElectionId::new(&election).unwrap()),
                    sequence,
                    previous: (sequence != 0).then_some(previous),
                    timestamp,
                    status,
                    correction: correction.map(|c| Correction::new(&c).unwrap()),
                    payload: PayloadRef {
                        sha256: sha,
                        size,
                        media_type: MediaType::new(&media).unwrap(),
                    },
                }
            },
        )
}

proptest! {
    #[test]
    fn manifest_round_trip(m in arb_manifest()) {
        let text = m.encode().unwrap();
        let parsed = Manifest::parse(text.as_bytes()).unwrap();
        prop_assert_eq!(&parsed, &m);
        prop_assert_eq!(parsed.encode().unwrap(), text);
    }

    /// Any edit of a valid manifest either fails to parse or is canonical.
    #[test]
    fn manifest_edits_stay_canonical(m in arb_manifest(), at in any::<prop::sample::Index>(), byte in any::<u8>(), delete in any::<bool>()) {
        let mut bytes = m.encode().unwrap().into_bytes();
        let i = at.index(bytes.len());
        if delete { bytes.remove(i); } else { bytes.insert(i, byte); }
        if let Ok(parsed) = Manifest::parse(&bytes) {
            prop_assert_eq!(parsed.encode().unwrap().into_bytes(), bytes);
        }
    }

    #[test]
    fn manifest_parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = Manifest::parse(&bytes);
    }

    #[test]
    fn policy_round_trip(
        seeds in prop::collection::btree_set(any::<u8>(), 1..6),
        k in any::<prop::sample::Index>(),
        witnesses in prop::collection::btree_set(any::<u8>(), 0..4),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let officials: Vec<_> = seeds
            .iter()
            .map(|s| Ed25519Signer::from_seed(&format!("official-{s}"), [*s; 32]).unwrap().verifier())
            .collect();
        let k = k.index(officials.len()) + 1;
        let mut wp = String::new();
        for w in &witnesses {
            let v = CosignatureSigner::from_seed(&format!("w{w}.example"), [*w; 32]).unwrap();
            wp.push_str(&format!("witness w{w} {}\n", v.verifier().vkey()));
        }
        if witnesses.is_empty() {
            wp.push_str("quorum none\n");
        } else {
            let names: Vec<String> = witnesses.iter().map(|w| format!("w{w}")).collect();
            wp.push_str(&format!("group g {} {}\nquorum g\n", names.len(), names.join(" ")));
        }
        let p = TrustPolicy::new(officials, k, &wp).unwrap();
        let text = p.encode();
        let parsed = TrustPolicy::parse(text.as_bytes()).unwrap();
        prop_assert_eq!(&parsed, &p);
        prop_assert_eq!(parsed.encode(), text.clone());
        // One inserted byte: refused or still canonical.
        let mut bytes = text.into_bytes();
        let i = at.index(bytes.len());
        bytes.insert(i, byte);
        if let Ok(q) = TrustPolicy::parse(&bytes) {
            prop_assert_eq!(q.encode().into_bytes(), bytes);
        }
    }
}

mod common;

/// One submission: a release (or, rarely, a rotation) and maybe one fault.
#[derive(Debug, Clone)]
struct Step {
    kind: Kind,
    status: Status,
    signers: Vec<&'static str>,
    total: u8,
    fault: u8,
    rotate: bool,
}

fn arb_step() -> impl Strategy<Value = Step> {
    (
        prop::sample::select(vec![Kind::Results, Kind::Page, Kind::Cvr]),
        prop::sample::select(Status::ALL.to_vec()),
        prop::sample::subsequence(vec!["alice", "bob", "carol", "dave"], 1..4),
        any::<u8>(),
        0u8..10,
        prop::bool::weighted(0.1),
    )
        .prop_map(|(kind, status, signers, total, fault, rotate)| Step {
            kind,
            status,
            signers,
            total,
            fault,
            rotate,
        })
}

proptest! {
    /// Whatever the server accepts, in the order it accepted it, the
    /// verifier accepts too and reaches the same state.
    #[test]
    fn verifier_agrees_with_acceptance(steps in prop::collection::vec(arb_step(), 1..25)) {
        use common::*;
        use urne_release::{DangerSkipDecreaseCheck, LogState, Payload, check_release, verify_entries};
        let mut state = LogState::new();
        let mut log: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let genesis = policy(&["alice", "bob", "carol"], 2).encode().into_bytes();
        let text = genesis.clone();
        let m = next(&state, Kind::TrustPolicy, Status::Official, &text);
        let entry = sign(&m, &["alice", "bob", "carol"]);
        state = check_release(&state, &entry, Payload::Bytes(&text), &DangerSkipDecreaseCheck)
            .unwrap()
            .into_parts()
            .1;
        log.push((entry, text));
        for step in steps {
            let (kind, status, payload) = match step.rotate {
                true => {
                    let p = policy(&["bob", "carol", "dave"], 2).encode().into_bytes();
                    (Kind::TrustPolicy, Status::Official, p)
                }
                false => (step.kind, step.status, format!("total {}", step.total).into_bytes()),
            };
            let mut m = next(&state, kind, status, &payload);
            let mut signers = step.signers.clone();
            match step.fault {
                0 => {
                    m.sequence += 1;
                    m.previous = Some([1; 32]);
                }
                1 => m.timestamp -= 61,
                2 => signers.push("mallory"),
                _ => {}
            }
            let entry = sign(&m, &signers);
            let payload_ref = Payload::Bytes(&payload);
            if let Ok(a) = check_release(&state, &entry, payload_ref, &DangerSkipDecreaseCheck) {
                state = a.into_parts().1;
                log.push((entry, payload));
            }
        }
        let entries = log.iter().map(|(e, p)| (e.as_slice(), Payload::Bytes(p)));
        let history = verify_entries(entries, &DangerSkipDecreaseCheck).unwrap();
        prop_assert_eq!(history.state(), &state);
        prop_assert_eq!(history.releases().len(), log.len());
    }
}
