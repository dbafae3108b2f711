//! Feature flags: a feature is off, on for everyone, or on for listed organizations and users
//! only. Read from the database on each check, so a change takes effect on every node at once,
//! without a restart.

use chrono::{DateTime, Utc};

use crate::db::Conn;
use crate::{sql_as, sql_execute, sql_scalar};

/// The Zoom integration.
pub const ZOOM: &str = "zoom";
pub const KNOWN: &[&str] = &[ZOOM];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Off,
    On,
    Listed,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Off => "off",
            Mode::On => "on",
            Mode::Listed => "listed",
        }
    }

    fn parse(raw: &str) -> Mode {
        match raw {
            "off" => Mode::Off,
            "listed" => Mode::Listed,
            _ => Mode::On,
        }
    }
}

/// A flag with no row is on: a fresh install shows everything it can do.
pub async fn mode(conn: &mut Conn<'_>, name: &str) -> Result<Mode, sqlx::Error> {
    let raw = sql_scalar!(
        conn,
        String,
        fetch_optional,
        "SELECT mode FROM feature_flags WHERE name = $1",
        name
    )?;
    Ok(raw.as_deref().map(Mode::parse).unwrap_or(Mode::On))
}

pub async fn is_enabled(
    conn: &mut Conn<'_>,
    name: &str,
    org_id: i64,
    user_id: i64,
) -> Result<bool, sqlx::Error> {
    Ok(match mode(conn, name).await? {
        Mode::On => true,
        Mode::Off => false,
        Mode::Listed => {
            sql_scalar!(
                conn,
                i64,
                fetch_one,
                "SELECT COUNT(*) FROM feature_flag_targets WHERE name = $1 AND (org_id = $2 OR user_id = $3)",
                name,
                org_id,
                user_id
            )? > 0
        }
    })
}

/// What `rapport flags set` does.
#[derive(Debug, Clone, Copy)]
pub enum Change {
    Off,
    All,
    AddOrg(i64),
    AddUser(i64),
}

pub async fn set(
    conn: &mut Conn<'_>,
    name: &str,
    change: Change,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mode = match change {
        Change::Off => Mode::Off,
        Change::All => Mode::On,
        Change::AddOrg(_) | Change::AddUser(_) => Mode::Listed,
    };
    sql_execute!(
        conn,
        "INSERT INTO feature_flags (name, mode, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET mode = excluded.mode, updated_at = excluded.updated_at",
        name,
        mode.as_str(),
        now
    )?;
    match change {
        Change::Off | Change::All => {
            sql_execute!(
                conn,
                "DELETE FROM feature_flag_targets WHERE name = $1",
                name
            )?;
        }
        Change::AddOrg(org_id) => {
            sql_execute!(
                conn,
                "INSERT INTO feature_flag_targets (name, org_id) VALUES ($1, $2)",
                name,
                org_id
            )?;
        }
        Change::AddUser(user_id) => {
            sql_execute!(
                conn,
                "INSERT INTO feature_flag_targets (name, user_id) VALUES ($1, $2)",
                name,
                user_id
            )?;
        }
    }
    Ok(())
}

/// A flag's state in words, for `rapport flags show`.
pub async fn describe(conn: &mut Conn<'_>, name: &str) -> Result<String, sqlx::Error> {
    let mode = mode(conn, name).await?;
    if mode != Mode::Listed {
        return Ok(format!(
            "{name}: {}",
            if mode == Mode::On {
                "on for everyone"
            } else {
                "off"
            }
        ));
    }
    let targets = sql_as!(
        conn,
        (Option<String>, Option<String>),
        fetch_all,
        "SELECT o.name, u.email FROM feature_flag_targets t
         LEFT JOIN organizations o ON o.id = t.org_id LEFT JOIN users u ON u.id = t.user_id
         WHERE t.name = $1",
        name
    )?;
    // Ordered here, not in SQL: where NULLs sort and how text compares (collation) differ
    // between SQLite and PostgreSQL. Organizations first, then users, each by name.
    let mut list: Vec<(u8, String)> = targets
        .into_iter()
        .map(|(org, email)| match (org, email) {
            (Some(org), _) => (0, format!("organization {org}")),
            (_, Some(email)) => (1, format!("user {email}")),
            _ => (2, "(deleted)".into()),
        })
        .collect();
    list.sort();
    let list: Vec<String> = list.into_iter().map(|(_, target)| target).collect();
    Ok(format!(
        "{name}: on only for {}",
        if list.is_empty() {
            "nobody yet".into()
        } else {
            list.join(", ")
        }
    ))
}
