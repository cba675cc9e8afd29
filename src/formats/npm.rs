//! The npm registry protocol as CodeArtifact serves it (repository-endpoints spec §5):
//! packuments (full and abbreviated), tarballs, publish, deprecate, dist-tags and ping.
//!
//! Versions come from the repository and its upstream graph (`Registry::merged`,
//! `Registry::resolve`); downloading a tarball found upstream retains the version here.

use super::{json, Page, RepoCx};
use crate::app::Body;
use crate::registry::{
    Dependency, ExternalPackage, ExternalSource, ExternalVersion, Found, License, NewAsset,
    PackageId, Publish, VersionMetadata, VersionRecord,
};
use base64::Engine as _;
use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The only asset of an npm version, as the service names it.
const TARBALL_ASSET: &str = "package.tgz";
/// Largest publish request accepted (npm sends the tarball base64-encoded inside JSON).
const MAX_PUBLISH_BYTES: usize = 512 * 1024 * 1024;
/// Longest package name npm allows.
const MAX_NAME_LENGTH: usize = 214;

/// An npm error response: npm prints `E<status> <error>`.
fn error(status: StatusCode, message: impl Into<String>) -> Response<Body> {
    json(status, &json!({ "error": message.into() }))
}

fn not_found() -> Response<Body> {
    error(StatusCode::NOT_FOUND, "Not found")
}

/// An npm package name as it appears in a path: `name` or `@scope/name`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NpmName {
    scope: Option<String>,
    name: String,
}

impl NpmName {
    /// Validates a full name (`@scope/name` or `name`) against what npm and the service accept.
    fn parse(full_name: &str) -> Option<NpmName> {
        let valid = |s: &str| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && !s.starts_with('.')
                && !s.starts_with('_')
                && s.chars()
                    .all(|c| !c.is_whitespace() && !c.is_control() && !"/#%\\?".contains(c))
        };
        if full_name.len() > MAX_NAME_LENGTH {
            return None;
        }
        match full_name.strip_prefix('@') {
            Some(scoped) => {
                let (scope, name) = scoped.split_once('/')?;
                (valid(scope) && valid(name)).then(|| NpmName {
                    scope: Some(scope.to_string()),
                    name: name.to_string(),
                })
            }
            None => valid(full_name).then(|| NpmName {
                scope: None,
                name: full_name.to_string(),
            }),
        }
    }

    fn full(&self) -> String {
        match &self.scope {
            Some(scope) => format!("@{scope}/{}", self.name),
            None => self.name.clone(),
        }
    }

    fn id(&self) -> PackageId {
        PackageId {
            format: "npm".to_string(),
            namespace: self.scope.clone(),
            name: self.name.clone(),
        }
    }
}

/// What a request path under the repository asks for.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    Ping,
    DistTags {
        package: NpmName,
        tag: Option<String>,
    },
    Packument(NpmName),
    Tarball {
        package: NpmName,
        file: String,
    },
    Version {
        package: NpmName,
        spec: String,
    },
    Unsupported,
}

