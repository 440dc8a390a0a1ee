//! SSE fan-out (issue 4): how many `GET /api/v1/events` subscribers one `urne serve` process
//! holds, how long one release takes to reach all of them, and the server's memory per
//! subscriber.
//!
//! ```sh
//! cargo bench -p urne --bench sse_fanout            # or scripts/serve-bench.sh sse
//! ```
//!
//! Settings (environment): `SSE_BENCH_N` (comma list, default `1000,10000`),
//! `SSE_BENCH_PORT` (default 27100), `SSE_BENCH_SOURCES` (loopback source addresses
//! `127.0.0.2…`, default 16), `SSE_BENCH_SERVER_CPUS` (a `taskset -c` list for the server),
//! `SSE_BENCH_CSV` (the OpenElections file released; default the demo's Appling County slice),
//! `SSE_BENCH_PATHS` (comma list of `light`, `axum`; default both).
//!
//! Paths: `light` subscribers open a connection and send the events request first, which
//! `urne serve` answers on its light path (`urne::live`); `axum` subscribers first fetch
//! `log/checkpoint` on the connection and then send the events request on the same kept-alive
//! connection, which goes through hyper and axum's `Sse` as every subscriber did before the
//! light path: the same-run baseline.
//!
//! For each N: a fresh `urne serve` child process (this build's binary) on one data directory
//! (policy and a first release published once, through the officials' CLI); N subscribers, each
//! a hyper HTTP/1.1 client on its own connection, bound to rotating loopback source addresses so
//! one address's ephemeral ports suffice; the server's VmRSS before and after they connect;
//! then one signed release is POSTed (the request `urne publish` sends) and every subscriber
//! stamps the arrival of its `release` event. Latencies are from the start of that POST, so
//! they include the server's check, render and log append; "spread" is first to last arrival.
//! Each process needs N + a few file descriptors: the bench raises its soft limit to the hard
//! one and starts the server with that limit; `ulimit -Hn` below N + 100 fails with a message.
#![forbid(unsafe_code)]

use std::{
    net::{Ipv4Addr, SocketAddr, SocketAddrV4},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, bail, ensure};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use tokio::sync::{Semaphore, mpsc, watch};

const URNE: &str = env!("CARGO_BIN_EXE_urne");
const ELECTION: &str = "2018-11-06-general";
/// Connections being set up at once (below the listener's backlog of 1,024).
const CONNECTING_MAX: usize = 512;
/// How long all subscribers may take to connect, and the event to reach them all.
const PHASE_TIMEOUT: Duration = Duration::from_secs(180);

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; this harness takes its settings from the environment.
    let ns: Vec<usize> = env_or("SSE_BENCH_N", "1000,10000")
        .split(',')
        .map(|n| {
            n.trim()
                .parse()
                .context("SSE_BENCH_N: a comma list of counts")
        })
        .collect::<anyhow::Result<_>>()?;
    let port: u16 = env_or("SSE_BENCH_PORT", "27100").parse()?;
    let sources: u8 = env_or("SSE_BENCH_SOURCES", "16").parse()?;
    let paths: Vec<Route> = env_or("SSE_BENCH_PATHS", "light,axum")
        .split(',')
        .map(|p| match p.trim() {
            "light" => Ok(Route::Light),
            "axum" => Ok(Route::Axum),
            other => bail!("SSE_BENCH_PATHS: light or axum, not {other:?}"),
        })
        .collect::<anyhow::Result<_>>()?;
    ensure!((1..=250).contains(&sources), "SSE_BENCH_SOURCES: 1 to 250");
    let nofile = raise_nofile()?;
    let need = ns.iter().max().copied().unwrap_or(0) as u64 + 100;
    ensure!(
        nofile >= need,
        "RLIMIT_NOFILE hard limit is {nofile}; {need} file descriptors are needed \
         (client and server each hold one per subscriber): raise `ulimit -Hn`"
    );
    let runtime = tokio::runtime::Runtime::new()?;
    let scratch = tempfile::Builder::new()
        .prefix("urne-sse-bench")
        .tempdir()?;
    let officials = Officials::new(scratch.path())?;
    let data = scratch.path().join("data");
    let csv = std::env::var_os("SSE_BENCH_CSV").map_or_else(
        || {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("demo/20181106__ga__general__appling__precinct.csv")
        },
        PathBuf::from,
    );
    let url = format!("http://127.0.0.1:{port}");
    println!(
        "sse_fanout: server {URNE}, {sources} source addresses, nofile {nofile}, release of {}",
        csv.display()
    );
    println!(
        "{:>6} {:>7} {:>9} {:>11} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "path", "N", "held", "rss KB/sub", "after evt", "POST ack", "p50", "p99", "max", "spread"
    );
    let mut previous: Option<PathBuf> = None;
    let rounds = ns.iter().flat_map(|&n| paths.iter().map(move |&p| (n, p)));
    for (round, (n, path)) in rounds.enumerate() {
        let mut server = Server::start(&data, port)?;
        if round == 0 {
            officials.publish(&officials.policy, &url)?;
            let first = officials.release(&csv, scratch.path(), 0, None)?;
            officials.publish(&first, &url)?;
            previous = Some(first);
        }
        // The next release, signed before any subscriber connects.
        let next =
            officials.release(&csv, scratch.path(), round as u64 + 1, previous.as_deref())?;
        let result = runtime.block_on(fan_out(&url, port, sources, n, path, server.pid(), &next));
        server.stop();
        let r = result?;
        previous = Some(next);
        println!(
            "{:>6} {:>7} {:>9} {:>11.2} {:>10.2} {:>10} {:>10} {:>10} {:>10} {:>10}",
            path.name(),
            n,
            r.held,
            r.rss_per_sub_kb,
            r.rss_after_event_per_sub_kb,
            ms(r.ack),
            ms(r.p50),
            ms(r.p99),
            ms(r.max),
            ms(r.spread),
        );
        if r.held < n {
            println!(
                "        ({} of {n} refused or failed: {})",
                n - r.held,
                r.first_error
            );
        }
    }
    println!(
        "(times from the start of the release's POST; rss KB/sub = server VmRSS growth / held)"
    );
    Ok(())
}

