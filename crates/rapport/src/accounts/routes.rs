//! Pages: sign up, sign in, sign out, forgotten password, password links, settings and team.

use std::net::SocketAddr;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use crate::accounts::session::{self, CurrentUser};
use crate::accounts::{self, AccountError, NewTeammate, SignUp, password, storage, throttle};
use crate::app::AppState;
use crate::domain::{self, FieldErrors};
use crate::web::flash::{self, FlashKind};
use crate::web::{AppError, AppResult, Form, Layout, Nav, safe_return_to};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sign-up", get(sign_up_page).post(sign_up))
        .route("/sign-in", get(sign_in_page).post(sign_in))
        .route("/sign-out", post(sign_out))
        .route("/forgot-password", get(forgot_page).post(forgot))
        .route("/reset-password/{token}", get(link_page).post(link_submit))
        .route("/set-password/{token}", get(link_page).post(link_submit))
        .route("/settings", get(settings_page).post(update_profile))
        .route("/settings/meetings", post(update_meeting_settings))
        .route("/settings/team", get(team_page).post(add_teammate))
}

fn time_zones() -> &'static [&'static str] {
    domain::time_zone_names()
}

// ---- sign up ----

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SignUpForm {
    name: String,
    email: String,
    password: String,
    org_name: String,
    time_zone: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "accounts/sign_up.html")]
struct SignUpPage {
    layout: Layout,
    form: SignUpForm,
    errors: FieldErrors,
    time_zones: &'static [&'static str],
}

async fn sign_up_page(layout: Layout, user: Option<CurrentUser>) -> Response {
    if user.is_some() {
        return Redirect::to("/contacts").into_response();
    }
    SignUpPage {
        layout: layout.page("Create your account", Nav::None),
        form: SignUpForm {
            time_zone: "UTC".into(),
            ..SignUpForm::default()
        },
        errors: FieldErrors::new(),
        time_zones: time_zones(),
    }
    .into_response()
}

async fn sign_up(
    State(state): State<AppState>,
    layout: Layout,
    jar: CookieJar,
    Form(form): Form<SignUpForm>,
) -> AppResult<Response> {
    let mut errors = FieldErrors::new();
    let name = errors.check("name", domain::required_text(&form.name, "Your name", 100));
    let email = errors.check("email", domain::email(&form.email));
    let org_name = errors.check(
        "org_name",
        domain::required_text(&form.org_name, "Organization name", 100),
    );
    let time_zone = errors.check("time_zone", domain::time_zone(&form.time_zone));
    if let Err(e) = password::check_policy(&form.password, email.as_deref().unwrap_or("")) {
        errors.add("password", e.to_string());
    }
    let rerender = |errors: FieldErrors, form: SignUpForm| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            SignUpPage {
                layout: layout.clone().page("Create your account", Nav::None),
                form: SignUpForm {
                    password: String::new(),
                    ..form
                },
                errors,
                time_zones: time_zones(),
            },
        )
            .into_response()
    };
    let (Some(name), Some(email), Some(org_name), Some(time_zone), true) =
        (name, email, org_name, time_zone, errors.is_empty())
    else {
        return Ok(rerender(errors, form));
    };
    let input = SignUp {
        name,
        email,
        password: form.password.clone(),
        org_name,
        time_zone: time_zone.name().to_owned(),
    };
    match accounts::create_organization_with_owner(&state, input).await {
        Ok(user_id) => {
            let cookie = session::start(
                &state,
                user_id,
                session::presented_id(&state, &jar).as_deref(),
            )
            .await?;
            let mut response = flash::redirect(
                &state.config,
                "/contacts",
                FlashKind::Success,
                "Welcome to Rapport! Add your first contact to get started.",
            );
            session::set_cookie(&mut response, cookie);
            Ok(response)
        }
        Err(AccountError::Invalid(errors)) => Ok(rerender(errors, form)),
        Err(AccountError::Database(e)) => Err(e.into()),
        Err(AccountError::Internal(e)) => Err(AppError::Internal(e)),
    }
}

