//! The roll on PostgreSQL: the shared story suite and the dump scan. Skips loudly without
//! `URNE_TEST_POSTGRES_URL`.

use std::sync::Arc;

use urne_roll_store::postgres::PgRoll;
use urne_roll_store::testsuite::{self, RawSql};
use urne_roll_store::{Roll, RollBackend};
use urne_store::testsuite::postgres_url_or_skip;
use urne_store_postgres::testing::TestSchema;

fn raw_sql(options: sqlx::postgres::PgConnectOptions) -> RawSql {
    Arc::new(move |sql: String| {
        let options = options.clone();
        Box::pin(async move {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await
                .map_err(|e| e.to_string())?;
            let r = sqlx::raw_sql(&sql).execute(&pool).await;
            pool.close().await;
            r.map(|_| ()).map_err(|e| e.to_string())
        })
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_roll_suite() {
    let Some(url) = postgres_url_or_skip("postgres_roll_suite") else {
        return;
    };
    let schema = TestSchema::create(&url, "roll_suite")
        .await
        .expect("schema");
    let db = PgRoll::connect_with(schema.connect_options())
        .await
        .expect("connect");
    testsuite::roll_suite(Arc::new(db.clone()), raw_sql(schema.connect_options())).await;
    db.pool().close().await;
    schema.drop_schema().await.expect("drop");
}

/// Every column of every roll table as text (a `pg_dump` equivalent), and `pg_dump` itself when
/// it is installed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_dump_holds_no_pii() {
    let Some(url) = postgres_url_or_skip("postgres_dump_holds_no_pii") else {
        return;
    };
    let schema = TestSchema::create(&url, "roll_scan").await.expect("schema");
    let db = PgRoll::connect_with(schema.connect_options())
        .await
        .expect("connect");
    let backend: Arc<dyn RollBackend> = Arc::new(db.clone());
    let roll = Roll::danger_open_seeded(backend, &testsuite::test_master(), Some("scan"), [42; 32])
        .await
        .expect("roll");
    let recs = testsuite::import_scan_records(&roll, 150).await;
    let needles = testsuite::pii_needles(&recs);
    // A plaintext SSN4 as a column value in a text dump is caught; inside hex it is not a hit.
    let ssn = recs[5].sensitive.ssn4.clone().expect("ssn4");
    let planted = format!("(V1,\\xab12{ssn}ff,{ssn},x)");
    assert!(
        std::panic::catch_unwind(|| {
            testsuite::assert_no_pii("planted", planted.as_bytes(), &needles, true)
        })
        .is_err(),
        "the scan must catch a planted SSN4 column"
    );
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() ORDER BY 1",
    )
    .fetch_all(db.pool())
    .await
    .expect("tables");
    assert!(tables.len() >= 9, "roll tables: {tables:?}");
    let mut dump = String::new();
    for t in &tables {
        // Identifiers cannot be bound; these come from the catalog and are quoted.
        assert!(
            t.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{t}"
        );
        let rows: Vec<String> = sqlx::query_scalar(&format!("SELECT t::text FROM \"{t}\" t"))
            .fetch_all(db.pool())
            .await
            .expect("select");
        for r in rows {
            dump.push_str(&r);
            dump.push('\n');
        }
    }
    assert!(
        dump.len() > 150 * 800,
        "the dump holds the records ({} bytes)",
        dump.len()
    );
    testsuite::assert_no_pii(
        "SELECT of every column as text",
        dump.as_bytes(),
        &needles,
        true,
    );
    let out = std::process::Command::new("pg_dump")
        .arg("--dbname")
        .arg(&url)
        .arg("--schema")
        .arg(schema.name())
        .output();
    match out {
        Ok(o) if o.status.success() => {
            assert!(o.stdout.len() > 150 * 800, "pg_dump output is short");
            testsuite::assert_no_pii("pg_dump", &o.stdout, &needles, true);
        }
        Ok(o) => panic!("pg_dump failed: {}", String::from_utf8_lossy(&o.stderr)),
        Err(e) => eprintln!("pg_dump not run ({e}); the SELECT dump above was scanned"),
    }
    db.pool().close().await;
    schema.drop_schema().await.expect("drop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_schema_1_migrates() {
    let Some(url) = postgres_url_or_skip("postgres_schema_1_migrates") else {
        return;
    };
    let schema = TestSchema::create(&url, "roll_migrate")
        .await
        .expect("schema");
    let options = schema.connect_options();
    let open = || {
        let options = options.clone();
        async move {
            let db: Arc<dyn RollBackend> = Arc::new(PgRoll::connect_with(options).await?);
            Ok(db)
        }
    };
    testsuite::schema_1_migrates(open, raw_sql(schema.connect_options()), "BYTEA").await;
    schema.drop_schema().await.expect("drop");
}
