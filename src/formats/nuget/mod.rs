//! NuGet V3 as CodeArtifact serves it (repository-endpoints spec §8): the service index,
//! the package base address (flat container), registrations, search and `dotnet nuget push`
//! here; reading packages in `nupkg`, the push in `publish`, the adapter for public NuGet
//! feeds in `upstream`. The V2 (OData) protocol is not served, as the service documents.
//!
//! A package is stored under its lower-cased id (its first spelling kept as the display
//! name) and each version under its NuGet-normalised form (`1.0` → `1.0.0`, no build
//! metadata); versions compare case-insensitively, as NuGet compares them. A version has
//! one asset, `{id}.{version}.nupkg`, lower-cased. The nuspec read at push is the version's
//! manifest; registrations are rendered from it, the `.nuspec` served from the package.

mod nupkg;
mod publish;
mod upstream;

use crate::cache::Page;
use crate::endpoints::{download, json, page_response, Action, Format, RepoCx, RepoError};
use crate::registry::{Found, PackageFilter, PackageId, VersionRecord};
use crate::wire::{decode_query, full, header_text, text, Body, RequestBody};
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use nupkg::{
    compare, is_prerelease, normalized, normalized_range, valid_id, valid_version, Nuspec,
};
use serde_json::{json, Value};
use upstream::PublicNuget;

/// Largest push body read (the package, held in memory), below the asset size quota.
const MAX_NUPKG_BYTES: usize = 256 * 1024 * 1024;
/// Versions per registration page.
const PAGE_SIZE: usize = 64;
/// Up to this many versions, registration pages are inlined in the index (as nuget.org
/// does); beyond it the index links pages the client fetches.
const MAX_INLINED: usize = 128;
/// Longest reason phrase sent with a refusal.
const MAX_REASON_CHARS: usize = 256;
/// Most search results one request may ask for.
const MAX_TAKE: usize = 1000;

/// The NuGet V3 protocol.
pub struct Nuget;

impl Format for Nuget {
    const NAME: &'static str = "nuget";
    type Route = Route;
    type Adapter<'a> = PublicNuget<'a>;

