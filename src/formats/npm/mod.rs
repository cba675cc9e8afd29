//! The npm registry protocol as CodeArtifact serves it (repository-endpoints spec §5):
//! packuments (full and abbreviated), tarballs, single versions, dist-tags and ping. The
//! publish and metadata updates are in `publish`, the adapter for public npm registries
//! in `upstream`.
//!
//! Versions come from the repository and its upstream graph (`Registry::merged`,
//! `Registry::resolve`); downloading a tarball found upstream retains the version here.

mod document;
mod publish;
mod upstream;

use crate::cache::Page;
use crate::endpoints::{download, json, page_response, Action, Format, RepoCx, RepoError};
use crate::registry::{Found, PackageId, VersionRecord};
use crate::wire::{header_text, read_body, Body, RequestBody};
use base64::Engine as _;
use http::{header, Method, Request, Response, StatusCode};
use serde_json::{json, Map, Value};
use upstream::Public;

/// The only asset of an npm version, as the service names it.
const TARBALL_ASSET: &str = "package.tgz";
/// Largest publish request accepted (npm sends the tarball base64-encoded inside JSON).
const MAX_PUBLISH_BYTES: usize = 512 * 1024 * 1024;
/// Largest publish document apart from its attachments' data, which streams to staging
/// (the manifest and readme of one version; a deprecation's whole packument).
const MAX_DOCUMENT_BYTES: usize = 32 * 1024 * 1024;
/// Largest dist-tag request body (a JSON string naming a version).
const MAX_DIST_TAG_BYTES: usize = 16 * 1024;
/// Longest package name npm allows.
const MAX_NAME_LENGTH: usize = 214;

/// The npm protocol.
pub struct Npm;

impl Format for Npm {
    const NAME: &'static str = "npm";
    type Route = Route;
    type Adapter<'a> = Public<'a>;

    fn route(_method: &Method, rest: &str) -> Result<Route, RepoError> {
        match route(rest) {
            Route::Unsupported => Err(RepoError::not_found()),
            route => Ok(route),
        }
    }

    fn action(method: &Method, route: &Route) -> Result<Action, RepoError> {
        match route {
            Route::DistTags { package, .. }
                if method == Method::PUT || method == Method::DELETE =>
            {
                Ok(Action::PutMetadata(package.id()))
            }
            Route::Packument(package) if method == Method::PUT => {
                Ok(Action::Publish(Some(package.id())))
            }
            _ => Action::read(method),
        }
    }

    async fn handle(
        cx: &RepoCx<'_>,
        route: Route,
        request: Request<RequestBody>,
    ) -> Result<Response<Body>, RepoError> {
        let method = request.method().clone();
        match route {
            Route::Ping => Ok(json(StatusCode::OK, &json!({}))),
            Route::Packument(package) if method == Method::PUT => {
                let (parts, body) = request.into_parts();
                let received = publish::receive(&cx.app.registry, &parts.headers, body).await?;
                publish::put_package(cx, &package, received)
            }
            Route::Packument(package) => {
                let accept = header_text(&request, header::ACCEPT).unwrap_or_default();
                let abbreviated = accept.contains("application/vnd.npm.install-v1+json");
                let if_none_match = header_text(&request, header::IF_NONE_MATCH);
                packument(cx, &package, abbreviated, if_none_match.as_deref())
            }
            Route::Tarball { package, file } => {
                let range = header_text(&request, header::RANGE);
                tarball(cx, &package, &file, range.as_deref()).await
            }
            Route::Version { package, spec } => single_version(cx, &package, &spec),
            Route::DistTags { package, tag } => {
                let body = read_body(request, MAX_DIST_TAG_BYTES).await?;
                publish::dist_tags(cx, &method, &package, tag.as_deref(), &body)
            }
            Route::Unsupported => Err(RepoError::not_found()),
        }
    }

    /// npm prints `E<status> <error>`.
    fn error_response(status: StatusCode, message: &str) -> Response<Body> {
        json(status, &json!({ "error": message }))
    }

    fn adapter<'a>(cx: &'a RepoCx<'a>) -> Public<'a> {
        Public { cx }
    }

    fn route_name(method: &Method, route: &Route) -> &'static str {
        let writing = method == Method::PUT || method == Method::DELETE;
        match route {
            Route::Ping => "ping",
            Route::DistTags { .. } if writing => "dist-tag.set",
            Route::DistTags { .. } => "dist-tags",
            Route::Packument(_) if writing => "publish",
            Route::Packument(_) => "packument",
            Route::Tarball { .. } => "tarball",
            Route::Version { .. } => "version",
            Route::Unsupported => "unsupported",
        }
    }
}

