//! The whole request pipeline on one screen, and the only place control-plane errors
//! become HTTP.
//!
//! socket → `server` → [`handle`] → health | repository endpoint | control plane.
//! - Repository endpoints: `addressing` recognises the URL, and the request runs in the
//!   format's skeleton (`endpoints::serve::<Format>`), which renders its own refusals.
//! - Control plane: authenticate (SigV4) → read the body (bounded) → verify the signature
//!   → route by the model → bind and validate the input → check access → run the handler
//!   → render.

use crate::addressing::{self, Target};
use crate::api::assets::{self, Download};
use crate::api::{self, ApiError, Cx, Reply};
use crate::auth::sigv4::{self, AuthError};
use crate::auth::Caller;
use crate::endpoints;
use crate::formats::{
    cargo::Cargo, maven::Maven, npm::Npm, nuget::Nuget, pypi::Pypi, ruby::Ruby, swift::Swift,
};
use crate::registry::{stream_into, ResourceKind, StreamError};
use crate::state::App;
use crate::wire::{
    aws_error, boxed_request, byte_stream, decode_query, error_response, file_response, full,
    json_response, read_body_with, Body, BodyError, RequestBody,
};
use bytes::Bytes;
use codeartifact_model::rt::{self, RawInput, RenderedOutput};
use codeartifact_model::{Operation, PackageFormat, PublishPackageVersionRequest};
use http::{header, HeaderMap, HeaderValue, Request, Response, StatusCode};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Instant;

/// Marks a request the server sends itself, in process (the seed applier's): its access
/// line goes to debug, so a seed's existence checks (404s by design) do not fill the log.
#[derive(Debug, Clone, Copy)]
pub struct InProcess;

/// Handles one request. Never fails: every error is rendered as a response.
pub async fn handle<B>(app: Arc<App>, request: Request<B>) -> Response<Body>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<crate::wire::BoxError>,
{
    let started = Instant::now();
    let in_process = request.extensions().get::<InProcess>().is_some();
    let request_id = crate::clock::new_id();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let (mut response, operation) = match oversized_head(&request) {
        Some(refusal) => (refusal.into_response(), "unknown"),
        None => {
            route(
                &app,
                boxed_request(
                    request,
                    app.settings.body_timeout,
                    app.settings.min_body_rate,
                ),
            )
            .await
        }
    };
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amzn-requestid", value);
    }
    let error = response
        .headers()
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok());
    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    let status = response.status().as_u16();
    // The response body's length when it is known (streamed bodies carry Content-Length).
    let bytes = http_body::Body::size_hint(response.body())
        .exact()
        .or_else(|| {
            response
                .headers()
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse().ok())
        });
    // One access line per request, target `access` (`--log-level info,access=warn` drops
    // them): the control-plane operation, or `{format}.{route}` for repository endpoints.
    let served = response.extensions().get::<endpoints::Served>();
    let operation: &dyn std::fmt::Display = match &served {
        Some(served) => served,
        None => &operation,
    };
    if in_process {
        tracing::debug!(target: "access", request_id, %method, path, %operation, status, bytes, micros, error, "in-process request");
    } else {
        access_line(
            &request_id,
            &method,
            &path,
            operation,
            status,
            bytes,
            micros,
            error,
        );
    }
    response
}

/// Logs one request at info (`request`), or `request failed` when it was refused.
#[allow(clippy::too_many_arguments)]
fn access_line(
    request_id: &str,
    method: &http::Method,
    path: &str,
    operation: &dyn std::fmt::Display,
    status: u16,
    bytes: Option<u64>,
    micros: u64,
    error: Option<&str>,
) {
    if error.is_some() || status >= 400 {
        tracing::info!(target: "access", request_id, %method, path, %operation, status, bytes, micros, error, "request failed");
    } else {
        tracing::info!(target: "access", request_id, %method, path, %operation, status, bytes, micros, "request");
    }
}

