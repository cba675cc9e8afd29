//! Generic packages end to end through the Rust SDK: streamed publish, the domain's
//! de-duplicated store, version lifecycle, copies and origin controls.

use crate::harness::{code, Server};
use aws_sdk_codeartifact::primitives::ByteStream;
use aws_sdk_codeartifact::types::{
    AllowPublish, AllowUpstream, HashAlgorithm, PackageFormat, PackageOriginRestrictions,
    PackageVersionErrorCode, PackageVersionStatus,
};
use aws_sdk_codeartifact::Client;
use sha2::{Digest, Sha256};
use std::path::Path;

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Deterministic pseudo-random bytes (no dependency on a RNG crate).
fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[3]
        })
        .collect()
}

async fn setup(ca: &Client, repos: &[&str]) {
    ca.create_domain().domain("acme").send().await.unwrap();
    for r in repos {
        ca.create_repository()
            .domain("acme")
            .repository(*r)
            .send()
            .await
            .unwrap();
    }
}

async fn publish(
    ca: &Client,
    repo: &str,
    version: &str,
    asset: &str,
    content: &[u8],
    unfinished: bool,
) -> Result<
    aws_sdk_codeartifact::operation::publish_package_version::PublishPackageVersionOutput,
    String,
> {
    ca.publish_package_version()
        .domain("acme")
        .repository(repo)
        .format(PackageFormat::Generic)
        .namespace("ns")
        .package("pkg")
        .package_version(version)
        .asset_name(asset)
        .asset_sha256(sha256_hex(content))
        .asset_content(ByteStream::from(content.to_vec()))
        .unfinished(unfinished)
        .send()
        .await
        .map_err(|e| code(Err::<(), _>(e)))
}

fn blob_files(data_dir: &Path) -> Vec<std::path::PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                if !path.ends_with("tmp") {
                    walk(&path, out);
                }
            } else {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&data_dir.join("blobs"), &mut out);
    out
}

