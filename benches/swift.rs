//! Swift package registry benchmark against the real release binary: the swift endpoint as
//! `swift package-registry publish` and `swift package resolve` use it.
//!
//! In order, on one server with a fresh data dir:
//! 1. setup: CreateDomain, CreateRepository, GetRepositoryEndpoint (format swift) and
//!    GetAuthorizationToken, SigV4-signed;
//! 2. **publish**: `BENCH_SWIFT_RELEASES` (20) releases `1.0.0` … of `bench.LinkedList`, one
//!    after another on one keep-alive connection, each as RegistryClient.publish sends it
//!    (`PUT {scope}/{name}/{version}`, multipart with `source-archive` and `metadata`,
//!    `Expect: 100-continue`, `Prefer: respond-async`, `Authorization: Bearer TOKEN`); the
//!    archives are zips laid out as `swift package archive-source` makes them (one top-level
//!    directory, `Package.swift`, `Package@swift-5.9.swift`, one source file);
//! 3. **loads**, each over `BENCH_CONNECTIONS` (32) keep-alive connections for `BENCH_SECS`
//!    (10 s) after `BENCH_WARMUP_SECS` (2 s), with the `Accept` headers SwiftPM sends: the
//!    release list (`+json`), release metadata (`+json`, cycling through the releases), the
//!    manifest `Package.swift` (`+swift`, cycling) and the source archive (`+zip`, cycling);
//!    requests/s, p50/p99/max latency, failures and the server's CPU time.
//!
//! Prints a table, then one JSON line. A benchmark, not a test: nothing asserts on timings.
//!
//! Knobs (environment): `CODEARTIFACT_LOCAL_BIN`, `BENCH_SWIFT_RELEASES` (20),
//! `BENCH_CONNECTIONS` (32), `BENCH_WARMUP_SECS` (2), `BENCH_SECS` (10),
//! `BENCH_CLIENT_THREADS` (1), `BENCH_SERVER_LOG`.

mod support;

use std::io::Write as _;

use serde_json::json;
use support::{
    env_or, expect_200, find, load_rows, loads_json, read_mem, BenchEnv, BoxError, Conn, Endpoint,
    LoadSpec, RepoServer, Table, REQUEST_TIMEOUT,
};

const REPOSITORY: &str = "swift-repo";
const SCOPE: &str = "bench";
const NAME: &str = "LinkedList";

fn main() {
    support::run_or_exit("swift", run);
}

fn run() -> Result<(), BoxError> {
    let env = BenchEnv::from_env()?;
    let releases = env_or("BENCH_SWIFT_RELEASES", 20usize).clamp(1, 500);
    let load = LoadSpec::from_env(REQUEST_TIMEOUT);
    let client_threads = env_or("BENCH_CLIENT_THREADS", 1usize).max(1);
    env.announce("swift", "");
    let repo = RepoServer::start(
        env.start_server()?,
        client_threads,
        env.clk_tck,
        REPOSITORY,
        "swift",
        "swift",
    )?;
    let endpoint = &repo.endpoint;

    // 2. Publish.
    let versions: Vec<String> = (0..releases).map(|i| format!("1.{i}.0")).collect();
    let archives: Vec<Vec<u8>> = versions
        .iter()
        .map(|v| archive(v))
        .collect::<Result<_, BoxError>>()?;
    let publishes: Vec<(String, Vec<u8>)> = versions
        .iter()
        .zip(&archives)
        .map(|(v, a)| (format!("publish {v}"), publish_request(endpoint, v, a)))
        .collect();
    // A synchronous publish answers 201.
    let publish = repo.series_expecting(&publishes, 201)?;
    println!("  published {releases} releases: {}", publish.summary());

    // 3. Loads.
    let base = format!("{}{SCOPE}/{NAME}", endpoint.path);
    let get = |target: String, media: &str| get_request(endpoint, &target, media);
    let list = get(base.clone(), "json");
    let metadata: Vec<Vec<u8>> = versions
        .iter()
        .map(|v| get(format!("{base}/{v}"), "json"))
        .collect();
    let manifests: Vec<Vec<u8>> = versions
        .iter()
        .map(|v| get(format!("{base}/{v}/Package.swift"), "swift"))
        .collect();
    let zips: Vec<Vec<u8>> = versions
        .iter()
        .map(|v| get(format!("{base}/{v}.zip"), "zip"))
        .collect();
    // What the loads fetch, checked once.
    let body_of = |request: &[u8]| {
        repo.runtime.block_on(async {
            let mut conn = Conn::connect(repo.addr()).await?;
            expect_200(&mut conn, request, "swift registry").await
        })
    };
    let list_body = body_of(&list)?;
    let metadata_body = body_of(&metadata[0])?;
    let manifest_body = body_of(&manifests[0])?;
    if versions
        .iter()
        .any(|v| find(&list_body, v.as_bytes()).is_none())
        || find(&metadata_body, b"source-archive").is_none()
        || !manifest_body.starts_with(b"// swift-tools-version")
    {
        return Err("the registry does not list the published releases".into());
    }
    let mean_zip = archives.iter().map(Vec::len).sum::<usize>() as f64 / archives.len() as f64;
    let loader = repo.loader(&load);
    let loads = vec![
        loader.run(
            "release list",
            "releases",
            list_body.len() as f64,
            vec![list],
        )?,
        loader.run(
            "release metadata",
            "release",
            metadata_body.len() as f64,
            metadata,
        )?,
        loader.run(
            "manifest (Package.swift)",
            "manifest",
            manifest_body.len() as f64,
            manifests,
        )?,
        loader.run("source archive", "archive", mean_zip, zips)?,
    ];
    let after_load = read_mem(repo.pid())?;
    let trace = repo.stop(Some(after_load))?;

    let table = Table {
        name_width: 52,
        value_width: 16,
    };
    table.header();
    publish.rows(&table, "publish", "releases", "release");
    load_rows(&table, &loads, load.connections);
    trace.rows(&table);
    let mut json = json!({
        "bench": "swift",
        "server_log": env.server_log,
        "cpus": env.cpus,
        "connections": load.connections,
        "client_threads": client_threads,
        "publish": publish.json(),
        "loads": loads_json(&loads),
    });
    trace.add_json(&mut json);
    println!();
    println!("{json}");
    Ok(())
}

