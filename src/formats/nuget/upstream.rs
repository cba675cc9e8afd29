//! The adapter for public NuGet feeds behind an external connection (`public:nuget-org`):
//! the feed's service index (at the configured URL, or `v3/index.json` under it) names its
//! registrations and package base address; versions are read from the registration index
//! (and the pages it links), or from the flat container's version list when the feed has
//! no registrations; packages are downloaded from the package base address and their
//! nuspec read from the package itself. Every URL goes through `RepoCx::upstream`, so only
//! the configured origin is reached.

use super::nupkg::{self, read_nupkg, valid_id, valid_version, Dep, DepGroup, Nuspec};
use super::{Format as _, Nuget, MAX_NUPKG_BYTES};
use crate::endpoints::upstream::Upstream;
use crate::endpoints::RepoCx;
use crate::registry::{ExternalPackage, ExternalSource, ExternalVersion, NewAsset, PackageId};
use serde_json::Value;

/// Largest listing document read from a public feed.
const MAX_LISTING_BYTES: usize = 64 * 1024 * 1024;
/// Most linked registration pages read for one package.
const MAX_PAGES: usize = 64;

/// The public NuGet feed an external connection is configured to reach.
pub struct PublicNuget<'a> {
    pub(super) cx: &'a RepoCx<'a>,
}

/// What a feed's service index offers, as absolute URLs ending with `/`.
#[derive(Debug, Default, PartialEq, Eq)]
struct Resources {
    package_base: Option<String>,
    registrations: Option<String>,
}

/// Reads a service index: the first resource of each kind in NuGet's order of preference.
fn resources(body: &[u8]) -> Option<Resources> {
    let index: Value = serde_json::from_slice(body).ok()?;
    let list = index.get("resources")?.as_array()?;
    let find = |types: &[&str]| {
        types.iter().find_map(|t| {
            list.iter().find_map(|r| {
                (r.get("@type")?.as_str()? == *t)
                    .then(|| r.get("@id")?.as_str())
                    .flatten()
                    .map(|id| format!("{}/", id.trim_end_matches('/')))
            })
        })
    };
    Some(Resources {
        package_base: find(&["PackageBaseAddress/Versioned", "PackageBaseAddress/3.0.0"]),
        registrations: find(&[
            "RegistrationsBaseUrl/Versioned",
            "RegistrationsBaseUrl/3.6.0",
            "RegistrationsBaseUrl/3.4.0",
            "RegistrationsBaseUrl/3.0.0-rc",
            "RegistrationsBaseUrl/3.0.0-beta",
            "RegistrationsBaseUrl",
        ]),
    })
}

/// A catalog entry as registrations inline it, read into a nuspec; `None` when its id or
/// version is not one NuGet could have written, or the version is unlisted.
fn from_catalog_entry(entry: &Value, lower_id: &str) -> Option<Nuspec> {
    let text = |key: &str| {
        entry
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let strings = |key: &str| -> Vec<String> {
        match entry.get(key) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            Some(Value::String(s)) => s
                .split([' ', ','])
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        }
    };
    let id = text("id")?;
    let version = text("version")?;
    if !valid_id(&id) || id.to_lowercase() != lower_id || !valid_version(&version) {
        return None;
    }
    if entry.get("listed").and_then(Value::as_bool) == Some(false) {
        return None;
    }
    let mut dependency_groups = Vec::new();
    for group in entry
        .get("dependencyGroups")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let mut dependencies = Vec::new();
        for dep in group
            .get("dependencies")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let dep_id = dep.get("id").and_then(Value::as_str)?;
            if !valid_id(dep_id) {
                return None;
            }
            dependencies.push(Dep {
                id: dep_id.to_string(),
                range: dep
                    .get("range")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            });
        }
        dependency_groups.push(DepGroup {
            target_framework: group
                .get("targetFramework")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_string),
            dependencies,
        });
    }
    let authors = match entry.get("authors") {
        Some(Value::Array(a)) => Some(
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    }
    .filter(|a| !a.is_empty());
    Some(Nuspec {
        id,
        version: nupkg::normalized(&version),
        original_version: version,
        title: text("title"),
        authors,
        description: text("description"),
        summary: text("summary"),
        project_url: text("projectUrl"),
        icon_url: text("iconUrl"),
        license_url: text("licenseUrl"),
        license_expression: text("licenseExpression"),
        license_file: None,
        require_license_acceptance: entry
            .get("requireLicenseAcceptance")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        tags: strings("tags"),
        repository_url: None,
        language: text("language"),
        min_client_version: text("minClientVersion"),
        readme_file: None,
        dependency_groups,
    })
}

