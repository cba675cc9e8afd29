//! Repositories: create, describe, update, list, delete, and external connections.

use super::store::Key;
use super::tags::validate_new_tags;
use super::{
    Arn, DomainId, Error, Page, Registry, RepositoryRecord, ResourceKind, Result, Scope,
    TagsRecord, UpstreamRef,
};

/// The external connections the service knows, with the package format each serves.
pub const EXTERNAL_CONNECTIONS: &[(&str, &str)] = &[
    ("public:npmjs", "npm"),
    ("public:pypi", "pypi"),
    ("public:maven-central", "maven"),
    ("public:maven-googleandroid", "maven"),
    ("public:maven-gradleplugins", "maven"),
    ("public:maven-commonsware", "maven"),
    ("public:maven-clojars", "maven"),
    ("public:nuget-org", "nuget"),
    ("public:ruby-gems-org", "ruby"),
    ("public:crates-io", "cargo"),
];

/// The package format an external connection serves, if the name is known.
pub fn external_connection_format(name: &str) -> Option<&'static str> {
    EXTERNAL_CONNECTIONS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
}

/// Changes `UpdateRepository` may make; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct RepositoryUpdate<'a> {
    pub description: Option<&'a str>,
    pub upstreams: Option<&'a [String]>,
}

fn not_found(d: DomainId<'_>, repository: &str) -> Error {
    Error::NotFound {
        kind: ResourceKind::Repository,
        id: repository.to_string(),
        message: format!(
            "Repository not found. Repository '{repository}' in domain '{}' owned by \
             account '{}' does not exist",
            d.name, d.owner
        ),
    }
}

impl RepositoryRecord {
    pub fn domain_id(&self) -> DomainId<'_> {
        DomainId {
            region: &self.region,
            owner: &self.domain_owner,
            name: &self.domain,
        }
    }

    pub fn arn(&self) -> String {
        Arn::repository(self.domain_id(), &self.name)
    }
}

impl Registry {
    /// Creates a repository in a domain; the caller becomes its administrator.
    pub fn create_repository(
        &self,
        scope: Scope<'_>,
        d: DomainId<'_>,
        name: &str,
        description: Option<&str>,
        upstreams: &[String],
        tags: &[(String, String)],
    ) -> Result<RepositoryRecord> {
        validate_new_tags(tags, self.quotas.tags_per_resource)?;
        let mut tx = self.begin_write();
        self.domain(d)?;
        let key = Key::repository(d.region, d.owner, d.name, name);
        if self.kv.get::<RepositoryRecord>(&key)?.is_some() {
            return Err(Error::Conflict {
                kind: ResourceKind::Repository,
                id: name.to_string(),
                message: format!(
                    "Repository '{name}' already exists in domain '{}' owned by account '{}'",
                    d.name, d.owner
                ),
            });
        }
        let upstreams = self.resolve_upstreams(d, name, upstreams)?;
        if self.domain_stats(d)?.repository_count >= self.quotas.repositories_per_domain {
            return Err(Error::QuotaExceeded {
                kind: ResourceKind::Repository,
                id: name.to_string(),
                message: format!(
                    "Maximum number of repositories ({}) reached for domain '{}'",
                    self.quotas.repositories_per_domain, d.name
                ),
            });
        }
        let record = RepositoryRecord {
            id: crate::clock::new_id(),
            name: name.to_string(),
            domain: d.name.to_string(),
            domain_owner: d.owner.to_string(),
            region: d.region.to_string(),
            administrator_account: scope.account.to_string(),
            description: description.filter(|s| !s.is_empty()).map(str::to_string),
            upstreams,
            external_connections: Vec::new(),
            created_ms: self.now_ms(),
        };
        tx.put(&key, &record);
        if !tags.is_empty() {
            tx.put(
                &Key::tags(&record.arn()),
                &TagsRecord {
                    tags: tags.to_vec(),
                },
            );
        }
        tx.commit()?;
        Ok(record)
    }

    /// Validates an upstream list and binds each name to the repository's identity.
    fn resolve_upstreams(
        &self,
        d: DomainId<'_>,
        repository: &str,
        names: &[String],
    ) -> Result<Vec<UpstreamRef>> {
        if names.len() > self.quotas.upstreams_per_repository {
            return Err(Error::Invalid(format!(
                "A repository can have at most {} upstream repositories; {} were given",
                self.quotas.upstreams_per_repository,
                names.len()
            )));
        }
        let mut resolved: Vec<UpstreamRef> = Vec::with_capacity(names.len());
        for name in names {
            if name == repository {
                return Err(Error::Invalid(format!(
                    "Repository '{repository}' cannot be an upstream of itself"
                )));
            }
            if resolved.iter().any(|u| &u.name == name) {
                return Err(Error::Invalid(format!(
                    "Upstream repository '{name}' is listed more than once"
                )));
            }
            let upstream = self.repository(d, name)?;
            resolved.push(UpstreamRef {
                id: upstream.id,
                name: upstream.name,
            });
        }
        Ok(resolved)
    }

