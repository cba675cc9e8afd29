"""The implemented operations through boto3: results, modeled error members
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
    endpoint_get,
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


def allow_policy(principal_account: str, actions) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{principal_account}:root"},
                    "Action": actions,
                    "Resource": "*",
                }
            ],
        }
    )


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
