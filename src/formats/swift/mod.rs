//! The Swift Package Registry Service (SE-0292, SE-0378 login) as CodeArtifact serves it
//! (repository-endpoints spec §11): release lists, release metadata, `Package.swift` and
//! its version-specific variants, source archives with their `Digest`, identifier lookup by
//! repository URL, `PUT` publishes and `/login`. Reading archives, names and metadata is in
//! `archive`, the publish in `publish`.
//!
//! A release is one version with one asset, its source archive (`{name}-{version}.zip`).
//! The manifests and the release metadata read at publish are kept in the version's
//! manifest, so no request reopens the archive. Scopes and names are stored lowercased
//! (lookups are case-insensitive); versions are SemVer 2.0 and kept as written. Every
//! answer carries `Content-Version: 1`; every refusal from the protocol on is an RFC 7807
//! problem-details document. There is no public Swift registry behind any external
//! connection: Swift packages flow only between CodeArtifact repositories.

mod archive;
mod publish;

use crate::cache::Page;
use crate::endpoints::{download, page_response, Action, Format, RepoCx, RepoError};
use crate::registry::{ExternalPackage, ExternalSource, ExternalVersion, Found, PackageFilter};
use crate::registry::{PackageId, VersionRecord};
use crate::wire::{decode_query, full, header_text, Body, RequestBody};
use archive::{Manifests, ReleaseMetadata};
use base64::Engine as _;
use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use serde_json::{json, Value};

pub use archive::{parse_version, read_archive, valid_name, valid_scope};

/// The API version this registry speaks.
const API_VERSION: &str = "1";
/// Most packages `identifiers?url=` looks through in one repository.
const MAX_IDENTIFIER_SCAN: usize = 100_000;

/// The Swift package registry protocol.
pub struct Swift;

impl Format for Swift {
    const NAME: &'static str = "swift";
    type Route = Route;
    type Adapter<'a> = NoPublicRegistry;

    fn route(method: &Method, rest: &str) -> Result<Route, RepoError> {
        route(method, rest)
    }

    fn action(method: &Method, route: &Route) -> Result<Action, RepoError> {
        match route {
            Route::Publish(p, _) => Ok(Action::Publish(Some(p.id()))),
            // SE-0378: `swift package-registry login` POSTs to the login URL and wants 200.
            Route::Login if method == Method::POST => Ok(Action::Read),
            Route::Login => Err(RepoError::method(method)),
            _ => Action::read(method),
        }
    }

    async fn handle(
        cx: &RepoCx<'_>,
        route: Route,
        request: Request<RequestBody>,
    ) -> Result<Response<Body>, RepoError> {
        api_version(request.headers())?;
        let if_none_match = header_text(&request, header::IF_NONE_MATCH);
        let query = request.uri().query().unwrap_or("").to_string();
        let mut response = match route {
            Route::Login => Ok(Response::new(full(Bytes::new()))),
            Route::Identifiers => identifiers(cx, &query),
            Route::Releases(p) => {
                let page = releases(cx, &p)?
                    .ok_or_else(|| RepoError::NotFound("package not found".into()))?;
                Ok(linked_page(page, if_none_match.as_deref()))
            }
            Route::Release(p, version) => {
                let page = release(cx, &p, &version)?;
                Ok(linked_page(page, if_none_match.as_deref()))
            }
            Route::Manifest(p, version) => {
                manifest(cx, &p, &version, &query, if_none_match.as_deref())
            }
            Route::Archive(p, version) => {
                let range = header_text(&request, header::RANGE);
                source_archive(cx, &p, &version, range.as_deref()).await
            }
            Route::Publish(p, version) => publish::publish(cx, &p, &version, request).await,
        }?;
        response
            .headers_mut()
            .insert("content-version", HeaderValue::from_static(API_VERSION));
        Ok(response)
    }

