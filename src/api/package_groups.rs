//! Package groups: create, describe, update, delete, list, origin configuration, and the
//! association of packages with groups.

use super::domains::tags_of;
use super::packages::package_id;
use super::{pagination, ApiError, Cx, Subject};
use crate::registry::groups::{self, Association, Mode, RestrictionType};
use crate::registry::{Arn, DomainId, GroupSet, OriginUpdate};
use codeartifact_model::rt::Timestamp;
use codeartifact_model::*;
use std::collections::{BTreeMap, BTreeSet};

fn reference(d: DomainId<'_>, pattern: &str) -> PackageGroupReference {
    PackageGroupReference {
        arn: Some(Arn::package_group(d, pattern)),
        pattern: Some(pattern.to_string()),
    }
}

fn wire_type(t: RestrictionType) -> PackageGroupOriginRestrictionType {
    match t {
        RestrictionType::Publish => PackageGroupOriginRestrictionType::Publish,
        RestrictionType::ExternalUpstream => PackageGroupOriginRestrictionType::ExternalUpstream,
        RestrictionType::InternalUpstream => PackageGroupOriginRestrictionType::InternalUpstream,
    }
}

fn restriction_type(t: PackageGroupOriginRestrictionType) -> RestrictionType {
    match t {
        PackageGroupOriginRestrictionType::Publish => RestrictionType::Publish,
        PackageGroupOriginRestrictionType::ExternalUpstream => RestrictionType::ExternalUpstream,
        PackageGroupOriginRestrictionType::InternalUpstream => RestrictionType::InternalUpstream,
    }
}

fn wire_mode(m: Mode) -> PackageGroupOriginRestrictionMode {
    match m {
        Mode::Allow => PackageGroupOriginRestrictionMode::Allow,
        Mode::Block => PackageGroupOriginRestrictionMode::Block,
        Mode::AllowSpecificRepositories => {
            PackageGroupOriginRestrictionMode::AllowSpecificRepositories
        }
        Mode::Inherit => PackageGroupOriginRestrictionMode::Inherit,
    }
}

fn mode(m: PackageGroupOriginRestrictionMode) -> Mode {
    match m {
        PackageGroupOriginRestrictionMode::Allow => Mode::Allow,
        PackageGroupOriginRestrictionMode::Block => Mode::Block,
        PackageGroupOriginRestrictionMode::AllowSpecificRepositories => {
            Mode::AllowSpecificRepositories
        }
        PackageGroupOriginRestrictionMode::Inherit => Mode::Inherit,
    }
}

/// The full description of group `index` in `set`: effective modes, inheritance, parent.
fn description(d: DomainId<'_>, set: &GroupSet, index: usize) -> PackageGroupDescription {
    let views = set.views();
    let view = &views[index];
    let record = &set.records[index];
    let mut restrictions = BTreeMap::new();
    for t in RestrictionType::ALL {
        let effective = groups::effective_mode(&views, view, t);
        restrictions.insert(
            wire_type(t),
            PackageGroupOriginRestriction {
                mode: Some(wire_mode(view.mode(t))),
                effective_mode: Some(wire_mode(effective.mode)),
                inherited_from: effective.inherited_from.map(|p| reference(d, p.as_str())),
                repositories_count: Some(i64::try_from(view.allowed(t).len()).unwrap_or(i64::MAX)),
            },
        );
    }
    let parent =
        groups::parent(&set.patterns, &set.patterns[index]).map(|p| reference(d, p.as_str()));
    PackageGroupDescription {
        arn: Some(Arn::package_group(d, &record.pattern)),
        pattern: Some(record.pattern.clone()),
        domain_name: Some(d.name.to_string()),
        domain_owner: Some(d.owner.to_string()),
        created_time: Some(Timestamp::from_millis(record.created_ms)),
        contact_info: record.contact_info.clone(),
        description: record.description.clone(),
        origin_configuration: Some(PackageGroupOriginConfiguration {
            restrictions: Some(restrictions),
        }),
        parent,
    }
}

fn summary(d: DomainId<'_>, set: &GroupSet, index: usize) -> PackageGroupSummary {
    let full = description(d, set, index);
    PackageGroupSummary {
        arn: full.arn,
        pattern: full.pattern,
        domain_name: full.domain_name,
        domain_owner: full.domain_owner,
        created_time: full.created_time,
        contact_info: full.contact_info,
        description: full.description,
        origin_configuration: full.origin_configuration,
        parent: full.parent,
    }
}

