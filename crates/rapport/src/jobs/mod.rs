//! A durable job queue in the database. A job is queued in the same transaction as the change
//! that causes it, claimed by one worker at a time (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the
//! single writer on SQLite), retried with capped exponential backoff and full jitter, and marked
//! dead after `max_attempts`. A worker that dies mid-job loses its lease, and the job runs again:
//! handlers are written to be safe to repeat.

pub mod admin;
pub mod worker;

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use serde::{Serialize, de::DeserializeOwned};

use crate::db::read::Arg;
use crate::db::{Conn, Db, Split, dialect};
use crate::{sql_as, sql_execute, sql_scalar};

/// How long a claimed job is reserved for its worker before another may take it over.
pub const LEASE: Duration = Duration::minutes(2);

/// What a job does. Stored as text in `jobs.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    SendEmail,
    ZoomRevoke,
    ZoomWebhook,
    ZoomDataCompliance,
    ReconcileMeeting,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::SendEmail => "send_email",
            JobKind::ZoomRevoke => "zoom_revoke",
            JobKind::ZoomWebhook => "zoom_webhook",
            JobKind::ZoomDataCompliance => "zoom_data_compliance",
            JobKind::ReconcileMeeting => "reconcile_meeting",
        }
    }

    /// Whether the payload holds what came from Zoom or is about a Zoom account (event bodies
    /// with Zoom ids and emails, sealed tokens, meetings being settled with Zoom). Such a payload
    /// must not outlive the job's use of it, also when the job is given up.
    pub fn carries_zoom_data(self) -> bool {
        match self {
            JobKind::SendEmail => false,
            JobKind::ZoomRevoke
            | JobKind::ZoomWebhook
            | JobKind::ZoomDataCompliance
            | JobKind::ReconcileMeeting => true,
        }
    }

    pub fn parse(raw: &str) -> Option<JobKind> {
        match raw {
            "send_email" => Some(JobKind::SendEmail),
            "zoom_revoke" => Some(JobKind::ZoomRevoke),
            "zoom_webhook" => Some(JobKind::ZoomWebhook),
            "zoom_data_compliance" => Some(JobKind::ZoomDataCompliance),
            "reconcile_meeting" => Some(JobKind::ReconcileMeeting),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Queued,
    Running,
    Done,
    Dead,
}

impl JobState {
    pub const ALL: [JobState; 4] = [
        JobState::Queued,
        JobState::Running,
        JobState::Done,
        JobState::Dead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Dead => "dead",
        }
    }
}

/// Queues a job to run now. Call it inside the transaction that makes the job necessary.
pub async fn enqueue<P: Serialize>(
    conn: &mut Conn<'_>,
    org_id: Option<i64>,
    kind: JobKind,
    payload: &P,
    now: DateTime<Utc>,
    max_attempts: u32,
) -> Result<i64, sqlx::Error> {
    enqueue_at(conn, org_id, kind, payload, now, now, max_attempts).await
}

