//! Zoom's background work: revoking a disconnected grant, processing webhook deliveries, the
//! deauthorization purge (and the optional data-compliance call), and the retention purge.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use zoom_api::AccessToken;
use zoom_api::webhook::{EventKind, WebhookEvent};

use crate::app::AppState;
use crate::contacts::activity;
use crate::db::Conn;
use crate::jobs::worker::JobError;
use crate::zoom::expose;
use crate::zoom::storage::{self, ConnectionRow};

#[derive(Debug, Serialize, Deserialize)]
pub struct RevokeJob {
    pub connection_id: i64,
    /// The access token, sealed for this job (`jobs.zoom_revoke:{connection_id}`).
    pub sealed_token: String,
    /// The refresh token, sealed the same way: revoked when the access token has expired.
    #[serde(default)]
    pub sealed_refresh: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct WebhookJob {
    /// The verified raw body.
    pub body: String,
}

/// Deletes a connection and every value in Rapport that came from Zoom through it, and notes it
/// on the organization's activity log. Call inside a transaction. Returns false, having done
/// nothing, when the connection was already gone (purged by a concurrent job or request).
pub async fn purge_connection(
    conn: &mut Conn<'_>,
    connection: &ConnectionRow,
    why: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    if !storage::delete(conn, connection.id).await? {
        return Ok(false);
    }
    // Jobs carry Zoom identifiers too (webhook bodies name the host, the account and sometimes
    // the email), and a dead or retrying one would keep them: they go with the connection.
    // The account id is shared by every user of a Zoom account: kept while another is linked.
    let mut carried = vec![connection.external_user_id.as_str()];
    carried.extend(connection.external_email.as_deref());
    if let Some(account) = connection.external_account_id.as_deref()
        && !storage::account_linked(conn, account).await?
    {
        carried.push(account);
    }
    for value in carried {
        crate::jobs::delete_carrying(conn, value).await?;
    }
    crate::meetings::storage::unlink_host(conn, connection.user_id, now).await?;
    crate::meetings::storage::fail_pending_of_host(conn, connection.user_id, now).await?;
    activity::record(
        conn,
        connection.org_id,
        None,
        Some(connection.user_id),
        "zoom_disconnected",
        &format!("Zoom connection removed ({why}); its Zoom data was deleted"),
        now,
    )
    .await?;
    Ok(true)
}

/// Revokes a grant at Zoom. Zoom answers 200 also for a token that is already dead, and a dead
/// grant is the goal, so those count as done; anything else is retried.
pub async fn revoke(state: &AppState, job: RevokeJob) -> Result<(), JobError> {
    let context = format!("jobs.zoom_revoke:{}", job.connection_id);
    let open = |sealed: &str| {
        state
            .zoom
            .vault
            .open(sealed, &context)
            .map_err(|e| JobError::Permanent(format!("unreadable token: {e}")))
    };
    let dead = |err: &zoom_api::Error| {
        err.needs_reconnect() || matches!(err, zoom_api::Error::AccessTokenInvalid { .. })
    };
    let token = open(&job.sealed_token)?;
    match state
        .zoom
        .oauth
        .revoke(&AccessToken::new(expose(&token)))
        .await
    {
        Ok(()) => Ok(()),
        // An expired access token may not end the grant: revoke the refresh token too.
        Err(err) if dead(&err) => match &job.sealed_refresh {
            Some(sealed) => {
                let refresh = open(sealed)?;
                let refresh = zoom_api::RefreshToken::new(expose(&refresh));
                match state.zoom.oauth.revoke_refresh_token(&refresh).await {
                    Ok(()) => Ok(()),
                    Err(err) if dead(&err) => Ok(()),
                    Err(err) => Err(JobError::Retry(format!("Zoom revoke: {err}"))),
                }
            }
            None => Ok(()),
        },
        Err(err) => Err(JobError::Retry(format!("Zoom revoke: {err}"))),
    }
}

/// Applies one verified webhook delivery.
pub async fn handle_webhook(state: &AppState, job: WebhookJob) -> Result<(), JobError> {
    let event = WebhookEvent::parse(job.body.as_bytes())
        .map_err(|e| JobError::Permanent(format!("unreadable event: {e}")))?;
    match &event.kind {
        EventKind::AppDeauthorized(d) => {
            let Some(zoom_user) = d.user_id.as_deref() else {
                return Err(JobError::Permanent(
                    "app_deauthorized without user_id".into(),
                ));
            };
            let now = state.clock.now();
            let mut tx = state.db.begin().await?;
            let connection = storage::by_external_user(&mut tx.conn(), zoom_user)
                .await?
                // A grant made after the deauthorization is not the one Zoom ended: the user
                // disconnected (Rapport's revoke makes Zoom send this event) or removed the app,
                // then connected again before this event was applied.
                .filter(|c| d.deauthorization_time.is_none_or(|t| c.connected_at < t));
            if let Some(connection) = connection
                && purge_connection(
                    &mut tx.conn(),
                    &connection,
                    "the app was removed in Zoom",
                    now,
                )
                .await?
            {
                tracing::info!(
                    security_event = "zoom_deauthorized",
                    user_id = connection.user_id,
                    "Zoom data deleted after deauthorization"
                );
            }
            if state.config.zoom_data_compliance {
                crate::jobs::enqueue(
                    &mut tx.conn(),
                    None,
                    crate::jobs::JobKind::ZoomDataCompliance,
                    &WebhookJob {
                        body: job.body.clone(),
                    },
                    now,
                    50,
                )
                .await?;
            }
            tx.commit().await?;
            Ok(())
        }
        _ => crate::meetings::service::apply_zoom_event(state, &event).await,
    }
}

/// Tells Zoom the user's data is deleted (the deprecated Data Compliance API), retried until
/// Zoom acknowledges.
pub async fn data_compliance(state: &AppState, job: WebhookJob) -> Result<(), JobError> {
    let event: serde_json::Value =
        serde_json::from_str(&job.body).map_err(|e| JobError::Permanent(e.to_string()))?;
    let payload = event.get("payload").cloned().unwrap_or_default();
    let config = state.zoom.oauth.config();
    let body = serde_json::json!({
        "client_id": config.client_id,
        "user_id": payload.get("user_id"),
        "account_id": payload.get("account_id"),
        "deauthorization_event_received": payload,
        "compliance_completed": true,
    });
    let url = config
        .api_base
        .join("/oauth/data/compliance")
        .map_err(|e| JobError::Permanent(e.to_string()))?;
    let response = reqwest::Client::new()
        .post(url)
        .basic_auth(&config.client_id, Some(expose(&config.client_secret)))
        .json(&body)
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| JobError::Retry(format!("data compliance: {}", e.without_url())))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(JobError::Retry(format!(
            "data compliance answered {}",
            response.status()
        )))
    }
}

