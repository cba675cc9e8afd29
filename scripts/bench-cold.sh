#!/usr/bin/env bash
# Cold-install benchmark: the same packages published to codeartifact-local and to a peer
# (Verdaccio for npm/pnpm/yarn, pypiserver for pip/uv, nginx serving the same files statically
# for mvn and cargo), then each client's cold install against each, alternating. Prints a table
# per client (median, ratio to the peer, our server's CPU per install) and one JSON line.
# Timings are reported, never asserted. Only ever talks to 127.0.0.1.
#
# Peers: run scripts/install-peers.sh once.
# Also the client's own CPU per install (user + system), steadier than wall time on a busy
# machine.
# Knobs (environment): CODEARTIFACT_LOCAL_BIN (default: the release build), BENCH_COLD_BASE_BIN
# (a second build, e.g. the previous commit's, run in the same rounds), BENCH_COLD_RUNS (5),
# BENCH_COLD_CLIENTS (npm,pnpm,yarn,pip,uv,mvn,cargo), BENCH_COLD_NODE_TOOLS (directory with
# yarn and pnpm), CODEARTIFACT_TEST_VENV (python with boto3, pip, uv), BENCH_COLD_LOG_LEVEL,
# BENCH_COLD_KEEP=1 (keep the work directory and logs).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${CODEARTIFACT_LOCAL_BIN:-}" ]]; then
  cargo build --release --locked --bin codeartifact-local
  export CODEARTIFACT_LOCAL_BIN="$PWD/target/release/codeartifact-local"
fi
[[ -x .tools/peers/node_modules/.bin/verdaccio && -x .venv-peers/bin/pypi-server ]] \
  || { echo "peers missing: run scripts/install-peers.sh" >&2; exit 1; }
PYTHON="${CODEARTIFACT_TEST_VENV:-.venv-test}/bin/python"
[[ -x "$PYTHON" ]] || PYTHON=python3
exec "$PYTHON" scripts/bench_cold.py
