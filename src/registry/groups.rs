//! Package groups as pure rules: the pattern grammar, matching a package against a pattern
//! (strongly or weakly), specificity, the group hierarchy, and resolving a group's origin
//! restrictions down to "may this version enter this repository" (spec §9.2–9.4). The
//! formats and their name normalisation (§10), which matching depends on, are in `names`.
//!
//! Nothing here touches storage or the wire: callers hand in the groups of one domain and get
//! answers back, so every rule can be tested on its own. It depends on no module of the
//! crate but `names`.

use super::names::{namespace_rule, normalize_name, normalize_namespace, NamespaceRule, FORMATS};
use std::cmp::Ordering;
use std::fmt;

/// How a package matched a pattern. A weak match is a look-alike (same name up to case,
/// separators and compatibility characters) and blocks every origin (§9.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Association {
    Strong,
    Weak,
}

impl Association {
    /// The wire name (`associationType`).
    pub fn as_str(self) -> &'static str {
        match self {
            Association::Strong => "STRONG",
            Association::Weak => "WEAK",
        }
    }
}

/// What a pattern says, once parsed. Namespaces and names are stored as written (which the
/// grammar requires to be normalised where the format normalises).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Shape {
    /// `/*`
    Root,
    /// `/F/*`
    Format,
    /// `/F/N~`
    NamespacePrefix { namespace: String },
    /// `/F/N/*`, `N` possibly empty
    Namespace { namespace: String },
    /// `/F/N/M~`
    NamePrefix { namespace: String, name: String },
    /// `/F/N/M$`
    Exact { namespace: String, name: String },
}

impl Shape {
    /// The same shape with `f` applied to every namespace and name.
    fn map(&self, f: impl Fn(&str) -> String) -> Shape {
        match self {
            Shape::Root => Shape::Root,
            Shape::Format => Shape::Format,
            Shape::NamespacePrefix { namespace } => Shape::NamespacePrefix {
                namespace: f(namespace),
            },
            Shape::Namespace { namespace } => Shape::Namespace {
                namespace: f(namespace),
            },
            Shape::NamePrefix { namespace, name } => Shape::NamePrefix {
                namespace: f(namespace),
                name: f(name),
            },
            Shape::Exact { namespace, name } => Shape::Exact {
                namespace: f(namespace),
                name: f(name),
            },
        }
    }

    /// Whether a namespace and name (of the right format, and in the same form as the
    /// shape: normalised, or weak-folded) fit the shape.
    fn matches(&self, namespace: &str, name: &str) -> bool {
        match self {
            Shape::Root | Shape::Format => true,
            Shape::NamespacePrefix { namespace: prefix } => starts_at_boundary(namespace, prefix),
            Shape::Namespace { namespace: ns } => namespace == ns,
            Shape::NamePrefix {
                namespace: ns,
                name: prefix,
            } => namespace == ns && starts_at_boundary(name, prefix),
            Shape::Exact {
                namespace: ns,
                name: n,
            } => namespace == ns && name == n,
        }
    }
}

/// A validated package-group pattern (§9.3). Equality is the pattern text: patterns are
/// case-sensitive identifiers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pattern {
    text: String,
    /// `None` only for the root.
    format: Option<&'static str>,
    shape: Shape,
    /// `shape` with every namespace and name put through [`weak_fold`], for weak matching.
    weak_shape: Shape,
}

/// Sort key for patterns: ascending order puts the most specific pattern first. Longer
/// patterns are more specific; on equal length `$` beats `~` beats `*`; the text breaks the
/// remaining ties so the order is total and deterministic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Specificity<'a> {
    len: usize,
    rank: u8,
    text: &'a str,
}

impl Specificity<'_> {
    /// Compares how specific two patterns are, ignoring the text tie-break.
    fn cmp_level(&self, other: &Self) -> Ordering {
        other.len.cmp(&self.len).then(other.rank.cmp(&self.rank))
    }
}

impl Ord for Specificity<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.cmp_level(other)
            .then_with(|| self.text.cmp(other.text))
    }
}

