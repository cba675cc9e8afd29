//! The Python package index protocol as CodeArtifact serves it (repository-endpoints spec
//! §6): the simple repository API (PEP 503 HTML and PEP 691 JSON), file downloads, and the
//! legacy upload API twine, uv and poetry use.
//!
//! A PyPI version may hold several files (wheels and an sdist); each file is an asset.

use super::{text, Page, RepoCx};
use crate::app::{full, Body};
use crate::registry::names::normalize_name;
use crate::registry::{
    AssetRef, Dependency, ExternalPackage, ExternalSource, ExternalVersion, License, NewAsset,
    PackageId, Publish, StagedBlob, VersionMetadata,
};
use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use serde_json::json;
use sha2::Digest as _;
use std::collections::BTreeMap;

fn not_found() -> Response<Body> {
    text(StatusCode::NOT_FOUND, "Not Found")
}

fn internal(e: &crate::registry::Error) -> Response<Body> {
    super::internal_error("pypi", e)
}

/// A project name as PEP 508 allows it (checked before normalising).
fn valid_project_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 255
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(b))
}

/// A version string as PEP 440 spells it (letters, digits and `.+!_-`; no path tricks).
fn valid_version(version: &str) -> bool {
    !version.is_empty()
        && version.len() <= 128
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".+!_-".contains(&b))
        && !version.contains("..")
}

fn package_id(name: &str) -> PackageId {
    PackageId {
        format: "pypi".to_string(),
        namespace: None,
        name: normalize_name("pypi", name),
    }
}

/// What a path under the repository asks for.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    Upload,
    Project {
        name: String,
        slash: bool,
    },
    File {
        name: String,
        version: String,
        file: String,
    },
    Unsupported,
}

fn route(method: &Method, rest: &str) -> Route {
    if rest.is_empty() {
        return if method == Method::POST {
            Route::Upload
        } else {
            Route::Unsupported
        };
    }
    let Some(path) = rest.strip_prefix("simple/") else {
        return Route::Unsupported;
    };
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .ok()
            .map(|s| s.into_owned())
    };
    let segments: Vec<&str> = path.split('/').collect();
    match segments[..] {
        [name] if !name.is_empty() => match decode(name) {
            Some(name) if valid_project_name(&name) => Route::Project { name, slash: false },
            _ => Route::Unsupported,
        },
        [name, ""] => match decode(name) {
            Some(name) if valid_project_name(&name) => Route::Project { name, slash: true },
            _ => Route::Unsupported,
        },
        [name, version, file] => match (decode(name), decode(version), decode(file)) {
            (Some(name), Some(version), Some(file))
                if valid_project_name(&name)
                    && valid_version(&version)
                    && valid_file_name(&file) =>
            {
                Route::File {
                    name,
                    version,
                    file,
                }
            }
            _ => Route::Unsupported,
        },
        _ => Route::Unsupported,
    }
}

/// A distribution file name: one path segment, no traversal, a known extension.
fn valid_file_name(file: &str) -> bool {
    !file.is_empty()
        && file.len() <= 255
        && !file.contains(['/', '\\', '\0'])
        && !file.starts_with('.')
        && [".whl", ".tar.gz", ".zip", ".tar.bz2", ".egg", ".tgz"]
            .iter()
            .any(|ext| file.ends_with(ext))
}

/// The project and version a distribution file name says it belongs to.
fn file_identity(file: &str) -> Option<(String, String)> {
    if let Some(stem) = file
        .strip_suffix(".whl")
        .or_else(|| file.strip_suffix(".egg"))
    {
        let mut parts = stem.split('-');
        return Some((parts.next()?.to_string(), parts.next()?.to_string()));
    }
    let stem = [".tar.gz", ".tar.bz2", ".zip", ".tgz"]
        .iter()
        .find_map(|ext| file.strip_suffix(ext))?;
    let (name, version) = stem.rsplit_once('-')?;
    Some((name.to_string(), version.to_string()))
}

/// Versions compare as PEP 440 does for the purposes of matching a file to its version:
/// case-insensitively, with `_` and `-` as `.` separators.
fn same_version(a: &str, b: &str) -> bool {
    let canon = |v: &str| v.to_ascii_lowercase().replace(['_', '-'], ".");
    canon(a) == canon(b)
}

