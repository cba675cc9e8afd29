"""PyPI through external connections (`public:pypi`), end to end, with the venv's pip.

The "public Python package index" is a second codeartifact-local process started by this
module: a domain/repository there is filled with small wheels and sdists by raw legacy-API
uploads, and the server under test is started with
`--external-connection public:pypi=http://aws:TOKEN@127.0.0.1:PORT/pypi/d/pub-…/pypi/`, so the
index's project pages are `{URL}simple/{normalised name}/` and the credentials in the URL are
what lets the server under test read them. The integrity test uses a small in-process fixture
index instead (our own server never serves bytes that disagree with its page).

References: upstreams spec §2 (connections; unset URL = unreachable), §3 (search order,
origin-control pruning), §4 (retention: the repository asked and the connection repository,
never intermediates; listing retains nothing), §5.2 (digest verification), §6.2 (PyPI merge),
§7 (origin controls and defaults), §8 (publish conflicts, dependency confusion), §9 (origin),
§11 (unreachable registries); repository-endpoints spec §6 (PyPI routes, pages, upload).

Isolation: pip runs as `python -m pip` from the test venv with a temporary HOME,
`PIP_CONFIG_FILE=/dev/null` (no configuration file is read), `--index-url` pointing at the
server under test (checked to be a loopback URL before pip starts), no extra index, no cache,
no keyring, binaries only (nothing is built, so no build dependency is ever looked up).
Distributions are written directly as zip/tar files (pydist.py). Nothing leaves the machine.
"""

from __future__ import annotations

import base64
import json
import subprocess
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest

import externalkit
from conftest import LoopbackHttp, basic, http_request, sha256_of
from externalkit import (UNREACHABLE, PublicSide, assert_healthy_while_running, authenticated_url, health,
                         public_server)
from externalkit import server  # noqa: F401 (the server under test, connected to `public`)
from pydist import make_sdist, make_wheel, module_name, normalize
from pypikit import Pip, ProjectPage, multipart, run_python

CONNECTION = "public:pypi"
PUBLIC_REPO = "pypi"
PIP_TIMEOUT = 60
JSON_V1 = "application/vnd.pypi.simple.v1+json"
PIP_ACCEPT = f"{JSON_V1}, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"
REQUIRES_PYTHON = ">=3.8"

# What the "public index" holds: project (display name as uploaded) → version → file kinds.
PUBLIC_PACKAGES: dict[str, dict[str, tuple[str, ...]]] = {
    "Ext_Alpha": {"1.0": ("wheel", "sdist"), "1.1": ("wheel",), "2.0": ("wheel",)},
    "ext-gamma": {"1.0": ("wheel",), "1.1": ("wheel",)},
    "conf-pkg": {"0.2": ("wheel",), "5.0": ("wheel",)},  # shadows an internal name
    "ext-eps": {"3.0": ("wheel",)},
}


def marker(name: str, version: str, where: str = "public") -> str:
    return f"{where} {normalize(name)} {version}"


# --------------------------------------------------------------------------------------------
# Distributions (written directly, deterministic)
# --------------------------------------------------------------------------------------------


def make_dist(kind: str, name: str, version: str, body: str) -> tuple[str, bytes]:
    """(file name, bytes) of a `wheel` or `sdist` (pydist) whose package defines MARKER = `body`."""
    make = make_wheel if kind == "wheel" else make_sdist
    with tempfile.TemporaryDirectory() as out:
        path = make(Path(out), name, version, summary=f"{name} for the external-connection tests",
                    requires_python=REQUIRES_PYTHON, code=f"MARKER = {body!r}\n")
        return path.name, path.read_bytes()



# --------------------------------------------------------------------------------------------
# HTTP helpers: the legacy upload API, project pages, file downloads
# --------------------------------------------------------------------------------------------


