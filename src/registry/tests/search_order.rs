//! Upstream search order (upstreams spec §3.1): the repository itself first, then its
//! upstreams depth-first in list order; the first copy found wins.

use super::*;

#[test]
fn the_documented_order_is_depth_first_in_list_order() {
    // my_repo → [A, B]; A → [C, D]; D → [E]: order my_repo, A, C, D, E, B.
    let registry = registry();
    for (name, upstreams) in [
        ("E", &[][..]),
        ("C", &[]),
        ("D", &["E"]),
        ("B", &[]),
        ("A", &["C", "D"]),
        ("my_repo", &["A", "B"]),
    ] {
        create(&registry, name, upstreams);
    }
    let p = npm("lib");
    let holder = |registry: &Registry| {
        registry
            .resolve(&repo(registry, "my_repo"), &p, "1.0.0", None)
            .unwrap()
            .map(|found| found.holder.name)
    };
    assert_eq!(holder(&registry), None);
    publish(&registry, "B", &p, "1.0.0");
    assert_eq!(holder(&registry).as_deref(), Some("B"));
    publish(&registry, "E", &p, "1.0.0");
    assert_eq!(
        holder(&registry).as_deref(),
        Some("E"),
        "E (under A) comes before B"
    );
    publish(&registry, "C", &p, "1.0.0");
    assert_eq!(
        holder(&registry).as_deref(),
        Some("C"),
        "C comes before D and E"
    );
    publish(&registry, "my_repo", &p, "1.0.0");
    assert_eq!(
        holder(&registry).as_deref(),
        Some("my_repo"),
        "the repository itself first"
    );
}

#[test]
fn in_a_chain_the_first_copy_wins_for_downloads_and_listings() {
    let registry = registry();
    create(&registry, "C", &[]);
    create(&registry, "B", &["C"]);
    create(&registry, "A", &["B"]);
    let p = npm("lib");
    let in_c = publish(&registry, "C", &p, "1.0.0");
    let in_b = publish(&registry, "B", &p, "1.0.0");
    assert_ne!(
        in_b.version.revision, in_c.version.revision,
        "different bytes"
    );
    publish(&registry, "C", &p, "2.0.0");

    let found = fetch(&registry, "A", &p, "1.0.0", None).unwrap();
    assert_eq!(found.holder.name, "B");
    assert_eq!(found.version.revision, in_b.version.revision);

    let merged = registry.merged(&repo(&registry, "A"), &p, None).unwrap();
    let one = merged
        .versions
        .iter()
        .filter(|f| f.version.version == "1.0.0")
        .collect::<Vec<_>>();
    assert_eq!(one.len(), 1, "a version is listed once");
    // A retained B's copy; the listing now shows A's own record, with B's content.
    assert_eq!(one[0].holder.name, "A");
    assert_eq!(one[0].version.revision, in_b.version.revision);
    // B's package was published there directly, so its upstream control is BLOCK (§7.2):
    // nothing below B shows until B allows upstream for it.
    assert_eq!(listed(&registry, "A", &p, None), ["1.0.0"]);
    registry
        .put_origin_configuration(&repo(&registry, "B"), &p, "lib", true, true)
        .unwrap();
    assert_eq!(listed(&registry, "A", &p, None), ["1.0.0", "2.0.0"]);
}

#[test]
fn a_repository_reaches_an_external_connection_through_any_upstream() {
    // A → B → C (C connected); D stands alone; E → [D, A].
    let registry = registry();
    chain(&registry);
    create(&registry, "D", &[]);
    create(&registry, "E", &["D", "A"]);
    let reaches = |name: &str| registry.reaches_external(&repo(&registry, name)).unwrap();
    for name in ["A", "B", "C", "E"] {
        assert!(reaches(name), "{name}");
    }
    assert!(!reaches("D"));
    // Without the connection nothing reaches one; a new one on D is seen from E at once.
    registry
        .disassociate_external_connection(domain(), "C", NPMJS)
        .unwrap();
    for name in ["A", "B", "C", "D", "E"] {
        assert!(!reaches(name), "{name}");
    }
    connect(&registry, "D");
    assert!(reaches("E") && reaches("D") && !reaches("A"));
}
