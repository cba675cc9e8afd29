"""The operations through boto3: results, modeled error members
(`e.response['Error']['Code']`, `resourceId`, `resourceType`, `reason`), paginators,
authentication failures and cross-account scoping. References: control-plane spec §3.1
(authentication errors), §3.4, §5.2, §6, §7, §12, §13; policies spec §9."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import (
    ACCOUNT,
    OTHER_ACCESS_KEY,
    OTHER_ACCOUNT,
    OTHER_SECRET_KEY,
    REGION,
    allow_policy,
    endpoint_get,
    sha256_of,
    unique,
)


def error_of(excinfo) -> ClientError:
    return excinfo.value


def expect_error(code: str, status: int, fn, *args, **kwargs) -> dict:
    with pytest.raises(ClientError) as ei:
        fn(*args, **kwargs)
    resp = ei.value.response
    assert resp["Error"]["Code"] == code, resp
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == status, resp
    assert resp["Error"].get("Message"), "every error carries a message"
    assert resp["ResponseMetadata"].get("RequestId"), "x-amzn-RequestId on errors"
    return resp


# ----------------------------------------------------------------------------- domains


def test_domain_operations(ca, track):
    name = unique("dom")
    track.domain(name)
    created = ca.create_domain(domain=name)["domain"]
    assert created["name"] == name and created["owner"] == ACCOUNT and created["status"] == "Active"
    assert isinstance(created["createdTime"], dt.datetime)
    assert created["repositoryCount"] == 0 and created["assetSizeBytes"] == 0

    described = ca.describe_domain(domain=name, domainOwner=ACCOUNT)["domain"]
    assert described["arn"] == f"arn:aws:codeartifact:{REGION}:{ACCOUNT}:domain/{name}"
    assert described["createdTime"] == created["createdTime"]
    assert described["encryptionKey"] == created["encryptionKey"]

    listed = [d for d in ca.list_domains()["domains"] if d["name"] == name]
    assert len(listed) == 1
    assert listed[0]["arn"] == described["arn"]
    assert listed[0]["encryptionKey"] == described["encryptionKey"]

    resp = expect_error("ConflictException", 409, ca.create_domain, domain=name)
    assert resp.get("resourceType") == "domain"
    assert resp.get("resourceId") == name

    deleted = ca.delete_domain(domain=name)["domain"]
    assert deleted["status"] == "Deleted"
    assert deleted["repositoryCount"] == 0

    resp = expect_error("ResourceNotFoundException", 404, ca.describe_domain, domain=name)
    assert resp.get("resourceType") == "domain", resp
    assert resp.get("resourceId") == name, resp
    resp = expect_error("ResourceNotFoundException", 404, ca.delete_domain, domain=name)
    assert resp.get("resourceType") == "domain", resp

    # the name is free again
    track.domain(name)
    again = ca.create_domain(domain=name)["domain"]
    assert again["repositoryCount"] == 0


def test_validation_errors_carry_reason(ca):
    resp = expect_error("ValidationException", 400, ca.create_domain, domain="Not_Valid")
    assert resp.get("reason") == "FIELD_VALIDATION_FAILED", resp
    resp = expect_error("ValidationException", 400, ca.describe_domain, domain="ok-name",
                        domainOwner="12345678901a")
    assert resp.get("reason") == "FIELD_VALIDATION_FAILED", resp
    resp = expect_error("ValidationException", 400, ca.list_repositories, repositoryPrefix="has space")
    assert resp.get("reason") == "FIELD_VALIDATION_FAILED", resp


def test_domain_quota(client_factory, track):
    # the second account's quota, so other tests' domains never interfere
    other = client_factory(OTHER_ACCESS_KEY, OTHER_SECRET_KEY)
    existing = len(other.list_domains(maxResults=100)["domains"])
    for _ in range(10 - existing):
        track.create_domain(account=OTHER_ACCOUNT)
    name = unique("over")
    track.domain(name, OTHER_ACCOUNT)
    resp = expect_error("ServiceQuotaExceededException", 402, other.create_domain, domain=name)
    assert resp.get("resourceType") == "domain", resp
    expect_error("ResourceNotFoundException", 404, other.describe_domain, domain=name)


# ----------------------------------------------------------------------------- repositories


def test_repository_operations(ca, track):
    domain = track.create_domain()["name"]
    up = ca.create_repository(domain=domain, repository="up")["repository"]
    assert up["upstreams"] == [] and up["externalConnections"] == []
    repo = ca.create_repository(
        domain=domain, domainOwner=ACCOUNT, repository="main", description="d1",
        upstreams=[{"repositoryName": "up"}], tags=[{"key": "k", "value": "v"}],
    )["repository"]
    assert repo["upstreams"] == [{"repositoryName": "up"}]
    assert repo["administratorAccount"] == ACCOUNT
    assert isinstance(repo["createdTime"], dt.datetime)

    assert ca.describe_repository(domain=domain, repository="main")["repository"] == repo

    updated = ca.update_repository(domain=domain, repository="main", description="d2", upstreams=[])["repository"]
    assert updated["description"] == "d2" and updated["upstreams"] == []
    assert updated["createdTime"] == repo["createdTime"]

    resp = expect_error("ConflictException", 409, ca.create_repository, domain=domain, repository="main")
    assert resp.get("resourceType") == "repository" and resp.get("resourceId") == "main", resp
    resp = expect_error("ResourceNotFoundException", 404, ca.describe_repository, domain=domain,
                        repository="absent")
    assert resp.get("resourceType") == "repository" and resp.get("resourceId") == "absent", resp
    resp = expect_error("ResourceNotFoundException", 404, ca.describe_repository, domain=unique("nodom"),
                        repository="main")
    assert resp.get("resourceType") == "domain", resp
    resp = expect_error("ResourceNotFoundException", 404, ca.create_repository, domain=domain,
                        repository="x1", upstreams=[{"repositoryName": "ghost"}])
    assert resp.get("resourceType") == "repository", resp

    assert ca.describe_domain(domain=domain)["domain"]["repositoryCount"] == 2
    deleted = ca.delete_repository(domain=domain, repository="main")["repository"]
    assert deleted["name"] == "main"
    assert ca.describe_domain(domain=domain)["domain"]["repositoryCount"] == 1
    resp = expect_error("ConflictException", 409, ca.delete_domain, domain=domain)
    assert resp.get("resourceType") == "domain", resp


def test_deleted_upstream_stays_listed(ca, track):
    """Spec §11.3: deleting an upstream leaves a dangling entry; UpdateRepository re-resolves."""
    domain = track.create_domain()["name"]
    ca.create_repository(domain=domain, repository="up")
    ca.create_repository(domain=domain, repository="down", upstreams=[{"repositoryName": "up"}])
    ca.delete_repository(domain=domain, repository="up")
    down = ca.describe_repository(domain=domain, repository="down")["repository"]
    assert down["upstreams"] == [{"repositoryName": "up"}]
    ca.create_repository(domain=domain, repository="up")
    fixed = ca.update_repository(domain=domain, repository="down", upstreams=[{"repositoryName": "up"}])
    assert fixed["repository"]["upstreams"] == [{"repositoryName": "up"}]


def test_external_connection_and_endpoint(ca, track, server):
    domain = track.create_domain()["name"]
    ca.create_repository(domain=domain, repository="pypi-store")
    repo = ca.associate_external_connection(domain=domain, repository="pypi-store",
                                            externalConnection="public:pypi")["repository"]
    assert repo["externalConnections"][0]["packageFormat"] == "pypi"
    assert repo["externalConnections"][0]["status"] == "Available"
    resp = expect_error("ValidationException", 400, ca.associate_external_connection, domain=domain,
                        repository="pypi-store", externalConnection="public:npmjs")
    resp = expect_error("ConflictException", 409, ca.associate_external_connection, domain=domain,
                        repository="pypi-store", externalConnection="public:pypi")
    assert resp.get("resourceType") == "repository", resp
    repo = ca.disassociate_external_connection(domain=domain, repository="pypi-store",
                                               externalConnection="public:pypi")["repository"]
    assert repo["externalConnections"] == []

    url = ca.get_repository_endpoint(domain=domain, repository="pypi-store", format="pypi")["repositoryEndpoint"]
    assert url == f"http://127.0.0.1:{server.port}/pypi/d/{domain}-{ACCOUNT}/pypi-store/"
    expect_error("ValidationException", 400, ca.get_repository_endpoint, domain=domain,
                 repository="pypi-store", format="Pypi")


def test_authorization_token(ca, track):
    domain = track.create_domain()["name"]
    before = time.time()
    out = ca.get_authorization_token(domain=domain, durationSeconds=900)
    assert isinstance(out["expiration"], dt.datetime)
    assert out["expiration"].timestamp() == pytest.approx(before + 900, abs=60)
    zero = ca.get_authorization_token(domain=domain, durationSeconds=0)
    assert zero["expiration"].timestamp() == pytest.approx(time.time() + 43200, abs=60)
    assert zero["authorizationToken"] != out["authorizationToken"]
    resp = expect_error("ValidationException", 400, ca.get_authorization_token, domain=domain,
                        durationSeconds=600)
    resp = expect_error("ValidationException", 400, ca.get_authorization_token, domain=domain,
                        durationSeconds=50000)
    resp = expect_error("ResourceNotFoundException", 404, ca.get_authorization_token, domain=unique("nodom"))
    assert resp.get("resourceType") == "domain", resp


def test_policies(ca, track):
    domain = track.create_domain()["name"]
    ca.create_repository(domain=domain, repository="r1")
    doc = allow_policy(ACCOUNT, "codeartifact:*")
    dp = ca.put_domain_permissions_policy(domain=domain, policyDocument=doc)["policy"]
    assert dp["document"] == doc
    assert ca.get_domain_permissions_policy(domain=domain)["policy"] == dp
    resp = expect_error("ConflictException", 409, ca.put_domain_permissions_policy, domain=domain,
                        policyDocument=doc, policyRevision="stale")
    rp = ca.put_repository_permissions_policy(domain=domain, repository="r1", policyDocument=doc)["policy"]
    assert rp["resourceArn"].endswith(f":repository/{domain}/r1")
    assert ca.get_repository_permissions_policy(domain=domain, repository="r1")["policy"] == rp
    assert ca.delete_repository_permissions_policy(domain=domain, repository="r1",
                                                   policyRevision=rp["revision"])["policy"] == rp
    resp = expect_error("ResourceNotFoundException", 404, ca.get_repository_permissions_policy,
                        domain=domain, repository="r1")
    assert resp.get("resourceType") == "repository", resp
    assert ca.delete_domain_permissions_policy(domain=domain)["policy"] == dp
    resp = expect_error("ResourceNotFoundException", 404, ca.get_domain_permissions_policy, domain=domain)
    assert resp.get("resourceType") == "domain", resp
    resp = expect_error("ValidationException", 400, ca.put_domain_permissions_policy, domain=domain,
                        policyDocument=json.dumps({"Statement": [{"Effect": "Maybe", "Principal": "*",
                                                                  "Action": "*"}]}))


def test_tags(ca, track):
    domain = track.create_domain(tags=[{"key": "a", "value": "1"}])
    arn = domain["arn"]
    assert ca.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "a", "value": "1"}]
    out = ca.tag_resource(resourceArn=arn, tags=[{"key": "b", "value": "2"}])
    assert set(out) == {"ResponseMetadata"}
    ca.untag_resource(resourceArn=arn, tagKeys=["a"])
    assert ca.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "b", "value": "2"}]
    resp = expect_error("ValidationException", 400, ca.tag_resource, resourceArn=arn,
                        tags=[{"key": "dup", "value": "1"}, {"key": "dup", "value": "2"}])
    resp = expect_error("ServiceQuotaExceededException", 402, ca.tag_resource, resourceArn=arn,
                        tags=[{"key": f"k{i}", "value": "v"} for i in range(50)])
    assert ca.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "b", "value": "2"}], \
        "a refused TagResource changes nothing"
    # tags are removed with the domain: a new domain with the same name starts untagged
    ca.delete_domain(domain=domain["name"])
    ca.create_domain(domain=domain["name"])
    assert ca.list_tags_for_resource(resourceArn=arn)["tags"] == []


# ----------------------------------------------------------------------------- paginators


def test_paginators(ca, track):
    prefix = unique("pg")
    domains = sorted(f"{prefix}-{i}" for i in range(4))
    for d in domains:
        track.create_domain(name=d)
    repos = sorted(f"{prefix}-r{i}" for i in range(5))
    for r in repos:
        ca.create_repository(domain=domains[0], repository=r)
    ca.create_repository(domain=domains[1], repository=f"{prefix}-r9")

    pages = list(ca.get_paginator("list_domains").paginate(PaginationConfig={"PageSize": 1}))
    mine = [d["name"] for p in pages for d in p["domains"] if d["name"].startswith(prefix)]
    assert mine == domains
    assert len(pages) >= 4
    for p in pages[:-1]:
        assert p.get("nextToken"), "every page but the last carries nextToken"
    assert "nextToken" not in pages[-1], "no nextToken (not even empty) on the last page"

    pages = list(ca.get_paginator("list_repositories").paginate(repositoryPrefix=prefix,
                                                                 PaginationConfig={"PageSize": 2}))
    assert [len(p["repositories"]) for p in pages] == [2, 2, 2]
    assert [r["name"] for p in pages for r in p["repositories"]] == repos + [f"{prefix}-r9"]

    pages = list(ca.get_paginator("list_repositories_in_domain").paginate(
        domain=domains[0], PaginationConfig={"PageSize": 2}))
    assert [len(p["repositories"]) for p in pages] == [2, 2, 1]
    assert [r["name"] for p in pages for r in p["repositories"]] == repos

    result = ca.get_paginator("list_repositories_in_domain").paginate(
        domain=domains[0], PaginationConfig={"MaxItems": 3, "PageSize": 2}).build_full_result()
    assert [r["name"] for r in result["repositories"]] == repos[:3]
    assert result.get("NextToken")

    first = ca.list_repositories_in_domain(domain=domains[0], maxResults=2)
    second = ca.list_repositories_in_domain(domain=domains[0], maxResults=2, nextToken=first["nextToken"])
    assert [r["name"] for r in second["repositories"]] == repos[2:4]

    # a token that the server did not issue → ValidationException (spec §12)
    expect_error("ValidationException", 400, ca.list_repositories_in_domain, domain=domains[0],
                 nextToken="not-a-real-token")
    expect_error("ValidationException", 400, ca.list_domains, nextToken="garbage-token")


def test_default_page_size_is_100(ca, track):
    domain = track.create_domain()["name"]
    for i in range(101):
        ca.create_repository(domain=domain, repository=f"r{i:03d}")
    page = ca.list_repositories_in_domain(domain=domain)
    assert len(page["repositories"]) == 100
    assert page.get("nextToken")
    rest = ca.list_repositories_in_domain(domain=domain, nextToken=page["nextToken"])
    assert [r["name"] for r in rest["repositories"]] == ["r100"]
    assert "nextToken" not in rest


# ----------------------------------------------------------------------------- authentication


def test_wrong_secret_is_invalid_signature(client_factory):
    bad = client_factory("test", "not-the-secret")
    expect_error("InvalidSignatureException", 403, bad.list_domains)


def test_unknown_access_key_is_unrecognized_client(client_factory):
    bad = client_factory("AKIDNOBODY", "whatever")
    expect_error("UnrecognizedClientException", 403, bad.list_domains)


def test_refused_request_changes_nothing(client_factory, ca):
    name = unique("refused")
    bad = client_factory("test", "not-the-secret")
    expect_error("InvalidSignatureException", 403, bad.create_domain, domain=name)
    expect_error("ResourceNotFoundException", 404, ca.describe_domain, domain=name)


def test_region_comes_from_the_signature(client_factory, track):
    west = client_factory(region="us-west-2")
    name = unique("west")
    try:
        d = west.create_domain(domain=name)["domain"]
        assert d["arn"] == f"arn:aws:codeartifact:us-west-2:{ACCOUNT}:domain/{name}"
        # domains are per region: not visible from us-east-1
        east = client_factory()
        assert name not in [x["name"] for x in east.list_domains()["domains"]]
        expect_error("ResourceNotFoundException", 404, east.describe_domain, domain=name)
    finally:
        try:
            west.delete_domain(domain=name)
        except ClientError:
            pass


# ----------------------------------------------------------------------------- accounts


def test_account_scoping_and_cross_account_policy(ca, ca_other, track):
    domain = track.create_domain()["name"]
    ca.create_repository(domain=domain, repository="shared")

    assert domain not in [d["name"] for d in ca_other.list_domains()["domains"]]
    assert "shared" not in [r["name"] for r in ca_other.list_repositories()["repositories"]]

    # no domain policy: the other account is refused
    expect_error("AccessDeniedException", 403, ca_other.describe_domain, domain=domain, domainOwner=ACCOUNT)
    expect_error("AccessDeniedException", 403, ca_other.get_authorization_token, domain=domain,
                 domainOwner=ACCOUNT)
    expect_error("AccessDeniedException", 403, ca_other.create_repository, domain=domain,
                 domainOwner=ACCOUNT, repository="sneaky")
    # without domainOwner the other account looks in its own account
    expect_error("ResourceNotFoundException", 404, ca_other.describe_domain, domain=domain)

    ca.put_domain_permissions_policy(
        domain=domain,
        policyDocument=allow_policy(OTHER_ACCOUNT, ["codeartifact:DescribeDomain",
                                                     "codeartifact:GetAuthorizationToken",
                                                     "codeartifact:CreateRepository"]),
    )
    seen = ca_other.describe_domain(domain=domain, domainOwner=ACCOUNT)["domain"]
    assert seen["owner"] == ACCOUNT
    # still not listed: ListDomains is scoped to the caller's own domains
    assert domain not in [d["name"] for d in ca_other.list_domains()["domains"]]

    token = ca_other.get_authorization_token(domain=domain, domainOwner=ACCOUNT)
    assert token["authorizationToken"]
    # the token opens our domain's endpoint for the other account (401 would mean "not a token")
    url = ca.get_repository_endpoint(domain=domain, repository="shared", format="npm")["repositoryEndpoint"]
    resp = endpoint_get(url, f"Bearer {token['authorizationToken']}")
    assert resp.status != 401 and resp.status < 500, resp

    # a repository created by the other account in our domain: administered by it, ARN ours
    theirs = ca_other.create_repository(domain=domain, domainOwner=ACCOUNT, repository="theirs")["repository"]
    assert theirs["administratorAccount"] == OTHER_ACCOUNT
    assert theirs["domainOwner"] == ACCOUNT
    assert theirs["arn"] == f"arn:aws:codeartifact:{REGION}:{ACCOUNT}:repository/{domain}/theirs"
    assert "theirs" in [r["name"] for r in ca_other.list_repositories()["repositories"]]
    assert "theirs" not in [r["name"] for r in ca.list_repositories()["repositories"]]
    in_domain = ca.list_repositories_in_domain(domain=domain, administratorAccount=OTHER_ACCOUNT)
    assert [r["name"] for r in in_domain["repositories"]] == ["theirs"]
    assert ca.describe_domain(domain=domain)["domain"]["repositoryCount"] == 2

    # a domain policy cannot be changed by another account
    expect_error("AccessDeniedException", 403, ca_other.put_domain_permissions_policy, domain=domain,
                 domainOwner=ACCOUNT, policyDocument=allow_policy(OTHER_ACCOUNT, "codeartifact:*"))


# ----------------------------------------------------------------------------- limits and lifecycle details


def test_length_limits_and_unicode(ca, track):
    domain = track.create_domain()["name"]
    ok = ca.create_repository(domain=domain, repository="long-desc", description="d" * 1000)["repository"]
    assert len(ok["description"]) == 1000
    expect_error("ValidationException", 400, ca.create_repository, domain=domain, repository="too-long",
                 description="d" * 1001)
    uni = ca.create_repository(domain=domain, repository="unicode", description="héllo wörld ✓ 日本")["repository"]
    assert uni["description"] == "héllo wörld ✓ 日本"
    assert ca.describe_repository(domain=domain, repository="unicode")["repository"]["description"] == \
        "héllo wörld ✓ 日本"
    expect_error("ValidationException", 400, ca.create_repository, domain=domain, repository="r" * 101)
    assert ca.create_repository(domain=domain, repository="r" * 100)["repository"]["name"] == "r" * 100

    arn = ok["arn"]
    ca.tag_resource(resourceArn=arn, tags=[{"key": "k" * 128, "value": "v" * 256}])
    expect_error("ValidationException", 400, ca.tag_resource, resourceArn=arn,
                 tags=[{"key": "k" * 129, "value": "v"}])
    expect_error("ValidationException", 400, ca.tag_resource, resourceArn=arn,
                 tags=[{"key": "k", "value": "v" * 257}])
    expect_error("ValidationException", 400, ca.tag_resource, resourceArn=arn,
                 tags=[{"key": "tab\tkey", "value": "v"}])
    assert ca.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "k" * 128, "value": "v" * 256}]

    # domain name length bounds: 2..50
    track.domain("ab")
    assert ca.create_domain(domain="ab")["domain"]["name"] == "ab"
    fifty = "a" + uuid.uuid4().hex[:10] + "b" * 39
    track.domain(fifty)
    assert ca.create_domain(domain=fifty)["domain"]["name"] == fifty


def test_deleted_repository_takes_its_policy_and_tags(ca, track):
    domain = track.create_domain()["name"]
    repo = ca.create_repository(domain=domain, repository="short-lived",
                                tags=[{"key": "k", "value": "v"}])["repository"]
    ca.put_repository_permissions_policy(domain=domain, repository="short-lived",
                                         policyDocument=allow_policy(ACCOUNT, "codeartifact:*"))
    ca.delete_repository(domain=domain, repository="short-lived")
    expect_error("ResourceNotFoundException", 404, ca.list_tags_for_resource, resourceArn=repo["arn"])
    ca.create_repository(domain=domain, repository="short-lived")
    assert ca.list_tags_for_resource(resourceArn=repo["arn"])["tags"] == []
    expect_error("ResourceNotFoundException", 404, ca.get_repository_permissions_policy, domain=domain,
                 repository="short-lived")


def test_policy_document_grammar(ca, track):
    domain = track.create_domain()["name"]
    stmt = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "codeartifact:*", "Resource": "*"}
    bad_docs = {
        "bad version": {"Version": "2020-01-01", "Statement": [stmt]},
        "no statement": {"Version": "2012-10-17"},
        "bad effect": {"Version": "2012-10-17", "Statement": [dict(stmt, Effect="Perhaps")]},
        "no effect": {"Version": "2012-10-17", "Statement": [{k: v for k, v in stmt.items() if k != "Effect"}]},
        "no principal": {"Version": "2012-10-17",
                         "Statement": [{k: v for k, v in stmt.items() if k != "Principal"}]},
        "no action": {"Version": "2012-10-17", "Statement": [{k: v for k, v in stmt.items() if k != "Action"}]},
    }
    for what, doc in bad_docs.items():
        with pytest.raises(ClientError) as ei:
            ca.put_domain_permissions_policy(domain=domain, policyDocument=json.dumps(doc))
        assert ei.value.response["Error"]["Code"] == "ValidationException", what
    good = [
        {"Version": "2008-10-17", "Statement": [stmt]},
        {"Statement": stmt},  # a single statement object, no Version
        {"Version": "2012-10-17", "Statement": [dict({k: v for k, v in stmt.items() if k != "Action"},
                                                     NotAction="codeartifact:DeleteDomain")]},
        {"Version": "2012-10-17", "Statement": [dict({k: v for k, v in stmt.items() if k != "Principal"},
                                                     NotPrincipal={"AWS": "arn:aws:iam::999999999999:root"})]},
    ]
    for doc in good:
        text = json.dumps(doc)
        assert ca.put_domain_permissions_policy(domain=domain, policyDocument=text)["policy"]["document"] == text


def test_foreign_pagination_token(ca, track):
    domain = track.create_domain()["name"]
    for i in range(3):
        ca.create_repository(domain=domain, repository=f"fr{i}")
    track.create_domain()
    domains_token = ca.list_domains(maxResults=1).get("nextToken")
    assert domains_token
    expect_error("ValidationException", 400, ca.list_repositories_in_domain, domain=domain,
                 nextToken=domains_token)


def test_root_package_group_can_be_tagged(ca, track):
    """Spec §5.3, §7.1: each domain has the root package group `/*`; tag operations accept
    package-group ARNs (encoded `*` → `%2a`)."""
    domain = track.create_domain()["name"]
    arn = f"arn:aws:codeartifact:{REGION}:{ACCOUNT}:package-group/{domain}/%2a"
    assert ca.list_tags_for_resource(resourceArn=arn)["tags"] == []
    ca.tag_resource(resourceArn=arn, tags=[{"key": "scope", "value": "root"}])
    assert ca.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "scope", "value": "root"}]
    missing = f"arn:aws:codeartifact:{REGION}:{ACCOUNT}:package-group/{domain}/npm/%2a"
    expect_error("ResourceNotFoundException", 404, ca.list_tags_for_resource, resourceArn=missing)


def test_create_time_tag_rules(ca, track):
    """Spec §7.1 CreateDomain / §7.3 CreateRepository: tag rules apply at creation too, and a
    refused creation creates nothing."""
    name = unique("tagrules")
    track.domain(name)
    resp = expect_error("ValidationException", 400, ca.create_domain, domain=name,
                        tags=[{"key": "a", "value": "1"}, {"key": "a", "value": "2"}])
    expect_error("ValidationException", 400, ca.create_domain, domain=name,
                 tags=[{"key": "aws:owner", "value": "x"}])
    resp = expect_error("ServiceQuotaExceededException", 402, ca.create_domain, domain=name,
                        tags=[{"key": f"k{i}", "value": "v"} for i in range(51)])
    expect_error("ResourceNotFoundException", 404, ca.describe_domain, domain=name)

    domain = track.create_domain(tags=[{"key": f"k{i}", "value": "v"} for i in range(50)])["name"]
    expect_error("ValidationException", 400, ca.create_repository, domain=domain, repository="r1",
                 tags=[{"key": "a", "value": "1"}, {"key": "a", "value": "2"}])
    expect_error("ServiceQuotaExceededException", 402, ca.create_repository, domain=domain, repository="r1",
                 tags=[{"key": f"k{i}", "value": "v"} for i in range(51)])
    expect_error("ResourceNotFoundException", 404, ca.describe_repository, domain=domain, repository="r1")
    assert ca.describe_domain(domain=domain)["domain"]["repositoryCount"] == 0


def test_policy_document_size_limit(ca, track):
    domain = track.create_domain()["name"]
    base = allow_policy(ACCOUNT, "codeartifact:*")
    exact = base[:-1] + " " * (7168 - len(base)) + "}"
    assert len(exact) == 7168
    assert ca.put_domain_permissions_policy(domain=domain, policyDocument=exact)["policy"]["document"] == exact
    over = base[:-1] + " " * (7169 - len(base)) + "}"
    expect_error("ValidationException", 400, ca.put_domain_permissions_policy, domain=domain,
                 policyDocument=over)


def test_deleted_domain_takes_its_policy(ca, track):
    name = track.create_domain()["name"]
    ca.put_domain_permissions_policy(domain=name, policyDocument=allow_policy(ACCOUNT, "codeartifact:*"))
    ca.delete_domain(domain=name)
    ca.create_domain(domain=name)
    expect_error("ResourceNotFoundException", 404, ca.get_domain_permissions_policy, domain=name)


def test_missing_domain_in_another_account_is_access_denied(ca):
    """Spec §3.5 step 6: authorize first; a nonexistent resource in another account → 403."""
    expect_error("AccessDeniedException", 403, ca.describe_domain, domain=unique("elsewhere"),
                 domainOwner=OTHER_ACCOUNT)


def test_repository_quota(server_factory):
    from conftest import make_client

    srv = server_factory(extra_args=["--quota-repositories", "2"])
    client = make_client(srv.endpoint)
    d = unique("quota")
    client.create_domain(domain=d)
    client.create_repository(domain=d, repository="r1")
    client.create_repository(domain=d, repository="r2")
    resp = expect_error("ServiceQuotaExceededException", 402, client.create_repository, domain=d,
                        repository="r3")
    assert resp.get("resourceType") == "repository", resp
    assert client.describe_domain(domain=d)["domain"]["repositoryCount"] == 2


# ----------------------------------------------------------------------------- packages


def publish(ca, domain, repository, package, version, asset="asset.bin", data=None, namespace="ns", **kwargs):
    data = data if data is not None else f"{package} {version} {asset}".encode()
    return ca.publish_package_version(domain=domain, repository=repository, format="generic",
                                      namespace=namespace, package=package, packageVersion=version,
                                      assetContent=data, assetName=asset, assetSHA256=sha256_of(data), **kwargs)


def test_package_paginators(ca, track):
    """Spec §12: list_packages, list_package_versions, list_package_version_assets and
    list_package_groups page through everything exactly once, in the documented order, with
    non-aggregate keys on every page and no nextToken on the last page."""
    domain = track.create_domain()["name"]
    ca.create_repository(domain=domain, repository="repo")
    packages = [("a-ns", "one"), ("a-ns", "two"), ("b-ns", "alpha"), ("b-ns", "beta"), ("c-ns", "x")]
    for ns, name in reversed(packages):
        ca.put_package_origin_configuration(domain=domain, repository="repo", format="generic", namespace=ns,
                                            package=name, restrictions={"publish": "ALLOW", "upstream": "BLOCK"})
    pages = list(ca.get_paginator("list_packages").paginate(domain=domain, repository="repo",
                                                            PaginationConfig={"PageSize": 2}))
    assert [len(p["packages"]) for p in pages] == [2, 2, 1]
    assert [(p["namespace"], p["package"]) for page in pages for p in page["packages"]] == packages
    assert all(p.get("nextToken") for p in pages[:-1]) and "nextToken" not in pages[-1]
    result = ca.get_paginator("list_packages").paginate(domain=domain, repository="repo", namespace="b",
                                                        PaginationConfig={"PageSize": 1}).build_full_result()
    assert [p["package"] for p in result["packages"]] == ["alpha", "beta"]

    versions = ["0.1.0", "0.10.0", "0.2.0", "1.0.0-rc.1", "1.0.0"]
    for v in versions:
        publish(ca, domain, "repo", "lib", v)
        time.sleep(0.01)
    pages = list(ca.get_paginator("list_package_versions").paginate(
        domain=domain, repository="repo", format="generic", namespace="ns", package="lib",
        sortBy="PUBLISHED_TIME", PaginationConfig={"PageSize": 2}))
    assert [len(p["versions"]) for p in pages] == [2, 2, 1]
    assert [v["version"] for p in pages for v in p["versions"]] == list(reversed(versions))
    for p in pages:
        assert (p["format"], p["namespace"], p["package"]) == ("generic", "ns", "lib"), \
            "non-aggregate keys are repeated on every page"
        assert p.get("defaultDisplayVersion") == "1.0.0"
    assert "nextToken" not in pages[-1]

    for asset in ("c.bin", "a.bin", "b.bin"):
        publish(ca, domain, "repo", "multi", "1.0.0", asset=asset, unfinished=True)
    pages = list(ca.get_paginator("list_package_version_assets").paginate(
        domain=domain, repository="repo", format="generic", namespace="ns", package="multi",
        packageVersion="1.0.0", PaginationConfig={"PageSize": 2}))
    assert [a["name"] for p in pages for a in p["assets"]] == ["a.bin", "b.bin", "c.bin"]
    assert [len(p["assets"]) for p in pages] == [2, 1]
    assert all(p["versionRevision"] == pages[0]["versionRevision"] for p in pages)

    patterns = ["/generic/b-ns/*", "/generic/a-ns/*", "/npm/*", "/generic/a-ns/one$"]
    for pat in patterns:
        ca.create_package_group(domain=domain, packageGroup=pat)
    pages = list(ca.get_paginator("list_package_groups").paginate(domain=domain,
                                                                  PaginationConfig={"PageSize": 2}))
    assert [len(p["packageGroups"]) for p in pages] == [2, 2, 1]
    assert [g["pattern"] for p in pages for g in p["packageGroups"]] == ["/*"] + sorted(patterns)
    result = ca.get_paginator("list_package_groups").paginate(
        domain=domain, prefix="/generic/a", PaginationConfig={"PageSize": 1}).build_full_result()
    assert [g["pattern"] for g in result["packageGroups"]] == ["/generic/a-ns/*", "/generic/a-ns/one$"]
    subs = ca.get_paginator("list_sub_package_groups").paginate(
        domain=domain, packageGroup="/*", PaginationConfig={"PageSize": 1}).build_full_result()
    assert [g["pattern"] for g in subs["packageGroups"]] == ["/generic/a-ns/*", "/generic/b-ns/*", "/npm/*"]


def test_package_listing_tokens_are_not_interchangeable(ca, track):
    """Spec §12: a token from another listing operation (or another package) → ValidationException."""
    domain = track.create_domain()["name"]
    ca.create_repository(domain=domain, repository="repo")
    for v in ("1.0.0", "2.0.0", "3.0.0"):
        publish(ca, domain, "repo", "p1", v)
        publish(ca, domain, "repo", "p2", v)
    for pat in ("/generic/a/*", "/generic/b/*"):
        ca.create_package_group(domain=domain, packageGroup=pat)
    packages_token = ca.list_packages(domain=domain, repository="repo", maxResults=1)["nextToken"]
    versions_token = ca.list_package_versions(domain=domain, repository="repo", format="generic", namespace="ns",
                                              package="p1", maxResults=1)["nextToken"]
    groups_token = ca.list_package_groups(domain=domain, maxResults=1)["nextToken"]
    repos_token = ca.list_repositories(maxResults=1).get("nextToken")

    expect_error("ValidationException", 400, ca.list_package_versions, domain=domain, repository="repo",
                 format="generic", namespace="ns", package="p1", nextToken=packages_token)
    expect_error("ValidationException", 400, ca.list_packages, domain=domain, repository="repo",
                 nextToken=versions_token)
    expect_error("ValidationException", 400, ca.list_packages, domain=domain, repository="repo",
                 nextToken=groups_token)
    expect_error("ValidationException", 400, ca.list_package_groups, domain=domain, nextToken=packages_token)
    if repos_token:
        expect_error("ValidationException", 400, ca.list_package_groups, domain=domain, nextToken=repos_token)
    expect_error("ValidationException", 400, ca.list_packages, domain=domain, repository="repo",
                 nextToken="bm90LWEtdG9rZW4=")
    # the genuine tokens still work where they came from
    assert ca.list_packages(domain=domain, repository="repo", nextToken=packages_token)["packages"]
    assert ca.list_package_versions(domain=domain, repository="repo", format="generic", namespace="ns",
                                    package="p1", nextToken=versions_token)["versions"]


def test_batch_result_maps(ca, track):
    """Spec §6.11, §8.4: maps keyed by version; SKIPPED for the rest on any failure; request-level
    problems are HTTP errors, not map entries."""
    domain = track.create_domain()["name"]
    ca.create_repository(domain=domain, repository="repo")
    ca.create_repository(domain=domain, repository="dst")
    revs = {v: publish(ca, domain, "repo", "pkg", v)["versionRevision"] for v in ("1.0.0", "1.1.0", "2.0.0")}
    common = dict(domain=domain, repository="repo", format="generic", namespace="ns", package="pkg")

    out = ca.update_package_versions_status(**common, versions=["1.0.0", "1.1.0", "1.0.0"], targetStatus="Unlisted")
    assert out["successfulVersions"] == {"1.0.0": {"revision": revs["1.0.0"], "status": "Unlisted"},
                                         "1.1.0": {"revision": revs["1.1.0"], "status": "Unlisted"}}
    assert out["failedVersions"] == {}

    out = ca.update_package_versions_status(**common, versions=["1.0.0", "2.0.0", "7.0.0"],
                                            expectedStatus="Unlisted", targetStatus="Archived")
    assert out["successfulVersions"] == {}
    codes = {v: e["errorCode"] for v, e in out["failedVersions"].items()}
    assert codes == {"1.0.0": "SKIPPED", "2.0.0": "MISMATCHED_STATUS", "7.0.0": "NOT_FOUND"}
    assert all(isinstance(e["errorMessage"], str) and e["errorMessage"] for e in out["failedVersions"].values())

    out = ca.dispose_package_versions(**common, versions=["2.0.0"], versionRevisions={"2.0.0": revs["1.0.0"]})
    assert out["successfulVersions"] == {} and out["failedVersions"]["2.0.0"]["errorCode"] == "MISMATCHED_REVISION"
    out = ca.dispose_package_versions(**common, versions=["2.0.0"], versionRevisions={"2.0.0": revs["2.0.0"]})
    assert out["successfulVersions"] == {"2.0.0": {"revision": revs["2.0.0"], "status": "Disposed"}}
    assert out["failedVersions"] == {}
    again = ca.dispose_package_versions(**common, versions=["2.0.0"])
    assert again["successfulVersions"]["2.0.0"]["status"] == "Disposed", "disposing twice succeeds (spec §14)"

    out = ca.copy_package_versions(domain=domain, sourceRepository="repo", destinationRepository="dst",
                                   format="generic", namespace="ns", package="pkg", versions=["1.0.0", "2.0.0"])
    assert out["successfulVersions"] == {}
    assert {v: e["errorCode"] for v, e in out["failedVersions"].items()} == \
        {"1.0.0": "SKIPPED", "2.0.0": "NOT_ALLOWED"}, "a Disposed version cannot be copied (spec §7.7, §14)"

    out = ca.delete_package_versions(**common, versions=["1.0.0", "2.0.0"], expectedStatus="Disposed")
    assert {v: e["errorCode"] for v, e in out["failedVersions"].items()} == \
        {"1.0.0": "MISMATCHED_STATUS", "2.0.0": "SKIPPED"}
    out = ca.delete_package_versions(**common, versions=["1.0.0", "2.0.0"])
    assert out["successfulVersions"] == {"1.0.0": {"revision": revs["1.0.0"], "status": "Deleted"},
                                         "2.0.0": {"revision": revs["2.0.0"], "status": "Deleted"}}
    remaining = ca.list_package_versions(**common)["versions"]
    assert [v["version"] for v in remaining] == ["1.1.0"]

    # request-level errors
    resp = expect_error("ResourceNotFoundException", 404, ca.update_package_versions_status,
                        **dict(common, package="ghost"), versions=["1.0.0"], targetStatus="Published")
    assert resp.get("resourceType") == "package", resp
    expect_error("ValidationException", 400, ca.update_package_versions_status, **common,
                 versions=[f"9.{i}.0" for i in range(101)], targetStatus="Published")
    expect_error("ValidationException", 400, ca.update_package_versions_status, **common,
                 versions=["1.1.0"], targetStatus="Disposed")
    expect_error("ValidationException", 400, ca.copy_package_versions, domain=domain, sourceRepository="repo",
                 destinationRepository="repo", format="generic", namespace="ns", package="pkg",
                 versions=["1.1.0"])


def test_asset_size_is_deduplicated(ca, track):
    """Spec §5.1, §6.1: the same bytes in two repositories are counted once in assetSizeBytes."""
    domain = track.create_domain()["name"]
    for r in ("one", "two"):
        ca.create_repository(domain=domain, repository=r)
    data = b"shared bytes " * 1000
    publish(ca, domain, "one", "first", "1.0.0", asset="x.bin", data=data)
    assert ca.describe_domain(domain=domain)["domain"]["assetSizeBytes"] == len(data)
    publish(ca, domain, "two", "second", "2.0.0", asset="y.bin", data=data)
    assert ca.describe_domain(domain=domain)["domain"]["assetSizeBytes"] == len(data), \
        "the same bytes published to two repositories are stored and counted once"
    ca.copy_package_versions(domain=domain, sourceRepository="one", destinationRepository="two",
                             format="generic", namespace="ns", package="first", versions=["1.0.0"])
    assert ca.describe_domain(domain=domain)["domain"]["assetSizeBytes"] == len(data)
    other = b"different"
    publish(ca, domain, "two", "third", "1.0.0", asset="z.bin", data=other)
    assert ca.describe_domain(domain=domain)["domain"]["assetSizeBytes"] == len(data) + len(other)
    # still referenced from `two`: deleting one reference keeps the bytes counted
    ca.delete_package(domain=domain, repository="one", format="generic", namespace="ns", package="first")
    assert ca.describe_domain(domain=domain)["domain"]["assetSizeBytes"] == len(data) + len(other)
    ca.delete_package(domain=domain, repository="two", format="generic", namespace="ns", package="first")
    ca.delete_package(domain=domain, repository="two", format="generic", namespace="ns", package="second")
    assert ca.describe_domain(domain=domain)["domain"]["assetSizeBytes"] == len(other)
    # deleting the repository releases what only it referenced
    ca.delete_repository(domain=domain, repository="two")
    assert ca.describe_domain(domain=domain)["domain"]["assetSizeBytes"] == 0


def test_publish_and_download_through_boto3(ca, track):
    """Spec §7.7: unfinished versions collect assets; the same asset again is idempotent, other
    content under the same name conflicts; get_package_version_asset streams the bytes."""
    domain = track.create_domain()["name"]
    ca.create_repository(domain=domain, repository="repo")
    data = bytes(range(256)) * 3
    first = publish(ca, domain, "repo", "bundle", "1.0.0", asset="part 1 (x86_64).bin", data=data,
                    unfinished=True)
    assert first["status"] == "Unfinished"
    same = publish(ca, domain, "repo", "bundle", "1.0.0", asset="part 1 (x86_64).bin", data=data, unfinished=True)
    assert same["versionRevision"] == first["versionRevision"], "re-publishing an identical asset is a no-op"
    resp = expect_error("ConflictException", 409, publish, ca, domain, "repo", "bundle", "1.0.0",
                        asset="part 1 (x86_64).bin", data=b"other content", unfinished=True)
    assert resp.get("resourceType") == "asset", resp
    got = ca.get_package_version_asset(domain=domain, repository="repo", format="generic", namespace="ns",
                                       package="bundle", packageVersion="1.0.0", asset="part 1 (x86_64).bin")
    assert got["asset"].read() == data, "an Unfinished version's assets are downloadable through the API"
    assert got["assetName"] == "part 1 (x86_64).bin" and got["packageVersion"] == "1.0.0"
    assert got["packageVersionRevision"] == first["versionRevision"]
    done = publish(ca, domain, "repo", "bundle", "1.0.0", asset="part 2.bin", data=b"two", unfinished=False)
    assert done["status"] == "Published"
    resp = expect_error("ResourceNotFoundException", 404, ca.get_package_version_asset, domain=domain,
                        repository="repo", format="generic", namespace="ns", package="bundle",
                        packageVersion="9.9.9", asset="part 2.bin")
    assert resp.get("resourceType") == "package-version", resp
    resp = expect_error("ResourceNotFoundException", 404, ca.get_package_version_asset, domain=domain,
                        repository="repo", format="generic", namespace="ns", package="bundle",
                        packageVersion="1.0.0", asset="nope.bin")
    assert resp.get("resourceType") == "asset", resp
    expect_error("ValidationException", 400, ca.publish_package_version, domain=domain, repository="repo",
                 format="npm", package="left-pad", packageVersion="1.0.0", assetContent=b"x",
                 assetName="x.tgz", assetSHA256=sha256_of(b"x"))


def test_name_normalization_through_the_api(ca, track):
    """Spec §10: the API normalizes pypi / nuget / swift names on input; outputs use normalized
    names; npm names are case-sensitive; namespace rules per format."""
    domain = track.create_domain()["name"]
    ca.create_repository(domain=domain, repository="repo")
    restrictions = {"publish": "BLOCK", "upstream": "ALLOW"}

    out = ca.put_package_origin_configuration(domain=domain, repository="repo", format="pypi", package="Pigeon_CLI",
                                              restrictions=restrictions)
    assert out["originConfiguration"] == {"restrictions": restrictions}
    for spelling in ("pigeon-cli", "Pigeon_CLI", "PIGEON.cli", "pigeon__-cli"):
        pkg = ca.describe_package(domain=domain, repository="repo", format="pypi", package=spelling)["package"]
        assert pkg["name"] == "pigeon-cli", spelling
        assert "namespace" not in pkg
        assert pkg["originConfiguration"] == {"restrictions": restrictions}
    listed = ca.list_packages(domain=domain, repository="repo", format="pypi")["packages"]
    assert [p["package"] for p in listed] == ["pigeon-cli"]
    listed = ca.list_packages(domain=domain, repository="repo", packagePrefix="pigeon-c")["packages"]
    assert [p["package"] for p in listed] == ["pigeon-cli"]

    ca.put_package_origin_configuration(domain=domain, repository="repo", format="nuget",
                                        package="Newtonsoft.JSON", restrictions=restrictions)
    assert ca.describe_package(domain=domain, repository="repo", format="nuget",
                               package="newtonsoft.json")["package"]["name"] == "newtonsoft.json"
    ca.put_package_origin_configuration(domain=domain, repository="repo", format="swift", namespace="Apple",
                                        package="Swift-Log", restrictions=restrictions)
    swift = ca.describe_package(domain=domain, repository="repo", format="swift", namespace="apple",
                                package="swift-log")["package"]
    assert (swift["namespace"], swift["name"]) == ("apple", "swift-log")

    # npm: case-sensitive, the scope is the namespace without `@`
    ca.put_package_origin_configuration(domain=domain, repository="repo", format="npm", namespace="space",
                                        package="MyPkg", restrictions=restrictions)
    assert ca.describe_package(domain=domain, repository="repo", format="npm", namespace="space",
                               package="MyPkg")["package"]["name"] == "MyPkg"
    expect_error("ResourceNotFoundException", 404, ca.describe_package, domain=domain, repository="repo",
                 format="npm", namespace="space", package="mypkg")
    expect_error("ResourceNotFoundException", 404, ca.describe_package, domain=domain, repository="repo",
                 format="npm", namespace="@space", package="MyPkg")

    # namespace rules
    for fmt in ("maven", "generic", "swift"):
        expect_error("ValidationException", 400, ca.put_package_origin_configuration, domain=domain,
                     repository="repo", format=fmt, package="no-namespace", restrictions=restrictions)
        expect_error("ValidationException", 400, ca.describe_package, domain=domain, repository="repo",
                     format=fmt, package="no-namespace")
    for fmt in ("pypi", "nuget"):
        expect_error("ValidationException", 400, ca.put_package_origin_configuration, domain=domain,
                     repository="repo", format=fmt, namespace="ns", package="pkg", restrictions=restrictions)
    ca.put_package_origin_configuration(domain=domain, repository="repo", format="maven",
                                        namespace="org.example", package="core", restrictions=restrictions)
    listed = ca.list_packages(domain=domain, repository="repo")["packages"]
    assert {(p["format"], p.get("namespace"), p["package"]) for p in listed} == {
        ("pypi", None, "pigeon-cli"), ("nuget", None, "newtonsoft.json"), ("swift", "apple", "swift-log"),
        ("npm", "space", "MyPkg"), ("maven", "org.example", "core")}
    assert [p["format"] for p in listed] == sorted(p["format"] for p in listed), \
        "ordered by format, namespace, name (spec §7.6)"

    # package groups see the normalized name: a weak look-alike of an exact-name group
    ca.create_package_group(domain=domain, packageGroup="/pypi//pigeon-cli$")
    strong = ca.get_associated_package_group(domain=domain, format="pypi", package="Pigeon_CLI")
    assert strong["packageGroup"]["pattern"] == "/pypi//pigeon-cli$" and strong["associationType"] == "STRONG"
    ca.create_package_group(domain=domain, packageGroup="/npm//anycompany-spicy-client$")
    weak = ca.get_associated_package_group(domain=domain, format="npm", package="AnyCompany_Spicy.Client")
    assert weak["packageGroup"]["pattern"] == "/npm//anycompany-spicy-client$"
    assert weak["associationType"] == "WEAK", "spec §9.3 examples"
    other = ca.get_associated_package_group(domain=domain, format="npm", package="react")
    assert other["packageGroup"]["pattern"] == "/*" and other["associationType"] == "STRONG"


def test_root_package_group_rules(ca, track):
    """Spec §7.8, §9.2: the root group exists with the domain, can be updated, never deleted, and
    cannot be set to INHERIT."""
    domain = track.create_domain()["name"]
    root = ca.describe_package_group(domain=domain, packageGroup="/*")["packageGroup"]
    assert "parent" not in root
    for kind, r in root["originConfiguration"]["restrictions"].items():
        assert r["mode"] == r["effectiveMode"] == "ALLOW" and "inheritedFrom" not in r, (kind, r)
    upd = ca.update_package_group(domain=domain, packageGroup="/*", description="root", contactInfo="ops")
    assert upd["packageGroup"]["description"] == "root" and upd["packageGroup"]["contactInfo"] == "ops"
    expect_error("ValidationException", 400, ca.update_package_group_origin_configuration, domain=domain,
                 packageGroup="/*", restrictions={"PUBLISH": "INHERIT"})
    expect_error("ValidationException", 400, ca.delete_package_group, domain=domain, packageGroup="/*")
    expect_error("ResourceNotFoundException", 404, ca.describe_package_group, domain=domain,
                 packageGroup="/npm/*")
    expect_error("ResourceNotFoundException", 404, ca.delete_package_group, domain=domain,
                 packageGroup="/npm/*")
    expect_error("ResourceNotFoundException", 404, ca.list_associated_packages, domain=domain,
                 packageGroup="/npm/*")
    preview = ca.list_associated_packages(domain=domain, packageGroup="/npm/*", preview=True)
    assert preview["packages"] == []
    # a new, more specific group re-parents existing groups it contains
    ca.create_package_group(domain=domain, packageGroup="/npm/space/*")
    ca.create_package_group(domain=domain, packageGroup="/npm/*")
    child = ca.describe_package_group(domain=domain, packageGroup="/npm/space/*")["packageGroup"]
    assert child["parent"]["pattern"] == "/npm/*"
    # the domain goes away with its groups
    ca.delete_domain(domain=domain)
    ca.create_domain(domain=domain)
    assert [g["pattern"] for g in ca.list_package_groups(domain=domain)["packageGroups"]] == ["/*"]


def test_version_lifecycle_details(ca, track):
    """Spec §6.6, §7.7, §8.1–§8.3: revisions are stable across status changes and copies,
    Disposed versions stay describable but not downloadable, defaultDisplayVersion only counts
    Published versions, copies into a repository get a fresh publishedTime."""
    domain = track.create_domain()["name"]
    for r in ("repo", "dst"):
        ca.create_repository(domain=domain, repository=r)
    common = dict(domain=domain, repository="repo", format="generic", namespace="ns", package="life")
    rev1 = publish(ca, domain, "repo", "life", "1.0.0")["versionRevision"]
    time.sleep(0.05)
    rev2 = publish(ca, domain, "repo", "life", "2.0.0")["versionRevision"]
    unfinished = publish(ca, domain, "repo", "life", "3.0.0", unfinished=True)["versionRevision"]

    out = ca.update_package_versions_status(**common, versions=["2.0.0"], targetStatus="Unlisted")
    assert out["successfulVersions"]["2.0.0"] == {"revision": rev2, "status": "Unlisted"}
    again = ca.update_package_versions_status(**common, versions=["2.0.0"], targetStatus="Unlisted")
    assert again["successfulVersions"]["2.0.0"]["status"] == "Unlisted", "same status again succeeds"
    listing = ca.list_package_versions(**common)
    assert listing["defaultDisplayVersion"] == "1.0.0", "only Published versions are candidates (spec §7.7)"
    assert {v["version"]: v["status"] for v in listing["versions"]} == \
        {"1.0.0": "Published", "2.0.0": "Unlisted", "3.0.0": "Unfinished"}
    assert ca.list_package_versions(**common, originType="INTERNAL")["versions"]
    assert ca.list_package_versions(**common, originType="EXTERNAL")["versions"] == []

    # Unfinished → Unlisted is allowed and never back to Unfinished
    out = ca.update_package_versions_status(**common, versions=["3.0.0"], targetStatus="Unlisted")
    assert out["successfulVersions"]["3.0.0"] == {"revision": unfinished, "status": "Unlisted"}
    expect_error("ConflictException", 409, publish, ca, domain, "repo", "life", "3.0.0", asset="more.bin",
                 unfinished=True)

    # only Unlisted/Published/Archived versions can be copied; the copy keeps the revision
    unf = publish(ca, domain, "repo", "life", "4.0.0", unfinished=True)
    out = ca.copy_package_versions(domain=domain, sourceRepository="repo", destinationRepository="dst",
                                   format="generic", namespace="ns", package="life", versions=["4.0.0"])
    assert out["failedVersions"]["4.0.0"]["errorCode"] == "NOT_ALLOWED", unf
    ca.update_package_versions_status(**common, versions=["1.0.0"], targetStatus="Archived")
    before_copy = time.time()
    out = ca.copy_package_versions(domain=domain, sourceRepository="repo", destinationRepository="dst",
                                   format="generic", namespace="ns", package="life", versions=["1.0.0", "2.0.0"])
    assert out["successfulVersions"] == {"1.0.0": {"revision": rev1, "status": "Archived"},
                                         "2.0.0": {"revision": rev2, "status": "Unlisted"}}
    copied = ca.describe_package_version(**dict(common, repository="dst"), packageVersion="1.0.0")["packageVersion"]
    assert copied["publishedTime"].timestamp() >= before_copy - 1, "publishedTime is when it entered dst (§6.6)"
    assert copied["status"] == "Archived" and copied["revision"] == rev1
    expect_error("ConflictException", 409, ca.get_package_version_asset, **dict(common, repository="dst"),
                 packageVersion="1.0.0", asset="asset.bin")

    # dispose keeps the revision; the version stays describable, its assets are gone
    ca.dispose_package_versions(**common, versions=["2.0.0"])
    disposed = ca.describe_package_version(**common, packageVersion="2.0.0")["packageVersion"]
    assert disposed["status"] == "Disposed" and disposed["revision"] == rev2
    expect_error("ConflictException", 409, ca.get_package_version_asset, **common, packageVersion="2.0.0",
                 asset="asset.bin")
    # the copy in dst is untouched by the disposal in repo
    assert ca.get_package_version_asset(**dict(common, repository="dst"), packageVersion="2.0.0",
                                        asset="asset.bin")["asset"].read() == b"life 2.0.0 asset.bin"


def test_copy_allow_overwrite(ca, track):
    """Spec §7.7 CopyPackageVersions: different content in the destination → ALREADY_EXISTS
    unless allowOverwrite."""
    domain = track.create_domain()["name"]
    for r in ("src", "dst"):
        ca.create_repository(domain=domain, repository=r)
    src_rev = publish(ca, domain, "src", "cp", "1.0.0", data=b"source content")["versionRevision"]
    dst_rev = publish(ca, domain, "dst", "cp", "1.0.0", data=b"destination content")["versionRevision"]
    assert src_rev != dst_rev
    args = dict(domain=domain, sourceRepository="src", destinationRepository="dst", format="generic",
                namespace="ns", package="cp")
    out = ca.copy_package_versions(**args, versions=["1.0.0"])
    assert out["successfulVersions"] == {} and out["failedVersions"]["1.0.0"]["errorCode"] == "ALREADY_EXISTS"
    got = ca.get_package_version_asset(domain=domain, repository="dst", format="generic", namespace="ns",
                                       package="cp", packageVersion="1.0.0", asset="asset.bin")
    assert got["asset"].read() == b"destination content"
    out = ca.copy_package_versions(**args, versions=["1.0.0"], allowOverwrite=True)
    assert out["successfulVersions"] == {"1.0.0": {"revision": src_rev, "status": "Published"}}
    got = ca.get_package_version_asset(domain=domain, repository="dst", format="generic", namespace="ns",
                                       package="cp", packageVersion="1.0.0", asset="asset.bin")
    assert got["asset"].read() == b"source content"
    assert got["packageVersionRevision"] == src_rev


def test_copy_include_from_upstream(ca, track):
    """Spec §7.7 CopyPackageVersions, §8.4, §11.1: with includeFromUpstream=true a version is
    looked up in the source's upstream graph; origin controls are not applied to copies (§9.4),
    so the source package's own `upstream=BLOCK` (the default after a direct publish, §9.1) does
    not hide its upstreams from a copy."""
    domain = track.create_domain()["name"]
    for r in ("base", "src", "dst"):
        ca.create_repository(domain=domain, repository=r)
    ca.update_repository(domain=domain, repository="src", upstreams=[{"repositoryName": "base"}])
    args = dict(domain=domain, sourceRepository="src", destinationRepository="dst", format="generic",
                namespace="ns")

    # a package that exists only upstream: 404 without includeFromUpstream
    only_rev = publish(ca, domain, "base", "only-up", "1.0.0")["versionRevision"]
    resp = expect_error("ResourceNotFoundException", 404, ca.copy_package_versions, **args, package="only-up",
                        versions=["1.0.0"])
    assert resp.get("resourceType") == "package", resp
    out = ca.copy_package_versions(**args, package="only-up", versions=["1.0.0"], includeFromUpstream=True)
    assert out["successfulVersions"] == {"1.0.0": {"revision": only_rev, "status": "Published"}}
    assert out["failedVersions"] == {}

    # the source stores the package (one version), another version is only upstream
    publish(ca, domain, "src", "cp", "1.0.0", data=b"in the source")
    base_rev = publish(ca, domain, "base", "cp", "2.0.0", data=b"only upstream")["versionRevision"]
    out = ca.copy_package_versions(**args, package="cp", versions=["2.0.0"])
    assert out["failedVersions"]["2.0.0"]["errorCode"] == "NOT_FOUND", "upstreams only with includeFromUpstream"
    out = ca.copy_package_versions(**args, package="cp", versions=["1.0.0", "2.0.0"], includeFromUpstream=True)
    assert out["failedVersions"] == {}, out
    assert out["successfulVersions"]["2.0.0"] == {"revision": base_rev, "status": "Published"}
    copied = ca.describe_package_version(domain=domain, repository="dst", format="generic", namespace="ns",
                                         package="cp", packageVersion="2.0.0")["packageVersion"]
    assert copied["origin"] == {"domainEntryPoint": {"repositoryName": "base"}, "originType": "INTERNAL"}


def test_package_group_origin_rules(ca, track):
    """Spec §9.2–§9.4 through PublishPackageVersion: word-boundary prefixes, weak associations
    block, INHERIT uses the ancestor's allowed list, removals are reported."""
    domain = track.create_domain()["name"]
    for r in ("ok", "other"):
        ca.create_repository(domain=domain, repository=r)

    ca.create_package_group(domain=domain, packageGroup="/generic/ns/foo~")
    for name, expected in (("foo", "/generic/ns/foo~"), ("foo-bar", "/generic/ns/foo~"),
                           ("foo.bar", "/generic/ns/foo~"), ("food", "/*")):
        got = ca.get_associated_package_group(domain=domain, format="generic", namespace="ns", package=name)
        assert got["packageGroup"]["pattern"] == expected, name

    # a weakly associated package is blocked for publishing even though everything is ALLOW
    ca.create_package_group(domain=domain, packageGroup="/generic/ns/my-tool$")
    weak = ca.get_associated_package_group(domain=domain, format="generic", namespace="ns", package="My_Tool")
    assert weak["associationType"] == "WEAK"
    expect_error("ConflictException", 409, publish, ca, domain, "ok", "My_Tool", "1.0.0")
    assert publish(ca, domain, "ok", "my-tool", "1.0.0")["status"] == "Published"

    # ALLOW_SPECIFIC_REPOSITORIES on a parent; the child INHERITs mode and list
    ca.create_package_group(domain=domain, packageGroup="/generic/team/*")
    ca.create_package_group(domain=domain, packageGroup="/generic/team/app$")
    upd = ca.update_package_group_origin_configuration(
        domain=domain, packageGroup="/generic/team/*", restrictions={"PUBLISH": "ALLOW_SPECIFIC_REPOSITORIES"},
        addAllowedRepositories=[{"repositoryName": "ok", "originRestrictionType": "PUBLISH"},
                                {"repositoryName": "other", "originRestrictionType": "PUBLISH"}])
    assert sorted(upd["allowedRepositoryUpdates"]["PUBLISH"]["ADDED"]) == ["ok", "other"]
    upd = ca.update_package_group_origin_configuration(
        domain=domain, packageGroup="/generic/team/*",
        removeAllowedRepositories=[{"repositoryName": "other", "originRestrictionType": "PUBLISH"}])
    assert upd["allowedRepositoryUpdates"] == {"PUBLISH": {"REMOVED": ["other"]}}
    assert upd["packageGroup"]["originConfiguration"]["restrictions"]["PUBLISH"]["mode"] == \
        "ALLOW_SPECIFIC_REPOSITORIES", "restrictions absent from the request are unchanged"
    assert ca.list_allowed_repositories_for_group(domain=domain, packageGroup="/generic/team/*",
                                                  originRestrictionType="PUBLISH")["allowedRepositories"] == ["ok"]
    child = ca.describe_package_group(domain=domain, packageGroup="/generic/team/app$")["packageGroup"]
    publish_r = child["originConfiguration"]["restrictions"]["PUBLISH"]
    assert publish_r["mode"] == "INHERIT" and publish_r["effectiveMode"] == "ALLOW_SPECIFIC_REPOSITORIES"
    assert publish_r["inheritedFrom"]["pattern"] == "/generic/team/*"
    assert publish(ca, domain, "ok", "app", "1.0.0", namespace="team")["status"] == "Published"
    expect_error("ConflictException", 409, publish, ca, domain, "other", "app", "1.0.0", namespace="team")
    # the package-level configuration and the group must both allow (spec §9.4 step 4)
    ca.put_package_origin_configuration(domain=domain, repository="ok", format="generic", namespace="team",
                                        package="app", restrictions={"publish": "BLOCK", "upstream": "BLOCK"})
    expect_error("ConflictException", 409, publish, ca, domain, "ok", "app", "2.0.0", namespace="team")

    # patterns are case-sensitive identifiers: both spellings can exist
    ca.create_package_group(domain=domain, packageGroup="/npm//AsyncStorage$")
    ca.create_package_group(domain=domain, packageGroup="/npm//asyncstorage$")
    # tags given at creation are on the group's ARN
    grp = ca.create_package_group(domain=domain, packageGroup="/maven/com.example~",
                                  tags=[{"key": "team", "value": "x"}])["packageGroup"]
    assert grp["arn"] == f"arn:aws:codeartifact:{REGION}:{ACCOUNT}:package-group/{domain}/maven/com.example~"
    assert ca.list_tags_for_resource(resourceArn=grp["arn"])["tags"] == [{"key": "team", "value": "x"}]
    # description: absent = unchanged, empty = cleared
    upd = ca.update_package_group(domain=domain, packageGroup="/maven/com.example~", description="d",
                                  contactInfo="c")["packageGroup"]
    assert (upd["description"], upd["contactInfo"]) == ("d", "c")
    upd = ca.update_package_group(domain=domain, packageGroup="/maven/com.example~", description="")["packageGroup"]
    assert "description" not in upd and upd["contactInfo"] == "c"
    # preview evaluates a pattern that is not a group
    publish(ca, domain, "ok", "lib", "1.0.0", namespace="previewed")
    publish(ca, domain, "other", "lib", "2.0.0", namespace="previewed")
    preview = ca.list_associated_packages(domain=domain, packageGroup="/generic/previewed/*", preview=True)
    assert preview["packages"] == [{"format": "generic", "namespace": "previewed", "package": "lib",
                                    "associationType": "STRONG"}], "de-duplicated across repositories (§7.8)"
    # adding a present entry / removing an absent one is a no-op, reported as no change
    upd = ca.update_package_group_origin_configuration(
        domain=domain, packageGroup="/generic/team/*",
        addAllowedRepositories=[{"repositoryName": "ok", "originRestrictionType": "PUBLISH"}],
        removeAllowedRepositories=[{"repositoryName": "other", "originRestrictionType": "EXTERNAL_UPSTREAM"}])
    assert upd.get("allowedRepositoryUpdates", {}) == {}, upd.get("allowedRepositoryUpdates")
    assert ca.list_allowed_repositories_for_group(domain=domain, packageGroup="/generic/team/*",
                                                  originRestrictionType="PUBLISH")["allowedRepositories"] == ["ok"]
    expect_error("ResourceNotFoundException", 404, ca.list_allowed_repositories_for_group, domain=domain,
                 packageGroup="/generic/nothing/*", originRestrictionType="PUBLISH")


