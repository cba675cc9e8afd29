//! Persisted records. Deliberately not the wire DTOs: they hold what the service must
//! remember, in a form that can evolve with its own version number.

use serde::{Deserialize, Serialize};

/// Marks the store's schema; written once when a store is created.
#[derive(Debug, Serialize, Deserialize)]
pub(in crate::registry) struct SchemaRecord {
    pub version: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DomainRecord {
    pub name: String,
    pub owner: String,
    pub region: String,
    pub created_ms: i64,
    pub encryption_key: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UpstreamRef {
    /// Identity of the upstream repository at the time the link was made; a repository
    /// re-created with the same name has a new id, so the link stays dangling (as in AWS).
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RepositoryRecord {
    pub id: String,
    pub name: String,
    pub domain: String,
    pub domain_owner: String,
    pub region: String,
    pub administrator_account: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub upstreams: Vec<UpstreamRef>,
    #[serde(default)]
    pub external_connections: Vec<String>,
    pub created_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicyRecord {
    pub revision: String,
    /// The document exactly as submitted; returned verbatim.
    pub document: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PackageGroupRecord {
    pub pattern: String,
    pub created_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_info: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Origin restriction modes by restriction type (`PUBLISH`, `EXTERNAL_UPSTREAM`,
    /// `INTERNAL_UPSTREAM`) → mode (`ALLOW`, `BLOCK`, `ALLOW_SPECIFIC_REPOSITORIES`, `INHERIT`).
    pub restrictions: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TagsRecord {
    /// Key → value, in the order tags were first added.
    pub tags: Vec<(String, String)>,
}
