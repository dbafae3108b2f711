//! Access tokens for calls to Zoom, refreshed shortly before they expire by one caller at a
//! time across every node. Zoom rotates refresh tokens strictly (the old one dies on use), so
//! two concurrent refreshes would lose the connection: a lease in the database makes the refresh
//! single-flight, the holder re-reads the row after taking it (someone may just have refreshed),
//! and the write is fenced by the row's version.

use std::time::Duration as StdDuration;

use chrono::Duration;
use zoom_api::{AccessToken, RefreshToken};

use crate::app::AppState;
use crate::zoom::storage::{self, ConnectionRow};
use crate::zoom::{PROVIDER, expose};

/// Refresh when less than this is left, so a token never expires mid-request.
pub const REFRESH_MARGIN: Duration = Duration::minutes(5);
/// How long a refresh may hold the lease; longer than the Zoom client's timeout.
const LEASE: Duration = Duration::seconds(30);
/// How long a caller waits for another's refresh before giving up.
const WAIT_LIMIT: StdDuration = StdDuration::from_secs(20);

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("Zoom is not connected")]
    NotConnected,
    #[error("the Zoom connection needs reconnecting")]
    NeedsReconnect,
    #[error("Zoom could not be reached to renew access: {0}")]
    Transient(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored Zoom credentials could not be read: {0}")]
    Vault(#[from] crate::vault::VaultError),
}

pub fn access_context(user_id: i64) -> String {
    format!("{PROVIDER}:{user_id}:access_token")
}

pub fn refresh_context(user_id: i64) -> String {
    format!("{PROVIDER}:{user_id}:refresh_token")
}

/// Seals a token response for `user_id`'s connection row.
pub fn seal(state: &AppState, user_id: i64, tokens: &zoom_api::TokenSet) -> storage::NewTokens {
    let vault = &state.zoom.vault;
    let scopes: Vec<&str> = tokens.scopes.iter().collect();
    storage::NewTokens {
        sealed_access: vault.seal(
            tokens.access_token.expose_secret(),
            &access_context(user_id),
        ),
        sealed_refresh: vault.seal(
            tokens.refresh_token.expose_secret(),
            &refresh_context(user_id),
        ),
        expires_at: tokens.expires_at,
        scopes: scopes.join(" "),
    }
}

/// A usable access token for the user's Zoom connection, refreshing it first if needed.
pub async fn access_token(state: &AppState, user_id: i64) -> Result<AccessToken, TokenError> {
    let row = load_for_user(state, user_id)
        .await?
        .ok_or(TokenError::NotConnected)?;
    if !row.is_active() {
        return Err(TokenError::NeedsReconnect);
    }
    if row.access_expires_at - REFRESH_MARGIN > state.clock.now() {
        return open_access(state, &row);
    }
    refresh(state, row.id).await
}

fn open_access(state: &AppState, row: &ConnectionRow) -> Result<AccessToken, TokenError> {
    let secret = state
        .zoom
        .vault
        .open(&row.access_token, &access_context(row.user_id))?;
    Ok(AccessToken::new(expose(&secret)))
}

async fn load_for_user(
    state: &AppState,
    user_id: i64,
) -> Result<Option<ConnectionRow>, sqlx::Error> {
    // On the path of every Zoom call: one trip to a reader thread on SQLite (`Db::read`).
    state
        .db
        .read(move |mut conn| Box::pin(async move { storage::for_user(&mut conn, user_id).await }))
        .await
}

async fn load(state: &AppState, id: i64) -> Result<Option<ConnectionRow>, sqlx::Error> {
    state
        .db
        .read(move |mut conn| Box::pin(async move { storage::by_id(&mut conn, id).await }))
        .await
}

/// Refreshes connection `id` unless someone else is doing it or just did.
pub async fn refresh(state: &AppState, id: i64) -> Result<AccessToken, TokenError> {
    let owner = crate::crypto::random_token();
    let started = std::time::Instant::now();
    loop {
        let (took, now) = {
            let mut pooled = state.db.acquire().await?;
            // The lease is timed from when the connection was in hand, not from before waiting
            // for it: otherwise a slow pool shortens it, and another caller could take it over
            // and send the same single-use refresh token while this one still uses it.
            let now = state.clock.now();
            let took =
                storage::take_refresh_lease(&mut pooled.conn(), id, &owner, now, now + LEASE)
                    .await?;
            (took, now)
        };
        // Re-read after the attempt: the token may have been refreshed while we waited.
        let row = load(state, id).await?.ok_or(TokenError::NotConnected)?;
        if !row.is_active() {
            return Err(TokenError::NeedsReconnect);
        }
        if row.access_expires_at - REFRESH_MARGIN > now {
            if took {
                let mut pooled = state.db.acquire().await?;
                storage::release_refresh_lease(&mut pooled.conn(), id, &owner).await?;
            }
            return open_access(state, &row);
        }
        if took {
            return refresh_holding_lease(state, &row, &owner).await;
        }
        if started.elapsed() > WAIT_LIMIT {
            return Err(TokenError::Transient(
                "another refresh of this connection did not finish".into(),
            ));
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
}

async fn refresh_holding_lease(
    state: &AppState,
    row: &ConnectionRow,
    owner: &str,
) -> Result<AccessToken, TokenError> {
    let refresh_token = state
        .zoom
        .vault
        .open(&row.refresh_token, &refresh_context(row.user_id))?;
    let result = state
        .zoom
        .oauth
        .refresh(&RefreshToken::new(expose(&refresh_token)))
        .await;
    let now = state.clock.now();
    let mut pooled = state.db.acquire().await?;
    let mut conn = pooled.conn();
    match result {
        Ok(tokens) => {
            let new = seal(state, row.user_id, &tokens);
            let stored =
                storage::store_refreshed(&mut conn, row.id, row.version, &new, now).await?;
            if !stored {
                // Only possible if our lease expired and another caller refreshed too: Zoom has
                // then invalidated one of the two refresh tokens, and the row holds the other.
                tracing::error!(
                    connection = row.id,
                    "refresh raced past its lease; keeping the stored tokens"
                );
            }
            crate::ops::metrics::get().token_refresh("ok");
            tracing::info!(connection = row.id, "Zoom access token refreshed");
            Ok(tokens.access_token)
        }
        Err(err) if err.needs_reconnect() => {
            let marked = storage::mark_needs_reconnect(
                &mut conn,
                row.id,
                row.version,
                "Zoom no longer accepts this connection's authorization",
                now,
            )
            .await?;
            if !marked {
                // The row moved on while Zoom refused the tokens we sent (the user reconnected):
                // those tokens were the dead ones, not the row's. The caller may try again.
                tracing::info!(
                    connection = row.id,
                    "Zoom refused superseded tokens; the connection has new ones"
                );
                return Err(TokenError::Transient(
                    "the Zoom connection changed while it was being refreshed".into(),
                ));
            }
            crate::ops::metrics::get().token_refresh("grant_dead");
            tracing::warn!(connection = row.id, error = %err, "Zoom refused the refresh: connection needs reconnecting");
            Err(TokenError::NeedsReconnect)
        }
        Err(err) => {
            storage::release_refresh_lease(&mut conn, row.id, owner).await?;
            crate::ops::metrics::get().token_refresh("transient");
            tracing::warn!(connection = row.id, error = %err, "Zoom refresh failed; will retry on next use");
            Err(TokenError::Transient(err.to_string()))
        }
    }
}
