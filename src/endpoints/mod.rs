//! Repository endpoints: the skeleton every package format runs in.
//!
//! A format is its own protocol and nothing else: it implements [`Format`] (parse my route,
//! name the action it needs, handle it, render my error body, reach my kind of public
//! registry). Everything between the token and the handler is written once, in [`serve`]:
//! token → repository → route → action → access decision → handler, and every refusal is
//! a [`RepoError`] whose status comes from one table ([`RepoError::status`]) and whose body
//! the format renders. The one publish path ([`publish`]), the one download path
//! ([`download`]) and the one way to reach an upstream registry ([`upstream`]) live here
//! too, so every format follows the same rules.

pub mod download;
pub mod publish;
pub mod upstream;

use crate::access::{self, table::RouteClass};
use crate::addressing::Target;
use crate::auth::{token_from_authorization, TokenClaims};
use crate::cache::{Page, Source};
use crate::permissions::{self, Asker, Refusal, Subject};
use crate::registry::{DomainId, ExternalSource, PackageId, RepositoryRecord};
use crate::state::App;
use crate::wire::{full, Body, BodyError, RequestBody};
use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// What a route needs, as the authorization table's route classes name it
/// (`access::table::route`), with the package it acts on where the service checks the
/// package's ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Reading packages, versions and assets (and, through upstreams, fetching them):
    /// `ReadFromRepository` on the repository, which cannot be scoped to packages.
    Read,
    /// Publishing a new version or adding an asset to one: `PublishPackageVersion` on the
    /// package. `None` when the package is named only in the body (twine, cargo publish):
    /// the one publish path ([`publish::publish`]) then checks it before anything is written.
    Publish(Option<PackageId>),
    /// Changing a package's metadata (npm dist-tags and deprecation, Maven metadata):
    /// `PutPackageMetadata` on the package.
    PutMetadata(PackageId),
}

impl Action {
    /// `Read` for GET and HEAD, the methods every reading route answers; any other method
    /// is not one the route has.
    pub fn read(method: &Method) -> Result<Action, RepoError> {
        if method == Method::GET || method == Method::HEAD {
            Ok(Action::Read)
        } else {
            Err(RepoError::method(method))
        }
    }

    /// The route class of the authorization table.
    pub fn class(&self) -> RouteClass {
        match self {
            Action::Read => RouteClass::Read,
            Action::Publish(_) => RouteClass::Publish,
            Action::PutMetadata(_) => RouteClass::PutMetadata,
        }
    }
}

/// Every way a repository-endpoint request is refused. The status of each is decided in
/// one place ([`RepoError::status`]); the body is the format's ([`Format::error_response`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepoError {
    /// No token, or one that is not valid for this domain: 401 with Basic and Bearer
    /// challenges (Maven and NuGet send credentials only after a Basic challenge).
    Unauthorized(String),
    /// The token's principal may not take this action here.
    Forbidden(String),
    /// No such repository, package, version or file, or a path the protocol does not have.
    NotFound(String),
    /// A route the protocol has but not for this method, or that the service does not offer.
    MethodNotAllowed(String),
    /// No representation the client accepts.
    NotAcceptable(String),
    /// A protocol version the client asks for that this endpoint does not speak (the Swift
    /// registry's `Accept: application/vnd.swift.registry.v2+json`).
    UnsupportedMediaType(String),
    /// A malformed request: bad names, documents, digests, or a body that ended early.
    BadRequest(String),
    /// A well-formed upload the registry refuses for its content (a Swift source archive
    /// without `Package.swift`, release metadata that is not the documented JSON).
    Unprocessable(String),
    /// The version (or file) exists with other content, is available from upstream, or the
    /// package's origin controls refuse the publish.
    Conflict(String),
    /// A body over its route's limit, or an asset over the asset size quota.
    TooLarge(String),
    /// Another quota of the service (assets per version).
    QuotaExceeded(String),
    /// Too many uploads in progress, in all or for this identity; clients retry.
    Throttled(String),
    /// The request body stopped arriving for the body-progress timeout.
    Timeout(String),
    /// A failure of ours; the detail is logged, never sent.
    Internal(String),
}

