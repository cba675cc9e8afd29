//! The adapter for public sparse registries behind external connections: index files read
//! at the configured URL, crates downloaded from its `config.json`'s `dl` (on that origin,
//! or one the user allowed) and checked against the index's `cksum`.

use super::publish::{read_crate, string, version_metadata};
use super::{index_dirs, MAX_PUBLISH_BYTES};
use crate::endpoints::upstream::sha256_is;
use crate::endpoints::RepoCx;
use crate::registry::VersionMetadata;
use crate::registry::{ExternalPackage, ExternalSource, ExternalVersion, NewAsset, PackageId};
use serde_json::{Map, Value};

/// The public crate registry an external connection (`public:crates-io`) is configured to
/// reach: a sparse index root whose `config.json` says where crates download from.
pub struct PublicCrates<'a> {
    pub(super) cx: &'a RepoCx<'a>,
}

impl PublicCrates<'_> {
    /// The crate's index lines on the public registry, by version.
    fn lines(&self, connection: &str, p: &PackageId) -> Option<Vec<Map<String, Value>>> {
        let upstream = self.cx.upstream(connection)?;
        let url = format!("{}/{}/{}", upstream.base(), index_dirs(&p.name), p.name);
        let body = upstream.listing(&url, "text/plain", 64 * 1024 * 1024)?;
        Some(
            String::from_utf8_lossy(&body)
                .lines()
                .filter_map(|line| match serde_json::from_str::<Value>(line) {
                    Ok(Value::Object(map)) => Some(map),
                    _ => None,
                })
                .filter(|line| {
                    string(line, "name").is_some_and(|n| n.eq_ignore_ascii_case(&p.name))
                        && string(line, "vers").is_some_and(|v| semver::Version::parse(&v).is_ok())
                })
                .collect(),
        )
    }

    /// Where the public registry serves a crate file (`dl` of its `config.json`, with or
    /// without `{crate}`/`{version}` markers).
    fn download_url(&self, connection: &str, name: &str, version: &str) -> Option<String> {
        let upstream = self.cx.upstream(connection)?;
        let config = upstream.listing(
            &format!("{}/config.json", upstream.base()),
            "application/json",
            1024 * 1024,
        )?;
        let dl = serde_json::from_slice::<Value>(&config)
            .ok()?
            .get("dl")?
            .as_str()?
            .to_string();
        let markers = [
            "{crate}",
            "{version}",
            "{prefix}",
            "{lowerprefix}",
            "{sha256-checksum}",
        ];
        let url = if markers.iter().any(|m| dl.contains(m)) {
            dl.replace("{crate}", name)
                .replace("{version}", version)
                .replace("{prefix}", &index_dirs(name))
                .replace("{lowerprefix}", &index_dirs(name))
        } else {
            format!("{}/{name}/{version}/download", dl.trim_end_matches('/'))
        };
        Some(url)
    }
}

/// The metadata of a public registry's version: its index line, and what the crate's own
/// Cargo.toml says (description, licence, links) once the crate has been fetched. The
/// manifest's `readme` is a file name, not the readme, so it is left out.
fn line_metadata(line: Map<String, Value>, package: Option<Map<String, Value>>) -> VersionMetadata {
    let mut line = line;
    line.insert("yanked".into(), Value::Bool(false));
    let mut package = package.unwrap_or_default();
    package.remove("readme");
    version_metadata(&package, line)
}

impl ExternalSource for PublicCrates<'_> {
    fn list(&self, connection: &str, p: &PackageId) -> Option<ExternalPackage> {
        let versions = self
            .lines(connection, p)?
            .into_iter()
            .filter_map(|line| {
                Some(ExternalVersion {
                    version: string(&line, "vers")?,
                    display_name: string(&line, "name")?,
                    published_ms: 0,
                    metadata: line_metadata(line, None),
                    assets: Vec::new(),
                })
            })
            .collect();
        Some(ExternalPackage {
            versions,
            dist_tags: Default::default(),
        })
    }

    /// Downloads the `.crate`, verified against the index's `cksum`.
    fn fetch(&self, connection: &str, p: &PackageId, version: &str) -> Option<ExternalVersion> {
        let line = self
            .lines(connection, p)?
            .into_iter()
            .find(|line| string(line, "vers").as_deref() == Some(version))?;
        let name = string(&line, "name")?;
        let cksum = string(&line, "cksum")?.to_ascii_lowercase();
        let url = self.download_url(connection, &name, version)?;
        let (blob, bytes) =
            self.cx
                .upstream(connection)?
                .file(&url, MAX_PUBLISH_BYTES, sha256_is(&cksum))?;
        Some(ExternalVersion {
            version: version.to_string(),
            display_name: name.clone(),
            published_ms: 0,
            metadata: line_metadata(line, read_crate(&bytes[..], &name, version).ok()),
            assets: vec![NewAsset::new(format!("{name}-{version}.crate"), blob)],
        })
    }
}
