//! Hand-written runtime for the generated bindings.
//!
//! The generated code only *describes* the model (shape descriptors, DTOs, the operation
//! table); this module interprets those descriptors: it assembles a JSON value from the
//! query string, headers and body of a request, validates it the way AWS does (collecting
//! every violation, with AWS's message wording), and only then hands it to serde. Doing
//! validation on the untyped value is what lets us report *all* violations with the
//! exact paths and values AWS reports, instead of serde's first-error-wins.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, OnceLock, PoisonError};

use regex::Regex;
use serde_json::{Map, Value};

use crate::generated::Operation;

/// A static descriptor of one model shape.
pub struct Shape {
    /// The shape's name in the model, e.g. `DomainName`.
    pub name: &'static str,
    pub kind: ShapeKind,
}

/// Shapes refer to each other, so print only the name to keep `Debug` output finite.
impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Shape").field(&self.name).finish()
    }
}

/// The type of a shape and the constraints the model puts on it.
#[derive(Debug)]
pub enum ShapeKind {
    /// `values` is non-empty for enum strings (in model order).
    String {
        min: Option<u64>,
        max: Option<u64>,
        pattern: Option<&'static str>,
        values: &'static [&'static str],
    },
    Integer {
        min: Option<i64>,
        max: Option<i64>,
    },
    Long {
        min: Option<i64>,
        max: Option<i64>,
    },
    Boolean,
    Timestamp,
    Blob {
        streaming: bool,
    },
    List {
        member: &'static Shape,
        min: Option<u64>,
        max: Option<u64>,
    },
    Map {
        key: &'static Shape,
        value: &'static Shape,
        min: Option<u64>,
        max: Option<u64>,
    },
    /// `members` are in model order; `payload` names the member that is the raw HTTP body.
    Structure {
        members: &'static [Member],
        required: &'static [&'static str],
        payload: Option<&'static str>,
    },
}

/// One member of a structure shape.
#[derive(Debug)]
pub struct Member {
    /// The member name: the JSON key, and the name used in validation messages.
    pub name: &'static str,
    pub shape: &'static Shape,
    pub location: Location,
}

/// Where a member travels in the HTTP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// A key of the JSON body object.
    Body,
    /// A query parameter with this key.
    Query(&'static str),
    /// A header with this name.
    Header(&'static str),
    /// The raw HTTP body (streamed by the server, never bound here).
    Payload,
}

/// Implemented by every generated structure: the link from a Rust type to its descriptor.
pub trait StructureShape {
    const SHAPE: &'static Shape;
}

/// Implemented by the input structure of each operation, so `bind_input` knows the shape.
pub trait OperationInput: StructureShape + serde::de::DeserializeOwned {
    const OPERATION: Operation;
}

/// Implemented by the output structure of each operation.
pub trait OperationOutput: StructureShape + serde::Serialize {
    const OPERATION: Operation;
}

/// A point in time as epoch seconds, the restJson1 default timestamp format.
///
/// Serializes as a JSON number (fractional seconds allowed), which is what the SDKs expect.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub f64);

impl Timestamp {
    /// From milliseconds since the epoch (the server's clock resolution).
    pub fn from_millis(millis: i64) -> Self {
        // Exact for any realistic date: |millis| < 2^53.
        Timestamp(millis as f64 / 1000.0)
    }
}

/// The parts of an HTTP request that `bind_input` reads, independent of any HTTP crate.
pub struct RawInput<'a> {
    /// Query parameters, already percent-decoded, in request order.
    pub query: &'a [(String, String)],
    /// Case-insensitive header lookup (first value).
    pub header: &'a dyn Fn(&str) -> Option<&'a str>,
    /// The request body; empty when absent.
    pub body: &'a [u8],
}

/// A request that AWS would answer with `ValidationException`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// `CANNOT_PARSE` or `FIELD_VALIDATION_FAILED` (a `ValidationExceptionReason` value).
    pub reason: &'static str,
    pub message: String,
}

impl ValidationError {
    pub const CANNOT_PARSE: &'static str = "CANNOT_PARSE";
    pub const FIELD_VALIDATION_FAILED: &'static str = "FIELD_VALIDATION_FAILED";

    /// Joins violations (as returned by [`validate_value`]) the way AWS does:
    /// `2 validation errors detected: <first>; <second>`.
    pub fn from_violations(violations: &[String]) -> Self {
        let n = violations.len();
        let noun = if n == 1 { "error" } else { "errors" };
        ValidationError {
            reason: Self::FIELD_VALIDATION_FAILED,
            message: format!("{n} validation {noun} detected: {}", violations.join("; ")),
        }
    }

