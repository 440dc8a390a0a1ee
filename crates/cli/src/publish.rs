//! The server side of publishing: accept a signed release bundle, check it against the log's
//! trust state, store its payload, sequence its entry, and re-render the public tree.
//!
//! Invariants:
//! - The trust state ([`LogState`]) is only ever the replay of the log through
//!   `urne_release::Chain` (at start) followed by releases the log acknowledged: memory never
//!   runs ahead of the log. When an append is not acknowledged, the state is rebuilt from the
//!   log before the next release is checked.
//! - A release is acknowledged (HTTP 200) only after its payload blob and its log entry are
//!   durable. A refused release changes nothing (no blob, no entry, same tree).
//! - The public tree is a pure function of the log (`urne_site::render` over the replayed
//!   releases): what `urne export` writes and a verifier re-renders; `urne serve` serves the
//!   same files rendered on demand from the same replay ([`crate::rendered`]), one state at a
//!   time, swapped whole after the log acknowledged it.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, RwLock},
    time::Duration,
};

use tokio::sync::{Mutex, broadcast};
use urne_release::{
    Kind, LogState, Manifest, Payload, PayloadRef, Refusal, Release, check_release,
    manifest::{Sha256Hash, hex, sha256},
};
use urne_results::{ValidSnapshot, canonical};
use urne_site::Tree;
use urne_store::Blobs;
use urne_tlog::note::{Ed25519Verifier, Note};

use crate::rendered::ServedTree;
use crate::witnessing::{Witnessed, read_witnessed};

/// Bytes in one release upload (entry + payload). A statewide precinct-level snapshot is
/// tens of MB canonical; this leaves room without letting one request exhaust memory.
pub const RELEASE_BODY_BYTES_MAX: usize = 256 << 20;
/// Live-event subscribers one process holds at once (`GET /api/v1/events`).
pub const EVENT_SUBSCRIBERS_MAX: usize = 50_000;
/// Events buffered per subscriber before a slow one is told it lagged.
pub const EVENT_QUEUE_MAX: usize = 64;

/// The blob key of a payload: content-addressed, immutable.
pub fn blob_key(sha256: &Sha256Hash) -> String {
    format!("blobs/sha256/{}", hex(sha256))
}

/// What the page header and `verify.js` need about the office and its log.
#[derive(Debug, Clone)]
pub struct SiteConfig {
    pub title: String,
    pub origin: String,
    pub log_vkey: String,
    /// Bytes of rendered files `urne serve` keeps per served state
    /// ([`crate::rendered::RENDER_CACHE_BYTES_DEFAULT`]); not part of what is rendered.
    pub render_cache_bytes: usize,
    /// Where `urne serve` keeps rendered files too large for memory while it serves them
    /// ([`crate::serve::SPILL_BYTES_MIN`]: a state's downloads), as unlinked temporary files;
    /// `None`: the system's temporary directory. Not part of what is rendered.
    pub spill_dir: Option<std::path::PathBuf>,
    /// The smallest rendered file kept there ([`crate::serve::SPILL_BYTES_MIN`]).
    pub spill_bytes_min: usize,
}

/// One sequenced release, with its decoded snapshot for `results` releases.
#[derive(Debug, Clone)]
pub struct Sequenced {
    pub log_index: u64,
    pub release: Release,
    pub snapshot: Option<Arc<ValidSnapshot>>,
}

/// The log replayed: trust state and every release in log order.
#[derive(Debug, Clone, Default)]
pub struct History {
    state: LogState,
    releases: Vec<Sequenced>,
    by_manifest: HashMap<Sha256Hash, u64>,
    snapshots: HashMap<Sha256Hash, Arc<ValidSnapshot>>,
}

