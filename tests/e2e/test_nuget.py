"""The NuGet V3 repository endpoint driven by the request sequences of `dotnet restore`,
`dotnet nuget push`, `nuget install` (dependency info from registrations) and Visual Studio's
Browse tab (dotnetkit.DotnetNuGetClient; no .NET SDK can be installed here), checked against
the control plane, plus `aws codeartifact login --tool dotnet|nuget --dry-run`.

References: repository-endpoints spec §2.2 (NuGet sends Basic `aws:TOKEN`, after a Basic
challenge), §3.4 (what login writes: the source `E/v3/index.json`), §4.1–4.3 (visibility,
publishing rules, NuGet name and version normalisation), §8 (service index, flat container,
registrations, search, push), upstreams spec §3–§4 (search order, retention).
"""

from __future__ import annotations

import io
import os
import re
import stat
import uuid
import zipfile

import pytest

from conftest import basic, make_client, unique
from dotnetkit import DotnetNuGetClient, build_nupkg, chunked, normalize, nuspec, nuspec_of


def site(ca, track, prefix: str = "ng", upstream: bool = False) -> dict:
    """A fresh domain with repository `feed` (and, with `upstream`, `app` → `feed`)."""
    domain = track.create_domain(unique(prefix))["name"]
    ca.create_repository(domain=domain, repository="feed")
    if upstream:
        ca.create_repository(domain=domain, repository="app", upstreams=[{"repositoryName": "feed"}])
    token = ca.get_authorization_token(domain=domain)["authorizationToken"]

    def endpoint(repo: str = "feed") -> str:
        return ca.get_repository_endpoint(domain=domain, repository=repo, format="nuget")["repositoryEndpoint"]

    def client(repo: str = "feed") -> DotnetNuGetClient:
        return DotnetNuGetClient(endpoint(repo) + "v3/index.json", token)

    return {"domain": domain, "token": token, "endpoint": endpoint, "client": client}


def pkg(ca, domain: str, repo: str = "feed") -> dict:
    return {"domain": domain, "repository": repo, "format": "nuget"}


CORE = ("Contoso.Core", "1.0.0")
APP_DEPS = {"net8.0": [("Contoso.Core", "1.0.0")], "netstandard2.0": [("Contoso.Core", "[1.1.0, 2.0.0)")]}


def test_push_restore_and_the_control_plane(ca, track):
    s = site(ca, track)
    c = s["client"]()
    core10 = build_nupkg("Contoso.Core", "1.0.0", description="The core")
    core11 = build_nupkg("Contoso.Core", "1.1.0")
    app = build_nupkg("Contoso.App", "2.0.0", APP_DEPS, readme_text="# Contoso.App\n\nRead me.",
                      description="The app")
    for nupkg in (core10, core11, app):
        r = c.push(nupkg)
        assert r.status == 201, r
    # Each request went out without credentials first, then answered the Basic challenge.
    assert all(x.authenticated for x in c.log), c.log
    assert [x.method for x in c.log] == ["GET", "PUT", "PUT", "PUT"]
    assert c.log[1].url.endswith("/v2/package/")

    restore = DotnetNuGetClient(c.source, s["token"])
    assert restore.restore("Contoso.App", "2.0.0") == {"contoso.app": "2.0.0", "contoso.core": "1.0.0"}
    assert restore.download("Contoso.App", "2.0.0") == app
    assert restore.download("contoso.core", "1.0.0") == core10
    assert restore.restore("Contoso.App", "2.0.0", framework="netstandard2.0")["contoso.core"] == "1.1.0"

    # The control plane sees what the nuspec says, under the lower-cased id.
    d = ca.describe_package_version(**pkg(ca, s["domain"]), package="Contoso.App", packageVersion="2.0")["packageVersion"]
    assert d["packageName"] == "contoso.app" and d["displayName"] == "Contoso.App" and d["version"] == "2.0.0"
    assert d["summary"] == "The app" and d["homePage"] == "https://example.invalid/e2e"
    assert d["sourceCodeRepository"] == "https://example.invalid/e2e.git"
    assert [lic["name"] for lic in d["licenses"]] == ["MIT"] and d["status"] == "Published"
    deps = ca.list_package_version_dependencies(**pkg(ca, s["domain"]), package="contoso.app",
                                                packageVersion="2.0.0")["dependencies"]
    assert sorted((x["package"], x["versionRequirement"]) for x in deps) == [
        ("contoso.core", "[1.0.0, )"), ("contoso.core", "[1.1.0, 2.0.0)")]
    assets = ca.list_package_version_assets(**pkg(ca, s["domain"]), package="contoso.app",
                                            packageVersion="2.0.0")["assets"]
    assert [(a["name"], a["size"]) for a in assets] == [("contoso.app.2.0.0.nupkg", len(app))]
    asset = ca.get_package_version_asset(**pkg(ca, s["domain"]), package="contoso.app", packageVersion="2.0.0",
                                         asset="contoso.app.2.0.0.nupkg")
    assert asset["asset"].read() == app
    head = restore.send("HEAD", restore.nupkg_url("Contoso.App", "2.0.0"))
    assert head.status == 200 and head.body == b"" and int(head.header("Content-Length")) == len(app)
    readme = ca.get_package_version_readme(**pkg(ca, s["domain"]), package="contoso.app", packageVersion="2.0.0")
    assert readme["readme"] == "# Contoso.App\n\nRead me."
    packages = ca.list_packages(domain=s["domain"], repository="feed", format="nuget")["packages"]
    assert sorted(p["package"] for p in packages) == ["contoso.app", "contoso.core"]

    # An unlisted version leaves the version lists but stays downloadable (spec §4.1).
    ca.update_package_versions_status(**pkg(ca, s["domain"]), package="contoso.core", versions=["1.0.0"],
                                      targetStatus="Unlisted")
    assert restore.flat_versions("Contoso.Core") == ["1.1.0"]
    assert restore.download("Contoso.Core", "1.0.0") == core10
    assert restore.restore("Contoso.App", "2.0.0")["contoso.core"] == "1.1.0"


