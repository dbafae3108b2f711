//! OAuth: authorization codes, the token endpoint (code exchange, strictly rotating
//! refresh) and revocation, per contract §1.

use crate::config::{AppConfig, Plan};
use crate::ids;
use crate::model::{AccessToken, Code, Grant};
use crate::state::{Inner, SimError, SimState};
use crate::webhook::Outgoing;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use subtle::ConstantTimeEq;

/// A consent decision made programmatically (the `/_sim/authorize` shortcut).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthorizeRequest {
    pub email: String,
    /// Plan for a user created by this sign-in; ignored for existing users.
    pub plan: Option<Plan>,
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    /// True: the user clicks "Decline".
    pub decline: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuthorizeOutcome {
    /// None when declined.
    pub code: Option<String>,
    /// Where the browser is sent: `redirect_uri?code=...&state=...` or `?error=access_denied&state=...`.
    pub redirect_url: String,
    pub user_id: String,
}

/// Problems with an authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AuthorizeProblem {
    /// Shown on an error page: never redirect to an unverified URL.
    Page(String),
    /// Redirected back to the (verified) redirect URI as `?error=...`.
    Redirect {
        error: &'static str,
        description: String,
    },
}

pub(crate) fn validate_authorize(
    app: Option<&AppConfig>,
    response_type: Option<&str>,
    redirect_uri: Option<&str>,
    code_challenge: Option<&str>,
    method: Option<&str>,
) -> Result<(), AuthorizeProblem> {
    let Some(app) = app else {
        return Err(AuthorizeProblem::Page(
            "Invalid client_id (4702): no app with this client ID.".into(),
        ));
    };
    let Some(redirect_uri) = redirect_uri.filter(|r| !r.is_empty()) else {
        return Err(AuthorizeProblem::Page("Missing redirect_uri.".into()));
    };
    if !app.redirect_urls.iter().any(|r| r == redirect_uri) {
        return Err(AuthorizeProblem::Page(
            "Redirect URI mismatch (4709): the redirect_uri is not on the app's allow list.".into(),
        ));
    }
    if response_type != Some("code") {
        return Err(AuthorizeProblem::Redirect {
            error: "unsupported_response_type",
            description: "response_type must be code".into(),
        });
    }
    if let Some(m) = method
        && m != "plain"
        && m != "S256"
    {
        return Err(AuthorizeProblem::Redirect {
            error: "invalid_request",
            description: "code_challenge_method must be plain or S256".into(),
        });
    }
    if method.is_some() && code_challenge.is_none_or(str::is_empty) {
        return Err(AuthorizeProblem::Redirect {
            error: "invalid_request",
            description: "code_challenge is missing".into(),
        });
    }
    Ok(())
}

/// `base?k=v&...`, keeping any query the registered redirect URL already has.
pub(crate) fn redirect_with(base: &str, params: &[(&str, &str)]) -> String {
    match url::Url::parse(base) {
        Ok(mut u) => {
            {
                let mut q = u.query_pairs_mut();
                for (k, v) in params {
                    q.append_pair(k, v);
                }
            }
            u.to_string()
        }
        Err(_) => {
            let q = serde_urlencoded::to_string(params).unwrap_or_default();
            let sep = if base.contains('?') { '&' } else { '?' };
            format!("{base}{sep}{q}")
        }
    }
}

