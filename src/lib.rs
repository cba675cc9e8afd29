//! codeartifact-local: AWS CodeArtifact, faithful and offline, in one binary.
//!
//! See ARCHITECTURE.md for how a request flows from socket to store, and for the layers:
//! each module imports only from the layers below it (a test in `layering` checks).

pub mod access;
pub mod addressing;
pub mod admin;
pub mod api;
pub mod app;
pub mod auth;
pub mod cache;
pub mod clock;
pub mod config;
pub mod console;
pub mod controls;
pub mod endpoints;
pub mod events;
pub mod faults;
pub mod fixtures;
pub mod formats;
#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod layering;
pub mod limits;
pub mod outbound;
pub mod permissions;
pub mod registry;
pub mod server;
pub mod state;
pub mod wire;
