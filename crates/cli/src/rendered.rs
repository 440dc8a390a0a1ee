//! The public tree as served: one log state's prepared model, rendered on demand through a
//! bounded cache.
//!
//! A [`ServedTree`] is made once per served state (a new checkpoint, or a new witnessed state):
//! a thread of its own takes a copy of the replayed [`History`] (snapshots are shared `Arc`s),
//! builds `urne_site::Prepared` from it (checks, release references, the latest snapshot's
//! totals: the cost that grows with the state, paid once) and then renders on request, on
//! [`RENDER_THREADS`] scoped threads that share the prepared model. A request for a path looks
//! in the cache; on a miss the object the path belongs to is rendered once (concurrent requests
//! for it wait for that one render), and every file of the object (a page with its `~pN`
//! continuations) goes into the cache with its ETag and gzip form.
//!
//! Invariants:
//! - What a path serves is `urne_site::render_path` of the prepared state, which is by
//!   construction the file `urne_site::render` (`urne export`, `urne verify`) makes there.
//! - One `ServedTree` serves one state: a new state is a new `ServedTree`, swapped whole, so a
//!   response set never mixes two states; requests in flight finish on the one they started
//!   with, whose threads end when the last reference is dropped.
//! - The cache holds at most its byte limit ([`RENDER_CACHE_BYTES_DEFAULT`], `urne serve
//!   --render-cache-bytes`), counted as the file's bytes plus a quarter for its gzip form;
//!   least recently used files go first, and a file larger than the whole limit is served
//!   without being kept.
//! - A file of at least [`crate::serve::SPILL_BYTES_MIN`] (a state's downloads) is made ready
//!   on the render thread as an unlinked temporary file in [`SiteConfig::spill_dir`]
//!   (`DATA/spill` of `urne serve` and `urne mirror`), with its ETag and gzip form, so no
//!   request ever hashes or compresses hundreds of megabytes on an async worker, and it is
//!   rendered once per state, not once per request. Such files count 512 bytes (`DISK_FILE_COST`) against
//!   the memory limit and their bytes against [`SPILL_BYTES_MAX`] on disk; the space goes back
//!   to the file system when the last response using one ends (nothing to clean up after a
//!   crash).
//! - A file made from one release alone (a state's downloads:
//!   `urne_site::Prepared::release_key`, the release's manifest hash) is taken over by the
//!   next state that makes it from the same release, with its size for the downloads page: a
//!   witness cosignature, or a release of another election, renders no download again. The
//!   same key means the same bytes, so what a path serves is still what the state renders;
//!   a state keeps only the files of releases it still shows. Only files kept on disk are
//!   taken over (a small download is cheap to render again), at most one per path and
//!   [`CARRIED_BYTES_MAX`] in all, besides the cache's limits. A download rendered (or taken
//!   over) tells the downloads page its size, which then counts only the others.
//! - "No such file" answers are kept apart, in a set of at most [`MISS_BYTES_MAX`] (oldest
//!   forgotten first): a flood of made-up paths never evicts a rendered page.

use std::{
    collections::{BTreeMap, HashMap, HashSet, VecDeque},
    sync::{Arc, Mutex, mpsc},
};

use tokio::sync::{OnceCell, oneshot};
use urne_site::Tree;

use crate::publish::{History, SiteConfig};
use crate::serve::ServedFile;
use crate::witnessing::Witnessed;

/// Bytes of rendered files (with their gzip forms) one served state keeps in memory.
pub const RENDER_CACHE_BYTES_DEFAULT: usize = 256 << 20;
/// Threads rendering one served state's files on demand.
pub const RENDER_THREADS: usize = 2;
/// What a remembered "no such file" answer counts for, besides its path.
const MISS_COST: usize = 64;
/// Bytes of remembered "no such file" paths (each its length plus 64 bytes) one served
/// state keeps, apart from the files' cache.
pub const MISS_BYTES_MAX: usize = 1 << 20;
/// Bytes of rendered files (with their gzip forms) one served state keeps on disk
/// ([`crate::serve::SPILL_BYTES_MIN`]): Pennsylvania's four downloads take about 1 GB.
pub const SPILL_BYTES_MAX: usize = 8 << 30;
/// What a file kept on disk counts for in the memory cache, besides its path.
const DISK_FILE_COST: usize = 512;
/// Bytes of files on disk one served state keeps for the next to take over (a state's
/// downloads made from releases it still shows), besides its cache.
pub const CARRIED_BYTES_MAX: usize = 8 << 30;

