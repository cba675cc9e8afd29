//! What a Swift release is made of, read and checked: package scopes, names and versions
//! by the registry specification's grammar (SE-0292 §3.6, SemVer 2.0), the source archive
//! as `swift package archive-source` lays it out (one top-level directory holding
//! `Package.swift` and any `Package@swift-X[.Y[.Z]].swift`), manifest tools versions, and
//! the release metadata document (its Appendix B).
//!
//! Pure parsing over bytes and files: it stores nothing and knows nothing of HTTP.

use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::io::{Read, Seek};

/// Largest manifest read from an archive; a bigger one is refused, not truncated.
pub const MAX_MANIFEST_BYTES: u64 = 1024 * 1024;
/// Most version-specific manifests one release may carry.
pub const MAX_MANIFESTS: usize = 64;
/// Most entries an archive may list (the central directory is read whole).
pub const MAX_ENTRIES: usize = 100_000;

/// Whether `scope` matches `\A[a-zA-Z0-9](?:[a-zA-Z0-9]|-(?=[a-zA-Z0-9])){0,38}\z`.
pub fn valid_scope(scope: &str) -> bool {
    valid_identifier(scope, 39, b"-")
}

/// Whether `name` matches `\A[a-zA-Z0-9](?:[a-zA-Z0-9]|[-_](?=[a-zA-Z0-9])){0,99}\z`.
pub fn valid_name(name: &str) -> bool {
    valid_identifier(name, 100, b"-_")
}

/// Alphanumerics, with separators only between two alphanumerics.
fn valid_identifier(s: &str, max: usize, separators: &[u8]) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > max || !b[0].is_ascii_alphanumeric() {
        return false;
    }
    b.iter().enumerate().all(|(i, c)| {
        c.is_ascii_alphanumeric()
            || (separators.contains(c) && b.get(i + 1).is_some_and(u8::is_ascii_alphanumeric))
    })
}

/// A release version: SemVer 2.0 exactly (no `v` prefix, three numbers, no leading zeros).
pub fn parse_version(version: &str) -> Option<semver::Version> {
    if version.len() > 255 {
        return None;
    }
    semver::Version::parse(version).ok()
}

/// A tools version `MAJOR.MINOR[.PATCH]` as three numbers.
type Tools = (u64, u64, u64);

/// Reads `5`, `5.9` or `5.9.1` (the `swift-version` query and manifest file names).
pub fn parse_tools(text: &str) -> Option<Tools> {
    let mut parts = text.split('.');
    let mut next = |required: bool| -> Option<u64> {
        match parts.next() {
            Some(p) if !p.is_empty() && p.len() <= 9 && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse().ok()
            }
            None if !required => Some(0),
            _ => None,
        }
    };
    let tools = (next(true)?, next(false)?, next(false)?);
    parts.next().is_none().then_some(tools)
}

/// The tools version a manifest declares: the first line that carries the
/// `// swift-tools-version:X.Y[.Z]` comment (SwiftPM accepts spaces around the colon and a
/// `;` after the version), as written.
pub fn declared_tools_version(manifest: &str) -> Option<String> {
    manifest.lines().take(64).find_map(|line| {
        let rest = line.trim_start().strip_prefix("//")?.trim_start();
        let key = rest.get(..19)?;
        if !key.eq_ignore_ascii_case("swift-tools-version") {
            return None;
        }
        let value = rest[19..].trim_start().strip_prefix(':')?.trim_start();
        let end = value
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(value.len());
        let version = &value[..end];
        parse_tools(version).map(|_| version.to_string())
    })
}

/// The manifests of a release: `Package.swift` under the key `""`, each version-specific
/// `Package@swift-X.swift` under `X`, with the tools version each declares.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Manifests {
    pub files: BTreeMap<String, Manifest>,
}

/// One manifest file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub content: String,
    pub tools_version: String,
}

impl Manifests {
    /// The manifest a `swift-version` asks for: the file whose version suffix names the
    /// same tools version once missing parts count as zero (SwiftPM asks `5.9.0` for
    /// `Package@swift-5.9.swift`).
    pub fn for_swift_version(&self, wanted: &str) -> Option<(&str, &Manifest)> {
        let wanted = parse_tools(wanted)?;
        self.files
            .iter()
            .filter(|(key, _)| !key.is_empty())
            .find(|(key, _)| parse_tools(key) == Some(wanted))
            .map(|(key, m)| (key.as_str(), m))
    }

    /// The unqualified `Package.swift`.
    pub fn main(&self) -> Option<&Manifest> {
        self.files.get("")
    }

