//! Fault injection (README "Test controls"): rules that make control-plane operations,
//! repository endpoints and external connections fail, slow down or drop the connection,
//! the way the service and the registries behind it do under load. Rules come from
//! `--fault` at start-up or from the admin routes (`controls`), and are consulted by the
//! pipeline (`app`), the repository skeleton (`endpoints::serve`) and the upstream fetch
//! (`endpoints::upstream`). With no rule set a check is one atomic load.
//!
//! This module only parses, keeps and decides; it knows no operation or connection names
//! (the caller validates them) and renders nothing.

use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Rules kept at once; more is refused.
pub const MAX_RULES: usize = 256;
/// Longest latency a rule may add.
pub const MAX_LATENCY: Duration = Duration::from_secs(300);

/// What a rule applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Control-plane operations whose name matches one of the patterns (`*` matches any
    /// run of characters).
    ControlPlane { operations: Vec<String> },
    /// Repository-endpoint requests of these formats and route classes (`read`,
    /// `publish`, `putMetadata`) whose path after the repository matches one of `paths`
    /// (patterns with `*`, e.g. `*.tgz`); empty lists match all.
    Repository {
        formats: Vec<String>,
        actions: Vec<String>,
        paths: Vec<String>,
    },
    /// Fetches through these external connections (empty: all).
    Upstream { connections: Vec<String> },
}

/// The AWS errors a rule may answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Throttling,
    InternalServer,
    ServiceQuotaExceeded,
    ServiceUnavailable,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 4] = [
        ErrorKind::Throttling,
        ErrorKind::InternalServer,
        ErrorKind::ServiceQuotaExceeded,
        ErrorKind::ServiceUnavailable,
    ];

    /// The error type (`__type`, `x-amzn-errortype`).
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Throttling => "ThrottlingException",
            ErrorKind::InternalServer => "InternalServerException",
            ErrorKind::ServiceQuotaExceeded => "ServiceQuotaExceededException",
            ErrorKind::ServiceUnavailable => "ServiceUnavailableException",
        }
    }

    /// The status the service answers it with.
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::Throttling => 429,
            ErrorKind::InternalServer => 500,
            ErrorKind::ServiceQuotaExceeded => 402,
            ErrorKind::ServiceUnavailable => 503,
        }
    }

    /// The message sent with it, as the service words it.
    pub fn message(self) -> &'static str {
        match self {
            ErrorKind::Throttling => "Rate exceeded",
            ErrorKind::InternalServer => "An internal error occurred (injected fault)",
            ErrorKind::ServiceQuotaExceeded => "A service quota was exceeded (injected fault)",
            ErrorKind::ServiceUnavailable => "Service unavailable (injected fault)",
        }
    }
}

/// What a firing rule does to a request. Latency comes first, then the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub latency: Duration,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Only the latency.
    Proceed,
    /// Answer this error; `retry_after` seconds in `Retry-After` when set.
    Error {
        kind: ErrorKind,
        retry_after: Option<u64>,
    },
    /// Close the connection without an answer (for an upstream: unreachable).
    Cut,
    /// The upstream registry answers this status.
    Status(u16),
}

/// A response extension asking the server to drop the connection instead of answering.
#[derive(Debug, Clone, Copy)]
pub struct Cut;

/// A rule as kept: what it matches, what it does, when and how often.
#[derive(Debug)]
struct Rule {
    id: String,
    scope: Scope,
    fault: Fault,
    probability: f64,
    /// Firings left; `None`: unlimited.
    remaining: Option<u64>,
    starts: Instant,
    ends: Option<Instant>,
    created: Instant,
    fired: u64,
    /// The rule as given, returned by listings.
    source: Value,
}

/// The rules in force.
#[derive(Debug, Default)]
pub struct Faults {
    any: AtomicBool,
    rules: Mutex<Vec<Rule>>,
    next_id: AtomicU64,
}

/// Why a rule was refused (sent as a 400's message).
#[derive(Debug, PartialEq, Eq)]
pub struct RuleError(pub String);

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn bad(message: impl Into<String>) -> RuleError {
    RuleError(message.into())
}

/// A parsed rule, before it is added.
#[derive(Debug)]
pub struct NewRule {
    pub id: Option<String>,
    pub scope: Scope,
    fault: Fault,
    probability: f64,
    count: Option<u64>,
    delay: Duration,
    window: Option<Duration>,
    source: Value,
}

const FIELDS: &[&str] = &[
    "id",
    "scope",
    "operations",
    "formats",
    "actions",
    "paths",
    "connections",
    "error",
    "retryAfterSeconds",
    "latencyMs",
    "cut",
    "unreachable",
    "status",
    "probability",
    "count",
    "delaySeconds",
    "windowSeconds",
];

