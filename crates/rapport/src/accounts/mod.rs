//! Organizations and their users: sign-up, sign-in and out, teammates, password links.

pub mod password;
pub mod routes;
pub mod session;
pub mod storage;
pub mod throttle;

use chrono::Duration;

use crate::app::AppState;
use crate::domain::FieldErrors;
use crate::mail;

pub use session::CurrentUser;
pub use storage::Role;

/// How long a password-reset link works.
pub const RESET_LINK_LIFETIME: Duration = Duration::minutes(60);
/// How long a teammate's invitation link works.
pub const INVITE_LINK_LIFETIME: Duration = Duration::days(7);

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Internal(String),
}

pub struct SignUp {
    pub name: String,
    pub email: String,
    pub password: String,
    pub org_name: String,
    pub time_zone: String,
}

/// Creates an organization and its owner. Returns the owner's user id.
pub async fn create_organization_with_owner(
    state: &AppState,
    input: SignUp,
) -> Result<i64, AccountError> {
    let hash = password::hash(input.password)
        .await
        .map_err(AccountError::Internal)?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let org_id = storage::insert_organization(&mut tx.conn(), &input.org_name, now).await?;
    let result = storage::insert_user(
        &mut tx.conn(),
        storage::NewUser {
            org_id,
            email: &input.email,
            name: &input.name,
            password_hash: Some(&hash),
            role: Role::Owner,
            time_zone: &input.time_zone,
        },
        now,
    )
    .await;
    let user_id = match result {
        Ok(id) => id,
        Err(err) if crate::db::is_unique_violation(&err) => {
            let mut errors = FieldErrors::new();
            errors.add(
                "email",
                "An account with this email already exists. Sign in, or reset your password.",
            );
            return Err(AccountError::Invalid(errors));
        }
        Err(err) => return Err(err.into()),
    };
    tx.commit().await?;
    tracing::info!(
        security_event = "sign_up",
        user_id,
        org_id,
        "organization created"
    );
    Ok(user_id)
}

pub struct NewTeammate<'a> {
    pub org_id: i64,
    pub org_name: &'a str,
    pub inviter_name: &'a str,
    pub name: String,
    pub email: String,
    pub time_zone: String,
}

/// Adds a member without a password and emails them a link to choose one (in one transaction:
/// no user without an invitation, no invitation without a user).
pub async fn invite_teammate(state: &AppState, t: NewTeammate<'_>) -> Result<i64, AccountError> {
    let now = state.clock.now();
    let token = crate::crypto::random_token();
    let mut tx = state.db.begin().await?;
    let user_id = match storage::insert_user(
        &mut tx.conn(),
        storage::NewUser {
            org_id: t.org_id,
            email: &t.email,
            name: &t.name,
            password_hash: None,
            role: Role::Member,
            time_zone: &t.time_zone,
        },
        now,
    )
    .await
    {
        Ok(id) => id,
        Err(err) if crate::db::is_unique_violation(&err) => {
            let mut errors = FieldErrors::new();
            errors.add(
                "email",
                "Someone already has a Rapport account with this email.",
            );
            return Err(AccountError::Invalid(errors));
        }
        Err(err) => return Err(err.into()),
    };
    storage::insert_password_token(
        &mut tx.conn(),
        &crate::crypto::hash_token(&token),
        user_id,
        storage::TokenPurpose::Invite,
        now,
        now + INVITE_LINK_LIFETIME,
    )
    .await?;
    let link = state.config.url_for(&format!("/set-password/{token}"));
    let email = mail::templates::invite(&mail::templates::Invite {
        to_email: &t.email,
        name: &t.name,
        inviter: t.inviter_name,
        org_name: t.org_name,
        org_id: t.org_id,
        link: &link,
        days: INVITE_LINK_LIFETIME.num_days(),
    })
    .map_err(|e| AccountError::Internal(e.to_string()))?;
    mail::enqueue(&mut tx.conn(), &email, now, state.config.job_max_attempts).await?;
    tx.commit().await?;
    state.jobs_notify.notify_one();
    Ok(user_id)
}

/// Emails a reset link when the address belongs to an account; does nothing otherwise (the page
/// says the same in both cases, so it cannot be used to find out who has an account).
pub async fn request_password_reset(state: &AppState, email: &str) -> Result<(), AccountError> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let Some((user, _)) = storage::find_user_by_email(&mut tx.conn(), email).await? else {
        return Ok(());
    };
    let token = crate::crypto::random_token();
    storage::insert_password_token(
        &mut tx.conn(),
        &crate::crypto::hash_token(&token),
        user.id,
        storage::TokenPurpose::Reset,
        now,
        now + RESET_LINK_LIFETIME,
    )
    .await?;
    let link = state.config.url_for(&format!("/reset-password/{token}"));
    let message = mail::templates::password_reset(
        &user.email,
        &user.name,
        user.org_id,
        &link,
        RESET_LINK_LIFETIME.num_minutes(),
    )
    .map_err(|e| AccountError::Internal(e.to_string()))?;
    mail::enqueue(&mut tx.conn(), &message, now, state.config.job_max_attempts).await?;
    tx.commit().await?;
    state.jobs_notify.notify_one();
    tracing::info!(
        security_event = "password_reset_requested",
        user_id = user.id,
        "password reset link sent"
    );
    Ok(())
}

/// Sets a new password through a one-time link. Returns the user id, or `None` when the link is
/// unknown, used or expired. Every session of the user ends: whoever knew the old password is out.
pub async fn complete_password_link(
    state: &AppState,
    token: &str,
    new_password: String,
) -> Result<Option<i64>, AccountError> {
    let hash = password::hash(new_password)
        .await
        .map_err(AccountError::Internal)?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let Some(user_id) =
        storage::consume_password_token(&mut tx.conn(), &crate::crypto::hash_token(token), now)
            .await?
    else {
        return Ok(None);
    };
    storage::set_password(&mut tx.conn(), user_id, &hash, now).await?;
    storage::expire_password_tokens_of_user(&mut tx.conn(), user_id, now).await?;
    storage::delete_sessions_of_user(&mut tx.conn(), user_id).await?;
    tx.commit().await?;
    tracing::info!(
        security_event = "password_set",
        user_id,
        "password changed through emailed link"
    );
    Ok(Some(user_id))
}
