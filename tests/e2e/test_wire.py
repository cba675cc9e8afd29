"""Raw HTTP checks against the service model and the wire-protocol rules: output bodies match
the model's output shapes (recursively), errors are well-formed, authentication failures,
routing, body handling, every one of the 48 operations served, and the server process lifecycle.
References: control-plane spec §2 (routing), §3.1–3.5 (wire protocol, errors, validation
order), §6 (shapes), §12 (pagination)."""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import hashlib
import json
import signal
import time
import urllib.parse

import pytest

from conftest import (
    ACCESS_KEY,
    ACCOUNT,
    IMPLEMENTED_OPERATIONS,
    REGION,
    allow_policy,
    asset_hashes,
    endpoint_get,
    http_request,
    load_model,
    make_client,
    sha256_of,
    unique,
)

MODEL = load_model()
SHAPES = MODEL["shapes"]
OPERATIONS = MODEL["operations"]

# Members the spec says are always emitted (§6.1, §6.3 `†`; §6.10: only contactInfo/description
# and the root's parent may be absent; §6.11: both batch maps always, possibly `{}`; §6.7 and
# §6.8 through the model's required members).
ALWAYS_PRESENT = {
    "DomainDescription": {"name", "owner", "arn", "status", "createdTime", "encryptionKey",
                          "repositoryCount", "assetSizeBytes"},
    "RepositoryDescription": {"name", "administratorAccount", "domainName", "domainOwner", "arn",
                              "upstreams", "externalConnections", "createdTime"},
    "PackageGroupDescription": {"arn", "pattern", "domainName", "domainOwner", "createdTime",
                                "originConfiguration"},
    "PackageGroupSummary": {"arn", "pattern", "domainName", "domainOwner", "createdTime",
                            "originConfiguration"},
    "PackageGroupOriginConfiguration": {"restrictions"},
    "PackageGroupOriginRestriction": {"mode", "effectiveMode"},
    "PackageOriginConfiguration": {"restrictions"},
    "CopyPackageVersionsResult": {"successfulVersions", "failedVersions"},
    "UpdatePackageVersionsStatusResult": {"successfulVersions", "failedVersions"},
    "DisposePackageVersionsResult": {"successfulVersions", "failedVersions"},
    "DeletePackageVersionsResult": {"successfulVersions", "failedVersions"},
    "SuccessfulPackageVersionInfo": {"revision", "status"},
    "PackageVersionError": {"errorCode", "errorMessage"},
    "AssetSummary": {"name", "size", "hashes"},
    "PublishPackageVersionResult": {"format", "namespace", "package", "version", "versionRevision",
                                    "status", "asset"},
}

# Spec §6.8: all four hashes, lowercase hex of the algorithm's length.
HASH_LENGTHS = {"MD5": 32, "SHA-1": 40, "SHA-256": 64, "SHA-512": 128}

POLICY = allow_policy(ACCOUNT)


# ----------------------------------------------------------------------------- model walker


def shape_problems(value, shape_name: str, path: str = "$") -> list[str]:
    """Everything wrong with `value` as a JSON rendering of model shape `shape_name`."""
    shape = SHAPES[shape_name]
    t = shape["type"]
    problems: list[str] = []
    if value is None:
        return [f"{path}: null (members without a value must be omitted)"]
    if t == "structure":
        if not isinstance(value, dict):
            return [f"{path}: expected an object for {shape_name}, got {type(value).__name__}"]
        members = shape.get("members", {})
        for k, v in value.items():
            if k not in members:
                problems.append(f"{path}.{k}: not a member of {shape_name}")
                continue
            problems += shape_problems(v, members[k]["shape"], f"{path}.{k}")
        for req in shape.get("required", []):
            if req not in value:
                problems.append(f"{path}: required member {req!r} of {shape_name} missing")
        for req in ALWAYS_PRESENT.get(shape_name, ()):
            if req not in value:
                problems.append(f"{path}: member {req!r} of {shape_name} must always be emitted (spec §6)")
    elif t == "list":
        if not isinstance(value, list):
            return [f"{path}: expected a list for {shape_name}, got {type(value).__name__}"]
        for i, item in enumerate(value):
            problems += shape_problems(item, shape["member"]["shape"], f"{path}[{i}]")
    elif t == "map":
        if not isinstance(value, dict):
            return [f"{path}: expected an object (map) for {shape_name}"]
        if shape_name == "AssetHashes":
            if set(value) != set(HASH_LENGTHS):
                problems.append(f"{path}: hashes must be exactly {sorted(HASH_LENGTHS)}, got {sorted(value)}")
            for alg, n in HASH_LENGTHS.items():
                h = value.get(alg)
                if isinstance(h, str) and not (len(h) == n and all(c in "0123456789abcdef" for c in h)):
                    problems.append(f"{path}[{alg!r}]: {h!r} is not {n} lowercase hex digits")
        for k, v in value.items():
            problems += shape_problems(k, shape["key"]["shape"], f"{path}<key>")
            problems += shape_problems(v, shape["value"]["shape"], f"{path}[{k!r}]")
    elif t == "timestamp":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"{path}: timestamp must be a JSON number of epoch seconds, got {value!r}")
        elif not (1.5e9 < value < 4.2e9):
            problems.append(f"{path}: timestamp {value!r} is not epoch seconds")
    elif t in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{path}: expected an integer, got {value!r}")
    elif t == "boolean":
        if not isinstance(value, bool):
            problems.append(f"{path}: expected a boolean, got {value!r}")
    elif t in ("string", "blob"):
        if not isinstance(value, str):
            problems.append(f"{path}: expected a string, got {value!r}")
        elif "enum" in shape and value not in shape["enum"]:
            problems.append(f"{path}: {value!r} is not one of {shape['enum']}")
    return problems


def find_shapes(value, shape_name: str, wanted: str, found: list) -> list:
    """Collects every sub-value of shape `wanted` inside `value`."""
    shape = SHAPES[shape_name]
    if shape_name == wanted:
        found.append(value)
    if shape["type"] == "structure" and isinstance(value, dict):
        for k, v in value.items():
            if k in shape.get("members", {}):
                find_shapes(v, shape["members"][k]["shape"], wanted, found)
    elif shape["type"] == "list" and isinstance(value, list):
        for item in value:
            find_shapes(item, shape["member"]["shape"], wanted, found)
    return found


# ----------------------------------------------------------------------------- scenario


# The generic assets the scenario publishes (binary on purpose: the download must be byte-exact).
ASSET_A = b"wire asset A\n\x00\x01\xfe\xff" + bytes(range(256))
ASSET_B = b"wire asset B\n"
ASSET_C = b"wire asset C, disposed then deleted\n"
WIRE_NS = "wire-ns"
WIRE_GROUP = f"/generic/{WIRE_NS}/*"


def publish_generic(raw, domain: str, repository: str, namespace: str, package: str, version: str,
                    asset: str, data: bytes, unfinished: bool | None = None, sha256: str | None = None):
    """PublishPackageVersion over raw HTTP: the body is the asset, `x-amz-content-sha256` its
    SHA-256 (which is also the SigV4 payload hash, spec §3.1)."""
    query = {"domain": domain, "repository": repository, "format": "generic", "namespace": namespace,
             "package": package, "version": version, "asset": asset}
    if unfinished is not None:
        query["unfinished"] = "true" if unfinished else "false"
    headers = {"x-amz-content-sha256": sha256 or sha256_of(data),
               "Content-Type": "application/octet-stream"}
    return raw("POST", "/v1/package/version/publish", query, data, headers)


