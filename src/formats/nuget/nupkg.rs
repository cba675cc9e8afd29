//! A NuGet package and what is kept of it: the `.nupkg` (a zip with one `.nuspec` at its
//! root, beside `[Content_Types].xml`, `_rels/` and the payload) read into a [`Nuspec`],
//! which is stored as the version's manifest and rendered back as registration entries;
//! NuGet ids and versions checked and ordered as NuGet does.

use crate::registry::names::normalize_version;
use crate::registry::{Dependency, License, VersionMetadata};
use quick_xml::events::Event;
use quick_xml::{Reader, XmlVersion};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::io::{Read, Seek};

/// Largest `.nuspec`, inflated, read from a package.
const MAX_NUSPEC_BYTES: u64 = 1024 * 1024;
/// Largest readme, inflated, kept for `GetPackageVersionReadme`.
const MAX_README_BYTES: u64 = 1024 * 1024;
/// Longest package id NuGet accepts (`PackageIdValidator.MaxPackageIdLength`).
const MAX_ID_LENGTH: usize = 100;
/// Most dependencies kept from one nuspec, over all groups.
const MAX_DEPENDENCIES: usize = 4096;

/// One dependency of a target framework group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dep {
    pub id: String,
    /// The version range as written (`1.0`, `[1.0,2.0)`); empty means any version.
    #[serde(default)]
    pub range: String,
}

/// The dependencies for one target framework (none: every framework).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepGroup {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_framework: Option<String>,
    #[serde(default)]
    pub dependencies: Vec<Dep>,
}

/// What is kept of a `.nuspec`: enough for registrations, search and the control plane.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nuspec {
    /// The id as the package spells it.
    pub id: String,
    /// The NuGet-normalised version (`1.0` → `1.0.0`, no build metadata).
    pub version: String,
    /// The version as the nuspec writes it (with build metadata, if any).
    #[serde(default)]
    pub original_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authors: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_url: Option<String>,
    /// `<license type="expression">MIT</license>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_expression: Option<String>,
    /// `<license type="file">LICENSE.txt</license>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_file: Option<String>,
    #[serde(default)]
    pub require_license_acceptance: bool,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_client_version: Option<String>,
    /// The `<readme>` file named by the nuspec (a path inside the package).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readme_file: Option<String>,
    #[serde(default)]
    pub dependency_groups: Vec<DepGroup>,
}

/// A package id as NuGet accepts one (`PackageIdValidator`): word characters in runs
/// separated by single `.` or `-`, at most 100 characters.
pub fn valid_id(id: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    !id.is_empty()
        && id.len() <= MAX_ID_LENGTH
        && id.bytes().all(|b| word(b) || b == b'.' || b == b'-')
        && id.split(['.', '-']).all(|run| !run.is_empty())
}

/// A version as `NuGetVersion.TryParse` accepts one: one to four numeric parts (each an
/// Int32), then an optional `-label` and `+metadata` of dot-separated alphanumerics.
pub fn valid_version(v: &str) -> bool {
    let identifiers = |s: &str| {
        !s.is_empty()
            && s.split('.').all(|part| {
                !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
    };
    let (rest, metadata) = match v.split_once('+') {
        Some((rest, metadata)) => (rest, Some(metadata)),
        None => (v, None),
    };
    let (numbers, label) = match rest.split_once('-') {
        Some((numbers, label)) => (numbers, Some(label)),
        None => (rest, None),
    };
    let parts: Vec<&str> = numbers.split('.').collect();
    v.len() <= 256
        && (1..=4).contains(&parts.len())
        && parts.iter().all(|p| {
            !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<i32>().is_ok()
        })
        && label.is_none_or(identifiers)
        && metadata.is_none_or(identifiers)
}

/// The stored form of a valid version (the registry's NuGet normalisation).
pub fn normalized(v: &str) -> String {
    normalize_version("nuget", v)
}

/// NuGet's version order on normalised versions: numeric parts, then a release above its
/// pre-releases, labels compared part by part (numbers numerically and below text, text
/// case-insensitively).
pub fn compare(a: &str, b: &str) -> Ordering {
    fn split(v: &str) -> (Vec<u64>, Option<&str>) {
        let v = v.split_once('+').map_or(v, |(v, _)| v);
        let (numbers, label) = match v.split_once('-') {
            Some((n, l)) => (n, Some(l)),
            None => (v, None),
        };
        let mut parts: Vec<u64> = numbers.split('.').map(|p| p.parse().unwrap_or(0)).collect();
        parts.resize(4, 0);
        (parts, label)
    }
    let (na, la) = split(a);
    let (nb, lb) = split(b);
    na.cmp(&nb).then_with(|| match (la, lb) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(la), Some(lb)) => {
            let mut xs = la.split('.');
            let mut ys = lb.split('.');
            loop {
                match (xs.next(), ys.next()) {
                    (None, None) => return Ordering::Equal,
                    (None, Some(_)) => return Ordering::Less,
                    (Some(_), None) => return Ordering::Greater,
                    (Some(x), Some(y)) => {
                        let order = match (x.parse::<u64>(), y.parse::<u64>()) {
                            (Ok(x), Ok(y)) => x.cmp(&y),
                            (Ok(_), Err(_)) => Ordering::Less,
                            (Err(_), Ok(_)) => Ordering::Greater,
                            (Err(_), Err(_)) => x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase()),
                        };
                        if order != Ordering::Equal {
                            return order;
                        }
                    }
                }
            }
        }
    })
}

