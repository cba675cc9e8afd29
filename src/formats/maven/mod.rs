//! The Maven repository layout as CodeArtifact serves it (repository-endpoints spec §7):
//! files over GET, HEAD and PUT, server-computed checksums, generated artifact-level
//! `maven-metadata.xml`, and the upload of metadata that completes a publish.
//!
//! A version's files are its assets. Uploading a file creates the version `Unfinished`;
//! the `maven-metadata.xml` uploaded after the files publishes it. Snapshots are unique
//! (timestamped) builds: each build is a version of its own, and the snapshot metadata
//! upload points the `-SNAPSHOT` version at the newest build and unlists the build.

mod coordinates;
mod metadata;
mod pom;
mod public;
mod version;

use crate::cache::Page;
use crate::endpoints::publish::{self, Upload};
use crate::endpoints::{download, page_response, Action, Format, RepoCx, RepoError};
use crate::registry::{
    stream_into, AssetRef, Error, NewAsset, Origin, PackageId, Publish, StagedBlob, StreamError,
    VersionMetadata, VersionRecord, VersionStatus,
};
use crate::wire::{byte_stream, header_text, read_body, text, Body, RequestBody};
use coordinates::{Checksum, FileKind, MavenPath, Resource};
use http::{header, Method, Request, Response, StatusCode};
use public::PublicMaven;
use std::collections::BTreeSet;

const METADATA: &str = "maven-metadata.xml";
/// Largest metadata document accepted (read into memory).
const MAX_METADATA_BYTES: usize = 4 * 1024 * 1024;
/// Largest checksum upload accepted (a digest, perhaps followed by a file name).
const MAX_CHECKSUM_BYTES: usize = 1024;
/// POMs above this size are stored but not read for metadata.
const MAX_POM_BYTES: u64 = 16 * 1024 * 1024;
/// Asset property recording that the client uploaded a checksum that did not match: the
/// version may then not be published by a metadata upload.
const CHECKSUM_MISMATCH: &str = "checksum-mismatch";

fn not_found() -> RepoError {
    RepoError::NotFound("Not Found".to_string())
}

fn bad(message: impl Into<String>) -> RepoError {
    RepoError::BadRequest(message.into())
}

fn package_id(path: &MavenPath) -> PackageId {
    PackageId {
        format: "maven".to_string(),
        namespace: Some(path.group.clone()),
        name: path.artifact.clone(),
    }
}

/// The Maven repository layout.
pub struct Maven;

impl Format for Maven {
    const NAME: &'static str = "maven";
    type Route = MavenPath;
    type Adapter<'a> = PublicMaven<'a>;

    fn route(method: &Method, rest: &str) -> Result<MavenPath, RepoError> {
        let reading = method == Method::GET || method == Method::HEAD;
        if !reading && method != Method::PUT {
            return Err(RepoError::MethodNotAllowed(
                "Method Not Allowed".to_string(),
            ));
        }
        match coordinates::parse(rest) {
            Some(path) => Ok(path),
            None if reading => Err(not_found()),
            None => Err(bad("The path does not name a file of a Maven artifact")),
        }
    }

    fn action(method: &Method, path: &MavenPath) -> Result<Action, RepoError> {
        let reading = method == Method::GET || method == Method::HEAD;
        let is_metadata = !matches!(path.resource, Resource::File { .. });
        Ok(match (reading, is_metadata) {
            (true, _) => Action::Read,
            (false, true) => Action::PutMetadata(package_id(path)),
            (false, false) => Action::Publish(Some(package_id(path))),
        })
    }

    async fn handle(
        cx: &RepoCx<'_>,
        path: MavenPath,
        request: Request<RequestBody>,
    ) -> Result<Response<Body>, RepoError> {
        if request.method() == Method::PUT {
            return put(cx, &path, request).await;
        }
        let range = header_text(&request, header::RANGE);
        let if_none_match = header_text(&request, header::IF_NONE_MATCH);
        get(cx, &path, range.as_deref(), if_none_match.as_deref()).await
    }

    /// Maven prints the status and, at most, the body as text.
    fn error_response(status: StatusCode, message: &str) -> Response<Body> {
        text(status, message)
    }

    fn adapter<'a>(cx: &'a RepoCx<'a>) -> PublicMaven<'a> {
        PublicMaven::new(cx)
    }

    fn route_name(method: &Method, path: &MavenPath) -> &'static str {
        let reading = method == Method::GET || method == Method::HEAD;
        match (reading, &path.resource) {
            (true, Resource::File { .. }) => "get",
            (true, _) => "metadata",
            (false, Resource::File { .. }) => "put",
            (false, _) => "metadata.put",
        }
    }
}

