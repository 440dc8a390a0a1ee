//! The server's witnessing task: after each new checkpoint, ask the trust policy's witnesses to
//! cosign it (`urne_witness::client::Cosigner`) and keep the cosigned note, durably, to serve as
//! `log/checkpoint`.
//!
//! `urne serve` runs one task per witness set: `Publisher` starts it when the trust policy in
//! force names witnesses (and restarts it when a rotation changes them). Sequencing never waits
//! for it: the task runs beside the sequencer, and every witness request is bounded by
//! `WITNESS_REQUEST_TIME_MAX`.
//!
//! Durability (in the same `Blobs` as the log, outside `log/` so no tile path can name them):
//! - [`COSIGNED_KEY`] holds the latest checkpoint note with every valid cosignature gathered
//!   for it (the cosignatures of earlier rounds for the same checkpoint are kept).
//! - [`WITNESSED_KEY`] holds the latest checkpoint note whose cosignatures met the quorum.
//!
//! Each is a whole signed note written with one atomic `Blobs::put`, and it is used only for
//! the checkpoint whose text it carries ([`served_bytes`] compares the checkpoint text and the
//! log's own signature lines), so a crash anywhere can never make cosignatures of one checkpoint
//! appear on another: at worst the bare log-signed note is served until the next round.
//! `urne serve` and `urne export` both read `log/checkpoint` through [`served_checkpoint`], so
//! they write the same bytes.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use urne_store::{BlobError, Blobs};
use urne_tlog::note::{Ed25519Verifier, Note};
use urne_tlog::policy::{Policy, PolicyLog, Quorum};
use urne_tlog::{Checkpoint, Hash, TileId};
use urne_verify::follow::TileMap;
use urne_witness::client::{Cosigner, Outcome, ProofSource};

/// How long a checkpoint below quorum waits before its witnesses are asked again.
pub const RETRY_AFTER: Duration = Duration::from_secs(5);
/// Blob key of the latest cosigned checkpoint note (operator-private, not under `log/`).
pub const COSIGNED_KEY: &str = "witnessing/checkpoint";
/// Blob key of the latest checkpoint note that met the witness quorum (a mirror keeps the
/// newest one it verified under the same key, so both render the same witnessed state).
pub const WITNESSED_KEY: &str = urne_verify::mirror::WITNESSED_KEY;

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
    /// Bumped each time [`WITNESSED_KEY`] changes: the public tree must be rendered again.
    witnessed: Option<tokio::sync::watch::Sender<u64>>,
}

impl Witnessing {
    /// The latest round.
    pub fn status(&self) -> Status {
        self.status.read().map(|s| s.clone()).unwrap_or_default()
    }

    /// Changes each time a newer checkpoint meets the quorum (its tree size).
    pub fn witnessed_changes(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        self.witnessed.as_ref().map(|w| w.subscribe())
    }
}

/// What to serve as `log/checkpoint`: `cosigned` if it is exactly the log-signed note plus
/// cosignatures (same checkpoint text, every log signature line of `log_signed` present),
/// else `log_signed` as it is. Pure.
pub fn served_bytes(log_signed: &[u8], cosigned: Option<&[u8]>) -> Vec<u8> {
    let (Ok(current), Some(Ok(stored))) = (Note::parse(log_signed), cosigned.map(Note::parse))
    else {
        return log_signed.to_vec();
    };
    let extends = stored.text() == current.text()
        && current
            .signatures()
            .iter()
            .all(|s| stored.signatures().contains(s));
    if extends {
        stored.to_text().into_bytes()
    } else {
        log_signed.to_vec()
    }
}

/// `log/checkpoint` as `urne serve` serves it and `urne export` writes it: the log-signed
/// checkpoint with the stored cosignatures for exactly it. `None` before the first checkpoint.
pub async fn served_checkpoint(blobs: &dyn Blobs) -> Result<Option<Vec<u8>>, BlobError> {
    let Some(log_signed) = blobs.get(urne_log::CHECKPOINT_KEY).await? else {
        return Ok(None);
    };
    let cosigned = blobs.get(COSIGNED_KEY).await?;
    Ok(Some(served_bytes(&log_signed, cosigned.as_deref())))
}

/// What the pages say about witnessing: the largest tree size whose checkpoint the quorum
/// cosigned (0: none yet) and who cosigned it. Releases at that index or later are "awaiting
/// witnesses".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Witnessed {
    pub size: u64,
    pub cosigners: Vec<String>,
}

