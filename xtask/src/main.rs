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

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "xtask",
    bin_name = "cargo xtask",
    about = "Rapport project tasks"
)]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Check everything CI checks: prerequisites, fmt, clippy, tests, doctests.
    Test(test_cmd::TestArgs),
    /// Benchmark Rapport in release mode against baselines from the same run.
    Bench(bench_cmd::BenchArgs),
    /// Render the Mermaid diagrams of docs/ to SVG (`--check`: only verify they are current).
    Diagrams(diagrams::DiagramsArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Task::Test(args) => test_cmd::run(&args),
        Task::Bench(args) => bench_cmd::run(&args),
        Task::Diagrams(args) => diagrams::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
