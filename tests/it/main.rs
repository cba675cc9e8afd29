//! Integration tests: the real binary, driven by the Rust AWS SDK. One test binary, so it
//! links once. (The AWS CLI and boto3 tests live in tests/e2e.)

mod harness;

mod authentication;
mod control_plane;
mod durability;
mod packages;
