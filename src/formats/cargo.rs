//! The cargo sparse registry as CodeArtifact serves it (repository-endpoints spec §9):
//! `config.json`, index files, `.crate` downloads and `cargo publish`.
//!
//! A crate version has one asset, `{name}-{version}.crate`. Its index line (what cargo
//! resolves from) is derived once at publish and kept as the version's manifest; a version
//! imported from a public registry keeps the line that registry served.

use super::{Page, RepoCx};
use crate::app::Body;
use crate::registry::{
    Dependency, ExternalPackage, ExternalSource, ExternalVersion, License, NewAsset, PackageId,
    Publish, VersionMetadata, VersionRecord,
};
use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use serde_json::{json, Map, Value};
use sha2::Digest as _;

/// Largest publish request read (metadata plus the `.crate`, held in memory).
const MAX_PUBLISH_BYTES: usize = 256 * 1024 * 1024;

/// Cargo prints the `detail` of each error.
fn error(status: StatusCode, detail: impl Into<String>) -> Response<Body> {
    super::json(status, &json!({ "errors": [{ "detail": detail.into() }] }))
}

fn not_found() -> Response<Body> {
    error(StatusCode::NOT_FOUND, "Not found")
}

fn internal(e: &crate::registry::Error) -> Response<Body> {
    tracing::error!(error = ?e, "cargo request failed");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Internal error; see the server log",
    )
}

/// A crate name as cargo allows it: ASCII letters, digits, `-` and `_`, starting with a
/// letter, at most 64 characters.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Crate names are unique regardless of case: the index path is lowercase, so the
/// package is stored under the lowercase name and keeps the published one for display.
fn package_id(name: &str) -> PackageId {
    PackageId {
        format: "cargo".to_string(),
        namespace: None,
        name: name.to_ascii_lowercase(),
    }
}

/// The index directories of a crate (sparse protocol): `1/`, `2/`, `3/{c}/`, `{ab}/{cd}/`.
fn index_dirs(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    match lower.len() {
        1 => "1".to_string(),
        2 => "2".to_string(),
        3 => format!("3/{}", &lower[..1]),
        _ => format!("{}/{}", &lower[..2], &lower[2..4]),
    }
}

/// What a path under the repository asks for.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    Config,
    Index(String),
    Download {
        name: String,
        version: String,
    },
    Publish,
    /// `yank`, `unyank`, `owners`, search: not offered by the service.
    Unsupported(&'static str),
    NotFound,
}

fn route(method: &Method, rest: &str) -> Route {
    let segments: Vec<&str> = rest.split('/').collect();
    // Nothing in these paths is percent-encoded; an encoded byte is refused outright.
    if rest.contains('%') || segments.iter().any(|s| s.is_empty()) {
        return Route::NotFound;
    }
    match (method, segments.as_slice()) {
        (_, ["config.json"]) => Route::Config,
        (&Method::PUT, ["api", "v1", "crates", "new"]) => Route::Publish,
        (_, ["api", "v1", "crates", name, version, "download"]) => {
            if valid_name(name) && semver::Version::parse(version).is_ok() {
                Route::Download {
                    name: (*name).to_string(),
                    version: (*version).to_string(),
                }
            } else {
                Route::NotFound
            }
        }
        (_, ["api", "v1", "crates", _, _, "yank" | "unyank"]) => {
            Route::Unsupported("yanking crates is not supported by this registry")
        }
        (_, ["api", "v1", "crates", _, "owners"]) => {
            Route::Unsupported("crate owners are not supported by this registry")
        }
        (_, ["api", "v1", "crates"]) => {
            Route::Unsupported("searching is not supported by this registry")
        }
        (_, [dirs @ .., name]) if !dirs.is_empty() && valid_name(name) => {
            if dirs.join("/") == index_dirs(name) {
                Route::Index((*name).to_string())
            } else {
                Route::NotFound
            }
        }
        _ => Route::NotFound,
    }
}