/// Why the log could not be replayed (fatal at start: the server refuses to serve).
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("reading the log: {0}")]
    Log(#[from] urne_log::VerifyError),
    #[error("reading {key}: {source}")]
    Blob {
        key: String,
        source: urne_store::BlobError,
    },
    #[error("log entry {index}: its payload {key} is missing")]
    PayloadMissing { index: u64, key: String },
    #[error("log entry {index}: payload is not a canonical results snapshot: {source}")]
    Payload {
        index: u64,
        source: canonical::DecodeError,
    },
    #[error("{0}")]
    Chain(#[from] urne_release::ChainError),
}

impl History {
    /// Replays the first `size` entries of the log in `blobs` with the checks of
    /// `urne_release::Chain` (`check_release` entry by entry) and the real decrease check. Every payload must be present and every results payload decode.
    pub async fn replay(blobs: &dyn Blobs, size: u64) -> Result<History, ReplayError> {
        let entries = urne_log::read_all_entries(blobs, size).await?;
        let mut history = History::default();
        for (index, entry) in (0u64..).zip(entries) {
            history.replay_entry(blobs, index, &entry).await?;
        }
        Ok(history)
    }

    /// Replays entries `self.size()..size` of the log in `blobs` on top of this history (a
    /// follower catching up): the same checks as [`History::replay`], entry by entry.
    pub async fn extend(&mut self, blobs: &dyn Blobs, size: u64) -> Result<(), ReplayError> {
        for index in self.size()..size {
            let entry = urne_log::read_entry(blobs, index, size).await?;
            self.replay_entry(blobs, index, &entry).await?;
        }
        Ok(())
    }

    /// Checks entry `index` against the state so far (as `urne_release::Chain` does) and
    /// appends it.
    async fn replay_entry(
        &mut self,
        blobs: &dyn Blobs,
        index: u64,
        entry: &[u8],
    ) -> Result<(), ReplayError> {
        let manifest = parse_manifest(entry);
        let payload = match &manifest {
            Some(m) => {
                let key = blob_key(&m.payload.sha256);
                blobs
                    .get(&key)
                    .await
                    .map_err(|source| ReplayError::Blob {
                        key: key.clone(),
                        source,
                    })?
                    .ok_or(ReplayError::PayloadMissing { index, key })?
            }
            // Let the check name what is wrong with the entry.
            None => Vec::new(),
        };
        let snapshot = match &manifest {
            Some(m) if is_results(m) && sha256(&payload) == m.payload.sha256 => Some(Arc::new(
                canonical::decode(&payload)
                    .map_err(|source| ReplayError::Payload { index, source })?,
            )),
            _ => None,
        };
        let checked = {
            let check = self.decrease_check(snapshot.as_deref());
            check_release(&self.state, entry, Payload::Bytes(&payload), &check)
        };
        let (release, state) = checked
            .map_err(|refusal| urne_release::ChainError::Refused { index, refusal })?
            .into_parts();
        self.state = state;
        self.push(index, release, snapshot);
        Ok(())
    }

    /// The trust state after the log.
    pub fn state(&self) -> &LogState {
        &self.state
    }

    /// Every release, in log order.
    pub fn releases(&self) -> &[Sequenced] {
        &self.releases
    }

    /// Entries replayed (the log size).
    pub fn size(&self) -> u64 {
        self.releases.len() as u64
    }

    fn push(&mut self, log_index: u64, release: Release, snapshot: Option<Arc<ValidSnapshot>>) {
        self.by_manifest.insert(*release.manifest_hash(), log_index);
        if let Some(s) = &snapshot {
            self.snapshots
                .insert(release.manifest().payload.sha256, s.clone());
        }
        self.releases.push(Sequenced {
            log_index,
            release,
            snapshot,
        });
    }

    /// The decrease check for a candidate whose decoded snapshot is `next`: any count lower
    /// than in the stream's previous snapshot, or a contest gone, is a decrease. A snapshot
    /// we cannot find counts as a decrease (refuse rather than guess).
    fn decrease_check<'a>(
        &'a self,
        next: Option<&'a ValidSnapshot>,
    ) -> impl Fn(&PayloadRef, &PayloadRef) -> bool + 'a {
        move |previous: &PayloadRef, _next: &PayloadRef| {
            let (Some(old), Some(new)) = (self.snapshots.get(&previous.sha256), next) else {
                return true;
            };
            let d = urne_results::diff::diff(old, new);
            !d.contests_removed.is_empty() || d.decreases().next().is_some()
        }
    }

    /// Log index of the trust-policy entry in force (0 before any).
    pub fn policy_log_index(&self) -> u64 {
        self.releases
            .iter()
            .rev()
            .find(|s| s.release.manifest().kind == Kind::TrustPolicy)
            .map_or(0, |s| s.log_index)
    }

    /// The witness policy in force, if any.
    pub fn witness_policy(&self) -> Option<&urne_tlog::policy::Policy> {
        self.state.policy().map(|p| p.witnesses())
    }

    /// The public tree (pages, API, downloads, `verify.js`) for this history, saying
    /// "awaiting witnesses" for releases `witnessed` does not cover.
    pub fn render(
        &self,
        site: &SiteConfig,
        witnessed: Option<&Witnessed>,
    ) -> Result<Tree, urne_site::RenderError> {
        urne_site::render(&self.site(site, witnessed))
    }

    /// What the public tree is rendered from: every results release with its snapshot, by
    /// election, and the witnessed state.
    pub fn site<'a>(
        &'a self,
        site: &'a SiteConfig,
        witnessed: Option<&'a Witnessed>,
    ) -> urne_site::Site<'a> {
        let mut elections: BTreeMap<&str, Vec<urne_site::PublishedRelease<'_>>> = BTreeMap::new();
        for s in &self.releases {
            let (Some(snapshot), Some(election)) = (&s.snapshot, &s.release.manifest().election)
            else {
                continue;
            };
            elections
                .entry(election.as_str())
                .or_default()
                .push(urne_site::PublishedRelease {
                    log_index: s.log_index,
                    release: &s.release,
                    snapshot,
                });
        }
        urne_site::Site {
            title: &site.title,
            log_origin: &site.origin,
            log_vkey: &site.log_vkey,
            witnesses: witnessed.map(|w| urne_site::Witnesses {
                size: w.size,
                cosigners: &w.cosigners,
                policy_log_index: self.policy_log_index(),
            }),
            elections: elections
                .into_iter()
                .map(|(id, releases)| urne_site::ElectionReleases { id, releases })
                .collect(),
        }
    }
}