    /// RFC 7807 problem details, as the registry specification requires of every error
    /// (SwiftPM prints `detail`).
    fn error_response(status: StatusCode, message: &str) -> Response<Body> {
        let body = json!({
            "detail": message,
            "status": status.as_u16(),
            "title": status.canonical_reason().unwrap_or(""),
        });
        let mut response = Response::new(full(body.to_string()));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        headers.insert("content-version", HeaderValue::from_static(API_VERSION));
        headers.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static("en"));
        response
    }

    fn adapter<'a>(_cx: &'a RepoCx<'a>) -> NoPublicRegistry {
        NoPublicRegistry
    }

    fn route_name(_method: &Method, route: &Route) -> &'static str {
        match route {
            Route::Login => "login",
            Route::Identifiers => "identifiers",
            Route::Releases(_) => "releases",
            Route::Release(..) => "release",
            Route::Manifest(..) => "manifest",
            Route::Archive(..) => "archive",
            Route::Publish(..) => "publish",
        }
    }
}

/// The service has no external connection for Swift (upstreams spec §2): no public
/// registry is ever asked.
pub struct NoPublicRegistry;

impl ExternalSource for NoPublicRegistry {
    fn list(&self, _connection: &str, _p: &PackageId) -> Option<ExternalPackage> {
        None
    }

    fn fetch(&self, _connection: &str, _p: &PackageId, _version: &str) -> Option<ExternalVersion> {
        None
    }
}

/// A package as a request names it: scope and name as the client wrote them, already
/// checked against the registry's grammar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub scope: String,
    pub name: String,
}

impl Package {
    /// The package in the store: scope (the namespace) and name lowercased.
    pub fn id(&self) -> PackageId {
        PackageId {
            format: "swift".to_string(),
            namespace: Some(self.scope.to_ascii_lowercase()),
            name: self.name.to_ascii_lowercase(),
        }
    }

    /// `scope.name`, lowercased, as release metadata and identifier lookups name it.
    fn identifier(&self) -> String {
        format!(
            "{}.{}",
            self.scope.to_ascii_lowercase(),
            self.name.to_ascii_lowercase()
        )
    }

    /// The release's URL on this endpoint.
    fn release_url(&self, cx: &RepoCx<'_>, version: &str) -> String {
        format!(
            "{}{}/{}/{version}",
            cx.base_url,
            self.scope.to_ascii_lowercase(),
            self.name.to_ascii_lowercase()
        )
    }
}

/// What a path under the repository asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// `POST login`.
    Login,
    /// `GET identifiers?url=…`.
    Identifiers,
    /// `GET {scope}/{name}[.json]`.
    Releases(Package),
    /// `GET {scope}/{name}/{version}[.json]`.
    Release(Package, String),
    /// `GET {scope}/{name}/{version}/Package.swift[?swift-version=…]`.
    Manifest(Package, String),
    /// `GET {scope}/{name}/{version}.zip`.
    Archive(Package, String),
    /// `PUT {scope}/{name}/{version}`.
    Publish(Package, String),
}

fn route(method: &Method, rest: &str) -> Result<Route, RepoError> {
    match rest {
        "login" => return Ok(Route::Login),
        "identifiers" => return Ok(Route::Identifiers),
        _ => {}
    }
    let segments: Vec<String> = rest
        .split('/')
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(std::borrow::Cow::into_owned)
        })
        .collect::<Result<_, _>>()
        .map_err(|_| RepoError::not_found())?;
    if segments.iter().any(String::is_empty) {
        return Err(RepoError::not_found());
    }
    let package = |scope: &str, name: &str| -> Result<Package, RepoError> {
        if !valid_scope(scope) {
            return Err(RepoError::BadRequest(format!(
                "invalid package scope: {scope:?}"
            )));
        }
        if !valid_name(name) {
            return Err(RepoError::BadRequest(format!(
                "invalid package name: {name:?}"
            )));
        }
        Ok(Package {
            scope: scope.to_string(),
            name: name.to_string(),
        })
    };
    // A publish of a version that is not SemVer 2.0 is malformed (400); a read of one asks
    // for a release that cannot exist (404).
    let version = |v: &str| -> Result<String, RepoError> {
        match parse_version(v) {
            Some(_) => Ok(v.to_string()),
            None if method == Method::PUT => Err(RepoError::BadRequest(format!(
                "invalid version: {v:?} is not SemVer 2.0"
            ))),
            None => Err(RepoError::NotFound("release not found".into())),
        }
    };
    match segments.as_slice() {
        [scope, name] => {
            let name = name.strip_suffix(".json").unwrap_or(name);
            Ok(Route::Releases(package(scope, name)?))
        }
        [scope, name, v] if method == Method::PUT => {
            Ok(Route::Publish(package(scope, name)?, version(v)?))
        }
        [scope, name, v] => {
            let p = package(scope, name)?;
            if let Some(v) = v.strip_suffix(".zip") {
                Ok(Route::Archive(p, version(v)?))
            } else {
                let v = v.strip_suffix(".json").unwrap_or(v);
                Ok(Route::Release(p, version(v)?))
            }
        }
        [scope, name, v, file] if file == "Package.swift" => {
            Ok(Route::Manifest(package(scope, name)?, version(v)?))
        }
        _ => Err(RepoError::not_found()),
    }
}