/// Serves one PyPI request.
pub async fn serve<B>(cx: &RepoCx<'_>, rest: &str, request: Request<B>) -> Response<Body>
where
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let method = request.method().clone();
    let route = route(&method, rest);
    let reading = method == Method::GET || method == Method::HEAD;
    let action = match &route {
        Route::Unsupported => return not_found(),
        Route::Upload => "PublishPackageVersion",
        Route::Project { .. } | Route::File { .. } if reading => "ReadFromRepository",
        _ => return text(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed"),
    };
    if let Err(message) = cx.allowed(action) {
        return text(StatusCode::FORBIDDEN, message);
    }
    match route {
        Route::Project { name, slash: false } => {
            let mut response = Response::new(full(Bytes::new()));
            *response.status_mut() = StatusCode::MOVED_PERMANENTLY;
            if let Ok(location) = HeaderValue::from_str(&format!("{}simple/{name}/", cx.base_url)) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            response
        }
        Route::Project { name, slash: true } => {
            let accept = super::header_text(&request, header::ACCEPT);
            cx.off_worker_if_outbound(|| project_page(cx, &name, accept.as_deref()))
        }
        Route::File {
            name,
            version,
            file,
        } => {
            let range = super::header_text(&request, header::RANGE);
            download(cx, &name, &version, &file, range.as_deref()).await
        }
        Route::Upload => upload(cx, request).await,
        Route::Unsupported => not_found(),
    }
}

/// Which representation of a project page the client accepts best (spec §6.2).
#[derive(Debug, PartialEq, Eq)]
enum Representation {
    Json,
    /// HTML, with the content type to answer.
    Html(&'static str),
}

fn negotiate(accept: Option<&str>) -> Option<Representation> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Some(Representation::Html("text/html"));
    };
    let mut best: Option<(f32, u8, Representation)> = None;
    for item in accept.split(',') {
        let mut params = item.split(';').map(str::trim);
        let media = params.next().unwrap_or("").to_ascii_lowercase();
        let q = params
            .find_map(|p| p.strip_prefix("q="))
            .and_then(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        // Preference among equal q values: JSON, then versioned HTML, then plain HTML.
        let (rank, representation) = match media.as_str() {
            "application/vnd.pypi.simple.v1+json" | "application/vnd.pypi.simple.latest+json" => {
                (3, Representation::Json)
            }
            "application/vnd.pypi.simple.v1+html" | "application/vnd.pypi.simple.latest+html" => (
                2,
                Representation::Html("application/vnd.pypi.simple.v1+html"),
            ),
            "text/html" | "*/*" | "text/*" => (1, Representation::Html("text/html")),
            _ => continue,
        };
        if q <= 0.0 {
            continue;
        }
        if best
            .as_ref()
            .is_none_or(|(bq, br, _)| q > *bq || (q == *bq && rank > *br))
        {
            best = Some((q, rank, representation));
        }
    }
    best.map(|(_, _, r)| r)
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn iso_micros(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
        .unwrap_or_default()
}

fn project_page(cx: &RepoCx<'_>, name: &str, accept: Option<&str>) -> Response<Body> {
    let Some(representation) = negotiate(accept) else {
        return text(StatusCode::NOT_ACCEPTABLE, "Not Acceptable");
    };
    let p = package_id(name);
    let form = match representation {
        Representation::Json => "json",
        Representation::Html(content_type) => content_type,
    };
    let page = format!("pypi:{}:{form}", p.name);
    match cx.cached_page(page, || render_project_page(cx, &p, &representation)) {
        Ok(Some(page)) => page.into_response(None),
        Ok(None) => not_found(),
        Err(e) => internal(&e),
    }
}

/// A project page merged across the upstream graph: `None` when no version is visible.
fn render_project_page(
    cx: &RepoCx<'_>,
    p: &PackageId,
    representation: &Representation,
) -> Result<Option<Page>, crate::registry::Error> {
    let merged = cx
        .app
        .registry
        .merged(&cx.repo, p, Some(&PublicIndex { cx }))?;
    if merged.versions.is_empty() {
        return Ok(None);
    }
    let mut files: Vec<(&str, AssetRef, i64)> = Vec::new();
    for found in &merged.versions {
        for asset in files_of(&found.version) {
            if !files.iter().any(|(_, a, _)| a.name == asset.name) {
                files.push((&found.version.version, asset, found.version.published_ms));
            }
        }
    }
    let url =
        |version: &str, file: &str| format!("{}simple/{}/{version}/{file}", cx.base_url, p.name);
    let (content_type, body) = match *representation {
        Representation::Json => {
            let files: Vec<serde_json::Value> = files
                .iter()
                .map(|(version, asset, published)| {
                    let mut file = json!({
                        "filename": asset.name,
                        "url": url(version, &asset.name),
                        "hashes": { "sha256": asset.sha256 },
                        "size": asset.size,
                        "upload-time": asset.properties.get("upload-time").cloned().unwrap_or_else(|| iso_micros(*published)),
                    });
                    if let Some(requires) = asset.properties.get("requires-python") {
                        file["requires-python"] = json!(requires);
                    }
                    file
                })
                .collect();
            let versions: Vec<&str> = merged
                .versions
                .iter()
                .map(|f| f.version.version.as_str())
                .collect();
            let body = json!({
                "meta": { "api-version": "1.1" },
                "name": p.name,
                "versions": versions,
                "files": files,
            });
            ("application/vnd.pypi.simple.v1+json", body.to_string())
        }
        Representation::Html(content_type) => {
            let mut html = format!(
                "<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"1.1\">\n    <title>Links for {0}</title>\n  </head>\n  <body>\n    <h1>Links for {0}</h1>\n",
                html_escape(&p.name)
            );
            for (version, asset, _) in &files {
                let requires = asset
                    .properties
                    .get("requires-python")
                    .map(|r| format!(" data-requires-python=\"{}\"", html_escape(r)))
                    .unwrap_or_default();
                html.push_str(&format!(
                    "    <a href=\"{}#sha256={}\"{requires}>{}</a><br/>\n",
                    html_escape(&url(version, &asset.name)),
                    asset.sha256,
                    html_escape(&asset.name)
                ));
            }
            html.push_str("  </body>\n</html>\n");
            (content_type, html)
        }
    };
    Ok(Some(Page::new(body, content_type)))
}

/// A file from wherever the search order finds its version; a version found upstream is
/// retained here first.
async fn download(
    cx: &RepoCx<'_>,
    name: &str,
    version: &str,
    file: &str,
    range: Option<&str>,
) -> Response<Body> {
    let p = package_id(name);
    let found = cx.downloadable(&p, version, name, Some(&PublicIndex { cx }), |v| {
        v.assets.iter().any(|a| a.name == file)
    });
    let version = match found {
        Ok(Some(version)) => version,
        Ok(None) => return not_found(),
        Err(e) => return internal(&e),
    };
    let Some(asset) = version.assets.iter().find(|a| a.name == file) else {
        return not_found();
    };
    let path = cx
        .app
        .registry
        .blob_path(cx.repo.domain_id(), &asset.sha256);
    crate::app::file_response(&path, asset.size, "application/octet-stream", range)
        .await
        .unwrap_or_else(|_| not_found())
}

/// The fields of an upload, the file staged on disk.
#[derive(Default)]
struct Form {
    fields: BTreeMap<String, Vec<String>>,
    file: Option<(String, StagedBlob, String, String)>,
}

impl Form {
    fn one(&self, name: &str) -> Option<&str> {
        self.fields
            .get(name)
            .and_then(|v| v.first())
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn all(&self, name: &str) -> &[String] {
        self.fields.get(name).map_or(&[], Vec::as_slice)
    }
}

/// Reads the multipart body: text fields into memory (bounded), the `content` file to a
/// staging file while hashing it (SHA-256 by the store, BLAKE2b-256 and MD5 here).
async fn read_form<B>(cx: &RepoCx<'_>, request: Request<B>) -> Result<Form, Response<Body>>
where
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let bad = |why: String| text(StatusCode::BAD_REQUEST, why);
    let boundary = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| multer::parse_boundary(ct).ok())
        .ok_or_else(|| bad("Expected a multipart/form-data upload".to_string()))?;
    let stream = http_body_util::BodyDataStream::new(request.into_body());
    // The file may be as large as the asset quota; the other fields add little.
    let max_file = cx.app.registry.quotas.asset_size_bytes;
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(max_file.saturating_add(16 * 1024 * 1024))
            .per_field(max_file),
    );
    let mut multipart = multer::Multipart::with_constraints(stream, boundary, constraints);
    let mut form = Form::default();
    let mut text_bytes = 0usize;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return Err(bad(format!("Malformed multipart body: {e}"))),
        };
        let name = field.name().unwrap_or("").to_string();
        if name == "content" {
            let file_name = field.file_name().unwrap_or("").to_string();
            let mut field = field;
            let mut upload = cx.app.registry.upload().map_err(|e| {
                tracing::error!(error = %e, "cannot stage an upload");
                text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Could not store the file",
                )
            })?;
            let mut blake = blake2::Blake2b::<blake2::digest::consts::U32>::new();
            let mut md5 = md5::Md5::new();
            loop {
                match field.chunk().await {
                    Ok(Some(chunk)) => {
                        blake.update(&chunk);
                        md5.update(&chunk);
                        tokio::task::block_in_place(|| upload.write(&chunk)).map_err(|e| {
                            tracing::error!(error = %e, "cannot write an upload");
                            text(
                                StatusCode::INTERNAL_SERVER_ERROR,
                                "Could not store the file",
                            )
                        })?;
                    }
                    Ok(None) => break,
                    Err(e) => return Err(bad(format!("The upload ended early: {e}"))),
                }
            }
            let staged = tokio::task::block_in_place(|| upload.finish()).map_err(|e| {
                tracing::error!(error = %e, "cannot finish an upload");
                text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Could not store the file",
                )
            })?;
            let blake = hex::encode(&blake.finalize());
            let md5 = hex::encode(&md5.finalize());
            form.file = Some((file_name, staged, blake, md5));
        } else {
            let value = field
                .text()
                .await
                .map_err(|e| bad(format!("Malformed field {name}: {e}")))?;
            text_bytes += value.len();
            if text_bytes > 16 * 1024 * 1024 {
                return Err(bad("The upload's metadata is too large".to_string()));
            }
            form.fields.entry(name).or_default().push(value);
        }
    }
    Ok(form)
}

