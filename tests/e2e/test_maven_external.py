"""Maven through upstream repositories and the external connection `public:maven-central`, end to
end, with the real `mvn` 3.8 and raw HTTP.

The "public Maven repository" is a second codeartifact-local process started by this module: a
domain/repository there is filled by hand-made PUTs (files, then `maven-metadata.xml`, as
`mvn deploy` sends them), and the server under test is started with
`--external-connection public:maven-central=http://aws:TOKEN@127.0.0.1:PORT/maven/d/pub-…/maven/`
(the user-info becomes Basic credentials), so the public repository's layout is
`{URL}{group path}/{artifact}/…`.

References: upstreams spec §3 (search order), §4 (retention: the repository asked and the
connection repository, never intermediates; listing retains nothing), §5.2 (snapshots are never
imported), §5.3 (Maven asset discovery: the standard set on first import, other names added on
first request), §6.3 (Maven metadata merge), §7 (origin controls and their defaults), §8 (publish
conflicts), §9 (origin); repository-endpoints spec §7 (Maven routes), §7.7.

Isolation: see mavenkit.py (temporary HOME, generated settings.xml with only loopback and
`file:///usr/share/maven-repo` URLs, empty global settings).
"""

from __future__ import annotations

import time

import pytest

import externalkit
from conftest import ACCOUNT, asset_hashes, make_client, unique
from externalkit import (PublicSide, connection_args, external_origin, internal_origin,
                         public_server)
from externalkit import server  # noqa: F401 (the server under test, connected to `public`)
from mavenkit import (
    Dep, MavenHttp, Mvn, compiled_classes, consumer_project, digest, gav_path, jar_bytes,
    parse_metadata, pom_xml, require_maven, run_java, run_java_source, snapshot_metadata, sources_jar_bytes,
)

CONNECTION = "public:maven-central"
PUBLIC_REPO = "maven"
EXT_GROUP = "org.example.ext"
EXT = "ext-lib"
EXT_CLASS = "org.example.ext.Ext"
INT_GROUP = "com.example.internal"
INT = "int-lib"
INT_CLASS = "com.example.internal.Internal"
INT_PKG = f"{INT_GROUP}:{INT}"  # as the control-plane helpers name it
SNAP_BUILD = "1.0-20260103.040506-1"


@pytest.fixture(scope="module", autouse=True)
def _maven_prerequisites():
    require_maven()


# --------------------------------------------------------------------------------------------
# The "public Maven repository" and the server under test
# --------------------------------------------------------------------------------------------


class MavenNames:
    """Control-plane calls name a package `group:artifact` (default group: EXT_GROUP)."""

    def coordinates(self, name: str) -> dict[str, str]:
        group, _, artifact = name.rpartition(":")
        return {"namespace": group or EXT_GROUP, "package": artifact}


class PublicRepo(MavenNames, PublicSide):
    files: dict[tuple[str, str], dict[str, bytes]]  # (artifact, version) → file name → bytes

    def standard(self, artifact: str, version: str) -> dict[str, bytes]:
        """The files the service imports on first request (upstreams §5.3)."""
        names = {f"{artifact}-{version}{s}" for s in (".pom", ".jar", "-sources.jar", "-javadoc.jar")}
        return {n: d for n, d in self.files[(artifact, version)].items() if n in names}


