//! The one download path of every package format: the version a package manager asks for
//! is found in search order (fetched through the external connection if need be), served
//! only when it is `Published` or `Unlisted`, retained in this repository when it came
//! from elsewhere, and its asset streamed from the domain's blob store.

use super::{Format, RepoCx, RepoError};
use crate::registry::{AssetRef, PackageId, VersionRecord, VersionStatus};
use crate::wire::{file_response, Body};
use http::{header, HeaderValue, Response};

/// The version to download from, retained here when found upstream; `NotFound` when no
/// visible copy in search order has what `serves` asks for. Lookups stay on the worker; a
/// retention (a write) and fetches from a public registry move off it.
pub fn version<F: Format>(
    cx: &RepoCx<'_>,
    p: &PackageId,
    version: &str,
    display_name: &str,
    serves: impl Fn(&VersionRecord) -> bool,
) -> Result<VersionRecord, RepoError> {
    let registry = &cx.app.registry;
    let adapter = F::adapter(cx);
    let found = registry
        .resolve(&cx.repo, p, version, Some(&adapter))?
        .filter(|found| {
            matches!(
                found.version.status,
                VersionStatus::Published | VersionStatus::Unlisted
            ) && serves(&found.version)
        })
        .ok_or_else(RepoError::not_found)?;
    if found.holder.id == cx.repo.id {
        return Ok(found.version);
    }
    Ok(cx.write(|| registry.retain(&cx.repo, &found, p, display_name))?)
}

/// An asset's bytes, streamed, with byte ranges and its SHA-256 as entity tag.
pub async fn asset(
    cx: &RepoCx<'_>,
    asset: &AssetRef,
    content_type: &'static str,
    range: Option<&str>,
) -> Result<Response<Body>, RepoError> {
    let path = cx
        .app
        .registry
        .blob_path(cx.repo.domain_id(), &asset.sha256);
    let mut response = file_response(&path, asset.size, content_type, range)
        .await
        .map_err(|_| RepoError::not_found())?;
    if let Ok(value) = HeaderValue::from_str(&format!("\"{}\"", asset.sha256)) {
        response.headers_mut().insert(header::ETAG, value);
    }
    Ok(response)
}