def test_registrations_resolve_dependencies_and_browse(ca, track):
    s = site(ca, track)
    c = s["client"]()
    core = build_nupkg("Contoso.Core", "1.0.0")
    pre = build_nupkg("Contoso.Core", "1.1.0-beta.2")
    app = build_nupkg("Contoso.App", "2.0.0", APP_DEPS, description="The app")
    for nupkg in (core, pre, app):
        assert c.push(nupkg).status == 201

    # nuget install / packages.config: the dependency found through the registration.
    installed = c.install("Contoso.App", "[2.0.0]")
    assert installed == {"contoso.app": app, "contoso.core": core}
    [entry] = c.dependency_info("Contoso.App", "2.0.0")
    assert entry["id"] == "Contoso.App" and entry["version"] == "2.0.0"
    groups = {g["targetFramework"]: [(d["id"], d["range"]) for d in g["dependencies"]] for g in entry["groups"]}
    assert groups == {"net8.0": [("Contoso.Core", "[1.0.0, )")], "netstandard2.0": [("Contoso.Core", "[1.1.0, 2.0.0)")]}
    dep = entry["groups"][0]["dependencies"][0]
    assert c.get_json(dep["registration"])["items"][0]["lower"] == "1.0.0"

    # The registration index inlines its one page; the leaf and the nuspec are served too.
    index = c.get_json(c.resource(c.REGISTRATIONS) + "contoso.core/index.json")
    assert index["count"] == 1 and index["items"][0]["count"] == 2
    assert (index["items"][0]["lower"], index["items"][0]["upper"]) == ("1.0.0", "1.1.0-beta.2")
    leaf_url = index["items"][0]["items"][1]["@id"]
    leaf = c.get_json(leaf_url)
    assert leaf["catalogEntry"]["version"] == "1.1.0-beta.2" and leaf["listed"] is True
    r = c.send("GET", c.resource(c.PACKAGE_BASE_ADDRESS) + "contoso.app/2.0.0/contoso.app.nuspec")
    assert r.status == 200 and r.header("Content-Type") == "application/xml"
    assert r.body.decode() == nuspec_of(app)

    # Visual Studio's Browse tab: search, then the selected package's details.
    found = c.browse("contoso")
    assert found["totalHits"] == 2
    by_id = {d["id"]: d for d in found["data"]}
    assert by_id["Contoso.Core"]["version"] == "1.1.0-beta.2"
    assert [v["version"] for v in by_id["Contoso.Core"]["versions"]] == ["1.0.0", "1.1.0-beta.2"]
    stable = c.browse("CORE", prerelease=False)
    assert [(d["id"], d["version"]) for d in stable["data"]] == [("Contoso.Core", "1.0.0")]
    assert c.browse("nothing-like-it")["data"] == []
    assert [e["version"] for e in c.details("Contoso.Core")] == ["1.0.0", "1.1.0-beta.2"]


