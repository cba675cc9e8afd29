//! npm benchmark against the real release binary: the repository endpoint as npm uses it.
//!
//! In order, on one server with a fresh data dir:
//! 1. setup: CreateDomain, CreateRepository, GetRepositoryEndpoint (format npm) and
//!    GetAuthorizationToken, all SigV4-signed with `aws-sigv4`;
//! 2. **publish**: `BENCH_NPM_VERSIONS` (200) versions of `bench-pkg` (1.0.0, 1.0.1, ...),
//!    each a real gzipped tarball (`package/package.json`, `index.js`, `README.md`) sent
//!    as npm sends it (`PUT {endpoint}bench-pkg`, JSON with the base64 tarball in
//!    `_attachments` and its sha512 `integrity` and SHA-1 `shasum`), one after another on
//!    one keep-alive connection; the rate and per-publish latency are reported, with the
//!    first and last tenth apart to show whether a publish gets slower as versions pile up;
//! 3. **packument load**: `GET {endpoint}bench-pkg` over `BENCH_CONNECTIONS` (32) keep-alive
//!    connections for `BENCH_SECS` (10 s) after `BENCH_WARMUP_SECS` (2 s), once with npm's
//!    abbreviated `Accept` (`application/vnd.npm.install-v1+json`) and once for the full
//!    document; requests/s, p50/p99/max latency, non-200 count and the server's CPU time;
//! 4. **tarball load**: `GET {endpoint}bench-pkg/-/bench-pkg-{v}.tgz`, cycling through the
//!    published versions, same shape;
//! 5. **cold `npm install`**: `BENCH_NPM_DEPS` (50) more packages (`dep-00`, ...), one
//!    version each and no dependencies, are published; then a project depending on all of
//!    them is installed with the real npm (`BENCH_NPM`, `/usr/bin/npm`) and
//!    `--prefer-online`, `BENCH_NPM_RUNS` (3) times, each with an empty cache and no
//!    `node_modules` or lock file. Reported: the median wall time, npm's own CPU time (the
//!    reaped child's `cutime + cstime`, so node and everything it ran), the server's CPU
//!    time over the same interval, and npm's own count and timing of its HTTP fetches
//!    (`--loglevel=http`), which shows whether npm or the server is the bottleneck.
//!
//! npm only ever talks to this server: it runs with a cleared environment, a temporary
//! HOME, its own user and global config files, a temporary cache, `--audit=false
//! --fund=false` and `npm_config_update_notifier=false`; the registry is the endpoint URL,
//! which must be on 127.0.0.1. Every request and every npm run is bounded in time.
//!
//! Prints a table, then one JSON line with every number. A benchmark, not a test: nothing
//! asserts on timings (a failed request, a wrong body or a failed install is an error).
//!
//! Knobs (environment):
//! - `CODEARTIFACT_LOCAL_BIN`: server binary (default `target/release/codeartifact-local`)
//! - `BENCH_NPM_VERSIONS` (200), `BENCH_CONNECTIONS` (32), `BENCH_WARMUP_SECS` (2),
//!   `BENCH_SECS` (10), `BENCH_CLIENT_THREADS` (1: tokio workers of the load generator)
//! - `BENCH_NPM` (`/usr/bin/npm`), `BENCH_NPM_DEPS` (50), `BENCH_NPM_RUNS` (3; 0 skips the
//!   install phase), `BENCH_NPM_TIMEOUT_SECS` (300, per install)
//! - `BENCH_SERVER_LOG` (`info,access=warn`): `RUST_LOG` for the server (keep the info-level "ready"
//!   line; `warn,codeartifact_local=info,codeartifact_local::app=warn` drops the per-request
//!   lines)

mod support;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use flate2::write::GzEncoder;
use serde_json::{json, Value};
use sha1::Sha1;
use sha2::{Digest, Sha512};

use support::{
    env_or, expect_200, hex, load_rows, loads_json, percentile_f64, read_mem, round3, run_tool,
    BenchEnv, BoxError, Conn, CpuMeter, Endpoint, InstallPhase, InstallRun, InstallTiming,
    LoadSpec, NamedLoad, RepoServer, SeriesResult, ServerTrace, Table, REQUEST_TIMEOUT,
};

const REPOSITORY: &str = "npm-repo";
const PACKAGE: &str = "bench-pkg";
/// What npm sends when it wants the abbreviated ("corgi") packument.
const ACCEPT_ABBREVIATED: &str =
    "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*";
