//! PyPI's legacy upload API (`POST` to the repository root, multipart/form-data), as twine,
//! uv and poetry send it: the file streams to staging while it is hashed, then goes
//! through the one publish path.

use super::{file_identity, iso_micros, package_id, same_version, valid_file_name};
use super::{valid_project_name, valid_version, Pypi};
use crate::endpoints::publish::{self, Upload};
use crate::endpoints::{RepoCx, RepoError};
use crate::registry::names::normalize_name;
use crate::registry::{stream_into, Registry, StreamError};
use crate::registry::{Dependency, License, NewAsset, Publish, StagedBlob, VersionMetadata};
use crate::wire::{text, Body, BodyError, RequestBody};
use futures_util::StreamExt as _;
use http::{Request, Response, StatusCode};
use sha2::Digest as _;
use std::collections::BTreeMap;

/// Largest total of the text fields of an upload (metadata, description), in bytes.
const MAX_TEXT_BYTES: usize = 16 * 1024 * 1024;

fn bad(message: impl Into<String>) -> RepoError {
    RepoError::BadRequest(message.into())
}

/// The fields of an upload, the file staged on disk.
#[derive(Default)]
struct Form {
    fields: BTreeMap<String, Vec<String>>,
    file: Option<(String, StagedBlob, String)>,
}

impl Form {
    fn one(&self, name: &str) -> Option<&str> {
        self.fields
            .get(name)
            .and_then(|v| v.first())
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn all(&self, name: &str) -> &[String] {
        self.fields.get(name).map_or(&[], Vec::as_slice)
    }
}

/// Reads the multipart body: text fields into memory (bounded), the `content` file to a
/// staging file while hashing it (SHA-256 by the store, BLAKE2b-256 and MD5 here).
async fn read_form(registry: &Registry, request: Request<RequestBody>) -> Result<Form, RepoError> {
    let boundary = crate::wire::multipart_boundary(&request)
        .ok_or_else(|| bad("Expected a multipart/form-data upload".to_string()))?;
    let stream = http_body_util::BodyDataStream::new(request.into_body());
    // The file may be as large as the asset quota; every other field is text, bounded
    // one by one so that no field is buffered beyond MAX_TEXT_BYTES.
    let max_file = registry.quotas.asset_size_bytes;
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(max_file.saturating_add(MAX_TEXT_BYTES as u64))
            .per_field(MAX_TEXT_BYTES as u64)
            .for_field("content", max_file),
    );
    let mut multipart = multer::Multipart::with_constraints(stream, boundary, constraints);
    let mut form = Form::default();
    let mut text_bytes = 0usize;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return Err(RepoError::multipart("Malformed multipart body", &e)),
        };
        let name = field.name().unwrap_or("").to_string();
        if name == "content" {
            let file_name = field.file_name().unwrap_or("").to_string();
            let upload = registry
                .upload()
                .map_err(|e| RepoError::storage("cannot stage an upload", &e))?;
            // BLAKE2b-256 (PyPI's own digest) as the bytes pass; the store computes MD5 and
            // the rest on its blocking threads, once.
            let mut blake = blake2::Blake2b::<blake2::digest::consts::U32>::new();
            let bytes = field.map(|chunk| match chunk {
                Ok(chunk) => {
                    blake.update(&chunk);
                    Ok(chunk)
                }
                Err(e) => Err(BodyError::from_body(&e)),
            });
            let staged = match stream_into(upload, bytes, max_file).await {
                Ok(staged) => staged,
                Err(StreamError::TooLarge) => {
                    return Err(RepoError::TooLarge(format!(
                        "The file is larger than the asset size limit of {max_file} bytes"
                    )))
                }
                Err(StreamError::Body(e)) => return Err(e.into()),
                Err(StreamError::Io(e)) => {
                    return Err(RepoError::storage("cannot write an upload", &e))
                }
            };
            let blake = hex::encode(blake.finalize());
            form.file = Some((file_name, staged, blake));
        } else {
            let value = field
                .text()
                .await
                .map_err(|e| RepoError::multipart(&format!("Malformed field {name}"), &e))?;
            text_bytes += value.len();
            if text_bytes > MAX_TEXT_BYTES {
                return Err(RepoError::TooLarge(
                    "The upload's metadata is too large".to_string(),
                ));
            }
            form.fields.entry(name).or_default().push(value);
        }
    }
    Ok(form)
}

/// `POST /`: one distribution file of one version.
pub(super) async fn upload(
    cx: &RepoCx<'_>,
    request: Request<RequestBody>,
) -> Result<Response<Body>, RepoError> {
    let form = read_form(&cx.app.registry, request).await?;
    store_upload(cx, form)
}

