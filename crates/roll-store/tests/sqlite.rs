//! The roll on SQLite: the shared story suite and the raw-file scan.

use std::sync::Arc;

use urne_roll_store::sqlite::SqliteRoll;
use urne_roll_store::testsuite::{self, RawSql};
use urne_roll_store::{Roll, RollBackend};

async fn raw_sql(path: std::path::PathBuf) -> RawSql {
    Arc::new(move |sql: String| {
        let path = path.clone();
        Box::pin(async move {
            let pool = urne_store_sqlite::open_durable_pool(&path)
                .await
                .map_err(|e| e.to_string())?;
            let r = sqlx::raw_sql(&sql).execute(&pool).await;
            pool.close().await;
            r.map(|_| ()).map_err(|e| e.to_string())
        })
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_roll_suite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("roll.sqlite");
    let db = SqliteRoll::open(&path).await.expect("open");
    testsuite::roll_suite(Arc::new(db), raw_sql(path).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_raw_file_holds_no_pii() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("roll.sqlite");
    let db = Arc::new(SqliteRoll::open(&path).await.expect("open"));
    let backend: Arc<dyn RollBackend> = db.clone();
    let roll = Roll::danger_open_seeded(backend, &testsuite::test_master(), Some("scan"), [42; 32])
        .await
        .expect("roll");
    let recs = testsuite::import_scan_records(&roll, 150).await;
    let needles = testsuite::pii_needles(&recs);
    // The needles do find plaintext: a file holding the values is caught.
    let mut planted = b"header".to_vec();
    planted.extend_from_slice(format!("{}", recs[7].sensitive.dob).as_bytes());
    assert!(
        std::panic::catch_unwind(|| testsuite::assert_no_pii("planted", &planted, &needles, false))
            .is_err(),
        "the scan must catch a planted date of birth"
    );
    // Every file in the directory, before and after the WAL is folded into the database.
    for stage in ["with WAL", "after checkpoint"] {
        if stage == "after checkpoint" {
            db.checkpoint().await.expect("checkpoint");
        }
        let mut total = 0;
        for entry in std::fs::read_dir(dir.path()).expect("read_dir") {
            let p = entry.expect("entry").path();
            let bytes = std::fs::read(&p).expect("read");
            total += bytes.len();
            testsuite::assert_no_pii(
                &format!("{} ({stage})", p.display()),
                &bytes,
                &needles,
                false,
            );
        }
        assert!(
            total > 150 * 400,
            "{stage}: the files hold the records ({total} bytes)"
        );
    }
}
