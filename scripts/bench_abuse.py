#!/usr/bin/env python3
"""Latency of /health and of a signed DescribeRepository while the server is abused: 500 idle
connections, 200 slowloris connections, 100 stalled uploads, and all three at once, printed
side by side with an idle run. Loopback only; bounded in connections and in time (a few
seconds per scenario). Timings are reported, never asserted.

Standard library only (SigV4 is signed here), so it runs with any python3.
Knobs (environment): CODEARTIFACT_LOCAL_BIN (the server), BENCH_PROBES (requests per probe,
default 200).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HOST = "127.0.0.1"
REGION = "us-east-1"
KEY, SECRET = "test", "test"
PROBES = int(os.environ.get("BENCH_PROBES", "200"))


def sign(method: str, host: str, path: str, query: str, body: bytes, payload_sha256: str | None = None,
         extra: dict[str, str] | None = None) -> dict[str, str]:
    """SigV4 headers for one request (service codeartifact)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    payload = payload_sha256 or hashlib.sha256(body).hexdigest()
    headers = {"host": host, "x-amz-date": amz_date, "x-amz-content-sha256": payload, **(extra or {})}
    names = sorted(headers)
    canonical_query = "&".join(sorted(
        f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}"
        for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True)))
    canonical = "\n".join([method, path, canonical_query,
                           "".join(f"{n}:{headers[n].strip()}\n" for n in names), ";".join(names), payload])
    scope = f"{day}/{REGION}/codeartifact/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    k = f"AWS4{SECRET}".encode()
    for part in (day, REGION, "codeartifact", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={KEY}/{scope}, "
                                f"SignedHeaders={';'.join(names)}, Signature={signature}")
    return headers


