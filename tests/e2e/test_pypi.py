"""The PyPI repository endpoint driven by real clients — twine, pip (the venv's), uv — and by
hand-made HTTP requests, checked against the control plane.

References: repository-endpoints spec §2.2–2.3 (credentials, 401), §3.2–3.3 (`aws codeartifact
login --tool pip|twine`), §4.1 (status and visibility), §4.2 (publishing rules), §4.3 (PyPI
name normalisation), §6.1–6.7 (PyPI routes, content negotiation, HTML and JSON project pages,
file download, upload); upstreams spec §3 (search order), §4 (retention), §6.2 (PyPI merge),
§7 (origin controls), §8 (publish conflicts), §9 (origin); control-plane spec §6.5–6.8, §10.

Isolation: every client runs with a temporary HOME and a minimal environment (conftest
`client_env`). pip reads the configuration `aws codeartifact login --tool pip` wrote
(`PIP_CONFIG_FILE`), gets the same index URL as `PIP_INDEX_URL`, runs with `--no-cache-dir`
and no keyring; `Pip.__call__` refuses to start pip when any configured index is not this
server or when an extra index / find-links is configured. uv gets `UV_NO_CONFIG=1`, a temporary
`UV_CACHE_DIR`, our index only, and no Python downloads; twine reads the `~/.pypirc` written by
`login --tool twine` and is refused unless that repository is this server. Distributions are
built offline (tests/e2e/pydist.py).
"""

from __future__ import annotations

import configparser
import datetime as _dt
import re
import subprocess
import urllib.parse
import uuid
from pathlib import Path

import pytest

from conftest import ACCOUNT, asset_hashes, basic, client_env, flip_char, http_request, sha256_of, unique, venv_dir
from packagekit import Packages
from pydist import build_project, make_sdist, make_wheel, read_metadata
from pypikit import Pip, ProjectPage, digests, loopback_url, multipart, run_python, upload_fields

CLIENT_TIMEOUT = 120

JSON_V1 = "application/vnd.pypi.simple.v1+json"
HTML_V1 = "application/vnd.pypi.simple.v1+html"
PIP_ACCEPT = f"{JSON_V1}, {HTML_V1}; q=0.1, text/html; q=0.01"

MAIN_NAME = "My_Pkg.Name"
MAIN_SUMMARY = "My package: a summary & <more>"
MAIN_README = (
    "# My_Pkg.Name\n\n"
    "A *long* description of My_Pkg.Name for GetPackageVersionReadme.\n\n"
    "- item one\n- item two\n"
)
MAIN_REQUIRES = ["my-dep-lib>=1.0", 'never-installed>=2.0; python_version < "3"']
MAIN_CODE = (
    "from my_dep_lib import VERSION as DEP_VERSION\n"
    "NAME = 'My_Pkg.Name'\nVERSION = '1.0.0'\n"
    "def hello():\n    return 'hello from my_pkg_name with my_dep_lib ' + DEP_VERSION\n"
)


# --------------------------------------------------------------------------------------------
# Distributions (built once per module, offline)
# --------------------------------------------------------------------------------------------


class Built:
    def __init__(self, main_sdist: Path, main_wheel: Path, dep_wheels: dict[str, Path]):
        self.main_sdist = main_sdist
        self.main_wheel = main_wheel
        self.dep_wheels = dep_wheels  # version → wheel of my-dep-lib

    @property
    def main(self) -> list[Path]:
        return [self.main_sdist, self.main_wheel]

    @property
    def all(self) -> list[Path]:
        return [*self.dep_wheels.values(), *self.main]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    work = tmp_path_factory.mktemp("pydists")
    env = client_env(work / "home")
    sdist, wheel = build_project(work, MAIN_NAME, "1.0.0", env=env, summary=MAIN_SUMMARY,
                                 readme=MAIN_README, requires_python=">=3.8, <4",
                                 dependencies=MAIN_REQUIRES, module="my_pkg_name", code=MAIN_CODE,
                                 python=str(venv_dir() / "bin" / "python"))
    assert sdist.name == "my_pkg_name-1.0.0.tar.gz", sdist
    assert wheel.name == "my_pkg_name-1.0.0-py3-none-any.whl", wheel
    meta = read_metadata(wheel)
    assert meta["Name"] == MAIN_NAME and meta["Requires-Python"] == "<4,>=3.8", dict(meta)
    deps = {
        v: make_wheel(work / "dep", "my-dep-lib", v, summary="Dependency of My_Pkg.Name",
                      requires_python=">=3.8")
        for v in ("1.0.0", "1.1.0")
    }
    return Built(sdist, wheel, deps)


# --------------------------------------------------------------------------------------------
# Clients (pip and the HTML page parser are pypikit's)
# --------------------------------------------------------------------------------------------


def uv(home: Path, *args: str, index_url: str | None, port: int) -> subprocess.CompletedProcess:
    """The pinned uv with no configuration files, a fresh cache, and our index only."""
    env = client_env(home)
    env.update({
        "UV_NO_CONFIG": "1",
        "UV_CACHE_DIR": str(home / f"uv-cache-{uuid.uuid4().hex[:6]}"),
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_NO_PROGRESS": "1",
        "UV_KEYRING_PROVIDER": "disabled",
        "UV_HTTP_TIMEOUT": "30",
        "UV_CONCURRENT_DOWNLOADS": "4",
    })
    if index_url is not None:
        assert loopback_url(index_url, port), f"refusing to run uv with index {index_url}"
        env["UV_INDEX_URL"] = index_url
    for a in args:
        if a.startswith(("http://", "https://")):
            assert loopback_url(a, port), f"refusing to run uv against {a}"
    return subprocess.run([str(venv_dir() / "bin" / "uv"), *args], env=env, capture_output=True, text=True,
                          timeout=CLIENT_TIMEOUT, stdin=subprocess.DEVNULL, cwd=str(home))


class Twine:
    """twine bound to one temporary HOME whose ~/.pypirc was written by
    `aws codeartifact login --tool twine`."""

    def __init__(self, home: Path, server):
        self.home = home
        self.server = server
        self.port = server.port

    def __call__(self, *args: str, check: bool = False) -> subprocess.CompletedProcess:
        parser = configparser.ConfigParser()
        parser.read(self.home / ".pypirc")
        repo = parser.get("codeartifact", "repository")
        assert loopback_url(repo, self.port), f"refusing to run twine against {repo}"
        assert args[:3] == ("upload", "-r", "codeartifact"), args
        env = client_env(self.home)
        env.update({"TWINE_NON_INTERACTIVE": "1",
                    "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"})
        p = subprocess.run([str(venv_dir() / "bin" / "twine"), *args, "--non-interactive",
                            "--disable-progress-bar", "--verbose"],
                           env=env, capture_output=True, text=True, timeout=CLIENT_TIMEOUT,
                           stdin=subprocess.DEVNULL, cwd=str(self.home))
        if check:
            assert p.returncode == 0, (
                f"twine {' '.join(args)} failed (rc={p.returncode}):\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
                f"\nserver log (tail):\n{self.server.log()[-4000:]}")
        return p


