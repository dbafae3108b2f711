//! Zoom's rate limits (contract §4): account-level per-second and daily buckets by the
//! endpoint's label and the account's plan, plus 100 meeting create/update requests per
//! user per UTC day. Windows follow the simulator's clock.

use crate::config::{LabelLimit, Plan, RateLimitConfig};
use axum::Json;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Label {
    Light,
    Medium,
}

impl Label {
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Light => "Light",
            Label::Medium => "Medium",
        }
    }
}

/// How a 429 carries `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RetryAfter {
    /// Delay in seconds.
    Seconds,
    /// RFC 9110 HTTP-date (`Sun, 31 May 2020 00:00:00 GMT`).
    HttpDate,
    /// ISO 8601 date-time (`2020-05-31T00:00:00Z`), as Zoom sends on daily limits.
    #[default]
    Iso,
    /// No header.
    Absent,
}

pub(crate) const QPS_MESSAGE: &str =
    "You have reached the maximum per-second rate limit for this API. Try again later.";
pub(crate) const DAILY_MESSAGE: &str = "You have reached the maximum daily rate limit for this API. Refer to the response header for details on when you can make another request.";

pub(crate) fn next_utc_midnight(now: DateTime<Utc>) -> DateTime<Utc> {
    let tomorrow = now.date_naive() + Duration::days(1);
    tomorrow
        .and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc())
        .unwrap_or(now + Duration::days(1))
}

fn header(name: &'static str, value: String) -> (HeaderName, HeaderValue) {
    (
        HeaderName::from_static(name),
        HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("")),
    )
}

pub(crate) fn retry_after_value(
    form: RetryAfter,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<String> {
    match form {
        RetryAfter::Seconds => Some((at - now).num_seconds().max(1).to_string()),
        RetryAfter::HttpDate => Some(at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()),
        RetryAfter::Iso => Some(at.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        RetryAfter::Absent => None,
    }
}

/// A 429 exactly as Zoom sends it.
pub(crate) fn too_many(
    message: &str,
    category: Option<Label>,
    kind: Option<&str>,
    limit: Option<u32>,
    retry_after: Option<String>,
) -> Response {
    let mut headers = HeaderMap::new();
    if let Some(c) = category {
        let (n, v) = header("x-ratelimit-category", c.as_str().to_string());
        headers.insert(n, v);
    }
    if let Some(t) = kind {
        let (n, v) = header("x-ratelimit-type", t.to_string());
        headers.insert(n, v);
    }
    if let Some(l) = limit {
        let (n, v) = header("x-ratelimit-limit", l.to_string());
        headers.insert(n, v);
        let (n, v) = header("x-ratelimit-remaining", "0".to_string());
        headers.insert(n, v);
    }
    if let Some(r) = retry_after {
        let (n, v) = header("retry-after", r);
        headers.insert(n, v);
    }
    (
        StatusCode::TOO_MANY_REQUESTS,
        headers,
        Json(json!({"code": 429, "message": message})),
    )
        .into_response()
}

#[derive(Debug, Default)]
pub(crate) struct RateCounters {
    qps: HashMap<(String, Label, i64), u32>,
    daily: HashMap<(String, Label, NaiveDate), u32>,
    user_meeting: HashMap<(String, NaiveDate), u32>,
    prune_qps: usize,
    prune_daily: usize,
    prune_user: usize,
}

fn plan_limit(cfg: &RateLimitConfig, plan: Plan, label: Label) -> LabelLimit {
    let p = match plan {
        Plan::Basic => &cfg.free,
        Plan::Licensed => &cfg.pro,
    };
    match label {
        Label::Light => p.light,
        Label::Medium => p.medium,
    }
}

impl RateCounters {
    /// Counts one request against the account's buckets. Ok: headers to add to the
    /// response; Err: the 429 to send instead.
    pub fn check(
        &mut self,
        cfg: &RateLimitConfig,
        plan: Plan,
        account: &str,
        label: Label,
        now: DateTime<Utc>,
    ) -> Result<Vec<(HeaderName, HeaderValue)>, Response> {
        let limit = plan_limit(cfg, plan, label);
        let mut out = vec![header("x-ratelimit-category", label.as_str().to_string())];
        if !cfg.enabled {
            return Ok(out);
        }
        let sec = now.timestamp();
        crate::prune::maybe_prune(&mut self.qps, &mut self.prune_qps, |k, _| k.2 >= sec - 1);
        let q = self
            .qps
            .entry((account.to_string(), label, sec))
            .or_insert(0);
        if *q >= limit.per_second {
            return Err(too_many(
                QPS_MESSAGE,
                Some(label),
                Some("QPS"),
                Some(limit.per_second),
                None,
            ));
        }
        let today = now.date_naive();
        if let Some(per_day) = limit.per_day {
            crate::prune::maybe_prune(&mut self.daily, &mut self.prune_daily, |k, _| k.2 >= today);
            let d = self
                .daily
                .entry((account.to_string(), label, today))
                .or_insert(0);
            if *d >= per_day {
                let at = next_utc_midnight(now);
                return Err(too_many(
                    DAILY_MESSAGE,
                    Some(label),
                    Some("Daily-limit"),
                    Some(per_day),
                    retry_after_value(RetryAfter::Iso, at, now),
                ));
            }
            *d += 1;
            out.push(header("x-ratelimit-limit", per_day.to_string()));
            out.push(header("x-ratelimit-remaining", (per_day - *d).to_string()));
        } else {
            out.push(header("x-ratelimit-limit", limit.per_second.to_string()));
            out.push(header(
                "x-ratelimit-remaining",
                (limit.per_second - *q - 1).to_string(),
            ));
        }
        if let Some(q) = self.qps.get_mut(&(account.to_string(), label, sec)) {
            *q += 1;
        }
        Ok(out)
    }

    /// The per-user limit on meeting create/update requests (reset at 00:00 UTC).
    pub fn check_user_meetings(
        &mut self,
        cfg: &RateLimitConfig,
        user_id: &str,
        label: Label,
        now: DateTime<Utc>,
    ) -> Result<(), Response> {
        if !cfg.enabled {
            return Ok(());
        }
        let today = now.date_naive();
        crate::prune::maybe_prune(&mut self.user_meeting, &mut self.prune_user, |k, _| {
            k.1 >= today
        });
        let n = self
            .user_meeting
            .entry((user_id.to_string(), today))
            .or_insert(0);
        let max = cfg.meeting_create_update_per_day;
        if *n >= max {
            let message = format!(
                "You have exceeded the daily rate limit ({max}) of Meeting Create/Update API requests permitted for this particular user. You may resume these requests at GMT 00:00:00."
            );
            let (kind, retry) = if cfg.per_user_limit_headers {
                (
                    Some("Daily-limit"),
                    retry_after_value(RetryAfter::Iso, next_utc_midnight(now), now),
                )
            } else {
                (None, None)
            };
            return Err(too_many(&message, Some(label), kind, None, retry));
        }
        *n += 1;
        Ok(())
    }

    pub fn clear(&mut self) {
        *self = RateCounters::default();
    }
}