fn parse_manifest(entry: &[u8]) -> Option<Manifest> {
    let note = Note::parse(entry).ok()?;
    Manifest::parse(note.text().as_bytes()).ok()
}

fn is_results(m: &Manifest) -> bool {
    m.kind == Kind::Results
}

/// A release the server would not take. Nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("malformed upload: {0}")]
    Malformed(&'static str),
    #[error("release body is larger than release_body_bytes_max ({RELEASE_BODY_BYTES_MAX} bytes)")]
    TooLarge,
    #[error("refused ({rule}): {0}", rule = rule(.0))]
    Refused(Refusal),
    #[error("refused (results-media-type): a results payload must be {want}, not {0:?}", want = canonical::MEDIA_TYPE)]
    ResultsMediaType(String),
    #[error("refused (results-payload): payload is not a canonical urne-results/v1 snapshot: {0}")]
    ResultsPayload(canonical::DecodeError),
    #[error("refused (render): the public tree cannot be rendered with this release: {0}")]
    Render(urne_site::RenderError),
    /// This process follows the leader at this URL (several servers on PostgreSQL): publish
    /// there. Nothing changed.
    #[error("not the leader: this server follows; publish to {0}")]
    NotLeader(String),
    /// Not acknowledged: the release may or may not be in the log. Retrying is safe (a
    /// release already logged is answered as such).
    #[error("not acknowledged, retry: {0}")]
    Unavailable(String),
}

/// A short name for each acceptance rule, for messages and tests.
pub fn rule(refusal: &Refusal) -> &'static str {
    match refusal {
        Refusal::EntryTooLarge { .. } => "entry-size",
        Refusal::Note(_) | Refusal::NoteNotCanonical => "signed-note",
        Refusal::Manifest(_) => "manifest",
        Refusal::NoTrustPolicy(_) => "trust-policy-first",
        Refusal::UnknownKey { .. } => "unknown-key",
        Refusal::RevokedKey { .. } => "revoked-key",
        Refusal::SignatureInvalid { .. } => "bad-signature",
        Refusal::BelowQuorum { .. } | Refusal::NewPolicyBelowQuorum { .. } => "quorum",
        Refusal::PayloadSizeMismatch { .. } | Refusal::PayloadHashMismatch { .. } => "payload-hash",
        Refusal::PolicyPayloadMissing | Refusal::PolicyMediaType(_) | Refusal::Policy(_) => {
            "trust-policy"
        }
        Refusal::StatusNotAllowed { .. } | Refusal::StatusWentBack { .. } => "status",
        Refusal::AlreadyAccepted { .. } | Refusal::Replayed { .. } => "replay",
        Refusal::OutOfOrder { .. } | Refusal::WrongPrevious { .. } => "order",
        Refusal::TimestampWentBack { .. } => "timestamp",
        Refusal::DecreaseWithoutCorrection { .. } => "decrease-without-correction",
        _ => "release",
    }
}