    /// As kept in the version record.
    pub fn to_json(&self) -> Value {
        let files: Map<String, Value> = self
            .files
            .iter()
            .map(|(key, m)| {
                (
                    key.clone(),
                    serde_json::json!({ "content": m.content, "toolsVersion": m.tools_version }),
                )
            })
            .collect();
        Value::Object(files)
    }

    /// Read back from the version record; `None` when it has no `Package.swift`.
    pub fn from_json(value: &Value) -> Option<Manifests> {
        let files = value
            .as_object()?
            .iter()
            .filter_map(|(key, m)| {
                Some((
                    key.clone(),
                    Manifest {
                        content: m.get("content")?.as_str()?.to_string(),
                        tools_version: m.get("toolsVersion")?.as_str()?.to_string(),
                    },
                ))
            })
            .collect();
        let manifests = Manifests { files };
        manifests.main().is_some().then_some(manifests)
    }
}

/// The version a manifest file name carries: `Package.swift` → `""`,
/// `Package@swift-5.9.swift` → `"5.9"`; `None` for any other name.
fn manifest_key(file: &str) -> Option<String> {
    if file == "Package.swift" {
        return Some(String::new());
    }
    let version = file
        .strip_prefix("Package@swift-")?
        .strip_suffix(".swift")?;
    parse_tools(version).map(|_| version.to_string())
}

/// Reads a source archive: every entry must sit under one top-level directory and stay
/// inside it (no absolute paths, no `..`, no backslashes), and that directory must hold a
/// `Package.swift` declaring its tools version. Errors are what the publisher is told.
pub fn read_archive<R: Read + Seek>(reader: R) -> Result<Manifests, String> {
    let mut zip = zip::ZipArchive::new(reader)
        .map_err(|e| format!("the source archive is not a valid zip file: {e}"))?;
    if zip.len() > MAX_ENTRIES {
        return Err(format!(
            "the source archive has more than {MAX_ENTRIES} entries"
        ));
    }
    let mut top: Option<String> = None;
    let mut wanted: Vec<(usize, String)> = Vec::new();
    for i in 0..zip.len() {
        let entry = zip
            .by_index(i)
            .map_err(|e| format!("the source archive is not a valid zip file: {e}"))?;
        let name = entry
            .name()
            .map_err(|e| format!("the source archive has an unreadable entry name: {e}"))?
            .into_owned();
        let parts: Vec<&str> = name.split('/').collect();
        let unsafe_path = name.starts_with('/')
            || name.contains('\\')
            || name.contains('\0')
            || parts.iter().any(|p| *p == ".." || *p == ".")
            || entry.enclosed_name().is_none();
        if unsafe_path {
            return Err(format!(
                "the source archive has an entry outside its directory: {name:?}"
            ));
        }
        let first = parts[0];
        if first.is_empty() || (parts.len() == 1 && !entry.is_dir()) {
            return Err(
                "the source archive must hold one top-level directory, as swift package archive-source makes it"
                    .to_string(),
            );
        }
        match &top {
            None => top = Some(first.to_string()),
            Some(t) if t == first => {}
            Some(_) => {
                return Err("the source archive has more than one top-level directory".to_string())
            }
        }
        if parts.len() == 2 && entry.is_file() {
            if let Some(key) = manifest_key(parts[1]) {
                if entry.is_symlink() {
                    return Err(format!("{} is a symbolic link", parts[1]));
                }
                wanted.push((i, key));
            }
        }
    }
    if !wanted.iter().any(|(_, key)| key.is_empty()) {
        return Err("package doesn't contain a valid manifest (Package.swift) file".to_string());
    }
    if wanted.len() > MAX_MANIFESTS + 1 {
        return Err(format!(
            "the source archive has more than {MAX_MANIFESTS} version-specific manifests"
        ));
    }
    let mut manifests = Manifests::default();
    for (i, key) in wanted {
        let file_name = if key.is_empty() {
            "Package.swift".to_string()
        } else {
            format!("Package@swift-{key}.swift")
        };
        let entry = zip
            .by_index(i)
            .map_err(|e| format!("cannot read {file_name}: {e}"))?;
        let mut bytes = Vec::new();
        entry
            .take(MAX_MANIFEST_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read {file_name}: {e}"))?;
        if bytes.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(format!(
                "{file_name} is larger than {MAX_MANIFEST_BYTES} bytes"
            ));
        }
        let content =
            String::from_utf8(bytes).map_err(|_| format!("{file_name} is not UTF-8 text"))?;
        let tools_version = match declared_tools_version(&content) {
            Some(v) => v,
            // A version-specific manifest without the comment is read as its name says.
            None if !key.is_empty() => key.clone(),
            None => {
                return Err(
                    "package doesn't contain a valid manifest (Package.swift) file: no swift-tools-version"
                        .to_string(),
                )
            }
        };
        manifests.files.insert(
            key,
            Manifest {
                content,
                tools_version,
            },
        );
    }
    Ok(manifests)
}

