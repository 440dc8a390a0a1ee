//! OpenElections CSV: Georgia 2018 sums to the certified Governor totals; Georgia 2024's county
//! file reconciles against its precinct file with exactly the 40 known differences; every
//! header variant in the Pennsylvania 2024 set is understood and its bad rows refused by line.

mod common;

use std::fmt::Write as _;
use std::path::Path;

use expect_test::expect;
use urne_results::diff::reconcile;
use urne_results::{
    CountType, CsvOptions, CsvSource, Imported, UnitKind, WarningKind, import_openelections_csv,
    unit_totals,
};

fn import_dir(dir: &Path, options: &CsvOptions) -> Result<Imported, urne_results::ImportError> {
    let sources = common::files(dir, ".csv")
        .into_iter()
        .map(|p| CsvSource {
            name: p.file_name().unwrap().to_string_lossy().into_owned(),
            reader: std::fs::File::open(&p).unwrap(),
        })
        .collect();
    import_openelections_csv(sources, options)
}

fn import_file(path: &Path, options: &CsvOptions) -> Imported {
    let source = CsvSource {
        name: path.file_name().unwrap().to_string_lossy().into_owned(),
        reader: std::fs::File::open(path).unwrap(),
    };
    import_openelections_csv(vec![source], options).unwrap_or_else(|e| panic!("{e}"))
}

fn state_totals(imported: &Imported, contest: &str) -> String {
    let s = &imported.snapshot;
    let c = s.contest(contest).unwrap_or_else(|| panic!("no contest {contest}"));
    let totals = unit_totals(s, c, "state").unwrap().unwrap();
    let mut out = String::new();
    for ((choice, kind, _), votes) in &totals {
        if *kind == CountType::Total {
            let ch = c.choice(choice).unwrap();
            writeln!(out, "{} ({}): {votes}", ch.name, ch.party.as_deref().unwrap_or("")).unwrap();
        }
    }
    out
}

