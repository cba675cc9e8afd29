"""The npm repository endpoint driven by the real npm client (npm 11, node 20) and by hand-made
HTTP requests, checked against the control plane.

References: repository-endpoints spec §2.3 (401 + challenges), §4.1 (status and visibility),
§4.2 (publishing rules), §5.1–5.8 (npm routes, packument, tarball, publish, deprecate,
dist-tags); upstreams spec §3 (search order), §4 (retention), §6.1 (npm merge), §7 (origin
controls), §8 (publish conflicts), §9 (origin); control-plane spec §6.5–6.8.

Isolation: every npm invocation runs with a temporary HOME, a user config written by
`aws codeartifact login --tool npm` (so its registry is this server), an empty global config,
a fresh cache, and audit/fund/update-notifier off. npmkit's `Npm` refuses to start npm when the
user config does not point at the local server, so npm can never reach a public registry.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import shutil
import subprocess
import tarfile
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, asset_hashes, flip_char, http_request, unique
from npmkit import (Npm, login, make_package, make_project, npm_coordinates, npm_error_code, publish, publish_body,
                    require_npm, sha1, sri, tarball)
from packagekit import Packages


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def _npm_present():
    require_npm()


class Site(Packages):
    """One domain with repositories, a logged-in npm per repository, and raw HTTP helpers; the
    control-plane view of its packages comes from packagekit."""

    FORMAT = "npm"

    def __init__(self, server, aws, ca, track, tmp: Path, repos: tuple[str, ...] = ("team",)):
        self.server = server
        self.aws = aws
        self.ca = ca
        self.tmp = tmp
        self.domain = track.create_domain(unique("npm"))["name"]
        self.npm: dict[str, Npm] = {}
        for r in repos:
            ca.create_repository(domain=self.domain, repository=r)

    def login(self, repo: str) -> Npm:
        endpoint = self.ca.get_repository_endpoint(domain=self.domain, repository=repo,
                                                   format="npm")["repositoryEndpoint"]
        assert endpoint == f"http://127.0.0.1:{self.server.port}/npm/d/{self.domain}-{ACCOUNT}/{repo}/"
        npm = login(self.server.endpoint, self.tmp / f"home-{self.domain}-{repo}", self.domain, repo)
        assert npm.registry == endpoint, (npm.registry, endpoint)
        self.npm[repo] = npm
        return npm

    def endpoint(self, repo: str) -> str:
        return f"http://127.0.0.1:{self.server.port}/npm/d/{self.domain}-{ACCOUNT}/{repo}/"

    def http(self, method: str, repo: str, rest: str, body: Any = None, *, token: str | None = "default",
             accept: str = "application/json", headers: dict | None = None):
        if token == "default":
            token = self.npm[repo].token
        path = urllib.parse.urlsplit(self.endpoint(repo)).path + rest
        hdrs = {"Host": self.server.address, "Accept": accept}
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        if headers:
            hdrs.update(headers)
        return http_request(self.server.host, self.server.port, method, path, data, hdrs)

    def get_url(self, url: str, token: str | None):
        u = urllib.parse.urlsplit(url)
        hdrs = {"Host": u.netloc, "Accept": "*/*"}
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        return http_request(u.hostname, u.port, "GET", u.path, None, hdrs)

    def coordinates(self, name: str) -> dict[str, str]:
        return npm_coordinates(name)


@pytest.fixture
def site_factory(server, aws, ca, track, tmp_path):
    def make(*repos: str) -> Site:
        return Site(server, aws, ca, track, tmp_path, repos or ("team",))
    return make


def as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# --------------------------------------------------------------------------------------------
# 1. publish + view + control plane
# --------------------------------------------------------------------------------------------


def test_publish_view_and_control_plane(site_factory, tmp_path):
    site = site_factory("team")
    npm = site.login("team")
    endpoint = site.endpoint("team")
    readme = "# e2e-plain\n\nA package with a README for GetPackageVersionReadme.\n"
    publish(npm, tmp_path, "e2e-plain", "1.0.0", readme=readme, description="Plain helpers",
            dependencies={"dep-one": "^1.0.0", "@acme/widget": "^2.0.0"},
            dev={"dev-tool": "~3.1.0"}, peer={"peer-thing": ">=1.0.0"},
            optional={"opt-thing": "1.x"})
    publish(npm, tmp_path, "e2e-plain", "1.1.0", readme=readme, description="Plain helpers")
    publish(npm, tmp_path, "@acme/widget", "2.0.0", description="Widget helpers")

    # --- npm view (full packument, spec §5.2)
    view = npm.json("view", "e2e-plain")
    assert view["name"] == "e2e-plain"
    assert sorted(as_list(view["versions"])) == ["1.0.0", "1.1.0"], view
    assert view["dist-tags"]["latest"] == "1.1.0", view
    assert view["version"] == "1.1.0"
    assert view["dist"]["tarball"].startswith(endpoint), (endpoint, view["dist"])
    assert view["dist"]["tarball"].endswith("-1.1.0.tgz"), view["dist"]

    v100 = npm.json("view", "e2e-plain@1.0.0")
    assert v100["version"] == "1.0.0"
    assert {"dep-one": "^1.0.0", "@acme/widget": "^2.0.0"}.items() <= v100["dependencies"].items(), v100
    assert v100["devDependencies"] == {"dev-tool": "~3.1.0"}, v100
    tarball_url = v100["dist"]["tarball"]
    assert tarball_url.startswith(endpoint), tarball_url

    scoped = npm.json("view", "@acme/widget")
    assert scoped["name"] == "@acme/widget"
    assert as_list(scoped["versions"]) == ["2.0.0"]
    assert scoped["dist-tags"]["latest"] == "2.0.0"
    assert scoped["dist"]["tarball"].startswith(endpoint), scoped["dist"]

    # the tarball the packument points at is served and matches dist.integrity / dist.shasum
    got = site.get_url(tarball_url, npm.token)
    assert got.status == 200, got
    tgz = got.body
    assert v100["dist"]["integrity"] == sri(tgz)
    assert v100["dist"]["shasum"] == sha1(tgz)
    with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as tar:
        names = tar.getnames()
        assert "package/package.json" in names and "package/index.js" in names, names
    got = site.get_url(scoped["dist"]["tarball"], npm.token)
    assert got.status == 200, got
    assert scoped["dist"]["integrity"] == sri(got.body)

    # --- control plane
    pkgs = site.ca.list_packages(domain=site.domain, repository="team", format="npm")["packages"]
    summary = {(p.get("namespace"), p["package"]): p for p in pkgs}
    assert set(summary) == {(None, "e2e-plain"), ("acme", "widget")}, pkgs
    assert all(p["format"] == "npm" for p in pkgs)
    for p in pkgs:
        assert p["originConfiguration"]["restrictions"] == {"publish": "ALLOW", "upstream": "BLOCK"}, p
    scoped_only = site.ca.list_packages(domain=site.domain, repository="team", format="npm",
                                        namespace="acme")["packages"]
    assert [(p.get("namespace"), p["package"]) for p in scoped_only] == [("acme", "widget")]

    listed = site.ca.list_package_versions(**site.pkg("team", "e2e-plain"))
    assert {v["version"]: v["status"] for v in listed["versions"]} == {"1.0.0": "Published", "1.1.0": "Published"}
    assert listed.get("defaultDisplayVersion") == "1.1.0", listed

    desc = site.describe_version("team", "@acme/widget", "2.0.0")
    assert desc is not None
    assert desc["displayName"] == "@acme/widget", desc
    assert desc["namespace"] == "acme" and desc["packageName"] == "widget", desc
    assert desc["format"] == "npm" and desc["version"] == "2.0.0"
    assert desc["status"] == "Published"
    assert desc["origin"] == {"originType": "INTERNAL", "domainEntryPoint": {"repositoryName": "team"}}, desc
    assert desc.get("summary") == "Widget helpers", desc
    plain = site.describe_version("team", "e2e-plain", "1.0.0")
    assert plain["displayName"] == "e2e-plain" and "namespace" not in plain, plain

    assets = site.ca.list_package_version_assets(**site.pkg("team", "e2e-plain"),
                                                 packageVersion="1.0.0")["assets"]
    assert [a["name"] for a in assets] == ["package.tgz"], assets
    a = assets[0]
    assert a["size"] == len(tgz)
    assert a["hashes"] == asset_hashes(tgz), a
    asset = site.ca.get_package_version_asset(**site.pkg("team", "e2e-plain"),
                                              packageVersion="1.0.0", asset="package.tgz")
    assert asset["asset"].read() == tgz

    deps = site.ca.list_package_version_dependencies(**site.pkg("team", "e2e-plain"),
                                                     packageVersion="1.0.0")["dependencies"]
    got_deps = {(d.get("namespace"), d["package"], d.get("dependencyType"), d.get("versionRequirement"))
                for d in deps}
    expected = {
        (None, "dep-one", "regular", "^1.0.0"),
        ("acme", "widget", "regular", "^2.0.0"),
        (None, "dev-tool", "dev", "~3.1.0"),
        (None, "peer-thing", "peer", ">=1.0.0"),
        (None, "opt-thing", "optional", "1.x"),
    }
    assert expected <= got_deps, f"missing {expected - got_deps}; got {got_deps}"
    # npm may also copy optionalDependencies into dependencies; nothing else may appear
    assert got_deps - expected <= {(None, "opt-thing", "regular", "1.x")}, got_deps
    deps_110 = site.ca.list_package_version_dependencies(**site.pkg("team", "e2e-plain"),
                                                         packageVersion="1.1.0")["dependencies"]
    assert deps_110 == [], deps_110

    rd = site.ca.get_package_version_readme(**site.pkg("team", "e2e-plain"), packageVersion="1.0.0")
    assert rd.get("readme", "").strip() == readme.strip(), rd

    # --- other read routes (spec §5.1): scoped spellings, single-version manifest, ping
    for spelling in ("@acme%2fwidget", "@acme%2Fwidget", "@acme/widget"):
        r = site.http("GET", "team", spelling)
        assert r.status == 200 and r.json and r.json.get("name") == "@acme/widget", (spelling, r)
        assert "_rev" not in r.json
    r = site.http("GET", "team", "e2e-plain/1.0.0")
    assert r.status == 200 and r.json["version"] == "1.0.0", r
    r = site.http("GET", "team", "e2e-plain/latest")
    assert r.status == 200 and r.json["version"] == "1.1.0", r
    corgi = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"
    r = site.http("GET", "team", "e2e-plain", accept=corgi)
    assert r.status == 200 and sorted(r.json["versions"]) == ["1.0.0", "1.1.0"], r
    assert r.json["dist-tags"] == {"latest": "1.1.0"}, r.json
    assert r.json["versions"]["1.0.0"]["dist"]["integrity"] == v100["dist"]["integrity"]
    # [Assume, spec §5.2] the abbreviated document when the client accepts it
    assert (r.header("Content-Type") or "").startswith("application/vnd.npm.install-v1+json"), r.header("Content-Type")
    assert "modified" in r.json, r.json
    allowed = {"name", "version", "dependencies", "optionalDependencies", "devDependencies",
               "peerDependencies", "peerDependenciesMeta", "bundleDependencies", "bin", "directories",
               "engines", "os", "cpu", "deprecated", "_hasShrinkwrap", "hasInstallScript", "dist"}
    for v, m in r.json["versions"].items():
        assert set(m) <= allowed, (v, set(m) - allowed)
    assert r.json["versions"]["1.0.0"]["devDependencies"] == {"dev-tool": "~3.1.0"}
    full = site.http("GET", "team", "e2e-plain")
    assert full.status == 200 and (full.header("Content-Type") or "").startswith("application/json"), full
    assert set(full.json["time"]) >= {"created", "modified", "1.0.0", "1.1.0"}, full.json.get("time")
    assert "_rev" not in full.json
    # HEAD answers like GET without a body (spec §4.5)
    head = site.http("HEAD", "team", "e2e-plain")
    assert head.status == 200 and head.body == b"", head
    # tarball: octet-stream with a length; npm's own scoped spelling is accepted too (spec §5.3)
    tb = site.get_url(tarball_url, npm.token)
    assert tb.header("Content-Type") == "application/octet-stream", tb
    assert tb.header("Content-Length") == str(len(tgz)), tb
    for rest in ("@acme/widget/-/widget-2.0.0.tgz", "@acme/widget/-/@acme/widget-2.0.0.tgz"):
        r = site.http("GET", "team", rest, accept="*/*")
        assert r.status == 200 and sri(r.body) == scoped["dist"]["integrity"], (rest, r)
    head = site.http("HEAD", "team", "@acme/widget/-/widget-2.0.0.tgz", accept="*/*")
    assert head.status == 200 and head.body == b"", head
    r = site.http("GET", "team", "e2e-plain/-/e2e-plain-7.7.7.tgz", accept="*/*")
    assert r.status == 404, r
    # unknown package → 404 with an npm error body (spec §5.8)
    r = site.http("GET", "team", "no-such-package")
    assert r.status == 404 and isinstance(r.json, dict) and r.json.get("error"), r
    assert npm("ping").returncode == 0
    # host-form addressing: tarball URLs follow the request's Host and addressing (spec §1.4 item 3)
    host = f"{site.domain}-{ACCOUNT}.d.codeartifact.us-east-1.amazonaws.com:{site.server.port}"
    r = http_request(site.server.host, site.server.port, "GET", "/npm/team/e2e-plain", None,
                     {"Host": host, "Accept": "application/json", "Authorization": f"Bearer {npm.token}"})
    assert r.status == 200, r
    assert r.json["versions"]["1.0.0"]["dist"]["tarball"].startswith(f"http://{host}/npm/team/e2e-plain/-/"), \
        r.json["versions"]["1.0.0"]["dist"]
    # unsupported routes → 404 (spec §5.1)
    for method, rest in (("GET", "-/whoami"), ("GET", "-/v1/search?text=e2e"),
                         ("POST", "-/npm/v1/security/advisories/bulk")):
        r = site.http(method, "team", rest, body=b"{}" if method == "POST" else None)
        assert r.status == 404, (method, rest, r)

    # a package without README.md has no readme (control-plane spec GetPackageVersionReadme:
    # `readme` omitted when the version has none) — npm itself sends the placeholder
    # "ERROR: No README data found!" in the manifest, which is not the package's readme
    rd = site.ca.get_package_version_readme(**site.pkg("team", "@acme/widget"), packageVersion="2.0.0")
    assert not rd.get("readme"), f"no README.md in @acme/widget, got readme={rd.get('readme')!r}"


# --------------------------------------------------------------------------------------------
# 2. install and ci
# --------------------------------------------------------------------------------------------


def test_install_and_ci(site_factory, tmp_path):
    site = site_factory("team")
    npm = site.login("team")
    endpoint = site.endpoint("team")
    publish(npm, tmp_path, "e2e-leaf", "1.0.0",
            body="exports.leaf = () => 'leaf-1.0.0';\n")
    publish(npm, tmp_path, "e2e-leaf", "1.2.0",
            body="exports.leaf = () => 'leaf-1.2.0';\n")
    publish(npm, tmp_path, "@acme/mid", "1.0.0", dependencies={"e2e-leaf": "^1.0.0"},
            body="const { leaf } = require('e2e-leaf');\nexports.hello = () => 'mid+' + leaf();\n")

    proj = make_project(tmp_path)
    npm("install", "@acme/mid", cwd=proj, check=True)
    assert (proj / "node_modules" / "@acme" / "mid" / "index.js").is_file()
    assert (proj / "node_modules" / "e2e-leaf" / "package.json").is_file()
    assert json.loads((proj / "node_modules" / "e2e-leaf" / "package.json").read_text())["version"] == "1.2.0"
    run = subprocess.run(["node", "-p", "require('@acme/mid').hello()"], cwd=proj, capture_output=True,
                         text=True, timeout=30)
    assert run.stdout.strip() == "mid+leaf-1.2.0", run

    lock = json.loads((proj / "package-lock.json").read_text())
    pkgs = lock["packages"]
    assert json.loads((proj / "package.json").read_text())["dependencies"]["@acme/mid"] == "^1.0.0"
    for key in ("node_modules/@acme/mid", "node_modules/e2e-leaf"):
        entry = pkgs[key]
        assert entry["resolved"].startswith(endpoint), entry
        assert entry["integrity"].startswith("sha512-"), entry
        got = site.get_url(entry["resolved"], npm.token)
        assert got.status == 200 and sri(got.body) == entry["integrity"], (key, got.status)

    clean = tmp_path / unique("ci")
    clean.mkdir()
    shutil.copy(proj / "package.json", clean / "package.json")
    shutil.copy(proj / "package-lock.json", clean / "package-lock.json")
    npm("ci", cwd=clean, check=True)
    run = subprocess.run(["node", "-p", "require('@acme/mid').hello()"], cwd=clean, capture_output=True,
                         text=True, timeout=30)
    assert run.stdout.strip() == "mid+leaf-1.2.0", run
    assert json.loads((clean / "package-lock.json").read_text())["packages"] == pkgs, "npm ci must not change the lockfile"

    # with audit on, npm POSTs to the (unsupported) audit route of the registry; a 404 there
    # must not break the install (spec §5.1)
    proj2 = make_project(tmp_path)
    npm("install", "e2e-leaf@1.0.0", "--audit=true", cwd=proj2, check=True)
    assert json.loads((proj2 / "node_modules" / "e2e-leaf" / "package.json").read_text())["version"] == "1.0.0"

    # installing a version that does not exist fails cleanly
    p = npm("install", "e2e-leaf@9.9.9", cwd=make_project(tmp_path))
    assert p.returncode != 0 and npm_error_code(p) == "ETARGET", p.stderr


def test_packument_gzip_when_asked(site_factory, tmp_path):
    """npm, pnpm and yarn send `Accept-Encoding: gzip`; a packument large enough to gain goes out
    gzip-compressed to them (as the peers do), as the same document, with `Vary` and its own
    entity tag, and revalidates with either tag; a client that does not ask gets it as it is."""
    site = site_factory("team")
    npm = site.login("team")
    endpoint = site.endpoint("team")
    name = unique("e2e-gz")
    for i in range(10):
        v = f"1.{i}.0"
        r = site.http("PUT", "team", name, publish_body(endpoint, name, v, tarball(name, v)))
        assert r.status == 200, r
    corgi = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"
    for accept in (corgi, "application/json"):
        plain = site.http("GET", "team", name, accept=accept)
        assert plain.status == 200 and plain.header("Content-Encoding") is None, plain
        assert len(plain.body) >= 1460, len(plain.body)  # the server's threshold (src/cache.rs)
        gz = site.http("GET", "team", name, accept=accept, headers={"Accept-Encoding": "gzip, deflate, br"})
        assert gz.status == 200 and gz.header("Content-Encoding") == "gzip", gz
        assert gzip.decompress(gz.body) == plain.body
        assert len(gz.body) < len(plain.body) and int(gz.header("Content-Length")) == len(gz.body)
        assert gz.header("Content-Type") == plain.header("Content-Type")
        for r in (plain, gz):
            assert "accept-encoding" in (r.header("Vary") or "").lower(), r.headers
        assert gz.header("ETag") and gz.header("ETag") != plain.header("ETag")
        for tag in (gz.header("ETag"), plain.header("ETag")):
            again = site.http("GET", "team", name, accept=accept,
                              headers={"Accept-Encoding": "gzip", "If-None-Match": tag})
            assert again.status == 304 and not again.body, again
            assert again.header("ETag") == gz.header("ETag"), again.headers
        refused = site.http("GET", "team", name, accept=accept, headers={"Accept-Encoding": "gzip;q=0, identity"})
        assert refused.header("Content-Encoding") is None and refused.body == plain.body
    # a small document is not worth compressing
    small = unique("e2e-gz-small")
    assert site.http("PUT", "team", small, publish_body(endpoint, small, "1.0.0", tarball(small, "1.0.0"))).status == 200
    r = site.http("GET", "team", small, accept=corgi, headers={"Accept-Encoding": "gzip"})
    assert r.status == 200 and r.header("Content-Encoding") is None and len(r.body) < 1460, r
    # the tarball, already compressed, goes as it is
    tgz = site.http("GET", "team", f"{name}/-/{name}-1.0.0.tgz", accept="*/*", headers={"Accept-Encoding": "gzip"})
    assert tgz.status == 200 and tgz.header("Content-Encoding") is None and tgz.body == tarball(name, "1.0.0")
    # and the real npm installs through the compressed packument
    proj = make_project(tmp_path)
    npm("install", name, cwd=proj, check=True)
    assert json.loads((proj / "node_modules" / name / "package.json").read_text())["version"] == "1.9.0"


# --------------------------------------------------------------------------------------------
# 3. publish conflicts and malformed publishes
# --------------------------------------------------------------------------------------------


def test_publish_conflict_and_corrupt_publish(site_factory, tmp_path):
    site = site_factory("team")
    npm = site.login("team")
    endpoint = site.endpoint("team")
    publish(npm, tmp_path, "e2e-dup", "1.0.0")
    original = site.get_url(npm.json("view", "e2e-dup@1.0.0", "dist")["tarball"], npm.token)
    assert original.status == 200

    # same version, different content, through npm → 409 (spec §4.2, §5.4 step 4). npm 11 refuses
    # locally when the packument lists the version; --force skips that so the server answers.
    d = make_package(tmp_path, "e2e-dup", "1.0.0", body="module.exports = 'changed';\n")
    p = npm("publish", cwd=d)
    assert p.returncode != 0 and "previously published" in p.stderr, p.stderr
    p = npm("publish", "--force", cwd=d)
    assert p.returncode != 0, p.stdout
    assert npm_error_code(p) in ("E409", "EPUBLISHCONFLICT"), p.stderr

    # the same by hand (so the server, not a client-side check, answers 409)
    changed = tarball("e2e-dup", "1.0.0", extra="-changed")
    r = site.http("PUT", "team", "e2e-dup", publish_body(endpoint, "e2e-dup", "1.0.0", changed))
    assert r.status == 409, r
    assert isinstance(r.json, dict) and r.json.get("error"), f"npm error body (spec §5.8): {r}"
    # identical bytes again → 200 no-op (spec §5.4 step 4)
    r = site.http("PUT", "team", "e2e-dup", publish_body(endpoint, "e2e-dup", "1.0.0", original.body))
    assert r.status == 200, f"re-publishing identical bytes must be a no-op (spec §5.4.4): {r}"
    again = site.get_url(npm.json("view", "e2e-dup@1.0.0", "dist")["tarball"], npm.token)
    assert again.body == original.body, "the stored tarball never changes"
    assert list(site.versions("team", "e2e-dup")) == ["1.0.0"]

    # unpublish is unsupported (spec §5.1): the server answers 404 (npm itself then reports
    # success, it treats 404 as "already gone"), and nothing is removed
    r = site.http("DELETE", "team", "e2e-dup/-rev/1-abc")
    assert r.status == 404, r
    npm("unpublish", "e2e-dup@1.0.0", "--force")
    npm("unpublish", "e2e-dup", "--force")
    assert list(site.versions("team", "e2e-dup")) == ["1.0.0"]
    assert as_list(npm.json("view", "e2e-dup", "versions")) == ["1.0.0"]

    # a correct hand-made publish is accepted (control for the cases below)
    good = tarball("e2e-crafted", "0.9.0")
    r = site.http("PUT", "team", "e2e-crafted", publish_body(endpoint, "e2e-crafted", "0.9.0", good))
    assert r.status == 200, r
    assert site.describe_version("team", "e2e-crafted", "0.9.0") is not None

    tgz = tarball("e2e-crafted", "1.0.0")
    b64 = base64.b64encode(tgz).decode()
    truncated = b64[: (len(b64) // 2) // 4 * 4]
    cases = {
        "wrong dist.integrity": publish_body(endpoint, "e2e-crafted", "1.0.0", tgz,
                                             integrity=sri(b"something else")),
        "wrong dist.shasum": publish_body(endpoint, "e2e-crafted", "1.0.0", tgz,
                                          shasum=sha1(b"something else")),
        "truncated base64 (length claims the whole tarball)": publish_body(
            endpoint, "e2e-crafted", "1.0.0", tgz, data=truncated),
        "base64 that is not base64": publish_body(endpoint, "e2e-crafted", "1.0.0", tgz,
                                                  data="!!!" + b64[3:]),
        "length does not match the data": publish_body(endpoint, "e2e-crafted", "1.0.0", tgz,
                                                       length=len(tgz) + 7),
        "body name differs from the path name": publish_body(endpoint, "e2e-crafted", "1.0.0", tgz,
                                                             body_name="e2e-other"),
    }
    two = publish_body(endpoint, "e2e-crafted", "1.0.0", tgz)
    two["versions"]["1.0.1"] = dict(two["versions"]["1.0.0"], version="1.0.1", _id="e2e-crafted@1.0.1")
    cases["two versions in one publish"] = two
    problems = []
    for what, body in cases.items():
        r = site.http("PUT", "team", "e2e-crafted", body)
        if r.status != 400:
            problems.append(f"{what}: expected 400, got {r.status} {r.body[:200]!r}")
        for v in ("1.0.0", "1.0.1"):
            if site.describe_version("team", "e2e-crafted", v) is not None:
                problems.append(f"{what}: version {v} was stored")
                try:
                    site.ca.delete_package_versions(**site.pkg("team", "e2e-crafted"), versions=[v])
                except ClientError:
                    pass
    bad_semver = tarball("e2e-crafted", "1.0")
    r = site.http("PUT", "team", "e2e-crafted", publish_body(endpoint, "e2e-crafted", "1.0", bad_semver))
    if r.status != 400:
        problems.append(f"invalid SemVer 1.0: expected 400, got {r.status} {r.body[:200]!r}")
    if site.describe_version("team", "e2e-crafted", "1.0") is not None:
        problems.append("invalid SemVer 1.0 was stored")
    r = site.http("PUT", "team", "e2e-other", publish_body(endpoint, "e2e-crafted", "1.0.0", tgz))
    if r.status != 400:
        problems.append(f"path e2e-other / body e2e-crafted: expected 400, got {r.status}")
    if site.versions("team", "e2e-other") is not None:
        problems.append("path e2e-other / body e2e-crafted: e2e-other was created")
    assert not problems, "\n".join(problems)
    assert sorted(site.versions("team", "e2e-crafted")) == ["0.9.0"]
    assert as_list(npm.json("view", "e2e-crafted", "versions")) == ["0.9.0"]


# --------------------------------------------------------------------------------------------
# 4. dist-tags and deprecate
# --------------------------------------------------------------------------------------------


def test_dist_tags_and_deprecate(site_factory, tmp_path):
    site = site_factory("team")
    npm = site.login("team")
    publish(npm, tmp_path, "e2e-tags", "1.0.0")
    publish(npm, tmp_path, "e2e-tags", "1.1.0")
    publish(npm, tmp_path, "@acme/tagged", "1.0.0")

    npm("dist-tag", "add", "e2e-tags@1.0.0", "beta", check=True)
    ls = npm("dist-tag", "ls", "e2e-tags", check=True).stdout
    assert sorted(line for line in ls.splitlines() if line.strip()) == ["beta: 1.0.0", "latest: 1.1.0"], ls
    assert npm.json("view", "e2e-tags", "dist-tags") == {"latest": "1.1.0", "beta": "1.0.0"}
    r = site.http("GET", "team", "-/package/e2e-tags/dist-tags")
    assert r.status == 200 and r.json == {"latest": "1.1.0", "beta": "1.0.0"}, r

    # scoped names travel as @scope%2fname on the dist-tag routes
    npm("dist-tag", "add", "@acme/tagged@1.0.0", "stable", check=True)
    assert npm.json("view", "@acme/tagged", "dist-tags") == {"latest": "1.0.0", "stable": "1.0.0"}
    npm("dist-tag", "rm", "@acme/tagged", "stable", check=True)
    assert npm.json("view", "@acme/tagged", "dist-tags") == {"latest": "1.0.0"}

    npm("dist-tag", "rm", "e2e-tags", "beta", check=True)
    ls = npm("dist-tag", "ls", "e2e-tags", check=True).stdout
    assert ls.strip() == "latest: 1.1.0", ls
    # moving latest back works too
    npm("dist-tag", "add", "e2e-tags@1.0.0", "latest", check=True)
    assert npm.json("view", "e2e-tags", "dist-tags") == {"latest": "1.0.0"}
    npm("dist-tag", "add", "e2e-tags@1.1.0", "latest", check=True)

    # spec §5.6: unknown version → 404, unknown tag → 404
    r = site.http("PUT", "team", "-/package/e2e-tags/dist-tags/bad", "9.9.9")
    assert r.status == 404, r
    r = site.http("DELETE", "team", "-/package/e2e-tags/dist-tags/nope")
    assert r.status == 404, r
    assert npm.json("view", "e2e-tags", "dist-tags") == {"latest": "1.1.0"}

    # deprecate / undeprecate (spec §5.5)
    npm("deprecate", "e2e-tags@1.0.0", "old", check=True)
    assert npm.json("view", "e2e-tags@1.0.0", "deprecated") == "old"
    assert npm.json("view", "e2e-tags@1.1.0", "deprecated") is None
    full = site.http("GET", "team", "e2e-tags")
    assert full.json["versions"]["1.0.0"].get("deprecated") == "old", full.json["versions"]["1.0.0"]
    assert "deprecated" not in full.json["versions"]["1.1.0"]
    abbreviated = site.http("GET", "team", "e2e-tags", accept="application/vnd.npm.install-v1+json")
    assert abbreviated.json["versions"]["1.0.0"].get("deprecated") == "old"
    # deprecation does not change the version list or the stored versions
    assert sorted(as_list(npm.json("view", "e2e-tags", "versions"))) == ["1.0.0", "1.1.0"]
    assert {v: s["status"] for v, s in site.versions("team", "e2e-tags").items()} == {
        "1.0.0": "Published", "1.1.0": "Published"}

    npm("deprecate", "e2e-tags@1.0.0", "", check=True)
    assert npm.json("view", "e2e-tags@1.0.0", "deprecated") is None
    full = site.http("GET", "team", "e2e-tags")
    assert "deprecated" not in full.json["versions"]["1.0.0"], full.json["versions"]["1.0.0"]

    # publish --tag: the body's dist-tags are applied, latest stays (spec §5.4 step 5)
    d = make_package(tmp_path, "e2e-tags", "2.0.0")
    npm("publish", "--tag", "next", cwd=d, check=True)
    assert npm.json("view", "e2e-tags", "dist-tags") == {"latest": "1.1.0", "next": "2.0.0"}
    proj = make_project(tmp_path)
    npm("install", "e2e-tags", cwd=proj, check=True)
    assert json.loads((proj / "node_modules" / "e2e-tags" / "package.json").read_text())["version"] == "1.1.0"

    # ListPackageVersions.defaultDisplayVersion for npm is the version tagged `latest`
    # (control-plane spec, ListPackageVersions), not the newest one
    assert site.ca.list_package_versions(**site.pkg("team", "e2e-tags"))["defaultDisplayVersion"] == "1.1.0"
    npm("dist-tag", "add", "e2e-tags@1.0.0", "latest", check=True)
    listed = site.ca.list_package_versions(**site.pkg("team", "e2e-tags"))
    assert listed.get("defaultDisplayVersion") == "1.0.0", (
        f"latest → 1.0.0 but defaultDisplayVersion={listed.get('defaultDisplayVersion')!r}")


# --------------------------------------------------------------------------------------------
# 5. status changes through the control plane
# --------------------------------------------------------------------------------------------


def test_status_changes_reach_npm(site_factory, tmp_path):
    site = site_factory("team")
    npm = site.login("team")
    for v in ("1.0.0", "1.1.0", "1.2.0"):
        publish(npm, tmp_path, "e2e-status", v)
    url_100 = npm.json("view", "e2e-status@1.0.0", "dist")["tarball"]
    url_110 = npm.json("view", "e2e-status@1.1.0", "dist")["tarball"]

    # Unlisted: out of the version list, still downloadable (spec §4.1)
    site.set_status("team", "e2e-status", ["1.0.0"], "Unlisted")
    assert sorted(as_list(npm.json("view", "e2e-status", "versions"))) == ["1.1.0", "1.2.0"]
    abbreviated = site.http("GET", "team", "e2e-status", accept="application/vnd.npm.install-v1+json")
    assert sorted(abbreviated.json["versions"]) == ["1.1.0", "1.2.0"], abbreviated
    assert site.get_url(url_100, npm.token).status == 200
    proj = make_project(tmp_path)
    npm("install", url_100, cwd=proj, check=True)
    assert json.loads((proj / "node_modules" / "e2e-status" / "package.json").read_text())["version"] == "1.0.0"
    p = npm("install", "e2e-status@1.0.0", cwd=make_project(tmp_path))
    assert p.returncode != 0 and npm_error_code(p) == "ETARGET", (p.returncode, p.stderr)

    # Archived: out of the list and not downloadable
    site.set_status("team", "e2e-status", ["1.1.0"], "Archived")
    assert as_list(npm.json("view", "e2e-status", "versions")) == ["1.2.0"]
    got = site.get_url(url_110, npm.token)
    assert got.status == 404, got
    p = npm("install", url_110, cwd=make_project(tmp_path))
    assert p.returncode != 0 and npm_error_code(p) == "E404", (p.returncode, p.stderr)
    # an unlisted version can be archived too, then it is gone for downloads as well
    site.set_status("team", "e2e-status", ["1.0.0"], "Archived")
    assert site.get_url(url_100, npm.token).status == 404

    # back to Published: listed and installable again
    site.set_status("team", "e2e-status", ["1.0.0", "1.1.0"], "Published")
    assert sorted(as_list(npm.json("view", "e2e-status", "versions"))) == ["1.0.0", "1.1.0", "1.2.0"]
    proj = make_project(tmp_path)
    npm("install", "e2e-status@1.1.0", cwd=proj, check=True)
    assert json.loads((proj / "node_modules" / "e2e-status" / "package.json").read_text())["version"] == "1.1.0"

    # Disposed: assets gone, tarball 404
    site.ca.dispose_package_versions(**site.pkg("team", "e2e-status"), versions=["1.1.0"])
    assert site.get_url(url_110, npm.token).status == 404
    assert sorted(as_list(npm.json("view", "e2e-status", "versions"))) == ["1.0.0", "1.2.0"]

    # deleted: gone, and the version may be published again (spec §4.1)
    site.ca.delete_package_versions(**site.pkg("team", "e2e-status"), versions=["1.2.0"])
    assert sorted(as_list(npm.json("view", "e2e-status", "versions"))) == ["1.0.0"]
    publish(npm, tmp_path, "e2e-status", "1.2.0", body="module.exports = 'second 1.2.0';\n")
    proj = make_project(tmp_path)
    npm("install", "e2e-status@1.2.0", cwd=proj, check=True)
    assert "second 1.2.0" in (proj / "node_modules" / "e2e-status" / "index.js").read_text()

    # every version hidden → the packument is 404 (spec §5.2 rule 1)
    site.set_status("team", "e2e-status", ["1.0.0", "1.2.0"], "Unlisted")
    r = site.http("GET", "team", "e2e-status")
    assert r.status == 404, r


# --------------------------------------------------------------------------------------------
# 6. upstreams, retention, origin controls, publish conflicts
# --------------------------------------------------------------------------------------------


def test_upstreams_retention_and_origin_controls(site_factory, tmp_path):
    site = site_factory("repo-c", "repo-b", "repo-a")
    for repo, up in (("repo-b", "repo-c"), ("repo-a", "repo-b")):
        res = site.aws("codeartifact", "update-repository", "--domain", site.domain, "--repository", repo,
                       "--upstreams", f"repositoryName={up}")
        assert res.rc == 0, res.err
    npm_c = site.login("repo-c")
    npm_a = site.login("repo-a")
    endpoint_a = site.endpoint("repo-a")

    publish(npm_c, tmp_path, "up-pkg", "1.0.0")
    publish(npm_c, tmp_path, "up-pkg", "1.1.0")

    # listing through A: merged from C, tarballs rewritten to A (spec §5.2 rule 2, upstreams §6.1)
    view = npm_a.json("view", "up-pkg")
    assert sorted(as_list(view["versions"])) == ["1.0.0", "1.1.0"], view
    assert view["dist-tags"]["latest"] == "1.1.0"
    packument = site.http("GET", "repo-a", "up-pkg")
    assert packument.status == 200, packument
    for v, manifest in packument.json["versions"].items():
        assert manifest["dist"]["tarball"].startswith(endpoint_a), (v, manifest["dist"])
    assert site.versions("repo-a", "up-pkg") is None, "listing metadata retains nothing (upstreams §4.2)"

    # install through A → retained in A only (upstreams §4.1)
    proj = make_project(tmp_path)
    npm_a("install", "up-pkg@1.0.0", cwd=proj, check=True)
    assert json.loads((proj / "node_modules" / "up-pkg" / "package.json").read_text())["version"] == "1.0.0"
    lock = json.loads((proj / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/up-pkg"]["resolved"].startswith(endpoint_a), lock

    in_a = site.versions("repo-a", "up-pkg")
    assert in_a is not None and sorted(in_a) == ["1.0.0"], in_a
    assert in_a["1.0.0"]["origin"] == {"originType": "INTERNAL", "domainEntryPoint": {"repositoryName": "repo-c"}}, in_a
    assert in_a["1.0.0"]["status"] == "Published"
    in_c = site.versions("repo-c", "up-pkg")
    assert sorted(in_c) == ["1.0.0", "1.1.0"], in_c
    assert in_c["1.0.0"]["origin"] == {"originType": "INTERNAL", "domainEntryPoint": {"repositoryName": "repo-c"}}
    assert site.versions("repo-b", "up-pkg") is None, "the intermediate repository B retains nothing"
    desc = site.describe_version("repo-a", "up-pkg", "1.0.0")
    assert desc["origin"] == {"originType": "INTERNAL", "domainEntryPoint": {"repositoryName": "repo-c"}}, desc

    # listing again through A does not retain the other version
    npm_a.json("view", "up-pkg@1.1.0")
    site.http("GET", "repo-a", "up-pkg", accept="application/vnd.npm.install-v1+json")
    assert sorted(site.versions("repo-a", "up-pkg")) == ["1.0.0"]

    # dist-tags: A's own tags are merged with C's; on a clash the upstream value wins (upstreams §6.1)
    npm_a("dist-tag", "add", "up-pkg@1.0.0", "latest", check=True)
    npm_a("dist-tag", "add", "up-pkg@1.0.0", "mine", check=True)
    assert npm_a.json("view", "up-pkg", "dist-tags") == {"latest": "1.1.0", "mine": "1.0.0"}
    r = site.http("GET", "repo-a", "-/package/up-pkg/dist-tags")
    assert r.status == 200 and r.json == {"latest": "1.1.0", "mine": "1.0.0"}, r
    assert npm_c.json("view", "up-pkg", "dist-tags") == {"latest": "1.1.0"}, "tags edit only the repository addressed"
    npm_a("dist-tag", "rm", "up-pkg", "mine", check=True)

    # origin controls (upstreams §7.2)
    pa = site.describe_package("repo-a", "up-pkg")
    assert pa["originConfiguration"]["restrictions"] == {"publish": "BLOCK", "upstream": "ALLOW"}, pa
    pc = site.describe_package("repo-c", "up-pkg")
    assert pc["originConfiguration"]["restrictions"] == {"publish": "ALLOW", "upstream": "BLOCK"}, pc

    # the upstream copy Archived → 404 through A and nothing retained (upstreams §3.3)
    site.set_status("repo-c", "up-pkg", ["1.1.0"], "Archived")
    assert as_list(npm_a.json("view", "up-pkg", "versions")) == ["1.0.0"]
    r = site.http("GET", "repo-a", "up-pkg/-/up-pkg-1.1.0.tgz", accept="*/*")
    assert r.status == 404, r
    assert sorted(site.versions("repo-a", "up-pkg")) == ["1.0.0"]
    site.set_status("repo-c", "up-pkg", ["1.1.0"], "Published")

    # a retained version is a snapshot: deleting it upstream leaves A's copy (upstreams §4.3)
    site.ca.delete_package_versions(**site.pkg("repo-c", "up-pkg"), versions=["1.0.0"])
    assert sorted(as_list(npm_a.json("view", "up-pkg", "versions"))) == ["1.0.0", "1.1.0"]
    proj = make_project(tmp_path)
    npm_a("install", "up-pkg@1.0.0", cwd=proj, check=True)
    assert json.loads((proj / "node_modules" / "up-pkg" / "package.json").read_text())["version"] == "1.0.0"

    # publish=BLOCK in A (retained package): direct publish refused (spec §4.2, upstreams §7.3)
    d = make_package(tmp_path, "up-pkg", "2.0.0")
    p = npm_a("publish", cwd=d)
    assert p.returncode != 0 and npm_error_code(p) in ("E409", "EPUBLISHCONFLICT"), (p.returncode, p.stderr)
    assert site.describe_version("repo-a", "up-pkg", "2.0.0") is None

    # dependency confusion (upstreams §8.2 scenario 1): conf-pkg first published directly to A
    publish(npm_a, tmp_path, "conf-pkg", "2.0.0")
    publish(npm_c, tmp_path, "conf-pkg", "1.0.0")
    publish(npm_c, tmp_path, "conf-pkg", "3.0.0")
    pa = site.describe_package("repo-a", "conf-pkg")
    assert pa["originConfiguration"]["restrictions"] == {"publish": "ALLOW", "upstream": "BLOCK"}, pa
    view = npm_a.json("view", "conf-pkg")
    assert as_list(view["versions"]) == ["2.0.0"], view
    assert view["dist-tags"] == {"latest": "2.0.0"}, view
    p = npm_a("install", "conf-pkg@3.0.0", cwd=make_project(tmp_path))
    assert p.returncode != 0 and npm_error_code(p) == "ETARGET", (p.returncode, p.stderr)
    r = site.http("GET", "repo-a", "conf-pkg/-/conf-pkg-1.0.0.tgz")
    assert r.status == 404, r
    assert sorted(site.versions("repo-a", "conf-pkg")) == ["2.0.0"]

    # publishing to A a version reachable upstream, package not yet in A → 409 (upstreams §8.1)
    publish(npm_c, tmp_path, "shadow-pkg", "1.0.0")
    d = make_package(tmp_path, "shadow-pkg", "1.0.0", body="module.exports = 'shadow';\n")
    p = npm_a("publish", "--force", cwd=d)  # --force: skip npm's own check, let the server answer
    assert p.returncode != 0 and npm_error_code(p) in ("E409", "EPUBLISHCONFLICT"), (p.returncode, p.stderr)
    r = site.http("PUT", "repo-a", "shadow-pkg",
                  publish_body(endpoint_a, "shadow-pkg", "1.0.0", tarball("shadow-pkg", "1.0.0", "-shadow")))
    assert r.status == 409, r
    assert site.describe_version("repo-a", "shadow-pkg", "1.0.0") is None
    assert site.versions("repo-a", "shadow-pkg") is None, "a refused publish creates no package record"
    # what A lists is still C's build (listing retains nothing)
    via_a = npm_a.json("view", "shadow-pkg@1.0.0", "dist")
    via_c = npm_c.json("view", "shadow-pkg@1.0.0", "dist")
    assert via_a["integrity"] == via_c["integrity"], (via_a, via_c)
    # a version not reachable upstream can be published; the package is then ALLOW/BLOCK in A and
    # C's versions disappear from A's view
    publish(npm_a, tmp_path, "shadow-pkg", "2.0.0")
    assert site.describe_version("repo-a", "shadow-pkg", "2.0.0")["origin"] == {
        "originType": "INTERNAL", "domainEntryPoint": {"repositoryName": "repo-a"}}
    pa = site.describe_package("repo-a", "shadow-pkg")
    assert pa["originConfiguration"]["restrictions"] == {"publish": "ALLOW", "upstream": "BLOCK"}, pa
    assert as_list(npm_a.json("view", "shadow-pkg", "versions")) == ["2.0.0"]

    # PutPackageOriginConfiguration on a name A has never seen: upstream=BLOCK hides C's versions
    # (upstreams §7.1, §7.3), ALLOW shows them again
    publish(npm_c, tmp_path, "gate-pkg", "1.0.0")
    site.ca.put_package_origin_configuration(**site.pkg("repo-a", "gate-pkg"),
                                             restrictions={"publish": "ALLOW", "upstream": "BLOCK"})
    p = npm_a("view", "gate-pkg", "--json")
    assert p.returncode != 0 and npm_error_code(p) == "E404", (p.returncode, p.stdout, p.stderr)
    r = site.http("GET", "repo-a", "gate-pkg/-/gate-pkg-1.0.0.tgz", accept="*/*")
    assert r.status == 404, r
    assert site.versions("repo-a", "gate-pkg") == {}, "the record holds restrictions only"
    site.ca.put_package_origin_configuration(**site.pkg("repo-a", "gate-pkg"),
                                             restrictions={"publish": "BLOCK", "upstream": "ALLOW"})
    assert as_list(npm_a.json("view", "gate-pkg", "versions")) == ["1.0.0"]
    # publish=BLOCK set by hand: a new version cannot be published to A
    d = make_package(tmp_path, "gate-pkg", "2.0.0")
    p = npm_a("publish", cwd=d)
    assert p.returncode != 0 and npm_error_code(p) in ("E409", "EPUBLISHCONFLICT"), (p.returncode, p.stderr)

    # upstream=BLOCK on the package in the intermediate B stops the walk below B (upstreams §3.1)
    publish(npm_c, tmp_path, "walk-pkg", "1.0.0")
    assert as_list(npm_a.json("view", "walk-pkg", "versions")) == ["1.0.0"]
    site.ca.put_package_origin_configuration(**site.pkg("repo-b", "walk-pkg"),
                                             restrictions={"publish": "ALLOW", "upstream": "BLOCK"})
    p = npm_a("view", "walk-pkg", "--json")
    assert p.returncode != 0 and npm_error_code(p) == "E404", (p.returncode, p.stdout, p.stderr)
    r = site.http("GET", "repo-a", "walk-pkg/-/walk-pkg-1.0.0.tgz", accept="*/*")
    assert r.status == 404, r
    assert site.versions("repo-a", "walk-pkg") is None


# --------------------------------------------------------------------------------------------
# 7. tokens
# --------------------------------------------------------------------------------------------


def test_tokens(site_factory, tmp_path):
    site = site_factory("team")
    npm = site.login("team")
    publish(npm, tmp_path, "e2e-auth", "1.0.0")
    endpoint = site.endpoint("team")

    # no token → 401 with Basic and Bearer challenges (spec §2.3) on every npm route
    for method, rest, body in (
        ("GET", "e2e-auth", None),
        ("GET", "e2e-auth/-/e2e-auth-1.0.0.tgz", None),
        ("GET", "-/package/e2e-auth/dist-tags", None),
        ("PUT", "e2e-auth", publish_body(endpoint, "e2e-auth", "1.0.1", tarball("e2e-auth", "1.0.1"))),
    ):
        r = site.http(method, "team", rest, body, token=None)
        assert r.status == 401, (method, rest, r)
        schemes = {c.split()[0].lower() for c in r.header_all("WWW-Authenticate") if c.strip()}
        assert {"basic", "bearer"} <= schemes, (method, rest, r)
    assert site.describe_version("team", "e2e-auth", "1.0.1") is None

    # npm with a tampered token → E401
    bad_home = tmp_path / "home-bad"
    bad_home.mkdir()
    text = (npm.home / ".npmrc").read_text()
    tampered = flip_char(npm.token, len(npm.token) // 2)
    assert tampered != npm.token
    (bad_home / ".npmrc").write_text(text.replace(npm.token, tampered))
    bad = Npm(bad_home, npm.registry, tampered)
    p = bad("view", "e2e-auth", "--json")
    assert p.returncode != 0 and npm_error_code(p) == "E401", (p.returncode, p.stdout, p.stderr)
    p = bad("install", "e2e-auth", cwd=make_project(tmp_path))
    assert p.returncode != 0 and npm_error_code(p) == "E401", (p.returncode, p.stderr)
    d = make_package(tmp_path, "e2e-auth", "1.0.2")
    p = bad("publish", cwd=d)
    assert p.returncode != 0 and npm_error_code(p) == "E401", (p.returncode, p.stderr)
    assert site.describe_version("team", "e2e-auth", "1.0.2") is None

    # every encoding is accepted on npm routes too (spec §2.2); Basic needs the user `aws`
    for auth, status in ((f"Basic {base64.b64encode(f'aws:{npm.token}'.encode()).decode()}", 200),
                         (npm.token, 200),
                         (f"Basic {base64.b64encode(f'bob:{npm.token}'.encode()).decode()}", 401)):
        r = site.http("GET", "team", "e2e-auth", token=None, headers={"Authorization": auth})
        assert r.status == status, (auth[:12], r)

    # a token of another domain → 401
    other = site_factory("team")
    other_npm = other.login("team")
    r = site.http("GET", "team", "e2e-auth", token=other_npm.token)
    assert r.status == 401, r
    # the genuine token still works
    assert npm.json("view", "e2e-auth", "version") == "1.0.0"


# --------------------------------------------------------------------------------------------
# 8. merging own and upstream versions
# --------------------------------------------------------------------------------------------


def test_merge_precedence_and_conflicts_with_upstream_allowed(site_factory, tmp_path):
    """A → C with the package ALLOW/ALLOW in A: A's view is the union, A's own copy of a version
    wins over C's (upstreams §6, §8.3), and publishing a version C has is a conflict (§8.1)."""
    site = site_factory("repo-c", "repo-a")
    site.ca.update_repository(domain=site.domain, repository="repo-a",
                              upstreams=[{"repositoryName": "repo-c"}])
    npm_c = site.login("repo-c")
    npm_a = site.login("repo-a")
    endpoint_a = site.endpoint("repo-a")

    publish(npm_a, tmp_path, "mix-pkg", "1.0.0", body="module.exports = 'A build';\n")
    publish(npm_c, tmp_path, "mix-pkg", "1.0.0", body="module.exports = 'C build';\n")
    publish(npm_c, tmp_path, "mix-pkg", "2.0.0")
    # first published to A → ALLOW/BLOCK: C's 2.0.0 is invisible
    assert as_list(npm_a.json("view", "mix-pkg", "versions")) == ["1.0.0"]
    site.ca.put_package_origin_configuration(**site.pkg("repo-a", "mix-pkg"),
                                             restrictions={"publish": "ALLOW", "upstream": "ALLOW"})
    view = npm_a.json("view", "mix-pkg")
    assert sorted(as_list(view["versions"])) == ["1.0.0", "2.0.0"], view
    own = npm_a.json("view", "mix-pkg@1.0.0", "dist")
    assert own["tarball"].startswith(endpoint_a)
    got = site.get_url(own["tarball"], npm_a.token)
    assert got.status == 200 and sri(got.body) == own["integrity"]
    with tarfile.open(fileobj=io.BytesIO(got.body), mode="r:gz") as tar:
        assert b"A build" in tar.extractfile("package/index.js").read(), "A's own 1.0.0 wins"
    # dist-tags: C's latest (2.0.0) wins over A's own latest (1.0.0)
    assert view["dist-tags"]["latest"] == "2.0.0", view["dist-tags"]

    # publishing to A a version C has → 409; one nobody has → accepted
    d = make_package(tmp_path, "mix-pkg", "2.0.0", body="module.exports = 'A 2.0.0';\n")
    p = npm_a("publish", "--force", cwd=d)
    assert p.returncode != 0 and npm_error_code(p) in ("E409", "EPUBLISHCONFLICT"), (p.returncode, p.stderr)
    assert sorted(site.versions("repo-a", "mix-pkg")) == ["1.0.0"]
    publish(npm_a, tmp_path, "mix-pkg", "3.0.0")
    assert sorted(site.versions("repo-a", "mix-pkg")) == ["1.0.0", "3.0.0"]
    # installing C's 2.0.0 through A retains it in A with C as origin
    proj = make_project(tmp_path)
    npm_a("install", "mix-pkg@2.0.0", cwd=proj, check=True)
    in_a = site.versions("repo-a", "mix-pkg")
    assert sorted(in_a) == ["1.0.0", "2.0.0", "3.0.0"], in_a
    assert in_a["2.0.0"]["origin"]["domainEntryPoint"] == {"repositoryName": "repo-c"}, in_a["2.0.0"]
    assert in_a["1.0.0"]["origin"]["domainEntryPoint"] == {"repositoryName": "repo-a"}, in_a["1.0.0"]

    # deprecating through A a version that only C stores: ignored, 200 (spec §5.5 [Assume]),
    # so `npm deprecate` succeeds and C's version is untouched
    publish(npm_c, tmp_path, "only-c", "1.0.0")
    p = npm_a("deprecate", "only-c@1.0.0", "through A")
    assert p.returncode == 0, f"npm deprecate through A failed: {npm_error_code(p)}\n{p.stderr}"
    assert npm_c.json("view", "only-c@1.0.0", "deprecated") is None
    assert site.versions("repo-a", "only-c") is None


