//! Access decisions from resource policies, evaluated the way IAM does for the default
//! enforcement mode: a caller's own account is trusted (its identity policies are assumed to
//! allow), anyone else needs an `Allow` in the resource policy, and an explicit `Deny`
//! matching the caller always wins.
//!
//! This module only decides; it neither reads storage nor renders errors.

use serde_json::Value;

/// Who asks, for matching `Principal` and condition keys.
#[derive(Debug, Clone, Copy)]
pub struct Principal<'a> {
    pub account: &'a str,
    pub arn: &'a str,
}

/// What is asked: an action on a resource owned by an account.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Without the `codeartifact:` prefix, e.g. `DescribeDomain`.
    pub action: &'a str,
    pub resource_arn: &'a str,
    pub resource_account: &'a str,
    pub region: &'a str,
}

/// The outcome, with the reason AWS puts in its message when access is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    ExplicitDeny,
    /// Cross-account with no resource-policy statement that allows it.
    NoResourceAllow,
}

/// Decides `request` for `principal` under the resource policy `policy` (the document as
/// stored, already validated), if any.
pub fn decide(principal: Principal<'_>, request: Request<'_>, policy: Option<&str>) -> Decision {
    let statements: Vec<Value> = policy
        .and_then(|p| serde_json::from_str::<Value>(p).ok())
        .map(|doc| match doc.get("Statement") {
            Some(Value::Array(list)) => list.clone(),
            Some(one @ Value::Object(_)) => vec![one.clone()],
            _ => Vec::new(),
        })
        .unwrap_or_default();
    let applicable = |effect: &str| {
        statements.iter().any(|s| {
            s.get("Effect").and_then(Value::as_str) == Some(effect)
                && statement_applies(s, principal, request)
        })
    };
    if applicable("Deny") {
        return Decision::ExplicitDeny;
    }
    if principal.account == request.resource_account || applicable("Allow") {
        Decision::Allow
    } else {
        Decision::NoResourceAllow
    }
}

/// The message AWS gives for a refusal.
pub fn denial_message(
    principal: Principal<'_>,
    request: Request<'_>,
    decision: Decision,
) -> String {
    let why = match decision {
        Decision::ExplicitDeny => "with an explicit deny in a resource-based policy".to_string(),
        _ => format!(
            "because no resource-based policy allows the codeartifact:{} action",
            request.action
        ),
    };
    format!(
        "User: {} is not authorized to perform: codeartifact:{} on resource: {} {why}",
        principal.arn, request.action, request.resource_arn
    )
}

fn statement_applies(s: &Value, principal: Principal<'_>, request: Request<'_>) -> bool {
    let action = format!("codeartifact:{}", request.action);
    let action_ok = match (s.get("Action"), s.get("NotAction")) {
        (Some(a), _) => {
            values(a).any(|p| glob(&p.to_ascii_lowercase(), &action.to_ascii_lowercase()))
        }
        (None, Some(na)) => {
            !values(na).any(|p| glob(&p.to_ascii_lowercase(), &action.to_ascii_lowercase()))
        }
        (None, None) => false,
    };
    let resource_ok = match (s.get("Resource"), s.get("NotResource")) {
        (Some(r), _) => values(r).any(|p| arn_glob(p, request.resource_arn)),
        (None, Some(nr)) => !values(nr).any(|p| arn_glob(p, request.resource_arn)),
        // Omitted in a resource policy: the resource the policy is attached to.
        (None, None) => true,
    };
    let principal_ok = match (s.get("Principal"), s.get("NotPrincipal")) {
        (Some(p), _) => principal_matches(p, principal),
        (None, Some(np)) => !principal_matches(np, principal),
        (None, None) => false,
    };
    action_ok
        && resource_ok
        && principal_ok
        && conditions_hold(s.get("Condition"), principal, request)
}

/// A string or a list of strings, as IAM allows for most elements.
fn values(v: &Value) -> Box<dyn Iterator<Item = &str> + '_> {
    match v {
        Value::String(s) => Box::new(std::iter::once(s.as_str())),
        Value::Array(list) => Box::new(list.iter().filter_map(Value::as_str)),
        _ => Box::new(std::iter::empty()),
    }
}

fn principal_matches(p: &Value, principal: Principal<'_>) -> bool {
    let aws = match p {
        Value::String(s) => return s == "*",
        Value::Object(map) => match map.get("AWS") {
            Some(aws) => aws,
            None => return false,
        },
        _ => return false,
    };
    values(aws).any(|entry| {
        entry == "*"
            || entry == principal.account
            || entry == format!("arn:aws:iam::{}:root", principal.account)
            || entry == principal.arn
            || role_session_matches(entry, principal.arn)
    })
}

/// A role ARN matches its sessions: `arn:aws:iam::A:role/path/name` covers
/// `arn:aws:sts::A:assumed-role/name/*`.
fn role_session_matches(entry: &str, caller: &str) -> bool {
    let Some((prefix, role_path)) = entry.split_once(":role/") else {
        return false;
    };
    let Some(account) = prefix.strip_prefix("arn:aws:iam::") else {
        return false;
    };
    let role_name = role_path.rsplit('/').next().unwrap_or(role_path);
    caller
        .strip_prefix(&format!("arn:aws:sts::{account}:assumed-role/{role_name}/"))
        .is_some()
}

/// Case-sensitive ARN glob: in the first five fields wildcards do not cross `:`; in the
/// resource field `*` matches anything.
fn arn_glob(pattern: &str, arn: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let a: Vec<&str> = arn.splitn(6, ':').collect();
    p.len() == 6 && a.len() == 6 && p.iter().zip(&a).all(|(p, a)| glob(p, a))
}

