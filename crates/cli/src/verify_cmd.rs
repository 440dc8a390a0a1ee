//! `urne verify`: checks a published log from a URL or directory and prints what it checked.
//!
//! Exit codes (also in README):
//!
//! | code | meaning |
//! |---|---|
//! | 0 | everything verified (with `--evidence`: the file proves a fork) |
//! | 1 | something did not verify; the report says what (with `--evidence`: not evidence) |
//! | 2 | could not check: bad arguments, network or file error |
//! | 3 | split view or rollback: the log contradicts the state file; evidence written (with `--evidence`: a rollback observation) |
//! | 4 | everything verified but the witness quorum is not met yet ("awaiting witnesses") |

use std::path::{Path, PathBuf};

use urne_release::manifest::{Kind, hex};
use urne_tlog::note::Ed25519Verifier;
use urne_verify::{
    Evidence, Failure, Fetch as _, Follower, Options, Source, Verdict, VerifyState, evidence,
};

/// Exit code: all verified.
pub const EXIT_OK: i32 = 0;
/// Exit code: something did not verify.
pub const EXIT_INVALID: i32 = 1;
/// Exit code: could not check.
pub const EXIT_CANNOT_CHECK: i32 = 2;
/// Exit code: fork or rollback alarm.
pub const EXIT_ALARM: i32 = 3;
/// Exit code: verified, quorum not met.
pub const EXIT_AWAITING_WITNESSES: i32 = 4;

/// Arguments of `urne verify`.
#[derive(Debug, Default)]
pub struct VerifyArgs {
    /// URL or directory of the public tree.
    pub source: Option<String>,
    /// State file path.
    pub state: Option<PathBuf>,
    /// Genesis manifest hash (hex).
    pub pin: Option<String>,
    /// Log verifier key or file.
    pub log_vkey: Option<String>,
    /// Where alarm evidence goes.
    pub evidence_dir: PathBuf,
    /// Check this evidence file instead.
    pub evidence: Option<PathBuf>,
    /// The site title (not signed); by default read from the served `index.html`.
    pub title: Option<String>,
    /// Skip the pages/API/downloads comparison.
    pub log_only: bool,
}

/// How long to wait before comparing the pages again when they differ from the checkpoint
/// just verified: a live server swaps its pages just after its checkpoint becomes durable.
pub const SITE_RECHECK_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// Runs `urne verify` and returns the exit code; the report goes to standard output.
pub fn run(args: &VerifyArgs) -> i32 {
    let key = match args.log_vkey.as_deref().map(crate::read_vkey).transpose() {
        Ok(k) => k,
        Err(e) => return cannot(&format!("{e:#}")),
    };
    if let Some(file) = &args.evidence {
        return check_evidence(file, key.as_ref());
    }
    let Some(location) = &args.source else {
        return cannot("give a URL or directory to verify, or --evidence FILE");
    };
    let pin = match args
        .pin
        .as_deref()
        .map(urne_tlog::Hash::from_hex)
        .transpose()
    {
        Ok(p) => p.map(|h| h.0),
        Err(_) => return cannot("--pin needs the 64 hex digits of the genesis manifest hash"),
    };
    let state = match args.state.as_deref().map(VerifyState::read).transpose() {
        Ok(s) => s.flatten(),
        Err(e) => return cannot(&e.to_string()),
    };
    if let (Some(s), Some(p)) = (&state, pin)
        && s.genesis != p
    {
        println!(
            "FAILED: the state file pins genesis {}, --pin says {}",
            hex(&s.genesis),
            hex(&p)
        );
        return EXIT_INVALID;
    }
    let options = Options {
        pin: pin.or(state.as_ref().map(|s| s.genesis)),
        log_key: key.or(state.as_ref().map(|s| s.log_key.clone())),
        require_quorum: false,
        keep_releases: !args.log_only,
    };
    let src = Source::open(location);
    println!("urne verify {}", src.describe());
    let last = state.as_ref().map(|s| s.last.clone());
    let mut follower = Follower::new(options, last.clone());
    match follower.advance(&src) {
        Ok(advance) => {
            let site = if args.log_only {
                None
            } else {
                match check_site(&follower, &src, args.title.as_deref()) {
                    Ok(s) => Some(Ok(s)),
                    Err(Failure::Fetch(e)) => return cannot(&e.to_string()),
                    Err(e) => Some(Err(e)),
                }
            };
            report(
                &follower,
                &advance,
                site,
                last.as_ref(),
                args.state.as_deref(),
            )
        }
        Err(Failure::Alarm { verdict, evidence }) => alarm(&verdict, &evidence, &args.evidence_dir),
        Err(Failure::Fetch(e)) => cannot(&e.to_string()),
        Err(e) => {
            println!("FAILED: {e}");
            EXIT_INVALID
        }
    }
}