    fn route(method: &Method, rest: &str) -> Result<Route, RepoError> {
        route(method, rest)
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
        let page = |page: Option<Page>| {
            page.map(|p| page_response(p, if_none_match.as_deref()))
                .ok_or_else(RepoError::not_found)
        };
        match route {
            Route::ServiceIndex => page(cx.cached_page("nuget:index".into(), || {
                let body = service_index(&cx.base_url).to_string();
                Ok(Some(Page::new(body, "application/json")))
            })?),
            Route::Versions(id) => page(flat_index(cx, &id)?),
            Route::Nupkg(id, version) => {
                let range = header_text(&request, header::RANGE);
                let found = find_version(cx, &id, &version)?;
                let asset = found.assets.first().ok_or_else(RepoError::not_found)?;
                download::asset(cx, asset, "application/octet-stream", range.as_deref()).await
            }
            Route::Nuspec(id, version) => {
                let found = find_version(cx, &id, &version)?;
                let asset = found.assets.first().ok_or_else(RepoError::not_found)?;
                let path = cx
                    .app
                    .registry
                    .blob_path(cx.repo.domain_id(), &asset.sha256);
                let xml = cx.write(|| {
                    let file = std::fs::File::open(&path).map_err(RepoError::internal)?;
                    let mut zip = zip::ZipArchive::new(file).map_err(RepoError::internal)?;
                    nupkg::nuspec_bytes(&mut zip).map_err(RepoError::internal)
                })?;
                let mut response = Response::new(full(xml));
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/xml"),
                );
                Ok(response)
            }
            Route::RegistrationIndex(id) => page(registration_index(cx, &id)?),
            Route::RegistrationPage(id, lower, upper) => {
                page(registration_page(cx, &id, &lower, &upper)?)
            }
            Route::RegistrationLeaf(id, version) => {
                let leaf = registration_leaf(cx, &id, &version)?;
                Ok(json(StatusCode::OK, &leaf))
            }
            Route::Search => Ok(json(
                StatusCode::OK,
                &search(cx, request.uri().query().unwrap_or(""))?,
            )),
            Route::Push => publish::push(cx, request).await,
        }
    }

    /// NuGet prints the status line ("Response status code does not indicate success: 409
    /// (…)"), so the message goes into the reason phrase as NuGet servers put it there; the
    /// body says it too.
    fn error_response(status: StatusCode, message: &str) -> Response<Body> {
        let mut response = text(status, format!("{message}\n"));
        let phrase: String = message
            .chars()
            .map(|c| if c.is_ascii_graphic() { c } else { ' ' })
            .take(MAX_REASON_CHARS)
            .collect();
        if let Ok(reason) = hyper::ext::ReasonPhrase::try_from(phrase.trim().to_string()) {
            response.extensions_mut().insert(reason);
        }
        response
    }

    fn adapter<'a>(cx: &'a RepoCx<'a>) -> PublicNuget<'a> {
        PublicNuget { cx }
    }

    /// NuGet versions are equal when their normalised forms are, ignoring case.
    fn same_version(a: &str, b: &str) -> bool {
        normalized(a).eq_ignore_ascii_case(&normalized(b))
    }

    fn route_name(_method: &Method, route: &Route) -> &'static str {
        match route {
            Route::ServiceIndex => "service-index",
            Route::Versions(_) => "versions",
            Route::Nupkg(..) => "nupkg",
            Route::Nuspec(..) => "nuspec",
            Route::RegistrationIndex(_) => "registration-index",
            Route::RegistrationPage(..) => "registration-page",
            Route::RegistrationLeaf(..) => "registration-leaf",
            Route::Search => "search",
            Route::Push => "push",
        }
    }
}

/// NuGet ids have no namespace and compare case-insensitively: stored lower-cased.
pub(super) fn package_id(id: &str) -> PackageId {
    PackageId {
        format: "nuget".to_string(),
        namespace: None,
        name: id.to_lowercase(),
    }
}

/// What a path under the repository asks for. Ids are lower-cased, versions normalised.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// `v3/index.json`.
    ServiceIndex,
    /// `v3/package/{id}/index.json`.
    Versions(String),
    /// `v3/package/{id}/{version}/{id}.{version}.nupkg`.
    Nupkg(String, String),
    /// `v3/package/{id}/{version}/{id}.nuspec`.
    Nuspec(String, String),
    /// `v3/registration4/{id}/index.json`.
    RegistrationIndex(String),
    /// `v3/registration4/{id}/page/{lower}/{upper}.json`.
    RegistrationPage(String, String, String),
    /// `v3/registration4/{id}/{version}.json`.
    RegistrationLeaf(String, String),
    /// `v3/query`.
    Search,
    /// `PUT v2/package` (`dotnet nuget push` adds a trailing slash).
    Push,
}

