//! Sessions: a random id in an HttpOnly cookie, its SHA-256 in the database (so every node sees
//! it and a database leak does not hand out live sessions), idle and absolute timeouts, a new id
//! at every sign-in, and sign-out that deletes the row.

use axum::extract::{FromRequestParts, OptionalFromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use chrono::Duration;

use crate::accounts::storage::{self, Role, SessionUser};
use crate::app::AppState;
use crate::crypto;
use crate::web::cookies;
use crate::web::error::AppError;

/// A session ends after this long without a request.
pub const IDLE_TIMEOUT: Duration = Duration::days(7);
/// A session ends this long after sign-in, however active.
pub const ABSOLUTE_TIMEOUT: Duration = Duration::days(30);
/// `last_seen_at` is written at most this often, so page views are not all writes.
const TOUCH_INTERVAL: Duration = Duration::minutes(5);

/// The signed-in user of this request.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user_id: i64,
    pub org_id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub time_zone: String,
    pub org_name: String,
    /// `active` or `needs_reconnect` when Zoom is connected.
    pub zoom_status: Option<String>,
    pub(crate) session_hash: String,
}

impl CurrentUser {
    pub fn is_owner(&self) -> bool {
        self.role == Role::Owner
    }

    pub fn tz(&self) -> chrono_tz::Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::UTC)
    }
}

impl From<SessionUser> for CurrentUser {
    fn from(s: SessionUser) -> CurrentUser {
        CurrentUser {
            user_id: s.user_id,
            org_id: s.org_id,
            email: s.email,
            name: s.name,
            role: Role::parse(&s.role),
            time_zone: s.time_zone,
            org_name: s.org_name,
            zoom_status: s.zoom_status,
            session_hash: s.session_hash,
        }
    }
}

/// Loads the session once per request and puts the user in the request's extensions.
pub async fn load(
    State(state): State<AppState>,
    jar: CookieJar,
    mut request: Request,
    next: Next,
) -> Response {
    let name = cookies::name(&state.config, cookies::SESSION);
    if let Some(cookie) = jar.get(&name) {
        match lookup(&state, cookie.value()).await {
            Ok(Some(user)) => {
                request.extensions_mut().insert(user);
            }
            Ok(None) => {}
            Err(err) => tracing::error!(error = %err, "could not load session"),
        }
    }
    next.run(request).await
}

async fn lookup(state: &AppState, raw_id: &str) -> Result<Option<CurrentUser>, sqlx::Error> {
    if raw_id.len() != 43 {
        return Ok(None);
    }
    let now = state.clock.now();
    let hash = crypto::hash_token(raw_id);
    let key = hash.clone();
    let found = state
        .db
        .read(move |mut conn| {
            Box::pin(async move {
                storage::find_session(&mut conn, &key, now, now - IDLE_TIMEOUT).await
            })
        })
        .await?;
    let Some(session) = found else {
        return Ok(None);
    };
    if now - session.last_seen_at > TOUCH_INTERVAL {
        let mut pooled = state.db.acquire().await?;
        storage::touch_session(&mut pooled.conn(), &hash, now).await?;
    }
    Ok(Some(session.into()))
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<CurrentUser>()
            .cloned()
            .ok_or_else(|| AppError::SignInRequired {
                return_to: parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_else(|| "/".into()),
            })
    }
}

impl OptionalFromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<CurrentUser>().cloned())
    }
}

/// Starts a new session for `user_id` (ending `previous`, the session this browser had, if any)
/// and returns the cookie header to set. For a user who has just been created; a sign-in uses
/// [`start_after_password`].
pub async fn start(
    state: &AppState,
    user_id: i64,
    previous: Option<&str>,
) -> Result<HeaderValue, AppError> {
    let raw_id = crypto::random_token();
    let mut tx = state.db.begin().await?;
    insert(state, &mut tx, user_id, previous, &raw_id).await?;
    tx.commit().await?;
    cookie_for(state, raw_id)
}

/// [`start`] for a sign-in whose password was checked against `verified_hash`: `None` when the
/// password changed since it was read. The check and the session are one transaction, so a
/// password reset, which ends every session of the user, cannot commit between them and leave
/// a session opened with the old password (on PostgreSQL the check locks the user's row until
/// the session is stored, and the reset's later `DELETE` sees it).
pub async fn start_after_password(
    state: &AppState,
    user_id: i64,
    previous: Option<&str>,
    verified_hash: &str,
) -> Result<Option<HeaderValue>, AppError> {
    let raw_id = crypto::random_token();
    let mut tx = state.db.begin().await?;
    if !storage::password_is_still(&mut tx.conn(), user_id, verified_hash).await? {
        return Ok(None);
    }
    insert(state, &mut tx, user_id, previous, &raw_id).await?;
    tx.commit().await?;
    Ok(Some(cookie_for(state, raw_id)?))
}

async fn insert(
    state: &AppState,
    tx: &mut crate::db::Tx,
    user_id: i64,
    previous: Option<&str>,
    raw_id: &str,
) -> Result<(), AppError> {
    let now = state.clock.now();
    if let Some(previous) = previous {
        storage::delete_session(&mut tx.conn(), &crypto::hash_token(previous)).await?;
    }
    storage::insert_session(
        &mut tx.conn(),
        &crypto::hash_token(raw_id),
        user_id,
        now,
        now + ABSOLUTE_TIMEOUT,
    )
    .await?;
    Ok(())
}

fn cookie_for(state: &AppState, raw_id: String) -> Result<HeaderValue, AppError> {
    let mut cookie = cookies::build(&state.config, cookies::SESSION, raw_id);
    cookie.set_max_age(time::Duration::seconds(ABSOLUTE_TIMEOUT.num_seconds()));
    HeaderValue::from_str(&cookie.to_string()).map_err(AppError::internal)
}

/// Ends this browser's session on the server and returns the header that clears the cookie.
pub async fn end(state: &AppState, user: &CurrentUser) -> Result<HeaderValue, AppError> {
    let mut pooled = state.db.acquire().await?;
    storage::delete_session(&mut pooled.conn(), &user.session_hash).await?;
    let cookie = cookies::removal(&state.config, cookies::SESSION);
    HeaderValue::from_str(&cookie.to_string()).map_err(AppError::internal)
}

/// The raw session id this browser presented, if any.
pub fn presented_id(state: &AppState, jar: &CookieJar) -> Option<String> {
    jar.get(&cookies::name(&state.config, cookies::SESSION))
        .map(|c| c.value().to_owned())
}

pub fn set_cookie(response: &mut Response, value: HeaderValue) {
    response.headers_mut().append(header::SET_COOKIE, value);
}
