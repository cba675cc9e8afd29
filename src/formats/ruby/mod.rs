//! RubyGems as CodeArtifact serves it (repository-endpoints spec §10): the dependency API
//! (Marshal 4.8 and JSON), `quick/Marshal.4.8/*.gemspec.rz`, `gems/*.gem` downloads and
//! `gem push` here; reading gems in `gem`, the Marshal writer in `marshal`, the adapter for
//! public gem registries in `upstream`.
//!
//! A gem version has one asset, `{name}-{version}[-{platform}].gem`. A platform gem is its
//! own version of the package (`1.0.0-x86_64-linux`), so every version keeps one asset.
//! The gemspec read at push is the version's manifest; every document is rendered from it.
//!
//! The compact index's `versions` and `names` and the full index (`specs.4.8.gz`) are not
//! served, as the service documents. `info/{name}` is: RubyGems up to 3.5.18 (Debian's
//! Ruby 3.1 ships 3.3.15) resolves `gem install` from it once `HEAD E` answers, which is
//! why the service documents `gem install` as working with those versions only.

pub mod gem;
mod marshal;
mod publish;
mod upstream;

use crate::cache::Page;
use crate::endpoints::{download, page_response, Action, Format, RepoCx, RepoError};
use crate::registry::{PackageId, VersionRecord};
use crate::wire::{decode_query, full, header_text, read_body, text, Body, RequestBody};
use bytes::Bytes;
use gem::Spec;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use upstream::PublicGems;

/// Largest `gem push` body read (the gem, held in memory), below the asset size quota.
const MAX_GEM_BYTES: usize = 256 * 1024 * 1024;
/// Most gems one dependency-API request may name (Bundler asks in batches of 100 or less).
const MAX_GEMS_PER_REQUEST: usize = 200;

/// The RubyGems protocol.
pub struct Ruby;

impl Format for Ruby {
    const NAME: &'static str = "ruby";
    type Route = Route;
    type Adapter<'a> = PublicGems<'a>;

    fn route(method: &Method, rest: &str) -> Result<Route, RepoError> {
        match route(method, rest) {
            Route::NotFound => Err(RepoError::not_found()),
            Route::Unsupported(why) => Err(RepoError::NotFound(why.to_string())),
            route => Ok(route),
        }
    }

    fn action(method: &Method, route: &Route) -> Result<Action, RepoError> {
        match route {
            Route::Push => Ok(Action::Publish(None)),
            _ => Action::read(method),
        }
    }

    async fn handle(
        cx: &RepoCx<'_>,
        route: Route,
        request: Request<RequestBody>,
    ) -> Result<Response<Body>, RepoError> {
        let if_none_match = header_text(&request, header::IF_NONE_MATCH);
        match route {
            Route::Root => Ok(text(StatusCode::OK, "")),
            Route::Dependencies { json } => {
                let names = requested_gems(request.uri().query().unwrap_or(""))?;
                if names.is_empty() {
                    // The availability probe of RubyGems and Bundler.
                    return Ok(octets(Bytes::new()));
                }
                let page = dependencies(cx, &names, json)?;
                Ok(page_response(page, if_none_match.as_deref()))
            }
            Route::Info(name) => {
                let page = info(cx, &name)?.ok_or_else(RepoError::not_found)?;
                Ok(page_response(page, if_none_match.as_deref()))
            }
            Route::Spec(candidates) => {
                let version = find_version(cx, &candidates)?;
                let spec = Spec::from_manifest(version.metadata.manifest.as_ref())
                    .ok_or_else(RepoError::not_found)?;
                Ok(octets(deflate(&spec.marshal_spec())?))
            }
            Route::Gem(candidates) => {
                let range = header_text(&request, header::RANGE);
                let version = find_version(cx, &candidates)?;
                let asset = version.assets.first().ok_or_else(RepoError::not_found)?;
                download::asset(cx, asset, "application/octet-stream", range.as_deref()).await
            }
            Route::Push => {
                let quota = cx.app.registry.quotas.asset_size_bytes;
                let limit = usize::try_from(quota).map_or(MAX_GEM_BYTES, |q| q.min(MAX_GEM_BYTES));
                let body = read_body(request, limit).await?;
                publish::push(cx, &body)
            }
            Route::Unsupported(_) | Route::NotFound => Err(RepoError::not_found()),
        }
    }

    /// `gem` and `bundle` print the body as it is.
    fn error_response(status: StatusCode, message: &str) -> Response<Body> {
        text(status, format!("{message}\n"))
    }

    fn adapter<'a>(cx: &'a RepoCx<'a>) -> PublicGems<'a> {
        PublicGems { cx }
    }

    fn route_name(_method: &Method, route: &Route) -> &'static str {
        match route {
            Route::Root => "root",
            Route::Dependencies { .. } => "dependencies",
            Route::Info(_) => "info",
            Route::Spec(_) => "gemspec",
            Route::Gem(_) => "gem",
            Route::Push => "push",
            Route::Unsupported(_) => "unsupported",
            Route::NotFound => "unrouted",
        }
    }
}

