//! `cargo publish`: the length-prefixed body (metadata JSON, then the `.crate`) checked down
//! to the crate's own Cargo.toml, its index line derived once, then the one publish path.

use super::{package_id, valid_name, Cargo, MAX_PUBLISH_BYTES};
use crate::endpoints::publish::{self, Upload};
use crate::endpoints::{json, RepoCx, RepoError};
use crate::registry::{
    stream_into, Dependency, License, NewAsset, Publish, Registry, StagedBlob, StreamError,
    VersionMetadata,
};
use crate::wire::{byte_stream, check_declared, Body, BodyError, RequestBody};
use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The start of cargo's publish body: `u32 LE` metadata length, the metadata JSON, `u32 LE`
/// crate length; the `.crate` follows, and nothing after it.
#[derive(Debug)]
pub(super) struct Head {
    pub metadata: Map<String, Value>,
    pub crate_len: usize,
    /// Bytes of the body the head takes.
    pub len: usize,
}

/// Why a publish body's head cannot be read.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum HeadError {
    /// The metadata is longer than `MAX_METADATA_BYTES`.
    TooLarge,
    Bad(String),
}

/// Reads the head from the first bytes of a body: `Ok(None)` while more are needed.
pub(super) fn head_of(body: &[u8]) -> Result<Option<Head>, HeadError> {
    let take_u32 = |at: usize| -> Option<usize> {
        let bytes: [u8; 4] = body.get(at..at + 4)?.try_into().ok()?;
        usize::try_from(u32::from_le_bytes(bytes)).ok()
    };
    let Some(json_len) = take_u32(0) else {
        return Ok(None);
    };
    if json_len > MAX_METADATA_BYTES {
        return Err(HeadError::TooLarge);
    }
    let json_end = 4 + json_len;
    let Some(crate_len) = take_u32(json_end) else {
        return Ok(None);
    };
    let metadata = match serde_json::from_slice::<Value>(&body[4..json_end]) {
        Ok(Value::Object(map)) => map,
        _ => {
            return Err(HeadError::Bad(
                "The publish metadata is not a JSON object".to_string(),
            ))
        }
    };
    Ok(Some(Head {
        metadata,
        crate_len,
        len: json_end + 4,
    }))
}

/// Splits a whole publish body into its metadata and its `.crate` (tests and the fuzz target).
#[cfg(test)]
pub(super) fn split_publish_body(body: &[u8]) -> Result<(Map<String, Value>, &[u8]), String> {
    let head = head_of(body)
        .map_err(|e| format!("{e:?}"))?
        .ok_or("The publish request ends early")?;
    let crate_file = &body[head.len..];
    if crate_file.len() != head.crate_len {
        return Err(format!(
            "The publish request declares a {}-byte crate but carries {} bytes",
            head.crate_len,
            crate_file.len()
        ));
    }
    Ok((head.metadata, crate_file))
}

/// Largest metadata document of a publish (it carries the readme).
const MAX_METADATA_BYTES: usize = 16 * 1024 * 1024;

/// Largest `Cargo.toml` read from a crate.
const MAX_MANIFEST_BYTES: u64 = 1024 * 1024;

/// Reads a `.crate`: a gzipped tarball whose entries all sit under `{name}-{version}/`,
/// with a `Cargo.toml` naming that crate and version. Returns its `[package]` table.
pub(super) fn read_crate(
    bytes: impl std::io::Read,
    name: &str,
    version: &str,
) -> Result<Map<String, Value>, String> {
    use std::io::Read as _;
    let prefix = format!("{name}-{version}/");
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let entries = archive
        .entries()
        .map_err(|e| format!("The crate is not a gzipped tarball: {e}"))?;
    let mut package = None;
    for entry in entries {
        let entry = entry.map_err(|e| format!("The crate is not a gzipped tarball: {e}"))?;
        let path = entry
            .path()
            .map_err(|e| format!("The crate has an unreadable path: {e}"))?
            .to_string_lossy()
            .into_owned();
        if !path.starts_with(&prefix) || path.split('/').any(|s| s == "..") {
            return Err(format!("The crate's file {path} is not under {prefix}"));
        }
        if path == format!("{prefix}Cargo.toml") {
            let mut text = String::new();
            entry
                .take(MAX_MANIFEST_BYTES)
                .read_to_string(&mut text)
                .map_err(|e| format!("The crate's Cargo.toml cannot be read: {e}"))?;
            let manifest: toml::Table = toml::from_str(&text)
                .map_err(|e| format!("The crate's Cargo.toml is not valid TOML: {e}"))?;
            package = manifest
                .get("package")
                .and_then(|p| serde_json::to_value(p).ok())
                .and_then(|p| p.as_object().cloned());
        }
    }
    let package = package.ok_or("The crate has no Cargo.toml with a [package] table")?;
    if string(&package, "name").as_deref() != Some(name)
        || string(&package, "version").as_deref() != Some(version)
    {
        return Err(format!(
            "The crate's Cargo.toml does not describe {name} {version}"
        ));
    }
    Ok(package)
}