// ------------------------------------------------------------------------------------------
// Reading
// ------------------------------------------------------------------------------------------

async fn get(
    cx: &RepoCx<'_>,
    path: &MavenPath,
    range: Option<&str>,
    if_none_match: Option<&str>,
) -> Result<Response<Body>, RepoError> {
    let p = package_id(path);
    match &path.resource {
        Resource::ArtifactMetadata => artifact_metadata(cx, path, &p, if_none_match),
        Resource::SnapshotMetadata { version } => {
            // Snapshot metadata is not merged: the first repository in search order that
            // has the snapshot answers, with the document its newest build was published
            // with (upstreams spec §6.3). Never fetched from a public repository.
            let asset = cx
                .app
                .registry
                .resolve(&cx.repo, &p, version, None)?
                .filter(|f| f.version.status == VersionStatus::Published)
                .and_then(|f| f.version.assets.into_iter().find(|a| a.name == METADATA))
                .ok_or_else(not_found)?;
            serve_asset(cx, &asset, path.checksum, range).await
        }
        Resource::File {
            version,
            file,
            kind,
        } => get_file(cx, path, &p, version, file, kind, range).await,
    }
}

/// The artifact-level document, generated from the versions the repository sees (its
/// own and its upstreams', merged), or one of its checksums.
fn artifact_metadata(
    cx: &RepoCx<'_>,
    path: &MavenPath,
    p: &PackageId,
    if_none_match: Option<&str>,
) -> Result<Response<Body>, RepoError> {
    let name = format!("maven:{}:{}", path.group, path.artifact);
    let render = || {
        let merged = cx
            .app
            .registry
            .merged(&cx.repo, p, Some(&Maven::adapter(cx)))?;
        let mut versions: Vec<&VersionRecord> = merged
            .versions
            .iter()
            .map(|found| &found.version)
            .filter(|v| !coordinates::is_snapshot_build(&v.version))
            .collect();
        if versions.is_empty() {
            return Ok(None);
        }
        versions.sort_by(|a, b| version::compare(&a.version, &b.version));
        let names: Vec<&str> = versions.iter().map(|v| v.version.as_str()).collect();
        let updated = versions.iter().map(|v| v.published_ms).max().unwrap_or(0);
        let xml = metadata::render(&path.group, &path.artifact, &names, updated);
        Ok(Some(Page::new(xml, "application/xml")))
    };
    // A checksum is cached as a page of its own, so resolution's `.sha1` fetch costs no
    // more than the document's.
    let page = match path.checksum {
        None => cx.cached_page(name, render)?,
        Some(alg) => cx.cached_page(format!("{name}.{}", alg.name()), || {
            let document = cx.cached_page(name.clone(), render)?;
            Ok(document.map(|d| Page::new(alg.compute(&d.body), "text/plain; charset=utf-8")))
        })?,
    };
    page.map(|page| page_response(page, if_none_match))
        .ok_or_else(not_found)
}

/// The versions a file of a version directory may belong to, in the order to try them:
/// a timestamped file belongs to its build, and to the `-SNAPSHOT` while that points at it.
fn candidates<'a>(version: &'a str, kind: &'a FileKind) -> Vec<&'a str> {
    match kind {
        FileKind::Release => vec![version],
        FileKind::SnapshotBuild { build } => vec![build.as_str(), version],
        FileKind::NonUniqueSnapshot => Vec::new(),
    }
}

async fn get_file(
    cx: &RepoCx<'_>,
    path: &MavenPath,
    p: &PackageId,
    version: &str,
    file: &str,
    kind: &FileKind,
    range: Option<&str>,
) -> Result<Response<Body>, RepoError> {
    // Public repositories' snapshots are never imported (upstreams spec §5.2): the
    // adapter lists and fetches none.
    let snapshot = version.ends_with("-SNAPSHOT");
    for candidate in candidates(version, kind) {
        // A version imported from a public repository may gain files it did not list.
        let found = download::version::<Maven>(cx, p, candidate, &path.artifact, |v| {
            v.assets.iter().any(|a| a.name == file)
                || (!snapshot && matches!(v.origin, Origin::External { .. }))
        });
        let found = match found {
            Ok(found) => found,
            Err(RepoError::NotFound(_)) => continue,
            Err(e) => return Err(e),
        };
        let asset = match found.assets.iter().find(|a| a.name == file) {
            Some(asset) => asset.clone(),
            None => cx
                .write(|| Maven::adapter(cx).import_file(p, &found, file))?
                .ok_or_else(not_found)?,
        };
        return serve_asset(cx, &asset, path.checksum, range).await;
    }
    Err(not_found())
}

