"""The RubyGems repository endpoint driven by the real `gem` and `bundle` (Debian's packages:
Ruby 3.1, RubyGems 3.3, Bundler 2.3) and by hand-made HTTP requests, checked against the
control plane.

References: repository-endpoints spec §2.2 (gem push sends `Bearer TOKEN` as its API key;
gem and Bundler send Basic `aws:TOKEN`), §3.6 (the documented configuration: the token in
`~/.gem/credentials` under `codeartifact_api_key`, `RUBYGEMS_HOST` = the endpoint without its
trailing slash, the source with `aws:TOKEN@`, `bundle config` for Bundler), §4.2 (publishing
rules), §10 (routes, dependency API, gemspec `.rz`, push, client flows).

Gems: `e2e-base` 1.0.0 and 1.1.0, `e2e-app` 2.0.0 depending on `e2e-base ~> 1.0`, and a
platform gem `e2e-native` 0.1.0-x86_64-linux; each test uses a fresh domain.
"""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import tarfile

import pytest

from conftest import basic, make_client, unique
from rubykit import RubyHome, build_gem, http_range, push, raw, require_ruby


@pytest.fixture(scope="module", autouse=True)
def _ruby_prerequisites():
    require_ruby()


@pytest.fixture
def repo(server, ca, track, tmp_path):
    domain = track.create_domain(unique("rb"))["name"]
    ca.create_repository(domain=domain, repository="gems")
    endpoint = ca.get_repository_endpoint(domain=domain, repository="gems", format="ruby")["repositoryEndpoint"]
    token = ca.get_authorization_token(domain=domain)["authorizationToken"]
    return {"domain": domain, "endpoint": endpoint, "token": token, "home": RubyHome(tmp_path / "r", endpoint, token)}


def test_push_install_and_bundle(repo, ca, tmp_path):
    home: RubyHome = repo["home"]
    base10 = build_gem(tmp_path, "e2e-base", "1.0.0")
    base11 = build_gem(tmp_path, "e2e-base", "1.1.0")
    app = build_gem(tmp_path, "e2e-app", "2.0.0", {"e2e-base": "~> 1.0"}, summary="The app")
    for gem in (base10, base11, app):
        out = push(home, gem)
        assert "Successfully registered gem" in out.stdout, out.stdout

    # The control plane sees what the gemspec says.
    d = ca.describe_package_version(domain=repo["domain"], repository="gems", format="ruby",
                                    package="e2e-app", packageVersion="2.0.0")["packageVersion"]
    assert d["summary"] == "The app" and d["homePage"] == "https://example.invalid/e2e"
    assert [lic["name"] for lic in d["licenses"]] == ["MIT"]
    deps = ca.list_package_version_dependencies(domain=repo["domain"], repository="gems", format="ruby",
                                                package="e2e-app", packageVersion="2.0.0")["dependencies"]
    assert [(x["package"], x["versionRequirement"], x["dependencyType"]) for x in deps] == [
        ("e2e-base", "~> 1.0", "runtime")]
    assets = ca.list_package_version_assets(domain=repo["domain"], repository="gems", format="ruby",
                                            package="e2e-app", packageVersion="2.0.0")["assets"]
    assert [a["name"] for a in assets] == ["e2e-app-2.0.0.gem"]

    # gem install from a clean GEM_HOME pulls the dependency too, and the code runs.
    out = home.run("gem", "install", "e2e-app", "--no-document", "--clear-sources", "--source", home.source)
    assert "e2e-base-1.1.0" in out.stdout and "e2e-app-2.0.0" in out.stdout, out.stdout
    out = home.run("ruby", "-e", "require 'e2e-app'; puts E2E_E2E_APP, E2E_E2E_BASE")
    assert out.stdout.split("\n")[:2] == ["e2e-app 2.0.0", "e2e-base 1.1.0"]

    # bundle install of a Gemfile whose source is the endpoint, credentials by `bundle config`.
    project = tmp_path / "project"
    project.mkdir()
    (project / "Gemfile").write_text(f'source "{repo["endpoint"]}"\ngem "e2e-app"\ngem "e2e-base", "1.0.0"\n')
    bundle_home = RubyHome(tmp_path / "b", repo["endpoint"], repo["token"])
    bundle_home.run("bundle", "config", "set", "--global", repo["endpoint"].rstrip("/"), f"aws:{repo['token']}")
    bundle_home.run("bundle", "config", "set", "--local", "path", str(tmp_path / "vendor"), cwd=project)
    out = bundle_home.run("bundle", "install", cwd=project)
    out = bundle_home.run("bundle", "exec", "ruby", "-e", "require 'e2e-app'; puts E2E_E2E_APP, E2E_E2E_BASE",
                          cwd=project)
    assert out.stdout.split("\n")[:2] == ["e2e-app 2.0.0", "e2e-base 1.0.0"]
    lock = (project / "Gemfile.lock").read_text()
    assert "e2e-base (1.0.0)" in lock and "e2e-app (2.0.0)" in lock


def test_platform_gem_is_a_version_of_the_same_package(repo, ca, tmp_path):
    home: RubyHome = repo["home"]
    native = build_gem(tmp_path, "e2e-native", "0.1.0", platform="x86_64-linux")
    assert native.name == "e2e-native-0.1.0-x86_64-linux.gem"
    push(home, native)
    versions = ca.list_package_versions(domain=repo["domain"], repository="gems", format="ruby",
                                        package="e2e-native")["versions"]
    assert [v["version"] for v in versions] == ["0.1.0-x86_64-linux"]
    r = raw(repo["endpoint"], "GET", "api/v1/dependencies.json?gems=e2e-native", repo["token"])
    assert r.status == 200 and json.loads(r.body) == [
        {"name": "e2e-native", "number": "0.1.0", "platform": "x86_64-linux", "dependencies": []}]
    out = home.run("gem", "install", "e2e-native", "--platform", "x86_64-linux", "--no-document",
                   "--clear-sources", "--source", home.source)
    assert "e2e-native-0.1.0-x86_64-linux" in out.stdout, out.stdout


