//! State-scaling benchmark: how each cost grows with the state a server holds.
//!
//! Builds, offline, a domain of `100,000 × S` package versions over `20,000 × S` packages
//! (npm, PyPI, Maven, generic, cargo), with one npm package of `5,000 × S` versions and one
//! Maven artifact of `2,000 × S`, and a chain of 10 repositories (`big` → `chain-1` → … →
//! `chain-9`) whose last one has the npm external connection, served from a local
//! directory (`--external-connection public:npmjs=dir:…`, loopback only). `S` is each
//! scale of `BENCH_SCALES` (default `1,10`).
//!
//! Building the state: a publish commits (and flushes the store) once per version, which
//! would take hours for a million versions, so the bench opens the registry in-process and
//! writes the versions through `Registry::import_versions` (the registry's own write path:
//! the same rules, reference counts and usage, as one atomic commit per batch of versions),
//! then starts the release binary on that data directory. Asset bytes come from a pool of
//! 64 blobs shared by every version (the disk holds the metadata of a million versions, not
//! a million files): "store size per version" is the metadata store's.
//!
//! For each scale, each binary (`CODEARTIFACT_LOCAL_BIN`, and `BENCH_BASELINE_BIN` when
//! set, interleaved on the same data directory, `BENCH_RUNS` times) is measured:
//! start-to-ready (spawn until `/health` answers) and RSS at rest; `ListPackages` and
//! `ListPackageVersions` latency on the first and the last page (SigV4-signed); the big
//! packument and the big `maven-metadata.xml`, cold (first request of the process) and
//! cached; a version found only in `chain-9`, and one found only behind the external
//! connection, each fetched cold through the chain; an npm publish of a new version into
//! the big package; `DescribeDomain`; `CreateRepository` + `DeleteRepository` of a
//! repository in the large domain. Then the store's size on disk per version.
//!
//! Prints a table, then one JSON line. A benchmark, not a test: nothing asserts on timings.
//!
//! Knobs: `CODEARTIFACT_LOCAL_BIN`, `BENCH_BASELINE_BIN`, `BENCH_SCALES` (`1,10`),
//! `BENCH_RUNS` (3), `BENCH_DIR` (where the states are built; a temporary directory),
//! `BENCH_UPSTREAM_TTL` (the servers' `--upstream-metadata-ttl-seconds`, default 0: the big
//! repository's upstreams reach the external connection, so its pages are then rendered
//! on every request, and "cached" measures a re-render).

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use codeartifact_local::clock::Clock;
use codeartifact_local::registry::{
    AssetRef, DomainId, Import, Origin, PackageId, Quotas, Registry, Scope, VersionMetadata,
    VersionRecord, VersionStatus,
};
use flate2::write::GzEncoder;
use serde_json::{json, Value};
use support::{env_or, read_mem, round3, signed_request, BoxError, Conn, Table, DOMAIN};

const OWNER: &str = "000000000000";
const REGION: &str = "us-east-1";
const CHAIN: usize = 10;
const BATCH: usize = 20_000;
const POOL: usize = 64;
/// External-only and chain-end packages, one per cold fetch.
const PROBES: usize = 64;

fn main() {
    support::run_or_exit("scale", run);
}