def request(url: str, token: str, method: str = "GET", body: bytes | None = None,
            headers: dict[str, str] | None = None, timeout: float = 30):
    u = urllib.parse.urlsplit(url)
    assert u.scheme == "http" and u.hostname == "127.0.0.1", f"refusing a non-loopback request: {url}"
    hdrs = {"Host": f"{u.hostname}:{u.port}", "Authorization": basic(token), **(headers or {})}
    return http_request(u.hostname, u.port, method, u.path + (f"?{u.query}" if u.query else ""), body, hdrs,
                        timeout=timeout)


def upload(endpoint: str, token: str, name: str, version: str, filename: str, content: bytes):
    """POST `endpoint` with `:action=file_upload` (multipart, Basic aws:TOKEN) as twine does."""
    wheel = filename.endswith(".whl")
    fields = [
        (":action", "file_upload"), ("protocol_version", "1"), ("name", name), ("version", version),
        ("filetype", "bdist_wheel" if wheel else "sdist"), ("pyversion", "py3" if wheel else "source"),
        ("metadata_version", "2.1"), ("requires_python", REQUIRES_PYTHON), ("sha256_digest", sha256_of(content)),
    ]
    body, ctype = multipart(fields, filename, content)
    return request(endpoint, token, "POST", body, {"Content-Type": ctype})


# --------------------------------------------------------------------------------------------
# pip
# --------------------------------------------------------------------------------------------


def install(pip: Pip, *requirements: str, check: bool = True) -> tuple[subprocess.CompletedProcess, Path]:
    """`pip install` of binaries only, no dependencies, into a fresh target: (result, target)."""
    target = pip.new_target()
    return pip.install(target, *requirements, check=check), target


def installed_marker(pip: Pip, target: Path, name: str) -> str:
    """Imports the package `name` installed in `target` and returns its MARKER."""
    mod = module_name(name)
    p = run_python(pip.home, f"import {mod}; print({mod}.MARKER)", target)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def no_match(p: subprocess.CompletedProcess, requirement: str) -> bool:
    return p.returncode != 0 and "No matching distribution found for " + requirement in p.stderr


# --------------------------------------------------------------------------------------------
# The "public index" and the server under test
# --------------------------------------------------------------------------------------------


class NormalisedNames:
    """Control-plane calls name a project by its normalised name."""

    def coordinates(self, name: str) -> dict[str, str]:
        return {"package": normalize(name)}


class PublicIndex(NormalisedNames, PublicSide):
    files: dict[tuple[str, str], dict[str, bytes]]  # (normalised name, version) → file name → bytes


@pytest.fixture(scope="module")
def public(tmp_path_factory: pytest.TempPathFactory, _isolated_aws_env) -> PublicIndex:
    """The public index, filled by legacy-API uploads with PUBLIC_PACKAGES."""
    with public_server(tmp_path_factory, "pypi", PUBLIC_REPO, PublicIndex) as pub:
        pub.files = {}
        for name, versions in PUBLIC_PACKAGES.items():
            for version, kinds in versions.items():
                for kind in kinds:
                    filename, content = make_dist(kind, name, version, marker(name, version))
                    r = upload(pub.endpoint, pub.token, name, version, filename, content)
                    assert r.status == 200, f"upload of {filename} to the public index: {r}"
                    pub.files.setdefault((normalize(name), version), {})[filename] = content
        for name, versions in PUBLIC_PACKAGES.items():
            stored = pub.stored(PUBLIC_REPO, name)
            assert sorted(stored) == sorted(versions), (name, stored)
        # The index answers its own project pages (the adapter reads `{URL}simple/{name}/`).
        r = request(pub.endpoint + "simple/ext-alpha/", pub.token, headers={"Accept": JSON_V1})
        assert r.status == 200 and r.json["versions"] == ["1.0", "1.1", "2.0"], r
        yield pub


