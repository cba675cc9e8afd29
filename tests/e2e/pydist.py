"""Python distributions for the PyPI end-to-end tests, made offline.

Two ways, both producing real installable distributions:

* `build_project` writes a small setuptools project (pyproject.toml, README, a package) and
  runs `python -m build --no-isolation` from the test venv (setuptools and build are pinned in
  requirements.txt), giving the sdist and wheel exactly as a developer would upload them.
* `make_wheel` / `make_sdist` write the archives directly (wheel: `*.dist-info/METADATA`,
  `WHEEL`, `RECORD` per the binary distribution format; sdist: `PKG-INFO` + a setuptools
  `pyproject.toml`). They are deterministic — the same arguments give the same bytes — so a
  test can re-upload identical bytes, or change one byte with `salt`.
"""

from __future__ import annotations

import base64
import email.parser
import gzip
import hashlib
import io
import re
import subprocess
import sys
import tarfile
import zipfile
from email.message import Message
from pathlib import Path
from typing import Iterable, Mapping

ZIP_DATE = (2020, 2, 2, 0, 0, 0)
TAR_MTIME = 1580601600  # 2020-02-02


def normalize(name: str) -> str:
    """PEP 503 normalised project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def file_component(name: str) -> str:
    """The project name as it appears in wheel and (PEP 625) sdist file names."""
    return re.sub(r"[-_.]+", "_", name).lower()


def module_name(name: str) -> str:
    return file_component(name)


def metadata_text(name: str, version: str, *, summary: str | None = None,
                  description: str | None = None, description_content_type: str | None = None,
                  requires_python: str | None = None, requires_dist: Iterable[str] = (),
                  metadata_version: str = "2.1") -> str:
    lines = [f"Metadata-Version: {metadata_version}", f"Name: {name}", f"Version: {version}"]
    if summary is not None:
        lines.append(f"Summary: {summary}")
    if requires_python is not None:
        lines.append(f"Requires-Python: {requires_python}")
    if description_content_type is not None:
        lines.append(f"Description-Content-Type: {description_content_type}")
    for req in requires_dist:
        lines.append(f"Requires-Dist: {req}")
    text = "\n".join(lines) + "\n"
    if description is not None:
        text += "\n" + description
    return text


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def make_wheel(outdir: Path, name: str, version: str, *, summary: str | None = None,
               description: str | None = None, description_content_type: str | None = None,
               requires_python: str | None = None, requires_dist: Iterable[str] = (),
               module: str | None = None, code: str | None = None, salt: str = "",
               filename: str | None = None) -> Path:
    """A pure-Python `py3-none-any` wheel with one top-level package `module`
    (default: the name with `_`), whose `__init__` defines NAME and VERSION."""
    outdir.mkdir(parents=True, exist_ok=True)
    module = module or module_name(name)
    code = code if code is not None else f"NAME = {name!r}\nVERSION = {version!r}\n"
    if salt:
        code += f"SALT = {salt!r}\n"
    dist_info = f"{file_component(name)}-{version}.dist-info"
    files: list[tuple[str, bytes]] = [
        (f"{module}/__init__.py", code.encode()),
        (f"{dist_info}/METADATA", metadata_text(
            name, version, summary=summary, description=description,
            description_content_type=description_content_type, requires_python=requires_python,
            requires_dist=requires_dist).encode()),
        (f"{dist_info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: codeartifact-local-e2e\n"
                               b"Root-Is-Purelib: true\nTag: py3-none-any\n"),
        (f"{dist_info}/top_level.txt", f"{module}\n".encode()),
    ]
    record = "".join(f"{p},{_record_hash(d)},{len(d)}\n" for p, d in files) + f"{dist_info}/RECORD,,\n"
    files.append((f"{dist_info}/RECORD", record.encode()))
    path = outdir / (filename or f"{file_component(name)}-{version}-py3-none-any.whl")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for p, d in files:
            info = zipfile.ZipInfo(p, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, d)
    path.write_bytes(buf.getvalue())
    return path


def make_sdist(outdir: Path, name: str, version: str, *, summary: str | None = None,
               description: str | None = None, description_content_type: str | None = None,
               requires_python: str | None = None, requires_dist: Iterable[str] = (),
               module: str | None = None, code: str | None = None, salt: str = "",
               filename: str | None = None) -> Path:
    """A source distribution `{name}-{version}.tar.gz` (PEP 625 naming) buildable by setuptools,
    whose package `module` (default: the name with `_`) defines NAME and VERSION unless `code`
    is given."""
    outdir.mkdir(parents=True, exist_ok=True)
    module = module or module_name(name)
    root = f"{file_component(name)}-{version}"
    deps = ", ".join(f'"{d}"' for d in requires_dist)
    pyproject = (
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "{name}"\nversion = "{version}"\n'
        + (f'description = "{summary}"\n' if summary else "")
        + (f'requires-python = "{requires_python}"\n' if requires_python else "")
        + f"dependencies = [{deps}]\n\n[tool.setuptools]\npackages = [\"{module}\"]\n"
    )
    code = code if code is not None else f"NAME = {name!r}\nVERSION = {version!r}\n"
    if salt:
        code += f"SALT = {salt!r}\n"
    files = [
        ("PKG-INFO", metadata_text(name, version, summary=summary, description=description,
                                   description_content_type=description_content_type,
                                   requires_python=requires_python, requires_dist=requires_dist).encode()),
        ("pyproject.toml", pyproject.encode()),
        (f"{module}/__init__.py", code.encode()),
    ]
    tar_buf = io.BytesIO()
    with tarfile.open(fileobj=tar_buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for p, d in files:
            info = tarfile.TarInfo(f"{root}/{p}")
            info.size = len(d)
            info.mtime = TAR_MTIME
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(d))
    path = outdir / (filename or f"{root}.tar.gz")
    path.write_bytes(gzip.compress(tar_buf.getvalue(), mtime=0))
    return path


def build_project(workdir: Path, name: str, version: str, *, env: Mapping[str, str],
                  summary: str, readme: str, requires_python: str | None = None,
                  dependencies: Iterable[str] = (), module: str | None = None,
                  code: str | None = None, python: str = sys.executable) -> list[Path]:
    """Writes a setuptools project and builds its sdist and wheel with
    `python -m build --no-isolation` (no network: setuptools comes from the test venv).
    Returns [sdist, wheel]."""
    module = module or module_name(name)
    src = workdir / f"src-{file_component(name)}-{version}"
    (src / "src" / module).mkdir(parents=True)
    deps = ", ".join(f"'{d}'" for d in dependencies)
    (src / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=70"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "{name}"\nversion = "{version}"\ndescription = "{summary}"\n'
        'readme = {file = "README.md", content-type = "text/markdown"}\n'
        + (f'requires-python = "{requires_python}"\n' if requires_python else "")
        + f"dependencies = [{deps}]\n"
    )
    (src / "README.md").write_text(readme)
    (src / "src" / module / "__init__.py").write_text(
        code if code is not None else f"NAME = {name!r}\nVERSION = {version!r}\n")
    out = workdir / f"dist-{file_component(name)}-{version}"
    p = subprocess.run([python, "-m", "build", "--no-isolation", "--outdir", str(out), str(src)],
                       env=dict(env), capture_output=True, text=True, timeout=120, cwd=str(src))
    if p.returncode != 0:
        raise AssertionError(f"python -m build failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    sdists = sorted(out.glob("*.tar.gz"))
    wheels = sorted(out.glob("*.whl"))
    assert len(sdists) == 1 and len(wheels) == 1, sorted(out.iterdir())
    return [sdists[0], wheels[0]]


def read_metadata(path: Path) -> Message:
    """Core metadata of a wheel (`*.dist-info/METADATA`) or an sdist (`*/PKG-INFO`)."""
    if path.name.endswith(".whl"):
        with zipfile.ZipFile(path) as zf:
            member = next(n for n in zf.namelist()
                          if n.count("/") == 1 and n.endswith(".dist-info/METADATA"))
            text = zf.read(member).decode()
    else:
        with tarfile.open(path, "r:gz") as tar:
            member = next(m for m in tar.getmembers() if m.name.count("/") == 1 and m.name.endswith("/PKG-INFO"))
            text = tar.extractfile(member).read().decode()
    return email.parser.Parser().parsestr(text)


def description_of(meta: Message) -> str:
    body = meta.get_payload()
    return body if isinstance(body, str) else ""
