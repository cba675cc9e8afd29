//! What a path in the Maven repository layout names (repository-endpoints spec §7.1):
//! `{group as dirs}/{artifactId}/{version}/{file}`, the artifact-level and snapshot-level
//! `maven-metadata.xml`, and each of those with a checksum suffix.
//!
//! Every segment is percent-decoded and must be a plain name: an encoded separator, a
//! `..` segment or an empty segment makes the whole path unparseable, so nothing that
//! reaches the store can climb out of its coordinates.

use crate::registry::BlobRecord;

/// The digests Maven clients fetch and upload beside every file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksum {
    Md5,
    Sha1,
    Sha256,
    Sha512,
}

impl Checksum {
    const ALL: [(Checksum, &'static str); 4] = [
        (Checksum::Md5, ".md5"),
        (Checksum::Sha1, ".sha1"),
        (Checksum::Sha256, ".sha256"),
        (Checksum::Sha512, ".sha512"),
    ];

    pub fn name(self) -> &'static str {
        match self {
            Checksum::Md5 => "md5",
            Checksum::Sha1 => "sha1",
            Checksum::Sha256 => "sha256",
            Checksum::Sha512 => "sha512",
        }
    }

    /// The stored digest of a blob, lowercase hex.
    pub fn of(self, blob: &BlobRecord) -> &str {
        match self {
            Checksum::Md5 => &blob.md5,
            Checksum::Sha1 => &blob.sha1,
            Checksum::Sha256 => &blob.sha256,
            Checksum::Sha512 => &blob.sha512,
        }
    }

    /// The digest of bytes the server generates (metadata documents), lowercase hex.
    pub fn compute(self, bytes: &[u8]) -> String {
        use sha2::Digest as _;
        let digest = match self {
            Checksum::Md5 => md5::Md5::digest(bytes).to_vec(),
            Checksum::Sha1 => sha1::Sha1::digest(bytes).to_vec(),
            Checksum::Sha256 => sha2::Sha256::digest(bytes).to_vec(),
            Checksum::Sha512 => sha2::Sha512::digest(bytes).to_vec(),
        };
        hex::encode(&digest)
    }
}

/// How a file in a version directory relates to the version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileKind {
    /// `{a}-{v}[-classifier].ext` in a release (or any non-SNAPSHOT) directory.
    Release,
    /// `{a}-{base}-{yyyyMMdd.HHmmss}-{n}[-classifier].ext` in `{base}-SNAPSHOT/`: a file of
    /// the timestamped build version.
    SnapshotBuild { build: String },
    /// `{a}-{base}-SNAPSHOT[-classifier].ext`: Maven 2's non-unique snapshots, which the
    /// service refuses.
    NonUniqueSnapshot,
}

/// What a path names under an artifact (`group:artifact`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// `{g}/{a}/maven-metadata.xml`
    ArtifactMetadata,
    /// `{g}/{a}/{base}-SNAPSHOT/maven-metadata.xml`
    SnapshotMetadata { version: String },
    /// `{g}/{a}/{v}/{file}`
    File {
        version: String,
        file: String,
        kind: FileKind,
    },
}

/// A parsed repository path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MavenPath {
    /// The groupId (the package's namespace).
    pub group: String,
    /// The artifactId (the package's name).
    pub artifact: String,
    pub resource: Resource,
    /// Set when the path asks for (or uploads) a checksum of the resource.
    pub checksum: Option<Checksum>,
}

const METADATA: &str = "maven-metadata.xml";

/// Characters of a Maven name segment: letters, digits and `._-+~`, no separators.
fn plain(segment: &str) -> bool {
    !segment.is_empty()
        && segment.len() <= 255
        && !segment.starts_with('.')
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-+~".contains(&b))
}

