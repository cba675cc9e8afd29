//! The adapter for public gem registries behind an external connection
//! (`public:ruby-gems-org`): versions read from the registry's compact-index `info/{name}`
//! (which carries each gem's SHA-256) or, when it serves none, from its dependency API's
//! JSON variant; gems downloaded from `gems/{file}` at the configured URL only, checked
//! against the listed SHA-256 where there is one, their gemspec read from the gem itself.

use super::gem::{parse_requirement, read_gem, Dep, Spec};
use super::MAX_GEM_BYTES;
use crate::endpoints::upstream::sha256_is;
use crate::endpoints::RepoCx;
use crate::registry::{ExternalPackage, ExternalSource, ExternalVersion, NewAsset, PackageId};
use serde_json::Value;

/// Largest listing read from a public registry.
const MAX_LISTING_BYTES: usize = 64 * 1024 * 1024;

/// The public gem registry an external connection is configured to reach.
pub struct PublicGems<'a> {
    pub(super) cx: &'a RepoCx<'a>,
}

impl PublicGems<'_> {
    /// The gem's versions on the public registry, as specs with what listings carry.
    fn specs(&self, connection: &str, name: &str) -> Option<Vec<Spec>> {
        let upstream = self.cx.upstream(connection)?;
        let base = upstream.base();
        if let Some(body) = upstream.listing(
            &format!("{base}/info/{name}"),
            "text/plain",
            MAX_LISTING_BYTES,
        ) {
            return Some(parse_info(name, &String::from_utf8_lossy(&body)));
        }
        let body = upstream.listing(
            &format!("{base}/api/v1/dependencies.json?gems={name}"),
            "application/json",
            MAX_LISTING_BYTES,
        )?;
        Some(parse_dependencies_json(name, &body))
    }
}

/// A runtime dependency as a listing gives it; `None` when the name or the requirement is
/// not one RubyGems could have written (the line is then left out).
fn dep(name: &str, requirement: &str) -> Option<Dep> {
    Some(Dep {
        name: super::gem::valid_name(name).then(|| name.to_string())?,
        requirement: parse_requirement(requirement)?,
        kind: "runtime".into(),
    })
}

fn valid(spec: &Spec, name: &str) -> bool {
    spec.name == name
        && super::gem::valid_number(&spec.number)
        && super::gem::valid_platform(&spec.platform)
}

/// Reads the dependency API's JSON variant for one gem; an entry with anything RubyGems
/// could not have written is left out whole.
fn parse_dependencies_json(name: &str, body: &[u8]) -> Vec<Spec> {
    let entries: Vec<Value> = serde_json::from_slice(body).unwrap_or_default();
    entries
        .iter()
        .filter_map(|e| {
            let spec = Spec {
                name: e.get("name")?.as_str()?.to_string(),
                number: e.get("number")?.as_str()?.to_string(),
                platform: e
                    .get("platform")
                    .and_then(Value::as_str)
                    .unwrap_or("ruby")
                    .to_string(),
                dependencies: e
                    .get("dependencies")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|d| dep(d.get(0)?.as_str()?, d.get(1)?.as_str()?))
                    .collect::<Option<Vec<_>>>()?,
                ..Spec::default()
            };
            valid(&spec, name).then_some(spec)
        })
        .collect()
}

/// Reads a compact-index `info/{name}` file: after `---`, one line per version,
/// `VERSION[-PLATFORM] DEP:REQ&REQ,…|checksum:SHA256,ruby:REQ,rubygems:REQ`.
fn parse_info(name: &str, body: &str) -> Vec<Spec> {
    body.lines()
        .skip_while(|l| l.trim() != "---")
        .skip(1)
        .filter_map(|line| {
            let (key, rest) = line.split_once(' ').unwrap_or((line, ""));
            let (number, platform) = key.split_once('-').unwrap_or((key, "ruby"));
            let (deps, extra) = rest.split_once('|').unwrap_or((rest, ""));
            let mut spec = Spec {
                name: name.to_string(),
                number: number.to_string(),
                platform: platform.to_string(),
                ..Spec::default()
            };
            for dep in deps.split(',').filter(|d| !d.is_empty()) {
                let (dep_name, req) = dep.split_once(':')?;
                spec.dependencies.push(self::dep(dep_name, req)?);
            }
            for item in extra.split(',') {
                match item.split_once(':') {
                    Some(("checksum", sha)) if sha.bytes().all(|b| b.is_ascii_hexdigit()) => {
                        spec.sha256 = Some(sha.to_ascii_lowercase());
                    }
                    Some(("ruby", req)) => spec.required_ruby_version = parse_requirement(req)?,
                    Some(("rubygems", req)) => {
                        spec.required_rubygems_version = parse_requirement(req)?;
                    }
                    _ => {}
                }
            }
            valid(&spec, name).then_some(spec)
        })
        .collect()
}

