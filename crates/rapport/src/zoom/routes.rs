//! Zoom pages and endpoints: connect, the OAuth callback, disconnect, and the webhook receiver.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Duration;
use serde::Deserialize;
use zoom_api::PkceVerifier;
use zoom_api::webhook::{EventKind, WebhookEvent};

use crate::accounts::CurrentUser;
use crate::app::AppState;
use crate::jobs::{self, JobKind};
use crate::web::flash::{self, FlashKind};
use crate::web::{AppError, AppResult, Form, Layout, Nav};
use crate::zoom::expose;
use crate::zoom::jobs::RevokeJob;
use crate::zoom::storage::{self, Grant, NewOAuthState};
use crate::zoom::tokens::{self, access_context, refresh_context};

/// How long a started authorization may take (Zoom's codes live 5 minutes; RFC 6749 advises ≤10).
const STATE_LIFETIME: Duration = Duration::minutes(10);
/// Zoom's webhook bodies are small; anything bigger is not from Zoom.
const WEBHOOK_MAX_BYTES: usize = 64 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings/zoom/connect", post(connect))
        .route("/settings/zoom/callback", get(callback))
        .route(
            "/settings/zoom/disconnect",
            get(disconnect_page).post(disconnect),
        )
        .route(
            "/webhooks/zoom",
            post(webhook).layer(DefaultBodyLimit::max(WEBHOOK_MAX_BYTES)),
        )
}

