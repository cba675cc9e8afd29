//! A public Maven repository behind an external connection (`public:maven-central` and the
//! other Maven connections), reached only at the URL the user configured for it.
//!
//! Listing reads the artifact's `maven-metadata.xml`. Importing a version fetches the files
//! a Maven repository is expected to have, `{a}-{v}.pom`, the main artifact (`.jar`, or
//! the POM's packaging), `-sources.jar` and `-javadoc.jar`, each verified against the
//! repository's `.sha1` when it has one (upstreams spec §5.3). Any other file is imported
//! on its first request and added to the version in the repository asked and in the one
//! owning the connection, the two that retain it (upstreams spec §4). Snapshots are never
//! imported.

use super::{coordinates, metadata, pom};
use crate::endpoints::RepoCx;
use crate::registry::{
    AssetRef, Error, ExternalPackage, ExternalSource, ExternalVersion, NewAsset, Origin, PackageId,
    VersionMetadata, VersionRecord,
};
use bytes::Bytes;

/// Largest file imported from a public repository (held in memory while verified).
const MAX_IMPORT_BYTES: usize = 1 << 30;

/// The public Maven repository an external connection is configured to reach.
pub struct PublicMaven<'a> {
    cx: &'a RepoCx<'a>,
}

impl<'a> PublicMaven<'a> {
    pub fn new(cx: &'a RepoCx<'a>) -> Self {
        PublicMaven { cx }
    }

    /// `{base}/{group as dirs}/{artifact}`, or `None` when the connection has no URL.
    fn artifact_url(&self, connection: &str, p: &PackageId) -> Option<String> {
        let base = self.cx.upstream(connection)?.base().to_string();
        let group = p.namespace.as_deref()?.replace('.', "/");
        Some(format!("{base}/{group}/{}", p.name))
    }

    /// One file of a version, checked against the repository's SHA-1 of it when there is
    /// one, and staged for the store.
    fn file(
        &self,
        connection: &str,
        p: &PackageId,
        version: &str,
        file: &str,
    ) -> Option<(NewAsset, Bytes)> {
        let upstream = self.cx.upstream(connection)?;
        let url = format!("{}/{version}/{file}", self.artifact_url(connection, p)?);
        let (blob, bytes) = upstream.file(&url, MAX_IMPORT_BYTES, |staged| {
            let Some(published) = upstream.get(&format!("{url}.sha1"), "text/plain", 1024) else {
                return Ok(());
            };
            let published = String::from_utf8_lossy(&published);
            let published = published.split_whitespace().next().unwrap_or("");
            if published.eq_ignore_ascii_case(&staged.digests().sha1) {
                Ok(())
            } else {
                Err("the file does not match its .sha1".to_string())
            }
        })?;
        Some((NewAsset::new(file, blob), bytes))
    }

    /// A file a version imported from a public repository did not have yet: fetched through
    /// the same connection and added to the version where a fetch retains it, in this
    /// repository and in the one owning the connection (never in a repository between
    /// them). `None` when the public repository lacks the file too, or when this repository
    /// blocks upstream for the package.
    pub fn import_file(
        &self,
        p: &PackageId,
        version: &VersionRecord,
        file: &str,
    ) -> Result<Option<AssetRef>, Error> {
        let Origin::External { connection } = &version.origin else {
            return Ok(None);
        };
        let registry = &self.cx.app.registry;
        if !registry.package(&self.cx.repo, p)?.allow_upstream {
            return Ok(None);
        }
        let Some((asset, _)) = self.file(connection, p, &version.version, file) else {
            return Ok(None);
        };
        let added = AssetRef {
            name: asset.name.clone(),
            sha256: asset.blob.digests().sha256.clone(),
            size: asset.blob.size(),
            properties: Default::default(),
        };
        let mut blob = Some(asset.blob);
        for (holder, stored) in registry.holders(&self.cx.repo, p, &version.version)? {
            let retains = holder.id == self.cx.repo.id
                || holder.external_connections.iter().any(|c| c == connection);
            if !retains
                || stored.origin != version.origin
                || stored.assets.iter().any(|a| a.name == file)
            {
                continue;
            }
            let staged: Vec<_> = blob.take().into_iter().collect();
            registry.edit_versions(&holder, p, staged, |versions| {
                if let Some(v) = versions.get_mut(&version.version) {
                    if !v.assets.iter().any(|a| a.name == file) {
                        v.assets.push(added.clone());
                    }
                }
                Ok(())
            })?;
        }
        Ok(Some(added))
    }
}

impl ExternalSource for PublicMaven<'_> {
    fn list(&self, connection: &str, p: &PackageId) -> Option<ExternalPackage> {
        let url = format!("{}/maven-metadata.xml", self.artifact_url(connection, p)?);
        let body =
            self.cx
                .upstream(connection)?
                .listing(&url, "application/xml", 16 * 1024 * 1024)?;
        let doc = match metadata::parse(&body) {
            Ok(doc) => doc,
            Err(why) => {
                tracing::warn!(
                    connection,
                    why,
                    "upstream maven-metadata.xml not understood"
                );
                return None;
            }
        };
        let published_ms = doc
            .last_updated
            .as_deref()
            .and_then(metadata::parse_timestamp)
            .unwrap_or(0);
        let versions = doc
            .versions
            .into_iter()
            .filter(|v| !v.ends_with("-SNAPSHOT") && !coordinates::is_snapshot_build(v))
            .filter(|v| coordinates::parse(&format!("g/a/{v}/a-{v}.pom")).is_some())
            .map(|version| ExternalVersion {
                version,
                display_name: p.name.clone(),
                published_ms,
                metadata: VersionMetadata::default(),
                assets: Vec::new(),
            })
            .collect();
        Some(ExternalPackage {
            versions,
            dist_tags: Default::default(),
        })
    }

    fn fetch(&self, connection: &str, p: &PackageId, version: &str) -> Option<ExternalVersion> {
        if version.ends_with("-SNAPSHOT") || coordinates::is_snapshot_build(version) {
            return None;
        }
        let a = &p.name;
        let mut assets = Vec::new();
        let mut metadata = VersionMetadata::default();
        let mut main = "jar".to_string();
        if let Some((asset, bytes)) =
            self.file(connection, p, version, &format!("{a}-{version}.pom"))
        {
            if let Ok(parsed) = pom::parse(&bytes) {
                main = main_extension(parsed.packaging.as_deref()).to_string();
                metadata = parsed.into_metadata();
            }
            assets.push(asset);
        }
        let mut names = vec![
            format!("{a}-{version}.{main}"),
            format!("{a}-{version}-sources.jar"),
            format!("{a}-{version}-javadoc.jar"),
        ];
        if main != "jar" {
            names.insert(1, format!("{a}-{version}.jar"));
        }
        for name in names {
            if let Some((asset, _)) = self.file(connection, p, version, &name) {
                assets.push(asset);
            }
        }
        if assets.is_empty() {
            return None;
        }
        Some(ExternalVersion {
            version: version.to_string(),
            display_name: p.name.clone(),
            published_ms: 0,
            metadata,
            assets,
        })
    }
}

/// The extension of a version's main artifact for a POM `<packaging>`: plugins and OSGi
/// bundles are jars, a `pom` project's main artifact is its POM.
fn main_extension(packaging: Option<&str>) -> &str {
    match packaging.unwrap_or("jar") {
        "" | "jar" | "bundle" | "maven-plugin" | "eclipse-plugin" | "ejb" | "pom" => "jar",
        other => other,
    }
}