impl SimState {
    /// Performs the consent step as if the user signed in and clicked Allow (or Decline).
    pub fn authorize(&self, req: AuthorizeRequest) -> Result<AuthorizeOutcome, SimError> {
        let app = self.app(&req.client_id);
        let method = req.code_challenge.as_ref().map(|_| {
            req.code_challenge_method
                .clone()
                .unwrap_or_else(|| "plain".into())
        });
        match validate_authorize(
            app.as_ref(),
            Some("code"),
            Some(&req.redirect_uri),
            req.code_challenge.as_deref(),
            method.as_deref(),
        ) {
            Ok(()) => {}
            Err(AuthorizeProblem::Page(m)) => {
                return Err(if app.is_none() {
                    SimError::UnknownClient
                } else if m.contains("4709") {
                    SimError::RedirectMismatch
                } else {
                    SimError::InvalidRequest(m)
                });
            }
            Err(AuthorizeProblem::Redirect { description, .. }) => {
                return Err(SimError::InvalidRequest(description));
            }
        }
        if req.email.trim().is_empty() || !req.email.contains('@') {
            return Err(SimError::InvalidRequest("email is required".into()));
        }
        let now = self.now();
        let mut g = self.lock();
        let user = g.ensure_user(&req.email, req.plan, now);
        let state = req.state.clone().unwrap_or_default();
        if req.decline {
            let mut params = vec![("error", "access_denied")];
            if req.state.is_some() {
                params.push(("state", state.as_str()));
            }
            return Ok(AuthorizeOutcome {
                code: None,
                redirect_url: redirect_with(&req.redirect_uri, &params),
                user_id: user.id,
            });
        }
        let code = ids::alnum(32);
        let expires_at = now + Duration::seconds(g.config.code_secs);
        // Codes are short-lived; drop stale ones so the map does not grow forever.
        let g2 = &mut *g;
        crate::prune::maybe_prune(&mut g2.data.codes, &mut g2.prune_codes, |_, c| {
            c.expires_at + Duration::hours(1) > now
        });
        g.data.codes.insert(
            code.clone(),
            Code {
                code: code.clone(),
                client_id: req.client_id.clone(),
                user_id: user.id.clone(),
                redirect_uri: req.redirect_uri.clone(),
                code_challenge: req.code_challenge.clone().filter(|c| !c.is_empty()),
                code_challenge_method: method.unwrap_or_else(|| "plain".into()),
                expires_at,
                used: false,
                grant_id: None,
            },
        );
        drop(g);
        self.changed();
        let mut params = vec![("code", code.as_str())];
        if req.state.is_some() {
            params.push(("state", state.as_str()));
        }
        Ok(AuthorizeOutcome {
            code: Some(code.clone()),
            redirect_url: redirect_with(&req.redirect_uri, &params),
            user_id: user.id,
        })
    }

    /// Makes a grant's refresh token expired (as if its lifetime ran out).
    /// Filters: by user email and/or client id; none matches every grant.
    pub fn expire_refresh_tokens(&self, email: Option<&str>, client_id: Option<&str>) -> usize {
        let now = self.now();
        let mut g = self.lock();
        let ids = matching_grants(&g, email, client_id);
        for id in &ids {
            if let Some(gr) = g.data.grants.get_mut(id) {
                gr.refresh_expires_at = now - Duration::seconds(1);
            }
        }
        drop(g);
        self.changed();
        ids.len()
    }

    /// Kills matching grants as Zoom would on uninstall; `notify` sends `app_deauthorized`.
    pub fn revoke_grants(
        &self,
        email: Option<&str>,
        client_id: Option<&str>,
        notify: bool,
    ) -> usize {
        let now = self.now();
        let mut g = self.lock();
        let ids = matching_grants(&g, email, client_id);
        let mut out = Vec::new();
        let mut n = 0;
        for id in &ids {
            if g.revoke_grant(id, "killed by control API", now) {
                n += 1;
                if notify && let Some(o) = deauthorized_event(&g, id, now) {
                    out.push(o);
                }
            }
        }
        drop(g);
        self.changed();
        self.dispatch(out);
        n
    }

    /// The user removes the app in their Zoom account: every grant of theirs for it dies
    /// and the app receives `app_deauthorized`.
    pub fn remove_app_for_user(&self, user_id: &str, client_id: &str) -> usize {
        let email = self.lock().data.users.get(user_id).map(|u| u.email.clone());
        match email {
            Some(e) => self.revoke_grants(Some(&e), Some(client_id), true),
            None => 0,
        }
    }
}

