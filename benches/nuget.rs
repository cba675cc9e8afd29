//! NuGet benchmark against the real release binary: the nuget endpoint as `dotnet restore`,
//! `nuget install` and Visual Studio read it.
//!
//! In order, on one server with a fresh data dir:
//! 1. setup: CreateDomain, CreateRepository, GetRepositoryEndpoint (format nuget) and
//!    GetAuthorizationToken, SigV4-signed;
//! 2. **push**: `BENCH_NUGET_DEPS` (20) packages `Bench.Dep.NN` 1.0.0, then
//!    `BENCH_NUGET_VERSIONS` (20) versions `1.0.N` of `Bench.App`, each depending on every
//!    `Bench.Dep.NN`, one after another on one keep-alive connection, each as `dotnet nuget
//!    push` sends it (`PUT v2/package/`, multipart/form-data with the part `package`, Basic
//!    `aws:TOKEN`). The packages are built in memory as `dotnet pack` lays them out;
//! 3. **loads**, each over `BENCH_CONNECTIONS` (32) keep-alive connections for `BENCH_SECS`
//!    (10 s) after `BENCH_WARMUP_SECS` (2 s), with Basic `aws:TOKEN`: the registration index
//!    of `Bench.App` (every version inlined with its dependency groups: what `nuget install`
//!    and Visual Studio read), the flat-container version list of `Bench.App` (what `dotnet
//!    restore` reads for each id), the service index, and `.nupkg` downloads cycling through
//!    the dependencies; requests/s, p50/p99/max latency, failures and the server's CPU time.
//!
//! Prints a table, then one JSON line. A benchmark, not a test: nothing asserts on timings.
//!
//! Knobs (environment): `CODEARTIFACT_LOCAL_BIN`, `BENCH_NUGET_DEPS` (20),
//! `BENCH_NUGET_VERSIONS` (20), `BENCH_CONNECTIONS` (32), `BENCH_WARMUP_SECS` (2),
//! `BENCH_SECS` (10), `BENCH_CLIENT_THREADS` (1), `BENCH_SERVER_LOG`.

mod support;

use std::io::Write as _;
use std::time::Instant;

use serde_json::json;
use support::{
    env_or, expect_200, find, load_rows, loads_json, read_mem, round3, BoxError, Conn, Endpoint,
    LoadSpec, RepoServer, Table, REQUEST_TIMEOUT,
};

const REPOSITORY: &str = "nuget-repo";
const APP: &str = "Bench.App";

fn main() {
    support::run_or_exit("nuget", run);
}

fn run() -> Result<(), BoxError> {
    let env = support::BenchEnv::from_env()?;
    let deps_n = env_or("BENCH_NUGET_DEPS", 20usize).clamp(1, 500);
    let versions_n = env_or("BENCH_NUGET_VERSIONS", 20usize).clamp(1, 500);
    let load = LoadSpec::from_env(REQUEST_TIMEOUT);
    let client_threads = env_or("BENCH_CLIENT_THREADS", 1usize).max(1);
    env.announce("nuget", "");
    let repo = RepoServer::start(
        env.start_server()?,
        client_threads,
        env.clk_tck,
        REPOSITORY,
        "nuget",
        "dotnet",
    )?;
    let endpoint = &repo.endpoint;

    // 2. Push.
    let deps: Vec<String> = (0..deps_n).map(|i| format!("Bench.Dep.{i:02}")).collect();
    let mut packages: Vec<Vec<u8>> = deps
        .iter()
        .map(|id| nupkg(id, "1.0.0", &[]))
        .collect::<Result<_, _>>()?;
    for v in 0..versions_n {
        packages.push(nupkg(APP, &format!("1.0.{v}"), &deps)?);
    }
    let pushed = Instant::now();
    let mut push_ms: Vec<f64> = Vec::with_capacity(packages.len());
    repo.runtime.block_on(async {
        let mut conn = Conn::connect(repo.addr()).await?;
        for package in &packages {
            let sent = Instant::now();
            let reply = conn
                .roundtrip(&push_request(endpoint, package), true)
                .await?;
            if reply.status != 201 {
                return Err(format!(
                    "push: HTTP {}: {}",
                    reply.status,
                    String::from_utf8_lossy(&reply.body)
                )
                .into());
            }
            push_ms.push(sent.elapsed().as_secs_f64() * 1e3);
        }
        Ok::<(), BoxError>(())
    })?;
    let push_s = pushed.elapsed().as_secs_f64();
    push_ms.sort_by(f64::total_cmp);
    println!(
        "  pushed {} packages in {:.2}s (p50 {:.1} ms)",
        packages.len(),
        push_s,
        push_ms[push_ms.len() / 2]
    );

    // 3. Loads.
    let get = |target: String| get_request(endpoint, &target);
    let app = APP.to_lowercase();
    let registration = get(format!(
        "{}v3/registration4/{app}/index.json",
        endpoint.path
    ));
    let flat = get(format!("{}v3/package/{app}/index.json", endpoint.path));
    let index = get(format!("{}v3/index.json", endpoint.path));
    let downloads: Vec<Vec<u8>> = deps
        .iter()
        .map(|d| {
            let d = d.to_lowercase();
            get(format!(
                "{}v3/package/{d}/1.0.0/{d}.1.0.0.nupkg",
                endpoint.path
            ))
        })
        .collect();
    let mean_nupkg = packages[..deps_n].iter().map(Vec::len).sum::<usize>() as f64 / deps_n as f64;
    // What the loads fetch, checked once.
    let body_of = |request: &[u8], what: &str| {
        repo.runtime.block_on(async {
            let mut conn = Conn::connect(repo.addr()).await?;
            expect_200(&mut conn, request, what).await
        })
    };
    let registration_body = body_of(&registration, "registration index")?;
    let flat_body = body_of(&flat, "flat container")?;
    let index_body = body_of(&index, "service index")?;
    let last = format!("\"1.0.{}\"", versions_n - 1);
    if find(&registration_body, last.as_bytes()).is_none()
        || find(&registration_body, b"Bench.Dep.00").is_none()
        || find(&flat_body, last.as_bytes()).is_none()
        || find(&index_body, b"PackageBaseAddress/3.0.0").is_none()
    {
        return Err("the endpoint does not list the pushed packages".into());
    }
    let loader = repo.loader(&load);
    let loads = vec![
        loader.run(
            "registration index (all versions inlined)",
            "registration",
            registration_body.len() as f64,
            vec![registration],
        )?,
        loader.run(
            "flat container version list",
            "flat_container",
            flat_body.len() as f64,
            vec![flat],
        )?,
        loader.run(
            "service index",
            "service_index",
            index_body.len() as f64,
            vec![index],
        )?,
        loader.run(".nupkg download", "nupkg", mean_nupkg, downloads)?,
    ];
    let after_load = read_mem(repo.pid())?;
    let trace = repo.stop(Some(after_load))?;

    let table = Table {
        name_width: 52,
        value_width: 16,
    };
    table.header();
    load_rows(&table, &loads, load.connections);
    trace.rows(&table);
    let mut json = json!({
        "bench": "nuget",
        "server_log": env.server_log,
        "cpus": env.cpus,
        "connections": load.connections,
        "client_threads": client_threads,
        "push": {
            "packages": packages.len(),
            "seconds": round3(push_s),
            "p50_ms": round3(push_ms[push_ms.len() / 2]),
        },
        "loads": loads_json(&loads),
    });
    trace.add_json(&mut json);
    println!();
    println!("{json}");
    Ok(())
}

