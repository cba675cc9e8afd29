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
//! - `BENCH_SERVER_LOG` (`info,access=warn`): `RUST_LOG` for the server (keep the info-level "ready"
//!   line; `warn,codeartifact_local=info,codeartifact_local::app=warn` drops the per-request
//!   lines)

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use support::{
    env_or, expect_200, hex, load_rows, loads_json, read_mem, round3, run_tool, BenchEnv, BoxError,
    Conn, CpuMeter, Endpoint, InstallPhase, InstallRun, InstallTiming, LoadSpec, NamedLoad,
    RepoServer, SeriesResult, ServerTrace, Table, REQUEST_TIMEOUT,
};

const REPOSITORY: &str = "pypi-repo";
const PROJECT: &str = "benchpkg";
const ACCEPT_HTML: &str = "text/html";
const ACCEPT_JSON: &str = "application/vnd.pypi.simple.v1+json";
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
    support::run_or_exit("pypi", run);
}

struct Config {
    env: BenchEnv,
    versions: usize,
    load: LoadSpec,
    client_threads: usize,
    python: String,
    deps: usize,
    pip_runs: usize,
    pip_timeout: Duration,
}

fn run() -> Result<(), BoxError> {
    let cfg = Config {
        env: BenchEnv::from_env()?,
        versions: env_or("BENCH_PYPI_VERSIONS", 50usize).clamp(1, 10_000),
        load: LoadSpec::from_env(REQUEST_TIMEOUT),
        client_threads: env_or("BENCH_CLIENT_THREADS", 1usize).max(1),
        python: std::env::var("BENCH_PYTHON").unwrap_or_else(|_| "python3".to_owned()),
        deps: env_or("BENCH_PYPI_DEPS", 20usize).clamp(1, 100),
        pip_runs: env_or("BENCH_PIP_RUNS", 3usize),
        pip_timeout: Duration::from_secs_f64(env_or("BENCH_PIP_TIMEOUT_SECS", 300.0f64).max(1.0)),
    };
    let python = resolve_python(&cfg.python)?;
    cfg.env
        .announce("pypi", &format!(", python {}", python.display()));
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

    // 1. Setup.
    let repo = RepoServer::start(
        cfg.env.start_server()?,
        cfg.client_threads,
        cfg.env.clk_tck,
        REPOSITORY,
        "pypi",
        "pip",
    )?;

    // 2. Upload.
    let upload = upload_all(&repo, &wheels)?;
    println!("  uploaded {} versions: {}", upload.count, upload.summary());

    // Check what the loads will fetch, once, before loading.
    let check = repo.runtime.block_on(check_documents(&repo, &wheels))?;

    // 3./4. Loads.
    let endpoint = &repo.endpoint;
    let page_target = format!("{}simple/{PROJECT}/", endpoint.path);
    let page = |accept| vec![pypi_get(endpoint, &page_target, accept)];
    let files: Vec<Vec<u8>> = wheels
        .iter()
        .map(|w| pypi_get(endpoint, &w.file_path(endpoint), "*/*"))
        .collect();
    let mean_wheel =
        wheels.iter().map(|w| w.bytes.len()).sum::<usize>() as f64 / wheels.len().max(1) as f64;
    let loader = repo.loader(&cfg.load);
    let loads = vec![
        loader.run(
            "simple page (HTML)",
            "simple_html",
            check.html_bytes as f64,
            page(ACCEPT_HTML),
        )?,
        loader.run(
            "simple page (JSON)",
            "simple_json",
            check.json_bytes as f64,
            page(ACCEPT_JSON),
        )?,
        loader.run("wheel file", "file", mean_wheel, files)?,
    ];
    let after_load = read_mem(repo.pid())?;

    // 5. Cold pip install.
    let install = if cfg.pip_runs > 0 {
        let uploaded = upload_all(&repo, &deps)?;
        println!(
            "  uploaded {} dependency wheels in {:.2} s",
            deps.len(),
            uploaded.seconds
        );
        Some(install_phase(
            &cfg,
            &python,
            work.path(),
            &repo,
            &deps,
            uploaded.seconds,
        )?)
    } else {
        None
    };
    let trace = repo.stop(Some(after_load))?;

    print_report(
        &cfg,
        build_s,
        &trace,
        &upload,
        &check,
        &loads,
        install.as_ref(),
    );
    Ok(())
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
        endpoint.host,
        endpoint.basic_authorization()
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
        endpoint.basic_authorization(),
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    request
}

// ---------------------------------------------------------------------------------------
// Upload

