//! The edges of urne's tally: reads an RCTab contest config and its CVR files, runs the pure
//! `urne-tally` core, and writes RCTab's reports.
//!
//! `run(config, out_dir)` writes `detailed_report.json`, `detailed_report.csv`,
//! `summary_report.csv`, and per slice `precinct/<id>/…` / `batch/<id>/…` (ids sanitized as
//! RCTab does).
#![forbid(unsafe_code)]

pub mod bundle;
pub mod cdf_tally;
pub mod config;
pub mod readers;
pub mod snapshot;
pub mod xlsx;

use std::path::{Path, PathBuf};

use urne_tally::model::{Ballots, Cand, WinnerMode};
use urne_tally::rcv::{Outcome, Setup, SliceKind, TallyError};
use urne_tally::report::{self, ReportInput};

pub use cdf_tally::tally_cdf_report;
pub use config::Config;
pub use snapshot::{ResultsSnapshot, results_snapshot};

/// Everything that can go wrong reading, tabulating or writing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("{file}: {source}")]
    Io {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: at {path}: {rule}")]
    Config {
        file: PathBuf,
        path: String,
        rule: String,
    },
    #[error("{file}: {at}: {rule}")]
    Cvr {
        file: PathBuf,
        at: String,
        rule: String,
    },
    #[error("{file}: {at}: choice {name:?} is not a candidate, alias or label of the config")]
    UnknownCandidate {
        file: PathBuf,
        at: String,
        name: String,
    },
    #[error("{file}: CVR provider {provider} is not supported yet")]
    Unsupported { file: PathBuf, provider: String },
    #[error("{file}: the tally is not a valid results snapshot: {source}")]
    Results {
        file: PathBuf,
        source: urne_results::ImportError,
    },
    #[error("{file}: tabulation stopped: {source}")]
    Tally { file: PathBuf, source: TallyError },
}

/// What a run produced.
#[derive(Debug)]
pub struct Report {
    /// Winners in the order elected.
    pub winners: Vec<String>,
    /// Rounds tabulated.
    pub rounds: u32,
    /// Ballots read.
    pub ballots: usize,
    /// Files written, relative to the output directory.
    pub files: Vec<PathBuf>,
    /// The tally as a validated results snapshot (also written as `results.json`).
    pub results: ResultsSnapshot,
}

/// Reads and validates a config file.
pub fn load_config(config_path: &Path) -> Result<Config, Error> {
    let meta = std::fs::metadata(config_path).map_err(|e| Error::Io {
        file: config_path.to_path_buf(),
        source: e,
    })?;
    if meta.len() > config::CONFIG_BYTES_MAX {
        return Err(Error::Config {
            file: config_path.to_path_buf(),
            path: "$".into(),
            rule: format!("larger than {} bytes", config::CONFIG_BYTES_MAX),
        });
    }
    let text = std::fs::read_to_string(config_path).map_err(|e| Error::Io {
        file: config_path.to_path_buf(),
        source: e,
    })?;
    config::parse(config_path, &text)
}

/// Reads every CVR source of a config, several sources at once when cores allow; ballots keep
/// the config's source order.
pub fn read_ballots(config: &Config) -> Result<Ballots, Error> {
    read_ballots_with(config, false)
}

/// [`read_ballots`], optionally keeping vendor identifiers (for the normalised CVR CSV).
pub fn read_ballots_with(config: &Config, keep_vendor_ids: bool) -> Result<Ballots, Error> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(config.sources.len())
        .max(1);
    if threads == 1 {
        let mut ballots = Ballots::with_vendor_ids(keep_vendor_ids);
        for source in &config.sources {
            read_source(config, source, &mut ballots)?;
        }
        return Ok(ballots);
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut parts: Vec<(usize, Result<Ballots, Error>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(source) = config.sources.get(i) else {
                            break;
                        };
                        let mut part = Ballots::with_vendor_ids(keep_vendor_ids);
                        let result = read_source(config, source, &mut part).map(|()| part);
                        let failed = result.is_err();
                        done.push((i, result));
                        if failed {
                            break;
                        }
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    });
    parts.sort_by_key(|p| p.0);
    let mut ballots = Ballots::with_vendor_ids(keep_vendor_ids);
    for (_, part) in parts {
        let part = part?;
        if ballots.is_empty() {
            ballots = part;
        } else {
            ballots.append(part);
        }
    }
    Ok(ballots)
}

