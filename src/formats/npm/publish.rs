//! npm's writes: `npm publish` (one version, its tarball base64-encoded in the document),
//! `npm deprecate` (a metadata update of stored versions) and dist-tag changes.

use super::document::{Base64Stream, ScanError, Scanner, Transition};
use super::{Npm, NpmName, MAX_DOCUMENT_BYTES, MAX_PUBLISH_BYTES, TARBALL_ASSET};
use crate::endpoints::publish::{self, Upload};
use crate::endpoints::{json, Format, RepoCx, RepoError};
use crate::registry::{
    stream_into, Dependency, License, NewAsset, Publish, Registry, StagedBlob, StreamError,
    VersionMetadata,
};
use crate::wire::{check_declared, Body, BodyError, RequestBody};
use base64::Engine as _;
use bytes::{Buf as _, Bytes};
use http::{HeaderMap, Method, Response, StatusCode};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

fn bad(message: impl Into<String>) -> RepoError {
    RepoError::BadRequest(message.into())
}

/// An npm publish document as received: the document without its attachments' data, and
/// the tarball attachment decoded into staging as it streamed.
pub(super) struct Received {
    skeleton: Vec<u8>,
    tarball: Option<(String, StagedBlob)>,
}

/// The request body, read as it streams (`document::Scanner`): the tarball attachment's
/// base64 is decoded a network chunk at a time and staged through `stream_into` (bytes
/// awaited on the async side, full batches to disk and hashing), the rest of the document
/// is kept, up to `MAX_DOCUMENT_BYTES`. So a publish costs a chunk or two and its
/// document without the tarball, whatever the tarball's size (it cost its whole body,
/// and before that nearly three times it). A second tarball is refused as it starts;
/// other attachments' data is read and dropped.
pub(super) async fn receive(
    registry: &Registry,
    headers: &HeaderMap,
    body: RequestBody,
) -> Result<Received, RepoError> {
    check_declared(headers, MAX_PUBLISH_BYTES)?;
    let mut input = Input {
        frames: byte_stream(body),
        chunk: Bytes::new(),
        received: 0,
    };
    let mut scanner = Scanner::new(MAX_DOCUMENT_BYTES);
    let mut tarball = None;
    let mut dropped = Vec::new();
    while input.fill().await? {
        let (used, transition) = scanner
            .push(&input.chunk, &mut dropped)
            .map_err(scan_error)?;
        input.chunk.advance(used);
        dropped.clear();
        let Some(Transition::DataStart(name)) = transition else {
            continue;
        };
        if !name.ends_with(".tgz") {
            continue;
        }
        if tarball.is_some() {
            return Err(bad("A publish must carry exactly one tarball"));
        }
        let staged = stage_attachment(registry, &mut scanner, &mut input).await?;
        tarball = Some((name, staged));
    }
    let skeleton = scanner.finish().map_err(scan_error)?;
    Ok(Received { skeleton, tarball })
}

fn scan_error(e: ScanError) -> RepoError {
    match e {
        ScanError::TooLarge(limit) => RepoError::TooLarge(format!(
            "The publish document without its tarball is larger than the limit of {limit} bytes"
        )),
        ScanError::Malformed => bad("The request body is not a JSON object"),
    }
}

/// The request body as the scanner reads it: the part of the last frame not yet used.
struct Input {
    frames: ByteStream,
    chunk: Bytes,
    received: usize,
}

type ByteStream =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<Bytes, BodyError>> + Send>>;

fn byte_stream(body: RequestBody) -> ByteStream {
    Box::pin(crate::wire::byte_stream(body))
}

impl Input {
    /// Waits for bytes when none are left; false at the end of the body.
    async fn fill(&mut self) -> Result<bool, BodyError> {
        use futures_util::StreamExt as _;
        while self.chunk.is_empty() {
            match self.frames.next().await {
                None => return Ok(false),
                Some(frame) => {
                    self.chunk = frame?;
                    self.received += self.chunk.len();
                    if self.received > MAX_PUBLISH_BYTES {
                        return Err(BodyError::TooLarge(MAX_PUBLISH_BYTES));
                    }
                }
            }
        }
        Ok(true)
    }
}

