"""The npm repository endpoint driven by yarn 1 and pnpm (the other npm clients the service
documents), end to end: packages are published with npm, then installed with yarn and pnpm.

References: repository-endpoints spec §3.1 (what `aws codeartifact login --tool npm` writes;
yarn 1 reads the same ~/.npmrc and, with npm ≥ 7, also needs a bare `always-auth=true` line),
§2.2/§2.3 (Bearer token, 401 without one), §5.1 (routes, scoped names spelled `%2f`),
§5.2 (packument, corgi and full, `dist.tarball` rewritten to this repository, integrity
computed server-side), §5.3 (tarball).

The clients are pinned and installed project-locally by scripts/test.sh (`.tools/`), which
exports CODEARTIFACT_TEST_YARN and CODEARTIFACT_TEST_PNPM; a missing client fails the module.

Isolation: every npm/yarn/pnpm run has a temporary HOME whose ~/.npmrc was written by
`aws codeartifact login --tool npm`, an empty global config (yarn 1 looks under $PREFIX/etc,
pnpm at npm_config_globalconfig), its own cache/store directories, the registry also given on
the command line, and HTTP(S)_PROXY pointing at a loopback tripwire with NO_PROXY=127.0.0.1:
a request for any host other than 127.0.0.1 goes to the tripwire (which refuses it and records
it) instead of leaving the machine, and every test asserts the tripwire saw nothing.
`guard_client` refuses to start a client unless its registry is the local server.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml  # PyYAML, installed with the pinned awscli

from conftest import ACCOUNT, REPO_ROOT, LoopbackHttp, flip_char, http_request, read_npmrc, unique
from npmkit import Npm, guard_registry, make_package, make_project, npm_env, require_npm, sri

CLIENT_TIMEOUT = 60
TOOLS_BIN = REPO_ROOT / ".tools" / "node_modules" / ".bin"

LEAF = "e2e-leaf"
MID = "@acme/mid"
# The consumer asks for leaf ^2 directly while mid asks for leaf ^1: the tree has two leaf
# versions, and the newest 1.x (1.2.0, not 1.0.0 and not the `latest` 2.0.0) must be chosen.
CONSUMER_DEPS = {MID: "^1.0.0", LEAF: "^2.0.0"}
EXPECTED_TREE = {
    "mid": "1.0.0",
    "leaf": "2.0.0",
    "midLeaf": "1.2.0",
    "hello": "mid+leaf-1.2.0",
    "leafOut": "leaf-2.0.0",
}


# --------------------------------------------------------------------------------------------
# Clients
# --------------------------------------------------------------------------------------------


def client_path(var: str, name: str) -> Path:
    value = os.environ.get(var) or str(TOOLS_BIN / name)
    path = Path(value)
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(
            f"{name} is missing at {path}: run scripts/test.sh (it installs the pinned clients into "
            f".tools/) or set {var} to the {name} executable",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="module")
def clients() -> dict[str, Path]:
    require_npm()
    found = {
        "yarn": client_path("CODEARTIFACT_TEST_YARN", "yarn"),
        "pnpm": client_path("CODEARTIFACT_TEST_PNPM", "pnpm"),
    }
    for name, path in found.items():
        p = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=30,
                           env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent"})
        assert p.returncode == 0, f"{path} --version failed: {p.stderr}"
        version = p.stdout.strip()
        if name == "yarn":
            assert version.startswith("1."), f"this module tests yarn 1 (classic), {path} is {version}"
    return found


# --------------------------------------------------------------------------------------------
# Tripwire proxy: where any non-loopback request would go
# --------------------------------------------------------------------------------------------


class Tripwire(LoopbackHttp):
    """A loopback HTTP proxy that refuses (403) and records every request it receives."""

    METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "CONNECT")
    HEADERS = {"Connection": "close"}

    def __init__(self) -> None:
        self.hits: list[str] = []
        super().__init__()

    def answer(self, request) -> tuple[int, str, bytes]:
        self.hits.append(f"{request.command} {request.path} (Host: {request.headers.get('Host')})")
        return 403, "text/plain", b"tripwire: requests outside 127.0.0.1 are refused\n"

    @property
    def url(self) -> str:
        return self.origin

    def assert_untouched(self) -> None:
        assert not self.hits, f"a client tried to reach a host other than 127.0.0.1: {self.hits}"


@pytest.fixture(scope="module")
def tripwire():
    t = Tripwire()
    yield t
    t.close()


@pytest.fixture(autouse=True)
def _tripwire_per_test(tripwire):
    tripwire.hits.clear()
    yield
    tripwire.assert_untouched()


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


@dataclass
class Repo:
    """A domain + repository, its npm endpoint, and the HOME `aws codeartifact login` wrote."""

    server: Any
    domain: str
    endpoint: str
    token: str
    login_home: Path
    tmp: Path
    tripwire: Tripwire

    # raw HTTP ----------------------------------------------------------------------------
    def get(self, url: str, accept: str = "application/json", token: str | None = None):
        u = urllib.parse.urlsplit(url)
        assert u.hostname == "127.0.0.1", url
        headers = {"Host": u.netloc, "Accept": accept, "Authorization": f"Bearer {token or self.token}"}
        return http_request(u.hostname, u.port, "GET", u.path, None, headers)

    def packument(self, name: str) -> dict:
        r = self.get(self.endpoint + name.replace("/", "%2f"))
        assert r.status == 200, (name, r)
        return r.json

    def tarball(self, name: str, version: str) -> tuple[dict, bytes]:
        """The version's `dist` as the server describes it, and the bytes the tarball URL serves."""
        dist = self.packument(name)["versions"][version]["dist"]
        r = self.get(dist["tarball"], accept="*/*")
        assert r.status == 200, (name, version, dist, r)
        return dist, r.body

    # homes for yarn/pnpm -----------------------------------------------------------------
    def home(self, label: str, *, always_auth: bool = True, token: str | None = None) -> Path:
        """A fresh HOME with a copy of the login's ~/.npmrc (optionally with a bare
        `always-auth=true` line, spec §3.1, and/or another token)."""
        home = self.tmp / unique(f"home-{label}")
        home.mkdir(parents=True)
        text = (self.login_home / ".npmrc").read_text()
        if token is not None:
            text = text.replace(self.token, token)
        if always_auth:
            text = text.rstrip("\n") + "\nalways-auth=true\n"
        (home / ".npmrc").write_text(text)
        # yarn 1 never checks for updates; nothing else in it (no registry)
        (home / ".yarnrc").write_text("disable-self-update-check true\n")
        return home


