//! CreateDomain, DescribeDomain, ListDomains, DeleteDomain.

use super::{pagination, ApiError, Cx, Subject};
use crate::registry::{Arn, DomainRecord, DomainStats};
use codeartifact_model::rt::Timestamp;
use codeartifact_model::*;

/// A domain as the wire describes it. `s3BucketArn` appears only in DescribeDomain.
fn description(
    record: &DomainRecord,
    stats: &DomainStats,
    status: DomainStatus,
) -> DomainDescription {
    DomainDescription {
        name: Some(record.name.clone()),
        owner: Some(record.owner.clone()),
        arn: Some(Arn::domain(record.id())),
        status: Some(status),
        created_time: Some(Timestamp::from_millis(record.created_ms)),
        encryption_key: Some(record.encryption_key.clone()),
        repository_count: Some(i32::try_from(stats.repository_count).unwrap_or(i32::MAX)),
        asset_size_bytes: Some(i64::try_from(stats.asset_size_bytes).unwrap_or(i64::MAX)),
        s3_bucket_arn: None,
    }
}

pub fn tags_of(tags: Option<Vec<Tag>>) -> Vec<(String, String)> {
    tags.unwrap_or_default()
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect()
}

pub fn create_domain(
    cx: &Cx<'_>,
    input: CreateDomainRequest,
) -> Result<CreateDomainResult, ApiError> {
    let tags = tags_of(input.tags);
    let subject = Subject {
        tags: Some(&tags),
        ..Subject::domain(cx.domain_id(&input.domain, None))
    };
    cx.authorize(Operation::CreateDomain, &subject)?;
    let record = cx.app.registry.create_domain(
        cx.scope(),
        &input.domain,
        input.encryption_key.as_deref(),
        &tags,
    )?;
    let stats = DomainStats {
        repository_count: 0,
        asset_size_bytes: 0,
    };
    Ok(CreateDomainResult {
        domain: Some(description(&record, &stats, DomainStatus::Active)),
    })
}

pub fn describe_domain(
    cx: &Cx<'_>,
    input: DescribeDomainRequest,
) -> Result<DescribeDomainResult, ApiError> {
    let d = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    cx.authorize(Operation::DescribeDomain, &Subject::domain(d))?;
    let record = cx.app.registry.domain(d)?;
    let stats = cx.app.registry.domain_stats(d)?;
    let mut domain = description(&record, &stats, DomainStatus::Active);
    domain.s3_bucket_arn = Some(format!(
        "arn:aws:s3:::assets-{}-{}",
        record.owner, record.region
    ));
    Ok(DescribeDomainResult {
        domain: Some(domain),
    })
}

pub fn list_domains(cx: &Cx<'_>, input: ListDomainsRequest) -> Result<ListDomainsResult, ApiError> {
    cx.authorize(
        Operation::ListDomains,
        &Subject::domain(cx.domain_id("", None)),
    )?;
    let after = pagination::decode::<ListDomainsRequest>(input.next_token.as_deref())?;
    let page = cx.app.registry.list_domains(
        cx.scope(),
        after.as_deref(),
        pagination::page_size(input.max_results),
    )?;
    Ok(ListDomainsResult {
        domains: Some(
            page.items
                .iter()
                .map(|r| DomainSummary {
                    name: Some(r.name.clone()),
                    owner: Some(r.owner.clone()),
                    arn: Some(Arn::domain(r.id())),
                    status: Some(DomainStatus::Active),
                    created_time: Some(Timestamp::from_millis(r.created_ms)),
                    encryption_key: Some(r.encryption_key.clone()),
                })
                .collect(),
        ),
        next_token: page
            .next_after
            .as_deref()
            .map(pagination::encode::<ListDomainsRequest>),
    })
}

pub fn delete_domain(
    cx: &Cx<'_>,
    input: DeleteDomainRequest,
) -> Result<DeleteDomainResult, ApiError> {
    let d = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    cx.authorize(Operation::DeleteDomain, &Subject::domain(d))?;
    let record = cx.app.registry.delete_domain(d)?;
    let stats = DomainStats {
        repository_count: 0,
        asset_size_bytes: 0,
    };
    Ok(DeleteDomainResult {
        domain: Some(description(&record, &stats, DomainStatus::Deleted)),
    })
}
