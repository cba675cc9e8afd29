"""The Dockerfile, checked without Docker (no engine runs on the test machines; issue 17): its
instructions are parsed and the properties the README promises are asserted, the dependency
layer's stand-in sources are made exactly as the image's build stage makes them and cargo is
asked to load the workspace from them, and the health check is run as the image runs it, with
the image's environment, against a real server."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from conftest import REPO_ROOT, Server, server_binary
from cargokit import require_cargo

DOCKERFILE = REPO_ROOT / "Dockerfile"
README = REPO_ROOT / "README.md"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = pending + line
        pending = ""
        word, _, rest = full.partition(" ")
        out.append((word.upper(), rest.strip()))
    assert not pending, "the Dockerfile ends inside a continuation"
    return out


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for ins in instructions():
        if ins[0] == "FROM":
            result.append([])
        assert result, "an instruction before the first FROM"
        result[-1].append(ins)
    return result


def env_of(stage: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for word, args in stage:
        if word == "ENV":
            for key, value in re.findall(r"(\w+)=(\S+)", args):
                env[key] = value
    return env


def test_dependencies_are_built_in_their_own_layer():
    build = stages()[0]
    copies = [i for i, (w, a) in enumerate(build) if w == "COPY"]
    runs = [i for i, (w, a) in enumerate(build) if w == "RUN" and "cargo build" in a]
    src = next(i for i in copies if build[i][1].startswith("src "))
    assert len(runs) == 2, "one build of the dependencies, one of the crate"
    assert runs[0] < src < runs[1], "dependencies are built before the sources are copied"
    for i in copies:
        if i < runs[0]:
            assert build[i][1].split()[0] in ("Cargo.toml", "api-models"), \
                f"only the manifests enter the dependency layer, not {build[i][1]}"
    assert "--locked" in build[runs[0]][1] and "--release" in build[runs[0]][1]
    assert "touch src/main.rs" in build[runs[1]][1], "the real sources must look newer than the stand-ins"


def test_stand_in_sources_satisfy_cargo(tmp_path: Path):
    """The stand-in RUN of the build stage, run here: cargo must load the workspace from them
    (every test and bench target the manifest names has its file)."""
    build = stages()[0]
    stub = next(a for w, a in build if w == "RUN" and "fn main() {}" in a)
    for name in ("Cargo.toml", "Cargo.lock"):
        shutil.copy(REPO_ROOT / name, tmp_path / name)
    shutil.copytree(REPO_ROOT / "api-models", tmp_path / "api-models")
    p = subprocess.run(["sh", "-ec", stub], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    cargo = require_cargo().cargo
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARGO_")}
    p = subprocess.run([str(cargo), "metadata", "--locked", "--offline", "--no-deps", "--format-version", "1"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 0, p.stderr
    targets = {t["name"] for pkg in json.loads(p.stdout)["packages"] for t in pkg["targets"]}
    assert {"codeartifact-local", "it", "control_plane", "ruby"} <= targets, targets


def test_runtime_stage_properties():
    runtime = stages()[-1]
    words = [w for w, _ in runtime]
    env = env_of(runtime)
    user = next(a for w, a in runtime if w == "USER")
    uid = re.search(r"--uid (\d+)", next(a for w, a in runtime if w == "RUN" and "useradd" in a)).group(1)
    assert user in (uid, "codeartifact") and uid == "10001"
    assert "10001" in README.read_text(), "the README names the uid a host mount must belong to"
    assert env["CODEARTIFACT_LOCAL_DATA_DIR"] == "/data"
    assert env["CODEARTIFACT_LOCAL_LISTEN"].startswith("0.0.0.0:")
    assert "CODEARTIFACT_LOCAL_PUBLIC_URL" in env
    readme = README.read_text()
    assert "CODEARTIFACT_LOCAL_PUBLIC_URL: http://codeartifact:4580" in readme, \
        "the README's compose example sets the public URL for the compose network"
    assert "-p 127.0.0.1:4580:4580" in readme and "127.0.0.1:4580:4580" in DOCKERFILE.read_text()
    assert re.search(r"about \d+ MB", readme), "the README states the image's size"
    health = next(a for w, a in runtime if w == "HEALTHCHECK")
    command = json.loads(health.split("CMD", 1)[1].strip())
    assert command == ["codeartifact-local", "healthcheck"], \
        "the health check reads the listen address from the environment, never a fixed one"
    assert words.index("USER") < words.index("ENTRYPOINT")
    bundle = "/etc/ssl/certs/ca-certificates.crt"
    assert any(w == "COPY" and a.startswith("--from=build") and a.split()[-1] == bundle
               for w, a in runtime), "https:// external connections need the system's roots"


def test_health_check_follows_the_configured_address(tmp_path: Path):
    """The image's HEALTHCHECK command with the image's environment, and the listen address
    changed the documented way (the variable), against a real server on that address."""
    runtime = stages()[-1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEARTIFACT_LOCAL_")}
    env.update(env_of(runtime))
    srv = Server(tmp_path / "data", tmp_path / "server.log").start()
    try:
        env["CODEARTIFACT_LOCAL_LISTEN"] = f"0.0.0.0:{srv.port}"
        health = next(a for w, a in runtime if w == "HEALTHCHECK")
        command = json.loads(health.split("CMD", 1)[1].strip())
        command[0] = str(server_binary())
        p = subprocess.run(command, env=env, capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stderr
        assert f"http://127.0.0.1:{srv.port}/health answered 200" in p.stdout
        env["CODEARTIFACT_LOCAL_LISTEN"] = "0.0.0.0:4580"
        env["CODEARTIFACT_LOCAL_PORT"] = str(srv.port)
        p = subprocess.run(command, env=env, capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stderr
    finally:
        srv.terminate()
