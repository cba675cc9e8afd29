"""The web console benchmark (run by scripts/bench-console.sh). Loopback only."""
from __future__ import annotations

import hashlib
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
from botocore.config import Config

BIN = os.environ["CODEARTIFACT_LOCAL_BIN"]
PACKAGES = int(os.environ.get("BENCH_PACKAGES", "10000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "300"))
ACCOUNT = "000000000000"
PREFIX = "/_codeartifact/console/"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def client(endpoint: str):
    return boto3.client("codeartifact", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test",
                        config=Config(retries={"max_attempts": 1}, max_pool_connections=16))


def measure(label: str, pid: int, call) -> None:
    for _ in range(20):
        call()  # warm up
    times = []
    cpu = cpu_seconds(pid)
    for _ in range(REQUESTS):
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    cpu = cpu_seconds(pid) - cpu
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(f"{label:<42} p50 {statistics.median(times) * 1000:7.2f} ms   p99 {p99 * 1000:7.2f} ms   "
          f"server CPU {cpu / REQUESTS * 1000:6.2f} ms/request")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        endpoint = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen([BIN, "--listen", f"127.0.0.1:{port}", "--data-dir", f"{tmp}/data",
                                 "--log-level", "warn"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                    c.request("GET", "/health")
                    if c.getresponse().status == 200:
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            ca = client(endpoint)
            ca.create_domain(domain="bench")
            ca.create_repository(domain="bench", repository="big")
            data = b"bench asset\n"
            sha = hashlib.sha256(data).hexdigest()

            def publish(i: int) -> None:
                ca.publish_package_version(domain="bench", repository="big", format="generic",
                                           namespace="bench", package=f"pkg-{i:05d}", packageVersion="1.0",
                                           assetContent=data, assetName="a.txt", assetSHA256=sha)

            t = time.perf_counter()
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(publish, range(PACKAGES)))
            print(f"seeded {PACKAGES} packages in {time.perf_counter() - t:.1f} s")
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            repo = f"{PREFIX}d/us-east-1/{ACCOUNT}/bench/r/big"
            last = f"{repo}?after_format=generic&after_namespace=bench&after_name=pkg-{PACKAGES - 51:05d}"

            def get(path: str):
                def call():
                    conn.request("GET", path, headers={"Host": f"127.0.0.1:{port}"})
                    r = conn.getresponse()
                    body = r.read()
                    assert r.status == 200 and b"pkg-" in body, r.status
                return call

            print(f"{PACKAGES} packages, {REQUESTS} sequential requests each, keep-alive, one client")
            measure("console: repository page, first 50", proc.pid, get(repo))
            measure("console: repository page, last 50 (seek)", proc.pid, get(last))
            measure("ListPackages maxResults=50 (boto3, signed)", proc.pid,
                    lambda: ca.list_packages(domain="bench", repository="big", maxResults=50))
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
