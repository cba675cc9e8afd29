//! Domains: create, look up, list, delete.

use super::store::Key;
use super::tags::validate_new_tags;
use super::{
    Arn, DomainId, DomainRecord, Error, PackageGroupRecord, Page, Registry, RepositoryRecord,
    ResourceKind, Result, Scope,
};
use std::collections::BTreeMap;

/// The pattern of the root package group every domain has.
pub const ROOT_PACKAGE_GROUP: &str = "/*";

impl DomainRecord {
    pub fn id(&self) -> DomainId<'_> {
        DomainId {
            region: &self.region,
            owner: &self.owner,
            name: &self.name,
        }
    }
}

/// What the service reports about a domain besides its record.
#[derive(Debug, Clone)]
pub struct DomainStats {
    pub repository_count: usize,
    pub asset_size_bytes: u64,
}

fn not_found(d: DomainId<'_>) -> Error {
    Error::NotFound {
        kind: ResourceKind::Domain,
        id: d.name.to_string(),
        message: format!(
            "Domain not found. Domain '{}' owned by account '{}' does not exist",
            d.name, d.owner
        ),
    }
}

impl Registry {
    /// Creates a domain owned by the caller, with its root package group and tags.
    pub fn create_domain(
        &self,
        scope: Scope<'_>,
        name: &str,
        encryption_key: Option<&str>,
        tags: &[(String, String)],
    ) -> Result<DomainRecord> {
        validate_new_tags(tags, self.quotas.tags_per_resource)?;
        let id = DomainId {
            region: scope.region,
            owner: scope.account,
            name,
        };
        let mut tx = self.begin_write();
        if self
            .kv
            .get::<DomainRecord>(&Key::domain(id.region, id.owner, name))?
            .is_some()
        {
            return Err(Error::Conflict {
                kind: ResourceKind::Domain,
                id: name.to_string(),
                message: format!(
                    "Domain '{name}' already exists in account '{}'",
                    scope.account
                ),
            });
        }
        let owned = self
            .kv
            .scan::<DomainRecord>(&Key::domains_of(id.region, id.owner), None)
            .count();
        if owned >= self.quotas.domains_per_account {
            return Err(Error::QuotaExceeded {
                kind: ResourceKind::Domain,
                id: name.to_string(),
                message: format!(
                    "Maximum number of domains ({}) reached for account '{}'",
                    self.quotas.domains_per_account, scope.account
                ),
            });
        }
        let now = self.now_ms();
        let record = DomainRecord {
            name: name.to_string(),
            owner: scope.account.to_string(),
            region: scope.region.to_string(),
            created_ms: now,
            encryption_key: encryption_key.map_or_else(
                || {
                    // The real service uses the account's AWS-managed key; invent a stable,
                    // well-formed key ARN in its place.
                    format!(
                        "arn:aws:kms:{}:{}:key/{}",
                        scope.region,
                        scope.account,
                        crate::clock::new_id()
                    )
                },
                str::to_string,
            ),
        };
        let root = PackageGroupRecord {
            pattern: ROOT_PACKAGE_GROUP.to_string(),
            created_ms: now,
            contact_info: None,
            description: None,
            restrictions: ["PUBLISH", "EXTERNAL_UPSTREAM", "INTERNAL_UPSTREAM"]
                .into_iter()
                .map(|t| (t.to_string(), "ALLOW".to_string()))
                .collect::<BTreeMap<_, _>>(),
            allowed: BTreeMap::new(),
        };
        tx.put(&Key::domain(id.region, id.owner, name), &record);
        tx.put(
            &Key::package_group(id.region, id.owner, name, ROOT_PACKAGE_GROUP),
            &root,
        );
        if !tags.is_empty() {
            let tags = super::TagsRecord {
                tags: tags.to_vec(),
            };
            tx.put(&Key::tags(&Arn::domain(id)), &tags);
        }
        tx.commit()?;
        Ok(record)
    }

