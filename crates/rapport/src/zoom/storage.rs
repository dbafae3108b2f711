//! Zoom connections, OAuth flows in flight and accepted webhook deliveries in the database.

use chrono::{DateTime, Utc};

use crate::db::read::Arg;
use crate::db::{Conn, Split};
use crate::zoom::PROVIDER;
use crate::{sql_as, sql_execute, sql_scalar};

crate::db_row! {
    /// A pending authorization (the `state` of an OAuth flow).
    #[derive(Debug, Clone)]
    pub struct OAuthStateRow {
        pub session_hash: String,
        pub user_id: i64,
        pub pkce_verifier: String,
        pub issuer: String,
        pub expires_at: DateTime<Utc>,
    }
}

pub struct NewOAuthState<'a> {
    pub state_hash: &'a str,
    pub session_hash: &'a str,
    pub user_id: i64,
    pub sealed_verifier: &'a str,
    pub issuer: &'a str,
}

pub async fn insert_oauth_state(
    conn: &mut Conn<'_>,
    s: NewOAuthState<'_>,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sql_execute!(
        conn,
        "INSERT INTO oauth_states (state_hash, provider, session_hash, user_id, pkce_verifier, issuer, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        s.state_hash,
        PROVIDER,
        s.session_hash,
        s.user_id,
        s.sealed_verifier,
        s.issuer,
        now,
        expires_at
    )?;
    Ok(())
}

/// Takes a state out of the table: whoever gets the row owns the flow, a replay finds nothing.
pub async fn take_oauth_state(
    conn: &mut Conn<'_>,
    state_hash: &str,
) -> Result<Option<OAuthStateRow>, sqlx::Error> {
    sql_as!(
        conn,
        OAuthStateRow,
        fetch_optional,
        "DELETE FROM oauth_states WHERE state_hash = $1 RETURNING session_hash, user_id, pkce_verifier, issuer, expires_at",
        state_hash
    )
}

pub async fn delete_expired_oauth_states(
    conn: &mut Conn<'_>,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    sql_execute!(conn, "DELETE FROM oauth_states WHERE expires_at <= $1", now)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    NeedsReconnect,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::NeedsReconnect => "needs_reconnect",
        }
    }
}

crate::db_row! {
    #[derive(Debug, Clone)]
    pub struct ConnectionRow {
        pub id: i64,
        pub org_id: i64,
        pub user_id: i64,
        pub external_user_id: String,
        pub external_account_id: Option<String>,
        pub external_email: Option<String>,
        pub plan_type: Option<i64>,
        pub scopes: String,
        pub access_token: String,
        pub refresh_token: String,
        pub access_expires_at: DateTime<Utc>,
        pub status: String,
        pub status_reason: Option<String>,
        pub version: i64,
        pub refresh_lease_until: Option<DateTime<Utc>>,
        pub connected_at: DateTime<Utc>,
        pub needs_reconnect_since: Option<DateTime<Utc>>,
    }
}

impl ConnectionRow {
    pub fn is_active(&self) -> bool {
        self.status == Status::Active.as_str()
    }

    pub fn is_licensed(&self) -> bool {
        self.plan_type.is_some_and(|t| t == 2)
    }

    pub fn plan_label(&self) -> &'static str {
        match self.plan_type {
            Some(1) => "Basic (free)",
            Some(2) => "Licensed",
            Some(4) => "Unassigned",
            _ => "Unknown plan",
        }
    }
}

const SELECT: &str = "SELECT id, org_id, user_id, external_user_id, external_account_id, external_email, plan_type, scopes,
        access_token, refresh_token, access_expires_at, status, status_reason, version, refresh_lease_until,
        connected_at, needs_reconnect_since FROM connections";

pub async fn for_user(
    conn: &mut Conn<'_>,
    user_id: i64,
) -> Result<Option<ConnectionRow>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("{SELECT} WHERE provider = $1 AND user_id = $2"));
    sql_as!(conn, ConnectionRow, fetch_optional, sql, PROVIDER, user_id)
}

pub async fn by_id(conn: &mut Conn<'_>, id: i64) -> Result<Option<ConnectionRow>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("{SELECT} WHERE id = $1"));
    sql_as!(conn, ConnectionRow, fetch_optional, sql, id)
}

pub async fn by_external_user(
    conn: &mut Conn<'_>,
    external_user_id: &str,
) -> Result<Option<ConnectionRow>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE provider = $1 AND external_user_id = $2"
    ));
    sql_as!(
        conn,
        ConnectionRow,
        fetch_optional,
        sql,
        PROVIDER,
        external_user_id
    )
}