fn checksum_response(hex: &str) -> Response<Body> {
    text(StatusCode::OK, hex.to_string())
}

/// A content type by file extension; Maven itself ignores it, browsers and curl do not.
fn content_type(file: &str) -> &'static str {
    let extension = file.rsplit('.').next().unwrap_or("");
    match extension {
        "jar" | "war" | "ear" | "aar" => "application/java-archive",
        "pom" | "xml" => "application/xml",
        "module" | "json" => "application/json",
        "asc" | "txt" => "text/plain",
        _ => "application/octet-stream",
    }
}

/// An asset's bytes (streamed, with ranges) or one of its stored digests.
async fn serve_asset(
    cx: &RepoCx<'_>,
    asset: &AssetRef,
    checksum: Option<Checksum>,
    range: Option<&str>,
) -> Result<Response<Body>, RepoError> {
    if let Some(alg) = checksum {
        let blob = cx
            .app
            .registry
            .blob(cx.repo.domain_id(), &asset.sha256)?
            .ok_or_else(not_found)?;
        return Ok(checksum_response(alg.of(&blob)));
    }
    download::asset(cx, asset, content_type(&asset.name), range).await
}

// ------------------------------------------------------------------------------------------
// Writing
// ------------------------------------------------------------------------------------------

async fn put(
    cx: &RepoCx<'_>,
    path: &MavenPath,
    request: Request<RequestBody>,
) -> Result<Response<Body>, RepoError> {
    let p = package_id(path);
    match (&path.resource, path.checksum) {
        (Resource::File { kind, .. }, _) if *kind == FileKind::NonUniqueSnapshot => Err(bad(
            "Invalid name for a Snapshot: only unique (timestamped) snapshots are supported",
        )),
        (
            Resource::File {
                version,
                file,
                kind,
            },
            Some(alg),
        ) => {
            let body = read_body(request, MAX_CHECKSUM_BYTES).await?;
            cx.write(|| put_checksum(cx, &p, &candidates(version, kind), file, alg, &body))
        }
        // Clients upload the checksums of their own metadata documents, which differ from
        // the ones the server generates; they are accepted without comparison.
        (_, Some(_)) => {
            read_body(request, MAX_CHECKSUM_BYTES).await?;
            Ok(text(StatusCode::OK, "OK"))
        }
        (Resource::ArtifactMetadata, None) => {
            let body = read_body(request, MAX_METADATA_BYTES).await?;
            cx.write(|| put_artifact_metadata(cx, path, &p, &body))
        }
        (Resource::SnapshotMetadata { version }, None) => {
            let body = read_body(request, MAX_METADATA_BYTES).await?;
            cx.write(|| put_snapshot_metadata(cx, path, &p, version, &body))
        }
        (
            Resource::File {
                version,
                file,
                kind,
            },
            None,
        ) => {
            let target = match kind {
                FileKind::SnapshotBuild { build } => build,
                _ => version,
            };
            put_file(cx, path, &p, target, file, request).await
        }
    }
}

/// A file upload: the body is streamed to a staging file while its four digests are
/// computed, then committed as an asset of the (possibly new, `Unfinished`) version.
async fn put_file(
    cx: &RepoCx<'_>,
    path: &MavenPath,
    p: &PackageId,
    version: &str,
    file: &str,
    request: Request<RequestBody>,
) -> Result<Response<Body>, RepoError> {
    let limit = cx.app.registry.quotas.asset_size_bytes;
    let too_large = || {
        RepoError::TooLarge(format!(
            "The file is larger than the asset size limit of {limit} bytes"
        ))
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large());
    }
    let upload = cx.app.registry.upload().map_err(not_stored)?;
    let staged = match stream_into(upload, byte_stream(request.into_body()), limit).await {
        Ok(staged) => staged,
        Err(StreamError::TooLarge) => return Err(too_large()),
        Err(StreamError::Body(why)) => return Err(why.into()),
        Err(StreamError::Io(e)) => return Err(not_stored(e)),
    };
    store_file(cx, path, p, version, file, staged)
}

