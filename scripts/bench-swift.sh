#!/usr/bin/env bash
# Swift package registry benchmark: publish rate (PUT {scope}/{name}/{version}, multipart, as
# `swift package-registry publish` sends it), then GET load over keep-alive connections of the
# release list, release metadata, `Package.swift` manifests and source archives, with the
# `Accept` headers SwiftPM sends, against the release binary, with the server's CPU time for
# each. Prints a table and one JSON line.
#
# Knobs (environment): CODEARTIFACT_LOCAL_BIN, BENCH_SWIFT_RELEASES, BENCH_CONNECTIONS,
# BENCH_WARMUP_SECS, BENCH_SECS, BENCH_CLIENT_THREADS, BENCH_SERVER_LOG (see benches/swift.rs).
# Timings are reported, never asserted; only the local server on 127.0.0.1 is ever asked.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked --bin codeartifact-local
export CODEARTIFACT_LOCAL_BIN="${CODEARTIFACT_LOCAL_BIN:-$PWD/target/release/codeartifact-local}"
cargo bench --locked --bench swift
