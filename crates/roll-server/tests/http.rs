//! The roll's HTTP API over a real HTTP client on loopback, against a real SQLite roll.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use urne_roll::Role;
use urne_roll::audit::AdditionSource;
use urne_roll::record::Status;
use urne_roll_server::{Config, router, serve};
use urne_roll_store::sqlite::SqliteRoll;
use urne_roll_store::testsuite::{rows, synthetic, test_master, today};
use urne_roll_store::{Roll, RollBackend};

const PASSWORD: &str = "correct horse battery staple";

struct Fixture {
    addr: SocketAddr,
    voters: Vec<urne_roll::VoterRecord>,
    _dir: tempfile::TempDir,
}

async fn start(config: Config) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let db: Arc<dyn RollBackend> = Arc::new(
        SqliteRoll::open(&dir.path().join("roll.sqlite"))
            .await
            .expect("open"),
    );
    let roll = Roll::open(db, &test_master(), Some("ca-test"))
        .await
        .expect("roll");
    let voters = synthetic(21, 40);
    let op = Roll::operator();
    for (id, role) in [
        ("ada", Role::Admin),
        ("vic", Role::Viewer),
        ("cleo", Role::Clerk),
        ("sam", Role::Supervisor),
        ("sue", Role::Supervisor),
    ] {
        roll.add_staff(&op, id, role, PASSWORD, today())
            .await
            .expect("staff");
    }
    let clerk = roll.login("cleo", PASSWORD).await.expect("login");
    roll.import(
        &clerk,
        None,
        AdditionSource::Mail,
        rows(voters.clone()),
        &(),
        today(),
    )
    .await
    .expect("import");
    let places = vec![(voters[0].precinct.clone(), "Lincoln School gym".to_owned())];
    roll.set_polling_places(&op, &places, today())
        .await
        .expect("places");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(serve(listener, router(roll, config)));
    Fixture {
        addr,
        voters,
        _dir: dir,
    }
}

async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (u16, String) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .header("content-type", "application/json");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = client
        .request(req.body(Full::new(Bytes::from(body))).expect("request"))
        .await
        .expect("response");
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

