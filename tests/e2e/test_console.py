"""The web console (`/_codeartifact/console/`, README "Console"), in a real browser: Debian's
headless Chromium driven through chromedriver by selenium.

State is seeded with real request sequences: boto3 for the control plane (domains, an upstream
chain, generic packages), npm's publish PUT and tarball GET (npmkit.publish_body), twine's upload
form (pypikit.upload_fields), and a second codeartifact-local playing the public npm registry
behind `public:npmjs` (externalkit). The browser then navigates by clicking links, downloads an
asset, and the tests compare what the console shows with what the control plane answers for the
same read: the upstream search order, each version's origin, the asset's bytes and digests.
Hostile text (a readme, a package name) must render as text: no script runs, no element is added.

Beyond loopback (`--listen 0.0.0.0:PORT`, still reached over 127.0.0.1) the console asks for an
access key and secret, and shows only what that identity may see; `--no-console` turns it off.

Screenshots go to target/e2e-artifacts/console/; with CODEARTIFACT_CONSOLE_SCREENSHOT=1 the
README's tests/e2e/console.png is regenerated.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import urllib.parse
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

import npmkit
import pydist
import pypikit
from conftest import (ACCOUNT, OTHER_ACCESS_KEY, OTHER_ACCOUNT, OTHER_SECRET_KEY, REPO_ROOT, Server,
                      allow_policy, basic, http_request, make_client, unique)
from externalkit import public_server
from externalkit import server  # noqa: F401 (the server under test, connected to `public`)

CONNECTION = "public:npmjs"
PREFIX = "/_codeartifact/console/"
ARTIFACTS = REPO_ROOT / "target" / "e2e-artifacts" / "console"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

# Every way this text could run as script sets window.__xss.
HOSTILE_README = ('<script>window.__xss = 1</script><img src="x" onerror="window.__xss = 2">'
                  "\n# Widget\n")
# A generic name may hold anything but '#', '/' and white space.
HOSTILE_NAME = '"><script>window.__xss=3<'


# --------------------------------------------------------------------------------------------
# Seeding through real request sequences
# --------------------------------------------------------------------------------------------


def npm_publish(srv: Server, domain: str, repo: str, token: str, name: str, version: str,
                readme: str | None = None, dependencies: dict | None = None) -> None:
    """The PUT `npm publish` sends (npmkit.publish_body), with a readme and dependencies."""
    registry = f"http://127.0.0.1:{srv.port}/npm/d/{domain}-{ACCOUNT}/{repo}/"
    body = npmkit.publish_body(registry, name, version, npmkit.tarball(name, version))
    manifest = body["versions"][version]
    if readme is not None:
        manifest["readme"] = readme
    if dependencies:
        manifest["dependencies"] = dependencies
    path = urllib.parse.urlsplit(registry).path + name.replace("/", "%2f")
    r = http_request("127.0.0.1", srv.port, "PUT", path, json.dumps(body).encode(),
                     {"Host": f"127.0.0.1:{srv.port}", "Content-Type": "application/json",
                      "Authorization": f"Bearer {token}"})
    assert r.status in (200, 201), r


def npm_fetch(srv: Server, domain: str, repo: str, token: str, name: str, version: str) -> bytes:
    """The tarball GET npm sends: through upstreams and external connections, retaining."""
    path = f"/npm/d/{domain}-{ACCOUNT}/{repo}/{name}/-/{name.split('/')[-1]}-{version}.tgz"
    r = http_request("127.0.0.1", srv.port, "GET", path, None,
                     {"Host": f"127.0.0.1:{srv.port}", "Authorization": f"Bearer {token}"})
    assert r.status == 200, r
    return r.body


@pytest.fixture(scope="module")
def public(tmp_path_factory, _isolated_aws_env):
    """The public npm registry: another codeartifact-local holding ext-lib 2.0.0."""
    with public_server(tmp_path_factory, "npm", "npmjs") as pub:
        npm_publish(pub.srv, pub.domain, pub.repo, pub.token, "ext-lib", "2.0.0")
        yield pub


class Seeded:
    """A domain with `app → mid → base`, base holding public:npmjs, and packages in three
    formats; a second domain for listings."""

    def __init__(self, srv: Server, tmp: Path):
        self.srv = srv
        self.ca = make_client(srv.endpoint)
        self.domain = unique("con")
        self.other_domain = unique("con2")
        ca = self.ca
        ca.create_domain(domain=self.domain)
        ca.create_domain(domain=self.other_domain)
        ca.create_repository(domain=self.domain, repository="base")
        ca.associate_external_connection(domain=self.domain, repository="base", externalConnection=CONNECTION)
        ca.create_repository(domain=self.domain, repository="side")
        ca.create_repository(domain=self.domain, repository="mid", upstreams=[{"repositoryName": "base"}])
        ca.create_repository(domain=self.domain, repository="app",
                             upstreams=[{"repositoryName": "mid"}, {"repositoryName": "side"}])
        ca.create_package_group(domain=self.domain, packageGroup="/npm/*", description="npm packages")
        ca.create_package_group(domain=self.domain, packageGroup="/npm//widget$")
        self.token = ca.get_authorization_token(domain=self.domain)["authorizationToken"]
        # npm: widget published to mid, read through app (retained there); ext-lib from public.
        npm_publish(srv, self.domain, "mid", self.token, "widget", "1.0.0", readme=HOSTILE_README,
                    dependencies={"ext-lib": "^2.0.0"})
        npm_fetch(srv, self.domain, "app", self.token, "widget", "1.0.0")
        npm_fetch(srv, self.domain, "app", self.token, "ext-lib", "2.0.0")
        # generic, with a hostile name, published to app
        self.generic_bytes = b"console asset bytes\n" * 100
        ca.publish_package_version(domain=self.domain, repository="app", format="generic",
                                   namespace="tools", package=HOSTILE_NAME, packageVersion="1.0",
                                   assetContent=self.generic_bytes, assetName="tool.bin",
                                   assetSHA256=hashlib.sha256(self.generic_bytes).hexdigest())
        # 55 packages in a repository of their own: more than one page
        ca.create_repository(domain=self.domain, repository="many")
        tiny = b"tiny"
        for i in range(55):
            ca.publish_package_version(domain=self.domain, repository="many", format="generic", namespace="bulk",
                                       package=f"p{i:02d}", packageVersion="1", assetContent=tiny,
                                       assetName="t", assetSHA256=hashlib.sha256(tiny).hexdigest())
        # pypi, by twine's upload form
        wheel = pydist.make_wheel(tmp, "con-lib", "0.1.0", summary="console library",
                                  description=HOSTILE_README)
        form, ctype = pypikit.multipart(pypikit.upload_fields(wheel), wheel.name, wheel.read_bytes())
        r = http_request("127.0.0.1", srv.port, "POST", f"/pypi/d/{self.domain}-{ACCOUNT}/app/", form,
                         {"Host": f"127.0.0.1:{srv.port}", "Content-Type": ctype,
                          "Authorization": basic(self.token)})
        assert r.status == 200, r

    def distinct_assets(self) -> set[str]:
        """The SHA-256 of every asset of every version in the domain, as the API lists them."""
        ca, out = self.ca, set()
        for r in ca.list_repositories_in_domain(domain=self.domain)["repositories"]:
            for p in ca.list_packages(domain=self.domain, repository=r["name"])["packages"]:
                coords = {k: p[k] for k in ("format", "namespace", "package") if k in p}
                for v in ca.list_package_versions(domain=self.domain, repository=r["name"], **coords)["versions"]:
                    for a in ca.list_package_version_assets(domain=self.domain, repository=r["name"],
                                                            packageVersion=v["version"], **coords)["assets"]:
                        out.add(a["hashes"]["SHA-256"])
        return out

    def search_order(self, repo: str) -> list[str]:
        """The search order as the control plane describes it: depth first in upstream order,
        each repository once, a repository's external connections after its upstreams."""
        out: list[str] = []
        seen: set[str] = set()

        def visit(name: str) -> None:
            if name in seen:
                return
            seen.add(name)
            out.append(name)
            desc = self.ca.describe_repository(domain=self.domain, repository=name)["repository"]
            for up in desc["upstreams"]:
                visit(up["repositoryName"])
            out.extend(e["externalConnectionName"] for e in desc["externalConnections"])

        visit(repo)
        return out


