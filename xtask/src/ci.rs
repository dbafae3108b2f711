//! The one place that decides whether we run under CI.
//!
//! Under CI a missing prerequisite must fail the run: a skipped browser or PostgreSQL
//! test that reports "ok" would hide exactly the regressions CI exists to catch.

/// True when the `CI` variable says so (`true` or `1`, as CI services set it).
pub fn is_ci() -> bool {
    ci_flag(std::env::var("CI").ok().as_deref())
}

fn ci_flag(value: Option<&str>) -> bool {
    matches!(value.map(str::trim), Some(v) if v == "1" || v.eq_ignore_ascii_case("true"))
}

#[cfg(test)]
mod tests {
    use super::ci_flag;

    #[test]
    fn true_and_one_mean_ci() {
        assert!(ci_flag(Some("true")));
        assert!(ci_flag(Some("TRUE")));
        assert!(ci_flag(Some("1")));
    }

    #[test]
    fn anything_else_is_not_ci() {
        assert!(!ci_flag(None));
        assert!(!ci_flag(Some("")));
        assert!(!ci_flag(Some("false")));
        assert!(!ci_flag(Some("0")));
    }
}
