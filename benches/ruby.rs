//! RubyGems benchmark against the real release binary: the ruby endpoint as `gem push`,
//! Bundler's resolver and its downloads use it.
//!
//! In order, on one server with a fresh data dir:
//! 1. setup: CreateDomain, CreateRepository, GetRepositoryEndpoint (format ruby) and
//!    GetAuthorizationToken, SigV4-signed;
//! 2. **push**: `BENCH_RUBY_GEMS` (20) gems `bench-dep-NN` 1.0.0 and `bench-app` 1.0.0
//!    depending on all of them, one after another on one keep-alive connection, each as
//!    `gem push` sends it (`POST api/v1/gems`, the raw gem, `Authorization: Bearer TOKEN`).
//!    The gems are built in memory as `gem build` lays them out (a tar holding `metadata.gz`,
//!    the YAML gemspec, and `data.tar.gz` with `lib/NAME.rb`);
//! 3. **loads**, each over `BENCH_CONNECTIONS` (32) keep-alive connections for `BENCH_SECS`
//!    (10 s) after `BENCH_WARMUP_SECS` (2 s), with Basic `aws:TOKEN` as Bundler sends it:
//!    `GET api/v1/dependencies?gems=bench-app` (Marshal 4.8, the resolution hot path), the
//!    same for the app and all its dependencies in one request (as Bundler batches them),
//!    and `GET gems/bench-dep-NN-1.0.0.gem` cycling through the gems; requests/s,
//!    p50/p99/max latency, failures and the server's CPU time;
//! 4. **cold `bundle install`** (`BENCH_RUBY_RUNS`, 3): a Gemfile whose source is the
//!    endpoint naming `bench-app` (so the 20 dependencies too), each run with an empty
//!    BUNDLE_PATH and HOME; the credentials by `bundle config` as AWS documents it.
//!    Reported: the median wall time, Bundler's CPU time and the server's.
//!
//! Bundler runs isolated (a cleared environment but PATH, a temporary HOME) and only ever
//! talks to the local server on 127.0.0.1. Prints a table, then one JSON line. A
//! benchmark, not a test: nothing asserts on timings.
//!
//! Knobs (environment): `CODEARTIFACT_LOCAL_BIN`, `BENCH_RUBY_GEMS` (20),
//! `BENCH_CONNECTIONS` (32), `BENCH_WARMUP_SECS` (2), `BENCH_SECS` (10),
//! `BENCH_CLIENT_THREADS` (1), `BENCH_BUNDLE` (`/usr/bin/bundle`), `BENCH_RUBY_RUNS` (3,
//! 0 skips the install), `BENCH_SERVER_LOG`.

mod support;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::json;
use support::{
    env_or, expect_200, find, load_rows, loads_json, read_mem, run_tool, BenchEnv, BoxError, Conn,
    CpuMeter, Endpoint, InstallPhase, InstallRun, InstallTiming, LoadSpec, RepoServer, Table,
    REQUEST_TIMEOUT,
};

const REPOSITORY: &str = "ruby-repo";
const APP: &str = "bench-app";

fn main() {
    support::run_or_exit("ruby", run);
}

struct Config {
    env: BenchEnv,
    gems: usize,
    load: LoadSpec,
    client_threads: usize,
    bundle: PathBuf,
    runs: usize,
}