impl RepoError {
    /// The one status table of the repository endpoints.
    pub fn status(&self) -> StatusCode {
        match self {
            RepoError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            RepoError::Forbidden(_) => StatusCode::FORBIDDEN,
            RepoError::NotFound(_) => StatusCode::NOT_FOUND,
            RepoError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            RepoError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            RepoError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            RepoError::BadRequest(_) => StatusCode::BAD_REQUEST,
            RepoError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            RepoError::Conflict(_) => StatusCode::CONFLICT,
            RepoError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            // ServiceQuotaExceededException, as PublishPackageVersion answers.
            RepoError::QuotaExceeded(_) => StatusCode::PAYMENT_REQUIRED,
            RepoError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            RepoError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            RepoError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The AWS error type sent beside it (`x-amzn-errortype`), as the service's front door
    /// names its refusals; package managers read only the status and the body.
    pub fn error_type(&self) -> &'static str {
        match self {
            RepoError::Unauthorized(_) => "UnauthorizedException",
            RepoError::Forbidden(_) => "AccessDeniedException",
            RepoError::NotFound(_) => "ResourceNotFoundException",
            RepoError::MethodNotAllowed(_)
            | RepoError::NotAcceptable(_)
            | RepoError::UnsupportedMediaType(_) => "ValidationException",
            RepoError::BadRequest(_) | RepoError::Unprocessable(_) => "ValidationException",
            RepoError::Conflict(_) => "ConflictException",
            RepoError::TooLarge(_) | RepoError::QuotaExceeded(_) => "ServiceQuotaExceededException",
            RepoError::Throttled(_) => "ThrottlingException",
            RepoError::Timeout(_) => "RequestTimeoutException",
            RepoError::Internal(_) => "InternalServerException",
        }
    }

    /// What the client is told.
    pub fn message(&self) -> &str {
        match self {
            RepoError::Internal(_) => "Internal error; see the server log",
            RepoError::Unauthorized(m)
            | RepoError::Forbidden(m)
            | RepoError::NotFound(m)
            | RepoError::MethodNotAllowed(m)
            | RepoError::NotAcceptable(m)
            | RepoError::UnsupportedMediaType(m)
            | RepoError::BadRequest(m)
            | RepoError::Unprocessable(m)
            | RepoError::Conflict(m)
            | RepoError::TooLarge(m)
            | RepoError::QuotaExceeded(m)
            | RepoError::Throttled(m)
            | RepoError::Timeout(m) => m,
        }
    }

    /// A 404 with the usual words.
    pub fn not_found() -> RepoError {
        RepoError::NotFound("Not found".to_string())
    }

    /// A failure of ours, with what the log should say.
    pub fn internal(what: impl std::fmt::Display) -> RepoError {
        RepoError::Internal(what.to_string())
    }

    /// A failure to write asset bytes: below the free-space watermark (or out of space)
    /// it is the quota error writes get then; anything else is ours.
    pub fn storage(what: &str, e: &std::io::Error) -> RepoError {
        if e.kind() == std::io::ErrorKind::StorageFull {
            RepoError::QuotaExceeded(e.to_string())
        } else {
            RepoError::Internal(format!("{what}: {e}"))
        }
    }

    /// A multipart upload that could not be read: a part over its limit is 413, a stalled
    /// body 408, anything else 400; `what` says which part of the upload.
    pub fn multipart(what: &str, e: &multer::Error) -> RepoError {
        let message = format!("{what}: {e}");
        match e {
            multer::Error::FieldSizeExceeded { .. } | multer::Error::StreamSizeExceeded { .. } => {
                RepoError::TooLarge(message)
            }
            _ if crate::wire::is_stalled(e) => RepoError::Timeout(message),
            _ => RepoError::BadRequest(message),
        }
    }

    /// The method is not one this route answers.
    pub fn method(method: &Method) -> RepoError {
        RepoError::MethodNotAllowed(format!("{method} is not supported here"))
    }
}

impl From<crate::registry::Error> for RepoError {
    fn from(e: crate::registry::Error) -> Self {
        use crate::registry::Error;
        match e {
            Error::NotFound { message, .. } => RepoError::NotFound(message),
            Error::Conflict { message, .. } => RepoError::Conflict(message),
            Error::QuotaExceeded { message, .. } => RepoError::QuotaExceeded(message),
            Error::Invalid(message) => RepoError::BadRequest(message),
            Error::Store(e) => RepoError::Internal(format!("{e:?}")),
        }
    }
}

impl From<BodyError> for RepoError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::TooLarge(_) => RepoError::TooLarge(e.to_string()),
            BodyError::Broken(_) => RepoError::BadRequest(e.to_string()),
            BodyError::Stalled(_) => RepoError::Timeout(e.to_string()),
        }
    }
}

