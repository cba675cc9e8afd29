//! The seek-based listings the web console pages through: every package once, in key order,
//! however deep the page; every version of a package once, newest first, however filtered;
//! the search; every domain of every account; a domain's asset count.

use super::{create, domain, npm, publish, registry, repo, Scope, REGION};

#[test]
fn pages_of_packages_cover_the_repository_once_in_order() {
    let registry = registry();
    create(&registry, "big", &[]);
    let names: Vec<String> = (0..10).map(|i| format!("pkg-{i:02}")).collect();
    for name in names.iter().rev() {
        publish(&registry, "big", &npm(name), "1.0.0");
    }
    let big = repo(&registry, "big");
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let (page, more) = registry.packages_page(&big, after.as_ref(), 3).unwrap();
        assert!(page.len() <= 3);
        seen.extend(page.iter().map(|p| p.name.clone()));
        after = page.last().map(crate::registry::PackageRecord::id);
        if !more {
            break;
        }
    }
    assert_eq!(seen, names);
    // A page after the last package is empty; one of exactly the rest says no more follow.
    let (rest, more) = registry
        .packages_page(&big, Some(&npm("pkg-06")), 3)
        .unwrap();
    assert_eq!(
        rest.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["pkg-07", "pkg-08", "pkg-09"]
    );
    assert!(!more);
    let (none, more) = registry
        .packages_page(&big, Some(&npm("pkg-09")), 3)
        .unwrap();
    assert!(none.is_empty() && !more);
    // Search: a substring of the name, case-insensitive, at most `max`.
    let found = registry.search_packages(&big, "KG-0", 4).unwrap();
    assert_eq!(found.len(), 4);
    assert_eq!(
        registry.search_packages(&big, "-07", 10).unwrap()[0].name,
        "pkg-07"
    );
    assert!(registry
        .search_packages(&big, "nothing", 10)
        .unwrap()
        .is_empty());
    // Ten distinct assets in the domain.
    assert_eq!(registry.blob_count(domain()).unwrap(), 10);
}

#[test]
fn all_domains_pages_through_every_account() {
    let registry = registry();
    let other = Scope {
        region: REGION,
        account: "999999999999",
    };
    registry.create_domain(other, "zeta", None, &[]).unwrap();
    registry.create_domain(other, "beta", None, &[]).unwrap();
    let first = registry.all_domains(None, 2).unwrap();
    let names: Vec<_> = first.items.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["acme", "beta"]);
    assert!(first.next_after.is_some());
    let last = &first.items[1];
    let rest = registry.all_domains(Some(last.id()), 2).unwrap();
    assert_eq!(
        rest.items
            .iter()
            .map(|d| d.name.as_str())
            .collect::<Vec<_>>(),
        ["zeta"]
    );
    assert!(rest.next_after.is_none());
}

#[test]
fn pages_of_versions_give_every_version_once_newest_first() {
    use crate::registry::{Import, Origin, VersionMetadata, VersionRecord, VersionStatus};
    let registry = registry();
    create(&registry, "big", &[]);
    let big = repo(&registry, "big");
    let p = npm("many");
    let statuses = [
        VersionStatus::Published,
        VersionStatus::Unlisted,
        VersionStatus::Archived,
    ];
    // Published times out of version order, with ties (the version string breaks them).
    let items: Vec<Import> = (0..250)
        .map(|i| Import {
            package: p.clone(),
            display_name: "many".into(),
            version: VersionRecord {
                version: format!("1.0.{i}"),
                status: statuses[i % 3],
                revision: format!("r{i}"),
                origin: Origin::Internal {
                    repository: "big".into(),
                },
                published_ms: ((i * 7) % 100) as i64,
                assets: Vec::new(),
                metadata: VersionMetadata::default(),
            },
        })
        .collect();
    let mut expected: Vec<(i64, String, VersionStatus)> = items
        .iter()
        .map(|i| {
            let v = &i.version;
            (v.published_ms, v.version.clone(), v.status)
        })
        .collect();
    expected.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    registry.import_versions(&big, Vec::new(), items).unwrap();

    let walk = |keep: Option<&dyn Fn(&crate::registry::VersionSummary) -> bool>| {
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = registry
                .versions_page(&big, &p, after.as_deref(), 7, keep)
                .unwrap();
            assert!(page.versions.len() <= 7);
            seen.extend(page.versions.iter().map(|v| v.version.clone()));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        seen
    };
    let all: Vec<String> = expected.iter().map(|e| e.1.clone()).collect();
    assert_eq!(walk(None), all);
    let unlisted: Vec<String> = expected
        .iter()
        .filter(|e| e.2 == VersionStatus::Unlisted)
        .map(|e| e.1.clone())
        .collect();
    let only_unlisted = |v: &crate::registry::VersionSummary| v.status == VersionStatus::Unlisted;
    assert_eq!(walk(Some(&only_unlisted)), unlisted);
    let newest_published = expected
        .iter()
        .find(|e| e.2 == VersionStatus::Published)
        .map(|e| e.1.clone());
    assert_eq!(
        registry.newest_published_version(&big, &p).unwrap(),
        newest_published
    );
    // After the last version: nothing, and no more. A page of exactly the rest: no more.
    let last = expected.last().unwrap();
    let end = crate::registry::store::Key::version_order_position(last.0, &last.1);
    let none = registry
        .versions_page(&big, &p, Some(&end), 7, None)
        .unwrap();
    assert!(none.versions.is_empty() && none.next.is_none());
    let whole = registry.versions_page(&big, &p, None, 250, None).unwrap();
    assert_eq!(whole.versions.len(), 250);
    assert!(whole.next.is_none());
    // A write is seen by the next listing.
    publish(&registry, "big", &p, "2.0.0");
    let first = registry.versions_page(&big, &p, None, 1, None).unwrap();
    assert_eq!(first.versions[0].version, "2.0.0");
    assert_eq!(
        registry
            .newest_published_version(&big, &p)
            .unwrap()
            .as_deref(),
        Some("2.0.0")
    );
    index_matches_records(&registry);
}

