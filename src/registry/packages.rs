//! Packages and their versions in a repository as records: package identity, origin
//! controls and their defaults, lookups and listings, and setting a package's origin
//! configuration. Changing versions is `versions`; counting blob references is `blob_refs`.

use super::store::{Key, RepoPath};
use super::{
    DomainId, Error, PackageRecord, Registry, RepositoryRecord, ResourceKind, Result,
    VersionRecord, VersionStatus, VersionSummary,
};
use std::collections::BTreeMap;

/// One page of a package's versions in listing order (newest published first, the version
/// string breaking ties), read from the store's version-order index.
#[derive(Debug)]
pub struct VersionsPage {
    pub versions: Vec<VersionSummary>,
    /// Where the next page starts (`Registry::versions_page`'s `after`), when more follow.
    pub next: Option<String>,
}

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

    fn version_order(&self, r: &RepoPath<'_>) -> Key {
        Key::version_order_of(r, &self.format, self.namespace.as_deref(), &self.name)
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

/// Filters for listing packages.
#[derive(Debug, Default)]
pub struct PackageFilter<'a> {
    pub format: Option<&'a str>,
    pub namespace_prefix: Option<&'a str>,
    pub name_prefix: Option<&'a str>,
    pub publish: Option<bool>,
    pub upstream: Option<bool>,
}

