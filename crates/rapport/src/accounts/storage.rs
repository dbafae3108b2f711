//! Organizations, users, sessions, one-time password links and sign-in throttling in the database.

use chrono::{DateTime, Utc};

use crate::db::Conn;
use crate::{sql_as, sql_execute, sql_scalar};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Owner,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Member => "member",
        }
    }

    pub fn parse(raw: &str) -> Role {
        if raw == "owner" {
            Role::Owner
        } else {
            Role::Member
        }
    }
}

crate::db_row! {
    /// A user as the pages see it (never carries the password hash).
    #[derive(Debug, Clone)]
    pub struct UserRow {
        pub id: i64,
        pub org_id: i64,
        pub email: String,
        pub name: String,
        pub role: String,
        pub time_zone: String,
        pub created_at: DateTime<Utc>,
        pub has_password: bool,
    }
}

pub struct NewUser<'a> {
    pub org_id: i64,
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: Option<&'a str>,
    pub role: Role,
    pub time_zone: &'a str,
}

pub async fn insert_organization(
    conn: &mut Conn<'_>,
    name: &str,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    sql_scalar!(
        conn,
        i64,
        fetch_one,
        "INSERT INTO organizations (name, created_at) VALUES ($1, $2) RETURNING id",
        name,
        now
    )
}

pub async fn find_organization_by_name(
    conn: &mut Conn<'_>,
    name: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sql_scalar!(
        conn,
        i64,
        fetch_optional,
        "SELECT id FROM organizations WHERE name = $1 ORDER BY id LIMIT 1",
        name
    )
}

pub async fn insert_user(
    conn: &mut Conn<'_>,
    user: NewUser<'_>,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    sql_scalar!(
        conn,
        i64,
        fetch_one,
        "INSERT INTO users (org_id, email, name, password_hash, role, time_zone, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
        user.org_id,
        user.email,
        user.name,
        user.password_hash,
        user.role.as_str(),
        user.time_zone,
        now
    )
}

pub async fn find_user_by_email(
    conn: &mut Conn<'_>,
    email: &str,
) -> Result<Option<(UserRow, Option<String>)>, sqlx::Error> {
    // The hash comes last: it is read here and nowhere else.
    let row = sql_as!(
        conn,
        crate::db::WithLast<UserRow, Option<String>>,
        fetch_optional,
        "SELECT id, org_id, email, name, role, time_zone, created_at, (password_hash IS NOT NULL) AS has_password, password_hash
         FROM users WHERE email = $1",
        email
    )?;
    Ok(row.map(|r| (r.row, r.last)))
}

pub async fn list_users(conn: &mut Conn<'_>, org_id: i64) -> Result<Vec<UserRow>, sqlx::Error> {
    sql_as!(
        conn,
        UserRow,
        fetch_all,
        "SELECT id, org_id, email, name, role, time_zone, created_at, (password_hash IS NOT NULL) AS has_password
         FROM users WHERE org_id = $1 ORDER BY name, id",
        org_id
    )
}

/// Whether the user's password hash is still `hash`. Written as an `UPDATE` that changes
/// nothing so that, on PostgreSQL, it locks the user's row until the transaction ends: a
/// password change waits for it instead of slipping in between.
pub async fn password_is_still(
    conn: &mut Conn<'_>,
    user_id: i64,
    hash: &str,
) -> Result<bool, sqlx::Error> {
    Ok(sql_execute!(
        conn,
        "UPDATE users SET password_hash = password_hash WHERE id = $1 AND password_hash = $2",
        user_id,
        hash
    )? == 1)
}

pub async fn set_password(
    conn: &mut Conn<'_>,
    user_id: i64,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sql_execute!(
        conn,
        "UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3",
        hash,
        now,
        user_id
    )?;
    Ok(())
}