/// A package-manager protocol. Implementations parse and render their protocol and call
/// the shared paths of this module for everything else.
pub trait Format {
    /// The format's name in logs and package ids (`npm`, `pypi`, …).
    const NAME: &'static str;
    /// What a path under the repository asks for.
    type Route: Send;
    /// The format's adapter for public registries behind external connections.
    type Adapter<'a>: ExternalSource
    where
        Self: 'a;

    /// Reads the path after `{repository}/` (still percent-encoded) for this method.
    fn route(method: &Method, rest: &str) -> Result<Self::Route, RepoError>;

    /// The repository action the route needs; decided before anything is read.
    fn action(method: &Method, route: &Self::Route) -> Result<Action, RepoError>;

    /// Answers an authorised request.
    fn handle(
        cx: &RepoCx<'_>,
        route: Self::Route,
        request: Request<RequestBody>,
    ) -> impl Future<Output = Result<Response<Body>, RepoError>> + Send;

    /// The format's error body for a status and message (npm `{"error"}`, cargo
    /// `{"errors":[{"detail"}]}`, plain text for PyPI and Maven).
    fn error_response(status: StatusCode, message: &str) -> Response<Body>;

    /// The adapter that lists and fetches from the public registry `cx`'s graph reaches.
    fn adapter<'a>(cx: &'a RepoCx<'a>) -> Self::Adapter<'a>;

    /// Whether two version strings name the same version (PyPI compares them normalised).
    fn same_version(a: &str, b: &str) -> bool {
        a == b
    }

    /// A short, stable name of what the route does (`packument`, `upload`, `put`, …): the
    /// access log names a repository-endpoint request `{NAME}.{route_name}`.
    fn route_name(method: &Method, route: &Self::Route) -> &'static str;
}

/// What a repository-endpoint request was, carried on its response to the access log:
/// the format and the route's name ([`Format::route_name`]; `unrouted` when the path named
/// no route of the format).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Served {
    pub format: &'static str,
    pub action: &'static str,
}

impl std::fmt::Display for Served {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.format, self.action)
    }
}

/// The route's name for the access log, `unrouted` if the path names none.
fn route_name<F: Format>(method: &Method, route: &Result<F::Route, RepoError>) -> &'static str {
    route
        .as_ref()
        .map_or("unrouted", |route| F::route_name(method, route))
}

/// A repository-endpoint request after authentication.
pub struct RepoCx<'a> {
    pub app: &'a App,
    pub repo: RepositoryRecord,
    /// Who the token was issued to.
    pub claims: TokenClaims,
    /// Absolute URL of this repository endpoint, ending with `/`, in the addressing form the
    /// client used, so links we hand out carry the client's credentials scope.
    pub base_url: String,
    /// Set when the route publishes a package its path does not name: the one publish path
    /// decides `PublishPackageVersion` on the package once the body has named it.
    publish_unchecked: bool,
    /// The public registries' documents this request's renders have been given
    /// (`Upstream::listing`, `Upstream::get`), in order: what its pages were rendered from.
    consulted: Mutex<Vec<Source>>,
    /// Pages being rendered in this request (one inside another for a checksum page):
    /// documents are recorded only while this is above 0.
    rendering: AtomicUsize,
    /// Documents fetched again to check a kept page, handed to the render that follows
    /// when one of them changed (so it does not fetch them a second time).
    refetched: Mutex<Vec<(Source, Option<Bytes>)>>,
    /// Only [`open`] makes a `RepoCx`: a handler never runs for an unchecked token or a
    /// repository that does not exist.
    _opened: Opened,
}

/// Proof that [`open`] checked the token and found the repository.
struct Opened;

/// Serves one request of format `F`: the whole pipeline of a repository endpoint.
/// Refusals at the front door (token, repository) come in one JSON shape whatever the
/// format, as the service's front door answers before any protocol is reached; refusals
/// from the protocol onwards come in the format's own error body.
pub async fn serve<F: Format>(
    app: &App,
    target: Target,
    request: Request<RequestBody>,
) -> Response<Body> {
    let method = request.method().clone();
    let gzip_accepted = accepts_gzip(request.headers());
    let mut action = "unrouted";
    let mut response = match open(app, &target, &request) {
        Ok(mut cx) => match run::<F>(&mut cx, &target, request, &mut action).await {
            Ok(response) => response,
            Err(e) => render::<F>(&e),
        },
        Err(e) => {
            // Refused at the front door: name the route it asked for all the same.
            action = route_name::<F>(&method, &F::route(&method, &target.rest));
            render_with(&e, F::NAME, front_door_response)
        }
    };
    if let Some(Compressible(page)) = response.extensions_mut().remove::<Compressible>() {
        if gzip_accepted {
            gzip_page(&mut response, &page);
        }
    }
    response.extensions_mut().insert(Served {
        format: F::NAME,
        action,
    });
    response
}

