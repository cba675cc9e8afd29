//! Persistence for the registry: a narrow key-value interface, the persisted record types and
//! the key layout. Private to `registry`: nothing outside it may read or write storage, so every
//! state change goes through the domain model's rules.
//!
//! The engine (`Kv`) is private to this module. The registry gets two handles when it opens a
//! store: a `Reader`, which can only read, and the one `Committer`, which the registry's write
//! transaction owns — so a batch reaches the engine only through that transaction.
//!
//! Records are stored as JSON with a record version (`v`), separate from the wire DTOs, so the
//! API model can change without rewriting stored data.

pub(super) mod blobs;
#[cfg(test)]
mod contract;
mod keys;
#[cfg(test)]
mod mem_kv;
mod records;
mod sled_kv;
pub(super) mod space;

pub(super) use keys::{Key, RepoPath, VersionKey};
pub(super) use records::SchemaRecord;
pub use records::{
    AssetRef, BlobRecord, Dependency, DomainRecord, License, Origin, PackageGroupRecord,
    PackageRecord, PolicyRecord, RepositoryRecord, TagsRecord, UpstreamRef, UsageRecord,
    VersionMetadata, VersionRecord, VersionStatus,
};
use sled_kv::SledKv;

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

/// The schema version this build writes and understands. A store written by a newer build is
/// refused at open rather than misread.
pub(in crate::registry) const SCHEMA_VERSION: u32 = 1;

/// A storage failure: the engine failed, or a stored record could not be decoded.
#[derive(Debug)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

/// One change in an atomic write: put a value, or delete the key.
enum Op {
    Put(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
}

/// Key-value pairs in key order, as a scan yields them.
pub(super) type Pairs<'a> = Box<dyn Iterator<Item = Result<(Vec<u8>, Vec<u8>), StoreError>> + 'a>;

/// The whole storage contract the registry relies on. Kept this small so the engine can be
/// replaced without touching the domain model.
trait Kv: Send + Sync {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Every pair whose key starts with `prefix`, in key order, starting strictly after
    /// `after` when given.
    fn scan(&self, prefix: &[u8], after: Option<&[u8]>) -> Pairs<'_>;
    /// Applies all ops atomically and durably: when this returns Ok the change survives a
    /// crash of the process.
    fn commit(&self, ops: Vec<Op>) -> Result<(), StoreError>;
    /// A number that changes with every commit, so readers can tell whether anything they
    /// derived from the store may be stale.
    fn generation(&self) -> u64;
}

/// A batch of typed changes, committed together.
#[derive(Default)]
pub(super) struct Batch {
    ops: Vec<Op>,
}

impl Batch {
    pub fn put<T: Serialize>(&mut self, key: &Key, value: &T) {
        let bytes = serde_json::to_vec(value).expect("records always serialize");
        self.ops.push(Op::Put(key.as_bytes().to_vec(), bytes));
    }

    pub fn delete(&mut self, key: &Key) {
        self.ops.push(Op::Delete(key.as_bytes().to_vec()));
    }

    /// Deletes a key found by a scan.
    pub fn delete_raw(&mut self, key: Vec<u8>) {
        self.ops.push(Op::Delete(key));
    }

    /// Whether the batch deletes any key.
    pub fn deletes_any(&self) -> bool {
        self.ops.iter().any(|op| matches!(op, Op::Delete(_)))
    }

    /// Puts a raw pair: a snapshot's records written back as they were read, or a record
    /// moved under another key as it is.
    pub fn put_raw(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.ops.push(Op::Put(key, value));
    }

