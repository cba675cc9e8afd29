//! Package version changes as events (events spec §3–4). Every commit goes through a
//! `WriteTx`; when events are delivered, the version records its batch writes are compared
//! with what the store held before, and each version that changed becomes one event. Working from the batch, not from each operation, means no way of
//! changing a version (publish, status change, copy, retention, a Maven metadata upload,
//! deletion of a repository) can forget its event.
//!
//! Events are written to an outbox in the same batch as the change they describe; a thread
//! hands the outbox to the `ChangeSink` in commit order and then clears what it sent. An
//! event is therefore never lost to a crash: what was committed and not yet delivered goes
//! out at the next start (at least once, as the service promises).
//!
//! The registry describes a change in its own terms (`VersionChangeEvent`); what a sink makes
//! of it (EventBridge envelopes, recipients, ARNs) is the sink's business, so nothing here
//! depends on `events`.

use super::store::{Batch, Key, Reader, VersionKey};
use super::write::Writer;
use super::{Error, Registry, RepositoryRecord, Result, StoreError, VersionRecord};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Weak};

/// Undelivered events handed to the delivery thread at most this many at a time.
const DELIVERY_BATCH: usize = 256;

/// After delivering a partial batch, the delivery thread waits this long before looking
/// again, so under a stream of commits its own commits (each durable) stay few and
/// carry many events instead of one each.
const DELIVERY_PAUSE: std::time::Duration = std::time::Duration::from_millis(10);

/// Delivered events kept (the most recent), so an event stream's cursors survive a restart.
pub const EVENTS_RETAINED: u64 = 10_000;

/// The registry's side of event delivery: the next outbox number, and a way to wake the
/// delivery thread after a commit.
pub(super) struct Outbox {
    next: AtomicU64,
    wake: mpsc::Sender<()>,
}

/// Where committed version changes go; `events` implements it. Called on the registry's
/// delivery thread, in commit order, with every change at least once (a crash between
/// delivery and clearing the outbox sends a batch again).
pub trait ChangeSink: Send {
    /// Hands over a batch of changes. A sink logs its own failures: the registry clears the
    /// batch from the outbox once this returns, so a failing sink never blocks the rest.
    fn deliver(&mut self, changes: &[VersionChangeEvent]);
}

/// What a change did to a version as a whole (events spec §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum VersionOperation {
    Created,
    Updated,
    Deleted,
}

impl VersionOperation {
    /// The service's name for it (`operationType`).
    pub fn as_str(self) -> &'static str {
        match self {
            VersionOperation::Created => "Created",
            VersionOperation::Updated => "Updated",
            VersionOperation::Deleted => "Deleted",
        }
    }
}

/// One committed change to one package version, as the registry reports it (events spec
/// §3–4). Written to the outbox in the batch that made the change; handed to the
/// `ChangeSink` once that batch is durable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionChangeEvent {
    /// When the change committed (milliseconds since the epoch).
    pub time_ms: i64,
    pub region: String,
    pub domain: String,
    pub domain_owner: String,
    pub repository: String,
    /// The repository's administrator when the change committed (the domain owner if the
    /// repository has no record).
    pub repository_administrator: String,
    pub format: String,
    /// `None` for a package without a namespace.
    pub namespace: Option<String>,
    pub package: String,
    pub version: String,
    /// The version's status afterwards (`Published`, …), or `Deleted`.
    pub state: String,
    pub revision: String,
    pub operation: VersionOperation,
    pub assets_added: usize,
    pub assets_removed: usize,
    pub assets_updated: usize,
    pub metadata_updated: bool,
    pub status_changed: bool,
    /// Counts the package's events in its repository from 1, and keeps counting after the
    /// package is deleted and published again.
    pub sequence_number: u64,
    /// Unique to this change and the same on every redelivery of it (base64).
    pub deduplication_id: String,
    /// The change's place among all events (its outbox number): increasing in commit order,
    /// never reused, across restarts too. An event stream's cursor.
    #[serde(default)]
    pub cursor: u64,
}

/// What one change did to a version (`detail.changes` and the fields around it).
#[derive(Debug, PartialEq, Eq)]
struct Change {
    operation: VersionOperation,
    state: String,
    revision: String,
    added: usize,
    removed: usize,
    updated: usize,
    metadata_updated: bool,
    status_changed: bool,
}