// ---- sign in / out ----

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SignInForm {
    email: String,
    password: String,
    next: String,
}

#[derive(Debug, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "accounts/sign_in.html")]
struct SignInPage {
    layout: Layout,
    email: String,
    next: String,
    error: Option<String>,
}

async fn sign_in_page(
    layout: Layout,
    user: Option<CurrentUser>,
    Query(q): Query<NextQuery>,
) -> Response {
    let next = safe_return_to(q.next.as_deref());
    if user.is_some() {
        return Redirect::to(&next).into_response();
    }
    SignInPage {
        layout: layout.page("Sign in", Nav::None),
        email: String::new(),
        next,
        error: None,
    }
    .into_response()
}

async fn sign_in(
    State(state): State<AppState>,
    layout: Layout,
    jar: CookieJar,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: http::HeaderMap,
    Form(form): Form<SignInForm>,
) -> AppResult<Response> {
    let next = safe_return_to(Some(&form.next));
    let email = form.email.trim().to_lowercase();
    let ip = crate::web::client_address::client_address(
        peer.ip(),
        &headers,
        &state.config.trusted_proxies,
    )
    .to_string();
    let now = state.clock.now();
    let failed = |message: &str| {
        (
            StatusCode::UNAUTHORIZED,
            SignInPage {
                layout: layout.clone().page("Sign in", Nav::None),
                email: form.email.clone(),
                next: next.clone(),
                error: Some(message.to_owned()),
            },
        )
            .into_response()
    };
    if email.is_empty() || form.password.is_empty() {
        return Ok(failed("Enter your email and password."));
    }
    let refused = {
        let mut pooled = state.db.acquire().await?;
        match throttle::blocked_for(&mut pooled.conn(), &email, &ip, now).await? {
            Some(secs) => Some(secs),
            // Counted as a failure until the password proves right (see `record_attempt`).
            None => throttle::record_attempt(&mut pooled.conn(), &email, &ip, now).await?,
        }
    };
    if let Some(secs) = refused {
        tracing::warn!(
            security_event = "sign_in_throttled",
            "sign-in refused: too many failures"
        );
        return Err(AppError::TooManyRequests {
            retry_after_secs: secs,
        });
    }
    let found = {
        let mut pooled = state.db.acquire().await?;
        storage::find_user_by_email(&mut pooled.conn(), &email).await?
    };
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), hash),
        None => (None, None),
    };
    let ok = password::verify(form.password.clone(), hash.clone()).await;
    match (ok, user, hash) {
        (true, Some(user), Some(hash)) => {
            let Some(cookie) = session::start_after_password(
                &state,
                user.id,
                session::presented_id(&state, &jar).as_deref(),
                &hash,
            )
            .await?
            else {
                // The password changed while this one was being checked: it is the old one.
                tracing::warn!(
                    security_event = "sign_in_failed",
                    "sign-in failed: password changed during the check"
                );
                return Ok(failed("The email or password is not right."));
            };
            {
                let mut pooled = state.db.acquire().await?;
                throttle::record_success(&mut pooled.conn(), &email, &ip).await?;
            }
            tracing::info!(security_event = "sign_in", user_id = user.id, "signed in");
            let mut response = Redirect::to(&next).into_response();
            session::set_cookie(&mut response, cookie);
            Ok(response)
        }
        _ => {
            tracing::warn!(security_event = "sign_in_failed", "sign-in failed");
            Ok(failed("The email or password is not right."))
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct Empty {}

async fn sign_out(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(_): Form<Empty>,
) -> AppResult<Response> {
    let cookie = session::end(&state, &user).await?;
    tracing::info!(
        security_event = "sign_out",
        user_id = user.user_id,
        "signed out"
    );
    let mut response = flash::redirect(
        &state.config,
        "/sign-in",
        FlashKind::Info,
        "You are signed out.",
    );
    session::set_cookie(&mut response, cookie);
    Ok(response)
}

// ---- forgotten password and password links ----

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ForgotForm {
    email: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "accounts/forgot.html")]
struct ForgotPage {
    layout: Layout,
    email: String,
    error: Option<String>,
    sent: bool,
}

async fn forgot_page(layout: Layout) -> ForgotPage {
    ForgotPage {
        layout: layout.page("Reset your password", Nav::None),
        email: String::new(),
        error: None,
        sent: false,
    }
}

async fn forgot(
    State(state): State<AppState>,
    layout: Layout,
    Form(form): Form<ForgotForm>,
) -> AppResult<Response> {
    let layout = layout.page("Reset your password", Nav::None);
    match domain::email(&form.email) {
        Err(message) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            ForgotPage {
                layout,
                email: form.email,
                error: Some(message),
                sent: false,
            },
        )
            .into_response()),
        Ok(email) => {
            accounts::request_password_reset(&state, &email)
                .await
                .map_err(account_error)?;
            Ok(ForgotPage {
                layout,
                email,
                error: None,
                sent: true,
            }
            .into_response())
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PasswordLinkForm {
    password: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "accounts/password_link.html")]
struct PasswordLinkPage {
    layout: Layout,
    name: String,
    email: String,
    valid: bool,
    error: Option<String>,
    action: String,
}

async fn link_page(
    State(state): State<AppState>,
    layout: Layout,
    uri: axum::http::Uri,
    Path(token): Path<String>,
) -> AppResult<Response> {
    let user = {
        let mut pooled = state.db.acquire().await?;
        storage::peek_password_token(
            &mut pooled.conn(),
            &crate::crypto::hash_token(&token),
            state.clock.now(),
        )
        .await?
    };
    let page = PasswordLinkPage {
        layout: layout.page("Choose a password", Nav::None),
        name: user.as_ref().map(|u| u.name.clone()).unwrap_or_default(),
        email: user.as_ref().map(|u| u.email.clone()).unwrap_or_default(),
        valid: user.is_some(),
        error: None,
        action: uri.path().to_owned(),
    };
    let status = if page.valid {
        StatusCode::OK
    } else {
        StatusCode::GONE
    };
    let mut response = (status, page).into_response();
    // The link holds a secret: do not send it on to any other site.
    response.headers_mut().insert(
        axum::http::header::REFERRER_POLICY,
        axum::http::HeaderValue::from_static("no-referrer"),
    );
    Ok(response)
}

async fn link_submit(
    State(state): State<AppState>,
    layout: Layout,
    uri: axum::http::Uri,
    Path(token): Path<String>,
    Form(form): Form<PasswordLinkForm>,
) -> AppResult<Response> {
    let hash = crate::crypto::hash_token(&token);
    let user = {
        let mut pooled = state.db.acquire().await?;
        storage::peek_password_token(&mut pooled.conn(), &hash, state.clock.now()).await?
    };
    let Some(user) = user else {
        return Ok((
            StatusCode::GONE,
            PasswordLinkPage {
                layout: layout.page("Choose a password", Nav::None),
                name: String::new(),
                email: String::new(),
                valid: false,
                error: None,
                action: uri.path().to_owned(),
            },
        )
            .into_response());
    };
    if let Err(e) = password::check_policy(&form.password, &user.email) {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            PasswordLinkPage {
                layout: layout.page("Choose a password", Nav::None),
                name: user.name,
                email: user.email,
                valid: true,
                error: Some(e.to_string()),
                action: uri.path().to_owned(),
            },
        )
            .into_response());
    }
    match accounts::complete_password_link(&state, &token, form.password)
        .await
        .map_err(account_error)?
    {
        Some(_) => Ok(flash::redirect(
            &state.config,
            "/sign-in",
            FlashKind::Success,
            "Your password is set. Sign in with it now.",
        )),
        None => Ok(flash::redirect(
            &state.config,
            "/forgot-password",
            FlashKind::Error,
            "This link has already been used or has expired. Ask for a new one.",
        )),
    }
}

