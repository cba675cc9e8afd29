//! IAM policy documents, parsed once and checked the way the service checks them: a
//! document that does not parse, names an unknown CodeArtifact action, a malformed ARN, an
//! unparsable principal or an unknown condition operator is refused with the reason, so a
//! policy can never make a request crash or silently allow.

use serde_json::{Map, Value};

/// Where a policy is attached, which decides the elements it must and must not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A domain or repository policy: every statement names a `Principal`.
    Resource,
    /// A policy of an identity: no `Principal`, and a `Resource` in every statement.
    Identity,
}

/// A parsed, validated policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub(super) statements: Vec<Statement>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Effect {
    Allow,
    Deny,
}

/// A list of patterns, or (for `NotAction`, `NotResource`, `NotPrincipal`) its complement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Patterns<T> {
    pub not: bool,
    pub items: Vec<T>,
}

/// A wildcard pattern (`*` any run, `?` one character), compiled for the shapes policies
/// use most, which then match without a scan: everything, a literal, a literal prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Pat {
    Any,
    Exact(String),
    Prefix(String),
    Glob(String),
}

impl Pat {
    pub fn new(pattern: &str) -> Pat {
        match pattern.find(['*', '?']) {
            None => Pat::Exact(pattern.to_string()),
            Some(0) if pattern == "*" => Pat::Any,
            Some(i) if i + 1 == pattern.len() && pattern.ends_with('*') => {
                Pat::Prefix(pattern[..i].to_string())
            }
            Some(_) => Pat::Glob(pattern.to_string()),
        }
    }

    pub fn matches(&self, text: &str) -> bool {
        match self {
            Pat::Any => true,
            Pat::Exact(p) => p == text,
            Pat::Prefix(p) => text.starts_with(p.as_str()),
            Pat::Glob(p) => super::glob(p, text),
        }
    }
}

/// One entry of `Resource`: `*`, or an ARN pattern split into its six fields (wildcards in
/// the first five do not cross `:`; in the resource field they match anything).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ResourcePat {
    Any,
    Arn(Box<[Pat; 6]>),
}

impl ResourcePat {
    /// Whether the pattern matches an ARN already split into its six fields (`None` for a
    /// resource that is not an ARN, such as the `*` of account-level actions).
    pub fn matches(&self, arn: Option<&[&str; 6]>) -> bool {
        match (self, arn) {
            (ResourcePat::Any, _) => true,
            (ResourcePat::Arn(fields), Some(arn)) => {
                fields.iter().zip(arn.iter()).all(|(p, a)| p.matches(a))
            }
            (ResourcePat::Arn(_), None) => false,
        }
    }
}

/// An ARN split into its six fields.
pub(super) fn split_arn(arn: &str) -> Option<[&str; 6]> {
    let mut parts = arn.splitn(6, ':');
    let mut out = [""; 6];
    for field in &mut out {
        *field = parts.next()?;
    }
    Some(out)
}

/// One entry of `Principal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PrincipalEntry {
    /// `"*"` or `{"AWS": "*"}`.
    Everyone,
    /// Every principal of a twelve-digit account (`"123…"` or `arn:aws:iam::123…:root`).
    Account(String),
    /// One IAM or STS ARN; for a role, the prefix its sessions' ARNs start with
    /// (`arn:aws:sts::A:assumed-role/name/`), computed once.
    Arn {
        arn: String,
        sessions: Option<String>,
    },
    /// A `Service`, `Federated` or `CanonicalUser` principal: never a signed caller here.
    NonAws,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Statement {
    pub effect: Effect,
    /// `None` in identity policies.
    pub principal: Option<Patterns<PrincipalEntry>>,
    /// Lower-case action patterns.
    pub action: Patterns<Pat>,
    /// `None`: omitted in a resource policy, meaning the resource it is attached to.
    pub resource: Option<Patterns<ResourcePat>>,
    pub conditions: Vec<Condition>,
}

/// The comparison a condition operator makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    ArnEquals,
    ArnNotEquals,
    ArnLike,
    ArnNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    IpAddress,
    NotIpAddress,
    Null,
}

