//! Domain and repository permissions policies.

use super::{ApiError, Cx, Subject};
use crate::registry::{Arn, PolicyRecord, PolicyTarget};
use codeartifact_model::*;

fn resource_policy(arn: String, record: PolicyRecord) -> ResourcePolicy {
    ResourcePolicy {
        resource_arn: Some(arn),
        revision: Some(record.revision),
        document: Some(record.document),
    }
}

pub fn put_domain_policy(
    cx: &Cx<'_>,
    input: PutDomainPermissionsPolicyRequest,
) -> Result<PutDomainPermissionsPolicyResult, ApiError> {
    let d = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    // The existing policy is not consulted, so an owner cannot lock itself out.
    cx.authorize(Operation::PutDomainPermissionsPolicy, &Subject::domain(d))?;
    let record = cx.app.registry.put_policy(
        PolicyTarget::Domain(d),
        &input.policy_document,
        input.policy_revision.as_deref(),
    )?;
    Ok(PutDomainPermissionsPolicyResult {
        policy: Some(resource_policy(Arn::domain(d), record)),
    })
}

pub fn get_domain_policy(
    cx: &Cx<'_>,
    input: GetDomainPermissionsPolicyRequest,
) -> Result<GetDomainPermissionsPolicyResult, ApiError> {
    let d = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    cx.authorize(Operation::GetDomainPermissionsPolicy, &Subject::domain(d))?;
    let record = cx.app.registry.policy(PolicyTarget::Domain(d))?;
    Ok(GetDomainPermissionsPolicyResult {
        policy: Some(resource_policy(Arn::domain(d), record)),
    })
}

pub fn delete_domain_policy(
    cx: &Cx<'_>,
    input: DeleteDomainPermissionsPolicyRequest,
) -> Result<DeleteDomainPermissionsPolicyResult, ApiError> {
    let d = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    cx.authorize(
        Operation::DeleteDomainPermissionsPolicy,
        &Subject::domain(d),
    )?;
    let record = cx
        .app
        .registry
        .delete_policy(PolicyTarget::Domain(d), input.policy_revision.as_deref())?;
    Ok(DeleteDomainPermissionsPolicyResult {
        policy: Some(resource_policy(Arn::domain(d), record)),
    })
}

pub fn put_repository_policy(
    cx: &Cx<'_>,
    input: PutRepositoryPermissionsPolicyRequest,
) -> Result<PutRepositoryPermissionsPolicyResult, ApiError> {
    let d = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    let subject = Subject::repository(d, &input.repository);
    cx.authorize(Operation::PutRepositoryPermissionsPolicy, &subject)?;
    let record = cx.app.registry.put_policy(
        PolicyTarget::Repository(d, &input.repository),
        &input.policy_document,
        input.policy_revision.as_deref(),
    )?;
    Ok(PutRepositoryPermissionsPolicyResult {
        policy: Some(resource_policy(
            Arn::repository(d, &input.repository),
            record,
        )),
    })
}

pub fn get_repository_policy(
    cx: &Cx<'_>,
    input: GetRepositoryPermissionsPolicyRequest,
) -> Result<GetRepositoryPermissionsPolicyResult, ApiError> {
    let d = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    let subject = Subject::repository(d, &input.repository);
    cx.authorize(Operation::GetRepositoryPermissionsPolicy, &subject)?;
    let record = cx
        .app
        .registry
        .policy(PolicyTarget::Repository(d, &input.repository))?;
    Ok(GetRepositoryPermissionsPolicyResult {
        policy: Some(resource_policy(
            Arn::repository(d, &input.repository),
            record,
        )),
    })
}

pub fn delete_repository_policy(
    cx: &Cx<'_>,
    input: DeleteRepositoryPermissionsPolicyRequest,
) -> Result<DeleteRepositoryPermissionsPolicyResult, ApiError> {
    let d = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    let subject = Subject::repository(d, &input.repository);
    cx.authorize(Operation::DeleteRepositoryPermissionsPolicy, &subject)?;
    let record = cx.app.registry.delete_policy(
        PolicyTarget::Repository(d, &input.repository),
        input.policy_revision.as_deref(),
    )?;
    Ok(DeleteRepositoryPermissionsPolicyResult {
        policy: Some(resource_policy(
            Arn::repository(d, &input.repository),
            record,
        )),
    })
}
