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
//! - `BENCH_SERVER_LOG` (`info`): `RUST_LOG` for the server (keep the info-level "ready"
//!   line; `warn,codeartifact_local=info,codeartifact_local::app=warn` drops the per-request
//!   lines)

mod support;

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use flate2::write::GzEncoder;
use serde_json::{json, Value};
use sha1::Sha1;
use sha2::{Digest, Sha512};

use support::{
    clock_ticks_per_second, env_or, read_children_cpu, read_cpu, read_mem, round3, server_bin,
    signed_request, BoxError, Conn, Server,
};

const DOMAIN: &str = "bench";
const REPOSITORY: &str = "npm-repo";
const PACKAGE: &str = "bench-pkg";
/// What npm sends when it wants the abbreviated ("corgi") packument.
const ACCEPT_ABBREVIATED: &str =
    "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*";
const ACCEPT_FULL: &str = "application/json";
/// The fixed mtime npm gives every tarball entry (1985-10-26T08:15:00Z).
const NPM_MTIME: u64 = 499_162_500;
/// Bound on any single request the bench makes.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

fn main() {
    if let Err(e) = run() {
        eprintln!("npm bench failed: {e}");
        std::process::exit(1);
    }
}

struct Config {
    bin: PathBuf,
    versions: usize,
    connections: usize,
    warmup: Duration,
    measure: Duration,
    client_threads: usize,
    npm: PathBuf,
    deps: usize,
    npm_runs: usize,
    npm_timeout: Duration,
    server_log: String,
}

/// The repository endpoint and what a client needs to use it.
struct Endpoint {
    /// `http://127.0.0.1:PORT/npm/d/bench-000000000000/npm-repo/`
    url: String,
    /// The path part of `url` (starts and ends with `/`).
    path: String,
    /// The `Host` header value.
    host: String,
    token: String,
}