# --------------------------------------------------------------------------------------------
# One domain with repositories
# --------------------------------------------------------------------------------------------


class Site(Packages):
    """One domain with repositories, pip/twine logins and raw HTTP helpers; the control-plane
    view of its packages (names passed as given, not normalised) comes from packagekit."""

    FORMAT = "pypi"

    def __init__(self, server, aws, ca, track, tmp: Path, repos: tuple[str, ...]):
        self.server = server
        self.aws = aws
        self.ca = ca
        self.tmp = tmp
        self.domain = track.create_domain(unique("pypi"))["name"]
        self._token: str | None = None
        for r in repos:
            ca.create_repository(domain=self.domain, repository=r)

    @property
    def token(self) -> str:
        if self._token is None:
            self._token = self.ca.get_authorization_token(domain=self.domain)["authorizationToken"]
        return self._token

    def endpoint(self, repo: str) -> str:
        return f"http://127.0.0.1:{self.server.port}/pypi/d/{self.domain}-{ACCOUNT}/{repo}/"

    def index_url(self, repo: str, token: str | None = None) -> str:
        token = token or self.token
        return (f"http://aws:{urllib.parse.quote(token, safe='')}@127.0.0.1:{self.server.port}"
                f"/pypi/d/{self.domain}-{ACCOUNT}/{repo}/simple/")

    # logins ---------------------------------------------------------------------------
    def login_pip(self, repo: str) -> Pip:
        home = self.tmp / f"home-pip-{repo}-{uuid.uuid4().hex[:6]}"
        res = self.aws("codeartifact", "login", "--tool", "pip", "--domain", self.domain, "--repository", repo,
                       home=home)
        assert res.rc == 0, f"login --tool pip failed: {res.stdout}\n{res.err}"
        conf = home / ".config" / "pip" / "pip.conf"
        parser = configparser.ConfigParser()
        parser.read(conf)
        index_url = parser.get("global", "index-url")
        u = urllib.parse.urlsplit(index_url)
        assert u.username == "aws" and u.password, index_url
        assert index_url.endswith(f"/pypi/d/{self.domain}-{ACCOUNT}/{repo}/simple/"), index_url
        return Pip(home, index_url, self.server.port, conf, timeout=CLIENT_TIMEOUT)

    def login_twine(self, repo: str) -> Twine:
        home = self.tmp / f"home-twine-{repo}-{uuid.uuid4().hex[:6]}"
        res = self.aws("codeartifact", "login", "--tool", "twine", "--domain", self.domain, "--repository", repo,
                       home=home)
        assert res.rc == 0, f"login --tool twine failed: {res.stdout}\n{res.err}"
        parser = configparser.ConfigParser()
        parser.read(home / ".pypirc")
        assert parser.get("codeartifact", "repository") == self.endpoint(repo)
        return Twine(home, self.server)

    # raw HTTP -------------------------------------------------------------------------
    def http(self, method: str, repo: str, rest: str, body: bytes | None = None, *, token: str | None = "default",
             accept: str | None = None, headers: dict | None = None):
        if token == "default":
            token = self.token
        path = urllib.parse.urlsplit(self.endpoint(repo)).path + rest
        hdrs = {"Host": self.server.address}
        if accept is not None:
            hdrs["Accept"] = accept
        if token is not None:
            hdrs["Authorization"] = basic(token)
        if headers:
            hdrs.update(headers)
        return http_request(self.server.host, self.server.port, method, path, body, hdrs)

    def get_url(self, url: str, token: str | None = "default", method: str = "GET"):
        if token == "default":
            token = self.token
        u = urllib.parse.urlsplit(url)
        assert loopback_url(url, self.server.port), url
        hdrs = {"Host": u.netloc, "Accept": "*/*"}
        if token:
            hdrs["Authorization"] = basic(token)
        return http_request(u.hostname, u.port, method, u.path, None, hdrs)

    def page_json(self, repo: str, project: str, token: str | None = "default"):
        return self.http("GET", repo, f"simple/{project}/", token=token, accept=JSON_V1)

    def page_html(self, repo: str, project: str, token: str | None = "default"):
        return self.http("GET", repo, f"simple/{project}/", token=token, accept="text/html")

    def upload(self, repo: str, fields: list[tuple[str, str]], filename: str | None, content: bytes | None,
               token: str | None = "default", auth: str | None = None):
        body, ctype = multipart(fields, filename, content)
        headers = {"Content-Type": ctype}
        if auth is not None:
            headers["Authorization"] = auth
        return self.http("POST", repo, "", body, token=None if auth is not None else token, headers=headers)

    def upload_dist(self, repo: str, dist: Path, expect: int | None = 200, **override):
        r = self.upload(repo, upload_fields(dist, **override), dist.name, dist.read_bytes())
        if expect is not None:
            assert r.status == expect, f"upload of {dist.name} to {repo}: expected {expect}, got {r}"
        return r


@pytest.fixture
def site_factory(server, aws, ca, track, tmp_path):
    def make(*repos: str) -> Site:
        return Site(server, aws, ca, track, tmp_path, repos or ("team",))
    return make


def file_url(site: Site, repo: str, project: str, version: str, filename: str) -> str:
    return f"{site.endpoint(repo)}simple/{project}/{version}/{filename}"


def pep691_files(page) -> dict[str, dict]:
    assert page.status == 200, page
    assert page.json is not None, page
    return {f["filename"]: f for f in page.json["files"]}


# --------------------------------------------------------------------------------------------
# 1. twine upload → control plane
# --------------------------------------------------------------------------------------------