async fn upload<B>(cx: &RepoCx<'_>, request: Request<B>) -> Response<Body>
where
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let form = match read_form(cx, request).await {
        Ok(form) => form,
        Err(response) => return response,
    };
    tokio::task::block_in_place(|| store_upload(cx, form))
}

fn store_upload(cx: &RepoCx<'_>, mut form: Form) -> Response<Body> {
    let bad = |why: String| text(StatusCode::BAD_REQUEST, why);
    if form.one(":action") != Some("file_upload") {
        return bad("Unsupported ':action'; expected file_upload".to_string());
    }
    let (Some(name), Some(version)) = (
        form.one("name").map(str::to_string),
        form.one("version").map(str::to_string),
    ) else {
        return bad("The upload needs 'name' and 'version'".to_string());
    };
    if !valid_project_name(&name) {
        return bad(format!("Invalid project name '{name}'"));
    }
    if !valid_version(&version) {
        return bad(format!("Invalid version '{version}'"));
    }
    let Some((file_name, staged, blake, md5)) = form.file.take() else {
        return bad("The upload has no 'content' file".to_string());
    };
    if !valid_file_name(&file_name) {
        return bad(format!("Invalid file name '{file_name}'"));
    }
    match file_identity(&file_name) {
        Some((file_project, file_version))
            if normalize_name("pypi", &file_project) == normalize_name("pypi", &name)
                && same_version(&file_version, &version) => {}
        _ => {
            return bad(format!(
                "File '{file_name}' does not belong to {name} {version}"
            ))
        }
    }
    let sha256 = staged.digests().sha256.clone();
    for (field, actual) in [
        ("sha256_digest", &sha256),
        ("blake2_256_digest", &blake),
        ("md5_digest", &md5),
    ] {
        if let Some(declared) = form.one(field) {
            if !declared.eq_ignore_ascii_case(actual) {
                return bad(format!("The file does not match its {field}"));
            }
        }
    }
    let p = package_id(&name);
    let registry = &cx.app.registry;
    // Already here: the same bytes are a no-op, other bytes under the name a conflict.
    match registry.resolve(&cx.repo, &p, &version, None) {
        Ok(Some(found)) if found.holder.id == cx.repo.id => {
            if let Some(existing) = found.version.assets.iter().find(|a| a.name == file_name) {
                return if existing.sha256 == sha256 {
                    text(StatusCode::OK, "OK")
                } else {
                    text(
                        StatusCode::CONFLICT,
                        format!("File {file_name} already exists with different content"),
                    )
                };
            }
        }
        Ok(Some(_)) => {
            return text(
                StatusCode::CONFLICT,
                format!(
                    "Version {version} of {name} is already available from an upstream repository"
                ),
            )
        }
        Ok(None) => {}
        Err(e) => return internal(&e),
    }
    // Dependency-confusion protection: a version an index behind the graph lists cannot be
    // uploaded here either (unless this repository blocks upstream for the package).
    match registry.merged(&cx.repo, &p, Some(&PublicIndex { cx })) {
        Ok(merged)
            if merged
                .versions
                .iter()
                .any(|f| {
                    let elsewhere = f.external || f.holder.id != cx.repo.id;
                    elsewhere && same_version(&f.version.version, &version)
                }) =>
        {
            return text(
                StatusCode::CONFLICT,
                format!(
                    "Version {version} of {name} is already available from an upstream repository or external connection"
                ),
            )
        }
        Ok(_) => {}
        Err(e) => return internal(&e),
    }
    let mut properties = BTreeMap::new();
    if let Some(requires) = form.one("requires_python") {
        properties.insert("requires-python".to_string(), requires.to_string());
    }
    properties.insert("upload-time".to_string(), iso_micros(cx.app.clock.now_ms()));
    let d = cx.repo.domain_id();
    let published = registry.publish(
        &cx.repo,
        Publish {
            package: &p,
            display_name: &name,
            version: &version,
            asset: NewAsset {
                name: file_name,
                blob: staged,
                properties,
            },
            unfinished: false,
            append: true,
            metadata: Some(metadata_of(&form)),
            dist_tags: BTreeMap::new(),
        },
        |existing| registry.may_publish(d, &cx.repo, &p, existing),
    );
    match published {
        Ok(_) => text(StatusCode::OK, "OK"),
        Err(crate::registry::Error::Conflict { message, .. }) => {
            text(StatusCode::CONFLICT, message)
        }
        Err(crate::registry::Error::QuotaExceeded { message, .. }) => {
            text(StatusCode::BAD_REQUEST, message)
        }
        Err(e) => internal(&e),
    }
}

