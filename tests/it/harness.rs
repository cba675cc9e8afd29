//! Starts the real binary on a free loopback port with its own data directory, and builds
//! real AWS SDK clients pointed at it.

use aws_sdk_codeartifact::config::{BehaviorVersion, Credentials, Region};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server. Killed when dropped.
pub struct Server {
    child: Child,
    pub addr: String,
    _tmp: Option<tempfile::TempDir>,
}

impl Server {
    /// A fresh server with an empty store.
    pub fn start() -> Server {
        Self::start_with(&[])
    }

    pub fn start_with(extra: &[&str]) -> Server {
        let tmp = tempfile::tempdir().expect("temp dir");
        let data_dir = tmp.path().join("data");
        let mut server = Self::start_in(&data_dir, extra);
        server._tmp = Some(tmp);
        server
    }

    /// A server over an existing data directory (for restart tests).
    pub fn start_in(data_dir: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_codeartifact-local"))
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .env("RUST_LOG", "info")
            .env_remove("CODEARTIFACT_LOCAL_IDENTITIES")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start codeartifact-local");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent {
                    if let Some(rest) = line.split("listen=").nth(1) {
                        let addr = rest.split_whitespace().next().unwrap_or("").to_string();
                        let _ = tx.send(addr);
                        sent = true;
                    }
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("server reported its address");
        Server {
            child,
            addr,
            _tmp: None,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// An SDK client with the default identity (`test`/`test`).
    pub fn client(&self) -> aws_sdk_codeartifact::Client {
        self.client_as("test", "test")
    }

    pub fn client_as(&self, key: &str, secret: &str) -> aws_sdk_codeartifact::Client {
        let config = aws_sdk_codeartifact::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(self.endpoint())
            .credentials_provider(Credentials::new(key, secret, None, None, "it"))
            .build();
        aws_sdk_codeartifact::Client::from_conf(config)
    }

    /// Stops the server the hard way: no shutdown, no flush beyond what was acknowledged.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "server did not exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The service error code of a failed SDK call.
pub fn code<E, R>(
    result: Result<impl std::fmt::Debug, aws_sdk_codeartifact::error::SdkError<E, R>>,
) -> String
where
    E: aws_sdk_codeartifact::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e
            .as_service_error()
            .and_then(|s| s.code())
            .map(str::to_string)
            .or_else(|| {
                aws_sdk_codeartifact::error::ProvideErrorMetadata::code(&e).map(str::to_string)
            })
            .unwrap_or_else(|| panic!("no error code in {e:?}")),
    }
}
