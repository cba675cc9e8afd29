//! Maven benchmark against the real release binary: the repository endpoint as `mvn deploy`
//! and Maven's resolver use it.
//!
//! In order, on one server with a fresh data dir:
//! 1. setup: CreateDomain, CreateRepository, GetRepositoryEndpoint (format maven) and
//!    GetAuthorizationToken, all SigV4-signed with `aws-sigv4`; then (not timed)
//!    `com.example.bench:benchdep:1.0.0`, the dependency every `benchlib` POM names, is
//!    deployed the same way as below;
//! 2. **deploy**: `BENCH_MAVEN_VERSIONS` (50) release versions of
//!    `com.example.bench:benchlib` (1.0.0, 1.0.1, ...), sent as `mvn deploy` (Maven 3.8,
//!    repository-endpoints spec §7.6) sends them, one after another on one keep-alive
//!    connection with Basic `aws:TOKEN`: `PUT {v}/benchlib-{v}.jar`, its `.sha1` and `.md5`,
//!    `PUT {v}/benchlib-{v}.pom` (a description and a dependency on
//!    `benchdep:[1.0,2.0)`), its `.sha1` and `.md5`, `GET maven-metadata.xml` (404 for the
//!    first version), then `PUT maven-metadata.xml` listing every version so far (which
//!    publishes the version) with its `.sha1` and `.md5` — 10 requests a version. The jar
//!    is a real zip (`META-INF/MANIFEST.MF`, a properties file and `BENCH_MAVEN_JAR_KIB`
//!    (64) KiB of pseudo-random bytes, stored), built in memory. Reported: versions/s and
//!    requests/s, the latency of a whole version (first and last tenth apart, to show
//!    whether a deploy gets slower as versions pile up) and of each kind of request;
//! 3. **loads**, each over `BENCH_CONNECTIONS` (32) keep-alive connections for `BENCH_SECS`
//!    (10 s) after `BENCH_WARMUP_SECS` (2 s): `GET maven-metadata.xml` (generated; the
//!    resolution hot path for ranges, `LATEST` and snapshots), `GET maven-metadata.xml.sha1`,
//!    `GET {v}/benchlib-{v}.jar` cycling through the versions, and `GET {v}/benchlib-{v}.pom`
//!    alternating with its `.pom.sha1` (what the resolver fetches per dependency);
//!    requests/s, p50/p99/max latency, non-200 count and the server's CPU time;
//! 4. **cold `mvn dependency:get`** (when `mvn` and Debian's maven-dependency-plugin 3.5.0
//!    are installed): `mvn org.apache.maven.plugins:maven-dependency-plugin:3.5.0:get
//!    -Dartifact=com.example.bench:benchlib:{newest} -Dtransitive=true`, `BENCH_MVN_RUNS`
//!    (3) times, each into an empty local repository: benchlib's POM and jar, then the
//!    `[1.0,2.0)` range of benchdep resolved through its `maven-metadata.xml`, then benchdep's
//!    POM and jar, each with its `.sha1`. Reported: the median wall time, mvn's own CPU time
//!    (the reaped child's `cutime + cstime`, i.e. the JVM), the server's CPU time over the
//!    same interval and the files mvn logged downloading from the server; the jars in the
//!    local repository are checked byte for byte.
//!
//! mvn runs isolated and offline (as `tests/e2e/mavenkit.py` runs it): a cleared
//! environment, `MAVEN_SKIP_RC=1`, a temporary `user.home` and HOME, its own local repository
//! (`-Dmaven.repo.local`), generated user settings (`-s`: the token for server
//! `codeartifact`, our endpoint as the only remote repository and
//! `file:///usr/share/maven-repo` as a mirror of everything else, which is where the plugin
//! and its dependencies come from) and an empty global settings file (`-gs`). Every
//! repository URL in mvn's output is checked to be ours or that `file://` mirror. Every
//! request and every mvn run is bounded in time.
//!
//! Prints a table, then one JSON line with every number. A benchmark, not a test: nothing
//! asserts on timings (a failed request, a wrong body or a failed mvn run is an error).
//!
//! Knobs (environment):
//! - `CODEARTIFACT_LOCAL_BIN`: server binary (default `target/release/codeartifact-local`)
//! - `BENCH_MAVEN_VERSIONS` (50), `BENCH_MAVEN_JAR_KIB` (64), `BENCH_CONNECTIONS` (32),
//!   `BENCH_WARMUP_SECS` (2), `BENCH_SECS` (10), `BENCH_CLIENT_THREADS` (1: tokio workers of
//!   the load generator)
//! - `BENCH_MVN` (`mvn` from PATH; the phase is skipped with a note when there is none or
//!   Debian's plugin is missing, and is an error when `BENCH_MVN` names a missing file),
//!   `BENCH_MVN_RUNS` (3; 0 skips the mvn phase), `BENCH_MVN_TIMEOUT_SECS` (300, per run)
//! - `BENCH_SERVER_LOG` (`info,access=warn`): `RUST_LOG` for the server (keep the info-level "ready"
//!   line; `warn,codeartifact_local=info,codeartifact_local::app=warn` drops the per-request
//!   lines)

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use md5::Md5;
use serde_json::json;
use sha1::{Digest, Sha1};