fn get_request(endpoint: &Endpoint, target: &str) -> Vec<u8> {
    format!(
        "GET {target} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\n\
         User-Agent: NuGet .NET Core MSBuild Task/6.12.1 (codeartifact-local bench)\r\n\
         X-NuGet-Session-Id: 00000000-0000-0000-0000-000000000000\r\n\r\n",
        endpoint.host,
        endpoint.basic_authorization()
    )
    .into_bytes()
}

/// `dotnet nuget push` (NuGet.Protocol's PackageUpdateResource): a multipart PUT with one
/// part named `package`, here with a Content-Length rather than chunked.
fn push_request(endpoint: &Endpoint, package: &[u8]) -> Vec<u8> {
    let boundary = "8f0d2f2e-bench-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Type: application/octet-stream\r\n\
         Content-Disposition: form-data; name=package; filename=package.nupkg\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(package);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let mut request = format!(
        "PUT {}v2/package/ HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\n\
         Content-Type: multipart/form-data; boundary=\"{boundary}\"\r\nContent-Length: {}\r\n\r\n",
        endpoint.path,
        endpoint.host,
        endpoint.basic_authorization(),
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    request
}

/// A `.nupkg` as `dotnet pack` lays it out: the nuspec at the root (dependencies for
/// net8.0), `[Content_Types].xml`, `_rels/.rels` and `lib/net8.0/{id}.dll`.
fn nupkg(id: &str, version: &str, deps: &[String]) -> Result<Vec<u8>, BoxError> {
    let deps_xml: String = deps
        .iter()
        .map(|d| format!("<dependency id=\"{d}\" version=\"1.0.0\" exclude=\"Build,Analyzers\" />"))
        .collect();
    let nuspec = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<package xmlns=\"http://schemas.microsoft.com/\
         packaging/2013/05/nuspec.xsd\"><metadata><id>{id}</id><version>{version}</version>\
         <authors>Bench</authors><description>{id} for the bench</description>\
         <license type=\"expression\">MIT</license><dependencies><group targetFramework=\"net8.0\">\
         {deps_xml}</group></dependencies></metadata></package>"
    );
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    let options = zip::write::SimpleFileOptions::default();
    for (name, data) in [
        ("_rels/.rels".to_string(), b"<Relationships/>".to_vec()),
        (format!("{id}.nuspec"), nuspec.into_bytes()),
        (format!("lib/net8.0/{id}.dll"), vec![0x4d; 4096]),
        ("[Content_Types].xml".to_string(), b"<Types/>".to_vec()),
    ] {
        zip.start_file(name, options)?;
        zip.write_all(&data)?;
    }
    zip.finish()?;
    Ok(out.into_inner())
}