/// The files of one rendered object, ready to serve, by path.
type ObjectFiles = Vec<(String, Arc<ServedFile>)>;

/// Files made from one release alone ([`urne_site::Prepared::release_key`]: a state's
/// downloads) and their sizes, by path, with that release's key: what a later state that
/// gives the path the same key serves (and shows on its downloads page) without rendering it
/// again.
#[derive(Debug, Default, Clone)]
struct Carried {
    files: HashMap<String, (String, Arc<ServedFile>)>,
    sizes: HashMap<String, (String, usize)>,
}

/// What a render thread is asked.
enum Job {
    /// The files of the object `path` belongs to (`None`: no such object), made ready to serve
    /// on the render thread (ETags, and a large file's copy on disk with its gzip form).
    Path(String, oneshot::Sender<Result<Option<ObjectFiles>, String>>),
    /// The whole tree (for tests and comparisons).
    All(oneshot::Sender<Result<Tree, String>>),
}

/// One served state: its log size, its render threads and its cache.
pub struct ServedTree {
    size: u64,
    jobs: Mutex<mpsc::Sender<Job>>,
    cache: Mutex<Cache>,
    /// Objects rendered for requests so far.
    renders: std::sync::atomic::AtomicU64,
    /// This state's files made from one release alone, for the next state to take over.
    carried: Arc<Mutex<Carried>>,
}

impl std::fmt::Debug for ServedTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServedTree")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

type Slot = Arc<OnceCell<Option<Arc<ServedFile>>>>;

struct Entry {
    slot: Slot,
    cost: usize,
    /// Bytes on disk.
    disk: usize,
    used: u64,
}

/// Path → file, least recently used evicted first; and the paths with no file.
struct Cache {
    limit: usize,
    bytes: usize,
    disk_limit: usize,
    disk_bytes: usize,
    clock: u64,
    entries: HashMap<String, Entry>,
    by_use: BTreeMap<u64, String>,
    /// Paths the tree has no file for, oldest first, within [`MISS_BYTES_MAX`].
    misses: HashSet<String>,
    miss_order: VecDeque<String>,
    miss_bytes: usize,
}

impl Cache {
    fn new(limit: usize) -> Cache {
        Cache {
            limit,
            bytes: 0,
            disk_limit: SPILL_BYTES_MAX,
            disk_bytes: 0,
            clock: 0,
            entries: HashMap::new(),
            by_use: BTreeMap::new(),
            misses: HashSet::new(),
            miss_order: VecDeque::new(),
            miss_bytes: 0,
        }
    }

    /// Moves `path` (rendered, with no file) from the files' cache to the misses, forgetting
    /// the oldest misses past [`MISS_BYTES_MAX`].
    fn miss(&mut self, path: &str) {
        self.remove(path);
        if self.misses.contains(path) {
            return;
        }
        self.misses.insert(path.to_owned());
        self.miss_order.push_back(path.to_owned());
        self.miss_bytes += path.len() + MISS_COST;
        while self.miss_bytes > MISS_BYTES_MAX {
            let Some(oldest) = self.miss_order.pop_front() else {
                break;
            };
            self.misses.remove(&oldest);
            self.miss_bytes -= oldest.len() + MISS_COST;
        }
    }

    /// The slot for `path` (a new empty one on a miss), marked as just used.
    fn slot(&mut self, path: &str) -> Slot {
        self.clock += 1;
        let now = self.clock;
        if let Some(e) = self.entries.get_mut(path) {
            let key = self
                .by_use
                .remove(&e.used)
                .unwrap_or_else(|| path.to_owned());
            e.used = now;
            self.by_use.insert(now, key);
            return e.slot.clone();
        }
        let slot = Slot::default();
        self.entries.insert(
            path.to_owned(),
            Entry {
                slot: slot.clone(),
                cost: 0,
                disk: 0,
                used: now,
            },
        );
        self.by_use.insert(now, path.to_owned());
        slot
    }

