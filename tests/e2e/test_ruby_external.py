"""RubyGems through upstream repositories and the external connection `public:ruby-gems-org`,
end to end, with the real `gem` and `bundle` and raw HTTP.

The "public gem registry" is a second codeartifact-local process started by this module: a
ruby repository there is filled with small gems by `gem push`, and the server under test is
started with `--external-connection public:ruby-gems-org=http://aws:TOKEN@127.0.0.1:PORT/ruby/d/pub-…/gems/`.
That registry serves the dependency API (and `info/{name}`), which the adapter reads.

References: upstreams spec §3 (search order), §4 (retention: the repository asked and the
connection repository, never intermediates; listing retains nothing), §5.2, §6.4 (Ruby: the
union over sources), §7 (origin controls), §8 (publish conflicts), §9 (origin);
repository-endpoints spec §10.
"""

from __future__ import annotations

import json
import time

import pytest

import externalkit
from conftest import ACCOUNT, Server, make_client
from externalkit import authenticated_url
from externalkit import server  # noqa: F401 (the server under test, connected to `public`)
from rubykit import RubyHome, build_gem, push, raw, require_ruby

CONNECTION = "public:ruby-gems-org"
PUBLIC_DOMAIN = "pub"
PUBLIC_REPO = "gems"
EXTERNAL = {"domainEntryPoint": {"externalConnectionName": CONNECTION}, "originType": "EXTERNAL"}


@pytest.fixture(scope="module", autouse=True)
def _ruby_prerequisites():
    require_ruby()


class PublicRegistry:
    def __init__(self, url: str, gems: dict[tuple[str, str], bytes]):
        self.url = url  # with credentials, as given to --external-connection
        self.gems = gems  # (name, version) → .gem bytes


@pytest.fixture(scope="module")
def public(tmp_path_factory: pytest.TempPathFactory, _isolated_aws_env) -> PublicRegistry:
    base = tmp_path_factory.mktemp("public-gems")
    srv = Server(base / "data", base / "server.log").start()
    try:
        ca = make_client(srv.endpoint)
        ca.create_domain(domain=PUBLIC_DOMAIN)
        ca.create_repository(domain=PUBLIC_DOMAIN, repository=PUBLIC_REPO)
        token = ca.get_authorization_token(domain=PUBLIC_DOMAIN)["authorizationToken"]
        endpoint = f"http://127.0.0.1:{srv.port}/ruby/d/{PUBLIC_DOMAIN}-{ACCOUNT}/{PUBLIC_REPO}/"
        home = RubyHome(base / "pusher", endpoint, token)
        gems = {}
        for name, version, deps in [("ext-core", "1.0.0", {}), ("ext-core", "1.1.0", {}),
                                    ("ext-util", "1.0.0", {"ext-core": "~> 1.0"})]:
            gem = build_gem(base, name, version, deps, summary=f"{name} (public)")
            push(home, gem)
            gems[(name, version)] = gem.read_bytes()
        yield PublicRegistry(authenticated_url(srv, "ruby", PUBLIC_DOMAIN, PUBLIC_REPO, token), gems)
    finally:
        srv.terminate()


class Chain(externalkit.Chain):
    CONNECTION = CONNECTION
    FORMAT = "ruby"
    PREFIX = "rbext"


