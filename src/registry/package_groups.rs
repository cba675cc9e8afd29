//! Package groups of a domain: their records, and the origin decision that combines a
//! package's own controls with its group's restrictions. The pattern language lives in
//! `groups`.

use super::groups::{self, GroupView, Mode, Pattern, RestrictionType};
use super::store::Key;
use super::tags::validate_new_tags;
use super::write::WriteTx;
use super::{
    Arn, DomainId, Error, PackageGroupRecord, PackageId, PackageRecord, Registry, RepositoryRecord,
    ResourceKind, Result, TagsRecord, ROOT_PACKAGE_GROUP,
};
use std::collections::BTreeMap;

const TYPES: [RestrictionType; 3] = [
    RestrictionType::Publish,
    RestrictionType::ExternalUpstream,
    RestrictionType::InternalUpstream,
];

/// All groups of a domain, parsed once, for resolution.
pub struct GroupSet {
    pub records: Vec<PackageGroupRecord>,
    pub patterns: Vec<Pattern>,
}

impl GroupSet {
    /// The resolver's view of every group, in the order of `records`.
    pub fn views(&self) -> Vec<GroupView<'_>> {
        self.records
            .iter()
            .zip(&self.patterns)
            .map(|(record, pattern)| {
                let mut view = GroupView::new(pattern);
                for t in TYPES {
                    if let Some(mode) = record
                        .restrictions
                        .get(t.as_str())
                        .and_then(|m| Mode::parse(m))
                    {
                        view.modes[t.index()] = mode;
                    }
                    if let Some(list) = record.allowed.get(t.as_str()) {
                        view.allowed[t.index()] = list.as_slice();
                    }
                }
                view
            })
            .collect()
    }

    /// The group decision of §9.4 for a package entering `repo` by origin `t`, combined
    /// with the package's own control (`package_level`, when it has a record there).
    pub fn allows(
        &self,
        repo: &RepositoryRecord,
        p: &PackageId,
        t: RestrictionType,
        package_level: Option<bool>,
    ) -> bool {
        groups::decide(
            &self.views(),
            &p.format,
            p.namespace.as_deref(),
            &p.name,
            &repo.name,
            t,
            package_level,
        )
    }

    pub fn index_of(&self, pattern: &str) -> Option<usize> {
        self.records.iter().position(|r| r.pattern == pattern)
    }
}

/// Changes to one group's origin configuration.
#[derive(Debug, Default)]
pub struct OriginUpdate {
    pub restrictions: Vec<(RestrictionType, Mode)>,
    pub add: Vec<(String, RestrictionType)>,
    pub remove: Vec<(String, RestrictionType)>,
}

/// Per restriction type, the repositories actually added and removed.
pub type AllowedUpdates = BTreeMap<RestrictionType, (Vec<String>, Vec<String>)>;

fn group_not_found(d: DomainId<'_>, pattern: &str) -> Error {
    Error::NotFound {
        kind: ResourceKind::Unnamed,
        id: pattern.to_string(),
        message: format!("Package group '{pattern}' not found in domain '{}'", d.name),
    }
}

impl Registry {
    /// Every group of the domain (the root always exists while the domain does).
    pub fn group_set(&self, d: DomainId<'_>) -> Result<GroupSet> {
        let records = self
            .kv
            .scan::<PackageGroupRecord>(&Key::package_groups_in(d.region, d.owner, d.name), None)
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let mut kept = Vec::with_capacity(records.len());
        let mut patterns = Vec::with_capacity(records.len());
        for record in records {
            match Pattern::parse(&record.pattern) {
                Ok(pattern) => {
                    patterns.push(pattern);
                    kept.push(record);
                }
                Err(e) => tracing::warn!(
                    pattern = record.pattern,
                    error = e,
                    "stored group has an invalid pattern"
                ),
            }
        }
        Ok(GroupSet {
            records: kept,
            patterns,
        })
    }

    pub fn package_group(&self, d: DomainId<'_>, pattern: &str) -> Result<PackageGroupRecord> {
        self.domain(d)?;
        self.kv
            .get(&Key::package_group(d.region, d.owner, d.name, pattern))?
            .ok_or_else(|| group_not_found(d, pattern))
    }

    pub fn create_package_group(
        &self,
        d: DomainId<'_>,
        pattern: &str,
        contact_info: Option<&str>,
        description: Option<&str>,
        tags: &[(String, String)],
    ) -> Result<PackageGroupRecord> {
        Pattern::parse(pattern).map_err(Error::Invalid)?;
        validate_new_tags(tags, self.quotas.tags_per_resource)?;
        let mut tx = self.begin_write();
        self.domain(d)?;
        let key = Key::package_group(d.region, d.owner, d.name, pattern);
        if self.kv.get::<PackageGroupRecord>(&key)?.is_some() {
            return Err(Error::Conflict {
                kind: ResourceKind::Unnamed,
                id: pattern.to_string(),
                message: format!(
                    "Package group '{pattern}' already exists in domain '{}'",
                    d.name
                ),
            });
        }
        let record = PackageGroupRecord {
            pattern: pattern.to_string(),
            created_ms: self.now_ms(),
            contact_info: contact_info.filter(|s| !s.is_empty()).map(str::to_string),
            description: description.filter(|s| !s.is_empty()).map(str::to_string),
            restrictions: TYPES
                .iter()
                .map(|t| (t.as_str().to_string(), Mode::Inherit.as_str().to_string()))
                .collect(),
            allowed: BTreeMap::new(),
        };
        tx.put(&key, &record);
        if !tags.is_empty() {
            tx.put(
                &Key::tags(&Arn::package_group(d, pattern)),
                &TagsRecord {
                    tags: tags.to_vec(),
                },
            );
        }
        tx.commit()?;
        Ok(record)
    }