    /// The domain, or the service's not-found error.
    pub fn domain(&self, d: DomainId<'_>) -> Result<DomainRecord> {
        self.kv
            .get::<DomainRecord>(&Key::domain(d.region, d.owner, d.name))?
            .ok_or_else(|| not_found(d))
    }

    /// Counts that `DescribeDomain` reports.
    pub fn domain_stats(&self, d: DomainId<'_>) -> Result<DomainStats> {
        let repository_count = self
            .kv
            .scan::<RepositoryRecord>(&Key::repositories_in(d.region, d.owner, d.name), None)
            .count();
        Ok(DomainStats {
            repository_count,
            asset_size_bytes: self.usage(d)?.asset_size_bytes,
        })
    }

    /// Domains the caller's account owns in the region, by name.
    pub fn list_domains(
        &self,
        scope: Scope<'_>,
        after: Option<&str>,
        max: usize,
    ) -> Result<Page<DomainRecord>> {
        let prefix = Key::domains_of(scope.region, scope.account);
        let after_key = after.map(|name| Key::domain(scope.region, scope.account, name));
        let mut items = Vec::new();
        for record in self.kv.scan::<DomainRecord>(&prefix, after_key.as_ref()) {
            let record = record?;
            items.push((record.name.clone(), record));
            if items.len() > max {
                break;
            }
        }
        Ok(super::paginate(items, None, max))
    }

    /// Domains of every account and region, in key order (region, owner, name), from the
    /// one after `after` on: a seek, never a scan from the start (the web console).
    pub fn all_domains(
        &self,
        after: Option<DomainId<'_>>,
        max: usize,
    ) -> Result<Page<DomainRecord>> {
        let after_key = after.map(|d| Key::domain(d.region, d.owner, d.name));
        let mut items = Vec::new();
        for record in self
            .kv
            .scan::<DomainRecord>(&Key::all_domains(), after_key.as_ref())
        {
            let record = record?;
            let key = format!("{}/{}/{}", record.region, record.owner, record.name);
            items.push((key, record));
            if items.len() > max {
                break;
            }
        }
        Ok(super::paginate(items, None, max))
    }

    /// How many distinct assets (blobs) a domain stores.
    pub fn blob_count(&self, d: DomainId<'_>) -> Result<usize> {
        self.kv
            .scan_raw(&Key::blobs_of(d.region, d.owner, d.name))
            .try_fold(0, |n, item| item.map(|_| n + 1))
            .map_err(Error::from)
    }

    /// Deletes an empty domain with its policy, package groups and tags.
    pub fn delete_domain(&self, d: DomainId<'_>) -> Result<DomainRecord> {
        let mut tx = self.begin_write();
        let record = self.domain(d)?;
        let repositories = self.domain_stats(d)?.repository_count;
        if repositories > 0 {
            return Err(Error::Conflict {
                kind: ResourceKind::Domain,
                id: d.name.to_string(),
                message: format!(
                    "Domain '{}' cannot be deleted because it contains {repositories} \
                     repositories",
                    d.name
                ),
            });
        }
        tx.delete(&Key::domain(d.region, d.owner, d.name));
        tx.delete(&Key::domain_policy(d.region, d.owner, d.name));
        tx.delete(&Key::tags(&Arn::domain(d)));
        tx.delete(&Key::usage(d.region, d.owner, d.name));
        for group in self
            .kv
            .scan::<PackageGroupRecord>(&Key::package_groups_in(d.region, d.owner, d.name), None)
        {
            let group = group?;
            tx.delete(&Key::package_group(
                d.region,
                d.owner,
                d.name,
                &group.pattern,
            ));
            tx.delete(&Key::tags(&Arn::package_group(d, &group.pattern)));
        }
        tx.commit()?;
        Ok(record)
    }

    /// Whether a package group with this pattern exists (the root always does).
    pub fn package_group_exists(&self, d: DomainId<'_>, pattern: &str) -> Result<bool> {
        Ok(self
            .kv
            .get::<PackageGroupRecord>(&Key::package_group(d.region, d.owner, d.name, pattern))?
            .is_some())
    }
}
