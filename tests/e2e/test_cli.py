"""Operations driven through the real AWS CLI (awscli v1), success and error paths, including
generic packages and package groups exactly as users run them. References: control-plane spec
§3.4 (errors), §4 (validation), §6 (shapes), §7 (operations), §8 (statuses and batches), §9
(origin controls, package groups), §12 (pagination)."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION, allow_policy, asset_hashes, sha256_of, to_epoch, unique


def ok(result):
    assert result.rc == 0, f"aws CLI failed (rc={result.rc}):\n{result.err}"
    return result.out


def fails_with(result, code: str):
    assert result.rc != 0, f"expected {code}, but the call succeeded: {result.out}"
    assert result.error_code() == code, f"expected {code}, got:\n{result.err}"


# ----------------------------------------------------------------------------- domains


def test_domain_lifecycle(aws, track):
    name = track.domain(unique("dom"))
    before = time.time()
    created = ok(aws("codeartifact", "create-domain", "--domain", name))["domain"]
    assert created["name"] == name
    assert created["owner"] == ACCOUNT
    assert created["arn"] == f"arn:aws:codeartifact:{REGION}:{ACCOUNT}:domain/{name}"
    assert created["status"] == "Active"
    assert created["repositoryCount"] == 0
    assert created["assetSizeBytes"] == 0
    assert created["encryptionKey"].startswith(f"arn:aws:kms:{REGION}:{ACCOUNT}:key/")
    assert before - 5 <= to_epoch(created["createdTime"]) <= time.time() + 5

    described = ok(aws("codeartifact", "describe-domain", "--domain", name))["domain"]
    for key in ("name", "owner", "arn", "status", "encryptionKey", "repositoryCount"):
        assert described[key] == created[key], key
    assert to_epoch(described["createdTime"]) == pytest.approx(to_epoch(created["createdTime"]), abs=0.01)

    described = ok(aws("codeartifact", "describe-domain", "--domain", name,
                       "--domain-owner", ACCOUNT))["domain"]
    assert described["name"] == name

    deleted = ok(aws("codeartifact", "delete-domain", "--domain", name))["domain"]
    assert deleted["name"] == name
    assert deleted["status"] == "Deleted"

    fails_with(aws("codeartifact", "describe-domain", "--domain", name), "ResourceNotFoundException")


def test_create_domain_with_encryption_key_and_tags(aws, track):
    name = track.domain(unique("dom"))
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
    created = ok(aws("codeartifact", "create-domain", "--domain", name, "--encryption-key", key,
                     "--tags", "key=team,value=platform", "key=env,value=test"))["domain"]
    assert created["encryptionKey"] == key
    tags = ok(aws("codeartifact", "list-tags-for-resource", "--resource-arn", created["arn"]))["tags"]
    assert sorted((t["key"], t["value"]) for t in tags) == [("env", "test"), ("team", "platform")]


def test_create_domain_twice_conflicts(aws, track):
    name = track.domain(unique("dom"))
    ok(aws("codeartifact", "create-domain", "--domain", name))
    fails_with(aws("codeartifact", "create-domain", "--domain", name), "ConflictException")


@pytest.mark.parametrize(
    "bad",
    ["Upper-case", "1starts-with-digit", "ends-with-dash-", "under_score", "x" * 51, "has.dot"],
)
def test_create_domain_invalid_name(aws, bad):
    fails_with(aws("codeartifact", "create-domain", "--domain", bad), "ValidationException")


def test_domain_not_found_errors(aws):
    missing = unique("missing")
    fails_with(aws("codeartifact", "describe-domain", "--domain", missing), "ResourceNotFoundException")
    fails_with(aws("codeartifact", "delete-domain", "--domain", missing), "ResourceNotFoundException")
    fails_with(aws("codeartifact", "list-repositories-in-domain", "--domain", missing),
               "ResourceNotFoundException")
    fails_with(aws("codeartifact", "create-repository", "--domain", missing, "--repository", "r1"),
               "ResourceNotFoundException")
    fails_with(aws("codeartifact", "get-authorization-token", "--domain", missing),
               "ResourceNotFoundException")


def test_delete_domain_with_repositories_conflicts(aws, track):
    name = track.domain(unique("dom"))
    ok(aws("codeartifact", "create-domain", "--domain", name))
    ok(aws("codeartifact", "create-repository", "--domain", name, "--repository", "still-here"))
    fails_with(aws("codeartifact", "delete-domain", "--domain", name), "ConflictException")
    # nothing was deleted
    assert ok(aws("codeartifact", "describe-domain", "--domain", name))["domain"]["repositoryCount"] == 1
    ok(aws("codeartifact", "describe-repository", "--domain", name, "--repository", "still-here"))


def test_list_domains_pagination(aws, track):
    names = sorted(track.domain(unique(f"pg{i}")) for i in range(5))
    for n in names:
        ok(aws("codeartifact", "create-domain", "--domain", n))

    # --max-items: CLI-side truncation with a resumable NextToken
    first = ok(aws("codeartifact", "list-domains", "--max-items", "2"))
    assert len(first["domains"]) == 2
    assert "NextToken" in first
    collected = list(first["domains"])
    token = first["NextToken"]
    for _ in range(10):
        page = ok(aws("codeartifact", "list-domains", "--max-items", "2", "--starting-token", token))
        collected += page["domains"]
        token = page.get("NextToken")
        if not token:
            break
    got = [d["name"] for d in collected if d["name"] in names]
    assert got == names, "every domain exactly once, in ascending name order"

    # --page-size: the CLI follows the server's nextToken across pages of 2
    everything = ok(aws("codeartifact", "list-domains", "--page-size", "2"))
    assert [d["name"] for d in everything["domains"] if d["name"] in names] == names
    assert "NextToken" not in everything

    # a single server page (pagination off when --max-results is given)
    page = ok(aws("codeartifact", "list-domains", "--max-results", "2"))
    assert len(page["domains"]) == 2
    assert page.get("nextToken"), "the server must return nextToken when more results exist"

    for summary in everything["domains"]:
        assert set(summary) <= {"name", "owner", "arn", "status", "createdTime", "encryptionKey"}
        assert summary["owner"] == ACCOUNT
        assert summary["status"] == "Active"


# ----------------------------------------------------------------------------- repositories


def test_repository_lifecycle(aws, track):
    domain = track.domain(unique("dom"))
    ok(aws("codeartifact", "create-domain", "--domain", domain))
    up = ok(aws("codeartifact", "create-repository", "--domain", domain, "--repository", "upstream-a"))
    up = up["repository"]
    assert up["upstreams"] == []
    assert up["externalConnections"] == []
    assert "description" not in up

    repo = ok(aws("codeartifact", "create-repository", "--domain", domain, "--repository", "Team.Repo_1",
                  "--description", "team repository", "--upstreams", "repositoryName=upstream-a",
                  "--tags", "key=k,value=v"))["repository"]
    assert repo["name"] == "Team.Repo_1"
    assert repo["administratorAccount"] == ACCOUNT
    assert repo["domainName"] == domain
    assert repo["domainOwner"] == ACCOUNT
    assert repo["arn"] == f"arn:aws:codeartifact:{REGION}:{ACCOUNT}:repository/{domain}/Team.Repo_1"
    assert repo["description"] == "team repository"
    assert repo["upstreams"] == [{"repositoryName": "upstream-a"}]
    assert repo["externalConnections"] == []
    to_epoch(repo["createdTime"])

    described = ok(aws("codeartifact", "describe-repository", "--domain", domain,
                       "--repository", "Team.Repo_1"))["repository"]
    assert described["upstreams"] == [{"repositoryName": "upstream-a"}]
    assert described["description"] == "team repository"
    assert described["arn"] == repo["arn"]

    assert ok(aws("codeartifact", "describe-domain", "--domain", domain))["domain"]["repositoryCount"] == 2

    tags = ok(aws("codeartifact", "list-tags-for-resource", "--resource-arn", repo["arn"]))["tags"]
    assert tags == [{"key": "k", "value": "v"}]

    # repository names are case-sensitive: a differently-cased name is another repository
    fails_with(aws("codeartifact", "describe-repository", "--domain", domain, "--repository", "team.repo_1"),
               "ResourceNotFoundException")

    deleted = ok(aws("codeartifact", "delete-repository", "--domain", domain,
                     "--repository", "Team.Repo_1"))["repository"]
    assert deleted["name"] == "Team.Repo_1"
    assert deleted["upstreams"] == [{"repositoryName": "upstream-a"}]
    fails_with(aws("codeartifact", "describe-repository", "--domain", domain, "--repository", "Team.Repo_1"),
               "ResourceNotFoundException")
    fails_with(aws("codeartifact", "delete-repository", "--domain", domain, "--repository", "Team.Repo_1"),
               "ResourceNotFoundException")
    assert ok(aws("codeartifact", "describe-domain", "--domain", domain))["domain"]["repositoryCount"] == 1


def test_create_repository_errors(aws, track, ca):
    domain = track.create_domain()["name"]
    ok(aws("codeartifact", "create-repository", "--domain", domain, "--repository", "dup"))
    fails_with(aws("codeartifact", "create-repository", "--domain", domain, "--repository", "dup"),
               "ConflictException")
    fails_with(aws("codeartifact", "create-repository", "--domain", domain, "--repository=-bad"),
               "ValidationException")
    fails_with(aws("codeartifact", "create-repository", "--domain", domain, "--repository", "sp ace"),
               "ValidationException")
    fails_with(aws("codeartifact", "create-repository", "--domain", domain, "--repository", "r-up",
                   "--upstreams", "repositoryName=no-such-repo"), "ResourceNotFoundException")
    fails_with(aws("codeartifact", "create-repository", "--domain", domain, "--repository", "r-dup-up",
                   "--upstreams", "repositoryName=dup", "repositoryName=dup"), "ValidationException")
    fails_with(aws("codeartifact", "create-repository", "--domain", domain, "--repository", "r-desc",
                   "--description", "line1\nline2"), "ValidationException")
    # more than 10 upstreams (all existing) → ValidationException (spec §7.3, §13)
    ups = [f"u{i:02d}" for i in range(11)]
    for u in ups:
        ca.create_repository(domain=domain, repository=u)
    fails_with(aws("codeartifact", "create-repository", "--domain", domain, "--repository", "r-many",
                   "--upstreams", *[f"repositoryName={u}" for u in ups]), "ValidationException")
    ten = ok(aws("codeartifact", "create-repository", "--domain", domain, "--repository", "r-ten",
                 "--upstreams", *[f"repositoryName={u}" for u in ups[:10]]))["repository"]
    assert [u["repositoryName"] for u in ten["upstreams"]] == ups[:10], "upstream order is kept"
    # none of the failed creations left a repository behind
    names = {r["name"] for r in ca.list_repositories_in_domain(domain=domain)["repositories"]}
    assert names == {"dup", "r-ten", *ups}


def test_update_repository(aws, track, ca):
    domain = track.create_domain()["name"]
    for r in ("a-up", "b-up", "main"):
        ca.create_repository(domain=domain, repository=r)

    upd = ok(aws("codeartifact", "update-repository", "--domain", domain, "--repository", "main",
                 "--description", "first", "--upstreams", "repositoryName=b-up",
                 "repositoryName=a-up"))["repository"]
    assert upd["description"] == "first"
    assert upd["upstreams"] == [{"repositoryName": "b-up"}, {"repositoryName": "a-up"}]

    # a member absent from the request is left unchanged
    upd = ok(aws("codeartifact", "update-repository", "--domain", domain, "--repository", "main",
                 "--description", "second"))["repository"]
    assert upd["description"] == "second"
    assert upd["upstreams"] == [{"repositoryName": "b-up"}, {"repositoryName": "a-up"}]

    upd = ok(aws("codeartifact", "update-repository", "--domain", domain, "--repository", "main",
                 "--upstreams", "[]"))["repository"]
    assert upd["upstreams"] == []
    assert upd["description"] == "second"

    upd = ok(aws("codeartifact", "update-repository", "--domain", domain, "--repository", "main",
                 "--description", ""))["repository"]
    assert "description" not in upd, "an empty description clears it (spec §7.3 UpdateRepository)"

    described = ok(aws("codeartifact", "describe-repository", "--domain", domain,
                       "--repository", "main"))["repository"]
    assert described["upstreams"] == [] and "description" not in described

    fails_with(aws("codeartifact", "update-repository", "--domain", domain, "--repository", "main",
                   "--upstreams", "repositoryName=nope"), "ResourceNotFoundException")
    fails_with(aws("codeartifact", "update-repository", "--domain", domain, "--repository", "main",
                   "--upstreams", "repositoryName=main"), "ValidationException")
    fails_with(aws("codeartifact", "update-repository", "--domain", domain, "--repository", "absent",
                   "--description", "x"), "ResourceNotFoundException")


def test_list_repositories_pagination(aws, track):
    domain = track.create_domain()["name"]
    prefix = unique("lr")
    names = sorted(f"{prefix}-{i}" for i in range(5))
    for n in names:
        ok(aws("codeartifact", "create-repository", "--domain", domain, "--repository", n,
               "--description", f"repo {n}"))

    first = ok(aws("codeartifact", "list-repositories", "--repository-prefix", prefix, "--max-items", "2"))
    assert [r["name"] for r in first["repositories"]] == names[:2]
    second = ok(aws("codeartifact", "list-repositories", "--repository-prefix", prefix, "--max-items", "2",
                    "--starting-token", first["NextToken"]))
    assert [r["name"] for r in second["repositories"]] == names[2:4]
    third = ok(aws("codeartifact", "list-repositories", "--repository-prefix", prefix, "--max-items", "2",
                   "--starting-token", second["NextToken"]))
    assert [r["name"] for r in third["repositories"]] == names[4:]
    assert "NextToken" not in third

    every = ok(aws("codeartifact", "list-repositories", "--repository-prefix", prefix, "--page-size", "2"))
    assert [r["name"] for r in every["repositories"]] == names
    for summary in every["repositories"]:
        assert summary["domainName"] == domain
        assert summary["domainOwner"] == ACCOUNT
        assert summary["administratorAccount"] == ACCOUNT
        assert summary["description"] == f"repo {summary['name']}"
        assert "upstreams" not in summary and "externalConnections" not in summary

    page = ok(aws("codeartifact", "list-repositories", "--repository-prefix", prefix, "--max-results", "3"))
    assert [r["name"] for r in page["repositories"]] == names[:3]
    assert page.get("nextToken")

    in_domain = ok(aws("codeartifact", "list-repositories-in-domain", "--domain", domain, "--page-size", "2"))
    assert [r["name"] for r in in_domain["repositories"]] == names
    in_domain = ok(aws("codeartifact", "list-repositories-in-domain", "--domain", domain,
                       "--max-items", "4"))
    assert [r["name"] for r in in_domain["repositories"]] == names[:4]
    assert in_domain.get("NextToken")
    filtered = ok(aws("codeartifact", "list-repositories-in-domain", "--domain", domain,
                      "--repository-prefix", names[3]))
    assert [r["name"] for r in filtered["repositories"]] == [names[3]]
    by_admin = ok(aws("codeartifact", "list-repositories-in-domain", "--domain", domain,
                      "--administrator-account", ACCOUNT))
    assert [r["name"] for r in by_admin["repositories"]] == names
    none = ok(aws("codeartifact", "list-repositories-in-domain", "--domain", domain,
                  "--administrator-account", "999999999999"))
    assert none["repositories"] == []

    fails_with(aws("codeartifact", "list-repositories", "--repository-prefix", "bad prefix"),
               "ValidationException")


# ----------------------------------------------------------------------------- external connections


def test_external_connections(aws, track, ca):
    domain = track.create_domain()["name"]
    ca.create_repository(domain=domain, repository="npm-store")

    repo = ok(aws("codeartifact", "associate-external-connection", "--domain", domain,
                  "--repository", "npm-store", "--external-connection", "public:npmjs"))["repository"]
    assert repo["externalConnections"] == [
        {"externalConnectionName": "public:npmjs", "packageFormat": "npm", "status": "Available"}
    ]
    assert repo["upstreams"] == []

    described = ok(aws("codeartifact", "describe-repository", "--domain", domain,
                       "--repository", "npm-store"))["repository"]
    assert described["externalConnections"] == repo["externalConnections"]

    # the same connection again → conflict; any second connection → validation (limit 1)
    fails_with(aws("codeartifact", "associate-external-connection", "--domain", domain,
                   "--repository", "npm-store", "--external-connection", "public:npmjs"),
               "ConflictException")
    fails_with(aws("codeartifact", "associate-external-connection", "--domain", domain,
                   "--repository", "npm-store", "--external-connection", "public:pypi"),
               "ValidationException")
    fails_with(aws("codeartifact", "associate-external-connection", "--domain", domain,
                   "--repository", "npm-store", "--external-connection", "public:not-a-source"),
               "ValidationException")
    fails_with(aws("codeartifact", "associate-external-connection", "--domain", domain,
                   "--repository", "nope", "--external-connection", "public:pypi"),
               "ResourceNotFoundException")
    fails_with(aws("codeartifact", "disassociate-external-connection", "--domain", domain,
                   "--repository", "npm-store", "--external-connection", "public:pypi"),
               "ResourceNotFoundException")

    repo = ok(aws("codeartifact", "disassociate-external-connection", "--domain", domain,
                  "--repository", "npm-store", "--external-connection", "public:npmjs"))["repository"]
    assert repo["externalConnections"] == []
    fails_with(aws("codeartifact", "disassociate-external-connection", "--domain", domain,
                   "--repository", "npm-store", "--external-connection", "public:npmjs"),
               "ResourceNotFoundException")


@pytest.mark.parametrize(
    "connection,fmt",
    [
        ("public:pypi", "pypi"),
        ("public:maven-central", "maven"),
        ("public:maven-googleandroid", "maven"),
        ("public:maven-gradleplugins", "maven"),
        ("public:maven-commonsware", "maven"),
        ("public:maven-clojars", "maven"),
        ("public:nuget-org", "nuget"),
        ("public:ruby-gems-org", "ruby"),
        ("public:crates-io", "cargo"),
    ],
)
def test_external_connection_formats(ca, track, connection, fmt):
    # boto3 keeps this parametrised check fast; the CLI path is covered above
    domain = track.create_domain()["name"]
    ca.create_repository(domain=domain, repository="store")
    repo = ca.associate_external_connection(domain=domain, repository="store",
                                            externalConnection=connection)["repository"]
    assert repo["externalConnections"] == [
        {"externalConnectionName": connection, "packageFormat": fmt, "status": "Available"}
    ]


# ----------------------------------------------------------------------------- endpoints and tokens


def test_get_repository_endpoint(aws, track, ca, server):
    domain = track.create_domain()["name"]
    ca.create_repository(domain=domain, repository="team")
    for fmt in ("npm", "pypi", "maven", "nuget", "generic", "ruby", "swift", "cargo"):
        out = ok(aws("codeartifact", "get-repository-endpoint", "--domain", domain, "--repository", "team",
                     "--format", fmt))
        assert out == {
            "repositoryEndpoint": f"http://127.0.0.1:{server.port}/{fmt}/d/{domain}-{ACCOUNT}/team/"
        }
    out = ok(aws("codeartifact", "get-repository-endpoint", "--domain", domain, "--domain-owner", ACCOUNT,
                 "--repository", "team", "--format", "npm", "--endpoint-type", "ipv4"))
    assert out["repositoryEndpoint"].endswith(f"/npm/d/{domain}-{ACCOUNT}/team/")

    fails_with(aws("codeartifact", "get-repository-endpoint", "--domain", domain, "--repository", "nope",
                   "--format", "npm"), "ResourceNotFoundException")
    fails_with(aws("codeartifact", "get-repository-endpoint", "--domain", domain, "--repository", "team",
                   "--format", "NPM"), "ValidationException")
    fails_with(aws("codeartifact", "get-repository-endpoint", "--domain", domain, "--repository", "team",
                   "--format", "npm", "--endpoint-type", "ipv6"), "ValidationException")


def test_get_authorization_token(aws, track):
    domain = track.create_domain()["name"]
    now = time.time()
    out = ok(aws("codeartifact", "get-authorization-token", "--domain", domain))
    assert isinstance(out["authorizationToken"], str) and len(out["authorizationToken"]) > 20
    assert to_epoch(out["expiration"]) == pytest.approx(now + 43200, abs=60)

    now = time.time()
    out = ok(aws("codeartifact", "get-authorization-token", "--domain", domain, "--domain-owner", ACCOUNT,
                 "--duration-seconds", "900"))
    assert to_epoch(out["expiration"]) == pytest.approx(now + 900, abs=60)

    out = ok(aws("codeartifact", "get-authorization-token", "--domain", domain, "--duration-seconds", "43200"))
    assert to_epoch(out["expiration"]) == pytest.approx(time.time() + 43200, abs=60)

    # --query/--output text is how cargo's credential provider reads it
    text = aws("codeartifact", "get-authorization-token", "--domain", domain, "--query", "authorizationToken",
               output="text")
    assert text.rc == 0, text.err
    assert text.stdout.strip() and "\n" not in text.stdout.strip()

    for bad in ("1", "899", "43201"):
        fails_with(aws("codeartifact", "get-authorization-token", "--domain", domain, "--duration-seconds", bad),
                   "ValidationException")


# ----------------------------------------------------------------------------- policies


def test_domain_permissions_policy(aws, track):
    domain = track.create_domain()["name"]
    arn = f"arn:aws:codeartifact:{REGION}:{ACCOUNT}:domain/{domain}"
    fails_with(aws("codeartifact", "get-domain-permissions-policy", "--domain", domain),
               "ResourceNotFoundException")
    fails_with(aws("codeartifact", "delete-domain-permissions-policy", "--domain", domain),
               "ResourceNotFoundException")
    # a revision for a policy that does not exist → conflict (spec §7.2, §14)
    fails_with(aws("codeartifact", "put-domain-permissions-policy", "--domain", domain,
                   "--policy-document", allow_policy(), "--policy-revision", "no-such-revision"),
               "ConflictException")

    doc1 = allow_policy()
    p1 = ok(aws("codeartifact", "put-domain-permissions-policy", "--domain", domain,
                "--policy-document", doc1))["policy"]
    assert p1["resourceArn"] == arn
    assert p1["document"] == doc1, "the document is returned verbatim"
    assert p1["revision"]

    got = ok(aws("codeartifact", "get-domain-permissions-policy", "--domain", domain))["policy"]
    assert got == p1

    doc2 = json.dumps(json.loads(doc1), indent=2)  # different text, same meaning
    fails_with(aws("codeartifact", "put-domain-permissions-policy", "--domain", domain,
                   "--policy-document", doc2, "--policy-revision", p1["revision"] + "x"),
               "ConflictException")
    p2 = ok(aws("codeartifact", "put-domain-permissions-policy", "--domain", domain, "--domain-owner", ACCOUNT,
                "--policy-document", doc2, "--policy-revision", p1["revision"]))["policy"]
    assert p2["document"] == doc2
    assert p2["revision"] != p1["revision"], "every put makes a new revision"

    fails_with(aws("codeartifact", "delete-domain-permissions-policy", "--domain", domain,
                   "--policy-revision", p1["revision"]), "ConflictException")
    deleted = ok(aws("codeartifact", "delete-domain-permissions-policy", "--domain", domain,
                     "--policy-revision", p2["revision"]))["policy"]
    assert deleted == p2
    fails_with(aws("codeartifact", "get-domain-permissions-policy", "--domain", domain),
               "ResourceNotFoundException")

    for bad in ("not json", json.dumps({"Version": "2012-10-17"}), json.dumps([1, 2])):
        fails_with(aws("codeartifact", "put-domain-permissions-policy", "--domain", domain,
                       "--policy-document", bad), "ValidationException")
    fails_with(aws("codeartifact", "put-domain-permissions-policy", "--domain", domain,
                   "--policy-document", "x" * 7169), "ValidationException")
    fails_with(aws("codeartifact", "put-domain-permissions-policy", "--domain", unique("nodom"),
                   "--policy-document", doc1), "ResourceNotFoundException")


def test_repository_permissions_policy(aws, track, ca):
    domain = track.create_domain()["name"]
    ca.create_repository(domain=domain, repository="team")
    arn = f"arn:aws:codeartifact:{REGION}:{ACCOUNT}:repository/{domain}/team"
    fails_with(aws("codeartifact", "get-repository-permissions-policy", "--domain", domain,
                   "--repository", "team"), "ResourceNotFoundException")

    doc = allow_policy(actions="codeartifact:ReadFromRepository")
    p1 = ok(aws("codeartifact", "put-repository-permissions-policy", "--domain", domain, "--repository", "team",
                "--policy-document", doc))["policy"]
    assert p1["resourceArn"] == arn and p1["document"] == doc and p1["revision"]
    assert ok(aws("codeartifact", "get-repository-permissions-policy", "--domain", domain,
                  "--repository", "team"))["policy"] == p1

    fails_with(aws("codeartifact", "put-repository-permissions-policy", "--domain", domain,
                   "--repository", "team", "--policy-document", doc, "--policy-revision", "stale"),
               "ConflictException")
    p2 = ok(aws("codeartifact", "put-repository-permissions-policy", "--domain", domain, "--repository", "team",
                "--policy-document", doc, "--policy-revision", p1["revision"]))["policy"]
    assert p2["revision"] != p1["revision"]

    fails_with(aws("codeartifact", "delete-repository-permissions-policy", "--domain", domain,
                   "--repository", "team", "--policy-revision", p1["revision"]), "ConflictException")
    assert ok(aws("codeartifact", "delete-repository-permissions-policy", "--domain", domain,
                  "--repository", "team"))["policy"] == p2
    fails_with(aws("codeartifact", "delete-repository-permissions-policy", "--domain", domain,
                   "--repository", "team"), "ResourceNotFoundException")
    fails_with(aws("codeartifact", "put-repository-permissions-policy", "--domain", domain,
                   "--repository", "absent", "--policy-document", doc), "ResourceNotFoundException")
    fails_with(aws("codeartifact", "put-repository-permissions-policy", "--domain", domain,
                   "--repository", "team", "--policy-document", "{"), "ValidationException")


# ----------------------------------------------------------------------------- tags


def test_tags(aws, track, ca):
    domain = track.create_domain()
    repo = ca.create_repository(domain=domain["name"], repository="team")["repository"]
    for arn in (domain["arn"], repo["arn"]):
        assert ok(aws("codeartifact", "list-tags-for-resource", "--resource-arn", arn))["tags"] == []
        res = aws("codeartifact", "tag-resource", "--resource-arn", arn,
                  "--tags", "key=a,value=1", "key=b,value=2")
        ok(res)
        assert res.out in (None, {}), "TagResource returns {}"
        ok(aws("codeartifact", "tag-resource", "--resource-arn", arn, "--tags", "key=a,value=one",
               "key=empty,value="))
        tags = ok(aws("codeartifact", "list-tags-for-resource", "--resource-arn", arn))["tags"]
        assert sorted((t["key"], t["value"]) for t in tags) == [("a", "one"), ("b", "2"), ("empty", "")]
        ok(aws("codeartifact", "untag-resource", "--resource-arn", arn, "--tag-keys", "b", "not-there"))
        tags = ok(aws("codeartifact", "list-tags-for-resource", "--resource-arn", arn))["tags"]
        assert sorted((t["key"], t["value"]) for t in tags) == [("a", "one"), ("empty", "")]

    missing = f"arn:aws:codeartifact:{REGION}:{ACCOUNT}:domain/{unique('nodom')}"
    fails_with(aws("codeartifact", "list-tags-for-resource", "--resource-arn", missing),
               "ResourceNotFoundException")
    fails_with(aws("codeartifact", "tag-resource", "--resource-arn", missing, "--tags", "key=a,value=b"),
               "ResourceNotFoundException")
    missing_repo = f"arn:aws:codeartifact:{REGION}:{ACCOUNT}:repository/{domain['name']}/nope"
    fails_with(aws("codeartifact", "list-tags-for-resource", "--resource-arn", missing_repo),
               "ResourceNotFoundException")
    for bad in ("not-an-arn", f"arn:aws:s3:::bucket",
                f"arn:aws:codeartifact:{REGION}:{ACCOUNT}:package/{domain['name']}/team/npm//left-pad"):
        fails_with(aws("codeartifact", "list-tags-for-resource", "--resource-arn", bad), "ValidationException")
    fails_with(aws("codeartifact", "tag-resource", "--resource-arn", domain["arn"],
                   "--tags", "key=aws:reserved,value=x"), "ValidationException")

    # 50 tags per resource at most → 402 ServiceQuotaExceededException
    many = [f"key=k{i:02d},value=v" for i in range(48)]  # + "a" and "empty" = 50
    ok(aws("codeartifact", "tag-resource", "--resource-arn", repo["arn"], "--tags", *many))
    n = len(ok(aws("codeartifact", "list-tags-for-resource", "--resource-arn", repo["arn"]))["tags"])
    assert n == 50
    fails_with(aws("codeartifact", "tag-resource", "--resource-arn", repo["arn"], "--tags", "key=one-more,value=x"),
               "ServiceQuotaExceededException")
    # overwriting an existing key does not count as a new tag
    ok(aws("codeartifact", "tag-resource", "--resource-arn", repo["arn"], "--tags", "key=k00,value=changed"))


# ----------------------------------------------------------------------------- generic packages


def cli_publish(aws, tmp_path, domain, repository, package, version, asset_name, data, *extra,
                namespace="ns", sha=None):
    """`aws codeartifact publish-package-version` exactly as documented for generic packages."""
    path = tmp_path / f"{uuid.uuid4().hex}-{asset_name}"
    path.write_bytes(data)
    return aws("codeartifact", "publish-package-version", "--domain", domain, "--repository", repository,
               "--format", "generic", "--namespace", namespace, "--package", package,
               "--package-version", version, "--asset-content", str(path), "--asset-name", asset_name,
               "--asset-sha256", sha or sha256_of(data), *extra)


def api_publish(ca, domain, repository, package, version, asset_name, data, namespace="ns", **kwargs):
    return ca.publish_package_version(domain=domain, repository=repository, format="generic",
                                      namespace=namespace, package=package, packageVersion=version,
                                      assetContent=data, assetName=asset_name,
                                      assetSHA256=sha256_of(data), **kwargs)


def pkg_args(domain, repository, package, namespace="ns"):
    return ["--domain", domain, "--repository", repository, "--format", "generic", "--namespace", namespace,
            "--package", package]


def test_generic_publish_download_and_describe(aws, track, ca, tmp_path):
    """Spec §7.7 PublishPackageVersion / GetPackageVersionAsset / ListPackageVersionAssets /
    DescribePackageVersion through the CLI."""
    domain = track.create_domain()["name"]
    ca.create_repository(domain=domain, repository="repo")
    first = bytes(range(256)) * 40 + b"\r\n\x00end"
    second = b"# notes\nsecond asset\n"

    before = time.time()
    out = ok(cli_publish(aws, tmp_path, domain, "repo", "tool", "1.0.0", "tool.tar.gz", first, "--unfinished"))
    assert (out["format"], out["namespace"], out["package"], out["version"]) == ("generic", "ns", "tool", "1.0.0")
    assert out["status"] == "Unfinished"
    assert out["asset"] == {"name": "tool.tar.gz", "size": len(first), "hashes": asset_hashes(first)}
    rev1 = out["versionRevision"]
    assert ok(aws("codeartifact", "describe-package-version", *pkg_args(domain, "repo", "tool"),
                  "--package-version", "1.0.0"))["packageVersion"]["status"] == "Unfinished"

    out = ok(cli_publish(aws, tmp_path, domain, "repo", "tool", "1.0.0", "NOTES.md", second))
    assert out["status"] == "Published", "a publish without --unfinished completes the version"
    rev2 = out["versionRevision"]
    assert rev2 != rev1, "adding an asset changes the revision (spec §8.3)"

    target = tmp_path / "downloaded.bin"
    meta = ok(aws("codeartifact", "get-package-version-asset", *pkg_args(domain, "repo", "tool"),
                  "--package-version", "1.0.0", "--asset", "tool.tar.gz", str(target)))
    assert target.read_bytes() == first, "the download is byte-exact"
    assert meta == {"assetName": "tool.tar.gz", "packageVersion": "1.0.0", "packageVersionRevision": rev2}
    # the current revision may be given; a stale one is refused (spec §7.7 GetPackageVersionAsset)
    ok(aws("codeartifact", "get-package-version-asset", *pkg_args(domain, "repo", "tool"),
           "--package-version", "1.0.0", "--asset", "NOTES.md", "--package-version-revision", rev2,
           str(tmp_path / "notes.md")))
    assert (tmp_path / "notes.md").read_bytes() == second
    fails_with(aws("codeartifact", "get-package-version-asset", *pkg_args(domain, "repo", "tool"),
                   "--package-version", "1.0.0", "--asset", "NOTES.md", "--package-version-revision", rev1,
                   str(tmp_path / "stale.md")), "ResourceNotFoundException")
    fails_with(aws("codeartifact", "get-package-version-asset", *pkg_args(domain, "repo", "tool"),
                   "--package-version", "1.0.0", "--asset", "absent.bin", str(tmp_path / "absent.bin")),
               "ResourceNotFoundException")

    listed = ok(aws("codeartifact", "list-package-version-assets", *pkg_args(domain, "repo", "tool"),
                    "--package-version", "1.0.0"))
    assert listed["versionRevision"] == rev2
    assert sorted(listed["assets"], key=lambda a: a["name"]) == [
        {"name": "NOTES.md", "size": len(second), "hashes": asset_hashes(second)},
        {"name": "tool.tar.gz", "size": len(first), "hashes": asset_hashes(first)},
    ]

    pv = ok(aws("codeartifact", "describe-package-version", *pkg_args(domain, "repo", "tool"),
                "--package-version", "1.0.0"))["packageVersion"]
    assert pv["format"] == "generic" and pv["namespace"] == "ns" and pv["packageName"] == "tool"
    assert pv["displayName"] == "tool" and pv["version"] == "1.0.0"
    assert pv["status"] == "Published" and pv["revision"] == rev2
    assert pv["origin"] == {"domainEntryPoint": {"repositoryName": "repo"}, "originType": "INTERNAL"}
    assert before - 5 <= to_epoch(pv["publishedTime"]) <= time.time() + 5
    for absent in ("summary", "homePage", "sourceCodeRepository", "licenses"):
        assert absent not in pv, f"{absent} is never set for generic (spec §6.6)"

    # a published version is immutable: another asset → ConflictException (spec §7.7 step 6)
    fails_with(cli_publish(aws, tmp_path, domain, "repo", "tool", "1.0.0", "late.txt", b"late"),
               "ConflictException")
    # the namespace is required for generic
    res = aws("codeartifact", "publish-package-version", "--domain", domain, "--repository", "repo",
              "--format", "generic", "--package", "tool", "--package-version", "3.0.0",
              "--asset-content", str(target), "--asset-name", "x.bin", "--asset-sha256", sha256_of(first))
    fails_with(res, "ValidationException")


def test_generic_publish_wrong_sha256(aws, track, ca, tmp_path):
    """Spec §7.7 PublishPackageVersion step 1, §14: a body that does not hash to
    --asset-sha256 → ValidationException, and nothing is created."""
    domain = track.create_domain()["name"]
    ca.create_repository(domain=domain, repository="repo")
    data = b"the real bytes\n"
    fails_with(cli_publish(aws, tmp_path, domain, "repo", "tool", "1.0.0", "a.txt", data,
                           sha=sha256_of(b"other bytes")), "ValidationException")
    fails_with(aws("codeartifact", "describe-package-version", *pkg_args(domain, "repo", "tool"),
                   "--package-version", "1.0.0"), "ResourceNotFoundException")
    assert ok(aws("codeartifact", "list-packages", "--domain", domain, "--repository", "repo"))["packages"] == []
    # uppercase hex is not the SHA256 shape ([0-9a-f]{64})
    fails_with(cli_publish(aws, tmp_path, domain, "repo", "tool", "1.0.0", "a.txt", data,
                           sha=sha256_of(data).upper()), "ValidationException")
    assert ca.describe_domain(domain=domain)["domain"]["assetSizeBytes"] == 0
    # the same request with the right hash works
    assert ok(cli_publish(aws, tmp_path, domain, "repo", "tool", "1.0.0", "a.txt", data))["status"] == "Published"


def test_generic_list_versions_status_and_sort(aws, track, ca):
    """Spec §7.7 ListPackageVersions: --status filters, --sort-by PUBLISHED_TIME is newest first;
    §7.6 ListPackages."""
    domain = track.create_domain()["name"]
    ca.create_repository(domain=domain, repository="repo")
    order = ["2.0.0", "1.0.0", "10.0.0", "1.5.0"]  # publish order differs from any string order
    for v in order:
        api_publish(ca, domain, "repo", "lib", v, "lib.bin", f"lib {v}".encode())
        time.sleep(0.01)
    api_publish(ca, domain, "repo", "other", "1.0.0", "o.bin", b"o", namespace="zz")
    ca.update_package_versions_status(domain=domain, repository="repo", format="generic", namespace="ns",
                                      package="lib", versions=["1.0.0"], targetStatus="Unlisted")

    newest_first = ok(aws("codeartifact", "list-package-versions", *pkg_args(domain, "repo", "lib"),
                          "--sort-by", "PUBLISHED_TIME"))
    assert [v["version"] for v in newest_first["versions"]] == list(reversed(order))
    assert newest_first["format"] == "generic" and newest_first["namespace"] == "ns"
    assert newest_first["package"] == "lib"
    assert newest_first["defaultDisplayVersion"] == "1.5.0", "the most recently published Published version"
    statuses = {v["version"]: v["status"] for v in newest_first["versions"]}
    assert statuses == {"2.0.0": "Published", "1.0.0": "Unlisted", "10.0.0": "Published", "1.5.0": "Published"}
    for v in newest_first["versions"]:
        assert v["origin"]["originType"] == "INTERNAL" and v["revision"]

    published = ok(aws("codeartifact", "list-package-versions", *pkg_args(domain, "repo", "lib"),
                       "--status", "Published", "--sort-by", "PUBLISHED_TIME"))
    assert [v["version"] for v in published["versions"]] == ["1.5.0", "10.0.0", "2.0.0"]
    unlisted = ok(aws("codeartifact", "list-package-versions", *pkg_args(domain, "repo", "lib"),
                      "--status", "Unlisted"))
    assert [v["version"] for v in unlisted["versions"]] == ["1.0.0"]
    fails_with(aws("codeartifact", "list-package-versions", *pkg_args(domain, "repo", "lib"),
                   "--status", "PUBLISHED"), "ValidationException")
    fails_with(aws("codeartifact", "list-package-versions", *pkg_args(domain, "repo", "nothing")),
               "ResourceNotFoundException")

    # --page-size: the CLI follows nextToken, non-aggregate keys are kept
    paged = ok(aws("codeartifact", "list-package-versions", *pkg_args(domain, "repo", "lib"),
                   "--sort-by", "PUBLISHED_TIME", "--page-size", "1"))
    assert [v["version"] for v in paged["versions"]] == list(reversed(order))

    packages = ok(aws("codeartifact", "list-packages", "--domain", domain, "--repository", "repo"))["packages"]
    assert [(p["namespace"], p["package"]) for p in packages] == [("ns", "lib"), ("zz", "other")]
    for p in packages:
        assert p["format"] == "generic"
        assert p["originConfiguration"] == {"restrictions": {"publish": "ALLOW", "upstream": "BLOCK"}}
    prefixed = ok(aws("codeartifact", "list-packages", "--domain", domain, "--repository", "repo",
                      "--package-prefix", "oth"))["packages"]
    assert [p["package"] for p in prefixed] == ["other"]
    by_ns = ok(aws("codeartifact", "list-packages", "--domain", domain, "--repository", "repo",
                   "--format", "generic", "--namespace", "z"))["packages"]
    assert [p["package"] for p in by_ns] == ["other"], "the namespace filter is a prefix (spec §7.6)"


def test_generic_copy_package_versions(aws, track, ca):
    """Spec §7.7 CopyPackageVersions and §8.4 (all-or-nothing, SKIPPED, idempotent copies)."""
    domain = track.create_domain()["name"]
    for r in ("src", "dst"):
        ca.create_repository(domain=domain, repository=r)
    revs = {v: api_publish(ca, domain, "src", "app", v, "app.bin", f"app {v}".encode())["versionRevision"]
            for v in ("1.0.0", "1.1.0", "1.2.0")}
    copy = ["codeartifact", "copy-package-versions", "--domain", domain, "--source-repository", "src",
            "--destination-repository", "dst", "--format", "generic", "--namespace", "ns", "--package", "app"]

    out = ok(aws(*copy, "--versions", "1.0.0"))
    assert out == {"successfulVersions": {"1.0.0": {"revision": revs["1.0.0"], "status": "Published"}},
                   "failedVersions": {}}
    out = ok(aws(*copy, "--version-revisions", f"1.1.0={revs['1.1.0']}"))
    assert out == {"successfulVersions": {"1.1.0": {"revision": revs["1.1.0"], "status": "Published"}},
                   "failedVersions": {}}
    # copying an identical version again is a no-op reported in neither map
    assert ok(aws(*copy, "--versions", "1.0.0")) == {"successfulVersions": {}, "failedVersions": {}}

    # a stale revision → MISMATCHED_REVISION, nothing copied
    out = ok(aws(*copy, "--version-revisions", f"1.2.0={revs['1.0.0']}"))
    assert out["successfulVersions"] == {}
    assert out["failedVersions"]["1.2.0"]["errorCode"] == "MISMATCHED_REVISION"
    # one missing version → NOT_FOUND, the others SKIPPED and not copied
    out = ok(aws(*copy, "--versions", "1.2.0", "9.9.9"))
    assert out["successfulVersions"] == {}
    assert {v: e["errorCode"] for v, e in out["failedVersions"].items()} == \
        {"1.2.0": "SKIPPED", "9.9.9": "NOT_FOUND"}
    assert all(e["errorMessage"] for e in out["failedVersions"].values())

    dst = ok(aws("codeartifact", "list-package-versions", *pkg_args(domain, "dst", "app")))
    assert sorted(v["version"] for v in dst["versions"]) == ["1.0.0", "1.1.0"]
    copied = ok(aws("codeartifact", "describe-package-version", *pkg_args(domain, "dst", "app"),
                    "--package-version", "1.0.0"))["packageVersion"]
    assert copied["revision"] == revs["1.0.0"]
    assert copied["origin"] == {"domainEntryPoint": {"repositoryName": "src"}, "originType": "INTERNAL"}, \
        "a copy keeps the original origin (spec §6.6)"

    # exactly one of --versions and --version-revisions; not both, not neither
    fails_with(aws(*copy, "--versions", "1.2.0", "--version-revisions", f"1.2.0={revs['1.2.0']}"),
               "ValidationException")
    fails_with(aws(*copy), "ValidationException")
    fails_with(aws("codeartifact", "copy-package-versions", "--domain", domain, "--source-repository", "src",
                   "--destination-repository", "nope", "--format", "generic", "--namespace", "ns",
                   "--package", "app", "--versions", "1.2.0"), "ResourceNotFoundException")


def test_generic_status_dispose_delete(aws, track, ca, tmp_path):
    """Spec §7.7 UpdatePackageVersionsStatus / DisposePackageVersions / DeletePackageVersions /
    §7.6 DeletePackage, §8.1–§8.4."""
    domain = track.create_domain()["name"]
    ca.create_repository(domain=domain, repository="repo")
    rev = {v: api_publish(ca, domain, "repo", "svc", v, "svc.bin", f"svc {v}".encode())["versionRevision"]
           for v in ("1.0.0", "2.0.0")}
    pkg = pkg_args(domain, "repo", "svc")
    update = ["codeartifact", "update-package-versions-status", *pkg]

    out = ok(aws(*update, "--versions", "1.0.0", "2.0.0", "--target-status", "Archived"))
    assert out == {"successfulVersions": {"1.0.0": {"revision": rev["1.0.0"], "status": "Archived"},
                                          "2.0.0": {"revision": rev["2.0.0"], "status": "Archived"}},
                   "failedVersions": {}}
    # archived assets are not downloadable (spec §8.1, §14)
    fails_with(aws("codeartifact", "get-package-version-asset", *pkg, "--package-version", "1.0.0",
                   "--asset", "svc.bin", str(tmp_path / "x")), "ConflictException")

    # all-or-nothing: one mismatch → the other version is SKIPPED and unchanged
    out = ok(aws(*update, "--versions", "1.0.0", "2.0.0", "--target-status", "Published",
                 "--version-revisions", f"1.0.0={rev['1.0.0']},2.0.0={rev['1.0.0']}"))
    assert out["successfulVersions"] == {}
    assert {v: e["errorCode"] for v, e in out["failedVersions"].items()} == \
        {"1.0.0": "SKIPPED", "2.0.0": "MISMATCHED_REVISION"}
    out = ok(aws(*update, "--versions", "1.0.0", "3.0.0", "--target-status", "Published"))
    assert {v: e["errorCode"] for v, e in out["failedVersions"].items()} == \
        {"1.0.0": "SKIPPED", "3.0.0": "NOT_FOUND"}
    out = ok(aws(*update, "--versions", "1.0.0", "--expected-status", "Published", "--target-status", "Unlisted"))
    assert out["failedVersions"]["1.0.0"]["errorCode"] == "MISMATCHED_STATUS"
    statuses = {v["version"]: v["status"] for v in
                ok(aws("codeartifact", "list-package-versions", *pkg))["versions"]}
    assert statuses == {"1.0.0": "Archived", "2.0.0": "Archived"}, "a failed batch changes nothing"

    out = ok(aws(*update, "--versions", "1.0.0", "--expected-status", "Archived", "--target-status", "Published"))
    assert out["successfulVersions"] == {"1.0.0": {"revision": rev["1.0.0"], "status": "Published"}}
    fails_with(aws(*update, "--versions", "1.0.0", "--target-status", "Disposed"), "ValidationException")
    for bad in ("Deleted", "Unfinished"):  # the same rule, checked without a CLI start-up each
        with pytest.raises(ClientError) as ei:
            ca.update_package_versions_status(domain=domain, repository="repo", format="generic", namespace="ns",
                                              package="svc", versions=["1.0.0"], targetStatus=bad)
        assert ei.value.response["Error"]["Code"] == "ValidationException", bad

    # dispose: status Disposed, assets gone, revision kept, further status changes NOT_ALLOWED
    out = ok(aws("codeartifact", "dispose-package-versions", *pkg, "--versions", "2.0.0"))
    assert out == {"successfulVersions": {"2.0.0": {"revision": rev["2.0.0"], "status": "Disposed"}},
                   "failedVersions": {}}
    assets = ok(aws("codeartifact", "list-package-version-assets", *pkg, "--package-version", "2.0.0"))
    assert assets["assets"] == []
    out = ok(aws(*update, "--versions", "2.0.0", "--target-status", "Published"))
    assert out["failedVersions"]["2.0.0"]["errorCode"] == "NOT_ALLOWED"
    out = ok(aws("codeartifact", "dispose-package-versions", *pkg, "--versions", "1.0.0", "--expected-status",
                 "Archived"))
    assert out["failedVersions"]["1.0.0"]["errorCode"] == "MISMATCHED_STATUS"
    assert ca.describe_domain(domain=domain)["domain"]["assetSizeBytes"] == len(b"svc 1.0.0"), \
        "disposed assets no longer count (spec §6.1)"

    # delete versions (any status)
    out = ok(aws("codeartifact", "delete-package-versions", *pkg, "--versions", "2.0.0", "4.0.0"))
    assert out["successfulVersions"] == {}
    assert {v: e["errorCode"] for v, e in out["failedVersions"].items()} == \
        {"2.0.0": "SKIPPED", "4.0.0": "NOT_FOUND"}
    out = ok(aws("codeartifact", "delete-package-versions", *pkg, "--versions", "2.0.0"))
    assert out == {"successfulVersions": {"2.0.0": {"revision": rev["2.0.0"], "status": "Deleted"}},
                   "failedVersions": {}}
    fails_with(aws("codeartifact", "describe-package-version", *pkg, "--package-version", "2.0.0"),
               "ResourceNotFoundException")
    # a deleted version can be published again
    again = ok(cli_publish(aws, tmp_path, domain, "repo", "svc", "2.0.0", "svc.bin", b"svc 2.0.0 again"))
    assert again["status"] == "Published"

    deleted = ok(aws("codeartifact", "delete-package", *pkg))["deletedPackage"]
    assert deleted == {"format": "generic", "namespace": "ns", "package": "svc",
                       "originConfiguration": {"restrictions": {"publish": "ALLOW", "upstream": "BLOCK"}}}
    fails_with(aws("codeartifact", "describe-package", *pkg), "ResourceNotFoundException")
    for gone in (ca.delete_package, ca.list_package_versions):
        with pytest.raises(ClientError) as ei:
            gone(domain=domain, repository="repo", format="generic", namespace="ns", package="svc")
        assert ei.value.response["Error"]["Code"] == "ResourceNotFoundException", gone
    assert ca.describe_domain(domain=domain)["domain"]["assetSizeBytes"] == 0


def test_generic_package_origin_configuration(aws, track, ca, tmp_path):
    """Spec §7.6 PutPackageOriginConfiguration, §9.1, §9.4: publish=BLOCK refuses a publish
    with ConflictException (§14)."""
    domain = track.create_domain()["name"]
    ca.create_repository(domain=domain, repository="repo")
    pkg = pkg_args(domain, "repo", "locked")
    out = ok(aws("codeartifact", "put-package-origin-configuration", *pkg,
                 "--restrictions", "publish=BLOCK,upstream=ALLOW"))
    assert out == {"originConfiguration": {"restrictions": {"publish": "BLOCK", "upstream": "ALLOW"}}}
    described = ok(aws("codeartifact", "describe-package", *pkg))["package"]
    assert described == {"format": "generic", "namespace": "ns", "name": "locked",
                         "originConfiguration": {"restrictions": {"publish": "BLOCK", "upstream": "ALLOW"}}}
    blocked = ok(aws("codeartifact", "list-packages", "--domain", domain, "--repository", "repo",
                     "--publish", "BLOCK"))["packages"]
    assert [p["package"] for p in blocked] == ["locked"]
    assert ok(aws("codeartifact", "list-packages", "--domain", domain, "--repository", "repo",
                  "--publish", "ALLOW"))["packages"] == []

    fails_with(cli_publish(aws, tmp_path, domain, "repo", "locked", "1.0.0", "l.bin", b"locked"),
               "ConflictException")
    assert ok(aws("codeartifact", "list-package-versions", *pkg))["versions"] == [], "nothing was published"

    ok(aws("codeartifact", "put-package-origin-configuration", *pkg,
           "--restrictions", "publish=ALLOW,upstream=BLOCK"))
    assert ok(cli_publish(aws, tmp_path, domain, "repo", "locked", "1.0.0", "l.bin", b"locked"))["status"] == \
        "Published"
    fails_with(aws("codeartifact", "put-package-origin-configuration", *pkg_args(domain, "absent", "x"),
                   "--restrictions", "publish=ALLOW,upstream=ALLOW"), "ResourceNotFoundException")


# ----------------------------------------------------------------------------- package groups


def test_package_groups(aws, track, ca, tmp_path):
    """Spec §7.8, §9.2, §9.3 through the CLI."""
    domain = track.create_domain()["name"]
    for r in ("allowed", "other"):
        ca.create_repository(domain=domain, repository=r)
    root_arn = f"arn:aws:codeartifact:{REGION}:{ACCOUNT}:package-group/{domain}/%2a"
    team_arn = f"arn:aws:codeartifact:{REGION}:{ACCOUNT}:package-group/{domain}/generic/team/%2a"

    team = ok(aws("codeartifact", "create-package-group", "--domain", domain, "--package-group",
                  "/generic/team/*", "--contact-info", "team@example.com",
                  "--description", "team packages"))["packageGroup"]
    assert team["pattern"] == "/generic/team/*" and team["arn"] == team_arn
    assert team["contactInfo"] == "team@example.com" and team["description"] == "team packages"
    assert team["parent"] == {"arn": root_arn, "pattern": "/*"}
    tool = ok(aws("codeartifact", "create-package-group", "--domain", domain, "--package-group",
                  "/generic/team/tool$"))["packageGroup"]
    assert tool["arn"].endswith(f"package-group/{domain}/generic/team/tool%24")
    fails_with(aws("codeartifact", "create-package-group", "--domain", domain, "--package-group",
                   "/generic/team/*"), "ConflictException")
    fails_with(aws("codeartifact", "create-package-group", "--domain", domain, "--package-group", "/*"),
               "ConflictException")

    described = ok(aws("codeartifact", "describe-package-group", "--domain", domain, "--package-group",
                       "/generic/team/tool$"))["packageGroup"]
    assert described["parent"] == {"arn": team_arn, "pattern": "/generic/team/*"}
    for kind, r in described["originConfiguration"]["restrictions"].items():
        assert r["mode"] == "INHERIT" and r["effectiveMode"] == "ALLOW", (kind, r)
        assert r["inheritedFrom"] == {"arn": root_arn, "pattern": "/*"}, (kind, r)

    # PUBLISH=BLOCK on the team group: the tool group inherits it, a publish is refused
    upd = ok(aws("codeartifact", "update-package-group-origin-configuration", "--domain", domain,
                 "--package-group", "/generic/team/*", "--restrictions", "PUBLISH=BLOCK"))
    publish = upd["packageGroup"]["originConfiguration"]["restrictions"]["PUBLISH"]
    assert publish["mode"] == publish["effectiveMode"] == "BLOCK" and "inheritedFrom" not in publish
    assert upd["packageGroup"]["originConfiguration"]["restrictions"]["EXTERNAL_UPSTREAM"]["mode"] == "INHERIT", \
        "types absent from --restrictions are unchanged"
    assert upd.get("allowedRepositoryUpdates", {}) == {}
    inherited = ok(aws("codeartifact", "describe-package-group", "--domain", domain, "--package-group",
                       "/generic/team/tool$"))["packageGroup"]["originConfiguration"]["restrictions"]["PUBLISH"]
    assert inherited.pop("repositoriesCount", 0) == 0
    assert inherited == {"mode": "INHERIT", "effectiveMode": "BLOCK",
                         "inheritedFrom": {"arn": team_arn, "pattern": "/generic/team/*"}}
    fails_with(cli_publish(aws, tmp_path, domain, "allowed", "tool", "1.0.0", "t.bin", b"tool", namespace="team"),
               "ConflictException")

    # ALLOW_SPECIFIC_REPOSITORIES with one allowed repository
    upd = ok(aws("codeartifact", "update-package-group-origin-configuration", "--domain", domain,
                 "--package-group", "/generic/team/*", "--restrictions", "PUBLISH=ALLOW_SPECIFIC_REPOSITORIES",
                 "--add-allowed-repositories", "originRestrictionType=PUBLISH,repositoryName=allowed"))
    assert upd["allowedRepositoryUpdates"] == {"PUBLISH": {"ADDED": ["allowed"]}}
    assert upd["packageGroup"]["originConfiguration"]["restrictions"]["PUBLISH"]["repositoriesCount"] == 1
    listed = ok(aws("codeartifact", "list-allowed-repositories-for-group", "--domain", domain,
                    "--package-group", "/generic/team/*", "--origin-restriction-type", "PUBLISH"))
    assert listed["allowedRepositories"] == ["allowed"]
    internal = ca.list_allowed_repositories_for_group(domain=domain, packageGroup="/generic/team/*",
                                                      originRestrictionType="INTERNAL_UPSTREAM")
    assert internal["allowedRepositories"] == []
    assert ok(cli_publish(aws, tmp_path, domain, "allowed", "tool", "1.0.0", "t.bin", b"tool",
                          namespace="team"))["status"] == "Published"
    fails_with(cli_publish(aws, tmp_path, domain, "other", "tool", "1.0.0", "t.bin", b"tool", namespace="team"),
               "ConflictException")
    api_publish(ca, domain, "allowed", "helper", "1.0.0", "h.bin", b"helper", namespace="team")
    fails_with(aws("codeartifact", "update-package-group-origin-configuration", "--domain", domain,
                   "--package-group", "/generic/team/*", "--add-allowed-repositories",
                   "originRestrictionType=PUBLISH,repositoryName=ghost"), "ResourceNotFoundException")

    assoc = ok(aws("codeartifact", "get-associated-package-group", "--domain", domain, "--format", "generic",
                   "--namespace", "team", "--package", "tool"))
    assert assoc["associationType"] == "STRONG" and assoc["packageGroup"]["pattern"] == "/generic/team/tool$"
    assoc = ca.get_associated_package_group(domain=domain, format="generic", namespace="elsewhere", package="thing")
    assert assoc["packageGroup"]["pattern"] == "/*", "every package is at least in the root group"

    pkgs = ok(aws("codeartifact", "list-associated-packages", "--domain", domain,
                  "--package-group", "/generic/team/*"))["packages"]
    assert pkgs == [{"format": "generic", "namespace": "team", "package": "helper", "associationType": "STRONG"}], \
        "tool belongs to the more specific /generic/team/tool$ group"
    pkgs = ok(aws("codeartifact", "list-associated-packages", "--domain", domain,
                  "--package-group", "/generic/team/tool$"))["packages"]
    assert [p["package"] for p in pkgs] == ["tool"]

    subs = ok(aws("codeartifact", "list-sub-package-groups", "--domain", domain, "--package-group", "/*"))
    assert [g["pattern"] for g in subs["packageGroups"]] == ["/generic/team/*"]
    subs = ok(aws("codeartifact", "list-sub-package-groups", "--domain", domain,
                  "--package-group", "/generic/team/*"))
    assert [g["pattern"] for g in subs["packageGroups"]] == ["/generic/team/tool$"]
    groups = ok(aws("codeartifact", "list-package-groups", "--domain", domain))["packageGroups"]
    assert [g["pattern"] for g in groups] == ["/*", "/generic/team/*", "/generic/team/tool$"]

    # deleting the team group re-parents its child under the root
    deleted = ok(aws("codeartifact", "delete-package-group", "--domain", domain,
                     "--package-group", "/generic/team/*"))["packageGroup"]
    assert deleted["pattern"] == "/generic/team/*"
    child = ok(aws("codeartifact", "describe-package-group", "--domain", domain, "--package-group",
                   "/generic/team/tool$"))["packageGroup"]
    assert child["parent"] == {"arn": root_arn, "pattern": "/*"}
    assert child["originConfiguration"]["restrictions"]["PUBLISH"]["effectiveMode"] == "ALLOW"
    fails_with(aws("codeartifact", "describe-package-group", "--domain", domain,
                   "--package-group", "/generic/team/*"), "ResourceNotFoundException")
    fails_with(aws("codeartifact", "delete-package-group", "--domain", domain, "--package-group", "/*"),
               "ValidationException")
    # invalid patterns (spec §9.3; the full grammar is in test_boto3.py) create nothing
    for bad in ("generic/team/*", "/generic//tool$"):
        fails_with(aws("codeartifact", "create-package-group", "--domain", domain, "--package-group", bad),
                   "ValidationException")
    groups = ok(aws("codeartifact", "list-package-groups", "--domain", domain))["packageGroups"]
    assert [g["pattern"] for g in groups] == ["/*", "/generic/team/tool$"]
