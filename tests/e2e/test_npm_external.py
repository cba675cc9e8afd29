"""npm through external connections (`public:npmjs`), end to end, with the real npm client.

The "public npm registry" is a second codeartifact-local process started by this module: a
domain/repository there is filled with packages by `npm publish`, and the server under test is
started with `--external-connection public:npmjs=http://aws:TOKEN@127.0.0.1:PORT/npm/d/…/`, so
the credentials in the URL are what lets it read that registry (packuments and tarball links).
An integrity test uses a small in-process fixture registry instead (our own server never serves
bytes that disagree with its packument).

References: upstreams spec §2 (connections, unset URL = unreachable), §3 (search order and
origin-control pruning), §4 (retention: the repository the client talked to and the connection
repository, never intermediates; listing retains nothing), §5.2 (digest verification), §6.1
(npm merge, `upstream=BLOCK`), §7 (origin controls and defaults), §8 (publish conflicts,
dependency confusion), §9 (origin), §11 (unreachable registries); repository-endpoints spec §5.

Isolation: every npm run has a temporary HOME whose ~/.npmrc was written by
`aws codeartifact login --tool npm`, an empty global config, a fresh cache (so npm really
downloads), audit/fund/update-notifier off; npm refuses to start unless its registry is a
loopback address. Nothing leaves the machine.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

import externalkit
import npmkit
from conftest import LoopbackHttp, Server, http_request, make_client
from externalkit import (UNREACHABLE, PublicSide, assert_healthy_while_running, health,
                         public_server, unreachable_args)
from externalkit import server  # noqa: F401 (the server under test, connected to `public`)
from npmkit import (Npm, exports, login, make_package, make_project, npm_coordinates, npm_error_code, require_npm,
                    sha1, sri, tarball)

NPM_TIMEOUT = 90
NPM_FETCH_TIMEOUT_MS = 30000
PUBLIC_REPO = "npmjs"
CONNECTION = "public:npmjs"

# What the "public registry" holds (package → versions); every version's index.js carries a
# marker so an installed copy can be traced back to it.
PUBLIC_PACKAGES: dict[str, list[str]] = {
    "ext-alpha": ["1.0.0", "1.1.0", "2.0.0"],
    "@extscope/ext-gamma": ["1.0.0", "1.1.0"],
    "conf-pkg": ["0.2.0", "5.0.0"],  # shadows an internal name (dependency confusion)
    "ext-eps": ["3.0.0"],
}


def marker(name: str, version: str) -> str:
    return f"public {name} {version}"


# --------------------------------------------------------------------------------------------
# Clients
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def _npm_present():
    require_npm()


def publish(npm: Npm, parent: Path, name: str, version: str, *extra: str, body: str | None = None,
            check: bool = True) -> subprocess.CompletedProcess:
    """`npm publish` of a package whose index.js exports `body` (default "NAME VERSION")."""
    return npmkit.publish(npm, parent, name, version, *extra, check=check,
                          body=exports(body or f"{name} {version}"))


def installed(project: Path, name: str) -> tuple[str, str]:
    """(version, index.js) of an installed package."""
    d = project / "node_modules" / name
    return json.loads((d / "package.json").read_text())["version"], (d / "index.js").read_text()


def install(npm: Npm, parent: Path, spec: str, check: bool = True) -> tuple[Path, subprocess.CompletedProcess]:
    project = make_project(parent)
    return project, npm("install", spec, cwd=project, check=check)


def get_json(url: str, token: str, accept: str = "application/json") -> tuple[int, Any]:
    u = urllib.parse.urlsplit(url)
    r = http_request(u.hostname, u.port, "GET", u.path, None,
                     {"Host": u.netloc, "Accept": accept, "Authorization": f"Bearer {token}"})
    return r.status, r.json


# --------------------------------------------------------------------------------------------
# The "public registry" and the server under test
# --------------------------------------------------------------------------------------------


class PublicRegistry(PublicSide):
    def coordinates(self, name: str) -> dict[str, str]:
        return npm_coordinates(name)


@pytest.fixture(scope="module")
def public(tmp_path_factory: pytest.TempPathFactory, _isolated_aws_env) -> PublicRegistry:
    """The public npm registry, filled by `npm publish` with PUBLIC_PACKAGES."""
    with public_server(tmp_path_factory, "npm", PUBLIC_REPO, PublicRegistry) as pub:
        base = tmp_path_factory.mktemp("public-npm-work")
        npm = login(pub.srv.endpoint, base / "home", pub.domain, pub.repo)
        # One package per process, its versions in order; the packages in parallel.
        work = base / "work"
        procs = []
        for name, versions in PUBLIC_PACKAGES.items():
            dirs = [make_package(work, name, v, body=exports(marker(name, v))) for v in versions]
            script = " && ".join(f"npm publish --audit=false --fund=false {d}" for d in dirs)
            procs.append((name, subprocess.Popen(["sh", "-c", script], env=npm.env(), cwd=str(work),
                                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                                 text=True)))
        for name, p in procs:
            out, err = p.communicate(timeout=NPM_TIMEOUT)
            assert p.returncode == 0, f"publishing {name} to the public registry failed:\n{out}\n{err}"
        for name, versions in PUBLIC_PACKAGES.items():
            got = sorted(pub.stored(PUBLIC_REPO, name))
            assert got == sorted(versions), (name, got)
        yield pub


class Chain(externalkit.Chain):
    """externalkit's chain, repo-c holding `public:npmjs`, with an npm logged in per repository."""

    CONNECTION = CONNECTION
    FORMAT = "npm"

    def __init__(self, srv: Server, ca, track, tmp: Path):
        super().__init__(srv, ca, track, tmp)
        self._npm: dict[str, Npm] = {}

    def npm(self, repo: str) -> Npm:
        if repo not in self._npm:
            self._npm[repo] = login(self.srv.endpoint, self.tmp / f"home-{self.domain}-{repo}",
                                    self.domain, repo)
        return self._npm[repo]

    def coordinates(self, name: str) -> dict[str, str]:
        return npm_coordinates(name)


