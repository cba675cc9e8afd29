"""The npm client kit for the end-to-end suite, shared by every module that talks npm: the real
npm client bound to a temporary HOME written by `aws codeartifact login --tool npm`, package and
project directories, and hand-made tarballs and publish documents (the JSON `npm publish` PUTs).

Isolation: every npm run has a temporary HOME, an empty global config, a fresh cache (so every
answer comes from the server), audit/fund/update-notifier off, and refuses to start unless every
registry it is configured with is a loopback address. With `proxy`, every request for a host
other than 127.0.0.1 goes to that (tripwire) proxy.

The hand-made bytes are deterministic: the same arguments give the same bytes, so a document the
server renders from them can be compared with a golden file.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import itertools
import re
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

from conftest import ACCOUNT, client_env, finish, read_npmrc, run_aws, unique, which

NPM_TIMEOUT = 90
NPM_FETCH_TIMEOUT_MS = 30000

_runs = itertools.count(1)


def require_npm() -> None:
    """Fail (never skip) when npm or node is missing."""
    if which("npm") is None or which("node") is None:
        pytest.fail("npm/node are not installed; the npm tests need them", pytrace=False)


def npm_env(home: Path, proxy: str | None = None) -> dict[str, str]:
    """npm's environment (also the base for yarn/pnpm): the temporary HOME's ~/.npmrc, an empty
    global config, a fresh cache per run; with `proxy`, every request for a host other than
    127.0.0.1 is sent there."""
    env = client_env(home)
    globalrc = home / ".npmrc-global"
    globalrc.touch()
    env.update({
        "NPM_CONFIG_USERCONFIG": str(home / ".npmrc"),
        "npm_config_globalconfig": str(globalrc),
        "npm_config_cache": str(home / f".npm-cache-{next(_runs)}"),
        "npm_config_audit": "false",
        "npm_config_fund": "false",
        "npm_config_update_notifier": "false",
        "npm_config_prefer_online": "true",
        "npm_config_fetch_retries": "0",
        "npm_config_fetch_timeout": str(NPM_FETCH_TIMEOUT_MS),
        "npm_config_progress": "false",
        "npm_config_ignore_scripts": "true",
        "npm_config_provenance": "false",
    })
    if proxy is not None:
        env.update({
            "HTTP_PROXY": proxy,
            "HTTPS_PROXY": proxy,
            "http_proxy": proxy,
            "https_proxy": proxy,
            "NO_PROXY": "127.0.0.1",
            "no_proxy": "127.0.0.1",
        })
    return env


def guard_registry(home: Path, registry: str) -> None:
    """Hard guard: a client only ever starts when its registry is `registry`, a local server,
    and no other registry (scoped, or in a ~/.yarnrc) is configured."""
    assert registry.startswith("http://127.0.0.1:"), registry
    values = read_npmrc(home / ".npmrc")
    registries = {k: v for k, v in values.items() if k == "registry" or k.endswith(":registry")}
    assert registries.get("registry") == registry, f"refusing to run with {registries}"
    assert all(v.startswith("http://127.0.0.1:") for v in registries.values()), registries
    yarnrc = home / ".yarnrc"
    assert not yarnrc.exists() or "registry" not in yarnrc.read_text(), yarnrc.read_text()


class Npm:
    """npm bound to one temporary HOME whose ~/.npmrc was written by `aws codeartifact login`."""

    def __init__(self, home: Path, registry: str, token: str, proxy: str | None = None):
        self.home = home
        self.registry = registry
        self.token = token
        self.proxy = proxy

    def env(self) -> dict[str, str]:
        return npm_env(self.home, self.proxy)

    def start(self, *args: str, cwd: Path | None = None) -> subprocess.Popen:
        guard_registry(self.home, self.registry)
        return subprocess.Popen(["npm", *args], env=self.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, cwd=str(cwd or self.home))

    def __call__(self, *args: str, cwd: Path | None = None, check: bool = False) -> subprocess.CompletedProcess:
        result = finish(self.start(*args, cwd=cwd), NPM_TIMEOUT, f"npm {' '.join(args)}")
        if check:
            assert result.returncode == 0, (
                f"npm {' '.join(args)} failed (rc={result.returncode}):\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

    def json(self, *args: str, cwd: Path | None = None) -> Any:
        p = self(*args, "--json", cwd=cwd, check=True)
        return json.loads(p.stdout) if p.stdout.strip() else None

    def versions(self, name: str) -> list[str]:
        """`npm view NAME versions --json` (a single version comes back as a bare string)."""
        value = self.json("view", name, "versions")
        return [value] if isinstance(value, str) else list(value)


def login(endpoint: str, home: Path, domain: str, repo: str, proxy: str | None = None) -> Npm:
    """`aws codeartifact login --tool npm` against the server at `endpoint` into `home`; the npm
    it configured (registry and token read back from ~/.npmrc)."""
    res = run_aws(endpoint, home, "codeartifact", "login", "--tool", "npm", "--domain", domain,
                  "--repository", repo)
    assert res.rc == 0, f"login to {domain}/{repo} failed:\n{res.stdout}\n{res.err}"
    netloc = endpoint.split("://", 1)[1]
    registry = f"http://{netloc}/npm/d/{domain}-{ACCOUNT}/{repo}/"
    values = read_npmrc(home / ".npmrc")
    assert values.get("registry") == registry, values
    return Npm(home, registry, values[f"//{netloc}/npm/d/{domain}-{ACCOUNT}/{repo}/:_authToken"], proxy)


def npm_error_code(p: subprocess.CompletedProcess) -> str | None:
    m = re.search(r"npm (?:error|ERR!) code (\S+)", p.stderr)
    return m.group(1) if m else None


def npm_coordinates(name: str) -> dict[str, str]:
    """The control plane's `namespace`/`package` of an npm name (`@scope/name` → scope, name)."""
    if name.startswith("@"):
        scope, bare = name[1:].split("/", 1)
        return {"namespace": scope, "package": bare}
    return {"package": name}


