"""The README's examples run as written (issue 17): every block marked runnable is run, in order,
against one fresh server, in a temporary HOME, so the README cannot drift from the product.

The convention (stated in the README's "Contributing and tests"):
- `<!-- runnable -->` on the line before a ```sh fence: the block is run by `bash -euo pipefail`,
  continuing the previous block's exported variables and working directory, as in one terminal;
- `<!-- runnable: file=PATH -->` before any fence: the block is written to PATH (`~` = HOME)
  before the blocks after it run.
The README's address, 127.0.0.1:4580, is replaced by the test server's. What the test adds to a
user's machine, and only that: the server binary on PATH as `codeartifact-local`, the test venv
(aws, twine, build, uv), yarn and pnpm on PATH, the toolchain's own cargo (a temporary HOME
hides rustup's), a `mvn` wrapper that gives Java the temporary HOME (Java reads its home from
the password database) and global settings mirroring every repository but `codeartifact` from
Debian's offline Maven repository (a user's Maven reaches the public one),
and a tripwire proxy: any request for a host other than 127.0.0.1 goes to a closed loopback
port, so nothing leaves the machine."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from cargokit import require_cargo
from conftest import REPO_ROOT, Server, server_binary, venv_dir
from mavenkit import DEBIAN_REPO, require_maven
from rubykit import require_ruby

README = REPO_ROOT / "README.md"
README_ADDRESS = "127.0.0.1:4580"
MARKER = re.compile(r"^<!-- runnable(?::\s*file=(\S+))?\s*-->$")
FENCE = re.compile(r"^```(\w*)\s*$")
BLOCK_TIMEOUT = 300


@dataclass
class Block:
    line: int  # 1-based line of the opening fence
    lang: str
    text: str
    file: str | None  # where a config block is written, None for a shell block


def runnable_blocks(text: str) -> list[Block]:
    """Every block marked runnable, in README order; a marker not followed by a fence fails."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = MARKER.match(lines[i].strip())
        if not m:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        fence = FENCE.match(lines[j]) if j < len(lines) else None
        assert fence, f"README.md:{i + 1}: a runnable marker must be followed by a ``` fence"
        end = j + 1
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        assert end < len(lines), f"README.md:{j + 1}: unclosed fence"
        lang = fence.group(1)
        if m.group(1) is None:
            assert lang in ("sh", "bash"), f"README.md:{j + 1}: only sh blocks run; mark config with file="
        blocks.append(Block(j + 1, lang, "\n".join(lines[j + 1:end]) + "\n", m.group(1)))
        i = end + 1
    return blocks


def test_marker_convention_is_documented_and_used():
    text = README.read_text()
    blocks = runnable_blocks(text)
    assert "<!-- runnable -->" in text and "<!-- runnable: file=PATH -->" in text, \
        "the README documents its convention"
    shells = [b for b in blocks if b.file is None]
    files = {b.file for b in blocks if b.file}
    assert len(shells) >= 7, shells
    assert {"~/.m2/settings.xml", "~/.cargo/config.toml"} <= files
    # every format that exists today has a runnable example
    joined = "\n".join(b.text for b in shells)
    for tool in ("aws codeartifact login --tool npm", "npm publish", "npm install", "yarn add",
                 "pnpm add", "twine upload", "pip install", "uv pip install", "deploy-file",
                 "cargo publish", "gem push", "gem install", "bundle install"):
        assert tool in joined, f"no runnable README example runs `{tool}`"


def test_no_bare_binary_before_install():
    """The first command that runs `codeartifact-local` comes after `cargo install`."""
    text = README.read_text()
    install = text.index("cargo install --locked --path .")
    bare = re.search(r"^\s*codeartifact-local\b", text, re.M)
    assert bare and bare.start() > install, "a bare codeartifact-local appears before cargo install"


