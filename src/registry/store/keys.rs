//! The key layout, spelled here and nowhere else: building a key, reading one back (version
//! keys, outbox numbers) and recognising its kind. Every key is `kind/region/owner/...` with
//! `/` separators: none of the validated names (domain, repository, account) can contain
//! `/`, so prefixes never collide.

use super::RepositoryRecord;

/// The first segment of every package version key.
const VERSION: &str = "ver/";
/// The first segment of every undelivered event.
const OUTBOX: &str = "outbox/";
const EVENT_LOG: &str = "evlog/";
/// The first segment of every version-order index entry (`Key::version_order_of`).
const VERSION_ORDER: &str = "vord/";

/// The number after `prefix` in a numbered key (outbox, event log).
fn number_after(prefix: &str, key: &[u8]) -> Option<u64> {
    std::str::from_utf8(key)
        .ok()?
        .strip_prefix(prefix)?
        .parse()
        .ok()
}

/// A package's namespace as a key segment: empty when the package has none.
fn ns(namespace: Option<&str>) -> &str {
    namespace.unwrap_or("")
}

/// A storage key. Built only by the constructors below so the layout lives in one place.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(in crate::registry) struct Key(String);

impl Key {
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The prefix of every key (a snapshot takes them all).
    pub fn everything() -> Key {
        Key(String::new())
    }

    /// Whether a raw key is an undelivered event in the outbox (not part of a snapshot).
    pub fn is_outbox(key: &[u8]) -> bool {
        Key::outbox_number(key).is_some()
    }