use support::{
    env_or, expect_200, hex, load_rows, loads_json, pseudo_random, read_mem, round3, run_tool,
    BenchEnv, BoxError, Conn, CpuMeter, Endpoint, InstallPhase, InstallRun, InstallTiming,
    KindLatency, LoadSpec, NamedLoad, RepoServer, SeriesResult, ServerTrace, Table,
    REQUEST_TIMEOUT,
};

const REPOSITORY: &str = "maven-repo";
const GROUP: &str = "com.example.bench";
const ARTIFACT: &str = "benchlib";
const DEP_ARTIFACT: &str = "benchdep";
const DEP_VERSION: &str = "1.0.0";
/// The version requirement benchlib's POM gives benchdep: a range, so Maven resolves it
/// through benchdep's `maven-metadata.xml`.
const DEP_RANGE: &str = "[1.0,2.0)";
const METADATA: &str = "maven-metadata.xml";
const USER_AGENT: &str = "Apache-Maven/3.8.7 (Java 17.0.15; Linux amd64) codeartifact-local-bench";

/// Debian's Maven repository (packages `maven`, `libmaven-dependency-plugin-java`).
const DEBIAN_REPO: &str = "/usr/share/maven-repo";
const DEPENDENCY_PLUGIN: &str = "org.apache.maven.plugins:maven-dependency-plugin:3.5.0";
const DEPENDENCY_PLUGIN_JAR: &str =
    "org/apache/maven/plugins/maven-dependency-plugin/3.5.0/maven-dependency-plugin-3.5.0.jar";
/// The `<server>` / `<repository>` id of our endpoint in mvn's settings.
const SERVER_ID: &str = "codeartifact";

fn main() {
    support::run_or_exit("maven", run);
}

struct Config {
    env: BenchEnv,
    versions: usize,
    jar_kib: usize,
    load: LoadSpec,
    client_threads: usize,
    mvn_runs: usize,
    mvn_timeout: Duration,
}

