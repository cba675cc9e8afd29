//! The one place an access decision is assembled: for each requirement of a row of the
//! authorization table (`access::table`), it resolves the resource the row names into its
//! ARN, its account and the resource policies that govern it (the domain policy, and for a
//! repository or a package the repository policy too), reads tags only when a condition asks,
//! and lets `access::decide` judge under the caller's identity policies. The control plane
//! (`api::Cx::authorize`) and the repository endpoints (`endpoints::RepoCx`) both call
//! [`authorize`]; neither decides anything itself.

use crate::access::table::{Need, On, When};
use crate::access::{self, Context, Decision, Identity, Policy, Principal};
use crate::auth::Identities;
use crate::registry::{self, Arn, DomainId, PackageId, PolicyTarget, Registry, ResourceRef};
use std::net::IpAddr;
use std::sync::Arc;

/// Who asks, and the request facts condition keys read.
#[derive(Debug, Clone, Copy)]
pub struct Asker<'a> {
    pub principal: Principal<'a>,
    pub identity: Identity<'a>,
    /// The region of the request (`aws:RequestedRegion`).
    pub region: &'a str,
    pub now_ms: i64,
    pub source_ip: Option<IpAddr>,
}

impl<'a> Asker<'a> {
    /// A configured principal of `account` asking in `region`: its organization and identity
    /// policies come from the configured identities (none configured: trusted, no
    /// organization). The control plane, the repository endpoints and the console all ask so.
    pub fn configured(
        identities: &'a Identities,
        account: &'a str,
        arn: &'a str,
        region: &'a str,
        now_ms: i64,
    ) -> Asker<'a> {
        let grants = identities.grants(arn);
        Asker {
            principal: Principal {
                account,
                arn,
                org_id: grants.and_then(|g| g.organization_id.as_deref()),
            },
            identity: match grants.and_then(|g| g.policies.as_deref()) {
                Some(policies) => Identity::Policies(policies),
                None => Identity::Trusted,
            },
            region,
            now_ms,
            source_ip: None,
        }
    }
}

/// What a request is about: as much as the table's rows need to name their resources.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub domain: DomainId<'a>,
    pub repository: Option<&'a str>,
    pub package: Option<&'a PackageId>,
    pub group: Option<&'a str>,
    /// The ARN a tagging request names.
    pub arn: Option<&'a str>,
    /// CopyPackageVersions' source repository (`repository` is the destination).
    pub source: Option<&'a str>,
    pub upstreams: &'a [String],
    /// Tags the request sets (`aws:RequestTag/…`), if it sets any.
    pub tags: Option<&'a [(String, String)]>,
    /// Tag keys the request removes (UntagResource's `aws:TagKeys`).
    pub tag_keys: Option<&'a [String]>,
    /// Further condition keys, lower case (`sts:durationseconds`).
    pub extra: &'a [(&'a str, String)],
}

impl<'a> Subject<'a> {
    /// A subject in domain `d` naming nothing else yet.
    pub fn domain(d: DomainId<'a>) -> Subject<'a> {
        Subject {
            domain: d,
            repository: None,
            package: None,
            group: None,
            arn: None,
            source: None,
            upstreams: &[],
            tags: None,
            tag_keys: None,
            extra: &[],
        }
    }

    pub fn repository(d: DomainId<'a>, repository: &'a str) -> Subject<'a> {
        Subject {
            repository: Some(repository),
            ..Subject::domain(d)
        }
    }

    pub fn package(d: DomainId<'a>, repository: &'a str, package: &'a PackageId) -> Subject<'a> {
        Subject {
            package: Some(package),
            ..Subject::repository(d, repository)
        }
    }

    pub fn group(d: DomainId<'a>, pattern: &'a str) -> Subject<'a> {
        Subject {
            group: Some(pattern),
            ..Subject::domain(d)
        }
    }
}

/// Why a request may not proceed.
#[derive(Debug)]
pub enum Refusal {
    /// AccessDeniedException, with the service's message.
    Denied(String),
    /// Reading the policies or the repository failed.
    Registry(registry::Error),
}

impl From<registry::Error> for Refusal {
    fn from(e: registry::Error) -> Self {
        Refusal::Registry(e)
    }
}

/// A resolved resource: what statements are matched against and who owns it.
struct Target {
    arns: Vec<String>,
    /// The ARN a refusal names.
    shown: String,
    account: String,
    /// The ARN whose tags `aws:ResourceTag` reads (packages have none).
    tagged: Option<String>,
    policies: Vec<Arc<Policy>>,
}

/// Decides every requirement of `needs` for `subject`, in order; the first refusal wins.
pub fn authorize(
    registry: &Registry,
    asker: &Asker<'_>,
    needs: &[Need],
    subject: &Subject<'_>,
) -> Result<(), Refusal> {
    for need in needs {
        let applies = match need.when {
            When::Always => true,
            When::TagsGiven => subject.tags.is_some_and(|t| !t.is_empty()),
            When::UpstreamsGiven => !subject.upstreams.is_empty(),
        };
        if !applies {
            continue;
        }
        for target in targets(registry, asker, need, subject)? {
            check(registry, asker, need.action, &target, subject)?;
        }
    }
    Ok(())
}

