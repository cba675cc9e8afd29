//! A gem and what is kept of it: the `.gem` (a tar holding `metadata.gz`, the YAML gemspec,
//! beside `data.tar.gz`) read into a [`Spec`], which is stored as the version's manifest and
//! rendered back as the documents RubyGems and Bundler resolve from: a dependency-API
//! entry (Marshal or JSON), a compact-index line and the Marshal'd `Gem::Specification`.

use super::marshal::{self, Value};
use crate::registry::{Dependency, License, VersionMetadata};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Read as _;
use yaml_rust2::{Yaml, YamlLoader};

/// Largest `metadata.gz`, inflated, read from a gem.
const MAX_METADATA_BYTES: u64 = 16 * 1024 * 1024;

/// A requirement: `(operator, version)` pairs, all of which must hold.
pub type Requirement = Vec<(String, String)>;

/// One dependency of a gem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dep {
    pub name: String,
    pub requirement: Requirement,
    /// `runtime` or `development`.
    pub kind: String,
}

/// What is kept of a gemspec: enough to answer every document a client asks for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    pub name: String,
    pub number: String,
    /// `ruby` for a pure-Ruby gem, else the platform (`x86_64-linux`, `java`).
    pub platform: String,
    #[serde(default)]
    pub dependencies: Vec<Dep>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub authors: Vec<String>,
    #[serde(default)]
    pub email: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub homepage: Option<String>,
    #[serde(default)]
    pub licenses: Vec<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub required_ruby_version: Requirement,
    #[serde(default)]
    pub required_rubygems_version: Requirement,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rubygems_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub specification_version: Option<i32>,
    /// `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// SHA-256 of the `.gem`, when known (it is for every stored version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// A gem name as RubyGems accepts one: letters, digits, `.`, `_`, `-`, with a letter.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name.bytes().any(|b| b.is_ascii_alphabetic())
        && !name.starts_with(['.', '-'])
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

/// A version as `Gem::Version` accepts one: `1.2.3`, `1.0.a`, `2.0.0.pre1`, `1.0-rc1`.
pub fn valid_number(v: &str) -> bool {
    let (release, pre) = v.split_once('-').unwrap_or((v, ""));
    let segments_ok = |s: &str, first_digits: bool| {
        s.split('.').enumerate().all(|(i, seg)| {
            !seg.is_empty()
                && seg.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && (!first_digits || i > 0 || seg.bytes().all(|b| b.is_ascii_digit()))
        })
    };
    v.len() <= 64 && segments_ok(release, true) && !release.contains('-') && {
        pre.is_empty() && !v.ends_with('-') || segments_ok(pre, false)
    }
}

/// A platform string: `ruby`, or the parts of a `Gem::Platform` joined by `-`.
pub fn valid_platform(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 64
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        && !p.starts_with(['-', '.'])
}

impl Spec {
    /// The package version this gem is: `1.0.0`, or `1.0.0-x86_64-linux` for a platform
    /// gem (each platform's gem is its own version of the package, with its one asset).
    pub fn version_key(&self) -> String {
        if self.platform == "ruby" {
            self.number.clone()
        } else {
            format!("{}-{}", self.number, self.platform)
        }
    }

    /// `name-version[-platform]`, as file names spell it.
    pub fn full_name(&self) -> String {
        format!("{}-{}", self.name, self.version_key())
    }

    fn runtime(&self) -> impl Iterator<Item = &Dep> {
        self.dependencies.iter().filter(|d| d.kind != "development")
    }

    /// The dependency-API entry (Marshal): `{name:, number:, platform:, dependencies:}`.
    pub fn dependency_entry(&self) -> Value {
        let deps = self
            .runtime()
            .map(|d| {
                Value::Array(vec![
                    Value::Str(d.name.clone()),
                    Value::Str(requirement_text(&d.requirement, ", ")),
                ])
            })
            .collect();
        Value::Hash(vec![
            (Value::Sym("name".into()), Value::Str(self.name.clone())),
            (Value::Sym("number".into()), Value::Str(self.number.clone())),
            (
                Value::Sym("platform".into()),
                Value::Str(self.platform.clone()),
            ),
            (Value::Sym("dependencies".into()), Value::Array(deps)),
        ])
    }

