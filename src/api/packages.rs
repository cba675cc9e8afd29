//! Packages and package versions: describe, list, origin configuration, the version
//! lifecycle, copies, and the metadata reads (assets, dependencies, readme).

use super::{pagination, ApiError, Cx, Subject};
use crate::registry::names::{
    namespace_rule, normalize_name, normalize_namespace, normalize_version, NamespaceRule,
};
use crate::registry::{
    AssetRef, BatchResult, BlobRecord, CopyRequest, DomainId, Origin, PackageFilter, PackageId,
    PackageRecord, RepositoryRecord, VersionAction, VersionChange, VersionStatus, VersionSummary,
};
use codeartifact_model::rt::Timestamp;
use codeartifact_model::*;
use std::collections::BTreeMap;

/// Validates the namespace rule of the format and normalises names as the service does
/// before any lookup (PyPI, NuGet and Swift names; NuGet versions).
pub fn package_id(
    format: PackageFormat,
    namespace: Option<String>,
    package: &str,
) -> Result<PackageId, ApiError> {
    let format_name = format.as_str();
    let namespace = match (namespace_rule(format_name), namespace) {
        (NamespaceRule::Required, None) => {
            return Err(ApiError::invalid(format!(
                "A namespace is required for packages of format {format_name}"
            )))
        }
        (NamespaceRule::Forbidden, Some(_)) => {
            return Err(ApiError::invalid(format!(
                "Packages of format {format_name} do not have a namespace"
            )))
        }
        (_, ns) => ns.map(|ns| normalize_namespace(format_name, &ns)),
    };
    Ok(PackageId {
        format: format_name.to_string(),
        namespace,
        name: normalize_name(format_name, package),
    })
}

pub fn version_name(format: PackageFormat, version: &str) -> String {
    normalize_version(format.as_str(), version)
}

fn format_of(name: &str) -> Option<PackageFormat> {
    PackageFormat::ALL
        .iter()
        .copied()
        .find(|f| f.as_str() == name)
}

fn origin_configuration(record: &PackageRecord) -> PackageOriginConfiguration {
    PackageOriginConfiguration {
        restrictions: Some(PackageOriginRestrictions {
            publish: if record.allow_publish {
                AllowPublish::Allow
            } else {
                AllowPublish::Block
            },
            upstream: if record.allow_upstream {
                AllowUpstream::Allow
            } else {
                AllowUpstream::Block
            },
        }),
    }
}

fn summary(record: &PackageRecord) -> PackageSummary {
    PackageSummary {
        format: format_of(&record.format),
        namespace: record.namespace.clone(),
        package: Some(record.name.clone()),
        origin_configuration: Some(origin_configuration(record)),
    }
}

pub fn status_of(status: VersionStatus) -> PackageVersionStatus {
    match status {
        VersionStatus::Published => PackageVersionStatus::Published,
        VersionStatus::Unfinished => PackageVersionStatus::Unfinished,
        VersionStatus::Unlisted => PackageVersionStatus::Unlisted,
        VersionStatus::Archived => PackageVersionStatus::Archived,
        VersionStatus::Disposed => PackageVersionStatus::Disposed,
    }
}

fn status_from(status: PackageVersionStatus) -> Option<VersionStatus> {
    match status {
        PackageVersionStatus::Published => Some(VersionStatus::Published),
        PackageVersionStatus::Unfinished => Some(VersionStatus::Unfinished),
        PackageVersionStatus::Unlisted => Some(VersionStatus::Unlisted),
        PackageVersionStatus::Archived => Some(VersionStatus::Archived),
        PackageVersionStatus::Disposed => Some(VersionStatus::Disposed),
        PackageVersionStatus::Deleted => None,
    }
}

/// The origin's type alone (no strings copied: a filter asks it of every version).
fn origin_type_of(origin: &Origin) -> PackageVersionOriginType {
    match origin {
        Origin::Internal { .. } => PackageVersionOriginType::Internal,
        Origin::External { .. } => PackageVersionOriginType::External,
        Origin::Unknown => PackageVersionOriginType::Unknown,
    }
}