fn decode(segment: &str) -> Option<String> {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// Splits `@scope%2fname/rest`, `@scope/name/rest` or `name/rest` into the name and the rest.
fn split_name(path: &str) -> Option<(NpmName, String)> {
    let path = path.replace("%2f", "/").replace("%2F", "/");
    let segments: Vec<&str> = path.split('/').collect();
    let (name, rest) = if segments.first()?.starts_with('@') || segments.first()?.starts_with("%40")
    {
        (
            format!("{}/{}", decode(segments[0])?, decode(segments.get(1)?)?),
            segments.get(2..).unwrap_or(&[]).join("/"),
        )
    } else {
        (decode(segments[0])?, segments[1..].join("/"))
    };
    Some((NpmName::parse(&name)?, rest))
}

fn route(rest: &str) -> Route {
    if rest == "-/ping" {
        return Route::Ping;
    }
    if let Some(after) = rest.strip_prefix("-/package/") {
        let Some((package, tail)) = split_name(after) else {
            return Route::Unsupported;
        };
        return match tail.strip_prefix("dist-tags") {
            Some("") => Route::DistTags { package, tag: None },
            Some(tag) => match tag.strip_prefix('/').and_then(decode) {
                Some(tag) if !tag.is_empty() && !tag.contains('/') => Route::DistTags {
                    package,
                    tag: Some(tag),
                },
                _ => Route::Unsupported,
            },
            None => Route::Unsupported,
        };
    }
    if rest.starts_with("-/") || rest.is_empty() {
        return Route::Unsupported;
    }
    let Some((package, tail)) = split_name(rest) else {
        return Route::Unsupported;
    };
    if tail.is_empty() {
        return Route::Packument(package);
    }
    if let Some(file) = tail.strip_prefix("-/") {
        return match decode(file) {
            Some(file) if file.ends_with(".tgz") => Route::Tarball { package, file },
            _ => Route::Unsupported,
        };
    }
    match decode(&tail) {
        Some(spec) if !spec.contains('/') && !spec.is_empty() => Route::Version { package, spec },
        _ => Route::Unsupported,
    }
}

/// Serves one npm request.
pub async fn serve<B>(cx: &RepoCx<'_>, rest: &str, request: Request<B>) -> Response<Body>
where
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let method = request.method().clone();
    let reading = method == Method::GET || method == Method::HEAD;
    let route = route(rest);
    let action = match (&method, &route) {
        (_, Route::Ping) => return json(StatusCode::OK, &json!({})),
        (_, Route::Unsupported) => return not_found(),
        (m, Route::DistTags { .. }) if m == Method::PUT || m == Method::DELETE => {
            "PutPackageMetadata"
        }
        (m, Route::Packument(_)) if m == Method::PUT => "PublishPackageVersion",
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
    let accept = super::header_text(&request, header::ACCEPT).unwrap_or_default();
    let range = super::header_text(&request, header::RANGE);
    let if_none_match = super::header_text(&request, header::IF_NONE_MATCH);
    match route {
        Route::Packument(package) if reading => {
            let abbreviated = accept.contains("application/vnd.npm.install-v1+json");
            cx.off_worker_if_outbound(|| {
                packument(cx, &package, abbreviated, if_none_match.as_deref())
            })
        }
        Route::Packument(package) => {
            let body = match super::read_body(request, MAX_PUBLISH_BYTES).await {
                Ok(body) => body,
                Err(e) => return error(e.status(), e.to_string()),
            };
            tokio::task::block_in_place(|| put_package(cx, &package, &body))
        }
        Route::Tarball { package, file } => tarball(cx, &package, &file, range.as_deref()).await,
        Route::Version { package, spec } => {
            cx.off_worker_if_outbound(|| single_version(cx, &package, &spec))
        }
        Route::DistTags { package, tag } => {
            let body = match request.into_body().collect().await {
                Ok(body) => body.to_bytes(),
                Err(_) => return error(StatusCode::BAD_REQUEST, "Could not read the request body"),
            };
            tokio::task::block_in_place(|| dist_tags(cx, &method, &package, tag.as_deref(), &body))
        }
        Route::Ping | Route::Unsupported => not_found(),
    }
}

/// `dist` for a version stored in the domain: the tarball URL points back at this
/// repository; shasum and integrity describe the stored bytes.
fn dist(cx: &RepoCx<'_>, package: &NpmName, version: &VersionRecord) -> Value {
    let mut dist = Map::new();
    dist.insert(
        "tarball".into(),
        Value::String(format!(
            "{}{}/-/{}-{}.tgz",
            cx.base_url,
            package.full(),
            package.name,
            version.version
        )),
    );
    if let Some(asset) = version
        .assets
        .iter()
        .find(|a| a.name == TARBALL_ASSET)
        .or(version.assets.first())
    {
        if let Ok(Some(blob)) = cx.app.registry.blob(cx.repo.domain_id(), &asset.sha256) {
            dist.insert("shasum".into(), Value::String(blob.sha1.clone()));
            if let Some(sha512) = hex::decode(&blob.sha512).ok() {
                let integrity = format!(
                    "sha512-{}",
                    base64::engine::general_purpose::STANDARD.encode(sha512)
                );
                dist.insert("integrity".into(), Value::String(integrity));
            }
        }
    }
    if version.assets.is_empty() {
        // Listed by a public registry, not fetched yet: its own digests describe the bytes.
        if let Some(Value::Object(public)) = version
            .metadata
            .manifest
            .as_ref()
            .and_then(|m| m.get("dist"))
        {
            for field in ["shasum", "integrity"] {
                if let Some(value) = public.get(field) {
                    dist.insert(field.into(), value.clone());
                }
            }
        }
    }
    Value::Object(dist)
}

/// The version object served to clients: the manifest as published, with `dist` rewritten.
fn manifest(cx: &RepoCx<'_>, package: &NpmName, version: &VersionRecord) -> Value {
    let mut manifest = match &version.metadata.manifest {
        Some(Value::Object(map)) => map.clone(),
        _ => Map::new(),
    };
    manifest.insert("name".into(), Value::String(package.full()));
    manifest.insert("version".into(), Value::String(version.version.clone()));
    manifest.insert(
        "_id".into(),
        Value::String(format!("{}@{}", package.full(), version.version)),
    );
    manifest.insert("dist".into(), dist(cx, package, version));
    Value::Object(manifest)
}

/// Fields of a version kept in the abbreviated ("corgi") packument.
const ABBREVIATED_FIELDS: &[&str] = &[
    "name",
    "version",
    "dependencies",
    "optionalDependencies",
    "devDependencies",
    "peerDependencies",
    "peerDependenciesMeta",
    "bundleDependencies",
    "bundledDependencies",
    "bin",
    "directories",
    "engines",
    "os",
    "cpu",
    "deprecated",
    "_hasShrinkwrap",
    "hasInstallScript",
    "dist",
];

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// The newest version by semver precedence among those listed (the fallback `latest`).
fn newest(versions: &[Found]) -> Option<&Found> {
    versions
        .iter()
        .filter_map(|f| {
            semver::Version::parse(&f.version.version)
                .ok()
                .map(|v| (v, f))
        })
        .filter(|(v, _)| v.pre.is_empty())
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, f)| f)
        .or_else(|| versions.last())
}

