//! GetAuthorizationToken: a signed, expiring token that package managers present to the
//! repository endpoints of one domain.

use super::{ApiError, Cx, Subject};
use crate::auth::TokenClaims;
use codeartifact_model::rt::Timestamp;
use codeartifact_model::*;

/// The default and maximum lifetime: 12 hours.
const MAX_DURATION_SECONDS: i64 = 43_200;
/// The shortest lifetime other than 0.
const MIN_DURATION_SECONDS: i64 = 900;

pub fn get_authorization_token(
    cx: &Cx<'_>,
    input: GetAuthorizationTokenRequest,
) -> Result<GetAuthorizationTokenResult, ApiError> {
    let d = cx.domain_id(&input.domain, input.domain_owner.as_deref());
    let duration = match input.duration_seconds {
        // 0 means "as long as the caller's session"; long-term keys have none, so the maximum.
        None | Some(0) => MAX_DURATION_SECONDS,
        Some(s) if s < MIN_DURATION_SECONDS => {
            return Err(ApiError::invalid(format!(
                "durationSeconds must be 0 or between {MIN_DURATION_SECONDS} and \
                 {MAX_DURATION_SECONDS}; {s} was given"
            )))
        }
        Some(s) => s,
    };
    let extra = [
        (
            "sts:awsservicename",
            "codeartifact.amazonaws.com".to_string(),
        ),
        ("sts:durationseconds", duration.to_string()),
    ];
    let subject = Subject {
        extra: &extra,
        ..Subject::domain(d)
    };
    cx.authorize(Operation::GetAuthorizationToken, &subject)?;
    let domain = cx.app.registry.domain(d)?;
    let issued_ms = cx.app.clock.now_ms();
    let issued_at = issued_ms.div_euclid(1000);
    let claims = TokenClaims {
        account_id: cx.caller.account_id().to_string(),
        principal_arn: cx.caller.principal_arn().to_string(),
        domain_owner: domain.owner,
        domain: domain.name,
        issued_at,
        expires_at: issued_at + duration,
        region: cx.region.to_string(),
    };
    let token = cx.app.tokens.mint(&claims);
    Ok(GetAuthorizationTokenResult {
        authorization_token: Some(token),
        expiration: Some(Timestamp::from_millis(claims.expires_at * 1000)),
    })
}