/// An npm package name as it appears in a path: `name` or `@scope/name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpmName {
    scope: Option<String>,
    name: String,
}

impl NpmName {
    /// Validates a full name (`@scope/name` or `name`) against npm's own rules
    /// (validate-npm-package-name, as valid for existing packages): each part is URL-safe
    /// as `encodeURIComponent` leaves it (ASCII letters, digits and `-._~!*'()`), does not
    /// start with `.` or `_`, and the name is not one npm reserves. So no invisible or
    /// bidirectional-override character (U+200B, U+202E, U+2066, U+FEFF…) can make one
    /// package look like another.
    fn parse(full_name: &str) -> Option<NpmName> {
        let valid = |s: &str| {
            !s.is_empty()
                && !s.starts_with('.')
                && !s.starts_with('_')
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~!*'()".contains(&b))
        };
        if full_name.len() > MAX_NAME_LENGTH
            || full_name.eq_ignore_ascii_case("node_modules")
            || full_name.eq_ignore_ascii_case("favicon.ico")
        {
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
pub enum Route {
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
    if let Some(asset) = tarball_of(version) {
        if let Ok(Some(blob)) = cx.app.registry.blob(cx.repo.domain_id(), &asset.sha256) {
            dist.insert("shasum".into(), Value::String(blob.sha1.clone()));
            if let Ok(sha512) = hex::decode(&blob.sha512) {
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
) -> Result<Response<Body>, RepoError> {
    let form = if abbreviated { "abbreviated" } else { "full" };
    let name = format!("npm:{}:{form}", package.full());
    match cx.cached_page(name, || render_packument(cx, package, abbreviated))? {
        Some(page) => Ok(page_response(page, if_none_match)),
        None => Err(RepoError::not_found()),
    }
}

/// Builds a packument: `None` when no version is visible.
fn render_packument(
    cx: &RepoCx<'_>,
    package: &NpmName,
    abbreviated: bool,
) -> Result<Option<Page>, RepoError> {
    let merged = cx
        .app
        .registry
        .merged(&cx.repo, &package.id(), Some(&Npm::adapter(cx)))?;
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

/// `{name}/{version-or-tag}`: one version's manifest, resolved through tags.
fn single_version(
    cx: &RepoCx<'_>,
    package: &NpmName,
    spec: &str,
) -> Result<Response<Body>, RepoError> {
    let merged = cx
        .app
        .registry
        .merged(&cx.repo, &package.id(), Some(&Npm::adapter(cx)))?;
    let version = merged.dist_tags.get(spec).map_or(spec, String::as_str);
    let found = merged
        .versions
        .iter()
        .find(|f| f.version.version == version)
        .ok_or_else(RepoError::not_found)?;
    Ok(json(StatusCode::OK, &manifest(cx, package, &found.version)))
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
) -> Result<Response<Body>, RepoError> {
    let version = tarball_version(package, file).ok_or_else(RepoError::not_found)?;
    let version = download::version::<Npm>(cx, &package.id(), &version, &package.full(), |_| true)?;
    let asset = tarball_of(&version).ok_or_else(RepoError::not_found)?;
    download::asset(cx, asset, "application/octet-stream", range).await
}

/// The tarball of a stored version.
fn tarball_of(version: &VersionRecord) -> Option<&crate::registry::AssetRef> {
    version
        .assets
        .iter()
        .find(|a| a.name == TARBALL_ASSET)
        .or(version.assets.first())
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
    fn names_are_what_npm_allows_and_nothing_invisible() {
        for good in [
            "lodash",
            "@acme/widget",
            "a-b.c_d",
            "JSONStream",
            "@a/b~c",
            "x(1)",
        ] {
            assert!(NpmName::parse(good).is_some(), "{good}");
        }
        for bad in [
            "lo\u{202e}dash",
            "lo\u{200b}dash",
            "\u{2066}lodash",
            "\u{feff}lodash",
            "@ac\u{200d}me/widget",
            "caf\u{e9}",
            "a b",
            "a:b",
            "node_modules",
            "favicon.ico",
            "@acme/",
            "",
        ] {
            assert!(NpmName::parse(bad).is_none(), "{bad:?}");
        }
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
}