/// Whether a normalised version is a pre-release.
pub fn is_prerelease(v: &str) -> bool {
    v.split_once('+').map_or(v, |(v, _)| v).contains('-')
}

/// A version range as registrations write it: a bare version `v` means `[v, )`; an
/// interval keeps its brackets with normalised bounds; empty means any version.
pub fn normalized_range(range: &str) -> String {
    let range = range.trim();
    if range.is_empty() {
        return String::new();
    }
    if valid_version(range) {
        return format!("[{}, )", normalized(range));
    }
    let (Some(open), Some(close)) = (range.chars().next(), range.chars().last()) else {
        return range.to_string();
    };
    if !matches!(open, '[' | '(') || !matches!(close, ']' | ')') || range.len() < 2 {
        return range.to_string();
    }
    let inner = &range[1..range.len() - 1];
    let bound = |b: &str| {
        let b = b.trim();
        if valid_version(b) {
            normalized(b)
        } else {
            b.to_string()
        }
    };
    match inner.split_once(',') {
        Some((lo, hi)) => format!("{open}{}, {}{close}", bound(lo), bound(hi)),
        None => format!("{open}{}{close}", bound(inner)),
    }
}

impl Nuspec {
    /// The id as stored: lower-cased, as the service and every NuGet URL spell it.
    pub fn lower_id(&self) -> String {
        self.id.to_lowercase()
    }

    /// The spec kept as a version's manifest, if it is one.
    pub fn from_manifest(manifest: Option<&serde_json::Value>) -> Option<Nuspec> {
        serde_json::from_value(manifest?.clone()).ok()
    }

    /// The version's metadata in the control plane; `readme` is the package's readme file.
    pub fn version_metadata(&self, readme: Option<String>) -> VersionMetadata {
        let mut dependencies: Vec<Dependency> = Vec::new();
        for dep in self.dependency_groups.iter().flat_map(|g| &g.dependencies) {
            let d = Dependency {
                namespace: None,
                package: dep.id.to_lowercase(),
                dependency_type: None,
                version_requirement: (!dep.range.is_empty()).then(|| normalized_range(&dep.range)),
            };
            if !dependencies.contains(&d) {
                dependencies.push(d);
            }
        }
        let licenses = match (&self.license_expression, &self.license_url) {
            (Some(expression), url) => vec![License {
                name: Some(expression.clone()),
                url: url.clone(),
            }],
            (None, Some(url)) => vec![License {
                name: None,
                url: Some(url.clone()),
            }],
            (None, None) => Vec::new(),
        };
        VersionMetadata {
            manifest: serde_json::to_value(self).ok(),
            summary: self.summary.clone().or_else(|| self.description.clone()),
            home_page: self.project_url.clone(),
            source_code_repository: self.repository_url.clone(),
            licenses,
            readme,
            dependencies,
        }
    }
}

/// A package read at push: its nuspec and its readme, if it names one.
#[derive(Debug)]
pub struct Package {
    pub nuspec: Nuspec,
    pub readme: Option<String>,
}

