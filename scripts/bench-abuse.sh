#!/usr/bin/env bash
# Abuse benchmark: latency of /health and of a signed DescribeRepository under 500 idle
# connections, 200 slowloris connections and 100 stalled uploads (and all three at once),
# side by side with an idle run. Loopback only, bounded in connections and time (under a
# minute). Timings are reported, never asserted.
#
# Knobs (environment): CODEARTIFACT_LOCAL_BIN (default: the release build, built here),
# BENCH_PROBES (requests per probe, default 200).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${CODEARTIFACT_LOCAL_BIN:-}" ]]; then
    cargo build --release --locked --bin codeartifact-local
    export CODEARTIFACT_LOCAL_BIN="$PWD/target/release/codeartifact-local"
fi
exec python3 scripts/bench_abuse.py