def test_dependency_api_probe_marshal_and_unsupported_routes(repo, tmp_path):
    home: RubyHome = repo["home"]
    push(home, build_gem(tmp_path, "e2e-base", "1.0.0"))
    ep, tok = repo["endpoint"], repo["token"]
    probe = raw(ep, "HEAD", "api/v1/dependencies", tok)
    assert probe.status == 200
    r = raw(ep, "GET", "api/v1/dependencies?gems=e2e-base,nothing-here", None, auth=None)
    assert r.status == 401
    r = raw(ep, "GET", "api/v1/dependencies?gems=e2e-base,nothing-here", tok, auth=basic(tok))
    assert r.status == 200 and r.header("Content-Type") == "application/octet-stream"
    loaded = subprocess.run(["ruby", "-e", "p Marshal.load(STDIN.binmode.read)"], input=r.body,
                            capture_output=True, timeout=60)
    assert loaded.stdout.decode().strip() == (
        '[{:name=>"e2e-base", :number=>"1.0.0", :platform=>"ruby", :dependencies=>[]}]')
    rz = raw(ep, "GET", "quick/Marshal.4.8/e2e-base-1.0.0.gemspec.rz", tok)
    assert rz.status == 200
    spec = subprocess.run(["ruby", "-rzlib", "-e",
                           "s = Marshal.load(Zlib::Inflate.inflate(STDIN.binmode.read)); puts s.full_name"],
                          input=rz.body, capture_output=True, timeout=60)
    assert spec.stdout.decode().strip() == "e2e-base-1.0.0", spec.stderr
    gem = raw(ep, "GET", "gems/e2e-base-1.0.0.gem", tok)
    ranged = http_range(ep, tok, "gems/e2e-base-1.0.0.gem", "bytes=0-9")
    assert gem.status == 200 and ranged.status == 206 and ranged.body == gem.body[:10]
    for path in ["versions", "names", "specs.4.8.gz", "latest_specs.4.8.gz", "api/v1/search.json?query=e",
                 "api/v1/gems/e2e-base.json", "gems/..%2Fe2e-base-1.0.0.gem", "gems/e2e-base-9.9.9.gem"]:
        assert raw(ep, "GET", path, tok).status == 404, path
    assert raw(ep, "DELETE", "api/v1/gems/yank", tok).status == 404


def test_push_refusals(repo, tmp_path):
    home: RubyHome = repo["home"]
    ep, tok = repo["endpoint"], repo["token"]
    gem = build_gem(tmp_path, "e2e-base", "1.0.0")
    push(home, gem)
    assert "Successfully registered" in push(home, gem).stdout  # the same bytes: idempotent
    other = build_gem(tmp_path, "e2e-base", "1.0.0", summary="Other bytes")
    out = push(home, other, check=False)
    assert out.returncode != 0 and "already exists" in (out.stdout + out.stderr)

    def tar_with(members: dict[str, bytes]) -> bytes:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as t:
            for name, data in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
        return buf.getvalue()

    bad_bodies = {
        "not a gem": b"hello, not a tar",
        "no metadata": tar_with({"data.tar.gz": gzip.compress(b"")}),
        "bad gzip": tar_with({"metadata.gz": b"nope", "data.tar.gz": gzip.compress(b"")}),
        "bad yaml": tar_with({"metadata.gz": gzip.compress(b"name: [unclosed"), "data.tar.gz": gzip.compress(b"")}),
        "bad name": tar_with({"metadata.gz": gzip.compress(b"name: ../evil\nversion: 1.0.0\n"),
                              "data.tar.gz": gzip.compress(b"")}),
        "bad version": tar_with({"metadata.gz": gzip.compress(b"name: ok\nversion: 1.0; rm\n"),
                                 "data.tar.gz": gzip.compress(b"")}),
    }
    for why, body in bad_bodies.items():
        r = raw(ep, "POST", "api/v1/gems", tok, body)
        assert r.status == 400, (why, r.status, r.body)
        assert r.body.strip(), why
    assert raw(ep, "POST", "api/v1/gems", None, gem.read_bytes()).status == 401
    assert raw(ep, "GET", "api/v1/dependencies?gems=ok", tok).status == 200


def test_a_gem_over_the_asset_quota_is_refused_and_nothing_is_written(server_factory, tmp_path):
    srv = server_factory(extra_args=["--quota-asset-size-bytes", "1048576"])
    ca = make_client(srv.endpoint)
    domain = unique("rbq")
    ca.create_domain(domain=domain)
    ca.create_repository(domain=domain, repository="gems")
    endpoint = ca.get_repository_endpoint(domain=domain, repository="gems", format="ruby")["repositoryEndpoint"]
    token = ca.get_authorization_token(domain=domain)["authorizationToken"]
    r = raw(endpoint, "POST", "api/v1/gems", token, b"\0" * (2 * 1024 * 1024))
    assert r.status == 413 and r.body.strip(), (r.status, r.body)
    assert ca.list_packages(domain=domain, repository="gems")["packages"] == []