fn account_error(e: AccountError) -> AppError {
    match e {
        AccountError::Invalid(_) => AppError::BadRequest("The form has errors.".into()),
        AccountError::Database(e) => e.into(),
        AccountError::Internal(e) => AppError::Internal(e),
    }
}

// ---- settings ----

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ProfileForm {
    name: String,
    time_zone: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "accounts/settings.html")]
struct SettingsPage {
    layout: Layout,
    form: ProfileForm,
    errors: FieldErrors,
    time_zones: &'static [&'static str],
    is_owner: bool,
    zoom_enabled: bool,
    embedded_zoom: bool,
    zoom: Option<ZoomView>,
    notify_contact_on_zoom_delete: bool,
}

/// The Zoom connection as the settings page shows it.
struct ZoomView {
    active: bool,
    email: String,
    plan: &'static str,
    basic: bool,
    connected_at: String,
    missing_scopes: Vec<String>,
}

async fn zoom_view(state: &AppState, user: &CurrentUser) -> AppResult<(bool, Option<ZoomView>)> {
    let mut pooled = state.db.acquire().await?;
    let mut conn = pooled.conn();
    let enabled =
        crate::flags::is_enabled(&mut conn, crate::flags::ZOOM, user.org_id, user.user_id).await?;
    if !enabled {
        return Ok((false, None));
    }
    let view = crate::zoom::storage::for_user(&mut conn, user.user_id)
        .await?
        .map(|c| ZoomView {
            active: c.is_active(),
            email: c.external_email.clone().unwrap_or_default(),
            plan: c.plan_label(),
            basic: c.plan_type == Some(1),
            connected_at: c
                .connected_at
                .with_timezone(&user.tz())
                .format("%b %-d, %Y")
                .to_string(),
            missing_scopes: zoom_api::endpoints::describe_missing_scopes(
                &zoom_api::ScopeSet::parse(&c.scopes),
            ),
        });
    Ok((true, view))
}