    /// The repository, or the service's not-found error for the domain or the repository.
    pub fn repository(&self, d: DomainId<'_>, name: &str) -> Result<RepositoryRecord> {
        match self
            .kv
            .get::<RepositoryRecord>(&Key::repository(d.region, d.owner, d.name, name))?
        {
            Some(record) => Ok(record),
            None => {
                self.domain(d)?;
                Err(not_found(d, name))
            }
        }
    }

    /// Replaces the description and/or the whole upstream list.
    pub fn update_repository(
        &self,
        d: DomainId<'_>,
        name: &str,
        update: &RepositoryUpdate<'_>,
    ) -> Result<RepositoryRecord> {
        let mut tx = self.begin_write();
        let mut record = self.repository(d, name)?;
        if let Some(names) = update.upstreams {
            // Re-resolving by name also repairs links to since-deleted repositories.
            record.upstreams = self.resolve_upstreams(d, name, names)?;
        }
        if let Some(description) = update.description {
            record.description = Some(description.to_string()).filter(|s| !s.is_empty());
        }
        tx.put(&Key::repository(d.region, d.owner, d.name, name), &record);
        tx.commit()?;
        Ok(record)
    }

    /// Deletes a repository with its policy and tags. Downstream repositories keep a
    /// dangling upstream entry, as in AWS.
    pub fn delete_repository(&self, d: DomainId<'_>, name: &str) -> Result<RepositoryRecord> {
        let mut tx = self.begin_write();
        let record = self.repository(d, name)?;
        tx.delete(&Key::repository(d.region, d.owner, d.name, name));
        tx.delete(&Key::repository_policy(d.region, d.owner, d.name, name));
        tx.delete(&Key::tags(&record.arn()));
        self.remove_repository_contents(&record, &mut tx)?;
        self.stage_allowed_list_cleanup(&record, &mut tx)?;
        tx.commit()?;
        Ok(record)
    }

    /// All repositories of a domain, sorted by name, optionally filtered.
    pub fn list_repositories_in_domain(
        &self,
        d: DomainId<'_>,
        administrator: Option<&str>,
        prefix: Option<&str>,
        after: Option<&str>,
        max: usize,
    ) -> Result<Page<RepositoryRecord>> {
        self.domain(d)?;
        let mut items = Vec::new();
        for record in self
            .kv
            .scan::<RepositoryRecord>(&Key::repositories_in(d.region, d.owner, d.name), None)
        {
            let record = record?;
            if administrator.is_some_and(|a| a != record.administrator_account)
                || prefix.is_some_and(|p| !record.name.starts_with(p))
            {
                continue;
            }
            items.push((record.name.clone(), record));
        }
        Ok(super::paginate(items, after, max))
    }

    /// Repositories the caller's account administers in the region, across all domains.
    pub fn list_repositories(
        &self,
        scope: Scope<'_>,
        prefix: Option<&str>,
        after: Option<&str>,
        max: usize,
    ) -> Result<Page<RepositoryRecord>> {
        let mut items = Vec::new();
        for record in self
            .kv
            .scan::<RepositoryRecord>(&Key::repositories_in_region(scope.region), None)
        {
            let record = record?;
            if record.administrator_account != scope.account
                || prefix.is_some_and(|p| !record.name.starts_with(p))
            {
                continue;
            }
            // Names repeat across domains: the sort key keeps pages stable and unique.
            let key = format!(
                "{}\u{0}{}\u{0}{}",
                record.name, record.domain_owner, record.domain
            );
            items.push((key, record));
        }
        items.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(super::paginate(items, after, max))
    }

    /// Adds the repository's one external connection.
    pub fn associate_external_connection(
        &self,
        d: DomainId<'_>,
        name: &str,
        connection: &str,
    ) -> Result<RepositoryRecord> {
        if external_connection_format(connection).is_none() {
            return Err(Error::Invalid(format!(
                "External connection '{connection}' is not supported. Valid external \
                 connections: {}",
                EXTERNAL_CONNECTIONS
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let mut tx = self.begin_write();
        let mut record = self.repository(d, name)?;
        if record.external_connections.iter().any(|c| c == connection) {
            return Err(Error::Conflict {
                kind: ResourceKind::Repository,
                id: name.to_string(),
                message: format!(
                    "Repository '{name}' already has external connection '{connection}'"
                ),
            });
        }
        if !record.external_connections.is_empty() {
            return Err(Error::Invalid(
                "ExternalConnections for repositories are currently limited to 1".to_string(),
            ));
        }
        record.external_connections.push(connection.to_string());
        tx.put(&Key::repository(d.region, d.owner, d.name, name), &record);
        tx.commit()?;
        Ok(record)
    }

    /// Removes a named external connection; packages already ingested stay.
    pub fn disassociate_external_connection(
        &self,
        d: DomainId<'_>,
        name: &str,
        connection: &str,
    ) -> Result<RepositoryRecord> {
        let mut tx = self.begin_write();
        let mut record = self.repository(d, name)?;
        let before = record.external_connections.len();
        record.external_connections.retain(|c| c != connection);
        if record.external_connections.len() == before {
            return Err(Error::NotFound {
                kind: ResourceKind::Repository,
                id: name.to_string(),
                message: format!("Repository '{name}' has no external connection '{connection}'"),
            });
        }
        tx.put(&Key::repository(d.region, d.owner, d.name, name), &record);
        tx.commit()?;
        Ok(record)
    }
}
