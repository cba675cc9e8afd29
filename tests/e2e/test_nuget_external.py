"""NuGet through upstream repositories and the external connection `public:nuget-org`, end to
end, with the request sequences of `dotnet restore` and `nuget install` (dotnetkit).

The "public NuGet feed" is a second codeartifact-local process started by this module: a nuget
repository there is filled by `dotnet nuget push`, and the server under test is started with
`--external-connection public:nuget-org=http://aws:TOKEN@127.0.0.1:PORT/nuget/d/pub-…/feed/`.
The adapter reads that feed's service index, registrations and flat container.

References: upstreams spec §3 (search order), §4 (retention: the repository asked and the
connection repository, never intermediates; listing retains nothing), §8 (publish conflicts),
§9 (origin), §11 (unreachable registries); repository-endpoints spec §8.
"""

from __future__ import annotations

import time

import pytest

import externalkit
from externalkit import server  # noqa: F401 (the server under test, connected to `public`)
from dotnetkit import DotnetNuGetClient, build_nupkg

CONNECTION = "public:nuget-org"


class PublicFeed(externalkit.PublicSide):
    """The public feed, filled with Ext.Core 1.0.0 and 1.1.0 and Ext.Util 1.0.0 (→ Ext.Core)."""

    PACKAGES = [("Ext.Core", "1.0.0", None), ("Ext.Core", "1.1.0", None),
                ("Ext.Util", "1.0.0", {"net8.0": [("Ext.Core", "[1.1.0, )")]})]

    def fill(self) -> None:
        pusher = DotnetNuGetClient(self.endpoint + "v3/index.json", self.token)
        self.nupkgs = {}
        for pkg_id, version, deps in self.PACKAGES:
            nupkg = build_nupkg(pkg_id, version, deps, description=f"{pkg_id} (public)")
            assert pusher.push(nupkg).status == 201
            self.nupkgs[(pkg_id.lower(), version)] = nupkg


@pytest.fixture(scope="module")
def public(tmp_path_factory, _isolated_aws_env):
    with externalkit.public_server(tmp_path_factory, "nuget", "feed", PublicFeed) as side:
        side.fill()
        yield side


class Chain(externalkit.Chain):
    CONNECTION = CONNECTION
    FORMAT = "nuget"
    PREFIX = "ngext"

    def client(self, repo: str) -> DotnetNuGetClient:
        return DotnetNuGetClient(self.endpoint(repo) + "v3/index.json", self.token)


def test_restore_through_the_chain_retains_in_requester_and_connection_only(server, ca, track, tmp_path,
                                                                           public: PublicFeed):
    chain = Chain(server, ca, track, tmp_path)
    a = chain.client("repo-a")
    # Listing through A shows the public versions and retains nothing.
    assert a.flat_versions("Ext.Core") == ["1.0.0", "1.1.0"]
    [util] = a.details("Ext.Util")
    assert util["id"] == "Ext.Util" and util["description"] == "Ext.Util (public)"
    assert util["dependencyGroups"][0]["dependencies"][0]["id"] == "Ext.Core"
    assert chain.stored("repo-a", "ext.core") == {} and chain.stored("repo-c", "ext.core") == {}

    assert a.restore("Ext.Util", "1.0.0") == {"ext.util": "1.0.0", "ext.core": "1.1.0"}
    assert a.download("Ext.Util", "1.0.0") == public.nupkgs[("ext.util", "1.0.0")]
    for repo in ("repo-a", "repo-c"):
        chain.assert_retained(repo, "ext.util", ["1.0.0"])
        chain.assert_retained(repo, "ext.core", ["1.1.0"])
    assert chain.stored("repo-b", "ext.util") == {} and chain.stored("repo-b", "ext.core") == {}
    d = chain.describe_version("repo-a", "ext.util", "1.0.0")
    assert d["displayName"] == "Ext.Util" and d["summary"] == "Ext.Util (public)"
    assert list(chain.assets("repo-c", "ext.util", "1.0.0")) == ["ext.util.1.0.0.nupkg"]

    # nuget install through B: dependency info from the registrations, retained in B and C.
    b = chain.client("repo-b")
    installed = b.install("Ext.Core", "[1.0.0]")
    assert installed == {"ext.core": public.nupkgs[("ext.core", "1.0.0")]}
    chain.assert_retained("repo-b", "ext.core", ["1.0.0"])
    assert sorted(chain.stored("repo-c", "ext.core")) == ["1.0.0", "1.1.0"]


def test_publish_conflicts_with_public_versions(server, ca, track, tmp_path, public: PublicFeed):
    chain = Chain(server, ca, track, tmp_path)
    a = chain.client("repo-a")
    r = a.push(build_nupkg("Ext.Core", "1.0.0", description="An impostor"))
    assert r.status == 409 and b"upstream" in r.body, r
    assert chain.stored("repo-a", "ext.core") == {}
    # A version the public feed does not have is published.
    assert a.push(build_nupkg("Ext.Core", "9.0.0")).status == 201
    assert list(chain.stored("repo-a", "ext.core")) == ["9.0.0"]


@pytest.mark.parametrize("kind", ["refused", "unset"])
def test_unreachable_public_feed_keeps_local_packages_working(kind, server_factory, tmp_path):
    """Upstreams §11: with the public feed out of reach, unknown packages are 404 (quickly), and
    a package stored in C restores through A, retained there with C's origin."""
    chain = Chain.unreachable(server_factory, tmp_path, kind)
    a = chain.client("repo-a")
    started = time.monotonic()
    assert a.flat_versions("Ext.Unknown") == []
    assert time.monotonic() - started < 10
    assert chain.client("repo-c").push(build_nupkg("Local.Only", "1.0.0")).status == 201
    assert a.restore("Local.Only", "1.0.0") == {"local.only": "1.0.0"}
    chain.assert_retained("repo-a", "local.only", ["1.0.0"], externalkit.internal_origin("repo-c"))
    assert chain.srv.proc.poll() is None
