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

/// Counts a sign-in attempt against the pair and the address, before its password is checked,
/// and says whether it may go on: `Some(seconds)` when it must not. Counted afterwards, a burst
/// of guesses fired in parallel would all pass the block check before the first failure was
/// written; counted first, each attempt gets a count of its own, and the one that reaches a
/// limit blocks the key for the rest. [`record_success`] takes the count back for an attempt
/// that turns out right.
pub async fn record_attempt(
    conn: &mut Conn<'_>,
    email: &str,
    ip: &str,
    now: DateTime<Utc>,
) -> Result<Option<u64>, sqlx::Error> {
    let mut refused: Option<u64> = None;
    for (key, limit) in keys(email, ip) {
        let row = storage::count_throttle_attempt(conn, &key, now, now - WINDOW).await?;
        let wait = match row.blocked_until {
            // Blocked by a parallel attempt since this one passed `blocked_for`.
            Some(until) if until > now => Some((until - now).num_seconds().max(1) as u64),
            // A parallel attempt reached the limit and is writing the block.
            _ if row.failures > limit => Some(BLOCK.num_seconds() as u64),
            _ => {
                if row.failures == limit {
                    storage::block_throttle(conn, &key, now + BLOCK, now).await?;
                }
                None
            }
        };
        if let Some(secs) = wait {
            refused = Some(refused.map_or(secs, |r| r.max(secs)));
        }
    }
    Ok(refused)
}

/// A successful sign-in clears the pair's count and takes its own attempt back from the
/// address's count (which limits stuffing across accounts, so it keeps the failures).
pub async fn record_success(conn: &mut Conn<'_>, email: &str, ip: &str) -> Result<(), sqlx::Error> {
    let [(pair, _), (address, _)] = keys(email, ip);
    storage::clear_throttle(conn, &pair).await?;
    storage::uncount_throttle_attempt(conn, &address).await
}
