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
