#!/usr/bin/env bash
# Cargo benchmark: publish rate (the requests of `cargo publish`: config.json, index-file
# revalidation, PUT api/v1/crates/new with a real .crate, and the poll until the index lists
# the new version), GET load over keep-alive connections of the crate's index file (plain and
# revalidated with If-None-Match, answered 304), of config.json and of .crate downloads, and
# cold `cargo fetch` of a package depending on the crate (when a cargo toolchain is at hand)
# against the release binary, with the server's CPU time for each. Prints a table and one
# JSON line.
#
# Knobs (environment): CODEARTIFACT_LOCAL_BIN, BENCH_CARGO_VERSIONS, BENCH_CARGO_CRATE_KIB,
# BENCH_CONNECTIONS, BENCH_WARMUP_SECS, BENCH_SECS, BENCH_CLIENT_THREADS, BENCH_CARGO,
# BENCH_CARGO_RUNS, BENCH_CARGO_TIMEOUT_SECS, BENCH_SERVER_LOG (see benches/cargo.rs).
# Timings are reported, never asserted. cargo runs isolated (cleared environment, the
# toolchain's own cargo and rustc, temp HOME, CARGO_HOME and CARGO_TARGET_DIR, a config whose
# only registry is the local endpoint, token from CARGO_REGISTRIES_BENCH_TOKEN) and only ever
# talks to the local server on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked --bin codeartifact-local
export CODEARTIFACT_LOCAL_BIN="${CODEARTIFACT_LOCAL_BIN:-$PWD/target/release/codeartifact-local}"
cargo bench --locked --bench cargo
