//! `cargo xtask bench`: builds the release binaries and runs `rapport-bench`, which starts
//! Rapport and the Zoom simulator as processes, loads them and writes `target/bench/report.json`
//! and `report.md`. A full run also regenerates the figures in `docs/benchmarks.md`.

use crate::paths;
use anyhow::{Context, bail};
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Instant;

#[derive(Debug, Default, PartialEq)]
pub struct BenchArgs {
    /// A short run (a few seconds per scenario, up to 100,000 contacts); leaves docs alone.
    pub quick: bool,
    /// Also run on PostgreSQL (BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432).
    pub postgres: bool,
    /// Do not rewrite docs/benchmarks.md after a full run.
    pub no_docs: bool,
}

/// The `cargo` arguments of the release build. Without `--postgres` Rapport is built without
/// its PostgreSQL driver (the `postgres` feature): a run on SQLite alone does not execute it,
/// and it was a tenth of the build's compilation (docs/benchmarks.md). The code measured on
/// SQLite is the same either way.
fn build_args(postgres: bool) -> Vec<&'static str> {
    let mut args = vec![
        "build",
        "--release",
        "-p",
        "rapport",
        "-p",
        "zoom-sim",
        "-p",
        "rapport-bench",
    ];
    if !postgres {
        args.push("--no-default-features");
    }
    args
}

pub fn run(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let repo = paths::repo_root();
    let started = Instant::now();
    let build = build_args(args.postgres);
    println!(
        "xtask bench: building release binaries (rapport, zoom-sim, rapport-bench): cargo {}",
        build.join(" ")
    );
    let status = crate::cargo_cmd::cargo()
        .current_dir(&repo)
        .args(&build)
        .status()
        .context("run cargo build --release")?;
    if !status.success() {
        bail!("release build failed");
    }
    println!(
        "xtask bench: built in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| paths::absolute(&repo, &p))
        .unwrap_or_else(|| repo.join("target"));
    let mut bench = Command::new(target.join("release").join("rapport-bench"));
    bench
        .current_dir(&repo)
        .args(["--out", &target.join("bench").display().to_string()]);
    if args.quick {
        bench.arg("--quick");
    }
    if args.postgres {
        bench.arg("--postgres");
    }
    if !args.quick && !args.no_docs {
        bench.args(["--update-docs", "docs/benchmarks.md"]);
    }
    let status = bench.status().context("run rapport-bench")?;
    println!(
        "xtask bench: finished in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_postgres_driver_is_built_only_for_a_postgres_run() {
        assert!(build_args(false).contains(&"--no-default-features"));
        assert!(!build_args(true).contains(&"--no-default-features"));
        assert!(build_args(true).contains(&"--release"));
    }
}
