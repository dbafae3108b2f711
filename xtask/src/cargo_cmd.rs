//! The `cargo` that xtask runs for its steps.

use std::ffi::OsString;
use std::process::Command;

/// A `cargo` command for a build or test step: the cargo that runs us (so a `cargo +toolchain
/// xtask` stays on that toolchain), without the variables `cargo run` set for xtask itself.
///
/// ring's build script asks to be rerun when `CARGO_PKG_NAME`, `CARGO_MANIFEST_DIR` and the
/// like change, and Cargo compares those names in its own environment. Inherited from
/// `cargo xtask` (`CARGO_PKG_NAME=xtask`), they differed from a plain `cargo build`'s, so
/// `cargo xtask bench` after `cargo build --release` (or the other way round) rebuilt ring,
/// rustls and everything above them: ten minutes on two cores.
pub fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    for name in inherited_from_cargo_run(std::env::vars_os().map(|(name, _)| name)) {
        command.env_remove(name);
    }
    command
}

/// Of these variable names, those `cargo run` sets for the program it runs.
fn inherited_from_cargo_run(names: impl Iterator<Item = OsString>) -> Vec<OsString> {
    names
        .filter(|name| {
            name.to_str().is_some_and(|name| {
                name.starts_with("CARGO_PKG_")
                    || name.starts_with("CARGO_MANIFEST_")
                    || name.starts_with("CARGO_BIN_")
                    || matches!(name, "CARGO_CRATE_NAME" | "CARGO_PRIMARY_PACKAGE")
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_what_cargo_run_sets_and_keeps_the_rest() {
        let names = [
            "CARGO_PKG_NAME",
            "CARGO_PKG_VERSION_MAJOR",
            "CARGO_MANIFEST_DIR",
            "CARGO_MANIFEST_PATH",
            "CARGO_CRATE_NAME",
            "CARGO_BIN_NAME",
            "CARGO_PRIMARY_PACKAGE",
            "CARGO",
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "PATH",
            "CI",
        ]
        .map(OsString::from);
        let removed = inherited_from_cargo_run(names.into_iter());
        assert_eq!(
            removed,
            [
                "CARGO_PKG_NAME",
                "CARGO_PKG_VERSION_MAJOR",
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_CRATE_NAME",
                "CARGO_BIN_NAME",
                "CARGO_PRIMARY_PACKAGE",
            ]
            .map(OsString::from)
        );
    }
}