/// The site comparison, once more after [`SITE_RECHECK_AFTER`] when a live server's pages
/// differ (they may trail the checkpoint by a moment). If the checkpoint moved meanwhile, the
/// pages belong to a newer log than the one verified: that is "could not check", not a lie.
fn check_site(
    follower: &Follower,
    src: &Source,
    title: Option<&str>,
) -> Result<urne_verify::SiteCheck, Failure> {
    let first = urne_verify::check_site(follower, src, title);
    if first.is_ok() || !matches!(src, Source::Http(_)) {
        return first;
    }
    std::thread::sleep(SITE_RECHECK_AFTER);
    let now = src.get(
        urne_verify::follow::CHECKPOINT_PATH,
        urne_tlog::note::NOTE_BYTES_MAX as u64,
    )?;
    if now.as_deref() != follower.last().map(|s| s.note.as_slice()) {
        return Err(Failure::Fetch(urne_verify::FetchError::Io {
            path: urne_verify::follow::CHECKPOINT_PATH.into(),
            why: "the log moved to a new checkpoint while its pages were compared; run again"
                .into(),
        }));
    }
    urne_verify::check_site(follower, src, title)
}

fn cannot(why: &str) -> i32 {
    println!("CANNOT CHECK: {why}");
    EXIT_CANNOT_CHECK
}

fn report(
    follower: &Follower,
    a: &urne_verify::Advance,
    site: Option<Result<urne_verify::SiteCheck, Failure>>,
    last: Option<&urne_verify::Seen>,
    state_path: Option<&Path>,
) -> i32 {
    let Some(seen) = follower.last() else {
        return cannot("no checkpoint");
    };
    let cp = &seen.checkpoint;
    let key = follower
        .log_key()
        .map(Ed25519Verifier::vkey)
        .unwrap_or_default();
    println!(
        "  checkpoint   {} size {} root {}",
        cp.origin, cp.size, cp.root
    );
    println!("  log key      {key}: signature OK");
    match last {
        Some(l) => println!(
            "  consistency  with the state file's size {}: OK",
            l.checkpoint.size
        ),
        None => println!("  consistency  no state file checkpoint to compare (first run)"),
    }
    println!(
        "  tree         {} entries, {} bundles, {} tiles recomputed; served copies identical; root OK",
        a.to,
        a.bundles.len(),
        a.tiles_compared
    );
    let releases = follower.state();
    let mut kinds: std::collections::BTreeMap<Kind, u64> = Default::default();
    for (stream, tip) in releases.streams() {
        *kinds.entry(stream.kind).or_default() += tip.sequence() + 1;
    }
    let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let policy = releases.policy();
    println!(
        "  releases     {} replayed ({}): officials' signatures, rotations and streams OK",
        a.entries,
        kinds.join(", ")
    );
    if let Some(p) = policy {
        println!(
            "  trust policy {} officials, {} must sign",
            p.officials().len(),
            p.threshold()
        );
    }
    println!(
        "  payloads     {} blobs: SHA-256 and size OK",
        a.blobs.len()
    );
    println!(
        "  totals       {} results snapshots decoded: no decrease without a correction reason",
        a.snapshots_decoded
    );
    if a.results_not_decoded > 0 {
        println!(
            "  totals       {} results payloads of another media type: totals not compared",
            a.results_not_decoded
        );
    }
    println!(
        "  witnesses    cosigned by [{}]; quorum {:?}: {}",
        a.cosigners.join(", "),
        a.quorum,
        if a.quorum_met { "met" } else { "NOT met" }
    );
    match site {
        None => println!("  site         not compared (--log-only)"),
        Some(Ok(s)) => {
            println!(
                "  site         {} pages, {} API files, {} downloads, {} other files ({} bytes) \
                 re-rendered from the signed payloads: served copies identical",
                s.pages, s.api, s.downloads, s.assets, s.bytes
            );
            let from = match s.title_from {
                urne_verify::site::TitleFrom::Given => "given with --title",
                urne_verify::site::TitleFrom::Served => "read from the served index.html",
            };
            println!("  site title   {:?} ({from}; not signed)", s.title);
            if s.listed > 0 {
                println!(
                    "  site files   {} files listed: none outside the rendered tree, log/ and blobs/",
                    s.listed
                );
            }
        }
        Some(Err(Failure::AwaitingWitnesses { .. })) => println!(
            "  site         not compared: the newest checkpoint awaits witnesses, and the pages' \
             witness notices come from an earlier cosigned checkpoint no longer served"
        ),
        Some(Err(e)) => {
            println!("FAILED: {e}");
            return EXIT_INVALID;
        }
    }
    if let Some(path) = state_path {
        let genesis = follower
            .chain()
            .clone()
            .finish()
            .map(|h| *h.genesis_hash())
            .ok();
        let (Some(log_key), Some(genesis)) = (follower.log_key(), genesis) else {
            return cannot("nothing to keep in the state file");
        };
        let state = VerifyState {
            log_key: log_key.clone(),
            genesis,
            last: seen.clone(),
        };
        if let Err(e) = state.write(path) {
            return cannot(&e.to_string());
        }
        println!(
            "  state        {} (genesis {})",
            path.display(),
            hex(&genesis)
        );
    }
    if a.quorum_met {
        println!("OK");
        EXIT_OK
    } else {
        println!("AWAITING WITNESSES: everything else verified");
        EXIT_AWAITING_WITNESSES
    }
}