/// Reads a `.nupkg`: exactly one `.nuspec` at the root of the zip, whose id and version
/// NuGet accepts; Err(reason) for anything else.
pub fn read_nupkg(bytes: &[u8]) -> Result<Package, String> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("The package is not a valid zip archive: {e}"))?;
    let xml = nuspec_bytes(&mut zip)?;
    let nuspec = parse_nuspec(&xml)?;
    let readme = match &nuspec.readme_file {
        Some(path) => Some(read_entry(&mut zip, path, MAX_README_BYTES).ok_or_else(|| {
            format!("The readme file '{path}' named by the nuspec is not in the package")
        })?),
        None => None,
    };
    Ok(Package { nuspec, readme })
}

/// The `.nuspec` of a package (stored or pushed), as bytes.
pub fn nuspec_bytes<R: Read + Seek>(zip: &mut zip::ZipArchive<R>) -> Result<Vec<u8>, String> {
    let names: Vec<String> = zip
        .file_names()
        .filter_map(Result::ok)
        .filter(|n| !n.contains(['/', '\\']) && n.to_ascii_lowercase().ends_with(".nuspec"))
        .map(|n| n.into_owned())
        .collect();
    let name = match names.as_slice() {
        [one] => one,
        [] => return Err("The package contains no .nuspec file at its root".into()),
        _ => return Err("The package contains more than one .nuspec file".into()),
    };
    let entry = zip
        .by_name(name)
        .map_err(|e| format!("The .nuspec cannot be read: {e}"))?;
    let mut out = Vec::new();
    entry
        .take(MAX_NUSPEC_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("The .nuspec cannot be read: {e}"))?;
    if out.len() as u64 > MAX_NUSPEC_BYTES {
        return Err(format!(
            "The .nuspec is larger than {MAX_NUSPEC_BYTES} bytes"
        ));
    }
    Ok(out)
}

/// A file of the package as text, bounded; `None` when absent, unreadable or too large.
fn read_entry<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    path: &str,
    max: u64,
) -> Option<String> {
    let wanted = path.replace('\\', "/");
    let wanted = wanted.trim_start_matches("./").trim_start_matches('/');
    let name = zip
        .file_names()
        .filter_map(Result::ok)
        .find(|n| n.eq_ignore_ascii_case(wanted))?
        .into_owned();
    let entry = zip.by_name(&name).ok()?;
    let mut out = Vec::new();
    entry.take(max + 1).read_to_end(&mut out).ok()?;
    if out.len() as u64 > max {
        return None;
    }
    String::from_utf8(out).ok()
}