fn matching_grants(g: &Inner, email: Option<&str>, client_id: Option<&str>) -> Vec<String> {
    let user_id = email.map(|e| g.user_by_email(e).map(|u| u.id.clone()).unwrap_or_default());
    g.data
        .grants
        .values()
        .filter(|gr| gr.active())
        .filter(|gr| user_id.as_ref().is_none_or(|u| &gr.user_id == u))
        .filter(|gr| client_id.is_none_or(|c| gr.client_id == c))
        .map(|gr| gr.id.clone())
        .collect()
}

pub(crate) fn deauthorized_event(
    g: &Inner,
    grant_id: &str,
    now: DateTime<Utc>,
) -> Option<Outgoing> {
    let gr = g.data.grants.get(grant_id)?;
    let app = g.data.apps.get(&gr.client_id)?.clone();
    let user = g.data.users.get(&gr.user_id)?;
    let signature = hex::encode(Sha256::digest(ids::alnum(32).as_bytes()));
    Some(Outgoing {
        app,
        event: "app_deauthorized".into(),
        payload: json!({
            "account_id": user.account_id,
            "user_id": user.id,
            "signature": signature,
            "deauthorization_time": now.to_rfc3339_opts(SecondsFormat::Millis, true),
            "client_id": gr.client_id,
        }),
    })
}

// ---- HTTP: /oauth/token and /oauth/revoke ----

#[derive(Debug, Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    refresh_token: String,
    expires_in: i64,
    scope: String,
    api_url: String,
}

pub(crate) struct OAuthError {
    status: StatusCode,
    reason: String,
    error: &'static str,
}

impl OAuthError {
    fn new(reason: &str, error: &'static str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            reason: reason.into(),
            error,
        }
    }
    fn invalid_token() -> Self {
        Self::new("Invalid Token!", "invalid_grant")
    }
    fn invalid_client() -> Self {
        Self::new("Invalid client_id or client_secret", "invalid_client")
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({"reason": self.reason, "error": self.error})),
        )
            .into_response()
    }
}

/// Query parameters and a form body, merged (the body wins): Zoom accepts either.
pub(crate) fn merged_params(query: Option<&str>, body: &[u8]) -> HashMap<String, String> {
    let mut map: HashMap<String, String> = HashMap::new();
    if let Some(q) = query
        && let Ok(pairs) = serde_urlencoded::from_str::<Vec<(String, String)>>(q)
    {
        map.extend(pairs);
    }
    if let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body) {
        map.extend(pairs);
    }
    map
}

fn client_from_basic(state: &SimState, headers: &HeaderMap) -> Result<AppConfig, OAuthError> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(OAuthError::invalid_client)?;
    let (scheme, b64) = value
        .trim()
        .split_once(' ')
        .ok_or_else(OAuthError::invalid_client)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_client());
    }
    let decoded = STANDARD
        .decode(b64.trim())
        .map_err(|_| OAuthError::invalid_client())?;
    let decoded = String::from_utf8(decoded).map_err(|_| OAuthError::invalid_client())?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or_else(OAuthError::invalid_client)?;
    let app = state.app(id).ok_or_else(OAuthError::invalid_client)?;
    if !bool::from(app.client_secret.as_bytes().ct_eq(secret.as_bytes())) {
        return Err(OAuthError::invalid_client());
    }
    Ok(app)
}