/// Whether `Accept-Encoding` accepts gzip: `gzip` (or `x-gzip`) with a q-value above 0, or,
/// when gzip is not named, `*` with one (RFC 9110 §12.5.3).
pub fn accepts_gzip(headers: &http::HeaderMap) -> bool {
    let mut named = None;
    let mut any = None;
    let codings = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','));
    for coding in codings {
        let mut parts = coding.split(';');
        let name = parts.next().unwrap_or("").trim();
        let q = parts
            .filter_map(|p| {
                let (key, value) = p.split_once('=')?;
                key.trim().eq_ignore_ascii_case("q").then_some(value)
            })
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
            named = Some(named.unwrap_or(false) || q > 0.0);
        } else if name == "*" {
            any = Some(q > 0.0);
        }
    }
    named.or(any).unwrap_or(false)
}

/// Marks a page response that may go out gzip-compressed: [`serve`] compresses it when
/// the request accepts gzip (clients of every format send `Accept-Encoding: gzip`).
#[derive(Clone)]
struct Compressible(Page);

/// Sends a page's gzip representation: its compressed body (made once per cached page),
/// `Content-Encoding: gzip` and that representation's own entity tag.
fn gzip_page(response: &mut Response<Body>, page: &Page) {
    let Some(compressed) = page.gzipped() else {
        return;
    };
    if response.status() == StatusCode::OK {
        *response.body_mut() = full(compressed);
        response.headers_mut().remove(header::CONTENT_LENGTH);
        response
            .headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    } else if response.status() != StatusCode::NOT_MODIFIED {
        return;
    }
    if let Ok(value) = HeaderValue::from_str(&page.gzip_etag()) {
        response.headers_mut().insert(header::ETAG, value);
    }
}

async fn run<F: Format>(
    cx: &mut RepoCx<'_>,
    target: &Target,
    request: Request<RequestBody>,
    name: &mut &'static str,
) -> Result<Response<Body>, RepoError> {
    let route = F::route(request.method(), &target.rest);
    *name = route_name::<F>(request.method(), &route);
    let route = route?;
    let action = F::action(request.method(), &route)?;
    match &action {
        Action::Publish(None) => cx.publish_unchecked = true,
        Action::Publish(Some(p)) | Action::PutMetadata(p) => cx.allowed(action.class(), Some(p))?,
        Action::Read => cx.allowed(action.class(), None)?,
    }
    let class = match action {
        Action::Read => "read",
        Action::Publish(_) => "publish",
        Action::PutMetadata(_) => "putMetadata",
    };
    let fault = cx.app.faults.check(crate::faults::Call::Repository {
        format: F::NAME,
        action: class,
        path: &target.rest,
    });
    if let Some(response) = injected_fault(fault, |status, _, message| {
        F::error_response(status, message)
    })
    .await
    {
        return Ok(response);
    }
    // A publish holds an upload slot of its principal until it has committed or failed,
    // so stalled uploads cannot pile up without bound.
    let _slot = match action {
        Action::Publish(_) => Some(
            cx.app
                .uploads
                .try_acquire(&cx.claims.principal_arn)
                .map_err(|busy| RepoError::Throttled(busy.to_string()))?,
        ),
        Action::Read | Action::PutMetadata(_) => None,
    };
    F::handle(cx, route, request).await
}

