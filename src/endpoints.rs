//! Repository endpoints: where package managers talk to a repository. This file finds the
//! repository a request addresses and authenticates its token; the package formats' own
//! protocols plug in behind it.
//!
//! Two addressings share one listener (repository-endpoints spec §1.3):
//! - path form: `/{format}/d/{domain}-{owner}/{repository}/{rest…}` (any Host);
//! - host form: Host `{domain}-{owner}.d.codeartifact.{region}.{suffix}`, path
//!   `/{format}/{repository}/{rest…}`.

use crate::app::{error_response, App, Body};
use crate::auth::token::token_from_authorization;
use crate::formats::{self, RepoCx};
use crate::registry::DomainId;
use bytes::Bytes;
use codeartifact_model::PackageFormat;
use http::{header, HeaderValue, Request, Response, StatusCode};

/// The repository and resource a repository-endpoint request addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub format: PackageFormat,
    pub domain: String,
    pub owner: String,
    /// From the host form's Host header; the path form leaves the region to the token.
    pub region: Option<String>,
    pub repository: String,
    /// The rest of the path after `{repository}/`, still percent-encoded.
    pub rest: String,
    /// The path up to and including `{repository}/`, for links back to this repository in
    /// the same addressing form the client used.
    pub prefix: String,
}

/// Recognises a repository-endpoint request; `None` leaves it to the control plane.
pub fn parse(host: &str, path: &str, dns_suffix: &str) -> Option<Target> {
    let mut segments = path.strip_prefix('/')?.splitn(2, '/');
    let format = segments.next()?;
    let format = PackageFormat::ALL
        .iter()
        .copied()
        .find(|f| f.as_str() == format)?;
    let after_format = segments.next().unwrap_or("");
    if let Some((domain, owner, region)) = parse_host(host, dns_suffix) {
        let (repository, rest) = split_first(after_format)?;
        let prefix = format!("/{format}/{repository}/");
        return Some(Target {
            format,
            domain,
            owner,
            region: Some(region),
            repository,
            rest,
            prefix,
        });
    }
    let after_d = after_format.strip_prefix("d/")?;
    let (domain_owner, after_domain) = split_first(after_d)?;
    let (domain, owner) = split_domain_owner(&domain_owner)?;
    let (repository, rest) = split_first(&after_domain)?;
    let prefix = format!("/{format}/d/{domain_owner}/{repository}/");
    Some(Target {
        format,
        domain,
        owner,
        region: None,
        repository,
        rest,
        prefix,
    })
}

fn split_first(s: &str) -> Option<(String, String)> {
    let (first, rest) = s.split_once('/').unwrap_or((s, ""));
    (!first.is_empty()).then(|| (first.to_string(), rest.to_string()))
}

/// `{domain}-{owner}`: the owner is the last `-`-separated part and has 12 digits.
fn split_domain_owner(s: &str) -> Option<(String, String)> {
    let (domain, owner) = s.rsplit_once('-')?;
    let valid_owner = owner.len() == 12 && owner.bytes().all(|b| b.is_ascii_digit());
    (valid_owner && !domain.is_empty()).then(|| (domain.to_string(), owner.to_string()))
}

/// `{domain}-{owner}.d.codeartifact.{region}.{suffix}[:port]`, case-insensitive.
fn parse_host(host: &str, dns_suffix: &str) -> Option<(String, String, String)> {
    let host = host.rsplit_once(':').map_or(host, |(h, port)| {
        if port.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    let host = host.to_ascii_lowercase();
    let (label, rest) = host.split_once(".d.codeartifact.")?;
    let (region, suffix) = rest.split_once('.')?;
    if !suffix.eq_ignore_ascii_case(dns_suffix) && !suffix.ends_with("amazonaws.com") {
        return None;
    }
    let (domain, owner) = split_domain_owner(label)?;
    Some((domain, owner, region.to_string()))
}

/// A 401 with both challenges: Maven and NuGet retry with credentials only after a Basic
/// challenge, npm understands Bearer.
fn unauthorized(why: &str) -> Response<Body> {
    let challenges = [
        (
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"codeartifact\""),
        ),
        (
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"codeartifact\""),
        ),
    ];
    error_response(
        StatusCode::UNAUTHORIZED,
        "UnauthorizedException",
        // `errors[].detail` is what cargo prints; the other clients read `message`.
        serde_json::json!({ "error": "Unauthorized", "message": why, "errors": [{ "detail": why }] }),
        &challenges,
    )
}

