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
    /// Restriction type → repositories allowed under `ALLOW_SPECIFIC_REPOSITORIES`.
    #[serde(default)]
    pub allowed: std::collections::BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TagsRecord {
    /// Key → value, in the order tags were first added.
    pub tags: Vec<(String, String)>,
}

/// A package in one repository, with its package-level origin controls.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PackageRecord {
    pub format: String,
    /// Normalised; `None` for packages without a namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Normalised name.
    pub name: String,
    /// The name as first published (PyPI and NuGet keep the original spelling here).
    pub display_name: String,
    /// Origin controls: `true` = ALLOW.
    pub allow_publish: bool,
    pub allow_upstream: bool,
    pub created_ms: i64,
    /// npm dist-tags of this package in this repository: tag → version.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub dist_tags: std::collections::BTreeMap<String, String>,
}

/// The statuses a stored version can have (a deleted version has no record).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum VersionStatus {
    Published,
    Unfinished,
    Unlisted,
    Archived,
    Disposed,
}

impl VersionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VersionStatus::Published => "Published",
            VersionStatus::Unfinished => "Unfinished",
            VersionStatus::Unlisted => "Unlisted",
            VersionStatus::Archived => "Archived",
            VersionStatus::Disposed => "Disposed",
        }
    }
}

/// How a version first entered the domain; kept when it is copied or retained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Origin {
    /// Published directly to this repository.
    Internal {
        repository: String,
    },
    /// Ingested through this external connection.
    External {
        connection: String,
    },
    Unknown,
}

/// One asset of a version: a name and the content it refers to in the domain's blob store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetRef {
    pub name: String,
    pub sha256: String,
    pub size: u64,
    /// What a format records per file (PyPI: `requires-python`, `upload-time`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub properties: std::collections::BTreeMap<String, String>,
}

impl AssetRef {
    /// Property marking an asset that is the version's metadata document rather than one
    /// of its files (Maven's uploaded `maven-metadata.xml`): listed with the assets, but a
    /// change to it is a metadata change (events spec §4).
    pub const METADATA_DOCUMENT: &'static str = "metadata-document";

    pub fn is_metadata_document(&self) -> bool {
        self.properties.contains_key(Self::METADATA_DOCUMENT)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct License {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub package: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependency_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_requirement: Option<String>,
}

/// What a format's manifest says about a version (never set for generic packages).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionMetadata {
    /// The format's own manifest of the version as published (npm: the version object of
    /// the packument), served back to package managers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_page: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_code_repository: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<License>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readme: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Dependency>,
}

/// A package version in one repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionRecord {
    pub version: String,
    pub status: VersionStatus,
    /// Identifies assets and metadata; unchanged by status changes.
    pub revision: String,
    pub origin: Origin,
    /// When the version entered this repository.
    pub published_ms: i64,
    /// In the order they were added.
    #[serde(default)]
    pub assets: Vec<AssetRef>,
    #[serde(default)]
    pub metadata: VersionMetadata,
}

/// A version as a listing shows it: no assets, no metadata. The value of its entry in the
/// version-order index, derived from its `VersionRecord` (whose JSON it reads, ignoring the
/// rest) by the store at every commit that writes the version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionSummary {
    pub version: String,
    pub status: VersionStatus,
    pub revision: String,
    pub origin: Origin,
    pub published_ms: i64,
}

/// A blob in a domain's content-addressed store, with every digest the API reports and the
/// number of asset references to it across the domain's repositories.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BlobRecord {
    pub size: u64,
    pub md5: String,
    pub sha1: String,
    pub sha256: String,
    pub sha512: String,
    pub references: u64,
}

/// Bytes of distinct blobs a domain stores.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct UsageRecord {
    pub asset_size_bytes: u64,
}