/// A release the log acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Acknowledged {
    pub log_index: u64,
    pub tree_size: u64,
    pub manifest_hash: Sha256Hash,
    /// True when the same release was already in the log (an idempotent retry).
    pub already: bool,
}

/// A strong ETag from the bytes (first 128 bits of SHA-256, hex).
pub fn etag(bytes: &[u8]) -> String {
    format!("\"{}\"", &hex(&sha256(bytes))[..32])
}

/// A live event (`GET /api/v1/events`, format in `urne_site`'s docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The new tree size.
    Checkpoint(u64),
    /// A newer checkpoint met the witness quorum (its tree size): releases below it are no
    /// longer "awaiting witnesses".
    Witnessed(u64),
    /// A new release.
    Release {
        election: Option<String>,
        log_index: u64,
        manifest_hash: Sha256Hash,
    },
}

impl Event {
    /// The SSE event name and data.
    pub fn sse(&self) -> (&'static str, String) {
        match self {
            Event::Checkpoint(size) => ("checkpoint", size.to_string()),
            Event::Witnessed(size) => ("witnessed", size.to_string()),
            Event::Release {
                election,
                log_index,
                manifest_hash,
            } => {
                let election = match election {
                    // Election ids are `[a-z0-9._-]` (checked by the manifest parser): no
                    // JSON escaping needed.
                    Some(e) => format!("\"{e}\""),
                    None => "null".into(),
                };
                let data = format!(
                    "{{\"election\":{election},\"log_index\":{log_index},\"manifest_hash\":\"{}\"}}",
                    hex(manifest_hash)
                );
                ("release", data)
            }
        }
    }
}

struct Writer {
    history: History,
    /// The witnessed state the public tree was rendered with.
    witnessed: Option<Witnessed>,
    /// An append was not acknowledged: reload from the log before the next check.
    stale: bool,
}

/// Accepts releases and serves the current public tree (rendered on demand: [`ServedTree`]).
pub struct Publisher {
    writer: Mutex<Writer>,
    public: RwLock<Arc<ServedTree>>,
    events: broadcast::Sender<Event>,
    blobs: Arc<dyn Blobs>,
    /// `None` once [`Publisher::close`] ran (the log's sequencer may then stop), and while
    /// this process follows another that sequences (see [`crate::cluster`]).
    log: RwLock<Option<urne_log::LogHandle>>,
    /// While following: the leader's publish URL, where releases are redirected.
    leader: RwLock<Option<String>>,
    closed: std::sync::atomic::AtomicBool,
    site: SiteConfig,
    log_verifier: Ed25519Verifier,
    /// This publisher, for the tasks it starts (they must not keep it alive).
    me: std::sync::Weak<Publisher>,
    /// The witnessing task for the witnesses of the policy in force, if it names any.
    witnessing: std::sync::Mutex<Option<WitnessTask>>,
}

/// A running [`crate::witnessing`] task and the witness policy it serves.
struct WitnessTask {
    policy: String,
    status: Arc<crate::witnessing::Witnessing>,
    task: tokio::task::AbortHandle,
    /// Renders the tree again when the quorum cosigns a newer checkpoint.
    refresh: tokio::task::AbortHandle,
}

/// How often the witnessing task looks for a new checkpoint.
pub const WITNESSING_EVERY: Duration = Duration::from_millis(200);

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("site", &self.site)
            .finish_non_exhaustive()
    }
}

