"""Links an upstream registry hands out are followed only on its own origin.

A public registry's documents carry absolute links (npm `dist.tarball`, PyPI file URLs,
cargo's `dl`). The server reaches only what the user configured: a link to another origin
is refused unless that origin is listed with `--upstream-link-origin` (upstreams spec §9:
external connections reach only what the user configures)."""
from __future__ import annotations

import json

import pytest

from conftest import LoopbackHttp, basic, endpoint_get, make_client, unique
from npmkit import sha1, sri, tarball as npm_tarball


@pytest.fixture
def registry_and_files():
    """A public npm registry whose packument links its tarball on a second origin."""
    registry, files = LoopbackHttp(), LoopbackHttp()
    tarball = npm_tarball("lnk-pkg", "1.0.0")
    files.routes["/lnk-pkg-1.0.0.tgz"] = ("application/octet-stream", tarball)
    packument = {
        "name": "lnk-pkg",
        "dist-tags": {"latest": "1.0.0"},
        "versions": {"1.0.0": {
            "name": "lnk-pkg", "version": "1.0.0",
            "dist": {"tarball": f"{files.origin}/lnk-pkg-1.0.0.tgz", "integrity": sri(tarball),
                     "shasum": sha1(tarball)},
        }},
    }
    registry.routes["/lnk-pkg"] = ("application/json", json.dumps(packument).encode())
    yield registry, files, tarball
    registry.close()
    files.close()


def tarball_through(server, name: str) -> tuple[int, bytes]:
    ca = make_client(server.endpoint)
    domain = unique("links")
    ca.create_domain(domain=domain)
    ca.create_repository(domain=domain, repository="app")
    ca.associate_external_connection(domain=domain, repository="app", externalConnection="public:npmjs")
    token = ca.get_authorization_token(domain=domain)["authorizationToken"]
    url = ca.get_repository_endpoint(domain=domain, repository="app", format="npm")["repositoryEndpoint"]
    packument = endpoint_get(url + name, basic(token))
    assert packument.status == 200, packument
    listed = json.loads(packument.body)["versions"]["1.0.0"]["dist"]["tarball"]
    assert listed.startswith(url), listed  # links we hand out point back at us
    got = endpoint_get(listed, basic(token))
    return got.status, got.body


def test_a_link_to_another_origin_is_not_followed(server_factory, registry_and_files):
    registry, files, _ = registry_and_files
    server = server_factory(extra_args=["--external-connection", f"public:npmjs={registry.origin}"])
    status, _ = tarball_through(server, "lnk-pkg")
    assert status == 404
    assert files.paths() == [], "the server fetched from an origin nobody configured"
    assert "not on the origin configured" in server.log()


def test_an_origin_the_user_lists_is_followed(server_factory, registry_and_files):
    registry, files, tarball = registry_and_files
    server = server_factory(extra_args=[
        "--external-connection", f"public:npmjs={registry.origin}",
        "--upstream-link-origin", files.origin,
    ])
    status, body = tarball_through(server, "lnk-pkg")
    assert status == 200
    assert body == tarball
    assert files.paths() == ["/lnk-pkg-1.0.0.tgz"]
