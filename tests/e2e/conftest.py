"""Shared fixtures for the end-to-end suite: a real codeartifact-local process per test module,
real clients (the AWS CLI, boto3) pointed at it, and a raw SigV4 HTTP helper.

Nothing global is read or written: every client gets a temporary HOME and configuration files.
"""

from __future__ import annotations

import base64
import hashlib
import datetime as _dt
import http.client
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping
from unittest import mock

import pytest

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
MODEL_PATH = REPO_ROOT / "api-models" / "codeartifact.json"

REGION = "us-east-1"
ACCESS_KEY = "test"
SECRET_KEY = "test"
ACCOUNT = "000000000000"
PRINCIPAL = f"arn:aws:iam::{ACCOUNT}:user/test"

# A second identity, configured on every server this suite starts.
OTHER_ACCESS_KEY = "AKIDOTHERACCOUNT01"
OTHER_SECRET_KEY = "other-secret-key"
OTHER_ACCOUNT = "111111111111"

SERVER_START_TIMEOUT = 30.0

# Every operation of the service model is served (none answers 501 any more): the set is derived
# from the model so that a model update that adds an operation is covered automatically.
IMPLEMENTED_OPERATIONS = frozenset(json.loads(MODEL_PATH.read_text())["operations"])


# --------------------------------------------------------------------------------------------
# Prerequisites and isolation
# --------------------------------------------------------------------------------------------


def venv_dir() -> Path:
    return Path(os.environ.get("CODEARTIFACT_TEST_VENV", str(REPO_ROOT / ".venv-test")))


def aws_cli_path() -> Path:
    return venv_dir() / "bin" / "aws"


def server_binary() -> Path:
    value = os.environ.get("CODEARTIFACT_LOCAL_BIN")
    if not value:
        pytest.fail(
            "CODEARTIFACT_LOCAL_BIN is not set: build the server (cargo build --bin "
            "codeartifact-local) and export CODEARTIFACT_LOCAL_BIN=target/debug/codeartifact-local",
            pytrace=False,
        )
    path = Path(value)
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(f"CODEARTIFACT_LOCAL_BIN={value} is not an executable file", pytrace=False)
    return path


@pytest.fixture(scope="session", autouse=True)
def _prerequisites() -> None:
    """Fail (never skip) when the server binary or the AWS CLI is missing."""
    server_binary()
    cli = aws_cli_path()
    if not cli.is_file() or not os.access(cli, os.X_OK):
        pytest.fail(
            f"the AWS CLI is missing at {cli}: create the venv "
            "(python3 -m venv .venv-test && .venv-test/bin/pip install -r tests/e2e/requirements.txt) "
            "or set CODEARTIFACT_TEST_VENV",
            pytrace=False,
        )


@pytest.fixture(scope="session", autouse=True)
def _isolated_aws_env(tmp_path_factory: pytest.TempPathFactory):
    """boto3 in this process must not read ~/.aws or ambient credentials."""
    cfg = tmp_path_factory.mktemp("aws-config")
    (cfg / "config").write_text("")
    (cfg / "credentials").write_text("")
    with pytest.MonkeyPatch.context() as mp:
        for var in list(os.environ):
            if var.startswith("AWS_"):
                mp.delenv(var)
        mp.setenv("AWS_CONFIG_FILE", str(cfg / "config"))
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(cfg / "credentials"))
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        yield


# --------------------------------------------------------------------------------------------
# The server process
# --------------------------------------------------------------------------------------------