@pytest.fixture(scope="module")
def public(tmp_path_factory: pytest.TempPathFactory, _isolated_aws_env) -> PublicRepo:
    """The public Maven repository, filled by hand-made PUTs (and one SNAPSHOT)."""
    with public_server(tmp_path_factory, "maven", PUBLIC_REPO, PublicRepo) as pub:
        h = MavenHttp(pub.endpoint, pub.token)
        classes = compiled_classes(tmp_path_factory.mktemp("public-maven-classes"))
        files = pub.files = {}

        def publish(artifact: str, version: str, extra: tuple[str, ...] = ()) -> None:
            fs = {f"{artifact}-{version}.pom": pom_xml(EXT_GROUP, artifact, version,
                                                       description=f"{artifact} {version} (public)"),
                  f"{artifact}-{version}.jar": jar_bytes(classes, EXT_CLASS, f"ext {artifact} {version}")}
            for classifier in extra:
                fs[f"{artifact}-{version}-{classifier}.jar"] = (
                    sources_jar_bytes(EXT_CLASS, f"{artifact} {version}") if classifier == "sources"
                    else f"{classifier} jar of {artifact} {version}\n".encode())
            h.publish(EXT_GROUP, artifact, version, fs)
            files[(artifact, version)] = fs

        publish(EXT, "1.0", ("sources", "javadoc", "linux"))
        publish(EXT, "2.0")
        publish("ext-other", "1.0", ("sources",))
        publish("ext-conf", "5.0")
        # a SNAPSHOT in the public repository: must never come through the connection
        snap = {f"ext-snap-{SNAP_BUILD}.jar": jar_bytes(classes, EXT_CLASS, "ext snapshot"),
                f"ext-snap-{SNAP_BUILD}.pom": pom_xml(EXT_GROUP, "ext-snap", "1.0-SNAPSHOT")}
        for name, data in snap.items():
            h.put_ok(gav_path(EXT_GROUP, "ext-snap", "1.0-SNAPSHOT", name), data)
        h.put_ok(gav_path(EXT_GROUP, "ext-snap", "1.0-SNAPSHOT", "maven-metadata.xml"),
                 snapshot_metadata(EXT_GROUP, "ext-snap", "1.0", SNAP_BUILD.split("-")[1], 1))
        files[("ext-snap", SNAP_BUILD)] = snap

        # The public repository answers what the adapter will read.
        md = h.metadata_doc(EXT_GROUP, EXT)
        assert md.versions == ["1.0", "2.0"], md
        r = h.get(gav_path(EXT_GROUP, "ext-snap", "1.0-SNAPSHOT", f"ext-snap-{SNAP_BUILD}.jar"))
        assert r.status == 200, r
        yield pub


class Chain(MavenNames, externalkit.Chain):
    """externalkit's chain, repo-c holding `public:maven-central`; packages are named
    `group:artifact`, or `artifact` in EXT_GROUP."""

    CONNECTION = CONNECTION
    FORMAT = "maven"
    PREFIX = "mvnext"

    def http(self, repo: str) -> MavenHttp:
        return MavenHttp(self.endpoint(repo), self.token)

    def mvn(self, repo: str, name: str) -> Mvn:
        return Mvn(self.tmp / f"mvn-{name}-{repo}", self.endpoint(repo), self.token, self.srv.log)


def assert_asset_set(actual: dict[str, dict], expected: dict[str, bytes], where: str) -> None:
    names = set(actual) - {"maven-metadata.xml"}
    assert names == set(expected), f"{where}: assets {sorted(actual)}, expected {sorted(expected)}"
    for name, data in expected.items():
        assert actual[name]["hashes"] == asset_hashes(data), (where, name)


EXTERNAL = external_origin(CONNECTION)

CONSUMER_MAIN = """\
package app;
public class Main {
  public static void main(String[] args) { System.out.println(org.example.ext.Ext.msg()); }
}
"""


# --------------------------------------------------------------------------------------------
# 1. A → B → C(public:maven-central): merged metadata, mvn downloads, retention, origin
# --------------------------------------------------------------------------------------------


