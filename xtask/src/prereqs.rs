//! Finding (and where allowed, preparing) what the tests need outside Rust:
//! PostgreSQL, Chromium with chromedriver, Zoom's OpenAPI files, a screenshot folder.
//!
//! Each check either yields values for the tests' environment or a problem saying what
//! is missing and how to fix it. The caller decides what a problem means: a failure under
//! CI, a warning otherwise.

use crate::paths;
use anyhow::Context as _;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LOCAL_POSTGRES: &str = "127.0.0.1:5432";
const LOCAL_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";
const DEFAULT_CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Changes to the tests' environment: `Some` sets a variable, `None` removes an inherited
/// one so that a stale value cannot point the tests at something we did not check.
pub type EnvChanges = BTreeMap<&'static str, Option<OsString>>;

#[derive(Debug)]
pub struct Browser {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
}

#[derive(Debug, Default)]
pub struct Found {
    pub env: EnvChanges,
    /// Set when chromedriver should be started for the tests.
    pub browser: Option<Browser>,
    /// What is missing, each with how to get it.
    pub problems: Vec<String>,
}

/// Runs every check. Only an I/O failure on our own folders is an error.
pub fn check(repo: &Path, want_browser: bool) -> anyhow::Result<Found> {
    let mut found = Found::default();

    let shots = paths::screenshot_dir(repo, env_var("RAPPORT_SCREENSHOT_DIR").as_deref());
    std::fs::create_dir_all(&shots)
        .with_context(|| format!("creating the screenshot folder {}", shots.display()))?;
    found
        .env
        .insert("RAPPORT_SCREENSHOT_DIR", Some(shots.into_os_string()));

    match postgres() {
        Ok(Some(url)) => {
            drop_leftover_test_databases(&url);
            found.env.insert("TEST_DATABASE_URL", Some(url.into()));
        }
        Ok(None) => {
            // the caller's TEST_DATABASE_URL stays as it is
            if let Some(url) = env_var("TEST_DATABASE_URL") {
                drop_leftover_test_databases(&url);
            }
        }
        Err(problem) => found.problems.push(problem),
    }

    let openapi = paths::zoom_openapi_dir(repo, env_var("ZOOM_OPENAPI_DIR").as_deref());
    if openapi.is_dir() {
        let openapi = std::fs::canonicalize(&openapi).unwrap_or(openapi);
        found
            .env
            .insert("ZOOM_OPENAPI_DIR", Some(openapi.into_os_string()));
    } else {
        found.problems.push(format!(
            "Zoom OpenAPI folder {} does not exist; put Zoom's OpenAPI JSON files there or set \
             ZOOM_OPENAPI_DIR (CI expects shared/zoom-openapi beside the clone)",
            openapi.display()
        ));
    }

    if want_browser {
        match browser() {
            Ok(browser) => {
                found.env.insert(
                    "CHROME_BIN",
                    Some(browser.chromium.clone().into_os_string()),
                );
                found.browser = Some(browser);
            }
            Err(problem) => found.problems.push(problem),
        }
    }
    if found.browser.is_none() {
        found.env.insert("WEBDRIVER_URL", None);
    }
    Ok(found)
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

// ---------------------------------------------------------------- PostgreSQL

/// `Ok(Some(url))`: export this URL. `Ok(None)`: the caller already set one.
fn postgres() -> Result<Option<String>, String> {
    if env_var("TEST_DATABASE_URL").is_some() {
        println!("xtask: using the TEST_DATABASE_URL you set");
        return Ok(None);
    }
    if postgres_answers(Duration::from_secs(2)) {
        return Ok(Some(LOCAL_POSTGRES_URL.into()));
    }
    if let Some(started) = start_local_cluster() {
        println!("xtask: started PostgreSQL {started} with pg_ctlcluster");
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if postgres_answers(Duration::from_secs(1)) {
                return Ok(Some(LOCAL_POSTGRES_URL.into()));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
    Err(format!(
        "PostgreSQL does not answer on {LOCAL_POSTGRES}; start it (Debian: `pg_ctlcluster \
         --skip-systemctl-redirect <version> main start`, trust auth for user postgres) or set \
         TEST_DATABASE_URL"
    ))
}

/// Every PostgreSQL test creates a database of its own (`rapport_test_` and 16 letters) and
/// leaves it, so a developer's server collected a couple of hundred per run. Those of earlier
/// runs are dropped here, with `psql` when it is installed (otherwise they stay). A database
/// still in use, by a run going on at the same time, refuses to be dropped and is left alone.
fn drop_leftover_test_databases(url: &str) {
    if find_in_path("psql").is_none() {
        return;
    }
    // `\gexec` runs each row as a statement; a failed one does not stop the rest.
    let script = "SELECT format('DROP DATABASE %I', datname) FROM pg_database \
                  WHERE datname ~ '^rapport_test_[a-z]{16}$' \\gexec\n";
    let dropped = Command::new("psql")
        .args([url, "-X", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .and_then(|mut child| {
            if let Some(mut stdin) = child.stdin.take() {
                std::io::Write::write_all(&mut stdin, script.as_bytes())?;
            }
            child.wait_with_output()
        })
        .map(|out| {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|line| *line == "DROP DATABASE")
                .count()
        });
    if let Ok(n @ 1..) = dropped {
        println!("xtask: dropped {n} test databases left by earlier runs");
    }
}

/// A TCP connection is enough: the tests report anything wrong beyond that precisely.
fn postgres_answers(timeout: Duration) -> bool {
    LOCAL_POSTGRES
        .parse::<SocketAddr>()
        .is_ok_and(|addr| TcpStream::connect_timeout(&addr, timeout).is_ok())
}

/// Starts the Debian cluster if there is one; returns its version when the start succeeded.
fn start_local_cluster() -> Option<String> {
    find_in_path("pg_ctlcluster")?;
    let version = newest_cluster_version(Path::new("/etc/postgresql"))?;
    println!("xtask: PostgreSQL is not running; trying pg_ctlcluster {version} main start");
    let status = Command::new("pg_ctlcluster")
        .args(["--skip-systemctl-redirect", &version, "main", "start"])
        .status()
        .ok()?;
    status.success().then_some(version)
}

/// The highest numbered cluster folder (Debian keeps one per major version).
fn newest_cluster_version(etc_postgresql: &Path) -> Option<String> {
    let names = std::fs::read_dir(etc_postgresql)
        .ok()?
        .filter_map(Result::ok)
        .filter(|entry| entry.path().join("main").is_dir())
        .filter_map(|entry| entry.file_name().into_string().ok());
    newest_version(names)
}

fn newest_version(names: impl Iterator<Item = String>) -> Option<String> {
    let numeric = |name: &String| -> Vec<u64> {
        name.split('.')
            .map(|part| part.parse().unwrap_or(0))
            .collect()
    };
    names.max_by_key(numeric)
}

// ---------------------------------------------------------------- Chromium

fn browser() -> Result<Browser, String> {
    let chromium =
        env_var("CHROME_BIN").map_or_else(|| PathBuf::from(DEFAULT_CHROMIUM), PathBuf::from);
    let chromedriver = env_var("RAPPORT_CHROMEDRIVER")
        .map_or_else(|| PathBuf::from(DEFAULT_CHROMEDRIVER), PathBuf::from);

    // Only Debian's own paths can be fixed by installing Debian's packages; a path the
    // caller chose and got wrong is theirs to fix.
    let installable = |path: &Path| {
        path == Path::new(DEFAULT_CHROMIUM) || path == Path::new(DEFAULT_CHROMEDRIVER)
    };
    let missing: Vec<&Path> = [chromium.as_path(), chromedriver.as_path()]
        .into_iter()
        .filter(|path| !path.is_file())
        .collect();
    if !missing.is_empty() && missing.iter().all(|path| installable(path)) {
        install_chromium()?;
    }

    for (what, path) in [("Chromium", &chromium), ("chromedriver", &chromedriver)] {
        if !path.is_file() {
            return Err(format!(
                "{what} ({}) is missing; install Debian's packages with `sudo apt-get install chromium \
                 chromium-driver` (xtask does it itself when run as root or with \
                 RAPPORT_INSTALL_DEPS=1), or point CHROME_BIN / RAPPORT_CHROMEDRIVER at \
                 existing binaries",
                path.display()
            ));
        }
    }
    Ok(Browser {
        chromium,
        chromedriver,
    })
}

#[derive(Debug, PartialEq, Eq)]
enum Install {
    No,
    AsRoot,
    WithSudo,
}

fn install_policy(install_deps: Option<&str>, is_root: bool) -> Install {
    match (install_deps.map(str::trim), is_root) {
        (Some("0"), _) => Install::No,
        (Some("1"), false) => Install::WithSudo,
        (_, true) => Install::AsRoot,
        (_, false) => Install::No,
    }
}

/// Installs Chromium and chromedriver when allowed; an error only when trying failed.
fn install_chromium() -> Result<(), String> {
    let policy = install_policy(
        std::env::var("RAPPORT_INSTALL_DEPS").ok().as_deref(),
        is_root(),
    );
    let prefix: &[&str] = match policy {
        Install::No => return Ok(()),
        Install::AsRoot => &[],
        Install::WithSudo => &["sudo"],
    };
    println!("xtask: installing Debian's chromium and chromium-driver with apt-get");
    let apt = |args: &[&str]| -> Result<(), String> {
        let full: Vec<&str> = prefix
            .iter()
            .chain(["apt-get"].iter())
            .chain(args)
            .copied()
            .collect();
        let status = Command::new(full[0])
            .args(&full[1..])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map_err(|err| format!("could not run `{}`: {err}", full.join(" ")))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("`{}` failed ({status})", full.join(" ")))
        }
    };
    apt(&["update"])?;
    apt(&["install", "-y", "chromium", "chromium-driver"])
}

fn is_root() -> bool {
    if let Ok(status) = std::fs::read_to_string("/proc/self/status")
        && let Some(uid) = effective_uid(&status)
    {
        return uid == 0;
    }
    Command::new("id")
        .arg("-u")
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// The effective uid from `/proc/self/status` ("Uid:\treal\teffective\tsaved\tfs").
fn effective_uid(proc_status: &str) -> Option<u32> {
    let line = proc_status.lines().find(|line| line.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

fn find_in_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_only_as_root_unless_asked() {
        assert_eq!(install_policy(None, true), Install::AsRoot);
        assert_eq!(install_policy(None, false), Install::No);
        assert_eq!(install_policy(Some("1"), false), Install::WithSudo);
        assert_eq!(install_policy(Some("1"), true), Install::AsRoot);
        assert_eq!(install_policy(Some("0"), true), Install::No);
    }

    #[test]
    fn effective_uid_is_the_second_number() {
        let status = "Name:\txtask\nUid:\t1000\t0\t0\t0\nGid:\t1000\t1000\t1000\t1000\n";
        assert_eq!(effective_uid(status), Some(0));
        assert_eq!(effective_uid("Name:\txtask\n"), None);
    }

    #[test]
    fn newest_cluster_compares_numerically() {
        let names = ["9.6", "15", "13"].map(String::from).into_iter();
        assert_eq!(newest_version(names).as_deref(), Some("15"));
        assert_eq!(newest_version(std::iter::empty()), None);
    }
}
