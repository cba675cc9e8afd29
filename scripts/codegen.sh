#!/usr/bin/env bash
# Regenerates api-models/src/generated.rs from api-models/codeartifact.json.
#
# The generator is the `sourcegen` test: when the checked-in file is stale it rewrites it
# and fails, so run it once (allowed to fail) and then again (must pass).
set -euo pipefail
cd "$(dirname "$0")/.."

run() { cargo test --quiet -p codeartifact-model --test sourcegen; }

if run >/dev/null 2>&1; then
    echo "api-models/src/generated.rs is up to date"
else
    run
    echo "api-models/src/generated.rs regenerated"
fi