@pytest.fixture(scope="module")
def wire(raw, ca):
    """Runs every operation of the model once over raw HTTP and keeps each first response
    (key = operation name). A few further responses are kept under `Operation#variant` keys
    (batch failure maps, the root group, the final publish) and are checked the same way."""
    responses: dict[str, object] = {}
    d = unique("wire")
    arn = f"arn:aws:codeartifact:{REGION}:{ACCOUNT}:domain/{d}"

    def rec(op, resp):
        responses.setdefault(op, resp)
        return resp

    pkg = {"domain": d, "repository": "main", "format": "generic", "namespace": WIRE_NS, "package": "tool"}
    v1 = dict(pkg, version="1.0.0")
    group = {"domain": d, "package-group": WIRE_GROUP}
    try:
        rec("CreateDomain", raw("POST", "/v1/domain", {"domain": d}, {"tags": [{"key": "k", "value": "v"}]}))
        rec("DescribeDomain", raw("GET", "/v1/domain", {"domain": d}))
        rec("CreateRepository", raw("POST", "/v1/repository", {"domain": d, "repository": "up"}, {}))
        rec("CreateRepository", raw("POST", "/v1/repository", {"domain": d, "repository": "main"},
                                    {"description": "main repo", "upstreams": [{"repositoryName": "up"}]}))
        rec("DescribeRepository", raw("GET", "/v1/repository", {"domain": d, "repository": "main"}))
        rec("UpdateRepository", raw("PUT", "/v1/repository", {"domain": d, "repository": "main"},
                                    {"description": "changed"}))
        rec("ListDomains", raw("POST", "/v1/domains", None, {}))
        rec("ListRepositories", raw("POST", "/v1/repositories"))
        rec("ListRepositoriesInDomain", raw("POST", "/v1/domain/repositories", {"domain": d}))
        rec("AssociateExternalConnection", raw("POST", "/v1/repository/external-connection",
                                               {"domain": d, "repository": "up",
                                                "external-connection": "public:npmjs"}))
        rec("DisassociateExternalConnection", raw("DELETE", "/v1/repository/external-connection",
                                                  {"domain": d, "repository": "up",
                                                   "external-connection": "public:npmjs"}))
        rec("GetAuthorizationToken", raw("POST", "/v1/authorization-token", {"domain": d, "duration": "900"}))
        rec("GetRepositoryEndpoint", raw("GET", "/v1/repository/endpoint",
                                         {"domain": d, "repository": "main", "format": "npm"}))
        rec("PutDomainPermissionsPolicy", raw("PUT", "/v1/domain/permissions/policy", None,
                                              {"domain": d, "policyDocument": POLICY}))
        rec("GetDomainPermissionsPolicy", raw("GET", "/v1/domain/permissions/policy", {"domain": d}))
        rec("DeleteDomainPermissionsPolicy", raw("DELETE", "/v1/domain/permissions/policy", {"domain": d}))
        rec("PutRepositoryPermissionsPolicy", raw("PUT", "/v1/repository/permissions/policy",
                                                  {"domain": d, "repository": "main"}, {"policyDocument": POLICY}))
        rec("GetRepositoryPermissionsPolicy", raw("GET", "/v1/repository/permissions/policy",
                                                  {"domain": d, "repository": "main"}))
        rec("DeleteRepositoryPermissionsPolicy", raw("DELETE", "/v1/repository/permissions/policies",
                                                     {"domain": d, "repository": "main"}))
        rec("TagResource", raw("POST", "/v1/tag", {"resourceArn": arn}, {"tags": [{"key": "x", "value": ""}]}))
        rec("ListTagsForResource", raw("POST", "/v1/tags", {"resourceArn": arn}))
        rec("UntagResource", raw("POST", "/v1/untag", {"resourceArn": arn}, {"tagKeys": ["x"]}))

        # ---- package groups (a group for the namespace the packages below live in)
        rec("CreatePackageGroup", raw("POST", "/v1/package-group", {"domain": d},
                                      {"packageGroup": WIRE_GROUP, "contactInfo": "team@example.com",
                                       "description": "wire group", "tags": [{"key": "g", "value": "1"}]}))
        rec("DescribePackageGroup", raw("GET", "/v1/package-group", group))
        rec("DescribePackageGroup#root", raw("GET", "/v1/package-group", {"domain": d, "package-group": "/*"}))
        rec("UpdatePackageGroup", raw("PUT", "/v1/package-group", {"domain": d},
                                      {"packageGroup": WIRE_GROUP, "description": "changed group"}))

        # ---- packages, versions, assets
        rec("PublishPackageVersion", publish_generic(raw, d, "main", WIRE_NS, "tool", "1.0.0", "a.bin",
                                                     ASSET_A, unfinished=True))
        rec("PublishPackageVersion#final", publish_generic(raw, d, "main", WIRE_NS, "tool", "1.0.0", "b.txt",
                                                           ASSET_B))
        rec("GetPackageVersionAsset", raw("GET", "/v1/package/version/asset", dict(v1, asset="a.bin")))
        rec("ListPackageVersionAssets", raw("POST", "/v1/package/version/assets", v1))
        rec("DescribePackage", raw("GET", "/v1/package", pkg))
        rec("DescribePackageVersion", raw("GET", "/v1/package/version", v1))
        rec("ListPackages", raw("POST", "/v1/packages", {"domain": d, "repository": "main"}))
        rec("ListPackageVersions", raw("POST", "/v1/package/versions", pkg))
        rec("ListPackageVersionDependencies", raw("POST", "/v1/package/version/dependencies", v1))
        rec("GetPackageVersionReadme", raw("GET", "/v1/package/version/readme", v1))
        copy = {"domain": d, "source-repository": "main", "destination-repository": "up", "format": "generic",
                "namespace": WIRE_NS, "package": "tool"}
        rec("CopyPackageVersions", raw("POST", "/v1/package/versions/copy", copy, {"versions": ["1.0.0"]}))
        rec("UpdatePackageVersionsStatus", raw("POST", "/v1/package/versions/update_status", pkg,
                                               {"versions": ["1.0.0"], "targetStatus": "Unlisted"}))
        rec("UpdatePackageVersionsStatus#failed", raw("POST", "/v1/package/versions/update_status", pkg,
                                                      {"versions": ["1.0.0", "9.9.9"], "targetStatus": "Archived"}))
        publish_generic(raw, d, "main", WIRE_NS, "tool", "2.0.0", "c.txt", ASSET_C)
        rec("DisposePackageVersions", raw("POST", "/v1/package/versions/dispose", pkg, {"versions": ["2.0.0"]}))
        rec("DeletePackageVersions", raw("POST", "/v1/package/versions/delete", pkg, {"versions": ["2.0.0"]}))
        rec("PutPackageOriginConfiguration", raw("POST", "/v1/package", dict(pkg, package="blocked"),
                                                 {"restrictions": {"publish": "BLOCK", "upstream": "ALLOW"}}))
        rec("DeletePackage", raw("DELETE", "/v1/package", dict(pkg, repository="up")))

        # ---- package groups, continued
        rec("UpdatePackageGroupOriginConfiguration",
            raw("PUT", "/v1/package-group-origin-configuration", group,
                {"restrictions": {"PUBLISH": "ALLOW_SPECIFIC_REPOSITORIES", "EXTERNAL_UPSTREAM": "BLOCK"},
                 "addAllowedRepositories": [{"repositoryName": "main", "originRestrictionType": "PUBLISH"}]}))
        rec("ListAllowedRepositoriesForGroup", raw("GET", "/v1/package-group-allowed-repositories",
                                                   dict(group, originRestrictionType="PUBLISH")))
        rec("ListPackageGroups", raw("POST", "/v1/package-groups", {"domain": d}))
        rec("ListSubPackageGroups", raw("POST", "/v1/package-groups/sub-groups", {"domain": d, "package-group": "/*"}))
        rec("GetAssociatedPackageGroup", raw("GET", "/v1/get-associated-package-group",
                                             {"domain": d, "format": "generic", "namespace": WIRE_NS,
                                              "package": "tool"}))
        rec("ListAssociatedPackages", raw("GET", "/v1/list-associated-packages", group))
        rec("DeletePackageGroup", raw("DELETE", "/v1/package-group", group))

        rec("DeleteRepository", raw("DELETE", "/v1/repository", {"domain": d, "repository": "main"}))
        raw("DELETE", "/v1/repository", {"domain": d, "repository": "up"})
        rec("DeleteDomain", raw("DELETE", "/v1/domain", {"domain": d}))
    finally:
        for r in ("main", "up"):
            try:
                ca.delete_repository(domain=d, repository=r)
            except Exception:
                pass
        try:
            ca.delete_domain(domain=d)
        except Exception:
            pass
    return responses