impl Op {
    fn parse(name: &str) -> Option<Op> {
        use Op::*;
        Some(match name {
            "StringEquals" => StringEquals,
            "StringNotEquals" => StringNotEquals,
            "StringEqualsIgnoreCase" => StringEqualsIgnoreCase,
            "StringNotEqualsIgnoreCase" => StringNotEqualsIgnoreCase,
            "StringLike" => StringLike,
            "StringNotLike" => StringNotLike,
            "ArnEquals" => ArnEquals,
            "ArnNotEquals" => ArnNotEquals,
            "ArnLike" => ArnLike,
            "ArnNotLike" => ArnNotLike,
            "NumericEquals" => NumericEquals,
            "NumericNotEquals" => NumericNotEquals,
            "NumericLessThan" => NumericLessThan,
            "NumericLessThanEquals" => NumericLessThanEquals,
            "NumericGreaterThan" => NumericGreaterThan,
            "NumericGreaterThanEquals" => NumericGreaterThanEquals,
            "DateEquals" => DateEquals,
            "DateNotEquals" => DateNotEquals,
            "DateLessThan" => DateLessThan,
            "DateLessThanEquals" => DateLessThanEquals,
            "DateGreaterThan" => DateGreaterThan,
            "DateGreaterThanEquals" => DateGreaterThanEquals,
            "Bool" => Bool,
            "IpAddress" => IpAddress,
            "NotIpAddress" => NotIpAddress,
            "Null" => Null,
            _ => return None,
        })
    }

    /// Negated operators hold for a value that matches none of the policy's values.
    pub fn negated(self) -> bool {
        use Op::*;
        matches!(
            self,
            StringNotEquals
                | StringNotEqualsIgnoreCase
                | StringNotLike
                | ArnNotEquals
                | ArnNotLike
                | NumericNotEquals
                | DateNotEquals
                | NotIpAddress
        )
    }
}

/// `ForAnyValue:` / `ForAllValues:` set operators for multi-valued keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Quantifier {
    Single,
    ForAnyValue,
    ForAllValues,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Condition {
    pub op: Op,
    pub quantifier: Quantifier,
    pub if_exists: bool,
    /// Lower-case key name (`aws:resourcetag/team`).
    pub key: String,
    pub values: Vec<String>,
}

/// The 51 CodeArtifact actions of the service authorization reference.
pub const ACTIONS: [&str; 51] = [
    "AssociateExternalConnection",
    "AssociateWithDownstreamRepository",
    "CopyPackageVersions",
    "CreateDomain",
    "CreatePackageGroup",
    "CreateRepository",
    "DeleteDomain",
    "DeleteDomainPermissionsPolicy",
    "DeletePackage",
    "DeletePackageGroup",
    "DeletePackageVersions",
    "DeleteRepository",
    "DeleteRepositoryPermissionsPolicy",
    "DescribeDomain",
    "DescribePackage",
    "DescribePackageGroup",
    "DescribePackageVersion",
    "DescribeRepository",
    "DisassociateExternalConnection",
    "DisposePackageVersions",
    "GetAssociatedPackageGroup",
    "GetAuthorizationToken",
    "GetDomainPermissionsPolicy",
    "GetPackageVersionAsset",
    "GetPackageVersionReadme",
    "GetRepositoryEndpoint",
    "GetRepositoryPermissionsPolicy",
    "ListAllowedRepositoriesForGroup",
    "ListAssociatedPackages",
    "ListDomains",
    "ListPackageGroups",
    "ListPackageVersionAssets",
    "ListPackageVersionDependencies",
    "ListPackageVersions",
    "ListPackages",
    "ListRepositories",
    "ListRepositoriesInDomain",
    "ListSubPackageGroups",
    "ListTagsForResource",
    "PublishPackageVersion",
    "PutDomainPermissionsPolicy",
    "PutPackageMetadata",
    "PutPackageOriginConfiguration",
    "PutRepositoryPermissionsPolicy",
    "ReadFromRepository",
    "TagResource",
    "UntagResource",
    "UpdatePackageGroup",
    "UpdatePackageGroupOriginConfiguration",
    "UpdatePackageVersionsStatus",
    "UpdateRepository",
];