def test_chain_merges_public_metadata_and_retains_downloads_in_requester_and_store(
        server, ca, track, tmp_path, public: PublicRepo):
    chain = Chain(server, ca, track, tmp_path)
    a = chain.http("repo-a")

    # A's generated metadata lists the public versions before anything was fetched (§6.3) …
    r = a.metadata(EXT_GROUP, EXT)
    assert r.status == 200, r
    md = parse_metadata(r.body)
    assert (md.group, md.artifact) == (EXT_GROUP, EXT), r.body
    assert md.versions == ["1.0", "2.0"] and md.latest == "2.0" and md.release == "2.0", r.body
    for suffix in ("sha1", "md5"):
        c = a.get(gav_path(EXT_GROUP, EXT, None, f"maven-metadata.xml.{suffix}"))
        assert c.status == 200 and c.body.decode().strip() == digest(r.body, suffix), (suffix, c)
    assert f"127.0.0.1:{public.srv.port}" not in r.body.decode()
    # … and listing retains nothing anywhere (§4.2).
    for repo in ("repo-a", "repo-b", "repo-c"):
        assert chain.stored(repo, EXT) == {}, f"listing retained {EXT} in {repo}"

    # mvn dependency:get 1.0 through A from an empty local repository: the public bytes.
    mvn = chain.mvn("repo-a", "get")
    mvn.fresh()
    mvn.get(f"{EXT_GROUP}:{EXT}:1.0")
    published = public.files[(EXT, "1.0")]
    for name in (f"{EXT}-1.0.jar", f"{EXT}-1.0.pom"):
        assert mvn.local_file(EXT_GROUP, EXT, "1.0", name).read_bytes() == published[name], name
    out = run_java(tmp_path, [mvn.local_file(EXT_GROUP, EXT, "1.0", f"{EXT}-1.0.jar")], EXT_CLASS)
    assert out.strip() == f"ext {EXT} 1.0", out

    # Retained in A (requester) and C (connection), not in B; origin EXTERNAL (§4.1, §9).
    chain.assert_retained("repo-a", EXT, ["1.0"], EXTERNAL)
    chain.assert_retained("repo-c", EXT, ["1.0"], EXTERNAL)
    assert chain.stored("repo-b", EXT) == {}, "the intermediate repository B gained a record"
    assert chain.restrictions("repo-b", EXT) is None
    # The standard asset set that exists upstream, not the non-standard `-linux.jar` (§5.3).
    standard = public.standard(EXT, "1.0")
    assert sorted(standard) == sorted([f"{EXT}-1.0.pom", f"{EXT}-1.0.jar", f"{EXT}-1.0-sources.jar",
                                       f"{EXT}-1.0-javadoc.jar"])
    for repo in ("repo-a", "repo-c"):
        assert_asset_set(chain.assets(repo, EXT, "1.0"), standard, repo)
        assert chain.restrictions(repo, EXT) == {"publish": "BLOCK", "upstream": "ALLOW"}, repo
        d = chain.ca.describe_package_version(**chain.pkg(repo, EXT), packageVersion="1.0")["packageVersion"]
        assert d["origin"] == EXTERNAL and d.get("summary") == f"{EXT} 1.0 (public)", (repo, d)
    # The sources jar mvn never asked for is served from A.
    r = a.get(gav_path(EXT_GROUP, EXT, "1.0", f"{EXT}-1.0-sources.jar"))
    assert r.status == 200 and r.body == published[f"{EXT}-1.0-sources.jar"], r

    # A non-standard file is imported on first request and added to the version in A and C.
    linux = f"{EXT}-1.0-linux.jar"
    r = a.get(gav_path(EXT_GROUP, EXT, "1.0", linux))
    assert r.status == 200 and r.body == published[linux], r
    r = a.get(gav_path(EXT_GROUP, EXT, "1.0", linux + ".sha1"))
    assert r.status == 200 and r.body.decode().strip() == digest(published[linux], "sha1"), r
    for repo in ("repo-a", "repo-c"):
        assert_asset_set(chain.assets(repo, EXT, "1.0"), {**standard, linux: published[linux]}, repo)
        chain.assert_retained(repo, EXT, ["1.0"], EXTERNAL)
    assert chain.stored("repo-b", EXT) == {}
    # a file that exists nowhere is 404 and adds nothing
    assert a.get(gav_path(EXT_GROUP, EXT, "1.0", f"{EXT}-1.0-absent.jar")).status == 404
    assert_asset_set(chain.assets("repo-a", EXT, "1.0"), {**standard, linux: published[linux]}, "repo-a")

    # A direct deploy of that version to A is refused (publish=BLOCK, version upstream): 409,
    # with mvn and by hand; nothing changes.
    work = tmp_path / "deploy"
    work.mkdir()
    jar = work / f"{EXT}-1.0.jar"
    jar.write_bytes(b"not the public jar")
    deploy = chain.mvn("repo-a", "deploy")
    res = deploy.deploy_file(jar, gav=(EXT_GROUP, EXT, "1.0"), check=False)
    assert res.rc != 0, res.output[-3000:]
    assert "409" in res.output, res.output[-3000:]
    for path, body in ((gav_path(EXT_GROUP, EXT, "1.0", f"{EXT}-1.0-extra.jar"), b"extra"),
                       (gav_path(EXT_GROUP, EXT, "1.0", f"{EXT}-1.0.jar"), b"other bytes"),
                       (gav_path(EXT_GROUP, EXT, "7.0", f"{EXT}-7.0.jar"), b"a new version")):
        r = a.put(path, body)
        assert r.status == 409, (path, r)
    chain.assert_retained("repo-a", EXT, ["1.0"], EXTERNAL)
    assert_asset_set(chain.assets("repo-a", EXT, "1.0"), {**standard, linux: published[linux]}, "repo-a")

    # A consumer with a range resolves the other public version through A, which is retained too.
    project = consumer_project(tmp_path / "consumer", [Dep(EXT_GROUP, EXT, "[1.0,2.5)")])
    mvn.fresh()
    _, classpath = mvn.build_classpath(project)
    assert [p.name for p in classpath] == [f"{EXT}-2.0.jar"], classpath
    assert classpath[0].read_bytes() == public.files[(EXT, "2.0")][f"{EXT}-2.0.jar"]
    out = run_java_source(tmp_path, classpath, "app.Main", CONSUMER_MAIN)
    assert out.strip() == f"ext {EXT} 2.0", out
    chain.assert_retained("repo-a", EXT, ["1.0", "2.0"], EXTERNAL)
    chain.assert_retained("repo-c", EXT, ["1.0", "2.0"], EXTERNAL)
    assert chain.stored("repo-b", EXT) == {}
    md = a.metadata_doc(EXT_GROUP, EXT)
    assert md.versions == ["1.0", "2.0"], md


