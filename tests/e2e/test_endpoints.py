"""Repository endpoints: token authentication over HTTP. References: repository-endpoints spec
§1.3–1.4 (path and host addressing on one listener), §2.1 (token), §2.2 (accepted encodings),
§2.3 (401 with Basic and Bearer challenges); control-plane spec §7.5."""

from __future__ import annotations

import base64
import json
import time
import urllib.parse

import pytest

from conftest import (
    ACCOUNT,
    OTHER_ACCOUNT,
    b64url_decode,
    b64url_encode,
    basic,
    endpoint_get,
    flip_char,
    http_request,
    unique,
)
from mavenkit import MavenHttp, pom_xml
from pydist import make_wheel
from pypikit import multipart, upload_fields
from swiftkit import SwiftPackageRegistryClient, zip_bytes

FORMATS = ("npm", "pypi", "maven", "nuget", "generic", "ruby", "swift", "cargo")


@pytest.fixture(scope="module")
def site(server, ca, ca_other, tmp_path_factory):
    """Two domains in our account (+ one same-named domain in the other account), a repository
    in each holding the documents of PROBE, and tokens for each."""
    a, b = unique("tok-a"), unique("tok-b")
    ca.create_domain(domain=a)
    ca.create_domain(domain=b)
    ca.create_repository(domain=a, repository="team")
    ca.create_repository(domain=b, repository="team")
    ca_other.create_domain(domain=a)
    ca_other.create_repository(domain=a, repository="team")
    info = {
        "a": a,
        "b": b,
        "token_a": ca.get_authorization_token(domain=a)["authorizationToken"],
        "token_b": ca.get_authorization_token(domain=b)["authorizationToken"],
        "token_other": ca_other.get_authorization_token(domain=a)["authorizationToken"],
    }
    wheel = make_wheel(tmp_path_factory.mktemp("probe"), "probe-pkg", "1.0")
    for domain, owner, token in ((a, ACCOUNT, info["token_a"]), (b, ACCOUNT, info["token_b"]),
                                 (a, OTHER_ACCOUNT, info["token_other"])):
        endpoint = f"{server.endpoint}/pypi/d/{domain}-{owner}/team/"
        body, ctype = multipart(upload_fields(wheel), wheel.name, wheel.read_bytes())
        r = http_request(server.host, server.port, "POST", urllib.parse.urlsplit(endpoint).path, body,
                         {"Host": server.address, "Content-Type": ctype, "Authorization": basic(token)})
        assert r.status == 200, r
        maven = MavenHttp(f"{server.endpoint}/maven/d/{domain}-{owner}/team/", token)
        maven.publish("org.probe", "probe", "1.0", {"probe-1.0.pom": pom_xml("org.probe", "probe", "1.0")})
        swift = SwiftPackageRegistryClient(f"{server.endpoint}/swift/d/{domain}-{owner}/team/", token)
        swift.publish("probe", "probe-pkg", "1.0.0", zip_bytes({"probe/Package.swift": "// swift-tools-version:5.9\n"}))
    yield info
    for client, domain in ((ca, a), (ca, b), (ca_other, a)):
        try:
            client.delete_repository(domain=domain, repository="team")
            client.delete_domain(domain=domain)
        except Exception:
            pass


# A document each served format answers 200 for in every repository of `site`; the other
# formats are not served (404 once the token is accepted).
PROBE = {"npm": "-/ping", "pypi": "simple/probe-pkg/", "maven": "org/probe/probe/maven-metadata.xml",
         "cargo": "config.json", "ruby": "api/v1/dependencies", "swift": "probe/probe-pkg"}
PROBE["nuget"] = "v3/index.json"  # the service index
UNSERVED = tuple(f for f in FORMATS if f not in PROBE)


def url(server, domain, repository="team", fmt="npm", rest=None, owner=ACCOUNT):
    """A repository-endpoint URL; by default the format's PROBE document."""
    rest = PROBE.get(fmt, "") if rest is None else rest
    return f"{server.endpoint}/{fmt}/d/{domain}-{owner}/{repository}/{rest}"