/// Queues many jobs of one kind, each due at its time, in one statement (payloads already
/// serialized). For bursts, such as a batch of webhooks.
pub async fn enqueue_many(
    conn: &mut Conn<'_>,
    kind: JobKind,
    jobs: &[(String, DateTime<Utc>)],
    max_attempts: u32,
) -> Result<(), sqlx::Error> {
    if jobs.is_empty() {
        return Ok(());
    }
    // Kind and max_attempts are bound once, first; row i binds its payload and due time after
    // them (on SQLite as numbered parameters: see `db::numbered_param`).
    let backend = conn.backend();
    let p = |n: usize| crate::db::numbered_param(backend, n);
    let rows: Vec<String> = (0..jobs.len())
        .map(|i| {
            let (payload, run_at) = (p(2 * i + 3), p(2 * i + 4));
            format!(
                "(NULL, {}, {payload}, 'queued', 0, {}, {run_at}, {run_at}, {run_at})",
                p(1),
                p(2)
            )
        })
        .collect();
    let sql = sqlx::AssertSqlSafe(format!(
        "INSERT INTO jobs (org_id, kind, payload, state, attempts, max_attempts, run_at, created_at, updated_at)
         VALUES {}",
        rows.join(", ")
    ));
    #[cfg(feature = "postgres")]
    macro_rules! run {
        ($db:ty, $c:expr) => {{
            // Not cached: see `zoom::storage::record_webhooks`.
            let mut query = sqlx::query::<$db>(sql)
                .persistent(false)
                .bind(kind.as_str())
                .bind(i64::from(max_attempts));
            for (payload, run_at) in jobs {
                query = query.bind(payload).bind(run_at);
            }
            query.execute(&mut *$c).await.map(|_| ())
        }};
    }
    match conn.split() {
        #[cfg(feature = "postgres")]
        Split::Postgres(c) => run!(sqlx::Postgres, c),
        Split::Sqlite(mut c) => {
            // The arguments cannot be sent between threads: the call copies them, and they
            // are dropped before it is awaited.
            let call = {
                let kind = kind.as_str();
                let max_attempts = i64::from(max_attempts);
                let shared: [&dyn Arg; 2] = [&kind, &max_attempts];
                let args: Vec<&dyn Arg> = shared
                    .into_iter()
                    .chain(
                        jobs.iter()
                            .flat_map(|(payload, run_at)| [payload as &dyn Arg, run_at]),
                    )
                    .collect();
                c.once_execute(&sql.0, &args)
            };
            call.await.map(|_| ())
        }
    }
}

/// Queues a job that becomes due at `run_at` (a safety net for work that normally finishes
/// without it, e.g. settling a call whose process may die before it answers).
pub async fn enqueue_at<P: Serialize>(
    conn: &mut Conn<'_>,
    org_id: Option<i64>,
    kind: JobKind,
    payload: &P,
    run_at: DateTime<Utc>,
    now: DateTime<Utc>,
    max_attempts: u32,
) -> Result<i64, sqlx::Error> {
    let payload = serde_json::to_string(payload).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sql_scalar!(
        conn,
        i64,
        fetch_one,
        "INSERT INTO jobs (org_id, kind, payload, state, attempts, max_attempts, run_at, created_at, updated_at)
         VALUES ($1, $2, $3, 'queued', 0, $4, $5, $6, $6) RETURNING id",
        org_id,
        kind.as_str(),
        payload,
        i64::from(max_attempts),
        run_at,
        now
    )
}

crate::db_row! {
    #[derive(Debug, Clone)]
    pub struct ClaimedJob {
        pub id: i64,
        pub kind: String,
        pub payload: String,
        /// Including this one.
        pub attempts: i64,
        pub max_attempts: i64,
    }
}

impl ClaimedJob {
    pub fn payload<P: DeserializeOwned>(&self) -> Result<P, serde_json::Error> {
        serde_json::from_str(&self.payload)
    }
}

/// Takes the next due job (or one whose worker's lease ran out), if any.
pub async fn claim(
    db: &Db,
    now: DateTime<Utc>,
    worker_id: &str,
) -> Result<Option<ClaimedJob>, sqlx::Error> {
    let mut tx = db.begin().await?;
    let job = claim_in(&mut tx.conn(), now, worker_id).await?;
    tx.commit().await?;
    Ok(job)
}

/// [`claim`] inside the caller's transaction, so that a worker can record the job it finished
/// and take the next one in the same write.
pub async fn claim_in(
    conn: &mut Conn<'_>,
    now: DateTime<Utc>,
    worker_id: &str,
) -> Result<Option<ClaimedJob>, sqlx::Error> {
    let sql = dialect::claim_job(conn.backend());
    sql_as!(
        conn,
        ClaimedJob,
        fetch_optional,
        sql,
        now,
        now + LEASE,
        worker_id
    )
}

/// A finished job forgets its payload: webhook bodies carry Zoom ids that must not outlive their use.
///
/// Like [`fail`], it applies only to this claim of the job (`attempts` counts claims): if the
/// lease ran out and another worker took the job over, the slower worker's result is dropped
/// instead of overwriting the newer one (returns false).
pub async fn complete(
    conn: &mut Conn<'_>,
    job: &ClaimedJob,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let n = sql_execute!(
        conn,
        "UPDATE jobs SET state = 'done', payload = $4, locked_until = NULL, locked_by = NULL, last_error = NULL, updated_at = $2
         WHERE id = $1 AND state = 'running' AND attempts = $3",
        job.id,
        now,
        job.attempts,
        SCRUBBED_PAYLOAD
    )?;
    Ok(n == 1)
}

