//! Zero-copy bodies for the light path (Linux): a large rendered file gets a copy in an
//! unlinked temporary file (`tempfile::tempfile`: `O_TMPFILE` in the temp directory, mode 0600,
//! reachable only through our descriptor, written once and never again) and its body goes out
//! with `sendfile(2)`, which hands the kernel the file's page-cache pages instead of copying
//! the bytes from our memory into the socket on every request, as nginx does. The head goes
//! first with `MSG_MORE`, so head and body leave in the same segments.
//!
//! Why a file on the temp directory's filesystem and not a sealed `memfd`: measured on this
//! kernel (6.18, ext4, shmem huge pages off), `sendfile` from a memfd splices 4 KiB pages one
//! by one, while ext4's page cache holds large folios; the plain JSON GET ran at 0.95× nginx
//! from a memfd and 0.99× from the temporary file, the HTML one at 1.01× and 1.02×
//! (BENCHMARKS.md, "Serving"). On a tmpfs temp directory it behaves as a memfd would.
//!
//! Limits: only files of at least [`SENDFILE_BYTES_MIN`] (below it one vectored write costs
//! less than two system calls), at most [`SENDFILE_FILES_MAX`] such files at once (each holds a
//! descriptor, and descriptors are also the connections and live subscribers) and
//! [`SENDFILE_BYTES_MAX`] bytes in all (the copies are page cache beside the render cache's
//! memory). A file past a limit, or whose copy could not be made, is written from memory as
//! before.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Smallest file body sent with `sendfile(2)`.
pub const SENDFILE_BYTES_MIN: usize = 16 * 1024;
/// Most in-memory file copies held at once (each is one descriptor).
pub const SENDFILE_FILES_MAX: usize = 1024;
/// Most bytes held in in-memory file copies at once.
pub const SENDFILE_BYTES_MAX: usize = 256 << 20;

static MIN: AtomicUsize = AtomicUsize::new(SENDFILE_BYTES_MIN);
static FILES: AtomicUsize = AtomicUsize::new(0);
static BYTES: AtomicUsize = AtomicUsize::new(0);

/// A copy of one file's bytes in an unlinked temporary file, counted against the limits while
/// it lives.
#[derive(Debug)]
pub struct FileCopy {
    #[cfg(target_os = "linux")]
    file: std::fs::File,
    len: usize,
}

impl FileCopy {
    /// A copy of `bytes`, or `None` (too small, past a limit, or the system refused).
    pub fn new(bytes: &[u8]) -> Option<FileCopy> {
        let len = bytes.len();
        if !worth_it(len) || !reserve(len) {
            return None;
        }
        let made = Self::make(bytes);
        if made.is_none() {
            release(len);
        }
        made
    }

    #[cfg(target_os = "linux")]
    fn make(bytes: &[u8]) -> Option<FileCopy> {
        use std::io::Write as _;
        let mut file = tempfile::tempfile().ok()?;
        file.write_all(bytes).ok()?;
        Some(FileCopy {
            file,
            len: bytes.len(),
        })
    }

    #[cfg(not(target_os = "linux"))]
    fn make(_: &[u8]) -> Option<FileCopy> {
        None
    }

    /// Writes `head`, then this file whole, to `stream`.
    pub async fn send(&self, stream: &tokio::net::TcpStream, head: &[u8]) -> std::io::Result<()> {
        #[cfg(target_os = "linux")]
        {
            send_file(stream, head, &self.file, self.len).await
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = (stream, head);
            Err(std::io::ErrorKind::Unsupported.into())
        }
    }
}

/// Writes `head`, then the first `len` bytes of `file` (from its start, whatever its offset),
/// to `stream`: the head with `MSG_MORE`, the body with `sendfile(2)`. Gives up with
/// `TimedOut` when the socket takes no bytes for [`crate::live::WRITE_WAIT_MAX`] (a reader
/// that stopped reading), however long the whole body takes a slow reader.
#[cfg(target_os = "linux")]
pub async fn send_file(
    stream: &tokio::net::TcpStream,
    head: &[u8],
    file: &std::fs::File,
    len: usize,
) -> std::io::Result<()> {
    use rustix::net::SendFlags;
    use std::io;
    use tokio::io::Interest;
    let writable = || async {
        tokio::time::timeout(crate::live::WRITE_WAIT_MAX, stream.writable())
            .await
            .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into()))
    };
    let mut sent = 0;
    while sent < head.len() {
        writable().await?;
        let more = SendFlags::MORE | SendFlags::NOSIGNAL;
        match stream.try_io(Interest::WRITABLE, || {
            rustix::net::send(stream, &head[sent..], more).map_err(io::Error::from)
        }) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => sent += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    let mut offset = 0u64;
    while offset < len as u64 {
        writable().await?;
        let rest = len - offset as usize;
        match stream.try_io(Interest::WRITABLE, || {
            rustix::fs::sendfile(stream, file, Some(&mut offset), rest).map_err(io::Error::from)
        }) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

impl Drop for FileCopy {
    fn drop(&mut self) {
        release(self.len);
    }
}

/// Whether a body of `len` bytes goes out with `sendfile(2)`.
pub fn worth_it(len: usize) -> bool {
    len > 0 && len >= MIN.load(Ordering::Relaxed)
}

/// Sets the smallest body sent with `sendfile(2)` (default [`SENDFILE_BYTES_MIN`]), for tests
/// that want every file on that path.
pub fn set_bytes_min(n: usize) {
    MIN.store(n, Ordering::Relaxed);
}

/// Counts one more copy of `len` bytes if the limits allow it.
fn reserve(len: usize) -> bool {
    if FILES.fetch_add(1, Ordering::Relaxed) >= SENDFILE_FILES_MAX {
        FILES.fetch_sub(1, Ordering::Relaxed);
        return false;
    }
    let before = BYTES.fetch_add(len, Ordering::Relaxed);
    if before.saturating_add(len) > SENDFILE_BYTES_MAX {
        release(len);
        return false;
    }
    true
}

fn release(len: usize) {
    FILES.fetch_sub(1, Ordering::Relaxed);
    BYTES.fetch_sub(len, Ordering::Relaxed);
}

/// The copies held now and their bytes (for tests and the bench).
pub fn held() -> (usize, usize) {
    (FILES.load(Ordering::Relaxed), BYTES.load(Ordering::Relaxed))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn copies_hold_the_bytes_and_are_counted() {
        assert!(!worth_it(0));
        let bytes: Vec<u8> = (0..SENDFILE_BYTES_MIN * 2).map(|i| i as u8).collect();
        let m = FileCopy::new(&bytes).expect("temporary file");
        assert!(held().0 >= 1 && held().1 >= bytes.len());
        use std::io::{Read as _, Seek as _};
        let mut f = &m.file;
        let mut back = Vec::new();
        f.rewind().unwrap();
        f.read_to_end(&mut back).unwrap();
        assert_eq!(back, bytes);
    }
}
