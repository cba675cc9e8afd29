//! Reads the few things CodeArtifact reports about a Maven package version from its POM.
//!
//! A streaming pass collects raw values by element path (so nesting depth costs heap, not
//! stack), then `${…}` placeholders are resolved at the end, because `<properties>` may
//! come after the values that use them.

use std::borrow::Cow;
use std::collections::HashMap;

use quick_xml::events::Event;
use quick_xml::Reader;

use crate::registry::{Dependency, License, VersionMetadata};

/// What a POM says about its version, as far as CodeArtifact reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pom {
    pub group_id: Option<String>, // project groupId, else the parent's
    pub artifact_id: Option<String>,
    pub version: Option<String>, // project version, else the parent's
    pub packaging: Option<String>,
    pub metadata: VersionMetadata,
}

impl Pom {
    /// The version metadata to store: what the control plane reports, with the POM's
    /// coordinates and packaging kept as the version's manifest (so uploading a POM always
    /// counts as a metadata change, as the service's events report it).
    pub fn into_metadata(self) -> VersionMetadata {
        let mut metadata = self.metadata;
        metadata.manifest = Some(serde_json::json!({
            "groupId": self.group_id,
            "artifactId": self.artifact_id,
            "version": self.version,
            "packaging": self.packaging,
        }));
        metadata
    }
}

/// How deep placeholders may nest, so reference cycles end.
const MAX_DEPTH: usize = 10;
/// Total bytes substituted per POM, so "billion laughs"-style properties stay cheap.
const EXPANSION_BUDGET: usize = 1 << 20;

#[derive(Default)]
struct Coords {
    group_id: Option<String>,
    artifact_id: Option<String>,
    version: Option<String>,
}

impl Coords {
    fn set(&mut self, field: &str, value: String) {
        match field {
            "groupId" => self.group_id = Some(value),
            "artifactId" => self.artifact_id = Some(value),
            "version" => self.version = Some(value),
            _ => {}
        }
    }
}

#[derive(Default)]
struct RawDependency {
    coords: Coords,
    scope: Option<String>,
    optional: Option<String>,
}

/// Values exactly as written (trimmed), before interpolation.
#[derive(Default)]
struct Raw {
    project: Coords,
    parent: Option<Coords>,
    packaging: Option<String>,
    description: Option<String>,
    url: Option<String>,
    scm_url: Option<String>,
    licenses: Vec<License>,
    dependencies: Vec<RawDependency>,
    properties: HashMap<String, String>,
}

impl Raw {
    fn start(&mut self, path: &[&str]) {
        match path {
            ["project", "parent"] => self.parent = Some(Coords::default()),
            ["project", "licenses", "license"] => self.licenses.push(License::default()),
            ["project", "dependencies", "dependency"] => {
                self.dependencies.push(RawDependency::default());
            }
            _ => {}
        }
    }

    fn end(&mut self, path: &[&str], value: String) {
        match *path {
            ["project", "packaging"] => self.packaging = Some(value),
            ["project", "description"] => self.description = Some(value),
            ["project", "url"] => self.url = Some(value),
            ["project", "scm", "url"] => self.scm_url = Some(value),
            ["project", "properties", name] => {
                self.properties.insert(name.into(), value);
            }
            ["project", field] => self.project.set(field, value),
            ["project", "parent", field] => {
                if let Some(parent) = &mut self.parent {
                    parent.set(field, value);
                }
            }
            ["project", "licenses", "license", field] => match (self.licenses.last_mut(), field) {
                (Some(license), "name") => license.name = Some(value),
                (Some(license), "url") => license.url = Some(value),
                _ => {}
            },
            ["project", "dependencies", "dependency", field] => {
                if let Some(dep) = self.dependencies.last_mut() {
                    match field {
                        "scope" => dep.scope = Some(value),
                        "optional" => dep.optional = Some(value),
                        _ => dep.coords.set(field, value),
                    }
                }
            }
            _ => {}
        }
    }
}

