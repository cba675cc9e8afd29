//! The paths that must not grow with the state (issue 19) give the answers the whole-state
//! reads gave: a listing page read from its cursor, the publish-conflict check without the
//! repository's own versions, and the bulk import's commit.

use super::*;
use crate::registry::{Import, PackageFilter, VersionStatus};

fn package(format: &str, namespace: Option<&str>, name: &str) -> PackageId {
    PackageId {
        format: format.to_string(),
        namespace: namespace.map(str::to_string),
        name: name.to_string(),
    }
}

/// Every page of a listing, `max` at a time, following the cursors.
fn all_pages(registry: &Registry, filter: &PackageFilter<'_>, max: usize) -> Vec<String> {
    let repo = repo(registry, "A");
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = registry
            .list_packages(&repo, filter, after.as_deref(), max)
            .expect("page");
        assert!(page.items.len() <= max);
        out.extend(page.items.iter().map(|p| p.id().display()));
        match page.next_after {
            Some(next) => after = Some(next),
            None => return out,
        }
    }
}

#[test]
fn pages_from_a_cursor_list_every_package_once_in_key_order() {
    let registry = registry();
    create(&registry, "A", &[]);
    // Namespaces where one is a prefix of another (`org.a` and `org.a.b`): key order puts
    // `org.a.b/` before `org.a/`, and the pages must follow it without a gap or a repeat.
    let mut packages = Vec::new();
    for i in 0..7 {
        packages.push(npm(&format!("lib-{i}")));
        packages.push(package("maven", Some("org.a"), &format!("art-{i}")));
        packages.push(package("maven", Some("org.a.b"), &format!("art-{i}")));
        packages.push(package("pypi", None, &format!("py-{i}")));
    }
    for p in &packages {
        publish(&registry, "A", p, "1.0.0");
    }
    let whole = all_pages(&registry, &PackageFilter::default(), 1000);
    assert_eq!(whole.len(), packages.len());
    for max in [1, 2, 3, 5, 27] {
        assert_eq!(
            all_pages(&registry, &PackageFilter::default(), max),
            whole,
            "pages of {max}"
        );
    }
    let maven = PackageFilter {
        format: Some("maven"),
        ..PackageFilter::default()
    };
    let listed = all_pages(&registry, &maven, 4);
    assert_eq!(listed.len(), 14);
    assert!(listed.iter().all(|p| p.starts_with("org.a")));
    let filtered = PackageFilter {
        format: Some("maven"),
        namespace_prefix: Some("org.a.b"),
        ..PackageFilter::default()
    };
    assert_eq!(all_pages(&registry, &filtered, 2).len(), 7);
}

#[test]
fn what_is_listed_beyond_a_repository_is_the_merged_listing_without_its_own() {
    let registry = registry();
    chain(&registry);
    let p = npm("lib");
    publish(&registry, "A", &p, "1.0.0");
    publish(&registry, "A", &p, "3.0.0");
    publish(&registry, "B", &p, "2.0.0");
    publish(&registry, "B", &p, "3.0.0");
    // A and B published the package, so a walk would stop there: let both take upstream
    // versions too.
    for repository in ["A", "B"] {
        registry
            .put_origin_configuration(&repo(&registry, repository), &p, "lib", true, true)
            .unwrap();
    }
    let public = FakePublic::new(&registry, &["1.0.0", "2.0.0", "4.0.0"]);
    for repository in ["A", "B", "C"] {
        let asked = repo(&registry, repository);
        let merged = registry.merged(&asked, &p, Some(&public)).unwrap();
        let expected: Vec<(String, String, bool)> = merged
            .versions
            .into_iter()
            .filter(|f| f.external || f.holder.id != asked.id)
            .map(|f| (f.version.version, f.holder.name, f.external))
            .collect();
        let beyond: Vec<(String, String, bool)> = registry
            .listed_beyond(&asked, &p, Some(&public))
            .unwrap()
            .into_iter()
            .map(|f| (f.version.version, f.holder.name, f.external))
            .collect();
        assert_eq!(beyond, expected, "through {repository}");
    }
    let beyond_a: Vec<String> = registry
        .listed_beyond(&repo(&registry, "A"), &p, Some(&public))
        .unwrap()
        .into_iter()
        .map(|f| f.version.version)
        .collect();
    assert_eq!(
        beyond_a,
        ["2.0.0", "4.0.0"],
        "A's own 1.0.0 and 3.0.0 mask the rest"
    );
}

#[test]
fn an_import_commits_all_its_versions_with_their_references_or_nothing() {
    let registry = registry();
    create(&registry, "A", &[]);
    let a = repo(&registry, "A");
    let blob = registry.stage_bytes(b"shared bytes").unwrap();
    let sha256 = blob.digests().sha256.clone();
    let version = |name: &str, v: &str| Import {
        package: npm(name),
        display_name: name.to_string(),
        version: VersionRecord {
            version: v.to_string(),
            status: VersionStatus::Published,
            revision: String::new(),
            origin: crate::registry::Origin::Internal {
                repository: "A".into(),
            },
            published_ms: 1,
            assets: vec![crate::registry::AssetRef {
                name: format!("{name}-{v}.tgz"),
                sha256: sha256.clone(),
                size: 12,
                properties: BTreeMap::new(),
            }],
            metadata: VersionMetadata::default(),
        },
    };
    let references = || {
        registry
            .blob(domain(), &sha256)
            .unwrap()
            .unwrap()
            .references
    };
    let items = vec![
        version("x", "1.0.0"),
        version("x", "1.1.0"),
        version("y", "1.0.0"),
    ];
    assert_eq!(registry.import_versions(&a, vec![blob], items).unwrap(), 3);
    assert_eq!(registry.versions(&a, &npm("x")).unwrap().len(), 2);
    let stored = registry.version(&a, &npm("y"), "1.0.0").unwrap();
    assert!(!stored.revision.is_empty());
    assert_eq!(references(), 3);
    assert_eq!(
        registry.domain_stats(domain()).unwrap().asset_size_bytes,
        12
    );
    // A version that exists refuses the whole import.
    let again = vec![version("z", "1.0.0"), version("x", "1.0.0")];
    assert!(registry.import_versions(&a, Vec::new(), again).is_err());
    assert!(registry.package(&a, &npm("z")).is_err(), "nothing written");
    assert_eq!(references(), 3);
    // An asset naming a blob the domain does not store is refused.
    let mut unknown = version("w", "1.0.0");
    unknown.version.assets[0].sha256 = "0".repeat(64);
    assert!(registry
        .import_versions(&a, Vec::new(), vec![unknown])
        .is_err());
}
