//! The control API under `/_sim/` (JSON), documented in the crate README. Each route
//! mirrors a `SimState` method so tests can use either.

use crate::config::{AppConfig, Plan, RateLimitConfig, SimConfig};
use crate::faults::Fault;
use crate::oauth::AuthorizeRequest;
use crate::state::{SimError, SimState};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

pub(crate) fn router() -> Router<SimState> {
    Router::new()
        .route("/health", get(|| async { Json(json!({"ok": true})) }))
        .route("/clock", get(clock))
        .route("/clock/advance", post(advance))
        .route("/clock/set", post(set_clock))
        .route("/config", get(get_config).put(put_config))
        .route(
            "/config/rate_limits",
            get(get_rate_limits).put(put_rate_limits),
        )
        .route("/rate_limits/reset", post(reset_rate_limits))
        .route("/apps", get(apps).post(add_app))
        .route("/users", get(users).post(add_user))
        .route("/users/plan", post(set_plan))
        .route("/meetings", get(meetings))
        .route("/meetings/{id}/start", post(start_meeting))
        .route("/meetings/{id}/end", post(end_meeting))
        .route("/grants", get(grants))
        .route("/grants/expire_refresh", post(expire_refresh))
        .route("/grants/revoke", post(revoke))
        .route("/authorize", post(authorize))
        .route("/requests", get(requests).delete(clear_requests))
        .route("/faults", get(faults).post(add_fault).delete(clear_faults))
        .route("/faults/{id}", delete(remove_fault))
        .route("/webhooks", get(webhooks).delete(clear_webhooks))
        .route("/webhooks/validate", post(validate))
}

fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (status, Json(json!({"error": message.to_string()}))).into_response()
}

