//! `SnapshotTotals` (the results site's per-unit totals, each unit's summed once from its
//! children's) gives what `unit_totals` gives, for every contest and unit of the shipped NIST
//! examples, of Georgia 2018 counties one by one and of the whole state set's counties and
//! state, asked in an order that mixes levels (units sorted by id).

mod common;

use urne_results::{
    Choice, Contest, ContestKind, CountType, CsvOptions, CsvSource, Election, ElectionKind,
    NistOptions, ReportStatus, Snapshot, SnapshotTotals, Totals, Unit, UnitFacts, UnitKind,
    ValidSnapshot, import_nist_json_bytes, import_nist_xml_bytes, import_openelections_csv,
    unit_totals,
};

/// Every contest of `s`, in every unit `pick` keeps: the two agree.
fn agree(s: &ValidSnapshot, pick: impl Fn(&Unit) -> bool) -> usize {
    let all = SnapshotTotals::new(s);
    let mut compared = 0;
    for c in &s.contests {
        let mut totals = all.contest(c);
        for u in s.units.iter().filter(|u| pick(u)) {
            let want = unit_totals(s, c, &u.id);
            let got = totals.get(&u.id).map(|t| {
                t.map(|t| {
                    t.iter()
                        .filter_map(|(&(ch, kind, round), &v)| {
                            let choice = c.choices.get(ch as usize)?;
                            Some(((choice.id.clone(), kind, round), v))
                        })
                        .collect::<Totals>()
                })
            });
            assert_eq!(got, want, "contest {:?}, unit {:?}", c.id, u.id);
            compared += 1;
        }
        // A unit the snapshot does not have: no data, as `unit_totals` says.
        assert_eq!(totals.get("no-such-unit"), Ok(None));
    }
    compared
}

fn csv(files: &[std::path::PathBuf]) -> ValidSnapshot {
    let sources = files
        .iter()
        .map(|p| CsvSource {
            name: p.display().to_string(),
            reader: std::fs::File::open(p).unwrap(),
        })
        .collect();
    let options = CsvOptions::new("Georgia", "General Election", "2018-11-06");
    import_openelections_csv(sources, &options)
        .unwrap()
        .snapshot
}

#[test]
fn totals_of_every_unit_match_unit_totals() {
    let Some(data) = common::data_dir("totals_of_every_unit_match_unit_totals") else {
        return;
    };
    let mut compared = 0;
    let nist = data.join("nist/election-results-reporting-sp1500-100-v2/examples/cdf-test-method");
    let mut paths = common::files(&nist, ".json");
    paths.extend(common::files(&nist, ".xml"));
    assert!(!paths.is_empty());
    for path in &paths {
        let bytes = std::fs::read(path).unwrap();
        let name = path.display().to_string();
        let imported = if name.ends_with(".json") {
            import_nist_json_bytes(&name, &bytes, &NistOptions::default())
        } else {
            import_nist_xml_bytes(&name, &bytes, &NistOptions::default())
        };
        compared += agree(&imported.unwrap().snapshot, |_| true);
    }
    let ga = common::files(&data.join("openelections/ga-2018-general-precinct"), ".csv");
    for file in ga.iter().take(12) {
        compared += agree(&csv(std::slice::from_ref(file)), |_| true);
    }
    let state = csv(&ga);
    compared += agree(&state, |u| u.kind != UnitKind::Precinct);
    assert!(compared > 10_000, "{compared} comparisons");
}

fn unit(id: &str, kind: UnitKind, children: &[&str]) -> Unit {
    Unit {
        id: id.to_owned(),
        name: id.to_owned(),
        kind,
        children: children.iter().map(|c| c.to_string()).collect(),
        facts: UnitFacts::default(),
    }
}

/// A count named by ids (unit, choice, count type, votes).
type Named = (String, String, CountType, u64);

fn count(unit: &str, choice: &str, kind: CountType, votes: u64) -> Named {
    (unit.to_owned(), choice.to_owned(), kind, votes)
}

/// One candidate contest over `units` (the first is the election's scope and the contest's
/// district), validated.
fn one_contest(units: Vec<Unit>, choices: &[&str], counts: Vec<Named>) -> ValidSnapshot {
    let counts = counts
        .into_iter()
        .map(|(u, c, kind, votes)| (u, c, kind, None, votes))
        .collect();
    let mut warnings = Vec::new();
    match validated(units, choices, counts, &mut warnings) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    }
}

