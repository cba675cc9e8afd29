//! Asset benchmark against the real release binary: a generic package's asset uploaded with
//! PublishPackageVersion and downloaded with GetPackageVersionAsset.
//!
//! Per asset size, in order:
//! 1. a file of deterministic pseudo-random bytes is written to a temp dir and hashed
//!    (SHA-256), outside any measurement;
//! 2. **upload**: one SigV4-signed `POST /v1/package/version/publish` whose
//!    `x-amz-content-sha256` is the asset's hash (signed as the payload hash), the body
//!    streamed from disk in 1 MiB chunks; timed from the first byte sent to the parsed 200
//!    (so it includes the server's fsync and commit); the response's asset size and SHA-256
//!    are checked;
//! 3. **download**: one signed `GET /v1/package/version/asset`, the Content-Length framed
//!    body hashed and discarded as it arrives; timed to the last byte; the SHA-256 is checked.
//!
//! The server's VmRSS is sampled every 20 ms during each transfer. Two sizes are run on the
//! same server, the small one (`BENCH_SMALL_ASSET_MIB`, 64) first as version 2.0.0 and the
//! large one (`BENCH_ASSET_MIB`, 512) second as version 1.0.0: a buffered implementation
//! would show a large-asset peak several hundred MiB above the small one, and running the
//! small one first keeps allocator memory retained from the large one out of its peak.
//!
//! Then the one-stream phase (`assets_compare/mod.rs`): this binary against
//! `BENCH_BASELINE_BIN` in the same run, interleaved; its figures go in the JSON line as
//! `one_stream`.
//!
//! Prints a table, then one JSON line with every number. A benchmark, not a test: nothing
//! here asserts on timings (a failed transfer or a wrong hash is an error). All traffic goes
//! to 127.0.0.1; every transfer is bounded by `BENCH_TIMEOUT_SECS`.
//!
//! Knobs (environment):
//! - `CODEARTIFACT_LOCAL_BIN`: server binary (default `target/release/codeartifact-local`)
//! - `BENCH_ASSET_MIB` (512), `BENCH_SMALL_ASSET_MIB` (64; 0 skips the small run)
//! - `BENCH_TIMEOUT_SECS` (600): limit for each upload and each download
//! - `BENCH_SERVER_LOG` (`info,access=warn`): `RUST_LOG` for the server (keep the info-level "ready" line)

#[path = "assets_compare/mod.rs"]
mod compare;
mod support;

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sigv4::http_request::SignableBody;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use support::{
    create_repository, env_or, hex, read_mem, round3, signed_head, signed_request, BenchEnv,
    BoxError, Conn, CpuMeter, Server, ServerTrace, Table, DOMAIN,
};

/// The brief said `r`, but repository names need at least 2 characters (as in AWS).
pub(crate) const REPOSITORY: &str = "rr";
const NAMESPACE: &str = "ns";
const PACKAGE: &str = "big";
const ASSET: &str = "big.bin";
pub(crate) const MIB: u64 = 1024 * 1024;
/// Upload chunk and download read size.
pub(crate) const CHUNK: usize = 1024 * 1024;
const SAMPLE_EVERY: Duration = Duration::from_millis(20);

fn main() {
    support::run_or_exit("assets", run);
}

struct Config {
    env: BenchEnv,
    big_mib: u64,
    small_mib: u64,
    timeout: Duration,
}

/// One asset size, uploaded then downloaded.
struct Case {
    mib: u64,
    version: &'static str,
    generate_s: f64,
    rss_before_kib: u64,
    upload: Transfer,
    download: Transfer,
    hwm_after_kib: u64,
    published_status: String,
}

/// One timed transfer and what the server did meanwhile.
struct Transfer {
    seconds: f64,
    mib_s: f64,
    peak_rss_kib: u64,
    rss_samples: u64,
    server_cpu_s: f64,
    client_cpu_s: f64,
}

fn run() -> Result<(), BoxError> {
    let cfg = Config {
        env: BenchEnv::from_env()?,
        big_mib: env_or("BENCH_ASSET_MIB", 512u64).max(1),
        small_mib: env_or("BENCH_SMALL_ASSET_MIB", 64u64),
        timeout: Duration::from_secs_f64(env_or("BENCH_TIMEOUT_SECS", 600.0f64).max(1.0)),
    };
    cfg.env.announce("assets", "");

    // Asset files live in their own temp dir; the server gets a fresh data dir of its own.
    let work = tempfile::tempdir()?;
    let mut server = cfg.env.start_server()?;
    let pid = server.pid();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(setup(server.addr))?;
    std::thread::sleep(Duration::from_millis(500));
    let idle = read_mem(pid)?;

    let mut plan = Vec::new();
    if cfg.small_mib > 0 {
        plan.push((cfg.small_mib, "2.0.0"));
    }
    plan.push((cfg.big_mib, "1.0.0"));
    let mut cases = Vec::new();
    for (mib, version) in plan {
        let case = run_case(&cfg, &runtime, &server, work.path(), mib, version)?;
        println!(
            "  {mib} MiB: upload {:.1} MiB/s, download {:.1} MiB/s, peak VmRSS {} / {} KiB",
            case.upload.mib_s,
            case.download.mib_s,
            case.upload.peak_rss_kib,
            case.download.peak_rss_kib
        );
        cases.push(case);
    }
    drop(runtime);
    let trace = ServerTrace::stop(&mut server, idle, None)?;

    let plan = compare::Plan::from_env(cfg.big_mib, cfg.timeout, &cfg.env.server_log);
    let one_stream = compare::run(&plan, &cfg.env.bin, work.path())?;
    print_report(&cfg, &trace, &cases, one_stream);
    Ok(())
}

