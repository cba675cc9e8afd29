//! Package-manager protocols, one module per format, served behind the repository endpoint
//! once `endpoints` has authenticated the token and found the repository.
//!
//! Formats read and change state only through the registry, and check access with the
//! token's principal exactly as the control plane checks the caller's.

pub mod npm;
pub mod pypi;

use crate::access;
use crate::app::{App, Body};
use crate::auth::TokenClaims;
use crate::registry::{PolicyTarget, RepositoryRecord};
use http::{header, HeaderValue, Response, StatusCode};

/// A repository-endpoint request after authentication.
pub struct RepoCx<'a> {
    pub app: &'a App,
    pub repo: RepositoryRecord,
    /// Who the token was issued to.
    pub claims: TokenClaims,
    /// Absolute URL of this repository endpoint, ending with `/`, in the addressing form the
    /// client used, so links we hand out carry the client's credentials scope.
    pub base_url: String,
}

impl RepoCx<'_> {
    /// Decides a repository action (`ReadFromRepository`, `PublishPackageVersion`,
    /// `PutPackageMetadata`) for the token's principal under the repository's policy.
    pub fn allowed(&self, action: &str) -> Result<(), String> {
        let principal = access::Principal {
            account: &self.claims.account_id,
            arn: &self.claims.principal_arn,
        };
        let arn = self.repo.arn();
        let request = access::Request {
            action,
            resource_arn: &arn,
            resource_account: &self.repo.administrator_account,
            region: &self.repo.region,
        };
        let target = PolicyTarget::Repository(self.repo.domain_id(), &self.repo.name);
        let policy = self
            .app
            .registry
            .policy_if_any(target)
            .map_err(|e| format!("{e:?}"))?;
        match access::decide(
            principal,
            request,
            policy.as_ref().map(|p| p.document.as_str()),
        ) {
            access::Decision::Allow => Ok(()),
            decision => Err(access::denial_message(principal, request, decision)),
        }
    }
}

/// A JSON response with the given status.
pub fn json(status: StatusCode, body: &serde_json::Value) -> Response<Body> {
    let mut response = crate::app::json_response(status, body);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
