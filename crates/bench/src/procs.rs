//! The processes under test: the Zoom simulator and Rapport, each started from its release
//! binary, and what the kernel says about them (CPU time, resident memory, its peak).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use procfs::process::{ClearRefs, Process};
use tokio::process::{Child, Command};

/// A free loopback port (the listener is dropped at once; nothing else binds in between on a
/// quiet machine, and a clash fails loudly at start).
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("bind a loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// A running child process that is killed when dropped.
pub struct Running {
    pub name: &'static str,
    pub child: Child,
    pub pid: i32,
}

impl Running {
    pub async fn spawn(name: &'static str, mut command: Command, log: &Path) -> Result<Running> {
        let out =
            std::fs::File::create(log).with_context(|| format!("create {}", log.display()))?;
        let err = out.try_clone()?;
        command
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .kill_on_drop(true);
        let child = command.spawn().with_context(|| format!("start {name}"))?;
        let pid = child
            .id()
            .and_then(|p| i32::try_from(p).ok())
            .with_context(|| format!("{name} exited at once"))?;
        Ok(Running { name, child, pid })
    }

    /// Waits until `url` answers 200, polling every 2 ms; returns the time since `started`.
    pub async fn wait_ready(
        &mut self,
        client: &reqwest::Client,
        url: &str,
        started: Instant,
        timeout: Duration,
    ) -> Result<Duration> {
        loop {
            if let Ok(r) = client.get(url).send().await
                && r.status().is_success()
            {
                return Ok(started.elapsed());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("{} exited with {status} before it was ready", self.name);
            }
            if started.elapsed() > timeout {
                bail!("{} not ready at {url} after {timeout:?}", self.name);
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    pub fn usage(&self) -> Result<Usage> {
        Usage::of(self.pid)
    }

    /// Starts a new peak-RSS window (the kernel's high-water mark is reset to the current RSS).
    pub fn reset_peak(&self) -> Result<()> {
        Process::new(self.pid)?
            .clear_refs(ClearRefs::PeakRSS)
            .context("reset peak RSS (writing /proc/PID/clear_refs)")
    }

    pub async fn stop(mut self) -> Result<()> {
        // SIGTERM through kill(1): std has no safe signal API and unsafe code is forbidden.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid.to_string())
            .status()
            .await;
        match tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await {
            Ok(status) => {
                status?;
            }
            Err(_) => self.child.kill().await?,
        }
        Ok(())
    }
}

/// CPU time used so far and resident memory of one process.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    pub cpu_seconds: f64,
    pub rss_bytes: u64,
    pub peak_rss_bytes: u64,
}

impl Usage {
    pub fn of(pid: i32) -> Result<Usage> {
        let process = Process::new(pid)?;
        let stat = process.stat()?;
        let status = process.status()?;
        let ticks = procfs::ticks_per_second() as f64;
        Ok(Usage {
            cpu_seconds: (stat.utime + stat.stime) as f64 / ticks,
            rss_bytes: status.vmrss.unwrap_or(0) * 1024,
            peak_rss_bytes: status.vmhwm.unwrap_or(0) * 1024,
        })
    }
}

/// Runs a one-shot command to completion, with its output kept in `log`.
pub async fn run_to_end(name: &str, mut command: Command, log: &Path) -> Result<String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .await
        .with_context(|| format!("run {name}"))?;
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    std::fs::write(log, &text)?;
    if !output.status.success() {
        bail!("{name} failed ({}): {}", output.status, text.trim());
    }
    Ok(text)
}

/// The release binaries, next to this one.
pub fn sibling_binary(name: &str) -> Result<PathBuf> {
    let me = std::env::current_exe()?;
    let dir = me.parent().context("binary directory")?;
    let path = dir.join(name);
    if !path.exists() {
        bail!(
            "{} is missing: build it with `cargo build --release -p rapport -p zoom-sim` (cargo xtask bench does)",
            path.display()
        );
    }
    Ok(path)
}