class Server:
    """One codeartifact-local process listening on a free loopback port."""

    def __init__(self, data_dir: Path, log_path: Path, extra_args: Iterable[str] = ()):
        self.data_dir = data_dir
        self.log_path = log_path
        self.extra_args = list(extra_args)
        self.proc: subprocess.Popen | None = None
        self.address = ""

    @property
    def host(self) -> str:
        return self.address.rsplit(":", 1)[0]

    @property
    def port(self) -> int:
        return int(self.address.rsplit(":", 1)[1])

    @property
    def endpoint(self) -> str:
        return f"http://{self.address}"

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def start(self, listen: str = "127.0.0.1:0") -> "Server":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env["RUST_LOG"] = "info"
        env.pop("NO_COLOR", None)
        env["NO_COLOR"] = "1"
        args = [
            str(server_binary()),
            "--listen",
            listen,
            "--data-dir",
            str(self.data_dir),
            "--identities",
            f"{OTHER_ACCESS_KEY}:{OTHER_SECRET_KEY}:{OTHER_ACCOUNT}",
            *self.extra_args,
        ]
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                args, stdout=subprocess.DEVNULL, stderr=log, stdin=subprocess.DEVNULL, env=env
            )
        finally:
            log.close()
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        ansi = re.compile(r"\x1b\[[0-9;]*m")
        while time.monotonic() < deadline:
            text = ansi.sub("", self.log())
            for line in text.splitlines():
                if "ready" in line and "listen=" in line:
                    m = re.search(r"listen=\"?([0-9.]+:[0-9]+)", line)
                    if m:
                        self.address = m.group(1)
            if self.address:
                break
            if self.proc.poll() is not None:
                pytest.fail(
                    f"codeartifact-local exited with {self.proc.returncode} before it was ready:\n"
                    f"{self.log()}",
                    pytrace=False,
                )
            time.sleep(0.05)
        else:
            self.kill()
            pytest.fail(f"codeartifact-local was not ready in {SERVER_START_TIMEOUT}s:\n{self.log()}")
        # Wait for /health as well (the listener is bound before `ready` is logged).
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=2)
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    conn.close()
                    return self
                conn.close()
            except OSError:
                pass
            time.sleep(0.05)
        pytest.fail(f"/health never answered 200:\n{self.log()}")

    def terminate(self, timeout: float = 15.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    """A fresh server per test module (fresh account quotas, fresh data directory)."""
    base = tmp_path_factory.mktemp("server")
    srv = Server(base / "data", base / "server.log").start()
    yield srv
    rc = srv.terminate()
    if rc not in (0, None):
        sys.stderr.write(f"codeartifact-local exited with {rc}; log:\n{srv.log()}\n")


@pytest.fixture(scope="module")
def endpoint(server: Server) -> str:
    return server.endpoint


def read_npmrc(path: Path) -> dict[str, str]:
    """The key/value lines of an .npmrc (comments skipped)."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith((";", "#")) and "=" in line:
            k, v = line.split("=", 1)
            values[k.strip()] = v.strip()
    return values


class LoopbackHttp:
    """An HTTP server in this process on a free loopback port, for a fixture that plays another
    party (a public registry, a file host, a tripwire proxy). It answers the METHODS; `requests`
    records (path, Authorization) of every request in order. By default it serves `routes`
    (path without query → (content type, body)), asks for AUTH first when a subclass sets it,
    and answers MISSING otherwise; a subclass may override `answer`. HTTP/1.0: one request per
    connection."""

    METHODS: tuple[str, ...] = ("GET",)
    HEADERS: Mapping[str, str] = {}  # sent with every answer
    AUTH: str | None = None  # the Authorization every request must carry
    UNAUTHORIZED = (401, "text/plain", b"auth")
    MISSING = (404, "text/plain", b"not found")

    def __init__(self) -> None:
        self.requests: list[tuple[str, str | None]] = []
        self.routes: dict[str, tuple[str, bytes]] = {}
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def serve(self) -> None:
                outer.requests.append((self.path, self.headers.get("Authorization")))
                status, ctype, body = outer.answer(self)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in outer.HEADERS.items():
                    self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

        for method in self.METHODS:
            setattr(Handler, f"do_{method}", Handler.serve)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def answer(self, request: http.server.BaseHTTPRequestHandler) -> tuple[int, str, bytes]:
        """(status, content type, body) for one request."""
        if self.AUTH is not None and request.headers.get("Authorization") != self.AUTH:
            return self.UNAUTHORIZED
        route = self.routes.get(request.path.split("?", 1)[0])
        return self.MISSING if route is None else (200, *route)

    def paths(self) -> list[str]:
        """The paths asked for, in order, as sent."""
        return [path for path, _ in self.requests]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def silent_port():
    """A port that accepts TCP connections (backlog) and never answers."""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    yield s.getsockname()[1]
    s.close()


@pytest.fixture
def server_factory(tmp_path: Path):
    """Starts extra servers for lifecycle tests; all are stopped afterwards."""
    started: list[Server] = []

    def start(data_dir: Path | None = None, extra_args: Iterable[str] = ()) -> Server:
        n = len(started)
        srv = Server(data_dir or tmp_path / f"data{n}", tmp_path / f"server{n}.log", extra_args)
        started.append(srv)
        return srv.start()

    yield start
    for srv in started:
        srv.kill()


# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------


def unique(prefix: str = "d") -> str:
    """A unique name valid both as a domain and as a repository name."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# --------------------------------------------------------------------------------------------
# boto3
# --------------------------------------------------------------------------------------------


def make_client(endpoint_url: str, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY,
                region: str = REGION):
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=region,
    )
    return session.client(
        "codeartifact",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=30),
    )