/// Gems have no namespace, and their names are case-sensitive.
pub(super) fn package_id(name: &str) -> PackageId {
    PackageId {
        format: "ruby".to_string(),
        namespace: None,
        name: name.to_string(),
    }
}

/// What a path under the repository asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// `HEAD E`: RubyGems' check that the source answers.
    Root,
    Dependencies {
        json: bool,
    },
    Info(String),
    /// A `.gemspec.rz`: the ways `name-version[-platform]` splits, leftmost first.
    Spec(Vec<(String, String)>),
    Gem(Vec<(String, String)>),
    Push,
    /// Routes of the public gem registry that the service does not offer.
    Unsupported(&'static str),
    NotFound,
}

fn route(method: &Method, rest: &str) -> Route {
    if rest.is_empty() {
        return Route::Root;
    }
    let segments: Vec<&str> = rest.split('/').collect();
    // Nothing in these paths is percent-encoded; an encoded byte is refused outright.
    if rest.contains('%') || segments.iter().any(|s| s.is_empty() || *s == "..") {
        return Route::NotFound;
    }
    match (method, segments.as_slice()) {
        (_, ["api", "v1", "dependencies"]) => Route::Dependencies { json: false },
        (_, ["api", "v1", "dependencies.json"]) => Route::Dependencies { json: true },
        (&Method::POST, ["api", "v1", "gems"]) => Route::Push,
        (_, ["info", name]) if gem::valid_name(name) => Route::Info((*name).to_string()),
        (_, ["quick", "Marshal.4.8", file]) => file
            .strip_suffix(".gemspec.rz")
            .map(splits)
            .filter(|c| !c.is_empty())
            .map_or(Route::NotFound, Route::Spec),
        (_, ["gems", file]) => file
            .strip_suffix(".gem")
            .map(splits)
            .filter(|c| !c.is_empty())
            .map_or(Route::NotFound, Route::Gem),
        (_, ["versions" | "names"]) => Route::Unsupported(
            "The compact index (versions, names) is not supported; use the dependency API",
        ),
        (
            _,
            ["specs.4.8.gz"
            | "latest_specs.4.8.gz"
            | "prerelease_specs.4.8.gz"
            | "specs.4.8"
            | "latest_specs.4.8"
            | "prerelease_specs.4.8"],
        ) => Route::Unsupported("The full index is not supported; use the dependency API"),
        (_, ["api", "v1", "gems", "yank"]) => Route::Unsupported("gem yank is not supported"),
        (_, ["api", "v1", "gems", _, "owners"]) => Route::Unsupported("gem owner is not supported"),
        (_, ["api", "v1", "search.json" | "api_key" | "api_key.json" | "api_key.yaml"])
        | (_, ["api", "v1", "profile", "me" | "me.json" | "me.yaml"]) => {
            Route::Unsupported("This gem command is not supported")
        }
        (_, ["api", "v1", "gems" | "versions", file]) if file.ends_with(".json") => {
            Route::Unsupported("Remote gem information is not supported")
        }
        _ => Route::NotFound,
    }
}

/// The ways a file stem `name-version[-platform]` splits into a valid name and a version
/// key: at each `-` followed by a digit, leftmost first (names may contain `-`).
fn splits(stem: &str) -> Vec<(String, String)> {
    stem.match_indices('-')
        .filter_map(|(i, _)| {
            let (name, key) = (&stem[..i], &stem[i + 1..]);
            let (number, platform) = match key.find('-') {
                Some(j) => (&key[..j], Some(&key[j + 1..])),
                None => (key, None),
            };
            let ok = gem::valid_name(name)
                && key.starts_with(|c: char| c.is_ascii_digit())
                && gem::valid_number(number)
                && platform.is_none_or(gem::valid_platform);
            ok.then(|| (name.to_string(), key.to_string()))
        })
        .collect()
}