/// Serves one cargo request.
pub async fn serve<B>(cx: &RepoCx<'_>, rest: &str, request: Request<B>) -> Response<Body>
where
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let method = request.method().clone();
    let reading = method == Method::GET || method == Method::HEAD;
    let route = route(&method, rest);
    let action = match &route {
        Route::NotFound => return not_found(),
        Route::Unsupported(why) => return error(StatusCode::METHOD_NOT_ALLOWED, *why),
        Route::Publish => "PublishPackageVersion",
        _ if reading => "ReadFromRepository",
        _ => {
            return error(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("{method} is not supported here"),
            )
        }
    };
    if let Err(message) = cx.allowed(action) {
        return error(StatusCode::FORBIDDEN, message);
    }
    let header = |name| super::header_text(&request, name);
    match route {
        Route::Config => {
            let api = cx.base_url.trim_end_matches('/');
            super::json(
                StatusCode::OK,
                &json!({ "dl": format!("{api}/api/v1/crates"), "api": api, "auth-required": true }),
            )
        }
        Route::Index(name) => {
            let if_none_match = header(header::IF_NONE_MATCH);
            cx.off_worker_if_outbound(|| index_file(cx, &name, if_none_match.as_deref()))
        }
        Route::Download { name, version } => {
            let range = header(header::RANGE);
            download(cx, &name, &version, range.as_deref()).await
        }
        Route::Publish => match super::read_body(request, MAX_PUBLISH_BYTES).await {
            Ok(body) => tokio::task::block_in_place(|| publish(cx, &body)),
            Err(e) => error(e.status(), e.to_string()),
        },
        Route::Unsupported(_) | Route::NotFound => not_found(),
    }
}

/// The index line of a stored or listed version: its manifest, derived at publish (or taken
/// from the public index, whose `cksum` the fetched bytes were checked against).
fn index_line(version: &VersionRecord) -> Option<&Map<String, Value>> {
    version.metadata.manifest.as_ref()?.as_object()
}

/// The crate's index file: one line per visible version of the merged view, in version
/// order. Cargo revalidates it on every build, so it carries an ETag.
fn index_file(cx: &RepoCx<'_>, name: &str, if_none_match: Option<&str>) -> Response<Body> {
    let p = package_id(name);
    let page = cx.cached_page(format!("cargo:{}", p.name), || {
        let merged = cx
            .app
            .registry
            .merged(&cx.repo, &p, Some(&PublicCrates { cx }))?;
        let mut lines: Vec<(semver::Version, String)> = merged
            .versions
            .iter()
            .filter_map(|found| {
                let version = semver::Version::parse(&found.version.version).ok()?;
                let line = index_line(&found.version)?;
                Some((version, serde_json::to_string(line).ok()?))
            })
            .collect();
        if lines.is_empty() {
            return Ok(None);
        }
        lines.sort_by(|a, b| a.0.cmp(&b.0));
        let mut body = String::new();
        for (_, line) in lines {
            body.push_str(&line);
            body.push('\n');
        }
        Ok::<_, crate::registry::Error>(Some(Page::new(body, "text/plain; charset=utf-8")))
    });
    match page {
        Ok(Some(page)) => page.into_response(if_none_match),
        Ok(None) => not_found(),
        Err(e) => internal(&e),
    }
}

async fn download(
    cx: &RepoCx<'_>,
    name: &str,
    version: &str,
    range: Option<&str>,
) -> Response<Body> {
    let p = package_id(name);
    let found = cx.downloadable(&p, version, name, Some(&PublicCrates { cx }), |v| {
        !v.assets.is_empty()
    });
    let version = match found {
        Ok(Some(version)) => version,
        Ok(None) => return not_found(),
        Err(e) => return internal(&e),
    };
    let Some(asset) = version.assets.first() else {
        return not_found();
    };
    let path = cx
        .app
        .registry
        .blob_path(cx.repo.domain_id(), &asset.sha256);
    crate::app::file_response(&path, asset.size, "application/gzip", range)
        .await
        .unwrap_or_else(|_| not_found())
}

