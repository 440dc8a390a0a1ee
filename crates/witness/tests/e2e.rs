//! End to end on a loopback port: a log built with `urne_tlog::Edge` grows and asks the
//! witness over HTTP/1.1 (keep-alive) to cosign each checkpoint; then the witness restarts on
//! the same SQLite file and still remembers.

mod common;

use std::sync::Arc;

use axum::body::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::oneshot;
use urne_witness::{CONTENT_TYPE_TLOG_SIZE, SqliteState, serve};

use common::TestLog;

type HttpClient = Client<HttpConnector, Full<Bytes>>;

async fn post(client: &HttpClient, url: &str, body: String) -> (u16, String, String) {
    let request = hyper::Request::post(url)
        .body(Full::new(Bytes::from(body)))
        .expect("request");
    let response = client.request(request).await.expect("response");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        content_type,
        String::from_utf8(bytes.to_vec()).expect("utf-8"),
    )
}

/// Starts a witness on a fresh loopback port; returns its URL and a stop switch.
async fn start(db: &std::path::Path) -> (String, oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let state = SqliteState::open(db).await.expect("open");
    let (witness, clock) = common::witness(Arc::new(state));
    clock.set(common::NOW + 60);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}/add-checkpoint",
        listener.local_addr().expect("addr")
    );
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        serve(listener, witness, async {
            let _ = stopped.await;
        })
        .await
        .expect("serve");
    });
    (url, stop, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_grows_and_is_cosigned_over_http() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("witness.db");
    let (url, stop, server) = start(&db).await;
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();

    let mut log = TestLog::new();
    let mut old = 0;
    // Batches of 1, 2, 3, ... entries: sizes cross tile boundaries (256) on the way.
    for batch in 1..=40 {
        log.grow("e", batch);
        let (status, _, body) = post(&client, &url, log.body(old)).await;
        assert_eq!(status, 200, "size {}: {body}", log.size());
        let timestamp = common::check_cosignature(&log.note(), &body);
        assert_eq!(timestamp, common::NOW + 60);
        old = log.size();
    }
    assert_eq!(old, 820);

    // Restart on the same file: the record survived.
    stop.send(()).expect("stop");
    server.await.expect("server");
    let (url, stop, server) = start(&db).await;
    let stale = {
        let mut earlier = TestLog::new();
        earlier.grow("e", 10);
        earlier.body(0)
    };
    assert_eq!(
        post(&client, &url, stale).await,
        (409, CONTENT_TYPE_TLOG_SIZE.to_string(), "820\n".to_string())
    );
    log.grow("e", 1);
    let (status, _, body) = post(&client, &url, log.body(old)).await;
    assert_eq!(status, 200, "{body}");
    common::check_cosignature(&log.note(), &body);
    stop.send(()).expect("stop");
    server.await.expect("server");
}