class Chain(NormalisedNames, externalkit.Chain):
    """externalkit's chain, repo-c holding `public:pypi`."""

    CONNECTION = CONNECTION
    FORMAT = "pypi"
    PREFIX = "pyext"

    def pip(self, repo: str) -> Pip:
        index = authenticated_url(self.srv, "pypi", self.domain, repo, self.token) + "simple/"
        return Pip(self.tmp / f"home-{repo}-{uuid.uuid4().hex[:6]}", index, self.srv.port,
                   install_options=("--no-deps", "--only-binary", ":all:"), timeout=PIP_TIMEOUT)

    def page(self, repo: str, project: str, accept: str = JSON_V1):
        return request(self.endpoint(repo) + f"simple/{project}/", self.token, headers={"Accept": accept})

    def get(self, repo: str, project: str, version: str, filename: str):
        return request(self.endpoint(repo) + f"simple/{project}/{version}/{filename}", self.token,
                       headers={"Accept": "*/*"})

    def upload(self, repo: str, name: str, version: str, body: str, kind: str = "wheel"):
        filename, content = make_dist(kind, name, version, body)
        return upload(self.endpoint(repo), self.token, name, version, filename, content)

    def sha256s(self, repo: str, name: str, version: str) -> dict[str, str]:
        """file name → SHA-256 of a stored version's assets."""
        return {n: a["hashes"]["SHA-256"] for n, a in self.assets(repo, name, version).items()}


# --------------------------------------------------------------------------------------------
# 1. Listing through A → B → C(public:pypi), install, retention, origin
# --------------------------------------------------------------------------------------------


def test_chain_lists_index_versions_and_retains_installed_version_in_requester_and_store(
        server, ca, track, tmp_path, public):
    chain = Chain(server, ca, track, tmp_path)
    a_files = chain.endpoint("repo-a") + "simple/ext-alpha/"
    ext_files = {fn: data for (name, _), files in public.files.items() if name == "ext-alpha"
                 for fn, data in files.items()}
    assert len(ext_files) == 4, sorted(ext_files)
    expected = {fn: sha256_of(data) for fn, data in ext_files.items()}

    # JSON page through A (§6.2, repository-endpoints §6.4): the index's versions, links at A.
    r = chain.page("repo-a", "Ext.Alpha", PIP_ACCEPT)
    assert r.status == 200, r
    assert r.header("Content-Type").startswith(JSON_V1), r.header("Content-Type")
    doc = r.json
    assert doc["name"] == "ext-alpha" and doc["versions"] == ["1.0", "1.1", "2.0"], doc
    got = {}
    for f in doc["files"]:
        version = f["filename"].split("-")[1].removesuffix(".tar.gz")
        assert f["url"] == f"{a_files}{version}/{f['filename']}", f
        assert f.get("requires-python") == REQUIRES_PYTHON, f
        assert f.get("size") == len(ext_files[f["filename"]]), f
        got[f["filename"]] = f["hashes"]["sha256"]
    assert got == expected, doc["files"]
    assert f"127.0.0.1:{public.srv.port}" not in r.body.decode(), "the index's URLs leaked into A's page"

    # HTML page through A (repository-endpoints §6.3): one anchor per file, #sha256 fragments.
    r = chain.page("repo-a", "ext-alpha", "text/html")
    assert r.status == 200 and r.header("Content-Type").startswith("text/html"), r
    anchors = ProjectPage(r.body.decode()).anchors
    got = {}
    for anchor in anchors:
        href, text, attrs = anchor["attrs"].get("href", ""), anchor["text"], anchor["attrs"]
        url, _, fragment = href.partition("#")
        version = text.split("-")[1].removesuffix(".tar.gz")
        assert url == f"{a_files}{version}/{text}", href
        assert fragment.startswith("sha256="), href
        assert attrs.get("data-requires-python") == REQUIRES_PYTHON, attrs
        got[text] = fragment.removeprefix("sha256=")
    assert got == expected, anchors

    # Listing retains nothing anywhere (upstreams §4.2).
    for repo in ("repo-a", "repo-b", "repo-c"):
        assert chain.stored(repo, "ext-alpha") == {}, f"listing retained ext-alpha in {repo}"

    # pip installs 1.0 through A (the public wheel, as its marker shows).
    pip = chain.pip("repo-a")
    _, target = install(pip, "Ext.Alpha==1.0")
    assert installed_marker(pip, target, "ext-alpha") == marker("ext-alpha", "1.0")

    # Retained in A (requester) and C (connection), not B (§4.1); origin EXTERNAL (§9); every
    # file of the version came in (the sdist pip never asked for as well), with the index's bytes.
    chain.assert_retained("repo-a", "ext-alpha", ["1.0"])
    chain.assert_retained("repo-c", "ext-alpha", ["1.0"])
    assert chain.stored("repo-b", "ext-alpha") == {}, "the intermediate repository B gained a record"
    version_files = {fn: sha256_of(d) for fn, d in public.files[("ext-alpha", "1.0")].items()}
    assert sorted(version_files) == ["ext_alpha-1.0-py3-none-any.whl", "ext_alpha-1.0.tar.gz"]
    for repo in ("repo-a", "repo-c"):
        assert chain.sha256s(repo, "ext-alpha", "1.0") == version_files, repo
        # Defaults for a package that arrived from outside (§7.2).
        assert chain.restrictions(repo, "ext-alpha") == {"publish": "BLOCK", "upstream": "ALLOW"}, repo
    r = chain.get("repo-a", "ext-alpha", "1.0", "ext_alpha-1.0.tar.gz")
    assert r.status == 200 and r.body == public.files[("ext-alpha", "1.0")]["ext_alpha-1.0.tar.gz"], r

    # A still lists every version of the index (upstream=ALLOW in A), and nothing else was stored.
    r = chain.page("repo-a", "ext-alpha")
    assert r.status == 200 and r.json["versions"] == ["1.0", "1.1", "2.0"], r
    for repo in ("repo-a", "repo-c"):
        assert list(chain.stored(repo, "ext-alpha")) == ["1.0"], repo


