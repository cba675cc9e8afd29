//! codeartifact-local: AWS CodeArtifact, faithful and offline, in one binary.
//!
//! See ARCHITECTURE.md for how a request flows from socket to store.

pub mod access;
pub mod api;
pub mod app;
pub mod auth;
pub mod clock;
pub mod config;
pub mod endpoints;
pub mod events;
pub mod formats;
pub mod outbound;
pub mod registry;
pub mod server;
