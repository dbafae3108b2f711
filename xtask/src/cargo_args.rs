//! Command lines for the test steps, built from the user's pass-through arguments.
//!
//! Pure functions, so the rules below are unit-tested:
//! - `--workspace` is added unless the user chose packages themselves (`-p` and
//!   `--workspace` conflict in nextest, and a repeated `--workspace` is an error).
//! - Only arguments before the user's own `--` are looked at; after it they belong to
//!   the test binaries.
//! - Doctests get only the package selection: nextest filters and options mean nothing
//!   to `cargo test --doc`.

/// Which tool runs the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runner {
    Nextest,
    CargoTest,
}

/// Arguments to `cargo` for the main test run.
pub fn test_args(runner: Runner, ci: bool, user: &[String]) -> Vec<String> {
    let mut args: Vec<String> = match runner {
        Runner::Nextest => vec!["nextest".into(), "run".into()],
        Runner::CargoTest => vec!["test".into()],
    };
    if runner == Runner::Nextest && ci {
        args.extend(["--profile".into(), "ci".into()]);
    }
    if !selects_packages(user) {
        args.push("--workspace".into());
    }
    args.extend(user.iter().cloned());
    args
}

/// Arguments to `cargo` for the doctests, needed only after nextest (which cannot run them).
pub fn doctest_args(user: &[String]) -> Vec<String> {
    let mut args: Vec<String> = vec!["test".into(), "--doc".into()];
    if !selects_packages(user) {
        args.push("--workspace".into());
    }
    args.extend(package_selection(user));
    args
}

/// True when the user's arguments already say which packages to test.
pub fn selects_packages(user: &[String]) -> bool {
    cargo_side(user).iter().any(|arg| {
        let arg = arg.as_str();
        matches!(arg, "-p" | "--package" | "--workspace" | "--all")
            || arg.starts_with("--package=")
            || (arg.starts_with("-p") && !arg.starts_with("--"))
    })
}

/// The user's package-selection arguments (`-p`, `--package`, `--workspace`, `--exclude`),
/// with their values.
fn package_selection(user: &[String]) -> Vec<String> {
    let mut selection = Vec::new();
    let mut args = cargo_side(user).iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-p" | "--package" | "--exclude" => {
                selection.push(arg.clone());
                if let Some(value) = args.next() {
                    selection.push(value.clone());
                }
            }
            "--workspace" | "--all" => selection.push(arg.clone()),
            other
                if other.starts_with("--package=")
                    || other.starts_with("--exclude=")
                    || (other.starts_with("-p") && !other.starts_with("--")) =>
            {
                selection.push(arg.clone());
            }
            _ => {}
        }
    }
    selection
}

/// The arguments meant for cargo/nextest: everything before the user's own `--`.
fn cargo_side(user: &[String]) -> &[String] {
    let end = user
        .iter()
        .position(|arg| arg == "--")
        .unwrap_or(user.len());
    &user[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|arg| (*arg).to_string()).collect()
    }

    #[test]
    fn nextest_runs_the_whole_workspace_by_default() {
        assert_eq!(
            test_args(Runner::Nextest, false, &[]),
            strings(&["nextest", "run", "--workspace"])
        );
    }

    #[test]
    fn nextest_uses_the_ci_profile_under_ci() {
        assert_eq!(
            test_args(Runner::Nextest, true, &[]),
            strings(&["nextest", "run", "--profile", "ci", "--workspace"])
        );
    }

    #[test]
    fn cargo_test_has_no_profile_even_under_ci() {
        assert_eq!(
            test_args(Runner::CargoTest, true, &strings(&["storage"])),
            strings(&["test", "--workspace", "storage"])
        );
    }

    #[test]
    fn a_package_choice_replaces_workspace() {
        for user in [
            strings(&["-p", "xtask"]),
            strings(&["-pxtask"]),
            strings(&["--package", "xtask"]),
            strings(&["--package=xtask"]),
            strings(&["--workspace", "--exclude", "rapport"]),
        ] {
            let args = test_args(Runner::Nextest, false, &user);
            let mut expected = strings(&["nextest", "run"]);
            expected.extend(user.iter().cloned());
            assert_eq!(args, expected, "for {user:?}");
        }
    }

    #[test]
    fn exclude_alone_keeps_workspace() {
        assert_eq!(
            test_args(Runner::Nextest, false, &strings(&["--exclude", "rapport"])),
            strings(&["nextest", "run", "--workspace", "--exclude", "rapport"])
        );
    }

    #[test]
    fn filters_and_options_pass_through_in_order() {
        let user = strings(&["--no-capture", "storage::", "--", "--ignored"]);
        assert_eq!(
            test_args(Runner::Nextest, false, &user),
            strings(&[
                "nextest",
                "run",
                "--workspace",
                "--no-capture",
                "storage::",
                "--",
                "--ignored"
            ])
        );
    }

    #[test]
    fn a_p_after_the_users_double_dash_is_for_the_test_binary() {
        let user = strings(&["--", "-p"]);
        assert!(!selects_packages(&user));
        assert_eq!(
            test_args(Runner::CargoTest, false, &user),
            strings(&["test", "--workspace", "--", "-p"])
        );
    }

    #[test]
    fn long_options_starting_with_p_are_not_package_choices() {
        assert!(!selects_packages(&strings(&["--profile", "ci"])));
        assert!(!selects_packages(&strings(&["--partition", "count:1/2"])));
    }

    #[test]
    fn doctests_cover_the_workspace_by_default() {
        assert_eq!(
            doctest_args(&[]),
            strings(&["test", "--doc", "--workspace"])
        );
    }

    #[test]
    fn doctests_keep_only_the_package_selection() {
        let user = strings(&[
            "-E",
            "test(foo)",
            "-p",
            "zoom-api",
            "--package=zoom-sim",
            "foo",
        ]);
        assert_eq!(
            doctest_args(&user),
            strings(&["test", "--doc", "-p", "zoom-api", "--package=zoom-sim"])
        );
        let user = strings(&["--workspace", "--exclude", "rapport", "--", "-p", "x"]);
        assert_eq!(
            doctest_args(&user),
            strings(&["test", "--doc", "--workspace", "--exclude", "rapport"])
        );
    }
}