/// The version metadata an upload declares (core metadata fields).
fn metadata_of(form: &Form) -> VersionMetadata {
    let license = form
        .one("license_expression")
        .or_else(|| form.one("license"));
    let dependencies = form
        .all("requires_dist")
        .iter()
        .filter_map(|requirement| {
            let requirement = requirement.trim();
            let end = requirement
                .find(|c: char| !(c.is_ascii_alphanumeric() || "._-".contains(c)))
                .unwrap_or(requirement.len());
            let (dep, rest) = requirement.split_at(end);
            (!dep.is_empty()).then(|| Dependency {
                namespace: None,
                package: normalize_name("pypi", dep),
                dependency_type: Some("Requires-Dist".to_string()),
                version_requirement: Some(rest.trim().to_string()).filter(|r| !r.is_empty()),
            })
        })
        .collect();
    let source = form.all("project_urls").iter().find_map(|u| {
        let (label, url) = u.split_once(',')?;
        matches!(
            label.trim().to_ascii_lowercase().as_str(),
            "source" | "source code" | "repository" | "code"
        )
        .then(|| url.trim().to_string())
    });
    VersionMetadata {
        manifest: None,
        summary: form.one("summary").map(str::to_string),
        home_page: form.one("home_page").map(str::to_string),
        source_code_repository: source,
        licenses: license
            .map(|l| {
                vec![License {
                    name: Some(l.to_string()),
                    url: None,
                }]
            })
            .unwrap_or_default(),
        readme: form.one("description").map(str::to_string),
        dependencies,
    }
}