    /// The dependency-API entry as the JSON variant spells it.
    pub fn dependency_json(&self) -> serde_json::Value {
        let deps: Vec<_> = self
            .runtime()
            .map(|d| serde_json::json!([d.name, requirement_text(&d.requirement, ", ")]))
            .collect();
        serde_json::json!({
            "name": self.name, "number": self.number, "platform": self.platform,
            "dependencies": deps,
        })
    }

    /// The version's line of a compact-index `info/{name}` file.
    pub fn info_line(&self) -> String {
        let deps: Vec<String> = self
            .runtime()
            .map(|d| format!("{}:{}", d.name, requirement_text(&d.requirement, "&")))
            .collect();
        let mut extra = Vec::new();
        if let Some(sha) = &self.sha256 {
            extra.push(format!("checksum:{sha}"));
        }
        for (key, req) in [
            ("ruby", &self.required_ruby_version),
            ("rubygems", &self.required_rubygems_version),
        ] {
            if !req.is_empty() && !is_any(req) {
                extra.push(format!("{key}:{}", requirement_text(req, "&")));
            }
        }
        format!(
            "{} {}|{}",
            self.version_key(),
            deps.join(","),
            extra.join(",")
        )
    }

    /// `Marshal.dump(spec)` of the `Gem::Specification` (`_dump`'s 19-field array).
    pub fn marshal_spec(&self) -> Vec<u8> {
        let text = |s: &Option<String>| s.clone().map_or(Value::Nil, Value::Str);
        let strings = |v: &[String]| Value::Array(v.iter().cloned().map(Value::Str).collect());
        let email = match self.email.as_slice() {
            [] => Value::Nil,
            [one] => Value::Str(one.clone()),
            many => strings(many),
        };
        let deps = self
            .dependencies
            .iter()
            .map(|d| {
                Value::Object(
                    "Gem::Dependency",
                    vec![
                        ("name", Value::Str(d.name.clone())),
                        ("requirement", requirement_value(&d.requirement)),
                        ("type", Value::Sym(d.kind.clone())),
                        ("prerelease", Value::Bool(false)),
                    ],
                )
            })
            .collect();
        let metadata = self
            .metadata
            .iter()
            .map(|(k, v)| (Value::Str(k.clone()), Value::Str(v.clone())))
            .collect();
        let fields = Value::Array(vec![
            Value::Str(
                self.rubygems_version
                    .clone()
                    .unwrap_or_else(|| "3.3.15".into()),
            ),
            Value::Int(self.specification_version.unwrap_or(4)),
            Value::Str(self.name.clone()),
            version_value(&self.number),
            text(&self.date),
            Value::Str(self.summary.clone().unwrap_or_default()),
            requirement_value(&self.required_ruby_version),
            requirement_value(&self.required_rubygems_version),
            Value::Str(self.platform.clone()),
            Value::Array(deps),
            Value::Str(String::new()),
            email,
            strings(&self.authors),
            text(&self.description),
            text(&self.homepage),
            Value::Bool(true),
            Value::Str(self.platform.clone()),
            strings(&self.licenses),
            Value::Hash(metadata),
        ]);
        marshal::dump(&Value::UserDefined(
            "Gem::Specification",
            marshal::dump(&fields),
        ))
    }

    /// What the control plane reports of the version.
    pub fn version_metadata(&self) -> VersionMetadata {
        VersionMetadata {
            manifest: serde_json::to_value(self).ok(),
            summary: self.summary.clone().or_else(|| self.description.clone()),
            home_page: self.homepage.clone(),
            source_code_repository: self.metadata.get("source_code_uri").cloned(),
            licenses: self
                .licenses
                .iter()
                .map(|name| License {
                    name: Some(name.clone()),
                    url: None,
                })
                .collect(),
            readme: None,
            dependencies: self
                .dependencies
                .iter()
                .map(|d| Dependency {
                    namespace: None,
                    package: d.name.clone(),
                    dependency_type: Some(d.kind.clone()),
                    version_requirement: Some(requirement_text(&d.requirement, ", ")),
                })
                .collect(),
        }
    }

    /// The spec kept as a version's manifest, if it is one.
    pub fn from_manifest(manifest: Option<&serde_json::Value>) -> Option<Spec> {
        serde_json::from_value(manifest?.clone()).ok()
    }
}

fn is_any(req: &Requirement) -> bool {
    req.iter().all(|(op, v)| op == ">=" && v == "0")
}

