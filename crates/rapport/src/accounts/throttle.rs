//! Sign-in throttling kept in the database (so it holds across nodes). Failures are counted per
//! (account, client address) and per client address. An attacker hammering a victim's account
//! from their own address blocks only that pair: the victim signing in from elsewhere is not
//! locked out. The per-address limit, higher, slows credential stuffing across many accounts.

use chrono::{DateTime, Duration, Utc};

use crate::accounts::storage;
use crate::db::Conn;

const WINDOW: Duration = Duration::minutes(15);
const BLOCK: Duration = Duration::minutes(15);
const PER_ACCOUNT_AND_ADDRESS: i64 = 5;
const PER_ADDRESS: i64 = 50;

fn keys(email: &str, ip: &str) -> [(String, i64); 2] {
    [
        (
            format!("acct:{}|ip:{ip}", email.to_lowercase()),
            PER_ACCOUNT_AND_ADDRESS,
        ),
        (format!("ip:{ip}"), PER_ADDRESS),
    ]
}

/// Seconds until this pair may try again, if it is blocked now.
pub async fn blocked_for(
    conn: &mut Conn<'_>,
    email: &str,
    ip: &str,
    now: DateTime<Utc>,
) -> Result<Option<u64>, sqlx::Error> {
    let mut longest: Option<u64> = None;
    for (key, _) in keys(email, ip) {
        if let Some(row) = storage::get_throttle(conn, &key).await?
            && let Some(until) = row.blocked_until
            && until > now
        {
            let secs = (until - now).num_seconds().max(1) as u64;
            longest = Some(longest.map_or(secs, |l| l.max(secs)));
        }
    }
    Ok(longest)
}

/// Counts a failed sign-in against the pair and the address, blocking whichever reaches its limit.
pub async fn record_failure(
    conn: &mut Conn<'_>,
    email: &str,
    ip: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    for (key, limit) in keys(email, ip) {
        let failures = storage::count_throttle_failure(conn, &key, now, now - WINDOW).await?;
        if failures >= limit {
            storage::block_throttle(conn, &key, now + BLOCK, now).await?;
        }
    }
    Ok(())
}

/// A successful sign-in clears the pair's count (not the address's: that one limits stuffing).
pub async fn record_success(conn: &mut Conn<'_>, email: &str, ip: &str) -> Result<(), sqlx::Error> {
    let [(pair, _), _] = keys(email, ip);
    storage::clear_throttle(conn, &pair).await
}
