"""Cold-install benchmark (run by scripts/bench-cold.sh). Loopback only.

The same packages are published to codeartifact-local and to a peer, then each client's cold
install (empty cache, temporary HOME, configuration naming only 127.0.0.1) runs against each,
alternating, BENCH_COLD_RUNS times. Peers (scripts/install-peers.sh): Verdaccio for npm, pnpm and
yarn; pypiserver for pip and uv; for mvn and cargo, which have no peer server that installs
offline, nginx serving the same files statically (the floor a server cannot beat). With
BENCH_COLD_BASE_BIN a second build of ours (e.g. the previous commit) runs in the same rounds, so
"before" and "after" come from one run.

Against us every client is configured as after `aws codeartifact login`: the token in ~/.npmrc,
`aws:TOKEN@` in pip's/uv's index URL, `<server>` credentials in settings.xml, cargo's token.
Reported: the median wall time per client and contender, the ratio to the peer, and our server's
CPU time (user+system) per install. Timings are reported, never asserted.
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import http.client
import io
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
import cargokit  # noqa: E402
import mavenkit  # noqa: E402
import pydist  # noqa: E402
import pypikit  # noqa: E402

BIN = os.environ["CODEARTIFACT_LOCAL_BIN"]
BASE_BIN = os.environ.get("BENCH_COLD_BASE_BIN") or None
RUNS = int(os.environ.get("BENCH_COLD_RUNS", "5"))
CLIENTS = os.environ.get("BENCH_COLD_CLIENTS", "npm,pnpm,yarn,pip,uv,mvn,cargo").split(",")
LOG_LEVEL = os.environ.get("BENCH_COLD_LOG_LEVEL", "warn")
KEEP = os.environ.get("BENCH_COLD_KEEP") == "1"
NODE_BIN = Path(os.environ.get("BENCH_COLD_NODE_TOOLS", "/work/main/.tools/node_modules/.bin"))
VENV = Path(os.environ.get("CODEARTIFACT_TEST_VENV", str(ROOT / ".venv-test")))
PEERS = ROOT / ".tools" / "peers"
PEER_VENV = ROOT / ".venv-peers"

NPM_PACKAGES, NPM_VERSIONS = 50, 3
WHEELS, ARTIFACTS, CRATES = 20, 20, 20
DOMAIN, REPO, ACCOUNT = "bench", "cold", "000000000000"
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def wait_http(port: int, path: str = "/", timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            c = http.client.HTTPConnection(LOOPBACK, port, timeout=2)
            c.request("GET", path)
            c.getresponse().read()
            c.close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answered on {LOOPBACK}:{port}{path}")


def request(url: str, method: str = "GET", body: bytes | None = None, headers=None) -> tuple[int, bytes]:
    u = urllib.parse.urlsplit(url)
    assert u.hostname == LOOPBACK, url
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    path = u.path + (f"?{u.query}" if u.query else "")
    c.request(method, path, body=body, headers=dict(headers or {}))
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------------------------
# The packages: the same set for every server
# --------------------------------------------------------------------------------------------

def npm_name(i: int) -> str:
    return f"cold-pkg-{i:02d}"


def npm_deps(i: int) -> dict[str, str]:
    """A tree: package i depends on 2i+1 and 2i+2 (when they exist)."""
    return {npm_name(j): "^1.0.0" for j in (2 * i + 1, 2 * i + 2) if j < NPM_PACKAGES}


def npm_tarball(name: str, version: str, deps: dict[str, str]) -> bytes:
    manifest = json.dumps({"name": name, "version": version, "main": "index.js",
                           "dependencies": deps}).encode()
    code = f"module.exports = {json.dumps(name + '@' + version)};\n".encode() + b"// pad\n" * 200
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for fname, data in (("package/package.json", manifest), ("package/index.js", code)):
            info = tarfile.TarInfo(fname)
            info.size, info.mtime, info.mode = len(data), 499162500, 0o644
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(buf.getvalue(), mtime=0)


def npm_publish_body(registry: str, name: str, version: str, deps: dict[str, str], tgz: bytes) -> bytes:
    return json.dumps({
        "_id": name, "name": name, "description": f"{name} for the cold-install benchmark",
        "dist-tags": {"latest": version},
        "versions": {version: {
            "name": name, "version": version, "main": "index.js", "dependencies": deps,
            "_id": f"{name}@{version}",
            "dist": {"integrity": "sha512-" + base64.b64encode(hashlib.sha512(tgz).digest()).decode(),
                     "shasum": hashlib.sha1(tgz).hexdigest(),
                     "tarball": f"{registry}{name}/-/{name}-{version}.tgz"}}},
        "access": None,
        "_attachments": {f"{name}-{version}.tgz": {"content_type": "application/octet-stream",
                                                  "data": base64.b64encode(tgz).decode(),
                                                  "length": len(tgz)}},
    }).encode()


def publish_npm(registry: str, token: str, packages) -> None:
    """PUTs each (name, version, deps, tarball) as `npm publish` does."""
    for name, version, deps, tgz in packages:
        s, b = request(f"{registry}{name}", "PUT", npm_publish_body(registry, name, version, deps, tgz),
                       {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        assert s in (200, 201), (s, b)


def npm_project(work: Path) -> Path:
    proj = work / "npm-project"
    proj.mkdir(parents=True, exist_ok=True)
    deps = {npm_name(i): "^1.0.0" for i in range(3)}
    (proj / "package.json").write_text(json.dumps(
        {"name": "cold-consumer", "version": "1.0.0", "private": True, "dependencies": deps}))
    return proj


def wheel_name(i: int) -> str:
    return f"cold-lib-{i:02d}"


def make_wheels(out: Path) -> list[Path]:
    wheels = []
    for i in range(WHEELS):
        reqs = [f"{wheel_name(j)}>=1.0" for j in (2 * i + 1, 2 * i + 2) if j < WHEELS]
        wheels.append(pydist.make_wheel(out, wheel_name(i), "1.0.0", requires_dist=reqs,
                                        code=f"NAME = {wheel_name(i)!r}\n" + "# pad\n" * 200))
    return wheels


MVN_GROUP = "bench.cold"


def art_name(i: int) -> str:
    return f"cold-art-{i:02d}"


def maven_files() -> list[tuple[str, bytes]]:
    """(path relative to the repository root, bytes): jar and POM of each artifact."""
    files = []
    gpath = MVN_GROUP.replace(".", "/")
    for i in range(ARTIFACTS):
        a, v = art_name(i), "1.0.0"
        deps = [mavenkit.Dep(MVN_GROUP, art_name(j), v) for j in (2 * i + 1, 2 * i + 2) if j < ARTIFACTS]
        jar = mavenkit._zip([("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\r\n\r\n"),
                             (f"bench/{a}.txt", (a + "\n").encode() * 100)])
        base = f"{gpath}/{a}/{v}/{a}-{v}"
        files += [(f"{base}.jar", jar), (f"{base}.pom", mavenkit.pom_xml(MVN_GROUP, a, v, dependencies=deps))]
    return files


def crate_name(i: int) -> str:
    return f"cold_crate_{i:02d}"


def crates() -> list[tuple[dict, bytes]]:
    out = []
    for i in range(CRATES):
        name, v = crate_name(i), "0.1.0"
        deps = {crate_name(j): '"0.1"' for j in (2 * i + 1, 2 * i + 2) if j < CRATES}
        manifest = cargokit.crate_manifest(name, v, deps)
        data = cargokit.crate_bytes(name, v, lib_rs="// pad\n" * 200, manifest=manifest)
        meta = cargokit.publish_meta(name, v, [cargokit.publish_dep(d, "^0.1") for d in deps])
        out.append((meta, data))
    return out


# --------------------------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------------------------

class Ours:
    def __init__(self, label: str, binary: str, work: Path):
        self.label, self.binary, self.work = label, binary, work
        self.port = free_port()
        self.data = work / f"data-{label}"
        self.log = work / f"server-{label}.log"
        env = dict(os.environ, RUST_LOG=LOG_LEVEL, NO_COLOR="1")
        self.proc = subprocess.Popen(
            [binary, "--listen", f"{LOOPBACK}:{self.port}", "--data-dir", str(self.data),
             "--log-level", LOG_LEVEL],
            stdout=subprocess.DEVNULL, stderr=open(self.log, "ab"), stdin=subprocess.DEVNULL, env=env)
        wait_http(self.port, "/health")
        self.endpoint = f"http://{LOOPBACK}:{self.port}"
        import boto3
        self.ca = boto3.client("codeartifact", endpoint_url=self.endpoint, region_name="us-east-1",
                               aws_access_key_id="test", aws_secret_access_key="test")
        self.ca.create_domain(domain=DOMAIN)
        self.ca.create_repository(domain=DOMAIN, repository=REPO)
        self.token = self.ca.get_authorization_token(domain=DOMAIN)["authorizationToken"]

    def url(self, fmt: str) -> str:
        return self.ca.get_repository_endpoint(domain=DOMAIN, repository=REPO, format=fmt)["repositoryEndpoint"]

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(15)

    # publishing ------------------------------------------------------------------------------
    def publish_npm(self, packages) -> None:
        publish_npm(self.url("npm"), self.token, packages)

    def publish_pypi(self, wheels: list[Path]) -> None:
        url = self.url("pypi")
        auth = "Basic " + base64.b64encode(f"aws:{self.token}".encode()).decode()
        for w in wheels:
            body, ctype = pypikit.multipart(pypikit.upload_fields(w), w.name, w.read_bytes())
            s, b = request(url, "POST", body, {"Authorization": auth, "Content-Type": ctype})
            assert s == 200, (s, b)

    def publish_maven(self, files) -> None:
        url = self.url("maven")
        auth = "Basic " + base64.b64encode(f"aws:{self.token}".encode()).decode()
        # as `mvn deploy` sends them: each file and its .sha1, then the artifact's metadata,
        # which makes the version Published
        uploads = []
        for i, (rel, data) in enumerate(files):
            uploads.append((rel, data))
            last_of_artifact = i + 1 == len(files) or files[i + 1][0].split("/")[:-2] != rel.split("/")[:-2]
            if last_of_artifact:
                apath, version = rel.rsplit("/", 2)[0], rel.split("/")[-2]
                meta = mavenkit.artifact_metadata(MVN_GROUP, apath.rsplit("/", 1)[1], [version])
                uploads.append((f"{apath}/maven-metadata.xml", meta))
        for rel, data in uploads:
            for suffix, body in (("", data), (".sha1", hashlib.sha1(data).hexdigest().encode())):
                s, b = request(url + rel + suffix, "PUT", body, {"Authorization": auth})
                assert s in (200, 201), (rel, s, b)

    def publish_cargo(self, items) -> None:
        url = self.url("cargo")
        for meta, data in items:
            s, b = request(f"{url}api/v1/crates/new", "PUT", cargokit.publish_body(meta, data),
                           {"Authorization": self.token})
            assert s == 200, (s, b)


class Verdaccio:
    label = "verdaccio"

    def __init__(self, work: Path):
        self.dir = work / "verdaccio"
        self.dir.mkdir()
        self.port = free_port()
        cfg = self.dir / "config.yaml"
        cfg.write_text(textwrap.dedent(f"""\
            storage: {self.dir / 'storage'}
            auth:
              htpasswd:
                file: {self.dir / 'htpasswd'}
                max_users: 100
            security:
              api:
                jwt:
                  sign:
                    expiresIn: 7d
            uplinks: {{}}
            packages:
              '**':
                access: $all
                publish: $authenticated
            middlewares:
              audit:
                enabled: false
            web:
              enable: false
            max_body_size: 100mb
            log: {{type: stdout, format: pretty, level: error}}
            """))
        self.proc = subprocess.Popen(
            [str(PEERS / "node_modules" / ".bin" / "verdaccio"), "--config", str(cfg),
             "--listen", f"{LOOPBACK}:{self.port}"],
            stdout=open(self.dir / "log", "ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=self.dir)
        wait_http(self.port, "/-/ping")
        s, b = request(f"http://{LOOPBACK}:{self.port}/-/user/org.couchdb.user:bench", "PUT",
                       json.dumps({"name": "bench", "password": "bench-password"}).encode(),
                       {"Content-Type": "application/json"})
        assert s in (200, 201), (s, b)
        self.publish_token = json.loads(b)["token"]
        # installs read anonymously (`access: $all`): Verdaccio's fastest configuration
        self.token = None

    def url(self, fmt: str) -> str:
        return f"http://{LOOPBACK}:{self.port}/"

    def publish_npm(self, packages) -> None:
        publish_npm(self.url("npm"), self.publish_token, packages)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(15)


class PypiServer:
    label = "pypiserver"

    def __init__(self, work: Path, wheels: list[Path]):
        self.dir = work / "pypiserver"
        self.dir.mkdir()
        for w in wheels:
            shutil.copy(w, self.dir / w.name)
        self.port = free_port()
        self.proc = subprocess.Popen(
            [str(PEER_VENV / "bin" / "pypi-server"), "run", "-i", LOOPBACK, "-p", str(self.port),
             "--disable-fallback", "-a", ".", "-P", ".", "--server", "auto", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=open(work / "pypiserver.log", "ab"), stdin=subprocess.DEVNULL)
        wait_http(self.port, "/simple/")
        self.token = None

    def url(self, fmt: str) -> str:
        return f"http://{LOOPBACK}:{self.port}/simple/"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(15)


class Nginx:
    """Static files: a Maven repository under /maven/, a cargo sparse index under /cargo/."""
    label = "nginx"

    def __init__(self, work: Path, maven, crate_items):
        self.dir = work / "nginx"
        self.root = self.dir / "root"
        self.port = free_port()
        self.token = None
        mroot = self.root / "maven"
        by_artifact: dict[str, list[str]] = {}
        for rel, data in maven:
            p = mroot / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
            for suffix, algo in ((".sha1", "sha1"), (".md5", "md5")):
                p.with_name(p.name + suffix).write_text(hashlib.new(algo, data).hexdigest())
            parts = rel.split("/")
            by_artifact.setdefault("/".join(parts[:-2]), []).append(parts[-2])
        for apath, versions in by_artifact.items():
            a = apath.rsplit("/", 1)[1]
            meta = mavenkit.artifact_metadata(MVN_GROUP, a, sorted(set(versions)))
            (mroot / apath / "maven-metadata.xml").write_bytes(meta)
            for suffix, algo in ((".sha1", "sha1"), (".md5", "md5")):
                (mroot / apath / f"maven-metadata.xml{suffix}").write_text(hashlib.new(algo, meta).hexdigest())
        croot = self.root / "cargo"
        croot.mkdir(parents=True)
        base = f"http://{LOOPBACK}:{self.port}/cargo/"
        (croot / "config.json").write_text(json.dumps({"dl": base + "crates/{crate}/{version}/download"}))
        for meta, data in crate_items:
            name, v = meta["name"], meta["vers"]
            line = {"name": name, "vers": v, "cksum": hashlib.sha256(data).hexdigest(),
                    "features": {}, "yanked": False,
                    "deps": [{"name": d["name"], "req": d["version_req"], "features": [],
                              "optional": False, "default_features": True, "target": None,
                              "kind": "normal"} for d in meta["deps"]]}
            ip = croot / cargokit.index_path(name)
            ip.parent.mkdir(parents=True, exist_ok=True)
            ip.write_text(json.dumps(line) + "\n")
            dl = croot / "crates" / name / v / "download"
            dl.parent.mkdir(parents=True)
            dl.write_bytes(data)
        conf = self.dir / "nginx.conf"
        conf.write_text(textwrap.dedent(f"""\
            daemon off;
            worker_processes 1;
            error_log {self.dir}/error.log;
            pid {self.dir}/nginx.pid;
            events {{ worker_connections 256; }}
            http {{
              access_log off;
              client_body_temp_path {self.dir}/tmp;
              proxy_temp_path {self.dir}/tmp;
              fastcgi_temp_path {self.dir}/tmp;
              uwsgi_temp_path {self.dir}/tmp;
              scgi_temp_path {self.dir}/tmp;
              sendfile on;
              tcp_nodelay on;
              keepalive_timeout 65;
              default_type application/octet-stream;
              server {{
                listen {LOOPBACK}:{self.port};
                root {self.root};
              }}
            }}
            """))
        self.proc = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(self.dir)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_http(self.port, "/cargo/config.json")

    def url(self, fmt: str) -> str:
        return f"http://{LOOPBACK}:{self.port}/{fmt}/"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(15)


# --------------------------------------------------------------------------------------------
# Clients: one cold install each
# --------------------------------------------------------------------------------------------

def base_env(home: Path) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    return {
        "PATH": os.pathsep.join([str(VENV / "bin"), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(home), "LANG": "C.UTF-8", "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"), "XDG_DATA_HOME": str(home / ".local/share"),
        "TMPDIR": str(home / "tmp"),
    }


def npmrc(home: Path, registry: str, token: str | None) -> None:
    assert registry.startswith(f"http://{LOOPBACK}:"), registry
    lines = [f"registry={registry}"]
    if token:
        lines.append(f"//{registry.split('://', 1)[1]}:_authToken={token}")
    (home / ".npmrc").write_text("\n".join(lines) + "\n")


def js_env(home: Path) -> dict[str, str]:
    env = base_env(home)
    (home / "tmp").mkdir(exist_ok=True)
    (home / "prefix" / "etc").mkdir(parents=True, exist_ok=True)
    globalrc = home / ".npmrc-global"
    globalrc.touch()
    env.update({"NPM_CONFIG_USERCONFIG": str(home / ".npmrc"), "npm_config_globalconfig": str(globalrc),
                "PREFIX": str(home / "prefix"), "npm_config_update_notifier": "false",
                "npm_config_fund": "false", "npm_config_cache": str(home / ".npm-cache")})
    return env


def run(cmd: list[str], env: dict[str, str], cwd: Path) -> None:
    p = subprocess.run(cmd, env=env, cwd=str(cwd), capture_output=True, text=True, timeout=600,
                       stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")


def install(client: str, server, work: Path) -> None:
    """One cold install by `client` against `server` in a fresh directory under `work`."""
    home = work / "home"
    token = server.token
    if client in ("npm", "pnpm", "yarn"):
        reg = server.url("npm")
        proj = npm_project(work)
        env = js_env(home)
        npmrc(home, reg, token)
        if client == "yarn":
            # yarn 1 sends the token only with always-auth (the service's yarn instructions)
            with open(home / ".npmrc", "a") as f:
                f.write("always-auth=true\n")
            (home / ".yarnrc").write_text("disable-self-update-check true\n")
        if client == "npm":
            run(["npm", "install", "--no-fund", "--ignore-scripts"], env, proj)
        elif client == "pnpm":
            run([str(NODE_BIN / "pnpm"), "install", "--store-dir", str(home / ".pnpm-store"),
                 "--cache-dir", str(home / ".pnpm-cache"), "--config.update-notifier=false",
                 "--reporter=silent"], env, proj)
        else:
            env["YARN_CACHE_FOLDER"] = str(home / ".yarn-cache")
            run([str(NODE_BIN / "yarn"), "install", "--non-interactive", "--registry", reg,
                 "--cache-folder", str(home / ".yarn-cache"), "--silent"], env, proj)
        assert (proj / "node_modules" / npm_name(NPM_PACKAGES - 1) / "package.json").exists() or \
            any((proj / "node_modules").rglob(f"{npm_name(NPM_PACKAGES - 1)}/package.json"))
    elif client in ("pip", "uv"):
        index = server.url("pypi")
        if not index.endswith("/simple/"):
            index += "simple/"  # the repository endpoint is twine's; pip reads its simple/ index
        if token:
            index = index.replace("://", f"://aws:{token}@", 1)
        assert urllib.parse.urlsplit(index).hostname == LOOPBACK
        env = base_env(home)
        (home / "tmp").mkdir(exist_ok=True)
        target = work / "site"
        if client == "pip":
            env.update({"PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                        "PIP_NO_INPUT": "1", "PIP_CACHE_DIR": str(home / "pip-cache")})
            run([str(VENV / "bin" / "python"), "-m", "pip", "install", "-q", "--index-url", index,
                 "--target", str(target), wheel_name(0)], env, work)
        else:
            env.update({"UV_NO_CONFIG": "1", "UV_CACHE_DIR": str(home / "uv-cache"),
                        "UV_PYTHON_DOWNLOADS": "never"})
            run([str(VENV / "bin" / "uv"), "pip", "install", "-q", "--python", str(VENV / "bin" / "python"),
                 "--index-url", index, "--target", str(target), wheel_name(0)], env, work)
        assert (target / pydist.module_name(wheel_name(WHEELS - 1))).is_dir()
    elif client == "mvn":
        mvn = mavenkit.Mvn(work, server.url("maven"), token)
        mvn.get(f"{MVN_GROUP}:{art_name(0)}:1.0.0")
        last = mvn.local_file(MVN_GROUP, art_name(ARTIFACTS - 1), "1.0.0", f"{art_name(ARTIFACTS - 1)}-1.0.0.jar")
        assert last.exists(), last
    elif client == "cargo":
        ch = cargokit.CargoHome(work / "cargo", server.url("cargo"), server.port, token)
        proj = work / "crate-project"
        cargokit.write_package(proj, cargokit.crate_manifest("cold_consumer", "0.1.0",
                                                             {crate_name(0): '"0.1"'}), {"src/lib.rs": ""})
        ch.run("fetch", cwd=proj)
        assert list((ch.cargo_home / "registry" / "cache").rglob(f"{crate_name(CRATES - 1)}-0.1.0.crate"))
    else:
        raise ValueError(client)


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="bench-cold-"))
    work.chmod(0o755)  # nginx's workers run as another user when started as root
    servers = []
    try:
        ours = [Ours("us", BIN, work)]
        if BASE_BIN:
            ours.insert(0, Ours("base", BASE_BIN, work))
        servers += ours
        gen = work / "gen"
        npm_packages = []
        for i in range(NPM_PACKAGES):
            for minor in range(NPM_VERSIONS):
                v = f"1.{minor}.0"
                npm_packages.append((npm_name(i), v, npm_deps(i), npm_tarball(npm_name(i), v, npm_deps(i))))
        wheels = make_wheels(gen / "wheels")
        maven = maven_files()
        crate_items = crates()
        peers: dict[str, object] = {}
        wanted = set(CLIENTS)
        if wanted & {"npm", "pnpm", "yarn"}:
            peers["npm"] = Verdaccio(work)
            servers.append(peers["npm"])
            peers["npm"].publish_npm(npm_packages)
        if wanted & {"pip", "uv"}:
            peers["pypi"] = PypiServer(work, wheels)
            servers.append(peers["pypi"])
        if wanted & {"mvn", "cargo"}:
            peers["maven"] = peers["cargo"] = Nginx(work, maven, crate_items)
            servers.append(peers["maven"])
        for s in ours:
            s.publish_npm(npm_packages)
            s.publish_pypi(wheels)
            s.publish_maven(maven)
            s.publish_cargo(crate_items)
        fmt_of = {"npm": "npm", "pnpm": "npm", "yarn": "npm", "pip": "pypi", "uv": "pypi",
                  "mvn": "maven", "cargo": "cargo"}
        results: dict[str, dict[str, list[float]]] = {}
        cpu: dict[str, dict[str, list[float]]] = {}
        client_cpu: dict[str, dict[str, list[float]]] = {}
        n = 0
        for client in CLIENTS:
            contenders = [*ours, peers[fmt_of[client]]]
            # one warm-up round (the client's own start-up, the page cache), not counted
            for c in contenders:
                n += 1
                install(client, c, work / f"run-{n}")
                shutil.rmtree(work / f"run-{n}", ignore_errors=True)
            for r in range(RUNS):
                order = contenders[r % len(contenders):] + contenders[:r % len(contenders)]
                for c in order:
                    n += 1
                    before = c.cpu() if isinstance(c, Ours) else 0.0
                    children = resource.getrusage(resource.RUSAGE_CHILDREN)
                    t0 = time.perf_counter()
                    install(client, c, work / f"run-{n}")
                    wall = time.perf_counter() - t0
                    after = resource.getrusage(resource.RUSAGE_CHILDREN)
                    results.setdefault(client, {}).setdefault(c.label, []).append(wall)
                    # the client's own CPU (user + system of the processes it ran): what it
                    # spent on our answers, less sensitive than wall time to a busy machine
                    client_cpu.setdefault(client, {}).setdefault(c.label, []).append(
                        after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime)
                    if isinstance(c, Ours):
                        cpu.setdefault(client, {}).setdefault(c.label, []).append(c.cpu() - before)
                    shutil.rmtree(work / f"run-{n}", ignore_errors=True)
            print_client(client, results[client], cpu.get(client, {}), client_cpu[client],
                         peers[fmt_of[client]].label)
        summary = {
            client: {label: {"median_s": round(statistics.median(v), 4), "min_s": round(min(v), 4),
                             "max_s": round(max(v), 4),
                             "client_cpu_s": round(statistics.median(client_cpu[client][label]), 4),
                             **({"server_cpu_ms": round(1000 * statistics.median(cpu[client][label]), 1)}
                                if label in cpu.get(client, {}) else {})}
                     for label, v in per.items()}
            for client, per in results.items()}
        print(json.dumps({"bench": "cold-install", "runs": RUNS, "results": summary}))
        return 0
    finally:
        for s in servers:
            try:
                s.stop()
            except Exception as e:  # noqa: BLE001
                print(f"stopping {s.label}: {e}", file=sys.stderr)
        if KEEP:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def print_client(client: str, per: dict[str, list[float]], cpu: dict[str, list[float]],
                 client_cpu: dict[str, list[float]], peer: str) -> None:
    peer_median = statistics.median(per[peer])
    print(f"{client}:")
    for label, v in per.items():
        med = statistics.median(v)
        extra = f"  server CPU {1000 * statistics.median(cpu[label]):6.1f} ms" if label in cpu else ""
        print(f"  {label:11s} median {med:6.3f} s  (min {min(v):.3f}, max {max(v):.3f})  "
              f"ratio to {peer} {med / peer_median:5.2f}  "
              f"client CPU {statistics.median(client_cpu[label]):6.3f} s{extra}")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
