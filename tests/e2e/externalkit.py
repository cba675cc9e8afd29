"""The shape every *_external module shares (upstreams spec §2–§4, §9, §11): a second
codeartifact-local process plays the public registry, the module's server under test reaches it
through one external connection, and the tests look at where versions were retained and with
which origin. Each module keeps its format parts: what the public registry holds, the client
that reads through the chain, the fixture registry of its integrity test.

A module using this kit defines CONNECTION, a module fixture `public` (a `PublicSide` or
anything with the `url` to give to --external-connection) and imports `server` from here:
    from externalkit import server  # noqa: F401 (the module's server under test)
"""

from __future__ import annotations

import time
import urllib.parse
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from conftest import ACCOUNT, Server, http_request, make_client, unique
from packagekit import Packages

PUBLIC_DOMAIN = "pub"

# How a connection is made unreachable (upstreams §2, §11): a closed port, no URL configured at
# all, or a port that accepts and never answers (with a 1 s upstream timeout).
UNREACHABLE = ("refused", "unset", "silent")


def authenticated_url(srv: Server, fmt: str, domain: str, repo: str, token: str) -> str:
    """A repository endpoint of `srv` with `aws:TOKEN` in the URL, as given to
    --external-connection when another server plays the public registry."""
    return (f"http://aws:{urllib.parse.quote(token, safe='')}@127.0.0.1:{srv.port}"
            f"/{fmt}/d/{domain}-{ACCOUNT}/{repo}/")


def connection_args(connection: str, url: str | None, *extra: str) -> list[str]:
    """Server arguments configuring `connection` to reach `url` (none when `url` is None: the
    connection is then unset), then `extra`."""
    return (["--external-connection", f"{connection}={url}"] if url is not None else []) + list(extra)


def unreachable_args(connection: str, kind: str, silent_port: int | None = None) -> list[str]:
    """Server arguments for one of the UNREACHABLE kinds (`silent` needs conftest's silent_port)."""
    if kind == "refused":
        return connection_args(connection, "http://127.0.0.1:1/")
    if kind == "unset":
        return connection_args(connection, None)
    assert kind == "silent" and silent_port, (kind, silent_port)
    return connection_args(connection, f"http://127.0.0.1:{silent_port}/", "--upstream-timeout-seconds", "1")


def external_origin(connection: str) -> dict:
    """The `origin` of a version that came in through `connection` (upstreams §9)."""
    return {"domainEntryPoint": {"externalConnectionName": connection}, "originType": "EXTERNAL"}


def internal_origin(repo: str) -> dict:
    """The `origin` of a version first published to `repo` (upstreams §9)."""
    return {"domainEntryPoint": {"repositoryName": repo}, "originType": "INTERNAL"}


def health(srv: Server, timeout: float = 5) -> int:
    return http_request(srv.host, srv.port, "GET", "/health", None, {"Host": srv.address},
                        timeout=timeout).status


def assert_healthy_while_running(srv: Server, proc, until: float) -> None:
    """Asks /health every 0.1 s while the client `proc` runs (until the monotonic time `until`):
    each answer is 200 and none took a second, so the server keeps answering while an upstream
    fetch is pending."""
    slowest = 0.0
    while proc.poll() is None and time.monotonic() < until:
        t = time.monotonic()
        assert health(srv) == 200
        slowest = max(slowest, time.monotonic() - t)
        time.sleep(0.1)
    assert slowest < 1, f"/health took {slowest:.1f}s while an upstream fetch was pending"


# --------------------------------------------------------------------------------------------
# The public side and the server under test
# --------------------------------------------------------------------------------------------


class PublicSide(Packages):
    """One repository on a server playing the public registry: its client, token, endpoint and
    the credentialed `url` to give to --external-connection."""

    def __init__(self, srv: Server, fmt: str, repo: str, domain: str = PUBLIC_DOMAIN):
        self.FORMAT = fmt
        self.srv = srv
        self.repo = repo
        self.domain = domain
        self.ca = make_client(srv.endpoint)
        self.ca.create_domain(domain=domain)
        self.ca.create_repository(domain=domain, repository=repo)
        self.token = self.ca.get_authorization_token(domain=domain)["authorizationToken"]
        self.endpoint = f"http://127.0.0.1:{srv.port}/{fmt}/d/{domain}-{ACCOUNT}/{repo}/"
        self.url = authenticated_url(srv, fmt, domain, repo, self.token)