@pytest.fixture(scope="module")
def seeded(server, tmp_path_factory):  # noqa: F811 (externalkit's server)
    return Seeded(server, tmp_path_factory.mktemp("console-seed"))


@pytest.fixture(scope="module")
def downloads(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("console-downloads")


@pytest.fixture(scope="module")
def browser(downloads):
    for tool in (CHROMIUM, CHROMEDRIVER):
        if not os.access(tool, os.X_OK):
            pytest.fail(f"{tool} is missing: apt-get install chromium chromium-driver", pytrace=False)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1000", "--no-proxy-server", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-default-apps"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {
        "download.default_directory": str(downloads),
        "download.prompt_for_download": False,
        "safebrowsing.enabled": False,
    })
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                           {"behavior": "allow", "downloadPath": str(downloads)})
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def shot(driver, name: str) -> None:
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def url(srv: Server, path: str = "") -> str:
    return f"http://127.0.0.1:{srv.port}{PREFIX}{path}"


def click(driver, text: str) -> None:
    """Follows the link whose text is exactly `text`."""
    links = [a for a in driver.find_elements(By.TAG_NAME, "a") if a.text == text]
    assert links, f"no link '{text}' on {driver.current_url}"
    links[0].click()


def no_script_ran(driver) -> None:
    assert driver.execute_script("return window.__xss === undefined"), "hostile text ran as script"
    try:
        alert = driver.switch_to.alert
        pytest.fail(f"an alert opened: {alert.text}")
    except NoAlertPresentException:
        pass
    # Only our own script tag may exist, and never inside the page's content.
    assert driver.execute_script("return document.querySelectorAll('main script, main img').length") == 0