/// What a successful authorization gives us.
pub struct Grant<'a> {
    pub org_id: i64,
    pub user_id: i64,
    pub external_user_id: &'a str,
    pub external_account_id: Option<&'a str>,
    pub external_email: Option<&'a str>,
    pub plan_type: Option<i64>,
    pub tokens: &'a NewTokens,
    pub api_url: Option<&'a str>,
}

/// Stores a fresh grant for a user: a new connection, or a reconnect that replaces the tokens
/// of their existing one and clears "needs reconnecting".
pub async fn upsert(
    conn: &mut Conn<'_>,
    g: &Grant<'_>,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    sql_scalar!(
        conn,
        i64,
        fetch_one,
        "INSERT INTO connections (org_id, user_id, provider, external_user_id, external_account_id, external_email, plan_type, scopes,
             access_token, refresh_token, access_expires_at, api_url, status, status_reason, version, connected_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'active', NULL, 1, $13, $13)
         ON CONFLICT (provider, user_id) DO UPDATE SET
             external_user_id = excluded.external_user_id, external_account_id = excluded.external_account_id,
             external_email = excluded.external_email, plan_type = excluded.plan_type, scopes = excluded.scopes,
             access_token = excluded.access_token, refresh_token = excluded.refresh_token,
             access_expires_at = excluded.access_expires_at, api_url = excluded.api_url, status = 'active',
             status_reason = NULL, needs_reconnect_since = NULL, version = connections.version + 1,
             refresh_lease_until = NULL, refresh_lease_owner = NULL, connected_at = excluded.connected_at,
             updated_at = excluded.updated_at
         RETURNING id",
        g.org_id,
        g.user_id,
        PROVIDER,
        g.external_user_id,
        g.external_account_id,
        g.external_email,
        g.plan_type,
        &g.tokens.scopes,
        &g.tokens.sealed_access,
        &g.tokens.sealed_refresh,
        g.tokens.expires_at,
        g.api_url,
        now
    )
}

/// New tokens, sealed for one user's connection, from a refresh or an authorization.
pub struct NewTokens {
    pub sealed_access: String,
    pub sealed_refresh: String,
    pub expires_at: DateTime<Utc>,
    pub scopes: String,
}

/// Replaces the tokens after a refresh: only if nobody changed the row since we read it
/// (`version`), which the refresh lease already makes certain; the check is the fence.
pub async fn store_refreshed(
    conn: &mut Conn<'_>,
    id: i64,
    version: i64,
    t: &NewTokens,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let n = sql_execute!(
        conn,
        "UPDATE connections SET access_token = $3, refresh_token = $4, access_expires_at = $5, scopes = $6, version = version + 1,
             refresh_lease_until = NULL, refresh_lease_owner = NULL, updated_at = $7
         WHERE id = $1 AND version = $2",
        id,
        version,
        &t.sealed_access,
        &t.sealed_refresh,
        t.expires_at,
        &t.scopes,
        now
    )?;
    Ok(n == 1)
}

/// Gives the connection a grant Zoom has just issued for its Zoom account, whatever it held:
/// the new grant supersedes the old one (Zoom retires a grant when it issues a newer one to the
/// same app and account), so it must land even if a refresh committed in between.
pub async fn replace_grant(
    conn: &mut Conn<'_>,
    id: i64,
    t: &NewTokens,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sql_execute!(
        conn,
        "UPDATE connections SET access_token = $2, refresh_token = $3, access_expires_at = $4, scopes = $5, version = version + 1,
             status = 'active', status_reason = NULL, needs_reconnect_since = NULL,
             refresh_lease_until = NULL, refresh_lease_owner = NULL, updated_at = $6
         WHERE id = $1",
        id,
        &t.sealed_access,
        &t.sealed_refresh,
        t.expires_at,
        &t.scopes,
        now
    )?;
    Ok(())
}

/// Takes the refresh lease if nobody holds a live one.
pub async fn take_refresh_lease(
    conn: &mut Conn<'_>,
    id: i64,
    owner: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let n = sql_execute!(
        conn,
        "UPDATE connections SET refresh_lease_until = $3, refresh_lease_owner = $4
         WHERE id = $1 AND status = 'active' AND (refresh_lease_until IS NULL OR refresh_lease_until < $2)",
        id,
        now,
        until,
        owner
    )?;
    Ok(n == 1)
}

