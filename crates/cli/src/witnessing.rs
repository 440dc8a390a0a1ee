//! The server's witnessing task: after each new checkpoint, ask the trust policy's witnesses to
//! cosign it (`urne_witness::client::Cosigner`) and keep the cosigned note to serve as
//! `log/checkpoint`.
//!
//! `urne serve` runs one task per witness set: `Publisher` starts it when the trust policy in
//! force names witnesses (and restarts it when a rotation changes them), and the
//! `GET /log/checkpoint` handler serves `w.served(&log_signed_bytes)`. [`Witnessing::status`] says whether the quorum is met ("awaiting
//! witnesses" until it is). Sequencing never waits for it: the task runs beside the sequencer,
//! and every witness request is bounded by `WITNESS_REQUEST_TIME_MAX`.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use urne_store::Blobs;
use urne_tlog::note::Note;
use urne_tlog::policy::Policy;
use urne_tlog::{Hash, TileId};
use urne_verify::follow::TileMap;
use urne_witness::client::{Cosigner, Outcome, ProofSource};

/// How long a checkpoint below quorum waits before its witnesses are asked again.
pub const RETRY_AFTER: Duration = Duration::from_secs(5);

/// The latest witnessing round.
#[derive(Clone, Debug, Default)]
pub struct Status {
    /// The checkpoint note with every valid cosignature so far.
    pub note: Option<Note>,
    /// Policy names of the witnesses that cosigned it.
    pub cosigners: Vec<String>,
    /// Witnesses that did not, and why.
    pub missing: Vec<(String, String)>,
    /// Whether the policy's quorum is met.
    pub quorum_met: bool,
}

/// Shared between the task and the handlers.
#[derive(Debug, Default)]
pub struct Witnessing {
    status: RwLock<Status>,
}

impl Witnessing {
    /// The latest round.
    pub fn status(&self) -> Status {
        self.status.read().map(|s| s.clone()).unwrap_or_default()
    }

    /// What to serve as `log/checkpoint`: the cosigned note if it is for exactly this
    /// log-signed checkpoint, else the log-signed bytes as they are.
    pub fn served(&self, log_signed: &[u8]) -> Vec<u8> {
        let Ok(current) = Note::parse(log_signed) else {
            return log_signed.to_vec();
        };
        match self.status().note {
            Some(note) if note.text() == current.text() => note.to_text().into_bytes(),
            _ => log_signed.to_vec(),
        }
    }
}

/// Starts the task: every `every`, read `log/checkpoint` from `blobs`; a new one (or one below
/// quorum after [`RETRY_AFTER`]) is sent to the witnesses of `policy`. The handle stops the
/// task (when a rotation changes the witnesses).
pub fn spawn(
    blobs: Arc<dyn Blobs>,
    policy: &Policy,
    every: Duration,
) -> (Arc<Witnessing>, tokio::task::AbortHandle) {
    let shared = Arc::new(Witnessing::default());
    let cosigner = Cosigner::new(policy);
    let out = shared.clone();
    let task = tokio::spawn(async move {
        let proofs = BlobProofs(blobs.clone());
        let mut last_round: Option<(String, tokio::time::Instant)> = None;
        loop {
            tokio::time::sleep(every).await;
            let Ok(Some(bytes)) = blobs.get(urne_log::CHECKPOINT_KEY).await else {
                continue;
            };
            let Ok(note) = Note::parse(&bytes) else {
                continue;
            };
            let status = out.status();
            let same = last_round.as_ref().is_some_and(|(t, _)| t == note.text());
            let retry = same
                && !status.quorum_met
                && last_round
                    .as_ref()
                    .is_some_and(|(_, at)| at.elapsed() >= RETRY_AFTER);
            if same && !retry {
                continue;
            }
            let report = cosigner.cosign(&note, &proofs).await;
            let missing: Vec<(String, String)> = report
                .outcomes
                .iter()
                .filter(|(_, o)| !matches!(o, Outcome::Cosigned(_)))
                .map(|(n, o)| (n.clone(), format!("{o:?}")))
                .collect();
            if !missing.is_empty() {
                tracing::warn!(
                    ?missing,
                    quorum_met = report.quorum_met,
                    "witnesses missing"
                );
            }
            let cosigners = report.cosigners().iter().map(|s| s.to_string()).collect();
            last_round = Some((note.text().to_string(), tokio::time::Instant::now()));
            if let Ok(mut s) = out.status.write() {
                *s = Status {
                    note: Some(report.note),
                    cosigners,
                    missing,
                    quorum_met: report.quorum_met,
                };
            }
        }
    });
    (shared, task.abort_handle())
}

/// Consistency proofs from the log's own tiles in `Blobs`.
struct BlobProofs(Arc<dyn Blobs>);

#[async_trait]
impl ProofSource for BlobProofs {
    async fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, String> {
        let mut tiles = TileMap::default();
        for id in urne_tlog::consistency_tiles(old, new).map_err(|e| e.to_string())? {
            let id: TileId = id;
            let key = urne_log::log_key(&id.path());
            let bytes = self
                .0
                .get(&key)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("{key} is missing"))?;
            tiles.insert(id, bytes);
        }
        urne_tlog::consistency_proof(old, new, &tiles).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use urne_store::DirBlobs;
    use urne_tlog::cosignature::CosignatureSigner;
    use urne_verify::fixture::FixtureLog;

    async fn until(w: &Witnessing, size: u64) -> Status {
        for _ in 0..500 {
            let s = w.status();
            let grown = s
                .note
                .as_ref()
                .is_some_and(|n| n.text().contains(&format!("\n{size}\n")));
            if grown && s.quorum_met {
                return s;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no quorum at size {size}: {:?}", w.status());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn new_checkpoints_get_cosigned_and_served() {
        let dir = tempfile::tempdir().unwrap();
        let origin = "results.example-county.gov/log";
        let signer = CosignatureSigner::from_seed("w.example", [3; 32]).unwrap();
        let vkey = signer.verifier().vkey();
        let log_key = urne_verify::fixture::key(origin).verifier();
        let mut known = urne_witness::KnownLogs::new();
        known.add(origin, log_key);
        let witness = Arc::new(urne_witness::Witness::new(
            signer,
            known,
            Arc::new(urne_witness::MemoryState::new()),
            Arc::new(urne_witness::SystemClock),
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(urne_witness::serve(
            listener,
            witness,
            std::future::pending(),
        ));
        let lines = format!("witness w {vkey} {url}\nquorum w\n");
        let tree = dir.path().join("public");
        let mut log = tokio::task::block_in_place(|| {
            let mut log = FixtureLog::new(&tree, origin, &lines);
            log.publish(3, "x");
            log
        });
        let policy = Policy::parse(&lines).unwrap();
        let blobs: Arc<dyn Blobs> = Arc::new(DirBlobs::new(&tree));
        let (w, _task) = spawn(blobs, &policy, Duration::from_millis(20));
        let s = until(&w, 4).await;
        assert_eq!(s.cosigners, ["w"]);
        let served = w.served(&log.signed_checkpoint().to_text().into_bytes());
        assert!(
            String::from_utf8(served)
                .unwrap()
                .contains("\u{2014} w.example ")
        );
        tokio::task::block_in_place(|| log.publish(2, "y"));
        let s = until(&w, 6).await;
        assert_eq!(s.cosigners, ["w"]);
        // A checkpoint the task has not cosigned is served as the log signed it.
        let other = dir.path().join("other");
        let raw = tokio::task::block_in_place(|| log.fork(2, &other).signed_checkpoint());
        let raw = raw.to_text().into_bytes();
        assert_eq!(w.served(&raw), raw);
    }
}
