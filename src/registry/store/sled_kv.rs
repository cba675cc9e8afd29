//! The sled engine behind `Kv`. The only file that imports sled.
//!
//! A commit that fails in the engine (an I/O error, such as `ENOSPC` while flushing) may
//! leave sled's in-memory view holding the change that did not become durable, and sled
//! refuses every later write. So the store is not trusted after one: it is closed and
//! opened again, which recovers the last durable state from the log (crash-only), and the
//! generation moves so that no view derived from the undone change survives.
//!
//! sled needs to write to open at all, so a completely full disk would keep the store from
//! opening (at start-up, or after such a failure) and reads would be lost with writes. A
//! reserve file beside the store holds `RESERVE_BYTES`: when opening fails, it is given
//! up and the open tried again; it is made again once space allows.

use super::{Kv, Op, Pairs, StoreError};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{RwLock, RwLockReadGuard};
use std::time::Duration;

pub(in crate::registry) struct SledKv {
    dir: PathBuf,
    /// `None` only while a reopen after a failed commit has not succeeded yet.
    db: RwLock<Option<sled::Db>>,
    generation: AtomicU64,
}

/// Space held back so that the store can open on a full disk.
const RESERVE_BYTES: usize = 8 * 1024 * 1024;

impl SledKv {
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let db = open_db(dir)
            .map_err(|e| StoreError(format!("cannot open store in {}: {e}", dir.display())))?;
        keep_reserve(dir);
        Ok(SledKv {
            dir: dir.to_path_buf(),
            db: RwLock::new(Some(db)),
            generation: AtomicU64::new(0),
        })
    }

    fn read_guard(&self) -> RwLockReadGuard<'_, Option<sled::Db>> {
        self.db
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The open database, reopening it if an earlier recovery could not.
    fn db(&self) -> Result<sled::Db, StoreError> {
        if let Some(db) = self.read_guard().as_ref() {
            return Ok(db.clone());
        }
        self.reopen();
        self.read_guard()
            .clone()
            .ok_or_else(|| StoreError("the store is unavailable after an I/O error".into()))
    }

    /// Closes the database and opens it again at its last durable state.
    fn reopen(&self) {
        let mut guard = self
            .db
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Views derived from what the engine showed (rendered pages) are stale from here.
        self.generation.fetch_add(1, Ordering::Release);
        drop(guard.take());
        // The engine's file lock is released once the last handle (a reader's iterator,
        // sled's flusher) is gone: try for a few seconds.
        let mut last = None;
        for _ in 0..100 {
            match open_db(&self.dir) {
                Ok(db) => {
                    tracing::warn!(dir = %self.dir.display(), "store reopened at its last durable state");
                    *guard = Some(db);
                    return;
                }
                Err(e) => {
                    last = Some(e);
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
        let error = last.map(|e| e.to_string()).unwrap_or_default();
        tracing::error!(dir = %self.dir.display(), error, "cannot reopen the store; every request will try again");
    }
}

/// Opens the database. On a nearly full disk the reserve is given up first (an open that
/// meets `ENOSPC` can leave a torn snapshot behind); if opening fails while the reserve is
/// still held, it is given up and the open tried again.
fn open_db(dir: &Path) -> sled::Result<sled::Db> {
    let free = rustix::fs::statvfs(dir).map_or(u64::MAX, |s| s.f_bavail.saturating_mul(s.f_frsize));
    if free < 2 * RESERVE_BYTES as u64 && std::fs::remove_file(reserve_path(dir)).is_ok() {
        tracing::warn!(
            free,
            "the disk is nearly full; gave up the store's reserved space to open it"
        );
    }
    let open = || {
        sled::Config::new()
            .path(dir.join("metadata"))
            // Small cache: metadata is tiny and the OS page cache does the rest.
            .cache_capacity(16 * 1024 * 1024)
            .open()
    };
    match open() {
        Ok(db) => Ok(db),
        Err(e) if std::fs::remove_file(reserve_path(dir)).is_ok() => {
            tracing::warn!(error = %e, "could not open the store; gave up its reserved space to try again");
            open()
        }
        Err(e) => Err(e),
    }
}

fn reserve_path(dir: &Path) -> PathBuf {
    dir.join("metadata.reserve")
}

/// Makes the reserve file when it is missing and the disk has room for it (a partial one
/// is removed).
fn keep_reserve(dir: &Path) {
    let path = reserve_path(dir);
    if path.exists() {
        return;
    }
    let made = std::fs::write(&path, vec![0u8; RESERVE_BYTES])
        .and_then(|()| std::fs::File::open(&path)?.sync_all());
    if let Err(e) = made {
        let _ = std::fs::remove_file(&path);
        tracing::debug!(error = %e, "no room for the store's reserve yet");
    }
}

fn engine(e: sled::Error) -> StoreError {
    StoreError(format!("storage engine: {e}"))
}

impl Kv for SledKv {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db()?.get(key).map_err(engine)?.map(|v| v.to_vec()))
    }

    fn scan(&self, prefix: &[u8], after: Option<&[u8]>) -> Pairs<'_> {
        let db = match self.db() {
            Ok(db) => db,
            Err(e) => return Box::new(std::iter::once(Err(e))),
        };
        let iter = match after {
            // The smallest key strictly greater than `after`.
            Some(after) if after >= prefix => {
                let mut start = after.to_vec();
                start.push(0);
                db.range(start..)
            }
            _ => db.range(prefix.to_vec()..),
        };
        let prefix = prefix.to_vec();
        Box::new(
            iter.take_while(move |item| match item {
                Ok((k, _)) => k.starts_with(&prefix),
                Err(_) => true,
            })
            .map(|item| item.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(engine)),
        )
    }

    fn commit(&self, ops: Vec<Op>) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for op in ops {
            match op {
                Op::Put(k, v) => batch.insert(k, v),
                Op::Delete(k) => batch.remove(k),
            }
        }
        let db = self.db()?;
        keep_reserve(&self.dir);
        // Acknowledged means durable: flush the log before the caller answers the client.
        if let Err(e) = db.apply_batch(batch).and_then(|()| db.flush().map(drop)) {
            tracing::error!(error = %e, "the store failed to commit; reopening it at its last durable state");
            drop(db);
            self.reopen();
            return Err(engine(e));
        }
        self.generation.fetch_add(1, Ordering::Release);
        Ok(())
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }
}