def exports(value: str) -> str:
    """An index.js that exports `value` (a marker an installed copy can be traced back by)."""
    return f"module.exports = {json.dumps(value)};\n"


def make_package(parent: Path, name: str, version: str, *, dependencies=None, dev=None,
                 peer=None, optional=None, readme: str | None = None, body: str | None = None,
                 description: str | None = None) -> Path:
    """A package directory: package.json and index.js (`body`, by default one exporting the
    name and version), and README.md when `readme` is given."""
    d = parent / f"src-{name.replace('/', '__').replace('@', '')}-{version}-{unique('p')}"
    d.mkdir(parents=True)
    manifest: dict[str, Any] = {
        "name": name,
        "version": version,
        "description": description or f"{name} test package",
        "main": "index.js",
        "license": "MIT",
    }
    if dependencies:
        manifest["dependencies"] = dependencies
    if dev:
        manifest["devDependencies"] = dev
    if peer:
        manifest["peerDependencies"] = peer
    if optional:
        manifest["optionalDependencies"] = optional
    (d / "package.json").write_text(json.dumps(manifest, indent=2))
    (d / "index.js").write_text(body or f"module.exports = {{ name: {json.dumps(name)}, version: {json.dumps(version)} }};\n")
    if readme is not None:
        (d / "README.md").write_text(readme)
    return d


def publish(npm: Npm, parent: Path, name: str, version: str, *extra: str, check: bool = True,
            **package: Any) -> subprocess.CompletedProcess:
    """`npm publish [extra…]` of a package made by `make_package(**package)`."""
    d = make_package(parent, name, version, **package)
    return npm("publish", *extra, cwd=d, check=check)


def make_project(parent: Path, name: str = "consumer", dependencies=None) -> Path:
    """A private project directory to install into."""
    d = parent / unique(name)
    d.mkdir(parents=True)
    manifest: dict[str, Any] = {"name": name, "version": "1.0.0", "private": True}
    if dependencies:
        manifest["dependencies"] = dependencies
    (d / "package.json").write_text(json.dumps(manifest, indent=2))
    return d


def tarball(name: str, version: str, extra: str = "", *, code: str | None = None) -> bytes:
    """An npm tarball made by hand (package/package.json + package/index.js, which exports
    `version + extra` unless `code` is given)."""
    manifest = json.dumps({"name": name, "version": version, "main": "index.js"}).encode()
    code = (code if code is not None else exports(version + extra)).encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for fname, data in (("package/package.json", manifest), ("package/index.js", code)):
            info = tarfile.TarInfo(fname)
            info.size = len(data)
            info.mtime = 499162500
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(buf.getvalue(), mtime=0)


def sri(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def publish_body(registry: str, name: str, version: str, tgz: bytes, *, integrity: str | None = None,
                 shasum: str | None = None, data: str | None = None, length: int | None = None,
                 body_name: str | None = None) -> dict:
    """The JSON document `npm publish` PUTs (repository-endpoints spec §5.4)."""
    body_name = body_name or name
    base = name.split("/")[-1]
    fname = f"{name}-{version}.tgz"
    return {
        "_id": body_name,
        "name": body_name,
        "description": "hand-made publish",
        "dist-tags": {"latest": version},
        "versions": {
            version: {
                "name": body_name,
                "version": version,
                "main": "index.js",
                "_id": f"{body_name}@{version}",
                "dist": {
                    "integrity": integrity or sri(tgz),
                    "shasum": shasum or sha1(tgz),
                    "tarball": f"{registry}{name}/-/{base}-{version}.tgz",
                },
            }
        },
        "access": None,
        "_attachments": {
            fname: {
                "content_type": "application/octet-stream",
                "data": data if data is not None else base64.b64encode(tgz).decode(),
                "length": len(tgz) if length is None else length,
            }
        },
    }