def test_gem_install_through_the_chain_retains_in_requester_and_connection_only(server, ca, track, tmp_path,
                                                                               public: PublicRegistry):
    chain = Chain(server, ca, track, tmp_path)
    ep = chain.endpoint("repo-a")
    # The dependency API of A lists the public versions (a union), and listing retains nothing.
    r = raw(ep, "GET", "api/v1/dependencies.json?gems=ext-core,ext-util", chain.token)
    assert r.status == 200
    listed = sorted((e["name"], e["number"]) for e in json.loads(r.body))
    assert listed == [("ext-core", "1.0.0"), ("ext-core", "1.1.0"), ("ext-util", "1.0.0")]
    assert chain.stored("repo-a", "ext-util") == {} and chain.stored("repo-c", "ext-util") == {}

    home = RubyHome(tmp_path / "consumer", ep, chain.token)
    out = home.run("gem", "install", "ext-util", "--no-document", "--clear-sources", "--source", home.source)
    assert "ext-util-1.0.0" in out.stdout and "ext-core-1.1.0" in out.stdout, out.stdout
    out = home.run("ruby", "-e", "require 'ext-util'; puts E2E_EXT_UTIL, E2E_EXT_CORE")
    assert out.stdout.split("\n")[:2] == ["ext-util 1.0.0", "ext-core 1.1.0"]

    for repo in ("repo-a", "repo-c"):
        for name, version in (("ext-util", "1.0.0"), ("ext-core", "1.1.0")):
            stored = chain.stored(repo, name)
            assert list(stored) == [version], (repo, name, stored)
            assert stored[version]["origin"] == EXTERNAL, stored
        assets = ca.list_package_version_assets(domain=chain.domain, repository=repo, format="ruby",
                                                package="ext-util", packageVersion="1.0.0")["assets"]
        assert [(a["name"], a["size"]) for a in assets] == [
            ("ext-util-1.0.0.gem", len(public.gems[("ext-util", "1.0.0")]))]
    assert chain.stored("repo-b", "ext-util") == {} and chain.stored("repo-b", "ext-core") == {}
    d = ca.describe_package_version(domain=chain.domain, repository="repo-a", format="ruby",
                                    package="ext-util", packageVersion="1.0.0")["packageVersion"]
    assert d["summary"] == "ext-util (public)"

    # bundle install through B retains in B (and C), not in A.
    project = tmp_path / "project"
    project.mkdir()
    ep_b = chain.endpoint("repo-b")
    (project / "Gemfile").write_text(f'source "{ep_b}"\ngem "ext-core", "1.0.0"\n')
    bundle = RubyHome(tmp_path / "bundler", ep_b, chain.token)
    bundle.run("bundle", "config", "set", "--global", ep_b.rstrip("/"), f"aws:{chain.token}")
    bundle.run("bundle", "config", "set", "--local", "path", str(tmp_path / "vendor"), cwd=project)
    bundle.run("bundle", "install", cwd=project)
    assert list(chain.stored("repo-b", "ext-core")) == ["1.0.0"]
    assert sorted(chain.stored("repo-c", "ext-core")) == ["1.0.0", "1.1.0"]
    assert list(chain.stored("repo-a", "ext-core")) == ["1.1.0"]


def test_publish_conflicts_with_public_versions(server, ca, track, tmp_path, public: PublicRegistry):
    chain = Chain(server, ca, track, tmp_path)
    home = RubyHome(tmp_path / "pusher", chain.endpoint("repo-a"), chain.token)
    out = push(home, build_gem(tmp_path, "ext-core", "1.0.0", summary="An impostor"), check=False)
    assert out.returncode != 0 and "upstream" in (out.stdout + out.stderr), out
    assert chain.stored("repo-a", "ext-core") == {}
    # A version the public registry does not have is published (and then blocks the upstream).
    push(home, build_gem(tmp_path, "ext-core", "9.0.0"))
    assert list(chain.stored("repo-a", "ext-core")) == ["9.0.0"]


@pytest.mark.parametrize("kind", ["refused", "unset"])
def test_unreachable_public_registry_keeps_local_gems_working(kind, server_factory, tmp_path):
    """Upstreams §11: with the public registry out of reach, unknown gems are simply absent from
    the dependency API (quickly), and a gem stored in C installs through A and is retained there
    with C's origin."""
    chain = Chain.unreachable(server_factory, tmp_path, kind)
    ep = chain.endpoint("repo-a")
    started = time.monotonic()
    r = raw(ep, "GET", "api/v1/dependencies.json?gems=ext-unknown", chain.token)
    assert r.status == 200 and json.loads(r.body) == [] and time.monotonic() - started < 10, r
    pusher = RubyHome(tmp_path / "pusher", chain.endpoint("repo-c"), chain.token)
    push(pusher, build_gem(tmp_path, "local-only", "1.0.0"))
    home = RubyHome(tmp_path / "consumer", ep, chain.token)
    out = home.run("gem", "install", "local-only", "--no-document", "--clear-sources", "--source", home.source)
    assert "local-only-1.0.0" in out.stdout, out.stdout
    chain.assert_retained("repo-a", "local-only", ["1.0.0"], externalkit.internal_origin("repo-c"))
    failed = home.run("gem", "install", "ext-unknown", "--no-document", "--clear-sources", "--source", home.source,
                      check=False)
    assert failed.returncode != 0
    assert chain.srv.proc.poll() is None