/// How `new` differs from `old`; `None` when nothing an event reports changed. An asset
/// marked as the version's metadata document counts as metadata, not as a file.
fn change(old: Option<&VersionRecord>, new: Option<&VersionRecord>) -> Option<Change> {
    fn files(v: &VersionRecord) -> HashMap<&str, &str> {
        v.assets
            .iter()
            .filter(|a| !a.is_metadata_document())
            .map(|a| (a.name.as_str(), a.sha256.as_str()))
            .collect()
    }
    let metadata_document = |v: &VersionRecord| {
        v.assets
            .iter()
            .find(|a| a.is_metadata_document())
            .map(|a| a.sha256.clone())
    };
    match (old, new) {
        (None, None) => None,
        (None, Some(new)) => Some(Change {
            operation: VersionOperation::Created,
            state: new.status.as_str().to_string(),
            revision: new.revision.clone(),
            added: files(new).len(),
            removed: 0,
            updated: 0,
            metadata_updated: true,
            status_changed: true,
        }),
        (Some(old), None) => Some(Change {
            operation: VersionOperation::Deleted,
            state: "Deleted".to_string(),
            revision: old.revision.clone(),
            added: 0,
            removed: files(old).len(),
            updated: 0,
            metadata_updated: false,
            status_changed: true,
        }),
        (Some(old), Some(new)) => {
            let (before, after) = (files(old), files(new));
            let added = after.keys().filter(|n| !before.contains_key(*n)).count();
            let removed = before.keys().filter(|n| !after.contains_key(*n)).count();
            let updated = after
                .iter()
                .filter(|(n, sha)| before.get(*n).is_some_and(|old| old != *sha))
                .count();
            let metadata_updated =
                old.metadata != new.metadata || metadata_document(old) != metadata_document(new);
            let status_changed = old.status != new.status;
            let nothing =
                added == 0 && removed == 0 && updated == 0 && !metadata_updated && !status_changed;
            (!nothing).then(|| Change {
                operation: VersionOperation::Updated,
                state: new.status.as_str().to_string(),
                revision: new.revision.clone(),
                added,
                removed,
                updated,
                metadata_updated,
                status_changed,
            })
        }
    }
}

fn decode(bytes: &[u8]) -> Option<VersionRecord> {
    serde_json::from_slice(bytes).ok()
}

impl Outbox {
    /// Adds events to a batch under the next outbox numbers, which become their cursors.
    /// Called under the write lock.
    pub(super) fn stage(&self, events: &mut [VersionChangeEvent], batch: &mut Batch) {
        for event in events {
            let number = self.next.fetch_add(1, Ordering::SeqCst);
            event.cursor = number;
            batch.put(&Key::outbox(number), &*event);
        }
    }

    /// Tells the delivery thread that the outbox has grown.
    pub(super) fn wake(&self) {
        let _ = self.wake.send(());
    }
}

impl Registry {
    /// Starts delivering events to `sink`: every package version change from now on, and
    /// first what an earlier run committed but did not deliver. The delivery thread ends
    /// when the registry is dropped.
    pub fn deliver_events(&mut self, sink: impl ChangeSink + 'static) -> Result<()> {
        // Numbers are never reused: delivered events leave their number in the event log.
        let next = last_number(&self.kv, &Key::outbox_all(), Key::outbox_number)?
            .max(last_number(
                &self.kv,
                &Key::event_log_all(),
                Key::event_log_number,
            )?)
            .map_or(0, |n| n + 1);
        let (wake, woken) = mpsc::channel();
        let outbox = Outbox {
            next: AtomicU64::new(next),
            wake,
        };
        if !self.writer.start_events(outbox) {
            return Err(Error::Store(StoreError(
                "events are already being delivered".to_string(),
            )));
        }
        let writer = Arc::downgrade(&self.writer);
        std::thread::Builder::new()
            .name("events".to_string())
            .spawn(move || deliver_outbox(&writer, sink, &woken))
            .map_err(|e| Error::Store(StoreError(format!("cannot start event delivery: {e}"))))?;
        Ok(())
    }
}

fn last_number(kv: &Reader, prefix: &Key, number: fn(&[u8]) -> Option<u64>) -> Result<Option<u64>> {
    let mut last = None;
    for pair in kv.scan_raw(prefix) {
        let (key, _) = pair?;
        last = number(&key).or(last);
    }
    Ok(last)
}

