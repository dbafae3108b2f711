//! The worker loop started by `rapport serve`: claims due jobs and runs them.

use std::time::Duration as StdDuration;

use tokio::sync::watch;

use crate::app::AppState;
use crate::jobs::{self, ClaimedJob, JobKind, JobState};

/// How a job handler failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth trying again later (SMTP down, Zoom busy).
    #[error("{0}")]
    Retry(String),
    /// Will never succeed (the row it refers to is gone, the payload is unreadable).
    #[error("{0}")]
    Permanent(String),
}

impl From<sqlx::Error> for JobError {
    fn from(err: sqlx::Error) -> JobError {
        JobError::Retry(format!("database: {err}"))
    }
}

/// Longest pause between polls when idle; a job queued by this process wakes the worker at once,
/// one queued by another node is seen within this time.
const IDLE_POLL: StdDuration = StdDuration::from_millis(1000);
/// How often a worker purges expired states, sessions and stale Zoom data, and merges SQLite's
/// contact search index.
const MAINTENANCE_EVERY: StdDuration = StdDuration::from_secs(600);

/// Runs `RAPPORT_JOB_WORKERS` job loops until shutdown. Several loops let slow outside calls
/// (an SMTP exchange, a Zoom request) overlap instead of queueing behind each other; each job
/// is still claimed by exactly one loop. Only the first loop runs maintenance.
pub async fn run(state: AppState, shutdown: watch::Receiver<bool>) {
    let node = format!(
        "{}-{}",
        std::process::id(),
        crate::crypto::random_token().get(..8).unwrap_or("w")
    );
    let loops = state.config.job_workers.max(1);
    let mut handles = Vec::new();
    for n in 0..loops {
        // The loops' writes are background work: on SQLite, requests waiting to write (a
        // webhook Zoom is holding open, a form a user sent) go first (`db::in_background`).
        handles.push(tokio::spawn(crate::db::in_background(run_loop(
            state.clone(),
            shutdown.clone(),
            format!("{node}-{n}"),
            n == 0,
        ))));
    }
    for handle in handles {
        let _ = handle.await;
    }
}

async fn run_loop(
    state: AppState,
    mut shutdown: watch::Receiver<bool>,
    worker_id: String,
    maintains: bool,
) {
    tracing::info!(worker = %worker_id, "job worker started");
    let mut last_maintenance: Option<std::time::Instant> = None;
    // The job this loop ran last, recorded together with the next claim.
    let mut finished: Option<Finished> = None;
    loop {
        if *shutdown.borrow() {
            break;
        }
        if maintains && last_maintenance.is_none_or(|t| t.elapsed() > MAINTENANCE_EVERY) {
            last_maintenance = Some(std::time::Instant::now());
            if let Err(err) = crate::zoom::jobs::maintenance(&state).await {
                tracing::error!(error = %err, "maintenance failed");
            }
            match crate::contacts::search_index::tidy(&state.db).await {
                Ok(0) => {}
                Ok(steps) => tracing::info!(steps, "contact search index merged"),
                Err(err) => {
                    tracing::error!(error = %err, "could not merge the contact search index")
                }
            }
        }
        match settle(&state, &worker_id, finished.take(), true).await {
            Ok(Some(job)) => {
                // More may be waiting: wake an idle loop so a burst is worked on in parallel.
                state.jobs_notify.notify_one();
                finished = Some(execute(&state, job).await);
                continue;
            }
            Ok(None) => {}
            // The finished job stays running until its lease runs out and is then run again,
            // as when a worker dies: jobs are at least once.
            Err(err) => tracing::error!(error = %err, "job worker could not record or claim a job"),
        }
        tokio::select! {
            _ = state.jobs_notify.notified() => {}
            _ = tokio::time::sleep(IDLE_POLL) => {}
            _ = shutdown.changed() => {}
        }
    }
    if let Some(last) = finished.take()
        && let Err(err) = settle(&state, &worker_id, Some(last), false).await
    {
        tracing::error!(error = %err, "job worker could not record its last job");
    }
    tracing::info!(worker = %worker_id, "job worker stopped");
}

/// A job that ran, and how it went, not yet recorded in the queue.
struct Finished {
    job: ClaimedJob,
    result: Result<(), JobError>,
    elapsed: StdDuration,
}