/// Applies an injected fault (`crate::faults`): waits its latency, then answers its error
/// (rendered by `render` from status, error type and message, with `x-amzn-errortype` and
/// any `Retry-After`) or cuts the connection. `None` lets the request go on.
pub async fn injected_fault(
    fault: Option<crate::faults::Fault>,
    render: impl FnOnce(StatusCode, &'static str, &str) -> Response<Body>,
) -> Option<Response<Body>> {
    use crate::faults::Outcome;
    let fault = fault?;
    if !fault.latency.is_zero() {
        tokio::time::sleep(fault.latency).await;
    }
    match fault.outcome {
        Outcome::Proceed | Outcome::Status(_) => None,
        Outcome::Cut => {
            let mut response = Response::new(crate::wire::full(""));
            response.extensions_mut().insert(crate::faults::Cut);
            Some(response)
        }
        Outcome::Error { kind, retry_after } => {
            let status =
                StatusCode::from_u16(kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = render(status, kind.name(), kind.message());
            let headers = response.headers_mut();
            headers.insert(
                "x-amzn-errortype",
                http::HeaderValue::from_static(kind.name()),
            );
            if let Some(seconds) = retry_after {
                headers.insert(http::header::RETRY_AFTER, http::HeaderValue::from(seconds));
            }
            Some(response)
        }
    }
}

/// A request for a format whose protocol is not served: the token and the repository are
/// checked as for any other, then 404.
pub fn unserved<B>(app: &App, target: &Target, request: &Request<B>) -> Response<Body> {
    let refusal = match open(app, target, request) {
        Err(e) => e,
        Ok(_) => RepoError::NotFound(format!(
            "codeartifact-local does not serve the {} repository protocol yet",
            target.format
        )),
    };
    let mut response = render_with(&refusal, target.format.as_str(), front_door_response);
    response.extensions_mut().insert(Served {
        format: target.format.as_str(),
        action: "unserved",
    });
    response
}

/// The body of front-door refusals and of formats without a protocol here: `message` is
/// what most clients print, `errors[].detail` what cargo prints.
fn front_door_response(status: StatusCode, message: &str) -> Response<Body> {
    crate::wire::json_response(
        status,
        &serde_json::json!({
            "error": status.canonical_reason(),
            "message": message,
            "errors": [{ "detail": message }],
        }),
    )
}

/// The response for a refusal: the format's body with the status of the one table; 401s
/// carry the challenges, failures of ours are logged once.
pub fn render<F: Format>(e: &RepoError) -> Response<Body> {
    render_with(e, F::NAME, F::error_response)
}

fn render_with(
    e: &RepoError,
    format: &str,
    error_response: fn(StatusCode, &str) -> Response<Body>,
) -> Response<Body> {
    if let RepoError::Internal(detail) = e {
        tracing::error!(format, error = %detail, "repository request failed");
    }
    let mut response = error_response(e.status(), e.message());
    let headers = response.headers_mut();
    headers.insert("x-amzn-errortype", HeaderValue::from_static(e.error_type()));
    if matches!(e, RepoError::Unauthorized(_)) {
        for challenge in [
            "Basic realm=\"codeartifact\"",
            "Bearer realm=\"codeartifact\"",
        ] {
            headers.append(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
    }
    response
}

/// Checks the token and finds the repository the request addresses.
pub fn open<'a, B>(
    app: &'a App,
    target: &Target,
    request: &Request<B>,
) -> Result<RepoCx<'a>, RepoError> {
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| RepoError::Unauthorized("An authorization token is required".into()))?;
    let claims = token_from_authorization(authorization)
        .and_then(|token| {
            app.tokens
                .verify(&token, app.clock.now_ms().div_euclid(1000))
        })
        .map_err(|e| {
            RepoError::Unauthorized(format!("The authorization token is not valid: {e}"))
        })?;
    if !claims.authorizes(&target.owner, &target.domain) {
        return Err(RepoError::Unauthorized(
            "The authorization token was issued for another domain".into(),
        ));
    }
    let region = match (&target.region, claims.region.as_str()) {
        (Some(region), _) => region.clone(),
        (None, "") => app.settings.default_region.clone(),
        (None, region) => region.to_string(),
    };
    let d = DomainId {
        region: &region,
        owner: &target.owner,
        name: &target.domain,
    };
    let repo = app.registry.repository(d, &target.repository)?;
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let base_url = format!("http://{host}{}", target.prefix);
    Ok(RepoCx {
        app,
        repo,
        claims,
        base_url,
        publish_unchecked: false,
        consulted: Mutex::default(),
        rendering: AtomicUsize::new(0),
        refetched: Mutex::default(),
        _opened: Opened,
    })
}

impl RepoCx<'_> {
    /// Decides a route class for the token's principal, with the same table row and the
    /// same evaluation the control plane uses: the domain policy and the repository policy,
    /// the principal's identity policies, the package's ARN where the class names one.
    fn allowed(&self, class: RouteClass, package: Option<&PackageId>) -> Result<(), RepoError> {
        let asker = Asker::configured(
            &self.app.identities,
            &self.claims.account_id,
            &self.claims.principal_arn,
            &self.repo.region,
            self.app.clock.now_ms(),
        );
        let d = self.repo.domain_id();
        let subject = match package {
            Some(p) => Subject::package(d, &self.repo.name, p),
            None => Subject::repository(d, &self.repo.name),
        };
        let needs = access::table::route(class);
        permissions::authorize(&self.app.registry, &asker, needs, &subject).map_err(|refusal| {
            match refusal {
                Refusal::Denied(message) => RepoError::Forbidden(message),
                Refusal::Registry(e) => e.into(),
            }
        })
    }

    /// For a route whose package only its body names: decides `PublishPackageVersion` on
    /// that package (the one publish path calls this before it writes anything).
    pub fn allowed_to_publish(&self, package: &PackageId) -> Result<(), RepoError> {
        if self.publish_unchecked {
            self.allowed(RouteClass::Publish, Some(package))?;
        }
        Ok(())
    }

    /// Runs a registry write (it commits durably, with an fsync) off the async workers.
    pub fn write<T>(&self, write: impl FnOnce() -> T) -> T {
        tokio::task::block_in_place(write)
    }

    /// A listing page (npm packument, PyPI project page, cargo index file) reused while the
    /// store has not changed, otherwise rendered anew. `name` identifies the page within
    /// the repository (format, package and representation); links embed the base URL, so
    /// it is part of the key too. A repository whose upstreams reach an external connection
    /// shows a public registry's documents, which can change without the store changing:
    /// such a page is reused as it is for at most the upstream metadata TTL (not at all
    /// with a TTL of 0); after that, each document it was rendered from is asked for again
    /// (as a render would ask, through the listing cache), and the page is reused while
    /// every one comes back with the same bytes (the render is a function of the store's
    /// generation and those documents), rendered anew as soon as one differs.
    pub fn cached_page(
        &self,
        name: String,
        render: impl FnOnce() -> Result<Option<Page>, RepoError>,
    ) -> Result<Option<Page>, RepoError> {
        let generation = self.app.registry.generation();
        let max_age = if self.app.registry.reaches_external(&self.repo)? {
            Some(self.app.settings.upstream_metadata_ttl)
        } else {
            None
        };
        let key = (self.repo.id.clone(), name, self.base_url.clone());
        if let Some(kept) = self.app.pages.get(&key, generation) {
            let fresh = max_age.is_none_or(|age| kept.at.elapsed() < age);
            if fresh || self.sources_unchanged(&kept.sources) {
                // An enclosing page (a checksum of this one) was rendered from these too.
                self.consulted().extend(kept.sources.iter().cloned());
                if !fresh {
                    self.app
                        .pages
                        .put(key, generation, kept.page.clone(), kept.sources);
                }
                return Ok(Some(kept.page));
            }
        }
        let start = self.consulted().len();
        self.rendering.fetch_add(1, Ordering::Relaxed);
        let page = render();
        self.rendering.fetch_sub(1, Ordering::Relaxed);
        let page = page?;
        if let Some(page) = &page {
            let sources: Arc<[Source]> = Arc::from(&self.consulted()[start..]);
            self.app.pages.put(key, generation, page.clone(), sources);
        }
        Ok(page)
    }

    /// Whether a page is being rendered, so the public documents given to the request are
    /// what it is rendered from.
    pub(super) fn rendering(&self) -> bool {
        self.rendering.load(Ordering::Relaxed) > 0
    }

    /// The public documents given to this request's renders so far.
    pub(super) fn consulted(&self) -> MutexGuard<'_, Vec<Source>> {
        self.consulted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether asking again for each document a page was rendered from brings back the
    /// same bytes (or, again, nothing), stopping at the first that differs. What was
    /// fetched is kept for the render that follows (`Upstream::listing`, `Upstream::get`).
    fn sources_unchanged(&self, sources: &[Source]) -> bool {
        let mut refetched = Vec::new();
        let unchanged = sources.iter().all(|source| {
            let Some(upstream) = self.upstream(&source.connection) else {
                return source.sha256.is_none();
            };
            let body = if source.listing {
                upstream.fetch_listing(&source.url, &source.accept, source.limit)
            } else {
                upstream.fetch(&source.url, &source.accept, source.limit)
            };
            let same = Source::digest(body.as_deref()) == source.sha256;
            refetched.push((source.clone(), body));
            same
        });
        if !unchanged {
            *self
                .refetched
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = refetched;
        }
        unchanged
    }

    /// A document just fetched again by `sources_unchanged` for the same question, taken
    /// (each is handed out once).
    pub(super) fn take_refetched(&self, asked: &Source) -> Option<Option<Bytes>> {
        let mut refetched = self
            .refetched
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let at = refetched.iter().position(|(source, _)| {
            (
                source.listing,
                &source.connection,
                &source.url,
                &source.accept,
                source.limit,
            ) == (
                asked.listing,
                &asked.connection,
                &asked.url,
                &asked.accept,
                asked.limit,
            )
        })?;
        Some(refetched.swap_remove(at).1)
    }
}