# --------------------------------------------------------------------------------------------
# 2. Dependency confusion
# --------------------------------------------------------------------------------------------


def test_internal_name_is_not_shadowed_and_index_versions_cannot_be_uploaded(server, ca, track, tmp_path):
    chain = Chain(server, ca, track, tmp_path)
    pip = chain.pip("repo-a")

    # conf-pkg first uploaded directly to A → publish ALLOW / upstream BLOCK (§7.2) …
    r = chain.upload("repo-a", "conf-pkg", "0.1", marker("conf-pkg", "0.1", "internal"))
    assert r.status == 200, r
    assert chain.restrictions("repo-a", "conf-pkg") == {"publish": "ALLOW", "upstream": "BLOCK"}
    stored = chain.stored("repo-a", "conf-pkg")
    assert [(v["version"], v["origin"]["originType"]) for v in stored.values()] == [("0.1", "INTERNAL")], stored
    # … so the index's 0.2 / 5.0 never show through A (§8.2 scenario 1) …
    r = chain.page("repo-a", "conf-pkg")
    assert r.status == 200, r
    assert r.json["versions"] == ["0.1"], r.json
    assert [f["filename"] for f in r.json["files"]] == ["conf_pkg-0.1-py3-none-any.whl"], r.json
    _, target = install(pip, "conf-pkg")
    assert installed_marker(pip, target, "conf-pkg") == marker("conf-pkg", "0.1", "internal")
    p, _ = install(pip, "conf-pkg==5.0", check=False)
    assert no_match(p, "conf-pkg==5.0"), p.stderr
    assert chain.get("repo-a", "conf-pkg", "5.0", "conf_pkg-5.0-py3-none-any.whl").status == 404
    # … and nothing was fetched from the index on A's behalf.
    assert list(chain.stored("repo-a", "conf-pkg")) == ["0.1"]
    for repo in ("repo-b", "repo-c"):
        assert chain.stored(repo, "conf-pkg") == {}, f"conf-pkg was ingested into {repo}"

    # ext-eps has no record in A; the index lists 3.0 → uploading 3.0 to A conflicts (§8.1,
    # repository-endpoints §6.6), and the refused upload leaves no record behind.
    r = chain.upload("repo-a", "ext-eps", "3.0", "a private 3.0")
    assert r.status == 409, r
    for repo in ("repo-a", "repo-b", "repo-c"):
        assert chain.stored(repo, "ext-eps") == {}, f"the refused upload left a record in {repo}"
    # A version the index does not list can be uploaded (no record = no restriction).
    r = chain.upload("repo-a", "ext-eps", "3.0.1", "a private 3.0.1")
    assert r.status == 200, r
    assert list(chain.stored("repo-a", "ext-eps")) == ["3.0.1"]
    assert chain.restrictions("repo-a", "ext-eps") == {"publish": "ALLOW", "upstream": "BLOCK"}