class Server:
    def __init__(self, binary: str):
        self.dir = tempfile.mkdtemp(prefix="bench-abuse-")
        self.log = open(os.path.join(self.dir, "server.log"), "wb")
        self.proc = subprocess.Popen(
            [binary, "--listen", f"{HOST}:0", "--data-dir", os.path.join(self.dir, "data"),
             "--max-connections", "4000", "--max-uploads", "1000", "--max-uploads-per-identity", "1000"],
            stdout=subprocess.DEVNULL, stderr=self.log, env={**os.environ, "NO_COLOR": "1"})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            m = re.search(r"listen=\"?([0-9.]+):([0-9]+)", open(self.log.name).read())
            if m:
                self.port = int(m.group(2))
                self.host = f"{HOST}:{self.port}"
                return
            time.sleep(0.05)
        raise SystemExit("the server did not start")

    def rss_kib(self) -> int:
        for line in open(f"/proc/{self.proc.pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def call(self, conn: http.client.HTTPConnection, method: str, path: str, query: str = "",
             body: bytes = b"") -> tuple[int, bytes]:
        headers = sign(method, self.host, path, query, body, extra={"content-type": "application/json"})
        conn.request(method, path + (f"?{query}" if query else ""), body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def percentiles(samples: list[float]) -> str:
    samples = sorted(samples)
    p = lambda q: samples[min(len(samples) - 1, int(q * len(samples)))]  # noqa: E731
    return f"{statistics.median(samples) * 1000:6.2f} / {p(0.99) * 1000:6.2f} / {samples[-1] * 1000:7.2f}"


def probe(srv: Server) -> tuple[str, str, int]:
    """PROBES requests of each kind on fresh connections (a new client must get in)."""
    health, signed, failures = [], [], 0
    for _ in range(PROBES):
        t = time.perf_counter()
        try:
            conn = http.client.HTTPConnection(HOST, srv.port, timeout=10)
            conn.request("GET", "/health")
            ok = conn.getresponse().status == 200
            conn.close()
        except OSError:
            ok = False
        health.append(time.perf_counter() - t)
        failures += not ok
        t = time.perf_counter()
        try:
            conn = http.client.HTTPConnection(HOST, srv.port, timeout=10)
            status, _ = srv.call(conn, "GET", "/v1/repository", "domain=bench&repository=repo")
            conn.close()
            ok = status == 200
        except OSError:
            ok = False
        signed.append(time.perf_counter() - t)
        failures += not ok
    return percentiles(health), percentiles(signed), failures


class Load:
    """Abusive connections, held open for the length of a scenario."""

    def __init__(self, srv: Server):
        self.srv = srv
        self.sockets: list[socket.socket] = []
        self.slow: list[socket.socket] = []
        self.stop = threading.Event()
        self.trickler = threading.Thread(target=self._trickle, daemon=True)

    def idle(self, n: int) -> None:
        for _ in range(n):
            self.sockets.append(socket.create_connection((HOST, self.srv.port)))

    def slowloris(self, n: int) -> None:
        for _ in range(n):
            s = socket.create_connection((HOST, self.srv.port))
            s.sendall(f"GET /health HTTP/1.1\r\nHost: {self.srv.host}\r\n".encode())
            self.slow.append(s)
        if not self.trickler.is_alive():
            self.trickler.start()

    def _trickle(self) -> None:
        while not self.stop.is_set():
            for s in self.slow:
                try:
                    s.send(b"X")
                except OSError:
                    pass
            self.stop.wait(1.0)

    def stalled_uploads(self, n: int) -> None:
        for i in range(n):
            query = urllib.parse.urlencode({"domain": "bench", "repository": "repo", "format": "generic",
                                            "namespace": "ns", "package": f"stalled{i}", "version": "1.0",
                                            "asset": "a.bin"}, quote_via=urllib.parse.quote)
            path = "/v1/package/version/publish"
            headers = sign("POST", self.srv.host, path, query, b"", payload_sha256="0" * 64,
                           extra={"content-type": "application/octet-stream", "content-length": "10485760"})
            s = socket.create_connection((HOST, self.srv.port))
            head = f"POST {path}?{query} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            s.sendall(head.encode() + b"\r\n" + b"z" * 1024)
            self.sockets.append(s)

    def close(self) -> None:
        self.stop.set()
        for s in self.sockets + self.slow:
            s.close()


def main() -> None:
    binary = os.environ.get("CODEARTIFACT_LOCAL_BIN") or "target/release/codeartifact-local"
    srv = Server(binary)
    try:
        conn = http.client.HTTPConnection(HOST, srv.port, timeout=10)
        assert srv.call(conn, "POST", "/v1/domain", "domain=bench", b"{}")[0] == 200
        assert srv.call(conn, "POST", "/v1/repository", "domain=bench&repository=repo", b"{}")[0] == 200
        conn.close()
        scenarios = {
            "idle server": lambda load: None,
            "500 idle connections": lambda load: load.idle(500),
            "200 slowloris": lambda load: load.slowloris(200),
            "100 stalled uploads": lambda load: load.stalled_uploads(100),
            "all three at once": lambda load: (load.idle(500), load.slowloris(200), load.stalled_uploads(100)),
        }
        rows = []
        for name, setup in scenarios.items():
            load = Load(srv)
            setup(load)
            time.sleep(1.0)
            health, signed, failures = probe(srv)
            rows.append((name, health, signed, failures, srv.rss_kib()))
            load.close()
            time.sleep(0.5)
        print(f"{binary}: {PROBES} probes of each kind on fresh connections; latency in ms "
              "(p50 / p99 / max)")
        print(f"{'scenario':<22} | {'/health':^27} | {'signed DescribeRepository':^27} | failed | RSS MiB")
        print("-" * 100)
        for name, health, signed, failures, rss in rows:
            print(f"{name:<22} | {health} | {signed} | {failures:6d} | {rss / 1024:7.1f}")
        print(json.dumps({"bench": "abuse", "probes": PROBES, "rows": [
            {"scenario": n, "health_ms": h, "signed_ms": s, "failed": f, "rss_kib": r} for n, h, s, f, r in rows]}))
    finally:
        srv.stop()


if __name__ == "__main__":
    sys.exit(main())
