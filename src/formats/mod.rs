//! Package-manager protocols, one module per format, each implementing
//! [`crate::endpoints::Format`]: its routes, the action each needs, its handlers, its error
//! body and its adapter for public registries. A format reads and changes state only
//! through the registry and the shared publish and download paths of `endpoints`; it never
//! sees tokens, policies or another format.

pub mod cargo;
pub mod maven;
pub mod npm;
pub mod nuget;
pub mod pypi;
pub mod ruby;
pub mod swift;
