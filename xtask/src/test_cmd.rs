//! `cargo xtask test`: prerequisites, fmt, clippy, chromedriver, tests, doctests.
//!
//! Every step runs even after an earlier one failed, so one run shows every problem;
//! the exit code is non-zero if any step failed. Under CI a missing prerequisite stops
//! the run at once: the tests that need it would otherwise pass by skipping themselves.

use crate::cargo_args::{self, Runner};
use crate::chromedriver::Chromedriver;
use crate::prereqs::{self, EnvChanges, Found};
use crate::summary::{Outcome, Summary};
use crate::{ci, paths};
use anyhow::bail;
use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Skip `cargo fmt --check` and `cargo clippy`.
    #[arg(long)]
    no_lint: bool,
    /// Do not look for Chromium nor start chromedriver; browser tests skip themselves.
    #[arg(long)]
    no_browser: bool,
    /// Passed to `cargo nextest run` (or `cargo test`), e.g. `-- -p zoom-api` or `-- some_filter`.
    #[arg(last = true, value_name = "ARGS")]
    extra: Vec<String>,
}

pub fn run(args: &TestArgs) -> anyhow::Result<ExitCode> {
    let ci = ci::is_ci();
    let repo = paths::repo_root();
    let mut summary = Summary::default();

    let found = summary.step("prerequisites", || {
        match prereqs::check(&repo, !args.no_browser) {
            Ok(found) => (prerequisites_outcome(&found, ci), Ok(found)),
            Err(err) => (Outcome::Failed(format!("{err:#}")), Err(err)),
        }
    });
    let found = match found {
        Ok(found) => found,
        Err(err) => {
            print!("{}", summary.render());
            return Err(err);
        }
    };
    report_prerequisites(&found, ci);
    if ci && !found.problems.is_empty() {
        print!("{}", summary.render());
        bail!(
            "CI=true and prerequisites are missing, so tests would be skipped rather than run:\n  - {}",
            found.problems.join("\n  - ")
        );
    }
    if args.no_lint {
        summary.skip("lint", "--no-lint");
    } else {
        summary.step("cargo fmt --check", || {
            (cargo(&repo, &fmt_args(), &EnvChanges::new()), ())
        });
        summary.step("cargo clippy", || {
            (cargo(&repo, &clippy_args(), &EnvChanges::new()), ())
        });
    }

    let mut env = found.env;
    let driver = match &found.browser {
        Some(browser) => {
            let log = repo.join("target").join("chromedriver.log");
            summary.step("chromedriver", || {
                match Chromedriver::start(&browser.chromedriver, &log) {
                    Ok(driver) => {
                        println!(
                            "xtask: chromedriver {} (pid {}) ready",
                            driver.url(),
                            driver.pid()
                        );
                        env.insert("WEBDRIVER_URL", Some(driver.url().into()));
                        (Outcome::Passed, Some(driver))
                    }
                    Err(err) => {
                        eprintln!("xtask: {err:#}");
                        env.insert("WEBDRIVER_URL", None);
                        let outcome = if ci { Outcome::Failed } else { Outcome::Warned };
                        (
                            outcome("did not start; browser tests will not run".into()),
                            None,
                        )
                    }
                }
            })
        }
        None => {
            if args.no_browser {
                summary.skip("chromedriver", "--no-browser");
            }
            None
        }
    };
    if ci && found.browser.is_some() && driver.is_none() {
        print!("{}", summary.render());
        bail!("CI=true and chromedriver did not start, so browser tests cannot run");
    }

    let runner = detect_runner(&repo);
    let test_step = match runner {
        Runner::Nextest => "tests (nextest)",
        Runner::CargoTest => "tests (cargo test)",
    };
    summary.step(test_step, || {
        (
            cargo(&repo, &cargo_args::test_args(runner, ci, &args.extra), &env),
            (),
        )
    });
    if runner == Runner::Nextest {
        summary.step("doctests", || {
            (
                cargo(&repo, &cargo_args::doctest_args(&args.extra), &env),
                (),
            )
        });
    }

    // Stop chromedriver before the summary so its shutdown is not mistaken for a hang.
    drop(driver);
    print!("{}", summary.render());
    Ok(if summary.failed() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn prerequisites_outcome(found: &Found, ci: bool) -> Outcome {
    match (found.problems.len(), ci) {
        (0, _) => Outcome::Passed,
        (n, true) => Outcome::Failed(format!("{n} missing")),
        (n, false) => Outcome::Warned(format!("{n} missing; the tests needing them will not run")),
    }
}

fn report_prerequisites(found: &Found, ci: bool) {
    for problem in &found.problems {
        let level = if ci { "error" } else { "warning" };
        eprintln!("xtask: {level}: {problem}");
    }
    for (name, value) in &found.env {
        match value {
            Some(value) => println!("xtask: tests get {name}={}", value.to_string_lossy()),
            None if std::env::var_os(name).is_some() => {
                println!("xtask: tests do not get the {name} you set (not usable here)");
            }
            None => {}
        }
    }
}

fn fmt_args() -> Vec<String> {
    ["fmt", "--all", "--", "--check"].map(String::from).to_vec()
}

fn clippy_args() -> Vec<String> {
    [
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]
    .map(String::from)
    .to_vec()
}

/// nextest when `cargo nextest` works; otherwise plain `cargo test`, which is slower
/// but needs nothing extra.
fn detect_runner(repo: &Path) -> Runner {
    let works = Command::new(cargo_bin())
        .args(["nextest", "--version"])
        .current_dir(repo)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if works {
        Runner::Nextest
    } else {
        println!(
            "xtask: cargo-nextest is not installed; using cargo test (`cargo install cargo-nextest` is faster)"
        );
        Runner::CargoTest
    }
}

/// The cargo that runs us, so a `cargo +toolchain xtask` stays on that toolchain.
fn cargo_bin() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Runs `cargo <args>` in the workspace with its output shown as it comes.
fn cargo(repo: &Path, args: &[String], env: &EnvChanges) -> Outcome {
    println!("\n==> cargo {}", args.join(" "));
    let mut command = Command::new(cargo_bin());
    command.args(args).current_dir(repo);
    for (name, value) in env {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    match command.status() {
        Ok(status) if status.success() => Outcome::Passed,
        Ok(status) => Outcome::Failed(status.to_string()),
        Err(err) => Outcome::Failed(format!("could not run cargo: {err}")),
    }
}
