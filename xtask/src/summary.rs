//! What each step did and how long it took, printed at the end of a run.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    /// Ran but something is missing; the run goes on (outside CI only).
    Warned(String),
    Failed(String),
    Skipped(String),
}

#[derive(Debug)]
pub struct Step {
    pub name: &'static str,
    pub outcome: Outcome,
    pub took: Duration,
}

#[derive(Debug, Default)]
pub struct Summary {
    steps: Vec<Step>,
}

impl Summary {
    /// Runs `work` and records its outcome and duration under `name`.
    pub fn step(&mut self, name: &'static str, work: impl FnOnce() -> Outcome) {
        let started = Instant::now();
        let outcome = work();
        self.record(name, started, outcome);
    }

    /// Records a step the caller timed itself, for steps that also produce a value.
    pub fn record(&mut self, name: &'static str, started: Instant, outcome: Outcome) {
        self.steps.push(Step {
            name,
            outcome,
            took: started.elapsed(),
        });
    }

    pub fn skip(&mut self, name: &'static str, why: &str) {
        self.steps.push(Step {
            name,
            outcome: Outcome::Skipped(why.to_string()),
            took: Duration::ZERO,
        });
    }

    pub fn failed(&self) -> bool {
        self.steps
            .iter()
            .any(|step| matches!(step.outcome, Outcome::Failed(_)))
    }

    pub fn render(&self) -> String {
        let width = self
            .steps
            .iter()
            .map(|step| step.name.len())
            .max()
            .unwrap_or(0);
        let mut out = String::from("\nxtask test summary:\n");
        for step in &self.steps {
            let (label, detail) = match &step.outcome {
                Outcome::Passed => ("ok", ""),
                Outcome::Warned(why) => ("WARN", why.as_str()),
                Outcome::Failed(why) => ("FAILED", why.as_str()),
                Outcome::Skipped(why) => ("skipped", why.as_str()),
            };
            let secs = step.took.as_secs_f64();
            let _ = write!(out, "  {:<width$}  {label:<7}  {secs:>7.1}s", step.name);
            if !detail.is_empty() {
                let _ = write!(out, "  {detail}");
            }
            out.push('\n');
        }
        let verdict = if self.failed() { "FAILED" } else { "passed" };
        let total: Duration = self.steps.iter().map(|step| step.took).sum();
        let _ = writeln!(out, "  {verdict} in {:.1}s", total.as_secs_f64());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_failed_step_fails_the_run_and_is_shown() {
        let mut summary = Summary::default();
        summary.step("fmt", || Outcome::Passed);
        summary.step("clippy", || Outcome::Failed("exit status 101".into()));
        summary.skip("chromedriver", "--no-browser");
        assert!(summary.failed());
        let text = summary.render();
        assert!(text.contains("clippy"));
        assert!(text.contains("FAILED"));
        assert!(text.contains("exit status 101"));
        assert!(text.contains("skipped"));
    }

    #[test]
    fn warnings_and_skips_do_not_fail_the_run() {
        let mut summary = Summary::default();
        summary.record(
            "prerequisites",
            Instant::now(),
            Outcome::Warned("no PostgreSQL".into()),
        );
        summary.skip("lint", "--no-lint");
        assert!(!summary.failed());
        assert!(summary.render().contains("passed"));
    }
}