async fn route(app: &App, request: Request<RequestBody>) -> (Response<Body>, &'static str) {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let target = addressing::parse(host, request.uri().path(), &app.settings.dns_suffix);
    if let Some(target) = target {
        let response = repository_endpoint(app, target, request).await;
        return (response, "repository-endpoint");
    }
    if crate::console::owns(request.uri().path()) {
        return (crate::console::handle(app, request).await, "console");
    }
    if crate::controls::owns(request.uri().path()) {
        return (crate::controls::handle(app, request).await, "test-controls");
    }
    if request.uri().path().starts_with(crate::admin::PREFIX) {
        return (crate::admin::handle(app, request).await, "admin");
    }
    if request.uri().path() == "/health" {
        let body = serde_json::json!({
            "status": "ok",
            "service": "codeartifact-local",
            "version": env!("CARGO_PKG_VERSION"),
        });
        return (json_response(StatusCode::OK, &body), "health");
    }
    match control_plane(app, request).await {
        Ok((op, response)) => (response, op.name()),
        Err((op, e)) => (e.into_response(), op.map_or("unknown", Operation::name)),
    }
}

/// Runs a repository-endpoint request in its format's skeleton. Adding a format is one arm.
async fn repository_endpoint(
    app: &App,
    target: Target,
    request: Request<RequestBody>,
) -> Response<Body> {
    match target.format {
        PackageFormat::Npm => endpoints::serve::<Npm>(app, target, request).await,
        PackageFormat::Pypi => endpoints::serve::<Pypi>(app, target, request).await,
        PackageFormat::Maven => endpoints::serve::<Maven>(app, target, request).await,
        PackageFormat::Cargo => endpoints::serve::<Cargo>(app, target, request).await,
        PackageFormat::Ruby => endpoints::serve::<Ruby>(app, target, request).await,
        PackageFormat::Nuget => endpoints::serve::<Nuget>(app, target, request).await,
        PackageFormat::Swift => endpoints::serve::<Swift>(app, target, request).await,
        PackageFormat::Generic => endpoints::unserved(app, &target, &request),
    }
}

/// Longest request target served; longer ones get 414 in the AWS error shape (hyper's own
/// limit, far above this, answers a bare 414).
const MAX_URI_BYTES: usize = 8 * 1024;
/// Largest total of header names and values served; more gets 431 in the AWS error shape
/// (hyper's own buffer limit, far above this, answers a bare 431).
const MAX_HEADER_BYTES: usize = 32 * 1024;

/// A request whose target or headers are over our limits, refused before anything else.
fn oversized_head<B>(request: &Request<B>) -> Option<Refusal> {
    let uri = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if uri > MAX_URI_BYTES {
        return Some(Refusal::Http(
            StatusCode::URI_TOO_LONG,
            format!("The request URI is longer than {MAX_URI_BYTES} bytes"),
        ));
    }
    let headers: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if headers > MAX_HEADER_BYTES {
        return Some(Refusal::Http(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!("The request headers are larger than {MAX_HEADER_BYTES} bytes"),
        ));
    }
    None
}

/// What stops a control-plane request, before or inside the handler.
enum Refusal {
    Auth(AuthError),
    Api(ApiError),
    TooLarge(usize),
    BadBody(String),
    /// The body stopped arriving.
    Stalled(String),
    /// Refused at the HTTP layer (414, 431), before the request is routed.
    Http(StatusCode, String),
}

impl From<BodyError> for Refusal {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::TooLarge(limit) => Refusal::TooLarge(limit),
            BodyError::Broken(why) => Refusal::BadBody(why),
            BodyError::Stalled(why) => Refusal::Stalled(why),
        }
    }
}

impl Refusal {
    fn into_response(self) -> Response<Body> {
        match self {
            Refusal::Auth(e) => e.response(),
            Refusal::Api(e) => {
                let status =
                    StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                error_response(status, e.error_type(), e.body(), &[])
            }
            Refusal::TooLarge(limit) => aws_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLargeException",
                format!("Request body is larger than the limit of {limit} bytes"),
            ),
            Refusal::BadBody(why) => error_response(
                StatusCode::BAD_REQUEST,
                "ValidationException",
                serde_json::json!({
                    "__type": "ValidationException",
                    "message": format!("Could not read the request body: {why}"),
                    "reason": "CANNOT_PARSE",
                }),
                &[],
            ),
            Refusal::Stalled(why) => aws_error(
                StatusCode::REQUEST_TIMEOUT,
                "RequestTimeoutException",
                format!("The request body stopped arriving: {why}"),
            ),
            Refusal::Http(status, message) if status == StatusCode::URI_TOO_LONG => {
                aws_error(status, "RequestUriTooLongException", message)
            }
            Refusal::Http(status, message) => {
                aws_error(status, "RequestHeaderFieldsTooLargeException", message)
            }
        }
    }
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        Refusal::Api(e)
    }
}

