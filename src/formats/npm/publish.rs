//! npm's writes: `npm publish` (one version, its tarball base64-encoded in the document),
//! `npm deprecate` (a metadata update of stored versions) and dist-tag changes.

use super::{Npm, NpmName, TARBALL_ASSET};
use crate::endpoints::publish::{self, Upload};
use crate::endpoints::{json, Format, RepoCx, RepoError};
use crate::registry::{Dependency, License, NewAsset, Publish, StagedBlob, VersionMetadata};
use crate::wire::Body;
use base64::Engine as _;
use http::{Method, Response, StatusCode};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

fn bad(message: impl Into<String>) -> RepoError {
    RepoError::BadRequest(message.into())
}

/// PUT `{name}`: a publish when the body carries `_attachments`, otherwise a metadata update
/// (`npm deprecate`).
///
/// The attachments' base64 is not copied: it is found in the body without copying
/// (`attachment_data`), the rest of the document is parsed without it, and the tarball is
/// decoded chunk by chunk straight into staging, so a publish costs its body plus a chunk
/// (it cost nearly three times the body).
pub(super) fn put_package(
    cx: &RepoCx<'_>,
    package: &NpmName,
    body: &[u8],
) -> Result<Response<Body>, RepoError> {
    let (skeleton, data) = attachment_data(body);
    let Ok(Value::Object(doc)) = serde_json::from_slice::<Value>(&skeleton) else {
        return Err(bad("The request body is not a JSON object"));
    };
    drop(skeleton);
    if doc.get("name").and_then(Value::as_str) != Some(package.full().as_str()) {
        return Err(bad("The package name in the body does not match the URL"));
    }
    match doc.get("_attachments") {
        Some(Value::Object(attachments)) if !attachments.is_empty() => {
            publish(cx, package, &doc, attachments, &data)
        }
        _ => deprecate(cx, package, &doc),
    }
}

/// The body with every `_attachments.*.data` string emptied, and those strings by
/// attachment name, borrowed from the body. A body whose attachments cannot be borrowed
/// (escapes in a name or in the data) is returned whole, with no data taken out.
fn attachment_data(body: &[u8]) -> (std::borrow::Cow<'_, [u8]>, BTreeMap<&str, &str>) {
    #[derive(serde::Deserialize)]
    struct Doc<'a> {
        #[serde(borrow, default, rename = "_attachments")]
        attachments: BTreeMap<&'a str, Attachment<'a>>,
    }
    #[derive(serde::Deserialize)]
    struct Attachment<'a> {
        #[serde(borrow, default)]
        data: Option<&'a str>,
    }
    let Ok(doc) = serde_json::from_slice::<Doc<'_>>(body) else {
        return (std::borrow::Cow::Borrowed(body), BTreeMap::new());
    };
    let base = body.as_ptr() as usize;
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    let mut data = BTreeMap::new();
    for (name, attachment) in doc.attachments {
        if let Some(text) = attachment.data {
            let start = text.as_ptr() as usize - base;
            ranges.push((start, start + text.len()));
            data.insert(name, text);
        }
    }
    ranges.sort_unstable();
    let mut skeleton =
        Vec::with_capacity(body.len() - ranges.iter().map(|(a, b)| b - a).sum::<usize>());
    let mut at = 0;
    for (start, end) in ranges {
        skeleton.extend_from_slice(&body[at..start]);
        at = end;
    }
    skeleton.extend_from_slice(&body[at..]);
    (std::borrow::Cow::Owned(skeleton), data)
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
    data: &BTreeMap<&str, &str>,
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
    let Some(data) = data
        .get(name.as_str())
        .copied()
        .or_else(|| attachment.get("data").and_then(Value::as_str))
    else {
        return Err(bad("The tarball attachment has no data"));
    };
    let staged = cx
        .write(|| stage_base64(&cx.app.registry, data))
        .map_err(|e| RepoError::storage("cannot stage an npm tarball", &e))?
        .map_err(bad)?;
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
            let (skeleton, data) = attachment_data(input);
            for text in data.values() {
                for chunk in text.as_bytes().chunks(4096) {
                    let _ = base64::engine::general_purpose::STANDARD.decode(chunk);
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