/// Splits cargo's publish body: `u32 LE` metadata length, the metadata JSON, `u32 LE`
/// crate length, the `.crate`; nothing may follow.
fn split_publish_body(body: &[u8]) -> Result<(Map<String, Value>, &[u8]), String> {
    fn take_u32(body: &[u8], at: usize) -> Result<usize, String> {
        let bytes: [u8; 4] = body
            .get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .ok_or("The publish request ends early")?;
        usize::try_from(u32::from_le_bytes(bytes)).map_err(|_| "Length out of range".to_string())
    }
    let json_len = take_u32(body, 0)?;
    let json_end = 4usize
        .checked_add(json_len)
        .filter(|end| *end <= body.len())
        .ok_or("The publish request ends inside its metadata")?;
    let metadata = match serde_json::from_slice::<Value>(&body[4..json_end]) {
        Ok(Value::Object(map)) => map,
        _ => return Err("The publish metadata is not a JSON object".to_string()),
    };
    let crate_len = take_u32(body, json_end)?;
    let crate_start = json_end + 4;
    if body.len() - crate_start != crate_len {
        return Err(format!(
            "The publish request declares a {crate_len}-byte crate but carries {} bytes",
            body.len() - crate_start
        ));
    }
    Ok((metadata, &body[crate_start..]))
}

/// Largest `Cargo.toml` read from a crate.
const MAX_MANIFEST_BYTES: u64 = 1024 * 1024;

/// Reads a `.crate`: a gzipped tarball whose entries all sit under `{name}-{version}/`,
/// with a `Cargo.toml` naming that crate and version. Returns its `[package]` table.
fn read_crate(bytes: &[u8], name: &str, version: &str) -> Result<Map<String, Value>, String> {
    use std::io::Read as _;
    let prefix = format!("{name}-{version}/");
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let entries = archive
        .entries()
        .map_err(|e| format!("The crate is not a gzipped tarball: {e}"))?;
    let mut package = None;
    for entry in entries {
        let entry = entry.map_err(|e| format!("The crate is not a gzipped tarball: {e}"))?;
        let path = entry
            .path()
            .map_err(|e| format!("The crate has an unreadable path: {e}"))?
            .to_string_lossy()
            .into_owned();
        if !path.starts_with(&prefix) || path.split('/').any(|s| s == "..") {
            return Err(format!("The crate's file {path} is not under {prefix}"));
        }
        if path == format!("{prefix}Cargo.toml") {
            let mut text = String::new();
            entry
                .take(MAX_MANIFEST_BYTES)
                .read_to_string(&mut text)
                .map_err(|e| format!("The crate's Cargo.toml cannot be read: {e}"))?;
            let manifest: toml::Table = toml::from_str(&text)
                .map_err(|e| format!("The crate's Cargo.toml is not valid TOML: {e}"))?;
            package = manifest
                .get("package")
                .and_then(|p| serde_json::to_value(p).ok())
                .and_then(|p| p.as_object().cloned());
        }
    }
    let package = package.ok_or("The crate has no Cargo.toml with a [package] table")?;
    if string(&package, "name").as_deref() != Some(name)
        || string(&package, "version").as_deref() != Some(version)
    {
        return Err(format!(
            "The crate's Cargo.toml does not describe {name} {version}"
        ));
    }
    Ok(package)
}

fn string(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .filter(|s| !s.is_empty())
}

