//! Writes. Every change reaches the store through one `WriteTx`: it holds the registry's
//! write lock from `Registry::begin_write` until it commits or is dropped, and its `commit`
//! is the only code that hands a batch to the store (the `Committer` lives in the `Writer`,
//! nowhere else). A commit adds, in the same atomic batch, the blob reference counts and
//! domain usage the change implies (`blob_refs`) and, while events are delivered, the
//! change's events with their sequence numbers (`changes`); it then removes the blob files
//! that lost their last reference, still under the lock.
//!
//! Reads made while a transaction is open see the committed state, not the transaction's
//! own pending writes.

use super::blob_refs::{self, BlobChanges};
use super::changes::{self, Outbox};
use super::store::blobs::BlobStore;
use super::store::{Batch, Committer, Key, Reader};
use super::{DomainId, Error, Registry, ResourceKind, Result};
use crate::clock::Clock;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// The write side of a registry: the lock, the store's one committer, and what a commit
/// needs besides the batch. Shared with the event delivery thread.
pub(super) struct Writer {
    lock: Mutex<()>,
    committer: Committer,
    reader: Reader,
    blobs: BlobStore,
    clock: Arc<Clock>,
    /// Set once, when event delivery starts.
    outbox: OnceLock<Outbox>,
}

impl Writer {
    pub(super) fn new(
        committer: Committer,
        reader: Reader,
        blobs: BlobStore,
        clock: Arc<Clock>,
    ) -> Self {
        Writer {
            lock: Mutex::new(()),
            committer,
            reader,
            blobs,
            clock,
            outbox: OnceLock::new(),
        }
    }

    /// Takes the write lock (waiting for the transaction that holds it) and opens a
    /// transaction. A panic while holding the lock cannot leave a half-applied batch
    /// (batches are atomic), so a poisoned lock is safe to reuse.
    pub(super) fn begin(&self) -> WriteTx<'_> {
        let guard = self
            .lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        WriteTx {
            writer: self,
            guard,
            batch: Batch::default(),
            blobs: BTreeMap::new(),
        }
    }

    /// From now on every commit also writes the events of its version changes to the
    /// outbox. False when delivery had already started.
    pub(super) fn start_events(&self, outbox: Outbox) -> bool {
        self.outbox.set(outbox).is_ok()
    }

    pub(super) fn reader(&self) -> &Reader {
        &self.reader
    }

    /// Builds the version-order index afresh under the write lock (upgrading a store made
    /// before it existed). Returns the number of versions indexed.
    pub(super) fn rebuild_version_order(&self) -> Result<u64> {
        let _guard = self
            .lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(self.committer.rebuild_version_order()?)
    }
}

/// A domain, owned, as the key of its pending blob changes.
type DomainKey = (String, String, String);

/// An open write: the lock, the batch so far, and the blob references it changes.
pub(super) struct WriteTx<'w> {
    writer: &'w Writer,
    guard: MutexGuard<'w, ()>,
    batch: Batch,
    blobs: BTreeMap<DomainKey, BlobChanges>,
}

impl WriteTx<'_> {
    pub(super) fn put<T: Serialize>(&mut self, key: &Key, value: &T) {
        self.batch.put(key, value);
    }

    pub(super) fn delete(&mut self, key: &Key) {
        self.batch.delete(key);
    }

    /// Deletes a key found by a scan.
    pub(super) fn delete_raw(&mut self, key: Vec<u8>) {
        self.batch.delete_raw(key);
    }

    /// Puts a raw pair (a snapshot's records).
    pub(super) fn put_raw(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.batch.put_raw(key, value);
    }

    /// The pending blob changes of a domain.
    pub(super) fn blob_changes(&mut self, d: DomainId<'_>) -> &mut BlobChanges {
        self.blobs
            .entry((
                d.region.to_string(),
                d.owner.to_string(),
                d.name.to_string(),
            ))
            .or_default()
    }

    pub(super) fn reader(&self) -> &Reader {
        &self.writer.reader
    }

    pub(super) fn blob_store(&self) -> &BlobStore {
        &self.writer.blobs
    }

    /// Commits everything atomically and durably: the batch, the blob reference counts and
    /// usage it implies, and (while events are delivered) its events. Then wakes delivery
    /// and removes the blob files nothing references any more.
    /// Below the free-space watermark nothing is committed: the change is refused as an
    /// exceeded quota before the store could meet `ENOSPC` half-way. A change that only
    /// removes is held to the lower floor instead (`Space::check_floor`).
    pub(super) fn commit(self) -> Result<()> {
        let WriteTx {
            writer,
            guard,
            mut batch,
            blobs,
        } = self;
        // A change that only removes (keys, blob references; no new blob) may free space,
        // so it is let through below the watermark down to a lower floor: deleting and
        // disposing is how space comes back through the API.
        let releases = batch.deletes_any() || blobs.values().any(BlobChanges::releases_any);
        let space = if releases && blobs.values().all(BlobChanges::adds_nothing) {
            writer.blobs.space().check_floor()
        } else {
            writer.blobs.space().check()
        };
        if let Err(e) = space {
            return Err(Error::QuotaExceeded {
                kind: ResourceKind::Unnamed,
                id: String::new(),
                message: e.to_string(),
            });
        }
        let mut freed = Vec::new();
        for ((region, owner, name), changes) in blobs {
            let d = DomainId {
                region: &region,
                owner: &owner,
                name: &name,
            };
            freed.extend(blob_refs::stage(
                &writer.reader,
                &writer.blobs,
                d,
                changes,
                &mut batch,
            )?);
        }
        let outbox = writer.outbox.get();
        let events = match outbox {
            Some(outbox) => {
                let mut events =
                    changes::version_events(&writer.reader, writer.clock.now_ms(), &mut batch)?;
                // Numbers are taken under the write lock, so outbox order is commit order;
                // a failed commit only leaves a gap.
                outbox.stage(&mut events, &mut batch);
                events
            }
            None => Vec::new(),
        };
        writer.committer.commit(batch)?;
        if let (Some(outbox), false) = (outbox, events.is_empty()) {
            outbox.wake();
        }
        // Under the lock: a concurrent publish of the same bytes must not see the file
        // before it is gone and then lose it.
        for path in freed {
            writer.blobs.remove(&path);
        }
        drop(guard);
        Ok(())
    }
}

impl WriteTx<'_> {
    /// Commits the batch as it is, without blob reference counting or events: for a
    /// snapshot's records, which carry their own counts and whose versions changed nothing
    /// (restoring a state is not a package version change).
    pub(super) fn commit_verbatim(self) -> Result<()> {
        if let Err(e) = self.writer.blobs.space().check() {
            return Err(Error::QuotaExceeded {
                kind: ResourceKind::Unnamed,
                id: String::new(),
                message: e.to_string(),
            });
        }
        let WriteTx {
            writer,
            guard,
            batch,
            ..
        } = self;
        writer.committer.commit(batch)?;
        drop(guard);
        Ok(())
    }
}

impl Registry {
    /// Opens a write transaction, waiting for the write lock.
    pub(super) fn begin_write(&self) -> WriteTx<'_> {
        self.writer.begin()
    }
}
