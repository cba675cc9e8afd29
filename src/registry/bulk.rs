//! Bulk import: many versions in one commit. For building large states quickly
//! (`benches/scale.rs` builds 100,000 and 1,000,000 versions with it): a publish commits,
//! and so flushes the store, once per version, which is what a client waits for but not
//! what a benchmark's set-up should pay a million times.
//!
//! The versions go through the same rules a commit always applies (the write lock, blob
//! reference counts and domain usage, events while they are delivered), as one atomic
//! batch: all of them, or none.

use super::packages::Origins;
use super::store::blobs::StagedBlob;
use super::store::{Key, RepoPath};
use super::versions::revision_of;
use super::{
    BlobRecord, Error, PackageId, PackageRecord, Registry, RepositoryRecord, ResourceKind, Result,
    VersionRecord,
};
use std::collections::BTreeSet;

/// One version to import: its package and the record as it is to be stored. Its assets
/// must name blobs the domain already stores, or blobs passed with the import.
#[derive(Debug, Clone)]
pub struct Import {
    pub package: PackageId,
    pub display_name: String,
    pub version: VersionRecord,
}

impl Registry {
    /// Writes every version of `items` into `repo` in one commit, creating their packages
    /// (with the origin controls of a direct publish) as needed, and places `staged` blobs
    /// that the versions reference. A version that already exists, or an asset naming a
    /// blob the domain does not store, refuses the whole import. Returns the number of
    /// versions written.
    pub fn import_versions(
        &self,
        repo: &RepositoryRecord,
        staged: Vec<StagedBlob>,
        items: Vec<Import>,
    ) -> Result<usize> {
        let d = repo.domain_id();
        let path = RepoPath::from(repo);
        let mut tx = self.begin_write();
        self.repository(d, &repo.name)?;
        let mut known: BTreeSet<String> =
            staged.iter().map(|b| b.digests().sha256.clone()).collect();
        let mut packages: BTreeSet<Key> = BTreeSet::new();
        let mut versions: BTreeSet<Key> = BTreeSet::new();
        let count = items.len();
        for Import {
            package,
            display_name,
            mut version,
        } in items
        {
            let version_key = package.version_key(&path, &version.version);
            if !versions.insert(version_key.clone())
                || self.kv.get::<VersionRecord>(&version_key)?.is_some()
            {
                return Err(Error::Conflict {
                    kind: ResourceKind::PackageVersion,
                    id: version.version.clone(),
                    message: format!(
                        "Package version '{}' of package '{}' already exists in repository '{}'",
                        version.version,
                        package.display(),
                        repo.name
                    ),
                });
            }
            for asset in &version.assets {
                if !known.contains(&asset.sha256) {
                    if self.blob(d, &asset.sha256)?.is_none() {
                        return Err(Error::Invalid(format!(
                            "Asset '{}' of version '{}' names a blob the domain does not store",
                            asset.name, version.version
                        )));
                    }
                    known.insert(asset.sha256.clone());
                }
                tx.add_reference(d, &asset.sha256);
            }
            version.revision = revision_of(&version.assets, &version.metadata);
            let package_key = package.key(&path);
            if packages.insert(package_key.clone())
                && self.kv.get::<PackageRecord>(&package_key)?.is_none()
            {
                let record = PackageRecord::new(
                    &package,
                    &display_name,
                    Origins::DIRECT_PUBLISH,
                    version.published_ms,
                );
                tx.put(&package_key, &record);
            }
            tx.put(&version_key, &version);
        }
        for blob in staged {
            if tx.gains_reference(d, &blob.digests().sha256) {
                let _: BlobRecord = tx.store_blob(d, blob)?;
            }
        }
        tx.commit()?;
        Ok(count)
    }
}