def assert_unauthorized(resp, what):
    assert resp.status == 401, f"{what}: expected 401, got {resp}"
    challenges = resp.header_all("WWW-Authenticate")
    schemes = {c.split()[0].lower() for c in challenges if c.strip()}
    assert {"basic", "bearer"} <= schemes, f"{what}: challenges {challenges}"


def assert_authorized(resp, what):
    """The token opened the repository: its PROBE document is served (a 404 is no proof: a
    repository that was not found answers it too)."""
    assert resp.status == 200, f"{what}: expected the probe document (200), got {resp}"
    assert not resp.header_all("WWW-Authenticate"), f"{what}: {resp}"


def assert_not_found(resp, what):
    """The token was accepted and the path is not there: 404 without a challenge."""
    assert resp.status == 404, f"{what}: expected 404, got {resp}"
    assert not resp.header_all("WWW-Authenticate"), f"{what}: {resp}"


def assert_unserved_format(resp, what):
    """The token was accepted for a format this server does not serve: its own 404."""
    assert_not_found(resp, what)
    assert b"does not serve" in resp.body, f"{what}: {resp}"


# ----------------------------------------------------------------------------- token shape


def test_token_shape(site, ca):
    token = site["token_a"]
    segments = token.split(".")
    assert len(segments) == 5, "JWE-like compact form: five base64url segments (spec §7.5)"
    header = json.loads(b64url_decode(segments[0]))
    assert header.get("ver") == 1
    assert isinstance(header.get("isu"), int) and isinstance(header.get("exp"), int)
    assert header["exp"] - header["isu"] == 43200
    assert abs(header["isu"] - time.time()) < 120

    short = ca.get_authorization_token(domain=site["a"], durationSeconds=900)
    h = json.loads(b64url_decode(short["authorizationToken"].split(".")[0]))
    assert h["exp"] - h["isu"] == 900
    assert h["exp"] == pytest.approx(short["expiration"].timestamp(), abs=1)


# ----------------------------------------------------------------------------- valid tokens


@pytest.mark.parametrize("encoding", ["bearer", "basic", "bare"])
def test_valid_token_every_encoding(server, site, encoding):
    token = site["token_a"]
    auth = {"bearer": f"Bearer {token}", "basic": basic(token), "bare": token}[encoding]
    for fmt in PROBE:
        assert_authorized(endpoint_get(url(server, site["a"], fmt=fmt), auth), f"{encoding} {fmt}")
        assert_not_found(endpoint_get(url(server, site["a"], fmt=fmt, rest="some/deeper/path"), auth),
                         f"{encoding} {fmt} deep")
    for fmt in UNSERVED:
        assert_unserved_format(endpoint_get(url(server, site["a"], fmt=fmt), auth), f"{encoding} {fmt}")
        assert_unserved_format(endpoint_get(url(server, site["a"], fmt=fmt, rest="some/deeper/path"), auth),
                               f"{encoding} {fmt} deep")


def test_valid_token_unknown_package_is_404(server, site):
    """A package the repository does not hold (and no upstream can supply): npm's 404."""
    resp = endpoint_get(url(server, site["a"], rest="lodash"), f"Bearer {site['token_a']}")
    assert_not_found(resp, "unknown npm package")
    assert resp.json == {"error": "Not found"}, resp


def test_valid_token_missing_repository_is_404(server, site):
    resp = endpoint_get(url(server, site["a"], repository="absent", rest=""), f"Bearer {site['token_a']}")
    assert resp.status == 404, resp
    assert not resp.header_all("WWW-Authenticate")


def test_scheme_names_are_case_insensitive(server, site):
    token = site["token_a"]
    for auth in (f"bearer {token}", f"BEARER {token}", "basic " + basic(token).split(" ", 1)[1]):
        assert_authorized(endpoint_get(url(server, site["a"]), auth), auth[:7])


