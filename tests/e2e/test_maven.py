"""The Maven repository endpoint driven by the real `mvn` 3.8 (maven-deploy-plugin 3.0.0,
maven-dependency-plugin 3.5.0) and by hand-made HTTP requests, checked against the control plane.

References: repository-endpoints spec §2.3 (401 with a Basic challenge — what makes Maven retry
with its settings.xml credentials), §4.1 (status and visibility), §4.2 (immutability, multi-asset
versions), §7.1 (routes, path parsing), §7.2 (Unfinished → Published lifecycle), §7.3 (checksums),
§7.4 (generated artifact-level maven-metadata.xml), §7.5 (unique snapshots, build versions),
§7.6 (request sequences of real clients); control-plane spec §6.5–6.8 (package, version, asset
and dependency shapes), §8 (statuses); upstreams spec §7.2 (origin-control defaults), §9 (origin).

Scenarios: `deploy:deploy-file` of a release with a `sources` classifier and a POM carrying a
parent, description, URL, licence, SCM and dependencies of every kind, and of two SNAPSHOT builds;
`dependency:get` of the release, of the classifier artifact and of the SNAPSHOT, each from an empty
local repository; a consumer project resolving a version range and the latest SNAPSHOT that is then
compiled and run; the control-plane view of all of it; the HTTP protocol by hand (checksums,
lifecycle, immutability, metadata generation, snapshots, bad paths, methods, size limits,
truncated uploads); status changes, disposal, copy and deletion as Maven sees them.

Isolation and offline operation: see mavenkit.py (temporary HOME, generated settings.xml, empty
global settings, Debian's Maven repository as a file:// mirror, loopback URLs only).
"""

from __future__ import annotations

import re
import select
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, asset_hashes, basic, make_client, unique
from mavenkit import (
    Dep, MavenHttp, Mvn, artifact_metadata, compiled_classes, consumer_project, digest, gav_path,
    jar_bytes, parse_metadata, pom_xml, require_maven, run_java, run_java_source, snapshot_metadata,
    sources_jar_bytes,
)

GROUP = "com.example.e2e"
LIB = "hello-lib"
PARENT = "e2e-parent"
DESCRIPTION = "Hello library for the e2e suite: <greetings> & more"
HOME_PAGE = "https://example.org/hello-lib"
SCM_URL = "https://example.org/scm/hello-lib.git"
LICENSES = [("Apache-2.0", "https://example.org/licenses/apache-2.0.txt"),
            ("MIT", "https://example.org/licenses/mit.txt")]
LIB_DEPS = [
    Dep(GROUP, "dep-lib", "1.0"),                       # no scope → compile
    Dep(GROUP, "rt-lib", "1.0", scope="runtime"),
    Dep(GROUP, "opt-lib", "1.0", optional=True),
    Dep("junit", "junit", "4.13.2", scope="test"),
]
EXPECTED_LIB_DEPENDENCIES = {
    (GROUP, PARENT, "parent", "1.0"),
    (GROUP, "dep-lib", "compile", "1.0"),
    (GROUP, "rt-lib", "runtime", "1.0"),
    (GROUP, "opt-lib", "optional", "1.0"),
    ("junit", "junit", "test", "4.13.2"),
}
SNAP = "snap-lib"
SNAP_BASE = "1.1"
HELLO_CLASS = "com.example.e2e.hello.Hello"
SNAP_CLASS = "com.example.e2e.snap.Snap"
TIMESTAMPED = re.compile(r"^(\d+(?:\.\d+)*)-(\d{8}\.\d{6})-(\d+)$")


@pytest.fixture(scope="module", autouse=True)
def _maven_prerequisites():
    require_maven()


# --------------------------------------------------------------------------------------------
# One domain for the module: repositories `team` (deploy target) and `other` (copy target)
# --------------------------------------------------------------------------------------------


class Site:
    def __init__(self, server, ca, tmp: Path, repos=("team", "other")):
        self.server = server
        self.ca = ca
        self.tmp = tmp
        self.domain = ca.create_domain(domain=unique("mvn"))["domain"]["name"]
        for r in repos:
            ca.create_repository(domain=self.domain, repository=r)
        self.token = ca.get_authorization_token(domain=self.domain)["authorizationToken"]
        self._endpoints: dict[str, str] = {}

    def cleanup(self) -> None:
        try:
            for r in self.ca.list_repositories_in_domain(domain=self.domain)["repositories"]:
                self.ca.delete_repository(domain=self.domain, repository=r["name"])
            self.ca.delete_domain(domain=self.domain)
        except Exception:
            pass

    def endpoint(self, repo: str) -> str:
        if repo not in self._endpoints:
            url = self.ca.get_repository_endpoint(domain=self.domain, repository=repo,
                                                  format="maven")["repositoryEndpoint"]
            assert url == f"http://127.0.0.1:{self.server.port}/maven/d/{self.domain}-{ACCOUNT}/{repo}/", url
            self._endpoints[repo] = url
        return self._endpoints[repo]

    def http(self, repo: str = "team") -> MavenHttp:
        return MavenHttp(self.endpoint(repo), self.token)

    def mvn(self, repo: str, name: str) -> Mvn:
        work = self.tmp / f"mvn-{name}-{repo}"
        return Mvn(work, self.endpoint(repo), self.token, self.server.log)

    # control plane ------------------------------------------------------------------------
    def pkg(self, repo: str, name: str, namespace: str = GROUP) -> dict:
        return {"domain": self.domain, "repository": repo, "format": "maven", "namespace": namespace,
                "package": name}

    def versions(self, repo: str, name: str, namespace: str = GROUP) -> dict[str, dict] | None:
        try:
            out = self.ca.list_package_versions(**self.pkg(repo, name, namespace), maxResults=1000)
        except ClientError as e:
            assert e.response["Error"]["Code"] == "ResourceNotFoundException", e.response
            return None
        return {v["version"]: v for v in out["versions"]}

    def statuses(self, repo: str, name: str, namespace: str = GROUP) -> dict[str, str]:
        return {v: s["status"] for v, s in (self.versions(repo, name, namespace) or {}).items()}

    def describe(self, repo: str, name: str, version: str, namespace: str = GROUP) -> dict:
        return self.ca.describe_package_version(**self.pkg(repo, name, namespace),
                                                packageVersion=version)["packageVersion"]

    def assets(self, repo: str, name: str, version: str, namespace: str = GROUP) -> dict[str, dict]:
        out = self.ca.list_package_version_assets(**self.pkg(repo, name, namespace), packageVersion=version,
                                                  maxResults=1000)
        return {a["name"]: a for a in out["assets"]}

    def dependencies(self, repo: str, name: str, version: str, namespace: str = GROUP) -> set[tuple]:
        out = self.ca.list_package_version_dependencies(**self.pkg(repo, name, namespace), packageVersion=version)
        return {(d.get("namespace"), d["package"], d.get("dependencyType"), d.get("versionRequirement"))
                for d in out["dependencies"]}

    def set_status(self, repo: str, name: str, versions: list[str], status: str) -> None:
        out = self.ca.update_package_versions_status(**self.pkg(repo, name), versions=versions,
                                                     targetStatus=status)
        assert not out.get("failedVersions"), out
        assert set(out.get("successfulVersions", {})) == set(versions), out

    def state(self, repo: str = "team") -> dict:
        """Everything the repository stores for Maven: package → version → (status, assets)."""
        pkgs = self.ca.list_packages(domain=self.domain, repository=repo, format="maven",
                                     maxResults=1000)["packages"]
        out = {}
        for p in pkgs:
            key = (p.get("namespace"), p["package"])
            vs = {}
            for v, summary in (self.versions(repo, p["package"], p.get("namespace")) or {}).items():
                assets = self.assets(repo, p["package"], v, p.get("namespace")) \
                    if summary["status"] != "Disposed" else {}
                vs[v] = (summary["status"], tuple(sorted((a["name"], a.get("size"), a["hashes"]["SHA-256"])
                                                         for a in assets.values())))
            out[key] = vs
        return out


