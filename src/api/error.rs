//! Client-visible control-plane errors and the one mapping from registry errors to them.

use crate::registry::{self, ResourceKind};
use codeartifact_model::rt::ValidationError;

/// An error the control plane returns, as AWS names it.
#[derive(Debug)]
pub enum ApiError {
    Validation {
        reason: &'static str,
        message: String,
    },
    AccessDenied(String),
    NotFound {
        kind: ResourceKind,
        id: String,
        message: String,
    },
    Conflict {
        kind: ResourceKind,
        id: String,
        message: String,
    },
    QuotaExceeded {
        kind: ResourceKind,
        id: String,
        message: String,
    },
    /// Too many requests of a kind in progress (uploads); the SDKs retry it.
    Throttled(String),
    Internal(String),
}

impl ApiError {
    /// A failure to write asset bytes: below the free-space watermark (or out of space)
    /// it is the quota error writes get then; anything else is ours.
    pub fn storage(what: &str, e: &std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::StorageFull {
            ApiError::QuotaExceeded {
                kind: ResourceKind::Unnamed,
                id: String::new(),
                message: e.to_string(),
            }
        } else {
            ApiError::Internal(format!("{what}: {e}"))
        }
    }

    /// A rule violation beyond the model's constraints.
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::Validation {
            reason: "OTHER",
            message: message.into(),
        }
    }

    /// The `x-amzn-errortype` name.
    pub fn error_type(&self) -> &'static str {
        match self {
            ApiError::Validation { .. } => "ValidationException",
            ApiError::AccessDenied(_) => "AccessDeniedException",
            ApiError::NotFound { .. } => "ResourceNotFoundException",
            ApiError::Conflict { .. } => "ConflictException",
            ApiError::QuotaExceeded { .. } => "ServiceQuotaExceededException",
            ApiError::Throttled(_) => "ThrottlingException",
            ApiError::Internal(_) => "InternalServerException",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::Validation { .. } => 400,
            ApiError::AccessDenied(_) => 403,
            ApiError::NotFound { .. } => 404,
            ApiError::Conflict { .. } => 409,
            ApiError::QuotaExceeded { .. } => 402,
            ApiError::Throttled(_) => 429,
            ApiError::Internal(_) => 500,
        }
    }

    /// The JSON body: `message`, `__type`, and the members the model declares per error.
    pub fn body(&self) -> serde_json::Value {
        let mut body = serde_json::json!({ "__type": self.error_type() });
        let map = body.as_object_mut().expect("built as an object");
        let mut set = |k: &str, v: &str| {
            map.insert(k.to_string(), serde_json::Value::String(v.to_string()));
        };
        match self {
            ApiError::Validation { reason, message } => {
                set("message", message);
                set("reason", reason);
            }
            ApiError::AccessDenied(message)
            | ApiError::Internal(message)
            | ApiError::Throttled(message) => set("message", message),
            ApiError::NotFound { kind, id, message }
            | ApiError::Conflict { kind, id, message }
            | ApiError::QuotaExceeded { kind, id, message } => {
                set("message", message);
                if !id.is_empty() {
                    set("resourceId", id);
                }
                if let Some(t) = resource_type(*kind) {
                    set("resourceType", t);
                }
            }
        }
        body
    }
}

fn resource_type(kind: ResourceKind) -> Option<&'static str> {
    match kind {
        ResourceKind::Domain => Some("domain"),
        ResourceKind::Repository => Some("repository"),
        ResourceKind::Package => Some("package"),
        ResourceKind::PackageVersion => Some("package-version"),
        ResourceKind::Asset => Some("asset"),
        ResourceKind::Unnamed => None,
    }
}

impl From<registry::Error> for ApiError {
    fn from(e: registry::Error) -> Self {
        match e {
            registry::Error::NotFound { kind, id, message } => {
                ApiError::NotFound { kind, id, message }
            }
            registry::Error::Conflict { kind, id, message } => {
                ApiError::Conflict { kind, id, message }
            }
            registry::Error::QuotaExceeded { kind, id, message } => {
                ApiError::QuotaExceeded { kind, id, message }
            }
            registry::Error::Invalid(message) => ApiError::invalid(message),
            registry::Error::Store(e) => {
                tracing::error!(error = %e, "storage failure");
                ApiError::Internal("An internal error occurred; see the server log".to_string())
            }
        }
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        ApiError::Validation {
            reason: e.reason,
            message: e.message,
        }
    }
}