/// The files of a version: its assets when stored; for a version a public index lists but
/// nobody fetched yet, the files that index described.
fn files_of(version: &crate::registry::VersionRecord) -> Vec<AssetRef> {
    if !version.assets.is_empty() {
        return version.assets.clone();
    }
    let listed = version
        .metadata
        .manifest
        .as_ref()
        .and_then(|m| m.get("files"))
        .and_then(|f| f.as_array());
    listed
        .into_iter()
        .flatten()
        .filter_map(|file| serde_json::from_value::<IndexFile>(file.clone()).ok())
        .map(|file| AssetRef {
            name: file.filename,
            sha256: file.sha256,
            size: file.size,
            properties: [
                ("requires-python", file.requires_python),
                ("upload-time", file.upload_time),
            ]
            .into_iter()
            .filter_map(|(key, value)| Some((key.to_string(), value?)))
            .collect(),
        })
        .collect()
}

/// One file as an upstream index lists it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct IndexFile {
    filename: String,
    /// Absolute URL on the upstream index.
    url: String,
    sha256: String,
    #[serde(default)]
    size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    requires_python: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    upload_time: Option<String>,
}

/// The Python package index an external connection (`public:pypi`) is configured to reach.
struct PublicIndex<'a, 'b> {
    cx: &'a RepoCx<'b>,
}

