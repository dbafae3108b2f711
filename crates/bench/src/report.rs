//! What a run found: `report.json` for tools and a Markdown rendering for people (the body of
//! `docs/benchmarks.md`). Every figure is also given as a ratio to its baseline from the same
//! run, and set against the budget of issue 7.

use std::fmt::Write as _;

use serde::Serialize;

use crate::load::LoadResult;

#[derive(Debug, Serialize)]
pub struct Report {
    pub generated_at: String,
    pub mode: &'static str,
    pub machine: Machine,
    pub runs: Vec<BackendRun>,
}

#[derive(Debug, Serialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub kernel: String,
    pub rustc: String,
}

#[derive(Debug, Serialize)]
pub struct BackendRun {
    pub backend: String,
    /// How the database was kept up between measurements, when the benchmark had to do it.
    pub maintenance: Option<String>,
    pub startup: Startup,
    pub scenarios: Vec<Scenario>,
    pub growth: Vec<GrowthPoint>,
    pub outbox: Option<Outbox>,
    pub refresh: Option<RefreshStorm>,
}

#[derive(Debug, Serialize)]
pub struct Startup {
    pub migrate_seconds: f64,
    pub ready_ms: f64,
    pub idle_rss_mb: f64,
    pub budget: Vec<Budget>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    pub key: &'static str,
    pub name: String,
    pub load: LoadResult,
    pub cpu_seconds_per_1k: f64,
    pub peak_rss_mb: f64,
    pub baseline: Option<&'static str>,
    /// Throughput as a fraction of the baseline's.
    pub ratio: Option<f64>,
    pub budget: Vec<Budget>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Budget {
    pub rule: String,
    pub met: bool,
}

impl Budget {
    pub fn new(rule: impl Into<String>, met: bool) -> Budget {
        Budget {
            rule: rule.into(),
            met,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct GrowthPoint {
    pub contacts: u64,
    pub list: LoadResult,
    pub search: LoadResult,
    /// The Rapport process's peak resident set during this size's list and search load.
    pub peak_rss_mb: f64,
    /// p50 relative to the smallest size's p50.
    pub list_p50_growth: f64,
    pub search_p50_growth: f64,
}

#[derive(Debug, Serialize)]
pub struct Outbox {
    pub messages: usize,
    pub rapport_per_second: f64,
    pub direct_per_second: f64,
    pub ratio: f64,
}

#[derive(Debug, Serialize)]
pub struct RefreshStorm {
    pub requests: u64,
    pub errors: u64,
    pub refreshes: usize,
    pub p99_ms: f64,
    pub budget: Vec<Budget>,
}

fn ms(v: f64) -> String {
    if v.is_nan() {
        "–".into()
    } else if v < 10.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.0}")
    }
}

fn budgets(b: &[Budget]) -> String {
    if b.is_empty() {
        return "–".into();
    }
    b.iter()
        .map(|b| format!("{} {}", if b.met { "✅" } else { "❌" }, b.rule))
        .collect::<Vec<_>>()
        .join("<br>")
}

impl Report {
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let m = &self.machine;
        let _ = writeln!(
            out,
            "Measured {} ({} run) on {} × {}, {:.0} GiB RAM, Linux {}, {}.\n",
            self.generated_at, self.mode, m.cores, m.cpu, m.memory_gib, m.kernel, m.rustc
        );
        for run in &self.runs {
            let _ = writeln!(out, "### {}\n", run.backend);
            let s = &run.startup;
            let _ = writeln!(
                out,
                "Start: ready {} ms after launch (schema already migrated; `rapport migrate` on an empty database took {:.2} s); idle RSS {:.1} MB. {}\n",
                ms(s.ready_ms),
                s.migrate_seconds,
                s.idle_rss_mb,
                budgets(&s.budget)
            );
            if let Some(note) = &run.maintenance {
                let _ = writeln!(out, "{note}\n");
            }
            out.push_str("| scenario | req/s | p50 ms | p90 ms | p99 ms | errors | CPU s / 1k req | peak RSS MB | vs baseline | budget |\n");
            out.push_str("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |\n");
            for sc in &run.scenarios {
                let vs = match (sc.baseline, sc.ratio) {
                    (Some(b), Some(r)) => format!("{:.0}% of {b}", r * 100.0),
                    _ => "(baseline)".into(),
                };
                let _ = writeln!(
                    out,
                    "| {} | {:.0} | {} | {} | {} | {} | {:.3} | {:.1} | {} | {} |",
                    sc.name,
                    sc.load.rps,
                    ms(sc.load.p50_ms),
                    ms(sc.load.p90_ms),
                    ms(sc.load.p99_ms),
                    sc.load.errors,
                    sc.cpu_seconds_per_1k,
                    sc.peak_rss_mb,
                    vs,
                    budgets(&sc.budget)
                );
            }
            if let Some(o) = &run.outbox {
                let _ = writeln!(
                    out,
                    "\nOutbox drain: {} messages at {:.0} messages/s through Rapport's outbox and worker; the same SMTP server fed directly took {:.0} messages/s ({:.0}%).",
                    o.messages,
                    o.rapport_per_second,
                    o.direct_per_second,
                    o.ratio * 100.0
                );
            }
            if let Some(r) = &run.refresh {
                let _ = writeln!(
                    out,
                    "\nToken refresh storm: {} concurrent requests with an expired access token caused {} refresh(es) at Zoom; {} errors; p99 {} ms. {}",
                    r.requests,
                    r.refreshes,
                    r.errors,
                    ms(r.p99_ms),
                    budgets(&r.budget)
                );
            }
            if !run.growth.is_empty() {
                out.push_str("\n| contacts in the organization | list req/s | list p50 ms | list p99 ms | list p50 vs smallest | search req/s | search p50 ms | search p99 ms | search p50 vs smallest | peak RSS MB |\n");
                out.push_str(
                    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
                );
                for g in &run.growth {
                    let _ = writeln!(
                        out,
                        "| {} | {:.0} | {} | {} | {:.2}× | {:.0} | {} | {} | {:.2}× | {:.1} |",
                        g.contacts,
                        g.list.rps,
                        ms(g.list.p50_ms),
                        ms(g.list.p99_ms),
                        g.list_p50_growth,
                        g.search.rps,
                        ms(g.search.p50_ms),
                        ms(g.search.p99_ms),
                        g.search_p50_growth,
                        g.peak_rss_mb
                    );
                }
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(rps: f64, p99: f64) -> LoadResult {
        LoadResult {
            requests: 100,
            errors: 0,
            seconds: 1.0,
            rps,
            p50_ms: 1.0,
            p90_ms: 2.0,
            p99_ms: p99,
            max_ms: p99,
            error_example: None,
        }
    }

    #[test]
    fn markdown_shows_ratios_and_missed_budgets() {
        let report = Report {
            generated_at: "2026-11-29".into(),
            mode: "quick",
            machine: Machine {
                cpu: "Test CPU".into(),
                cores: 2,
                memory_gib: 24.0,
                kernel: "6.1".into(),
                rustc: "rustc 1.95.0".into(),
            },
            runs: vec![BackendRun {
                backend: "SQLite".into(),
                maintenance: None,
                startup: Startup {
                    migrate_seconds: 0.1,
                    ready_ms: 12.0,
                    idle_rss_mb: 14.0,
                    budget: vec![Budget::new("ready < 300 ms", true)],
                },
                scenarios: vec![Scenario {
                    key: "contacts_list",
                    name: "contacts list".into(),
                    load: load(4000.0, 25.0),
                    cpu_seconds_per_1k: 0.2,
                    peak_rss_mb: 30.0,
                    baseline: Some("GET /healthz"),
                    ratio: Some(0.35),
                    budget: vec![Budget::new("p99 < 20 ms", false)],
                }],
                growth: Vec::new(),
                outbox: None,
                refresh: None,
            }],
        };
        let md = report.markdown();
        assert!(md.contains("| contacts list | 4000 |"), "{md}");
        assert!(md.contains("35% of GET /healthz"), "{md}");
        assert!(md.contains("❌ p99 < 20 ms"), "{md}");
        assert!(md.contains("✅ ready < 300 ms"), "{md}");
    }
}
