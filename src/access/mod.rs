//! Access decisions, made the way IAM makes them for CodeArtifact: which actions each
//! operation and repository-endpoint route needs and on which resource ([`table`]), the
//! policy documents ([`policy`]), and the evaluation ([`decide`]): an explicit `Deny` in any
//! applicable policy wins; a caller of the resource's own account needs an `Allow` from its
//! identity policies or from a resource policy; a caller of another account needs both.
//! An identity without policies is trusted as if its identity policies allowed everything
//! (the emulator's default `resource` enforcement mode), so only resource policies and
//! account boundaries decide for it.
//!
//! This module only decides; it neither reads storage nor renders errors. Callers gather
//! the policies (domain, then repository; the caller's identity policies) and the facts
//! condition keys read.

pub mod policy;
pub mod table;

pub use policy::{Kind, Policy, PolicyError, ACTIONS};

use policy::{split_arn, Condition, Effect, Op, Patterns, PrincipalEntry, Quantifier, Statement};
use std::cell::OnceCell;
use std::net::IpAddr;

/// Who asks, for matching `Principal` and the `aws:Principal*` condition keys.
#[derive(Debug, Clone, Copy)]
pub struct Principal<'a> {
    pub account: &'a str,
    pub arn: &'a str,
    /// `aws:PrincipalOrgID`, when the identity is configured with one.
    pub org_id: Option<&'a str>,
}

/// The facts about a request that condition keys read, other than the resource's.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub principal: Principal<'a>,
    pub region: &'a str,
    pub now_ms: i64,
    pub source_ip: Option<IpAddr>,
    /// Tags the request sets (`aws:RequestTag/…`, `aws:TagKeys`), for the operations that
    /// carry them.
    pub request_tags: Option<&'a [(String, String)]>,
    /// Keys `aws:TagKeys` lists when the request names keys without values (UntagResource).
    pub tag_keys: Option<&'a [String]>,
    /// Further keys, lower case (`sts:durationseconds`, `sts:awsservicename`).
    pub extra: &'a [(&'a str, String)],
}

/// What is asked about: the ARNs a statement's `Resource` is matched against (one, or two
/// when an action is authorized on either of two ARNs), the account that owns it, and its
/// tags, read only if a condition asks for them.
pub struct Resource<'a> {
    pub arns: &'a [String],
    pub account: &'a str,
    pub tags: &'a dyn Fn() -> Vec<(String, String)>,
}

/// The caller's side of the decision.
#[derive(Debug, Clone, Copy)]
pub enum Identity<'a> {
    /// No identity policies configured: treated as allowing everything.
    Trusted,
    /// The identity's policies, as IAM evaluates them.
    Policies(&'a [Policy]),
}

/// The outcome, with the reason AWS puts in its message when access is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// A `Deny` statement applies; `identity` says whether it was in an identity policy.
    ExplicitDeny {
        identity: bool,
    },
    /// No identity policy allows it (same account with no resource grant either, or
    /// another account).
    NoIdentityAllow,
    /// Another account, allowed by its identity but by no resource policy.
    NoResourceAllow,
}

/// Decides `action` (`codeartifact:X`, `sts:Y`) on `resource` for the principal of `cx`,
/// under its identity and the resource policies that apply (for a repository or a package,
/// the domain's and the repository's).
pub fn decide(
    cx: &Context<'_>,
    action: &str,
    resource: &Resource<'_>,
    identity: Identity<'_>,
    resource_policies: &[&Policy],
) -> Decision {
    let action = action.to_ascii_lowercase();
    let tags = OnceCell::new();
    let arns: Vec<Option<[&str; 6]>> = resource.arns.iter().map(|a| split_arn(a)).collect();
    let facts = Facts {
        cx,
        resource,
        arns: &arns,
        tags: &tags,
    };
    let mut id_allow = false;
    if let Identity::Policies(policies) = identity {
        for s in policies.iter().flat_map(|p| &p.statements) {
            if facts.applies(s, &action) {
                match s.effect {
                    Effect::Deny => return Decision::ExplicitDeny { identity: true },
                    Effect::Allow => id_allow = true,
                }
            }
        }
    } else {
        id_allow = true;
    }
    let mut res_allow = false;
    for s in resource_policies.iter().flat_map(|p| &p.statements) {
        if facts.applies(s, &action) {
            match s.effect {
                Effect::Deny => return Decision::ExplicitDeny { identity: false },
                Effect::Allow => res_allow = true,
            }
        }
    }
    let same_account = cx.principal.account == resource.account;
    match (same_account, id_allow, res_allow) {
        (true, true, _) | (true, _, true) | (false, true, true) => Decision::Allow,
        (false, true, false) => Decision::NoResourceAllow,
        _ => Decision::NoIdentityAllow,
    }
}