    /// Replaces contact information and description (absent = unchanged, empty = cleared).
    pub fn update_package_group(
        &self,
        d: DomainId<'_>,
        pattern: &str,
        contact_info: Option<&str>,
        description: Option<&str>,
    ) -> Result<PackageGroupRecord> {
        let mut tx = self.begin_write();
        let mut record = self.package_group(d, pattern)?;
        if let Some(contact) = contact_info {
            record.contact_info = Some(contact.to_string()).filter(|s| !s.is_empty());
        }
        if let Some(description) = description {
            record.description = Some(description.to_string()).filter(|s| !s.is_empty());
        }
        tx.put(
            &Key::package_group(d.region, d.owner, d.name, pattern),
            &record,
        );
        tx.commit()?;
        Ok(record)
    }

    /// Sets restriction modes and edits allowed-repository lists.
    pub fn update_group_origin(
        &self,
        d: DomainId<'_>,
        pattern: &str,
        update: &OriginUpdate,
    ) -> Result<(PackageGroupRecord, AllowedUpdates)> {
        let mut tx = self.begin_write();
        let mut record = self.package_group(d, pattern)?;
        for (t, mode) in &update.restrictions {
            if pattern == ROOT_PACKAGE_GROUP && *mode == Mode::Inherit {
                return Err(Error::Invalid(format!(
                    "The root package group '/*' cannot inherit its {} restriction",
                    t.as_str()
                )));
            }
            record
                .restrictions
                .insert(t.as_str().to_string(), mode.as_str().to_string());
        }
        for (repository, _) in update.add.iter().chain(&update.remove) {
            self.repository(d, repository)?;
        }
        let mut changes: AllowedUpdates = BTreeMap::new();
        for (repository, t) in &update.add {
            let list = record.allowed.entry(t.as_str().to_string()).or_default();
            if !list.contains(repository) {
                list.push(repository.clone());
                changes.entry(*t).or_default().0.push(repository.clone());
            }
        }
        for (repository, t) in &update.remove {
            let list = record.allowed.entry(t.as_str().to_string()).or_default();
            if let Some(i) = list.iter().position(|r| r == repository) {
                list.remove(i);
                changes.entry(*t).or_default().1.push(repository.clone());
            }
        }
        record.allowed.retain(|_, list| !list.is_empty());
        tx.put(
            &Key::package_group(d.region, d.owner, d.name, pattern),
            &record,
        );
        tx.commit()?;
        Ok((record, changes))
    }

    /// Deletes a group (never the root); its children fall back to its parent.
    pub fn delete_package_group(
        &self,
        d: DomainId<'_>,
        pattern: &str,
    ) -> Result<PackageGroupRecord> {
        if pattern == ROOT_PACKAGE_GROUP {
            return Err(Error::Invalid(
                "The root package group '/*' cannot be deleted".to_string(),
            ));
        }
        let mut tx = self.begin_write();
        let record = self.package_group(d, pattern)?;
        tx.delete(&Key::package_group(d.region, d.owner, d.name, pattern));
        tx.delete(&Key::tags(&Arn::package_group(d, pattern)));
        tx.commit()?;
        Ok(record)
    }

    /// Removes a deleted repository from every group's allowed lists (part of its deletion).
    pub(super) fn stage_allowed_list_cleanup(
        &self,
        repo: &RepositoryRecord,
        tx: &mut WriteTx<'_>,
    ) -> Result<()> {
        let d = repo.domain_id();
        for mut record in self.group_set(d)?.records {
            let before: usize = record.allowed.values().map(Vec::len).sum();
            for list in record.allowed.values_mut() {
                list.retain(|r| r != &repo.name);
            }
            record.allowed.retain(|_, list| !list.is_empty());
            if record.allowed.values().map(Vec::len).sum::<usize>() != before {
                tx.put(
                    &Key::package_group(d.region, d.owner, d.name, &record.pattern),
                    &record,
                );
            }
        }
        Ok(())
    }

    /// Whether a direct publish of `p` into `repo` is allowed by the package's own control
    /// (`existing`, if the package is already there) and by its package group.
    pub fn may_publish(
        &self,
        d: DomainId<'_>,
        repo: &RepositoryRecord,
        p: &PackageId,
        existing: Option<&PackageRecord>,
    ) -> bool {
        self.may_enter(
            d,
            repo,
            p,
            RestrictionType::Publish,
            existing.map(|e| e.allow_publish),
        )
    }

    /// The origin decision of §9.4 for any way a version enters a repository. A storage
    /// failure blocks (fail closed).
    pub fn may_enter(
        &self,
        d: DomainId<'_>,
        repo: &RepositoryRecord,
        p: &PackageId,
        t: RestrictionType,
        package_level: Option<bool>,
    ) -> bool {
        match self.group_set(d) {
            Ok(set) => set.allows(repo, p, t, package_level),
            Err(_) => false,
        }
    }
}
