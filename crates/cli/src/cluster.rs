//! Several `urne serve` processes on one PostgreSQL database (`--database-url`).
//!
//! Every process serves the same public tree from the shared store (tiles, bundles, payloads
//! and the checkpoint in [`urne_store_postgres::PgBlobs`]; pages rendered from the replayed
//! log). Exactly one sequences: the holder of the log's advisory lock
//! ([`urne_store_postgres::LeaderLock`], a session lock on a connection of its own). The
//! others follow:
//!
//! - **Taking over.** Every [`TICK`] a follower tries the lock. When it gets it (the leader's
//!   session ended: the process died, or its connection did) it recovers the log from the
//!   store (`urne_log::Log::open`: finishes a staged batch whose swap committed), replays what
//!   it has not seen, records its publish URL (`--advertise`) and starts taking releases.
//! - **Publishing to a follower** answers `307 Temporary Redirect` to the leader's
//!   `/api/v1/releases` (the URL the leader recorded); `urne publish` follows it once. With no
//!   leader at that moment the answer is 503 "not acknowledged, retry".
//! - **Hearing of new checkpoints.** The leader sends `NOTIFY` on the log's channel after each
//!   checkpoint it serves; followers `LISTEN`, and on every notification, every reconnect of
//!   the listener (notifications may have been lost) and every [`TICK`] re-read the public
//!   checkpoint from the store, replay the new entries, re-render, swap and send the SSE
//!   events to their own subscribers ([`Publisher::catch_up`]).
//! - **Witnesses.** Only the leader asks the policy's witnesses to cosign; followers re-read
//!   the stored witnessed state on every wake and re-render when it changed.
//! - **Losing the lock.** The leader checks its lock connection every [`TICK`]; if it is gone,
//!   it stops taking releases at once and shuts its sequencer down. A sequencer that slipped
//!   past this is stopped by the checkpoint's compare-and-swap (two can never both commit).
//!
//! Invariant: a process takes releases only while it holds the lock and after it recovered
//! the log from the store; nothing a leader acknowledged is lost by a takeover (it is in the
//! store, and the next leader's recovery and replay start from the store).

use std::{sync::Arc, time::Duration};

use tokio::sync::watch;
use urne_store::Blobs;
use urne_store_postgres::{LeaderLock, Listener, PgStore};
use urne_tlog::note::Ed25519Signer;

use crate::publish::{Event, Publisher};

/// How often a follower tries the lock and re-reads the store, and the leader checks its lock.
pub const TICK: Duration = Duration::from_millis(500);

/// What a cluster member needs.
#[derive(Clone)]
pub struct Member {
    pub store: PgStore,
    pub blobs: Arc<dyn Blobs>,
    pub signer: Ed25519Signer,
    /// The base URL other members redirect publishers to (this process's listener).
    pub advertise: String,
}

impl std::fmt::Debug for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The signer holds the private log key: never print it.
        f.debug_struct("Member")
            .field("advertise", &self.advertise)
            .finish_non_exhaustive()
    }
}

