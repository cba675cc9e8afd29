//! The web console, under `/_codeartifact/console/`: domains, repositories (with their
//! upstream graph), packages, versions, assets, package groups and the live event stream,
//! rendered on the server as plain HTML (links and forms; a little JavaScript only for the
//! live events), with its stylesheet and script embedded in the binary.
//!
//! It is read-only: every route is a GET or HEAD but the sign-in form's POST, which changes
//! nothing in the store. It reads through `registry`, as the control plane does, and shows
//! each part of a page only when `permissions` would let the viewer make the API call that
//! reads it (DescribeRepository, ListPackages, DescribePackageVersion, …). Files are served
//! only from the blob store, by the SHA-256 a version records: no route names a path.
//!
//! Access (`state::ConsoleAccess`): open to whoever connects while the server listens on
//! loopback only; otherwise a configured identity signs in (`session`) and sees what its
//! policies and the resource policies allow. `--no-console` makes every route a 404.

mod graph;
mod pages;
mod session;

use crate::access::table;
use crate::auth::Identity;
use crate::permissions::{self, Asker, Subject};
use crate::registry::{self, DomainId, PackageId, RepositoryRecord};
use crate::state::{App, ConsoleAccess};
use crate::wire::{decode_query, file_response, full, read_body_with, Body, RequestBody};
use codeartifact_model::{Operation, PackageFormat};
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use maud::Markup;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// The prefix of every console route.
pub const PREFIX: &str = "/_codeartifact/console/";

/// Rows per page of every listing.
const PAGE: usize = 50;

/// Largest sign-in form accepted.
const MAX_FORM: usize = 8 * 1024;

const STYLE: &str = include_str!("style.css");
const SCRIPT: &str = include_str!("console.js");

/// Whether a path is the console's (the bare prefix without its slash included).
pub fn owns(path: &str) -> bool {
    path.starts_with(PREFIX) || path == PREFIX.trim_end_matches('/')
}

/// Who is looking.
#[derive(Clone, Copy)]
pub enum Viewer<'a> {
    /// Loopback: the operator of this server sees everything.
    Operator,
    /// A configured identity, signed in.
    Signed(&'a Identity),
}

impl Viewer<'_> {
    /// Whether the API would allow this viewer `op` on `subject`.
    fn may(&self, app: &App, op: Operation, subject: &Subject<'_>) -> bool {
        let Viewer::Signed(identity) = self else {
            return true;
        };
        let asker = Asker::configured(
            &app.identities,
            &identity.account_id,
            &identity.principal_arn,
            subject.domain.region,
            app.clock.now_ms(),
        );
        permissions::authorize(&app.registry, &asker, table::operation(op), subject).is_ok()
    }

    fn label(&self) -> String {
        match self {
            Viewer::Operator => "local operator (loopback)".to_string(),
            Viewer::Signed(identity) => identity.principal_arn.clone(),
        }
    }
}

/// Characters left as they are in a path segment or query value.
const KEEP: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

/// A value percent-encoded for a URL path segment or query.
pub(crate) fn enc(value: &str) -> String {
    utf8_percent_encode(value, KEEP).to_string()
}

/// What went wrong, as a page.
enum Failure {
    NotFound(String),
    Denied(String),
    Gone(String),
    Internal(String),
}

impl From<registry::Error> for Failure {
    fn from(e: registry::Error) -> Self {
        match e {
            registry::Error::NotFound { message, .. } => Failure::NotFound(message),
            other => Failure::Internal(format!("{other:?}")),
        }
    }
}

type Page = Result<Response<Body>, Failure>;