pub(super) fn string(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .filter(|s| !s.is_empty())
}

/// The index line cargo resolves from, derived from the publish metadata (the registry
/// index format: `req` for `version_req`, renamed dependencies under their alias with
/// `package` set, `dep:`/`?` features in `features2` with `v: 2`).
pub(super) fn index_line_of(metadata: &Map<String, Value>, cksum: &str) -> Map<String, Value> {
    let deps: Vec<Value> = metadata
        .get("deps")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .map(|dep| {
            let real = dep.get("name").cloned().unwrap_or(Value::Null);
            let alias = dep
                .get("explicit_name_in_toml")
                .filter(|v| v.is_string())
                .cloned();
            json!({
                "name": alias.clone().unwrap_or_else(|| real.clone()),
                "req": dep.get("version_req").cloned().unwrap_or(Value::Null),
                "features": dep.get("features").cloned().unwrap_or_else(|| json!([])),
                "optional": dep.get("optional").cloned().unwrap_or(Value::Bool(false)),
                "default_features": dep.get("default_features").cloned().unwrap_or(Value::Bool(true)),
                "target": dep.get("target").cloned().unwrap_or(Value::Null),
                "kind": dep.get("kind").cloned().unwrap_or_else(|| json!("normal")),
                "registry": dep.get("registry").cloned().unwrap_or(Value::Null),
                "package": if alias.is_some() { real } else { Value::Null },
            })
        })
        .collect();
    let mut features = Map::new();
    let mut features2 = Map::new();
    if let Some(all) = metadata.get("features").and_then(Value::as_object) {
        for (feature, enables) in all {
            let new_syntax = enables.as_array().is_some_and(|list| {
                list.iter()
                    .filter_map(Value::as_str)
                    .any(|e| e.starts_with("dep:") || e.contains('?'))
            });
            let target = if new_syntax {
                &mut features2
            } else {
                &mut features
            };
            target.insert(feature.clone(), enables.clone());
        }
    }
    let mut line = Map::new();
    line.insert(
        "name".into(),
        metadata.get("name").cloned().unwrap_or(Value::Null),
    );
    line.insert(
        "vers".into(),
        metadata.get("vers").cloned().unwrap_or(Value::Null),
    );
    line.insert("deps".into(), Value::Array(deps));
    line.insert("cksum".into(), Value::String(cksum.to_string()));
    line.insert("features".into(), Value::Object(features));
    line.insert("yanked".into(), Value::Bool(false));
    line.insert(
        "links".into(),
        metadata.get("links").cloned().unwrap_or(Value::Null),
    );
    if !features2.is_empty() {
        line.insert("features2".into(), Value::Object(features2));
        line.insert("v".into(), json!(2));
    } else {
        line.insert("v".into(), json!(1));
    }
    if let Some(rust_version) = metadata.get("rust_version").filter(|v| v.is_string()) {
        line.insert("rust_version".into(), rust_version.clone());
    }
    line
}