/// The release metadata document of a publish (Appendix B), checked for its types; what
/// the control plane shows is taken from it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReleaseMetadata {
    /// The document as sent (an object), served back in the release's `metadata`.
    pub document: Map<String, Value>,
}

impl ReleaseMetadata {
    /// Parses and checks a `metadata` part; the error says what is wrong.
    pub fn parse(text: &str) -> Result<ReleaseMetadata, String> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| format!("invalid JSON provided for release metadata: {e}"))?;
        let Value::Object(document) = value else {
            return Err("invalid JSON provided for release metadata: not an object".to_string());
        };
        let string = |key: &str, v: Option<&Value>| match v {
            None | Some(Value::String(_)) => Ok(()),
            Some(_) => Err(format!(
                "invalid JSON provided for release metadata: {key} must be a string"
            )),
        };
        for key in [
            "description",
            "licenseURL",
            "readmeURL",
            "originalPublicationTime",
        ] {
            string(key, document.get(key))?;
        }
        match document.get("repositoryURLs") {
            None => {}
            Some(Value::Array(urls)) if urls.iter().all(Value::is_string) => {}
            Some(_) => {
                return Err(
                    "invalid JSON provided for release metadata: repositoryURLs must be an array of strings"
                        .to_string(),
                )
            }
        }
        let person = |key: &str, v: &Value| -> Result<(), String> {
            let ok = v.as_object().is_some_and(|o| {
                o.get("name").is_some_and(Value::is_string)
                    && ["email", "description", "url"]
                        .iter()
                        .all(|k| o.get(*k).is_none_or(Value::is_string))
            });
            if ok {
                Ok(())
            } else {
                Err(format!(
                    "invalid JSON provided for release metadata: {key} needs a name and string fields"
                ))
            }
        };
        if let Some(author) = document.get("author") {
            person("author", author)?;
            if let Some(org) = author.get("organization") {
                person("author.organization", org)?;
            }
        }
        Ok(ReleaseMetadata { document })
    }

    fn text(&self, key: &str) -> Option<String> {
        self.document
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }

    /// A description of the release.
    pub fn description(&self) -> Option<String> {
        self.text("description")
    }

    /// The licence document's URL.
    pub fn license_url(&self) -> Option<String> {
        self.text("licenseURL")
    }

    /// The code repository URLs, in the order given.
    pub fn repository_urls(&self) -> Vec<String> {
        self.document
            .get("repositoryURLs")
            .and_then(Value::as_array)
            .map(|urls| {
                urls.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A repository URL compared the way identifiers are looked up: case-insensitive, without
/// a trailing `/` or `.git`.
pub fn comparable_url(url: &str) -> String {
    let url = url.trim().to_ascii_lowercase();
    let url = url.trim_end_matches('/');
    url.strip_suffix(".git").unwrap_or(url).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write as _};

    pub(crate) fn zip_of(entries: &[(&str, &str)]) -> Vec<u8> {
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        for (name, content) in entries {
            if name.ends_with('/') {
                out.add_directory(*name, options).unwrap();
            } else {
                out.start_file(*name, options).unwrap();
                out.write_all(content.as_bytes()).unwrap();
            }
        }
        out.finish().unwrap().into_inner()
    }

    #[test]
    fn scopes_and_names_follow_the_registry_grammar() {
        for ok in ["mona", "Mona-1", "a", &"a".repeat(39)] {
            assert!(valid_scope(ok), "{ok}");
        }
        for bad in [
            "",
            "-mona",
            "mona-",
            "mo--na",
            "mo_na",
            "mo.na",
            &"a".repeat(40),
            "é",
        ] {
            assert!(!valid_scope(bad), "{bad}");
        }
        for ok in [
            "LinkedList",
            "linked_list",
            "linked-list-2",
            &"a".repeat(100),
        ] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in [
            "",
            "_x",
            "x_",
            "x__y",
            "x-_y",
            "x.y",
            "..",
            &"a".repeat(101),
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn versions_are_semver_and_tools_versions_are_read_as_swiftpm_writes_them() {
        assert!(parse_version("1.0.0").is_some());
        assert!(parse_version("1.0.0-beta.1+build.5").is_some());
        for bad in ["1.0", "v1.0.0", "01.0.0", "1.0.0.0", "latest", ""] {
            assert!(parse_version(bad).is_none(), "{bad}");
        }
        assert_eq!(parse_tools("5.9"), Some((5, 9, 0)));
        assert_eq!(parse_tools("5.9.0"), parse_tools("5.9"));
        assert_eq!(parse_tools("6"), Some((6, 0, 0)));
        assert_eq!(parse_tools("5..9"), None);
        assert_eq!(parse_tools("5.9.1.2"), None);
        assert_eq!(
            declared_tools_version("// swift-tools-version:5.9\nimport PackageDescription\n"),
            Some("5.9".to_string())
        );
        assert_eq!(
            declared_tools_version(
                "// Licence header\n//swift-tools-version: 6.0.1; (experimental)\n"
            ),
            Some("6.0.1".to_string())
        );
        assert_eq!(declared_tools_version("import PackageDescription\n"), None);
    }

    #[test]
    fn archives_are_read_as_archive_source_lays_them_out() {
        let zip = zip_of(&[
            ("LinkedList/", ""),
            (
                "LinkedList/Package.swift",
                "// swift-tools-version:5.9\nlet p = 1\n",
            ),
            (
                "LinkedList/Package@swift-5.8.swift",
                "// swift-tools-version:5.8\n",
            ),
            ("LinkedList/Sources/LinkedList/List.swift", "struct L {}\n"),
            (
                "LinkedList/Sources/Package.swift",
                "// not the root manifest\n",
            ),
        ]);
        let manifests = read_archive(Cursor::new(zip)).unwrap();
        assert_eq!(manifests.files.len(), 2);
        assert_eq!(manifests.main().unwrap().tools_version, "5.9");
        let (key, m) = manifests.for_swift_version("5.8.0").unwrap();
        assert_eq!((key, m.tools_version.as_str()), ("5.8", "5.8"));
        assert!(manifests.for_swift_version("5.7").is_none());
        let back = Manifests::from_json(&manifests.to_json()).unwrap();
        assert_eq!(back, manifests);
    }

    #[test]
    fn bad_archives_are_refused_with_a_reason() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"not a zip".to_vec(), "not a valid zip"),
            (
                zip_of(&[("Package.swift", "// swift-tools-version:5.9\n")]),
                "one top-level directory",
            ),
            (
                zip_of(&[
                    ("a/Package.swift", "// swift-tools-version:5.9\n"),
                    ("b/x", ""),
                ]),
                "more than one top-level",
            ),
            (zip_of(&[("a/Sources/x.swift", "")]), "valid manifest"),
            (
                zip_of(&[("a/Package.swift", "import X\n")]),
                "swift-tools-version",
            ),
            (
                zip_of(&[
                    ("a/Package.swift", "// swift-tools-version:5.9\n"),
                    ("a/../../etc/x", ""),
                ]),
                "outside its directory",
            ),
            (
                zip_of(&[("/a/Package.swift", "// swift-tools-version:5.9\n")]),
                "outside its directory",
            ),
        ];
        for (zip, why) in cases {
            let e = read_archive(Cursor::new(zip)).unwrap_err();
            assert!(e.contains(why), "{e} should say {why}");
        }
    }

    #[test]
    fn release_metadata_is_checked_for_its_types() {
        let m = ReleaseMetadata::parse(
            r#"{"description":"One thing links to another.","repositoryURLs":["https://git.example.com/mona/LinkedList"],
                "licenseURL":"https://example.com/LICENSE","author":{"name":"Mona","organization":{"name":"Octo"}},"extra":1}"#,
        )
        .unwrap();
        assert_eq!(
            m.description().as_deref(),
            Some("One thing links to another.")
        );
        assert_eq!(
            m.repository_urls(),
            ["https://git.example.com/mona/LinkedList"]
        );
        assert_eq!(
            m.license_url().as_deref(),
            Some("https://example.com/LICENSE")
        );
        for bad in [
            "[]",
            "{",
            r#"{"description":1}"#,
            r#"{"repositoryURLs":"x"}"#,
            r#"{"author":{"email":"a@b"}}"#,
            r#"{"author":{"name":"a","organization":{}}}"#,
        ] {
            assert!(ReleaseMetadata::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            comparable_url("HTTPS://git.example.com/Mona/LinkedList.git/"),
            comparable_url("https://git.example.com/mona/linkedlist")
        );
    }
}

#[cfg(test)]
mod fuzz_target {
    use super::*;

    /// Source archives and release metadata as a publish hands them over: the zip reader,
    /// the layout checks, manifest tools versions and the metadata document, never a panic.
    #[test]
    fn fuzz_swift_archives_and_metadata() {
        crate::fuzz::fuzz("swift_archive", "swift_archive", |input| {
            let _ = read_archive(std::io::Cursor::new(input));
            let text = String::from_utf8_lossy(input);
            let _ = ReleaseMetadata::parse(&text);
            let _ = declared_tools_version(&text);
        });
    }
}