/// Parses a POM; Err(reason) when it is not well-formed XML or its root element is not `project`.
pub fn parse(bytes: &[u8]) -> Result<Pom, String> {
    let text = decode(bytes)?;
    let mut reader = Reader::from_str(text.strip_prefix('\u{feff}').unwrap_or(&text));
    let mut raw = Raw::default();
    let mut path: Vec<String> = Vec::new();
    let mut value = String::new();
    let mut seen_root = false;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("malformed XML at byte {}: {e}", reader.error_position()))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                for attr in e.attributes() {
                    attr.map_err(|e| format!("malformed attribute: {e}"))?;
                }
                let name = e.local_name().as_ref().to_owned();
                if name.is_empty() {
                    return Err("malformed XML: element without a name".into());
                }
                if path.is_empty() {
                    if seen_root {
                        return Err("malformed XML: more than one root element".into());
                    }
                    if name != "project" {
                        return Err(format!("root element is <{name}>, not <project>"));
                    }
                    seen_root = true;
                }
                path.push(name);
                value.clear();
                with_path(&path, |p| raw.start(p));
                if matches!(event, Event::Empty(_)) {
                    with_path(&path, |p| raw.end(p, String::new()));
                    path.pop();
                }
            }
            Event::End(_) => {
                let v = value.trim().to_owned();
                with_path(&path, |p| raw.end(p, v));
                path.pop();
                value.clear();
            }
            Event::Text(t) if path.is_empty() => {
                if !t.trim().is_empty() {
                    return Err("malformed XML: text outside the root element".into());
                }
            }
            Event::Text(t) => value.push_str(&t.xml10_content()),
            Event::CData(t) if !path.is_empty() => value.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if !path.is_empty() => value.push(match &*r {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                name => r
                    .resolve_char_ref()
                    .map_err(|e| format!("malformed XML: {e}"))?
                    .ok_or_else(|| format!("undefined entity &{name}; (DTDs are not read)"))?,
            }),
            Event::CData(_) | Event::GeneralRef(_) => {
                return Err("malformed XML: content outside the root element".into());
            }
            Event::Eof if !path.is_empty() => {
                let open = path.last().map_or("", String::as_str);
                return Err(format!("truncated XML: <{open}> is not closed"));
            }
            Event::Eof if !seen_root => return Err("not a POM: no root element".into()),
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    Ok(interpolate(&raw))
}

/// Calls `f` with the element path, but only where it can matter (four levels), so that
/// deeply nested junk costs no per-event copying.
fn with_path(path: &[String], f: impl FnOnce(&[&str])) {
    if path.len() <= 4 {
        let p: Vec<&str> = path.iter().map(String::as_str).collect();
        f(&p);
    }
}

/// UTF-8, or Latin-1 when the declaration says so (older POMs on Maven Central do).
fn decode(bytes: &[u8]) -> Result<Cow<'_, str>, String> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(Cow::Borrowed(s)),
        Err(e) => {
            let head = String::from_utf8_lossy(&bytes[..bytes.len().min(256)]).to_lowercase();
            let decl = head.split("?>").next().unwrap_or_default();
            let latin1 = ["8859-1", "latin1", "latin-1", "1252"];
            if decl.starts_with("<?xml") && latin1.iter().any(|enc| decl.contains(enc)) {
                Ok(Cow::Owned(bytes.iter().copied().map(char::from).collect()))
            } else {
                Err(format!("not UTF-8: {e}"))
            }
        }
    }
}

/// Resolves `${…}` against the project model and its own properties.
struct Interpolator<'a> {
    raw: &'a Raw,
    budget: usize,
}

impl<'a> Interpolator<'a> {
    fn lookup(&self, key: &str) -> Option<&'a str> {
        let (project, parent) = (&self.raw.project, self.raw.parent.as_ref());
        let from_parent =
            |f: fn(&'a Coords) -> &'a Option<String>| parent.and_then(|p| f(p).as_deref());
        match key {
            "project.version" | "pom.version" | "version" => project
                .version
                .as_deref()
                .or_else(|| from_parent(|p| &p.version)),
            "project.groupId" | "pom.groupId" => project
                .group_id
                .as_deref()
                .or_else(|| from_parent(|p| &p.group_id)),
            "project.artifactId" | "pom.artifactId" => project.artifact_id.as_deref(),
            "project.parent.version" => from_parent(|p| &p.version),
            "project.parent.groupId" => from_parent(|p| &p.group_id),
            "project.parent.artifactId" => from_parent(|p| &p.artifact_id),
            _ => self.raw.properties.get(key).map(String::as_str),
        }
    }