fn read_source(
    config: &Config,
    source: &config::Source,
    ballots: &mut Ballots,
) -> Result<(), Error> {
    let names = readers::Names::new(config);
    ballots.current_source = source.index as u16;
    if !source.resolved.exists() {
        return Err(Error::Cvr {
            file: source.resolved.clone(),
            at: format!("$.cvrFileSources[{}].filePath", source.index),
            rule: "the CVR file does not exist".into(),
        });
    }
    match source.provider {
        config::Provider::Ess => readers::read_ess(config, source, &names, ballots),
        config::Provider::Cdf => readers::read_cdf(config, source, &names, ballots),
        config::Provider::Dominion => readers::read_dominion(config, source, &names, ballots),
        config::Provider::Hart => readers::read_hart(config, source, &names, ballots),
        config::Provider::ClearBallot => {
            readers::read_clear_ballot(config, source, &names, ballots)
        }
        config::Provider::GenericCsv => readers::read_generic_csv(config, source, &names, ballots),
    }
}

/// Tabulates ballots under a config.
pub fn tabulate(config: &Config, ballots: &Ballots) -> Result<Outcome, Error> {
    let mut slices = Vec::new();
    if config.tabulate_by_precinct {
        slices.push(SliceKind::Precinct);
    }
    if config.tabulate_by_batch {
        slices.push(SliceKind::Batch);
    }
    let setup = Setup {
        contest: &config.contest,
        rules: &config.rules,
        permutation: config.permutation.clone(),
        slices,
        record_snapshots: config.generate_cdf_json,
    };
    urne_tally::tabulate(setup, ballots).map_err(|e| Error::Tally {
        file: config.path.clone(),
        source: e,
    })
}

fn write(out_dir: &Path, rel: PathBuf, text: &str, files: &mut Vec<PathBuf>) -> Result<(), Error> {
    let path = out_dir.join(&rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::Io {
            file: parent.to_path_buf(),
            source: e,
        })?;
    }
    std::fs::write(&path, text).map_err(|e| Error::Io {
        file: path.clone(),
        source: e,
    })?;
    files.push(rel);
    Ok(())
}

/// Reads `config_path`, tabulates, and writes the reports into `out_dir`. Multi-pass IRV
/// writes each pass under `pass_<i>/`.
pub fn run(config_path: &Path, out_dir: &Path) -> Result<Report, Error> {
    let config = load_config(config_path)?;
    let ballots = read_ballots(&config)?;
    let mut files = Vec::new();
    if config.rules.mode != WinnerMode::MultiPassIrv {
        let outcome = tabulate(&config, &ballots)?;
        write_reports(
            &config,
            &ballots,
            &outcome,
            out_dir,
            Path::new(""),
            &mut files,
        )?;
        let results = results_snapshot(&config, &ballots, &[(&config.contest, &outcome)])?;
        write_results(&results, out_dir, &mut files)?;
        return Ok(Report {
            winners: outcome
                .winners
                .iter()
                .map(|w| config.contest.name(w.0).to_string())
                .collect(),
            rounds: outcome.num_rounds(),
            ballots: ballots.len(),
            files,
            results,
        });
    }
    // Multi-pass IRV: one single-winner pass per seat, each excluding the earlier winners.
    let mut pass_config = config.clone();
    let seats = config.rules.number_of_winners;
    pass_config.rules.number_of_winners = 1;
    let mut winners = Vec::new();
    let mut rounds = 0;
    let mut passes = Vec::new();
    for pass in 1..=seats {
        let outcome = tabulate(&pass_config, &ballots)?;
        let dir = PathBuf::from(format!("pass_{pass}"));
        write_reports(&pass_config, &ballots, &outcome, out_dir, &dir, &mut files)?;
        rounds += outcome.num_rounds();
        let contest = pass_config.contest.clone();
        for (w, _) in &outcome.winners {
            winners.push(config.contest.name(*w).to_string());
            pass_config.contest.excluded[*w as usize] = true;
        }
        passes.push((contest, outcome));
        if pass_config.contest.num_candidates() == 0 {
            break;
        }
    }
    let refs: Vec<_> = passes.iter().map(|(c, o)| (c, o)).collect();
    let results = results_snapshot(&config, &ballots, &refs)?;
    write_results(&results, out_dir, &mut files)?;
    Ok(Report {
        winners,
        rounds,
        ballots: ballots.len(),
        files,
        results,
    })
}