def test_versions_are_normalised_and_compared_as_nuget_does(ca, track):
    s = site(ca, track)
    c = s["client"]()
    original = build_nupkg("Contoso.Norm", "1.00.0.0+build.5")
    assert c.push(original).status == 201
    beta = build_nupkg("Contoso.Norm", "2.0.0-Beta.1")
    assert c.push(beta).status == 201
    assert c.flat_versions("contoso.norm") == ["1.0.0", "2.0.0-beta.1"]
    versions = ca.list_package_versions(**pkg(ca, s["domain"]), package="Contoso.Norm")["versions"]
    assert sorted(v["version"] for v in versions) == ["1.0.0", "2.0.0-Beta.1"]
    base = c.resource(c.PACKAGE_BASE_ADDRESS)
    for path in ["contoso.norm/1.00/contoso.norm.1.0.0.nupkg", "Contoso.Norm/1.0.0.0/contoso.norm.1.0.0.nupkg",
                 "contoso.norm/2.0.0-beta.1/contoso.norm.2.0.0-beta.1.nupkg",
                 "contoso.norm/2.0.0-Beta.1/contoso.norm.2.0.0-Beta.1.nupkg"]:
        r = c.send("GET", base + path)
        assert r.status == 200, (path, r)
    assert c.download("Contoso.Norm", "2.0.0-BETA.1") == beta
    # The same version in another spelling is the same version: 409, with the same bytes too.
    for again in (build_nupkg("contoso.norm", "1.0", description="other bytes"),
                  build_nupkg("Contoso.Norm", "2.0.0-beta.1"), original):
        r = c.push(again)
        assert r.status == 409 and b"already exists" in r.body, r
        # NuGet prints "Response status code does not indicate success: 409 (<reason>)".
        assert r.reason.lower() == f"the package contoso.norm {again_version(again).lower()} already exists in the repository"
    # The first spelling of the id is the one kept.
    assert c.push(build_nupkg("CONTOSO.NORM", "3.0.0")).status == 201
    d = ca.describe_package_version(**pkg(ca, s["domain"]), package="contoso.norm", packageVersion="3.0.0")
    assert d["packageVersion"]["displayName"] == "Contoso.Norm"


def again_version(nupkg: bytes) -> str:
    """The normalised version a package's nuspec names."""
    return normalize(re.search(r"<version>([^<]+)</version>", nuspec_of(nupkg)).group(1))


