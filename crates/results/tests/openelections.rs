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
    import_openelections_csv_bytes, unit_totals,
};

/// The set in `dir`, imported through readers; checks that importing the same bytes from
/// memory gives the same outcome.
fn import_dir(dir: &Path, options: &CsvOptions) -> Result<Imported, urne_results::ImportError> {
    let paths = common::files(dir, ".csv");
    let name = |p: &Path| p.file_name().unwrap().to_string_lossy().into_owned();
    let sources = paths
        .iter()
        .map(|p| CsvSource {
            name: name(p),
            reader: std::fs::File::open(p).unwrap(),
        })
        .collect();
    let imported = import_openelections_csv(sources, options);
    let bytes: Vec<(String, Vec<u8>)> = paths
        .iter()
        .map(|p| (name(p), std::fs::read(p).unwrap()))
        .collect();
    let in_memory: Vec<CsvSource<&[u8]>> = bytes
        .iter()
        .map(|(name, b)| CsvSource {
            name: name.clone(),
            reader: &b[..],
        })
        .collect();
    let from_bytes = import_openelections_csv_bytes(&in_memory, options);
    match (&imported, &from_bytes) {
        (Ok(a), Ok(b)) => assert!(a == b, "through readers and from bytes"),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        _ => panic!("through readers and from bytes: one failed, one did not"),
    }
    imported
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
    let c = s
        .contest(contest)
        .unwrap_or_else(|| panic!("no contest {contest}"));
    let totals = unit_totals(s, c, "state").unwrap().unwrap();
    let mut out = String::new();
    for ((choice, kind, _), votes) in &totals {
        if *kind == CountType::Total {
            let ch = c.choice(choice).unwrap();
            writeln!(
                out,
                "{} ({}): {votes}",
                ch.name,
                ch.party.as_deref().unwrap_or("")
            )
            .unwrap();
        }
    }
    out
}

