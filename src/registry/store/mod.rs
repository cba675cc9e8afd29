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
    VersionMetadata, VersionRecord, VersionStatus, VersionSummary,
};
use sled_kv::SledKv;

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;

/// The schema version this build writes and understands. A store written by a newer build is
/// refused at open rather than misread. 2 added the version-order index; a store of
/// schema 1 is upgraded at open (`Committer::rebuild_version_order`).
pub(in crate::registry) const SCHEMA_VERSION: u32 = 2;
/// The schema before the version-order index: its records are the same, the index missing.
pub(in crate::registry) const SCHEMA_WITHOUT_ORDER: u32 = 1;

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
    (
        Reader {
            kv: Arc::clone(&kv),
        },
        Committer { kv },
    )
}

/// Reads the store; cannot write. Cheap to clone.
#[derive(Clone)]
pub(super) struct Reader {
    kv: Arc<dyn Kv>,
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
}

/// The one way a batch reaches the engine. One exists per open store, and the registry's
/// write transaction owns it.
pub(super) struct Committer {
    kv: Arc<dyn Kv>,
}

/// Index entries written per commit when the index is rebuilt.
const REBUILD_BATCH: usize = 10_000;

impl Committer {
    /// Applies a batch atomically and durably (nothing happens for an empty one), with the
    /// version-order index kept in step in the same batch: for each version the batch
    /// writes, the entry of the record it replaces goes and the entry of the new record
    /// comes. A batch's own writes under the index are dropped, so the index is only ever
    /// what the version records imply.
    pub fn commit(&self, mut batch: Batch) -> Result<(), StoreError> {
        batch.ops.retain(|op| match op {
            Op::Put(key, _) | Op::Delete(key) => !Key::is_derived(key),
        });
        if batch.ops.is_empty() {
            return Ok(());
        }
        let mut index = Vec::new();
        for (key, value) in batch.version_writes() {
            if let Some(old) = self.kv.get(key)? {
                index.push(Op::Delete(order_entry(key, &old)?.0));
            }
            if let Some(new) = value {
                let (entry, summary) = order_entry(key, new)?;
                index.push(Op::Put(entry, summary));
            }
        }
        batch.ops.extend(index);
        self.kv.commit(batch.ops)
    }

    /// Writes the version-order index afresh from the version records, for a store made
    /// before it existed: whatever is under its prefix goes, then one entry per version,
    /// a few thousand per commit. Run again after a crash, it ends the same. Returns the
    /// number of versions indexed.
    pub fn rebuild_version_order(&self) -> Result<u64, StoreError> {
        loop {
            let stale: Vec<Op> = self
                .kv
                .scan(Key::version_order_all().as_bytes(), None)
                .take(REBUILD_BATCH)
                .map(|pair| pair.map(|(key, _)| Op::Delete(key)))
                .collect::<Result<_, _>>()?;
            if stale.is_empty() {
                break;
            }
            self.kv.commit(stale)?;
        }
        let mut indexed = 0;
        let mut ops = Vec::new();
        for pair in self.kv.scan(Key::all_versions().as_bytes(), None) {
            let (key, value) = pair?;
            let (entry, summary) = order_entry(&key, &value)?;
            ops.push(Op::Put(entry, summary));
            indexed += 1;
            if ops.len() >= REBUILD_BATCH {
                self.kv.commit(std::mem::take(&mut ops))?;
            }
        }
        if !ops.is_empty() {
            self.kv.commit(ops)?;
        }
        Ok(indexed)
    }
}

/// The version-order index entry of a version record stored at `key`: its key and value.
fn order_entry(key: &[u8], record: &[u8]) -> Result<(Vec<u8>, Vec<u8>), StoreError> {
    let summary: VersionSummary = decode(key, record)?;
    let entry =
        Key::version_order_entry(key, summary.published_ms, &summary.version).ok_or_else(|| {
            StoreError(format!(
                "not a version key: {}",
                String::from_utf8_lossy(key)
            ))
        })?;
    let value = serde_json::to_vec(&summary).expect("records always serialize");
    Ok((entry.as_bytes().to_vec(), value))
}

