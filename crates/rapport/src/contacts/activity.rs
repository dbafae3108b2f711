//! The activity timeline: what happened to a contact (created, edited, emails, meetings).

use chrono::{DateTime, Utc};

use crate::db::read::Arg;
use crate::db::{Conn, Split};
use crate::{sql_as, sql_execute};

crate::db_row! {
    #[derive(Debug, Clone)]
    pub struct ActivityRow {
        pub id: i64,
        pub kind: String,
        pub summary: String,
        pub created_at: DateTime<Utc>,
        pub user_name: Option<String>,
    }
}

impl ActivityRow {
    pub fn icon(&self) -> &'static str {
        match self.kind.as_str() {
            "contact_created" => "+",
            "contact_edited" => "✎",
            "email_sent" => "✉",
            k if k.starts_with("meeting") => "▶",
            _ => "•",
        }
    }
}

pub async fn record(
    conn: &mut Conn<'_>,
    org_id: i64,
    contact_id: Option<i64>,
    user_id: Option<i64>,
    kind: &str,
    summary: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let summary: String = summary.chars().take(500).collect();
    sql_execute!(
        conn,
        "INSERT INTO activities (org_id, contact_id, user_id, kind, summary, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        org_id,
        contact_id,
        user_id,
        kind,
        summary,
        now
    )?;
    Ok(())
}

/// Records the same event on many contacts (an import), in multi-row statements of up to
/// `CONTACTS_PER_RECORD` contacts.
pub async fn record_many(
    conn: &mut Conn<'_>,
    org_id: i64,
    contact_ids: &[i64],
    user_id: Option<i64>,
    kind: &str,
    summary: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let summary: String = summary.chars().take(500).collect();
    for chunk in contact_ids.chunks(CONTACTS_PER_RECORD) {
        // The shared values are bound once, as parameters 1 to 5; row i binds its contact as
        // parameter 5 + i. Shared first, so that on SQLite each row's new parameter is the
        // highest yet, which SQLite adds without looking through the earlier ones.
        let backend = conn.backend();
        let p = |n: usize| crate::db::numbered_param(backend, n);
        let rows: Vec<String> = (1..=chunk.len())
            .map(|row| {
                format!(
                    "({}, {}, {}, {}, {}, {})",
                    p(1),
                    p(5 + row),
                    p(2),
                    p(3),
                    p(4),
                    p(5)
                )
            })
            .collect();
        let sql = sqlx::AssertSqlSafe(format!(
            "INSERT INTO activities (org_id, contact_id, user_id, kind, summary, created_at) VALUES {}",
            rows.join(", ")
        ));
        #[cfg(feature = "postgres")]
        macro_rules! run {
            ($db:ty, $c:expr) => {{
                // Not cached: see `zoom::storage::record_webhooks`.
                let mut query = sqlx::query::<$db>(sql)
                    .persistent(false)
                    .bind(org_id)
                    .bind(user_id)
                    .bind(kind)
                    .bind(&summary)
                    .bind(now);
                for id in chunk {
                    query = query.bind(id);
                }
                query.execute(&mut *$c).await.map(|_| ())
            }};
        }
        match conn.split() {
            #[cfg(feature = "postgres")]
            Split::Postgres(c) => run!(sqlx::Postgres, c)?,
            Split::Sqlite(mut c) => {
                // The arguments cannot be sent between threads: the call copies them, and they
                // are dropped before it is awaited.
                let call = {
                    let shared: [&dyn Arg; 5] = [&org_id, &user_id, &kind, &summary, &now];
                    let args: Vec<&dyn Arg> = shared
                        .into_iter()
                        .chain(chunk.iter().map(|id| id as &dyn Arg))
                        .collect();
                    c.once_execute(&sql.0, &args)
                };
                call.await?;
            }
        }
    }
    Ok(())
}

/// Contacts one statement of [`record_many`] covers.
const CONTACTS_PER_RECORD: usize = 500;

/// A contact's timeline, newest first.
pub async fn for_contact(
    conn: &mut Conn<'_>,
    org_id: i64,
    contact_id: i64,
    limit: i64,
) -> Result<Vec<ActivityRow>, sqlx::Error> {
    sql_as!(
        conn,
        ActivityRow,
        fetch_all,
        "SELECT a.id, a.kind, a.summary, a.created_at, u.name AS user_name
         FROM activities a LEFT JOIN users u ON u.id = a.user_id
         WHERE a.org_id = $1 AND a.contact_id = $2
         ORDER BY a.created_at DESC, a.id DESC LIMIT $3",
        org_id,
        contact_id,
        limit
    )
}
