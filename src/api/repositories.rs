//! Repository operations: create, describe, update, delete, list, external connections and
//! repository endpoints.

use super::domains::tags_of;
use super::{pagination, ApiError, Cx, Subject};
use crate::addressing::{endpoint_url, RepositoryAddress};
use crate::registry::{external_connection_format, RepositoryRecord, RepositoryUpdate};
use codeartifact_model::rt::Timestamp;
use codeartifact_model::*;

fn description(r: &RepositoryRecord) -> RepositoryDescription {
    RepositoryDescription {
        name: Some(r.name.clone()),
        administrator_account: Some(r.administrator_account.clone()),
        domain_name: Some(r.domain.clone()),
        domain_owner: Some(r.domain_owner.clone()),
        arn: Some(r.arn()),
        description: r.description.clone(),
        upstreams: Some(
            r.upstreams
                .iter()
                .map(|u| UpstreamRepositoryInfo {
                    repository_name: Some(u.name.clone()),
                })
                .collect(),
        ),
        external_connections: Some(
            r.external_connections
                .iter()
                .map(|name| RepositoryExternalConnectionInfo {
                    external_connection_name: Some(name.clone()),
                    package_format: external_connection_format(name).and_then(format_of),
                    status: Some(ExternalConnectionStatus::Available),
                })
                .collect(),
        ),
        created_time: Some(Timestamp::from_millis(r.created_ms)),
    }
}

fn summary(r: &RepositoryRecord) -> RepositorySummary {
    RepositorySummary {
        name: Some(r.name.clone()),
        administrator_account: Some(r.administrator_account.clone()),
        domain_name: Some(r.domain.clone()),
        domain_owner: Some(r.domain_owner.clone()),
        arn: Some(r.arn()),
        description: r.description.clone(),
        created_time: Some(Timestamp::from_millis(r.created_ms)),
    }
}

fn format_of(name: &str) -> Option<PackageFormat> {
    PackageFormat::ALL
        .iter()
        .copied()
        .find(|f| f.as_str() == name)
}

fn upstream_names(upstreams: Option<Vec<UpstreamRepository>>) -> Option<Vec<String>> {
    upstreams.map(|list| list.into_iter().map(|u| u.repository_name).collect())
}

pub fn create_repository(
    cx: &Cx<'_>,
    input: CreateRepositoryRequest,
) -> Result<CreateRepositoryResult, ApiError> {
    let d = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    let upstreams = upstream_names(input.upstreams).unwrap_or_default();
    let tags = tags_of(input.tags);
    let subject = Subject {
        upstreams: &upstreams,
        tags: Some(&tags),
        ..Subject::repository(d, &input.repository)
    };
    cx.authorize(Operation::CreateRepository, &subject)?;
    let record = cx.app.registry.create_repository(
        cx.scope(),
        d,
        &input.repository,
        input.description.as_deref(),
        &upstreams,
        &tags,
    )?;
    Ok(CreateRepositoryResult {
        repository: Some(description(&record)),
    })
}

pub fn describe_repository(
    cx: &Cx<'_>,
    input: DescribeRepositoryRequest,
) -> Result<DescribeRepositoryResult, ApiError> {
    let d = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    let subject = Subject::repository(d, &input.repository);
    cx.authorize(Operation::DescribeRepository, &subject)?;
    let record = cx.app.registry.repository(d, &input.repository)?;
    Ok(DescribeRepositoryResult {
        repository: Some(description(&record)),
    })
}

pub fn update_repository(
    cx: &Cx<'_>,
    input: UpdateRepositoryRequest,
) -> Result<UpdateRepositoryResult, ApiError> {
    let d = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    let upstreams = upstream_names(input.upstreams);
    // AssociateWithDownstreamRepository is asked of each upstream this update adds.
    let current = cx
        .app
        .registry
        .repository(d, &input.repository)
        .map(|r| r.upstreams.into_iter().map(|u| u.name).collect::<Vec<_>>())
        .unwrap_or_default();
    let added: Vec<String> = upstreams
        .iter()
        .flatten()
        .filter(|u| !current.contains(u))
        .cloned()
        .collect();
    let subject = Subject {
        upstreams: &added,
        ..Subject::repository(d, &input.repository)
    };
    cx.authorize(Operation::UpdateRepository, &subject)?;
    let update = RepositoryUpdate {
        description: input.description.as_deref(),
        upstreams: upstreams.as_deref(),
    };
    let record = cx
        .app
        .registry
        .update_repository(d, &input.repository, &update)?;
    Ok(UpdateRepositoryResult {
        repository: Some(description(&record)),
    })
}

