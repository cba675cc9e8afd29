"""Shared helpers for the Maven end-to-end tests (test_maven.py, test_maven_external.py): the real
`mvn` 3.8 with a temporary HOME and settings, small jars (classes compiled with `javac`), POM and
`maven-metadata.xml` documents, and raw HTTP against a Maven repository endpoint.

Offline Maven: nothing is ever fetched from a public repository. Maven's plugins and their
dependencies come from Debian's Maven repository (`/usr/share/maven-repo`, filled by the packages
`maven`, `libmaven-deploy-plugin-java`, `libmaven-dependency-plugin-java`, `junit4`), which the
generated settings.xml makes a `file://` mirror of every repository except `codeartifact` (the
repository under test). Plugins are always named by full coordinates (`DEPLOY_PLUGIN`,
`DEPENDENCY_PLUGIN`) so no plugin-prefix lookup happens. Debian ships most of the plugins'
dependencies under the version `debian`; the plugin POMs there already name those versions, so
resolution works without further set-up. Jars are compiled with `javac` and packed
directly — no compiler/jar plugin: `compiled_classes` runs one `javac` per session and
`jar_bytes` packs a class plus a per-version message resource into a deterministic jar.

Isolation: every `mvn` runs with a temporary `user.home`, its own local repository
(`-Dmaven.repo.local`), user settings (`-s`) written here and an empty global settings file (`-gs`),
`MAVEN_SKIP_RC=1` (no `/etc/mavenrc`, `~/.mavenrc`), and only loopback/`file://` URLs — checked
before each run.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import textwrap
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence
from xml.sax.saxutils import escape

import pytest

from conftest import asset_hashes, basic, client_env, http_request

DEBIAN_REPO = Path("/usr/share/maven-repo")
DEPLOY_PLUGIN = "org.apache.maven.plugins:maven-deploy-plugin:3.0.0"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.5.0"
SERVER_ID = "codeartifact"
MVN_TIMEOUT = 180
JAVA_TIMEOUT = 60

# The files that must exist for the plugins above to resolve offline.
_REQUIRED_REPO_FILES = (
    "org/apache/maven/plugins/maven-deploy-plugin/3.0.0/maven-deploy-plugin-3.0.0.jar",
    "org/apache/maven/plugins/maven-deploy-plugin/3.0.0/maven-deploy-plugin-3.0.0.pom",
    "org/apache/maven/plugins/maven-dependency-plugin/3.5.0/maven-dependency-plugin-3.5.0.jar",
    "org/apache/maven/plugins/maven-dependency-plugin/3.5.0/maven-dependency-plugin-3.5.0.pom",
)

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def require_maven() -> None:
    """Fail loudly (never skip) when Maven, the JDK or the Debian plugin packages are missing."""
    missing = [tool for tool in ("mvn", "java", "javac") if shutil.which(tool) is None]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not found on PATH: install the Maven test prerequisites "
            "(apt-get install maven default-jdk-headless libmaven-deploy-plugin-java "
            "libmaven-dependency-plugin-java junit4; .ci/run does this)",
            pytrace=False,
        )
    absent = [f for f in _REQUIRED_REPO_FILES if not (DEBIAN_REPO / f).is_file()]
    if absent:
        pytest.fail(
            f"Debian's Maven repository lacks {absent}: install libmaven-deploy-plugin-java and "
            "libmaven-dependency-plugin-java (see .ci/run)",
            pytrace=False,
        )


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def loopback(url: str) -> bool:
    u = urllib.parse.urlsplit(url)
    return u.scheme == "http" and u.hostname == "127.0.0.1"


# --------------------------------------------------------------------------------------------
# Hashes
# --------------------------------------------------------------------------------------------


CHECKSUM_SUFFIXES = {"md5": "MD5", "sha1": "SHA-1", "sha256": "SHA-256", "sha512": "SHA-512"}


def digest(data: bytes, suffix: str) -> str:
    return asset_hashes(data)[CHECKSUM_SUFFIXES[suffix]]


# --------------------------------------------------------------------------------------------
# Documents: POM, maven-metadata.xml
# --------------------------------------------------------------------------------------------


@dataclass
class Dep:
    group: str
    artifact: str
    version: str
    scope: str | None = None
    optional: bool = False

    def xml(self) -> str:
        extra = ""
        if self.scope:
            extra += f"<scope>{self.scope}</scope>"
        if self.optional:
            extra += "<optional>true</optional>"
        return (f"<dependency><groupId>{self.group}</groupId><artifactId>{self.artifact}</artifactId>"
                f"<version>{escape(self.version)}</version>{extra}</dependency>")


def pom_xml(group: str, artifact: str, version: str, *, packaging: str = "jar",
            description: str | None = None, url: str | None = None,
            licenses: Sequence[tuple[str, str]] = (), scm_url: str | None = None,
            parent: tuple[str, str, str] | None = None, dependencies: Sequence[Dep] = ()) -> bytes:
    parts = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<project xmlns="http://maven.apache.org/POM/4.0.0" '
             'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
             'xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 '
             'http://maven.apache.org/xsd/maven-4.0.0.xsd">',
             "  <modelVersion>4.0.0</modelVersion>"]
    if parent:
        parts.append(f"  <parent><groupId>{parent[0]}</groupId><artifactId>{parent[1]}</artifactId>"
                     f"<version>{parent[2]}</version></parent>")
    parts += [f"  <groupId>{group}</groupId>", f"  <artifactId>{artifact}</artifactId>",
              f"  <version>{version}</version>", f"  <packaging>{packaging}</packaging>"]
    if description is not None:
        parts.append(f"  <description>{escape(description)}</description>")
    if url is not None:
        parts.append(f"  <url>{escape(url)}</url>")
    if licenses:
        parts.append("  <licenses>" + "".join(
            f"<license><name>{escape(n)}</name><url>{escape(u)}</url></license>" for n, u in licenses)
            + "</licenses>")
    if scm_url is not None:
        parts.append(f"  <scm><url>{escape(scm_url)}</url></scm>")
    if dependencies:
        parts.append("  <dependencies>" + "".join(d.xml() for d in dependencies) + "</dependencies>")
    parts.append("</project>\n")
    return "\n".join(parts).encode()


def artifact_metadata(group: str, artifact: str, versions: Sequence[str], *,
                      release: str | None = None, latest: str | None = None,
                      last_updated: str = "20260101000000") -> bytes:
    """An artifact-level maven-metadata.xml as `mvn deploy` uploads it."""
    release = release if release is not None else (versions[-1] if versions else None)
    body = "".join(f"<version>{v}</version>" for v in versions)
    return textwrap.dedent(f"""\
        <?xml version="1.0" encoding="UTF-8"?>
        <metadata>
          <groupId>{group}</groupId>
          <artifactId>{artifact}</artifactId>
          <versioning>
            {f'<latest>{latest}</latest>' if latest else ''}
            {f'<release>{release}</release>' if release else ''}
            <versions>{body}</versions>
            <lastUpdated>{last_updated}</lastUpdated>
          </versioning>
        </metadata>
        """).encode()


def snapshot_metadata(group: str, artifact: str, base: str, timestamp: str, build: int,
                      extensions: Iterable[str] = ("jar", "pom")) -> bytes:
    """The snapshot-level maven-metadata.xml of `{base}-SNAPSHOT` naming one build."""
    value = f"{base}-{timestamp}-{build}"
    updated = timestamp.replace(".", "")
    svs = "".join(f"<snapshotVersion><extension>{e}</extension><value>{value}</value>"
                  f"<updated>{updated}</updated></snapshotVersion>" for e in extensions)
    return textwrap.dedent(f"""\
        <?xml version="1.0" encoding="UTF-8"?>
        <metadata modelVersion="1.1.0">
          <groupId>{group}</groupId>
          <artifactId>{artifact}</artifactId>
          <versioning>
            <lastUpdated>{updated}</lastUpdated>
            <snapshot><timestamp>{timestamp}</timestamp><buildNumber>{build}</buildNumber></snapshot>
            <snapshotVersions>{svs}</snapshotVersions>
          </versioning>
          <version>{base}-SNAPSHOT</version>
        </metadata>
        """).encode()


@dataclass
class Metadata:
    group: str | None
    artifact: str | None
    latest: str | None
    release: str | None
    versions: list[str]
    last_updated: str | None
    snapshot_timestamp: str | None
    snapshot_build: str | None
    version: str | None


def parse_metadata(data: bytes) -> Metadata:
    root = ET.fromstring(data)
    # tolerate a default namespace
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.startswith("{"):
            el.tag = el.tag.split("}", 1)[1]
    assert root.tag == "metadata", data

    def text(path: str) -> str | None:
        el = root.find(path)
        return el.text.strip() if el is not None and el.text is not None else None

    return Metadata(
        group=text("groupId"), artifact=text("artifactId"), latest=text("versioning/latest"),
        release=text("versioning/release"),
        versions=[(v.text or "").strip() for v in root.findall("versioning/versions/version")],
        last_updated=text("versioning/lastUpdated"),
        snapshot_timestamp=text("versioning/snapshot/timestamp"),
        snapshot_build=text("versioning/snapshot/buildNumber"),
        version=text("version"),
    )


# --------------------------------------------------------------------------------------------
# Java: compile and pack small jars, run classes
# --------------------------------------------------------------------------------------------


def java_env(home: Path) -> dict[str, str]:
    env = client_env(home)
    env["MAVEN_SKIP_RC"] = "1"
    env["MAVEN_OPTS"] = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto"
    if os.environ.get("JAVA_HOME"):
        env["JAVA_HOME"] = os.environ["JAVA_HOME"]
    return env


def _run(cmd: Sequence[str], env: Mapping[str, str], cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    p = subprocess.run(list(cmd), env=dict(env), cwd=str(cwd), capture_output=True, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    return p


# Every class the Maven tests put into jars. Each reads its message from the resource
# `{SimpleName}.txt` next to it, so one compilation serves every version: jars of different
# versions differ in that resource (and so in their bytes and in what they print).
CLASS_NAMES = (
    "com.example.e2e.hello.Hello", "com.example.e2e.dep.Dep", "com.example.e2e.rt.Rt",
    "com.example.e2e.opt.Opt", "com.example.e2e.snap.Snap", "com.example.e2e.stat.Stat",
    "org.example.ext.Ext", "com.example.internal.Internal",
)

_CLASS_TEMPLATE = """\
package {pkg};
public class {name} {{
  public static String msg() {{
    try (java.io.InputStream in = {name}.class.getResourceAsStream("{name}.txt")) {{
      if (in == null) return "no message";
      java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
      byte[] buf = new byte[256];
      int n;
      while ((n = in.read(buf)) > 0) out.write(buf, 0, n);
      return new String(out.toByteArray(), "UTF-8").trim();
    }} catch (java.io.IOException e) {{
      throw new RuntimeException(e);
    }}
  }}
  public static void main(String[] args) {{ System.out.println(msg()); }}
}}
"""

_compiled: dict[str, Path] = {}


def class_source(fqcn: str) -> str:
    pkg, _, name = fqcn.rpartition(".")
    return _CLASS_TEMPLATE.format(pkg=pkg, name=name)


def compiled_classes(work: Path) -> Path:
    """Compiles CLASS_NAMES once per test session (`javac --release 8`) and returns the class
    directory (inside the first caller's `work`)."""
    if "dir" in _compiled and _compiled["dir"].is_dir():
        return _compiled["dir"]
    src = work / "java-src"
    classes = work / "java-classes"
    files = []
    for fqcn in CLASS_NAMES:
        f = src / (fqcn.replace(".", "/") + ".java")
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(class_source(fqcn))
        files.append(str(f))
    classes.mkdir(parents=True, exist_ok=True)
    p = _run(["javac", "--release", "8", "-nowarn", "-d", str(classes), *files], java_env(work / "home"), work,
             JAVA_TIMEOUT)
    assert p.returncode == 0, f"javac failed:\n{p.stdout}\n{p.stderr}"
    _compiled["dir"] = classes
    return classes


_ZIP_TIME = (2026, 1, 2, 3, 4, 6)
_MANIFEST = b"Manifest-Version: 1.0\r\nCreated-By: codeartifact-local e2e\r\n\r\n"


def _zip(entries: Sequence[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return buf.getvalue()


def jar_bytes(classes: Path, fqcn: str, message: str) -> bytes:
    """A jar (deterministic bytes) holding the compiled `fqcn` and its message resource."""
    path = fqcn.replace(".", "/")
    cls = classes / f"{path}.class"
    assert cls.is_file(), f"{fqcn} is not among the compiled classes (mavenkit.CLASS_NAMES)"
    directory = path.rpartition("/")[0]
    name = path.rpartition("/")[2]
    return _zip([("META-INF/MANIFEST.MF", _MANIFEST), (f"{path}.class", cls.read_bytes()),
                 (f"{directory}/{name}.txt", (message + "\n").encode())])


def sources_jar_bytes(fqcn: str, message: str) -> bytes:
    """The matching `-sources.jar`."""
    path = fqcn.replace(".", "/")
    directory, _, name = path.rpartition("/")
    return _zip([("META-INF/MANIFEST.MF", _MANIFEST), (f"{path}.java", class_source(fqcn).encode()),
                 (f"{directory}/{name}.txt", (message + "\n").encode())])


def run_java(work: Path, classpath: Sequence[Path], main: str, home: Path | None = None) -> str:
    """`java -cp CLASSPATH MAIN`; returns stdout."""
    p = _run(["java", "-cp", os.pathsep.join(map(str, classpath)), main], java_env(home or work / "home"),
             work, JAVA_TIMEOUT)
    assert p.returncode == 0, f"java {main} failed:\n{p.stdout}\n{p.stderr}"
    return p.stdout


def run_java_source(work: Path, classpath: Sequence[Path], main_fqcn: str, code: str,
                    home: Path | None = None) -> str:
    """Compiles and runs one source file against `classpath` (`java -cp CLASSPATH Main.java`,
    the JDK's source launcher: javac in the same JVM); returns stdout."""
    f = work / f"app-{uuid.uuid4().hex[:8]}" / (main_fqcn.rpartition(".")[2] + ".java")
    f.parent.mkdir(parents=True)
    f.write_text(code)
    p = _run(["java", "-cp", os.pathsep.join(map(str, classpath)), str(f)], java_env(home or work / "home"),
             work, JAVA_TIMEOUT)
    assert p.returncode == 0, f"java {f.name} failed:\n{p.stdout}\n{p.stderr}"
    return p.stdout


# --------------------------------------------------------------------------------------------
# mvn
# --------------------------------------------------------------------------------------------


def settings_xml(repo_url: str, token: str | None, local_repo: Path, server_id: str = SERVER_ID) -> str:
    """User settings: credentials for `server_id`, the repository under test as an active profile
    repository (snapshots on, always re-checked, checksum failures fatal), and Debian's Maven
    repository as a `file://` mirror of everything else (checksums ignored there: Debian ships
    none)."""
    assert loopback(repo_url), f"refusing a non-loopback repository URL: {repo_url}"
    server = ""
    if token is not None:
        server = (f"<server><id>{server_id}</id><username>aws</username>"
                  f"<password>{escape(token)}</password></server>")
    debian = DEBIAN_REPO.as_uri()
    policy = "<enabled>true</enabled><updatePolicy>always</updatePolicy><checksumPolicy>fail</checksumPolicy>"
    offline_repo = (f"<id>central</id><url>{debian}</url>"
                    "<releases><enabled>true</enabled><checksumPolicy>ignore</checksumPolicy></releases>"
                    "<snapshots><enabled>false</enabled></snapshots>")
    return textwrap.dedent(f"""\
        <?xml version="1.0" encoding="UTF-8"?>
        <settings xmlns="http://maven.apache.org/SETTINGS/1.2.0">
          <localRepository>{escape(str(local_repo))}</localRepository>
          <interactiveMode>false</interactiveMode>
          <offline>false</offline>
          <servers>{server}</servers>
          <mirrors>
            <mirror><id>debian-offline</id><mirrorOf>*,!{server_id}</mirrorOf><url>{debian}</url></mirror>
          </mirrors>
          <profiles>
            <profile>
              <id>codeartifact-e2e</id>
              <repositories>
                <repository><id>{server_id}</id><url>{escape(repo_url)}</url>
                  <releases>{policy}</releases><snapshots>{policy}</snapshots></repository>
                <repository>{offline_repo}</repository>
              </repositories>
              <pluginRepositories><pluginRepository>{offline_repo}</pluginRepository></pluginRepositories>
            </profile>
          </profiles>
          <activeProfiles><activeProfile>codeartifact-e2e</activeProfile></activeProfiles>
        </settings>
        """)


@dataclass
class MvnResult:
    rc: int
    stdout: str
    stderr: str
    args: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        return strip_ansi(self.stdout + self.stderr)

    def uploaded(self) -> list[str]:
        """URLs of `Uploaded to codeartifact: URL (…)` lines."""
        return re.findall(rf"Uploaded to {SERVER_ID}: (\S+)", self.output)


class Mvn:
    """`mvn` 3.8 bound to one repository endpoint: temporary HOME, generated settings, a local
    repository that `fresh()` replaces by an empty one."""

    def __init__(self, work: Path, repo_url: str, token: str | None, server_log=None):
        self.work = work
        self.repo_url = repo_url
        self.token = token
        self.server_log = server_log  # callable returning the server log, shown on failure
        self.home = work / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.global_settings = work / "global-settings.xml"
        self.global_settings.write_text("<settings/>\n")
        self.local_repo = work / "m2-0"
        self._n = 0
        self.settings = work / "settings.xml"
        self._write_settings()
        # goals without a project run here: never in a directory holding a pom.xml (Maven would
        # resolve that project's own coordinates from the workspace instead of the repository)
        self.cwd = work / "no-project"
        self.cwd.mkdir(exist_ok=True)

    def _write_settings(self) -> None:
        self.settings.write_text(settings_xml(self.repo_url, self.token, self.local_repo))

    def fresh(self) -> Path:
        """Switches to a new, empty local repository and returns it."""
        self._n += 1
        self.local_repo = self.work / f"m2-{self._n}"
        self._write_settings()
        return self.local_repo

    def _guard(self, args: Sequence[str]) -> None:
        text = self.settings.read_text()
        for url in re.findall(r"<url>([^<]+)</url>", text):
            assert url.startswith("file:///") or loopback(url), f"refusing to run mvn: settings URL {url}"
        for a in args:
            for url in re.findall(r"[a-z]+://[^\s,]+", a):
                assert url.startswith("file:///") or loopback(url), f"refusing to run mvn with {a}"

    def __call__(self, *args: str, cwd: Path | None = None, check: bool = True, quiet: bool = False) -> MvnResult:
        self._guard(args)
        cmd = ["mvn", "-B", *(["-q"] if quiet else []), "-Dstyle.color=never",
               "-s", str(self.settings), "-gs", str(self.global_settings),
               f"-Duser.home={self.home}", f"-Dmaven.repo.local={self.local_repo}",
               "-Dmaven.wagon.http.retryHandler.count=0", "-Dmaven.wagon.httpconnectionManager.ttlSeconds=5",
               *args]
        p = _run(cmd, java_env(self.home), cwd or self.cwd, MVN_TIMEOUT)
        result = MvnResult(p.returncode, p.stdout, p.stderr, cmd)
        if check and p.returncode != 0:
            log = self.server_log()[-6000:] if self.server_log else ""
            raise AssertionError(
                f"mvn {' '.join(args)} failed (rc={p.returncode}):\n{result.output[-12000:]}"
                + (f"\nserver log (tail):\n{log}" if log else ""))
        return result

    # plugin goals ---------------------------------------------------------------------------
    def deploy_file(self, file: Path, *, pom_file: Path | None = None, gav: tuple[str, str, str] | None = None,
                    packaging: str = "jar", extra: Sequence[tuple[Path, str, str]] = (),
                    check: bool = True, url: str | None = None) -> MvnResult:
        """`deploy:deploy-file` of `file` (+ `extra` = (file, classifier, type) attachments)."""
        args = [f"{DEPLOY_PLUGIN}:deploy-file", f"-Dfile={file}", f"-DrepositoryId={SERVER_ID}",
                f"-Durl={url or self.repo_url}", "-DretryFailedDeploymentCount=1"]
        if pom_file is not None:
            args.append(f"-DpomFile={pom_file}")
        else:
            assert gav is not None
            args += [f"-DgroupId={gav[0]}", f"-DartifactId={gav[1]}", f"-Dversion={gav[2]}",
                     f"-Dpackaging={packaging}", "-DgeneratePom=true"]
        if extra:
            args += ["-Dfiles=" + ",".join(str(f) for f, _, _ in extra),
                     "-Dclassifiers=" + ",".join(c for _, c, _ in extra),
                     "-Dtypes=" + ",".join(t for _, _, t in extra)]
        return self(*args, check=check)

    def get(self, artifact: str, *, transitive: bool = True, check: bool = True) -> MvnResult:
        """`dependency:get -Dartifact=g:a:v[:packaging[:classifier]]` into the current local repository."""
        return self(f"{DEPENDENCY_PLUGIN}:get", f"-Dartifact={artifact}", f"-Dtransitive={str(transitive).lower()}",
                    check=check, quiet=True)

    def build_classpath(self, project: Path, check: bool = True) -> tuple[MvnResult, list[Path]]:
        """`dependency:build-classpath` of the project in `project`; returns the classpath entries."""
        out = project / f"classpath-{uuid.uuid4().hex[:6]}.txt"
        r = self(f"{DEPENDENCY_PLUGIN}:build-classpath", f"-Dmdep.outputFile={out}", cwd=project, check=check,
                 quiet=True)
        if r.rc != 0:
            return r, []
        text = out.read_text().strip()
        return r, [Path(p) for p in text.split(os.pathsep) if p]

    def local_file(self, group: str, artifact: str, version: str, filename: str) -> Path:
        return self.local_repo / group.replace(".", "/") / artifact / version / filename


def consumer_project(directory: Path, dependencies: Sequence[Dep]) -> Path:
    """A minimal `pom`-packaging project that only declares `dependencies`."""
    directory.mkdir(parents=True, exist_ok=True)
    deps = "".join(d.xml() for d in dependencies)
    (directory / "pom.xml").write_text(textwrap.dedent(f"""\
        <?xml version="1.0" encoding="UTF-8"?>
        <project xmlns="http://maven.apache.org/POM/4.0.0">
          <modelVersion>4.0.0</modelVersion>
          <groupId>com.example.consumer</groupId>
          <artifactId>consumer-app</artifactId>
          <version>1.0</version>
          <packaging>pom</packaging>
          <dependencies>{deps}</dependencies>
        </project>
        """))
    return directory


# --------------------------------------------------------------------------------------------
# Raw HTTP against a repository endpoint
# --------------------------------------------------------------------------------------------


def gav_path(group: str, artifact: str, version: str | None = None, filename: str | None = None) -> str:
    parts = [*group.split("."), artifact]
    if version is not None:
        parts.append(version)
    if filename is not None:
        parts.append(filename)
    return "/".join(parts)


class MavenHttp:
    """Requests below one repository endpoint (`…/maven/d/{domain}-{owner}/{repo}/`) with
    Basic `aws:TOKEN` (or none / another Authorization)."""

    def __init__(self, endpoint: str, token: str | None):
        assert loopback(endpoint) and endpoint.endswith("/"), endpoint
        self.endpoint = endpoint
        u = urllib.parse.urlsplit(endpoint)
        self.host, self.port, self.base = u.hostname, u.port, u.path
        self.token = token

    def request(self, method: str, rest: str, body: bytes | None = None, *, token: str | None = "default",
                authorization: str | None = None, headers: Mapping[str, str] | None = None, timeout: float = 30):
        token = self.token if token == "default" else token
        hdrs = {"Host": f"{self.host}:{self.port}", "Accept": "*/*"}
        if authorization is not None:
            hdrs["Authorization"] = authorization
        elif token is not None:
            hdrs["Authorization"] = basic(token)
        if body is not None:
            hdrs["Content-Type"] = "application/octet-stream"
        if headers:
            hdrs.update(headers)
        return http_request(self.host, self.port, method, self.base + rest, body, hdrs, timeout=timeout)

    def get(self, rest: str, **kw):
        return self.request("GET", rest, **kw)

    def head(self, rest: str, **kw):
        return self.request("HEAD", rest, **kw)

    def put(self, rest: str, body: bytes, **kw):
        return self.request("PUT", rest, body, **kw)

    def put_ok(self, rest: str, body: bytes) -> None:
        r = self.put(rest, body)
        assert r.status in (200, 201), f"PUT {rest}: {r}"

    def publish(self, group: str, artifact: str, version: str, files: Mapping[str, bytes],
                checksums: bool = True, metadata_versions: Sequence[str] | None = None) -> None:
        """What `mvn deploy` does, by hand: every file (+ .sha1/.md5), then the artifact metadata
        naming `metadata_versions` (default: just `version`)."""
        for name, data in files.items():
            self.put_ok(gav_path(group, artifact, version, name), data)
            if checksums:
                self.put_ok(gav_path(group, artifact, version, name) + ".sha1", digest(data, "sha1").encode())
                self.put_ok(gav_path(group, artifact, version, name) + ".md5", digest(data, "md5").encode())
        md = artifact_metadata(group, artifact, list(metadata_versions or [version]))
        self.put_ok(gav_path(group, artifact, None, "maven-metadata.xml"), md)
        if checksums:
            self.put_ok(gav_path(group, artifact, None, "maven-metadata.xml.sha1"), digest(md, "sha1").encode())

    def metadata(self, group: str, artifact: str):
        return self.get(gav_path(group, artifact, None, "maven-metadata.xml"))

    def metadata_doc(self, group: str, artifact: str) -> "Metadata":
        """GET and parse the artifact-level maven-metadata.xml (which must answer 200)."""
        r = self.metadata(group, artifact)
        assert r.status == 200, f"GET {group}:{artifact} maven-metadata.xml: {r}"
        return parse_metadata(r.body)
