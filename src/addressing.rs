//! Repository endpoint addressing, in one place: the URLs `GetRepositoryEndpoint` hands out
//! are built here, and the requests package managers send to them are recognised here.
//!
//! Two addressings share one listener (repository-endpoints spec §1.3):
//! - path form: `/{format}/d/{domain}-{owner}/{repository}/{rest…}` (any Host);
//! - host form: Host `{domain}-{owner}.d.codeartifact.{region}.{suffix}`, path
//!   `/{format}/{repository}/{rest…}`.
//!
//! A leaf: it imports nothing from the crate.

use codeartifact_model::PackageFormat;

/// How `GetRepositoryEndpoint` shapes the URLs it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EndpointStyle {
    /// `http://HOST:PORT/{format}/d/{domain}-{owner}/{repository}/`: works with no DNS set-up.
    Path,
    /// `http://{domain}-{owner}.d.codeartifact.{region}.{dns-suffix}:PORT/{format}/{repository}/`:
    /// the real service's shape; needs wildcard DNS for the suffix.
    Host,
}

/// Where a repository lives, as its endpoint URL spells it.
#[derive(Debug, Clone, Copy)]
pub struct RepositoryAddress<'a> {
    pub domain: &'a str,
    pub owner: &'a str,
    pub region: &'a str,
    pub repository: &'a str,
}

/// The endpoint URL of a repository for one format. It always ends with `/`: `aws
/// codeartifact login` appends to it by string concatenation. `base` is the server's public
/// base URL (`http://host:port`, no trailing slash).
pub fn endpoint_url(
    style: EndpointStyle,
    base: &str,
    dns_suffix: &str,
    format: &str,
    at: RepositoryAddress<'_>,
) -> String {
    match style {
        EndpointStyle::Path => format!(
            "{base}/{format}/d/{}-{}/{}/",
            at.domain, at.owner, at.repository
        ),
        EndpointStyle::Host => {
            let (scheme, authority) = base.split_once("://").unwrap_or(("http", base));
            let port = authority
                .rsplit_once(':')
                .map(|(_, p)| p)
                .filter(|p| p.parse::<u16>().is_ok());
            format!(
                "{scheme}://{}-{}.d.codeartifact.{}.{dns_suffix}{}/{format}/{}/",
                at.domain,
                at.owner,
                at.region,
                port.map(|p| format!(":{p}")).unwrap_or_default(),
                at.repository
            )
        }
    }
}

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
    fn every_url_handed_out_is_recognised_as_the_same_repository() {
        let at = RepositoryAddress {
            domain: "my-dom",
            owner: "111122223333",
            region: "eu-west-1",
            repository: "team.a",
        };
        for style in [EndpointStyle::Path, EndpointStyle::Host] {
            for format in PackageFormat::ALL {
                let url = endpoint_url(
                    style,
                    "http://127.0.0.1:4580",
                    "localhost",
                    format.as_str(),
                    at,
                );
                let (host, path) = url["http://".len()..].split_once('/').unwrap();
                let t = parse(host, &format!("/{path}pkg"), "localhost").unwrap();
                assert_eq!(t.format, *format);
                assert_eq!(
                    (
                        t.domain.as_str(),
                        t.owner.as_str(),
                        t.repository.as_str(),
                        t.rest.as_str()
                    ),
                    ("my-dom", "111122223333", "team.a", "pkg")
                );
                assert_eq!(format!("http://{host}{}", t.prefix), url);
            }
        }
    }

    #[test]
    fn control_plane_paths_are_not_repository_endpoints() {
        assert_eq!(parse("localhost", "/v1/domain", "localhost"), None);
        assert_eq!(parse("localhost", "/npm/team/x", "localhost"), None);
        assert_eq!(parse("localhost", "/npm/d/nodash/team/", "localhost"), None);
        assert_eq!(parse("localhost", "/health", "localhost"), None);
    }
}