impl PartialOrd for Specificity<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Pattern {
    /// Parses and validates a pattern against the grammar of §9.3. The error is the message
    /// of the `ValidationException` to return.
    pub fn parse(text: &str) -> Result<Pattern, String> {
        let invalid = |reason: &str| format!("Invalid package group pattern '{text}': {reason}");
        if !text.starts_with('/') {
            return Err(invalid("a pattern must start with '/'."));
        }
        if text.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(invalid(
                "a pattern must not contain whitespace or control characters.",
            ));
        }
        if text == "/*" {
            return Ok(Pattern {
                text: text.to_string(),
                format: None,
                shape: Shape::Root,
                weak_shape: Shape::Root,
            });
        }
        let Some(terminator) = text.chars().next_back().filter(|c| is_terminator(*c)) else {
            return Err(invalid("a pattern must end with '*', '~' or '$'."));
        };
        // Both ends are one-byte ASCII characters, so these are char boundaries.
        let body = &text[1..text.len() - 1];
        if body.chars().any(is_terminator) {
            return Err(invalid(
                "'*', '~' and '$' may appear only once, as the last character.",
            ));
        }
        let segments: Vec<&str> = body.split('/').collect();
        let format_segment = segments.first().copied().unwrap_or_default();
        let Some(format) = FORMATS.iter().copied().find(|f| *f == format_segment) else {
            return Err(invalid(&format!(
                "'{format_segment}' is not a package format; use one of {}.",
                FORMATS.join(", ")
            )));
        };
        let shape = match (terminator, &segments[1..]) {
            ('*', [""]) => Shape::Format,
            ('*', [namespace, ""]) => Shape::Namespace {
                namespace: (*namespace).to_string(),
            },
            ('*', _) if !body.ends_with('/') => {
                return Err(invalid("'*' may only follow '/'."));
            }
            ('~' | '$', []) => {
                return Err(invalid("the format must be followed by '/'."));
            }
            ('~', [.., last]) if !last.chars().next_back().is_some_and(is_word_char) => {
                return Err(invalid("'~' may only follow a letter or digit."));
            }
            ('~', [namespace]) => Shape::NamespacePrefix {
                namespace: (*namespace).to_string(),
            },
            ('~', [namespace, name]) => Shape::NamePrefix {
                namespace: (*namespace).to_string(),
                name: (*name).to_string(),
            },
            ('$', [namespace, name]) if !name.is_empty() => Shape::Exact {
                namespace: (*namespace).to_string(),
                name: (*name).to_string(),
            },
            ('$', [_] | [_, _]) => {
                return Err(invalid("'$' may only follow a package name."));
            }
            _ => {
                return Err(invalid(
                    "a pattern has at most three segments: /format/namespace/name.",
                ));
            }
        };
        check_namespace_and_name(format, &shape).map_err(|reason| invalid(&reason))?;
        Ok(Pattern {
            text: text.to_string(),
            format: Some(format),
            weak_shape: shape.map(weak_fold),
            shape,
        })
    }

    /// The pattern as written; it is the group's identifier.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True for `/*`, the root group every domain has.
    pub fn is_root(&self) -> bool {
        self.shape == Shape::Root
    }

    /// The format the pattern is about; `None` for the root.
    pub fn format(&self) -> Option<&'static str> {
        self.format
    }

    /// Matches a package, given by format, optional namespace and name (normalised here, so
    /// raw request values may be passed). `Strong` when the exact path matches; `Weak` when
    /// only the look-alike forms match (case-folded, compatibility-folded, separators unified).
    pub fn matches(
        &self,
        format: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Association> {
        match (&self.shape, self.format) {
            (Shape::Root, _) => return Some(Association::Strong),
            (_, Some(own)) if own != format => return None,
            (Shape::Format, _) => return Some(Association::Strong),
            _ => {}
        }
        let namespace = normalize_namespace(format, namespace.unwrap_or_default());
        let name = normalize_name(format, name);
        if self.shape.matches(&namespace, &name) {
            Some(Association::Strong)
        } else if self
            .weak_shape
            .matches(&weak_fold(&namespace), &weak_fold(&name))
        {
            Some(Association::Weak)
        } else {
            None
        }
    }

    /// True when every package `self` matches (strongly) is also matched by `other`, i.e.
    /// `other` is `self` or one of its ancestors. Decided on the patterns' structure, so two
    /// different patterns never contain each other and the hierarchy is a tree.
    pub fn is_within(&self, other: &Pattern) -> bool {
        if other.is_root() || self == other {
            return true;
        }
        if self.is_root() || self.format != other.format {
            return false;
        }
        match (&other.shape, &self.shape) {
            (Shape::Format, _) => true,
            (
                Shape::NamespacePrefix { namespace: outer },
                Shape::NamespacePrefix { namespace: inner }
                | Shape::Namespace { namespace: inner }
                | Shape::NamePrefix {
                    namespace: inner, ..
                }
                | Shape::Exact {
                    namespace: inner, ..
                },
            ) => starts_at_boundary(inner, outer),
            (
                Shape::Namespace { namespace: outer },
                Shape::Namespace { namespace: inner }
                | Shape::NamePrefix {
                    namespace: inner, ..
                }
                | Shape::Exact {
                    namespace: inner, ..
                },
            ) => inner == outer,
            (
                Shape::NamePrefix {
                    namespace: outer_ns,
                    name: outer,
                },
                Shape::NamePrefix {
                    namespace: inner_ns,
                    name: inner,
                }
                | Shape::Exact {
                    namespace: inner_ns,
                    name: inner,
                },
            ) => inner_ns == outer_ns && starts_at_boundary(inner, outer),
            // Exact patterns contain only themselves, handled above.
            _ => false,
        }
    }

    /// The key that orders patterns most specific first (see [`Specificity`]).
    pub fn specificity(&self) -> Specificity<'_> {
        Specificity {
            len: self.text.chars().count(),
            rank: match self.text.as_bytes().last() {
                Some(b'$') => 2,
                Some(b'~') => 1,
                _ => 0,
            },
            text: &self.text,
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn is_terminator(c: char) -> bool {
    matches!(c, '*' | '~' | '$')
}

/// The format rules on a parsed pattern's namespace and name (§9.3): no namespace where the
/// format has none, a namespace wherever a name is given for formats that always have one,
/// and values already normalised for formats that normalise.
fn check_namespace_and_name(format: &str, shape: &Shape) -> Result<(), String> {
    let (namespace, name) = match shape {
        Shape::Root | Shape::Format => return Ok(()),
        Shape::NamespacePrefix { namespace } | Shape::Namespace { namespace } => {
            (namespace.as_str(), None)
        }
        Shape::NamePrefix { namespace, name } | Shape::Exact { namespace, name } => {
            (namespace.as_str(), Some(name.as_str()))
        }
    };
    match namespace_rule(format) {
        NamespaceRule::Forbidden if !namespace.is_empty() => {
            return Err(format!(
                "{format} packages have no namespace; leave the namespace segment empty, \
                 as in /{format}//name$."
            ));
        }
        NamespaceRule::Required if name.is_some() && namespace.is_empty() => {
            return Err(format!(
                "{format} packages always have a namespace; a pattern that names a package \
                 must give its namespace."
            ));
        }
        _ => {}
    }
    let normal_namespace = normalize_namespace(format, namespace);
    if normal_namespace != namespace {
        return Err(format!(
            "{format} namespaces must be written normalized: '{normal_namespace}'."
        ));
    }
    if let Some(name) = name {
        let normal_name = normalize_name(format, name);
        if normal_name != name {
            return Err(format!(
                "{format} package names must be written normalized: '{normal_name}'."
            ));
        }
    }
    Ok(())
}

/// A word character: `\p{L}`, `\p{N}` or `\p{M}`. std has no general-category lookup, so
/// marks are approximated by the combining-mark blocks (alphabetic marks are already covered
/// by `is_alphanumeric`).
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
        || matches!(c,
            '\u{0300}'..='\u{036F}'
            | '\u{0483}'..='\u{0489}'
            | '\u{1AB0}'..='\u{1AFF}'
            | '\u{1DC0}'..='\u{1DFF}'
            | '\u{20D0}'..='\u{20FF}'
            | '\u{3099}'..='\u{309A}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FE20}'..='\u{FE2F}'
            | '\u{E0100}'..='\u{E01EF}')
}

/// `value` starts with `prefix` and the prefix ends at a word boundary: `value` ends there or
/// continues with a non-word character (`foo~` matches `foo`, `foo-bar`, not `food`).
fn starts_at_boundary(value: &str, prefix: &str) -> bool {
    value
        .strip_prefix(prefix)
        .is_some_and(|rest| !rest.chars().next().is_some_and(is_word_char))
}

/// The look-alike form used for weak matching: compatibility characters folded (an
/// approximation of NFKC: fullwidth forms, ligatures, super/subscript digits, dash variants),
/// case folded, and every run of `-`, `.`, `_` replaced by one `.`.
fn weak_fold(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut in_separator_run = false;
    let mut push = |c: char| {
        if matches!(c, '-' | '.' | '_') {
            if !in_separator_run {
                out.push('.');
            }
            in_separator_run = true;
        } else {
            out.push(c);
            in_separator_run = false;
        }
    };
    for c in value.chars() {
        for c in compatibility_fold(c) {
            match c {
                'ß' | 'ẞ' => {
                    push('s');
                    push('s');
                }
                'ς' => push('σ'),
                _ => c.to_lowercase().for_each(&mut push),
            }
        }
    }
    out
}

/// The compatibility decomposition of the characters most used to fake ASCII names.
fn compatibility_fold(c: char) -> CharOrStr {
    let mapped = match c {
        // Fullwidth ASCII.
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0),
        '\u{017F}' => Some('s'),
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' => Some('-'),
        '\u{00B9}' => Some('1'),
        '\u{00B2}' => Some('2'),
        '\u{00B3}' => Some('3'),
        '\u{2070}' | '\u{2080}' => Some('0'),
        '\u{2074}'..='\u{2079}' => char::from_u32(u32::from(c) - 0x2070 + u32::from('0')),
        '\u{2081}'..='\u{2089}' => char::from_u32(u32::from(c) - 0x2080 + u32::from('0')),
        '\u{FB00}' => return CharOrStr::Str("ff"),
        '\u{FB01}' => return CharOrStr::Str("fi"),
        '\u{FB02}' => return CharOrStr::Str("fl"),
        '\u{FB03}' => return CharOrStr::Str("ffi"),
        '\u{FB04}' => return CharOrStr::Str("ffl"),
        '\u{FB05}' | '\u{FB06}' => return CharOrStr::Str("st"),
        _ => None,
    };
    CharOrStr::Char(Some(mapped.unwrap_or(c)))
}