fn route(method: &Method, rest: &str) -> Result<Route, RepoError> {
    let path = rest.strip_suffix('/').unwrap_or(rest);
    let segments: Vec<&str> = path.split('/').collect();
    // Nothing in these paths is percent-encoded; an encoded byte is refused outright.
    if path.contains('%')
        || segments
            .iter()
            .any(|s| s.is_empty() || *s == "." || *s == "..")
    {
        return Err(RepoError::not_found());
    }
    let id = |s: &str| valid_id(s).then(|| s.to_lowercase());
    let version = |s: &str| valid_version(s).then(|| normalized(s));
    let found = match segments.as_slice() {
        ["v3", "index.json"] => Some(Route::ServiceIndex),
        ["v3", "package", i, "index.json"] => id(i).map(Route::Versions),
        ["v3", "package", i, v, file] => id(i).zip(version(v)).and_then(|(i, v)| {
            let file = file.to_lowercase();
            if file == format!("{i}.{}.nupkg", v.to_lowercase()) {
                Some(Route::Nupkg(i, v))
            } else if file == format!("{i}.nuspec") {
                Some(Route::Nuspec(i, v))
            } else {
                None
            }
        }),
        ["v3", "registration4", i, "index.json"] => id(i).map(Route::RegistrationIndex),
        ["v3", "registration4", i, "page", lo, hi] => {
            let hi = hi.strip_suffix(".json").and_then(version);
            id(i).zip(version(lo)).zip(hi).map(|((i, lo), hi)| Route::RegistrationPage(i, lo, hi))
        }
        ["v3", "registration4", i, leaf] => {
            let v = leaf.strip_suffix(".json").and_then(version);
            id(i).zip(v).map(|(i, v)| Route::RegistrationLeaf(i, v))
        }
        ["v3", "query"] => Some(Route::Search),
        ["v2", "package"] if method == Method::PUT => Some(Route::Push),
        ["v2", "package", _, _] if method == Method::DELETE || method == Method::POST => {
            return Err(RepoError::MethodNotAllowed(
                "Deleting, unlisting and relisting NuGet packages is not supported; use \
                 DeletePackageVersions or UpdatePackageVersionsStatus"
                    .into(),
            ))
        }
        ["v2", ..] | ["api", "v2", ..] => {
            return Err(RepoError::NotFound(
                "The NuGet V2 protocol is not supported; use the V3 source URL ending in /v3/index.json"
                    .into(),
            ))
        }
        _ => None,
    };
    found.ok_or_else(RepoError::not_found)
}

/// The service index: every resource at the URLs this endpoint serves, with the `@type`
/// versions the service advertises (the registration hives share one base URL).
fn service_index(base: &str) -> Value {
    let package = format!("{base}v3/package/");
    let registrations = format!("{base}v3/registration4/");
    let query = format!("{base}v3/query");
    let publish = format!("{base}v2/package");
    let mut resources = vec![json!({"@id": package, "@type": "PackageBaseAddress/3.0.0"})];
    for t in [
        "RegistrationsBaseUrl",
        "RegistrationsBaseUrl/3.0.0-rc",
        "RegistrationsBaseUrl/3.0.0-beta",
        "RegistrationsBaseUrl/3.4.0",
        "RegistrationsBaseUrl/3.6.0",
    ] {
        resources.push(json!({"@id": registrations, "@type": t}));
    }
    for t in [
        "SearchQueryService",
        "SearchQueryService/3.0.0-beta",
        "SearchQueryService/3.0.0-rc",
        "SearchQueryService/3.5.0",
    ] {
        resources.push(json!({"@id": query, "@type": t}));
    }
    resources.push(json!({"@id": publish, "@type": "PackagePublish/2.0.0"}));
    json!({"version": "3.0.0", "resources": resources})
}

/// A visible version with its nuspec (a minimal one when no manifest was kept).
struct Listed {
    found: Found,
    spec: Nuspec,
}

/// The visible versions of a package through this repository (merged with its upstreams
/// and what the public feed lists), in NuGet's version order.
fn listed(cx: &RepoCx<'_>, id: &str) -> Result<Vec<Listed>, RepoError> {
    let p = package_id(id);
    let merged = cx
        .app
        .registry
        .merged(&cx.repo, &p, Some(&Nuget::adapter(cx)))?;
    let display = merged
        .own
        .as_ref()
        .map_or(id, |r| r.display_name.as_str())
        .to_string();
    let mut out: Vec<Listed> = merged
        .versions
        .into_iter()
        .map(|found| {
            let spec = Nuspec::from_manifest(found.version.metadata.manifest.as_ref())
                .unwrap_or_else(|| Nuspec {
                    id: display.clone(),
                    version: found.version.version.clone(),
                    original_version: found.version.version.clone(),
                    ..Nuspec::default()
                });
            Listed { found, spec }
        })
        .collect();
    out.sort_by(|a, b| compare(&a.found.version.version, &b.found.version.version));
    Ok(out)
}

