//! Anti-forgery for forms: a per-browser random token kept in an HttpOnly cookie and repeated in
//! a hidden field of every form (the double-submit pattern, with `__Host-` cookies over https).
//! `tower_http::csrf` additionally refuses cross-site POSTs by `Sec-Fetch-Site`/`Origin`.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use crate::app::AppState;
use crate::web::cookies;
use crate::web::error::AppError;

/// The browser's anti-forgery token, for templates to put in forms.
#[derive(Clone, Debug)]
pub struct CsrfToken(pub String);

/// Gives every browser a token cookie on first visit and makes the token available to handlers.
pub async fn ensure_token(
    axum::extract::State(state): axum::extract::State<AppState>,
    jar: CookieJar,
    mut request: Request,
    next: Next,
) -> Response {
    let name = cookies::name(&state.config, cookies::CSRF);
    let existing = jar
        .get(&name)
        .map(|c| c.value().to_owned())
        .filter(|v| v.len() == 43);
    let (token, fresh) = match existing {
        Some(token) => (token, false),
        None => (crate::crypto::random_token(), true),
    };
    request.extensions_mut().insert(CsrfToken(token.clone()));
    let mut response = next.run(request).await;
    if fresh {
        let cookie = cookies::build(&state.config, cookies::CSRF, token);
        if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

pub fn token_matches(expected: &str, given: &str) -> bool {
    !expected.is_empty() && expected.as_bytes().ct_eq(given.as_bytes()).into()
}

/// A URL-encoded form whose `csrf_token` field was checked against the browser's token.
pub struct Form<T>(pub T);

impl<T> FromRequest<AppState> for Form<T>
where
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let body = checked_form_body(request, state).await?;
        let value = serde_urlencoded::from_bytes::<T>(&body).map_err(|_| {
            AppError::BadRequest("The form could not be read. Please go back and try again.".into())
        })?;
        Ok(Form(value))
    }
}

/// The body of a form post whose anti-forgery token matches the session's. Apart from `Form`'s
/// generic decoding, so that it is compiled once rather than once per form.
async fn checked_form_body(request: Request, state: &AppState) -> Result<Bytes, AppError> {
    let expected = request
        .extensions()
        .get::<CsrfToken>()
        .map(|t| t.0.clone())
        .unwrap_or_default();
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(AppError::BadRequest("Expected a form submission.".into()));
    }
    let body = Bytes::from_request(request, state)
        .await
        .map_err(|_| AppError::BadRequest("The form is too large or could not be read.".into()))?;
    let given = form_urlencoded_value(&body, "csrf_token").unwrap_or_default();
    if !token_matches(&expected, &given) {
        tracing::warn!(
            security_event = "csrf_rejected",
            "form with a missing or wrong anti-forgery token"
        );
        return Err(AppError::Csrf);
    }
    Ok(body)
}

fn form_urlencoded_value(body: &[u8], key: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}