WIRE_VARIANTS = ["DescribePackageGroup#root", "PublishPackageVersion#final", "UpdatePackageVersionsStatus#failed"]


def check_raw_payload_response(resp, output: str) -> list[str]:
    """An output whose payload is a blob (GetPackageVersionAsset): the body is the raw bytes and
    the other members travel in headers (spec §7.7 GetPackageVersionAsset)."""
    problems = []
    members = SHAPES[output]["members"]
    for name, m in members.items():
        if m.get("location") != "header":
            continue
        value = resp.header(m.get("locationName", name))
        if not value:
            problems.append(f"header {m.get('locationName', name)} ({name}) missing or empty")
            continue
        problems += shape_problems(value, m["shape"], f"header {m.get('locationName', name)}")
    ctype = (resp.header("Content-Type") or "").split(";")[0].strip()
    if ctype != "application/octet-stream":
        problems.append(f"Content-Type {ctype!r}: spec §7.7 says application/octet-stream")
    if resp.header("Content-Length") != str(len(resp.body)):
        problems.append(f"Content-Length {resp.header('Content-Length')!r} but {len(resp.body)} bytes")
    return problems


@pytest.mark.parametrize("key", sorted(IMPLEMENTED_OPERATIONS) + WIRE_VARIANTS)
def test_success_body_matches_model(wire, key):
    operation = key.split("#")[0]
    resp = wire.get(key)
    assert resp is not None, f"{key} was not exercised"
    assert resp.status == 200, resp
    assert resp.header("x-amzn-RequestId"), "x-amzn-RequestId on every response"
    output = OPERATIONS[operation].get("output", {}).get("shape")
    payload = SHAPES[output].get("payload") if output else None
    if payload and SHAPES[SHAPES[output]["members"][payload]["shape"]]["type"] == "blob":
        problems = check_raw_payload_response(resp, output)
        assert not problems, "\n".join(problems)
        return
    assert (resp.header("Content-Type") or "").startswith("application/json"), resp
    assert isinstance(resp.json, dict), f"body is not a JSON object: {resp.body!r}"
    if output is None or not SHAPES[output].get("members"):
        assert resp.json == {}, f"{operation} has no output members: body must be {{}}"
        return
    problems = shape_problems(resp.json, output)
    assert not problems, "\n".join(problems)
    assert resp.json, f"{operation}: empty body"
    for repo in find_shapes(resp.json, output, "RepositoryDescription", []):
        assert isinstance(repo.get("upstreams"), list), repo
        assert isinstance(repo.get("externalConnections"), list), repo
    for grp in find_shapes(resp.json, output, "PackageGroupDescription", []) + \
            find_shapes(resp.json, output, "PackageGroupSummary", []):
        restrictions = grp.get("originConfiguration", {}).get("restrictions", {})
        assert set(restrictions) == {"PUBLISH", "EXTERNAL_UPSTREAM", "INTERNAL_UPSTREAM"}, grp
        assert ("parent" in grp) == (grp.get("pattern") != "/*"), \
            f"spec §6.10: parent is omitted only for the root group: {grp}"


def test_list_pages_carry_items(wire):
    """The scenario's list calls saw the things it created (guards the shape test above
    against trivially empty lists)."""
    assert wire["ListDomains"].json["domains"]
    assert wire["ListRepositories"].json["repositories"]
    assert wire["ListRepositoriesInDomain"].json["repositories"]
    tags = wire["ListTagsForResource"].json["tags"]
    assert sorted((t["key"], t["value"]) for t in tags) == [("k", "v"), ("x", "")]
    assert [p["package"] for p in wire["ListPackages"].json["packages"]] == ["tool"]
    assert [v["version"] for v in wire["ListPackageVersions"].json["versions"]] == ["1.0.0"]
    assets = wire["ListPackageVersionAssets"].json["assets"]
    assert [(a["name"], a["size"]) for a in assets] == [("a.bin", len(ASSET_A)), ("b.txt", len(ASSET_B))]
    assert assets[0]["hashes"] == asset_hashes(ASSET_A)
    assert wire["ListPackageVersionDependencies"].json["dependencies"] == [], "generic: always [] (§7.7)"
    assert "readme" not in wire["GetPackageVersionReadme"].json, "generic versions never have a readme (§7.7)"
    patterns = [g["pattern"] for g in wire["ListPackageGroups"].json["packageGroups"]]
    assert patterns == ["/*", WIRE_GROUP]
    assert [g["pattern"] for g in wire["ListSubPackageGroups"].json["packageGroups"]] == [WIRE_GROUP]
    assert wire["ListAllowedRepositoriesForGroup"].json["allowedRepositories"] == ["main"]
    assert wire["UpdatePackageGroupOriginConfiguration"].json["allowedRepositoryUpdates"] == \
        {"PUBLISH": {"ADDED": ["main"]}}
    # `blocked` exists without versions (PutPackageOriginConfiguration); `tool` was deleted from
    # `up` only, so both are still in the domain
    assert sorted(wire["ListAssociatedPackages"].json["packages"], key=lambda p: p["package"]) == [
        {"format": "generic", "namespace": WIRE_NS, "package": n, "associationType": "STRONG"}
        for n in ("blocked", "tool")]
    assoc = wire["GetAssociatedPackageGroup"].json
    assert assoc["associationType"] == "STRONG" and assoc["packageGroup"]["pattern"] == WIRE_GROUP


def test_wire_package_results(wire):
    """Values, not only shapes, of the package operations in the scenario (spec §7.6–§8)."""
    first = wire["PublishPackageVersion"].json
    final = wire["PublishPackageVersion#final"].json
    assert first["status"] == "Unfinished" and final["status"] == "Published"
    assert first["asset"]["name"] == "a.bin" and first["asset"]["size"] == len(ASSET_A)
    assert first["asset"]["hashes"]["SHA-256"] == sha256_of(ASSET_A)
    assert final["versionRevision"] != first["versionRevision"], "adding an asset changes the revision (§8.3)"

    asset = wire["GetPackageVersionAsset"]
    assert asset.body == ASSET_A, "the download is byte-exact"
    assert asset.header("X-AssetName") == "a.bin"
    assert asset.header("X-PackageVersion") == "1.0.0"
    described = wire["DescribePackageVersion"].json["packageVersion"]
    assert asset.header("X-PackageVersionRevision") == described["revision"] == final["versionRevision"]
    assert described["status"] == "Published"
    assert described["origin"] == {"domainEntryPoint": {"repositoryName": "main"}, "originType": "INTERNAL"}
    assert (described["format"], described["namespace"], described["packageName"]) == \
        ("generic", WIRE_NS, "tool")
    assert wire["DescribePackage"].json["package"] == {
        "format": "generic", "namespace": WIRE_NS, "name": "tool",
        "originConfiguration": {"restrictions": {"publish": "ALLOW", "upstream": "BLOCK"}}}

    rev = final["versionRevision"]
    assert wire["CopyPackageVersions"].json == {
        "successfulVersions": {"1.0.0": {"revision": rev, "status": "Published"}}, "failedVersions": {}}
    assert wire["UpdatePackageVersionsStatus"].json == {
        "successfulVersions": {"1.0.0": {"revision": rev, "status": "Unlisted"}}, "failedVersions": {}}
    failed = wire["UpdatePackageVersionsStatus#failed"].json
    assert failed["successfulVersions"] == {}
    assert {v: e["errorCode"] for v, e in failed["failedVersions"].items()} == \
        {"1.0.0": "SKIPPED", "9.9.9": "NOT_FOUND"}
    disposed = wire["DisposePackageVersions"].json
    assert list(disposed["successfulVersions"]) == ["2.0.0"] and disposed["failedVersions"] == {}
    assert disposed["successfulVersions"]["2.0.0"]["status"] == "Disposed"
    deleted = wire["DeletePackageVersions"].json
    assert deleted["successfulVersions"]["2.0.0"]["status"] == "Deleted" and deleted["failedVersions"] == {}
    assert wire["PutPackageOriginConfiguration"].json == {
        "originConfiguration": {"restrictions": {"publish": "BLOCK", "upstream": "ALLOW"}}}
    assert wire["DeletePackage"].json["deletedPackage"]["package"] == "tool"

    root = wire["DescribePackageGroup#root"].json["packageGroup"]
    assert root["arn"].endswith(":package-group/" + root["domainName"] + "/%2a")
    created = wire["CreatePackageGroup"].json["packageGroup"]
    assert created["parent"] == {"arn": root["arn"], "pattern": "/*"}
    assert created["arn"] == root["arn"][:-len("/%2a")] + f"/generic/{WIRE_NS}/%2a"
    for kind in ("PUBLISH", "EXTERNAL_UPSTREAM", "INTERNAL_UPSTREAM"):
        r = created["originConfiguration"]["restrictions"][kind]
        assert r["mode"] == "INHERIT" and r["effectiveMode"] == "ALLOW", (kind, r)
        assert r["inheritedFrom"] == {"arn": root["arn"], "pattern": "/*"}, (kind, r)
    updated = wire["UpdatePackageGroupOriginConfiguration"].json["packageGroup"]
    publish = updated["originConfiguration"]["restrictions"]["PUBLISH"]
    assert publish["mode"] == publish["effectiveMode"] == "ALLOW_SPECIFIC_REPOSITORIES"
    assert publish["repositoriesCount"] == 1 and "inheritedFrom" not in publish
    assert wire["UpdatePackageGroup"].json["packageGroup"]["description"] == "changed group"
    assert wire["UpdatePackageGroup"].json["packageGroup"]["contactInfo"] == "team@example.com"
    assert wire["DeletePackageGroup"].json["packageGroup"]["pattern"] == WIRE_GROUP


