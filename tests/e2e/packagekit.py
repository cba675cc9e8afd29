"""The control-plane view of packages that every format's tests share: one base class, `Packages`,
for the `Site` of test_npm.py, test_pypi.py and test_cargo.py and the `Chain` of the *_external
modules. It asks the control plane (boto3) about the packages of one domain in one format;
the format parts stay with each module (how a name maps to namespace and package, endpoints,
clients).

A subclass sets FORMAT and has `ca` (a boto3 client) and `domain`; a format whose names carry
a namespace (npm `@scope/name`, Maven `group:artifact`) overrides `coordinates`.
"""

from __future__ import annotations

from typing import Any, Callable

from botocore.exceptions import ClientError


def absent_is_none(call: Callable[[], Any]) -> Any:
    """`call()`, or None when the control plane answers ResourceNotFoundException (any other
    error is raised)."""
    try:
        return call()
    except ClientError as e:
        assert e.response["Error"]["Code"] == "ResourceNotFoundException", e.response
        return None


class Packages:
    FORMAT = ""
    ca: Any
    domain: str

    # the format part ------------------------------------------------------------------
    def coordinates(self, name: str) -> dict[str, str]:
        """The `namespace`/`package` parameters naming `name` (default: no namespace)."""
        return {"package": name}

    def pkg(self, repo: str, name: str) -> dict[str, str]:
        """The parameters that name one package of `repo` in a control-plane call."""
        assert self.FORMAT, "a Packages subclass names its format"
        return {"domain": self.domain, "repository": repo, "format": self.FORMAT, **self.coordinates(name)}

    # reads ----------------------------------------------------------------------------
    def versions(self, repo: str, name: str) -> dict[str, dict] | None:
        """ListPackageVersions by version; None when the repository has no record of the package."""
        out = absent_is_none(lambda: self.ca.list_package_versions(**self.pkg(repo, name)))
        return None if out is None else {v["version"]: v for v in out["versions"]}

    def stored(self, repo: str, name: str) -> dict[str, dict]:
        """The stored versions by version: {} when there are none, whether or not a package
        record exists (what a retention check asks)."""
        return self.versions(repo, name) or {}

    def statuses(self, repo: str, name: str) -> dict[str, str]:
        return {v: d["status"] for v, d in self.stored(repo, name).items()}

    def packages(self, repo: str) -> dict[str, dict]:
        """ListPackages of the format in `repo`, by package name."""
        out = self.ca.list_packages(domain=self.domain, repository=repo, format=self.FORMAT)["packages"]
        return {p["package"]: p for p in out}

    def describe_package(self, repo: str, name: str) -> dict | None:
        out = absent_is_none(lambda: self.ca.describe_package(**self.pkg(repo, name)))
        return None if out is None else out["package"]

    def describe_version(self, repo: str, name: str, version: str) -> dict | None:
        out = absent_is_none(lambda: self.ca.describe_package_version(**self.pkg(repo, name),
                                                                      packageVersion=version))
        return None if out is None else out["packageVersion"]

    def restrictions(self, repo: str, name: str) -> dict | None:
        """The package's origin-control restrictions; None when there is no package record."""
        pkg = self.describe_package(repo, name)
        return None if pkg is None else pkg["originConfiguration"]["restrictions"]

    def assets(self, repo: str, name: str, version: str) -> dict[str, dict]:
        """ListPackageVersionAssets by asset name."""
        out = self.ca.list_package_version_assets(**self.pkg(repo, name), packageVersion=version)
        return {a["name"]: a for a in out["assets"]}

    # writes ---------------------------------------------------------------------------
    def set_status(self, repo: str, name: str, versions: list[str], status: str) -> None:
        """UpdatePackageVersionsStatus that must succeed for every version named."""
        out = self.ca.update_package_versions_status(**self.pkg(repo, name), versions=versions,
                                                     targetStatus=status)
        assert not out.get("failedVersions"), out
        assert set(out.get("successfulVersions", {})) == set(versions), out
