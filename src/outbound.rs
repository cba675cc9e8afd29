//! Outbound HTTP to the upstream registries that external connections are configured to
//! reach (a local mirror or fixture server, or a registry the user names; the product has no
//! built-in public URLs). `http://` and `https://` (rustls with the ring provider, no OpenSSL;
//! trusting the system's root certificates and, optionally, a PEM file of more), bounded in
//! time, credentials taken from the configured URL's user-info.

use base64::Engine as _;
use bytes::Bytes;
use http::{header, HeaderValue, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::CertificateDer;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Why an upstream registry gave nothing usable; every case is "unreachable" to callers.
#[derive(Debug)]
pub enum FetchError {
    NotFound,
    Unreachable(String),
}

/// A client for upstream registries.
#[derive(Clone)]
pub struct Outbound {
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    timeout: Duration,
}

impl Outbound {
    /// A client trusting, for `https://`, the system's root certificates and every
    /// certificate of the PEM file `ca_file` if given (a corporate proxy's CA, a mirror's
    /// self-signed certificate).
    pub fn new(
        connect_timeout: Duration,
        timeout: Duration,
        ca_file: Option<&Path>,
    ) -> Result<Outbound, String> {
        let mut roots = system_roots();
        if let Some(ca_file) = ca_file {
            let what = || format!("the CA file {}", ca_file.display());
            let certs = CertificateDer::pem_file_iter(ca_file)
                .map_err(|e| format!("cannot read {}: {e}", what()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("cannot read {}: {e}", what()))?;
            if certs.is_empty() {
                return Err(format!("{} holds no PEM certificate", what()));
            }
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|e| format!("{} holds a certificate rustls refuses: {e}", what()))?;
            }
        }
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(connect_timeout));
        connector.set_nodelay(true);
        // The TLS layer above takes `https://` URIs; plain ones pass through.
        connector.enforce_http(false);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("cannot set up TLS: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let https = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(connector);
        Ok(Outbound {
            client: Client::builder(TokioExecutor::new()).build(https),
            timeout,
        })
    }

    /// GETs `url` and returns the body, at most `limit` bytes. `url` may carry user-info,
    /// sent as HTTP Basic credentials.
    pub async fn get(&self, url: &str, accept: &str, limit: usize) -> Result<Bytes, FetchError> {
        let unreachable = |why: String| FetchError::Unreachable(format!("{url}: {why}"));
        let (url, auth) = split_userinfo(url);
        let uri: Uri = url
            .parse()
            .map_err(|e| unreachable(format!("invalid URL: {e}")))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) {
            return Err(unreachable(
                "only http:// and https:// upstream URLs are supported".to_string(),
            ));
        }
        let mut request = Request::get(uri)
            .header(header::ACCEPT, accept)
            .header(
                header::USER_AGENT,
                concat!("codeartifact-local/", env!("CARGO_PKG_VERSION")),
            )
            .body(Empty::new())
            .map_err(|e| unreachable(e.to_string()))?;
        if let Some(auth) = auth {
            if let Ok(value) = HeaderValue::from_str(&auth) {
                request.headers_mut().insert(header::AUTHORIZATION, value);
            }
        }
        let work = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| unreachable(e.to_string()))?;
            match response.status() {
                StatusCode::OK => {}
                StatusCode::NOT_FOUND | StatusCode::GONE => return Err(FetchError::NotFound),
                other => return Err(unreachable(format!("answered {other}"))),
            }
            Limited::new(response.into_body(), limit)
                .collect()
                .await
                .map(|body| body.to_bytes())
                .map_err(|e| unreachable(e.to_string()))
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| unreachable("timed out".to_string()))?
    }
}

/// The system's root certificates (the files and directories OpenSSL would read, found by
/// `rustls-native-certs` without linking OpenSSL). Unreadable ones are skipped and logged.
fn system_roots() -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    for e in &found.errors {
        tracing::debug!(error = %e, "a system root certificate could not be read");
    }
    let (added, ignored) = roots.add_parsable_certificates(found.certs);
    tracing::debug!(
        added,
        ignored,
        "system root certificates for https:// upstreams"
    );
    roots
}

/// The origin of an http URL, `http://host:port` in lower case with the default port
/// spelled out and any user-info left out; `None` for anything else.
pub fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if host.is_empty() {
        return None;
    }
    let host = host.to_ascii_lowercase();
    let has_port = host
        .rsplit_once(':')
        .is_some_and(|(_, port)| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()));
    Some(match (has_port, scheme.as_str()) {
        (true, _) => format!("{scheme}://{host}"),
        (false, "https") => format!("{scheme}://{host}:443"),
        (false, _) => format!("{scheme}://{host}:80"),
    })
}

/// `url` with the user-info of `configured` when both name the same origin: a registry's
/// credentials also apply to the links it hands out.
pub fn with_credentials_of(configured: &str, url: &str) -> String {
    let (_, auth) = split_userinfo(configured);
    let (bare, _) = split_userinfo(url);
    match (auth, origin(configured), origin(url)) {
        (Some(_), Some(a), Some(b)) if a == b && bare == url => {
            let userinfo = configured
                .split_once("://")
                .and_then(|(_, rest)| rest.split('/').next())
                .and_then(|authority| authority.rsplit_once('@'))
                .map(|(userinfo, _)| userinfo)
                .unwrap_or("");
            url.replacen("://", &format!("://{userinfo}@"), 1)
        }
        _ => url.to_string(),
    }
}

/// A URL without its user-info, and the Basic credentials that were in it.
pub fn split_credentials(url: &str) -> (String, Option<String>) {
    split_userinfo(url)
}

/// Moves `user:password@` out of a URL into a Basic `Authorization` value.
fn split_userinfo(url: &str) -> (String, Option<String>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_string(), None);
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let decoded = percent_encoding::percent_decode_str(userinfo).decode_utf8_lossy();
            let basic = base64::engine::general_purpose::STANDARD.encode(decoded.as_bytes());
            (
                format!("{scheme}://{host}{path}"),
                Some(format!("Basic {basic}")),
            )
        }
        None => (url.to_string(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_ignore_case_user_info_and_default_ports() {
        assert_eq!(
            origin("HTTP://u:p@Mirror.Local/npm/x").as_deref(),
            Some("http://mirror.local:80")
        );
        assert_eq!(
            origin("http://127.0.0.1:9"),
            origin("http://127.0.0.1:9/a?b")
        );
        assert_ne!(
            origin("http://127.0.0.1:9/"),
            origin("http://127.0.0.1:10/")
        );
        assert_eq!(origin("/relative/path"), None);
    }

    #[test]
    fn credentials_go_only_to_the_configured_origin() {
        let configured = "http://aws:tok@127.0.0.1:9/npm";
        assert_eq!(
            with_credentials_of(configured, "http://127.0.0.1:9/x.tgz"),
            "http://aws:tok@127.0.0.1:9/x.tgz"
        );
        assert_eq!(
            with_credentials_of(configured, "http://127.0.0.1:10/x.tgz"),
            "http://127.0.0.1:10/x.tgz"
        );
    }

    #[test]
    fn userinfo_becomes_basic_auth() {
        let (url, auth) = split_userinfo("http://aws:tok%2Ben@127.0.0.1:9/npm/x/");
        assert_eq!(url, "http://127.0.0.1:9/npm/x/");
        assert_eq!(auth.as_deref(), Some("Basic YXdzOnRvaytlbg=="));
        assert_eq!(
            split_userinfo("http://h/p"),
            ("http://h/p".to_string(), None)
        );
    }
}
