//! PyPI benchmark against the real release binary: the repository endpoint as pip and
//! twine use it.
//!
//! In order, on one server with a fresh data dir:
//! 1. setup: CreateDomain, CreateRepository, GetRepositoryEndpoint (format pypi) and
//!    GetAuthorizationToken, all SigV4-signed with `aws-sigv4`;
//! 2. **upload**: `BENCH_PYPI_VERSIONS` (50) versions of `benchpkg` (1.0.0, 1.0.1, ...),
//!    each a real installable wheel, sent as twine sends it (multipart `POST {endpoint}`
//!    with `:action=file_upload`, `protocol_version`, `name`, `version`, `filetype`,
//!    `pyversion`, `metadata_version`, `sha256_digest` and the `content` file), one after
//!    another on one keep-alive connection; rate and per-upload latency, first and last
//!    tenth apart;
//! 3. **simple-page load**: `GET {endpoint}simple/benchpkg/` over `BENCH_CONNECTIONS` (32)
//!    keep-alive connections for `BENCH_SECS` (10 s) after `BENCH_WARMUP_SECS` (2 s), once
//!    as HTML (PEP 503, `Accept: text/html`) and once as JSON (PEP 691,
//!    `application/vnd.pypi.simple.v1+json`); requests/s, p50/p99/max latency, non-200
//!    count and the server's CPU time;
//! 4. **file load**: `GET {endpoint}simple/benchpkg/{v}/{wheel}`, cycling through the
//!    uploaded versions, same shape;
//! 5. **cold `pip install`**: `BENCH_PYPI_DEPS` (20) more projects (`benchdep00`, ...), one
//!    wheel each, no dependencies, are uploaded; then `python3 -m pip install --target DIR
//!    --no-cache-dir --index-url {endpoint}simple/` of all of them, `BENCH_PIP_RUNS` (3)
//!    times into a fresh target. Reported: the median wall time, pip's own CPU time (the
//!    reaped child's `cutime + cstime`), the server's CPU time over the same interval, and
//!    the page fetches and downloads pip logged, which shows whether pip or the server
//!    bounds it.
//!
//! Wheels are real zip files written by Python's `zipfile` (one `python3 -c` run builds them
//! all): `{name}/__init__.py` and `{name}-{version}.dist-info/` with `METADATA`
//! (Metadata-Version 2.1), `WHEEL` (py3-none-any, purelib) and a `RECORD` with the hashes.
//!
//! pip only ever talks to this server: it runs with a cleared environment, a temporary HOME
//! and TMPDIR, `PIP_CONFIG_FILE=/dev/null` (no config file is read),
//! `PIP_DISABLE_PIP_VERSION_CHECK=1`, `--no-cache-dir`, `--no-input` and `--index-url` our
//! endpoint only (which must be on 127.0.0.1); every URL in pip's log is checked to be ours.
//! Every request and every pip run is bounded in time.
//!
//! Prints a table, then one JSON line with every number. A benchmark, not a test: nothing
//! asserts on timings (a failed request, a wrong page or a failed install is an error).
//!
//! Knobs (environment):
//! - `CODEARTIFACT_LOCAL_BIN`: server binary (default `target/release/codeartifact-local`)
//! - `BENCH_PYPI_VERSIONS` (50), `BENCH_CONNECTIONS` (32), `BENCH_WARMUP_SECS` (2),
//!   `BENCH_SECS` (10), `BENCH_CLIENT_THREADS` (1: tokio workers of the load generator)
//! - `BENCH_PYTHON` (`python3`), `BENCH_PYPI_DEPS` (20), `BENCH_PIP_RUNS` (3; 0 skips the
//!   install phase), `BENCH_PIP_TIMEOUT_SECS` (300, per install)
//! - `BENCH_SERVER_LOG` (`info`): `RUST_LOG` for the server (keep the info-level "ready"
//!   line; `warn,codeartifact_local=info,codeartifact_local::app=warn` drops the per-request
//!   lines)

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use support::{
    clock_ticks_per_second, env_or, hex, load_phase, percentile_f64, read_cpu, read_mem, round3,
    run_tool, server_bin, signed_request, BoxError, Conn, LoadResult, LoadSpec, Server,
};