# ----------------------------------------------------------------------------- errors


@pytest.fixture(scope="module")
def existing_domain(ca):
    d = unique("errs")
    ca.create_domain(domain=d)
    yield d
    try:
        ca.delete_domain(domain=d)
    except Exception:
        pass


def _no_auth(raw, d):
    return raw("GET", "/v1/domain", {"domain": d}, sign=False)


ERROR_CASES = {
    "not-found": (lambda raw, d: raw("GET", "/v1/domain", {"domain": unique("gone")}),
                  404, "ResourceNotFoundException"),
    "conflict": (lambda raw, d: raw("POST", "/v1/domain", {"domain": d}), 409, "ConflictException"),
    "validation": (lambda raw, d: raw("GET", "/v1/domain", {"domain": "Bad!"}), 400, "ValidationException"),
    "missing-required": (lambda raw, d: raw("GET", "/v1/domain"), 400, "ValidationException"),
    "unknown-operation": (lambda raw, d: raw("GET", "/v1/no-such-thing"), 400, "ValidationException"),
    "cannot-parse": (lambda raw, d: raw("POST", "/v1/domains", None, "{oops"), 400, "ValidationException"),
    "no-auth": (_no_auth, 403, "MissingAuthenticationTokenException"),
    "bad-secret": (lambda raw, d: raw("GET", "/v1/domain", {"domain": d}, secret_key="wrong"),
                   403, "InvalidSignatureException"),
    "unknown-key": (lambda raw, d: raw("GET", "/v1/domain", {"domain": d}, access_key="AKIDUNKNOWN"),
                    403, "UnrecognizedClientException"),
    "access-denied": (lambda raw, d: raw("GET", "/v1/domain", {"domain": d, "domain-owner": ACCOUNT},
                                         access_key="AKIDOTHERACCOUNT01", secret_key="other-secret-key"),
                      403, "AccessDeniedException"),
}


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_error_response_is_well_formed(raw, existing_domain, case):
    make, status, error_type = ERROR_CASES[case]
    resp = make(raw, existing_domain)
    assert resp.status == status, resp
    assert resp.error_type == error_type, resp
    assert resp.header("x-amzn-RequestId"), resp
    assert (resp.header("Content-Type") or "").startswith("application/json"), resp
    assert isinstance(resp.json, dict), resp
    assert isinstance(resp.json.get("message"), str) and resp.json["message"], resp
    assert resp.json.get("__type") == error_type, "spec §3.4: body carries __type"
    if error_type in SHAPES:
        allowed = set(SHAPES[error_type].get("members", {})) | {"__type"}
        assert set(resp.json) <= allowed, f"undeclared members in {resp.json}"
        for k, v in resp.json.items():
            assert v is not None, k
    if error_type == "ResourceNotFoundException":
        assert resp.json.get("resourceType") == "domain"
    if error_type == "ConflictException":
        assert resp.json.get("resourceType") == "domain" and resp.json.get("resourceId") == existing_domain


def test_unknown_routes_are_unknown_operation(raw):
    for method, path in [("GET", "/v1/no-such-thing"), ("DELETE", "/v1/domains"), ("PATCH", "/v1/domain"),
                         ("POST", "/v2/domain"), ("GET", "/"), ("PUT", "/v1/tags"),
                         ("DELETE", "/v1/repository/permissions/policy")]:
        resp = raw(method, path, {"domain": "some-domain"})
        assert resp.status == 400, (method, path, resp)
        assert resp.error_type == "ValidationException", (method, path, resp)
        assert resp.json.get("reason") == "UNKNOWN_OPERATION", (method, path, resp)


def test_trailing_slash_is_tolerated(raw, existing_domain):
    resp = raw("GET", "/v1/domain/", {"domain": existing_domain})
    assert resp.status == 200, resp
    assert resp.json["domain"]["name"] == existing_domain


def test_malformed_json_is_cannot_parse(raw, ca):
    d = unique("parse")
    for method, path, query, body in [
        ("POST", "/v1/domain", {"domain": d}, "{not json"),
        ("POST", "/v1/domains", None, "{\"maxResults\": 2"),
        ("PUT", "/v1/domain/permissions/policy", None, "[1, 2"),
        ("POST", "/v1/tag", {"resourceArn": f"arn:aws:codeartifact:{REGION}:{ACCOUNT}:domain/{d}"}, "\x00\x01"),
    ]:
        resp = raw(method, path, query, body)
        assert resp.status == 400, (path, resp)
        assert resp.error_type == "ValidationException", (path, resp)
        assert resp.json.get("reason") == "CANNOT_PARSE", (path, resp)
    with pytest.raises(Exception) as ei:
        ca.describe_domain(domain=d)
    assert "ResourceNotFoundException" in str(ei.value), "a refused CreateDomain must not create the domain"


def test_wrong_member_types_are_field_validation(raw, existing_domain):
    resp = raw("POST", "/v1/domains", None, {"maxResults": "ten"})
    assert resp.status == 400 and resp.json.get("reason") == "FIELD_VALIDATION_FAILED", resp
    resp = raw("POST", "/v1/repository", {"domain": existing_domain, "repository": "typed"},
               {"description": 5})
    assert resp.status == 400 and resp.json.get("reason") == "FIELD_VALIDATION_FAILED", resp
    resp = raw("GET", "/v1/repository", {"domain": existing_domain, "repository": "typed"})
    assert resp.status == 404, "nothing was created"


def test_body_absent_empty_or_empty_object(raw, existing_domain):
    for body in (None, b"", {}, {"unknownMember": 1}):
        resp = raw("POST", "/v1/domains", None, body)
        assert resp.status == 200, (body, resp)
        assert isinstance(resp.json.get("domains"), list)
    # an operation with body members, sent without a body (the SDKs send {} or nothing)
    d = unique("nobody")
    resp = raw("POST", "/v1/domain", {"domain": d}, None)
    try:
        assert resp.status == 200, resp
    finally:
        raw("DELETE", "/v1/domain", {"domain": d})
    resp = raw("POST", "/v1/repository", {"domain": existing_domain, "repository": "extra-members"},
               {"description": "ok", "somethingNew": {"nested": [1, 2]}})
    try:
        assert resp.status == 200, "unknown JSON members are ignored"
    finally:
        raw("DELETE", "/v1/repository", {"domain": existing_domain, "repository": "extra-members"})


