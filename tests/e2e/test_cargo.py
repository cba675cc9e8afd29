"""The cargo sparse-registry repository endpoint driven by the real `cargo` (publish, build/run,
update, yank, owner, search) and by hand-made HTTP requests, checked against the control plane.

References: repository-endpoints spec §1.1 (endpoint URL), §2.2–2.3 (cargo sends the raw token;
401 with WWW-Authenticate on the first unauthenticated request), §4.1 (status and visibility),
§4.2 (publishing rules: immutability, origin control publish=BLOCK), §4.3–4.4 (names, no
namespace), §4.5 (HEAD, ETag/If-None-Match), §9 (cargo routes, config.json, index files, publish
body, errors); upstreams spec §7.2 (defaults of a first publish), §9 (origin).

Crates (all tiny, depending only on crates of the registry under test):
  e2e-base 0.1.0, e2e-fancy 0.1.0 — helpers;
  E2e_Greet (mixed case: package `e2e_greet`, display name `E2e_Greet`) published in the order
  0.1.0, 0.2.0, 0.1.1 — 0.1.1 carries description/license/repository/homepage/rust-version, a
  plain feature `shout`, a `dep:` feature `fancy` for the optional renamed dependency
  `fancy = { package = "e2e-fancy" }`, a normal, a dev and a build dependency on e2e-base.
A consumer binary depending on `E2e_Greet = "^0.1"` (registry `ca`) must get 0.1.1.

Isolation and configuration of cargo: see cargokit.py.
"""

from __future__ import annotations

import gzip
import json
import tomllib
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cargokit import (
    REGISTRY, CargoHome, CargoHttp, CargoResult, crate_bytes, crate_manifest, error_details, index_path, packaged_crate,
    parse_index, publish_body, publish_dep, publish_meta, require_cargo, write_package,
)
from conftest import ACCOUNT, Server, basic, flip_char, sha256_of, unique
from packagekit import Packages

BASE = "e2e-base"
FANCY = "e2e-fancy"
GREET = "E2e_Greet"
GREET_PKG = "e2e_greet"  # the package name: the crate name lowercased
DESCRIPTION = "Greets people, for the cargo end-to-end tests"
LICENSE = "MIT OR Apache-2.0"
HOMEPAGE = "https://example.invalid/e2e/greet"
SOURCE_REPO = "https://example.invalid/e2e/greet.git"
GREET_PUBLISH_ORDER = ("0.1.0", "0.2.0", "0.1.1")  # semver order differs from publish order
GREET_VERSIONS = ["0.1.0", "0.1.1", "0.2.0"]
WARNINGS = {"warnings": {"invalid_categories": [], "invalid_badges": [], "other": []}}
ALL_CRATES = [(BASE, "0.1.0"), (FANCY, "0.1.0"), *((GREET, v) for v in GREET_PUBLISH_ORDER)]


@pytest.fixture(scope="module", autouse=True)
def _cargo_prerequisites():
    require_cargo()


# --------------------------------------------------------------------------------------------
# The crate projects
# --------------------------------------------------------------------------------------------


def dep_line(name: str, req: str, **extra) -> str:
    parts = [f'version = "{req}"', f'registry = "{REGISTRY}"']
    parts += [f"{k} = {json.dumps(v)}" for k, v in extra.items()]
    return f"{name} = {{ {', '.join(parts)} }}\n"


def base_project(root: Path, version: str = "0.1.0", lib: str | None = None) -> Path:
    manifest = (f'[package]\nname = "{BASE}"\nversion = "{version}"\nedition = "2021"\n'
                f'publish = ["{REGISTRY}"]\n')
    lib = lib or 'pub fn base() -> &\'static str { concat!("base ", env!("CARGO_PKG_VERSION")) }\n'
    return write_package(root / f"{BASE}-{version}", manifest, {"src/lib.rs": lib})


def fancy_project(root: Path) -> Path:
    manifest = f'[package]\nname = "{FANCY}"\nversion = "0.1.0"\nedition = "2021"\npublish = ["{REGISTRY}"]\n'
    return write_package(root / f"{FANCY}-0.1.0", manifest,
                         {"src/lib.rs": 'pub fn fancy() -> &\'static str { "fancy 0.1.0" }\n'})


GREET_011_LIB = """\
pub fn hello() -> String {
    let s = format!("greet {} with {}", env!("CARGO_PKG_VERSION"), e2e_base::base());
    #[cfg(feature = "fancy")]
    let s = format!("{} and {}", s, fancy::fancy());
    #[cfg(feature = "shout")]
    let s = s.to_uppercase();
    s
}
"""


def greet_project(root: Path, version: str) -> Path:
    head = (f'[package]\nname = "{GREET}"\nversion = "{version}"\nedition = "2021"\n'
            f'publish = ["{REGISTRY}"]\n')
    if version != "0.1.1":
        return write_package(root / f"greet-{version}", head, {
            "src/lib.rs": 'pub fn hello() -> String { format!("greet {}", env!("CARGO_PKG_VERSION")) }\n'})
    manifest = (head + f'description = "{DESCRIPTION}"\nlicense = "{LICENSE}"\nhomepage = "{HOMEPAGE}"\n'
                f'repository = "{SOURCE_REPO}"\nrust-version = "1.70"\n\n'
                "[dependencies]\n" + dep_line(BASE, "0.1")
                + dep_line("fancy", "0.1", package=FANCY, optional=True)
                + "\n[dev-dependencies]\n" + dep_line(BASE, "0.1.0")
                + "\n[build-dependencies]\n" + dep_line(BASE, "=0.1.0")
                + '\n[features]\ndefault = []\nshout = []\nfancy = ["dep:fancy"]\n')
    return write_package(root / f"greet-{version}", manifest, {"src/lib.rs": GREET_011_LIB})