impl PublicIndex<'_, '_> {
    fn base(&self, connection: &str) -> Option<String> {
        self.cx.upstream_base(connection)
    }

    fn get(&self, url: &str, accept: &str, limit: usize) -> Option<Bytes> {
        self.cx.fetch_upstream(url, accept, limit)
    }

    /// The project's files on the upstream index (PEP 691 JSON, or PEP 503 HTML).
    fn files(&self, connection: &str, p: &PackageId) -> Option<Vec<IndexFile>> {
        let base = self.base(connection)?;
        let page = format!("{base}/simple/{}/", p.name);
        let accept = "application/vnd.pypi.simple.v1+json, text/html;q=0.1";
        let body = self.cx.fetch_listing(&page, accept, 64 * 1024 * 1024)?;
        let (bare_page, _) = crate::outbound::split_credentials(&page);
        let mut files = match serde_json::from_slice::<serde_json::Value>(&body) {
            Ok(doc) => doc
                .get("files")?
                .as_array()?
                .iter()
                .filter_map(|f| {
                    Some(IndexFile {
                        filename: f.get("filename")?.as_str()?.to_string(),
                        url: join_url(&bare_page, f.get("url")?.as_str()?),
                        sha256: f
                            .get("hashes")?
                            .get("sha256")?
                            .as_str()?
                            .to_ascii_lowercase(),
                        size: f
                            .get("size")
                            .and_then(serde_json::Value::as_u64)
                            .unwrap_or(0),
                        requires_python: f
                            .get("requires-python")
                            .and_then(|r| r.as_str())
                            .map(str::to_string),
                        upload_time: f
                            .get("upload-time")
                            .and_then(|t| t.as_str())
                            .map(str::to_string),
                    })
                })
                .collect(),
            Err(_) => anchors(&String::from_utf8_lossy(&body), &bare_page),
        };
        files.retain(|f| valid_file_name(&f.filename) && f.sha256.len() == 64);
        Some(files)
    }

    fn versions(files: Vec<IndexFile>, p: &PackageId) -> BTreeMap<String, Vec<IndexFile>> {
        let mut by_version: BTreeMap<String, Vec<IndexFile>> = BTreeMap::new();
        for file in files {
            if let Some((project, version)) = file_identity(&file.filename) {
                if normalize_name("pypi", &project) == p.name && valid_version(&version) {
                    by_version.entry(version).or_default().push(file);
                }
            }
        }
        by_version
    }
}

