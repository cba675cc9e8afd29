#!/usr/bin/env bash
# State-scaling benchmark (issue 19): builds, offline, a domain of 100,000 x S package versions
# over 20,000 x S packages (npm, PyPI, Maven, generic, cargo; one npm package of 5,000 x S
# versions, one Maven artifact of 2,000 x S; a chain of 10 repositories ending in a dir:
# external connection) for each scale S, starts the release binary on it and measures
# start-to-ready, RSS at rest, ListPackages / ListPackageVersions first and last pages, the big
# packument and maven-metadata.xml (cold, cached), fetches through the whole chain, a publish
# into the big package, DescribeDomain, DeleteRepository, and the store's bytes per version.
# The state is written through Registry::import_versions (batched commits), not over HTTP.
#
# Before/after in one run: BENCH_BASELINE_BIN=/path/to/old/codeartifact-local (interleaved
# with CODEARTIFACT_LOCAL_BIN on the same data directory).
#
# Knobs (environment): CODEARTIFACT_LOCAL_BIN, BENCH_BASELINE_BIN, BENCH_SCALES (1,10; the
# 10x state takes about 1 GB of disk and one to two minutes to build), BENCH_RUNS (3),
# BENCH_DIR (where the states are built; default a temporary directory), BENCH_KEEP (keep the
# states), BENCH_UPSTREAM_TTL (--upstream-metadata-ttl-seconds of the servers, default 0; the
# big repository reaches the external connection, so its pages are cached only with a TTL).
# Timings are reported, never asserted.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked --bin codeartifact-local
export CODEARTIFACT_LOCAL_BIN="${CODEARTIFACT_LOCAL_BIN:-$PWD/target/release/codeartifact-local}"
cargo bench --locked --bench scale
