//! Cargo benchmark against the real release binary: the sparse-registry endpoint as
//! `cargo publish` and cargo's resolver use it.
//!
//! In order, on one server with a fresh data dir:
//! 1. setup: CreateDomain, CreateRepository, GetRepositoryEndpoint (format cargo) and
//!    GetAuthorizationToken, all SigV4-signed with `aws-sigv4`; then (not timed) `benchdep
//!    1.0.0`, the dependency of every `benchcrate` version, is published the same way as
//!    below;
//! 2. **publish**: `BENCH_CARGO_VERSIONS` (50) versions of `benchcrate` (1.0.0, 1.0.1, ...),
//!    one after another on one keep-alive connection with the raw token as `Authorization`,
//!    each as `cargo publish` (cargo 1.95, a CARGO_HOME that has seen the previous version;
//!    observed) sends it — 9 requests a version: `GET config.json`, the crate's index file
//!    with `If-None-Match` (304; 404 without it for the first version), `GET config.json`
//!    and benchdep's index file with `If-None-Match` (304), twice, then
//!    `PUT api/v1/crates/new` (u32 LE length, the metadata JSON cargo sends, u32 LE length,
//!    the `.crate`), then the wait-for-publish poll: `GET config.json` and the crate's index
//!    file, which must list the new version at once (200). The `.crate` is a gzipped tar
//!    packaged as cargo packages it (GNU headers, cargo's fixed mtime, entries under
//!    `benchcrate-{v}/`: the normalised `Cargo.toml`, `Cargo.toml.orig`, `Cargo.lock`,
//!    `src/lib.rs` and `BENCH_CARGO_CRATE_KIB` (64) KiB of pseudo-random bytes in
//!    `src/data.bin`), built in memory with the `tar` and `flate2` crates. Reported:
//!    versions/s and requests/s, the latency of a whole version (first and last tenth apart,
//!    to show whether a publish gets slower as versions pile up) and of each kind of request;
//! 3. **loads**, each over `BENCH_CONNECTIONS` (32) keep-alive connections for `BENCH_SECS`
//!    (10 s) after `BENCH_WARMUP_SECS` (2 s): `GET be/nc/benchcrate` (the index file, the
//!    resolution hot path), the same with the current `If-None-Match` (cargo revalidates
//!    every index file it has cached on every resolution; each answer must be a 304, and
//!    for this load "non-200" counts answers other than 304), `GET config.json`, and
//!    `GET api/v1/crates/benchcrate/{v}/download` cycling through the versions;
//!    requests/s, p50/p99/max latency, failures and the server's CPU time. Before them the
//!    bodies are checked once: `config.json` names this endpoint, the index file lists
//!    every published version in order with the cksum of its `.crate` and the dependency
//!    on benchdep, is byte-stable with a stable ETag, and answers its ETag with an empty
//!    304; every `.crate` downloads byte for byte;
//! 4. **cold `cargo fetch`** (with a cargo toolchain, see `BENCH_CARGO`): a consumer package
//!    depending on `benchcrate = "1"`, fetched `BENCH_CARGO_RUNS` (3) times, each with an
//!    empty CARGO_HOME and no lock file: `config.json` (401 without a token, then with it),
//!    both index files, both `.crate`s. Reported: the median wall time, cargo's own CPU
//!    time (the reaped child's `cutime + cstime`), the server's CPU time over the same
//!    interval and the crates cargo logged downloading; the lock file must pin the newest
//!    benchcrate and benchdep from this endpoint with the right checksums, and the `.crate`s
//!    in cargo's cache must be byte-identical to the published ones.
//!
//! cargo runs isolated: a cleared environment, the toolchain's own `cargo` and `rustc`
//! (never a rustup proxy), a temporary HOME, CARGO_HOME and CARGO_TARGET_DIR, a
//! `config.toml` whose only registry is this endpoint (`credential-provider =
//! "cargo:token"`, the token in `CARGO_REGISTRIES_BENCH_TOKEN`, `[source.crates-io]`
//! replaced by it, no retries), and no `.cargo/config*` above its working directory. Any
//! address cargo prints must be ours. Every request and every cargo run is bounded in time.
//!
//! Prints a table, then one JSON line with every number. A benchmark, not a test: nothing
//! asserts on timings; a failed request, a wrong body or a failed cargo run is an error (a
//! load that saw failures fails the bench after the report is printed).
//!
//! Knobs (environment):
//! - `CODEARTIFACT_LOCAL_BIN`: server binary (default `target/release/codeartifact-local`)
//! - `BENCH_CARGO_VERSIONS` (50), `BENCH_CARGO_CRATE_KIB` (64), `BENCH_CONNECTIONS` (32),
//!   `BENCH_WARMUP_SECS` (2), `BENCH_SECS` (10), `BENCH_CLIENT_THREADS` (1: tokio workers of
//!   the load generator)
//! - `BENCH_CARGO` (a `cargo`, real or a rustup proxy, with `rustc` next to it; default the
//!   one running `cargo bench`, from its `CARGO` variable. The real binaries are found
//!   through `rustc --print sysroot`. Without either variable the phase is skipped with a
//!   note; a `BENCH_CARGO` that leads to no toolchain is an error),
//!   `BENCH_CARGO_RUNS` (3; 0 skips the cargo phase), `BENCH_CARGO_TIMEOUT_SECS` (120, per
//!   run)
//! - `BENCH_SERVER_LOG` (`info,access=warn`): `RUST_LOG` for the server (keep the info-level "ready"
//!   line; `warn,codeartifact_local=info,codeartifact_local::app=warn` drops the per-request
//!   lines)

mod support;

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use flate2::{Compression, GzBuilder};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use support::{
    env_or, hex, load_rows, loads_json, pseudo_random, read_mem, round3, run_tool, BenchEnv,
    BoxError, CpuMeter, Endpoint, InstallPhase, InstallRun, InstallTiming, KindLatency, LoadSpec,
    NamedLoad, RepoServer, SeriesResult, ServerTrace, Table, REQUEST_TIMEOUT,
};