fn lookup_body(v: &urne_roll::VoterRecord) -> Vec<u8> {
    serde_json::json!({
        "last": v.name.last, "first": v.name.first,
        "dob": v.sensitive.dob.to_string(), "zip": v.residence.zip,
    })
    .to_string()
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookup_same_shape_floor_and_limits() {
    let floor = Duration::from_millis(40);
    let f = start(Config {
        lookup_floor: floor,
        per_client_per_second: 1,
        per_client_burst: 6,
    })
    .await;
    let active = f
        .voters
        .iter()
        .find(|v| v.status == Status::Active && v.precinct == f.voters[0].precinct)
        .unwrap_or(&f.voters[0]);
    let mut missing = active.clone();
    missing.name.first = "Nobodyatall".into();
    let t = Instant::now();
    let (s1, found) = call(
        f.addr,
        "POST",
        "/roll/v1/lookup",
        None,
        &[],
        lookup_body(active),
    )
    .await;
    assert!(t.elapsed() >= floor, "found answered before the floor");
    let t = Instant::now();
    let (s2, not) = call(
        f.addr,
        "POST",
        "/roll/v1/lookup",
        None,
        &[],
        lookup_body(&missing),
    )
    .await;
    assert!(t.elapsed() >= floor, "not-found answered before the floor");
    assert_eq!((s1, s2), (200, 200));
    assert_eq!(found.len(), not.len(), "same length found or not");
    let keys = |s: &str| -> Vec<String> {
        let v: serde_json::Value = serde_json::from_str(s).expect("json");
        v.as_object().expect("object").keys().cloned().collect()
    };
    assert_eq!(keys(&found), keys(&not), "same keys found or not");
    if active.status == Status::Active && active.precinct == f.voters[0].precinct {
        assert!(found.contains("\"registered\":true"), "{found}");
        assert!(found.contains("Lincoln School gym"), "{found}");
    }
    assert!(not.contains("\"registered\":false"), "{not}");
    for secret in [
        &active.residence.line1,
        &active.voter_id,
        &active.residence.city,
    ] {
        assert!(
            !found.contains(secret.as_str()),
            "lookup leaked an address or id"
        );
    }
    // Malformed and oversized bodies are refused without touching the roll.
    let (s, msg) = call(
        f.addr,
        "POST",
        "/roll/v1/lookup",
        None,
        &[],
        b"{\"last\":1}".to_vec(),
    )
    .await;
    assert_eq!(s, 422, "{msg}");
    let big = vec![b' '; 64 * 1024];
    let (s, _) = call(f.addr, "POST", "/roll/v1/lookup", None, &[], big).await;
    assert_eq!(s, 413, "oversized body");
    // The burst is used up: the next requests from this client are limited.
    let mut limited = false;
    for _ in 0..4 {
        let (s, _) = call(
            f.addr,
            "POST",
            "/roll/v1/lookup",
            None,
            &[],
            lookup_body(active),
        )
        .await;
        limited |= s == 429;
    }
    assert!(limited, "per-client rate limit never applied");
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

async fn token(addr: SocketAddr, id: &str) -> String {
    let body = serde_json::json!({"id": id, "password": PASSWORD})
        .to_string()
        .into_bytes();
    let (s, b) = call(addr, "POST", "/roll/v1/login", None, &[], body).await;
    assert_eq!(s, 200, "login {id}: {b}");
    json(&b)["token"].as_str().expect("token").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_api_roles_and_bulk_approval() {
    let f = start(Config {
        lookup_floor: Duration::from_millis(1),
        per_client_per_second: 100,
        per_client_burst: 100,
    })
    .await;
    let v = &f.voters[3];
    let path = format!("/roll/v1/voters/{}", v.voter_id);
    let why = [("x-urne-purpose", "answering the voter's phone call")];
    let (s, _) = call(f.addr, "GET", &path, None, &why, vec![]).await;
    assert_eq!(s, 401, "no token");
    let (s, _) = call(f.addr, "GET", &path, Some("urne_rt_forged"), &why, vec![]).await;
    assert_eq!(s, 401, "forged token");
    let viewer = token(f.addr, "vic").await;
    let clerk = token(f.addr, "cleo").await;
    let (s, body) = call(f.addr, "GET", &path, Some(&viewer), &why, vec![]).await;
    assert_eq!(s, 200, "{body}");
    assert!(
        json(&body).get("DateOfBirth").is_none(),
        "viewer saw the date of birth"
    );
    let (s, body) = call(f.addr, "GET", &path, Some(&clerk), &why, vec![]).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(json(&body)["DateOfBirth"], v.sensitive.dob.to_string());
    let (s, _) = call(f.addr, "GET", &path, Some(&clerk), &[], vec![]).await;
    assert_eq!(s, 400, "a PII read needs a purpose");
    // Edit through the API: a clerk may, a viewer may not.
    let mut edited = urne_roll_server::format::record_to_json(v);
    edited["PreferredLanguage"] = serde_json::json!("es");
    let body = serde_json::json!({"reason": "correction", "record": edited})
        .to_string()
        .into_bytes();
    let (s, _) = call(f.addr, "PUT", &path, Some(&viewer), &[], body.clone()).await;
    assert_eq!(s, 403, "viewer edit");
    let (s, b) = call(f.addr, "PUT", &path, Some(&clerk), &[], body).await;
    assert_eq!(s, 204, "clerk edit: {b}");
    // A change set over the threshold (default 100) waits for a second supervisor.
    let set: Vec<serde_json::Value> = f
        .voters
        .iter()
        .cycle()
        .take(101)
        .map(|v| serde_json::json!({"voter_id": v.voter_id, "action": "inactivate", "reason": "mail-returned"}))
        .collect();
    let set = serde_json::Value::Array(set).to_string().into_bytes();
    let sam = token(f.addr, "sam").await;
    let sue = token(f.addr, "sue").await;
    let (s, _) = call(
        f.addr,
        "POST",
        "/roll/v1/changes",
        Some(&clerk),
        &[],
        set.clone(),
    )
    .await;
    assert_eq!(s, 403, "clerk bulk");
    let (s, b) = call(f.addr, "POST", "/roll/v1/changes", Some(&sam), &[], set).await;
    assert_eq!(s, 202, "{b}");
    let id = json(&b)["pending"].as_i64().expect("pending id");
    let approve = format!("/roll/v1/changes/{id}/approve");
    let (s, _) = call(f.addr, "POST", &approve, Some(&sam), &[], vec![]).await;
    assert_eq!(s, 403, "self approval");
    let (s, b) = call(f.addr, "POST", &approve, Some(&sue), &[], vec![]).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(json(&b)["approver"], "sue");
    // Non-voting removal is refused outright.
    let nv =
        serde_json::json!([{"voter_id": v.voter_id, "action": "remove", "reason": "non-voting"}]);
    let (s, b) = call(
        f.addr,
        "POST",
        "/roll/v1/changes",
        Some(&sam),
        &[],
        nv.to_string().into_bytes(),
    )
    .await;
    assert_eq!(s, 403, "{b}");
    assert!(b.contains("§8(b)(2)"), "{b}");
    // Staff management is the admin's.
    let new = serde_json::json!({"id": "newbie", "role": "viewer", "password": PASSWORD})
        .to_string()
        .into_bytes();
    let (s, _) = call(
        f.addr,
        "POST",
        "/roll/v1/staff",
        Some(&clerk),
        &[],
        new.clone(),
    )
    .await;
    assert_eq!(s, 403, "clerk adds staff");
    let admin = token(f.addr, "ada").await;
    let (s, _) = call(f.addr, "POST", "/roll/v1/staff", Some(&admin), &[], new).await;
    assert_eq!(s, 201, "admin adds staff");
    let (s, d) = call(
        f.addr,
        "GET",
        "/roll/v1/digest?start=0",
        Some(&viewer),
        &[],
        vec![],
    )
    .await;
    assert_eq!(s, 200, "{d}");
    assert!(d.starts_with("urne roll-digest v1\nroll ca-test\n"), "{d}");
    assert!(d.contains("count add/mail 40"), "{d}");
}