fn packument(
    cx: &RepoCx<'_>,
    package: &NpmName,
    abbreviated: bool,
    if_none_match: Option<&str>,
) -> Response<Body> {
    let form = if abbreviated { "abbreviated" } else { "full" };
    let name = format!("npm:{}:{form}", package.full());
    match cx.cached_page(name, || render_packument(cx, package, abbreviated)) {
        Ok(Some(page)) => page.into_response(if_none_match),
        Ok(None) => not_found(),
        Err(e) => internal(&e),
    }
}

/// Builds a packument: `None` when no version is visible.
fn render_packument(
    cx: &RepoCx<'_>,
    package: &NpmName,
    abbreviated: bool,
) -> Result<Option<Page>, crate::registry::Error> {
    let merged = cx
        .app
        .registry
        .merged(&cx.repo, &package.id(), Some(&Public { cx }))?;
    if merged.versions.is_empty() {
        return Ok(None);
    }
    let mut tags = merged.dist_tags.clone();
    if !tags.contains_key("latest") {
        if let Some(latest) = newest(&merged.versions) {
            tags.insert("latest".to_string(), latest.version.version.clone());
        }
    }
    let latest = tags
        .get("latest")
        .and_then(|v| merged.versions.iter().find(|f| &f.version.version == v));
    let mut versions = Map::new();
    let mut times = Map::new();
    for found in &merged.versions {
        let mut version = manifest(cx, package, &found.version);
        if abbreviated {
            if let Value::Object(map) = &mut version {
                map.retain(|k, _| ABBREVIATED_FIELDS.contains(&k.as_str()));
            }
        }
        versions.insert(found.version.version.clone(), version);
        times.insert(
            found.version.version.clone(),
            Value::String(iso(found.version.published_ms)),
        );
    }
    let created = merged
        .versions
        .iter()
        .map(|f| f.version.published_ms)
        .min()
        .unwrap_or_default();
    let modified = merged
        .versions
        .iter()
        .map(|f| f.version.published_ms)
        .max()
        .unwrap_or_default();
    let body = if abbreviated {
        json!({
            "name": package.full(),
            "modified": iso(modified),
            "dist-tags": tags,
            "versions": versions,
        })
    } else {
        times.insert("created".into(), Value::String(iso(created)));
        times.insert("modified".into(), Value::String(iso(modified)));
        let mut doc = json!({
            "_id": package.full(),
            "name": package.full(),
            "dist-tags": tags,
            "versions": versions,
            "time": times,
        });
        if let Some(latest) = latest {
            if let Some(description) = &latest.version.metadata.summary {
                doc["description"] = Value::String(description.clone());
            }
            if let Some(readme) = &latest.version.metadata.readme {
                doc["readme"] = Value::String(readme.clone());
            }
        }
        doc
    };
    let content_type = if abbreviated {
        "application/vnd.npm.install-v1+json"
    } else {
        "application/json"
    };
    Ok(Some(Page::new(body.to_string(), content_type)))
}

