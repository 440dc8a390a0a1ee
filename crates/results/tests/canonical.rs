//! The canonical encoding, pinned byte for byte. If this test changes, the format changed:
//! bump `canonical::VERSION` and say so in the release notes.

use expect_test::expect;
use urne_results::{
    Choice, Contest, ContestKind, CountType, Election, ElectionKind, Limits, OtherCount, Party,
    ReportStatus, ReportingStatus, Snapshot, Unit, UnitFacts, UnitKind, VoteCount, canonical,
    diff::diff, export_flat_csv, export_summary_csv, validate,
};

fn small() -> Snapshot {
    let unit = |id: &str, kind, children: &[&str], ballots| Unit {
        id: id.to_owned(),
        name: id.to_uppercase(),
        kind,
        children: children.iter().map(|c| (*c).to_owned()).collect(),
        facts: UnitFacts {
            ballots_cast: ballots,
            registered_voters: None,
            reporting: Some(ReportingStatus::Complete),
            ballots_outstanding: None,
        },
    };
    // Counts name units and choices by position in the lists below (units deliberately out
    // of order: `validate` sorts them and the counts follow).
    let at = |list: &[&str], id: &str| list.iter().position(|x| *x == id).unwrap() as u32;
    let vc = |unit: &str, choice: &str, kind, votes| VoteCount {
        unit: at(&["p2", "c", "p1"], unit),
        choice: at(&["ann", "wi"], choice),
        kind,
        round: None,
        votes,
    };
    Snapshot {
        election: Election {
            name: "Test".into(),
            kind: ElectionKind::General,
            start_date: "2024-11-05".into(),
            end_date: "2024-11-05".into(),
            scope_unit: "c".into(),
        },
        status: ReportStatus::UnofficialPartial,
        parties: vec![Party {
            id: "d".into(),
            name: "Dem".into(),
            abbreviation: Some("D".into()),
        }],
        units: vec![
            unit("p2", UnitKind::Precinct, &[], Some(9)),
            unit("c", UnitKind::County, &["p1", "p2"], None),
            unit("p1", UnitKind::Precinct, &[], Some(5)),
        ],
        contests: vec![Contest {
            id: "mayor".into(),
            name: "Mayor".into(),
            kind: ContestKind::Candidate,
            district: "c".into(),
            votes_allowed: Some(1),
            variation: None,
            choices: vec![
                Choice {
                    id: "ann".into(),
                    name: "Ann".into(),
                    party: Some("d".into()),
                    write_in: false,
                },
                Choice {
                    id: "wi".into(),
                    name: "Write-in".into(),
                    party: None,
                    write_in: true,
                },
            ],
            counts: vec![
                vc("p2", "ann", CountType::Total, 7),
                vc("p1", "ann", CountType::Total, 4),
                vc("p1", "ann", CountType::ElectionDay, 3),
                vc("p1", "ann", CountType::AbsenteeMail, 1),
                vc("p1", "wi", CountType::Total, 1),
            ],
            other_counts: vec![OtherCount {
                unit: "p1".into(),
                kind: CountType::Total,
                overvotes: Some(0),
                undervotes: None,
            }],
        }],
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(16) {
        let h: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        let a: String = chunk
            .iter()
            .map(|&b| if b.is_ascii_graphic() { b as char } else { '.' })
            .collect();
        out.push_str(&format!("{:<48} {a}\n", h.join(" ")));
    }
    out
}

#[test]
fn golden_bytes_v1() {
    let mut warnings = Vec::new();
    let s = validate("small", small(), &Limits::DEFAULT, &mut warnings).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    expect![[r#"
        75 72 6e 65 2d 72 65 73 75 6c 74 73 2d 73 6e 61  urne-results-sna
        70 73 68 6f 74 00 00 01 00 00 00 04 54 65 73 74  pshot.......Test
        00 00 00 07 67 65 6e 65 72 61 6c 00 00 00 0a 32  ....general....2
        30 32 34 2d 31 31 2d 30 35 00 00 00 0a 32 30 32  024-11-05....202
        34 2d 31 31 2d 30 35 00 00 00 01 63 00 00 00 12  4-11-05....c....
        75 6e 6f 66 66 69 63 69 61 6c 2d 70 61 72 74 69  unofficial-parti
        61 6c 00 00 00 01 00 00 00 01 64 00 00 00 03 44  al........d....D
        65 6d 01 00 00 00 01 44 00 00 00 03 00 00 00 01  em.....D........
        63 00 00 00 01 43 00 00 00 06 63 6f 75 6e 74 79  c....C....county
        00 00 00 02 00 00 00 01 00 00 00 02 00 00 01 00  ................
        00 00 09 63 6f 6d 70 6c 65 74 65 64 00 00 00 00  ...completed....
        02 70 31 00 00 00 02 50 31 00 00 00 08 70 72 65  .p1....P1....pre
        63 69 6e 63 74 00 00 00 00 01 00 00 00 00 00 00  cinct...........
        00 05 00 01 00 00 00 09 63 6f 6d 70 6c 65 74 65  ........complete
        64 00 00 00 00 02 70 32 00 00 00 02 50 32 00 00  d.....p2....P2..
        00 08 70 72 65 63 69 6e 63 74 00 00 00 00 01 00  ..precinct......
        00 00 00 00 00 00 09 00 01 00 00 00 09 63 6f 6d  .............com
        70 6c 65 74 65 64 00 00 00 00 01 00 00 00 05 6d  pleted.........m
        61 79 6f 72 00 00 00 05 4d 61 79 6f 72 00 00 00  ayor....Mayor...
        09 63 61 6e 64 69 64 61 74 65 00 00 00 00 01 00  .candidate......
        00 00 01 00 00 00 00 02 00 00 00 03 61 6e 6e 00  ............ann.
        00 00 03 41 6e 6e 01 00 00 00 00 00 00 00 00 02  ...Ann..........
        77 69 00 00 00 08 57 72 69 74 65 2d 69 6e 00 01  wi....Write-in..
        00 00 00 05 00 00 00 01 00 00 00 00 00 00 00 05  ................
        74 6f 74 61 6c 00 00 00 00 00 00 00 00 04 00 00  total...........
        00 01 00 00 00 00 00 00 00 0c 65 6c 65 63 74 69  ..........electi
        6f 6e 2d 64 61 79 00 00 00 00 00 00 00 00 03 00  on-day..........
        00 00 01 00 00 00 00 00 00 00 0d 61 62 73 65 6e  ...........absen
        74 65 65 2d 6d 61 69 6c 00 00 00 00 00 00 00 00  tee-mail........
        01 00 00 00 01 00 00 00 01 00 00 00 05 74 6f 74  .............tot
        61 6c 00 00 00 00 00 00 00 00 01 00 00 00 02 00  al..............
        00 00 00 00 00 00 05 74 6f 74 61 6c 00 00 00 00  .......total....
        00 00 00 00 07 00 00 00 01 00 00 00 01 00 00 00  ................
        05 74 6f 74 61 6c 01 00 00 00 00 00 00 00 00 00  .total..........
    "#]]
    .assert_eq(&hex(&canonical::encode(&s)));
    // The golden bytes decode back to the same snapshot.
    assert_eq!(canonical::decode(&canonical::encode(&s)).unwrap(), s);
}

fn valid_small() -> urne_results::ValidSnapshot {
    validate("small", small(), &Limits::DEFAULT, &mut Vec::new()).unwrap()
}

/// Decoding names what is wrong, as data: one line per malformed input.
#[test]
fn decode_refuses_what_encode_never_writes() {
    let good = canonical::encode(&valid_small());
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    cases.push(("empty", Vec::new()));
    let mut b = good.clone();
    b[0] = b'x';
    cases.push(("bad magic", b));
    let mut b = good.clone();
    b[canonical::MAGIC.len() + 1] = 2;
    cases.push(("version 2", b));
    let mut b = good.clone();
    b.push(0);
    cases.push(("one trailing byte", b));
    cases.push(("truncated by one", good[..good.len() - 1].to_vec()));
    // The county's children are unit indexes 1 and 2 (p1, p2); point one past the table.
    let children_at = find(&good, &[0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]) + 8;
    let mut b = good.clone();
    b[children_at..children_at + 4].copy_from_slice(&3u32.to_be_bytes());
    cases.push(("child index past the units", b));
    // Same table, but the children listed out of order: decodes, validates, not canonical.
    let mut b = good.clone();
    b[children_at - 4..children_at].copy_from_slice(&2u32.to_be_bytes());
    b[children_at..children_at + 4].copy_from_slice(&1u32.to_be_bytes());
    cases.push(("children unsorted", b));
    let mut b = good.clone();
    let status = find(&good, b"unofficial-partial");
    b[status..status + 4].copy_from_slice(b"UNOF");
    cases.push(("unknown status", b));
    // The write-in flag of the last choice is 0x01; make it 0x02.
    let flag = find(&good, b"Write-in") + 8 + 1;
    let mut b = good.clone();
    b[flag] = 2;
    cases.push(("write-in flag 2", b));
    // A huge list length is refused before anything is allocated.
    let mut b = good.clone();
    let contests_at = find(&good, &[0, 0, 0, 1, 0, 0, 0, 5, b'm']);
    b[contests_at..contests_at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
    cases.push(("contest count 2^32-1", b));
    let mut out = String::new();
    for (name, bytes) in &cases {
        let got = canonical::decode(bytes).map(|_| "decoded".to_owned());
        out.push_str(&format!(
            "{name}: {}\n",
            got.unwrap_or_else(|e| e.to_string())
        ));
    }
    expect![[r#"
        empty: byte 0: truncated magic
        bad magic: not an urne results snapshot (bad magic)
        version 2: snapshot encoding version 2, this build reads 1
        one trailing byte: 1 trailing bytes after the snapshot
        truncated by one: byte 543: truncated undervotes
        child index past the units: byte 152: child unit index 3 out of range (table has 3)
        children unsorted: not in canonical form (re-encoding gives different bytes)
        unknown status: byte 76: bad report status
        write-in flag 2: byte 367: bad write-in flag
        contest count 2^32-1: byte 279: contests count 4294967295 exceeds the limit 100000
    "#]]
    .assert_eq(&out);
}

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap_or_else(|| panic!("{needle:?} not in the encoding"))
}

/// Every prefix and every single-byte change of a valid encoding is refused or decodes to
/// a snapshot that re-encodes to exactly those bytes; nothing panics.
#[test]
fn decode_is_strict_on_every_prefix_and_byte_flip() {
    let good = canonical::encode(&valid_small());
    for n in 0..good.len() {
        assert!(
            canonical::decode(&good[..n]).is_err(),
            "prefix of {n} bytes decoded"
        );
    }
    for i in 0..good.len() {
        for x in [0x01, 0x80, 0xff] {
            let mut b = good.clone();
            b[i] ^= x;
            if let Ok(s) = canonical::decode(&b) {
                assert_eq!(canonical::encode(&s), b, "byte {i} ^ {x:#x}");
            }
        }
    }
}

#[test]
fn input_order_does_not_change_the_bytes() {
    // The same snapshot with its lists in reverse order (counts name units and choices by
    // position, so theirs are reversed with them).
    let mut b = small();
    let (units, choices) = (b.units.len() as u32, b.contests[0].choices.len() as u32);
    b.units.reverse();
    b.contests[0].counts.reverse();
    b.contests[0].choices.reverse();
    for vc in &mut b.contests[0].counts {
        vc.unit = units - 1 - vc.unit;
        vc.choice = choices - 1 - vc.choice;
    }
    let mut w = Vec::new();
    let va = validate("a", small(), &Limits::DEFAULT, &mut w).unwrap();
    let vb = validate("b", b, &Limits::DEFAULT, &mut w).unwrap();
    assert_eq!(canonical::encode(&va), canonical::encode(&vb));
}

#[test]
fn flat_and_summary_csv() {
    let s = validate("small", small(), &Limits::DEFAULT, &mut Vec::new()).unwrap();
    let mut flat = Vec::new();
    export_flat_csv(&s, &mut flat).unwrap();
    expect![[r#"
        contest_id,contest,unit_id,unit,unit_kind,choice_id,choice,party,count_type,round,votes
        mayor,Mayor,p1,P1,precinct,ann,Ann,Dem,total,,4
        mayor,Mayor,p1,P1,precinct,ann,Ann,Dem,election-day,,3
        mayor,Mayor,p1,P1,precinct,ann,Ann,Dem,absentee-mail,,1
        mayor,Mayor,p1,P1,precinct,wi,Write-in,,total,,1
        mayor,Mayor,p2,P2,precinct,ann,Ann,Dem,total,,7
    "#]]
    .assert_eq(std::str::from_utf8(&flat).unwrap());
    let mut summary = Vec::new();
    export_summary_csv(&s, &mut summary).unwrap();
    expect![[r#"
        contest_id,contest,district,choice_id,choice,party,votes
        mayor,Mayor,c,ann,Ann,Dem,11
        mayor,Mayor,c,wi,Write-in,,1
    "#]]
    .assert_eq(std::str::from_utf8(&summary).unwrap());
}

#[test]
fn diff_reports_changes_and_decreases() {
    let old = validate("old", small(), &Limits::DEFAULT, &mut Vec::new()).unwrap();
    let mut next = small();
    next.contests[0].counts[0].votes = 9; // p2 ann total 7 -> 9
    next.contests[0].counts[4].votes = 0; // p1 write-in 1 -> 0: a decrease
    let new = validate("new", next, &Limits::DEFAULT, &mut Vec::new()).unwrap();
    let d = diff(&old, &new);
    let mut out = format!("units changed: {:?}\n", d.units_changed);
    for c in &d.changes {
        out.push_str(&format!(
            "{} {} {} {}: {:?} -> {:?} decrease={}\n",
            c.contest,
            c.unit,
            c.choice,
            c.kind,
            c.old,
            c.new,
            c.is_decrease()
        ));
    }
    expect![[r#"
        units changed: ["p1", "p2"]
        mayor p1 wi total: Some(1) -> Some(0) decrease=true
        mayor p2 ann total: Some(7) -> Some(9) decrease=false
    "#]]
    .assert_eq(&out);
}