const REPOSITORY: &str = "cargo-repo";
const CRATE: &str = "benchcrate";
const DEP_CRATE: &str = "benchdep";
const DEP_VERSION: &str = "1.0.0";
/// What benchcrate's `Cargo.toml` asks of benchdep, and what cargo sends as `version_req`.
const DEP_REQ: &str = "1";
const DEP_VERSION_REQ: &str = "^1";
/// The registry's name in cargo's configuration (hence `CARGO_REGISTRIES_BENCH_TOKEN`).
const REGISTRY: &str = "bench";
const USER_AGENT: &str = "cargo/1.95.0 (f2d3ce0bd 2026-03-21) codeartifact-local-bench";
/// The mtime cargo gives every entry of a packaged crate (2006-07-24T01:21:28Z).
const CARGO_MTIME: u64 = 1_153_704_088;

fn main() {
    support::run_or_exit("cargo", run);
}

struct Config {
    env: BenchEnv,
    versions: usize,
    crate_kib: usize,
    load: LoadSpec,
    client_threads: usize,
    cargo_runs: usize,
    cargo_timeout: Duration,
}

fn run() -> Result<(), BoxError> {
    let cfg = Config {
        env: BenchEnv::from_env()?,
        versions: env_or("BENCH_CARGO_VERSIONS", 50usize).clamp(1, 10_000),
        crate_kib: env_or("BENCH_CARGO_CRATE_KIB", 64usize).clamp(1, 64 * 1024),
        load: LoadSpec::from_env(REQUEST_TIMEOUT),
        client_threads: env_or("BENCH_CLIENT_THREADS", 1usize).max(1),
        cargo_runs: env_or("BENCH_CARGO_RUNS", 3usize),
        cargo_timeout: Duration::from_secs_f64(
            env_or("BENCH_CARGO_TIMEOUT_SECS", 120.0f64).max(1.0),
        ),
    };
    let toolchain = if cfg.cargo_runs > 0 {
        find_cargo(cfg.env.clk_tck)?
    } else {
        None
    };
    cfg.env.announce(
        "cargo",
        &match &toolchain {
            Some(t) => format!(", cargo {}", t.cargo.display()),
            None => String::new(),
        },
    );

    // 1. Setup.
    let repo = RepoServer::start(
        cfg.env.start_server()?,
        cfg.client_threads,
        cfg.env.clk_tck,
        REPOSITORY,
        "cargo",
        "cargo",
    )?;

    // Every crate, built once the endpoint (which their manifests and lock files name) is
    // known.
    let built = Instant::now();
    let dep = Crate::build(
        DEP_CRATE,
        DEP_VERSION,
        0,
        cfg.crate_kib,
        &repo.endpoint,
        None,
    )?;
    let crates = (0..cfg.versions)
        .map(|i| {
            Crate::build(
                CRATE,
                &format!("1.0.{i}"),
                i as u64 + 1,
                cfg.crate_kib,
                &repo.endpoint,
                Some(&dep),
            )
        })
        .collect::<Result<Vec<_>, BoxError>>()?;
    let build_s = built.elapsed().as_secs_f64();
    println!(
        "  built {} crates of {:.1} KiB in {build_s:.2} s",
        crates.len() + 1,
        crates[0].bytes.len() as f64 / 1024.0
    );

    let dep_publish = publish_all(&repo, std::slice::from_ref(&dep), &[])?;

    // 2. Publish.
    let dep_index = (index_path(DEP_CRATE), dep_publish.index_etag.clone());
    let publish = publish_all(&repo, &crates, std::slice::from_ref(&dep_index))?;
    println!(
        "  published {} versions ({} requests, {:.0}/s): {}",
        publish.versions.count,
        publish.requests,
        publish.request_rate,
        publish.versions.summary()
    );

    // Check what the loads will fetch, once, before loading.
    let check = repo
        .runtime
        .block_on(check_documents(&repo, &crates, &dep))?;

    // 3. Loads.
    let endpoint = &repo.endpoint;
    let index_target = format!("{}{}", endpoint.path, index_path(CRATE));
    let downloads: Vec<Vec<u8>> = crates
        .iter()
        .map(|c| download_get(endpoint, &c.download_path(endpoint)))
        .collect();
    let mean_crate =
        crates.iter().map(|c| c.bytes.len()).sum::<usize>() as f64 / crates.len() as f64;
    let loader = repo.loader(&cfg.load);
    let index = loader.run(
        "index file",
        "index",
        check.index_bytes as f64,
        vec![sparse_get(endpoint, &index_target, None)],
    )?;
    // Cargo revalidates every index file; each answer is a 304 (counted as a success).
    let not_modified = loader.run(
        "index file If-None-Match",
        "index_not_modified",
        0.0,
        vec![sparse_get(endpoint, &index_target, Some(&check.index_etag))],
    )?;
    let config = loader.run(
        "config.json",
        "config_json",
        check.config_bytes as f64,
        vec![sparse_get(
            endpoint,
            &format!("{}config.json", endpoint.path),
            None,
        )],
    )?;
    let download = loader.run(".crate download", "crate", mean_crate, downloads)?;
    let loads = vec![index, not_modified, config, download];
    let after_load = read_mem(repo.pid())?;

    // 4. Cold cargo fetch.
    let fetch = match &toolchain {
        Some(toolchain) => {
            let newest = crates.last().ok_or("no versions")?;
            Some(fetch_phase(
                &cfg,
                toolchain,
                &repo,
                &[newest, &dep],
                dep_publish.versions.seconds,
            )?)
        }
        None => None,
    };
    let trace = repo.stop(Some(after_load))?;

    print_report(
        &cfg,
        build_s,
        &trace,
        &publish,
        &check,
        &loads,
        fetch.as_ref(),
    );
    let failed: Vec<String> = loads
        .iter()
        .filter(|l| l.result.non_200 > 0 || l.result.io_errors > 0)
        .map(|l| {
            format!(
                "{}: {} unexpected statuses, {} connection errors (first: {})",
                l.label,
                l.result.non_200,
                l.result.io_errors,
                l.result.first_failure.as_deref().unwrap_or("?")
            )
        })
        .collect();
    if !failed.is_empty() {
        return Err(format!("requests failed under load: {}", failed.join("; ")).into());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Crates and cargo's requests

/// The index directories of a crate (sparse protocol), from its lowercased name.
fn index_path(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    match lower.len() {
        1 => format!("1/{lower}"),
        2 => format!("2/{lower}"),
        3 => format!("3/{}/{lower}", &lower[..1]),
        _ => format!("{}/{}/{lower}", &lower[..2], &lower[2..4]),
    }
}

/// One version of a crate: its `.crate` and the publish metadata cargo sends with it.
struct Crate {
    name: String,
    version: String,
    bytes: Vec<u8>,
    /// SHA-256 of `bytes`, hex: the index line's `cksum`.
    cksum: String,
    metadata: Value,
    /// Whether it depends on benchdep.
    has_dep: bool,
}

impl Crate {
    /// `seed` varies the data file; `dep`, if any, is benchdep, which this version then
    /// depends on (`benchdep = "1"` from this registry).
    fn build(
        name: &str,
        version: &str,
        seed: u64,
        crate_kib: usize,
        endpoint: &Endpoint,
        dep: Option<&Crate>,
    ) -> Result<Crate, BoxError> {
        let index = format!("sparse+{}", endpoint.url);
        let description =
            format!("{name} {version}, published by the codeartifact-local cargo bench");
        let orig_deps = dep.map_or_else(String::new, |d| {
            format!(
                "\n[dependencies]\n{} = {{ version = \"{DEP_REQ}\", registry = \"{REGISTRY}\" }}\n",
                d.name
            )
        });
        let orig = format!(
            "[package]\nname = \"{name}\"\nversion = \"{version}\"\nedition = \"2021\"\n\
             description = \"{description}\"\nlicense = \"Apache-2.0\"\n\
             publish = [\"{REGISTRY}\"]\n{orig_deps}"
        );
        let normal_deps = dep.map_or_else(String::new, |d| {
            format!(
                "\n[dependencies.{}]\nversion = \"{DEP_REQ}\"\nregistry-index = \"{index}\"\n",
                d.name
            )
        });
        let manifest = format!(
            "# THIS FILE IS AUTOMATICALLY GENERATED BY CARGO\n#\n\
             # When uploading crates to the registry Cargo will automatically\n\
             # \"normalize\" Cargo.toml files for maximal compatibility\n\
             # with all versions of Cargo and also rewrite `path` dependencies\n\
             # to registry (e.g., crates.io) dependencies.\n#\n\
             # If you are reading this file be aware that the original Cargo.toml\n\
             # will likely look very different (and much more reasonable).\n\
             # See Cargo.toml.orig for the original contents.\n\n\
             [package]\nedition = \"2021\"\nname = \"{name}\"\nversion = \"{version}\"\n\
             build = false\npublish = [\"{REGISTRY}\"]\nautolib = false\nautobins = false\n\
             autoexamples = false\nautotests = false\nautobenches = false\n\
             description = \"{description}\"\nreadme = false\nlicense = \"Apache-2.0\"\n\n\
             [lib]\nname = \"{name}\"\npath = \"src/lib.rs\"\n{normal_deps}"
        );
        let lock_dep = dep.map_or_else(String::new, |d| {
            format!(
                "dependencies = [\n \"{}\",\n]\n\n[[package]]\nname = \"{}\"\n\
                 version = \"{}\"\nsource = \"{index}\"\nchecksum = \"{}\"\n",
                d.name, d.name, d.version, d.cksum
            )
        });
        let lock = format!(
            "# This file is automatically @generated by Cargo.\n\
             # It is not intended for manual editing.\nversion = 4\n\n\
             [[package]]\nname = \"{name}\"\nversion = \"{version}\"\n{lock_dep}"
        );
        let lib_rs =
            "/// The crate's payload.\npub static DATA: &[u8] = include_bytes!(\"data.bin\");\n";
        let data = pseudo_random(seed, crate_kib * 1024);
        let bytes = crate_file(
            name,
            version,
            &[
                ("Cargo.lock", lock.as_bytes()),
                ("Cargo.toml", manifest.as_bytes()),
                ("Cargo.toml.orig", orig.as_bytes()),
                ("src/data.bin", &data),
                ("src/lib.rs", lib_rs.as_bytes()),
            ],
        )?;
        let cksum = hex(&Sha256::digest(&bytes));
        // The metadata cargo 1.95 sends: a dependency of the same registry has no
        // `registry`, one without a rename no `explicit_name_in_toml`.
        let deps: Vec<Value> = dep
            .map(|d| {
                json!({
                    "optional": false,
                    "default_features": true,
                    "name": d.name,
                    "features": [],
                    "version_req": DEP_VERSION_REQ,
                    "target": null,
                    "kind": "normal",
                })
            })
            .into_iter()
            .collect();
        let metadata = json!({
            "name": name,
            "vers": version,
            "deps": deps,
            "features": {},
            "authors": [],
            "description": description,
            "documentation": null,
            "homepage": null,
            "readme": null,
            "readme_file": null,
            "keywords": [],
            "categories": [],
            "license": "Apache-2.0",
            "license_file": null,
            "repository": null,
            "badges": {},
            "links": null,
            "rust_version": null,
        });
        Ok(Crate {
            name: name.to_owned(),
            version: version.to_owned(),
            bytes,
            cksum,
            metadata,
            has_dep: dep.is_some(),
        })
    }

    /// `{endpoint path}api/v1/crates/{name}/{version}/download`
    fn download_path(&self, endpoint: &Endpoint) -> String {
        format!(
            "{}api/v1/crates/{}/{}/download",
            endpoint.path, self.name, self.version
        )
    }

    /// cargo's publish body: u32 LE length, the metadata JSON, u32 LE length, the `.crate`.
    fn publish_body(&self) -> Result<Vec<u8>, BoxError> {
        let json = serde_json::to_vec(&self.metadata)?;
        let mut body = Vec::with_capacity(8 + json.len() + self.bytes.len());
        body.extend_from_slice(&u32::try_from(json.len())?.to_le_bytes());
        body.extend_from_slice(&json);
        body.extend_from_slice(&u32::try_from(self.bytes.len())?.to_le_bytes());
        body.extend_from_slice(&self.bytes);
        Ok(body)
    }
}

/// A `.crate` as cargo packages it: a tar with GNU headers, every entry a 0644 file owned
/// by 0:0 with cargo's fixed mtime under `{name}-{version}/`, gzipped at the best level with
/// the file name in the gzip header.
fn crate_file(name: &str, version: &str, files: &[(&str, &[u8])]) -> Result<Vec<u8>, BoxError> {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(CARGO_MTIME);
        tar.append_data(&mut header, format!("{name}-{version}/{path}"), *data)?;
    }
    let tar = tar.into_inner()?;
    let mut gz = GzBuilder::new()
        .filename(format!("{name}-{version}.crate"))
        .write(Vec::new(), Compression::best());
    gz.write_all(&tar)?;
    Ok(gz.finish()?)
}

/// A GET of the sparse index (`config.json` or an index file) as cargo 1.95 sends it over
/// plain HTTP (curl offers an h2c upgrade, which the server declines by answering in
/// HTTP/1.1), with the raw token and, for a cached file, its ETag.
fn sparse_get(endpoint: &Endpoint, target: &str, if_none_match: Option<&str>) -> Vec<u8> {
    let conditional =
        if_none_match.map_or_else(String::new, |etag| format!("if-none-match: {etag}\r\n"));
    format!(
        "GET {target} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {USER_AGENT}\r\n\
         Accept-Encoding: deflate, gzip\r\nConnection: Upgrade, HTTP2-Settings\r\n\
         Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAQAAAAIAAAAA\r\ncargo-protocol: version=1\r\n\
         accept: text/plain\r\n{conditional}Authorization: {}\r\n\r\n",
        endpoint.host, endpoint.token
    )
    .into_bytes()
}

/// A `.crate` download as cargo 1.95 sends it.
fn download_get(endpoint: &Endpoint, target: &str) -> Vec<u8> {
    format!(
        "GET {target} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {USER_AGENT}\r\nAccept: */*\r\n\
         Accept-Encoding: deflate, gzip\r\nConnection: Upgrade, HTTP2-Settings\r\n\
         Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAQAAAAIAAAAA\r\nAuthorization: {}\r\n\r\n",
        endpoint.host, endpoint.token
    )
    .into_bytes()
}

/// `PUT api/v1/crates/new` as `cargo publish` sends it.
fn publish_put(endpoint: &Endpoint, body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "PUT {}api/v1/crates/new HTTP/1.1\r\nHost: {}\r\nUser-Agent: {USER_AGENT}\r\n\
         Accept-Encoding: deflate, gzip\r\nAccept: application/json\r\nAuthorization: {}\r\n\
         Content-Length: {}\r\n\r\n",
        endpoint.path,
        endpoint.host,
        endpoint.token,
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

// ---------------------------------------------------------------------------------------
// A connection that also reads 304s

/// A response: its status, ETag and body.
struct Answer {
    status: u16,
    etag: Option<String>,
    body: Vec<u8>,
}

/// One keep-alive connection. Unlike the shared `Conn` it reads a 304, which has neither a
/// body nor a Content-Length (RFC 9112 §6.3), and keeps the ETag.
struct CargoConn {
    stream: TcpStream,
    buf: Vec<u8>,
    filled: usize,
}

impl CargoConn {
    async fn connect(addr: SocketAddr) -> std::io::Result<CargoConn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(CargoConn {
            stream,
            buf: vec![0; 16 * 1024],
            filled: 0,
        })
    }

    async fn exchange(&mut self, request: &[u8]) -> Result<Answer, BoxError> {
        self.stream.write_all(request).await?;
        let head_end = loop {
            if let Some(at) = support::find(&self.buf[..self.filled], b"\r\n\r\n") {
                break at;
            }
            if self.filled == self.buf.len() {
                let grown = self.buf.len() * 2;
                self.buf.resize(grown, 0);
            }
            self.fill().await?;
        };
        let head = std::str::from_utf8(&self.buf[..head_end])?;
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or("malformed status line")?;
        let (mut length, mut etag) = (None, None);
        for line in lines {
            let (name, value) = line.split_once(':').ok_or("malformed header")?;
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(value.parse::<usize>()?);
            } else if name.eq_ignore_ascii_case("etag") {
                etag = Some(value.to_owned());
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                return Err("chunked responses are not supported by the bench".into());
            }
        }
        let length = if status < 200 || status == 204 || status == 304 {
            0
        } else {
            length.ok_or("response without Content-Length")?
        };
        let total = head_end + 4 + length;
        if self.buf.len() < total {
            self.buf.resize(total, 0);
        }
        while self.filled < total {
            self.fill().await?;
        }
        let body = self.buf[head_end + 4..total].to_vec();
        self.buf.copy_within(total..self.filled, 0);
        self.filled -= total;
        Ok(Answer { status, etag, body })
    }

    /// [`CargoConn::exchange`], bounded by [`REQUEST_TIMEOUT`]; any status but `status` is
    /// an error naming `what`.
    async fn expect(
        &mut self,
        request: &[u8],
        what: &str,
        status: u16,
    ) -> Result<Answer, BoxError> {
        let answer = tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(request))
            .await
            .map_err(|_| format!("{what}: no answer within {REQUEST_TIMEOUT:?}"))??;
        if answer.status != status {
            return Err(format!(
                "{what}: HTTP {} (expected {status}): {}",
                answer.status,
                String::from_utf8_lossy(&answer.body)
            )
            .into());
        }
        Ok(answer)
    }

    async fn fill(&mut self) -> Result<(), BoxError> {
        let n = self.stream.read(&mut self.buf[self.filled..]).await?;
        if n == 0 {
            return Err("connection closed by the server".into());
        }
        self.filled += n;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Publish

/// The kinds of request a publish sends, for their latencies.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Config,
    IndexRevalidate,
    Publish,
    IndexPoll,
}