# --------------------------------------------------------------------------------------------
# 1–2. Listing, retention, origin
# --------------------------------------------------------------------------------------------


def test_chain_lists_public_versions_and_retains_installed_one_in_requester_and_store(
        server, ca, track, tmp_path, public):
    chain = Chain(server, ca, track, tmp_path)
    npm_a = chain.npm("repo-a")

    # Listing through A shows the public versions (merged view, §6.1) …
    assert sorted(npm_a.versions("ext-alpha")) == ["1.0.0", "1.1.0", "2.0.0"]
    status, doc = get_json(npm_a.registry + "ext-alpha", npm_a.token)
    assert status == 200, doc
    assert doc["dist-tags"].get("latest") == "2.0.0", doc["dist-tags"]
    for v, manifest in doc["versions"].items():
        assert manifest["dist"]["tarball"].startswith(npm_a.registry), (v, manifest["dist"])
    # … and retains nothing anywhere (§4.2).
    for repo in ("repo-a", "repo-b", "repo-c"):
        assert chain.stored(repo, "ext-alpha") == {}, f"listing retained ext-alpha in {repo}"

    project, _ = install(npm_a, tmp_path, "ext-alpha@1.0.0")
    assert installed(project, "ext-alpha") == ("1.0.0", f"module.exports = {json.dumps(marker('ext-alpha', '1.0.0'))};\n")

    # Retained in A (requester) and C (connection), not in B (§4.1), with origin EXTERNAL (§9).
    chain.assert_retained("repo-a", "ext-alpha", ["1.0.0"])
    chain.assert_retained("repo-c", "ext-alpha", ["1.0.0"])
    assert chain.stored("repo-b", "ext-alpha") == {}, "the intermediate repository B gained a record"
    # Defaults for a package that arrived from outside (§7.2).
    for repo in ("repo-a", "repo-c"):
        assert chain.restrictions(repo, "ext-alpha") == {"publish": "BLOCK", "upstream": "ALLOW"}, repo

    # The packument served by A still lists every public version (A's upstream is ALLOW).
    assert sorted(npm_a.versions("ext-alpha")) == ["1.0.0", "1.1.0", "2.0.0"]
    # publish=BLOCK in A: a direct publish of a new version is refused (§8.2 scenario 2).
    p = publish(npm_a, tmp_path, "ext-alpha", "9.0.0", check=False)
    assert p.returncode != 0 and npm_error_code(p) == "E409", p.stderr
    assert sorted(chain.stored("repo-a", "ext-alpha")) == ["1.0.0"]