fn run() -> Result<(), BoxError> {
    let cfg = Config {
        env: BenchEnv::from_env()?,
        versions: env_or("BENCH_MAVEN_VERSIONS", 50usize).clamp(1, 10_000),
        jar_kib: env_or("BENCH_MAVEN_JAR_KIB", 64usize).clamp(1, 64 * 1024),
        load: LoadSpec::from_env(REQUEST_TIMEOUT),
        client_threads: env_or("BENCH_CLIENT_THREADS", 1usize).max(1),
        mvn_runs: env_or("BENCH_MVN_RUNS", 3usize),
        mvn_timeout: Duration::from_secs_f64(env_or("BENCH_MVN_TIMEOUT_SECS", 300.0f64).max(1.0)),
    };
    let mvn = if cfg.mvn_runs > 0 { find_mvn()? } else { None };
    cfg.env.announce(
        "maven",
        &match &mvn {
            Some(m) => format!(", mvn {}", m.display()),
            None => String::new(),
        },
    );

    // Every jar and POM, built before the server starts.
    let built = Instant::now();
    let dep = Artifact::build(DEP_ARTIFACT, DEP_VERSION, 0, cfg.jar_kib, None)?;
    let artifacts = (0..cfg.versions)
        .map(|i| {
            Artifact::build(
                ARTIFACT,
                &format!("1.0.{i}"),
                i as u64 + 1,
                cfg.jar_kib,
                Some(DEP_RANGE),
            )
        })
        .collect::<Result<Vec<_>, BoxError>>()?;
    let build_s = built.elapsed().as_secs_f64();
    println!(
        "  built {} jars of {:.1} KiB in {build_s:.2} s",
        artifacts.len() + 1,
        artifacts[0].jar.len() as f64 / 1024.0
    );

    // 1. Setup.
    let repo = RepoServer::start(
        cfg.env.start_server()?,
        cfg.client_threads,
        cfg.env.clk_tck,
        REPOSITORY,
        "maven",
        "mvn",
    )?;
    let dep_deploy = deploy_all(&repo, std::slice::from_ref(&dep))?;

    // 2. Deploy.
    let deploy = deploy_all(&repo, &artifacts)?;
    println!(
        "  deployed {} versions ({} requests, {:.0}/s): {}",
        deploy.versions.count,
        deploy.requests,
        deploy.request_rate,
        deploy.versions.summary()
    );

    // Check what the loads will fetch, once, before loading.
    let check = repo.runtime.block_on(check_documents(&repo, &artifacts))?;

    // 3. Loads.
    let endpoint = &repo.endpoint;
    let metadata_target = metadata_path(endpoint, ARTIFACT);
    let jars: Vec<Vec<u8>> = artifacts
        .iter()
        .map(|a| maven_get(endpoint, &a.file_path(endpoint, "jar")))
        .collect();
    let poms: Vec<Vec<u8>> = artifacts
        .iter()
        .flat_map(|a| {
            [
                maven_get(endpoint, &a.file_path(endpoint, "pom")),
                maven_get(endpoint, &a.file_path(endpoint, "pom.sha1")),
            ]
        })
        .collect();
    let mean = |f: fn(&Artifact) -> usize| {
        artifacts.iter().map(f).sum::<usize>() as f64 / artifacts.len() as f64
    };
    let mean_jar = mean(|a| a.jar.len());
    // A .sha1 body is 40 hex digits.
    let mean_pom_mix = (mean(|a| a.pom.len()) + 40.0) / 2.0;
    let loader = repo.loader(&cfg.load);
    let loads = vec![
        loader.run(
            "maven-metadata.xml",
            "metadata",
            check.metadata_bytes as f64,
            vec![maven_get(endpoint, &metadata_target)],
        )?,
        loader.run(
            "maven-metadata.xml.sha1",
            "metadata_sha1",
            40.0,
            vec![maven_get(endpoint, &format!("{metadata_target}.sha1"))],
        )?,
        loader.run("jar", "jar", mean_jar, jars)?,
        loader.run("pom + .pom.sha1", "pom_and_sha1", mean_pom_mix, poms)?,
    ];
    let after_load = read_mem(repo.pid())?;

    // 4. Cold mvn dependency:get.
    let resolve = match &mvn {
        Some(mvn) => {
            let newest = artifacts.last().ok_or("no versions")?;
            Some(mvn_phase(
                &cfg,
                mvn,
                &repo,
                &[newest, &dep],
                dep_deploy.versions.seconds,
            )?)
        }
        None => None,
    };
    let trace = repo.stop(Some(after_load))?;

    print_report(
        &cfg,
        build_s,
        &trace,
        &deploy,
        &check,
        &loads,
        resolve.as_ref(),
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Jars, POMs and Maven requests

/// One version of an artifact: its jar and POM.
struct Artifact {
    artifact: String,
    version: String,
    jar: Vec<u8>,
    pom: Vec<u8>,
}

fn group_path() -> String {
    GROUP.replace('.', "/")
}

/// `{endpoint path}{g}/{a}/maven-metadata.xml`
fn metadata_path(endpoint: &Endpoint, artifact: &str) -> String {
    format!("{}{}/{artifact}/{METADATA}", endpoint.path, group_path())
}

impl Artifact {
    /// `seed` varies the jar's bytes; `dep_range`, if any, is a dependency on benchdep.
    fn build(
        artifact: &str,
        version: &str,
        seed: u64,
        jar_kib: usize,
        dep_range: Option<&str>,
    ) -> Result<Artifact, BoxError> {
        let manifest = format!(
            "Manifest-Version: 1.0\r\nCreated-By: codeartifact-local maven bench\r\n\
             Implementation-Title: {artifact}\r\nImplementation-Version: {version}\r\n\r\n"
        );
        let properties = format!("groupId={GROUP}\nartifactId={artifact}\nversion={version}\n");
        let data = pseudo_random(seed, jar_kib * 1024);
        let package = format!("{}/{artifact}", group_path());
        let jar = zip_stored(&[
            ("META-INF/MANIFEST.MF", manifest.as_bytes()),
            (
                &format!("{package}/version.properties"),
                properties.as_bytes(),
            ),
            (&format!("{package}/data.bin"), &data),
        ])?;
        let dependencies = dep_range.map_or_else(String::new, |range| {
            format!(
                "  <dependencies>\n    <dependency>\n      <groupId>{GROUP}</groupId>\n      \
                 <artifactId>{DEP_ARTIFACT}</artifactId>\n      <version>{range}</version>\n    \
                 </dependency>\n  </dependencies>\n"
            )
        });
        let pom = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <project xmlns=\"http://maven.apache.org/POM/4.0.0\" \
             xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
             xsi:schemaLocation=\"http://maven.apache.org/POM/4.0.0 \
             http://maven.apache.org/xsd/maven-4.0.0.xsd\">\n  \
             <modelVersion>4.0.0</modelVersion>\n  <groupId>{GROUP}</groupId>\n  \
             <artifactId>{artifact}</artifactId>\n  <version>{version}</version>\n  \
             <packaging>jar</packaging>\n  <name>{artifact}</name>\n  \
             <description>{artifact} {version}, deployed by the codeartifact-local maven \
             bench</description>\n  <licenses>\n    <license>\n      \
             <name>Apache-2.0</name>\n      \
             <url>https://www.apache.org/licenses/LICENSE-2.0.txt</url>\n    </license>\n  \
             </licenses>\n{dependencies}</project>\n"
        )
        .into_bytes();
        Ok(Artifact {
            artifact: artifact.to_owned(),
            version: version.to_owned(),
            jar,
            pom,
        })
    }

    /// `{artifact}-{version}.{extension}`
    fn file_name(&self, extension: &str) -> String {
        format!("{}-{}.{extension}", self.artifact, self.version)
    }

    /// `{endpoint path}{g}/{a}/{v}/{a}-{v}.{extension}`
    fn file_path(&self, endpoint: &Endpoint, extension: &str) -> String {
        format!(
            "{}{}/{}/{}/{}",
            endpoint.path,
            group_path(),
            self.artifact,
            self.version,
            self.file_name(extension)
        )
    }
}

/// A zip archive of `entries`, stored (not compressed), dated 1980-01-01: what a jar is.
fn zip_stored(entries: &[(&str, &[u8])]) -> Result<Vec<u8>, BoxError> {
    const DOS_DATE: u16 = 1 << 5 | 1; // 1980-01-01
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in entries {
        let mut crc = flate2::Crc::new();
        crc.update(data);
        let crc = crc.sum();
        let size = u32::try_from(data.len())?;
        let name_len = u16::try_from(name.len())?;
        let offset = u32::try_from(out.len())?;
        // Local file header.
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        for v in [20u16, 0, 0, 0, DOS_DATE] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in [crc, size, size] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        // Central directory entry.
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        for v in [20u16, 20, 0, 0, 0, DOS_DATE] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        for v in [crc, size, size] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        for v in [name_len, 0, 0, 0, 0] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        central.extend_from_slice(&(0o100_644u32 << 16).to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let count = u16::try_from(entries.len())?;
    let central_offset = u32::try_from(out.len())?;
    let central_size = u32::try_from(central.len())?;
    out.extend_from_slice(&central);
    // End of central directory.
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    for v in [0u16, 0, count, count] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&central_size.to_le_bytes());
    out.extend_from_slice(&central_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    Ok(out)
}

/// The artifact-level `maven-metadata.xml` as `mvn deploy` uploads it (no `modelVersion`,
/// no `<latest>`): every version deployed so far, the newest as the release.
fn client_metadata(artifact: &str, versions: &[&str]) -> Vec<u8> {
    let listed: String = versions
        .iter()
        .map(|v| format!("      <version>{v}</version>\n"))
        .collect();
    let release = versions.last().copied().unwrap_or_default();
    let updated = chrono::Utc::now().format("%Y%m%d%H%M%S");
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metadata>\n  <groupId>{GROUP}</groupId>\n  \
         <artifactId>{artifact}</artifactId>\n  <versioning>\n    <release>{release}</release>\n    \
         <versions>\n{listed}    </versions>\n    <lastUpdated>{updated}</lastUpdated>\n  \
         </versioning>\n</metadata>\n"
    )
    .into_bytes()
}

/// A GET as Maven 3.8's HTTP wagon sends it, with the Basic token.
fn maven_get(endpoint: &Endpoint, target: &str) -> Vec<u8> {
    format!(
        "GET {target} HTTP/1.1\r\nCache-control: no-cache\r\nCache-store: no-store\r\n\
         Pragma: no-cache\r\nExpires: 0\r\nAccept-Encoding: gzip\r\nUser-Agent: {USER_AGENT}\r\n\
         Host: {}\r\nConnection: Keep-Alive\r\nAuthorization: {}\r\n\r\n",
        endpoint.host,
        endpoint.basic_authorization()
    )
    .into_bytes()
}

/// A PUT as the wagon sends it.
fn maven_put(endpoint: &Endpoint, target: &str, body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "PUT {target} HTTP/1.1\r\nCache-control: no-cache\r\nCache-store: no-store\r\n\
         Pragma: no-cache\r\nExpires: 0\r\nUser-Agent: {USER_AGENT}\r\nHost: {}\r\n\
         Connection: Keep-Alive\r\nAuthorization: {}\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        endpoint.host,
        endpoint.basic_authorization(),
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

// ---------------------------------------------------------------------------------------
// Deploy

/// The kinds of request a deploy sends, for their latencies.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    PutFile,
    PutChecksum,
    GetMetadata,
    PutMetadata,
}

const KINDS: [(Kind, &str, &str); 4] = [
    (Kind::PutFile, "PUT jar / pom", "put_file"),
    (Kind::PutChecksum, "PUT .sha1 / .md5", "put_checksum"),
    (Kind::GetMetadata, "GET maven-metadata.xml", "get_metadata"),
    (Kind::PutMetadata, "PUT maven-metadata.xml", "put_metadata"),
];

/// One request of a deploy and the status it must get.
struct Step {
    what: String,
    kind: Kind,
    request: Vec<u8>,
    status: u16,
}

/// The 10 requests `mvn deploy` sends for one release version; `listed` is every version
/// the uploaded metadata names (this one last).
fn deploy_steps(endpoint: &Endpoint, a: &Artifact, listed: &[&str]) -> Vec<Step> {
    let mut steps = Vec::with_capacity(10);
    let put = |target: String, body: &[u8], kind: Kind, status: u16| Step {
        what: format!("PUT {target}"),
        kind,
        request: maven_put(endpoint, &target, body),
        status,
    };
    for (extension, bytes) in [("jar", &a.jar), ("pom", &a.pom)] {
        let target = a.file_path(endpoint, extension);
        steps.push(put(target.clone(), bytes, Kind::PutFile, 201));
        let sha1 = hex(&Sha1::digest(bytes));
        let md5 = hex(&Md5::digest(bytes));
        steps.push(put(
            format!("{target}.sha1"),
            sha1.as_bytes(),
            Kind::PutChecksum,
            200,
        ));
        steps.push(put(
            format!("{target}.md5"),
            md5.as_bytes(),
            Kind::PutChecksum,
            200,
        ));
    }
    let target = metadata_path(endpoint, &a.artifact);
    // Nothing is published before the first version's metadata upload.
    steps.push(Step {
        what: format!("GET {target}"),
        kind: Kind::GetMetadata,
        request: maven_get(endpoint, &target),
        status: if listed.len() == 1 { 404 } else { 200 },
    });
    let metadata = client_metadata(&a.artifact, listed);
    steps.push(put(target.clone(), &metadata, Kind::PutMetadata, 200));
    let sha1 = hex(&Sha1::digest(&metadata));
    let md5 = hex(&Md5::digest(&metadata));
    steps.push(put(
        format!("{target}.sha1"),
        sha1.as_bytes(),
        Kind::PutChecksum,
        200,
    ));
    steps.push(put(
        format!("{target}.md5"),
        md5.as_bytes(),
        Kind::PutChecksum,
        200,
    ));
    steps
}

struct Deploy {
    /// Per version: the whole 10-request sequence is one item.
    versions: SeriesResult,
    requests: usize,
    request_rate: f64,
    kinds: Vec<KindLatency>,
}

/// Deploys every artifact in order on one connection; requests are built first so only the
/// exchanges are timed.
fn deploy_all(repo: &RepoServer, artifacts: &[Artifact]) -> Result<Deploy, BoxError> {
    let mut listed: Vec<&str> = Vec::with_capacity(artifacts.len());
    let plan: Vec<Vec<Step>> = artifacts
        .iter()
        .map(|a| {
            listed.push(&a.version);
            deploy_steps(&repo.endpoint, a, &listed)
        })
        .collect();
    repo.runtime
        .block_on(send_deploy(&repo.addr(), &plan, repo.pid(), repo.clk_tck))
}

async fn send_deploy(
    addr: &std::net::SocketAddr,
    plan: &[Vec<Step>],
    pid: u32,
    clk_tck: f64,
) -> Result<Deploy, BoxError> {
    let requests: usize = plan.iter().map(Vec::len).sum();
    let request_bytes: usize = plan.iter().flatten().map(|s| s.request.len()).sum();
    let mut conn = Conn::connect(*addr).await?;
    let meter = CpuMeter::start(pid)?;
    let started = Instant::now();
    let mut per_version = Vec::with_capacity(plan.len());
    let mut per_kind: Vec<Vec<f64>> = vec![Vec::new(); KINDS.len()];
    for steps in plan {
        let version_started = Instant::now();
        for step in steps {
            let sent = Instant::now();
            let reply = tokio::time::timeout(REQUEST_TIMEOUT, conn.roundtrip(&step.request, true))
                .await
                .map_err(|_| format!("{}: no answer within {REQUEST_TIMEOUT:?}", step.what))??;
            let ms = sent.elapsed().as_secs_f64() * 1e3;
            if reply.status != step.status {
                return Err(format!(
                    "{}: HTTP {} (expected {}): {}",
                    step.what,
                    reply.status,
                    step.status,
                    String::from_utf8_lossy(&reply.body)
                )
                .into());
            }
            let k = KINDS
                .iter()
                .position(|(kind, ..)| *kind == step.kind)
                .unwrap_or(0);
            per_kind[k].push(ms);
        }
        per_version.push(version_started.elapsed().as_secs_f64() * 1e3);
    }
    let seconds = started.elapsed().as_secs_f64();
    let (server_cpu_s, _) = meter.read(clk_tck)?;

    let versions = SeriesResult::from_latencies(
        &per_version,
        seconds,
        request_bytes as f64 / requests.max(1) as f64,
        server_cpu_s,
    );
    let kinds = KINDS
        .iter()
        .zip(per_kind.iter_mut())
        .map(|((_, label, key), latencies)| KindLatency::of(label, key, latencies))
        .collect();
    Ok(Deploy {
        versions,
        requests,
        request_rate: requests as f64 / seconds,
        kinds,
    })
}

/// Sizes of the documents the loads fetch, after checking them.
struct DocumentCheck {
    metadata_bytes: usize,
}

/// Fetches the generated metadata (twice: it must be byte-stable) and its checksums, and
/// the first and last versions' jar and POM with their `.sha1`: every deployed version must
/// be listed in order with the newest as `<latest>` and `<release>`, the checksums must be
/// those of the served bytes, and files must come back byte for byte.
async fn check_documents(
    repo: &RepoServer,
    artifacts: &[Artifact],
) -> Result<DocumentCheck, BoxError> {
    let endpoint = &repo.endpoint;
    let mut conn = Conn::connect(repo.addr()).await?;
    let get = |target: String| {
        let request = maven_get(endpoint, &target);
        (format!("GET {target}"), request)
    };
    let target = metadata_path(endpoint, ARTIFACT);
    let (what, request) = get(target.clone());
    let metadata = expect_200(&mut conn, &request, &what).await?;
    let again = expect_200(&mut conn, &request, &what).await?;
    if again != metadata {
        return Err("maven-metadata.xml differs between two GETs".into());
    }
    let text = String::from_utf8(metadata.clone())?;
    let newest = &artifacts.last().ok_or("no versions")?.version;
    let listed: Vec<&str> = text
        .split("<version>")
        .skip(1)
        .filter_map(|s| s.split("</version>").next())
        .collect();
    let deployed: Vec<&str> = artifacts.iter().map(|a| a.version.as_str()).collect();
    if listed != deployed {
        return Err(format!(
            "maven-metadata.xml lists {} versions ({:?}…), {} were deployed",
            listed.len(),
            listed.iter().take(3).collect::<Vec<_>>(),
            deployed.len()
        )
        .into());
    }
    for needle in [
        format!("<groupId>{GROUP}</groupId>"),
        format!("<artifactId>{ARTIFACT}</artifactId>"),
        format!("<latest>{newest}</latest>"),
        format!("<release>{newest}</release>"),
    ] {
        if !text.contains(&needle) {
            return Err(format!("maven-metadata.xml has no {needle}:\n{text}").into());
        }
    }
    for (suffix, digest) in [
        ("sha1", hex(&Sha1::digest(&metadata))),
        ("md5", hex(&Md5::digest(&metadata))),
    ] {
        let (what, request) = get(format!("{target}.{suffix}"));
        let body = expect_200(&mut conn, &request, &what).await?;
        if body != digest.as_bytes() {
            return Err(format!(
                "{what}: {:?}, the served document's is {digest}",
                String::from_utf8_lossy(&body)
            )
            .into());
        }
    }

    for a in [artifacts.first(), artifacts.last()].into_iter().flatten() {
        for (extension, bytes) in [("jar", &a.jar), ("pom", &a.pom)] {
            let (what, request) = get(a.file_path(endpoint, extension));
            if expect_200(&mut conn, &request, &what).await? != *bytes {
                return Err(format!("{what}: came back different from what was deployed").into());
            }
            let (what, request) = get(a.file_path(endpoint, &format!("{extension}.sha1")));
            let body = expect_200(&mut conn, &request, &what).await?;
            if body != hex(&Sha1::digest(bytes)).as_bytes() {
                return Err(
                    format!("{what}: wrong digest {}", String::from_utf8_lossy(&body)).into(),
                );
            }
        }
    }
    Ok(DocumentCheck {
        metadata_bytes: metadata.len(),
    })
}

// ---------------------------------------------------------------------------------------
// mvn dependency:get

/// `BENCH_MVN`, else `mvn` from PATH; `None` (with a note) when there is none or Debian's
/// maven-dependency-plugin is missing.
fn find_mvn() -> Result<Option<PathBuf>, BoxError> {
    if let Some(explicit) = std::env::var_os("BENCH_MVN") {
        let path = PathBuf::from(explicit);
        if !path.is_file() {
            return Err(format!("BENCH_MVN={} is not a file", path.display()).into());
        }
        if !Path::new(DEBIAN_REPO).join(DEPENDENCY_PLUGIN_JAR).is_file() {
            return Err(format!(
                "{DEBIAN_REPO}/{DEPENDENCY_PLUGIN_JAR} missing (apt-get install \
                 libmaven-dependency-plugin-java)"
            )
            .into());
        }
        return Ok(Some(std::fs::canonicalize(path)?));
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("mvn"))
            .find(|p| p.is_file())
    });
    let Some(mvn) = found else {
        println!("  mvn not on PATH: the mvn dependency:get phase is skipped");
        return Ok(None);
    };
    if !Path::new(DEBIAN_REPO).join(DEPENDENCY_PLUGIN_JAR).is_file() {
        println!(
            "  {DEBIAN_REPO}/{DEPENDENCY_PLUGIN_JAR} missing: the mvn dependency:get phase is \
             skipped (apt-get install libmaven-dependency-plugin-java)"
        );
        return Ok(None);
    }
    Ok(Some(std::fs::canonicalize(mvn)?))
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// User settings: the token for [`SERVER_ID`], our endpoint as a profile repository
/// (checksums enforced) and Debian's Maven repository as a `file://` mirror of everything
/// else (checksums ignored: Debian ships none).
fn settings_xml(endpoint: &Endpoint, local_repo: &Path) -> String {
    let debian = format!("file://{DEBIAN_REPO}");
    let policy = "<enabled>true</enabled><updatePolicy>always</updatePolicy>\
                  <checksumPolicy>fail</checksumPolicy>";
    let offline = format!(
        "<id>central</id><url>{debian}</url><releases><enabled>true</enabled>\
         <checksumPolicy>ignore</checksumPolicy></releases><snapshots><enabled>false</enabled>\
         </snapshots>"
    );
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <settings xmlns=\"http://maven.apache.org/SETTINGS/1.2.0\">\n\
         <localRepository>{local}</localRepository>\n\
         <interactiveMode>false</interactiveMode>\n<offline>false</offline>\n\
         <servers><server><id>{SERVER_ID}</id><username>aws</username>\
         <password>{token}</password></server></servers>\n\
         <mirrors><mirror><id>debian-offline</id><mirrorOf>*,!{SERVER_ID}</mirrorOf>\
         <url>{debian}</url></mirror></mirrors>\n\
         <profiles><profile><id>codeartifact-bench</id>\n\
         <repositories><repository><id>{SERVER_ID}</id><url>{url}</url>\
         <releases>{policy}</releases><snapshots>{policy}</snapshots></repository>\
         <repository>{offline}</repository></repositories>\n\
         <pluginRepositories><pluginRepository>{offline}</pluginRepository>\
         </pluginRepositories>\n</profile></profiles>\n\
         <activeProfiles><activeProfile>codeartifact-bench</activeProfile></activeProfiles>\n\
         </settings>\n",
        local = xml_escape(&local_repo.display().to_string()),
        token = xml_escape(&endpoint.token),
        url = xml_escape(&endpoint.url),
    )
}

