//! Tamper tests: a real `urne serve` data directory and an `urne export` of it, one
//! tampering at a time (a payload blob, a tile, an entry bundle, a page's numbers, an API
//! file, a download, the checkpoint row in the SQLite database, a rolled-back checkpoint), and
//! `urne verify` (the binary, over HTTP or on the directory) must fail each with the exit code
//! and message in the table. Everything is restored after each case, and the honest tree
//! verifies again.

mod common;

use std::path::PathBuf;

use common::{ELECTION, Serve, TITLE, s, urne};

/// Where a case tampers and what `urne verify` reads.
#[derive(Clone, Copy, Debug)]
enum Target {
    /// The server's data directory (`public/`), verified over HTTP.
    Served,
    /// The exported static tree, verified as a directory.
    Export,
}

#[derive(Debug)]
enum Tamper {
    /// Flip the low bit of the byte at `offset` (negative: from the end).
    Flip(&'static str, i64),
    /// Add 1 to the first number shown after `marker` (HTML text `>N`, JSON `: N`).
    Bump(&'static str, &'static str),
    Remove(&'static str),
    /// Replace `log/checkpoint` with the one signed at size `n`.
    RollBack(u64),
}

struct Case {
    name: &'static str,
    target: Target,
    tamper: Tamper,
    code: i32,
    message: &'static str,
}

const PAYLOAD: &str = "blobs/sha256/{payload3}";

fn cases() -> Vec<Case> {
    use Tamper::*;
    use Target::*;
    vec![
        Case {
            name: "a payload blob byte",
            target: Served,
            tamper: Flip(PAYLOAD, 100),
            code: 1,
            message: "FAILED: blobs/sha256/{payload3} (payload of log entry 3) has SHA-256 ",
        },
        Case {
            name: "a hash in a tile",
            target: Served,
            tamper: Flip("log/tile/0/000.p/4", 40),
            code: 1,
            message: "FAILED: log/tile/0/000.p/4 differs from the tile recomputed from the entries",
        },
        Case {
            name: "a byte of an entry (its officials' signature)",
            target: Served,
            tamper: Flip("log/tile/entries/000.p/4", -10),
            code: 1,
            message: "FAILED: log entry 3: ",
        },
        Case {
            name: "the votes on the summary page",
            target: Export,
            tamper: Bump("elections/{election}/index.html", "<tbody>"),
            code: 1,
            message: "FAILED: elections/{election}/index.html: the served page differs from the one rendered from the signed payloads (first difference at byte ",
        },
        Case {
            name: "the votes on a Spanish contest page",
            target: Export,
            tamper: Bump("es/elections/{election}/index.html", "<tbody>"),
            code: 1,
            message: "FAILED: es/elections/{election}/index.html: the served page differs from the one rendered from the signed payloads",
        },
        Case {
            name: "a number in the summary API file",
            target: Export,
            tamper: Bump("api/v1/elections/{election}/summary.json", "\"votes\""),
            code: 1,
            message: "FAILED: api/v1/elections/{election}/summary.json: the served API file differs from the one rendered from the signed payloads",
        },
        Case {
            name: "a download removed",
            target: Export,
            tamper: Remove("downloads/{election}/results.csv"),
            code: 1,
            message: "FAILED: downloads/{election}/results.csv is missing (the tree rendered from the signed payloads has this download)",
        },
        Case {
            name: "the checkpoint rolled back",
            target: Export,
            tamper: RollBack(3),
            code: 3,
            message: "ALARM: ROLLBACK: log tamper.urne.localhost/log now serves size 3 after having signed size 4",
        },
    ]
}

/// The served tree and what the cases need to know about it.
struct World {
    data: PathBuf,
    export: PathBuf,
    state: PathBuf,
    url: String,
    payload3: String,
    checkpoint3: Vec<u8>,
    work: PathBuf,
}

impl World {
    fn path(&self, pattern: &str) -> String {
        pattern
            .replace("{payload3}", &self.payload3)
            .replace("{election}", ELECTION)
    }

    fn file(&self, target: Target, pattern: &str) -> PathBuf {
        match target {
            Target::Served => self.data.join("public").join(self.path(pattern)),
            Target::Export => self.export.join(self.path(pattern)),
        }
    }

    /// `urne verify` of the target, with a state file that has seen size 4.
    fn verify(&self, target: Target) -> (i32, String) {
        let state = self.work.join("state-copy");
        std::fs::copy(&self.state, &state).unwrap();
        let src = match target {
            Target::Served => self.url.clone(),
            Target::Export => s(&self.export).to_owned(),
        };
        urne(&[
            "verify",
            &src,
            "--state",
            s(&state),
            "--evidence-dir",
            s(&self.work),
        ])
    }
}

fn bump_number_after(text: &str, marker: &str) -> String {
    let from = text.find(marker).unwrap_or_else(|| panic!("no {marker:?}")) + marker.len();
    let rest = &text[from..];
    let digit = rest
        .char_indices()
        .find(|&(i, c)| {
            c.is_ascii_digit() && {
                let before = rest[..i].trim_end();
                before.ends_with('>') || before.ends_with(':')
            }
        })
        .map(|(i, _)| from + i)
        .expect("a number after the marker");
    let end = digit
        + text[digit..]
            .find(|c: char| !c.is_ascii_digit() && c != ',')
            .unwrap();
    let number: u64 = text[digit..end].replace(',', "").parse().unwrap();
    format!("{}{}{}", &text[..digit], number + 1, &text[end..])
}

#[test]
fn urne_verify_fails_each_tampering_with_its_message() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().to_owned();
    let data = work.join("data");
    let server = Serve::start(&data).unwrap();
    let (alice, bob) = (common::official("alice", 1), common::official("bob", 2));
    let url = server.url.clone();
    let policy = common::policy_bundle(&work.join("policy"), &[&alice, &bob], server.log_vkey());
    assert_eq!(common::publish(&policy, &url).status, 200);
    let mut previous = None;
    let mut checkpoint3 = Vec::new();
    let mut payload3 = String::new();
    for (i, reporting) in [(1, 4), (1, 2), (1, 1)].into_iter().enumerate() {
        let b = common::results_bundle(
            &work.join(format!("r{i}")),
            i as u64,
            previous.as_ref(),
            reporting,
            &[&alice, &bob],
        );
        let answer = common::publish(&b, &url);
        assert_eq!(answer.status, 200, "{}", answer.text);
        if i == 1 {
            checkpoint3 = common::get(&format!("{url}/log/checkpoint")).1;
        }
        payload3 = urne_release::manifest::hex(&urne_release::manifest::sha256(&b.payload));
        previous = Some(b);
    }
    let export = work.join("export");
    let (code, out) = urne(&["export", s(&export), "--data", s(&data), "--title", TITLE]);
    assert_eq!(code, 0, "{out}");
    let state = work.join("state");
    let (code, honest) = urne(&["verify", &url, "--state", s(&state)]);
    assert_eq!(code, 0, "{honest}");
    for want in [
        "size 4",
        "4 replayed (1 trust-policy, 3 results)",
        " downloads, 2 other files (",
        "served copies identical",
        "site title   \"Test County Elections\" (read from the served index.html; not signed)",
        "\nOK\n",
    ] {
        assert!(honest.contains(want), "missing {want:?} in\n{honest}");
    }
    let (code, out) = urne(&["verify", s(&export), "--title", TITLE]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("files listed: none outside"), "{out}");
    let w = World {
        data,
        export,
        state,
        url,
        payload3,
        checkpoint3,
        work: work.clone(),
    };

    for case in cases() {
        let path = match &case.tamper {
            Tamper::Flip(p, _) | Tamper::Bump(p, _) | Tamper::Remove(p) => w.file(case.target, p),
            Tamper::RollBack(_) => w.file(case.target, "log/checkpoint"),
        };
        let good = std::fs::read(&path).unwrap();
        match &case.tamper {
            Tamper::Flip(_, at) => {
                let mut bad = good.clone();
                let at = if *at < 0 {
                    (bad.len() as i64 + at) as usize
                } else {
                    *at as usize
                };
                bad[at] ^= 1;
                std::fs::write(&path, bad).unwrap();
            }
            Tamper::Bump(_, marker) => {
                let text = String::from_utf8(good.clone()).unwrap();
                std::fs::write(&path, bump_number_after(&text, marker)).unwrap();
            }
            Tamper::Remove(_) => std::fs::remove_file(&path).unwrap(),
            Tamper::RollBack(3) => std::fs::write(&path, &w.checkpoint3).unwrap(),
            Tamper::RollBack(n) => panic!("no checkpoint kept for size {n}"),
        }
        let (code, out) = w.verify(case.target);
        let message = w.path(case.message);
        assert!(
            code == case.code && out.contains(&message),
            "{}: want exit {} and {message:?}, got {code}:\n{out}",
            case.name,
            case.code
        );
        std::fs::write(&path, &good).unwrap();
        let (code, out) = w.verify(case.target);
        assert_eq!(code, 0, "{}: restored, yet\n{out}", case.name);
    }

    // The database's checkpoint row: the server is the one that reads it.
    server.kill9();
    db_row_cases(&w);
}

/// The checkpoint row in `urne.db`, edited while the server is down.
fn db_row_cases(w: &World) {
    let db = w.data.join("urne.db");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let row = |note: Option<&[u8]>| -> Vec<u8> {
        rt.block_on(async {
            let pool = urne_store_sqlite::open_durable_pool(&db).await.unwrap();
            if let Some(note) = note {
                sqlx::query("UPDATE checkpoints SET checkpoint = ?1 WHERE log = ?2")
                    .bind(note)
                    .bind(common::ORIGIN)
                    .execute(&pool)
                    .await
                    .unwrap();
            }
            let (bytes,): (Vec<u8>,) =
                sqlx::query_as("SELECT checkpoint FROM checkpoints WHERE log = ?1")
                    .bind(common::ORIGIN)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            pool.close().await;
            bytes
        })
    };
    let good = row(None);
    let public_cp = w.data.join("public/log/checkpoint");
    assert_eq!(std::fs::read(&public_cp).unwrap(), good);

    // A byte of the row's signature changed: the server refuses to start.
    let mut forged = good.clone();
    let at = forged.len() - 5;
    forged[at] ^= 1;
    row(Some(&forged));
    let err = Serve::start(&w.data)
        .err()
        .expect("a forged row must stop the server");
    assert!(err.contains("signature"), "{err}");

    // The row rolled back to an older signed checkpoint: the public one is ahead, refused.
    row(Some(&w.checkpoint3));
    let err = Serve::start(&w.data)
        .err()
        .expect("a rolled-back row must stop the server");
    assert!(
        err.contains("public checkpoint size 4 is ahead of the store's 3"),
        "{err}"
    );

    // A backup of both restored: the server serves size 3, and a verifier that saw size 4
    // raises the alarm with evidence.
    std::fs::write(&public_cp, &w.checkpoint3).unwrap();
    let server = Serve::start(&w.data).unwrap();
    let mut w2 = World {
        url: server.url.clone(),
        data: w.data.clone(),
        export: w.export.clone(),
        state: w.state.clone(),
        payload3: w.payload3.clone(),
        checkpoint3: w.checkpoint3.clone(),
        work: w.work.clone(),
    };
    let (code, out) = w2.verify(Target::Served);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("ALARM: ROLLBACK: log tamper.urne.localhost/log now serves size 3 after having signed size 4"),
        "{out}"
    );
    assert!(out.contains("evidence written to "), "{out}");
    server.kill9();

    // Everything restored: the server serves size 4 and it verifies.
    row(Some(&good));
    std::fs::write(&public_cp, &good).unwrap();
    let server = Serve::start(&w.data).unwrap();
    w2.url = server.url.clone();
    let (code, out) = w2.verify(Target::Served);
    assert_eq!(code, 0, "{out}");
    server.kill9();
}
