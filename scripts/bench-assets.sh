#!/usr/bin/env bash
# Asset benchmark: PublishPackageVersion upload and GetPackageVersionAsset download of a
# large generic asset (512 MiB by default) against the release binary, with the server's
# VmRSS sampled during each transfer and compared with a 64 MiB asset. Prints a table and
# one JSON line.
#
# Knobs (environment): CODEARTIFACT_LOCAL_BIN, BENCH_ASSET_MIB, BENCH_SMALL_ASSET_MIB,
# BENCH_TIMEOUT_SECS, BENCH_SERVER_LOG (see benches/assets.rs). Timings are reported,
# never asserted. Needs about twice the asset size free in the temp dir.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked --bin codeartifact-local
export CODEARTIFACT_LOCAL_BIN="${CODEARTIFACT_LOCAL_BIN:-$PWD/target/release/codeartifact-local}"
cargo bench --locked --bench assets