/// The domain's groups, with the one named by `pattern` (404 when it does not exist).
fn find(cx: &Cx<'_>, d: DomainId<'_>, pattern: &str) -> Result<(GroupSet, usize), ApiError> {
    cx.app.registry.package_group(d, pattern)?;
    let set = cx.app.registry.group_set(d)?;
    let index = set
        .index_of(pattern)
        .ok_or_else(|| ApiError::Internal(format!("group {pattern} vanished")))?;
    Ok((set, index))
}

pub fn create_package_group(
    cx: &Cx<'_>,
    input: CreatePackageGroupRequest,
) -> Result<CreatePackageGroupResult, ApiError> {
    let d = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    let tags = tags_of(input.tags);
    let subject = Subject {
        tags: Some(&tags),
        ..Subject::group(d, &input.package_group)
    };
    cx.authorize(Operation::CreatePackageGroup, &subject)?;
    cx.app.registry.create_package_group(
        d,
        &input.package_group,
        input.contact_info.as_deref(),
        input.description.as_deref(),
        &tags,
    )?;
    let (set, index) = find(cx, d, &input.package_group)?;
    Ok(CreatePackageGroupResult {
        package_group: Some(description(d, &set, index)),
    })
}

pub fn describe_package_group(
    cx: &Cx<'_>,
    input: DescribePackageGroupRequest,
) -> Result<DescribePackageGroupResult, ApiError> {
    let d = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    cx.authorize(
        Operation::DescribePackageGroup,
        &Subject::group(d, &input.package_group),
    )?;
    let (set, index) = find(cx, d, &input.package_group)?;
    Ok(DescribePackageGroupResult {
        package_group: Some(description(d, &set, index)),
    })
}

pub fn update_package_group(
    cx: &Cx<'_>,
    input: UpdatePackageGroupRequest,
) -> Result<UpdatePackageGroupResult, ApiError> {
    let d = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    cx.authorize(
        Operation::UpdatePackageGroup,
        &Subject::group(d, &input.package_group),
    )?;
    cx.app.registry.update_package_group(
        d,
        &input.package_group,
        input.contact_info.as_deref(),
        input.description.as_deref(),
    )?;
    let (set, index) = find(cx, d, &input.package_group)?;
    Ok(UpdatePackageGroupResult {
        package_group: Some(description(d, &set, index)),
    })
}

pub fn delete_package_group(
    cx: &Cx<'_>,
    input: DeletePackageGroupRequest,
) -> Result<DeletePackageGroupResult, ApiError> {
    let d = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    cx.authorize(
        Operation::DeletePackageGroup,
        &Subject::group(d, &input.package_group),
    )?;
    // Described before deletion: the response reports the group as it was.
    let (set, index) = find(cx, d, &input.package_group)?;
    let before = description(d, &set, index);
    cx.app
        .registry
        .delete_package_group(d, &input.package_group)?;
    Ok(DeletePackageGroupResult {
        package_group: Some(before),
    })
}

pub fn update_package_group_origin_configuration(
    cx: &Cx<'_>,
    input: UpdatePackageGroupOriginConfigurationRequest,
) -> Result<UpdatePackageGroupOriginConfigurationResult, ApiError> {
    let d = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    cx.authorize(
        Operation::UpdatePackageGroupOriginConfiguration,
        &Subject::group(d, &input.package_group),
    )?;
    let list = |entries: Option<Vec<PackageGroupAllowedRepository>>| -> Result<Vec<(String, RestrictionType)>, ApiError> {
        entries
            .unwrap_or_default()
            .into_iter()
            .map(|e| match (e.repository_name, e.origin_restriction_type) {
                (Some(name), Some(t)) => Ok((name, restriction_type(t))),
                _ => Err(ApiError::invalid("Each allowed repository needs repositoryName and originRestrictionType")),
            })
            .collect()
    };
    let update = OriginUpdate {
        restrictions: input
            .restrictions
            .unwrap_or_default()
            .into_iter()
            .map(|(t, m)| (restriction_type(t), mode(m)))
            .collect(),
        add: list(input.add_allowed_repositories)?,
        remove: list(input.remove_allowed_repositories)?,
    };
    let (_, changes) = cx
        .app
        .registry
        .update_group_origin(d, &input.package_group, &update)?;
    let (set, index) = find(cx, d, &input.package_group)?;
    let updates = changes
        .into_iter()
        .map(|(t, (added, removed))| {
            let mut entry = BTreeMap::new();
            if !added.is_empty() {
                entry.insert(PackageGroupAllowedRepositoryUpdateType::Added, added);
            }
            if !removed.is_empty() {
                entry.insert(PackageGroupAllowedRepositoryUpdateType::Removed, removed);
            }
            (wire_type(t), entry)
        })
        .collect();
    Ok(UpdatePackageGroupOriginConfigurationResult {
        package_group: Some(description(d, &set, index)),
        allowed_repository_updates: Some(updates),
    })
}