const KINDS: [(Kind, &str, &str); 4] = [
    (Kind::Config, "GET config.json", "get_config"),
    (
        Kind::IndexRevalidate,
        "GET index, If-None-Match",
        "revalidate_index",
    ),
    (Kind::Publish, "PUT api/v1/crates/new", "put_crate"),
    (
        Kind::IndexPoll,
        "GET index after the PUT (200)",
        "poll_index",
    ),
];

/// One request of a publish and the status it must get.
struct Step {
    what: String,
    kind: Kind,
    request: Vec<u8>,
    status: u16,
}

/// The requests `cargo publish` sends for one version, given the ETags its CARGO_HOME
/// holds: the crate's own index file (none before the first version) and each dependency's
/// (`(index path, ETag)`). The PUT comes ready-made.
fn publish_steps(
    endpoint: &Endpoint,
    c: &Crate,
    own_etag: Option<&str>,
    deps: &[(String, String)],
    put: Vec<u8>,
) -> Vec<Step> {
    let config_target = format!("{}config.json", endpoint.path);
    let own_target = format!("{}{}", endpoint.path, index_path(&c.name));
    let config = || Step {
        what: format!("GET {config_target}"),
        kind: Kind::Config,
        request: sparse_get(endpoint, &config_target, None),
        status: 200,
    };
    let index = |target: &str, etag: Option<&str>, kind: Kind, status: u16| Step {
        what: format!("GET {target}"),
        kind,
        request: sparse_get(endpoint, target, etag),
        status,
    };
    let mut steps = vec![
        config(),
        index(
            &own_target,
            own_etag,
            Kind::IndexRevalidate,
            if own_etag.is_some() { 304 } else { 404 },
        ),
    ];
    // Cargo resolves the dependencies twice: packaging (the lock file) and the publish.
    for _ in 0..2 {
        for (path, etag) in deps {
            steps.push(config());
            steps.push(index(
                &format!("{}{path}", endpoint.path),
                Some(etag),
                Kind::IndexRevalidate,
                304,
            ));
        }
    }
    steps.push(Step {
        what: format!("publish {}@{}", c.name, c.version),
        kind: Kind::Publish,
        request: put,
        status: 200,
    });
    steps.push(config());
    steps.push(index(&own_target, own_etag, Kind::IndexPoll, 200));
    steps
}

