"""EventBridge events for package version changes ("CodeArtifact Package Version State
Change"), end to end: one server per module started with `--events-file` (JSON lines) and
`--events-endpoint` pointing at an in-process PutEvents receiver; every event is checked in
both sinks.

References: events spec §2 (envelope), §3 (detail), §4 (trigger table), §5 (delivery:
recipients, asynchrony, sequence numbers, deduplication ids, PutEvents, failing sinks).

Every test works in its own domain and selects events by `detail.domainName`. Delivery is
asynchronous, so the tests poll; "no event" is checked by a later change of the same package
(per-package order is preserved, spec §5) and an exact count of everything delivered for the
domain.
"""

from __future__ import annotations

import base64
import datetime as _dt
import io
import json
import re
import socket
import subprocess
import time
import urllib.parse
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from conftest import (
    ACCESS_KEY,
    ACCOUNT,
    OTHER_ACCESS_KEY,
    OTHER_ACCOUNT,
    OTHER_SECRET_KEY,
    REGION,
    SECRET_KEY,
    Server,
    allow_policy,
    client_env,
    http_request,
    make_client,
    sha256_of,
    unique,
    which,
)
from eventsink import Receiver, poll, read_events_file, sigv4_check
from npmkit import sha1, sri, tarball

DETAIL_TYPE = "CodeArtifact Package Version State Change"
SOURCE = "aws.codeartifact"
WAIT = 10.0

DETAIL_KEYS = {
    "domainName", "domainOwner", "repositoryName", "repositoryAdministrator", "packageFormat",
    "packageNamespace", "packageName", "packageVersion", "packageVersionState",
    "packageVersionRevision", "changes", "operationType", "sequenceNumber", "eventDeduplicationId",
}
CHANGE_KEYS = {"assetsAdded", "assetsRemoved", "assetsUpdated", "metadataUpdated", "statusChanged"}
KEY_OF_ACCOUNT = {ACCOUNT: ACCESS_KEY, OTHER_ACCOUNT: OTHER_ACCESS_KEY}
ACCOUNT_OF_KEY = {v: k for k, v in KEY_OF_ACCOUNT.items()}
SECRETS = {ACCESS_KEY: SECRET_KEY, OTHER_ACCESS_KEY: OTHER_SECRET_KEY}
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


