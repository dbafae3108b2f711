//! Project tasks for Rapport: `cargo xtask <command>`.
//!
//! `cargo xtask test` is the one command that checks everything, locally and in CI
//! (`.ci/run` calls exactly it). It finds or prepares the prerequisites, runs
//! `cargo fmt --check`, `cargo clippy -D warnings`, the tests (with cargo-nextest when it
//! is installed, else `cargo test`) and the doctests, and prints each step's time.
//!
//! ```text
//! cargo xtask bench --quick             # benchmarks (docs/benchmarks.md)
//! cargo xtask diagrams                  # docs/*.svg from the Mermaid in docs/architecture.md
//! cargo xtask test                      # everything
//! cargo xtask test --no-lint            # skip fmt and clippy
//! cargo xtask test --no-browser         # do not look for Chromium, do not start chromedriver
//! cargo xtask test -- -p zoom-api       # extra args go to `cargo nextest run` / `cargo test`
//! cargo xtask test -- storage::         # a test filter
//! ```
//!
//! # Environment the tests receive
//!
//! Integration tests of the other crates read these variables. A test whose variable is
//! missing should say so on stderr and return without checking anything — unless
//! `CI=true`, where a missing variable is a failure (xtask itself already refuses to run
//! under CI without the prerequisites, so in CI they are always set).
//!
//! | variable | value | set when |
//! | --- | --- | --- |
//! | `TEST_DATABASE_URL` | a PostgreSQL URL, e.g. `postgres://postgres@127.0.0.1:5432/postgres` | already set by the caller (kept as is), or a server answers on 127.0.0.1:5432 (started with `pg_ctlcluster` if needed) |
//! | `WEBDRIVER_URL` | `http://127.0.0.1:<port>` of a chromedriver xtask started and will stop | Chromium and chromedriver are present and `--no-browser` was not given |
//! | `CHROME_BIN` | the Chromium binary, `/usr/bin/chromium` unless the caller set `CHROME_BIN` | together with `WEBDRIVER_URL` |
//! | `RAPPORT_SCREENSHOT_DIR` | absolute path of an existing directory, `<repo>/target/screenshots` unless the caller set it | always |
//! | `ZOOM_OPENAPI_DIR` | the folder holding Zoom's OpenAPI JSON files, `<repo>/../shared/zoom-openapi` unless the caller set it | the folder exists |
//! | `CI` | passed through untouched; `true` (or `1`) means "never skip" | set by the CI runner |
//!
//! Each PostgreSQL test creates a database of its own on that server, `rapport_test_` and 16
//! letters, and leaves it; xtask drops those of earlier runs before testing (with `psql`, when
//! installed; a database still in use by a concurrent run stays).
//!
//! Browser tests usually run as root in CI, where Chromium refuses to start without
//! `--no-sandbox`; pass `--headless=new`, `--no-sandbox` and `--disable-dev-shm-usage` in
//! the `goog:chromeOptions` args, with `binary` set to `CHROME_BIN`.
//!
//! # Variables xtask reads
//!
//! - `CI`: `true` turns every missing prerequisite into a failure; selects the nextest `ci`
//!   profile (`.config/nextest.toml`).
//! - `RAPPORT_INSTALL_DEPS`: `1` installs Chromium and chromedriver with apt-get (through
//!   sudo when not root); `0` never installs. Unset: install only when running as root.
//! - `RAPPORT_CHROMEDRIVER`: chromedriver binary to use instead of `/usr/bin/chromedriver`.
//! - `CHROME_BIN`, `TEST_DATABASE_URL`, `RAPPORT_SCREENSHOT_DIR`, `ZOOM_OPENAPI_DIR`: when
//!   set, used instead of what xtask would find.

mod bench_cmd;
mod cargo_args;
mod cargo_cmd;
mod chromedriver;
mod ci;
mod diagrams;
mod paths;
mod prereqs;
mod summary;
mod test_cmd;

use std::ffi::OsString;
use std::process::ExitCode;

/// What `cargo xtask --help` prints.
const USAGE: &str = "\
Rapport project tasks

Usage: cargo xtask <COMMAND> [OPTIONS]