# --------------------------------------------------------------------------------------------
# 3. upstream=BLOCK in the connection repository
# --------------------------------------------------------------------------------------------


def test_upstream_block_in_store_stops_new_index_versions_but_keeps_stored_ones(server, ca, track, tmp_path):
    chain = Chain(server, ca, track, tmp_path)
    pip_a = chain.pip("repo-a")
    _, target = install(pip_a, "ext-gamma==1.0")
    assert installed_marker(pip_a, target, "ext-gamma") == marker("ext-gamma", "1.0")
    chain.assert_retained("repo-a", "ext-gamma", ["1.0"])
    chain.assert_retained("repo-c", "ext-gamma", ["1.0"])

    ca.put_package_origin_configuration(**chain.pkg("repo-c", "ext-gamma"),
                                        restrictions={"publish": "BLOCK", "upstream": "BLOCK"})
    assert chain.restrictions("repo-c", "ext-gamma") == {"publish": "BLOCK", "upstream": "BLOCK"}

    # The not-yet-fetched 1.1 can no longer come in through C's connection (§7.3, §3.1) …
    p, _ = install(pip_a, "ext-gamma==1.1", check=False)
    assert no_match(p, "ext-gamma==1.1"), p.stderr
    assert chain.get("repo-a", "ext-gamma", "1.1", "ext_gamma-1.1-py3-none-any.whl").status == 404
    # … nor through B, which stores nothing.
    pip_b = chain.pip("repo-b")
    p, _ = install(pip_b, "ext-gamma==1.1", check=False)
    assert no_match(p, "ext-gamma==1.1"), p.stderr
    assert list(chain.stored("repo-c", "ext-gamma")) == ["1.0"], "1.1 was ingested into C"
    assert list(chain.stored("repo-a", "ext-gamma")) == ["1.0"]
    # The merged view no longer offers it (only C's stored versions contribute).
    for repo in ("repo-a", "repo-b"):
        r = chain.page(repo, "ext-gamma")
        assert r.status == 200 and r.json["versions"] == ["1.0"], (repo, r)

    # The stored version still installs: from A's own copy, and through B from C's copy
    # (retained in B then, origin unchanged).
    _, target = install(pip_a, "ext-gamma==1.0")
    assert installed_marker(pip_a, target, "ext-gamma") == marker("ext-gamma", "1.0")
    _, target = install(pip_b, "ext-gamma==1.0")
    assert installed_marker(pip_b, target, "ext-gamma") == marker("ext-gamma", "1.0")
    chain.assert_retained("repo-b", "ext-gamma", ["1.0"])
    assert list(chain.stored("repo-c", "ext-gamma")) == ["1.0"]


