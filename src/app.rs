//! The whole request pipeline on one screen, and the only place errors become HTTP.
//!
//! socket → `server` → [`handle`] → health | repository endpoint | control plane:
//! authenticate (SigV4) → read the body (bounded) → verify the signature → route by the
//! model → bind and validate the input → check access → run the handler → render.

use crate::api::assets::{self, Download};
use crate::api::{self, ApiError, Cx, Reply};
use crate::auth::sigv4::{self, AuthError};
use crate::auth::Caller;
use crate::auth::{Identities, TokenKey};
use crate::clock::Clock;
use crate::config::EndpointStyle;
use crate::endpoints;
use crate::registry::{stream_into, Registry, ResourceKind, StreamError};
use bytes::Bytes;
use codeartifact_model::rt::{self, RawInput, RenderedOutput};
use codeartifact_model::{Operation, PublishPackageVersionRequest};
use futures_util::TryStreamExt;
use http::{header, HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::{combinators::BoxBody, BodyExt, Full, Limited, StreamBody};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::io::ReaderStream;

/// Response bodies: whole buffers today, streams for large downloads.
pub type Body = BoxBody<Bytes, std::io::Error>;

/// Settings the pipeline needs, resolved from configuration once at start.
#[derive(Debug, Clone)]
pub struct Settings {
    pub default_region: String,
    /// Base URL clients use to reach us, no trailing slash.
    pub public_base_url: String,
    pub endpoint_style: EndpointStyle,
    pub dns_suffix: String,
    pub max_skew: Duration,
    pub max_json_body: usize,
    /// External connection name → the upstream registry URL configured for it.
    pub external_connections: std::collections::BTreeMap<String, String>,
    /// How long a public registry's listing (packument, project page, maven-metadata.xml)
    /// is reused before it is asked again; zero asks every time.
    pub upstream_metadata_ttl: Duration,
}

/// The server's shared state.
pub struct App {
    pub registry: Registry,
    pub identities: Identities,
    pub tokens: TokenKey,
    pub clock: Arc<Clock>,
    pub settings: Settings,
    /// HTTP client for the upstream registries behind external connections.
    pub outbound: crate::outbound::Outbound,
    /// Rendered listing pages (npm packuments, PyPI project pages), valid until the store changes.
    pub pages: crate::formats::PageCache,
    /// Public registries' listing documents, kept for `upstream_metadata_ttl`.
    pub listings: crate::formats::ListingCache,
}

/// Handles one request. Never fails: every error is rendered as a response.
pub async fn handle<B>(app: Arc<App>, request: Request<B>) -> Response<Body>
where
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let started = Instant::now();
    let request_id = crate::clock::new_id();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let (mut response, operation) = route(&app, request).await;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amzn-requestid", value);
    }
    let error = response
        .headers()
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok());
    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    let status = response.status().as_u16();
    // Failures are logged at info, once; successes only at debug (a line per request costs
    // a measurable share of throughput).
    if error.is_some() || status >= 400 {
        tracing::info!(request_id, %method, path, operation, status, error, micros, "request failed");
    } else {
        tracing::debug!(request_id, %method, path, operation, status, micros, "request");
    }
    response
}

async fn route<B>(app: &App, request: Request<B>) -> (Response<Body>, &'static str)
where
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let target = endpoints::parse(host, request.uri().path(), &app.settings.dns_suffix);
    if let Some(target) = target {
        return (
            endpoints::serve(app, target, request).await,
            "repository-endpoint",
        );
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

/// What stops a control-plane request, before or inside the handler.
enum Refusal {
    Auth(AuthError),
    Api(ApiError),
    TooLarge(usize),
    BadBody(String),
}

impl Refusal {
    fn into_response(self) -> Response<Body> {
        match self {
            Refusal::Auth(e) => error_response(
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::FORBIDDEN),
                e.error_type(),
                serde_json::json!({ "__type": e.error_type(), "message": e.message() }),
                &[],
            ),
            Refusal::Api(e) => {
                let status =
                    StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                error_response(status, e.error_type(), e.body(), &[])
            }
            Refusal::TooLarge(limit) => error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLargeException",
                serde_json::json!({
                    "__type": "RequestEntityTooLargeException",
                    "message": format!("Request body is larger than the limit of {limit} bytes"),
                }),
                &[],
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
        }
    }
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        Refusal::Api(e)
    }
}

