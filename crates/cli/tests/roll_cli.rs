//! `urne roll` from the command line, on SQLite and PostgreSQL: every command that reads PII or
//! changes the roll acts as a named staff member and the role matrix and bulk rule apply as
//! over HTTP; the first admin is bootstrapped by the key holder alone; an import commits whole
//! or not at all; the audit passes after it all (the access purposes are inside the chain).

use std::path::Path;
use std::process::{Command, Output};

use urne_store::testsuite::postgres_url_or_skip;
use urne_store_postgres::testing::TestSchema;

const PW: &str = "correct-horse-battery";

struct Cli<'a> {
    data: &'a Path,
    key: &'a Path,
    url: Option<&'a str>,
}

impl Cli<'_> {
    /// Runs `urne roll <args>` with the roll's data, key and database, and `env`.
    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_urne"));
        c.arg("roll").args(args);
        c.arg("--data").arg(self.data);
        c.arg("--master-key-file").arg(self.key);
        if let Some(u) = self.url {
            c.args(["--database-url", u]);
        }
        for v in [
            "URNE_ROLL_AS",
            "URNE_ROLL_PASSWORD",
            "URNE_ROLL_NEW_PASSWORD",
            "URNE_ROLL_APPROVER_PASSWORD",
            "URNE_ROLL_TOKEN_FILE",
            "URNE_DATABASE_URL",
        ] {
            c.env_remove(v);
        }
        c.envs(env.iter().copied());
        c.stdin(std::process::Stdio::null());
        c.output().expect("run urne")
    }
    fn ok(&self, args: &[&str], env: &[(&str, &str)]) -> String {
        let o = self.run(args, env);
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(
            o.status.success(),
            "urne roll {args:?} failed: {}{}",
            text,
            String::from_utf8_lossy(&o.stderr)
        );
        text
    }
    fn refused(&self, args: &[&str], env: &[(&str, &str)], why: &str) {
        let o = self.run(args, env);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "urne roll {args:?} should fail");
        assert!(
            err.contains(why),
            "urne roll {args:?}: {err} (expected {why:?})"
        );
    }
}

fn generate(dir: &Path, n: u64) -> std::path::PathBuf {
    let csv = dir.join("voters.csv");
    let o = Command::new(env!("CARGO_BIN_EXE_urne"))
        .args(["roll", "generate", &n.to_string(), "--seed", "3", "--out"])
        .arg(&csv)
        .output()
        .expect("generate");
    assert!(o.status.success());
    csv
}

fn story(cli: &Cli<'_>, dir: &Path) {
    let csv = generate(dir, 150);
    let csv = csv.to_str().expect("utf-8 path");
    let me = |id: &'static str| [("URNE_ROLL_AS", id), ("URNE_ROLL_PASSWORD", PW)];
    let new = ("URNE_ROLL_NEW_PASSWORD", PW);
    // Bootstrap: the key holder creates the first account, which must be an admin.
    cli.refused(
        &[
            "staff-add",
            "--roll-id",
            "cli-test",
            "cleo",
            "--role",
            "clerk",
        ],
        &[new],
        "first staff account must be an admin",
    );
    cli.ok(&["staff-add", "ada", "--role", "admin"], &[new]);
    // After that, only an admin adds accounts.
    cli.refused(
        &["staff-add", "eve", "--role", "admin"],
        &[new],
        "name the staff member",
    );
    for (id, role) in [
        ("vic", "viewer"),
        ("cleo", "clerk"),
        ("sam", "supervisor"),
        ("sue", "supervisor"),
    ] {
        cli.ok(
            &["staff-add", id, "--role", role],
            &[me("ada")[0], me("ada")[1], new],
        );
    }
    cli.refused(
        &["staff-add", "eve", "--role", "admin"],
        &[me("cleo")[0], me("cleo")[1], new],
        "role clerk may not manage-staff",
    );
    cli.refused(
        &["staff-add", "eve", "--role", "admin"],
        &[
            me("ada")[0],
            ("URNE_ROLL_PASSWORD", "not the password"),
            new,
        ],
        "wrong credentials",
    );
    // Imports: by role, and over the bulk threshold (100) only with a second supervisor.
    cli.refused(&["import", csv], &me("vic"), "role viewer may not edit");
    cli.refused(&["import", csv], &me("cleo"), "may not bulk-change");
    cli.refused(&["import", csv], &me("sam"), "needs a second approver");
    let approver = ("URNE_ROLL_APPROVER_PASSWORD", PW);
    cli.refused(
        &["import", "--approver", "sam", csv],
        &[me("sam")[0], me("sam")[1], approver],
        "different person",
    );
    let out = cli.ok(
        &["import", "--approver", "sue", csv],
        &[me("sam")[0], me("sam")[1], approver],
    );
    assert!(out.contains("imported 150 records"), "{out}");
    // Export reads every PII field: clerks and supervisors, not viewers or admins.
    let export = dir.join("out.csv");
    let export = export.to_str().expect("utf-8 path");
    cli.refused(
        &["export", export],
        &me("vic"),
        "role viewer may not read-pii",
    );
    cli.refused(
        &["export", export],
        &me("ada"),
        "role admin may not read-pii",
    );
    cli.refused(&["export", export], &[], "name the staff member");
    let out = cli.ok(
        &["export", "--purpose", "county canvass", export],
        &me("cleo"),
    );
    assert!(out.contains("exported 150 records"), "{out}");
    assert_eq!(
        std::fs::read_to_string(export)
            .expect("export")
            .lines()
            .count(),
        151
    );
    // The policy is an admin's.
    cli.refused(
        &["policy", "--bulk-max", "500"],
        &me("sam"),
        "role supervisor may not manage-staff",
    );
    cli.ok(&["policy", "--bulk-max", "500"], &me("ada"));
    let out = cli.ok(&["audit"], &[]);
    assert!(out.starts_with("ok: 150 events, 150 voters"), "{out}");
}

#[test]
fn roll_cli_as_staff_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("master.key");
    let o = Command::new(env!("CARGO_BIN_EXE_urne"))
        .args(["roll", "keygen", "--out"])
        .arg(&key)
        .output()
        .expect("keygen");
    assert!(o.status.success());
    let data = dir.path().join("data");
    let cli = Cli {
        data: &data,
        key: &key,
        url: None,
    };
    story(&cli, dir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roll_cli_as_staff_postgres() {
    let Some(url) = postgres_url_or_skip("roll_cli_as_staff_postgres") else {
        return;
    };
    let schema = TestSchema::create(&url, "roll_cli").await.expect("schema");
    let sep = if url.contains('?') { '&' } else { '?' };
    let schema_url = format!("{url}{sep}options=-csearch_path%3D{}", schema.name());
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("master.key");
    let o = Command::new(env!("CARGO_BIN_EXE_urne"))
        .args(["roll", "keygen", "--out"])
        .arg(&key)
        .output()
        .expect("keygen");
    assert!(o.status.success());
    let data = dir.path().join("data");
    let cli = Cli {
        data: &data,
        key: &key,
        url: Some(&schema_url),
    };
    story(&cli, dir.path());
    schema.drop_schema().await.expect("drop schema");
}