/// Serves a console route.
pub async fn handle(app: &App, request: Request<RequestBody>) -> Response<Body> {
    if app.settings.console == ConsoleAccess::Off {
        return page_response(
            StatusCode::NOT_FOUND,
            &pages::message(
                None,
                "Not found",
                "The console is turned off (--no-console).",
            ),
        );
    }
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_string();
    let rest = path.strip_prefix(PREFIX).unwrap_or("");
    let query = decode_query(parts.uri.query().unwrap_or(""));
    let now = app.clock.now_ms() / 1000;
    // Assets need no sign-in: they are the same for everyone.
    match (&parts.method, rest) {
        (&Method::GET | &Method::HEAD, "assets/style.css") => {
            return asset(STYLE, "text/css; charset=utf-8")
        }
        (&Method::GET | &Method::HEAD, "assets/console.js") => {
            return asset(SCRIPT, "text/javascript; charset=utf-8")
        }
        _ => {}
    }
    if rest == "login" {
        return match parts.method {
            Method::POST => {
                let form = match read_body_with(&parts.headers, body, MAX_FORM).await {
                    Ok(form) => form,
                    Err(_) => return login_page(StatusCode::BAD_REQUEST, "", true),
                };
                sign_in(app, &form, now)
            }
            Method::GET | Method::HEAD => {
                let next = value(&query, "next").unwrap_or_default();
                login_page(StatusCode::OK, &next, false)
            }
            _ => method_not_allowed(),
        };
    }
    if rest == "logout" {
        return match parts.method {
            Method::POST => sign_out(),
            _ => method_not_allowed(),
        };
    }
    if !matches!(parts.method, Method::GET | Method::HEAD) {
        return method_not_allowed();
    }
    let viewer = match app.settings.console {
        ConsoleAccess::Loopback => {
            // Open without credentials, so only under a loopback name: a page elsewhere whose
            // host name is rebound to 127.0.0.1 must not read the console from the browser.
            let host = parts
                .headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !loopback_host(host, &app.settings.public_base_url) {
                return page_response(
                    StatusCode::FORBIDDEN,
                    &pages::message(
                        None,
                        "Not allowed",
                        "Open the console at the server's loopback address (127.0.0.1 or localhost).",
                    ),
                );
            }
            Viewer::Operator
        }
        _ => {
            let signed = parts
                .headers
                .get(header::COOKIE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| session::cookie(v, session::COOKIE))
                .and_then(|v| session::verify(&app.identities, v, now));
            match signed {
                Some(identity) => Viewer::Signed(identity),
                None => {
                    let next = match parts.uri.query() {
                        Some(q) => format!("{path}?{q}"),
                        None => path.clone(),
                    };
                    return login_page(StatusCode::UNAUTHORIZED, &next, false);
                }
            }
        }
    };
    let result = route(app, viewer, rest, &query).await;
    let mut response = match result {
        Ok(response) => response,
        Err(failure) => failure_page(viewer, failure),
    };
    if parts.method == Method::HEAD {
        *response.body_mut() = full(Vec::new());
    }
    response
}

async fn route(app: &App, viewer: Viewer<'_>, rest: &str, query: &[(String, String)]) -> Page {
    let segments: Vec<String> = rest
        .split('/')
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    match segs.as_slice() {
        [""] => pages::domains(app, viewer, query),
        ["events"] => pages::events(app, viewer),
        ["events", "stream"] => events_stream(app, viewer),
        ["d", region, owner, name] => {
            let d = domain_id(region, owner, name);
            pages::domain(app, viewer, d, query)
        }
        ["d", region, owner, name, "search"] => {
            let d = domain_id(region, owner, name);
            pages::search(app, viewer, d, &value(query, "q").unwrap_or_default())
        }
        ["d", region, owner, name, "r", repo] => {
            let d = domain_id(region, owner, name);
            pages::repository(app, viewer, d, repo, query)
        }
        ["d", region, owner, name, "r", repo, what @ ("package" | "version" | "asset")] => {
            let at = At {
                d: domain_id(region, owner, name),
                repo,
                package: package_from(query)?,
            };
            match *what {
                "package" => pages::package(app, viewer, &at, query),
                "version" => pages::version(app, viewer, &at, &required(query, "version")?),
                _ => {
                    let version = required(query, "version")?;
                    download(app, viewer, &at, &version, &required(query, "asset")?).await
                }
            }
        }
        _ => Err(Failure::NotFound(format!(
            "No console page at {PREFIX}{rest}"
        ))),
    }
}

/// A package in a repository of a domain, as a link names it.
pub(crate) struct At<'a> {
    pub d: DomainId<'a>,
    pub repo: &'a str,
    pub package: PackageId,
}

fn domain_id<'a>(region: &'a str, owner: &'a str, name: &'a str) -> DomainId<'a> {
    DomainId {
        region,
        owner,
        name,
    }
}

fn value(query: &[(String, String)], name: &str) -> Option<String> {
    query
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
}