fn internal(e: &crate::registry::Error) -> Response<Body> {
    tracing::error!(error = ?e, "npm request failed");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Internal error; see the server log",
    )
}

/// `{name}/{version-or-tag}`: one version's manifest, resolved through tags.
fn single_version(cx: &RepoCx<'_>, package: &NpmName, spec: &str) -> Response<Body> {
    let merged = match cx
        .app
        .registry
        .merged(&cx.repo, &package.id(), Some(&Public { cx }))
    {
        Ok(merged) => merged,
        Err(e) => return internal(&e),
    };
    let version = merged.dist_tags.get(spec).map_or(spec, String::as_str);
    match merged
        .versions
        .iter()
        .find(|f| f.version.version == version)
    {
        Some(found) => json(StatusCode::OK, &manifest(cx, package, &found.version)),
        None => not_found(),
    }
}

/// The version a tarball file name names: `{name}-{version}.tgz`, optionally `@scope/`-prefixed.
fn tarball_version(package: &NpmName, file: &str) -> Option<String> {
    let file = file.strip_suffix(".tgz")?;
    let file = match &package.scope {
        Some(scope) => file.strip_prefix(&format!("@{scope}/")).unwrap_or(file),
        None => file,
    };
    let version = file.strip_prefix(&format!("{}-", package.name))?;
    (!version.is_empty() && !version.contains('/')).then(|| version.to_string())
}

/// Serves a tarball from wherever the search order finds it, retaining a version found
/// upstream in this repository first.
async fn tarball(
    cx: &RepoCx<'_>,
    package: &NpmName,
    file: &str,
    range: Option<&str>,
) -> Response<Body> {
    let Some(version) = tarball_version(package, file) else {
        return not_found();
    };
    let p = package.id();
    let found = cx.downloadable(&p, &version, &package.full(), Some(&Public { cx }), |_| {
        true
    });
    let version = match found {
        Ok(Some(version)) => version,
        Ok(None) => return not_found(),
        Err(e) => return internal(&e),
    };
    let Some(asset) = version
        .assets
        .iter()
        .find(|a| a.name == TARBALL_ASSET)
        .or(version.assets.first())
    else {
        return not_found();
    };
    let path = cx
        .app
        .registry
        .blob_path(cx.repo.domain_id(), &asset.sha256);
    match crate::app::file_response(&path, asset.size, "application/octet-stream", range).await {
        Ok(mut response) => {
            if let Ok(value) = HeaderValue::from_str(&format!("\"{}\"", asset.sha256)) {
                response.headers_mut().insert(header::ETAG, value);
            }
            response
        }
        Err(_) => not_found(),
    }
}

/// PUT `{name}`: a publish when the body carries `_attachments`, otherwise a metadata update
/// (`npm deprecate`).
fn put_package(cx: &RepoCx<'_>, package: &NpmName, body: &[u8]) -> Response<Body> {
    let Ok(Value::Object(doc)) = serde_json::from_slice::<Value>(body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "The request body is not a JSON object",
        );
    };
    if doc.get("name").and_then(Value::as_str) != Some(package.full().as_str()) {
        return error(
            StatusCode::BAD_REQUEST,
            "The package name in the body does not match the URL",
        );
    }
    match doc.get("_attachments") {
        Some(Value::Object(attachments)) if !attachments.is_empty() => {
            publish(cx, package, &doc, attachments)
        }
        _ => deprecate(cx, package, &doc),
    }
}