/// The message AWS gives for a refusal.
pub fn denial_message(
    principal_arn: &str,
    action: &str,
    resource_arn: &str,
    d: Decision,
) -> String {
    let why = match d {
        Decision::ExplicitDeny { identity: true } => {
            "with an explicit deny in an identity-based policy".to_string()
        }
        Decision::ExplicitDeny { identity: false } => {
            "with an explicit deny in a resource-based policy".to_string()
        }
        Decision::NoResourceAllow => {
            format!("because no resource-based policy allows the {action} action")
        }
        Decision::NoIdentityAllow | Decision::Allow => {
            format!("because no identity-based policy allows the {action} action")
        }
    };
    format!("User: {principal_arn} is not authorized to perform: {action} on resource: {resource_arn} {why}")
}

/// The request as condition keys and statements see it.
struct Facts<'a> {
    cx: &'a Context<'a>,
    resource: &'a Resource<'a>,
    /// The resource's ARNs, split once for every statement.
    arns: &'a [Option<[&'a str; 6]>],
    tags: &'a OnceCell<Vec<(String, String)>>,
}

impl Facts<'_> {
    fn applies(&self, s: &Statement, action: &str) -> bool {
        matches_list(&s.action, |p| p.matches(action))
            && s.principal
                .as_ref()
                .is_none_or(|p| matches_list(p, |e| self.principal_is(e)))
            && s.resource.as_ref().is_none_or(|r| {
                matches_list(r, |p| self.arns.iter().any(|arn| p.matches(arn.as_ref())))
            })
            && s.conditions.iter().all(|c| self.holds(c))
    }

    fn principal_is(&self, entry: &PrincipalEntry) -> bool {
        let me = self.cx.principal;
        match entry {
            PrincipalEntry::Everyone => true,
            PrincipalEntry::Account(account) => account == me.account,
            PrincipalEntry::Arn { arn, sessions } => {
                arn == me.arn
                    || sessions
                        .as_ref()
                        .is_some_and(|p| me.arn.starts_with(p.as_str()))
            }
            PrincipalEntry::NonAws => false,
        }
    }

    /// The values of a context key; `None` when the request has no such key.
    fn value(&self, key: &str) -> Option<Vec<String>> {
        let cx = self.cx;
        let me = cx.principal;
        let one = |s: &str| Some(vec![s.to_string()]);
        if let Some(tag) = key.strip_prefix("aws:resourcetag/") {
            let tags = self.tags.get_or_init(|| (self.resource.tags)());
            return lookup(tags, tag);
        }
        if let Some(tag) = key.strip_prefix("aws:requesttag/") {
            return lookup(cx.request_tags?, tag);
        }
        match key {
            "aws:principalaccount" => one(me.account),
            "aws:principalarn" => one(me.arn),
            "aws:principalorgid" => me.org_id.and_then(one),
            "aws:principaltype" => one(if me.arn.ends_with(":root") {
                "Account"
            } else if me.arn.contains(":assumed-role/") {
                "AssumedRole"
            } else {
                "User"
            }),
            "aws:username" => me
                .arn
                .split_once(":user/")
                .map(|(_, name)| vec![name.rsplit('/').next().unwrap_or(name).to_string()]),
            "aws:resourceaccount" => one(self.resource.account),
            "aws:requestedregion" => one(cx.region),
            "aws:securetransport" => one("false"),
            "aws:sourceip" => cx.source_ip.map(|ip| vec![ip.to_string()]),
            "aws:epochtime" => Some(vec![cx.now_ms.div_euclid(1000).to_string()]),
            "aws:currenttime" => chrono::DateTime::from_timestamp_millis(cx.now_ms)
                .map(|t| vec![t.format("%Y-%m-%dT%H:%M:%SZ").to_string()]),
            "aws:tagkeys" => match (cx.request_tags, cx.tag_keys) {
                (_, Some(keys)) => Some(keys.to_vec()),
                (Some(tags), None) => Some(tags.iter().map(|(k, _)| k.clone()).collect()),
                (None, None) => None,
            },
            _ => cx
                .extra
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| vec![v.clone()]),
        }
    }

    fn holds(&self, c: &Condition) -> bool {
        let actual = self.value(&c.key);
        if c.op == Op::Null {
            let want_absent = c.values.iter().any(|v| v.eq_ignore_ascii_case("true"));
            return actual.is_none() == want_absent;
        }
        let actual = actual.filter(|values| !values.is_empty());
        match (c.quantifier, actual) {
            (Quantifier::ForAllValues, None) => true,
            (Quantifier::ForAnyValue, None) => false,
            // A missing key: IfExists holds, negated operators hold, the rest do not.
            (Quantifier::Single, None) => c.if_exists || c.op.negated(),
            (Quantifier::ForAllValues, Some(values)) => values.iter().all(|v| compare(c, v)),
            (Quantifier::ForAnyValue | Quantifier::Single, Some(values)) => {
                values.iter().any(|v| compare(c, v))
            }
        }
    }
}