def test_query_validation(raw, existing_domain):
    cases = [
        ("POST", "/v1/domain/repositories", {"domain": existing_domain, "max-results": "0"}),
        ("POST", "/v1/domain/repositories", {"domain": existing_domain, "max-results": "1001"}),
        ("POST", "/v1/domain/repositories", {"domain": existing_domain, "max-results": "ten"}),
        ("POST", "/v1/repositories", {"repository-prefix": "a"}),
        ("POST", "/v1/domains", None, {"maxResults": 0}),
        ("POST", "/v1/domains", None, {"maxResults": 1001}),
        ("POST", "/v1/authorization-token", {"domain": existing_domain, "duration": "abc"}),
        ("POST", "/v1/authorization-token", {"domain": existing_domain, "duration": "-1"}),
        ("GET", "/v1/domain", {"domain": existing_domain, "domain-owner": "123"}),
        ("GET", "/v1/repository/endpoint", {"domain": existing_domain, "repository": "rr"}),  # no format
        ("GET", "/v1/repository/endpoint", {"domain": existing_domain, "repository": "rr", "format": "npm",
                                            "endpointType": "IPV4"}),
        ("POST", "/v1/domain", {"domain": "ab--"}),
        ("GET", "/v1/domain", {"domain": ""}),
        ("GET", "/v1/repository", {"domain": existing_domain, "repository": ""}),
    ]
    for method, path, query, *body in cases:
        resp = raw(method, path, query, body[0] if body else None)
        assert resp.status == 400, (path, query, body, resp)
        assert resp.error_type == "ValidationException", (path, query, resp)
        assert resp.json.get("reason") == "FIELD_VALIDATION_FAILED", (path, query, resp)
    ok = raw("POST", "/v1/domain/repositories", {"domain": existing_domain, "max-results": "1000"})
    assert ok.status == 200, ok


def test_validation_precedes_existence(raw):
    """Spec §3.5: field validation (400) is reported before a missing domain (404)."""
    resp = raw("GET", "/v1/repository", {"domain": unique("nodom"), "repository": "x"})
    assert resp.status == 400 and resp.error_type == "ValidationException", resp
    resp = raw("GET", "/v1/repository", {"domain": unique("nodom"), "repository": "ok-name"})
    assert resp.status == 404 and resp.json.get("resourceType") == "domain", resp


# ----------------------------------------------------------------------------- authentication


def test_missing_authentication_token(raw):
    for method, path in [("POST", "/v1/domains"), ("GET", "/v1/domain"), ("POST", "/v1/no-such-thing")]:
        resp = raw(method, path, {"domain": "abc"}, sign=False)
        assert resp.status == 403, (path, resp)
        assert resp.error_type == "MissingAuthenticationTokenException", (path, resp)


def test_incomplete_signature(raw):
    now = dt.datetime.now(dt.timezone.utc)
    scope = f"{ACCESS_KEY}/{now:%Y%m%d}/{REGION}/codeartifact/aws4_request"
    headers = {"X-Amz-Date": f"{now:%Y%m%dT%H%M%SZ}",
               "Authorization": f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host;x-amz-date"}
    resp = raw("POST", "/v1/domains", None, None, headers, sign=False)
    assert resp.status == 403, resp
    assert resp.error_type == "IncompleteSignatureException", resp


@pytest.mark.parametrize("minutes", [-20, 20])
def test_signature_outside_clock_skew(raw, minutes):
    when = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=minutes)
    resp = raw("POST", "/v1/domains", None, {}, sign_time=when)
    assert resp.status == 403, resp
    assert resp.error_type == "InvalidSignatureException", resp
    assert resp.json.get("message")


def test_signature_within_skew_is_accepted(raw):
    when = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=3)
    resp = raw("POST", "/v1/domains", None, {}, sign_time=when)
    assert resp.status == 200, resp


def test_tampered_query_after_signing(raw, existing_domain):
    def tamper(method, target, headers, body):
        return method, target.replace(existing_domain, existing_domain[:-1] + "x"), headers, body

    resp = raw("GET", "/v1/domain", {"domain": existing_domain}, tamper=tamper)
    assert resp.status == 403, resp
    assert resp.error_type == "InvalidSignatureException", resp

    def add_param(method, target, headers, body):
        return method, target + "&domain-owner=" + ACCOUNT, headers, body

    resp = raw("GET", "/v1/domain", {"domain": existing_domain}, tamper=add_param)
    assert resp.status == 403 and resp.error_type == "InvalidSignatureException", resp


def test_tampered_body_path_method_and_headers(raw, existing_domain, ca):
    d = unique("tamper")

    def body(method, target, headers, data):
        return method, target, headers, json.dumps({"tags": [{"key": "evil", "value": "1"}]}).encode()

    resp = raw("POST", "/v1/domain", {"domain": d}, {"tags": [{"key": "ok", "value": "1"}]}, tamper=body)
    assert resp.status == 403 and resp.error_type == "InvalidSignatureException", resp

    def path(method, target, headers, data):
        return method, target.replace("/v1/domain?", "/v1/domain/repositories?"), headers, data

    resp = raw("GET", "/v1/domain", {"domain": existing_domain}, tamper=path)
    assert resp.status == 403 and resp.error_type == "InvalidSignatureException", resp

    def method(method, target, headers, data):
        return "DELETE", target, headers, data

    resp = raw("GET", "/v1/domain", {"domain": existing_domain}, tamper=method)
    assert resp.status == 403 and resp.error_type == "InvalidSignatureException", resp
    assert ca.describe_domain(domain=existing_domain)["domain"]["status"] == "Active"

    def date(method, target, headers, data):
        h = dict(headers)
        h["X-Amz-Date"] = h["X-Amz-Date"][:-3] + ("00Z" if not h["X-Amz-Date"].endswith("00Z") else "01Z")
        return method, target, h, data

    resp = raw("POST", "/v1/domains", None, {}, tamper=date)
    assert resp.status == 403 and resp.error_type == "InvalidSignatureException", resp

    # a signed x-amz-content-sha256 that does not match the body that arrives
    digest = sha256_of(b"{}")
    resp = raw("POST", "/v1/domain", {"domain": d}, b'{"tags": []}', {"x-amz-content-sha256": digest})
    assert resp.status == 403 and resp.error_type == "InvalidSignatureException", resp

    with pytest.raises(Exception):
        ca.describe_domain(domain=d)


def test_wrong_service_in_scope(raw):
    resp = raw("POST", "/v1/domains", None, {}, service="s3")
    assert resp.status == 403 and resp.error_type == "InvalidSignatureException", resp


def test_oversized_body_is_refused(raw, server):
    big = b'{"description": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    resp = raw("POST", "/v1/repository", {"domain": "some-domain", "repository": "big"}, big)
    assert resp.status == 413, resp
    assert resp.error_type, resp
    assert resp.header("x-amzn-RequestId"), resp
    assert isinstance(resp.json, dict) and resp.json.get("message"), resp
    # still serving, and a body just under the limit is read fine
    health = http_request(server.host, server.port, "GET", "/health", None, {"Host": server.address})
    assert health.status == 200
    small = raw("POST", "/v1/domains", None, b'{"maxResults": 5, "pad": "' + b"y" * (1024 * 1024 - 100) + b'"}')
    assert small.status == 200, small


def test_oversized_unsigned_body_is_refused_without_crash(raw, server):
    big = b"z" * (3 * 1024 * 1024)
    try:
        resp = raw("POST", "/v1/domains", None, big, sign=False)
    except ConnectionError:
        resp = None  # refusing early and closing the connection is acceptable here
    if resp is not None:
        assert resp.status in (403, 413), resp
    health = http_request(server.host, server.port, "GET", "/health", None, {"Host": server.address})
    assert health.status == 200


