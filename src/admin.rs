//! The emulator's own admin routes, under `/_codeartifact/` (a prefix no AWS route uses):
//!
//! - `POST /_codeartifact/snapshot` answers a snapshot of the whole state (a tar archive,
//!   `registry::snapshot`), consistent while the server goes on writing.
//! - `POST /_codeartifact/reset` empties the state; with a snapshot as its body, restores
//!   it instead (test isolation between CI jobs or tests).
//!
//! Both are SigV4-signed like the control plane, by any configured identity; a repository
//! token is never accepted (a token is not a signature). A body's SHA-256 must be declared
//! in `x-amz-content-sha256` (as for a streamed PublishPackageVersion), and is checked.

use crate::auth::sigv4;
use crate::registry::{stream_into, StreamError};
use crate::state::App;
use crate::wire::{aws_error, byte_stream, file_response, json_response, Body, RequestBody};
use http::{Method, Request, Response, StatusCode};
use sha2::Digest as _;

/// The prefix of every admin route.
pub const PREFIX: &str = "/_codeartifact/";

fn internal(message: impl std::fmt::Display) -> Response<Body> {
    aws_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalServerException",
        message.to_string(),
    )
}

/// Serves an admin route.
pub async fn handle(app: &App, request: Request<RequestBody>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let route = parts.uri.path().trim_start_matches(PREFIX).to_string();
    if parts.method != Method::POST || !matches!(route.as_str(), "snapshot" | "reset") {
        return aws_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            format!("No admin route {} {}", parts.method, parts.uri.path()),
        );
    }
    let pending = match app.signature(&parts) {
        Ok(pending) => pending,
        Err(e) => return e.response(),
    };
    let empty = hex::encode(sha2::Sha256::digest(b""));
    let declared = sigv4::payload_hash_header(&parts)
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
        .map_or_else(|| empty.clone(), str::to_ascii_lowercase);
    if let Err(e) = pending.verify(&parts, &declared) {
        return e.response();
    }
    let registry = &app.registry;
    if route == "snapshot" {
        let staged = match registry.upload() {
            Ok(upload) => upload,
            Err(e) => return internal(format!("cannot stage the snapshot: {e}")),
        };
        let saved = tokio::task::block_in_place(|| {
            let mut upload = staged;
            let mut writer = UploadWriter(&mut upload);
            let stats = registry
                .save_snapshot(&mut writer)
                .map_err(|e| format!("{e:?}"))?;
            let staged = upload.finish().map_err(|e| e.to_string())?;
            Ok::<_, String>((stats, staged))
        });
        let (stats, staged) = match saved {
            Ok(saved) => saved,
            Err(e) => return internal(format!("cannot write the snapshot: {e}")),
        };
        // The response holds the file open; the staged copy is removed when it drops.
        let mut response =
            match file_response(staged.path(), staged.size(), "application/x-tar", None).await {
                Ok(response) => response,
                Err(e) => return internal(format!("cannot send the snapshot: {e}")),
            };
        drop(staged);
        for (name, value) in [
            ("x-snapshot-records", stats.records),
            ("x-snapshot-blobs", stats.blobs),
        ] {
            if let Ok(value) = http::HeaderValue::from_str(&value.to_string()) {
                response.headers_mut().insert(name, value);
            }
        }
        return response;
    }
    // reset: empty, or restore the snapshot in the body.
    let upload = match registry.upload() {
        Ok(upload) => upload,
        Err(e) => return internal(format!("cannot stage the snapshot: {e}")),
    };
    let staged =
        match stream_into(upload, byte_stream(body), registry.quotas.asset_size_bytes).await {
            Ok(staged) => staged,
            Err(StreamError::TooLarge) => {
                return aws_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "RequestEntityTooLargeException",
                    "The snapshot is larger than the asset size quota",
                )
            }
            Err(e) => {
                return aws_error(
                    StatusCode::BAD_REQUEST,
                    "ValidationException",
                    format!("The snapshot could not be read: {e:?}"),
                )
            }
        };
    if staged.digests().sha256 != declared {
        return aws_error(
            StatusCode::BAD_REQUEST,
            "ValidationException",
            "The body's SHA-256 differs from x-amz-content-sha256",
        );
    }
    let restored = tokio::task::block_in_place(|| {
        if staged.size() == 0 {
            registry.restore_snapshot(None::<std::fs::File>)
        } else {
            match std::fs::File::open(staged.path()) {
                Ok(file) => registry.restore_snapshot(Some(file)),
                Err(e) => Err(crate::registry::Error::Store(crate::registry::StoreError(
                    e.to_string(),
                ))),
            }
        }
    });
    match restored {
        Ok(stats) => json_response(
            StatusCode::OK,
            &serde_json::json!({ "records": stats.records, "blobs": stats.blobs }),
        ),
        Err(crate::registry::Error::Store(e)) => {
            aws_error(StatusCode::BAD_REQUEST, "ValidationException", e.0)
        }
        Err(e) => internal(format!("{e:?}")),
    }
}

/// `io::Write` over a staging upload (hashed as it is written, like every staged file).
struct UploadWriter<'a>(&'a mut crate::registry::Upload);

impl std::io::Write for UploadWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