/// Stages the `data` string the scanner has just entered, decoded as it arrives.
async fn stage_attachment(
    registry: &Registry,
    scanner: &mut Scanner,
    input: &mut Input,
) -> Result<StagedBlob, RepoError> {
    let upload = registry
        .upload()
        .map_err(|e| RepoError::storage("cannot stage an npm tarball", &e))?;
    // Why the decoded stream stopped, when it was not the body's own failure.
    let mut failure: Option<RepoError> = None;
    let state = (scanner, input, Base64Stream::default(), &mut failure, false);
    let decoded = futures_util::stream::unfold(state, |state| async move {
        let (scanner, input, mut decoder, failure, done) = state;
        if done {
            return None;
        }
        let stop = |failure: &mut Option<RepoError>, why: RepoError| {
            *failure = Some(why);
            Err(BodyError::Broken(String::new()))
        };
        let mut text = Vec::new();
        let mut bytes = Vec::new();
        loop {
            let item = match input.fill().await {
                Ok(true) => None,
                Ok(false) => Some(stop(
                    failure,
                    bad("The publish document ends inside its tarball attachment"),
                )),
                Err(e) => Some(Err(e)),
            };
            if let Some(item) = item {
                return Some((item, (scanner, input, decoder, failure, true)));
            }
            let (used, transition) = match scanner.push(&input.chunk, &mut text) {
                Ok(pushed) => pushed,
                Err(e) => {
                    let item = stop(failure, scan_error(e));
                    return Some((item, (scanner, input, decoder, failure, true)));
                }
            };
            input.chunk.advance(used);
            let ended = transition == Some(Transition::DataEnd);
            let decoded = decoder.push(&text, &mut bytes).and_then(|()| {
                if ended {
                    std::mem::take(&mut decoder).finish()
                } else {
                    Ok(())
                }
            });
            text.clear();
            if decoded.is_err() {
                let item = stop(failure, bad("The tarball attachment is not valid base64"));
                return Some((item, (scanner, input, decoder, failure, true)));
            }
            if ended || !bytes.is_empty() {
                let item = Ok(Bytes::from(bytes));
                return Some((item, (scanner, input, decoder, failure, ended)));
            }
        }
    });
    let staged = stream_into(upload, Box::pin(decoded), MAX_PUBLISH_BYTES as u64).await;
    if let Some(why) = failure {
        return Err(why);
    }
    staged.map_err(|e| match e {
        StreamError::TooLarge => BodyError::TooLarge(MAX_PUBLISH_BYTES).into(),
        StreamError::Body(e) => e.into(),
        StreamError::Io(e) => RepoError::storage("cannot stage an npm tarball", &e),
    })
}

/// PUT `{name}`: a publish when the body carries `_attachments`, otherwise a metadata update
/// (`npm deprecate`).
pub(super) fn put_package(
    cx: &RepoCx<'_>,
    package: &NpmName,
    received: Received,
) -> Result<Response<Body>, RepoError> {
    let Received { skeleton, tarball } = received;
    let Ok(Value::Object(doc)) = serde_json::from_slice::<Value>(&skeleton) else {
        return Err(bad("The request body is not a JSON object"));
    };
    drop(skeleton);
    if doc.get("name").and_then(Value::as_str) != Some(package.full().as_str()) {
        return Err(bad("The package name in the body does not match the URL"));
    }
    match doc.get("_attachments") {
        Some(Value::Object(attachments)) if !attachments.is_empty() => {
            publish(cx, package, &doc, attachments, tarball)
        }
        _ => deprecate(cx, package, &doc),
    }
}

/// Decodes base64 into staging a chunk at a time (blocking: call from `RepoCx::write`).
fn stage_base64(
    registry: &crate::registry::Registry,
    data: &str,
) -> Result<Result<StagedBlob, String>, std::io::Error> {
    /// Base64 characters decoded at once: a multiple of 4, about 1 MiB of bytes.
    const CHUNK: usize = 4 * 1024 * 350;
    let mut upload = registry.upload()?;
    for chunk in data.as_bytes().chunks(CHUNK) {
        match base64::engine::general_purpose::STANDARD.decode(chunk) {
            Ok(bytes) => upload.write(&bytes)?,
            Err(_) => return Ok(Err("The tarball attachment is not valid base64".to_string())),
        }
    }
    upload.finish().map(Ok)
}