/// Tag keys compare without regard to case, as IAM compares condition keys.
fn lookup(tags: &[(String, String)], key: &str) -> Option<Vec<String>> {
    tags.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| vec![v.clone()])
}

/// Whether a pattern list (or its `Not…` complement) matches.
fn matches_list<T>(p: &Patterns<T>, is: impl Fn(&T) -> bool) -> bool {
    p.items.iter().any(is) != p.not
}

/// One context value against a condition: any of the policy's values matches, or, for a
/// negated operator, none does.
fn compare(c: &Condition, actual: &str) -> bool {
    use Op::*;
    let hit = |e: &String| -> bool {
        match c.op {
            StringEquals | StringNotEquals | ArnEquals | ArnNotEquals => e == actual,
            StringEqualsIgnoreCase | StringNotEqualsIgnoreCase => e.eq_ignore_ascii_case(actual),
            StringLike | StringNotLike => glob(e, actual),
            ArnLike | ArnNotLike => arn_glob(e, actual),
            NumericEquals | NumericNotEquals => num(e, actual, |a, b| a == b),
            NumericLessThan => num(e, actual, |a, b| a < b),
            NumericLessThanEquals => num(e, actual, |a, b| a <= b),
            NumericGreaterThan => num(e, actual, |a, b| a > b),
            NumericGreaterThanEquals => num(e, actual, |a, b| a >= b),
            DateEquals | DateNotEquals => date(e, actual, |a, b| a == b),
            DateLessThan => date(e, actual, |a, b| a < b),
            DateLessThanEquals => date(e, actual, |a, b| a <= b),
            DateGreaterThan => date(e, actual, |a, b| a > b),
            DateGreaterThanEquals => date(e, actual, |a, b| a >= b),
            Bool => e.eq_ignore_ascii_case(actual),
            IpAddress | NotIpAddress => cidr_contains(e, actual),
            Null => false,
        }
    };
    if c.op.negated() {
        !c.values.iter().any(hit)
    } else {
        c.values.iter().any(hit)
    }
}

/// `actual <op> policy value`, numerically; an unparsable side never matches.
fn num(expected: &str, actual: &str, op: impl Fn(f64, f64) -> bool) -> bool {
    match (actual.parse::<f64>(), expected.parse::<f64>()) {
        (Ok(a), Ok(e)) => op(a, e),
        _ => false,
    }
}

/// A date as IAM accepts it: ISO 8601 (date or date-time) or epoch seconds; in ms.
fn epoch_ms(s: &str) -> Option<i64> {
    if let Ok(seconds) = s.parse::<i64>() {
        return Some(seconds * 1000);
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
}

fn date(expected: &str, actual: &str, op: impl Fn(i64, i64) -> bool) -> bool {
    match (epoch_ms(actual), epoch_ms(expected)) {
        (Some(a), Some(e)) => op(a, e),
        _ => false,
    }
}

/// Whether `ip` lies in `cidr` (`10.0.0.0/8`, `::1/128`, or a bare address).
fn cidr_contains(cidr: &str, ip: &str) -> bool {
    let (net, bits) = match cidr.split_once('/') {
        Some((net, bits)) => (net, bits.parse::<u32>().ok()),
        None => (cidr, None),
    };
    match (net.parse::<IpAddr>(), ip.parse::<IpAddr>()) {
        (Ok(IpAddr::V4(n)), Ok(IpAddr::V4(a))) => {
            let bits = bits.unwrap_or(32).min(32);
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(n) & mask == u32::from(a) & mask
        }
        (Ok(IpAddr::V6(n)), Ok(IpAddr::V6(a))) => {
            let bits = bits.unwrap_or(128).min(128);
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

/// Case-sensitive ARN glob: in the first five fields wildcards do not cross `:`; in the
/// resource field `*` matches anything.
fn arn_glob(pattern: &str, arn: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let mut p = pattern.splitn(6, ':');
    let mut a = arn.splitn(6, ':');
    for _ in 0..6 {
        match (p.next(), a.next()) {
            (Some(p), Some(a)) if glob(p, a) => {}
            _ => return false,
        }
    }
    true
}

/// `*` matches any run of characters, `?` any one character.
fn glob(pattern: &str, text: &str) -> bool {
    if !pattern.contains(['*', '?']) {
        return pattern == text;
    }
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
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
    p[pi..].iter().all(|c| *c == b'*')
}

#[cfg(test)]
mod tests;
