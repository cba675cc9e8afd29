#!/usr/bin/env bash
# Asset benchmark: PublishPackageVersion upload and GetPackageVersionAsset download of a
# large generic asset (512 MiB by default) against the release binary, with the server's
# VmRSS sampled during each transfer and compared with a 64 MiB asset. Prints a table and
# one JSON line.
#
# Then one-stream transfers (benches/assets_compare): a 512 MiB upload and 10 MiB / 512 MiB
# downloads through GetPackageVersionAsset and the Maven endpoint, BENCH_ROUNDS rounds,
# medians; with BENCH_BASELINE_BIN=/path/to/other/binary both run in the same run,
# interleaved, with ratios (e.g. the previous commit's release build).
#
# Knobs (environment): CODEARTIFACT_LOCAL_BIN, BENCH_BASELINE_BIN, BENCH_ASSET_MIB,
# BENCH_SMALL_ASSET_MIB, BENCH_ROUNDS (5; 0 skips the one-stream phase),
# BENCH_STREAM_SMALL_MIB (10), BENCH_STREAM_SMALL_REPEATS (10), BENCH_TIMEOUT_SECS,
# BENCH_SERVER_LOG (see benches/assets.rs). Timings are reported, never asserted. Needs
# about four times the asset size free in the temp dir (TMPDIR=/dev/shm/... keeps the
# disk out of it).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked --bin codeartifact-local
export CODEARTIFACT_LOCAL_BIN="${CODEARTIFACT_LOCAL_BIN:-$PWD/target/release/codeartifact-local}"
cargo bench --locked --bench assets
