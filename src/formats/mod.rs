//! Package-manager protocols, one module per format, served behind the repository endpoint
//! once `endpoints` has authenticated the token and found the repository.
//!
//! Formats read and change state only through the registry, and check access with the
//! token's principal exactly as the control plane checks the caller's.

pub mod cargo;
pub mod maven;
pub mod npm;
pub mod pypi;

use crate::access;
use crate::app::full;
use crate::app::{App, Body};
use crate::auth::TokenClaims;
use crate::outbound::FetchError;
use crate::registry::{
    ExternalSource, PackageId, PolicyTarget, RepositoryRecord, VersionRecord, VersionStatus,
};
use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

/// A repository-endpoint request after authentication.
pub struct RepoCx<'a> {
    pub app: &'a App,
    pub repo: RepositoryRecord,
    /// Who the token was issued to.
    pub claims: TokenClaims,
    /// Absolute URL of this repository endpoint, ending with `/`, in the addressing form the
    /// client used, so links we hand out carry the client's credentials scope.
    pub base_url: String,
}

impl RepoCx<'_> {
    /// Decides a repository action (`ReadFromRepository`, `PublishPackageVersion`,
    /// `PutPackageMetadata`) for the token's principal under the repository's policy.
    pub fn allowed(&self, action: &str) -> Result<(), String> {
        let principal = access::Principal {
            account: &self.claims.account_id,
            arn: &self.claims.principal_arn,
        };
        let arn = self.repo.arn();
        let request = access::Request {
            action,
            resource_arn: &arn,
            resource_account: &self.repo.administrator_account,
            region: &self.repo.region,
        };
        let target = PolicyTarget::Repository(self.repo.domain_id(), &self.repo.name);
        let policy = self
            .app
            .registry
            .policy_if_any(target)
            .map_err(|e| format!("{e:?}"))?;
        match access::decide(
            principal,
            request,
            policy.as_ref().map(|p| p.document.as_str()),
        ) {
            access::Decision::Allow => Ok(()),
            decision => Err(access::denial_message(principal, request, decision)),
        }
    }
}

/// A request header as text, when present and readable.
pub fn header_text<B>(request: &http::Request<B>, name: header::HeaderName) -> Option<String> {
    request
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Why a request body could not be read into memory.
#[derive(Debug)]
pub enum BodyError {
    /// Longer than the limit (answer 413).
    TooLarge(usize),
    /// The client's body ended early or broke (answer 400).
    Broken(String),
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::TooLarge(limit) => write!(f, "The upload is larger than {limit} bytes"),
            BodyError::Broken(why) => write!(f, "The upload ended early: {why}"),
        }
    }
}

impl BodyError {
    pub fn status(&self) -> StatusCode {
        match self {
            BodyError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::Broken(_) => StatusCode::BAD_REQUEST,
        }
    }
}

/// A request body read whole into memory, at most `limit` bytes (documents, checksums,
/// publish requests that carry their file inline).
pub async fn read_body<B>(request: http::Request<B>, limit: usize) -> Result<Bytes, BodyError>
where
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    use http_body_util::BodyExt as _;
    match http_body_util::Limited::new(request.into_body(), limit)
        .collect()
        .await
    {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(BodyError::TooLarge(limit)),
        Err(e) => Err(BodyError::Broken(e.to_string())),
    }
}

