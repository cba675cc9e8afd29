"""The CI fixtures benchmark (run by scripts/bench-fixtures.sh). Loopback only."""
from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
import cargokit  # noqa: E402
import npmkit  # noqa: E402
import pydist  # noqa: E402

BIN = os.environ["CODEARTIFACT_LOCAL_BIN"]
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
DOMAINS, REPOS_PER_DOMAIN = 10, 5
NPM, PYPI, CARGO = 300, 100, 100


def make_seed(work: Path) -> Path:
    files = work / "files"
    files.mkdir()
    entries: dict[tuple[int, int], list[tuple[str, str]]] = {}

    def place(i: int, fmt: str, name: str):
        d, r = i % DOMAINS, (i // DOMAINS) % REPOS_PER_DOMAIN
        entries.setdefault((d, r), []).append((fmt, name))

    for i in range(NPM):
        name = f"pkg-{i % 60}-{i // 60}.tgz"
        (files / name).write_bytes(npmkit.tarball(f"bench-pkg-{i % 60}", f"1.0.{i // 60}"))
        place(i, "npm", name)
    for i in range(PYPI):
        wheel = pydist.make_wheel(files, f"bench-lib-{i % 20}", f"1.{i // 20}")
        place(i, "pypi", wheel.name)
    for i in range(CARGO):
        name = f"bench_crate_{i % 20}-0.{i // 20}.0.crate"
        (files / name).write_bytes(cargokit.crate_bytes(f"bench_crate_{i % 20}", f"0.{i // 20}.0"))
        place(i, "cargo", name)
    domains = []
    for d in range(DOMAINS):
        repos = []
        for r in range(REPOS_PER_DOMAIN):
            repo = {"name": f"repo-{r}", "description": f"repository {r}"}
            if r > 0:
                repo["upstreams"] = [f"repo-{r - 1}"]
            repos.append(repo)
        repos[0]["externalConnection"] = "public:npmjs"
        packages = []
        for r in range(REPOS_PER_DOMAIN):
            by_format: dict[str, list[str]] = {}
            for fmt, name in entries.get((d, r), []):
                by_format.setdefault(fmt, []).append(f"files/{name}")
            for fmt, names in by_format.items():
                packages.append({"repository": f"repo-{r}", "format": fmt, "files": names})
        domains.append({"name": f"bench-{d}", "tags": {"bench": "fixtures"}, "repositories": repos,
                        "packageGroups": [{"pattern": "/npm/*", "description": "all npm"}],
                        "packages": packages})
    seed = work / "seed.json"
    seed.write_text(json.dumps({"version": 1, "domains": domains}))
    return seed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Running:
    def __init__(self, data_dir: Path, *args: str):
        self.port = free_port()
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [BIN, "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(data_dir),
             "--quota-domains", "20", *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "RUST_LOG": "warn,codeartifact_local=info"})
        self.log = []
        for line in self.proc.stderr:
            self.log.append(line)
            if " ready " in line:
                self.ready = time.perf_counter() - self.started
                return
        raise SystemExit("the server did not start:\n" + "".join(self.log[-20:]))

    def applied(self) -> str:
        return next((ln.strip() for ln in self.log if "seed applied" in ln), "")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)


def timed(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t


def main():
    work = Path(tempfile.mkdtemp(prefix="bench-fixtures-"))
    try:
        seed = make_seed(work)
        fresh, again, saves_live, saves_stopped, loads, starts = [], [], [], [], [], []
        size = 0
        for run in range(RUNS):
            data = work / f"data-{run}"
            srv = Running(data, "--seed", str(seed))
            fresh.append(srv.ready)
            assert "changed=" in srv.applied(), srv.log[-5:]
            snap = work / f"live-{run}.tar"
            saves_live.append(timed([BIN, "--listen", f"127.0.0.1:{srv.port}", "snapshot", "save", str(snap)]))
            srv.stop()
            srv = Running(data, "--seed", str(seed))
            again.append(srv.ready)
            assert "changed=0" in srv.applied(), srv.applied()
            srv.stop()
            snap = work / f"stopped-{run}.tar"
            saves_stopped.append(timed([BIN, "--data-dir", str(data), "snapshot", "save", str(snap)]))
            size = snap.stat().st_size
            loads.append(timed([BIN, "--data-dir", str(work / f"loaded-{run}"), "snapshot", "load", str(snap)]))
            srv = Running(work / f"started-{run}", "--load-snapshot", str(snap))
            starts.append(srv.ready)
            srv.stop()
        med = lambda xs: statistics.median(xs) * 1000  # noqa: E731
        rows = [
            ("start → ready, seed on an empty data dir", med(fresh)),
            ("start → ready, same seed again (changes nothing)", med(again)),
            ("snapshot save from the running server (CLI)", med(saves_live)),
            ("snapshot save from the stopped data dir (CLI)", med(saves_stopped)),
            ("snapshot load into a fresh data dir (CLI)", med(loads)),
            ("start → ready with --load-snapshot", med(starts)),
        ]
        print(f"seed: {DOMAINS} domains, {DOMAINS * REPOS_PER_DOMAIN} repositories, "
              f"{NPM + PYPI + CARGO} package versions ({NPM} npm, {PYPI} PyPI, {CARGO} cargo); "
              f"median of {RUNS} runs; snapshot {size / 1024:.0f} KiB")
        for label, ms in rows:
            print(f"  {label:<52} {ms:8.0f} ms")
        print(json.dumps({"bench": "fixtures", "runs": RUNS, "snapshot_bytes": size,
                          **{k: round(v, 1) for k, v in zip(
                              ["seed_fresh_ms", "seed_again_ms", "save_live_ms", "save_stopped_ms",
                               "load_ms", "start_with_snapshot_ms"], (ms for _, ms in rows))}}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
