"""Event sinks for the events tests: a stand-in EventBridge `PutEvents` endpoint (a threaded
`http.server` on 127.0.0.1 recording every request) and a reader for the JSON-lines events
file, plus SigV4 verification of the calls the server makes.

References: events spec §2 (envelope), §5 (delivery: PutEvents on the `default` bus of each
recipient account).
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Mapping
from unittest import mock


@dataclass
class Received:
    """One HTTP request the receiver got."""

    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes
    json: Any = None
    answered_ids: list[str] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    @property
    def access_key(self) -> str | None:
        m = re.search(r"Credential=([^/,\s]+)/", self.header("Authorization") or "")
        return m.group(1) if m else None

    @property
    def credential_scope(self) -> tuple[str, ...] | None:
        m = re.search(r"Credential=([^,\s]+)", self.header("Authorization") or "")
        return tuple(m.group(1).split("/")) if m else None

    @property
    def entries(self) -> list[dict]:
        if isinstance(self.json, dict) and isinstance(self.json.get("Entries"), list):
            return self.json["Entries"]
        return []


class Receiver:
    """A minimal EventBridge: answers every POST like a successful PutEvents."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _read_body(self) -> bytes:
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def _record(self) -> Received:
                body = self._read_body()
                try:
                    parsed = json.loads(body) if body else None
                except ValueError:
                    parsed = None
                req = Received(self.command, self.path, list(self.headers.items()), body, parsed)
                return req

            def _answer(self, status: int, payload: Any) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802
                req = self._record()
                ids = [str(uuid.uuid4()) for _ in req.entries]
                req.answered_ids = ids
                with receiver.lock:
                    receiver.requests.append(req)
                self._answer(200, {"FailedEntryCount": 0, "Entries": [{"EventId": i} for i in ids]})

            def _other(self) -> None:
                req = self._record()
                with receiver.lock:
                    receiver.requests.append(req)
                self._answer(405, {"__type": "MethodNotAllowed"})

            do_GET = do_PUT = do_DELETE = do_PATCH = _other  # noqa: N815

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="putevents", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> "Receiver":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def snapshot(self) -> list[Received]:
        with self.lock:
            return list(self.requests)

    def entries(self) -> list[tuple[Received, dict, dict]]:
        """Every PutEvents entry received so far: (request, entry, parsed Detail)."""
        out = []
        for req in self.snapshot():
            for entry in req.entries:
                try:
                    detail = json.loads(entry.get("Detail"))
                except (TypeError, ValueError):
                    detail = {}
                out.append((req, entry, detail if isinstance(detail, dict) else {}))
        return out


def read_events_file(path: Path) -> list[dict]:
    """Complete lines of the events file, parsed (a line still being written is ignored)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    lines = text.split("\n")
    complete = lines[:-1]  # the part after the last newline is not a complete line yet
    return [json.loads(line) for line in complete if line.strip()]


def poll(fn: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Calls fn until it returns a truthy value or the timeout passes; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def sigv4_check(req: Received, host_port: str, secrets: Mapping[str, str]) -> tuple[bool, str, str]:
    """Recomputes the request's SigV4 signature with botocore from the headers it signed.

    Returns (matches, expected Authorization, received Authorization)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    auth = req.header("Authorization") or ""
    m = re.match(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                 r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$", auth)
    if not m:
        return False, "<well-formed AWS4-HMAC-SHA256 header>", auth
    key, _date, region, service, signed, _sig = m.groups()
    if key not in secrets:
        return False, f"<a known access key, not {key}>", auth
    amz_date = req.header("X-Amz-Date") or ""
    headers = {}
    for name in signed.split(";"):
        if name in ("x-amz-date",):
            continue
        value = req.header(name)
        if value is None:
            return False, f"<signed header {name} present>", auth
        headers[name] = value
    aws_req = AWSRequest(method=req.method, url=f"http://{host_port}{req.path}", data=req.body,
                         headers=headers)
    signer = SigV4Auth(Credentials(key, secrets[key]), service, region)
    when = _dt.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
    with mock.patch("botocore.auth.get_current_datetime", lambda *a, **k: when):
        signer.add_auth(aws_req)
    expected = aws_req.headers["Authorization"]
    return expected == auth, expected, auth