fn origin_of(origin: &Origin) -> PackageVersionOrigin {
    match origin {
        Origin::Internal { repository } => PackageVersionOrigin {
            domain_entry_point: Some(DomainEntryPoint {
                repository_name: Some(repository.clone()),
                external_connection_name: None,
            }),
            origin_type: Some(PackageVersionOriginType::Internal),
        },
        Origin::External { connection } => PackageVersionOrigin {
            domain_entry_point: Some(DomainEntryPoint {
                repository_name: None,
                external_connection_name: Some(connection.clone()),
            }),
            origin_type: Some(PackageVersionOriginType::External),
        },
        Origin::Unknown => PackageVersionOrigin {
            domain_entry_point: None,
            origin_type: Some(PackageVersionOriginType::Unknown),
        },
    }
}

/// An asset as `AssetSummary`, with every digest from the domain's blob record.
pub fn asset_summary(asset: &AssetRef, blob: Option<&BlobRecord>) -> AssetSummary {
    let mut hashes = BTreeMap::new();
    hashes.insert(HashAlgorithm::Sha256, asset.sha256.clone());
    if let Some(blob) = blob {
        hashes.insert(HashAlgorithm::Md5, blob.md5.clone());
        hashes.insert(HashAlgorithm::Sha1, blob.sha1.clone());
        hashes.insert(HashAlgorithm::Sha512, blob.sha512.clone());
    }
    AssetSummary {
        name: asset.name.clone(),
        size: Some(i64::try_from(asset.size).unwrap_or(i64::MAX)),
        hashes: Some(hashes),
    }
}

/// The repository a repository-level request names, after the access check.
fn repository(
    cx: &Cx<'_>,
    op: Operation,
    d: DomainId<'_>,
    repository: &str,
) -> Result<RepositoryRecord, ApiError> {
    cx.authorize(op, &Subject::repository(d, repository))?;
    Ok(cx.app.registry.repository(d, repository)?)
}

/// The repository a package request names, after the access check on the package's ARN.
fn package_repository(
    cx: &Cx<'_>,
    op: Operation,
    d: DomainId<'_>,
    repository: &str,
    p: &PackageId,
) -> Result<RepositoryRecord, ApiError> {
    cx.authorize(op, &Subject::package(d, repository, p))?;
    Ok(cx.app.registry.repository(d, repository)?)
}

pub fn describe_package(
    cx: &Cx<'_>,
    input: DescribePackageRequest,
) -> Result<DescribePackageResult, ApiError> {
    let d = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    let p = package_id(input.format, input.namespace, &input.package)?;
    let repo = package_repository(cx, Operation::DescribePackage, d, &input.repository, &p)?;
    let record = cx.app.registry.package(&repo, &p)?;
    Ok(DescribePackageResult {
        package: PackageDescription {
            format: format_of(&record.format),
            namespace: record.namespace.clone(),
            name: Some(record.name.clone()),
            origin_configuration: Some(origin_configuration(&record)),
        },
    })
}

pub fn list_packages(
    cx: &Cx<'_>,
    input: ListPackagesRequest,
) -> Result<ListPackagesResult, ApiError> {
    let d = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    let repo = repository(cx, Operation::ListPackages, d, &input.repository)?;
    let after = pagination::decode::<ListPackagesRequest>(input.next_token.as_deref())?;
    let format = input.format.map(PackageFormat::as_str);
    // The package prefix is normalised like a name when the format is known.
    let name_prefix = match (input.format, input.package_prefix) {
        (Some(f), Some(prefix)) => Some(normalize_name(f.as_str(), &prefix)),
        (None, prefix) | (Some(_), prefix @ None) => prefix,
    };
    let filter = PackageFilter {
        format,
        namespace_prefix: input.namespace.as_deref(),
        name_prefix: name_prefix.as_deref(),
        publish: input.publish.map(|p| p == AllowPublish::Allow),
        upstream: input.upstream.map(|u| u == AllowUpstream::Allow),
    };
    let page = cx.app.registry.list_packages(
        &repo,
        &filter,
        after.as_deref(),
        pagination::page_size(input.max_results),
    )?;
    Ok(ListPackagesResult {
        packages: Some(page.items.iter().map(summary).collect()),
        next_token: page
            .next_after
            .as_deref()
            .map(pagination::encode::<ListPackagesRequest>),
    })
}

pub fn delete_package(
    cx: &Cx<'_>,
    input: DeletePackageRequest,
) -> Result<DeletePackageResult, ApiError> {
    let d = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    let p = package_id(input.format, input.namespace, &input.package)?;
    let repo = package_repository(cx, Operation::DeletePackage, d, &input.repository, &p)?;
    let (record, _versions) = cx.app.registry.delete_package(&repo, &p)?;
    Ok(DeletePackageResult {
        deleted_package: Some(summary(&record)),
    })
}

