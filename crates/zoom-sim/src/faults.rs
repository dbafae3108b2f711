//! Fault injection and the request log. A middleware in front of every route except
//! `/_sim/` records each request and applies the first matching fault.

use crate::ids;
use crate::model::RequestRecord;
use crate::ratelimit::{self, Label, RetryAfter};
use crate::state::SimState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering;

/// What a fault does to a matching request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultAction {
    /// Answer with this status (5xx usually) without processing the request.
    Error {
        status: u16,
        /// Raw body; default `{"code":<status>,"message":"Internal Error"}`.
        #[serde(default)]
        body: Option<String>,
    },
    /// Wait this long before processing (real time, not the simulated clock).
    Latency { ms: u64 },
    /// Process the request (the meeting IS created), then abort the connection without
    /// answering: the "unknown outcome" case.
    Drop,
    /// Process the request, then answer normally after this long (real time): the request's
    /// webhooks can reach the app before the answer does, as with a slow Zoom.
    SlowAnswer { ms: u64 },
    /// Process the request, then keep the connection open without answering until the
    /// client gives up (at most `secs`, default the config's `hang_secs`).
    Hang {
        #[serde(default)]
        secs: Option<u64>,
    },
    /// Answer 429 without processing, as Zoom's per-second or daily limit would.
    RateLimit {
        #[serde(default)]
        limit_type: RateLimitKind,
        #[serde(default)]
        retry_after: RetryAfter,
        /// Seconds until retry for the `seconds`/date forms (daily default: next 00:00 UTC;
        /// QPS default: 1 s).
        #[serde(default)]
        retry_after_secs: Option<u64>,
    },
    /// Process the request, then replace the body with truncated, unparseable JSON.
    Malformed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RateLimitKind {
    #[default]
    Qps,
    Daily,
}

/// A fault rule. Matching: method (any when None) and path prefix (any when None).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    #[serde(flatten)]
    pub action: FaultAction,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// Apply to the next N matching requests only; None: until removed.
    #[serde(default)]
    pub count: Option<u32>,
    /// Share of matching requests affected (0.0-1.0); None: all.
    #[serde(default)]
    pub probability: Option<f64>,
}

