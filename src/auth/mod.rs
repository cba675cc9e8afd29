//! Authentication: who is calling.
//!
//! Owns SigV4 verification of control-plane requests ([`sigv4`]), the configured identities
//! and their secrets ([`credentials`]), and the repository-endpoint authorization tokens
//! ([`token`]). It answers "who is this?" and nothing else: it must not touch storage, decide
//! permissions on resources, or render HTTP responses; callers map [`AuthError`] and
//! [`TokenError`] to their protocol's error format.

pub mod credentials;
pub mod sigv4;
pub mod token;

pub use credentials::{CredentialsError, Identities, Identity};
pub use sigv4::{parse_authorization, AuthError, Caller, PendingSignature, DEFAULT_MAX_SKEW};
pub use token::{token_from_authorization, TokenClaims, TokenError, TokenKey};