/// What a version's manifest says, in the registry's terms.
pub(super) fn metadata_of(
    version: &Map<String, Value>,
    doc: &Map<String, Value>,
) -> VersionMetadata {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let repository = match version.get("repository") {
        Some(Value::String(url)) => Some(url.clone()),
        Some(Value::Object(repo)) => text(repo.get("url")),
        _ => None,
    };
    let licenses = match version.get("license") {
        Some(Value::String(name)) => vec![License {
            name: Some(name.clone()),
            url: None,
        }],
        Some(Value::Object(l)) => vec![License {
            name: text(l.get("type")),
            url: text(l.get("url")),
        }],
        _ => Vec::new(),
    };
    let mut dependencies = Vec::new();
    for (field, kind) in [
        ("dependencies", "regular"),
        ("devDependencies", "dev"),
        ("peerDependencies", "peer"),
        ("optionalDependencies", "optional"),
    ] {
        if let Some(Value::Object(deps)) = version.get(field) {
            for (name, range) in deps {
                let parsed = NpmName::parse(name);
                dependencies.push(Dependency {
                    namespace: parsed.as_ref().and_then(|n| n.scope.clone()),
                    package: parsed.map_or_else(|| name.clone(), |n| n.name),
                    dependency_type: Some(kind.to_string()),
                    version_requirement: range.as_str().map(str::to_string),
                });
            }
        }
    }
    let mut manifest = version.clone();
    manifest.remove("readme");
    manifest.remove("readmeFilename");
    VersionMetadata {
        manifest: Some(Value::Object(manifest)),
        summary: text(version.get("description")),
        home_page: text(version.get("homepage")),
        source_code_repository: repository,
        licenses,
        readme: text(version.get("readme"))
            .or_else(|| text(doc.get("readme")))
            .filter(|r| !r.is_empty()),
        dependencies,
    }
}

fn publish(
    cx: &RepoCx<'_>,
    package: &NpmName,
    doc: &Map<String, Value>,
    attachments: &Map<String, Value>,
    streamed: Option<(String, StagedBlob)>,
) -> Result<Response<Body>, RepoError> {
    let Some(Value::Object(versions)) = doc.get("versions") else {
        return Err(bad("The publish has no versions"));
    };
    let [(version_name, Value::Object(version))] = versions.iter().collect::<Vec<_>>()[..] else {
        return Err(bad("A publish must carry exactly one version"));
    };
    if semver::Version::parse(version_name).is_err() {
        return Err(bad(format!("Invalid version: {version_name}")));
    }
    let tarballs: Vec<(&String, &Value)> = attachments
        .iter()
        .filter(|(name, _)| name.ends_with(".tgz"))
        .collect();
    let [(name, attachment)] = tarballs[..] else {
        return Err(bad("A publish must carry exactly one tarball"));
    };
    let staged = match streamed {
        Some((streamed_name, staged)) if streamed_name == *name => staged,
        _ => {
            // Data the scanner could not take out (escaped keys) is in the document.
            let Some(data) = attachment.get("data").and_then(Value::as_str) else {
                return Err(bad("The tarball attachment has no data"));
            };
            cx.write(|| stage_base64(&cx.app.registry, data))
                .map_err(|e| RepoError::storage("cannot stage an npm tarball", &e))?
                .map_err(bad)?
        }
    };
    if let Some(length) = attachment.get("length").and_then(Value::as_u64) {
        if length != staged.size() {
            return Err(bad("The tarball length does not match its declared length"));
        }
    }
    check_integrity(version.get("dist"), &staged).map_err(bad)?;
    let metadata = with_readme(metadata_of(version, doc), staged.path());
    let p = package.id();
    // The tags the document carries are committed with the version, in one write.
    let dist_tags: BTreeMap<String, String> = match doc.get("dist-tags") {
        Some(Value::Object(tags)) => tags
            .iter()
            .filter_map(|(tag, v)| v.as_str().map(|v| (tag.clone(), v.to_string())))
            .collect(),
        _ => BTreeMap::new(),
    };
    publish::publish::<Npm>(
        cx,
        Upload {
            publish: Publish {
                package: &p,
                display_name: &package.full(),
                version: version_name,
                asset: NewAsset::new(TARBALL_ASSET.to_string(), staged),
                unfinished: false,
                append: false,
                metadata: Some(metadata),
                dist_tags,
            },
            check_upstream: true,
        },
    )?;
    Ok(json(
        StatusCode::OK,
        &json!({ "ok": true, "id": package.full() }),
    ))
}