    /// The version records the batch writes, by key, as the batch leaves them (`None`:
    /// deleted); a key written twice counts once, with its last value.
    pub fn version_writes(&self) -> std::collections::BTreeMap<&[u8], Option<&[u8]>> {
        let mut writes = std::collections::BTreeMap::new();
        for op in &self.ops {
            let (key, value) = match op {
                Op::Put(key, value) => (key, Some(value.as_slice())),
                Op::Delete(key) => (key, None),
            };
            if Key::is_version(key) {
                writes.insert(key.as_slice(), value);
            }
        }
        writes
    }
}

/// Opens (or creates) the durable store in `dir`: its reader and its one committer.
pub(super) fn open(dir: &Path) -> Result<(Reader, Committer), StoreError> {
    Ok(handles(Arc::new(SledKv::open(dir)?)))
}

/// A store that lives in memory only (for tests of the registry's rules).
#[cfg(test)]
pub(super) fn in_memory() -> (Reader, Committer) {
    handles(Arc::new(mem_kv::MemKv::new()))
}

fn handles(kv: Arc<dyn Kv>) -> (Reader, Committer) {
    let changed = Arc::new(Mutex::new(Changed::default()));
    (
        Reader {
            kv: Arc::clone(&kv),
            changed: Arc::clone(&changed),
        },
        Committer { kv, changed },
    )
}

/// When each package's versions last changed, so that a view of one package's versions
/// (a listing order) outlives commits to other packages: by versions prefix, the generation
/// of the last commit that wrote under it (`u64::MAX` while one is being applied).
#[derive(Default)]
struct Changed {
    /// Views read before this generation are stale whatever they show: a failed commit
    /// reopened the store, or the map was emptied to stay bounded.
    floor: u64,
    by_prefix: std::collections::HashMap<Vec<u8>, u64>,
}

/// Packages remembered in `Changed` before it is emptied (and its floor raised).
const CHANGED_KEPT: usize = 100_000;

/// Reads the store; cannot write. Cheap to clone.
#[derive(Clone)]
pub(super) struct Reader {
    kv: Arc<dyn Kv>,
    changed: Arc<Mutex<Changed>>,
}

impl Reader {
    /// Reads and decodes one record.
    pub fn get<T: DeserializeOwned>(&self, key: &Key) -> Result<Option<T>, StoreError> {
        self.kv
            .get(key.as_bytes())?
            .map(|bytes| decode(key.as_bytes(), &bytes))
            .transpose()
    }

    /// The raw value at a raw key (one a batch or a scan produced).
    pub fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.kv.get(key)
    }

    /// Decodes every record under a prefix (in key order), after the key `after` when given.
    pub fn scan<'a, T: DeserializeOwned + 'a>(
        &'a self,
        prefix: &Key,
        after: Option<&Key>,
    ) -> impl Iterator<Item = Result<T, StoreError>> + 'a {
        self.kv
            .scan(prefix.as_bytes(), after.map(Key::as_bytes))
            .map(|item| item.and_then(|(k, v)| decode(&k, &v)))
    }

    /// Every raw pair under a prefix, in key order.
    pub fn scan_raw(&self, prefix: &Key) -> Pairs<'_> {
        self.kv.scan(prefix.as_bytes(), None)
    }

    /// Changes with every commit.
    pub fn generation(&self) -> u64 {
        self.kv.generation()
    }

    /// Whether what was read under a package's versions prefix when the generation was
    /// `read_at` is still what the store holds: no commit has written under that prefix
    /// since (nor is one being applied), and no failure has reopened the store.
    pub fn versions_unchanged(&self, prefix: &[u8], read_at: u64) -> bool {
        let changed = self.changed.lock().unwrap_or_else(PoisonError::into_inner);
        read_at >= changed.floor
            && changed
                .by_prefix
                .get(prefix)
                .is_none_or(|&at| read_at >= at)
    }
}

/// The one way a batch reaches the engine. One exists per open store, and the registry's
/// write transaction owns it.
pub(super) struct Committer {
    kv: Arc<dyn Kv>,
    changed: Arc<Mutex<Changed>>,
}

impl Committer {
    /// Applies a batch atomically and durably (nothing happens for an empty one), and
    /// records which packages' versions it changed (`Reader::versions_unchanged`).
    pub fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        if batch.ops.is_empty() {
            return Ok(());
        }
        let mut prefixes: Vec<Vec<u8>> = batch
            .ops
            .iter()
            .filter_map(|op| match op {
                Op::Put(key, _) | Op::Delete(key) => Key::versions_prefix_of(key),
            })
            .map(<[u8]>::to_vec)
            .collect();
        prefixes.sort_unstable();
        prefixes.dedup();
        let lock = || self.changed.lock().unwrap_or_else(PoisonError::into_inner);
        {
            // Views of these packages are stale from before the engine shows the change.
            let mut changed = lock();
            for prefix in &prefixes {
                changed.by_prefix.insert(prefix.clone(), u64::MAX);
            }
        }
        let result = self.kv.commit(batch.ops);
        let now = self.kv.generation();
        let mut changed = lock();
        if result.is_err() || changed.by_prefix.len() > CHANGED_KEPT {
            changed.floor = now;
            changed.by_prefix.clear();
        } else {
            for prefix in prefixes {
                changed.by_prefix.insert(prefix, now);
            }
        }
        result
    }
}

fn decode<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| {
        StoreError(format!(
            "corrupt record at {}: {e}",
            String::from_utf8_lossy(key)
        ))
    })
}
