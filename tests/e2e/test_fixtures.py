"""CI fixtures (issue 16): the declarative seed (`--seed`) and state snapshots.

1. A YAML seed with two domains (the second owned by another account), an upstream chain
   ending in an external connection, package groups with origin configuration, an origin
   control, and packages in six formats built here with the kits: the control plane shows
   exactly that state, and real `npm install`, `pip install`, `mvn dependency:get` and
   `cargo fetch` resolve the packages through the chain.
2. Applying the same seed again changes nothing; a seed that conflicts with the state, breaks
   the schema, names what AWS refuses, has an upstream cycle or a missing file stops start-up
   with the entry's path (and line), and leaves nothing half-applied.
3. Snapshots: saved by the running server while 8 publishers write, loaded into a fresh data
   directory, every version acknowledged before the save is there with its bytes and nothing
   half-written is; bad archives are refused leaving the target as it was; the reset route
   empties or restores state and refuses a repository token.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import subprocess
import tarfile
import threading
import zipfile
from pathlib import Path

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

import cargokit
import mavenkit
import npmkit
import pydist
import rubykit
from conftest import (ACCESS_KEY, ACCOUNT, OTHER_ACCESS_KEY, OTHER_ACCOUNT, OTHER_SECRET_KEY, REGION,
                      SECRET_KEY, Server, basic, http_request, server_binary, sha256_of)
from pypikit import Pip

OTHER = f"{OTHER_ACCESS_KEY}:{OTHER_SECRET_KEY}:{OTHER_ACCOUNT}"
POLICY = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    "Action": "codeartifact:ReadFromRepository", "Resource": "*"}]}


def client(server: Server, key: str = ACCESS_KEY, secret: str = SECRET_KEY):
    return boto3.client("codeartifact", region_name=REGION, endpoint_url=server.endpoint,
                        aws_access_key_id=key, aws_secret_access_key=secret,
                        config=Config(retries={"max_attempts": 1}))


def admin(server: Server, route: str, body: bytes = b"", headers: dict | None = None, sign: bool = True):
    """POST /_codeartifact/{route}, SigV4-signed as the default identity."""
    target = f"/_codeartifact/{route}"
    hdrs = {"Host": server.address, "x-amz-content-sha256": hashlib.sha256(body).hexdigest()}
    hdrs.update(headers or {})
    if sign:
        req = AWSRequest(method="POST", url=f"http://{server.address}{target}", data=body, headers=dict(hdrs))
        SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "codeartifact", REGION).add_auth(req)
        hdrs = dict(req.headers.items())
    return http_request(server.host, server.port, "POST", target, body, hdrs, timeout=120)


def run_binary(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([str(server_binary()), *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def start_fails(tmp: Path, data_dir: Path, seed: Path, *extra: str) -> str:
    """Starts the server with a seed that must stop start-up; its error output."""
    p = run_binary("--listen", "127.0.0.1:0", "--data-dir", str(data_dir), "--seed", str(seed),
                   "--identities", OTHER, *extra)
    assert p.returncode != 0, f"the server started with a bad seed:\n{p.stderr[-3000:]}"
    assert " ready " not in p.stderr
    return p.stderr


def cargo_fetch(tmp: Path, server: Server, domain: str, repo: str, token: str, name: str, version: str) -> bytes:
    """`cargo fetch` of a project depending on `name = version` from the repository; the
    `.crate` cargo downloaded."""
    cargokit.require_cargo()
    home = cargokit.CargoHome(tmp / "cargo", f"{server.endpoint}/cargo/d/{domain}-{ACCOUNT}/{repo}/",
                              server.port, token, log=server.log)
    project = cargokit.write_package(tmp / "cargo" / "consumer",
                                     '[package]\nname = "consumer"\nversion = "0.1.0"\nedition = "2021"\n\n'
                                     f'[dependencies]\n{name} = {{ version = "={version}", registry = "ca" }}\n',
                                     {"src/main.rs": f"fn main() {{ {name}::hi(); }}\n"})
    home.run("fetch", cwd=project)
    cached = list((home.cargo_home / "registry" / "cache").rglob(f"{name}-{version}.crate"))
    assert cached, f"cargo fetched no {name} {version}"
    return cached[0].read_bytes()


def jar() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
        z.writestr("com/acme/Lib.txt", "seeded\n")
    return buf.getvalue()


def seed_yaml(files: dict[str, str]) -> str:
    return f"""# a complete seed, in YAML