/// The index line cargo resolves from, derived from the publish metadata (the registry
/// index format: `req` for `version_req`, renamed dependencies under their alias with
/// `package` set, `dep:`/`?` features in `features2` with `v: 2`).
fn index_line_of(metadata: &Map<String, Value>, cksum: &str) -> Map<String, Value> {
    let deps: Vec<Value> = metadata
        .get("deps")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .map(|dep| {
            let real = dep.get("name").cloned().unwrap_or(Value::Null);
            let alias = dep
                .get("explicit_name_in_toml")
                .filter(|v| v.is_string())
                .cloned();
            json!({
                "name": alias.clone().unwrap_or_else(|| real.clone()),
                "req": dep.get("version_req").cloned().unwrap_or(Value::Null),
                "features": dep.get("features").cloned().unwrap_or_else(|| json!([])),
                "optional": dep.get("optional").cloned().unwrap_or(Value::Bool(false)),
                "default_features": dep.get("default_features").cloned().unwrap_or(Value::Bool(true)),
                "target": dep.get("target").cloned().unwrap_or(Value::Null),
                "kind": dep.get("kind").cloned().unwrap_or_else(|| json!("normal")),
                "registry": dep.get("registry").cloned().unwrap_or(Value::Null),
                "package": if alias.is_some() { real } else { Value::Null },
            })
        })
        .collect();
    let mut features = Map::new();
    let mut features2 = Map::new();
    if let Some(all) = metadata.get("features").and_then(Value::as_object) {
        for (feature, enables) in all {
            let new_syntax = enables.as_array().is_some_and(|list| {
                list.iter()
                    .filter_map(Value::as_str)
                    .any(|e| e.starts_with("dep:") || e.contains('?'))
            });
            let target = if new_syntax {
                &mut features2
            } else {
                &mut features
            };
            target.insert(feature.clone(), enables.clone());
        }
    }
    let mut line = Map::new();
    line.insert(
        "name".into(),
        metadata.get("name").cloned().unwrap_or(Value::Null),
    );
    line.insert(
        "vers".into(),
        metadata.get("vers").cloned().unwrap_or(Value::Null),
    );
    line.insert("deps".into(), Value::Array(deps));
    line.insert("cksum".into(), Value::String(cksum.to_string()));
    line.insert("features".into(), Value::Object(features));
    line.insert("yanked".into(), Value::Bool(false));
    line.insert(
        "links".into(),
        metadata.get("links").cloned().unwrap_or(Value::Null),
    );
    if !features2.is_empty() {
        line.insert("features2".into(), Value::Object(features2));
        line.insert("v".into(), json!(2));
    } else {
        line.insert("v".into(), json!(1));
    }
    if let Some(rust_version) = metadata.get("rust_version").filter(|v| v.is_string()) {
        line.insert("rust_version".into(), rust_version.clone());
    }
    line
}

/// What the control plane reports of a crate version.
fn version_metadata(metadata: &Map<String, Value>, line: Map<String, Value>) -> VersionMetadata {
    let dependencies = line
        .get("deps")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|dep| {
            let name = dep
                .get("package")
                .and_then(Value::as_str)
                .or_else(|| dep.get("name").and_then(Value::as_str))?;
            Some(Dependency {
                namespace: None,
                package: name.to_ascii_lowercase(),
                dependency_type: dep.get("kind").and_then(Value::as_str).map(str::to_string),
                version_requirement: dep.get("req").and_then(Value::as_str).map(str::to_string),
            })
        })
        .collect();
    VersionMetadata {
        manifest: Some(Value::Object(line)),
        summary: string(metadata, "description"),
        home_page: string(metadata, "homepage"),
        source_code_repository: string(metadata, "repository"),
        licenses: string(metadata, "license")
            .map(|name| {
                vec![License {
                    name: Some(name),
                    url: None,
                }]
            })
            .unwrap_or_default(),
        readme: string(metadata, "readme"),
        dependencies,
    }
}

