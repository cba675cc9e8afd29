//! Generic-package assets through the API: PublishPackageVersion (the body streams to disk
//! while it is hashed; nothing is committed until the SHA-256 matches) and
//! GetPackageVersionAsset (the bytes stream from the blob store).

use super::packages::{asset_summary, package_id, status_of, version_name};
use super::{ApiError, Cx, Subject};
use crate::registry::{NewAsset, PackageId, Publish, RepositoryRecord, StagedBlob, VersionStatus};
use codeartifact_model::*;
use std::path::PathBuf;

/// A publish that passed every check that does not need the bytes.
pub struct PublishPlan {
    repo: RepositoryRecord,
    package: PackageId,
    display_name: String,
    version: String,
    asset: String,
    sha256: String,
    unfinished: bool,
}

impl PublishPlan {
    /// The SHA-256 the client declared for the body.
    pub fn declared_sha256(&self) -> &str {
        &self.sha256
    }
}

/// Generic asset names: letters, digits, space and `~!@^&()-_+[]{};,.`; not `.` or `..`;
/// no leading, trailing or doubled spaces.
fn check_generic_asset_name(name: &str) -> Result<(), ApiError> {
    let invalid = |why: &str| {
        Err(ApiError::invalid(format!(
            "Invalid asset name '{name}': {why}"
        )))
    };
    if name == "." || name == ".." {
        return invalid("'.' and '..' are not allowed");
    }
    if name.starts_with(' ') || name.ends_with(' ') || name.contains("  ") {
        return invalid("leading, trailing or consecutive spaces are not allowed");
    }
    let allowed = |c: char| c.is_alphanumeric() || c == ' ' || "~!@^&()-_+[]{};,.".contains(c);
    if let Some(c) = name.chars().find(|c| !allowed(*c)) {
        return invalid(&format!("the character '{c}' is not allowed"));
    }
    Ok(())
}

/// Checks the request before any byte is read: input rules, repository, origin controls
/// are re-checked at commit.
pub fn prepare_publish(
    cx: &Cx<'_>,
    input: PublishPackageVersionRequest,
) -> Result<PublishPlan, ApiError> {
    if input.format != PackageFormat::Generic {
        return Err(ApiError::invalid(format!(
            "PublishPackageVersion supports only the generic format, not {}",
            input.format
        )));
    }
    check_generic_asset_name(&input.asset_name)?;
    let d = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    let package = package_id(input.format, input.namespace, &input.package)?;
    let subject = Subject::package(d, &input.repository, &package);
    cx.authorize(Operation::PublishPackageVersion, &subject)?;
    let repo = cx.app.registry.repository(d, &input.repository)?;
    Ok(PublishPlan {
        repo,
        display_name: input.package.clone(),
        package,
        version: version_name(input.format, &input.package_version),
        asset: input.asset_name,
        sha256: input.asset_sha256,
        unfinished: input.unfinished.unwrap_or(false),
    })
}

/// Commits a streamed asset whose bytes are staged on disk.
pub fn publish(
    cx: &Cx<'_>,
    plan: PublishPlan,
    blob: StagedBlob,
) -> Result<PublishPackageVersionResult, ApiError> {
    if blob.digests().sha256 != plan.sha256 {
        return Err(ApiError::invalid(format!(
            "The SHA256 of the asset content ({}) does not match the provided assetSHA256 ({})",
            blob.digests().sha256,
            plan.sha256
        )));
    }
    let registry = &cx.app.registry;
    let d = plan.repo.domain_id();
    let published = registry.publish(
        &plan.repo,
        Publish {
            package: &plan.package,
            display_name: &plan.display_name,
            version: &plan.version,
            asset: NewAsset::new(plan.asset.clone(), blob),
            unfinished: plan.unfinished,
            append: false,
            metadata: None,
            dist_tags: std::collections::BTreeMap::new(),
        },
        |existing| registry.may_publish(d, &plan.repo, &plan.package, existing),
    )?;
    let p = &plan.package;
    Ok(PublishPackageVersionResult {
        format: Some(PackageFormat::Generic),
        namespace: p.namespace.clone(),
        package: Some(p.name.clone()),
        version: Some(published.version.version.clone()),
        version_revision: Some(published.version.revision.clone()),
        status: Some(status_of(published.version.status)),
        asset: Some(asset_summary(&published.asset, Some(&published.blob))),
    })
}

/// An asset to stream back, with the headers the operation declares.
pub struct Download {
    pub output: GetPackageVersionAssetResult,
    pub path: PathBuf,
    pub size: u64,
}

pub fn get_package_version_asset(
    cx: &Cx<'_>,
    input: GetPackageVersionAssetRequest,
) -> Result<Download, ApiError> {
    let d = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    let package = package_id(input.format, input.namespace, &input.package)?;
    let subject = Subject::package(d, &input.repository, &package);
    cx.authorize(Operation::GetPackageVersionAsset, &subject)?;
    let repo = cx.app.registry.repository(d, &input.repository)?;
    let version = version_name(input.format, &input.package_version);
    let v = cx.app.registry.version(&repo, &package, &version)?;
    if input
        .package_version_revision
        .as_ref()
        .is_some_and(|r| r != &v.revision)
    {
        return Err(ApiError::NotFound {
            kind: crate::registry::ResourceKind::PackageVersion,
            id: version.clone(),
            message: format!(
                "Package version '{version}' of package '{}' has no revision '{}'",
                package.display(),
                input.package_version_revision.unwrap_or_default()
            ),
        });
    }
    if matches!(v.status, VersionStatus::Archived | VersionStatus::Disposed) {
        return Err(ApiError::Conflict {
            kind: crate::registry::ResourceKind::PackageVersion,
            id: version.clone(),
            message: format!(
                "Assets of package version '{version}' cannot be downloaded because its status is {}",
                v.status.as_str()
            ),
        });
    }
    let Some(asset) = v.assets.iter().find(|a| a.name == input.asset) else {
        return Err(ApiError::NotFound {
            kind: crate::registry::ResourceKind::Asset,
            id: input.asset.clone(),
            message: format!(
                "Asset '{}' not found in package version '{version}' of package '{}'",
                input.asset,
                package.display()
            ),
        });
    };
    Ok(Download {
        output: GetPackageVersionAssetResult {
            asset_name: Some(asset.name.clone()),
            package_version: Some(v.version.clone()),
            package_version_revision: Some(v.revision.clone()),
        },
        path: cx.app.registry.blob_path(repo.domain_id(), &asset.sha256),
        size: asset.size,
    })
}
