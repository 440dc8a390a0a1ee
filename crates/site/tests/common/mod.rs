//! Fixtures: a small county election released a few times by officials, sequenced into a
//! real tlog-tiles log, and the site input built from it.
#![allow(dead_code)]

use urne_release::manifest::{ElectionId, MediaType, hex, sha256};
use urne_release::trust::POLICY_MEDIA_TYPE;
use urne_release::{
    DangerSkipDecreaseCheck, Kind, LogState, Manifest, Payload, PayloadRef, Release, Status,
    StreamKey, TrustPolicy, check_release,
};
use urne_results::{
    Choice, Contest, ContestKind, CountType, Election, ElectionKind, Limits, Party, ReportStatus,
    ReportingStatus, Snapshot, Unit, UnitFacts, UnitKind, ValidSnapshot, VoteCount,
};
use urne_site::{ElectionReleases, PublishedRelease, Site};
use urne_tlog::TreeBuilder;
use urne_tlog::checkpoint::Checkpoint;
use urne_tlog::note::{Ed25519Signer, Note};

pub const T0: u64 = 1_793_750_400;
pub const ELECTION: &str = "2026-11-03-general";
pub const ORIGIN: &str = "results.example-county.gov/log";
pub const OFFICIALS: [&str; 3] = ["registrar", "deputy", "observer"];

pub fn key(name: &str) -> Ed25519Signer {
    let mut seed = [7u8; 32];
    seed[..name.len()].copy_from_slice(name.as_bytes());
    Ed25519Signer::from_seed(name, seed).unwrap()
}

/// A county of three precincts, two contests; `step` grows the counts (0 = first results).
pub fn county(step: u64, status: ReportStatus) -> Snapshot {
    let precincts = ["p1", "p2", "p3"];
    let mut units = vec![Unit {
        id: "county".into(),
        name: "Example County".into(),
        kind: UnitKind::County,
        children: precincts.iter().map(|p| p.to_string()).collect(),
        facts: UnitFacts {
            registered_voters: Some(9000),
            ..UnitFacts::default()
        },
    }];
    let mut mayor = Vec::new();
    let mut measure = Vec::new();
    for (i, p) in precincts.iter().enumerate() {
        let i = i as u64;
        let reported = i < step;
        units.push(Unit {
            id: p.to_string(),
            name: format!("Precinct {}", i + 1),
            kind: UnitKind::Precinct,
            children: vec![],
            facts: UnitFacts {
                ballots_cast: reported.then_some(1000 + 100 * i),
                registered_voters: Some(3000),
                reporting: Some(if reported {
                    ReportingStatus::Complete
                } else {
                    ReportingStatus::NotStarted
                }),
                ballots_outstanding: None,
            },
        });
        if !reported {
            continue;
        }
        // Counts name units and choices by position: the precinct is unit `i + 1` (after the
        // county); choices are in the order the contests below list them.
        let unit = i as u32 + 1;
        for (choice, base) in [(0, 420), (1, 380 + 20 * i), (2, 150)] {
            let day = base / 2 + i;
            let mail = base - day;
            for (kind, v) in [
                (CountType::Total, base),
                (CountType::ElectionDay, day),
                (CountType::AbsenteeMail, mail),
            ] {
                mayor.push(VoteCount {
                    unit,
                    choice,
                    kind,
                    round: None,
                    votes: v,
                });
            }
        }
        for (choice, v) in [(0, 600 + 10 * i), (1, 350)] {
            measure.push(VoteCount {
                unit,
                choice,
                kind: CountType::Total,
                round: None,
                votes: v,
            });
        }
    }
    let choice = |id: &str, name: &str, party: Option<&str>| Choice {
        id: id.into(),
        name: name.into(),
        party: party.map(Into::into),
        write_in: false,
    };
    Snapshot {
        election: Election {
            name: "General Election <2026>".into(),
            kind: ElectionKind::General,
            start_date: "2026-11-03".into(),
            end_date: "2026-11-03".into(),
            scope_unit: "county".into(),
        },
        status,
        parties: vec![
            Party {
                id: "dem".into(),
                name: "Democratic".into(),
                abbreviation: Some("DEM".into()),
            },
            Party {
                id: "rep".into(),
                name: "Republican".into(),
                abbreviation: Some("REP".into()),
            },
        ],
        units,
        contests: vec![
            Contest {
                id: "mayor".into(),
                name: "Mayor".into(),
                kind: ContestKind::Candidate,
                district: "county".into(),
                votes_allowed: Some(1),
                variation: None,
                choices: vec![
                    choice("alvarez", "Ana Alvarez", Some("dem")),
                    choice("brown", "Bo Brown", Some("rep")),
                    choice("chen", "Chen Wei", None),
                ],
                counts: mayor,
                other_counts: vec![],
            },
            Contest {
                id: "measure-a".into(),
                name: "Measure A: Library bond".into(),
                kind: ContestKind::BallotMeasure,
                district: "county".into(),
                votes_allowed: Some(1),
                variation: None,
                choices: vec![choice("yes", "Yes", None), choice("no", "No", None)],
                counts: measure,
                other_counts: vec![],
            },
        ],
    }
}