struct Publish {
    /// Per version: the whole sequence is one item.
    versions: SeriesResult,
    requests: usize,
    request_rate: f64,
    kinds: Vec<KindLatency>,
    /// The ETag of the crate's index file after the last version.
    index_etag: String,
}

/// Publishes every version of one crate in order on one connection. The PUTs are built
/// first; each version's GETs (which carry the ETags of the previous version's answers)
/// are built before its sequence starts, so only the exchanges are timed.
fn publish_all(
    repo: &RepoServer,
    crates: &[Crate],
    deps: &[(String, String)],
) -> Result<Publish, BoxError> {
    let puts = crates
        .iter()
        .map(|c| Ok(publish_put(&repo.endpoint, &c.publish_body()?)))
        .collect::<Result<Vec<_>, BoxError>>()?;
    repo.runtime
        .block_on(send_publishes(repo, crates, deps, puts))
}

async fn send_publishes(
    repo: &RepoServer,
    crates: &[Crate],
    deps: &[(String, String)],
    puts: Vec<Vec<u8>>,
) -> Result<Publish, BoxError> {
    let endpoint = &repo.endpoint;
    let mut conn = CargoConn::connect(repo.addr()).await?;
    let mut own_etag: Option<String> = None;
    let (mut requests, mut request_bytes) = (0usize, 0usize);
    let mut seconds = 0.0;
    let mut per_version = Vec::with_capacity(crates.len());
    let mut per_kind: Vec<Vec<f64>> = vec![Vec::new(); KINDS.len()];
    let meter = CpuMeter::start(repo.pid())?;
    for (c, put) in crates.iter().zip(puts) {
        let steps = publish_steps(endpoint, c, own_etag.as_deref(), deps, put);
        requests += steps.len();
        request_bytes += steps.iter().map(|s| s.request.len()).sum::<usize>();
        let version_started = Instant::now();
        let mut last = None;
        for step in &steps {
            let sent = Instant::now();
            let answer = conn.expect(&step.request, &step.what, step.status).await?;
            let ms = sent.elapsed().as_secs_f64() * 1e3;
            let k = KINDS
                .iter()
                .position(|(kind, ..)| *kind == step.kind)
                .unwrap_or(0);
            per_kind[k].push(ms);
            last = Some(answer);
        }
        let took = version_started.elapsed();
        seconds += took.as_secs_f64();
        per_version.push(took.as_secs_f64() * 1e3);
        // The poll must already list the new version (cargo would otherwise poll again).
        let poll = last.ok_or("no requests")?;
        let listed = index_versions(&poll.body)?;
        if listed.last().map(|(v, _)| v.as_str()) != Some(c.version.as_str()) {
            return Err(format!(
                "{} {}: the index file after the publish does not end with it ({} lines)",
                c.name,
                c.version,
                listed.len()
            )
            .into());
        }
        own_etag = Some(
            poll.etag
                .ok_or_else(|| format!("the index file of {} has no ETag", c.name))?,
        );
    }
    let (server_cpu_s, _) = meter.read(repo.clk_tck)?;

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
    Ok(Publish {
        versions,
        requests,
        request_rate: requests as f64 / seconds,
        kinds,
        index_etag: own_etag.ok_or("nothing published")?,
    })
}