fn publish(cx: &RepoCx<'_>, body: &[u8]) -> Response<Body> {
    let bad = |why: String| error(StatusCode::BAD_REQUEST, why);
    let (metadata, crate_file) = match split_publish_body(body) {
        Ok(parts) => parts,
        Err(why) => return bad(why),
    };
    let (Some(name), Some(version)) = (string(&metadata, "name"), string(&metadata, "vers")) else {
        return bad("The publish metadata needs 'name' and 'vers'".to_string());
    };
    if !valid_name(&name) {
        return bad(format!("Invalid crate name '{name}'"));
    }
    if semver::Version::parse(&version).is_err() {
        return bad(format!(
            "Invalid version '{version}': not a semantic version"
        ));
    }
    if let Err(why) = read_crate(crate_file, &name, &version) {
        return bad(why);
    }
    let cksum = hex::encode(&sha2::Sha256::digest(crate_file));
    let p = package_id(&name);
    let registry = &cx.app.registry;
    // One crate, one spelling: names differing only in case share the lowercase package,
    // and cargo matches index lines by exact name, so a second spelling is refused.
    let versions = match registry.versions(&cx.repo, &p) {
        Ok(versions) => versions,
        Err(crate::registry::Error::NotFound { .. }) => Vec::new(),
        Err(e) => return internal(&e),
    };
    let spelled = versions
        .iter()
        .filter_map(|v| v.metadata.manifest.as_ref()?.get("name")?.as_str())
        .find(|spelled| *spelled != name);
    if let Some(existing) = spelled {
        return error(
            StatusCode::CONFLICT,
            format!("crate `{name}` was previously published as `{existing}`"),
        );
    }
    match registry.resolve(&cx.repo, &p, &version, None) {
        Ok(Some(found)) if found.holder.id == cx.repo.id => {
            let same = found
                .version
                .assets
                .first()
                .is_some_and(|a| a.sha256 == cksum);
            return if same {
                published()
            } else {
                error(
                    StatusCode::CONFLICT,
                    format!("crate version `{name}@{version}` already exists"),
                )
            };
        }
        Ok(Some(_)) => return upstream_conflict(&name, &version),
        Ok(None) => {}
        Err(e) => return internal(&e),
    }
    match registry.merged(&cx.repo, &p, Some(&PublicCrates { cx })) {
        Ok(merged)
            if merged
                .versions
                .iter()
                .any(|f| f.external && f.version.version == version) =>
        {
            return upstream_conflict(&name, &version)
        }
        Ok(_) => {}
        Err(e) => return internal(&e),
    }
    let staged = match registry.stage_bytes(crate_file) {
        Ok(staged) => staged,
        Err(e) => {
            tracing::error!(error = %e, "cannot stage a crate");
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Could not store the crate",
            );
        }
    };
    let line = index_line_of(&metadata, &cksum);
    let d = cx.repo.domain_id();
    let result = registry.publish(
        &cx.repo,
        Publish {
            package: &p,
            display_name: &name,
            version: &version,
            asset: NewAsset::new(format!("{name}-{version}.crate"), staged),
            unfinished: false,
            append: false,
            metadata: Some(version_metadata(&metadata, line)),
            dist_tags: std::collections::BTreeMap::new(),
        },
        |existing| registry.may_publish(d, &cx.repo, &p, existing),
    );
    match result {
        Ok(_) => published(),
        Err(crate::registry::Error::Conflict { message, .. }) => {
            error(StatusCode::CONFLICT, message)
        }
        Err(crate::registry::Error::QuotaExceeded { message, .. }) => {
            error(StatusCode::BAD_REQUEST, message)
        }
        Err(e) => internal(&e),
    }
}

fn published() -> Response<Body> {
    super::json(
        StatusCode::OK,
        &json!({ "warnings": { "invalid_categories": [], "invalid_badges": [], "other": [] } }),
    )
}

fn upstream_conflict(name: &str, version: &str) -> Response<Body> {
    error(
        StatusCode::CONFLICT,
        format!(
            "crate version `{name}@{version}` is already available from an upstream repository or external connection"
        ),
    )
}

/// The public crate registry an external connection (`public:crates-io`) is configured to
/// reach: a sparse index root whose `config.json` says where crates download from.
struct PublicCrates<'a, 'b> {
    cx: &'a RepoCx<'b>,
}

