"""Golden files for the documents the server renders, so that a change to the wire is a reviewed
diff: the npm packument (full and abbreviated) and one version's manifest, the PyPI simple index
and project page (HTML and PEP 691 JSON), the generated artifact-level `maven-metadata.xml`, and
the cargo sparse index (`config.json` and index files), the RubyGems dependency API's JSON
variant and a compact-index `info` file (the Marshal variant is checked by loading it in Ruby,
test_ruby.py and src/formats/ruby).

The module's server gets a fixed set of packages, published with raw requests made of
deterministic bytes (npmkit, pydist/pypikit, mavenkit, cargokit, rubykit), in a domain and repository
with fixed names. Each document is fetched raw; `normalise` replaces only what is inherently
variable — the server's loopback port and timestamps — and the result must equal
`golden/<name>` byte for byte.

A golden file holds the status line and the Content-Type, a blank line, then the body. A JSON
body is stored indented for review (key order kept exactly as served); the test also checks
that the served bytes are the compact rendering of that same document, so nothing escapes.

`UPDATE_GOLDEN=1 pytest tests/e2e/test_golden.py` rewrites the files from the current binary;
review the diff before committing it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from cargokit import CargoHttp, crate_bytes, crate_manifest, publish_dep, publish_meta
from conftest import ACCOUNT, basic, http_request
from mavenkit import MavenHttp, artifact_metadata, digest, gav_path, pom_xml
from npmkit import publish_body, tarball
from pydist import make_sdist, make_wheel
from pypikit import multipart, upload_fields
from rubykit import gem_bytes

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

DOMAIN = "golden"
REPO = "docs"

JSON_V1 = "application/vnd.pypi.simple.v1+json"
NPM_ABBREVIATED = "application/vnd.npm.install-v1+json"


# --------------------------------------------------------------------------------------------
# The normaliser: the only things allowed to differ between runs
# --------------------------------------------------------------------------------------------

# RFC 3339 UTC instants as npm (milliseconds) and PyPI (microseconds) render them.
ISO_INSTANT = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")
# Maven's `<lastUpdated>yyyyMMddHHmmss</lastUpdated>`.
MAVEN_LAST_UPDATED = re.compile(r"<lastUpdated>\d{14}</lastUpdated>")


def normalise(text: str, address: str) -> str:
    """The server's `127.0.0.1:<port>` becomes `127.0.0.1:PORT`; each timestamp becomes its
    format (`YYYY-MM-DDThh:mm:ss.fffZ` keeps the number of fraction digits, so a change of
    precision still shows). Nothing else is touched."""
    text = text.replace(address, "127.0.0.1:PORT")
    text = ISO_INSTANT.sub(
        lambda m: "YYYY-MM-DDThh:mm:ss" + ("." + "f" * (len(m.group(1)) - 1) if m.group(1) else "") + "Z",
        text)
    return MAVEN_LAST_UPDATED.sub("<lastUpdated>yyyyMMddHHmmss</lastUpdated>", text)


def rendered(r, address: str) -> str:
    """A response as a golden file: status, Content-Type, blank line, the normalised body."""
    content_type = r.header("Content-Type") or ""
    body = r.body.decode()
    if "json" in content_type:
        doc = json.loads(body)
        assert body == json.dumps(doc, separators=(",", ":"), ensure_ascii=False), (
            "the body is not the compact rendering of its own JSON document:\n" + body)
        body = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    return normalise(f"HTTP {r.status}\ncontent-type: {content_type}\n\n{body}", address)


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return
    assert path.is_file(), f"{path} is missing: run with UPDATE_GOLDEN=1 and review the new file"
    expected = path.read_text()
    assert text == expected, (
        f"{name} differs from its golden file (UPDATE_GOLDEN=1 rewrites it; review the diff).\n"
        f"--- golden\n{expected}\n--- served (normalised)\n{text}")


def test_normaliser_touches_only_port_and_timestamps():
    text = ('{"t":"2026-01-02T03:04:05.678Z","u":"2026-01-02T03:04:05.678901Z","v":"2026-01-02T03:04:05Z",'
            '"url":"http://127.0.0.1:41234/x","other":"http://127.0.0.1:4123/y","n":"20260102030405"}'
            "<lastUpdated>20260102030405</lastUpdated>")
    assert normalise(text, "127.0.0.1:41234") == (
        '{"t":"YYYY-MM-DDThh:mm:ss.fffZ","u":"YYYY-MM-DDThh:mm:ss.ffffffZ","v":"YYYY-MM-DDThh:mm:ssZ",'
        '"url":"http://127.0.0.1:PORT/x","other":"http://127.0.0.1:4123/y","n":"20260102030405"}'
        "<lastUpdated>yyyyMMddHHmmss</lastUpdated>")


# --------------------------------------------------------------------------------------------
# The fixed set of packages
# --------------------------------------------------------------------------------------------


class Published:
    def __init__(self, server, token: str):
        self.server = server
        self.token = token

    def endpoint(self, fmt: str) -> str:
        return f"http://{self.server.address}/{fmt}/d/{DOMAIN}-{ACCOUNT}/{REPO}/"

    def get(self, fmt: str, rest: str, accept: str = "*/*", auth: str | None = None):
        path = f"/{fmt}/d/{DOMAIN}-{ACCOUNT}/{REPO}/{rest}"
        headers = {"Host": self.server.address, "Accept": accept,
                   "Authorization": auth or f"Bearer {self.token}"}
        return http_request(self.server.host, self.server.port, "GET", path, None, headers)

    def put(self, fmt: str, rest: str, body: bytes, content_type: str = "application/json"):
        path = f"/{fmt}/d/{DOMAIN}-{ACCOUNT}/{REPO}/{rest}"
        headers = {"Host": self.server.address, "Content-Type": content_type,
                   "Authorization": f"Bearer {self.token}"}
        r = http_request(self.server.host, self.server.port, "PUT", path, body, headers)
        assert r.status in (200, 201), (rest, r)
        return r


def npm_publish(site: Published, name: str, version: str, *, manifest: dict | None = None,
                tags: dict[str, str] | None = None, readme: str | None = None) -> None:
    tgz = tarball(name, version)
    body = publish_body(site.endpoint("npm"), name, version, tgz)
    body["versions"][version].update(manifest or {})
    body["dist-tags"] = tags or {"latest": version}
    if readme is not None:
        body["readme"] = readme
        body["versions"][version]["readme"] = readme
    site.put("npm", name.replace("/", "%2f"), json.dumps(body).encode())


def publish_npm(site: Published) -> None:
    npm_publish(site, "golden-widget", "1.0.0", manifest={
        "description": "A widget for golden files",
        "license": "MIT",
        "dependencies": {"@golden/util": "^1.0.0"},
        "devDependencies": {"dev-tool": "~3.1.0"},
        "peerDependencies": {"peer-thing": ">=1.0.0"},
        "optionalDependencies": {"opt-thing": "1.x"},
        "engines": {"node": ">=18"},
        "bin": {"golden-widget": "cli.js"},
        "scripts": {"test": "node test.js"},
        "keywords": ["golden", "widget"],
    }, readme="# golden-widget\n\nVersion one.\n")
    npm_publish(site, "golden-widget", "1.1.0", manifest={
        "description": "A widget for golden files, improved",
        "license": "MIT",
        "dependencies": {"@golden/util": "^1.2.0"},
    }, readme="# golden-widget\n\nVersion 1.1 <with> \"quotes\" & ünïcode.\n")
    npm_publish(site, "golden-widget", "2.0.0-beta.1", tags={"next": "2.0.0-beta.1"},
                manifest={"description": "A widget, next"})
    npm_publish(site, "@golden/util", "1.2.0", manifest={"description": "Scoped utilities"})


def publish_pypi(site: Published, work: Path) -> None:
    auth = basic(site.token)
    dists = [
        make_wheel(work, "Golden_Pkg", "1.0", summary="Golden package", requires_python=">=3.8",
                   requires_dist=["golden-dep>=1.0"], description="Golden package\n\nVersion 1.0.\n",
                   description_content_type="text/markdown"),
        make_sdist(work, "Golden_Pkg", "1.0", summary="Golden package", requires_python=">=3.8",
                   requires_dist=["golden-dep>=1.0"]),
        make_wheel(work, "Golden_Pkg", "1.1", summary="Golden package <1.1> & more",
                   requires_python=">=3.9, <4"),
        make_wheel(work, "golden-dep", "1.0", summary="Golden dependency"),
    ]
    for dist in dists:
        body, ctype = multipart(upload_fields(dist), dist.name, dist.read_bytes())
        path = f"/pypi/d/{DOMAIN}-{ACCOUNT}/{REPO}/"
        r = http_request(site.server.host, site.server.port, "POST", path, body,
                         {"Host": site.server.address, "Content-Type": ctype, "Authorization": auth})
        assert r.status == 200, (dist.name, r)


MAVEN_GROUP, MAVEN_ARTIFACT = "org.golden", "widget"


def publish_maven(site: Published) -> None:
    """Three releases deployed as `mvn deploy` does (files, checksums, then the client's
    maven-metadata.xml listing the versions in deploy order, 1.10 before 1.0). The document
    served back is the server's own: Maven version order (1.10 after 1.2), latest, release."""
    http = MavenHttp(site.endpoint("maven"), site.token)
    deployed: list[str] = []
    for version in ("1.2", "1.10", "1.0"):
        deployed.append(version)
        files = {
            f"{MAVEN_ARTIFACT}-{version}.pom": pom_xml(MAVEN_GROUP, MAVEN_ARTIFACT, version),
            f"{MAVEN_ARTIFACT}-{version}.jar": f"jar bytes of {version}".encode(),
        }
        for name, data in files.items():
            http.put_ok(gav_path(MAVEN_GROUP, MAVEN_ARTIFACT, version, name), data)
            http.put_ok(gav_path(MAVEN_GROUP, MAVEN_ARTIFACT, version, name) + ".sha1",
                        digest(data, "sha1").encode())
        http.put_ok(gav_path(MAVEN_GROUP, MAVEN_ARTIFACT, None, "maven-metadata.xml"),
                    artifact_metadata(MAVEN_GROUP, MAVEN_ARTIFACT, deployed))


