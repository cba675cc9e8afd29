//! Outbound HTTP to the upstream registries that external connections are configured to
//! reach (a local mirror or fixture server; the product has no built-in public URLs). Plain
//! HTTP, bounded in time, credentials taken from the configured URL's user-info.

use base64::Engine as _;
use bytes::Bytes;
use http::{header, HeaderValue, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
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
    client: Client<HttpConnector, Empty<Bytes>>,
    timeout: Duration,
}

impl Outbound {
    pub fn new(connect_timeout: Duration, timeout: Duration) -> Outbound {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(connect_timeout));
        connector.set_nodelay(true);
        Outbound {
            client: Client::builder(TokioExecutor::new()).build(connector),
            timeout,
        }
    }

    /// GETs `url` and returns the body, at most `limit` bytes. `url` may carry user-info,
    /// sent as HTTP Basic credentials.
    pub async fn get(&self, url: &str, accept: &str, limit: usize) -> Result<Bytes, FetchError> {
        let unreachable = |why: String| FetchError::Unreachable(format!("{url}: {why}"));
        let (url, auth) = split_userinfo(url);
        let uri: Uri = url
            .parse()
            .map_err(|e| unreachable(format!("invalid URL: {e}")))?;
        if uri.scheme_str() != Some("http") {
            return Err(unreachable(
                "only http:// upstream URLs are supported".to_string(),
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

/// `url` with the user-info of `configured` when both name the same host: a registry's
/// credentials also apply to the tarball links it hands out.
pub fn with_credentials_of(configured: &str, url: &str) -> String {
    let (bare, auth) = split_userinfo(configured);
    let origin = |u: &str| {
        u.split_once("://")
            .map(|(scheme, rest)| format!("{scheme}://{}", rest.split('/').next().unwrap_or("")))
    };
    match (auth, origin(&bare), origin(url)) {
        (Some(_), Some(a), Some(b)) if a == b => {
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
