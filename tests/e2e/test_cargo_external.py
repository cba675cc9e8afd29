"""Cargo through upstream repositories and the external connection `public:crates-io`, end to
end, with the real `cargo` and raw HTTP.

The "public crate registry" is a second codeartifact-local process started by this module: a
cargo repository there is filled with small crates by raw publishes, and the server under test
is started with
`--external-connection public:crates-io=http://aws:TOKEN@127.0.0.1:PORT/cargo/d/pub-…/crates/`:
the URL is the root of a sparse index (its `config.json` gives `dl`), the user-info becomes the
credentials the server under test presents.

Consumers use the documented CodeArtifact set-up: `[source.crates-io] replace-with = "ca"`, so
their plain `ext-util = "1"` dependencies — and the public crates' own dependencies, which carry
`registry: null` in the index — resolve through the repository under test.

References: upstreams spec §3 (search order), §4 (retention: the repository asked and the
connection repository, never intermediates; listing retains nothing), §5.2 (assets fetched on
demand, metadata merged), §6.4 (cargo: union of versions; `dl` points at the serving
repository), §7 (origin controls and their defaults), §8 (publish conflicts, dependency
confusion), §9 (origin); repository-endpoints spec §9 (cargo routes).

Isolation and configuration of cargo: see cargokit.py.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest

import externalkit
from cargokit import (
    CargoHome, CargoHttp, crate_bytes, crate_manifest, error_details, index_path, packaged_crate,
    publish_dep, publish_meta, require_cargo, write_package,
)
from conftest import LoopbackHttp, sha256_of
from externalkit import PublicSide, external_origin, internal_origin, public_server
from externalkit import server  # noqa: F401 (the server under test, connected to `public`)

CONNECTION = "public:crates-io"
PUBLIC_REPO = "crates"
EXTERNAL = external_origin(CONNECTION)


@pytest.fixture(scope="module", autouse=True)
def _cargo_prerequisites():
    require_cargo()


def ident(name: str) -> str:
    return name.replace("-", "_")


def lib_rs(name: str, version: str, deps: tuple[str, ...] = ()) -> str:
    """`pub fn describe() -> String` = "{name} {version} (public)" plus the dependencies' own."""
    parts = "".join(f' + " + " + &{ident(d)}::describe()' for d in deps)
    return f'pub fn describe() -> String {{ String::from("{name} {version} (public)"){parts} }}\n'


# What the "public crate registry" holds: (name, version, {dependency: requirement}).
PUBLIC_CRATES: list[tuple[str, str, dict[str, str]]] = [
    ("ext-core", "1.0.0", {}),
    ("ext-core", "1.1.0", {}),
    ("ext-core", "2.0.0", {}),
    ("ext-util", "1.0.0", {"ext-core": "^1.0"}),
    ("ext-util", "1.2.0", {"ext-core": "^1.0"}),
    ("ext-util", "2.0.0", {"ext-core": "^2.0"}),
    ("ext-other", "1.0.0", {}),
    ("ext-conf", "5.0.0", {}),
]


# --------------------------------------------------------------------------------------------
# The "public crate registry" and the server under test
# --------------------------------------------------------------------------------------------


class PublicRegistry(PublicSide):
    crates: dict[tuple[str, str], bytes]  # (name, version) → .crate bytes

    def published(self, name: str) -> list[str]:
        """The versions of `name` the public registry was given, in publish order."""
        return [v for (n, v) in self.crates if n == name]


@pytest.fixture(scope="module")
def public(tmp_path_factory: pytest.TempPathFactory, _isolated_aws_env) -> PublicRegistry:
    """The public crate registry, filled by raw publishes with PUBLIC_CRATES."""
    with public_server(tmp_path_factory, "cargo", PUBLIC_REPO, PublicRegistry) as pub:
        h = CargoHttp(pub.endpoint, pub.token)
        crates = pub.crates = {}
        for name, version, deps in PUBLIC_CRATES:
            manifest = crate_manifest(name, version, deps={d: f'"{req}"' for d, req in deps.items()},
                                      extra=f'description = "{name} {version} (public)"\nlicense = "MIT"\n')
            data = crate_bytes(name, version, lib_rs(name, version, tuple(deps)), manifest=manifest)
            meta = publish_meta(name, version, deps=[publish_dep(d, req) for d, req in deps.items()],
                                description=f"{name} {version} (public)", license="MIT")
            r = h.publish(meta, data)
            assert r.status == 200, (name, version, r)
            crates[(name, version)] = data
        # The public registry answers what the adapter will read.
        assert h.index_versions("ext-util") == ["1.0.0", "1.2.0", "2.0.0"]
        r = h.config()
        assert r.status == 200 and r.json["dl"] == f"{pub.endpoint}api/v1/crates", r
        yield pub