/// [`one_contest`] with rounds, and its result as it comes.
fn validated(
    units: Vec<Unit>,
    choices: &[&str],
    counts: Vec<(String, String, CountType, Option<u32>, u64)>,
    warnings: &mut Vec<urne_results::Warning>,
) -> Result<ValidSnapshot, urne_results::ImportError> {
    let scope = units[0].id.clone();
    let mut s = Snapshot {
        election: Election {
            name: "Test".into(),
            kind: ElectionKind::General,
            start_date: "2026-11-03".into(),
            end_date: "2026-11-03".into(),
            scope_unit: scope.clone(),
        },
        status: ReportStatus::UnofficialPartial,
        parties: vec![],
        units,
        contests: vec![Contest {
            id: "gov".into(),
            name: "Governor".into(),
            kind: ContestKind::Candidate,
            district: scope,
            votes_allowed: Some(1),
            variation: None,
            choices: choices
                .iter()
                .map(|&id| Choice {
                    id: id.to_owned(),
                    name: id.to_owned(),
                    party: None,
                    write_in: false,
                })
                .collect(),
            counts: vec![],
            other_counts: vec![],
        }],
    };
    let named = counts
        .iter()
        .map(|(u, c, kind, round, votes)| (u.as_str(), c.as_str(), *kind, *round, *votes));
    s.add_counts_by_id(0, named).unwrap();
    urne_results::validate("test", s, &Default::default(), warnings)
}

/// Vote types are checked against the total round by round: more than the total in one round
/// is refused, less is a warning, whatever the other rounds hold.
#[test]
fn vote_types_are_checked_round_by_round() {
    use CountType::{AbsenteeMail as Mail, ElectionDay as Day, Total};
    let round = |r: u32, kind, votes| ("s".to_owned(), "a".to_owned(), kind, Some(r), votes);
    let state = || vec![unit("s", UnitKind::State, &[])];
    let fine = vec![round(1, Total, 10), round(1, Day, 6), round(1, Mail, 4)];
    // Each round adds up; summed over both rounds, the types (40) would pass the last total.
    let mut both = fine.clone();
    both.extend([round(2, Total, 30), round(2, Day, 20), round(2, Mail, 10)]);
    let mut warnings = Vec::new();
    assert!(validated(state(), &["a"], both, &mut warnings).is_ok());
    assert!(warnings.is_empty(), "{warnings:?}");

    let mut over = fine.clone();
    over.extend([round(2, Total, 12), round(2, Day, 8), round(2, Mail, 5)]);
    let e = validated(state(), &["a"], over, &mut Vec::new()).unwrap_err();
    assert!(e.to_string().contains("13"), "{e}");
    assert!(e.to_string().contains("12"), "{e}");

    let mut under = fine;
    under.extend([round(3, Total, 20), round(3, Day, 5)]);
    let mut warnings = Vec::new();
    assert!(validated(state(), &["a"], under, &mut warnings).is_ok());
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].detail.contains("5 of the total 20"),
        "{warnings:?}"
    );
}

/// Units in overlapping groups (a state made of counties and of house districts; the county
/// group has more children with data and wins), counts at two levels (one county gives its
/// own totals, the other's come from its precincts), vote types and a unit with no data.
#[test]
fn overlapping_groups_and_mixed_levels_match_unit_totals() {
    let s = one_contest(
        vec![
            unit("state", UnitKind::State, &["c1", "c2", "c3", "d1"]),
            unit("c1", UnitKind::County, &["p1", "p2"]),
            unit("c2", UnitKind::County, &["p3"]),
            unit("c3", UnitKind::County, &["p4"]),
            unit("d1", UnitKind::StateHouse, &["p1", "p3"]),
            unit("p1", UnitKind::Precinct, &[]),
            unit("p2", UnitKind::Precinct, &[]),
            unit("p3", UnitKind::Precinct, &[]),
            unit("p4", UnitKind::Precinct, &[]),
        ],
        &["a", "b"],
        vec![
            count("c1", "a", CountType::Total, 100),
            count("c1", "b", CountType::Total, 50),
            count("p3", "a", CountType::Total, 30),
            count("p3", "a", CountType::ElectionDay, 20),
            count("p3", "b", CountType::Total, 40),
        ],
    );
    assert_eq!(agree(&s, |_| true), 9);
    // The state: counties c1 (own counts) and c2 (from p3), not the district.
    let totals = unit_totals(&s, &s.contests[0], "state").unwrap().unwrap();
    assert_eq!(totals[&("a".to_owned(), CountType::Total, None)], 130);
}

/// Units nested past `UNIT_DEPTH_MAX` with no counts, beside a precinct with counts under the
/// same root: both give the same answer for every unit (the root's sum fails on the depth,
/// though the one branch with data is short).
#[test]
fn units_nested_past_the_depth_limit_match_unit_totals() {
    let n = urne_results::UNIT_DEPTH_MAX + 6;
    let id = |i: usize| format!("u{i:03}");
    let mut units: Vec<Unit> = (0..n)
        .map(|i| match i + 1 == n {
            true => unit(&id(i), UnitKind::Precinct, &[]),
            false => unit(&id(i), UnitKind::County, &[&id(i + 1)]),
        })
        .collect();
    units[0].children.push("x".into());
    units.push(unit("x", UnitKind::Precinct, &[]));
    let s = one_contest(units, &["a"], vec![count("x", "a", CountType::Total, 5)]);
    assert!(unit_totals(&s, &s.contests[0], &id(0)).is_err());
    assert!(unit_totals(&s, &s.contests[0], "x").unwrap().is_some());
    assert_eq!(agree(&s, |_| true), n + 1);
}