def test_deleted_package_gets_fresh_defaults(ca, track):
    """Spec §7.6 DeletePackage: the package can be recreated and gets default origin controls."""
    domain = track.create_domain()["name"]
    ca.create_repository(domain=domain, repository="repo")
    common = dict(domain=domain, repository="repo", format="generic", namespace="ns", package="again")
    ca.put_package_origin_configuration(**common, restrictions={"publish": "ALLOW", "upstream": "ALLOW"})
    publish(ca, domain, "repo", "again", "1.0.0")
    assert ca.describe_package(**common)["package"]["originConfiguration"]["restrictions"] == \
        {"publish": "ALLOW", "upstream": "ALLOW"}, "an existing configuration is kept by a publish"
    deleted = ca.delete_package(**common)["deletedPackage"]
    assert deleted["originConfiguration"]["restrictions"] == {"publish": "ALLOW", "upstream": "ALLOW"}
    expect_error("ResourceNotFoundException", 404, ca.describe_package_version, **common, packageVersion="1.0.0")
    publish(ca, domain, "repo", "again", "1.0.0", data=b"new content")
    assert ca.describe_package(**common)["package"]["originConfiguration"]["restrictions"] == \
        {"publish": "ALLOW", "upstream": "BLOCK"}


def test_asset_quota_per_version(ca, track):
    """Spec §13: at most 350 assets per package version → 402 ServiceQuotaExceededException
    (resourceType asset); the refused asset is not added."""
    domain = track.create_domain()["name"]
    ca.create_repository(domain=domain, repository="repo")
    for i in range(350):
        publish(ca, domain, "repo", "many", "1.0.0", asset=f"part-{i:03d}", data=f"{i}".encode(), unfinished=True)
    resp = expect_error("ServiceQuotaExceededException", 402, publish, ca, domain, "repo", "many", "1.0.0",
                        asset="part-350", data=b"350", unfinished=True)
    assert resp.get("resourceType") == "asset", resp
    assets = ca.get_paginator("list_package_version_assets").paginate(
        domain=domain, repository="repo", format="generic", namespace="ns", package="many",
        packageVersion="1.0.0").build_full_result()["assets"]
    assert len(assets) == 350 and "part-350" not in {a["name"] for a in assets}