pub fn put_package_origin_configuration(
    cx: &Cx<'_>,
    input: PutPackageOriginConfigurationRequest,
) -> Result<PutPackageOriginConfigurationResult, ApiError> {
    let d = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    let p = package_id(input.format, input.namespace, &input.package)?;
    let repo = package_repository(
        cx,
        Operation::PutPackageOriginConfiguration,
        d,
        &input.repository,
        &p,
    )?;
    let record = cx.app.registry.put_origin_configuration(
        &repo,
        &p,
        &input.package,
        input.restrictions.publish == AllowPublish::Allow,
        input.restrictions.upstream == AllowUpstream::Allow,
    )?;
    Ok(PutPackageOriginConfigurationResult {
        origin_configuration: Some(origin_configuration(&record)),
    })
}

/// A package and version addressed by a request, after the access check.
struct VersionTarget {
    repo: RepositoryRecord,
    package: PackageId,
    version: String,
}

/// Inputs that name one package version in one repository (the model repeats the same
/// seven members on each of them).
trait VersionAddressed {
    fn domain(&self) -> (&str, Option<&str>);
    fn repository(&self) -> &str;
    fn package(&self) -> (PackageFormat, Option<String>, &str);
    fn version(&self) -> &str;
}

macro_rules! version_addressed {
    ($($input:ty),* $(,)?) => {$(
        impl VersionAddressed for $input {
            fn domain(&self) -> (&str, Option<&str>) {
                (&self.domain, self.domain_owner.as_deref())
            }
            fn repository(&self) -> &str {
                &self.repository
            }
            fn package(&self) -> (PackageFormat, Option<String>, &str) {
                (self.format, self.namespace.clone(), &self.package)
            }
            fn version(&self) -> &str {
                &self.package_version
            }
        }
    )*};
}

version_addressed!(
    DescribePackageVersionRequest,
    ListPackageVersionAssetsRequest,
    ListPackageVersionDependenciesRequest,
    GetPackageVersionReadmeRequest,
);

fn version_target(
    cx: &Cx<'_>,
    input: &impl VersionAddressed,
    op: Operation,
) -> Result<VersionTarget, ApiError> {
    let (domain, owner) = input.domain();
    let d = cx.domain_id(domain, owner);
    let (format, namespace, package) = input.package();
    let package = package_id(format, namespace, package)?;
    let repo = package_repository(cx, op, d, input.repository(), &package)?;
    Ok(VersionTarget {
        repo,
        package,
        version: version_name(format, input.version()),
    })
}

pub fn describe_package_version(
    cx: &Cx<'_>,
    input: DescribePackageVersionRequest,
) -> Result<DescribePackageVersionResult, ApiError> {
    let t = version_target(cx, &input, Operation::DescribePackageVersion)?;
    let package = cx.app.registry.package(&t.repo, &t.package)?;
    let v = cx.app.registry.version(&t.repo, &t.package, &t.version)?;
    let display_name = match (&package.namespace, package.format.as_str()) {
        (Some(ns), "npm") => format!("@{ns}/{}", package.name),
        _ => package.display_name.clone(),
    };
    let m = &v.metadata;
    Ok(DescribePackageVersionResult {
        package_version: PackageVersionDescription {
            format: format_of(&package.format),
            namespace: package.namespace.clone(),
            package_name: Some(package.name.clone()),
            display_name: Some(display_name),
            version: Some(v.version.clone()),
            summary: m.summary.clone(),
            home_page: m.home_page.clone(),
            source_code_repository: m.source_code_repository.clone(),
            published_time: Some(Timestamp::from_millis(v.published_ms)),
            licenses: (!m.licenses.is_empty()).then(|| {
                m.licenses
                    .iter()
                    .map(|l| LicenseInfo {
                        name: l.name.clone(),
                        url: l.url.clone(),
                    })
                    .collect()
            }),
            revision: Some(v.revision.clone()),
            status: Some(status_of(v.status)),
            origin: Some(origin_of(&v.origin)),
        },
    })
}