fn store_file(
    cx: &RepoCx<'_>,
    path: &MavenPath,
    p: &PackageId,
    version: &str,
    file: &str,
    staged: StagedBlob,
) -> Result<Response<Body>, RepoError> {
    // Snapshots may be built in several repositories (upstreams spec §6.3): the
    // publish-conflict rule applies to releases only.
    let snapshot = version.ends_with("-SNAPSHOT") || coordinates::is_snapshot_build(version);
    let metadata = (file == format!("{}-{version}.pom", path.artifact))
        .then(|| pom_metadata(&staged))
        .flatten();
    publish::publish::<Maven>(
        cx,
        Upload {
            publish: Publish {
                package: p,
                display_name: &path.artifact,
                version,
                asset: NewAsset::new(file, staged),
                unfinished: true,
                append: true,
                metadata,
                dist_tags: Default::default(),
            },
            check_upstream: !snapshot,
        },
    )?;
    Ok(text(StatusCode::CREATED, "Created"))
}

/// What the uploaded POM says (description, licenses, dependencies…); `None` when it is
/// too large or does not parse, which does not stop the upload.
fn pom_metadata(staged: &StagedBlob) -> Option<VersionMetadata> {
    if staged.size() > MAX_POM_BYTES {
        return None;
    }
    let bytes = std::fs::read(staged.path()).ok()?;
    match pom::parse(&bytes) {
        Ok(pom) => Some(pom.into_metadata()),
        Err(why) => {
            tracing::info!(why, "uploaded POM not understood; stored without metadata");
            None
        }
    }
}

/// A checksum upload, compared case-sensitively with the digest the server computed. A
/// mismatch on a version still `Unfinished` is remembered: its metadata upload will fail.
fn put_checksum(
    cx: &RepoCx<'_>,
    p: &PackageId,
    candidates: &[&str],
    file: &str,
    alg: Checksum,
    body: &[u8],
) -> Result<Response<Body>, RepoError> {
    let registry = &cx.app.registry;
    let given = std::str::from_utf8(body)
        .ok()
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or("");
    for candidate in candidates {
        let record = match registry.version(&cx.repo, p, candidate) {
            Ok(record) => record,
            Err(Error::NotFound { .. }) => continue,
            Err(e) => return Err(e.into()),
        };
        let Some(asset) = record.assets.iter().find(|a| a.name == file) else {
            continue;
        };
        let expected = registry
            .blob(cx.repo.domain_id(), &asset.sha256)?
            .ok_or_else(not_found)?;
        if given == alg.of(&expected) {
            return Ok(text(StatusCode::OK, "OK"));
        }
        if record.status == VersionStatus::Unfinished {
            registry.edit_versions(&cx.repo, p, Vec::new(), |versions| {
                let asset = versions
                    .get_mut(*candidate)
                    .and_then(|v| v.assets.iter_mut().find(|a| a.name == file));
                if let Some(asset) = asset {
                    asset
                        .properties
                        .insert(CHECKSUM_MISMATCH.to_string(), alg.name().to_string());
                }
                Ok(())
            })?;
        }
        return Err(bad(format!(
            "Checksum mismatch for {file}: the {} uploaded does not match the file",
            alg.name()
        )));
    }
    Err(RepoError::NotFound(format!(
        "{file} has not been uploaded; upload a file before its checksum"
    )))
}

fn not_stored(e: std::io::Error) -> RepoError {
    RepoError::storage("cannot stage an upload", &e)
}

/// The uploaded document as the `maven-metadata.xml` asset of a version it publishes.
fn metadata_asset(staged: &StagedBlob) -> AssetRef {
    AssetRef {
        name: METADATA.to_string(),
        sha256: staged.digests().sha256.clone(),
        size: staged.size(),
        properties: [(AssetRef::METADATA_DOCUMENT.to_string(), "true".to_string())].into(),
    }
}

fn set_asset(assets: &mut Vec<AssetRef>, asset: AssetRef) {
    assets.retain(|a| a.name != asset.name);
    assets.push(asset);
}

/// Refuses to publish a version whose files had a checksum mismatch.
fn check_checksums(version: &VersionRecord) -> Result<(), Error> {
    match version
        .assets
        .iter()
        .find(|a| a.properties.contains_key(CHECKSUM_MISMATCH))
    {
        Some(asset) => Err(Error::Invalid(format!(
            "Version {} cannot be published: a checksum uploaded for {} did not match",
            version.version, asset.name
        ))),
        None => Ok(()),
    }
}

fn metadata_outcome(result: Result<(), Error>) -> Result<Response<Body>, RepoError> {
    match result {
        // No such package here: nothing to publish, as for versions that do not exist.
        Ok(()) | Err(Error::NotFound { .. }) => Ok(text(StatusCode::OK, "OK")),
        Err(e) => Err(e.into()),
    }
}

