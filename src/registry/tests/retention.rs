//! Retention (upstreams spec §4.1): a version served from elsewhere is kept in the
//! repository asked and, when it came through an external connection, in the repository
//! owning that connection — never in the repositories between them. Listing keeps nothing.

use super::*;

#[test]
fn a_public_version_is_kept_in_the_repository_asked_and_the_one_with_the_connection() {
    let registry = registry();
    chain(&registry);
    let public = FakePublic::new(&registry, &["4.17.21"]);
    let p = npm("lodash");

    let found = fetch(&registry, "A", &p, "4.17.21", Some(&public)).expect("found");
    assert_eq!(found.holder.name, "C", "ingested where the connection is");
    assert_eq!(*public.fetched.borrow(), ["4.17.21"]);

    let in_a = stored(&registry, "A", &p, "4.17.21").expect("retained in A");
    let in_c = stored(&registry, "C", &p, "4.17.21").expect("stored in C");
    assert_eq!(
        stored(&registry, "B", &p, "4.17.21"),
        None,
        "B never changes"
    );
    assert!(
        registry.package(&repo(&registry, "B"), &p).is_err(),
        "no package in B either"
    );
    assert_eq!(in_a.revision, in_c.revision);
    assert_eq!(
        in_a.origin,
        crate::registry::Origin::External {
            connection: NPMJS.to_string()
        },
        "retention keeps the origin"
    );
    for name in ["A", "C"] {
        let package = registry.package(&repo(&registry, name), &p).unwrap();
        assert!(
            !package.allow_publish && package.allow_upstream,
            "{name}: a package that came from outside starts publish=BLOCK, upstream=ALLOW"
        );
    }
    // The bytes are stored once for the domain, referenced by both records.
    let blob = registry
        .blob(domain(), &in_a.assets[0].sha256)
        .unwrap()
        .expect("blob");
    assert_eq!(blob.references, 2);
}

#[test]
fn asking_the_middle_repository_retains_there_and_at_the_connection() {
    let registry = registry();
    chain(&registry);
    let public = FakePublic::new(&registry, &["1.0.0"]);
    let p = npm("lodash");
    fetch(&registry, "B", &p, "1.0.0", Some(&public)).expect("found");
    assert!(stored(&registry, "B", &p, "1.0.0").is_some());
    assert!(stored(&registry, "C", &p, "1.0.0").is_some());
    assert_eq!(stored(&registry, "A", &p, "1.0.0"), None);
}

#[test]
fn a_version_stored_upstream_is_retained_only_in_the_repository_asked() {
    let registry = registry();
    chain(&registry);
    let p = npm("internal");
    publish(&registry, "C", &p, "1.0.0");
    let found = fetch(&registry, "A", &p, "1.0.0", None).expect("found");
    assert_eq!(found.holder.name, "C");
    assert!(stored(&registry, "A", &p, "1.0.0").is_some());
    assert_eq!(stored(&registry, "B", &p, "1.0.0"), None);
}

#[test]
fn listing_through_the_graph_keeps_nothing() {
    let registry = registry();
    chain(&registry);
    let public = FakePublic::new(&registry, &["1.0.0", "2.0.0"]);
    let p = npm("lodash");
    let before = registry.generation();
    assert_eq!(
        listed(&registry, "A", &p, Some(&public)),
        ["1.0.0", "2.0.0"]
    );
    assert_eq!(registry.generation(), before, "no commit");
    assert!(public.fetched.borrow().is_empty(), "no download");
    for name in ["A", "B", "C"] {
        assert!(
            registry.package(&repo(&registry, name), &p).is_err(),
            "{name}"
        );
    }
}