def test_install_through_middle_repository_retains_in_it_and_store_only(server, ca, track, tmp_path):
    chain = Chain(server, ca, track, tmp_path)
    npm_b = chain.npm("repo-b")
    project, _ = install(npm_b, tmp_path, "ext-alpha@1.1.0")
    assert installed(project, "ext-alpha")[0] == "1.1.0"

    chain.assert_retained("repo-b", "ext-alpha", ["1.1.0"])
    chain.assert_retained("repo-c", "ext-alpha", ["1.1.0"])
    assert chain.stored("repo-a", "ext-alpha") == {}, "A (downstream of the requester) gained a record"
    for repo in ("repo-b", "repo-c"):
        assert chain.restrictions(repo, "ext-alpha") == {"publish": "BLOCK", "upstream": "ALLOW"}, repo


# --------------------------------------------------------------------------------------------
# 3. Dependency confusion
# --------------------------------------------------------------------------------------------


def test_internal_name_is_not_shadowed_and_public_versions_cannot_be_published(server, ca, track, tmp_path):
    chain = Chain(server, ca, track, tmp_path)
    npm_a = chain.npm("repo-a")

    # conf-pkg first published directly to A → publish ALLOW / upstream BLOCK (§7.2) …
    # (npm 11 reads the packument first and sees the public 5.0.0 — the name has no record in A
    # yet — so `latest` must be named explicitly.)
    publish(npm_a, tmp_path, "conf-pkg", "0.1.0", "--tag", "latest", body="internal conf-pkg 0.1.0")
    assert chain.restrictions("repo-a", "conf-pkg") == {"publish": "ALLOW", "upstream": "BLOCK"}
    # … so the public 0.2.0 / 5.0.0 never show through A (§8.2 scenario 1) …
    assert npm_a.versions("conf-pkg") == ["0.1.0"]
    project, _ = install(npm_a, tmp_path, "conf-pkg")
    assert installed(project, "conf-pkg") == ("0.1.0", 'module.exports = "internal conf-pkg 0.1.0";\n')
    _, p = install(npm_a, tmp_path, "conf-pkg@5.0.0", check=False)
    assert p.returncode != 0 and npm_error_code(p) in ("ETARGET", "E404"), p.stderr
    # … and nothing was fetched from the public registry on A's behalf.
    assert list(chain.stored("repo-a", "conf-pkg")) == ["0.1.0"]
    for repo in ("repo-b", "repo-c"):
        assert chain.stored(repo, "conf-pkg") == {}, f"conf-pkg was ingested into {repo}"

    # ext-eps has no record in A; the public registry lists 3.0.0 → publishing 3.0.0 is a
    # conflict (§8.1), and the refused publish leaves no record behind.
    # npm 11 itself refuses, having read 3.0.0 in the packument A serves …
    p = publish(npm_a, tmp_path, "ext-eps", "3.0.0", check=False)
    assert p.returncode != 0 and "cannot publish over the previously published versions" in p.stderr, p.stderr
    # … and with --force (client check skipped) the server refuses the PUT.
    p = publish(npm_a, tmp_path, "ext-eps", "3.0.0", "--force", check=False)
    assert p.returncode != 0 and npm_error_code(p) == "E409", p.stderr
    assert chain.stored("repo-a", "ext-eps") == {}
    # A version the public registry does not list can be published (no record = no restriction).
    publish(npm_a, tmp_path, "ext-eps", "3.0.1")
    assert list(chain.stored("repo-a", "ext-eps")) == ["3.0.1"]
    assert chain.restrictions("repo-a", "ext-eps") == {"publish": "ALLOW", "upstream": "BLOCK"}


# --------------------------------------------------------------------------------------------
# 4. upstream=BLOCK in the connection repository
# --------------------------------------------------------------------------------------------


