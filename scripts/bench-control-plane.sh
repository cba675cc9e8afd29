#!/usr/bin/env bash
# Control-plane benchmark: startup-to-ready, idle memory, and signed DescribeRepository
# throughput/latency against the release binary, without policies and under a 20-statement
# domain policy plus a 20-statement repository policy (the ratio is printed). Prints a table
# and one JSON line.
#
# Knobs (environment): CODEARTIFACT_LOCAL_BIN, BENCH_STARTUP_RUNS, BENCH_CONNECTIONS,
# BENCH_WARMUP_SECS, BENCH_SECS, BENCH_CLIENT_THREADS, BENCH_SERVER_LOG (see
# benches/control_plane.rs). Timings are reported, never asserted.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked --bin codeartifact-local
export CODEARTIFACT_LOCAL_BIN="${CODEARTIFACT_LOCAL_BIN:-$PWD/target/release/codeartifact-local}"
cargo bench --locked --bench control_plane