fn required(query: &[(String, String)], name: &str) -> Result<String, Failure> {
    value(query, name)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Failure::NotFound(format!("The link names no {name}")))
}

/// The package a query names (`format`, `namespace`, `name`), normalised as the API does.
fn package_from(query: &[(String, String)]) -> Result<PackageId, Failure> {
    let format = required(query, "format")?;
    let Some(format) = PackageFormat::ALL.iter().find(|f| f.as_str() == format) else {
        return Err(Failure::NotFound(format!("No package format '{format}'")));
    };
    let format = format.as_str();
    let name = required(query, "name")?;
    let namespace = value(query, "namespace")
        .filter(|ns| !ns.is_empty())
        .map(|ns| registry::names::normalize_namespace(format, &ns));
    Ok(PackageId {
        format: format.to_string(),
        namespace,
        name: registry::names::normalize_name(format, &name),
    })
}

/// The query naming a package (for links).
pub(crate) fn package_query(p: &PackageId) -> String {
    let mut q = format!("format={}&name={}", enc(&p.format), enc(&p.name));
    if let Some(ns) = &p.namespace {
        q.push_str(&format!("&namespace={}", enc(ns)));
    }
    q
}

/// A domain's page.
pub(crate) fn domain_href(d: DomainId<'_>) -> String {
    format!(
        "{PREFIX}d/{}/{}/{}",
        enc(d.region),
        enc(d.owner),
        enc(d.name)
    )
}

/// A repository's page.
pub(crate) fn repository_href(r: &RepositoryRecord) -> String {
    format!("{}/r/{}", domain_href(r.domain_id()), enc(&r.name))
}

/// Looks up a repository the viewer may describe.
fn visible_repository(
    app: &App,
    viewer: Viewer<'_>,
    d: DomainId<'_>,
    name: &str,
) -> Result<RepositoryRecord, Failure> {
    let record = app.registry.repository(d, name)?;
    if !viewer.may(
        app,
        Operation::DescribeRepository,
        &Subject::repository(d, name),
    ) {
        return Err(Failure::Denied(format!(
            "You may not describe repository '{name}'"
        )));
    }
    Ok(record)
}

/// Streams an asset's bytes from the blob store, as GetPackageVersionAsset would.
async fn download(app: &App, viewer: Viewer<'_>, at: &At<'_>, version: &str, asset: &str) -> Page {
    let (d, repo, p) = (at.d, at.repo, &at.package);
    let record = app.registry.repository(d, repo)?;
    let v = app.registry.version(&record, p, version)?;
    if !viewer.may(
        app,
        Operation::GetPackageVersionAsset,
        &Subject::package(d, repo, p),
    ) {
        return Err(Failure::Denied(format!(
            "You may not download assets of '{}'",
            p.display()
        )));
    }
    if matches!(
        v.status,
        registry::VersionStatus::Archived | registry::VersionStatus::Disposed
    ) {
        return Err(Failure::Gone(format!(
            "Assets of version '{version}' cannot be downloaded because its status is {}",
            v.status.as_str()
        )));
    }
    let Some(found) = v.assets.iter().find(|a| a.name == asset) else {
        return Err(Failure::NotFound(format!(
            "Asset '{asset}' not found in version '{version}' of '{}'",
            p.display()
        )));
    };
    let path = app.registry.blob_path(d, &found.sha256);
    let mut response = file_response(&path, found.size, "application/octet-stream", None)
        .await
        .map_err(|_| Failure::Internal("The asset's content could not be read".to_string()))?;
    let disposition = format!("attachment; filename*=UTF-8''{}", enc(&found.name));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    if let Ok(value) = HeaderValue::from_str(&format!("\"{}\"", found.sha256)) {
        response.headers_mut().insert(header::ETAG, value);
    }
    Ok(response)
}