pub fn list_package_groups(
    cx: &Cx<'_>,
    input: ListPackageGroupsRequest,
) -> Result<ListPackageGroupsResult, ApiError> {
    let d = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    cx.authorize(Operation::ListPackageGroups, &Subject::domain(d))?;
    cx.app.registry.domain(d)?;
    let after = pagination::decode::<ListPackageGroupsRequest>(input.next_token.as_deref())?;
    let set = cx.app.registry.group_set(d)?;
    let (groups, next_token) = group_page::<ListPackageGroupsRequest>(
        d,
        &set,
        |pattern| {
            input
                .prefix
                .as_deref()
                .is_none_or(|p| pattern.starts_with(p))
        },
        after.as_deref(),
        input.max_results,
    );
    Ok(ListPackageGroupsResult {
        package_groups: Some(groups),
        next_token,
    })
}

/// One page of the groups whose pattern `keep` accepts, in pattern order.
fn group_page<I: codeartifact_model::rt::OperationInput>(
    d: DomainId<'_>,
    set: &GroupSet,
    keep: impl Fn(&str) -> bool,
    after: Option<&str>,
    max_results: Option<i32>,
) -> (Vec<PackageGroupSummary>, Option<String>) {
    let mut items: Vec<(String, usize)> = set
        .records
        .iter()
        .enumerate()
        .filter(|(_, r)| keep(&r.pattern))
        .map(|(i, r)| (r.pattern.clone(), i))
        .collect();
    items.sort();
    let page = crate::registry::paginate(items, after, pagination::page_size(max_results));
    let groups = page.items.into_iter().map(|i| summary(d, set, i)).collect();
    (
        groups,
        page.next_after.as_deref().map(pagination::encode::<I>),
    )
}

pub fn list_sub_package_groups(
    cx: &Cx<'_>,
    input: ListSubPackageGroupsRequest,
) -> Result<ListSubPackageGroupsResult, ApiError> {
    let d = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    cx.authorize(
        Operation::ListSubPackageGroups,
        &Subject::group(d, &input.package_group),
    )?;
    let (set, index) = find(cx, d, &input.package_group)?;
    let after = pagination::decode::<ListSubPackageGroupsRequest>(input.next_token.as_deref())?;
    let children: BTreeSet<&str> = groups::children(&set.patterns, &set.patterns[index])
        .into_iter()
        .map(|p| p.as_str())
        .collect();
    let (groups, next_token) = group_page::<ListSubPackageGroupsRequest>(
        d,
        &set,
        |pattern| children.contains(pattern),
        after.as_deref(),
        input.max_results,
    );
    Ok(ListSubPackageGroupsResult {
        package_groups: Some(groups),
        next_token,
    })
}

pub fn list_allowed_repositories_for_group(
    cx: &Cx<'_>,
    input: ListAllowedRepositoriesForGroupRequest,
) -> Result<ListAllowedRepositoriesForGroupResult, ApiError> {
    let d = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    cx.authorize(
        Operation::ListAllowedRepositoriesForGroup,
        &Subject::group(d, &input.package_group),
    )?;
    let record = cx.app.registry.package_group(d, &input.package_group)?;
    let after =
        pagination::decode::<ListAllowedRepositoriesForGroupRequest>(input.next_token.as_deref())?;
    let t = restriction_type(input.origin_restriction_type);
    let mut names = record.allowed.get(t.as_str()).cloned().unwrap_or_default();
    names.sort();
    let items = names.into_iter().map(|n| (n.clone(), n)).collect();
    let page = crate::registry::paginate(
        items,
        after.as_deref(),
        pagination::page_size(input.max_results),
    );
    Ok(ListAllowedRepositoriesForGroupResult {
        allowed_repositories: Some(page.items),
        next_token: page
            .next_after
            .as_deref()
            .map(pagination::encode::<ListAllowedRepositoriesForGroupRequest>),
    })
}