fn run_case(
    cfg: &Config,
    runtime: &tokio::runtime::Runtime,
    server: &Server,
    dir: &Path,
    mib: u64,
    version: &'static str,
) -> Result<Case, BoxError> {
    let clk_tck = cfg.env.clk_tck;
    let pid = server.pid();
    let size = mib * MIB;
    let path = dir.join(format!("asset-{version}.bin"));
    let generated = Instant::now();
    // Seeded by size and version, so no two runs share a blob in the content-addressed store.
    let sha256 = generate(&path, size, mib ^ (u64::from(version.as_bytes()[0]) << 32))?;
    let generate_s = generated.elapsed().as_secs_f64();
    let rss_before_kib = read_mem(pid)?.rss_kib;

    let addr = server.addr;
    let mut published_status = String::new();
    let upload = measured(pid, size, clk_tck, || {
        runtime.block_on(async {
            let reply =
                tokio::time::timeout(cfg.timeout, upload(addr, &path, size, &sha256, version))
                    .await
                    .map_err(|_| {
                        format!("upload of {mib} MiB not done within {:?}", cfg.timeout)
                    })??;
            published_status = check_published(&reply, size, &sha256)?;
            Ok(())
        })
    })?;
    let download = measured(pid, size, clk_tck, || {
        runtime.block_on(async {
            let got = tokio::time::timeout(cfg.timeout, download(addr, size, version))
                .await
                .map_err(|_| {
                    format!("download of {mib} MiB not done within {:?}", cfg.timeout)
                })??;
            if got != sha256 {
                return Err(format!(
                    "downloaded {mib} MiB asset has SHA-256 {got}, uploaded {sha256}"
                )
                .into());
            }
            Ok(())
        })
    })?;
    std::fs::remove_file(&path)?;
    Ok(Case {
        mib,
        version,
        generate_s,
        rss_before_kib,
        upload,
        download,
        hwm_after_kib: read_mem(pid)?.hwm_kib,
        published_status,
    })
}

/// Runs `transfer` while sampling the server's VmRSS, and times it.
fn measured(
    pid: u32,
    bytes: u64,
    clk_tck: f64,
    transfer: impl FnOnce() -> Result<(), BoxError>,
) -> Result<Transfer, BoxError> {
    let sampler = RssSampler::start(pid);
    let meter = CpuMeter::start(pid)?;
    let started = Instant::now();
    let result = transfer();
    let seconds = started.elapsed().as_secs_f64();
    let (server_cpu_s, client_cpu_s) = meter.read(clk_tck)?;
    let (peak_rss_kib, rss_samples) = sampler.stop();
    result?;
    Ok(Transfer {
        seconds,
        mib_s: bytes as f64 / MIB as f64 / seconds,
        peak_rss_kib,
        rss_samples,
        server_cpu_s,
        client_cpu_s,
    })
}

/// Polls `/proc/<pid>/status` every [`SAMPLE_EVERY`] on its own thread; keeps the peak.
pub(crate) struct RssSampler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<(u64, u64)>,
}

impl RssSampler {
    pub(crate) fn start(pid: u32) -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let (mut peak, mut samples) = (0u64, 0u64);
            loop {
                // The last sample is taken after the stop request, at the end of the transfer.
                let last = flag.load(Ordering::Acquire);
                if let Ok(mem) = read_mem(pid) {
                    peak = peak.max(mem.rss_kib);
                    samples += 1;
                }
                if last {
                    return (peak, samples);
                }
                std::thread::sleep(SAMPLE_EVERY);
            }
        });
        RssSampler { stop, thread }
    }

    /// Peak VmRSS (KiB) and the number of samples.
    pub(crate) fn stop(self) -> (u64, u64) {
        self.stop.store(true, Ordering::Release);
        self.thread.join().unwrap_or((0, 0))
    }
}

// ---------------------------------------------------------------------------------------
// The asset file

