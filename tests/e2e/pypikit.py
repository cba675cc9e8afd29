"""The PyPI client kit for the end-to-end suite: the legacy upload API as twine speaks it
(repository-endpoints spec §6.6), made by hand, shared by every module that uploads to PyPI.
Distributions themselves are made by pydist.py.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Iterable

from conftest import sha256_of
from pydist import description_of, read_metadata


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
