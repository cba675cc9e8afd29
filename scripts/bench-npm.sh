#!/usr/bin/env bash
# npm benchmark: publish rate (raw npm-style PUTs), packument (abbreviated and full) and
# tarball GET load over keep-alive connections, and cold `npm install` of a project with 50
# dependencies using the real npm against the release binary, with the server's CPU time
# for each. Prints a table and one JSON line.
#
# Knobs (environment): CODEARTIFACT_LOCAL_BIN, BENCH_NPM_VERSIONS, BENCH_CONNECTIONS,
# BENCH_WARMUP_SECS, BENCH_SECS, BENCH_CLIENT_THREADS, BENCH_NPM, BENCH_NPM_DEPS,
# BENCH_NPM_RUNS, BENCH_NPM_TIMEOUT_SECS, BENCH_SERVER_LOG (see benches/npm.rs). Timings are
# reported, never asserted. npm runs isolated (temp HOME, config and cache) and only ever
# talks to the local server on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked --bin codeartifact-local
export CODEARTIFACT_LOCAL_BIN="${CODEARTIFACT_LOCAL_BIN:-$PWD/target/release/codeartifact-local}"
cargo bench --locked --bench npm
