//! The domain model: domains, repositories, policies, package groups and tags, and the rules
//! that govern them. This is the only code that changes state; it knows nothing of HTTP or of
//! the wire shapes, and storage (`store`) is private to it.
//!
//! Every write is one `write::WriteTx`: it holds the one write lock from `begin_write` to
//! `commit`, and commits one atomic, durable batch (with the blob reference counts and events
//! the change implies), so a check-then-write (e.g. "name not taken, then create") cannot
//! race, and a crash never leaves half a change.

mod arn;
mod blob_refs;
mod bulk;
mod changes;
mod domains;
pub mod groups;
pub mod names;
mod package_groups;
mod packages;
mod policies;
mod repositories;
mod resolve;
pub mod snapshot;
mod store;
mod tags;
#[cfg(test)]
mod tests;
mod versions;
mod write;

pub use arn::{Arn, ResourceRef};
pub use bulk::Import;
pub use changes::{ChangeSink, VersionChangeEvent, VersionOperation, EVENTS_RETAINED};
pub use domains::{DomainStats, ROOT_PACKAGE_GROUP};
pub use package_groups::{GroupSet, OriginUpdate};
pub use packages::{Origins, PackageFilter, PackageId, VersionsPage};
pub use policies::PolicyTarget;
pub use repositories::{external_connection_format, RepositoryUpdate, EXTERNAL_CONNECTIONS};
pub use resolve::{ExternalPackage, ExternalSource, ExternalVersion, Found, Merged};
pub use store::blobs::{stream_into, StagedBlob, StreamError, Upload};
pub use store::{
    AssetRef, BlobRecord, Dependency, License, Origin, PackageRecord, UsageRecord, VersionMetadata,
    VersionRecord, VersionStatus, VersionSummary,
};
pub use store::{
    DomainRecord, PackageGroupRecord, PolicyRecord, RepositoryRecord, StoreError, TagsRecord,
    UpstreamRef,
};
pub use versions::{
    BatchResult, CopyRequest, NewAsset, Publish, Published, VersionAction, VersionChange,
};

use crate::clock::Clock;
use std::path::Path;
use std::sync::Arc;
use store::Key;

/// Limits the service enforces; AWS's defaults, adjustable by configuration.
#[derive(Debug, Clone)]
pub struct Quotas {
    pub domains_per_account: usize,
    pub repositories_per_domain: usize,
    pub upstreams_per_repository: usize,
    pub tags_per_resource: usize,
    pub assets_per_version: usize,
    /// Largest asset accepted, in bytes (AWS: 5 GiB).
    pub asset_size_bytes: u64,
    /// Space that must stay free on the data directory's file system; below it writes are
    /// refused as an exceeded quota (0: no watermark).
    pub min_free_bytes: u64,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas {
            domains_per_account: 10,
            repositories_per_domain: 1000,
            upstreams_per_repository: 10,
            tags_per_resource: 50,
            assets_per_version: 350,
            asset_size_bytes: 5 * 1024 * 1024 * 1024,
            min_free_bytes: 0,
        }
    }
}

/// The kind of resource an error is about, as the service names it in `resourceType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    Domain,
    Repository,
    Package,
    PackageVersion,
    Asset,
    /// Package groups and policies have no `resourceType` value in the model.
    Unnamed,
}

/// Why a registry operation was refused. The API layer maps each to the AWS error.
#[derive(Debug)]
pub enum Error {
    NotFound {
        kind: ResourceKind,
        id: String,
        message: String,
    },
    Conflict {
        kind: ResourceKind,
        id: String,
        message: String,
    },
    QuotaExceeded {
        kind: ResourceKind,
        id: String,
        message: String,
    },
    /// Input that passed the model's constraints but breaks a service rule.
    Invalid(String),
    Store(StoreError),
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::Store(e)
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Who is acting and where: the verified caller's account and the request's region.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub region: &'a str,
    pub account: &'a str,
}

/// A domain addressed by region, owner and name.
#[derive(Debug, Clone, Copy)]
pub struct DomainId<'a> {
    pub region: &'a str,
    pub owner: &'a str,
    pub name: &'a str,
}

/// A page of a listing, with the sort key of its last item when more follow.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_after: Option<String>,
}

/// Paginates an already sorted list of (sort key, item) pairs.
pub fn paginate<T>(sorted: Vec<(String, T)>, after: Option<&str>, max: usize) -> Page<T> {
    let mut rest = sorted
        .into_iter()
        .skip_while(|(key, _)| after.is_some_and(|a| key.as_str() <= a))
        .peekable();
    let mut items = Vec::new();
    let mut last = None;
    while items.len() < max {
        match rest.next() {
            Some((key, item)) => {
                last = Some(key);
                items.push(item);
            }
            None => break,
        }
    }
    let next_after = if rest.peek().is_some() { last } else { None };
    Page { items, next_after }
}

