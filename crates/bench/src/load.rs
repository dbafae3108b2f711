//! The load itself, driven by `rlt` (workers, warm-up, HDR histograms, JSON report): one
//! suite per kind of request. A request counts when it got the status a user or Zoom expects;
//! anything else is an error and stays out of the latency figures.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use async_trait::async_trait;
use clap::Parser;
use reqwest::StatusCode;
use rlt::cli::BenchCli;
use rlt::{IterInfo, IterReport, StatelessBenchSuite, Status};
use serde::Serialize;
use tokio::time::Instant;

/// How long and how hard one measurement runs.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub concurrency: u32,
    pub warmup: u64,
    pub limit: Limit,
}

#[derive(Debug, Clone, Copy)]
pub enum Limit {
    For(Duration),
    Iterations(u64),
}

/// What one measurement found.
#[derive(Debug, Clone, Serialize)]
pub struct LoadResult {
    pub requests: u64,
    pub errors: u64,
    pub seconds: f64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// The most frequent error, to say what went wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_example: Option<String>,
}

/// Runs `suite` under `plan`; rlt's own JSON report is kept at `raw`.
pub async fn measure(suite: impl Into<Suite>, plan: Plan, raw: &Path) -> Result<LoadResult> {
    measure_suite(suite.into(), plan, raw).await
}

async fn measure_suite(suite: Suite, plan: Plan, raw: &Path) -> Result<LoadResult> {
    let mut args = vec![
        "rapport-bench".to_owned(),
        "--concurrency".to_owned(),
        plan.concurrency.to_string(),
        "--warmup".to_owned(),
        plan.warmup.to_string(),
        "--collector".to_owned(),
        "silent".to_owned(),
        "--output".to_owned(),
        "json".to_owned(),
        "--output-file".to_owned(),
        raw.display().to_string(),
    ];
    match plan.limit {
        Limit::For(d) => args.extend(["--duration".to_owned(), format!("{}ms", d.as_millis())]),
        Limit::Iterations(n) => args.extend(["--iterations".to_owned(), n.to_string()]),
    }
    let cli = BenchCli::try_parse_from(args).context("load generator options")?;
    rlt::cli::run(cli, suite).await?;
    let text = std::fs::read_to_string(raw)?;
    parse_report(&text)
}