/// How a subscriber reaches the event stream (see the module docs).
#[derive(Debug, Clone, Copy)]
enum Route {
    Light,
    Axum,
}

impl Route {
    fn name(self) -> &'static str {
        match self {
            Route::Light => "light",
            Route::Axum => "axum",
        }
    }
}

struct Outcome {
    held: usize,
    first_error: String,
    rss_per_sub_kb: f64,
    rss_after_event_per_sub_kb: f64,
    ack: Duration,
    p50: Duration,
    p99: Duration,
    max: Duration,
    spread: Duration,
}

async fn fan_out(
    url: &str,
    port: u16,
    sources: u8,
    n: usize,
    path: Route,
    server_pid: u32,
    release: &Path,
) -> anyhow::Result<Outcome> {
    // One warm-up request, so the baseline RSS includes a served page and a parsed request.
    let _ = get_events_once(port, path).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = vm_rss_kb(server_pid)?;
    let (connected_tx, mut connected_rx) = mpsc::unbounded_channel::<Result<(), String>>();
    let (arrived_tx, mut arrived_rx) = mpsc::unbounded_channel::<Instant>();
    let (close_tx, close_rx) = watch::channel(false);
    let connecting = Arc::new(Semaphore::new(CONNECTING_MAX));
    for i in 0..n {
        let source = Ipv4Addr::new(127, 0, 0, 2 + (i % sources as usize) as u8);
        let (connected, arrived, close, connecting) = (
            connected_tx.clone(),
            arrived_tx.clone(),
            close_rx.clone(),
            connecting.clone(),
        );
        tokio::spawn(async move {
            let permit = connecting.acquire_owned().await.expect("never closed");
            let body = match subscribe(source, port, path).await {
                Ok(body) => {
                    drop(permit);
                    let _ = connected.send(Ok(()));
                    body
                }
                Err(e) => {
                    let _ = connected.send(Err(format!("{e:#}")));
                    return;
                }
            };
            wait_for_release(body, arrived, close).await;
        });
    }
    drop((connected_tx, arrived_tx));
    let mut held = 0;
    let mut first_error = String::new();
    let deadline = tokio::time::Instant::now() + PHASE_TIMEOUT;
    for _ in 0..n {
        match tokio::time::timeout_at(deadline, connected_rx.recv()).await {
            Ok(Some(Ok(()))) => held += 1,
            Ok(Some(Err(e))) => {
                if first_error.is_empty() {
                    first_error = e;
                }
            }
            Ok(None) => break,
            Err(_) => bail!("subscribers still connecting after {PHASE_TIMEOUT:?} ({held} held)"),
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_held = vm_rss_kb(server_pid)?;
    let start = Instant::now();
    let (url, bundle) = (url.to_owned(), release.to_owned());
    let answer = tokio::task::spawn_blocking(move || {
        let bundle = urne::bundle::Bundle::read(&bundle)?;
        urne::officials::publish(&bundle, &url)
    })
    .await??;
    let ack = start.elapsed();
    ensure!(
        answer.status == 200,
        "the release was not published: {} {}",
        answer.status,
        answer.text
    );
    let mut arrivals = Vec::with_capacity(held);
    while arrivals.len() < held {
        match tokio::time::timeout_at(
            tokio::time::Instant::now() + PHASE_TIMEOUT,
            arrived_rx.recv(),
        )
        .await
        {
            Ok(Some(at)) => arrivals.push(at.duration_since(start)),
            Ok(None) => break,
            Err(_) => break,
        }
    }
    ensure!(
        arrivals.len() == held,
        "only {} of {held} subscribers got the release event",
        arrivals.len()
    );
    let rss_after = vm_rss_kb(server_pid)?;
    let _ = close_tx.send(true);
    arrivals.sort();
    let at = |q: f64| arrivals[((arrivals.len() - 1) as f64 * q).round() as usize];
    let per = |kb: u64| kb.saturating_sub(rss_before) as f64 / held.max(1) as f64;
    Ok(Outcome {
        held,
        first_error,
        rss_per_sub_kb: per(rss_held),
        rss_after_event_per_sub_kb: per(rss_after),
        ack,
        p50: at(0.50),
        p99: at(0.99),
        max: at(1.0),
        spread: at(1.0) - at(0.0),
    })
}

type Body = hyper::body::Incoming;

/// Opens one event stream from `source` and returns its body once the 200 headers arrived.
async fn subscribe(source: Ipv4Addr, port: u16, path: Route) -> anyhow::Result<Body> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::V4(SocketAddrV4::new(source, 0)))?;
    let stream = socket
        .connect(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)))
        .await
        .context("connect")?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    if let Route::Axum = path {
        // A first request on the connection: the events request that follows goes to axum.
        let request = hyper::Request::get("/log/checkpoint")
            .header(hyper::header::HOST, format!("127.0.0.1:{port}"))
            .body(Empty::<Bytes>::new())?;
        let response = sender.send_request(request).await?;
        ensure!(
            response.status() == hyper::StatusCode::OK,
            "GET /log/checkpoint"
        );
        response.into_body().collect().await?;
    }
    let request = hyper::Request::get("/api/v1/events")
        .header(hyper::header::HOST, format!("127.0.0.1:{port}"))
        .header(hyper::header::ACCEPT, "text/event-stream")
        .body(Empty::<Bytes>::new())?;
    let response = sender.send_request(request).await?;
    ensure!(
        response.status() == hyper::StatusCode::OK,
        "GET /api/v1/events: {}",
        response.status()
    );
    Ok(response.into_body())
}