/// One character or a short expansion, iterable without allocating.
enum CharOrStr {
    Char(Option<char>),
    Str(&'static str),
}

impl Iterator for CharOrStr {
    type Item = char;
    fn next(&mut self) -> Option<char> {
        match self {
            CharOrStr::Char(c) => c.take(),
            CharOrStr::Str(s) => {
                let mut chars = s.chars();
                let c = chars.next();
                *s = chars.as_str();
                c
            }
        }
    }
}

/// Orders two candidates for "associated group": more specific first, then a strong match
/// before a weak one, then by text. Only look-alike patterns (`/npm//Foo$`, `/npm//foo$`)
/// ever need the last two.
fn candidate_order(a: (&Pattern, Association), b: (&Pattern, Association)) -> Ordering {
    let strength = |x: Association| u8::from(x == Association::Weak);
    let (sa, sb) = (a.0.specificity(), b.0.specificity());
    sa.cmp_level(&sb)
        .then(strength(a.1).cmp(&strength(b.1)))
        .then_with(|| sa.text.cmp(sb.text))
}

/// The package's associated group among `patterns`: the most specific pattern that matches
/// it strongly or weakly, with `Strong` only if that pattern matches strongly. `None` only
/// when `patterns` lacks the root `/*` (which matches everything) and nothing else matches.
pub fn associated<'a>(
    patterns: &'a [Pattern],
    format: &str,
    namespace: Option<&str>,
    name: &str,
) -> Option<(&'a Pattern, Association)> {
    associated_by(patterns, |p| p, format, namespace, name)
}

fn associated_by<'p, T>(
    items: &'p [T],
    pattern_of: impl Fn(&T) -> &Pattern,
    format: &str,
    namespace: Option<&str>,
    name: &str,
) -> Option<(&'p T, Association)> {
    items
        .iter()
        .filter_map(|item| {
            let p = pattern_of(item);
            p.matches(format, namespace, name).map(|a| (item, p, a))
        })
        .min_by(|(_, pa, a), (_, pb, b)| candidate_order((pa, *a), (pb, *b)))
        .map(|(item, _, a)| (item, a))
}

/// The parent of `child` among `patterns`: the most specific other pattern containing it.
/// `None` for the root, or when `patterns` holds nothing containing `child`.
pub fn parent<'a>(patterns: &'a [Pattern], child: &Pattern) -> Option<&'a Pattern> {
    parent_by(patterns, |p| p, child)
}

/// The direct children of `group` among `patterns` (`ListSubPackageGroups`).
pub fn children<'a>(patterns: &'a [Pattern], group: &Pattern) -> Vec<&'a Pattern> {
    patterns
        .iter()
        .filter(|p| parent(patterns, p) == Some(group))
        .collect()
}

fn parent_by<'p, T>(
    items: &'p [T],
    pattern_of: impl Fn(&T) -> &Pattern,
    child: &Pattern,
) -> Option<&'p T> {
    items
        .iter()
        .filter(|item| {
            let p = pattern_of(item);
            p != child && child.is_within(p)
        })
        .min_by(|a, b| {
            pattern_of(a)
                .specificity()
                .cmp(&pattern_of(b).specificity())
        })
}

