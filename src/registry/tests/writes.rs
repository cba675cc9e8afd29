//! What a write commits: one transaction per change (a publish with its dist-tags included),
//! serialised by the write lock, with blob reference counts and events in the same commit.

use super::*;
use crate::registry::store::Key;
use crate::registry::{ChangeSink, Error, VersionChangeEvent, VersionOperation, VersionStatus};
use crate::registry::{VersionAction, VersionChange};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(t, v)| ((*t).to_string(), (*v).to_string()))
        .collect()
}

#[test]
fn a_publish_with_dist_tags_is_one_commit() {
    let registry = registry();
    create(&registry, "A", &[]);
    let p = npm("lib");
    let before = registry.generation();
    publish_with(
        &registry,
        "A",
        &p,
        "1.0.0",
        tags(&[("latest", "1.0.0"), ("beta", "1.0.0")]),
    )
    .unwrap();
    assert_eq!(
        registry.generation(),
        before + 1,
        "version, package and tags together"
    );
    let package = registry.package(&repo(&registry, "A"), &p).unwrap();
    assert_eq!(
        package.dist_tags,
        tags(&[("beta", "1.0.0"), ("latest", "1.0.0")])
    );

    // A later publish moves the tags it names and leaves the others.
    publish_with(&registry, "A", &p, "2.0.0", tags(&[("latest", "2.0.0")])).unwrap();
    let package = registry.package(&repo(&registry, "A"), &p).unwrap();
    assert_eq!(
        package.dist_tags,
        tags(&[("beta", "1.0.0"), ("latest", "2.0.0")])
    );

    // A refused publish sets no tag.
    let refused = publish_with(&registry, "A", &p, "2.0.0", tags(&[("next", "2.0.0")]));
    assert!(
        matches!(refused, Err(Error::Conflict { .. })),
        "{refused:?}"
    );
    let package = registry.package(&repo(&registry, "A"), &p).unwrap();
    assert!(!package.dist_tags.contains_key("next"));
}

#[test]
fn blob_references_count_every_repository_and_the_file_goes_with_the_last() {
    let registry = registry();
    create(&registry, "C", &[]);
    create(&registry, "A", &["C"]);
    let p = npm("lib");
    let published = publish(&registry, "C", &p, "1.0.0");
    let sha = published.blob.sha256.clone();
    fetch(&registry, "A", &p, "1.0.0", None).expect("retained in A");
    let references =
        |registry: &Registry| registry.blob(domain(), &sha).unwrap().map(|b| b.references);
    assert_eq!(references(&registry), Some(2));
    let usage = registry.domain_stats(domain()).unwrap().asset_size_bytes;
    assert_eq!(
        usage, published.blob.size,
        "the domain counts the bytes once"
    );

    let delete = |repository: &str| {
        let change = VersionChange {
            action: VersionAction::Delete,
            expected_status: None,
            revisions: None,
        };
        registry
            .change_versions(
                &repo(&registry, repository),
                &p,
                &["1.0.0".to_string()],
                change,
            )
            .unwrap();
    };
    delete("C");
    assert_eq!(references(&registry), Some(1));
    assert!(registry.blob_path(domain(), &sha).exists());
    delete("A");
    assert_eq!(references(&registry), None);
    assert!(!registry.blob_path(domain(), &sha).exists());
    assert_eq!(registry.domain_stats(domain()).unwrap().asset_size_bytes, 0);
}

#[test]
fn a_transaction_dropped_without_commit_writes_nothing() {
    let registry = registry();
    let before = registry.generation();
    let mut tx = registry.begin_write();
    tx.put(&Key::schema(), &"not committed");
    drop(tx);
    assert_eq!(registry.generation(), before);
    create(&registry, "A", &[]);
    assert_eq!(
        registry.generation(),
        before + 1,
        "and the lock was released"
    );
}

#[test]
fn a_transaction_holds_the_write_lock_until_it_commits() {
    let registry = registry();
    let tx = registry.begin_write();
    let second_began = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let second = registry.begin_write();
            second_began.store(true, Ordering::SeqCst);
            second.commit().unwrap();
        });
        std::thread::sleep(Duration::from_millis(30));
        assert!(
            !second_began.load(Ordering::SeqCst),
            "a second writer waits"
        );
        tx.commit().unwrap();
    });
    assert!(second_began.load(Ordering::SeqCst));
}

/// Collects what the registry delivers.
#[derive(Clone, Default)]
struct Collected(Arc<Mutex<Vec<VersionChangeEvent>>>);

impl ChangeSink for Collected {
    fn deliver(&mut self, changes: &[VersionChangeEvent]) {
        self.0.lock().unwrap().extend_from_slice(changes);
    }
}