# --------------------------------------------------------------------------------------------
# 2. Asking B: retained in B and C, not A
# --------------------------------------------------------------------------------------------


def test_request_through_b_retains_in_b_and_store_only(server, ca, track, tmp_path, public: PublicRepo):
    chain = Chain(server, ca, track, tmp_path)
    b = chain.http("repo-b")
    name = "ext-other"
    published = public.files[(name, "1.0")]
    r = b.get(gav_path(EXT_GROUP, name, "1.0", f"{name}-1.0.pom"))
    assert r.status == 200 and r.body == published[f"{name}-1.0.pom"], r
    chain.assert_retained("repo-b", name, ["1.0"], EXTERNAL)
    chain.assert_retained("repo-c", name, ["1.0"], EXTERNAL)
    assert chain.stored("repo-a", name) == {}
    for repo in ("repo-b", "repo-c"):
        assert_asset_set(chain.assets(repo, name, "1.0"), public.standard(name, "1.0"), repo)
    # A now finds it in B (stored there): served, and retained in A as a copy with the same origin.
    a = chain.http("repo-a")
    r = a.get(gav_path(EXT_GROUP, name, "1.0", f"{name}-1.0.jar"))
    assert r.status == 200 and r.body == published[f"{name}-1.0.jar"], r
    chain.assert_retained("repo-a", name, ["1.0"], EXTERNAL)


def test_a_file_imported_late_is_kept_where_a_fetch_retains_only(server, ca, track, tmp_path,
                                                                 public: PublicRepo):
    """A file the import did not bring (a classifier) is fetched on its first request and added
    to the version in the repository asked and in the one owning the connection, never in a
    repository between them that also holds the version (upstreams spec §4)."""
    chain = Chain(server, ca, track, tmp_path)
    linux = f"{EXT}-1.0-linux.jar"
    for repo in ("repo-b", "repo-a"):  # the version is now stored in A, B and C
        r = chain.http(repo).get(gav_path(EXT_GROUP, EXT, "1.0", f"{EXT}-1.0.pom"))
        assert r.status == 200, (repo, r)
    for repo in ("repo-a", "repo-b", "repo-c"):
        assert linux not in chain.assets(repo, EXT, "1.0"), repo
    r = chain.http("repo-a").get(gav_path(EXT_GROUP, EXT, "1.0", linux))
    assert r.status == 200 and r.body == public.files[(EXT, "1.0")][linux], r
    assert linux in chain.assets("repo-a", EXT, "1.0")
    assert linux in chain.assets("repo-c", EXT, "1.0")
    assert linux not in chain.assets("repo-b", EXT, "1.0")


# --------------------------------------------------------------------------------------------
# 3. Snapshots never come through the external connection
# --------------------------------------------------------------------------------------------


def test_snapshots_are_never_fetched_through_the_connection(server, ca, track, tmp_path, public: PublicRepo):
    chain = Chain(server, ca, track, tmp_path)
    for repo in ("repo-a", "repo-c"):
        h = chain.http(repo)
        for path in (gav_path(EXT_GROUP, "ext-snap", "1.0-SNAPSHOT", "maven-metadata.xml"),
                     gav_path(EXT_GROUP, "ext-snap", "1.0-SNAPSHOT", f"ext-snap-{SNAP_BUILD}.jar"),
                     gav_path(EXT_GROUP, "ext-snap", "1.0-SNAPSHOT", f"ext-snap-{SNAP_BUILD}.pom")):
            r = h.get(path)
            assert r.status == 404, (repo, path, r)
    for repo in ("repo-a", "repo-b", "repo-c"):
        assert chain.stored(repo, "ext-snap") == {}, repo
    # mvn agrees: the SNAPSHOT cannot be resolved through A
    mvn = chain.mvn("repo-a", "snap")
    mvn.fresh()
    res = mvn.get(f"{EXT_GROUP}:ext-snap:1.0-SNAPSHOT", check=False)
    assert res.rc != 0, res.output[-3000:]
    assert not mvn.local_file(EXT_GROUP, "ext-snap", "1.0-SNAPSHOT", "ext-snap-1.0-SNAPSHOT.jar").exists()
    for repo in ("repo-a", "repo-b", "repo-c"):
        assert chain.stored(repo, "ext-snap") == {}, repo