const DOMAIN: &str = "bench";
const REPOSITORY: &str = "pypi-repo";
const PROJECT: &str = "benchpkg";
const ACCEPT_HTML: &str = "text/html";
const ACCEPT_JSON: &str = "application/vnd.pypi.simple.v1+json";
/// Bound on any single request the bench makes.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const BOUNDARY: &str = "----codeartifact-local-pypi-bench-7d1f0c";

/// Writes one wheel per `[name, version]` of `argv[2]` (JSON) into the directory `argv[1]`
/// and prints each path. Entries get a fixed timestamp so the wheels are reproducible.
const WHEEL_SCRIPT: &str = r#"
import base64, hashlib, json, os, sys, zipfile

out = sys.argv[1]
for name, version in json.loads(sys.argv[2]):
    dist = f"{name}-{version}.dist-info"
    entries = [
        (f"{name}/__init__.py",
         f'"""{name}: a wheel built by the codeartifact-local pypi bench."""\n'
         f'__version__ = "{version}"\n'),
        (f"{dist}/METADATA",
         f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
         f"Summary: {name}, built by the codeartifact-local pypi bench\n"),
        (f"{dist}/WHEEL",
         "Wheel-Version: 1.0\nGenerator: codeartifact-local-bench\n"
         "Root-Is-Purelib: true\nTag: py3-none-any\n"),
    ]
    record = []
    path = os.path.join(out, f"{name}-{version}-py3-none-any.whl")

    def add(whl, arcname, data):
        info = zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        whl.writestr(info, data)

    with zipfile.ZipFile(path, "w") as whl:
        for arcname, text in entries:
            data = text.encode()
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append(f"{arcname},sha256={digest.decode()},{len(data)}")
            add(whl, arcname, data)
        record.append(f"{dist}/RECORD,,")
        add(whl, f"{dist}/RECORD", ("\n".join(record) + "\n").encode())
    print(path)
"#;

fn main() {
    if let Err(e) = run() {
        eprintln!("pypi bench failed: {e}");
        std::process::exit(1);
    }
}

struct Config {
    bin: PathBuf,
    versions: usize,
    load: LoadSpec,
    client_threads: usize,
    python: String,
    deps: usize,
    pip_runs: usize,
    pip_timeout: Duration,
    server_log: String,
}

/// The repository endpoint and what a client needs to use it.
struct Endpoint {
    /// `http://127.0.0.1:PORT/pypi/d/bench-000000000000/pypi-repo/`
    url: String,
    /// The path part of `url` (starts and ends with `/`).
    path: String,
    /// The `Host` header value.
    host: String,
    token: String,
    /// `Basic base64(aws:TOKEN)`
    authorization: String,
}

