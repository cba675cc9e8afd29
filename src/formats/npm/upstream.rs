//! The adapter for public npm registries behind external connections: packuments read at
//! the configured URL, tarballs fetched from the links they carry (on that origin only) and
//! checked against the integrity the registry declared.

use super::publish::{check_integrity, metadata_of};
use super::{NpmName, MAX_PUBLISH_BYTES, TARBALL_ASSET};
use crate::endpoints::RepoCx;
use crate::registry::{ExternalPackage, ExternalSource, ExternalVersion, NewAsset, PackageId};
use serde_json::{Map, Value};

/// The public npm registry an external connection is configured to reach.
pub struct Public<'a> {
    pub(super) cx: &'a RepoCx<'a>,
}

impl Public<'_> {
    fn packument(&self, connection: &str, p: &PackageId) -> Option<Map<String, Value>> {
        let name = NpmName {
            scope: p.namespace.clone(),
            name: p.name.clone(),
        };
        let path = match &name.scope {
            Some(scope) => format!("@{scope}%2f{}", name.name),
            None => name.name.clone(),
        };
        let upstream = self.cx.upstream(connection)?;
        let body = upstream.listing(
            &format!("{}/{path}", upstream.base()),
            "application/json",
            MAX_PUBLISH_BYTES,
        )?;
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(doc)) => Some(doc),
            _ => {
                tracing::warn!(
                    connection,
                    package = name.full(),
                    "upstream packument is not a JSON object"
                );
                None
            }
        }
    }

    fn versions_of(doc: &Map<String, Value>, name: &NpmName) -> Vec<ExternalVersion> {
        let Some(Value::Object(versions)) = doc.get("versions") else {
            return Vec::new();
        };
        let times = doc.get("time").and_then(Value::as_object);
        versions
            .iter()
            .filter_map(|(version, manifest)| {
                let manifest = manifest.as_object()?;
                semver::Version::parse(version).ok()?;
                let published_ms = times
                    .and_then(|t| t.get(version))
                    .and_then(Value::as_str)
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .map_or(0, |t| t.timestamp_millis());
                Some(ExternalVersion {
                    version: version.clone(),
                    display_name: name.full(),
                    published_ms,
                    metadata: metadata_of(manifest, doc),
                    assets: Vec::new(),
                })
            })
            .collect()
    }
}

impl ExternalSource for Public<'_> {
    fn list(&self, connection: &str, p: &PackageId) -> Option<ExternalPackage> {
        let doc = self.packument(connection, p)?;
        let name = NpmName {
            scope: p.namespace.clone(),
            name: p.name.clone(),
        };
        let dist_tags = doc
            .get("dist-tags")
            .and_then(Value::as_object)
            .map(|tags| {
                tags.iter()
                    .filter_map(|(tag, v)| v.as_str().map(|v| (tag.clone(), v.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        Some(ExternalPackage {
            versions: Self::versions_of(&doc, &name),
            dist_tags,
        })
    }

    fn fetch(&self, connection: &str, p: &PackageId, version: &str) -> Option<ExternalVersion> {
        let doc = self.packument(connection, p)?;
        let name = NpmName {
            scope: p.namespace.clone(),
            name: p.name.clone(),
        };
        let mut listed = Self::versions_of(&doc, &name)
            .into_iter()
            .find(|v| v.version == version)?;
        let public_dist = doc.get("versions")?.get(version)?.get("dist")?.clone();
        let tarball_url = public_dist.get("tarball")?.as_str()?;
        let (staged, _) =
            self.cx
                .upstream(connection)?
                .file(tarball_url, MAX_PUBLISH_BYTES, |staged| {
                    check_integrity(Some(&public_dist), staged)
                })?;
        listed
            .assets
            .push(NewAsset::new(TARBALL_ASSET.to_string(), staged));
        Some(listed)
    }
}