/// The flat container's version list: lower-cased normalised versions; `None` when none.
fn flat_index(cx: &RepoCx<'_>, id: &str) -> Result<Option<Page>, RepoError> {
    cx.cached_page(format!("nuget:flat:{id}"), || {
        let versions: Vec<String> = listed(cx, id)?
            .iter()
            .map(|l| l.found.version.version.to_lowercase())
            .collect();
        if versions.is_empty() {
            return Ok(None);
        }
        let body = json!({ "versions": versions });
        Ok(Some(Page::new(body.to_string(), "application/json")))
    })
}

/// The URLs one package's documents live at.
struct Links {
    base: String,
    registration: String,
    package: String,
}

impl Links {
    fn new(cx: &RepoCx<'_>, id: &str) -> Links {
        Links {
            base: cx.base_url.clone(),
            registration: format!("{}v3/registration4/{id}/", cx.base_url),
            package: format!("{}v3/package/{id}/", cx.base_url),
        }
    }

    fn index(&self) -> String {
        format!("{}index.json", self.registration)
    }

    fn leaf(&self, version: &str) -> String {
        format!("{}{}.json", self.registration, version.to_lowercase())
    }

    fn content(&self, id: &str, version: &str) -> String {
        let v = version.to_lowercase();
        format!("{}{v}/{id}.{v}.nupkg", self.package)
    }

    fn page(&self, lower: &str, upper: &str, inlined: bool) -> String {
        let (lower, upper) = (lower.to_lowercase(), upper.to_lowercase());
        if inlined {
            format!("{}#page/{lower}/{upper}", self.index())
        } else {
            format!("{}page/{lower}/{upper}.json", self.registration)
        }
    }
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

/// One version as a registration page lists it, its catalog entry inlined.
fn registration_entry(links: &Links, id: &str, l: &Listed) -> Value {
    let spec = &l.spec;
    let version = &l.found.version.version;
    let leaf = links.leaf(version);
    let content = links.content(id, version);
    let groups: Vec<Value> = spec
        .dependency_groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let group_id = format!("{leaf}#dependencygroup/{i}");
            let deps: Vec<Value> = g
                .dependencies
                .iter()
                .map(|d| {
                    let lower = d.id.to_lowercase();
                    json!({
                        "@id": format!("{group_id}/{lower}"),
                        "@type": "PackageDependency",
                        "id": d.id,
                        "range": normalized_range(&d.range),
                        "registration": format!("{}v3/registration4/{lower}/index.json", links.base),
                    })
                })
                .collect();
            let mut group = json!({
                "@id": group_id,
                "@type": "PackageDependencyGroup",
                "dependencies": deps,
            });
            if let Some(tf) = &g.target_framework {
                group["targetFramework"] = json!(tf);
            }
            group
        })
        .collect();
    let mut entry = json!({
        "@id": format!("{leaf}#catalog"),
        "@type": "PackageDetails",
        "id": spec.id,
        "version": version,
        "authors": spec.authors.clone().unwrap_or_default(),
        "description": spec.description.clone().unwrap_or_default(),
        "dependencyGroups": groups,
        "listed": true,
        "published": iso(l.found.version.published_ms),
        "packageContent": content,
        "requireLicenseAcceptance": spec.require_license_acceptance,
        "tags": spec.tags,
    });
    for (key, value) in [
        ("title", &spec.title),
        ("summary", &spec.summary),
        ("projectUrl", &spec.project_url),
        ("iconUrl", &spec.icon_url),
        ("licenseUrl", &spec.license_url),
        ("licenseExpression", &spec.license_expression),
        ("language", &spec.language),
        ("minClientVersion", &spec.min_client_version),
    ] {
        if let Some(v) = value {
            entry[key] = json!(v);
        }
    }
    json!({
        "@id": leaf,
        "@type": "Package",
        "catalogEntry": entry,
        "packageContent": content,
        "registration": links.index(),
    })
}

