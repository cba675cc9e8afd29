#!/usr/bin/env bash
# The test suite, exactly as CI runs it: unit tests, the Rust SDK integration tests, then
# end-to-end tests of the real binary with the AWS CLI, boto3, npm, yarn, pnpm, pip, uv, twine,
# mvn, cargo, gem and bundle.
#
# Creates .venv-test (from PyPI) with the pinned clients in tests/e2e/requirements.txt, and
# .tools/ (from the npm registry) with the pinned yarn 1 and pnpm that test_npm_clients.py drives.
# Every client gets a temporary HOME; nothing global is read or written.
set -euo pipefail
cd "$(dirname "$0")/.."

# mvn and a JDK are system packages (.ci/run installs them); fail loudly and early without them
for tool in mvn java javac; do
  command -v "$tool" >/dev/null || {
    echo "ERROR: '$tool' not found: the Maven tests (tests/e2e/test_maven*.py) need mvn and a JDK." >&2
    echo "Install: apt-get install maven default-jdk-headless libmaven-deploy-plugin-java libmaven-dependency-plugin-java junit4" >&2
    exit 1
  }
done

# ruby, gem and bundle are system packages (.ci/run installs them): the RubyGems tests
# (tests/e2e/test_ruby*.py) and the unit tests of src/formats/ruby need them
for tool in ruby gem bundle; do
  command -v "$tool" >/dev/null || {
    echo "ERROR: '$tool' not found: the RubyGems tests (tests/e2e/test_ruby*.py, src/formats/ruby) need it." >&2
    echo "Install: apt-get install ruby ruby-bundler" >&2
    exit 1
  }
done

# zip (Swift source archives, as SwiftPM makes them) and openssl (the test CA of the https
# upstream tests) are system packages too
for tool in zip openssl; do
  command -v "$tool" >/dev/null || {
    echo "ERROR: '$tool' not found: tests/e2e/swiftkit.py and tests/e2e/test_https_upstream.py need it." >&2
    echo "Install: apt-get install zip openssl" >&2
    exit 1
  }
done

# chromium and chromedriver (system packages, .ci/run installs them) run the console's browser
# tests (tests/e2e/test_console.py)
no_browser() {
  echo "ERROR: '$1' not found: the console's browser tests (tests/e2e/test_console.py) need it." >&2
  echo "Install: apt-get install chromium chromium-driver" >&2
  exit 1
}
command -v chromium >/dev/null || no_browser chromium
command -v chromedriver >/dev/null || no_browser chromedriver

venv=.venv-test
if [ ! -x "$venv/bin/pytest" ] || ! cmp -s tests/e2e/requirements.txt "$venv/.requirements"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/e2e/requirements.txt
  cp tests/e2e/requirements.txt "$venv/.requirements"
fi

# yarn 1 and pnpm, project-local (never global), reinstalled only when the pinned version changes
tools="$PWD/.tools"
yarn_version=1.22.22
pnpm_version=9.15.9
tool_version() { node -p "require('$tools/node_modules/$1/package.json').version" 2>/dev/null || true; }
if [ "$(tool_version yarn)" != "$yarn_version" ] || [ "$(tool_version pnpm)" != "$pnpm_version" ]; then
  npm install --prefix "$tools" --no-audit --no-fund --ignore-scripts --save-exact --loglevel=error \
    "yarn@$yarn_version" "pnpm@$pnpm_version"
fi
[ "$(tool_version yarn)" = "$yarn_version" ] && [ "$(tool_version pnpm)" = "$pnpm_version" ] \
  || { echo "yarn $yarn_version / pnpm $pnpm_version are not installed in $tools" >&2; exit 1; }

cargo build --locked --bin codeartifact-local
cargo test --locked --workspace

export CODEARTIFACT_LOCAL_BIN="$PWD/target/debug/codeartifact-local"
export CODEARTIFACT_TEST_VENV="$PWD/$venv"
export CODEARTIFACT_TEST_YARN="$tools/node_modules/.bin/yarn"
export CODEARTIFACT_TEST_PNPM="$tools/node_modules/.bin/pnpm"
"$venv/bin/pytest" -q tests/e2e