/// Why a document was refused; the text follows `Invalid policy document: `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError(pub String);

impl std::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Invalid policy document: {}", self.0)
    }
}

impl std::error::Error for PolicyError {}

fn fail<T>(why: impl Into<String>) -> Result<T, PolicyError> {
    Err(PolicyError(why.into()))
}

impl Policy {
    /// Parses and validates a document attached as `kind`.
    pub fn parse(document: &str, kind: Kind) -> Result<Policy, PolicyError> {
        let Ok(Value::Object(doc)) = serde_json::from_str::<Value>(document) else {
            return fail("the document is not a JSON object");
        };
        for key in doc.keys() {
            if !matches!(key.as_str(), "Version" | "Id" | "Statement") {
                return fail(format!("unknown element {key}"));
            }
        }
        if let Some(version) = doc.get("Version") {
            if !matches!(version.as_str(), Some("2012-10-17" | "2008-10-17")) {
                return fail("Version must be 2012-10-17 or 2008-10-17");
            }
        }
        let statements: Vec<&Value> = match doc.get("Statement") {
            Some(Value::Array(list)) if !list.is_empty() => list.iter().collect(),
            Some(one @ Value::Object(_)) => vec![one],
            _ => return fail("Statement is missing"),
        };
        let statements = statements
            .into_iter()
            .map(|s| match s {
                Value::Object(s) => statement(s, kind),
                _ => fail("each Statement must be an object"),
            })
            .collect::<Result<_, _>>()?;
        Ok(Policy { statements })
    }

    /// A policy denying every action to everyone: what a stored document that no longer
    /// parses stands for, so it can never allow.
    pub fn deny_all() -> Policy {
        Policy {
            statements: vec![Statement {
                effect: Effect::Deny,
                principal: Some(Patterns {
                    not: false,
                    items: vec![PrincipalEntry::Everyone],
                }),
                action: Patterns {
                    not: false,
                    items: vec![Pat::Any],
                },
                resource: None,
                conditions: Vec::new(),
            }],
        }
    }

    /// How many statements the document has.
    pub fn len(&self) -> usize {
        self.statements.len()
    }

    /// Whether the document has no statement (never true of a parsed one).
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }
}

fn statement(s: &Map<String, Value>, kind: Kind) -> Result<Statement, PolicyError> {
    for key in s.keys() {
        if !matches!(
            key.as_str(),
            "Sid"
                | "Effect"
                | "Principal"
                | "NotPrincipal"
                | "Action"
                | "NotAction"
                | "Resource"
                | "NotResource"
                | "Condition"
        ) {
            return fail(format!("unknown element {key} in a Statement"));
        }
    }
    let effect = match s.get("Effect").and_then(Value::as_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        _ => return fail("each Statement needs an Effect of Allow or Deny"),
    };
    let principal = match (kind, s.get("Principal"), s.get("NotPrincipal")) {
        (Kind::Resource, Some(p), None) => Some(principals(p, false)?),
        (Kind::Resource, None, Some(p)) => Some(principals(p, true)?),
        (Kind::Resource, _, _) => {
            return fail("each Statement needs exactly one of Principal and NotPrincipal")
        }
        (Kind::Identity, None, None) => None,
        (Kind::Identity, _, _) => return fail("an identity-based policy cannot have a Principal"),
    };
    let action = match (s.get("Action"), s.get("NotAction")) {
        (Some(a), None) => actions(a, false)?,
        (None, Some(a)) => actions(a, true)?,
        _ => return fail("each Statement needs exactly one of Action and NotAction"),
    };
    let resource = match (s.get("Resource"), s.get("NotResource")) {
        (Some(r), None) => Some(resources(r, false)?),
        (None, Some(r)) => Some(resources(r, true)?),
        (None, None) if kind == Kind::Resource => None,
        (None, None) => return fail("each Statement needs a Resource or NotResource"),
        _ => return fail("a Statement cannot have both Resource and NotResource"),
    };
    let conditions = match s.get("Condition") {
        None => Vec::new(),
        Some(Value::Object(blocks)) => conditions(blocks)?,
        Some(_) => return fail("Condition must be an object"),
    };
    Ok(Statement {
        effect,
        principal,
        action,
        resource,
        conditions,
    })
}

