//! `dotnet nuget push` / `nuget push`: a `PUT` of `multipart/form-data` whose one file part
//! (NuGet names it `package`) is the `.nupkg`. The package is read and checked whole before
//! anything is stored, then goes through the one publish path as the version's only asset.
//! A version already present — with these bytes or others, in any spelling NuGet deems
//! equal — is a 409, which `--skip-duplicate` tolerates.

use super::nupkg::read_nupkg;
use super::{package_id, Nuget, MAX_NUPKG_BYTES};
use crate::endpoints::publish::{self, Outcome, Upload};
use crate::endpoints::{Format as _, RepoCx, RepoError};
use crate::registry::{NewAsset, Publish};
use crate::wire::{text, Body, RequestBody};
use bytes::Bytes;
use http::{header, Request, Response, StatusCode};
use std::collections::BTreeMap;

/// Room for the multipart framing around the package.
const FRAMING_BYTES: u64 = 64 * 1024;

fn multipart_error(e: &multer::Error) -> RepoError {
    match e {
        multer::Error::FieldSizeExceeded { .. } | multer::Error::StreamSizeExceeded { .. } => {
            RepoError::TooLarge(format!("The package is too large: {e}"))
        }
        _ if crate::wire::is_stalled(e) => RepoError::Timeout(e.to_string()),
        _ => RepoError::BadRequest(format!("Malformed multipart body: {e}")),
    }
}

/// The one file of the upload, read into memory up to `limit` bytes.
async fn package_part(request: Request<RequestBody>, limit: u64) -> Result<Bytes, RepoError> {
    let boundary = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| multer::parse_boundary(ct).ok())
        .ok_or_else(|| {
            RepoError::BadRequest("Expected a multipart/form-data upload of a .nupkg".into())
        })?;
    let stream = http_body_util::BodyDataStream::new(request.into_body());
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(limit.saturating_add(FRAMING_BYTES))
            .per_field(limit),
    );
    let mut multipart = multer::Multipart::with_constraints(stream, boundary, constraints);
    let mut package = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| multipart_error(&e))?
    {
        let bytes = field.bytes().await.map_err(|e| multipart_error(&e))?;
        if package.replace(bytes).is_some() {
            return Err(RepoError::BadRequest("Push one package per request".into()));
        }
    }
    package.ok_or_else(|| RepoError::BadRequest("The upload holds no package".into()))
}

pub(super) async fn push(
    cx: &RepoCx<'_>,
    request: Request<RequestBody>,
) -> Result<Response<Body>, RepoError> {
    let quota = cx.app.registry.quotas.asset_size_bytes;
    let limit = quota.min(MAX_NUPKG_BYTES as u64);
    let body = package_part(request, limit).await?;
    let package = read_nupkg(&body).map_err(RepoError::BadRequest)?;
    let spec = &package.nuspec;
    let p = package_id(&spec.id);
    let version = spec.version.clone();
    let exists = || {
        RepoError::Conflict(format!(
            "The package {} {version} already exists in the repository",
            spec.id
        ))
    };
    // A version NuGet deems equal in another spelling (`1.0.0-Beta`, `1.0.0-beta`).
    let registry = &cx.app.registry;
    match registry.versions(&cx.repo, &p) {
        Ok(stored)
            if stored
                .iter()
                .any(|v| Nuget::same_version(&v.version, &version)) =>
        {
            return Err(exists())
        }
        Ok(_) | Err(crate::registry::Error::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let staged = cx
        .write(|| registry.stage_bytes(&body))
        .map_err(|e| RepoError::storage("cannot stage a package", &e))?;
    let asset = format!("{}.{}.nupkg", p.name, version.to_lowercase());
    let outcome = publish::publish::<Nuget>(
        cx,
        Upload {
            publish: Publish {
                package: &p,
                display_name: &spec.id,
                version: &version,
                asset: NewAsset::new(asset, staged),
                unfinished: false,
                append: false,
                metadata: Some(spec.version_metadata(package.readme.clone())),
                dist_tags: BTreeMap::new(),
            },
            check_upstream: true,
        },
    )?;
    match outcome {
        Outcome::Created(_) => Ok(text(StatusCode::CREATED, "")),
        Outcome::Unchanged => Err(exists()),
    }
}