def guard_client(home: Path, registry: str, endpoint: str) -> None:
    """Hard guard: a client only ever starts when its registry is this local server."""
    assert registry == endpoint, registry
    guard_registry(home, endpoint)


def run_npm(repo: Repo, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    npm = Npm(repo.login_home, repo.endpoint, repo.token, proxy=repo.tripwire.url)
    return npm(*args, cwd=cwd, check=True)


def publish_leaf(repo: Repo, version: str, tag: str | None = None) -> None:
    d = make_package(repo.tmp, LEAF, version, body=f"exports.leaf = () => 'leaf-{version}';\n")
    run_npm(repo, "publish", *(["--tag", tag] if tag else []), cwd=d)


def consumer(parent: Path, dependencies: dict[str, str] = CONSUMER_DEPS) -> Path:
    return make_project(parent, dependencies=dependencies)


def clean_copy(parent: Path, proj: Path, *files: str) -> Path:
    d = parent / unique("clean")
    d.mkdir(parents=True)
    for f in ("package.json", *files):
        shutil.copy(proj / f, d / f)
    return d


@pytest.fixture
def repo(server, aws, ca, track, tripwire, tmp_path) -> Repo:
    """A fresh domain/repository after `aws codeartifact login --tool npm`, holding e2e-leaf
    1.0.0, 1.2.0, 2.0.0 and @acme/mid 1.0.0 (depends on e2e-leaf ^1.0.0), all published by npm."""
    domain = track.create_domain(unique("js"))["name"]
    ca.create_repository(domain=domain, repository="team")
    home = tmp_path / "home-login"
    res = aws("codeartifact", "login", "--tool", "npm", "--domain", domain, "--repository", "team", home=home)
    assert res.rc == 0, f"login failed: {res.stdout}\n{res.err}"
    endpoint = ca.get_repository_endpoint(domain=domain, repository="team", format="npm")["repositoryEndpoint"]
    assert endpoint == f"http://127.0.0.1:{server.port}/npm/d/{domain}-{ACCOUNT}/team/", endpoint
    values = read_npmrc(home / ".npmrc")
    assert values.get("registry") == endpoint, values
    token = values[f"//127.0.0.1:{server.port}/npm/d/{domain}-{ACCOUNT}/team/:_authToken"]
    r = Repo(server, domain, endpoint, token, home, tmp_path, tripwire)
    for v in ("1.0.0", "1.2.0", "2.0.0"):
        publish_leaf(r, v)
    d = make_package(tmp_path, MID, "1.0.0",
                     body="const { leaf } = require('e2e-leaf');\nexports.hello = () => 'mid+' + leaf();\n",
                     dependencies={LEAF: "^1.0.0"})
    run_npm(r, "publish", cwd=d)
    return r


def js_env(home: Path, tripwire: Tripwire) -> dict[str, str]:
    """Environment for yarn/pnpm: the temporary HOME, empty global configs, XDG dirs inside
    HOME, and every non-127.0.0.1 request routed to the tripwire."""
    env = npm_env(home, proxy=tripwire.url)
    prefix = home / "prefix"
    (prefix / "etc").mkdir(parents=True, exist_ok=True)
    env.update({
        # yarn 1 reads $PREFIX/etc/npmrc and $PREFIX/etc/yarnrc as the global configs
        "PREFIX": str(prefix),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "YARN_CACHE_FOLDER": str(home / ".yarn-cache"),
    })
    return env


def run_js(tool: Path, home: Path, registry: str, endpoint: str, tripwire: Tripwire, *args: str,
           cwd: Path, check: bool = True, guard: bool = True) -> subprocess.CompletedProcess:
    if guard:
        guard_client(home, registry, endpoint)
    p = subprocess.run([str(tool), *args], env=js_env(home, tripwire), capture_output=True, text=True,
                       timeout=CLIENT_TIMEOUT, cwd=str(cwd))
    if check:
        assert p.returncode == 0, (
            f"{tool.name} {' '.join(args)} failed (rc={p.returncode}):\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
        )
    return p


def yarn(clients, repo: Repo, tripwire, home: Path, *args: str, cwd: Path, check: bool = True,
         registry: str | None = None, guard: bool = True) -> subprocess.CompletedProcess:
    registry = registry or repo.endpoint
    extra = ["--non-interactive", "--registry", registry]
    if args and args[0] in ("install", "add"):
        extra += ["--cache-folder", str(home / ".yarn-cache"), "--network-timeout", "30000"]
    return run_js(clients["yarn"], home, registry, repo.endpoint, tripwire, *args, *extra, cwd=cwd,
                  check=check, guard=guard)


def pnpm(clients, repo: Repo, tripwire, home: Path, *args: str, cwd: Path, check: bool = True,
         registry: str | None = None, guard: bool = True) -> subprocess.CompletedProcess:
    registry = registry or repo.endpoint
    extra = [
        f"--config.registry={registry}",
        "--store-dir", str(home / ".pnpm-store"),
        "--cache-dir", str(home / ".pnpm-cache"),
        "--config.fetch-retries=0",
        "--config.update-notifier=false",
        "--reporter=append-only",
    ]
    return run_js(clients["pnpm"], home, registry, repo.endpoint, tripwire, *args, *extra, cwd=cwd,
                  check=check, guard=guard)


TREE_SCRIPT = r"""
const path = require('path');
const midDir = path.dirname(require.resolve('@acme/mid/package.json'));
const out = {
  mid: require('@acme/mid/package.json').version,
  leaf: require('e2e-leaf/package.json').version,
  midLeaf: require(require.resolve('e2e-leaf/package.json', { paths: [midDir] })).version,
  hello: require('@acme/mid').hello(),
  leafOut: require('e2e-leaf').leaf(),
};
console.log(JSON.stringify(out));
"""


def installed_tree(proj: Path, expected: dict[str, str] = EXPECTED_TREE) -> None:
    """What node resolves from the project (works for yarn's nested and pnpm's symlinked
    layouts): the versions and the code of the installed tarballs."""
    p = subprocess.run(["node", "-e", TREE_SCRIPT], cwd=proj, capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, f"node could not load the installed tree:\n{p.stderr}"
    assert json.loads(p.stdout) == expected, p.stdout


def parse_yarn_lock(text: str) -> dict[str, dict[str, str]]:
    """yarn.lock v1 → {spec: {version, resolved, integrity}} (one entry per spec of a block)."""
    entries: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if not line.startswith(" "):
            current = {}
            for spec in line.rstrip(":").split(", "):
                entries[spec.strip('"')] = current
        elif line.startswith("  ") and not line.startswith("    ") and current is not None:
            m = re.match(r"\s+(\S+) (.*)$", line)
            if m and m.group(1) in ("version", "resolved", "integrity"):
                current[m.group(1)] = m.group(2).strip('"')
    return entries


# --------------------------------------------------------------------------------------------
# 1. yarn 1: install, lockfile, --frozen-lockfile
# --------------------------------------------------------------------------------------------


def test_yarn_install_and_frozen_lockfile(clients, repo, tripwire, tmp_path):
    home = repo.home("yarn")
    proj = consumer(tmp_path)
    yarn(clients, repo, tripwire, home, "install", cwd=proj)
    installed_tree(proj)
    # the nested layout yarn 1 produces
    nm = proj / "node_modules"
    assert json.loads((nm / "e2e-leaf" / "package.json").read_text())["version"] == "2.0.0"
    assert json.loads((nm / "@acme" / "mid" / "node_modules" / "e2e-leaf" / "package.json").read_text())[
        "version"] == "1.2.0"

    # the lockfile: tarball URLs of this repository (spec §5.2 rule 2), sha1 fragment and sha512
    # integrity of the bytes the server serves (rule 3)
    lock_text = (proj / "yarn.lock").read_text()
    lock = parse_yarn_lock(lock_text)
    want = {f"{MID}@^1.0.0": (MID, "1.0.0"), f"{LEAF}@^1.0.0": (LEAF, "1.2.0"), f"{LEAF}@^2.0.0": (LEAF, "2.0.0")}
    assert set(lock) == set(want), lock
    for spec, (name, version) in want.items():
        entry = lock[spec]
        assert entry["version"] == version, (spec, entry)
        dist, body = repo.tarball(name, version)
        url, _, fragment = entry["resolved"].partition("#")
        assert url == dist["tarball"] and url.startswith(repo.endpoint), (spec, entry, dist)
        assert fragment == hashlib.sha1(body).hexdigest() == dist["shasum"], (spec, entry, dist)
        assert entry["integrity"] == sri(body) == dist["integrity"], (spec, entry, dist)

    # a newer 1.x appears after the lockfile was written: --frozen-lockfile in a clean directory
    # (fresh cache) still installs exactly the locked tarballs, and leaves the lockfile alone
    publish_leaf(repo, "1.3.0", tag="legacy")  # not `latest`: 2.0.0 stays latest
    clean = clean_copy(tmp_path, proj, "yarn.lock")
    fresh_home = repo.home("yarn-frozen")
    yarn(clients, repo, tripwire, fresh_home, "install", "--frozen-lockfile", cwd=clean)
    installed_tree(clean)
    assert (clean / "yarn.lock").read_text() == lock_text, "yarn --frozen-lockfile changed the lockfile"
    assert list((fresh_home / ".yarn-cache").iterdir()), "the frozen install did not download into its own cache"

    # without the lockfile the new version is resolved: the packument reflects the publish
    proj2 = consumer(tmp_path)
    yarn(clients, repo, tripwire, repo.home("yarn-relock"), "install", "--no-lockfile", cwd=proj2)
    installed_tree(proj2, {**EXPECTED_TREE, "midLeaf": "1.3.0", "hello": "mid+leaf-1.3.0"})
    assert not (proj2 / "yarn.lock").exists()

    # `yarn add` resolves a pinned version and records it in package.json and yarn.lock
    proj3 = consumer(tmp_path, {})
    yarn(clients, repo, tripwire, repo.home("yarn-add"), "add", f"{LEAF}@1.0.0", cwd=proj3)
    assert json.loads((proj3 / "package.json").read_text())["dependencies"] == {LEAF: "1.0.0"}
    assert json.loads((proj3 / "node_modules" / LEAF / "package.json").read_text())["version"] == "1.0.0"
    assert parse_yarn_lock((proj3 / "yarn.lock").read_text())[f"{LEAF}@1.0.0"]["version"] == "1.0.0"
    tripwire.assert_untouched()


# --------------------------------------------------------------------------------------------
# 2. yarn 1: info, and authentication
# --------------------------------------------------------------------------------------------


def yarn_inspect(p: subprocess.CompletedProcess) -> Any:
    """The `inspect` payload of `yarn info --json` (None when yarn printed none)."""
    found = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
    data = [o["data"] for o in found if o.get("type") == "inspect"]
    return data[0] if data else None


def test_yarn_info_and_auth(clients, repo, tripwire, tmp_path):
    home = repo.home("yarn-info")
    # full packument (`Accept: application/json`, spec §5.2)
    info = yarn_inspect(yarn(clients, repo, tripwire, home, "info", LEAF, "--json", cwd=home))
    assert info is not None, "yarn info printed nothing"
    assert info["name"] == LEAF
    assert info["versions"] == ["1.0.0", "1.2.0", "2.0.0"], info
    assert info["dist-tags"] == {"latest": "2.0.0"}, info
    assert info["version"] == "2.0.0", info
    assert info["dist"]["tarball"] == f"{repo.endpoint}{LEAF}/-/{LEAF}-2.0.0.tgz", info["dist"]
    assert set(info["time"]) >= {"1.0.0", "1.2.0", "2.0.0"}, info.get("time")

    # a scoped name (yarn sends `@acme%2fmid`, spec §5.1)
    info = yarn_inspect(yarn(clients, repo, tripwire, home, "info", MID, "--json", cwd=home))
    assert info is not None and info["name"] == MID, info
    assert info["versions"] == ["1.0.0"] and info["dependencies"] == {LEAF: "^1.0.0"}, info
    assert info["dist"]["tarball"] == f"{repo.endpoint}{MID}/-/mid-1.0.0.tgz", info["dist"]

    # one field of one version
    p = yarn(clients, repo, tripwire, home, "info", f"{LEAF}@1.0.0", "version", "--json", cwd=home)
    assert yarn_inspect(p) == "1.0.0", p.stdout
    p = yarn(clients, repo, tripwire, home, "info", LEAF, "versions", "--json", cwd=home)
    assert yarn_inspect(p) == ["1.0.0", "1.2.0", "2.0.0"], p.stdout

    # unknown package: 404, yarn 1 prints no data
    p = yarn(clients, repo, tripwire, home, "info", "no-such-package", "--json", cwd=home, check=False)
    assert yarn_inspect(p) is None, p.stdout

    # without `always-auth` yarn 1 sends the token only for scoped names (spec §3.1): the
    # unscoped packument request carries no credentials and must be refused with 401 (§2.3)
    bare = repo.home("yarn-noauth", always_auth=False)
    p = yarn(clients, repo, tripwire, bare, "info", MID, "--json", cwd=bare)
    assert yarn_inspect(p)["name"] == MID, p.stdout
    p = yarn(clients, repo, tripwire, bare, "info", LEAF, "--json", "--verbose", cwd=bare, check=False)
    assert yarn_inspect(p) is None, p.stdout
    verbose = [json.loads(line).get("data") for line in p.stdout.splitlines() if line.startswith("{")]
    assert f'Request "{repo.endpoint}{LEAF}" finished with status code 401.' in verbose, p.stdout[-3000:]

    # a tampered token: the install fails with 401, nothing is installed
    bad = repo.home("yarn-bad", token=flip_char(repo.token, len(repo.token) // 2))
    proj = consumer(tmp_path)
    p = yarn(clients, repo, tripwire, bad, "install", "--verbose", cwd=proj, check=False)
    assert p.returncode != 0, p.stdout[-2000:]
    assert "finished with status code 401" in p.stdout, p.stdout[-3000:]
    assert not (proj / "node_modules" / LEAF).exists()
    tripwire.assert_untouched()


# --------------------------------------------------------------------------------------------
# 3. pnpm: install, lockfile, --frozen-lockfile
# --------------------------------------------------------------------------------------------


def test_pnpm_install_and_frozen_lockfile(clients, repo, tripwire, tmp_path):
    home = repo.home("pnpm", always_auth=False)  # pnpm needs no always-auth
    proj = consumer(tmp_path)
    pnpm(clients, repo, tripwire, home, "install", cwd=proj)
    installed_tree(proj)
    # pnpm's layout: one directory per resolved version under node_modules/.pnpm
    virtual = proj / "node_modules" / ".pnpm"
    for d, version in (("e2e-leaf@1.2.0", "1.2.0"), ("e2e-leaf@2.0.0", "2.0.0"), ("@acme+mid@1.0.0", "1.0.0")):
        name = LEAF if d.startswith(LEAF) else MID
        manifest = virtual / d / "node_modules" / name / "package.json"
        assert json.loads(manifest.read_text())["version"] == version, manifest
    assert not (virtual / "e2e-leaf@1.0.0").exists()
    modules = yaml.safe_load((proj / "node_modules" / ".modules.yaml").read_text())
    assert modules["registries"]["default"] == repo.endpoint, modules["registries"]

    lock_text = (proj / "pnpm-lock.yaml").read_text()
    lock = yaml.safe_load(lock_text)
    deps = lock["importers"]["."]["dependencies"]
    assert {k: v["version"] for k, v in deps.items()} == {MID: "1.0.0", LEAF: "2.0.0"}, deps
    assert set(lock["packages"]) == {f"{MID}@1.0.0", f"{LEAF}@1.2.0", f"{LEAF}@2.0.0"}, lock["packages"]
    assert lock["snapshots"][f"{MID}@1.0.0"] == {"dependencies": {LEAF: "1.2.0"}}, lock["snapshots"]
    for key, entry in lock["packages"].items():
        name, version = key.rsplit("@", 1)
        dist, body = repo.tarball(name, version)
        assert entry["resolution"]["integrity"] == sri(body) == dist["integrity"], (key, entry, dist)
        # no `tarball` in the lockfile: pnpm derives {registry}{name}/-/{base}-{version}.tgz,
        # which the server must serve (spec §5.3)
        assert "tarball" not in entry["resolution"], entry

    # a newer 1.x appears: --frozen-lockfile in a clean directory with a fresh store installs
    # exactly the locked versions and leaves the lockfile alone
    publish_leaf(repo, "1.3.0", tag="legacy")  # not `latest`: 2.0.0 stays latest
    clean = clean_copy(tmp_path, proj, "pnpm-lock.yaml")
    fresh_home = repo.home("pnpm-frozen", always_auth=False)
    pnpm(clients, repo, tripwire, fresh_home, "install", "--frozen-lockfile", cwd=clean)
    installed_tree(clean)
    assert (clean / "pnpm-lock.yaml").read_text() == lock_text, "pnpm --frozen-lockfile changed the lockfile"
    assert (fresh_home / ".pnpm-store").is_dir(), "the frozen install did not use its own store"

    # a fresh resolution sees 1.3.0
    proj2 = consumer(tmp_path)
    pnpm(clients, repo, tripwire, repo.home("pnpm-relock", always_auth=False), "install", cwd=proj2)
    installed_tree(proj2, {**EXPECTED_TREE, "midLeaf": "1.3.0", "hello": "mid+leaf-1.3.0"})

    # `pnpm add` a pinned version
    proj3 = consumer(tmp_path, {})
    pnpm(clients, repo, tripwire, repo.home("pnpm-add", always_auth=False), "add", f"{LEAF}@1.0.0", cwd=proj3)
    assert json.loads((proj3 / "package.json").read_text())["dependencies"] == {LEAF: "1.0.0"}
    assert json.loads((proj3 / "node_modules" / LEAF / "package.json").read_text())["version"] == "1.0.0"

    # a tampered token: 401, nothing installed
    bad = repo.home("pnpm-bad", always_auth=False, token=flip_char(repo.token, len(repo.token) // 2))
    proj4 = consumer(tmp_path)
    p = pnpm(clients, repo, tripwire, bad, "install", cwd=proj4, check=False)
    assert p.returncode != 0 and "ERR_PNPM_FETCH_401" in p.stdout + p.stderr, (p.stdout[-2000:], p.stderr[-2000:])
    assert not (proj4 / "node_modules" / LEAF).exists()
    tripwire.assert_untouched()


# --------------------------------------------------------------------------------------------
# 4. the isolation itself: both clients really send other hosts to the tripwire
# --------------------------------------------------------------------------------------------


def test_clients_route_other_hosts_to_the_tripwire(clients, repo, tripwire, tmp_path):
    """`localhost` is loopback but not in NO_PROXY: if the clients honour the proxy settings
    these requests reach the tripwire (and nothing else could have left the machine)."""
    other = repo.endpoint.replace("://127.0.0.1:", "://localhost:")
    home = repo.home("tripwire")
    p = yarn(clients, repo, tripwire, home, "info", LEAF, "--json", cwd=home, registry=other,
             check=False, guard=False)
    assert yarn_inspect(p) is None, p.stdout
    assert any(f"{other}{LEAF}" in h for h in tripwire.hits), (tripwire.hits, p.stdout, p.stderr)
    tripwire.hits.clear()

    proj = consumer(tmp_path, {LEAF: "^2.0.0"})
    p = pnpm(clients, repo, tripwire, home, "install", cwd=proj, registry=other, check=False, guard=False)
    assert p.returncode != 0, p.stdout
    assert any(f"{other}{LEAF}" in h for h in tripwire.hits), (tripwire.hits, p.stdout, p.stderr)
    tripwire.hits.clear()
