//! `urne serve --demo`: an election night on real results, published the way officials do.
//!
//! Three demo officials (keys in `<data>/demo-officials/`, 2 of 3 must sign) publish the trust
//! policy, then successive results releases of one county (partial → complete, growing
//! counts) every few seconds: each is a bundle written to `<data>/demo-bundles/`, signed by two
//! officials and uploaded with the same HTTP request as `urne publish`. The server gets no
//! shortcut: it checks the signatures, the stream order and the decrease rule as for anyone.
//!
//! Data: the Appling County, GA 2018 general election precinct file from OpenElections in
//! `../shared/data` when present, else the small fixture committed in `crates/cli/demo/`.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context, bail};
use urne_release::{
    Status,
    manifest::{ElectionId, Sha256Hash},
};
use urne_results::{CsvOptions, CsvSource, Limits, ReportStatus, ReportingStatus, ValidSnapshot};
use urne_tlog::note::Ed25519Signer;

use crate::{bundle::Bundle, officials};

/// The committed fallback: a slice of a real OpenElections county file.
pub const FIXTURE: &str = include_str!("../demo/20181106__ga__general__appling__precinct.csv");
/// The shared-data file preferred over the fixture.
const SHARED_FILE: &str =
    "openelections/ga-2018-general-precinct/20181106__ga__general__appling__precinct.csv";
/// Officials and the threshold of the demo policy.
const OFFICIALS: [&str; 3] = ["registrar", "deputy", "observer"];
const THRESHOLD: usize = 2;
/// Fractions of precincts reporting in successive releases (the last is complete).
const STEPS: [(u64, u64); 6] = [(1, 10), (1, 4), (1, 2), (3, 4), (9, 10), (1, 1)];

/// Runs the demo publisher against the server at `server` until every release is out.
pub async fn run(data: PathBuf, server: String, every: Duration) -> anyhow::Result<()> {
    let officials = tokio::task::spawn_blocking({
        let data = data.clone();
        move || load_or_make_officials(&data)
    })
    .await??;
    let bundles = data.join("demo-bundles");
    // The policy: published once per log; a retry of the same bundle is answered "already".
    let policy_dir = bundles.join("policy");
    if !policy_dir.join(crate::bundle::MANIFEST_FILE).exists() {
        let args = officials::PolicyArgs {
            officials: officials.iter().map(Ed25519Signer::verifier).collect(),
            threshold: THRESHOLD,
            log: None,
            witnesses: Vec::new(),
            witness_quorum: None,
            status: Status::Test,
            previous: None,
            sequence: 0,
            timestamp: officials::now(),
        };
        officials::policy_init(&args, &policy_dir)?;
    }
    publish_signed(&policy_dir, &officials, &server).await?;
    let (source, csv) = source_csv();
    let full = import_csv(&source, &csv)?;
    let (election, first_run) = election_id(&bundles);
    println!(
        "demo: publishing {} releases of {} ({}) every {}s",
        STEPS.len(),
        election,
        source,
        every.as_secs()
    );
    let mut previous: Option<Sha256Hash> = None;
    for (sequence, &(num, den)) in (0u64..).zip(STEPS.iter()) {
        if sequence > 0 || !first_run {
            tokio::time::sleep(every).await;
        }
        let complete = num == den;
        let snapshot = partial(&full, num, den)?;
        let release = officials::ResultsRelease {
            election: ElectionId::new(&election).expect("a valid demo election id"),
            sequence,
            previous,
            status: Status::Unofficial,
            correction: None,
            timestamp: officials::now(),
        };
        let dir = bundles.join(format!("{election}-{sequence:03}"));
        let bundle = release.write_bundle(&snapshot, &dir)?;
        previous = Some(urne_release::manifest::sha256(bundle.manifest.as_bytes()));
        let answer = publish_signed(&dir, &officials, &server).await?;
        println!(
            "demo: release {sequence} ({num}/{den} of precincts{}): {}",
            if complete { ", complete" } else { "" },
            answer.trim()
        );
    }
    println!("demo: election night is over; every release is in the log");
    Ok(())
}

/// Signs a bundle with the first `THRESHOLD` officials and uploads it.
async fn publish_signed(
    dir: &Path,
    officials: &[Ed25519Signer],
    server: &str,
) -> anyhow::Result<String> {
    let dir = dir.to_owned();
    let officials = officials.to_vec();
    let server = server.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut bundle = Bundle::read(&dir)?;
        for o in officials.iter().take(THRESHOLD) {
            bundle.sign(o)?;
        }
        let answer = officials::publish(&bundle, &server)?;
        if answer.status != 200 {
            bail!(
                "the server refused {}: {} {}",
                dir.display(),
                answer.status,
                answer.text.trim()
            );
        }
        Ok(answer.text)
    })
    .await?
}

