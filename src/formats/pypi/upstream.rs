//! The adapter for Python package indexes behind external connections: project pages read
//! at the configured URL (PEP 691 JSON, or PEP 503 HTML), files fetched from the links they
//! carry (on that origin, or one the user allowed) and checked against their SHA-256.

use super::{file_identity, valid_file_name, valid_version, IndexFile};
use crate::endpoints::upstream::sha256_is;
use crate::endpoints::RepoCx;
use crate::registry::names::normalize_name;
use crate::registry::{
    ExternalPackage, ExternalSource, ExternalVersion, NewAsset, PackageId, VersionMetadata,
};
use serde_json::json;
use std::collections::BTreeMap;

/// The Python package index an external connection (`public:pypi`) is configured to reach.
pub struct PublicIndex<'a> {
    pub(super) cx: &'a RepoCx<'a>,
}

impl PublicIndex<'_> {
    /// The project's files on the upstream index (PEP 691 JSON, or PEP 503 HTML).
    fn files(&self, connection: &str, p: &PackageId) -> Option<Vec<IndexFile>> {
        let upstream = self.cx.upstream(connection)?;
        let page = format!("{}/simple/{}/", upstream.base(), p.name);
        let accept = "application/vnd.pypi.simple.v1+json, text/html;q=0.1";
        let body = upstream.listing(&page, accept, 64 * 1024 * 1024)?;
        let (bare_page, _) = crate::outbound::split_credentials(&page);
        let mut files = match serde_json::from_slice::<serde_json::Value>(&body) {
            Ok(doc) => doc
                .get("files")?
                .as_array()?
                .iter()
                .filter_map(|f| {
                    Some(IndexFile {
                        filename: f.get("filename")?.as_str()?.to_string(),
                        url: join_url(&bare_page, f.get("url")?.as_str()?),
                        sha256: f
                            .get("hashes")?
                            .get("sha256")?
                            .as_str()?
                            .to_ascii_lowercase(),
                        size: f
                            .get("size")
                            .and_then(serde_json::Value::as_u64)
                            .unwrap_or(0),
                        requires_python: f
                            .get("requires-python")
                            .and_then(|r| r.as_str())
                            .map(str::to_string),
                        upload_time: f
                            .get("upload-time")
                            .and_then(|t| t.as_str())
                            .map(str::to_string),
                    })
                })
                .collect(),
            Err(_) => anchors(&String::from_utf8_lossy(&body), &bare_page),
        };
        files.retain(|f| valid_file_name(&f.filename) && f.sha256.len() == 64);
        Some(files)
    }

    fn versions(files: Vec<IndexFile>, p: &PackageId) -> BTreeMap<String, Vec<IndexFile>> {
        let mut by_version: BTreeMap<String, Vec<IndexFile>> = BTreeMap::new();
        for file in files {
            if let Some((project, version)) = file_identity(&file.filename) {
                if normalize_name("pypi", &project) == p.name && valid_version(&version) {
                    by_version.entry(version).or_default().push(file);
                }
            }
        }
        by_version
    }
}

