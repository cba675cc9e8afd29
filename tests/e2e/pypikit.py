"""The PyPI client kit for the end-to-end suite, shared by every module that talks PyPI: the
venv's pip bound to a temporary HOME and one index of the server under test, the legacy upload
API as twine speaks it (repository-endpoints spec §6.6) made by hand, and a parser for the HTML
project pages (§6.3). Distributions themselves are made by pydist.py.
"""

from __future__ import annotations

import configparser
import hashlib
import os
import subprocess
import urllib.parse
import uuid
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Iterable, Sequence

from conftest import client_env, finish, sha256_of, venv_dir
from pydist import description_of, read_metadata


def loopback_url(url: str, port: int) -> bool:
    u = urllib.parse.urlsplit(url)
    return u.scheme == "http" and u.hostname == "127.0.0.1" and u.port == port


class Pip:
    """The venv's pip bound to one temporary HOME and one index of the server under test on
    `port`: the configuration file `conf` (written by `aws codeartifact login --tool pip`) or
    none at all, the index URL also in PIP_INDEX_URL, no cache, no keyring, no retries.
    Refuses to start pip when any index it would read is not that server or when an extra
    index / find-links is configured. `install` adds `install_options`."""

    def __init__(self, home: Path, index_url: str, port: int, conf: Path | None = None,
                 install_options: Sequence[str] = (), timeout: float = 120):
        self.home = home
        self.conf = conf
        self.index_url = index_url
        self.port = port
        self.install_options = list(install_options)
        self.timeout = timeout
        self._checked = False
        self._targets = 0

    def env(self) -> dict[str, str]:
        env = client_env(self.home)
        env.update({
            "PIP_CONFIG_FILE": str(self.conf) if self.conf is not None else os.devnull,
            "PIP_INDEX_URL": self.index_url,
            "PIP_KEYRING_PROVIDER": "disabled",
            "PIP_NO_INPUT": "1",
            "PIP_RETRIES": "0",
            "PIP_DEFAULT_TIMEOUT": "30",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_NO_CACHE_DIR": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        })
        assert not any(k in env for k in ("PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS")), env
        return env

    def _guard(self) -> None:
        if self.conf is not None:
            parser = configparser.ConfigParser()
            parser.read(self.conf)
            for section in parser.sections():
                for key, value in parser.items(section):
                    assert key not in ("extra-index-url", "find-links"), f"refusing to run pip: {section}.{key}"
                    if key == "index-url":
                        assert loopback_url(value, self.port), f"refusing to run pip with index {value}"
        assert loopback_url(self.index_url, self.port), self.index_url
        if not self._checked:
            # everything pip will read (global files included) points only at this server
            p = subprocess.run([str(venv_dir() / "bin" / "python"), "-m", "pip", "config", "list"],
                               env=self.env(), capture_output=True, text=True, timeout=60)
            assert p.returncode == 0, p.stderr
            for line in p.stdout.splitlines():
                key, _, value = line.partition("=")
                key = key.rsplit(".", 1)[-1]
                assert key not in ("extra-index-url", "find-links"), f"refusing to run pip: {line}"
                if key == "index-url":
                    assert loopback_url(value.strip("'\""), self.port), f"refusing to run pip: {line}"
            self._checked = True

    def start(self, *args: str) -> subprocess.Popen:
        """`pip ARGS` started (guarded), stdout and stderr piped as text."""
        self._guard()
        return subprocess.Popen([str(venv_dir() / "bin" / "python"), "-m", "pip", *args], env=self.env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL, cwd=str(self.home))

    def __call__(self, *args: str, check: bool = False) -> subprocess.CompletedProcess:
        p = finish(self.start(*args), self.timeout, f"pip {' '.join(args)}")
        if check:
            assert p.returncode == 0, (
                f"pip {' '.join(args)} failed (rc={p.returncode}):\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
        return p

    def install_args(self, target: Path, *requirements: str) -> list[str]:
        return ["install", "--no-cache-dir", "--no-compile", *self.install_options, "--target", str(target),
                *requirements]

    def install(self, target: Path, *requirements: str, check: bool = True) -> subprocess.CompletedProcess:
        return self(*self.install_args(target, *requirements), check=check)

    def new_target(self) -> Path:
        """A fresh `--target` directory inside HOME."""
        self._targets += 1
        return self.home / f"site-{self._targets}"


def run_python(home: Path, code: str, pythonpath: Path) -> subprocess.CompletedProcess:
    """The venv's python running `code` with `pythonpath` (where pip installed) first."""
    env = client_env(home)
    env["PYTHONPATH"] = str(pythonpath)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return subprocess.run([str(venv_dir() / "bin" / "python"), "-c", code], env=env, capture_output=True,
                          text=True, timeout=60, cwd=str(home))


def digests(data: bytes) -> dict[str, str]:
    return {
        "md5_digest": hashlib.md5(data).hexdigest(),
        "sha256_digest": sha256_of(data),
        "blake2_256_digest": hashlib.blake2b(data, digest_size=32).hexdigest(),
    }


def upload_fields(dist: Path, content: bytes | None = None, *, drop: Iterable[str] = (),
                  **override: str) -> list[tuple[str, str]]:
    """The form fields twine 7 sends for `dist` (plus `md5_digest`, as older twine does),
    computed from the file's own metadata. `override` replaces a field, `drop` removes it."""
    meta = read_metadata(dist)
    data = content if content is not None else dist.read_bytes()
    wheel = dist.name.endswith(".whl")
    fields: list[tuple[str, str]] = [
        ("name", meta["Name"]),
        ("version", meta["Version"]),
        ("filetype", "bdist_wheel" if wheel else "sdist"),
        ("pyversion", "py3" if wheel else "source"),
        ("metadata_version", meta["Metadata-Version"]),
    ]
    for header, field in (("Summary", "summary"), ("Description-Content-Type", "description_content_type"),
                          ("Requires-Python", "requires_python")):
        if meta.get(header):
            fields.append((field, meta[header]))
    if description_of(meta):
        fields.append(("description", description_of(meta)))
    fields += [("requires_dist", r) for r in meta.get_all("Requires-Dist") or []]
    fields += list(digests(data).items())
    fields += [(":action", "file_upload"), ("protocol_version", "1")]
    drop = set(drop) | {k for k, v in override.items() if v is None}
    out = []
    for k, v in fields:
        if k in drop:
            continue
        if k in override:
            v = override.pop(k)
        out.append((k, v))
    out += [(k, v) for k, v in override.items() if v is not None]
    return out


def multipart(fields: list[tuple[str, str]], filename: str | None, content: bytes | None) -> tuple[bytes, str]:
    boundary = "----e2e" + uuid.uuid4().hex
    chunks = []
    for k, v in fields:
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'.encode()
                      + v.encode() + b"\r\n")
    if content is not None:
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="content"; filename="{filename}"\r\n'
                      f"Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


class ProjectPage(HTMLParser):
    """The anchors (attributes and text) and named <meta> tags of a PEP 503 project page."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.anchors: list[dict[str, Any]] = []
        self.meta: dict[str, str | None] = {}
        self._current: dict[str, Any] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a":
            self._current = {"attrs": a, "text": ""}
            self.anchors.append(self._current)
        elif tag == "meta" and "name" in a:
            self.meta[a["name"]] = a.get("content")

    def handle_endtag(self, tag):
        if tag == "a":
            self._current = None

    def handle_data(self, data):
        if self._current is not None:
            self._current["text"] += data

    def files(self) -> dict[str, dict[str, Any]]:
        """filename (anchor text) → attributes."""
        return {a["text"].strip(): a["attrs"] for a in self.anchors}