fn ms(d: Duration) -> f64 {
    round3(d.as_secs_f64() * 1000.0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

// ---------------------------------------------------------------------------------------
// Building the state

/// What a built state holds, for the measurements to address.
struct State {
    dir: PathBuf,
    external: PathBuf,
    versions: usize,
    packages: usize,
    /// The sort key of the package 50 before the end of `big`'s listing.
    near_last_package: (String, String, String),
    /// The first open after the build (sled replays the log written since its last open).
    first_open_ms: f64,
}

fn version_string(k: usize) -> String {
    format!("1.{}.{}", k / 1000, k % 1000)
}

/// A small package's format, namespace and name.
fn small_package(i: usize) -> (&'static str, Option<String>, String) {
    match i % 5 {
        0 => ("npm", None, format!("pkg-{i:07}")),
        1 => ("pypi", None, format!("py-{i:07}")),
        2 => (
            "maven",
            Some(format!("org.bench.g{:03}", i % 97)),
            format!("art-{i:07}"),
        ),
        3 => (
            "generic",
            Some(format!("ns{:02}", i % 53)),
            format!("gen-{i:07}"),
        ),
        _ => ("cargo", None, format!("crate-{i:07}")),
    }
}

fn asset_names(format: &str, name: &str, version: &str) -> Vec<String> {
    match format {
        "npm" => vec![format!("{name}-{version}.tgz")],
        "pypi" => vec![format!(
            "{}-{version}-py3-none-any.whl",
            name.replace('-', "_")
        )],
        "maven" => vec![
            format!("{name}-{version}.jar"),
            format!("{name}-{version}.pom"),
        ],
        "cargo" => vec![format!("{name}-{version}.crate")],
        _ => vec![format!("{name}-{version}.bin")],
    }
}

fn record(
    format: &str,
    name: &str,
    version: &str,
    repository: &str,
    published_ms: i64,
    pool: &[(String, u64)],
    k: usize,
) -> VersionRecord {
    let assets = asset_names(format, name, version)
        .into_iter()
        .enumerate()
        .map(|(j, asset)| {
            let (sha256, size) = &pool[(k + j) % pool.len()];
            AssetRef {
                name: asset,
                sha256: sha256.clone(),
                size: *size,
                properties: BTreeMap::new(),
            }
        })
        .collect();
    let manifest = (format == "npm").then(|| {
        json!({"name": name, "version": version, "description": "scale bench", "license": "MIT"})
    });
    VersionRecord {
        version: version.to_string(),
        status: VersionStatus::Published,
        revision: String::new(),
        origin: Origin::Internal {
            repository: repository.to_string(),
        },
        published_ms,
        assets,
        metadata: VersionMetadata {
            manifest,
            summary: Some("scale bench".into()),
            ..VersionMetadata::default()
        },
    }
}

/// An npm tarball whose package.json names the package.
fn npm_tarball(name: &str, version: &str) -> Result<Vec<u8>, BoxError> {
    let manifest = serde_json::to_vec(&json!({"name": name, "version": version}))?;
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    let mut header = tar::Header::new_ustar();
    header.set_path("package/package.json")?;
    header.set_size(manifest.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(1_700_000_000);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    builder.append(&header, manifest.as_slice())?;
    Ok(builder.into_inner()?.finish()?)
}

fn build(root: &Path, scale: usize) -> Result<State, BoxError> {
    let started = Instant::now();
    let dir = root.join(format!("state-{scale}x"));
    let external = root.join(format!("external-{scale}x"));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&external);
    std::fs::create_dir_all(&external)?;
    for j in 0..PROBES {
        let name = format!("ext-{j:03}");
        std::fs::write(
            external.join(format!("{name}-1.0.0.tgz")),
            npm_tarball(&name, "1.0.0")?,
        )?;
    }
    let clock = Arc::new(Clock::system());
    let registry = Registry::open(&dir, clock, Quotas::default()).map_err(|e| format!("{e:?}"))?;
    let scope = Scope {
        region: REGION,
        account: OWNER,
    };
    let d = DomainId {
        region: REGION,
        owner: OWNER,
        name: DOMAIN,
    };
    let e = |e| format!("{e:?}");
    registry
        .create_domain(scope, DOMAIN, None, &[])
        .map_err(e)?;
    let mut repos = Vec::new();
    for i in (0..CHAIN).rev() {
        let name = if i == 0 {
            "big".to_string()
        } else {
            format!("chain-{i}")
        };
        let upstreams: Vec<String> = repos
            .last()
            .map(|r: &codeartifact_local::registry::RepositoryRecord| vec![r.name.clone()])
            .unwrap_or_default();
        let repo = registry
            .create_repository(scope, d, &name, None, &upstreams, &[])
            .map_err(e)?;
        let repo = if i == CHAIN - 1 {
            registry
                .associate_external_connection(d, &name, "public:npmjs")
                .map_err(e)?
        } else {
            repo
        };
        repos.push(repo);
    }
    repos.reverse(); // repos[0] = big, repos[9] = chain-9
    let mut staged = Vec::new();
    let mut pool = Vec::new();
    for b in 0..POOL {
        let blob = registry.stage_bytes(&support::pseudo_random(b as u64 + 1, 1024))?;
        pool.push((blob.digests().sha256.clone(), blob.size()));
        staged.push(blob);
    }
    let now = clock_now();
    let packages = 20_000 * scale;
    let versions = 100_000 * scale;
    let big_npm = 5_000 * scale;
    let big_maven = 2_000 * scale;
    let small_versions = versions - big_npm - big_maven;
    let small_packages = packages - 2;
    let per = small_versions / small_packages;
    let extra = small_versions % small_packages;
    // Per repository, the versions to import, in batches.
    let mut pending: Vec<Vec<Import>> = (0..CHAIN).map(|_| Vec::new()).collect();
    let mut staged = Some(staged);
    let mut k = 0usize;
    let mut flush =
        |repo: usize, pending: &mut Vec<Vec<Import>>, force: bool| -> Result<(), BoxError> {
            if pending[repo].len() >= BATCH || (force && !pending[repo].is_empty()) {
                let items = std::mem::take(&mut pending[repo]);
                registry
                    .import_versions(&repos[repo], staged.take().unwrap_or_default(), items)
                    .map_err(|e| format!("{e:?}"))?;
            }
            Ok(())
        };
    let mut big_keys = Vec::new();
    let push = |pending: &mut Vec<Vec<Import>>,
                repo: usize,
                format: &str,
                namespace: Option<String>,
                name: &str,
                version: String,
                k: usize| {
        let published = now - i64::try_from(versions - k.min(versions)).unwrap_or(0) * 10;
        let version = record(
            format,
            name,
            &version,
            &repos[repo].name,
            published,
            &pool,
            k,
        );
        pending[repo].push(Import {
            package: PackageId {
                format: format.to_string(),
                namespace: namespace.clone(),
                name: name.to_string(),
            },
            display_name: name.to_string(),
            version,
        });
    };
    for v in 0..big_npm {
        push(
            &mut pending,
            0,
            "npm",
            None,
            "big-npm",
            version_string(v),
            k,
        );
        k += 1;
        flush(0, &mut pending, false)?;
    }
    big_keys.push(("npm".to_string(), String::new(), "big-npm".to_string()));
    for v in 0..big_maven {
        push(
            &mut pending,
            0,
            "maven",
            Some("org.bench.big".into()),
            "big-maven",
            version_string(v),
            k,
        );
        k += 1;
        flush(0, &mut pending, false)?;
    }
    big_keys.push((
        "maven".to_string(),
        "org.bench.big".to_string(),
        "big-maven".to_string(),
    ));
    for i in 0..small_packages {
        // Nine in ten packages live in `big`, the rest along the chain.
        let repo = if i % 10 == 9 {
            1 + (i / 10) % (CHAIN - 1)
        } else {
            0
        };
        let (format, namespace, name) = small_package(i);
        let count = per + usize::from(i < extra);
        for v in 0..count {
            push(
                &mut pending,
                repo,
                format,
                namespace.clone(),
                &name,
                version_string(v),
                k,
            );
            k += 1;
            flush(repo, &mut pending, false)?;
        }
        if repo == 0 {
            big_keys.push((
                format.to_string(),
                namespace.clone().unwrap_or_default(),
                name,
            ));
        }
    }
    // The chain's end: packages only `chain-9` holds.
    for j in 0..PROBES {
        push(
            &mut pending,
            CHAIN - 1,
            "npm",
            None,
            &format!("deep-{j:03}"),
            "1.0.0".into(),
            k,
        );
    }
    for repo in 0..CHAIN {
        flush(repo, &mut pending, true)?;
    }
    drop(registry);
    let built = started.elapsed();
    // sled folds its log into a snapshot when it opens, and only then: the first open
    // after a million writes replays them all. Done here once, timed, so that every
    // measured start finds the same store.
    let reopened = Instant::now();
    drop(
        Registry::open(&dir, Arc::new(Clock::system()), Quotas::default())
            .map_err(|e| format!("{e:?}"))?,
    );
    let first_open = reopened.elapsed();
    big_keys.sort();
    let near_last_package = big_keys[big_keys.len() - 51].clone();
    println!(
        "  built {scale}×: {versions} versions, {packages} packages in {:.1} s; \
         first open after the build {:.0} ms",
        built.as_secs_f64(),
        ms(first_open)
    );
    Ok(State {
        dir,
        external,
        versions: versions + PROBES,
        packages,
        near_last_package,
        first_open_ms: ms(first_open),
    })
}

/// A copy of a built state for the baseline binary, which may be a release from before
/// the store's schema 2: the same records, schema 1 and no version-order index (derived
/// keys under `vord/`, which schema 2 added). Written with sled directly, the engine both
/// releases use. A baseline of schema 2 rebuilds the index the first time it opens the
/// copy, before it says it is ready (its first run's start-up includes that).
fn copy_for_previous_release(dir: &Path, copy: &Path) -> Result<(), BoxError> {
    let _ = std::fs::remove_dir_all(copy);
    let status = Command::new("cp").arg("-a").arg(dir).arg(copy).status()?;
    if !status.success() {
        return Err(format!("cp -a {} {}: {status}", dir.display(), copy.display()).into());
    }
    let db = sled::open(copy.join("metadata"))?;
    let mut batch = sled::Batch::default();
    for key in db.scan_prefix(b"vord/").keys() {
        batch.remove(key?);
    }
    batch.insert(&b"schema"[..], &br#"{"version":1}"#[..]);
    db.apply_batch(batch)?;
    db.flush()?;
    Ok(())
}

fn clock_now() -> i64 {
    Clock::system().now_ms()
}

// ---------------------------------------------------------------------------------------
// The server on a built state

struct Running {
    child: Child,
    addr: SocketAddr,
    ready_ms: f64,
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if matches!(self.child.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn start(bin: &Path, dir: &Path, state: &State) -> Result<Running, BoxError> {
    let spawned = Instant::now();
    let mut child = Command::new(bin)
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .arg("--external-connection")
        .arg(format!("public:npmjs=dir:{}", state.external.display()))
        .arg("--upstream-metadata-ttl-seconds")
        .arg(env_or("BENCH_UPSTREAM_TTL", 0u64).to_string())
        .env("RUST_LOG", "warn,codeartifact_local=info,access=warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stderr);
        let mut line = String::new();
        let mut sent = false;
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if !sent && line.contains("ready") {
                if let Some(addr) = line
                    .split("listen=")
                    .nth(1)
                    .and_then(|r| {
                        r.split(|c: char| c.is_whitespace() || c == ',' || c == '"')
                            .next()
                    })
                    .and_then(|a| a.parse::<SocketAddr>().ok())
                {
                    let _ = tx.send(addr);
                    sent = true;
                }
            }
        }
    });
    let mut running = Running {
        child,
        addr: "127.0.0.1:1".parse()?,
        ready_ms: 0.0,
    };
    let addr = rx
        .recv_timeout(Duration::from_secs(120))
        .map_err(|_| "the server logged no ready line within 120 s")?;
    running.addr = addr;
    loop {
        if let Ok(mut s) = std::net::TcpStream::connect(addr) {
            use std::io::Write as _;
            let _ = s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let mut buf = Vec::new();
            let _ = s.read_to_end(&mut buf);
            if buf.starts_with(b"HTTP/1.1 200") {
                break;
            }
        }
        if spawned.elapsed() > Duration::from_secs(120) {
            return Err("server not healthy within 120 s".into());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    running.ready_ms = ms(spawned.elapsed());
    Ok(running)
}

/// One request's latency and reply.
async fn timed(conn: &mut Conn, request: &[u8], what: &str) -> Result<(f64, Vec<u8>), BoxError> {
    let t = Instant::now();
    let reply = conn.roundtrip(request, true).await?;
    let elapsed = ms(t.elapsed());
    let body = reply.ok(what)?;
    Ok((elapsed, body))
}

fn get(host: &str, path: &str, token: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nAccept: application/json\r\n\r\n"
    )
    .into_bytes()
}

/// The `after` of the token whose page of 100 holds exactly the 50 oldest versions of the
/// big package: pages through once to count them, then again to stop 50 short of the end.
/// Untimed.
async fn token_before_last_50(
    conn: &mut Conn,
    list_versions: &dyn Fn(Option<String>, usize) -> Result<Vec<u8>, BoxError>,
) -> Result<String, BoxError> {
    let (mut total, mut after) = (0, None);
    loop {
        let (count, next) = versions_page(conn, list_versions(after, 1000)?).await?;
        total += count;
        match next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let mut left = total.checked_sub(50).ok_or("fewer than 50 versions")?;
    let mut after = None;
    while left > 0 {
        let take = match left % 1000 {
            0 => 1000,
            rest => rest,
        };
        let (count, next) = versions_page(conn, list_versions(after, take)?).await?;
        left -= count;
        after = Some(next.ok_or("the listing ended early")?);
    }
    after.ok_or_else(|| "no token before the last page".into())
}

/// A page's number of versions and its token's `after`, when one is given.
async fn versions_page(
    conn: &mut Conn,
    request: Vec<u8>,
) -> Result<(usize, Option<String>), BoxError> {
    let (_, body) = timed(conn, &request, "ListPackageVersions paging").await?;
    let page: Value = serde_json::from_slice(&body)?;
    let count = page["versions"].as_array().map_or(0, Vec::len);
    let next = match page["nextToken"].as_str() {
        Some(token) => {
            let cursor = base64::engine::general_purpose::STANDARD.decode(token)?;
            let cursor: Value = serde_json::from_slice(&cursor)?;
            Some(
                cursor["after"]
                    .as_str()
                    .ok_or("a token without after")?
                    .to_owned(),
            )
        }
        None => None,
    };
    Ok((count, next))
}

fn token_after(list: &str, after: &str) -> String {
    let cursor = json!({ "list": list, "after": after });
    base64::engine::general_purpose::STANDARD.encode(cursor.to_string())
}

fn query(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn npm_publish_body(name: &str, version: &str, url: &str) -> Result<Vec<u8>, BoxError> {
    let tarball = npm_tarball(name, version)?;
    let file = format!("{name}-{version}.tgz");
    let body = json!({
        "_id": name, "name": name,
        "dist-tags": { "latest": version },
        "versions": { version: {
            "name": name, "version": version, "_id": format!("{name}@{version}"),
            "dist": { "tarball": format!("{url}{name}/-/{file}") },
        }},
        "_attachments": { file: {
            "content_type": "application/octet-stream",
            "data": base64::engine::general_purpose::STANDARD.encode(&tarball),
            "length": tarball.len(),
        }},
    });
    Ok(serde_json::to_vec(&body)?)
}

/// Every measure of one server run, by name (milliseconds, KiB).
type Measures = BTreeMap<&'static str, f64>;

async fn measure(
    run: &Running,
    state: &State,
    probe: usize,
    tag: &str,
) -> Result<Measures, BoxError> {
    let mut m = Measures::new();
    let host = run.addr.to_string();
    let mut conn = Conn::connect(run.addr).await?;
    let control = |method: &str, path: &str| {
        signed_request(
            method,
            path,
            &host,
            if method == "POST" { b"{}" } else { b"" },
        )
    };
    let base = format!("/v1/package/versions?domain={DOMAIN}&repository=big");
    let _ = base;
    // Token and endpoint paths.
    let (_, body) = timed(
        &mut conn,
        &control("POST", &format!("/v1/authorization-token?domain={DOMAIN}"))?,
        "GetAuthorizationToken",
    )
    .await?;
    let token = serde_json::from_slice::<Value>(&body)?["authorizationToken"]
        .as_str()
        .ok_or("no token")?
        .to_owned();
    let npm = format!("/npm/d/{DOMAIN}-{OWNER}/big/");
    let maven = format!("/maven/d/{DOMAIN}-{OWNER}/big/");

    // Cold documents first: nothing has been read by this process yet.
    let (t, _) = timed(
        &mut conn,
        &get(&host, &format!("{npm}big-npm"), &token),
        "packument",
    )
    .await?;
    m.insert("packument_cold_ms", t);
    let mut cached = Vec::new();
    for _ in 0..5 {
        cached.push(
            timed(
                &mut conn,
                &get(&host, &format!("{npm}big-npm"), &token),
                "packument",
            )
            .await?
            .0,
        );
    }
    m.insert("packument_cached_ms", median(cached));
    let meta = format!("{maven}org/bench/big/big-maven/maven-metadata.xml");
    let (t, _) = timed(&mut conn, &get(&host, &meta, &token), "maven-metadata.xml").await?;
    m.insert("maven_metadata_cold_ms", t);
    let mut cached = Vec::new();
    for _ in 0..5 {
        cached.push(
            timed(&mut conn, &get(&host, &meta, &token), "maven-metadata.xml")
                .await?
                .0,
        );
    }
    m.insert("maven_metadata_cached_ms", median(cached));

    // Listings: first and last page.
    let list_packages = |after: Option<&str>| {
        let mut path = format!("/v1/packages?domain={DOMAIN}&repository=big&max-results=100");
        if let Some(after) = after {
            path.push_str(&format!(
                "&next-token={}",
                query(&token_after("ListPackages", after))
            ));
        }
        control("POST", &path)
    };
    let mut first = Vec::new();
    let mut last = Vec::new();
    let (f, ns, n) = &state.near_last_package;
    let after = format!("{f}\u{0}{ns}\u{0}{n}");
    for _ in 0..5 {
        first.push(
            timed(&mut conn, &list_packages(None)?, "ListPackages")
                .await?
                .0,
        );
        let (t, body) = timed(
            &mut conn,
            &list_packages(Some(&after))?,
            "ListPackages last",
        )
        .await?;
        let page: Value = serde_json::from_slice(&body)?;
        let count = page["packages"].as_array().map_or(0, Vec::len);
        if count != 50 || page.get("nextToken").is_some_and(|t| !t.is_null()) {
            return Err(format!(
                "ListPackages last page: {count} packages, {}",
                page["nextToken"]
            )
            .into());
        }
        last.push(t);
    }
    m.insert("list_packages_first_ms", median(first));
    m.insert("list_packages_last_ms", median(last));
    let list_versions_of = |after: Option<String>, max: usize| {
        let mut path = format!(
            "/v1/package/versions?domain={DOMAIN}&repository=big&format=npm&package=big-npm&max-results={max}"
        );
        if let Some(after) = after {
            path.push_str(&format!(
                "&next-token={}",
                query(&token_after("ListPackageVersions", &after))
            ));
        }
        control("POST", &path)
    };
    let list_versions = |after: Option<String>| list_versions_of(after, 100);
    let mut first = Vec::new();
    let mut last = Vec::new();
    // The token whose page holds the 50 oldest versions, found by paging as a client does
    // (tokens are the server's own: a position in the old release, a key in the new).
    let after = token_before_last_50(&mut conn, &list_versions_of).await?;
    for _ in 0..5 {
        first.push(
            timed(&mut conn, &list_versions(None)?, "ListPackageVersions")
                .await?
                .0,
        );
        let (t, body) = timed(
            &mut conn,
            &list_versions(Some(after.clone()))?,
            "ListPackageVersions last",
        )
        .await?;
        let page: Value = serde_json::from_slice(&body)?;
        let count = page["versions"].as_array().map_or(0, Vec::len);
        if count < 50 {
            return Err(format!("ListPackageVersions last page: {count} versions").into());
        }
        last.push(t);
    }
    m.insert("list_versions_first_ms", median(first));
    m.insert("list_versions_last_ms", median(last));

    // Through the chain, cold: a version only chain-9 holds, then one only the external
    // connection has (each package fetched once, ever).
    let name = format!("deep-{probe:03}");
    let (t, _) = timed(
        &mut conn,
        &get(&host, &format!("{npm}{name}/-/{name}-1.0.0.tgz"), &token),
        "chain-end tarball",
    )
    .await?;
    m.insert("chain_end_tarball_ms", t);
    let name = format!("ext-{probe:03}");
    let (t, _) = timed(
        &mut conn,
        &get(&host, &format!("{npm}{name}"), &token),
        "external packument",
    )
    .await?;
    m.insert("external_packument_ms", t);
    let (t, _) = timed(
        &mut conn,
        &get(&host, &format!("{npm}{name}/-/{name}-1.0.0.tgz"), &token),
        "external tarball",
    )
    .await?;
    m.insert("external_tarball_ms", t);

    // A publish into the big package of the big repository.
    let mut publishes = Vec::new();
    let url = format!("http://{host}{npm}");
    for i in 0..3 {
        let version = format!("9.{probe}.{i}-{tag}");
        let body = npm_publish_body("big-npm", &version, &url)?;
        let mut request = format!(
            "PUT {npm}big-npm HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(&body);
        publishes.push(timed(&mut conn, &request, "npm publish").await?.0);
    }
    m.insert("publish_ms", median(publishes));
    // The first listing after a write to the package it lists.
    let (t, _) = timed(
        &mut conn,
        &list_versions(None)?,
        "ListPackageVersions after a publish",
    )
    .await?;
    m.insert("list_versions_after_publish_ms", t);

    let mut describe = Vec::new();
    for _ in 0..5 {
        describe.push(
            timed(
                &mut conn,
                &control("GET", &format!("/v1/domain?domain={DOMAIN}"))?,
                "DescribeDomain",
            )
            .await?
            .0,
        );
    }
    m.insert("describe_domain_ms", median(describe));
    let mut deletes = Vec::new();
    for i in 0..3 {
        let repo = format!("tmp-{tag}-{probe}-{i}");
        timed(
            &mut conn,
            &control(
                "POST",
                &format!("/v1/repository?domain={DOMAIN}&repository={repo}"),
            )?,
            "CreateRepository",
        )
        .await?;
        deletes.push(
            timed(
                &mut conn,
                &control(
                    "DELETE",
                    &format!("/v1/repository?domain={DOMAIN}&repository={repo}"),
                )?,
                "DeleteRepository",
            )
            .await?
            .0,
        );
    }
    m.insert("delete_repository_ms", median(deletes));
    Ok(m)
}

fn du(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if meta.is_dir() {
        std::fs::read_dir(path)
            .map(|entries| entries.flatten().map(|e| du(&e.path())).sum())
            .unwrap_or(0)
    } else {
        use std::os::unix::fs::MetadataExt as _;
        meta.blocks() * 512
    }
}

fn run() -> Result<(), BoxError> {
    let bin = support::server_bin()?;
    let baseline = std::env::var_os("BENCH_BASELINE_BIN").map(PathBuf::from);
    let scales: Vec<usize> = std::env::var("BENCH_SCALES")
        .unwrap_or_else(|_| "1,10".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let runs = env_or("BENCH_RUNS", 3usize).max(1);
    let scratch = tempfile::tempdir()?;
    let root =
        std::env::var_os("BENCH_DIR").map_or_else(|| scratch.path().to_path_buf(), PathBuf::from);
    let mut bins = vec![("new", bin.clone())];
    if let Some(b) = baseline {
        bins.insert(0, ("old", b));
    }
    println!(
        "scale bench: {} (baseline {}), scales {scales:?}, {runs} runs each",
        bin.display(),
        bins.iter()
            .find(|b| b.0 == "old")
            .map_or("none".into(), |b| b.1.display().to_string())
    );
    let rt = support::client_runtime(1)?;
    let mut all = serde_json::Map::new();
    let table = Table {
        name_width: 40,
        value_width: 40,
    };
    for &scale in &scales {
        let state = build(&root, scale)?;
        let old_dir = state.dir.with_extension("old");
        if bins.len() > 1 {
            copy_for_previous_release(&state.dir, &old_dir)?;
        }
        let mut results: BTreeMap<&str, Vec<Measures>> = BTreeMap::new();
        let mut probe = 0;
        for _ in 0..runs {
            for (tag, bin) in &bins {
                let dir = if *tag == "old" { &old_dir } else { &state.dir };
                let running = start(bin, dir, &state)?;
                std::thread::sleep(Duration::from_millis(1000));
                let mem = read_mem(running.child.id())?;
                let mut m = rt.block_on(measure(&running, &state, probe, tag))?;
                probe += 1;
                m.insert("ready_ms", running.ready_ms);
                m.insert("rss_at_rest_kib", mem.rss_kib as f64);
                results.entry(tag).or_default().push(m);
                drop(running);
            }
        }
        let metadata = du(&state.dir.join("metadata"));
        let total = du(&state.dir);
        println!(
            "\n{scale}× ({} versions, {} packages)",
            state.versions, state.packages
        );
        let keys: Vec<&str> = results
            .values()
            .next()
            .map(|v| v[0].keys().copied().collect())
            .unwrap_or_default();
        let mut json_scale = serde_json::Map::new();
        for key in keys {
            let mut line = String::new();
            for (tag, runs) in &results {
                let value = median(runs.iter().map(|m| m[key]).collect());
                line.push_str(&format!("{tag} {value:>10.3}  "));
                json_scale.insert(format!("{tag}_{key}"), json!(value));
            }
            table.row(key, line);
        }
        let per_version = metadata as f64 / state.versions as f64;
        table.row(
            "store bytes per version (metadata)",
            format!("{per_version:.0}"),
        );
        table.row(
            "data dir on disk (MiB)",
            format!("{:.1}", total as f64 / 1048576.0),
        );
        table.row(
            "first open after building (ms)",
            format!("{:.0}", state.first_open_ms),
        );
        json_scale.insert(
            "first_open_after_build_ms".into(),
            json!(state.first_open_ms),
        );
        json_scale.insert("metadata_bytes_per_version".into(), json!(per_version));
        json_scale.insert("data_dir_bytes".into(), json!(total));
        all.insert(format!("{scale}x"), Value::Object(json_scale));
        if std::env::var_os("BENCH_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&state.dir);
            let _ = std::fs::remove_dir_all(&old_dir);
            let _ = std::fs::remove_dir_all(&state.external);
        }
    }
    println!("{}", Value::Object(all));
    Ok(())
}