# --------------------------------------------------------------------------------------------
# 4. Unreachable index
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", UNREACHABLE)
def test_unreachable_index_gives_quick_no_match_and_local_packages_still_install(
        kind, server_factory, silent_port, tmp_path):
    chain = Chain.unreachable(server_factory, tmp_path, kind, silent_port)
    srv = chain.srv
    pip = chain.pip("repo-a")

    started = time.monotonic()
    proc = pip.start(*pip.install_args(pip.new_target(), "unknown-public-pkg"))
    # While pip waits (and the server waits for the index), the server keeps answering.
    assert_healthy_while_running(srv, proc, until=started + PIP_TIMEOUT)
    out, err = proc.communicate(timeout=PIP_TIMEOUT)
    elapsed = time.monotonic() - started
    assert proc.returncode != 0 and "No matching distribution found for unknown-public-pkg" in err, (out, err)
    assert elapsed < 15, f"pip took {elapsed:.1f}s to give up"
    assert srv.proc.poll() is None and health(srv) == 200
    for repo in ("repo-a", "repo-b", "repo-c"):
        assert chain.stored(repo, "unknown-public-pkg") == {}

    # A package uploaded locally (to C, the connection's repository: the conflict check cannot
    # reach the index and lets it through, §8.1/§11) still installs through A.
    r = chain.upload("repo-c", "local-only", "1.0", marker("local-only", "1.0", "local"))
    assert r.status == 200, r
    _, target = install(pip, "local-only==1.0")
    assert installed_marker(pip, target, "local-only") == marker("local-only", "1.0", "local")
    assert srv.proc.poll() is None and health(srv) == 200


# --------------------------------------------------------------------------------------------
# 5. Integrity of fetched files (fixture index)
# --------------------------------------------------------------------------------------------


class FixtureIndex(LoopbackHttp):
    """A minimal simple index on loopback requiring Basic aws:s3cret, serving the pages and
    files the test adds (anything else: 404; paths are matched without their query)."""

    AUTH = "Basic " + base64.b64encode(b"aws:s3cret").decode()

    def add_json(self, name: str, version: str, served: bytes, declared: bytes | None = None,
                 link: str = "/files/{filename}") -> str:
        """A PEP 691 page for one wheel; its file is served at /files/FILENAME, the page links it
        as `link` and declares sha256_of(`declared`, default: the bytes served)."""
        filename = f"{module_name(name)}-{version}-py3-none-any.whl"
        self.routes[f"/files/{filename}"] = ("application/octet-stream", served)
        self.routes[f"/simple/{name}/"] = (JSON_V1, json.dumps({
            "meta": {"api-version": "1.1"}, "name": name, "versions": [version],
            "files": [{"filename": filename, "url": link.format(filename=filename),
                       "hashes": {"sha256": sha256_of(served if declared is None else declared)},
                       "requires-python": REQUIRES_PYTHON, "size": len(served)}],
        }).encode())
        return filename

    def add_html(self, name: str, version: str, content: bytes, link: str) -> str:
        """A PEP 503 page (text/html) for one wheel served at /files/FILENAME, linked as `link`."""
        filename = f"{module_name(name)}-{version}-py3-none-any.whl"
        self.routes[f"/files/{filename}"] = ("application/octet-stream", content)
        self.routes[f"/simple/{name}/"] = ("text/html", (
            f'<!DOCTYPE html><html><body><h1>Links for {name}</h1>\n'
            f'<a href="{link.format(filename=filename)}#sha256={sha256_of(content)}" '
            f'data-requires-python="&gt;=3.8">{filename}</a><br/>\n</body></html>\n').encode())
        return filename

    def fetched(self) -> set[str]:
        """The paths the index was asked for, without their query."""
        return {p.split("?", 1)[0] for p in self.paths()}


@pytest.fixture
def fixture_index():
    index = FixtureIndex()
    yield index
    index.close()