const ACCEPT_FULL: &str = "application/json";
/// The fixed mtime npm gives every tarball entry (1985-10-26T08:15:00Z).
const NPM_MTIME: u64 = 499_162_500;

fn main() {
    support::run_or_exit("npm", run);
}

struct Config {
    env: BenchEnv,
    versions: usize,
    load: LoadSpec,
    client_threads: usize,
    npm: PathBuf,
    deps: usize,
    npm_runs: usize,
    npm_timeout: Duration,
}

fn run() -> Result<(), BoxError> {
    let cfg = Config {
        env: BenchEnv::from_env()?,
        versions: env_or("BENCH_NPM_VERSIONS", 200usize).max(1),
        load: LoadSpec::from_env(REQUEST_TIMEOUT),
        client_threads: env_or("BENCH_CLIENT_THREADS", 1usize).max(1),
        npm: std::env::var_os("BENCH_NPM")
            .map_or_else(|| PathBuf::from("/usr/bin/npm"), PathBuf::from),
        deps: env_or("BENCH_NPM_DEPS", 50usize).clamp(1, 1000),
        npm_runs: env_or("BENCH_NPM_RUNS", 3usize),
        npm_timeout: Duration::from_secs_f64(env_or("BENCH_NPM_TIMEOUT_SECS", 300.0f64).max(1.0)),
    };
    cfg.env.announce("npm", "");

    // 1. Setup.
    let repo = RepoServer::start(
        cfg.env.start_server()?,
        cfg.client_threads,
        cfg.env.clk_tck,
        REPOSITORY,
        "npm",
        "npm",
    )?;

    // 2. Publish.
    let versions: Vec<String> = (0..cfg.versions).map(|i| format!("1.0.{i}")).collect();
    let mut packages = Vec::with_capacity(versions.len());
    for v in &versions {
        packages.push(Package::build(PACKAGE, v, &[])?);
    }
    let publish = publish_all(&repo, &packages)?;
    println!(
        "  published {} versions: {}",
        packages.len(),
        publish.summary()
    );

    // Check what the loads will fetch, once, before loading.
    let check = repo.runtime.block_on(check_documents(&repo, &packages))?;

    // 3./4. Loads.
    let endpoint = &repo.endpoint;
    let packument_target = format!("{}{PACKAGE}", endpoint.path);
    let packument = |accept| vec![npm_get(endpoint, &packument_target, accept)];
    let tarballs: Vec<Vec<u8>> = packages
        .iter()
        .map(|p| npm_get(endpoint, &p.tarball_path(endpoint), "*/*"))
        .collect();
    let mean_tarball =
        packages.iter().map(|p| p.tarball.len()).sum::<usize>() as f64 / packages.len() as f64;
    let loader = repo.loader(&cfg.load);
    let loads = vec![
        loader.run(
            "packument (abbreviated)",
            "packument_abbreviated",
            check.abbreviated_bytes as f64,
            packument(ACCEPT_ABBREVIATED),
        )?,
        loader.run(
            "packument (full)",
            "packument_full",
            check.full_bytes as f64,
            packument(ACCEPT_FULL),
        )?,
        loader.run("tarball", "tarball", mean_tarball, tarballs)?,
    ];
    let after_load = read_mem(repo.pid())?;

    // 5. Cold npm install.
    let install = if cfg.npm_runs > 0 {
        Some(install_phase(&cfg, &repo)?)
    } else {
        None
    };
    let trace = repo.stop(Some(after_load))?;

    print_report(&cfg, &trace, &publish, &check, &loads, install.as_ref());
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Packages and npm requests

/// One version of a package: its tarball and digests, built the way `npm pack` builds them.
struct Package {
    name: String,
    version: String,
    tarball: Vec<u8>,
    integrity: String,
    shasum: String,
    manifest: Value,
}

impl Package {
    fn build(name: &str, version: &str, deps: &[String]) -> Result<Package, BoxError> {
        let dependencies: serde_json::Map<String, Value> = deps
            .iter()
            .map(|d| (d.clone(), Value::String("^1.0.0".to_owned())))
            .collect();
        let mut manifest = json!({
            "name": name,
            "version": version,
            "description": format!("{name}: a package published by the npm bench"),
            "main": "index.js",
            "license": "MIT",
            "keywords": ["bench", "codeartifact-local"],
            "author": "bench <bench@example.invalid>",
            "scripts": { "test": "node index.js" },
        });
        if !dependencies.is_empty() {
            manifest["dependencies"] = Value::Object(dependencies);
        }
        let package_json = serde_json::to_vec_pretty(&manifest)?;
        let index = format!(
            "'use strict';\nmodule.exports = {{ name: {name:?}, version: {version:?} }};\n"
        );
        let readme = format!("# {name}\n\nVersion {version}, published by the npm bench.\n");
        let mut builder =
            tar::Builder::new(GzEncoder::new(Vec::new(), flate2::Compression::default()));
        for (path, data) in [
            ("package/package.json", package_json.as_slice()),
            ("package/index.js", index.as_bytes()),
            ("package/README.md", readme.as_bytes()),
        ] {
            let mut header = tar::Header::new_ustar();
            header.set_path(path)?;
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(NPM_MTIME);
            header.set_entry_type(tar::EntryType::Regular);
            header.set_cksum();
            builder.append(&header, data)?;
        }
        let tarball = builder.into_inner()?.finish()?;
        let integrity = format!(
            "sha512-{}",
            base64::engine::general_purpose::STANDARD.encode(Sha512::digest(&tarball))
        );
        let shasum = hex(&Sha1::digest(&tarball));
        Ok(Package {
            name: name.to_owned(),
            version: version.to_owned(),
            tarball,
            integrity,
            shasum,
            manifest,
        })
    }

    fn file_name(&self) -> String {
        format!("{}-{}.tgz", self.name, self.version)
    }

    fn tarball_path(&self, endpoint: &Endpoint) -> String {
        format!("{}{}/-/{}", endpoint.path, self.name, self.file_name())
    }

    /// The body of `npm publish`: the manifest with npm's additions, one version, one
    /// attachment.
    fn publish_body(&self, endpoint: &Endpoint) -> Result<Vec<u8>, BoxError> {
        let mut version = self.manifest.clone();
        version["_id"] = json!(format!("{}@{}", self.name, self.version));
        version["_nodeVersion"] = json!("20.0.0");
        version["_npmVersion"] = json!("11.0.0");
        version["readme"] = json!("ERROR: No README data found!");
        version["dist"] = json!({
            "integrity": self.integrity,
            "shasum": self.shasum,
            "tarball": format!("{}{}/-/{}", endpoint.url, self.name, self.file_name()),
        });
        let body = json!({
            "_id": self.name,
            "name": self.name,
            "description": self.manifest["description"],
            "dist-tags": { "latest": self.version },
            "versions": { self.version.clone(): version },
            "access": null,
            "_attachments": {
                self.file_name(): {
                    "content_type": "application/octet-stream",
                    "data": base64::engine::general_purpose::STANDARD.encode(&self.tarball),
                    "length": self.tarball.len(),
                }
            },
        });
        Ok(serde_json::to_vec(&body)?)
    }
}

/// A GET as npm sends it, with the token.
fn npm_get(endpoint: &Endpoint, target: &str, accept: &str) -> Vec<u8> {
    format!(
        "GET {target} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nAccept: {accept}\r\n\
         User-Agent: npm/11 node/v20 linux x64 workspaces/false (codeartifact-local bench)\r\n\
         npm-command: install\r\n\r\n",
        endpoint.host, endpoint.token
    )
    .into_bytes()
}

/// `PUT {endpoint}{name}` with the publish body.
fn npm_put(endpoint: &Endpoint, package: &Package) -> Result<Vec<u8>, BoxError> {
    let body = package.publish_body(endpoint)?;
    let mut request = format!(
        "PUT {}{} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nAccept: */*\r\n\
         npm-command: publish\r\n\r\n",
        endpoint.path,
        package.name,
        endpoint.host,
        endpoint.token,
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    Ok(request)
}

// ---------------------------------------------------------------------------------------
// Publish

/// Publishes every package in order on one connection; request bodies are built first so
/// only the exchange is timed.
fn publish_all(repo: &RepoServer, packages: &[Package]) -> Result<SeriesResult, BoxError> {
    let requests = packages
        .iter()
        .map(|p| {
            let what = format!("publish {}@{}", p.name, p.version);
            Ok((what, npm_put(&repo.endpoint, p)?))
        })
        .collect::<Result<Vec<_>, BoxError>>()?;
    repo.series(&requests)
}

/// Sizes of the documents the loads fetch, after checking them.
struct DocumentCheck {
    abbreviated_bytes: usize,
    full_bytes: usize,
    tarball_ok: bool,
}

/// Fetches both packument forms and the first and last tarballs once: every published
/// version must be listed with the integrity we computed, `latest` must be the last one,
/// and a tarball must come back byte for byte.
async fn check_documents(
    repo: &RepoServer,
    packages: &[Package],
) -> Result<DocumentCheck, BoxError> {
    let endpoint = &repo.endpoint;
    let mut conn = Conn::connect(repo.addr()).await?;
    let target = format!("{}{PACKAGE}", endpoint.path);
    let mut sizes = Vec::new();
    for (accept, form) in [(ACCEPT_ABBREVIATED, "abbreviated"), (ACCEPT_FULL, "full")] {
        let body = expect_200(&mut conn, &npm_get(endpoint, &target, accept), form).await?;
        let doc: Value = serde_json::from_slice(&body)?;
        let listed = doc["versions"].as_object().map_or(0, serde_json::Map::len);
        if listed != packages.len() {
            return Err(format!(
                "{form} packument lists {listed} versions, {} were published",
                packages.len()
            )
            .into());
        }
        let last = packages.last().expect("at least one version");
        if doc["dist-tags"]["latest"].as_str() != Some(last.version.as_str()) {
            return Err(format!(
                "{form} packument: latest is {}, expected {}",
                doc["dist-tags"]["latest"], last.version
            )
            .into());
        }
        for p in packages {
            let dist = &doc["versions"][&p.version]["dist"];
            if dist["integrity"].as_str() != Some(p.integrity.as_str())
                || dist["shasum"].as_str() != Some(p.shasum.as_str())
            {
                return Err(
                    format!("{form} packument: wrong dist for {}: {dist}", p.version).into(),
                );
            }
            let expected_url = format!("{}{}/-/{}", endpoint.url, p.name, p.file_name());
            if dist["tarball"].as_str() != Some(expected_url.as_str()) {
                return Err(format!(
                    "{form} packument: tarball URL {} for {}, expected {expected_url}",
                    dist["tarball"], p.version
                )
                .into());
            }
        }
        sizes.push(body.len());
    }
    for p in [packages.first(), packages.last()].into_iter().flatten() {
        let body = expect_200(
            &mut conn,
            &npm_get(endpoint, &p.tarball_path(endpoint), "*/*"),
            &p.file_name(),
        )
        .await?;
        if body != p.tarball {
            return Err(format!(
                "{} came back different from what was published",
                p.file_name()
            )
            .into());
        }
    }
    Ok(DocumentCheck {
        abbreviated_bytes: sizes[0],
        full_bytes: sizes[1],
        tarball_ok: true,
    })
}

// ---------------------------------------------------------------------------------------
// npm install

/// npm's own account of an install's HTTP fetches.
struct Fetches {
    fetches: usize,
    fetch_non_2xx: usize,
    fetch_median_ms: f64,
    fetch_max_ms: f64,
    fetch_sum_ms: f64,
}

/// The environment npm runs in: nothing inherited, everything under `dir`.
fn npm_command(cfg: &Config, dir: &Path, home: &Path, cache: &Path) -> Command {
    let bin_dir = cfg.npm.parent().unwrap_or(Path::new("/usr/bin"));
    let mut cmd = Command::new(&cfg.npm);
    cmd.env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin_dir.display()))
        .env("HOME", home)
        .env("TMPDIR", dir.join("tmp"))
        .env("LANG", "C.UTF-8")
        .env("NO_UPDATE_NOTIFIER", "1")
        .env("npm_config_userconfig", dir.join("npmrc"))
        .env("npm_config_globalconfig", dir.join("global-npmrc"))
        .env("npm_config_cache", cache)
        .env("npm_config_update_notifier", "false")
        .env("npm_config_audit", "false")
        .env("npm_config_fund", "false")
        .stdin(Stdio::null());
    cmd
}