def publish_cargo(site: Published) -> CargoHttp:
    http = CargoHttp(site.endpoint("cargo"), site.token)
    crates = [
        ("golden_crate", "0.1.0", [], {}),
        ("golden_crate", "0.2.0", [
            publish_dep("serde", "^1.0", features=["derive"], default_features=False),
            publish_dep("rand", "^0.8", optional=True),
            publish_dep("criterion", "^0.5", kind="dev"),
            publish_dep("cc", "^1", kind="build"),
            publish_dep("winapi", "^0.3", target="cfg(windows)"),
            publish_dep("util", "^1.2", explicit_name="golden_util"),
        ], {"default": ["std"], "std": [], "random": ["dep:rand"], "serde-derive": ["serde/derive"]}),
        ("ab", "1.0.0", [], {}),
    ]
    for name, version, deps, features in crates:
        crate = crate_bytes(name, version, manifest=crate_manifest(name, version))
        meta = publish_meta(name, version, deps, features, description=f"{name} for golden files",
                            license="MIT", rust_version="1.70")
        r = http.publish(meta, crate)
        assert r.status == 200, (name, version, r)
    return http


def publish_ruby(site: Published) -> None:
    for name, version, deps, platform in [
        ("golden-gem", "1.0.0", {}, "ruby"),
        ("golden-gem", "1.1.0", {"golden-dep": "~> 1.0, >= 1.0.2", "other": ">= 0"}, "ruby"),
        ("golden-gem", "1.1.0", {}, "x86_64-linux"),
        ("golden-dep", "1.0.2", {}, "ruby"),
    ]:
        path = f"/ruby/d/{DOMAIN}-{ACCOUNT}/{REPO}/api/v1/gems"
        body = gem_bytes(name, version, deps, platform, summary=f"{name} for golden files")
        r = http_request(site.server.host, site.server.port, "POST", path, body,
                         {"Host": site.server.address, "Content-Type": "application/octet-stream",
                          "Authorization": f"Bearer {site.token}"})
        assert r.status == 200, (name, version, platform, r)