    fn expand(&mut self, s: &str, depth: usize) -> String {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(open) = rest.find("${") {
            let Some(len) = rest[open..].find('}') else {
                break;
            };
            let (placeholder, key) = (&rest[open..open + len + 1], &rest[open + 2..open + len]);
            out.push_str(&rest[..open]);
            match self.lookup(key) {
                Some(v) if depth < MAX_DEPTH && v.len() <= self.budget => {
                    self.budget -= v.len();
                    out.push_str(&self.expand(v, depth + 1));
                }
                _ => out.push_str(placeholder),
            }
            rest = &rest[open + len + 1..];
        }
        out.push_str(rest);
        out
    }

    /// The final value: interpolated, trimmed, and `None` when empty.
    fn value(&mut self, raw: &Option<String>) -> Option<String> {
        let v = self.expand(raw.as_deref()?, 0);
        Some(v.trim().to_owned()).filter(|v| !v.is_empty())
    }
}

/// A dependency entry, skipped when its coordinates are incomplete.
fn dependency(it: &mut Interpolator, c: &Coords, kind: String) -> Option<Dependency> {
    Some(Dependency {
        namespace: Some(it.value(&c.group_id)?),
        package: it.value(&c.artifact_id)?,
        dependency_type: Some(kind),
        version_requirement: it.value(&c.version),
    })
}

