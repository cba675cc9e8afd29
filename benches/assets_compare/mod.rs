//! One-stream transfers, this binary against a baseline binary in the same run (issue 19).
//!
//! Both servers run side by side, each with its own data dir. Each gets a generic package
//! and a Maven artifact of a small (`BENCH_STREAM_SMALL_MIB`, 10) and a large
//! (`BENCH_ASSET_MIB`, 512) asset, checked once by SHA-256 outside any timing. Then, for
//! `BENCH_ROUNDS` rounds, the servers taking turns request by request (alternating which
//! goes first), each server gets:
//! - **upload**: one PublishPackageVersion of the large asset (a new version each round,
//!   the same bytes), streamed from the file in 1 MiB chunks, timed to the parsed 200;
//! - **download**: GetPackageVersionAsset (generic) and a GET of the Maven jar (the
//!   format endpoints' download path), each on a fresh connection, timed from the request
//!   to the last body byte; the bench only counts the bytes (no hashing on the timed path,
//!   so the client's CPU is not the limit). The small asset is fetched
//!   `BENCH_STREAM_SMALL_REPEATS` (10) times per round.
//!
//! Figures are medians over every round, with min–max, and the ratio this / baseline of the
//! medians. The servers' peak VmRSS over the whole phase is sampled every 20 ms. Without
//! `BENCH_BASELINE_BIN` only this binary is measured.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

use crate::support::{
    clock_ticks_per_second, env_or, read_cpu, read_mem, repository_endpoint, round3,
    signed_request, BoxError, Conn, Endpoint, Server,
};
use crate::{asset_query, generate, upload, RssSampler, CHUNK, MIB, REPOSITORY};

const GROUP_PATH: &str = "org/bench";
const ARTIFACT: &str = "big";

/// Settings of the comparison phase.
pub struct Plan {
    pub rounds: usize,
    pub small_mib: u64,
    pub big_mib: u64,
    pub small_repeats: usize,
    pub timeout: Duration,
    pub server_log: String,
}

impl Plan {
    pub fn from_env(big_mib: u64, timeout: Duration, server_log: &str) -> Plan {
        Plan {
            rounds: env_or("BENCH_ROUNDS", 5usize),
            small_mib: env_or("BENCH_STREAM_SMALL_MIB", 10u64).max(1),
            big_mib,
            small_repeats: env_or("BENCH_STREAM_SMALL_REPEATS", 10usize).max(1),
            timeout,
            server_log: server_log.to_owned(),
        }
    }
}

/// One server under comparison and what was measured on it.
struct Side {
    label: &'static str,
    server: Server,
    maven: Endpoint,
    samples: Vec<Vec<f64>>,
    /// Server CPU ticks and bytes moved, per measure.
    cpu_ticks: Vec<u64>,
    bytes: Vec<u64>,
}

/// The measures, in report order (MiB/s each).
const MEASURES: [&str; 5] = [
    "upload large (generic publish)",
    "download small (generic asset)",
    "download large (generic asset)",
    "download small (Maven jar)",
    "download large (Maven jar)",
];