impl PublicNuget<'_> {
    /// The feed's resources, from its service index (reused for the metadata TTL).
    fn resources(&self, upstream: &Upstream<'_>) -> Option<Resources> {
        let base = upstream.base();
        let index = if base.ends_with("/index.json") {
            base.to_string()
        } else {
            format!("{base}/v3/index.json")
        };
        let body = upstream.listing(&index, "application/json", MAX_LISTING_BYTES)?;
        resources(&body)
    }

    /// The package's listed versions on the feed, as nuspecs.
    fn specs(&self, upstream: &Upstream<'_>, lower_id: &str) -> Option<Vec<Nuspec>> {
        let res = self.resources(upstream)?;
        if let Some(registrations) = &res.registrations {
            let url = format!("{registrations}{lower_id}/index.json");
            let body = upstream.listing(&url, "application/json", MAX_LISTING_BYTES)?;
            let index: Value = serde_json::from_slice(&body).ok()?;
            let mut specs = Vec::new();
            let pages = index.get("items").and_then(Value::as_array)?;
            for page in pages.iter().take(MAX_PAGES) {
                let fetched;
                let page = if page.get("items").is_some() {
                    page
                } else {
                    let page_url = page.get("@id").and_then(Value::as_str)?;
                    let body = upstream.listing(page_url, "application/json", MAX_LISTING_BYTES)?;
                    fetched = serde_json::from_slice::<Value>(&body).ok()?;
                    &fetched
                };
                for leaf in page
                    .get("items")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(spec) = leaf
                        .get("catalogEntry")
                        .and_then(|e| from_catalog_entry(e, lower_id))
                    {
                        specs.push(spec);
                    }
                }
            }
            return Some(specs);
        }
        let base = res.package_base?;
        let body = upstream.listing(
            &format!("{base}{lower_id}/index.json"),
            "application/json",
            MAX_LISTING_BYTES,
        )?;
        let list: Value = serde_json::from_slice(&body).ok()?;
        Some(
            list.get("versions")?
                .as_array()?
                .iter()
                .filter_map(Value::as_str)
                .filter(|v| valid_version(v))
                .map(|v| Nuspec {
                    id: lower_id.to_string(),
                    version: nupkg::normalized(v),
                    original_version: v.to_string(),
                    ..Nuspec::default()
                })
                .collect(),
        )
    }
}

impl ExternalSource for PublicNuget<'_> {
    fn list(&self, connection: &str, p: &PackageId) -> Option<ExternalPackage> {
        let upstream = self.cx.upstream(connection)?;
        let versions = self
            .specs(&upstream, &p.name)?
            .into_iter()
            .map(|spec| ExternalVersion {
                version: spec.version.clone(),
                display_name: spec.id.clone(),
                published_ms: 0,
                metadata: spec.version_metadata(None),
                assets: Vec::new(),
            })
            .collect();
        Some(ExternalPackage {
            versions,
            dist_tags: Default::default(),
        })
    }

    /// Downloads the package from the feed's package base address; its nuspec must name
    /// the id and version asked for. NuGet feeds list no digest to check the bytes against.
    fn fetch(&self, connection: &str, p: &PackageId, version: &str) -> Option<ExternalVersion> {
        let upstream = self.cx.upstream(connection)?;
        let listed = self
            .specs(&upstream, &p.name)?
            .into_iter()
            .find(|s| Nuget::same_version(&s.version, version))?;
        let base = self.resources(&upstream)?.package_base?;
        let v = listed.version.to_lowercase();
        let url = format!("{base}{0}/{v}/{0}.{v}.nupkg", p.name);
        let (blob, bytes) = upstream.file(&url, MAX_NUPKG_BYTES, |_| Ok(()))?;
        let package = match read_nupkg(&bytes) {
            Ok(package) => package,
            Err(why) => {
                tracing::warn!(connection, url, why, "upstream package rejected");
                return None;
            }
        };
        let spec = package.nuspec;
        if spec.lower_id() != p.name || !Nuget::same_version(&spec.version, version) {
            tracing::warn!(
                connection,
                version,
                "the upstream package describes another version"
            );
            return None;
        }
        Some(ExternalVersion {
            version: spec.version.clone(),
            display_name: spec.id.clone(),
            published_ms: 0,
            metadata: spec.version_metadata(package.readme),
            assets: vec![NewAsset::new(format!("{}.{v}.nupkg", p.name), blob)],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_service_index_is_read_in_nugets_order_of_preference() {
        let body = json!({"version": "3.0.0", "resources": [
            {"@id": "http://f/reg", "@type": "RegistrationsBaseUrl"},
            {"@id": "http://f/reg-gz-semver2/", "@type": "RegistrationsBaseUrl/3.6.0"},
            {"@id": "http://f/flat/", "@type": "PackageBaseAddress/3.0.0"},
            {"@id": 7, "@type": "PackageBaseAddress/Versioned"},
        ]});
        let res = resources(body.to_string().as_bytes()).unwrap();
        assert_eq!(res.package_base.as_deref(), Some("http://f/flat/"));
        assert_eq!(
            res.registrations.as_deref(),
            Some("http://f/reg-gz-semver2/")
        );
        assert_eq!(resources(b"not json"), None);
    }

    #[test]
    fn catalog_entries_become_nuspecs_or_are_left_out() {
        let entry = json!({
            "id": "Contoso.Core", "version": "1.00.0", "authors": ["A", "B"],
            "dependencyGroups": [{"targetFramework": "net8.0",
                                  "dependencies": [{"id": "Other", "range": "[1.0.0, )"}]}],
            "tags": ["x", "y"], "listed": true,
        });
        let spec = from_catalog_entry(&entry, "contoso.core").unwrap();
        assert_eq!(spec.version, "1.0.0");
        assert_eq!(spec.authors.as_deref(), Some("A, B"));
        assert_eq!(spec.dependency_groups[0].dependencies[0].id, "Other");
        assert!(from_catalog_entry(&entry, "other.package").is_none());
        let mut unlisted = entry.clone();
        unlisted["listed"] = json!(false);
        assert!(from_catalog_entry(&unlisted, "contoso.core").is_none());
        let mut bad = entry.clone();
        bad["dependencyGroups"][0]["dependencies"][0]["id"] = json!("../x");
        assert!(from_catalog_entry(&bad, "contoso.core").is_none());
        let mut bad = entry;
        bad["version"] = json!("1.0; rm");
        assert!(from_catalog_entry(&bad, "contoso.core").is_none());
    }
}