#[test]
fn ga_2018_governor_matches_certified_totals() {
    let Some(data) = common::data_dir("ga_2018_governor_matches_certified_totals") else {
        return;
    };
    let options = CsvOptions::new("Georgia", "2018 General Election", "2018-11-06");
    let imported = import_dir(
        &data.join("openelections/ga-2018-general-precinct"),
        &options,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let s = &imported.snapshot;
    expect![[r#"
        BRIAN KEMP (party-rep): 1978408
        STACEY ABRAMS (party-dem): 1923685
        T. METZ (party-l): 1059
        TED METZ (party-lib): 36176
    "#]]
    .assert_eq(&state_totals(&imported, "c-governor"));
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
    let county = import_file(
        &dir.join("20241105__ga__general__county-level.csv"),
        &options,
    );
    let precinct = import_file(
        &dir.join("20241105__ga__general__precinct-level.csv"),
        &options,
    );
    expect![[r#"
        Chase Oliver (party-libertarian): 20684
        Claudia De la Cruz (party-independent): 13
        Cornel West (party-independent): 6
        Donald J. Trump (party-republican): 2663110
        Jill Stein (party-green): 18229
        Kamala D. Harris (party-democrat): 2548006
    "#]]
    .assert_eq(&state_totals(&precinct, "c-president"));
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

#[test]
fn pa_2024_set_is_refused_by_line_then_imports_leniently() {
    let Some(data) = common::data_dir("pa_2024_set_is_refused_by_line_then_imports_leniently")
    else {
        return;
    };
    let dir = data.join("openelections/pa-2024-general-precinct");
    let options = CsvOptions::new("Pennsylvania", "2024 General Election", "2024-11-05");
    let err = import_dir(&dir, &options).unwrap_err();
    expect![[r#"20241105__pa__general__columbia__precinct.csv: line 907, column "votes": count "-" is not a non-negative whole number"#]].assert_eq(&err.to_string());

    let lenient = CsvOptions {
        danger_skip_bad_rows: true,
        ..options
    };
    let imported = import_dir(&dir, &lenient).unwrap_or_else(|e| panic!("{e}"));
    let s = &imported.snapshot;
    let counts: usize = s.contests.iter().map(|c| c.counts.len()).sum();
    let mut report = format!(
        "contests={} units={} counts={counts}\n",
        s.contests.len(),
        s.units.len()
    );
    for w in &imported.warnings {
        if matches!(
            w.kind,
            WarningKind::Lenient | WarningKind::NameVariants | WarningKind::Dropped
        ) {
            writeln!(report, "{w}").unwrap();
        }
    }
    report.push_str(&state_totals(&imported, "c-president"));
    expect![[r#"
        contests=259 units=9173 counts=1213553
        line 4: Dropped: 20241105__pa__general__adams__precinct.csv: 51 "Ballots Cast Blank" rows left out (first here)
        line 124: Dropped: 20241105__pa__general__bradford__precinct.csv: 61 "Ballots Cast Blank" rows left out (first here)
        line 4: Dropped: 20241105__pa__general__butler__precinct.csv: 96 "Ballots Cast Blank" rows left out (first here)
        line 4: Dropped: 20241105__pa__general__clinton__precinct.csv: 34 "Ballots Cast Blank" rows left out (first here)
        line 907, column "votes": Lenient: 20241105__pa__general__columbia__precinct.csv: row skipped: count "-" is not a non-negative whole number
        line 4: Dropped: 20241105__pa__general__elk__precinct.csv: 29 "Ballots Cast Blank" rows left out (first here)
        line 1810, column "votes": Lenient: 20241105__pa__general__erie__precinct.csv: row skipped: count "CORRY WARD 01" is not a non-negative whole number
        line 1839, column "votes": Lenient: 20241105__pa__general__erie__precinct.csv: row skipped: count "CORRY WARD 02" is not a non-negative whole number
        line 1868, column "votes": Lenient: 20241105__pa__general__erie__precinct.csv: row skipped: count "CORRY WARD 03" is not a non-negative whole number
        line 2013, column "votes": Lenient: 20241105__pa__general__erie__precinct.csv: row skipped: count "ELGIN BOR" is not a non-negative whole number
        line 2448, column "votes": Lenient: 20241105__pa__general__erie__precinct.csv: row skipped: count "CONCORD TWP" is not a non-negative whole number
        line 4272, column "votes": Lenient: 20241105__pa__general__erie__precinct.csv: row skipped: count "WAYNE TWP" is not a non-negative whole number
        line 4: Dropped: 20241105__pa__general__franklin__precinct.csv: 73 "Ballots Cast Blank" rows left out (first here)
        line 4: Dropped: 20241105__pa__general__huntingdon__precinct.csv: 58 "Ballots Cast Blank" rows left out (first here)
        line 4: Dropped: 20241105__pa__general__juniata__precinct.csv: 18 "Ballots Cast Blank" rows left out (first here)
        line 4: Dropped: 20241105__pa__general__lackawanna__precinct.csv: 163 "Ballots Cast Blank" rows left out (first here)
        line 4: Dropped: 20241105__pa__general__lawrence__precinct.csv: 75 "Ballots Cast Blank" rows left out (first here)
        line 3: Dropped: 20241105__pa__general__lebanon__precinct.csv: 60 "Ballots Cast Blank" rows left out (first here)
        line 887: Dropped: 20241105__pa__general__mckean__precinct.csv: 5 "Ballots Cast Blank" rows left out (first here)
        line 3: Dropped: 20241105__pa__general__mifflin__precinct.csv: 26 "Ballots Cast Blank" rows left out (first here)
        line 4: Dropped: 20241105__pa__general__northampton__precinct.csv: 154 "Ballots Cast Blank" rows left out (first here)
        line 4: Dropped: 20241105__pa__general__northumberland__precinct.csv: 74 "Ballots Cast Blank" rows left out (first here)
        line 4: Dropped: 20241105__pa__general__potter__precinct.csv: 32 "Ballots Cast Blank" rows left out (first here)
        line 4: Dropped: 20241105__pa__general__schuylkill__precinct.csv: 125 "Ballots Cast Blank" rows left out (first here)
        line 4: Dropped: 20241105__pa__general__snyder__precinct.csv: 25 "Ballots Cast Blank" rows left out (first here)
        line 478: Dropped: 20241105__pa__general__somerset__precinct.csv: 68 "Ballots Cast Blank" rows left out (first here)
        line 4: Dropped: 20241105__pa__general__tioga__precinct.csv: 41 "Ballots Cast Blank" rows left out (first here)
        contest "c-president": NameVariants: names kept apart: Chase Oliver | CHASE OLIVER
        contest "c-president": NameVariants: names kept apart: CHASE OLIVER / MIKE TER MAAT | Chase Oliver / Mike ter Maat
        contest "c-president": NameVariants: names kept apart: CLAUDIA DE LA CRUZ | CLAUDIA DELACRUZ
        contest "c-president": NameVariants: names kept apart: Donald J. Trump | DONALD J TRUMP | Donald J Trump | DONALD J. TRUMP
        contest "c-president": NameVariants: names kept apart: DONALD J TRUMP / JD VANCE | DONALD J TRUMP/ JD VANCE | Donald J Trump / JD Vance | Donald J. Trump / JD Vance
        contest "c-president": NameVariants: names kept apart: HARRIS and WALZ | Harris and Walz
        contest "c-president": NameVariants: names kept apart: HARRIS / WALZ | Harris / Walz
        contest "c-president": NameVariants: names kept apart: Jill Stein | JILL STEIN
        contest "c-president": NameVariants: names kept apart: JILL STEIN / RUDOLPH WARE | Jill Stein / Rudolph Ware
        contest "c-president": NameVariants: names kept apart: Kamala D. Harris | KAMALA D HARRIS | Kamala D Harris | KAMALA D. HARRIS
        contest "c-president": NameVariants: names kept apart: KAMALA D HARRIS / TIM WALZ | Kamala D Harris / Tim Walz | Kamala D. Harris / Tim Walz
        contest "c-president": NameVariants: names kept apart: OLIVER and TER MAAT | Oliver and ter Maat
        contest "c-president": NameVariants: names kept apart: OLIVER / TER MAAT | Oliver / Ter Maat | Oliver / ter Maat
        contest "c-president": NameVariants: names kept apart: SHIVA AYYADURAI | Shiva Ayyadurai
        contest "c-president": NameVariants: names kept apart: STEIN and WARE | Stein and Ware
        contest "c-president": NameVariants: names kept apart: STEIN / WARE | Stein / Ware
        contest "c-president": NameVariants: names kept apart: TRUMP and VANCE | Trump and Vance
        contest "c-president": NameVariants: names kept apart: TRUMP / VANCE | Trump / Vance
        contest "c-president": NameVariants: names kept apart: Write-in | Write-In
        contest "c-president": NameVariants: names kept apart: Write-In: Nikki Haley | Write-In: NIKKI HALEY
        contest "c-president": NameVariants: names kept apart: Write-ins | Write-Ins
        contest "c-president": NameVariants: names kept apart: Write-In: Scattered | Write-In: SCATTERED
        contest "c-u-s-senate": NameVariants: names kept apart: DAVE MCCORMICK | Dave McCormick | Dave Mccormick
        contest "c-u-s-senate": NameVariants: names kept apart: DEM ROBERT P. CASEY, JR. | DEM Robert P. Casey, Jr.
        contest "c-u-s-senate": NameVariants: names kept apart: JOHN C THOMAS | John C. Thomas | JOHN C. THOMAS | John C Thomas
        contest "c-u-s-senate": NameVariants: names kept apart: LEILA HAZOU | Leila Hazou
        contest "c-u-s-senate": NameVariants: names kept apart: MARTY SELKER | Marty Selker
        contest "c-u-s-senate": NameVariants: names kept apart: ROBERT P CASEY JR | Robert P. Casey, Jr. | Robert P. Casey Jr. | ROBERT P. CASEY, JR. | Robert P Casey Jr | Robert P Casey, Jr
        contest "c-u-s-senate": NameVariants: names kept apart: Write-in | Write-In
        contest "c-u-s-senate": NameVariants: names kept apart: Write-In: Blank | Write-In: BLANK
        contest "c-u-s-senate": NameVariants: names kept apart: Write-ins | Write-Ins
        contest "c-u-s-senate": NameVariants: names kept apart: Write-In: Scattered | Write-In: SCATTERED
        contest "c-attorney-general": NameVariants: names kept apart: DAVE SUNDAY | Dave Sunday
        contest "c-attorney-general": NameVariants: names kept apart: ERIC L SETTLE | Eric L. Settle | ERIC L. SETTLE | Eric L Settle
        contest "c-attorney-general": NameVariants: names kept apart: EUGENE DEPASQUALE | Eugene DePasquale | Eugene Depasquale
        contest "c-attorney-general": NameVariants: names kept apart: JUSTIN L MAGILL | Justin L. Magill | JUSTIN L. MAGILL | Justin L Magill
        contest "c-attorney-general": NameVariants: names kept apart: RICHARD L WEISS | Richard L. Weiss | RICHARD L. WEISS | Richard L Weiss
        contest "c-attorney-general": NameVariants: names kept apart: ROBERT COWBURN | Robert Cowburn
        contest "c-attorney-general": NameVariants: names kept apart: Write-in | Write-In
        contest "c-attorney-general": NameVariants: names kept apart: Write-ins | Write-Ins
        contest "c-attorney-general": NameVariants: names kept apart: Write-In: Scattered | Write-In: SCATTERED
        contest "c-auditor-general": NameVariants: names kept apart: BOB GOODRICH | Bob Goodrich
        contest "c-auditor-general": NameVariants: names kept apart: ERIC ANTON | Eric Anton
        contest "c-auditor-general": NameVariants: names kept apart: ERIC K ANTON | Eric K. Anton | ERIC K. ANTON | Eric K Anton
        contest "c-auditor-general": NameVariants: names kept apart: MALCOLM KENYATTA | Malcolm Kenyatta
        contest "c-auditor-general": NameVariants: names kept apart: REECE SMITH | Reece Smith
        contest "c-auditor-general": NameVariants: names kept apart: TIM DEFOOR | Tim DeFoor | Tim Defoor
        contest "c-auditor-general": NameVariants: names kept apart: Write-in | Write-In
        contest "c-auditor-general": NameVariants: names kept apart: Write-In: Blank | Write-In: BLANK
        contest "c-auditor-general": NameVariants: names kept apart: Write-In: Scattered | Write-In: SCATTERED
        contest "c-state-treasurer": NameVariants: names kept apart: CHRIS FOSTER | Chris Foster
        contest "c-state-treasurer": NameVariants: names kept apart: ERIN MCCLELLAND | Erin McClelland | Erin Mcclelland
        contest "c-state-treasurer": NameVariants: names kept apart: NICKOLAS CIESIELSKI | Nickolas Ciesielski
        contest "c-state-treasurer": NameVariants: names kept apart: STACY GARRITY | Stacy Garrity
        contest "c-state-treasurer": NameVariants: names kept apart: TROY BOWMAN | Troy Bowman
        contest "c-state-treasurer": NameVariants: names kept apart: Write-in | Write-In
        contest "c-state-treasurer": NameVariants: names kept apart: Write-In: Blank | Write-In: BLANK
        contest "c-state-treasurer": NameVariants: names kept apart: Write-In: Scattered | Write-In: SCATTERED
        contest "c-u-s-house-13": NameVariants: names kept apart: BETH FARNHAM | Beth Farnham
        contest "c-u-s-house-13": NameVariants: names kept apart: JOHN JOYCE | John Joyce
        contest "c-u-s-house-13": NameVariants: names kept apart: Write-In: Blank | Write-In: BLANK
        contest "c-u-s-house-13": NameVariants: names kept apart: Write-In: Scattered | Write-In: SCATTERED
        contest "c-state-senate-33": NameVariants: names kept apart: CAMERON SCHROY | Cameron Schroy
        contest "c-state-senate-33": NameVariants: names kept apart: DOUG MASTRIANO | Doug Mastriano
        contest "c-u-s-house-17": NameVariants: names kept apart: Chris Deluzio | CHRIS DELUZIO
        contest "c-u-s-house-17": NameVariants: names kept apart: Rob Mercuri | ROB MERCURI
        contest "c-state-house-39": NameVariants: names kept apart: Andrew Kuzma | ANDREW KUZMA
        contest "c-state-house-39": NameVariants: names kept apart: Angela Girol | ANGELA GIROL
        contest "c-state-house-40": NameVariants: names kept apart: Natalie Mihalek | NATALIE MIHALEK
        contest "c-state-house-40": NameVariants: names kept apart: Peter Kohnke | PETER KOHNKE
        contest "c-state-house-46": NameVariants: names kept apart: Alex Taylor | ALEX TAYLOR
        contest "c-state-house-46": NameVariants: names kept apart: Jason Ortitay | JASON ORTITAY
        contest "c-u-s-house-15": NameVariants: names kept apart: GLENN GT THOMPSON | Glenn GT Thompson
        contest "c-u-s-house-15": NameVariants: names kept apart: Write-ins | Write-Ins
        contest "c-u-s-house-15": NameVariants: names kept apart: ZACH WOMER | Zach Womer
        contest "c-state-senate-41": NameVariants: names kept apart: JOE PITTMAN | Joe Pittman
        contest "c-state-senate-41": NameVariants: names kept apart: Write-ins | Write-Ins
        contest "c-state-house-60": NameVariants: names kept apart: ABBY MAJOR | Abby Major
        contest "c-state-house-78": NameVariants: names kept apart: Jesse Topper | JESSE TOPPER
        contest "c-u-s-house-9": NameVariants: names kept apart: Amanda Waldman | AMANDA WALDMAN
        contest "c-u-s-house-9": NameVariants: names kept apart: Dan Meuser | DAN MEUSER
        contest "c-u-s-house-9": NameVariants: names kept apart: Write-ins | Write-Ins
        contest "c-u-s-house-4": NameVariants: names kept apart: David Winkler | DAVID WINKLER
        contest "c-u-s-house-4": NameVariants: names kept apart: Madeleine Dean | MADELEINE DEAN
        contest "c-u-s-house-4": NameVariants: names kept apart: Write-ins | Write-Ins
        contest "c-state-senate-23": NameVariants: names kept apart: Gene Yaw | GENE YAW
        contest "c-state-senate-23": NameVariants: names kept apart: Kim Pitcher | KIM PITCHER
        contest "c-u-s-house-1": NameVariants: names kept apart: Ashley Ehasz | ASHLEY EHASZ
        contest "c-u-s-house-1": NameVariants: names kept apart: Brian Fitzpatrick | BRIAN FITZPATRICK
        contest "c-u-s-house-16": NameVariants: names kept apart: Write-ins | Write-Ins
        contest "c-state-senate-21": NameVariants: names kept apart: SCOTT E HUTCHINSON | SCOTT E. HUTCHINSON
        contest "c-state-senate-21": NameVariants: names kept apart: Write-ins | Write-Ins
        contest "c-state-senate-35": NameVariants: names kept apart: WAYNE LANGERHOLC, JR. | WAYNE LANGERHOLC JR
        contest "c-state-house-71": NameVariants: names kept apart: JIM RIGBY | Jim Rigby
        contest "c-u-s-house-7": NameVariants: names kept apart: Ryan E Mackenzie | RYAN E MACKENZIE
        contest "c-u-s-house-7": NameVariants: names kept apart: Susan Wild | SUSAN WILD
        contest "c-state-senate-29": NameVariants: names kept apart: Dave Argall | DAVE ARGALL
        contest "c-state-senate-29": NameVariants: names kept apart: John Zugarek | JOHN ZUGAREK
        contest "c-state-senate-29": NameVariants: names kept apart: Timothy Henning | TIMOTHY HENNING
        contest "c-state-senate-25": NameVariants: names kept apart: CRIS DUSH | Cris Dush
        contest "c-state-senate-25": NameVariants: names kept apart: WILLIAM MCGILL | William McGill
        contest "c-state-senate-25": NameVariants: names kept apart: Write-ins | Write-Ins
        contest "c-state-house-65": NameVariants: names kept apart: KATHY L RAPP | KATHY L. RAPP
        contest "c-state-house-65": NameVariants: names kept apart: Write-ins | Write-Ins
        contest "c-state-house-6": NameVariants: names kept apart: Write-ins | Write-Ins
        contest "c-u-s-house-10": NameVariants: names kept apart: JANELLE STELSON | Janelle Stelson
        contest "c-u-s-house-10": NameVariants: names kept apart: SCOTT PERRY | Scott Perry
        contest "c-state-senate-31": NameVariants: names kept apart: DAWN KEEFER | Dawn Keefer
        contest "c-state-senate-31": NameVariants: names kept apart: MARK TEMONS | Mark Temons
        contest "c-u-s-house-5": NameVariants: names kept apart: Alfeia Goodwin | ALFEIA GOODWIN
        contest "c-u-s-house-5": NameVariants: names kept apart: Mary Gay Scanlon | MARY GAY SCANLON
        contest "c-state-senate-17": NameVariants: names kept apart: Amanda M. Cappelletti | AMANDA M CAPPELLETTI
        contest "c-state-senate-17": NameVariants: names kept apart: Greg Harris | GREG HARRIS
        contest "c-u-s-house-14": NameVariants: names kept apart: Chris Dziados | CHRIS DZIADOS
        contest "c-u-s-house-14": NameVariants: names kept apart: Guy Reschenthaler | GUY RESCHENTHALER
        contest "c-state-house-81": NameVariants: names kept apart: Rich Irvin | RICH IRVIN
        contest "c-state-house-81": NameVariants: names kept apart: Sean Steeg | SEAN STEEG
        contest "c-state-house-50": NameVariants: names kept apart: Bud Cook | BUD COOK
        contest "c-state-house-50": NameVariants: names kept apart: Drew Ross Manko | DREW ROSS MANKO
        contest "c-state-house-66": NameVariants: names kept apart: Write-ins | Write-Ins
        contest "c-state-house-86": NameVariants: names kept apart: PERRY A. STAMBAUGH | PERRY A STAMBAUGH
        contest "c-state-house-85": NameVariants: names kept apart: DAVID H. ROWE | DAVID H ROWE
        contest "c-u-s-house-8": NameVariants: names kept apart: MATT CARTWRIGHT | Matt Cartwright
        contest "c-u-s-house-8": NameVariants: names kept apart: ROB BRESNAHAN JR | Rob Bresnahan Jr.
        contest "c-u-s-house-8": NameVariants: names kept apart: Write-in | Write-In
        contest "c-u-s-house-11": NameVariants: names kept apart: Lloyd K Smucker | Lloyd K. Smucker
        contest "c-state-house-131": NameVariants: names kept apart: Meriam Sabih | MERIAM SABIH
        contest "c-state-house-131": NameVariants: names kept apart: Milou Mackenzie | MILOU MACKENZIE
        contest "c-state-house-131": NameVariants: names kept apart: Write-Ins | Write-ins
        contest "c-state-house-183": NameVariants: names kept apart: Joe Lenzi | JOE LENZI
        contest "c-state-house-183": NameVariants: names kept apart: Zach Mako | ZACH MAKO
        contest "c-state-house-116": NameVariants: names kept apart: DANE WATRO | Dane Watro
        contest "c-state-house-116": NameVariants: names kept apart: DEBORAH ADOFF | Deborah Adoff
        contest "c-state-house-83": NameVariants: names kept apart: Jamie Flick | JAMIE FLICK
        contest "c-state-house-108": NameVariants: names kept apart: Write-In: Thomas Webb Jr | Write-In: Thomas Webb, Jr.
        contest "c-state-house-107": NameVariants: names kept apart: JOANNE STEHR | Joanne Stehr
        contest "c-state-house-139": NameVariants: names kept apart: Jeff Olsommer | JEFF OLSOMMER
        contest "c-state-house-139": NameVariants: names kept apart: Robin Schooley Skibber | ROBIN SCHOOLEY SKIBBER
        contest "c-referendum": NameVariants: names kept apart: No | NO
        contest "c-referendum": NameVariants: names kept apart: Yes | YES
        AARON LEE ARNDT (): 1
        ADAM KINZINGER (): 4
        ADAM KISSINGER (): 1
        ADRIAN KRALL (): 1
        ALEXIS A PRINKLEY (): 1
        ALICE COOPER (): 1
        Alix C. Toulme Jr. (): 1
        ALIYA M RAJNIC (): 1
        AMY CONEY BARRETT (): 1
        Andre Ramon McNeil Sr. (): 0
        ANDREW P DAVIDSON (): 1
        ANDREW R KURTZ (): 1
        ANDREW TREESE (): 1
        ANDREW YANG (): 1
        ANDY FRISELLA (): 1
        ANDY STANLEY (): 1
        Angela Dwyer (): 0
        ANTHONY M MAURER STEVEN SAUL PETERS (): 1
        ANTHONY SCOTT WATSON (): 1
        ANTHONY TROEGER (): 1
        APRIL HILLER (): 1
        ASA HUTCHINSON (): 2
        Assigned (party-not): 0
        ATLAS WHITTLE (): 1
        BARRY WEISE (): 1
        BEN CARSON (): 12
        BEN CARSON NIKKI HALEY (): 1
        BEN DAVIS (): 1
        BEN SASSE (): 6
        BENJAMIN SOTA (): 1
        BERNIE SANDERS (): 11
        BILL BRADLEY (): 1
        BILL LAIMBEER (): 1
        BOB CASEY (): 1
        BOB KEADLE (): 1
        BOB MCMICHAEL (): 1
        BRANDON C HEUYARD (): 1
        BRENDA STIPANOVICH (): 1
        BRENNAN DALE (): 1
        BRET PETTERSON (): 1
        BRIAN FITZPATRICK (): 1
        BRIAN HOFFMAN (): 1
        BRIAN KEMP (): 6
        BRIAN PARRY (): 1
        BRIAN PETER LOCKMAN (): 1
        BRIANNE SMITH (): 1
        BRITTANI NELSON (): 1
        BRUCE DETZ (): 1
        BRYAN CUTLER (): 3
        CALVIN C BROUDUS (): 1
        Carol Ashwer (): 0
        CARRIE QUINN (): 1
        CHAD KELLER (): 1
        CHAD QUNERS (): 1
        CHARLIE REIDENBACH (): 1
        CHASE OLIVER AND MIKE TER MAAT (party-lib): 214
        Chase Oliver (party-lib): 15966
        CHASE OLIVER (party-lib): 9078
        CHASE OLIVER / MIKE TER (party-lib): 193
        CHASE OLIVER / MIKE TER MAAT (party-lib): 502
        Chase Oliver / Mike ter Maat (party-lib): 268
        CHASE OLIVER, PRESIDENT / MIKE TER MAAT, VICE-PRESIDENT (party-lib): 337
        CHRIS CHRISTIE (): 15
        Chris Franklin (): 0
        CHRIS HUME (): 2
        CHRIS WALKER (): 1
        CHRIS YOUSSEF (): 1
        CHRISTIAN HUSS (): 1
        Christin Powers (): 0
        Christopher Stried (): 0
        CLATON HALDEMAN (): 1
        CLAUDIA DE LA CRUZ (): 1
        CLAUDIA DELACRUZ (): 11
        CLAUDIA DELACRUZ KARINA GARCIA (): 17
        CLYDE ERB (): 1
        CODY RHODES ANTHONY MAURER (): 1
        COLTON ORDURE (): 1
        CONAN OBRIEN (): 1
        CONDOLEEZA RICE (): 10
        COREY STAPLETON (): 1
        CORNEL WEST (): 16
        CORNEL WEST MELICIA ABDULLAH (): 3
        CORNELL WEST (): 2
        DAN CRENSHAW (): 1
        DAN SULLIVAN (): 1
        DAN WAGNER (): 1
        DARRIEN HILLIARD (): 1
        DAVE GREINER (): 1
        DAVE MAZZARELLI (): 1
        DAVE PATTERSON (): 1
        DAVEY BUCKWALTER (): 1
        DAVID A WEIDMAN (): 1
        DAVID BROOKS (): 1
        DAVID DUKE (): 2
        DAVID E WOOD (): 1
        DAVID HERTZOG (): 1
        DEAN KISSINGER (): 1
        DEAN PHILLIPS (): 2
        DENZEL WASHINGTON (): 1
        DEREK LONGANECKER (): 1
        DOLLY PARTON (): 1
        DOLPH LUNDGREN (): 1
        DOMINIC SPADEA JR (): 1
        DON EBERLY (): 1
        DONALD J TRUMP AND JD VANCE (party-rep): 29685
        DONALD J TRUMP / JD VANCE (party-rep): 56837
        DONALD J TRUMP/ JD VANCE (party-rep): 21190
        Donald J Trump / JD Vance (party-rep): 18235
        Donald J. Trump / JD Vance (party-rep): 21537
        DONALD J. TRUMP, PRESIDENT / JD VANCE, VICE-PRESIDENT (party-rep): 49408
        Donald J. Trump (party-rep): 1454874
        DONALD J TRUMP (party-rep): 908650
        Donald J Trump (party-rep): 222213
        DONALD J. TRUMP (party-rep): 45111
        Doug Bell (): 0
        DOUG DUCEY (): 2
        DOUGLAS BELL (): 2
        DUANE HEVENER (): 1
        DWAYNE DOUGLAS JOHNSON (): 2
        ED KOCH (): 1
        EDDIE MYERS III (): 1
        EDWARD CHRISTINE (): 1
        Edward Shlikas (): 0
        EMANUEL BLAU (): 1
        EMILY SOLARZANO (): 1
        ENRIQUE SOLOIZONO (): 1
        ERIC D HERR (): 1
        ERIC HINE (): 1
        ERIC L SETTLE (): 1
        EVAN MCMULLIN (): 1
        FRANCIS X RYAN (): 1
        FRANK YOUNG (): 1
        FRED DURST (): 1
        FYNN KEYSER (): 1
        GARY JOHNSON (): 1
        GEORGE THOMPSON (): 1
        GERALDEEN BECKER (): 1
        GERRY KEENER (): 1
        GLENN JACOBS (): 1
        GLENN YOUNGKIN (): 3
        GLENN YOUNGKIN TIMOTHY SCOTT (): 1
        Greenville (): 10
        GREG ABBOTT JOSH SHAPIRO (): 1
        Grove City (): 15
        HARRIS and WALZ (party-dem): 85504
        Harris and Walz (party-dem): 96317
        HARRIS (party-dem): 86655
        HARRIS / WALZ (party-dem): 97648
        Harris / Walz (party-dem): 24081
        Hempfield Township (): 6
        HENRY J REESE (): 1
        HILLARY CLINTON (): 4
        HIND RAJAS (): 1
        HODA KOTB (): 1
        HUONG NGUYEN (): 1
        JACK MACONVILLE (): 1
        JACK SMITH (): 1
        JACOB DEAK (): 1
        JAMES BUOHL (): 1
        JAMES EARL CARTER JR (): 2
        JAMES MATTIS (): 1
        JAMES MURPH (): 1
        JAMES N CLYMER (): 1
        JAMES ROW (): 1
        JAMIE DIAMOND (): 1
        JAMIE DIMON ANDREW ROSS SORKIN (): 1
        JAMIE JUNK (): 1
        JANELLE STELSON (): 2
        JARED POLIS (): 1
        JASON HAFER (): 1
        JASON KELCE (): 2
        Jay J. Bowman (): 0
        JC WATTS (): 1
        JD VANCE (): 27
        JEB BUSH (): 1
        JED BARTLETT (): 2
        JEFF BERWICK (): 1
        JEFF SMELSER (): 1
        JEFFERSON F DUN (): 1
        JEFFREY SCOTT HOWE (): 1
        JILL STEIN AND RUDOLPH WARE (party-grn): 115
        JILL STEIN (party-gre): 2984
        Jill Stein (party-gre): 48
        Jill Stein (party-grn): 14920
        JILL STEIN (party-grn): 5053
        JILL STEIN, PRESIDENT / RUDOLPH WARE, VICE-PRESIDENT (party-grn): 214
        JILL STEIN / RUDOLPH WARE (party-grn): 418
        Jill Stein / Rudolph Ware (party-grn): 200
        Jimmy Giles (): 0
        JOCKO WILLINK (): 1
        JOE BIDEN (): 7
        JOE MANCHIN (): 7
        JOE MANCHIN III (): 1
        JOEL SAINT (): 5
        JOEL SKOUSEN (): 2
        JOHN BINGAMAN (): 2
        John E. Diaz (): 0
        JOHN E YOST (): 1
        JOHN FETTERMAN (): 1
        JOHN HOOVER (): 1
        JOHN HUNTSMAN JR (): 1
        JOHN HYTEN VINCE GUARINI (): 1
        JOHN KASICH (): 2
        JOHN KELLY (): 1
        JOHN KENNEDY (): 2
        JOHN MORRELL (): 1
        JOHN MOWRER (): 1
        JOHN STEWART (): 1
        JON BON JOVI (): 1
        JON STEWART (): 1
        JONAH GOLDBERG (): 1
        JONATHAN MOUNT (): 1
        JONATHAN SHIRK (): 1
        JORDAN B PETERSON (): 1
        JOSE R GARZA JR (): 1
        JOSEPH BURCHILL (): 1
        JOSEPH MANCHIN III PAUL RYAN (): 1
        JOSEPH SHARIPO (): 1
        JOSEPH WORKS (): 1
        JOSEPH YANNELLI (): 1
        JOSH KASICH (): 1
        JOSH SHAPIRO (): 23
        JOSHUA HAMASCHIACH (): 1
        JOSHUA NICE (): 1
        JUSTIN AMASH (): 1
        JUSTIN "CHUCK" ENCK (): 1
        KAIDEN KRALL (): 1
        KAMALA D HARRIS AND TIM WALZ (party-dem): 12858
        Kamala D. Harris (party-dem): 1410079
        KAMALA D HARRIS (party-dem): 779677
        Kamala D Harris (party-dem): 144260
        KAMALA D. HARRIS (party-dem): 21602
        KAMALA D. HARRIS, PRESIDENT / TIM WALZ, VICE-PRESIDENT (party-dem): 21177
        KAMALA D HARRIS / TIM WALZ (party-dem): 48279
        Kamala D Harris / Tim Walz (party-dem): 4707
        Kamala D. Harris / Tim Walz (party-dem): 13132
        KANDRA MILLER (): 1
        KANYE WEST (): 2
        KEITH BLETZ (): 1
        KEITH DUHL (): 1
        KEITH FOUNTAIN (): 1
        KEITH ROHRER (): 2
        KEN I JOYNIS JR (): 1
        KENDRICK LAMAR (): 2
        KENNEY DEY (): 1
        KWON DANTE JEFFERSON (): 1
        KYLE NUSTY (): 1
        KYRSTEN SINEMA (): 1
        LARRY HOGAN (): 7
        LARRY HOGAN JOSH SHAPIRO (): 1
        LEBRON JAMES (): 2
        LIONEL MESSI (): 1
        LISA MUELLER (): 2
        LIZ CHENEY (): 21
        LIZ CHENEY PAUL RYAN (): 1
        LIZ CHENY (): 1
        LLOYD HERTZOG (): 1
        MADISON SISK-KOLEK (): 1
        MALIK NABERS (): 1
        MARC ROHRER (): 1
        MARCO RUBIO (): 2
        MARIANNE WILLIAMSON ROBERT F KENNEDY JR (): 1
        MARIS KURCING (): 1
        MARK A STEGER (): 1
        MARK CUBAN (): 2
        MARK DORNES (): 2
        MARK ESPER (): 1
        MARK KELLY (): 1
        MARY NAVARRO (): 1
        MARYELLEN MCKIG (): 1
        MATT ENNIS (): 1
        MATT STOVER (): 2
        MATT ZINK (): 1
        MEGAN HORST (): 1
        MEGAN JEAN MAYFIELD (): 1
        MELISSA M SHULTZ (): 1
        MERV BORTNER JR (): 1
        MICHAEL E HOFFMAN (): 1
        MICHAEL EDWARD DELEONIBUS II (): 1
        MICHAEL FARRIS (): 1
        MICHAEL L DAIN (): 1
        MICHAEL LUCKENBILL (): 1
        MICHAEL P MAYES (): 1
        MICHAEL PENCE (): 1
        MICHAEL POMPEO (): 18
        MICHAEL REGAN (): 1
        MICHAEL WOOD (): 1
        MICHELLE OBAMA (): 2
        MIKE HUCKABEE (): 2
        MIKE PENCE (): 86
        MIKE PENCE MIKE POMPEO (): 1
        MIKE PENCE NIKKI HALEY (): 1
        MIKE ROB (): 1
        MIKE ROWE (): 1
        MITCH DANIELS (): 1
        MITT ROMNEY (): 20
        MITT ROMNEY JD VANCE (): 1
        MITT ROMNEY MIKE PENCE (): 1
        NADE J PRESCOTT (): 1
        NATHAN BIRX (): 1
        NICHOLAS J FUENTES JOHN PORK (): 2
        NICHOLAS PETTIE JR (): 1
        NICHOLE SHANAHAN (): 1
        NIKKI HALEY (): 402
        NIKKI HALEY ASA HUTCHINSON (): 1
        NIKKI HALEY JD VANCE (): 1
        NIKKI HALEY JOSH SHAPIRO (): 1
        NIKKI HALEY LIZ CHANEY (): 1
        NIKKI HALEY MARC RUBIO (): 1
        NIKKI HALEY MIKE PENCE (): 2
        NIKKI HALEY MITT ROMNEY (): 1
        NIKKI HALEY TED CRUZ (): 1
        NITTANY BASS (): 1
        NOAH FOWLER IV (): 1
        Not Assigned (): 222
        OLIVER and TER MAAT (party-lib): 889
        Oliver and ter Maat (party-lib): 855
        OLIVER (party-lib): 813
        OLIVER / MAAT (party-lib): 640
        OLIVER / TER MAAT (party-lib): 623
        Oliver / Ter Maat (party-lib): 17
        Oliver / ter Maat (party-lib): 457
        OREN CASS MARK RODGERS (): 1
        PAT PAULSON (): 1
        PAT TOOMEY (): 3
        Patrick Christian (): 0
        PATTY LEISHBERGER (): 1
        PAUL H SOUDERS (): 1
        PAUL HINNENKAMP (): 1
        PAUL MCNULTY (): 1
        PAUL RYAN (): 6
        Paul Vincent Catanese (): 0
        PENNY MAYO (): 1
        Perry Jones (): 0
        PETE BUTTIGIEG (): 2
        PETER PONKRATZ (): 1
        PETER SONSKI (): 101
        PETER SONSKI LAUREN ONAK (): 72
        PHILLIP KASYER (): 1
        PHILLIP KAYSER (): 1
        PICASSO SOLARO TERRY SOLARO (): 1
        Pine Township (): 5
        Pymatuning Township (): 3
        QUINTON ACKERMAN (): 1
        RACHEL LEE ZIMMERMAN (): 1
        RALPH NADER (): 1
        RAND PAUL (): 2
        RANDALL TERRY (): 17
        RANDALL TERRY STEPHEN BRODEN (): 9
        RASHIDA TLAIB (): 3
        Rich Marin (): 0
        RICHARD B HALL (): 1
        Richard Root (): 0
        RICHARD RUTTO (): 1
        RICK ASTLEY (): 1
        RICK SANTORUM (): 1
        RIVERS CUOMO (): 1
        ROBERT BARRON (): 1
        ROBERT BISHOP (): 1
        ROBERT F KENNEDY JR (): 95
        ROBERT F KENNEDY JR NICOLE SHANAHAN (): 3
        ROBERT KENNEDY (): 3
        ROBERT NICHOLAS BURNS (): 1
        ROBERT SPROLES (): 1
        ROGER ZIMMERMAN (): 1
        RON DESANTIS (): 22
        RON DESANTIS JEANETTE NUNEZ (): 1
        RON PAUL (): 10
        RONALD REAGAN (): 2
        ROSS DOUTHAT (): 2
        ROSS OLWEILER (): 1
        ROY LOWE (): 1
        RUFUS BAPTISTA (): 1
        RYAN BINKLEY (): 3
        RYAN LAUTHERS (): 1
        SANDY DAVIS (): 1
        SAQUON BURKLEY (): 1
        SCATTER (): 281
        Scattered (): 11
        SCOTT A GOLETZ (): 1
        SETH FUGIE (): 1
        SETH WILLIAM HILLER (): 1
        Sethatina Newman (): 0
        SHANE BATTIERsY (): 1
        Sharpsville Borough (): 6
        SHAWN WEAVER (): 1
        SHERYL SANDBERG (): 1
        SHIVA AYYADURAI (): 5
        Shiva Ayyadurai (): 0
        Shondra Irving (): 0
        SNOOP DOGG (): 4
        South Pymatuning Township (): 3
        SPENCER PHILLIPS (): 1
        STANLEY KUBRICK (): 1
        STEIN and WARE (party-gnp): 218
        STEIN and WARE (party-grn): 467
        Stein and Ware (party-grn): 1431
        STEIN (party-grn): 930
        STEIN / WARE (party-grn): 933
        Stein / Ware (party-grn): 290
        STEPHEN L FOLEY (): 1
        STEVE HARVEY (): 1
        STEVE LIGHT (): 1
        STEVE POLONUS (): 2
        Susan Maude Buchser (): 0
        SUSEN CLARK (): 1
        Suzie Scott (): 0
        SYDNEY O CALVERT (): 1
        SYLVAN STOLTZFUS (): 1
        TAMOR UNARI (): 1
        TATER B NASH (): 1
        TAYLOR ALISON SWIFT (): 1
        TED CRUZ (): 1
        THOMAS J GERA (): 1
        THOMAS LEE WOMBLES (): 1
        THOMAS POWELL (): 1
        THOMAS WOHLFIELD (): 1
        TIM ROGERS (): 1
        TIM SCOTT (): 6
        TIMM HESS (): 1
        TIMOHTY HEMPERLY (): 1
        TIMOTHY BROEN (): 1
        TODD BROWN (): 1
        TODD F LEHMAN (): 1
        TOM AARON (): 1
        TOM KARLI (): 1
        TOME HOEFLING ANDY PRIOR (): 2
        TRIPP GANNON (): 1
        TROY DEBRUIN (): 1
        TRUMP and VANCE (party-rep): 112174
        Trump and Vance (party-rep): 91207
        TRUMP (party-rep): 89817
        TRUMP / VANCE (party-rep): 195605
        Trump / Vance (party-rep): 61258
        TUCKER CARLSON (): 1
        TULSI GABBARD (): 15
        TULSI GABBARD ROBERT F KENNEDY JR (): 1
        TYLER THOMSON (): 1
        Unresolved Write-In (): 0
        VERMIN SUPREME (): 1
        VIVEK RAMASWAMY (): 4
        VLADMIR ZELINSKY (): 1
        WARREN BUFFET (): 2
        WILLIAM BORDEN (): 1
        William Cody Nalbach (): 0
        WILLIAM MCMICHAEL (): 1
        WILLIAM N HOFF (): 1
        William Peterson (): 0
        WILLIE NELSON (): 1
        WILMER VALDERRAMA (): 1
        Write-in (): 2013
        Write-In (): 81
        Write-In: Ben Sasse (): 1
        Write-In: Benjamin E. Sasse (): 1
        Write-In: Blank (): 2
        Write-In: Cornel West (): 2
        Write-In: Elizabeth Cheney (): 1
        Write-In: Gloria de la Riva (): 1
        Write-In: Invalid (): 37
        Write-In: John Kasich (): 2
        Write-In: Joseph Rogan (): 1
        Write-In: Mark A. Zamboni (): 1
        Write-In: Matt Whitman (): 1
        Write-In: Mike Pence (): 1
        Write-In: Nikki Hailey (): 1
        Write-In: Nikki Haley (): 15
        Write-In: NIKKI HALEY (): 9
        Write-In: Nimarata Nikki Haley (): 1
        Write-in (party-non): 4152
        Write-In: Peter Sonski (): 4
        Write-In: Robert F Kennedy (): 1
        Write-In: Robert F. Kennedy Jr (): 11
        Write-In: ROBERT KENNEDY (): 4
        Write-In: Ron DeSantis (): 1
        Write-In: Scattered (): 345
        Write-In: SCATTERED (): 34
        Write-In: Sonski Onak (): 1
        Write-In: TIMOTHY D HAUGH (): 2
        Write-In (party-total): 926
        Write-In Totals (): 106
        Write-in (party-wi): 8
        Write-ins (): 8511
        Write-Ins (): 582
        Write0ins (): 65
        YESHUA HA MESHACH (): 1
        YULSI GABBARD (): 1
        ZACHARY JOHN SCOTT (): 1
    "#]].assert_eq(&report);
}

#[test]
fn csv_snapshot_round_trips_through_nist_json_and_xml() {
    let Some(data) = common::data_dir("csv_snapshot_round_trips_through_nist_json_and_xml") else {
        return;
    };
    let path = data.join(
        "openelections/pa-2024-general-precinct/20241105__pa__general__luzerne__precinct.csv",
    );
    let options = CsvOptions::new("Pennsylvania", "2024 General Election", "2024-11-05");
    let s = import_file(&path, &options).snapshot;
    let nist = urne_results::NistOptions::default();
    let mut json = Vec::new();
    urne_results::export_nist_json(&s, "2024-11-05T20:00:00Z", &mut json).unwrap();
    let back = urne_results::import_nist_json_bytes("luzerne.json", &json, &nist)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back.snapshot, s);
    let mut xml = Vec::new();
    urne_results::export_nist_xml(&s, "2024-11-05T20:00:00Z", &mut xml).unwrap();
    let back = urne_results::import_nist_xml_bytes("luzerne.xml", &xml, &nist)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back.snapshot, s);
}