fn registration_page_doc(links: &Links, id: &str, chunk: &[Listed], inlined: bool) -> Value {
    let lower = &chunk[0].found.version.version;
    let upper = &chunk[chunk.len() - 1].found.version.version;
    let mut page = json!({
        "@id": links.page(lower, upper, inlined),
        "@type": "catalog:CatalogPage",
        "count": chunk.len(),
        "lower": lower.to_lowercase(),
        "upper": upper.to_lowercase(),
        "parent": links.index(),
    });
    page["items"] = chunk
        .iter()
        .map(|l| registration_entry(links, id, l))
        .collect();
    page
}

/// The registration index: pages of [`PAGE_SIZE`] versions, inlined up to [`MAX_INLINED`]
/// versions, else linked (the client then fetches each page it needs).
fn registration_index(cx: &RepoCx<'_>, id: &str) -> Result<Option<Page>, RepoError> {
    cx.cached_page(format!("nuget:registration:{id}"), || {
        let listed = listed(cx, id)?;
        if listed.is_empty() {
            return Ok(None);
        }
        let links = Links::new(cx, id);
        let inlined = listed.len() <= MAX_INLINED;
        let pages: Vec<Value> = listed
            .chunks(PAGE_SIZE)
            .map(|chunk| {
                let mut page = registration_page_doc(&links, id, chunk, inlined);
                if !inlined {
                    if let Some(map) = page.as_object_mut() {
                        map.remove("items");
                    }
                }
                page
            })
            .collect();
        let body = json!({
            "@id": links.index(),
            "@type": ["catalog:CatalogRoot", "PackageRegistration", "catalog:Permalink"],
            "count": pages.len(),
            "items": pages,
        });
        Ok(Some(Page::new(body.to_string(), "application/json")))
    })
}

/// One page of a paged registration index: the versions from `lower` to `upper`.
fn registration_page(
    cx: &RepoCx<'_>,
    id: &str,
    lower: &str,
    upper: &str,
) -> Result<Option<Page>, RepoError> {
    cx.cached_page(format!("nuget:page:{id}:{lower}:{upper}"), || {
        let listed: Vec<Listed> = listed(cx, id)?
            .into_iter()
            .filter(|l| {
                let v = &l.found.version.version;
                compare(v, lower).is_ge() && compare(v, upper).is_le()
            })
            .collect();
        if listed.is_empty() {
            return Ok(None);
        }
        let links = Links::new(cx, id);
        let body = registration_page_doc(&links, id, &listed, false);
        Ok(Some(Page::new(body.to_string(), "application/json")))
    })
}

/// A registration leaf: one version, its catalog entry inlined (there is no catalog).
fn registration_leaf(cx: &RepoCx<'_>, id: &str, version: &str) -> Result<Value, RepoError> {
    let listed = listed(cx, id)?;
    let l = listed
        .iter()
        .find(|l| l.found.version.version.eq_ignore_ascii_case(version))
        .ok_or_else(RepoError::not_found)?;
    let links = Links::new(cx, id);
    let mut leaf = registration_entry(&links, id, l);
    leaf["@type"] = json!(["Package", "http://schema.nuget.org/catalog#Permalink"]);
    leaf["listed"] = json!(true);
    leaf["published"] = json!(iso(l.found.version.published_ms));
    Ok(leaf)
}