fn strings(object: &Map<String, Value>, field: &str) -> Result<Vec<String>, RuleError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(one)) => Ok(vec![one.clone()]),
        Some(Value::Array(many)) => many
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad(format!("`{field}` must be a list of strings")))
            })
            .collect(),
        Some(_) => Err(bad(format!("`{field}` must be a list of strings"))),
    }
}

fn number(object: &Map<String, Value>, field: &str) -> Result<Option<f64>, RuleError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|f| f.is_finite())
            .map(Some)
            .ok_or_else(|| bad(format!("`{field}` must be a number"))),
        Some(_) => Err(bad(format!("`{field}` must be a number"))),
    }
}

/// A whole number in `range`, or absent.
fn whole(
    object: &Map<String, Value>,
    field: &str,
    range: std::ops::RangeInclusive<u64>,
    what: &str,
) -> Result<Option<u64>, RuleError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_u64()
            .filter(|n| range.contains(n))
            .map(Some)
            .ok_or_else(|| bad(format!("`{field}` must be {what}, got {value}"))),
    }
}

fn flag(object: &Map<String, Value>, field: &str) -> Result<bool, RuleError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(bad(format!("`{field}` must be true or false"))),
    }
}

fn seconds(object: &Map<String, Value>, field: &str) -> Result<Option<Duration>, RuleError> {
    match number(object, field)? {
        None => Ok(None),
        Some(s) if s < 0.0 => Err(bad(format!("`{field}` must not be negative, got {s}"))),
        Some(s) if s > 366.0 * 86_400.0 => Err(bad(format!("`{field}` is too large: {s}"))),
        Some(s) => Ok(Some(Duration::from_secs_f64(s))),
    }
}

/// Whether `name` matches `pattern`, where `*` matches any run of characters.
pub fn glob(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, rest)) => {
            let Some(tail) = name.strip_prefix(head) else {
                return false;
            };
            (0..=tail.len())
                .filter(|&i| tail.is_char_boundary(i))
                .any(|i| glob(rest, &tail[i..]))
        }
    }
}