def test_host_form_addressing(server, site):
    """Spec §1.3: Host `{domain}-{owner}.d.codeartifact.{region}.{suffix}` with path
    `/{format}/{repository}/` reaches the same repository."""
    host = f"{site['a']}-{ACCOUNT}.d.codeartifact.us-east-1.localhost:{server.port}"
    target = f"{server.endpoint}/npm/team/-/ping"
    assert_authorized(endpoint_get(target, f"Bearer {site['token_a']}", host_header=host), "host form")
    assert_unauthorized(endpoint_get(target, f"Bearer {site['token_b']}", host_header=host), "host form, domain b token")
    assert_unauthorized(endpoint_get(target, None, host_header=host), "host form, no token")


# ----------------------------------------------------------------------------- refused tokens


def test_missing_authorization_is_401(server, site):
    for fmt in FORMATS:
        assert_unauthorized(endpoint_get(url(server, site["a"], fmt=fmt)), f"no token {fmt}")
    # also for a repository that does not exist: no information without a token
    assert_unauthorized(endpoint_get(url(server, site["a"], repository="absent", rest="")), "no token, absent repo")


def test_garbage_tokens_are_401(server, site):
    token = site["token_a"]
    cases = {
        "bearer garbage": "Bearer not-a-token",
        "empty bearer": "Bearer ",
        "bare scheme": "Bearer",
        "basic wrong user": basic(token, user="admin"),
        "basic no colon": "Basic " + base64.b64encode(token.encode()).decode(),
        "basic not base64": "Basic !!!",
        "unknown scheme": f"Token {token}",
        "two tokens": f"Bearer {token} {token}",
        "truncated": f"Bearer {token[:-10]}",
        "four segments": "Bearer " + ".".join(token.split(".")[:4]),
        "extra segment": f"Bearer {token}.AAAA",
        "aws sigv4": "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/codeartifact/aws4_request, "
                     "SignedHeaders=host, Signature=abc",
    }
    for what, auth in cases.items():
        assert_unauthorized(endpoint_get(url(server, site["a"]), auth), what)