class Chain(externalkit.Chain):
    """externalkit's chain, repo-c holding `public:crates-io`."""

    CONNECTION = CONNECTION
    FORMAT = "cargo"
    PREFIX = "cargoext"

    def http(self, repo: str) -> CargoHttp:
        return CargoHttp(self.endpoint(repo), self.token)

    def home(self, repo: str, label: str) -> CargoHome:
        return CargoHome(self.tmp / f"{label}-{repo}-{uuid.uuid4().hex[:6]}", self.endpoint(repo), self.srv.port,
                         self.token, log=self.srv.log)


def assert_retained(chain: Chain, repo: str, name: str, versions: list[str], origin: dict,
                    crates: dict[tuple[str, str], bytes]) -> None:
    """externalkit's retention check, and each version's one asset is the .crate in `crates`."""
    stored = chain.assert_retained(repo, name, versions, origin)
    for version in stored:
        assets = chain.assets(repo, name, version)
        assert len(assets) == 1, (repo, assets)
        (asset_name, asset), = assets.items()
        data = crates[(name, version)]
        assert asset_name == f"{name}-{version}.crate", asset_name
        assert asset["hashes"]["SHA-256"] == sha256_of(data) and asset["size"] == len(data), (repo, asset)


def consumer(root: Path, deps: dict[str, str], call: str) -> Path:
    """A binary with plain (crates-io) dependencies, printing `{call}`."""
    manifest = ('[package]\nname = "e2e-consumer"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n'
                "[dependencies]\n" + "".join(f'{k} = "{v}"\n' for k, v in deps.items()))
    return write_package(root / f"consumer-{uuid.uuid4().hex[:8]}", manifest,
                         {"src/main.rs": f'fn main() {{ println!("consumer got: {{}}", {call}); }}\n'})


def consumer_output(stdout: str) -> str:
    lines = [l for l in stdout.splitlines() if l.startswith("consumer got: ")]
    assert len(lines) == 1, stdout
    return lines[0][len("consumer got: "):]


# --------------------------------------------------------------------------------------------
# 1. A → B → C(public:crates-io): merged index, cargo build, retention, origin, controls
# --------------------------------------------------------------------------------------------


