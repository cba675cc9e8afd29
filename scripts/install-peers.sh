#!/usr/bin/env bash
# Installs the peer servers that scripts/bench-cold.sh compares against, into project-local,
# gitignored directories (never globally, pinned versions):
#   .tools/peers/node_modules  Verdaccio (npm registry for npm, pnpm, yarn)
#   .venv-peers                pypiserver (PyPI simple index for pip, uv)
#   nginx (Debian package)     static file server: the floor for Maven and cargo, which have
#                              no peer server that installs offline.
# Run once; the benchmark itself only ever talks to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

VERDACCIO_VERSION=6.8.0
PYPISERVER_VERSION=2.4.2

mkdir -p .tools/peers
if [ ! -x .tools/peers/node_modules/.bin/verdaccio ]; then
  cat > .tools/peers/package.json <<JSON
{
  "private": true,
  "dependencies": { "verdaccio": "${VERDACCIO_VERSION}" },
  "overrides": { "node-fetch": "2.7.0" }
}
JSON
  (cd .tools/peers && npm install --no-audit --no-fund --loglevel=error)
fi

if [ ! -x .venv-peers/bin/pypi-server ]; then
  python3 -m venv .venv-peers
  .venv-peers/bin/pip install --quiet "pypiserver==${PYPISERVER_VERSION}" "passlib==1.7.4"
fi

if ! command -v nginx >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light \
      || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx
  else
    echo "nginx missing: install the Debian package nginx (or nginx-light) as root" >&2
    exit 1
  fi
fi
echo "peers: $(.tools/peers/node_modules/.bin/verdaccio --version), pypiserver $(.venv-peers/bin/pip show pypiserver | sed -n 's/^Version: //p'), $(nginx -v 2>&1)"