/// The Zoom routes a user sees exist only where the feature flag is on for them.
async fn require_enabled(state: &AppState, user: &CurrentUser) -> AppResult<()> {
    let mut pooled = state.db.acquire().await?;
    if crate::flags::is_enabled(
        &mut pooled.conn(),
        crate::flags::ZOOM,
        user.org_id,
        user.user_id,
    )
    .await?
    {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

#[derive(Debug, Default, Deserialize)]
struct Empty {}

/// Starts an authorization: a random `state` bound to this session and a PKCE verifier, both
/// stored (the verifier encrypted) so any node can finish the flow; then off to Zoom.
async fn connect(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(_): Form<Empty>,
) -> AppResult<Response> {
    require_enabled(&state, &user).await?;
    let request = state
        .zoom
        .oauth
        .authorize_url()
        .map_err(AppError::internal)?;
    let now = state.clock.now();
    let state_hash = crate::crypto::hash_token(request.state.secret());
    let sealed_verifier = state.zoom.vault.seal(
        request.pkce_verifier.secret(),
        &format!("oauth_states:{state_hash}"),
    );
    let mut pooled = state.db.acquire().await?;
    storage::insert_oauth_state(
        &mut pooled.conn(),
        NewOAuthState {
            state_hash: &state_hash,
            session_hash: &user.session_hash,
            user_id: user.user_id,
            sealed_verifier: &sealed_verifier,
            issuer: &state.zoom.issuer,
        },
        now,
        now + STATE_LIFETIME,
    )
    .await?;
    tracing::info!(user_id = user.user_id, "Zoom authorization started");
    Ok(Redirect::to(request.url.as_str()).into_response())
}

#[derive(Debug, Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "zoom/callback_error.html")]
struct CallbackErrorPage {
    layout: Layout,
    title: &'static str,
    message: String,
}

fn callback_error(
    layout: Layout,
    status: StatusCode,
    title: &'static str,
    message: impl Into<String>,
) -> Response {
    let mut response = (
        status,
        CallbackErrorPage {
            layout: layout.page(title, Nav::Settings),
            title,
            message: message.into(),
        },
    )
        .into_response();
    no_referrer(&mut response);
    response
}

/// The page the authorization code arrives on must not leak it onward (RFC 9700 §4.2.4).
fn no_referrer(response: &mut Response) {
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

async fn callback(
    State(state): State<AppState>,
    layout: Layout,
    user: CurrentUser,
    Query(q): Query<CallbackQuery>,
) -> AppResult<Response> {
    require_enabled(&state, &user).await?;
    let Some(raw_state) = q.state.filter(|s| !s.is_empty() && s.len() <= 200) else {
        tracing::warn!(
            security_event = "oauth_state_missing",
            user_id = user.user_id,
            "Zoom callback without state"
        );
        return Ok(callback_error(
            layout,
            StatusCode::BAD_REQUEST,
            "Zoom connection not completed",
            "The answer from Zoom was incomplete. Start again from Settings.",
        ));
    };
    // The state is used up whatever happens next: a callback URL works once.
    let row = {
        let mut pooled = state.db.acquire().await?;
        storage::take_oauth_state(&mut pooled.conn(), &crate::crypto::hash_token(&raw_state))
            .await?
    };
    let now = state.clock.now();
    let valid = row.as_ref().is_some_and(|r| {
        r.user_id == user.user_id
            && r.session_hash == user.session_hash
            && r.expires_at > now
            && r.issuer == state.zoom.issuer
    });
    let (Some(row), true) = (row, valid) else {
        tracing::warn!(
            security_event = "oauth_state_rejected",
            user_id = user.user_id,
            "Zoom callback with an unknown, used, expired or foreign state"
        );
        return Ok(callback_error(
            layout,
            StatusCode::BAD_REQUEST,
            "Zoom connection not completed",
            "This Zoom sign-in was not started from this browser, was already used, or took too long. Nothing was changed. Start again from Settings.",
        ));
    };
    if let Some(error) = q.error {
        let message = if error == "access_denied" {
            "You declined access in Zoom, so Rapport is not connected. You can connect whenever you like.".to_owned()
        } else {
            "Zoom did not complete the connection. Nothing was changed. Try again from Settings."
                .to_owned()
        };
        let mut response = flash::redirect(&state.config, "/settings", FlashKind::Info, message);
        no_referrer(&mut response);
        return Ok(response);
    }
    let Some(code) = q.code.filter(|c| !c.is_empty() && c.len() <= 2000) else {
        return Ok(callback_error(
            layout,
            StatusCode::BAD_REQUEST,
            "Zoom connection not completed",
            "The answer from Zoom had no authorization code. Start again from Settings.",
        ));
    };
    let verifier = state
        .zoom
        .vault
        .open(
            &row.pkce_verifier,
            &format!("oauth_states:{}", crate::crypto::hash_token(&raw_state)),
        )
        .map_err(AppError::internal)?;
    let tokens = match state
        .zoom
        .oauth
        .exchange_code(&code, &PkceVerifier::from_string(expose(&verifier)))
        .await
    {
        Ok(tokens) => tokens,
        Err(err) => {
            tracing::warn!(user_id = user.user_id, error = %err, "Zoom code exchange failed");
            return Ok(callback_error(
                layout,
                StatusCode::BAD_GATEWAY,
                "Zoom connection not completed",
                "Zoom did not accept the authorization (it may have expired). Nothing was changed. Start again from Settings.",
            ));
        }
    };
    let me = match state.zoom.api.me(&tokens.access_token).await {
        Ok(me) => me,
        Err(err) => {
            tracing::warn!(user_id = user.user_id, error = %err, "reading the Zoom user failed");
            return Ok(callback_error(
                layout,
                StatusCode::BAD_GATEWAY,
                "Zoom connection not completed",
                "Zoom did not tell Rapport which account you signed in with. Try again in a moment.",
            ));
        }
    };
    let mut tx = state.db.begin().await?;
    if let Some(existing) = storage::by_external_user(&mut tx.conn(), &me.id).await?
        && existing.user_id != user.user_id
    {
        // Zoom has just replaced the other user's grant with this one (a re-authorization
        // invalidates older grants). Hand the fresh tokens to the connection that owns this Zoom
        // account, so it keeps working, and refuse the link here.
        let new = tokens::seal(&state, existing.user_id, &tokens);
        storage::replace_grant(&mut tx.conn(), existing.id, &new, now).await?;
        tx.commit().await?;
        tracing::warn!(
            security_event = "zoom_account_already_linked",
            user_id = user.user_id,
            "refused to link a Zoom account linked to another user"
        );
        return Ok(callback_error(
            layout,
            StatusCode::CONFLICT,
            "This Zoom account is already connected",
            format!(
                "The Zoom account {} is connected to another Rapport user. One Zoom account can be connected to one Rapport user only. Sign in to Zoom with your own account and connect again, or ask your colleague to disconnect it.",
                me.email
                    .clone()
                    .unwrap_or_else(|| "you signed in with".into())
            ),
        ));
    }
    let sealed = tokens::seal(&state, user.user_id, &tokens);
    // Connecting a different Zoom account than before replaces the old one's data entirely.
    if let Some(previous) = storage::for_user(&mut tx.conn(), user.user_id).await?
        && previous.external_user_id != me.id
    {
        storage::delete(&mut tx.conn(), previous.id).await?;
    }
    storage::upsert(
        &mut tx.conn(),
        &Grant {
            org_id: user.org_id,
            user_id: user.user_id,
            external_user_id: &me.id,
            external_account_id: me.account_id.as_deref(),
            external_email: me.email.as_deref(),
            plan_type: me.user_type.map(|t| t.code()),
            tokens: &sealed,
            api_url: tokens.api_url.as_deref(),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(
        security_event = "zoom_connected",
        user_id = user.user_id,
        "Zoom connected"
    );
    let missing = zoom_api::endpoints::missing_scopes(&tokens.scopes);
    let (kind, message) = if missing.is_empty() {
        (
            FlashKind::Success,
            "Zoom is connected. You can now schedule meetings with your contacts.".to_owned(),
        )
    } else {
        (
            FlashKind::Error,
            "Zoom is connected, but without some permissions Rapport needs: see below.".to_owned(),
        )
    };
    let mut response = flash::redirect(&state.config, "/settings", kind, message);
    no_referrer(&mut response);
    Ok(response)
}

#[derive(Template, WebTemplate)]
#[template(path = "zoom/disconnect.html")]
struct DisconnectPage {
    layout: Layout,
    email: String,
}

async fn disconnect_page(
    State(state): State<AppState>,
    layout: Layout,
    user: CurrentUser,
) -> AppResult<Response> {
    require_enabled(&state, &user).await?;
    let connection = {
        let mut pooled = state.db.acquire().await?;
        storage::for_user(&mut pooled.conn(), user.user_id).await?
    };
    let Some(connection) = connection else {
        return Ok(Redirect::to("/settings").into_response());
    };
    Ok(DisconnectPage {
        layout: layout.page("Disconnect Zoom", Nav::Settings),
        email: connection.external_email.unwrap_or_default(),
    }
    .into_response())
}

/// Removes the link and every value that came from Zoom in one transaction, and queues the
/// revocation at Zoom (retried until Zoom acknowledges, without keeping the user waiting).
async fn disconnect(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(_): Form<Empty>,
) -> AppResult<Response> {
    require_enabled(&state, &user).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let Some(connection) = storage::for_user(&mut tx.conn(), user.user_id).await? else {
        return Ok(flash::redirect(
            &state.config,
            "/settings",
            FlashKind::Info,
            "Zoom was not connected.",
        ));
    };
    // The token travels to the job re-sealed for the job, and dies with it.
    let job_context = format!("jobs.zoom_revoke:{}", connection.id);
    let reseal = |sealed: &str, context: &str| {
        let vault = &state.zoom.vault;
        vault
            .open(sealed, context)
            .map(|t| vault.seal(expose(&t), &job_context))
            .ok()
    };
    let token = reseal(&connection.access_token, &access_context(user.user_id));
    let sealed_refresh = reseal(&connection.refresh_token, &refresh_context(user.user_id));
    let purged = crate::zoom::jobs::purge_connection(
        &mut tx.conn(),
        &connection,
        "disconnected by the user",
        now,
    )
    .await?;
    if !purged {
        // A second submit of the form, or a deauthorization, got there first: the grant's
        // revoke (if any) is already queued.
        return Ok(flash::redirect(
            &state.config,
            "/settings",
            FlashKind::Info,
            "Zoom was not connected.",
        ));
    }
    if let Some(sealed_token) = token {
        jobs::enqueue(
            &mut tx.conn(),
            Some(user.org_id),
            JobKind::ZoomRevoke,
            &RevokeJob {
                connection_id: connection.id,
                sealed_token,
                sealed_refresh,
            },
            now,
            50,
        )
        .await?;
    }
    tx.commit().await?;
    state.jobs_notify.notify_one();
    tracing::info!(
        security_event = "zoom_disconnected",
        user_id = user.user_id,
        "Zoom disconnected by the user"
    );
    Ok(flash::redirect(
        &state.config,
        "/settings",
        FlashKind::Success,
        "Zoom is disconnected. Rapport deleted everything it had received from Zoom.",
    ))
}

/// Zoom's event notifications. Verified over the raw bytes before anything else (401 when the
/// signature or timestamp is wrong, and when no secret is configured), then deduplicated and
/// queued durably, together with the other events arriving at the same time (see
/// [`crate::zoom::intake`]), and answered once committed: the work happens in a job, well inside
/// Zoom's 3 seconds.
async fn webhook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(verifier) = &state.zoom.webhook else {
        tracing::warn!(
            security_event = "webhook_rejected",
            reason = "no secret configured",
            "Zoom webhook refused"
        );
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let now = state.clock.now();
    if let Err(err) = verifier.verify_headers(&headers, &body, now) {
        tracing::warn!(security_event = "webhook_rejected", reason = %err, "Zoom webhook refused");
        crate::ops::metrics::get().webhook("rejected");
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let event = match WebhookEvent::parse(&body) {
        Ok(event) => event,
        Err(err) => {
            tracing::warn!(error = %err, "unreadable Zoom webhook");
            return StatusCode::BAD_REQUEST.into_response();
        }
    };
    if let EventKind::UrlValidation { plain_token } = &event.kind {
        return match verifier.url_validation_response(plain_token) {
            Ok(answer) => axum::Json(answer).into_response(),
            Err(err) => {
                tracing::warn!(security_event = "webhook_rejected", reason = %err, "url_validation refused");
                StatusCode::BAD_REQUEST.into_response()
            }
        };
    }
    // Hashed: the key holds Zoom user and account ids, which must not outlive a deauthorization.
    let key = crate::crypto::hash_token(&event.dedupe_key().to_string());
    let raw = String::from_utf8_lossy(&body).into_owned();
    let stored = state.webhook_intake.store(key, raw, now).await;
    match stored {
        Ok(fresh) => {
            crate::ops::metrics::get().webhook(if fresh { "accepted" } else { "duplicate" });
            StatusCode::OK.into_response()
        }
        Err(err) => {
            // 5xx makes Zoom retry later: nothing is lost.
            tracing::error!(error = %err, "could not store a Zoom webhook");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}
