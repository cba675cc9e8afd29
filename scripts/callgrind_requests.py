#!/usr/bin/env python3
"""Per-request instruction counts of server binaries under callgrind (valgrind), stable
on a shared machine where wall time is not.

    scripts/callgrind_requests.py KIND N RUST_LOG BINARY [BINARY...]

KIND is `health`, `describe` (signed DescribeRepository) or `asset` (signed
GetPackageVersionAsset of a 16 KiB generic asset). Each binary runs twice under
valgrind, answering N and then 2N requests on one keep-alive connection;
(Ir(2N) - Ir(N)) / N is the cost of one request, start-up and shutdown cancelling out.
Run it with the test venv's python (botocore signs). Only 127.0.0.1 is contacted.
Background threads that tick with time (the store's flusher) add noise that grows with
how long valgrind takes, enough to swamp `ir_per_request` on a busy machine;
`worker_ir_per_request` counts only what runs on tokio's worker threads (inclusive cost
of `worker::run`, by callgrind_annotate), where requests are served, and is stable.
`callgrind_annotate --inclusive=yes` on the two profiles shows where the difference is.
Prints one JSON line per binary; profiles stay in $CALLGRIND_OUT (default /tmp)."""
import hashlib, http.client, json, os, re, shutil, signal, subprocess, sys, tempfile, threading
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

def signed(method, host, path, body=b""):
    req = AWSRequest(method=method, url=f"http://{host}{path}", data=body,
                     headers={"content-type": "application/json"} if body or method == "POST" else {})
    SigV4Auth(Credentials("test", "test"), "codeartifact", "us-east-1").add_auth(req)
    return dict(req.headers.items()), body

def run(binary, n, kind, log):
    data = tempfile.mkdtemp(prefix="cg-")
    out = f"{os.environ.get('CALLGRIND_OUT', '/tmp')}/cg.{os.path.basename(binary)}.{kind}.{n}.{log.replace(',', '_').replace('=', '-')}"
    proc = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                             binary, "--listen", "127.0.0.1:0", "--data-dir", data],
                            env={**os.environ, "RUST_LOG": log}, stderr=subprocess.PIPE, text=True)
    host = None
    while host is None:
        line = proc.stderr.readline()
        if not line:
            raise SystemExit("server died")
        m = re.search(r"127\.0\.0\.1:(\d+)", line)
        if "ready" in line and m:
            host = f"127.0.0.1:{m.group(1)}"
    threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
    conn = http.client.HTTPConnection(host, timeout=120)
    def call(method, path, body=b"", headers=None):
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse(); b = r.read()
        return r.status, b
    for path in ["/v1/domain?domain=bench", "/v1/repository?domain=bench&repository=rr"]:
        h, b = signed("POST", host, path, b"{}")
        s, _ = call("POST", path, b, h); assert s == 200, s
    if kind == "asset":
        path = "/v1/package/version/publish?domain=bench&repository=rr&format=generic&namespace=ns&package=p&version=1.0.0&asset=a.bin"
        body = os.urandom(16 * 1024)
        req = AWSRequest(method="POST", url=f"http://{host}{path}", data=body,
                         headers={"content-type": "application/octet-stream", "x-amz-content-sha256": hashlib.sha256(body).hexdigest()})
        SigV4Auth(Credentials("test", "test"), "codeartifact", "us-east-1").add_auth(req)
        s, b = call("POST", path, body, dict(req.headers.items())); assert s == 200, (s, b)
    if kind == "health":
        reqs = [("GET", "/health", b"", {})]
    elif kind == "describe":
        path = "/v1/repository?domain=bench&repository=rr"
        h, b = signed("GET", host, path)
        reqs = [("GET", path, b, h)]
    elif kind == "asset":
        path = "/v1/package/version/asset?domain=bench&repository=rr&format=generic&namespace=ns&package=p&version=1.0.0&asset=a.bin"
        h, b = signed("GET", host, path)
        reqs = [("GET", path, b, h)]
    for _ in range(n):
        for method, path, body, headers in reqs:
            s, _ = call(method, path, body, headers); assert s == 200, s
    conn.close()
    proc.send_signal(signal.SIGTERM); proc.wait(timeout=120)
    shutil.rmtree(data, ignore_errors=True)
    text = open(out).read()
    m = re.search(r"^summary: (\d+)", text, re.M) or re.search(r"^totals: (\d+)", text, re.M)
    return int(m.group(1)), out

def worker_ir(profile):
    """Inclusive Ir of tokio's worker threads in a profile."""
    text = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", profile],
                          capture_output=True, text=True, check=True).stdout
    m = re.search(r"^\s*([\d,]+) .*scheduler::multi_thread::worker::run \[", text, re.M)
    return int(m.group(1).replace(",", "")) if m else 0

if __name__ == "__main__":
    kind, n, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    for binary in sys.argv[4:]:
        a, first = run(binary, n, kind, log)
        b, out = run(binary, 2 * n, kind, log)
        print(json.dumps({"binary": binary, "kind": kind, "log": log, "n": n,
                          "ir_per_request": (b - a) / n,
                          "worker_ir_per_request": (worker_ir(out) - worker_ir(first)) / n,
                          "profile": out}), flush=True)