/// The gem names of `?gems=a,b` (unique, in order); names RubyGems could not have are
/// left out, as unknown gems are.
fn requested_gems(query: &str) -> Result<Vec<String>, RepoError> {
    let mut names: Vec<String> = Vec::new();
    for (key, value) in decode_query(query) {
        if key != "gems" {
            continue;
        }
        for name in value.split(',').map(str::trim) {
            if gem::valid_name(name) && !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
    }
    if names.len() > MAX_GEMS_PER_REQUEST {
        return Err(RepoError::BadRequest(format!(
            "Too many gems in one request ({}; at most {MAX_GEMS_PER_REQUEST})",
            names.len()
        )));
    }
    Ok(names)
}

/// The visible versions of a gem through this repository (merged with its upstreams), as
/// specs, in the order the registry lists them.
fn specs(cx: &RepoCx<'_>, name: &str) -> Result<Vec<Spec>, RepoError> {
    let merged = cx
        .app
        .registry
        .merged(&cx.repo, &package_id(name), Some(&Ruby::adapter(cx)))?;
    Ok(merged
        .versions
        .iter()
        .filter_map(|found| {
            let mut spec = Spec::from_manifest(found.version.metadata.manifest.as_ref())?;
            if spec.sha256.is_none() {
                spec.sha256 = found.version.assets.first().map(|a| a.sha256.clone());
            }
            Some(spec)
        })
        .collect())
}

/// The dependency API's answer for `names`: every visible version of each, runtime
/// dependencies only; unknown gems are absent.
fn dependencies(cx: &RepoCx<'_>, names: &[String], json: bool) -> Result<Page, RepoError> {
    let key = format!(
        "ruby:deps:{}:{}",
        if json { "json" } else { "marshal" },
        names.join(",")
    );
    let page = cx.cached_page(key, || {
        let mut all = Vec::new();
        for name in names {
            all.extend(specs(cx, name)?);
        }
        Ok(Some(if json {
            let entries: Vec<_> = all.iter().map(Spec::dependency_json).collect();
            Page::new(
                serde_json::to_vec(&entries).unwrap_or_default(),
                "application/json",
            )
        } else {
            let entries = all.iter().map(Spec::dependency_entry).collect();
            Page::new(
                marshal::dump(&marshal::Value::Array(entries)),
                "application/octet-stream",
            )
        }))
    })?;
    page.ok_or_else(|| RepoError::internal("the dependency page was not rendered"))
}

/// The compact-index `info/{name}` file; `None` when the gem has no visible version.
fn info(cx: &RepoCx<'_>, name: &str) -> Result<Option<Page>, RepoError> {
    cx.cached_page(format!("ruby:info:{name}"), || {
        let specs = specs(cx, name)?;
        if specs.is_empty() {
            return Ok(None);
        }
        let mut body = String::from("---\n");
        for spec in &specs {
            body.push_str(&spec.info_line());
            body.push('\n');
        }
        Ok(Some(Page::new(body, "text/plain; charset=utf-8")))
    })
}

/// The version a file name names, through the one download path (retained here when it
/// came from elsewhere); the first split that names a version wins.
fn find_version(
    cx: &RepoCx<'_>,
    candidates: &[(String, String)],
) -> Result<VersionRecord, RepoError> {
    for (name, key) in candidates {
        match download::version::<Ruby>(cx, &package_id(name), key, name, |v| !v.assets.is_empty())
        {
            Err(RepoError::NotFound(_)) => {}
            found => return found,
        }
    }
    Err(RepoError::not_found())
}

fn deflate(bytes: &[u8]) -> Result<Vec<u8>, RepoError> {
    use std::io::Write as _;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(bytes)
        .and_then(|()| z.finish())
        .map_err(RepoError::internal)
}

fn octets(body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(full(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_follow_the_rubygems_layout() {
        assert_eq!(route(&Method::HEAD, ""), Route::Root);
        assert_eq!(
            route(&Method::GET, "api/v1/dependencies"),
            Route::Dependencies { json: false }
        );
        assert_eq!(route(&Method::POST, "api/v1/gems"), Route::Push);
        assert_eq!(route(&Method::GET, "info/rack"), Route::Info("rack".into()));
        assert_eq!(
            route(&Method::GET, "gems/aws-sdk-core-3.1.0.gem"),
            Route::Gem(vec![("aws-sdk-core".into(), "3.1.0".into())])
        );
        assert_eq!(
            route(
                &Method::GET,
                "quick/Marshal.4.8/nokogiri-1.16.0-x86_64-linux.gemspec.rz"
            ),
            Route::Spec(vec![("nokogiri".into(), "1.16.0-x86_64-linux".into())])
        );
        assert_eq!(
            route(&Method::GET, "gems/foo-2fa-1.0.gem"),
            Route::Gem(vec![("foo-2fa".into(), "1.0".into())])
        );
        for unsupported in [
            "versions",
            "names",
            "specs.4.8.gz",
            "api/v1/gems/yank",
            "api/v1/gems/rack/owners",
            "api/v1/search.json",
            "api/v1/gems/rack.json",
            "api/v1/versions/rack.json",
        ] {
            assert!(
                matches!(route(&Method::GET, unsupported), Route::Unsupported(_)),
                "{unsupported}"
            );
        }
        for rest in [
            "gems/../x-1.0.gem",
            "gems/x-1.0.gem/",
            "gems/..%2Fx-1.0.gem",
            "gems/x.gem",
            "gems/x-1.0",
            "quick/Marshal.4.8/x-1.0.gemspec",
            "info/..",
            "api//v1/dependencies",
        ] {
            assert_eq!(route(&Method::GET, rest), Route::NotFound, "{rest}");
        }
    }

    #[test]
    fn the_gems_query_is_read_as_clients_send_it() {
        assert_eq!(
            requested_gems("gems=rack,rake,rack,../x").unwrap(),
            vec!["rack".to_string(), "rake".to_string()]
        );
        assert!(requested_gems("").unwrap().is_empty());
        let many: Vec<String> = (0..201).map(|i| format!("g{i}")).collect();
        assert!(requested_gems(&format!("gems={}", many.join(","))).is_err());
    }
}