fn get_request(endpoint: &Endpoint, target: &str, media: &str) -> Vec<u8> {
    format!(
        "GET {target} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
         Accept: application/vnd.swift.registry.v1+{media}\r\nUser-Agent: SwiftPackageManager/5.9 (bench)\r\n\r\n",
        endpoint.host, endpoint.token
    )
    .into_bytes()
}

fn publish_request(endpoint: &Endpoint, version: &str, archive: &[u8]) -> Vec<u8> {
    let boundary = "5B4C3A2D-BENCH-BOUNDARY";
    let metadata = format!(
        "{{\"description\":\"{NAME} {version}\",\"repositoryURLs\":[\"https://git.example.invalid/{SCOPE}/{NAME}\"]}}"
    );
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"source-archive\"\r\n\
         Content-Type: application/zip\r\nContent-Transfer-Encoding: binary\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(archive);
    body.extend_from_slice(
        format!(
            "\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\
             Content-Type: application/json\r\n\r\n{metadata}\r\n--{boundary}--\r\n"
        )
        .as_bytes(),
    );
    let mut request = format!(
        "PUT {}{SCOPE}/{NAME}/{version} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
         Accept: application/vnd.swift.registry.v1+json\r\nPrefer: respond-async\r\n\
         Content-Type: multipart/form-data;boundary=\"{boundary}\"\r\nContent-Length: {}\r\n\r\n",
        endpoint.path,
        endpoint.host,
        endpoint.token,
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    request
}

/// A source archive as `swift package archive-source` lays it out.
fn archive(version: &str) -> Result<Vec<u8>, BoxError> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    let files = [
        (
            format!("{NAME}/Package.swift"),
            format!("// swift-tools-version:5.7\nimport PackageDescription\n\nlet package = Package(\n    name: \"{NAME}\",\n    products: [.library(name: \"{NAME}\", targets: [\"{NAME}\"])],\n    targets: [.target(name: \"{NAME}\")]\n)\n"),
        ),
        (
            format!("{NAME}/Package@swift-5.9.swift"),
            format!("// swift-tools-version:5.9\nimport PackageDescription\nlet package = Package(name: \"{NAME}\")\n"),
        ),
        (
            format!("{NAME}/Sources/{NAME}/{NAME}.swift"),
            format!("public struct {NAME} {{ public static let version = \"{version}\" }}\n"),
        ),
    ];
    zip.add_directory(format!("{NAME}/"), options)?;
    for (path, content) in files {
        zip.start_file(path, options)?;
        zip.write_all(content.as_bytes())?;
    }
    Ok(zip.finish()?.into_inner())
}