@pytest.fixture(scope="module")
def site(server, ca, tmp_path_factory):
    s = Site(server, ca, tmp_path_factory.mktemp("maven"))
    yield s
    s.cleanup()


def assert_assets(actual: dict[str, dict], expected: dict[str, bytes], where: str) -> None:
    """The version holds exactly `expected` (name → bytes) — plus, optionally, the uploaded
    `maven-metadata.xml` the service keeps as an asset (repository-endpoints §7.4)."""
    names = set(actual) - {"maven-metadata.xml"}
    assert names == set(expected), f"{where}: assets {sorted(actual)}, expected {sorted(expected)}"
    for name, data in expected.items():
        a = actual[name]
        assert a.get("size") == len(data), (where, name, a)
        assert a["hashes"] == asset_hashes(data), (where, name, a)


def ok(status: int) -> bool:
    return status in (200, 201)


# --------------------------------------------------------------------------------------------
# The artifacts, and what mvn deployed (module fixture)
# --------------------------------------------------------------------------------------------


@dataclass
class Published:
    files: dict[tuple[str, str], dict[str, bytes]] = field(default_factory=dict)  # (artifact, version) → files
    release_uploads: list[str] = field(default_factory=list)
    snapshot_uploads: list[list[str]] = field(default_factory=list)
    builds: list[str] = field(default_factory=list)  # build versions, oldest first
    build_jars: list[bytes] = field(default_factory=list)
    build_poms: list[bytes] = field(default_factory=list)
    lib_pom: bytes = b""


def _simple(artifact: str, version: str, classes: Path, fqcn: str, message: str,
            pom: bytes | None = None) -> dict[str, bytes]:
    return {f"{artifact}-{version}.pom": pom or pom_xml(GROUP, artifact, version),
            f"{artifact}-{version}.jar": jar_bytes(classes, fqcn, message)}


@pytest.fixture(scope="module")
def published(site: Site, tmp_path_factory) -> Published:
    """Publishes, in `team`:
    * by hand (what `mvn deploy` sends): e2e-parent 1.0 (POM only), dep-lib/rt-lib/opt-lib 1.0,
      hello-lib 1.5 and 2.0;
    * with `mvn deploy:deploy-file`: hello-lib 1.0 (jar + sources classifier + rich POM) and two
      builds of snap-lib 1.1-SNAPSHOT (Snap.main prints "build 1" / "build 2")."""
    work = tmp_path_factory.mktemp("artifacts")
    classes = compiled_classes(work)
    pub = Published()
    h = site.http("team")

    def raw(artifact: str, version: str, files: dict[str, bytes]) -> None:
        h.publish(GROUP, artifact, version, files)
        pub.files[(artifact, version)] = files

    raw(PARENT, "1.0", {f"{PARENT}-1.0.pom": pom_xml(GROUP, PARENT, "1.0", packaging="pom",
                                                       description="parent of hello-lib")})
    raw("dep-lib", "1.0", _simple("dep-lib", "1.0", classes, "com.example.e2e.dep.Dep", "dep 1.0"))
    raw("rt-lib", "1.0", _simple("rt-lib", "1.0", classes, "com.example.e2e.rt.Rt", "rt 1.0"))
    raw("opt-lib", "1.0", _simple("opt-lib", "1.0", classes, "com.example.e2e.opt.Opt", "opt 1.0"))

    # hello-lib 1.0 through mvn: main jar + -sources.jar + the rich POM (first deploy of the package).
    mvn = site.mvn("team", "deploy")
    jar = work / f"{LIB}-1.0.jar"
    jar.write_bytes(jar_bytes(classes, HELLO_CLASS, "hello 1.0"))
    src = work / f"{LIB}-1.0-sources.jar"
    src.write_bytes(sources_jar_bytes(HELLO_CLASS, "hello 1.0"))
    pom = work / "hello-lib-pom.xml"
    pub.lib_pom = pom_xml(GROUP, LIB, "1.0", description=DESCRIPTION, url=HOME_PAGE, licenses=LICENSES,
                          scm_url=SCM_URL, parent=(GROUP, PARENT, "1.0"), dependencies=LIB_DEPS)
    pom.write_bytes(pub.lib_pom)
    r = mvn.deploy_file(jar, pom_file=pom, extra=[(src, "sources", "jar")])
    pub.release_uploads = r.uploaded()
    pub.files[(LIB, "1.0")] = {f"{LIB}-1.0.jar": jar.read_bytes(), f"{LIB}-1.0-sources.jar": src.read_bytes(),
                               f"{LIB}-1.0.pom": pub.lib_pom}

    for v in ("1.5", "2.0"):
        raw(LIB, v, _simple(LIB, v, classes, HELLO_CLASS, f"hello {v}"))

    # Two SNAPSHOT builds through mvn (generated POM); the second reads the first's snapshot metadata.
    for n in (1, 2):
        build_jar = work / f"snap-build-{n}.jar"
        build_jar.write_bytes(jar_bytes(classes, SNAP_CLASS, f"build {n}"))
        r = mvn.deploy_file(build_jar, gav=(GROUP, SNAP, f"{SNAP_BASE}-SNAPSHOT"))
        uploads = r.uploaded()
        pub.snapshot_uploads.append(uploads)
        jars = [u for u in uploads if u.endswith(".jar")]
        assert len(jars) == 1, uploads
        m = re.search(rf"/{SNAP}-({re.escape(SNAP_BASE)}-\d{{8}}\.\d{{6}}-\d+)\.jar$", jars[0])
        assert m, jars[0]
        pub.builds.append(m.group(1))
        pub.build_jars.append(build_jar.read_bytes())
    return pub