def test_tampered_token_is_401(server, site):
    token = site["token_a"]
    segments = token.split(".")
    for i in range(5):
        seg = segments[i]
        changed = segments[:i] + [flip_char(seg, len(seg) // 2)] + segments[i + 1:]
        bad = ".".join(changed)
        assert bad != token
        assert_unauthorized(endpoint_get(url(server, site["a"]), f"Bearer {bad}"), f"segment {i} flipped")
        assert_unauthorized(endpoint_get(url(server, site["a"]), basic(bad)), f"segment {i} flipped (basic)")


def test_modified_payload_is_401(server, site):
    """An 'expired' token cannot be produced within a test (900 s minimum), so instead rewrite
    the token's claims: push the expiry, change the domain, and re-encode the segments."""
    token = site["token_a"]
    segments = token.split(".")
    header = json.loads(b64url_decode(segments[0]))

    def rewritten(header_changes=None, payload_fn=None):
        segs = list(segments)
        if header_changes:
            h = dict(header)
            h.update(header_changes)
            segs[0] = b64url_encode(json.dumps(h, separators=(",", ":")).encode())
        if payload_fn:
            segs[1] = payload_fn(segs[1])
        return ".".join(segs)

    # expired: move both the header's and (if readable) the payload's expiry into the past
    past = int(time.time()) - 3600
    try:
        claims = json.loads(b64url_decode(segments[1]))
    except ValueError:
        claims = None

    def with_claims(keys, value):
        """Sets every claim whose (lowercased) name is in `keys`; if the payload is opaque or
        has no such claim, flips a character instead (still a modified payload)."""
        def fn(seg):
            if isinstance(claims, dict):
                c = {k: (value if k.lower() in keys else v) for k, v in claims.items()}
                if c != claims:
                    return b64url_encode(json.dumps(c, separators=(",", ":")).encode())
            return flip_char(seg, len(seg) // 2)
        return fn

    expiry_keys = {"exp", "expiresat", "expires_at", "expiry", "expiration"}
    domain_keys = {"domain", "domainname", "domain_name"}
    cases = {
        "header exp in the past": rewritten({"exp": past}),
        "header exp extended": rewritten({"exp": header["exp"] + 10 * 43200}),
        "payload expiry in the past": rewritten({"exp": past}, with_claims(expiry_keys, past)),
        "payload domain changed": rewritten(None, with_claims(domain_keys, site["b"])),
        "payload byte flipped": rewritten(None, lambda s: flip_char(s, 3)),
    }
    for what, bad in cases.items():
        assert bad != token, what
        assert_unauthorized(endpoint_get(url(server, site["a"]), f"Bearer {bad}"), what)
    assert_authorized(endpoint_get(url(server, site["a"]), f"Bearer {token}"), "original still valid")


def test_other_domain_token_is_401(server, site):
    assert_unauthorized(endpoint_get(url(server, site["a"]), f"Bearer {site['token_b']}"), "b's token on a")
    assert_unauthorized(endpoint_get(url(server, site["b"]), basic(site["token_a"])), "a's token on b")
    assert_authorized(endpoint_get(url(server, site["b"]), f"Bearer {site['token_b']}"), "b's token on b")


def test_other_account_token_is_401(server, site):
    """Same domain name, different owner: the other account's token does not open ours, and
    ours does not open theirs."""
    assert_unauthorized(endpoint_get(url(server, site["a"]), f"Bearer {site['token_other']}"),
                        "other account's token on our domain")
    assert_unauthorized(endpoint_get(url(server, site["a"], owner=OTHER_ACCOUNT), f"Bearer {site['token_a']}"),
                        "our token on the other account's domain")
    assert_authorized(endpoint_get(url(server, site["a"], owner=OTHER_ACCOUNT), f"Bearer {site['token_other']}"),
                      "other account's token on its domain")


def test_token_of_deleted_and_recreated_domain(server, ca):
    """A token is scoped to a domain; after the domain is deleted the token must not open a
    repository (the domain and repository are gone: 401 or 404, never a success)."""
    d = unique("tok-del")
    ca.create_domain(domain=d)
    ca.create_repository(domain=d, repository="team")
    token = ca.get_authorization_token(domain=d)["authorizationToken"]
    ca.delete_repository(domain=d, repository="team")
    ca.delete_domain(domain=d)
    resp = endpoint_get(url(server, d), f"Bearer {token}")
    assert resp.status in (401, 404), resp


def test_basic_credentials_without_padding(server, site):
    token = site["token_a"]
    encoded = base64.b64encode(f"aws:{token}".encode()).decode().rstrip("=")
    assert_authorized(endpoint_get(url(server, site["a"]), f"Basic {encoded}"), "unpadded basic")


def test_dualstack_endpoint_points_back_here(ca, track, server):
    domain = track.create_domain()["name"]
    ca.create_repository(domain=domain, repository="team")
    out = ca.get_repository_endpoint(domain=domain, repository="team", format="pypi",
                                     endpointType="dualstack")["repositoryEndpoint"]
    assert out.endswith("/"), out
    assert f":{server.port}/" in out and "/pypi/" in out and "team" in out, out


def test_host_style_endpoints(server_factory):
    """With --endpoint-style host, GetRepositoryEndpoint returns the real service's shape (spec
    repository-endpoints §1.4) and that URL (reached with its Host header) accepts tokens."""
    from conftest import make_client

    srv = server_factory(extra_args=["--endpoint-style", "host"])
    client = make_client(srv.endpoint)
    d = unique("hoststyle")
    client.create_domain(domain=d)
    client.create_repository(domain=d, repository="team")
    endpoint = client.get_repository_endpoint(domain=d, repository="team", format="npm")["repositoryEndpoint"]
    host = f"{d}-{ACCOUNT}.d.codeartifact.us-east-1.localhost:{srv.port}"
    assert endpoint == f"http://{host}/npm/team/"
    token = client.get_authorization_token(domain=d)["authorizationToken"]
    assert_authorized(endpoint_get(f"{srv.endpoint}/npm/team/-/ping", f"Bearer {token}", host_header=host),
                      "host style")
    assert_unauthorized(endpoint_get(f"{srv.endpoint}/npm/team/", f"Bearer {flip_char(token, 40)}",
                                     host_header=host), "host style, tampered")
    # the path form keeps working on the same listener
    assert_authorized(endpoint_get(f"{srv.endpoint}/npm/d/{d}-{ACCOUNT}/team/-/ping", f"Bearer {token}"),
                      "path form")