/// The running membership task; [`Membership::stop`] lets go of the lock and stops.
#[derive(Debug)]
pub struct Membership {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Membership {
    /// Stops following or leading: the sequencer (if leading) finishes what is queued, then
    /// the lock is released.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Starts the member's task: follow, take over when the lock is free, lead.
pub fn spawn(member: Member, publisher: Arc<Publisher>) -> Membership {
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(run(member, publisher, stopped));
    Membership { stop, task }
}

enum Wake {
    Notified,
    ListenerFailed,
    Own(Option<Event>),
    Tick,
    Stop,
}

async fn next_notification(listener: Option<&mut Listener>) -> Result<(), ()> {
    match listener {
        // A payload or a reconnect (`None`): both mean "re-read the store".
        Some(l) => l.recv().await.map(drop).map_err(|e| {
            tracing::warn!(error = %e, "listening for checkpoints");
        }),
        None => std::future::pending().await,
    }
}

async fn run(member: Member, publisher: Arc<Publisher>, mut stopped: watch::Receiver<bool>) {
    let name = member.signer.name().to_owned();
    let mut channel = None;
    let mut listener: Option<Listener> = None;
    let mut lock = LeaderLock::new(&member.store, &name);
    let mut log: Option<urne_log::Log> = None;
    let mut own = publisher.subscribe();
    loop {
        if channel.is_none() {
            channel = member
                .store
                .channel(&name)
                .await
                .map_err(|e| tracing::warn!(error = %e, "naming the channel"))
                .ok();
        }
        if let (Some(ch), None) = (&channel, &listener) {
            listener = member
                .store
                .listen(ch)
                .await
                .map_err(|e| tracing::warn!(error = %e, "LISTEN"))
                .ok();
        }
        if log.is_none() {
            match lock.try_acquire().await {
                Ok(true) => match take_over(&member, &publisher).await {
                    Ok(l) => {
                        tracing::info!(size = l.size_at_open(), "took the leader lock: sequencing");
                        log = Some(l);
                        own = publisher.subscribe();
                        if let Some(ch) = &channel {
                            let _ = member.store.notify(ch, "leader").await;
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %format!("{e:#}"), "taking over failed; letting go of the lock");
                        lock.release().await;
                        lock = LeaderLock::new(&member.store, &name);
                    }
                },
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "trying the leader lock"),
            }
        } else if let Err(e) = lock.check().await {
            tracing::error!(error = %e, "lost the leader lock: no longer sequencing");
            publisher.follow(None);
            if let Some(l) = log.take() {
                l.shutdown().await;
            }
            lock = LeaderLock::new(&member.store, &name);
        }
        if log.is_none() {
            match member.store.leader_url(&name).await {
                Ok(url) => publisher.set_leader(url),
                Err(e) => tracing::warn!(error = %e, "reading the leader's URL"),
            }
            if let Err(e) = publisher.catch_up().await {
                tracing::warn!(error = %e, "catching up with the log");
            }
            // Only the leader asks the witnesses; a follower serves what it stored.
            if let Err(e) = publisher.refresh_witnessed().await {
                tracing::warn!(error = %format!("{e:#}"), "reading the witnessed state");
            }
        }
        let leading = log.is_some();
        let wake = tokio::select! {
            r = next_notification(listener.as_mut()) => match r {
                Ok(()) => Wake::Notified,
                Err(()) => Wake::ListenerFailed,
            },
            e = own.recv(), if leading => Wake::Own(e.ok()),
            _ = tokio::time::sleep(TICK) => Wake::Tick,
            _ = stopped.changed() => Wake::Stop,
        };
        match wake {
            Wake::ListenerFailed => listener = None,
            Wake::Own(Some(Event::Checkpoint(size))) => {
                if let Some(ch) = &channel
                    && let Err(e) = member.store.notify(ch, &size.to_string()).await
                {
                    tracing::warn!(error = %e, "NOTIFY of a new checkpoint");
                }
            }
            Wake::Stop => break,
            Wake::Notified | Wake::Own(_) | Wake::Tick => {}
        }
    }
    publisher.close();
    if let Some(l) = log.take() {
        l.shutdown().await;
    }
    lock.release().await;
}

/// Recovers the log from the store and starts sequencing it (this process holds the lock).
async fn take_over(member: &Member, publisher: &Publisher) -> anyhow::Result<urne_log::Log> {
    let name = member.signer.name();
    let log = urne_log::Log::open(
        urne_log::Config::new(name),
        member.signer.clone(),
        Arc::new(member.store.clone()),
        member.blobs.clone(),
    )
    .await?;
    if let Err(e) = publisher.lead(log.handle()).await {
        publisher.follow(None);
        log.shutdown().await;
        return Err(e.into());
    }
    member.store.set_leader_url(name, &member.advertise).await?;
    Ok(log)
}

/// For one-shot commands that write the log (`urne log append`) on PostgreSQL: the leader
/// lock, or an error if a server holds it.
pub async fn exclusive(store: &PgStore, name: &str) -> anyhow::Result<LeaderLock> {
    let mut lock = LeaderLock::new(store, name);
    if !lock.try_acquire().await? {
        anyhow::bail!(
            "another urne process sequences {name} on this database (it holds the leader lock); \
             publish through it instead"
        );
    }
    Ok(lock)
}
