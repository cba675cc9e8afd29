//! The CodeArtifact wire contract, derived from the pinned service model.
//!
//! This crate owns everything that follows mechanically from `codeartifact.json`: the
//! operation table (method, path, input, output, errors), a static descriptor for every
//! shape, typed request/response structures, and the runtime ([`rt`]) that binds an HTTP
//! request to an input structure with AWS-style validation and renders an output back.
//! Behaviour (what an operation *does*) lives in the server crate, not here.
//!
//! `src/generated.rs` is produced by `tests/sourcegen.rs`; run `scripts/codegen.sh` after
//! changing the model or the generator.

pub mod rt;

mod generated;
pub use generated::*;
