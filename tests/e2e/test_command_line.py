"""The server's own command line, as a newcomer meets it (issue 17): flags before or after the
subcommand, `--port`, host names in `--listen`, boolean variables, a taken port, no identity,
unknown external connections, `healthcheck`, `--ephemeral`, `--log-level` and the access log.

Each test starts the real binary (`CODEARTIFACT_LOCAL_BIN`) as a user would, with a temporary
working directory and TMPDIR, and reads what it prints."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import socket
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest

from conftest import Server, basic, endpoint_get, http_request, make_client, server_binary, unique

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any CODEARTIFACT_LOCAL_* or RUST_LOG set by the caller."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CODEARTIFACT_LOCAL_") and k != "RUST_LOG"}
    env["NO_COLOR"] = "1"
    env.update(extra)
    return env


class Running(Server):
    """A server process started with exactly `args` (conftest's `Server` adds its own), its
    stderr in `log_path`; `address` is empty until it logs `ready`."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str], wait: bool = True):
        super().__init__(cwd, cwd / f"server-{time.monotonic_ns()}.log")
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([str(server_binary()), *args], cwd=cwd, env=env,
                                         stdout=subprocess.DEVNULL, stderr=log,
                                         stdin=subprocess.DEVNULL)
        if not wait:
            return
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            m = re.search(r"ready.*listen=\"?([0-9a-f.:\[\]]+:[0-9]+)", self.log())
            if m:
                self.address = m.group(1)
                return
            if self.proc.poll() is not None:
                return
            time.sleep(0.05)
        self.stop()
        pytest.fail(f"not ready in 30 s:\n{self.log()}")

    def log(self) -> str:
        return ANSI.sub("", super().log())

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture
def run_server(tmp_path: Path):
    started: list[Running] = []

    def start(*args: str, env: dict[str, str] | None = None, wait: bool = True) -> Running:
        extra = ["--data-dir", str(tmp_path / f"data{len(started)}")]
        srv = Running([*args, *extra], tmp_path, env or clean_env(), wait)
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
        timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([str(server_binary()), *args], env=env or clean_env(), cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(endpoint: str) -> bool:
    u = urllib.parse.urlsplit(endpoint)
    return http_request(u.hostname, u.port, "GET", "/health", None, {"Host": u.netloc}).status == 200


# ----------------------------------------------------------------------------- flags


def test_flags_after_the_subcommand(run_server):
    srv = run_server("serve", "--listen", "127.0.0.1:0", "--region", "eu-west-1")
    assert srv.address.startswith("127.0.0.1:"), srv.log()
    assert healthy(srv.endpoint)


def test_serve_help_lists_every_flag():
    top = cli("--help").stdout
    serve = cli("serve", "--help").stdout
    health = cli("healthcheck", "--help").stdout
    flags = set(re.findall(r"--[a-z][a-z0-9-]+", top)) - {"--help", "--version"}
    assert {"--listen", "--port", "--ephemeral", "--log-level", "--data-dir"} <= flags
    for flag in flags:
        assert flag in serve, f"serve --help does not list {flag}"
        assert flag in health, f"healthcheck --help does not list {flag}"
    assert "health output" not in top, "--region does not appear in health output"


def test_port_shorthand(run_server):
    port = free_port()
    srv = run_server("--port", str(port))
    assert srv.address == f"127.0.0.1:{port}", srv.log()
    assert healthy(srv.endpoint)


def test_listen_accepts_a_host_name(run_server):
    srv = run_server("--listen", "localhost:0")
    assert srv.address.startswith("127.0.0.1:"), srv.log()
    assert healthy(srv.endpoint)


def test_listen_that_is_not_host_port_is_refused():
    p = cli("--listen", "localhost")
    assert p.returncode != 0
    assert "--listen wants HOST:PORT" in ANSI.sub("", p.stderr), p.stderr


def test_a_taken_port_names_the_address_and_the_flags(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        p = cli("--listen", f"127.0.0.1:{port}", "--data-dir", str(tmp_path / "d"), cwd=tmp_path)
    err = ANSI.sub("", p.stderr)
    assert p.returncode != 0
    assert f"127.0.0.1:{port}" in err and "already in use" in err, err
    assert "--listen" in err and "--port" in err, err


# ----------------------------------------------------------------------------- identities


@pytest.mark.parametrize("value,refused", [("1", True), ("yes", True), ("true", True), ("on", True),
                                           ("0", False), ("no", False), ("false", False)])
def test_boolean_variables_and_the_no_identity_warning(run_server, value, refused):
    srv = run_server("--listen", "127.0.0.1:0", env=clean_env(CODEARTIFACT_LOCAL_NO_DEFAULT_IDENTITY=value))
    assert srv.address, f"the server refused CODEARTIFACT_LOCAL_NO_DEFAULT_IDENTITY={value}:\n{srv.log()}"
    warned = "no identity is configured" in srv.log()
    assert warned == refused, srv.log()
    ca = make_client(srv.endpoint)
    if refused:
        with pytest.raises(Exception) as e:
            ca.list_domains()
        assert "UnrecognizedClient" in str(e.value) or "InvalidSignature" in str(e.value) or \
            "security token" in str(e.value), e.value
    else:
        assert ca.list_domains()["domains"] == []


def test_unknown_external_connection_lists_the_valid_names(tmp_path):
    p = cli("--external-connection", "public:npm=http://127.0.0.1:9/", "--listen", "127.0.0.1:0",
            "--data-dir", str(tmp_path / "d"), cwd=tmp_path)
    err = ANSI.sub("", p.stderr)
    assert p.returncode != 0
    assert "unknown external connection 'public:npm'" in err, err
    for name in ("public:npmjs", "public:pypi", "public:maven-central", "public:crates-io",
                 "public:ruby-gems-org"):
        assert name in err, err


# ----------------------------------------------------------------------------- healthcheck


def test_healthcheck_prints_what_it_checked(run_server):
    srv = run_server("--listen", "127.0.0.1:0")
    for args in (["healthcheck", "--listen", srv.address], ["--listen", srv.address, "healthcheck"],
                 ["healthcheck", "--port", str(srv.port)]):
        p = cli(*args)
        assert p.returncode == 0, (args, p.stderr)
        assert f"healthy: GET http://{srv.address}/health answered 200" in p.stdout, (args, p.stdout)
        assert '"status":"ok"' in p.stdout
    p = cli("healthcheck", env=clean_env(CODEARTIFACT_LOCAL_LISTEN=f"0.0.0.0:{srv.port}"))
    assert p.returncode == 0 and f"http://127.0.0.1:{srv.port}/health" in p.stdout, p.stdout + p.stderr

    srv.stop()
    p = cli("healthcheck", "--listen", srv.address)
    assert p.returncode == 1
    assert f"unhealthy: GET http://{srv.address}/health failed" in p.stderr, p.stderr


# ----------------------------------------------------------------------------- ephemeral


def test_ephemeral_leaves_nothing_on_disk(tmp_path):
    tmp = tmp_path / "tmp"
    work = tmp_path / "work"
    tmp.mkdir()
    work.mkdir()
    srv = Running(["--ephemeral", "--listen", "127.0.0.1:0"], work, clean_env(TMPDIR=str(tmp)))
    try:
        assert srv.address, srv.log()
        made = list(tmp.iterdir())
        assert len(made) == 1 and made[0].name.startswith("codeartifact-local-ephemeral-"), made
        ca = make_client(srv.endpoint)
        domain = unique("eph")
        ca.create_domain(domain=domain)
        ca.create_repository(domain=domain, repository="rr")
        ca.publish_package_version(domain=domain, repository="rr", format="generic", namespace="n",
                                   package="p", packageVersion="1.0.0", assetName="a.bin",
                                   assetContent=b"bytes", assetSHA256=hashlib.sha256(b"bytes").hexdigest())
        assert any((made[0] / "blobs").rglob("*")), "the store is in the temporary directory"
    finally:
        assert srv.stop() == 0, srv.log()
    assert list(tmp.iterdir()) == [], "the temporary data directory is removed at exit"
    assert [p.name for p in work.iterdir() if not p.name.endswith(".log")] == [], \
        "nothing is written in the working directory"
    assert "ephemeral store removed" in srv.log()

    # a second run starts empty
    again = Running(["--ephemeral", "--listen", "127.0.0.1:0"], work, clean_env(TMPDIR=str(tmp)))
    try:
        assert make_client(again.endpoint).list_domains()["domains"] == []
    finally:
        again.stop()


# ----------------------------------------------------------------------------- logging


def access_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if " access: " in line]


def test_one_access_line_per_request_at_info(run_server):
    srv = run_server("--listen", "127.0.0.1:0")
    ca = make_client(srv.endpoint)
    domain = unique("log")
    ca.create_domain(domain=domain)
    ca.create_repository(domain=domain, repository="rr")
    token = ca.get_authorization_token(domain=domain)["authorizationToken"]
    base = f"{srv.endpoint}/npm/d/{domain}-000000000000/rr/"
    assert endpoint_get(base + "left-pad", basic(token)).status == 404
    pypi = f"{srv.endpoint}/pypi/d/{domain}-000000000000/rr/simple/"
    assert endpoint_get(pypi + "six/", basic(token)).status == 404
    maven = f"{srv.endpoint}/maven/d/{domain}-000000000000/rr/"
    u = urllib.parse.urlsplit(maven)
    jar = http_request(u.hostname, u.port, "PUT", u.path + "org/acme/lib/1.0/lib-1.0.jar", b"jar",
                       {"Host": u.netloc, "Authorization": basic(token)})
    assert jar.status in (200, 201), jar
    assert endpoint_get(base + "left-pad").status == 401
    healthy(srv.endpoint)
    time.sleep(0.2)

    lines = access_lines(srv.log())
    assert all("INFO" in line for line in lines), lines

    def one(operation: str, status: int) -> str:
        found = [line for line in lines if f"operation={operation} " in line and f"status={status} " in line]
        assert len(found) == 1, (operation, status, lines)
        return found[0]

    created = one("CreateDomain", 200)
    assert re.search(r"bytes=\d+ ", created) and re.search(r"micros=\d+", created), created
    assert re.search(r'method=POST path="?/v1/domain', created), created
    one("CreateRepository", 200)
    one("GetAuthorizationToken", 200)
    one("npm.packument", 404)
    one("pypi.simple", 404)
    put = one("maven.put", jar.status)
    assert "method=PUT" in put
    refused = one("npm.packument", 401)
    assert "request failed" in refused and re.search(r'error="?UnauthorizedException', refused), refused
    one("health", 200)
    assert len(lines) == 8, lines


def test_log_level_flag_and_rust_log(run_server):
    port = free_port()
    quiet = run_server("--listen", f"127.0.0.1:{port}", "--log-level", "warn", wait=False)
    # nothing at info, not even `ready`: wait for health instead
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if healthy(f"http://127.0.0.1:{port}"):
                break
        except OSError:
            time.sleep(0.05)
    assert quiet.proc.poll() is None
    assert quiet.log() == "", quiet.log()
    no_access = run_server("--listen", "127.0.0.1:0", env=clean_env(RUST_LOG="info,access=off"))
    assert no_access.address
    healthy(no_access.endpoint)
    time.sleep(0.2)
    assert access_lines(no_access.log()) == [], no_access.log()
    # --log-level wins over RUST_LOG
    loud = run_server("--listen", "127.0.0.1:0", "--log-level", "info", env=clean_env(RUST_LOG="error"))
    assert loud.address
    healthy(loud.endpoint)
    time.sleep(0.2)
    assert len(access_lines(loud.log())) == 1, loud.log()


def started_at(run_server, *args: str, env: dict[str, str] | None = None) -> Running:
    """A server on a free port, ready once /health answers (without an info `ready` line,
    or with a JSON one, there is nothing to read the address from)."""
    port = free_port()
    srv = run_server("--listen", f"127.0.0.1:{port}", *args, env=env, wait=False)
    srv.address = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and srv.proc.poll() is None:
        try:
            if healthy(srv.endpoint):
                return srv
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"not healthy in 30 s:\n{srv.log()}")


SEED = '{"version": 1, "domains": [{"name": "seeded", "repositories": [{"name": "r1"}]}]}'
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"
REQUEST_ID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def seeded_and_called(run_server, tmp_path: Path, *args: str,
                      env: dict[str, str] | None = None) -> tuple[Running, str]:
    """A server started with `SEED`, after CreateDomain, DescribeDomain (its request id
    returned) and a DescribeDomain that fails."""
    seed = tmp_path / "seed.json"
    seed.write_text(SEED)
    srv = started_at(run_server, "--seed", str(seed), *args, env=env)
    ca = make_client(srv.endpoint)
    ca.create_domain(domain="logged")
    request_id = ca.describe_domain(domain="logged")["ResponseMetadata"]["RequestId"]
    with pytest.raises(ca.exceptions.ResourceNotFoundException):
        ca.describe_domain(domain="nope")
    time.sleep(0.2)
    return srv, request_id


def test_access_line_shape_and_in_process_requests_at_debug(run_server, tmp_path):
    """The text line, whole; the seed's in-process requests at debug only; `access=warn`."""
    srv, request_id = seeded_and_called(run_server, tmp_path, "--log-level", "info,access=debug")
    lines = access_lines(srv.log())
    seeded = [line for line in lines if " DEBUG access: in-process request " in line]
    assert len(seeded) == 4, lines  # Describe/Create of the domain, then of the repository
    assert re.fullmatch(
        rf'{STAMP} DEBUG access: in-process request request_id="{REQUEST_ID}" method=GET '
        r'path="/v1/domain" operation=DescribeDomain status=404 bytes=\d+ micros=\d+ '
        r'error="ResourceNotFoundException"', seeded[0]), seeded
    assert re.fullmatch(
        rf'{STAMP} DEBUG access: in-process request request_id="{REQUEST_ID}" method=POST '
        r'path="/v1/repository" operation=CreateRepository status=200 bytes=\d+ micros=\d+',
        seeded[3]), seeded
    served = [line for line in lines if line not in seeded]
    assert len(served) == 4, lines  # the health check, then the three calls
    assert re.fullmatch(
        rf'{STAMP}  INFO access: request request_id="{request_id}" method=GET path="/v1/domain" '
        r'operation=DescribeDomain status=200 bytes=\d+ micros=\d+', served[2]), served
    assert re.fullmatch(
        rf'{STAMP}  INFO access: request failed request_id="{REQUEST_ID}" method=GET '
        r'path="/v1/domain" operation=DescribeDomain status=404 bytes=\d+ micros=\d+ '
        r'error="ResourceNotFoundException"', served[3]), served

    # at info the seed's requests are not logged; `access=warn` drops the rest too
    for level, expected in [("info", 2), ("info,access=warn", 0)]:
        again = started_at(run_server, "--seed", str(tmp_path / "seed.json"),
                           env=clean_env(RUST_LOG=level))
        healthy(again.endpoint)
        time.sleep(0.2)
        lines = access_lines(again.log())
        assert len(lines) == expected and all(" INFO access: request " in l for l in lines), lines
        assert "seed applied" in again.log()


def test_json_access_lines(run_server, tmp_path):
    """`--log-format json`: every line one JSON object; the access line's keys, in order, and
    values, typed; the seed's in-process requests at debug."""
    import json

    srv, request_id = seeded_and_called(run_server, tmp_path, "--log-format", "json",
                                        env=clean_env(RUST_LOG="info,access=debug"))
    records = [json.loads(line) for line in srv.log().splitlines()]
    access = [r for r in records if r["target"] == "access"]
    assert len(access) == 8, access  # the seed's four, the health check, the three calls
    for r in access:
        assert list(r) == ["timestamp", "level", "fields", "target"], r
        assert re.fullmatch(STAMP, r["timestamp"]), r
        assert re.fullmatch(REQUEST_ID, r["fields"]["request_id"]), r
        keys = ["message", "request_id", "method", "path", "operation", "status", "bytes", "micros"]
        if r["fields"]["status"] >= 400:
            keys.append("error")
        assert list(r["fields"]) == keys, r
        assert all(type(r["fields"][k]) is int for k in ["status", "bytes", "micros"]), r
    seeded = [r for r in access if r["level"] == "DEBUG"]
    assert [(r["fields"]["message"], r["fields"]["operation"], r["fields"]["status"]) for r in seeded] == [
        ("in-process request", "DescribeDomain", 404), ("in-process request", "CreateDomain", 200),
        ("in-process request", "DescribeRepository", 404), ("in-process request", "CreateRepository", 200)]
    described = [r for r in access if r["fields"]["request_id"] == request_id]
    assert described == [{
        "timestamp": described[0]["timestamp"], "level": "INFO",
        "fields": {"message": "request", "request_id": request_id, "method": "GET",
                   "path": "/v1/domain", "operation": "DescribeDomain", "status": 200,
                   "bytes": described[0]["fields"]["bytes"], "micros": described[0]["fields"]["micros"]},
        "target": "access"}], access
    failed = access[-1]
    assert failed["level"] == "INFO" and failed["fields"]["message"] == "request failed", failed
    assert failed["fields"]["error"] == "ResourceNotFoundException", failed
    assert failed["fields"]["path"] == "/v1/domain" and failed["fields"]["method"] == "GET", failed