fn wire_association(a: Association) -> PackageGroupAssociationType {
    match a {
        Association::Strong => PackageGroupAssociationType::Strong,
        Association::Weak => PackageGroupAssociationType::Weak,
    }
}

pub fn get_associated_package_group(
    cx: &Cx<'_>,
    input: GetAssociatedPackageGroupRequest,
) -> Result<GetAssociatedPackageGroupResult, ApiError> {
    let d = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    cx.app.registry.domain(d)?;
    let p = package_id(input.format, input.namespace, &input.package)?;
    let set = cx.app.registry.group_set(d)?;
    let Some((pattern, association)) =
        groups::associated(&set.patterns, &p.format, p.namespace.as_deref(), &p.name)
    else {
        return Err(ApiError::Internal(
            "the domain has no root package group".to_string(),
        ));
    };
    // Authorized on the group found, as the service reference names it.
    cx.authorize(
        Operation::GetAssociatedPackageGroup,
        &Subject::group(d, pattern.as_str()),
    )?;
    let index = set.index_of(pattern.as_str()).unwrap_or(0);
    Ok(GetAssociatedPackageGroupResult {
        package_group: Some(description(d, &set, index)),
        association_type: Some(wire_association(association)),
    })
}

pub fn list_associated_packages(
    cx: &Cx<'_>,
    input: ListAssociatedPackagesRequest,
) -> Result<ListAssociatedPackagesResult, ApiError> {
    let d = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    cx.authorize(
        Operation::ListAssociatedPackages,
        &Subject::group(d, &input.package_group),
    )?;
    cx.app.registry.domain(d)?;
    let preview = input.preview.unwrap_or(false);
    let set = cx.app.registry.group_set(d)?;
    let target = match set.index_of(&input.package_group) {
        Some(i) => set.patterns[i].clone(),
        None if preview => {
            groups::Pattern::parse(&input.package_group).map_err(ApiError::invalid)?
        }
        None => {
            cx.app.registry.package_group(d, &input.package_group)?;
            return Err(ApiError::Internal(
                "package group lookup disagreed".to_string(),
            ));
        }
    };
    let after = pagination::decode::<ListAssociatedPackagesRequest>(input.next_token.as_deref())?;
    let mut seen = BTreeSet::new();
    let mut items = Vec::new();
    for package in cx.app.registry.packages_in_domain(d)? {
        let key = format!(
            "{}\u{0}{}\u{0}{}",
            package.format,
            package.namespace.as_deref().unwrap_or(""),
            package.name
        );
        if !seen.insert(key.clone()) {
            continue;
        }
        let (format, ns, name) = (
            package.format.as_str(),
            package.namespace.as_deref(),
            package.name.as_str(),
        );
        let association = if preview && set.index_of(&input.package_group).is_none() {
            target.matches(format, ns, name)
        } else {
            match groups::associated(&set.patterns, format, ns, name) {
                Some((group, association)) if group == &target => Some(association),
                _ => None,
            }
        };
        if let Some(association) = association {
            items.push((
                key,
                AssociatedPackage {
                    format: PackageFormat::ALL
                        .iter()
                        .copied()
                        .find(|f| f.as_str() == format),
                    namespace: package.namespace.clone(),
                    package: Some(package.name.clone()),
                    association_type: Some(wire_association(association)),
                },
            ));
        }
    }
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let page = crate::registry::paginate(
        items,
        after.as_deref(),
        pagination::page_size(input.max_results),
    );
    Ok(ListAssociatedPackagesResult {
        packages: Some(page.items),
        next_token: page
            .next_after
            .as_deref()
            .map(pagination::encode::<ListAssociatedPackagesRequest>),
    })
}
