#!/usr/bin/env bash
# NuGet benchmark: push of the packages (PUT v2/package/ as `dotnet nuget push` sends it),
# then GET load over keep-alive connections of the registration index (what `nuget install`
# and Visual Studio read), the flat-container version list (what `dotnet restore` reads), the
# service index and .nupkg downloads against the release binary, with the server's CPU time
# for each. Prints a table and one JSON line.
#
# Knobs (environment): CODEARTIFACT_LOCAL_BIN, BENCH_NUGET_DEPS, BENCH_NUGET_VERSIONS,
# BENCH_CONNECTIONS, BENCH_WARMUP_SECS, BENCH_SECS, BENCH_CLIENT_THREADS, BENCH_SERVER_LOG (see
# benches/nuget.rs). Timings are reported, never asserted. Only 127.0.0.1 is ever reached.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked --bin codeartifact-local
export CODEARTIFACT_LOCAL_BIN="${CODEARTIFACT_LOCAL_BIN:-$PWD/target/release/codeartifact-local}"
cargo bench --locked --bench nuget