def test_chain_merges_public_index_and_cargo_build_retains_in_requester_and_store(
        server, ca, track, tmp_path, public: PublicRegistry):
    chain = Chain(server, ca, track, tmp_path)
    a = chain.http("repo-a")
    ea = chain.endpoint("repo-a")

    # A's config.json sends downloads to A, never to the public registry (§6.4)
    r = a.config()
    assert r.status == 200 and r.json == {"dl": f"{ea}api/v1/crates", "api": ea.rstrip("/"),
                                          "auth-required": True}, r
    # A's index lists the public versions before anything was fetched, with the public cksums …
    for name in ("ext-core", "ext-util"):
        r = a.index(name)
        assert r.status == 200, (name, r)
        assert f"127.0.0.1:{public.srv.port}" not in r.body.decode(), r
        lines = a.index_lines(name)
        assert [l["vers"] for l in lines] == public.published(name), lines
        for l in lines:
            assert l["name"] == name and l["cksum"] == sha256_of(public.crates[(name, l["vers"])]), l
            assert l["yanked"] is False, l
    util = {l["vers"]: l for l in a.index_lines("ext-util")}
    (dep,) = util["1.2.0"]["deps"]
    assert (dep["name"], dep["req"], dep["kind"], dep.get("registry")) == ("ext-core", "^1.0", "normal", None), dep
    assert a.index("ext-absent").status == 404
    # … and listing retains nothing anywhere (§4.2).
    for repo in ("repo-a", "repo-b", "repo-c"):
        for name in ("ext-core", "ext-util"):
            assert chain.stored(repo, name) == {}, f"listing retained {name} in {repo}"

    # cargo build/run through A from a clean CARGO_HOME: ext-util "1" → 1.2.0, ext-core ^1.0 → 1.1.0
    home = chain.home("repo-a", "consumer")
    project = consumer(home.root, {"ext-util": "1"}, "ext_util::describe()")
    res = home.run_bin(project)
    assert consumer_output(res.stdout) == "ext-util 1.2.0 (public) + ext-core 1.1.0 (public)", res
    cached = {p.name: p.read_bytes() for p in (home.cargo_home / "registry" / "cache").rglob("*.crate")}
    assert cached == {"ext-util-1.2.0.crate": public.crates[("ext-util", "1.2.0")],
                      "ext-core-1.1.0.crate": public.crates[("ext-core", "1.1.0")]}, sorted(cached)

    # Retained in A (requester) and C (connection), not in B; origin EXTERNAL (§4.1, §9);
    # controls publish=BLOCK, upstream=ALLOW in A and C (§7.2).
    for repo in ("repo-a", "repo-c"):
        assert_retained(chain, repo, "ext-util", ["1.2.0"], EXTERNAL, public.crates)
        assert_retained(chain, repo, "ext-core", ["1.1.0"], EXTERNAL, public.crates)
        for name in ("ext-util", "ext-core"):
            assert chain.restrictions(repo, name) == {"publish": "BLOCK", "upstream": "ALLOW"}, (repo, name)
        d = ca.describe_package_version(**chain.pkg(repo, "ext-util"), packageVersion="1.2.0")["packageVersion"]
        assert d["origin"] == EXTERNAL and d["displayName"] == "ext-util" and d["status"] == "Published", (repo, d)
        # Described from the crate's own Cargo.toml (the index line carries no description).
        assert d.get("summary") == "ext-util 1.2.0 (public)", (repo, d)
        assert [lic.get("name") for lic in d.get("licenses", [])] == ["MIT"], (repo, d)
    for name in ("ext-util", "ext-core"):
        assert chain.stored("repo-b", name) == {}, f"the intermediate repository B gained {name}"
        assert chain.restrictions("repo-b", name) is None, name

    # the merged index still lists every version once
    assert a.index_versions("ext-util") == ["1.0.0", "1.2.0", "2.0.0"]
    assert a.index_versions("ext-core") == ["1.0.0", "1.1.0", "2.0.0"]

    # Direct publishing into A is refused (publish=BLOCK; the version is upstream) — by hand and
    # by cargo; nothing changes.
    for version, lib in (("1.2.0", "pub fn describe() -> String { String::from(\"impostor\") }\n"),
                         ("1.3.0", ""), ("9.0.0", "")):
        r = a.publish(publish_meta("ext-util", version), crate_bytes("ext-util", version, lib))
        assert r.status == 409, (version, r)
        error_details(r)
    project9 = write_package(home.root / "ext-util-9.1.0", crate_manifest("ext-util", "9.1.0"),
                             {"src/lib.rs": "pub fn describe() -> String { String::new() }\n"})
    res = home.publish(project9, check=False)
    assert res.rc != 0 and "409" in res.output, res
    assert_retained(chain, "repo-a", "ext-util", ["1.2.0"], EXTERNAL, public.crates)
    assert a.index_versions("ext-util") == ["1.0.0", "1.2.0", "2.0.0"]

    # Another public version downloaded through A is retained in A and C too
    r = a.download("ext-util", "2.0.0")
    assert r.status == 200 and r.body == public.crates[("ext-util", "2.0.0")], r
    for repo in ("repo-a", "repo-c"):
        assert_retained(chain, repo, "ext-util", ["1.2.0", "2.0.0"], EXTERNAL, public.crates)
    assert chain.stored("repo-b", "ext-util") == {}
    # a version that exists nowhere is 404 and retains nothing
    assert a.download("ext-util", "1.9.9").status == 404
    assert sorted(chain.stored("repo-a", "ext-util")) == ["1.2.0", "2.0.0"]