/// npm's `--loglevel=http` lines: `npm http fetch GET 200 <url> 12ms (cache miss)`.
/// Returns (count, non-2xx, milliseconds of each); fails if any URL is not ours.
fn parse_fetches(stderr: &str, endpoint: &Endpoint) -> Result<(usize, usize, Vec<f64>), BoxError> {
    let mut count = 0;
    let mut non_2xx = 0;
    let mut ms = Vec::new();
    for line in stderr.lines() {
        let Some(rest) = line.split("http fetch ").nth(1) else {
            continue;
        };
        let words: Vec<&str> = rest.split_whitespace().collect();
        count += 1;
        if let Some(url) = words.get(2) {
            if url.starts_with("http") && !url.starts_with(&endpoint.url) {
                return Err(format!("npm fetched {url}, which is not our endpoint").into());
            }
        }
        if !words.get(1).is_some_and(|s| s.starts_with('2')) {
            non_2xx += 1;
        }
        if let Some(t) = words
            .get(3)
            .and_then(|t| t.strip_suffix("ms"))
            .and_then(|t| t.parse::<f64>().ok())
        {
            ms.push(t);
        }
    }
    Ok((count, non_2xx, ms))
}

fn install_phase(cfg: &Config, repo: &RepoServer) -> Result<InstallPhase<Fetches>, BoxError> {
    let (endpoint, clk_tck) = (&repo.endpoint, repo.clk_tck);
    if !cfg.npm.is_file() {
        return Err(format!(
            "npm not found at {} (set BENCH_NPM, or BENCH_NPM_RUNS=0 to skip)",
            cfg.npm.display()
        )
        .into());
    }
    // The dependencies: dep-00..dep-NN, 1.0.0 each.
    let width = if cfg.deps > 100 { 3 } else { 2 };
    let names: Vec<String> = (0..cfg.deps).map(|i| format!("dep-{i:0width$}")).collect();
    let deps = names
        .iter()
        .map(|n| Package::build(n, "1.0.0", &[]))
        .collect::<Result<Vec<_>, _>>()?;
    let published = publish_all(repo, &deps)?;
    println!(
        "  published {} dependencies in {:.2} s",
        deps.len(),
        published.seconds
    );

    let dir = tempfile::tempdir()?;
    std::fs::create_dir_all(dir.path().join("tmp"))?;
    std::fs::create_dir_all(dir.path().join("logs"))?;
    let auth_key = endpoint.url.trim_start_matches("http:");
    let mut npmrc = std::fs::File::create(dir.path().join("npmrc"))?;
    writeln!(npmrc, "registry={}", endpoint.url)?;
    writeln!(npmrc, "{auth_key}:_authToken={}", endpoint.token)?;
    writeln!(
        npmrc,
        "audit=false\nfund=false\nupdate-notifier=false\nprogress=false"
    )?;
    drop(npmrc);
    std::fs::write(dir.path().join("global-npmrc"), "")?;

    // Baseline: node + npm startup with nothing to do.
    let home = dir.path().join("home-version");
    std::fs::create_dir_all(&home)?;
    let mut version_cmd = npm_command(cfg, dir.path(), &home, &dir.path().join("cache-version"));
    version_cmd.arg("--version");
    let version_run = run_tool(
        version_cmd,
        &dir.path().join("logs"),
        "npm-version",
        Duration::from_secs(60),
        clk_tck,
    )?;

    let dependencies: serde_json::Map<String, Value> = names
        .iter()
        .map(|n| (n.clone(), Value::String("^1.0.0".to_owned())))
        .collect();
    let project_json = serde_json::to_vec_pretty(&json!({
        "name": "bench-project",
        "version": "1.0.0",
        "private": true,
        "dependencies": dependencies,
    }))?;

    let mut runs = Vec::new();
    for run in 0..cfg.npm_runs {
        // Fresh project, HOME and cache: a cold install.
        let project = dir.path().join(format!("project-{run}"));
        let home = dir.path().join(format!("home-{run}"));
        let cache = dir.path().join(format!("cache-{run}"));
        for d in [&project, &home, &cache] {
            std::fs::create_dir_all(d)?;
        }
        std::fs::write(project.join("package.json"), &project_json)?;
        let mut cmd = npm_command(cfg, dir.path(), &home, &cache);
        cmd.current_dir(&project).args([
            "install",
            "--prefer-online",
            "--audit=false",
            "--fund=false",
            "--no-update-notifier",
            "--ignore-scripts",
            "--no-progress",
            "--loglevel=http",
            "--registry",
            &endpoint.url,
        ]);
        let meter = CpuMeter::start(repo.pid())?;
        let result = run_tool(
            cmd,
            &dir.path().join("logs"),
            &format!("install-{run}"),
            cfg.npm_timeout,
            clk_tck,
        )?;
        let (server_cpu_s, _) = meter.read(clk_tck)?;
        for (name, package) in names.iter().zip(&deps) {
            let installed = project.join("node_modules").join(name).join("package.json");
            let text = std::fs::read_to_string(&installed)
                .map_err(|e| format!("install {run}: {} missing: {e}", installed.display()))?;
            let manifest: Value = serde_json::from_str(&text)?;
            if manifest["version"].as_str() != Some(package.version.as_str()) {
                return Err(
                    format!("install {run}: {name} has version {}", manifest["version"]).into(),
                );
            }
        }
        let (fetches, fetch_non_2xx, mut ms) = parse_fetches(&result.stderr, endpoint)?;
        ms.sort_by(f64::total_cmp);
        let r = InstallRun {
            timing: InstallTiming {
                wall_s: result.wall_s,
                tool_cpu_s: result.cpu_s,
                server_cpu_s,
            },
            log: Fetches {
                fetches,
                fetch_non_2xx,
                fetch_median_ms: percentile_f64(&ms, 500),
                fetch_max_ms: ms.last().copied().unwrap_or(0.0),
                fetch_sum_ms: ms.iter().sum(),
            },
        };
        println!(
            "  npm install {}: {:.2} s wall, npm CPU {:.2} s, server CPU {:.3} s, {} fetches (median {:.0} ms)",
            run + 1,
            r.timing.wall_s,
            r.timing.tool_cpu_s,
            r.timing.server_cpu_s,
            r.log.fetches,
            r.log.fetch_median_ms
        );
        runs.push(r);
        // Keep the temp dir small between runs.
        let _ = std::fs::remove_dir_all(&cache);
        let _ = std::fs::remove_dir_all(project.join("node_modules"));
    }
    Ok(InstallPhase::new(
        "npm",
        deps.len(),
        published.seconds,
        version_run.stdout.trim().to_owned(),
        version_run.wall_s,
        runs,
    ))
}