@pytest.fixture(scope="module")
def client_factory(endpoint: str, _isolated_aws_env):
    def factory(access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY, region: str = REGION):
        return make_client(endpoint, access_key, secret_key, region)

    return factory


@pytest.fixture(scope="module")
def ca(client_factory):
    """boto3 client for the default identity."""
    return client_factory()


@pytest.fixture(scope="module")
def ca_other(client_factory):
    """boto3 client for the second account (111111111111)."""
    return client_factory(OTHER_ACCESS_KEY, OTHER_SECRET_KEY)


class Tracker:
    """Remembers domains a test created and deletes them (repositories first) afterwards,
    so the per-account domain quota (10) is never exhausted by earlier tests."""

    def __init__(self, clients: Mapping[str, Any]):
        self.clients = clients
        self.domains: list[tuple[str, str]] = []

    def domain(self, name: str, account: str = ACCOUNT) -> str:
        self.domains.append((name, account))
        return name

    def create_domain(self, name: str | None = None, account: str = ACCOUNT, **kwargs) -> dict:
        name = name or unique("dom")
        self.domain(name, account)
        return self.clients[account].create_domain(domain=name, **kwargs)["domain"]

    def create_repository(self, domain: str, name: str | None = None, account: str = ACCOUNT,
                          **kwargs) -> dict:
        name = name or unique("repo")
        return self.clients[account].create_repository(domain=domain, repository=name, **kwargs)[
            "repository"
        ]

    def cleanup(self) -> None:
        for name, account in reversed(self.domains):
            client = self.clients[account]
            try:
                repos = client.list_repositories_in_domain(domain=name).get("repositories", [])
                for r in repos:
                    try:
                        client.delete_repository(domain=name, repository=r["name"])
                    except Exception:
                        pass
                client.delete_domain(domain=name)
            except Exception:
                pass


@pytest.fixture
def track(ca, ca_other):
    tracker = Tracker({ACCOUNT: ca, OTHER_ACCOUNT: ca_other})
    yield tracker
    tracker.cleanup()


# --------------------------------------------------------------------------------------------
# The AWS CLI
# --------------------------------------------------------------------------------------------


@dataclass
class CliResult:
    rc: int
    out: Any
    err: str
    stdout: str = ""

    def __iter__(self):  # allows `rc, out, err = aws(...)`
        return iter((self.rc, self.out, self.err))

    def error_code(self) -> str | None:
        m = re.search(r"An error occurred \(([A-Za-z]+)\)", self.err)
        return m.group(1) if m else None


