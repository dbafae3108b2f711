//! The processes under test: the Zoom simulator and Rapport, each started from its release
//! binary, and what the kernel says about them (CPU time, resident memory, its peak).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
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
    clock_ticks: ClockTicks,
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
        let clock_ticks = ClockTicks::of_this_machine().await?;
        let child = command.spawn().with_context(|| format!("start {name}"))?;
        let pid = child
            .id()
            .and_then(|p| i32::try_from(p).ok())
            .with_context(|| format!("{name} exited at once"))?;
        Ok(Running {
            name,
            child,
            pid,
            clock_ticks,
        })
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
        Usage::of(self.pid, self.clock_ticks)
    }

    /// Starts a new peak-RSS window: writing 5 to `clear_refs` resets the kernel's high-water
    /// mark (`VmHWM`) to the current RSS (proc(5)).
    pub fn reset_peak(&self) -> Result<()> {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5")
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

/// The kernel's clock ticks per second, the unit of the CPU times in `/proc/PID/stat`.
///
/// Read once from `getconf CLK_TCK`: std has no safe `sysconf`, unsafe code is forbidden, and
/// the procfs crate, which reads the same three figures, cost more compile time than anything
/// else the benchmark alone needs (docs/decisions.md).
#[derive(Debug, Clone, Copy)]
pub struct ClockTicks(f64);

impl ClockTicks {
    pub async fn of_this_machine() -> Result<ClockTicks> {
        let output = Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .await
            .context("run `getconf CLK_TCK`")?;
        let text = String::from_utf8_lossy(&output.stdout);
        let ticks: u32 = text
            .trim()
            .parse()
            .with_context(|| format!("`getconf CLK_TCK` printed {text:?}"))?;
        if ticks == 0 {
            bail!("`getconf CLK_TCK` printed 0");
        }
        Ok(ClockTicks(f64::from(ticks)))
    }
}

impl Usage {
    pub fn of(pid: i32, clock_ticks: ClockTicks) -> Result<Usage> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .with_context(|| format!("read /proc/{pid}/stat"))?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .with_context(|| format!("read /proc/{pid}/status"))?;
        let (user, system) = cpu_ticks(&stat)?;
        Ok(Usage {
            cpu_seconds: (user + system) as f64 / clock_ticks.0,
            rss_bytes: status_kib(&status, "VmRSS")? * 1024,
            peak_rss_bytes: status_kib(&status, "VmHWM")? * 1024,
        })
    }
}

/// `utime` and `stime` (fields 14 and 15) of `/proc/PID/stat`. The command name (field 2) is
/// in parentheses and may itself hold spaces and parentheses, so fields are counted from the
/// last `)`.
fn cpu_ticks(stat: &str) -> Result<(u64, u64)> {
    let after_name = stat
        .rfind(')')
        .map(|end| &stat[end + 1..])
        .context("no command name in /proc/PID/stat")?;
    // Field 3 (the state) is the first after the name, so field N is at index N - 3.
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |n: usize| -> Result<u64> {
        fields
            .get(n - 3)
            .and_then(|f| f.parse().ok())
            .with_context(|| format!("field {n} of /proc/PID/stat"))
    };
    Ok((field(14)?, field(15)?))
}

/// A `Name:   1234 kB` line of `/proc/PID/status`, in KiB.
fn status_kib(status: &str, name: &str) -> Result<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().strip_suffix("kB")?.trim().parse().ok())
        .with_context(|| format!("{name} in /proc/PID/status"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_times_are_counted_from_the_last_parenthesis_of_the_command_name() {
        let stat = "4242 (rap (port) x) S 1 4242 4242 0 -1 4194304 900 0 0 0 \
                    1234 567 0 0 20 0 9 0 100 200000 3000 18446744073709551615";
        assert_eq!(cpu_ticks(stat).unwrap(), (1234, 567));
        assert!(cpu_ticks("4242 (rapport").is_err());
        assert!(cpu_ticks("4242 (rapport) S 1 2").is_err());
    }

    #[test]
    fn resident_set_figures_are_read_in_kib() {
        let status = "Name:\trapport\nVmHWM:\t   40960 kB\nVmRSS:\t   20480 kB\n";
        assert_eq!(status_kib(status, "VmRSS").unwrap(), 20480);
        assert_eq!(status_kib(status, "VmHWM").unwrap(), 40960);
        assert!(status_kib(status, "VmSwap").is_err());
    }

    #[tokio::test]
    async fn this_process_uses_cpu_and_memory() {
        let ticks = ClockTicks::of_this_machine().await.unwrap();
        let usage = Usage::of(i32::try_from(std::process::id()).unwrap(), ticks).unwrap();
        assert!(usage.rss_bytes > 0);
        assert!(usage.peak_rss_bytes >= usage.rss_bytes);
        assert!(usage.cpu_seconds >= 0.0);
    }
}