crate::db_row! {
    /// The signed-in user, as loaded for every request from the session cookie.
    #[derive(Debug, Clone)]
    pub struct SessionUser {
        pub session_hash: String,
        pub last_seen_at: DateTime<Utc>,
        pub user_id: i64,
        pub org_id: i64,
        pub email: String,
        pub name: String,
        pub role: String,
        pub time_zone: String,
        pub org_name: String,
        pub zoom_status: Option<String>,
    }
}

pub async fn insert_session(
    conn: &mut Conn<'_>,
    id_hash: &str,
    user_id: i64,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sql_execute!(
        conn,
        "INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $3, $4)",
        id_hash,
        user_id,
        now,
        expires_at
    )?;
    Ok(())
}

/// A live session: not past its absolute expiry and used within the idle timeout.
pub async fn find_session(
    conn: &mut Conn<'_>,
    id_hash: &str,
    now: DateTime<Utc>,
    idle_since: DateTime<Utc>,
) -> Result<Option<SessionUser>, sqlx::Error> {
    sql_as!(
        conn,
        SessionUser,
        fetch_optional,
        "SELECT s.id_hash AS session_hash, s.last_seen_at, u.id AS user_id, u.org_id, u.email, u.name, u.role, u.time_zone,
                o.name AS org_name, c.status AS zoom_status
         FROM sessions s JOIN users u ON u.id = s.user_id JOIN organizations o ON o.id = u.org_id
         LEFT JOIN connections c ON c.user_id = u.id AND c.provider = 'zoom'
         WHERE s.id_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3",
        id_hash,
        now,
        idle_since
    )
}

pub async fn touch_session(
    conn: &mut Conn<'_>,
    id_hash: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sql_execute!(
        conn,
        "UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2",
        now,
        id_hash
    )?;
    Ok(())
}

pub async fn delete_session(conn: &mut Conn<'_>, id_hash: &str) -> Result<(), sqlx::Error> {
    sql_execute!(conn, "DELETE FROM sessions WHERE id_hash = $1", id_hash)?;
    Ok(())
}

pub async fn delete_sessions_of_user(
    conn: &mut Conn<'_>,
    user_id: i64,
) -> Result<u64, sqlx::Error> {
    sql_execute!(conn, "DELETE FROM sessions WHERE user_id = $1", user_id)
}

pub async fn delete_expired_sessions(
    conn: &mut Conn<'_>,
    now: DateTime<Utc>,
    idle_since: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    sql_execute!(
        conn,
        "DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2",
        now,
        idle_since
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    /// A teammate's first password.
    Invite,
    /// A forgotten password.
    Reset,
}

impl TokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::Invite => "invite",
            TokenPurpose::Reset => "reset",
        }
    }
}

pub async fn insert_password_token(
    conn: &mut Conn<'_>,
    token_hash: &str,
    user_id: i64,
    purpose: TokenPurpose,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sql_execute!(
        conn,
        "INSERT INTO password_tokens (token_hash, user_id, purpose, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        token_hash,
        user_id,
        purpose.as_str(),
        now,
        expires_at
    )?;
    Ok(())
}

/// The user a still-valid, unused link belongs to (without using it up).
pub async fn peek_password_token(
    conn: &mut Conn<'_>,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<UserRow>, sqlx::Error> {
    sql_as!(
        conn,
        UserRow,
        fetch_optional,
        "SELECT u.id, u.org_id, u.email, u.name, u.role, u.time_zone, u.created_at, (u.password_hash IS NOT NULL) AS has_password
         FROM password_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > $2",
        token_hash,
        now
    )
}

/// Uses up a link atomically: of two concurrent submits only one gets the user id.
pub async fn consume_password_token(
    conn: &mut Conn<'_>,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<i64>, sqlx::Error> {
    sql_scalar!(
        conn,
        i64,
        fetch_optional,
        "UPDATE password_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING user_id",
        token_hash,
        now
    )
}

/// Other outstanding links of a user stop working once one was used.
pub async fn expire_password_tokens_of_user(
    conn: &mut Conn<'_>,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sql_execute!(
        conn,
        "UPDATE password_tokens SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
        user_id,
        now
    )?;
    Ok(())
}

