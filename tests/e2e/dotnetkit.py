"""What `dotnet` (and `nuget.exe`, Visual Studio) send to a NuGet V3 source, reproduced request by
request: no .NET SDK can be installed on these machines. Every step names the NuGet.Client
source file (github.com/NuGet/NuGet.Client, src/NuGet.Core/…) it reproduces. Packages are built
here as `dotnet pack` lays them out (NuGet.Packaging's PackageBuilder): a zip with the
`.nuspec` at its root, `[Content_Types].xml`, `_rels/.rels`, the core-properties part and the
payload under `lib/`.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import re
import urllib.parse
import uuid
import zipfile
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from conftest import RawResponse, http_request

CLIENT_VERSION = "6.12.1"
USER_AGENT = f"NuGet .NET Core MSBuild Task/{CLIENT_VERSION} (.NETCoreApp,Version=v8.0; Linux)"


# --------------------------------------------------------------------------------------------
# Packages
# --------------------------------------------------------------------------------------------


def nuspec(pkg_id: str, version: str, deps: dict[str | None, list[tuple[str, str]]] | None = None,
           description: str = "A test package", authors: str = "e2e", readme: str | None = None,
           license_expression: str | None = "MIT", project_url: str | None = "https://example.invalid/e2e",
           tags: str = "e2e test") -> str:
    """A .nuspec as PackageBuilder writes it (NuGet.Packaging/PackageCreation/Authoring/
    ManifestWriter); `deps` maps a target framework (None: no groups) to (id, range) pairs."""
    groups = ""
    if deps:
        if list(deps) == [None]:
            groups = "".join(f'<dependency id="{i}" version="{r}" />' for i, r in deps[None])
        else:
            for tf, items in deps.items():
                inner = "".join(f'<dependency id="{i}" version="{r}" exclude="Build,Analyzers" />' for i, r in items)
                groups += f'<group targetFramework="{tf}">{inner}</group>'
        groups = f"<dependencies>{groups}</dependencies>"
    extra = ""
    if license_expression:
        extra += f'<license type="expression">{license_expression}</license>'
        extra += "<licenseUrl>https://licenses.nuget.org/MIT</licenseUrl>"
    if project_url:
        extra += f"<projectUrl>{project_url}</projectUrl>"
    if readme:
        extra += f"<readme>{readme}</readme>"
    return ('<?xml version="1.0" encoding="utf-8"?>\n'
            '<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">\n'
            f'  <metadata>\n    <id>{pkg_id}</id>\n    <version>{version}</version>\n'
            f'    <authors>{escape(authors)}</authors>\n    <description>{escape(description)}</description>\n'
            f'    {extra}<tags>{escape(tags)}</tags>\n    <repository type="git" url="https://example.invalid/e2e.git" />\n'
            f'    {groups}\n  </metadata>\n</package>\n')


def build_nupkg(pkg_id: str, version: str, deps: dict[str | None, list[tuple[str, str]]] | None = None,
                readme_text: str | None = None, payload: bytes = b"MZ not really a dll", **kw) -> bytes:
    """A .nupkg laid out as `dotnet pack` writes it."""
    readme = "docs/README.md" if readme_text is not None else None
    spec = kw.pop("spec", None) or nuspec(pkg_id, version, deps, readme=readme, **kw)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("_rels/.rels",
                   '<?xml version="1.0" encoding="utf-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/relationships"><Relationship Type="http://schemas.microsoft.com/packaging/2010/07/'
                   f'manifest" Target="/{pkg_id}.nuspec" Id="R1" /></Relationships>')
        z.writestr(f"{pkg_id}.nuspec", spec)
        z.writestr(f"lib/net8.0/{pkg_id}.dll", payload)
        if readme_text is not None:
            z.writestr("docs/README.md", readme_text)
        z.writestr("package/services/metadata/core-properties/0123456789abcdef.psmdcp",
                   '<?xml version="1.0" encoding="utf-8"?><coreProperties xmlns="http://schemas.openxmlformats.org/'
                   f'package/2006/metadata/core-properties"><identifier>{pkg_id}</identifier>'
                   f'<version>{version}</version></coreProperties>')
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0" encoding="utf-8"?><Types xmlns="http://schemas.openxmlformats.org/package/'
                   '2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
                   'package.relationships+xml" /><Default Extension="nuspec" ContentType="application/octet" />'
                   '<Default Extension="dll" ContentType="application/octet" /><Default Extension="psmdcp" '
                   'ContentType="application/vnd.openxmlformats-package.core-properties+xml" /></Types>')
    return buf.getvalue()


def nuspec_of(nupkg: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(nupkg)) as z:
        [name] = [n for n in z.namelist() if n.endswith(".nuspec") and "/" not in n]
        return z.read(name).decode()


# --------------------------------------------------------------------------------------------
# Versions and ranges, as NuGet.Versioning reads them (enough for these tests)
# --------------------------------------------------------------------------------------------


def version_key(v: str):
    """NuGetVersion ordering: numeric parts, then release above pre-release, labels part by part."""
    v = v.split("+", 1)[0]
    nums, _, label = v.partition("-")
    parts = [int(p) for p in nums.split(".")] + [0] * 4
    lab = [(0, int(x), "") if x.isdigit() else (1, 0, x.lower()) for x in label.split(".")] if label else []
    return (parts[:4], 1 if not label else 0, lab)


def normalize(v: str) -> str:
    """NuGetVersion.ToNormalizedString."""
    v = v.split("+", 1)[0]
    nums, dash, label = v.partition("-")
    parts = [str(int(p)) for p in nums.split(".")]
    parts += ["0"] * (3 - len(parts))
    if len(parts) == 4 and parts[3] == "0":
        parts = parts[:3]
    return ".".join(parts) + (dash + label if label else "")


def satisfies(rng: str, v: str) -> bool:
    """VersionRange.Parse(rng).Satisfies(v) for `1.0`, `[1.0, )`, `[1.0, 2.0)`, `[1.0]`."""
    rng = rng.strip()
    if not rng:
        return True
    if rng[0] not in "[(":
        return version_key(v) >= version_key(rng)
    lo_inc, hi_inc = rng[0] == "[", rng[-1] == "]"
    inner = rng[1:-1]
    lo, _, hi = inner.partition(",") if "," in inner else (inner, None, inner)
    lo, hi = lo.strip(), (hi or "").strip()
    k = version_key(v)
    if lo and (k < version_key(lo) or (not lo_inc and k == version_key(lo))):
        return False
    if hi and (k > version_key(hi) or (not hi_inc and k == version_key(hi))):
        return False
    return True


# --------------------------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------------------------


@dataclass
class Exchange:
    method: str
    url: str
    status: int
    authenticated: bool


@dataclass
class DotnetNuGetClient:
    """One `dotnet` process talking to one V3 source (`source` ends in /v3/index.json), with the
    NuGet.Config credentials `aws` / token that `aws codeartifact login --tool dotnet` writes."""

    source: str
    token: str | None
    username: str = "aws"
    log: list[Exchange] = field(default_factory=list)
    session_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _index: dict | None = None

    # HTTP -----------------------------------------------------------------------------------
    def send(self, method: str, url: str, body: bytes | None = None, headers: dict | None = None) -> RawResponse:
        """One request as HttpSource sends it (Protocol/HttpSource/HttpSource.cs: an
        X-NuGet-Session-Id on every request; Protocol/UserAgent.cs: user-agent and
        X-NuGet-Client-Version; Protocol/HttpSource/HttpHandlerResourceV3Provider.cs: gzip and
        deflate decompression). Credentials live in HttpClientHandler.Credentials
        (Protocol/HttpSource/HttpSourceAuthenticationHandler.cs) without PreAuthenticate, so
        .NET sends each request without them first and answers a Basic challenge with them."""
        u = urllib.parse.urlsplit(url)
        target = u.path + (f"?{u.query}" if u.query else "")
        base = {"Host": u.netloc, "user-agent": USER_AGENT, "X-NuGet-Client-Version": CLIENT_VERSION,
                "X-NuGet-Session-Id": self.session_id, "Accept-Encoding": "gzip, deflate", **(headers or {})}
        r = http_request(u.hostname, u.port or 80, method, target, body, base, timeout=60)
        authenticated = False
        challenges = " ".join(r.header_all("WWW-Authenticate"))
        if r.status == 401 and self.token is not None and "basic" in challenges.lower():
            creds = base64.b64encode(f"{self.username}:{self.token}".encode()).decode()
            r = http_request(u.hostname, u.port or 80, method, target, body,
                             {**base, "Authorization": f"Basic {creds}"}, timeout=60)
            authenticated = True
        if r.header("Content-Encoding") == "gzip":
            r.body = gzip.decompress(r.body)
            r.json = json.loads(r.body) if r.body else None
        self.log.append(Exchange(method, url, r.status, authenticated))
        return r

    def get_json(self, url: str) -> dict | None:
        """HttpSource.GetAsync with IgnoreNotFounds = true: a 404 is 'no such package'."""
        r = self.send("GET", url, headers={"Accept": "application/json"})
        if r.status == 404:
            return None
        assert r.status == 200, (url, r)
        return json.loads(r.body)

    # The service index -------------------------------------------------------------------------
    def service_index(self) -> dict:
        """Protocol/Providers/ServiceIndexResourceV3Provider.cs: GET the source URL, require
        `version` 3.x (SemanticVersion.Major == 3), cache the resources."""
        if self._index is None:
            index = self.get_json(self.source)
            assert index is not None and str(index["version"]).startswith("3."), index
            self._index = index
        return self._index

    def resource(self, types: list[str]) -> str | None:
        """ServiceIndexResourceV3.GetServiceEntryUri: the first type of the client's preference
        list (Protocol/ServiceTypes.cs) that the index has."""
        for t in types:
            for r in self.service_index()["resources"]:
                if r["@type"] == t:
                    return r["@id"]
        return None

    PACKAGE_BASE_ADDRESS = ["PackageBaseAddress/Versioned", "PackageBaseAddress/3.0.0"]
    REGISTRATIONS = ["RegistrationsBaseUrl/Versioned", "RegistrationsBaseUrl/3.6.0", "RegistrationsBaseUrl/3.4.0",
                     "RegistrationsBaseUrl/3.0.0-rc", "RegistrationsBaseUrl/3.0.0-beta", "RegistrationsBaseUrl"]
    SEARCH = ["SearchQueryService/Versioned", "SearchQueryService/3.4.0", "SearchQueryService/3.0.0-beta"]
    PUBLISH = ["PackagePublish/Versioned", "PackagePublish/2.0.0"]

    # dotnet restore ----------------------------------------------------------------------------
    def flat_versions(self, pkg_id: str) -> list[str]:
        """Protocol/RemoteRepositories/HttpFileSystemBasedFindPackageByIdResource.cs,
        FindPackagesByIdAsync: GET {PackageBaseAddress}{id-lower}/index.json; `versions` parsed
        with NuGetVersion.Parse; a 404 means no versions."""
        base = self.resource(self.PACKAGE_BASE_ADDRESS)
        assert base, "the source has no PackageBaseAddress"
        doc = self.get_json(base + pkg_id.lower() + "/index.json")
        return [] if doc is None else list(doc.get("versions", []))

    def nupkg_url(self, pkg_id: str, version: str) -> str:
        """HttpFileSystemBasedFindPackageByIdResource.BuildModel: the id lower-cased, the version
        as ToNormalizedString() spells it (pre-release labels keep their case)."""
        base = self.resource(self.PACKAGE_BASE_ADDRESS)
        v = normalize(version)
        return f"{base}{pkg_id.lower()}/{v}/{pkg_id.lower()}.{v}.nupkg"

    def download(self, pkg_id: str, version: str) -> bytes:
        """Protocol/RemoteRepositories/FindPackagesByIdNupkgDownloader.cs: GET the ContentUri."""
        r = self.send("GET", self.nupkg_url(pkg_id, version))
        assert r.status == 200, r
        return r.body

    def restore(self, pkg_id: str, rng: str, framework: str = "net8.0") -> dict[str, str]:
        """`dotnet restore` of a project referencing `pkg_id` at `rng`: NuGet.Commands'
        RemoteDependencyWalker through SourceRepositoryDependencyProvider asks the
        FindPackageByIdResource for each id's versions, takes the lowest that satisfies the
        range (NuGet.DependencyResolver/RemoteDependencyWalker: nearest-wins, lowest applicable),
        reads its dependencies from the .nuspec inside the downloaded .nupkg
        (FindPackagesByIdNupkgDownloader.GetNuspecReaderFromNupkgAsync) and walks them.
        Returns what was restored, id → version (the lock file's view)."""
        self.service_index()
        resolved: dict[str, str] = {}
        queue = [(pkg_id, rng)]
        while queue:
            dep_id, dep_rng = queue.pop(0)
            if dep_id.lower() in resolved:
                continue
            candidates = sorted((v for v in self.flat_versions(dep_id) if satisfies(dep_rng, v)), key=version_key)
            assert candidates, f"NU1101/NU1102: no version of {dep_id} satisfies {dep_rng}"
            chosen = candidates[0]
            nupkg = self.download(dep_id, chosen)
            resolved[dep_id.lower()] = normalize(chosen)
            for did, drng in dependencies_of(nuspec_of(nupkg), framework):
                queue.append((did, drng))
        return resolved

    # nuget.exe install / packages.config: dependency info from registrations ------------------
    def registration_ranges(self, pkg_id: str) -> list[dict] | None:
        """Protocol/DependencyInfo/RegistrationUtility.cs, LoadRanges: GET
        {RegistrationsBaseUrl}{id-lower}/index.json (RegistrationResourceV3.GetUri); each page
        that lacks `items` is fetched from its `@id`."""
        base = self.resource(self.REGISTRATIONS)
        assert base, "the source has no RegistrationsBaseUrl"
        index = self.get_json(base.rstrip("/") + "/" + pkg_id.lower() + "/index.json")
        if index is None:
            return None
        pages = []
        for page in index["items"]:
            version_key(page["lower"]), version_key(page["upper"])  # NuGetVersion.Parse of both bounds
            if "items" not in page:
                page = self.get_json(page["@id"])
                assert page is not None
            pages.append(page)
        return pages

    def dependency_info(self, pkg_id: str, rng: str) -> list[dict]:
        """Protocol/DependencyInfo/ResolverMetadataClient.cs, GetDependencies: every catalog
        entry whose version satisfies the range, with its dependency groups and packageContent."""
        out = []
        for page in self.registration_ranges(pkg_id) or []:
            for item in page["items"]:
                entry = item["catalogEntry"]
                if satisfies(rng, entry["version"]):
                    out.append({"id": entry["id"], "version": entry["version"],
                                "listed": entry.get("listed", True),
                                "groups": entry.get("dependencyGroups", []),
                                "packageContent": item["packageContent"]})
        return out

    def install(self, pkg_id: str, rng: str, framework: str = "net8.0") -> dict[str, bytes]:
        """`nuget install` / Visual Studio with packages.config: the resolver gathers
        DependencyInfoResourceV3 data for the id and, transitively, each dependency
        (Protocol/Resources/DependencyInfoResourceV3.cs → ResolverMetadataClient), picks the
        lowest version satisfying each range (DependencyBehavior.Lowest, the default), then
        downloads each chosen `packageContent` (Protocol/Resources/DownloadResourceV3.cs).
        Returns id → the .nupkg bytes."""
        chosen: dict[str, dict] = {}
        queue = [(pkg_id, rng)]
        while queue:
            dep_id, dep_rng = queue.pop(0)
            if dep_id.lower() in chosen:
                continue
            infos = sorted((i for i in self.dependency_info(dep_id, dep_rng) if i["listed"]),
                           key=lambda i: version_key(i["version"]))
            assert infos, f"Unable to resolve dependency '{dep_id}'"
            info = infos[0]
            chosen[dep_id.lower()] = info
            groups = {g.get("targetFramework"): g.get("dependencies", []) for g in info["groups"]}
            for d in groups.get(framework, groups.get(None, [])):
                queue.append((d["id"], d.get("range", "")))
        out = {}
        for key, info in chosen.items():
            r = self.send("GET", info["packageContent"])
            assert r.status == 200, r
            out[key] = r.body
        return out

    # Visual Studio's Browse tab ----------------------------------------------------------------
    def browse(self, q: str, prerelease: bool = True, skip: int = 0, take: int = 26) -> dict:
        """Protocol/Resources/PackageSearchResourceV3.cs (through RawSearchResourceV3.SearchPage):
        GET {SearchQueryService}?q=&skip=&take=&prerelease=&semVerLevel=2.0.0."""
        base = self.resource(self.SEARCH)
        assert base, "the source has no SearchQueryService"
        query = (f"q={urllib.parse.quote(q)}&skip={skip}&take={take}&prerelease={str(prerelease).lower()}"
                 "&semVerLevel=2.0.0")
        doc = self.get_json(f"{base}?{query}")
        assert doc is not None
        return doc

    def details(self, pkg_id: str) -> list[dict]:
        """Protocol/Resources/PackageMetadataResourceV3.cs: the package's registration (all
        ranges) when a search result is selected; one catalog entry per version."""
        return [item["catalogEntry"] for page in self.registration_ranges(pkg_id) or [] for item in page["items"]]

    # dotnet nuget push -------------------------------------------------------------------------
    def push(self, nupkg: bytes, api_key: str | None = None) -> RawResponse:
        """`dotnet nuget push`: Protocol/Providers/PackageUpdateResourceV3Provider.cs takes the
        PackagePublish URL; Protocol/Resources/PackageUpdateResource.cs GetServiceEndpointUrl adds
        a trailing slash; CreateRequest sends a PUT of MultipartFormDataContent with one
        StreamContent part named "package", file name "package.nupkg", Content-Type
        application/octet-stream, chunked, and X-NuGet-ApiKey when an API key is given.
        EnsureSuccessStatusCode there: any 2xx succeeds; with --skip-duplicate a 409 too."""
        url = self.resource(self.PUBLISH)
        assert url, "the source has no PackagePublish"
        url = url if url.endswith("/") else url + "/"
        boundary = str(uuid.uuid4())
        part = (f"--{boundary}\r\nContent-Type: application/octet-stream\r\n"
                "Content-Disposition: form-data; name=package; filename=package.nupkg; "
                "filename*=utf-8''package.nupkg\r\n\r\n").encode() + nupkg + f"\r\n--{boundary}--\r\n".encode()
        body = chunked(part)
        headers = {"Content-Type": f'multipart/form-data; boundary="{boundary}"', "Transfer-Encoding": "chunked"}
        if api_key:
            headers["X-NuGet-ApiKey"] = api_key
        return self.send("PUT", url, body, headers)


def chunked(data: bytes, size: int = 64 * 1024) -> bytes:
    """The body as HTTP/1.1 chunked transfer coding (TransferEncodingChunked = true)."""
    out = b"".join(f"{len(data[i:i + size]):x}\r\n".encode() + data[i:i + size] + b"\r\n"
                   for i in range(0, len(data), size))
    return out + b"0\r\n\r\n"


def dependencies_of(spec: str, framework: str) -> list[tuple[str, str]]:
    """NuspecReader.GetDependencyGroups, then the group nearest to `framework` (here: the same
    framework, else the group without one)."""
    groups: dict[str | None, list[tuple[str, str]]] = {}
    for m in re.finditer(r'<group(?: targetFramework="([^"]*)")?\s*(?:/>|>(.*?)</group>)', spec, re.S):
        groups[m.group(1)] = re.findall(r'<dependency id="([^"]+)" version="([^"]*)"', m.group(2) or "")
    if not groups:
        block = re.search(r"<dependencies>(.*?)</dependencies>", spec, re.S)
        if block:
            groups[None] = re.findall(r'<dependency id="([^"]+)" version="([^"]*)"', block.group(1))
    return groups.get(framework, groups.get(None, []))