/// Resolves a link on an index page against the page's URL (RFC 3986 §5.2: relative
/// paths, `.` and `..` segments, absolute paths and absolute URLs).
fn join_url(page: &str, link: &str) -> String {
    let link = link.split('#').next().unwrap_or(link);
    if link.starts_with("http://") || link.starts_with("https://") {
        return link.to_string();
    }
    let origin_end = page.find("://").map_or(0, |i| i + 3);
    let path_start = page[origin_end..]
        .find('/')
        .map_or(page.len(), |i| origin_end + i);
    let (origin, page_path) = page.split_at(path_start);
    let merged = match link.strip_prefix('/') {
        Some(_) => link.to_string(),
        None => {
            let directory = &page_path[..page_path.rfind('/').map_or(0, |i| i + 1)];
            format!("{directory}{link}")
        }
    };
    let mut segments: Vec<&str> = Vec::new();
    for segment in merged.split('/').skip(1) {
        match segment {
            "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let trailing = if merged.ends_with("/.") || merged.ends_with("/..") {
        "/"
    } else {
        ""
    };
    format!("{origin}/{}{trailing}", segments.join("/"))
}

/// Files from a PEP 503 HTML page: each anchor's `href` (with its `#sha256=`) and
/// `data-requires-python`.
fn anchors(html: &str, page: &str) -> Vec<IndexFile> {
    let attribute = |tag: &str, name: &str| -> Option<String> {
        let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
        let end = tag[start..].find('"')? + start;
        Some(
            tag[start..end]
                .replace("&gt;", ">")
                .replace("&lt;", "<")
                .replace("&quot;", "\"")
                .replace("&amp;", "&"),
        )
    };
    html.split("<a ")
        .skip(1)
        .filter_map(|chunk| {
            let (tag, after) = chunk.split_once('>')?;
            let href = attribute(tag, "href")?;
            let sha256 = href.split_once("#sha256=")?.1.to_ascii_lowercase();
            let filename = after.split('<').next()?.trim().to_string();
            Some(IndexFile {
                url: join_url(page, &href),
                filename,
                sha256,
                size: 0,
                requires_python: attribute(tag, "data-requires-python"),
                upload_time: None,
            })
        })
        .collect()
}

impl ExternalSource for PublicIndex<'_> {
    fn list(&self, connection: &str, p: &PackageId) -> Option<ExternalPackage> {
        let files = self.files(connection, p)?;
        let versions = Self::versions(files, p)
            .into_iter()
            .map(|(version, files)| ExternalVersion {
                version,
                display_name: p.name.clone(),
                published_ms: 0,
                metadata: VersionMetadata {
                    manifest: Some(json!({ "files": files })),
                    ..VersionMetadata::default()
                },
                assets: Vec::new(),
            })
            .collect();
        Some(ExternalPackage {
            versions,
            dist_tags: BTreeMap::new(),
        })
    }

    /// Downloads every file of the version, each verified against the index's SHA-256.
    fn fetch(&self, connection: &str, p: &PackageId, version: &str) -> Option<ExternalVersion> {
        let upstream = self.cx.upstream(connection)?;
        let mut by_version = Self::versions(self.files(connection, p)?, p);
        let files = by_version.remove(version)?;
        let mut assets = Vec::with_capacity(files.len());
        for file in &files {
            let (blob, _) = upstream.file(&file.url, usize::MAX >> 1, sha256_is(&file.sha256))?;
            let mut properties = BTreeMap::new();
            if let Some(requires) = &file.requires_python {
                properties.insert("requires-python".to_string(), requires.clone());
            }
            if let Some(uploaded) = &file.upload_time {
                properties.insert("upload-time".to_string(), uploaded.clone());
            }
            assets.push(NewAsset {
                name: file.filename.clone(),
                blob,
                properties,
            });
        }
        Some(ExternalVersion {
            version: version.to_string(),
            display_name: p.name.clone(),
            published_ms: 0,
            metadata: VersionMetadata::default(),
            assets,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_pages_give_files_and_absolute_urls() {
        let page = "http://mirror:8080/simple/my-pkg/";
        let html = r#"<a href="../../packages/my_pkg-1.0-py3-none-any.whl#sha256=ABCDEF" data-requires-python="&gt;=3.8">my_pkg-1.0-py3-none-any.whl</a><br/>"#;
        let files = anchors(html, page);
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].filename, "my_pkg-1.0-py3-none-any.whl");
        assert_eq!(
            files[0].url,
            "http://mirror:8080/packages/my_pkg-1.0-py3-none-any.whl"
        );
        assert_eq!(files[0].sha256, "abcdef");
        assert_eq!(files[0].requires_python.as_deref(), Some(">=3.8"));
        assert_eq!(
            join_url(page, "/files/x.whl#sha256=1"),
            "http://mirror:8080/files/x.whl"
        );
        assert_eq!(
            join_url(page, "https://elsewhere/x.whl"),
            "https://elsewhere/x.whl"
        );
        assert_eq!(
            join_url(page, "x.whl"),
            "http://mirror:8080/simple/my-pkg/x.whl"
        );
        assert_eq!(
            join_url(page, "../../+f/ab/x.whl"),
            "http://mirror:8080/+f/ab/x.whl"
        );
        assert_eq!(
            join_url(page, "./x.whl"),
            "http://mirror:8080/simple/my-pkg/x.whl"
        );
    }
}