/// `*` matches any run of characters, `?` any one character.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The condition keys this emulator knows about the request.
fn context_value(key: &str, principal: Principal<'_>, request: Request<'_>) -> Option<String> {
    match key.to_ascii_lowercase().as_str() {
        "aws:principalaccount" => Some(principal.account.to_string()),
        "aws:principalarn" => Some(principal.arn.to_string()),
        "aws:resourceaccount" => Some(request.resource_account.to_string()),
        "aws:requestedregion" => Some(request.region.to_string()),
        "aws:principaltype" => Some(
            if principal.arn.contains(":assumed-role/") {
                "AssumedRole"
            } else {
                "User"
            }
            .to_string(),
        ),
        "aws:username" => principal
            .arn
            .split_once(":user/")
            .map(|(_, name)| name.rsplit('/').next().unwrap_or(name).to_string()),
        _ => None,
    }
}

/// All condition blocks must hold. Operators outside the supported set never hold, so an
/// unsupported condition can only make an Allow narrower or a Deny not apply.
fn conditions_hold(
    condition: Option<&Value>,
    principal: Principal<'_>,
    request: Request<'_>,
) -> bool {
    let Some(Value::Object(operators)) = condition else {
        return condition.is_none();
    };
    operators.iter().all(|(operator, keys)| {
        let Value::Object(keys) = keys else {
            return false;
        };
        let (base, if_exists) = match operator.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (operator.as_str(), false),
        };
        keys.iter().all(|(key, expected)| {
            let actual = context_value(key, principal, request);
            if base == "Null" {
                let want_null = values(expected).any(|v| v == "true");
                return actual.is_none() == want_null;
            }
            let Some(actual) = actual else {
                return if_exists;
            };
            let mut expected = values(expected);
            match base {
                "StringEquals" | "ArnEquals" => expected.any(|e| e == actual),
                "StringNotEquals" | "ArnNotEquals" => expected.all(|e| e != actual),
                "StringEqualsIgnoreCase" => expected.any(|e| e.eq_ignore_ascii_case(&actual)),
                "StringNotEqualsIgnoreCase" => expected.all(|e| !e.eq_ignore_ascii_case(&actual)),
                "StringLike" | "ArnLike" => expected.any(|e| glob(e, &actual)),
                "StringNotLike" | "ArnNotLike" => expected.all(|e| !glob(e, &actual)),
                _ => false,
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER: &str = "111122223333";
    const DOMAIN: &str = "arn:aws:codeartifact:us-east-1:111122223333:domain/acme";
    const BOB: Principal<'static> = Principal {
        account: "444455556666",
        arn: "arn:aws:iam::444455556666:user/bob",
    };
    const ALICE: Principal<'static> = Principal {
        account: OWNER,
        arn: "arn:aws:iam::111122223333:user/alice",
    };

    fn req(action: &'static str) -> Request<'static> {
        Request {
            action,
            resource_arn: DOMAIN,
            resource_account: OWNER,
            region: "us-east-1",
        }
    }

    #[test]
    fn same_account_is_allowed_without_a_policy_and_others_are_not() {
        assert_eq!(decide(ALICE, req("DescribeDomain"), None), Decision::Allow);
        assert_eq!(
            decide(BOB, req("DescribeDomain"), None),
            Decision::NoResourceAllow
        );
    }

    #[test]
    fn a_domain_policy_grants_another_account() {
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
            "Principal":{"AWS":"arn:aws:iam::444455556666:root"},
            "Action":["codeartifact:GetAuthorizationToken","codeartifact:Describe*"],"Resource":"*"}]}"#;
        assert_eq!(
            decide(BOB, req("GetAuthorizationToken"), Some(policy)),
            Decision::Allow
        );
        assert_eq!(
            decide(BOB, req("describedomain"), Some(policy)),
            Decision::Allow
        );
        assert_eq!(
            decide(BOB, req("DeleteDomain"), Some(policy)),
            Decision::NoResourceAllow
        );
    }

    #[test]
    fn explicit_deny_wins_even_for_the_owner() {
        let policy = r#"{"Statement":[{"Effect":"Deny","Principal":"*",
            "Action":"codeartifact:DeleteDomain","Resource":"*",
            "Condition":{"StringNotEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/admin"}}}]}"#;
        assert_eq!(
            decide(ALICE, req("DeleteDomain"), Some(policy)),
            Decision::ExplicitDeny
        );
        let admin = Principal {
            account: OWNER,
            arn: "arn:aws:iam::111122223333:role/admin",
        };
        assert_eq!(
            decide(admin, req("DeleteDomain"), Some(policy)),
            Decision::Allow
        );
    }

    #[test]
    fn resources_and_roles_match_like_iam() {
        assert!(arn_glob(
            "arn:aws:codeartifact:*:111122223333:domain/*",
            DOMAIN
        ));
        assert!(!arn_glob(
            "arn:aws:codeartifact:*:999999999999:domain/*",
            DOMAIN
        ));
        assert!(role_session_matches(
            "arn:aws:iam::444455556666:role/ci/Builder",
            "arn:aws:sts::444455556666:assumed-role/Builder/session-1"
        ));
        assert!(glob(
            "codeartifact:get*",
            "codeartifact:getauthorizationtoken"
        ));
        assert!(!glob(
            "codeartifact:get*",
            "codeartifact:readfromrepository"
        ));
    }
}