/// A string or a non-empty list of strings.
fn strings(v: &Value, what: &str) -> Result<Vec<String>, PolicyError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(list) if !list.is_empty() => list
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                _ => fail(format!("{what} entries must be strings")),
            })
            .collect(),
        _ => fail(format!("{what} must be a string or a list of strings")),
    }
}

fn actions(v: &Value, not: bool) -> Result<Patterns<Pat>, PolicyError> {
    let mut items = Vec::new();
    for action in strings(v, "Action")? {
        if action != "*" {
            let Some((service, name)) = action.split_once(':') else {
                return fail(format!("invalid action {action}"));
            };
            let service_ok = !service.is_empty()
                && service
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-');
            let name_ok = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '*' || c == '?');
            if !service_ok || !name_ok {
                return fail(format!("invalid action {action}"));
            }
            let wildcard = name.contains(['*', '?']);
            if service.eq_ignore_ascii_case("codeartifact")
                && !wildcard
                && !ACTIONS.iter().any(|a| a.eq_ignore_ascii_case(name))
            {
                return fail(format!("unknown action {action}"));
            }
        }
        items.push(Pat::new(&action.to_ascii_lowercase()));
    }
    Ok(Patterns { not, items })
}

fn resources(v: &Value, not: bool) -> Result<Patterns<ResourcePat>, PolicyError> {
    let mut items = Vec::new();
    for r in strings(v, "Resource")? {
        if r == "*" {
            items.push(ResourcePat::Any);
            continue;
        }
        match split_arn(&r) {
            Some(fields)
                if fields[0] == "arn" && !fields[1].is_empty() && !fields[2].is_empty() =>
            {
                items.push(ResourcePat::Arn(Box::new(fields.map(Pat::new))));
            }
            _ => return fail(format!("invalid resource ARN {r}")),
        }
    }
    Ok(Patterns { not, items })
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn principals(v: &Value, not: bool) -> Result<Patterns<PrincipalEntry>, PolicyError> {
    let mut items = Vec::new();
    match v {
        Value::String(s) if s == "*" => items.push(PrincipalEntry::Everyone),
        Value::Object(map) if !map.is_empty() => {
            for (kind, value) in map {
                let entries = strings(value, "Principal")?;
                match kind.as_str() {
                    "AWS" => {
                        for entry in entries {
                            items.push(aws_principal(&entry)?);
                        }
                    }
                    "Service" | "Federated" | "CanonicalUser" => {
                        items.push(PrincipalEntry::NonAws);
                    }
                    _ => return fail(format!("invalid principal type {kind}")),
                }
            }
        }
        _ => return fail("Principal must be \"*\" or an object"),
    }
    Ok(Patterns { not, items })
}

fn aws_principal(entry: &str) -> Result<PrincipalEntry, PolicyError> {
    if entry == "*" {
        return Ok(PrincipalEntry::Everyone);
    }
    if is_account(entry) {
        return Ok(PrincipalEntry::Account(entry.to_string()));
    }
    let fields: Vec<&str> = entry.splitn(6, ':').collect();
    match fields.as_slice() {
        ["arn", partition, "iam", "", account, "root"]
            if !partition.is_empty() && is_account(account) =>
        {
            Ok(PrincipalEntry::Account((*account).to_string()))
        }
        ["arn", partition, "iam" | "sts", "", account, resource]
            if !partition.is_empty()
                && is_account(account)
                && resource.contains('/')
                && !resource.contains('*') =>
        {
            let sessions = match resource.split_once('/') {
                Some(("role", path)) => {
                    let name = path.rsplit('/').next().unwrap_or(path);
                    Some(format!(
                        "arn:{partition}:sts::{account}:assumed-role/{name}/"
                    ))
                }
                _ => None,
            };
            Ok(PrincipalEntry::Arn {
                arn: entry.to_string(),
                sessions,
            })
        }
        _ => fail(format!("invalid principal {entry}")),
    }
}

fn conditions(blocks: &Map<String, Value>) -> Result<Vec<Condition>, PolicyError> {
    let mut out = Vec::new();
    for (operator, keys) in blocks {
        let (quantifier, rest) = if let Some(rest) = operator.strip_prefix("ForAnyValue:") {
            (Quantifier::ForAnyValue, rest)
        } else if let Some(rest) = operator.strip_prefix("ForAllValues:") {
            (Quantifier::ForAllValues, rest)
        } else {
            (Quantifier::Single, operator.as_str())
        };
        let (name, if_exists) = match rest.strip_suffix("IfExists") {
            Some(name) => (name, true),
            None => (rest, false),
        };
        let Some(op) = Op::parse(name) else {
            return fail(format!("invalid condition operator {operator}"));
        };
        if op == Op::Null && (if_exists || quantifier != Quantifier::Single) {
            return fail(format!("invalid condition operator {operator}"));
        }
        let Value::Object(keys) = keys else {
            return fail(format!("the {operator} condition must be an object"));
        };
        for (key, values) in keys {
            let values = match values {
                Value::Array(list) if !list.is_empty() => list.iter().map(scalar).collect(),
                one => vec![scalar(one)],
            }
            .into_iter()
            .collect::<Option<Vec<String>>>();
            let Some(values) = values else {
                return fail(format!("invalid value for condition key {key}"));
            };
            out.push(Condition {
                op,
                quantifier,
                if_exists,
                key: key.to_ascii_lowercase(),
                values,
            });
        }
    }
    Ok(out)
}

/// Condition values may be strings, numbers or booleans; IAM compares them as text.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(doc: &str, kind: Kind) -> String {
        Policy::parse(doc, kind).expect_err(doc).to_string()
    }

    #[test]
    fn bad_documents_are_refused_with_the_reason() {
        let r = Kind::Resource;
        let cases = [
            ("not json", "not a JSON object"),
            (r#"{"Statement":[]}"#, "Statement is missing"),
            (r#"{"Version":"2020-01-01","Statement":{}}"#, "Version"),
            (
                r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"codeartifact:Nope"}}"#,
                "unknown action codeartifact:Nope",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"codeartifact:Get*","Resource":"arn:aws:codeartifact"}}"#,
                "invalid resource ARN",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"bob"},"Action":"*"}}"#,
                "invalid principal bob",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Action":"*"}}"#,
                "exactly one of Principal and NotPrincipal",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Condition":{"StringSorta":{"a":"b"}}}}"#,
                "invalid condition operator StringSorta",
            ),
            (
                r#"{"Statement":{"Effect":"Maybe","Principal":"*","Action":"*"}}"#,
                "Effect",
            ),
        ];
        for (doc, expected) in cases {
            let why = refusal(doc, r);
            assert!(why.contains(expected), "{doc}: {why}");
            assert!(why.starts_with("Invalid policy document: "), "{why}");
        }
        assert!(refusal(
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}"#,
            Kind::Identity
        )
        .contains("cannot have a Principal"));
        assert!(refusal(
            r#"{"Statement":{"Effect":"Allow","Action":"*"}}"#,
            Kind::Identity
        )
        .contains("needs a Resource"));
    }

    #[test]
    fn good_documents_parse() {
        let doc = r#"{"Version":"2012-10-17","Statement":[
            {"Sid":"a","Effect":"Allow","Principal":{"AWS":["111122223333",
              "arn:aws:iam::444455556666:root","arn:aws:iam::444455556666:role/ci/builder"]},
             "Action":["codeartifact:ReadFromRepository","codeartifact:List*","sts:GetServiceBearerToken"],
             "Resource":"*",
             "Condition":{"ForAnyValue:StringEquals":{"aws:TagKeys":["a","b"]},
                          "NumericLessThanEquals":{"sts:DurationSeconds":3600},
                          "Bool":{"aws:SecureTransport":false}}},
            {"Effect":"Deny","NotPrincipal":{"Service":"x.amazonaws.com"},"NotAction":"codeartifact:Describe*"}]}"#;
        let policy = Policy::parse(doc, Kind::Resource).expect("valid");
        assert_eq!(policy.len(), 2);
        assert_eq!(policy.statements[0].conditions.len(), 3);
        assert!(policy.statements[1].action.not);
    }
}
