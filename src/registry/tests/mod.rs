//! The registry's rules, tested in-process on an in-memory store (`Registry::in_memory`):
//! the upstream search order, retention, origin-control precedence, the all-or-nothing batch
//! lifecycle, and what a write commits. One file per behaviour; this one is the kit they
//! share. Every test runs in milliseconds.

mod batch_lifecycle;
mod listings;
mod origin_controls;
mod retention;
mod scaling;
mod search_order;
mod writes;

use super::{
    DomainId, ExternalPackage, ExternalSource, ExternalVersion, Found, NewAsset, PackageId,
    Publish, Published, Quotas, Registry, RepositoryRecord, Scope, VersionMetadata, VersionRecord,
};
use crate::clock::Clock;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;

const REGION: &str = "us-east-1";
const OWNER: &str = "111122223333";
const DOMAIN: &str = "acme";
const NPMJS: &str = "public:npmjs";

const SCOPE: Scope<'static> = Scope {
    region: REGION,
    account: OWNER,
};

fn domain() -> DomainId<'static> {
    DomainId {
        region: REGION,
        owner: OWNER,
        name: DOMAIN,
    }
}

/// A registry over memory with one domain, `acme`.
fn registry() -> Registry {
    let registry =
        Registry::in_memory(Arc::new(Clock::fixed(1_700_000_000_000)), Quotas::default());
    registry
        .create_domain(SCOPE, DOMAIN, None, &[])
        .expect("domain");
    registry
}

/// Creates a repository with upstreams (which must exist already).
fn create(registry: &Registry, name: &str, upstreams: &[&str]) -> RepositoryRecord {
    let upstreams: Vec<String> = upstreams.iter().map(|u| (*u).to_string()).collect();
    registry
        .create_repository(SCOPE, domain(), name, None, &upstreams, &[])
        .expect("repository")
}

/// Gives a repository the npm external connection.
fn connect(registry: &Registry, name: &str) -> RepositoryRecord {
    registry
        .associate_external_connection(domain(), name, NPMJS)
        .expect("external connection")
}

/// `A → B → C`, with the npm external connection on `C`.
fn chain(registry: &Registry) {
    create(registry, "C", &[]);
    connect(registry, "C");
    create(registry, "B", &["C"]);
    create(registry, "A", &["B"]);
}

/// The repository as stored now.
fn repo(registry: &Registry, name: &str) -> RepositoryRecord {
    registry.repository(domain(), name).expect("repository")
}

fn npm(name: &str) -> PackageId {
    PackageId {
        format: "npm".to_string(),
        namespace: None,
        name: name.to_string(),
    }
}

/// A direct publish of one tarball whose bytes say where it was published.
fn publish(registry: &Registry, repository: &str, p: &PackageId, version: &str) -> Published {
    publish_with(registry, repository, p, version, BTreeMap::new()).expect("publish is allowed")
}

fn publish_with(
    registry: &Registry,
    repository: &str,
    p: &PackageId,
    version: &str,
    dist_tags: BTreeMap<String, String>,
) -> super::Result<Published> {
    let repo = repo(registry, repository);
    let bytes = format!("{}@{version} published to {repository}", p.name);
    let staged = registry.stage_bytes(bytes.as_bytes()).expect("staged");
    registry.publish(
        &repo,
        Publish {
            package: p,
            display_name: &p.name,
            version,
            asset: NewAsset::new(format!("{}-{version}.tgz", p.name), staged),
            unfinished: false,
            append: false,
            metadata: None,
            dist_tags,
        },
        |existing| registry.may_publish(domain(), &repo, p, existing),
    )
}

/// The version as `repository` stores it, if it does.
fn stored(
    registry: &Registry,
    repository: &str,
    p: &PackageId,
    version: &str,
) -> Option<VersionRecord> {
    registry
        .version(&repo(registry, repository), p, version)
        .ok()
}

/// What a package manager asking `repository` for `version` gets: the walk, and retention in
/// the repository asked (as the formats' download path does).
fn fetch(
    registry: &Registry,
    repository: &str,
    p: &PackageId,
    version: &str,
    public: Option<&dyn ExternalSource>,
) -> Option<Found> {
    let asked = repo(registry, repository);
    let found = registry
        .resolve(&asked, p, version, public)
        .expect("resolve")?;
    if found.holder.name != asked.name {
        registry.retain(&asked, &found, p, &p.name).expect("retain");
    }
    Some(found)
}

/// The version strings a merged listing through `repository` shows, in order.
fn listed(
    registry: &Registry,
    repository: &str,
    p: &PackageId,
    public: Option<&dyn ExternalSource>,
) -> Vec<String> {
    registry
        .merged(&repo(registry, repository), p, public)
        .expect("merged")
        .versions
        .into_iter()
        .map(|f| f.version.version)
        .collect()
}

/// A public registry behind an external connection: lists `versions` of every package and
/// serves each as a small tarball, recording what was fetched.
struct FakePublic<'r> {
    registry: &'r Registry,
    versions: Vec<&'static str>,
    fetched: RefCell<Vec<String>>,
}

impl<'r> FakePublic<'r> {
    fn new(registry: &'r Registry, versions: &[&'static str]) -> Self {
        FakePublic {
            registry,
            versions: versions.to_vec(),
            fetched: RefCell::new(Vec::new()),
        }
    }

    fn version(&self, p: &PackageId, version: &str, assets: Vec<NewAsset>) -> ExternalVersion {
        ExternalVersion {
            version: version.to_string(),
            display_name: p.name.clone(),
            published_ms: 0,
            metadata: VersionMetadata::default(),
            assets,
        }
    }
}

impl ExternalSource for FakePublic<'_> {
    fn list(&self, connection: &str, p: &PackageId) -> Option<ExternalPackage> {
        assert_eq!(connection, NPMJS);
        Some(ExternalPackage {
            versions: self
                .versions
                .iter()
                .map(|v| self.version(p, v, Vec::new()))
                .collect(),
            dist_tags: BTreeMap::new(),
        })
    }

    fn fetch(&self, connection: &str, p: &PackageId, version: &str) -> Option<ExternalVersion> {
        assert_eq!(connection, NPMJS);
        if !self.versions.contains(&version) {
            return None;
        }
        self.fetched.borrow_mut().push(version.to_string());
        let bytes = format!("{}@{version} from {connection}", p.name);
        let staged = self.registry.stage_bytes(bytes.as_bytes()).ok()?;
        let asset = NewAsset::new(format!("{}-{version}.tgz", p.name), staged);
        Some(self.version(p, version, vec![asset]))
    }
}