/// Reads the stream until a `release` event, stamps its arrival, then holds the connection
/// open until told to close (so the memory measured after delivery still has every stream).
async fn wait_for_release(
    mut body: Body,
    arrived: mpsc::UnboundedSender<Instant>,
    mut close: watch::Receiver<bool>,
) {
    let mut seen = Vec::new();
    loop {
        tokio::select! {
            frame = body.frame() => match frame {
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        seen.extend_from_slice(data);
                        if seen.windows(15).any(|w| w == b"event: release\n") {
                            let _ = arrived.send(Instant::now());
                            break;
                        }
                    }
                }
                _ => return,
            },
            _ = close.changed() => return,
        }
    }
    drop(seen); // free it while the stream is held
    let _ = close.changed().await;
}

async fn get_events_once(port: u16, path: Route) -> anyhow::Result<()> {
    let body = subscribe(Ipv4Addr::LOCALHOST, port, path).await?;
    drop(body);
    Ok(())
}

/// The officials of the bench: two keys, a 2-of-2 policy, bundles made and signed by the CLI.
struct Officials {
    keys: [PathBuf; 2],
    policy: PathBuf,
}

impl Officials {
    fn new(dir: &Path) -> anyhow::Result<Officials> {
        let keys = ["registrar", "deputy"].map(|name| dir.join(format!("{name}.key")));
        for (key, name) in keys.iter().zip(["registrar", "deputy"]) {
            urne(
                &[
                    "keygen",
                    "--name",
                    &format!("{name}.bench.example"),
                    "--out",
                ],
                &[key],
            )?;
        }
        let policy = dir.join("policy");
        let vkeys: Vec<PathBuf> = keys.iter().map(|k| urne::officials::vkey_path(k)).collect();
        let status = Command::new(URNE)
            .args(["policy", "init", "--threshold", "2", "--status", "test"])
            .arg("--official")
            .arg(&vkeys[0])
            .arg("--official")
            .arg(&vkeys[1])
            .arg("--out")
            .arg(&policy)
            .stdout(Stdio::null())
            .status()?;
        ensure!(status.success(), "urne policy init failed");
        let officials = Officials { keys, policy };
        officials.sign(&officials.policy)?;
        Ok(officials)
    }