async fn settings_page(
    State(state): State<AppState>,
    layout: Layout,
    user: CurrentUser,
) -> AppResult<SettingsPage> {
    let (zoom_enabled, zoom) = zoom_view(&state, &user).await?;
    let notify_contact_on_zoom_delete = notify_setting(&state, &user).await?;
    Ok(SettingsPage {
        layout: layout.page("Settings", Nav::Settings),
        form: ProfileForm {
            name: user.name.clone(),
            time_zone: user.time_zone.clone(),
        },
        errors: FieldErrors::new(),
        time_zones: time_zones(),
        is_owner: user.is_owner(),
        zoom_enabled,
        embedded_zoom: state.zoom.is_embedded(),
        zoom,
        notify_contact_on_zoom_delete,
    })
}

async fn notify_setting(state: &AppState, user: &CurrentUser) -> AppResult<bool> {
    let mut pooled = state.db.acquire().await?;
    Ok(storage::notifies_contact_on_zoom_delete(&mut pooled.conn(), user.user_id).await?)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MeetingSettingsForm {
    /// A checkbox: "on" when ticked, absent when not.
    notify_contact_on_zoom_delete: String,
}

async fn update_meeting_settings(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<MeetingSettingsForm>,
) -> AppResult<Response> {
    let on = form.notify_contact_on_zoom_delete == "on";
    let mut pooled = state.db.acquire().await?;
    storage::set_notify_contact_on_zoom_delete(
        &mut pooled.conn(),
        user.org_id,
        user.user_id,
        on,
        state.clock.now(),
    )
    .await?;
    let message = if on {
        "Saved. When you delete a meeting in Zoom, Rapport emails the contact a cancellation."
    } else {
        "Saved. When you delete a meeting in Zoom, Rapport cancels it here without emailing the contact."
    };
    Ok(flash::redirect(
        &state.config,
        "/settings#meetings",
        FlashKind::Success,
        message,
    ))
}

async fn update_profile(
    State(state): State<AppState>,
    layout: Layout,
    user: CurrentUser,
    Form(form): Form<ProfileForm>,
) -> AppResult<Response> {
    let mut errors = FieldErrors::new();
    let name = errors.check("name", domain::required_text(&form.name, "Your name", 100));
    let tz = errors.check("time_zone", domain::time_zone(&form.time_zone));
    let (Some(name), Some(tz)) = (name, tz) else {
        let (zoom_enabled, zoom) = zoom_view(&state, &user).await?;
        let notify_contact_on_zoom_delete = notify_setting(&state, &user).await?;
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            SettingsPage {
                layout: layout.page("Settings", Nav::Settings),
                form,
                errors,
                time_zones: time_zones(),
                is_owner: user.is_owner(),
                zoom_enabled,
                embedded_zoom: state.zoom.is_embedded(),
                zoom,
                notify_contact_on_zoom_delete,
            },
        )
            .into_response());
    };
    let mut pooled = state.db.acquire().await?;
    crate::sql_execute!(
        &mut pooled.conn(),
        "UPDATE users SET name = $1, time_zone = $2, updated_at = $3 WHERE id = $4 AND org_id = $5",
        name,
        tz.name(),
        state.clock.now(),
        user.user_id,
        user.org_id
    )?;
    Ok(flash::redirect(
        &state.config,
        "/settings",
        FlashKind::Success,
        "Your profile is saved.",
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TeammateForm {
    name: String,
    email: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "accounts/team.html")]
struct TeamPage {
    layout: Layout,
    members: Vec<storage::UserRow>,
    form: TeammateForm,
    errors: FieldErrors,
    is_owner: bool,
}

async fn team_page(
    State(state): State<AppState>,
    layout: Layout,
    user: CurrentUser,
) -> AppResult<TeamPage> {
    let members = {
        let mut pooled = state.db.acquire().await?;
        storage::list_users(&mut pooled.conn(), user.org_id).await?
    };
    Ok(TeamPage {
        layout: layout.page("Team", Nav::Settings),
        members,
        form: TeammateForm::default(),
        errors: FieldErrors::new(),
        is_owner: user.is_owner(),
    })
}

async fn add_teammate(
    State(state): State<AppState>,
    layout: Layout,
    user: CurrentUser,
    Form(form): Form<TeammateForm>,
) -> AppResult<Response> {
    if !user.is_owner() {
        return Err(AppError::Forbidden);
    }
    let mut errors = FieldErrors::new();
    let name = errors.check("name", domain::required_text(&form.name, "Name", 100));
    let email = errors.check("email", domain::email(&form.email));
    let result = match (name, email) {
        (Some(name), Some(email)) => accounts::invite_teammate(
            &state,
            NewTeammate {
                org_id: user.org_id,
                org_name: &user.org_name,
                inviter_name: &user.name,
                name,
                email: email.clone(),
                time_zone: user.time_zone.clone(),
            },
        )
        .await
        .map(|_| email),
        _ => Err(AccountError::Invalid(errors)),
    };
    match result {
        Ok(email) => Ok(flash::redirect(
            &state.config,
            "/settings/team",
            FlashKind::Success,
            format!("Invitation sent to {email}."),
        )),
        Err(AccountError::Invalid(errors)) => {
            let members = {
                let mut pooled = state.db.acquire().await?;
                storage::list_users(&mut pooled.conn(), user.org_id).await?
            };
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                TeamPage {
                    layout: layout.page("Team", Nav::Settings),
                    members,
                    form,
                    errors,
                    is_owner: true,
                },
            )
                .into_response())
        }
        Err(e) => Err(account_error(e)),
    }
}