/// The API version an `Accept` header asks for (SE-0292 §3.5): none, or any media type
/// outside the registry's, means version 1; `application/vnd.swift.registry[.vN][+type]`
/// with a malformed version is 400, with a version other than 1 is 415.
fn api_version(headers: &HeaderMap) -> Result<(), RepoError> {
    for value in headers.get_all(header::ACCEPT) {
        let Ok(value) = value.to_str() else {
            return Err(RepoError::BadRequest("invalid Accept header".into()));
        };
        for media in value.split(',') {
            let media = media
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            let Some(rest) = media.strip_prefix("application/vnd.swift.registry") else {
                continue;
            };
            let rest = rest.split('+').next().unwrap_or("");
            if rest.is_empty() {
                return Ok(());
            }
            let Some(version) = rest.strip_prefix(".v") else {
                return Err(RepoError::BadRequest(format!(
                    "invalid registry media type: {media}"
                )));
            };
            if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
                return Err(RepoError::BadRequest(format!(
                    "invalid API version: {version}"
                )));
            }
            if version.trim_start_matches('0') != API_VERSION {
                return Err(RepoError::UnsupportedMediaType(format!(
                    "unsupported API version: {version}"
                )));
            }
            return Ok(());
        }
    }
    Ok(())
}

/// A cached page whose first line is its `Link` header value and the rest its body.
fn linked_page(page: Page, if_none_match: Option<&str>) -> Response<Body> {
    let split = page
        .body
        .iter()
        .position(|b| *b == b'\n')
        .unwrap_or(page.body.len());
    let link = page.body.slice(..split);
    let body = page.body.slice((split + 1).min(page.body.len())..);
    let mut response = page_response(
        Page {
            body,
            content_type: page.content_type,
            etag: page.etag,
            // a slice of a cached page, made anew per request: sent as it is
            gzip: None,
        },
        if_none_match,
    );
    if !link.is_empty() {
        if let Ok(value) = HeaderValue::from_maybe_shared(link) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    response
}

/// A page with its `Link` value first.
fn link_page(links: &[String], body: &Value) -> Page {
    Page::new(format!("{}\n{body}", links.join(", ")), "application/json")
}

/// Whether a URL can sit in a `Link` header as SwiftPM splits it (on `,` and `;`).
fn linkable(url: &str) -> bool {
    !url.is_empty()
        && !url.chars().any(|c| {
            matches!(c, ',' | ';' | '<' | '>' | '"') || c.is_whitespace() || c.is_control()
        })
}

/// The visible releases of a package through this repository, highest precedence first.
fn visible_releases(
    cx: &RepoCx<'_>,
    p: &Package,
) -> Result<Vec<(semver::Version, Found)>, RepoError> {
    let merged = cx
        .app
        .registry
        .merged(&cx.repo, &p.id(), Some(&NoPublicRegistry))?;
    let mut releases: Vec<(semver::Version, Found)> = merged
        .versions
        .into_iter()
        .filter_map(|found| Some((parse_version(&found.version.version)?, found)))
        .collect();
    releases.sort_by(|a, b| b.0.cmp(&a.0));
    Ok(releases)
}

/// The stored release metadata of a version and its manifests.
struct Stored {
    manifests: Option<Manifests>,
    metadata: Value,
    signing: Option<Value>,
}

impl Stored {
    fn of(version: &VersionRecord) -> Stored {
        let manifest = version.metadata.manifest.as_ref();
        Stored {
            manifests: manifest
                .and_then(|m| m.get("manifests"))
                .and_then(Manifests::from_json),
            metadata: manifest
                .and_then(|m| m.get("metadata"))
                .filter(|m| m.is_object())
                .cloned()
                .unwrap_or_else(|| json!({})),
            signing: manifest.and_then(|m| m.get("signing")).cloned(),
        }
    }
}

/// `GET {scope}/{name}`: every visible release, with the `latest-version` link and the
/// package's repository URLs as `canonical` and `alternate` links; `None` when there are none.
fn releases(cx: &RepoCx<'_>, p: &Package) -> Result<Option<Page>, RepoError> {
    cx.cached_page(format!("swift:releases:{}", p.identifier()), || {
        let releases = visible_releases(cx, p)?;
        let Some((_, latest)) = releases.first() else {
            return Ok(None);
        };
        let mut links = vec![format!(
            "<{}>; rel=\"latest-version\"",
            p.release_url(cx, &latest.version.version)
        )];
        let urls = ReleaseMetadata {
            document: Stored::of(&latest.version)
                .metadata
                .as_object()
                .cloned()
                .unwrap_or_default(),
        }
        .repository_urls();
        for (i, url) in urls.iter().filter(|u| linkable(u)).enumerate() {
            let rel = if i == 0 { "canonical" } else { "alternate" };
            links.push(format!("<{url}>; rel=\"{rel}\""));
        }
        let listed: serde_json::Map<String, Value> = releases
            .iter()
            .map(|(_, found)| {
                let v = &found.version.version;
                (v.clone(), json!({ "url": p.release_url(cx, v) }))
            })
            .collect();
        Ok(Some(link_page(&links, &json!({ "releases": listed }))))
    })
}

/// The version a release request names, through the one download path (retained here
/// when it came from an upstream repository).
fn find_release(cx: &RepoCx<'_>, p: &Package, version: &str) -> Result<VersionRecord, RepoError> {
    download::version::<Swift>(cx, &p.id(), version, &p.name, |v| !v.assets.is_empty()).map_err(
        |e| match e {
            RepoError::NotFound(_) => RepoError::NotFound("release not found".into()),
            e => e,
        },
    )
}

/// `GET {scope}/{name}/{version}`: the release's resources (the source archive and its
/// checksum), metadata, publication time, and its `latest-version`,
/// `predecessor-version` and `successor-version` links.
fn release(cx: &RepoCx<'_>, p: &Package, version: &str) -> Result<Page, RepoError> {
    let page = cx.cached_page(
        format!("swift:release:{}:{version}", p.identifier()),
        || {
            let record = find_release(cx, p, version)?;
            let asset = record.assets.first().ok_or_else(RepoError::not_found)?;
            let stored = Stored::of(&record);
            let mut resource = json!({
                "name": "source-archive",
                "type": "application/zip",
                "checksum": asset.sha256,
            });
            if let Some(signing) = stored.signing.as_ref().and_then(|s| s.get("sourceArchive")) {
                resource["signing"] = signing.clone();
            }
            let published = chrono::DateTime::from_timestamp_millis(record.published_ms)
                .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
                .unwrap_or_default();
            let body = json!({
                "id": p.identifier(),
                "version": record.version,
                "resources": [resource],
                "metadata": stored.metadata,
                "publishedAt": published,
            });
            let releases = visible_releases(cx, p)?;
            let mut links = Vec::new();
            if let Some((_, latest)) = releases.first() {
                links.push(format!(
                    "<{}>; rel=\"latest-version\"",
                    p.release_url(cx, &latest.version.version)
                ));
            }
            if let Some(i) = releases
                .iter()
                .position(|(_, f)| f.version.version == record.version)
            {
                // Highest first: the successor is the one before, the predecessor after.
                if let Some((_, next)) = i.checked_sub(1).and_then(|j| releases.get(j)) {
                    links.push(format!(
                        "<{}>; rel=\"successor-version\"",
                        p.release_url(cx, &next.version.version)
                    ));
                }
                if let Some((_, previous)) = releases.get(i + 1) {
                    links.push(format!(
                        "<{}>; rel=\"predecessor-version\"",
                        p.release_url(cx, &previous.version.version)
                    ));
                }
            }
            Ok(Some(link_page(&links, &body)))
        },
    )?;
    page.ok_or_else(|| RepoError::internal("the release page was not rendered"))
}

/// `GET {scope}/{name}/{version}/Package.swift`: the manifest, with an `alternate` link per
/// version-specific manifest; `?swift-version=X` answers that manifest, or 303 to the
/// unqualified one when the release has none for X. Rendered once per store generation.
fn manifest(
    cx: &RepoCx<'_>,
    p: &Package,
    version: &str,
    query: &str,
    if_none_match: Option<&str>,
) -> Result<Response<Body>, RepoError> {
    let url = format!("{}/Package.swift", p.release_url(cx, version));
    let wanted = decode_query(query)
        .into_iter()
        .find(|(k, _)| k == "swift-version")
        .map(|(_, v)| v);
    let key = format!(
        "swift:manifest:{}:{version}:{}",
        p.identifier(),
        wanted.as_deref().unwrap_or("")
    );
    // The page is `{file name}\n{Link}\n{manifest}`, or empty when the release has no
    // manifest for the swift-version asked (a redirect).
    let page = cx.cached_page(key, || {
        let record = find_release(cx, p, version)?;
        let manifests = Stored::of(&record)
            .manifests
            .ok_or_else(|| RepoError::NotFound("release has no manifest".into()))?;
        let chosen = match &wanted {
            Some(wanted) => manifests
                .for_swift_version(wanted)
                .map(|(key, m)| (format!("Package@swift-{key}.swift"), m)),
            None => manifests.main().map(|m| ("Package.swift".to_string(), m)),
        };
        let Some((file_name, chosen)) = chosen else {
            return Ok(Some(Page::new(Bytes::new(), "text/x-swift")));
        };
        let links: Vec<String> = manifests
            .files
            .iter()
            .filter(|(key, _)| !key.is_empty())
            .map(|(key, m)| {
                format!(
                    "<{url}?swift-version={key}>; rel=\"alternate\"; filename=\"Package@swift-{key}.swift\"; swift-tools-version=\"{}\"",
                    m.tools_version
                )
            })
            .collect();
        let body = format!("{file_name}\n{}\n{}", links.join(", "), chosen.content);
        Ok(Some(Page::new(body, "text/x-swift")))
    })?;
    let page = page.ok_or_else(|| RepoError::internal("the manifest page was not rendered"))?;
    if page.body.is_empty() {
        let mut response = Response::new(full(Bytes::new()));
        *response.status_mut() = StatusCode::SEE_OTHER;
        if let Ok(location) = HeaderValue::from_str(&url) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        return Ok(response);
    }
    let split = page
        .body
        .iter()
        .position(|b| *b == b'\n')
        .unwrap_or(page.body.len());
    let disposition = format!(
        "attachment; filename=\"{}\"",
        String::from_utf8_lossy(&page.body[..split])
    );
    let rest = Page {
        body: page.body.slice((split + 1).min(page.body.len())..),
        content_type: page.content_type,
        etag: page.etag,
        gzip: None,
    };
    let mut response = linked_page(rest, if_none_match);
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// `GET {scope}/{name}/{version}.zip`: the archive, streamed with ranges, its SHA-256 in
/// `Digest` (base64, RFC 3230) and the signature headers of a signed release.
async fn source_archive(
    cx: &RepoCx<'_>,
    p: &Package,
    version: &str,
    range: Option<&str>,
) -> Result<Response<Body>, RepoError> {
    let record = find_release(cx, p, version)?;
    let asset = record.assets.first().ok_or_else(RepoError::not_found)?;
    let mut response = download::asset(cx, asset, "application/zip", range).await?;
    let headers = response.headers_mut();
    let digest = hex::decode(&asset.sha256).map_err(RepoError::internal)?;
    let digest = base64::engine::general_purpose::STANDARD.encode(digest);
    if let Ok(value) = HeaderValue::from_str(&format!("sha-256={digest}")) {
        headers.insert("digest", value);
    }
    let file_name = format!("{}-{}.zip", p.name, record.version);
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    let signing = Stored::of(&record).signing;
    if let Some(signing) = signing.as_ref().and_then(|s| s.get("sourceArchive")) {
        let field = |k: &str| {
            signing
                .get(k)
                .and_then(Value::as_str)
                .map(HeaderValue::from_str)
        };
        if let (Some(Ok(format)), Some(Ok(signature))) =
            (field("signatureFormat"), field("signatureBase64Encoded"))
        {
            headers.insert("x-swift-package-signature-format", format);
            headers.insert("x-swift-package-signature", signature);
        }
    }
    Ok(response)
}

/// `GET identifiers?url=…`: the packages of this repository whose releases list the URL
/// among their `repositoryURLs`; 404 when none does, 400 without a URL.
fn identifiers(cx: &RepoCx<'_>, query: &str) -> Result<Response<Body>, RepoError> {
    let url = decode_query(query)
        .into_iter()
        .find(|(k, _)| k == "url")
        .map(|(_, v)| v)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| RepoError::BadRequest("missing url query parameter".into()))?;
    let wanted = archive::comparable_url(&url);
    let registry = &cx.app.registry;
    let packages = registry.list_packages(
        &cx.repo,
        &PackageFilter {
            format: Some("swift"),
            namespace_prefix: None,
            name_prefix: None,
            publish: None,
            upstream: None,
        },
        None,
        MAX_IDENTIFIER_SCAN,
    )?;
    let mut found = Vec::new();
    for package in packages.items {
        let Some(scope) = package.namespace.clone() else {
            continue;
        };
        let p = Package {
            scope,
            name: package.name.clone(),
        };
        let listed = registry.versions(&cx.repo, &p.id())?.iter().any(|v| {
            v.status == crate::registry::VersionStatus::Published
                && ReleaseMetadata {
                    document: Stored::of(v)
                        .metadata
                        .as_object()
                        .cloned()
                        .unwrap_or_default(),
                }
                .repository_urls()
                .iter()
                .any(|u| archive::comparable_url(u) == wanted)
        });
        if listed {
            found.push(p.identifier());
        }
    }
    if found.is_empty() {
        return Err(RepoError::NotFound(
            "no package identifiers are registered for this URL".into(),
        ));
    }
    Ok(crate::wire::json_response(
        StatusCode::OK,
        &json!({ "identifiers": found }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(scope: &str, name: &str) -> Package {
        Package {
            scope: scope.into(),
            name: name.into(),
        }
    }

    #[test]
    fn routes_follow_the_registry_layout() {
        let get = Method::GET;
        assert_eq!(route(&get, "login").unwrap(), Route::Login);
        assert_eq!(route(&get, "identifiers").unwrap(), Route::Identifiers);
        assert_eq!(
            route(&get, "mona/LinkedList").unwrap(),
            Route::Releases(p("mona", "LinkedList"))
        );
        assert_eq!(
            route(&get, "mona/LinkedList.json").unwrap(),
            Route::Releases(p("mona", "LinkedList"))
        );
        assert_eq!(
            route(&get, "mona/LinkedList/1.1.0").unwrap(),
            Route::Release(p("mona", "LinkedList"), "1.1.0".into())
        );
        assert_eq!(
            route(&get, "mona/LinkedList/1.1.0.json").unwrap(),
            Route::Release(p("mona", "LinkedList"), "1.1.0".into())
        );
        assert_eq!(
            route(&get, "mona/LinkedList/1.1.0.zip").unwrap(),
            Route::Archive(p("mona", "LinkedList"), "1.1.0".into())
        );
        assert_eq!(
            route(&get, "mona/LinkedList/1.1.0-rc.1%2Bb5/Package.swift").unwrap(),
            Route::Manifest(p("mona", "LinkedList"), "1.1.0-rc.1+b5".into())
        );
        assert_eq!(
            route(&Method::PUT, "mona/LinkedList/1.1.0").unwrap(),
            Route::Publish(p("mona", "LinkedList"), "1.1.0".into())
        );
        assert_eq!(
            route(&Method::PUT, "mona/LinkedList/1.0")
                .unwrap_err()
                .status(),
            400
        );
        for (rest, status) in [
            ("mona/LinkedList/1.0", 404),
            ("mona/LinkedList/v1.0.0.zip", 404),
            ("-mona/LinkedList", 400),
            ("mona/Linked.List/1.0.0", 400),
            ("mona/..%2F..%2Fetc/1.0.0", 400),
            ("mona/%2e%2e/1.0.0", 400),
            ("mona//1.0.0", 404),
            ("mona/LinkedList/1.0.0/Other.swift", 404),
            ("mona/LinkedList/1.0.0/Package.swift/x", 404),
            ("mona", 404),
            ("mona/x/%ff", 404),
        ] {
            let e = route(&get, rest).unwrap_err();
            assert_eq!(e.status().as_u16(), status, "{rest}: {e:?}");
        }
    }

    #[test]
    fn the_api_version_is_read_from_accept() {
        let check = |accept: Option<&str>| {
            let mut headers = HeaderMap::new();
            if let Some(a) = accept {
                headers.insert(header::ACCEPT, HeaderValue::from_str(a).unwrap());
            }
            api_version(&headers).map_err(|e| e.status().as_u16())
        };
        assert_eq!(check(None), Ok(()));
        assert_eq!(check(Some("*/*")), Ok(()));
        assert_eq!(
            check(Some("application/vnd.swift.registry.v1+json")),
            Ok(())
        );
        assert_eq!(check(Some("application/vnd.swift.registry+zip")), Ok(()));
        assert_eq!(check(Some("application/vnd.swift.registry.v1")), Ok(()));
        assert_eq!(
            check(Some("application/vnd.swift.registry.v2+json")),
            Err(415)
        );
        assert_eq!(
            check(Some("application/vnd.swift.registry.vX+json")),
            Err(400)
        );
        assert_eq!(
            check(Some("application/vnd.swift.registry.v+json")),
            Err(400)
        );
        assert_eq!(check(Some("application/vnd.swift.registryfoo")), Err(400));
    }

    #[test]
    fn problem_details_carry_the_detail_and_the_version() {
        let response = Swift::error_response(StatusCode::NOT_FOUND, "release not found");
        let headers = response.headers();
        assert_eq!(headers["content-type"], "application/problem+json");
        assert_eq!(headers["content-version"], "1");
    }

    #[test]
    fn links_never_carry_what_swiftpm_splits_on() {
        assert!(linkable("https://git.example.com/mona/LinkedList.git"));
        for bad in ["", "a,b", "a;b", "a b", "<x>", "a\"b"] {
            assert!(!linkable(bad), "{bad}");
        }
    }
}

#[cfg(test)]
mod fuzz_target {
    use super::*;

    /// Registry paths (percent-decoded, checked against the grammar) and `Accept` headers.
    #[test]
    fn fuzz_swift_routes() {
        crate::fuzz::fuzz("swift_route", "swift_route", |input| {
            let text = String::from_utf8_lossy(input);
            for method in [Method::GET, Method::PUT] {
                let _ = route(&method, &text);
            }
            if let Ok(value) = HeaderValue::from_bytes(input) {
                let mut headers = HeaderMap::new();
                headers.insert(header::ACCEPT, value);
                let _ = api_version(&headers);
            }
            let _ = archive::parse_tools(&text);
        });
    }
}
