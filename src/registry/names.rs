//! The package formats and the per-format normalisation of names, namespaces and versions
//! (spec §10): the stored form every lookup, every key and every package-group match uses, so
//! differently spelled requests for one package find it.
//!
//! Pure functions over strings; it depends on no module of the crate.

/// The package formats, as they appear in patterns, paths and the API (lowercase only).
pub const FORMATS: [&str; 8] = [
    "npm", "pypi", "maven", "nuget", "generic", "ruby", "swift", "cargo",
];

/// Whether packages of a format carry a namespace, which decides what a pattern may say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamespaceRule {
    /// Every package has one (`maven` groupId, `generic`, `swift` scope).
    Required,
    /// Some packages have one (`npm` scopes).
    Optional,
    /// No package has one (`pypi`, `nuget`, `ruby`, `cargo`).
    Forbidden,
}

/// The namespace rule of `format` (§10). Unknown formats get `Optional`, the rule that
/// rejects nothing; callers validate the format first.
pub fn namespace_rule(format: &str) -> NamespaceRule {
    match format {
        "maven" | "generic" | "swift" => NamespaceRule::Required,
        "pypi" | "nuget" | "ruby" | "cargo" => NamespaceRule::Forbidden,
        _ => NamespaceRule::Optional,
    }
}

/// The stored (normalised) form of a package name, so differently spelled requests for the
/// same package find it: PyPI per PEP 503 (`Pigeon_CLI` → `pigeon-cli`), NuGet and Swift
/// lowercased, every other format unchanged.
pub fn normalize_name(format: &str, name: &str) -> String {
    match format {
        "pypi" => {
            let mut out = String::with_capacity(name.len());
            let mut in_separator_run = false;
            for c in name.chars() {
                if matches!(c, '-' | '_' | '.') {
                    if !in_separator_run {
                        out.push('-');
                    }
                    in_separator_run = true;
                } else {
                    out.extend(c.to_lowercase());
                    in_separator_run = false;
                }
            }
            out
        }
        "nuget" | "swift" => name.to_lowercase(),
        _ => name.to_string(),
    }
}

/// The stored form of a namespace: Swift scopes are lowercased, everything else is kept as
/// given (npm scopes are case-sensitive and never have `@` stripped, §10).
pub fn normalize_namespace(format: &str, namespace: &str) -> String {
    match format {
        "swift" => namespace.to_lowercase(),
        _ => namespace.to_string(),
    }
}

/// The stored form of a version. Only NuGet normalises versions, as NuGet itself does:
/// leading zeros dropped from each numeric part, at least three parts, a fourth part of `0`
/// dropped, build metadata (`+…`) dropped, the pre-release label kept as written
/// (`1.00.0.1` → `1.0.0.1`, `1.0.0.0` → `1.0.0`, `1.0.7+r3456` → `1.0.7`). A string that is
/// not a NuGet version is returned unchanged, so lookups of odd versions still work.
pub fn normalize_version(format: &str, version: &str) -> String {
    if format != "nuget" {
        return version.to_string();
    }
    normalize_nuget_version(version).unwrap_or_else(|| version.to_string())
}

fn normalize_nuget_version(version: &str) -> Option<String> {
    let without_metadata = version.split_once('+').map_or(version, |(v, _)| v);
    let (numbers, prerelease) = match without_metadata.split_once('-') {
        Some((numbers, label)) if !label.is_empty() => (numbers, Some(label)),
        Some(_) => return None,
        None => (without_metadata, None),
    };
    let mut parts = Vec::with_capacity(4);
    for part in numbers.split('.') {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // Trim textually rather than parsing, so huge numbers cannot overflow.
        let trimmed = part.trim_start_matches('0');
        parts.push(if trimmed.is_empty() { "0" } else { trimmed });
    }
    if parts.len() > 4 {
        return None;
    }
    while parts.len() < 3 {
        parts.push("0");
    }
    if parts.len() == 4 && parts[3] == "0" {
        parts.pop();
    }
    let mut out = parts.join(".");
    if let Some(label) = prerelease {
        out.push('-');
        out.push_str(label);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_namespace_and_version_normalisation() {
        assert_eq!(normalize_name("pypi", "Pigeon_CLI"), "pigeon-cli");
        assert_eq!(normalize_name("pypi", "a._-B..c"), "a-b-c");
        assert_eq!(
            normalize_name("nuget", "Newtonsoft.JSON"),
            "newtonsoft.json"
        );
        assert_eq!(normalize_name("swift", "Swift-NIO"), "swift-nio");
        assert_eq!(normalize_name("npm", "AsyncStorage"), "AsyncStorage");
        assert_eq!(normalize_name("maven", "Log4j_Core"), "Log4j_Core");
        assert_eq!(normalize_name("cargo", "Serde"), "Serde");
        assert_eq!(normalize_namespace("swift", "Apple"), "apple");
        assert_eq!(normalize_namespace("npm", "Space"), "Space");
        assert_eq!(normalize_namespace("npm", "@types"), "@types");

        let v = |s: &str| normalize_version("nuget", s);
        assert_eq!(v("1.00.0.1"), "1.0.0.1");
        assert_eq!(v("1.0.0.0"), "1.0.0");
        assert_eq!(v("1.0.7+r3456"), "1.0.7");
        assert_eq!(v("12.0.03.0"), "12.0.3");
        assert_eq!(v("1.00"), "1.0.0");
        assert_eq!(v("1.01.1"), "1.1.1");
        assert_eq!(v("1.0.01.0"), "1.0.1");
        assert_eq!(v("2"), "2.0.0");
        assert_eq!(v("1.0.0-Beta.01+meta"), "1.0.0-Beta.01");
        assert_eq!(
            v("99999999999999999999999.0"),
            "99999999999999999999999.0.0"
        );
        // Not NuGet versions: unchanged.
        for odd in ["", "1.x", "1..2", "1.2.3.4.5", "1.0-", "v1.0", "+", "-"] {
            assert_eq!(v(odd), odd);
        }
        assert_eq!(normalize_version("npm", "1.00.0"), "1.00.0");
        assert_eq!(normalize_version("swift", "1.0.0+build"), "1.0.0+build");
        assert_eq!(normalize_version("pypi", "1.0.0.0"), "1.0.0.0");

        assert_eq!(namespace_rule("maven"), NamespaceRule::Required);
        assert_eq!(namespace_rule("generic"), NamespaceRule::Required);
        assert_eq!(namespace_rule("swift"), NamespaceRule::Required);
        assert_eq!(namespace_rule("npm"), NamespaceRule::Optional);
        for f in ["pypi", "nuget", "ruby", "cargo"] {
            assert_eq!(namespace_rule(f), NamespaceRule::Forbidden);
        }
    }
}
