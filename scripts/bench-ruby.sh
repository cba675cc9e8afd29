#!/usr/bin/env bash
# RubyGems benchmark: push rate (POST api/v1/gems as `gem push` sends it), GET load over
# keep-alive connections of the dependency API (one gem, and an app with its 20 dependencies in
# one request as Bundler batches them) and of gem downloads, and cold `bundle install` of an app
# with 20 dependencies against the release binary, with the server's CPU time for each. Prints a
# table and one JSON line.
#
# Knobs (environment): CODEARTIFACT_LOCAL_BIN, BENCH_RUBY_GEMS, BENCH_CONNECTIONS,
# BENCH_WARMUP_SECS, BENCH_SECS, BENCH_CLIENT_THREADS, BENCH_BUNDLE, BENCH_RUBY_RUNS,
# BENCH_SERVER_LOG (see benches/ruby.rs). Timings are reported, never asserted. Bundler runs
# isolated (cleared environment, temp HOME and BUNDLE_PATH, credentials by `bundle config`) and
# only ever talks to the local server on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked --bin codeartifact-local
export CODEARTIFACT_LOCAL_BIN="${CODEARTIFACT_LOCAL_BIN:-$PWD/target/release/codeartifact-local}"
cargo bench --locked --bench ruby
