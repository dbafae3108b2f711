//! The background jobs page: counts by state and the latest jobs of each, for an organization's
//! owner (jobs of other organizations are not shown).

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::accounts::CurrentUser;
use crate::app::AppState;
use crate::jobs::JobState;
use crate::web::{AppError, AppResult, Layout, Nav};
use crate::{sql_as, sql_scalar};

crate::db_row! {
    #[derive(Debug, Clone)]
    pub struct JobRow {
        pub id: i64,
        pub kind: String,
        pub state: String,
        pub attempts: i64,
        pub max_attempts: i64,
        pub run_at: DateTime<Utc>,
        pub last_error: Option<String>,
        pub updated_at: DateTime<Utc>,
    }
}

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/jobs", get(page))
}

#[derive(Debug, Deserialize)]
struct JobsQuery {
    state: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "jobs/admin.html")]
struct JobsPage {
    layout: Layout,
    counts: Vec<(&'static str, i64)>,
    selected: &'static str,
    jobs: Vec<JobRow>,
    is_owner: bool,
}

async fn page(
    State(state): State<AppState>,
    layout: Layout,
    user: CurrentUser,
    Query(q): Query<JobsQuery>,
) -> AppResult<JobsPage> {
    if !user.is_owner() {
        return Err(AppError::Forbidden);
    }
    let selected = JobState::ALL
        .iter()
        .map(|s| s.as_str())
        .find(|s| Some(*s) == q.state.as_deref())
        .unwrap_or("queued");
    let mut pooled = state.db.acquire().await?;
    let mut conn = pooled.conn();
    let mut counts = Vec::new();
    for s in JobState::ALL {
        let n = sql_scalar!(
            &mut conn,
            i64,
            fetch_one,
            "SELECT COUNT(*) FROM jobs WHERE org_id = $1 AND state = $2",
            user.org_id,
            s.as_str()
        )?;
        counts.push((s.as_str(), n));
    }
    let jobs = sql_as!(
        &mut conn,
        JobRow,
        fetch_all,
        "SELECT id, kind, state, attempts, max_attempts, run_at, last_error, updated_at FROM jobs
         WHERE org_id = $1 AND state = $2 ORDER BY updated_at DESC, id DESC LIMIT 100",
        user.org_id,
        selected
    )?;
    Ok(JobsPage {
        layout: layout.page("Background jobs", Nav::Settings),
        counts,
        selected,
        jobs,
        is_owner: true,
    })
}
