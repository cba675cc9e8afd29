#!/usr/bin/env bash
# Event-stream benchmark: publishers offering BENCH_RATE PublishPackageVersion calls a second
# (default 1,000) for BENCH_SECONDS (default 10) while BENCH_SUBSCRIBERS (default 16) clients
# read /_codeartifact/events as Server-Sent Events and 4 more subscribe and never read. Reports
# the publish rate reached, whether every subscriber got every event, the lag from a publish's
# answer to its event at the subscribers, and the server's RSS before, during and after.
# Loopback only. Timings are reported, never asserted.
#
# Knobs (environment): CODEARTIFACT_LOCAL_BIN (default: the release build, built here),
# BENCH_RATE, BENCH_SECONDS, BENCH_SUBSCRIBERS, BENCH_STALLED (default 4), BENCH_PUBLISHERS
# (processes, default 4). A baseline: BENCH_SUBSCRIBERS=0 BENCH_STALLED=0 and a server run
# with --no-test-controls (events off when no sink is configured).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${CODEARTIFACT_LOCAL_BIN:-}" ]]; then
    cargo build --release --locked --bin codeartifact-local
    export CODEARTIFACT_LOCAL_BIN="$PWD/target/release/codeartifact-local"
fi
exec python3 scripts/bench_events.py