def test_path_tricks_never_5xx(raw, server, existing_domain):
    cases = [
        ("POST", "/v1/domain/../domains", None),
        ("POST", "/v1/domain/./../domains", None),
        ("POST", "//v1//domains", None),
        ("GET", "/v1/domain%2Fpermissions%2Fpolicy", {"domain": existing_domain}),
        ("GET", "/v1/%2e%2e/health", None),
        ("GET", "/v1/domain", {"domain": "a%2Fb"}),
        ("GET", "/v1/domain", {"domain": existing_domain + "/../x"}),
        ("GET", "/v1/repository", {"domain": existing_domain, "repository": "../../etc/passwd"}),
        ("GET", "/v1/repository", {"domain": existing_domain, "repository": "a/b"}),
        ("POST", "/v1/tags", {"resourceArn": f"arn:aws:codeartifact:{REGION}:{ACCOUNT}:domain/../x"}),
        ("GET", "/npm/d/..%2F..%2Fetc-000000000000/passwd/", None),
        ("GET", "/v1/domain", "domain=%ZZ"),
        ("GET", "/v1/domain", "domain=%C3%28"),
    ]
    for method, path, query in cases:
        resp = raw(method, path, query)
        assert resp.status < 500, (method, path, query, resp)
        if resp.status >= 400:
            assert resp.error_type, (method, path, query, resp)
            assert isinstance(resp.json, dict) and resp.json.get("message"), (method, path, query, resp)
    # a query value that needs %2F (as SDKs send ARNs) works
    arn = f"arn:aws:codeartifact:{REGION}:{ACCOUNT}:domain/{existing_domain}"
    resp = raw("POST", "/v1/tags", "resourceArn=" + urllib.parse.quote(arn, safe=""))
    assert resp.status == 200, resp
    assert resp.json == {"tags": []}


def test_request_ids_are_unique(raw):
    ids = {raw("POST", "/v1/domains", None, {}).header("x-amzn-RequestId") for _ in range(5)}
    ids |= {raw("GET", "/v1/domain").header("x-amzn-RequestId") for _ in range(3)}
    assert None not in ids and len(ids) == 8


def test_health(server):
    resp = http_request(server.host, server.port, "GET", "/health", None, {"Host": server.address})
    assert resp.status == 200
    assert isinstance(resp.json, dict)
    assert (resp.header("Content-Type") or "").startswith("application/json")


def test_concurrent_requests(endpoint, ca):
    d = unique("conc")
    ca.create_domain(domain=d)
    try:
        def create(i):
            client = make_client(endpoint)
            return client.create_repository(domain=d, repository=f"r{i:02d}")["repository"]["name"]

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            names = sorted(pool.map(create, range(24)))
        assert names == [f"r{i:02d}" for i in range(24)]
        assert ca.describe_domain(domain=d)["domain"]["repositoryCount"] == 24
        listed = ca.list_repositories_in_domain(domain=d)["repositories"]
        assert sorted(r["name"] for r in listed) == names
    finally:
        for i in range(24):
            try:
                ca.delete_repository(domain=d, repository=f"r{i:02d}")
            except Exception:
                pass
        ca.delete_domain(domain=d)


# ----------------------------------------------------------------------------- every operation is served


def _placeholder(shape_name: str, member: str):
    shape = SHAPES[shape_name]
    t = shape["type"]
    if "enum" in shape:
        return shape["enum"][0]
    names = {
        "DomainName": "some-domain", "RepositoryName": "some-repo", "PackageName": "pkg",
        "PackageNamespace": "ns", "PackageVersion": "1.0.0", "AssetName": "asset.txt",
        "PackageGroupPattern": "/generic/ns/*", "AccountId": ACCOUNT,
    }
    if t == "string":
        return names.get(shape_name, "value")
    if t == "list":
        return [_placeholder(shape["member"]["shape"], member)]
    if t == "map":
        return {}
    if t == "structure":
        return {m: _placeholder(s["shape"], m) for m, s in shape.get("members", {}).items()
                if m in shape.get("required", [])}
    if t in ("integer", "long"):
        return 1
    if t == "boolean":
        return False
    if t == "blob":
        return "asset-bytes"
    return "value"


def _request_for(op_name: str):
    op = OPERATIONS[op_name]
    input_shape = SHAPES[op["input"]["shape"]] if "input" in op else {"members": {}}
    query, headers, body, payload = [], {}, {}, None
    for name, m in input_shape.get("members", {}).items():
        if name not in input_shape.get("required", []):
            continue
        loc = m.get("location")
        value = _placeholder(m["shape"], name)
        if loc == "querystring":
            query.append((m.get("locationName", name), value))
        elif loc == "header":
            headers[m.get("locationName", name)] = str(value)
        elif input_shape.get("payload") == name:
            payload = b"asset-bytes"
        else:
            body[name] = value
    data = payload if payload is not None else (json.dumps(body).encode() if body else None)
    if payload is not None:
        headers["x-amz-content-sha256"] = sha256_of(payload)
        headers["Content-Type"] = "application/octet-stream"
    return op["http"]["method"], op["http"]["requestUri"].split("?")[0], query, data, headers


def test_every_operation_is_routed_and_served(raw, ca):
    """All 48 operations of the model are served: a request with placeholder required members
    reaches the operation (it may fail with a 4xx about its inputs or a missing repository, but
    never 501 / NotImplementedException, never UNKNOWN_OPERATION, never a 5xx). Runs in a
    domain of its own: the placeholders create and delete things (e.g. `some-repo`)."""
    assert IMPLEMENTED_OPERATIONS == set(OPERATIONS) and len(OPERATIONS) == 48
    d = unique("served")
    ca.create_domain(domain=d)
    failures = []
    try:
        for op_name in sorted(OPERATIONS):
            method, path, query, data, headers = _request_for(op_name)
            query = [(k, d if k == "domain" else v) for k, v in query]
            resp = raw(method, path, query, data, headers)
            body = resp.json if isinstance(resp.json, dict) else {}
            if (resp.status >= 500 or resp.error_type == "NotImplementedException"
                    or body.get("reason") == "UNKNOWN_OPERATION" or not resp.header("x-amzn-RequestId")):
                failures.append(f"{op_name} ({method} {path}): {resp.status} {resp.error_type} {resp.body[:200]!r}")
            elif resp.status >= 400 and not (resp.error_type and body.get("message")):
                failures.append(f"{op_name}: malformed error {resp.status} {resp.body[:200]!r}")
    finally:
        for r in ca.list_repositories_in_domain(domain=d).get("repositories", []):
            ca.delete_repository(domain=d, repository=r["name"])
        ca.delete_domain(domain=d)
    assert not failures, "operations not served:\n" + "\n".join(failures)


# ----------------------------------------------------------------------------- process lifecycle


def test_sigterm_exits_cleanly_and_state_persists(server_factory, tmp_path):
    data = tmp_path / "persist"
    first = server_factory(data_dir=data)
    client = make_client(first.endpoint)
    d = unique("persist")
    client.create_domain(domain=d, tags=[{"key": "k", "value": "v"}])
    client.create_repository(domain=d, repository="kept", description="survives restarts")
    policy = client.put_domain_permissions_policy(domain=d, policyDocument=POLICY)["policy"]
    token = client.get_authorization_token(domain=d)["authorizationToken"]

    first.proc.send_signal(signal.SIGTERM)
    rc = first.proc.wait(timeout=15)
    assert rc == 0, f"SIGTERM should exit 0, got {rc}\n{first.log()}"

    second = server_factory(data_dir=data)
    client = make_client(second.endpoint)
    domain = client.describe_domain(domain=d)["domain"]
    assert domain["repositoryCount"] == 1
    repo = client.describe_repository(domain=d, repository="kept")["repository"]
    assert repo["description"] == "survives restarts"
    assert client.get_domain_permissions_policy(domain=d)["policy"] == policy
    assert client.list_tags_for_resource(resourceArn=domain["arn"])["tags"] == [{"key": "k", "value": "v"}]

    # a token minted before the restart is still accepted (the key lives in the data dir)
    url = f"{second.endpoint}/npm/d/{d}-{ACCOUNT}/kept/"
    resp = endpoint_get(url, f"Bearer {token}")
    assert resp.status not in (401, 403) and resp.status < 500, resp

    start = time.monotonic()
    second.proc.send_signal(signal.SIGTERM)
    assert second.proc.wait(timeout=15) == 0
    assert time.monotonic() - start < 10


# ----------------------------------------------------------------------------- more query / auth rules