def get(srv: Server, path: str, headers: dict | None = None, method: str = "GET", body: bytes | None = None):
    return http_request("127.0.0.1", srv.port, method, path, body,
                        {"Host": f"127.0.0.1:{srv.port}", **(headers or {})})


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------


def test_click_through_to_an_asset_and_download_it(server, seeded, browser, downloads):  # noqa: F811
    d = browser
    d.get(url(server))
    assert d.title.startswith("Domains")
    rows = {r.find_element(By.CSS_SELECTOR, "a.domain").text for r in
            d.find_elements(By.CSS_SELECTOR, "#domains tbody tr")}
    assert {seeded.domain, seeded.other_domain} <= rows
    shot(d, "domains")
    click(d, seeded.domain)
    described = seeded.ca.describe_domain(domain=seeded.domain)["domain"]
    assert d.find_element(By.ID, "owner").text == described["owner"] == ACCOUNT
    assert f"({described['assetSizeBytes']} bytes)" in d.find_element(By.ID, "storage").text
    assert int(d.find_element(By.ID, "asset-count").text) == len(seeded.distinct_assets())
    shot(d, "domain")
    click(d, "app")
    click(d, HOSTILE_NAME)
    no_script_ran(d)
    assert d.find_element(By.CSS_SELECTOR, "dd.name").text == HOSTILE_NAME
    click(d, "1.0")
    shot(d, "version-generic")
    row = d.find_element(By.CSS_SELECTOR, "#assets tbody tr")
    expected = seeded.ca.list_package_version_assets(
        domain=seeded.domain, repository="app", format="generic", namespace="tools",
        package=HOSTILE_NAME, packageVersion="1.0")["assets"][0]
    assert row.get_attribute("data-asset") == expected["name"] == "tool.bin"
    assert int(row.find_element(By.CSS_SELECTOR, "td.size").get_attribute("data-bytes")) == expected["size"]
    for css, algo in (("md5", "MD5"), ("sha1", "SHA-1"), ("sha256", "SHA-256"), ("sha512", "SHA-512")):
        assert row.find_element(By.CSS_SELECTOR, f"dd.{css}").text == expected["hashes"][algo], algo
    row.find_element(By.CSS_SELECTOR, "a.download").click()
    target = downloads / "tool.bin"
    deadline = time.monotonic() + 15
    while not target.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert target.exists(), f"no download in {list(downloads.iterdir())}"
    assert target.read_bytes() == seeded.generic_bytes
    assert hashlib.sha256(target.read_bytes()).hexdigest() == expected["hashes"]["SHA-256"]
    no_script_ran(d)