/// Parses the part of a path after `…/maven/{repository}/`, still percent-encoded.
pub fn parse(rest: &str) -> Option<MavenPath> {
    let mut segments = Vec::new();
    for raw in rest.split('/') {
        let decoded = percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .ok()?;
        if !plain(&decoded) {
            return None;
        }
        segments.push(decoded.into_owned());
    }
    let (last, dirs) = segments.split_last()?;
    let (name, checksum) = Checksum::ALL
        .iter()
        .find_map(|(alg, suffix)| last.strip_suffix(suffix).map(|n| (n, Some(*alg))))
        .unwrap_or((last.as_str(), None));
    let group_of = |parts: &[String]| -> Option<String> {
        // Group segments are joined with dots, so a dot inside one would be ambiguous.
        (!parts.is_empty() && parts.iter().all(|p| !p.contains('.'))).then(|| parts.join("."))
    };
    if name == METADATA {
        if let [group @ .., artifact, version] = dirs {
            if version.ends_with("-SNAPSHOT") && version.len() > "-SNAPSHOT".len() {
                return Some(MavenPath {
                    group: group_of(group)?,
                    artifact: artifact.clone(),
                    resource: Resource::SnapshotMetadata {
                        version: version.clone(),
                    },
                    checksum,
                });
            }
        }
        let [group @ .., artifact] = dirs else {
            return None;
        };
        return Some(MavenPath {
            group: group_of(group)?,
            artifact: artifact.clone(),
            resource: Resource::ArtifactMetadata,
            checksum,
        });
    }
    let [group @ .., artifact, version] = dirs else {
        return None;
    };
    let kind = file_kind(artifact, version, name)?;
    Some(MavenPath {
        group: group_of(group)?,
        artifact: artifact.clone(),
        resource: Resource::File {
            version: version.clone(),
            file: name.to_string(),
            kind,
        },
        checksum,
    })
}

/// Whether `rest` continues a file name after its `{a}-{v}` stem: the end, `.ext` or
/// `-classifier…`.
fn continues_stem(rest: &str) -> bool {
    rest.is_empty() || rest.starts_with('.') || rest.starts_with('-')
}

/// How a file belongs to its version directory; `None` when it does not belong there.
fn file_kind(artifact: &str, version: &str, file: &str) -> Option<FileKind> {
    let after_artifact = file.strip_prefix(artifact)?.strip_prefix('-')?;
    let Some(base) = version
        .strip_suffix("-SNAPSHOT")
        .filter(|base| !base.is_empty())
    else {
        let rest = after_artifact.strip_prefix(version)?;
        return continues_stem(rest).then_some(FileKind::Release);
    };
    let after_base = after_artifact.strip_prefix(base)?.strip_prefix('-')?;
    if let Some(rest) = after_base.strip_prefix("SNAPSHOT") {
        return continues_stem(rest).then_some(FileKind::NonUniqueSnapshot);
    }
    let (stamp, build_number, rest) = split_build(after_base)?;
    continues_stem(rest).then(|| FileKind::SnapshotBuild {
        build: format!("{base}-{stamp}-{build_number}"),
    })
}

/// `yyyyMMdd.HHmmss-{n}…` → (timestamp, build number, the rest).
fn split_build(s: &str) -> Option<(&str, &str, &str)> {
    let digits =
        |s: &str, n: usize| s.len() >= n && s.as_bytes()[..n].iter().all(u8::is_ascii_digit);
    if !(digits(s, 8) && s.as_bytes().get(8) == Some(&b'.') && digits(&s[9..], 6)) {
        return None;
    }
    let (stamp, after) = s.split_at(15);
    let after = after.strip_prefix('-')?;
    let end = after
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(after.len());
    (end > 0).then(|| (stamp, &after[..end], &after[end..]))
}

/// Whether a version string is a timestamped snapshot build (`1.0-20210728.194552-1`):
/// such versions are reached through their `-SNAPSHOT`, never listed themselves.
pub fn is_snapshot_build(version: &str) -> bool {
    version
        .match_indices('-')
        .any(|(i, _)| split_build(&version[i + 1..]).is_some_and(|(_, _, rest)| rest.is_empty()))
}