pub(super) fn package_not_found(p: &PackageId, repository: &str) -> Error {
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

pub(super) fn version_not_found(p: &PackageId, version: &str, repository: &str) -> Error {
    Error::NotFound {
        kind: ResourceKind::PackageVersion,
        id: version.to_string(),
        message: format!(
            "Package version not found. Version '{version}' of package '{}' does not exist in repository '{repository}'",
            p.display()
        ),
    }
}

impl Registry {
    pub fn package(&self, repo: &RepositoryRecord, p: &PackageId) -> Result<PackageRecord> {
        self.kv
            .get(&p.key(&RepoPath::from(repo)))?
            .ok_or_else(|| package_not_found(p, &repo.name))
    }

    pub fn version(
        &self,
        repo: &RepositoryRecord,
        p: &PackageId,
        version: &str,
    ) -> Result<VersionRecord> {
        self.package(repo, p)?;
        self.kv
            .get(&p.version_key(&RepoPath::from(repo), version))?
            .ok_or_else(|| version_not_found(p, version, &repo.name))
    }

    /// Packages of a repository, in key order (format, namespace, name). A page starts at
    /// the key after `after` and reads no further than its last item and the one after
    /// it, however many packages the repository holds.
    pub fn list_packages(
        &self,
        repo: &RepositoryRecord,
        filter: &PackageFilter<'_>,
        after: Option<&str>,
        max: usize,
    ) -> Result<super::Page<PackageRecord>> {
        let path = RepoPath::from(repo);
        let after_key = after.map(|after| {
            let mut parts = after.splitn(3, '\u{0}');
            let format = parts.next().unwrap_or_default();
            let namespace = parts.next().filter(|ns| !ns.is_empty());
            let name = parts.next().unwrap_or_default();
            Key::package(&path, format, namespace, name)
        });
        // Only the format's own keys when the listing names one.
        let prefix = filter.format.map_or_else(
            || Key::packages_in(&path),
            |format| Key::packages_of_format(&path, format),
        );
        let mut items = Vec::new();
        for record in self.kv.scan::<PackageRecord>(&prefix, after_key.as_ref()) {
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
                if items.len() > max {
                    break;
                }
            }
        }
        Ok(super::paginate(items, None, max))
    }

    /// Up to `max` packages of a repository in key order (format, namespace, name), from
    /// the one after `after` on: a seek into the store, so a page costs the same however
    /// many packages come before it (the web console's listings). `true` when more follow.
    pub fn packages_page(
        &self,
        repo: &RepositoryRecord,
        after: Option<&PackageId>,
        max: usize,
    ) -> Result<(Vec<PackageRecord>, bool)> {
        let path = RepoPath::from(repo);
        let after_key = after.map(|p| p.key(&path));
        let mut items = self
            .kv
            .scan::<PackageRecord>(&Key::packages_in(&path), after_key.as_ref())
            .take(max + 1)
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let more = items.len() > max;
        items.truncate(max);
        Ok((items, more))
    }

    /// Up to `max` packages of a repository whose name or namespace contains `needle`
    /// (ASCII case-insensitive), in key order; reads until it has found `max`.
    pub fn search_packages(
        &self,
        repo: &RepositoryRecord,
        needle: &str,
        max: usize,
    ) -> Result<Vec<PackageRecord>> {
        let needle = needle.to_ascii_lowercase();
        let hit = |r: &PackageRecord| {
            r.name.to_ascii_lowercase().contains(&needle)
                || r.display_name.to_ascii_lowercase().contains(&needle)
                || r.namespace
                    .as_deref()
                    .is_some_and(|ns| ns.to_ascii_lowercase().contains(&needle))
        };
        let mut out = Vec::new();
        for record in self
            .kv
            .scan::<PackageRecord>(&Key::packages_in(&RepoPath::from(repo)), None)
        {
            let record = record?;
            if hit(&record) {
                out.push(record);
                if out.len() >= max {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Every package of every repository in a domain (for package-group associations).
    pub fn packages_in_domain(&self, d: DomainId<'_>) -> Result<Vec<PackageRecord>> {
        self.kv
            .scan::<PackageRecord>(&Key::packages_in_domain(d.region, d.owner, d.name), None)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(Error::from)
    }

    /// All versions of a package (any status).
    pub fn versions(&self, repo: &RepositoryRecord, p: &PackageId) -> Result<Vec<VersionRecord>> {
        self.package(repo, p)?;
        self.kv
            .scan::<VersionRecord>(&p.versions_prefix(&RepoPath::from(repo)), None)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(Error::from)
    }

    /// Up to `max` of a package's versions that `keep` keeps (all without it), in listing
    /// order, starting after the position `after` (a previous page's `next`). A page reads
    /// its own entries of the version-order index and no others, however many versions
    /// the package has; with a filter, also the entries it skips. A position that names no
    /// version still starts where it would sort.
    pub fn versions_page(
        &self,
        repo: &RepositoryRecord,
        p: &PackageId,
        after: Option<&str>,
        max: usize,
        keep: Option<&dyn Fn(&VersionSummary) -> bool>,
    ) -> Result<VersionsPage> {
        let prefix = p.version_order(&RepoPath::from(repo));
        let after = after.map(|position| Key::version_order_at(&prefix, position));
        let mut versions = Vec::new();
        let mut more = false;
        for summary in self.kv.scan::<VersionSummary>(&prefix, after.as_ref()) {
            let summary = summary?;
            if keep.is_some_and(|keep| !keep(&summary)) {
                continue;
            }
            if versions.len() == max {
                more = true;
                break;
            }
            versions.push(summary);
        }
        let next = versions
            .last()
            .filter(|_| more)
            .map(|v| Key::version_order_position(v.published_ms, &v.version));
        Ok(VersionsPage { versions, next })
    }

    /// The most recently published version whose status is `Published`: the first such
    /// entry of the version-order index.
    pub fn newest_published_version(
        &self,
        repo: &RepositoryRecord,
        p: &PackageId,
    ) -> Result<Option<String>> {
        let prefix = p.version_order(&RepoPath::from(repo));
        for summary in self.kv.scan::<VersionSummary>(&prefix, None) {
            let summary = summary?;
            if summary.status == VersionStatus::Published {
                return Ok(Some(summary.version));
            }
        }
        Ok(None)
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
        let mut tx = self.begin_write();
        self.repository(repo.domain_id(), &repo.name)?;
        let key = p.key(&RepoPath::from(repo));
        let mut record = self.kv.get::<PackageRecord>(&key)?.unwrap_or_else(|| {
            let origins = Origins {
                publish: allow_publish,
                upstream: allow_upstream,
            };
            PackageRecord::new(p, display_name, origins, self.now_ms())
        });
        record.allow_publish = allow_publish;
        record.allow_upstream = allow_upstream;
        tx.put(&key, &record);
        tx.commit()?;
        Ok(record)
    }
}