def test_twine_upload_and_control_plane(site_factory, built, tmp_path):
    site = site_factory("team")
    twine = site.login_twine("team")
    twine("upload", "-r", "codeartifact", *map(str, built.dep_wheels.values()), check=True)
    p = twine("upload", "-r", "codeartifact", str(built.main_sdist), str(built.main_wheel), check=True)
    out = p.stdout + p.stderr
    assert "my_pkg_name-1.0.0.tar.gz" in out and "my_pkg_name-1.0.0-py3-none-any.whl" in out, out

    # ListPackages: PyPI packages under their normalised names, no namespace (spec §4.3, §4.4)
    pkgs = site.ca.list_packages(domain=site.domain, repository="team", format="pypi")["packages"]
    assert sorted(p["package"] for p in pkgs) == ["my-dep-lib", "my-pkg-name"], pkgs
    for p in pkgs:
        assert p["format"] == "pypi" and "namespace" not in p, p
        assert p["originConfiguration"]["restrictions"] == {"publish": "ALLOW", "upstream": "BLOCK"}, p
    assert site.ca.list_packages(domain=site.domain, repository="team", format="npm")["packages"] == []

    listed = site.versions("team", "my-pkg-name")
    assert {v: s["status"] for v, s in listed.items()} == {"1.0.0": "Published"}, listed
    assert sorted(site.versions("team", "my-dep-lib")) == ["1.0.0", "1.1.0"]

    # DescribePackageVersion: normalised identity, display name as published (control-plane §6.6)
    desc = site.describe_version("team", "my-pkg-name", "1.0.0")
    assert desc is not None
    assert desc["format"] == "pypi" and desc["packageName"] == "my-pkg-name" and "namespace" not in desc, desc
    # twine sends `name` as pkg_resources.safe_name of the metadata Name (runs of characters other
    # than letters, digits and `.` → `-`), so My_Pkg.Name arrives as My-Pkg.Name; the display name
    # is the name as published (spec §6.6 `name`), i.e. what twine sent. test_simple_api checks that
    # a hand-made upload of `My_Pkg.Name` keeps the underscore.
    assert desc["displayName"] == re.sub(r"[^A-Za-z0-9.]+", "-", MAIN_NAME) == "My-Pkg.Name", desc
    assert desc.get("summary") == MAIN_SUMMARY, desc
    assert desc["version"] == "1.0.0" and desc["status"] == "Published", desc
    assert desc["origin"] == {"originType": "INTERNAL", "domainEntryPoint": {"repositoryName": "team"}}, desc
    # the API normalises PyPI names given as input (control-plane §10)
    same = site.describe_version("team", MAIN_NAME, "1.0.0")
    assert same is not None and same["packageName"] == "my-pkg-name", same
    pkg = site.describe_package("team", "my-pkg-name")
    assert pkg["name"] == "my-pkg-name" and pkg["format"] == "pypi", pkg

    # ListPackageVersionAssets: both files, sizes and all four hashes (control-plane §6.8)
    assets = site.assets("team", "my-pkg-name", "1.0.0")
    assert set(assets) == {built.main_sdist.name, built.main_wheel.name}, assets
    for f in built.main:
        data = f.read_bytes()
        assert assets[f.name]["size"] == len(data), assets[f.name]
        assert assets[f.name]["hashes"] == asset_hashes(data), assets[f.name]
    got = site.ca.get_package_version_asset(**site.pkg("team", "my-pkg-name"), packageVersion="1.0.0",
                                            asset=built.main_wheel.name)
    assert got["asset"].read() == built.main_wheel.read_bytes()

    # ListPackageVersionDependencies: the Requires-Dist entries (control-plane ListPackageVersionDependencies)
    deps = site.ca.list_package_version_dependencies(**site.pkg("team", "my-pkg-name"),
                                                     packageVersion="1.0.0")["dependencies"]
    by_name = {d["package"]: d for d in deps}
    assert set(by_name) == {"my-dep-lib", "never-installed"}, deps
    for d in deps:
        assert "namespace" not in d, d
        assert d.get("dependencyType") == "Requires-Dist", d
    assert ">=1.0" in by_name["my-dep-lib"].get("versionRequirement", ""), deps
    assert ">=2.0" in by_name["never-installed"].get("versionRequirement", ""), deps
    dep_deps = site.ca.list_package_version_dependencies(**site.pkg("team", "my-dep-lib"),
                                                         packageVersion="1.1.0")["dependencies"]
    assert dep_deps == [], dep_deps

    # GetPackageVersionReadme: the long description
    rd = site.ca.get_package_version_readme(**site.pkg("team", "my-pkg-name"), packageVersion="1.0.0")
    assert rd.get("readme", "").strip() == MAIN_README.strip(), rd
    rd = site.ca.get_package_version_readme(**site.pkg("team", "my-dep-lib"), packageVersion="1.0.0")
    assert not rd.get("readme"), f"my-dep-lib has no long description, got {rd.get('readme')!r}"

    # twine again with the same files: identical bytes are accepted (spec §6.6), nothing changes
    twine("upload", "-r", "codeartifact", str(built.main_wheel), check=True)
    assert site.assets("team", "my-pkg-name", "1.0.0") == assets
    # the same file name with other bytes → 409, twine fails and the stored file is unchanged
    changed = make_wheel(tmp_path / "changed", MAIN_NAME, "1.0.0", summary=MAIN_SUMMARY,
                         requires_dist=MAIN_REQUIRES, module="my_pkg_name")
    assert changed.name == built.main_wheel.name
    p = twine("upload", "-r", "codeartifact", str(changed))
    out = p.stdout + p.stderr
    assert p.returncode != 0 and re.search(r"\b409\b", out), out
    assert site.assets("team", "my-pkg-name", "1.0.0") == assets


# --------------------------------------------------------------------------------------------
# 2. pip install
# --------------------------------------------------------------------------------------------