/// What a version's manifest says, in the registry's terms.
fn metadata_of(version: &Map<String, Value>, doc: &Map<String, Value>) -> VersionMetadata {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let repository = match version.get("repository") {
        Some(Value::String(url)) => Some(url.clone()),
        Some(Value::Object(repo)) => text(repo.get("url")),
        _ => None,
    };
    let licenses = match version.get("license") {
        Some(Value::String(name)) => vec![License {
            name: Some(name.clone()),
            url: None,
        }],
        Some(Value::Object(l)) => vec![License {
            name: text(l.get("type")),
            url: text(l.get("url")),
        }],
        _ => Vec::new(),
    };
    let mut dependencies = Vec::new();
    for (field, kind) in [
        ("dependencies", "regular"),
        ("devDependencies", "dev"),
        ("peerDependencies", "peer"),
        ("optionalDependencies", "optional"),
    ] {
        if let Some(Value::Object(deps)) = version.get(field) {
            for (name, range) in deps {
                let parsed = NpmName::parse(name);
                dependencies.push(Dependency {
                    namespace: parsed.as_ref().and_then(|n| n.scope.clone()),
                    package: parsed.map_or_else(|| name.clone(), |n| n.name),
                    dependency_type: Some(kind.to_string()),
                    version_requirement: range.as_str().map(str::to_string),
                });
            }
        }
    }
    let mut manifest = version.clone();
    manifest.remove("readme");
    manifest.remove("readmeFilename");
    VersionMetadata {
        manifest: Some(Value::Object(manifest)),
        summary: text(version.get("description")),
        home_page: text(version.get("homepage")),
        source_code_repository: repository,
        licenses,
        readme: text(version.get("readme"))
            .or_else(|| text(doc.get("readme")))
            .filter(|r| !r.is_empty()),
        dependencies,
    }
}

fn publish(
    cx: &RepoCx<'_>,
    package: &NpmName,
    doc: &Map<String, Value>,
    attachments: &Map<String, Value>,
) -> Response<Body> {
    let Some(Value::Object(versions)) = doc.get("versions") else {
        return error(StatusCode::BAD_REQUEST, "The publish has no versions");
    };
    let [(version_name, Value::Object(version))] = versions.iter().collect::<Vec<_>>()[..] else {
        return error(
            StatusCode::BAD_REQUEST,
            "A publish must carry exactly one version",
        );
    };
    if semver::Version::parse(version_name).is_err() {
        return error(
            StatusCode::BAD_REQUEST,
            format!("Invalid version: {version_name}"),
        );
    }
    let tarballs: Vec<(&String, &Value)> = attachments
        .iter()
        .filter(|(name, _)| name.ends_with(".tgz"))
        .collect();
    let [(_, attachment)] = tarballs[..] else {
        return error(
            StatusCode::BAD_REQUEST,
            "A publish must carry exactly one tarball",
        );
    };
    let Some(data) = attachment.get("data").and_then(Value::as_str) else {
        return error(
            StatusCode::BAD_REQUEST,
            "The tarball attachment has no data",
        );
    };
    let Ok(tarball) = base64::engine::general_purpose::STANDARD.decode(data) else {
        return error(
            StatusCode::BAD_REQUEST,
            "The tarball attachment is not valid base64",
        );
    };
    if let Some(length) = attachment.get("length").and_then(Value::as_u64) {
        if length != tarball.len() as u64 {
            return error(
                StatusCode::BAD_REQUEST,
                "The tarball length does not match its declared length",
            );
        }
    }
    if let Err(why) = check_integrity(version.get("dist"), &tarball) {
        return error(StatusCode::BAD_REQUEST, why);
    }
    let p = package.id();
    let registry = &cx.app.registry;
    // Already here: identical bytes are a no-op, anything else a conflict.
    let tarball_sha256 = hex::encode(&Sha256::digest(&tarball));
    match registry.resolve(&cx.repo, &p, version_name, None) {
        Ok(Some(found)) if found.holder.id == cx.repo.id => {
            let same = found
                .version
                .assets
                .iter()
                .any(|a| a.sha256 == tarball_sha256);
            return if same {
                json(StatusCode::OK, &json!({ "ok": true, "id": package.full() }))
            } else {
                error(
                    StatusCode::CONFLICT,
                    format!(
                        "Version {version_name} of {} already exists",
                        package.full()
                    ),
                )
            };
        }
        Ok(Some(_)) => return upstream_conflict(package, version_name),
        Ok(None) => {}
        Err(e) => return internal(&e),
    }
    // Dependency-confusion protection: a version a public registry behind the graph lists
    // cannot be published here either (unless this repository blocks upstream for it).
    match registry.merged(&cx.repo, &p, Some(&Public { cx })) {
        Ok(merged)
            if merged
                .versions
                .iter()
                .any(|f| f.version.version == *version_name) =>
        {
            return upstream_conflict(package, version_name)
        }
        Ok(_) => {}
        Err(e) => return internal(&e),
    }
    let staged = registry.stage_bytes(&tarball);
    let staged = match staged {
        Ok(staged) => staged,
        Err(e) => {
            tracing::error!(error = %e, "cannot stage an npm tarball");
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Could not store the tarball",
            );
        }
    };
    let dist_tags: BTreeMap<String, String> = match doc.get("dist-tags") {
        Some(Value::Object(tags)) => tags
            .iter()
            .filter_map(|(tag, v)| v.as_str().map(|v| (tag.clone(), v.to_string())))
            .collect(),
        _ => BTreeMap::new(),
    };
    let d = cx.repo.domain_id();
    let published = registry.publish(
        &cx.repo,
        Publish {
            package: &p,
            display_name: &package.full(),
            version: version_name,
            asset: NewAsset::new(TARBALL_ASSET.to_string(), staged),
            unfinished: false,
            append: false,
            metadata: Some(with_readme(metadata_of(version, doc), &tarball)),
            dist_tags,
        },
        |existing| registry.may_publish(d, &cx.repo, &p, existing),
    );
    match published {
        Ok(_) => {}
        Err(crate::registry::Error::Conflict { message, .. }) => {
            return error(StatusCode::CONFLICT, message)
        }
        Err(e) => return internal(&e),
    }
    json(StatusCode::OK, &json!({ "ok": true, "id": package.full() }))
}