/// The artifact-level document a deploy uploads last: every listed version that is
/// `Unfinished` here becomes `Published`, all or none.
fn put_artifact_metadata(
    cx: &RepoCx<'_>,
    path: &MavenPath,
    p: &PackageId,
    body: &[u8],
) -> Result<Response<Body>, RepoError> {
    let doc = uploaded_document(path, body).map_err(bad)?;
    let staged = cx.app.registry.stage_bytes(body).map_err(not_stored)?;
    let asset = metadata_asset(&staged);
    let listed: BTreeSet<&str> = doc.versions.iter().map(String::as_str).collect();
    let result = cx
        .app
        .registry
        .edit_versions(&cx.repo, p, vec![staged], |versions| {
            let targets: Vec<String> = versions
                .values()
                .filter(|v| {
                    v.status == VersionStatus::Unfinished && listed.contains(v.version.as_str())
                })
                .map(|v| v.version.clone())
                .collect();
            for target in &targets {
                if let Some(version) = versions.get(target) {
                    check_checksums(version)?;
                }
            }
            for target in &targets {
                if let Some(version) = versions.get_mut(target) {
                    version.status = VersionStatus::Published;
                    set_asset(&mut version.assets, asset.clone());
                }
            }
            Ok(())
        });
    metadata_outcome(result)
}

/// The snapshot-level document a snapshot deploy uploads: the `-SNAPSHOT` version becomes
/// `Published` with the newest build's files, and the builds it names become `Unlisted`.
fn put_snapshot_metadata(
    cx: &RepoCx<'_>,
    path: &MavenPath,
    p: &PackageId,
    snapshot: &str,
    body: &[u8],
) -> Result<Response<Body>, RepoError> {
    let doc = uploaded_document(path, body).map_err(bad)?;
    if doc.version.as_deref().is_some_and(|v| v != snapshot) {
        return Err(bad(format!(
            "The metadata describes another version than {snapshot}"
        )));
    }
    let base = snapshot.strip_suffix("-SNAPSHOT").unwrap_or(snapshot);
    let mut builds: Vec<String> = doc
        .snapshot_values
        .iter()
        .filter(|v| coordinates::snapshot_of_build(v).as_deref() == Some(snapshot))
        .cloned()
        .collect();
    if let Some((timestamp, number)) = &doc.snapshot {
        builds.push(format!("{base}-{timestamp}-{number}"));
    }
    builds.sort_by(|a, b| version::compare(a, b));
    builds.dedup();
    let Some(newest) = builds.last().cloned() else {
        return Err(bad("The snapshot metadata names no timestamped build"));
    };
    let staged = cx.app.registry.stage_bytes(body).map_err(not_stored)?;
    let asset = metadata_asset(&staged);
    let now = cx.app.clock.now_ms();
    let repository = cx.repo.name.clone();
    let result = cx
        .app
        .registry
        .edit_versions(&cx.repo, p, vec![staged], |versions| {
            let Some(build) = versions.get(&newest).cloned() else {
                return Ok(());
            };
            if !matches!(
                build.status,
                VersionStatus::Unfinished | VersionStatus::Published | VersionStatus::Unlisted
            ) {
                return Ok(());
            }
            check_checksums(&build)?;
            for name in &builds {
                if let Some(v) = versions.get_mut(name) {
                    if matches!(
                        v.status,
                        VersionStatus::Unfinished | VersionStatus::Published
                    ) {
                        v.status = VersionStatus::Unlisted;
                    }
                }
            }
            let origin = versions
                .get(snapshot)
                .map_or(Origin::Internal { repository }, |v| v.origin.clone());
            let mut assets: Vec<AssetRef> = build
                .assets
                .iter()
                .filter(|a| a.name != METADATA)
                .cloned()
                .collect();
            set_asset(&mut assets, asset);
            versions.insert(
                snapshot.to_string(),
                VersionRecord {
                    version: snapshot.to_string(),
                    status: VersionStatus::Published,
                    revision: String::new(),
                    origin,
                    published_ms: now,
                    assets,
                    metadata: build.metadata,
                },
            );
            Ok(())
        });
    metadata_outcome(result)
}

/// An uploaded metadata document, refused when it is malformed or names another artifact
/// than its path.
fn uploaded_document(path: &MavenPath, body: &[u8]) -> Result<metadata::Document, String> {
    let doc = metadata::parse(body).map_err(|why| format!("Invalid metadata: {why}"))?;
    let differs = doc.group_id.as_deref().is_some_and(|g| g != path.group)
        || doc
            .artifact_id
            .as_deref()
            .is_some_and(|a| a != path.artifact);
    if differs {
        return Err(format!(
            "The metadata describes another artifact than {}:{}",
            path.group, path.artifact
        ));
    }
    Ok(doc)
}