@contextlib.contextmanager
def domain_with_plus_revision(ca, prefix: str):
    """A fresh domain whose permissions policy (POLICY, put again until its base64 revision holds
    a `+`) is current: (domain, revision). Policy and domain are deleted afterwards."""
    d = unique(prefix)
    ca.create_domain(domain=d)
    try:
        for _ in range(40):
            revision = ca.put_domain_permissions_policy(domain=d, policyDocument=POLICY)["policy"]["revision"]
            if "+" in revision:
                break
        else:
            raise AssertionError(f"no policy revision with a '+' in 40 tries (last {revision!r})")
        yield d, revision
    finally:
        try:
            ca.delete_domain_permissions_policy(domain=d)
        except Exception:
            pass
        ca.delete_domain(domain=d)


def test_literal_plus_in_query_is_a_plus(raw, ca, server):
    """Spec §3.2: a literal `+` in the query is a plus sign (policy revisions are base64)."""
    with domain_with_plus_revision(ca, "plus") as (d, revision):
        # keep `+` literal, escape only what must be escaped. botocore would canonicalise the
        # literal `+` as-is, so sign with the independent signer, which reads it as a plus.
        # guard: the independent signer with a fully escaped (%2B) value is accepted
        guard = f"domain={d}&policy-revision={urllib.parse.quote(revision + 'x', safe='')}"
        headers = _manual_sigv4("DELETE", "/v1/domain/permissions/policy", guard,
                                {"Host": server.address}, b"", ["host", "x-amz-date"])
        resp = raw("DELETE", "/v1/domain/permissions/policy", guard, None, headers, sign=False)
        assert resp.status == 409 and resp.error_type == "ConflictException", resp

        encoded = urllib.parse.quote(revision, safe="+")
        query = f"domain={d}&policy-revision={encoded}"
        headers = _manual_sigv4("DELETE", "/v1/domain/permissions/policy", query,
                                {"Host": server.address}, b"", ["host", "x-amz-date"])
        resp = raw("DELETE", "/v1/domain/permissions/policy", query, None, headers, sign=False)
        assert resp.status == 200, (revision, resp)
        assert resp.json["policy"]["revision"] == revision


def test_repeated_query_key_takes_the_first(raw, existing_domain):
    missing = unique("second")
    resp = raw("GET", "/v1/domain", [("domain", existing_domain), ("domain", missing)])
    assert resp.status == 200, resp
    assert resp.json["domain"]["name"] == existing_domain


def test_session_token_for_key_without_session(raw):
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    def resign(method, target, headers, data):
        h = {k: v for k, v in headers.items() if k.lower() not in ("authorization", "x-amz-date")}
        req = AWSRequest(method=method, url=f"http://{h['Host']}{target}", data=data or b"", headers=h)
        SigV4Auth(Credentials("test", "test", token="FQoGZXIvYXdzEXAMPLE"), "codeartifact", REGION).add_auth(req)
        return method, target, dict(req.headers.items()), data

    resp = raw("POST", "/v1/domains", None, {}, tamper=resign)
    assert resp.status == 403, resp
    assert resp.error_type == "UnrecognizedClientException", resp


def _manual_sigv4(method, path, query, headers, body, signed, secret="test", access_key=ACCESS_KEY,
                  scope_suffix="codeartifact/aws4_request", when=None):
    """A small independent SigV4 signer, so tests can sign things botocore never would."""
    import hmac

    when = when or dt.datetime.now(dt.timezone.utc)
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    day = when.strftime("%Y%m%d")
    headers = dict(headers)
    headers["X-Amz-Date"] = amz_date
    lower = {k.lower(): str(v).strip() for k, v in headers.items()}
    # decode %XX only (a literal `+` stays a plus sign, spec §3.2), then encode canonically
    pairs = sorted(
        (urllib.parse.unquote(k), urllib.parse.unquote(v))
        for k, _, v in (p.partition("=") for p in query.split("&") if p)
    )
    canonical_query = "&".join(
        f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}" for k, v in pairs)
    canonical_headers = "".join(f"{h}:{lower[h]}\n" for h in signed)
    payload_hash = sha256_of(body or b"")
    canonical = "\n".join([method, urllib.parse.quote(path, safe="/-_.~"), canonical_query, canonical_headers,
                           ";".join(signed), payload_hash])
    scope = f"{day}/{REGION}/{scope_suffix}"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, sha256_of(canonical.encode())])

    def h(key, msg):
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    key = h(h(h(h(("AWS4" + secret).encode(), day), REGION), "codeartifact"), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
                                f"SignedHeaders={';'.join(signed)}, Signature={signature}")
    return headers


def test_independent_signer_is_accepted(raw, server):
    """Guards the two tests below: the same hand-made signature, with host signed, works."""
    headers = _manual_sigv4("POST", "/v1/domains", "", {"Host": server.address}, b"{}", ["host", "x-amz-date"])
    resp = raw("POST", "/v1/domains", None, b"{}", headers, sign=False)
    assert resp.status == 200, resp


def test_host_not_signed_is_incomplete_signature(raw, server):
    headers = _manual_sigv4("POST", "/v1/domains", "", {"Host": server.address}, b"{}", ["x-amz-date"])
    resp = raw("POST", "/v1/domains", None, b"{}", headers, sign=False)
    assert resp.status == 403, resp
    assert resp.error_type == "IncompleteSignatureException", resp


def test_bad_credential_scope_is_incomplete_signature(raw, server):
    headers = _manual_sigv4("POST", "/v1/domains", "", {"Host": server.address}, b"{}", ["host", "x-amz-date"],
                            scope_suffix="codeartifact")
    resp = raw("POST", "/v1/domains", None, b"{}", headers, sign=False)
    assert resp.status == 403, resp
    assert resp.error_type == "IncompleteSignatureException", resp


def test_non_object_json_bodies_are_refused(raw, existing_domain):
    for body in ("[]", "\"text\"", "null", "42"):
        resp = raw("POST", "/v1/repository", {"domain": existing_domain, "repository": "nonobj"}, body)
        assert resp.status == 400 and resp.error_type == "ValidationException", (body, resp)
    assert raw("GET", "/v1/repository", {"domain": existing_domain, "repository": "nonobj"}).status == 404


def test_state_survives_sigkill(server_factory, tmp_path):
    """Handlers commit before answering: a kill -9 right after a 200 loses nothing."""
    data = tmp_path / "killed"
    first = server_factory(data_dir=data)
    client = make_client(first.endpoint)
    d = unique("kill")
    client.create_domain(domain=d)
    client.create_repository(domain=d, repository="r1")
    client.tag_resource(resourceArn=f"arn:aws:codeartifact:{REGION}:{ACCOUNT}:domain/{d}",
                        tags=[{"key": "k", "value": "v"}])
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(timeout=10)

    second = server_factory(data_dir=data)
    client = make_client(second.endpoint)
    assert client.describe_domain(domain=d)["domain"]["repositoryCount"] == 1
    assert client.describe_repository(domain=d, repository="r1")["repository"]["name"] == "r1"
    assert client.list_tags_for_resource(
        resourceArn=f"arn:aws:codeartifact:{REGION}:{ACCOUNT}:domain/{d}")["tags"] == [{"key": "k", "value": "v"}]


def test_literal_plus_signed_as_space_is_refused(raw, ca, server):
    """The signature must cover the value the server acts on: a request whose literal `+` was
    signed as a space (form-decoding) must not be executed with a `+` (spec §3.1, §3.2)."""
    with domain_with_plus_revision(ca, "plusspace") as (d, revision):
        query = f"domain={d}&policy-revision={urllib.parse.quote(revision, safe='+')}"
        signed_as = f"domain={d}&policy-revision={urllib.parse.quote(revision.replace('+', ' '), safe='')}"
        headers = _manual_sigv4("DELETE", "/v1/domain/permissions/policy", signed_as,
                                {"Host": server.address}, b"", ["host", "x-amz-date"])
        resp = raw("DELETE", "/v1/domain/permissions/policy", query, None, headers, sign=False)
        assert resp.status == 403 and resp.error_type == "InvalidSignatureException", resp
        assert ca.get_domain_permissions_policy(domain=d)["policy"]["revision"] == revision, \
            "the policy was deleted by a request whose signature covered another value"


# ----------------------------------------------------------------------------- package inputs


@pytest.fixture(scope="module")
def package_repo(ca):
    d = unique("pkgin")
    ca.create_domain(domain=d)
    ca.create_repository(domain=d, repository="repo")
    yield d
    try:
        ca.delete_repository(domain=d, repository="repo")
        ca.delete_domain(domain=d)
    except Exception:
        pass