/// npm no longer sends the readme with a publish (it says "ERROR: No README data found!"
/// at most): take it from the package's README file in the tarball, as registries do.
fn with_readme(mut metadata: VersionMetadata, tarball: &[u8]) -> VersionMetadata {
    const PLACEHOLDER: &str = "ERROR: No README data found!";
    if metadata.readme.as_deref().is_none_or(|r| r == PLACEHOLDER) {
        metadata.readme = readme_from_tarball(tarball);
    }
    metadata
}

/// The top-level README of an npm tarball (`package/README*`), at most 1 MiB of UTF-8.
fn readme_from_tarball(tarball: &[u8]) -> Option<String> {
    use std::io::Read as _;
    const LIMIT: u64 = 1024 * 1024;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tarball));
    for entry in archive.entries().ok()? {
        let mut entry = entry.ok()?;
        let path = entry.path().ok()?.into_owned();
        let mut parts = path.components();
        let (Some(_top), Some(file), None) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let name = file.as_os_str().to_string_lossy().to_ascii_lowercase();
        if name == "readme" || name.starts_with("readme.") {
            let mut text = String::new();
            entry.by_ref().take(LIMIT).read_to_string(&mut text).ok()?;
            return Some(text).filter(|t| !t.is_empty());
        }
    }
    None
}

fn upstream_conflict(package: &NpmName, version: &str) -> Response<Body> {
    error(
        StatusCode::CONFLICT,
        format!(
            "Version {version} of {} is already available from an upstream repository or external connection",
            package.full()
        ),
    )
}

/// The tarball must match the integrity data the client declared (sha512 and/or SHA-1).
fn check_integrity(dist: Option<&Value>, tarball: &[u8]) -> Result<(), String> {
    let dist = dist.and_then(Value::as_object);
    if let Some(integrity) = dist
        .and_then(|d| d.get("integrity"))
        .and_then(Value::as_str)
    {
        for entry in integrity.split_whitespace() {
            if let Some(expected) = entry.strip_prefix("sha512-") {
                let actual =
                    base64::engine::general_purpose::STANDARD.encode(sha2::Sha512::digest(tarball));
                if actual != expected {
                    return Err("The tarball does not match its sha512 integrity".to_string());
                }
            }
        }
    }
    if let Some(shasum) = dist.and_then(|d| d.get("shasum")).and_then(Value::as_str) {
        let actual = hex::encode(&sha1::Sha1::digest(tarball));
        if !actual.eq_ignore_ascii_case(shasum) {
            return Err("The tarball does not match its shasum".to_string());
        }
    }
    Ok(())
}