fn decode<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| {
        StoreError(format!(
            "corrupt record at {}: {e}",
            String::from_utf8_lossy(key)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::keys::tests::TEAM;
    use super::*;

    fn record(version: &str, published_ms: i64) -> Vec<u8> {
        let record = VersionRecord {
            version: version.into(),
            status: VersionStatus::Published,
            revision: format!("r-{version}"),
            origin: Origin::Unknown,
            published_ms,
            assets: Vec::new(),
            metadata: VersionMetadata::default(),
        };
        serde_json::to_vec(&record).unwrap()
    }

    fn index(kv: &dyn Kv) -> Vec<(String, VersionSummary)> {
        kv.scan(Key::version_order_all().as_bytes(), None)
            .map(|pair| {
                let (key, value) = pair.unwrap();
                let summary = serde_json::from_slice(&value).unwrap();
                (String::from_utf8(key).unwrap(), summary)
            })
            .collect()
    }

    #[test]
    fn a_store_without_the_index_gets_it_from_its_records_alone() {
        let kv = Arc::new(mem_kv::MemKv::new());
        let (_, committer) = handles(kv.clone());
        // As a schema 1 store holds them: records only (written past the committer), and a
        // stray entry that no record implies.
        let old = Key::version(&TEAM, "npm", None, "left", "1.0.0");
        let new = Key::version(&TEAM, "npm", None, "left", "2.0.0");
        let stray = Key::version_order_entry(old.as_bytes(), 5, "0.0.1").unwrap();
        kv.commit(vec![
            Op::Put(old.as_bytes().to_vec(), record("1.0.0", 10)),
            Op::Put(new.as_bytes().to_vec(), record("2.0.0", 20)),
            Op::Put(stray.as_bytes().to_vec(), b"{}".to_vec()),
        ])
        .unwrap();
        assert_eq!(committer.rebuild_version_order().unwrap(), 2);
        let versions: Vec<(i64, String)> = index(kv.as_ref())
            .into_iter()
            .map(|(_, s)| (s.published_ms, s.version))
            .collect();
        assert_eq!(versions, [(20, "2.0.0".into()), (10, "1.0.0".into())]);
        // Run again (a crash midway), it ends the same.
        assert_eq!(committer.rebuild_version_order().unwrap(), 2);
        assert_eq!(index(kv.as_ref()).len(), 2);
    }

    #[test]
    fn a_commit_moves_the_entry_with_its_record_and_ignores_writes_to_the_index() {
        let kv = Arc::new(mem_kv::MemKv::new());
        let (_, committer) = handles(kv.clone());
        let key = Key::version(&TEAM, "npm", None, "left", "1.0.0");
        let forged = Key::version_order_entry(key.as_bytes(), 99, "9.9.9").unwrap();
        let mut batch = Batch::default();
        batch.put_raw(key.as_bytes().to_vec(), record("1.0.0", 10));
        batch.put_raw(forged.as_bytes().to_vec(), b"{}".to_vec());
        committer.commit(batch).unwrap();
        let entries = index(kv.as_ref());
        assert_eq!(entries.len(), 1, "{entries:?}");
        assert_eq!(entries[0].1.published_ms, 10);
        // Rewritten with another publish time (a re-publish): the old entry goes.
        let mut batch = Batch::default();
        batch.put_raw(key.as_bytes().to_vec(), record("1.0.0", 30));
        committer.commit(batch).unwrap();
        let entries = index(kv.as_ref());
        assert_eq!(entries.len(), 1, "{entries:?}");
        assert_eq!(entries[0].1.published_ms, 30);
        // Written and deleted in one batch: nothing.
        let mut batch = Batch::default();
        batch.put_raw(key.as_bytes().to_vec(), record("1.0.0", 40));
        batch.delete(&key);
        committer.commit(batch).unwrap();
        assert!(index(kv.as_ref()).is_empty());
        assert!(kv.get(key.as_bytes()).unwrap().is_none());
    }
}
