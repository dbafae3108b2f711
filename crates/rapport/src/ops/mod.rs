//! Operations endpoints: liveness, readiness and Prometheus metrics, plus the request metrics
//! middleware.

pub mod metrics;

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_page))
}

/// The process is up and serving.
async fn healthz() -> &'static str {
    "ok"
}

/// The database answers.
async fn readyz(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

async fn metrics_page(State(state): State<AppState>) -> Response {
    // Queue depth is read at scrape time: it is the database's number, shared by all nodes.
    if let Ok(mut pooled) = state.db.acquire().await
        && let Ok(counts) = crate::jobs::queue_depth(&mut pooled.conn()).await
    {
        for state_name in ["queued", "running", "done", "dead"] {
            let n = counts
                .iter()
                .find(|(s, _)| s == state_name)
                .map(|(_, n)| *n)
                .unwrap_or(0);
            metrics::get().jobs_in_state(state_name, n);
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics::get().render(),
    )
        .into_response()
}

/// Counts requests by route and status and records their latency. The route is the matched
/// pattern (`/contacts/{id}`), never the raw path, so ids do not explode the label set.
pub async fn track(request: Request, next: Next) -> Response {
    // A MatchedPath shares its text (an `Arc<str>`): kept without copying it.
    let route = request.extensions().get::<MatchedPath>().cloned();
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics::get().request(
        method.as_str(),
        route.as_ref().map_or("unmatched", MatchedPath::as_str),
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}