# --------------------------------------------------------------------------------------------
# 1. deploy-file of a release with a classifier → control plane, checksums, metadata
# --------------------------------------------------------------------------------------------


def test_release_deploy_reaches_control_plane(site: Site, published: Published):
    base = site.endpoint("team") + gav_path(GROUP, LIB)
    # What mvn uploaded (checksum uploads are not logged as artifacts): files first, metadata last.
    assert published.release_uploads == [
        f"{base}/1.0/{LIB}-1.0.jar", f"{base}/1.0/{LIB}-1.0.pom", f"{base}/1.0/{LIB}-1.0-sources.jar",
        f"{base}/maven-metadata.xml"], published.release_uploads

    # ListPackages: namespace = groupId, package = artifactId; first publish → ALLOW/BLOCK.
    pkgs = site.ca.list_packages(domain=site.domain, repository="team", format="maven")["packages"]
    by_name = {(p.get("namespace"), p["package"]): p for p in pkgs}
    assert set(by_name) == {(GROUP, n) for n in (LIB, PARENT, "dep-lib", "rt-lib", "opt-lib", SNAP)}, pkgs
    for p in pkgs:
        assert p["format"] == "maven", p
        assert p["originConfiguration"]["restrictions"] == {"publish": "ALLOW", "upstream": "BLOCK"}, p
    desc_pkg = site.ca.describe_package(**site.pkg("team", LIB))["package"]
    assert desc_pkg["name"] == LIB and desc_pkg["namespace"] == GROUP and desc_pkg["format"] == "maven", desc_pkg

    versions = site.versions("team", LIB)
    assert {v: s["status"] for v, s in versions.items()} == {"1.0": "Published", "1.5": "Published",
                                                             "2.0": "Published"}, versions
    for v in versions.values():
        assert v["origin"] == {"domainEntryPoint": {"repositoryName": "team"}, "originType": "INTERNAL"}, v

    # DescribePackageVersion: POM fields (control-plane §6.6).
    desc = site.describe("team", LIB, "1.0")
    assert desc["format"] == "maven" and desc["namespace"] == GROUP, desc
    assert desc["packageName"] == LIB and desc["displayName"] == LIB and desc["version"] == "1.0", desc
    assert desc["status"] == "Published", desc
    assert desc.get("summary") == DESCRIPTION, desc
    assert desc.get("homePage") == HOME_PAGE, desc
    assert desc.get("sourceCodeRepository") == SCM_URL, desc
    assert [(lic.get("name"), lic.get("url")) for lic in desc.get("licenses", [])] == LICENSES, desc
    assert desc["origin"] == {"domainEntryPoint": {"repositoryName": "team"}, "originType": "INTERNAL"}, desc

    # Assets: the jar, the classifier jar and the POM, with the bytes mvn sent.
    files = published.files[(LIB, "1.0")]
    assert_assets(site.assets("team", LIB, "1.0"), files, "hello-lib 1.0")
    got = site.ca.get_package_version_asset(**site.pkg("team", LIB), packageVersion="1.0",
                                            asset=f"{LIB}-1.0-sources.jar")
    assert got["asset"].read() == files[f"{LIB}-1.0-sources.jar"]

    # Dependencies from the POM: scope as dependencyType, optional, parent.
    assert site.dependencies("team", LIB, "1.0") == EXPECTED_LIB_DEPENDENCIES
    assert site.dependencies("team", "dep-lib", "1.0") == set()

    # Downloads and server-computed checksums (GET and HEAD) for every file.
    h = site.http("team")
    for name, data in files.items():
        path = gav_path(GROUP, LIB, "1.0", name)
        r = h.get(path)
        assert r.status == 200 and r.body == data, (name, r)
        head = h.head(path)
        assert head.status == 200 and head.body == b"", (name, head)
        assert head.header("Content-Length") == str(len(data)), (name, head)
        for suffix in ("md5", "sha1", "sha256", "sha512"):
            r = h.get(f"{path}.{suffix}")
            assert r.status == 200, (name, suffix, r)
            assert r.body.decode().strip() == digest(data, suffix), (name, suffix, r)
            assert (r.header("Content-Type") or "").startswith("text/plain"), (name, suffix, r)
            head = h.head(f"{path}.{suffix}")
            assert head.status == 200 and head.body == b"", (name, suffix, head)

    # Generated artifact metadata (repository-endpoints §7.4): Maven order, latest/release.
    r = h.metadata(GROUP, LIB)
    assert r.status == 200, r
    md = parse_metadata(r.body)
    assert (md.group, md.artifact) == (GROUP, LIB), r.body
    assert md.versions == ["1.0", "1.5", "2.0"], r.body
    assert md.latest == "2.0" and md.release == "2.0", r.body
    assert md.last_updated and re.fullmatch(r"\d{14}", md.last_updated), r.body
    again = h.metadata(GROUP, LIB)
    assert again.body == r.body, "generated maven-metadata.xml is not byte-stable"
    for suffix in ("sha1", "md5"):
        c = h.get(gav_path(GROUP, LIB, None, f"maven-metadata.xml.{suffix}"))
        assert c.status == 200 and c.body.decode().strip() == digest(r.body, suffix), (suffix, c)