#[test]
fn ga_2018_governor_matches_certified_totals() {
    let Some(data) = common::data_dir("ga_2018_governor_matches_certified_totals") else { return };
    let options = CsvOptions::new("Georgia", "2018 General Election", "2018-11-06");
    let imported = import_dir(&data.join("openelections/ga-2018-general-precinct"), &options)
        .unwrap_or_else(|e| panic!("{e}"));
    let s = &imported.snapshot;
    expect![[r#"
        BRIAN KEMP (party-rep): 1978408
        STACEY ABRAMS (party-dem): 1923685
        T. METZ (party-l): 1059
        TED METZ (party-lib): 36176
    "#]].assert_eq(&state_totals(&imported, "c-governor"));
    let counts: usize = s.contests.iter().map(|c| c.counts.len()).sum();
    let mut kinds: std::collections::BTreeMap<WarningKind, usize> = Default::default();
    for w in &imported.warnings {
        *kinds.entry(w.kind).or_default() += 1;
    }
    expect!["contests=571 units=2794 counts=652550 warnings={}"].assert_eq(&format!(
        "contests={} units={} counts={counts} warnings={kinds:?}",
        s.contests.len(),
        s.units.len()
    ));
}

#[test]
fn ga_2024_county_file_reconciles_with_precinct_file() {
    let Some(data) = common::data_dir("ga_2024_county_file_reconciles_with_precinct_file") else {
        return;
    };
    let dir = data.join("openelections/ga-2024-general");
    let options = CsvOptions::new("Georgia", "2024 General Election", "2024-11-05");
    let county = import_file(&dir.join("20241105__ga__general__county-level.csv"), &options);
    let precinct = import_file(&dir.join("20241105__ga__general__precinct-level.csv"), &options);
    expect![[r#"
        Chase Oliver (party-libertarian): 20684
        Claudia De la Cruz (party-independent): 13
        Cornel West (party-independent): 6
        Donald J. Trump (party-republican): 2663110
        Jill Stein (party-green): 18229
        Kamala D. Harris (party-democrat): 2548006
    "#]].assert_eq(&state_totals(&precinct, "c-president"));
    let diffs = reconcile(&county.snapshot, &precinct.snapshot, UnitKind::County);
    let mut report = format!("{} county x candidate totals differ\n", diffs.len());
    for d in &diffs {
        writeln!(
            report,
            "{} {} {}: county file {} precinct sum {} ({:+})",
            d.contest,
            d.unit,
            d.choice,
            d.old.unwrap_or(0),
            d.new.unwrap_or(0),
            -d.delta()
        )
        .unwrap();
    }
    expect![[r#"
        40 county x candidate totals differ
        c-district-attorney-atlanta-judicial-circuit county-fulton c-district-attorney-atlanta-judicial-circuit.courtney-kramer-republican: county file 166427 precinct sum 166420 (+7)
        c-district-attorney-atlanta-judicial-circuit county-fulton c-district-attorney-atlanta-judicial-circuit.fani-t-willis-democrat: county file 355894 precinct sum 355884 (+10)
        c-president county-fulton c-president.donald-j-trump-republican: county file 144655 precinct sum 144648 (+7)
        c-president county-fulton c-president.kamala-d-harris-democrat: county file 384752 precinct sum 384741 (+11)
        c-state-house-104 county-barrow c-state-house-104.chuck-efstration-republican: county file 9848 precinct sum 9844 (+4)
        c-state-house-136 county-troup c-state-house-136.david-jenkins-republican: county file 2842 precinct sum 2840 (+2)
        c-state-house-137 county-troup c-state-house-137.stephen-acorn-republican: county file 3969 precinct sum 3966 (+3)
        c-state-house-147 county-peach c-state-house-147.bethany-ballard-republican: county file 1463 precinct sum 1462 (+1)
        c-state-house-156 county-telfair c-state-house-156.leesa-hagan-republican: county file 1084 precinct sum 1083 (+1)
        c-state-house-162 county-chatham c-state-house-162.carl-w-gilliard-democrat: county file 16033 precinct sum 16032 (+1)
        c-state-house-176 county-coffee c-state-house-176.james-d-burchett-republican: county file 3191 precinct sum 3185 (+6)
        c-state-house-42 county-cobb c-state-house-42.diane-e-jackson-republican: county file 9673 precinct sum 9672 (+1)
        c-state-house-42 county-cobb c-state-house-42.gabriel-sanchez-democrat: county file 16689 precinct sum 16686 (+3)
        c-state-house-52 county-fulton c-state-house-52.shea-roberts-democrat: county file 9424 precinct sum 9421 (+3)
        c-state-house-54 county-fulton c-state-house-54.samantha-sam-brown-parks-republican: county file 12133 precinct sum 12132 (+1)
        c-state-house-62 county-fulton c-state-house-62.tanya-f-miller-democrat: county file 24767 precinct sum 24766 (+1)
        c-state-house-65 county-fulton c-state-house-65.robert-dawson-democrat: county file 24746 precinct sum 24745 (+1)
        c-state-house-67 county-fulton c-state-house-67.lydia-glaize-democrat: county file 16935 precinct sum 16932 (+3)
        c-state-house-67 county-fulton c-state-house-67.matthew-hammett-republican: county file 2070 precinct sum 2069 (+1)
        c-state-house-68 county-fulton c-state-house-68.derrick-l-jackson-democrat: county file 12336 precinct sum 12333 (+3)
        c-state-house-81 county-henry c-state-house-81.mishael-white-democrat: county file 14469 precinct sum 14468 (+1)
        c-state-house-81 county-henry c-state-house-81.noelle-kahaian-republican: county file 19186 precinct sum 19185 (+1)
        c-state-house-85 county-dekalb c-state-house-85.karla-l-drenner-democrat: county file 22384 precinct sum 22380 (+4)
        c-state-house-89 county-dekalb c-state-house-89.omari-crawford-democrat: county file 30293 precinct sum 30291 (+2)
        c-state-house-90 county-dekalb c-state-house-90.saira-draper-democrat: county file 30637 precinct sum 30634 (+3)
        c-state-senate-1 county-chatham c-state-senate-1.ben-watson-republican: county file 39627 precinct sum 39626 (+1)
        c-state-senate-14 county-fulton c-state-senate-14.josh-mclaurin-democrat: county file 72408 precinct sum 72404 (+4)
        c-state-senate-18 county-houston c-state-senate-18.john-f-kennedy-republican: county file 16304 precinct sum 16303 (+1)
        c-state-senate-28 county-fulton c-state-senate-28.donzella-james-democrat: county file 9026 precinct sum 9025 (+1)
        c-state-senate-38 county-fulton c-state-senate-38.rashaun-kemp-democrat: county file 81270 precinct sum 81263 (+7)
        c-state-senate-39 county-fulton c-state-senate-39.sonya-halpern-democrat: county file 77219 precinct sum 77218 (+1)
        c-state-senate-47 county-jackson c-state-senate-47.frank-ginn-republican: county file 28654 precinct sum 28650 (+4)
        c-state-senate-50 county-jackson c-state-senate-50.bo-hatchett-republican: county file 8077 precinct sum 8075 (+2)
        c-state-senate-50 county-jackson c-state-senate-50.june-krise-democrat: county file 1772 precinct sum 1771 (+1)
        c-state-senate-56 county-cherokee c-state-senate-56.jd-jordan-democrat: county file 12354 precinct sum 12352 (+2)
        c-u-s-house-2 county-bibb c-u-s-house-2.a-wayne-johnson-republican: county file 12415 precinct sum 12414 (+1)
        c-u-s-house-5 county-fulton c-u-s-house-5.nikema-williams-democrat: county file 144078 precinct sum 144077 (+1)
        c-u-s-house-6 county-fulton c-u-s-house-6.jeff-criswell-republican: county file 40349 precinct sum 40343 (+6)
        c-u-s-house-6 county-fulton c-u-s-house-6.lucy-mcbath-democrat: county file 138788 precinct sum 138781 (+7)
        c-u-s-house-7 county-fulton c-u-s-house-7.bob-christian-democrat: county file 87919 precinct sum 87916 (+3)
    "#]].assert_eq(&report);
}
