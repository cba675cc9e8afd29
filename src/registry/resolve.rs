//! Serving packages through the upstream graph, shared by every package format: finding the
//! repository that supplies a version (search order, origin-control pruning), retaining a
//! version in the repository that was asked, and merging listings and npm dist-tags.
//!
//! Listing never writes; only a version-specific fetch retains.

use super::groups::RestrictionType;
use super::store::RepoPath;
use super::GroupSet;
use super::{
    Error, NewAsset, Origin, Origins, PackageId, PackageRecord, Registry, RepositoryRecord, Result,
    VersionMetadata, VersionRecord, VersionStatus,
};
use std::collections::{BTreeMap, HashSet};

/// At most this many repositories are visited for one request, as in AWS.
const MAX_VISITED: usize = 25;

/// A version found for a request, and the repository that stores it (or, for a version a
/// public registry lists but nobody fetched yet, the repository owning the connection).
#[derive(Debug, Clone)]
pub struct Found {
    pub holder: RepositoryRecord,
    pub version: VersionRecord,
    /// Listed by the public registry behind `holder`'s external connection, not stored.
    pub external: bool,
}

/// A public registry behind an external connection, as a package format reaches it. The
/// product has no built-in addresses: each connection goes where configuration says.
pub trait ExternalSource {
    /// What the registry lists for the package; `None` when it is unknown or unreachable.
    fn list(&self, connection: &str, p: &PackageId) -> Option<ExternalPackage>;
    /// Downloads one version, verified against the registry's own digests.
    fn fetch(&self, connection: &str, p: &PackageId, version: &str) -> Option<ExternalVersion>;
}

/// A package as a public registry lists it.
#[derive(Debug, Default)]
pub struct ExternalPackage {
    pub versions: Vec<ExternalVersion>,
    pub dist_tags: BTreeMap<String, String>,
}

/// One version of a public registry, with its bytes when fetched.
#[derive(Debug)]
pub struct ExternalVersion {
    pub version: String,
    pub display_name: String,
    pub published_ms: i64,
    pub metadata: VersionMetadata,
    pub assets: Vec<NewAsset>,
}

/// What a package manager sees of a package through one repository.
#[derive(Debug, Default)]
pub struct Merged {
    /// The package record in the repository asked, if it has one.
    pub own: Option<PackageRecord>,
    /// Visible (`Published`) versions, each from the first repository in search order.
    pub versions: Vec<Found>,
    /// npm dist-tags after the upstream-wins merge, only those naming a listed version.
    pub dist_tags: BTreeMap<String, String>,
}

/// The walk's bookkeeping: repositories already visited, shared across the recursion.
struct Walk {
    visited: HashSet<String>,
    /// Origin controls prune the walk for package managers, not for copies (§9.4).
    respect_controls: bool,
    /// The domain's package groups, read once per walk (upstreams share the domain).
    groups: GroupSet,
}

impl Walk {
    fn enter(&mut self, repo: &RepositoryRecord) -> bool {
        self.visited.len() < MAX_VISITED && self.visited.insert(repo.id.clone())
    }
}

/// A version the public registry behind `repo`'s external connection lists, not stored.
fn listed_externally(repo: &RepositoryRecord, connection: &str, version: ExternalVersion) -> Found {
    Found {
        holder: repo.clone(),
        version: VersionRecord {
            version: version.version,
            status: VersionStatus::Published,
            revision: String::new(),
            origin: Origin::External {
                connection: connection.to_string(),
            },
            published_ms: version.published_ms,
            assets: Vec::new(),
            metadata: version.metadata,
        },
        external: true,
    }
}

impl Registry {
    fn walk(&self, repo: &RepositoryRecord, respect_controls: bool) -> Result<Walk> {
        Ok(Walk {
            visited: HashSet::new(),
            respect_controls,
            groups: self.group_set(repo.domain_id())?,
        })
    }