impl Fault {
    pub fn new(action: FaultAction) -> Self {
        Self {
            action,
            method: None,
            path_prefix: None,
            count: None,
            probability: None,
        }
    }
    pub fn on(mut self, method: &str, path_prefix: &str) -> Self {
        self.method = Some(method.to_string());
        self.path_prefix = Some(path_prefix.to_string());
        self
    }
    pub fn times(mut self, n: u32) -> Self {
        self.count = Some(n);
        self
    }
    pub fn probability(mut self, p: f64) -> Self {
        self.probability = Some(p);
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method
            .as_ref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self
                .path_prefix
                .as_ref()
                .is_none_or(|p| path.starts_with(p.as_str()))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultEntry {
    pub id: u64,
    #[serde(flatten)]
    pub fault: Fault,
    /// How many requests it has affected.
    pub hits: u64,
}

impl SimState {
    /// Adds a fault rule; returns its id.
    pub fn inject(&self, fault: Fault) -> u64 {
        let mut g = self.lock();
        let id = g.next_fault_id;
        g.next_fault_id += 1;
        g.faults.push(FaultEntry { id, fault, hits: 0 });
        id
    }

    pub fn faults(&self) -> Vec<FaultEntry> {
        self.lock().faults.clone()
    }

    pub fn remove_fault(&self, id: u64) -> bool {
        let mut g = self.lock();
        let before = g.faults.len();
        g.faults.retain(|f| f.id != id);
        g.faults.len() != before
    }

    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// Picks the faults for this request: every matching latency, then the first other
    /// matching fault. Counts are consumed here.
    fn take_faults(&self, method: &str, path: &str) -> (u64, Option<FaultAction>) {
        let mut g = self.lock();
        let mut latency = 0;
        let mut chosen = None;
        let mut rng = rand::thread_rng();
        for f in g.faults.iter_mut() {
            if !f.fault.matches(method, path) || f.fault.count == Some(0) {
                continue;
            }
            let is_latency = matches!(f.fault.action, FaultAction::Latency { .. });
            if !is_latency && chosen.is_some() {
                continue;
            }
            if let Some(p) = f.fault.probability
                && !rng.gen_bool(p.clamp(0.0, 1.0))
            {
                continue;
            }
            if let Some(c) = f.fault.count.as_mut() {
                *c -= 1;
            }
            f.hits += 1;
            match &f.fault.action {
                FaultAction::Latency { ms } => latency += ms,
                other => chosen = Some(other.clone()),
            }
        }
        g.faults.retain(|f| f.fault.count != Some(0));
        (latency, chosen)
    }
}

fn fault_name(a: &FaultAction) -> &'static str {
    match a {
        FaultAction::Error { .. } => "error",
        FaultAction::Latency { .. } => "latency",
        FaultAction::Drop => "drop",
        FaultAction::Hang { .. } => "hang",
        FaultAction::SlowAnswer { .. } => "slow_answer",
        FaultAction::RateLimit { .. } => "rate_limit",
        FaultAction::Malformed => "malformed",
    }
}

/// Marks a response whose connection must be aborted (see `crate::serve`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct AbortConnection;

const MAX_BODY: usize = 2 * 1024 * 1024;
/// Most recent requests kept in the log.
pub const REQUEST_LOG_LIMIT: usize = 100_000;

pub(crate) async fn middleware(
    State(state): State<SimState>,
    req: Request,
    next: Next,
) -> Response {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    if path.starts_with("/_sim") {
        return next.run(req).await;
    }
    // The token endpoint's grant_type may sit in the form body: read it for the log.
    let (req, grant_type) = if path == "/oauth/token" {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, MAX_BODY)
            .await
            .unwrap_or_default();
        let params = crate::oauth::merged_params(parts.uri.query(), &bytes);
        let gt = params.get("grant_type").cloned();
        (Request::from_parts(parts, Body::from(bytes)), gt)
    } else {
        (req, None)
    };
    let at = state.now();
    let (latency, action) = state.take_faults(&method, &path);
    if latency > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(latency)).await;
    }
    let fault = action.as_ref().map(|a| fault_name(a).to_string());
    let mut response = match &action {
        Some(FaultAction::Error { status, body }) => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = body.clone().unwrap_or_else(|| {
                serde_json::json!({"code": status.as_u16(), "message": "Internal Error"})
                    .to_string()
            });
            (
                status,
                [("content-type", "application/json;charset=UTF-8")],
                body,
            )
                .into_response()
        }
        Some(FaultAction::RateLimit {
            limit_type,
            retry_after,
            retry_after_secs,
        }) => {
            let now = state.now();
            let label = if path.contains("/meetings") && method == "POST" {
                Label::Medium
            } else {
                Label::Light
            };
            match limit_type {
                RateLimitKind::Qps => {
                    let secs = crate::config::clamp_secs(
                        retry_after_secs.unwrap_or(1).min(i64::MAX as u64) as i64,
                    );
                    let at = now + chrono::Duration::seconds(secs);
                    ratelimit::too_many(
                        ratelimit::QPS_MESSAGE,
                        Some(label),
                        Some("QPS"),
                        Some(1),
                        ratelimit::retry_after_value(*retry_after, at, now),
                    )
                }
                RateLimitKind::Daily => {
                    let at = match retry_after_secs {
                        Some(s) => {
                            now + chrono::Duration::seconds(crate::config::clamp_secs(
                                (*s).min(i64::MAX as u64) as i64,
                            ))
                        }
                        None => ratelimit::next_utc_midnight(now),
                    };
                    ratelimit::too_many(
                        ratelimit::DAILY_MESSAGE,
                        Some(label),
                        Some("Daily-limit"),
                        Some(1),
                        ratelimit::retry_after_value(*retry_after, at, now),
                    )
                }
            }
        }
        _ => next.run(req).await,
    };
    response.headers_mut().insert(
        "x-zm-trackingid",
        HeaderValue::from_str(&ids::tracking_id()).unwrap_or(HeaderValue::from_static("")),
    );
    let status = response.status().as_u16();
    // Path only: query strings can carry tokens.
    tracing::debug!(%method, %path, status, fault = fault.as_deref().unwrap_or("-"), "zoom-sim request");
    {
        let mut g = state.lock();
        // Bounded so that long benchmark runs do not grow memory without limit.
        if g.requests.len() >= REQUEST_LOG_LIMIT {
            g.requests.drain(..REQUEST_LOG_LIMIT / 10);
        }
        g.requests.push(RequestRecord {
            at,
            method,
            path,
            grant_type,
            status,
            fault,
        });
    }
    match action {
        Some(FaultAction::Malformed) => {
            let (mut parts, body) = response.into_parts();
            let bytes = axum::body::to_bytes(body, MAX_BODY)
                .await
                .unwrap_or_default();
            let cut = (bytes.len() / 2).max(1).min(bytes.len());
            let mut broken = bytes.slice(..cut).to_vec();
            if broken.is_empty() {
                broken = b"{\"code\":".to_vec();
            }
            parts.headers.remove(axum::http::header::CONTENT_LENGTH);
            parts
                .headers
                .insert("content-type", HeaderValue::from_static("application/json"));
            if parts.status == StatusCode::NO_CONTENT {
                parts.status = StatusCode::OK;
            }
            Response::from_parts(parts, Body::from(broken))
        }
        Some(FaultAction::Drop) if state.shared.can_abort.load(Ordering::SeqCst) => {
            response.extensions_mut().insert(AbortConnection);
            response
        }
        Some(FaultAction::Drop) | Some(FaultAction::Hang { secs: None }) => {
            let secs = state.config().hang_secs;
            tokio::time::sleep(std::time::Duration::from_secs(secs)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        Some(FaultAction::SlowAnswer { ms }) => {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            response
        }
        Some(FaultAction::Hang { secs: Some(secs) }) => {
            tokio::time::sleep(std::time::Duration::from_secs(secs)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        _ => response,
    }
}