def test_flag_table_lists_every_flag():
    help_text = subprocess.run([str(server_binary()), "--help"], capture_output=True, text=True,
                               timeout=30).stdout
    flags = set(re.findall(r"--[a-z][a-z0-9-]+", help_text)) - {"--help", "--version"}
    table = "\n".join(line for line in README.read_text().splitlines() if line.startswith("| `--"))
    missing = sorted(f for f in flags if f"`{f}" not in table)
    assert not missing, f"flags --help lists but the README table does not: {missing}"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def readme_env(tmp: Path, home: Path) -> dict[str, str]:
    """A user's shell: PATH with the tools, a temporary HOME, nothing of the caller's AWS setup."""
    tools = tmp / "bin"
    tools.mkdir()
    (tools / "codeartifact-local").symlink_to(server_binary())
    global_settings = tmp / "maven-global-settings.xml"
    global_settings.write_text(
        "<settings><mirrors><mirror><id>debian-offline</id><mirrorOf>*,!codeartifact</mirrorOf>"
        f"<url>{DEBIAN_REPO.as_uri()}</url></mirror></mirrors></settings>\n")
    real_mvn = shutil.which("mvn")
    # Java takes user.home from the password database, not $HOME: name the temporary one.
    (tools / "mvn").write_text(
        f'#!/bin/sh\nexec "{real_mvn}" -Duser.home="$HOME" -gs "{global_settings}" "$@"\n')
    (tools / "mvn").chmod(0o755)
    path = [str(tools), str(venv_dir() / "bin"), str(require_cargo().cargo.parent)]
    for var in ("CODEARTIFACT_TEST_YARN", "CODEARTIFACT_TEST_PNPM"):
        if os.environ.get(var):
            path.append(str(Path(os.environ[var]).parent))
    path.append(os.environ.get("PATH", "/usr/bin:/bin"))
    tripwire = f"http://127.0.0.1:{closed_port()}"
    env = {
        "PATH": os.pathsep.join(path),
        "HOME": str(home),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "TMPDIR": str(tmp / "tmp"),
        "MAVEN_SKIP_RC": "1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "npm_config_update_notifier": "false",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        env[var] = tripwire
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1"
    (tmp / "tmp").mkdir()
    return env


def test_readme_examples_run_as_written(tmp_path: Path):
    for need in (require_maven, require_ruby):
        need()
    for var in ("CODEARTIFACT_TEST_YARN", "CODEARTIFACT_TEST_PNPM"):
        if not os.environ.get(var):
            pytest.fail(f"{var} is not set (scripts/test.sh sets it): the README's yarn/pnpm "
                        "example needs it", pytrace=False)
    srv = Server(tmp_path / "data", tmp_path / "server.log").start()
    try:
        home = tmp_path / "home"
        home.mkdir()
        env = readme_env(tmp_path, home)
        state = tmp_path / "state"
        state.mkdir()
        (state / "pwd").write_text(str(home))
        (state / "env").write_text("")
        ran: list[str] = []
        for block in runnable_blocks(README.read_text()):
            text = block.text.replace(README_ADDRESS, srv.address)
            where = f"README.md:{block.line}"
            if block.file is not None:
                target = Path(block.file.replace("~", str(home), 1))
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text)
                ran.append(f"{where} → {block.file}")
                continue
            script = tmp_path / f"block-{block.line}.sh"
            script.write_text(
                "set -euo pipefail\n"
                f'source "{state}/env"\n'
                f'cd "$(cat "{state}/pwd")"\n'
                f"{text}"
                f'export -p > "{state}/env.next"\n'
                f'pwd > "{state}/pwd"\n')
            p = subprocess.run(["bash", str(script)], cwd=home, env=env, capture_output=True,
                               text=True, timeout=BLOCK_TIMEOUT)
            assert p.returncode == 0, (
                f"{where}: the README block failed (exit {p.returncode})\n--- block\n{text}"
                f"--- stdout\n{p.stdout[-4000:]}\n--- stderr\n{p.stderr[-6000:]}\n--- server log\n"
                f"{srv.log()[-3000:]}")
            # carry exports, minus what bash itself owns
            exported = [line for line in (state / "env.next").read_text().splitlines()
                        if not re.match(r"declare -x (PWD|OLDPWD|SHLVL|_)=", line)]
            (state / "env").write_text("\n".join(exported) + "\n")
            ran.append(where)
        assert len(ran) >= 9, ran
        # the README's promise: its examples leave the user's global configuration alone
        for untouched in (".npmrc", ".config/pip/pip.conf", ".pypirc", ".gem/credentials",
                          ".bundle/config"):
            assert not (home / untouched).exists(), f"a README example wrote ~/{untouched}"
        log = srv.log()
        for operation in ("npm.publish", "npm.tarball", "pypi.upload", "pypi.file", "maven.put",
                          "cargo.publish", "cargo.download", "ruby.push", "ruby.gem"):
            assert f"operation={operation} " in log, f"no {operation} request reached the server"
    finally:
        srv.terminate()
