//! `cargo xtask test`: prerequisites, fmt, clippy, chromedriver, tests, doctests.
//!
//! Every step runs even after an earlier one failed, so one run shows every problem;
//! the exit code is non-zero if any step failed. Under CI a missing prerequisite stops
//! the run at once: the tests that need it would otherwise pass by skipping themselves.

use crate::cargo_args::{self, Runner};
use crate::chromedriver::Chromedriver;
use crate::prereqs::{self, Browser, EnvChanges, Found};
use crate::summary::{Outcome, Summary};
use crate::{ci, paths};
use anyhow::anyhow;
use std::io::{BufRead as _, BufReader, IsTerminal as _};
use std::path::Path;
use std::process::{Command, ExitCode, ExitStatus, Stdio};
use std::time::Instant;

#[derive(Debug, Default, PartialEq)]
pub struct TestArgs {
    /// Skip `cargo fmt --check` and `cargo clippy`.
    pub no_lint: bool,
    /// Do not look for Chromium nor start chromedriver; browser tests skip themselves.
    pub no_browser: bool,
    /// Passed to `cargo nextest run` (or `cargo test`), e.g. `-- -p zoom-api` or `-- some_filter`.
    pub extra: Vec<String>,
}

pub fn run(args: &TestArgs) -> anyhow::Result<ExitCode> {
    let ci = ci::is_ci();
    let repo = paths::repo_root();
    let mut summary = Summary::default();

    let found = prerequisites_step(&mut summary, &repo, args, ci)?;
    lint_steps(&mut summary, &repo, args);
    let mut env = found.env;
    let driver = chromedriver_step(&mut summary, &repo, found.browser.as_ref(), ci, &mut env)?;
    test_steps(&mut summary, &repo, args, ci, &env);

    // Stop chromedriver before the summary so its shutdown is not mistaken for a hang.
    drop(driver);
    print!("{}", summary.render());
    Ok(if summary.failed() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Prints the summary so far and gives the error that ends the run.
fn abort(summary: &Summary, message: String) -> anyhow::Error {
    print!("{}", summary.render());
    anyhow!(message)
}

fn prerequisites_step(
    summary: &mut Summary,
    repo: &Path,
    args: &TestArgs,
    ci: bool,
) -> anyhow::Result<Found> {
    let started = Instant::now();
    let found = match prereqs::check(repo, !args.no_browser) {
        Ok(found) => found,
        Err(err) => {
            summary.record("prerequisites", started, Outcome::Failed("error".into()));
            return Err(abort(summary, format!("{err:#}")));
        }
    };
    summary.record("prerequisites", started, prerequisites_outcome(&found, ci));
    report_prerequisites(&found, ci);
    if ci && !found.problems.is_empty() {
        return Err(abort(
            summary,
            format!(
                "CI=true and prerequisites are missing, so tests would be skipped rather than run:\n  - {}",
                found.problems.join("\n  - ")
            ),
        ));
    }
    Ok(found)
}

fn lint_steps(summary: &mut Summary, repo: &Path, args: &TestArgs) {
    if args.no_lint {
        summary.skip("lint", "--no-lint");
        return;
    }
    let no_env = EnvChanges::new();
    summary.step("cargo fmt --check", || cargo(repo, &fmt_args(), &no_env));
    summary.step("cargo clippy", || cargo(repo, &clippy_args(), &no_env));
    summary.step("cargo clippy (SQLite only)", || {
        cargo(repo, &clippy_sqlite_only_args(), &no_env)
    });
}

/// Starts chromedriver when the browser prerequisites were found, and points the tests
/// at it. Outside CI a failed start only takes `WEBDRIVER_URL` away.
fn chromedriver_step(
    summary: &mut Summary,
    repo: &Path,
    browser: Option<&Browser>,
    ci: bool,
    env: &mut EnvChanges,
) -> anyhow::Result<Option<Chromedriver>> {
    let Some(browser) = browser else {
        // Either --no-browser, or missing and already reported as a prerequisite.
        summary.skip("chromedriver", "no Chromium to drive");
        return Ok(None);
    };
    let started = Instant::now();
    let log = repo.join("target").join("chromedriver.log");
    match Chromedriver::start(&browser.chromedriver, &log) {
        Ok(driver) => {
            println!(
                "xtask: chromedriver {} (pid {}) ready",
                driver.url(),
                driver.pid()
            );
            env.insert("WEBDRIVER_URL", Some(driver.url().into()));
            summary.record("chromedriver", started, Outcome::Passed);
            Ok(Some(driver))
        }
        Err(err) if ci => {
            summary.record(
                "chromedriver",
                started,
                Outcome::Failed("did not start".into()),
            );
            Err(abort(
                summary,
                format!("CI=true and browser tests cannot run: {err:#}"),
            ))
        }
        Err(err) => {
            eprintln!("xtask: warning: {err:#}");
            env.insert("WEBDRIVER_URL", None);
            let why = "did not start; browser tests will not run".into();
            summary.record("chromedriver", started, Outcome::Warned(why));
            Ok(None)
        }
    }
}

/// The tests, then (nextest cannot run them) the doctests.
fn test_steps(summary: &mut Summary, repo: &Path, args: &TestArgs, ci: bool, env: &EnvChanges) {
    let runner = detect_runner(repo);
    let name = match runner {
        Runner::Nextest => "tests (nextest)",
        Runner::CargoTest => "tests (cargo test)",
    };
    let test_args = cargo_args::test_args(runner, ci, &args.extra);
    summary.step(name, || cargo(repo, &test_args, env));
    if args.extra.is_empty() {
        summary.step("unit tests (SQLite only)", || {
            cargo(repo, &sqlite_only_unit_test_args(), env)
        });
    } else {
        summary.skip("unit tests (SQLite only)", "a test selection was given");
    }
    if runner == Runner::Nextest {
        let doctest_args = cargo_args::doctest_args(&args.extra);
        summary.step("doctests", || cargo_doctests(repo, &doctest_args, env));
    }
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

/// The library's unit tests in the build `cargo xtask bench` measures, without the `postgres`
/// feature: what differs there (the storage layer's SQLite-only paths, the refusal of a
/// PostgreSQL URL) is run, not only compiled.
fn sqlite_only_unit_test_args() -> Vec<String> {
    ["test", "-p", "rapport", "--no-default-features", "--lib"]
        .map(String::from)
        .to_vec()
}

/// Rapport built without its `postgres` feature, as `cargo xtask bench` builds it for a run on
/// SQLite alone: it must keep compiling without warnings (the integration tests need the
/// feature, so only the library and the binary).
fn clippy_sqlite_only_args() -> Vec<String> {
    [
        "clippy",
        "-p",
        "rapport",
        "--no-default-features",
        "--lib",
        "--bins",
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
    let works = crate::cargo_cmd::cargo()
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

/// `cargo <args>` in the workspace, with the tests' environment applied.
fn cargo_command(repo: &Path, args: &[String], env: &EnvChanges) -> Command {
    println!("\n==> cargo {}", args.join(" "));
    let mut command = crate::cargo_cmd::cargo();
    command.args(args).current_dir(repo);
    for (name, value) in env {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    command
}

/// Runs `cargo <args>` with its output shown as it comes.
fn cargo(repo: &Path, args: &[String], env: &EnvChanges) -> Outcome {
    outcome_of(cargo_command(repo, args, env).status())
}

/// Runs `cargo test --doc`, treating "no library in the chosen packages" as nothing to
/// do: `-- -p xtask` must not fail because binaries cannot have doctests.
fn cargo_doctests(repo: &Path, args: &[String], env: &EnvChanges) -> Outcome {
    let mut command = cargo_command(repo, args, env);
    if std::io::stderr().is_terminal() {
        // stderr is piped below; keep cargo's colours for a human watching.
        command.env("CARGO_TERM_COLOR", "always");
    }
    let mut child = match command.stderr(Stdio::piped()).spawn() {
        Ok(child) => child,
        Err(err) => return Outcome::Failed(format!("could not run cargo: {err}")),
    };
    let mut no_library = false;
    if let Some(stderr) = child.stderr.take() {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            no_library |= line.contains(NO_LIBRARY);
            eprintln!("{line}");
        }
    }
    match outcome_of(child.wait()) {
        Outcome::Failed(_) if no_library => {
            Outcome::Skipped("no library in the chosen packages".into())
        }
        outcome => outcome,
    }
}

/// What cargo prints when none of the chosen packages has a library target.
const NO_LIBRARY: &str = "no library targets found";

fn outcome_of(status: std::io::Result<ExitStatus>) -> Outcome {
    match status {
        Ok(status) if status.success() => Outcome::Passed,
        Ok(status) => Outcome::Failed(status.to_string()),
        Err(err) => Outcome::Failed(format!("could not run cargo: {err}")),
    }
}