fn run() -> Result<(), BoxError> {
    let cfg = Config {
        bin: server_bin()?,
        versions: env_or("BENCH_NPM_VERSIONS", 200usize).max(1),
        connections: env_or("BENCH_CONNECTIONS", 32usize).max(1),
        warmup: Duration::from_secs_f64(env_or("BENCH_WARMUP_SECS", 2.0f64).max(0.0)),
        measure: Duration::from_secs_f64(env_or("BENCH_SECS", 10.0f64).max(0.1)),
        client_threads: env_or("BENCH_CLIENT_THREADS", 1usize).max(1),
        npm: std::env::var_os("BENCH_NPM")
            .map_or_else(|| PathBuf::from("/usr/bin/npm"), PathBuf::from),
        deps: env_or("BENCH_NPM_DEPS", 50usize).clamp(1, 1000),
        npm_runs: env_or("BENCH_NPM_RUNS", 3usize),
        npm_timeout: Duration::from_secs_f64(env_or("BENCH_NPM_TIMEOUT_SECS", 300.0f64).max(1.0)),
        server_log: std::env::var("BENCH_SERVER_LOG").unwrap_or_else(|_| "info".to_owned()),
    };
    let clk_tck = clock_ticks_per_second();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "npm bench: {} (server RUST_LOG={}, {cpus} CPUs)",
        cfg.bin.display(),
        cfg.server_log
    );

    let mut server = Server::start(&cfg.bin, &cfg.server_log)?;
    let pid = server.pid();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cfg.client_threads)
        .enable_all()
        .build()?;

    // 1. Setup.
    let endpoint = runtime.block_on(setup(server.addr))?;
    println!("  endpoint {}", endpoint.url);
    let idle = read_mem(pid)?;

    // 2. Publish.
    let versions: Vec<String> = (0..cfg.versions).map(|i| format!("1.0.{i}")).collect();
    let mut packages = Vec::with_capacity(versions.len());
    for v in &versions {
        packages.push(Package::build(PACKAGE, v, &[])?);
    }
    let publish = runtime.block_on(publish_all(&endpoint, server.addr, &packages, pid, clk_tck))?;
    println!(
        "  published {} versions: {:.1}/s (p50 {:.2} ms, first tenth {:.2} ms, last tenth {:.2} ms)",
        packages.len(),
        publish.rate,
        publish.p50_ms,
        publish.first_tenth_ms,
        publish.last_tenth_ms
    );

    // Check what the loads will fetch, once, before loading.
    let check = runtime.block_on(check_documents(&endpoint, server.addr, &packages))?;

    // 3./4. Loads.
    let packument_target = format!("{}{PACKAGE}", endpoint.path);
    let mut loads = Vec::new();
    for (label, accept, size) in [
        (
            "packument (abbreviated)",
            ACCEPT_ABBREVIATED,
            check.abbreviated_bytes,
        ),
        ("packument (full)", ACCEPT_FULL, check.full_bytes),
    ] {
        let requests = vec![npm_get(&endpoint, &packument_target, accept)];
        let load = runtime.block_on(load_phase(&cfg, server.addr, requests, pid, clk_tck))?;
        println!(
            "  {label}: {:.0} req/s, p50 {:.3} ms, p99 {:.3} ms, non-200 {}",
            load.rps,
            load.p50_us / 1e3,
            load.p99_us / 1e3,
            load.non_200
        );
        loads.push((label, size as f64, load));
    }
    let tarball_requests: Vec<Vec<u8>> = packages
        .iter()
        .map(|p| npm_get(&endpoint, &p.tarball_path(&endpoint), "*/*"))
        .collect();
    let mean_tarball =
        packages.iter().map(|p| p.tarball.len()).sum::<usize>() as f64 / packages.len() as f64;
    let load = runtime.block_on(load_phase(
        &cfg,
        server.addr,
        tarball_requests,
        pid,
        clk_tck,
    ))?;
    println!(
        "  tarball: {:.0} req/s, p50 {:.3} ms, p99 {:.3} ms, non-200 {}",
        load.rps,
        load.p50_us / 1e3,
        load.p99_us / 1e3,
        load.non_200
    );
    loads.push(("tarball", mean_tarball, load));
    let after_load = read_mem(pid)?;

    // 5. Cold npm install.
    let install = if cfg.npm_runs > 0 {
        Some(install_phase(
            &cfg,
            &runtime,
            &endpoint,
            server.addr,
            pid,
            clk_tck,
        )?)
    } else {
        None
    };
    drop(runtime);
    let end = read_mem(pid)?;
    let shutdown = server.stop_ref()?;

    print_report(
        &cfg,
        cpus,
        &idle,
        &after_load,
        &end,
        shutdown,
        &publish,
        &check,
        &loads,
        install.as_ref(),
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Control plane

async fn control(conn: &mut Conn, method: &str, path: &str, host: &str) -> Result<Value, BoxError> {
    let body: &[u8] = if method == "POST" { b"{}" } else { b"" };
    let request = signed_request(method, path, host, body)?;
    let reply = tokio::time::timeout(REQUEST_TIMEOUT, conn.roundtrip(&request, true))
        .await
        .map_err(|_| format!("{method} {path}: no answer within {REQUEST_TIMEOUT:?}"))??;
    if reply.status != 200 {
        return Err(format!(
            "{method} {path}: HTTP {}: {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        )
        .into());
    }
    Ok(serde_json::from_slice(&reply.body)?)
}

async fn setup(addr: SocketAddr) -> Result<Endpoint, BoxError> {
    let host = addr.to_string();
    let mut conn = Conn::connect(addr).await?;
    control(
        &mut conn,
        "POST",
        &format!("/v1/domain?domain={DOMAIN}"),
        &host,
    )
    .await?;
    control(
        &mut conn,
        "POST",
        &format!("/v1/repository?domain={DOMAIN}&repository={REPOSITORY}"),
        &host,
    )
    .await?;
    let endpoint = control(
        &mut conn,
        "GET",
        &format!("/v1/repository/endpoint?domain={DOMAIN}&repository={REPOSITORY}&format=npm"),
        &host,
    )
    .await?;
    let url = endpoint["repositoryEndpoint"]
        .as_str()
        .ok_or("GetRepositoryEndpoint: no repositoryEndpoint")?
        .to_owned();
    // npm is pointed at this URL: it must be this server and nothing else.
    let prefix = format!("http://{host}/");
    let Some(rest) = url.strip_prefix(&prefix) else {
        return Err(
            format!("the npm endpoint {url} is not on {prefix}; refusing to run npm").into(),
        );
    };
    if !url.ends_with('/') {
        return Err(format!("the npm endpoint {url} does not end with /").into());
    }
    let path = format!("/{rest}");
    let token = control(
        &mut conn,
        "POST",
        &format!("/v1/authorization-token?domain={DOMAIN}"),
        &host,
    )
    .await?["authorizationToken"]
        .as_str()
        .ok_or("GetAuthorizationToken: no authorizationToken")?
        .to_owned();
    Ok(Endpoint {
        url,
        path,
        host,
        token,
    })
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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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

async fn expect_200(conn: &mut Conn, request: &[u8], what: &str) -> Result<Vec<u8>, BoxError> {
    let reply = tokio::time::timeout(REQUEST_TIMEOUT, conn.roundtrip(request, true))
        .await
        .map_err(|_| format!("{what}: no answer within {REQUEST_TIMEOUT:?}"))??;
    if reply.status != 200 {
        return Err(format!(
            "{what}: HTTP {}: {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        )
        .into());
    }
    Ok(reply.body)
}

// ---------------------------------------------------------------------------------------
// Publish

struct PublishResult {
    count: usize,
    seconds: f64,
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    first_tenth_ms: f64,
    last_tenth_ms: f64,
    mean_body_bytes: f64,
    server_cpu_s: f64,
}

/// Publishes every package in order on one connection; request bodies are built first so
/// only the exchange is timed.
async fn publish_all(
    endpoint: &Endpoint,
    addr: SocketAddr,
    packages: &[Package],
    pid: u32,
    clk_tck: f64,
) -> Result<PublishResult, BoxError> {
    let requests = packages
        .iter()
        .map(|p| npm_put(endpoint, p))
        .collect::<Result<Vec<_>, _>>()?;
    let mean_body_bytes =
        requests.iter().map(Vec::len).sum::<usize>() as f64 / requests.len().max(1) as f64;
    let mut conn = Conn::connect(addr).await?;
    let server_pid = pid.to_string();
    let (cpu_before, _) = read_cpu(&server_pid)?;
    let started = Instant::now();
    let mut latencies = Vec::with_capacity(requests.len());
    for (request, package) in requests.iter().zip(packages) {
        let sent = Instant::now();
        let what = format!("publish {}@{}", package.name, package.version);
        expect_200(&mut conn, request, &what).await?;
        latencies.push(sent.elapsed().as_secs_f64() * 1e3);
    }
    let seconds = started.elapsed().as_secs_f64();
    let (cpu_after, _) = read_cpu(&server_pid)?;
    let tenth = (latencies.len() / 10).max(1);
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len().max(1) as f64;
    let first_tenth_ms = mean(&latencies[..tenth]);
    let last_tenth_ms = mean(&latencies[latencies.len() - tenth..]);
    let mut sorted = latencies.clone();
    sorted.sort_by(f64::total_cmp);
    Ok(PublishResult {
        count: latencies.len(),
        seconds,
        rate: latencies.len() as f64 / seconds,
        p50_ms: percentile_f64(&sorted, 500),
        p99_ms: percentile_f64(&sorted, 990),
        max_ms: sorted.last().copied().unwrap_or(0.0),
        first_tenth_ms,
        last_tenth_ms,
        mean_body_bytes,
        server_cpu_s: (cpu_after - cpu_before) as f64 / clk_tck,
    })
}

/// Nearest-rank percentile of sorted values; `per_mille` is 500 for p50, 990 for p99.
fn percentile_f64(sorted: &[f64], per_mille: usize) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (per_mille * sorted.len()).div_ceil(1000);
    sorted[rank.clamp(1, sorted.len()) - 1]
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
    endpoint: &Endpoint,
    addr: SocketAddr,
    packages: &[Package],
) -> Result<DocumentCheck, BoxError> {
    let mut conn = Conn::connect(addr).await?;
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
// Load

struct LoadResult {
    requests: u64,
    window_s: f64,
    rps: f64,
    p50_us: f64,
    p99_us: f64,
    max_us: f64,
    non_200: u64,
    io_errors: u64,
    first_failure: Option<String>,
    server_cpu_s: f64,
    server_cpu_us_per_req: f64,
    client_cpu_s: f64,
}

#[derive(Default)]
struct ConnStats {
    latencies_us: Vec<u32>,
    non_200: u64,
    io_errors: u64,
    first_failure: Option<String>,
}

/// Keep-alive connections sending `requests` (cycled, each connection starting at its own
/// offset) back to back; latencies of requests that complete inside the window count.
async fn load_phase(
    cfg: &Config,
    addr: SocketAddr,
    requests: Vec<Vec<u8>>,
    pid: u32,
    clk_tck: f64,
) -> Result<LoadResult, BoxError> {
    let requests = Arc::new(requests);
    let start = tokio::time::Instant::now();
    let window_start = start + cfg.warmup;
    let window_end = window_start + cfg.measure;
    let mut tasks = Vec::with_capacity(cfg.connections);
    for i in 0..cfg.connections {
        tasks.push(tokio::spawn(connection_loop(
            addr,
            Arc::clone(&requests),
            i * 7,
            window_start,
            window_end,
        )));
    }
    let server_pid = pid.to_string();
    tokio::time::sleep_until(window_start).await;
    let measured_from = Instant::now();
    let (server_before, _) = read_cpu(&server_pid)?;
    let (client_before, _) = read_cpu("self")?;
    tokio::time::sleep_until(window_end).await;
    let (server_after, _) = read_cpu(&server_pid)?;
    let (client_after, _) = read_cpu("self")?;
    let window_s = measured_from.elapsed().as_secs_f64();

    let mut all = Vec::new();
    let (mut non_200, mut io_errors, mut first_failure) = (0, 0, None);
    for task in tasks {
        let stats = task.await?;
        all.extend_from_slice(&stats.latencies_us);
        non_200 += stats.non_200;
        io_errors += stats.io_errors;
        if first_failure.is_none() {
            first_failure = stats.first_failure;
        }
    }
    all.sort_unstable();
    let pct = |per_mille: usize| -> f64 {
        if all.is_empty() {
            return 0.0;
        }
        let rank = (per_mille * all.len()).div_ceil(1000);
        f64::from(all[rank.clamp(1, all.len()) - 1])
    };
    let count = all.len() as u64;
    let server_cpu_s = (server_after - server_before) as f64 / clk_tck;
    Ok(LoadResult {
        requests: count,
        window_s,
        rps: count as f64 / window_s,
        p50_us: pct(500),
        p99_us: pct(990),
        max_us: all.last().map_or(0.0, |&m| f64::from(m)),
        non_200,
        io_errors,
        first_failure,
        server_cpu_s,
        server_cpu_us_per_req: if count == 0 {
            0.0
        } else {
            server_cpu_s * 1e6 / count as f64
        },
        client_cpu_s: (client_after - client_before) as f64 / clk_tck,
    })
}

async fn connection_loop(
    addr: SocketAddr,
    requests: Arc<Vec<Vec<u8>>>,
    offset: usize,
    window_start: tokio::time::Instant,
    window_end: tokio::time::Instant,
) -> ConnStats {
    let mut stats = ConnStats {
        latencies_us: Vec::with_capacity(64 * 1024),
        ..ConnStats::default()
    };
    let mut conn: Option<Conn> = None;
    let mut next = offset;
    while tokio::time::Instant::now() < window_end {
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match Conn::connect(addr).await {
                Ok(c) => conn.insert(c),
                Err(e) => {
                    stats.io_errors += 1;
                    stats.first_failure.get_or_insert(format!("connect: {e}"));
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let request = &requests[next % requests.len()];
        next += 1;
        let sent = Instant::now();
        let result = tokio::time::timeout(REQUEST_TIMEOUT, c.roundtrip(request, false)).await;
        let took = sent.elapsed();
        let now = tokio::time::Instant::now();
        let in_window = now >= window_start && now <= window_end;
        match result {
            Ok(Ok(reply)) => {
                if in_window {
                    stats
                        .latencies_us
                        .push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
                    if reply.status != 200 {
                        stats.non_200 += 1;
                        stats
                            .first_failure
                            .get_or_insert(format!("HTTP {}", reply.status));
                    }
                }
            }
            Ok(Err(e)) => {
                if in_window {
                    stats.io_errors += 1;
                }
                stats.first_failure.get_or_insert(e.to_string());
                conn = None;
            }
            Err(_) => {
                stats.io_errors += 1;
                stats
                    .first_failure
                    .get_or_insert(format!("no answer within {REQUEST_TIMEOUT:?}"));
                conn = None;
            }
        }
    }
    stats
}

// ---------------------------------------------------------------------------------------
// npm install

struct InstallRun {
    wall_s: f64,
    npm_cpu_s: f64,
    server_cpu_s: f64,
    fetches: usize,
    fetch_non_2xx: usize,
    fetch_median_ms: f64,
    fetch_max_ms: f64,
    fetch_sum_ms: f64,
}

struct InstallResult {
    deps: usize,
    dep_publish_s: f64,
    npm_version: String,
    npm_version_s: f64,
    runs: Vec<InstallRun>,
    median: usize,
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

/// Runs `cmd` with stdout and stderr to files, killing it after `timeout`. Returns the wall
/// time, npm's CPU time (children's, after reaping) and its stderr.
fn run_bounded(
    mut cmd: Command,
    out_dir: &Path,
    label: &str,
    timeout: Duration,
    clk_tck: f64,
) -> Result<(f64, f64, String, String), BoxError> {
    let stdout_path = out_dir.join(format!("{label}.stdout"));
    let stderr_path = out_dir.join(format!("{label}.stderr"));
    cmd.stdout(std::fs::File::create(&stdout_path)?)
        .stderr(std::fs::File::create(&stderr_path)?);
    let cpu_before = read_children_cpu()?;
    let started = Instant::now();
    let mut child = cmd.spawn()?;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{label}: npm did not finish within {timeout:?}").into());
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let wall_s = started.elapsed().as_secs_f64();
    let cpu_s = (read_children_cpu()? - cpu_before) as f64 / clk_tck;
    let stdout = std::fs::read_to_string(&stdout_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    if !status.success() {
        let tail: Vec<&str> = stderr.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!("{label}: npm exited with {status}:\n{}", tail.join("\n")).into());
    }
    Ok((wall_s, cpu_s, stdout, stderr))
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

fn install_phase(
    cfg: &Config,
    runtime: &tokio::runtime::Runtime,
    endpoint: &Endpoint,
    addr: SocketAddr,
    pid: u32,
    clk_tck: f64,
) -> Result<InstallResult, BoxError> {
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
    let published = runtime.block_on(publish_all(endpoint, addr, &deps, pid, clk_tck))?;
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
    let (npm_version_s, _, npm_version, _) = run_bounded(
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

    let server_pid = pid.to_string();
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
        let (server_before, _) = read_cpu(&server_pid)?;
        let (wall_s, npm_cpu_s, _, stderr) = run_bounded(
            cmd,
            &dir.path().join("logs"),
            &format!("install-{run}"),
            cfg.npm_timeout,
            clk_tck,
        )?;
        let (server_after, _) = read_cpu(&server_pid)?;
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
        let (fetches, fetch_non_2xx, mut ms) = parse_fetches(&stderr, endpoint)?;
        ms.sort_by(f64::total_cmp);
        let r = InstallRun {
            wall_s,
            npm_cpu_s,
            server_cpu_s: (server_after - server_before) as f64 / clk_tck,
            fetches,
            fetch_non_2xx,
            fetch_median_ms: percentile_f64(&ms, 500),
            fetch_max_ms: ms.last().copied().unwrap_or(0.0),
            fetch_sum_ms: ms.iter().sum(),
        };
        println!(
            "  npm install {}: {:.2} s wall, npm CPU {:.2} s, server CPU {:.3} s, {} fetches (median {:.0} ms)",
            run + 1,
            r.wall_s,
            r.npm_cpu_s,
            r.server_cpu_s,
            r.fetches,
            r.fetch_median_ms
        );
        runs.push(r);
        // Keep the temp dir small between runs.
        let _ = std::fs::remove_dir_all(&cache);
        let _ = std::fs::remove_dir_all(project.join("node_modules"));
    }
    let mut order: Vec<usize> = (0..runs.len()).collect();
    order.sort_by(|&a, &b| runs[a].wall_s.total_cmp(&runs[b].wall_s));
    let median = order[order.len() / 2];
    Ok(InstallResult {
        deps: deps.len(),
        dep_publish_s: published.seconds,
        npm_version: npm_version.trim().to_owned(),
        npm_version_s,
        runs,
        median,
    })
}

// ---------------------------------------------------------------------------------------
// Report

#[allow(clippy::too_many_arguments)]
fn print_report(
    cfg: &Config,
    cpus: usize,
    idle: &support::Mem,
    after_load: &support::Mem,
    end: &support::Mem,
    shutdown: Duration,
    publish: &PublishResult,
    check: &DocumentCheck,
    loads: &[(&str, f64, LoadResult)],
    install: Option<&InstallResult>,
) {
    let kib = |b: f64| b / 1024.0;
    println!();
    println!("{:<52} {:>16}", "metric", "value");
    println!("{}", "-".repeat(69));
    let row = |name: &str, value: String| println!("{name:<52} {value:>16}");
    row(
        &format!("publish: {} versions of {PACKAGE}", publish.count),
        format!("{:.2} s", publish.seconds),
    );
    row("publish rate", format!("{:.1} /s", publish.rate));
    row("publish latency p50", format!("{:.2} ms", publish.p50_ms));
    row("publish latency p99", format!("{:.2} ms", publish.p99_ms));
    row("publish latency max", format!("{:.2} ms", publish.max_ms));
    row(
        "publish mean, first tenth / last tenth",
        format!(
            "{:.2} / {:.2} ms",
            publish.first_tenth_ms, publish.last_tenth_ms
        ),
    );
    row(
        "publish request body (mean)",
        format!("{:.1} KiB", kib(publish.mean_body_bytes)),
    );
    row(
        "publish server CPU per version",
        format!(
            "{:.2} ms",
            publish.server_cpu_s * 1e3 / publish.count.max(1) as f64
        ),
    );
    row(
        "packument size abbreviated / full",
        format!(
            "{:.1} / {:.1} KiB",
            kib(check.abbreviated_bytes as f64),
            kib(check.full_bytes as f64)
        ),
    );
    for (label, size, load) in loads {
        row(
            &format!("{label} req/s ({} conns)", cfg.connections),
            format!("{:.0}", load.rps),
        );
        row(
            &format!("{label} MiB/s of bodies"),
            format!("{:.1}", load.rps * size / 1024.0 / 1024.0),
        );
        row(
            &format!("{label} p50 / p99"),
            format!("{:.2} / {:.2} ms", load.p50_us / 1e3, load.p99_us / 1e3),
        );
        row(
            &format!("{label} max"),
            format!("{:.2} ms", load.max_us / 1e3),
        );
        row(
            &format!("{label} non-200 / conn errors"),
            format!("{} / {}", load.non_200, load.io_errors),
        );
        row(
            &format!("{label} server CPU (cores busy)"),
            format!(
                "{:.2} s ({:.2})",
                load.server_cpu_s,
                load.server_cpu_s / load.window_s
            ),
        );
        row(
            &format!("{label} server CPU per request"),
            format!("{:.1} us", load.server_cpu_us_per_req),
        );
        row(
            &format!("{label} load generator CPU"),
            format!("{:.2} s", load.client_cpu_s),
        );
        if load.non_200 > 0 || load.io_errors > 0 {
            println!(
                "WARNING: {label}: {} non-200, {} connection errors (first: {})",
                load.non_200,
                load.io_errors,
                load.first_failure.as_deref().unwrap_or("?")
            );
        }
    }
    if let Some(install) = install {
        let m = &install.runs[install.median];
        row(
            &format!(
                "npm install cold, {} deps, median of {}",
                install.deps,
                install.runs.len()
            ),
            format!("{:.2} s", m.wall_s),
        );
        row(
            "npm install runs",
            install
                .runs
                .iter()
                .map(|r| format!("{:.2}", r.wall_s))
                .collect::<Vec<_>>()
                .join(" / "),
        );
        row(
            "  npm CPU (node, user+sys)",
            format!("{:.2} s", m.npm_cpu_s),
        );
        row(
            "  server CPU during install",
            format!("{:.3} s", m.server_cpu_s),
        );
        row(
            "  server CPU share of wall time",
            format!("{:.1} %", m.server_cpu_s / m.wall_s * 100.0),
        );
        row(
            "  npm HTTP fetches (non-2xx)",
            format!("{} ({})", m.fetches, m.fetch_non_2xx),
        );
        row(
            "  npm fetch time median / max",
            format!("{:.0} / {:.0} ms", m.fetch_median_ms, m.fetch_max_ms),
        );
        row(
            &format!("  `npm --version` (npm {})", install.npm_version),
            format!("{:.2} s", install.npm_version_s),
        );
        row(
            &format!("publish {} deps (not timed in install)", install.deps),
            format!("{:.2} s", install.dep_publish_s),
        );
        let bottleneck = if m.server_cpu_s < m.npm_cpu_s / 4.0 {
            "npm (client)"
        } else if m.server_cpu_s > m.npm_cpu_s {
            "server"
        } else {
            "mixed"
        };
        row("  bottleneck (CPU time)", bottleneck.to_owned());
    }
    row(
        "server idle VmRSS",
        format!("{:.1} MiB", kib(idle.rss_kib as f64)),
    );
    row(
        "server VmRSS after loads / at end",
        format!(
            "{:.1} / {:.1} MiB",
            kib(after_load.rss_kib as f64),
            kib(end.rss_kib as f64)
        ),
    );
    row(
        "server VmHWM at end",
        format!("{:.1} MiB", kib(end.hwm_kib as f64)),
    );
    row(
        "SIGTERM-to-exit",
        format!("{:.2} ms", shutdown.as_secs_f64() * 1e3),
    );

    let load_json = |size: f64, l: &LoadResult| {
        json!({
            "requests": l.requests,
            "window_s": round3(l.window_s),
            "rps": round3(l.rps),
            "body_bytes": size.round(),
            "p50_ms": round3(l.p50_us / 1e3),
            "p99_ms": round3(l.p99_us / 1e3),
            "max_ms": round3(l.max_us / 1e3),
            "non_200": l.non_200,
            "io_errors": l.io_errors,
            "server_cpu_s": round3(l.server_cpu_s),
            "server_cpu_us_per_req": round3(l.server_cpu_us_per_req),
            "client_cpu_s": round3(l.client_cpu_s),
        })
    };
    let key = |label: &str| match label {
        "packument (abbreviated)" => "packument_abbreviated",
        "packument (full)" => "packument_full",
        _ => "tarball",
    };
    let mut load_map = serde_json::Map::new();
    for (label, size, load) in loads {
        load_map.insert(key(label).to_owned(), load_json(*size, load));
    }
    let install_json = install.map(|i| {
        let m = &i.runs[i.median];
        json!({
            "deps": i.deps,
            "runs": i.runs.iter().map(|r| json!({
                "wall_s": round3(r.wall_s),
                "npm_cpu_s": round3(r.npm_cpu_s),
                "server_cpu_s": round3(r.server_cpu_s),
                "fetches": r.fetches,
                "fetch_non_2xx": r.fetch_non_2xx,
                "fetch_median_ms": round3(r.fetch_median_ms),
                "fetch_max_ms": round3(r.fetch_max_ms),
                "fetch_sum_ms": round3(r.fetch_sum_ms),
            })).collect::<Vec<_>>(),
            "median_wall_s": round3(m.wall_s),
            "median_npm_cpu_s": round3(m.npm_cpu_s),
            "median_server_cpu_s": round3(m.server_cpu_s),
            "npm_version": i.npm_version,
            "npm_version_s": round3(i.npm_version_s),
            "dep_publish_s": round3(i.dep_publish_s),
        })
    });
    let json = json!({
        "bench": "npm",
        "server_log": cfg.server_log,
        "cpus": cpus,
        "connections": cfg.connections,
        "client_threads": cfg.client_threads,
        "warmup_s": cfg.warmup.as_secs_f64(),
        "publish": {
            "versions": publish.count,
            "seconds": round3(publish.seconds),
            "rate": round3(publish.rate),
            "p50_ms": round3(publish.p50_ms),
            "p99_ms": round3(publish.p99_ms),
            "max_ms": round3(publish.max_ms),
            "first_tenth_ms": round3(publish.first_tenth_ms),
            "last_tenth_ms": round3(publish.last_tenth_ms),
            "mean_body_bytes": publish.mean_body_bytes.round(),
            "server_cpu_s": round3(publish.server_cpu_s),
        },
        "packument_bytes": { "abbreviated": check.abbreviated_bytes, "full": check.full_bytes },
        "tarball_roundtrip_ok": check.tarball_ok,
        "loads": load_map,
        "install": install_json,
        "idle_rss_kib": idle.rss_kib,
        "after_load_rss_kib": after_load.rss_kib,
        "end_rss_kib": end.rss_kib,
        "end_hwm_kib": end.hwm_kib,
        "shutdown_ms": round3(shutdown.as_secs_f64() * 1e3),
    });
    println!();
    println!("{json}");
}