/// The kind of origin a restriction governs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RestrictionType {
    /// Direct publishing into the repository.
    Publish,
    /// Ingestion through the repository's external connection.
    ExternalUpstream,
    /// Retention from another repository of the domain.
    InternalUpstream,
}

impl RestrictionType {
    /// All three, in the order the API lists them.
    pub const ALL: [RestrictionType; 3] = [
        RestrictionType::Publish,
        RestrictionType::ExternalUpstream,
        RestrictionType::InternalUpstream,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            RestrictionType::Publish => "PUBLISH",
            RestrictionType::ExternalUpstream => "EXTERNAL_UPSTREAM",
            RestrictionType::InternalUpstream => "INTERNAL_UPSTREAM",
        }
    }

    /// Parses the wire name (exact, case-sensitive, like every API enum).
    pub fn parse(s: &str) -> Option<RestrictionType> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Position in [`RestrictionType::ALL`], for per-type arrays.
    pub fn index(self) -> usize {
        match self {
            RestrictionType::Publish => 0,
            RestrictionType::ExternalUpstream => 1,
            RestrictionType::InternalUpstream => 2,
        }
    }
}

/// A group's configured mode for one restriction type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every repository.
    Allow,
    /// No repository.
    Block,
    /// Only the repositories in the type's allowed list.
    AllowSpecificRepositories,
    /// Whatever the nearest non-INHERIT ancestor says.
    Inherit,
}

impl Mode {
    /// All four, as the model lists them.
    pub const ALL: [Mode; 4] = [
        Mode::Allow,
        Mode::AllowSpecificRepositories,
        Mode::Block,
        Mode::Inherit,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Allow => "ALLOW",
            Mode::Block => "BLOCK",
            Mode::AllowSpecificRepositories => "ALLOW_SPECIFIC_REPOSITORIES",
            Mode::Inherit => "INHERIT",
        }
    }

    /// Parses the wire name (exact, case-sensitive).
    pub fn parse(s: &str) -> Option<Mode> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// What resolution needs to know about one group: its pattern, its configured mode per
/// restriction type and its allowed-repository list per type (both indexed by
/// [`RestrictionType::index`]).
#[derive(Debug, Clone, Copy)]
pub struct GroupView<'a> {
    pub pattern: &'a Pattern,
    pub modes: [Mode; 3],
    pub allowed: [&'a [String]; 3],
}

impl<'a> GroupView<'a> {
    /// A group as created: `ALLOW` everywhere for the root, `INHERIT` for every other group,
    /// no allowed repositories (§9.2).
    pub fn new(pattern: &'a Pattern) -> GroupView<'a> {
        let mode = if pattern.is_root() {
            Mode::Allow
        } else {
            Mode::Inherit
        };
        GroupView {
            pattern,
            modes: [mode; 3],
            allowed: [&[]; 3],
        }
    }

    /// The configured mode for `t`.
    pub fn mode(&self, t: RestrictionType) -> Mode {
        self.modes[t.index()]
    }

    /// This group's own allowed list for `t` (its length is `repositoriesCount`).
    pub fn allowed(&self, t: RestrictionType) -> &'a [String] {
        self.allowed[t.index()]
    }
}

/// A group's resolved restriction for one type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Effective<'a> {
    /// `effectiveMode`; never `Inherit`.
    pub mode: Mode,
    /// `inheritedFrom`: the ancestor the mode came from, present only when the configured
    /// mode is `INHERIT`.
    pub inherited_from: Option<&'a Pattern>,
    /// The allowed list that applies: the group's own, or the ancestor's when inherited.
    pub allowed: &'a [String],
}

/// Resolves `group`'s mode for `t` (§6.10, §9.2): its own mode unless `INHERIT`, otherwise
/// the mode and allowed list of the nearest ancestor (by [`parent`] among `groups`) whose
/// mode is not `INHERIT`. Should the chain end without one (no root in `groups`, or a root
/// stored as `INHERIT`), the root's default `ALLOW` applies.
pub fn effective_mode<'a>(
    groups: &[GroupView<'a>],
    group: &GroupView<'a>,
    t: RestrictionType,
) -> Effective<'a> {
    let own = group.mode(t);
    if own != Mode::Inherit {
        return Effective {
            mode: own,
            inherited_from: None,
            allowed: group.allowed(t),
        };
    }
    let mut current = group.pattern;
    // Containment is a strict order, so the walk ends; the bound is belt and braces.
    for _ in 0..=groups.len() {
        let Some(ancestor) = parent_by(groups, |g| g.pattern, current) else {
            break;
        };
        if ancestor.mode(t) != Mode::Inherit {
            return Effective {
                mode: ancestor.mode(t),
                inherited_from: Some(ancestor.pattern),
                allowed: ancestor.allowed(t),
            };
        }
        current = ancestor.pattern;
    }
    Effective {
        mode: Mode::Allow,
        inherited_from: None,
        allowed: &[],
    }
}