    /// Whether a key is an event's (the outbox or the event log): what snapshots leave out
    /// and resets keep, so event numbers, and the stream's cursors, are never reused.
    pub fn is_event(key: &[u8]) -> bool {
        Key::is_outbox(key) || Key::event_log_number(key).is_some()
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

    /// Prefix of every domain, in every region and account.
    pub fn all_domains() -> Key {
        Key("domain/".to_string())
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
    pub fn package(r: &RepoPath<'_>, format: &str, namespace: Option<&str>, name: &str) -> Key {
        Key(format!(
            "pkg/{}/{}/{}/{}/{format}/{}/{name}",
            r.region,
            r.owner,
            r.domain,
            r.repository,
            ns(namespace)
        ))
    }

    /// Prefix of all packages in a repository.
    pub fn packages_in(r: &RepoPath<'_>) -> Key {
        Key(format!(
            "pkg/{}/{}/{}/{}/",
            r.region, r.owner, r.domain, r.repository
        ))
    }

    /// Prefix of the packages of one format in a repository.
    pub fn packages_of_format(r: &RepoPath<'_>, format: &str) -> Key {
        let mut key = Key::packages_in(r);
        key.0.push_str(format);
        key.0.push('/');
        key
    }

    /// Prefix of all packages in all repositories of a domain.
    pub fn packages_in_domain(region: &str, owner: &str, domain: &str) -> Key {
        Key(format!("pkg/{region}/{owner}/{domain}/"))
    }

    pub fn version(
        r: &RepoPath<'_>,
        format: &str,
        namespace: Option<&str>,
        name: &str,
        version: &str,
    ) -> Key {
        let mut key = Key::versions_of(r, format, namespace, name);
        key.0.push_str(version);
        key
    }

    /// Prefix of all versions of one package.
    pub fn versions_of(r: &RepoPath<'_>, format: &str, namespace: Option<&str>, name: &str) -> Key {
        let mut key = Key::versions_in(r);
        key.0
            .push_str(&format!("{format}/{}/{name}/", ns(namespace)));
        key
    }

    /// Prefix of all versions in a repository.
    pub fn versions_in(r: &RepoPath<'_>) -> Key {
        Key(format!(
            "{VERSION}{}/{}/{}/{}/",
            r.region, r.owner, r.domain, r.repository
        ))
    }

    /// Prefix of every version of every repository.
    pub fn all_versions() -> Key {
        Key(VERSION.to_string())
    }

    /// Whether a raw key (from a batch or a scan) is a package version's.
    pub fn is_version(key: &[u8]) -> bool {
        key.starts_with(VERSION.as_bytes())
    }

    /// The versions prefix (`Key::versions_of`) of a version key; `None` for any other key.
    /// A version never contains `/` (the service's pattern `[^#/\s]+`), so the prefix ends
    /// at the key's last `/`.
    pub fn versions_prefix_of(key: &[u8]) -> Option<&[u8]> {
        if !Key::is_version(key) {
            return None;
        }
        let end = key.iter().rposition(|&b| b == b'/')?;
        Some(&key[..=end])
    }

    /// Whether a key is derived from other records (the version-order index): the store
    /// writes it at every commit from the version records the commit changes, and nothing
    /// else may (`Committer::commit`); snapshots leave it out and loading rebuilds it.
    pub fn is_derived(key: &[u8]) -> bool {
        key.starts_with(VERSION_ORDER.as_bytes())
    }

    /// Prefix of the whole version-order index.
    pub fn version_order_all() -> Key {
        Key(VERSION_ORDER.to_string())
    }

    /// Prefix of one package's versions in listing order: newest published first, the
    /// version string (in byte order) breaking ties. Each entry is this prefix followed by
    /// `Key::version_order_position`.
    pub fn version_order_of(
        r: &RepoPath<'_>,
        format: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Key {
        let versions = Key::versions_of(r, format, namespace, name);
        Key::version_order_beside(versions.as_bytes()).expect("a versions prefix")
    }

    /// The version-order prefix of the package a versions prefix (or version key) is of.
    fn version_order_beside(version_key: &[u8]) -> Option<Key> {
        let prefix = Key::versions_prefix_of(version_key)?;
        let rest = std::str::from_utf8(&prefix[VERSION.len()..]).ok()?;
        Some(Key(format!("{VERSION_ORDER}{rest}")))
    }

    /// Where a version sorts in its package's listing order: its publish time, inverted so
    /// that the newest sorts first, as 16 hex digits, then `/` and the version.
    pub fn version_order_position(published_ms: i64, version: &str) -> String {
        // Flipping the sign bit maps i64 order onto u64 order; inverting puts newest first.
        let rank = !(u64::from_be_bytes(published_ms.to_be_bytes()) ^ (1 << 63));
        format!("{rank:016x}/{version}")
    }

    /// The index entry of a version (the key of its record, its publish time, its version).
    pub fn version_order_entry(
        version_key: &[u8],
        published_ms: i64,
        version: &str,
    ) -> Option<Key> {
        let mut key = Key::version_order_beside(version_key)?;
        key.0
            .push_str(&Key::version_order_position(published_ms, version));
        Some(key)
    }

    /// An entry of the index under `prefix` at `position` (a listing's cursor).
    pub fn version_order_at(prefix: &Key, position: &str) -> Key {
        Key(format!("{}{position}", prefix.0))
    }

    /// The last event sequence number of a package in a repository (events spec §3). Kept
    /// apart from the package record so numbers keep rising after a package is deleted.
    pub fn event_sequence(
        r: &RepoPath<'_>,
        format: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Key {
        Key(format!(
            "evseq/{}/{}/{}/{}/{format}/{}/{name}",
            r.region,
            r.owner,
            r.domain,
            r.repository,
            ns(namespace)
        ))
    }

    /// An event committed but not yet delivered, numbered in commit order.
    pub fn outbox(number: u64) -> Key {
        Key(format!("{OUTBOX}{number:020}"))
    }

    /// Prefix of the undelivered events.
    pub fn outbox_all() -> Key {
        Key(OUTBOX.to_string())
    }

    /// The number of an outbox key (`Key::outbox`); `None` for any other key.
    pub fn outbox_number(key: &[u8]) -> Option<u64> {
        number_after(OUTBOX, key)
    }

    /// A delivered event kept for the event stream, under its outbox number.
    pub fn event_log(number: u64) -> Key {
        Key(format!("{EVENT_LOG}{number:020}"))
    }

    /// Prefix of the delivered events kept for the event stream.
    pub fn event_log_all() -> Key {
        Key(EVENT_LOG.to_string())
    }

    /// The number of an event-log key (`Key::event_log`); `None` for any other key.
    pub fn event_log_number(key: &[u8]) -> Option<u64> {
        number_after(EVENT_LOG, key)
    }

    /// A stored blob of a domain, by SHA-256, with its reference count.
    pub fn blob(region: &str, owner: &str, domain: &str, sha256: &str) -> Key {
        Key(format!("blob/{region}/{owner}/{domain}/{sha256}"))
    }

    /// Prefix of a domain's blobs.
    pub fn blobs_of(region: &str, owner: &str, domain: &str) -> Key {
        Key(format!("blob/{region}/{owner}/{domain}/"))
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
    /// `None` for a package without a namespace.
    pub namespace: Option<&'a str>,
    pub name: &'a str,
    pub version: &'a str,
}

impl VersionKey<'_> {
    /// Reads a version key back; `None` for any other key.
    pub fn parse(key: &[u8]) -> Option<VersionKey<'_>> {
        let key = std::str::from_utf8(key).ok()?.strip_prefix(VERSION)?;
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
            namespace: Some(next()?).filter(|ns| !ns.is_empty()),
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

impl<'a> From<&'a RepositoryRecord> for RepoPath<'a> {
    fn from(r: &'a RepositoryRecord) -> Self {
        RepoPath {
            region: &r.region,
            owner: &r.domain_owner,
            domain: &r.domain,
            repository: &r.name,
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A repository's path, for tests of keys and of the store.
    pub(in crate::registry::store) const TEAM: RepoPath<'static> = RepoPath {
        region: "us-east-1",
        owner: "111122223333",
        domain: "acme",
        repository: "team",
    };

    #[test]
    fn version_keys_read_back() {
        let key = Key::version(&TEAM, "npm", None, "left-pad", "1.3.0");
        let parsed = VersionKey::parse(key.as_bytes()).unwrap();
        assert_eq!(
            parsed,
            VersionKey {
                repo: TEAM,
                format: "npm",
                namespace: None,
                name: "left-pad",
                version: "1.3.0",
            }
        );
        assert!(Key::is_version(key.as_bytes()));
        let scoped = Key::version(&TEAM, "npm", Some("@types"), "node", "1.0.0-rc/1");
        let parsed = VersionKey::parse(scoped.as_bytes()).unwrap();
        assert_eq!(
            (parsed.namespace, parsed.name, parsed.version),
            (Some("@types"), "node", "1.0.0-rc/1")
        );
        let package = Key::package(&TEAM, "npm", None, "x");
        assert_eq!(VersionKey::parse(package.as_bytes()), None);
        assert!(!Key::is_version(package.as_bytes()));
    }

    #[test]
    fn a_version_key_gives_back_its_package_prefix() {
        let prefix = Key::versions_of(&TEAM, "maven", Some("org.a"), "lib");
        let key = Key::version(&TEAM, "maven", Some("org.a"), "lib", "1.0-SNAPSHOT");
        assert_eq!(
            Key::versions_prefix_of(key.as_bytes()),
            Some(prefix.as_bytes())
        );
        assert_eq!(Key::versions_prefix_of(Key::outbox(1).as_bytes()), None);
    }

    #[test]
    fn versions_of_a_package_share_its_prefix_and_no_other() {
        let prefix = Key::versions_of(&TEAM, "npm", None, "left");
        let own = Key::version(&TEAM, "npm", None, "left", "1.0.0");
        let other = Key::version(&TEAM, "npm", None, "left-pad", "1.0.0");
        assert!(own.as_bytes().starts_with(prefix.as_bytes()));
        assert!(!other.as_bytes().starts_with(prefix.as_bytes()));
        assert!(own
            .as_bytes()
            .starts_with(Key::versions_in(&TEAM).as_bytes()));
    }

    #[test]
    fn version_order_entries_sort_newest_first_then_by_version() {
        let key = |ms: i64, v: &str| {
            let version = Key::version(&TEAM, "npm", None, "left", v);
            Key::version_order_entry(version.as_bytes(), ms, v).unwrap()
        };
        let mut entries = vec![
            key(-5, "0.1.0"),
            key(1_700_000_000_000, "1.0.0"),
            key(0, "0.2.0"),
            key(1_700_000_000_000, "0.9.0"),
            key(i64::MAX, "9.0.0"),
            key(i64::MIN, "0.0.1"),
        ];
        entries.sort();
        let versions: Vec<&str> = entries
            .iter()
            .map(|k| std::str::from_utf8(k.as_bytes()).unwrap())
            .map(|k| &k[k.rfind('/').unwrap() + 1..])
            .collect();
        assert_eq!(
            versions,
            ["9.0.0", "0.9.0", "1.0.0", "0.2.0", "0.1.0", "0.0.1"]
        );
        let prefix = Key::version_order_of(&TEAM, "npm", None, "left");
        let other = Key::version_order_of(&TEAM, "npm", None, "left-pad");
        for entry in &entries {
            assert!(entry.as_bytes().starts_with(prefix.as_bytes()));
            assert!(!entry.as_bytes().starts_with(other.as_bytes()));
            assert!(Key::is_derived(entry.as_bytes()));
            assert!(!Key::is_version(entry.as_bytes()));
        }
        let position = Key::version_order_position(0, "0.2.0");
        assert_eq!(Key::version_order_at(&prefix, &position), key(0, "0.2.0"));
        let version = Key::version(&TEAM, "npm", None, "left", "1.0.0");
        assert!(!Key::is_derived(version.as_bytes()));
        assert_eq!(
            Key::version_order_entry(Key::schema().as_bytes(), 0, "1"),
            None
        );
    }

    #[test]
    fn outbox_numbers_read_back_in_commit_order() {
        assert_eq!(Key::outbox_number(Key::outbox(42).as_bytes()), Some(42));
        assert!(
            Key::outbox(9) < Key::outbox(10),
            "zero-padded: key order is number order"
        );
        assert!(Key::outbox(7)
            .as_bytes()
            .starts_with(Key::outbox_all().as_bytes()));
        assert_eq!(Key::outbox_number(Key::schema().as_bytes()), None);
        assert_eq!(
            Key::event_log_number(Key::event_log(42).as_bytes()),
            Some(42)
        );
        assert_eq!(Key::event_log_number(Key::outbox(42).as_bytes()), None);
        assert!(Key::event_log(9) < Key::event_log(10));
    }
}