/// The `(vers, line)` of each line of an index file, in order; every line must be a JSON
/// object with a `vers`.
fn index_versions(body: &[u8]) -> Result<Vec<(String, Value)>, BoxError> {
    let text = std::str::from_utf8(body)?;
    if !text.is_empty() && !text.ends_with('\n') {
        return Err("an index file does not end with a newline".into());
    }
    text.lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line)
                .map_err(|e| format!("an index line is not JSON ({e}): {line}"))?;
            let vers = value["vers"]
                .as_str()
                .ok_or_else(|| format!("an index line has no vers: {line}"))?
                .to_owned();
            Ok((vers, value))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Checks before the loads

/// What the loads fetch, after checking it.
struct DocumentCheck {
    index_bytes: usize,
    index_etag: String,
    config_bytes: usize,
}

/// Checks one crate's index file against what was published: one line per version in
/// order, named as published, with the `.crate`'s cksum, not yanked, and benchdep as the
/// only dependency where there is one.
fn check_index(body: &[u8], crates: &[&Crate]) -> Result<(), BoxError> {
    let lines = index_versions(body)?;
    let listed: Vec<&str> = lines.iter().map(|(v, _)| v.as_str()).collect();
    let published: Vec<&str> = crates.iter().map(|c| c.version.as_str()).collect();
    if listed != published {
        return Err(format!(
            "the index file lists {} versions ({:?}…), {} were published",
            listed.len(),
            listed.iter().take(3).collect::<Vec<_>>(),
            published.len()
        )
        .into());
    }
    for ((_, line), c) in lines.iter().zip(crates) {
        let wrong = |what: &str| -> BoxError {
            format!(
                "the index line of {} {} has {what}: {line}",
                c.name, c.version
            )
            .into()
        };
        if line["name"] != c.name.as_str() {
            return Err(wrong("another name"));
        }
        if line["cksum"] != c.cksum.as_str() {
            return Err(wrong(&format!("a cksum other than {}", c.cksum)));
        }
        if line["yanked"] != false {
            return Err(wrong("yanked other than false"));
        }
        let deps = line["deps"].as_array().ok_or_else(|| wrong("no deps"))?;
        let expected = usize::from(c.has_dep);
        if deps.len() != expected
            || deps.iter().any(|d| {
                d["name"] != DEP_CRATE || d["req"] != DEP_VERSION_REQ || d["kind"] != "normal"
            })
        {
            return Err(wrong(&format!(
                "deps other than {expected} of {DEP_CRATE} {DEP_VERSION_REQ}"
            )));
        }
    }
    Ok(())
}

