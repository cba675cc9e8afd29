//! The one publish path of every package format: a package manager's upload becomes an
//! asset of a version here, under the same rules whatever the format.
//!
//! In order: the repository's own copy (identical bytes are an idempotent success, other
//! bytes a conflict); the publish-conflict rule against dependency confusion (upstreams
//! spec §8.1: a version reachable from this repository through its upstreams or its
//! external connection, as origin controls let it be seen, cannot be published here); then
//! the registry's publish, which applies the package's origin controls and package groups
//! and the quotas, and commits.

use super::{Format, RepoCx, RepoError};
use crate::registry::{Publish, Published};

/// What a package manager publishes: one asset of one version, as the registry takes it,
/// and whether the publish-conflict rule applies (Maven snapshots may be built in several
/// repositories, upstreams spec §6.3).
pub struct Upload<'a> {
    pub publish: Publish<'a>,
    pub check_upstream: bool,
}

/// What a publish did.
#[derive(Debug)]
pub enum Outcome {
    /// The asset was added (and the version created or published as asked).
    Created(Box<Published>),
    /// The repository already had this asset with these bytes: nothing changed.
    Unchanged,
}

/// Publishes one asset through format `F`'s rules; runs off the async workers.
pub fn publish<F: Format>(cx: &RepoCx<'_>, upload: Upload<'_>) -> Result<Outcome, RepoError> {
    cx.allowed_to_publish(upload.publish.package)?;
    cx.write(|| publish_here::<F>(cx, upload))
}

fn publish_here<F: Format>(cx: &RepoCx<'_>, upload: Upload<'_>) -> Result<Outcome, RepoError> {
    let registry = &cx.app.registry;
    let Upload {
        publish,
        check_upstream,
    } = upload;
    let p = publish.package;
    let version = publish.version;
    let sha256 = &publish.asset.blob.digests().sha256;
    let available_upstream = || {
        RepoError::Conflict(format!(
            "Version {version} of {} is already available from an upstream repository or external connection",
            p.display()
        ))
    };
    if let Some(found) = registry.resolve(&cx.repo, p, version, None)? {
        if found.holder.id != cx.repo.id {
            if check_upstream {
                return Err(available_upstream());
            }
        } else if let Some(same_name) = found
            .version
            .assets
            .iter()
            .find(|a| a.name == publish.asset.name)
        {
            return if &same_name.sha256 == sha256 {
                Ok(Outcome::Unchanged)
            } else {
                Err(RepoError::Conflict(format!(
                    "Asset '{}' of version {version} of {} already exists with different content",
                    publish.asset.name,
                    p.display()
                )))
            };
        }
    }
    if check_upstream {
        let adapter = F::adapter(cx);
        // Only what the repository does not hold itself: its own versions are not read.
        let elsewhere = registry
            .listed_beyond(&cx.repo, p, Some(&adapter))?
            .iter()
            .any(|f| F::same_version(&f.version.version, version));
        if elsewhere {
            return Err(available_upstream());
        }
    }
    let d = cx.repo.domain_id();
    let published = registry.publish(&cx.repo, publish, |existing| {
        registry.may_publish(d, &cx.repo, p, existing)
    })?;
    Ok(Outcome::Created(Box::new(published)))
}
