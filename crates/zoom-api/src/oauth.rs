//! OAuth for a user-managed Zoom app: authorize URL (with `state` and PKCE S256), code
//! exchange, refresh and revoke, all with HTTP Basic client authentication.
//!
//! Built on reqwest directly rather than the `oauth2` crate: Zoom's token errors carry a
//! `reason` and numeric codes that decide between "reconnect" and "fix the configuration",
//! and every request, OAuth included, must pass through the endpoint table, the shared
//! timeout and the shared error mapping (`transport.rs`).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore;
use rand::rngs::OsRng;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use url::Url;

use crate::clock::Clock;
use crate::config::{ZoomConfig, join};
use crate::error::{Error, describe_json_error};
use crate::scopes::ScopeSet;
use crate::tokens::{AccessToken, RefreshToken};
use crate::transport::{Auth, Body, Call, Transport, endpoint};

pub use crate::transport::basic_auth_value;

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The `state` value of one authorization: 256 random bits, to be stored server-side bound
/// to the user's session and compared (in constant time) when Zoom redirects back.
#[derive(Clone)]
pub struct CsrfState(SecretString);

impl CsrfState {
    pub fn new_random() -> Self {
        Self(SecretString::from(random_token()))
    }

    pub fn from_string(value: impl Into<String>) -> Self {
        Self(SecretString::from(value.into()))
    }

    pub fn secret(&self) -> &str {
        self.0.expose_secret()
    }

    /// Constant-time comparison with the `state` Zoom sent back.
    pub fn matches(&self, returned: &str) -> bool {
        bool::from(self.secret().as_bytes().ct_eq(returned.as_bytes()))
    }
}

impl fmt::Debug for CsrfState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CsrfState([redacted])")
    }
}

/// A PKCE code verifier (RFC 7636): 32 bytes from the OS CSPRNG, base64url without padding
/// (43 characters). Kept server-side until the code exchange.
#[derive(Clone)]
pub struct PkceVerifier(SecretString);

impl PkceVerifier {
    pub fn new_random() -> Self {
        Self(SecretString::from(random_token()))
    }

    pub fn from_string(value: impl Into<String>) -> Self {
        Self(SecretString::from(value.into()))
    }

    pub fn secret(&self) -> &str {
        self.0.expose_secret()
    }

    /// The S256 challenge for the authorize URL.
    pub fn challenge_s256(&self) -> String {
        pkce_challenge_s256(self.secret())
    }
}

impl fmt::Debug for PkceVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PkceVerifier([redacted])")
    }
}

/// `base64url(SHA-256(verifier))` without padding (RFC 7636 §4.2).
pub fn pkce_challenge_s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// What to store before redirecting the user to Zoom, and where to redirect them.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    pub url: Url,
    pub state: CsrfState,
    pub pkce_verifier: PkceVerifier,
}

/// Tokens from a code exchange or refresh, with the expiry made absolute at receipt.
#[derive(Debug, Clone)]
pub struct TokenSet {
    pub access_token: AccessToken,
    /// Replaces the previous refresh token, which Zoom has now invalidated: store it before
    /// doing anything else.
    pub refresh_token: RefreshToken,
    pub token_type: String,
    pub expires_at: DateTime<Utc>,
    pub scopes: ScopeSet,
    /// The API host serving this user's region, when Zoom says (`https://api.zoom.us` always works).
    pub api_url: Option<String>,
}

impl TokenSet {
    /// True when the access token expires within `margin` of `now`.
    pub fn expires_within(&self, now: DateTime<Utc>, margin: chrono::Duration) -> bool {
        self.expires_at - margin <= now
    }
}

#[derive(Deserialize)]
struct RawTokenResponse {
    access_token: Option<String>,
    refresh_token: Option<String>,
    token_type: Option<String>,
    expires_in: Option<Value>,
    scope: Option<String>,
    api_url: Option<String>,
}

/// Parses a 200 token response received at `now`.
pub fn parse_token_response(body: &[u8], now: DateTime<Utc>) -> Result<TokenSet, Error> {
    let unexpected = |detail: String| Error::UnexpectedResponse {
        status: 200,
        detail,
    };
    let raw: RawTokenResponse =
        serde_json::from_slice(body).map_err(|e| unexpected(describe_json_error(&e)))?;
    let access_token = raw
        .access_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| unexpected("token response without access_token".into()))?;
    let refresh_token = raw
        .refresh_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| unexpected("token response without refresh_token".into()))?;
    let expires_in = match raw.expires_in {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|s| *s >= 0)
    .ok_or_else(|| unexpected("token response without a valid expires_in".into()))?;
    let expires_at = chrono::Duration::try_seconds(expires_in)
        .and_then(|d| now.checked_add_signed(d))
        .ok_or_else(|| unexpected("expires_in out of range".into()))?;
    Ok(TokenSet {
        access_token: AccessToken::new(access_token),
        refresh_token: RefreshToken::new(refresh_token),
        token_type: raw.token_type.unwrap_or_else(|| "bearer".into()),
        expires_at,
        scopes: ScopeSet::parse(raw.scope.as_deref().unwrap_or("")),
        api_url: raw.api_url,
    })
}