impl Publisher {
    /// Replays the log (`size` entries, as recovered by `Log::open`) and renders the tree
    /// (with the stored witnessed state, so a restart serves what it served before).
    pub async fn open(
        blobs: Arc<dyn Blobs>,
        log: urne_log::LogHandle,
        size: u64,
        site: SiteConfig,
    ) -> anyhow::Result<Arc<Publisher>> {
        Self::open_with(blobs, Some(log), size, site).await
    }

    /// A publisher that follows a log another process sequences: it replays the log as of
    /// its public checkpoint (none yet: empty), serves it, and takes no releases until
    /// [`Publisher::lead`].
    pub async fn open_follower(
        blobs: Arc<dyn Blobs>,
        site: SiteConfig,
    ) -> anyhow::Result<Arc<Publisher>> {
        let size = public_size(blobs.as_ref(), &site).await?;
        Self::open_with(blobs, None, size, site).await
    }

    async fn open_with(
        blobs: Arc<dyn Blobs>,
        log: Option<urne_log::LogHandle>,
        size: u64,
        site: SiteConfig,
    ) -> anyhow::Result<Arc<Publisher>> {
        let log_verifier = Ed25519Verifier::from_vkey(&site.log_vkey)?;
        let history = History::replay(blobs.as_ref(), size).await?;
        let (served, witnessed) =
            prepare(blobs.as_ref(), &log_verifier, &history, &site, None).await?;
        let (events, _) = broadcast::channel(EVENT_QUEUE_MAX);
        let publisher = Arc::new_cyclic(|me| Publisher {
            public: RwLock::new(Arc::new(served)),
            writer: Mutex::new(Writer {
                history,
                witnessed,
                stale: false,
            }),
            events,
            blobs,
            log: RwLock::new(log),
            leader: RwLock::new(None),
            closed: std::sync::atomic::AtomicBool::new(false),
            site,
            log_verifier,
            me: me.clone(),
            witnessing: std::sync::Mutex::new(None),
        });
        {
            let w = publisher.writer.lock().await;
            publisher.follow_witnesses(w.history.state());
        }
        Ok(publisher)
    }

    /// Starts sequencing with `log` (this process took the leader lock and recovered the
    /// log): catches up with what the log holds, then takes releases.
    pub async fn lead(&self, log: urne_log::LogHandle) -> Result<u64, PublishError> {
        *self.leader.write().expect("leader lock poisoned") = None;
        *self.log.write().expect("log lock poisoned") = Some(log);
        let size = self.catch_up().await?;
        // The leader asks the witnesses (catch_up starts it only when the log moved).
        let w = self.writer.lock().await;
        self.follow_witnesses(w.history.state());
        Ok(size)
    }

    /// Stops sequencing (the leader lock was lost): releases are refused until
    /// [`Publisher::lead`] again. Returns nothing to wait for; the caller shuts the log down.
    pub fn follow(&self, leader: Option<String>) {
        self.log.write().expect("log lock poisoned").take();
        *self.leader.write().expect("leader lock poisoned") = leader;
        self.stop_witnessing();
    }

    fn stop_witnessing(&self) {
        if let Some(old) = self
            .witnessing
            .lock()
            .expect("witnessing lock poisoned")
            .take()
        {
            old.task.abort();
            old.refresh.abort();
        }
    }

    /// While following: where releases go.
    pub fn set_leader(&self, leader: Option<String>) {
        if self.log.read().expect("log lock poisoned").is_none() {
            *self.leader.write().expect("leader lock poisoned") = leader;
        }
    }

    /// Whether this process sequences the log now.
    pub fn is_leader(&self) -> bool {
        self.log.read().expect("log lock poisoned").is_some()
    }

    /// Serves what the log's public checkpoint holds if it is ahead of this publisher (a
    /// follower hearing of a new checkpoint, or a new leader after recovery): replays the new
    /// entries, prepares the new state, swaps it in and sends their live events. Returns the
    /// size served.
    pub async fn catch_up(&self) -> Result<u64, PublishError> {
        let w = self.writer.lock().await;
        let replay_all = w.stale;
        self.sync_with_log(w, replay_all).await
    }