# --------------------------------------------------------------------------------------------
# 2. Asking B: retained in B and C, not A; then A finds it in B
# --------------------------------------------------------------------------------------------


def test_request_through_b_retains_in_b_and_store_only(server, ca, track, tmp_path, public: PublicRegistry):
    chain = Chain(server, ca, track, tmp_path)
    b = chain.http("repo-b")
    data = public.crates[("ext-other", "1.0.0")]
    r = b.download("ext-other", "1.0.0")
    assert r.status == 200 and r.body == data, r
    assert_retained(chain, "repo-b", "ext-other", ["1.0.0"], EXTERNAL, public.crates)
    assert_retained(chain, "repo-c", "ext-other", ["1.0.0"], EXTERNAL, public.crates)
    assert chain.stored("repo-a", "ext-other") == {}
    # While B's copy is Archived, A finds B's record first: 404, nothing retained (§3.2, §3.3)
    out = ca.update_package_versions_status(**chain.pkg("repo-b", "ext-other"), versions=["1.0.0"],
                                            targetStatus="Archived")
    assert set(out.get("successfulVersions", {})) == {"1.0.0"}, out
    a = chain.http("repo-a")
    assert a.download("ext-other", "1.0.0").status == 404
    assert chain.stored("repo-a", "ext-other") == {}
    ca.update_package_versions_status(**chain.pkg("repo-b", "ext-other"), versions=["1.0.0"],
                                      targetStatus="Published")
    # A now finds it in B (stored there): served, retained in A with the same origin
    home = chain.home("repo-a", "other")
    res = home.run_bin(consumer(home.root, {"ext-other": "1"}, "ext_other::describe()"))
    assert consumer_output(res.stdout) == "ext-other 1.0.0 (public)", res
    assert_retained(chain, "repo-a", "ext-other", ["1.0.0"], EXTERNAL, public.crates)
    assert chain.restrictions("repo-a", "ext-other") == {"publish": "BLOCK", "upstream": "ALLOW"}


# --------------------------------------------------------------------------------------------
# 3. Internal upstream: a crate published to B with cargo is served through A, retained in A only
# --------------------------------------------------------------------------------------------


def test_internal_upstream_crate_is_served_and_retained_in_requester(server, ca, track, tmp_path):
    chain = Chain(server, ca, track, tmp_path)
    bhome = chain.home("repo-b", "publisher")
    crates: dict[tuple[str, str], bytes] = {}
    for version in ("0.1.0", "0.1.1"):
        project = write_package(
            bhome.root / f"int-lib-{version}",
            f'[package]\nname = "int-lib"\nversion = "{version}"\nedition = "2021"\n'
            'description = "internal library"\nlicense = "MIT"\n',
            {"src/lib.rs": f'pub fn describe() -> String {{ String::from("int-lib {version} (internal)") }}\n'})
        bhome.publish(project)
        crates[("int-lib", version)] = packaged_crate(bhome.root / "target", "int-lib", version)
    in_b = internal_origin("repo-b")
    assert sorted(chain.stored("repo-b", "int-lib")) == ["0.1.0", "0.1.1"]
    assert chain.restrictions("repo-b", "int-lib") == {"publish": "ALLOW", "upstream": "BLOCK"}

    a = chain.http("repo-a")
    assert a.index_versions("int-lib") == ["0.1.0", "0.1.1"]
    assert chain.stored("repo-a", "int-lib") == {}
    home = chain.home("repo-a", "consumer")
    res = home.run_bin(consumer(home.root, {"int-lib": "=0.1.0"}, "int_lib::describe()"))
    assert consumer_output(res.stdout) == "int-lib 0.1.0 (internal)", res
    # retained in A with B's origin; B unchanged; C never involved
    assert_retained(chain, "repo-a", "int-lib", ["0.1.0"], in_b, crates)
    assert_retained(chain, "repo-b", "int-lib", ["0.1.0", "0.1.1"], in_b, crates)
    assert chain.stored("repo-c", "int-lib") == {}
    assert chain.restrictions("repo-a", "int-lib") == {"publish": "BLOCK", "upstream": "ALLOW"}
    # publishing into A is refused now: the version is upstream, and publish=BLOCK for any version
    for version in ("0.1.0", "0.1.2"):
        r = a.publish(publish_meta("int-lib", version), crate_bytes("int-lib", version, "// shadow\n"))
        assert r.status == 409, (version, r)
    assert sorted(chain.stored("repo-a", "int-lib")) == ["0.1.0"]


