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
        let order = registry.versions_newest_first(&big, &p).unwrap();
        let mut seen = Vec::new();
        let mut start = 0;
        loop {
            let (page, more) = order.page(start, 7, keep);
            assert!(page.len() <= 7);
            start += page.len();
            seen.extend(page.iter().map(|v| v.version.clone()));
            if !more {
                break;
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
    let order = registry.versions_newest_first(&big, &p).unwrap();
    let newest_published = expected
        .iter()
        .find(|e| e.2 == VersionStatus::Published)
        .map(|e| e.1.clone());
    assert_eq!(order.newest_published, newest_published);
    // Past the end: nothing, and no more.
    let (none, more) = order.page(250, 7, None);
    assert!(none.is_empty() && !more);
    // A write is seen by the next listing: the kept order is of an older store.
    publish(&registry, "big", &p, "2.0.0");
    let order = registry.versions_newest_first(&big, &p).unwrap();
    assert_eq!(order.versions.len(), 251);
    assert_eq!(order.versions[0].version, "2.0.0");
    assert_eq!(order.newest_published.as_deref(), Some("2.0.0"));
}

#[test]
fn a_kept_version_order_outlives_writes_to_other_packages_only() {
    use crate::registry::{VersionAction, VersionChange, VersionStatus};
    use std::sync::Arc;
    let registry = registry();
    create(&registry, "A", &[]);
    create(&registry, "B", &[]);
    let a = repo(&registry, "A");
    let (p, q) = (npm("kept"), npm("other"));
    publish(&registry, "A", &p, "1.0.0");
    let first = registry.versions_newest_first(&a, &p).unwrap();
    // Writes to another package, in this repository and another, leave it current.
    publish(&registry, "A", &q, "1.0.0");
    publish(&registry, "B", &p, "9.0.0");
    let again = registry.versions_newest_first(&a, &p).unwrap();
    assert!(
        Arc::ptr_eq(&first, &again),
        "read again after writes elsewhere"
    );
    // A publish and a status change of this package are each seen by the next listing.
    publish(&registry, "A", &p, "2.0.0");
    let after_publish = registry.versions_newest_first(&a, &p).unwrap();
    let mut versions: Vec<&str> = after_publish
        .versions
        .iter()
        .map(|v| v.version.as_str())
        .collect();
    versions.sort_unstable();
    assert_eq!(versions, ["1.0.0", "2.0.0"]);
    let change = VersionChange {
        action: VersionAction::SetStatus(VersionStatus::Archived),
        expected_status: None,
        revisions: None,
    };
    registry
        .change_versions(&a, &p, &["2.0.0".to_string()], change)
        .unwrap();
    let after_status = registry.versions_newest_first(&a, &p).unwrap();
    let archived = after_status.versions.iter().find(|v| v.version == "2.0.0");
    assert_eq!(archived.map(|v| v.status), Some(VersionStatus::Archived));
    assert_eq!(after_status.newest_published.as_deref(), Some("1.0.0"));
}
