#!/usr/bin/env bash
# CI fixtures benchmark: process start → ready with a seed of 10 domains, 50 repositories and
# 500 package versions (npm, PyPI, cargo), applied on an empty data directory and again on the
# seeded one (idempotent: nothing changes); then `snapshot save` of that state from the running
# server and from the stopped data directory, `snapshot load` into a fresh one, and start →
# ready with `--load-snapshot`. Prints a table and one JSON line. Timings are reported, never
# asserted.
#
# Knobs (environment): CODEARTIFACT_LOCAL_BIN (default: the release build), BENCH_RUNS
# (repetitions of each timing, default 3; the median is reported).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${CODEARTIFACT_LOCAL_BIN:-}" ]]; then
  cargo build --release --locked --bin codeartifact-local
  export CODEARTIFACT_LOCAL_BIN="$PWD/target/release/codeartifact-local"
fi
PYTHON="${CODEARTIFACT_TEST_VENV:-.venv-test}/bin/python"
[[ -x "$PYTHON" ]] || PYTHON=python3
exec "$PYTHON" scripts/bench_fixtures.py