fn check(
    registry: &Registry,
    asker: &Asker<'_>,
    action: &str,
    target: &Target,
    subject: &Subject<'_>,
) -> Result<(), Refusal> {
    let cx = Context {
        principal: asker.principal,
        region: asker.region,
        now_ms: asker.now_ms,
        source_ip: asker.source_ip,
        request_tags: subject.tags,
        tag_keys: subject.tag_keys,
        extra: subject.extra,
    };
    let read_tags = || match &target.tagged {
        Some(arn) => registry.tags(arn).unwrap_or_default(),
        None => Vec::new(),
    };
    let resource = access::Resource {
        arns: &target.arns,
        account: &target.account,
        tags: &read_tags,
    };
    let policies: Vec<&Policy> = target.policies.iter().map(Arc::as_ref).collect();
    match access::decide(&cx, action, &resource, asker.identity, &policies) {
        Decision::Allow => Ok(()),
        decision => Err(Refusal::Denied(access::denial_message(
            asker.principal.arn,
            action,
            &target.shown,
            decision,
        ))),
    }
}

/// The resources a requirement names for this subject (several for each upstream; none
/// when the subject lacks what the row needs, which the handler then reports).
fn targets(
    registry: &Registry,
    asker: &Asker<'_>,
    need: &Need,
    s: &Subject<'_>,
) -> Result<Vec<Target>, Refusal> {
    let consult = need.consult_resource_policy;
    let d = s.domain;
    let one = |t: Option<Target>| Ok(t.into_iter().collect());
    match need.on {
        On::Account | On::Bearer => one(Some(Target {
            arns: vec!["*".to_string()],
            shown: "*".to_string(),
            account: asker.principal.account.to_string(),
            tagged: None,
            policies: Vec::new(),
        })),
        On::Domain => one(Some(domain(registry, d, consult)?)),
        On::Repository => match s.repository {
            Some(r) => one(Some(repository(registry, d, r, consult)?)),
            None => one(None),
        },
        On::SourceRepository => match s.source {
            Some(r) => one(Some(repository(registry, d, r, consult)?)),
            None => one(None),
        },
        On::Upstream => s
            .upstreams
            .iter()
            .map(|u| repository(registry, d, u, consult))
            .collect(),
        On::Package | On::Destination => {
            let (Some(r), Some(p)) = (s.repository, s.package) else {
                return one(None);
            };
            let mut target = repository(registry, d, r, consult)?;
            let package = Arn::package(d, r, &p.format, p.namespace.as_deref(), &p.name);
            if need.on == On::Package {
                target.arns = vec![package.clone()];
                target.shown = package;
                target.tagged = None;
            } else {
                target.arns.push(package);
            }
            one(Some(target))
        }
        On::PackageGroup => match s.group {
            Some(pattern) => one(Some(group(
                registry,
                d,
                Arn::package_group(d, pattern),
                consult,
            )?)),
            None => one(None),
        },
        On::TaggedResource => {
            // A malformed ARN is reported by the registry with the service's message.
            let Some(r) = s.arn.and_then(ResourceRef::parse) else {
                return one(None);
            };
            let (ResourceRef::Domain {
                region,
                owner,
                domain: name,
            }
            | ResourceRef::Repository {
                region,
                owner,
                domain: name,
                ..
            }
            | ResourceRef::PackageGroup {
                region,
                owner,
                domain: name,
                ..
            }) = &r;
            let d = DomainId {
                region,
                owner,
                name,
            };
            let target = match &r {
                ResourceRef::Domain { .. } => domain(registry, d, consult)?,
                ResourceRef::Repository { repository: r, .. } => {
                    repository(registry, d, r, consult)?
                }
                ResourceRef::PackageGroup { .. } => {
                    let arn = s.arn.unwrap_or_default().to_string();
                    group(registry, d, arn, consult)?
                }
            };
            one(Some(target))
        }
    }
}

fn domain(registry: &Registry, d: DomainId<'_>, consult: bool) -> Result<Target, Refusal> {
    let arn = Arn::domain(d);
    let policies = if consult {
        registry.resource_policies(PolicyTarget::Domain(d))?
    } else {
        Vec::new()
    };
    Ok(Target {
        arns: vec![arn.clone()],
        shown: arn.clone(),
        account: d.owner.to_string(),
        tagged: Some(arn),
        policies,
    })
}

/// A package group belongs to the domain and is governed by the domain policy.
fn group(
    registry: &Registry,
    d: DomainId<'_>,
    arn: String,
    consult: bool,
) -> Result<Target, Refusal> {
    let mut target = domain(registry, d, consult)?;
    target.arns = vec![arn.clone()];
    target.shown.clone_from(&arn);
    target.tagged = Some(arn);
    Ok(target)
}

/// A repository belongs to its administrator's account; one that does not exist (yet) to
/// the domain owner's.
fn repository(
    registry: &Registry,
    d: DomainId<'_>,
    name: &str,
    consult: bool,
) -> Result<Target, Refusal> {
    let arn = Arn::repository(d, name);
    let account = match registry.repository(d, name) {
        Ok(record) => record.administrator_account,
        Err(_) => d.owner.to_string(),
    };
    let policies = if consult {
        registry.resource_policies(PolicyTarget::Repository(d, name))?
    } else {
        Vec::new()
    };
    Ok(Target {
        arns: vec![arn.clone()],
        shown: arn.clone(),
        account,
        tagged: Some(arn),
        policies,
    })
}