impl Registry {
    /// The events kept for the event stream, oldest first: the delivered ones of the event
    /// log (at most `EVENTS_RETAINED`), then those committed but not yet delivered when the
    /// last run stopped (still in the outbox; delivery will send them again, and the stream
    /// ignores the repeat), and the cursor the next event will get. Read at start, before
    /// delivery begins, so a stream can go on from a cursor handed out before a restart.
    pub fn retained_events(&self) -> Result<(Vec<VersionChangeEvent>, u64)> {
        let mut events = Vec::new();
        for (prefix, number) in [
            (
                Key::event_log_all(),
                Key::event_log_number as fn(&[u8]) -> Option<u64>,
            ),
            (Key::outbox_all(), Key::outbox_number),
        ] {
            for pair in self.kv.scan_raw(&prefix) {
                let (key, bytes) = pair?;
                match serde_json::from_slice::<VersionChangeEvent>(&bytes) {
                    Ok(mut event) => {
                        event.cursor = number(&key).unwrap_or(event.cursor);
                        events.push(event);
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "a stored event cannot be read; skipped")
                    }
                }
            }
        }
        let next = events.last().map_or(0, |e| e.cursor + 1);
        Ok((events, next))
    }
}

/// The events of the version records `batch` writes, each compared with the stored record;
/// the packages' new sequence numbers are added to the batch.
pub(super) fn version_events(
    kv: &Reader,
    now: i64,
    batch: &mut Batch,
) -> Result<Vec<VersionChangeEvent>> {
    let mut sequences: BTreeMap<Key, u64> = BTreeMap::new();
    let mut administrators: HashMap<String, Option<RepositoryRecord>> = HashMap::new();
    let mut out = Vec::new();
    for (raw_key, value) in batch.version_writes() {
        let Some(key) = VersionKey::parse(raw_key) else {
            continue;
        };
        let old = kv.get_raw(raw_key)?.and_then(|bytes| decode(&bytes));
        let new = value.and_then(decode);
        let Some(change) = change(old.as_ref(), new.as_ref()) else {
            continue;
        };
        let r = key.repo;
        let sequence_key = Key::event_sequence(&r, key.format, key.namespace, key.name);
        let sequence = match sequences.get(&sequence_key) {
            Some(last) => last + 1,
            None => kv.get::<u64>(&sequence_key)?.unwrap_or(0) + 1,
        };
        sequences.insert(sequence_key, sequence);
        // The repository record is still there when the batch deletes the repository.
        let repository = match administrators.get(r.repository) {
            Some(found) => found.clone(),
            None => {
                let found = kv.get::<RepositoryRecord>(&Key::repository(
                    r.region,
                    r.owner,
                    r.domain,
                    r.repository,
                ))?;
                administrators.insert(r.repository.to_string(), found.clone());
                found
            }
        };
        let administrator =
            repository.map_or_else(|| r.owner.to_string(), |repo| repo.administrator_account);
        let dedup: [u8; 32] = crate::clock::random_bytes();
        out.push(VersionChangeEvent {
            time_ms: now,
            region: r.region.to_string(),
            domain: r.domain.to_string(),
            domain_owner: r.owner.to_string(),
            repository: r.repository.to_string(),
            repository_administrator: administrator,
            format: key.format.to_string(),
            namespace: key.namespace.map(str::to_string),
            package: key.name.to_string(),
            version: key.version.to_string(),
            state: change.state,
            revision: change.revision,
            operation: change.operation,
            assets_added: change.added,
            assets_removed: change.removed,
            assets_updated: change.updated,
            metadata_updated: change.metadata_updated,
            status_changed: change.status_changed,
            sequence_number: sequence,
            deduplication_id: base64::engine::general_purpose::STANDARD.encode(dedup),
            cursor: 0,
        });
    }
    for (key, sequence) in &sequences {
        batch.put(key, sequence);
    }
    Ok(out)
}