/// `>= 1.0, < 2` (or joined by `&` in the compact index); no constraint reads `>= 0`.
pub fn requirement_text(req: &Requirement, sep: &str) -> String {
    if req.is_empty() {
        return ">= 0".into();
    }
    req.iter()
        .map(|(op, v)| format!("{op} {v}"))
        .collect::<Vec<_>>()
        .join(sep)
}

/// Reads `~> 1.0, >= 1.0.1` (or `&`-joined) back into pairs; a bare version means `=`.
/// `None` when a constraint is not one RubyGems could have written.
pub fn parse_requirement(text: &str) -> Option<Requirement> {
    text.split([',', '&'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|c| {
            let (op, v) = match OPERATORS.iter().find(|op| c.starts_with(*op)) {
                Some(op) => ((*op).to_string(), c[op.len()..].trim().to_string()),
                None => ("=".to_string(), c.to_string()),
            };
            valid_constraint(&op, &v).then_some((op, v))
        })
        .collect()
}

fn version_value(v: &str) -> Value {
    Value::UserMarshal(
        "Gem::Version",
        Box::new(Value::Array(vec![Value::Str(v.to_string())])),
    )
}

fn requirement_value(req: &Requirement) -> Value {
    let pairs = if req.is_empty() {
        vec![(">=".to_string(), "0".to_string())]
    } else {
        req.clone()
    };
    let pairs = pairs
        .into_iter()
        .map(|(op, v)| Value::Array(vec![Value::Str(op), version_value(&v)]))
        .collect();
    Value::UserMarshal(
        "Gem::Requirement",
        Box::new(Value::Array(vec![Value::Array(pairs)])),
    )
}

/// Reads a `.gem`: an uncompressed tar whose `metadata.gz` is the gzipped YAML gemspec,
/// with `data.tar.gz` beside it. Says why when the bytes are not such a gem.
pub fn read_gem(bytes: &[u8]) -> Result<Spec, String> {
    let mut archive = tar::Archive::new(bytes);
    let entries = archive
        .entries()
        .map_err(|e| format!("The body is not a gem (a tar archive): {e}"))?;
    let mut metadata = None;
    let mut has_data = false;
    for entry in entries {
        let entry = entry.map_err(|e| format!("The body is not a gem (a tar archive): {e}"))?;
        let path = entry
            .path()
            .map_err(|e| format!("The gem has an unreadable file name: {e}"))?
            .to_string_lossy()
            .into_owned();
        match path.as_str() {
            "metadata.gz" => {
                let mut text = String::new();
                flate2::read::GzDecoder::new(entry)
                    .take(MAX_METADATA_BYTES)
                    .read_to_string(&mut text)
                    .map_err(|e| format!("The gem's metadata.gz cannot be read: {e}"))?;
                metadata = Some(text);
            }
            "data.tar.gz" => has_data = true,
            _ => {}
        }
    }
    let text = metadata.ok_or("The gem has no metadata.gz")?;
    if !has_data {
        return Err("The gem has no data.tar.gz".into());
    }
    parse_gemspec(&text)
}

/// Reads the YAML gemspec (Ruby's object tags are ignored; the shapes are what count).
pub fn parse_gemspec(text: &str) -> Result<Spec, String> {
    let docs = YamlLoader::load_from_str(text)
        .map_err(|e| format!("The gem's metadata is not YAML: {e}"))?;
    let doc = docs.first().ok_or("The gem's metadata is empty")?;
    if doc.as_hash().is_none() {
        return Err("The gem's metadata is not a specification".into());
    }
    let name = scalar(&doc["name"]).ok_or("The gem's metadata has no name")?;
    let number = scalar(&doc["version"]["version"])
        .or_else(|| scalar(&doc["version"]))
        .ok_or("The gem's metadata has no version")?;
    let platform = platform(&doc["platform"]).unwrap_or_else(|| "ruby".into());
    if !valid_name(&name) {
        return Err(format!("Invalid gem name '{name}'"));
    }
    if !valid_number(&number) {
        return Err(format!("Invalid version '{number}' of gem {name}"));
    }
    if !valid_platform(&platform) {
        return Err(format!("Invalid platform '{platform}' of gem {name}"));
    }
    let dependencies = doc["dependencies"]
        .as_vec()
        .into_iter()
        .flatten()
        .map(|d| {
            let dep_name = scalar(&d["name"])
                .filter(|n| valid_name(n))
                .ok_or_else(|| {
                    "The gem's metadata has a dependency without a valid name".to_string()
                })?;
            let kind = match scalar(&d["type"]).as_deref() {
                Some(":development" | "development") => "development",
                _ => "runtime",
            };
            Ok(Dep {
                name: dep_name,
                requirement: requirement(&d["requirement"])?,
                kind: kind.to_string(),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let list = |y: &Yaml| -> Vec<String> {
        match y {
            Yaml::Array(items) => items.iter().filter_map(scalar).collect(),
            other => scalar(other).into_iter().collect(),
        }
    };
    let metadata = doc["metadata"]
        .as_hash()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((scalar(k)?, scalar(v)?)))
        .collect();
    let date = scalar(&doc["date"]).and_then(|d| {
        let day = d.get(..10)?;
        (day.len() == 10
            && day.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            }))
        .then(|| day.to_string())
    });
    Ok(Spec {
        name,
        number,
        platform,
        dependencies,
        summary: scalar(&doc["summary"]),
        description: scalar(&doc["description"]),
        authors: list(&doc["authors"]),
        email: list(&doc["email"]),
        homepage: scalar(&doc["homepage"]),
        licenses: list(&doc["licenses"]),
        metadata,
        required_ruby_version: requirement(&doc["required_ruby_version"])?,
        required_rubygems_version: requirement(&doc["required_rubygems_version"])?,
        rubygems_version: scalar(&doc["rubygems_version"]),
        specification_version: doc["specification_version"]
            .as_i64()
            .and_then(|n| i32::try_from(n).ok()),
        date,
        sha256: None,
    })
}

fn scalar(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(n) => Some(n.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
    .filter(|s| !s.is_empty())
}

/// `requirements: [[op, {version: v}], …]` of a `Gem::Requirement`.
/// A constraint is refused unless its operator is one RubyGems has and its version a
/// version: they are written back into documents (the compact index is line-based).
fn requirement(y: &Yaml) -> Result<Requirement, String> {
    y["requirements"]
        .as_vec()
        .into_iter()
        .flatten()
        .map(|pair| {
            let op = scalar(&pair[0]).unwrap_or_default();
            let v = scalar(&pair[1]["version"])
                .or_else(|| scalar(&pair[1]))
                .unwrap_or_default();
            if valid_constraint(&op, &v) {
                Ok((op, v))
            } else {
                Err(format!(
                    "The gem's metadata has an invalid requirement '{op} {v}'"
                ))
            }
        })
        .collect()
}

const OPERATORS: [&str; 7] = ["~>", ">=", "<=", "!=", ">", "<", "="];

/// Whether `op v` is a constraint RubyGems could have written.
pub fn valid_constraint(op: &str, v: &str) -> bool {
    OPERATORS.contains(&op) && valid_number(v)
}

/// The platform of a gemspec: a string, or a `Gem::Platform` written as its parts.
fn platform(y: &Yaml) -> Option<String> {
    if y.as_hash().is_some() {
        let parts: Vec<String> = ["cpu", "os", "version"]
            .iter()
            .filter_map(|k| scalar(&y[*k]))
            .collect();
        return (!parts.is_empty()).then(|| parts.join("-"));
    }
    scalar(y)
}

#[cfg(test)]
mod tests {
    use super::super::marshal::tests::ruby;
    use super::*;

    const GEMSPEC: &str = r#"--- !ruby/object:Gem::Specification
name: alpha
version: !ruby/object:Gem::Version
  version: 1.0.0
platform: x86_64-linux
authors:
- A B
date: 2026-12-02 00:00:00.000000000 Z
dependencies:
- !ruby/object:Gem::Dependency
  name: beta
  requirement: &1 !ruby/object:Gem::Requirement
    requirements:
    - - "~>"
      - !ruby/object:Gem::Version
        version: '1.0'
    - - ">="
      - !ruby/object:Gem::Version
        version: 1.0.1
  type: :runtime
  prerelease: false
  version_requirements: *1
- !ruby/object:Gem::Dependency
  name: rake
  requirement: !ruby/object:Gem::Requirement
    requirements:
    - - ">="
      - !ruby/object:Gem::Version
        version: '0'
  type: :development
  prerelease: false
description: Long alpha
email: a@b.c
homepage: http://example.invalid/alpha
licenses:
- MIT
metadata:
  source_code_uri: http://example.invalid/src
required_ruby_version: !ruby/object:Gem::Requirement
  requirements:
  - - ">="
    - !ruby/object:Gem::Version
      version: '2.7'
required_rubygems_version: !ruby/object:Gem::Requirement
  requirements:
  - - ">="
    - !ruby/object:Gem::Version
      version: '0'
rubygems_version: 3.3.15
specification_version: 4
summary: Alpha
"#;

    #[test]
    fn gemspecs_are_read_from_their_yaml() {
        let spec = parse_gemspec(GEMSPEC).unwrap();
        assert_eq!(spec.full_name(), "alpha-1.0.0-x86_64-linux");
        assert_eq!(
            spec.dependencies[0].requirement,
            vec![("~>".into(), "1.0".into()), (">=".into(), "1.0.1".into())]
        );
        assert_eq!(spec.dependencies[1].kind, "development");
        assert_eq!(spec.date.as_deref(), Some("2026-12-02"));
        assert_eq!(spec.email, vec!["a@b.c".to_string()]);
        assert_eq!(
            spec.info_line(),
            "1.0.0-x86_64-linux beta:~> 1.0&>= 1.0.1|ruby:>= 2.7"
        );
        for bad in [
            "",
            "--- []",
            "name: x",
            "name: '../x'\nversion: '1'",
            "name: x\nversion: 1.0; rm",
        ] {
            assert!(parse_gemspec(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_and_versions_are_checked() {
        for ok in ["1", "1.0.0", "2.0.0.pre1", "1.0.a", "1.0-rc1"] {
            assert!(valid_number(ok), "{ok}");
        }
        for bad in ["", "a", "1..0", "1.0/", "1.0-", "-1", "1 0"] {
            assert!(!valid_number(bad), "{bad}");
        }
        assert!(valid_name("aws-sdk-core") && valid_name("a_b.c"));
        for bad in ["", "..", "a/b", "-x", "123", "a%2fb"] {
            assert!(!valid_name(bad), "{bad}");
        }
        assert_eq!(
            parse_requirement("~> 1.0, >= 1.0.1"),
            Some(vec![
                ("~>".into(), "1.0".into()),
                (">=".into(), "1.0.1".into())
            ])
        );
        assert_eq!(parse_requirement(">= 1\n9.9 evil"), None);
        let injected = GEMSPEC.replace("version: 1.0.1", "version: \"1.0.1\\n9.9.9 |\"");
        assert!(parse_gemspec(&injected).is_err());
        let object_platform = GEMSPEC.replace(
            "platform: x86_64-linux",
            "platform: !ruby/object:Gem::Platform\n  cpu: x86_64\n  os: linux\n  version:",
        );
        assert_eq!(
            parse_gemspec(&object_platform).unwrap().platform,
            "x86_64-linux"
        );
    }

    #[test]
    fn the_marshalled_spec_loads_as_a_gem_specification() {
        let spec = parse_gemspec(GEMSPEC).unwrap();
        let out = ruby(
            "require 'rubygems'; s = Marshal.load(STDIN.binmode.read); \
             puts s.class, s.full_name, s.version, s.platform, s.summary, s.authors.inspect, \
             s.email, s.homepage, (s.instance_variable_get(:@license) || s.licenses).inspect, s.metadata.inspect, s.date.year, \
             s.required_ruby_version, s.dependencies.map { |d| [d.name, d.requirement.to_s, d.type] }.inspect",
            &spec.marshal_spec(),
        );
        assert_eq!(
            out,
            "Gem::Specification\nalpha-1.0.0-x86_64-linux\n1.0.0\nx86_64-linux\nAlpha\n[\"A B\"]\n\
             a@b.c\nhttp://example.invalid/alpha\n[\"MIT\"]\n{\"source_code_uri\"=>\"http://example.invalid/src\"}\n\
             2026\n>= 2.7\n[[\"beta\", \"~> 1.0, >= 1.0.1\", :runtime], [\"rake\", \">= 0\", :development]]\n"
        );
    }

    #[test]
    fn dependency_entries_load_as_the_dependency_api_sends_them() {
        let spec = parse_gemspec(GEMSPEC).unwrap();
        let doc = marshal::dump(&Value::Array(vec![spec.dependency_entry()]));
        let out = ruby("p Marshal.load(STDIN.binmode.read)", &doc);
        assert_eq!(
            out,
            "[{:name=>\"alpha\", :number=>\"1.0.0\", :platform=>\"x86_64-linux\", :dependencies=>[[\"beta\", \"~> 1.0, >= 1.0.1\"]]}]\n"
        );
    }
}