impl NewRule {
    /// Parses a rule document. Names (operations, formats, connections) are checked by
    /// the caller, which knows them.
    pub fn parse(document: &Value) -> Result<NewRule, RuleError> {
        let Some(object) = document.as_object() else {
            return Err(bad("A fault rule must be a JSON object"));
        };
        if let Some(unknown) = object.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(bad(format!(
                "Unknown field `{unknown}` in a fault rule; known fields: {}",
                FIELDS.join(", ")
            )));
        }
        let id = match object.get("id") {
            None | Some(Value::Null) => None,
            Some(Value::String(id))
                if !id.is_empty()
                    && id.len() <= 64
                    && id
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) =>
            {
                Some(id.clone())
            }
            Some(_) => return Err(bad("`id` must be 1 to 64 letters, digits, `-`, `_` or `.`")),
        };
        let scope_name = object.get("scope").and_then(Value::as_str).unwrap_or("");
        let only = |allowed: &[&str]| -> Result<(), RuleError> {
            for field in ["operations", "formats", "actions", "paths", "connections"] {
                if object.contains_key(field) && !allowed.contains(&field) {
                    return Err(bad(format!(
                        "`{field}` does not apply to scope `{scope_name}`"
                    )));
                }
            }
            Ok(())
        };
        let scope = match scope_name {
            "controlPlane" => {
                only(&["operations"])?;
                let operations = strings(object, "operations")?;
                if operations.is_empty() {
                    return Err(bad(
                        "A controlPlane rule names its `operations` (names or patterns with `*`)",
                    ));
                }
                Scope::ControlPlane { operations }
            }
            "repository" => {
                only(&["formats", "actions", "paths"])?;
                let actions = strings(object, "actions")?;
                if let Some(a) = actions
                    .iter()
                    .find(|a| !matches!(a.as_str(), "read" | "publish" | "putMetadata"))
                {
                    return Err(bad(format!(
                        "Unknown action `{a}`: a repository rule's actions are `read`, `publish` and `putMetadata`"
                    )));
                }
                Scope::Repository {
                    formats: strings(object, "formats")?,
                    actions,
                    paths: strings(object, "paths")?,
                }
            }
            "upstream" => {
                only(&["connections"])?;
                Scope::Upstream {
                    connections: strings(object, "connections")?,
                }
            }
            other => {
                return Err(bad(format!(
                    "`scope` must be `controlPlane`, `repository` or `upstream`, not `{other}`"
                )))
            }
        };
        let latency = match number(object, "latencyMs")? {
            None => Duration::ZERO,
            Some(ms) if ms < 0.0 => {
                return Err(bad(format!("`latencyMs` must not be negative, got {ms}")))
            }
            Some(ms) if ms > MAX_LATENCY.as_millis() as f64 => {
                return Err(bad(format!(
                    "`latencyMs` must be at most {}, got {ms}",
                    MAX_LATENCY.as_millis()
                )))
            }
            Some(ms) => Duration::from_secs_f64(ms / 1000.0),
        };
        let error = match object.get("error") {
            None | Some(Value::Null) => None,
            Some(Value::String(name)) => Some(
                ErrorKind::ALL
                    .into_iter()
                    .find(|k| k.name() == name)
                    .ok_or_else(|| {
                        bad(format!(
                            "Unknown error `{name}`; one of {}",
                            ErrorKind::ALL.map(ErrorKind::name).join(", ")
                        ))
                    })?,
            ),
            Some(_) => return Err(bad("`error` must be an error name")),
        };
        let retry_after = whole(
            object,
            "retryAfterSeconds",
            0..=3600,
            "a whole number of seconds from 0 to 3600",
        )?;
        if retry_after.is_some() && error != Some(ErrorKind::Throttling) {
            return Err(bad(
                "`retryAfterSeconds` goes with `error: ThrottlingException` only",
            ));
        }
        let cut = flag(object, "cut")?;
        let unreachable = flag(object, "unreachable")?;
        let status = whole(
            object,
            "status",
            400..=599,
            "an error status from 400 to 599",
        )?
        .and_then(|s| u16::try_from(s).ok());
        let upstream = matches!(scope, Scope::Upstream { .. });
        if upstream && (error.is_some() || cut) {
            return Err(bad(
                "An upstream rule makes the registry `unreachable`, answer a `status`, or add `latencyMs`",
            ));
        }
        if !upstream && (unreachable || status.is_some()) {
            return Err(bad(
                "`unreachable` and `status` apply to upstream rules; use `error` or `cut`",
            ));
        }
        let outcomes = [error.is_some(), cut, unreachable, status.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        if outcomes > 1 {
            return Err(bad(
                "A rule does one of `error`, `cut`, `unreachable` or `status` (with or without `latencyMs`)",
            ));
        }
        let outcome =
            match (error, status) {
                (Some(kind), _) => Outcome::Error { kind, retry_after },
                (None, Some(status)) => Outcome::Status(status),
                (None, None) if cut || unreachable => Outcome::Cut,
                (None, None) if latency.is_zero() => return Err(bad(
                    "A rule does something: `error`, `cut`, `unreachable`, `status` or `latencyMs`",
                )),
                (None, None) => Outcome::Proceed,
            };
        let probability = match number(object, "probability")? {
            None => 1.0,
            Some(p) if (0.0..=1.0).contains(&p) => p,
            Some(p) => {
                return Err(bad(format!(
                    "`probability` must be between 0 and 1, got {p}"
                )))
            }
        };
        let count = whole(
            object,
            "count",
            1..=u64::MAX,
            "a whole number of calls, at least 1",
        )?;
        Ok(NewRule {
            id,
            scope,
            fault: Fault { latency, outcome },
            probability,
            count,
            delay: seconds(object, "delaySeconds")?.unwrap_or_default(),
            window: seconds(object, "windowSeconds")?,
            source: document.clone(),
        })
    }
}

/// What a request is, for matching.
#[derive(Debug, Clone, Copy)]
pub enum Call<'a> {
    ControlPlane {
        operation: &'a str,
    },
    Repository {
        format: &'a str,
        action: &'a str,
        /// The request path after the repository's own prefix.
        path: &'a str,
    },
    Upstream {
        connection: &'a str,
    },
}

impl Scope {
    fn matches(&self, call: Call<'_>) -> bool {
        let any = |list: &[String], name: &str| list.is_empty() || list.iter().any(|l| l == name);
        match (self, call) {
            (Scope::ControlPlane { operations }, Call::ControlPlane { operation }) => {
                operations.iter().any(|p| glob(p, operation))
            }
            (
                Scope::Repository {
                    formats,
                    actions,
                    paths,
                },
                Call::Repository {
                    format,
                    action,
                    path,
                },
            ) => {
                any(formats, format)
                    && any(actions, action)
                    && (paths.is_empty() || paths.iter().any(|p| glob(p, path)))
            }
            (Scope::Upstream { connections }, Call::Upstream { connection }) => {
                any(connections, connection)
            }
            _ => false,
        }
    }
}

