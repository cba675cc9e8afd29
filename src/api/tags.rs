//! TagResource, UntagResource, ListTagsForResource on domains, repositories and package
//! groups.

use super::domains::tags_of;
use super::{ApiError, Cx, Subject};
use codeartifact_model::*;

pub fn tag_resource(cx: &Cx<'_>, input: TagResourceRequest) -> Result<TagResourceResult, ApiError> {
    let tags = tags_of(Some(input.tags));
    let subject = Subject {
        arn: Some(&input.resource_arn),
        tags: Some(&tags),
        ..Subject::domain(cx.domain_id("", None))
    };
    cx.authorize(Operation::TagResource, &subject)?;
    cx.app.registry.tag(&input.resource_arn, &tags)?;
    Ok(TagResourceResult {})
}

pub fn untag_resource(
    cx: &Cx<'_>,
    input: UntagResourceRequest,
) -> Result<UntagResourceResult, ApiError> {
    let subject = Subject {
        arn: Some(&input.resource_arn),
        tag_keys: Some(&input.tag_keys),
        ..Subject::domain(cx.domain_id("", None))
    };
    cx.authorize(Operation::UntagResource, &subject)?;
    cx.app
        .registry
        .untag(&input.resource_arn, &input.tag_keys)?;
    Ok(UntagResourceResult {})
}

pub fn list_tags_for_resource(
    cx: &Cx<'_>,
    input: ListTagsForResourceRequest,
) -> Result<ListTagsForResourceResult, ApiError> {
    let subject = Subject {
        arn: Some(&input.resource_arn),
        ..Subject::domain(cx.domain_id("", None))
    };
    cx.authorize(Operation::ListTagsForResource, &subject)?;
    let tags = cx.app.registry.tags(&input.resource_arn)?;
    Ok(ListTagsForResourceResult {
        tags: Some(
            tags.into_iter()
                .map(|(key, value)| Tag { key, value })
                .collect(),
        ),
    })
}