/// `npm deprecate`: copy each stored version's `deprecated` from the body (empty clears).
fn deprecate(cx: &RepoCx<'_>, package: &NpmName, doc: &Map<String, Value>) -> Response<Body> {
    let p = package.id();
    let Some(Value::Object(versions)) = doc.get("versions") else {
        return error(StatusCode::BAD_REQUEST, "The update has no versions");
    };
    let stored = match cx.app.registry.versions(&cx.repo, &p) {
        Ok(stored) => stored,
        // Versions that exist only upstream cannot be deprecated here; they are left alone.
        Err(crate::registry::Error::NotFound { .. }) => Vec::new(),
        Err(e) => return internal(&e),
    };
    for record in stored {
        let Some(Value::Object(sent)) = versions.get(&record.version) else {
            continue;
        };
        let mut manifest = match record.metadata.manifest.clone() {
            Some(Value::Object(map)) => map,
            _ => Map::new(),
        };
        let before = manifest.get("deprecated").cloned();
        match sent.get("deprecated").and_then(Value::as_str) {
            Some(message) if !message.is_empty() => {
                manifest.insert("deprecated".into(), Value::String(message.to_string()));
            }
            _ => {
                manifest.remove("deprecated");
            }
        }
        if manifest.get("deprecated").cloned() != before {
            if let Err(e) = cx.app.registry.update_manifest(
                &cx.repo,
                &p,
                &record.version,
                Value::Object(manifest),
            ) {
                return internal(&e);
            }
        }
    }
    json(StatusCode::OK, &json!({ "ok": true, "id": package.full() }))
}

/// `-/package/{name}/dist-tags[/{tag}]`: list (merged view), set or remove a tag.
fn dist_tags(
    cx: &RepoCx<'_>,
    method: &Method,
    package: &NpmName,
    tag: Option<&str>,
    body: &[u8],
) -> Response<Body> {
    let p = package.id();
    let merged = match cx.app.registry.merged(&cx.repo, &p, Some(&Public { cx })) {
        Ok(merged) => merged,
        Err(e) => return internal(&e),
    };
    let result = match (method, tag) {
        (&Method::GET | &Method::HEAD, None) => {
            if merged.versions.is_empty() {
                return not_found();
            }
            return json(StatusCode::OK, &json!(merged.dist_tags));
        }
        (&Method::PUT, Some(tag)) => {
            let Ok(Value::String(version)) = serde_json::from_slice::<Value>(body) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "The body must be a JSON string naming a version",
                );
            };
            if !merged.versions.iter().any(|f| f.version.version == version) {
                return error(
                    StatusCode::NOT_FOUND,
                    format!("Version {version} of {} not found", package.full()),
                );
            }
            cx.app
                .registry
                .set_dist_tag(&cx.repo, &p, tag, Some(&version))
        }
        (&Method::DELETE, Some(tag)) => cx.app.registry.set_dist_tag(&cx.repo, &p, tag, None),
        _ => return error(StatusCode::METHOD_NOT_ALLOWED, "Not supported"),
    };
    match result {
        Ok(true) => json(StatusCode::OK, &json!({ "ok": true })),
        Ok(false) => not_found(),
        Err(e) => internal(&e),
    }
}

/// The public npm registry an external connection is configured to reach.
struct Public<'a, 'b> {
    cx: &'a RepoCx<'b>,
}

impl Public<'_, '_> {
    /// Fetches from the connection's configured base URL, blocking this (blocking-pool)
    /// thread; `None` when nothing is configured or the registry is unreachable.
    fn get(
        &self,
        connection: &str,
        url_for: impl FnOnce(&str) -> String,
        accept: &str,
    ) -> Option<Bytes> {
        let base = self.cx.upstream_base(connection)?;
        self.cx
            .fetch_upstream(&url_for(&base), accept, MAX_PUBLISH_BYTES)
    }

