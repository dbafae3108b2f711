//! A typed client for the parts of Zoom that Rapport uses: OAuth for a user-managed app
//! ([`oauth`]), the user and meeting REST endpoints ([`ZoomClient`]), webhook verification
//! and events ([`webhook`]), Zoom's error codes as one actionable [`Error`], rate-limit
//! aware retries ([`retry`]), and the table of every endpoint the app calls with its scopes
//! and reasons ([`endpoints`]).
//!
//! HTTP goes through reqwest directly (not the `oauth2` crate): see [`oauth`] for why.
//! Credentials travel only in the `Authorization` header or a form body, never in URLs,
//! and never appear in `Debug` output or error messages.

pub mod clock;
pub mod config;
mod de;
pub mod endpoints;
pub mod error;
pub mod meetings;
pub mod oauth;
pub mod retry;
pub mod scopes;
pub mod tokens;
pub mod users;
pub mod webhook;

mod client;
mod transport;

pub use client::ZoomClient;
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{DEFAULT_API_BASE, DEFAULT_OAUTH_BASE, ZoomConfig};
pub use de::format_zoom_utc;
pub use error::{Error, FieldError, RateLimitKind, UnknownOutcome};
pub use oauth::{AuthorizationRequest, CsrfState, OAuthClient, PkceVerifier, TokenSet};
pub use retry::RetryPolicy;
pub use scopes::ScopeSet;
pub use tokens::{AccessToken, RefreshToken};
pub use transport::{DEFAULT_TIMEOUT, MAX_IN_FLIGHT, http_client};