def test_package_operations_are_account_scoped(ca, ca_other, track):
    """Spec §5.2, §3.5 step 6: without a policy another account cannot read or publish packages
    in our domain; without domainOwner it looks in its own account."""
    domain = track.create_domain()["name"]
    ca.create_repository(domain=domain, repository="repo")
    publish(ca, domain, "repo", "private", "1.0.0")
    common = dict(domain=domain, domainOwner=ACCOUNT, repository="repo", format="generic", namespace="ns",
                  package="private")
    expect_error("AccessDeniedException", 403, ca_other.list_packages, domain=domain, domainOwner=ACCOUNT,
                 repository="repo")
    expect_error("AccessDeniedException", 403, ca_other.describe_package_version, **common, packageVersion="1.0.0")
    expect_error("AccessDeniedException", 403, ca_other.get_package_version_asset, **common,
                 packageVersion="1.0.0", asset="asset.bin")
    expect_error("AccessDeniedException", 403, ca_other.publish_package_version, **common, packageVersion="2.0.0",
                 assetContent=b"evil", assetName="evil.bin", assetSHA256=sha256_of(b"evil"))
    expect_error("AccessDeniedException", 403, ca_other.create_package_group, domain=domain, domainOwner=ACCOUNT,
                 packageGroup="/generic/*")
    expect_error("ResourceNotFoundException", 404, ca_other.list_packages, domain=domain, repository="repo")
    assert [v["version"] for v in ca.list_package_versions(**common)["versions"]] == ["1.0.0"]
    assert [g["pattern"] for g in ca.list_package_groups(domain=domain)["packageGroups"]] == ["/*"]


