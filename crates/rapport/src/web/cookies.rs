//! Cookie names and attributes in one place. Over https the names carry the `__Host-` prefix,
//! which browsers only accept with `Secure`, `Path=/` and no `Domain`: no subdomain can plant them.

use axum_extra::extract::cookie::{Cookie, SameSite};

use crate::config::Config;

pub const SESSION: &str = "rapport_session";
pub const CSRF: &str = "rapport_csrf";
pub const FLASH: &str = "rapport_flash";

pub fn name(config: &Config, base: &'static str) -> String {
    if config.is_https() {
        format!("__Host-{base}")
    } else {
        base.to_owned()
    }
}

/// A cookie with the attributes every Rapport cookie shares.
pub fn build(config: &Config, base: &'static str, value: String) -> Cookie<'static> {
    Cookie::build((name(config, base), value))
        .path("/")
        .http_only(true)
        .secure(config.is_https())
        .same_site(SameSite::Lax)
        .build()
}

/// A cookie that tells the browser to forget `base`.
pub fn removal(config: &Config, base: &'static str) -> Cookie<'static> {
    let mut cookie = build(config, base, String::new());
    cookie.make_removal();
    cookie
}
