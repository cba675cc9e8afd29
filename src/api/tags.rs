//! TagResource, UntagResource, ListTagsForResource on domains, repositories and package
//! groups.

use super::domains::tags_of;
use super::{ApiError, Cx};
use codeartifact_model::*;

pub fn tag_resource(cx: &Cx<'_>, input: TagResourceRequest) -> Result<TagResourceResult, ApiError> {
    cx.authorize_arn(&input.resource_arn, "TagResource")?;
    cx.app
        .registry
        .tag(&input.resource_arn, &tags_of(Some(input.tags)))?;
    Ok(TagResourceResult {})
}

pub fn untag_resource(
    cx: &Cx<'_>,
    input: UntagResourceRequest,
) -> Result<UntagResourceResult, ApiError> {
    cx.authorize_arn(&input.resource_arn, "UntagResource")?;
    cx.app
        .registry
        .untag(&input.resource_arn, &input.tag_keys)?;
    Ok(UntagResourceResult {})
}

pub fn list_tags_for_resource(
    cx: &Cx<'_>,
    input: ListTagsForResourceRequest,
) -> Result<ListTagsForResourceResult, ApiError> {
    cx.authorize_arn(&input.resource_arn, "ListTagsForResource")?;
    let tags = cx.app.registry.tags(&input.resource_arn)?;
    Ok(ListTagsForResourceResult {
        tags: Some(
            tags.into_iter()
                .map(|(key, value)| Tag { key, value })
                .collect(),
        ),
    })
}