# --------------------------------------------------------------------------------------------
# 4. Internal upstream: a version published in B is served through A and retained in A only
# --------------------------------------------------------------------------------------------


def test_internal_upstream_version_is_served_and_retained_in_requester(server, ca, track, tmp_path):
    chain = Chain(server, ca, track, tmp_path)
    classes = compiled_classes(tmp_path)
    work = tmp_path / "int"
    work.mkdir()
    # published into B with mvn (1.0) and by hand (1.1)
    jar = work / f"{INT}-1.0.jar"
    jar.write_bytes(jar_bytes(classes, INT_CLASS, "internal 1.0"))
    pom = work / "pom.xml"
    pom.write_bytes(pom_xml(INT_GROUP, INT, "1.0", description="internal library"))
    chain.mvn("repo-b", "deploy").deploy_file(jar, pom_file=pom)
    files_11 = {f"{INT}-1.1.pom": pom_xml(INT_GROUP, INT, "1.1"),
                f"{INT}-1.1.jar": jar_bytes(classes, INT_CLASS, "internal 1.1")}
    chain.http("repo-b").publish(INT_GROUP, INT, "1.1", files_11)
    in_b = internal_origin("repo-b")
    chain.assert_retained("repo-b", INT_PKG, ["1.0", "1.1"], in_b)
    assert chain.restrictions("repo-b", INT_PKG) == {"publish": "ALLOW", "upstream": "BLOCK"}

    a = chain.http("repo-a")
    md = a.metadata_doc(INT_GROUP, INT)
    assert md.versions == ["1.0", "1.1"] and md.release == "1.1", md
    assert chain.stored("repo-a", INT_PKG) == {}

    mvn = chain.mvn("repo-a", "get")
    mvn.fresh()
    mvn.get(f"{INT_GROUP}:{INT}:1.0")
    local = mvn.local_file(INT_GROUP, INT, "1.0", f"{INT}-1.0.jar")
    assert local.read_bytes() == jar.read_bytes()
    assert run_java(tmp_path, [local], INT_CLASS).strip() == "internal 1.0"

    # retained in A with B's origin; B unchanged; C never involved
    chain.assert_retained("repo-a", INT_PKG, ["1.0"], in_b)
    chain.assert_retained("repo-b", INT_PKG, ["1.0", "1.1"], in_b)
    assert chain.stored("repo-c", INT_PKG) == {}
    assert_asset_set(chain.assets("repo-a", INT_PKG, "1.0"),
                     {f"{INT}-1.0.jar": jar.read_bytes(), f"{INT}-1.0.pom": pom.read_bytes()}, "repo-a")
    assert chain.restrictions("repo-a", INT_PKG) == {"publish": "BLOCK", "upstream": "ALLOW"}
    # publishing into A is refused now (the version is upstream; publish=BLOCK for any version)
    for v in ("1.0", "1.2"):
        r = a.put(gav_path(INT_GROUP, INT, v, f"{INT}-{v}.jar"), b"shadow")
        assert r.status == 409, (v, r)
    assert sorted(chain.stored("repo-a", INT_PKG)) == ["1.0"]


# --------------------------------------------------------------------------------------------
# 5. Dependency confusion: a package first published in A never shows the public versions
# --------------------------------------------------------------------------------------------


def test_internal_package_hides_public_versions(server, ca, track, tmp_path, public: PublicRepo):
    chain = Chain(server, ca, track, tmp_path)
    a = chain.http("repo-a")
    name = "ext-conf"
    a.publish(EXT_GROUP, name, "0.1", {f"{name}-0.1.pom": pom_xml(EXT_GROUP, name, "0.1"),
                                       f"{name}-0.1.jar": b"internal ext-conf 0.1"})
    assert chain.restrictions("repo-a", name) == {"publish": "ALLOW", "upstream": "BLOCK"}
    md = a.metadata_doc(EXT_GROUP, name)
    assert md.versions == ["0.1"] and md.release == "0.1", md  # public 5.0 is invisible
    assert a.get(gav_path(EXT_GROUP, name, "5.0", f"{name}-5.0.jar")).status == 404
    for repo in ("repo-a", "repo-b", "repo-c"):
        assert "5.0" not in chain.stored(repo, name), repo
    # a client of C (the connection repository) still sees the public version
    c = chain.http("repo-c")
    md = c.metadata_doc(EXT_GROUP, name)
    assert md.versions == ["5.0"], md