/// A plain-text response (the error bodies of the PyPI and Maven protocols).
pub fn text(status: StatusCode, message: impl Into<String>) -> Response<Body> {
    let mut response = Response::new(full(message.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// A 500 for a failure of the store, logged with the format that met it.
pub fn internal_error(format: &str, e: &crate::registry::Error) -> Response<Body> {
    tracing::error!(error = ?e, format, "repository request failed");
    text(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Internal error; see the server log",
    )
}

/// A JSON response with the given status.
pub fn json(status: StatusCode, body: &serde_json::Value) -> Response<Body> {
    let mut response = crate::app::json_response(status, body);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

impl RepoCx<'_> {
    /// Runs a read on the async worker, unless an external connection could make it wait
    /// on an upstream registry: then on a blocking thread (reads of the store alone are
    /// quick, and a thread hand-off per request would cost more than they do).
    pub fn off_worker_if_outbound<T>(&self, read: impl FnOnce() -> T) -> T {
        if self.app.settings.external_connections.is_empty() {
            read()
        } else {
            tokio::task::block_in_place(read)
        }
    }

    /// The base URL configured for an external connection, without a trailing slash;
    /// `None` when the user configured none, which makes the connection unreachable.
    pub fn upstream_base(&self, connection: &str) -> Option<String> {
        let base = self.app.settings.external_connections.get(connection);
        if base.is_none() {
            tracing::debug!(
                connection,
                "no upstream URL configured: the connection is unreachable"
            );
        }
        base.map(|b| b.trim_end_matches('/').to_string())
    }

    /// GETs a URL of an upstream registry, blocking this (blocking-pool) thread; `None` when
    /// it is absent (404) or unreachable (logged).
    pub fn fetch_upstream(&self, url: &str, accept: &str, limit: usize) -> Option<Bytes> {
        match self.fetch_upstream_once(url, accept, limit) {
            Ok(body) => Some(body),
            Err(FetchError::NotFound) => None,
            Err(FetchError::Unreachable(why)) => {
                tracing::warn!(why, "upstream registry unreachable");
                None
            }
        }
    }

    fn fetch_upstream_once(
        &self,
        url: &str,
        accept: &str,
        limit: usize,
    ) -> Result<Bytes, FetchError> {
        let outbound = self.app.outbound.clone();
        let url = url.to_string();
        tokio::runtime::Handle::current()
            .block_on(async move { outbound.get(&url, accept, limit).await })
    }

    /// A public registry's listing document (packument, project page, maven-metadata.xml),
    /// reused for the configured metadata TTL as the service's metadata cache reuses it. An
    /// expired copy answers while the registry is unreachable; one the registry no longer
    /// has (404) is dropped.
    pub fn fetch_listing(&self, url: &str, accept: &str, limit: usize) -> Option<Bytes> {
        let ttl = self.app.settings.upstream_metadata_ttl;
        if ttl.is_zero() {
            return self.fetch_upstream(url, accept, limit);
        }
        let key = (url.to_string(), accept.to_string());
        let cached = self.app.listings.get(&key);
        if let Some((at, body)) = &cached {
            if at.elapsed() < ttl {
                return Some(body.clone());
            }
        }
        match self.fetch_upstream_once(url, accept, limit) {
            Ok(body) => {
                self.app.listings.put(key, body.clone());
                Some(body)
            }
            Err(FetchError::NotFound) => {
                self.app.listings.remove(&key);
                None
            }
            Err(FetchError::Unreachable(why)) => {
                tracing::warn!(
                    why,
                    "upstream registry unreachable; serving its cached listing if any"
                );
                cached.map(|(_, body)| body)
            }
        }
    }

    /// The version a package manager downloads from: the first copy in search order
    /// (fetched through an external connection if need be), served only when `Published`
    /// or `Unlisted` and when `serves` accepts it, and retained in this repository when it
    /// came from elsewhere. Lookups stay on the worker; a retention (a write) moves off it.
    pub fn downloadable(
        &self,
        p: &PackageId,
        version: &str,
        display_name: &str,
        external: Option<&dyn ExternalSource>,
        serves: impl Fn(&VersionRecord) -> bool,
    ) -> Result<Option<VersionRecord>, crate::registry::Error> {
        let registry = &self.app.registry;
        let found =
            self.off_worker_if_outbound(|| registry.resolve(&self.repo, p, version, external))?;
        let Some(found) = found else { return Ok(None) };
        let visible = matches!(
            found.version.status,
            VersionStatus::Published | VersionStatus::Unlisted
        );
        if !visible || !serves(&found.version) {
            return Ok(None);
        }
        if found.holder.id == self.repo.id {
            return Ok(Some(found.version));
        }
        tokio::task::block_in_place(|| registry.retain(&self.repo, &found, p, display_name))
            .map(Some)
    }

    /// A listing page (npm packument, PyPI project page) reused while the store has not
    /// changed, otherwise rendered anew. `name` identifies the page within the repository
    /// (format, package and representation); links embed the base URL, so it is part of
    /// the key too. Pages are not reused while external connections are configured: a
    /// public registry can change without the store changing.
    pub fn cached_page<E>(
        &self,
        name: String,
        render: impl FnOnce() -> Result<Option<Page>, E>,
    ) -> Result<Option<Page>, E> {
        let cacheable = self.app.settings.external_connections.is_empty();
        let generation = self.app.registry.generation();
        let key = (self.repo.id.clone(), name, self.base_url.clone());
        if cacheable {
            if let Some(page) = self.app.pages.get(&key, generation) {
                return Ok(Some(page));
            }
        }
        let page = render()?;
        if let (true, Some(page)) = (cacheable, &page) {
            self.app.pages.put(key, generation, page.clone());
        }
        Ok(page)
    }
}

/// A rendered listing page: body, content type and entity tag.
#[derive(Debug, Clone)]
pub struct Page {
    pub body: Bytes,
    pub content_type: &'static str,
    pub etag: String,
}

impl Page {
    pub fn new(body: impl Into<Bytes>, content_type: &'static str) -> Page {
        use sha2::Digest as _;
        let body = body.into();
        let etag = format!("\"{}\"", hex::encode(&sha2::Sha256::digest(&body)));
        Page {
            body,
            content_type,
            etag,
        }
    }

    /// The page as a response: 304 when the client already has it.
    pub fn into_response(self, if_none_match: Option<&str>) -> Response<Body> {
        let not_modified = if_none_match == Some(self.etag.as_str());
        let mut response = Response::new(full(if not_modified {
            Bytes::new()
        } else {
            self.body
        }));
        if not_modified {
            *response.status_mut() = StatusCode::NOT_MODIFIED;
        }
        let headers = response.headers_mut();
        if !not_modified {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(self.content_type),
            );
        }
        if let Ok(value) = HeaderValue::from_str(&self.etag) {
            headers.insert(header::ETAG, value);
        }
        response
    }
}

/// Listing documents fetched from public registries, by URL and `Accept`, with when they
/// were fetched.
#[derive(Default)]
pub struct ListingCache {
    entries: Mutex<HashMap<(String, String), (Instant, Bytes)>>,
}

impl ListingCache {
    fn get(&self, key: &(String, String)) -> Option<(Instant, Bytes)> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.get(key).cloned()
    }

    fn put(&self, key: (String, String), body: Bytes) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= PAGE_ENTRIES {
            entries.clear();
        }
        entries.insert(key, (Instant::now(), body));
    }

    fn remove(&self, key: &(String, String)) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.remove(key);
    }
}

/// Repository id, page name, base URL.
type PageKey = (String, String, String);

/// Pages kept before the cache starts over (a cheap bound on memory).
const PAGE_ENTRIES: usize = 4096;

/// Rendered listing pages, each valid for the store generation it was rendered at.
#[derive(Default)]
pub struct PageCache {
    entries: Mutex<HashMap<PageKey, (u64, Page)>>,
}

impl PageCache {
    fn get(&self, key: &PageKey, generation: u64) -> Option<Page> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(key)
            .filter(|(at, _)| *at == generation)
            .map(|(_, page)| page.clone())
    }

    fn put(&self, key: PageKey, generation: u64, page: Page) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= PAGE_ENTRIES {
            entries.clear();
        }
        entries.insert(key, (generation, page));
    }
}