pub fn list_package_versions(
    cx: &Cx<'_>,
    input: ListPackageVersionsRequest,
) -> Result<ListPackageVersionsResult, ApiError> {
    let d = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    let p = package_id(input.format, input.namespace, &input.package)?;
    let repo = package_repository(cx, Operation::ListPackageVersions, d, &input.repository, &p)?;
    let after = pagination::decode::<ListPackageVersionsRequest>(input.next_token.as_deref())?;
    let package = cx.app.registry.package(&repo, &p)?;
    // npm: the version tagged `latest`; otherwise the newest published version.
    let tagged_latest = match package.dist_tags.get("latest") {
        Some(latest) => match cx.app.registry.version(&repo, &p, latest) {
            Ok(v) => (&v.version == latest).then_some(v.version),
            Err(crate::registry::Error::NotFound { .. }) => None,
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let default_display_version = match tagged_latest {
        Some(latest) => Some(latest),
        None => cx.app.registry.newest_published_version(&repo, &p)?,
    };
    let wanted_status = match input.status {
        Some(status) => match status_from(status) {
            Some(s) => Some(s),
            // No stored version is ever Deleted.
            None => return Ok(empty_versions(&p, default_display_version)),
        },
        None => None,
    };
    let wanted = |v: &VersionSummary| {
        wanted_status.is_none_or(|s| s == v.status)
            && input
                .origin_type
                .is_none_or(|o| origin_type_of(&v.origin) == o)
    };
    let filtered = wanted_status.is_some() || input.origin_type.is_some();
    let keep: Option<&dyn Fn(&VersionSummary) -> bool> = filtered.then_some(&wanted);
    // Newest first, from the store's version-order index: a page costs its page. The
    // token holds the position of the page's last version.
    let page = cx.app.registry.versions_page(
        &repo,
        &p,
        after.as_deref(),
        pagination::page_size(input.max_results),
        keep,
    )?;
    let next_token = page
        .next
        .as_deref()
        .map(pagination::encode::<ListPackageVersionsRequest>);
    let page = page.versions;
    Ok(ListPackageVersionsResult {
        default_display_version,
        format: format_of(&p.format),
        namespace: p.namespace.clone(),
        package: Some(p.name.clone()),
        versions: Some(
            page.iter()
                .map(|v| PackageVersionSummary {
                    version: v.version.clone(),
                    revision: Some(v.revision.clone()),
                    status: status_of(v.status),
                    origin: Some(origin_of(&v.origin)),
                })
                .collect(),
        ),
        next_token,
    })
}

fn empty_versions(
    p: &PackageId,
    default_display_version: Option<String>,
) -> ListPackageVersionsResult {
    ListPackageVersionsResult {
        default_display_version,
        format: format_of(&p.format),
        namespace: p.namespace.clone(),
        package: Some(p.name.clone()),
        versions: Some(Vec::new()),
        next_token: None,
    }
}

pub fn list_package_version_assets(
    cx: &Cx<'_>,
    input: ListPackageVersionAssetsRequest,
) -> Result<ListPackageVersionAssetsResult, ApiError> {
    let t = version_target(cx, &input, Operation::ListPackageVersionAssets)?;
    let v = cx.app.registry.version(&t.repo, &t.package, &t.version)?;
    let after = pagination::decode::<ListPackageVersionAssetsRequest>(input.next_token.as_deref())?;
    let d = t.repo.domain_id();
    let mut items = Vec::with_capacity(v.assets.len());
    for asset in &v.assets {
        let blob = cx.app.registry.blob(d, &asset.sha256)?;
        items.push((asset.name.clone(), asset_summary(asset, blob.as_ref())));
    }
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let page = crate::registry::paginate(
        items,
        after.as_deref(),
        pagination::page_size(input.max_results),
    );
    Ok(ListPackageVersionAssetsResult {
        format: format_of(&t.package.format),
        namespace: t.package.namespace.clone(),
        package: Some(t.package.name.clone()),
        version: Some(v.version.clone()),
        version_revision: Some(v.revision.clone()),
        assets: Some(page.items),
        next_token: page
            .next_after
            .as_deref()
            .map(pagination::encode::<ListPackageVersionAssetsRequest>),
    })
}

pub fn list_package_version_dependencies(
    cx: &Cx<'_>,
    input: ListPackageVersionDependenciesRequest,
) -> Result<ListPackageVersionDependenciesResult, ApiError> {
    let t = version_target(cx, &input, Operation::ListPackageVersionDependencies)?;
    let v = cx.app.registry.version(&t.repo, &t.package, &t.version)?;
    let after =
        pagination::decode::<ListPackageVersionDependenciesRequest>(input.next_token.as_deref())?;
    let items: Vec<(String, PackageDependency)> = v
        .metadata
        .dependencies
        .iter()
        .enumerate()
        .map(|(i, dep)| {
            (
                format!("{i:010}"),
                PackageDependency {
                    namespace: dep.namespace.clone(),
                    package: Some(dep.package.clone()),
                    dependency_type: dep.dependency_type.clone(),
                    version_requirement: dep.version_requirement.clone(),
                },
            )
        })
        .collect();
    let page = crate::registry::paginate(items, after.as_deref(), pagination::DEFAULT_PAGE_SIZE);
    Ok(ListPackageVersionDependenciesResult {
        format: format_of(&t.package.format),
        namespace: t.package.namespace.clone(),
        package: Some(t.package.name.clone()),
        version: Some(v.version.clone()),
        version_revision: Some(v.revision.clone()),
        dependencies: Some(page.items),
        next_token: page
            .next_after
            .as_deref()
            .map(pagination::encode::<ListPackageVersionDependenciesRequest>),
    })
}

pub fn get_package_version_readme(
    cx: &Cx<'_>,
    input: GetPackageVersionReadmeRequest,
) -> Result<GetPackageVersionReadmeResult, ApiError> {
    let t = version_target(cx, &input, Operation::GetPackageVersionReadme)?;
    let v = cx.app.registry.version(&t.repo, &t.package, &t.version)?;
    Ok(GetPackageVersionReadmeResult {
        format: format_of(&t.package.format),
        namespace: t.package.namespace.clone(),
        package: Some(t.package.name.clone()),
        version: Some(v.version.clone()),
        version_revision: Some(v.revision.clone()),
        readme: v.metadata.readme.clone(),
    })
}

fn batch_output(
    result: BatchResult,
) -> (
    BTreeMap<String, SuccessfulPackageVersionInfo>,
    BTreeMap<String, PackageVersionError>,
) {
    let successful = result
        .successful
        .into_iter()
        .map(|(version, (revision, status))| {
            let status = PackageVersionStatus::ALL
                .iter()
                .copied()
                .find(|s| s.as_str() == status);
            (
                version,
                SuccessfulPackageVersionInfo {
                    revision: Some(revision),
                    status,
                },
            )
        })
        .collect();
    let failed = result
        .failed
        .into_iter()
        .map(|(version, (code, message))| {
            let code = PackageVersionErrorCode::ALL
                .iter()
                .copied()
                .find(|c| c.as_str() == code);
            (
                version,
                PackageVersionError {
                    error_code: code,
                    error_message: Some(message),
                },
            )
        })
        .collect();
    (successful, failed)
}

fn normalised_versions(format: PackageFormat, versions: &[String]) -> Vec<String> {
    versions.iter().map(|v| version_name(format, v)).collect()
}

fn normalised_revisions(
    format: PackageFormat,
    revisions: Option<BTreeMap<String, String>>,
) -> Option<BTreeMap<String, String>> {
    revisions.map(|map| {
        map.into_iter()
            .map(|(v, r)| (version_name(format, &v), r))
            .collect()
    })
}

pub fn update_package_versions_status(
    cx: &Cx<'_>,
    input: UpdatePackageVersionsStatusRequest,
) -> Result<UpdatePackageVersionsStatusResult, ApiError> {
    let target = match input.target_status {
        PackageVersionStatus::Published => VersionStatus::Published,
        PackageVersionStatus::Unlisted => VersionStatus::Unlisted,
        PackageVersionStatus::Archived => VersionStatus::Archived,
        other => {
            return Err(ApiError::invalid(format!(
                "targetStatus {other} is not allowed; use Published, Unlisted or Archived"
            )))
        }
    };
    let d = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    let p = package_id(input.format, input.namespace, &input.package)?;
    let repo = package_repository(
        cx,
        Operation::UpdatePackageVersionsStatus,
        d,
        &input.repository,
        &p,
    )?;
    let revisions = normalised_revisions(input.format, input.version_revisions);
    let change = VersionChange {
        action: VersionAction::SetStatus(target),
        expected_status: expected(input.expected_status)?,
        revisions: revisions.as_ref(),
    };
    let (result, _) = cx.app.registry.change_versions(
        &repo,
        &p,
        &normalised_versions(input.format, &input.versions),
        change,
    )?;
    let (successful, failed) = batch_output(result);
    Ok(UpdatePackageVersionsStatusResult {
        successful_versions: Some(successful),
        failed_versions: Some(failed),
    })
}

/// `expectedStatus` as a stored status; `Deleted` can never match a stored version.
fn expected(status: Option<PackageVersionStatus>) -> Result<Option<VersionStatus>, ApiError> {
    match status {
        None => Ok(None),
        Some(s) => status_from(s).map(Some).ok_or_else(|| {
            ApiError::invalid("expectedStatus Deleted can never match a stored version")
        }),
    }
}

pub fn dispose_package_versions(
    cx: &Cx<'_>,
    input: DisposePackageVersionsRequest,
) -> Result<DisposePackageVersionsResult, ApiError> {
    let d = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    let p = package_id(input.format, input.namespace, &input.package)?;
    let repo = package_repository(
        cx,
        Operation::DisposePackageVersions,
        d,
        &input.repository,
        &p,
    )?;
    let revisions = normalised_revisions(input.format, input.version_revisions);
    let change = VersionChange {
        action: VersionAction::Dispose,
        expected_status: expected(input.expected_status)?,
        revisions: revisions.as_ref(),
    };
    let (result, _) = cx.app.registry.change_versions(
        &repo,
        &p,
        &normalised_versions(input.format, &input.versions),
        change,
    )?;
    let (successful, failed) = batch_output(result);
    Ok(DisposePackageVersionsResult {
        successful_versions: Some(successful),
        failed_versions: Some(failed),
    })
}

pub fn delete_package_versions(
    cx: &Cx<'_>,
    input: DeletePackageVersionsRequest,
) -> Result<DeletePackageVersionsResult, ApiError> {
    let d = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    let p = package_id(input.format, input.namespace, &input.package)?;
    let repo = package_repository(
        cx,
        Operation::DeletePackageVersions,
        d,
        &input.repository,
        &p,
    )?;
    let change = VersionChange {
        action: VersionAction::Delete,
        expected_status: expected(input.expected_status)?,
        revisions: None,
    };
    let (result, _) = cx.app.registry.change_versions(
        &repo,
        &p,
        &normalised_versions(input.format, &input.versions),
        change,
    )?;
    let (successful, failed) = batch_output(result);
    Ok(DeletePackageVersionsResult {
        successful_versions: Some(successful),
        failed_versions: Some(failed),
    })
}

pub fn copy_package_versions(
    cx: &Cx<'_>,
    input: CopyPackageVersionsRequest,
) -> Result<CopyPackageVersionsResult, ApiError> {
    let versions: Vec<(String, Option<String>)> = match (input.versions, input.version_revisions) {
        (Some(versions), None) => versions
            .iter()
            .map(|v| (version_name(input.format, v), None))
            .collect(),
        (None, Some(revisions)) => revisions
            .into_iter()
            .map(|(v, r)| (version_name(input.format, &v), Some(r)))
            .collect(),
        _ => {
            return Err(ApiError::invalid(
                "Exactly one of versions and versionRevisions must be specified",
            ))
        }
    };
    if versions.len() > 100 {
        return Err(ApiError::invalid(
            "At most 100 versions can be copied in one request",
        ));
    }
    if input.source_repository == input.destination_repository {
        return Err(ApiError::invalid(
            "The source and destination repositories must be different",
        ));
    }
    let d: DomainId<'_> = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    let p = package_id(input.format, input.namespace, &input.package)?;
    let subject = Subject {
        source: Some(&input.source_repository),
        ..Subject::package(d, &input.destination_repository, &p)
    };
    cx.authorize(Operation::CopyPackageVersions, &subject)?;
    let source = cx.app.registry.repository(d, &input.source_repository)?;
    let destination = cx
        .app
        .registry
        .repository(d, &input.destination_repository)?;
    let mut unique: Vec<(String, Option<String>)> = Vec::new();
    for (v, r) in versions {
        if !unique.iter().any(|(u, _)| u == &v) {
            unique.push((v, r));
        }
    }
    let request = CopyRequest {
        versions: unique
            .iter()
            .map(|(v, r)| (v.clone(), r.as_ref()))
            .collect(),
        allow_overwrite: input.allow_overwrite.unwrap_or(false),
        include_from_upstream: input.include_from_upstream.unwrap_or(false),
    };
    let registry = &cx.app.registry;
    // The source itself was searched already; this walks its upstream graph, where origin
    // controls do not apply to copies.
    let find_upstream = |version: &str| {
        Ok(registry
            .find_for_copy(&source, &p, version)?
            .map(|found| found.version))
    };
    let (result, _) = registry.copy_versions(&source, &destination, &p, &request, find_upstream)?;
    let (successful, failed) = batch_output(result);
    Ok(CopyPackageVersionsResult {
        successful_versions: Some(successful),
        failed_versions: Some(failed),
    })
}