    fn package_if_any(
        &self,
        repo: &RepositoryRecord,
        p: &PackageId,
    ) -> Result<Option<PackageRecord>> {
        match self.package(repo, p) {
            Ok(record) => Ok(Some(record)),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn version_if_any(
        &self,
        repo: &RepositoryRecord,
        p: &PackageId,
        version: &str,
    ) -> Result<Option<VersionRecord>> {
        match self.version(repo, p, version) {
            Ok(record) => Ok(Some(record)),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether the walk may continue below `repo` for this package: its own `upstream`
    /// control and its package group's INTERNAL_UPSTREAM restriction must both allow.
    fn descends(
        walk: &Walk,
        repo: &RepositoryRecord,
        p: &PackageId,
        own: Option<&PackageRecord>,
    ) -> bool {
        let allowed = own.map(|r| r.allow_upstream);
        walk.groups
            .allows(repo, p, RestrictionType::InternalUpstream, allowed)
    }

    /// The live upstream repositories of `repo`, in priority order (dangling links skipped).
    fn upstreams_of(&self, repo: &RepositoryRecord) -> Result<Vec<RepositoryRecord>> {
        let mut out = Vec::with_capacity(repo.upstreams.len());
        for link in &repo.upstreams {
            match self.repository(repo.domain_id(), &link.name) {
                Ok(found) if found.id == link.id => out.push(found),
                Ok(_) | Err(Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Whether `repo` or a repository its upstreams reach (transitively) has an external
    /// connection: then what package managers see through it can change without the store
    /// changing. Reads one record per repository reached; a graph larger than a walk
    /// visits counts as reaching one.
    pub fn reaches_external(&self, repo: &RepositoryRecord) -> Result<bool> {
        let mut visited = HashSet::new();
        let mut queue = vec![repo.clone()];
        while let Some(next) = queue.pop() {
            if !next.external_connections.is_empty() {
                return Ok(true);
            }
            if visited.len() >= MAX_VISITED {
                // beyond what a walk visits: assume the worst
                return Ok(true);
            }
            if !visited.insert(next.id.clone()) {
                continue;
            }
            queue.extend(self.upstreams_of(&next)?);
        }
        Ok(false)
    }

    /// The first repository in search order that stores `version` (in any status: a stored
    /// record masks copies further upstream). When the walk reaches a repository whose
    /// external connection may supply the package, `external` is asked to fetch the version,
    /// which is then stored in that repository (with an `EXTERNAL` origin).
    pub fn resolve(
        &self,
        repo: &RepositoryRecord,
        p: &PackageId,
        version: &str,
        external: Option<&dyn ExternalSource>,
    ) -> Result<Option<Found>> {
        let mut walk = self.walk(repo, true)?;
        self.resolve_from(&mut walk, repo, p, version, external)
    }

    /// The first stored copy of `version` in `repo` or its upstream graph, regardless of
    /// origin controls (CopyPackageVersions with `includeFromUpstream`).
    pub fn find_for_copy(
        &self,
        repo: &RepositoryRecord,
        p: &PackageId,
        version: &str,
    ) -> Result<Option<Found>> {
        let mut walk = self.walk(repo, false)?;
        self.resolve_from(&mut walk, repo, p, version, None)
    }

    /// Every repository in `repo`'s search order (origin controls respected) that stores
    /// `version`: the copies an asset added later to a retained version must reach too.
    pub fn holders(
        &self,
        repo: &RepositoryRecord,
        p: &PackageId,
        version: &str,
    ) -> Result<Vec<(RepositoryRecord, VersionRecord)>> {
        let mut walk = self.walk(repo, true)?;
        let mut out = Vec::new();
        self.holders_from(&mut walk, repo, p, version, &mut out)?;
        Ok(out)
    }

    fn holders_from(
        &self,
        walk: &mut Walk,
        repo: &RepositoryRecord,
        p: &PackageId,
        version: &str,
        out: &mut Vec<(RepositoryRecord, VersionRecord)>,
    ) -> Result<()> {
        if !walk.enter(repo) {
            return Ok(());
        }
        if let Some(found) = self.version_if_any(repo, p, version)? {
            out.push((repo.clone(), found));
        }
        let own = self.package_if_any(repo, p)?;
        if Self::descends(walk, repo, p, own.as_ref()) {
            for upstream in self.upstreams_of(repo)? {
                self.holders_from(walk, &upstream, p, version, out)?;
            }
        }
        Ok(())
    }

    fn resolve_from(
        &self,
        walk: &mut Walk,
        repo: &RepositoryRecord,
        p: &PackageId,
        version: &str,
        external: Option<&dyn ExternalSource>,
    ) -> Result<Option<Found>> {
        if !walk.enter(repo) {
            return Ok(None);
        }
        if let Some(found) = self.version_if_any(repo, p, version)? {
            return Ok(Some(Found {
                holder: repo.clone(),
                version: found,
                external: false,
            }));
        }
        let own = self.package_if_any(repo, p)?;
        if !walk.respect_controls || Self::descends(walk, repo, p, own.as_ref()) {
            for upstream in self.upstreams_of(repo)? {
                if let Some(found) = self.resolve_from(walk, &upstream, p, version, external)? {
                    return Ok(Some(found));
                }
            }
        }
        let (Some(external), Some(connection)) =
            (external, Self::connection_for(walk, repo, p, own.as_ref()))
        else {
            return Ok(None);
        };
        match external.fetch(&connection, p, version) {
            Some(fetched) => self.ingest(repo, p, &connection, fetched).map(|stored| {
                Some(Found {
                    holder: repo.clone(),
                    version: stored,
                    external: false,
                })
            }),
            None => Ok(None),
        }
    }

    /// The repository's external connection for this package's format, if the package may
    /// come in through it (its `upstream` control and the group's EXTERNAL_UPSTREAM).
    fn connection_for(
        walk: &Walk,
        repo: &RepositoryRecord,
        p: &PackageId,
        own: Option<&PackageRecord>,
    ) -> Option<String> {
        let connection = repo
            .external_connections
            .iter()
            .find(|c| super::external_connection_format(c) == Some(p.format.as_str()))?;
        let allowed = own.map(|r| r.allow_upstream);
        walk.groups
            .allows(repo, p, RestrictionType::ExternalUpstream, allowed)
            .then(|| connection.clone())
    }

    /// Stores a version fetched from a public registry in the repository owning the
    /// connection: `EXTERNAL` origin, and the controls of a package that came from outside
    /// when the package is new there.
    fn ingest(
        &self,
        repo: &RepositoryRecord,
        p: &PackageId,
        connection: &str,
        fetched: ExternalVersion,
    ) -> Result<VersionRecord> {
        let mut tx = self.begin_write();
        let d = repo.domain_id();
        let path = RepoPath::from(repo);
        if let Some(existing) = self
            .kv
            .get::<VersionRecord>(&p.version_key(&path, &fetched.version))?
        {
            return Ok(existing);
        }
        let now = self.now_ms();
        let mut assets = Vec::with_capacity(fetched.assets.len());
        for asset in fetched.assets {
            let size = asset.blob.size();
            let properties = asset.properties;
            let blob = tx.store_blob(d, asset.blob)?;
            tx.add_reference(d, &blob.sha256);
            assets.push(super::AssetRef {
                name: asset.name,
                sha256: blob.sha256,
                size,
                properties,
            });
        }
        let revision = super::versions::revision_of(&assets, &fetched.metadata);
        let record = VersionRecord {
            version: fetched.version,
            status: VersionStatus::Published,
            revision,
            origin: Origin::External {
                connection: connection.to_string(),
            },
            published_ms: now,
            assets,
            metadata: fetched.metadata,
        };
        if self.kv.get::<PackageRecord>(&p.key(&path))?.is_none() {
            tx.put(
                &p.key(&path),
                &PackageRecord::new(p, &fetched.display_name, Origins::FROM_UPSTREAM, now),
            );
        }
        tx.put(&p.version_key(&path, &record.version), &record);
        tx.commit()?;
        Ok(record)
    }

    /// Keeps a version served from upstream in the repository that was asked: a new record
    /// referencing the same assets, with the original origin and revision. A package new to
    /// the repository starts with the controls of a package that came from upstream.
    pub fn retain(
        &self,
        repo: &RepositoryRecord,
        found: &Found,
        p: &PackageId,
        display_name: &str,
    ) -> Result<VersionRecord> {
        let mut tx = self.begin_write();
        let path = RepoPath::from(repo);
        if let Some(existing) = self
            .kv
            .get::<VersionRecord>(&p.version_key(&path, &found.version.version))?
        {
            return Ok(existing);
        }
        let now = self.now_ms();
        if self.kv.get::<PackageRecord>(&p.key(&path))?.is_none() {
            // The name as first published travels with the package.
            let holder_path = RepoPath::from(&found.holder);
            let display_name = self
                .kv
                .get::<PackageRecord>(&p.key(&holder_path))?
                .map_or_else(|| display_name.to_string(), |r| r.display_name);
            tx.put(
                &p.key(&path),
                &PackageRecord::new(p, &display_name, Origins::FROM_UPSTREAM, now),
            );
        }
        let mut retained = found.version.clone();
        retained.published_ms = now;
        tx.put(&p.version_key(&path, &retained.version), &retained);
        for asset in &retained.assets {
            tx.add_reference(repo.domain_id(), &asset.sha256);
        }
        tx.commit()?;
        Ok(retained)
    }

    /// The merged view a package manager gets from `repo` (upstreams.md §6), including what
    /// the public registries behind reachable external connections list.
    pub fn merged(
        &self,
        repo: &RepositoryRecord,
        p: &PackageId,
        external: Option<&dyn ExternalSource>,
    ) -> Result<Merged> {
        let mut walk = self.walk(repo, true)?;
        let mut merged = Merged {
            own: self.package_if_any(repo, p)?,
            ..Merged::default()
        };
        let mut seen = HashSet::new();
        let tags = self.merge_from(
            &mut walk,
            repo,
            p,
            external,
            &mut seen,
            &mut merged.versions,
        )?;
        merged.dist_tags = tags
            .into_iter()
            .filter(|(_, version)| {
                merged
                    .versions
                    .iter()
                    .any(|f| &f.version.version == version)
            })
            .collect();
        Ok(merged)
    }

    /// The versions `merged` lists for a package that `repo` itself does not hold: those
    /// of its upstreams and of the external connections along the way. `repo`'s own
    /// versions are not read (a publish into a package of thousands of versions asks only
    /// whether the version exists elsewhere): a version it stores masks the copies further
    /// along, as in `merged`, which one lookup per listed version checks.
    pub fn listed_beyond(
        &self,
        repo: &RepositoryRecord,
        p: &PackageId,
        external: Option<&dyn ExternalSource>,
    ) -> Result<Vec<Found>> {
        let mut walk = self.walk(repo, true)?;
        if !walk.enter(repo) {
            return Ok(Vec::new());
        }
        let own = self.package_if_any(repo, p)?;
        let mut seen = HashSet::new();
        let mut versions = Vec::new();
        if Self::descends(&walk, repo, p, own.as_ref()) {
            for upstream in self.upstreams_of(repo)? {
                self.merge_from(&mut walk, &upstream, p, external, &mut seen, &mut versions)?;
            }
        }
        if let (Some(external), Some(connection)) =
            (external, Self::connection_for(&walk, repo, p, own.as_ref()))
        {
            if let Some(listed) = external.list(&connection, p) {
                for version in listed.versions {
                    if seen.insert(version.version.clone()) {
                        versions.push(listed_externally(repo, &connection, version));
                    }
                }
            }
        }
        if own.is_none() {
            return Ok(versions);
        }
        let mut beyond = Vec::with_capacity(versions.len());
        for found in versions {
            if self
                .version_if_any(repo, p, &found.version.version)?
                .is_none()
            {
                beyond.push(found);
            }
        }
        Ok(beyond)
    }

    /// Adds the visible versions of `repo`'s subtree not already listed, and returns the
    /// subtree's tags: the repository's own, overridden by its upstreams' (upstream wins;
    /// between siblings the earlier one wins), the public registry's last.
    fn merge_from(
        &self,
        walk: &mut Walk,
        repo: &RepositoryRecord,
        p: &PackageId,
        external: Option<&dyn ExternalSource>,
        seen: &mut HashSet<String>,
        versions: &mut Vec<Found>,
    ) -> Result<BTreeMap<String, String>> {
        if !walk.enter(repo) {
            return Ok(BTreeMap::new());
        }
        let own = self.package_if_any(repo, p)?;
        let mut stored = match &own {
            Some(_) => self.versions(repo, p)?,
            None => Vec::new(),
        };
        stored.sort_by_key(|v| v.published_ms);
        for version in stored {
            // A stored record masks every copy further along, whatever its status; only
            // published versions are listed.
            let first = seen.insert(version.version.clone());
            if version.status == VersionStatus::Published && first {
                versions.push(Found {
                    holder: repo.clone(),
                    version,
                    external: false,
                });
            }
        }
        let mut tags = own
            .as_ref()
            .map(|r| r.dist_tags.clone())
            .unwrap_or_default();
        let mut upstream_tags: BTreeMap<String, String> = BTreeMap::new();
        if Self::descends(walk, repo, p, own.as_ref()) {
            for upstream in self.upstreams_of(repo)? {
                for (tag, version) in
                    self.merge_from(walk, &upstream, p, external, seen, versions)?
                {
                    upstream_tags.entry(tag).or_insert(version);
                }
            }
        }
        if let (Some(external), Some(connection)) =
            (external, Self::connection_for(walk, repo, p, own.as_ref()))
        {
            if let Some(listed) = external.list(&connection, p) {
                for version in listed.versions {
                    if !seen.insert(version.version.clone()) {
                        continue;
                    }
                    versions.push(listed_externally(repo, &connection, version));
                }
                for (tag, version) in listed.dist_tags {
                    upstream_tags.entry(tag).or_insert(version);
                }
            }
        }
        tags.extend(upstream_tags);
        Ok(tags)
    }

    /// Sets (`Some`) or removes (`None`) one dist-tag of a package in one repository.
    /// Returns false when removing a tag that does not exist.
    pub fn set_dist_tag(
        &self,
        repo: &RepositoryRecord,
        p: &PackageId,
        tag: &str,
        version: Option<&str>,
    ) -> Result<bool> {
        let mut tx = self.begin_write();
        let path = RepoPath::from(repo);
        let Some(mut record) = self.kv.get::<PackageRecord>(&p.key(&path))? else {
            return Ok(false);
        };
        let changed = match version {
            Some(v) => {
                record.dist_tags.insert(tag.to_string(), v.to_string());
                true
            }
            None => record.dist_tags.remove(tag).is_some(),
        };
        if changed {
            tx.put(&p.key(&path), &record);
            tx.commit()?;
        }
        Ok(changed)
    }

    /// Replaces a stored version's format manifest (e.g. npm `deprecated`); the revision
    /// follows the metadata.
    pub fn update_manifest(
        &self,
        repo: &RepositoryRecord,
        p: &PackageId,
        version: &str,
        manifest: serde_json::Value,
    ) -> Result<()> {
        let mut tx = self.begin_write();
        let path = RepoPath::from(repo);
        let key = p.version_key(&path, version);
        let Some(mut record) = self.kv.get::<VersionRecord>(&key)? else {
            return Ok(());
        };
        record.metadata.manifest = Some(manifest);
        record.revision = super::versions::revision_of(&record.assets, &record.metadata);
        tx.put(&key, &record);
        tx.commit()?;
        Ok(())
    }
}
