//! Opaque pagination tokens: base64 of a small JSON cursor naming the last item returned,
//! in the style the service uses. A token we did not issue is a validation error.

use super::ApiError;
use base64::Engine as _;
use codeartifact_model::rt::OperationInput;

/// The page size when the request gives none.
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// A token for the page after `after` in the listing operation `I`; it names the operation,
/// so a token from one listing is refused by another.
pub fn encode<I: OperationInput>(after: &str) -> String {
    let cursor = serde_json::json!({ "list": I::OPERATION.name(), "after": after });
    base64::engine::general_purpose::STANDARD.encode(cursor.to_string())
}

/// The position a token of listing operation `I` names.
pub fn decode<I: OperationInput>(token: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(token) = token else { return Ok(None) };
    let invalid = || {
        ApiError::invalid(
            "Invalid pagination token: nextToken is not a token from a previous response",
        )
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token)
        .map_err(|_| invalid())?;
    let cursor: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if cursor.get("list").and_then(|l| l.as_str()) != Some(I::OPERATION.name()) {
        return Err(invalid());
    }
    cursor
        .get("after")
        .and_then(|a| a.as_str())
        .map(|a| Some(a.to_string()))
        .ok_or_else(invalid)
}

/// `max-results` as a page size.
pub fn page_size(max_results: Option<i32>) -> usize {
    max_results
        .and_then(|m| usize::try_from(m).ok())
        .unwrap_or(DEFAULT_PAGE_SIZE)
}