def test_upstream_block_in_store_stops_new_public_versions_but_keeps_stored_ones(server, ca, track, tmp_path):
    name = "@extscope/ext-gamma"
    chain = Chain(server, ca, track, tmp_path)
    npm_a = chain.npm("repo-a")
    assert sorted(npm_a.versions(name)) == ["1.0.0", "1.1.0"]
    project, _ = install(npm_a, tmp_path, f"{name}@1.0.0")
    assert installed(project, name)[0] == "1.0.0"
    chain.assert_retained("repo-a", name, ["1.0.0"])
    chain.assert_retained("repo-c", name, ["1.0.0"])

    ca.put_package_origin_configuration(**chain.pkg("repo-c", name),
                                        restrictions={"publish": "BLOCK", "upstream": "BLOCK"})
    assert chain.restrictions("repo-c", name) == {"publish": "BLOCK", "upstream": "BLOCK"}

    # The not-yet-fetched 1.1.0 can no longer come in through C's connection (§7.3, §3.1).
    _, p = install(npm_a, tmp_path, f"{name}@1.1.0", check=False)
    assert p.returncode != 0 and npm_error_code(p) in ("ETARGET", "E404"), p.stderr
    status, _ = get_json(npm_a.registry + f"{name}/-/ext-gamma-1.1.0.tgz", npm_a.token, "*/*")
    assert status == 404, status
    assert sorted(chain.stored("repo-c", name)) == ["1.0.0"], "1.1.0 was ingested into C"
    assert sorted(chain.stored("repo-a", name)) == ["1.0.0"]
    # The merged view no longer offers it either (only C's stored versions contribute).
    assert npm_a.versions(name) == ["1.0.0"]

    # The stored version still installs (fresh cache: really downloaded again).
    project, _ = install(npm_a, tmp_path, f"{name}@1.0.0")
    assert installed(project, name) == ("1.0.0", f"module.exports = {json.dumps(marker(name, '1.0.0'))};\n")


# --------------------------------------------------------------------------------------------
# 5. Unreachable registries
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", UNREACHABLE)
def test_unreachable_registry_gives_quick_404_and_local_packages_still_install(
        kind, server_factory, silent_port, tmp_path):
    chain = Chain.unreachable(server_factory, tmp_path, kind, silent_port)
    srv = chain.srv
    npm_a = chain.npm("repo-a")

    started = time.monotonic()
    view = npm_a.start("view", "unknown-public-pkg", "versions", "--json")
    # While npm waits (and the server waits for the registry), the server keeps answering.
    assert_healthy_while_running(srv, view, until=started + NPM_TIMEOUT)
    out, err = view.communicate(timeout=NPM_TIMEOUT)
    elapsed = time.monotonic() - started
    assert view.returncode != 0, out
    assert re.search(r"npm (?:error|ERR!) code E404", err), err
    assert elapsed < 15, f"npm view took {elapsed:.1f}s (npm fetch timeout {NPM_FETCH_TIMEOUT_MS / 1000}s)"
    assert health(srv) == 200
    for repo in ("repo-a", "repo-b", "repo-c"):
        assert chain.stored(repo, "unknown-public-pkg") == {}

    # A package published locally (to B) still installs through A.
    publish(chain.npm("repo-b"), tmp_path, "local-only", "1.0.0", body="local")
    project, _ = install(npm_a, tmp_path, "local-only@1.0.0")
    assert installed(project, "local-only") == ("1.0.0", 'module.exports = "local";\n')
    assert srv.proc.poll() is None and health(srv) == 200


def test_stored_public_versions_survive_a_registry_outage(server_factory, public, tmp_path):
    data = tmp_path / "data-outage"
    chain = Chain.on_new_server(server_factory, tmp_path / "online", public.url, data_dir=data)
    srv = chain.srv
    project, _ = install(chain.npm("repo-a"), tmp_path, "ext-alpha@1.0.0")
    assert installed(project, "ext-alpha")[0] == "1.0.0"
    assert srv.terminate() == 0

    # Same data, registry now unreachable.
    srv2 = server_factory(data_dir=data, extra_args=unreachable_args(CONNECTION, "refused"))
    chain.srv, chain.ca, chain._npm = srv2, make_client(srv2.endpoint), {}
    chain.tmp = tmp_path / "offline"
    npm_a, npm_b = chain.npm("repo-a"), chain.npm("repo-b")
    assert "1.0.0" in npm_a.versions("ext-alpha")
    project, _ = install(npm_a, tmp_path, "ext-alpha@1.0.0")
    assert installed(project, "ext-alpha") == ("1.0.0", f"module.exports = {json.dumps(marker('ext-alpha', '1.0.0'))};\n")
    # B stores nothing but C does: served from C and retained in B.
    project, _ = install(npm_b, tmp_path, "ext-alpha@1.0.0")
    assert installed(project, "ext-alpha")[0] == "1.0.0"
    chain.assert_retained("repo-b", "ext-alpha", ["1.0.0"])
    # Not stored anywhere and the registry is down → not installable.
    _, p = install(npm_a, tmp_path, "ext-alpha@2.0.0", check=False)
    assert p.returncode != 0 and npm_error_code(p) in ("ETARGET", "E404"), p.stderr