/// Writes `size` bytes of splitmix64 output to `path` and returns their SHA-256 (hex).
pub(crate) fn generate(path: &Path, size: u64, seed: u64) -> Result<String, BoxError> {
    let mut file = std::fs::File::create(path)?;
    let mut hasher = Sha256::new();
    let mut block = vec![0u8; CHUNK];
    let mut state = seed ^ 0x6a09_e667_f3bc_c908;
    let mut left = size;
    while left > 0 {
        for word in block.chunks_exact_mut(8) {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            word.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
        }
        let n = usize::try_from(left.min(CHUNK as u64))?;
        file.write_all(&block[..n])?;
        hasher.update(&block[..n]);
        left -= n as u64;
    }
    file.flush()?;
    Ok(hex(&hasher.finalize()))
}

// ---------------------------------------------------------------------------------------
// Requests

async fn setup(addr: SocketAddr) -> Result<(), BoxError> {
    let mut conn = Conn::connect(addr).await?;
    create_repository(&mut conn, &addr.to_string(), REPOSITORY).await
}

pub(crate) fn asset_query(version: &str) -> String {
    format!(
        "domain={DOMAIN}&repository={REPOSITORY}&format=generic&namespace={NAMESPACE}\
         &package={PACKAGE}&version={version}&asset={ASSET}"
    )
}

/// PublishPackageVersion with the body streamed from `path`; returns the JSON reply body.
pub(crate) async fn upload(
    addr: SocketAddr,
    path: &Path,
    size: u64,
    sha256: &str,
    version: &str,
) -> Result<Vec<u8>, BoxError> {
    let target = format!("/v1/package/version/publish?{}", asset_query(version));
    let headers = [
        ("host", addr.to_string()),
        ("content-type", "application/octet-stream".to_owned()),
        ("content-length", size.to_string()),
        ("x-amz-content-sha256", sha256.to_owned()),
    ];
    let head = signed_head(
        "POST",
        &target,
        &headers,
        SignableBody::Precomputed(sha256.to_owned()),
    )?;
    let mut file = tokio::fs::File::open(path).await?;
    let mut conn = Conn::connect(addr).await?;
    conn.stream.write_all(head.as_bytes()).await?;
    let mut chunk = vec![0u8; CHUNK];
    let mut sent = 0u64;
    loop {
        // Fill the chunk (tokio's file reads may return less), then send it.
        let mut n = 0;
        while n < chunk.len() {
            let got = file.read(&mut chunk[n..]).await?;
            if got == 0 {
                break;
            }
            n += got;
        }
        if n == 0 {
            break;
        }
        if let Err(e) = conn.stream.write_all(&chunk[..n]).await {
            // The server may have answered (and closed) early, e.g. with an error.
            let early = tokio::time::timeout(Duration::from_secs(2), conn.read_response(true))
                .await
                .ok()
                .and_then(Result::ok)
                .map(|r| format!("HTTP {}: {}", r.status, String::from_utf8_lossy(&r.body)));
            return Err(format!(
                "upload failed after {sent} bytes: {e}{}",
                early.map(|s| format!(" ({s})")).unwrap_or_default()
            )
            .into());
        }
        sent += n as u64;
    }
    if sent != size {
        return Err(format!("the asset file has {sent} bytes, expected {size}").into());
    }
    conn.read_response(true).await?.ok("PublishPackageVersion")
}

/// Checks the published asset's size and SHA-256 in the reply; returns the version status.
pub(crate) fn check_published(body: &[u8], size: u64, sha256: &str) -> Result<String, BoxError> {
    let json: serde_json::Value = serde_json::from_slice(body)?;
    let asset = &json["asset"];
    if asset["size"].as_u64() != Some(size) {
        return Err(format!("published asset size is {}, expected {size}", asset["size"]).into());
    }
    if let Some(reported) = asset["hashes"]["SHA-256"].as_str() {
        if reported != sha256 {
            return Err(format!("published asset SHA-256 {reported}, expected {sha256}").into());
        }
    }
    Ok(json["status"].as_str().unwrap_or("?").to_owned())
}

/// GetPackageVersionAsset; the body is hashed and discarded. Returns its SHA-256 (hex).
async fn download(addr: SocketAddr, size: u64, version: &str) -> Result<String, BoxError> {
    let target = format!("/v1/package/version/asset?{}", asset_query(version));
    let request = signed_request("GET", &target, &addr.to_string(), b"")?;
    let mut conn = Conn::connect(addr).await?;
    conn.stream.write_all(&request).await?;
    let head = conn.read_head().await?;
    if head.status != 200 {
        let mut text = Vec::new();
        let length = head.content_length.min(64 * 1024);
        let mut scratch = vec![0u8; 16 * 1024];
        conn.stream_body(length, &mut scratch, |c| text.extend_from_slice(c))
            .await?;
        return Err(format!(
            "GetPackageVersionAsset: HTTP {}: {}",
            head.status,
            String::from_utf8_lossy(&text)
        )
        .into());
    }
    if head.content_length != size {
        return Err(format!(
            "download Content-Length {} (content-type {:?}), expected {size}",
            head.content_length,
            head.header("content-type")
        )
        .into());
    }
    let mut hasher = Sha256::new();
    let mut scratch = vec![0u8; CHUNK];
    conn.stream_body(head.content_length, &mut scratch, |c| hasher.update(c))
        .await?;
    Ok(hex(&hasher.finalize()))
}

