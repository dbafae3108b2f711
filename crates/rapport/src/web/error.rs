//! One error type for every handler, mapped to a status and a page a person can act on.
//! Internal details go to the log with the request id, never to the page.

use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The page or record does not exist, or belongs to another organization (the same answer
    /// for both, so ids cannot be probed).
    #[error("not found")]
    NotFound,
    /// Not signed in: send the visitor to the sign-in page and back.
    #[error("sign-in required")]
    SignInRequired { return_to: String },
    /// Signed in, but not allowed (e.g. a member on an owner-only page).
    #[error("forbidden")]
    Forbidden,
    /// The form's anti-forgery token is missing or wrong.
    #[error("invalid CSRF token")]
    Csrf,
    /// A request the user can correct, with a message for them.
    #[error("{0}")]
    BadRequest(String),
    /// Too many attempts.
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn internal(err: impl std::fmt::Display) -> AppError {
        AppError::Internal(err.to_string())
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
struct ErrorPage {
    title: &'static str,
    message: String,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, title, message) = match &self {
            AppError::NotFound => (
                StatusCode::NOT_FOUND,
                "Page not found",
                "This page does not exist, or it was deleted.".to_owned(),
            ),
            AppError::SignInRequired { return_to } => {
                let target = format!("/sign-in?next={}", percent_encoding::utf8_percent_encode(return_to, percent_encoding::NON_ALPHANUMERIC));
                return Redirect::to(&target).into_response();
            }
            AppError::Forbidden => (
                StatusCode::FORBIDDEN,
                "Not allowed",
                "Your account is not allowed to do this. Ask the owner of your organization.".to_owned(),
            ),
            AppError::Csrf => (
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form was not sent from Rapport, or it has expired. Go back, reload the page and try again.".to_owned(),
            ),
            AppError::BadRequest(message) => (StatusCode::BAD_REQUEST, "Something is not right", message.clone()),
            AppError::TooManyRequests { retry_after_secs } => {
                let page = ErrorPage {
                    title: "Too many attempts",
                    message: format!("Too many attempts. Try again in {} minutes.", retry_after_secs.div_ceil(60).max(1)),
                };
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(axum::http::header::RETRY_AFTER, retry_after_secs.to_string())],
                    page,
                )
                    .into_response();
            }
            AppError::Database(err) => {
                tracing::error!(error = %err, "database error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "Rapport could not complete this request. Nothing was lost; please try again in a moment.".to_owned(),
                )
            }
            AppError::Internal(err) => {
                tracing::error!(error = %err, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "Rapport could not complete this request. Nothing was lost; please try again in a moment.".to_owned(),
                )
            }
        };
        (status, ErrorPage { title, message }).into_response()
    }
}

pub type AppResult<T> = Result<T, AppError>;
