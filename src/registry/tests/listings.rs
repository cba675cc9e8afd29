//! The seek-based listings the web console pages through: every package once, in key order,
//! however deep the page; the search; every domain of every account; a domain's asset count.

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
