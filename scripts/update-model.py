#!/usr/bin/env python3
"""Refresh api-models/codeartifact.json from a pinned botocore release.

Downloads the botocore wheel from PyPI (pip, no install), takes the CodeArtifact service
description, strips every documentation string (we keep operations, HTTP bindings, shapes,
constraints and errors only) and records where it came from in api-models/README.md.
After running it, run `scripts/codegen.sh` to regenerate the Rust bindings.

Usage: scripts/update-model.py [BOTOCORE_VERSION]
"""
import glob, gzip, hashlib, json, os, subprocess, sys, tempfile, zipfile

PINNED = "1.44.8"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, "api-models", "codeartifact.json")
README = os.path.join(ROOT, "api-models", "README.md")
DROP = {"documentation", "documentationUrl", "deprecatedMessage", "examples"}


def strip(node):
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if k not in DROP}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def main():
    version = sys.argv[1] if len(sys.argv) > 1 else PINNED
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--only-binary=:all:", "-d", tmp, f"botocore=={version}"], check=True)
        wheel = glob.glob(os.path.join(tmp, "botocore-*.whl"))[0]
        wheel_sha = hashlib.sha256(open(wheel, "rb").read()).hexdigest()
        with zipfile.ZipFile(wheel) as zf:
            name = next(n for n in zf.namelist()
                        if n.startswith("botocore/data/codeartifact/") and "/service-2.json" in n)
            raw = zf.read(name)
    if name.endswith(".gz"):
        raw = gzip.decompress(raw)
    source_sha = hashlib.sha256(raw).hexdigest()
    model = strip(json.loads(raw))
    text = json.dumps(model, indent=1, sort_keys=True) + "\n"
    with open(MODEL, "w") as f:
        f.write(text)
    ops = len(model["operations"])
    with open(README, "w") as f:
        f.write(f"""# codeartifact-model

`codeartifact.json` is the CodeArtifact service model (API version
`{model['metadata']['apiVersion']}`, protocol `{model['metadata']['protocol']}`, {ops} operations) with every
documentation string removed. It is never edited by hand: `scripts/update-model.py` rewrites it
from a pinned botocore release, and `scripts/codegen.sh` regenerates `src/generated.rs` from it.
`tests/sourcegen.rs` fails when `src/generated.rs` is stale.

## Provenance

| what | value |
|---|---|
| package | botocore {version} (PyPI wheel) |
| wheel sha256 | `{wheel_sha}` |
| file in the wheel | `{name}` |
| sha256 of that file, uncompressed | `{source_sha}` |
| sha256 of `codeartifact.json` | `{hashlib.sha256(text.encode()).hexdigest()}` |
""")
    print(f"wrote {MODEL} ({ops} operations) from botocore {version}")


if __name__ == "__main__":
    main()
