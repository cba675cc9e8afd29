"""The Swift package registry endpoint driven the way SwiftPM drives it: `swiftkit`'s
`SwiftPackageRegistryClient` sends what `swift package-registry login`, `swift
package-registry publish` and `swift package resolve` send (each step cites its source in
swift-package-manager), against source archives built here with the tools SwiftPM runs
(`git archive`, `zip -ry`), checked against the control plane.

References: repository-endpoints spec §2.2 (Bearer from the netrc `login token` entry,
Basic `aws:TOKEN`), §3.5 (`aws codeartifact login --tool swift`), §4 (publishing rules,
visibility), §11 (routes, responses, publish, problem details); upstreams spec §2 (no Swift
external connection), §4 (retention), §6.4 (merged release lists); SE-0292 (the registry
specification) §3.5 (API versions), §3.6 (scope and name grammar), §4.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import urllib.parse

import pytest

from conftest import ACCOUNT, http_request, make_client, unique
from swiftkit import (RegistryError, SwiftPackage, SwiftPackageRegistryClient, package_resolved,
                      parse_links, zip_bytes)

METADATA = {
    "description": "One thing links to another.",
    "repositoryURLs": ["https://git.example.invalid/mona/LinkedList",
                       "ssh://git@git.example.invalid/mona/LinkedList.git"],
    "licenseURL": "https://example.invalid/LICENSE",
    "author": {"name": "Mona Lisa Octocat", "organization": {"name": "Octo"}},
}
MANIFEST_59 = "// swift-tools-version:5.9\nimport PackageDescription\nlet package = Package(name: \"LinkedList\")\n"


@pytest.fixture
def registry(ca, track):
    """A domain with `upstream` ← `team` (team's upstream), the swift endpoints and a token."""
    domain = track.create_domain(unique("sw"))["name"]
    ca.create_repository(domain=domain, repository="upstream")
    ca.create_repository(domain=domain, repository="team", upstreams=[{"repositoryName": "upstream"}])
    endpoint = {r: ca.get_repository_endpoint(domain=domain, repository=r, format="swift")["repositoryEndpoint"]
                for r in ("upstream", "team")}
    token = ca.get_authorization_token(domain=domain)["authorizationToken"]
    return {"domain": domain, "endpoint": endpoint, "token": token}


def linked_list(tmp_path, version: str, marker: str = "") -> SwiftPackage:
    extra = {"Package@swift-5.9.swift": MANIFEST_59} if version != "1.0.0" else None
    return SwiftPackage.write(tmp_path / f"LinkedList-{version}-{unique('s')}", "LinkedList", tools="5.7",
                              extra_manifests=extra, metadata=METADATA, marker=marker or version)


def publish_linked_list(client: SwiftPackageRegistryClient, tmp_path, version: str) -> bytes:
    """`swift package-registry publish mona.LinkedList VERSION` from the package directory,
    package-metadata.json beside Package.swift."""
    pkg = linked_list(tmp_path, version)
    work = tmp_path / f"work-{unique('w')}"
    work.mkdir()
    archive = pkg.publish_archive("mona.LinkedList", work)
    metadata = (pkg.root / "package-metadata.json").read_text()
    location = client.publish("mona", "LinkedList", version, archive, metadata)
    assert location == client.url("mona", "linkedlist", version), location
    return archive


def publish_app(client: SwiftPackageRegistryClient, tmp_path) -> bytes:
    """octo.App 2.0.0, depending on mona.LinkedList from 1.0.0, archived by
    `swift package archive-source` (a git repository: `{name}/` at the top)."""
    app = SwiftPackage.write(tmp_path / f"App-{unique('a')}", "App",
                             deps=[("mona.LinkedList", "1.0.0")], marker="app")
    archive = app.archive_source()
    client.publish("octo", "App", "2.0.0", archive)
    return archive


def login_dry_run(aws, registry, tmp_path, *extra: str) -> tuple[str, str, str]:
    """`aws codeartifact login --tool swift --dry-run`: (registry URL, login URL, token)."""
    result = aws("codeartifact", "login", "--tool", "swift", "--domain", registry["domain"], "--repository", "team",
                 "--dry-run", *extra, home=tmp_path / "home")
    assert result.rc == 0, result.err
    out = result.stdout
    netrc = re.search(r"machine (\S+) login token password (\S+)", out)
    set_cmd = re.search(r"swift package-registry set (\S+)", out)
    login_cmd = re.search(r"swift package-registry login (\S+)", out)
    assert netrc and set_cmd and login_cmd, out
    assert not (tmp_path / "home" / ".netrc").exists(), "a dry run writes nothing"
    assert urllib.parse.urlsplit(set_cmd.group(1)).hostname == netrc.group(1)
    return set_cmd.group(1), login_cmd.group(1), netrc.group(2)


def test_login_dry_run_names_urls_that_publish_and_resolve_accept(aws, registry, server, tmp_path):
    url, login_url, token = login_dry_run(aws, registry, tmp_path, "--namespace", "mona")
    assert url == f"http://127.0.0.1:{server.port}/swift/d/{registry['domain']}-{ACCOUNT}/team/"
    assert url == registry["endpoint"]["team"] and login_url == url + "login"
    client = SwiftPackageRegistryClient(url, token)  # the netrc entry: login `token` → Bearer
    client.login(login_url)
    client.publish("mona", "Thing", "1.0.0", SwiftPackage.write(tmp_path / "t", "Thing").archive_source())
    assert client.get_package_metadata("mona", "Thing") == ["1.0.0"]
    # `curl --user aws:TOKEN` as AWS documents it: Basic.
    basic = SwiftPackageRegistryClient(url, token, user="aws")
    basic.login(login_url)
    for bad in (SwiftPackageRegistryClient(url, token[:-3] + "AAA"), SwiftPackageRegistryClient(url, None)):
        with pytest.raises(RegistryError) as e:
            bad.login(login_url)
        assert e.value.response.status == 401
    # GET login is not the protocol's.
    r = client.send("GET", login_url)
    assert r.status == 405 and r.header("Content-Type") == "application/problem+json"


def test_publish_two_packages_and_resolve_them_from_a_clean_state(registry, ca, tmp_path):
    url, token = registry["endpoint"]["team"], registry["token"]
    publisher = SwiftPackageRegistryClient(url, token)
    publish_linked_list(publisher, tmp_path, "1.0.0")
    archive_11 = publish_linked_list(publisher, tmp_path, "1.1.0")
    app_archive = publish_app(publisher, tmp_path)
    assert any(n.startswith("App/") for n in __import__("zipfile").ZipFile(
        __import__("io").BytesIO(app_archive)).namelist())

    # `swift package resolve` of a root package depending on octo.App, clean caches.
    fingerprints: dict[str, str] = {}
    client = SwiftPackageRegistryClient(url, token, fingerprints=fingerprints)
    pins = client.resolve([("octo.App", "2.0.0")], tmp_path / "checkouts")
    assert {k: p.version for k, p in pins.items()} == {"mona.linkedlist": "1.1.0", "octo.app": "2.0.0"}
    assert pins["mona.linkedlist"].checksum == hashlib.sha256(archive_11).hexdigest()
    assert pins["octo.app"].checksum == hashlib.sha256(app_archive).hexdigest()
    assert (pins["octo.app"].path / "Sources" / "App" / "App.swift").is_file()
    assert 'marker = "1.1.0"' in (pins["mona.linkedlist"].path / "Sources/LinkedList/LinkedList.swift").read_text()
    assert (pins["mona.linkedlist"].path / "Package@swift-5.9.swift").read_text() == MANIFEST_59
    assert package_resolved(pins)["pins"][0]["kind"] == "registry"
    targets = [t for _, t in client.requests]
    # The 5.9 toolchain prefers Package@swift-5.9.swift and asks for it as ToolsVersion prints it.
    assert any(t.endswith("/mona/LinkedList/1.1.0/Package.swift?swift-version=5.9.0") for t in targets), targets
    # Again from a clean checkout directory: the recorded fingerprints still match.
    again = SwiftPackageRegistryClient(url, token, fingerprints=fingerprints)
    again.resolve([("OCTO.app", "2.0.0")], tmp_path / "checkouts2")

    # Release metadata: checksum, metadata, links; case-insensitive scope and name.
    r = client.send("GET", client.url("MONA", "linkedLIST", "1.0.0"), client.accept("json"))
    doc = client.parse_json(r)
    assert doc["id"] == "mona.linkedlist" and doc["version"] == "1.0.0"
    assert doc["metadata"] == METADATA
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", doc["publishedAt"])
    links = {a["rel"]: u for u, a in parse_links(r)}
    assert links == {"latest-version": client.url("mona", "linkedlist", "1.1.0"),
                     "successor-version": client.url("mona", "linkedlist", "1.1.0")}
    r = client.send("GET", client.url("mona", "LinkedList", "1.1.0.json"), client.accept("json"))
    assert {a["rel"] for _, a in parse_links(r)} == {"latest-version", "predecessor-version"}

    # The release list: both versions, latest-version, the repository URLs as canonical/alternate.
    r = client.send("GET", client.url("mona", "LinkedList"), client.accept("json"))
    assert sorted(client.parse_json(r)["releases"]) == ["1.0.0", "1.1.0"]
    rels = [(a["rel"], u) for u, a in parse_links(r)]
    assert rels == [("latest-version", client.url("mona", "linkedlist", "1.1.0")),
                    ("canonical", METADATA["repositoryURLs"][0]), ("alternate", METADATA["repositoryURLs"][1])]
    again_304 = client.send("GET", client.url("mona", "LinkedList"), {**client.accept("json"),
                                                                       "If-None-Match": r.header("ETag")})
    assert again_304.status == 304

    # The archive: Digest (base64 SHA-256), name, ranges.
    r = client.send("GET", client.url("mona", "LinkedList", "1.1.0.zip"), client.accept("zip"))
    assert r.header("Digest") == "sha-256=" + base64.b64encode(hashlib.sha256(archive_11).digest()).decode()
    assert r.header("Content-Disposition") == 'attachment; filename="LinkedList-1.1.0.zip"'
    assert r.header("Content-Length") == str(len(archive_11))
    ranged = client.send("GET", client.url("mona", "LinkedList", "1.1.0.zip"), {"Range": "bytes=0-3"})
    assert ranged.status == 206 and ranged.body == archive_11[:4] == b"PK\x03\x04"
    head = client.send("HEAD", client.url("mona", "LinkedList", "1.1.0.zip"))
    assert head.status == 200 and head.body == b"" and head.header("Content-Version") == "1"

    # A swift-version without its own manifest: 303 to the unqualified one.
    r = client.send("GET", client.url("mona", "LinkedList", "1.1.0", "Package.swift") + "?swift-version=5.8",
                    client.accept("swift"), follow=False)
    assert r.status == 303 and r.header("Location") == client.url("mona", "linkedlist", "1.1.0", "Package.swift")
    r = client.send("GET", client.url("mona", "LinkedList", "1.1.0", "Package.swift") + "?swift-version=5.9",
                    client.accept("swift"))
    assert r.status == 200 and r.body.decode() == MANIFEST_59
    assert r.header("Content-Disposition") == 'attachment; filename="Package@swift-5.9.swift"'
    r = client.send("GET", client.url("mona", "LinkedList", "1.1.0", "Package.swift"), client.accept("swift"))
    assert r.header("Content-Disposition") == 'attachment; filename="Package.swift"'
    assert r.body.startswith(b"// swift-tools-version:5.7\n")
    assert [(a["rel"], a["filename"], a["swift-tools-version"]) for _, a in parse_links(r)] == [
        ("alternate", "Package@swift-5.9.swift", "5.9")]
    unchanged = client.send("GET", client.url("mona", "LinkedList", "1.1.0", "Package.swift"),
                            {**client.accept("swift"), "If-None-Match": r.header("ETag")})
    assert unchanged.status == 304 and unchanged.body == b""

    # Identifier lookup by repository URL (SwiftPM normalises nothing; the registry matches loosely).
    assert client.lookup_identities("https://git.example.invalid/mona/LinkedList") == ["mona.linkedlist"]
    assert client.lookup_identities("https://git.example.invalid/mona/LinkedList.git") == ["mona.linkedlist"]
    assert client.lookup_identities("https://git.example.invalid/nobody/Nothing") == []
    r = client.send("GET", client.url("identifiers"), client.accept("json"))
    assert r.status == 400 and json.loads(r.body)["detail"]

    # The control plane: namespace = scope, lowercased; the display name as published.
    d = registry["domain"]
    pv = ca.describe_package_version(domain=d, repository="team", format="swift", namespace="mona",
                                     package="linkedlist", packageVersion="1.1.0")["packageVersion"]
    assert pv["displayName"] == "LinkedList" and pv["namespace"] == "mona" and pv["status"] == "Published"
    assert pv["summary"] == METADATA["description"]
    assert pv["sourceCodeRepository"] == METADATA["repositoryURLs"][0]
    assert pv["licenses"] == [{"url": METADATA["licenseURL"]}]
    assets = ca.list_package_version_assets(domain=d, repository="team", format="swift", namespace="mona",
                                            package="linkedlist", packageVersion="1.1.0")["assets"]
    assert [(a["name"], a["size"], a["hashes"]["SHA-256"]) for a in assets] == [
        ("LinkedList-1.1.0.zip", len(archive_11), hashlib.sha256(archive_11).hexdigest())]
    packages = ca.list_packages(domain=d, repository="team", format="swift")["packages"]
    assert sorted((p["namespace"], p["package"]) for p in packages) == [("mona", "linkedlist"), ("octo", "app")]
    versions = ca.list_package_versions(domain=d, repository="team", format="swift", namespace="MONA",
                                        package="LinkedList")["versions"]
    assert sorted(v["version"] for v in versions) == ["1.0.0", "1.1.0"]
    got = ca.get_package_version_asset(domain=d, repository="team", format="swift", namespace="mona",
                                       package="linkedlist", packageVersion="1.1.0", asset="LinkedList-1.1.0.zip")
    assert got["asset"].read() == archive_11


def test_resolve_through_an_upstream_repository_retains_what_was_downloaded(registry, ca, tmp_path):
    d = registry["domain"]
    upstream = SwiftPackageRegistryClient(registry["endpoint"]["upstream"], registry["token"])
    publish_linked_list(upstream, tmp_path, "1.0.0")
    archive_11 = publish_linked_list(upstream, tmp_path, "1.1.0")
    publish_app(upstream, tmp_path)

    team = SwiftPackageRegistryClient(registry["endpoint"]["team"], registry["token"])
    # Listings merge without retaining anything.
    assert team.get_package_metadata("mona", "LinkedList") == ["1.1.0", "1.0.0"]
    assert ca.list_packages(domain=d, repository="team", format="swift")["packages"] == []
    r = team.send("GET", team.url("mona", "LinkedList"), team.accept("json"))
    urls = [v["url"] for v in team.parse_json(r)["releases"].values()]
    assert all(u.startswith(registry["endpoint"]["team"]) for u in urls), urls

    pins = team.resolve([("octo.App", "2.0.0")], tmp_path / "co")
    assert pins["mona.linkedlist"].checksum == hashlib.sha256(archive_11).hexdigest()
    retained = ca.list_package_versions(domain=d, repository="team", format="swift", namespace="mona",
                                        package="linkedlist")["versions"]
    assert [(v["version"], v["origin"]["originType"]) for v in retained] == [("1.1.0", "INTERNAL")]
    # 1.1.0 is now reachable here: publishing it into team conflicts (upstreams spec §8.1) — and so
    # does 1.0.0, which team does not hold but its upstream does.
    for version in ("1.1.0", "1.0.0"):
        pkg = linked_list(tmp_path, version, marker="other bytes")
        w = tmp_path / unique("w")
        w.mkdir()
        r = team.publish_request("mona", "LinkedList", version, pkg.publish_archive("mona.LinkedList", w))
        assert r.status == 409, (version, r)
        assert r.header("Content-Type") == "application/problem+json" and json.loads(r.body)["detail"]
    # Origin controls: with upstream=BLOCK in team, only what team holds is visible there.
    ca.put_package_origin_configuration(domain=d, repository="team", format="swift", namespace="mona",
                                        package="linkedlist", restrictions={"publish": "ALLOW", "upstream": "BLOCK"})
    fresh = SwiftPackageRegistryClient(registry["endpoint"]["team"], registry["token"])
    assert fresh.get_package_metadata("mona", "LinkedList") == ["1.1.0"]
    with pytest.raises(RegistryError):
        fresh.get_release_metadata("mona", "LinkedList", "1.0.0")

    # There is no Swift external connection to ask for (upstreams spec §2).
    with pytest.raises(ca.exceptions.ValidationException):
        ca.associate_external_connection(domain=d, repository="upstream", externalConnection="public:swift")


def test_signed_release_keeps_and_serves_its_signatures(registry, tmp_path):
    client = SwiftPackageRegistryClient(registry["endpoint"]["team"], registry["token"])
    archive = SwiftPackage.write(tmp_path / "s", "Signed").archive_source()
    meta = json.dumps({"description": "signed"})
    r = client.publish_request("mona", "Signed", "1.0.0", archive, meta, signature=b"\x01sig",
                               metadata_signature=b"\x02msig")
    assert r.status == 400, "a signature without its format header"
    client.publish("mona", "Signed", "1.0.0", archive, meta, signature=b"\x01sig", metadata_signature=b"\x02msig",
                   signature_format="cms-1.0.0")
    release = client.get_release_metadata("mona", "Signed", "1.0.0")
    r = client.send("GET", client.url("mona", "Signed", "1.0.0"), client.accept("json"))
    resource = client.parse_json(r)["resources"][0]
    assert resource["signing"] == {"signatureBase64Encoded": base64.b64encode(b"\x01sig").decode(),
                                   "signatureFormat": "cms-1.0.0"}
    r = client.send("GET", client.url("mona", "Signed", "1.0.0.zip"), client.accept("zip"))
    assert r.header("X-Swift-Package-Signature-Format") == "cms-1.0.0"
    assert r.header("X-Swift-Package-Signature") == base64.b64encode(b"\x01sig").decode()
    assert release.checksum == hashlib.sha256(archive).hexdigest()


def problem(r, status: int) -> str:
    """The refusal is the protocol's: status, problem details, Content-Version 1."""
    assert r.status == status, r
    assert r.header("Content-Type") == "application/problem+json", r
    assert r.header("Content-Version") == "1", r
    detail = json.loads(r.body)["detail"]
    assert detail, r
    return detail


def test_bad_input_gets_problem_details_and_writes_nothing(registry, ca, server, tmp_path):
    d = registry["domain"]
    client = SwiftPackageRegistryClient(registry["endpoint"]["team"], registry["token"])
    good = SwiftPackage.write(tmp_path / "good", "LinkedList").archive_source()
    client.publish("mona", "LinkedList", "1.0.0", good)
    size_before = ca.describe_domain(domain=d)["domain"]["assetSizeBytes"]

    tools = "// swift-tools-version:5.9\n"
    bodies = {
        "not a zip": (b"PK but not really a zip", 422, "zip"),
        "no Package.swift": (zip_bytes({"x/Sources/x/x.swift": "struct X {}"}), 422, "Package.swift"),
        "no top-level directory": (zip_bytes({"Package.swift": tools}), 422, "top-level"),
        "two top-level directories": (zip_bytes({"a/Package.swift": tools, "b/Package.swift": tools}), 422,
                                      "top-level"),
        "an escaping entry": (zip_bytes({"x/Package.swift": tools, "x/../../../etc/evil": "x"}), 422, "outside"),
        "no tools version": (zip_bytes({"x/Package.swift": "import PackageDescription\n"}), 422,
                             "swift-tools-version"),
    }
    for why, (body, status, words) in bodies.items():
        detail = problem(client.publish_request("mona", "Broken", "1.0.0", body), status)
        assert words in detail, (why, detail)
    detail = problem(client.publish_request("mona", "Broken", "1.0.0", good, metadata="{not json"), 422)
    assert "metadata" in detail
    problem(client.publish_request("mona", "Broken", "1.0.0", good, metadata='{"repositoryURLs": "x"}'), 422)

    # No source-archive part at all; not multipart at all.
    r = client.send("PUT", client.url("mona", "Broken", "1.0.0"),
                    {"Content-Type": 'multipart/form-data;boundary="b"'},
                    b'--b\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{}\r\n--b--\r\n')
    assert "source-archive" in problem(r, 400)
    problem(client.send("PUT", client.url("mona", "Broken", "1.0.0"), {"Content-Type": "application/zip"}, good),
            400)

    # Versions, scopes and names outside the grammar; path tricks.
    for path in ["mona/Broken/1.0", "mona/Broken/v1.0.0", "mona/Broken/01.0.0", "-mona/Broken/1.0.0",
                 "mona/Bro..ken/1.0.0", "mona/..%2F..%2Fx/1.0.0", "mona/%2E%2E/1.0.0", "mona/Bro_/1.0.0"]:
        r = client.send("PUT", client.registry_url + path, {"Content-Type": 'multipart/form-data;boundary="b"'},
                        b"--b--\r\n")
        problem(r, 400)
    for path in ["mona/LinkedList/1.0.0/../../../x", "mona//1.0.0", "mona/LinkedList/1.0.0/Other.swift"]:
        problem(client.send("GET", client.registry_url + path), 404)

    # The release exists: 409, whatever the bytes.
    for body in (good, SwiftPackage.write(tmp_path / "other", "LinkedList", marker="x").archive_source()):
        detail = problem(client.publish_request("mona", "linkedlist", "1.0.0", body), 409)
        assert detail == "a release with version 1.0.0 already exists"

    # Unknown API versions (SE-0292 §3.5): 415 for a version we do not speak, 400 for nonsense.
    for accept, status in [("application/vnd.swift.registry.v2+json", 415),
                           ("application/vnd.swift.registry.vX+json", 400)]:
        problem(client.send("GET", client.url("mona", "LinkedList"), {"Accept": accept}), status)
    assert client.send("GET", client.url("mona", "LinkedList"), {"Accept": "*/*"}).status == 200

    # Unknown packages and releases: SwiftPM's 404s, as problem details.
    assert problem(client.send("GET", client.url("mona", "Nothing"), client.accept("json")), 404)
    assert problem(client.send("GET", client.url("mona", "LinkedList", "9.9.9"), client.accept("json")),
                   404) == "release not found"
    with pytest.raises(RegistryError):
        client.download_source_archive("mona", "LinkedList", "9.9.9", tmp_path / "none")

    # The front door (no token, another domain's repository) answers before the protocol.
    r = SwiftPackageRegistryClient(client.registry_url).send("GET", client.url("mona", "LinkedList"))
    assert r.status == 401 and r.header_all("WWW-Authenticate")

    # The package's origin controls refuse a direct publish (spec §4.2).
    ca.put_package_origin_configuration(domain=d, repository="team", format="swift", namespace="mona",
                                        package="linkedlist", restrictions={"publish": "BLOCK", "upstream": "BLOCK"})
    problem(client.publish_request("mona", "LinkedList", "2.0.0", good), 409)

    # Nothing was written by any refusal.
    packages = ca.list_packages(domain=d, repository="team", format="swift")["packages"]
    assert [(p["namespace"], p["package"]) for p in packages] == [("mona", "linkedlist")]
    versions = ca.list_package_versions(domain=d, repository="team", format="swift", namespace="mona",
                                        package="linkedlist")["versions"]
    assert [v["version"] for v in versions] == ["1.0.0"]
    assert ca.describe_domain(domain=d)["domain"]["assetSizeBytes"] == size_before


def test_an_archive_over_the_asset_quota_is_refused_and_nothing_is_written(server_factory, tmp_path):
    srv = server_factory(extra_args=["--quota-asset-size-bytes", "1048576"])
    ca = make_client(srv.endpoint)
    domain = unique("swq")
    ca.create_domain(domain=domain)
    ca.create_repository(domain=domain, repository="team")
    endpoint = ca.get_repository_endpoint(domain=domain, repository="team", format="swift")["repositoryEndpoint"]
    token = ca.get_authorization_token(domain=domain)["authorizationToken"]
    client = SwiftPackageRegistryClient(endpoint, token)
    big = zip_bytes({"x/Package.swift": "// swift-tools-version:5.9\n", "x/blob": __import__("os").urandom(2 << 20)})
    problem(client.publish_request("mona", "Big", "1.0.0", big), 413)
    assert ca.list_packages(domain=domain, repository="team")["packages"] == []