/// What the control plane reports of a crate version.
pub(super) fn version_metadata(
    metadata: &Map<String, Value>,
    line: Map<String, Value>,
) -> VersionMetadata {
    let dependencies = line
        .get("deps")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|dep| {
            let name = dep
                .get("package")
                .and_then(Value::as_str)
                .or_else(|| dep.get("name").and_then(Value::as_str))?;
            Some(Dependency {
                namespace: None,
                package: name.to_ascii_lowercase(),
                dependency_type: dep.get("kind").and_then(Value::as_str).map(str::to_string),
                version_requirement: dep.get("req").and_then(Value::as_str).map(str::to_string),
            })
        })
        .collect();
    VersionMetadata {
        manifest: Some(Value::Object(line)),
        summary: string(metadata, "description"),
        home_page: string(metadata, "homepage"),
        source_code_repository: string(metadata, "repository"),
        licenses: string(metadata, "license")
            .map(|name| {
                vec![License {
                    name: Some(name),
                    url: None,
                }]
            })
            .unwrap_or_default(),
        readme: string(metadata, "readme"),
        dependencies,
    }
}

/// The body streamed: its head is read into memory (bounded by `MAX_METADATA_BYTES`), the
/// `.crate` goes through `stream_into` to staging as it arrives, so a publish costs its
/// metadata and a batch, not the crate. Then the crate is checked from staging.
pub(super) async fn publish(
    cx: &RepoCx<'_>,
    headers: &HeaderMap,
    body: RequestBody,
) -> Result<Response<Body>, RepoError> {
    let bad = RepoError::BadRequest;
    check_declared(headers, MAX_PUBLISH_BYTES)?;
    let (metadata, staged) = receive(&cx.app.registry, body).await?;
    let (Some(name), Some(version)) = (string(&metadata, "name"), string(&metadata, "vers")) else {
        return Err(bad(
            "The publish metadata needs 'name' and 'vers'".to_string()
        ));
    };
    if !valid_name(&name) {
        return Err(bad(format!("Invalid crate name '{name}'")));
    }
    if semver::Version::parse(&version).is_err() {
        return Err(bad(format!(
            "Invalid version '{version}': not a semantic version"
        )));
    }
    cx.write(|| {
        let file = std::fs::File::open(staged.path())
            .map_err(|e| RepoError::storage("cannot read a staged crate", &e))?;
        read_crate(std::io::BufReader::new(file), &name, &version).map_err(bad)
    })?;
    let p = package_id(&name);
    let registry = &cx.app.registry;
    // One crate, one spelling: names differing only in case share the lowercase package,
    // and cargo matches index lines by exact name, so a second spelling is refused.
    let versions = match registry.versions(&cx.repo, &p) {
        Ok(versions) => versions,
        Err(crate::registry::Error::NotFound { .. }) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    let spelled = versions
        .iter()
        .filter_map(|v| v.metadata.manifest.as_ref()?.get("name")?.as_str())
        .find(|spelled| *spelled != name);
    if let Some(existing) = spelled {
        return Err(RepoError::Conflict(format!(
            "crate `{name}` was previously published as `{existing}`"
        )));
    }
    let line = index_line_of(&metadata, &staged.digests().sha256);
    publish::publish::<Cargo>(
        cx,
        Upload {
            publish: Publish {
                package: &p,
                display_name: &name,
                version: &version,
                asset: NewAsset::new(format!("{name}-{version}.crate"), staged),
                unfinished: false,
                append: false,
                metadata: Some(version_metadata(&metadata, line)),
                dist_tags: BTreeMap::new(),
            },
            check_upstream: true,
        },
    )?;
    Ok(json(
        StatusCode::OK,
        &json!({ "warnings": { "invalid_categories": [], "invalid_badges": [], "other": [] } }),
    ))
}

/// Reads the head, then streams exactly the declared crate into staging.
async fn receive(
    registry: &Registry,
    body: RequestBody,
) -> Result<(Map<String, Value>, StagedBlob), RepoError> {
    use futures_util::StreamExt as _;
    let mut frames = byte_stream(body);
    let mut start = Vec::new();
    let head = loop {
        match head_of(&start) {
            Ok(Some(head)) => break head,
            Ok(None) => {}
            Err(HeadError::TooLarge) => {
                return Err(RepoError::TooLarge(format!(
                    "The publish metadata is larger than the limit of {MAX_METADATA_BYTES} bytes"
                )))
            }
            Err(HeadError::Bad(why)) => return Err(RepoError::BadRequest(why)),
        }
        match frames.next().await {
            Some(frame) => start.extend_from_slice(&frame?),
            None => {
                return Err(RepoError::BadRequest(
                    "The publish request ends early".into(),
                ))
            }
        }
    };
    let crate_len = head.crate_len;
    if crate_len > MAX_PUBLISH_BYTES {
        return Err(BodyError::TooLarge(MAX_PUBLISH_BYTES).into());
    }
    let first = Bytes::from(start).slice(head.len..);
    let crate_bytes = futures_util::stream::iter([Ok(first)]).chain(frames);
    let upload = registry
        .upload()
        .map_err(|e| RepoError::storage("cannot stage a crate", &e))?;
    let carries_other = |carried: &str| {
        RepoError::BadRequest(format!(
            "The publish request declares a {crate_len}-byte crate but carries {carried} bytes"
        ))
    };
    let staged = stream_into(upload, crate_bytes, crate_len as u64)
        .await
        .map_err(|e| match e {
            StreamError::TooLarge => carries_other("more"),
            StreamError::Body(e) => e.into(),
            StreamError::Io(e) => RepoError::storage("cannot stage a crate", &e),
        })?;
    if staged.size() != crate_len as u64 {
        return Err(carries_other(&staged.size().to_string()));
    }
    Ok((head.metadata, staged))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_bodies_split_exactly() {
        let meta = br#"{"name":"foo","vers":"1.0.0"}"#;
        let mut body = Vec::new();
        body.extend_from_slice(&u32::try_from(meta.len()).unwrap().to_le_bytes());
        body.extend_from_slice(meta);
        body.extend_from_slice(&3u32.to_le_bytes());
        body.extend_from_slice(b"abc");
        let (metadata, file) = split_publish_body(&body).unwrap();
        assert_eq!(
            (metadata["name"].as_str(), file),
            (Some("foo"), &b"abc"[..])
        );
        assert!(split_publish_body(&body[..body.len() - 1]).is_err());
        assert!(split_publish_body(&[0xff, 0xff, 0xff, 0x7f]).is_err());
        assert!(split_publish_body(b"").is_err());
    }

    #[test]
    fn index_lines_use_the_index_vocabulary() {
        let metadata: Map<String, Value> = serde_json::from_value(json!({
            "name": "foo", "vers": "1.0.0", "links": null, "rust_version": "1.70",
            "deps": [
                {"name": "bar", "version_req": "^1", "features": [], "optional": true,
                 "default_features": true, "target": null, "kind": "normal", "registry": null},
                {"name": "baz-real", "version_req": "=2.0.0", "features": ["x"], "optional": false,
                 "default_features": false, "target": "cfg(unix)", "kind": "dev",
                 "explicit_name_in_toml": "baz"}
            ],
            "features": {"default": ["std"], "std": [], "extra": ["dep:bar"]}
        }))
        .unwrap();
        let line = index_line_of(&metadata, "00");
        assert_eq!(line["deps"][0]["req"], "^1");
        assert_eq!(line["deps"][1]["name"], "baz");
        assert_eq!(line["deps"][1]["package"], "baz-real");
        assert_eq!(line["features2"]["extra"], json!(["dep:bar"]));
        assert_eq!(line["v"], 2);
        assert!(line["features"].get("extra").is_none());
        let described = version_metadata(&metadata, line);
        assert_eq!(described.dependencies[1].package, "baz-real");
        assert_eq!(
            described.dependencies[1].dependency_type.as_deref(),
            Some("dev")
        );
    }
}

#[cfg(test)]
mod fuzz_target {
    use super::*;

    /// cargo's length-prefixed publish frame, then the `.crate` inside it (a gzipped tar),
    /// the index line and the version metadata: refused or read, never a panic.
    #[test]
    fn fuzz_cargo_publish_frames() {
        crate::fuzz::fuzz("cargo_publish", "cargo_publish", |input| {
            let Ok((metadata, crate_file)) = split_publish_body(input) else {
                return;
            };
            let name = string(&metadata, "name").unwrap_or_default();
            let version = string(&metadata, "vers").unwrap_or_default();
            let _ = read_crate(crate_file, &name, &version);
            let line = index_line_of(&metadata, "00");
            let _ = version_metadata(&metadata, line);
        });
    }

    /// `.crate` tarballs on their own: every entry path and manifest checked, never a panic.
    #[test]
    fn fuzz_crate_tarballs() {
        crate::fuzz::fuzz("crate_tarball", "tarball", |input| {
            let _ = read_crate(input, "widget", "1.0.0");
        });
    }
}