VALID_PATTERNS = ["/npm/*", "/npm//*", "/npm/space/*", "/maven/com.anycompany~", "/npm/space/anycompany-ui~",
                  "/maven/org.apache.logging.log4j/log4j-core$", "/pypi//requests$", "/pypi/*",
                  "/generic/ns/name$", "/swift/apple/*", "/cargo//serde$", "/ruby//rails$",
                  "/nuget//newtonsoft.json$", "/npm/@scope/*"]
INVALID_PATTERNS = ["//", "/*/*", "/npm", "/npm/", "/npm/space/*~", "/maven//core$", "/nuget//Newtonsoft.Json$",
                    "/swift/Apple/*", "/NPM/*", "npm/*", "/npm/space/a$b$", "/ruby/ns/rails$",
                    "/unknown/*", "/npm/space/*/more", "/npm/space/foo", "/npm/space/foo~bar",
                    "/pypi/ns/requests$", "/generic//tool$", "/pypi//Requests$", "/npm/*$"]


def test_package_group_pattern_grammar(ca, track):
    """Spec §9.3: the allowed forms are accepted (and are their own identifiers), everything else
    → ValidationException. One domain for all cases keeps this fast."""
    domain = track.create_domain()["name"]
    for pattern in VALID_PATTERNS:
        created = ca.create_package_group(domain=domain, packageGroup=pattern)["packageGroup"]
        assert created["pattern"] == pattern
        encoded = pattern.replace("%", "%25").replace("*", "%2a").replace("$", "%24")
        assert created["arn"] == f"arn:aws:codeartifact:{REGION}:{ACCOUNT}:package-group/{domain}{encoded}"
    bad = []
    for pattern in INVALID_PATTERNS:
        try:
            ca.create_package_group(domain=domain, packageGroup=pattern)
            bad.append(f"{pattern}: accepted")
        except ClientError as e:
            if e.response["Error"]["Code"] != "ValidationException":
                bad.append(f"{pattern}: {e.response['Error']['Code']}")
    assert not bad, "invalid patterns not refused with ValidationException:\n" + "\n".join(bad)
    listed = ca.get_paginator("list_package_groups").paginate(domain=domain).build_full_result()["packageGroups"]
    assert sorted(g["pattern"] for g in listed) == sorted(VALID_PATTERNS + ["/*"])