def test_packuments_through_a_connection_follow_the_ttl_and_local_ones_every_write(
        server_factory, public, tmp_path):
    """Rendered packuments are reused per repository: through an external connection for at
    most --upstream-metadata-ttl-seconds (a new public version shows once it has passed), in
    a repository that reaches none until the store changes (a new local version shows at
    once, although the server has external connections configured)."""
    ttl = 2
    chain = Chain.on_new_server(server_factory, tmp_path / "ttl", public.url,
                                "--upstream-metadata-ttl-seconds", str(ttl))
    chain.ca.create_repository(domain=chain.domain, repository="solo")
    token = chain.ca.get_authorization_token(domain=chain.domain)["authorizationToken"]
    public_npm = login(public.srv.endpoint, tmp_path / "public-home", public.domain, public.repo)

    def versions(repo: str, name: str) -> list[str]:
        status, doc = get_json(chain.endpoint(repo) + name, token)
        assert status == 200, (repo, name, status, doc)
        return sorted(doc["versions"])

    publish(public_npm, tmp_path / "p1", "ext-ttl", "1.0.0")
    assert versions("repo-a", "ext-ttl") == ["1.0.0"]
    publish(public_npm, tmp_path / "p2", "ext-ttl", "1.1.0")
    assert versions("repo-a", "ext-ttl") == ["1.0.0"], "within the TTL the kept listing answers"
    time.sleep(ttl + 0.5)
    assert versions("repo-a", "ext-ttl") == ["1.0.0", "1.1.0"], "after the TTL the new public version shows"

    solo = chain.npm("solo")
    publish(solo, tmp_path / "s1", "solo-pkg", "1.0.0")
    assert versions("solo", "solo-pkg") == ["1.0.0"]
    assert versions("solo", "solo-pkg") == ["1.0.0"]
    publish(solo, tmp_path / "s2", "solo-pkg", "1.1.0")
    assert versions("solo", "solo-pkg") == ["1.0.0", "1.1.0"], "a local write shows at once"


def test_with_a_ttl_of_0_a_kept_packument_answers_only_while_the_public_one_is_unchanged(
        server, ca, track, tmp_path, public):
    """With the default TTL of 0 a packument through a connection is reused only after the
    public packument it was made from has been fetched again and found byte-identical: a
    new public version shows on the very next request, as does a local write (which here
    blocks the upstream), and each request in between gives the same document."""
    chain = Chain(server, ca, track, tmp_path)
    token = chain.ca.get_authorization_token(domain=chain.domain)["authorizationToken"]
    public_npm = login(public.srv.endpoint, tmp_path / "public-home", public.domain, public.repo)
    name = f"ext-fresh-{chain.domain}"

    url = urllib.parse.urlsplit(chain.endpoint("repo-a") + name)

    def packument() -> tuple[list[str], str]:
        r = http_request(url.hostname, url.port, "GET", url.path, None,
                         {"Host": url.netloc, "Authorization": f"Bearer {token}"})
        assert r.status == 200, r
        return sorted(r.json["versions"]), r.headers["ETag"]

    def public_fetches() -> int:
        """GETs of the package's public packument the public server has answered so far."""
        return sum(1 for line in public.srv.log().splitlines()
                   if " access: " in line and "method=GET" in line and f'/{name}"' in line)

    publish(public_npm, tmp_path / "p1", name, "1.0.0")
    first, tag = packument()
    assert first == ["1.0.0"]
    before = public_fetches()
    assert packument() == (first, tag), "unchanged: the same document"
    per_request = public_fetches() - before
    assert per_request >= 1, "with a TTL of 0 the public packument is asked for on every request"
    publish(public_npm, tmp_path / "p2", name, "1.1.0")
    before = public_fetches()
    assert packument()[0] == ["1.0.0", "1.1.0"], "a new public version shows at once"
    assert public_fetches() - before == per_request, \
        "the render after a changed document uses the copy just fetched, not a second one"
    assert packument()[0] == ["1.0.0", "1.1.0"]
    publish(public_npm, tmp_path / "p3", name, "1.2.0")
    assert packument()[0] == ["1.0.0", "1.1.0", "1.2.0"], "and the next one too"
    # A first local publish sets the package's upstream control to BLOCK (§ origin
    # controls): the store changed, so the next packument shows only the local version.
    publish(chain.npm("repo-a"), tmp_path / "a1", name, "9.0.0")
    assert packument()[0] == ["9.0.0"], "a local write shows at once"