/// Fetches `config.json` and both index files (benchcrate's twice: byte-stable with a
/// stable ETag, and a 304 with an empty body for that ETag) and downloads every `.crate`:
/// each must come back byte for byte.
async fn check_documents(
    repo: &RepoServer,
    crates: &[Crate],
    dep: &Crate,
) -> Result<DocumentCheck, BoxError> {
    let endpoint = &repo.endpoint;
    let mut conn = CargoConn::connect(repo.addr()).await?;

    let target = format!("{}config.json", endpoint.path);
    let config = conn
        .expect(&sparse_get(endpoint, &target, None), &target, 200)
        .await?
        .body;
    let parsed: Value = serde_json::from_slice(&config)?;
    let api = endpoint.url.trim_end_matches('/');
    let expected =
        json!({ "dl": format!("{api}/api/v1/crates"), "api": api, "auth-required": true });
    for key in ["dl", "api", "auth-required"] {
        if parsed[key] != expected[key] {
            return Err(format!(
                "config.json: {key} is {}, not {}",
                parsed[key], expected[key]
            )
            .into());
        }
    }

    let target = format!("{}{}", endpoint.path, index_path(CRATE));
    let request = sparse_get(endpoint, &target, None);
    let first = conn.expect(&request, &target, 200).await?;
    let again = conn.expect(&request, &target, 200).await?;
    if again.body != first.body || again.etag != first.etag {
        return Err("the index file or its ETag differs between two GETs".into());
    }
    let etag = first.etag.ok_or("the index file has no ETag")?;
    let published: Vec<&Crate> = crates.iter().collect();
    check_index(&first.body, &published)?;
    let revalidated = conn
        .expect(&sparse_get(endpoint, &target, Some(&etag)), &target, 304)
        .await?;
    if !revalidated.body.is_empty() || revalidated.etag.as_deref() != Some(etag.as_str()) {
        return Err("the 304 of the index file has a body or another ETag".into());
    }

    let dep_target = format!("{}{}", endpoint.path, index_path(DEP_CRATE));
    let dep_index = conn
        .expect(&sparse_get(endpoint, &dep_target, None), &dep_target, 200)
        .await?;
    check_index(&dep_index.body, &[dep])?;

    for c in crates.iter().chain([dep]) {
        let target = c.download_path(endpoint);
        let body = conn
            .expect(&download_get(endpoint, &target), &target, 200)
            .await?
            .body;
        if body != c.bytes {
            return Err(format!("{target}: came back different from what was published").into());
        }
    }
    Ok(DocumentCheck {
        index_bytes: first.body.len(),
        index_etag: etag,
        config_bytes: config.len(),
    })
}

// ---------------------------------------------------------------------------------------
// cargo fetch

/// The toolchain's own binaries.
struct Toolchain {
    cargo: PathBuf,
    rustc: PathBuf,
}

/// `BENCH_CARGO`, else the cargo running this bench (`CARGO`), resolved to its toolchain
/// (see [`resolve_toolchain`]). `None` (with a note) when neither is set, or `CARGO` does
/// not lead to a toolchain; a `BENCH_CARGO` that does not is an error.
fn find_cargo(clk_tck: f64) -> Result<Option<Toolchain>, BoxError> {
    let (front, explicit) = match (std::env::var_os("BENCH_CARGO"), std::env::var_os("CARGO")) {
        (Some(path), _) => (PathBuf::from(path), true),
        (None, Some(path)) => (PathBuf::from(path), false),
        (None, None) => {
            println!("  CARGO and BENCH_CARGO unset: the cargo fetch phase is skipped");
            return Ok(None);
        }
    };
    match resolve_toolchain(&front, clk_tck) {
        Ok(toolchain) => Ok(Some(toolchain)),
        Err(e) if explicit => Err(format!("BENCH_CARGO={}: {e}", front.display()).into()),
        Err(e) => {
            println!(
                "  CARGO={}: {e}: the cargo fetch phase is skipped (set BENCH_CARGO)",
                front.display()
            );
            Ok(None)
        }
    }
}

/// The real `cargo` and `rustc` behind `front`, which may be a rustup proxy (they would
/// read the temporary HOME): the `rustc` next to it names the sysroot (`rustc --print
/// sysroot`, in this process's environment), whose `bin/` holds both binaries.
fn resolve_toolchain(front: &Path, clk_tck: f64) -> Result<Toolchain, BoxError> {
    if !front.is_file() {
        return Err("not a file".into());
    }
    let rustc_front = front.with_file_name("rustc");
    if !rustc_front.is_file() {
        return Err("no rustc next to it".into());
    }
    let logs = tempfile::tempdir()?;
    let mut cmd = Command::new(&rustc_front);
    cmd.args(["--print", "sysroot"]).stdin(Stdio::null());
    let sysroot = run_tool(
        cmd,
        logs.path(),
        "rustc-sysroot",
        Duration::from_secs(60),
        clk_tck,
    )?;
    let bin = Path::new(sysroot.stdout.trim()).join("bin");
    let (cargo, rustc) = (bin.join("cargo"), bin.join("rustc"));
    if !cargo.is_file() || !rustc.is_file() {
        return Err(format!("{} holds no cargo and rustc", bin.display()).into());
    }
    Ok(Toolchain { cargo, rustc })
}