Commands:
  test [--no-lint] [--no-browser] [-- ARGS...]
      Check everything CI checks: prerequisites, fmt, clippy, tests, doctests.
      --no-lint      skip `cargo fmt --check` and `cargo clippy`
      --no-browser   do not look for Chromium nor start chromedriver; browser tests skip
      -- ARGS        passed to `cargo nextest run` (or `cargo test`), e.g. `-- -p zoom-api`
  bench [--quick] [--postgres] [--no-docs]
      Benchmark Rapport in release mode against baselines from the same run.
      --quick        a short run (a few seconds per scenario, up to 100,000 contacts);
                     leaves docs alone
      --postgres     also run on PostgreSQL (BENCH_POSTGRES_URL,
                     default postgres://postgres@127.0.0.1:5432)
      --no-docs      do not rewrite docs/benchmarks.md after a full run
  diagrams [--check]
      Render the Mermaid diagrams of docs/ to SVG.
      --check        only check that every SVG matches its Mermaid source
";

/// A task and its options, from the command line.
#[derive(Debug, PartialEq)]
enum Task {
    Test(test_cmd::TestArgs),
    Bench(bench_cmd::BenchArgs),
    Diagrams(diagrams::DiagramsArgs),
    Help,
}

/// Parses `cargo xtask`'s arguments with `lexopt` rather than clap: xtask is compiled (in
/// debug mode, apart from the release build) before every `cargo xtask bench` and CI run,
/// and clap's derive was most of that compile (docs/benchmarks.md).
fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Task, lexopt::Error> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_args(args);
    let command = match parser.next()? {
        Some(Value(command)) => command.string()?,
        Some(Short('h') | Long("help")) | None => return Ok(Task::Help),
        Some(other) => return Err(other.unexpected()),
    };
    match command.as_str() {
        "test" => {
            let mut args = test_cmd::TestArgs::default();
            while let Some(arg) = parser.next()? {
                match arg {
                    Long("no-lint") => args.no_lint = true,
                    Long("no-browser") => args.no_browser = true,
                    // Everything after `--` (including a second `--`) goes to the test runner.
                    Value(value) => args.extra.push(value.string()?),
                    Short('h') | Long("help") => return Ok(Task::Help),
                    other => return Err(other.unexpected()),
                }
            }
            Ok(Task::Test(args))
        }
        "bench" => {
            let mut args = bench_cmd::BenchArgs::default();
            while let Some(arg) = parser.next()? {
                match arg {
                    Long("quick") => args.quick = true,
                    Long("postgres") => args.postgres = true,
                    Long("no-docs") => args.no_docs = true,
                    Short('h') | Long("help") => return Ok(Task::Help),
                    other => return Err(other.unexpected()),
                }
            }
            Ok(Task::Bench(args))
        }
        "diagrams" => {
            let mut args = diagrams::DiagramsArgs::default();
            while let Some(arg) = parser.next()? {
                match arg {
                    Long("check") => args.check = true,
                    Short('h') | Long("help") => return Ok(Task::Help),
                    other => return Err(other.unexpected()),
                }
            }
            Ok(Task::Diagrams(args))
        }
        _ => Err(lexopt::Error::Custom(
            format!("unknown command {command:?} (test, bench or diagrams)").into(),
        )),
    }
}

fn main() -> ExitCode {
    let task = match parse(std::env::args_os().skip(1)) {
        Ok(task) => task,
        Err(err) => {
            eprintln!("xtask: error: {err}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match task {
        Task::Test(args) => test_cmd::run(&args),
        Task::Bench(args) => bench_cmd::run(&args),
        Task::Diagrams(args) => diagrams::run(&args),
        Task::Help => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(args: &[&str]) -> Result<Task, String> {
        parse(args.iter().map(OsString::from)).map_err(|err| err.to_string())
    }

    #[test]
    fn test_passes_everything_after_the_separator_to_the_runner() {
        let Ok(Task::Test(args)) = parsed(&[
            "test",
            "--no-lint",
            "--",
            "-p",
            "zoom-api",
            "--",
            "--nocapture",
        ]) else {
            panic!("not a test task");
        };
        assert!(args.no_lint);
        assert!(!args.no_browser);
        assert_eq!(args.extra, ["-p", "zoom-api", "--", "--nocapture"]);
    }

    #[test]
    fn bench_and_diagrams_take_their_flags() {
        assert_eq!(
            parsed(&["bench", "--quick", "--postgres"]),
            Ok(Task::Bench(bench_cmd::BenchArgs {
                quick: true,
                postgres: true,
                no_docs: false
            }))
        );
        assert_eq!(
            parsed(&["diagrams", "--check"]),
            Ok(Task::Diagrams(diagrams::DiagramsArgs { check: true }))
        );
    }

    #[test]
    fn unknown_commands_and_options_are_errors_that_name_them() {
        let err = parsed(&["bench", "--quik"]).err().unwrap_or_default();
        assert!(err.contains("--quik"), "{err}");
        let err = parsed(&["tset"]).err().unwrap_or_default();
        assert!(err.contains("tset"), "{err}");
        let err = parsed(&["test", "-p"]).err().unwrap_or_default();
        assert!(err.contains("-p"), "{err}");
    }

    #[test]
    fn no_command_or_help_prints_the_usage() {
        assert_eq!(parsed(&[]), Ok(Task::Help));
        assert_eq!(parsed(&["--help"]), Ok(Task::Help));
        assert_eq!(parsed(&["bench", "-h"]), Ok(Task::Help));
    }
}