fn not_found(message: String) -> Response<Body> {
    error_response(
        StatusCode::NOT_FOUND,
        "ResourceNotFoundException",
        serde_json::json!({ "error": "Not Found", "message": message }),
        &[],
    )
}

/// Authenticates the token, checks the repository, and hands the request to its format.
pub async fn serve<B>(app: &App, target: Target, request: Request<B>) -> Response<Body>
where
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let Some(authorization) = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return unauthorized("An authorization token is required");
    };
    let claims = match token_from_authorization(authorization).and_then(|token| {
        app.tokens
            .verify(&token, app.clock.now_ms().div_euclid(1000))
    }) {
        Ok(claims) => claims,
        Err(e) => return unauthorized(&format!("The authorization token is not valid: {e}")),
    };
    if !claims.authorizes(&target.owner, &target.domain) {
        return unauthorized("The authorization token was issued for another domain");
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
    let repo = match app.registry.repository(d, &target.repository) {
        Ok(repo) => repo,
        Err(crate::registry::Error::NotFound { message, .. }) => return not_found(message),
        Err(e) => {
            tracing::error!(error = ?e, "repository lookup failed");
            return not_found("The repository could not be read".to_string());
        }
    };
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let base_url = format!("http://{host}{}", target.prefix);
    let cx = RepoCx {
        app,
        repo,
        claims,
        base_url,
    };
    match target.format {
        PackageFormat::Npm => formats::npm::serve(&cx, &target.rest, request).await,
        PackageFormat::Pypi => formats::pypi::serve(&cx, &target.rest, request).await,
        PackageFormat::Maven => formats::maven::serve(&cx, &target.rest, request).await,
        PackageFormat::Cargo => formats::cargo::serve(&cx, &target.rest, request).await,
        PackageFormat::Nuget
        | PackageFormat::Generic
        | PackageFormat::Ruby
        | PackageFormat::Swift => not_found(format!(
            "codeartifact-local does not serve the {} repository protocol yet",
            target.format
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_form_names_domain_owner_and_repository() {
        let t = parse(
            "127.0.0.1:4580",
            "/npm/d/my-dom-ain-111122223333/team/lodash",
            "localhost",
        )
        .unwrap();
        assert_eq!(
            (t.domain.as_str(), t.owner.as_str()),
            ("my-dom-ain", "111122223333")
        );
        assert_eq!((t.repository.as_str(), t.rest.as_str()), ("team", "lodash"));
        assert_eq!(t.format, PackageFormat::Npm);
    }

    #[test]
    fn host_form_takes_domain_from_the_host() {
        let t = parse(
            "Acme-111122223333.d.codeartifact.us-west-2.localhost:4580",
            "/pypi/team/simple/requests/",
            "localhost",
        )
        .unwrap();
        assert_eq!(
            (t.domain.as_str(), t.region.as_deref()),
            ("acme", Some("us-west-2"))
        );
        assert_eq!(
            (t.repository.as_str(), t.rest.as_str()),
            ("team", "simple/requests/")
        );
    }

    #[test]
    fn control_plane_paths_are_not_repository_endpoints() {
        assert_eq!(parse("localhost", "/v1/domain", "localhost"), None);
        assert_eq!(parse("localhost", "/npm/team/x", "localhost"), None);
        assert_eq!(parse("localhost", "/npm/d/nodash/team/", "localhost"), None);
        assert_eq!(parse("localhost", "/health", "localhost"), None);
    }
}