/// The registry: state and rules, over a durable store.
pub struct Registry {
    /// Reads; writes go through `begin_write`.
    kv: store::Reader,
    blobs: store::blobs::BlobStore,
    /// The write lock and the store's one committer (shared with event delivery).
    writer: Arc<write::Writer>,
    clock: Arc<Clock>,
    pub quotas: Quotas,
    /// Where an in-memory registry keeps its blobs; removed with it.
    #[cfg(test)]
    _scratch: Option<tempfile::TempDir>,
    /// Resource policies as parsed for evaluation, by revision (every put makes a new one).
    parsed_policies: policies::ParsedPolicies,
}

impl Registry {
    /// Opens (or creates) the store in `dir`, refusing one written with an unknown schema.
    pub fn open(dir: &Path, clock: Arc<Clock>, quotas: Quotas) -> Result<Registry> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError(format!("cannot create {}: {e}", dir.display())))?;
        let (reader, committer) = store::open(dir)?;
        Registry::over(reader, committer, dir, clock, quotas)
    }

    /// A registry whose records live in memory only (`MemKv`) and whose blobs live in a
    /// temporary directory removed with it: the registry's rules, tested in-process.
    #[cfg(test)]
    pub(crate) fn in_memory(clock: Arc<Clock>, quotas: Quotas) -> Registry {
        let scratch = tempfile::tempdir().expect("a temporary directory for blobs");
        let (reader, committer) = store::in_memory();
        let mut registry = Registry::over(reader, committer, scratch.path(), clock, quotas)
            .expect("an in-memory registry opens");
        registry._scratch = Some(scratch);
        registry
    }

    /// A registry over an opened store, with its blobs under `blob_dir`.
    fn over(
        reader: store::Reader,
        committer: store::Committer,
        blob_dir: &Path,
        clock: Arc<Clock>,
        quotas: Quotas,
    ) -> Result<Registry> {
        let space = store::space::Space::new(blob_dir, quotas.min_free_bytes);
        let blobs = store::blobs::BlobStore::open(blob_dir, space).map_err(|e| {
            StoreError(format!(
                "cannot open the blob store in {}: {e}",
                blob_dir.display()
            ))
        })?;
        let writer =
            write::Writer::new(committer, reader.clone(), blobs.clone(), Arc::clone(&clock));
        let registry = Registry {
            kv: reader,
            blobs,
            writer: Arc::new(writer),
            clock,
            quotas,
            #[cfg(test)]
            _scratch: None,
            parsed_policies: policies::ParsedPolicies::default(),
        };
        registry.check_schema()?;
        registry.collect_garbage();
        Ok(registry)
    }

    /// Removes blob files that no committed record references (a crash between placing a
    /// blob and committing its version, or between a commit and the file's removal).
    fn collect_garbage(&self) {
        let removed = self.blobs.collect_garbage(|region, owner, domain, sha256| {
            !matches!(
                self.kv
                    .get::<BlobRecord>(&Key::blob(region, owner, domain, sha256)),
                Ok(None)
            )
        });
        if removed > 0 {
            tracing::info!(removed, "removed unreferenced blobs");
        }
    }

    /// Changes with every committed write: views derived from the store (such as a rendered
    /// npm packument) are current while it has not moved.
    pub fn generation(&self) -> u64 {
        self.kv.generation()
    }

    /// Starts a streamed upload of asset bytes into the blob store's staging area.
    pub fn upload(&self) -> std::io::Result<Upload> {
        self.blobs.upload()
    }

    /// Stages bytes already in memory (fetched from upstream, or a small document).
    pub fn stage_bytes(&self, bytes: &[u8]) -> std::io::Result<StagedBlob> {
        let mut upload = self.blobs.upload()?;
        upload.write(bytes)?;
        upload.finish()
    }

    fn check_schema(&self) -> Result<()> {
        match self.kv.get::<store::SchemaRecord>(&Key::schema())? {
            Some(s) if s.version == store::SCHEMA_VERSION => Ok(()),
            Some(s) if s.version == store::SCHEMA_WITHOUT_ORDER => {
                let started = std::time::Instant::now();
                let versions = self.writer.rebuild_version_order()?;
                tracing::info!(
                    versions,
                    millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                    "upgraded the store to schema {}: built its version-order index",
                    store::SCHEMA_VERSION
                );
                self.write_schema()
            }
            Some(s) => Err(Error::Store(StoreError(format!(
                "the store has schema version {} but this build understands only {}; \
                 use a matching codeartifact-local or a new data directory",
                s.version,
                store::SCHEMA_VERSION
            )))),
            None => self.write_schema(),
        }
    }

    /// Marks the store as of this build's schema.
    fn write_schema(&self) -> Result<()> {
        let mut tx = self.begin_write();
        tx.put(
            &Key::schema(),
            &store::SchemaRecord {
                version: store::SCHEMA_VERSION,
            },
        );
        tx.commit()
    }

    fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}