// ---------------------------------------------------------------------------------------
// Report

fn print_report(cfg: &Config, trace: &ServerTrace, cases: &[Case], one_stream: serde_json::Value) {
    let mib_of = |kib: u64| kib as f64 / 1024.0;
    println!();
    print!("{:<40}", "metric");
    for c in cases {
        print!(" {:>16}", format!("{} MiB (v{})", c.mib, c.version));
    }
    println!();
    println!("{}", "-".repeat(40 + 17 * cases.len()));
    let row = |name: &str, f: &dyn Fn(&Case) -> String| {
        print!("{name:<40}");
        for c in cases {
            print!(" {:>16}", f(c));
        }
        println!();
    };
    row("upload MiB/s", &|c| format!("{:.1}", c.upload.mib_s));
    row("upload time", &|c| format!("{:.3} s", c.upload.seconds));
    row("download MiB/s", &|c| format!("{:.1}", c.download.mib_s));
    row("download time", &|c| format!("{:.3} s", c.download.seconds));
    row("server VmRSS before upload", &|c| {
        format!("{:.1} MiB", mib_of(c.rss_before_kib))
    });
    row("server peak VmRSS during upload", &|c| {
        format!("{:.1} MiB", mib_of(c.upload.peak_rss_kib))
    });
    row("server peak VmRSS during download", &|c| {
        format!("{:.1} MiB", mib_of(c.download.peak_rss_kib))
    });
    row("server VmHWM after the size", &|c| {
        format!("{:.1} MiB", mib_of(c.hwm_after_kib))
    });
    row("RSS samples (upload / download)", &|c| {
        format!("{} / {}", c.upload.rss_samples, c.download.rss_samples)
    });
    row("server CPU upload (cores busy)", &|c| {
        format!(
            "{:.2} s ({:.2})",
            c.upload.server_cpu_s,
            c.upload.server_cpu_s / c.upload.seconds
        )
    });
    row("server CPU download (cores busy)", &|c| {
        format!(
            "{:.2} s ({:.2})",
            c.download.server_cpu_s,
            c.download.server_cpu_s / c.download.seconds
        )
    });
    row("bench CPU upload / download", &|c| {
        format!(
            "{:.2} / {:.2} s",
            c.upload.client_cpu_s, c.download.client_cpu_s
        )
    });
    row("asset generation (not timed)", &|c| {
        format!("{:.2} s", c.generate_s)
    });
    row("published status", &|c| c.published_status.clone());
    let table = Table {
        name_width: 40,
        value_width: 16,
    };
    trace.rows(&table);

    let transfer = |t: &Transfer| {
        serde_json::json!({
            "seconds": round3(t.seconds),
            "mib_s": round3(t.mib_s),
            "peak_rss_kib": t.peak_rss_kib,
            "rss_samples": t.rss_samples,
            "server_cpu_s": round3(t.server_cpu_s),
            "client_cpu_s": round3(t.client_cpu_s),
        })
    };
    let big = cases.last().expect("the large case always runs");
    let small = cases
        .iter()
        .find(|c| c.mib == cfg.small_mib && cases.len() > 1);
    let mut json = serde_json::json!({
        "bench": "assets",
        "server_log": cfg.env.server_log,
        "cpus": cfg.env.cpus,
        "asset_mib": big.mib,
        "upload_mib_s": round3(big.upload.mib_s),
        "download_mib_s": round3(big.download.mib_s),
        "peak_rss_kib": {
            "small_mib": small.map(|c| c.mib),
            "small_upload": small.map(|c| c.upload.peak_rss_kib),
            "small_download": small.map(|c| c.download.peak_rss_kib),
            "big_upload": big.upload.peak_rss_kib,
            "big_download": big.download.peak_rss_kib,
        },
        "runs": cases.iter().map(|c| serde_json::json!({
            "mib": c.mib,
            "version": c.version,
            "generate_s": round3(c.generate_s),
            "rss_before_kib": c.rss_before_kib,
            "hwm_after_kib": c.hwm_after_kib,
            "upload": transfer(&c.upload),
            "download": transfer(&c.download),
        })).collect::<Vec<_>>(),
    });
    trace.add_json(&mut json);
    json["one_stream"] = one_stream;
    println!();
    println!("{json}");
}