/// Zoom's OAuth endpoints for one app.
#[derive(Debug, Clone)]
pub struct OAuthClient {
    config: ZoomConfig,
    transport: Transport,
}

impl OAuthClient {
    pub fn new(config: ZoomConfig, http: reqwest::Client) -> Self {
        Self {
            config,
            transport: Transport::new(http),
        }
    }

    /// The clock whose `now` turns `expires_in` into [`TokenSet::expires_at`].
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.transport.clock = clock;
        self
    }

    /// Per-request timeout (default 10 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.transport.timeout = timeout;
        self
    }

    pub fn config(&self) -> &ZoomConfig {
        &self.config
    }

    /// A fresh authorization: new random `state` and PKCE verifier, and the URL to send the
    /// user's browser to. No `scope` parameter: Zoom takes the scopes configured on the app
    /// and has rejected URL scopes with "Invalid scope" (contract §1.1).
    pub fn authorize_url(&self) -> Result<AuthorizationRequest, Error> {
        let state = CsrfState::new_random();
        let pkce_verifier = PkceVerifier::new_random();
        let url = self.authorize_url_with(&state, &pkce_verifier)?;
        Ok(AuthorizationRequest {
            url,
            state,
            pkce_verifier,
        })
    }

    /// The authorize URL for a given `state` and verifier.
    pub fn authorize_url_with(
        &self,
        state: &CsrfState,
        verifier: &PkceVerifier,
    ) -> Result<Url, Error> {
        let ep = endpoint("GET", "/oauth/authorize")?;
        let mut url = join(&self.config.oauth_base, ep.path).map_err(|e| Error::Transport {
            detail: format!("bad OAuth base URL: {e}"),
        })?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", self.config.redirect_url.as_str())
            .append_pair("state", state.secret())
            .append_pair("code_challenge", &verifier.challenge_s256())
            .append_pair("code_challenge_method", "S256");
        Ok(url)
    }

    /// Exchanges the authorization code from the callback. Call only after checking `state`.
    pub async fn exchange_code(
        &self,
        code: &str,
        verifier: &PkceVerifier,
    ) -> Result<TokenSet, Error> {
        let form = vec![
            ("grant_type", SecretString::from("authorization_code")),
            ("code", SecretString::from(code.to_owned())),
            (
                "redirect_uri",
                SecretString::from(self.config.redirect_url.as_str().to_owned()),
            ),
            (
                "code_verifier",
                SecretString::from(verifier.secret().to_owned()),
            ),
        ];
        self.token_request(form).await
    }

    /// Exchanges the refresh token for new tokens. Zoom rotates the refresh token: the one
    /// passed in is dead once this succeeds, and may be dead if this fails with
    /// [`Error::Timeout`] or [`Error::Transport`] after the request was sent. Never retried
    /// here.
    pub async fn refresh(&self, refresh_token: &RefreshToken) -> Result<TokenSet, Error> {
        let form = vec![
            ("grant_type", SecretString::from("refresh_token")),
            (
                "refresh_token",
                SecretString::from(refresh_token.expose_secret().to_owned()),
            ),
        ];
        self.token_request(form).await
    }

    /// Revokes the grant (Zoom documents revoking the access token; this also uninstalls
    /// the app for the user and triggers `app_deauthorized`). [`Error::GrantDead`] means
    /// the token was already invalid: for a disconnect, that is done too.
    pub async fn revoke(&self, access_token: &AccessToken) -> Result<(), Error> {
        self.revoke_raw(access_token.expose_secret()).await
    }

    /// Revokes by refresh token, for a connection whose access token has expired. Zoom does
    /// not document this form (contract §1.4: unconfirmed); prefer [`Self::revoke`].
    pub async fn revoke_refresh_token(&self, refresh_token: &RefreshToken) -> Result<(), Error> {
        self.revoke_raw(refresh_token.expose_secret()).await
    }

    async fn revoke_raw(&self, token: &str) -> Result<(), Error> {
        let call = Call {
            endpoint: endpoint("POST", "/oauth/revoke")?,
            path_params: Vec::new(),
            query: Vec::new(),
            // In the form body, not the query string: tokens never go into URLs.
            body: Body::Form(vec![("token", SecretString::from(token.to_owned()))]),
            auth: self.basic(),
        };
        self.transport.send(&self.config.oauth_base, &call).await?;
        Ok(())
    }

    async fn token_request(
        &self,
        form: Vec<(&'static str, SecretString)>,
    ) -> Result<TokenSet, Error> {
        let call = Call {
            endpoint: endpoint("POST", "/oauth/token")?,
            path_params: Vec::new(),
            query: Vec::new(),
            body: Body::Form(form),
            auth: self.basic(),
        };
        let resp = self.transport.send(&self.config.oauth_base, &call).await?;
        // "now" is taken at receipt, so the expiry errs early rather than late.
        parse_token_response(&resp.body, self.transport.now())
    }

    fn basic(&self) -> Auth<'_> {
        Auth::Basic {
            client_id: &self.config.client_id,
            client_secret: &self.config.client_secret,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn rfc_7636_vector() {
        assert_eq!(
            pkce_challenge_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn random_verifiers_are_43_url_safe_chars_and_distinct() {
        let a = PkceVerifier::new_random();
        let b = PkceVerifier::new_random();
        assert_eq!(a.secret().len(), 43);
        assert!(
            a.secret()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_ne!(a.secret(), b.secret());
        assert_ne!(a.challenge_s256(), b.challenge_s256());
        assert_ne!(
            CsrfState::new_random().secret(),
            CsrfState::new_random().secret()
        );
    }

    #[test]
    fn basic_auth_vector_from_zoom_kb() {
        let v = basic_auth_value("Client_ID", &SecretString::from("Client_Secret"));
        assert_eq!(v.expose_secret(), "Basic Q2xpZW50X0lEOkNsaWVudF9TZWNyZXQ=");
    }

    #[test]
    fn state_comparison() {
        let s = CsrfState::from_string("abc");
        assert!(s.matches("abc"));
        assert!(!s.matches("abd"));
        assert!(!s.matches("ab"));
        assert!(!format!("{s:?}").contains("abc"));
    }

    #[test]
    fn token_response_gets_absolute_expiry_and_scope_set() {
        let now = Utc.with_ymd_and_hms(2026, 11, 29, 2, 0, 0).unwrap();
        let body = br#"{"access_token":"ZCANARY_AT_1","token_type":"bearer","refresh_token":"ZCANARY_RT_1","expires_in":3599,"scope":"meeting:read meeting:write user:read","api_url":"https://api.zoom.us"}"#;
        let t = parse_token_response(body, now).unwrap();
        assert_eq!(t.expires_at, now + chrono::Duration::seconds(3599));
        assert_eq!(
            t.scopes,
            ScopeSet::parse("user:read meeting:write meeting:read")
        );
        assert_eq!(t.access_token.expose_secret(), "ZCANARY_AT_1");
        assert_eq!(t.api_url.as_deref(), Some("https://api.zoom.us"));
        assert!(t.expires_within(
            now + chrono::Duration::seconds(3000),
            chrono::Duration::minutes(15)
        ));
        assert!(!t.expires_within(now, chrono::Duration::minutes(15)));
        let dbg = format!("{t:?}");
        assert!(!dbg.contains("ZCANARY"), "{dbg}");
    }

    #[test]
    fn malformed_token_responses_do_not_echo_the_body() {
        let now = Utc::now();
        for body in [
            &br#"{"access_token":"ZCANARY_AT_2","expires_in":3599}"#[..],
            br#"{"access_token":"ZCANARY_AT_2","refresh_token":"r","expires_in":"soon"}"#,
            br#"{"access_token":["ZCANARY_AT_2"]}"#,
            b"ZCANARY_AT_2",
        ] {
            let e = parse_token_response(body, now).unwrap_err();
            assert!(matches!(e, Error::UnexpectedResponse { .. }), "{e:?}");
            assert!(!e.to_string().contains("ZCANARY"), "{e}");
        }
    }

    #[test]
    fn authorize_url_carries_state_and_s256_challenge() {
        let cfg = ZoomConfig::new(
            "my client",
            SecretString::from("ZCANARY_CS"),
            Url::parse("https://crm.example/zoom/callback").unwrap(),
        );
        let client = OAuthClient::new(cfg, reqwest::Client::new());
        let state = CsrfState::from_string("st8");
        let verifier = PkceVerifier::from_string("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        let url = client.authorize_url_with(&state, &verifier).unwrap();
        assert_eq!(
            url.as_str(),
            "https://zoom.us/oauth/authorize?response_type=code&client_id=my+client\
             &redirect_uri=https%3A%2F%2Fcrm.example%2Fzoom%2Fcallback&state=st8\
             &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
        );
        let fresh = client.authorize_url().unwrap();
        assert!(fresh.url.as_str().contains(fresh.state.secret()));
        assert!(!fresh.url.as_str().contains(fresh.pkce_verifier.secret()));
        assert!(!fresh.url.as_str().contains("ZCANARY"));
        assert!(!format!("{client:?}").contains("ZCANARY"));
        assert!(!format!("{fresh:?}").contains(fresh.pkce_verifier.secret()));
    }
}
