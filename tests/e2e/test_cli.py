"""Every implemented operation driven through the real AWS CLI (awscli v1), success and error
paths. References: control-plane spec §3.4 (errors), §4 (validation), §6 (shapes), §7
(operations), §12 (pagination)."""

from __future__ import annotations

import json
import time

import pytest

from conftest import ACCOUNT, REGION, to_epoch, unique


def ok(result):
    assert result.rc == 0, f"aws CLI failed (rc={result.rc}):\n{result.err}"
    return result.out


def fails_with(result, code: str):
    assert result.rc != 0, f"expected {code}, but the call succeeded: {result.out}"
    assert result.error_code() == code, f"expected {code}, got:\n{result.err}"


def policy_doc(account: str = ACCOUNT, action: str = "codeartifact:*") -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                    "Action": action,
                    "Resource": "*",
                }
            ],
        }
    )


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
                   "--policy-document", policy_doc(), "--policy-revision", "no-such-revision"),
               "ConflictException")

    doc1 = policy_doc()
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

    doc = policy_doc(action="codeartifact:ReadFromRepository")
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