    /// Records what the file now in `path`'s slot costs in memory and on disk, then evicts
    /// down to the limits.
    fn settle(&mut self, path: &str, (cost, disk): (usize, usize)) {
        if cost > self.limit || disk > self.disk_limit {
            self.remove(path);
            return;
        }
        if let Some(e) = self.entries.get_mut(path) {
            self.bytes = self.bytes - e.cost + cost;
            self.disk_bytes = self.disk_bytes - e.disk + disk;
            e.cost = cost;
            e.disk = disk;
        }
        while self.bytes > self.limit || self.disk_bytes > self.disk_limit {
            let Some((_, oldest)) = self.by_use.pop_first() else {
                break;
            };
            if let Some(e) = self.entries.remove(&oldest) {
                self.bytes -= e.cost;
                self.disk_bytes -= e.disk;
            }
        }
    }

    fn remove(&mut self, path: &str) {
        if let Some(e) = self.entries.remove(path) {
            self.by_use.remove(&e.used);
            self.bytes -= e.cost;
            self.disk_bytes -= e.disk;
        }
    }

    /// Puts a file rendered along with another (a sibling page) in the cache, unless present.
    fn offer(&mut self, path: &str, file: Arc<ServedFile>) {
        if self.entries.contains_key(path) {
            return;
        }
        let cost = cost(path, &file);
        let slot = self.slot(path);
        let _ = slot.set(Some(file));
        self.settle(path, cost);
    }
}

/// What `file` costs the cache in memory and on disk: a file in memory, its bytes plus a
/// quarter for its gzip form (made on a later request); a file on disk, [`DISK_FILE_COST`]
/// and whatever of its gzip form is in memory; and its path.
fn cost(path: &str, file: &ServedFile) -> (usize, usize) {
    if file.on_disk() {
        let (memory, disk) = file.footprint();
        (path.len() + DISK_FILE_COST + memory, disk)
    } else {
        (path.len() + file.len() + file.len() / 4, 0)
    }
}