pub fn run(plan: &Plan, bin: &Path, dir: &Path) -> Result<serde_json::Value, BoxError> {
    if plan.rounds == 0 {
        return Ok(serde_json::Value::Null);
    }
    let mut bins: Vec<(&'static str, PathBuf)> = vec![("this", bin.to_path_buf())];
    if let Some(baseline) = std::env::var_os("BENCH_BASELINE_BIN") {
        bins.push(("baseline", PathBuf::from(baseline)));
    }
    let small = dir.join("stream-small.bin");
    let big = dir.join("stream-big.bin");
    let small_sha = generate(&small, plan.small_mib * MIB, 0x5eed_0001)?;
    let big_sha = generate(&big, plan.big_mib * MIB, 0x5eed_0002)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    println!();
    println!(
        "one-stream transfers: {} round(s), {} MiB x{} and {} MiB, {}",
        plan.rounds,
        plan.small_mib,
        plan.small_repeats,
        plan.big_mib,
        bins.iter()
            .map(|(l, b)| format!("{l} = {}", b.display()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut sides = Vec::new();
    for (label, bin) in bins {
        let server = Server::start(&bin, &plan.server_log)?;
        let addr = server.addr;
        let maven = runtime.block_on(async {
            let maven = repository_endpoint(addr, REPOSITORY, "maven", "the bench").await?;
            for (path, sha, size, version) in [
                (&small, &small_sha, plan.small_mib * MIB, "s"),
                (&big, &big_sha, plan.big_mib * MIB, "b"),
            ] {
                let generic = format!("0.0.0-{version}");
                let reply = upload(addr, path, size, sha, &generic).await?;
                crate::check_published(&reply, size, sha)?;
                put_jar(&maven, addr, path, size, version).await?;
                let got = fetch(addr, &generic_get(addr, &generic)?, size, true).await?;
                let jar = fetch(addr, &maven_get(&maven, version), size, true).await?;
                for (what, got) in [("generic", got), ("Maven", jar)] {
                    if got.as_deref() != Some(sha.as_str()) {
                        return Err(format!(
                            "{label}: {what} download of {size} bytes has SHA-256 {got:?}, uploaded {sha}"
                        )
                        .into());
                    }
                }
            }
            Ok::<_, BoxError>(maven)
        })?;
        sides.push(Side {
            label,
            server,
            maven,
            samples: vec![Vec::new(); MEASURES.len()],
            cpu_ticks: vec![0; MEASURES.len()],
            bytes: vec![0; MEASURES.len()],
        });
    }
    let samplers: Vec<RssSampler> = sides
        .iter()
        .map(|s| RssSampler::start(s.server.pid()))
        .collect();
    let started = Instant::now();
    for round in 0..plan.rounds {
        // Alternating which server goes first, request by request, so that what the other
        // tenants of the machine do falls on both alike.
        let count = sides.len();
        let order = |k: usize| -> Vec<usize> {
            if (round + k) % 2 == 0 {
                (0..count).collect()
            } else {
                (0..count).rev().collect()
            }
        };
        for i in order(0) {
            let side = &mut sides[i];
            let label = side.label;
            runtime
                .block_on(async {
                    tokio::time::timeout(
                        plan.timeout,
                        upload_once(plan, side, &big, &big_sha, round),
                    )
                    .await
                })
                .map_err(|_| format!("{label}: upload in round {round} not done in time"))??;
        }
        for measure in 1..MEASURES.len() {
            let repeats = if measure % 2 == 1 {
                plan.small_repeats
            } else {
                1
            };
            for k in 0..repeats {
                for i in order(k) {
                    let side = &mut sides[i];
                    let label = side.label;
                    runtime
                        .block_on(async {
                            tokio::time::timeout(plan.timeout, download_once(plan, side, measure))
                                .await
                        })
                        .map_err(|_| {
                            format!("{label}: download in round {round} not done in time")
                        })??;
                }
            }
        }
    }
    let phase_s = started.elapsed().as_secs_f64();
    let peaks: Vec<(u64, u64)> = samplers.into_iter().map(RssSampler::stop).collect();
    let idle: Vec<u64> = sides
        .iter()
        .map(|s| read_mem(s.server.pid()).map(|m| m.rss_kib).unwrap_or(0))
        .collect();
    let json = report(plan, &sides, &peaks, &idle, phase_s);
    for side in sides {
        side.server.stop()?;
    }
    std::fs::remove_file(&small)?;
    std::fs::remove_file(&big)?;
    Ok(json)
}

async fn upload_once(
    plan: &Plan,
    side: &mut Side,
    big: &Path,
    big_sha: &str,
    round: usize,
) -> Result<(), BoxError> {
    let big_size = plan.big_mib * MIB;
    let cpu = server_cpu(side)?;
    let started = Instant::now();
    let reply = upload(
        side.server.addr,
        big,
        big_size,
        big_sha,
        &format!("1.0.{round}"),
    )
    .await?;
    side.samples[0].push(rate(big_size, started));
    side.cpu_ticks[0] += server_cpu(side)? - cpu;
    side.bytes[0] += big_size;
    crate::check_published(&reply, big_size, big_sha)?;
    Ok(())
}

/// One download of measure `measure` (1..=4, see [`MEASURES`]).
async fn download_once(plan: &Plan, side: &mut Side, measure: usize) -> Result<(), BoxError> {
    let addr = side.server.addr;
    let small = measure % 2 == 1;
    let size = if small { plan.small_mib } else { plan.big_mib } * MIB;
    let version = if small { "s" } else { "b" };
    let request = if measure <= 2 {
        generic_get(addr, &format!("0.0.0-{version}"))?
    } else {
        maven_get(&side.maven, version)
    };
    let cpu = server_cpu(side)?;
    let started = Instant::now();
    fetch(addr, &request, size, false).await?;
    side.samples[measure].push(rate(size, started));
    side.cpu_ticks[measure] += server_cpu(side)? - cpu;
    side.bytes[measure] += size;
    Ok(())
}

fn rate(bytes: u64, started: Instant) -> f64 {
    bytes as f64 / MIB as f64 / started.elapsed().as_secs_f64()
}

/// The server's CPU time so far, clock ticks.
fn server_cpu(side: &Side) -> Result<u64, BoxError> {
    Ok(read_cpu(&side.server.pid().to_string())?.0)
}

fn generic_get(addr: SocketAddr, version: &str) -> Result<Vec<u8>, BoxError> {
    let target = format!("/v1/package/version/asset?{}", asset_query(version));
    signed_request("GET", &target, &addr.to_string(), b"")
}

fn jar_path(endpoint: &Endpoint, version: &str) -> String {
    format!(
        "{}{GROUP_PATH}/{ARTIFACT}/{version}/{ARTIFACT}-{version}.jar",
        endpoint.path
    )
}

fn maven_get(endpoint: &Endpoint, version: &str) -> Vec<u8> {
    format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\n\r\n",
        jar_path(endpoint, version),
        endpoint.host,
        endpoint.basic_authorization()
    )
    .into_bytes()
}

/// PUTs the file as the jar of `version` (streamed), then the artifact's metadata naming
/// it, which publishes it.
async fn put_jar(
    endpoint: &Endpoint,
    addr: SocketAddr,
    path: &Path,
    size: u64,
    version: &str,
) -> Result<(), BoxError> {
    let put_head = |target: &str, length: u64| {
        format!(
            "PUT {target} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\n\
             Content-Type: application/octet-stream\r\nContent-Length: {length}\r\n\r\n",
            endpoint.host,
            endpoint.basic_authorization()
        )
    };
    let mut conn = Conn::connect(addr).await?;
    conn.stream
        .write_all(put_head(&jar_path(endpoint, version), size).as_bytes())
        .await?;
    let mut file = std::fs::File::open(path)?;
    let mut chunk = vec![0u8; CHUNK];
    loop {
        let n = std::io::Read::read(&mut file, &mut chunk)?;
        if n == 0 {
            break;
        }
        conn.stream.write_all(&chunk[..n]).await?;
    }
    conn.read_response(true).await?.expect(201, "PUT jar")?;
    let metadata = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metadata>\n  <groupId>org.bench</groupId>\n  \
         <artifactId>{ARTIFACT}</artifactId>\n  <versioning>\n    <release>{version}</release>\n    \
         <versions>\n      <version>{version}</version>\n    </versions>\n    \
         <lastUpdated>20261202000000</lastUpdated>\n  </versioning>\n</metadata>\n"
    );
    let target = format!(
        "{}{GROUP_PATH}/{ARTIFACT}/maven-metadata.xml",
        endpoint.path
    );
    let mut request = put_head(&target, metadata.len() as u64).into_bytes();
    request.extend_from_slice(metadata.as_bytes());
    conn.roundtrip(&request, true)
        .await?
        .ok("PUT maven-metadata.xml")?;
    Ok(())
}

/// Sends `request` on a fresh connection and reads the 200's body of `size` bytes; its
/// SHA-256 (hex) if `hash`, else only counted.
async fn fetch(
    addr: SocketAddr,
    request: &[u8],
    size: u64,
    hash: bool,
) -> Result<Option<String>, BoxError> {
    use sha2::Digest as _;
    let mut conn = Conn::connect(addr).await?;
    conn.stream.write_all(request).await?;
    let head = conn.read_head().await?;
    if head.status != 200 || head.content_length != size {
        return Err(format!(
            "download: HTTP {}, Content-Length {}, expected 200 and {size}",
            head.status, head.content_length
        )
        .into());
    }
    let mut scratch = vec![0u8; CHUNK];
    if hash {
        let mut hasher = sha2::Sha256::new();
        conn.stream_body(size, &mut scratch, |c| hasher.update(c))
            .await?;
        return Ok(Some(crate::hex(&hasher.finalize())));
    }
    conn.stream_body(size, &mut scratch, |_| {}).await?;
    Ok(None)
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

fn report(
    plan: &Plan,
    sides: &[Side],
    peaks: &[(u64, u64)],
    idle: &[u64],
    phase_s: f64,
) -> serde_json::Value {
    let small = format!("{} MiB", plan.small_mib);
    let large = format!("{} MiB", plan.big_mib);
    let name = |m: &str| m.replace("small", &small).replace("large", &large);
    println!();
    print!("{:<40}", "MiB/s, median (min-max)");
    for side in sides {
        print!(" {:>24}", side.label);
    }
    if sides.len() == 2 {
        print!(" {:>8}", "ratio");
    }
    println!();
    println!("{}", "-".repeat(40 + 25 * sides.len() + 9));
    let mut measures = Vec::new();
    for (m, measure) in MEASURES.iter().enumerate() {
        print!("{:<40}", name(measure));
        let medians: Vec<f64> = sides.iter().map(|s| median(&s.samples[m])).collect();
        for side in sides {
            let values = &side.samples[m];
            let min = values.iter().copied().fold(f64::INFINITY, f64::min);
            let max = values.iter().copied().fold(0.0, f64::max);
            print!(
                " {:>24}",
                format!("{:.0} ({:.0}-{:.0})", median(values), min, max)
            );
        }
        let ratio = (sides.len() == 2).then(|| medians[0] / medians[1]);
        if let Some(ratio) = ratio {
            print!(" {ratio:>8.2}");
        }
        println!();
        measures.push(serde_json::json!({
            "measure": name(measure),
            "mib_s": sides.iter().map(|s| serde_json::json!({
                "server": s.label,
                "median": round3(median(&s.samples[m])),
                "samples": s.samples[m].iter().map(|v| round3(*v)).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "ratio": ratio.map(round3),
        }));
    }
    let clk = clock_ticks_per_second();
    for (m, measure) in MEASURES.iter().enumerate() {
        print!(
            "{:<40}",
            format!(
                "  server CPU s/GiB, {}",
                name(measure).split(" (").next().unwrap_or("")
            )
        );
        let per_gib: Vec<f64> = sides
            .iter()
            .map(|s| {
                s.cpu_ticks[m] as f64 / clk / (s.bytes[m].max(1) as f64 / (1024.0 * MIB as f64))
            })
            .collect();
        for v in &per_gib {
            print!(" {:>24}", format!("{v:.2}"));
        }
        if per_gib.len() == 2 {
            print!(" {:>8.2}", per_gib[0] / per_gib[1]);
        }
        println!(
            "  ({})",
            name(measure)
                .split(" (")
                .nth(1)
                .unwrap_or("")
                .trim_end_matches(')')
        );
    }
    print!("{:<40}", "server peak VmRSS in the phase");
    for (peak, _) in peaks {
        print!(" {:>24}", format!("{:.1} MiB", *peak as f64 / 1024.0));
    }
    println!();
    print!("{:<40}", "server VmRSS after the phase");
    for kib in idle {
        print!(" {:>24}", format!("{:.1} MiB", *kib as f64 / 1024.0));
    }
    println!();
    println!("(phase took {phase_s:.1} s)");
    serde_json::json!({
        "rounds": plan.rounds,
        "small_mib": plan.small_mib,
        "big_mib": plan.big_mib,
        "measures": measures,
        "peak_rss_kib": sides.iter().zip(peaks).map(|(s, (peak, _))| serde_json::json!({
            "server": s.label, "peak": peak,
        })).collect::<Vec<_>>(),
    })
}