/// What a dead or finished job keeps of a payload that carried Zoom data: nothing. The jobs page
/// explains a job from its kind, last error and attempts, which are columns of their own.
const SCRUBBED_PAYLOAD: &str = "{}";

/// Records a failed attempt: retried after a backoff, or dead when attempts are used up or the
/// failure is permanent. A dead job whose payload carried Zoom data (or of a kind this build
/// does not know) loses it in the same statement: nobody will run it again.
pub async fn fail(
    conn: &mut Conn<'_>,
    job: &ClaimedJob,
    now: DateTime<Utc>,
    error: &str,
    permanent: bool,
) -> Result<JobState, sqlx::Error> {
    let error: String = error.chars().take(1000).collect();
    if permanent || job.attempts >= job.max_attempts {
        let keep = JobKind::parse(&job.kind).is_some_and(|k| !k.carries_zoom_data());
        let payload = if keep {
            job.payload.as_str()
        } else {
            SCRUBBED_PAYLOAD
        };
        sql_execute!(
            conn,
            "UPDATE jobs SET state = 'dead', payload = $5, locked_until = NULL, locked_by = NULL, last_error = $2, updated_at = $3
             WHERE id = $1 AND state = 'running' AND attempts = $4",
            job.id,
            error,
            now,
            job.attempts,
            payload
        )?;
        Ok(JobState::Dead)
    } else {
        let run_at = now + backoff(job.attempts);
        sql_execute!(
            conn,
            "UPDATE jobs SET state = 'queued', locked_until = NULL, locked_by = NULL, last_error = $2, run_at = $3, updated_at = $4
             WHERE id = $1 AND state = 'running' AND attempts = $5",
            job.id,
            error,
            run_at,
            now,
            job.attempts
        )?;
        Ok(JobState::Queued)
    }
}

/// Withdraws a job that no worker has taken (queued, or waiting for a retry): e.g. a safety net
/// whose work finished without it. Returns false when it is running or gone.
pub async fn withdraw(conn: &mut Conn<'_>, id: i64) -> Result<bool, sqlx::Error> {
    let n = sql_execute!(
        conn,
        "DELETE FROM jobs WHERE id = $1 AND state = 'queued'",
        id
    )?;
    Ok(n == 1)
}

/// Deletes every job whose payload carries `value` (a Zoom user id, account id or email), in
/// any state (queued, waiting for a retry, dead) but running: a running job empties its payload
/// when it finishes. Called when a user's Zoom data is purged, so no job keeps it.
pub async fn delete_carrying(conn: &mut Conn<'_>, value: &str) -> Result<u64, sqlx::Error> {
    // A very short value could match unrelated payloads; Zoom ids and emails are longer.
    if value.chars().count() < 6 {
        return Ok(0);
    }
    let escaped: String = value
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            _ => vec![c],
        })
        .collect();
    sql_execute!(
        conn,
        "DELETE FROM jobs WHERE state <> 'running' AND payload LIKE $1 ESCAPE '\\'",
        format!("%{escaped}%")
    )
}

/// Capped exponential backoff with full jitter: a random delay in [1 s, min(cap, 2 s · 2^attempt)].
pub fn backoff(attempt: i64) -> Duration {
    let exp = attempt.clamp(0, 16) as u32;
    let ceiling = (2_i64 << exp).min(3600);
    Duration::seconds(rand::thread_rng().gen_range(1..=ceiling.max(1)))
}

/// Jobs waiting to run, for the metrics page.
pub async fn queue_depth(conn: &mut Conn<'_>) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sql_as!(
        conn,
        (String, i64),
        fetch_all,
        "SELECT state, COUNT(*) FROM jobs GROUP BY state"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        for attempt in 0..40 {
            let d = backoff(attempt).num_seconds();
            assert!(d >= 1, "attempt {attempt}: {d}");
            assert!(d <= 3600, "attempt {attempt}: {d}");
            assert!(d <= 2 << attempt.clamp(0, 16), "attempt {attempt}: {d}");
        }
    }
}