/// npm no longer sends the readme with a publish (it says "ERROR: No README data found!"
/// at most): take it from the package's README file in the tarball, as registries do.
fn with_readme(mut metadata: VersionMetadata, tarball: &std::path::Path) -> VersionMetadata {
    const PLACEHOLDER: &str = "ERROR: No README data found!";
    if metadata.readme.as_deref().is_none_or(|r| r == PLACEHOLDER) {
        metadata.readme = std::fs::File::open(tarball)
            .ok()
            .and_then(|file| readme_from_tarball(std::io::BufReader::new(file)));
    }
    metadata
}

/// The top-level README of an npm tarball (`package/README*`), at most 1 MiB of UTF-8.
fn readme_from_tarball(tarball: impl std::io::Read) -> Option<String> {
    use std::io::Read as _;
    const LIMIT: u64 = 1024 * 1024;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tarball));
    for entry in archive.entries().ok()? {
        let mut entry = entry.ok()?;
        let path = entry.path().ok()?.into_owned();
        let mut parts = path.components();
        let (Some(_top), Some(file), None) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let name = file.as_os_str().to_string_lossy().to_ascii_lowercase();
        if name == "readme" || name.starts_with("readme.") {
            let mut text = String::new();
            entry.by_ref().take(LIMIT).read_to_string(&mut text).ok()?;
            return Some(text).filter(|t| !t.is_empty());
        }
    }
    None
}

/// The tarball must match the integrity data the client declared (sha512 and/or SHA-1),
/// compared with the digests computed while it was staged.
pub(super) fn check_integrity(dist: Option<&Value>, staged: &StagedBlob) -> Result<(), String> {
    let digests = staged.digests();
    let dist = dist.and_then(Value::as_object);
    if let Some(integrity) = dist
        .and_then(|d| d.get("integrity"))
        .and_then(Value::as_str)
    {
        for entry in integrity.split_whitespace() {
            if let Some(expected) = entry.strip_prefix("sha512-") {
                let actual = hex::decode(&digests.sha512)
                    .map(|raw| base64::engine::general_purpose::STANDARD.encode(raw))
                    .unwrap_or_default();
                if actual != expected {
                    return Err("The tarball does not match its sha512 integrity".to_string());
                }
            }
        }
    }
    if let Some(shasum) = dist.and_then(|d| d.get("shasum")).and_then(Value::as_str) {
        if !digests.sha1.eq_ignore_ascii_case(shasum) {
            return Err("The tarball does not match its shasum".to_string());
        }
    }
    Ok(())
}