# --------------------------------------------------------------------------------------------
# 4. Publish conflicts and dependency confusion
# --------------------------------------------------------------------------------------------


def test_publish_conflicts_with_public_versions(server, ca, track, tmp_path, public: PublicRegistry):
    chain = Chain(server, ca, track, tmp_path)
    # a public version not yet retained anywhere cannot be published into A or B (§8.1) …
    for repo in ("repo-a", "repo-b"):
        h = chain.http(repo)
        r = h.publish(publish_meta("ext-core", "2.0.0"), crate_bytes("ext-core", "2.0.0", "// internal\n"))
        assert r.status == 409, (repo, r)
        error_details(r)
    for repo in ("repo-a", "repo-b", "repo-c"):
        assert chain.stored(repo, "ext-core") == {}, repo
    # … and cargo, which sees the public version in A's merged index, refuses before uploading
    home = chain.home("repo-a", "conflict")
    project = write_package(home.root / "ext-core-2.0.0", crate_manifest("ext-core", "2.0.0"),
                            {"src/lib.rs": "// internal\n"})
    res = home.publish(project, check=False)
    assert res.rc != 0 and "already exists" in res.output, res
    assert chain.stored("repo-a", "ext-core") == {}


def test_internal_package_hides_public_versions(server, ca, track, tmp_path, public: PublicRegistry):
    chain = Chain(server, ca, track, tmp_path)
    a = chain.http("repo-a")
    name = "ext-conf"
    internal_crate = crate_bytes(name, "0.1.0", 'pub fn describe() -> String { String::from("ext-conf 0.1.0 (internal)") }\n')
    r = a.publish(publish_meta(name, "0.1.0"), internal_crate)
    assert r.status == 200, r
    assert chain.restrictions("repo-a", name) == {"publish": "ALLOW", "upstream": "BLOCK"}
    # public 5.0.0 is invisible through A: not listed, not downloadable, never retained
    assert a.index_versions(name) == ["0.1.0"]
    assert a.download(name, "5.0.0").status == 404
    for repo in ("repo-a", "repo-b", "repo-c"):
        assert "5.0.0" not in chain.stored(repo, name), repo
    home = chain.home("repo-a", "confusion")
    res = home.run_bin(consumer(home.root, {name: "*"}, "ext_conf::describe()"))
    assert consumer_output(res.stdout) == "ext-conf 0.1.0 (internal)", res
    # a client of C (the connection repository) still sees the public version
    assert chain.http("repo-c").index_versions(name) == ["5.0.0"]


# --------------------------------------------------------------------------------------------
# 5. A public registry shaped like the real one (fixture): `dl` elsewhere, no auth; integrity
# --------------------------------------------------------------------------------------------


class FixtureRegistry(LoopbackHttp):
    """A minimal public sparse registry on loopback, shaped like the public crate registry: the
    index root is /index/ (config.json without `auth-required`, whose `dl` is on another path,
    /static/crates, with no markers, so crates are at {dl}/{name}/{version}/download); no
    authentication. Anything else is 404."""

    def __init__(self):
        super().__init__()
        self.index_lines: dict[str, list[str]] = {}
        self.url = f"{self.origin}/index/"
        dl = f"{self.origin}/static/crates"
        self.routes["/index/config.json"] = ("application/json", json.dumps({"dl": dl, "api": self.origin}).encode())

    def add(self, name: str, version: str, served: bytes, declared: bytes | None = None) -> None:
        """Lists `name version` with cksum = sha256_of(`declared`, default the bytes served)."""
        line = {"name": name, "vers": version, "deps": [], "cksum": sha256_of(served if declared is None else declared),
                "features": {}, "yanked": False}
        lines = self.index_lines.setdefault(name, [])
        lines.append(json.dumps(line))
        self.routes[f"/index/{index_path(name)}"] = ("text/plain", "".join(l + "\n" for l in lines).encode())
        self.routes[f"/static/crates/{name}/{version}/download"] = ("application/octet-stream", served)