# --------------------------------------------------------------------------------------------
# 2. Two SNAPSHOT builds → build versions, snapshot metadata
# --------------------------------------------------------------------------------------------


def test_snapshot_deploys_reach_control_plane(site: Site, published: Published):
    b1, b2 = published.builds
    m1, m2 = TIMESTAMPED.match(b1), TIMESTAMPED.match(b2)
    assert m1 and m2 and m1.group(1) == m2.group(1) == SNAP_BASE, published.builds
    # the second deploy read the first build's snapshot metadata → build number 2 (§7.6)
    assert (m1.group(3), m2.group(3)) == ("1", "2"), published.builds
    base = site.endpoint("team") + gav_path(GROUP, SNAP)
    for uploads, build in zip(published.snapshot_uploads, published.builds):
        assert uploads == [f"{base}/{SNAP_BASE}-SNAPSHOT/{SNAP}-{build}.jar",
                           f"{base}/{SNAP_BASE}-SNAPSHOT/{SNAP}-{build}.pom",
                           f"{base}/{SNAP_BASE}-SNAPSHOT/maven-metadata.xml",
                           f"{base}/maven-metadata.xml"], uploads

    # n builds → n+1 versions: the SNAPSHOT Published, the builds Unlisted (§7.5).
    snapshot = f"{SNAP_BASE}-SNAPSHOT"
    assert site.statuses("team", SNAP) == {snapshot: "Published", b1: "Unlisted", b2: "Unlisted"}
    for v in (snapshot, b1, b2):
        d = site.describe("team", SNAP, v)
        assert d["origin"] == {"domainEntryPoint": {"repositoryName": "team"}, "originType": "INTERNAL"}, d
        assert d["packageName"] == SNAP and d["namespace"] == GROUP, d

    # 1.1-SNAPSHOT holds exactly the newest build's files; each build version its own.
    snap_assets = site.assets("team", SNAP, snapshot)
    b2_assets = site.assets("team", SNAP, b2)
    b1_assets = site.assets("team", SNAP, b1)
    jar2, pom2, jar1 = f"{SNAP}-{b2}.jar", f"{SNAP}-{b2}.pom", f"{SNAP}-{b1}.jar"
    assert set(snap_assets) - {"maven-metadata.xml"} == {jar2, pom2}, sorted(snap_assets)
    assert set(b2_assets) - {"maven-metadata.xml"} == {jar2, pom2}, sorted(b2_assets)
    assert set(b1_assets) - {"maven-metadata.xml"} == {jar1, f"{SNAP}-{b1}.pom"}, sorted(b1_assets)
    assert snap_assets[jar2]["hashes"] == b2_assets[jar2]["hashes"] == asset_hashes(published.build_jars[1])
    assert b1_assets[jar1]["hashes"] == asset_hashes(published.build_jars[0])

    h = site.http("team")
    # Artifact metadata lists the SNAPSHOT, never the build versions; no release exists.
    r = h.metadata(GROUP, SNAP)
    assert r.status == 200, r
    md = parse_metadata(r.body)
    assert md.versions == [snapshot] and md.latest == snapshot, r.body
    assert md.release is None, r.body

    # Snapshot metadata: the stored client document of the newest build; its checksums match.
    path = gav_path(GROUP, SNAP, snapshot, "maven-metadata.xml")
    r = h.get(path)
    assert r.status == 200, r
    smd = parse_metadata(r.body)
    assert smd.version == snapshot and (smd.group, smd.artifact) == (GROUP, SNAP), r.body
    assert smd.snapshot_build == "2" and smd.snapshot_timestamp == m2.group(2), r.body
    values = set(re.findall(rb"<value>([^<]+)</value>", r.body))
    assert values == {b2.encode()}, r.body
    for suffix in ("sha1", "md5"):
        c = h.get(f"{path}.{suffix}")
        assert c.status == 200 and c.body.decode().strip() == digest(r.body, suffix), (suffix, c)

    # Both builds' files download by their timestamped names (the older one is Unlisted).
    for build, data in zip(published.builds, published.build_jars):
        r = h.get(gav_path(GROUP, SNAP, snapshot, f"{SNAP}-{build}.jar"))
        assert r.status == 200 and r.body == data, (build, r)

    # Non-unique snapshot files are refused (Invalid name for a Snapshot) and nothing is stored.
    before = site.state("team")
    for name in (f"{SNAP}-{snapshot}.jar", f"{SNAP}-{snapshot}.pom"):
        r = h.put(gav_path(GROUP, SNAP, snapshot, name), b"non-unique snapshot")
        assert r.status == 400, (name, r)
    r = h.put(gav_path(GROUP, "never-lib", "2.0-SNAPSHOT", "never-lib-2.0-SNAPSHOT.jar"), b"non-unique")
    assert r.status == 400, r
    assert site.state("team") == before


# --------------------------------------------------------------------------------------------
# 3. dependency:get from empty local repositories
# --------------------------------------------------------------------------------------------