type Failure = (Option<Operation>, Refusal);

async fn control_plane<B>(
    app: &App,
    request: Request<B>,
) -> Result<(Operation, Response<Body>), Failure>
where
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (parts, body) = request.into_parts();
    let op = Operation::route(parts.method.as_str(), parts.uri.path());
    let fail = |refusal: Refusal| (op, refusal);
    // Who is calling is settled before the body is read, so strangers cannot make us buffer.
    let pending = sigv4::parse_authorization(
        &parts,
        &app.identities,
        app.clock.now_system(),
        app.settings.max_skew,
    )
    .map_err(|e| fail(Refusal::Auth(e)))?;
    let declared = parts
        .headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok());
    if op == Some(Operation::PublishPackageVersion) && declared.is_some_and(is_sha256_hex) {
        let declared = declared.unwrap_or_default().to_string();
        let caller = pending
            .verify(&parts, &declared)
            .map_err(|e| fail(Refusal::Auth(e)))?;
        return publish_streaming(app, &parts, body, &caller)
            .await
            .map_err(fail);
    }
    let limit = app.settings.max_json_body;
    let body = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            return Err(fail(Refusal::TooLarge(limit)))
        }
        Err(e) => return Err(fail(Refusal::BadBody(e.to_string()))),
    };
    let body_sha256 = hex::encode(Sha256::digest(&body));
    let claimed = parts
        .headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok());
    let caller = pending
        .verify(&parts, claimed.unwrap_or(&body_sha256))
        .map_err(|e| fail(Refusal::Auth(e)))?;
    if claimed.is_some_and(|c| c != body_sha256 && c != "UNSIGNED-PAYLOAD") {
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

/// A file streamed from disk in 256 KiB chunks, with its length and content type. A single
/// `Range: bytes=…` is honoured with 206 (uv reads wheel metadata that way); an
/// unsatisfiable one gets 416; anything else is served whole.
pub async fn file_response(
    path: &std::path::Path,
    size: u64,
    content_type: &'static str,
    range: Option<&str>,
) -> std::io::Result<Response<Body>> {
    use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};
    let mut file = tokio::fs::File::open(path).await.map_err(|e| {
        tracing::error!(path = %path.display(), error = %e, "asset bytes missing");
        e
    })?;
    let wanted = match range.map(|r| byte_range(r, size)) {
        Some(Err(())) => {
            let mut response = Response::new(full(Bytes::new()));
            *response.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, value);
            }
            return Ok(response);
        }
        Some(Ok(wanted)) => wanted,
        None => None,
    };
    let (status, start, length) = match wanted {
        Some((start, end)) => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        None => (StatusCode::OK, 0, size),
    };
    if start > 0 {
        file.seek(std::io::SeekFrom::Start(start)).await?;
    }
    // Small files need no 256 KiB buffer.
    let chunk = usize::try_from(length.clamp(4096, 256 * 1024)).unwrap_or(256 * 1024);
    let stream = ReaderStream::with_capacity(file.take(length), chunk).map_ok(Frame::data);
    let mut response = Response::new(StreamBody::new(stream).boxed());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if status == StatusCode::PARTIAL_CONTENT {
        let value = format!("bytes {start}-{}/{size}", start + length - 1);
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(header::CONTENT_RANGE, value);
        }
    }
    Ok(response)
}