# --------------------------------------------------------------------------------------------
# 9. a record in the downstream repository masks the upstream copy
# --------------------------------------------------------------------------------------------


def test_downstream_record_masks_upstream_copy(site_factory, tmp_path):
    """upstreams §3.2 [Assume]: a version record in a non-downloadable status masks the same
    version further upstream (404, no fall-through); §6: the first source in search order
    describes the version and only `Published` versions are listed; §6.1 [Assume]: a tag whose
    target is not in the merged versions is dropped."""
    site = site_factory("repo-c", "repo-a")
    site.ca.update_repository(domain=site.domain, repository="repo-a",
                              upstreams=[{"repositoryName": "repo-c"}])
    npm_c = site.login("repo-c")
    npm_a = site.login("repo-a")
    publish(npm_c, tmp_path, "mask-pkg", "1.0.0")
    publish(npm_c, tmp_path, "mask-pkg", "1.1.0")
    proj = make_project(tmp_path)
    npm_a("install", "mask-pkg@1.1.0", cwd=proj, check=True)
    assert sorted(site.versions("repo-a", "mask-pkg")) == ["1.1.0"]

    site.set_status("repo-a", "mask-pkg", ["1.1.0"], "Archived")
    r = site.http("GET", "repo-a", "mask-pkg/-/mask-pkg-1.1.0.tgz", accept="*/*")
    assert r.status == 404, f"A's Archived record must mask C's copy: {r}"
    assert site.http("GET", "repo-c", "mask-pkg/-/mask-pkg-1.1.0.tgz", accept="*/*").status == 200

    problems = []
    for accept in ("application/json", "application/vnd.npm.install-v1+json"):
        doc = site.http("GET", "repo-a", "mask-pkg", accept=accept).json
        if sorted(doc["versions"]) != ["1.0.0"]:
            problems.append(f"GET mask-pkg ({accept}) through A lists {sorted(doc['versions'])}, "
                            "expected ['1.0.0']: 1.1.0 is Archived in A (A's record is found first)")
        dangling = {t: v for t, v in doc.get("dist-tags", {}).items() if v not in doc["versions"]}
        if dangling:
            problems.append(f"GET mask-pkg ({accept}) through A: dist-tags point at unlisted versions {dangling}")
    # npm resolves the range from the listing: it must pick an installable version
    proj = make_project(tmp_path)
    p = npm_a("install", "mask-pkg@^1.0.0", cwd=proj)
    if p.returncode != 0:
        problems.append(f"npm install mask-pkg@^1.0.0 through A failed: {npm_error_code(p)} "
                        f"{[l for l in p.stderr.splitlines() if 'error' in l][:3]}")
    elif json.loads((proj / "node_modules" / "mask-pkg" / "package.json").read_text())["version"] != "1.0.0":
        problems.append("npm install mask-pkg@^1.0.0 through A did not install 1.0.0")
    assert not problems, "\n".join(problems)
