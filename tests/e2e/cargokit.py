"""Shared helpers for the cargo end-to-end tests (test_cargo.py, test_cargo_external.py): the real
`cargo` with a temporary CARGO_HOME, small crate projects, hand-made `.crate` files and publish
bodies, and raw HTTP against a cargo sparse-registry repository endpoint.

How cargo is pointed at the server (repository-endpoints spec §1.1, §2.2, §9): the temporary
CARGO_HOME's `config.toml` holds

    [registries.ca]
    index = "sparse+http://127.0.0.1:PORT/cargo/d/DOMAIN-ACCOUNT/REPO/"
    credential-provider = "cargo:token"          # token from CARGO_REGISTRIES_CA_TOKEN
    [registry]
    default = "ca"
    [source.crates-io]
    replace-with = "ca"

which is the configuration the service documents for cargo (with `cargo:token` instead of
`cargo:token-from-stdout aws codeartifact get-authorization-token …`; `CargoHome` can write that
one too). Cargo 1.95 accepts a plain-http sparse index and sends the token on it; its first
`GET config.json` carries no `Authorization`, and the server's 401 makes it repeat the request
with the token.

Isolation: every cargo run gets a temporary HOME, CARGO_HOME and CARGO_TARGET_DIR, a minimal
environment (conftest `client_env`, no inherited CARGO_*/RUSTUP_* variables), the toolchain's own
`cargo`/`rustc` binaries (never the rustup proxy, which would read the temporary HOME), and a
configuration whose only registry is the server under test on 127.0.0.1; `[source.crates-io]` is
replaced by that registry, so even an accidental dependency on the public crate registry resolves
on loopback. `CargoHome.run` checks the configuration (and that no `.cargo/config*` exists above
the working directory) before every run. The crates used by the tests depend only on crates of
the registry under test.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import shutil
import struct
import subprocess
import tarfile
import tomllib
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import pytest

from conftest import RawResponse, aws_cli_path, basic, client_env, http_request

REGISTRY = "ca"
MIN_CARGO = (1, 74)  # first cargo with authenticated alternative registries (spec §9)
CARGO_TIMEOUT = 180

_toolchain: "Toolchain | None" = None


# --------------------------------------------------------------------------------------------
# The toolchain
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Toolchain:
    cargo: Path
    rustc: Path
    rustdoc: Path
    version: str


def require_cargo() -> Toolchain:
    """The real cargo/rustc binaries; fails loudly (never skips) when cargo is missing or too old."""
    global _toolchain
    if _toolchain is not None:
        return _toolchain
    found = shutil.which("cargo")
    if not found:
        pytest.fail("cargo not found on PATH: the cargo end-to-end tests need the Rust toolchain "
                    f"(cargo ≥ {MIN_CARGO[0]}.{MIN_CARGO[1]})", pytrace=False)
    # `rustc --print sysroot` through whatever `rustc` is next to cargo (a rustup proxy or the real
    # one) names the toolchain directory; its bin/ holds the real binaries.
    rustc_front = Path(found).with_name("rustc")
    p = subprocess.run([str(rustc_front if rustc_front.exists() else "rustc"), "--print", "sysroot"],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        pytest.fail(f"`rustc --print sysroot` failed: {p.stderr}", pytrace=False)
    bin_dir = Path(p.stdout.strip()) / "bin"
    cargo, rustc, rustdoc = bin_dir / "cargo", bin_dir / "rustc", bin_dir / "rustdoc"
    for tool in (cargo, rustc):
        if not (tool.is_file() and os.access(tool, os.X_OK)):
            pytest.fail(f"{tool} is missing: the toolchain at {bin_dir.parent} is incomplete", pytrace=False)
    v = subprocess.run([str(cargo), "--version"], capture_output=True, text=True, timeout=60)
    m = re.match(r"cargo (\d+)\.(\d+)", v.stdout)
    if v.returncode != 0 or not m:
        pytest.fail(f"`{cargo} --version` failed: {v.stdout}{v.stderr}", pytrace=False)
    if (int(m.group(1)), int(m.group(2))) < MIN_CARGO:
        pytest.fail(f"{v.stdout.strip()} is older than {MIN_CARGO[0]}.{MIN_CARGO[1]}", pytrace=False)
    _toolchain = Toolchain(cargo, rustc, rustdoc, v.stdout.strip())
    return _toolchain


# --------------------------------------------------------------------------------------------
# CARGO_HOME and cargo runs
# --------------------------------------------------------------------------------------------


@dataclass
class CargoResult:
    rc: int
    stdout: str
    stderr: str
    args: tuple[str, ...]

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def __repr__(self) -> str:
        return (f"cargo {' '.join(self.args)} → rc={self.rc}\n--- stdout\n{self.stdout[-4000:]}"
                f"\n--- stderr\n{self.stderr[-6000:]}")


def loopback_index(url: str, port: int) -> bool:
    if not url.startswith("sparse+"):
        return False
    u = urllib.parse.urlsplit(url[len("sparse+"):])
    return u.scheme == "http" and u.hostname == "127.0.0.1" and u.port == port and u.path.startswith("/cargo/")


class CargoHome:
    """A temporary CARGO_HOME whose only registry is `ca` = the given repository endpoint.

    provider: "token" (`cargo:token`, token from CARGO_REGISTRIES_CA_TOKEN) or "aws" (the
    documented `cargo:token-from-stdout aws codeartifact get-authorization-token …`, run with the
    test venv's AWS CLI against `aws_endpoint`)."""

    def __init__(self, root: Path, endpoint: str, port: int, token: str | None, *, provider: str = "token",
                 aws_endpoint: str | None = None, domain: str | None = None, owner: str | None = None,
                 log: Any = None):
        assert endpoint.endswith("/"), endpoint
        self.root = root
        self.home = root / "home"
        self.cargo_home = root / "cargo-home"
        self.endpoint = endpoint
        self.port = port
        self.token = token
        self.provider = provider
        self.server_log = log  # callable returning the server log, for failure messages
        self.toolchain = require_cargo()
        self.cargo_home.mkdir(parents=True, exist_ok=True)
        self.home.mkdir(parents=True, exist_ok=True)
        if provider == "token":
            cred = "cargo:token"
        elif provider == "aws":
            assert aws_endpoint and domain and owner
            assert urllib.parse.urlsplit(aws_endpoint).hostname == "127.0.0.1", aws_endpoint
            cred = (f"cargo:token-from-stdout {aws_cli_path()} codeartifact get-authorization-token "
                    f"--domain {domain} --domain-owner {owner} --query authorizationToken --output text "
                    f"--endpoint-url {aws_endpoint}")
        else:
            raise ValueError(provider)
        self.config_path = self.cargo_home / "config.toml"
        self.config_path.write_text(
            f'[registries.{REGISTRY}]\n'
            f'index = "sparse+{endpoint}"\n'
            f'credential-provider = {json.dumps(cred)}\n\n'
            f'[registry]\ndefault = "{REGISTRY}"\n\n'
            f'[source.crates-io]\nreplace-with = "{REGISTRY}"\n\n'
            f'[net]\nretry = 0\n\n'
            f'[term]\ncolor = "never"\nprogress.when = "never"\n'
        )

    def fresh(self) -> None:
        """Forgets every cached index file and downloaded crate (keeps config.toml)."""
        for child in self.cargo_home.iterdir():
            if child.name != "config.toml":
                shutil.rmtree(child) if child.is_dir() else child.unlink()

    def _guard(self, cwd: Path) -> None:
        cfg = tomllib.loads(self.config_path.read_text())
        assert set(cfg) <= {"registries", "registry", "source", "net", "term"}, cfg
        assert list(cfg["registries"]) == [REGISTRY], cfg
        for name, reg in cfg["registries"].items():
            assert loopback_index(reg["index"], self.port), f"refusing to run cargo: registry {name} = {reg}"
        for name, src in cfg.get("source", {}).items():
            assert src == {"replace-with": REGISTRY}, f"refusing to run cargo: source {name} = {src}"
        for d in [cwd, *cwd.parents]:
            for f in ("config", "config.toml"):
                assert not (d / ".cargo" / f).exists(), f"refusing to run cargo: {d / '.cargo' / f} exists"

    def env(self, target_dir: Path) -> dict[str, str]:
        env = client_env(self.home)
        tc = self.toolchain
        env.update({
            "PATH": os.pathsep.join([str(tc.cargo.parent), env["PATH"]]),
            "CARGO_HOME": str(self.cargo_home),
            "CARGO_TARGET_DIR": str(target_dir),
            "RUSTC": str(tc.rustc),
            "RUSTDOC": str(tc.rustdoc),
            "CARGO": str(tc.cargo),
            "CARGO_HTTP_TIMEOUT": "30",
            "CARGO_NET_RETRY": "0",
            "CARGO_INCREMENTAL": "0",
            "CARGO_BUILD_JOBS": "2",
            "CARGO_TERM_COLOR": "never",
        })
        if self.provider == "token" and self.token is not None:
            env[f"CARGO_REGISTRIES_{REGISTRY.upper()}_TOKEN"] = self.token
        return env

    def run(self, *args: str, cwd: Path, target_dir: Path | None = None, check: bool = True,
            timeout: float = CARGO_TIMEOUT) -> CargoResult:
        self._guard(cwd)
        target_dir = target_dir or (self.root / "target")
        p = subprocess.run([str(self.toolchain.cargo), *args], cwd=str(cwd), env=self.env(target_dir),
                           capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        res = CargoResult(p.returncode, p.stdout, p.stderr, tuple(args))
        if check and res.rc != 0:
            tail = self.server_log()[-4000:] if self.server_log else ""
            raise AssertionError(f"{res!r}\n--- server log (tail)\n{tail}")
        return res

    def publish(self, project: Path, check: bool = True, target_dir: Path | None = None) -> CargoResult:
        # --no-verify: the packaged crate is not compiled again (its dependencies come from this
        # registry anyway); --allow-dirty: tmp projects are not in a VCS.
        return self.run("publish", "--registry", REGISTRY, "--no-verify", "--allow-dirty", cwd=project,
                        check=check, target_dir=target_dir)

    def run_bin(self, project: Path, target_dir: Path | None = None, check: bool = True) -> CargoResult:
        return self.run("run", "--quiet", cwd=project, target_dir=target_dir, check=check)


def write_package(directory: Path, manifest: str, files: Mapping[str, str]) -> Path:
    """A cargo package directory: Cargo.toml plus the given files (relative paths)."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    (directory / "Cargo.toml").write_text(manifest)
    for rel, text in files.items():
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return directory


def packaged_crate(target_dir: Path, name: str, version: str) -> bytes:
    """The `.crate` file `cargo publish` packaged (cargo 1.95 leaves it under target/package/)."""
    found = sorted((target_dir / "package").rglob(f"{name}-{version}.crate"))
    assert found, f"no {name}-{version}.crate under {target_dir / 'package'}"
    data = {p.read_bytes() for p in found}
    assert len(data) == 1, found
    return data.pop()


# --------------------------------------------------------------------------------------------
# Index paths, .crate files, publish bodies
# --------------------------------------------------------------------------------------------


def index_path(name: str) -> str:
    """The sparse-index file of a crate (spec §9.3), from the lowercased name."""
    n = name.lower()
    if len(n) == 1:
        return f"1/{n}"
    if len(n) == 2:
        return f"2/{n}"
    if len(n) == 3:
        return f"3/{n[0]}/{n}"
    return f"{n[:2]}/{n[2:4]}/{n}"


def crate_manifest(name: str, version: str, deps: Mapping[str, str] | None = None,
                   features: Mapping[str, list[str]] | None = None, extra: str = "") -> str:
    text = f'[package]\nname = "{name}"\nversion = "{version}"\nedition = "2021"\n{extra}\n'
    text += '[lib]\npath = "src/lib.rs"\n'
    if deps:
        text += "\n[dependencies]\n" + "".join(f"{k} = {v}\n" for k, v in deps.items())
    if features:
        text += "\n[features]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in features.items())
    return text


def crate_bytes(name: str, version: str, lib_rs: str = "", manifest: str | None = None,
                files: Mapping[str, bytes | str] | None = None, mtime: int = 1) -> bytes:
    """A deterministic `.crate`: gzip'd tar of `{name}-{version}/Cargo.toml`, `src/lib.rs`, …"""
    entries: dict[str, bytes | str] = {
        "Cargo.toml": manifest if manifest is not None else crate_manifest(name, version),
        "src/lib.rs": lib_rs,
    }
    entries.update(files or {})
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for rel, content in entries.items():
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(f"{name}-{version}/{rel}")
            info.size = len(data)
            info.mode = 0o644
            info.mtime = mtime
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
        gz.write(buf.getvalue())
    return out.getvalue()


def publish_dep(name: str, req: str, kind: str = "normal", *, optional: bool = False,
                features: Iterable[str] = (), default_features: bool = True, target: str | None = None,
                registry: str | None = None, explicit_name: str | None = None) -> dict:
    """One `deps` entry of the publish metadata, as cargo sends it (spec §9.4)."""
    d: dict[str, Any] = {"optional": optional, "default_features": default_features, "name": name,
                         "features": list(features), "version_req": req, "target": target, "kind": kind}
    if registry is not None:
        d["registry"] = registry
    if explicit_name is not None:
        d["explicit_name_in_toml"] = explicit_name
    return d


def publish_meta(name: str, vers: str, deps: Iterable[dict] = (), features: Mapping[str, list[str]] | None = None,
                 **fields: Any) -> dict:
    """The publish metadata JSON with every key cargo 1.95 sends."""
    meta: dict[str, Any] = {
        "name": name, "vers": vers, "deps": list(deps), "features": dict(features or {}), "authors": [],
        "description": None, "documentation": None, "homepage": None, "readme": None, "readme_file": None,
        "keywords": [], "categories": [], "license": None, "license_file": None, "repository": None,
        "badges": {}, "links": None, "rust_version": None,
    }
    meta.update(fields)
    return meta


def publish_body(meta: dict | bytes, crate: bytes, *, json_len: int | None = None,
                 crate_len: int | None = None) -> bytes:
    """`u32 LE json_len, JSON, u32 LE crate_len, crate` (spec §9.4); lengths may be falsified."""
    j = meta if isinstance(meta, bytes) else json.dumps(meta).encode()
    return (struct.pack("<I", len(j) if json_len is None else json_len) + j
            + struct.pack("<I", len(crate) if crate_len is None else crate_len) + crate)


# --------------------------------------------------------------------------------------------
# Raw HTTP against a cargo repository endpoint
# --------------------------------------------------------------------------------------------


class CargoHttp:
    """Requests relative to a cargo repository endpoint `E` (…/cargo/d/{domain}-{owner}/{repo}/).
    `auth`: "raw" (cargo's bare token, the default), "bearer", "basic", None (no header), or a
    literal Authorization value."""

    def __init__(self, endpoint: str, token: str):
        assert endpoint.endswith("/"), endpoint
        self.endpoint = endpoint
        self.token = token
        u = urllib.parse.urlsplit(endpoint)
        assert u.hostname == "127.0.0.1" and u.scheme == "http", endpoint
        self.host, self.port, self.netloc, self.base_path = u.hostname, u.port, u.netloc, u.path

    def authorization(self, auth: str | None) -> str | None:
        if auth is None:
            return None
        if auth == "raw":
            return self.token
        if auth == "bearer":
            return f"Bearer {self.token}"
        if auth == "basic":
            return basic(self.token)
        return auth

    def request(self, method: str, rest: str, body: bytes | None = None, *, auth: str | None = "raw",
                headers: Mapping[str, str] | None = None) -> RawResponse:
        hdrs = {"Host": self.netloc, "Accept": "*/*", "User-Agent": "cargo-e2e-raw"}
        value = self.authorization(auth)
        if value is not None:
            hdrs["Authorization"] = value
        if headers:
            hdrs.update(headers)
        return http_request(self.host, self.port, method, self.base_path + rest, body, hdrs)

    def get(self, rest: str, **kw) -> RawResponse:
        return self.request("GET", rest, **kw)

    def config(self, **kw) -> RawResponse:
        return self.get("config.json", **kw)

    def index(self, name: str, **kw) -> RawResponse:
        return self.get(index_path(name), headers={"Accept": "text/plain"}, **kw)

    def index_lines(self, name: str) -> list[dict]:
        r = self.index(name)
        assert r.status == 200, (name, r)
        return parse_index(r.body)

    def index_versions(self, name: str) -> list[str] | None:
        """The versions of the index file in order; None when the index answers 404."""
        r = self.index(name)
        if r.status == 404:
            return None
        assert r.status == 200, (name, r)
        return [line["vers"] for line in parse_index(r.body)]

    def download(self, name: str, version: str, **kw) -> RawResponse:
        return self.get(f"api/v1/crates/{name}/{version}/download", **kw)

    def publish(self, meta: dict | bytes, crate: bytes, **kw) -> RawResponse:
        return self.publish_raw(publish_body(meta, crate), **kw)

    def publish_raw(self, body: bytes, **kw) -> RawResponse:
        headers = {"Accept": "application/json", "Content-Type": "application/octet-stream"}
        return self.request("PUT", "api/v1/crates/new", body, headers=headers, **kw)


def parse_index(body: bytes) -> list[dict]:
    text = body.decode()
    assert text == "" or text.endswith("\n"), text[-200:]
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def error_details(r: RawResponse) -> list[str]:
    """The `detail` strings of cargo's error format `{"errors":[{"detail":…}]}` (spec §9.5)."""
    assert isinstance(r.json, dict) and isinstance(r.json.get("errors"), list) and r.json["errors"], r
    details = [e.get("detail") for e in r.json["errors"]]
    assert all(isinstance(d, str) and d for d in details), r
    return details