def test_dependency_get_release_classifier_and_snapshot(site: Site, published: Published, tmp_path):
    before = site.state("team")
    mvn = site.mvn("team", "get")

    # The release, transitively: its POM, the parent POM, compile/runtime/optional dependencies.
    mvn.fresh()
    mvn.get(f"{GROUP}:{LIB}:1.0")
    for name, data in published.files[(LIB, "1.0")].items():
        if name.endswith("-sources.jar"):
            assert not mvn.local_file(GROUP, LIB, "1.0", name).exists(), name
            continue
        assert mvn.local_file(GROUP, LIB, "1.0", name).read_bytes() == data, name
    assert mvn.local_file(GROUP, PARENT, "1.0", f"{PARENT}-1.0.pom").read_bytes() == \
        published.files[(PARENT, "1.0")][f"{PARENT}-1.0.pom"]
    for dep in ("dep-lib", "rt-lib", "opt-lib"):
        jar = f"{dep}-1.0.jar"
        assert mvn.local_file(GROUP, dep, "1.0", jar).read_bytes() == published.files[(dep, "1.0")][jar], dep
    # the server's .sha1 files were verified (checksumPolicy fail) and kept next to the files
    sha1 = mvn.local_file(GROUP, LIB, "1.0", f"{LIB}-1.0.jar.sha1").read_text().strip()
    assert sha1 == digest(published.files[(LIB, "1.0")][f"{LIB}-1.0.jar"], "sha1")
    out = run_java(tmp_path, [mvn.local_file(GROUP, LIB, "1.0", f"{LIB}-1.0.jar")], HELLO_CLASS)
    assert out.strip() == "hello 1.0", out

    # The classifier artifact.
    mvn.fresh()
    mvn.get(f"{GROUP}:{LIB}:1.0:jar:sources")
    name = f"{LIB}-1.0-sources.jar"
    assert mvn.local_file(GROUP, LIB, "1.0", name).read_bytes() == published.files[(LIB, "1.0")][name]

    # The SNAPSHOT: resolves to the newest build through the snapshot metadata.
    mvn.fresh()
    mvn.get(f"{GROUP}:{SNAP}:{SNAP_BASE}-SNAPSHOT")
    snapshot = f"{SNAP_BASE}-SNAPSHOT"
    local = mvn.local_file(GROUP, SNAP, snapshot, f"{SNAP}-{snapshot}.jar")
    assert local.read_bytes() == published.build_jars[1]
    assert mvn.local_file(GROUP, SNAP, snapshot, f"{SNAP}-{published.builds[1]}.jar").read_bytes() == \
        published.build_jars[1]
    out = run_java(tmp_path, [local], SNAP_CLASS)
    assert out.strip() == "build 2", out

    # Downloads of stored versions change nothing in the repository.
    assert site.state("team") == before


# --------------------------------------------------------------------------------------------
# 4. A consumer project: a version range and the latest SNAPSHOT, compiled and run
# --------------------------------------------------------------------------------------------

CONSUMER_MAIN = """\
package app;
public class Main {
  public static void main(String[] args) {
    System.out.println(com.example.e2e.hello.Hello.msg());
    System.out.println(com.example.e2e.snap.Snap.msg());
  }
}
"""


def test_consumer_resolves_range_and_latest_snapshot(site: Site, published: Published, tmp_path):
    mvn = site.mvn("team", "consumer")
    project = consumer_project(tmp_path / "consumer", [
        Dep(GROUP, LIB, "[1.0,2.0)"),              # 1.0, 1.5, 2.0 exist → 1.5
        Dep(GROUP, SNAP, f"{SNAP_BASE}-SNAPSHOT"),  # builds 1 and 2 → build 2
    ])
    mvn.fresh()
    _, classpath = mvn.build_classpath(project)
    names = sorted(p.name for p in classpath)
    assert f"{LIB}-1.5.jar" in names, names
    assert not any(n.startswith(f"{LIB}-1.0") or n.startswith(f"{LIB}-2.0") for n in names), names
    snap_jars = [p for p in classpath if p.name.startswith(SNAP)]
    assert len(snap_jars) == 1 and snap_jars[0].read_bytes() == published.build_jars[1], classpath
    hello = next(p for p in classpath if p.name == f"{LIB}-1.5.jar")
    assert hello.read_bytes() == published.files[(LIB, "1.5")][f"{LIB}-1.5.jar"]

    out = run_java_source(tmp_path, classpath, "app.Main", CONSUMER_MAIN)
    assert out.splitlines() == ["hello 1.5", "build 2"], out


# --------------------------------------------------------------------------------------------
# 5. The protocol by hand: authentication challenge
# --------------------------------------------------------------------------------------------


def test_anonymous_and_bad_credentials_get_basic_challenge(site: Site, published: Published):
    h = site.http("team")
    before = site.state("team")
    jar = gav_path(GROUP, LIB, "1.0", f"{LIB}-1.0.jar")
    cases = [
        ("GET", jar, None), ("HEAD", jar, None), ("GET", gav_path(GROUP, LIB, None, "maven-metadata.xml"), None),
        ("GET", gav_path(GROUP, SNAP, f"{SNAP_BASE}-SNAPSHOT", "maven-metadata.xml"), None),
        ("PUT", gav_path(GROUP, "anon-lib", "1.0", "anon-lib-1.0.jar"), b"anonymous"),
    ]
    for method, path, body in cases:
        for auth in (None, basic("not-a-token")):
            r = h.request(method, path, body, token=None, authorization=auth)
            assert r.status == 401, (method, path, auth, r)
            challenges = r.header_all("WWW-Authenticate")
            assert any(re.match(r"(?i)basic\s+realm=", c.strip()) for c in challenges), (method, path, challenges)
    assert site.state("team") == before


# --------------------------------------------------------------------------------------------
# 6. The protocol by hand: lifecycle, checksums, immutability
# --------------------------------------------------------------------------------------------


