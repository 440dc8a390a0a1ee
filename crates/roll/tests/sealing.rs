//! Field sealing, key wrapping, blind indexes and the sealed-record encoding.
mod common;

use expect_test::expect;
use urne_roll::crypto::{self, IndexPurpose, SealedField};
use urne_roll::synth::Synth;
use urne_roll::*;

fn keys() -> (MasterKey, DataKey, IndexKeys) {
    let master = MasterKey::from_bytes([7u8; 32]);
    let data = DataKey::generate(&mut common::rng(1));
    let idx = IndexKeys::derive(&master);
    (master, data, idx)
}

fn hex_lines(b: &[u8]) -> String {
    b.chunks(32)
        .map(|c| c.iter().map(|x| format!("{x:02x}")).collect::<String>() + "\n")
        .collect()
}

#[test]
fn seal_open_round_trip() {
    let (_, data, idx) = keys();
    let rec = common::sample();
    let (sealed, _) = seal_record(&rec, &data.cipher(), &idx, &mut common::rng(2)).unwrap();
    let decoded = SealedRecord::decode(&sealed.encode()).unwrap();
    assert_eq!(decoded, sealed);
    assert_eq!(decoded.open(&data.cipher()).unwrap(), rec);
}

#[test]
fn sealed_record_golden_bytes() {
    let (_, data, idx) = keys();
    let mut rec = common::sample();
    // Keep the golden short: no mailing address, districts or history.
    rec.mailing = None;
    rec.districts.clear();
    rec.history.clear();
    rec.sensitive.email = None;
    rec.sensitive.phone = None;
    let (sealed, ix) = seal_record(&rec, &data.cipher(), &idx, &mut common::rng(3)).unwrap();
    expect![[r#"
        55525352010000000a5630303030303030343200000003416e6101000000054c
        756973610000000a4465204c61204372757a000000000b313233204d61696e20
        5374010000000541707420340000000b537072696e676669656c640000000243
        4100000005393530313401000000043132333400010000000344454d0007d80a
        0100000005503031303100000000000000026573000000000000002d01f968aa
        f13304b1e5b8e32627ae97d165ad370abed4c4df77f2732b5ff1ee44899927b7
        f81f74d5c85483fe98010000003101ff333f9fda91d09ca6db37da20b7b70787
        5d4c5da259340d8fe4818371c9dc58c61803920e231ebbd59d0c297ad006c901
        0000002d0180ceb0a4bd8e46afdc45a2165ed7eaf73d2956d23f12edc0047e97
        0914b935943d53448465e7789b5007a0d00000
    "#]]
    .assert_eq(&hex_lines(&sealed.encode()));
    // Cross-checked against an independent computation with Python's `hmac`/`hashlib`:
    // HKDF-SHA256(salt "urne-roll/v1", ikm = [7; 32], info "blind-index/<purpose>"), then
    // HMAC-SHA256 over u64be(len) || part for each normalized part, first 8 bytes.
    let show = |b: Option<BlindIndex>| b.map(|b| hex_lines(&b.0)).unwrap_or_default();
    expect![[r#"
        registered 2fcfad4b2c1f13c9
        dl dc580d8fdb37d127
        ssn4 a153772e18995538
    "#]]
    .assert_eq(&format!(
        "registered {}dl {}ssn4 {}",
        show(Some(ix.registered)),
        show(ix.dl_number),
        show(ix.ssn4_dob)
    ));
}

/// Every spelling of a date people and systems use.
fn date_spellings(d: Date) -> Vec<Vec<u8>> {
    let (y, m, dd) = (d.year(), d.month(), d.day());
    let texts = [
        format!("{y:04}-{m:02}-{dd:02}"),
        format!("{y:04}{m:02}{dd:02}"),
        format!("{y:04}/{m:02}/{dd:02}"),
        format!("{m:02}/{dd:02}/{y:04}"),
        format!("{m}/{dd}/{y}"),
        format!("{m:02}-{dd:02}-{y:04}"),
        format!("{m:02}{dd:02}{y:04}"),
        format!("{dd:02}{m:02}{y:04}"),
        format!("{dd:02}.{m:02}.{y:04}"),
        format!("{m:02}/{dd:02}/{:02}", y % 100),
    ];
    let mut out: Vec<Vec<u8>> = texts.into_iter().map(String::into_bytes).collect();
    let yb = y.to_be_bytes();
    out.push(vec![yb[0], yb[1], m, dd]);
    out.push(vec![yb[1], yb[0], m, dd]);
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    // Text needles match in any letter case; binary ones exactly.
    if needle.iter().all(u8::is_ascii_graphic) {
        hay.windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
    } else {
        hay.windows(needle.len()).any(|w| w == needle)
    }
}

fn secrets(rec: &VoterRecord) -> Vec<(String, Vec<u8>)> {
    let s = &rec.sensitive;
    let mut out: Vec<(String, Vec<u8>)> = date_spellings(s.dob)
        .into_iter()
        .map(|b| ("dob".to_owned(), b))
        .collect();
    if let Some(dl) = &s.dl_number {
        out.push(("dl".into(), dl.clone().into_bytes()));
    }
    if let Some(p) = &s.phone {
        out.push(("phone".into(), p.clone().into_bytes()));
        out.push((
            "phone".into(),
            format!("{}-{}-{}", &p[..3], &p[3..6], &p[6..]).into_bytes(),
        ));
        out.push((
            "phone".into(),
            format!("({}) {}-{}", &p[..3], &p[3..6], &p[6..]).into_bytes(),
        ));
    }
    if let Some(e) = &s.email {
        out.push(("email".into(), e.clone().into_bytes()));
    }
    out
}

#[test]
fn stored_bytes_hold_no_plaintext_dob_or_id() {
    let (master, data, idx) = keys();
    let mut rng = common::rng(4);
    let wrapped = master.wrap(&data, "ca-test", &mut rng);
    // The sample, whose SSN4 digits appear in no public field.
    let rec = common::sample();
    let (sealed, ix) = seal_record(&rec, &data.cipher(), &idx, &mut rng).unwrap();
    let mut stored = sealed.encode();
    stored.extend_from_slice(&ix.registered.0);
    stored.extend_from_slice(wrapped.as_bytes());
    let mut found = Vec::new();
    let mut all = secrets(&rec);
    all.push(("ssn4".into(), b"6789".to_vec()));
    for (what, needle) in &all {
        if contains(&stored, needle) {
            found.push(what.clone());
        }
    }
    assert_eq!(found, Vec::<String>::new());

    // A thousand synthetic voters stored together, as a table would hold them. Each row must
    // hold none of its own secrets in any spelling; the table as a whole must hold no DL number
    // or phone of anyone. (A whole-table scan for dates would find other voters'
    // registration dates, which are public fields, and prove nothing.)
    let mut synth = Synth::new(9, common::date(2026, 11, 24), "CA");
    let recs: Vec<_> = (0..1000).map(|_| synth.record()).collect();
    let mut table = Vec::new();
    for r in &recs {
        let (s, _) = seal_record(r, &data.cipher(), &idx, &mut rng).unwrap();
        let row = s.encode();
        for (what, needle) in secrets(r) {
            assert!(
                !contains(&row, &needle),
                "{what} of {} found in its row",
                r.voter_id
            );
        }
        table.extend_from_slice(&row);
    }
    // Every fixed-length window of the whole table, upper-cased, against every DL and phone.
    let windows = |n: usize| -> std::collections::HashSet<Vec<u8>> {
        table.windows(n).map(<[u8]>::to_ascii_uppercase).collect()
    };
    let (w8, w10) = (windows(8), windows(10));
    for r in &recs {
        if let Some(dl) = &r.sensitive.dl_number {
            assert!(
                !w8.contains(dl.as_bytes()),
                "dl of {} found in the table",
                r.voter_id
            );
        }
        if let Some(p) = &r.sensitive.phone {
            assert!(
                !w10.contains(p.as_bytes()),
                "phone of {} found in the table",
                r.voter_id
            );
        }
    }
}

#[test]
fn ciphertexts_cannot_move_between_records_or_fields() {
    let (_, data, idx) = keys();
    let cipher = data.cipher();
    let mut rng = common::rng(5);
    let a = common::sample();
    let mut b = common::sample();
    b.voter_id = "V000000043".into();
    let (sa, _) = seal_record(&a, &cipher, &idx, &mut rng).unwrap();
    let (mut sb, _) = seal_record(&b, &cipher, &idx, &mut rng).unwrap();
    let original = sb.clone();
    sb.dob = sa.dob.clone();
    assert_eq!(sb.open(&cipher), Err(CryptoError::Auth));
    let mut sb = original.clone();
    sb.ssn4 = sb.dl_number.clone();
    assert_eq!(sb.open(&cipher), Err(CryptoError::Auth));
    let mut sb = original.clone();
    sb.clear.voter_id = "V000000042".into();
    assert_eq!(sb.open(&cipher), Err(CryptoError::Auth));
    let mut sb = original;
    let last = sb.dob.len() - 1;
    sb.dob[last] ^= 1;
    assert_eq!(sb.open(&cipher), Err(CryptoError::Auth));
    // Raw field API: sealed for one field, opened as another.
    let s = cipher.seal("V1", SealedField::Phone, b"4155550123", &mut rng);
    assert!(cipher.open("V1", SealedField::Phone, &s).is_ok());
    assert_eq!(
        cipher.open("V1", SealedField::Email, &s).unwrap_err(),
        CryptoError::Auth
    );
    assert_eq!(
        cipher.open("V2", SealedField::Phone, &s).unwrap_err(),
        CryptoError::Auth
    );
}

#[test]
fn fresh_nonce_per_field() {
    let (_, data, idx) = keys();
    let mut rng = common::rng(6);
    let rec = common::sample();
    let (a, _) = seal_record(&rec, &data.cipher(), &idx, &mut rng).unwrap();
    let (b, _) = seal_record(&rec, &data.cipher(), &idx, &mut rng).unwrap();
    assert_ne!(a.dob, b.dob);
    assert_ne!(a.dob[1..25], a.ssn4.as_ref().unwrap()[1..25]);
}

#[test]
fn key_wrapping() {
    let (master, data, _) = keys();
    let mut rng = common::rng(7);
    let w = master.wrap(&data, "ca-test", &mut rng);
    assert_eq!(w.as_bytes().len(), 1 + 24 + 32 + 16);
    let back = WrappedKey::from_bytes(w.as_bytes()).unwrap();
    let k = master.unwrap(&back, "ca-test").unwrap();
    // Same key: what one seals the other opens.
    let s = data.cipher().seal("V1", SealedField::Dob, b"x", &mut rng);
    assert!(k.cipher().open("V1", SealedField::Dob, &s).is_ok());
    assert_eq!(master.unwrap(&w, "ny-test").unwrap_err(), CryptoError::Auth);
    let other = MasterKey::from_bytes([8u8; 32]);
    assert_eq!(other.unwrap(&w, "ca-test").unwrap_err(), CryptoError::Auth);
    let mut bad = w.as_bytes().to_vec();
    bad[30] ^= 0x80;
    let bad = WrappedKey::from_bytes(&bad).unwrap();
    assert_eq!(
        master.unwrap(&bad, "ca-test").unwrap_err(),
        CryptoError::Auth
    );
    assert_eq!(
        WrappedKey::from_bytes(&[1, 2, 3]),
        Err(CryptoError::Malformed)
    );
}

#[test]
fn secrets_are_redacted_in_debug() {
    let (master, data, idx) = keys();
    let shown = format!("{master:?} {data:?} {idx:?} {:?}", data.cipher());
    expect![[r#"MasterKey(<redacted>) DataKey(<redacted>) IndexKeys { registered: IndexKey(registered, <redacted>), dl_number: IndexKey(dl_number, <redacted>), ssn4_dob: IndexKey(ssn4_dob, <redacted>) }"#]]
    .assert_eq(&shown.replace(" FieldCipher(<redacted>)", ""));
    assert!(shown.ends_with("FieldCipher(<redacted>)"));
}

#[test]
fn blind_indexes_normalize_and_separate() {
    let (master, _, idx) = keys();
    let dob = common::date(1987, 3, 9);
    let r = |last, first, zip| crypto::registered_index(&idx.registered, last, first, dob, zip);
    let base = r("O'Brien-Smith", "José", "95014").unwrap();
    assert_eq!(r("obrien smith", "JOSÉ", "95014-1234"), Some(base));
    assert_eq!(r("  OBRIEN SMITH ", "josé", "95014"), Some(base));
    assert_eq!(
        r("obrien smith", "jose", "95014"),
        Some(base),
        "accents are dropped"
    );
    // "José" with a combining acute accent (NFD), as some keyboards send it.
    assert_eq!(r("obrien smith", "Jose\u{301}", "95014"), Some(base));
    assert_eq!(
        r("ＯＢＲＩＥＮ smith", "jose", "95014"),
        Some(base),
        "full-width letters (NFKD)"
    );
    assert_ne!(r("obrien smith", "josé", "95015"), Some(base));
    assert_eq!(r("", "josé", "95014"), None);
    assert_eq!(r("x", "y", "950"), None);
    let other_dob = crypto::registered_index(
        &idx.registered,
        "obriensmith",
        "josé",
        common::date(1987, 3, 10),
        "95014",
    );
    assert_ne!(other_dob, Some(base));
    // Indexes depend on the key and the purpose.
    let other = IndexKeys::derive(&MasterKey::from_bytes([9u8; 32]));
    assert_ne!(
        crypto::registered_index(&other.registered, "obriensmith", "josé", dob, "95014"),
        Some(base)
    );
    assert_eq!(
        crypto::dl_index(&idx.dl_number, "d123-4567"),
        crypto::dl_index(&idx.dl_number, "D1234567")
    );
    assert_eq!(
        crypto::dl_index(&idx.registered, "D1234567"),
        None,
        "wrong purpose refused"
    );
    assert_eq!(idx.ssn4_dob.purpose(), IndexPurpose::Ssn4Dob);
    assert!(crypto::ssn4_index(&idx.ssn4_dob, "6789", dob).is_some());
    assert_eq!(crypto::ssn4_index(&idx.ssn4_dob, "67890", dob), None);
    assert_ne!(
        crypto::ssn4_index(&idx.ssn4_dob, "6789", dob).map(|b| b.0),
        crypto::dl_index(&idx.dl_number, "6789").map(|b| b.0)
    );
    drop(master);
}

#[test]
fn decode_refuses_bad_bytes() {
    let (_, data, idx) = keys();
    let (sealed, _) =
        seal_record(&common::sample(), &data.cipher(), &idx, &mut common::rng(8)).unwrap();
    let bytes = sealed.encode();
    for n in 0..bytes.len() {
        assert!(
            SealedRecord::decode(&bytes[..n]).is_err(),
            "prefix {n} decoded"
        );
    }
    let mut long = bytes.clone();
    long.push(0);
    expect!["1 trailing bytes"].assert_eq(&SealedRecord::decode(&long).unwrap_err().to_string());
    let mut magic = bytes.clone();
    magic[0] = b'X';
    expect!["not a sealed record (bad magic or version)"]
        .assert_eq(&SealedRecord::decode(&magic).unwrap_err().to_string());
}

proptest::proptest! {
    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
        let _ = SealedRecord::decode(&bytes);
        let mut with_header = b"URSR\x01".to_vec();
        with_header.extend_from_slice(&bytes);
        let _ = SealedRecord::decode(&with_header);
    }

    #[test]
    fn synth_records_round_trip(seed in 0u64..1_000) {
        let (_, data, idx) = keys();
        let mut s = Synth::new(seed, common::date(2026, 11, 24), "CA");
        let rec = s.record();
        let (sealed, _) = seal_record(&rec, &data.cipher(), &idx, &mut common::rng(seed)).unwrap();
        let back = SealedRecord::decode(&sealed.encode()).unwrap().open(&data.cipher()).unwrap();
        proptest::prop_assert_eq!(back, rec);
    }

    /// Arbitrary text in every free-text field either fails validation with a named field or
    /// seals and opens back unchanged; nothing panics.
    #[test]
    fn arbitrary_text_validates_or_round_trips(
        first in "\\PC{0,70}", last in "\\PC{0,70}", line1 in "\\PC{0,110}",
        city in "\\PC{0,70}", dl in "[A-Za-z0-9 -]{0,40}",
    ) {
        let (_, data, idx) = keys();
        let mut rec = common::sample();
        rec.name.first = first;
        rec.name.last = last;
        rec.residence.line1 = line1;
        rec.residence.city = city;
        rec.sensitive.dl_number = Some(dl);
        match seal_record(&rec, &data.cipher(), &idx, &mut common::rng(1)) {
            Err(e) => proptest::prop_assert!(!e.to_string().is_empty()),
            Ok((sealed, _)) => {
                let back = SealedRecord::decode(&sealed.encode()).unwrap().open(&data.cipher()).unwrap();
                proptest::prop_assert_eq!(back, rec);
            }
        }
    }
}