impl Collected {
    fn wait_for(&self, count: usize) -> Vec<VersionChangeEvent> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let got = self.0.lock().unwrap().clone();
            if got.len() >= count || Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

#[test]
fn every_version_change_reaches_the_sink_in_commit_order_once_durable() {
    let mut registry = registry();
    let sink = Collected::default();
    registry.deliver_events(sink.clone()).unwrap();
    create(&registry, "A", &[]);
    let p = npm("lib");
    publish_with(&registry, "A", &p, "1.0.0", tags(&[("latest", "1.0.0")])).unwrap();
    for action in [
        VersionAction::SetStatus(VersionStatus::Archived),
        VersionAction::Delete,
    ] {
        let change = VersionChange {
            action,
            expected_status: None,
            revisions: None,
        };
        registry
            .change_versions(&repo(&registry, "A"), &p, &["1.0.0".to_string()], change)
            .unwrap();
    }
    let events = sink.wait_for(3);
    let summary: Vec<(VersionOperation, &str, u64)> = events
        .iter()
        .map(|e| (e.operation, e.state.as_str(), e.sequence_number))
        .collect();
    assert_eq!(
        summary,
        [
            (VersionOperation::Created, "Published", 1),
            (VersionOperation::Updated, "Archived", 2),
            (VersionOperation::Deleted, "Deleted", 3),
        ]
    );
    assert!(events
        .iter()
        .all(|e| e.repository == "A" && e.package == "lib"));
    assert_ne!(events[0].deduplication_id, events[1].deduplication_id);

    // Delivered events leave the outbox.
    let deadline = Instant::now() + Duration::from_secs(5);
    while registry.kv.scan_raw(&Key::outbox_all()).count() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(registry.kv.scan_raw(&Key::outbox_all()).count(), 0);
    // A batch is delivered before it is cleared, so the sink has everything by now.
    assert_eq!(
        sink.0.lock().unwrap().len(),
        3,
        "exactly one event per change"
    );
}

#[test]
fn an_unknown_schema_version_is_refused() {
    let registry = registry();
    assert!(registry.check_schema().is_ok());
    let mut tx = registry.begin_write();
    tx.put(
        &Key::schema(),
        &crate::registry::store::SchemaRecord {
            version: crate::registry::store::SCHEMA_VERSION + 1,
        },
    );
    tx.commit().unwrap();
    match registry.check_schema() {
        Err(Error::Store(e)) => assert!(format!("{e:?}").contains("schema version"), "{e:?}"),
        other => panic!("a newer schema was accepted: {other:?}"),
    }
}

/// A sink that holds every batch until the test lets it go, as a stop would cut delivery.
struct Held(Arc<Mutex<std::sync::mpsc::Receiver<()>>>);

impl ChangeSink for Held {
    fn deliver(&mut self, _changes: &[VersionChangeEvent]) {
        let _ = self.0.lock().unwrap().recv();
    }
}

#[test]
fn events_committed_but_not_yet_delivered_are_kept_for_the_stream() {
    // A restart finds events in the outbox that the last run never moved to the event log:
    // the stream must hold them, in number order, and end after them, or a cursor handed out
    // before the stop would skip them (delivery sends them again and the stream ignores a
    // number below its end).
    let mut registry = registry();
    let (release, held) = std::sync::mpsc::channel();
    registry
        .deliver_events(Held(Arc::new(Mutex::new(held))))
        .unwrap();
    create(&registry, "A", &[]);
    let p = npm("lib");
    for v in ["1.0.0", "2.0.0", "3.0.0"] {
        publish(&registry, "A", &p, v);
    }
    let (events, next) = registry.retained_events().unwrap();
    let numbered: Vec<(u64, &str)> = events
        .iter()
        .map(|e| (e.cursor, e.version.as_str()))
        .collect();
    assert_eq!(numbered, [(0, "1.0.0"), (1, "2.0.0"), (2, "3.0.0")]);
    assert_eq!(next, 3);
    drop(release);
}

#[test]
fn a_schema_1_store_is_upgraded_with_its_version_order() {
    use crate::registry::store::{SchemaRecord, SCHEMA_VERSION, SCHEMA_WITHOUT_ORDER};
    let registry = registry();
    create(&registry, "team", &[]);
    publish(&registry, "team", &npm("left"), "1.0.0");
    let mut tx = registry.begin_write();
    tx.put(
        &Key::schema(),
        &SchemaRecord {
            version: SCHEMA_WITHOUT_ORDER,
        },
    );
    tx.commit().unwrap();
    registry.check_schema().unwrap();
    let schema: SchemaRecord = registry.kv.get(&Key::schema()).unwrap().unwrap();
    assert_eq!(schema.version, SCHEMA_VERSION);
    super::listings::index_matches_records(&registry);
    let team = repo(&registry, "team");
    let page = registry
        .versions_page(&team, &npm("left"), None, 10, None)
        .unwrap();
    assert_eq!(page.versions.len(), 1);
}