    fn cannot_parse(detail: impl fmt::Display) -> Self {
        ValidationError {
            reason: Self::CANNOT_PARSE,
            message: format!("Could not parse request body into json: {detail}"),
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ValidationError {}

/// Binds and validates the input of `T`'s operation from a request.
///
/// Body members come from the JSON body (absent or empty body means `{}`; unknown keys are
/// ignored), query and header members from their locations (first occurrence wins). Every
/// constraint violation is reported at once, in member order, as AWS does.
pub fn bind_input<T: OperationInput>(raw: &RawInput<'_>) -> Result<T, ValidationError> {
    let shape = T::OPERATION.input();
    let value = assemble(shape, raw)?;
    let violations = validate_value(shape, "", &value);
    if !violations.is_empty() {
        return Err(ValidationError::from_violations(&violations));
    }
    serde_json::from_value(value).map_err(ValidationError::cannot_parse)
}

/// Builds the JSON view of a request: body members as sent, query and header values
/// converted to their target JSON types where they parse (left as strings otherwise, so
/// validation reports them with the value the caller sent).
fn assemble(shape: &'static Shape, raw: &RawInput<'_>) -> Result<Value, ValidationError> {
    let ShapeKind::Structure { members, .. } = &shape.kind else {
        return Ok(Value::Object(Map::new()));
    };
    let mut object = Map::new();
    if members.iter().any(|m| m.location == Location::Body) {
        let mut body = parse_body(raw.body)?;
        for member in members.iter().filter(|m| m.location == Location::Body) {
            if let Some(value) = body.remove(member.name) {
                object.insert(member.name.to_owned(), value);
            }
        }
    }
    for member in *members {
        let value = match member.location {
            Location::Query(key) => query_value(member.shape, key, raw.query),
            Location::Header(name) => (raw.header)(name).map(|v| from_text(member.shape, v)),
            Location::Body | Location::Payload => None,
        };
        if let Some(value) = value {
            object.insert(member.name.to_owned(), value);
        }
    }
    Ok(Value::Object(object))
}

fn parse_body(body: &[u8]) -> Result<Map<String, Value>, ValidationError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body).map_err(ValidationError::cannot_parse)? {
        Value::Object(map) => Ok(map),
        other => Err(ValidationError::cannot_parse(format_args!(
            "expected a JSON object, found {}",
            json_type(&other)
        ))),
    }
}

fn query_value(shape: &Shape, key: &str, query: &[(String, String)]) -> Option<Value> {
    let mut values = query.iter().filter(|(k, _)| k == key).map(|(_, v)| v);
    if let ShapeKind::List { member, .. } = shape.kind {
        let items: Vec<Value> = values.map(|v| from_text(member, v)).collect();
        return (!items.is_empty()).then_some(Value::Array(items));
    }
    values.next().map(|v| from_text(shape, v))
}

/// Converts a query/header string to the JSON type of `shape`, or keeps it as a string.
fn from_text(shape: &Shape, text: &str) -> Value {
    let parsed = match shape.kind {
        ShapeKind::Integer { .. } | ShapeKind::Long { .. } => {
            text.parse::<i64>().ok().map(Value::from)
        }
        ShapeKind::Boolean => match text {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        ShapeKind::Timestamp => text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number),
        _ => None,
    };
    parsed.unwrap_or_else(|| Value::String(text.to_owned()))
}

/// Validates `value` against `shape`, returning AWS-style violation messages such as
/// `Value 'x' at 'domain' failed to satisfy constraint: Member must have length ...`.
///
/// `path` is the member path of `value` (empty for a top-level structure). A `null` value
/// counts as absent and is valid: whether a member is required is checked by its parent
/// structure. Payload members are skipped (the server streams them).
pub fn validate_value(shape: &'static Shape, path: &str, value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    check(shape, path, value, &mut out);
    out
}

fn check(shape: &'static Shape, path: &str, value: &Value, out: &mut Vec<String>) {
    if value.is_null() {
        return;
    }
    match constraints(shape, value) {
        Ok(own) => out.extend(own.iter().map(|c| violation(value, path, c))),
        Err(expected) => {
            out.push(violation(
                value,
                path,
                &format!("Member must be {expected}"),
            ));
            return;
        }
    }
    match (&shape.kind, value) {
        (
            ShapeKind::Structure {
                members, required, ..
            },
            Value::Object(object),
        ) => {
            for member in members.iter().filter(|m| m.location != Location::Payload) {
                let child_path = join(path, member.name);
                match object.get(member.name).filter(|v| !v.is_null()) {
                    Some(child) => check(member.shape, &child_path, child, out),
                    None if required.contains(&member.name) => out.push(format!(
                        "Value null at '{child_path}' failed to satisfy constraint: \
                         Member must not be null"
                    )),
                    None => {}
                }
            }
        }
        (ShapeKind::List { member, .. }, Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let item_path = format!("{}.member", join(path, &(i + 1).to_string()));
                if item.is_null() {
                    out.push(violation(item, &item_path, "Member must not be null"));
                } else {
                    check(member, &item_path, item, out);
                }
            }
        }
        (
            ShapeKind::Map {
                key,
                value: value_shape,
                ..
            },
            Value::Object(entries),
        ) => {
            let key_violations: Vec<String> = entries
                .keys()
                .flat_map(|k| constraints(key, &Value::String(k.clone())).unwrap_or_default())
                .collect();
            if !key_violations.is_empty() {
                let detail = format!(
                    "Map keys must satisfy constraint: [{}]",
                    key_violations.join(", ")
                );
                out.push(violation(value, path, &detail));
            }
            for (k, v) in entries {
                let entry_path = join(path, k);
                if v.is_null() {
                    out.push(violation(v, &entry_path, "Member must not be null"));
                } else {
                    check(value_shape, &entry_path, v, out);
                }
            }
        }
        _ => {}
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

fn violation(value: &Value, path: &str, constraint: &str) -> String {
    format!(
        "Value {} at '{path}' failed to satisfy constraint: {constraint}",
        quote(value)
    )
}

/// The constraints `value` itself breaks (not its children), or `Err` with the expected
/// type when `value` has the wrong JSON type.
fn constraints(shape: &Shape, value: &Value) -> Result<Vec<String>, &'static str> {
    let mut found = Vec::new();
    match &shape.kind {
        ShapeKind::String {
            min,
            max,
            pattern,
            values,
        } => {
            let s = value.as_str().ok_or("a string")?;
            // Java (and so AWS) measures strings in UTF-16 code units.
            let len = s.encode_utf16().count() as u64;
            length(len, *min, *max, &mut found);
            if let Some(pattern) = pattern {
                if !pattern_matches(pattern, s) {
                    found.push(format!(
                        "Member must satisfy regular expression pattern: {pattern}"
                    ));
                }
            }
            if !values.is_empty() && !values.contains(&s) {
                found.push(format!(
                    "Member must satisfy enum value set: [{}]",
                    values.join(", ")
                ));
            }
        }
        ShapeKind::Integer { min, max } => {
            let v = value
                .as_i64()
                .filter(|v| i32::try_from(*v).is_ok())
                .ok_or("an integer")?;
            range(v, *min, *max, &mut found);
        }
        ShapeKind::Long { min, max } => {
            range(value.as_i64().ok_or("an integer")?, *min, *max, &mut found);
        }
        ShapeKind::List { min, max, .. } => {
            let items = value.as_array().ok_or("a list")?;
            length(items.len() as u64, *min, *max, &mut found);
        }
        ShapeKind::Map { min, max, .. } => {
            let entries = value.as_object().ok_or("a map")?;
            length(entries.len() as u64, *min, *max, &mut found);
        }
        ShapeKind::Boolean => {
            value.as_bool().ok_or("a boolean")?;
        }
        ShapeKind::Timestamp => {
            value.as_f64().ok_or("a timestamp")?;
        }
        ShapeKind::Structure { .. } => {
            value.as_object().ok_or("an object")?;
        }
        // Blobs only occur as streamed payloads, which are never validated here.
        ShapeKind::Blob { .. } => {}
    }
    Ok(found)
}

fn length(len: u64, min: Option<u64>, max: Option<u64>, found: &mut Vec<String>) {
    if let Some(max) = max.filter(|&max| len > max) {
        found.push(format!(
            "Member must have length less than or equal to {max}"
        ));
    }
    if let Some(min) = min.filter(|&min| len < min) {
        found.push(format!(
            "Member must have length greater than or equal to {min}"
        ));
    }
}

fn range(v: i64, min: Option<i64>, max: Option<i64>, found: &mut Vec<String>) {
    if let Some(max) = max.filter(|&max| v > max) {
        found.push(format!(
            "Member must have value less than or equal to {max}"
        ));
    }
    if let Some(min) = min.filter(|&min| v < min) {
        found.push(format!(
            "Member must have value greater than or equal to {min}"
        ));
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Renders a value for a message the way AWS (Java) does: `null` bare, anything else in
/// single quotes, lists as `[a, b]` and maps/objects as `{k=v}`.
fn quote(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        other => format!("'{}'", unquoted(other)),
    }
}

fn unquoted(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(unquoted).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(entries) => {
            let entries: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{k}={}", unquoted(v)))
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
        other => other.to_string(),
    }
}

/// Whole-string match of a model pattern, compiling each pattern once. The compiled
/// regexes live for the whole process (the model has a fixed, small set of patterns), so a
/// match needs no clone and keeps the regex's own per-thread match cache warm.
fn pattern_matches(pattern: &'static str, text: &str) -> bool {
    static CACHE: OnceLock<Mutex<HashMap<&'static str, &'static Regex>>> = OnceLock::new();
    let regex: &'static Regex = {
        let mut cache = CACHE
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        cache.entry(pattern).or_insert_with(|| {
            // Every model pattern is compiled by a unit test, so this cannot fail.
            Box::leak(Box::new(
                compile_pattern(pattern).expect("model patterns compile"),
            ))
        })
    };
    regex.is_match(text)
}

/// Compiles a model (Java) regular expression for a whole-string match.
///
/// Model patterns are unanchored Java regexes. Java's `\s`/`\S` are ASCII-only and it
/// spells Unicode properties `\p{IsWhitespace}`; the `regex` crate differs on both, so
/// those are translated.
pub fn compile_pattern(pattern: &str) -> Result<Regex, regex::Error> {
    Regex::new(&format!("^(?:{})$", translate_java_regex(pattern)))
}

fn translate_java_regex(pattern: &str) -> String {
    const JAVA_SPACE: &str = r"\t\n\x0B\f\r ";
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('s') if in_class => out.push_str(JAVA_SPACE),
                Some('s') => out.push_str(&format!("[{JAVA_SPACE}]")),
                // Inside a class this nests a class, which the regex crate supports.
                Some('S') => out.push_str(&format!("[^{JAVA_SPACE}]")),
                Some(p @ ('p' | 'P')) if chars.peek() == Some(&'{') => {
                    let mut name = String::new();
                    chars.next();
                    for n in chars.by_ref() {
                        if n == '}' {
                            break;
                        }
                        name.push(n);
                    }
                    let name = name.strip_prefix("Is").unwrap_or(&name);
                    let name = match name {
                        "Whitespace" | "WhiteSpace" => "White_Space",
                        other => other,
                    };
                    out.push('\\');
                    out.push(p);
                    out.push('{');
                    out.push_str(name);
                    out.push('}');
                }
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            '[' => {
                in_class = true;
                out.push(c);
            }
            ']' => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// An output rendered for the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedOutput {
    /// Response headers for members bound to headers (values as text).
    pub headers: Vec<(&'static str, String)>,
    /// The JSON body: the remaining members, `{}` when there are none.
    pub body: Vec<u8>,
}

/// Renders an output (or exception) structure: header members become headers, the payload
/// member is dropped (the server streams it), everything else is the JSON body.
pub fn render_output<T: StructureShape + serde::Serialize>(output: &T) -> RenderedOutput {
    let mut value =
        serde_json::to_value(output).expect("generated structures serialize to JSON objects");
    let mut headers = Vec::new();
    if let (ShapeKind::Structure { members, .. }, Value::Object(object)) =
        (&T::SHAPE.kind, &mut value)
    {
        for member in *members {
            match member.location {
                Location::Body => {}
                Location::Header(name) => match object.remove(member.name) {
                    Some(Value::String(s)) => headers.push((name, s)),
                    Some(Value::Null) | None => {}
                    Some(other) => headers.push((name, other.to_string())),
                },
                Location::Query(_) | Location::Payload => {
                    object.remove(member.name);
                }
            }
        }
    }
    let body = serde_json::to_vec(&value).expect("a JSON value always serializes");
    RenderedOutput { headers, body }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translates_java_isms() {
        assert_eq!(
            translate_java_regex(r"[^\p{C}\p{IsWhitespace}]+"),
            r"[^\p{C}\p{White_Space}]+"
        );
        assert_eq!(translate_java_regex(r"\S+"), r"[^\t\n\x0B\f\r ]+");
        assert_eq!(translate_java_regex(r"[^#/\s]+"), r"[^#/\t\n\x0B\f\r ]+");
        let re = compile_pattern(r"[^#/\s]+").unwrap();
        assert!(re.is_match("lodash"));
        assert!(!re.is_match("a b"));
        assert!(!re.is_match("a/b"));
        // Java's \s is ASCII-only, so a no-break space is allowed.
        assert!(re.is_match("a\u{a0}b"));
    }

    #[test]
    fn patterns_are_anchored() {
        let re = compile_pattern(r"[a-z][a-z0-9\-]{0,48}[a-z0-9]").unwrap();
        assert!(re.is_match("my-domain"));
        assert!(!re.is_match("My-domain"));
        assert!(!re.is_match("my-domain-"));
    }

    #[test]
    fn quotes_like_java() {
        assert_eq!(quote(&Value::Null), "null");
        assert_eq!(quote(&serde_json::json!("x")), "'x'");
        assert_eq!(quote(&serde_json::json!(5)), "'5'");
        assert_eq!(quote(&serde_json::json!(["a", "b"])), "'[a, b]'");
        assert_eq!(quote(&serde_json::json!({"k": "v"})), "'{k=v}'");
    }

    #[test]
    fn timestamp_from_millis() {
        assert_eq!(Timestamp::from_millis(1_500), Timestamp(1.5));
    }
}