crate::db_row! {
    #[derive(Debug, Clone)]
    pub struct ThrottleRow {
        pub failures: i64,
        pub window_start: DateTime<Utc>,
        pub blocked_until: Option<DateTime<Utc>>,
    }
}

pub async fn get_throttle(
    conn: &mut Conn<'_>,
    key: &str,
) -> Result<Option<ThrottleRow>, sqlx::Error> {
    sql_as!(
        conn,
        ThrottleRow,
        fetch_optional,
        "SELECT failures, window_start, blocked_until FROM sign_in_throttle WHERE throttle_key = $1",
        key
    )
}

/// Counts one attempt against `key` in a single statement and returns the row as it now is: a
/// window that began at or before `window_cutoff` has run out, so the count starts again at 1
/// from `now`. One statement, not a read and then a write, so that parallel attempts (an
/// attacker firing guesses at once) each count and each see a count of its own: on PostgreSQL
/// two read-then-write updates could both read 3 and both write 4.
pub async fn count_throttle_attempt(
    conn: &mut Conn<'_>,
    key: &str,
    now: DateTime<Utc>,
    window_cutoff: DateTime<Utc>,
) -> Result<ThrottleRow, sqlx::Error> {
    sql_as!(
        conn,
        ThrottleRow,
        fetch_one,
        "INSERT INTO sign_in_throttle (throttle_key, failures, window_start, blocked_until) VALUES ($1, 1, $2, NULL)
         ON CONFLICT (throttle_key) DO UPDATE SET
             failures = CASE WHEN sign_in_throttle.window_start > $3 THEN sign_in_throttle.failures + 1 ELSE 1 END,
             window_start = CASE WHEN sign_in_throttle.window_start > $3 THEN sign_in_throttle.window_start ELSE $2 END
         RETURNING failures, window_start, blocked_until",
        key,
        now,
        window_cutoff
    )
}

/// Blocks `key` until `until` and starts a fresh window from `now`.
pub async fn block_throttle(
    conn: &mut Conn<'_>,
    key: &str,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sql_execute!(
        conn,
        "UPDATE sign_in_throttle SET blocked_until = $2, failures = 0, window_start = $3 WHERE throttle_key = $1",
        key,
        until,
        now
    )?;
    Ok(())
}

/// Takes one attempt back from `key`'s count (a sign-in that was counted before its password
/// was checked, and was right).
pub async fn uncount_throttle_attempt(conn: &mut Conn<'_>, key: &str) -> Result<(), sqlx::Error> {
    sql_execute!(
        conn,
        "UPDATE sign_in_throttle SET failures = failures - 1 WHERE throttle_key = $1 AND failures > 0",
        key
    )?;
    Ok(())
}

pub async fn clear_throttle(conn: &mut Conn<'_>, key: &str) -> Result<(), sqlx::Error> {
    sql_execute!(
        conn,
        "DELETE FROM sign_in_throttle WHERE throttle_key = $1",
        key
    )?;
    Ok(())
}

/// Whether the contact is emailed a cancellation when `user_id` deletes a meeting in Zoom itself.
pub async fn notifies_contact_on_zoom_delete(
    conn: &mut Conn<'_>,
    user_id: i64,
) -> Result<bool, sqlx::Error> {
    Ok(sql_scalar!(
        conn,
        bool,
        fetch_optional,
        "SELECT notify_contact_on_zoom_delete FROM users WHERE id = $1",
        user_id
    )?
    // The default, for a host that no longer exists.
    .unwrap_or(true))
}

pub async fn set_notify_contact_on_zoom_delete(
    conn: &mut Conn<'_>,
    org_id: i64,
    user_id: i64,
    on: bool,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sql_execute!(
        conn,
        "UPDATE users SET notify_contact_on_zoom_delete = $1, updated_at = $2 WHERE id = $3 AND org_id = $4",
        on,
        now,
        user_id,
        org_id
    )?;
    Ok(())
}