def test_upstream_graph_and_origins_match_the_control_plane(server, seeded, browser):  # noqa: F811
    d = browser
    d.get(url(server, f"d/us-east-1/{ACCOUNT}/{seeded.domain}/r/app"))
    order = [li.text.split(" (external")[0] for li in d.find_elements(By.CSS_SELECTOR, "#search-order li")]
    assert order == seeded.search_order("app") == ["app", "mid", "base", CONNECTION, "side"]
    drawn = [t.text.split(". ", 1)[1] for t in d.find_elements(By.CSS_SELECTOR, "svg.graph g text")]
    assert drawn == order
    assert "--tool npm" in d.find_element(By.ID, "endpoints").text
    held = {a.text for a in d.find_elements(By.CSS_SELECTOR, "#packages a.package")}
    assert {"widget", "ext-lib", HOSTILE_NAME, "con-lib"} <= held, held
    # What each upstream holds, reachable through app.
    for up in ("mid", "base", "side"):
        listed = {p["package"] for p in seeded.ca.list_packages(domain=seeded.domain, repository=up)["packages"]}
        shown = {a.text for a in d.find_elements(By.CSS_SELECTOR, f"table.reachable[data-repository={up}] a.package")}
        assert shown == listed, (up, shown, listed)
    if os.environ.get("CODEARTIFACT_CONSOLE_SCREENSHOT") == "1":
        d.save_screenshot(str(Path(__file__).with_name("console.png")))
    shot(d, "repository")
    # Each version's origin as DescribePackageVersion reports it, in app and in the repository
    # it came from.
    for repo, package, version in (("app", "widget", "1.0.0"), ("mid", "widget", "1.0.0"),
                                   ("app", "ext-lib", "2.0.0"), ("base", "ext-lib", "2.0.0")):
        d.get(url(server, f"d/us-east-1/{ACCOUNT}/{seeded.domain}/r/{repo}/package?format=npm&name={package}"))
        shown = {r.find_element(By.CSS_SELECTOR, "a.version").text: r.find_element(By.CSS_SELECTOR, "td.origin").text
                 for r in d.find_elements(By.CSS_SELECTOR, "#versions tbody tr")}
        origin = seeded.ca.describe_package_version(domain=seeded.domain, repository=repo, format="npm",
                                                    package=package, packageVersion=version)["packageVersion"]["origin"]
        entry = origin["domainEntryPoint"]
        if origin["originType"] == "INTERNAL":
            want = ("Published here" if entry["repositoryName"] == repo
                    else f"Retained from upstream repository {entry['repositoryName']}")
        else:
            held_here = repo == "base"
            want = (f"From external connection {entry['externalConnectionName']}" if held_here
                    else f"Retained from external connection {entry['externalConnectionName']}")
        assert shown == {version: want}, (repo, package, origin)
    # The package group that governs widget, and its origin controls.
    d.get(url(server, f"d/us-east-1/{ACCOUNT}/{seeded.domain}/r/app/package?format=npm&name=widget"))
    group = seeded.ca.get_associated_package_group(domain=seeded.domain, format="npm", package="widget")
    assert d.find_element(By.ID, "package-group").text.startswith(group["packageGroup"]["pattern"])
    controls = seeded.ca.describe_package(domain=seeded.domain, repository="app", format="npm",
                                          package="widget")["package"]["originConfiguration"]["restrictions"]
    assert d.find_element(By.ID, "origin-controls").text == \
        f"publish: {controls['publish']}, upstream: {controls['upstream']}"
    shot(d, "package")


def test_listings_are_paged_on_the_server(server, seeded, browser):  # noqa: F811
    d = browser
    d.get(url(server, f"d/us-east-1/{ACCOUNT}/{seeded.domain}/r/many"))
    first = [a.text for a in d.find_elements(By.CSS_SELECTOR, "#packages a.package")]
    assert len(first) == 50
    click(d, "Next page →")
    rest = [a.text for a in d.find_elements(By.CSS_SELECTOR, "#packages a.package")]
    assert not d.find_elements(By.CSS_SELECTOR, "a[rel=next]")
    listed = [p["package"] for p in seeded.ca.list_packages(domain=seeded.domain, repository="many")["packages"]]
    assert first + rest == sorted(listed) == [f"p{i:02d}" for i in range(55)]


