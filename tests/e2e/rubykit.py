"""Helpers for driving the real `gem` and `bundle` against a RubyGems repository endpoint:
a temporary HOME configured as AWS documents it, gems built with `gem build`, and raw
requests. Used by test_ruby.py and test_ruby_external.py."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import http_request, unique


def require_ruby() -> None:
    missing = [tool for tool in ("ruby", "gem", "bundle") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: apt-get install -y ruby ruby-bundler")




class RubyHome:
    """A temporary HOME configured for one repository endpoint as AWS documents it."""

    def __init__(self, root: Path, endpoint: str, token: str):
        self.home = root / "home"
        self.gem_home = root / "gems"
        self.home.mkdir(parents=True)
        self.endpoint = endpoint
        self.token = token
        (self.home / ".gem").mkdir()
        cred = self.home / ".gem" / "credentials"
        cred.write_text(f"---\n:codeartifact_api_key: Bearer {token}\n")
        cred.chmod(0o600)
        host_part = endpoint.split("://", 1)[1]
        self.source = f"http://aws:{token}@{host_part}"
        (self.home / ".gemrc").write_text(f"---\n:sources:\n- {self.source}\n:update_sources: false\n")

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GEM_", "BUNDLE_", "RUBY"))}
        env.update(HOME=str(self.home), GEM_HOME=str(self.gem_home), GEM_PATH=str(self.gem_home),
                   RUBYGEMS_HOST=self.endpoint.rstrip("/"), BUNDLE_USER_HOME=str(self.home / ".bundle"))
        return env

    def run(self, *args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
        out = subprocess.run(list(args), cwd=cwd or self.home, env=self.env(), capture_output=True,
                             text=True, timeout=300)
        if check:
            assert out.returncode == 0, f"{args}: {out.stdout}\n{out.stderr}"
        return out


def build_gem(root: Path, name: str, version: str, deps: dict[str, str] | None = None,
              platform: str | None = None, summary: str = "An e2e gem") -> Path:
    """`gem build` of a gem whose library `NAME.rb` defines `E2E_<NAME>` = "NAME VERSION"."""
    src = root / f"src-{name}-{version}-{platform or 'ruby'}-{unique('s')}"
    (src / "lib").mkdir(parents=True)
    const = "E2E_" + name.upper().replace("-", "_")
    requires = "".join(f"require '{d}'\n" for d in (deps or {}))
    (src / "lib" / f"{name}.rb").write_text(f"{requires}{const} = '{name} {version}'\n")
    dep_lines = "".join(f"  s.add_dependency {d!r}, {r!r}\n" for d, r in (deps or {}).items())
    plat = f"  s.platform = {platform!r}\n" if platform else ""
    (src / f"{name}.gemspec").write_text(
        "Gem::Specification.new do |s|\n"
        f"  s.name = {name!r}\n  s.version = {version!r}\n  s.summary = {summary!r}\n"
        "  s.authors = ['E2E']\n  s.license = 'MIT'\n  s.homepage = 'https://example.invalid/e2e'\n"
        f"  s.files = ['lib/{name}.rb']\n{dep_lines}{plat}"
        "end\n")
    out = subprocess.run(["gem", "build", f"{name}.gemspec"], cwd=src, capture_output=True, text=True,
                         timeout=120, env={**os.environ, "HOME": str(src)})
    assert out.returncode == 0, out.stderr
    return next(src.glob("*.gem"))


def push(home: RubyHome, gem: Path, check: bool = True) -> subprocess.CompletedProcess:
    return home.run("gem", "push", "--key", "codeartifact_api_key", str(gem), check=check)


def raw(endpoint: str, method: str, path: str, token: str | None, body: bytes | None = None,
        auth: str | None = None):
    u = endpoint.split("://", 1)[1]
    hostport, prefix = u.split("/", 1)
    host, port = hostport.split(":")
    headers = {"Host": hostport}
    if token is not None:
        headers["Authorization"] = auth or f"Bearer {token}"
    if body is not None:
        headers["Content-Type"] = "application/octet-stream"
    return http_request(host, int(port), method, f"/{prefix}{path}", body, headers)


def http_range(endpoint: str, token: str, path: str, rng: str):
    u = endpoint.split("://", 1)[1]
    hostport, prefix = u.split("/", 1)
    host, port = hostport.split(":")
    return http_request(host, int(port), "GET", f"/{prefix}{path}", None,
                        {"Host": hostport, "Authorization": f"Bearer {token}", "Range": rng})




def gem_bytes(name: str, version: str, deps: dict[str, str] | None = None, platform: str = "ruby",
              summary: str = "A gem") -> bytes:
    """A minimal `.gem` made of deterministic bytes (no `gem build`): a tar holding
    `metadata.gz` (the YAML gemspec as RubyGems writes it) and an empty `data.tar.gz`."""
    import gzip
    import io
    import tarfile

    def requirement(indent: str, reqs: list[tuple[str, str]]) -> str:
        lines = [f"{indent}requirements:"]
        for op, v in reqs:
            lines += [f'{indent}- - "{op}"', f"{indent}  - !ruby/object:Gem::Version", f"{indent}    version: '{v}'"]
        return "\n".join(lines) + "\n"

    dep_yaml = "".join(
        f"- !ruby/object:Gem::Dependency\n  name: {d}\n  requirement: !ruby/object:Gem::Requirement\n"
        + requirement("    ", [tuple(c.strip().split(" ", 1)) for c in req.split(",")])
        + "  type: :runtime\n  prerelease: false\n"
        for d, req in (deps or {}).items())
    gemspec = (
        f"--- !ruby/object:Gem::Specification\nname: {name}\nversion: !ruby/object:Gem::Version\n"
        f"  version: {version}\nplatform: {platform}\nauthors:\n- Golden\n"
        f"date: 2026-01-01 00:00:00.000000000 Z\ndependencies:{' []' if not deps else ''}\n{dep_yaml}"
        f"description: {summary}\nemail: golden@example.invalid\nhomepage: https://example.invalid/{name}\n"
        f"licenses:\n- MIT\nmetadata: {{}}\nrequired_ruby_version: !ruby/object:Gem::Requirement\n"
        + requirement("  ", [(">=", "2.7")])
        + "required_rubygems_version: !ruby/object:Gem::Requirement\n"
        + requirement("  ", [(">=", "0")])
        + f"rubygems_version: 3.3.15\nspecification_version: 4\nsummary: {summary}\n")

    def gz(data: bytes) -> bytes:
        out = io.BytesIO()
        with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as g:
            g.write(data)
        return out.getvalue()

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for member, data in (("metadata.gz", gz(gemspec.encode())), ("data.tar.gz", gz(b""))):
            info = tarfile.TarInfo(member)
            info.size, info.mtime, info.mode = len(data), 0, 0o444
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()