fn run() -> Result<(), BoxError> {
    let cfg = Config {
        bin: server_bin()?,
        versions: env_or("BENCH_PYPI_VERSIONS", 50usize).clamp(1, 10_000),
        load: LoadSpec {
            connections: env_or("BENCH_CONNECTIONS", 32usize).max(1),
            warmup: Duration::from_secs_f64(env_or("BENCH_WARMUP_SECS", 2.0f64).max(0.0)),
            measure: Duration::from_secs_f64(env_or("BENCH_SECS", 10.0f64).max(0.1)),
            request_timeout: REQUEST_TIMEOUT,
        },
        client_threads: env_or("BENCH_CLIENT_THREADS", 1usize).max(1),
        python: std::env::var("BENCH_PYTHON").unwrap_or_else(|_| "python3".to_owned()),
        deps: env_or("BENCH_PYPI_DEPS", 20usize).clamp(1, 100),
        pip_runs: env_or("BENCH_PIP_RUNS", 3usize),
        pip_timeout: Duration::from_secs_f64(env_or("BENCH_PIP_TIMEOUT_SECS", 300.0f64).max(1.0)),
        server_log: std::env::var("BENCH_SERVER_LOG").unwrap_or_else(|_| "info".to_owned()),
    };
    let clk_tck = clock_ticks_per_second();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let python = resolve_python(&cfg.python)?;
    println!(
        "pypi bench: {} (server RUST_LOG={}, {cpus} CPUs, python {})",
        cfg.bin.display(),
        cfg.server_log,
        python.display()
    );
    let work = tempfile::tempdir()?;

    // Every wheel, built before the server starts so no Python runs during a measurement.
    let versions: Vec<String> = (0..cfg.versions).map(|i| format!("1.0.{i}")).collect();
    let dep_names: Vec<String> = (0..cfg.deps).map(|i| format!("benchdep{i:02}")).collect();
    let mut specs: Vec<(String, String)> = versions
        .iter()
        .map(|v| (PROJECT.to_owned(), v.clone()))
        .collect();
    specs.extend(dep_names.iter().map(|n| (n.clone(), "1.0.0".to_owned())));
    let built = Instant::now();
    let mut wheels = build_wheels(&python, &work.path().join("wheels"), &specs)?;
    let build_s = built.elapsed().as_secs_f64();
    let deps = wheels.split_off(versions.len());
    println!("  built {} wheels in {build_s:.2} s", specs.len());

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

    // 2. Upload.
    let upload = runtime.block_on(upload_all(&endpoint, server.addr, &wheels, pid, clk_tck))?;
    println!(
        "  uploaded {} versions: {:.1}/s (p50 {:.2} ms, first tenth {:.2} ms, last tenth {:.2} ms)",
        upload.count, upload.rate, upload.p50_ms, upload.first_tenth_ms, upload.last_tenth_ms
    );

    // Check what the loads will fetch, once, before loading.
    let check = runtime.block_on(check_documents(&endpoint, server.addr, &wheels))?;

    // 3./4. Loads.
    let page_target = format!("{}simple/{PROJECT}/", endpoint.path);
    let mut loads: Vec<(&str, f64, LoadResult)> = Vec::new();
    for (label, accept, size) in [
        ("simple page (HTML)", ACCEPT_HTML, check.html_bytes),
        ("simple page (JSON)", ACCEPT_JSON, check.json_bytes),
    ] {
        let requests = vec![pypi_get(&endpoint, &page_target, accept)];
        let load = runtime.block_on(load_phase(server.addr, requests, &cfg.load, pid, clk_tck))?;
        print_load(label, &load);
        loads.push((label, size as f64, load));
    }
    let file_requests: Vec<Vec<u8>> = wheels
        .iter()
        .map(|w| pypi_get(&endpoint, &w.file_path(&endpoint), "*/*"))
        .collect();
    let mean_wheel =
        wheels.iter().map(|w| w.bytes.len()).sum::<usize>() as f64 / wheels.len().max(1) as f64;
    let load = runtime.block_on(load_phase(
        server.addr,
        file_requests,
        &cfg.load,
        pid,
        clk_tck,
    ))?;
    print_load("wheel file", &load);
    loads.push(("wheel file", mean_wheel, load));
    let after_load = read_mem(pid)?;

    // 5. Cold pip install.
    let install = if cfg.pip_runs > 0 {
        let uploaded = runtime.block_on(upload_all(&endpoint, server.addr, &deps, pid, clk_tck))?;
        println!(
            "  uploaded {} dependency wheels in {:.2} s",
            deps.len(),
            uploaded.seconds
        );
        Some(install_phase(
            &cfg,
            &python,
            work.path(),
            &endpoint,
            &deps,
            uploaded.seconds,
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
        build_s,
        &idle,
        &after_load,
        &end,
        shutdown,
        &upload,
        &check,
        &loads,
        install.as_ref(),
    );
    Ok(())
}

fn print_load(label: &str, load: &LoadResult) {
    println!(
        "  {label}: {:.0} req/s, p50 {:.3} ms, p99 {:.3} ms, non-200 {}",
        load.rps,
        load.p50_us / 1e3,
        load.p99_us / 1e3,
        load.non_200
    );
}

/// The interpreter's absolute path (`sys.executable`), so pip can run with a cleared
/// environment (a pyenv shim needs its own variables; the interpreter does not).
fn resolve_python(python: &str) -> Result<PathBuf, BoxError> {
    let output = Command::new(python)
        .args(["-I", "-c", "import sys; print(sys.executable)"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {python} (set BENCH_PYTHON): {e}"))?;
    if !output.status.success() {
        return Err(format!("{python} -c failed: {}", output.status).into());
    }
    let path = PathBuf::from(String::from_utf8(output.stdout)?.trim());
    if !path.is_file() {
        return Err(format!("{python}: sys.executable {} not found", path.display()).into());
    }
    Ok(path)
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
        &format!("/v1/repository/endpoint?domain={DOMAIN}&repository={REPOSITORY}&format=pypi"),
        &host,
    )
    .await?;
    let url = endpoint["repositoryEndpoint"]
        .as_str()
        .ok_or("GetRepositoryEndpoint: no repositoryEndpoint")?
        .to_owned();
    // pip is pointed at this URL: it must be this server and nothing else.
    let prefix = format!("http://{host}/");
    let Some(rest) = url.strip_prefix(&prefix) else {
        return Err(
            format!("the pypi endpoint {url} is not on {prefix}; refusing to run pip").into(),
        );
    };
    if !url.ends_with('/') {
        return Err(format!("the pypi endpoint {url} does not end with /").into());
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
    let authorization = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("aws:{token}"))
    );
    Ok(Endpoint {
        url,
        path,
        host,
        token,
        authorization,
    })
}

// ---------------------------------------------------------------------------------------
// Wheels and PyPI requests

/// One wheel as built, with what the index must say about it.
struct Wheel {
    name: String,
    version: String,
    file_name: String,
    bytes: Vec<u8>,
    sha256: String,
}

impl Wheel {
    /// `{endpoint path}simple/{name}/{version}/{file}`
    fn file_path(&self, endpoint: &Endpoint) -> String {
        format!(
            "{}simple/{}/{}/{}",
            endpoint.path, self.name, self.version, self.file_name
        )
    }

    fn file_url(&self, endpoint: &Endpoint) -> String {
        format!(
            "{}simple/{}/{}/{}",
            endpoint.url, self.name, self.version, self.file_name
        )
    }
}

/// Builds every wheel with one `python3 -c` run (Python's `zipfile`) and reads them back.
fn build_wheels(
    python: &Path,
    dir: &Path,
    specs: &[(String, String)],
) -> Result<Vec<Wheel>, BoxError> {
    std::fs::create_dir_all(dir)?;
    let spec_json =
        serde_json::to_string(&specs.iter().map(|(n, v)| json!([n, v])).collect::<Vec<_>>())?;
    let mut child = Command::new(python)
        .arg("-I")
        .arg("-c")
        .arg(WHEEL_SCRIPT)
        .arg(dir)
        .arg(&spec_json)
        .env_clear()
        .env("LANG", "C.UTF-8")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let started = Instant::now();
    while child.try_wait()?.is_none() {
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            return Err("building the wheels took over 120 s".into());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let output = child.wait_with_output()?;
    if !output.status.success() {
        return Err(format!(
            "building the wheels failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    specs
        .iter()
        .map(|(name, version)| {
            let file_name = format!("{name}-{version}-py3-none-any.whl");
            let bytes = std::fs::read(dir.join(&file_name))
                .map_err(|e| format!("wheel {file_name} was not written: {e}"))?;
            if !bytes.starts_with(b"PK\x03\x04") {
                return Err(format!("{file_name} is not a zip file").into());
            }
            let sha256 = hex(&Sha256::digest(&bytes));
            Ok(Wheel {
                name: name.clone(),
                version: version.clone(),
                file_name,
                bytes,
                sha256,
            })
        })
        .collect()
}

/// A GET as pip sends it, with the Basic token.
fn pypi_get(endpoint: &Endpoint, target: &str, accept: &str) -> Vec<u8> {
    format!(
        "GET {target} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nAccept: {accept}\r\n\
         Accept-Encoding: identity\r\n\
         User-Agent: pip/23.2.1 (codeartifact-local bench)\r\n\r\n",
        endpoint.host, endpoint.authorization
    )
    .into_bytes()
}

/// The legacy upload as twine sends it: a multipart POST to the endpoint itself.
fn pypi_upload(endpoint: &Endpoint, wheel: &Wheel) -> Vec<u8> {
    let mut body = Vec::with_capacity(wheel.bytes.len() + 2048);
    for (name, value) in [
        (":action", "file_upload"),
        ("protocol_version", "1"),
        ("name", wheel.name.as_str()),
        ("version", wheel.version.as_str()),
        ("filetype", "bdist_wheel"),
        ("pyversion", "py3"),
        ("metadata_version", "2.1"),
        ("sha256_digest", wheel.sha256.as_str()),
    ] {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"content\"; \
             filename=\"{}\"\r\nContent-Type: application/octet-stream\r\n\r\n",
            wheel.file_name
        )
        .as_bytes(),
    );
    body.extend_from_slice(&wheel.bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    let mut request = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\
         User-Agent: twine/6 (codeartifact-local bench)\r\n\r\n",
        endpoint.path,
        endpoint.host,
        endpoint.authorization,
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    request
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
// Upload

struct UploadResult {
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

/// Uploads every wheel in order on one connection; request bodies are built first so only
/// the exchange is timed.
async fn upload_all(
    endpoint: &Endpoint,
    addr: SocketAddr,
    wheels: &[Wheel],
    pid: u32,
    clk_tck: f64,
) -> Result<UploadResult, BoxError> {
    let requests: Vec<Vec<u8>> = wheels.iter().map(|w| pypi_upload(endpoint, w)).collect();
    let mean_body_bytes =
        requests.iter().map(Vec::len).sum::<usize>() as f64 / requests.len().max(1) as f64;
    let mut conn = Conn::connect(addr).await?;
    let server_pid = pid.to_string();
    let (cpu_before, _) = read_cpu(&server_pid)?;
    let started = Instant::now();
    let mut latencies = Vec::with_capacity(requests.len());
    for (request, wheel) in requests.iter().zip(wheels) {
        let sent = Instant::now();
        expect_200(&mut conn, request, &format!("upload {}", wheel.file_name)).await?;
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
    Ok(UploadResult {
        count: latencies.len(),
        seconds,
        rate: latencies.len() as f64 / seconds,
        p50_ms: percentile_f64(&sorted, 500),
        p99_ms: percentile_f64(&sorted, 990),
        max_ms: sorted.last().copied().unwrap_or(0.0),
        first_tenth_ms,
        last_tenth_ms,
        mean_body_bytes,
        server_cpu_s: cpu_after.saturating_sub(cpu_before) as f64 / clk_tck,
    })
}

/// Sizes of the pages the loads fetch, after checking them.
struct DocumentCheck {
    html_bytes: usize,
    json_bytes: usize,
}

/// Fetches both page forms and the first and last wheels once: every uploaded file must be
/// listed with its URL and the SHA-256 we computed, and a wheel must come back byte for byte.
async fn check_documents(
    endpoint: &Endpoint,
    addr: SocketAddr,
    wheels: &[Wheel],
) -> Result<DocumentCheck, BoxError> {
    let mut conn = Conn::connect(addr).await?;
    let target = format!("{}simple/{PROJECT}/", endpoint.path);

    let json_body = expect_200(
        &mut conn,
        &pypi_get(endpoint, &target, ACCEPT_JSON),
        "JSON page",
    )
    .await?;
    let doc: Value = serde_json::from_slice(&json_body)?;
    let listed_versions = doc["versions"].as_array().map_or(0, Vec::len);
    let files = doc["files"].as_array().ok_or("JSON page without files")?;
    if listed_versions != wheels.len() || files.len() != wheels.len() {
        return Err(format!(
            "JSON page lists {listed_versions} versions and {} files, {} were uploaded",
            files.len(),
            wheels.len()
        )
        .into());
    }
    for w in wheels {
        let file = files
            .iter()
            .find(|f| f["filename"].as_str() == Some(w.file_name.as_str()))
            .ok_or_else(|| format!("JSON page does not list {}", w.file_name))?;
        if file["hashes"]["sha256"].as_str() != Some(w.sha256.as_str())
            || file["url"].as_str() != Some(w.file_url(endpoint).as_str())
            || file["size"].as_u64() != Some(w.bytes.len() as u64)
        {
            return Err(format!("JSON page: wrong entry for {}: {file}", w.file_name).into());
        }
    }

    let html_body = expect_200(
        &mut conn,
        &pypi_get(endpoint, &target, ACCEPT_HTML),
        "HTML page",
    )
    .await?;
    let html = String::from_utf8(html_body)?;
    let anchors = html.matches("<a ").count();
    if anchors != wheels.len() {
        return Err(format!(
            "HTML page has {anchors} links, {} files were uploaded",
            wheels.len()
        )
        .into());
    }
    for w in wheels {
        let href = format!("href=\"{}#sha256={}\"", w.file_url(endpoint), w.sha256);
        if !html.contains(&href) {
            return Err(format!("HTML page has no {href}").into());
        }
    }

    for w in [wheels.first(), wheels.last()].into_iter().flatten() {
        let body = expect_200(
            &mut conn,
            &pypi_get(endpoint, &w.file_path(endpoint), "*/*"),
            &w.file_name,
        )
        .await?;
        if body != w.bytes {
            return Err(
                format!("{} came back different from what was uploaded", w.file_name).into(),
            );
        }
    }
    Ok(DocumentCheck {
        html_bytes: html.len(),
        json_bytes: json_body.len(),
    })
}

// ---------------------------------------------------------------------------------------
// pip install

struct InstallRun {
    wall_s: f64,
    pip_cpu_s: f64,
    server_cpu_s: f64,
    pages: usize,
    downloads: usize,
}

struct InstallResult {
    deps: usize,
    dep_upload_s: f64,
    pip_version: String,
    pip_version_s: f64,
    runs: Vec<InstallRun>,
    median: usize,
}

/// `python -m pip ...` in an environment of its own: nothing inherited, HOME and TMPDIR
/// under `dir`, no config file, no version check, no prompts.
fn pip_command(python: &Path, dir: &Path, home: &Path) -> Command {
    let mut cmd = Command::new(python);
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home)
        .env("TMPDIR", dir.join("tmp"))
        .env("LANG", "C.UTF-8")
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env("PIP_NO_INPUT", "1")
        .env("PIP_NO_CACHE_DIR", "1")
        .env("PYTHONNOUSERSITE", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .arg("-m")
        .arg("pip")
        .stdin(Stdio::null());
    cmd
}

/// Hosts pip's own messages link to (documentation, never fetched).
const DOC_HOSTS: &[&str] = &["pip.pypa.io", "packaging.python.org", "peps.python.org"];

/// What pip's `--log` says it fetched: project pages and downloads. Fails if any URL in the
/// log is not on our server.
fn parse_pip_log(log: &str, endpoint: &Endpoint) -> Result<(usize, usize), BoxError> {
    let origin = format!(
        "127.0.0.1:{}",
        endpoint.host.rsplit(':').next().unwrap_or("")
    );
    for (i, _) in log.match_indices("://") {
        let scheme_start = log[..i]
            .rfind(|c: char| !c.is_ascii_alphanumeric() && c != '+')
            .map_or(0, |s| s + 1);
        let scheme = &log[scheme_start..i];
        if scheme != "http" && scheme != "https" {
            continue;
        }
        let rest = &log[i + 3..];
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '/' || c == '"' || c == '\'' || c == ')')
            .unwrap_or(rest.len());
        let authority = &rest[..end];
        let host = authority.rsplit('@').next().unwrap_or(authority);
        // pip's messages link to its documentation; such a mention is not a request.
        if scheme == "https" && DOC_HOSTS.contains(&host) {
            continue;
        }
        if scheme != "http" || host != origin {
            return Err(
                format!("pip's log names {scheme}://{authority}, which is not ours").into(),
            );
        }
    }
    let pages = log.lines().filter(|l| l.contains("Fetched page ")).count();
    let downloads = log
        .lines()
        .filter(|l| l.contains("Downloading ") || l.contains("Downloading link "))
        .filter(|l| l.contains(".whl"))
        .count();
    Ok((pages, downloads))
}

#[allow(clippy::too_many_arguments)]
fn install_phase(
    cfg: &Config,
    python: &Path,
    work: &Path,
    endpoint: &Endpoint,
    deps: &[Wheel],
    dep_upload_s: f64,
    pid: u32,
    clk_tck: f64,
) -> Result<InstallResult, BoxError> {
    let dir = work.join("pip");
    for sub in ["tmp", "logs"] {
        std::fs::create_dir_all(dir.join(sub))?;
    }
    let logs = dir.join("logs");
    let index_url = format!(
        "http://aws:{}@{}{}simple/",
        endpoint.token, endpoint.host, endpoint.path
    );

    // Baseline: interpreter + pip startup with nothing to do.
    let home = dir.join("home-version");
    std::fs::create_dir_all(&home)?;
    let mut version_cmd = pip_command(python, &dir, &home);
    version_cmd.arg("--version");
    let version_run = run_tool(
        version_cmd,
        &logs,
        "pip-version",
        Duration::from_secs(60),
        clk_tck,
    )?;
    let pip_version = version_run
        .stdout
        .split_whitespace()
        .nth(1)
        .unwrap_or("?")
        .to_owned();

    let server_pid = pid.to_string();
    let mut runs = Vec::new();
    for run in 0..cfg.pip_runs {
        // Fresh target and HOME, no cache: a cold install.
        let target = dir.join(format!("target-{run}"));
        let home = dir.join(format!("home-{run}"));
        std::fs::create_dir_all(&home)?;
        let log_file = logs.join(format!("install-{run}.log"));
        let mut cmd = pip_command(python, &dir, &home);
        cmd.arg("install")
            .arg("--target")
            .arg(&target)
            .args([
                "--no-cache-dir",
                "--disable-pip-version-check",
                "--no-input",
                "--root-user-action=ignore",
                "--progress-bar",
                "off",
                "--timeout",
                "30",
                "--retries",
                "0",
                "--index-url",
                &index_url,
                "--log",
            ])
            .arg(&log_file)
            .args(deps.iter().map(|w| w.name.as_str()));
        let (server_before, _) = read_cpu(&server_pid)?;
        let result = run_tool(
            cmd,
            &logs,
            &format!("install-{run}"),
            cfg.pip_timeout,
            clk_tck,
        )
        .map_err(|e| e.to_string().replace(&endpoint.token, "<token>"))?;
        let (server_after, _) = read_cpu(&server_pid)?;
        for w in deps {
            let module = target.join(&w.name).join("__init__.py");
            let text = std::fs::read_to_string(&module)
                .map_err(|e| format!("install {run}: {} missing: {e}", module.display()))?;
            if !text.contains(&format!("__version__ = \"{}\"", w.version)) {
                return Err(format!("install {run}: {} has the wrong version", w.name).into());
            }
            let dist_info = target.join(format!("{}-{}.dist-info", w.name, w.version));
            if !dist_info.join("METADATA").is_file() {
                return Err(format!("install {run}: {} missing", dist_info.display()).into());
            }
        }
        let log = std::fs::read_to_string(&log_file).unwrap_or_default();
        let (pages, downloads) = parse_pip_log(&log, endpoint)?;
        let r = InstallRun {
            wall_s: result.wall_s,
            pip_cpu_s: result.cpu_s,
            server_cpu_s: server_after.saturating_sub(server_before) as f64 / clk_tck,
            pages,
            downloads,
        };
        println!(
            "  pip install {}: {:.2} s wall, pip CPU {:.2} s, server CPU {:.3} s, {} pages, {} downloads",
            run + 1,
            r.wall_s,
            r.pip_cpu_s,
            r.server_cpu_s,
            r.pages,
            r.downloads
        );
        runs.push(r);
        let _ = std::fs::remove_dir_all(&target);
        let _ = std::fs::remove_dir_all(&home);
    }
    let mut order: Vec<usize> = (0..runs.len()).collect();
    order.sort_by(|&a, &b| runs[a].wall_s.total_cmp(&runs[b].wall_s));
    let median = order[order.len() / 2];
    Ok(InstallResult {
        deps: deps.len(),
        dep_upload_s,
        pip_version,
        pip_version_s: version_run.wall_s,
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
    build_s: f64,
    idle: &support::Mem,
    after_load: &support::Mem,
    end: &support::Mem,
    shutdown: Duration,
    upload: &UploadResult,
    check: &DocumentCheck,
    loads: &[(&str, f64, LoadResult)],
    install: Option<&InstallResult>,
) {
    let kib = |b: f64| b / 1024.0;
    let connections = cfg.load.connections;
    println!();
    println!("{:<52} {:>16}", "metric", "value");
    println!("{}", "-".repeat(69));
    let row = |name: &str, value: String| println!("{name:<52} {value:>16}");
    row(
        &format!("upload: {} wheels of {PROJECT}", upload.count),
        format!("{:.2} s", upload.seconds),
    );
    row("upload rate", format!("{:.1} /s", upload.rate));
    row("upload latency p50", format!("{:.2} ms", upload.p50_ms));
    row("upload latency p99", format!("{:.2} ms", upload.p99_ms));
    row("upload latency max", format!("{:.2} ms", upload.max_ms));
    row(
        "upload mean, first tenth / last tenth",
        format!(
            "{:.2} / {:.2} ms",
            upload.first_tenth_ms, upload.last_tenth_ms
        ),
    );
    row(
        "upload request body (mean)",
        format!("{:.1} KiB", kib(upload.mean_body_bytes)),
    );
    row(
        "upload server CPU per wheel",
        format!(
            "{:.2} ms",
            upload.server_cpu_s * 1e3 / upload.count.max(1) as f64
        ),
    );
    row(
        "simple page size HTML / JSON",
        format!(
            "{:.1} / {:.1} KiB",
            kib(check.html_bytes as f64),
            kib(check.json_bytes as f64)
        ),
    );
    for (label, size, load) in loads {
        row(
            &format!("{label} req/s ({connections} conns)"),
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
                "pip install cold, {} projects, median of {}",
                install.deps,
                install.runs.len()
            ),
            format!("{:.2} s", m.wall_s),
        );
        row(
            "pip install runs",
            install
                .runs
                .iter()
                .map(|r| format!("{:.2}", r.wall_s))
                .collect::<Vec<_>>()
                .join(" / "),
        );
        row(
            "  pip CPU (python, user+sys)",
            format!("{:.2} s", m.pip_cpu_s),
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
            "  pip pages fetched / wheels downloaded",
            format!("{} / {}", m.pages, m.downloads),
        );
        row(
            &format!("  `pip --version` (pip {})", install.pip_version),
            format!("{:.2} s", install.pip_version_s),
        );
        row(
            &format!("upload {} dep wheels (not timed in install)", install.deps),
            format!("{:.2} s", install.dep_upload_s),
        );
        let bottleneck = if m.server_cpu_s < m.pip_cpu_s / 4.0 {
            "pip (client)"
        } else if m.server_cpu_s > m.pip_cpu_s {
            "server"
        } else {
            "mixed"
        };
        row("  bottleneck (CPU time)", bottleneck.to_owned());
    }
    row(
        "wheels built (python zipfile, not timed)",
        format!("{build_s:.2} s"),
    );
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
        "simple page (HTML)" => "simple_html",
        "simple page (JSON)" => "simple_json",
        _ => "file",
    };
    let mut load_map = serde_json::Map::new();
    for (label, size, load) in loads {
        load_map.insert(key(label).to_owned(), load_json(*size, load));
    }
    let install_json = install.map(|i| {
        let m = &i.runs[i.median];
        json!({
            "projects": i.deps,
            "runs": i.runs.iter().map(|r| json!({
                "wall_s": round3(r.wall_s),
                "pip_cpu_s": round3(r.pip_cpu_s),
                "server_cpu_s": round3(r.server_cpu_s),
                "pages": r.pages,
                "downloads": r.downloads,
            })).collect::<Vec<_>>(),
            "median_wall_s": round3(m.wall_s),
            "median_pip_cpu_s": round3(m.pip_cpu_s),
            "median_server_cpu_s": round3(m.server_cpu_s),
            "pip_version": i.pip_version,
            "pip_version_s": round3(i.pip_version_s),
            "dep_upload_s": round3(i.dep_upload_s),
        })
    });
    let json = json!({
        "bench": "pypi",
        "server_log": cfg.server_log,
        "cpus": cpus,
        "connections": connections,
        "client_threads": cfg.client_threads,
        "warmup_s": cfg.load.warmup.as_secs_f64(),
        "upload": {
            "versions": upload.count,
            "seconds": round3(upload.seconds),
            "rate": round3(upload.rate),
            "p50_ms": round3(upload.p50_ms),
            "p99_ms": round3(upload.p99_ms),
            "max_ms": round3(upload.max_ms),
            "first_tenth_ms": round3(upload.first_tenth_ms),
            "last_tenth_ms": round3(upload.last_tenth_ms),
            "mean_body_bytes": upload.mean_body_bytes.round(),
            "server_cpu_s": round3(upload.server_cpu_s),
        },
        "page_bytes": { "html": check.html_bytes, "json": check.json_bytes },
        "loads": load_map,
        "install": install_json,
        "wheel_build_s": round3(build_s),
        "idle_rss_kib": idle.rss_kib,
        "after_load_rss_kib": after_load.rss_kib,
        "end_rss_kib": end.rss_kib,
        "end_hwm_kib": end.hwm_kib,
        "shutdown_ms": round3(shutdown.as_secs_f64() * 1e3),
    });
    println!();
    println!("{json}");
}
