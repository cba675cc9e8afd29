//! The key layout. Every key is `kind/region/owner/...` with `/` separators: none of the
//! validated names (domain, repository, account) can contain `/`, so prefixes never collide.

/// A storage key. Built only by the constructors below so the layout lives in one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::registry) struct Key(String);

impl Key {
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    pub fn schema() -> Key {
        Key("schema".into())
    }

    pub fn domain(region: &str, owner: &str, domain: &str) -> Key {
        Key(format!("domain/{region}/{owner}/{domain}"))
    }

    /// Prefix of all domains one account owns in a region.
    pub fn domains_of(region: &str, owner: &str) -> Key {
        Key(format!("domain/{region}/{owner}/"))
    }

    pub fn domain_policy(region: &str, owner: &str, domain: &str) -> Key {
        Key(format!("domain-policy/{region}/{owner}/{domain}"))
    }

    pub fn repository(region: &str, owner: &str, domain: &str, repository: &str) -> Key {
        Key(format!("repo/{region}/{owner}/{domain}/{repository}"))
    }

    /// Prefix of all repositories in a domain.
    pub fn repositories_in(region: &str, owner: &str, domain: &str) -> Key {
        Key(format!("repo/{region}/{owner}/{domain}/"))
    }

    /// Prefix of all repositories in a region, across owners and domains.
    pub fn repositories_in_region(region: &str) -> Key {
        Key(format!("repo/{region}/"))
    }

    pub fn repository_policy(region: &str, owner: &str, domain: &str, repository: &str) -> Key {
        Key(format!(
            "repo-policy/{region}/{owner}/{domain}/{repository}"
        ))
    }

    pub fn package_group(region: &str, owner: &str, domain: &str, pattern: &str) -> Key {
        Key(format!("package-group/{region}/{owner}/{domain}/{pattern}"))
    }

    pub fn package_groups_in(region: &str, owner: &str, domain: &str) -> Key {
        Key(format!("package-group/{region}/{owner}/{domain}/"))
    }

    /// Tags are keyed by the resource ARN, which is unique across kinds and regions.
    pub fn tags(arn: &str) -> Key {
        Key(format!("tags/{arn}"))
    }
}
