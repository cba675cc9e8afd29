//! `maven-metadata.xml`: reading the documents clients upload (artifact level and snapshot
//! level) and writing the artifact-level document the server generates (spec §7.4–7.5).

use quick_xml::events::Event;
use quick_xml::Reader;

/// What an uploaded metadata document says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Document {
    pub group_id: Option<String>,
    pub artifact_id: Option<String>,
    /// The top-level `<version>` (snapshot documents name their `-SNAPSHOT` here).
    pub version: Option<String>,
    /// `<versioning><versions><version>…`
    pub versions: Vec<String>,
    /// `<versioning><snapshot>`: the newest build's timestamp and build number.
    pub snapshot: Option<(String, String)>,
    /// `<versioning><snapshotVersions><snapshotVersion><value>…`
    pub snapshot_values: Vec<String>,
    /// `<versioning><lastUpdated>` (`yyyyMMddHHmmss`, UTC).
    pub last_updated: Option<String>,
}

/// Reads a document; `Err` when it is not well-formed XML or its root is not `metadata`.
pub fn parse(bytes: &[u8]) -> Result<Document, String> {
    let xml = std::str::from_utf8(bytes).map_err(|_| "the document is not UTF-8".to_string())?;
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    let mut doc = Document::default();
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut snapshot = (None, None);
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("malformed XML at byte {}: {e}", reader.buffer_position()))?;
        match event {
            Event::Start(start) => {
                let name = start.local_name().into_inner().to_string();
                if path.is_empty() && name != "metadata" {
                    return Err(format!("the root element is <{name}>, not <metadata>"));
                }
                path.push(name);
                text.clear();
            }
            Event::Empty(_) => {}
            Event::Text(t) => text.push_str(&t.xml10_content()),
            Event::CData(t) => text.push_str(&t.xml10_content()),
            // Character references and the five predefined entities; any other entity
            // (a DTD could declare one) is refused rather than expanded.
            Event::GeneralRef(r) => {
                let entity = format!("&{};", r.as_ref() as &str);
                text.push_str(&quick_xml::escape::unescape(&entity).map_err(|e| e.to_string())?);
            }
            Event::End(_) => {
                let value = text.trim().to_string();
                let at: Vec<&str> = path.iter().map(String::as_str).collect();
                match at[..] {
                    ["metadata", "groupId"] => doc.group_id = Some(value),
                    ["metadata", "artifactId"] => doc.artifact_id = Some(value),
                    ["metadata", "version"] => doc.version = Some(value),
                    ["metadata", "versioning", "versions", "version"] => doc.versions.push(value),
                    ["metadata", "versioning", "lastUpdated"] => doc.last_updated = Some(value),
                    ["metadata", "versioning", "snapshot", "timestamp"] => snapshot.0 = Some(value),
                    ["metadata", "versioning", "snapshot", "buildNumber"] => {
                        snapshot.1 = Some(value)
                    }
                    ["metadata", "versioning", "snapshotVersions", "snapshotVersion", "value"] => {
                        doc.snapshot_values.push(value)
                    }
                    _ => {}
                }
                path.pop();
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !path.is_empty() {
        return Err("the document ends inside an element".to_string());
    }
    if doc == Document::default() && snapshot == (None, None) {
        return Err("the document has no <metadata> element".to_string());
    }
    if let (Some(timestamp), Some(build)) = snapshot {
        doc.snapshot = Some((timestamp, build));
    }
    Ok(doc)
}

fn escape(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

/// `yyyyMMddHHmmss` (UTC) of a time in milliseconds.
pub fn timestamp(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y%m%d%H%M%S").to_string())
        .unwrap_or_default()
}

/// Milliseconds of a `yyyyMMddHHmmss` (UTC) timestamp.
pub fn parse_timestamp(value: &str) -> Option<i64> {
    chrono::NaiveDateTime::parse_from_str(value.trim(), "%Y%m%d%H%M%S")
        .ok()
        .map(|t| t.and_utc().timestamp_millis())
}

/// The artifact-level document for versions already in Maven order (oldest first):
/// `<latest>` is the highest version, `<release>` the highest that is not a SNAPSHOT.
pub fn render(group: &str, artifact: &str, versions: &[&str], last_updated_ms: i64) -> String {
    let mut xml = String::with_capacity(256 + versions.len() * 40);
    xml.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metadata modelVersion=\"1.1.0\">\n");
    xml.push_str(&format!("  <groupId>{}</groupId>\n", escape(group)));
    xml.push_str(&format!(
        "  <artifactId>{}</artifactId>\n",
        escape(artifact)
    ));
    xml.push_str("  <versioning>\n");
    if let Some(latest) = versions.last() {
        xml.push_str(&format!("    <latest>{}</latest>\n", escape(latest)));
    }
    if let Some(release) = versions.iter().rev().find(|v| !v.ends_with("-SNAPSHOT")) {
        xml.push_str(&format!("    <release>{}</release>\n", escape(release)));
    }
    xml.push_str("    <versions>\n");
    for version in versions {
        xml.push_str(&format!("      <version>{}</version>\n", escape(version)));
    }
    xml.push_str("    </versions>\n");
    xml.push_str(&format!(
        "    <lastUpdated>{}</lastUpdated>\n",
        timestamp(last_updated_ms)
    ));
    xml.push_str("  </versioning>\n</metadata>\n");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documents_maven_uploads() {
        let artifact = br#"<?xml version="1.0" encoding="UTF-8"?>
<metadata>
  <groupId>com.mycompany.app</groupId>
  <artifactId>my-app</artifactId>
  <versioning>
    <release>1.0</release>
    <versions><version>0.9</version><version>1.0</version></versions>
    <lastUpdated>20261125224315</lastUpdated>
  </versioning>
</metadata>"#;
        let doc = parse(artifact).unwrap();
        assert_eq!(doc.group_id.as_deref(), Some("com.mycompany.app"));
        assert_eq!(doc.versions, ["0.9", "1.0"]);
        assert_eq!(
            parse_timestamp(doc.last_updated.as_deref().unwrap()),
            Some(1_795_646_595_000)
        );
        let snapshot = br#"<metadata modelVersion="1.1.0"><groupId>g</groupId><artifactId>a</artifactId>
  <versioning><lastUpdated>20261125224315</lastUpdated>
    <snapshot><timestamp>20261125.224315</timestamp><buildNumber>2</buildNumber></snapshot>
    <snapshotVersions>
      <snapshotVersion><extension>jar</extension><value>1.1-20261125.224315-2</value></snapshotVersion>
      <snapshotVersion><classifier>sources</classifier><extension>jar</extension><value>1.1-20261125.224315-2</value></snapshotVersion>
    </snapshotVersions>
  </versioning><version>1.1-SNAPSHOT</version></metadata>"#;
        let doc = parse(snapshot).unwrap();
        assert_eq!(doc.version.as_deref(), Some("1.1-SNAPSHOT"));
        assert_eq!(
            doc.snapshot,
            Some(("20261125.224315".to_string(), "2".to_string()))
        );
        assert_eq!(doc.snapshot_values.len(), 2);
    }

    #[test]
    fn refuses_what_is_not_metadata() {
        for bad in [
            &b""[..],
            b"not xml",
            b"<metadata><versioning>",
            b"<project><version>1</version></project>",
            b"<metadata><groupId>a</artifactId></metadata>",
            b"\xff\xfe<",
        ] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn renders_latest_release_and_escapes() {
        let xml = render("g", "a&b", &["1.0", "1.1", "2.0-SNAPSHOT"], 0);
        assert!(xml.contains("<artifactId>a&amp;b</artifactId>"));
        assert!(xml.contains("<latest>2.0-SNAPSHOT</latest>"));
        assert!(xml.contains("<release>1.1</release>"));
        assert!(xml.contains("<lastUpdated>19700101000000</lastUpdated>"));
        let doc = parse(xml.as_bytes()).unwrap();
        assert_eq!(doc.versions, ["1.0", "1.1", "2.0-SNAPSHOT"]);
    }
}