/// One `bytes=` range as inclusive offsets: `Ok(None)` to serve the whole file (no
/// recognisable single range), `Err` when the range cannot be satisfied.
fn byte_range(header: &str, size: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((first, last)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (first, last) = (first.trim(), last.trim());
    let range = match (first.parse::<u64>(), last.parse::<u64>()) {
        (Ok(start), Ok(end)) if start <= end => (start, end.min(size.saturating_sub(1))),
        (Ok(start), Err(_)) if last.is_empty() => (start, size.saturating_sub(1)),
        (Err(_), Ok(suffix)) if first.is_empty() && suffix > 0 => {
            (size.saturating_sub(suffix), size.saturating_sub(1))
        }
        _ => return Ok(None),
    };
    if size == 0 || range.0 >= size {
        return Err(());
    }
    Ok(Some(range))
}

fn is_sha256_hex(value: &str) -> bool {
    value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// PublishPackageVersion with the body streamed to disk: everything that needs no bytes is
/// checked first, the body is hashed as it is written, and nothing is committed unless the
/// declared SHA-256 matches.
async fn publish_streaming<B>(
    app: &App,
    parts: &http::request::Parts,
    body: B,
    caller: &Caller,
) -> Result<(Operation, Response<Body>), Refusal>
where
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
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
    let upload = app
        .registry
        .upload()
        .map_err(|e| ApiError::Internal(format!("cannot stage the asset: {e}")))?;
    let limit = app.registry.quotas.asset_size_bytes;
    let body = http_body_util::BodyDataStream::new(body).map_err(|e| {
        let e: Box<dyn std::error::Error + Send + Sync> = e.into();
        e.to_string()
    });
    let staged = match stream_into(upload, body, limit).await {
        Ok(staged) => staged,
        Err(StreamError::TooLarge) => {
            return Err(Refusal::Api(ApiError::QuotaExceeded {
                kind: ResourceKind::Asset,
                id: String::new(),
                message: format!("The asset is larger than the limit of {limit} bytes"),
            }))
        }
        Err(StreamError::Body(why)) => {
            return Err(Refusal::Api(ApiError::invalid(format!(
                "The request body ended before the asset was complete: {why}"
            ))))
        }
        Err(StreamError::Io(e)) => {
            return Err(Refusal::Api(ApiError::Internal(format!(
                "cannot store the asset: {e}"
            ))))
        }
    };
    let output = tokio::task::block_in_place(|| assets::publish(&cx, plan, staged))?;
    Ok((op, rendered_response(rt::render_output(&output))))
}

/// Splits and percent-decodes a query string. `+` stays a plus sign: SDKs encode spaces as
/// `%20`, and revisions and tokens are base64 with literal `+`.
pub fn decode_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(k), decode(v))
        })
        .collect()
}

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

pub fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<Body> {
    let mut response = Response::new(full(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// An AWS-shaped error: status, `x-amzn-errortype`, JSON body with `__type` and `message`.
pub fn error_response(
    status: StatusCode,
    error_type: &'static str,
    body: serde_json::Value,
    extra: &[(header::HeaderName, HeaderValue)],
) -> Response<Body> {
    let mut response = json_response(status, &body);
    let headers: &mut HeaderMap = response.headers_mut();
    headers.insert("x-amzn-errortype", HeaderValue::from_static(error_type));
    for (name, value) in extra {
        headers.append(name.clone(), value.clone());
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_ranges_as_http_defines_them() {
        assert_eq!(byte_range("bytes=0-99", 1000), Ok(Some((0, 99))));
        assert_eq!(byte_range("bytes=900-", 1000), Ok(Some((900, 999))));
        assert_eq!(byte_range("bytes=-100", 1000), Ok(Some((900, 999))));
        assert_eq!(byte_range("bytes=990-2000", 1000), Ok(Some((990, 999))));
        assert_eq!(byte_range("bytes=1000-", 1000), Err(()));
        assert_eq!(byte_range("bytes=0-1,5-6", 1000), Ok(None));
        assert_eq!(byte_range("items=0-1", 1000), Ok(None));
        assert_eq!(byte_range("bytes=5-1", 1000), Ok(None));
    }

    #[test]
    fn query_plus_is_a_plus() {
        assert_eq!(
            decode_query("a=1%2B2&b=x+y&c"),
            vec![
                ("a".into(), "1+2".into()),
                ("b".into(), "x+y".into()),
                ("c".into(), String::new())
            ]
        );
    }
}