fn load_or_make_officials(data: &Path) -> anyhow::Result<Vec<Ed25519Signer>> {
    let dir = data.join("demo-officials");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    OFFICIALS
        .iter()
        .map(|name| {
            let path = dir.join(format!("{name}.key"));
            if !path.exists() {
                officials::keygen(name, &path)?;
            }
            officials::read_signer(&path)
        })
        .collect()
}

/// The first election id of the form `ga-2018-appling-demo[-N]` with no bundles yet, and
/// whether it is the first run of this data directory.
fn election_id(bundles: &Path) -> (String, bool) {
    let base = "ga-2018-appling-demo";
    for run in 1.. {
        let id = match run {
            1 => base.to_owned(),
            n => format!("{base}-{n}"),
        };
        if !bundles.join(format!("{id}-000")).exists() {
            return (id, run == 1);
        }
    }
    unreachable!("some run number is free")
}

fn source_csv() -> (String, String) {
    let shared = urne_testdata_free_lookup();
    if let Some(path) = shared
        && let Ok(text) = std::fs::read_to_string(&path)
    {
        return (path.display().to_string(), text);
    }
    (
        "crates/cli/demo/ (committed fixture)".to_owned(),
        FIXTURE.to_owned(),
    )
}

/// `URNE_SHARED_DATA` or `../shared/data` from the current directory.
fn urne_testdata_free_lookup() -> Option<PathBuf> {
    let root = std::env::var_os("URNE_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/data"));
    let path = root.join(SHARED_FILE);
    path.is_file().then_some(path)
}

/// The committed fixture as a snapshot (for tests and the demo).
pub fn fixture_snapshot() -> anyhow::Result<ValidSnapshot> {
    import_csv("demo fixture", FIXTURE)
}

/// Imports one OpenElections CSV text as the demo's county snapshot.
pub fn import_csv(source: &str, csv: &str) -> anyhow::Result<ValidSnapshot> {
    let mut options = CsvOptions::new("Georgia", "2018 General Election", "2018-11-06");
    options.status = ReportStatus::UnofficialComplete;
    let imported = urne_results::import_openelections_csv(
        vec![CsvSource {
            name: source.to_owned(),
            reader: csv.as_bytes(),
        }],
        &options,
    )?;
    Ok(imported.snapshot)
}

/// The snapshot with only the first `num/den` of its precincts (leaf units) counted: the
/// others have no counts yet and are marked not started. Counts only grow from step to step.
pub fn partial(full: &ValidSnapshot, num: u64, den: u64) -> anyhow::Result<ValidSnapshot> {
    let mut s = full.snapshot().clone();
    let leaves: Vec<String> = s
        .units
        .iter()
        .filter(|u| u.children.is_empty())
        .map(|u| u.id.clone())
        .collect();
    let reporting = (leaves.len() as u64 * num).div_ceil(den) as usize;
    let counted: std::collections::BTreeSet<String> = leaves[..reporting].iter().cloned().collect();
    let leaves: std::collections::BTreeSet<String> = leaves.into_iter().collect();
    for u in &mut s.units {
        if u.children.is_empty() {
            let done = counted.contains(&u.id);
            u.facts.reporting = Some(match done {
                true => ReportingStatus::Complete,
                false => ReportingStatus::NotStarted,
            });
        }
    }
    // By position in `s.units`: whether that unit's counts are in this release.
    let kept: Vec<bool> = s
        .units
        .iter()
        .map(|u| counted.contains(&u.id) || !leaves.contains(&u.id))
        .collect();
    for c in &mut s.contests {
        c.counts
            .retain(|vc| kept.get(vc.unit as usize).copied().unwrap_or(true));
        c.other_counts
            .retain(|oc| counted.contains(oc.unit.as_str()) || !leaves.contains(oc.unit.as_str()));
    }
    s.status = match num == den {
        true => ReportStatus::UnofficialComplete,
        false => ReportStatus::UnofficialPartial,
    };
    let mut warnings = Vec::new();
    urne_results::validate("demo release", s, &Limits::DEFAULT, &mut warnings)
        .map_err(|e| anyhow::anyhow!("{e}"))
}