/// The `-SNAPSHOT` version a build belongs to (`1.0-20210728.194552-1` → `1.0-SNAPSHOT`).
pub fn snapshot_of_build(build: &str) -> Option<String> {
    build.match_indices('-').find_map(|(i, _)| {
        split_build(&build[i + 1..])
            .filter(|(_, _, rest)| rest.is_empty())
            .map(|_| format!("{}-SNAPSHOT", &build[..i]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(rest: &str) -> Option<(String, String, String, String, FileKind)> {
        let p = parse(rest)?;
        match p.resource {
            Resource::File {
                version,
                file,
                kind,
            } => Some((p.group, p.artifact, version, file, kind)),
            _ => None,
        }
    }

    #[test]
    fn release_files_and_checksums() {
        let (g, a, v, f, kind) = file("com/example/my-app/1.0/my-app-1.0-sources.jar").unwrap();
        assert_eq!(
            (g.as_str(), a.as_str(), v.as_str(), f.as_str()),
            ("com.example", "my-app", "1.0", "my-app-1.0-sources.jar")
        );
        assert_eq!(kind, FileKind::Release);
        let p = parse("com/example/my-app/1.0/my-app-1.0.pom.sha512").unwrap();
        assert_eq!(p.checksum, Some(Checksum::Sha512));
        assert!(parse("com/example/my-app/1.0/other-1.0.jar").is_none());
        assert!(parse("com/example/my-app/1.0/my-app-1.01.jar").is_none());
    }

    #[test]
    fn snapshot_files_name_their_build() {
        let (.., kind) =
            file("org/acme/lib/1.1-SNAPSHOT/lib-1.1-20261125.224315-12-tests.jar").unwrap();
        assert_eq!(
            kind,
            FileKind::SnapshotBuild {
                build: "1.1-20261125.224315-12".into()
            }
        );
        let (.., kind) = file("org/acme/lib/1.1-SNAPSHOT/lib-1.1-SNAPSHOT.jar").unwrap();
        assert_eq!(kind, FileKind::NonUniqueSnapshot);
        assert!(file("org/acme/lib/1.1-SNAPSHOT/lib-1.1-2026.jar").is_none());
        assert!(is_snapshot_build("1.1-20261125.224315-12"));
        assert!(!is_snapshot_build("1.1-SNAPSHOT"));
        assert!(!is_snapshot_build("20261125.224315-1"));
        assert_eq!(
            snapshot_of_build("1.1-rc-20261125.224315-3").as_deref(),
            Some("1.1-rc-SNAPSHOT")
        );
    }

    #[test]
    fn metadata_at_artifact_and_snapshot_level() {
        let p = parse("org/acme/lib/maven-metadata.xml.sha1").unwrap();
        assert_eq!(p.resource, Resource::ArtifactMetadata);
        assert_eq!(
            (p.group.as_str(), p.checksum),
            ("org.acme", Some(Checksum::Sha1))
        );
        let p = parse("org/acme/lib/2.0-SNAPSHOT/maven-metadata.xml").unwrap();
        assert_eq!(
            p.resource,
            Resource::SnapshotMetadata {
                version: "2.0-SNAPSHOT".into()
            }
        );
        // Group-level metadata has no artifact under it: the group is `org`, artifact `acme`.
        assert_eq!(
            parse("org/acme/maven-metadata.xml").unwrap().artifact,
            "acme"
        );
        assert!(parse("acme/maven-metadata.xml").is_none());
    }

    #[test]
    fn path_tricks_do_not_parse() {
        for rest in [
            "",
            "com/example/",
            "com/example/my-app/1.0/",
            "com/../my-app/1.0/my-app-1.0.jar",
            "com/example/my-app/1.0/..%2Fmy-app-1.0.jar",
            "com/example/my-app/1.0/my-app-1.0.jar%2F..",
            "com/example/my-app/%2e%2e/my-app-%2e%2e.jar",
            "com/example/my-app/1.0/my-app-1.0.jar%5C",
            "com//my-app/1.0/my-app-1.0.jar",
            "com.example/my-app/1.0/my-app-1.0.jar",
            "my-app/1.0/my-app-1.0.jar",
        ] {
            assert_eq!(parse(rest), None, "{rest}");
        }
    }
}

#[cfg(test)]
mod fuzz_target {
    use super::*;

    /// Maven paths: parsed into coordinates or refused, never a panic.
    #[test]
    fn fuzz_maven_coordinates() {
        crate::fuzz::fuzz("maven_path", "maven_path", |input| {
            let text = String::from_utf8_lossy(input);
            let _ = parse(&text);
            let _ = is_snapshot_build(&text);
            let _ = snapshot_of_build(&text);
        });
    }
}
