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

/// The one-connection pool `urne roll import` opens: the first loads of the empty roll (a
/// failing one, then a good one) run in the rollback journal, and the file is back in WAL mode,
/// consistent and audited, after each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_first_load_in_the_rollback_journal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("roll.sqlite");
    let db = Arc::new(SqliteRoll::open_for_load(&path).await.expect("open"));
    let backend: Arc<dyn RollBackend> = db.clone();
    let roll = Roll::open(backend, &testsuite::test_master(), Some("load"))
        .await
        .expect("roll");
    let staff = testsuite::staff_accounts(&roll).await;
    db.checkpoint().await.expect("checkpoint");
    let wal = path.with_extension("sqlite-wal");
    let wal_len = || std::fs::metadata(&wal).map_or(0, |m| m.len());
    assert_eq!(wal_len(), 0);
    testsuite::import_is_all_or_nothing(&roll, &staff).await;
    assert_eq!(db.journal_mode().await.expect("mode"), "wal");
    // The good load went to the database file, not the WAL (which holds only the failed
    // repeat's nothing): 3 records would be several pages there.
    assert!(wal_len() <= 2 * 4096, "WAL {} bytes", wal_len());
    let records = testsuite::synthetic(9, 500);
    let s = roll
        .import(
            &staff.supervisor,
            Some(&staff.supervisor2),
            urne_roll::audit::AdditionSource::Mail,
            testsuite::rows(records),
            &(),
            testsuite::today(),
        )
        .await
        .expect("second load");
    assert_eq!(s.records, 500);
    // Not empty any more: this one went through the WAL.
    assert!(wal_len() > 500 * 400, "WAL {} bytes", wal_len());
    let report = roll.audit().await.expect("audit");
    assert_eq!(report.events.len, 503);
    drop(roll);
    db.close().await;
    let reopened = SqliteRoll::open(&path).await.expect("reopen");
    assert_eq!(reopened.voter_count().await.expect("count"), 503);
}

/// A bulk load leaves WAL mode only with the file's one connection, and goes back after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_bulk_journal_needs_the_only_connection() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("roll.sqlite");
    // A pool of several connections (the server's) never switches.
    let shared = SqliteRoll::open(&path).await.expect("open");
    assert!(!shared.bulk_journal(true).await.expect("bulk"));
    assert_eq!(shared.journal_mode().await.expect("mode"), "wal");
    // A one-connection pool while another pool holds the file open: stays in WAL mode.
    let load = SqliteRoll::open_for_load(&path).await.expect("open");
    assert!(!load.bulk_journal(true).await.expect("bulk"));
    assert_eq!(load.journal_mode().await.expect("mode"), "wal");
    shared.close().await;
    // Alone on the file: switches, and back.
    assert!(load.bulk_journal(true).await.expect("bulk"));
    assert_eq!(load.journal_mode().await.expect("mode"), "delete");
    assert!(load.bulk_journal(false).await.expect("back"));
    assert_eq!(load.journal_mode().await.expect("mode"), "wal");
    // A load cut off in the rollback journal: the next open is in WAL mode again.
    assert!(load.bulk_journal(true).await.expect("bulk"));
    load.close().await;
    let again = SqliteRoll::open(&path).await.expect("reopen");
    assert_eq!(again.journal_mode().await.expect("mode"), "wal");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_schema_1_migrates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("roll.sqlite");
    let open = || {
        let path = path.clone();
        async move {
            let db: Arc<dyn RollBackend> = Arc::new(SqliteRoll::open(&path).await?);
            Ok(db)
        }
    };
    testsuite::schema_1_migrates(open, raw_sql(path.clone()).await, "BLOB").await;
}