@pytest.mark.parametrize("asset", [".", "..", " lead.bin", "trail.bin ", "two  spaces.bin", "a/b.bin",
                                   "back\\slash.bin", "tab\tname", "star*.bin", "question?.bin",
                                   "pipe|.bin", "quote\".bin", "colon:.bin", "lt<gt>.bin"])
def test_generic_asset_name_rules(raw, package_repo, asset):
    """Spec §7.7 PublishPackageVersion: generic asset-name rules → ValidationException."""
    resp = publish_generic(raw, package_repo, "repo", "ns", "names", "1.0.0", asset, b"x")
    assert resp.status == 400 and resp.error_type == "ValidationException", resp
    missing = raw("GET", "/v1/package/version", {"domain": package_repo, "repository": "repo", "format": "generic",
                                                 "namespace": "ns", "package": "names", "version": "1.0.0"})
    assert missing.status == 404, "a refused publish creates nothing"


def test_generic_asset_name_allowed_characters(raw, package_repo):
    names = ["file (1).tar.gz", "ünïcode-名前.bin", "~!@^&()-_+[]{};,.", "a b c", "x"]
    for i, asset in enumerate(names):
        resp = publish_generic(raw, package_repo, "repo", "ns", "allowed", "1.0.0", asset, f"{i}".encode(),
                               unfinished=True)
        assert resp.status == 200, (asset, resp)
        assert resp.json["asset"]["name"] == asset
    # non-ASCII names travel UTF-8 encoded in X-AssetName (spec §7.7 GetPackageVersionAsset)
    resp = raw("GET", "/v1/package/version/asset", {"domain": package_repo, "repository": "repo", "format": "generic",
                                                    "namespace": "ns", "package": "allowed", "version": "1.0.0",
                                                    "asset": names[1]})
    assert resp.status == 200 and resp.body == b"1", resp
    header = resp.header("X-AssetName")
    assert header is not None
    assert header.encode("latin-1").decode("utf-8") == names[1], header


def test_package_input_validation(raw, package_repo):
    d = package_repo
    base = {"domain": d, "repository": "repo", "format": "generic", "namespace": "ns", "package": "val"}
    cases = {
        "format not generic": lambda: raw(
            "POST", "/v1/package/version/publish", dict(base, format="npm", version="1.0.0", asset="a"),
            b"a", {"x-amz-content-sha256": sha256_of(b"a"),
                   "Content-Type": "application/octet-stream"}),
        "generic without namespace": lambda: raw(
            "POST", "/v1/package/version/publish",
            {k: v for k, v in dict(base, version="1.0.0", asset="a").items() if k != "namespace"},
            b"a", {"x-amz-content-sha256": sha256_of(b"a"),
                   "Content-Type": "application/octet-stream"}),
        "unfinished not a boolean": lambda: raw(
            "POST", "/v1/package/version/publish", dict(base, version="1.0.0", asset="a", unfinished="yes"),
            b"a", {"x-amz-content-sha256": sha256_of(b"a"),
                   "Content-Type": "application/octet-stream"}),
        "no x-amz-content-sha256": lambda: raw(
            "POST", "/v1/package/version/publish", dict(base, version="1.0.0", asset="a"), b"a",
            {"Content-Type": "application/octet-stream"}),
        "origin configuration without upstream": lambda: raw(
            "POST", "/v1/package", base, {"restrictions": {"publish": "ALLOW"}}),
        "origin configuration without restrictions": lambda: raw("POST", "/v1/package", base, {}),
        "origin configuration bad value": lambda: raw(
            "POST", "/v1/package", base, {"restrictions": {"publish": "allow", "upstream": "BLOCK"}}),
        "namespace with a slash": lambda: raw("GET", "/v1/package", dict(base, namespace="a/b")),
        "empty namespace": lambda: raw("GET", "/v1/package", dict(base, namespace="")),
        "format in upper case": lambda: raw("GET", "/v1/package", dict(base, format="GENERIC")),
        "status not an enum value": lambda: raw("POST", "/v1/package/versions", dict(base, status="published")),
        "sortBy not an enum value": lambda: raw("POST", "/v1/package/versions", dict(base, sortBy="NAME")),
        "max-results 0": lambda: raw("POST", "/v1/packages", {"domain": d, "repository": "repo",
                                                              "max-results": "0"}),
        "versions missing": lambda: raw("POST", "/v1/package/versions/delete", base, {}),
        "targetStatus missing": lambda: raw("POST", "/v1/package/versions/update_status", base,
                                            {"versions": ["1.0.0"]}),
        "group pattern with whitespace": lambda: raw("POST", "/v1/package-group", {"domain": d},
                                                     {"packageGroup": "/npm/a b/*"}),
        "originRestrictionType missing": lambda: raw("GET", "/v1/package-group-allowed-repositories",
                                                     {"domain": d, "package-group": "/*"}),
        "restriction mode unknown": lambda: raw("PUT", "/v1/package-group-origin-configuration",
                                                {"domain": d, "package-group": "/*"},
                                                {"restrictions": {"PUBLISH": "SOMETIMES"}}),
    }
    failures = []
    for what, call in cases.items():
        resp = call()
        if not (resp.status == 400 and resp.error_type == "ValidationException"):
            failures.append(f"{what}: {resp.status} {resp.error_type} {resp.body[:200]!r}")
    assert not failures, "expected ValidationException:\n" + "\n".join(failures)
    listed = raw("POST", "/v1/packages", {"domain": d, "repository": "repo", "package-prefix": "val"})
    assert listed.status == 200 and listed.json["packages"] == [], "nothing was created"


def test_package_not_found_order(raw, package_repo):
    """Spec §3.5 step 5: domain, then repository, then package, then version, then asset."""
    d = package_repo
    q = {"domain": d, "repository": "repo", "format": "generic", "namespace": "ns", "package": "nf",
         "version": "1.0.0", "asset": "a.bin"}
    assert publish_generic(raw, d, "repo", "ns", "nf", "1.0.0", "a.bin", b"a").status == 200
    expectations = [
        (dict(q, domain=unique("nodom")), "domain"),
        (dict(q, repository="absent"), "repository"),
        (dict(q, package="absent"), "package"),
        (dict(q, version="9.9.9"), "package-version"),
        (dict(q, asset="absent.bin"), "asset"),
    ]
    for query, resource_type in expectations:
        resp = raw("GET", "/v1/package/version/asset", query)
        assert resp.status == 404 and resp.error_type == "ResourceNotFoundException", (query, resp)
        assert resp.json.get("resourceType") == resource_type, (resource_type, resp)


def test_publish_with_chunked_body(server, package_repo):
    """Spec §3.2: a publish body may arrive with Transfer-Encoding: chunked."""
    import http.client

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    data = b"chunk-one|" * 500 + b"chunk-two"
    query = urllib.parse.urlencode({"domain": package_repo, "repository": "repo", "format": "generic",
                                    "namespace": "ns", "package": "chunked", "version": "1.0.0",
                                    "asset": "c.bin"}, quote_via=urllib.parse.quote)
    target = f"/v1/package/version/publish?{query}"
    headers = {"Host": server.address, "x-amz-content-sha256": sha256_of(data),
               "Content-Type": "application/octet-stream", "Transfer-Encoding": "chunked"}
    req = AWSRequest(method="POST", url=f"http://{server.address}{target}", data=b"", headers=dict(headers))
    SigV4Auth(Credentials(ACCESS_KEY, "test"), "codeartifact", REGION).add_auth(req)
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        conn.putrequest("POST", target, skip_host=True, skip_accept_encoding=True)
        for k, v in req.headers.items():
            conn.putheader(k, v)
        conn.endheaders()
        for i in range(0, len(data), 1000):
            chunk = data[i:i + 1000]
            conn.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        conn.send(b"0\r\n\r\n")
        resp = conn.getresponse()
        body = json.loads(resp.read())
    finally:
        conn.close()
    assert resp.status == 200, body
    assert body["asset"]["size"] == len(data)
    assert body["asset"]["hashes"]["SHA-256"] == sha256_of(data)