def test_pip_install(site_factory, built, tmp_path):
    site = site_factory("team")
    for f in built.all:
        site.upload_dist("team", f)
    pip = site.login_pip("team")

    target = tmp_path / "t1"
    p = pip.install(target, "my-pkg-name")
    assert (target / "my_pkg_name-1.0.0.dist-info").is_dir(), sorted(x.name for x in target.iterdir())
    # the newest dependency that satisfies `my-dep-lib>=1.0`; the marker-excluded one is skipped
    assert (target / "my_dep_lib-1.1.0.dist-info").is_dir(), sorted(x.name for x in target.iterdir())
    assert not any(x.name.startswith("never_installed") for x in target.iterdir())
    run = run_python(pip.home, "import my_pkg_name; print(my_pkg_name.hello())", target)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "hello from my_pkg_name with my_dep_lib 1.1.0", run.stdout
    # pip picked the wheel (no build of the sdist happened)
    assert "my_pkg_name-1.0.0-py3-none-any.whl" in p.stdout, p.stdout

    # the name as published (pip normalises it for the URL) and a pinned dependency
    target2 = tmp_path / "t2"
    pip.install(target2, MAIN_NAME, "my-dep-lib==1.0.0")
    assert (target2 / "my_pkg_name-1.0.0.dist-info").is_dir()
    assert (target2 / "my_dep_lib-1.0.0.dist-info").is_dir(), sorted(x.name for x in target2.iterdir())
    run = run_python(pip.home, "import my_pkg_name; print(my_pkg_name.hello())", target2)
    assert run.returncode == 0 and run.stdout.strip().endswith("my_dep_lib 1.0.0"), (run.stdout, run.stderr)

    # pip download: byte-identical to the upload
    dl = tmp_path / "dl"
    pip("download", "--no-cache-dir", "--no-deps", "--only-binary", ":all:", "--dest", str(dl),
        "my-pkg-name==1.0.0", check=True)
    assert (dl / built.main_wheel.name).read_bytes() == built.main_wheel.read_bytes()

    # requirements pip cannot satisfy fail cleanly
    p = pip.install(tmp_path / "t3", "my-pkg-name==9.9.9", check=False)
    assert p.returncode != 0 and "No matching distribution" in p.stderr, p.stderr
    p = pip.install(tmp_path / "t4", "no-such-project-e2e", check=False)
    assert p.returncode != 0 and "No matching distribution" in p.stderr, p.stderr

    # a tampered token in the index URL → 401 → pip fails
    tampered = flip_char(site.token, len(site.token) // 2)
    bad_conf = tmp_path / "bad-pip.conf"
    bad_conf.write_text(pip.conf.read_text().replace(urllib.parse.urlsplit(pip.index_url).password,
                                                     urllib.parse.quote(tampered, safe="")))
    bad_url = site.index_url("team", tampered)
    bad = Pip(pip.home, bad_url, site.server.port, bad_conf, timeout=CLIENT_TIMEOUT)
    p = bad.install(tmp_path / "t5", "-vv", "my-pkg-name", check=False)
    out = p.stdout + p.stderr
    assert p.returncode != 0 and re.search(r"401 Client Error|HTTP error 401", out), out


# --------------------------------------------------------------------------------------------
# 3. uv: pip install and publish
# --------------------------------------------------------------------------------------------


def test_uv_install_and_publish(site_factory, built, tmp_path):
    site = site_factory("team")
    for f in built.all:
        site.upload_dist("team", f)
    home = tmp_path / "home-uv"
    home.mkdir()
    port = site.server.port
    index = site.index_url("team")
    python = str(venv_dir() / "bin" / "python")

    # uv pip install --target (uv asks for the PEP 691 JSON page first, spec §6.7)
    target = tmp_path / "uv-target"
    p = uv(home, "pip", "install", "--python", python, "--target", str(target), "--index-url", index,
           "my-pkg-name", index_url=index, port=port)
    assert p.returncode == 0, f"uv pip install failed:\n{p.stdout}\n{p.stderr}"
    assert (target / "my_pkg_name-1.0.0.dist-info").is_dir(), sorted(x.name for x in target.iterdir())
    assert (target / "my_dep_lib-1.1.0.dist-info").is_dir(), sorted(x.name for x in target.iterdir())
    run = run_python(home, "import my_pkg_name; print(my_pkg_name.hello())", target)
    assert run.returncode == 0 and run.stdout.strip() == "hello from my_pkg_name with my_dep_lib 1.1.0", run

    # into a venv made by uv, with the published spelling of the name and a pinned dependency
    venv = tmp_path / "uv-venv"
    p = uv(home, "venv", "--python", python, str(venv), index_url=None, port=port)
    assert p.returncode == 0, f"uv venv failed:\n{p.stdout}\n{p.stderr}"
    p = uv(home, "pip", "install", "--python", str(venv / "bin" / "python"), "--index-url", index,
           MAIN_NAME, "my-dep-lib==1.0.0", index_url=index, port=port)
    assert p.returncode == 0, f"uv pip install into a venv failed:\n{p.stdout}\n{p.stderr}"
    run = subprocess.run([str(venv / "bin" / "python"), "-c", "import my_pkg_name; print(my_pkg_name.hello())"],
                         env=client_env(home), capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stdout.strip().endswith("my_dep_lib 1.0.0"), (run.stdout, run.stderr)

    # uv publish (spec §6.7: POST per file to E)
    dist = tmp_path / "uv-dist"
    wheel = make_wheel(dist, "Uv.Published_Pkg", "0.3.0", summary="Published by uv publish",
                       description="# Uv.Published_Pkg\n\nLong text.\n", description_content_type="text/markdown",
                       requires_python=">=3.8", requires_dist=["my-dep-lib>=1.0"], module="uv_published_pkg")
    sdist = make_sdist(dist, "Uv.Published_Pkg", "0.3.0", summary="Published by uv publish",
                       requires_python=">=3.8", requires_dist=["my-dep-lib>=1.0"], module="uv_published_pkg")
    endpoint = site.endpoint("team")
    p = uv(home, "publish", "--publish-url", endpoint, "--username", "aws", "--password", site.token,
           "--trusted-publishing", "never", str(wheel), str(sdist), index_url=None, port=port)
    assert p.returncode == 0, f"uv publish failed:\n{p.stdout}\n{p.stderr}"
    versions = site.versions("team", "uv-published-pkg")
    assert versions is not None and list(versions) == ["0.3.0"], versions
    desc = site.describe_version("team", "uv-published-pkg", "0.3.0")
    assert desc["displayName"] == "Uv.Published_Pkg", desc
    assert desc.get("summary") == "Published by uv publish", desc
    assets = site.assets("team", "uv-published-pkg", "0.3.0")
    assert set(assets) == {wheel.name, sdist.name}, assets
    assert assets[wheel.name]["hashes"] == asset_hashes(wheel.read_bytes())
    assert assets[sdist.name]["hashes"] == asset_hashes(sdist.read_bytes())
    deps = site.ca.list_package_version_dependencies(**site.pkg("team", "uv-published-pkg"),
                                                     packageVersion="0.3.0")["dependencies"]
    assert [d["package"] for d in deps] == ["my-dep-lib"], deps

    # publishing the same files again: the server accepts identical bytes (spec §6.6); with
    # --check-url uv first reads the project page and skips what is there (spec §6.7)
    p = uv(home, "publish", "--publish-url", endpoint, "--username", "aws", "--password", site.token,
           "--trusted-publishing", "never", str(wheel), str(sdist), index_url=None, port=port)
    assert p.returncode == 0, f"uv publish of identical files failed:\n{p.stdout}\n{p.stderr}"
    p = uv(home, "publish", "--publish-url", endpoint, "--username", "aws", "--password", site.token,
           "--trusted-publishing", "never", "--check-url", index, str(wheel), str(sdist),
           index_url=None, port=port)
    assert p.returncode == 0, f"uv publish --check-url failed:\n{p.stdout}\n{p.stderr}"
    assert set(site.assets("team", "uv-published-pkg", "0.3.0")) == {wheel.name, sdist.name}

    # and it installs back through uv
    target = tmp_path / "uv-target-2"
    p = uv(home, "pip", "install", "--python", python, "--target", str(target), "--index-url", index,
           "uv-published-pkg", index_url=index, port=port)
    assert p.returncode == 0, f"uv pip install failed:\n{p.stdout}\n{p.stderr}"
    run = run_python(home, "import uv_published_pkg; print(uv_published_pkg.VERSION)", target)
    assert run.returncode == 0 and run.stdout.strip() == "0.3.0", run

    # uv publish with a wrong password is refused (401) and stores nothing
    other = make_wheel(tmp_path / "uv-dist-2", "uv-published-pkg", "0.4.0")
    p = uv(home, "publish", "--publish-url", endpoint, "--username", "aws", "--password",
           flip_char(site.token, len(site.token) // 2), "--trusted-publishing", "never", str(other),
           index_url=None, port=port)
    assert p.returncode != 0, p.stdout
    assert sorted(site.versions("team", "uv-published-pkg")) == ["0.3.0"]


# --------------------------------------------------------------------------------------------
# 4. the Simple API by hand
# --------------------------------------------------------------------------------------------


def test_simple_api(site_factory, built):
    site = site_factory("team")
    for f in built.all:
        site.upload_dist("team", f)
    endpoint = site.endpoint("team")
    prefix = f"{endpoint}simple/my-pkg-name/1.0.0/"
    # the `name` field as sent is the display name (spec §6.6, control-plane §6.6)
    assert site.describe_version("team", "my-pkg-name", "1.0.0")["displayName"] == MAIN_NAME
    sha = {f.name: sha256_of(f.read_bytes()) for f in built.main}

    # --- HTML (spec §6.3)
    r = site.http("GET", "team", "simple/my-pkg-name/", accept="text/html")
    assert r.status == 200, r
    assert (r.header("Content-Type") or "").split(";")[0].strip() == "text/html", r.header("Content-Type")
    text = r.body.decode()
    page = ProjectPage(text)
    files = page.files()
    assert set(files) == set(sha), files
    for name, attrs in files.items():
        href = attrs.get("href", "")
        assert href == f"{prefix}{name}#sha256={sha[name]}", (name, href)
        assert attrs.get("data-requires-python") == "<4,>=3.8", (name, attrs)
        for absent in ("data-yanked", "data-dist-info-metadata", "data-core-metadata", "data-gpg-sig"):
            assert absent not in attrs, (name, attrs)
    # the attribute is HTML-escaped in the bytes on the wire
    assert 'data-requires-python="&lt;4,&gt;=3.8"' in text, text
    assert 'data-requires-python="<' not in text, text
    assert page.meta.get("pypi:repository-version") in ("1.0", "1.1"), page.meta

    # the file URLs download the exact bytes (spec §6.5)
    for f in built.main:
        got = site.get_url(prefix + f.name)
        assert got.status == 200, got
        assert got.body == f.read_bytes()
        assert got.header("Content-Length") == str(len(got.body)), got
        head = site.get_url(prefix + f.name, method="HEAD")
        assert head.status == 200 and head.body == b"", head
    assert site.get_url(prefix + f.name, token=None).status == 401
    assert site.get_url(f"{endpoint}simple/my-pkg-name/9.9.9/{built.main_wheel.name}").status == 404
    assert site.get_url(prefix + "my_pkg_name-1.0.0-py2-none-any.whl").status == 404

    # --- JSON (spec §6.4)
    r = site.http("GET", "team", "simple/my-pkg-name/", accept=JSON_V1)
    assert r.status == 200, r
    assert (r.header("Content-Type") or "").split(";")[0].strip() == JSON_V1, r.header("Content-Type")
    doc = r.json
    assert doc["meta"]["api-version"] in ("1.1", "1.2", "1.3", "1.4"), doc["meta"]
    assert doc["name"] == "my-pkg-name", doc
    assert doc["versions"] == ["1.0.0"], doc
    jfiles = {f["filename"]: f for f in doc["files"]}
    assert set(jfiles) == set(sha), doc
    now = _dt.datetime.now(_dt.timezone.utc)
    for name, f in jfiles.items():
        data = (built.main_sdist if name.endswith(".tar.gz") else built.main_wheel).read_bytes()
        assert f["url"] == prefix + name, f
        assert f["hashes"] == {"sha256": sha[name]}, f
        assert f["requires-python"] == "<4,>=3.8", f
        assert f["size"] == len(data), f
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z", f["upload-time"]), f
        uploaded = _dt.datetime.fromisoformat(f["upload-time"][:19] + "+00:00")
        assert abs((now - uploaded).total_seconds()) < 600, (f["upload-time"], now)
        for absent in ("yanked", "core-metadata", "dist-info-metadata", "gpg-sig"):
            assert absent not in f, f
    dep = site.page_json("team", "my-dep-lib")
    assert sorted(dep.json["versions"]) == ["1.0.0", "1.1.0"], dep.json
    assert set(pep691_files(dep)) == {"my_dep_lib-1.0.0-py3-none-any.whl", "my_dep_lib-1.1.0-py3-none-any.whl"}

    # --- content negotiation (spec §6.2)
    for accept, ctype in (
        (JSON_V1, JSON_V1),
        ("application/vnd.pypi.simple.latest+json", JSON_V1),
        (PIP_ACCEPT, JSON_V1),
        (HTML_V1, HTML_V1),
        ("application/vnd.pypi.simple.latest+html", HTML_V1),
        ("text/html", "text/html"),
        ("*/*", "text/html"),
        (None, "text/html"),
        (f"{JSON_V1}; q=0.1, text/html", "text/html"),
        (f"text/html; q=0.2, {JSON_V1}; q=0.9", JSON_V1),
    ):
        r = site.http("GET", "team", "simple/my-pkg-name/", accept=accept)
        assert r.status == 200, (accept, r)
        got = (r.header("Content-Type") or "").split(";")[0].strip()
        assert got == ctype, (accept, got)
        if ctype == JSON_V1:
            assert r.json and r.json["name"] == "my-pkg-name", (accept, r)
        else:
            assert set(ProjectPage(r.body.decode()).files()) == set(sha), (accept, r)
    for accept in ("application/xml", "application/json", "application/vnd.pypi.simple.v2+json"):
        r = site.http("GET", "team", "simple/my-pkg-name/", accept=accept)
        assert r.status == 406, (accept, r)

    # HEAD answers like GET without a body (spec §4.5)
    head = site.http("HEAD", "team", "simple/my-pkg-name/", accept=JSON_V1)
    assert head.status == 200 and head.body == b"", head
    assert (head.header("Content-Type") or "").startswith(JSON_V1), head

    # --- names (spec §6.1, §4.3): non-normalised spellings are served directly
    for spelling in (MAIN_NAME, "MY-PKG-NAME", "my_pkg_name", "My__Pkg--Name"):
        r = site.page_json("team", spelling)
        assert r.status == 200 and r.json["name"] == "my-pkg-name", (spelling, r)
        r = site.http("GET", "team", f"simple/{spelling}/", accept="text/html")
        assert r.status == 200 and set(ProjectPage(r.body.decode()).files()) == set(sha), (spelling, r)
    # without the trailing slash → 301 to the slash form [Assume, spec §6.1]
    r = site.http("GET", "team", "simple/my-pkg-name", accept="text/html")
    assert r.status == 301, r
    assert (r.header("Location") or "").endswith("/simple/my-pkg-name/"), r

    # --- virtual-host addressing: links follow the request's Host and addressing (spec §1.4 item 3)
    host = f"{site.domain}-{ACCOUNT}.d.codeartifact.us-east-1.amazonaws.com:{site.server.port}"
    for accept in (JSON_V1, "text/html"):
        r = http_request(site.server.host, site.server.port, "GET", "/pypi/team/simple/my-pkg-name/", None,
                         {"Host": host, "Accept": accept, "Authorization": basic(site.token)})
        assert r.status == 200, r
        links = ([f["url"] for f in r.json["files"]] if accept == JSON_V1
                 else [a["href"] for a in ProjectPage(r.body.decode()).files().values()])
        assert sorted(links) and all(
            u.startswith(f"http://{host}/pypi/team/simple/my-pkg-name/1.0.0/") for u in links), links
    r = http_request(site.server.host, site.server.port, "GET",
                     f"/pypi/team/simple/my-pkg-name/1.0.0/{built.main_wheel.name}", None,
                     {"Host": host, "Authorization": basic(site.token)})
    assert r.status == 200 and r.body == built.main_wheel.read_bytes(), r

    # --- what is not there
    for rest in ("simple/", "simple/no-such-project/", "pypi/my-pkg-name/json", "pypi/my-pkg-name/1.0.0/json"):
        r = site.http("GET", "team", rest, accept="text/html")
        assert r.status == 404, (rest, r)
    r = site.page_json("team", "no-such-project")
    assert r.status == 404, r

    # --- credentials (spec §2.2, §2.3)
    r = site.http("GET", "team", "simple/my-pkg-name/", token=None, accept="text/html")
    assert r.status == 401, r
    schemes = {c.split()[0].lower() for c in r.header_all("WWW-Authenticate") if c.strip()}
    assert "basic" in schemes, r
    for auth, status in ((basic(site.token), 200), (f"Bearer {site.token}", 200), (site.token, 200),
                         (basic(site.token, user="bob"), 401),
                         (basic(flip_char(site.token, len(site.token) // 2)), 401)):
        r = site.http("GET", "team", "simple/my-pkg-name/", token=None, accept="text/html",
                      headers={"Authorization": auth})
        assert r.status == status, (auth[:14], r)
    # a token of another domain → 401
    other = site_factory("team")
    r = site.http("GET", "team", "simple/my-pkg-name/", token=other.token, accept="text/html")
    assert r.status == 401, r


# --------------------------------------------------------------------------------------------
# 5. upload rules by hand
# --------------------------------------------------------------------------------------------


def test_upload_rules(site_factory, tmp_path):
    site = site_factory("team")
    d = tmp_path / "dists"
    wheel = make_wheel(d, "Rules.Pkg", "1.0.0", summary="rules", requires_python=">=3.8")
    data = wheel.read_bytes()
    name = wheel.name
    assert name == "rules_pkg-1.0.0-py3-none-any.whl"

    def nothing_stored():
        assert site.versions("team", "rules-pkg") is None, "a refused upload stores nothing"
        assert site.page_json("team", "rules-pkg").status == 404

    # credentials (spec §2.3)
    r = site.upload("team", upload_fields(wheel), name, data, token=None)
    assert r.status == 401, r
    r = site.upload("team", upload_fields(wheel), name, data, auth=basic(site.token, user="bob"))
    assert r.status == 401, r
    r = site.upload("team", upload_fields(wheel), name, data, token=site_factory("team").token)
    assert r.status == 401, f"a token of another domain: {r}"
    nothing_stored()

    # the action (spec §6.6)
    r = site.upload("team", upload_fields(wheel, drop=[":action"]), name, data)
    assert r.status == 400, f"missing :action: {r}"
    r = site.upload("team", upload_fields(wheel, **{":action": "remove_pkg"}), name, data)
    assert r.status == 400, f":action=remove_pkg: {r}"
    r = site.upload("team", upload_fields(wheel), None, None)
    assert r.status == 400, f"no content part: {r}"
    for field in ("name", "version"):
        r = site.upload("team", upload_fields(wheel, drop=[field]), name, data)
        assert r.status == 400, f"missing {field}: {r}"
    nothing_stored()

    # digests must match the content (spec §6.6)
    for field in ("sha256_digest", "md5_digest", "blake2_256_digest"):
        wrong = digests(data + b"x")[field]
        r = site.upload("team", upload_fields(wheel, **{field: wrong}), name, data)
        assert r.status == 400, f"wrong {field}: {r}"
    nothing_stored()

    # the file name must belong to name/version (spec §6.6)
    for bad in ("other_pkg-1.0.0-py3-none-any.whl", "rules_pkg-2.0.0-py3-none-any.whl",
                "rules_pkg-2.0.0.tar.gz", "rules_pkg-1.0.0.txt", "rules_pkg.whl"):
        r = site.upload("team", upload_fields(wheel), bad, data)
        assert r.status == 400, f"file name {bad!r} for Rules.Pkg 1.0.0: {r}"
    # path tricks in the file name
    for bad in (f"../{name}", f"a/{name}", f"/tmp/{name}", f"..%2F{name}", f"..\\{name}"):
        r = site.upload("team", upload_fields(wheel), bad, data)
        assert r.status == 400, f"file name {bad!r}: {r}"
    nothing_stored()

    # a good upload (name as written by the author, file name normalised) → 200
    r = site.upload("team", upload_fields(wheel), name, data)
    assert r.status == 200, r
    assert sorted(site.versions("team", "rules-pkg")) == ["1.0.0"]
    assert site.describe_version("team", "rules-pkg", "1.0.0")["displayName"] == "Rules.Pkg"
    url = file_url(site, "team", "rules-pkg", "1.0.0", name)
    assert site.get_url(url).body == data

    # same file, same bytes → 200, nothing changes (spec §4.2, §6.6)
    before = site.assets("team", "rules-pkg", "1.0.0")
    r = site.upload("team", upload_fields(wheel), name, data)
    assert r.status == 200, f"identical re-upload must succeed: {r}"
    # without the optional md5 (twine 7 sends none)
    r = site.upload("team", upload_fields(wheel, drop=["md5_digest"]), name, data)
    assert r.status == 200, r
    assert site.assets("team", "rules-pkg", "1.0.0") == before

    # same file name, different bytes → 409, the stored file is unchanged
    changed = make_wheel(tmp_path / "changed", "Rules.Pkg", "1.0.0", summary="rules", requires_python=">=3.8",
                         salt="changed")
    assert changed.name == name and changed.read_bytes() != data
    r = site.upload("team", upload_fields(changed), name, changed.read_bytes())
    assert r.status == 409, f"same file name, different bytes: {r}"
    assert site.get_url(url).body == data
    assert site.assets("team", "rules-pkg", "1.0.0") == before

    # a new file for the existing version is added to it
    # (with its own Requires-Python: the value is kept per file, spec §6.6)
    sdist = make_sdist(d, "Rules.Pkg", "1.0.0", summary="rules", requires_python=">=3.9")
    r = site.upload("team", upload_fields(sdist), sdist.name, sdist.read_bytes())
    assert r.status == 200, r
    assets = site.assets("team", "rules-pkg", "1.0.0")
    assert set(assets) == {name, sdist.name}, assets
    assert assets[name] == before[name]
    assert sorted(site.versions("team", "rules-pkg")) == ["1.0.0"]
    page = site.page_json("team", "rules-pkg")
    files = pep691_files(page)
    assert set(files) == {name, sdist.name}, page.json
    assert files[name]["requires-python"] == ">=3.8" and files[sdist.name]["requires-python"] == ">=3.9", files
    assert files[sdist.name]["hashes"]["sha256"] == sha256_of(sdist.read_bytes())

    # a second version
    w2 = make_wheel(d, "rules-pkg", "1.1.0")
    r = site.upload("team", upload_fields(w2, drop=["md5_digest"]), w2.name, w2.read_bytes())
    assert r.status == 200, r
    assert sorted(site.versions("team", "rules-pkg")) == ["1.0.0", "1.1.0"]
    assert sorted(site.page_json("team", "rules-pkg").json["versions"]) == ["1.0.0", "1.1.0"]


# --------------------------------------------------------------------------------------------
# 6. upstreams
# --------------------------------------------------------------------------------------------


def test_upstreams_retention_and_conflicts(site_factory, tmp_path):
    site = site_factory("repo-b", "repo-a")
    site.ca.update_repository(domain=site.domain, repository="repo-a", upstreams=[{"repositoryName": "repo-b"}])
    d = tmp_path / "dists"
    up = make_wheel(d, "Up.Lib", "1.0.0", summary="lives in B")
    site.upload_dist("repo-b", up)
    endpoint_a = site.endpoint("repo-a")

    # listing through A: B's files, links under A (upstreams §6.2); listing retains nothing (§4.2)
    page = site.page_json("repo-a", "up-lib")
    files = pep691_files(page)
    assert set(files) == {up.name}, page.json
    assert files[up.name]["url"] == f"{endpoint_a}simple/up-lib/1.0.0/{up.name}", files
    html_page = site.page_html("repo-a", "up-lib")
    assert html_page.status == 200, html_page
    href = ProjectPage(html_page.body.decode()).files()[up.name]["href"]
    assert href.startswith(f"{endpoint_a}simple/up-lib/1.0.0/{up.name}#sha256="), href
    assert site.versions("repo-a", "up-lib") is None, "a simple-page GET retains nothing (upstreams §4.2)"

    # pip install through A → retained in A with B's origin (upstreams §4.1, §9)
    pip = site.login_pip("repo-a")
    target = tmp_path / "t"
    pip.install(target, "up-lib")
    run = run_python(pip.home, "import up_lib; print(up_lib.VERSION)", target)
    assert run.returncode == 0 and run.stdout.strip() == "1.0.0", run
    in_a = site.versions("repo-a", "up-lib")
    assert in_a is not None and sorted(in_a) == ["1.0.0"], in_a
    assert in_a["1.0.0"]["status"] == "Published"
    origin_b = {"originType": "INTERNAL", "domainEntryPoint": {"repositoryName": "repo-b"}}
    assert in_a["1.0.0"]["origin"] == origin_b, in_a
    assert site.describe_version("repo-b", "up-lib", "1.0.0")["displayName"] == "Up.Lib"
    assert set(site.assets("repo-a", "up-lib", "1.0.0")) == {up.name}
    assert site.versions("repo-b", "up-lib")["1.0.0"]["origin"] == origin_b
    pa = site.describe_package("repo-a", "up-lib")
    assert pa["originConfiguration"]["restrictions"] == {"publish": "BLOCK", "upstream": "ALLOW"}, pa

    # the upstream gains a version: listed through A, not retained until downloaded
    up2 = make_wheel(d, "up-lib", "1.1.0")
    site.upload_dist("repo-b", up2)
    assert sorted(site.page_json("repo-a", "up-lib").json["versions"]) == ["1.0.0", "1.1.0"]
    assert sorted(site.versions("repo-a", "up-lib")) == ["1.0.0"]
    url_a = {v: f"{endpoint_a}simple/up-lib/{v}/up_lib-{v}-py3-none-any.whl" for v in ("1.0.0", "1.1.0")}

    # the upstream copy Archived → gone from A's page, 404 through A, nothing retained (upstreams §3.3)
    site.set_status("repo-b", "up-lib", ["1.1.0"], "Archived")
    assert sorted(site.page_json("repo-a", "up-lib").json["versions"]) == ["1.0.0"]
    assert site.get_url(url_a["1.1.0"]).status == 404
    assert sorted(site.versions("repo-a", "up-lib")) == ["1.0.0"]
    site.set_status("repo-b", "up-lib", ["1.1.0"], "Published")
    # a plain file download through A retains too (upstreams §4.2)
    got = site.get_url(url_a["1.1.0"])
    assert got.status == 200 and got.body == up2.read_bytes(), got
    assert sorted(site.versions("repo-a", "up-lib")) == ["1.0.0", "1.1.0"]
    assert site.versions("repo-a", "up-lib")["1.1.0"]["origin"] == origin_b
    # a retained version is a snapshot: deleting it in B leaves A's copy (upstreams §4.3)
    site.ca.delete_package_versions(**site.pkg("repo-b", "up-lib"), versions=["1.0.0"])
    got = site.get_url(url_a["1.0.0"])
    assert got.status == 200 and got.body == up.read_bytes(), got
    assert sorted(site.page_json("repo-a", "up-lib").json["versions"]) == ["1.0.0", "1.1.0"]

    # publishing to A a version reachable from B → 409 (upstreams §8.1), nothing stored in A
    other = make_wheel(d, "up-other", "1.0.0", summary="B's build")
    site.upload_dist("repo-b", other)
    mine = make_wheel(tmp_path / "mine", "up-other", "1.0.0", summary="A's build", salt="a")
    r = site.upload("repo-a", upload_fields(mine), mine.name, mine.read_bytes())
    assert r.status == 409, f"publishing a version reachable upstream: {r}"
    r = site.upload("repo-a", upload_fields(other), other.name, other.read_bytes())
    assert r.status == 409, f"even with B's identical bytes: {r}"
    assert site.versions("repo-a", "up-other") is None, "a refused publish creates no package record"
    # a version not reachable upstream can be published; the package is then ALLOW/BLOCK in A
    newer = make_wheel(d, "up-other", "2.0.0")
    r = site.upload("repo-a", upload_fields(newer), newer.name, newer.read_bytes())
    assert r.status == 200, r
    assert site.describe_version("repo-a", "up-other", "2.0.0")["origin"] == {
        "originType": "INTERNAL", "domainEntryPoint": {"repositoryName": "repo-a"}}
    pa = site.describe_package("repo-a", "up-other")
    assert pa["originConfiguration"]["restrictions"] == {"publish": "ALLOW", "upstream": "BLOCK"}, pa
    assert sorted(site.page_json("repo-a", "up-other").json["versions"]) == ["2.0.0"], "B's 1.0.0 is hidden now"
    # with upstream=BLOCK in A, B's versions are invisible to A, so A may publish its own 1.0.0
    # (upstreams §8.1 second bullet, §7.3 "publish-conflict check")
    r = site.upload("repo-a", upload_fields(mine), mine.name, mine.read_bytes())
    assert r.status == 200, f"publish=ALLOW, upstream=BLOCK: a version only B has can be published: {r}"
    files = pep691_files(site.page_json("repo-a", "up-other"))
    assert files[mine.name]["hashes"]["sha256"] == sha256_of(mine.read_bytes()), files

    # publish=BLOCK in A for the retained package (upstreams §7.2, §7.3) → 409
    up3 = make_wheel(d, "up-lib", "3.0.0")
    r = site.upload("repo-a", upload_fields(up3), up3.name, up3.read_bytes())
    assert r.status == 409, f"publish to A where up-lib is publish=BLOCK: {r}"
    assert sorted(site.versions("repo-a", "up-lib")) == ["1.0.0", "1.1.0"]

    # the retained record is a copy of B's: the display name is the name as published, Up.Lib
    # (control-plane §6.6 displayName; upstreams §4.3), although pip asked for the normalised name
    desc = site.describe_version("repo-a", "up-lib", "1.1.0")
    assert desc["displayName"] == "Up.Lib", desc


# --------------------------------------------------------------------------------------------
# 7. status changes reach pip
# --------------------------------------------------------------------------------------------


def test_status_changes_reach_pip(site_factory, tmp_path):
    site = site_factory("team")
    d = tmp_path / "dists"
    wheels = {v: make_wheel(d, "st-lib", v) for v in ("1.0.0", "2.0.0", "3.0.0")}
    for w in wheels.values():
        site.upload_dist("team", w)
    urls = {v: file_url(site, "team", "st-lib", v, w.name) for v, w in wheels.items()}
    assert sorted(site.page_json("team", "st-lib").json["versions"]) == ["1.0.0", "2.0.0", "3.0.0"]
    pip = site.login_pip("team")

    def installed(target: Path) -> str:
        run = run_python(pip.home, "import st_lib; print(st_lib.VERSION)", target)
        assert run.returncode == 0, run.stderr
        return run.stdout.strip()

    # Unlisted: gone from the project page, the file URL still downloads (spec §4.1)
    site.set_status("team", "st-lib", ["3.0.0"], "Unlisted")
    page = site.page_json("team", "st-lib")
    assert sorted(page.json["versions"]) == ["1.0.0", "2.0.0"], page.json
    assert set(pep691_files(page)) == {wheels["1.0.0"].name, wheels["2.0.0"].name}
    html_page = site.page_html("team", "st-lib")
    assert "st_lib-3.0.0" not in html_page.body.decode(), html_page
    assert set(ProjectPage(html_page.body.decode()).files()) == {wheels["1.0.0"].name, wheels["2.0.0"].name}
    got = site.get_url(urls["3.0.0"])
    assert got.status == 200 and got.body == wheels["3.0.0"].read_bytes(), got
    t = tmp_path / "a"
    pip.install(t, "st-lib")
    assert installed(t) == "2.0.0"
    p = pip.install(tmp_path / "b", "st-lib==3.0.0", check=False)
    assert p.returncode != 0 and "No matching distribution" in p.stderr, p.stderr
    # a pinned direct URL (what a lockfile holds) still installs
    u = urllib.parse.urlsplit(urls["3.0.0"])
    direct = urllib.parse.urlunsplit((u.scheme, f"aws:{urllib.parse.quote(site.token, safe='')}@{u.netloc}",
                                      u.path, "", ""))
    t = tmp_path / "c"
    pip.install(t, f"st-lib @ {direct}")
    assert installed(t) == "3.0.0"

    # Archived: gone from the page and not downloadable
    site.set_status("team", "st-lib", ["2.0.0"], "Archived")
    assert sorted(site.page_json("team", "st-lib").json["versions"]) == ["1.0.0"]
    assert site.get_url(urls["2.0.0"]).status == 404
    assert site.get_url(urls["2.0.0"], method="HEAD").status == 404
    t = tmp_path / "d"
    pip.install(t, "st-lib")
    assert installed(t) == "1.0.0"
    p = pip.install(tmp_path / "e", "st-lib==2.0.0", check=False)
    assert p.returncode != 0, p.stdout

    # back to Published: listed and installable again
    site.set_status("team", "st-lib", ["2.0.0", "3.0.0"], "Published")
    assert sorted(site.page_json("team", "st-lib").json["versions"]) == ["1.0.0", "2.0.0", "3.0.0"]
    assert site.get_url(urls["2.0.0"]).status == 200
    t = tmp_path / "f"
    pip.install(t, "st-lib")
    assert installed(t) == "3.0.0"

    # Disposed: files gone
    site.ca.dispose_package_versions(**site.pkg("team", "st-lib"), versions=["1.0.0"])
    assert site.get_url(urls["1.0.0"]).status == 404
    assert sorted(site.page_json("team", "st-lib").json["versions"]) == ["2.0.0", "3.0.0"]

    # deleted: gone, and the version may be published again, with other bytes (spec §4.1)
    site.ca.delete_package_versions(**site.pkg("team", "st-lib"), versions=["2.0.0"])
    assert site.get_url(urls["2.0.0"]).status == 404
    assert sorted(site.page_json("team", "st-lib").json["versions"]) == ["3.0.0"]
    again = make_wheel(tmp_path / "again", "st-lib", "2.0.0", salt="second 2.0.0")
    assert again.name == wheels["2.0.0"].name and again.read_bytes() != wheels["2.0.0"].read_bytes()
    site.upload_dist("team", again)
    got = site.get_url(urls["2.0.0"])
    assert got.status == 200 and got.body == again.read_bytes(), got
    t = tmp_path / "g"
    pip.install(t, "st-lib==2.0.0")
    run = run_python(pip.home, "import st_lib; print(st_lib.SALT)", t)
    assert run.returncode == 0 and run.stdout.strip() == "second 2.0.0", run
