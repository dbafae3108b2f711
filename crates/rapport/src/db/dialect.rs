//! The few statements whose SQL differs between SQLite and PostgreSQL. Keep this file small:
//! everything else is written once.

use super::Backend;

/// Claims the next due job: a job whose worker's lease ran out first (its worker died), else
/// the queued job due first. Each half is one index seek on `jobs_due (state, run_at)`: the
/// former single query with `OR` sorted every queued job on each claim, so a backlog of
/// 5,000 webhooks made every claim slower the longer the backlog. PostgreSQL skips rows another
/// worker has locked, so idle workers on several nodes each take a different job; SQLite has a
/// single writer, so `BEGIN IMMEDIATE` already serializes claims.
pub fn claim_job(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => {
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_until = $2, locked_by = $3, updated_at = $1
             WHERE id = COALESCE(
                 (SELECT id FROM jobs WHERE state = 'running' AND locked_until < $1 ORDER BY locked_until LIMIT 1),
                 (SELECT id FROM jobs WHERE state = 'queued' AND run_at <= $1 ORDER BY run_at, id LIMIT 1))
             RETURNING id, kind, payload, attempts, max_attempts"
        }
        Backend::Postgres => {
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_until = $2, locked_by = $3, updated_at = $1
             WHERE id = COALESCE(
                 (SELECT id FROM jobs WHERE state = 'running' AND locked_until < $1
                  ORDER BY locked_until LIMIT 1 FOR UPDATE SKIP LOCKED),
                 (SELECT id FROM jobs WHERE state = 'queued' AND run_at <= $1
                  ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED))
             RETURNING id, kind, payload, attempts, max_attempts"
        }
    }
}
