//! Packages and their versions in a repository: publishing assets into the domain's blob
//! store, describing and listing, origin configuration, and the version lifecycle (status
//! changes, dispose, delete, copy) with the service's all-or-nothing batch semantics.
//!
//! Asset bytes are shared by the whole domain: a version holds references (name, SHA-256),
//! each blob counts its references, and a blob is removed only when the last goes.

use super::store::{self, blobs::StagedBlob, Batch, Key, RepoPath};
use super::{
    AssetRef, BlobRecord, DomainId, Error, Origin, PackageRecord, Registry, RepositoryRecord,
    ResourceKind, Result, UsageRecord, VersionMetadata, VersionRecord, VersionStatus,
};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Versions a batch changed: each as it was, and as it is now (`None` once deleted).
pub type Changed = Vec<(VersionRecord, Option<VersionRecord>)>;

/// A package addressed in a repository, with normalised names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageId {
    pub format: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl PackageId {
    pub(super) fn key(&self, r: &RepoPath<'_>) -> Key {
        Key::package(r, &self.format, self.namespace.as_deref(), &self.name)
    }

    pub(super) fn version_key(&self, r: &RepoPath<'_>, version: &str) -> Key {
        Key::version(
            r,
            &self.format,
            self.namespace.as_deref(),
            &self.name,
            version,
        )
    }

    fn versions_prefix(&self, r: &RepoPath<'_>) -> Key {
        Key::versions_of(r, &self.format, self.namespace.as_deref(), &self.name)
    }

    /// How the service names the package in messages.
    pub fn display(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}/{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// A package's origin controls (`true` = ALLOW).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origins {
    pub publish: bool,
    pub upstream: bool,
}

impl Origins {
    /// The defaults when a package's first version is published directly.
    pub const DIRECT_PUBLISH: Origins = Origins {
        publish: true,
        upstream: false,
    };
    /// The defaults when its first version arrives from upstream or a public registry.
    pub const FROM_UPSTREAM: Origins = Origins {
        publish: false,
        upstream: true,
    };
}

impl PackageRecord {
    /// A new package record in a repository, with the origin controls it starts with.
    pub fn new(p: &PackageId, display_name: &str, origins: Origins, created_ms: i64) -> Self {
        PackageRecord {
            format: p.format.clone(),
            namespace: p.namespace.clone(),
            name: p.name.clone(),
            display_name: display_name.to_string(),
            allow_publish: origins.publish,
            allow_upstream: origins.upstream,
            created_ms,
            dist_tags: BTreeMap::new(),
        }
    }

    pub fn id(&self) -> PackageId {
        PackageId {
            format: self.format.clone(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        }
    }
}

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

/// Filters for listing packages.
#[derive(Debug, Default)]
pub struct PackageFilter<'a> {
    pub format: Option<&'a str>,
    pub namespace_prefix: Option<&'a str>,
    pub name_prefix: Option<&'a str>,
    pub publish: Option<bool>,
    pub upstream: Option<bool>,
}

fn package_not_found(p: &PackageId, repository: &str) -> Error {
    Error::NotFound {
        kind: ResourceKind::Package,
        id: p.name.clone(),
        message: format!(
            "Package not found. Package '{}' of format '{}' does not exist in repository '{repository}'",
            p.display(),
            p.format
        ),
    }
}

fn version_not_found(p: &PackageId, version: &str, repository: &str) -> Error {
    Error::NotFound {
        kind: ResourceKind::PackageVersion,
        id: version.to_string(),
        message: format!(
            "Package version not found. Version '{version}' of package '{}' does not exist in repository '{repository}'",
            p.display()
        ),
    }
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

/// Pending reference-count changes to blobs, applied in the same batch as the versions.
#[derive(Default)]
pub(super) struct BlobChanges {
    delta: BTreeMap<String, i64>,
    new_blobs: BTreeMap<String, BlobRecord>,
}

impl BlobChanges {
    pub(super) fn add(&mut self, sha256: &str) {
        *self.delta.entry(sha256.to_string()).or_default() += 1;
    }

    fn remove(&mut self, sha256: &str) {
        *self.delta.entry(sha256.to_string()).or_default() -= 1;
    }
}

impl Registry {
    /// The blob record of an asset (digests and size).
    pub fn blob(&self, d: DomainId<'_>, sha256: &str) -> Result<Option<BlobRecord>> {
        Ok(store::get(
            &*self.kv,
            &Key::blob(d.region, d.owner, d.name, sha256),
        )?)
    }

    /// The file holding an asset's bytes.
    pub fn blob_path(&self, d: DomainId<'_>, sha256: &str) -> PathBuf {
        self.blobs.path(d.region, d.owner, d.name, sha256)
    }

    /// Bytes of distinct assets a domain stores.
    pub(super) fn usage(&self, d: DomainId<'_>) -> Result<UsageRecord> {
        Ok(store::get(&*self.kv, &Key::usage(d.region, d.owner, d.name))?.unwrap_or_default())
    }

    /// Adds reference-count changes (and the blob records of new blobs) to a batch, and
    /// returns the blob files that lose their last reference (to remove after commit).
    fn stage_blob_changes(
        &self,
        d: DomainId<'_>,
        changes: BlobChanges,
        batch: &mut Batch,
    ) -> Result<Vec<PathBuf>> {
        let mut usage = self.usage(d)?;
        let mut freed = Vec::new();
        for (sha256, delta) in changes.delta {
            if delta == 0 {
                continue;
            }
            let key = Key::blob(d.region, d.owner, d.name, &sha256);
            let existing: Option<BlobRecord> = store::get(&*self.kv, &key)?;
            let mut record = match existing.or_else(|| changes.new_blobs.get(&sha256).cloned()) {
                Some(r) => r,
                None => continue,
            };
            let was = record.references;
            record.references =
                u64::try_from(i64::try_from(was).unwrap_or(i64::MAX) + delta).unwrap_or(0);
            if was == 0 && record.references > 0 {
                usage.asset_size_bytes += record.size;
            }
            if record.references == 0 {
                if was > 0 {
                    usage.asset_size_bytes = usage.asset_size_bytes.saturating_sub(record.size);
                }
                batch.delete(&key);
                freed.push(self.blob_path(d, &sha256));
            } else {
                batch.put(&key, &record);
            }
        }
        batch.put(&Key::usage(d.region, d.owner, d.name), &usage);
        Ok(freed)
    }

    pub(super) fn commit_with_blobs(
        &self,
        d: DomainId<'_>,
        mut batch: Batch,
        changes: BlobChanges,
    ) -> Result<()> {
        let freed = self.stage_blob_changes(d, changes, &mut batch)?;
        self.commit(batch)?;
        for path in freed {
            self.blobs.remove(&path);
        }
        Ok(())
    }

    pub fn package(&self, repo: &RepositoryRecord, p: &PackageId) -> Result<PackageRecord> {
        store::get(&*self.kv, &p.key(&RepoPath::from(repo)))?
            .ok_or_else(|| package_not_found(p, &repo.name))
    }

    pub fn version(
        &self,
        repo: &RepositoryRecord,
        p: &PackageId,
        version: &str,
    ) -> Result<VersionRecord> {
        self.package(repo, p)?;
        store::get(&*self.kv, &p.version_key(&RepoPath::from(repo), version))?
            .ok_or_else(|| version_not_found(p, version, &repo.name))
    }

    /// Places staged bytes in the domain's store (bytes before the metadata that references
    /// them) and returns their blob record, new ones also noted in `changes`.
    pub(super) fn store_blob(
        &self,
        d: DomainId<'_>,
        blob: StagedBlob,
        changes: &mut BlobChanges,
    ) -> Result<BlobRecord> {
        let digests = blob.digests().clone();
        let key = Key::blob(d.region, d.owner, d.name, &digests.sha256);
        let record = match store::get::<BlobRecord>(&*self.kv, &key)? {
            Some(existing) => existing,
            None => {
                let record = BlobRecord {
                    size: blob.size(),
                    md5: digests.md5,
                    sha1: digests.sha1,
                    sha256: digests.sha256.clone(),
                    sha512: digests.sha512,
                    references: 0,
                };
                changes
                    .new_blobs
                    .insert(digests.sha256.clone(), record.clone());
                record
            }
        };
        let target = self.blob_path(d, &digests.sha256);
        self.blobs
            .place(blob, &target)
            .map_err(|e| Error::Store(super::StoreError(format!("cannot store asset: {e}"))))?;
        Ok(record)
    }

    /// Publishes one asset into a version, creating the package and the version as needed.
    /// `allowed` is the origin-control decision for a direct publish into this repository.
    pub fn publish(
        &self,
        repo: &RepositoryRecord,
        publish: Publish<'_>,
        allowed: impl Fn(Option<&PackageRecord>) -> bool,
    ) -> Result<Published> {
        let d = repo.domain_id();
        let path = RepoPath::from(repo);
        let p = publish.package;
        let _guard = self.lock();
        // The repository may have been deleted while the upload streamed.
        self.repository(d, &repo.name)?;
        let existing_package: Option<PackageRecord> = store::get(&*self.kv, &p.key(&path))?;
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
        let existing: Option<VersionRecord> = store::get(&*self.kv, &version_key)?;
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
        let mut changes = BlobChanges::default();
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
                changes.add(&asset.sha256);
            }
        }
        if let Some(metadata) = publish.metadata {
            version.metadata = metadata;
        }
        if !publish.unfinished && version.status == VersionStatus::Unfinished {
            version.status = VersionStatus::Published;
        }
        version.revision = revision_of(&version.assets, &version.metadata);
        let blob = self.store_blob(d, publish.asset.blob, &mut changes)?;
        let mut batch = Batch::default();
        if existing_package.is_none() {
            batch.put(
                &p.key(&path),
                &PackageRecord::new(p, publish.display_name, Origins::DIRECT_PUBLISH, now),
            );
        }
        batch.put(&version_key, &version);
        self.commit_with_blobs(d, batch, changes)?;
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
        let _guard = self.lock();
        self.repository(d, &repo.name)?;
        let before: BTreeMap<String, VersionRecord> = self
            .versions(repo, p)?
            .into_iter()
            .map(|v| (v.version.clone(), v))
            .collect();
        let mut after = before.clone();
        let out = edit(&mut after)?;
        let mut changes = BlobChanges::default();
        let mut batch = Batch::default();
        for (key, version) in &mut after {
            let old = before.get(key);
            if old == Some(&*version) {
                continue;
            }
            version.revision = revision_of(&version.assets, &version.metadata);
            for asset in old.map_or(&[][..], |o| o.assets.as_slice()) {
                changes.remove(&asset.sha256);
            }
            for asset in &version.assets {
                changes.add(&asset.sha256);
            }
            batch.put(&p.version_key(&path, key), &*version);
        }
        for blob in staged {
            if changes
                .delta
                .get(&blob.digests().sha256)
                .is_some_and(|n| *n > 0)
            {
                self.store_blob(d, blob, &mut changes)?;
            }
        }
        self.commit_with_blobs(d, batch, changes)?;
        Ok(out)
    }

    /// Packages of a repository, ordered by format, namespace and name.
    pub fn list_packages(
        &self,
        repo: &RepositoryRecord,
        filter: &PackageFilter<'_>,
        after: Option<&str>,
        max: usize,
    ) -> Result<super::Page<PackageRecord>> {
        let mut items = Vec::new();
        for record in
            store::scan::<PackageRecord>(&*self.kv, &Key::packages_in(&RepoPath::from(repo)), None)
        {
            let record = record?;
            let keep = filter.format.is_none_or(|f| f == record.format)
                && filter.namespace_prefix.is_none_or(|prefix| {
                    record
                        .namespace
                        .as_deref()
                        .is_some_and(|ns| ns.starts_with(prefix))
                })
                && filter
                    .name_prefix
                    .is_none_or(|prefix| record.name.starts_with(prefix))
                && filter
                    .publish
                    .is_none_or(|allow| allow == record.allow_publish)
                && filter
                    .upstream
                    .is_none_or(|allow| allow == record.allow_upstream);
            if keep {
                let key = format!(
                    "{}\u{0}{}\u{0}{}",
                    record.format,
                    record.namespace.as_deref().unwrap_or(""),
                    record.name
                );
                items.push((key, record));
            }
        }
        Ok(super::paginate(items, after, max))
    }

    /// Every package of every repository in a domain (for package-group associations).
    pub fn packages_in_domain(&self, d: DomainId<'_>) -> Result<Vec<PackageRecord>> {
        store::scan::<PackageRecord>(
            &*self.kv,
            &Key::packages_in_domain(d.region, d.owner, d.name),
            None,
        )
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(Error::from)
    }

    /// All versions of a package (any status).
    pub fn versions(&self, repo: &RepositoryRecord, p: &PackageId) -> Result<Vec<VersionRecord>> {
        self.package(repo, p)?;
        store::scan::<VersionRecord>(&*self.kv, &p.versions_prefix(&RepoPath::from(repo)), None)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(Error::from)
    }

    /// Sets both origin controls, creating the package (with no versions) if needed.
    pub fn put_origin_configuration(
        &self,
        repo: &RepositoryRecord,
        p: &PackageId,
        display_name: &str,
        allow_publish: bool,
        allow_upstream: bool,
    ) -> Result<PackageRecord> {
        let _guard = self.lock();
        self.repository(repo.domain_id(), &repo.name)?;
        let key = p.key(&RepoPath::from(repo));
        let mut record = store::get::<PackageRecord>(&*self.kv, &key)?.unwrap_or_else(|| {
            let origins = Origins {
                publish: allow_publish,
                upstream: allow_upstream,
            };
            PackageRecord::new(p, display_name, origins, self.now_ms())
        });
        record.allow_publish = allow_publish;
        record.allow_upstream = allow_upstream;
        let mut batch = Batch::default();
        batch.put(&key, &record);
        self.commit(batch)?;
        Ok(record)
    }

    /// Deletes a package with all its versions; returns it as it was.
    pub fn delete_package(
        &self,
        repo: &RepositoryRecord,
        p: &PackageId,
    ) -> Result<(PackageRecord, Vec<VersionRecord>)> {
        let _guard = self.lock();
        let record = self.package(repo, p)?;
        let path = RepoPath::from(repo);
        let versions = self.versions(repo, p)?;
        let mut batch = Batch::default();
        let mut changes = BlobChanges::default();
        for v in &versions {
            batch.delete(&p.version_key(&path, &v.version));
            for asset in &v.assets {
                changes.remove(&asset.sha256);
            }
        }
        batch.delete(&p.key(&path));
        self.commit_with_blobs(repo.domain_id(), batch, changes)?;
        Ok((record, versions))
    }

    /// Deletes every package and version of a repository (the repository itself is deleted
    /// by the caller in the same batch).
    pub(super) fn stage_repository_contents_removal(
        &self,
        repo: &RepositoryRecord,
        batch: &mut Batch,
    ) -> Result<Vec<PathBuf>> {
        let path = RepoPath::from(repo);
        let mut changes = BlobChanges::default();
        for entry in self.kv.scan(Key::versions_in(&path).as_bytes(), None) {
            let (key, value) = entry?;
            let version: VersionRecord = serde_json::from_slice(&value)
                .map_err(|e| super::StoreError(format!("corrupt version record: {e}")))?;
            for asset in &version.assets {
                changes.remove(&asset.sha256);
            }
            batch.delete_raw(key);
        }
        for entry in self.kv.scan(Key::packages_in(&path).as_bytes(), None) {
            let (key, _) = entry?;
            batch.delete_raw(key);
        }
        self.stage_blob_changes(repo.domain_id(), changes, batch)
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
        let _guard = self.lock();
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
            let current: Option<VersionRecord> =
                store::get(&*self.kv, &p.version_key(&path, version))?;
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
        let mut batch = Batch::default();
        let mut changes = BlobChanges::default();
        for (current, next) in &planned {
            let key = p.version_key(&path, &current.version);
            match next {
                Some(next) => {
                    for asset in &current.assets {
                        if !next.assets.contains(asset) {
                            changes.remove(&asset.sha256);
                        }
                    }
                    batch.put(&key, next);
                    result.successful.insert(
                        current.version.clone(),
                        (next.revision.clone(), next.status.as_str()),
                    );
                }
                None => {
                    for asset in &current.assets {
                        changes.remove(&asset.sha256);
                    }
                    batch.delete(&key);
                    result.successful.insert(
                        current.version.clone(),
                        (current.revision.clone(), "Deleted"),
                    );
                }
            }
        }
        self.commit_with_blobs(repo.domain_id(), batch, changes)?;
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
        let _guard = self.lock();
        let src = RepoPath::from(source);
        let dst = RepoPath::from(destination);
        let source_package: Option<PackageRecord> = store::get(&*self.kv, &p.key(&src))?;
        if source_package.is_none() && !request.include_from_upstream {
            return Err(package_not_found(p, &source.name));
        }
        let mut result = BatchResult::default();
        let mut planned: Vec<VersionRecord> = Vec::new();
        let mut found_any = source_package.is_some();
        for (version, expected_revision) in &request.versions {
            let mut found: Option<VersionRecord> = if source_package.is_some() {
                store::get(&*self.kv, &p.version_key(&src, version))?
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
            let existing: Option<VersionRecord> =
                store::get(&*self.kv, &p.version_key(&dst, version))?;
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
        let mut batch = Batch::default();
        let mut changes = BlobChanges::default();
        if store::get::<PackageRecord>(&*self.kv, &p.key(&dst))?.is_none() && !planned.is_empty() {
            let display_name = source_package
                .as_ref()
                .map_or_else(|| p.name.clone(), |s| s.display_name.clone());
            batch.put(
                &p.key(&dst),
                &PackageRecord::new(p, &display_name, Origins::DIRECT_PUBLISH, now),
            );
        }
        let mut copied = Vec::new();
        for mut version in planned {
            let key = p.version_key(&dst, &version.version);
            if let Some(old) = store::get::<VersionRecord>(&*self.kv, &key)? {
                for asset in &old.assets {
                    changes.remove(&asset.sha256);
                }
            }
            for asset in &version.assets {
                changes.add(&asset.sha256);
            }
            version.published_ms = now;
            batch.put(&key, &version);
            result.successful.insert(
                version.version.clone(),
                (version.revision.clone(), version.status.as_str()),
            );
            copied.push(version);
        }
        self.commit_with_blobs(destination.domain_id(), batch, changes)?;
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