/// `npm deprecate`: copy each stored version's `deprecated` from the body (empty clears).
fn deprecate(
    cx: &RepoCx<'_>,
    package: &NpmName,
    doc: &Map<String, Value>,
) -> Result<Response<Body>, RepoError> {
    let p = package.id();
    let Some(Value::Object(versions)) = doc.get("versions") else {
        return Err(bad("The update has no versions"));
    };
    let stored = match cx.app.registry.versions(&cx.repo, &p) {
        Ok(stored) => stored,
        // Versions that exist only upstream cannot be deprecated here; they are left alone.
        Err(crate::registry::Error::NotFound { .. }) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    for record in stored {
        let Some(Value::Object(sent)) = versions.get(&record.version) else {
            continue;
        };
        let mut manifest = match record.metadata.manifest.clone() {
            Some(Value::Object(map)) => map,
            _ => Map::new(),
        };
        let before = manifest.get("deprecated").cloned();
        match sent.get("deprecated").and_then(Value::as_str) {
            Some(message) if !message.is_empty() => {
                manifest.insert("deprecated".into(), Value::String(message.to_string()));
            }
            _ => {
                manifest.remove("deprecated");
            }
        }
        if manifest.get("deprecated").cloned() != before {
            cx.write(|| {
                cx.app.registry.update_manifest(
                    &cx.repo,
                    &p,
                    &record.version,
                    Value::Object(manifest),
                )
            })?;
        }
    }
    Ok(json(
        StatusCode::OK,
        &json!({ "ok": true, "id": package.full() }),
    ))
}

/// `-/package/{name}/dist-tags[/{tag}]`: list (merged view), set or remove a tag.
pub(super) fn dist_tags(
    cx: &RepoCx<'_>,
    method: &Method,
    package: &NpmName,
    tag: Option<&str>,
    body: &[u8],
) -> Result<Response<Body>, RepoError> {
    let p = package.id();
    let merged = cx
        .app
        .registry
        .merged(&cx.repo, &p, Some(&Npm::adapter(cx)))?;
    let changed = match (method, tag) {
        (&Method::GET | &Method::HEAD, None) => {
            if merged.versions.is_empty() {
                return Err(RepoError::not_found());
            }
            return Ok(json(StatusCode::OK, &json!(merged.dist_tags)));
        }
        (&Method::PUT, Some(tag)) => {
            let Ok(Value::String(version)) = serde_json::from_slice::<Value>(body) else {
                return Err(bad("The body must be a JSON string naming a version"));
            };
            if !merged.versions.iter().any(|f| f.version.version == version) {
                return Err(RepoError::NotFound(format!(
                    "Version {version} of {} not found",
                    package.full()
                )));
            }
            cx.write(|| {
                cx.app
                    .registry
                    .set_dist_tag(&cx.repo, &p, tag, Some(&version))
            })?
        }
        (&Method::DELETE, Some(tag)) => {
            cx.write(|| cx.app.registry.set_dist_tag(&cx.repo, &p, tag, None))?
        }
        _ => return Err(RepoError::method(method)),
    };
    if changed {
        Ok(json(StatusCode::OK, &json!({ "ok": true })))
    } else {
        Err(RepoError::not_found())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tarball_with(files: &[(&str, &str)]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut builder = tar::Builder::new(gz);
        for (path, content) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(content.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder
                .append_data(&mut header, path, content.as_bytes())
                .unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn readme_comes_from_the_top_level_of_the_tarball() {
        let tarball = tarball_with(&[
            ("package/package.json", "{}"),
            ("package/docs/README.md", "nested"),
            ("package/Readme.md", "# Widget"),
        ]);
        assert_eq!(
            readme_from_tarball(tarball.as_slice()).as_deref(),
            Some("# Widget")
        );
        assert_eq!(
            readme_from_tarball(tarball_with(&[("package/index.js", "1")]).as_slice()),
            None
        );
        assert_eq!(readme_from_tarball(&b"not a tarball"[..]), None);
    }
}

#[cfg(test)]
mod fuzz_target {
    use super::*;

    /// npm publish documents as far as they are read without a store: the JSON, every
    /// version's metadata, names, and the README inside the attachment's tarball.
    #[test]
    fn fuzz_npm_publish_documents() {
        crate::fuzz::fuzz("npm_publish", "npm_publish", |input| {
            // Pushed in pieces of a size the input chooses, as the network would cut it.
            let step = input.first().map_or(1, |b| usize::from(*b) + 1);
            let Ok((skeleton, found)) = crate::formats::npm::document::scan_whole(input, step)
            else {
                return;
            };
            for (_, data) in &found {
                if let Ok(tarball) = data {
                    let _ = readme_from_tarball(tarball.as_slice());
                }
            }
            let Ok(Value::Object(doc)) = serde_json::from_slice::<Value>(&skeleton) else {
                return;
            };
            if let Some(name) = doc.get("name").and_then(Value::as_str) {
                let _ = NpmName::parse(name);
            }
            if let Some(Value::Object(versions)) = doc.get("versions") {
                for version in versions.values().filter_map(Value::as_object) {
                    let _ = metadata_of(version, &doc);
                }
            }
            if let Some(Value::Object(attachments)) = doc.get("_attachments") {
                for attachment in attachments.values() {
                    let data = attachment.get("data").and_then(Value::as_str).unwrap_or("");
                    if let Ok(tarball) = base64::engine::general_purpose::STANDARD.decode(data) {
                        let _ = readme_from_tarball(tarball.as_slice());
                    }
                }
            }
        });
    }

    /// npm tarballs on their own: the README search, never a panic.
    #[test]
    fn fuzz_npm_tarballs() {
        crate::fuzz::fuzz("npm_tarball", "tarball", |input| {
            let _ = readme_from_tarball(input);
        });
    }
}
