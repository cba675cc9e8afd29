"""The Swift Package Manager's registry client, reproduced request by request: no Swift
toolchain can be installed on these machines, so `SwiftPackageRegistryClient` sends what
`swift package-registry login`, `swift package-registry publish` and `swift package resolve`
send, and checks the answers the way SwiftPM checks them. Each step names the file of
swift-package-manager (github.com/swiftlang/swift-package-manager, main) it comes from:

- Sources/PackageRegistry/RegistryClient.swift — every request: URLs built by appending
  path components to the registry URL, `Accept: application/vnd.swift.registry.v1+{json,
  swift,zip}`, the response checks (`validateAPIVersion`, `validateContentType`), the
  `Link` header parsing, the publish body, login.
- Sources/PackageRegistryCommand/PackageRegistryCommand+Publish.swift — the publish command:
  the archive made with `PackageArchiver.archive` (the package copied to
  `source/{scope.name}` and zipped from its parent with `zip -ry`), `package-metadata.json`.
- Sources/Commands/PackageCommands/ArchiveSource.swift and
  Sources/SourceControl/GitRepository.swift — `swift package archive-source` in a git
  repository: `git archive --format zip --prefix {name}/ --output {name}.zip HEAD`.
- Sources/PackageRegistryCommand/PackageRegistryCommand+Auth.swift — login: a POST to the
  login URL with the stored credential; netrc entries with login `token` are Bearer tokens.
- Sources/Workspace/PackageContainer/RegistryPackageContainer.swift — resolution: versions
  from the release list, manifests (and `swift-version` variants) per candidate version.
- Sources/PackageRegistry/ChecksumTOFU.swift — the archive's SHA-256 must equal the
  release's `source-archive` checksum (and any fingerprint recorded before).

The one step that is not SwiftPM's own is reading dependencies out of `Package.swift`:
SwiftPM compiles the manifest; here the `.package(id: "scope.name", from: "X.Y.Z")` lines
of the manifests these tests write are read with a regular expression.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import subprocess
import urllib.parse
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from conftest import RawResponse, http_request

API_VERSION = "1"


class RegistryError(Exception):
    """What SwiftPM would report (RegistryError in RegistryClient.swift)."""

    def __init__(self, message: str, response: RawResponse | None = None):
        super().__init__(message)
        self.response = response


@dataclass
class Release:
    version: str
    checksum: str
    metadata: dict
    links: dict[str, str]


@dataclass
class Pin:
    identity: str
    version: str
    checksum: str
    path: Path


def parse_links(response: RawResponse) -> list[tuple[str, dict[str, str]]]:
    """`Link` values as RegistryClient.swift's `parseLink` reads them: every header split on
    `,`, each entry on `;`, `<url>` and `key="value"` fields (quotes removed)."""
    out = []
    for header in response.header_all("Link"):
        for line in header.split(","):
            fields = [f.strip() for f in line.split(";")]
            url = next((f[1:-1] for f in fields if f.startswith("<")), None)
            attrs = {}
            for f in fields:
                parts = f.split("=")
                if len(parts) == 2:
                    attrs[parts[0].strip()] = parts[1].strip().replace('"', "")
            if url is not None:
                out.append((url, attrs))
    return out


def tools_version(manifest: str) -> str:
    """ToolsVersionParser: the first line must be `// swift-tools-version:X.Y[.Z]`."""
    first = manifest.split("\n", 1)[0]
    m = re.match(r"//\s*swift-tools-version\s*:\s*([0-9]+(?:\.[0-9]+){1,2})", first, re.I)
    if not m:
        raise RegistryError(f"invalid manifest: no swift-tools-version on its first line: {first!r}")
    return m.group(1)


def normalized_tools_version(v: str) -> str:
    """ToolsVersion.description: always MAJOR.MINOR.PATCH."""
    parts = (v.split(".") + ["0", "0"])[:3]
    return ".".join(str(int(p)) for p in parts)


def registry_dependencies(manifest: str) -> list[tuple[str, str]]:
    """`.package(id: "scope.name", from: "X.Y.Z")` entries (the tests' stand-in for compiling
    the manifest)."""
    return re.findall(r'\.package\(\s*id:\s*"([^"]+)"\s*,\s*from:\s*"([^"]+)"\s*\)', manifest)


def semver_key(v: str):
    core, _, pre = v.split("+", 1)[0].partition("-")
    nums = tuple(int(x) for x in core.split("."))
    return nums + ((1,) if not pre else (0, pre))


class SwiftPackageRegistryClient:
    """One SwiftPM process's registry client against one registry URL (the URL that
    `swift package-registry set` stored, from `aws codeartifact login --tool swift`)."""

    def __init__(self, registry_url: str, token: str | None = None, user: str = "token",
                 fingerprints: dict[str, str] | None = None):
        if not registry_url.endswith("/"):
            registry_url += "/"
        self.registry_url = registry_url
        self.token = token
        self.user = user
        # ~/.swiftpm/security/fingerprints, as PackageFingerprintStorage keeps it
        self.fingerprints = fingerprints if fingerprints is not None else {}
        self.requests: list[tuple[str, str]] = []
        self._metadata_cache: dict[tuple[str, str, str], Release] = {}

    # -- HTTP ---------------------------------------------------------------------------

    def authorization(self) -> str | None:
        """RegistryClient.init's authorizationProvider: a credential whose user is `token`
        (netrc `login token`, written by the AWS CLI) is sent as Bearer, any other as Basic."""
        if self.token is None:
            return None
        if self.user == "token":
            return f"Bearer {self.token}"
        return "Basic " + base64.b64encode(f"{self.user}:{self.token}".encode()).decode()

    def url(self, *components: str) -> str:
        """URLComponents.appendPathComponents: each component appended after a `/`."""
        return self.registry_url + "/".join(urllib.parse.quote(c, safe="+") for c in components)

    def send(self, method: str, url: str, headers: dict[str, str] | None = None,
             body: bytes | None = None, follow: bool = True) -> RawResponse:
        u = urllib.parse.urlsplit(url)
        target = u.path + (f"?{u.query}" if u.query else "")
        h = {"Host": u.netloc, **(headers or {})}
        auth = self.authorization()
        if auth is not None:
            h["Authorization"] = auth
        self.requests.append((method, target))
        response = http_request(u.hostname, u.port or 80, method, target, body, h)
        # URLSession follows redirects (303 for a manifest's missing swift-version).
        if follow and response.status in (301, 302, 303, 307, 308) and response.header("Location"):
            return self.send("GET" if response.status == 303 else method,
                             urllib.parse.urljoin(url, response.header("Location")), headers, None)
        return response

    @staticmethod
    def accept(media: str) -> dict[str, str]:
        """RegistryClient.acceptHeader(mediaType:)."""
        return {"Accept": f"application/vnd.swift.registry.v{API_VERSION}+{media}"}

    @staticmethod
    def validate_api_version(response: RawResponse, optional: bool = False) -> None:
        """HTTPClientResponse.validateAPIVersion: `Content-Version` must be 1 (may be absent
        only where `isOptional`)."""
        got = response.header("Content-Version")
        if optional and got is None:
            return
        if got != API_VERSION:
            raise RegistryError(f"invalid registry response: Content-Version {got!r}", response)

    @staticmethod
    def validate_content_type(response: RawResponse, expected: str) -> None:
        """HTTPClientResponse.validateContentType: exact, or followed by `;`."""
        got = response.header("Content-Type") or ""
        if got != expected and not got.startswith(expected + ";"):
            raise RegistryError(f"invalid content type {got!r}, expected {expected!r}", response)

    def unexpected(self, response: RawResponse) -> RegistryError:
        """RegistryClient.unexpectedStatusError: problem details when the answer is one."""
        try:
            self.validate_api_version(response)
            self.validate_content_type(response, "application/problem+json")
            detail = json.loads(response.body)["detail"]
            return RegistryError(f"server error {response.status}: {detail}", response)
        except (RegistryError, ValueError, KeyError):
            return RegistryError(f"invalid registry response status {response.status}", response)

    def parse_json(self, response: RawResponse):
        """HTTPClientResponse.parseJSON: version and content type checked first."""
        self.validate_api_version(response)
        self.validate_content_type(response, "application/json")
        return json.loads(response.body)

    # -- SE-0378 login (PackageRegistryCommand+Auth.swift, RegistryClient.login) ---------

    def login(self, login_url: str) -> None:
        response = self.send("POST", login_url)
        if response.status != 200:
            raise self.unexpected(response)

    # -- Reads (RegistryClient.swift) ---------------------------------------------------

    def get_package_metadata(self, scope: str, name: str) -> list[str]:
        """getPackageMetadata: GET {scope}/{name}; releases with a `problem` are left out;
        `Link: rel="next"` pages are followed; versions sorted highest first."""
        url = self.url(scope, name)
        versions: list[str] = []
        while url:
            response = self.send("GET", url, self.accept("json"))
            if response.status == 404:
                raise RegistryError(f"package {scope}.{name} not found", response)
            if response.status != 200:
                raise self.unexpected(response)
            doc = self.parse_json(response)
            versions += [v for v, r in doc["releases"].items() if not r.get("problem")]
            url = next((u for u, a in parse_links(response) if a.get("rel") == "next"), None)
        return sorted(versions, key=semver_key, reverse=True)

    def get_release_metadata(self, scope: str, name: str, version: str) -> Release:
        """_getRawPackageVersionMetadata: GET {scope}/{name}/{version} (kept in a cache)."""
        key = (scope.lower(), name.lower(), version)
        if key in self._metadata_cache:
            return self._metadata_cache[key]
        response = self.send("GET", self.url(scope, name, version), self.accept("json"))
        if response.status == 404:
            raise RegistryError(f"{scope}.{name} {version} not found", response)
        if response.status != 200:
            raise self.unexpected(response)
        doc = self.parse_json(response)
        archive = next((r for r in doc["resources"] if r["name"] == "source-archive"), None)
        if archive is None or not archive.get("checksum"):
            raise RegistryError(f"{scope}.{name} version {version} source archive has no checksum")
        links = {a.get("rel"): u for u, a in parse_links(response)}
        release = Release(version, archive["checksum"], doc.get("metadata") or {}, links)
        self._metadata_cache[key] = release
        return release

    def get_available_manifests(self, scope: str, name: str, version: str) -> dict[str, tuple[str, str | None]]:
        """getAvailableManifests: release metadata first (signing), then GET
        {scope}/{name}/{version}/Package.swift with `+swift`; Content-Version required;
        `rel="alternate"` links with exactly four fields name the version-specific manifests."""
        self.get_release_metadata(scope, name, version)
        response = self.send("GET", self.url(scope, name, version, "Package.swift"), self.accept("swift"))
        if response.status == 404:
            raise RegistryError(f"{scope}.{name} {version} has no manifest", response)
        if response.status != 200:
            raise self.unexpected(response)
        self.validate_api_version(response)
        self.validate_content_type(response, "text/x-swift")
        content = response.body.decode()
        self._check_fingerprint(f"{scope}.{name}@{version}/Package.swift",
                                hashlib.sha256(response.body).hexdigest())
        result: dict[str, tuple[str, str | None]] = {"Package.swift": (tools_version(content), content)}
        for header in response.header_all("Link"):
            for line in header.split(","):
                fields = [f.strip() for f in line.split(";")]
                if len(fields) != 4:
                    continue
                attrs = dict(f.split("=", 1) for f in fields[1:] if "=" in f)
                attrs = {k: v.replace('"', "") for k, v in attrs.items()}
                if attrs.get("rel") != "alternate":
                    continue
                if not re.fullmatch(r"[0-9]+(\.[0-9]+){0,2}", attrs.get("swift-tools-version", "")):
                    raise RegistryError(f"Invalid tools version in alternate manifest link {line!r}")
                result[attrs["filename"]] = (attrs["swift-tools-version"], None)
        return result

    def get_manifest_content(self, scope: str, name: str, version: str, custom_tools_version: str | None) -> str:
        """getManifestContent: `?swift-version={ToolsVersion.description}` (always three
        numbers); Content-Version optional; redirects followed."""
        self.get_release_metadata(scope, name, version)
        url = self.url(scope, name, version, "Package.swift")
        if custom_tools_version is not None:
            url += "?" + urllib.parse.urlencode({"swift-version": normalized_tools_version(custom_tools_version)})
        response = self.send("GET", url, self.accept("swift"))
        if response.status != 200:
            raise self.unexpected(response)
        self.validate_api_version(response, optional=True)
        self.validate_content_type(response, "text/x-swift")
        return response.body.decode()

    def download_source_archive(self, scope: str, name: str, version: str, destination: Path) -> str:
        """downloadSourceArchive: metadata first, GET {scope}/{name}/{version}.zip with
        `+zip`; the SHA-256 must match the release's checksum (ChecksumTOFU.swift) and any
        recorded fingerprint; extracted, escaping paths refused, first level stripped."""
        release = self.get_release_metadata(scope, name, version)
        response = self.send("GET", self.url(scope, name, f"{version}.zip"), self.accept("zip"))
        if response.status == 404:
            raise RegistryError(f"{scope}.{name} {version} archive not found", response)
        if response.status != 200:
            raise self.unexpected(response)
        self.validate_api_version(response, optional=True)
        self.validate_content_type(response, "application/zip")
        checksum = hashlib.sha256(response.body).hexdigest()
        if checksum != release.checksum:
            raise RegistryError(f"invalid registry source archive checksum '{checksum}', expected '{release.checksum}'")
        self._check_fingerprint(f"{scope}.{name}@{version}", checksum)
        destination.mkdir(parents=True, exist_ok=False)
        with zipfile.ZipFile(io.BytesIO(response.body)) as z:
            tops = {n.split("/", 1)[0] for n in z.namelist()}
            for n in z.namelist():
                if n.startswith("/") or ".." in n.split("/"):
                    raise RegistryError(f"archive entry escapes the destination: {n}")
            z.extractall(destination)
        # FileSystem.stripFirstLevel: exactly one directory at the top.
        if len(tops) != 1:
            raise RegistryError(f"the archive has {len(tops)} top-level entries")
        top = destination / tops.pop()
        for child in top.iterdir():
            child.rename(destination / child.name)
        top.rmdir()
        return checksum

    def lookup_identities(self, scm_url: str) -> list[str]:
        """lookupIdentities: GET identifiers?url=…; 404 means none."""
        response = self.send("GET", self.url("identifiers") + "?" + urllib.parse.urlencode({"url": scm_url}),
                             self.accept("json"))
        if response.status == 404:
            return []
        if response.status != 200:
            raise self.unexpected(response)
        return self.parse_json(response)["identifiers"]

    def _check_fingerprint(self, key: str, checksum: str) -> None:
        known = self.fingerprints.get(key)
        if known is not None and known != checksum:
            raise RegistryError(f"the latest checksum '{checksum}' is different from the previously recorded value '{known}'")
        self.fingerprints[key] = checksum

    # -- Publish (RegistryClient.publish) --------------------------------------------------

    def publish_request(self, scope: str, name: str, version: str, archive: bytes,
                        metadata: str | None = None, signature: bytes | None = None,
                        metadata_signature: bytes | None = None,
                        signature_format: str | None = None) -> RawResponse:
        """The PUT exactly as RegistryClient.publish builds it: a UUID boundary, the
        `source-archive` part (binary), then the signature, `metadata` (no trailing CRLF of its
        own) and its signature, the closing boundary; Accept, `Expect: 100-continue`,
        `Prefer: respond-async`, and the signature format header when signed."""
        boundary = str(uuid.uuid4()).upper()
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"source-archive\"\r\n"
                f"Content-Type: application/zip\r\nContent-Transfer-Encoding: binary\r\n\r\n").encode()
        body += archive
        if signature is not None:
            body += (f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"source-archive-signature\"\r\n"
                     f"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n").encode()
            body += signature
        if metadata is not None:
            body += (f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"metadata\"\r\n"
                     f"Content-Type: application/json\r\n\r\n{metadata}").encode()
            if metadata_signature is not None:
                body += (f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"metadata-signature\"\r\n"
                         f"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n").encode()
                body += metadata_signature
        body += f"\r\n--{boundary}--\r\n".encode()
        headers = {
            "Content-Type": f'multipart/form-data;boundary="{boundary}"',
            **self.accept("json"),
            "Expect": "100-continue",
            "Prefer": "respond-async",
        }
        if signature is not None and signature_format is not None:
            headers["X-Swift-Package-Signature-Format"] = signature_format
        return self.send("PUT", self.url(scope, name, version), headers, body, follow=False)

    def publish(self, scope: str, name: str, version: str, archive: bytes, metadata: str | None = None,
                **signing) -> str | None:
        """`swift package-registry publish scope.name version`: 201 (or 202) with
        Content-Version 1; returns the `Location`."""
        response = self.publish_request(scope, name, version, archive, metadata, **signing)
        if response.status in (201, 202):
            self.validate_api_version(response)
            return response.header("Location")
        raise self.unexpected(response)

    # -- swift package resolve (RegistryPackageContainer.swift) ---------------------------

    def resolve(self, dependencies: list[tuple[str, str]], checkouts: Path,
                current_tools_version: str = "5.9") -> dict[str, Pin]:
        """Resolves registry dependencies `[(scope.name, from)]` from a clean state: for
        each package, its release list; candidates highest first within `from`'s major
        version; per candidate the available manifests (and, when a version-specific one
        is preferred, its content); dependencies read from the chosen manifest; then every
        pinned release downloaded and verified. Returns the pins Package.resolved records."""
        chosen: dict[str, tuple[str, str, str]] = {}
        pending = list(dependencies)
        while pending:
            identity, lower = pending.pop(0)
            scope, name = identity.split(".", 1)
            key = identity.lower()
            if key in chosen:
                if semver_key(chosen[key][2]) < semver_key(lower):
                    raise RegistryError(f"{identity}: {chosen[key][2]} does not satisfy from: {lower}")
                continue
            major = semver_key(lower)[0]
            candidates = [v for v in self.get_package_metadata(scope, name)
                          if semver_key(v)[0] == major and semver_key(v) >= semver_key(lower)
                          and "-" not in v.split("+", 1)[0]]
            if not candidates:
                raise RegistryError(f"{identity}: no release satisfies from: {lower}")
            version = candidates[0]
            manifests = self.get_available_manifests(scope, name, version)
            content = manifests["Package.swift"][1] or ""
            # ManifestLoader.findManifest: a `Package@swift-{current}` file (full, MAJOR.MINOR
            # or MAJOR) is preferred; its content is fetched with `?swift-version=`.
            major, minor, patch = normalized_tools_version(current_tools_version).split(".")
            for candidate in (f"{major}.{minor}.{patch}", f"{major}.{minor}", major):
                preferred = manifests.get(f"Package@swift-{candidate}.swift")
                if preferred is not None:
                    if preferred[0] != manifests["Package.swift"][0]:
                        content = self.get_manifest_content(scope, name, version, preferred[0])
                    break
            chosen[key] = (scope, name, version)
            pending += registry_dependencies(content)
        pins = {}
        for key, (scope, name, version) in sorted(chosen.items()):
            path = checkouts / key
            checksum = self.download_source_archive(scope, name, version, path)
            pins[key] = Pin(key, version, checksum, path)
        return pins


def package_resolved(pins: dict[str, Pin]) -> dict:
    """Package.resolved (version 2) as SwiftPM writes registry pins."""
    return {"pins": [{"identity": p.identity, "kind": "registry", "location": "",
                      "state": {"version": p.version}} for p in pins.values()], "version": 2}


@dataclass
class SwiftPackage:
    """A small Swift package on disk: Package.swift (and version-specific manifests), one
    library target, optional package-metadata.json."""

    root: Path
    name: str
    manifests: dict[str, str] = field(default_factory=dict)

    @classmethod
    def write(cls, root: Path, name: str, tools: str = "5.9", deps: list[tuple[str, str]] | None = None,
              extra_manifests: dict[str, str] | None = None, metadata: dict | None = None,
              marker: str = "") -> "SwiftPackage":
        root.mkdir(parents=True)
        dep_lines = "".join(f'        .package(id: "{i}", from: "{v}"),\n' for i, v in deps or [])
        target_deps = ", ".join(f'.product(name: "{i.split(".", 1)[1]}", package: "{i}")' for i, _ in deps or [])
        manifest = (f"// swift-tools-version:{tools}\nimport PackageDescription\n\n"
                    f"let package = Package(\n    name: \"{name}\",\n"
                    f"    products: [.library(name: \"{name}\", targets: [\"{name}\"])],\n"
                    f"    dependencies: [\n{dep_lines}    ],\n"
                    f"    targets: [.target(name: \"{name}\", dependencies: [{target_deps}])]\n)\n")
        (root / "Package.swift").write_text(manifest)
        manifests = {"Package.swift": manifest}
        for file_name, content in (extra_manifests or {}).items():
            (root / file_name).write_text(content)
            manifests[file_name] = content
        src = root / "Sources" / name
        src.mkdir(parents=True)
        (src / f"{name}.swift").write_text(f"public struct {name} {{ public static let marker = \"{marker}\" }}\n")
        if metadata is not None:
            (root / "package-metadata.json").write_text(json.dumps(metadata))
        return cls(root, name, manifests)

    def archive_source(self) -> bytes:
        """`swift package archive-source` in a git repository (ArchiveSource.swift →
        GitRepository.archive): `git archive --format zip --prefix {name}/ HEAD`."""
        env = {"GIT_AUTHOR_NAME": "e2e", "GIT_AUTHOR_EMAIL": "e2e@example.invalid",
               "GIT_COMMITTER_NAME": "e2e", "GIT_COMMITTER_EMAIL": "e2e@example.invalid",
               "HOME": str(self.root), "PATH": "/usr/local/bin:/usr/bin:/bin"}
        for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "release"]):
            subprocess.run(["git", *args], cwd=self.root, env=env, check=True, capture_output=True)
        out = self.root.parent / f"{self.name}.zip"
        subprocess.run(["git", "archive", "--format", "zip", "--prefix", f"{self.name}/", "--output", str(out),
                        "HEAD"], cwd=self.root, env=env, check=True, capture_output=True)
        return out.read_bytes()

    def publish_archive(self, identity: str, work: Path) -> bytes:
        """The archive `swift package-registry publish` uploads (PackageArchiver.archive in
        PackageRegistryCommand+Publish.swift, not a git repository): the package copied to
        `source/{identity}` without .build/.git/.swiftpm and secrets, then
        `cd source && zip -ry {identity}-{version}.zip {identity}`."""
        import shutil

        source = work / "source" / identity
        shutil.copytree(self.root, source, ignore=shutil.ignore_patterns(
            ".build", ".git", ".swiftpm", ".netrc", ".env", "*.pem", "*.key"))
        out = work / f"{identity}.zip"
        subprocess.run(["/bin/sh", "-c", f"cd {source.parent} && zip -ry {out} {identity}"],
                       check=True, capture_output=True)
        return out.read_bytes()


def zip_bytes(entries: dict[str, bytes | str]) -> bytes:
    """A zip made by hand, for archives no tool would make."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()