# --------------------------------------------------------------------------------------------
# Fixtures: the receiver, the events file, and a server delivering to both
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def events_path(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("events") / "events.jsonl"


@pytest.fixture(scope="module")
def server(tmp_path_factory, receiver, events_path):
    """Overrides conftest's `server`: this module's server delivers events to both sinks, so
    `ca`, `ca_other`, `track`… all talk to it."""
    base = tmp_path_factory.mktemp("server")
    srv = Server(base / "data", base / "server.log",
                 ["--events-file", str(events_path), "--events-endpoint", receiver.url]).start()
    yield srv
    srv.terminate()


class Sinks:
    """Both sinks of the module's server, read together."""

    def __init__(self, path: Path, receiver: Receiver):
        self.path = path
        self.receiver = receiver

    def file_events(self, domain: str | None = None) -> list[dict]:
        return [e for e in read_events_file(self.path)
                if domain is None or e.get("detail", {}).get("domainName") == domain]

    def received(self, domain: str | None = None) -> list[tuple[Any, dict, dict]]:
        return [x for x in self.receiver.entries()
                if domain is None or x[2].get("domainName") == domain]

    def wait(self, domain: str, count: int, timeout: float = WAIT) -> list[dict]:
        """Waits until both sinks hold at least `count` events of the domain; asserts exactly
        `count`, checks that both sinks agree, and returns the file's envelopes in order."""
        def ready():
            return len(self.file_events(domain)) >= count and len(self.received(domain)) >= count

        poll(ready, timeout)
        got = self.file_events(domain)
        rec = self.received(domain)
        assert len(got) == count, (
            f"expected {count} events for {domain} in the events file, got {len(got)}:\n"
            + "\n".join(json.dumps(e["detail"]) for e in got))
        assert len(rec) == count, (
            f"expected {count} PutEvents entries for {domain}, got {len(rec)}:\n"
            + "\n".join(json.dumps(d) for _, _, d in rec))
        self.agree(got, rec)
        return got

    @staticmethod
    def agree(envelopes: list[dict], received: list[tuple[Any, dict, dict]]) -> None:
        """The file and PutEvents carry the same events: per (account, dedup id), the same
        detail, resources and time (spec §5: PutEvents `Source`, `DetailType`, `Detail`,
        `Resources`, `Time` on the recipient's `default` bus)."""
        by_key = {}
        for req, entry, detail in received:
            account = ACCOUNT_OF_KEY.get(req.access_key)
            assert account is not None, f"PutEvents signed with an unknown key: {req.header('Authorization')}"
            k = (account, detail.get("eventDeduplicationId"))
            assert k not in by_key, f"the same event was put twice for one account: {k}"
            by_key[k] = (req, entry, detail)
        for env in envelopes:
            k = (env["account"], env["detail"]["eventDeduplicationId"])
            assert k in by_key, f"event {k} is in the file but was not put to {env['account']}"
            req, entry, detail = by_key[k]
            assert entry.get("Source") == SOURCE, entry
            assert entry.get("DetailType") == DETAIL_TYPE, entry
            assert entry.get("EventBusName") == "default", entry
            assert isinstance(entry.get("Detail"), str), "Detail is a JSON string"
            assert detail == env["detail"], (detail, env["detail"])
            assert entry.get("Resources") == env["resources"], (entry, env)
            assert isinstance(entry.get("Time"), (int, float)) and not isinstance(entry.get("Time"), bool), entry
            assert int(entry["Time"]) == int(epoch(env["time"])), (entry["Time"], env["time"])
            assert set(entry) <= {"Source", "DetailType", "Detail", "Resources", "Time",
                                  "EventBusName", "TraceHeader"}, entry


@pytest.fixture(scope="module")
def sinks(events_path, receiver, server) -> Sinks:
    return Sinks(events_path, receiver)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def epoch(rfc3339: str) -> float:
    return _dt.datetime.strptime(rfc3339, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=_dt.timezone.utc).timestamp()


def publish(ca, domain, repository, package, version, asset="asset.bin", data=None, namespace="ns",
            **kwargs) -> dict:
    data = data if data is not None else f"{package} {version} {asset}".encode()
    return ca.publish_package_version(domain=domain, repository=repository, format="generic",
                                      namespace=namespace, package=package, packageVersion=version,
                                      assetContent=data, assetName=asset, assetSHA256=sha256_of(data),
                                      **kwargs)


def generic(domain, repository, package, namespace="ns", **extra) -> dict:
    return {"domain": domain, "repository": repository, "format": "generic", "namespace": namespace,
            "package": package, **extra}


def revision(ca, **args) -> str:
    return ca.describe_package_version(**args)["packageVersion"]["revision"]


def package_arn(domain, repo, fmt, namespace, name, owner=ACCOUNT, region=REGION) -> str:
    return f"arn:aws:codeartifact:{region}:{owner}:package/{domain}/{repo}/{fmt}/{namespace or ''}/{name}"


def check_envelope(env: dict, *, account: str = ACCOUNT, since: float | None = None,
                   until: float | None = None) -> None:
    """Spec §2/§3: the envelope and the shape of every detail member."""
    assert set(env) == {"version", "id", "detail-type", "source", "account", "time", "region",
                        "resources", "detail"}, sorted(env)
    assert env["version"] == "0"
    assert isinstance(env["id"], str) and UUID_RE.match(env["id"]), env["id"]
    assert env["detail-type"] == DETAIL_TYPE
    assert env["source"] == SOURCE
    assert env["account"] == account
    assert isinstance(env["time"], str) and TIME_RE.match(env["time"]), env["time"]
    if since is not None:
        assert epoch(env["time"]) >= int(since) - 1, (env["time"], since)
    if until is not None:
        assert epoch(env["time"]) <= until + 1, (env["time"], until)
    assert env["region"] == REGION
    d = env["detail"]
    assert set(d) == DETAIL_KEYS, sorted(d)
    assert set(d["changes"]) == CHANGE_KEYS, d["changes"]
    for k in ("assetsAdded", "assetsRemoved", "assetsUpdated"):
        v = d["changes"][k]
        assert isinstance(v, int) and not isinstance(v, bool) and v >= 0, (k, v)
    for k in ("metadataUpdated", "statusChanged"):
        assert isinstance(d["changes"][k], bool), (k, d["changes"][k])
    assert isinstance(d["sequenceNumber"], int) and not isinstance(d["sequenceNumber"], bool)
    assert d["sequenceNumber"] >= 1
    for k in ("domainName", "domainOwner", "repositoryName", "repositoryAdministrator",
              "packageFormat", "packageName", "packageVersion", "packageVersionState",
              "packageVersionRevision", "operationType", "eventDeduplicationId"):
        assert isinstance(d[k], str) and d[k], (k, d[k])
    assert d["packageNamespace"] is None or (isinstance(d["packageNamespace"], str) and d["packageNamespace"])
    assert d["operationType"] in ("Created", "Updated", "Deleted")
    assert d["packageVersionState"] in ("Unfinished", "Published", "Unlisted", "Archived",
                                        "Disposed", "Deleted")
    dedup = d["eventDeduplicationId"]
    assert len(dedup) == 44, dedup
    assert len(base64.b64decode(dedup, validate=True)) == 32, dedup
    assert env["resources"] == [package_arn(d["domainName"], d["repositoryName"], d["packageFormat"],
                                            d["packageNamespace"], d["packageName"],
                                            owner=d["domainOwner"], region=env["region"])], env["resources"]


def expect(env: dict, *, repo: str, version: str, op: str, state: str, added=0, removed=0,
           updated=0, metadata: bool, status: bool, fmt: str = "generic", namespace: str | None = "ns",
           name: str | None = None, seq: int | None = None) -> None:
    """Spec §4: one row of the trigger table."""
    d = env["detail"]
    got = {
        "repositoryName": d["repositoryName"], "packageFormat": d["packageFormat"],
        "packageNamespace": d["packageNamespace"], "packageVersion": d["packageVersion"],
        "operationType": d["operationType"], "packageVersionState": d["packageVersionState"],
        "changes": d["changes"],
    }
    want = {
        "repositoryName": repo, "packageFormat": fmt, "packageNamespace": namespace,
        "packageVersion": version, "operationType": op, "packageVersionState": state,
        "changes": {"assetsAdded": added, "assetsRemoved": removed, "assetsUpdated": updated,
                    "metadataUpdated": metadata, "statusChanged": status},
    }
    assert got == want, f"\n got: {got}\nwant: {want}"
    if name is not None:
        assert d["packageName"] == name, d
    if seq is not None:
        assert d["sequenceNumber"] == seq, d


def strictly_increasing(events: list[dict]) -> list[int]:
    seqs = [e["detail"]["sequenceNumber"] for e in events]
    assert all(a < b for a, b in zip(seqs, seqs[1:])), f"sequence numbers must strictly increase: {seqs}"
    return seqs


# npm ----------------------------------------------------------------------------------------


class NpmRepo:
    """One npm repository endpoint reached with a bearer token (raw HTTP and the npm client)."""

    def __init__(self, server, ca, domain: str, repo: str, owner: str = ACCOUNT):
        self.server = server
        self.endpoint = ca.get_repository_endpoint(domain=domain, domainOwner=owner, repository=repo,
                                                   format="npm")["repositoryEndpoint"]
        assert self.endpoint.startswith("http://127.0.0.1:"), self.endpoint
        self.token = ca.get_authorization_token(domain=domain, domainOwner=owner)["authorizationToken"]

    def request(self, method: str, rest: str, body: Any = None, accept: str = "application/json"):
        path = urllib.parse.urlsplit(self.endpoint).path + rest
        hdrs = {"Host": self.server.address, "Accept": accept, "Authorization": f"Bearer {self.token}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        return http_request(self.server.host, self.server.port, method, path, data, hdrs)

    def put(self, name: str, version: str):
        """What `npm publish` sends (repository-endpoints spec §5.4), made by hand."""
        tgz = tarball(name, version)
        base = name.split("/")[-1]
        body = {
            "_id": name, "name": name, "description": "events test",
            "dist-tags": {"latest": version},
            "versions": {version: {
                "name": name, "version": version, "main": "index.js", "_id": f"{name}@{version}",
                "dist": {"integrity": sri(tgz), "shasum": sha1(tgz),
                         "tarball": f"{self.endpoint}{name}/-/{base}-{version}.tgz"},
            }},
            "_attachments": {f"{name}-{version}.tgz": {
                "content_type": "application/octet-stream",
                "data": base64.b64encode(tgz).decode(), "length": len(tgz)}},
        }
        path_name = name.replace("/", "%2f")
        r = self.request("PUT", path_name, body)
        assert r.status in (200, 201), r
        return r

    def npm(self, home: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
        home.mkdir(parents=True, exist_ok=True)
        u = urllib.parse.urlsplit(self.endpoint)
        (home / ".npmrc").write_text(f"registry={self.endpoint}\n//{u.netloc}{u.path}:_authToken={self.token}\n")
        globalrc = home / ".npmrc-global"
        globalrc.touch()
        env = client_env(home)
        env.update({
            "NPM_CONFIG_USERCONFIG": str(home / ".npmrc"),
            "npm_config_globalconfig": str(globalrc),
            "npm_config_registry": self.endpoint,
            "npm_config_cache": str(home / ".npm-cache"),
            "npm_config_audit": "false", "npm_config_fund": "false",
            "npm_config_update_notifier": "false", "npm_config_fetch_retries": "0",
            "npm_config_ignore_scripts": "true", "npm_config_provenance": "false",
        })
        assert self.endpoint.startswith("http://127.0.0.1:")
        return subprocess.run(["npm", *args], env=env, capture_output=True, text=True, timeout=90,
                              cwd=str(cwd))


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------


def test_generic_publish_unfinished_then_final(ca, track, sinks):
    """§4 rows PublishPackageVersion (unfinished, extra asset, last asset, final); §2/§3 envelope;
    §5 PutEvents shape; an identical re-publish emits nothing."""
    domain = track.create_domain()["name"]
    ca.create_repository(domain=domain, repository="repo")
    t0 = time.time()
    publish(ca, domain, "repo", "pkg", "1.0.0", asset="a.bin", unfinished=True)
    publish(ca, domain, "repo", "pkg", "1.0.0", asset="b.bin")
    # three assets: created unfinished, an extra asset still unfinished, then the last one
    publish(ca, domain, "repo", "pkg", "2.0.0", asset="a.bin", unfinished=True)
    publish(ca, domain, "repo", "pkg", "2.0.0", asset="b.bin", unfinished=True)
    publish(ca, domain, "repo", "pkg", "2.0.0", asset="c.bin")
    t1 = time.time()
    events = sinks.wait(domain, 5)
    for e in events:
        check_envelope(e, since=t0, until=t1)
        d = e["detail"]
        assert (d["domainName"], d["domainOwner"], d["repositoryAdministrator"], d["packageName"]) == \
            (domain, ACCOUNT, ACCOUNT, "pkg"), d
        assert e["resources"] == [f"arn:aws:codeartifact:{REGION}:{ACCOUNT}:package/{domain}/repo/generic/ns/pkg"]
    expect(events[0], repo="repo", version="1.0.0", op="Created", state="Unfinished", added=1,
           metadata=True, status=True, seq=1)
    expect(events[1], repo="repo", version="1.0.0", op="Updated", state="Published", added=1,
           metadata=False, status=True, seq=2)
    expect(events[2], repo="repo", version="2.0.0", op="Created", state="Unfinished", added=1,
           metadata=True, status=True, seq=3)
    expect(events[3], repo="repo", version="2.0.0", op="Updated", state="Unfinished", added=1,
           metadata=False, status=False, seq=4)
    expect(events[4], repo="repo", version="2.0.0", op="Updated", state="Published", added=1,
           metadata=False, status=True, seq=5)
    # the revision is the version's revision after the change
    assert events[1]["detail"]["packageVersionRevision"] == revision(ca, **generic(domain, "repo", "pkg"),
                                                                     packageVersion="1.0.0")
    assert events[4]["detail"]["packageVersionRevision"] == revision(ca, **generic(domain, "repo", "pkg"),
                                                                     packageVersion="2.0.0")
    assert events[0]["detail"]["packageVersionRevision"] != events[1]["detail"]["packageVersionRevision"]
    ids = [e["id"] for e in events]
    dedups = [e["detail"]["eventDeduplicationId"] for e in events]
    assert len(set(ids)) == 5 and len(set(dedups)) == 5, (ids, dedups)

    # an identical re-publish of an existing asset changes nothing → no event (§4); whatever the
    # API answers, the next change of the package is the only further event
    try:
        publish(ca, domain, "repo", "pkg", "1.0.0", asset="b.bin")
    except Exception:
        pass
    # package-level operations are not version changes: no event (§4)
    ca.put_package_origin_configuration(**generic(domain, "repo", "pkg"),
                                        restrictions={"publish": "ALLOW", "upstream": "BLOCK"})
    ca.tag_resource(resourceArn=f"arn:aws:codeartifact:{REGION}:{ACCOUNT}:repository/{domain}/repo",
                    tags=[{"key": "k", "value": "v"}])
    ca.update_package_versions_status(**generic(domain, "repo", "pkg"), versions=["1.0.0"],
                                      targetStatus="Unlisted")
    events = sinks.wait(domain, 6)
    expect(events[5], repo="repo", version="1.0.0", op="Updated", state="Unlisted", metadata=False,
           status=True, seq=6)


def test_put_events_requests(ca, track, sinks, receiver):
    """§5: PutEvents calls — POST, AWSEvents.PutEvents target, x-amz-json-1.1, SigV4 for service
    `events` in the domain's region with the recipient's key, at most 10 entries per call, one
    account per call, and a batch of 12 changes split across calls."""
    domain = track.create_domain()["name"]
    ca.create_repository(domain=domain, repository="repo")
    versions = [f"1.0.{i}" for i in range(12)]
    for v in versions:
        publish(ca, domain, "repo", "many", v)
    out = ca.update_package_versions_status(**generic(domain, "repo", "many"), versions=versions,
                                            targetStatus="Archived")
    assert not out.get("failedVersions"), out
    events = sinks.wait(domain, 24)
    for e in events:
        check_envelope(e)
    archived = events[12:]
    assert sorted(e["detail"]["packageVersion"] for e in archived) == sorted(versions)
    for e in archived:
        expect(e, repo="repo", version=e["detail"]["packageVersion"], op="Updated", state="Archived",
               metadata=False, status=True)
    strictly_increasing(events)
    assert [e["detail"]["sequenceNumber"] for e in events] == list(range(1, 25))

    # the 12 status changes of one commit need at least two calls of at most 10 entries
    reqs = [req for req, _, d in sinks.received(domain) if d["sequenceNumber"] > 12]
    calls = {id(r) for r in reqs}
    assert len(calls) >= 2, "12 entries cannot fit in one PutEvents call"

    host_port = urllib.parse.urlsplit(receiver.url).netloc
    for req in receiver.snapshot():
        assert req.method == "POST", req
        assert req.path == "/", req.path
        assert req.header("X-Amz-Target") == "AWSEvents.PutEvents", req.headers
        assert (req.header("Content-Type") or "").split(";")[0].strip() == "application/x-amz-json-1.1", req.headers
        assert set(req.json) == {"Entries"}, req.json
        assert 1 <= len(req.entries) <= 10, len(req.entries)
        scope = req.credential_scope
        assert scope is not None and scope[2:] == (REGION, "events", "aws4_request"), req.header("Authorization")
        assert scope[0] in SECRETS, scope
        assert re.match(r"^\d{8}T\d{6}Z$", req.header("X-Amz-Date") or ""), req.headers
        assert scope[1] == req.header("X-Amz-Date")[:8]
        ok, want, got = sigv4_check(req, host_port, SECRETS)
        assert ok, f"bad SigV4 signature:\n want {want}\n  got {got}"
        # one recipient account per call: every entry concerns that account
        account = ACCOUNT_OF_KEY[scope[0]]
        for entry in req.entries:
            d = json.loads(entry["Detail"])
            assert account in (d["domainOwner"], d["repositoryAdministrator"]), (account, d)


def test_npm_publish(ca, track, sinks, server, tmp_path):
    """§4 first row: a package manager's first publish → Created/Published, assetsAdded 1,
    metadataUpdated, statusChanged; no namespace → JSON null and an empty ARN segment; a
    scope is the namespace without `@`."""
    if which("npm") is None:
        pytest.fail("npm is not installed", pytrace=False)
    domain = track.create_domain()["name"]
    ca.create_repository(domain=domain, repository="npmrepo")
    repo = NpmRepo(server, ca, domain, "npmrepo")
    src = tmp_path / "pkg"
    src.mkdir()
    (src / "package.json").write_text(json.dumps({"name": "evt-left-pad", "version": "1.3.0",
                                                  "main": "index.js", "license": "MIT"}))
    (src / "index.js").write_text("module.exports = 1;\n")
    p = repo.npm(tmp_path / "home", "publish", cwd=src)
    assert p.returncode == 0, f"npm publish failed:\n{p.stdout}\n{p.stderr}"
    repo.put("@evtscope/thing", "0.1.0")
    events = sinks.wait(domain, 2)
    # a dist-tag change is package-level: no version event (§4 [ASSUMPTION])
    r = repo.request("PUT", "-/package/evt-left-pad/dist-tags/beta", "1.3.0")
    assert r.status in (200, 201), r
    assert repo.request("GET", "-/package/evt-left-pad/dist-tags").json == {"latest": "1.3.0", "beta": "1.3.0"}
    ca.update_package_versions_status(domain=domain, repository="npmrepo", format="npm", package="evt-left-pad",
                                      versions=["1.3.0"], targetStatus="Unlisted")
    marker = sinks.wait(domain, 3)[2]
    expect(marker, repo="npmrepo", fmt="npm", namespace=None, name="evt-left-pad", version="1.3.0",
           op="Updated", state="Unlisted", metadata=False, status=True, seq=2)
    events = events[:2]
    for e in events:
        check_envelope(e)
    plain, scoped = events
    expect(plain, repo="npmrepo", fmt="npm", namespace=None, name="evt-left-pad", version="1.3.0",
           op="Created", state="Published", added=1, metadata=True, status=True, seq=1)
    assert "packageNamespace" in plain["detail"] and plain["detail"]["packageNamespace"] is None
    assert plain["resources"] == [f"arn:aws:codeartifact:{REGION}:{ACCOUNT}:package/{domain}/npmrepo/npm//evt-left-pad"]
    assert plain["detail"]["packageVersionRevision"] == revision(
        ca, domain=domain, repository="npmrepo", format="npm", package="evt-left-pad", packageVersion="1.3.0")
    expect(scoped, repo="npmrepo", fmt="npm", namespace="evtscope", name="thing", version="0.1.0",
           op="Created", state="Published", added=1, metadata=True, status=True, seq=1)
    assert scoped["resources"] == [f"arn:aws:codeartifact:{REGION}:{ACCOUNT}:package/{domain}/npmrepo/npm/evtscope/thing"]


def test_status_dispose_delete_and_sequence_numbers(ca, track, sinks):
    """§4 rows UpdatePackageVersionsStatus, DisposePackageVersions, DeletePackageVersions,
    DeletePackage; a status update to the current status and a failed batch emit nothing;
    sequence numbers strictly increase from 1 and keep increasing after the package is deleted
    and published again (§5)."""
    domain = track.create_domain()["name"]
    ca.create_repository(domain=domain, repository="repo")
    pkg = generic(domain, "repo", "lib")
    publish(ca, domain, "repo", "lib", "1.0.0", asset="a.bin", unfinished=True)   # 1
    publish(ca, domain, "repo", "lib", "1.0.0", asset="b.bin")                    # 2
    publish(ca, domain, "repo", "lib", "2.0.0")                                   # 3
    publish(ca, domain, "repo", "lib", "3.0.0")                                   # 4
    rev1 = revision(ca, **pkg, packageVersion="1.0.0")
    rev2 = revision(ca, **pkg, packageVersion="2.0.0")

    out = ca.update_package_versions_status(**pkg, versions=["1.0.0"], targetStatus="Archived")  # 5
    assert set(out["successfulVersions"]) == {"1.0.0"}, out
    # already Archived: no change, no event
    ca.update_package_versions_status(**pkg, versions=["1.0.0"], targetStatus="Archived")
    # a failed batch: the missing version fails, the real one is SKIPPED, nothing changes
    out = ca.update_package_versions_status(**pkg, versions=["3.0.0", "9.9.9"], targetStatus="Archived")
    codes = {v: e["errorCode"] for v, e in out.get("failedVersions", {}).items()}
    assert codes.get("9.9.9") == "NOT_FOUND" and codes.get("3.0.0") == "SKIPPED", out
    assert not out.get("successfulVersions"), out
    assert ca.describe_package_version(**pkg, packageVersion="3.0.0")["packageVersion"]["status"] == "Published"

    out = ca.dispose_package_versions(**pkg, versions=["1.0.0"])                  # 6
    assert set(out["successfulVersions"]) == {"1.0.0"}, out
    out = ca.delete_package_versions(**pkg, versions=["2.0.0"])                   # 7
    assert set(out["successfulVersions"]) == {"2.0.0"}, out
    ca.delete_package(**pkg)                                                      # 8, 9 (1.0.0, 3.0.0)
    publish(ca, domain, "repo", "lib", "1.0.0", asset="again.bin")                # 10
    events = sinks.wait(domain, 10)
    for e in events:
        check_envelope(e)
    expect(events[4], repo="repo", version="1.0.0", op="Updated", state="Archived", metadata=False,
           status=True)
    assert events[4]["detail"]["packageVersionRevision"] == rev1, "a status change keeps the revision"
    expect(events[5], repo="repo", version="1.0.0", op="Updated", state="Disposed", removed=2,
           metadata=False, status=True)
    expect(events[6], repo="repo", version="2.0.0", op="Deleted", state="Deleted", removed=1,
           metadata=False, status=True)
    assert events[6]["detail"]["packageVersionRevision"] == rev2, "a deletion reports the last revision"
    deleted = sorted(events[7:9], key=lambda e: e["detail"]["packageVersion"])
    expect(deleted[0], repo="repo", version="1.0.0", op="Deleted", state="Deleted", removed=0,
           metadata=False, status=True)
    expect(deleted[1], repo="repo", version="3.0.0", op="Deleted", state="Deleted", removed=1,
           metadata=False, status=True)
    expect(events[9], repo="repo", version="1.0.0", op="Created", state="Published", added=1,
           metadata=True, status=True)
    seqs = strictly_increasing(events)
    assert seqs[0] == 1, seqs
    assert seqs[9] > seqs[8], "the counter survives the package's deletion"
    assert len({e["detail"]["eventDeduplicationId"] for e in events}) == 10


def test_copy_creates_in_destination_only(ca, track, sinks):
    """§4 CopyPackageVersions: Created in the destination only, status copied, all assets
    added; copying an identical version again (allowOverwrite) emits nothing."""
    domain = track.create_domain()["name"]
    ca.create_repository(domain=domain, repository="src")
    ca.create_repository(domain=domain, repository="dst")
    publish(ca, domain, "src", "cp", "1.0.0", asset="a.bin", unfinished=True)
    publish(ca, domain, "src", "cp", "1.0.0", asset="b.bin")
    ca.update_package_versions_status(**generic(domain, "src", "cp"), versions=["1.0.0"],
                                      targetStatus="Unlisted")
    sinks.wait(domain, 3)
    args = dict(domain=domain, sourceRepository="src", destinationRepository="dst", format="generic",
                namespace="ns", package="cp", versions=["1.0.0"])
    out = ca.copy_package_versions(**args)
    assert set(out["successfulVersions"]) == {"1.0.0"}, out
    events = sinks.wait(domain, 4)
    copy = events[3]
    check_envelope(copy)
    expect(copy, repo="dst", version="1.0.0", op="Created", state="Unlisted", added=2, metadata=True,
           status=True, seq=1)
    assert copy["detail"]["packageVersionRevision"] == revision(ca, **generic(domain, "dst", "cp"),
                                                                packageVersion="1.0.0")
    # the same version again, overwrite allowed: identical → nothing changes
    out = ca.copy_package_versions(**args, allowOverwrite=True)
    assert not out.get("failedVersions"), out
    ca.update_package_versions_status(**generic(domain, "dst", "cp"), versions=["1.0.0"],
                                      targetStatus="Published")
    events = sinks.wait(domain, 5)
    expect(events[4], repo="dst", version="1.0.0", op="Updated", state="Published", metadata=False,
           status=True, seq=2)


def test_retention_through_upstream(ca, track, sinks, server):
    """§4 retention: a tarball fetched through a downstream repository is retained there →
    Created event in the downstream repository (and none in the upstream); fetching it again
    emits nothing."""
    domain = track.create_domain()["name"]
    ca.create_repository(domain=domain, repository="up")
    ca.create_repository(domain=domain, repository="down", upstreams=[{"repositoryName": "up"}])
    up = NpmRepo(server, ca, domain, "up")
    down = NpmRepo(server, ca, domain, "down")
    up.put("evt-kept", "1.0.0")
    sinks.wait(domain, 1)
    r = down.request("GET", "evt-kept/-/evt-kept-1.0.0.tgz", accept="*/*")
    assert r.status == 200, r
    events = sinks.wait(domain, 2)
    check_envelope(events[1])
    expect(events[1], repo="down", fmt="npm", namespace=None, name="evt-kept", version="1.0.0",
           op="Created", state="Published", added=1, metadata=True, status=True, seq=1)
    r = down.request("GET", "evt-kept/-/evt-kept-1.0.0.tgz", accept="*/*")
    assert r.status == 200, r
    ca.update_package_versions_status(domain=domain, repository="down", format="npm", package="evt-kept",
                                      versions=["1.0.0"], targetStatus="Archived")
    events = sinks.wait(domain, 3)
    expect(events[2], repo="down", fmt="npm", namespace=None, name="evt-kept", version="1.0.0",
           op="Updated", state="Archived", metadata=False, status=True, seq=2)


def test_cross_account_repository_gets_two_copies(ca, ca_other, track, sinks, receiver):
    """§5 recipients: a change in a repository another account administers is delivered to the
    domain owner and to the administrator — same detail and dedup id, different `account` and
    `id`, resources in the owner's account; PutEvents once per account with its own key."""
    domain = track.create_domain()["name"]
    ca.put_domain_permissions_policy(domain=domain, policyDocument=allow_policy(
        OTHER_ACCOUNT, ["codeartifact:CreateRepository", "codeartifact:DescribeDomain",
                        "codeartifact:GetAuthorizationToken"]))
    theirs = ca_other.create_repository(domain=domain, domainOwner=ACCOUNT, repository="theirs")["repository"]
    assert theirs["administratorAccount"] == OTHER_ACCOUNT
    ca.create_repository(domain=domain, repository="ours")
    before = len(receiver.snapshot())

    data = b"cross account asset"
    ca_other.publish_package_version(domain=domain, domainOwner=ACCOUNT, repository="theirs", format="generic",
                                     namespace="ns", package="x", packageVersion="1.0.0", assetContent=data,
                                     assetName="x.bin", assetSHA256=sha256_of(data))
    events = sinks.wait(domain, 2)
    assert sorted(e["account"] for e in events) == sorted([ACCOUNT, OTHER_ACCOUNT]), events
    for e in events:
        check_envelope(e, account=e["account"])
        expect(e, repo="theirs", version="1.0.0", op="Created", state="Published", added=1,
               metadata=True, status=True, seq=1)
        assert e["detail"]["domainOwner"] == ACCOUNT
        assert e["detail"]["repositoryAdministrator"] == OTHER_ACCOUNT
        assert e["resources"] == [f"arn:aws:codeartifact:{REGION}:{ACCOUNT}:package/{domain}/theirs/generic/ns/x"]
    a, b = events
    assert a["detail"] == b["detail"], "identical detail, same eventDeduplicationId"
    assert a["id"] != b["id"]

    # PutEvents: one call per account, each signed with that account's key
    reqs = poll(lambda: [r for r in receiver.snapshot()[before:]
                         if any(json.loads(en["Detail"]).get("domainName") == domain for en in r.entries)])
    keys = Counter(r.access_key for r in reqs)
    assert keys == Counter({ACCESS_KEY: 1, OTHER_ACCESS_KEY: 1}), keys
    host_port = urllib.parse.urlsplit(receiver.url).netloc
    for r in reqs:
        assert r.credential_scope[2:] == (REGION, "events", "aws4_request"), r.header("Authorization")
        ok, want, got = sigv4_check(r, host_port, SECRETS)
        assert ok, f"bad SigV4 signature:\n want {want}\n  got {got}"

    # the owner's own repository in the same domain: exactly one copy
    publish(ca, domain, "ours", "y", "1.0.0")
    events = sinks.wait(domain, 3)
    check_envelope(events[2])
    assert events[2]["account"] == ACCOUNT
    assert events[2]["detail"]["repositoryAdministrator"] == ACCOUNT


def test_ids_and_dedup_ids_are_unique(ca, track, sinks):
    """§2/§5: every delivered copy has its own UUID; a dedup id names one change — it repeats
    only across the copies of a cross-account change, which share their detail."""
    domain = track.create_domain()["name"]
    ca.create_repository(domain=domain, repository="repo")
    publish(ca, domain, "repo", "u", "1.0.0")
    sinks.wait(domain, 1)
    everything = sinks.file_events()
    ids = [e["id"] for e in everything]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]
    groups: dict[str, list[dict]] = {}
    for e in everything:
        groups.setdefault(e["detail"]["eventDeduplicationId"], []).append(e)
    for dedup, copies in groups.items():
        assert len(copies) <= 2, (dedup, copies)
        if len(copies) == 2:
            assert copies[0]["detail"] == copies[1]["detail"]
            assert {c["account"] for c in copies} == {copies[0]["detail"]["domainOwner"],
                                                      copies[0]["detail"]["repositoryAdministrator"]}
            assert copies[0]["account"] != copies[1]["account"]


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_failing_sink_never_fails_the_call(server_factory, tmp_path, _isolated_aws_env):
    """§5: sink failures must not fail the API call; the file sink still gets the events."""
    events_file = tmp_path / "events-failing.jsonl"
    srv = server_factory(extra_args=["--events-endpoint", f"http://127.0.0.1:{closed_port()}/",
                                     "--events-file", str(events_file)])
    ca = make_client(srv.endpoint)
    domain = unique("dom")
    ca.create_domain(domain=domain)
    ca.create_repository(domain=domain, repository="repo")
    t0 = time.monotonic()
    for i in range(3):
        out = publish(ca, domain, "repo", "p", f"1.0.{i}")
        assert out["status"] == "Published", out
    assert time.monotonic() - t0 < 10, "publishing must not wait for the unreachable sink"
    got = poll(lambda: len(read_events_file(events_file)) >= 3 and read_events_file(events_file))
    assert got and len(got) == 3, got
    assert [e["detail"]["sequenceNumber"] for e in got] == [1, 2, 3]
    assert srv.proc.poll() is None, "the server keeps running"
    assert ca.list_package_versions(**generic(domain, "repo", "p"))["versions"]


def test_events_survive_a_crash_before_delivery(server_factory, tmp_path, _isolated_aws_env):
    """§5 at-least-once: events committed but not delivered when the process dies (here the
    endpoint accepts connections and never answers, so delivery is stuck) go out at the next
    start, in order, with their sequence numbers and deduplication ids."""
    stuck = socket.socket()
    stuck.bind(("127.0.0.1", 0))
    stuck.listen(16)
    data = tmp_path / "data"
    try:
        srv = server_factory(data_dir=data, extra_args=[
            "--events-endpoint", f"http://127.0.0.1:{stuck.getsockname()[1]}/"])
        ca = make_client(srv.endpoint)
        domain = unique("dom")
        ca.create_domain(domain=domain)
        ca.create_repository(domain=domain, repository="repo")
        for version in ("1.0.0", "1.0.1"):
            assert publish(ca, domain, "repo", "p", version)["status"] == "Published"
        srv.kill()
    finally:
        stuck.close()
    receiver = Receiver().start()
    try:
        srv = server_factory(data_dir=data, extra_args=["--events-endpoint", receiver.url])
        delivered = lambda: [e for _, e, d in receiver.entries() if d["domainName"] == domain]
        got = poll(lambda: len(delivered()) >= 2 and delivered())
        assert got, "the events committed before the crash are delivered after the restart"
        details = [json.loads(e["Detail"]) for e in got]
        assert [(d["packageVersion"], d["sequenceNumber"]) for d in details] == [("1.0.0", 1), ("1.0.1", 2)]
        publish(make_client(srv.endpoint), domain, "repo", "p", "1.0.2")
        got = poll(lambda: len(delivered()) >= 3 and delivered())
        assert [json.loads(e["Detail"])["sequenceNumber"] for e in got] == [1, 2, 3]
    finally:
        receiver.stop()


def test_no_sink_no_events_file_and_nothing_kept_for_later(server_factory, tmp_path, monkeypatch,
                                                            _isolated_aws_env):
    """Without --events-file/--events-endpoint no events file is written, and no event is kept
    in the store's outbox either: a restart with a sink delivers only what happens after it
    (the outbox is delivered in commit order, so a kept event would come first)."""
    monkeypatch.delenv("CODEARTIFACT_LOCAL_EVENTS_FILE", raising=False)
    monkeypatch.delenv("CODEARTIFACT_LOCAL_EVENTS_ENDPOINT", raising=False)
    data = tmp_path / "data"
    srv = server_factory(data_dir=data)
    ca = make_client(srv.endpoint)
    domain = unique("dom")
    ca.create_domain(domain=domain)
    ca.create_repository(domain=domain, repository="repo")
    publish(ca, domain, "repo", "p", "1.0.0")
    time.sleep(0.3)
    found = [p for p in tmp_path.rglob("*") if "event" in p.name.lower()]
    assert found == [], found
    assert srv.terminate() == 0

    events_file = tmp_path / "later" / "events.jsonl"
    events_file.parent.mkdir()
    srv = server_factory(data_dir=data, extra_args=["--events-file", str(events_file)])
    publish(make_client(srv.endpoint), domain, "repo", "p", "1.0.1")
    got = poll(lambda: read_events_file(events_file))
    assert got, "the publish after the restart is delivered"
    time.sleep(0.3)  # anything else the outbox held would have been written with it
    got = [e for e in read_events_file(events_file) if e["detail"]["domainName"] == domain]
    assert [e["detail"]["packageVersion"] for e in got] == ["1.0.1"], got


def test_maven_uploads(ca, track, sinks):
    """§4 Maven rows, over raw HTTP as `mvn deploy` sends them: the first file creates the
    version Unfinished, the POM is an extra asset with metadata, and maven-metadata.xml listing
    the version publishes it without adding assets; uploading the same metadata again emits
    nothing."""
    from mavenkit import MavenHttp, artifact_metadata, gav_path, pom_xml

    domain = track.create_domain()["name"]
    ca.create_repository(domain=domain, repository="mvn")
    endpoint = ca.get_repository_endpoint(domain=domain, repository="mvn", format="maven")["repositoryEndpoint"]
    token = ca.get_authorization_token(domain=domain)["authorizationToken"]
    mvn = MavenHttp(endpoint, token)
    group, artifact, version = "com.example.events", "lib", "2.1.0"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
    mvn.put_ok(gav_path(group, artifact, version, f"{artifact}-{version}.jar"), buf.getvalue())
    mvn.put_ok(gav_path(group, artifact, version, f"{artifact}-{version}.pom"),
               pom_xml(group, artifact, version, description="events"))
    md = artifact_metadata(group, artifact, [version])
    mvn.put_ok(gav_path(group, artifact, None, "maven-metadata.xml"), md)
    events = sinks.wait(domain, 3)
    for e in events:
        check_envelope(e)
        assert e["resources"] == [package_arn(domain, "mvn", "maven", group, artifact)], e["resources"]
    common = dict(repo="mvn", fmt="maven", namespace=group, name=artifact, version=version)
    expect(events[0], **common, op="Created", state="Unfinished", added=1, metadata=True, status=True, seq=1)
    expect(events[1], **common, op="Updated", state="Unfinished", added=1, metadata=True, status=False, seq=2)
    # events spec §4 row "maven-metadata.xml lists the version": no asset added, metadata updated.
    # (repository-endpoints §7.4 [Obs] keeps the uploaded maven-metadata.xml as an asset of the
    # version; the events table still says assetsAdded 0 / metadataUpdated true.)
    expect(events[2], **common, op="Updated", state="Published", added=0, metadata=True, status=True, seq=3)
    assert events[2]["detail"]["packageVersionRevision"] == revision(
        ca, domain=domain, repository="mvn", format="maven", namespace=group, package=artifact,
        packageVersion=version)
    # the same metadata again: nothing changes
    mvn.put_ok(gav_path(group, artifact, None, "maven-metadata.xml"), md)
    ca.update_package_versions_status(domain=domain, repository="mvn", format="maven", namespace=group,
                                      package=artifact, versions=[version], targetStatus="Archived")
    events = sinks.wait(domain, 4)
    expect(events[3], **common, op="Updated", state="Archived", metadata=False, status=True, seq=4)
