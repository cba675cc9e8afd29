"""Hardening (issue 12): slow clients, stalled uploads, oversized bodies, full disks and the small
holes. Every server here runs with short, configured timeouts; nothing is timed as performance:
the assertions are about what the server answers and what it leaves behind.
"""

from __future__ import annotations

import base64
import hashlib
import json
import select
import socket
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

from conftest import (ACCESS_KEY, ACCOUNT, OTHER_ACCESS_KEY, OTHER_SECRET_KEY, REGION, SECRET_KEY,
                      Server, basic, http_request, make_client, unique)
from npmkit import publish_body, tarball

HOST = "127.0.0.1"


# --------------------------------------------------------------------------------------------
# Helpers: raw sockets and signed requests
# --------------------------------------------------------------------------------------------


def connect(srv: Server, timeout: float = 15) -> socket.socket:
    s = socket.create_connection((HOST, srv.port), timeout=timeout)
    s.settimeout(timeout)
    return s


def read_until_closed(s: socket.socket, limit: int = 1 << 20) -> bytes:
    """Everything the server sends until it closes the connection (or the socket times out)."""
    data = b""
    while len(data) < limit:
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            break
        if not chunk:
            break
        data += chunk
    return data


def response_parts(data: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


def read_response(s: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response with a Content-Length body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a response: {data!r}")
        data += chunk
    status, headers, body = response_parts(data)
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body


def signed_headers(srv: Server, method: str, target: str, payload_sha256: str,
                   extra: dict[str, str] | None = None, access_key: str = ACCESS_KEY,
                   secret_key: str = SECRET_KEY) -> dict[str, str]:
    """SigV4 headers for a request whose payload hash is `payload_sha256` (botocore's signer)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    headers = {"Host": srv.address, "x-amz-content-sha256": payload_sha256, **(extra or {})}
    req = AWSRequest(method=method, url=f"http://{srv.address}{target}", data=b"", headers=headers)
    SigV4Auth(Credentials(access_key, secret_key), "codeartifact", REGION).add_auth(req)
    return dict(req.headers.items())


def publish_target(domain: str, repo: str, package: str, version: str, asset: str = "a.bin") -> str:
    query = urllib.parse.urlencode({"domain": domain, "repository": repo, "format": "generic",
                                    "namespace": "ns", "package": package, "version": version,
                                    "asset": asset}, quote_via=urllib.parse.quote)
    return f"/v1/package/version/publish?{query}"


def start_publish(srv: Server, domain: str, repo: str, package: str, version: str, declared: int,
                  first: bytes, *, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY,
                  digest_of: bytes | None = None) -> socket.socket:
    """A streamed PublishPackageVersion that declares `declared` bytes and sends only `first`."""
    target = publish_target(domain, repo, package, version)
    digest = hashlib.sha256(digest_of if digest_of is not None else first).hexdigest()
    headers = signed_headers(srv, "POST", target, digest,
                             {"Content-Type": "application/octet-stream",
                              "Content-Length": str(declared)}, access_key, secret_key)
    s = connect(srv, timeout=60)
    head = f"POST {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    s.sendall(head.encode() + first)
    return s


def staging_files(srv: Server) -> list[Path]:
    return sorted((srv.data_dir / "blobs" / "tmp").iterdir())


def vm_rss_kib(srv: Server) -> int:
    for line in Path(f"/proc/{srv.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def health(srv: Server) -> int:
    return http_request(HOST, srv.port, "GET", "/health", None, {"Host": srv.address}, timeout=10).status


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {timeout}s")


def domain_with_repo(ca, repo: str = "repo") -> str:
    d = unique("hard")
    ca.create_domain(domain=d)
    ca.create_repository(domain=d, repository=repo)
    return d


# --------------------------------------------------------------------------------------------
# Connections: header, idle and body-progress timeouts; the connection cap
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    base = tmp_path_factory.mktemp("hardening")
    s = Server(base / "data", base / "server.log",
               ["--header-timeout-seconds", "2", "--body-timeout-seconds", "2",
                "--idle-timeout-seconds", "5", "--max-uploads-per-identity", "3",
                "--quota-domains", "50"]).start()
    yield s
    s.terminate()


@pytest.fixture(scope="module")
def ca(srv):
    return make_client(srv.endpoint)


def test_silent_and_slowloris_connections_are_closed_while_others_are_served(srv, ca):
    silent = [connect(srv) for _ in range(100)]
    slow = []
    for _ in range(30):
        s = connect(srv)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        slow.append(s)
    stop = threading.Event()

    def trickle():
        # One header byte per connection every 200 ms: a request that never completes.
        while not stop.is_set():
            for s in slow:
                try:
                    s.send(b"X")
                except OSError:
                    pass
            time.sleep(0.2)

    t = threading.Thread(target=trickle, daemon=True)
    t.start()
    try:
        # Meanwhile the server answers others, unsigned and signed.
        assert health(srv) == 200
        assert "domains" in ca.list_domains()
        started = time.monotonic()
        for s in silent:
            assert read_until_closed(s) == b"", "a silent connection got an answer"
        # Closed by the 2 s header timeout, well before the sockets' own 15 s timeout.
        assert time.monotonic() - started < 12
        for s in slow:
            # hyper answers a header timeout by closing; whatever came back is no 200.
            data = read_until_closed(s)
            assert not data.startswith(b"HTTP/1.1 200"), data[:100]
    finally:
        stop.set()
        t.join()
        for s in silent + slow:
            s.close()
    assert health(srv) == 200


def test_an_idle_keep_alive_connection_is_closed(srv):
    s = connect(srv)
    s.sendall(f"GET /health HTTP/1.1\r\nHost: {srv.address}\r\n\r\n".encode())
    status, _, _ = read_response(s)
    assert status == 200
    started = time.monotonic()
    assert read_until_closed(s) == b""
    assert time.monotonic() - started < 12
    s.close()


def refused(s: socket.socket) -> bool:
    """Whether the server has already answered (or closed) a connection that sent nothing."""
    ready, _, _ = select.select([s], [], [], 0)
    return bool(ready)


def refused_any(held: list[socket.socket]) -> bool:
    return any(refused(h) for h in held)


def test_connections_beyond_the_cap_get_503_in_the_aws_shape(server_factory):
    capped = server_factory(extra_args=["--max-connections", "8", "--header-timeout-seconds", "30"])
    # The start-up health probe may still hold its slot for a moment, so a connection opened
    # now can itself be refused: keep opening until eight silent connections are held.
    held: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 10
        while len(held) < 8 or refused_any(held):
            assert time.monotonic() < deadline, "could not hold eight connections"
            for h in [h for h in held if refused(h)]:
                held.remove(h)
                h.close()
            while len(held) < 8:
                held.append(connect(capped))
            time.sleep(0.3)
        s = connect(capped)
        status, headers, body = response_parts(read_until_closed(s))
        s.close()
        assert status == 503
        assert headers["x-amzn-errortype"] == "ServiceUnavailableException"
        assert json.loads(body)["__type"] == "ServiceUnavailableException"
    finally:
        for h in held:
            h.close()
    wait_for(lambda: health(capped) == 200, 10, "service after the held connections closed")


def test_a_body_shorter_than_its_length_ends_with_an_error_and_no_staging_file(srv, ca):
    d = domain_with_repo(ca)
    # The client stops sending: the body-progress timeout (2 s) ends the request with 408.
    s = start_publish(srv, d, "repo", "stalled", "1.0.0", 100_000, b"x" * 1000)
    status, headers, body = read_response(s)
    s.close()
    assert status == 408, body
    assert headers["x-amzn-errortype"] == "RequestTimeoutException"
    assert json.loads(body)["__type"] == "RequestTimeoutException"
    # The client closes its side early: the request fails with the service's 400.
    s = start_publish(srv, d, "repo", "short", "1.0.0", 100_000, b"x" * 1000)
    s.shutdown(socket.SHUT_WR)
    status, headers, body = read_response(s)
    s.close()
    assert status == 400, body
    assert headers["x-amzn-errortype"] == "ValidationException"
    wait_for(lambda: staging_files(srv) == [], 5, "staging files removed")
    assert ca.list_packages(domain=d, repository="repo")["packages"] == []


def test_a_stalled_maven_upload_gets_408_in_the_format_shape(srv, ca):
    d = domain_with_repo(ca)
    token = ca.get_authorization_token(domain=d)["authorizationToken"]
    path = f"/maven/d/{d}-{ACCOUNT}/repo/com/acme/app/1.0/app-1.0.jar"
    s = connect(srv)
    s.sendall((f"PUT {path} HTTP/1.1\r\nHost: {srv.address}\r\nAuthorization: {basic(token)}\r\n"
               f"Content-Length: 50000\r\n\r\n").encode() + b"PK" * 100)
    status, headers, body = read_response(s)
    s.close()
    assert status == 408, body
    assert headers["x-amzn-errortype"] == "RequestTimeoutException"
    wait_for(lambda: staging_files(srv) == [], 5, "staging files removed")


# --------------------------------------------------------------------------------------------
# Uploads: bounded per identity, stalled ones hold no thread
# --------------------------------------------------------------------------------------------


def test_uploads_are_bounded_per_identity_and_freed_when_they_stall_out(srv, ca):
    d = domain_with_repo(ca)
    other = make_client(srv.endpoint, OTHER_ACCESS_KEY, OTHER_SECRET_KEY)
    od = domain_with_repo(other)
    stalled = [start_publish(srv, d, "repo", f"s{i}", "1.0.0", 10_000, b"y") for i in range(3)]
    try:
        time.sleep(0.3)
        data = b"fourth"
        fourth = start_publish(srv, d, "repo", "fourth", "1.0.0", len(data), data)
        status, headers, body = read_response(fourth)
        fourth.close()
        assert status == 429, body
        assert headers["x-amzn-errortype"] == "ThrottlingException"
        # Another identity is not held up.
        out = other.publish_package_version(domain=od, repository="repo", format="generic",
                                            namespace="ns", package="p", packageVersion="1.0.0",
                                            assetName="a.bin", assetContent=b"other",
                                            assetSHA256=hashlib.sha256(b"other").hexdigest())
        assert out["status"] == "Published"
    finally:
        for s in stalled:
            read_until_closed(s)  # 408 after the body timeout
            s.close()
    out = ca.publish_package_version(domain=d, repository="repo", format="generic", namespace="ns",
                                     package="after", packageVersion="1.0.0", assetName="a.bin",
                                     assetContent=b"after", assetSHA256=hashlib.sha256(b"after").hexdigest())
    assert out["status"] == "Published"


def test_300_stalled_uploads_do_not_stop_a_publish(server_factory):
    # Limits high enough that none of the 300 is refused: each is in progress, waiting for
    # bytes that never come. Before uploads awaited their bytes on the async side, each held
    # two blocking threads and ~256 of them starved every other publish.
    srv2 = server_factory(extra_args=["--max-uploads", "1000", "--max-uploads-per-identity", "1000",
                                      "--body-timeout-seconds", "120"])
    ca2 = make_client(srv2.endpoint)
    d = domain_with_repo(ca2)
    stalled = [start_publish(srv2, d, "repo", f"s{i}", "1.0.0", 1_000_000, b"z" * 100) for i in range(300)]
    try:
        time.sleep(1)
        data = b"a publish that must go through"
        out = ca2.publish_package_version(domain=d, repository="repo", format="generic",
                                          namespace="ns", package="through", packageVersion="1.0.0",
                                          assetName="a.bin", assetContent=data,
                                          assetSHA256=hashlib.sha256(data).hexdigest())
        assert out["status"] == "Published"
        assert health(srv2) == 200
        assert len(staging_files(srv2)) == 300
    finally:
        for s in stalled:
            s.close()
    wait_for(lambda: staging_files(srv2) == [], 20, "staging files of abandoned uploads removed")


# --------------------------------------------------------------------------------------------
# Bodies: one bounded reader per route class, memory bounded
# --------------------------------------------------------------------------------------------


def send_chunked(srv: Server, method: str, target: str, headers: dict[str, str], total: int,
                 filler: bytes = b"x") -> int | None:
    """Sends `total` bytes as a chunked body (1 MiB chunks) until the server stops reading;
    the status it answered, or None when the connection was reset before it could be read."""
    s = connect(srv, timeout=30)
    head = f"{method} {target} HTTP/1.1\r\nHost: {srv.address}\r\nTransfer-Encoding: chunked\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    chunk = filler * (1024 * 1024 // len(filler))
    try:
        s.sendall(head.encode())
        sent = 0
        while sent < total:
            s.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            sent += len(chunk)
        s.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        status, _, _ = read_response(s)
        return status
    except (ConnectionError, OSError):
        return None
    finally:
        s.close()


def test_oversized_bodies_on_every_route_are_refused_with_memory_bounded(srv, ca):
    d = domain_with_repo(ca)
    token = ca.get_authorization_token(domain=d)["authorizationToken"]
    auth = {"Authorization": basic(token)}
    base = f"d/{d}-{ACCOUNT}/repo"
    # The control plane signs the body hash, so a chunked body cannot be pre-signed here: its
    # signature is checked after the body is read (bounded), and fails.
    cp_target = f"/v1/repository?domain={d}&repository=big"
    cp_headers = signed_headers(srv, "POST", cp_target, hashlib.sha256(b"{}").hexdigest(),
                                {"Content-Type": "application/json"})
    cp_headers.pop("Host")
    boundary = "hardening-boundary"
    routes = {
        "control plane JSON": ("POST", cp_target, cp_headers),
        "npm dist-tag PUT": ("PUT", f"/npm/{base}/-/package/widget/dist-tags/beta", auth),
        "npm dist-tag GET with a body": ("GET", f"/npm/{base}/-/package/widget/dist-tags", auth),
        "maven metadata": ("PUT", f"/maven/{base}/com/acme/app/maven-metadata.xml", auth),
        "maven checksum": ("PUT", f"/maven/{base}/com/acme/app/1.0/app-1.0.jar.sha1", auth),
        "pypi text field": ("POST", f"/pypi/{base}/",
                            {**auth, "Content-Type": f"multipart/form-data; boundary={boundary}"}),
        "health with a body": ("POST", "/health", {}),
    }
    pypi_prefix = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\n")
    before = vm_rss_kib(srv)
    statuses = {}
    for name, (method, target, headers) in routes.items():
        filler = b"x"
        if name == "pypi text field":
            # The first chunk opens a text field that never ends.
            filler = pypi_prefix.encode() + b"x" * (1024 * 1024 - len(pypi_prefix))
        statuses[name] = send_chunked(srv, method, target, headers, 48 * 1024 * 1024, filler)
    after = vm_rss_kib(srv)
    print(f"VmRSS before {before} KiB, after 7 x 48 MiB bodies {after} KiB")
    assert health(srv) == 200
    refused = {n: s for n, s in statuses.items() if s is not None}
    assert refused.get("control plane JSON") in (413, None), statuses
    assert refused.get("npm dist-tag PUT") in (413, None), statuses
    assert refused.get("maven metadata") in (413, None), statuses
    assert refused.get("pypi text field") in (413, None), statuses
    assert all(s != 200 or n.endswith("with a body") for n, s in refused.items()), statuses
    # 48 MiB went to each of seven routes; memory grew by far less than one of them.
    assert after - before < 24 * 1024, (before, after, statuses)


def test_declared_lengths_over_a_route_limit_are_refused_before_reading(srv, ca):
    d = domain_with_repo(ca)
    token = ca.get_authorization_token(domain=d)["authorizationToken"]
    base = f"d/{d}-{ACCOUNT}/repo"
    cases = {
        f"/npm/{base}/widget": 600 * 1024 * 1024,         # npm publish: 512 MiB
        f"/cargo/{base}/api/v1/crates/new": 300 * 1024 * 1024,  # cargo publish: 256 MiB
        f"/npm/{base}/-/package/widget/dist-tags/beta": 17 * 1024,
    }
    for target, length in cases.items():
        s = connect(srv)
        s.sendall((f"PUT {target} HTTP/1.1\r\nHost: {srv.address}\r\nAuthorization: {basic(token)}\r\n"
                   f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n").encode())
        status, headers, body = read_response(s)
        s.close()
        assert status == 413, (target, body)
        assert headers["x-amzn-errortype"] == "ServiceQuotaExceededException", headers


# --------------------------------------------------------------------------------------------
# Smaller holes: UNSIGNED-PAYLOAD, npm names, private files
# --------------------------------------------------------------------------------------------


def test_an_unsigned_payload_cannot_carry_a_swapped_body(srv, ca):
    d = unique("unsigned")
    target = f"/v1/domain?domain={d}"
    signed_body = b"{}"
    headers = signed_headers(srv, "POST", target, "UNSIGNED-PAYLOAD", {"Content-Type": "application/json"})
    swapped = json.dumps({"tags": [{"key": "swapped", "value": "after-signing"}]}).encode()
    resp = http_request(HOST, srv.port, "POST", target, swapped, headers)
    assert resp.status == 403 and resp.error_type == "InvalidSignatureException", resp
    # Not even the body that was there at signing time is accepted with UNSIGNED-PAYLOAD.
    resp = http_request(HOST, srv.port, "POST", target, signed_body, headers)
    assert resp.status == 403 and resp.error_type == "InvalidSignatureException", resp
    assert d not in [x["name"] for x in ca.list_domains()["domains"]]


@pytest.mark.parametrize("bad", ["\u202e", "\u200b", "\u2066", "\ufeff"])
def test_npm_names_with_invisible_or_bidi_characters_are_refused(srv, ca, bad):
    d = domain_with_repo(ca)
    token = ca.get_authorization_token(domain=d)["authorizationToken"]
    registry = f"http://{srv.address}/npm/d/{d}-{ACCOUNT}/repo/"
    name = f"lod{bad}ash"
    tgz = tarball(name, "1.0.0")
    doc = json.dumps(publish_body(registry, name, "1.0.0", tgz)).encode()
    path = f"/npm/d/{d}-{ACCOUNT}/repo/" + urllib.parse.quote(name, safe="")
    resp = http_request(HOST, srv.port, "PUT", path, doc,
                        {"Host": srv.address, "Authorization": f"Bearer {token}",
                         "Content-Type": "application/json"})
    assert resp.status in (400, 404), resp
    assert ca.list_packages(domain=d, repository="repo")["packages"] == []


def test_the_data_directory_and_its_files_are_private(srv, ca):
    d = domain_with_repo(ca)
    ca.publish_package_version(domain=d, repository="repo", format="generic", namespace="ns",
                               package="p", packageVersion="1.0.0", assetName="a.bin",
                               assetContent=b"private", assetSHA256=hashlib.sha256(b"private").hexdigest())
    assert srv.data_dir.stat().st_mode & 0o777 == 0o700
    seen = 0
    for path in srv.data_dir.rglob("*"):
        mode = path.stat().st_mode & 0o777
        assert mode & 0o077 == 0, f"{path} is {oct(mode)}"
        seen += 1
    assert seen > 5


# --------------------------------------------------------------------------------------------
# Full disks: a watermark refuses writes cleanly, reads go on, writes resume; a failed
# commit is never visible; start-up on a full disk serves reads
# --------------------------------------------------------------------------------------------


@pytest.fixture
def small_fs(tmp_path):
    """A small file system for a data directory: CODEARTIFACT_TEST_SMALL_FS (a directory on
    one, e.g. set up by CI), or a 24 MiB tmpfs mounted here when running as root."""
    import os
    import subprocess

    given = os.environ.get("CODEARTIFACT_TEST_SMALL_FS")
    if given:
        import shutil

        path = Path(given) / unique("fs")
        path.mkdir()
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)
        return
    if os.geteuid() != 0:
        pytest.fail("the full-disk tests need a small file system: run as root (a tmpfs is "
                    "mounted) or set CODEARTIFACT_TEST_SMALL_FS", pytrace=False)
    path = tmp_path / "small-fs"
    path.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def free_bytes(path: Path) -> int:
    import os

    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill(fs: Path, leave: int) -> Path:
    """Fills the file system until only `leave` bytes are free."""
    filler = fs / "filler"
    with open(filler, "ab") as f:
        want = free_bytes(fs) - leave
        while want > 0:
            n = min(want, 1 << 20)
            f.write(b"\0" * n)
            want -= n
    return filler


def publish(ca, d: str, version: str, data: bytes, package: str = "p"):
    return ca.publish_package_version(domain=d, repository="repo", format="generic", namespace="ns",
                                      package=package, packageVersion=version, assetName="a.bin",
                                      assetContent=data, assetSHA256=hashlib.sha256(data).hexdigest())


def error_code(call) -> str | None:
    from botocore.exceptions import ClientError

    try:
        call()
    except ClientError as e:
        return e.response["Error"]["Code"]
    return None


def versions(ca, d: str, package: str = "p") -> list[str]:
    out = ca.list_package_versions(domain=d, repository="repo", format="generic", namespace="ns",
                                   package=package)
    return sorted(v["version"] for v in out["versions"])


def test_below_the_watermark_writes_are_refused_reads_go_on_and_writes_resume(server_factory, small_fs):
    srv = server_factory(small_fs / "data", ["--min-free-bytes", str(12 << 20)])
    ca = make_client(srv.endpoint)
    d = domain_with_repo(ca)
    publish(ca, d, "1.0.0", b"before the disk filled")
    token = ca.get_authorization_token(domain=d)["authorizationToken"]
    npm_registry = f"http://{srv.address}/npm/d/{d}-{ACCOUNT}/repo/"
    filler = fill(small_fs, 3 << 20)

    # Writes of every kind are refused with the quota error, on both planes. (A refused
    # publish is answered before its body is read, so its connection is not reused: each
    # refusal gets a client of its own.)
    fresh = lambda: make_client(srv.endpoint)  # noqa: E731
    assert error_code(lambda: publish(fresh(), d, "2.0.0", b"x" * 100_000)) == "ServiceQuotaExceededException"
    assert error_code(lambda: ca.create_repository(domain=d, repository="more")) == "ServiceQuotaExceededException"
    tgz = tarball("widget", "1.0.0")
    resp = http_request(HOST, srv.port, "PUT", f"/npm/d/{d}-{ACCOUNT}/repo/widget",
                        json.dumps(publish_body(npm_registry, "widget", "1.0.0", tgz)).encode(),
                        {"Host": srv.address, "Authorization": f"Bearer {token}",
                         "Content-Type": "application/json"})
    assert resp.status == 402 and "error" in resp.json, resp
    assert resp.error_type == "ServiceQuotaExceededException"
    # Reads go on, and nothing refused is visible.
    assert versions(ca, d) == ["1.0.0"]
    asset = ca.get_package_version_asset(domain=d, repository="repo", format="generic", namespace="ns",
                                         package="p", packageVersion="1.0.0", asset="a.bin")
    assert asset["asset"].read() == b"before the disk filled"
    assert [r["name"] for r in ca.list_repositories_in_domain(domain=d)["repositories"]] == ["repo"]
    assert staging_files(srv) == []

    # Space comes back: writes resume by themselves.
    filler.unlink()
    assert publish(fresh(), d, "2.0.0", b"x" * 100_000)["status"] == "Published"
    assert versions(ca, d) == ["1.0.0", "2.0.0"]


def test_a_commit_that_meets_a_full_disk_is_never_visible_and_the_store_recovers(server_factory, small_fs):
    # No watermark: the store itself meets ENOSPC while committing.
    srv = server_factory(small_fs / "data", ["--min-free-bytes", "0"])
    ca = make_client(srv.endpoint)
    d = domain_with_repo(ca)
    filler = fill(small_fs, 0)
    failed = None
    for i in range(60):
        name = f"r{i:03d}"
        code = error_code(lambda: ca.create_repository(domain=d, repository=name, description="x" * 1000))
        if code is not None:
            assert code == "InternalServerException", code
            failed = name
            break
    assert failed, "the store never met the full disk"
    # The failed change is not visible, now or later.
    listed = [r["name"] for r in ca.list_repositories_in_domain(domain=d)["repositories"]]
    assert failed not in listed
    assert "store reopened at its last durable state" in srv.log()
    filler.unlink()
    assert ca.create_repository(domain=d, repository="after")["repository"]["name"] == "after"
    srv.terminate()
    srv2 = server_factory(small_fs / "data", ["--min-free-bytes", "0"])
    listed_after = [r["name"] for r in make_client(srv2.endpoint).list_repositories_in_domain(domain=d)["repositories"]]
    assert failed not in listed_after and "after" in listed_after
    assert set(listed) <= set(listed_after)


def test_start_up_on_a_full_disk_serves_reads(server_factory, small_fs):
    args = ["--min-free-bytes", str(12 << 20)]
    srv = server_factory(small_fs / "data", args)
    ca = make_client(srv.endpoint)
    d = domain_with_repo(ca)
    publish(ca, d, "1.0.0", b"stored before the restart")
    srv.terminate()
    filler = fill(small_fs, 0)
    srv2 = server_factory(small_fs / "data", args)
    ca2 = make_client(srv2.endpoint)
    assert versions(ca2, d) == ["1.0.0"]
    asset = ca2.get_package_version_asset(domain=d, repository="repo", format="generic", namespace="ns",
                                          package="p", packageVersion="1.0.0", asset="a.bin")
    assert asset["asset"].read() == b"stored before the restart"
    assert error_code(lambda: publish(make_client(srv2.endpoint), d, "2.0.0", b"refused")) == \
        "ServiceQuotaExceededException"
    filler.unlink()
    assert publish(make_client(srv2.endpoint), d, "2.0.0", b"accepted")["status"] == "Published"


def test_http_layer_refusals_carry_the_aws_error_shape(srv, ca):
    # A request target or headers over our limits: 414 / 431 in the AWS shape.
    s = connect(srv)
    s.sendall(f"GET /v1/domain?domain={'a' * 9000} HTTP/1.1\r\nHost: {srv.address}\r\n\r\n".encode())
    status, headers, body = read_response(s)
    s.close()
    assert status == 414 and headers["x-amzn-errortype"] == "RequestUriTooLongException", body
    assert json.loads(body)["message"]
    s = connect(srv)
    big = "".join(f"X-Pad-{i}: {'b' * 1000}\r\n" for i in range(40))
    s.sendall(f"GET /health HTTP/1.1\r\nHost: {srv.address}\r\n{big}\r\n".encode())
    status, headers, body = read_response(s)
    s.close()
    assert status == 431 and headers["x-amzn-errortype"] == "RequestHeaderFieldsTooLargeException", body
    # Malformed framing that hyper refuses itself, before any handler: a non-numeric or
    # conflicting Content-Length, a broken request line or header, a head over hyper's own
    # buffer. Its bare answer is replaced by the AWS shape as it is written.
    malformed = {
        "non-numeric Content-Length": f"GET /health HTTP/1.1\r\nHost: {srv.address}\r\nContent-Length: nine\r\n\r\n",
        "conflicting Content-Lengths": (f"POST /health HTTP/1.1\r\nHost: {srv.address}\r\n"
                                        "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"),
        "header without a colon": f"GET /health HTTP/1.1\r\nHost: {srv.address}\r\nno colon here\r\n\r\n",
        "bad request line": "GET /health HTTP/9\r\n\r\n",
    }
    for name, raw in malformed.items():
        s = connect(srv)
        s.sendall(raw.encode())
        status, headers, body = response_parts(read_until_closed(s))
        s.close()
        assert status == 400, (name, status, body)
        assert headers.get("x-amzn-errortype") == "ValidationException", (name, headers)
        assert json.loads(body)["__type"] == "ValidationException", (name, body)
    s = connect(srv)
    s.sendall(f"GET /{'p' * 500_000} HTTP/1.1\r\nHost: {srv.address}\r\n\r\n".encode())
    status, headers, body = response_parts(read_until_closed(s))
    s.close()
    assert status in (414, 431) and json.loads(body)["__type"].startswith("Request"), (status, body)
    # A chunked body that breaks mid-way reaches the handler as a broken body: the
    # service's 400 in the route's protocol (npm here), after which the connection closes.
    d = domain_with_repo(ca)
    token = ca.get_authorization_token(domain=d)["authorizationToken"]
    s = connect(srv)
    s.sendall((f"PUT /npm/d/{d}-{ACCOUNT}/repo/-/package/widget/dist-tags/beta HTTP/1.1\r\n"
               f"Host: {srv.address}\r\nAuthorization: Bearer {token}\r\n"
               "Transfer-Encoding: chunked\r\n\r\n3\r\n\"1.\r\nzz\r\n").encode())
    status, headers, body = response_parts(read_until_closed(s))
    s.close()
    assert status == 400 and headers["x-amzn-errortype"] == "ValidationException", (status, body)
    assert "error" in json.loads(body)
    assert health(srv) == 200


def vm_hwm_kib(srv: Server) -> int:
    for line in Path(f"/proc/{srv.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def put_and_measure(srv: Server, target: str, body: bytes, headers: dict[str, str]) -> int:
    """PUTs a body that must succeed; how much the server's peak RSS grew meanwhile (KiB)."""
    before = vm_hwm_kib(srv)
    resp = http_request(HOST, srv.port, "PUT", target, body, {"Host": srv.address, **headers}, timeout=120)
    assert resp.status == 200, resp
    return vm_hwm_kib(srv) - before


def test_an_npm_publish_streams_its_tarball_in_bounded_memory(server_factory):
    import os

    srv2 = server_factory()
    ca2 = make_client(srv2.endpoint)
    d = domain_with_repo(ca2)
    token = ca2.get_authorization_token(domain=d)["authorizationToken"]
    registry = f"http://{srv2.address}/npm/d/{d}-{ACCOUNT}/repo/"
    tgz = os.urandom(48 * 1024 * 1024)  # opaque bytes: the server never needs to unpack them
    shasum = hashlib.sha1(tgz).hexdigest()
    doc = json.dumps(publish_body(registry, "big", "1.0.0", tgz)).encode()
    del tgz
    peak = put_and_measure(srv2, f"/npm/d/{d}-{ACCOUNT}/repo/big", doc,
                           {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    print(f"npm publish of a {len(doc) >> 20} MiB document: peak RSS grew by {peak >> 10} MiB")
    # The document is read as it streams and its base64 decoded a chunk at a time into
    # staging: memory is a few chunks, not the document (it was 1.1x, and before that 2.8x).
    assert peak < 16 * 1024, (peak, len(doc))
    packument = http_request(HOST, srv2.port, "GET", f"/npm/d/{d}-{ACCOUNT}/repo/big", None,
                             {"Host": srv2.address, "Authorization": f"Bearer {token}"}).json
    assert packument["versions"]["1.0.0"]["dist"]["shasum"] == shasum


def test_npm_publish_documents_are_read_as_json_reads_them_whatever_their_escapes(srv, ca):
    # The streamed reader takes the tarball's base64 out of the document as it passes; a
    # document that spells it with escapes (`\/` in the base64, `\u0064ata` for the key)
    # is the same JSON and publishes the same way, and a second tarball is refused.
    d = domain_with_repo(ca)
    token = ca.get_authorization_token(domain=d)["authorizationToken"]
    registry = f"http://{srv.address}/npm/d/{d}-{ACCOUNT}/repo/"
    headers = {"Host": srv.address, "Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for version, spell in (("1.0.0", lambda t: t.replace("/", "\\/")),
                           ("1.0.1", lambda t: t.replace('"data":', '"\\u0064ata":'))):
        tgz = tarball("esc", version)
        doc = json.dumps(publish_body(registry, "esc", version, tgz), separators=(",", ":"))
        resp = http_request(HOST, srv.port, "PUT", f"/npm/d/{d}-{ACCOUNT}/repo/esc",
                            spell(doc).encode(), headers)
        assert resp.status == 200, (version, resp)
        packument = http_request(HOST, srv.port, "GET", f"/npm/d/{d}-{ACCOUNT}/repo/esc", None, headers).json
        assert packument["versions"][version]["dist"]["shasum"] == hashlib.sha1(tgz).hexdigest()
    doc = publish_body(registry, "esc", "1.0.2", tarball("esc", "1.0.2"))
    doc["_attachments"]["second.tgz"] = doc["_attachments"]["esc-1.0.2.tgz"]
    resp = http_request(HOST, srv.port, "PUT", f"/npm/d/{d}-{ACCOUNT}/repo/esc", json.dumps(doc).encode(), headers)
    assert resp.status == 400 and "one tarball" in resp.json["error"], resp
    assert staging_files(srv) == []


def test_a_cargo_publish_streams_its_crate_in_bounded_memory(server_factory):
    import gzip
    import io
    import os
    import tarfile

    from cargokit import crate_manifest, publish_body as cargo_body, publish_meta

    srv2 = server_factory()
    ca2 = make_client(srv2.endpoint)
    d = domain_with_repo(ca2)
    token = ca2.get_authorization_token(domain=d)["authorizationToken"]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for rel, data in (("Cargo.toml", crate_manifest("bigcrate", "1.0.0").encode()),
                          ("src/lib.rs", b""), ("data.bin", os.urandom(48 * 1024 * 1024))):
            info = tarfile.TarInfo(f"bigcrate-1.0.0/{rel}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    crate = gzip.compress(buf.getvalue(), compresslevel=1, mtime=0)
    del buf
    cksum = hashlib.sha256(crate).hexdigest()
    body = cargo_body(publish_meta("bigcrate", "1.0.0"), crate)
    del crate
    peak = put_and_measure(srv2, f"/cargo/d/{d}-{ACCOUNT}/repo/api/v1/crates/new", body,
                           {"Authorization": token, "Content-Type": "application/octet-stream"})
    print(f"cargo publish of a {len(body) >> 20} MiB body: peak RSS grew by {peak >> 10} MiB")
    # The head is read, the crate streams to staging and is checked from there.
    assert peak < 16 * 1024, (peak, len(body))
    index = http_request(HOST, srv2.port, "GET", f"/cargo/d/{d}-{ACCOUNT}/repo/bi/gc/bigcrate", None,
                         {"Host": srv2.address, "Authorization": token})
    assert json.loads(index.body.decode().splitlines()[0])["cksum"] == cksum
    # A crate shorter or longer than declared is refused, and nothing is left staged.
    for crate_len in (10, 1_000_000):
        resp = http_request(HOST, srv2.port, "PUT", f"/cargo/d/{d}-{ACCOUNT}/repo/api/v1/crates/new",
                            cargo_body(publish_meta("short", "1.0.0"), b"x" * 1000, crate_len=crate_len),
                            {"Host": srv2.address, "Authorization": token,
                             "Content-Type": "application/octet-stream"})
        assert resp.status == 400 and "declares" in resp.body.decode(), resp
    assert staging_files(srv2) == []


def test_a_body_dripped_below_the_minimum_rate_ends_with_408(srv, ca):
    # The module's server: body timeout 2 s and the default minimum rate (1024 bytes/s).
    # One byte every half second never trips the progress timeout, but averages 2 bytes/s.
    d = domain_with_repo(ca)
    s = start_publish(srv, d, "repo", "drip", "1.0.0", 10_000, b"d")
    started = time.monotonic()
    status = headers = body = None
    while time.monotonic() - started < 20:
        ready, _, _ = select.select([s], [], [], 0.5)
        if ready:
            status, headers, body = read_response(s)
            break
        try:
            s.send(b"d")
        except OSError:
            break
    s.close()
    assert status == 408, (status, body)
    assert headers["x-amzn-errortype"] == "RequestTimeoutException"
    assert "minimum rate" in json.loads(body)["message"], body
    wait_for(lambda: staging_files(srv) == [], 5, "staging files removed")
    assert ca.list_packages(domain=d, repository="repo")["packages"] == []


def test_below_the_watermark_deletes_and_disposals_free_space(server_factory, small_fs):
    # Watermark 10 MiB, so the floor for deletions is 5 MiB.
    srv = server_factory(small_fs / "data", ["--min-free-bytes", str(10 << 20)])
    ca = make_client(srv.endpoint)
    d = domain_with_repo(ca)
    big = bytes(range(256)) * (4 << 12)  # 4 MiB
    publish(ca, d, "1.0.0", big)
    publish(ca, d, "2.0.0", b"small")
    blob = hashlib.sha256(big).hexdigest()
    blob_files = lambda: [p for p in (srv.data_dir / "blobs").rglob(blob)]  # noqa: E731
    assert len(blob_files()) == 1
    filler = fill(small_fs, 7 << 20)
    try:
        fresh = lambda: make_client(srv.endpoint)  # noqa: E731
        assert error_code(lambda: publish(fresh(), d, "3.0.0", b"refused")) == "ServiceQuotaExceededException"
        assert error_code(lambda: ca.create_repository(domain=d, repository="more")) == \
            "ServiceQuotaExceededException"
        # Disposing the big version drops the last reference to its blob: the file goes.
        free_before = free_bytes(small_fs)
        out = ca.dispose_package_versions(domain=d, repository="repo", format="generic", namespace="ns",
                                          package="p", versions=["1.0.0"])
        assert "1.0.0" in out["successfulVersions"], out
        assert blob_files() == []
        assert free_bytes(small_fs) >= free_before + (3 << 20)
        out = ca.delete_package_versions(domain=d, repository="repo", format="generic", namespace="ns",
                                         package="p", versions=["2.0.0"])
        assert "2.0.0" in out["successfulVersions"], out
        # Space is above the watermark again: writes resume.
        assert publish(fresh(), d, "3.0.0", b"accepted")["status"] == "Published"
        assert versions(ca, d) == ["1.0.0", "3.0.0"]  # 1.0.0 stays listed as Disposed
        # Below the floor even deletions are refused, cleanly.
        filler.unlink()
        filler = fill(small_fs, 3 << 20)
        assert error_code(lambda: ca.delete_package_versions(
            domain=d, repository="repo", format="generic", namespace="ns", package="p",
            versions=["3.0.0"])) == "ServiceQuotaExceededException"
        assert versions(ca, d) == ["1.0.0", "3.0.0"]
    finally:
        filler.unlink()