fn alarm(verdict: &Verdict, evidence: &Evidence, dir: &Path) -> i32 {
    let (origin, sizes) = match verdict {
        Verdict::Fork { origin, sizes, .. } | Verdict::Rollback { origin, sizes } => {
            (origin, sizes)
        }
    };
    let name: String = origin
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let path = dir.join(format!("urne-evidence-{name}-{}-{}.txt", sizes.0, sizes.1));
    println!(
        "ALARM: {}",
        Failure::Alarm {
            verdict: verdict.clone(),
            evidence: Box::new(evidence.clone()),
        }
    );
    match urne_verify::state::write_atomic(&path, &evidence.encode()) {
        Ok(()) => println!(
            "evidence written to {} (check it with `urne verify --evidence {0}`)",
            path.display()
        ),
        Err(e) => println!("could not write the evidence file: {e}"),
    }
    EXIT_ALARM
}

fn check_evidence(file: &Path, key: Option<&Ed25519Verifier>) -> i32 {
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => return cannot(&format!("{}: {e}", file.display())),
    };
    let parsed = match Evidence::parse(&bytes) {
        Ok(e) => e,
        Err(e) => {
            println!("NOT EVIDENCE: {}: {e}", file.display());
            return EXIT_INVALID;
        }
    };
    println!("urne verify --evidence {}", file.display());
    println!("  log key      {}", parsed.log_key);
    match parsed.check(key) {
        Ok(Verdict::Fork { origin, sizes, how }) => {
            let how = match how {
                evidence::ForkProof::SameSizeDifferentRoots => "same size, different roots",
                evidence::ForkProof::PrefixRootDiffers => {
                    "the larger tree's consistency path gives another root at the smaller size"
                }
            };
            println!("  both checkpoints carry valid signatures of this key");
            println!(
                "PROVEN FORK: log {origin}, sizes {} and {}: {how}",
                sizes.0, sizes.1
            );
            EXIT_OK
        }
        Ok(Verdict::Rollback { origin, sizes }) => {
            println!("  both checkpoints carry valid signatures of this key");
            println!(
                "ROLLBACK OBSERVED: log {origin} served size {} after size {}; no fork is proven",
                sizes.1, sizes.0
            );
            EXIT_ALARM
        }
        Err(e) => {
            println!("NOT EVIDENCE: {e}");
            EXIT_INVALID
        }
    }
}