    /// Brings the served state up to the log's public checkpoint, consuming the writer lock:
    /// replays the whole log when `replay_all` (the history may disagree with the log after
    /// an unacknowledged append), else only the entries past the history's size; then reads
    /// the witnessed state, prepares and swaps the new state, and sends a `release` event for
    /// each new release and a `checkpoint` event. Returns the size served.
    async fn sync_with_log(
        &self,
        mut w: tokio::sync::MutexGuard<'_, Writer>,
        replay_all: bool,
    ) -> Result<u64, PublishError> {
        let unavailable = |e: &dyn std::fmt::Display| PublishError::Unavailable(e.to_string());
        let size = public_size(self.blobs.as_ref(), &self.site)
            .await
            .map_err(|e| unavailable(&e))?;
        let old = w.history.size();
        let next = if replay_all {
            History::replay(self.blobs.as_ref(), size)
                .await
                .map_err(|e| unavailable(&e))?
        } else {
            if size <= old {
                return Ok(old);
            }
            let mut next = w.history.clone();
            next.extend(self.blobs.as_ref(), size)
                .await
                .map_err(|e| unavailable(&e))?;
            next
        };
        let current = self.served();
        let (served, witnessed) = prepare(
            self.blobs.as_ref(),
            &self.log_verifier,
            &next,
            &self.site,
            Some(&current),
        )
        .await
        .map_err(|e| unavailable(&e))?;
        *self.public.write().expect("tree lock poisoned") = Arc::new(served);
        w.history = next;
        w.witnessed = witnessed;
        w.stale = false;
        self.follow_witnesses(w.history.state());
        let new = w.history.releases().get(old as usize..).unwrap_or_default();
        let events: Vec<Event> = new
            .iter()
            .map(|s| Event::Release {
                election: s
                    .release
                    .manifest()
                    .election
                    .as_ref()
                    .map(|e| e.to_string()),
                log_index: s.log_index,
                manifest_hash: *s.release.manifest_hash(),
            })
            .collect();
        drop(w);
        if !events.is_empty() || !replay_all {
            for event in events {
                let _ = self.events.send(event);
            }
            let _ = self.events.send(Event::Checkpoint(size));
        }
        Ok(size)
    }

    /// Why a release cannot be taken here now.
    fn not_taking(&self) -> PublishError {
        if self.closed.load(std::sync::atomic::Ordering::SeqCst) {
            return PublishError::Unavailable("the server is shutting down".into());
        }
        match self.leader.read().expect("leader lock poisoned").clone() {
            Some(url) => PublishError::NotLeader(url),
            None => PublishError::Unavailable(
                "this server follows and no process holds the leader lock right now".into(),
            ),
        }
    }

    /// Starts, restarts or stops the witnessing task so that it asks exactly the witnesses of
    /// the trust policy in `state`. Only the process that sequences asks: in a cluster the
    /// followers read what it stored ([`Publisher::refresh_witnessed`] on every wake of
    /// `cluster::run`), so each checkpoint is put to the witnesses once, not once per process.
    fn follow_witnesses(&self, state: &LogState) {
        let policy = state
            .policy()
            .map(|p| p.witnesses())
            .filter(|p| !p.witnesses.is_empty())
            .filter(|_| self.is_leader());
        let text = policy.map(|p| format!("{p:?}"));
        let mut slot = self.witnessing.lock().expect("witnessing lock poisoned");
        if slot.as_ref().map(|t| &t.policy) == text.as_ref() {
            return;
        }
        if let Some(old) = slot.take() {
            old.task.abort();
            old.refresh.abort();
        }
        if let (Some(policy), Some(text)) = (policy, text) {
            let (status, task) = crate::witnessing::spawn(
                self.blobs.clone(),
                self.log_verifier.clone(),
                policy,
                WITNESSING_EVERY,
            );
            let mut changes = status.witnessed_changes().expect("spawned with a channel");
            let me = self.me.clone();
            let refresh = tokio::spawn(async move {
                while changes.changed().await.is_ok() {
                    let Some(p) = me.upgrade() else { return };
                    if let Err(e) = p.refresh_witnessed().await {
                        tracing::error!(error = %e, "rendering the witnessed state");
                    }
                }
            })
            .abort_handle();
            *slot = Some(WitnessTask {
                policy: text,
                status,
                task,
                refresh,
            });
        }
    }