impl PublicCrates<'_, '_> {
    /// The crate's index lines on the public registry, by version.
    fn lines(&self, connection: &str, p: &PackageId) -> Option<Vec<Map<String, Value>>> {
        let base = self.cx.upstream_base(connection)?;
        let url = format!("{base}/{}/{}", index_dirs(&p.name), p.name);
        let body = self
            .cx
            .fetch_listing(&url, "text/plain", 64 * 1024 * 1024)?;
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
        let base = self.cx.upstream_base(connection)?;
        let config = self.cx.fetch_listing(
            &format!("{base}/config.json"),
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
        Some(crate::outbound::with_credentials_of(
            self.cx.app.settings.external_connections.get(connection)?,
            &url,
        ))
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

impl ExternalSource for PublicCrates<'_, '_> {
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
        let bytes = self
            .cx
            .fetch_upstream(&url, "application/octet-stream", MAX_PUBLISH_BYTES)?;
        if hex::encode(&sha2::Sha256::digest(&bytes)) != cksum {
            tracing::warn!(
                connection,
                name,
                version,
                "upstream crate does not match its cksum"
            );
            return None;
        }
        let blob = match self.cx.app.registry.stage_bytes(&bytes) {
            Ok(blob) => blob,
            Err(e) => {
                tracing::error!(error = %e, "cannot stage an upstream crate");
                return None;
            }
        };
        Some(ExternalVersion {
            version: version.to_string(),
            display_name: name.clone(),
            published_ms: 0,
            metadata: line_metadata(line, read_crate(&bytes, &name, version).ok()),
            assets: vec![NewAsset::new(format!("{name}-{version}.crate"), blob)],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_follow_the_sparse_layout() {
        assert_eq!(route(&Method::GET, "config.json"), Route::Config);
        assert_eq!(route(&Method::GET, "1/a"), Route::Index("a".into()));
        assert_eq!(route(&Method::GET, "2/ab"), Route::Index("ab".into()));
        assert_eq!(route(&Method::GET, "3/a/abc"), Route::Index("abc".into()));
        assert_eq!(
            route(&Method::GET, "my/_c/My_Crate"),
            Route::Index("My_Crate".into())
        );
        assert_eq!(route(&Method::PUT, "api/v1/crates/new"), Route::Publish);
        assert_eq!(
            route(&Method::GET, "api/v1/crates/foo/1.0.0/download"),
            Route::Download {
                name: "foo".into(),
                version: "1.0.0".into()
            }
        );
        assert!(matches!(
            route(&Method::DELETE, "api/v1/crates/foo/1.0.0/yank"),
            Route::Unsupported(_)
        ));
        for rest in [
            "",
            "3/b/abc",
            "ab/cd/abcd/",
            "../config.json",
            "my/_c/..",
            "api/v1/crates/foo/..%2F/download",
            "api/v1/crates/foo/not-semver/download",
            "fo/o%2f/foo",
        ] {
            assert_eq!(route(&Method::GET, rest), Route::NotFound, "{rest}");
        }
    }

    #[test]
    fn publish_bodies_split_exactly() {
        let meta = br#"{"name":"foo","vers":"1.0.0"}"#;
        let mut body = Vec::new();
        body.extend_from_slice(&u32::try_from(meta.len()).unwrap().to_le_bytes());
        body.extend_from_slice(meta);
        body.extend_from_slice(&3u32.to_le_bytes());
        body.extend_from_slice(b"abc");
        let (metadata, file) = split_publish_body(&body).unwrap();
        assert_eq!(
            (metadata["name"].as_str(), file),
            (Some("foo"), &b"abc"[..])
        );
        assert!(split_publish_body(&body[..body.len() - 1]).is_err());
        assert!(split_publish_body(&[0xff, 0xff, 0xff, 0x7f]).is_err());
        assert!(split_publish_body(b"").is_err());
    }

    #[test]
    fn index_lines_use_the_index_vocabulary() {
        let metadata: Map<String, Value> = serde_json::from_value(json!({
            "name": "foo", "vers": "1.0.0", "links": null, "rust_version": "1.70",
            "deps": [
                {"name": "bar", "version_req": "^1", "features": [], "optional": true,
                 "default_features": true, "target": null, "kind": "normal", "registry": null},
                {"name": "baz-real", "version_req": "=2.0.0", "features": ["x"], "optional": false,
                 "default_features": false, "target": "cfg(unix)", "kind": "dev",
                 "explicit_name_in_toml": "baz"}
            ],
            "features": {"default": ["std"], "std": [], "extra": ["dep:bar"]}
        }))
        .unwrap();
        let line = index_line_of(&metadata, "00");
        assert_eq!(line["deps"][0]["req"], "^1");
        assert_eq!(line["deps"][1]["name"], "baz");
        assert_eq!(line["deps"][1]["package"], "baz-real");
        assert_eq!(line["features2"]["extra"], json!(["dep:bar"]));
        assert_eq!(line["v"], 2);
        assert!(line["features"].get("extra").is_none());
        let described = version_metadata(&metadata, line);
        assert_eq!(described.dependencies[1].package, "baz-real");
        assert_eq!(
            described.dependencies[1].dependency_type.as_deref(),
            Some("dev")
        );
    }
}