@pytest.fixture
def fixture_registry():
    registry = FixtureRegistry()
    yield registry
    registry.close()


def test_public_dl_location_is_followed_and_mismatching_crates_are_refused(server_factory, fixture_registry,
                                                                             tmp_path):
    good = crate_bytes("fixture-good", "1.0.0", lib_rs("fixture-good", "1.0.0"))
    fixture_registry.add("fixture-good", "1.0.0", good)
    genuine = crate_bytes("fixture-bad", "1.0.0", lib_rs("fixture-bad", "1.0.0"))
    tampered = crate_bytes("fixture-bad", "1.0.0", 'pub fn describe() -> String { String::from("tampered") }\n')
    fixture_registry.add("fixture-bad", "1.0.0", tampered, declared=genuine)
    chain = Chain.on_new_server(server_factory, tmp_path, fixture_registry.url)
    srv = chain.srv
    crates = {("fixture-good", "1.0.0"): good}

    # Control: a consistent crate comes through, fetched from the public `dl` location.
    home = chain.home("repo-a", "fixture")
    res = home.run_bin(consumer(home.root, {"fixture-good": "1"}, "fixture_good::describe()"))
    assert consumer_output(res.stdout) == "fixture-good 1.0.0 (public)", res
    assert "/static/crates/fixture-good/1.0.0/download" in fixture_registry.paths(), fixture_registry.paths()
    assert f"/index/{index_path('fixture-good')}" in fixture_registry.paths(), fixture_registry.paths()
    assert_retained(chain, "repo-a", "fixture-good", ["1.0.0"], EXTERNAL, crates)
    assert_retained(chain, "repo-c", "fixture-good", ["1.0.0"], EXTERNAL, crates)
    assert chain.stored("repo-b", "fixture-good") == {}

    # The tampered crate is listed (with the declared cksum) but never served nor stored (§5.2).
    a = chain.http("repo-a")
    (line,) = a.index_lines("fixture-bad")
    assert line["cksum"] == sha256_of(genuine), line
    r = a.download("fixture-bad", "1.0.0")
    assert r.status != 200 and tampered not in r.body, r
    assert "/static/crates/fixture-bad/1.0.0/download" in fixture_registry.paths(), \
        "the server never fetched the crate it refused"
    res = home.run_bin(consumer(home.root, {"fixture-bad": "1"}, "fixture_bad::describe()"), check=False)
    assert res.rc != 0 and "tampered" not in res.stdout, res
    for repo in ("repo-a", "repo-b", "repo-c"):
        assert chain.stored(repo, "fixture-bad") == {}, f"the tampered crate was stored in {repo}"
    assert srv.proc.poll() is None


# --------------------------------------------------------------------------------------------
# 6. Unreachable public registry (§11): stored crates keep working, unknown names are 404
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["refused", "unset"])
def test_unreachable_public_registry_keeps_local_crates_working(kind, server_factory, tmp_path):
    chain = Chain.unreachable(server_factory, tmp_path, kind)
    srv = chain.srv
    a = chain.http("repo-a")
    started = time.monotonic()
    assert a.index("ext-unknown").status == 404
    assert time.monotonic() - started < 10
    # A crate published to C (the conflict check cannot reach the registry and lets it through)
    # is listed and built through A, and retained in A with C's origin.
    data = crate_bytes("local-only", "1.0.0", lib_rs("local-only", "1.0.0"))
    r = chain.http("repo-c").publish(publish_meta("local-only", "1.0.0"), data)
    assert r.status == 200, r
    assert a.index_versions("local-only") == ["1.0.0"]
    home = chain.home("repo-a", "offline")
    res = home.run_bin(consumer(home.root, {"local-only": "1"}, "local_only::describe()"))
    assert consumer_output(res.stdout) == "local-only 1.0.0 (public)", res
    in_c = internal_origin("repo-c")
    assert_retained(chain, "repo-a", "local-only", ["1.0.0"], in_c, {("local-only", "1.0.0"): data})
    res = home.run_bin(consumer(home.root, {"ext-unknown": "1"}, "0"), check=False)
    assert res.rc != 0 and "ext-unknown" in res.output, res
    assert srv.proc.poll() is None