def client_env(home: Path, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY,
               region: str = REGION) -> dict[str, str]:
    """A minimal environment for client subprocesses: temporary HOME, configuration files
    inside it, the venv's bin first on PATH (so `pip` is the venv's)."""
    home.mkdir(parents=True, exist_ok=True)
    aws_dir = home / ".aws"
    aws_dir.mkdir(exist_ok=True)
    for f in ("config", "credentials"):
        (aws_dir / f).touch()
    path = os.pathsep.join([str(venv_dir() / "bin"), os.environ.get("PATH", "/usr/bin:/bin")])
    env = {
        "PATH": path,
        "HOME": str(home),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "AWS_ACCESS_KEY_ID": access_key,
        "AWS_SECRET_ACCESS_KEY": secret_key,
        "AWS_DEFAULT_REGION": region,
        "AWS_CONFIG_FILE": str(aws_dir / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(aws_dir / "credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_RETRY_MODE": "standard",
        "AWS_PAGER": "",
        # npm: user config and cache inside the temporary HOME
        "NPM_CONFIG_USERCONFIG": str(home / ".npmrc"),
        "npm_config_cache": str(home / ".npm-cache"),
        "npm_config_update_notifier": "false",
        # pip: no network, no global configuration
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_INPUT": "1",
        "XDG_CONFIG_HOME": str(home / ".config"),
    }
    if "TMPDIR" in os.environ:
        env["TMPDIR"] = os.environ["TMPDIR"]
    return env


def run_aws(endpoint: str, home: Path, *args: str, access_key: str = ACCESS_KEY,
            secret_key: str = SECRET_KEY, region: str = REGION, output: str = "json",
            timeout: float = 60) -> CliResult:
    """The venv's `aws` CLI against the server at `endpoint`, with HOME `home`: a CliResult
    (rc, out, err) where `out` is the parsed JSON stdout (None when stdout is empty, the text
    if it is not JSON)."""
    env = client_env(Path(home), access_key, secret_key, region)
    cmd = [str(aws_cli_path()), *args, "--endpoint-url", endpoint, "--output", output]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=str(home))
    out: Any = None
    if p.stdout.strip():
        try:
            out = json.loads(p.stdout)
        except ValueError:
            out = p.stdout
    return CliResult(p.returncode, out, p.stderr, p.stdout)


@pytest.fixture(scope="module")
def aws(endpoint: str, tmp_path_factory: pytest.TempPathFactory):
    """`run_aws` against the module's server (a fresh temporary HOME unless `home` is given)."""

    def run(*args: str, home: Path | None = None, **kw: Any) -> CliResult:
        return run_aws(endpoint, home or tmp_path_factory.mktemp("home"), *args, **kw)

    return run


# --------------------------------------------------------------------------------------------
# Raw signed HTTP
# --------------------------------------------------------------------------------------------


@dataclass
class RawResponse:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    json: Any = field(default=None)
    reason: str = ""

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def header_all(self, name: str) -> list[str]:
        return self.headers.get_all(name) or []

    @property
    def error_type(self) -> str | None:
        v = self.header("x-amzn-errortype")
        return v.split(":", 1)[0] if v else None

    def __repr__(self) -> str:
        return f"RawResponse({self.status}, {dict(self.headers)}, {self.body[:500]!r})"


def encode_query(query: Mapping[str, Any] | Iterable[tuple[str, Any]] | str | None) -> str:
    if query is None:
        return ""
    if isinstance(query, str):
        return query
    items = query.items() if isinstance(query, Mapping) else query
    return "&".join(
        f"{urllib.parse.quote(str(k), safe='-_.~')}={urllib.parse.quote(str(v), safe='-_.~')}"
        for k, v in items
    )


def http_request(host: str, port: int, method: str, target: str, body: bytes | None,
                 headers: Mapping[str, str], timeout: float = 30) -> RawResponse:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        if body is not None and not any(k.lower() in ("content-length", "transfer-encoding") for k in headers):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        if body:
            try:
                conn.send(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may answer before reading everything; read its answer
        resp = conn.getresponse()
        data = resp.read()
        parsed = None
        if data:
            try:
                parsed = json.loads(data)
            except ValueError:
                parsed = None
        return RawResponse(resp.status, resp.headers, data, parsed, resp.reason)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def raw(server: Server):
    """raw(method, path, query, body, headers, ...) → RawResponse.

    The request is SigV4-signed with botocore's SigV4Auth (service `codeartifact`) unless
    sign=False. `sign_time` signs as of another instant; `tamper(method, target, headers, body)`
    may change the request after signing and returns the new (method, target, headers, body).
    `path` is sent verbatim (no normalisation)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    def call(method: str, path: str, query=None, body: Any = None,
             headers: Mapping[str, str] | None = None, *, access_key: str = ACCESS_KEY,
             secret_key: str = SECRET_KEY, region: str = REGION, service: str = "codeartifact",
             sign: bool = True, sign_time: _dt.datetime | None = None,
             tamper: Callable | None = None, host_header: str | None = None) -> RawResponse:
        if isinstance(body, (dict, list)):
            data: bytes | None = json.dumps(body).encode()
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = body
        qs = encode_query(query)
        target = path + (f"?{qs}" if qs else "")
        hdrs = {"Host": host_header or server.address}
        if data is not None and (headers is None or not any(k.lower() == "content-type" for k in headers)):
            hdrs["Content-Type"] = "application/json"
        if headers:
            hdrs.update(headers)
        if sign:
            req = AWSRequest(method=method, url=f"http://{server.address}{target}", data=data or b"",
                             headers=dict(hdrs))
            signer = SigV4Auth(Credentials(access_key, secret_key), service, region)
            if sign_time is not None:
                naive = sign_time.astimezone(_dt.timezone.utc).replace(tzinfo=None)
                with mock.patch("botocore.auth.get_current_datetime", lambda *a, **k: naive):
                    signer.add_auth(req)
            else:
                signer.add_auth(req)
            hdrs = {k: v for k, v in req.headers.items()}
        if tamper is not None:
            method, target, hdrs, data = tamper(method, target, hdrs, data)
        return http_request(server.host, server.port, method, target, data, hdrs)

    return call


# --------------------------------------------------------------------------------------------
# Repository endpoints (data plane)
# --------------------------------------------------------------------------------------------


def basic(token: str, user: str = "aws") -> str:
    return "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()


def endpoint_get(url: str, authorization: str | None = None, host_header: str | None = None,
                 timeout: float = 15) -> RawResponse:
    """GET a repository-endpoint URL (http only) with an optional Authorization header."""
    u = urllib.parse.urlsplit(url)
    target = u.path + (f"?{u.query}" if u.query else "")
    headers = {"Host": host_header or u.netloc, "Accept": "*/*"}
    if authorization is not None:
        headers["Authorization"] = authorization
    return http_request(u.hostname, u.port or 80, "GET", target, None, headers, timeout)


def b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def flip_char(s: str, index: int) -> str:
    """Replaces one base64url character by a different one (keeps the alphabet)."""
    c = s[index]
    repl = "A" if c != "A" else "B"
    return s[:index] + repl + s[index + 1:]


def to_epoch(value: Any) -> float:
    """A timestamp as the CLI or boto3 shows it → epoch seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, _dt.datetime):
        return value.timestamp()
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return _dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    raise AssertionError(f"not a timestamp: {value!r}")


def sha256_of(data: bytes) -> str:
    """The lowercase hex SHA-256 of `data` (what AssetSummary, cargo `cksum`, PyPI pages and
    `assetSHA256` carry)."""
    return hashlib.sha256(data).hexdigest()


def allow_policy(account: str = ACCOUNT, actions: str | list[str] = "codeartifact:*") -> str:
    """A resource policy document allowing `account`'s root principal `actions` on any resource."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                       "Action": actions, "Resource": "*"}],
    })


def asset_hashes(data: bytes) -> dict[str, str]:
    """The four digests of an asset, keyed as AssetSummary.hashes keys them."""
    return {
        "MD5": hashlib.md5(data).hexdigest(),
        "SHA-1": hashlib.sha1(data).hexdigest(),
        "SHA-256": sha256_of(data),
        "SHA-512": hashlib.sha512(data).hexdigest(),
    }


def finish(p: subprocess.Popen, timeout: float, what: str) -> subprocess.CompletedProcess:
    """Waits for a started client; kills it and fails when it takes longer than `timeout`."""
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError(f"{what} did not finish in {timeout}s:\n{err}")
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def load_model() -> dict:
    return json.loads(MODEL_PATH.read_text())


def which(cmd: str) -> str | None:
    return shutil.which(cmd)