def test_upload_lifecycle_checksums_and_immutability(site: Site, tmp_path):
    h = site.http("team")
    art = "life-lib"
    jar_v = b"life-lib 1.0 jar\n" * 10
    pom_v = pom_xml(GROUP, art, "1.0", description="lifecycle")
    jar = gav_path(GROUP, art, "1.0", f"{art}-1.0.jar")
    pom = gav_path(GROUP, art, "1.0", f"{art}-1.0.pom")

    # A checksum before its file → 404, nothing created.
    r = h.put(jar + ".sha1", digest(jar_v, "sha1").encode())
    assert r.status == 404, r
    assert site.versions("team", art) is None

    # First PUT creates the version Unfinished; Unfinished files are not served (§7.2).
    assert ok(h.put(jar, jar_v).status)
    assert ok(h.put(pom, pom_v).status)
    assert site.statuses("team", art) == {"1.0": "Unfinished"}
    assert h.get(jar).status == 404
    assert h.head(jar).status == 404
    assert h.metadata(GROUP, art).status == 404  # no visible version
    assert_assets(site.assets("team", art, "1.0"), {f"{art}-1.0.jar": jar_v, f"{art}-1.0.pom": pom_v}, "unfinished")

    # Checksum PUTs: equal (all four algorithms) → 200; different → 400; comparison is case-sensitive.
    for suffix in ("md5", "sha1", "sha256", "sha512"):
        r = h.put(f"{jar}.{suffix}", digest(jar_v, suffix).encode())
        assert r.status == 200, (suffix, r)
    r = h.put(pom + ".sha1", digest(pom_v, "sha1").encode())
    assert r.status == 200, r
    # a trailing newline (as some tools write checksum files) is not part of the digest
    r = h.put(pom + ".md5", digest(pom_v, "md5").encode() + b"\n")
    assert r.status == 200, r

    # Identical re-PUT → success; different bytes → 409, the stored bytes stay.
    assert ok(h.put(jar, jar_v).status)
    r = h.put(jar, b"different bytes")
    assert r.status == 409, r
    assert site.assets("team", art, "1.0")[f"{art}-1.0.jar"]["hashes"] == asset_hashes(jar_v)

    # A second version with a checksum mismatch (upper-case hex) cannot be published.
    jar_w = b"life-lib 0.9 jar\n"
    bad = gav_path(GROUP, art, "0.9", f"{art}-0.9.jar")
    assert ok(h.put(bad, jar_w).status)
    r = h.put(bad + ".sha1", digest(jar_w, "sha1").upper().encode())
    assert r.status == 400, r
    r = h.put(bad + ".md5", b"0" * 32)
    assert r.status == 400, r
    r = h.put(gav_path(GROUP, art, None, "maven-metadata.xml"), artifact_metadata(GROUP, art, ["0.9"]))
    assert r.status == 400, r
    assert site.statuses("team", art) == {"0.9": "Unfinished", "1.0": "Unfinished"}

    # Malformed metadata → 400, nothing changes.
    before = site.state("team")
    for doc in (b"<metadata><versioning><versions><version>1.0</version>", b"not xml at all", b""):
        r = h.put(gav_path(GROUP, art, None, "maven-metadata.xml"), doc)
        assert r.status == 400, (doc, r)
    assert site.state("team") == before

    # The metadata PUT publishes the listed Unfinished version; its checksum PUTs are accepted
    # whatever they say (the served document differs from the uploaded one); a listed version
    # that does not exist is ignored.
    md = artifact_metadata(GROUP, art, ["1.0", "7.7"])
    r = h.put(gav_path(GROUP, art, None, "maven-metadata.xml"), md)
    assert ok(r.status), r
    for suffix in ("sha1", "md5"):
        r = h.put(gav_path(GROUP, art, None, f"maven-metadata.xml.{suffix}"), b"0123456789abcdef")
        assert ok(r.status), (suffix, r)
    assert site.statuses("team", art) == {"0.9": "Unfinished", "1.0": "Published"}
    r = h.get(jar)
    assert r.status == 200 and r.body == jar_v, r
    served = h.metadata_doc(GROUP, art)
    assert served.versions == ["1.0"] and served.release == "1.0" and served.latest == "1.0", served

    # Release immutability: still 409 once Published; new files may be added, served at once.
    r = h.put(jar, b"different bytes again")
    assert r.status == 409, r
    r = h.put(pom, pom_v + b"<!-- changed -->")
    assert r.status == 409, r
    javadoc_v = b"javadoc jar of life-lib 1.0\n"
    javadoc = gav_path(GROUP, art, "1.0", f"{art}-1.0-javadoc.jar")
    assert ok(h.put(javadoc, javadoc_v).status)
    r = h.get(javadoc)
    assert r.status == 200 and r.body == javadoc_v, r
    assert site.statuses("team", art)["1.0"] == "Published"
    assert_assets(site.assets("team", art, "1.0"),
                  {f"{art}-1.0.jar": jar_v, f"{art}-1.0.pom": pom_v, f"{art}-1.0-javadoc.jar": javadoc_v},
                  "after adding javadoc")

    # A mismatching checksum for a Published file: 400, the file stays downloadable, the server's
    # checksum is unchanged.
    r = h.put(jar + ".sha1", b"0" * 40)
    assert r.status == 400, r
    r = h.get(jar)
    assert r.status == 200 and r.body == jar_v, r
    assert h.get(jar + ".sha1").body.decode().strip() == digest(jar_v, "sha1")


# --------------------------------------------------------------------------------------------
# 7. Generated metadata: Maven version order, latest vs release, snapshots by hand
# --------------------------------------------------------------------------------------------


def test_generated_metadata_orders_versions_the_maven_way(site: Site):
    h = site.http("team")
    art = "order-lib"

    def files(v: str) -> dict[str, bytes]:
        return {f"{art}-{v}.pom": pom_xml(GROUP, art, v), f"{art}-{v}.jar": f"{art} {v}".encode()}

    # two versions published by one metadata document, others one by one, out of order
    for v in ("1.10", "1.9"):
        for name, data in files(v).items():
            assert ok(h.put(gav_path(GROUP, art, v, name), data).status)
    assert ok(h.put(gav_path(GROUP, art, None, "maven-metadata.xml"),
                    artifact_metadata(GROUP, art, ["1.9", "1.10"])).status)
    assert site.statuses("team", art) == {"1.9": "Published", "1.10": "Published"}
    for v in ("1.10.1", "1.0", "1.0-alpha-1"):
        h.publish(GROUP, art, v, files(v))

    # a SNAPSHOT published the way mvn does it (timestamped files, then snapshot metadata)
    ts = "20260102.030405"
    build = f"2.0-{ts}-1"
    snap_dir = "2.0-SNAPSHOT"
    for ext in ("jar", "pom"):
        assert ok(h.put(gav_path(GROUP, art, snap_dir, f"{art}-{build}.{ext}"), f"{art} {build} {ext}".encode()).status)
    assert site.statuses("team", art)[build] == "Unfinished"
    # the artifact-level GET that precedes the snapshot-metadata PUT tolerates the Unfinished build
    r = h.metadata(GROUP, art)
    assert r.status == 200 and build not in r.body.decode() and snap_dir not in r.body.decode(), r
    assert ok(h.put(gav_path(GROUP, art, snap_dir, "maven-metadata.xml"),
                    snapshot_metadata(GROUP, art, "2.0", ts, 1)).status)
    assert ok(h.put(gav_path(GROUP, art, None, "maven-metadata.xml"),
                    artifact_metadata(GROUP, art, ["1.10.1", snap_dir], release="1.10.1", latest=snap_dir)).status)
    assert site.statuses("team", art) == {v: "Published" for v in ("1.0-alpha-1", "1.0", "1.9", "1.10", "1.10.1",
                                                                   snap_dir)} | {build: "Unlisted"}

    r = h.metadata(GROUP, art)
    assert r.status == 200, r
    md = parse_metadata(r.body)
    assert md.versions == ["1.0-alpha-1", "1.0", "1.9", "1.10", "1.10.1", snap_dir], r.body
    assert md.latest == snap_dir and md.release == "1.10.1", r.body
    head = h.head(gav_path(GROUP, art, None, "maven-metadata.xml"))
    assert head.status == 200 and head.body == b"" and head.header("Content-Length") == str(len(r.body)), head
    r = h.get(gav_path(GROUP, art, snap_dir, f"{art}-{build}.jar"))
    assert r.status == 200 and r.body == f"{art} {build} jar".encode(), r