/// Writes the snapshot as NIST SP 1500-100 JSON (`results.json`), which `urne` imports.
fn write_results(
    results: &ResultsSnapshot,
    out_dir: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<(), Error> {
    let mut bytes = Vec::new();
    urne_results::export_nist_json(&results.snapshot, &generated_date(), &mut bytes).map_err(
        |e| Error::Io {
            file: out_dir.join("results.json"),
            source: e,
        },
    )?;
    let text = String::from_utf8(bytes).map_err(|e| Error::Io {
        file: out_dir.join("results.json"),
        source: std::io::Error::other(e),
    })?;
    write(out_dir, "results.json".into(), &text, files)
}

fn write_reports(
    config: &Config,
    ballots: &Ballots,
    outcome: &Outcome,
    out_dir: &Path,
    sub: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<(), Error> {
    let order: Vec<Cand> = outcome.rounds[0].sorted_by_tally(&config.contest);
    let input = ReportInput {
        contest: &config.contest,
        rules: &config.rules,
        info: &config.info,
        outcome,
        slice: None,
    };
    let csv = report::detailed_csv(&input, &order);
    write(
        out_dir,
        sub.join("detailed_report.json"),
        &report::detailed_json(&input),
        files,
    )?;
    write(out_dir, sub.join("detailed_report.csv"), &csv, files)?;
    write(
        out_dir,
        sub.join("summary_report.csv"),
        &report::summary_csv(&csv),
        files,
    )?;
    if config.generate_cdf_json {
        let date = generated_date();
        let export = cdf_export(config, &date);
        let text = report::cdf_json(
            &config.contest,
            &config.info,
            Some(outcome),
            ballots,
            &export,
        );
        write(out_dir, sub.join("cdf_cvr.json"), &text, files)?;
    }
    for slice in &outcome.slices {
        let mut used: Vec<String> = Vec::new();
        for (s, id) in slice.ids.iter().enumerate() {
            let base = readers::sanitize(id);
            let mut name = base.clone();
            let mut n = 2;
            while used.contains(&name) {
                name = format!("{base}_{n}");
                n += 1;
            }
            used.push(name.clone());
            let input = ReportInput {
                contest: &config.contest,
                rules: &config.rules,
                info: &config.info,
                outcome,
                slice: Some((slice.kind, id, &slice.rounds[s], &slice.transfers[s])),
            };
            let dir = sub.join(slice.kind.lower()).join(&name);
            write(
                out_dir,
                dir.join("detailed_report.json"),
                &report::detailed_json(&input),
                files,
            )?;
            write(
                out_dir,
                dir.join("detailed_report.csv"),
                &report::detailed_csv(&input, &order),
                files,
            )?;
        }
    }
    Ok(())
}

/// Converts a config's CVRs without tabulating: writes `cdf_cvr.json` (original snapshots
/// only) and the normalised `rctab_cvr.csv` into `out_dir`.
pub fn convert(config_path: &Path, out_dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let config = load_config(config_path)?;
    let ballots = read_ballots_with(&config, true)?;
    let mut files = Vec::new();
    let date = generated_date();
    let export = cdf_export(&config, &date);
    let text = report::cdf_json(&config.contest, &config.info, None, &ballots, &export);
    write(out_dir, "cdf_cvr.json".into(), &text, &mut files)?;
    let sources: Vec<report::CsvSource<'_>> = config
        .sources
        .iter()
        .map(|s| report::CsvSource {
            file_path: &s.file_path,
            provider: s.provider.label(),
            // RCTab records a contest id per ballot only for Dominion exports.
            contest_id: if s.provider == config::Provider::Dominion {
                &s.contest_id
            } else {
                ""
            },
            uwi_label: &s.uwi_label,
        })
        .collect();
    let csv = report::rctab_cvr_csv(
        &config.contest,
        &ballots,
        &sources,
        config.rules.max_rankings,
    );
    write(out_dir, "rctab_cvr.csv".into(), &csv, &mut files)?;
    Ok(files)
}

/// The current UTC time as `yyyy-MM-ddTHH:mm:ssZ` (only the CDF export's `GeneratedDate`).
fn generated_date() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil-from-days (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A config's CVRs as one publishable file, and the config that re-tallies exactly that file.
#[derive(Debug)]
pub struct CvrExport {
    /// NIST SP 1500-103 CDF JSON of every ballot (RCTab's CVR conversion: original snapshots).
    pub cdf_json: String,
    /// The original config (rules, candidates, output settings) with one `cdf` source whose
    /// `filePath` is the name given, and no batch tabulation (CDF carries no batch ids).
    pub retally_config: String,
    /// Ballots exported.
    pub ballots: usize,
}

/// Exports a config's CVRs for publishing (a `cvr` release): anyone holding the CDF file and
/// `retally_config` (saved next to it) can run `urne tally` and get the same reports.
pub fn cvr_export(config_path: &Path, cdf_file_name: &str) -> Result<CvrExport, Error> {
    let config = load_config(config_path)?;
    let mut ballots = read_ballots(&config)?;
    // Candidates by their config names (aliases resolved), so the re-tally config needs none.
    ballots.forget_spellings();
    let date = generated_date();
    let export = cdf_export(&config, &date);
    let cdf_json = report::cdf_json(&config.contest, &config.info, None, &ballots, &export);
    let text = std::fs::read_to_string(config_path).map_err(|e| Error::Io {
        file: config_path.to_path_buf(),
        source: e,
    })?;
    let mut root: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Config {
        file: config_path.to_path_buf(),
        path: "$".into(),
        rule: format!("not valid JSON: {e}"),
    })?;
    let mut source = serde_json::json!({
        "provider": "cdf",
        "filePath": cdf_file_name,
        // The export names its one contest after `contestName`.
        "contestId": config.info.name,
    });
    // The export writes undeclared write-ins under RCTab's label; a config without them must
    // not gain the pseudo-candidate.
    if config.contest.uwi.is_some() {
        source["undeclaredWriteInLabel"] = urne_tally::model::UWI_LABEL.into();
    }
    // The CDF export writes RCTab's overvote label as a choice; the reader must know it.
    if let Some(label) = config
        .sources
        .iter()
        .map(|s| s.overvote_label.trim())
        .find(|l| !l.is_empty())
    {
        source["overvoteLabel"] = label.into();
    }
    root["cvrFileSources"] = serde_json::Value::Array(vec![source]);
    if let Some(out) = root
        .get_mut("outputSettings")
        .and_then(|o| o.as_object_mut())
    {
        out.insert("tabulateByBatch".into(), false.into());
    }
    let retally_config = serde_json::to_string_pretty(&root).map_err(|e| Error::Config {
        file: config_path.to_path_buf(),
        path: "$".into(),
        rule: format!("cannot re-encode: {e}"),
    })?;
    Ok(CvrExport {
        cdf_json,
        retally_config,
        ballots: ballots.len(),
    })
}

/// How RCTab's CDF JSON export is written for this config (three callers: `run`, `convert`,
/// the CVR bundle).
fn cdf_export<'a>(config: &Config, date: &'a str) -> report::CdfExport<'a> {
    report::CdfExport {
        generated_date: date,
        precincts: config.tabulate_by_precinct,
        overvote_label_used: config
            .sources
            .iter()
            .any(|s| !s.overvote_label.trim().is_empty()),
    }
}