def project_of(root: Path, name: str, version: str) -> Path:
    if name == BASE:
        return base_project(root, version)
    if name == FANCY:
        return fancy_project(root)
    return greet_project(root, version)


def consumer_project(root: Path, req: str = "^0.1", features: list[str] | None = None) -> Path:
    """A binary printing `E2e_Greet::hello()`; a fresh directory (no Cargo.lock) every time."""
    extra = {"features": features} if features else {}
    manifest = ('[package]\nname = "e2e-consumer"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n'
                "[dependencies]\n" + dep_line(GREET, req, **extra))
    return write_package(root / f"consumer-{uuid.uuid4().hex[:8]}", manifest,
                         {"src/main.rs": 'fn main() { println!("consumer got: {}", E2e_Greet::hello()); }\n'})


def lock_packages(project: Path) -> dict[str, dict]:
    lock = tomllib.loads((project / "Cargo.lock").read_text())
    return {p["name"]: p for p in lock["package"]}


def consumer_output(res: CargoResult) -> str:
    lines = [l for l in res.stdout.splitlines() if l.startswith("consumer got: ")]
    assert len(lines) == 1, res
    return lines[0][len("consumer got: "):]


# --------------------------------------------------------------------------------------------
# One domain; repositories created on demand
# --------------------------------------------------------------------------------------------


@dataclass
class Site(Packages):
    """One domain: cargo homes, raw HTTP per repository; the control-plane view of its packages
    comes from packagekit."""

    FORMAT = "cargo"
    server: Server
    ca: object
    root: Path
    domain: str
    token: str
    crates: dict[tuple[str, str], bytes] = field(default_factory=dict)  # packaged by cargo in "team"
    publish_results: dict[tuple[str, str], CargoResult] = field(default_factory=dict)

    def create_repo(self, repo: str, **kwargs) -> None:
        self.ca.create_repository(domain=self.domain, repository=repo, **kwargs)

    def endpoint(self, repo: str) -> str:
        url = self.ca.get_repository_endpoint(domain=self.domain, repository=repo,
                                              format="cargo")["repositoryEndpoint"]
        assert url == f"http://127.0.0.1:{self.server.port}/cargo/d/{self.domain}-{ACCOUNT}/{repo}/", url
        return url

    def http(self, repo: str) -> CargoHttp:
        return CargoHttp(self.endpoint(repo), self.token)

    def home(self, repo: str, label: str, provider: str = "token") -> CargoHome:
        return CargoHome(self.root / f"{label}-{uuid.uuid4().hex[:6]}", self.endpoint(repo), self.server.port,
                         self.token, provider=provider, aws_endpoint=self.server.endpoint,
                         domain=self.domain, owner=ACCOUNT, log=self.server.log)

    def publish_all(self, repo: str, label: str) -> tuple[dict[tuple[str, str], bytes], dict[tuple[str, str], CargoResult]]:
        """`cargo publish` of every crate into `repo`, in ALL_CRATES order: the packaged .crate
        files and cargo's results."""
        home = self.home(repo, label)
        results = {}
        for name, version in ALL_CRATES:
            results[(name, version)] = home.publish(project_of(home.root / "src", name, version))
        crates = {(n, v): packaged_crate(home.root / "target", n, v) for n, v in ALL_CRATES}
        return crates, results


def internal(repo: str) -> dict:
    return {"domainEntryPoint": {"repositoryName": repo}, "originType": "INTERNAL"}


@pytest.fixture(scope="module")
def site(server, ca, tmp_path_factory) -> Site:
    """Domain with repository `team` into which `cargo publish` put every crate of ALL_CRATES."""
    domain = unique("cargo")
    ca.create_domain(domain=domain)
    token = ca.get_authorization_token(domain=domain)["authorizationToken"]
    s = Site(server, ca, tmp_path_factory.mktemp("cargo"), domain, token)
    s.create_repo("team")
    s.crates, s.publish_results = s.publish_all("team", "publisher")
    return s


# --------------------------------------------------------------------------------------------
# 1. cargo publish, then a consumer built from a clean CARGO_HOME
# --------------------------------------------------------------------------------------------