def test_a_readme_holding_script_is_shown_as_text(server, seeded, browser):  # noqa: F811
    d = browser
    d.get(url(server, f"d/us-east-1/{ACCOUNT}/{seeded.domain}/r/mid/package?format=npm&name=widget"))
    click(d, "1.0.0")
    no_script_ran(d)
    assert d.find_element(By.ID, "readme").text.startswith('<script>window.__xss = 1</script><img src="x"')
    deps = [r.text for r in d.find_elements(By.CSS_SELECTOR, "#dependencies tbody tr")]
    assert deps and "ext-lib" in deps[0] and "^2.0.0" in deps[0], deps
    shot(d, "version-readme")
    d.get(url(server, f"d/us-east-1/{ACCOUNT}/{seeded.domain}/r/app/package?format=pypi&name=con-lib"))
    click(d, "0.1.0")
    no_script_ran(d)
    assert "<script>window.__xss = 1</script>" in d.find_element(By.ID, "readme").text
    assert d.find_element(By.ID, "summary").text == "console library"


def test_package_groups_tree_search_and_live_events(server, seeded, browser):  # noqa: F811
    d = browser
    d.get(url(server, f"d/us-east-1/{ACCOUNT}/{seeded.domain}"))
    tree = d.find_element(By.CSS_SELECTOR, "ul.tree > li.group[data-pattern='/*']")
    npm = tree.find_element(By.CSS_SELECTOR, ":scope > ul > li.group[data-pattern='/npm/*']")
    npm.find_element(By.CSS_SELECTOR, ":scope > ul > li.group[data-pattern='/npm//widget$']")
    box = d.find_element(By.CSS_SELECTOR, "form.search input[name=q]")
    box.send_keys("idg")
    box.submit()
    WebDriverWait(d, 10).until(lambda drv: "/search" in drv.current_url)
    found = [r.text for r in d.find_elements(By.CSS_SELECTOR, "#results a.package")]
    assert sorted(found) == ["widget", "widget"], found  # held by mid, retained by app
    # The live event list: a publish while the page is open shows up without a reload.
    d.get(url(server, "events"))
    WebDriverWait(d, 10).until(lambda drv: drv.find_element(By.ID, "events-status").text.startswith("Live"))
    npm_publish(server, seeded.domain, "mid", seeded.token, "widget", "1.1.0")
    WebDriverWait(d, 15).until(lambda drv: any(
        "widget" in r.text and "1.1.0" in r.text for r in drv.find_elements(By.CSS_SELECTOR, "#events tbody tr")))
    shot(d, "events")


def test_unknown_names_are_404_pages_and_the_console_only_reads(server, seeded):  # noqa: F811
    base = f"{PREFIX}d/us-east-1/{ACCOUNT}/{seeded.domain}"
    for path in (f"{PREFIX}d/us-east-1/{ACCOUNT}/no-such-domain",
                 f"{base}/r/no-such-repo",
                 f"{base}/r/app/package?format=npm&name=no-such-package",
                 f"{base}/r/app/version?format=npm&name=widget&version=9.9.9",
                 f"{base}/r/app/asset?format=npm&name=widget&version=1.0.0&asset=..%2F..%2Fetc%2Fpasswd",
                 f"{base}/r/app/package?format=nosuchformat&name=x",
                 f"{PREFIX}..%2F..%2Fetc%2Fpasswd",
                 f"{PREFIX}d/%2E%2E/%2E%2E/%2E%2E/%2E%2E"):
        r = get(server, path)
        assert r.status == 404, (path, r.status)
        assert r.headers["Content-Type"].startswith("text/html")
        assert b"Not found" in r.body and b"root:" not in r.body
    for method in ("POST", "PUT", "DELETE"):
        assert get(server, f"{base}/r/app", method=method, body=b"").status == 405
    # Open without credentials only under a loopback name (no DNS rebinding).
    assert get(server, PREFIX, {"Host": f"attacker.example:{server.port}"}).status == 403
    assert get(server, PREFIX, {"Host": f"localhost:{server.port}"}).status == 200
    # The repository page shows the hostile package name, escaped.
    r = get(server, f"{base}/r/app")
    assert r.status == 200 and b"<script>window.__xss" not in r.body
    assert "&quot;&gt;&lt;script&gt;window.__xss=3&lt;".encode() in r.body


@pytest.fixture(scope="module")
def exposed(tmp_path_factory):
    """A server listening on every interface (so not loopback only), reached over 127.0.0.1."""
    base = tmp_path_factory.mktemp("console-exposed")
    srv = Server(base / "data", base / "server.log").start(listen="0.0.0.0:0")
    srv.address = f"127.0.0.1:{srv.port}"
    own = make_client(srv.endpoint)
    other = make_client(srv.endpoint, OTHER_ACCESS_KEY, OTHER_SECRET_KEY)
    srv.domains = {"own": unique("own"), "other": unique("oth")}
    own.create_domain(domain=srv.domains["own"])
    other.create_domain(domain=srv.domains["other"])
    srv.own = own
    yield srv
    srv.terminate()