def test_push_refusals_leave_nothing_behind(ca, track):
    s = site(ca, track)
    c = s["client"]()

    def zipped(entries: dict[str, bytes | str]) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for name, data in entries.items():
                z.writestr(name, data)
        return buf.getvalue()

    good = nuspec("Contoso.Bad", "1.0.0")
    bad = {
        "not a zip": b"PK\x03\x04 but not really",
        "no nuspec": zipped({"[Content_Types].xml": "<Types/>", "lib/net8.0/a.dll": b"x"}),
        "two nuspecs": zipped({"a.nuspec": good, "b.nuspec": good}),
        "nested nuspec": zipped({"sub/Contoso.Bad.nuspec": good}),
        "bad xml": zipped({"a.nuspec": "<package><metadata><id>Contoso.Bad</id>"}),
        "bad id": build_nupkg("Contoso.Bad", "1.0.0", spec=nuspec("../evil", "1.0.0")),
        "bad id chars": build_nupkg("Contoso.Bad", "1.0.0", spec=nuspec("Contoso Bad", "1.0.0")),
        "bad version": build_nupkg("Contoso.Bad", "1.0.0", spec=nuspec("Contoso.Bad", "1.0.0; rm")),
        "bad dependency": build_nupkg("Contoso.Bad", "1.0.0", {None: [("../x", "1.0")]}),
        "missing readme": build_nupkg("Contoso.Bad", "1.0.0", spec=nuspec("Contoso.Bad", "1.0.0", readme="NOPE.md")),
    }
    for why, body in bad.items():
        r = c.push(body)
        assert r.status == 400, (why, r)
        assert r.body.strip(), why
    # Not multipart, an empty form, two packages in one request.
    url = c.resource(c.PUBLISH) + "/"
    auth = {"Authorization": basic(s["token"])}
    r = c.send("PUT", url, build_nupkg("Contoso.Bad", "1.0.0"), {**auth, "Content-Type": "application/octet-stream"})
    assert r.status == 400, r
    boundary = uuid.uuid4().hex
    two = b"".join(f"--{boundary}\r\nContent-Disposition: form-data; name=package; filename=package.nupkg\r\n\r\n"
                   .encode() + build_nupkg("Contoso.Bad", v) + b"\r\n" for v in ("1.0.0", "2.0.0"))
    r = c.send("PUT", url, chunked(two + f"--{boundary}--\r\n".encode()),
               {"Content-Type": f"multipart/form-data; boundary={boundary}", "Transfer-Encoding": "chunked"})
    assert r.status == 400 and b"one package" in r.body, r
    assert ca.list_packages(domain=s["domain"], repository="feed")["packages"] == []

    # Without credentials: 401 with a Basic challenge, nothing written.
    anonymous = DotnetNuGetClient(c.source, None)
    r = anonymous.send("GET", c.source)
    assert r.status == 401 and "Basic" in " ".join(r.header_all("WWW-Authenticate"))
    # Delete and relist are not supported; V2 routes are not served; path tricks are 404.
    assert c.push(build_nupkg("Contoso.Bad", "1.0.0"), api_key="ignored-by-the-service").status == 201
    assert c.send("DELETE", url + "Contoso.Bad/1.0.0").status == 405
    assert c.send("POST", url + "Contoso.Bad/1.0.0").status == 405
    base = c.resource(c.PACKAGE_BASE_ADDRESS)
    endpoint = s["endpoint"]()
    for path in [endpoint + "FindPackagesById()?id='Contoso.Bad'", endpoint + "v2/Packages()",
                 base + "contoso.bad/1.0.0/contoso.bad.2.0.0.nupkg", base + "..%2Fcontoso.bad/index.json",
                 base + "contoso.bad/../index.json", base + "nothing.here/index.json",
                 c.resource(c.REGISTRATIONS) + "nothing.here/index.json"]:
        assert c.send("GET", path).status == 404, path
    assert [p["package"] for p in ca.list_packages(domain=s["domain"], repository="feed")["packages"]] == [
        "contoso.bad"]


def test_an_oversized_push_is_refused_and_nothing_is_written(server_factory):
    srv = server_factory(extra_args=["--quota-asset-size-bytes", "1048576"])
    ca = make_client(srv.endpoint)
    domain = unique("ngq")
    ca.create_domain(domain=domain)
    ca.create_repository(domain=domain, repository="feed")
    endpoint = ca.get_repository_endpoint(domain=domain, repository="feed", format="nuget")["repositoryEndpoint"]
    token = ca.get_authorization_token(domain=domain)["authorizationToken"]
    c = DotnetNuGetClient(endpoint + "v3/index.json", token)
    big = build_nupkg("Contoso.Big", "1.0.0", payload=os.urandom(2 * 1024 * 1024))
    r = c.push(big)
    assert r.status == 413 and r.body.strip(), r
    assert ca.list_packages(domain=domain, repository="feed")["packages"] == []
    assert c.push(build_nupkg("Contoso.Small", "1.0.0")).status == 201


def test_many_versions_page_the_registration_index(ca, track):
    """Beyond 128 versions the index links pages the client fetches (RegistrationUtility)."""
    s = site(ca, track)
    c = s["client"]()
    versions = [f"1.0.{i}" for i in range(130)]
    for v in versions:
        assert c.push(build_nupkg("Contoso.Many", v)).status == 201
    index = c.get_json(c.resource(c.REGISTRATIONS) + "contoso.many/index.json")
    assert index["count"] == 3 and all("items" not in p for p in index["items"])
    assert [(p["lower"], p["upper"], p["count"]) for p in index["items"]] == [
        ("1.0.0", "1.0.63", 64), ("1.0.64", "1.0.127", 64), ("1.0.128", "1.0.129", 2)]
    fetched = c.details("Contoso.Many")
    assert [e["version"] for e in fetched] == versions
    assert c.install("Contoso.Many", "[1.0.100, )").keys() == {"contoso.many"}
    assert c.flat_versions("Contoso.Many") == versions