version: 1
domains:
  - name: acme
    tags: {{team: build, cost-center: "42"}}
    policy: {json.dumps(POLICY)}
    repositories:
      - name: store
        description: Public packages
        externalConnection: "public:npmjs"
      - name: base
        description: Released packages
        tags: {{tier: gold}}
      - name: team
        description: What builds install from
        upstreams: [base, store]
        policy: {json.dumps(POLICY)}
    packageGroups:
      - pattern: /npm/acme/*
        description: The acme scope
        contactInfo: build@example.com
        tags: {{owner: build}}
        originConfiguration:
          externalUpstream: BLOCK
          publish: ALLOW_SPECIFIC_REPOSITORIES
          allowedRepositories:
            publish: [base]
    packages:
      - repository: base
        format: npm
        files: [{files['npm_old']}, {files['npm_scoped']}, {files['npm']}]
      - repository: base
        format: pypi
        files: [{files['wheel']}, {files['sdist']}]
      - repository: base
        format: cargo
        files: [{files['crate']}]
      - repository: base
        format: ruby
        files: [{files['gem']}]
        status: Archived
      - repository: base
        format: maven
        namespace: com.acme
        package: seeded-lib
        version: "1.0"
        files: [{files['jar']}, {files['pom']}]
      - repository: base
        format: generic
        namespace: tools
        package: notes
        version: "1"
        files: [{files['generic']}]
        status: Unlisted
    originControls:
      - {{repository: team, format: npm, package: left-pad-seeded, publish: BLOCK, upstream: ALLOW}}
  - name: beta
    owner: "{OTHER_ACCOUNT}"
    encryptionKey: arn:aws:kms:us-east-1:{OTHER_ACCOUNT}:key/seeded
    repositories:
      - name: only
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("fixtures")
    files_dir = root / "seed-files"
    files_dir.mkdir()
    built: dict[str, bytes] = {
        "left-pad-seeded-1.1.0.tgz": npmkit.tarball("left-pad-seeded", "1.1.0"),
        "left-pad-seeded-1.0.0.tgz": npmkit.tarball("left-pad-seeded", "1.0.0"),
        "scoped-2.0.0.tgz": npmkit.tarball("@acme/scoped", "2.0.0"),
        "seeded_crate-0.1.0.crate": cargokit.crate_bytes("seeded_crate", "0.1.0", "pub fn hi() {}\n"),
        "seeded-gem-1.0.0.gem": rubykit.gem_bytes("seeded-gem", "1.0.0"),
        "seeded-lib-1.0.jar": jar(),
        "seeded-lib-1.0.pom": mavenkit.pom_xml("com.acme", "seeded-lib", "1.0", description="Seeded"),
        "notes.txt": b"seeded notes\n",
    }
    for name, data in built.items():
        (files_dir / name).write_bytes(data)
    wheel = pydist.make_wheel(files_dir, "seeded-lib", "1.0", summary="A seeded library")
    sdist = pydist.make_sdist(files_dir, "seeded-lib", "1.0", summary="A seeded library")
    built[wheel.name] = wheel.read_bytes()
    built[sdist.name] = sdist.read_bytes()
    files = {"npm": "seed-files/left-pad-seeded-1.1.0.tgz", "npm_old": "seed-files/left-pad-seeded-1.0.0.tgz",
             "npm_scoped": "seed-files/scoped-2.0.0.tgz", "wheel": f"seed-files/{wheel.name}",
             "sdist": f"seed-files/{sdist.name}", "crate": "seed-files/seeded_crate-0.1.0.crate",
             "gem": "seed-files/seeded-gem-1.0.0.gem", "jar": "seed-files/seeded-lib-1.0.jar",
             "pom": "seed-files/seeded-lib-1.0.pom", "generic": "seed-files/notes.txt"}
    seed = root / "seed.yaml"
    seed.write_text(seed_yaml(files))
    data_dir = root / "data"
    server = Server(data_dir, root / "server.log", ["--seed", str(seed)]).start()
    state = {"root": root, "seed": seed, "server": server, "data_dir": data_dir, "files": built,
             "wheel": wheel.name, "sdist": sdist.name}
    yield state
    # tests restart the server: stop the one running now (and the first, if still up)
    state["server"].kill()
    server.kill()


def versions(ca, domain, repo, fmt, package, namespace=None, owner=ACCOUNT):
    kw = {"namespace": namespace} if namespace else {}
    out = ca.list_package_versions(domain=domain, domainOwner=owner, repository=repo, format=fmt,
                                   package=package, **kw)
    return {v["version"]: v["status"] for v in out["versions"]}


# --------------------------------------------------------------------------------------------
# 1. The seeded state, through the control plane and the package managers
# --------------------------------------------------------------------------------------------


def test_the_control_plane_shows_the_seeded_state(site):
    server = site["server"]
    ca = client(server)
    assert "seed applied" in server.log()
    d = ca.describe_domain(domain="acme")["domain"]
    assert d["owner"] == ACCOUNT and d["repositoryCount"] == 3
    tags = ca.list_tags_for_resource(resourceArn=d["arn"])["tags"]
    assert {t["key"]: t["value"] for t in tags} == {"team": "build", "cost-center": "42"}
    assert json.loads(ca.get_domain_permissions_policy(domain="acme")["policy"]["document"]) == POLICY
    repos = {r["name"]: r for r in ca.list_repositories_in_domain(domain="acme")["repositories"]}
    assert set(repos) == {"store", "base", "team"}
    team = ca.describe_repository(domain="acme", repository="team")["repository"]
    assert [u["repositoryName"] for u in team["upstreams"]] == ["base", "store"]
    assert team["description"] == "What builds install from"
    store = ca.describe_repository(domain="acme", repository="store")["repository"]
    assert [c["externalConnectionName"] for c in store["externalConnections"]] == ["public:npmjs"]
    base_tags = ca.list_tags_for_resource(resourceArn=repos["base"]["arn"])["tags"]
    assert base_tags == [{"key": "tier", "value": "gold"}]
    assert json.loads(ca.get_repository_permissions_policy(domain="acme", repository="team")
                      ["policy"]["document"]) == POLICY
    group = ca.describe_package_group(domain="acme", packageGroup="/npm/acme/*")["packageGroup"]
    assert group["description"] == "The acme scope" and group["contactInfo"] == "build@example.com"
    restrictions = group["originConfiguration"]["restrictions"]
    assert restrictions["EXTERNAL_UPSTREAM"]["mode"] == "BLOCK"
    assert restrictions["PUBLISH"]["mode"] == "ALLOW_SPECIFIC_REPOSITORIES"
    allowed = ca.list_allowed_repositories_for_group(domain="acme", packageGroup="/npm/acme/*",
                                                     originRestrictionType="PUBLISH")["allowedRepositories"]
    assert allowed == ["base"]
    # packages: name and version read from each file by the format's publish route
    assert versions(ca, "acme", "base", "npm", "left-pad-seeded") == {"1.0.0": "Published", "1.1.0": "Published"}
    assert versions(ca, "acme", "base", "npm", "scoped", "acme") == {"2.0.0": "Published"}
    assert versions(ca, "acme", "base", "pypi", "seeded-lib") == {"1.0": "Published"}
    assets = ca.list_package_version_assets(domain="acme", repository="base", format="pypi",
                                            package="seeded-lib", packageVersion="1.0")["assets"]
    assert {a["name"]: a["hashes"]["SHA-256"] for a in assets} == {
        n: sha256_of(site["files"][n]) for n in (site["wheel"], site["sdist"])}
    summary = ca.describe_package_version(domain="acme", repository="base", format="pypi", package="seeded-lib",
                                          packageVersion="1.0")["packageVersion"]
    assert summary.get("summary") == "A seeded library"
    assert versions(ca, "acme", "base", "cargo", "seeded_crate") == {"0.1.0": "Published"}
    assert versions(ca, "acme", "base", "ruby", "seeded-gem") == {"1.0.0": "Archived"}
    assert versions(ca, "acme", "base", "maven", "seeded-lib", "com.acme") == {"1.0": "Published"}
    assert versions(ca, "acme", "base", "generic", "notes", "tools") == {"1": "Unlisted"}
    pkg = ca.describe_package(domain="acme", repository="team", format="npm", package="left-pad-seeded")["package"]
    assert pkg["originConfiguration"]["restrictions"] == {"publish": "BLOCK", "upstream": "ALLOW"}
    # the second domain belongs to the other account, created as that account
    other = client(server, OTHER_ACCESS_KEY, OTHER_SECRET_KEY)
    beta = other.describe_domain(domain="beta")["domain"]
    assert beta["owner"] == OTHER_ACCOUNT
    assert beta["encryptionKey"] == f"arn:aws:kms:us-east-1:{OTHER_ACCOUNT}:key/seeded"
    assert [r["name"] for r in other.list_repositories_in_domain(domain="beta")["repositories"]] == ["only"]


def test_package_managers_resolve_the_seeded_packages_through_the_chain(site, tmp_path):
    server = site["server"]
    ca = client(server)
    token = ca.get_authorization_token(domain="acme")["authorizationToken"]
    base_url = f"{server.endpoint}"
    # npm: install through team → base
    npmkit.require_npm()
    home = tmp_path / "npm-home"
    home.mkdir()
    npm = npmkit.login(base_url, home, "acme", "team")
    project = npmkit.make_project(tmp_path, "consumer", {"left-pad-seeded": "^1.0.0", "@acme/scoped": "2.0.0"})
    res = npm("install", "--no-audit", "--no-fund", cwd=project)
    assert res.returncode == 0, res.stderr[-3000:]
    installed = json.loads((project / "node_modules" / "left-pad-seeded" / "package.json").read_text())
    assert installed["version"] == "1.1.0"
    assert (project / "node_modules" / "@acme" / "scoped" / "package.json").exists()
    # pip: install through team
    index = f"http://aws:{token}@{server.address}/pypi/d/acme-{ACCOUNT}/team/simple/"
    pip_home = tmp_path / "pip-home"
    pip_home.mkdir()
    pip = Pip(pip_home, index, server.port)
    target = pip.new_target()
    pip.install(target, "seeded-lib==1.0")
    assert any(p.name.startswith("seeded_lib-1.0") for p in target.iterdir()), list(target.iterdir())
    # mvn dependency:get through team
    mavenkit.require_maven()
    mvn = mavenkit.Mvn(tmp_path / "mvn", f"{server.endpoint}/maven/d/acme-{ACCOUNT}/team/", token,
                       server_log=server.log)
    mvn.get("com.acme:seeded-lib:1.0", transitive=False)
    got = mvn.local_file("com.acme", "seeded-lib", "1.0", "seeded-lib-1.0.jar")
    assert got.read_bytes() == site["files"]["seeded-lib-1.0.jar"]
    # cargo fetch through team
    assert cargo_fetch(tmp_path, server, "acme", "team", token, "seeded_crate", "0.1.0") == \
        site["files"]["seeded_crate-0.1.0.crate"]


# --------------------------------------------------------------------------------------------
# 2. Idempotence, conflicts, bad seeds
# --------------------------------------------------------------------------------------------


def all_versions(ca) -> dict:
    out = {}
    for d in ca.list_domains()["domains"]:
        for r in ca.list_repositories_in_domain(domain=d["name"], domainOwner=d["owner"])["repositories"]:
            for p in ca.list_packages(domain=d["name"], domainOwner=d["owner"], repository=r["name"])["packages"]:
                kw = {"namespace": p["namespace"]} if p.get("namespace") else {}
                vs = ca.list_package_versions(domain=d["name"], domainOwner=d["owner"], repository=r["name"],
                                              format=p["format"], package=p["package"], **kw)["versions"]
                for v in vs:
                    out[(d["name"], r["name"], p["format"], p.get("namespace"), p["package"], v["version"])] = (
                        v["status"], v["revision"])
    return out


def test_applying_the_seed_again_changes_nothing(site):
    server = site["server"]
    before = all_versions(client(server))
    server.terminate()
    again = Server(site["data_dir"], site["root"] / "again.log",
                   ["--seed", str(site["seed"])]).start()
    try:
        line = next(ln for ln in again.log().splitlines() if "seed applied" in ln)
        assert "changed=0" in line, line
        assert all_versions(client(again)) == before
    finally:
        again.terminate()
    site["server"] = Server(site["data_dir"], site["root"] / "server2.log",
                            []).start()


def test_conflicts_and_bad_seeds_stop_start_up_naming_the_entry(site, tmp_path):
    text = site["seed"].read_text()
    data_dir = tmp_path / "data"

    def seed(body: str, name: str = "seed.yaml") -> Path:
        path = site["root"] / f"bad-{tmp_path.name}-{name}"
        path.write_text(body)
        return path

    site["server"].terminate()
    try:
        # a conflict with the state: the entry's path, its line, and the difference
        err = start_fails(tmp_path, site["data_dir"],
                          seed(text.replace("description: What builds install from", "description: Other")))
        assert "$.domains[0].repositories[2].description" in err, err
        assert "exists with description" in err and "line 15" in err, err
        # a different file for a version that exists
        changed = npmkit.tarball("left-pad-seeded", "1.1.0", "changed")
        (site["root"] / "seed-files" / "changed.tgz").write_bytes(changed)
        err = start_fails(tmp_path, site["data_dir"], seed(text.replace(
            "seed-files/left-pad-seeded-1.1.0.tgz", "seed-files/changed.tgz")))
        assert "$.domains[0].packages[0].files[2]" in err and "other content" in err, err
    finally:
        site["server"] = Server(site["data_dir"], site["root"] / "server3.log", []).start()
    # schema errors, with the path and the YAML line
    err = start_fails(tmp_path, data_dir, seed("version: 1\ndomains:\n  - name: acme\n    repositories:\n"
                                               "      - name: a\n        upstreem: [b]\n"))
    assert "line 6 at $.domains[0].repositories[0].upstreem" in err and "unknown field" in err, err
    err = start_fails(tmp_path, data_dir, seed("version: 1\ndomains:\n  - name: acme\n    owner: 000000000000\n"))
    assert "$.domains[0].owner" in err, err
    err = start_fails(tmp_path, data_dir, seed('{"version": 1, "domains": [', "seed.json"))
    assert "not valid JSON" in err, err
    err = start_fails(tmp_path, data_dir, seed("version: 1\ndomains: [ {name: x\n"))
    assert "not valid YAML" in err, err
    # names AWS refuses, cycles, missing files, an account nobody is configured for
    err = start_fails(tmp_path, data_dir, seed("version: 1\ndomains:\n  - name: Bad_Name\n"))
    assert "$.domains[0].name" in err and "not a domain name" in err, err
    err = start_fails(tmp_path, data_dir, seed(
        "version: 1\ndomains:\n  - name: cyc\n    repositories:\n      - {name: ra, upstreams: [rb]}\n"
        "      - {name: rb, upstreams: [ra]}\n"))
    assert "cycle: ra -> rb -> ra" in err, err
    err = start_fails(tmp_path, data_dir, seed(
        "version: 1\ndomains:\n  - name: miss\n    repositories: [{name: r1}]\n    packages:\n"
        "      - {repository: r1, format: npm, files: [nowhere.tgz]}\n"))
    assert "$.domains[0].packages[0].files[0]" in err and "nowhere.tgz" in err, err
    err = start_fails(tmp_path, data_dir, seed("version: 1\ndomains:\n  - name: acct\n    owner: '222233334444'\n"))
    assert "no configured identity belongs to account 222233334444" in err, err
    # the service's own refusal, named: an external connection that does not exist
    err = start_fails(tmp_path, data_dir, seed(
        "version: 1\ndomains:\n  - name: ext\n    repositories: [{name: r1, externalConnection: 'public:nope'}]\n"))
    assert "$.domains[0].repositories[0].externalConnection" in err and "AssociateExternalConnection" in err, err
    # the checks that need no state ran before anything was written
    probe = Server(tmp_path / "data", tmp_path / "probe.log").start()
    try:
        names = {d["name"] for d in client(probe).list_domains()["domains"]}
        assert names <= {"ext"}, names
    finally:
        probe.terminate()


# --------------------------------------------------------------------------------------------
# 3. Snapshots
# --------------------------------------------------------------------------------------------


def publish_generic(ca, repo: str, package: str, version: str, data: bytes):
    return ca.publish_package_version(domain="acme", repository=repo, format="generic", namespace="load",
                                      package=package, packageVersion=version, assetName="a.bin",
                                      assetContent=data, assetSHA256=hashlib.sha256(data).hexdigest())


def test_snapshot_while_eight_publishers_write_then_load_on_a_fresh_data_dir(site, tmp_path):
    server = site["server"]
    stop = threading.Event()
    acked: dict[tuple[str, str], tuple[float, bytes]] = {}
    lock = threading.Lock()

    def publisher(n: int):
        ca = client(server)
        i = 0
        while not stop.is_set():
            data = f"publisher {n} version {i}\n".encode() * (1 + i % 50)
            publish_generic(ca, "base", f"p{n}", f"{i}", data)
            with lock:
                acked[(f"p{n}", f"{i}")] = (_dt.datetime.now().timestamp(), data)
            i += 1

    threads = [threading.Thread(target=publisher, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    try:
        import time
        time.sleep(1.5)
        started = _dt.datetime.now().timestamp()
        answer = admin(server, "snapshot")
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert answer.status == 200, answer
    archive = tmp_path / "snap.tar"
    archive.write_bytes(answer.body)
    before = {k: data for k, (when, data) in acked.items() if when < started}
    assert len(before) >= 8, len(before)
    # the CLI loads it into a fresh data directory, and a server starts on it
    fresh = tmp_path / "fresh"
    p = run_binary("--data-dir", str(fresh), "snapshot", "load", str(archive))
    assert p.returncode == 0, p.stderr
    loaded = Server(fresh, tmp_path / "loaded.log", []).start()
    try:
        ca = client(loaded)
        for (package, version), data in before.items():
            got = ca.get_package_version_asset(domain="acme", repository="base", format="generic",
                                               namespace="load", package=package, packageVersion=version,
                                               asset="a.bin")["asset"].read()
            assert got == data, (package, version)
        # nothing half-written: every version present is complete, with its bytes
        for n in range(8):
            present = versions(ca, "acme", "base", "generic", f"p{n}", "load")
            for version, status in present.items():
                assert status == "Published", (n, version, status)
                got = ca.get_package_version_asset(domain="acme", repository="base", format="generic",
                                                   namespace="load", package=f"p{n}", packageVersion=version,
                                                   asset="a.bin")["asset"].read()
                assert got == acked[(f"p{n}", version)][1]
        # and the seeded state came along
        assert versions(ca, "acme", "base", "ruby", "seeded-gem") == {"1.0.0": "Archived"}
    finally:
        loaded.terminate()
    site["archive"] = archive


def test_bad_snapshots_are_refused_and_leave_the_data_dir_as_it_was(site, tmp_path):
    archive: Path = site.get("archive") or pytest.skip("needs the snapshot of the previous test")
    data = archive.read_bytes()
    target = tmp_path / "target"

    def load(blob: bytes, *extra: str) -> subprocess.CompletedProcess:
        bad = tmp_path / f"bad-{hashlib.sha256(blob).hexdigest()[:8]}.tar"
        bad.write_bytes(blob)
        return run_binary("--data-dir", str(target), "snapshot", "load", str(bad), *extra)

    # Cut at several places (inside the records, inside a blob, between entries): each is said
    # to be truncated, never taken for corruption, and nothing is written.
    for cut in sorted({len(data) // 5, len(data) // 3, len(data) // 2, 2 * len(data) // 3, len(data) - 2048}):
        p = load(data[:cut])
        assert p.returncode != 0 and ("truncated" in p.stderr or "not a readable archive" in p.stderr), \
            (cut, p.stderr)
        assert not target.exists()
    # a corrupt blob: one byte of the first blob flipped
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        member = next(m for m in tar.getmembers() if m.name.startswith("blobs/"))
        offset = member.offset_data
    corrupt = bytearray(data)
    corrupt[offset] ^= 0x01
    p = load(bytes(corrupt))
    assert p.returncode != 0 and "corrupt" in p.stderr and member.name in p.stderr, p.stderr
    assert not target.exists()
    # a newer snapshot version
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
        manifest["version"] = 99
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w") as new:
            body = json.dumps(manifest).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(body)
            new.addfile(info, io.BytesIO(body))
            for m in tar.getmembers()[1:]:
                new.addfile(m, tar.extractfile(m))
    p = load(out.getvalue())
    assert p.returncode != 0 and "version 99, newer than this build reads" in p.stderr, p.stderr
    assert not target.exists()
    # a data directory with state is refused, then replaced with --force
    target.mkdir()
    (target / "keep").write_text("x")
    p = load(data)
    assert p.returncode != 0 and "not empty" in p.stderr and "--force" in p.stderr, p.stderr
    assert (target / "keep").read_text() == "x"
    p = load(data, "--force")
    assert p.returncode == 0, p.stderr
    assert not (target / "keep").exists() and (target / "metadata").exists()
    # --load-snapshot at start-up refuses the same way, then starts on it with --snapshot-force
    p = run_binary("--listen", "127.0.0.1:0", "--data-dir", str(target), "--load-snapshot", str(archive))
    assert p.returncode != 0 and "not empty" in p.stderr, p.stderr[-2000:]
    srv = Server(target, tmp_path / "force.log", ["--load-snapshot", str(archive), "--snapshot-force"]).start()
    try:
        assert versions(client(srv), "acme", "base", "cargo", "seeded_crate") == {"0.1.0": "Published"}
    finally:
        srv.terminate()


def test_reset_empties_or_restores_and_is_never_reachable_with_a_token(site):
    server = site["server"]
    archive: Path = site.get("archive") or pytest.skip("needs the snapshot of the previous test")
    ca = client(server)
    token = ca.get_authorization_token(domain="acme")["authorizationToken"]
    # a repository token is not a signature: refused on both admin routes
    for route in ("snapshot", "reset"):
        for headers in ({"Authorization": f"Bearer {token}"}, {"Authorization": basic(token)}, {}):
            r = admin(server, route, sign=False, headers=headers)
            assert r.status in (400, 401, 403) and r.error_type, r
    assert ca.list_domains()["domains"], "a refused reset changed the state"
    # a reset restores a snapshot…
    ca.create_domain(domain="scratch")
    r = admin(server, "reset", archive.read_bytes(), headers={"Content-Type": "application/x-tar"})
    assert r.status == 200, r
    names = {d["name"] for d in ca.list_domains()["domains"]}
    assert "scratch" not in names and {"acme"} <= names
    assert versions(ca, "acme", "base", "npm", "left-pad-seeded") == {"1.0.0": "Published", "1.1.0": "Published"}
    npm_url = f"/npm/d/acme-{ACCOUNT}/team/left-pad-seeded/-/left-pad-seeded-1.1.0.tgz"
    got = http_request(server.host, server.port, "GET", npm_url, None,
                       {"Host": server.address, "Authorization": f"Bearer {token}"})
    assert got.status == 200 and got.body == site["files"]["left-pad-seeded-1.1.0.tgz"]
    # … and without a body empties the state
    r = admin(server, "reset")
    assert r.status == 200, r
    assert ca.list_domains()["domains"] == []
    # a corrupt body is refused and changes nothing
    ca.create_domain(domain="kept")
    r = admin(server, "reset", archive.read_bytes()[:4096])
    assert r.status == 400, r
    assert [d["name"] for d in ca.list_domains()["domains"]] == ["kept"]


# --------------------------------------------------------------------------------------------
# 4. External connections to local directories
# --------------------------------------------------------------------------------------------


def test_external_connections_to_local_directories(tmp_path):
    npm_dir, pypi_dir, m2 = tmp_path / "npm-cache", tmp_path / "wheels", tmp_path / "m2" / "repository"
    (npm_dir / "nested").mkdir(parents=True)
    pypi_dir.mkdir()
    (npm_dir / "public-dep-3.0.0.tgz").write_bytes(npmkit.tarball("public-dep", "3.0.0"))
    (npm_dir / "nested" / "whatever-name.tgz").write_bytes(npmkit.tarball("public-dep", "3.1.0"))
    (npm_dir / "README.txt").write_text("not a package")
    wheel = pydist.make_wheel(pypi_dir, "public-lib", "2.0")
    # a local Maven repository as mvn leaves it: no maven-metadata.xml, no .sha1
    version_dir = m2 / "org" / "public" / "plib" / "2.0"
    version_dir.mkdir(parents=True)
    (version_dir / "plib-2.0.pom").write_bytes(mavenkit.pom_xml("org.public", "plib", "2.0"))
    (version_dir / "plib-2.0.jar").write_bytes(jar())
    (version_dir / "_remote.repositories").write_text("# written by mvn\n")
    # cargo's registry cache: .crate files
    crates = tmp_path / "cargo-cache" / "index.example-1234"
    crates.mkdir(parents=True)
    crate = cargokit.crate_bytes("public_crate", "0.2.0", "pub fn hi() {}\n")
    (crates / "public_crate-0.2.0.crate").write_bytes(crate)
    # a folder of gems, built by `gem build`
    rubykit.require_ruby()
    gems = tmp_path / "gems-cache"
    gems.mkdir()
    built_gem = rubykit.build_gem(tmp_path, "public-gem", "1.2.0")
    (gems / built_gem.name).write_bytes(built_gem.read_bytes())
    seed = tmp_path / "seed.yaml"
    seed.write_text("""version: 1
domains:
  - name: air
    repositories:
      - {name: npm-store, externalConnection: "public:npmjs"}
      - {name: pypi-store, externalConnection: "public:pypi"}
      - {name: maven-store, externalConnection: "public:maven-central"}
      - {name: cargo-store, externalConnection: "public:crates-io"}
      - {name: gem-store, externalConnection: "public:ruby-gems-org"}
      - {name: app, upstreams: [npm-store, pypi-store, maven-store, cargo-store, gem-store]}
""")
    connections = (f"public:npmjs=dir:{npm_dir},public:pypi=dir:{pypi_dir},"
                   f"public:maven-central=dir:{m2},public:crates-io=dir:{tmp_path / 'cargo-cache'},"
                   f"public:ruby-gems-org=dir:{gems}")
    server = Server(tmp_path / "data", tmp_path / "server.log",
                    ["--seed", str(seed), "--external-connection", connections]).start()
    try:
        ca = client(server)
        token = ca.get_authorization_token(domain="air")["authorizationToken"]
        # npm install through app → npm-store → the directory: the newest version
        npmkit.require_npm()
        home = tmp_path / "npm-home"
        home.mkdir()
        npm = npmkit.login(server.endpoint, home, "air", "app")
        project = npmkit.make_project(tmp_path, "consumer", {"public-dep": "^3.0.0"})
        res = npm("install", "--no-audit", "--no-fund", cwd=project)
        assert res.returncode == 0, res.stderr[-3000:] + server.log()[-3000:]
        installed = json.loads((project / "node_modules" / "public-dep" / "package.json").read_text())
        assert installed["version"] == "3.1.0"
        # retained where the service retains: in app and in the repository owning the connection
        assert versions(ca, "air", "npm-store", "npm", "public-dep") == {"3.1.0": "Published"}
        origin = ca.describe_package_version(domain="air", repository="npm-store", format="npm",
                                             package="public-dep", packageVersion="3.1.0")["packageVersion"]
        assert origin["origin"]["originType"] == "EXTERNAL"
        # a file added later is seen without a restart
        (npm_dir / "public-dep-3.2.0.tgz").write_bytes(npmkit.tarball("public-dep", "3.2.0"))
        import time
        time.sleep(1.2)
        assert "3.2.0" in npm.versions("public-dep")
        # pip install through app → pypi-store → the directory
        pip_home = tmp_path / "pip-home"
        pip_home.mkdir()
        pip = Pip(pip_home, f"http://aws:{token}@{server.address}/pypi/d/air-{ACCOUNT}/app/simple/", server.port)
        target = pip.new_target()
        pip.install(target, "public-lib==2.0")
        assert versions(ca, "air", "pypi-store", "pypi", "public-lib") == {"2.0": "Published"}
        got = ca.get_package_version_asset(domain="air", repository="pypi-store", format="pypi",
                                           package="public-lib", packageVersion="2.0",
                                           asset=wheel.name)["asset"].read()
        assert got == wheel.read_bytes()
        # mvn dependency:get through app → maven-store → the local repository
        mavenkit.require_maven()
        mvn = mavenkit.Mvn(tmp_path / "mvn", f"{server.endpoint}/maven/d/air-{ACCOUNT}/app/", token,
                           server_log=server.log)
        mvn.get("org.public:plib:2.0", transitive=False)
        assert (mvn.local_file("org.public", "plib", "2.0", "plib-2.0.jar").read_bytes()
                == (version_dir / "plib-2.0.jar").read_bytes())
        assert versions(ca, "air", "maven-store", "maven", "plib", "org.public") == {"2.0": "Published"}
        # cargo fetch through app → cargo-store → the registry cache
        assert cargo_fetch(tmp_path, server, "air", "app", token, "public_crate", "0.2.0") == crate
        assert versions(ca, "air", "cargo-store", "cargo", "public_crate") == {"0.2.0": "Published"}
        # gem install through app → gem-store → the folder of gems
        ruby = rubykit.RubyHome(tmp_path / "ruby", f"{server.endpoint}/ruby/d/air-{ACCOUNT}/app/", token)
        ruby.run("gem", "install", "public-gem", "--no-document")
        assert list(ruby.gem_home.glob("gems/public-gem-1.2.0")), list(ruby.gem_home.glob("gems/*"))
        assert versions(ca, "air", "gem-store", "ruby", "public-gem") == {"1.2.0": "Published"}
    finally:
        server.terminate()
    # a malformed package file stops start-up, naming it; a format not served from directories too
    (npm_dir / "broken.tgz").write_bytes(b"not a tarball")
    p = run_binary("--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "d2"),
                   "--external-connection", f"public:npmjs=dir:{npm_dir}")
    assert p.returncode != 0 and "broken.tgz" in p.stderr, p.stderr[-2000:]
    p = run_binary("--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "d3"),
                   "--external-connection", f"public:nuget-org=dir:{tmp_path}")
    assert p.returncode != 0 and "not yet for nuget" in p.stderr, p.stderr[-2000:]
    p = run_binary("--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "d4"),
                   "--external-connection", f"public:npmjs=dir:{tmp_path / 'nowhere'}")
    assert p.returncode != 0 and "not a readable directory" in p.stderr, p.stderr[-2000:]