/// Whether a version of a package may enter `repository` by an origin of type `t` (§9.4).
/// `package_level` is the package's own field in that repository (`publish` for `Publish`,
/// `upstream` otherwise; `true` = ALLOW), `None` when the package is new there. Both levels
/// must allow; a weak association blocks regardless of the group's settings.
pub fn decide(
    groups: &[GroupView<'_>],
    format: &str,
    namespace: Option<&str>,
    name: &str,
    repository: &str,
    t: RestrictionType,
    package_level: Option<bool>,
) -> bool {
    if package_level == Some(false) {
        return false;
    }
    let Some((group, association)) = associated_by(groups, |g| g.pattern, format, namespace, name)
    else {
        // No root among `groups`: the root's default applies.
        return true;
    };
    if association == Association::Weak {
        return false;
    }
    let effective = effective_mode(groups, group, t);
    match effective.mode {
        Mode::Allow => true,
        Mode::AllowSpecificRepositories => effective.allowed.iter().any(|r| r == repository),
        Mode::Block | Mode::Inherit => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Pattern {
        match Pattern::parse(text) {
            Ok(pattern) => pattern,
            Err(e) => panic!("{text} should parse: {e}"),
        }
    }

    fn ps(texts: &[&str]) -> Vec<Pattern> {
        texts.iter().map(|t| p(t)).collect()
    }

    fn assoc(
        patterns: &[Pattern],
        format: &str,
        ns: Option<&str>,
        name: &str,
    ) -> (String, Association) {
        let (pattern, a) = associated(patterns, format, ns, name).expect("associated group");
        (pattern.as_str().to_string(), a)
    }

    #[test]
    fn every_pattern_form_in_the_spec_parses() {
        for text in [
            "/*",
            "/npm/*",
            "/maven/com.anycompany~",
            "/npm/space/*",
            "/npm//*",
            "/npm/space/anycompany-ui~",
            "/maven/org.apache.logging.log4j/log4j-core$",
            "/pypi//requests$",
            "/npm//AsyncStorage$",
            "/npm//asyncstorage$",
            "/pypi//*",
            "/pypi/*",
            "/pypi//req~",
            "/nuget//newtonsoft.json$",
            "/swift/apple/swift-nio$",
            "/cargo//serde~",
            "/ruby//rails$",
            "/generic/tools/*",
            // npm scopes are written without '@'; with it the pattern is accepted and
            // matches literally (i.e. nothing real).
            "/npm/@space/*",
        ] {
            let pattern = p(text);
            assert_eq!(pattern.as_str(), text);
            assert_eq!(pattern.to_string(), text);
        }
        assert!(p("/*").is_root());
        assert!(!p("/npm/*").is_root());
        assert_eq!(p("/npm/*").format(), Some("npm"));
        assert_eq!(p("/*").format(), None);
    }

    #[test]
    fn grammar_rejections() {
        for text in [
            "",
            "npm/*",
            "*",
            "/",
            "/npm",
            "/npm/",
            "/npm/space",
            "/NPM/*",
            "/python//requests$",
            "/unknown/*",
            "//*",
            "/*/*",
            "/npm/*/foo$",
            "/npm/sp*ce/*",
            "/npm/space/foo$bar$",
            "/npm/space/foo~bar~",
            "/npm*",
            "/npm/space*",
            "/npm/space/foo*",
            "/npm~",
            "/npm$",
            "/npm/space/foo-~",
            "/npm/space/foo.~",
            "/npm/~",
            "/npm//~",
            "/npm/space/$",
            "/npm//$",
            "/npm/space$",
            "/npm/a/b/c$",
            "/npm/a/b/*",
            "/npm/a/b/c~",
            "/npm//foo bar$",
            "/npm//foo\tbar$",
            "/npm//foo\u{0}$",
            // Namespace given for a namespace-less format.
            "/pypi/foo/*",
            "/pypi/foo~",
            "/pypi/foo/requests$",
            "/nuget/x/y$",
            "/ruby/x/*",
            "/cargo/x/y~",
            // Name given without the namespace those formats always have.
            "/maven//log4j-core$",
            "/generic//tool~",
            "/swift//swift-nio$",
            // Not normalised.
            "/pypi//Requests$",
            "/pypi//pigeon_cli$",
            "/pypi//foo.bar~",
            "/pypi//Req~",
            "/nuget//Newtonsoft.Json$",
            "/swift/Apple/*",
            "/swift/apple/Swift-NIO$",
        ] {
            assert!(Pattern::parse(text).is_err(), "{text:?} should be rejected");
        }
    }

    #[test]
    fn rejection_messages_say_why() {
        let msg = |t: &str| Pattern::parse(t).err().unwrap_or_default();
        assert!(msg("npm/*").contains("must start with '/'"));
        assert!(msg("/java/*").contains("not a package format"));
        assert!(msg("/npm/sp*ce/*").contains("only once"));
        assert!(msg("/npm/space/foo*").contains("'*' may only follow '/'"));
        assert!(msg("/npm*").contains("'*' may only follow '/'"));
        assert!(msg("/npm/a/b/*").contains("at most three segments"));
        assert!(msg("/npm~").contains("followed by '/'"));
        assert!(msg("/npm/space/foo-~").contains("'~' may only follow a letter or digit"));
        assert!(msg("/npm/space$").contains("'$' may only follow a package name"));
        assert!(msg("/pypi/foo/*").contains("no namespace"));
        assert!(msg("/maven//log4j-core$").contains("always have a namespace"));
        assert!(msg("/pypi//Pigeon_CLI$").contains("'pigeon-cli'"));
        assert!(msg("/npm").starts_with("Invalid package group pattern '/npm': "));
    }

    #[test]
    fn tilde_after_non_ascii_word_characters() {
        assert!(Pattern::parse("/npm//café~").is_ok());
        assert!(Pattern::parse("/npm//cafe\u{301}~").is_ok());
        assert!(Pattern::parse("/npm//名前~").is_ok());
        assert!(Pattern::parse("/npm//foo2~").is_ok());
    }

    #[test]
    fn spec_association_examples() {
        let groups = ps(&[
            "/*",
            "/npm/*",
            "/npm/space/*",
            "/npm//anycompany-spicy-client$",
        ]);
        use Association::*;
        assert_eq!(
            assoc(&groups, "npm", None, "react"),
            ("/npm/*".into(), Strong)
        );
        assert_eq!(
            assoc(&groups, "npm", Some("space"), "aui.components"),
            ("/npm/space/*".into(), Strong)
        );
        assert_eq!(
            assoc(&groups, "npm", None, "anycompany-spicy-client"),
            ("/npm//anycompany-spicy-client$".into(), Strong)
        );
        assert_eq!(
            assoc(&groups, "npm", None, "AnyCompany_Spicy.Client"),
            ("/npm//anycompany-spicy-client$".into(), Weak)
        );
        assert_eq!(
            assoc(&groups, "pypi", None, "requests"),
            ("/*".into(), Strong)
        );
        // An empty namespace and no namespace are the same path.
        assert_eq!(
            assoc(&groups, "npm", Some(""), "react"),
            ("/npm/*".into(), Strong)
        );
    }

    #[test]
    fn tilde_matches_at_word_boundaries_only() {
        let pattern = p("/npm/space/foo~");
        let m = |name: &str| pattern.matches("npm", Some("space"), name);
        assert_eq!(m("foo"), Some(Association::Strong));
        assert_eq!(m("foo-bar"), Some(Association::Strong));
        assert_eq!(m("foo.bar"), Some(Association::Strong));
        assert_eq!(m("foo_bar"), Some(Association::Strong));
        assert_eq!(m("food"), None);
        assert_eq!(m("foo2"), None);
        assert_eq!(m("fo"), None);
        // A combining mark continues the word.
        assert_eq!(m("foo\u{301}"), None);
        // Wrong namespace or format.
        assert_eq!(pattern.matches("npm", None, "foo"), None);
        assert_eq!(pattern.matches("pypi", Some("space"), "foo"), None);
        // Look-alikes match weakly.
        assert_eq!(m("FOO-bar"), Some(Association::Weak));
        assert_eq!(m("Foo"), Some(Association::Weak));
        assert_eq!(m("FOOD"), None);

        let ns = p("/maven/com.anycompany~");
        let m = |namespace: &str| ns.matches("maven", Some(namespace), "x");
        assert_eq!(m("com.anycompany"), Some(Association::Strong));
        assert_eq!(m("com.anycompany.foo"), Some(Association::Strong));
        assert_eq!(m("com.anycompany-bar"), Some(Association::Strong));
        assert_eq!(m("com.anycompanyfoo"), None);
        assert_eq!(m("com.any"), None);
        assert_eq!(m("com.AnyCompany.foo"), Some(Association::Weak));
    }

    #[test]
    fn every_shape_matches_as_documented() {
        let path = ("maven", Some("org.apache.logging.log4j"), "log4j-core");
        let check = |text: &str, expect: Option<Association>| {
            assert_eq!(p(text).matches(path.0, path.1, path.2), expect, "{text}");
        };
        check("/*", Some(Association::Strong));
        check("/maven/*", Some(Association::Strong));
        check("/npm/*", None);
        check("/maven/org.apache~", Some(Association::Strong));
        check(
            "/maven/org.apache.logging.log4j/*",
            Some(Association::Strong),
        );
        check("/maven/org.apache/*", None);
        check(
            "/maven/org.apache.logging.log4j/log4j~",
            Some(Association::Strong),
        );
        check(
            "/maven/org.apache.logging.log4j/log4j-core$",
            Some(Association::Strong),
        );
        check("/maven/org.apache.logging.log4j/log4j-cor$", None);
        check("/maven/org.apache.logging.log4j/log4j$", None);
        check(
            "/maven/org.apache.logging.log4j/Log4j_Core$",
            Some(Association::Weak),
        );
        check("/maven/ORG.apache.logging.log4j/*", Some(Association::Weak));

        let unscoped = p("/npm//*");
        assert_eq!(
            unscoped.matches("npm", None, "react"),
            Some(Association::Strong)
        );
        assert_eq!(unscoped.matches("npm", Some("space"), "react"), None);
        // '@' in a pattern is literal, so it matches nothing a client publishes.
        assert_eq!(p("/npm/@space/*").matches("npm", Some("space"), "x"), None);
    }

    #[test]
    fn case_sensitive_patterns_with_weak_fallback() {
        let groups = ps(&["/*", "/npm//AsyncStorage$", "/npm//asyncstorage$"]);
        assert_eq!(
            assoc(&groups, "npm", None, "AsyncStorage"),
            ("/npm//AsyncStorage$".into(), Association::Strong)
        );
        assert_eq!(
            assoc(&groups, "npm", None, "asyncstorage"),
            ("/npm//asyncstorage$".into(), Association::Strong)
        );
        // Neither matches strongly: the tie goes to the pattern text order.
        assert_eq!(
            assoc(&groups, "npm", None, "ASYNCSTORAGE"),
            ("/npm//AsyncStorage$".into(), Association::Weak)
        );
    }

    #[test]
    fn weak_folding() {
        for (a, b) in [
            ("foo-bar", "foo.bar"),
            ("foo-bar", "foo..bar"),
            ("foo-bar", "foo_bar"),
            ("foo-bar", "FOO-_.BAR"),
            ("straße", "STRASSE"),
            ("ｆｏｏ－ｂａｒ", "foo-bar"),
            ("ﬁle", "file"),
            ("lib²", "lib2"),
            ("foo\u{2010}bar", "foo-bar"),
            ("ΣΑΣ", "σας"),
        ] {
            assert_eq!(weak_fold(a), weak_fold(b), "{a} ~ {b}");
        }
        assert_ne!(weak_fold("foobar"), weak_fold("foo-bar"));
        assert_eq!(weak_fold("A-.-b"), "a.b");
    }

    #[test]
    fn inputs_are_normalised_before_matching() {
        let pattern = p("/pypi//pigeon-cli$");
        assert_eq!(
            pattern.matches("pypi", None, "Pigeon_CLI"),
            Some(Association::Strong)
        );
        let nuget = p("/nuget//newtonsoft.json$");
        assert_eq!(
            nuget.matches("nuget", None, "Newtonsoft.Json"),
            Some(Association::Strong)
        );
        let swift = p("/swift/apple/*");
        assert_eq!(
            swift.matches("swift", Some("Apple"), "swift-nio"),
            Some(Association::Strong)
        );
        // npm is case-sensitive: only a weak match.
        assert_eq!(
            p("/npm//react$").matches("npm", None, "React"),
            Some(Association::Weak)
        );
    }

    #[test]
    fn containment_and_parents() {
        let within = |a: &str, b: &str| p(a).is_within(&p(b));
        assert!(within("/npm/space/*", "/npm/*"));
        assert!(within("/npm/*", "/*"));
        assert!(within("/npm/space/*", "/*"));
        assert!(within("/*", "/*"));
        assert!(within("/npm/space/*", "/npm/space/*"));
        assert!(!within("/npm/*", "/npm/space/*"));
        assert!(!within("/*", "/npm/*"));
        assert!(!within("/pypi/*", "/npm/*"));
        // Namespace prefixes contain what starts with them at a word boundary: every
        // namespace equal to `com.anycompany.foo` starts with `com.anycompany` followed by
        // '.', a non-word character.
        assert!(within(
            "/maven/com.anycompany.foo/*",
            "/maven/com.anycompany~"
        ));
        assert!(within("/maven/com.anycompany/*", "/maven/com.anycompany~"));
        assert!(within(
            "/maven/com.anycompany.foo~",
            "/maven/com.anycompany~"
        ));
        assert!(within(
            "/maven/com.anycompany-x/a$",
            "/maven/com.anycompany~"
        ));
        assert!(within("/maven/com.anycompany/a~", "/maven/com.anycompany~"));
        assert!(!within(
            "/maven/com.anycompanyfoo/*",
            "/maven/com.anycompany~"
        ));
        assert!(!within(
            "/maven/com.anycompanyfoo~",
            "/maven/com.anycompany~"
        ));
        assert!(!within(
            "/maven/com.anycompany~",
            "/maven/com.anycompany.foo/*"
        ));
        assert!(!within("/maven/com.anycompany~", "/maven/com.anycompany/*"));
        // Name prefixes.
        assert!(within("/npm/space/foo-bar~", "/npm/space/foo~"));
        assert!(within("/npm/space/foo-bar$", "/npm/space/foo~"));
        assert!(within("/npm/space/foo$", "/npm/space/foo~"));
        assert!(within("/npm/space/foo~", "/npm/space/*"));
        assert!(!within("/npm/space/food$", "/npm/space/foo~"));
        assert!(!within("/npm/space/foo~", "/npm/space/foo$"));
        assert!(!within("/npm/other/foo$", "/npm/space/foo~"));
        assert!(!within("/npm/space/*", "/npm//*"));
        assert!(within("/npm//react$", "/npm//*"));
        // Structural, not semantic: `/pypi//*` is inside `/pypi/*`, not the reverse.
        assert!(within("/pypi//*", "/pypi/*"));
        assert!(!within("/pypi/*", "/pypi//*"));

        let groups = ps(&[
            "/*",
            "/npm/*",
            "/npm/space/*",
            "/npm/space/foo~",
            "/npm/space/foo-bar$",
            "/maven/com.anycompany~",
            "/maven/com.anycompany.foo/*",
        ]);
        let parent_of = |child: &str| parent(&groups, &p(child)).map(|x| x.as_str().to_string());
        assert_eq!(parent_of("/*"), None);
        assert_eq!(parent_of("/npm/*").as_deref(), Some("/*"));
        assert_eq!(parent_of("/npm/space/*").as_deref(), Some("/npm/*"));
        assert_eq!(
            parent_of("/npm/space/foo~").as_deref(),
            Some("/npm/space/*")
        );
        assert_eq!(
            parent_of("/npm/space/foo-bar$").as_deref(),
            Some("/npm/space/foo~")
        );
        assert_eq!(parent_of("/maven/com.anycompany~").as_deref(), Some("/*"));
        assert_eq!(
            parent_of("/maven/com.anycompany.foo/*").as_deref(),
            Some("/maven/com.anycompany~")
        );
        // A pattern not in the list still finds its would-be parent (CreatePackageGroup).
        assert_eq!(
            parent_of("/npm/space/foo$").as_deref(),
            Some("/npm/space/foo~")
        );
        assert_eq!(parent_of("/npm//react$").as_deref(), Some("/npm/*"));

        let kids = |g: &str| {
            children(&groups, &p(g))
                .into_iter()
                .map(|x| x.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(kids("/*"), ["/npm/*", "/maven/com.anycompany~"]);
        assert_eq!(kids("/npm/*"), ["/npm/space/*"]);
        assert!(kids("/npm/space/foo-bar$").is_empty());
    }

    #[test]
    fn specificity_orders_longer_first_then_dollar_tilde_star() {
        let mut patterns = ps(&[
            "/*",
            "/npm/space/foo~",
            "/npm/*",
            "/npm/space/foo$",
            "/npm/space/*",
            "/npm/spac~",
            "/npm/abcd~",
        ]);
        patterns.sort_by(|a, b| a.specificity().cmp(&b.specificity()));
        let order: Vec<&str> = patterns.iter().map(Pattern::as_str).collect();
        assert_eq!(
            order,
            [
                "/npm/space/foo$",
                "/npm/space/foo~",
                "/npm/space/*",
                "/npm/abcd~",
                "/npm/spac~",
                "/npm/*",
                "/*",
            ]
        );
        assert!(p("/npm/a/b$").specificity() < p("/npm/a/b~").specificity());
        assert!(p("/npm/a/b~").specificity() < p("/npm/ab/*").specificity());
        assert!(p("/npm/a/*").specificity() < p("/npm/a~").specificity());
    }

    fn list(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn inherit_resolves_through_the_nearest_configured_ancestor() {
        let patterns = ps(&["/*", "/npm/*", "/npm/space/*", "/npm/space/ui~"]);
        let (root, npm, space, ui) = (&patterns[0], &patterns[1], &patterns[2], &patterns[3]);
        let npm_external = list(&["repo-a", "repo-b"]);
        let space_publish = list(&["repo-c"]);
        let mut npm_view = GroupView::new(npm);
        npm_view.modes[RestrictionType::ExternalUpstream.index()] = Mode::AllowSpecificRepositories;
        npm_view.allowed[RestrictionType::ExternalUpstream.index()] = &npm_external;
        let mut space_view = GroupView::new(space);
        space_view.modes[RestrictionType::Publish.index()] = Mode::Block;
        space_view.allowed[RestrictionType::Publish.index()] = &space_publish;
        let views = [
            GroupView::new(root),
            npm_view,
            space_view,
            GroupView::new(ui),
        ];

        // The root is configured: no inheritedFrom.
        let e = effective_mode(&views, &views[0], RestrictionType::Publish);
        assert_eq!((e.mode, e.inherited_from), (Mode::Allow, None));

        // ui INHERITs everything: PUBLISH from its parent, EXTERNAL from its grandparent,
        // INTERNAL all the way from the root.
        let e = effective_mode(&views, &views[3], RestrictionType::Publish);
        assert_eq!(e.mode, Mode::Block);
        assert_eq!(e.inherited_from, Some(space));
        assert_eq!(e.allowed, space_publish.as_slice());
        let e = effective_mode(&views, &views[3], RestrictionType::ExternalUpstream);
        assert_eq!(e.mode, Mode::AllowSpecificRepositories);
        assert_eq!(e.inherited_from, Some(npm));
        assert_eq!(e.allowed, npm_external.as_slice());
        let e = effective_mode(&views, &views[3], RestrictionType::InternalUpstream);
        assert_eq!((e.mode, e.inherited_from), (Mode::Allow, Some(root)));

        // A configured mode is its own; its list is its own.
        let e = effective_mode(&views, &views[1], RestrictionType::ExternalUpstream);
        assert_eq!(e.mode, Mode::AllowSpecificRepositories);
        assert_eq!(e.inherited_from, None);
        assert_eq!(e.allowed.len(), 2);

        // Deleting /npm/space/* re-parents ui under /npm/*: PUBLISH now comes from /*.
        let without_space = [views[0], views[1], views[3]];
        let e = effective_mode(&without_space, &views[3], RestrictionType::Publish);
        assert_eq!((e.mode, e.inherited_from), (Mode::Allow, Some(root)));

        // No root at all: the root's default.
        let e = effective_mode(&[views[3]], &views[3], RestrictionType::Publish);
        assert_eq!((e.mode, e.inherited_from), (Mode::Allow, None));
    }

    #[test]
    fn decide_follows_the_four_steps() {
        use RestrictionType::*;
        let patterns = ps(&[
            "/*",
            "/npm/*",
            "/npm/space/*",
            "/npm//anycompany-spicy-client$",
            "/pypi/*",
        ]);
        let allowed = list(&["internal"]);
        let mut npm = GroupView::new(&patterns[1]);
        npm.modes = [Mode::AllowSpecificRepositories, Mode::Block, Mode::Allow];
        npm.allowed[Publish.index()] = &allowed;
        let mut pypi = GroupView::new(&patterns[4]);
        pypi.modes[ExternalUpstream.index()] = Mode::Block;
        let views = [
            GroupView::new(&patterns[0]),
            npm,
            GroupView::new(&patterns[2]),
            GroupView::new(&patterns[3]),
            pypi,
        ];
        let d = |ns: Option<&str>, name: &str, repo: &str, t, level| {
            decide(&views, "npm", ns, name, repo, t, level)
        };
        // Step 3, ALLOW_SPECIFIC_REPOSITORIES, inherited by /npm/space/* from /npm/*.
        assert!(d(None, "react", "internal", Publish, None));
        assert!(!d(None, "react", "other", Publish, None));
        assert!(d(Some("space"), "ui", "internal", Publish, Some(true)));
        assert!(!d(Some("space"), "ui", "other", Publish, Some(true)));
        // Step 3, BLOCK and ALLOW.
        assert!(!d(None, "react", "internal", ExternalUpstream, None));
        assert!(d(None, "react", "anything", InternalUpstream, None));
        // Step 1: the package-level BLOCK wins over a group ALLOW.
        assert!(!d(None, "react", "anything", InternalUpstream, Some(false)));
        // Step 2: a weak association blocks every origin, whatever the group says.
        // (The strong spelling inherits /npm/*'s settings.)
        assert!(d(
            None,
            "anycompany-spicy-client",
            "internal",
            Publish,
            None
        ));
        assert!(d(
            None,
            "anycompany-spicy-client",
            "x",
            InternalUpstream,
            None
        ));
        for t in RestrictionType::ALL {
            assert!(!d(
                None,
                "AnyCompany_Spicy.Client",
                "internal",
                t,
                Some(true)
            ));
        }
        // Formats without a group of their own fall to the root (ALLOW).
        assert!(decide(&views, "maven", Some("g"), "a", "r", Publish, None));
        assert!(!decide(
            &views,
            "pypi",
            None,
            "requests",
            "r",
            ExternalUpstream,
            None
        ));
        assert!(decide(&views, "pypi", None, "requests", "r", Publish, None));
        // No groups at all: the root's default.
        assert!(decide(&[], "npm", None, "react", "r", Publish, None));
    }

    #[test]
    fn restriction_types_and_modes_round_trip() {
        for t in RestrictionType::ALL {
            assert_eq!(RestrictionType::parse(t.as_str()), Some(t));
        }
        for m in Mode::ALL {
            assert_eq!(Mode::parse(m.as_str()), Some(m));
        }
        assert_eq!(RestrictionType::parse("publish"), None);
        assert_eq!(Mode::parse("Allow"), None);
        assert_eq!(
            RestrictionType::ALL.map(RestrictionType::as_str),
            ["PUBLISH", "EXTERNAL_UPSTREAM", "INTERNAL_UPSTREAM"]
        );
        assert_eq!(Association::Weak.as_str(), "WEAK");
    }

    #[test]
    fn arbitrary_input_never_panics() {
        let alphabet = [
            '/', '*', '~', '$', 'a', 'é', '\u{301}', '-', '.', 'n', 'p', '@',
        ];
        // Every string up to length 4 over a small alphabet, bare and after "/npm".
        let mut inputs = vec![String::new()];
        let mut frontier = vec![String::new()];
        for _ in 0..4 {
            frontier = frontier
                .iter()
                .flat_map(|s| alphabet.map(|c| format!("{s}{c}")))
                .collect();
            inputs.extend(frontier.iter().cloned());
            inputs.extend(frontier.iter().map(|s| format!("/npm{s}")));
        }
        let root = p("/*");
        for text in &inputs {
            if let Ok(pattern) = Pattern::parse(text) {
                assert!(pattern.is_within(&root));
                assert!(pattern.is_within(&pattern));
                let _ = pattern.matches("npm", Some(text), text);
            }
            let _ = crate::registry::names::normalize_version("nuget", text);
            let _ = weak_fold(text);
        }
    }
}
