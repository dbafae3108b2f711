//! Upkeep of SQLite's contact search index (the FTS5 trigram table of migration 0006).
//!
//! FTS5 writes the entries of each transaction as a new segment and merges segments only as
//! further writes come in, so after a bulk load (an import, `rapport dev seed`) or months of
//! single inserts a search looks each trigram of its term up in every segment. On the
//! benchmark's database (111,003 contacts, seeded 1,000 per transaction: 21 segments) a search
//! in the 1,000-contact organization spent 0.28 ms in SQLite, 0.044 ms once the index was one
//! segment; in the 100,000-contact one 1.3–2.0 ms became 1.0 ms (docs/benchmarks.md).
//!
//! [`tidy`] merges the index in steps of a few hundred pages, each step a write transaction
//! of its own (~40 ms on that database), so other writers wait for one step at most, never for
//! the whole merge. PostgreSQL's trigram index needs no such upkeep beyond autovacuum.

use crate::db::{Conn, Db};
use crate::{sql_execute, sql_scalar};

/// Pages one merge step writes at most. FTS5's `merge` command with a negative page count
/// merges segments of any level, so repeated steps end with one segment, like `optimize`,
/// without holding the write lock for the whole index.
const MERGE_STEP_PAGES: i64 = 500;
/// A bound on the steps of one tidy-up, in case writes keep adding segments as fast as it
/// merges them: 5,000 steps of 500 pages is a 10 GB index.
const MAX_STEPS: u32 = 5_000;

/// Merges the search index's segments until no work is left (or `MAX_STEPS`); returns how
/// many steps did work. Nothing to do on PostgreSQL.
pub async fn tidy(db: &Db) -> Result<u32, sqlx::Error> {
    if db.backend() != crate::db::Backend::Sqlite {
        return Ok(0);
    }
    let mut steps = 0;
    while steps < MAX_STEPS {
        // Each step a write transaction of its own, in the node's write turn.
        let merged = db
            .write(|mut conn| Box::pin(async move { merge_step(&mut conn).await }))
            .await?;
        if !merged {
            break;
        }
        steps += 1;
    }
    Ok(steps)
}

/// One merge step; returns whether it merged anything. FTS5 documents how to tell: the
/// connection's total change count grows by two or more when the step did work.
async fn merge_step(conn: &mut Conn<'_>) -> Result<bool, sqlx::Error> {
    if !conn.is_sqlite() {
        return Ok(false);
    }
    let before = sql_scalar!(conn, i64, fetch_one, "SELECT total_changes()")?;
    sql_execute!(
        conn,
        "INSERT INTO contacts_search (contacts_search, rank) VALUES ('merge', $1)",
        -MERGE_STEP_PAGES
    )?;
    let after = sql_scalar!(conn, i64, fetch_one, "SELECT total_changes()")?;
    Ok(after - before >= 2)
}