def test_restore_through_an_upstream_retains_in_the_repository_asked(ca, track):
    s = site(ca, track, upstream=True)
    feed, app = s["client"]("feed"), s["client"]("app")
    assert feed.push(build_nupkg("Contoso.Core", "1.0.0")).status == 201
    assert app.push(build_nupkg("Contoso.App", "2.0.0", APP_DEPS)).status == 201
    # The upstream's version blocks the same version here (upstreams spec §8).
    r = app.push(build_nupkg("Contoso.Core", "1.0.0", description="impostor"))
    assert r.status == 409 and b"upstream" in r.body, r
    assert app.flat_versions("Contoso.Core") == ["1.0.0"]
    with pytest.raises(ca.exceptions.ResourceNotFoundException):
        ca.list_package_versions(**pkg(ca, s["domain"], "app"), package="contoso.core")
    assert app.restore("Contoso.App", "2.0.0") == {"contoso.app": "2.0.0", "contoso.core": "1.0.0"}
    [v] = ca.list_package_versions(**pkg(ca, s["domain"], "app"), package="contoso.core")["versions"]
    assert v["version"] == "1.0.0"
    assert v["origin"] == {"domainEntryPoint": {"repositoryName": "feed"}, "originType": "INTERNAL"}
    # Registrations through `app` list the upstream's package too, with links on `app`.
    entries = app.details("Contoso.Core")
    assert [e["version"] for e in entries] == ["1.0.0"]
    assert entries[0]["packageContent"].startswith(s["endpoint"]("app"))


# --------------------------------------------------------------------------------------------
# aws codeartifact login --tool dotnet | nuget
# --------------------------------------------------------------------------------------------


def stand_in(bindir, tool: str, listing: str) -> None:
    """`dotnet` / `nuget` cannot be installed here; login runs only their source listing before
    printing its command under --dry-run, so a stand-in prints a listing in their format
    (`N.  name [Enabled]` then the URL) and fails on anything else."""
    path = bindir / tool
    path.write_text("#!/bin/sh\n"
                    "case \"$*\" in\n"
                    "  'nuget list source --format detailed'|'sources list -format detailed')\n"
                    f"    cat <<'EOF'\n{listing}\nEOF\n    ;;\n"
                    "  *) echo \"unexpected: $*\" >&2; exit 3 ;;\n"
                    "esac\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.mark.parametrize("tool", ["dotnet", "nuget"])
def test_login_dry_run_names_a_source_the_clients_use(tool, aws, ca, track, tmp_path, monkeypatch):
    s = site(ca, track)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    stand_in(bindir, tool, "Registered Sources:\n\n  1.  local [Enabled]\n      http://127.0.0.1:9/v3/index.json")
    result = aws("codeartifact", "login", "--tool", tool, "--domain", s["domain"], "--repository", "feed",
                 "--dry-run", home=tmp_path / "home")
    assert result.rc == 0, result
    words = result.stdout.split()
    flag = "-source" if tool == "nuget" else None
    source = words[words.index(flag) + 1] if flag else words[4]
    assert source == s["endpoint"]() + "v3/index.json", result.stdout
    token = words[words.index("-password" if tool == "nuget" else "--password") + 1]
    assert words[:4] == (["nuget", "sources", "add", "-name"] if tool == "nuget"
                         else ["dotnet", "nuget", "add", "source"]), words
    name = words[words.index("-name" if tool == "nuget" else "--name") + 1]
    assert name == f"{s['domain']}/feed"

    # The printed source and credentials work for push and restore.
    c = DotnetNuGetClient(source, token)
    assert c.push(build_nupkg("Contoso.Login", "1.0.0")).status == 201
    assert c.restore("Contoso.Login", "1.0.0") == {"contoso.login": "1.0.0"}
    assert normalize("1.0") == "1.0.0"

    # A source already listed with this URL is updated under its own name.
    stand_in(bindir, tool, f"Registered Sources:\n\n  1.  mine [Enabled]\n      {source}")
    result = aws("codeartifact", "login", "--tool", tool, "--domain", s["domain"], "--repository", "feed",
                 "--dry-run", home=tmp_path / "home2")
    assert result.rc == 0 and " update" in result.stdout and "mine" in result.stdout.split(), result.stdout