    /// Renders the tree again if the stored witnessed state changed what it says, and tells
    /// live readers (`witnessed` event).
    pub async fn refresh_witnessed(&self) -> anyhow::Result<()> {
        let mut w = self.writer.lock().await;
        let witnessed = read_witnessed(
            self.blobs.as_ref(),
            &self.log_verifier,
            w.history.witness_policy(),
            w.history.size(),
        )
        .await?;
        if witnessed == w.witnessed {
            return Ok(());
        }
        let current = self.served();
        let served = ServedTree::start(
            w.history.clone(),
            self.site.clone(),
            witnessed.clone(),
            self.site.render_cache_bytes,
            Some(&current),
        )
        .await?;
        *self.public.write().expect("tree lock poisoned") = Arc::new(served);
        let size = witnessed.as_ref().map_or(0, |x| x.size);
        w.witnessed = witnessed;
        drop(w);
        let _ = self.events.send(Event::Witnessed(size));
        Ok(())
    }

    /// The latest witnessing round, when the policy names witnesses: who cosigned, who did
    /// not, and whether the quorum is met ("awaiting witnesses" until it is).
    pub fn witness_status(&self) -> Option<crate::witnessing::Status> {
        let slot = self.witnessing.lock().expect("witnessing lock poisoned");
        slot.as_ref().map(|t| t.status.status())
    }

    /// Stops taking releases (they are answered "not acknowledged") and lets go of the log,
    /// so `Log::shutdown` can finish while readers and live streams still hold the publisher.
    pub fn close(&self) {
        if let Some(t) = self
            .witnessing
            .lock()
            .expect("witnessing lock poisoned")
            .take()
        {
            t.task.abort();
            t.refresh.abort();
        }
        self.closed.store(true, std::sync::atomic::Ordering::SeqCst);
        self.log.write().expect("log lock poisoned").take();
    }

    /// The state served now (cheap: an `Arc`).
    pub fn served(&self) -> Arc<ServedTree> {
        self.public.read().expect("tree lock poisoned").clone()
    }

    /// Subscribes to live events.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Live subscribers now.
    pub fn subscribers(&self) -> usize {
        self.events.receiver_count()
    }

    /// The blob storage (log tiles and payloads).
    pub fn blobs(&self) -> &Arc<dyn Blobs> {
        &self.blobs
    }

    /// The site settings.
    pub fn site(&self) -> &SiteConfig {
        &self.site
    }

    /// Checks, stores, sequences and publishes one release (an upload body).
    pub async fn publish(&self, body: &[u8]) -> Result<Acknowledged, PublishError> {
        let (entry, payload) =
            crate::bundle::decode_upload(body).map_err(PublishError::Malformed)?;
        if !self.is_leader() {
            return Err(self.not_taking());
        }
        let snapshot = decode_results(entry, payload)?;
        let mut w = self.writer.lock().await;
        if w.stale {
            self.sync_with_log(w, true).await?;
            w = self.writer.lock().await;
        }
        let checked = {
            let check = w.history.decrease_check(snapshot.as_deref());
            check_release(w.history.state(), entry, Payload::Bytes(payload), &check)
        };
        let accepted = match checked {
            Ok(a) => a,
            // The same manifest (whatever signatures it carries now) already in the log, as
            // the stream's last release or an earlier one: an idempotent retry, answered with
            // its log index. Another manifest at a used sequence stays a replay.
            Err(r @ (Refusal::AlreadyAccepted { .. } | Refusal::Replayed { .. })) => {
                let hash = sha256(Note::parse(entry).expect("parsed").text().as_bytes());
                let Some(&log_index) = w.history.by_manifest.get(&hash) else {
                    return Err(PublishError::Refused(r));
                };
                return Ok(Acknowledged {
                    log_index,
                    tree_size: w.history.size(),
                    manifest_hash: hash,
                    already: true,
                });
            }
            Err(r) => return Err(PublishError::Refused(r)),
        };
        let (release, state) = accepted.into_parts();
        let log_index = w.history.size();
        let mut next = w.history.clone();
        next.state = state;
        next.push(log_index, release.clone(), snapshot);
        let current = self.served();
        let prepared = prepare(
            self.blobs.as_ref(),
            &self.log_verifier,
            &next,
            &self.site,
            Some(&current),
        )
        .await;
        let (served, witnessed) = match prepared {
            Ok(p) => p,
            Err(PrepareError::Render(e)) => return Err(PublishError::Render(e)),
            Err(e) => return Err(PublishError::Unavailable(e.to_string())),
        };
        let key = blob_key(&release.manifest().payload.sha256);
        self.blobs
            .put(&key, payload)
            .await
            .map_err(|e| PublishError::Unavailable(format!("storing {key}: {e}")))?;
        let log = self.log.read().expect("log lock poisoned").clone();
        let log = log.ok_or_else(|| self.not_taking())?;
        let appended = match log.append(entry.to_vec()).await {
            Ok(a) => a,
            Err(e) => {
                w.stale = true;
                return Err(PublishError::Unavailable(e.to_string()));
            }
        };
        if appended.index != log_index {
            // Someone else appended to this log: our view is stale.
            w.stale = true;
            return Err(PublishError::Unavailable(format!(
                "the log sequenced the release at {} where {log_index} was expected; reloading",
                appended.index
            )));
        }
        w.history = next;
        w.witnessed = witnessed;
        *self.public.write().expect("tree lock poisoned") = Arc::new(served);
        self.follow_witnesses(w.history.state());
        drop(w);
        let manifest_hash = *release.manifest_hash();
        // No subscribers is not an error.
        let _ = self.events.send(Event::Release {
            election: release.manifest().election.as_ref().map(|e| e.to_string()),
            log_index,
            manifest_hash,
        });
        let _ = self.events.send(Event::Checkpoint(appended.tree_size));
        Ok(Acknowledged {
            log_index,
            tree_size: appended.tree_size,
            manifest_hash,
            already: false,
        })
    }
}