/// The version-order index holds exactly one entry per version record, at the record's
/// position, with the record's listing fields: what every write must leave behind.
pub(super) fn index_matches_records(registry: &crate::registry::Registry) {
    use crate::registry::store::Key;
    use crate::registry::{VersionRecord, VersionSummary};
    let mut expected = std::collections::BTreeMap::new();
    for pair in registry.kv.scan_raw(&Key::all_versions()) {
        let (key, value) = pair.unwrap();
        let v: VersionRecord = serde_json::from_slice(&value).unwrap();
        let entry = Key::version_order_entry(&key, v.published_ms, &v.version).unwrap();
        let summary = VersionSummary {
            version: v.version,
            status: v.status,
            revision: v.revision,
            origin: v.origin,
            published_ms: v.published_ms,
        };
        expected.insert(entry.as_bytes().to_vec(), summary);
    }
    let mut found = std::collections::BTreeMap::new();
    for pair in registry.kv.scan_raw(&Key::version_order_all()) {
        let (key, value) = pair.unwrap();
        let summary: VersionSummary = serde_json::from_slice(&value).unwrap();
        found.insert(key, summary);
    }
    assert_eq!(
        found, expected,
        "the version-order index against the records"
    );
}

#[test]
fn the_version_order_follows_every_kind_of_write() {
    use crate::registry::{CopyRequest, VersionAction, VersionChange, VersionStatus};
    let registry = registry();
    create(&registry, "A", &[]);
    create(&registry, "B", &[]);
    let a = repo(&registry, "A");
    let (p, q) = (npm("kept"), npm("other"));
    let versions = |r: &crate::registry::RepositoryRecord, p: &crate::registry::PackageId| {
        let page = registry.versions_page(r, p, None, 100, None).unwrap();
        page.versions
            .into_iter()
            .map(|v| (v.version, v.status))
            .collect::<Vec<_>>()
    };
    let published = VersionStatus::Published;
    let change = |action| VersionChange {
        action,
        expected_status: None,
        revisions: None,
    };
    publish(&registry, "A", &p, "1.0.0");
    publish(&registry, "A", &q, "1.0.0");
    publish(&registry, "B", &p, "9.0.0");
    // Later than 1.0.0: newest first, not by version.
    registry.clock.set_ms(1_700_000_000_000 + 1);
    publish(&registry, "A", &p, "10.0.0");
    registry.clock.set_ms(1_700_000_000_000 + 2);
    publish(&registry, "A", &p, "2.0.0");
    let ten = ["10.0.0".to_string()];
    registry
        .change_versions(&a, &p, &ten, change(VersionAction::Delete))
        .unwrap();
    assert_eq!(
        versions(&a, &p),
        [("2.0.0".into(), published), ("1.0.0".into(), published)]
    );
    index_matches_records(&registry);
    let two = ["2.0.0".to_string()];
    registry
        .change_versions(
            &a,
            &p,
            &two,
            change(VersionAction::SetStatus(VersionStatus::Archived)),
        )
        .unwrap();
    assert_eq!(
        versions(&a, &p)[0],
        ("2.0.0".into(), VersionStatus::Archived)
    );
    assert_eq!(
        registry
            .newest_published_version(&a, &p)
            .unwrap()
            .as_deref(),
        Some("1.0.0")
    );
    registry
        .change_versions(&a, &p, &two, change(VersionAction::Dispose))
        .unwrap();
    assert_eq!(
        versions(&a, &p)[0],
        ("2.0.0".into(), VersionStatus::Disposed)
    );
    index_matches_records(&registry);
    registry
        .change_versions(&a, &p, &two, change(VersionAction::Delete))
        .unwrap();
    assert_eq!(versions(&a, &p), [("1.0.0".into(), published)]);
    index_matches_records(&registry);
    // A copy into another repository, then that repository's deletion.
    let b = repo(&registry, "B");
    let one = "1.0.0".to_string();
    let request = CopyRequest {
        versions: vec![(one, None)],
        allow_overwrite: false,
        include_from_upstream: false,
    };
    registry
        .copy_versions(&a, &b, &p, &request, |_| Ok(None))
        .unwrap();
    assert_eq!(versions(&b, &p).len(), 2);
    index_matches_records(&registry);
    registry.delete_repository(b.domain_id(), "B").unwrap();
    index_matches_records(&registry);
    assert!(versions(&b, &p).is_empty());
    // A reset empties it; a snapshot brings it back with the records.
    let mut archive = Vec::new();
    registry.save_snapshot(&mut archive).unwrap();
    registry.restore_snapshot(None::<&[u8]>).unwrap();
    index_matches_records(&registry);
    registry.restore_snapshot(Some(archive.as_slice())).unwrap();
    index_matches_records(&registry);
    assert_eq!(
        versions(&repo(&registry, "A"), &p),
        [("1.0.0".into(), published)]
    );
}