pub fn valid(s: Snapshot) -> ValidSnapshot {
    urne_results::validate("fixture", s, &Limits::DEFAULT, &mut Vec::new())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// One release to publish.
pub struct Step {
    pub snapshot: ValidSnapshot,
    pub status: Status,
    pub correction: Option<&'static str>,
    pub signers: Vec<&'static str>,
}

/// A sequenced log: entries, tiles, bundles, the signed checkpoint, payload blobs.
pub struct Fixture {
    pub releases: Vec<Release>,
    pub snapshots: Vec<ValidSnapshot>,
    pub log_indices: Vec<u64>,
    pub entries: Vec<Vec<u8>>,
    /// (path under the tree root, bytes) of `log/…` and `blobs/…`.
    pub files: Vec<(String, Vec<u8>)>,
    pub log_key: Ed25519Signer,
}

fn manifest(
    state: &LogState,
    kind: Kind,
    status: Status,
    payload: &[u8],
    mt: &str,
    ts: u64,
) -> Manifest {
    let election = (kind != Kind::TrustPolicy).then(|| ElectionId::new(ELECTION).unwrap());
    let tip = state.stream(&StreamKey {
        kind,
        election: election.clone(),
    });
    Manifest {
        kind,
        election,
        sequence: tip.map_or(0, |t| t.sequence() + 1),
        previous: tip.map(|t| *t.manifest_hash()),
        timestamp: ts,
        status,
        correction: None,
        payload: PayloadRef {
            sha256: sha256(payload),
            size: payload.len() as u64,
            media_type: MediaType::new(mt).unwrap(),
        },
    }
}

fn sign(m: &Manifest, by: &[&str]) -> Vec<u8> {
    let mut note = Note::new(&m.encode().unwrap()).unwrap();
    for s in by {
        note.sign(&key(s)).unwrap();
    }
    note.to_text().into_bytes()
}

pub fn build(steps: Vec<Step>) -> Fixture {
    build_with(steps, "quorum none")
}

/// [`build`] with these C2SP tlog-policy lines (witnesses and quorum) in the trust policy.
pub fn build_with(steps: Vec<Step>, witness_policy: &str) -> Fixture {
    build_rotating(steps, witness_policy, None)
}

/// [`build_with`], and with `rotate_before: Some(i)` a rotation of the trust policy (the same
/// officials and witness lines, signed by all) sequenced just before step `i`.
pub fn build_rotating(
    steps: Vec<Step>,
    witness_policy: &str,
    rotate_before: Option<usize>,
) -> Fixture {
    let log_key = Ed25519Signer::from_seed(ORIGIN, [42u8; 32]).unwrap();
    let mut state = LogState::new();
    let mut entries = Vec::new();
    let mut files = Vec::new();
    let policy = TrustPolicy::new(
        OFFICIALS.iter().map(|n| key(n).verifier()).collect(),
        2,
        witness_policy,
    )
    .unwrap()
    .encode();
    let m = manifest(
        &state,
        Kind::TrustPolicy,
        Status::Official,
        policy.as_bytes(),
        POLICY_MEDIA_TYPE,
        T0,
    );
    let entry = sign(&m, &OFFICIALS);
    state = check_release(
        &state,
        &entry,
        Payload::Bytes(policy.as_bytes()),
        &DangerSkipDecreaseCheck,
    )
    .unwrap()
    .into_parts()
    .1;
    files.push((
        format!("blobs/sha256/{}", hex(&sha256(policy.as_bytes()))),
        policy.into_bytes(),
    ));
    entries.push(entry);
    let mut releases = Vec::new();
    let mut snapshots = Vec::new();
    let mut log_indices = Vec::new();
    let genesis_policy = files[0].1.clone();
    for (i, step) in steps.into_iter().enumerate() {
        let ts = T0 + 3600 * 20 + 900 * i as u64;
        if rotate_before == Some(i) {
            let m = manifest(
                &state,
                Kind::TrustPolicy,
                Status::Official,
                &genesis_policy,
                POLICY_MEDIA_TYPE,
                ts - 1,
            );
            let entry = sign(&m, &OFFICIALS);
            state = check_release(
                &state,
                &entry,
                Payload::Bytes(&genesis_policy),
                &DangerSkipDecreaseCheck,
            )
            .unwrap_or_else(|e| panic!("{e}"))
            .into_parts()
            .1;
            entries.push(entry);
        }
        let payload = urne_results::canonical::encode(&step.snapshot);
        let mut m = manifest(
            &state,
            Kind::Results,
            step.status,
            &payload,
            "application/vnd.urne.results",
            ts,
        );
        m.correction = step
            .correction
            .map(|c| urne_release::manifest::Correction::new(c).unwrap());
        let entry = sign(&m, &step.signers);
        let accepted = check_release(
            &state,
            &entry,
            Payload::Bytes(&payload),
            &DangerSkipDecreaseCheck,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let (release, next) = accepted.into_parts();
        state = next;
        files.push((format!("blobs/sha256/{}", hex(&sha256(&payload))), payload));
        log_indices.push(entries.len() as u64);
        entries.push(entry);
        releases.push(release);
        snapshots.push(step.snapshot);
    }
    // Sequence in two batches, so the log has a full history of tiles, not one write.
    let mut tb = TreeBuilder::new();
    let half = entries.len() / 2;
    for batch in [&entries[..half], &entries[half..]] {
        if batch.is_empty() {
            continue;
        }
        let seq = tb.push_entries(batch).unwrap();
        for (id, bytes) in seq.tiles {
            files.push((format!("log/{}", id.path()), bytes));
        }
        for (id, bytes) in seq.bundles {
            files.push((format!("log/{}", id.path()), bytes));
        }
    }
    let cp = Checkpoint {
        origin: ORIGIN.into(),
        size: tb.edge().size(),
        root: tb.edge().root(),
        extensions: vec![],
    };
    let mut note = Note::new(&cp.body()).unwrap();
    note.sign(&log_key).unwrap();
    files.push(("log/checkpoint".into(), note.to_text().into_bytes()));
    Fixture {
        releases,
        snapshots,
        log_indices,
        entries,
        files,
        log_key,
    }
}

/// Three releases of the county: first precinct, all three, and a correction that lowers one.
pub fn night() -> Fixture {
    night_with("quorum none")
}

/// [`night`] with these witness policy lines in the trust policy.
pub fn night_with(witness_policy: &str) -> Fixture {
    night_rotating(witness_policy, None)
}

/// [`night_with`], the trust policy rotated before release `rotate_before` (0-based) when
/// given.
pub fn night_rotating(witness_policy: &str, rotate_before: Option<usize>) -> Fixture {
    let first = valid(county(1, ReportStatus::UnofficialPartial));
    let all = valid(county(3, ReportStatus::UnofficialComplete));
    let mut corrected = county(3, ReportStatus::UnofficialComplete);
    let (p2, chen) = (
        corrected.units.iter().position(|u| u.id == "p2").unwrap() as u32,
        corrected.contests[0].choice_position("chen").unwrap(),
    );
    for vc in &mut corrected.contests[0].counts {
        if vc.unit == p2 && vc.choice == chen {
            match vc.kind {
                CountType::Total => vc.votes -= 10,
                CountType::AbsenteeMail => vc.votes -= 10,
                _ => {}
            }
        }
    }
    build_rotating(
        vec![
            Step {
                snapshot: first,
                status: Status::Unofficial,
                correction: None,
                signers: vec!["registrar", "deputy"],
            },
            Step {
                snapshot: all,
                status: Status::Unofficial,
                correction: None,
                signers: vec!["deputy", "observer"],
            },
            Step {
                snapshot: valid(corrected),
                status: Status::Official,
                correction: Some("Precinct 2 mail ballots for Chen Wei were counted twice."),
                signers: vec!["registrar", "deputy", "observer"],
            },
        ],
        witness_policy,
        rotate_before,
    )
}

pub fn site(f: &Fixture) -> Site<'_> {
    Site {
        title: "Example County Elections",
        log_origin: ORIGIN,
        log_vkey: Box::leak(f.log_key.verifier().vkey().into_boxed_str()),
        elections: vec![ElectionReleases {
            id: ELECTION,
            releases: f
                .releases
                .iter()
                .zip(&f.snapshots)
                .zip(&f.log_indices)
                .map(|((release, snapshot), &log_index)| PublishedRelease {
                    log_index,
                    release,
                    snapshot,
                })
                .collect(),
        }],
        witnesses: None,
    }
}

/// Imports the whole PA 2024 precinct set (lenient: the set has known bad rows) and renders
/// it as one release. `None` (and a loud SKIPPED) without ../shared/data.
pub fn pa_snapshot(test: &str) -> Option<ValidSnapshot> {
    state_snapshot(
        test,
        "openelections/pa-2024-general-precinct",
        "Pennsylvania",
        "2024-11-05",
    )
}

/// Imports every CSV of a shared-data directory as one statewide snapshot (lenient).
pub fn state_snapshot(test: &str, sub: &str, state: &str, date: &str) -> Option<ValidSnapshot> {
    let dir = urne_testdata::shared_data(test, sub)?;
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    paths.sort();
    let sources = paths
        .iter()
        .map(|p| urne_results::CsvSource {
            name: p.file_name().unwrap().to_string_lossy().into_owned(),
            reader: std::fs::File::open(p).unwrap(),
        })
        .collect();
    let name = format!("{} General Election", &date[..4]);
    let mut options = urne_results::CsvOptions::new(state, &name, date);
    options.danger_skip_bad_rows = true;
    let imported =
        urne_results::import_openelections_csv(sources, &options).unwrap_or_else(|e| panic!("{e}"));
    Some(imported.snapshot)
}

/// The schema (a `components.schemas` name) a tree path must validate against.
pub fn schema_for(path: &str) -> Option<&'static str> {
    let rest = path.strip_prefix("api/v1/")?;
    if rest == "elections.json" {
        return Some("Elections");
    }
    if rest == "openapi.json" {
        return None;
    }
    let rest = rest.strip_prefix("elections/")?;
    let (_, tail) = rest.split_once('/')?;
    Some(match tail {
        "summary.json" => "Summary",
        "releases.json" => "Releases",
        t if t.starts_with("contests/") => "ContestFile",
        t if t.starts_with("units/") => "UnitFile",
        t if t.starts_with("releases/") && t.ends_with("/summary.json") => "Summary",
        _ => return None,
    })
}