def test_beyond_loopback_an_identity_signs_in_and_sees_only_its_own(exposed, browser):
    d = browser
    r = get(exposed, PREFIX)
    assert r.status == 401 and b"Sign in" in r.body
    d.delete_all_cookies()
    d.get(url(exposed))
    assert d.title.startswith("Sign in")
    d.find_element(By.NAME, "access_key_id").send_keys(OTHER_ACCESS_KEY)
    d.find_element(By.NAME, "secret_access_key").send_keys("wrong-secret")
    d.find_element(By.CSS_SELECTOR, "form.login button").click()
    assert "match no configured identity" in d.find_element(By.CSS_SELECTOR, "p.error").text
    d.find_element(By.NAME, "access_key_id").send_keys(OTHER_ACCESS_KEY)
    d.find_element(By.NAME, "secret_access_key").send_keys(OTHER_SECRET_KEY)
    d.find_element(By.CSS_SELECTOR, "form.login button").click()
    WebDriverWait(d, 10).until(lambda drv: drv.title.startswith("Domains"))
    shown = [a.text for a in d.find_elements(By.CSS_SELECTOR, "#domains a.domain")]
    assert shown == [exposed.domains["other"]], shown  # not account 000000000000's domain
    assert OTHER_ACCOUNT in d.find_element(By.CSS_SELECTOR, "span.who").text
    shot(d, "signed-in")
    cookie = d.get_cookie("codeartifact_console")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict" and cookie["path"] == PREFIX
    assert time.time() < cookie["expiry"] <= time.time() + 8 * 3600 + 60
    # The other account's domain, asked for by URL: refused, not shown.
    r = get(exposed, f"{PREFIX}d/us-east-1/{ACCOUNT}/{exposed.domains['own']}",
            {"Cookie": f"codeartifact_console={cookie['value']}"})
    assert r.status == 403, r.status
    # A domain policy granting the other account DescribeDomain (only) makes the domain
    # visible to it, as DescribeDomain would be; its repositories stay hidden.
    exposed.own.put_domain_permissions_policy(
        domain=exposed.domains["own"], policyDocument=allow_policy(OTHER_ACCOUNT, "codeartifact:DescribeDomain"))
    d.refresh()
    shown = sorted(a.text for a in d.find_elements(By.CSS_SELECTOR, "#domains a.domain"))
    assert shown == sorted(exposed.domains.values()), shown
    click(d, exposed.domains["own"])
    assert "You may not list this domain's repositories." in d.find_element(By.TAG_NAME, "main").text
    assert "You may not read this policy." in d.find_element(By.TAG_NAME, "main").text
    # A cookie altered in any way signs nobody in.
    key, expiry, mac = cookie["value"].split(".")
    for forged in (f"{key}.{int(expiry) + 3600}.{mac}", f"{key}.{expiry}.{mac[:-1]}{'0' if mac[-1] != '0' else '1'}",
                   f"{b'test'.hex()}.{expiry}.{mac}"):
        assert get(exposed, PREFIX, {"Cookie": f"codeartifact_console={forged}"}).status == 401
    d.find_element(By.CSS_SELECTOR, "form.logout button").click()
    WebDriverWait(d, 10).until(lambda drv: drv.title.startswith("Sign in"))


def test_no_console_turns_it_off(tmp_path):
    srv = Server(tmp_path / "data", tmp_path / "server.log", ["--no-console"]).start()
    try:
        for path in (PREFIX, f"{PREFIX}events", f"{PREFIX}assets/style.css", f"{PREFIX}login"):
            assert get(srv, path).status == 404, path
    finally:
        srv.terminate()
    env_srv = Server(tmp_path / "data2", tmp_path / "server2.log")
    os.environ["CODEARTIFACT_LOCAL_NO_CONSOLE"] = "true"
    try:
        env_srv.start()
    finally:
        del os.environ["CODEARTIFACT_LOCAL_NO_CONSOLE"]
    try:
        assert get(env_srv, PREFIX).status == 404
    finally:
        env_srv.terminate()