/// CARGO_HOME's `config.toml`: this endpoint is the only registry, the default one and the
/// replacement of the public crate registry; the token comes from the environment.
fn cargo_config(endpoint: &Endpoint) -> String {
    format!(
        "[registries.{REGISTRY}]\nindex = \"sparse+{url}\"\n\
         credential-provider = \"cargo:token\"\n\n\
         [registry]\ndefault = \"{REGISTRY}\"\nglobal-credential-providers = [\"cargo:token\"]\n\n\
         [source.crates-io]\nreplace-with = \"{REGISTRY}\"\n\n\
         [net]\nretry = 0\n\n[http]\ntimeout = 30\n\n\
         [term]\ncolor = \"never\"\nprogress.when = \"never\"\n",
        url = endpoint.url
    )
}

/// `cargo ...` in an environment of its own: nothing inherited, the toolchain's binaries,
/// HOME, CARGO_HOME and CARGO_TARGET_DIR as given, the token for [`REGISTRY`].
fn cargo_command(
    toolchain: &Toolchain,
    endpoint: &Endpoint,
    home: &Path,
    cargo_home: &Path,
    target_dir: &Path,
) -> Command {
    let mut path = String::from("/usr/bin:/bin");
    if let Some(bin) = toolchain.cargo.parent() {
        path = format!("{}:{path}", bin.display());
    }
    let mut cmd = Command::new(&toolchain.cargo);
    cmd.env_clear()
        .env("PATH", path)
        .env("HOME", home)
        .env("LANG", "C.UTF-8")
        .env("CARGO_HOME", cargo_home)
        .env("CARGO_TARGET_DIR", target_dir)
        .env("RUSTC", &toolchain.rustc)
        .env("CARGO_NET_RETRY", "0")
        .env("CARGO_HTTP_TIMEOUT", "30")
        .env("CARGO_TERM_COLOR", "never")
        .env(
            format!("CARGO_REGISTRIES_{}_TOKEN", REGISTRY.to_ascii_uppercase()),
            &endpoint.token,
        )
        .stdin(Stdio::null());
    cmd
}

/// Refuses to run cargo where a `.cargo/config*` above `dir` could add registries.
fn guard_config(dir: &Path) -> Result<(), BoxError> {
    for ancestor in dir.ancestors() {
        for name in ["config", "config.toml"] {
            let found = ancestor.join(".cargo").join(name);
            if found.exists() {
                return Err(format!("refusing to run cargo: {} exists", found.display()).into());
            }
        }
    }
    Ok(())
}

/// What cargo's output says it downloaded.
struct CargoLog {
    /// `Downloaded {name} v{version} (registry `bench`)` lines.
    downloaded: usize,
}

/// Counts cargo's downloads; fails if any address it prints is not our endpoint.
fn parse_cargo_log(output: &str, endpoint: &Endpoint) -> Result<CargoLog, BoxError> {
    let mut downloaded = 0;
    for line in output.lines() {
        let line = line.trim();
        if line.starts_with("Downloaded ") && line.ends_with(&format!("(registry `{REGISTRY}`)")) {
            downloaded += 1;
        }
        let mut rest = line;
        while let Some(at) = rest.find("://") {
            let start = rest[..at]
                .rfind(|c: char| c.is_whitespace() || c == '`' || c == '"' || c == '(')
                .map_or(0, |i| i + 1);
            let url = rest[start..].trim_start_matches("sparse+");
            if !url.starts_with(&endpoint.url) {
                return Err(format!("cargo mentions a foreign address: {line}").into());
            }
            rest = &rest[at + 3..];
        }
    }
    Ok(CargoLog { downloaded })
}

/// The lock file must pin each expected crate from this endpoint with its checksum.
fn check_lock(lock: &str, expected: &[&Crate], endpoint: &Endpoint) -> Result<(), BoxError> {
    let parsed: toml::Table = toml::from_str(lock)?;
    let packages = parsed
        .get("package")
        .and_then(toml::Value::as_array)
        .ok_or("Cargo.lock has no packages")?;
    let source = format!("sparse+{}", endpoint.url);
    for c in expected {
        let found = packages.iter().find(|p| {
            p.get("name").and_then(toml::Value::as_str) == Some(c.name.as_str())
                && p.get("version").and_then(toml::Value::as_str) == Some(c.version.as_str())
        });
        let Some(p) = found else {
            return Err(
                format!("Cargo.lock does not pin {} {}:\n{lock}", c.name, c.version).into(),
            );
        };
        let field = |key: &str| p.get(key).and_then(toml::Value::as_str);
        if field("source") != Some(source.as_str()) || field("checksum") != Some(c.cksum.as_str()) {
            return Err(format!(
                "Cargo.lock pins {} {} with another source or checksum:\n{lock}",
                c.name, c.version
            )
            .into());
        }
    }
    Ok(())
}

