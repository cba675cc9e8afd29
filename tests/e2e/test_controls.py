"""Test controls under `/_codeartifact/` (README "Test controls"), end to end: the event stream a
test waits on (long-poll JSON and Server-Sent Events, filters, cursors that survive a restart)
and fault injection (control-plane operations, repository endpoints, external connections),
driven by the clients that have to live with them: boto3's `standard` and `adaptive` retry
modes, the AWS CLI with retries off, `npm install` and `pip install` retrying 503s, and a
second codeartifact-local playing the public registry behind an external connection.

Every admin request is SigV4-signed with botocore's SigV4Auth, as any SDK would sign it. No
test sleeps to wait for an event: each one long-polls the stream or reads it as SSE.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

import npmkit
from conftest import (ACCESS_KEY, ACCOUNT, REGION, SECRET_KEY, Server, basic, http_request, make_client,
                      run_aws, sha256_of, unique)
from externalkit import PublicSide, public_server
from pydist import make_wheel
from pypikit import Pip, multipart, upload_fields

ADMIN = "/_codeartifact"
CONNECTION = "public:npmjs"
WAIT = "20"


# --------------------------------------------------------------------------------------------
# Servers and signed admin calls
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def public(tmp_path_factory):
    """A second server playing the public npm registry, holding `ext-alpha` 1.0.0 and 1.1.0."""
    with public_server(tmp_path_factory, "npm", "npmjs") as side:
        npm = npmkit.Npm(tmp_path_factory.mktemp("pubhome"), side.endpoint, side.token)
        (npm.home / ".npmrc").write_text(
            f"registry={side.endpoint}\n//{side.endpoint.split('://', 1)[1]}:_authToken={side.token}\n")
        for version in ("1.0.0", "1.1.0"):
            npmkit.publish(npm, tmp_path_factory.mktemp("pkg"), "ext-alpha", version)
        yield side


@pytest.fixture(scope="module")
def server(tmp_path_factory, public):
    base = tmp_path_factory.mktemp("controls")
    srv = Server(base / "data", base / "server.log",
                 ["--external-connection", f"{CONNECTION}={public.url}"]).start()
    yield srv
    srv.terminate()


def signed(srv: Server, method: str, path: str, body: bytes = b"", headers: dict | None = None,
           access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY) -> dict[str, str]:
    hdrs = {"Host": srv.address, **(headers or {})}
    req = AWSRequest(method=method, url=f"http://{srv.address}{path}", data=body, headers=hdrs)
    SigV4Auth(Credentials(access_key, secret_key), "codeartifact", REGION).add_auth(req)
    return dict(req.headers.items())


def admin(srv: Server, method: str, route: str, query: dict | None = None, body: Any = None,
          headers: dict | None = None, sign: bool = True, timeout: float = 30):
    path = f"{ADMIN}/{route}"
    if query:
        path += "?" + urllib.parse.urlencode(query)
    data = json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else (body or b"")
    hdrs = {"Content-Type": "application/json"} if data else {}
    hdrs.update(headers or {})
    hdrs = signed(srv, method, path, data, hdrs) if sign else {"Host": srv.address, **hdrs}
    return http_request(srv.host, srv.port, method, path, data or None, hdrs, timeout=timeout)


def add_rule(srv: Server, rule: dict) -> dict:
    r = admin(srv, "POST", "faults", body=rule)
    assert r.status == 200, r
    return r.json["rules"][0]


@pytest.fixture
def faults(server):
    """Clears every rule before and after the test."""
    assert admin(server, "DELETE", "faults").status == 200
    yield lambda rule: add_rule(server, rule)
    assert admin(server, "DELETE", "faults").status == 200


def now_cursor(srv: Server) -> str:
    r = admin(srv, "GET", "events", {"after": "now"})
    assert r.status == 200 and r.json["events"] == [], r
    return r.json["cursor"]


def await_events(srv: Server, after: str | None, n: int, **filters: str) -> tuple[list[dict], str]:
    """Long-polls until `n` events matching `filters` arrived after `after`; no sleeping."""
    got: list[dict] = []
    deadline = time.monotonic() + 30
    while len(got) < n:
        assert time.monotonic() < deadline, f"only {len(got)} of {n} events: {got}"
        query = {"wait": WAIT, **filters}
        if after is not None:
            query["after"] = after
        r = admin(srv, "GET", "events", query, timeout=60)
        assert r.status == 200, r
        got += r.json["events"]
        after = r.json["cursor"]
    return got, after


def publish(ca, domain: str, repo: str, package: str, version: str) -> None:
    data = f"{package} {version}".encode()
    ca.publish_package_version(domain=domain, repository=repo, format="generic", namespace="ns",
                               package=package, packageVersion=version, assetContent=data,
                               assetName="a.bin", assetSHA256=sha256_of(data))


@pytest.fixture
def repo(ca, track):
    domain = track.create_domain(unique("ctl"))["name"]
    ca.create_repository(domain=domain, repository="rr")
    return domain


# --------------------------------------------------------------------------------------------
# The event stream
# --------------------------------------------------------------------------------------------


def test_publish_then_await_the_event_long_poll_and_sse(server, ca, repo):
    domain = repo
    cursor = now_cursor(server)
    publish(ca, domain, "rr", "pkg-a", "1.0")
    publish(ca, domain, "rr", "pkg-b", "1.0")
    events, after = await_events(server, cursor, 1, domain=domain, package="pkg-b")
    assert len(events) == 1, events
    env = events[0]["event"]
    assert env["detail-type"] == "CodeArtifact Package Version State Change"
    assert env["account"] == ACCOUNT and events[0]["accounts"] == [ACCOUNT]
    d = env["detail"]
    assert (d["domainName"], d["repositoryName"], d["packageName"], d["packageVersion"],
            d["operationType"]) == (domain, "rr", "pkg-b", "1.0", "Created")
    assert int(events[0]["cursor"]) > int(cursor)
    # The filter is exact: the other package's event is not in it; without it, both are.
    both, _ = await_events(server, cursor, 2, domain=domain)
    assert [e["event"]["detail"]["packageName"] for e in both] == ["pkg-a", "pkg-b"]
    # A poll with nothing new waits `wait` seconds at most and hands back the same place.
    r = admin(server, "GET", "events", {"after": after, "wait": "0", "domain": domain})
    assert r.status == 200 and r.json == {"events": [], "cursor": after}, r

    # Server-Sent Events: subscribe, then publish, then read the event as it comes.
    path = f"{ADMIN}/events?" + urllib.parse.urlencode({"after": after, "domain": domain, "operation": "Updated"})
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        conn.request("GET", path, headers=signed(server, "GET", path, headers={"Accept": "text/event-stream"}))
        resp = conn.getresponse()
        assert resp.status == 200 and resp.getheader("content-type") == "text/event-stream"
        assert resp.readline().startswith(b"retry:")
        assert resp.readline().startswith(b": subscribed at cursor")
        ca.update_package_versions_status(domain=domain, repository="rr", format="generic", namespace="ns",
                                          package="pkg-a", versions=["1.0"], targetStatus="Archived")
        lines = []
        while True:
            line = resp.readline()
            if line == b"\n" and any(l.startswith(b"data:") for l in lines):
                break
            if not line.startswith(b":") and line != b"\n":
                lines.append(line)
        ident = next(l for l in lines if l.startswith(b"id: "))[4:].strip().decode()
        data = json.loads(next(l for l in lines if l.startswith(b"data: "))[6:])
        assert data["cursor"] == ident
        assert data["event"]["detail"]["packageVersionState"] == "Archived"
        assert data["event"]["detail"]["operationType"] == "Updated"
    finally:
        conn.close()


def test_events_stay_ordered_per_package_and_cursors_survive_a_restart(server_factory, tmp_path,
                                                                         _isolated_aws_env):
    data = tmp_path / "data-restart"
    srv = server_factory(data_dir=data)
    ca = make_client(srv.endpoint)
    ca.create_domain(domain="ord")
    ca.create_repository(domain="ord", repository="rr")
    for v in ("1", "2", "3"):
        publish(ca, "ord", "rr", "p", v)
    before, _ = await_events(srv, None, 3, package="p")
    assert srv.terminate() == 0

    srv = server_factory(data_dir=data)
    ca = make_client(srv.endpoint)
    for v in ("4", "5"):
        publish(ca, "ord", "rr", "p", v)
    # The cursor of the second event, handed out before the restart, goes on after it.
    after_second, _ = await_events(srv, before[1]["cursor"], 3, package="p")
    assert [e["event"]["detail"]["packageVersion"] for e in after_second] == ["3", "4", "5"]
    everything, _ = await_events(srv, None, 5, package="p")
    details = [e["event"]["detail"] for e in everything]
    assert [d["packageVersion"] for d in details] == ["1", "2", "3", "4", "5"]
    assert [d["sequenceNumber"] for d in details] == [1, 2, 3, 4, 5]
    cursors = [int(e["cursor"]) for e in everything]
    assert cursors == sorted(set(cursors)), cursors
    assert [e["cursor"] for e in everything[:3]] == [e["cursor"] for e in before]

    # A reset that empties the state keeps the event numbers going: after it and a restart,
    # a new event's cursor is past every cursor handed out before.
    r = admin(srv, "POST", "reset", headers={"x-amz-content-sha256": sha256_of(b"")})
    assert r.status == 200, r
    assert srv.terminate() == 0
    srv = server_factory(data_dir=data)
    ca = make_client(srv.endpoint)
    ca.create_domain(domain="ord")
    ca.create_repository(domain="ord", repository="rr")
    publish(ca, "ord", "rr", "p", "6")
    fresh, _ = await_events(srv, everything[-1]["cursor"], 1, package="p")
    assert int(fresh[0]["cursor"]) > max(cursors), (fresh, cursors)
    assert fresh[0]["event"]["detail"]["packageVersion"] == "6"


# --------------------------------------------------------------------------------------------
# Bad input and who may call
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("route,method,query,body,says", [
    ("events", "GET", {"after": "99999999999"}, None, "does not exist"),
    ("events", "GET", {"after": "abc"}, None, "does not exist"),
    ("events", "GET", {"wait": "-1"}, None, "`wait`"),
    ("events", "GET", {"wait": "600"}, None, "`wait`"),
    ("events", "GET", {"operation": "Published"}, None, "Unknown operation"),
    ("events", "GET", {"format": "deb"}, None, "Unknown format"),
    ("events", "GET", {"colour": "red"}, None, "Unknown parameter"),
    ("faults", "POST", None, {"scope": "controlPlane", "operations": ["ListPackagez"], "error": "ThrottlingException"},
     "Unknown operation `ListPackagez`"),
    ("faults", "POST", None, {"scope": "controlPlane", "operations": ["Frobnicate*"], "cut": True}, "Unknown operation"),
    ("faults", "POST", None, {"scope": "controlPlane", "operations": ["*"], "error": "ThrottlingException",
                              "probability": 1.5}, "between 0 and 1"),
    ("faults", "POST", None, {"scope": "controlPlane", "operations": ["*"], "error": "ThrottlingException",
                              "probability": -0.5}, "between 0 and 1"),
    ("faults", "POST", None, {"scope": "controlPlane", "operations": ["*"], "latencyMs": -10}, "negative"),
    ("faults", "POST", None, b"{not json", "not JSON"),
    ("faults", "POST", None, {"scope": "controlPlane", "operations": ["*"], "error": "Teapot"}, "Unknown error"),
    ("faults", "POST", None, {"scope": "repository", "formats": ["deb"], "cut": True}, "Unknown format"),
    ("faults", "POST", None, {"scope": "upstream", "connections": ["public:nope"], "unreachable": True},
     "No upstream URL"),
    ("faults", "POST", None, {"scope": "controlPlane", "operations": ["*"], "cut": True, "extra": 1}, "Unknown field"),
])
def test_bad_input_is_a_400_with_a_clear_message(server, faults, route, method, query, body, says):
    r = admin(server, method, route, query, body)
    assert r.status == 400, r
    assert r.error_type == "ValidationException" and says in r.json["message"], r
    assert admin(server, "GET", "faults").json == {"rules": []}, "nothing half-added"


def test_a_repository_token_never_reaches_the_admin_routes(server, ca, repo):
    token = ca.get_authorization_token(domain=repo)["authorizationToken"]
    for auth in (f"Bearer {token}", basic(token)):
        for method, route in (("GET", "events"), ("GET", "faults"), ("DELETE", "faults")):
            r = admin(server, method, route, headers={"Authorization": auth}, sign=False)
            assert r.status in (401, 403), r
            assert r.json["__type"] in ("IncompleteSignatureException", "InvalidSignatureException",
                                        "UnrecognizedClientException", "AccessDeniedException",
                                        "MissingAuthenticationTokenException"), r
    assert admin(server, "GET", "faults", sign=False).status in (401, 403)
    wrong = signed(server, "GET", f"{ADMIN}/faults", secret_key="wrong")
    assert http_request(server.host, server.port, "GET", f"{ADMIN}/faults", None, wrong).status == 403


# --------------------------------------------------------------------------------------------
# Control-plane faults with real clients
# --------------------------------------------------------------------------------------------


def retrying_client(srv: Server, mode: str):
    import boto3
    return boto3.session.Session().client(
        "codeartifact", endpoint_url=srv.endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY, config=Config(retries={"mode": mode, "max_attempts": 5}))


@pytest.mark.parametrize("mode", ["standard", "adaptive"])
def test_boto3_retries_through_injected_throttling(server, faults, mode):
    rule = faults({"scope": "controlPlane", "operations": ["ListDomains"], "error": "ThrottlingException",
                   "retryAfterSeconds": 1, "count": 2})
    # Another operation is untouched.
    assert make_client(server.endpoint).list_repositories()["ResponseMetadata"]["RetryAttempts"] == 0
    out = retrying_client(server, mode).list_domains()
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert out["ResponseMetadata"]["RetryAttempts"] == 2
    assert all(r["id"] != rule["id"] for r in admin(server, "GET", "faults").json["rules"]), "spent"


def test_cli_shows_the_throttling_error_with_retries_off(server, faults, tmp_path):
    faults({"scope": "controlPlane", "operations": ["List*"], "error": "ThrottlingException",
            "retryAfterSeconds": 2, "count": 1})
    r = run_aws(server.endpoint, tmp_path / "home", "codeartifact", "list-domains")  # AWS_MAX_ATTEMPTS=1
    assert r.rc != 0 and r.error_code() == "ThrottlingException", r
    assert "Rate exceeded" in r.err, r.err
    raw = admin(server, "POST", "faults", body={"scope": "controlPlane", "operations": ["ListDomains"],
                                                 "error": "ThrottlingException", "retryAfterSeconds": 2, "count": 1})
    assert raw.status == 200
    # A request whose signature fails gets the signature error and leaves the rule unspent.
    forged = signed(server, "POST", "/v1/domains", b"{}", {"Content-Type": "application/json"}, secret_key="bad")
    resp = http_request(server.host, server.port, "POST", "/v1/domains", b"{}", forged)
    assert resp.status == 403 and resp.error_type == "InvalidSignatureException", resp
    assert admin(server, "GET", "faults").json["rules"][0]["remaining"] == 1
    resp = http_request(server.host, server.port, "POST", "/v1/domains", b"{}",
                        signed(server, "POST", "/v1/domains", b"{}", {"Content-Type": "application/json"}))
    assert (resp.status, resp.error_type, resp.header("Retry-After")) == (429, "ThrottlingException", "2"), resp
    assert run_aws(server.endpoint, tmp_path / "home", "codeartifact", "list-domains").rc == 0


def test_errors_latency_and_cuts_keep_to_their_rules(server, faults, repo):
    quiet = make_client(server.endpoint)
    faults({"scope": "controlPlane", "operations": ["DescribeDomain"], "error": "ServiceQuotaExceededException",
            "count": 1})
    with pytest.raises(quiet.exceptions.ServiceQuotaExceededException):
        quiet.describe_domain(domain=repo)
    faults({"scope": "controlPlane", "operations": ["DescribeDomain"], "error": "InternalServerException",
            "count": 1})
    with pytest.raises(quiet.exceptions.InternalServerException):
        quiet.describe_domain(domain=repo)
    faults({"scope": "controlPlane", "operations": ["DescribeDomain"], "latencyMs": 400, "count": 1})
    started = time.monotonic()
    quiet.describe_domain(domain=repo)
    assert time.monotonic() - started >= 0.4
    faults({"scope": "controlPlane", "operations": ["DescribeRepository"], "cut": True, "count": 1})
    from botocore.exceptions import ConnectionClosedError, EndpointConnectionError
    with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
        quiet.describe_repository(domain=repo, repository="rr")
    out = retrying_client(server, "standard").describe_repository(domain=repo, repository="rr")
    assert out["ResponseMetadata"]["RetryAttempts"] == 0, "the cut was spent on the first call"
    # A window: the rule is listed while it lasts, then gone; probability 0 never fires.
    faults({"id": "never", "scope": "controlPlane", "operations": ["*"], "cut": True, "probability": 0})
    faults({"id": "later", "scope": "controlPlane", "operations": ["*"], "cut": True, "delaySeconds": 3600})
    for _ in range(5):
        quiet.describe_domain(domain=repo)
    listed = {r["id"]: r for r in admin(server, "GET", "faults").json["rules"]}
    assert listed["never"]["fired"] == 0 and listed["later"]["fired"] == 0
    assert admin(server, "DELETE", "faults/later").status == 200
    assert admin(server, "DELETE", "faults/later").status == 404


# --------------------------------------------------------------------------------------------
# Repository endpoints: npm and pip survive injected 503s on file downloads
# --------------------------------------------------------------------------------------------


class RetryingNpm(npmkit.Npm):
    """npm with its own retries on (npmkit turns them off), waiting 0.2–1 s between tries."""

    def env(self) -> dict[str, str]:
        env = super().env()
        env.update({"npm_config_fetch_retries": "3", "npm_config_fetch_retry_mintimeout": "200",
                    "npm_config_fetch_retry_maxtimeout": "1000"})
        return env


def test_npm_install_survives_503s_on_tarball_downloads(server, faults, repo, tmp_path):
    login = npmkit.login(server.endpoint, tmp_path / "npm-home", repo, "rr")
    npm = RetryingNpm(login.home, login.registry, login.token)
    npmkit.publish(npm, tmp_path, "flaky-dep", "1.0.0")
    rule = faults({"scope": "repository", "formats": ["npm"], "actions": ["read"], "paths": ["*.tgz"],
                   "error": "ServiceUnavailableException", "count": 2})
    project = npmkit.make_project(tmp_path)
    npm("install", "flaky-dep@1.0.0", cwd=project, check=True)
    assert json.loads((project / "node_modules/flaky-dep/package.json").read_text())["version"] == "1.0.0"
    assert all(r["id"] != rule["id"] for r in admin(server, "GET", "faults").json["rules"]), \
        "both 503s were served before npm got the tarball"
    # With retries off the same fault fails the install: the rule really bites.
    faults({"scope": "repository", "formats": ["npm"], "paths": ["*.tgz"], "error": "ServiceUnavailableException",
            "count": 1})
    p = login("install", "flaky-dep@1.0.0", cwd=npmkit.make_project(tmp_path))
    assert p.returncode != 0 and "503" in p.stderr, p.stderr


class RetryingPip(Pip):
    def env(self) -> dict[str, str]:
        env = super().env()
        env["PIP_RETRIES"] = "4"
        return env


def test_pip_install_survives_503s_on_file_downloads(server, ca, faults, repo, tmp_path):
    token = ca.get_authorization_token(domain=repo)["authorizationToken"]
    wheel = make_wheel(tmp_path / "dist", "flaky-lib", "1.0.0")
    body, ctype = multipart(upload_fields(wheel), wheel.name, wheel.read_bytes())
    path = f"/pypi/d/{repo}-{ACCOUNT}/rr/"
    up = http_request(server.host, server.port, "POST", path, body,
                      {"Host": server.address, "Content-Type": ctype, "Authorization": basic(token)})
    assert up.status == 200, up
    rule = faults({"scope": "repository", "formats": ["pypi"], "paths": ["*.whl"],
                   "error": "ServiceUnavailableException", "count": 2})
    index = f"http://aws:{urllib.parse.quote(token, safe='')}@127.0.0.1:{server.port}{path}simple/"
    pip = RetryingPip(tmp_path / "pip-home", index, server.port)
    (tmp_path / "pip-home").mkdir()
    target = tmp_path / "site"
    pip.install(target, "flaky-lib==1.0.0")
    assert (target / "flaky_lib-1.0.0.dist-info").is_dir()
    assert all(r["id"] != rule["id"] for r in admin(server, "GET", "faults").json["rules"])


# --------------------------------------------------------------------------------------------
# External connections
# --------------------------------------------------------------------------------------------


def test_an_unreachable_external_connection_serves_what_is_kept_and_recovers(server, ca, track, faults):
    domain = track.create_domain(unique("ext"))["name"]
    ca.create_repository(domain=domain, repository="store")
    ca.associate_external_connection(domain=domain, repository="store", externalConnection=CONNECTION)
    token = ca.get_authorization_token(domain=domain)["authorizationToken"]
    base = f"/npm/d/{domain}-{ACCOUNT}/store/"

    def get(rest: str):
        return http_request(server.host, server.port, "GET", base + rest, None,
                            {"Host": server.address, "Authorization": f"Bearer {token}"})

    doc = get("ext-alpha")
    assert doc.status == 200 and sorted(doc.json["versions"]) == ["1.0.0", "1.1.0"], doc
    assert get("ext-alpha/-/ext-alpha-1.0.0.tgz").status == 200  # retained in `store`

    for rule in ({"scope": "upstream", "connections": [CONNECTION], "unreachable": True},
                 {"scope": "upstream", "status": 503},
                 {"scope": "upstream", "latencyMs": 300, "unreachable": True}):
        faults(rule)
        kept = get("ext-alpha")
        assert kept.status == 200 and list(kept.json["versions"]) == ["1.0.0"], kept
        assert get("ext-alpha/-/ext-alpha-1.1.0.tgz").status == 404
        assert get("never-published").status == 404
        assert ca.list_package_versions(domain=domain, repository="store", format="npm",
                                        package="ext-alpha")["versions"][0]["version"] == "1.0.0"
        assert admin(server, "DELETE", "faults").status == 200
    recovered = get("ext-alpha")
    assert sorted(recovered.json["versions"]) == ["1.0.0", "1.1.0"], recovered
    assert get("ext-alpha/-/ext-alpha-1.1.0.tgz").status == 200

    # Slow, not down: the registry is still read, later.
    faults({"scope": "upstream", "latencyMs": 300, "count": 1})
    started = time.monotonic()
    slow = get("ext-alpha")
    assert time.monotonic() - started >= 0.3
    assert sorted(slow.json["versions"]) == ["1.0.0", "1.1.0"], slow
    # The repository endpoint itself: an error in npm's shape, and a cut connection.
    faults({"scope": "repository", "formats": ["npm"], "error": "InternalServerException", "count": 1})
    failed = get("ext-alpha")
    assert (failed.status, failed.error_type) == (500, "InternalServerException"), failed
    assert "error" in failed.json, failed
    faults({"scope": "repository", "formats": ["npm"], "actions": ["read"], "cut": True, "count": 1})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
        get("ext-alpha")
    assert get("ext-alpha").status == 200


def test_rules_from_start_up_flags_and_controls_turned_off(server_factory, _isolated_aws_env):
    rule = json.dumps({"id": "boot", "scope": "controlPlane", "operations": ["ListDomains"],
                       "error": "ThrottlingException", "count": 1})
    srv = server_factory(extra_args=["--fault", rule])
    listed = admin(srv, "GET", "faults").json["rules"]
    assert [r["id"] for r in listed] == ["boot"]
    client = make_client(srv.endpoint)
    with pytest.raises(client.exceptions.ThrottlingException):
        client.list_domains()
    off = server_factory(extra_args=["--no-test-controls"])
    r = admin(off, "GET", "events")
    assert r.status == 404 and "--no-test-controls" in r.json["message"], r
    bad = Server(srv.data_dir.parent / "bad", srv.data_dir.parent / "bad.log",
                 ["--fault", json.dumps({"scope": "controlPlane", "operations": ["Nope"], "cut": True})])
    with pytest.raises(pytest.fail.Exception):
        bad.start()
    assert "Unknown operation `Nope`" in bad.log()
