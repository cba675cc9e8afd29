#!/usr/bin/env bash
# Maven benchmark: deploy rate (the PUTs of `mvn deploy`: jar, POM, checksums and the
# artifact-level maven-metadata.xml that publishes each version), GET load over keep-alive
# connections of the generated maven-metadata.xml and its .sha1, of jars and of POMs with
# their .sha1, and cold `mvn dependency:get` of one artifact and its dependency (when mvn
# and Debian's maven-dependency-plugin are installed) against the release binary, with the
# server's CPU time for each. Prints a table and one JSON line.
#
# Knobs (environment): CODEARTIFACT_LOCAL_BIN, BENCH_MAVEN_VERSIONS, BENCH_MAVEN_JAR_KIB,
# BENCH_CONNECTIONS, BENCH_WARMUP_SECS, BENCH_SECS, BENCH_CLIENT_THREADS, BENCH_MVN,
# BENCH_MVN_RUNS, BENCH_MVN_TIMEOUT_SECS, BENCH_SERVER_LOG (see benches/maven.rs). Timings
# are reported, never asserted. mvn runs isolated and offline (temp HOME and user.home, its
# own local repository and settings, MAVEN_SKIP_RC=1, plugins from the file:// mirror
# /usr/share/maven-repo) and only ever talks to the local server on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked --bin codeartifact-local
export CODEARTIFACT_LOCAL_BIN="${CODEARTIFACT_LOCAL_BIN:-$PWD/target/release/codeartifact-local}"
cargo bench --locked --bench maven