fn interpolate(raw: &Raw) -> Pom {
    let mut it = Interpolator {
        raw,
        budget: EXPANSION_BUDGET,
    };
    let parent = raw.parent.as_ref();
    let mut dependencies: Vec<Dependency> = parent
        .and_then(|p| dependency(&mut it, p, "parent".into()))
        .into_iter()
        .collect();
    for dep in &raw.dependencies {
        let optional = it
            .value(&dep.optional)
            .is_some_and(|o| o.eq_ignore_ascii_case("true"));
        let kind = match optional {
            true => "optional".into(),
            false => it.value(&dep.scope).unwrap_or_else(|| "compile".into()),
        };
        dependencies.extend(dependency(&mut it, &dep.coords, kind));
    }
    let licenses = raw
        .licenses
        .iter()
        .map(|l| License {
            name: it.value(&l.name),
            url: it.value(&l.url),
        })
        .filter(|l| l.name.is_some() || l.url.is_some())
        .collect();
    let mut inherited = |own: &Option<String>, from: fn(&Coords) -> &Option<String>| {
        it.value(own).or_else(|| it.value(from(parent?)))
    };
    let group_id = inherited(&raw.project.group_id, |p| &p.group_id);
    let version = inherited(&raw.project.version, |p| &p.version);
    Pom {
        group_id,
        artifact_id: it.value(&raw.project.artifact_id),
        version,
        packaging: it.value(&raw.packaging),
        metadata: VersionMetadata {
            summary: it.value(&raw.description),
            home_page: it.value(&raw.url),
            source_code_repository: it.value(&raw.scm_url),
            licenses,
            dependencies,
            ..VersionMetadata::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `group:artifact:type:version`, `-` for absent parts, for compact assertions.
    fn show(d: &Dependency) -> String {
        let (g, t) = (d.namespace.as_deref(), d.dependency_type.as_deref());
        let v = d.version_requirement.as_deref();
        format!(
            "{}:{}:{}:{}",
            g.unwrap_or("-"),
            d.package,
            t.unwrap_or("-"),
            v.unwrap_or("-")
        )
    }

    const REALISTIC: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment -->
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <parent>
    <groupId>com.example</groupId>
    <artifactId>example-parent</artifactId>
    <version>7</version>
    <relativePath/>
  </parent>
  <artifactId>widget</artifactId>
  <version>${revision}</version>
  <packaging>jar</packaging>
  <description>
    Widgets &amp; gadgets, <![CDATA[<fast>]]> &#169;
  </description>
  <url>https://example.com/${project.artifactId}</url>
  <licenses>
    <license><name>Apache-2.0</name><url>https://www.apache.org/licenses/LICENSE-2.0.txt</url></license>
    <license><name>MIT</name></license>
    <license/>
  </licenses>
  <scm><connection>scm:git:git://x</connection><url>https://github.com/example/widget</url></scm>
  <dependencyManagement><dependencies><dependency>
    <groupId>com.example</groupId><artifactId>bom</artifactId><version>1</version><scope>import</scope>
  </dependency></dependencies></dependencyManagement>
  <dependencies>
    <dependency><groupId>${project.groupId}</groupId><artifactId>widget-core</artifactId><version>${project.version}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>${slf4j.version}</version><scope>provided</scope></dependency>
    <dependency><groupId>com.google.guava</groupId><artifactId>guava</artifactId><version>[32,)</version><scope>runtime</scope><optional> TRUE </optional></dependency>
    <dependency><groupId>org.junit.jupiter</groupId><artifactId>junit-jupiter</artifactId><scope>test</scope><optional>false</optional></dependency>
    <dependency><groupId>org.example</groupId><artifactId>mystery</artifactId><version>${mystery.version}</version><scope>system</scope></dependency>
    <dependency><artifactId>no-group</artifactId><version>1</version></dependency>
  </dependencies>
  <build><plugins><plugin><groupId>p</groupId><artifactId>plugin</artifactId>
    <dependencies><dependency><groupId>x</groupId><artifactId>plugin-dep</artifactId></dependency></dependencies>
  </plugin></plugins></build>
  <profiles><profile><id>extra</id>
    <dependencies><dependency><groupId>x</groupId><artifactId>profile-dep</artifactId></dependency></dependencies>
  </profile></profiles>
  <properties>
    <revision>2.1.0-${qualifier}</revision>
    <qualifier>SNAPSHOT</qualifier>
    <slf4j.version>2.0.13</slf4j.version>
  </properties>
</project>
"#;

    #[test]
    fn realistic_pom() {
        let pom = parse(REALISTIC.as_bytes()).expect("parses");
        assert_eq!(pom.group_id.as_deref(), Some("com.example"));
        assert_eq!(pom.artifact_id.as_deref(), Some("widget"));
        assert_eq!(pom.version.as_deref(), Some("2.1.0-SNAPSHOT"));
        assert_eq!(pom.packaging.as_deref(), Some("jar"));
        let m = &pom.metadata;
        assert_eq!(m.summary.as_deref(), Some("Widgets & gadgets, <fast> ©"));
        assert_eq!(m.home_page.as_deref(), Some("https://example.com/widget"));
        let scm = m.source_code_repository.as_deref();
        assert_eq!(scm, Some("https://github.com/example/widget"));
        let names: Vec<_> = m.licenses.iter().map(|l| l.name.as_deref()).collect();
        assert_eq!(names, [Some("Apache-2.0"), Some("MIT")]);
        let apache = "https://www.apache.org/licenses/LICENSE-2.0.txt";
        assert_eq!(
            (m.licenses[0].url.as_deref(), &m.licenses[1].url),
            (Some(apache), &None)
        );
        let deps: Vec<_> = m.dependencies.iter().map(show).collect();
        assert_eq!(
            deps,
            [
                "com.example:example-parent:parent:7",
                "com.example:widget-core:compile:2.1.0-SNAPSHOT",
                "org.slf4j:slf4j-api:provided:2.0.13",
                "com.google.guava:guava:optional:[32,)",
                "org.junit.jupiter:junit-jupiter:test:-",
                "org.example:mystery:system:${mystery.version}",
            ]
        );
        assert_eq!((m.manifest.as_ref(), m.readme.as_ref()), (None, None));
    }

    #[test]
    fn minimal_and_deploy_file_poms() {
        let minimal = "<project><groupId>g</groupId><artifactId>a</artifactId></project>";
        let expected = Pom {
            group_id: Some("g".into()),
            artifact_id: Some("a".into()),
            ..Pom::default()
        };
        assert_eq!(parse(minimal.as_bytes()), Ok(expected));
        let generated = r#"<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 http://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.acme</groupId>
  <artifactId>thing</artifactId>
  <version>1.0.0</version>
  <description>POM was created from install:install-file</description>
</project>
"#;
        let pom = parse(generated.as_bytes()).expect("parses");
        assert_eq!(pom.group_id.as_deref(), Some("com.acme"));
        assert_eq!(pom.version.as_deref(), Some("1.0.0"));
        let summary = pom.metadata.summary.as_deref();
        assert_eq!(summary, Some("POM was created from install:install-file"));
        assert!(pom.metadata.dependencies.is_empty() && pom.packaging.is_none());
    }

    #[test]
    fn prefixes_latin1_and_empty_values() {
        let prefixed = "\u{feff}<p:project xmlns:p='x'><p:groupId>g</p:groupId><p:url> </p:url><p:packaging/></p:project>";
        let pom = parse(prefixed.as_bytes()).expect("parses");
        assert_eq!(pom.group_id.as_deref(), Some("g"));
        assert_eq!((pom.metadata.home_page, pom.packaging), (None, None));
        let latin1 = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><project><description>J\xf6rg</description></project>";
        let summary = parse(latin1).expect("parses").metadata.summary;
        assert_eq!(summary.as_deref(), Some("Jörg"));
    }

    #[test]
    fn malformed_inputs_are_errors() {
        let bad: &[&[u8]] = &[
            b"",
            b"   ",
            b"not xml",
            b"<project>",
            b"<project><groupId>g</groupId>",
            b"<project><a></b></project>",
            b"<settings/>",
            b"<project/><project/>",
            b"junk<project/>",
            b"<project>a < b</project>",
            b"<project>a & b</project>",
            b"<project a='1' a='2'/>",
            b"<project>&undefined;</project>",
            b"<!DOCTYPE p [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><project>&x;</project>",
            b"<project><url>&#0;</url></project>",
            b"\xff\xfe<\x00p\x00",
            b"<project>\xc3\x28</project>",
        ];
        for input in bad {
            let shown = String::from_utf8_lossy(input);
            assert!(parse(input).is_err(), "{shown:?}");
        }
        assert!(parse(b"<!DOCTYPE project [<!ENTITY x \"boom\">]><project/>").is_ok());
    }

    #[test]
    fn hostile_inputs_never_panic_or_hang() {
        let end = REALISTIC.find("</project>").unwrap_or(0);
        for cut in 0..REALISTIC.len() {
            let result = parse(&REALISTIC.as_bytes()[..cut]);
            assert!(cut > end || result.is_err(), "prefix of {cut} bytes");
        }
        let (open, close) = ("<a>".repeat(100_000), "</a>".repeat(100_000));
        assert!(parse(format!("<project>{open}{close}</project>").as_bytes()).is_ok());
        assert!(parse(format!("<project>{open}").as_bytes()).is_err());
        // Deterministic fuzzing with XML-ish fragments.
        let fragments =
            "<project>|</project>|<a>|</a>|<|>|/|&|amp;|;|${|}|<![CDATA[|]]>|<!--|-->|' |x";
        let alphabet: Vec<&str> = fragments.split('|').collect();
        let mut seed = 0x2545_f491_u64;
        for _ in 0..3_000 {
            let mut doc = String::from("<project>");
            for _ in 0..(seed % 40) {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                doc.push_str(alphabet[usize::from(seed.to_le_bytes()[5]) % alphabet.len()]);
            }
            let _ = parse(doc.as_bytes());
        }
        // Cycles stop at the depth bound; fan-out stops at the budget; placeholders remain.
        let q = "x".repeat(2_000);
        let p = "${q}".repeat(1_000);
        let props = format!("<a>${{b}}</a><b>${{a}}</b><q>{q}</q><p>{p}</p>");
        let doc = format!("<project><properties>{props}</properties><url>${{p}}</url><version>${{a}}</version></project>");
        let pom = parse(doc.as_bytes()).expect("parses");
        let url = pom.metadata.home_page.unwrap_or_default();
        assert!(url.len() < EXPANSION_BUDGET + p.len() && url.ends_with("${q}"));
        assert!(pom.version.is_some_and(|v| v.starts_with("${")));
    }
}