/// `mvn -B ...` in an environment of its own: nothing inherited but `JAVA_HOME`, HOME and
/// `user.home` under `dir`, no `mavenrc`, the given settings and local repository.
fn mvn_command(mvn: &Path, dir: &Path, home: &Path, local_repo: &Path) -> Command {
    let mut path = String::from("/usr/bin:/bin");
    if let Some(parent) = mvn.parent() {
        path = format!("{}:{path}", parent.display());
    }
    let mut cmd = Command::new(mvn);
    cmd.env_clear()
        .env("PATH", path)
        .env("HOME", home)
        .env("LANG", "C.UTF-8")
        .env("MAVEN_SKIP_RC", "1")
        .env(
            "MAVEN_OPTS",
            format!(
                "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Djava.io.tmpdir={}",
                dir.join("tmp").display()
            ),
        )
        .current_dir(dir.join("no-project"))
        .stdin(Stdio::null())
        .args(["-B", "-Dstyle.color=never", "-s"])
        .arg(dir.join("settings.xml"))
        .arg("-gs")
        .arg(dir.join("global-settings.xml"))
        .arg(format!("-Duser.home={}", home.display()))
        .arg(format!("-Dmaven.repo.local={}", local_repo.display()))
        .arg("-Dmaven.wagon.http.retryHandler.count=0");
    if let Some(java_home) = std::env::var_os("JAVA_HOME") {
        cmd.env("JAVA_HOME", java_home);
    }
    cmd
}