/// Parses a `.nuspec` (`<package><metadata>…`), checking its id and version.
pub fn parse_nuspec(bytes: &[u8]) -> Result<Nuspec, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("The .nuspec is not UTF-8: {e}"))?;
    let mut reader = Reader::from_str(text.strip_prefix('\u{feff}').unwrap_or(text));
    let mut spec = Nuspec::default();
    let mut path: Vec<String> = Vec::new();
    let mut value = String::new();
    let mut seen_root = false;
    let mut license_type = String::new();
    let mut dep_count = 0usize;
    loop {
        let event = reader.read_event().map_err(|e| {
            format!(
                "The .nuspec is not well-formed XML (byte {}): {e}",
                reader.error_position()
            )
        })?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let name = e.local_name().as_ref().to_owned();
                if path.is_empty() {
                    if seen_root {
                        return Err("The .nuspec has more than one root element".into());
                    }
                    if name != "package" {
                        return Err(format!(
                            "The .nuspec's root element is <{name}>, not <package>"
                        ));
                    }
                    seen_root = true;
                }
                if path.len() > 64 {
                    return Err("The .nuspec is nested too deeply".into());
                }
                let mut attrs: Vec<(String, String)> = Vec::new();
                for attr in e.attributes() {
                    let attr =
                        attr.map_err(|e| format!("The .nuspec has a malformed attribute: {e}"))?;
                    let key = attr.key.local_name().as_ref().to_owned();
                    let v = attr
                        .normalized_value(XmlVersion::Implicit1_0)
                        .map_err(|e| format!("The .nuspec has a malformed attribute: {e}"))?;
                    attrs.push((key, v.into_owned()));
                }
                let attr = |k: &str| {
                    attrs
                        .iter()
                        .find(|(key, _)| key == k)
                        .map(|(_, v)| v.clone())
                };
                path.push(name);
                value.clear();
                let p: Vec<&str> = path.iter().map(String::as_str).collect();
                match p.as_slice() {
                    ["package", "metadata", "dependencies", "group"] => {
                        spec.dependency_groups.push(DepGroup {
                            target_framework: attr("targetFramework").filter(|t| !t.is_empty()),
                            dependencies: Vec::new(),
                        });
                    }
                    ["package", "metadata", "dependencies", "dependency"]
                    | ["package", "metadata", "dependencies", "group", "dependency"] => {
                        dep_count += 1;
                        if dep_count > MAX_DEPENDENCIES {
                            return Err("The .nuspec has too many dependencies".into());
                        }
                        let id = attr("id").unwrap_or_default();
                        if !valid_id(&id) {
                            return Err(format!(
                                "The .nuspec has a dependency with an invalid id '{id}'"
                            ));
                        }
                        let dep = Dep {
                            id,
                            range: attr("version").unwrap_or_default(),
                        };
                        if p.len() == 4 {
                            // Dependencies outside groups: one group for every framework.
                            if spec
                                .dependency_groups
                                .first()
                                .is_none_or(|g| g.target_framework.is_some())
                            {
                                spec.dependency_groups.insert(0, DepGroup::default());
                            }
                            spec.dependency_groups[0].dependencies.push(dep);
                        } else if let Some(group) = spec.dependency_groups.last_mut() {
                            group.dependencies.push(dep);
                        }
                    }
                    ["package", "metadata", "license"] => {
                        license_type = attr("type").unwrap_or_default();
                    }
                    ["package", "metadata", "repository"] => {
                        spec.repository_url = attr("url").filter(|u| !u.is_empty());
                    }
                    ["package", "metadata"] => {
                        spec.min_client_version = attr("minClientVersion");
                    }
                    _ => {}
                }
                if matches!(event, Event::Empty(_)) {
                    end(&mut spec, &path, String::new(), &license_type);
                    path.pop();
                }
            }
            Event::End(_) => {
                let v = value.trim().to_string();
                end(&mut spec, &path, v, &license_type);
                path.pop();
                value.clear();
            }
            Event::Text(t) if path.is_empty() => {
                if !t.xml10_content().trim().is_empty() {
                    return Err("The .nuspec has text outside its root element".into());
                }
            }
            Event::Text(t) => push_bounded(&mut value, &t.xml10_content())?,
            Event::CData(t) if !path.is_empty() => push_bounded(&mut value, &t.xml10_content())?,
            Event::GeneralRef(r) if !path.is_empty() => {
                let bad =
                    |e: &dyn std::fmt::Display| format!("The .nuspec is not well-formed XML: {e}");
                match r.resolve_char_ref().map_err(|e| bad(&e))? {
                    Some(c) => value.push(c),
                    None => value.push_str(
                        quick_xml::escape::resolve_predefined_entity(&r).ok_or_else(|| {
                            format!("The .nuspec uses an undefined entity &{};", &*r)
                        })?,
                    ),
                }
            }
            Event::CData(_) | Event::GeneralRef(_) => {
                return Err("The .nuspec has content outside its root element".into());
            }
            Event::Eof if !path.is_empty() => {
                return Err("The .nuspec is truncated".into());
            }
            Event::Eof if !seen_root => return Err("The .nuspec has no root element".into()),
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if spec.id.is_empty() {
        return Err("The .nuspec has no <id>".into());
    }
    if !valid_id(&spec.id) {
        return Err(format!(
            "The package id '{}' is not a valid NuGet id",
            spec.id
        ));
    }
    if spec.original_version.is_empty() {
        return Err("The .nuspec has no <version>".into());
    }
    if !valid_version(&spec.original_version) {
        return Err(format!(
            "The version '{}' is not a valid NuGet version",
            spec.original_version
        ));
    }
    spec.version = normalized(&spec.original_version);
    Ok(spec)
}

fn push_bounded(value: &mut String, text: &str) -> Result<(), String> {
    if (value.len() + text.len()) as u64 > MAX_NUSPEC_BYTES {
        return Err("The .nuspec has an element too large".into());
    }
    value.push_str(text);
    Ok(())
}

