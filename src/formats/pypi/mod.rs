//! The Python package index protocol as CodeArtifact serves it (repository-endpoints spec
//! §6): the simple repository API (PEP 503 HTML and PEP 691 JSON) and file downloads. The
//! legacy upload API twine, uv and poetry use is in `publish`, the adapter for upstream
//! indexes in `upstream`.
//!
//! A PyPI version may hold several files (wheels and an sdist); each file is an asset.

mod publish;
mod upstream;

use crate::cache::Page;
use crate::endpoints::{download, page_response, Action, Format, RepoCx, RepoError};
use crate::registry::names::normalize_name;
use crate::registry::{AssetRef, PackageId};
use crate::wire::{full, header_text, text, Body, RequestBody};
use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use serde_json::json;
use upstream::PublicIndex;

/// The Python package index protocol.
pub struct Pypi;

impl Format for Pypi {
    const NAME: &'static str = "pypi";
    type Route = Route;
    type Adapter<'a> = PublicIndex<'a>;

    fn route(method: &Method, rest: &str) -> Result<Route, RepoError> {
        match route(method, rest) {
            Route::Unsupported => Err(RepoError::NotFound("Not Found".to_string())),
            route => Ok(route),
        }
    }

    fn action(method: &Method, route: &Route) -> Result<Action, RepoError> {
        let reading = method == Method::GET || method == Method::HEAD;
        match route {
            // The project's name is in the form: the one publish path checks it.
            Route::Upload => Ok(Action::Publish(None)),
            Route::Project { .. } | Route::File { .. } if reading => Ok(Action::Read),
            _ => Err(RepoError::MethodNotAllowed(
                "Method Not Allowed".to_string(),
            )),
        }
    }

    async fn handle(
        cx: &RepoCx<'_>,
        route: Route,
        request: Request<RequestBody>,
    ) -> Result<Response<Body>, RepoError> {
        match route {
            Route::Project { name, slash: false } => {
                let mut response = Response::new(full(Bytes::new()));
                *response.status_mut() = StatusCode::MOVED_PERMANENTLY;
                if let Ok(location) =
                    HeaderValue::from_str(&format!("{}simple/{name}/", cx.base_url))
                {
                    response.headers_mut().insert(header::LOCATION, location);
                }
                Ok(response)
            }
            Route::Project { name, slash: true } => {
                let accept = header_text(&request, header::ACCEPT);
                project_page(cx, &name, accept.as_deref())
            }
            Route::File {
                name,
                version,
                file,
            } => {
                let range = header_text(&request, header::RANGE);
                let p = package_id(&name);
                let version = download::version::<Pypi>(cx, &p, &version, &name, |v| {
                    v.assets.iter().any(|a| a.name == file)
                })?;
                let asset = version
                    .assets
                    .iter()
                    .find(|a| a.name == file)
                    .ok_or_else(not_found)?;
                download::asset(cx, asset, "application/octet-stream", range.as_deref()).await
            }
            Route::Upload => publish::upload(cx, request).await,
            Route::Unsupported => Err(not_found()),
        }
    }

    /// pip, twine and uv print the body of an error as text.
    fn error_response(status: StatusCode, message: &str) -> Response<Body> {
        text(status, message)
    }

    fn adapter<'a>(cx: &'a RepoCx<'a>) -> PublicIndex<'a> {
        PublicIndex { cx }
    }

    fn route_name(_method: &Method, route: &Route) -> &'static str {
        match route {
            Route::Upload => "upload",
            Route::Project { .. } => "simple",
            Route::File { .. } => "file",
            Route::Unsupported => "unsupported",
        }
    }

    fn same_version(a: &str, b: &str) -> bool {
        same_version(a, b)
    }
}

fn not_found() -> RepoError {
    RepoError::NotFound("Not Found".to_string())
}

/// A project name as PEP 508 allows it (checked before normalising).
pub(super) fn valid_project_name(name: &str) -> bool {
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
pub(super) fn valid_version(version: &str) -> bool {
    !version.is_empty()
        && version.len() <= 128
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".+!_-".contains(&b))
        && !version.contains("..")
}

pub(super) fn package_id(name: &str) -> PackageId {
    PackageId {
        format: "pypi".to_string(),
        namespace: None,
        name: normalize_name("pypi", name),
    }
}

/// What a path under the repository asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
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
pub(super) fn valid_file_name(file: &str) -> bool {
    !file.is_empty()
        && file.len() <= 255
        && !file.contains(['/', '\\', '\0'])
        && !file.starts_with('.')
        && [".whl", ".tar.gz", ".zip", ".tar.bz2", ".egg", ".tgz"]
            .iter()
            .any(|ext| file.ends_with(ext))
}

/// The project and version a distribution file name says it belongs to.
pub(super) fn file_identity(file: &str) -> Option<(String, String)> {
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
pub(super) fn same_version(a: &str, b: &str) -> bool {
    let canon = |v: &str| v.to_ascii_lowercase().replace(['_', '-'], ".");
    canon(a) == canon(b)
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

pub(super) fn iso_micros(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
        .unwrap_or_default()
}

fn project_page(
    cx: &RepoCx<'_>,
    name: &str,
    accept: Option<&str>,
) -> Result<Response<Body>, RepoError> {
    let Some(representation) = negotiate(accept) else {
        return Err(RepoError::NotAcceptable("Not Acceptable".to_string()));
    };
    let p = package_id(name);
    let form = match representation {
        Representation::Json => "json",
        Representation::Html(content_type) => content_type,
    };
    let page = format!("pypi:{}:{form}", p.name);
    match cx.cached_page(page, || render_project_page(cx, &p, &representation))? {
        Some(page) => Ok(page_response(page, None)),
        None => Err(not_found()),
    }
}

/// A project page merged across the upstream graph: `None` when no version is visible.
fn render_project_page(
    cx: &RepoCx<'_>,
    p: &PackageId,
    representation: &Representation,
) -> Result<Option<Page>, RepoError> {
    let merged = cx
        .app
        .registry
        .merged(&cx.repo, p, Some(&Pypi::adapter(cx)))?;
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

/// The files of a version: its assets when stored; for a version a public index lists but
/// nobody fetched yet, the files that index described.
pub(super) fn files_of(version: &crate::registry::VersionRecord) -> Vec<AssetRef> {
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
pub(super) struct IndexFile {
    pub(super) filename: String,
    /// Absolute URL on the upstream index.
    pub(super) url: String,
    pub(super) sha256: String,
    #[serde(default)]
    pub(super) size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) requires_python: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) upload_time: Option<String>,
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
}