/// Uploads every wheel in order on one connection; request bodies are built first so only
/// the exchange is timed.
fn upload_all(repo: &RepoServer, wheels: &[Wheel]) -> Result<SeriesResult, BoxError> {
    let requests: Vec<(String, Vec<u8>)> = wheels
        .iter()
        .map(|w| {
            let what = format!("upload {}", w.file_name);
            (what, pypi_upload(&repo.endpoint, w))
        })
        .collect();
    repo.series(&requests)
}

/// Sizes of the pages the loads fetch, after checking them.
struct DocumentCheck {
    html_bytes: usize,
    json_bytes: usize,
}

/// Fetches both page forms and the first and last wheels once: every uploaded file must be
/// listed with its URL and the SHA-256 we computed, and a wheel must come back byte for byte.
async fn check_documents(repo: &RepoServer, wheels: &[Wheel]) -> Result<DocumentCheck, BoxError> {
    let endpoint = &repo.endpoint;
    let mut conn = Conn::connect(repo.addr()).await?;
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

/// What pip's log says it fetched.
struct PipLog {
    pages: usize,
    downloads: usize,
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

fn install_phase(
    cfg: &Config,
    python: &Path,
    work: &Path,
    repo: &RepoServer,
    deps: &[Wheel],
    dep_upload_s: f64,
) -> Result<InstallPhase<PipLog>, BoxError> {
    let (endpoint, clk_tck) = (&repo.endpoint, repo.clk_tck);
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
        let meter = CpuMeter::start(repo.pid())?;
        let result = run_tool(
            cmd,
            &logs,
            &format!("install-{run}"),
            cfg.pip_timeout,
            clk_tck,
        )
        .map_err(|e| e.to_string().replace(&endpoint.token, "<token>"))?;
        let (server_cpu_s, _) = meter.read(clk_tck)?;
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
            timing: InstallTiming {
                wall_s: result.wall_s,
                tool_cpu_s: result.cpu_s,
                server_cpu_s,
            },
            log: PipLog { pages, downloads },
        };
        println!(
            "  pip install {}: {:.2} s wall, pip CPU {:.2} s, server CPU {:.3} s, {} pages, {} downloads",
            run + 1,
            r.timing.wall_s,
            r.timing.tool_cpu_s,
            r.timing.server_cpu_s,
            r.log.pages,
            r.log.downloads
        );
        runs.push(r);
        let _ = std::fs::remove_dir_all(&target);
        let _ = std::fs::remove_dir_all(&home);
    }
    Ok(InstallPhase::new(
        "pip",
        deps.len(),
        dep_upload_s,
        pip_version,
        version_run.wall_s,
        runs,
    ))
}

// ---------------------------------------------------------------------------------------
// Report

#[allow(clippy::too_many_arguments)]
fn print_report(
    cfg: &Config,
    build_s: f64,
    trace: &ServerTrace,
    upload: &SeriesResult,
    check: &DocumentCheck,
    loads: &[NamedLoad],
    install: Option<&InstallPhase<PipLog>>,
) {
    let kib = |b: f64| b / 1024.0;
    let connections = cfg.load.connections;
    let table = Table {
        name_width: 52,
        value_width: 16,
    };
    table.header();
    let row = |name: &str, value: String| table.row(name, value);
    upload.rows(&table, "upload", &format!("wheels of {PROJECT}"), "wheel");
    row(
        "simple page size HTML / JSON",
        format!(
            "{:.1} / {:.1} KiB",
            kib(check.html_bytes as f64),
            kib(check.json_bytes as f64)
        ),
    );
    load_rows(&table, loads, connections);
    if let Some(install) = install {
        install.head_rows(
            &table,
            &format!(
                "pip install cold, {} projects, median of {}",
                install.deps,
                install.runs.len()
            ),
            "python",
        );
        let m = install.median_run();
        row(
            "  pip pages fetched / wheels downloaded",
            format!("{} / {}", m.log.pages, m.log.downloads),
        );
        install.tail_rows(
            &table,
            &format!("upload {} dep wheels (not timed in install)", install.deps),
        );
    }
    row(
        "wheels built (python zipfile, not timed)",
        format!("{build_s:.2} s"),
    );
    trace.rows(&table);

    let install_json = install.map(|i| {
        i.json(
            "projects",
            "dep_upload_s",
            |r| json!({ "pages": r.pages, "downloads": r.downloads }),
        )
    });
    let mut json = json!({
        "bench": "pypi",
        "server_log": cfg.env.server_log,
        "cpus": cfg.env.cpus,
        "connections": connections,
        "client_threads": cfg.client_threads,
        "warmup_s": cfg.load.warmup.as_secs_f64(),
        "upload": upload.json(),
        "page_bytes": { "html": check.html_bytes, "json": check.json_bytes },
        "loads": loads_json(loads),
        "install": install_json,
        "wheel_build_s": round3(build_s),
    });
    trace.add_json(&mut json);
    println!();
    println!("{json}");
}