type Failure = (Option<Operation>, Refusal);

async fn control_plane(
    app: &App,
    request: Request<RequestBody>,
) -> Result<(Operation, Response<Body>), Failure> {
    let (parts, body) = request.into_parts();
    let op = Operation::route(parts.method.as_str(), parts.uri.path());
    let fail = |refusal: Refusal| (op, refusal);
    // Who is calling is settled before the body is read, so strangers cannot make us buffer.
    let pending = app.signature(&parts).map_err(|e| fail(Refusal::Auth(e)))?;
    let declared = sigv4::payload_hash_header(&parts);
    if op == Some(Operation::PublishPackageVersion) && declared.is_some_and(is_sha256_hex) {
        let declared = declared.unwrap_or_default().to_string();
        let caller = pending
            .verify(&parts, &declared)
            .map_err(|e| fail(Refusal::Auth(e)))?;
        if let Some(response) = injected_fault(app, Operation::PublishPackageVersion).await {
            return Ok((Operation::PublishPackageVersion, response));
        }
        return publish_streaming(app, &parts, body, &caller)
            .await
            .map_err(fail);
    }
    let limit = app.settings.max_json_body;
    let body = read_body_with(&parts.headers, body, limit)
        .await
        .map_err(|e| fail(e.into()))?;
    // The payload hash is computed, never taken from the request: the service accepts no
    // `UNSIGNED-PAYLOAD` on these JSON operations, so a body swapped after signing fails
    // the signature (or the header check below).
    let body_sha256 = hex::encode(Sha256::digest(&body));
    let claimed = sigv4::payload_hash_header(&parts);
    let caller = pending
        .verify(&parts, &body_sha256)
        .map_err(|e| fail(Refusal::Auth(e)))?;
    if claimed.is_some_and(|c| c != body_sha256) {
        return Err(fail(Refusal::Auth(AuthError::InvalidSignature(
            "The provided 'x-amz-content-sha256' header does not match what was computed."
                .to_string(),
        ))));
    }
    let Some(op) = op else {
        return Err(fail(Refusal::Api(ApiError::Validation {
            reason: "UNKNOWN_OPERATION",
            message: format!("No operation matches {} {}", parts.method, parts.uri.path()),
        })));
    };
    if let Some(response) = injected_fault(app, op).await {
        return Ok((op, response));
    }
    let query = decode_query(parts.uri.query().unwrap_or(""));
    let cx = Cx {
        app,
        caller: &caller,
        region: caller.region(),
    };
    let run = || {
        let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let raw = RawInput {
            query: &query,
            header: &header,
            body: &body,
        };
        api::dispatch(&cx, op, &raw)
    };
    // Writes commit durably (fsync): keep them off the async workers. Reads are a few
    // in-memory lookups and stay put, which avoids a thread hand-off per request.
    let reply = if api::is_read_only(op) {
        run()
    } else {
        tokio::task::block_in_place(run)
    }
    .map_err(|e| (Some(op), Refusal::Api(e)))?;
    let response = match reply {
        Reply::Rendered(rendered) => rendered_response(rendered),
        Reply::Download(download) => download_response(download)
            .await
            .map_err(|e| (Some(op), Refusal::Api(e)))?,
    };
    Ok((op, response))
}

/// The answer of an injected fault for `op` (`crate::faults`), once the caller is verified;
/// `None` lets the request go on (after any injected latency).
async fn injected_fault(app: &App, op: Operation) -> Option<Response<Body>> {
    let fault = app.faults.check(crate::faults::Call::ControlPlane {
        operation: op.name(),
    });
    endpoints::injected_fault(fault, |status, kind, message| {
        aws_error(status, kind, message.to_string())
    })
    .await
}