def test_cargo_publish_then_consumer_resolves_newest_compatible(site: Site):
    for (name, version), res in site.publish_results.items():
        assert f"Uploaded {name} v{version} to registry `{REGISTRY}`" in res.output, res
        assert f"Published {name} v{version} at registry `{REGISTRY}`" in res.output, res
    h = site.http("team")
    # the index lists every version, oldest first in semver order (not publish order)
    assert h.index_versions(GREET) == GREET_VERSIONS
    assert h.index_versions(BASE) == ["0.1.0"] and h.index_versions(FANCY) == ["0.1.0"]

    # A consumer from a clean CARGO_HOME, authenticated the documented way
    # (`cargo:token-from-stdout aws codeartifact get-authorization-token …`): ^0.1 → 0.1.1.
    home = site.home("team", "consumer", provider="aws")
    project = consumer_project(home.root)
    res = home.run_bin(project)
    assert consumer_output(res) == "greet 0.1.1 with base 0.1.0", res
    locked = lock_packages(project)
    source = f"sparse+{site.endpoint('team')}"
    for name, version in ((GREET, "0.1.1"), (BASE, "0.1.0")):
        assert locked[name]["version"] == version, locked
        assert locked[name]["source"] == source, locked
        assert locked[name]["checksum"] == sha256_of(site.crates[(name, version)]), (name, locked)
    assert FANCY not in locked, "an optional dependency that no feature enables was locked"
    # what cargo downloaded is byte for byte what it packaged
    cached = sorted((home.cargo_home / "registry" / "cache").rglob("*.crate"))
    assert {p.name: p.read_bytes() for p in cached} == {
        f"{GREET}-0.1.1.crate": site.crates[(GREET, "0.1.1")], f"{BASE}-0.1.0.crate": site.crates[(BASE, "0.1.0")]}

    # Features from the index: `shout` (features) and `fancy` (features2, `dep:` syntax, renamed
    # optional dependency) — the same CARGO_HOME, so the cached index files are revalidated.
    project = consumer_project(home.root, "=0.1.1", features=["shout", "fancy"])
    res = home.run_bin(project)
    assert consumer_output(res) == "GREET 0.1.1 WITH BASE 0.1.0 AND FANCY 0.1.0", res
    assert lock_packages(project)[FANCY]["checksum"] == sha256_of(site.crates[(FANCY, "0.1.0")])

    # ^0.2 gets 0.2.0; an unsatisfiable requirement fails with cargo's resolver message
    res = home.run_bin(consumer_project(home.root, "^0.2"))
    assert consumer_output(res) == "greet 0.2.0", res
    res = home.run_bin(consumer_project(home.root, "^0.3"), check=False)
    assert res.rc != 0 and "failed to select a version" in res.output, res


# --------------------------------------------------------------------------------------------
# 2. config.json, authentication, index files, downloads (raw HTTP)
# --------------------------------------------------------------------------------------------