@pytest.fixture(scope="module")
def site(server, ca, tmp_path_factory) -> Published:
    ca.create_domain(domain=DOMAIN)
    ca.create_repository(domain=DOMAIN, repository=REPO)
    token = ca.get_authorization_token(domain=DOMAIN)["authorizationToken"]
    published = Published(server, token)
    publish_npm(published)
    publish_pypi(published, tmp_path_factory.mktemp("golden-dists"))
    publish_maven(published)
    publish_cargo(published)
    publish_ruby(published)
    return published


# --------------------------------------------------------------------------------------------
# The documents
# --------------------------------------------------------------------------------------------

# golden file → (format, path below the repository endpoint, Accept)
DOCUMENTS = {
    "npm/packument-full.txt": ("npm", "golden-widget", "application/json"),
    "npm/packument-abbreviated.txt": ("npm", "golden-widget", NPM_ABBREVIATED),
    "npm/packument-scoped.txt": ("npm", "@golden%2futil", "application/json"),
    "npm/version.txt": ("npm", "golden-widget/1.1.0", "application/json"),
    "pypi/project.html.txt": ("pypi", "simple/golden-pkg/", "text/html"),
    "pypi/project.json.txt": ("pypi", "simple/golden-pkg/", JSON_V1),
    "maven/maven-metadata.xml.txt": ("maven", gav_path(MAVEN_GROUP, MAVEN_ARTIFACT, None, "maven-metadata.xml"), "*/*"),
    "cargo/config.json.txt": ("cargo", "config.json", "*/*"),
    "cargo/index-golden_crate.txt": ("cargo", "go/ld/golden_crate", "text/plain"),
    "cargo/index-ab.txt": ("cargo", "2/ab", "text/plain"),
    "ruby/dependencies.json.txt": ("ruby", "api/v1/dependencies.json?gems=golden-gem,golden-dep", "*/*"),
    "ruby/info-golden-gem.txt": ("ruby", "info/golden-gem", "*/*"),
}


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_rendered_document_matches_golden_file(site, name):
    fmt, rest, accept = DOCUMENTS[name]
    auth = site.token if fmt == "cargo" else None  # cargo sends its bare token
    r = site.get(fmt, rest, accept, auth=auth)
    assert r.status == 200, (name, r)
    text = rendered(r, site.server.address)
    # the first call fetched the document the publishes made; a second answer is identical
    again = rendered(site.get(fmt, rest, accept, auth=auth), site.server.address)
    assert again == text, name
    check_golden(name, text)


def test_every_golden_file_is_checked():
    on_disk = {str(p.relative_to(GOLDEN)) for p in GOLDEN.rglob("*") if p.is_file()}
    assert on_disk == set(DOCUMENTS), "golden files no test reads, or documents without a file"