/// Resolves a link on an index page against the page's URL (RFC 3986 §5.2: relative
/// paths, `.` and `..` segments, absolute paths and absolute URLs).
fn join_url(page: &str, link: &str) -> String {
    let link = link.split('#').next().unwrap_or(link);
    if link.starts_with("http://") || link.starts_with("https://") {
        return link.to_string();
    }
    let origin_end = page.find("://").map_or(0, |i| i + 3);
    let path_start = page[origin_end..]
        .find('/')
        .map_or(page.len(), |i| origin_end + i);
    let (origin, page_path) = page.split_at(path_start);
    let merged = match link.strip_prefix('/') {
        Some(_) => link.to_string(),
        None => {
            let directory = &page_path[..page_path.rfind('/').map_or(0, |i| i + 1)];
            format!("{directory}{link}")
        }
    };
    let mut segments: Vec<&str> = Vec::new();
    for segment in merged.split('/').skip(1) {
        match segment {
            "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let trailing = if merged.ends_with("/.") || merged.ends_with("/..") {
        "/"
    } else {
        ""
    };
    format!("{origin}/{}{trailing}", segments.join("/"))
}

/// Files from a PEP 503 HTML page: each anchor's `href` (with its `#sha256=`) and
/// `data-requires-python`.
fn anchors(html: &str, page: &str) -> Vec<IndexFile> {
    let attribute = |tag: &str, name: &str| -> Option<String> {
        let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
        let end = tag[start..].find('"')? + start;
        Some(
            tag[start..end]
                .replace("&gt;", ">")
                .replace("&lt;", "<")
                .replace("&quot;", "\"")
                .replace("&amp;", "&"),
        )
    };
    html.split("<a ")
        .skip(1)
        .filter_map(|chunk| {
            let (tag, after) = chunk.split_once('>')?;
            let href = attribute(tag, "href")?;
            let sha256 = href.split_once("#sha256=")?.1.to_ascii_lowercase();
            let filename = after.split('<').next()?.trim().to_string();
            Some(IndexFile {
                url: join_url(page, &href),
                filename,
                sha256,
                size: 0,
                requires_python: attribute(tag, "data-requires-python"),
                upload_time: None,
            })
        })
        .collect()
}

impl ExternalSource for PublicIndex<'_, '_> {
    fn list(&self, connection: &str, p: &PackageId) -> Option<ExternalPackage> {
        let files = self.files(connection, p)?;
        let versions = Self::versions(files, p)
            .into_iter()
            .map(|(version, files)| ExternalVersion {
                version,
                display_name: p.name.clone(),
                published_ms: 0,
                metadata: VersionMetadata {
                    manifest: Some(json!({ "files": files })),
                    ..VersionMetadata::default()
                },
                assets: Vec::new(),
            })
            .collect();
        Some(ExternalPackage {
            versions,
            dist_tags: BTreeMap::new(),
        })
    }

    /// Downloads every file of the version, each verified against the index's SHA-256.
    fn fetch(&self, connection: &str, p: &PackageId, version: &str) -> Option<ExternalVersion> {
        let base = self.base(connection)?;
        let mut by_version = Self::versions(self.files(connection, p)?, p);
        let files = by_version.remove(version)?;
        let mut assets = Vec::with_capacity(files.len());
        for file in &files {
            let url = crate::outbound::with_credentials_of(&base, &file.url);
            let bytes = self.get(&url, "application/octet-stream", usize::MAX >> 1)?;
            let actual = hex::encode(&sha2::Sha256::digest(&bytes));
            if actual != file.sha256 {
                tracing::warn!(
                    connection,
                    file = file.filename,
                    "upstream file does not match its sha256"
                );
                return None;
            }
            let staged = self.cx.app.registry.stage_bytes(&bytes);
            let blob = match staged {
                Ok(blob) => blob,
                Err(e) => {
                    tracing::error!(error = %e, "cannot stage an upstream file");
                    return None;
                }
            };
            let mut properties = BTreeMap::new();
            if let Some(requires) = &file.requires_python {
                properties.insert("requires-python".to_string(), requires.clone());
            }
            if let Some(uploaded) = &file.upload_time {
                properties.insert("upload-time".to_string(), uploaded.clone());
            }
            assets.push(NewAsset {
                name: file.filename.clone(),
                blob,
                properties,
            });
        }
        Some(ExternalVersion {
            version: version.to_string(),
            display_name: p.name.clone(),
            published_ms: 0,
            metadata: VersionMetadata::default(),
            assets,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_and_path_tricks() {
        assert_eq!(route(&Method::POST, ""), Route::Upload);
        assert_eq!(
            route(&Method::GET, "simple/My_Pkg.Name/"),
            Route::Project {
                name: "My_Pkg.Name".into(),
                slash: true
            }
        );
        assert_eq!(
            route(&Method::GET, "simple/my-pkg"),
            Route::Project {
                name: "my-pkg".into(),
                slash: false
            }
        );
        assert_eq!(
            route(
                &Method::GET,
                "simple/my-pkg/1.0.0/my_pkg-1.0.0-py3-none-any.whl"
            ),
            Route::File {
                name: "my-pkg".into(),
                version: "1.0.0".into(),
                file: "my_pkg-1.0.0-py3-none-any.whl".into()
            }
        );
        for rest in [
            "simple/",
            "simple/../x/",
            "simple/x/1.0/..%2fsecret.whl",
            "simple/x/../y.whl",
            "pypi/x/json",
            "simple/%2e%2e/",
        ] {
            assert_eq!(route(&Method::GET, rest), Route::Unsupported, "{rest}");
        }
    }

    #[test]
    fn files_belong_to_their_project_and_version() {
        assert_eq!(
            file_identity("My_Pkg.Name-1.0.0.tar.gz"),
            Some(("My_Pkg.Name".into(), "1.0.0".into()))
        );
        assert_eq!(
            file_identity("my_pkg_name-1.0.0-py3-none-any.whl"),
            Some(("my_pkg_name".into(), "1.0.0".into()))
        );
        assert_eq!(file_identity("x.txt"), None);
        assert!(same_version("1.0.0rc1", "1.0.0RC1"));
    }

    #[test]
    fn content_negotiation_follows_q_values() {
        let pip = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01";
        assert_eq!(negotiate(Some(pip)), Some(Representation::Json));
        assert_eq!(negotiate(None), Some(Representation::Html("text/html")));
        assert_eq!(
            negotiate(Some("text/html")),
            Some(Representation::Html("text/html"))
        );
        assert_eq!(
            negotiate(Some("application/vnd.pypi.simple.latest+html")),
            Some(Representation::Html("application/vnd.pypi.simple.v1+html"))
        );
        assert_eq!(negotiate(Some("application/xml")), None);
    }

    #[test]
    fn index_pages_give_files_and_absolute_urls() {
        let page = "http://mirror:8080/simple/my-pkg/";
        let html = r#"<a href="../../packages/my_pkg-1.0-py3-none-any.whl#sha256=ABCDEF" data-requires-python="&gt;=3.8">my_pkg-1.0-py3-none-any.whl</a><br/>"#;
        let files = anchors(html, page);
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].filename, "my_pkg-1.0-py3-none-any.whl");
        assert_eq!(
            files[0].url,
            "http://mirror:8080/packages/my_pkg-1.0-py3-none-any.whl"
        );
        assert_eq!(files[0].sha256, "abcdef");
        assert_eq!(files[0].requires_python.as_deref(), Some(">=3.8"));
        assert_eq!(
            join_url(page, "/files/x.whl#sha256=1"),
            "http://mirror:8080/files/x.whl"
        );
        assert_eq!(
            join_url(page, "https://elsewhere/x.whl"),
            "https://elsewhere/x.whl"
        );
        assert_eq!(
            join_url(page, "x.whl"),
            "http://mirror:8080/simple/my-pkg/x.whl"
        );
        assert_eq!(
            join_url(page, "../../+f/ab/x.whl"),
            "http://mirror:8080/+f/ab/x.whl"
        );
        assert_eq!(
            join_url(page, "./x.whl"),
            "http://mirror:8080/simple/my-pkg/x.whl"
        );
    }
}