# --------------------------------------------------------------------------------------------
# 6. The public metadata cache (upstreams §5.1): reused for the TTL, stale while unreachable
# --------------------------------------------------------------------------------------------


def test_a_checksum_of_metadata_follows_the_public_metadata_with_a_ttl_of_0(
        server, ca, track, tmp_path, public: PublicRepo):
    """With the default TTL of 0, `maven-metadata.xml.sha1` (a page made from the page of
    the document) is kept only while the public document is unchanged: asked for first
    after a public release, it is already the checksum of the new document."""
    chain = Chain(server, ca, track, tmp_path)
    a = chain.http("repo-a")
    pub_http = MavenHttp(public.endpoint, public.token)
    artifact = f"ext-sum-{chain.domain}"
    path = gav_path(EXT_GROUP, artifact, None, "maven-metadata.xml")

    def checksum_then_document() -> tuple[str, bytes]:
        s = a.get(path + ".sha1")
        d = a.get(path)
        assert s.status == 200 and d.status == 200, (s, d)
        return s.body.decode().strip(), d.body

    pom = lambda v: {f"{artifact}-{v}.pom": pom_xml(EXT_GROUP, artifact, v)}  # noqa: E731
    pub_http.publish(EXT_GROUP, artifact, "1.0", pom("1.0"))
    # The document first: the checksum page is then made from a kept document page.
    doc = a.get(path).body
    first = a.get(path + ".sha1").body.decode().strip()
    assert first == digest(doc, "sha1")
    assert checksum_then_document() == (first, doc), "unchanged: the same checksum"
    pub_http.publish(EXT_GROUP, artifact, "2.0", pom("2.0"), metadata_versions=["1.0", "2.0"])
    second, doc = checksum_then_document()
    assert b"<version>2.0</version>" in doc, doc
    assert second == digest(doc, "sha1") != first, "the checksum of the new document"


def test_public_metadata_is_cached_for_the_ttl_and_outlives_an_outage(server_factory, tmp_path, _isolated_aws_env):
    public = server_factory()
    pub = PublicSide(public, "maven", PUBLIC_REPO)
    pub_http = MavenHttp(pub.endpoint, pub.token)
    pom = lambda v: {f"cached-{v}.pom": pom_xml(EXT_GROUP, "cached", v)}  # noqa: E731
    pub_http.publish(EXT_GROUP, "cached", "1.0", pom("1.0"))
    ttl = 2
    srv = server_factory(extra_args=connection_args(CONNECTION, pub.url, "--upstream-metadata-ttl-seconds", str(ttl)))
    ca = make_client(srv.endpoint)
    domain = unique("mvncache")
    ca.create_domain(domain=domain)
    ca.create_repository(domain=domain, repository="repo-c")
    ca.associate_external_connection(domain=domain, repository="repo-c", externalConnection=CONNECTION)
    token = ca.get_authorization_token(domain=domain)["authorizationToken"]
    http = MavenHttp(f"{srv.endpoint}/maven/d/{domain}-{ACCOUNT}/repo-c/", token)

    assert http.metadata_doc(EXT_GROUP, "cached").versions == ["1.0"]
    pub_http.publish(EXT_GROUP, "cached", "2.0", pom("2.0"), metadata_versions=["1.0", "2.0"])
    assert pub_http.metadata_doc(EXT_GROUP, "cached").versions == ["1.0", "2.0"]
    assert http.metadata_doc(EXT_GROUP, "cached").versions == ["1.0"], "within the TTL the cached listing answers"
    time.sleep(ttl + 0.5)
    assert http.metadata_doc(EXT_GROUP, "cached").versions == ["1.0", "2.0"], "after the TTL it is fetched again"
    public.kill()
    time.sleep(ttl + 0.5)
    assert http.metadata_doc(EXT_GROUP, "cached").versions == ["1.0", "2.0"], \
        "while the public repository is unreachable the expired listing still answers"