/// The live event stream (Server-Sent Events), each event as the test controls' stream
/// sends it; a signed-in identity receives only events its account receives.
fn events_stream(app: &App, viewer: Viewer<'_>) -> Page {
    use http_body_util::BodyExt as _;
    let Some(stream) = app.stream.clone() else {
        return Err(Failure::NotFound(
            "The event stream is off (--no-test-controls)".to_string(),
        ));
    };
    let account = match viewer {
        Viewer::Operator => None,
        Viewer::Signed(identity) => Some(identity.account_id.clone()),
    };
    let start = stream.end();
    let state = (stream, start, account, true);
    let chunks = futures_util::stream::unfold(state, |(stream, at, account, first)| async move {
        if first {
            let hello = bytes::Bytes::from_static(b"retry: 2000\n\n");
            return Some((
                Ok(http_body::Frame::data(hello)),
                (stream, at, account, false),
            ));
        }
        let mut at = at;
        loop {
            if stream.is_closed() {
                return None;
            }
            let filter = crate::events::stream::Filter::default();
            let batch = stream.read(at, &filter, 64, 4096).ok()?;
            at = batch.next;
            let mut chunk = Vec::new();
            for item in batch
                .items
                .iter()
                .filter(|i| receives(&i.json, account.as_deref()))
            {
                chunk.extend_from_slice(b"data: ");
                chunk.extend_from_slice(&item.json);
                chunk.extend_from_slice(b"\n\n");
            }
            if !chunk.is_empty() {
                let frame = http_body::Frame::data(bytes::Bytes::from(chunk));
                return Some((Ok::<_, std::io::Error>(frame), (stream, at, account, false)));
            }
            if at < stream.end() {
                continue;
            }
            let wait = stream.wait_beyond(at);
            match tokio::time::timeout(std::time::Duration::from_secs(10), wait).await {
                Ok(true) => {}
                Ok(false) => return None,
                Err(_) => {
                    let ping = http_body::Frame::data(bytes::Bytes::from_static(b": ping\n\n"));
                    return Some((Ok(ping), (stream, at, account, false)));
                }
            }
        }
    });
    let mut response = Response::new(http_body_util::StreamBody::new(chunks).boxed());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Whether an event (`{"accounts": […], …}`) reaches `account` (everyone's for `None`).
fn receives(json: &[u8], account: Option<&str>) -> bool {
    let Some(account) = account else {
        return true;
    };
    #[derive(serde::Deserialize)]
    struct Recipients {
        accounts: Vec<String>,
    }
    serde_json::from_slice::<Recipients>(json)
        .is_ok_and(|r| r.accounts.iter().any(|a| a == account))
}

fn asset(text: &'static str, content_type: &'static str) -> Response<Body> {
    let mut response = Response::new(full(text));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

/// An HTML page, with headers that keep the browser from running anything but our script.
fn page_response(status: StatusCode, markup: &Markup) -> Response<Body> {
    let mut response = Response::new(full(markup.0.clone()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; \
             img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn ok(markup: &Markup) -> Page {
    Ok(page_response(StatusCode::OK, markup))
}

fn failure_page(viewer: Viewer<'_>, failure: Failure) -> Response<Body> {
    let (status, title, message) = match failure {
        Failure::NotFound(m) => (StatusCode::NOT_FOUND, "Not found", m),
        Failure::Denied(m) => (StatusCode::FORBIDDEN, "Not allowed", m),
        Failure::Gone(m) => (StatusCode::CONFLICT, "Not available", m),
        Failure::Internal(m) => (StatusCode::INTERNAL_SERVER_ERROR, "Internal error", m),
    };
    page_response(status, &pages::message(Some(viewer), title, &message))
}

fn method_not_allowed() -> Response<Body> {
    let mut response = page_response(
        StatusCode::METHOD_NOT_ALLOWED,
        &pages::message(None, "Not allowed", "The console only reads."),
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    response
}

fn login_page(status: StatusCode, next: &str, failed: bool) -> Response<Body> {
    page_response(status, &pages::login(safe_next(next), failed))
}

/// Whether a `Host` header names this machine's loopback (or the configured public URL's
/// host): the only names the console answers to without credentials.
fn loopback_host(host: &str, public_base_url: &str) -> bool {
    fn name(authority: &str) -> &str {
        if let Some(rest) = authority.strip_prefix('[') {
            return rest.split(']').next().unwrap_or("");
        }
        match authority.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => authority,
        }
    }
    let host = name(host).to_ascii_lowercase();
    let public = public_base_url
        .split_once("://")
        .map_or(public_base_url, |(_, rest)| rest);
    let public = name(public.split('/').next().unwrap_or("")).to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
        || (!host.is_empty() && host == public)
}

/// Where to go after signing in: a console path only (never another site).
fn safe_next(next: &str) -> &str {
    if next.starts_with(PREFIX) && !next.contains("//") && !next.contains('\\') {
        next
    } else {
        PREFIX
    }
}

fn sign_in(app: &App, form: &[u8], now: i64) -> Response<Body> {
    let fields = decode_query(&String::from_utf8_lossy(form));
    let key_id = value(&fields, "access_key_id").unwrap_or_default();
    let secret = value(&fields, "secret_access_key").unwrap_or_default();
    let next = value(&fields, "next").unwrap_or_default();
    let Some(identity) = session::check(&app.identities, &key_id, &secret) else {
        return login_page(StatusCode::UNAUTHORIZED, &next, true);
    };
    let Some(cookie) = session::sign(identity, now) else {
        return page_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &pages::message(None, "Internal error", "No session key: no OS randomness"),
        );
    };
    let mut response = Response::new(full(Vec::new()));
    *response.status_mut() = StatusCode::SEE_OTHER;
    let set = format!(
        "{}={cookie}; Path={PREFIX}; Max-Age={}; HttpOnly; SameSite=Strict",
        session::COOKIE,
        session::LIFETIME_SECONDS
    );
    for (name, value) in [
        (header::LOCATION, safe_next(&next).to_string()),
        (header::SET_COOKIE, set),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

fn sign_out() -> Response<Body> {
    let mut response = Response::new(full(Vec::new()));
    *response.status_mut() = StatusCode::SEE_OTHER;
    let headers = response.headers_mut();
    headers.insert(header::LOCATION, HeaderValue::from_static(PREFIX));
    let clear = format!(
        "{}=; Path={PREFIX}; Max-Age=0; HttpOnly; SameSite=Strict",
        session::COOKIE
    );
    if let Ok(value) = HeaderValue::from_str(&clear) {
        headers.insert(header::SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use crate::console::{enc, loopback_host, owns, receives, safe_next, PREFIX};

    #[test]
    fn links_encode_every_character_that_could_end_a_segment_or_value() {
        assert_eq!(enc("a-b_c.d"), "a-b_c.d");
        assert_eq!(enc("a/b?c&d=e#f"), "a%2Fb%3Fc%26d%3De%23f");
        assert_eq!(enc("\"><script>"), "%22%3E%3Cscript%3E");
        assert_eq!(enc("é"), "%C3%A9");
    }

    #[test]
    fn sign_in_only_returns_to_a_console_page() {
        assert_eq!(
            safe_next("/_codeartifact/console/d/x"),
            "/_codeartifact/console/d/x"
        );
        for elsewhere in [
            "https://evil.example/",
            "//evil.example/",
            "/health",
            "",
            "/_codeartifact/console//evil",
            "/_codeartifact/console/\\evil",
        ] {
            assert_eq!(safe_next(elsewhere), PREFIX, "{elsewhere}");
        }
    }

    #[test]
    fn without_credentials_only_loopback_names_are_answered() {
        let base = "http://127.0.0.1:4580";
        for host in [
            "127.0.0.1:4580",
            "localhost:4580",
            "LOCALHOST",
            "[::1]:4580",
            "127.0.0.2",
            "app.localhost:1",
        ] {
            assert!(loopback_host(host, base), "{host}");
        }
        for host in [
            "evil.example",
            "evil.example:4580",
            "127.0.0.1.evil.example",
            "",
            "10.0.0.1:4580",
        ] {
            assert!(!loopback_host(host, base), "{host}");
        }
        assert!(loopback_host("ca.test:8080", "http://ca.test:8080/"));
    }

    #[test]
    fn the_console_owns_its_prefix_only() {
        assert!(owns("/_codeartifact/console/"));
        assert!(owns("/_codeartifact/console"));
        assert!(owns("/_codeartifact/console/d/a/b/c"));
        assert!(!owns("/_codeartifact/consoles"));
        assert!(!owns("/_codeartifact/events"));
    }

    #[test]
    fn an_identity_receives_only_its_accounts_events() {
        let event = br#"{"cursor":"1","accounts":["111111111111","222222222222"],"event":{}}"#;
        assert!(receives(event, None));
        assert!(receives(event, Some("222222222222")));
        assert!(!receives(event, Some("333333333333")));
        assert!(!receives(b"not json", Some("111111111111")));
    }
}
