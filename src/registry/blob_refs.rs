//! Blob reference counting. Asset bytes are shared by the whole domain: a version holds
//! references (name, SHA-256), each blob record counts the references from every repository
//! of the domain, the domain's usage counts each blob once, and a blob file is removed only
//! after the commit that dropped its last reference. A write transaction collects the changes
//! (`WriteTx::add_reference`, `remove_reference`, `store_blob`) and stages them into its
//! batch when it commits.

use super::store::blobs::{BlobStore, StagedBlob};
use super::store::{Batch, Key, Reader};
use super::write::WriteTx;
use super::{BlobRecord, DomainId, Error, Registry, Result, StoreError, UsageRecord};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Pending reference-count changes to one domain's blobs, applied in the same batch as the
/// versions that gained or lost the references.
#[derive(Default)]
pub(super) struct BlobChanges {
    delta: BTreeMap<String, i64>,
    new_blobs: BTreeMap<String, BlobRecord>,
}

impl BlobChanges {
    /// Whether the change adds no blob and no reference.
    pub(super) fn adds_nothing(&self) -> bool {
        self.new_blobs.is_empty() && self.delta.values().all(|n| *n <= 0)
    }

    /// Whether the change drops a reference.
    pub(super) fn releases_any(&self) -> bool {
        self.delta.values().any(|n| *n < 0)
    }
}

impl Registry {
    /// The blob record of an asset (digests and size).
    pub fn blob(&self, d: DomainId<'_>, sha256: &str) -> Result<Option<BlobRecord>> {
        Ok(self.kv.get(&Key::blob(d.region, d.owner, d.name, sha256))?)
    }

    /// The file holding an asset's bytes.
    pub fn blob_path(&self, d: DomainId<'_>, sha256: &str) -> PathBuf {
        self.blobs.path(d.region, d.owner, d.name, sha256)
    }

    /// Bytes of distinct assets a domain stores.
    pub(super) fn usage(&self, d: DomainId<'_>) -> Result<UsageRecord> {
        usage(&self.kv, d)
    }
}

fn usage(kv: &Reader, d: DomainId<'_>) -> Result<UsageRecord> {
    Ok(kv
        .get(&Key::usage(d.region, d.owner, d.name))?
        .unwrap_or_default())
}

impl WriteTx<'_> {
    /// One more reference to a blob of the domain (a version gained an asset).
    pub(super) fn add_reference(&mut self, d: DomainId<'_>, sha256: &str) {
        *self
            .blob_changes(d)
            .delta
            .entry(sha256.to_string())
            .or_default() += 1;
    }

    /// One reference fewer (a version lost an asset, or was deleted).
    pub(super) fn remove_reference(&mut self, d: DomainId<'_>, sha256: &str) {
        *self
            .blob_changes(d)
            .delta
            .entry(sha256.to_string())
            .or_default() -= 1;
    }

    /// Whether this transaction so far adds references to the blob.
    pub(super) fn gains_reference(&mut self, d: DomainId<'_>, sha256: &str) -> bool {
        self.blob_changes(d)
            .delta
            .get(sha256)
            .is_some_and(|n| *n > 0)
    }

    /// Places staged bytes in the domain's store (bytes before the metadata that references
    /// them) and returns their blob record; a new blob's record is written at commit.
    pub(super) fn store_blob(&mut self, d: DomainId<'_>, blob: StagedBlob) -> Result<BlobRecord> {
        let digests = blob.digests().clone();
        let key = Key::blob(d.region, d.owner, d.name, &digests.sha256);
        let record = match self.reader().get::<BlobRecord>(&key)? {
            Some(existing) => existing,
            None => {
                let record = BlobRecord {
                    size: blob.size(),
                    md5: digests.md5,
                    sha1: digests.sha1,
                    sha256: digests.sha256.clone(),
                    sha512: digests.sha512,
                    references: 0,
                };
                self.blob_changes(d)
                    .new_blobs
                    .insert(digests.sha256.clone(), record.clone());
                record
            }
        };
        let target = self
            .blob_store()
            .path(d.region, d.owner, d.name, &digests.sha256);
        self.blob_store()
            .place(blob, &target)
            .map_err(|e| Error::Store(StoreError(format!("cannot store asset: {e}"))))?;
        Ok(record)
    }
}

/// Adds a domain's reference-count changes (and the records of new blobs) to a batch, and
/// returns the blob files that lose their last reference (to remove after the commit).
pub(super) fn stage(
    kv: &Reader,
    blobs: &BlobStore,
    d: DomainId<'_>,
    changes: BlobChanges,
    batch: &mut Batch,
) -> Result<Vec<PathBuf>> {
    let mut usage = usage(kv, d)?;
    let mut freed = Vec::new();
    for (sha256, delta) in changes.delta {
        if delta == 0 {
            continue;
        }
        let key = Key::blob(d.region, d.owner, d.name, &sha256);
        let existing: Option<BlobRecord> = kv.get(&key)?;
        let mut record = match existing.or_else(|| changes.new_blobs.get(&sha256).cloned()) {
            Some(r) => r,
            None => continue,
        };
        let was = record.references;
        record.references =
            u64::try_from(i64::try_from(was).unwrap_or(i64::MAX) + delta).unwrap_or(0);
        if was == 0 && record.references > 0 {
            usage.asset_size_bytes += record.size;
        }
        if record.references == 0 {
            if was > 0 {
                usage.asset_size_bytes = usage.asset_size_bytes.saturating_sub(record.size);
            }
            batch.delete(&key);
            freed.push(blobs.path(d.region, d.owner, d.name, &sha256));
        } else {
            batch.put(&key, &record);
        }
    }
    batch.put(&Key::usage(d.region, d.owner, d.name), &usage);
    Ok(freed)
}