# --------------------------------------------------------------------------------------------
# 6. Integrity of fetched tarballs (fixture registry)
# --------------------------------------------------------------------------------------------


def npm_tarball(name: str, version: str, body: str) -> bytes:
    return tarball(name, version, code=exports(body))


class FixtureRegistry(LoopbackHttp):
    """A minimal npm registry on loopback requiring Basic aws:s3cret: `good-pkg` is consistent,
    `bad-pkg`'s tarball does not match the integrity/shasum its packument declares."""

    AUTH = "Basic " + base64.b64encode(b"aws:s3cret").decode()
    UNAUTHORIZED = (401, "application/json", b'{"error":"auth"}')
    MISSING = (404, "application/json", b'{"error":"Not found"}')

    def add(self, name: str, version: str, served: bytes, declared: bytes):
        path = f"/tarballs/{name}-{version}.tgz"
        self.routes[path] = ("application/octet-stream", served)
        self.routes[f"/{name}"] = ("application/json", json.dumps({
            "_id": name, "name": name, "dist-tags": {"latest": version},
            "versions": {version: {
                "name": name, "version": version, "main": "index.js", "_id": f"{name}@{version}",
                "dist": {
                    "tarball": f"http://127.0.0.1:{self.port}{path}",
                    "shasum": sha1(declared),
                    "integrity": sri(declared),
                },
            }},
            "time": {"created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
                     version: "2024-01-01T00:00:00.000Z"},
        }).encode())


def test_tarball_not_matching_public_integrity_is_refused(server_factory, tmp_path):
    fixture = FixtureRegistry()
    try:
        good = npm_tarball("good-pkg", "1.0.0", "good")
        fixture.add("good-pkg", "1.0.0", good, good)
        fixture.add("bad-pkg", "1.0.0", npm_tarball("bad-pkg", "1.0.0", "tampered"),
                    npm_tarball("bad-pkg", "1.0.0", "genuine"))
        chain = Chain.on_new_server(server_factory, tmp_path, f"http://aws:s3cret@127.0.0.1:{fixture.port}/")
        srv = chain.srv
        npm_a = chain.npm("repo-a")

        # Control: a consistent package comes through, credentials sent to packument and tarball.
        project, _ = install(npm_a, tmp_path, "good-pkg@1.0.0")
        assert installed(project, "good-pkg") == ("1.0.0", 'module.exports = "good";\n')
        chain.assert_retained("repo-a", "good-pkg", ["1.0.0"])
        chain.assert_retained("repo-c", "good-pkg", ["1.0.0"])
        seen = {path for path, auth in fixture.requests if auth == FixtureRegistry.AUTH}
        assert "/good-pkg" in seen and "/tarballs/good-pkg-1.0.0.tgz" in seen, fixture.requests
        assert all(auth == FixtureRegistry.AUTH for _, auth in fixture.requests), fixture.requests

        # The tampered tarball is never served nor stored.
        _, p = install(npm_a, tmp_path, "bad-pkg@1.0.0", check=False)
        assert p.returncode != 0, p.stdout
        assert "/tarballs/bad-pkg-1.0.0.tgz" in {path for path, _ in fixture.requests}, fixture.requests
        status, _ = get_json(npm_a.registry + "bad-pkg/-/bad-pkg-1.0.0.tgz", npm_a.token, "*/*")
        assert status != 200, status
        for repo in ("repo-a", "repo-b", "repo-c"):
            assert chain.stored(repo, "bad-pkg") == {}, f"the tampered bad-pkg was stored in {repo}"
        assert health(srv) == 200
    finally:
        fixture.close()
