#!/usr/bin/env python3
"""The event stream under publish load (see bench-events.sh): publisher processes pace
PublishPackageVersion calls to the offered rate; subscriber processes read the SSE stream and
note when each event arrives; stalled subscribers hold a stream open without reading. Prints a
table and one JSON line. Standard library only (SigV4 from bench_abuse)."""

from __future__ import annotations

import http.client
import json
import multiprocessing as mp
import os
import queue
import re
import socket
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from bench_abuse import HOST, Server, sign  # noqa: E402

RATE = int(os.environ.get("BENCH_RATE", "1000"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
SUBSCRIBERS = int(os.environ.get("BENCH_SUBSCRIBERS", "16"))
PUBLISHERS = int(os.environ.get("BENCH_PUBLISHERS", "4"))
STALLED = int(os.environ.get("BENCH_STALLED", "4"))
VERSION = re.compile(rb'"packageVersion":"(\d+)"')


def publisher(port: int, index: int, start_at: float, out) -> None:
    host = f"{HOST}:{port}"
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    done: dict[int, float] = {}
    failures = 0
    per = RATE / PUBLISHERS
    n = 0
    while True:
        due = start_at + n / per
        if due - start_at >= SECONDS:
            break
        pause = due - time.time()
        if pause > 0:
            time.sleep(pause)
        version = index + n * PUBLISHERS
        body = f"asset {version}".encode()
        query = (f"asset=a.bin&domain=bench&format=generic&namespace=ns&package=p{version % 64}"
                 f"&repository=repo&version={version}")
        # The asset's SHA-256 is x-amz-content-sha256, which `sign` sets from the body.
        headers = sign("POST", host, "/v1/package/version/publish", query, body,
                       extra={"content-type": "application/octet-stream"})
        try:
            conn.request("POST", f"/v1/package/version/publish?{query}", body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            ok = resp.status == 200
        except OSError:
            ok, conn = False, http.client.HTTPConnection(HOST, port, timeout=30)
        if ok:
            done[version] = time.time()
        else:
            failures += 1
        n += 1
    out.put(("pub", done, failures))


def subscriber(port: int, after: str, expected_end: mp.Value, out, stalled: bool) -> None:
    host = f"{HOST}:{port}"
    path = "/_codeartifact/events"
    query = f"after={after}&domain=bench"
    headers = sign("GET", host, path, query, b"", extra={"accept": "text/event-stream"})
    sock = socket.create_connection((HOST, port))
    request = f"GET {path}?{query} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    sock.sendall(request.encode())
    if stalled:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        while expected_end.value == 0:
            time.sleep(0.2)
        out.put(("stalled", {}, 0))
        sock.close()
        return
    seen: dict[int, float] = {}
    buf = b""
    sock.settimeout(1.0)
    idle_since = time.time()
    while True:
        try:
            chunk = sock.recv(1 << 16)
        except socket.timeout:
            chunk = None
        now = time.time()
        if chunk:
            idle_since = now
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for line in lines:
                m = VERSION.search(line)
                if m:
                    seen[int(m.group(1))] = now
        elif chunk == b"":
            break
        if expected_end.value and now - idle_since > 3:
            break
    out.put(("sub", seen, 0))
    sock.close()


def main() -> None:
    srv = Server(os.environ["CODEARTIFACT_LOCAL_BIN"])
    try:
        conn = http.client.HTTPConnection(HOST, srv.port, timeout=30)
        assert srv.call(conn, "POST", "/v1/domain", "domain=bench", b"{}")[0] == 200
        assert srv.call(conn, "POST", "/v1/repository", "domain=bench&repository=repo", b"{}")[0] == 200
        status, body = srv.call(conn, "GET", "/_codeartifact/events", "after=now")
        # With no subscriber the server may run with the test controls off (a baseline).
        assert status == 200 or SUBSCRIBERS + STALLED == 0, body
        after = json.loads(body).get("cursor", "0")
        rss_before = srv.rss_kib()
        out = mp.Queue()
        finished = mp.Value("i", 0)
        subs = [mp.Process(target=subscriber, args=(srv.port, after, finished, out, i >= SUBSCRIBERS))
                for i in range(SUBSCRIBERS + STALLED)]
        for p in subs:
            p.start()
        time.sleep(1.0)
        start_at = time.time() + 0.5
        pubs = [mp.Process(target=publisher, args=(srv.port, i, start_at, out)) for i in range(PUBLISHERS)]
        for p in pubs:
            p.start()
        rss_samples = []
        published: dict[int, float] = {}
        failures = 0
        results = []
        reported = 0
        # Results are read while they come: a process that put a large result on the queue
        # cannot exit until it is read.
        while reported < len(pubs):
            rss_samples.append(srv.rss_kib())
            try:
                kind, done, failed = out.get(timeout=0.5)
            except queue.Empty:
                continue
            published.update(done)
            failures += failed
            reported += 1
        elapsed = max(published.values()) - start_at if published else 0
        finished.value = 1
        for _ in subs:
            results.append(out.get())
        for p in pubs + subs:
            p.join(timeout=10)
        rss_after = srv.rss_kib()
        lags, complete = [], 0
        for kind, seen, _ in results:
            if kind != "sub":
                continue
            complete += set(published) <= set(seen)
            lags += [seen[v] - t for v, t in published.items() if v in seen]
        lags.sort()
        q = lambda f: lags[min(len(lags) - 1, int(f * len(lags)))] * 1000 if lags else float("nan")  # noqa: E731
        report = {
            "offered_per_s": RATE, "seconds": SECONDS, "publishes": len(published), "publish_failures": failures,
            "achieved_per_s": round(len(published) / elapsed, 1) if elapsed else 0,
            "subscribers": SUBSCRIBERS, "stalled_subscribers": STALLED,
            "subscribers_with_every_event": complete,
            "events_delivered": len(lags),
            "lag_ms_p50": round(q(0.5), 1), "lag_ms_p99": round(q(0.99), 1), "lag_ms_max": round(q(1.0), 1),
            "rss_kib_before": rss_before, "rss_kib_peak": max(rss_samples or [0]), "rss_kib_after": rss_after,
            "rss_kib_samples": rss_samples[::2],
        }
        print(f"publishes: {report['publishes']} in {elapsed:.1f}s = {report['achieved_per_s']}/s "
              f"(offered {RATE}/s, {failures} failed)")
        print(f"subscribers with every event: {complete}/{SUBSCRIBERS} (+{STALLED} stalled)")
        print(f"lag publish->event p50/p99/max ms: {report['lag_ms_p50']} / {report['lag_ms_p99']} / "
              f"{report['lag_ms_max']}")
        print(f"server RSS KiB before/peak/after: {rss_before} / {report['rss_kib_peak']} / {rss_after}")
        print(json.dumps(report))
    finally:
        srv.stop()


if __name__ == "__main__":
    mp.set_start_method("fork")
    main()