impl IntoResponse for SimError {
    fn into_response(self) -> Response {
        let status = match self {
            SimError::NotFound(_) => StatusCode::NOT_FOUND,
            SimError::Io(_) | SimError::StateFile(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        error(status, self)
    }
}

fn clock_json(s: &SimState) -> Json<Value> {
    Json(json!({"now": s.now(), "frozen": s.clock().is_frozen()}))
}

async fn clock(State(s): State<SimState>) -> Json<Value> {
    clock_json(&s)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Advance {
    seconds: i64,
    minutes: i64,
    hours: i64,
    days: i64,
}

async fn advance(State(s): State<SimState>, Json(a): Json<Advance>) -> Json<Value> {
    let total = a
        .seconds
        .saturating_add(a.minutes.saturating_mul(60))
        .saturating_add(a.hours.saturating_mul(3600))
        .saturating_add(a.days.saturating_mul(86_400));
    let d = chrono::Duration::seconds(crate::config::clamp_secs(total));
    s.clock().advance(d);
    s.tick();
    clock_json(&s)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SetClock {
    now: Option<DateTime<Utc>>,
    frozen: Option<bool>,
}

async fn set_clock(State(s): State<SimState>, Json(b): Json<SetClock>) -> Json<Value> {
    match b.frozen {
        Some(true) => s.clock().freeze(),
        Some(false) => s.clock().unfreeze(),
        None => {}
    }
    if let Some(t) = b.now {
        s.clock().set(t);
    }
    s.tick();
    clock_json(&s)
}

async fn get_config(State(s): State<SimState>) -> Json<SimConfig> {
    Json(s.config())
}

async fn put_config(State(s): State<SimState>, Json(c): Json<SimConfig>) -> Json<SimConfig> {
    s.set_config(c);
    Json(s.config())
}

async fn get_rate_limits(State(s): State<SimState>) -> Json<RateLimitConfig> {
    Json(s.config().rate_limits)
}

async fn put_rate_limits(
    State(s): State<SimState>,
    Json(r): Json<RateLimitConfig>,
) -> Json<RateLimitConfig> {
    let mut c = s.config();
    c.rate_limits = r;
    s.set_config(c);
    Json(s.config().rate_limits)
}

async fn reset_rate_limits(State(s): State<SimState>) -> Json<Value> {
    s.reset_rate_limits();
    Json(json!({"ok": true}))
}

/// Apps without their secrets.
async fn apps(State(s): State<SimState>) -> Json<Value> {
    let list: Vec<Value> = s
        .apps()
        .into_iter()
        .map(|a| {
            json!({
                "client_id": a.client_id,
                "name": a.name,
                "redirect_urls": a.redirect_urls,
                "webhook_url": a.webhook_url,
                "scopes": a.scopes,
                "events": a.events,
            })
        })
        .collect();
    Json(json!(list))
}

async fn add_app(State(s): State<SimState>, Json(a): Json<AppConfig>) -> Response {
    if a.client_id.is_empty() || a.client_secret.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "client_id and client_secret are required",
        );
    }
    let id = a.client_id.clone();
    s.add_app(a);
    (StatusCode::CREATED, Json(json!({"client_id": id}))).into_response()
}

async fn users(State(s): State<SimState>) -> Json<Value> {
    Json(json!(s.users()))
}

#[derive(Deserialize)]
struct NewUser {
    email: String,
    #[serde(default)]
    plan: Option<Plan>,
}

async fn add_user(State(s): State<SimState>, Json(u): Json<NewUser>) -> Response {
    if !u.email.contains('@') {
        return error(StatusCode::BAD_REQUEST, "email is required");
    }
    (
        StatusCode::CREATED,
        Json(json!(s.ensure_user(&u.email, u.plan))),
    )
        .into_response()
}

#[derive(Deserialize)]
struct SetPlan {
    email: String,
    plan: Plan,
}

async fn set_plan(State(s): State<SimState>, Json(b): Json<SetPlan>) -> Response {
    match s.set_user_plan(&b.email, b.plan) {
        Ok(u) => Json(json!(u)).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn meetings(State(s): State<SimState>) -> Json<Value> {
    Json(json!(s.meetings()))
}

async fn start_meeting(State(s): State<SimState>, Path(id): Path<i64>) -> Response {
    match s.start_meeting(id) {
        Ok(m) => Json(json!(m)).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn end_meeting(State(s): State<SimState>, Path(id): Path<i64>) -> Response {
    match s.end_meeting(id) {
        Ok(m) => Json(json!(m)).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn grants(State(s): State<SimState>) -> Json<Value> {
    Json(json!(s.grants()))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct GrantFilter {
    email: Option<String>,
    client_id: Option<String>,
    notify: Option<bool>,
}

async fn expire_refresh(State(s): State<SimState>, Json(f): Json<GrantFilter>) -> Json<Value> {
    let n = s.expire_refresh_tokens(f.email.as_deref(), f.client_id.as_deref());
    Json(json!({"affected": n}))
}

async fn revoke(State(s): State<SimState>, Json(f): Json<GrantFilter>) -> Json<Value> {
    let n = s.revoke_grants(
        f.email.as_deref(),
        f.client_id.as_deref(),
        f.notify.unwrap_or(true),
    );
    Json(json!({"affected": n}))
}

async fn authorize(State(s): State<SimState>, Json(r): Json<AuthorizeRequest>) -> Response {
    match s.authorize(r) {
        Ok(o) => Json(json!(o)).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn requests(State(s): State<SimState>) -> Json<Value> {
    Json(json!(s.requests()))
}

async fn clear_requests(State(s): State<SimState>) -> StatusCode {
    s.clear_requests();
    StatusCode::NO_CONTENT
}

async fn faults(State(s): State<SimState>) -> Json<Value> {
    Json(json!(s.faults()))
}

async fn add_fault(State(s): State<SimState>, Json(f): Json<Fault>) -> Response {
    (StatusCode::CREATED, Json(json!({"id": s.inject(f)}))).into_response()
}

async fn clear_faults(State(s): State<SimState>) -> StatusCode {
    s.clear_faults();
    StatusCode::NO_CONTENT
}

async fn remove_fault(State(s): State<SimState>, Path(id): Path<u64>) -> StatusCode {
    if s.remove_fault(id) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

async fn webhooks(State(s): State<SimState>) -> Json<Value> {
    Json(json!(s.webhook_deliveries()))
}

async fn clear_webhooks(State(s): State<SimState>) -> StatusCode {
    s.clear_webhook_deliveries();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct Validate {
    client_id: String,
}

async fn validate(State(s): State<SimState>, Json(v): Json<Validate>) -> Json<Value> {
    Json(json!(s.validate_webhook_endpoint(&v.client_id).await))
}

impl SimState {
    /// Forgets all rate-limit counters.
    pub fn reset_rate_limits(&self) {
        self.lock().rate.clear();
    }
}
