"""External connections over https:// (issue 17): the server reaches a public registry with TLS
(rustls, no OpenSSL), checks its certificate against the system's roots plus
`--upstream-ca-file`, and refuses one it cannot verify. Offline: the "public registry" is a
PEP 503 index in this process on 127.0.0.1, serving TLS with a leaf certificate signed by a CA
made here with the `openssl` command; nothing leaves the machine."""

from __future__ import annotations

import hashlib
import http.server
import ssl
import subprocess
import threading
import urllib.parse
from pathlib import Path

import pytest

from conftest import ACCOUNT, basic, endpoint_get, make_client, unique
from pydist import make_wheel
from pypikit import ProjectPage

PROJECT = "hello-tls"


def openssl(*args: str, cwd: Path) -> None:
    p = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> Path:
    """ca.pem (a CA) and leaf.pem/leaf.key (127.0.0.1, signed by it)."""
    d = tmp_path_factory.mktemp("tls")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
            "-days", "2", "-subj", "/CN=codeartifact-local test CA", cwd=d)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr",
            "-subj", "/CN=127.0.0.1", cwd=d)
    (d / "leaf.ext").write_text("basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\n"
                                "extendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "leaf.pem", "-days", "2", "-extfile", "leaf.ext", cwd=d)
    return d


class TlsIndex:
    """A PEP 503 index over TLS on 127.0.0.1 holding one wheel; `requests` lists the paths asked."""

    def __init__(self, certs: Path, wheel: Path):
        self.requests: list[str] = []
        data = wheel.read_bytes()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                outer.requests.append(self.path)
                if self.path.split("?")[0] == f"/simple/{PROJECT}/":
                    link = f"{outer.origin}/files/{wheel.name}#sha256={hashlib.sha256(data).hexdigest()}"
                    body = f'<html><body><a href="{link}">{wheel.name}</a></body></html>'.encode()
                    ctype = "text/html"
                elif self.path == f"/files/{wheel.name}":
                    body, ctype = data, "application/octet-stream"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certs / "leaf.pem", certs / "leaf.key")
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.origin = f"https://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def index(certificates, tmp_path_factory):
    wheel = make_wheel(tmp_path_factory.mktemp("wheel"), PROJECT, "1.0.0")
    idx = TlsIndex(certificates, wheel)
    yield idx
    idx.close()


def connected_repository(srv) -> tuple[str, str]:
    """A repository holding the `public:pypi` connection; (its PyPI endpoint, a token)."""
    ca = make_client(srv.endpoint)
    domain = unique("tls")
    ca.create_domain(domain=domain)
    ca.create_repository(domain=domain, repository="pypi-store")
    ca.associate_external_connection(domain=domain, repository="pypi-store",
                                     externalConnection="public:pypi")
    token = ca.get_authorization_token(domain=domain)["authorizationToken"]
    return f"{srv.endpoint}/pypi/d/{domain}-{ACCOUNT}/pypi-store/", token


def test_https_connection_with_a_trusted_ca(server_factory, certificates, index):
    srv = server_factory(extra_args=["--external-connection", f"public:pypi={index.origin}/",
                                     "--upstream-ca-file", str(certificates / "ca.pem")])
    base, token = connected_repository(srv)
    page = endpoint_get(f"{base}simple/{PROJECT}/", basic(token))
    assert page.status == 200, (page, srv.log()[-2000:])
    anchors = ProjectPage(page.body.decode()).anchors
    assert len(anchors) == 1, anchors
    href = anchors[0]["attrs"]["href"]
    assert href.startswith(base) or not href.startswith("http"), "the file is served from this repository"
    url = urllib.parse.urljoin(f"{base}simple/{PROJECT}/", href.split("#")[0])
    wheel = endpoint_get(url, basic(token))
    assert wheel.status == 200, wheel
    assert f"sha256={hashlib.sha256(wheel.body).hexdigest()}" in href
    assert index.requests[:1] == [f"/simple/{PROJECT}/"] and any(p.startswith("/files/") for p in index.requests)


def test_https_connection_refuses_an_unverified_certificate(server_factory, index):
    """Without --upstream-ca-file the self-signed CA is not trusted: the registry is unreachable
    (404 for a package only it has, as the service answers) and no request got through TLS."""
    before = len(index.requests)
    srv = server_factory(extra_args=["--external-connection", f"public:pypi={index.origin}/"])
    base, token = connected_repository(srv)
    page = endpoint_get(f"{base}simple/{PROJECT}/", basic(token))
    assert page.status == 404, page
    assert len(index.requests) == before, "no HTTP request may pass an unverified handshake"


def test_ca_file_that_is_not_pem_is_refused_at_start(server_factory, tmp_path):
    bad = tmp_path / "not-a-ca.pem"
    bad.write_text("hello\n")
    from conftest import server_binary
    p = subprocess.run([str(server_binary()), "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "d"),
                        "--upstream-ca-file", str(bad)], capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert "holds no PEM certificate" in p.stderr, p.stderr


def test_no_openssl_is_linked():
    """TLS is rustls: the binary links no OpenSSL library."""
    from conftest import server_binary
    p = subprocess.run(["ldd", str(server_binary())], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert "libssl" not in p.stdout and "libcrypto" not in p.stdout, p.stdout