async fn asset_size_bytes(ca: &Client) -> i64 {
    ca.describe_domain()
        .domain("acme")
        .send()
        .await
        .unwrap()
        .domain
        .unwrap()
        .asset_size_bytes()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_bytes_are_stored_once_per_domain() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Server::start_in(&data, &[]);
    let ca = server.client();
    setup(&ca, &["r1", "r2", "r3", "r4"]).await;
    let content = bytes(5 * 1024 * 1024, 1);
    for repo in ["r1", "r2", "r3"] {
        let out = publish(&ca, repo, "1.0.0", "asset.bin", &content, false)
            .await
            .unwrap();
        let asset = out.asset.unwrap();
        assert_eq!(asset.size(), Some(5 * 1024 * 1024));
        let hashes = asset.hashes.unwrap();
        assert_eq!(
            hashes.get(&HashAlgorithm::Sha256),
            Some(&sha256_hex(&content))
        );
        assert_eq!(hashes.len(), 4, "MD5, SHA-1, SHA-256 and SHA-512");
    }
    assert_eq!(blob_files(&data).len(), 1, "one copy on disk");
    assert_eq!(asset_size_bytes(&ca).await, 5 * 1024 * 1024);

    let copied = ca
        .copy_package_versions()
        .domain("acme")
        .source_repository("r1")
        .destination_repository("r4")
        .format(PackageFormat::Generic)
        .namespace("ns")
        .package("pkg")
        .versions("1.0.0")
        .send()
        .await
        .unwrap();
    assert!(copied.successful_versions.unwrap().contains_key("1.0.0"));
    assert_eq!(blob_files(&data).len(), 1, "a copy adds no bytes");
    assert_eq!(asset_size_bytes(&ca).await, 5 * 1024 * 1024);

    let downloaded = ca
        .get_package_version_asset()
        .domain("acme")
        .repository("r4")
        .format(PackageFormat::Generic)
        .namespace("ns")
        .package("pkg")
        .package_version("1.0.0")
        .asset("asset.bin")
        .send()
        .await
        .unwrap();
    assert_eq!(downloaded.asset_name(), Some("asset.bin"));
    assert_eq!(downloaded.package_version(), Some("1.0.0"));
    assert!(downloaded.package_version_revision().is_some());
    let body = downloaded.asset.collect().await.unwrap().into_bytes();
    assert!(body.as_ref() == content.as_slice(), "byte-exact download");

    for repo in ["r1", "r2", "r3"] {
        ca.dispose_package_versions()
            .domain("acme")
            .repository(repo)
            .format(PackageFormat::Generic)
            .namespace("ns")
            .package("pkg")
            .versions("1.0.0")
            .send()
            .await
            .unwrap();
    }
    assert_eq!(blob_files(&data).len(), 1, "r4 still references the bytes");
    ca.delete_repository()
        .domain("acme")
        .repository("r4")
        .send()
        .await
        .unwrap();
    assert!(
        blob_files(&data).is_empty(),
        "the last reference frees the bytes"
    );
    assert_eq!(asset_size_bytes(&ca).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn unfinished_versions_take_more_assets_and_bad_uploads_leave_nothing() {
    let server = Server::start();
    let ca = server.client();
    setup(&ca, &["repo"]).await;
    let out = publish(&ca, "repo", "2.0.0", "a.txt", b"first", true)
        .await
        .unwrap();
    assert_eq!(out.status(), Some(&PackageVersionStatus::Unfinished));
    let first_revision = out.version_revision().unwrap().to_string();
    let out = publish(&ca, "repo", "2.0.0", "b.txt", b"second", false)
        .await
        .unwrap();
    assert_eq!(out.status(), Some(&PackageVersionStatus::Published));
    assert_ne!(
        out.version_revision(),
        Some(first_revision.as_str()),
        "assets change the revision"
    );
    assert_eq!(
        publish(&ca, "repo", "2.0.0", "c.txt", b"late", false)
            .await
            .unwrap_err(),
        "ConflictException"
    );

    let assets = ca
        .list_package_version_assets()
        .domain("acme")
        .repository("repo")
        .format(PackageFormat::Generic)
        .namespace("ns")
        .package("pkg")
        .package_version("2.0.0")
        .send()
        .await
        .unwrap();
    let names: Vec<_> = assets.assets().iter().map(|a| a.name()).collect();
    assert_eq!(names, ["a.txt", "b.txt"]);

    // A body that does not match its declared SHA-256 leaves no version behind.
    let wrong = ca
        .publish_package_version()
        .domain("acme")
        .repository("repo")
        .format(PackageFormat::Generic)
        .namespace("ns")
        .package("pkg")
        .package_version("3.0.0")
        .asset_name("x.bin")
        .asset_sha256(sha256_hex(b"something else"))
        .asset_content(ByteStream::from_static(b"actual content"))
        .send()
        .await;
    assert!(wrong.is_err());
    assert_eq!(
        code(
            ca.describe_package_version()
                .domain("acme")
                .repository("repo")
                .format(PackageFormat::Generic)
                .namespace("ns")
                .package("pkg")
                .package_version("3.0.0")
                .send()
                .await
        ),
        "ResourceNotFoundException"
    );
    for bad_name in ["..", "a/b", " lead"] {
        assert_eq!(
            publish(&ca, "repo", "4.0.0", bad_name, b"x", false)
                .await
                .unwrap_err(),
            "ValidationException",
            "{bad_name:?}"
        );
    }
    let no_namespace = ca
        .publish_package_version()
        .domain("acme")
        .repository("repo")
        .format(PackageFormat::Generic)
        .package("pkg")
        .package_version("1.0.0")
        .asset_name("a")
        .asset_sha256(sha256_hex(b"a"))
        .asset_content(ByteStream::from_static(b"a"))
        .send()
        .await;
    assert_eq!(code(no_namespace), "ValidationException");
}

#[tokio::test(flavor = "multi_thread")]
async fn version_lifecycle_is_all_or_nothing() {
    let server = Server::start();
    let ca = server.client();
    setup(&ca, &["repo"]).await;
    for v in ["1.0.0", "1.1.0", "1.2.0"] {
        publish(&ca, "repo", v, "a", v.as_bytes(), false)
            .await
            .unwrap();
    }
    let update = |versions: &[&str],
                  target: PackageVersionStatus,
                  expected: Option<PackageVersionStatus>| {
        let mut call = ca
            .update_package_versions_status()
            .domain("acme")
            .repository("repo")
            .format(PackageFormat::Generic)
            .namespace("ns")
            .package("pkg")
            .target_status(target)
            .set_expected_status(expected);
        for v in versions {
            call = call.versions(*v);
        }
        call.send()
    };
    let out = update(&["1.0.0", "9.9.9"], PackageVersionStatus::Archived, None)
        .await
        .unwrap();
    let failed = out.failed_versions.unwrap();
    assert_eq!(
        failed["9.9.9"].error_code(),
        Some(&PackageVersionErrorCode::NotFound)
    );
    assert_eq!(
        failed["1.0.0"].error_code(),
        Some(&PackageVersionErrorCode::Skipped)
    );
    assert!(out.successful_versions.unwrap().is_empty());

    let out = update(
        &["1.0.0", "1.1.0"],
        PackageVersionStatus::Archived,
        Some(PackageVersionStatus::Published),
    )
    .await
    .unwrap();
    assert_eq!(
        out.successful_versions.unwrap()["1.0.0"].status(),
        Some(&PackageVersionStatus::Archived)
    );
    let out = update(
        &["1.0.0"],
        PackageVersionStatus::Unlisted,
        Some(PackageVersionStatus::Published),
    )
    .await
    .unwrap();
    assert_eq!(
        out.failed_versions.unwrap()["1.0.0"].error_code(),
        Some(&PackageVersionErrorCode::MismatchedStatus)
    );
    assert_eq!(
        code(update(&["1.0.0"], PackageVersionStatus::Disposed, None).await),
        "ValidationException"
    );

    let asset = ca
        .get_package_version_asset()
        .domain("acme")
        .repository("repo")
        .format(PackageFormat::Generic)
        .namespace("ns")
        .package("pkg")
        .package_version("1.0.0")
        .asset("a")
        .send()
        .await;
    assert_eq!(
        code(asset),
        "ConflictException",
        "archived assets are not served"
    );

    let listed = ca
        .list_package_versions()
        .domain("acme")
        .repository("repo")
        .format(PackageFormat::Generic)
        .namespace("ns")
        .package("pkg")
        .status(PackageVersionStatus::Archived)
        .send()
        .await
        .unwrap();
    let mut archived: Vec<_> = listed.versions().iter().map(|v| v.version()).collect();
    archived.sort_unstable();
    assert_eq!(archived, ["1.0.0", "1.1.0"]);

    let disposed = ca
        .dispose_package_versions()
        .domain("acme")
        .repository("repo")
        .format(PackageFormat::Generic)
        .namespace("ns")
        .package("pkg")
        .versions("1.1.0")
        .send()
        .await
        .unwrap();
    assert_eq!(
        disposed.successful_versions.unwrap()["1.1.0"].status(),
        Some(&PackageVersionStatus::Disposed)
    );
    let back = update(&["1.1.0"], PackageVersionStatus::Published, None)
        .await
        .unwrap();
    assert_eq!(
        back.failed_versions.unwrap()["1.1.0"].error_code(),
        Some(&PackageVersionErrorCode::NotAllowed)
    );

    let deleted = ca
        .delete_package_versions()
        .domain("acme")
        .repository("repo")
        .format(PackageFormat::Generic)
        .namespace("ns")
        .package("pkg")
        .versions("1.2.0")
        .send()
        .await
        .unwrap();
    assert_eq!(
        deleted.successful_versions.unwrap()["1.2.0"].status(),
        Some(&PackageVersionStatus::Deleted)
    );
    publish(&ca, "repo", "1.2.0", "a", b"again", false)
        .await
        .expect("a deleted version can be published again");

    let removed = ca
        .delete_package()
        .domain("acme")
        .repository("repo")
        .format(PackageFormat::Generic)
        .namespace("ns")
        .package("pkg")
        .send()
        .await
        .unwrap();
    assert_eq!(removed.deleted_package.unwrap().package(), Some("pkg"));
    assert_eq!(
        code(
            ca.describe_package()
                .domain("acme")
                .repository("repo")
                .format(PackageFormat::Generic)
                .namespace("ns")
                .package("pkg")
                .send()
                .await
        ),
        "ResourceNotFoundException"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn origin_controls_and_package_groups_block_publishing() {
    let server = Server::start();
    let ca = server.client();
    setup(&ca, &["repo", "other"]).await;
    publish(&ca, "repo", "1.0.0", "a", b"a", false)
        .await
        .unwrap();
    let described = ca
        .describe_package()
        .domain("acme")
        .repository("repo")
        .format(PackageFormat::Generic)
        .namespace("ns")
        .package("pkg")
        .send()
        .await
        .unwrap();
    let restrictions = described
        .package
        .unwrap()
        .origin_configuration
        .unwrap()
        .restrictions
        .unwrap();
    assert_eq!(
        (restrictions.publish(), restrictions.upstream()),
        (&AllowPublish::Allow, &AllowUpstream::Block),
        "defaults of a direct publish"
    );

    ca.put_package_origin_configuration()
        .domain("acme")
        .repository("repo")
        .format(PackageFormat::Generic)
        .namespace("ns")
        .package("pkg")
        .restrictions(
            PackageOriginRestrictions::builder()
                .publish(AllowPublish::Block)
                .upstream(AllowUpstream::Allow)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        publish(&ca, "repo", "2.0.0", "a", b"b", false)
            .await
            .unwrap_err(),
        "ConflictException"
    );

    let group = ca
        .create_package_group()
        .domain("acme")
        .package_group("/generic/ns/*")
        .send()
        .await
        .unwrap()
        .package_group
        .unwrap();
    assert_eq!(
        group.arn(),
        Some("arn:aws:codeartifact:us-east-1:000000000000:package-group/acme/generic/ns/%2a")
    );
    assert_eq!(group.parent.unwrap().pattern(), Some("/*"));
    let associated = ca
        .get_associated_package_group()
        .domain("acme")
        .format(PackageFormat::Generic)
        .namespace("ns")
        .package("pkg")
        .send()
        .await
        .unwrap();
    assert_eq!(
        associated.package_group.unwrap().pattern(),
        Some("/generic/ns/*")
    );
    ca.update_package_group_origin_configuration()
        .domain("acme")
        .package_group("/generic/ns/*")
        .restrictions(
            aws_sdk_codeartifact::types::PackageGroupOriginRestrictionType::Publish,
            aws_sdk_codeartifact::types::PackageGroupOriginRestrictionMode::Block,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        publish(&ca, "other", "1.0.0", "a", b"a", false)
            .await
            .unwrap_err(),
        "ConflictException",
        "the group blocks publishing everywhere"
    );
    assert_eq!(
        code(
            ca.create_package_group()
                .domain("acme")
                .package_group("generic/ns/*")
                .send()
                .await
        ),
        "ValidationException"
    );
    assert_eq!(
        code(
            ca.delete_package_group()
                .domain("acme")
                .package_group("/*")
                .send()
                .await
        ),
        "ValidationException"
    );
    let groups = ca
        .list_package_groups()
        .domain("acme")
        .send()
        .await
        .unwrap();
    let patterns: Vec<_> = groups
        .package_groups()
        .iter()
        .map(|g| g.pattern().unwrap())
        .collect();
    assert_eq!(patterns, ["/*", "/generic/ns/*"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_publishers_of_one_new_version_have_one_winner() {
    let server = Server::start();
    let ca = server.client();
    setup(&ca, &["repo"]).await;
    let mut tasks = Vec::new();
    for i in 0..32u64 {
        let ca = ca.clone();
        tasks.push(tokio::spawn(async move {
            publish(
                &ca,
                "repo",
                "7.0.0",
                "asset.bin",
                &bytes(64 * 1024, i),
                false,
            )
            .await
        }));
    }
    let mut wins = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => wins += 1,
            Err(code) => assert_eq!(code, "ConflictException"),
        }
    }
    assert_eq!(wins, 1);
}
