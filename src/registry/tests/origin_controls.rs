//! Origin controls (upstreams spec §7): the package's own setting in a repository and its
//! package group's restriction must both allow; `publish=BLOCK` refuses a direct publish, and
//! `upstream=BLOCK` (or a group blocking an upstream kind) hides what lies upstream.

use super::*;
use crate::registry::groups::{Mode, RestrictionType};
use crate::registry::{Error, OriginUpdate};

/// A package group for exactly `npm/lib` with one restriction set.
fn group_for_lib(registry: &Registry, t: RestrictionType, mode: Mode, allowed: &[&str]) {
    let pattern = "/npm//lib$";
    if registry.package_group(domain(), pattern).is_err() {
        registry
            .create_package_group(domain(), pattern, None, None, &[])
            .unwrap();
    }
    let update = OriginUpdate {
        restrictions: vec![(t, mode)],
        add: allowed.iter().map(|r| ((*r).to_string(), t)).collect(),
        remove: Vec::new(),
    };
    registry
        .update_group_origin(domain(), pattern, &update)
        .unwrap();
}

fn set_package(
    registry: &Registry,
    repository: &str,
    p: &PackageId,
    publish: bool,
    upstream: bool,
) {
    registry
        .put_origin_configuration(&repo(registry, repository), p, &p.name, publish, upstream)
        .unwrap();
}

fn may_publish(registry: &Registry, repository: &str, p: &PackageId) -> bool {
    let r = repo(registry, repository);
    let existing = registry.package(&r, p).ok();
    registry.may_publish(domain(), &r, p, existing.as_ref())
}

#[test]
fn a_package_set_to_publish_block_refuses_what_its_group_allows() {
    let registry = registry();
    create(&registry, "A", &[]);
    let p = npm("lib");
    set_package(&registry, "A", &p, false, true);
    assert!(!may_publish(&registry, "A", &p));
    let refused = publish_with(&registry, "A", &p, "1.0.0", BTreeMap::new());
    assert!(
        matches!(refused, Err(Error::Conflict { .. })),
        "{refused:?}"
    );
    assert_eq!(stored(&registry, "A", &p, "1.0.0"), None, "nothing written");

    set_package(&registry, "A", &p, true, false);
    assert!(may_publish(&registry, "A", &p));
    publish(&registry, "A", &p, "1.0.0");
}

#[test]
fn a_group_set_to_publish_block_refuses_what_the_package_allows() {
    let registry = registry();
    create(&registry, "A", &[]);
    let p = npm("lib");
    set_package(&registry, "A", &p, true, true);
    group_for_lib(&registry, RestrictionType::Publish, Mode::Block, &[]);
    assert!(!may_publish(&registry, "A", &p));
    assert!(matches!(
        publish_with(&registry, "A", &p, "1.0.0", BTreeMap::new()),
        Err(Error::Conflict { .. })
    ));
    assert!(
        may_publish(&registry, "A", &npm("other")),
        "the group is for lib only"
    );
    assert!(
        may_publish(&registry, "A", &npm("lib2")),
        "an exact pattern"
    );

    group_for_lib(&registry, RestrictionType::Publish, Mode::Allow, &[]);
    assert!(may_publish(&registry, "A", &p));
}

#[test]
fn a_group_may_allow_publishing_to_specific_repositories_only() {
    let registry = registry();
    create(&registry, "A", &[]);
    create(&registry, "B", &[]);
    let p = npm("lib");
    group_for_lib(
        &registry,
        RestrictionType::Publish,
        Mode::AllowSpecificRepositories,
        &["A"],
    );
    assert!(may_publish(&registry, "A", &p));
    assert!(!may_publish(&registry, "B", &p));
}

/// `chain` with `lib` 2.0.0 published in B and 3.0.0 listed publicly, B's package set to
/// allow upstream so that A sees everything.
fn everything_visible(registry: &Registry) -> FakePublic<'_> {
    chain(registry);
    let public = FakePublic::new(registry, &["3.0.0"]);
    let p = npm("lib");
    publish(registry, "B", &p, "2.0.0");
    // Published directly, B's package starts with upstream=BLOCK (§7.2): C's version hides.
    assert_eq!(listed(registry, "A", &p, Some(&public)), ["2.0.0"]);
    set_package(registry, "B", &p, true, true);
    assert_eq!(listed(registry, "A", &p, Some(&public)), ["2.0.0", "3.0.0"]);
    public
}

#[test]
fn upstream_block_on_the_package_hides_upstream_versions() {
    let registry = registry();
    let public = everything_visible(&registry);
    let p = npm("lib");
    set_package(&registry, "A", &p, true, false);
    publish(&registry, "A", &p, "1.0.0");
    assert_eq!(
        listed(&registry, "A", &p, Some(&public)),
        ["1.0.0"],
        "only A's own"
    );
    assert!(fetch(&registry, "A", &p, "2.0.0", Some(&public)).is_none());
    assert!(fetch(&registry, "A", &p, "3.0.0", Some(&public)).is_none());
    assert!(public.fetched.borrow().is_empty(), "nothing ingested");

    // Blocking in B prunes the walk below B only.
    set_package(&registry, "A", &p, true, true);
    set_package(&registry, "B", &p, false, false);
    assert_eq!(
        listed(&registry, "A", &p, Some(&public)),
        ["1.0.0", "2.0.0"]
    );
}

#[test]
fn a_group_blocking_an_upstream_kind_hides_that_kind_only() {
    let registry = registry();
    let public = everything_visible(&registry);
    let p = npm("lib");
    group_for_lib(
        &registry,
        RestrictionType::ExternalUpstream,
        Mode::Block,
        &[],
    );
    assert_eq!(listed(&registry, "A", &p, Some(&public)), ["2.0.0"]);
    assert!(fetch(&registry, "A", &p, "3.0.0", Some(&public)).is_none());
    assert!(public.fetched.borrow().is_empty());

    group_for_lib(
        &registry,
        RestrictionType::ExternalUpstream,
        Mode::Allow,
        &[],
    );
    group_for_lib(
        &registry,
        RestrictionType::InternalUpstream,
        Mode::Block,
        &[],
    );
    assert!(
        listed(&registry, "A", &p, Some(&public)).is_empty(),
        "the walk stops at A"
    );
    assert_eq!(listed(&registry, "C", &p, Some(&public)), ["3.0.0"]);
}