/// A JSON output with its header-bound members.
fn rendered_response(rendered: RenderedOutput) -> Response<Body> {
    let mut response = Response::new(full(rendered.body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    add_headers(headers, rendered.headers);
    response
}

/// Header members may carry UTF-8 (asset names): sent as raw bytes, as the service does.
fn add_headers(headers: &mut HeaderMap, members: Vec<(&'static str, String)>) {
    for (name, value) in members {
        if let Ok(value) = HeaderValue::from_bytes(value.as_bytes()) {
            headers.insert(name, value);
        }
    }
}

/// Streams an asset from the blob store, never buffering it whole.
async fn download_response(download: Download) -> Result<Response<Body>, ApiError> {
    let mut response = file_response(
        &download.path,
        download.size,
        "application/octet-stream",
        None,
    )
    .await
    .map_err(|_| ApiError::Internal("The asset's content could not be read".to_string()))?;
    add_headers(
        response.headers_mut(),
        rt::render_output(&download.output).headers,
    );
    Ok(response)
}

fn is_sha256_hex(value: &str) -> bool {
    value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// PublishPackageVersion with the body streamed to disk: everything that needs no bytes is
/// checked first, the body is hashed as it is written, and nothing is committed unless the
/// declared SHA-256 matches.
async fn publish_streaming(
    app: &App,
    parts: &http::request::Parts,
    body: RequestBody,
    caller: &Caller,
) -> Result<(Operation, Response<Body>), Refusal> {
    let op = Operation::PublishPackageVersion;
    let query = decode_query(parts.uri.query().unwrap_or(""));
    let cx = Cx {
        app,
        caller,
        region: caller.region(),
    };
    let input = {
        let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let raw = RawInput {
            query: &query,
            header: &header,
            body: &[],
        };
        rt::bind_input::<PublishPackageVersionRequest>(&raw).map_err(ApiError::from)?
    };
    let plan = tokio::task::block_in_place(|| assets::prepare_publish(&cx, input))?;
    let _slot = app
        .uploads
        .try_acquire(caller.principal_arn())
        .map_err(|busy| ApiError::Throttled(busy.to_string()))?;
    let upload = app
        .registry
        .upload()
        .map_err(|e| ApiError::storage("cannot stage the asset", &e))?;
    let limit = app.registry.quotas.asset_size_bytes;
    let staged = match stream_into(upload, byte_stream(body), limit).await {
        Ok(staged) => staged,
        Err(StreamError::TooLarge) => {
            return Err(Refusal::Api(ApiError::QuotaExceeded {
                kind: ResourceKind::Asset,
                id: String::new(),
                message: format!("The asset is larger than the limit of {limit} bytes"),
            }))
        }
        Err(StreamError::Body(BodyError::Stalled(why))) => return Err(Refusal::Stalled(why)),
        Err(StreamError::Body(why)) => {
            return Err(Refusal::Api(ApiError::invalid(format!(
                "The request body ended before the asset was complete: {why}"
            ))))
        }
        Err(StreamError::Io(e)) => {
            return Err(Refusal::Api(ApiError::storage(
                "cannot store the asset",
                &e,
            )))
        }
    };
    let output = tokio::task::block_in_place(|| assets::publish(&cx, plan, staged))?;
    Ok((op, rendered_response(rt::render_output(&output))))
}

#[cfg(test)]
mod fuzz_target {
    use super::*;
    use codeartifact_model as model;

    /// Query decoding, routing and model binding (query, header and body members, every
    /// constraint) on arbitrary request lines and bodies: answers, never panics.
    #[test]
    fn fuzz_query_and_body_binding() {
        crate::fuzz::fuzz("query", "query", |input| {
            let text = String::from_utf8_lossy(input);
            let (line, body) = text.split_once('\n').unwrap_or((&text, ""));
            let (method, target) = line.split_once(' ').unwrap_or(("POST", line));
            let (path, query) = target.split_once('?').unwrap_or((target, ""));
            let _ = Operation::route(method, path);
            let query = decode_query(query);
            let header = |name: &str| (name == "x-assetname").then_some("a.bin");
            let raw = RawInput {
                query: &query,
                header: &header,
                body: body.as_bytes(),
            };
            let _ = rt::bind_input::<model::CreateRepositoryRequest>(&raw);
            let _ = rt::bind_input::<model::ListPackagesRequest>(&raw);
            let _ = rt::bind_input::<model::ListPackageVersionsRequest>(&raw);
            let _ = rt::bind_input::<PublishPackageVersionRequest>(&raw);
            let _ = rt::bind_input::<model::UpdatePackageVersionsStatusRequest>(&raw);
            let _ = rt::bind_input::<model::CopyPackageVersionsRequest>(&raw);
            let _ = rt::bind_input::<model::PutDomainPermissionsPolicyRequest>(&raw);
            let _ = rt::bind_input::<model::CreatePackageGroupRequest>(&raw);
            let _ = rt::bind_input::<model::GetPackageVersionAssetRequest>(&raw);
            let _ = rt::bind_input::<model::TagResourceRequest>(&raw);
        });
    }
}