async fn execute(state: &AppState, job: ClaimedJob) -> Finished {
    let started = std::time::Instant::now();
    let result = dispatch(state, &job).await;
    Finished {
        job,
        result,
        elapsed: started.elapsed(),
    }
}

/// Runs one due job if there is one; returns whether it found one.
pub async fn run_one(state: &AppState, worker_id: &str) -> Result<bool, sqlx::Error> {
    let Some(job) = settle(state, worker_id, None, true).await? else {
        return Ok(false);
    };
    let finished = execute(state, job).await;
    settle(state, worker_id, Some(finished), false).await?;
    Ok(true)
}

/// Records how the finished job went and, with `claim_next`, claims the next due job, in one
/// transaction: a job costs one write to the queue instead of two (a claim, then a result),
/// which on SQLite is one turn less at the single writer that webhook intake also waits for.
/// A transaction also makes the write wait for this node's write turn instead of sleeping in
/// SQLite's busy handler; on SQLite it runs whole on the node's writer thread (`Db::write`).
async fn settle(
    state: &AppState,
    worker_id: &str,
    finished: Option<Finished>,
    claim_next: bool,
) -> Result<Option<ClaimedJob>, sqlx::Error> {
    let now = state.clock.now();
    let worker_id = worker_id.to_owned();
    state
        .db
        .write(move |mut conn| {
            Box::pin(async move {
                if let Some(finished) = &finished {
                    record(&mut conn, finished, now).await?;
                }
                if claim_next {
                    jobs::claim_in(&mut conn, now, &worker_id).await
                } else {
                    Ok(None)
                }
            })
        })
        .await
}

async fn record(
    conn: &mut crate::db::Conn<'_>,
    finished: &Finished,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), sqlx::Error> {
    let job = &finished.job;
    match &finished.result {
        Ok(()) => {
            if !jobs::complete(conn, job, now).await? {
                tracing::warn!(
                    job = job.id,
                    "job finished after another worker took it over; result dropped"
                );
            }
            crate::ops::metrics::get().job_run(&job.kind, "done");
            tracing::info!(job = job.id, kind = %job.kind, elapsed_ms = finished.elapsed.as_millis() as u64, "job done");
        }
        Err(err) => {
            let permanent = matches!(err, JobError::Permanent(_));
            let outcome = jobs::fail(conn, job, now, &err.to_string(), permanent).await?;
            let label = if outcome == JobState::Dead {
                "dead"
            } else {
                "retry"
            };
            crate::ops::metrics::get().job_run(&job.kind, label);
            tracing::warn!(job = job.id, kind = %job.kind, attempt = job.attempts, error = %err, outcome = label, "job failed");
        }
    }
    Ok(())
}

async fn dispatch(state: &AppState, job: &ClaimedJob) -> Result<(), JobError> {
    match JobKind::parse(&job.kind) {
        Some(JobKind::SendEmail) => {
            let payload: crate::mail::SendEmailJob = job
                .payload()
                .map_err(|e| JobError::Permanent(format!("unreadable payload: {e}")))?;
            crate::mail::deliver(state, payload.outbox_id).await
        }
        Some(JobKind::ZoomRevoke) => crate::zoom::jobs::revoke(state, payload_of(job)?).await,
        Some(JobKind::ZoomWebhook) => {
            crate::zoom::jobs::handle_webhook(state, payload_of(job)?).await
        }
        Some(JobKind::ReconcileMeeting) => {
            crate::meetings::service::reconcile(state, payload_of(job)?).await
        }
        Some(JobKind::ZoomDataCompliance) => {
            crate::zoom::jobs::data_compliance(state, payload_of(job)?).await
        }
        None => Err(JobError::Permanent(format!(
            "unknown job kind {:?}",
            job.kind
        ))),
    }
}

fn payload_of<P: serde::de::DeserializeOwned>(job: &ClaimedJob) -> Result<P, JobError> {
    job.payload()
        .map_err(|e| JobError::Permanent(format!("unreadable payload: {e}")))
}

/// Runs jobs until none is due. For tests and `rapport` commands that want the queue drained.
pub async fn drain(state: &AppState) -> Result<usize, sqlx::Error> {
    let mut count = 0;
    while run_one(state, "drain").await? {
        count += 1;
        if count > 10_000 {
            break;
        }
    }
    Ok(count)
}