pub(crate) async fn token(
    State(state): State<SimState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = merged_params(query.as_deref(), &body);
    let app = match client_from_basic(&state, &headers) {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let result = match params.get("grant_type").map(String::as_str) {
        Some("authorization_code") => state.exchange_code(&app, &params),
        Some("refresh_token") => {
            state.refresh(&app, params.get("refresh_token").map(String::as_str))
        }
        Some(_) => Err(OAuthError::new(
            "Unsupported grant type",
            "unsupported_grant_type",
        )),
        None => Err(OAuthError::new("Missing grant type", "invalid_request")),
    };
    match result {
        Ok(t) => {
            state.changed();
            (StatusCode::OK, Json(t)).into_response()
        }
        Err(e) => e.into_response(),
    }
}

fn pkce_ok(challenge: &str, method: &str, verifier: &str) -> bool {
    let challenge = challenge.trim_end_matches('=');
    match method {
        "S256" => {
            let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            bool::from(computed.as_bytes().ct_eq(challenge.as_bytes()))
        }
        _ => bool::from(verifier.as_bytes().ct_eq(challenge.as_bytes())),
    }
}

impl SimState {
    fn exchange_code(
        &self,
        app: &AppConfig,
        params: &HashMap<String, String>,
    ) -> Result<TokenResponse, OAuthError> {
        let now = self.now();
        let base = self.base_url();
        let mut g = self.lock();
        let code_value = params.get("code").map(String::as_str).unwrap_or("");
        let Some(code) = g.data.codes.get(code_value).cloned() else {
            return Err(OAuthError::new(
                "Invalid authorization code",
                "invalid_grant",
            ));
        };
        if code.client_id != app.client_id {
            return Err(OAuthError::new(
                "Invalid authorization code",
                "invalid_grant",
            ));
        }
        if code.used {
            // RFC 6749 §4.1.2: a replayed code revokes what it produced.
            if let Some(gid) = &code.grant_id {
                g.revoke_grant(gid, "authorization code reused", now);
            }
            return Err(OAuthError::new(
                "Invalid authorization code",
                "invalid_grant",
            ));
        }
        if code.expires_at <= now {
            return Err(OAuthError::new("Code is expired", "invalid_grant"));
        }
        if params.get("redirect_uri").map(String::as_str) != Some(code.redirect_uri.as_str()) {
            return Err(OAuthError::new("Redirect URI mismatch.", "invalid_request"));
        }
        if let Some(challenge) = &code.code_challenge {
            let verifier = params
                .get("code_verifier")
                .map(String::as_str)
                .unwrap_or("");
            if verifier.is_empty() || !pkce_ok(challenge, &code.code_challenge_method, verifier) {
                return Err(OAuthError::new("Invalid code_verifier", "invalid_grant"));
            }
        }
        if !g.data.users.contains_key(&code.user_id) {
            return Err(OAuthError::new(
                "Token owner does not exist",
                "invalid_grant",
            ));
        }
        // A new authorization by the same user invalidates the app's earlier grants (4741).
        let older: Vec<String> = g
            .data
            .grants
            .values()
            .filter(|gr| gr.active() && gr.user_id == code.user_id && gr.client_id == app.client_id)
            .map(|gr| gr.id.clone())
            .collect();
        for id in older {
            g.revoke_grant(&id, "superseded by a new authorization", now);
        }
        let access = ids::token("at_");
        let refresh = ids::token("rt_");
        let grant = Grant {
            id: uuid::Uuid::new_v4().to_string(),
            client_id: app.client_id.clone(),
            user_id: code.user_id.clone(),
            scopes: app.scopes.clone(),
            created_at: now,
            access_tokens: vec![AccessToken {
                token: access.clone(),
                expires_at: now + Duration::seconds(g.config.access_token_secs),
            }],
            refresh_token: refresh.clone(),
            refresh_expires_at: now + Duration::days(g.config.refresh_token_days),
            used_refresh_tokens: Vec::new(),
            refresh_count: 0,
            revoked_at: None,
            revoked_reason: None,
        };
        g.access_index.insert(access.clone(), grant.id.clone());
        g.refresh_index.insert(refresh.clone(), grant.id.clone());
        if let Some(c) = g.data.codes.get_mut(code_value) {
            c.used = true;
            c.grant_id = Some(grant.id.clone());
        }
        let expires_in = g.config.expires_in;
        let scope = grant.scopes.join(" ");
        g.data.grants.insert(grant.id.clone(), grant);
        Ok(TokenResponse {
            access_token: access,
            token_type: "bearer",
            refresh_token: refresh,
            expires_in,
            scope,
            api_url: base,
        })
    }

    fn refresh(
        &self,
        app: &AppConfig,
        presented: Option<&str>,
    ) -> Result<TokenResponse, OAuthError> {
        let now = self.now();
        let base = self.base_url();
        let mut g = self.lock();
        let presented = presented.unwrap_or("");
        let Some(grant_id) = g.refresh_index.get(presented).cloned() else {
            return Err(OAuthError::invalid_token());
        };
        let kill_on_reuse = g.config.refresh_reuse_kills_grant;
        let access_secs = g.config.access_token_secs;
        let refresh_days = g.config.refresh_token_days;
        let expires_in = g.config.expires_in;
        let Some(grant) = g.data.grants.get_mut(&grant_id) else {
            return Err(OAuthError::invalid_token());
        };
        if grant.client_id != app.client_id || !grant.active() {
            return Err(OAuthError::invalid_token());
        }
        if grant.refresh_token != presented {
            if kill_on_reuse {
                g.revoke_grant(&grant_id, "rotated refresh token reused", now);
            }
            return Err(OAuthError::invalid_token());
        }
        if grant.refresh_expires_at <= now {
            return Err(OAuthError::invalid_token());
        }
        let access = ids::token("at_");
        let refresh = ids::token("rt_");
        let old_access: Vec<String> = grant
            .access_tokens
            .iter()
            .filter(|t| t.expires_at <= now)
            .map(|t| t.token.clone())
            .collect();
        grant.access_tokens.retain(|t| t.expires_at > now);
        grant.access_tokens.push(AccessToken {
            token: access.clone(),
            expires_at: now + Duration::seconds(access_secs),
        });
        grant
            .used_refresh_tokens
            .push(std::mem::replace(&mut grant.refresh_token, refresh.clone()));
        grant.refresh_expires_at = now + Duration::days(refresh_days);
        grant.refresh_count += 1;
        let scope = grant.scopes.join(" ");
        for t in old_access {
            g.access_index.remove(&t);
        }
        g.access_index.insert(access.clone(), grant_id.clone());
        g.refresh_index.insert(refresh.clone(), grant_id);
        Ok(TokenResponse {
            access_token: access,
            token_type: "bearer",
            refresh_token: refresh,
            expires_in,
            scope,
            api_url: base,
        })
    }
}

pub(crate) async fn revoke(
    State(state): State<SimState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = merged_params(query.as_deref(), &body);
    let app = match client_from_basic(&state, &headers) {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let token = params.get("token").map(String::as_str).unwrap_or("");
    let now = state.now();
    let mut g = state.lock();
    let grant_id = g
        .access_index
        .get(token)
        .or_else(|| g.refresh_index.get(token))
        .cloned();
    let Some(grant_id) = grant_id else {
        return OAuthError::new("Invalid Token!", "invalid_request").into_response();
    };
    let valid = g.data.grants.get(&grant_id).is_some_and(|gr| {
        gr.client_id == app.client_id
            && gr.active()
            && (gr.refresh_token == token
                || gr
                    .access_tokens
                    .iter()
                    .any(|t| t.token == token && t.expires_at > now))
    });
    if !valid {
        return OAuthError::new("Invalid Token!", "invalid_request").into_response();
    }
    g.revoke_grant(&grant_id, "revoked by the app", now);
    let out: Vec<Outgoing> = deauthorized_event(&g, &grant_id, now).into_iter().collect();
    drop(g);
    state.changed();
    state.dispatch(out);
    (StatusCode::OK, Json(json!({"status": "success"}))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_rfc7636_vector_padded_or_not() {
        let v = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(pkce_ok(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "S256",
            v
        ));
        assert!(pkce_ok(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM=",
            "S256",
            v
        ));
        assert!(!pkce_ok(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cX",
            "S256",
            v
        ));
        assert!(pkce_ok("plain-verifier", "plain", "plain-verifier"));
        assert!(!pkce_ok("plain-verifier", "plain", "other"));
    }

    #[test]
    fn redirect_keeps_existing_query_and_encodes() {
        let u = redirect_with(
            "https://app.example/cb?x=1",
            &[("code", "a b"), ("state", "s&t")],
        );
        assert_eq!(u, "https://app.example/cb?x=1&code=a+b&state=s%26t");
    }
}