# --------------------------------------------------------------------------------------------
# 8. Bad paths and methods: the right status, nothing half-written
# --------------------------------------------------------------------------------------------

BAD_PATHS = [
    # (path relative to the endpoint, also tried with PUT)
    ("bad-lib/1.0/bad-lib-1.0.jar", True),                           # no groupId
    ("1.0/bad-lib-1.0.jar", True),                                   # too few segments
    ("bad-lib-1.0.jar", True),
    ("maven-metadata.xml", True),
    ("com/example/e2e/../bad-lib/1.0/bad-lib-1.0.jar", True),        # `..` segment
    ("com/example/e2e/bad-lib/../1.0/bad-lib-1.0.jar", True),
    ("com/example/e2e/bad-lib/1.0/..", True),
    ("com/example/e2e/bad%2Flib/1.0/bad-lib-1.0.jar", True),         # encoded `/`
    ("com/example/e2e/bad-lib/1.0/bad%2Flib-1.0.jar", True),
    ("com/example/e2e/bad-lib/1.0%2F/bad-lib-1.0.jar", True),
    ("com/example/e2e/bad%5Clib/1.0/bad-lib-1.0.jar", True),         # encoded `\`
    ("com/example/e2e/bad-lib/1.0/bad%5Clib-1.0.jar", True),
    ("com/example/e2e/bad-lib/1.0/", True),                          # directories
    ("com/example/e2e/bad-lib/", True),
    ("com/example/e2e/", False),
    ("com/example/maven-metadata.xml", False),                       # group-level metadata
]


def test_bad_paths_are_refused_and_store_nothing(site: Site, published: Published):
    h = site.http("team")
    before = site.state("team")
    for path, try_put in BAD_PATHS:
        for method in ("GET", "HEAD"):
            r = h.request(method, path)
            assert r.status == 404, (method, path, r)
        if try_put:
            r = h.put(path, b"payload of a bad path")
            assert r.status == 400, ("PUT", path, r)
            r = h.put(path + ".sha1", digest(b"payload of a bad path", "sha1").encode())
            assert r.status in (400, 404), ("PUT", path + ".sha1", r)
    assert site.state("team") == before

    # Other methods on real paths → 405, nothing removed or changed.
    jar = gav_path(GROUP, LIB, "1.0", f"{LIB}-1.0.jar")
    for method, path in (("DELETE", jar), ("POST", jar), ("PATCH", jar),
                         ("DELETE", gav_path(GROUP, LIB, None, "maven-metadata.xml")),
                         ("POST", gav_path(GROUP, "new-lib", "1.0", "new-lib-1.0.jar"))):
        r = h.request(method, path, b"x" if method != "DELETE" else None)
        assert r.status == 405, (method, path, r)
    assert site.state("team") == before
    assert h.get(jar).status == 200


# --------------------------------------------------------------------------------------------
# 9. Size limit and truncated uploads
# --------------------------------------------------------------------------------------------


def raw_put(host: str, port: int, target: str, headers: dict[str, str], body: bytes, *,
            declared: int | None = None, close_after_send: bool = False, timeout: float = 20) -> int | None:
    """PUT over a raw socket. Sends `body` in chunks (stopping when the server answers early or
    closes), declaring `declared` as Content-Length (default len(body)). With
    `close_after_send`, closes the socket right after sending (a truncated upload) and returns
    None; otherwise returns the response status (None when the connection was dropped with no
    answer)."""
    length = len(body) if declared is None else declared
    head = [f"PUT {target} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items()),
            f"Content-Length: {length}", "Connection: close", "", ""]
    sock = socket.create_connection((host, port), timeout=timeout)
    received = b""
    try:
        sock.sendall("\r\n".join(head).encode())
        view = memoryview(body)
        while view:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break  # the server answered before reading everything
            try:
                n = sock.send(view[:65536])
            except (BrokenPipeError, ConnectionResetError):
                break
            view = view[n:]
        if close_after_send:
            return None
        sock.settimeout(timeout)
        try:
            while b"\r\n" not in received:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
        except (ConnectionResetError, socket.timeout):
            pass
    finally:
        sock.close()
    m = re.match(rb"HTTP/1\.[01] (\d{3})", received)
    return int(m.group(1)) if m else None


