//! `PUT {scope}/{name}/{version}` (SE-0292 §4.6), as `swift package-registry publish`
//! sends it: a multipart body whose `source-archive` streams to staging while it is hashed,
//! an optional `metadata` JSON document and optional signatures. The archive is opened
//! from staging and checked (one top-level directory, `Package.swift`), the metadata
//! checked, then the release goes through the one publish path, synchronously: 201 with
//! the release's `Location`. Any refusal leaves nothing behind (the staged file is dropped).

use super::archive::{read_archive, ReleaseMetadata};
use super::{Package, Swift};
use crate::endpoints::publish::{self, Outcome, Upload};
use crate::endpoints::{RepoCx, RepoError};
use crate::registry::{stream_into, StreamError};
use crate::registry::{License, NewAsset, Publish, Registry, StagedBlob, VersionMetadata};
use crate::wire::{full, Body, BodyError, RequestBody};
use base64::Engine as _;
use bytes::Bytes;
use futures_util::StreamExt as _;
use http::{header, HeaderValue, Request, Response, StatusCode};
use serde_json::json;
use std::collections::BTreeMap;

/// Largest `metadata` part, and largest of any other part (signatures, unknown parts).
const MAX_PART_BYTES: usize = 1024 * 1024;
/// Longest signature format name accepted.
const MAX_FORMAT_LEN: usize = 64;

/// The parts of a publish, the archive staged on disk.
#[derive(Default)]
struct Form {
    archive: Option<StagedBlob>,
    metadata: Option<String>,
    archive_signature: Option<Bytes>,
    metadata_signature: Option<Bytes>,
}

fn malformed(e: &multer::Error) -> RepoError {
    RepoError::multipart("malformed multipart body", e)
}

async fn read_form(registry: &Registry, request: Request<RequestBody>) -> Result<Form, RepoError> {
    let boundary = crate::wire::multipart_boundary(&request).ok_or_else(|| {
        RepoError::BadRequest("a publish must be a multipart/form-data body".into())
    })?;
    let max_archive = registry.quotas.asset_size_bytes;
    let parts = MAX_PART_BYTES as u64;
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(max_archive.saturating_add(4 * parts))
            .per_field(parts)
            .for_field("source-archive", max_archive),
    );
    let stream = http_body_util::BodyDataStream::new(request.into_body());
    let mut multipart = multer::Multipart::with_constraints(stream, boundary, constraints);
    let mut form = Form::default();
    while let Some(field) = multipart.next_field().await.map_err(|e| malformed(&e))? {
        let name = field.name().unwrap_or("").to_string();
        if name == "source-archive" {
            if form.archive.is_some() {
                return Err(RepoError::BadRequest(
                    "more than one source-archive part".into(),
                ));
            }
            let upload = registry
                .upload()
                .map_err(|e| RepoError::storage("cannot stage a source archive", &e))?;
            // Over its size limit, the part ends with multer's error: the quota refusal too.
            let bytes = field.map(|chunk| {
                chunk.map_err(|e| match e {
                    multer::Error::FieldSizeExceeded { .. }
                    | multer::Error::StreamSizeExceeded { .. } => {
                        BodyError::TooLarge(usize::try_from(max_archive).unwrap_or(usize::MAX))
                    }
                    e => BodyError::from_body(&e),
                })
            });
            let staged = match stream_into(upload, bytes, max_archive).await {
                Ok(staged) => staged,
                Err(StreamError::TooLarge | StreamError::Body(BodyError::TooLarge(_))) => {
                    return Err(RepoError::TooLarge(format!(
                        "the source archive is larger than the asset size limit of {max_archive} bytes"
                    )))
                }
                Err(StreamError::Body(e)) => return Err(e.into()),
                Err(StreamError::Io(e)) => {
                    return Err(RepoError::storage("cannot write a source archive", &e))
                }
            };
            form.archive = Some(staged);
            continue;
        }
        let bytes = field.bytes().await.map_err(|e| malformed(&e))?;
        match name.as_str() {
            "metadata" => {
                let text = String::from_utf8(bytes.to_vec()).map_err(|_| {
                    RepoError::Unprocessable(
                        "invalid JSON provided for release metadata: not UTF-8".into(),
                    )
                })?;
                form.metadata = Some(text);
            }
            "source-archive-signature" => form.archive_signature = Some(bytes),
            "metadata-signature" => form.metadata_signature = Some(bytes),
            // Parts the protocol does not define are read (bounded) and ignored.
            _ => {}
        }
    }
    Ok(form)
}

