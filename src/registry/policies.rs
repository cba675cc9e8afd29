//! Domain and repository resource policies: stored verbatim, replaced under an optional
//! revision check (an optimistic lock), deleted likewise.

use super::store::Key;
use super::{DomainId, Error, PolicyRecord, Registry, ResourceKind, Result};
use crate::access::{Kind, Policy};
use base64::Engine as _;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Which resource a policy is attached to.
#[derive(Debug, Clone, Copy)]
pub enum PolicyTarget<'a> {
    Domain(DomainId<'a>),
    Repository(DomainId<'a>, &'a str),
}

impl PolicyTarget<'_> {
    fn key(&self) -> Key {
        match *self {
            PolicyTarget::Domain(d) => Key::domain_policy(d.region, d.owner, d.name),
            PolicyTarget::Repository(d, r) => Key::repository_policy(d.region, d.owner, d.name, r),
        }
    }

    fn kind(&self) -> ResourceKind {
        match self {
            PolicyTarget::Domain(_) => ResourceKind::Domain,
            PolicyTarget::Repository(..) => ResourceKind::Repository,
        }
    }

    fn name(&self) -> &str {
        match self {
            PolicyTarget::Domain(d) => d.name,
            PolicyTarget::Repository(_, r) => r,
        }
    }

    fn no_policy(&self) -> Error {
        let (what, name) = match self {
            PolicyTarget::Domain(d) => ("domain", d.name),
            PolicyTarget::Repository(_, r) => ("repository", *r),
        };
        Error::NotFound {
            kind: self.kind(),
            id: name.to_string(),
            message: format!("No resource policy set on {what} '{name}'"),
        }
    }

    fn revision_mismatch(&self, given: &str) -> Error {
        Error::Conflict {
            kind: self.kind(),
            id: self.name().to_string(),
            message: format!(
                "Policy revision '{given}' does not match the current revision of the \
                 policy on '{}'",
                self.name()
            ),
        }
    }
}

impl Registry {
    /// The target's existence is checked first, so a missing domain or repository is
    /// reported before a missing policy.
    fn check_target(&self, target: PolicyTarget<'_>) -> Result<()> {
        match target {
            PolicyTarget::Domain(d) => self.domain(d).map(drop),
            PolicyTarget::Repository(d, r) => self.repository(d, r).map(drop),
        }
    }

    pub fn policy(&self, target: PolicyTarget<'_>) -> Result<PolicyRecord> {
        self.check_target(target)?;
        self.kv
            .get::<PolicyRecord>(&target.key())?
            .ok_or_else(|| target.no_policy())
    }

    /// The stored policy if any, without existence checks (for access evaluation).
    pub fn policy_if_any(&self, target: PolicyTarget<'_>) -> Result<Option<PolicyRecord>> {
        Ok(self.kv.get::<PolicyRecord>(&target.key())?)
    }

    /// The resource policies that govern `target`, parsed: a domain's own; for a
    /// repository (and its packages) the domain's and then the repository's.
    pub fn resource_policies(&self, target: PolicyTarget<'_>) -> Result<Vec<Arc<Policy>>> {
        let mut out = Vec::with_capacity(2);
        let d = match target {
            PolicyTarget::Domain(d) | PolicyTarget::Repository(d, _) => d,
        };
        for t in [
            Some(PolicyTarget::Domain(d)),
            matches!(target, PolicyTarget::Repository(..)).then_some(target),
        ]
        .into_iter()
        .flatten()
        {
            // The generation is read before the record, so a commit in between only
            // makes the next request read again.
            let generation = self.generation();
            let parsed = self
                .parsed_policies
                .get(&t.key(), generation, || self.policy_if_any(t))?;
            out.extend(parsed);
        }
        Ok(out)
    }

    /// Sets the policy. With `expected_revision`, the put succeeds only if the current
    /// policy has exactly that revision.
    pub fn put_policy(
        &self,
        target: PolicyTarget<'_>,
        document: &str,
        expected_revision: Option<&str>,
    ) -> Result<PolicyRecord> {
        validate_policy_document(document)?;
        let mut tx = self.begin_write();
        self.check_target(target)?;
        let current = self.kv.get::<PolicyRecord>(&target.key())?;
        if let Some(expected) = expected_revision {
            if current.as_ref().is_none_or(|c| c.revision != expected) {
                return Err(target.revision_mismatch(expected));
            }
        }
        let record = PolicyRecord {
            revision: base64::engine::general_purpose::STANDARD
                .encode(crate::clock::random_bytes::<32>()),
            document: document.to_string(),
        };
        tx.put(&target.key(), &record);
        tx.commit()?;
        Ok(record)
    }

    /// Deletes the policy and returns it.
    pub fn delete_policy(
        &self,
        target: PolicyTarget<'_>,
        expected_revision: Option<&str>,
    ) -> Result<PolicyRecord> {
        let mut tx = self.begin_write();
        let current = self.policy(target)?;
        if let Some(expected) = expected_revision {
            if current.revision != expected {
                return Err(target.revision_mismatch(expected));
            }
        }
        tx.delete(&target.key());
        tx.commit()?;
        Ok(current)
    }
}

/// Checks a resource policy the way the service does (JSON, grammar, known actions, ARNs,
/// principals, condition operators), with the reason in the message.
pub fn validate_policy_document(document: &str) -> Result<()> {
    Policy::parse(document, Kind::Resource)
        .map(drop)
        .map_err(|e| Error::Invalid(e.to_string()))
}

/// Parsed policies by storage key, valid while the store's commit generation has not moved
/// (so an unchanged store is not read at all), and by revision (so a re-read of an unchanged
/// policy is not parsed again). A stored document that no longer parses (written by an
/// older, laxer version) is evaluated as denying everything, never as allowing.
#[derive(Default)]
pub(super) struct ParsedPolicies(Mutex<Cached>);

#[derive(Default)]
struct Cached {
    generation: u64,
    by_key: HashMap<Vec<u8>, Option<Arc<Policy>>>,
    by_revision: HashMap<String, Arc<Policy>>,
}

impl ParsedPolicies {
    fn get(
        &self,
        key: &Key,
        generation: u64,
        read: impl FnOnce() -> Result<Option<PolicyRecord>>,
    ) -> Result<Option<Arc<Policy>>> {
        let mut cache = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.generation != generation {
            cache.generation = generation;
            cache.by_key.clear();
        }
        if let Some(found) = cache.by_key.get(key.as_bytes()) {
            return Ok(found.clone());
        }
        let parsed = match read()? {
            None => None,
            Some(record) => Some(match cache.by_revision.get(&record.revision) {
                Some(parsed) => Arc::clone(parsed),
                None => {
                    let parsed = Arc::new(
                        Policy::parse(&record.document, Kind::Resource)
                            .unwrap_or_else(|_| Policy::deny_all()),
                    );
                    if cache.by_revision.len() >= 1024 {
                        cache.by_revision.clear();
                    }
                    cache
                        .by_revision
                        .insert(record.revision, Arc::clone(&parsed));
                    parsed
                }
            }),
        };
        cache.by_key.insert(key.as_bytes().to_vec(), parsed.clone());
        Ok(parsed)
    }
}