    fn sign(&self, bundle: &Path) -> anyhow::Result<()> {
        for key in &self.keys {
            let status = Command::new(URNE)
                .arg("sign")
                .arg(bundle)
                .arg("--key")
                .arg(key)
                .stdout(Stdio::null())
                .status()?;
            ensure!(status.success(), "urne sign {} failed", bundle.display());
        }
        Ok(())
    }

    /// Imports `csv` as the election's release `sequence` and signs it.
    fn release(
        &self,
        csv: &Path,
        dir: &Path,
        sequence: u64,
        previous: Option<&Path>,
    ) -> anyhow::Result<PathBuf> {
        let out = dir.join(format!("r{sequence}"));
        let mut command = Command::new(URNE);
        command
            .args([
                "results",
                "import",
                "--election",
                ELECTION,
                "--status",
                "unofficial",
            ])
            .arg("--out")
            .arg(&out)
            .arg(csv);
        if let Some(p) = previous {
            command.arg("--previous").arg(p);
        }
        let status = command.stdout(Stdio::null()).status()?;
        ensure!(
            status.success(),
            "urne results import {} failed",
            csv.display()
        );
        self.sign(&out)?;
        Ok(out)
    }

    fn publish(&self, bundle: &Path, url: &str) -> anyhow::Result<()> {
        let answer = urne::officials::publish(&urne::bundle::Bundle::read(bundle)?, url)?;
        ensure!(
            answer.status == 200,
            "publishing {}: {} {}",
            bundle.display(),
            answer.status,
            answer.text
        );
        Ok(())
    }
}

/// Runs `urne ARGS PATHS…` and fails on a non-zero exit.
fn urne(args: &[&str], paths: &[&Path]) -> anyhow::Result<()> {
    let status = Command::new(URNE)
        .args(args)
        .args(paths)
        .stdout(Stdio::null())
        .status()?;
    ensure!(status.success(), "urne {args:?} {paths:?} failed");
    Ok(())
}

/// A `urne serve` child process.
struct Server {
    child: Child,
}

impl Server {
    fn start(data: &Path, port: u16) -> anyhow::Result<Server> {
        let mut command = match std::env::var("SSE_BENCH_SERVER_CPUS") {
            Ok(cpus) if !cpus.is_empty() => {
                let mut c = Command::new("taskset");
                c.args(["-c", &cpus]).arg(URNE);
                c
            }
            _ => Command::new(URNE),
        };
        let child = command
            .arg("serve")
            .arg("--data")
            .arg(data)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .spawn()
            .context("starting urne serve")?;
        let server = Server { child };
        let until = Instant::now() + Duration::from_secs(120);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            ensure!(
                Instant::now() < until,
                "urne serve did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(server)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stop(&mut self) {
        // SIGINT: the server's orderly stop (it also survives SIGKILL without losing anything).
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
    }
}

fn vm_rss_kb(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS in /proc/PID/status")
}

/// Raises this process's soft RLIMIT_NOFILE to its hard limit (children inherit it) and
/// returns the limit.
fn raise_nofile() -> anyhow::Result<u64> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    limit.current = limit.maximum;
    setrlimit(Resource::Nofile, limit)?;
    Ok(limit.current.unwrap_or(u64::MAX))
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}
