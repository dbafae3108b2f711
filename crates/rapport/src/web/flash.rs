//! One-time messages shown on the next page ("Contact saved."), carried in a short-lived cookie
//! so they survive the redirect after a form post and work before sign-in too.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use crate::app::AppState;
use crate::config::Config;
use crate::web::cookies;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FlashKind {
    Success,
    Error,
    Info,
}

#[derive(Clone, Debug)]
pub struct Flash {
    pub kind: FlashKind,
    pub message: String,
}

impl Flash {
    pub fn css_class(&self) -> &'static str {
        match self.kind {
            FlashKind::Success => "flash flash-success",
            FlashKind::Error => "flash flash-error",
            FlashKind::Info => "flash flash-info",
        }
    }

    fn encode(&self) -> String {
        let kind = match self.kind {
            FlashKind::Success => "s",
            FlashKind::Error => "e",
            FlashKind::Info => "i",
        };
        format!(
            "{kind}.{}",
            utf8_percent_encode(&self.message, NON_ALPHANUMERIC)
        )
    }

    fn decode(raw: &str) -> Option<Flash> {
        let (kind, message) = raw.split_once('.')?;
        let kind = match kind {
            "s" => FlashKind::Success,
            "e" => FlashKind::Error,
            "i" => FlashKind::Info,
            _ => return None,
        };
        let message = percent_decode_str(message).decode_utf8().ok()?.into_owned();
        // Cap what a tampered cookie can put on a page (it is escaped by the template anyway).
        let message: String = message.chars().take(300).collect();
        Some(Flash { kind, message })
    }
}

/// Redirects (303 See Other, right after a form post) with a message for the next page.
pub fn redirect(
    config: &Config,
    to: &str,
    kind: FlashKind,
    message: impl Into<String>,
) -> Response {
    let flash = Flash {
        kind,
        message: message.into(),
    };
    let cookie = cookies::build(config, cookies::FLASH, flash.encode());
    let mut response = Redirect::to(to).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// Reads the flash cookie into the request's extensions, and clears it once a page (not a
/// redirect) has been rendered with it.
pub async fn layer(
    State(state): State<AppState>,
    jar: CookieJar,
    mut request: Request,
    next: Next,
) -> Response {
    let name = cookies::name(&state.config, cookies::FLASH);
    let flash = jar.get(&name).and_then(|c| Flash::decode(c.value()));
    let had_flash = jar.get(&name).is_some();
    if let Some(flash) = flash {
        request.extensions_mut().insert(flash);
    }
    let mut response = next.run(request).await;
    if had_flash && !response.status().is_redirection() {
        let removal = cookies::removal(&state.config, cookies::FLASH);
        if let Ok(value) = HeaderValue::from_str(&removal.to_string()) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_any_text() {
        let flash = Flash {
            kind: FlashKind::Error,
            message: "Naïve <b>\"quotes\"</b>; semicolons=ok".into(),
        };
        let decoded = Flash::decode(&flash.encode()).unwrap();
        assert_eq!(decoded.kind, FlashKind::Error);
        assert_eq!(decoded.message, flash.message);
        assert!(Flash::decode("x.hello").is_none());
    }
}
