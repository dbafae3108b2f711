//! A chromedriver child process that lives exactly as long as the test run.
//!
//! Stopping: `Drop` asks chromedriver to shut down (so it closes any Chromium it started),
//! then kills it; that covers normal ends, failed steps, errors and panics. Ctrl-C in a
//! terminal is delivered to the whole foreground process group, which includes the child,
//! so chromedriver exits together with xtask without a signal handler of our own. For
//! signals aimed at xtask alone, a watchdog process stops chromedriver (see
//! [`spawn_watchdog`]).

use anyhow::{Context as _, anyhow};
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
    watchdog: Option<Child>,
}

impl Chromedriver {
    /// Starts `binary` on a free local port and waits until `/status` reports ready.
    /// Its output goes to `log`, which is quoted when it fails to start.
    pub fn start(binary: &Path, log: &Path) -> anyhow::Result<Self> {
        let mut attempt = 1;
        loop {
            match Self::start_once(binary, log) {
                Ok(driver) => return Ok(driver),
                Err(StartError::Exited(err)) if attempt < START_ATTEMPTS => {
                    eprintln!("xtask: {err:#}\nxtask: retrying on another port");
                    attempt += 1;
                }
                Err(StartError::Exited(err) | StartError::Other(err)) => return Err(err),
            }
        }
    }

    fn start_once(binary: &Path, log: &Path) -> Result<Self, StartError> {
        let port = free_port().context("finding a free port for chromedriver")?;
        let out = File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone().context("sharing the chromedriver log")?;
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let watchdog = spawn_watchdog(child.id());
        // From here on, Drop stops the child whatever happens.
        let mut driver = Self {
            child,
            port,
            watchdog,
        };
        driver.wait_until_ready(log)?;
        Ok(driver)
    }

    fn wait_until_ready(&mut self, log: &Path) -> Result<(), StartError> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let exited = self.child.try_wait().context("watching chromedriver")?;
            if let Some(status) = exited {
                return Err(StartError::Exited(anyhow!(
                    "chromedriver exited during start-up ({status}); its output:\n{}",
                    read_log(log)
                )));
            }
            let response = http_get(self.port, "/status", Duration::from_secs(2));
            if response.is_ok_and(|text| status_says_ready(&text)) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(StartError::Other(anyhow!(
                    "chromedriver on port {} was not ready after {}s; its output:\n{}",
                    self.port,
                    READY_TIMEOUT.as_secs(),
                    read_log(log)
                )));
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

/// Exiting early is worth a retry (most likely the port was taken in the meantime);
/// anything else is not.
#[derive(Debug)]
enum StartError {
    Exited(anyhow::Error),
    Other(anyhow::Error),
}

impl From<anyhow::Error> for StartError {
    fn from(err: anyhow::Error) -> Self {
        Self::Other(err)
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
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

/// A `sh` that waits for end-of-file on a pipe only we hold, then terminates
/// chromedriver. Drop cannot run when xtask is killed by a signal (a CI timeout's
/// SIGTERM, say); the kernel then closes the pipe and the watchdog cleans up instead.
/// Optional: without it only that rare case leaks a chromedriver.
fn spawn_watchdog(chromedriver_pid: u32) -> Option<Child> {
    Command::new("sh")
        .args([
            "-c",
            r#"read -r _; kill -TERM "$1" 2>/dev/null"#,
            "xtask-watchdog",
        ])
        .arg(chromedriver_pid.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .inspect_err(|err| eprintln!("xtask: no chromedriver watchdog ({err}); continuing"))
        .ok()
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
    // chromedriver answers `Connection: close` but does not always close the socket
    // promptly, so stop reading once Content-Length bytes of body have arrived.
    let mut response = Vec::new();
    let mut chunk = [0_u8; 4096];
    while !response_complete(&response) {
        match stream.read(&mut chunk)? {
            0 => break,
            n => response.extend_from_slice(&chunk[..n]),
        }
    }
    Ok(String::from_utf8_lossy(&response).into_owned())
}

/// True once the headers and a body as long as Content-Length have been read.
fn response_complete(response: &[u8]) -> bool {
    let Some(header_end) = response.windows(4).position(|window| window == b"\r\n\r\n") else {
        return false;
    };
    let headers = String::from_utf8_lossy(&response[..header_end]);
    let content_length = headers.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse::<usize>().ok())
            .flatten()
    });
    content_length.is_some_and(|length| response.len() >= header_end + 4 + length)
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
    fn a_response_is_complete_after_content_length_bytes() {
        let head = b"HTTP/1.1 200 OK\r\nContent-Length:5\r\nConnection:close\r\n\r\n";
        let mut response = head.to_vec();
        assert!(!response_complete(&response));
        response.extend_from_slice(b"{\"a\"");
        assert!(!response_complete(&response));
        response.push(b'}');
        assert!(response_complete(&response));
        assert!(!response_complete(b"HTTP/1.1 200 OK\r\nContent-Le"));
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