pub async fn release_refresh_lease(
    conn: &mut Conn<'_>,
    id: i64,
    owner: &str,
) -> Result<(), sqlx::Error> {
    sql_execute!(
        conn,
        "UPDATE connections SET refresh_lease_until = NULL, refresh_lease_owner = NULL WHERE id = $1 AND refresh_lease_owner = $2",
        id,
        owner
    )?;
    Ok(())
}

/// Marks the connection as needing reconnecting, if it still holds the tokens of `version`.
/// Returns false when it does not: the user reconnected (a new grant) or the tokens were
/// refreshed while Zoom was refusing the old ones, and the new tokens must not be condemned.
pub async fn mark_needs_reconnect(
    conn: &mut Conn<'_>,
    id: i64,
    version: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    Ok(sql_execute!(
        conn,
        "UPDATE connections SET status = 'needs_reconnect', status_reason = $3, refresh_lease_until = NULL, refresh_lease_owner = NULL,
             needs_reconnect_since = COALESCE(needs_reconnect_since, $4), version = version + 1, updated_at = $4
         WHERE id = $1 AND version = $2",
        id,
        version,
        reason,
        now
    )? == 1)
}

/// Deletes a connection: the row holds every value that came from Zoom (tokens, ids, email).
pub async fn delete(conn: &mut Conn<'_>, id: i64) -> Result<bool, sqlx::Error> {
    Ok(sql_execute!(conn, "DELETE FROM connections WHERE id = $1", id)? == 1)
}

/// Whether any connection is linked to this Zoom account.
pub async fn account_linked(conn: &mut Conn<'_>, account_id: &str) -> Result<bool, sqlx::Error> {
    let n = sql_scalar!(
        conn,
        i64,
        fetch_one,
        "SELECT COUNT(*) FROM connections WHERE provider = $1 AND external_account_id = $2",
        PROVIDER,
        account_id
    )?;
    Ok(n > 0)
}

/// Connections left "needs reconnecting" since before `cutoff`.
pub async fn stale(conn: &mut Conn<'_>, cutoff: DateTime<Utc>) -> Result<Vec<i64>, sqlx::Error> {
    sql_scalar!(
        conn,
        i64,
        fetch_all,
        "SELECT id FROM connections WHERE status = 'needs_reconnect' AND needs_reconnect_since < $1",
        cutoff
    )
}

/// Records many deduplication keys in one statement; returns the keys that were new (a key
/// named twice is new at most once).
pub async fn record_webhooks<'k>(
    conn: &mut Conn<'_>,
    keys: impl ExactSizeIterator<Item = (&'k str, DateTime<Utc>)> + Clone,
) -> Result<Vec<String>, sqlx::Error> {
    if keys.len() == 0 {
        return Ok(Vec::new());
    }
    let values = crate::db::placeholders(conn.backend(), keys.len(), 3);
    let sql = sqlx::AssertSqlSafe(format!(
        "INSERT INTO webhook_events (dedupe_key, provider, received_at) VALUES {values}
         ON CONFLICT (dedupe_key) DO NOTHING RETURNING dedupe_key"
    ));
    #[cfg(feature = "postgres")]
    macro_rules! run {
        ($db:ty, $c:expr) => {{
            // Not kept in the connection's statement cache: each batch size is its own
            // statement, and a cached 256-row insert holds a large compiled program.
            let mut query = sqlx::query_scalar::<$db, String>(sql).persistent(false);
            for (key, at) in keys {
                query = query.bind(key).bind(PROVIDER).bind(at);
            }
            query.fetch_all(&mut *$c).await
        }};
    }
    match conn.split() {
        #[cfg(feature = "postgres")]
        Split::Postgres(c) => run!(sqlx::Postgres, c),
        Split::Sqlite(mut c) => {
            // The arguments cannot be sent between threads: the call copies them, and they
            // are dropped before it is awaited.
            let call = {
                let rows: Vec<(&str, DateTime<Utc>)> = keys.collect();
                let args: Vec<&dyn Arg> = rows
                    .iter()
                    .flat_map(|(key, at)| [key as &dyn Arg, &PROVIDER, at])
                    .collect();
                c.once_fetch_all_scalar(&sql.0, &args)
            };
            call.await
        }
    }
}

pub async fn forget_old_webhooks(
    conn: &mut Conn<'_>,
    before: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    sql_execute!(
        conn,
        "DELETE FROM webhook_events WHERE received_at < $1",
        before
    )
}