/// The witness policy with the log's key as its only log, for `Policy::verify_checkpoint`.
fn checker(policy: &Policy, log: &Ed25519Verifier) -> Policy {
    let mut p = policy.clone();
    p.logs = vec![PolicyLog {
        verifier: log.clone(),
        url: None,
    }];
    p
}

/// The witnessed state for a log of `size` entries under the witness `policy` in force, from
/// the stored [`WITNESSED_KEY`] note (`None` when the policy needs no cosignatures: nothing is
/// ever "awaiting"). A stored note that does not verify under this policy and log key, or is
/// for a larger tree than the log, counts as nothing witnessed. Pure.
pub fn witnessed_view(
    stored: Option<&[u8]>,
    log: &Ed25519Verifier,
    policy: Option<&Policy>,
    size: u64,
) -> Option<Witnessed> {
    let policy = policy.filter(|p| p.quorum != Quorum::None)?;
    let checked = stored
        .and_then(|b| Note::parse(b).ok())
        .and_then(|n| checker(policy, log).verify_checkpoint(&n).ok())
        .filter(|c| c.checkpoint().size <= size);
    Some(match checked {
        Some(c) => Witnessed {
            size: c.checkpoint().size,
            cosigners: c.witnesses().iter().map(|(n, _)| n.clone()).collect(),
        },
        None => Witnessed::default(),
    })
}

/// Reads [`WITNESSED_KEY`] and gives [`witnessed_view`].
pub async fn read_witnessed(
    blobs: &dyn Blobs,
    log: &Ed25519Verifier,
    policy: Option<&Policy>,
    size: u64,
) -> Result<Option<Witnessed>, BlobError> {
    let stored = blobs.get(WITNESSED_KEY).await?;
    Ok(witnessed_view(stored.as_deref(), log, policy, size))
}

/// `fresh` (this round's note) with the cosignatures of `stored` added when `stored` is for
/// the same checkpoint: a witness that answered an earlier round keeps counting.
fn merge(fresh: &Note, stored: Option<&[u8]>) -> Note {
    let mut out = fresh.clone();
    if let Some(old) = stored.and_then(|b| Note::parse(b).ok())
        && old.text() == fresh.text()
    {
        for s in old.signatures() {
            if !out.signatures().contains(s) {
                let _ = out.add_signature(s.clone());
            }
        }
    }
    out
}

/// Starts the task: every `every`, read `log/checkpoint` from `blobs`; a new one (or one below
/// quorum after [`RETRY_AFTER`]) is sent to the witnesses of `policy`, and the note with every
/// valid cosignature is stored ([`COSIGNED_KEY`], and [`WITNESSED_KEY`] once the quorum is
/// met). `log` is the log's key. The handle stops the task (when a rotation changes the
/// witnesses).
pub fn spawn(
    blobs: Arc<dyn Blobs>,
    log: Ed25519Verifier,
    policy: &Policy,
    every: Duration,
) -> (Arc<Witnessing>, tokio::task::AbortHandle) {
    let (tx, _) = tokio::sync::watch::channel(0);
    let shared = Arc::new(Witnessing {
        status: RwLock::default(),
        witnessed: Some(tx),
    });
    let cosigner = Cosigner::new(policy);
    let checker = checker(policy, &log);
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
            let stored = blobs.get(COSIGNED_KEY).await.ok().flatten();
            let already = last_round.is_none() && stored_quorum(&checker, &note, stored.as_deref());
            let report = if already {
                // Restarted with this checkpoint already cosigned by the quorum: nothing to ask.
                None
            } else {
                Some(cosigner.cosign(&note, &proofs).await)
            };
            let fresh = report.as_ref().map_or(&note, |r| &r.note);
            let merged = merge(fresh, stored.as_deref());
            let (cosigners, quorum_met) = match checker.verify_checkpoint(&merged) {
                Ok(c) => (c.witnesses().iter().map(|(n, _)| n.clone()).collect(), true),
                Err(_) => (
                    report.as_ref().map_or(Vec::new(), |r| {
                        r.cosigners().iter().map(|s| s.to_string()).collect()
                    }),
                    false,
                ),
            };
            let missing: Vec<(String, String)> = report
                .iter()
                .flat_map(|r| r.outcomes.iter())
                .filter(|(_, o)| !matches!(o, Outcome::Cosigned(_)))
                .map(|(n, o)| (n.clone(), format!("{o:?}")))
                .collect();
            if !missing.is_empty() {
                tracing::warn!(?missing, quorum_met, "witnesses missing");
            }
            if let Err(e) = persist(blobs.as_ref(), &merged, stored.as_deref(), quorum_met).await {
                // Served from the log-signed note meanwhile; the next round tries again.
                tracing::error!(error = %e, "storing the cosigned checkpoint");
                continue;
            }
            last_round = Some((note.text().to_string(), tokio::time::Instant::now()));
            if let Ok(mut s) = out.status.write() {
                *s = Status {
                    note: Some(merged.clone()),
                    cosigners,
                    missing,
                    quorum_met,
                };
            }
            if quorum_met
                && let (Some(tx), Ok(cp)) = (&out.witnessed, Checkpoint::parse(merged.text()))
            {
                tx.send_replace(cp.size);
            }
        }
    });
    (shared, task.abort_handle())
}

