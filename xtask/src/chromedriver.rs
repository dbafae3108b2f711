//! A chromedriver child process that lives exactly as long as the test run.
//!
//! Stopping: `Drop` asks chromedriver to shut down (so it closes any Chromium it started),
//! then kills it; that covers normal ends, failed steps, errors and panics. Ctrl-C in a
//! terminal is delivered to the whole foreground process group, which includes the child,
//! so chromedriver exits together with xtask without a signal handler of our own.

use anyhow::{Context as _, bail};
use std::fs::File;
use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const READY_TIMEOUT: Duration = Duration::from_secs(30);
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);
/// Another process may take the free port between our probe and chromedriver's bind.
const START_ATTEMPTS: usize = 3;

#[derive(Debug)]
pub struct Chromedriver {
    child: Child,
    port: u16,
}

impl Chromedriver {
    /// Starts `binary` on a free local port and waits until `/status` reports ready.
    /// Its output goes to `log`, which is quoted when it fails to start.
    pub fn start(binary: &Path, log: &Path) -> anyhow::Result<Self> {
        let mut last_error = None;
        for _ in 0..START_ATTEMPTS {
            match Self::start_once(binary, log) {
                Ok(driver) => return Ok(driver),
                Err(err) => last_error = Some(err),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("chromedriver did not start")))
    }

    fn start_once(binary: &Path, log: &Path) -> anyhow::Result<Self> {
        let port = free_port().context("finding a free port for chromedriver")?;
        let out = File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone()?;
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        // From here on, Drop stops the child whatever happens.
        let mut driver = Self { child, port };
        driver.wait_until_ready(log)?;
        Ok(driver)
    }

    fn wait_until_ready(&mut self, log: &Path) -> anyhow::Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "chromedriver exited during start-up ({status}); its output:\n{}",
                    read_log(log)
                );
            }
            let response = http_get(self.port, "/status", Duration::from_secs(2));
            if response.is_ok_and(|text| status_says_ready(&text)) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "chromedriver on port {} was not ready after {}s; its output:\n{}",
                    self.port,
                    READY_TIMEOUT.as_secs(),
                    read_log(log)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        // A graceful shutdown lets chromedriver quit the browsers of unfinished sessions;
        // a plain kill would orphan them.
        let _ = http_get(self.port, "/shutdown", Duration::from_secs(2));
        let deadline = Instant::now() + SHUTDOWN_GRACE;
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// A minimal HTTP/1.1 GET: enough for chromedriver's `/status`, and keeps xtask free of
/// an HTTP client (and of the async runtime one would bring).
fn http_get(port: u16, path: &str, timeout: Duration) -> std::io::Result<String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}

/// True for a 200 response whose JSON says `"ready": true`.
fn status_says_ready(response: &str) -> bool {
    let ok = response
        .lines()
        .next()
        .is_some_and(|status_line| status_line.split_whitespace().nth(1) == Some("200"));
    let compact: String = response.chars().filter(|c| !c.is_whitespace()).collect();
    ok && compact.contains("\"ready\":true")
}

fn read_log(log: &Path) -> String {
    std::fs::read_to_string(log)
        .unwrap_or_else(|err| format!("({} unreadable: {err})", log.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const READY: &str = "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n\r\n\
        {\"value\":{\"build\":{\"version\":\"131.0\"},\"message\":\"ChromeDriver ready for new sessions.\",\
        \"os\":{\"arch\":\"x86_64\"},\"ready\": true}}";

    #[test]
    fn ready_status_is_recognised() {
        assert!(status_says_ready(READY));
    }

    #[test]
    fn not_ready_or_not_ok_is_not_ready() {
        assert!(!status_says_ready(&READY.replace("true", "false")));
        assert!(!status_says_ready(
            &READY.replace("200 OK", "500 Internal Server Error")
        ));
        assert!(!status_says_ready(""));
    }

    #[test]
    fn a_driver_that_exits_at_once_is_reported() {
        let log = std::env::temp_dir().join(format!("xtask-exits-{}.log", std::process::id()));
        // `sh --port=…` rejects the option and exits at once, as a broken driver would.
        let err = Chromedriver::start(Path::new("/bin/sh"), &log)
            .unwrap_err()
            .to_string();
        assert!(err.contains("exited during start-up"), "{err}");
        let _ = std::fs::remove_file(&log);
    }

    #[test]
    fn a_missing_driver_binary_is_an_error() {
        let log = std::env::temp_dir().join(format!("xtask-missing-{}.log", std::process::id()));
        let err = Chromedriver::start(Path::new("/nonexistent/chromedriver"), &log).unwrap_err();
        assert!(format!("{err:#}").contains("/nonexistent/chromedriver"));
        let _ = std::fs::remove_file(&log);
    }
}