@contextmanager
def public_server(tmp_path_factory: pytest.TempPathFactory, fmt: str, repo: str,
                  side: type[PublicSide] = PublicSide) -> Iterator[PublicSide]:
    """A fresh server playing the public registry with one empty `fmt` repository `repo` in the
    domain PUBLIC_DOMAIN (seen as a `side`); stopped on leaving."""
    base = tmp_path_factory.mktemp(f"public-{fmt}")
    srv = Server(base / "data", base / "server.log").start()
    try:
        yield side(srv, fmt, repo)
    finally:
        srv.terminate()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, public):
    """The server under test, its connection (the module's CONNECTION) reaching the module's
    `public` registry; overrides conftest's `server`, so `ca`, `track`, … use it."""
    base = tmp_path_factory.mktemp("server")
    srv = Server(base / "data", base / "server.log",
                 connection_args(request.module.CONNECTION, public.url)).start()
    yield srv
    srv.terminate()


class Chain(Packages):
    """A fresh domain with `repo-a → repo-b → repo-c` (A → B → C in the upstreams spec's words),
    repo-c holding the external connection CONNECTION; each *_external module subclasses it with
    its connection, format and client helpers. `track` (conftest) deletes the domain afterwards;
    None for a throw-away server."""

    CONNECTION = ""
    PREFIX = "ext"

    def __init__(self, srv: Server, ca, track, tmp: Path):
        assert self.CONNECTION, "a Chain subclass names its external connection"
        self.srv = srv
        self.ca = ca
        self.tmp = tmp
        if track is not None:
            self.domain = track.create_domain(unique(self.PREFIX))["name"]
        else:
            self.domain = ca.create_domain(domain=unique(self.PREFIX))["domain"]["name"]
        ca.create_repository(domain=self.domain, repository="repo-c")
        ca.associate_external_connection(domain=self.domain, repository="repo-c",
                                         externalConnection=self.CONNECTION)
        ca.create_repository(domain=self.domain, repository="repo-b", upstreams=[{"repositoryName": "repo-c"}])
        ca.create_repository(domain=self.domain, repository="repo-a", upstreams=[{"repositoryName": "repo-b"}])
        desc = ca.describe_repository(domain=self.domain, repository="repo-c")["repository"]
        assert [e["externalConnectionName"] for e in desc["externalConnections"]] == [self.CONNECTION], desc
        self.token = ca.get_authorization_token(domain=self.domain)["authorizationToken"]

    @classmethod
    def on_new_server(cls, server_factory, tmp: Path, url: str | None, *extra: str,
                      data_dir: Path | None = None) -> "Chain":
        """A chain on a throw-away server (conftest's server_factory, with `data_dir` when given)
        whose CONNECTION reaches `url` (unset when None), started with `extra` arguments too."""
        srv = server_factory(data_dir=data_dir, extra_args=connection_args(cls.CONNECTION, url, *extra))
        return cls(srv, make_client(srv.endpoint), None, tmp)

    @classmethod
    def unreachable(cls, server_factory, tmp: Path, kind: str, silent_port: int | None = None) -> "Chain":
        """A chain on a throw-away server whose CONNECTION is unreachable in the UNREACHABLE way `kind`."""
        srv = server_factory(extra_args=unreachable_args(cls.CONNECTION, kind, silent_port))
        return cls(srv, make_client(srv.endpoint), None, tmp)

    def endpoint(self, repo: str) -> str:
        """GetRepositoryEndpoint of `repo` for FORMAT, checked to be this server's loopback URL."""
        url = self.ca.get_repository_endpoint(domain=self.domain, repository=repo,
                                              format=self.FORMAT)["repositoryEndpoint"]
        assert url == f"http://127.0.0.1:{self.srv.port}/{self.FORMAT}/d/{self.domain}-{ACCOUNT}/{repo}/", url
        return url

    @property
    def external(self) -> dict:
        """The origin of a version that came in through this chain's connection."""
        return external_origin(self.CONNECTION)

    def assert_retained(self, repo: str, name: str, versions: list[str], origin: dict | None = None) -> dict[str, dict]:
        """`repo` stores exactly `versions` of `name`, each Published with `origin` (default: the
        chain's connection, EXTERNAL). Returns the stored versions."""
        origin = self.external if origin is None else origin
        stored = self.stored(repo, name)
        assert sorted(stored) == sorted(versions), (repo, name, stored)
        for v in stored.values():
            assert v["origin"] == origin, (repo, v)
            assert v["status"] == "Published", (repo, v)
        return stored