fn store_upload(cx: &RepoCx<'_>, mut form: Form) -> Result<Response<Body>, RepoError> {
    if form.one(":action") != Some("file_upload") {
        return Err(bad("Unsupported ':action'; expected file_upload"));
    }
    let (Some(name), Some(version)) = (
        form.one("name").map(str::to_string),
        form.one("version").map(str::to_string),
    ) else {
        return Err(bad("The upload needs 'name' and 'version'"));
    };
    if !valid_project_name(&name) {
        return Err(bad(format!("Invalid project name '{name}'")));
    }
    if !valid_version(&version) {
        return Err(bad(format!("Invalid version '{version}'")));
    }
    let Some((file_name, staged, blake)) = form.file.take() else {
        return Err(bad("The upload has no 'content' file"));
    };
    if !valid_file_name(&file_name) {
        return Err(bad(format!("Invalid file name '{file_name}'")));
    }
    match file_identity(&file_name) {
        Some((file_project, file_version))
            if normalize_name("pypi", &file_project) == normalize_name("pypi", &name)
                && same_version(&file_version, &version) => {}
        _ => {
            return Err(bad(format!(
                "File '{file_name}' does not belong to {name} {version}"
            )))
        }
    }
    let digests = staged.digests();
    let (sha256, md5) = (digests.sha256.clone(), digests.md5.clone());
    for (field, actual) in [
        ("sha256_digest", &sha256),
        ("blake2_256_digest", &blake),
        ("md5_digest", &md5),
    ] {
        if let Some(declared) = form.one(field) {
            if !declared.eq_ignore_ascii_case(actual) {
                return Err(bad(format!("The file does not match its {field}")));
            }
        }
    }
    let mut properties = BTreeMap::new();
    if let Some(requires) = form.one("requires_python") {
        properties.insert("requires-python".to_string(), requires.to_string());
    }
    properties.insert("upload-time".to_string(), iso_micros(cx.app.clock.now_ms()));
    let p = package_id(&name);
    publish::publish::<Pypi>(
        cx,
        Upload {
            publish: Publish {
                package: &p,
                display_name: &name,
                version: &version,
                asset: NewAsset {
                    name: file_name,
                    blob: staged,
                    properties,
                },
                unfinished: false,
                append: true,
                metadata: Some(metadata_of(&form)),
                dist_tags: BTreeMap::new(),
            },
            check_upstream: true,
        },
    )?;
    Ok(text(StatusCode::OK, "OK"))
}

/// The version metadata an upload declares (core metadata fields).
fn metadata_of(form: &Form) -> VersionMetadata {
    let license = form
        .one("license_expression")
        .or_else(|| form.one("license"));
    let dependencies = form
        .all("requires_dist")
        .iter()
        .filter_map(|requirement| {
            let requirement = requirement.trim();
            let end = requirement
                .find(|c: char| !(c.is_ascii_alphanumeric() || "._-".contains(c)))
                .unwrap_or(requirement.len());
            let (dep, rest) = requirement.split_at(end);
            (!dep.is_empty()).then(|| Dependency {
                namespace: None,
                package: normalize_name("pypi", dep),
                dependency_type: Some("Requires-Dist".to_string()),
                version_requirement: Some(rest.trim().to_string()).filter(|r| !r.is_empty()),
            })
        })
        .collect();
    let source = form.all("project_urls").iter().find_map(|u| {
        let (label, url) = u.split_once(',')?;
        matches!(
            label.trim().to_ascii_lowercase().as_str(),
            "source" | "source code" | "repository" | "code"
        )
        .then(|| url.trim().to_string())
    });
    VersionMetadata {
        manifest: None,
        summary: form.one("summary").map(str::to_string),
        home_page: form.one("home_page").map(str::to_string),
        source_code_repository: source,
        licenses: license
            .map(|l| {
                vec![License {
                    name: Some(l.to_string()),
                    url: None,
                }]
            })
            .unwrap_or_default(),
        readme: form.one("description").map(str::to_string),
        dependencies,
    }
}

#[cfg(test)]
mod fuzz_target {
    use super::*;
    use crate::registry::Quotas;
    use bytes::Bytes;
    use http::header;
    use std::sync::Arc;

    /// twine's multipart upload read as the endpoint reads it (fields bounded, the file
    /// streamed to staging), then its metadata: refused or read, never a panic, and no
    /// staging file left behind.
    #[test]
    fn fuzz_multipart_uploads() {
        let dir = tempfile::tempdir().unwrap();
        let quotas = Quotas {
            asset_size_bytes: 1024 * 1024,
            ..Quotas::default()
        };
        let clock = Arc::new(crate::clock::Clock::system());
        let registry = Registry::open(dir.path(), clock, quotas).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        crate::fuzz::fuzz("multipart", "multipart", |input| {
            runtime.block_on(async {
                let request = Request::builder()
                    .method("POST")
                    .header(
                        header::CONTENT_TYPE,
                        "multipart/form-data; boundary=b0undary",
                    )
                    .body(http_body_util::Full::new(Bytes::copy_from_slice(input)))
                    .unwrap();
                let request =
                    crate::wire::boxed_request(request, std::time::Duration::from_secs(5), 0);
                if let Ok(form) = read_form(&registry, request).await {
                    let _ = metadata_of(&form);
                    let _ = (
                        form.one("name"),
                        form.one(":action"),
                        form.all("classifiers"),
                    );
                }
            });
        });
        let left = std::fs::read_dir(dir.path().join("blobs/tmp"))
            .unwrap()
            .count();
        assert_eq!(left, 0, "staging files left behind");
    }
}