/// The `.crate` files in CARGO_HOME's download cache must be the published ones.
fn check_cache(cargo_home: &Path, expected: &[&Crate]) -> Result<(), BoxError> {
    let cache = cargo_home.join("registry").join("cache");
    let dirs: Vec<PathBuf> = std::fs::read_dir(&cache)
        .map_err(|e| format!("{}: {e}", cache.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    for c in expected {
        let file = format!("{}-{}.crate", c.name, c.version);
        let found = dirs
            .iter()
            .map(|d| d.join(&file))
            .find(|p| p.is_file())
            .ok_or_else(|| format!("{file} is not in {}", cache.display()))?;
        if std::fs::read(&found)? != c.bytes {
            return Err(format!("{} differs from the published crate", found.display()).into());
        }
    }
    Ok(())
}

fn fetch_phase(
    cfg: &Config,
    toolchain: &Toolchain,
    repo: &RepoServer,
    expected: &[&Crate],
    dep_publish_s: f64,
) -> Result<InstallPhase<CargoLog>, BoxError> {
    let (endpoint, clk_tck) = (&repo.endpoint, repo.clk_tck);
    if !endpoint.url.starts_with("http://127.0.0.1:") {
        return Err(format!("refusing to point cargo at {}", endpoint.url).into());
    }
    let newest = expected.first().ok_or("nothing to fetch")?;
    let work = tempfile::tempdir()?;
    let dir = work.path();
    let logs = dir.join("logs");
    let project = dir.join("consumer");
    std::fs::create_dir_all(&logs)?;
    std::fs::create_dir_all(project.join("src"))?;
    std::fs::write(
        project.join("Cargo.toml"),
        format!(
            "[package]\nname = \"consumer\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\
             publish = false\n\n[dependencies]\n{} = {{ version = \"1\", registry = \"{REGISTRY}\" }}\n",
            newest.name
        ),
    )?;
    std::fs::write(project.join("src/main.rs"), "fn main() {}\n")?;
    guard_config(&project)?;
    let redact =
        |e: BoxError| -> BoxError { e.to_string().replace(&endpoint.token, "<token>").into() };

    // Baseline: cargo starting with nothing to do.
    let fresh = |label: &str| -> Result<(PathBuf, PathBuf, PathBuf), BoxError> {
        let home = dir.join(format!("home-{label}"));
        let cargo_home = dir.join(format!("cargo-home-{label}"));
        std::fs::create_dir_all(&home)?;
        std::fs::create_dir_all(&cargo_home)?;
        std::fs::write(cargo_home.join("config.toml"), cargo_config(endpoint))?;
        Ok((home, cargo_home, dir.join(format!("target-{label}"))))
    };
    let (home, cargo_home, target) = fresh("version")?;
    let mut version_cmd = cargo_command(toolchain, endpoint, &home, &cargo_home, &target);
    version_cmd.arg("--version").current_dir(&project);
    let version_run = run_tool(
        version_cmd,
        &logs,
        "cargo-version",
        Duration::from_secs(60),
        clk_tck,
    )?;
    let cargo_version = version_run
        .stdout
        .split_whitespace()
        .nth(1)
        .unwrap_or("?")
        .to_owned();

    let mut runs = Vec::new();
    for run in 0..cfg.cargo_runs {
        // Fresh HOME, CARGO_HOME and target dir, no lock file: a cold resolution.
        let (home, cargo_home, target) = fresh(&run.to_string())?;
        let _ = std::fs::remove_file(project.join("Cargo.lock"));
        let mut cmd = cargo_command(toolchain, endpoint, &home, &cargo_home, &target);
        cmd.arg("fetch").current_dir(&project);
        let meter = CpuMeter::start(repo.pid())?;
        let result = run_tool(
            cmd,
            &logs,
            &format!("fetch-{run}"),
            cfg.cargo_timeout,
            clk_tck,
        )
        .map_err(redact)?;
        let (server_cpu_s, _) = meter.read(clk_tck)?;
        let lock = std::fs::read_to_string(project.join("Cargo.lock"))
            .map_err(|e| format!("cargo fetch {run}: no Cargo.lock: {e}"))?;
        check_lock(&lock, expected, endpoint).map_err(redact)?;
        check_cache(&cargo_home, expected)?;
        let log = parse_cargo_log(&format!("{}\n{}", result.stdout, result.stderr), endpoint)
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
            "  cargo fetch {}: {:.2} s wall, cargo CPU {:.2} s, server CPU {:.3} s, {} crates \
             downloaded",
            run + 1,
            r.timing.wall_s,
            r.timing.tool_cpu_s,
            r.timing.server_cpu_s,
            r.log.downloaded
        );
        runs.push(r);
        let _ = std::fs::remove_dir_all(&cargo_home);
        let _ = std::fs::remove_dir_all(&home);
        let _ = std::fs::remove_dir_all(&target);
    }
    Ok(InstallPhase::new(
        "cargo",
        expected.len(),
        dep_publish_s,
        cargo_version,
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
    publish: &Publish,
    check: &DocumentCheck,
    loads: &[NamedLoad],
    fetch: Option<&InstallPhase<CargoLog>>,
) {
    let table = Table {
        name_width: 52,
        value_width: 16,
    };
    table.header();
    let row = |name: &str, value: String| table.row(name, value);
    publish.versions.rows(
        &table,
        "publish",
        &format!("versions of {CRATE}"),
        "version",
    );
    row(
        &format!(
            "publish requests ({} a version)",
            publish.requests / publish.versions.count.max(1)
        ),
        format!("{}", publish.requests),
    );
    row(
        "publish request rate",
        format!("{:.1} /s", publish.request_rate),
    );
    for k in &publish.kinds {
        row(&format!("  {} p50 / p99 / max", k.label), k.text());
    }
    row(
        &format!("index file size ({} lines)", publish.versions.count),
        format!("{:.1} KiB", check.index_bytes as f64 / 1024.0),
    );
    load_rows(&table, loads, cfg.load.connections);
    if let Some(fetch) = fetch {
        let m = &fetch.median_run().timing;
        row(
            &format!(
                "cargo fetch cold, {} crates, median of {}",
                fetch.deps,
                fetch.runs.len()
            ),
            format!("{:.2} s", m.wall_s),
        );
        row(
            "cargo fetch runs",
            fetch
                .runs
                .iter()
                .map(|r| format!("{:.2}", r.timing.wall_s))
                .collect::<Vec<_>>()
                .join(" / "),
        );
        row("  cargo CPU (user+sys)", format!("{:.2} s", m.tool_cpu_s));
        row(
            "  server CPU during cargo fetch",
            format!("{:.3} s", m.server_cpu_s),
        );
        row(
            "  server CPU share of wall time",
            format!("{:.1} %", m.server_cpu_s / m.wall_s * 100.0),
        );
        row(
            "  crates cargo downloaded",
            format!("{}", fetch.median_run().log.downloaded),
        );
        fetch.tail_rows(&table, "publish benchdep (not timed in cargo fetch)");
    }
    row(
        "crates built (in memory, not timed)",
        format!("{build_s:.2} s"),
    );
    trace.rows(&table);

    let mut publish_json = publish.versions.json();
    publish_json["requests"] = publish.requests.into();
    publish_json["request_rate"] = round3(publish.request_rate).into();
    for k in &publish.kinds {
        publish_json[k.key] = k.json();
    }
    let fetch_json = fetch.map(|f| {
        f.json(
            "crates",
            "dep_publish_s",
            |log| json!({ "downloaded": log.downloaded }),
        )
    });
    let mut json = json!({
        "bench": "cargo",
        "server_log": cfg.env.server_log,
        "cpus": cfg.env.cpus,
        "connections": cfg.load.connections,
        "client_threads": cfg.client_threads,
        "warmup_s": cfg.load.warmup.as_secs_f64(),
        "crate_kib": cfg.crate_kib,
        "publish": publish_json,
        "index_bytes": check.index_bytes,
        "config_bytes": check.config_bytes,
        "loads": loads_json(loads),
        "cargo_fetch": fetch_json,
        "build_s": round3(build_s),
    });
    trace.add_json(&mut json);
    println!();
    println!("{json}");
}