fn run() -> Result<(), BoxError> {
    let cfg = Config {
        env: BenchEnv::from_env()?,
        gems: env_or("BENCH_RUBY_GEMS", 20usize).clamp(1, 500),
        load: LoadSpec::from_env(REQUEST_TIMEOUT),
        client_threads: env_or("BENCH_CLIENT_THREADS", 1usize).max(1),
        bundle: std::env::var_os("BENCH_BUNDLE")
            .map_or_else(|| PathBuf::from("/usr/bin/bundle"), PathBuf::from),
        runs: env_or("BENCH_RUBY_RUNS", 3usize),
    };
    cfg.env.announce("ruby", "");
    let repo = RepoServer::start(
        cfg.env.start_server()?,
        cfg.client_threads,
        cfg.env.clk_tck,
        REPOSITORY,
        "ruby",
        "bundle",
    )?;
    let endpoint = &repo.endpoint;

    // 2. Push.
    let deps: Vec<String> = (0..cfg.gems).map(|i| format!("bench-dep-{i:02}")).collect();
    let mut gems: Vec<(String, Vec<u8>)> = deps
        .iter()
        .map(|name| Ok((name.clone(), gem(name, "1.0.0", &[])?)))
        .collect::<Result<_, BoxError>>()?;
    gems.push((APP.to_string(), gem(APP, "1.0.0", &deps)?));
    let pushes: Vec<(String, Vec<u8>)> = gems
        .iter()
        .map(|(name, bytes)| (format!("push {name}"), push_request(endpoint, bytes)))
        .collect();
    let push = repo.series(&pushes)?;
    println!("  pushed {} gems: {}", gems.len(), push.summary());

    // 3. Loads.
    let all = std::iter::once(APP.to_string())
        .chain(deps.iter().cloned())
        .collect::<Vec<_>>()
        .join(",");
    let get = |target: String| get_request(endpoint, &target);
    let downloads: Vec<Vec<u8>> = deps
        .iter()
        .map(|d| get(format!("{}gems/{d}-1.0.0.gem", endpoint.path)))
        .collect();
    let mean_gem = gems.iter().map(|(_, b)| b.len()).sum::<usize>() as f64 / gems.len() as f64;
    let one = get(format!("{}api/v1/dependencies?gems={APP}", endpoint.path));
    let many = get(format!("{}api/v1/dependencies?gems={all}", endpoint.path));
    // What the loads fetch, checked once: Marshal 4.8, naming every gem asked for.
    let body_of = |request: &[u8]| {
        repo.runtime.block_on(async {
            let mut conn = Conn::connect(repo.addr()).await?;
            expect_200(&mut conn, request, "dependency API").await
        })
    };
    let (one_body, many_body) = (body_of(&one)?, body_of(&many)?);
    for (body, names) in [(&one_body, &[APP.to_string()][..]), (&many_body, &deps[..])] {
        let named = |n: &String| find(body, n.as_bytes()).is_some();
        if !body.starts_with(&[4, 8]) || !names.iter().all(named) {
            return Err("the dependency API does not list the pushed gems".into());
        }
    }
    let loader = repo.loader(&cfg.load);
    let loads = vec![
        loader.run(
            "dependency API (1 gem)",
            "dependencies_one",
            one_body.len() as f64,
            vec![one],
        )?,
        loader.run(
            "dependency API (app + deps, one request)",
            "dependencies_all",
            many_body.len() as f64,
            vec![many],
        )?,
        loader.run("gem download", "gem", mean_gem, downloads)?,
    ];
    let after_load = read_mem(repo.pid())?;

    // 4. Cold bundle install.
    let install = if cfg.runs > 0 {
        Some(install_phase(&cfg, &repo, push.seconds)?)
    } else {
        None
    };
    let trace = repo.stop(Some(after_load))?;

    let table = Table {
        name_width: 52,
        value_width: 16,
    };
    table.header();
    push.rows(&table, "push", "gems", "gem");
    load_rows(&table, &loads, cfg.load.connections);
    if let Some(install) = &install {
        install.head_rows(
            &table,
            &format!(
                "bundle install cold, {} gems, median of {}",
                install.deps + 1,
                install.runs.len()
            ),
            "ruby",
        );
        install.tail_rows(&table, "  push the gems (not timed in install)");
    }
    trace.rows(&table);
    let mut json = json!({
        "bench": "ruby",
        "server_log": cfg.env.server_log,
        "cpus": cfg.env.cpus,
        "connections": cfg.load.connections,
        "client_threads": cfg.client_threads,
        "push": push.json(),
        "loads": loads_json(&loads),
        "install": install.map(|i| i.json("deps", "push_s", |()| json!({}))),
    });
    trace.add_json(&mut json);
    println!();
    println!("{json}");
    Ok(())
}

fn get_request(endpoint: &Endpoint, target: &str) -> Vec<u8> {
    format!(
        "GET {target} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\n\
         User-Agent: bundler/v2.3.15 rubygems/v3.3.15 (codeartifact-local bench)\r\n\r\n",
        endpoint.host,
        endpoint.basic_authorization()
    )
    .into_bytes()
}

fn push_request(endpoint: &Endpoint, gem: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "POST {}api/v1/gems HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        endpoint.path,
        endpoint.host,
        endpoint.token,
        gem.len()
    )
    .into_bytes();
    request.extend_from_slice(gem);
    request
}

