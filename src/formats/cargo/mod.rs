//! The cargo sparse registry as CodeArtifact serves it (repository-endpoints spec §9):
//! `config.json`, index files and `.crate` downloads here; `cargo publish` in `publish`,
//! the adapter for public sparse registries in `upstream`.
//!
//! A crate version has one asset, `{name}-{version}.crate`. Its index line (what cargo
//! resolves from) is derived once at publish and kept as the version's manifest; a version
//! imported from a public registry keeps the line that registry served.

mod publish;
mod upstream;

use crate::cache::Page;
use crate::endpoints::{download, json, page_response, Action, Format, RepoCx, RepoError};
use crate::registry::{PackageId, VersionRecord};
use crate::wire::{header_text, Body, RequestBody};
use http::{header, Method, Request, Response, StatusCode};
use serde_json::{json, Map, Value};
use upstream::PublicCrates;

/// Largest publish request read (metadata plus the `.crate`, streamed to staging).
const MAX_PUBLISH_BYTES: usize = 256 * 1024 * 1024;

/// The cargo sparse registry protocol.
pub struct Cargo;

impl Format for Cargo {
    const NAME: &'static str = "cargo";
    type Route = Route;
    type Adapter<'a> = PublicCrates<'a>;

    fn route(method: &Method, rest: &str) -> Result<Route, RepoError> {
        match route(method, rest) {
            Route::NotFound => Err(RepoError::not_found()),
            Route::Unsupported(why) => Err(RepoError::MethodNotAllowed(why.to_string())),
            route => Ok(route),
        }
    }

    fn action(method: &Method, route: &Route) -> Result<Action, RepoError> {
        match route {
            // The crate's name is in the body: the one publish path checks it.
            Route::Publish => Ok(Action::Publish(None)),
            _ => Action::read(method),
        }
    }

    async fn handle(
        cx: &RepoCx<'_>,
        route: Route,
        request: Request<RequestBody>,
    ) -> Result<Response<Body>, RepoError> {
        match route {
            Route::Config => {
                let api = cx.base_url.trim_end_matches('/');
                Ok(json(
                    StatusCode::OK,
                    &json!({ "dl": format!("{api}/api/v1/crates"), "api": api, "auth-required": true }),
                ))
            }
            Route::Index(name) => {
                let if_none_match = header_text(&request, header::IF_NONE_MATCH);
                index_file(cx, &name, if_none_match.as_deref())
            }
            Route::Download { name, version } => {
                let range = header_text(&request, header::RANGE);
                let p = package_id(&name);
                let version =
                    download::version::<Cargo>(cx, &p, &version, &name, |v| !v.assets.is_empty())?;
                let asset = version.assets.first().ok_or_else(RepoError::not_found)?;
                download::asset(cx, asset, "application/gzip", range.as_deref()).await
            }
            Route::Publish => {
                let (parts, body) = request.into_parts();
                publish::publish(cx, &parts.headers, body).await
            }
            Route::Unsupported(_) | Route::NotFound => Err(RepoError::not_found()),
        }
    }

    /// Cargo prints the `detail` of each error.
    fn error_response(status: StatusCode, message: &str) -> Response<Body> {
        json(status, &json!({ "errors": [{ "detail": message }] }))
    }

    fn adapter<'a>(cx: &'a RepoCx<'a>) -> PublicCrates<'a> {
        PublicCrates { cx }
    }

    fn route_name(_method: &Method, route: &Route) -> &'static str {
        match route {
            Route::Config => "config",
            Route::Index(_) => "index",
            Route::Download { .. } => "download",
            Route::Publish => "publish",
            Route::Unsupported(_) => "unsupported",
            Route::NotFound => "unrouted",
        }
    }
}

/// A crate name as cargo allows it: ASCII letters, digits, `-` and `_`, starting with a
/// letter, at most 64 characters.
pub(super) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Crate names are unique regardless of case: the index path is lowercase, so the
/// package is stored under the lowercase name and keeps the published one for display.
pub(super) fn package_id(name: &str) -> PackageId {
    PackageId {
        format: "cargo".to_string(),
        namespace: None,
        name: name.to_ascii_lowercase(),
    }
}

/// The index directories of a crate (sparse protocol): `1/`, `2/`, `3/{c}/`, `{ab}/{cd}/`.
pub(super) fn index_dirs(name: &str) -> String {
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
pub enum Route {
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

/// The index line of a stored or listed version: its manifest, derived at publish (or taken
/// from the public index, whose `cksum` the fetched bytes were checked against).
pub(super) fn index_line(version: &VersionRecord) -> Option<&Map<String, Value>> {
    version.metadata.manifest.as_ref()?.as_object()
}

/// The crate's index file: one line per visible version of the merged view, in version
/// order. Cargo revalidates it on every build, so it carries an ETag.
fn index_file(
    cx: &RepoCx<'_>,
    name: &str,
    if_none_match: Option<&str>,
) -> Result<Response<Body>, RepoError> {
    let p = package_id(name);
    let page = cx.cached_page(format!("cargo:{}", p.name), || {
        let merged = cx
            .app
            .registry
            .merged(&cx.repo, &p, Some(&Cargo::adapter(cx)))?;
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
        Ok(Some(Page::new(body, "text/plain; charset=utf-8")))
    })?;
    match page {
        Some(page) => Ok(page_response(page, if_none_match)),
        None => Err(RepoError::not_found()),
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
}