/// The delivery thread: sends the outbox in order, clears what it sent (in a write
/// transaction like every other write), then waits for the next commit. Ends once the
/// registry is dropped.
fn deliver_outbox(writer: &Weak<Writer>, mut sink: impl ChangeSink, woken: &mpsc::Receiver<()>) {
    loop {
        let Some(writer) = writer.upgrade() else {
            return;
        };
        let pending: Vec<(Vec<u8>, Vec<u8>)> = writer
            .reader()
            .scan_raw(&Key::outbox_all())
            .take(DELIVERY_BATCH)
            .filter_map(|pair| match pair {
                Ok(pair) => Some(pair),
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the event outbox");
                    None
                }
            })
            .collect();
        if pending.is_empty() {
            // Holding the writer while asleep would keep the registry's wake-up sender
            // alive after the registry is dropped.
            drop(writer);
            if woken.recv().is_err() {
                return;
            }
            // Commits that woke us while we were busy are all in the outbox already.
            while woken.try_recv().is_ok() {}
            continue;
        }
        let events: Vec<VersionChangeEvent> = pending
            .iter()
            .filter_map(|(key, bytes)| match serde_json::from_slice(bytes) {
                Ok(event) => Some(event),
                Err(e) => {
                    let key = String::from_utf8_lossy(key);
                    tracing::error!(%key, error = %e, "an outbox entry cannot be read; dropped");
                    None
                }
            })
            .collect();
        let partial = pending.len() < DELIVERY_BATCH;
        sink.deliver(&events);
        // Delivered events move to the event log in the same commit that clears them, and
        // the log keeps only the most recent `EVENTS_RETAINED`.
        let mut sent = writer.begin();
        let mut last = None;
        for (key, bytes) in pending {
            if let Some(number) = Key::outbox_number(&key) {
                sent.put_raw(Key::event_log(number).as_bytes().to_vec(), bytes);
                last = Some(number);
            }
            sent.delete_raw(key);
        }
        if let Some(cutoff) = last.and_then(|n| (n + 1).checked_sub(EVENTS_RETAINED)) {
            let old: Vec<Vec<u8>> = writer
                .reader()
                .scan_raw(&Key::event_log_all())
                .map_while(|pair| pair.ok())
                .map(|(key, _)| key)
                .take_while(|key| Key::event_log_number(key).is_some_and(|n| n < cutoff))
                .collect();
            for key in old {
                sent.delete_raw(key);
            }
        }
        if let Err(e) = sent.commit() {
            tracing::error!(error = ?e, "cannot clear delivered events; they may be sent again");
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
        if partial {
            // Not holding the writer while paused (see above).
            drop(writer);
            std::thread::sleep(DELIVERY_PAUSE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{AssetRef, Origin, VersionMetadata, VersionStatus};

    fn version(status: VersionStatus, assets: &[(&str, &str)]) -> VersionRecord {
        VersionRecord {
            version: "1.0".into(),
            status,
            revision: "r".into(),
            origin: Origin::Unknown,
            published_ms: 0,
            assets: assets
                .iter()
                .map(|(name, sha)| AssetRef {
                    name: (*name).into(),
                    sha256: (*sha).into(),
                    size: 1,
                    properties: Default::default(),
                })
                .collect(),
            metadata: VersionMetadata::default(),
        }
    }

    #[test]
    fn changes_count_what_happened_to_assets_status_and_metadata() {
        let unfinished = version(VersionStatus::Unfinished, &[("a.jar", "1")]);
        let created = change(None, Some(&unfinished)).unwrap();
        assert_eq!(
            (created.operation, created.added),
            (VersionOperation::Created, 1)
        );
        assert!(created.status_changed && created.metadata_updated);

        let published = version(VersionStatus::Published, &[("a.jar", "2"), ("b.pom", "3")]);
        let updated = change(Some(&unfinished), Some(&published)).unwrap();
        assert_eq!(
            (
                updated.operation,
                updated.state.as_str(),
                updated.added,
                updated.updated
            ),
            (VersionOperation::Updated, "Published", 1, 1)
        );
        assert!(updated.status_changed && !updated.metadata_updated);

        let disposed = version(VersionStatus::Disposed, &[]);
        let dispose = change(Some(&published), Some(&disposed)).unwrap();
        assert_eq!((dispose.removed, dispose.state.as_str()), (2, "Disposed"));

        let deleted = change(Some(&published), None).unwrap();
        assert_eq!(
            (deleted.operation, deleted.state.as_str(), deleted.removed),
            (VersionOperation::Deleted, "Deleted", 2)
        );

        let mut moved = published.clone();
        moved.published_ms = 99;
        assert_eq!(
            change(Some(&published), Some(&moved)),
            None,
            "no reported change, no event"
        );

        // A metadata document (Maven's maven-metadata.xml) publishing the version is a
        // metadata change, not an added file.
        let jar = version(VersionStatus::Unfinished, &[("a-1.0.jar", "1")]);
        let mut listed = version(
            VersionStatus::Published,
            &[("a-1.0.jar", "1"), ("maven-metadata.xml", "9")],
        );
        listed.assets[1]
            .properties
            .insert(AssetRef::METADATA_DOCUMENT.into(), "true".into());
        let publish = change(Some(&jar), Some(&listed)).unwrap();
        assert_eq!((publish.added, publish.metadata_updated), (0, true));
    }
}