/// A `.gem` as `gem build` lays it out: `metadata.gz` (the YAML gemspec) and `data.tar.gz`
/// holding `lib/NAME.rb`, every dependency `~> 1.0`.
fn gem(name: &str, version: &str, deps: &[String]) -> Result<Vec<u8>, BoxError> {
    let mut deps_yaml = String::new();
    for d in deps {
        deps_yaml.push_str(&format!(
            "- !ruby/object:Gem::Dependency\n  name: {d}\n  requirement: !ruby/object:Gem::Requirement\n    \
             requirements:\n    - - \"~>\"\n      - !ruby/object:Gem::Version\n        version: '1.0'\n  \
             type: :runtime\n  prerelease: false\n"
        ));
    }
    let deps_key = if deps.is_empty() { " []" } else { "" };
    let gemspec = format!(
        "--- !ruby/object:Gem::Specification\nname: {name}\nversion: !ruby/object:Gem::Version\n  \
         version: {version}\nplatform: ruby\nauthors:\n- Bench\ndate: 2026-01-01 00:00:00.000000000 Z\n\
         dependencies:{deps_key}\n{deps_yaml}files:\n- lib/{name}.rb\nlicenses:\n- MIT\nrequire_paths:\n- lib\n\
         rubygems_version: 3.3.15\nspecification_version: 4\nsummary: {name} for the bench\n"
    );
    let data = tar(&[(
        &format!("lib/{name}.rb"),
        format!("module Bench; end\n# {name} {version}\n").as_bytes(),
    )])?;
    tar(&[
        ("metadata.gz", &gzip(gemspec.as_bytes())?),
        ("data.tar.gz", &gzip(&data)?),
    ])
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>, BoxError> {
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(bytes)?;
    Ok(z.finish()?)
}

fn tar(files: &[(&str, &[u8])]) -> Result<Vec<u8>, BoxError> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o444);
        header.set_mtime(0);
        builder.append_data(&mut header, path, *data)?;
    }
    Ok(builder.into_inner()?)
}

fn install_phase(
    cfg: &Config,
    repo: &RepoServer,
    push_s: f64,
) -> Result<InstallPhase<()>, BoxError> {
    if !cfg.bundle.is_file() {
        return Err(format!(
            "bundle not found at {} (apt-get install ruby-bundler, set BENCH_BUNDLE, or BENCH_RUBY_RUNS=0)",
            cfg.bundle.display()
        )
        .into());
    }
    let endpoint = &repo.endpoint;
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs)?;
    let bundle = |home: &PathBuf, project: &PathBuf| {
        let mut cmd = Command::new(&cfg.bundle);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("BUNDLE_USER_HOME", home.join(".bundle"))
            .env("BUNDLE_GEMFILE", project.join("Gemfile"))
            .env("BUNDLE_PATH", project.join("vendor"))
            .current_dir(project);
        cmd
    };
    let timeout = Duration::from_secs(300);
    let version_home = dir.path().join("home-version");
    std::fs::create_dir_all(&version_home)?;
    let mut version_cmd = bundle(&version_home, &version_home);
    version_cmd.arg("--version");
    let version = run_tool(version_cmd, &logs, "bundle-version", timeout, repo.clk_tck)?;
    let mut runs = Vec::new();
    for i in 0..cfg.runs {
        let home = dir.path().join(format!("home-{i}"));
        let project = dir.path().join(format!("project-{i}"));
        std::fs::create_dir_all(&home)?;
        std::fs::create_dir_all(&project)?;
        std::fs::write(
            project.join("Gemfile"),
            format!("source \"{}\"\ngem \"{APP}\"\n", endpoint.url),
        )?;
        let mut config = bundle(&home, &project);
        config.args([
            "config",
            "set",
            "--global",
            endpoint.url.trim_end_matches('/'),
            &format!("aws:{}", endpoint.token),
        ]);
        run_tool(config, &logs, &format!("config-{i}"), timeout, repo.clk_tck)?;
        let mut install = bundle(&home, &project);
        install.arg("install");
        let meter = CpuMeter::start(repo.pid())?;
        let out = run_tool(
            install,
            &logs,
            &format!("install-{i}"),
            timeout,
            repo.clk_tck,
        )?;
        let (server_cpu_s, _) = meter.read(repo.clk_tck)?;
        let installed = out.stdout.matches("Installing bench-").count();
        if !out.stdout.contains("Bundle complete!") || installed != cfg.gems + 1 {
            return Err(format!(
                "bundle install {i} installed {installed} gems:\n{}",
                out.stdout
            )
            .into());
        }
        runs.push(InstallRun {
            timing: InstallTiming {
                wall_s: out.wall_s,
                tool_cpu_s: out.cpu_s,
                server_cpu_s,
            },
            log: (),
        });
    }
    Ok(InstallPhase::new(
        "bundle",
        cfg.gems,
        push_s,
        version.stdout.trim().to_string(),
        version.wall_s,
        runs,
    ))
}