fn parse_report(text: &str) -> Result<LoadResult> {
    let v: serde_json::Value = serde_json::from_str(text)?;
    let num = |ptr: &str| v.pointer(ptr).and_then(serde_json::Value::as_f64);
    let ms = |ptr: &str| num(ptr).map(|s| s * 1000.0).unwrap_or(f64::NAN);
    let errors: Vec<(String, u64)> = v
        .get("errors")
        .and_then(|e| e.as_object())
        .map(|m| {
            m.iter()
                .map(|(k, n)| (k.clone(), n.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default();
    let error_count = errors.iter().map(|(_, n)| n).sum();
    let error_example = errors
        .iter()
        .max_by_key(|(_, n)| *n)
        .map(|(k, _)| k.clone());
    Ok(LoadResult {
        requests: num("/summary/iters/total").unwrap_or(0.0) as u64,
        errors: error_count,
        seconds: num("/summary/total_time").unwrap_or(f64::NAN),
        rps: num("/summary/iters/rate").unwrap_or(0.0),
        p50_ms: ms("/latency/percentiles/p50"),
        p90_ms: ms("/latency/percentiles/p90"),
        p99_ms: ms("/latency/percentiles/p99"),
        max_ms: ms("/latency/stats/max"),
        error_example,
    })
}

/// Sends one request and turns the answer into an iteration report: the expected status is a
/// success, any other status an error (with the start of the body, to say why).
async fn timed(request: reqwest::RequestBuilder, expect: StatusCode) -> Result<IterReport> {
    let started = Instant::now();
    let response = request.send().await?;
    let status = response.status();
    let body = response.bytes().await?;
    let duration = started.elapsed();
    if status != expect {
        let excerpt: String = String::from_utf8_lossy(&body).chars().take(120).collect();
        bail!("HTTP {status} (expected {expect}): {excerpt}");
    }
    Ok(IterReport {
        duration,
        status: Status::success(i64::from(status.as_u16())),
        bytes: body.len() as u64,
        items: 1,
    })
}

/// Every kind of request the benchmark sends, as one type: rlt's runner, generic over the
/// suite, is then compiled once instead of once per kind (it was a tenth of this binary's
/// code, built before every run).
#[derive(Clone)]
pub enum Suite {
    Get(Get),
    Schedule(Schedule),
    SimCreate(SimCreate),
    Webhooks(Webhooks),
}

#[async_trait]
impl StatelessBenchSuite for Suite {
    async fn bench(&mut self, info: &IterInfo) -> Result<IterReport> {
        match self {
            Suite::Get(suite) => suite.bench(info).await,
            Suite::Schedule(suite) => suite.bench(info).await,
            Suite::SimCreate(suite) => suite.bench(info).await,
            Suite::Webhooks(suite) => suite.bench(info).await,
        }
    }
}

macro_rules! into_suite {
    ($($kind:ident),*) => {
        $(impl From<$kind> for Suite {
            fn from(suite: $kind) -> Suite {
                Suite::$kind(suite)
            }
        })*
    };
}

into_suite!(Get, Schedule, SimCreate, Webhooks);

/// GET requests over a list of paths, in turn.
#[derive(Clone)]
pub struct Get {
    pub client: reqwest::Client,
    pub base: String,
    pub paths: Arc<Vec<String>>,
    pub cookie: Option<String>,
    pub expect: StatusCode,
}

#[async_trait]
impl StatelessBenchSuite for Get {
    async fn bench(&mut self, info: &IterInfo) -> Result<IterReport> {
        let n = self.paths.len().max(1);
        let path = self
            .paths
            .get(info.runner_seq as usize % n)
            .context("no paths")?;
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some(cookie) = &self.cookie {
            request = request.header(reqwest::header::COOKIE, cookie);
        }
        timed(request, self.expect).await
    }
}

/// The schedule form posted by a signed-in user: each post is a new meeting (its own
/// idempotency key), on its own day so that nothing about the meeting repeats.
#[derive(Clone)]
pub struct Schedule {
    pub client: reqwest::Client,
    pub url: String,
    pub cookie: String,
    pub csrf: String,
    pub first_day: chrono::NaiveDate,
    pub run: String,
}

#[async_trait]
impl StatelessBenchSuite for Schedule {
    async fn bench(&mut self, info: &IterInfo) -> Result<IterReport> {
        let n = info.runner_seq;
        let day = self.first_day + chrono::Days::new(n % 3000);
        let minute = (n / 3000) % 48 * 15 + 8 * 60;
        let date = day.format("%Y-%m-%d").to_string();
        let time = format!("{:02}:{:02}", minute / 60 % 24, minute % 60);
        let key = format!("bench-{}-{n:012}", self.run);
        let topic = format!("Bench review {n}");
        let form = [
            ("topic", topic.as_str()),
            ("date", date.as_str()),
            ("time", time.as_str()),
            ("time_zone", "UTC"),
            ("duration", "30"),
            ("agenda", "Quarterly review"),
            ("invite", "on"),
            ("csrf_token", self.csrf.as_str()),
            ("idempotency_key", key.as_str()),
        ];
        let request = self
            .client
            .post(&self.url)
            .header(reqwest::header::COOKIE, &self.cookie)
            .form(&form);
        timed(request, StatusCode::SEE_OTHER).await
    }
}

/// Zoom's create-meeting endpoint called directly with a bearer token (the baseline of
/// scheduling: what Zoom alone costs).
#[derive(Clone)]
pub struct SimCreate {
    pub client: reqwest::Client,
    pub url: String,
    pub bearer: String,
}

#[async_trait]
impl StatelessBenchSuite for SimCreate {
    async fn bench(&mut self, info: &IterInfo) -> Result<IterReport> {
        let day = chrono::NaiveDate::from_ymd_opt(2027, 3, 1).context("date")?
            + chrono::Days::new(info.runner_seq % 3000);
        let body = serde_json::json!({
            "topic": format!("Direct {}", info.runner_seq),
            "type": 2,
            "start_time": format!("{}T15:00:00Z", day.format("%Y-%m-%d")),
            "duration": 30,
            "timezone": "UTC",
            "agenda": "Quarterly review",
        });
        let request = self
            .client
            .post(&self.url)
            .bearer_auth(&self.bearer)
            .json(&body);
        timed(request, StatusCode::CREATED).await
    }
}

/// Signed `meeting.updated` events, each one new (its own timestamp), about meetings Rapport
/// holds, as Zoom sends them when a host edits a meeting in Zoom.
#[derive(Clone)]
pub struct Webhooks {
    pub client: reqwest::Client,
    pub url: String,
    pub secret: String,
    pub meetings: Arc<Vec<(i64, String)>>,
    pub account_id: String,
    pub operator_id: String,
    pub counter: Arc<AtomicU64>,
}

#[async_trait]
impl StatelessBenchSuite for Webhooks {
    async fn bench(&mut self, _info: &IterInfo) -> Result<IterReport> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let (id, uuid) = self
            .meetings
            .get(n as usize % self.meetings.len().max(1))
            .context("no meetings")?;
        let now_ms = chrono::Utc::now().timestamp_millis();
        let body = serde_json::json!({
            "event": "meeting.updated",
            "event_ts": now_ms * 1000 + (n % 1000) as i64,
            "payload": {
                "account_id": self.account_id,
                "operator": "bench.host@example.com",
                "operator_id": self.operator_id,
                "object": {"id": id.to_string(), "uuid": uuid, "agenda": format!("Agenda revision {n}")},
                "old_object": {"id": id.to_string(), "uuid": uuid, "agenda": "Quarterly review"},
                "time_stamp": now_ms,
            }
        })
        .to_string();
        let ts = chrono::Utc::now().timestamp();
        let signature = zoom_sim::sign(&self.secret, ts, body.as_bytes());
        let request = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .header("x-zm-request-timestamp", ts.to_string())
            .header("x-zm-signature", signature)
            .body(body);
        timed(request, StatusCode::OK).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rlt_json_reports() {
        let raw = r#"{"summary":{"success_ratio":0.99,"total_time":2.0,"concurrency":32,
            "iters":{"total":2000,"rate":1000.0}},
            "latency":{"stats":{"min":0.0001,"max":0.05,"mean":0.002,"median":0.0015,"stdev":0.001},
            "percentiles":{"p50":0.0015,"p90":0.003,"p99":0.01}},
            "status":{"Success(200)":2000},"errors":{"HTTP 500":15,"timeout":5}}"#;
        let r = parse_report(raw).unwrap();
        assert_eq!(r.requests, 2000);
        assert_eq!(r.errors, 20);
        assert_eq!(r.error_example.as_deref(), Some("HTTP 500"));
        assert!((r.p99_ms - 10.0).abs() < 1e-9);
        assert!((r.rps - 1000.0).abs() < 1e-9);
    }
}