/// The signature format a signed publish declares in `X-Swift-Package-Signature-Format`.
fn signature_format(request: &Request<RequestBody>) -> Result<Option<String>, RepoError> {
    let Some(value) = request.headers().get("x-swift-package-signature-format") else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|v| {
            !v.is_empty()
                && v.len() <= MAX_FORMAT_LEN
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        })
        .ok_or_else(|| {
            RepoError::BadRequest("invalid X-Swift-Package-Signature-Format header".into())
        })?;
    Ok(Some(value.to_ascii_lowercase()))
}

/// The signatures of a signed release as the release metadata serves them.
fn signing(form: &Form, format: Option<&str>) -> Result<Option<serde_json::Value>, RepoError> {
    let (archive, metadata) = (&form.archive_signature, &form.metadata_signature);
    if archive.is_none() && metadata.is_none() {
        return Ok(None);
    }
    let format = format.ok_or_else(|| {
        RepoError::BadRequest(
            "a signed release needs the X-Swift-Package-Signature-Format header".into(),
        )
    })?;
    let Some(archive) = archive else {
        return Err(RepoError::BadRequest(
            "a metadata signature needs a source-archive signature".into(),
        ));
    };
    if form.metadata.is_some() && metadata.is_none() {
        return Err(RepoError::BadRequest(
            "both the source archive and the metadata of a signed release must be signed".into(),
        ));
    }
    let b64 = |bytes: &Bytes| base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut signing = json!({
        "sourceArchive": { "signatureBase64Encoded": b64(archive), "signatureFormat": format },
    });
    if let Some(metadata) = metadata {
        signing["metadata"] =
            json!({ "signatureBase64Encoded": b64(metadata), "signatureFormat": format });
    }
    Ok(Some(signing))
}

/// Publishes one release; 201 with its `Location`.
pub(super) async fn publish(
    cx: &RepoCx<'_>,
    p: &Package,
    version: &str,
    request: Request<RequestBody>,
) -> Result<Response<Body>, RepoError> {
    let format = signature_format(&request)?;
    let registry = &cx.app.registry;
    let id = p.id();
    let exists = || RepoError::Conflict(format!("a release with version {version} already exists"));
    // A release that exists is refused before its body is read.
    if registry.version(&cx.repo, &id, version).is_ok() {
        return Err(exists());
    }
    let mut form = read_form(registry, request).await?;
    let signing = signing(&form, format.as_deref())?;
    let staged = form
        .archive
        .take()
        .ok_or_else(|| RepoError::BadRequest("the source-archive part is missing".into()))?;
    let manifests = cx
        .write(|| std::fs::File::open(staged.path()).map(read_archive))
        .map_err(|e| RepoError::internal(format!("cannot reopen a staged archive: {e}")))?
        .map_err(RepoError::Unprocessable)?;
    let metadata = match &form.metadata {
        Some(text) if !text.trim().is_empty() => {
            ReleaseMetadata::parse(text).map_err(RepoError::Unprocessable)?
        }
        _ => ReleaseMetadata::default(),
    };
    let mut manifest = json!({
        "manifests": manifests.to_json(),
        "metadata": serde_json::Value::Object(metadata.document.clone()),
    });
    if let Some(signing) = signing {
        manifest["signing"] = signing;
    }
    let version_metadata = VersionMetadata {
        manifest: Some(manifest),
        summary: metadata.description(),
        source_code_repository: metadata.repository_urls().into_iter().next(),
        licenses: metadata
            .license_url()
            .map(|url| License {
                name: None,
                url: Some(url),
            })
            .into_iter()
            .collect(),
        ..VersionMetadata::default()
    };
    let outcome = publish::publish::<Swift>(
        cx,
        Upload {
            publish: Publish {
                package: &id,
                display_name: &p.name,
                version,
                asset: NewAsset::new(format!("{}-{version}.zip", p.name), staged),
                unfinished: false,
                append: false,
                metadata: Some(version_metadata),
                dist_tags: BTreeMap::new(),
            },
            check_upstream: true,
        },
    )?;
    if let Outcome::Unchanged = outcome {
        // Published by a concurrent request between the check above and this one.
        return Err(exists());
    }
    let mut response = Response::new(full(Bytes::new()));
    *response.status_mut() = StatusCode::CREATED;
    if let Ok(location) = HeaderValue::from_str(&p.release_url(cx, version)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}