/// What mvn's output says it downloaded.
struct MvnLog {
    /// Files downloaded from our endpoint.
    from_server: usize,
    /// Files copied from Debian's repository (the plugin and its dependencies).
    from_debian: usize,
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Counts mvn's downloads; fails if any repository URL it names is neither our endpoint
/// nor Debian's `file://` repository.
fn parse_mvn_log(output: &str, endpoint: &Endpoint) -> Result<MvnLog, BoxError> {
    let debian = format!("file://{DEBIAN_REPO}/");
    let mut log = MvnLog {
        from_server: 0,
        from_debian: 0,
    };
    for line in strip_ansi(output).lines() {
        for marker in ["Downloading from ", "Downloaded from ", "Uploading to "] {
            let Some(at) = line.find(marker) else {
                continue;
            };
            let rest = &line[at + marker.len()..];
            let (_id, url) = rest
                .split_once(": ")
                .ok_or_else(|| format!("unexpected mvn line: {line}"))?;
            let url = url.split_whitespace().next().unwrap_or("");
            let ours = url.starts_with(&endpoint.url);
            if !ours && !url.starts_with(&debian) {
                return Err(format!("mvn names {url}, which is neither ours nor {debian}").into());
            }
            if marker == "Downloaded from " {
                if ours {
                    log.from_server += 1;
                } else {
                    log.from_debian += 1;
                }
            }
        }
        // Any other address mvn mentions (e.g. in a transfer error) must be ours too.
        if line.contains("http://") && !line.contains(&endpoint.url) {
            return Err(format!("mvn mentions a foreign address: {line}").into());
        }
    }
    Ok(log)
}

fn mvn_phase(
    cfg: &Config,
    mvn: &Path,
    repo: &RepoServer,
    expected: &[&Artifact],
    dep_deploy_s: f64,
) -> Result<InstallPhase<MvnLog>, BoxError> {
    let (endpoint, clk_tck) = (&repo.endpoint, repo.clk_tck);
    if !endpoint.url.starts_with("http://127.0.0.1:") {
        return Err(format!("refusing to point mvn at {}", endpoint.url).into());
    }
    let work = tempfile::tempdir()?;
    let dir = work.path();
    for sub in ["tmp", "logs", "no-project"] {
        std::fs::create_dir_all(dir.join(sub))?;
    }
    let logs = dir.join("logs");
    std::fs::write(dir.join("global-settings.xml"), "<settings/>\n")?;
    let redact =
        |e: BoxError| -> BoxError { e.to_string().replace(&endpoint.token, "<token>").into() };

    // Baseline: the JVM and Maven starting with nothing to do.
    let home = dir.join("home-version");
    std::fs::create_dir_all(&home)?;
    std::fs::write(
        dir.join("settings.xml"),
        settings_xml(endpoint, &dir.join("m2-version")),
    )?;
    let mut version_cmd = mvn_command(mvn, dir, &home, &dir.join("m2-version"));
    version_cmd.arg("--version");
    let version_run = run_tool(
        version_cmd,
        &logs,
        "mvn-version",
        Duration::from_secs(120),
        clk_tck,
    )?;
    let mvn_version = strip_ansi(&version_run.stdout)
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("Apache Maven "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or("?")
        .to_owned();

    let newest = expected.first().ok_or("nothing to resolve")?;
    let coordinates = format!("{GROUP}:{}:{}", newest.artifact, newest.version);
    let mut runs = Vec::new();
    for run in 0..cfg.mvn_runs {
        // Fresh HOME and local repository: a cold resolution.
        let home = dir.join(format!("home-{run}"));
        let local_repo = dir.join(format!("m2-{run}"));
        std::fs::create_dir_all(&home)?;
        std::fs::write(
            dir.join("settings.xml"),
            settings_xml(endpoint, &local_repo),
        )?;
        let mut cmd = mvn_command(mvn, dir, &home, &local_repo);
        cmd.arg(format!("{DEPENDENCY_PLUGIN}:get"))
            .arg(format!("-Dartifact={coordinates}"))
            .arg("-Dtransitive=true");
        let meter = CpuMeter::start(repo.pid())?;
        let result = run_tool(cmd, &logs, &format!("get-{run}"), cfg.mvn_timeout, clk_tck)
            .map_err(redact)?;
        let (server_cpu_s, _) = meter.read(clk_tck)?;
        for a in expected {
            let jar = local_repo
                .join(group_path())
                .join(&a.artifact)
                .join(&a.version)
                .join(a.file_name("jar"));
            let bytes = std::fs::read(&jar)
                .map_err(|e| format!("mvn run {run}: {} missing: {e}", jar.display()))?;
            if bytes != a.jar {
                return Err(format!("mvn run {run}: {} differs", jar.display()).into());
            }
        }
        let log = parse_mvn_log(&format!("{}\n{}", result.stdout, result.stderr), endpoint)
            .map_err(redact)?;
        let r = InstallRun {
            timing: InstallTiming {
                wall_s: result.wall_s,
                tool_cpu_s: result.cpu_s,
                server_cpu_s,
            },
            log,
        };
        println!(
            "  mvn dependency:get {}: {:.2} s wall, mvn CPU {:.2} s, server CPU {:.3} s, \
             {} files from the server, {} from {DEBIAN_REPO}",
            run + 1,
            r.timing.wall_s,
            r.timing.tool_cpu_s,
            r.timing.server_cpu_s,
            r.log.from_server,
            r.log.from_debian
        );
        runs.push(r);
        let _ = std::fs::remove_dir_all(&local_repo);
        let _ = std::fs::remove_dir_all(&home);
    }
    Ok(InstallPhase::new(
        "mvn",
        expected.len(),
        dep_deploy_s,
        mvn_version,
        version_run.wall_s,
        runs,
    ))
}

// ---------------------------------------------------------------------------------------
// Report

fn print_report(
    cfg: &Config,
    build_s: f64,
    trace: &ServerTrace,
    deploy: &Deploy,
    check: &DocumentCheck,
    loads: &[NamedLoad],
    resolve: Option<&InstallPhase<MvnLog>>,
) {
    let table = Table {
        name_width: 52,
        value_width: 16,
    };
    table.header();
    let row = |name: &str, value: String| table.row(name, value);
    deploy.versions.rows(
        &table,
        "deploy",
        &format!("versions of {ARTIFACT}"),
        "version",
    );
    row(
        &format!(
            "deploy requests ({} a version)",
            deploy.requests / deploy.versions.count.max(1)
        ),
        format!("{}", deploy.requests),
    );
    row(
        "deploy request rate",
        format!("{:.1} /s", deploy.request_rate),
    );
    for k in &deploy.kinds {
        row(&format!("  {} p50 / p99 / max", k.label), k.text());
    }
    row(
        "maven-metadata.xml size (generated)",
        format!("{:.1} KiB", check.metadata_bytes as f64 / 1024.0),
    );
    load_rows(&table, loads, cfg.load.connections);
    if let Some(resolve) = resolve {
        let m = &resolve.median_run().timing;
        row(
            &format!(
                "mvn dependency:get cold, {} artifacts, median of {}",
                resolve.deps,
                resolve.runs.len()
            ),
            format!("{:.2} s", m.wall_s),
        );
        row(
            "mvn dependency:get runs",
            resolve
                .runs
                .iter()
                .map(|r| format!("{:.2}", r.timing.wall_s))
                .collect::<Vec<_>>()
                .join(" / "),
        );
        row(
            "  mvn CPU (java, user+sys)",
            format!("{:.2} s", m.tool_cpu_s),
        );
        row(
            "  server CPU during dependency:get",
            format!("{:.3} s", m.server_cpu_s),
        );
        row(
            "  server CPU share of wall time",
            format!("{:.1} %", m.server_cpu_s / m.wall_s * 100.0),
        );
        let log = &resolve.median_run().log;
        row(
            "  files from the server / from Debian's repo",
            format!("{} / {}", log.from_server, log.from_debian),
        );
        resolve.tail_rows(&table, "deploy benchdep (not timed in dependency:get)");
    }
    row(
        "jars and POMs built (in memory, not timed)",
        format!("{build_s:.2} s"),
    );
    trace.rows(&table);

    let mut deploy_json = deploy.versions.json();
    deploy_json["requests"] = deploy.requests.into();
    deploy_json["request_rate"] = round3(deploy.request_rate).into();
    for k in &deploy.kinds {
        deploy_json[k.key] = k.json();
    }
    let resolve_json = resolve.map(|r| {
        r.json(
            "artifacts",
            "dep_deploy_s",
            |log| json!({ "from_server": log.from_server, "from_debian": log.from_debian }),
        )
    });
    let mut json = json!({
        "bench": "maven",
        "server_log": cfg.env.server_log,
        "cpus": cfg.env.cpus,
        "connections": cfg.load.connections,
        "client_threads": cfg.client_threads,
        "warmup_s": cfg.load.warmup.as_secs_f64(),
        "jar_kib": cfg.jar_kib,
        "deploy": deploy_json,
        "metadata_bytes": check.metadata_bytes,
        "loads": loads_json(loads),
        "mvn_get": resolve_json,
        "build_s": round3(build_s),
    });
    trace.add_json(&mut json);
    println!();
    println!("{json}");
}
