//! The batch version operations (UpdatePackageVersionsStatus, DisposePackageVersions,
//! DeletePackageVersions, CopyPackageVersions): every version is checked before any changes;
//! one failure turns the rest into `SKIPPED` and nothing is written.

use super::*;
use crate::registry::{BatchResult, CopyRequest, VersionAction, VersionChange, VersionStatus};

const ACTIONS: [VersionAction; 3] = [
    VersionAction::SetStatus(VersionStatus::Archived),
    VersionAction::Dispose,
    VersionAction::Delete,
];

/// `A` with `lib` 1.0.0 (Published) and 2.0.0 (Unlisted).
fn two_versions() -> (Registry, PackageId) {
    let registry = registry();
    create(&registry, "A", &[]);
    let p = npm("lib");
    publish(&registry, "A", &p, "1.0.0");
    publish(&registry, "A", &p, "2.0.0");
    let change = VersionChange {
        action: VersionAction::SetStatus(VersionStatus::Unlisted),
        expected_status: None,
        revisions: None,
    };
    registry
        .change_versions(&repo(&registry, "A"), &p, &["2.0.0".to_string()], change)
        .unwrap();
    (registry, p)
}

fn versions(registry: &Registry, p: &PackageId) -> Vec<VersionRecord> {
    registry.versions(&repo(registry, "A"), p).unwrap()
}

fn run(
    registry: &Registry,
    p: &PackageId,
    asked: &[&str],
    change: VersionChange<'_>,
) -> BatchResult {
    let asked: Vec<String> = asked.iter().map(|v| (*v).to_string()).collect();
    let (result, changed) = registry
        .change_versions(&repo(registry, "A"), p, &asked, change)
        .unwrap();
    if !result.failed.is_empty() {
        assert!(changed.is_empty(), "a failed batch reports no changes");
    }
    result
}

fn failures(result: &BatchResult) -> Vec<(&str, &str)> {
    result
        .failed
        .iter()
        .map(|(v, (code, _))| (v.as_str(), *code))
        .collect()
}

#[test]
fn one_missing_version_skips_the_others_and_writes_nothing() {
    for action in ACTIONS {
        let (registry, p) = two_versions();
        let before = versions(&registry, &p);
        let generation = registry.generation();
        let change = VersionChange {
            action,
            expected_status: None,
            revisions: None,
        };
        let result = run(&registry, &p, &["1.0.0", "9.9.9", "2.0.0"], change);
        assert!(result.successful.is_empty(), "{action:?}");
        assert_eq!(
            failures(&result),
            [
                ("1.0.0", "SKIPPED"),
                ("2.0.0", "SKIPPED"),
                ("9.9.9", "NOT_FOUND")
            ],
            "{action:?}"
        );
        assert_eq!(
            versions(&registry, &p),
            before,
            "{action:?}: nothing changed"
        );
        assert_eq!(
            registry.generation(),
            generation,
            "{action:?}: nothing committed"
        );
    }
}

#[test]
fn a_status_or_revision_mismatch_skips_the_others() {
    let (registry, p) = two_versions();
    let before = versions(&registry, &p);
    let expect_published = VersionChange {
        action: VersionAction::Dispose,
        expected_status: Some(VersionStatus::Published),
        revisions: None,
    };
    let result = run(&registry, &p, &["1.0.0", "2.0.0"], expect_published);
    assert_eq!(
        failures(&result),
        [("1.0.0", "SKIPPED"), ("2.0.0", "MISMATCHED_STATUS")]
    );

    let wrong = BTreeMap::from([("1.0.0".to_string(), "not-the-revision".to_string())]);
    let expect_revision = VersionChange {
        action: VersionAction::Delete,
        expected_status: None,
        revisions: Some(&wrong),
    };
    let result = run(&registry, &p, &["1.0.0", "2.0.0"], expect_revision);
    assert_eq!(
        failures(&result),
        [("1.0.0", "MISMATCHED_REVISION"), ("2.0.0", "SKIPPED")]
    );
    assert_eq!(versions(&registry, &p), before);
}

#[test]
fn a_batch_that_passes_changes_every_version_and_its_blob_references() {
    let (registry, p) = two_versions();
    let sha = |v: &VersionRecord| v.assets[0].sha256.clone();
    let before = versions(&registry, &p);
    let dispose = VersionChange {
        action: VersionAction::Dispose,
        expected_status: None,
        revisions: None,
    };
    let result = run(&registry, &p, &["1.0.0", "2.0.0"], dispose);
    assert!(result.failed.is_empty());
    assert_eq!(result.successful.len(), 2);
    for (old, new) in before.iter().zip(versions(&registry, &p)) {
        assert_eq!(new.status, VersionStatus::Disposed);
        assert!(new.assets.is_empty());
        assert_eq!(
            registry
                .blob(domain(), &sha(old))
                .unwrap()
                .map(|b| b.references),
            None,
            "the last reference went, so did the blob record"
        );
        assert!(
            !registry.blob_path(domain(), &sha(old)).exists(),
            "and the file"
        );
    }
}

#[test]
fn a_copy_with_one_failure_copies_nothing() {
    let (registry, p) = two_versions();
    create(&registry, "B", &[]);
    let request = CopyRequest {
        versions: vec![("1.0.0".to_string(), None), ("7.0.0".to_string(), None)],
        allow_overwrite: false,
        include_from_upstream: false,
    };
    let (result, copied) = registry
        .copy_versions(
            &repo(&registry, "A"),
            &repo(&registry, "B"),
            &p,
            &request,
            |_| Ok(None),
        )
        .unwrap();
    assert!(copied.is_empty());
    assert_eq!(
        failures(&result),
        [("1.0.0", "SKIPPED"), ("7.0.0", "NOT_FOUND")]
    );
    assert!(
        registry.package(&repo(&registry, "B"), &p).is_err(),
        "B has nothing"
    );
}