def fixture_chain(server_factory, fixture_index: FixtureIndex, tmp_path: Path) -> Chain:
    return Chain.on_new_server(server_factory, tmp_path, f"http://aws:s3cret@127.0.0.1:{fixture_index.port}/")


def test_file_not_matching_index_sha256_is_refused(server_factory, fixture_index, tmp_path):
    good = fixture_index.add_json("good-pkg", "1.0", make_dist("wheel", "good-pkg", "1.0", "good")[1])
    bad = fixture_index.add_json("bad-pkg", "1.0", make_dist("wheel", "bad-pkg", "1.0", "tampered")[1],
                                 declared=make_dist("wheel", "bad-pkg", "1.0", "genuine")[1])
    chain = fixture_chain(server_factory, fixture_index, tmp_path)
    pip = chain.pip("repo-a")

    # Control: a consistent file comes through, credentials sent to page and file requests.
    _, target = install(pip, "good-pkg==1.0")
    assert installed_marker(pip, target, "good-pkg") == "good"
    chain.assert_retained("repo-a", "good-pkg", ["1.0"])
    chain.assert_retained("repo-c", "good-pkg", ["1.0"])
    assert {"/simple/good-pkg/", f"/files/{good}"} <= fixture_index.fetched(), fixture_index.requests
    assert all(auth == FixtureIndex.AUTH for _, auth in fixture_index.requests), fixture_index.requests

    # The tampered wheel is listed (with the hash the index declares) but never served nor
    # stored (upstreams §5.2).
    r = chain.page("repo-a", "bad-pkg")
    assert r.status == 200 and r.json["versions"] == ["1.0"], r
    r = chain.get("repo-a", "bad-pkg", "1.0", bad)
    assert r.status != 200, r
    assert f"/files/{bad}" in fixture_index.fetched(), "the server never fetched the file it refused"
    p, _ = install(pip, "bad-pkg==1.0", check=False)
    assert p.returncode != 0, p.stdout
    for repo in ("repo-a", "repo-b", "repo-c"):
        assert chain.stored(repo, "bad-pkg") == {}, f"the tampered bad-pkg was stored in {repo}"
    assert chain.srv.proc.poll() is None and health(chain.srv) == 200


@pytest.mark.parametrize("page,link", [
    ("html", "/files/{filename}"),          # PEP 503 anchor, root-relative
    ("html", "../../files/{filename}"),     # PEP 503 anchor, relative to the project page
    ("json", "../../files/{filename}"),     # PEP 691 url, relative to the project page
])
def test_index_links_are_resolved_against_the_project_page(page, link, server_factory, fixture_index, tmp_path):
    """Links on an index page may be relative; they are resolved against the page's URL
    (PEP 503 / PEP 691 → RFC 3986 §5.2, dot segments removed), as devpi pages need."""
    content = make_dist("wheel", "linked-pkg", "1.0", f"{page} {link}")[1]
    if page == "html":
        filename = fixture_index.add_html("linked-pkg", "1.0", content, link)
    else:
        filename = fixture_index.add_json("linked-pkg", "1.0", content, link=link)
    chain = fixture_chain(server_factory, fixture_index, tmp_path)
    pip = chain.pip("repo-a")

    r = chain.page("repo-a", "linked-pkg")
    assert r.status == 200 and r.json["versions"] == ["1.0"], r
    assert [(f["filename"], f["hashes"]["sha256"]) for f in r.json["files"]] == [(filename, sha256_of(content))], r.json
    p, target = install(pip, "linked-pkg==1.0", check=False)
    fetched = sorted(fixture_index.fetched() - {"/simple/linked-pkg/"})
    assert p.returncode == 0, f"pip failed; the server asked the index for {fetched}:\n{p.stderr}"
    assert installed_marker(pip, target, "linked-pkg") == f"{page} {link}"
    assert fetched == [f"/files/{filename}"], fetched
    chain.assert_retained("repo-c", "linked-pkg", ["1.0"])
