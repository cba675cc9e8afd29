//! `gem push`: the body is the gem itself; its gemspec is read and checked, then the gem
//! goes through the one publish path as the version's only asset.

use super::gem::read_gem;
use super::{package_id, Ruby};
use crate::endpoints::publish::{self, Outcome, Upload};
use crate::endpoints::{RepoCx, RepoError};
use crate::registry::{NewAsset, Publish};
use crate::wire::{text, Body};
use http::{Response, StatusCode};
use std::collections::BTreeMap;

pub(super) fn push(cx: &RepoCx<'_>, body: &[u8]) -> Result<Response<Body>, RepoError> {
    let mut spec = read_gem(body).map_err(RepoError::BadRequest)?;
    let registry = &cx.app.registry;
    let staged = cx
        .write(|| registry.stage_bytes(body))
        .map_err(|e| RepoError::internal(format!("cannot stage a gem: {e}")))?;
    spec.sha256 = Some(staged.digests().sha256.clone());
    let p = package_id(&spec.name);
    let version = spec.version_key();
    let outcome = publish::publish::<Ruby>(
        cx,
        Upload {
            publish: Publish {
                package: &p,
                display_name: &spec.name,
                version: &version,
                asset: NewAsset::new(format!("{}.gem", spec.full_name()), staged),
                unfinished: false,
                append: false,
                metadata: Some(spec.version_metadata()),
                dist_tags: BTreeMap::new(),
            },
            check_upstream: true,
        },
    )?;
    if let Outcome::Unchanged = outcome {
        tracing::debug!(gem = spec.full_name(), "the same gem was pushed again");
    }
    Ok(text(
        StatusCode::OK,
        format!("Successfully registered gem: {} ({version})", spec.name),
    ))
}
