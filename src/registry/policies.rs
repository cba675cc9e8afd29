//! Domain and repository resource policies: stored verbatim, replaced under an optional
//! revision check (an optimistic lock), deleted likewise.

use super::store::Key;
use super::{DomainId, Error, PolicyRecord, Registry, ResourceKind, Result};
use base64::Engine as _;

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

/// Checks that a document looks like an IAM resource policy: JSON, a known `Version` if
/// any, and statements with an effect, a principal and an action.
pub fn validate_policy_document(document: &str) -> Result<()> {
    let invalid = |why: &str| Err(Error::Invalid(format!("Invalid policy document: {why}")));
    let Ok(serde_json::Value::Object(policy)) = serde_json::from_str(document) else {
        return invalid("the document is not a JSON object");
    };
    if let Some(version) = policy.get("Version") {
        if !matches!(version.as_str(), Some("2012-10-17" | "2008-10-17")) {
            return invalid("Version must be 2012-10-17 or 2008-10-17");
        }
    }
    let statements = match policy.get("Statement") {
        Some(serde_json::Value::Array(list)) if !list.is_empty() => list.iter().collect(),
        Some(one @ serde_json::Value::Object(_)) => vec![one],
        _ => return invalid("Statement is missing"),
    };
    for statement in statements {
        let Some(statement) = statement.as_object() else {
            return invalid("each Statement must be an object");
        };
        if !matches!(
            statement.get("Effect").and_then(|e| e.as_str()),
            Some("Allow" | "Deny")
        ) {
            return invalid("each Statement needs an Effect of Allow or Deny");
        }
        if !statement.contains_key("Principal") && !statement.contains_key("NotPrincipal") {
            return invalid("each Statement needs a Principal or NotPrincipal");
        }
        if !statement.contains_key("Action") && !statement.contains_key("NotAction") {
            return invalid("each Statement needs an Action or NotAction");
        }
    }
    Ok(())
}
