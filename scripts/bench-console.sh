#!/usr/bin/env bash
# Web console benchmark: a repository with BENCH_PACKAGES generic packages (default 10,000),
# then BENCH_REQUESTS (default 300) GETs of the console's first page of that repository, of
# its last page (the seek must cost the same) and, for comparison, of ListPackages' first page
# (maxResults 50) through boto3's signing. Reports p50/p99 per request and the server's CPU
# time per request (from /proc). Loopback only; timings are reported, never asserted.
#
# Knobs (environment): CODEARTIFACT_LOCAL_BIN (default: the release build, built here),
# BENCH_PACKAGES, BENCH_REQUESTS.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${CODEARTIFACT_LOCAL_BIN:-}" ]]; then
    cargo build --release --locked --bin codeartifact-local
    export CODEARTIFACT_LOCAL_BIN="$PWD/target/release/codeartifact-local"
fi
exec "${CODEARTIFACT_TEST_VENV:-.venv-test}/bin/python" scripts/bench_console.py
