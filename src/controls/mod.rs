//! The test controls, under the admin prefix `/_codeartifact/` (a prefix no AWS route
//! uses; the snapshot routes live beside these in `admin`):
//!
//! - `GET /_codeartifact/events` — delivered package version change events, as long-poll
//!   JSON or as Server-Sent Events (`events.rs`).
//! - `GET|POST|DELETE /_codeartifact/faults[/{id}]` — fault-injection rules (`faults.rs`).
//!
//! SigV4-signed like the control plane, by any configured identity; a repository token is
//! never accepted (a token is not a signature). `--no-test-controls` turns them off.

mod events;
mod faults;

pub use faults::startup_rules;

use crate::state::App;
use crate::wire::{aws_error, read_body_with, Body, RequestBody};
use http::{Method, Request, Response, StatusCode};
use sha2::Digest as _;

/// The admin prefix, shared with the snapshot routes.
pub const PREFIX: &str = "/_codeartifact/";

/// Largest body a control route reads (a fault rule or a list of them).
const MAX_BODY: usize = 64 * 1024;

/// Whether a path is one of the test-control routes.
pub fn owns(path: &str) -> bool {
    path.strip_prefix(PREFIX)
        .is_some_and(|rest| rest == "events" || rest == "faults" || rest.starts_with("faults/"))
}

/// A 400 `ValidationException`.
pub(crate) fn invalid(message: impl Into<String>) -> Response<Body> {
    aws_error(StatusCode::BAD_REQUEST, "ValidationException", message)
}

/// Serves a test-control route: authenticates (SigV4 over the body's computed hash), then
/// hands the request to its route.
pub async fn handle(app: &App, request: Request<RequestBody>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    if !app.settings.test_controls {
        return aws_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            "The test controls are turned off (--no-test-controls)",
        );
    }
    let pending = match app.signature(&parts) {
        Ok(pending) => pending,
        Err(e) => return e.response(),
    };
    let body = match read_body_with(&parts.headers, body, MAX_BODY).await {
        Ok(body) => body,
        Err(e) => return invalid(format!("The request body could not be read: {e:?}")),
    };
    let sha256 = hex::encode(sha2::Sha256::digest(&body));
    if let Err(e) = pending.verify(&parts, &sha256) {
        return e.response();
    }
    let route = parts.uri.path().trim_start_matches(PREFIX);
    match (&parts.method, route) {
        (&Method::GET, "events") => events::serve(app, &parts).await,
        (_, route) if route.starts_with("faults") => {
            faults::serve(app, &parts.method, route, &body)
        }
        _ => aws_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "ValidationException",
            format!("{} is not served on {}", parts.method, parts.uri.path()),
        ),
    }
}
