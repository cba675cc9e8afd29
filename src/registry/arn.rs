//! CodeArtifact ARNs: built in one place, parsed in one place.

use super::DomainId;

/// The AWS partition; the emulator serves only the commercial one.
const PARTITION: &str = "aws";

/// Builders for the ARNs the service reports.
pub struct Arn;

impl Arn {
    pub fn domain(d: DomainId<'_>) -> String {
        format!(
            "arn:{PARTITION}:codeartifact:{}:{}:domain/{}",
            d.region, d.owner, d.name
        )
    }

    /// Repository ARNs carry the domain owner's account, whoever administers the repository.
    pub fn repository(d: DomainId<'_>, repository: &str) -> String {
        format!(
            "arn:{PARTITION}:codeartifact:{}:{}:repository/{}/{repository}",
            d.region, d.owner, d.name
        )
    }

    /// Package ARNs name the repository, the format and the package, with an empty
    /// namespace segment for a package without one.
    pub fn package(
        d: DomainId<'_>,
        repository: &str,
        format: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> String {
        format!(
            "arn:{PARTITION}:codeartifact:{}:{}:package/{}/{repository}/{format}/{}/{name}",
            d.region,
            d.owner,
            d.name,
            namespace.unwrap_or("")
        )
    }

    /// Package-group ARNs append the pattern to the domain with exactly `*`, `$` and `%`
    /// percent-encoded in lowercase hex, as the service does.
    pub fn package_group(d: DomainId<'_>, pattern: &str) -> String {
        let mut encoded = String::with_capacity(pattern.len() + 4);
        for c in pattern.chars() {
            match c {
                '*' => encoded.push_str("%2a"),
                '$' => encoded.push_str("%24"),
                '%' => encoded.push_str("%25"),
                c => encoded.push(c),
            }
        }
        format!(
            "arn:{PARTITION}:codeartifact:{}:{}:package-group/{}{encoded}",
            d.region, d.owner, d.name
        )
    }
}

/// A taggable resource named by an ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceRef {
    Domain {
        region: String,
        owner: String,
        domain: String,
    },
    Repository {
        region: String,
        owner: String,
        domain: String,
        repository: String,
    },
    PackageGroup {
        region: String,
        owner: String,
        domain: String,
        pattern: String,
    },
}

impl ResourceRef {
    /// Parses a domain, repository or package-group ARN; anything else is `None`.
    pub fn parse(arn: &str) -> Option<ResourceRef> {
        let mut parts = arn.splitn(6, ':');
        let (Some("arn"), Some(PARTITION), Some("codeartifact")) =
            (parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let region = parts.next().filter(|r| !r.is_empty())?.to_string();
        let owner = parts
            .next()
            .filter(|o| o.len() == 12 && o.bytes().all(|b| b.is_ascii_digit()))?;
        let owner = owner.to_string();
        let resource = parts.next()?;
        let (kind, rest) = resource.split_once('/')?;
        match kind {
            "domain" if is_name(rest) => Some(ResourceRef::Domain {
                region,
                owner,
                domain: rest.to_string(),
            }),
            "repository" => {
                let (domain, repository) = rest.split_once('/')?;
                (is_name(domain) && is_name(repository)).then(|| ResourceRef::Repository {
                    region,
                    owner,
                    domain: domain.to_string(),
                    repository: repository.to_string(),
                })
            }
            "package-group" => {
                let slash = rest.find('/')?;
                let (domain, encoded) = rest.split_at(slash);
                let pattern = decode_pattern(encoded)?;
                is_name(domain).then(|| ResourceRef::PackageGroup {
                    region,
                    owner,
                    domain: domain.to_string(),
                    pattern,
                })
            }
            _ => None,
        }
    }
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && !s.contains('/')
}

fn decode_pattern(encoded: &str) -> Option<String> {
    let mut out = String::with_capacity(encoded.len());
    let mut rest = encoded;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let code = rest.get(i + 1..i + 3)?;
        out.push(match code.to_ascii_lowercase().as_str() {
            "2a" => '*',
            "24" => '$',
            "25" => '%',
            _ => return None,
        });
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: DomainId<'static> = DomainId {
        region: "us-west-2",
        owner: "111122223333",
        name: "my-domain",
    };

    #[test]
    fn package_group_arns_encode_three_characters() {
        assert_eq!(
            Arn::package_group(D, "/*"),
            "arn:aws:codeartifact:us-west-2:111122223333:package-group/my-domain/%2a"
        );
        assert_eq!(
            Arn::package_group(D, "/pypi//requests$"),
            "arn:aws:codeartifact:us-west-2:111122223333:package-group/my-domain/pypi//requests%24"
        );
    }

    #[test]
    fn arns_round_trip() {
        for (arn, expected) in [
            (
                Arn::domain(D),
                ResourceRef::Domain {
                    region: "us-west-2".into(),
                    owner: "111122223333".into(),
                    domain: "my-domain".into(),
                },
            ),
            (
                Arn::repository(D, "my-repo"),
                ResourceRef::Repository {
                    region: "us-west-2".into(),
                    owner: "111122223333".into(),
                    domain: "my-domain".into(),
                    repository: "my-repo".into(),
                },
            ),
            (
                Arn::package_group(D, "/npm/space/*"),
                ResourceRef::PackageGroup {
                    region: "us-west-2".into(),
                    owner: "111122223333".into(),
                    domain: "my-domain".into(),
                    pattern: "/npm/space/*".into(),
                },
            ),
        ] {
            assert_eq!(ResourceRef::parse(&arn), Some(expected), "{arn}");
        }
    }

    #[test]
    fn foreign_and_malformed_arns_are_refused() {
        for arn in [
            "arn:aws:s3:::bucket",
            "arn:aws:codeartifact:us-west-2:1111:domain/x",
            "arn:aws:codeartifact:us-west-2:111122223333:package/d/r/npm//p",
            "arn:aws:codeartifact:us-west-2:111122223333:domain/",
            "not-an-arn",
        ] {
            assert_eq!(ResourceRef::parse(arn), None, "{arn}");
        }
    }
}
