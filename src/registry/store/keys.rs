//! The key layout. Every key is `kind/region/owner/...` with `/` separators: none of the
//! validated names (domain, repository, account) can contain `/`, so prefixes never collide.

/// A storage key. Built only by the constructors below so the layout lives in one place.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
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

    /// A package in a repository: `{format}/{namespace}/{name}` with an empty namespace
    /// segment when the package has none. Names and namespaces cannot contain `/`.
    pub fn package(r: &RepoPath<'_>, format: &str, namespace: &str, name: &str) -> Key {
        Key(format!(
            "pkg/{}/{}/{}/{}/{format}/{namespace}/{name}",
            r.region, r.owner, r.domain, r.repository
        ))
    }

    /// Prefix of all packages in a repository.
    pub fn packages_in(r: &RepoPath<'_>) -> Key {
        Key(format!(
            "pkg/{}/{}/{}/{}/",
            r.region, r.owner, r.domain, r.repository
        ))
    }

    /// Prefix of all packages in all repositories of a domain.
    pub fn packages_in_domain(region: &str, owner: &str, domain: &str) -> Key {
        Key(format!("pkg/{region}/{owner}/{domain}/"))
    }

    pub fn version(
        r: &RepoPath<'_>,
        format: &str,
        namespace: &str,
        name: &str,
        version: &str,
    ) -> Key {
        Key(format!(
            "ver/{}/{}/{}/{}/{format}/{namespace}/{name}/{version}",
            r.region, r.owner, r.domain, r.repository
        ))
    }

    /// Prefix of all versions of one package.
    pub fn versions_of(r: &RepoPath<'_>, format: &str, namespace: &str, name: &str) -> Key {
        Key(format!(
            "ver/{}/{}/{}/{}/{format}/{namespace}/{name}/",
            r.region, r.owner, r.domain, r.repository
        ))
    }

    /// Prefix of all versions in a repository.
    pub fn versions_in(r: &RepoPath<'_>) -> Key {
        Key(format!(
            "ver/{}/{}/{}/{}/",
            r.region, r.owner, r.domain, r.repository
        ))
    }

    /// The last event sequence number of a package in a repository (events spec §3). Kept
    /// apart from the package record so numbers keep rising after a package is deleted.
    pub fn event_sequence(r: &RepoPath<'_>, format: &str, namespace: &str, name: &str) -> Key {
        Key(format!(
            "evseq/{}/{}/{}/{}/{format}/{namespace}/{name}",
            r.region, r.owner, r.domain, r.repository
        ))
    }

    /// An event committed but not yet delivered, numbered in commit order.
    pub fn outbox(number: u64) -> Key {
        Key(format!("outbox/{number:020}"))
    }

    /// Prefix of the undelivered events.
    pub fn outbox_all() -> Key {
        Key("outbox/".to_string())
    }

    /// A stored blob of a domain, by SHA-256, with its reference count.
    pub fn blob(region: &str, owner: &str, domain: &str, sha256: &str) -> Key {
        Key(format!("blob/{region}/{owner}/{domain}/{sha256}"))
    }

    /// Bytes stored by a domain (distinct blobs), kept with every blob change.
    pub fn usage(region: &str, owner: &str, domain: &str) -> Key {
        Key(format!("usage/{region}/{owner}/{domain}"))
    }
}

/// The parts of a version key (`Key::version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::registry) struct VersionKey<'a> {
    pub repo: RepoPath<'a>,
    pub format: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
    pub version: &'a str,
}

impl VersionKey<'_> {
    /// Reads a version key back; `None` for any other key.
    pub fn parse(key: &[u8]) -> Option<VersionKey<'_>> {
        let key = std::str::from_utf8(key).ok()?.strip_prefix("ver/")?;
        let mut parts = key.splitn(8, '/');
        let mut next = || parts.next();
        Some(VersionKey {
            repo: RepoPath {
                region: next()?,
                owner: next()?,
                domain: next()?,
                repository: next()?,
            },
            format: next()?,
            namespace: next()?,
            name: next()?,
            version: next()?,
        })
    }
}

/// The path of a repository in the key space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::registry) struct RepoPath<'a> {
    pub region: &'a str,
    pub owner: &'a str,
    pub domain: &'a str,
    pub repository: &'a str,
}