    fn packument(&self, connection: &str, p: &PackageId) -> Option<Map<String, Value>> {
        let name = NpmName {
            scope: p.namespace.clone(),
            name: p.name.clone(),
        };
        let path = match &name.scope {
            Some(scope) => format!("@{scope}%2f{}", name.name),
            None => name.name.clone(),
        };
        let base = self.cx.upstream_base(connection)?;
        let body = self.cx.fetch_listing(
            &format!("{base}/{path}"),
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

impl ExternalSource for Public<'_, '_> {
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
        let tarball_url = public_dist.get("tarball")?.as_str()?.to_string();
        // Credentials configured for the registry also apply to its tarball links.
        let base = self
            .cx
            .app
            .settings
            .external_connections
            .get(connection)?
            .clone();
        let url = crate::outbound::with_credentials_of(&base, &tarball_url);
        let tarball = self.get(connection, |_| url, "application/octet-stream")?;
        if let Err(why) = check_integrity(Some(&public_dist), &tarball) {
            tracing::warn!(
                connection,
                package = name.full(),
                version,
                why,
                "upstream tarball rejected"
            );
            return None;
        }
        let staged = self.cx.app.registry.stage_bytes(&tarball);
        match staged {
            Ok(blob) => {
                listed
                    .assets
                    .push(NewAsset::new(TARBALL_ASSET.to_string(), blob));
                Some(listed)
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot stage an upstream tarball");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(full: &str) -> NpmName {
        NpmName::parse(full).unwrap()
    }

    #[test]
    fn routes_scoped_names_in_every_spelling() {
        for rest in [
            "@acme%2fwidget",
            "@acme%2Fwidget",
            "@acme/widget",
            "%40acme%2fwidget",
        ] {
            assert_eq!(
                route(rest),
                Route::Packument(name("@acme/widget")),
                "{rest}"
            );
        }
        assert_eq!(
            route("@acme/widget/-/widget-1.2.0.tgz"),
            Route::Tarball {
                package: name("@acme/widget"),
                file: "widget-1.2.0.tgz".into()
            }
        );
        assert_eq!(
            route("-/package/@acme%2fwidget/dist-tags/beta"),
            Route::DistTags {
                package: name("@acme/widget"),
                tag: Some("beta".into())
            }
        );
        assert_eq!(
            route("lodash/4.17.21"),
            Route::Version {
                package: name("lodash"),
                spec: "4.17.21".into()
            }
        );
        assert_eq!(route("-/ping"), Route::Ping);
        assert_eq!(route("-/whoami"), Route::Unsupported);
    }

    #[test]
    fn path_tricks_are_not_names() {
        for rest in [
            "..",
            "../x",
            "%2e%2e",
            ".hidden",
            "_private",
            "@scope/..",
            "a%20b",
            "a%5cb",
        ] {
            assert_eq!(route(rest), Route::Unsupported, "{rest}");
        }
        assert_eq!(NpmName::parse("@acme/.."), None);
    }

    #[test]
    fn tarball_names_give_the_version() {
        assert_eq!(
            tarball_version(&name("lodash"), "lodash-4.17.21.tgz").as_deref(),
            Some("4.17.21")
        );
        assert_eq!(
            tarball_version(&name("@acme/widget"), "widget-1.0.0-beta.1.tgz").as_deref(),
            Some("1.0.0-beta.1")
        );
        assert_eq!(
            tarball_version(&name("@acme/widget"), "@acme/widget-1.0.0.tgz").as_deref(),
            Some("1.0.0")
        );
        assert_eq!(tarball_version(&name("lodash"), "other-1.0.0.tgz"), None);
    }

    fn tarball_with(files: &[(&str, &str)]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut builder = tar::Builder::new(gz);
        for (path, content) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(content.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder
                .append_data(&mut header, path, content.as_bytes())
                .unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn readme_comes_from_the_top_level_of_the_tarball() {
        let tarball = tarball_with(&[
            ("package/package.json", "{}"),
            ("package/docs/README.md", "nested"),
            ("package/Readme.md", "# Widget"),
        ]);
        assert_eq!(readme_from_tarball(&tarball).as_deref(), Some("# Widget"));
        assert_eq!(
            readme_from_tarball(&tarball_with(&[("package/index.js", "1")])),
            None
        );
        assert_eq!(readme_from_tarball(b"not a tarball"), None);
    }
}