// ---------------------------------------------------------------------------------------
// Report

fn print_report(
    cfg: &Config,
    trace: &ServerTrace,
    publish: &SeriesResult,
    check: &DocumentCheck,
    loads: &[NamedLoad],
    install: Option<&InstallPhase<Fetches>>,
) {
    let kib = |b: f64| b / 1024.0;
    let table = Table {
        name_width: 52,
        value_width: 16,
    };
    table.header();
    let row = |name: &str, value: String| table.row(name, value);
    publish.rows(
        &table,
        "publish",
        &format!("versions of {PACKAGE}"),
        "version",
    );
    row(
        "packument size abbreviated / full",
        format!(
            "{:.1} / {:.1} KiB",
            kib(check.abbreviated_bytes as f64),
            kib(check.full_bytes as f64)
        ),
    );
    load_rows(&table, loads, cfg.load.connections);
    if let Some(install) = install {
        let m = install.median_run();
        install.head_rows(
            &table,
            &format!(
                "npm install cold, {} deps, median of {}",
                install.deps,
                install.runs.len()
            ),
            "node",
        );
        row(
            "  npm HTTP fetches (non-2xx)",
            format!("{} ({})", m.log.fetches, m.log.fetch_non_2xx),
        );
        row(
            "  npm fetch time median / max",
            format!(
                "{:.0} / {:.0} ms",
                m.log.fetch_median_ms, m.log.fetch_max_ms
            ),
        );
        install.tail_rows(
            &table,
            &format!("publish {} deps (not timed in install)", install.deps),
        );
    }
    trace.rows(&table);

    let install_json = install.map(|i| {
        i.json("deps", "dep_publish_s", |r| {
            json!({
                "fetches": r.fetches,
                "fetch_non_2xx": r.fetch_non_2xx,
                "fetch_median_ms": round3(r.fetch_median_ms),
                "fetch_max_ms": round3(r.fetch_max_ms),
                "fetch_sum_ms": round3(r.fetch_sum_ms),
            })
        })
    });
    let mut json = json!({
        "bench": "npm",
        "server_log": cfg.env.server_log,
        "cpus": cfg.env.cpus,
        "connections": cfg.load.connections,
        "client_threads": cfg.client_threads,
        "warmup_s": cfg.load.warmup.as_secs_f64(),
        "publish": publish.json(),
        "packument_bytes": { "abbreviated": check.abbreviated_bytes, "full": check.full_bytes },
        "tarball_roundtrip_ok": check.tarball_ok,
        "loads": loads_json(loads),
        "install": install_json,
    });
    trace.add_json(&mut json);
    println!();
    println!("{json}");
}
