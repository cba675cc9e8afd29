#!/usr/bin/env bash
# PyPI benchmark: upload rate (twine-style multipart POSTs of real wheels), simple-page
# (PEP 503 HTML and PEP 691 JSON) and wheel-file GET load over keep-alive connections, and
# cold `python3 -m pip install` of 20 projects against the release binary, with the
# server's CPU time for each. Prints a table and one JSON line.
#
# Knobs (environment): CODEARTIFACT_LOCAL_BIN, BENCH_PYPI_VERSIONS, BENCH_CONNECTIONS,
# BENCH_WARMUP_SECS, BENCH_SECS, BENCH_CLIENT_THREADS, BENCH_PYTHON, BENCH_PYPI_DEPS,
# BENCH_PIP_RUNS, BENCH_PIP_TIMEOUT_SECS, BENCH_SERVER_LOG (see benches/pypi.rs). Timings
# are reported, never asserted. pip runs isolated (temp HOME, PIP_CONFIG_FILE=/dev/null,
# --no-cache-dir, only our --index-url) and only ever talks to the local server on
# 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked --bin codeartifact-local
export CODEARTIFACT_LOCAL_BIN="${CODEARTIFACT_LOCAL_BIN:-$PWD/target/release/codeartifact-local}"
cargo bench --locked --bench pypi
