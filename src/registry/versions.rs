//! Changing versions: publishing assets, editing several versions at once, the version
//! lifecycle (status changes, dispose, delete) and copies, with the service's all-or-nothing
//! batch semantics. Every change is one write transaction, whose commit also counts the
//! blob references the versions gained or lost.

use super::packages::{package_not_found, Origins};
use super::store::blobs::StagedBlob;
use super::store::{Key, RepoPath};
use super::write::WriteTx;
use super::{
    AssetRef, BlobRecord, Error, Origin, PackageId, PackageRecord, Registry, RepositoryRecord,
    ResourceKind, Result, VersionMetadata, VersionRecord, VersionStatus,
};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Versions a batch changed: each as it was, and as it is now (`None` once deleted).
pub type Changed = Vec<(VersionRecord, Option<VersionRecord>)>;

/// One asset to publish into a version.
#[derive(Debug)]
pub struct NewAsset {
    pub name: String,
    pub blob: StagedBlob,
    /// Per-file facts the format keeps (see `AssetRef::properties`).
    pub properties: BTreeMap<String, String>,
}

impl NewAsset {
    /// An asset with no per-file properties.
    pub fn new(name: impl Into<String>, blob: StagedBlob) -> NewAsset {
        NewAsset {
            name: name.into(),
            blob,
            properties: BTreeMap::new(),
        }
    }
}

/// A direct publish of one asset (PublishPackageVersion and the package managers).
pub struct Publish<'a> {
    pub package: &'a PackageId,
    pub display_name: &'a str,
    pub version: &'a str,
    pub asset: NewAsset,
    /// Keep the version `Unfinished` so more assets may follow.
    pub unfinished: bool,
    /// Multi-file formats (PyPI): a new file may join a version that is already published.
    pub append: bool,
    pub metadata: Option<VersionMetadata>,
    /// npm dist-tags the publish sets (tag → version), committed with the version; empty
    /// leaves the package's tags alone.
    pub dist_tags: BTreeMap<String, String>,
}

/// What a publish produced.
#[derive(Debug, Clone)]
pub struct Published {
    pub version: VersionRecord,
    pub asset: AssetRef,
    pub blob: BlobRecord,
}

