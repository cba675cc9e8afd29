//! `/_codeartifact/faults`: fault-injection rules (`crate::faults`), checked against the
//! names this server knows before they are kept.
//!
//! - `GET /_codeartifact/faults` — the rules in force, `{"rules": [...]}`.
//! - `POST /_codeartifact/faults` — adds a rule (a JSON object) or several (an array, all
//!   or none); answers `{"rules": [...]}` with their ids.
//! - `DELETE /_codeartifact/faults` — clears every rule; `DELETE …/faults/{id}` one.

use super::invalid;
use crate::faults::{Faults, NewRule, Scope};
use crate::state::App;
use crate::wire::aws_error;
use crate::wire::{json_response, Body};
use codeartifact_model::{Operation, PackageFormat};
use http::{Method, Response, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Refuses names this server does not know: operations (a pattern must match one),
/// formats, external connections not configured.
fn check_names(rule: &NewRule, connections: &BTreeMap<String, String>) -> Result<(), String> {
    match &rule.scope {
        Scope::ControlPlane { operations } => {
            for pattern in operations {
                if !Operation::ALL
                    .iter()
                    .any(|op| crate::faults::glob(pattern, op.name()))
                {
                    return Err(format!(
                        "Unknown operation `{pattern}`: it names no CodeArtifact operation"
                    ));
                }
            }
        }
        Scope::Repository { formats, .. } => {
            if let Some(unknown) = formats
                .iter()
                .find(|f| !PackageFormat::ALL.iter().any(|p| p.as_str() == f.as_str()))
            {
                return Err(format!("Unknown format `{unknown}`"));
            }
        }
        Scope::Upstream { connections: named } => {
            if let Some(unknown) = named.iter().find(|c| !connections.contains_key(*c)) {
                let configured: Vec<&str> = connections.keys().map(String::as_str).collect();
                return Err(format!(
                    "No upstream URL is configured for external connection `{unknown}` \
                     (configured: {})",
                    configured.join(", ")
                ));
            }
        }
    }
    Ok(())
}

/// Parses and checks one rule document or an array of them.
fn parse_all(
    document: &Value,
    connections: &BTreeMap<String, String>,
) -> Result<Vec<NewRule>, String> {
    let documents = match document {
        Value::Array(many) => many.iter().collect(),
        one => vec![one],
    };
    let mut rules = Vec::new();
    for (n, document) in documents.into_iter().enumerate() {
        let rule = NewRule::parse(document)
            .map_err(|e| e.to_string())
            .and_then(|rule| check_names(&rule, connections).map(|()| rule))
            .map_err(|e| {
                if matches!(document, Value::Object(_)) && n == 0 {
                    e
                } else {
                    format!("Rule {n}: {e}")
                }
            })?;
        rules.push(rule);
    }
    Ok(rules)
}

/// The rules of `--fault` flags (each a JSON rule or array of rules), checked like those
/// sent at run time.
pub fn startup_rules(
    flags: &[String],
    connections: &BTreeMap<String, String>,
) -> Result<Faults, String> {
    let faults = Faults::default();
    for flag in flags.iter().filter(|f| !f.trim().is_empty()) {
        let document: Value =
            serde_json::from_str(flag).map_err(|e| format!("--fault {flag}: not JSON: {e}"))?;
        for rule in parse_all(&document, connections).map_err(|e| format!("--fault {flag}: {e}"))? {
            faults
                .add(rule)
                .map_err(|e| format!("--fault {flag}: {e}"))?;
        }
    }
    Ok(faults)
}

pub fn serve(app: &App, method: &Method, route: &str, body: &[u8]) -> Response<Body> {
    let faults = &app.faults;
    match (method, route.strip_prefix("faults")) {
        (&Method::GET, Some("")) => {
            json_response(StatusCode::OK, &json!({ "rules": faults.list() }))
        }
        (&Method::POST, Some("")) => {
            let document: Value = match serde_json::from_slice(body) {
                Ok(document) => document,
                Err(e) => return invalid(format!("The fault rule is not JSON: {e}")),
            };
            let rules = match parse_all(&document, &app.settings.external_connections) {
                Ok(rules) => rules,
                Err(message) => return invalid(message),
            };
            if let Some(id) = duplicate_id(&rules) {
                return invalid(format!("The id `{id}` is given twice"));
            }
            let mut added = Vec::new();
            let mut ids = Vec::new();
            for rule in rules {
                match faults.add(rule) {
                    Ok(listed) => {
                        ids.push(listed["id"].as_str().unwrap_or_default().to_string());
                        added.push(listed);
                    }
                    Err(e) => {
                        // All or none: take back what this request added.
                        for id in &ids {
                            faults.remove(id);
                        }
                        return invalid(e.to_string());
                    }
                }
            }
            json_response(StatusCode::OK, &json!({ "rules": added }))
        }
        (&Method::DELETE, Some("")) => {
            json_response(StatusCode::OK, &json!({ "cleared": faults.clear() }))
        }
        (&Method::DELETE, Some(rest)) if rest.starts_with('/') => {
            let id = &rest[1..];
            if faults.remove(id) {
                json_response(StatusCode::OK, &json!({ "cleared": 1 }))
            } else {
                aws_error(
                    StatusCode::NOT_FOUND,
                    "ResourceNotFoundException",
                    format!("No fault rule has the id `{id}`"),
                )
            }
        }
        _ => aws_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "ValidationException",
            format!("{method} is not served on /_codeartifact/{route}"),
        ),
    }
}

fn duplicate_id(rules: &[NewRule]) -> Option<&str> {
    let mut seen = std::collections::HashSet::new();
    rules
        .iter()
        .filter_map(|r| r.id.as_deref())
        .find(|id| !seen.insert(*id))
}