pub fn delete_repository(
    cx: &Cx<'_>,
    input: DeleteRepositoryRequest,
) -> Result<DeleteRepositoryResult, ApiError> {
    let d = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    let subject = Subject::repository(d, &input.repository);
    cx.authorize(Operation::DeleteRepository, &subject)?;
    let record = cx.app.registry.delete_repository(d, &input.repository)?;
    Ok(DeleteRepositoryResult {
        repository: Some(description(&record)),
    })
}

pub fn list_repositories(
    cx: &Cx<'_>,
    input: ListRepositoriesRequest,
) -> Result<ListRepositoriesResult, ApiError> {
    cx.authorize(
        Operation::ListRepositories,
        &Subject::domain(cx.domain_id("", None)),
    )?;
    let after = pagination::decode::<ListRepositoriesRequest>(input.next_token.as_deref())?;
    let page = cx.app.registry.list_repositories(
        cx.scope(),
        input.repository_prefix.as_deref(),
        after.as_deref(),
        pagination::page_size(input.max_results),
    )?;
    Ok(ListRepositoriesResult {
        repositories: Some(page.items.iter().map(summary).collect()),
        next_token: page
            .next_after
            .as_deref()
            .map(pagination::encode::<ListRepositoriesRequest>),
    })
}

pub fn list_repositories_in_domain(
    cx: &Cx<'_>,
    input: ListRepositoriesInDomainRequest,
) -> Result<ListRepositoriesInDomainResult, ApiError> {
    let d = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    cx.authorize(Operation::ListRepositoriesInDomain, &Subject::domain(d))?;
    let after = pagination::decode::<ListRepositoriesInDomainRequest>(input.next_token.as_deref())?;
    let page = cx.app.registry.list_repositories_in_domain(
        d,
        input.administrator_account.as_deref(),
        input.repository_prefix.as_deref(),
        after.as_deref(),
        pagination::page_size(input.max_results),
    )?;
    Ok(ListRepositoriesInDomainResult {
        repositories: Some(page.items.iter().map(summary).collect()),
        next_token: page
            .next_after
            .as_deref()
            .map(pagination::encode::<ListRepositoriesInDomainRequest>),
    })
}

pub fn associate_external_connection(
    cx: &Cx<'_>,
    input: AssociateExternalConnectionRequest,
) -> Result<AssociateExternalConnectionResult, ApiError> {
    let d = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    let subject = Subject::repository(d, &input.repository);
    cx.authorize(Operation::AssociateExternalConnection, &subject)?;
    let record = cx.app.registry.associate_external_connection(
        d,
        &input.repository,
        &input.external_connection,
    )?;
    Ok(AssociateExternalConnectionResult {
        repository: Some(description(&record)),
    })
}

pub fn disassociate_external_connection(
    cx: &Cx<'_>,
    input: DisassociateExternalConnectionRequest,
) -> Result<DisassociateExternalConnectionResult, ApiError> {
    let d = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    let subject = Subject::repository(d, &input.repository);
    cx.authorize(Operation::DisassociateExternalConnection, &subject)?;
    let record = cx.app.registry.disassociate_external_connection(
        d,
        &input.repository,
        &input.external_connection,
    )?;
    Ok(DisassociateExternalConnectionResult {
        repository: Some(description(&record)),
    })
}

/// The URL package managers use for this repository and format, pointing back at us. Both
/// shapes end with `/`: `aws codeartifact login` appends to it by string concatenation.
pub fn get_repository_endpoint(
    cx: &Cx<'_>,
    input: GetRepositoryEndpointRequest,
) -> Result<GetRepositoryEndpointResult, ApiError> {
    let d = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    let subject = Subject::repository(d, &input.repository);
    cx.authorize(Operation::GetRepositoryEndpoint, &subject)?;
    let repository = cx.app.registry.repository(d, &input.repository)?;
    let settings = &cx.app.settings;
    let url = endpoint_url(
        settings.endpoint_style,
        &settings.public_base_url,
        &settings.dns_suffix,
        input.format.as_str(),
        RepositoryAddress {
            domain: &repository.domain,
            owner: &repository.domain_owner,
            region: &repository.region,
            repository: &repository.name,
        },
    );
    Ok(GetRepositoryEndpointResult {
        repository_endpoint: Some(url),
    })
}