def test_oversized_and_truncated_uploads_store_nothing(server_factory, tmp_path):
    srv = server_factory(extra_args=["--quota-asset-size-bytes", "1048576"])
    ca = make_client(srv.endpoint)
    domain = unique("mvnq")
    ca.create_domain(domain=domain)
    ca.create_repository(domain=domain, repository="team")
    token = ca.get_authorization_token(domain=domain)["authorizationToken"]
    base = f"/maven/d/{domain}-{ACCOUNT}/team/"
    headers = {"Host": srv.address, "Authorization": basic(token), "Content-Type": "application/octet-stream"}

    def stored() -> list:
        return ca.list_packages(domain=domain, repository="team", format="maven")["packages"]

    # 2 MiB against a 1 MiB asset quota → 413, nothing stored.
    target = base + gav_path(GROUP, "big-lib", "1.0", "big-lib-1.0.jar")
    status = raw_put(srv.host, srv.port, target, headers, b"\x00" * (2 * 1024 * 1024))
    assert status == 413, f"expected 413 for a 2 MiB asset, got {status}\n{srv.log()[-3000:]}"
    assert stored() == []

    # A truncated upload (Content-Length larger than what arrives, then the socket closes).
    target = base + gav_path(GROUP, "cut-lib", "1.0", "cut-lib-1.0.jar")
    full = b"0123456789abcdef" * 4096  # 64 KiB
    raw_put(srv.host, srv.port, target, headers, full[:10000], declared=len(full), close_after_send=True)
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        assert stored() == [], "a truncated upload was stored"
        time.sleep(0.2)
    mvn_http = MavenHttp(f"http://{srv.address}{base}", token)
    assert mvn_http.get(gav_path(GROUP, "cut-lib", "1.0", "cut-lib-1.0.jar")).status == 404

    # The server still works: the complete file (and one just under the limit) upload fine.
    status = raw_put(srv.host, srv.port, target, headers, full)
    assert status in (200, 201), status
    big_ok = b"\x01" * (512 * 1024)
    status = raw_put(srv.host, srv.port, base + gav_path(GROUP, "big-lib", "1.0", "big-lib-1.0.jar"), headers, big_ok)
    assert status in (200, 201), status
    pkgs = {p["package"] for p in stored()}
    assert pkgs == {"cut-lib", "big-lib"}, pkgs
    assets = ca.list_package_version_assets(domain=domain, repository="team", format="maven", namespace=GROUP,
                                            package="cut-lib", packageVersion="1.0")["assets"]
    assert [(a["name"], a["size"], a["hashes"]["SHA-256"]) for a in assets] == \
        [("cut-lib-1.0.jar", len(full), asset_hashes(full)["SHA-256"])], assets
    assets = ca.list_package_version_assets(domain=domain, repository="team", format="maven", namespace=GROUP,
                                            package="big-lib", packageVersion="1.0")["assets"]
    assert [(a["name"], a["size"]) for a in assets] == [("big-lib-1.0.jar", len(big_ok))], assets


# --------------------------------------------------------------------------------------------
# 10. Control-plane changes as Maven sees them
# --------------------------------------------------------------------------------------------


def test_status_changes_dispose_copy_and_delete_reach_maven(site: Site, tmp_path):
    h = site.http("team")
    art = "stat-lib"
    classes = compiled_classes(tmp_path)
    versions = ["1.0", "1.1", "1.2", "1.3", "1.4"]
    files = {v: {f"{art}-{v}.pom": pom_xml(GROUP, art, v),
                 f"{art}-{v}.jar": jar_bytes(classes, "com.example.e2e.stat.Stat", f"stat {v}")}
             for v in versions}
    for v in versions:
        h.publish(GROUP, art, v, files[v])
    assert h.metadata_doc(GROUP, art).versions == versions

    def jar(v: str) -> str:
        return gav_path(GROUP, art, v, f"{art}-{v}.jar")

    site.set_status("team", art, ["1.1"], "Unlisted")
    site.set_status("team", art, ["1.2", "1.4"], "Archived")
    out = site.ca.dispose_package_versions(**site.pkg("team", art), versions=["1.3"])
    assert set(out.get("successfulVersions", {})) == {"1.3"}, out
    assert site.statuses("team", art) == {"1.0": "Published", "1.1": "Unlisted", "1.2": "Archived",
                                          "1.3": "Disposed", "1.4": "Archived"}

    md = h.metadata_doc(GROUP, art)
    assert md.versions == ["1.0"] and md.latest == "1.0" and md.release == "1.0", md
    assert h.get(jar("1.0")).status == 200
    r = h.get(jar("1.1"))  # Unlisted: still downloadable by exact coordinates
    assert r.status == 200 and r.body == files["1.1"][f"{art}-1.1.jar"], r
    for v in ("1.2", "1.3", "1.4"):  # Archived, Disposed: gone
        assert h.get(jar(v)).status == 404, v
        assert h.get(jar(v) + ".sha1").status == 404, v

    # mvn resolves the range to the only listed version.
    mvn = site.mvn("team", "status")
    project = consumer_project(tmp_path / "consumer", [Dep(GROUP, art, "[1.0,2.0)")])
    mvn.fresh()
    _, classpath = mvn.build_classpath(project)
    assert [p.name for p in classpath] == [f"{art}-1.0.jar"], classpath

    # Back to Published → listed again.
    site.set_status("team", art, ["1.4"], "Published")
    assert h.metadata_doc(GROUP, art).versions == ["1.0", "1.4"]
    assert h.get(jar("1.4")).status == 200

    # CopyPackageVersions: resolvable from the other repository, origin unchanged.
    other = site.http("other")
    assert other.metadata(GROUP, art).status == 404
    out = site.ca.copy_package_versions(domain=site.domain, sourceRepository="team", destinationRepository="other",
                                        format="maven", namespace=GROUP, package=art, versions=["1.0"])
    assert set(out.get("successfulVersions", {})) == {"1.0"}, out
    assert other.metadata_doc(GROUP, art).versions == ["1.0"]
    r = other.get(jar("1.0"))
    assert r.status == 200 and r.body == files["1.0"][f"{art}-1.0.jar"], r
    assert other.get(jar("1.0") + ".sha1").body.decode().strip() == digest(files["1.0"][f"{art}-1.0.jar"], "sha1")
    d = site.describe("other", art, "1.0")
    assert d["origin"] == {"domainEntryPoint": {"repositoryName": "team"}, "originType": "INTERNAL"}, d

    # DeletePackageVersions: the version may be deployed again, with other bytes.
    out = site.ca.delete_package_versions(**site.pkg("team", art), versions=["1.0"])
    assert set(out.get("successfulVersions", {})) == {"1.0"}, out
    assert h.get(jar("1.0")).status == 404
    assert "1.0" not in h.metadata_doc(GROUP, art).versions
    new = {f"{art}-1.0.pom": pom_xml(GROUP, art, "1.0", description="redeployed"),
           f"{art}-1.0.jar": jar_bytes(classes, "com.example.e2e.stat.Stat", "stat 1.0 redeployed")}
    h.publish(GROUP, art, "1.0", new)
    assert site.statuses("team", art)["1.0"] == "Published"
    r = h.get(jar("1.0"))
    assert r.status == 200 and r.body == new[f"{art}-1.0.jar"], r
    assert site.describe("team", art, "1.0").get("summary") == "redeployed"
    # the copy in `other` is its own record and keeps the old bytes
    assert other.get(jar("1.0")).body == files["1.0"][f"{art}-1.0.jar"]
