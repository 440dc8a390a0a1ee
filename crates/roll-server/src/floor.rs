//! Waiting until an instant with sub-millisecond precision, without a thread per waiter.
//!
//! tokio's timer wheel has millisecond slots: `sleep_until(t)` wakes on the first tick at or
//! after `t`, so a 1 ms lookup floor costs 1 to 2 ms and doubles a lookup's latency. Here one
//! thread keeps the pending deadlines in a heap and waits on a condition variable with a
//! timeout to the earliest one (the kernel's high-resolution timers: tens of microseconds of
//! slack), then wakes each waiter through a oneshot channel. Waiters cost a heap entry, not a
//! thread, and do not spin.
//!
//! Invariant: [`Deadlines::wait_until`] never returns before its instant (a waiter whose
//! channel fails, the thread gone, falls back to tokio's coarser timer, which also never
//! wakes early).

use std::{
    cmp::Reverse,
    collections::BinaryHeap,
    sync::{Arc, Condvar, Mutex},
    time::Instant,
};

use tokio::sync::oneshot;

/// Deadlines waiting at once; more wait on tokio's timer instead (still never early).
pub const DEADLINES_WAITING_MAX: usize = 65_536;

struct Pending {
    at: Instant,
    seq: u64,
    wake: oneshot::Sender<()>,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

#[derive(Default)]
struct Queue {
    heap: BinaryHeap<Reverse<Pending>>,
    seq: u64,
}

/// A deadline service with its own thread (started on first use).
#[derive(Clone)]
pub struct Deadlines {
    shared: Arc<(Mutex<Queue>, Condvar)>,
}

impl std::fmt::Debug for Deadlines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deadlines").finish_non_exhaustive()
    }
}

impl Deadlines {
    /// Starts the deadline thread. It ends when the last `Deadlines` is dropped and nothing
    /// waits.
    pub fn start() -> Deadlines {
        let shared = Arc::new((Mutex::new(Queue::default()), Condvar::new()));
        let weak = Arc::downgrade(&shared);
        std::thread::Builder::new()
            .name("urne-deadlines".into())
            .spawn(move || run(weak))
            .expect("spawning the deadline thread");
        Deadlines { shared }
    }

    /// Returns at `at` or just after it, never before.
    pub async fn wait_until(&self, at: Instant) {
        if Instant::now() >= at {
            return;
        }
        let woken = match self.enqueue(at) {
            Some(rx) => rx.await.is_ok(),
            None => false,
        };
        if !woken || Instant::now() < at {
            tokio::time::sleep_until(at.into()).await;
        }
    }

    /// Puts `at` in the heap (waking the thread if it is the earliest); `None` when full or
    /// the lock is poisoned.
    fn enqueue(&self, at: Instant) -> Option<oneshot::Receiver<()>> {
        let (lock, cvar) = &*self.shared;
        let mut q = lock.lock().ok()?;
        if q.heap.len() >= DEADLINES_WAITING_MAX {
            return None;
        }
        let (tx, rx) = oneshot::channel();
        q.seq += 1;
        let seq = q.seq;
        let earliest = q.heap.peek().is_none_or(|Reverse(p)| at < p.at);
        q.heap.push(Reverse(Pending { at, seq, wake: tx }));
        drop(q);
        if earliest {
            cvar.notify_one();
        }
        Some(rx)
    }
}

fn run(weak: std::sync::Weak<(Mutex<Queue>, Condvar)>) {
    loop {
        let Some(shared) = weak.upgrade() else { return };
        let (lock, cvar) = &*shared;
        let Ok(mut q) = lock.lock() else { return };
        let now = Instant::now();
        while q.heap.peek().is_some_and(|Reverse(p)| p.at <= now) {
            if let Some(Reverse(p)) = q.heap.pop() {
                let _ = p.wake.send(());
            }
        }
        // Wait for the earliest deadline, or a new earlier one; wake at least every 100 ms
        // to notice that the service was dropped.
        let wait = q
            .heap
            .peek()
            .map_or(std::time::Duration::from_millis(100), |Reverse(p)| {
                p.at.saturating_duration_since(now)
                    .min(std::time::Duration::from_millis(100))
            });
        let _ = cvar.wait_timeout(q, wait);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn never_early_and_in_order_for_many_waiters() {
        let d = Deadlines::start();
        let start = Instant::now();
        let mut tasks = Vec::new();
        for i in 0..200u64 {
            let d = d.clone();
            // Deadlines out of order, some already past.
            let at = start + Duration::from_micros((i * 7919) % 3000);
            tasks.push(tokio::spawn(async move {
                d.wait_until(at).await;
                (at, Instant::now())
            }));
        }
        for t in tasks {
            let (at, woke) = t.await.unwrap();
            assert!(woke >= at, "woke {:?} early", at - woke);
        }
    }
}