def test_config_json_and_authentication(site: Site, ca):
    e = site.endpoint("team")
    h = site.http("team")
    r = h.config(auth=None)
    assert r.status == 401, r
    assert r.header_all("WWW-Authenticate"), r
    for auth in ("raw", "bearer", "basic"):
        r = h.config(auth=auth)
        assert r.status == 200, (auth, r)
        assert r.json == {"dl": f"{e}api/v1/crates", "api": e.rstrip("/"), "auth-required": True}, (auth, r.body)
    # Basic with a user other than `aws`, a damaged token, another domain's token → 401
    other = unique("cargoo")
    ca.create_domain(domain=other)
    other_token = ca.get_authorization_token(domain=other)["authorizationToken"]
    for bad in (basic(site.token, user="someone"), flip_char(site.token, len(site.token) // 2),
                other_token, f"Bearer {other_token}", "Bearer"):
        r = h.config(auth=bad)
        assert r.status == 401, (bad[:20], r)
    # every route requires the token
    for rest in (index_path(GREET), f"api/v1/crates/{GREET}/0.1.1/download"):
        r = h.get(rest, auth=None)
        assert r.status == 401 and r.header_all("WWW-Authenticate"), (rest, r)
        assert site.crates[(GREET, "0.1.1")] not in r.body
    r = h.publish(publish_meta("e2e-anon", "1.0.0"), crate_bytes("e2e-anon", "1.0.0"), auth=None)
    assert r.status == 401, r
    assert "e2e-anon" not in site.packages("team")

    # cargo with a token the server rejects: it reports the rejected token and the 401, for a
    # build and for a publish; nothing is stored
    bad = CargoHome(site.root / f"badtoken-{uuid.uuid4().hex[:6]}", e, site.server.port, other_token,
                    log=site.server.log)
    res = bad.run("generate-lockfile", cwd=consumer_project(bad.root), check=False)
    assert res.rc != 0 and f"token rejected for `{REGISTRY}`" in res.output and "401" in res.output, res
    res = bad.publish(base_project(bad.root / "src", version="0.1.7"), check=False)
    assert res.rc != 0 and f"token rejected for `{REGISTRY}`" in res.output and "401" in res.output, res
    assert sorted(site.versions("team", BASE)) == ["0.1.0"]


def test_index_files_and_downloads(site: Site):
    h = site.http("team")
    r = h.index(GREET)
    assert r.status == 200, r
    assert (r.header("Content-Type") or "").split(";")[0].strip() == "text/plain", r
    lines = parse_index(r.body)
    by_version = {line["vers"]: line for line in lines}
    assert [line["vers"] for line in lines] == GREET_VERSIONS

    for version, line in by_version.items():
        assert line["name"] == GREET, line  # the name as published
        assert line["cksum"] == sha256_of(site.crates[(GREET, version)]), line
        assert line["yanked"] is False and line.get("links") is None, line
    for version in ("0.1.0", "0.2.0"):
        line = by_version[version]
        assert line["deps"] == [] and line["features"] == {}, line
        assert line.get("v", 1) == 1 and not line.get("features2"), line
        assert line.get("rust_version") is None, line

    line = by_version["0.1.1"]
    dep = dict(features=[], optional=False, default_features=True, target=None, registry=None, package=None)
    expected_deps = [
        {**dep, "name": BASE, "req": "^0.1", "kind": "normal"},
        {**dep, "name": "fancy", "req": "^0.1", "kind": "normal", "optional": True, "package": FANCY},
        {**dep, "name": BASE, "req": "^0.1.0", "kind": "dev"},
        {**dep, "name": BASE, "req": "=0.1.0", "kind": "build"},
    ]
    key = lambda d: (d["kind"], d["name"], d["req"])  # noqa: E731
    assert sorted(line["deps"], key=key) == sorted(expected_deps, key=key), line["deps"]
    assert line["features"] == {"default": [], "shout": []}, line
    assert line["features2"] == {"fancy": ["dep:fancy"]} and line["v"] == 2, line
    assert line["rust_version"] == "1.70", line

    # ETag / If-None-Match (cargo revalidates every index file)
    etag = r.header("ETag")
    assert etag, r
    r304 = h.get(index_path(GREET), headers={"If-None-Match": etag})
    assert r304.status == 304 and r304.body == b"", r304
    r200 = h.get(index_path(GREET), headers={"If-None-Match": '"not-the-etag"'})
    assert r200.status == 200 and r200.body == r.body, r200
    head = h.request("HEAD", index_path(GREET))
    assert head.status == 200 and head.body == b"", head
    # the other crates; unknown crates are 404
    for name in (BASE, FANCY):
        (only,) = h.index_lines(name)
        assert only["name"] == name and only["vers"] == "0.1.0" and only["deps"] == [], only
        assert only["cksum"] == sha256_of(site.crates[(name, "0.1.0")]), only
    for name in ("e2e-absent", "zz", "q", "abc"):
        r = h.index(name)
        assert r.status == 404, (name, r)

    # downloads: the .crate bytes, under the name cargo uses (as published)
    for (name, version), data in site.crates.items():
        r = h.download(name, version)
        assert r.status == 200 and r.body == data, (name, version, r)
    head = h.request("HEAD", f"api/v1/crates/{GREET}/0.1.1/download")
    assert head.status == 200 and head.body == b"", head
    assert head.header("Content-Length") == str(len(site.crates[(GREET, "0.1.1")])), head
    for name, version in ((GREET, "0.1.2"), (GREET, "9.9.9"), ("e2e-absent", "0.1.0")):
        r = h.download(name, version)
        assert r.status == 404, (name, version, r)
    # listing and downloading changed nothing
    assert sorted(site.versions("team", GREET_PKG)) == GREET_VERSIONS


# --------------------------------------------------------------------------------------------
# 3. The control plane's view of what cargo published
# --------------------------------------------------------------------------------------------


def test_control_plane_view_of_published_crates(site: Site):
    pkgs = site.packages("team")
    assert sorted(pkgs) == sorted([BASE, FANCY, GREET_PKG]), pkgs
    for p in pkgs.values():
        assert p["format"] == "cargo" and "namespace" not in p, p
        assert p["originConfiguration"]["restrictions"] == {"publish": "ALLOW", "upstream": "BLOCK"}, p

    listed = site.versions("team", GREET_PKG)
    assert sorted(listed) == GREET_VERSIONS, listed
    for v in listed.values():
        assert v["status"] == "Published" and v["origin"] == internal("team"), v

    d = site.describe_version("team", GREET_PKG, "0.1.1")
    assert d["format"] == "cargo" and "namespace" not in d, d
    assert d["packageName"] == GREET_PKG and d["displayName"] == GREET, d
    assert d["version"] == "0.1.1" and d["status"] == "Published", d
    assert d.get("summary") == DESCRIPTION, d
    assert d.get("homePage") == HOMEPAGE and d.get("sourceCodeRepository") == SOURCE_REPO, d
    names = [lic.get("name") for lic in d.get("licenses", [])]
    assert names in ([LICENSE], ["MIT", "Apache-2.0"]), d
    assert d["origin"] == internal("team"), d
    bare = site.describe_version("team", GREET_PKG, "0.1.0")
    assert bare["displayName"] == GREET and not bare.get("summary") and not bare.get("licenses"), bare
    assert not bare.get("homePage") and not bare.get("sourceCodeRepository"), bare

    # one asset per version: {name}-{version}.crate, hashes of the bytes cargo packaged
    for name, version in ALL_CRATES:
        pkg = name.lower()
        data = site.crates[(name, version)]
        assets = site.assets("team", pkg, version)
        assert len(assets) == 1, assets
        (asset_name, asset), = assets.items()
        assert asset_name == f"{name}-{version}.crate", asset_name  # cargo's own file name
        assert asset["size"] == len(data) and asset["hashes"]["SHA-256"] == sha256_of(data), asset
        got = site.ca.get_package_version_asset(**site.pkg("team", pkg), packageVersion=version, asset=asset_name)
        assert got["asset"].read() == data and got["packageVersion"] == version, got

    deps = site.ca.list_package_version_dependencies(**site.pkg("team", GREET_PKG), packageVersion="0.1.1")
    got = sorted((dd.get("namespace"), dd["package"], dd.get("dependencyType"), dd.get("versionRequirement"))
                 for dd in deps["dependencies"])
    assert got == sorted([(None, BASE, "normal", "^0.1"), (None, FANCY, "normal", "^0.1"),
                          (None, BASE, "dev", "^0.1.0"), (None, BASE, "build", "=0.1.0")]), deps
    for version in ("0.1.0", "0.2.0"):
        out = site.ca.list_package_version_dependencies(**site.pkg("team", GREET_PKG), packageVersion=version)
        assert out["dependencies"] == [], out


# --------------------------------------------------------------------------------------------
# 4. Re-publishing, origin control publish=BLOCK, yank/owner/search unsupported
# --------------------------------------------------------------------------------------------


def test_republish_conflicts_and_unsupported_commands(site: Site):
    h = site.http("team")
    data = site.crates[(BASE, "0.1.0")]
    index_before = h.index(BASE).body
    # identical bytes again → 200, nothing changes
    r = h.publish(publish_meta(BASE, "0.1.0"), data)
    assert r.status == 200, r
    assert r.json == WARNINGS, r
    # different bytes for the same version → 409 in cargo's error format, nothing changes
    other = crate_bytes(BASE, "0.1.0", "pub fn base() -> &'static str { \"impostor\" }\n")
    r = h.publish(publish_meta(BASE, "0.1.0"), other)
    assert r.status == 409, r
    (conflict_detail,) = error_details(r)
    assert h.index(BASE).body == index_before
    assert h.download(BASE, "0.1.0").body == data
    (asset,) = site.assets("team", BASE, "0.1.0").values()
    assert asset["hashes"]["SHA-256"] == sha256_of(data), asset

    # cargo itself refuses a version its index already lists (no upload happens)
    home = site.home("team", "republish")
    res = home.publish(base_project(home.root / "src", lib="pub fn base() -> u8 { 1 }\n"), check=False)
    assert res.rc != 0 and "already exists" in res.output, res
    assert h.download(BASE, "0.1.0").body == data

    # A version the index hides (Unlisted) makes cargo upload; the server answers 409 and cargo
    # prints it.
    site.create_repo("conflict")
    ch = site.http("conflict")
    chome = site.home("conflict", "conflict")
    chome.publish(base_project(chome.root / "src"))
    stored = ch.download(BASE, "0.1.0").body
    site.set_status("conflict", BASE, ["0.1.0"], "Unlisted")
    assert ch.index_versions(BASE) in (None, [])
    res = chome.publish(base_project(chome.root / "src", lib="pub fn base() -> u8 { 2 }\n"), check=False)
    assert res.rc != 0 and "409" in res.output and conflict_detail in res.output, (conflict_detail, res)
    assert site.statuses("conflict", BASE) == {"0.1.0": "Unlisted"}
    assert ch.download(BASE, "0.1.0").body == stored

    # origin control publish=BLOCK → 409, printed by cargo; nothing stored
    site.ca.put_package_origin_configuration(**site.pkg("conflict", BASE),
                                             restrictions={"publish": "BLOCK", "upstream": "BLOCK"})
    res = chome.publish(base_project(chome.root / "src", version="0.1.5"), check=False)
    assert res.rc != 0 and "409" in res.output, res
    assert site.statuses("conflict", BASE) == {"0.1.0": "Unlisted"}
    r = ch.publish(publish_meta(BASE, "0.1.6"), crate_bytes(BASE, "0.1.6"))
    assert r.status == 409, r
    error_details(r)
    assert site.statuses("conflict", BASE) == {"0.1.0": "Unlisted"}

    # yank / unyank: unsupported → 405 with cargo's error format; cargo prints the detail
    r = h.request("DELETE", f"api/v1/crates/{BASE}/0.1.0/yank")
    assert r.status == 405, r
    (yank_detail,) = error_details(r)
    r = h.request("PUT", f"api/v1/crates/{BASE}/0.1.0/unyank", b"")
    assert r.status == 405, r
    (unyank_detail,) = error_details(r)
    for args, detail in ((("yank", "--version", "0.1.0"), yank_detail),
                         (("yank", "--undo", "--version", "0.1.0"), unyank_detail)):
        res = home.run(*args, "--registry", REGISTRY, BASE, cwd=home.root, check=False)
        assert res.rc != 0 and "405" in res.output and detail in res.output, (detail, res)
    assert site.statuses("team", BASE) == {"0.1.0": "Published"}
    assert h.index_lines(BASE)[0]["yanked"] is False

    # owners and search: unsupported, in cargo's error format, which cargo prints
    details = {}
    for method, rest in (("GET", f"api/v1/crates/{BASE}/owners"), ("PUT", f"api/v1/crates/{BASE}/owners"),
                         ("DELETE", f"api/v1/crates/{BASE}/owners"), ("GET", "api/v1/crates?q=greet&per_page=10")):
        r = h.request(method, rest, b'{"users":["someone"]}' if method != "GET" else None)
        assert r.status in (404, 405), (method, rest, r)
        details[(method, rest.split("?")[0])] = error_details(r)[0]
    res = home.run("owner", "--list", "--registry", REGISTRY, BASE, cwd=home.root, check=False)
    assert res.rc != 0 and details[("GET", f"api/v1/crates/{BASE}/owners")] in res.output, res
    res = home.run("search", "--registry", REGISTRY, "greet", cwd=home.root, check=False)
    assert res.rc != 0 and details[("GET", "api/v1/crates")] in res.output, res


# --------------------------------------------------------------------------------------------
# 5. Malformed publish bodies and path tricks
# --------------------------------------------------------------------------------------------


def test_malformed_publish_bodies_are_rejected_and_store_nothing(site: Site):
    site.create_repo("bad")
    h = site.http("bad")
    good_meta = publish_meta("e2e-bad", "1.0.0")
    good_crate = crate_bytes("e2e-bad", "1.0.0")
    j = json.dumps(good_meta).encode()

    cases: list[tuple[str, bytes]] = [
        ("empty body", b""),
        ("three bytes", b"\x05\x00\x00"),
        ("json length beyond the body", publish_body(good_meta, good_crate, json_len=10_000_000)),
        ("json length past the crate length field", publish_body(good_meta, good_crate, json_len=len(j) + 6)),
        ("crate length beyond the body", publish_body(good_meta, good_crate, crate_len=len(good_crate) + 1)),
        ("crate length short of the body", publish_body(good_meta, good_crate, crate_len=len(good_crate) - 1)),
        ("missing crate part", publish_body(good_meta, b"")[:-4]),
        ("empty crate", publish_body(good_meta, b"")),
        ("not JSON", publish_body(b"{not json", good_crate)),
        ("JSON array", publish_body(b"[]", good_crate)),
        ("no name", publish_body({k: v for k, v in good_meta.items() if k != "name"}, good_crate)),
        ("no vers", publish_body({k: v for k, v in good_meta.items() if k != "vers"}, good_crate)),
        ("not a gzip", publish_body(good_meta, b"this is not a gzip tarball at all")),
        ("gzip of garbage", publish_body(good_meta, gzip.compress(b"not a tar archive" * 50))),
    ]
    for bad_name in ("", "../e2e-bad", "e2e/bad", "e2e bad", "1e2e", "e2e-bad\u00e9", "e2e%2Fbad", ".."):
        cases.append((f"name {bad_name!r}", publish_body(publish_meta(bad_name, "1.0.0"), good_crate)))
    for bad_version in ("", "1.0", "not-a-version", "1.0.0/../2.0.0", "../1.0.0", "1.0.0 "):
        cases.append((f"version {bad_version!r}",
                      publish_body(publish_meta("e2e-bad", bad_version), crate_bytes("e2e-bad", "1.0.0"))))
    failures = []
    for label, body in cases:
        r = h.publish_raw(body)
        if r.status != 400:
            failures.append(f"{label}: {r.status} {r.body[:200]!r}")
            continue
        try:
            error_details(r)
        except AssertionError:
            failures.append(f"{label}: 400 without cargo's error format: {r.body[:200]!r}")
    assert not failures, "\n".join(failures)
    assert site.packages("bad") == {}, "a malformed publish stored something"
    for name in ("e2e-bad", "1e2e"):
        assert h.index(name).status == 404, name

    # the repository works: the well-formed body is accepted, and it is the only package
    r = h.publish(good_meta, good_crate)
    assert r.status == 200, r
    assert sorted(site.packages("bad")) == ["e2e-bad"]
    assert h.index_versions("e2e-bad") == ["1.0.0"]
    assert h.download("e2e-bad", "1.0.0").body == good_crate


def test_publish_metadata_maps_to_the_index_line(site: Site):
    """Every dependency field, `links`, weak (`?`) and `dep:` features, rust_version (spec §9.4)."""
    site.create_repo("fields")
    h = site.http("fields")
    other_registry = "sparse+http://127.0.0.1:9/cargo/other/"
    deps = [
        publish_dep("e2e-plain", "^1.2.3"),
        publish_dep("e2e-opt", ">=0.5, <0.7", optional=True, features=["x", "y"], default_features=False),
        publish_dep("e2e-target", "~2", target='cfg(target_os = "linux")'),
        publish_dep("e2e-foreign", "^3", registry=other_registry),
        publish_dep("e2e-real-name", "^4", explicit_name="alias"),
        publish_dep("e2e-devdep", "*", kind="dev"),
        publish_dep("e2e-builddep", "=1.0.0", kind="build"),
    ]
    features = {"default": ["std"], "std": [], "extra": ["dep:e2e-opt"], "weak": ["e2e-opt?/x"],
                "both": ["std", "alias/z"]}
    data = crate_bytes("e2e-fields", "1.0.0-rc.1", "// fields\n")
    meta = publish_meta("e2e-fields", "1.0.0-rc.1", deps=deps, features=features, links="fieldslib",
                        rust_version="1.74", description="all the fields", license="MIT")
    r = h.publish(meta, data)
    assert r.status == 200 and r.json == WARNINGS, r
    (line,) = h.index_lines("e2e-fields")
    base = dict(features=[], optional=False, default_features=True, target=None, registry=None, package=None,
                kind="normal")
    expected = [
        {**base, "name": "e2e-plain", "req": "^1.2.3"},
        {**base, "name": "e2e-opt", "req": ">=0.5, <0.7", "optional": True, "features": ["x", "y"],
         "default_features": False},
        {**base, "name": "e2e-target", "req": "~2", "target": 'cfg(target_os = "linux")'},
        {**base, "name": "e2e-foreign", "req": "^3", "registry": other_registry},
        {**base, "name": "alias", "req": "^4", "package": "e2e-real-name"},
        {**base, "name": "e2e-devdep", "req": "*", "kind": "dev"},
        {**base, "name": "e2e-builddep", "req": "=1.0.0", "kind": "build"},
    ]
    key = lambda d: d["name"]  # noqa: E731
    assert sorted(line["deps"], key=key) == sorted(expected, key=key), line["deps"]
    assert line["name"] == "e2e-fields" and line["vers"] == "1.0.0-rc.1" and line["cksum"] == sha256_of(data), line
    assert line["features"] == {"default": ["std"], "std": [], "both": ["std", "alias/z"]}, line
    assert line["features2"] == {"extra": ["dep:e2e-opt"], "weak": ["e2e-opt?/x"]} and line["v"] == 2, line
    assert line["links"] == "fieldslib" and line["rust_version"] == "1.74" and line["yanked"] is False, line
    deps_cp = site.ca.list_package_version_dependencies(**site.pkg("fields", "e2e-fields"),
                                                        packageVersion="1.0.0-rc.1")["dependencies"]
    got = sorted((d["package"], d.get("dependencyType"), d.get("versionRequirement")) for d in deps_cp)
    assert got == sorted([("e2e-plain", "normal", "^1.2.3"), ("e2e-opt", "normal", ">=0.5, <0.7"),
                          ("e2e-target", "normal", "~2"), ("e2e-foreign", "normal", "^3"),
                          ("e2e-real-name", "normal", "^4"), ("e2e-devdep", "dev", "*"),
                          ("e2e-builddep", "build", "=1.0.0")]), deps_cp
    # a pre-release sorts before its release in the index (semver order)
    r = h.publish(publish_meta("e2e-fields", "1.0.0"), crate_bytes("e2e-fields", "1.0.0"))
    assert r.status == 200, r
    r = h.publish(publish_meta("e2e-fields", "0.9.10"), crate_bytes("e2e-fields", "0.9.10"))
    assert r.status == 200, r
    r = h.publish(publish_meta("e2e-fields", "0.9.9"), crate_bytes("e2e-fields", "0.9.9"))
    assert r.status == 200, r
    assert h.index_versions("e2e-fields") == ["0.9.9", "0.9.10", "1.0.0-rc.1", "1.0.0"]


def test_path_tricks_in_index_and_download_paths(site: Site):
    h = site.http("team")
    before = {name: sorted(site.versions("team", name)) for name in (BASE, FANCY, GREET_PKG)}
    config = h.config().body
    crate = site.crates[(GREET, "0.1.1")]
    # index files whose directories do not match the name → 404
    for rest in ("e2/xx/e2e_greet", "xx/e_/e2e_greet", "1/e2e_greet", "2/e2e_greet", "3/e/e2e_greet",
                 "e2/e_/e2e_greet/extra", "e2/e_", "e2/e_/", "e2/e_/e2e-base", "e2/e-/e2e_greet"):
        r = h.get(rest)
        assert r.status == 404, (rest, r)
    # traversal and encoded separators never reach another resource
    for rest in ("e2/e_/../../config.json", "e2/e_/%2E%2E/%2E%2E/config.json", "e2%2Fe_%2Fe2e_greet",
                 "e2/e_/e2e_greet%2F..", "e2/e_/..%2Fe2e_greet", "e2/../e2/e_/e2e_greet",
                 "e2/e_/e2e_greet%00", "..%2F..%2Fconfig.json",
                 f"api/v1/crates/{GREET}/0.1.1/../0.1.0/download",
                 f"api/v1/crates/{GREET}/0.1.1%2F..%2F0.1.0/download",
                 "api/v1/crates/..%2F..%2Fconfig.json/0.1.1/download",
                 f"api/v1/crates/..%2F{GREET}/0.1.1/download",
                 f"api/v1/crates/{GREET}/%2E%2E/download",
                 f"api/v1/crates/{GREET}/0.1.1/download/extra", f"api/v1/crates/{GREET}/0.1.1/",
                 f"api/v1/crates/{GREET}/0.1.1", f"api/v1/crates/{GREET}%2F0.1.1/download",
                 "api/v1/crates/../../config.json", "api/v1/crates/new"):
        r = h.get(rest)
        assert r.status in (400, 404, 405), (rest, r)
        assert r.body != config and crate not in r.body, (rest, r)
    # a publish aimed elsewhere by the path is not a publish
    body = publish_body(publish_meta("e2e-trick", "1.0.0"), crate_bytes("e2e-trick", "1.0.0"))
    for rest in ("api/v1/crates/new/..", "api/v1/crates/%2E%2E/new", "api/v1/crates/new%2F..",
                 "api/v1/crates/new/", "api/v1/crates/e2e-trick/1.0.0/download"):
        r = h.request("PUT", rest, body)
        assert r.status in (400, 404, 405), (rest, r)
    assert "e2e-trick" not in site.packages("team")
    assert h.index("e2e-trick").status == 404
    after = {name: sorted(site.versions("team", name)) for name in (BASE, FANCY, GREET_PKG)}
    assert after == before


# --------------------------------------------------------------------------------------------
# 6. Status changes: the index and cargo follow them
# --------------------------------------------------------------------------------------------


def test_status_changes_are_reflected_in_index_and_cargo(site: Site):
    site.create_repo("status")
    crates, _ = site.publish_all("status", "status-publisher")
    h = site.http("status")
    assert h.index_versions(GREET) == GREET_VERSIONS
    home = site.home("status", "status-consumer")
    target = home.root / "target"

    def build(project: Path | None = None) -> str:
        project = project or consumer_project(home.root)
        return consumer_output(home.run_bin(project, target_dir=target))

    # Archived: gone from the index, not downloadable; cargo (same CARGO_HOME, `cargo update`
    # revalidates the cached index file) falls back to 0.1.0.
    project = consumer_project(home.root)
    assert build(project) == "greet 0.1.1 with base 0.1.0"
    site.set_status("status", GREET_PKG, ["0.1.1"], "Archived")
    assert h.index_versions(GREET) == ["0.1.0", "0.2.0"]
    assert h.download(GREET, "0.1.1").status == 404
    home.run("update", cwd=project, target_dir=target)
    assert lock_packages(project)[GREET]["version"] == "0.1.0"
    assert BASE not in lock_packages(project)
    assert build(project) == "greet 0.1.0"

    # Published again: back in the index; `cargo update` picks it up
    site.set_status("status", GREET_PKG, ["0.1.1"], "Published")
    assert h.index_versions(GREET) == GREET_VERSIONS
    home.run("update", cwd=project, target_dir=target)
    assert build(project) == "greet 0.1.1 with base 0.1.0"

    # Unlisted: gone from the index but still downloadable; a fresh CARGO_HOME resolves 0.1.0
    site.set_status("status", GREET_PKG, ["0.1.1"], "Unlisted")
    assert h.index_versions(GREET) == ["0.1.0", "0.2.0"]
    r = h.download(GREET, "0.1.1")
    assert r.status == 200 and r.body == crates[(GREET, "0.1.1")], r
    home.fresh()
    assert build() == "greet 0.1.0"

    # Disposed: gone and not downloadable
    out = site.ca.dispose_package_versions(**site.pkg("status", GREET_PKG), versions=["0.1.1"])
    assert set(out.get("successfulVersions", {})) == {"0.1.1"}, out
    assert site.statuses("status", GREET_PKG)["0.1.1"] == "Disposed"
    assert h.index_versions(GREET) == ["0.1.0", "0.2.0"]
    assert h.download(GREET, "0.1.1").status == 404

    # Nothing compatible left for ^0.1 → cargo's resolver error
    site.set_status("status", GREET_PKG, ["0.1.0"], "Archived")
    assert h.index_versions(GREET) == ["0.2.0"]
    home.fresh()
    res = home.run_bin(consumer_project(home.root), target_dir=target, check=False)
    assert res.rc != 0 and "failed to select a version" in res.output, res

    # Deleted: gone; the version may be published again, with other bytes
    out = site.ca.delete_package_versions(**site.pkg("status", GREET_PKG), versions=["0.2.0"])
    assert set(out.get("successfulVersions", {})) == {"0.2.0"}, out
    assert h.index_versions(GREET) in (None, [])
    assert h.download(GREET, "0.2.0").status == 404
    new = crate_bytes(GREET, "0.2.0", 'pub fn hello() -> String { "greet 0.2.0 again".into() }\n')
    r = h.publish(publish_meta(GREET, "0.2.0"), new)
    assert r.status == 200, r
    assert h.index_versions(GREET) == ["0.2.0"]
    assert h.index_lines(GREET)[0]["cksum"] == sha256_of(new)
    assert h.download(GREET, "0.2.0").body == new
    # the other repository was never touched
    assert site.statuses("team", GREET_PKG) == {v: "Published" for v in GREET_VERSIONS}


def test_a_crate_keeps_one_spelling(site: Site):
    """Names differing only in case share one package (the index path is lowercase), and cargo
    matches index lines by exact name: a second spelling is refused, the first one served."""
    site.create_repo("spelling")
    h = site.http("spelling")
    first = crate_bytes("Spelled_Crate", "1.0.0")
    assert h.publish(publish_meta("Spelled_Crate", "1.0.0"), first).status == 200
    other = crate_bytes("spelled_crate", "1.1.0")
    r = h.publish(publish_meta("spelled_crate", "1.1.0"), other)
    assert r.status == 409, r
    (detail,) = error_details(r)
    assert "Spelled_Crate" in detail, detail
    assert [line["name"] for line in h.index_lines("Spelled_Crate")] == ["Spelled_Crate"]
    assert site.statuses("spelling", "spelled_crate") == {"1.0.0": "Published"}


def test_a_crate_must_describe_itself(site: Site):
    """The `.crate`'s own Cargo.toml must name the crate and version being published."""
    site.create_repo("selfdesc")
    h = site.http("selfdesc")
    for manifest in (crate_manifest("other-crate", "1.0.0"), crate_manifest("self-desc", "9.9.9"),
                     "not = [valid toml", None):
        files = {} if manifest is not None else {"Cargo.toml": ""}
        data = crate_bytes("self-desc", "1.0.0", manifest=manifest, files=files)
        r = h.publish(publish_meta("self-desc", "1.0.0"), data)
        assert r.status == 400, (manifest, r)
        assert error_details(r), r
    assert site.stored("selfdesc", "self-desc") == {}