/// Keeps the text of a closed element where the nuspec schema gives it a meaning.
fn end(spec: &mut Nuspec, path: &[String], value: String, license_type: &str) {
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    let some = |v: String| (!v.is_empty()).then_some(v);
    if let ["package", "metadata", field] = p.as_slice() {
        match *field {
            "id" => spec.id = value,
            "version" => spec.original_version = value,
            "title" => spec.title = some(value),
            "authors" => spec.authors = some(value),
            "description" => spec.description = some(value),
            "summary" => spec.summary = some(value),
            "projectUrl" => spec.project_url = some(value),
            "iconUrl" => spec.icon_url = some(value),
            "licenseUrl" => spec.license_url = some(value),
            "license" => match license_type {
                "expression" => spec.license_expression = some(value),
                "file" => spec.license_file = some(value),
                _ => {}
            },
            "requireLicenseAcceptance" => {
                spec.require_license_acceptance = value.eq_ignore_ascii_case("true");
            }
            "tags" => {
                spec.tags = value
                    .split([' ', ',', ';', '\t', '\n', '\r'])
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect();
            }
            "language" => spec.language = some(value),
            "readme" => spec.readme_file = some(value),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    pub(crate) fn nupkg(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut out);
        for (name, data) in entries {
            zip.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            zip.write_all(data).unwrap();
        }
        zip.finish().unwrap();
        out.into_inner()
    }

    const NUSPEC: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata minClientVersion="4.8">
    <id>Contoso.Utility</id>
    <version>1.02.0.0+build.7</version>
    <authors>Contoso &amp; friends</authors>
    <description>Utilities</description>
    <license type="expression">MIT</license>
    <projectUrl>https://example.invalid/utility</projectUrl>
    <tags>util tools</tags>
    <repository type="git" url="https://example.invalid/utility.git" />
    <readme>docs\README.md</readme>
    <dependencies>
      <group targetFramework="net8.0">
        <dependency id="Contoso.Core" version="1.0" exclude="Build" />
      </group>
      <group targetFramework="netstandard2.0" />
    </dependencies>
  </metadata>
</package>"#;

    #[test]
    fn a_nuspec_is_read_into_what_registrations_need() {
        let spec = parse_nuspec(NUSPEC.as_bytes()).unwrap();
        assert_eq!(spec.id, "Contoso.Utility");
        assert_eq!(spec.lower_id(), "contoso.utility");
        assert_eq!(spec.version, "1.2.0");
        assert_eq!(spec.original_version, "1.02.0.0+build.7");
        assert_eq!(spec.authors.as_deref(), Some("Contoso & friends"));
        assert_eq!(spec.license_expression.as_deref(), Some("MIT"));
        assert_eq!(spec.tags, ["util", "tools"]);
        assert_eq!(spec.min_client_version.as_deref(), Some("4.8"));
        assert_eq!(spec.dependency_groups.len(), 2);
        assert_eq!(
            spec.dependency_groups[0].dependencies,
            [Dep {
                id: "Contoso.Core".into(),
                range: "1.0".into()
            }]
        );
        let metadata = spec.version_metadata(Some("# Readme".into()));
        assert_eq!(metadata.dependencies[0].package, "contoso.core");
        assert_eq!(
            metadata.dependencies[0].version_requirement.as_deref(),
            Some("[1.0.0, )")
        );
        assert_eq!(metadata.licenses[0].name.as_deref(), Some("MIT"));
        assert_eq!(
            Nuspec::from_manifest(metadata.manifest.as_ref()),
            Some(spec)
        );
    }

    #[test]
    fn packages_are_refused_for_what_nuget_refuses() {
        let ok = nupkg(&[
            ("[Content_Types].xml", b"<Types/>"),
            ("Contoso.Utility.nuspec", NUSPEC.as_bytes()),
            ("docs/README.md", b"# Readme"),
        ]);
        let read = read_nupkg(&ok).unwrap();
        assert_eq!(read.readme.as_deref(), Some("# Readme"));
        let nuspec = |id: &str, version: &str| {
            format!(
                "<package><metadata><id>{id}</id><version>{version}</version></metadata></package>"
            )
        };
        let one = nuspec("A", "1.0");
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"not a zip".to_vec(), "not a valid zip"),
            (nupkg(&[("lib/a.dll", b"x")]), "no .nuspec"),
            (
                nupkg(&[("a.nuspec", one.as_bytes()), ("b.nuspec", one.as_bytes())]),
                "more than one",
            ),
            (nupkg(&[("sub/a.nuspec", one.as_bytes())]), "no .nuspec"),
            (
                nupkg(&[("a.nuspec", nuspec("../evil", "1.0").as_bytes())]),
                "not a valid NuGet id",
            ),
            (
                nupkg(&[("a.nuspec", nuspec("a..b", "1.0").as_bytes())]),
                "not a valid NuGet id",
            ),
            (
                nupkg(&[("a.nuspec", nuspec("A", "1.0.0.0.0").as_bytes())]),
                "not a valid NuGet version",
            ),
            (
                nupkg(&[("a.nuspec", nuspec("A", "1.0-").as_bytes())]),
                "not a valid NuGet version",
            ),
            (
                nupkg(&[("a.nuspec", nuspec("A", "99999999999").as_bytes())]),
                "not a valid NuGet version",
            ),
            (
                nupkg(&[("a.nuspec", b"<package><metadata><id>A</id>")]),
                "truncated",
            ),
            (nupkg(&[("a.nuspec", b"<nope/>")]), "not <package>"),
            (
                nupkg(&[(
                    "a.nuspec",
                    b"<package><metadata><id>A</id></metadata></package>",
                )]),
                "no <version>",
            ),
        ];
        for (bytes, why) in cases {
            let err = read_nupkg(&bytes).unwrap_err();
            assert!(err.contains(why), "{why}: {err}");
        }
    }

    #[test]
    fn ids_versions_and_their_order() {
        for id in ["A", "Newtonsoft.Json", "a_b-c.d", "x1"] {
            assert!(valid_id(id), "{id}");
        }
        for id in ["", ".a", "a.", "a..b", "a/b", "a b", "é", &"a".repeat(101)] {
            assert!(!valid_id(id), "{id}");
        }
        for v in [
            "1",
            "1.0",
            "1.0.0.1",
            "1.0.0-beta.1",
            "1.0.0+meta",
            "1.0.0-rc-1+x.y",
        ] {
            assert!(valid_version(v), "{v}");
        }
        for v in [
            "",
            "v1",
            "1.",
            "1..0",
            "1.0-",
            "1.0+",
            "1.0-a..b",
            "1.2.3.4.5",
            "2147483648",
        ] {
            assert!(!valid_version(v), "{v}");
        }
        let mut vs = vec![
            "1.0.0",
            "1.0.0-beta.10",
            "1.0.0-beta.2",
            "1.0.0-Alpha",
            "0.9.0",
            "1.0.0.1",
            "1.10.0",
            "1.2.0",
        ];
        vs.sort_by(|a, b| compare(a, b));
        assert_eq!(
            vs,
            [
                "0.9.0",
                "1.0.0-Alpha",
                "1.0.0-beta.2",
                "1.0.0-beta.10",
                "1.0.0",
                "1.0.0.1",
                "1.2.0",
                "1.10.0"
            ]
        );
        assert_eq!(compare("1.0.0-BETA", "1.0.0-beta"), Ordering::Equal);
        assert_eq!(normalized_range("1.0"), "[1.0.0, )");
        assert_eq!(normalized_range("[1.0,2.0)"), "[1.0.0, 2.0.0)");
        assert_eq!(normalized_range("(,2.0]"), "(, 2.0.0]");
        assert_eq!(normalized_range("[1.0]"), "[1.0.0]");
    }
}

#[cfg(test)]
mod fuzz_target {
    use super::*;

    /// `.nuspec` documents: read or refused, never a panic.
    #[test]
    fn fuzz_nuspec() {
        crate::fuzz::fuzz("nuspec", "nuspec", |input| {
            if let Ok(spec) = parse_nuspec(input) {
                let _ = spec.version_metadata(None);
                for dep in spec.dependency_groups.iter().flat_map(|g| &g.dependencies) {
                    let _ = normalized_range(&dep.range);
                }
            }
        });
    }

    /// Whole `.nupkg` zips: read or refused, never a panic.
    #[test]
    fn fuzz_nupkg() {
        crate::fuzz::fuzz("nupkg", "nupkg", |input| {
            let _ = read_nupkg(input);
        });
    }
}