/// Result maps keyed by version, as the wire returns them.
#[derive(Debug, Default)]
pub struct BatchResult {
    pub successful: BTreeMap<String, (String, &'static str)>,
    pub failed: BTreeMap<String, (&'static str, String)>,
}

/// A revision identifies a version's assets and metadata: the same content always gives the
/// same revision, so copies and retained versions keep it.
pub(super) fn revision_of(assets: &[AssetRef], metadata: &VersionMetadata) -> String {
    let mut sorted: Vec<&AssetRef> = assets.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut hasher = Sha256::new();
    for asset in sorted {
        hasher.update(asset.name.as_bytes());
        hasher.update([0]);
        hasher.update(asset.sha256.as_bytes());
        hasher.update([0]);
    }
    hasher.update(serde_json::to_vec(metadata).unwrap_or_default());
    base64::engine::general_purpose::STANDARD.encode(hasher.finalize())
}

impl Registry {
    /// Publishes one asset into a version, creating the package and the version as needed,
    /// and sets the dist-tags the publish carries, all in one commit. `allowed` is the
    /// origin-control decision for a direct publish into this repository.
    pub fn publish(
        &self,
        repo: &RepositoryRecord,
        publish: Publish<'_>,
        allowed: impl Fn(Option<&PackageRecord>) -> bool,
    ) -> Result<Published> {
        let d = repo.domain_id();
        let path = RepoPath::from(repo);
        let p = publish.package;
        let mut tx = self.begin_write();
        // The repository may have been deleted while the upload streamed.
        self.repository(d, &repo.name)?;
        let existing_package: Option<PackageRecord> = self.kv.get(&p.key(&path))?;
        if !allowed(existing_package.as_ref()) {
            return Err(Error::Conflict {
                kind: ResourceKind::Package,
                id: p.name.clone(),
                message: format!(
                    "Publishing package '{}' to repository '{}' is blocked by its origin configuration",
                    p.display(),
                    repo.name
                ),
            });
        }
        let now = self.now_ms();
        let digests = publish.asset.blob.digests().clone();
        let asset = AssetRef {
            name: publish.asset.name.clone(),
            sha256: digests.sha256.clone(),
            size: publish.asset.blob.size(),
            properties: publish.asset.properties.clone(),
        };
        let version_key = p.version_key(&path, publish.version);
        let existing: Option<VersionRecord> = self.kv.get(&version_key)?;
        let mut version = match existing {
            None => VersionRecord {
                version: publish.version.to_string(),
                status: VersionStatus::Unfinished,
                revision: String::new(),
                origin: Origin::Internal { repository: repo.name.clone() },
                published_ms: now,
                assets: Vec::new(),
                metadata: publish.metadata.clone().unwrap_or_default(),
            },
            Some(v) if v.status == VersionStatus::Unfinished => v,
            Some(v)
                if publish.append
                    && matches!(v.status, VersionStatus::Published | VersionStatus::Unlisted) =>
            {
                v
            }
            Some(v) => {
                return Err(Error::Conflict {
                    kind: ResourceKind::PackageVersion,
                    id: v.version.clone(),
                    message: format!(
                        "Package version '{}' of package '{}' already exists in repository '{}' with status {}",
                        v.version,
                        p.display(),
                        repo.name,
                        v.status.as_str()
                    ),
                })
            }
        };
        match version.assets.iter().find(|a| a.name == asset.name) {
            Some(same) if same.sha256 == asset.sha256 => {}
            Some(_) => {
                return Err(Error::Conflict {
                    kind: ResourceKind::Asset,
                    id: asset.name.clone(),
                    message: format!(
                        "Asset '{}' already exists in version '{}' with different content",
                        asset.name, version.version
                    ),
                })
            }
            None => {
                if version.assets.len() >= self.quotas.assets_per_version {
                    return Err(Error::QuotaExceeded {
                        kind: ResourceKind::Asset,
                        id: asset.name.clone(),
                        message: format!(
                            "A package version can have at most {} assets",
                            self.quotas.assets_per_version
                        ),
                    });
                }
                version.assets.push(asset.clone());
                tx.add_reference(d, &asset.sha256);
            }
        }
        if let Some(metadata) = publish.metadata {
            version.metadata = metadata;
        }
        if !publish.unfinished && version.status == VersionStatus::Unfinished {
            version.status = VersionStatus::Published;
        }
        version.revision = revision_of(&version.assets, &version.metadata);
        let blob = tx.store_blob(d, publish.asset.blob)?;
        let package = match existing_package {
            None => Some(PackageRecord::new(
                p,
                publish.display_name,
                Origins::DIRECT_PUBLISH,
                now,
            )),
            Some(_) if publish.dist_tags.is_empty() => None,
            Some(existing) => Some(existing),
        };
        if let Some(mut package) = package {
            package.dist_tags.extend(publish.dist_tags);
            tx.put(&p.key(&path), &package);
        }
        tx.put(&version_key, &version);
        tx.commit()?;
        Ok(Published {
            version,
            asset,
            blob,
        })
    }

    /// Edits a package's versions in one repository as one atomic write (formats whose
    /// protocol changes several versions at once, such as Maven's metadata uploads). `edit`
    /// sees every stored version, keyed by version string, and may change statuses, assets
    /// and metadata or add versions. The bytes of new assets come in `staged`: those some
    /// version references afterwards are placed in the store before the metadata commits.
    /// Reference counts follow the assets each version gained or lost, and revisions follow
    /// assets and metadata. Nothing is written when `edit` fails.
    pub fn edit_versions<T>(
        &self,
        repo: &RepositoryRecord,
        p: &PackageId,
        staged: Vec<StagedBlob>,
        edit: impl FnOnce(&mut BTreeMap<String, VersionRecord>) -> Result<T>,
    ) -> Result<T> {
        let d = repo.domain_id();
        let path = RepoPath::from(repo);
        let mut tx = self.begin_write();
        self.repository(d, &repo.name)?;
        let before: BTreeMap<String, VersionRecord> = self
            .versions(repo, p)?
            .into_iter()
            .map(|v| (v.version.clone(), v))
            .collect();
        let mut after = before.clone();
        let out = edit(&mut after)?;
        for (key, version) in &mut after {
            let old = before.get(key);
            if old == Some(&*version) {
                continue;
            }
            version.revision = revision_of(&version.assets, &version.metadata);
            for asset in old.map_or(&[][..], |o| o.assets.as_slice()) {
                tx.remove_reference(d, &asset.sha256);
            }
            for asset in &version.assets {
                tx.add_reference(d, &asset.sha256);
            }
            tx.put(&p.version_key(&path, key), &*version);
        }
        for blob in staged {
            if tx.gains_reference(d, &blob.digests().sha256) {
                tx.store_blob(d, blob)?;
            }
        }
        tx.commit()?;
        Ok(out)
    }

    /// Deletes a package with all its versions; returns it as it was.
    pub fn delete_package(
        &self,
        repo: &RepositoryRecord,
        p: &PackageId,
    ) -> Result<(PackageRecord, Vec<VersionRecord>)> {
        let mut tx = self.begin_write();
        let record = self.package(repo, p)?;
        let path = RepoPath::from(repo);
        let versions = self.versions(repo, p)?;
        for v in &versions {
            tx.delete(&p.version_key(&path, &v.version));
            for asset in &v.assets {
                tx.remove_reference(repo.domain_id(), &asset.sha256);
            }
        }
        tx.delete(&p.key(&path));
        tx.commit()?;
        Ok((record, versions))
    }

    /// Deletes every package and version of a repository (the repository itself is deleted
    /// by the caller in the same transaction).
    pub(super) fn remove_repository_contents(
        &self,
        repo: &RepositoryRecord,
        tx: &mut WriteTx<'_>,
    ) -> Result<()> {
        let path = RepoPath::from(repo);
        for entry in self.kv.scan_raw(&Key::versions_in(&path)) {
            let (key, value) = entry?;
            let version: VersionRecord = serde_json::from_slice(&value)
                .map_err(|e| super::StoreError(format!("corrupt version record: {e}")))?;
            for asset in &version.assets {
                tx.remove_reference(repo.domain_id(), &asset.sha256);
            }
            tx.delete_raw(key);
        }
        for entry in self.kv.scan_raw(&Key::packages_in(&path)) {
            let (key, _) = entry?;
            tx.delete_raw(key);
        }
        Ok(())
    }

    /// Applies a batch status change: every version is checked first, and if any fails,
    /// the others are reported `SKIPPED` and nothing changes.
    pub fn change_versions(
        &self,
        repo: &RepositoryRecord,
        p: &PackageId,
        versions: &[String],
        change: VersionChange<'_>,
    ) -> Result<(BatchResult, Changed)> {
        let mut tx = self.begin_write();
        self.package(repo, p)?;
        let path = RepoPath::from(repo);
        let mut unique: Vec<&String> = Vec::new();
        for v in versions {
            if !unique.contains(&v) {
                unique.push(v);
            }
        }
        let mut result = BatchResult::default();
        let mut planned: Vec<(VersionRecord, Option<VersionRecord>)> = Vec::new();
        for version in unique {
            let current: Option<VersionRecord> = self.kv.get(&p.version_key(&path, version))?;
            let Some(current) = current else {
                result.failed.insert(
                    version.clone(),
                    ("NOT_FOUND", format!("Could not find version {version}")),
                );
                continue;
            };
            if let Some(expected) = change.expected_status {
                if current.status != expected {
                    result.failed.insert(
                        version.clone(),
                        (
                            "MISMATCHED_STATUS",
                            format!(
                                "current status: {}, expected status: {}",
                                current.status.as_str(),
                                expected.as_str()
                            ),
                        ),
                    );
                    continue;
                }
            }
            if let Some(expected) = change.revisions.and_then(|r| r.get(version.as_str())) {
                if &current.revision != expected {
                    result.failed.insert(
                        version.clone(),
                        (
                            "MISMATCHED_REVISION",
                            format!(
                                "current revision: {}, expected revision: {expected}",
                                current.revision
                            ),
                        ),
                    );
                    continue;
                }
            }
            let next = match change.action {
                VersionAction::SetStatus(target) => {
                    if current.status == VersionStatus::Disposed
                        && target != VersionStatus::Disposed
                    {
                        result.failed.insert(
                            version.clone(),
                            (
                                "NOT_ALLOWED",
                                format!(
                                    "Cannot change the status of version {version} from Disposed to {}",
                                    target.as_str()
                                ),
                            ),
                        );
                        continue;
                    }
                    let mut next = current.clone();
                    next.status = target;
                    Some(next)
                }
                VersionAction::Dispose => {
                    let mut next = current.clone();
                    next.status = VersionStatus::Disposed;
                    next.assets.clear();
                    Some(next)
                }
                VersionAction::Delete => None,
            };
            planned.push((current, next));
        }
        if !result.failed.is_empty() {
            for (current, _) in planned {
                let v = current.version;
                result
                    .failed
                    .insert(v.clone(), ("SKIPPED", format!("Version {v} was skipped")));
            }
            return Ok((result, Vec::new()));
        }
        for (current, next) in &planned {
            let key = p.version_key(&path, &current.version);
            match next {
                Some(next) => {
                    for asset in &current.assets {
                        if !next.assets.contains(asset) {
                            tx.remove_reference(repo.domain_id(), &asset.sha256);
                        }
                    }
                    tx.put(&key, next);
                    result.successful.insert(
                        current.version.clone(),
                        (next.revision.clone(), next.status.as_str()),
                    );
                }
                None => {
                    for asset in &current.assets {
                        tx.remove_reference(repo.domain_id(), &asset.sha256);
                    }
                    tx.delete(&key);
                    result.successful.insert(
                        current.version.clone(),
                        (current.revision.clone(), "Deleted"),
                    );
                }
            }
        }
        tx.commit()?;
        Ok((result, planned))
    }

    /// Copies versions of one package between repositories of a domain: references only,
    /// never bytes. All-or-nothing like the other batch operations.
    pub fn copy_versions(
        &self,
        source: &RepositoryRecord,
        destination: &RepositoryRecord,
        p: &PackageId,
        request: &CopyRequest<'_>,
        find_upstream: impl Fn(&str) -> Result<Option<VersionRecord>>,
    ) -> Result<(BatchResult, Vec<VersionRecord>)> {
        let mut tx = self.begin_write();
        let src = RepoPath::from(source);
        let dst = RepoPath::from(destination);
        let source_package: Option<PackageRecord> = self.kv.get(&p.key(&src))?;
        if source_package.is_none() && !request.include_from_upstream {
            return Err(package_not_found(p, &source.name));
        }
        let mut result = BatchResult::default();
        let mut planned: Vec<VersionRecord> = Vec::new();
        let mut found_any = source_package.is_some();
        for (version, expected_revision) in &request.versions {
            let mut found: Option<VersionRecord> = if source_package.is_some() {
                self.kv.get(&p.version_key(&src, version))?
            } else {
                None
            };
            if found.is_none() && request.include_from_upstream {
                found = find_upstream(version)?;
            }
            let Some(found) = found else {
                result.failed.insert(
                    version.clone(),
                    ("NOT_FOUND", format!("Could not find version {version}")),
                );
                continue;
            };
            found_any = true;
            if let Some(expected) = expected_revision {
                if &found.revision != *expected {
                    result.failed.insert(
                        version.clone(),
                        (
                            "MISMATCHED_REVISION",
                            format!(
                                "current revision: {}, expected revision: {expected}",
                                found.revision
                            ),
                        ),
                    );
                    continue;
                }
            }
            if matches!(
                found.status,
                VersionStatus::Unfinished | VersionStatus::Disposed
            ) {
                result.failed.insert(
                    version.clone(),
                    (
                        "NOT_ALLOWED",
                        format!(
                            "Version {version} has status {} and cannot be copied",
                            found.status.as_str()
                        ),
                    ),
                );
                continue;
            }
            let existing: Option<VersionRecord> = self.kv.get(&p.version_key(&dst, version))?;
            match existing {
                Some(existing) if existing.revision == found.revision => {
                    // Identical content: an idempotent no-op, reported in neither map.
                }
                Some(_) if !request.allow_overwrite => {
                    result.failed.insert(
                        version.clone(),
                        (
                            "ALREADY_EXISTS",
                            format!("Version {version} already exists"),
                        ),
                    );
                }
                _ => planned.push(found),
            }
        }
        if !found_any {
            return Err(package_not_found(p, &source.name));
        }
        if !result.failed.is_empty() {
            for v in planned {
                result.failed.insert(
                    v.version.clone(),
                    ("SKIPPED", format!("Version {} was skipped", v.version)),
                );
            }
            return Ok((result, Vec::new()));
        }
        let now = self.now_ms();
        // npm: every tag of the source aliasing a copied version comes along, replacing the
        // destination's value of that tag (user guide, "npm tags and CopyPackageVersions").
        let tags: Vec<(&String, &String)> = source_package
            .iter()
            .flat_map(|s| &s.dist_tags)
            .filter(|(_, v)| planned.iter().any(|c| &c.version == *v))
            .collect();
        let stored = self.kv.get::<PackageRecord>(&p.key(&dst))?;
        if !planned.is_empty() && (stored.is_none() || !tags.is_empty()) {
            let mut record = stored.unwrap_or_else(|| {
                let display_name = source_package
                    .as_ref()
                    .map_or_else(|| p.name.clone(), |s| s.display_name.clone());
                PackageRecord::new(p, &display_name, Origins::DIRECT_PUBLISH, now)
            });
            for (tag, version) in tags {
                record.dist_tags.insert(tag.clone(), version.clone());
            }
            tx.put(&p.key(&dst), &record);
        }
        let mut copied = Vec::new();
        for mut version in planned {
            let key = p.version_key(&dst, &version.version);
            if let Some(old) = self.kv.get::<VersionRecord>(&key)? {
                for asset in &old.assets {
                    tx.remove_reference(destination.domain_id(), &asset.sha256);
                }
            }
            for asset in &version.assets {
                tx.add_reference(destination.domain_id(), &asset.sha256);
            }
            version.published_ms = now;
            tx.put(&key, &version);
            result.successful.insert(
                version.version.clone(),
                (version.revision.clone(), version.status.as_str()),
            );
            copied.push(version);
        }
        tx.commit()?;
        Ok((result, copied))
    }
}

/// What a batch status operation does to each version.
#[derive(Debug, Clone, Copy)]
pub enum VersionAction {
    SetStatus(VersionStatus),
    Dispose,
    Delete,
}

/// A batch status operation's conditions and action.
#[derive(Debug, Clone, Copy)]
pub struct VersionChange<'a> {
    pub action: VersionAction,
    pub expected_status: Option<VersionStatus>,
    pub revisions: Option<&'a BTreeMap<String, String>>,
}

/// A copy request: versions with optional expected revisions.
#[derive(Debug)]
pub struct CopyRequest<'a> {
    pub versions: Vec<(String, Option<&'a String>)>,
    pub allow_overwrite: bool,
    pub include_from_upstream: bool,
}
