//! Tags on domains, repositories and package groups, keyed by the resource's ARN.

use super::store::Key;
use super::{DomainId, Error, Registry, ResourceKind, ResourceRef, Result, TagsRecord};

/// Rules for tags supplied together (on create, or in one TagResource call).
pub fn validate_new_tags(tags: &[(String, String)], limit: usize) -> Result<()> {
    for (i, (key, _)) in tags.iter().enumerate() {
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Err(Error::Invalid(format!(
                "Tag keys starting with 'aws:' are reserved for AWS use: '{key}'"
            )));
        }
        if tags[..i].iter().any(|(k, _)| k == key) {
            return Err(Error::Invalid(format!(
                "Duplicate tag key '{key}' in the request"
            )));
        }
    }
    if tags.len() > limit {
        return Err(too_many(limit));
    }
    Ok(())
}

fn too_many(limit: usize) -> Error {
    Error::QuotaExceeded {
        kind: ResourceKind::Unnamed,
        id: String::new(),
        message: format!("A resource can have at most {limit} tags"),
    }
}

impl Registry {
    /// Checks that the ARN names an existing taggable resource.
    fn taggable(&self, arn: &str) -> Result<()> {
        let Some(resource) = ResourceRef::parse(arn) else {
            return Err(Error::Invalid(format!(
                "Invalid resource ARN '{arn}': expected a CodeArtifact domain, repository or \
                 package group ARN"
            )));
        };
        match &resource {
            ResourceRef::Domain {
                region,
                owner,
                domain,
            } => {
                self.domain(DomainId {
                    region,
                    owner,
                    name: domain,
                })?;
            }
            ResourceRef::Repository {
                region,
                owner,
                domain,
                repository,
            } => {
                self.repository(
                    DomainId {
                        region,
                        owner,
                        name: domain,
                    },
                    repository,
                )?;
            }
            ResourceRef::PackageGroup {
                region,
                owner,
                domain,
                pattern,
            } => {
                let d = DomainId {
                    region,
                    owner,
                    name: domain,
                };
                self.domain(d)?;
                if !self.package_group_exists(d, pattern)? {
                    return Err(Error::NotFound {
                        kind: ResourceKind::Unnamed,
                        id: pattern.clone(),
                        message: format!(
                            "Package group '{pattern}' not found in domain '{domain}'"
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    pub fn tags(&self, arn: &str) -> Result<Vec<(String, String)>> {
        self.taggable(arn)?;
        Ok(self
            .kv
            .get::<TagsRecord>(&Key::tags(arn))?
            .unwrap_or_default()
            .tags)
    }

    /// Adds or overwrites tags.
    pub fn tag(&self, arn: &str, tags: &[(String, String)]) -> Result<()> {
        validate_new_tags(tags, usize::MAX)?;
        let mut tx = self.begin_write();
        self.taggable(arn)?;
        let key = Key::tags(arn);
        let mut record = self.kv.get::<TagsRecord>(&key)?.unwrap_or_default();
        for (k, v) in tags {
            match record.tags.iter_mut().find(|(existing, _)| existing == k) {
                Some(slot) => slot.1.clone_from(v),
                None => record.tags.push((k.clone(), v.clone())),
            }
        }
        if record.tags.len() > self.quotas.tags_per_resource {
            return Err(too_many(self.quotas.tags_per_resource));
        }
        tx.put(&key, &record);
        tx.commit()?;
        Ok(())
    }

    /// Removes the given keys; unknown keys are ignored.
    pub fn untag(&self, arn: &str, keys: &[String]) -> Result<()> {
        let mut tx = self.begin_write();
        self.taggable(arn)?;
        let key = Key::tags(arn);
        let mut record = self.kv.get::<TagsRecord>(&key)?.unwrap_or_default();
        record.tags.retain(|(k, _)| !keys.contains(k));
        if record.tags.is_empty() {
            tx.delete(&key);
        } else {
            tx.put(&key, &record);
        }
        tx.commit()?;
        Ok(())
    }
}