pub fn validators() -> impl Fn(&str) -> jsonschema::Validator {
    let doc: serde_json::Value = serde_json::from_str(urne_site::OPENAPI_JSON).unwrap();
    move |name: &str| {
        let mut schema = doc.clone();
        schema["$ref"] = serde_json::Value::String(format!("#/components/schemas/{name}"));
        schema["$schema"] =
            serde_json::Value::String("https://json-schema.org/draft/2020-12/schema".into());
        jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap_or_else(|e| panic!("schema {name}: {e}"))
    }
}

/// Validates the API files of `tree` whose path `pick` accepts; returns how many.
pub fn check_tree_where(tree: &urne_site::Tree, mut pick: impl FnMut(&str) -> bool) -> usize {
    let make = validators();
    let mut cache = std::collections::BTreeMap::new();
    let mut checked = 0;
    for (path, bytes) in tree {
        if !path.starts_with("api/") || !pick(path) {
            continue;
        }
        let name = schema_for(path).unwrap_or_else(|| {
            assert_eq!(
                path, "api/v1/openapi.json",
                "API file with no schema: {path}"
            );
            ""
        });
        if name.is_empty() {
            continue;
        }
        let v = cache.entry(name).or_insert_with(|| make(name));
        let doc: serde_json::Value =
            serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("{path}: {e}"));
        let errors: Vec<String> = v
            .iter_errors(&doc)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{path} does not match {name}:\n{}",
            errors.join("\n")
        );
        checked += 1;
    }
    checked
}

