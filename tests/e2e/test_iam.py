"""Access decisions as IAM makes them (issue 11), through the real server: boto3 for the control
plane, the npm client and hand-made PyPI and Maven uploads through tokens for the repository
endpoints, identities of three accounts configured with an identities file.

References: policies spec §3 (operation → actions), §4 (repository endpoints → actions), §5
(same-account OR, cross-account AND), §7 (evaluation, AccessDeniedException wording); the
Service Authorization Reference for CodeArtifact; the user guide's "Domain policies" (a domain
policy governs every resource of the domain) and "npm tag handling" (CopyPackageVersions carries
the tags of the copied versions).

Identities (all but `test` come from the identities file written here):
* `test` (000000000000): owns the domains; no identity policies, so trusted as before.
* bob (333333333333): AWSCodeArtifactAdminAccess; everything in the owner's domain must be granted
  by the domain or repository policy too.
* carol (333333333333): identity policies configured but none allows anything.
* ci-reader (000000000000, a role session): least-privilege read-only consumer.
* ci-publisher (000000000000, a role session): reader plus publishing the npm scope @acme only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION, Server, http_request, make_client, unique
from npmkit import Npm, npm_env, publish_body, require_npm, tarball
from pydist import make_wheel
from pypikit import multipart, upload_fields

BOB_ACCOUNT = "333333333333"
BOB = f"arn:aws:iam::{BOB_ACCOUNT}:user/bob"
READER = f"arn:aws:sts::{ACCOUNT}:assumed-role/ci-reader/build-1"
PUBLISHER = f"arn:aws:sts::{ACCOUNT}:assumed-role/ci-publisher/build-2"
KEYS = {
    "bob": ("AKIDBOBCROSS0001", "bob-secret"),
    "carol": ("AKIDCAROLNOPOL01", "carol-secret"),
    "reader": ("AKIDCIREADER0001", "reader-secret"),
    "publisher": ("AKIDCIPUBLISH001", "publisher-secret"),
}

# The least-privilege CI policies of the README, verbatim in spirit.
TOKEN_STATEMENTS = [
    {"Effect": "Allow", "Action": "codeartifact:GetAuthorizationToken",
     "Resource": f"arn:aws:codeartifact:{REGION}:{ACCOUNT}:domain/*"},
    {"Effect": "Allow", "Action": "sts:GetServiceBearerToken", "Resource": "*",
     "Condition": {"StringEquals": {"sts:AWSServiceName": "codeartifact.amazonaws.com"}}},
]
READ_STATEMENT = {"Effect": "Allow",
                  "Action": ["codeartifact:ReadFromRepository", "codeartifact:GetRepositoryEndpoint"],
                  "Resource": f"arn:aws:codeartifact:{REGION}:{ACCOUNT}:repository/*"}
PUBLISH_ACME = {"Effect": "Allow",
                "Action": ["codeartifact:PublishPackageVersion", "codeartifact:PutPackageMetadata"],
                "Resource": f"arn:aws:codeartifact:{REGION}:{ACCOUNT}:package/*/*/npm/acme/*"}

IDENTITIES = {
    "managedPolicies": {
        "ci-read": {"Version": "2012-10-17", "Statement": [*TOKEN_STATEMENTS, READ_STATEMENT]},
    },
    "identities": [
        {"accessKeyId": KEYS["bob"][0], "secretAccessKey": KEYS["bob"][1], "accountId": BOB_ACCOUNT,
         "principalArn": BOB, "attachedPolicies": ["AWSCodeArtifactAdminAccess"]},
        {"accessKeyId": KEYS["carol"][0], "secretAccessKey": KEYS["carol"][1], "accountId": BOB_ACCOUNT,
         "principalArn": f"arn:aws:iam::{BOB_ACCOUNT}:user/carol", "inlinePolicies": {}},
        {"accessKeyId": KEYS["reader"][0], "secretAccessKey": KEYS["reader"][1], "accountId": ACCOUNT,
         "principalArn": READER, "attachedPolicies": ["ci-read"]},
        {"accessKeyId": KEYS["publisher"][0], "secretAccessKey": KEYS["publisher"][1], "accountId": ACCOUNT,
         "principalArn": PUBLISHER, "attachedPolicies": ["ci-read"],
         "inlinePolicies": {"publish-acme": {"Version": "2012-10-17", "Statement": [PUBLISH_ACME]}}},
    ],
}


# --------------------------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("iam")
    ids = tmp / "identities.json"
    ids.write_text(json.dumps(IDENTITIES))
    server = Server(tmp / "data", tmp / "server.log", ["--identities-file", str(ids)]).start()
    yield server
    server.kill()


@pytest.fixture(scope="module")
def owner(srv):
    return make_client(srv.endpoint)


@pytest.fixture(scope="module")
def clients(srv):
    return {name: make_client(srv.endpoint, *key) for name, key in KEYS.items()}


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def publish_generic(client, domain, repository, package, version, data=b"x", **kw):
    return client.publish_package_version(
        domain=domain, repository=repository, format="generic", namespace="ns", package=package,
        packageVersion=version, assetContent=data, assetName="a.txt", assetSHA256=sha256_of(data), **kw)


def policy(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def stmt(actions, *, effect="Allow", principal=BOB, resource="*", key="Action", condition=None) -> dict:
    s = {"Effect": effect, "Principal": principal if principal == "*" else {"AWS": principal},
         key: actions, "Resource": resource}
    if condition:
        s["Condition"] = condition
    return s


def denied(fn, *args, **kwargs) -> str:
    """The AccessDeniedException message of a refused call."""
    with pytest.raises(ClientError) as ei:
        fn(*args, **kwargs)
    err = ei.value.response
    assert err["Error"]["Code"] == "AccessDeniedException", err
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 403, err
    return err["Error"]["Message"]


def not_denied(fn, *args, **kwargs):
    """Runs a call that authorization lets through (it may still fail for other reasons)."""
    try:
        return fn(*args, **kwargs)
    except ClientError as e:
        assert e.response["Error"]["Code"] != "AccessDeniedException", e.response
        return e.response


class Site:
    """A domain of the owner: repositories `main` (a generic package ns/pkg 1.0), `dst`, `up`,
    and the package group /generic/ns/*."""

    def __init__(self, owner):
        self.owner = owner
        self.domain = owner.create_domain(domain=unique("iam"))["domain"]["name"]
        for r in ("main", "dst", "up"):
            owner.create_repository(domain=self.domain, repository=r)
        publish_generic(owner, self.domain, "main", "pkg", "1.0")
        owner.create_package_group(domain=self.domain, packageGroup="/generic/ns/*")
        self.arn = owner.describe_domain(domain=self.domain)["domain"]["arn"]

    def domain_policy(self, *statements):
        self.owner.put_domain_permissions_policy(domain=self.domain, policyDocument=policy(*statements))

    def repository_policy(self, repo, *statements):
        self.owner.put_repository_permissions_policy(domain=self.domain, repository=repo,
                                                     policyDocument=policy(*statements))

    def clear(self):
        for call, kw in ((self.owner.delete_domain_permissions_policy, {}),
                         *((self.owner.delete_repository_permissions_policy, {"repository": r})
                           for r in ("main", "dst", "up"))):
            try:
                call(domain=self.domain, **kw)
            except ClientError:
                pass

    def package_arn(self, repo, fmt, namespace, name):
        return f"arn:aws:codeartifact:{REGION}:{ACCOUNT}:package/{self.domain}/{repo}/{fmt}/{namespace}/{name}"


@pytest.fixture
def site(owner, clients):
    s = Site(owner)
    yield s
    s.clear()
    # A repository another account created in the domain is that account's to delete.
    admins = {ACCOUNT: owner, BOB_ACCOUNT: clients["bob"]}
    for r in owner.list_repositories_in_domain(domain=s.domain)["repositories"]:
        admins[r["administratorAccount"]].delete_repository(domain=s.domain, domainOwner=ACCOUNT,
                                                            repository=r["name"])
    owner.delete_domain(domain=s.domain)


# --------------------------------------------------------------------------------------------
# Every row of the table, allowed and denied
# --------------------------------------------------------------------------------------------

GROUP = "/generic/ns/*"
GROUP_ARN_SUFFIX = "/generic/ns/%2a"


def _ops(d: str, arn: str, n: str):
    """Operation → (call on a client, the actions its row needs). `d` is the owner's domain,
    `n` a name unique to the call. Calls run cross-account (domainOwner given)."""
    o = {"domain": d, "domainOwner": ACCOUNT}
    gv = {"format": "generic", "namespace": "ns", "package": "pkg"}
    ghost = {"format": "generic", "namespace": "ns", "package": "ghost"}
    ca = "codeartifact:"
    return {
        "AssociateExternalConnection": (lambda c: c.associate_external_connection(
            **o, repository="main", externalConnection="public:npmjs"), []),
        "CopyPackageVersions": (lambda c: c.copy_package_versions(
            **o, sourceRepository="main", destinationRepository="dst", versions=["1.0"], **gv),
            [ca + "ReadFromRepository"]),
        "CreatePackageGroup": (lambda c: c.create_package_group(**o, packageGroup=f"/generic/{n}/*"), []),
        "CreateRepository": (lambda c: c.create_repository(**o, repository=n), []),
        "DeleteDomain": (lambda c: c.delete_domain(**o), []),
        "DeleteDomainPermissionsPolicy": (lambda c: c.delete_domain_permissions_policy(**o), []),
        "DeletePackage": (lambda c: c.delete_package(**o, repository="main", **ghost), []),
        "DeletePackageGroup": (lambda c: c.delete_package_group(**o, packageGroup="/generic/none/*"), []),
        "DeletePackageVersions": (lambda c: c.delete_package_versions(
            **o, repository="main", versions=["9"], **ghost), []),
        "DeleteRepository": (lambda c: c.delete_repository(**o, repository="ghost"), []),
        "DeleteRepositoryPermissionsPolicy": (lambda c: c.delete_repository_permissions_policy(
            **o, repository="main"), []),
        "DescribeDomain": (lambda c: c.describe_domain(**o), []),
        "DescribePackage": (lambda c: c.describe_package(**o, repository="main", **gv), []),
        "DescribePackageGroup": (lambda c: c.describe_package_group(**o, packageGroup=GROUP), []),
        "DescribePackageVersion": (lambda c: c.describe_package_version(
            **o, repository="main", packageVersion="1.0", **gv), []),
        "DescribeRepository": (lambda c: c.describe_repository(**o, repository="main"), []),
        "DisassociateExternalConnection": (lambda c: c.disassociate_external_connection(
            **o, repository="main", externalConnection="public:npmjs"), []),
        "DisposePackageVersions": (lambda c: c.dispose_package_versions(
            **o, repository="main", versions=["9"], **ghost), []),
        "GetAssociatedPackageGroup": (lambda c: c.get_associated_package_group(**o, **gv), []),
        "GetAuthorizationToken": (lambda c: c.get_authorization_token(**o), []),
        "GetDomainPermissionsPolicy": (lambda c: c.get_domain_permissions_policy(**o), []),
        "GetPackageVersionAsset": (lambda c: c.get_package_version_asset(
            **o, repository="main", packageVersion="1.0", asset="a.txt", **gv), []),
        "GetPackageVersionReadme": (lambda c: c.get_package_version_readme(
            **o, repository="main", packageVersion="1.0", **gv), []),
        "GetRepositoryEndpoint": (lambda c: c.get_repository_endpoint(**o, repository="main", format="npm"), []),
        "GetRepositoryPermissionsPolicy": (lambda c: c.get_repository_permissions_policy(
            **o, repository="main"), []),
        "ListAllowedRepositoriesForGroup": (lambda c: c.list_allowed_repositories_for_group(
            **o, packageGroup=GROUP, originRestrictionType="PUBLISH"), []),
        "ListAssociatedPackages": (lambda c: c.list_associated_packages(**o, packageGroup=GROUP), []),
        "ListPackageGroups": (lambda c: c.list_package_groups(**o), []),
        "ListPackageVersionAssets": (lambda c: c.list_package_version_assets(
            **o, repository="main", packageVersion="1.0", **gv), []),
        "ListPackageVersionDependencies": (lambda c: c.list_package_version_dependencies(
            **o, repository="main", packageVersion="1.0", **gv), []),
        "ListPackageVersions": (lambda c: c.list_package_versions(**o, repository="main", **gv), []),
        "ListPackages": (lambda c: c.list_packages(**o, repository="main"), []),
        "ListRepositoriesInDomain": (lambda c: c.list_repositories_in_domain(**o), []),
        "ListSubPackageGroups": (lambda c: c.list_sub_package_groups(**o, packageGroup=GROUP), []),
        "ListTagsForResource": (lambda c: c.list_tags_for_resource(resourceArn=arn), []),
        "PublishPackageVersion": (lambda c: publish_generic(
            c, d, "main", n, "1.0", domainOwner=ACCOUNT), []),
        "PutPackageOriginConfiguration": (lambda c: c.put_package_origin_configuration(
            **o, repository="main", restrictions={"publish": "ALLOW", "upstream": "ALLOW"}, **ghost), []),
        "TagResource": (lambda c: c.tag_resource(resourceArn=arn, tags=[{"key": "k", "value": "v"}]), []),
        "UntagResource": (lambda c: c.untag_resource(resourceArn=arn, tagKeys=["k"]), []),
        "UpdatePackageGroup": (lambda c: c.update_package_group(**o, packageGroup=GROUP, description="d"), []),
        "UpdatePackageGroupOriginConfiguration": (lambda c: c.update_package_group_origin_configuration(
            **o, packageGroup=GROUP, restrictions={"PUBLISH": "ALLOW"}), []),
        "UpdatePackageVersionsStatus": (lambda c: c.update_package_versions_status(
            **o, repository="main", versions=["9"], targetStatus="Archived", **ghost), []),
        "UpdateRepository": (lambda c: c.update_repository(**o, repository="main", description="d"), []),
    }


# Rows whose resource is the caller's own account, or whose existing resource policy is ignored:
# decided by identity policies alone (policies spec §5.3).
IDENTITY_ONLY = {"CreateDomain", "ListDomains", "ListRepositories", "PutDomainPermissionsPolicy",
                 "PutRepositoryPermissionsPolicy"}


def test_every_operation_is_covered_here():
    from conftest import IMPLEMENTED_OPERATIONS
    assert set(_ops("d", "arn", "n")) | IDENTITY_ONLY == set(IMPLEMENTED_OPERATIONS)


def test_every_resource_row_allowed_and_denied_across_accounts(site, clients):
    """For each operation on the owner's resources: bob (whose identity allows everything) is
    refused while the domain policy grants everything but the row's actions, with a message
    naming the operation's action, and let through when it grants exactly the row's actions."""
    bob = clients["bob"]
    for op, (call, extra) in _ops(site.domain, site.arn, unique("n")).items():
        actions = [f"codeartifact:{op}", *extra]
        site.domain_policy(stmt(actions, key="NotAction"))
        message = denied(call, bob)
        assert f"codeartifact:{op} " in message or message.endswith(f"codeartifact:{op} action"), (op, message)
        site.domain_policy(stmt(actions))
        not_denied(call, bob)


def test_identity_only_rows(site, clients, owner):
    """CreateDomain, ListDomains, ListRepositories act in the caller's own account; setting a
    policy ignores the existing one. Identity policies decide them."""
    bob, reader = clients["bob"], clients["reader"]
    mine = unique("bobs")
    bob.create_domain(domain=mine)
    assert "CreateDomain" in denied(reader.create_domain, domain=unique("nope"))
    assert [d["name"] for d in bob.list_domains()["domains"]] == [mine]
    assert "ListDomains" in denied(reader.list_domains)
    bob.create_repository(domain=mine, repository="rr")
    assert [r["name"] for r in bob.list_repositories()["repositories"]] == ["rr"]
    assert "ListRepositories" in denied(reader.list_repositories)
    doc = policy(stmt("codeartifact:DescribeDomain", principal=f"arn:aws:iam::{ACCOUNT}:root"))
    bob.put_domain_permissions_policy(domain=mine, policyDocument=doc)
    bob.put_repository_permissions_policy(domain=mine, repository="rr", policyDocument=doc)
    # Granting bob the right in the owner's domain policy does not help: it is ignored.
    site.domain_policy(stmt(["codeartifact:PutDomainPermissionsPolicy",
                             "codeartifact:PutRepositoryPermissionsPolicy"]))
    msg = denied(bob.put_domain_permissions_policy, domain=site.domain, domainOwner=ACCOUNT, policyDocument=doc)
    assert "because no resource-based policy allows the codeartifact:PutDomainPermissionsPolicy" in msg
    denied(bob.put_repository_permissions_policy, domain=site.domain, domainOwner=ACCOUNT,
           repository="main", policyDocument=doc)
    assert "PutRepositoryPermissionsPolicy" in denied(
        reader.put_repository_permissions_policy, domain=site.domain, repository="main", policyDocument=doc)
    bob.delete_repository(domain=mine, repository="rr")
    bob.delete_domain(domain=mine)


def test_extra_actions_for_tags_and_upstreams(site, clients, owner):
    """CreateRepository with tags needs TagResource; with upstreams, AssociateWithDownstreamRepository
    on each upstream, granted here by the upstream's repository policy (cross-account upstream
    association); UpdateRepository asks it of the upstreams it adds."""
    bob = clients["bob"]
    o = {"domain": site.domain, "domainOwner": ACCOUNT}
    site.domain_policy(stmt(["codeartifact:CreateRepository", "codeartifact:UpdateRepository"]))
    msg = denied(bob.create_repository, **o, repository="tagged", tags=[{"key": "t", "value": "1"}])
    assert "codeartifact:TagResource" in msg, msg
    msg = denied(bob.create_repository, **o, repository="linked", upstreams=[{"repositoryName": "up"}])
    assert msg.endswith("because no resource-based policy allows the "
                        "codeartifact:AssociateWithDownstreamRepository action"), msg
    assert f"repository/{site.domain}/up " in msg, msg
    site.repository_policy("up", stmt("codeartifact:AssociateWithDownstreamRepository"))
    linked = bob.create_repository(**o, repository="linked", upstreams=[{"repositoryName": "up"}])["repository"]
    assert linked["administratorAccount"] == BOB_ACCOUNT
    assert [u["repositoryName"] for u in linked["upstreams"]] == ["up"]
    # Adding `main` needs the grant on main; keeping `up` does not ask again.
    msg = denied(bob.update_repository, **o, repository="linked",
                 upstreams=[{"repositoryName": "up"}, {"repositoryName": "main"}])
    assert f"repository/{site.domain}/main " in msg
    site.repository_policy("main", stmt("codeartifact:AssociateWithDownstreamRepository"))
    bob.update_repository(**o, repository="linked", upstreams=[{"repositoryName": "up"}, {"repositoryName": "main"}])
    site.domain_policy(stmt(["codeartifact:CreateRepository", "codeartifact:TagResource"]))
    bob.create_repository(**o, repository="tagged", tags=[{"key": "t", "value": "1"}])


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


def test_explicit_deny_in_either_policy_wins(site, clients, owner):
    bob = clients["bob"]
    o = {"domain": site.domain, "domainOwner": ACCOUNT}
    everything = stmt("codeartifact:*")
    site.domain_policy(everything)
    site.repository_policy("main", stmt("codeartifact:DescribeRepository", effect="Deny"))
    msg = denied(bob.describe_repository, **o, repository="main")
    assert msg == (f"User: {BOB} is not authorized to perform: codeartifact:DescribeRepository on resource: "
                   f"arn:aws:codeartifact:{REGION}:{ACCOUNT}:repository/{site.domain}/main "
                   "with an explicit deny in a resource-based policy")
    bob.describe_repository(**o, repository="dst")
    # The other way round: the repository allows, the domain denies.
    site.repository_policy("main", everything)
    site.domain_policy(stmt("codeartifact:DescribeRepository", effect="Deny"), everything)
    assert "explicit deny" in denied(bob.describe_repository, **o, repository="main")
    # A domain policy denying DeleteRepository to everyone protects every repository, the
    # owner's own calls included.
    site.domain_policy(stmt("codeartifact:DeleteRepository", effect="Deny", principal="*"))
    assert "explicit deny" in denied(owner.delete_repository, domain=site.domain, repository="dst")
    site.clear()
    owner.describe_repository(domain=site.domain, repository="dst")


def test_domain_wide_grant_reaches_every_repository_and_package(site, clients):
    bob = clients["bob"]
    o = {"domain": site.domain, "domainOwner": ACCOUNT}
    site.domain_policy(stmt(["codeartifact:DescribeRepository", "codeartifact:ListPackageVersions"]))
    for r in ("main", "dst", "up"):
        bob.describe_repository(**o, repository=r)
    versions = bob.list_package_versions(**o, repository="main", format="generic", namespace="ns", package="pkg")
    assert [v["version"] for v in versions["versions"]] == ["1.0"]


def test_grant_for_one_package_arn(site, clients):
    bob = clients["bob"]
    arn = site.package_arn("main", "generic", "ns", "allowed")
    site.repository_policy("main", stmt("codeartifact:PublishPackageVersion", resource=arn))
    publish_generic(bob, site.domain, "main", "allowed", "1.0", domainOwner=ACCOUNT)
    msg = denied(publish_generic, bob, site.domain, "main", "other", "1.0", domainOwner=ACCOUNT)
    assert site.package_arn("main", "generic", "ns", "other") in msg


def test_condition_on_a_resource_tag(site, clients, owner):
    """Deny changes to repositories tagged env=prod, for everyone (the owner included)."""
    owner.tag_resource(resourceArn=owner.describe_repository(domain=site.domain, repository="up")["repository"]["arn"],
                       tags=[{"key": "env", "value": "prod"}])
    site.domain_policy(stmt(["codeartifact:UpdateRepository", "codeartifact:DeleteRepository"], effect="Deny",
                            principal="*", condition={"StringEquals": {"aws:ResourceTag/env": "prod"}}))
    assert "explicit deny" in denied(owner.update_repository, domain=site.domain, repository="up",
                                     description="x")
    owner.update_repository(domain=site.domain, repository="dst", description="x")


def test_request_tag_and_principal_conditions(site, clients, owner):
    """aws:RequestTag on creation, aws:PrincipalAccount and NotPrincipal in resource policies."""
    bob = clients["bob"]
    o = {"domain": site.domain, "domainOwner": ACCOUNT}
    site.domain_policy(
        stmt(["codeartifact:CreateRepository", "codeartifact:TagResource"],
             condition={"StringEquals": {"aws:RequestTag/team": "blue",
                                         "aws:PrincipalAccount": BOB_ACCOUNT}}))
    denied(bob.create_repository, **o, repository="red", tags=[{"key": "team", "value": "red"}])
    bob.create_repository(**o, repository="blue", tags=[{"key": "team", "value": "blue"}])
    site.domain_policy(stmt("codeartifact:*"),
                       stmt("codeartifact:Describe*", effect="Deny", principal=f"arn:aws:iam::{ACCOUNT}:root",
                            key="Action"))
    bob.describe_domain(**o)
    site.domain_policy(stmt("codeartifact:*"),
                       {"Effect": "Deny", "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                        "Action": "codeartifact:DescribeDomain", "Resource": "*"})
    denied(bob.describe_domain, **o)
    owner.describe_domain(domain=site.domain)


def test_identity_with_policies_that_allow_nothing(site, clients):
    """carol's account is granted by the domain policy, but her identity policies allow nothing:
    cross-account access needs both sides."""
    site.domain_policy(stmt("codeartifact:*", principal=f"arn:aws:iam::{BOB_ACCOUNT}:root"))
    clients["bob"].describe_domain(domain=site.domain, domainOwner=ACCOUNT)
    msg = denied(clients["carol"].describe_domain, domain=site.domain, domainOwner=ACCOUNT)
    assert msg.endswith("because no identity-based policy allows the codeartifact:DescribeDomain action"), msg


def test_get_package_version_asset_is_its_own_action(site, clients):
    bob = clients["bob"]
    site.domain_policy(stmt("codeartifact:ReadFromRepository"))
    msg = denied(bob.get_package_version_asset, domain=site.domain, domainOwner=ACCOUNT, repository="main",
                 format="generic", namespace="ns", package="pkg", packageVersion="1.0", asset="a.txt")
    assert "codeartifact:GetPackageVersionAsset on resource: " + site.package_arn("main", "generic", "ns", "pkg") in msg


def test_copy_needs_read_on_the_source_and_copy_on_the_destination(site, clients):
    bob = clients["bob"]
    args = dict(domain=site.domain, domainOwner=ACCOUNT, sourceRepository="main", destinationRepository="dst",
                format="generic", namespace="ns", package="pkg", versions=["1.0"])
    site.repository_policy("dst", stmt("codeartifact:CopyPackageVersions"))
    msg = denied(bob.copy_package_versions, **args)
    assert f"codeartifact:ReadFromRepository on resource: arn:aws:codeartifact:{REGION}:{ACCOUNT}:repository/{site.domain}/main " in msg
    site.repository_policy("main", stmt("codeartifact:ReadFromRepository"))
    assert bob.copy_package_versions(**args)["successfulVersions"]["1.0"]["status"] == "Published"


def test_bad_policies_are_validation_errors(site):
    bad = {
        "not json": "{nope",
        "unknown action": policy(stmt("codeartifact:ReadEverything")),
        "malformed resource ARN": policy(stmt("codeartifact:*", resource="arn:aws:codeartifact")),
        "unparsable principal": policy(stmt("codeartifact:*", principal="bob")),
        "unknown condition operator": policy(stmt("codeartifact:*", condition={"StringIsh": {"a": "b"}})),
    }
    for what, doc in bad.items():
        with pytest.raises(ClientError) as ei:
            site.owner.put_domain_permissions_policy(domain=site.domain, policyDocument=doc)
        err = ei.value.response["Error"]
        assert err["Code"] == "ValidationException", (what, err)
        assert err["Message"].startswith("Invalid policy document: "), (what, err)


# --------------------------------------------------------------------------------------------
# Repository endpoints through tokens
# --------------------------------------------------------------------------------------------


def token_of(client, domain) -> str:
    return client.get_authorization_token(domain=domain, domainOwner=ACCOUNT)["authorizationToken"]


def npm_for(srv, tmp: Path, domain: str, repo: str, token: str) -> Npm:
    home = tmp / unique("home")
    home.mkdir()
    registry = f"http://127.0.0.1:{srv.port}/npm/d/{domain}-{ACCOUNT}/{repo}/"
    (home / ".npmrc").write_text(f"registry={registry}\n//127.0.0.1:{srv.port}/npm/d/{domain}-{ACCOUNT}/{repo}/"
                                 f":_authToken={token}\n")
    return Npm(home, registry, token)


def npm_publish(npm: Npm, tmp: Path, name: str, version: str, *extra: str):
    d = tmp / unique("pkg")
    d.mkdir()
    (d / "package.json").write_text(json.dumps({"name": name, "version": version, "main": "index.js"}))
    (d / "index.js").write_text("module.exports = 1;\n")
    return npm("publish", *extra, cwd=d)


def test_npm_routes_read_publish_and_tags_per_package(srv, site, clients, tmp_path):
    """The route classes through the npm client, for a least-privilege CI publisher of the
    @acme scope (same account, identity policies only) and for bob across accounts."""
    require_npm()
    d = site.domain
    publisher = npm_for(srv, tmp_path, d, "main", token_of(clients["publisher"], d))
    assert npm_publish(publisher, tmp_path, "@acme/widget", "1.0.0").returncode == 0
    refused = npm_publish(publisher, tmp_path, "@other/widget", "1.0.0")
    assert refused.returncode != 0 and "403" in refused.stderr, refused.stderr
    assert publisher("dist-tag", "add", "@acme/widget@1.0.0", "stable").returncode == 0
    assert publisher.json("view", "@acme/widget", "version") == "1.0.0"

    reader = npm_for(srv, tmp_path, d, "main", token_of(clients["reader"], d))
    assert reader.json("view", "@acme/widget", "version") == "1.0.0"
    refused = npm_publish(reader, tmp_path, "@acme/widget", "1.0.1")
    assert refused.returncode != 0 and "403" in refused.stderr, refused.stderr
    refused = reader("dist-tag", "add", "@acme/widget@1.0.0", "beta")
    assert refused.returncode != 0 and "403" in refused.stderr, refused.stderr
    # The least-privilege reader cannot describe the domain.
    assert "no identity-based policy allows the codeartifact:DescribeDomain" in denied(
        clients["reader"].describe_domain, domain=d)

    # bob: read needs ReadFromRepository on the repository, dist-tags PutPackageMetadata on the package.
    site.domain_policy(stmt("codeartifact:GetAuthorizationToken"))
    bob = npm_for(srv, tmp_path, d, "main", token_of(clients["bob"], d))
    assert bob("view", "@acme/widget", "version").returncode != 0
    site.domain_policy(stmt("codeartifact:GetAuthorizationToken"), stmt("codeartifact:ReadFromRepository"),
                       stmt("codeartifact:PutPackageMetadata",
                            resource=site.package_arn("main", "npm", "acme", "widget")))
    assert bob.json("view", "@acme/widget", "version") == "1.0.0"
    assert bob("dist-tag", "add", "@acme/widget@1.0.0", "bob").returncode == 0
    refused = npm_publish(bob, tmp_path, "@acme/widget", "1.0.2")
    assert refused.returncode != 0 and "403" in refused.stderr, refused.stderr


def test_pypi_and_maven_uploads_are_checked_on_the_package(srv, site, clients, tmp_path):
    """twine's upload names the project only in its body; Maven names it in the path, and its
    maven-metadata.xml upload is PutPackageMetadata."""
    d = site.domain
    site.domain_policy(stmt("codeartifact:GetAuthorizationToken"),
                       stmt("codeartifact:PublishPackageVersion",
                            resource=site.package_arn("main", "pypi", "", "good-one")),
                       stmt("codeartifact:PublishPackageVersion",
                            resource=site.package_arn("main", "maven", "com.acme", "app")))
    token = token_of(clients["bob"], d)
    auth = {"Authorization": "Basic " + base64.b64encode(f"aws:{token}".encode()).decode(),
            "Host": f"127.0.0.1:{srv.port}"}

    def upload(name):
        wheel = make_wheel(tmp_path / unique("dist"), name, "1.0")
        body, ctype = multipart(upload_fields(wheel), wheel.name, wheel.read_bytes())
        return http_request(srv.host, srv.port, "POST", f"/pypi/d/{d}-{ACCOUNT}/main/", body,
                            {**auth, "Content-Type": ctype})

    assert upload("good-one").status == 200
    refused = upload("bad-one")
    assert refused.status == 403, refused
    assert site.package_arn("main", "pypi", "", "bad-one") in refused.body.decode()

    base = f"/maven/d/{d}-{ACCOUNT}/main/com/acme"
    jar = http_request(srv.host, srv.port, "PUT", f"{base}/app/1.0/app-1.0.jar", b"jar", auth)
    assert jar.status in (200, 201), jar
    other = http_request(srv.host, srv.port, "PUT", f"{base}/lib/1.0/lib-1.0.jar", b"jar", auth)
    assert other.status == 403, other
    meta = (b"<metadata><groupId>com.acme</groupId><artifactId>app</artifactId><versioning>"
            b"<versions><version>1.0</version></versions></versioning></metadata>")
    refused = http_request(srv.host, srv.port, "PUT", f"{base}/app/maven-metadata.xml", meta, auth)
    assert refused.status == 403 and b"PutPackageMetadata" in refused.body, refused


# --------------------------------------------------------------------------------------------
# npm tags on copy
# --------------------------------------------------------------------------------------------


def test_copy_carries_npm_tags_of_the_copied_versions(srv, site, owner):
    d = site.domain
    token = owner.get_authorization_token(domain=d)["authorizationToken"]
    auth = {"Authorization": f"Bearer {token}", "Host": f"127.0.0.1:{srv.port}",
            "Content-Type": "application/json"}

    def put(repo, version, tags):
        registry = f"http://127.0.0.1:{srv.port}/npm/d/{d}-{ACCOUNT}/{repo}/"
        body = publish_body(registry, "web-helper", version, tarball("web-helper", version))
        body["dist-tags"] = tags
        resp = http_request(srv.host, srv.port, "PUT", f"/npm/d/{d}-{ACCOUNT}/{repo}/web-helper",
                            json.dumps(body).encode(), auth)
        assert resp.status in (200, 201), resp

    put("dst", "1.0.0", {"latest": "1.0.0"})
    put("main", "1.0.1", {"latest": "1.0.1", "stable": "1.0.1"})
    put("main", "2.0.0-rc.1", {"next": "2.0.0-rc.1"})
    owner.copy_package_versions(domain=d, sourceRepository="main", destinationRepository="dst", format="npm",
                                package="web-helper", versions=["1.0.1"])
    tags = http_request(srv.host, srv.port, "GET", f"/npm/d/{d}-{ACCOUNT}/dst/-/package/web-helper/dist-tags",
                        None, auth).json
    assert tags == {"latest": "1.0.1", "stable": "1.0.1"}, tags
    listed = owner.list_package_versions(domain=d, repository="dst", format="npm", package="web-helper")
    assert listed["defaultDisplayVersion"] == "1.0.1"