impl ExternalSource for PublicGems<'_> {
    fn list(&self, connection: &str, p: &PackageId) -> Option<ExternalPackage> {
        let versions = self
            .specs(connection, &p.name)?
            .into_iter()
            .map(|spec| ExternalVersion {
                version: spec.version_key(),
                display_name: spec.name.clone(),
                published_ms: 0,
                metadata: spec.version_metadata(),
                assets: Vec::new(),
            })
            .collect();
        Some(ExternalPackage {
            versions,
            dist_tags: Default::default(),
        })
    }

    /// Downloads the gem, checked against the listed SHA-256 when the registry lists one;
    /// the version's metadata is the gem's own gemspec.
    fn fetch(&self, connection: &str, p: &PackageId, version: &str) -> Option<ExternalVersion> {
        let listed = self
            .specs(connection, &p.name)?
            .into_iter()
            .find(|s| s.version_key() == version)?;
        let upstream = self.cx.upstream(connection)?;
        let url = format!("{}/gems/{}.gem", upstream.base(), listed.full_name());
        let (blob, bytes) = upstream.file(&url, MAX_GEM_BYTES, |staged| match &listed.sha256 {
            Some(sha) => sha256_is(sha)(staged),
            None => Ok(()),
        })?;
        let mut spec = read_gem(&bytes).ok()?;
        if spec.name != listed.name || spec.version_key() != version {
            tracing::warn!(
                connection,
                version,
                "the upstream gem describes another version"
            );
            return None;
        }
        spec.sha256 = Some(blob.digests().sha256.clone());
        Some(ExternalVersion {
            version: version.to_string(),
            display_name: spec.name.clone(),
            published_ms: 0,
            metadata: spec.version_metadata(),
            assets: vec![NewAsset::new(format!("{}.gem", spec.full_name()), blob)],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_index_files_are_read_line_by_line() {
        let body = "created_at: x\n---\n1.0.0 |checksum:AB\n1.1.0 rack:>= 1.0&< 3,rake:>= 0|checksum:cd,ruby:>= 2.7\n1.1.0-java |\n../x |\n";
        let specs = parse_info("demo", body);
        assert_eq!(specs.len(), 3);
        assert_eq!(specs[0].sha256.as_deref(), Some("ab"));
        assert_eq!(specs[1].dependencies[0].requirement.len(), 2);
        assert_eq!(
            specs[1].info_line(),
            "1.1.0 rack:>= 1.0&< 3,rake:>= 0|checksum:cd,ruby:>= 2.7"
        );
        assert_eq!(specs[2].version_key(), "1.1.0-java");
        let tricks = "---\n1.0.0 evil:>= 1\\n|\n1.0.1 ok:>= 1|checksum:../x\n";
        let specs = parse_info("demo", tricks);
        assert_eq!(specs.len(), 1);
        assert_eq!(specs[0].sha256, None);
    }

    #[test]
    fn dependency_api_json_is_read_entry_by_entry() {
        let body = br#"[{"name":"demo","number":"1.0.0","platform":"ruby","dependencies":[["rack",">= 1.0, < 3"]]},
            {"name":"demo","number":"1.1.0","dependencies":[["rack","bad requirement"]]},
            {"name":"other","number":"1.0.0","dependencies":[]},
            {"name":"demo","number":"2.0.0","platform":"x86_64-linux","dependencies":[]}]"#;
        let specs = parse_dependencies_json("demo", body);
        let keys: Vec<String> = specs.iter().map(Spec::version_key).collect();
        assert_eq!(keys, ["1.0.0", "2.0.0-x86_64-linux"]);
        assert_eq!(specs[0].dependencies[0].requirement.len(), 2);
        assert!(parse_dependencies_json("demo", b"not json").is_empty());
    }
}