/// Validates every API file of `tree`.
pub fn check_tree(tree: &urne_site::Tree) -> usize {
    check_tree_where(tree, |_| true)
}

/// Every path of `tree` (the whole render) names an object, rendering objects on demand gives
/// the tree's files byte for byte (so `render_path`, which is `object` then `render_object`,
/// gives them), and paths not in the tree give `None`. With `sample` 1, every object is
/// rendered and must account for the tree exactly; with `sample` n, the objects of every nth
/// path are (a state's tree is large for a debug build), and near-miss paths are made from those.
pub fn assert_render_path_is_render(
    prepared: &urne_site::Prepared<'_>,
    tree: &urne_site::Tree,
    sample: usize,
) {
    for path in tree.keys() {
        assert!(prepared.object(path).is_some(), "{path} names no object");
    }
    let objects: Vec<urne_site::Object> = if sample == 1 {
        prepared.objects()
    } else {
        let mut o: Vec<_> = tree
            .keys()
            .step_by(sample)
            .filter_map(|p| prepared.object(p))
            .collect();
        o.sort();
        o.dedup();
        o
    };
    let mut from_objects = 0;
    for object in &objects {
        let files = prepared.render_object(object).unwrap();
        assert!(!files.is_empty(), "{object:?} has no file");
        for (path, bytes) in &files {
            assert_eq!(prepared.object(path), Some(*object), "{path}");
            assert!(
                tree.get(path) == Some(bytes),
                "{path} differs from the whole render"
            );
        }
        from_objects += files.len();
    }
    if sample == 1 {
        assert_eq!(
            from_objects,
            tree.len(),
            "objects cover the tree exactly once"
        );
    }
    let mut absent = vec![
        String::new(),
        "/index.html".into(),
        "index~p2.html".into(),
        "en/index.html".into(),
        "es/site.css".into(),
        "es/api/v1/elections.json".into(),
        "elections/".into(),
        "elections/nope/index.html".into(),
        "api/v1/elections/nope/summary.json".into(),
        "downloads/nope/results.json".into(),
        "log/checkpoint".into(),
        "blobs/sha256/00".into(),
    ];
    for (path, bytes) in tree.iter().step_by(sample) {
        let got = urne_site::render_path(prepared, path).unwrap();
        assert!(got.as_deref() == Some(&bytes[..]), "{path} differs");
        absent.extend([
            format!("{path}x"),
            format!("x{path}"),
            path.replace(".html", "~p999.html"),
            path.replace(".html", "~p02.html"),
            path.replace(".html", "~p.html"),
            path.replace(".json", "/summary.json"),
            path.replace("/units/", "/contests/"),
            path.replace("/contests/", "/units/"),
            path.to_uppercase(),
        ]);
        if let Some((dir, _)) = path.rsplit_once('/') {
            absent.push(format!("{dir}/"));
            absent.push(format!("{dir}.html"));
        }
    }
    for path in absent.iter().filter(|p| !tree.contains_key(p.as_str())) {
        assert_eq!(
            urne_site::render_path(prepared, path).unwrap(),
            None,
            "{path}"
        );
    }
}