/// Housekeeping run by every worker now and then: expired OAuth states and sessions, old
/// webhook dedupe keys, and the Zoom data of connections left "needs reconnecting" past the
/// retention period (this also covers a missed `app_deauthorized`).
pub async fn maintenance(state: &AppState) -> Result<(), sqlx::Error> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    storage::delete_expired_oauth_states(&mut tx.conn(), now).await?;
    storage::forget_old_webhooks(&mut tx.conn(), now - Duration::days(7)).await?;
    crate::accounts::storage::delete_expired_sessions(
        &mut tx.conn(),
        now,
        now - crate::accounts::session::IDLE_TIMEOUT,
    )
    .await?;
    let cutoff = now - Duration::days(i64::from(state.config.zoom_retention_days));
    for id in storage::stale(&mut tx.conn(), cutoff).await? {
        // Read again and checked again: on PostgreSQL a reconnect may have committed since the
        // list was read, and a reconnected connection is not stale.
        let connection = storage::by_id(&mut tx.conn(), id).await?.filter(|c| {
            !c.is_active() && c.needs_reconnect_since.is_some_and(|since| since < cutoff)
        });
        if let Some(connection) = connection
            && purge_connection(
                &mut tx.conn(),
                &connection,
                "not reconnected within the retention period",
                now,
            )
            .await?
        {
            tracing::info!(
                user_id = connection.user_id,
                "Zoom data of an unreconnected connection deleted"
            );
        }
    }
    tx.commit().await
}
