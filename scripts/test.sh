#!/usr/bin/env bash
# The test suite, exactly as CI runs it: unit tests, the Rust SDK integration tests, then
# the AWS CLI / boto3 end-to-end tests against the real binary.
#
# Creates .venv-test (from PyPI) with the pinned clients in tests/e2e/requirements.txt.
# Every client gets a temporary HOME; nothing global is read or written.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv-test
if [ ! -x "$venv/bin/pytest" ] || ! cmp -s tests/e2e/requirements.txt "$venv/.requirements"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/e2e/requirements.txt
  cp tests/e2e/requirements.txt "$venv/.requirements"
fi

cargo build --locked --bin codeartifact-local
cargo test --locked --workspace

export CODEARTIFACT_LOCAL_BIN="$PWD/target/debug/codeartifact-local"
export CODEARTIFACT_TEST_VENV="$PWD/$venv"
"$venv/bin/pytest" -q tests/e2e