/// Whether the stored cosigned note is for `note`'s checkpoint and meets the quorum.
fn stored_quorum(checker: &Policy, note: &Note, stored: Option<&[u8]>) -> bool {
    stored
        .and_then(|b| Note::parse(b).ok())
        .is_some_and(|s| s.text() == note.text() && checker.verify_checkpoint(&s).is_ok())
}

/// Stores the round's note: [`COSIGNED_KEY`] when it gained a cosignature, then
/// [`WITNESSED_KEY`] when the quorum is met. Each write is one atomic, durable put.
async fn persist(
    blobs: &dyn Blobs,
    merged: &Note,
    stored: Option<&[u8]>,
    quorum_met: bool,
) -> Result<(), BlobError> {
    let bytes = merged.to_text().into_bytes();
    if stored != Some(bytes.as_slice()) {
        blobs.put(COSIGNED_KEY, &bytes).await?;
    }
    if quorum_met && blobs.get(WITNESSED_KEY).await?.as_deref() != Some(bytes.as_slice()) {
        blobs.put(WITNESSED_KEY, &bytes).await?;
    }
    Ok(())
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
        known.add(origin, log_key.clone());
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
        let (w, task) = spawn(
            blobs.clone(),
            log_key.clone(),
            &policy,
            Duration::from_millis(20),
        );
        let s = until(&w, 4).await;
        assert_eq!(s.cosigners, ["w"]);
        let served = served_checkpoint(blobs.as_ref()).await.unwrap().unwrap();
        assert!(
            String::from_utf8(served.clone())
                .unwrap()
                .contains("\u{2014} w.example ")
        );
        let view = read_witnessed(blobs.as_ref(), &log_key, Some(&policy), 4)
            .await
            .unwrap();
        assert_eq!(
            view,
            Some(Witnessed {
                size: 4,
                cosigners: vec!["w".into()]
            })
        );
        // Durable: a new task (a restart) serves the same bytes before asking anyone.
        task.abort();
        assert_eq!(
            served_checkpoint(blobs.as_ref()).await.unwrap().unwrap(),
            served
        );
        let (w, _task) = spawn(
            blobs.clone(),
            log_key.clone(),
            &policy,
            Duration::from_millis(20),
        );
        tokio::task::block_in_place(|| log.publish(2, "y"));
        // The new checkpoint is served bare until its cosignature is stored; never with the
        // old one's cosignatures.
        let bare = log.signed_checkpoint().to_text().into_bytes();
        let now = served_checkpoint(blobs.as_ref()).await.unwrap().unwrap();
        assert!(now == bare || String::from_utf8(now).unwrap().contains("\n6\n"));
        let s = until(&w, 6).await;
        assert_eq!(s.cosigners, ["w"]);
        // A checkpoint the task has not cosigned is served as the log signed it.
        let other = dir.path().join("other");
        let raw = tokio::task::block_in_place(|| log.fork(2, &other).signed_checkpoint());
        let raw = raw.to_text().into_bytes();
        let stored = blobs.get(COSIGNED_KEY).await.unwrap();
        assert_eq!(served_bytes(&raw, stored.as_deref()), raw);
        // A stored note for another policy or a larger tree witnesses nothing.
        let other_policy = Policy::parse(&format!(
            "witness v {} {url}\nquorum v\n",
            CosignatureSigner::from_seed("v.example", [4; 32])
                .unwrap()
                .verifier()
                .vkey()
        ))
        .unwrap();
        let stored = blobs.get(WITNESSED_KEY).await.unwrap();
        assert_eq!(
            witnessed_view(stored.as_deref(), &log_key, Some(&other_policy), 6),
            Some(Witnessed::default())
        );
        assert_eq!(
            witnessed_view(stored.as_deref(), &log_key, Some(&policy), 5),
            Some(Witnessed::default())
        );
        assert_eq!(
            witnessed_view(
                stored.as_deref(),
                &log_key,
                Some(&Policy::parse("quorum none\n").unwrap()),
                6
            ),
            None
        );
    }
}