/// The size of the log's public checkpoint in `blobs`, verified under the site's log key;
/// 0 when there is none yet (a new log whose first leader has not started).
pub async fn public_size(blobs: &dyn Blobs, site: &SiteConfig) -> anyhow::Result<u64> {
    if blobs.get(urne_log::CHECKPOINT_KEY).await?.is_none() {
        return Ok(0);
    }
    let verifier = urne_tlog::note::Ed25519Verifier::from_vkey(&site.log_vkey)?;
    let checkpoint = urne_log::verify::public_checkpoint(blobs, &site.origin, &verifier).await?;
    Ok(checkpoint.size)
}

/// For a `results` release: the payload must be the declared bytes, of the results media
/// type, and decode as a canonical snapshot. Other kinds: nothing to decode.
fn decode_results(
    entry: &[u8],
    payload: &[u8],
) -> Result<Option<Arc<ValidSnapshot>>, PublishError> {
    let Some(m) = parse_manifest(entry) else {
        return Ok(None); // check_release names the problem
    };
    if !is_results(&m) || sha256(payload) != m.payload.sha256 {
        return Ok(None); // ditto (payload-hash)
    }
    if m.payload.media_type.as_str() != canonical::MEDIA_TYPE {
        return Err(PublishError::ResultsMediaType(
            m.payload.media_type.to_string(),
        ));
    }
    canonical::decode(payload)
        .map(|s| Some(Arc::new(s)))
        .map_err(PublishError::ResultsPayload)
}

/// Why a log state could not be prepared for serving.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error("reading the witnessed state: {0}")]
    Witnessed(#[from] urne_store::BlobError),
    #[error(transparent)]
    Render(#[from] urne_site::RenderError),
}

/// The served state of `history`: the stored witnessed state read for its size, then the
/// prepared tree (what every new state the server or a mirror serves goes through), taking
/// over what `previous` made from releases it still shows ([`ServedTree::start`]).
pub async fn prepare(
    blobs: &dyn Blobs,
    log: &Ed25519Verifier,
    history: &History,
    site: &SiteConfig,
    previous: Option<&ServedTree>,
) -> Result<(ServedTree, Option<Witnessed>), PrepareError> {
    let witnessed = read_witnessed(blobs, log, history.witness_policy(), history.size()).await?;
    let served = ServedTree::start(
        history.clone(),
        site.clone(),
        witnessed.clone(),
        site.render_cache_bytes,
        previous,
    )
    .await?;
    Ok((served, witnessed))
}