fn random_unit() -> f64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return 0.0;
    }
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

impl Faults {
    /// Adds a rule (its id given or made); refuses a duplicate id or more than
    /// `MAX_RULES`.
    pub fn add(&self, rule: NewRule) -> Result<Value, RuleError> {
        let now = Instant::now();
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        rules.retain(|r| !r.spent(now));
        if rules.len() >= MAX_RULES {
            return Err(bad(format!(
                "At most {MAX_RULES} fault rules are kept; clear some first"
            )));
        }
        let id = match rule.id {
            Some(id) if rules.iter().any(|r| r.id == id) => {
                return Err(bad(format!("A fault rule with id `{id}` exists already")))
            }
            Some(id) => id,
            None => format!("fault-{}", self.next_id.fetch_add(1, Ordering::Relaxed) + 1),
        };
        let starts = now + rule.delay;
        let kept = Rule {
            id,
            scope: rule.scope,
            fault: rule.fault,
            probability: rule.probability,
            remaining: rule.count,
            starts,
            ends: rule.window.map(|w| starts + w),
            created: now,
            fired: 0,
            source: rule.source,
        };
        let listed = kept.listing(now);
        rules.push(kept);
        self.any.store(true, Ordering::Release);
        Ok(listed)
    }

    /// The rules in force, as listed.
    pub fn list(&self) -> Vec<Value> {
        let now = Instant::now();
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        rules.retain(|r| !r.spent(now));
        rules.iter().map(|r| r.listing(now)).collect()
    }

    /// Removes one rule; whether it was there.
    pub fn remove(&self, id: &str) -> bool {
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        let before = rules.len();
        rules.retain(|r| r.id != id);
        self.any.store(!rules.is_empty(), Ordering::Release);
        rules.len() != before
    }

    /// Removes every rule; how many there were.
    pub fn clear(&self) -> usize {
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        let n = rules.len();
        rules.clear();
        self.any.store(false, Ordering::Release);
        n
    }

    /// The fault for this call, if a rule in force matches it and fires (its probability,
    /// then its count). The first such rule, in the order rules were added, wins.
    pub fn check(&self, call: Call<'_>) -> Option<Fault> {
        if !self.any.load(Ordering::Acquire) {
            return None;
        }
        let now = Instant::now();
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        let mut fired = None;
        for rule in rules.iter_mut() {
            if rule.spent(now) || now < rule.starts || !rule.scope.matches(call) {
                continue;
            }
            if rule.probability < 1.0 && random_unit() >= rule.probability {
                continue;
            }
            if let Some(left) = &mut rule.remaining {
                *left -= 1;
            }
            rule.fired += 1;
            fired = Some(rule.fault.clone());
            break;
        }
        rules.retain(|r| !r.spent(now));
        self.any.store(!rules.is_empty(), Ordering::Release);
        fired
    }
}

impl Rule {
    /// Used up (its count) or over (its window).
    fn spent(&self, now: Instant) -> bool {
        self.remaining == Some(0) || self.ends.is_some_and(|end| now >= end)
    }

    fn listing(&self, now: Instant) -> Value {
        let mut listed = self.source.clone();
        if let Some(object) = listed.as_object_mut() {
            object.insert("id".into(), json!(self.id));
            object.insert("fired".into(), json!(self.fired));
            if let Some(left) = self.remaining {
                object.insert("remaining".into(), json!(left));
            }
            object.insert(
                "ageSeconds".into(),
                json!(now.duration_since(self.created).as_secs()),
            );
        }
        listed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(v: Value) -> Result<NewRule, RuleError> {
        NewRule::parse(&v)
    }

    const LIST: Call<'static> = Call::ControlPlane {
        operation: "ListPackages",
    };

    #[test]
    fn globs_match_runs_of_characters() {
        assert!(glob("List*", "ListPackages"));
        assert!(glob("*Package*", "DescribePackageVersion"));
        assert!(glob("*", "X"));
        assert!(!glob("List*", "DescribeDomain"));
        assert!(!glob("ListPackages", "ListPackagesX"));
    }

    #[test]
    fn a_count_rule_fires_that_many_times_then_is_gone() {
        let faults = Faults::default();
        faults
            .add(
                rule(json!({"scope": "controlPlane", "operations": ["List*"],
                "error": "ThrottlingException", "retryAfterSeconds": 1, "count": 2}))
                .unwrap(),
            )
            .unwrap();
        let other = Call::ControlPlane {
            operation: "DescribeDomain",
        };
        assert_eq!(faults.check(other), None, "never leaks to other operations");
        let fault = faults.check(LIST).unwrap();
        assert_eq!(
            fault.outcome,
            Outcome::Error {
                kind: ErrorKind::Throttling,
                retry_after: Some(1)
            }
        );
        assert!(faults.check(LIST).is_some());
        assert_eq!(faults.check(LIST), None);
        assert!(faults.list().is_empty());
    }

