"""`aws codeartifact login` for npm, pip and twine against the server, with a temporary HOME;
the configuration each tool ends up with, and whether the token written there is accepted by
the repository endpoint. References: repository-endpoints spec §1.1, §2, §3.1–3.3."""

from __future__ import annotations

import configparser
import os
import re
import stat
import subprocess
import urllib.parse

import pytest

from conftest import ACCOUNT, basic, client_env, endpoint_get, flip_char, unique, which


@pytest.fixture
def repo(track, ca):
    domain = track.create_domain()["name"]
    ca.create_repository(domain=domain, repository="team")
    return domain, "team"


def login(aws, home, tool, domain, repository, *extra):
    result = aws("codeartifact", "login", "--tool", tool, "--domain", domain, "--repository", repository,
                 *extra, home=home)
    assert result.rc == 0, f"login --tool {tool} failed (rc={result.rc}):\nstdout:{result.stdout}\nstderr:{result.err}"
    return result


def assert_token_accepted(url: str, token: str, scheme: str = "bearer"):
    """The token works on the endpoint (not 401/403, no server error), and a tampered copy is 401."""
    auth = f"Bearer {token}" if scheme == "bearer" else basic(token)
    good = endpoint_get(url, auth)
    assert good.status not in (401, 403) and good.status < 500, (url, good)
    assert not good.header_all("WWW-Authenticate"), good

    tampered_token = flip_char(token, len(token) // 2)
    bad_auth = f"Bearer {tampered_token}" if scheme == "bearer" else basic(tampered_token)
    bad = endpoint_get(url, bad_auth)
    assert bad.status == 401, (url, bad)
    challenges = " ".join(bad.header_all("WWW-Authenticate"))
    assert "Basic" in challenges and "Bearer" in challenges, bad


def read_npmrc(home) -> dict[str, str]:
    values = {}
    for line in (home / ".npmrc").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith((";", "#")) and "=" in line:
            k, v = line.split("=", 1)
            values[k.strip()] = v.strip()
    return values


def npm(home, *args):
    return subprocess.run(["npm", *args], env=client_env(home), capture_output=True, text=True,
                          timeout=60, cwd=str(home))


@pytest.fixture(scope="module", autouse=True)
def _npm_present():
    if which("npm") is None:
        pytest.fail("npm is not installed; test_login needs it", pytrace=False)


def test_login_npm(aws, repo, server, tmp_path):
    domain, repository = repo
    home = tmp_path / "home"
    result = login(aws, home, "npm", domain, repository)
    endpoint = f"http://127.0.0.1:{server.port}/npm/d/{domain}-{ACCOUNT}/{repository}/"
    assert f"Successfully configured npm to use AWS CodeArtifact repository {endpoint}" in result.stdout

    values = read_npmrc(home)
    assert values.get("registry") == endpoint, values
    auth_key = f"//127.0.0.1:{server.port}/npm/d/{domain}-{ACCOUNT}/{repository}/:_authToken"
    assert auth_key in values, values
    token = values[auth_key]
    assert token

    # npm itself reads the configuration back
    got = npm(home, "config", "get", "registry")
    assert got.returncode == 0, got.stderr
    assert got.stdout.strip() == endpoint

    assert_token_accepted(endpoint, token)
    assert_token_accepted(endpoint + "lodash", token)


def test_login_npm_with_namespace_and_duration(aws, repo, server, tmp_path):
    domain, repository = repo
    home = tmp_path / "home"
    (home).mkdir()
    (home / ".npmrc").write_text("registry=https://registry.npmjs.org/\nfund=false\n")
    login(aws, home, "npm", domain, repository, "--namespace", "myscope", "--duration-seconds", "900")
    endpoint = f"http://127.0.0.1:{server.port}/npm/d/{domain}-{ACCOUNT}/{repository}/"
    values = read_npmrc(home)
    assert values.get("@myscope:registry") == endpoint, values
    assert values.get("registry") == "https://registry.npmjs.org/", "the default registry is left alone"
    assert values.get("fund") == "false"
    token = values[f"//127.0.0.1:{server.port}/npm/d/{domain}-{ACCOUNT}/{repository}/:_authToken"]
    assert_token_accepted(endpoint, token)


def test_login_pip(aws, repo, server, tmp_path):
    domain, repository = repo
    home = tmp_path / "home"
    result = login(aws, home, "pip", domain, repository)
    endpoint = f"http://127.0.0.1:{server.port}/pypi/d/{domain}-{ACCOUNT}/{repository}/"
    assert endpoint in result.stdout

    conf = home / ".config" / "pip" / "pip.conf"
    assert conf.is_file(), f"pip config not written; HOME contains {sorted(p.name for p in home.rglob('*'))}"
    parser = configparser.ConfigParser()
    parser.read(conf)
    index_url = parser.get("global", "index-url")
    m = re.fullmatch(
        rf"http://aws:([^@]+)@127\.0\.0\.1:{server.port}/pypi/d/{re.escape(domain)}-{ACCOUNT}/{repository}/simple/",
        index_url,
    )
    assert m, index_url
    token = m.group(1)

    # pip reads it back
    got = subprocess.run(["pip", "config", "get", "global.index-url"], env=client_env(home),
                         capture_output=True, text=True, timeout=60)
    assert got.returncode == 0, got.stderr
    assert got.stdout.strip() == index_url

    # what pip will send: Basic aws:<token> to .../simple/
    simple = endpoint + "simple/"
    assert_token_accepted(simple, token, scheme="basic")
    assert_token_accepted(simple + "requests/", token, scheme="basic")
    # credentials in the URL as pip would split them
    u = urllib.parse.urlsplit(index_url)
    assert u.username == "aws" and urllib.parse.unquote(u.password) == token


def test_login_twine(aws, repo, server, tmp_path):
    domain, repository = repo
    home = tmp_path / "home"
    login(aws, home, "twine", domain, repository, "--domain-owner", ACCOUNT)
    endpoint = f"http://127.0.0.1:{server.port}/pypi/d/{domain}-{ACCOUNT}/{repository}/"

    pypirc = home / ".pypirc"
    assert pypirc.is_file()
    assert stat.S_IMODE(os.stat(pypirc).st_mode) == 0o600
    parser = configparser.ConfigParser()
    parser.read(pypirc)
    servers = parser.get("distutils", "index-servers").split()
    assert "codeartifact" in servers
    assert parser.get("codeartifact", "repository") == endpoint
    assert parser.get("codeartifact", "username") == "aws"
    token = parser.get("codeartifact", "password")
    assert token

    assert_token_accepted(endpoint, token, scheme="basic")


def test_login_twine_keeps_existing_servers(aws, repo, server, tmp_path):
    domain, repository = repo
    home = tmp_path / "home"
    home.mkdir()
    (home / ".pypirc").write_text(
        "[distutils]\nindex-servers =\n    pypi\n    internal\n\n[internal]\nrepository = https://example.invalid/\n"
    )
    login(aws, home, "twine", domain, repository)
    parser = configparser.ConfigParser()
    parser.read(home / ".pypirc")
    assert parser.get("distutils", "index-servers").split() == ["pypi", "internal", "codeartifact"]
    assert parser.get("internal", "repository") == "https://example.invalid/"
    assert parser.get("codeartifact", "repository") == (
        f"http://127.0.0.1:{server.port}/pypi/d/{domain}-{ACCOUNT}/{repository}/"
    )


def test_login_missing_repository_writes_nothing(aws, track, tmp_path):
    domain = track.create_domain()["name"]
    home = tmp_path / "home"
    result = aws("codeartifact", "login", "--tool", "npm", "--domain", domain, "--repository", "absent",
                 home=home)
    assert result.rc != 0
    assert result.error_code() == "ResourceNotFoundException", result.err
    assert not (home / ".npmrc").exists()

    result = aws("codeartifact", "login", "--tool", "pip", "--domain", unique("nodom"), "--repository", "r1",
                 home=home)
    assert result.rc != 0
    assert result.error_code() == "ResourceNotFoundException", result.err
    assert not (home / ".config" / "pip" / "pip.conf").exists()


def test_login_dry_run_prints_token_without_writing(aws, repo, server, tmp_path):
    domain, repository = repo
    home = tmp_path / "home"
    result = login(aws, home, "pip", domain, repository, "--dry-run")
    m = re.search(r"http://aws:(\S+)@127\.0\.0\.1:%d/pypi/d/" % server.port, result.stdout)
    assert m, result.stdout
    assert not (home / ".config" / "pip" / "pip.conf").exists()
    endpoint = f"http://127.0.0.1:{server.port}/pypi/d/{domain}-{ACCOUNT}/{repository}/simple/"
    assert_token_accepted(endpoint, m.group(1), scheme="basic")