impl ServedTree {
    /// Prepares `history` as of its size, with the witnessed state `witnessed`, on a thread of
    /// its own, and returns once the prepared model is built (or could not be: the render
    /// error, e.g. two elections with one path). The files of `previous` (the state served
    /// until now) made from one release alone are served again where this state makes them
    /// from the same release: a witness cosignature or another election's release does not
    /// render a state's downloads again.
    pub async fn start(
        history: History,
        site: SiteConfig,
        witnessed: Option<Witnessed>,
        cache_bytes: usize,
        previous: Option<&ServedTree>,
    ) -> Result<ServedTree, urne_site::RenderError> {
        let size = history.size();
        let spill_dir = site.spill_dir.clone().unwrap_or_else(std::env::temp_dir);
        let spill_bytes_min = site.spill_bytes_min;
        let mut inherited = previous.map_or_else(Carried::default, |p| {
            p.carried.lock().expect("carried lock poisoned").clone()
        });
        let carried = Arc::new(Mutex::new(Carried::default()));
        let (ready_tx, ready_rx) = oneshot::channel();
        let (jobs_tx, jobs_rx) = mpsc::channel::<Job>();
        let for_thread = carried.clone();
        std::thread::Builder::new()
            .name("urne-render".into())
            .spawn(move || {
                let site = history.site(&site, witnessed.as_ref());
                let prepared = match urne_site::Prepared::new(&site) {
                    Ok(p) => p,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                // Only what this state makes from the same release: the rest is let go.
                let current = |path: &str, key: &str| {
                    prepared
                        .object(path)
                        .is_some_and(|o| prepared.release_key(&o) == Some(key))
                };
                inherited.files.retain(|path, (key, _)| current(path, key));
                inherited.sizes.retain(|path, (key, _)| current(path, key));
                for (path, (_, f)) in &inherited.files {
                    prepared.know_download_size(path, f.len());
                }
                for (path, &(_, n)) in &inherited.sizes {
                    prepared.know_download_size(path, n);
                }
                let files: ObjectFiles = inherited
                    .files
                    .iter()
                    .map(|(path, (_, f))| (path.clone(), f.clone()))
                    .collect();
                *for_thread.lock().expect("carried lock poisoned") = inherited;
                let _ = ready_tx.send(Ok(files));
                let jobs = Mutex::new(jobs_rx);
                let spill = crate::serve::Spill {
                    dir: &spill_dir,
                    bytes_min: spill_bytes_min,
                };
                let carried = &*for_thread;
                std::thread::scope(|scope| {
                    for _ in 1..RENDER_THREADS {
                        scope.spawn(|| work(&prepared, &jobs, spill, carried));
                    }
                    work(&prepared, &jobs, spill, carried);
                });
            })
            .expect("spawning a render thread");
        let files = ready_rx.await.expect("the render thread answers")?;
        let mut cache = Cache::new(cache_bytes);
        for (path, file) in files {
            cache.offer(&path, file);
        }
        Ok(ServedTree {
            size,
            jobs: Mutex::new(jobs_tx),
            cache: Mutex::new(cache),
            renders: Default::default(),
            carried,
        })
    }

    /// The log size this state was rendered at.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The file at `path` (relative), rendered on first request; `None` if the tree has none.
    pub async fn get(&self, path: &str) -> anyhow::Result<Option<Arc<ServedFile>>> {
        let slot = {
            let mut cache = self.cache.lock().expect("cache lock poisoned");
            if cache.misses.contains(path) {
                return Ok(None);
            }
            cache.slot(path)
        };
        let mut rendered_here = None;
        let file = slot
            .get_or_try_init(|| async {
                let (tx, rx) = oneshot::channel();
                self.send(Job::Path(path.to_owned(), tx))?;
                self.renders
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let files = rx
                    .await
                    .map_err(|_| anyhow::anyhow!("the render thread stopped"))?
                    .map_err(|e| anyhow::anyhow!("rendering {path}: {e}"))?;
                let Some(files) = files else {
                    return anyhow::Ok(None);
                };
                let mut this = None;
                let mut siblings = Vec::new();
                for (p, f) in files {
                    if p == path {
                        this = Some(f);
                    } else {
                        siblings.push((p, f));
                    }
                }
                rendered_here = Some(siblings);
                Ok(this)
            })
            .await?
            .clone();
        if let Some(siblings) = rendered_here {
            let mut cache = self.cache.lock().expect("cache lock poisoned");
            match &file {
                Some(f) => cache.settle(path, cost(path, f)),
                None => cache.miss(path),
            }
            for (p, f) in siblings {
                cache.offer(&p, f);
            }
        }
        Ok(file)
    }

    /// Every file of this state (what `urne export` writes besides `log/` and `blobs/`),
    /// rendered again, not cached.
    pub async fn all(&self) -> anyhow::Result<Tree> {
        let (tx, rx) = oneshot::channel();
        self.send(Job::All(tx))?;
        rx.await
            .map_err(|_| anyhow::anyhow!("the render thread stopped"))?
            .map_err(|e| anyhow::anyhow!("rendering the tree: {e}"))
    }

    /// Renders asked of the render threads for requests so far (one per cache miss, however
    /// many requests wait for it).
    pub fn renders(&self) -> u64 {
        self.renders.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Bytes the cache holds now.
    pub fn cached_bytes(&self) -> usize {
        self.cache.lock().expect("cache lock poisoned").bytes
    }

    fn send(&self, job: Job) -> anyhow::Result<()> {
        self.jobs
            .lock()
            .expect("jobs lock poisoned")
            .send(job)
            .map_err(|_| anyhow::anyhow!("the render thread stopped"))
    }
}

/// A render thread: answers jobs until every sender is gone (the state is no longer served).
/// Large files go to disk as `spill` says. A file made from one release alone is taken from
/// `carried` when it holds it for the same release, and put there once rendered (if on disk,
/// within [`CARRIED_BYTES_MAX`]).
fn work(
    prepared: &urne_site::Prepared<'_>,
    jobs: &Mutex<mpsc::Receiver<Job>>,
    spill: crate::serve::Spill<'_>,
    carried: &Mutex<Carried>,
) {
    loop {
        let job = match jobs.lock().expect("jobs lock poisoned").recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        match job {
            Job::Path(path, reply) => {
                let Some(object) = prepared.object(&path) else {
                    let _ = reply.send(Ok(None));
                    continue;
                };
                let key = prepared.release_key(&object);
                if let Some(key) = key {
                    let kept = carried.lock().expect("carried lock poisoned");
                    if let Some((k, f)) = kept.files.get(&path)
                        && k == key
                    {
                        let _ = reply.send(Ok(Some(vec![(path.clone(), f.clone())])));
                        continue;
                    }
                }
                let files = prepared
                    .render_object(&object)
                    .map(|tree| {
                        let served: ObjectFiles = tree
                            .into_iter()
                            .map(|(p, bytes)| {
                                let f = ServedFile::rendered(&p, bytes, Some(spill));
                                (p, Arc::new(f))
                            })
                            .collect();
                        let mut kept = carried.lock().expect("carried lock poisoned");
                        if let Some(key) = key {
                            for (p, f) in &served {
                                prepared.know_download_size(p, f.len());
                                kept.files.remove(p);
                                let held: usize = kept.files.values().map(|(_, f)| f.len()).sum();
                                if f.on_disk() && held + f.len() <= CARRIED_BYTES_MAX {
                                    kept.files.insert(p.clone(), (key.to_owned(), f.clone()));
                                }
                            }
                        }
                        if matches!(object, urne_site::Object::DownloadsPage(..)) {
                            for (p, n) in prepared.known_download_sizes() {
                                let key =
                                    prepared.object(&p).and_then(|o| prepared.release_key(&o));
                                if let Some(key) = key {
                                    kept.sizes.insert(p, (key.to_owned(), n));
                                }
                            }
                        }
                        Some(served)
                    })
                    .map_err(|e| e.to_string());
                let _ = reply.send(files);
            }
            Job::All(reply) => {
                let mut tree = Tree::new();
                let mut result = Ok(());
                for object in prepared.objects() {
                    match prepared.render_object(&object) {
                        Ok(mut files) => tree.append(&mut files),
                        Err(e) => {
                            result = Err(e.to_string());
                            break;
                        }
                    }
                }
                let _ = reply.send(result.map(|()| tree));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(n: usize) -> Arc<ServedFile> {
        Arc::new(ServedFile::new("x.json", vec![b'x'; n]))
    }

    #[test]
    fn the_cache_keeps_its_limit_and_evicts_the_least_recently_used() {
        let mut c = Cache::new(3_000);
        for p in ["a", "b", "c"] {
            c.offer(p, file(700));
        }
        assert_eq!(c.bytes, 3 * (1 + 700 + 175));
        c.slot("a"); // a is now the most recent: b goes first
        c.offer("d", file(700));
        assert!(c.bytes <= 3_000, "{}", c.bytes);
        assert!(!c.entries.contains_key("b"));
        assert!(c.entries.contains_key("a") && c.entries.contains_key("d"));
        // Larger than the whole cache: served, not kept, nothing else evicted for it.
        let before = c.entries.len();
        c.offer("huge", file(10_000));
        assert!(!c.entries.contains_key("huge"));
        assert_eq!(c.entries.len(), before);
        assert_eq!(c.by_use.len(), c.entries.len());
    }

    #[test]
    fn a_flood_of_missing_paths_evicts_no_file() {
        let mut c = Cache::new(3_000);
        for p in ["a", "b", "c"] {
            c.offer(p, file(700));
        }
        let files = c.bytes;
        let mut remembered = 0;
        for i in 0..100_000 {
            let path = format!("elections/nope-{i}/index.html");
            // As `ServedTree::get` does: a slot while rendering, then the miss.
            c.slot(&path);
            c.miss(&path);
            remembered = remembered.max(c.misses.len());
        }
        assert!(["a", "b", "c"].iter().all(|p| c.entries.contains_key(*p)));
        assert_eq!(c.bytes, files);
        assert_eq!(c.entries.len(), 3);
        assert!(c.miss_bytes <= MISS_BYTES_MAX, "{}", c.miss_bytes);
        assert_eq!(c.misses.len(), c.miss_order.len());
        assert!(remembered > 1_000, "{remembered}");
        // The newest misses are remembered, the oldest forgotten.
        assert!(c.misses.contains("elections/nope-99999/index.html"));
        assert!(!c.misses.contains("elections/nope-0/index.html"));
    }
}