    #[test]
    fn probability_zero_never_fires_and_windows_close() {
        let faults = Faults::default();
        faults
            .add(
                rule(
                    json!({"scope": "controlPlane", "operations": "*", "cut": true,
                "probability": 0}),
                )
                .unwrap(),
            )
            .unwrap();
        assert!((0..100).all(|_| faults.check(LIST).is_none()));
        faults.clear();
        faults
            .add(
                rule(
                    json!({"scope": "controlPlane", "operations": "*", "cut": true,
                "windowSeconds": 0}),
                )
                .unwrap(),
            )
            .unwrap();
        assert_eq!(faults.check(LIST), None);
        faults
            .add(
                rule(
                    json!({"scope": "controlPlane", "operations": "*", "cut": true,
                "delaySeconds": 60}),
                )
                .unwrap(),
            )
            .unwrap();
        assert_eq!(faults.check(LIST), None, "not started yet");
        assert_eq!(faults.list().len(), 1);
    }

    #[test]
    fn scopes_keep_to_their_calls() {
        let faults = Faults::default();
        faults
            .add(
                rule(
                    json!({"scope": "repository", "formats": ["npm"], "actions": ["read"],
                "paths": ["*.tgz"], "error": "ServiceUnavailableException"}),
                )
                .unwrap(),
            )
            .unwrap();
        let call = |format, action, path| Call::Repository {
            format,
            action,
            path,
        };
        assert!(faults
            .check(call("npm", "read", "a/-/a-1.0.0.tgz"))
            .is_some());
        assert!(faults.check(call("npm", "read", "a")).is_none());
        assert!(faults
            .check(call("npm", "publish", "a/-/a-1.0.0.tgz"))
            .is_none());
        assert!(faults
            .check(call("pypi", "read", "a/-/a-1.0.0.tgz"))
            .is_none());
        assert!(faults.check(LIST).is_none());
        assert!(faults.check(Call::Upstream { connection: "x" }).is_none());
    }

    #[test]
    fn bad_rules_are_refused_with_the_reason() {
        for (document, says) in [
            (json!([]), "JSON object"),
            (
                json!({"scope": "controlPlane", "operations": ["*"], "error": "ThrottlingException", "probability": 1.5}),
                "between 0 and 1",
            ),
            (
                json!({"scope": "controlPlane", "operations": ["*"], "error": "ThrottlingException", "probability": -0.1}),
                "between 0 and 1",
            ),
            (
                json!({"scope": "controlPlane", "operations": ["*"], "latencyMs": -5}),
                "negative",
            ),
            (
                json!({"scope": "controlPlane", "operations": ["*"]}),
                "does something",
            ),
            (
                json!({"scope": "controlPlane", "error": "ThrottlingException"}),
                "`operations`",
            ),
            (
                json!({"scope": "controlPlane", "operations": ["*"], "error": "Nope"}),
                "Unknown error",
            ),
            (
                json!({"scope": "controlPlane", "operations": ["*"], "cut": true, "bogus": 1}),
                "Unknown field",
            ),
            (json!({"scope": "sideways", "cut": true}), "`scope`"),
            (
                json!({"scope": "repository", "actions": ["delete"], "cut": true}),
                "Unknown action",
            ),
            (
                json!({"scope": "upstream", "error": "ThrottlingException"}),
                "upstream rule",
            ),
            (
                json!({"scope": "repository", "unreachable": true}),
                "upstream rules",
            ),
            (
                json!({"scope": "upstream", "unreachable": true, "status": 503}),
                "one of",
            ),
            (json!({"scope": "upstream", "status": 200}), "400 to 599"),
            (
                json!({"scope": "upstream", "unreachable": true, "count": 0}),
                "at least 1",
            ),
            (
                json!({"scope": "upstream", "unreachable": true, "windowSeconds": -1}),
                "negative",
            ),
            (
                json!({"scope": "controlPlane", "operations": ["*"], "error": "InternalServerException", "retryAfterSeconds": 2}),
                "ThrottlingException",
            ),
        ] {
            let e = rule(document.clone()).expect_err(&document.to_string());
            assert!(e.0.contains(says), "{document}: {e}");
        }
    }
}