/// A page as a response: 304 when the client already has it (in either representation);
/// gzip-compressed by [`serve`] when the client accepts that and the page is large enough.
pub fn page_response(page: Page, if_none_match: Option<&str>) -> Response<Body> {
    let compressible = page.compressible();
    let not_modified = if_none_match
        .is_some_and(|tag| tag == page.etag || (compressible && tag == page.gzip_etag()));
    let marker = compressible.then(|| Compressible(page.clone()));
    let mut response = Response::new(full(if not_modified {
        Bytes::new()
    } else {
        page.body
    }));
    if let Some(marker) = marker {
        response.extensions_mut().insert(marker);
        // caches must keep the two representations apart
        response
            .headers_mut()
            .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    if not_modified {
        *response.status_mut() = StatusCode::NOT_MODIFIED;
    }
    let headers = response.headers_mut();
    if !not_modified {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(page.content_type),
        );
    }
    if let Ok(value) = HeaderValue::from_str(&page.etag) {
        headers.insert(header::ETAG, value);
    }
    response
}

/// A JSON response that clients must not cache without revalidating.
pub fn json(status: StatusCode, body: &serde_json::Value) -> Response<Body> {
    let mut response = crate::wire::json_response(status, body);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_accepted_as_accept_encoding_says() {
        let accepts = |values: &[&str]| {
            let mut headers = http::HeaderMap::new();
            for v in values {
                headers.append(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
            }
            accepts_gzip(&headers)
        };
        assert!(accepts(&["gzip, deflate"]));
        assert!(accepts(&["deflate", "GZIP;q=0.5"]));
        assert!(accepts(&["br;q=1.0, gzip;q=0.8, *;q=0.1"]));
        assert!(accepts(&["x-gzip"]));
        assert!(accepts(&["*"]));
        assert!(!accepts(&[]));
        assert!(!accepts(&["identity"]));
        assert!(!accepts(&["gzip;q=0, identity"]));
        assert!(!accepts(&["deflate, br"]));
        assert!(!accepts(&["gzip;q=0, *"]));
        assert!(!accepts(&["*;q=0"]));
    }

    #[test]
    fn every_refusal_has_one_status() {
        let m = String::new;
        let table = [
            (RepoError::Unauthorized(m()), 401),
            (RepoError::Forbidden(m()), 403),
            (RepoError::NotFound(m()), 404),
            (RepoError::MethodNotAllowed(m()), 405),
            (RepoError::NotAcceptable(m()), 406),
            (RepoError::UnsupportedMediaType(m()), 415),
            (RepoError::BadRequest(m()), 400),
            (RepoError::Unprocessable(m()), 422),
            (RepoError::Conflict(m()), 409),
            (RepoError::TooLarge(m()), 413),
            (RepoError::QuotaExceeded(m()), 402),
            (RepoError::Internal(m()), 500),
        ];
        for (e, status) in table {
            assert_eq!(e.status().as_u16(), status, "{e:?}");
        }
    }

    #[test]
    fn registry_refusals_map_to_the_same_status_in_every_format() {
        use crate::registry::{Error, ResourceKind};
        let quota = Error::QuotaExceeded {
            kind: ResourceKind::Asset,
            id: "a.jar".to_string(),
            message: "m".into(),
        };
        assert_eq!(RepoError::from(quota).status(), 402);
        assert_eq!(
            RepoError::from(Error::Invalid("bad".into())).status(),
            StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn internal_details_are_not_sent() {
        assert_eq!(
            RepoError::internal("disk on fire at /secret/path").message(),
            "Internal error; see the server log"
        );
    }
}
