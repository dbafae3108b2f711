//! What Rapport counts for Prometheus, and the text `/metrics` serves (OpenMetrics).
//!
//! One set per process, as with any Prometheus client: tests start several apps in one
//! process, and they share it.

use std::sync::LazyLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Upper bounds of the request-latency buckets, in seconds.
const LATENCY_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Upper bounds of the webhook batch sizes (the intake takes up to 256 events at a time).
const BATCH_BUCKETS: [f64; 9] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Request {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Route {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobRun {
    kind: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobState {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: &'static str,
}

type HistogramOf<L> = Family<L, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    requests: Family<Request, Counter>,
    request_seconds: HistogramOf<Route>,
    jobs_run: Family<JobRun, Counter>,
    jobs: Family<JobState, Gauge>,
    emails_sent: Counter,
    webhook_batch_size: Histogram,
    token_refreshes: Family<Outcome, Counter>,
    webhooks: Family<Outcome, Counter>,
}

/// The process's metrics.
pub fn get() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &METRICS
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::default();
        let request_seconds: HistogramOf<Route> = Family::new_with_constructor(latency_histogram);
        let jobs_run = Family::default();
        let jobs = Family::default();
        let emails_sent = Counter::default();
        let webhook_batch_size = Histogram::new(BATCH_BUCKETS);
        let token_refreshes = Family::default();
        let webhooks = Family::default();
        // Counters get their `_total` suffix from the encoder.
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route pattern and status",
            Family::clone(&requests),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route pattern",
            request_seconds.clone(),
        );
        registry.register(
            "rapport_jobs_run",
            "Background jobs run, by kind and outcome (done, retry, dead)",
            Family::clone(&jobs_run),
        );
        registry.register(
            "rapport_jobs",
            "Background jobs in the queue by state, read from the database at each scrape",
            Family::clone(&jobs),
        );
        registry.register(
            "rapport_emails_sent",
            "Emails handed to the SMTP server",
            emails_sent.clone(),
        );
        registry.register(
            "rapport_zoom_webhook_batch_size",
            "Zoom webhook events stored in one database write",
            webhook_batch_size.clone(),
        );
        registry.register(
            "rapport_zoom_token_refreshes",
            "Zoom access token refreshes, by outcome (ok, grant_dead, transient)",
            Family::clone(&token_refreshes),
        );
        registry.register(
            "rapport_zoom_webhooks",
            "Zoom webhook requests, by outcome (accepted, duplicate, rejected)",
            Family::clone(&webhooks),
        );
        Metrics {
            registry,
            requests,
            request_seconds,
            jobs_run,
            jobs,
            emails_sent,
            webhook_batch_size,
            token_refreshes,
            webhooks,
        }
    }

    /// One answered request. `route` is the matched pattern (`/contacts/{id}`), never the raw
    /// path, so ids do not explode the label set.
    pub fn request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&Request {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .inc();
        self.request_seconds
            .get_or_create(&Route {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(seconds);
    }

    /// A background job finished: `done`, `retry` or `dead`.
    pub fn job_run(&self, kind: &str, outcome: &'static str) {
        self.jobs_run
            .get_or_create(&JobRun {
                kind: kind.to_owned(),
                outcome,
            })
            .inc();
    }

    pub fn jobs_in_state(&self, state: &'static str, count: i64) {
        self.jobs.get_or_create(&JobState { state }).set(count);
    }

    pub fn email_sent(&self) {
        self.emails_sent.inc();
    }

    pub fn webhook_batch(&self, events: usize) {
        self.webhook_batch_size.observe(events as f64);
    }

    /// `ok`, `grant_dead` or `transient`.
    pub fn token_refresh(&self, outcome: &'static str) {
        self.token_refreshes
            .get_or_create(&Outcome { outcome })
            .inc();
    }

    /// `accepted`, `duplicate` or `rejected`.
    pub fn webhook(&self, outcome: &'static str) {
        self.webhooks.get_or_create(&Outcome { outcome }).inc();
    }

    /// The OpenMetrics text exposition of everything above.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail; an encoder error would be a bug in a label.
        if let Err(err) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::error!(error = %err, "metrics could not be encoded");
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_openmetrics_text_that_prometheus_reads() {
        // A private set, so other tests' requests do not show here.
        let metrics = Metrics::new();
        metrics.request("GET", "/contacts/{id}", 404, 0.003);
        metrics.request("GET", "/contacts/{id}", 404, 0.2);
        metrics.job_run("send_email", "retry");
        metrics.jobs_in_state("queued", 7);
        metrics.webhook("duplicate");
        metrics.webhook_batch(3);
        let text = metrics.render();
        let has = |line: &str| text.lines().any(|l| l == line);
        assert!(
            has(r#"http_requests_total{method="GET",route="/contacts/{id}",status="404"} 2"#),
            "{text}"
        );
        assert!(
            has("# TYPE http_request_duration_seconds histogram"),
            "{text}"
        );
        // Buckets are cumulative: 3 ms falls in `le="0.005"`, 200 ms only from `le="0.25"` up.
        let bucket = |le: &str, n: u32| {
            format!(
                r#"http_request_duration_seconds_bucket{{le="{le}",method="GET",route="/contacts/{{id}}"}} {n}"#
            )
        };
        assert!(has(&bucket("0.005", 1)), "{text}");
        assert!(has(&bucket("0.1", 1)), "{text}");
        assert!(has(&bucket("0.25", 2)), "{text}");
        assert!(
            has(r#"rapport_jobs_run_total{kind="send_email",outcome="retry"} 1"#),
            "{text}"
        );
        assert!(has(r#"rapport_jobs{state="queued"} 7"#), "{text}");
        assert!(
            has(r#"rapport_zoom_webhooks_total{outcome="duplicate"} 1"#),
            "{text}"
        );
        assert!(has("rapport_zoom_webhook_batch_size_count 1"), "{text}");
        assert!(has("rapport_emails_sent_total 0"), "{text}");
        assert_eq!(text.lines().last(), Some("# EOF"));
    }
}