/// The version a flat-container URL names, through the one download path (retained here
/// when it came from elsewhere). NuGet versions compare case-insensitively, and clients
/// send the label as the version list or the nuspec spells it, so a miss is retried with
/// the listed spelling.
fn find_version(cx: &RepoCx<'_>, id: &str, version: &str) -> Result<VersionRecord, RepoError> {
    let p = package_id(id);
    let has_assets = |v: &VersionRecord| !v.assets.is_empty();
    match download::version::<Nuget>(cx, &p, version, id, has_assets) {
        Err(RepoError::NotFound(_)) if version.bytes().any(|b| b.is_ascii_alphabetic()) => {
            let spelled = listed(cx, id)?
                .into_iter()
                .map(|l| l.found.version.version)
                .find(|v| v.eq_ignore_ascii_case(version) && v != version)
                .ok_or_else(RepoError::not_found)?;
            download::version::<Nuget>(cx, &p, &spelled, id, has_assets)
        }
        found => found,
    }
}

/// `v3/query`: the repository's own packages whose id contains the query, with their
/// visible versions (pre-releases when asked for).
fn search(cx: &RepoCx<'_>, query: &str) -> Result<Value, RepoError> {
    let mut q = String::new();
    let (mut skip, mut take, mut prerelease) = (0usize, 20usize, false);
    for (key, value) in decode_query(query) {
        match key.as_str() {
            "q" => q = value.trim().to_lowercase(),
            "skip" => skip = value.parse().unwrap_or(0),
            "take" => take = value.parse().unwrap_or(20).min(MAX_TAKE),
            "prerelease" => prerelease = value.eq_ignore_ascii_case("true"),
            _ => {}
        }
    }
    let q = q
        .strip_prefix("packageid:")
        .or_else(|| q.strip_prefix("id:"))
        .unwrap_or(&q);
    let registry = &cx.app.registry;
    let filter = PackageFilter {
        format: Some("nuget"),
        namespace_prefix: None,
        name_prefix: None,
        publish: None,
        upstream: None,
    };
    let mut hits = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = registry.list_packages(&cx.repo, &filter, after.as_deref(), 1000)?;
        for record in page.items {
            if !record.name.contains(q) {
                continue;
            }
            let p = record.id();
            let mut versions: Vec<VersionRecord> = registry
                .versions(&cx.repo, &p)?
                .into_iter()
                .filter(|v| {
                    v.status == crate::registry::VersionStatus::Published
                        && (prerelease || !is_prerelease(&v.version))
                })
                .collect();
            if versions.is_empty() {
                continue;
            }
            versions.sort_by(|a, b| compare(&a.version, &b.version));
            hits.push((record, versions));
        }
        match page.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let total = hits.len();
    let data: Vec<Value> = hits
        .into_iter()
        .skip(skip)
        .take(take)
        .map(|(record, versions)| {
            let links = Links::new(cx, &record.name);
            let latest = &versions[versions.len() - 1];
            let spec = Nuspec::from_manifest(latest.metadata.manifest.as_ref()).unwrap_or_default();
            json!({
                "@id": links.index(),
                "@type": "Package",
                "registration": links.index(),
                "id": record.display_name,
                "version": latest.version,
                "description": spec.description.unwrap_or_default(),
                "summary": spec.summary.unwrap_or_default(),
                "title": spec.title.unwrap_or_else(|| record.display_name.clone()),
                "authors": spec.authors.into_iter().collect::<Vec<_>>(),
                "tags": spec.tags,
                "projectUrl": spec.project_url.unwrap_or_default(),
                "licenseUrl": spec.license_url.unwrap_or_default(),
                "totalDownloads": 0,
                "verified": false,
                "packageTypes": [{"name": "Dependency"}],
                "versions": versions.iter().map(|v| json!({
                    "version": v.version,
                    "downloads": 0,
                    "@id": links.leaf(&v.version),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(json!({ "totalHits": total, "data": data }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(method: Method, rest: &str) -> Result<Route, RepoError> {
        route(&method, rest)
    }

    #[test]
    fn routes_follow_the_v3_layout() {
        let get = |rest: &str| r(Method::GET, rest);
        assert_eq!(get("v3/index.json"), Ok(Route::ServiceIndex));
        assert_eq!(
            get("v3/package/Contoso.Core/index.json"),
            Ok(Route::Versions("contoso.core".into()))
        );
        assert_eq!(
            get("v3/package/contoso.core/1.00/contoso.core.1.0.0.nupkg"),
            Ok(Route::Nupkg("contoso.core".into(), "1.0.0".into()))
        );
        assert_eq!(
            get("v3/package/contoso.core/1.0.0-Beta/contoso.core.1.0.0-Beta.nupkg"),
            Ok(Route::Nupkg("contoso.core".into(), "1.0.0-Beta".into()))
        );
        assert_eq!(
            get("v3/package/contoso.core/1.0.0/contoso.core.nuspec"),
            Ok(Route::Nuspec("contoso.core".into(), "1.0.0".into()))
        );
        assert_eq!(
            get("v3/registration4/contoso.core/index.json"),
            Ok(Route::RegistrationIndex("contoso.core".into()))
        );
        assert_eq!(
            get("v3/registration4/contoso.core/page/1.0.0/2.0.0.json"),
            Ok(Route::RegistrationPage(
                "contoso.core".into(),
                "1.0.0".into(),
                "2.0.0".into()
            ))
        );
        assert_eq!(
            get("v3/registration4/contoso.core/1.0.0.0.json"),
            Ok(Route::RegistrationLeaf(
                "contoso.core".into(),
                "1.0.0".into()
            ))
        );
        assert_eq!(get("v3/query"), Ok(Route::Search));
        assert_eq!(r(Method::PUT, "v2/package/"), Ok(Route::Push));
        assert_eq!(r(Method::PUT, "v2/package"), Ok(Route::Push));
        assert_eq!(
            r(Method::DELETE, "v2/package/a/1.0.0").map_err(|e| e.status()),
            Err(StatusCode::METHOD_NOT_ALLOWED)
        );
        for rest in [
            "v3/package/../index.json",
            "v3/package/a%2Fb/index.json",
            "v3/package/a/1.0.0/b.1.0.0.nupkg",
            "v3/package/a/1.0.0/a.2.0.0.nupkg",
            "v3/package/a/x/a.x.nupkg",
            "v3/package/a..b/index.json",
            "v3//index.json",
            "v3/registration4/a/nope.json",
            "FindPackagesById()",
            "v2/Packages()",
            "",
        ] {
            assert_eq!(
                get(rest).map_err(|e| e.status()),
                Err(StatusCode::NOT_FOUND),
                "{rest}"
            );
        }
    }

    #[test]
    fn the_service_index_names_every_served_resource() {
        let index = service_index("http://h/nuget/d/a-1/r/");
        let types: Vec<(&str, &str)> = index["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["@type"].as_str().unwrap(), r["@id"].as_str().unwrap()))
            .collect();
        assert!(types.contains(&(
            "PackageBaseAddress/3.0.0",
            "http://h/nuget/d/a-1/r/v3/package/"
        )));
        assert!(types.contains(&(
            "RegistrationsBaseUrl/3.6.0",
            "http://h/nuget/d/a-1/r/v3/registration4/"
        )));
        assert!(types.contains(&("PackagePublish/2.0.0", "http://h/nuget/d/a-1/r/v2/package")));
        assert!(types.contains(&(
            "SearchQueryService/3.5.0",
            "http://h/nuget/d/a-1/r/v3/query"
        )));
        for (_, url) in &types {
            let rest = url.strip_prefix("http://h/nuget/d/a-1/r/").unwrap();
            let probe = if rest.ends_with('/') {
                format!("{rest}x/index.json")
            } else {
                rest.to_string()
            };
            let method = if rest.starts_with("v2") {
                Method::PUT
            } else {
                Method::GET
            };
            assert!(route(&method, &probe).is_ok(), "{url}");
        }
    }
}
