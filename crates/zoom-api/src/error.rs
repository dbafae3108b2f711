//! One error type for every Zoom call, shaped by what the caller must do next.
//!
//! Messages never contain tokens, secrets or response bodies that could carry them:
//! Zoom's own `message` text is kept (it names codes and scopes, not credentials) after
//! removing any credential the request carried, and decoding errors report only where
//! the body was malformed, never its content.

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::Value;

use crate::retry::{next_utc_midnight, parse_retry_after};

/// What went wrong with a Zoom call.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Zoom refused the authorization code or refresh token for good (`invalid_grant`,
    /// "Invalid Token!", `invalid_request`, a revoked/expired/used grant). The user must
    /// connect Zoom again; never retry.
    #[error("the Zoom connection needs to be reconnected: Zoom refused the grant ({reason})")]
    GrantDead { reason: String },

    /// Zoom rejected the app's client id or secret: a configuration problem.
    #[error("Zoom rejected the app's client id or client secret")]
    InvalidClient,

    /// Code 124 (or HTTP 401): the access token is expired or otherwise invalid. Refresh once
    /// and retry once.
    #[error("the Zoom access token is {}", if *expired { "expired" } else { "invalid" })]
    AccessTokenInvalid { expired: bool },

    /// Code 4711: the grant lacks scopes; the user must reconnect after the app's scopes change.
    #[error("the Zoom access token lacks the scopes {}", scopes.join(", "))]
    MissingScopes { scopes: Vec<String> },

    /// Code 3001 (meeting) or 1001 (user): gone. For a delete this means "already deleted".
    #[error("not found in Zoom (code {code})")]
    NotFound { code: i64 },

    /// Code 3002: the meeting is in progress and cannot be deleted now.
    #[error("the Zoom meeting is in progress")]
    MeetingInProgress,

    /// Code 3007: the meeting has ended and cannot be deleted.
    #[error("the Zoom meeting has already ended")]
    MeetingEnded,

    /// Code 300 or a body with field errors: the request itself was wrong.
    #[error("Zoom rejected the request: {message}")]
    Validation {
        message: String,
        errors: Vec<FieldError>,
    },

    /// HTTP 429. Per-second limits were already retried (idempotent calls only); daily limits
    /// are never retried here: `retry_at` says when Zoom allows the next attempt.
    #[error("Zoom rate limit reached ({kind:?}){}", retry_at.map(|t| format!(", retry after {}", t.to_rfc3339())).unwrap_or_default())]
    RateLimited {
        kind: RateLimitKind,
        retry_at: Option<DateTime<Utc>>,
    },

    /// HTTP 5xx (after retries, for idempotent calls).
    #[error("Zoom answered with server error {status}")]
    Server { status: u16 },

    /// The request could not be delivered or the connection failed.
    #[error("could not reach Zoom: {detail}")]
    Transport { detail: String },

    /// No answer within the configured timeout.
    #[error("Zoom did not answer in time")]
    Timeout,

    /// A meeting create was sent but its outcome is unknown (timeout, connection lost, a 5xx
    /// or an unreadable 201). Zoom may have created the meeting: reconcile by listing the
    /// user's meetings; never re-send the create blindly.
    #[error(
        "the Zoom meeting may or may not have been created ({cause}); reconcile before trying again"
    )]
    CreateOutcomeUnknown { cause: UnknownOutcome },

    /// Any other answer Zoom gave.
    #[error("Zoom answered HTTP {status}{}: {message}", code.map(|c| format!(" code {c}")).unwrap_or_default())]
    Other {
        status: u16,
        code: Option<i64>,
        message: String,
    },

    /// A success answer whose body did not have the documented shape.
    #[error("Zoom's answer (HTTP {status}) could not be read: {detail}")]
    UnexpectedResponse { status: u16, detail: String },

    /// A bug in this crate: a request for an endpoint missing from [`crate::endpoints::ENDPOINTS`].
    #[error("internal error: {method} {path} is not in the endpoint table")]
    UnlistedEndpoint {
        method: &'static str,
        path: &'static str,
    },
}

impl Error {
    /// The user has to connect Zoom again before anything else works.
    pub fn needs_reconnect(&self) -> bool {
        matches!(self, Error::GrantDead { .. } | Error::MissingScopes { .. })
    }

    /// A later attempt of the same call may succeed without anyone changing anything.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Error::RateLimited { .. }
                | Error::Server { .. }
                | Error::Transport { .. }
                | Error::Timeout
        )
    }
}

/// Which of Zoom's rate limits was hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitKind {
    /// Requests per second for the endpoint's label (account wide).
    PerSecond,
    /// The account's daily quota for the endpoint's label.
    Daily,
    /// 100 meeting create/update requests per user per UTC day.
    UserDailyMeetingLimit,
}

/// Why a create's outcome is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UnknownOutcome {
    #[error("no answer in time")]
    Timeout,
    #[error("connection lost after the request was sent")]
    ConnectionLost,
    #[error("server error {status}")]
    ServerError { status: u16 },
    #[error("the success answer could not be read")]
    UnreadableResponse,
}

/// One entry of Zoom's `errors` array on validation failures.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FieldError {
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub message: String,
}

const MAX_MESSAGE_CHARS: usize = 500;

/// Removes every credential the request carried from text Zoom sent back, and bounds its size.
pub(crate) fn sanitize(message: &str, secrets: &[&str]) -> String {
    // Redact before truncating, so a credential cut by the limit cannot leave its prefix.
    let mut out = message.to_owned();
    for secret in secrets {
        if !secret.is_empty() {
            out = out.replace(secret, "[redacted]");
        }
    }
    out.chars().take(MAX_MESSAGE_CHARS).collect()
}

/// Fields of Zoom's error bodies, REST (`code`, `message`, `errors`) and OAuth
/// (`reason`, `error`), read leniently: Zoom is not consistent about types.
#[derive(Debug, Default)]
struct ErrorBody {
    code: Option<i64>,
    message: Option<String>,
    errors: Vec<FieldError>,
    reason: Option<String>,
    error: Option<String>,
}

fn parse_body(body: &[u8]) -> ErrorBody {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
        return ErrorBody::default();
    };
    let text = |k: &str| map.get(k).and_then(Value::as_str).map(str::to_owned);
    let code = map.get("code").and_then(|v| match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    });
    let errors = map
        .get("errors")
        .and_then(|v| serde_json::from_value::<Vec<FieldError>>(v.clone()).ok())
        .unwrap_or_default();
    ErrorBody {
        code,
        message: text("message"),
        errors,
        reason: text("reason"),
        error: text("error"),
    }
}

/// Maps a non-2xx answer from the REST API.
pub(crate) fn from_api_response(
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
    secrets: &[&str],
) -> Error {
    let parsed = parse_body(body);
    let message = sanitize(parsed.message.as_deref().unwrap_or(""), secrets);
    let lower = message.to_ascii_lowercase();

    if status == 429 {
        return rate_limited(headers, &lower, now);
    }
    match parsed.code {
        Some(124) => {
            return Error::AccessTokenInvalid {
                expired: lower.contains("expired"),
            };
        }
        Some(4711) => {
            return Error::MissingScopes {
                scopes: parse_scope_list(&message),
            };
        }
        Some(code @ (3001 | 1001)) => return Error::NotFound { code },
        Some(3002) => return Error::MeetingInProgress,
        Some(3007) => return Error::MeetingEnded,
        _ => {}
    }
    if lower.contains("does not contain scopes") {
        return Error::MissingScopes {
            scopes: parse_scope_list(&message),
        };
    }
    if status == 401 {
        return Error::AccessTokenInvalid {
            expired: lower.contains("expired"),
        };
    }
    if parsed.code == Some(300) || (status == 400 && !parsed.errors.is_empty()) {
        let errors = parsed
            .errors
            .into_iter()
            .map(|e| FieldError {
                field: sanitize(&e.field, secrets),
                message: sanitize(&e.message, secrets),
            })
            .collect();
        return Error::Validation { message, errors };
    }
    if (500..600).contains(&status) {
        return Error::Server { status };
    }
    Error::Other {
        status,
        code: parsed.code,
        message,
    }
}

/// Maps a non-2xx answer from `/oauth/token` or `/oauth/revoke`.
pub(crate) fn from_oauth_response(
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
    secrets: &[&str],
) -> Error {
    let parsed = parse_body(body);
    let reason = sanitize(
        parsed
            .reason
            .as_deref()
            .or(parsed.message.as_deref())
            .unwrap_or(""),
        secrets,
    );
    let error = parsed.error.as_deref().unwrap_or("");
    if status == 429 {
        return rate_limited(headers, &reason.to_ascii_lowercase(), now);
    }
    if (500..600).contains(&status) {
        return Error::Server { status };
    }
    if (400..500).contains(&status) {
        // 4702/4704: invalid client; 4700/4711/4733/4734/4735/4737/4740/4741: the code or
        // token is empty, invalid, expired, revoked or of a deleted user ([OAuth-errors]).
        if error == "invalid_client" || matches!(parsed.code, Some(4702 | 4704)) {
            return Error::InvalidClient;
        }
        let dead_code = matches!(
            parsed.code,
            Some(4700 | 4711 | 4733 | 4734 | 4735 | 4737 | 4740 | 4741)
        );
        if error == "invalid_grant"
            || error == "invalid_request"
            || reason.eq_ignore_ascii_case("Invalid Token!")
            || dead_code
        {
            let reason = if reason.is_empty() {
                error.to_owned()
            } else {
                reason
            };
            return Error::GrantDead { reason };
        }
    }
    let message = if reason.is_empty() {
        sanitize(error, secrets)
    } else {
        reason
    };
    Error::Other {
        status,
        code: parsed.code,
        message,
    }
}

fn rate_limited(headers: &HeaderMap, lower_message: &str, now: DateTime<Utc>) -> Error {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let retry_after = header("retry-after").and_then(|v| parse_retry_after(&v, now));
    let limit_type = header("x-ratelimit-type")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let kind = if lower_message.contains("meeting create/update")
        || lower_message.contains("particular user")
    {
        RateLimitKind::UserDailyMeetingLimit
    } else if limit_type.contains("daily") || lower_message.contains("daily") {
        RateLimitKind::Daily
    } else {
        RateLimitKind::PerSecond
    };
    let retry_at = match kind {
        RateLimitKind::PerSecond => retry_after,
        RateLimitKind::Daily | RateLimitKind::UserDailyMeetingLimit => {
            Some(retry_after.unwrap_or_else(|| next_utc_midnight(now)))
        }
    };
    Error::RateLimited { kind, retry_at }
}

/// Reads `[a, b]` out of "Invalid access token, does not contain scopes:[a, b]."
pub(crate) fn parse_scope_list(message: &str) -> Vec<String> {
    let Some(open) = message.find('[') else {
        return Vec::new();
    };
    let rest = &message[open + 1..];
    let inner = rest.find(']').map_or(rest, |close| &rest[..close]);
    inner
        .split(|c: char| c == ',' || c.is_whitespace())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A short, content-free description of a JSON decoding failure (serde's own messages can
/// quote the input, which may hold a token or a start URL).
pub(crate) fn describe_json_error(e: &serde_json::Error) -> String {
    format!(
        "{:?} error at line {} column {}",
        e.classify(),
        e.line(),
        e.column()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use reqwest::header::{HeaderName, HeaderValue};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 29, 13, 0, 0).unwrap()
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        h
    }

    fn api(status: u16, body: &str) -> Error {
        from_api_response(status, &HeaderMap::new(), body.as_bytes(), now(), &[])
    }

    fn oauth(status: u16, body: &str) -> Error {
        from_oauth_response(status, &HeaderMap::new(), body.as_bytes(), now(), &[])
    }

    #[test]
    fn code_124_expired_and_invalid() {
        assert_eq!(
            api(401, r#"{"code":124,"message":"Access token is expired."}"#),
            Error::AccessTokenInvalid { expired: true }
        );
        assert_eq!(
            api(401, r#"{"code":124,"message":"Invalid access token."}"#),
            Error::AccessTokenInvalid { expired: false }
        );
        assert_eq!(
            api(
                401,
                r#"{"code":124,"message":"Invalid access token, this access token is not supported as query parameter string."}"#
            ),
            Error::AccessTokenInvalid { expired: false }
        );
        assert_eq!(api(401, ""), Error::AccessTokenInvalid { expired: false });
    }

    #[test]
    fn code_4711_lists_the_missing_scopes() {
        assert_eq!(
            api(
                400,
                r#"{"code":4711,"message":"Invalid access token, does not contain scopes:[user:read:list_users:admin]."}"#
            ),
            Error::MissingScopes {
                scopes: vec!["user:read:list_users:admin".into()]
            }
        );
        assert_eq!(
            api(
                400,
                r#"{"code":4711,"message":"Invalid access token, does not contain scopes:[meeting:write:meeting, meeting:write]."}"#
            ),
            Error::MissingScopes {
                scopes: vec!["meeting:write:meeting".into(), "meeting:write".into()]
            }
        );
        // The older documented code for the same condition.
        assert_eq!(
            api(
                400,
                r#"{"code":4700,"message":"Invalid Access Token, does not contain scopes:[meeting:read]"}"#
            ),
            Error::MissingScopes {
                scopes: vec!["meeting:read".into()]
            }
        );
    }

    #[test]
    fn not_found_and_meeting_state_codes() {
        assert_eq!(
            api(
                404,
                r#"{"code":3001,"message":"Meeting does not exist: 123."}"#
            ),
            Error::NotFound { code: 3001 }
        );
        assert_eq!(
            api(404, r#"{"code":1001,"message":"User does not exist: me."}"#),
            Error::NotFound { code: 1001 }
        );
        assert_eq!(
            api(
                400,
                r#"{"code":3002,"message":"Sorry, you cannot delete this meeting since it is in progress."}"#
            ),
            Error::MeetingInProgress
        );
        assert_eq!(
            api(
                400,
                r#"{"code":3007,"message":"Sorry, you cannot delete this meeting since it has ended."}"#
            ),
            Error::MeetingEnded
        );
    }

    #[test]
    fn validation_with_field_errors() {
        assert_eq!(
            api(
                400,
                r#"{"code":300,"message":"Validation Failed.","errors":[{"field":"duration","message":"Invalid field."}]}"#
            ),
            Error::Validation {
                message: "Validation Failed.".into(),
                errors: vec![FieldError {
                    field: "duration".into(),
                    message: "Invalid field.".into()
                }]
            }
        );
        assert_eq!(
            api(
                400,
                r#"{"code":300,"message":"Request Body should be a valid JSON object."}"#
            ),
            Error::Validation {
                message: "Request Body should be a valid JSON object.".into(),
                errors: vec![]
            }
        );
    }

    #[test]
    fn other_codes_and_server_errors() {
        assert_eq!(
            api(400, r#"{"code":3161,"message":"Meeting hosting and scheduling capabilities are not allowed for your user account."}"#),
            Error::Other {
                status: 400,
                code: Some(3161),
                message: "Meeting hosting and scheduling capabilities are not allowed for your user account.".into()
            }
        );
        assert_eq!(api(503, "<html>busy</html>"), Error::Server { status: 503 });
        assert_eq!(
            api(409, "not json"),
            Error::Other {
                status: 409,
                code: None,
                message: String::new()
            }
        );
    }

    #[test]
    fn per_second_429() {
        let e = from_api_response(
            429,
            &headers(&[("x-ratelimit-type", "QPS")]),
            br#"{"code":429,"message":"You have reached the maximum per-second rate limit for this API. Try again later."}"#,
            now(),
            &[],
        );
        assert_eq!(
            e,
            Error::RateLimited {
                kind: RateLimitKind::PerSecond,
                retry_at: None
            }
        );
        let e = from_api_response(429, &headers(&[("retry-after", "3")]), b"{}", now(), &[]);
        assert_eq!(
            e,
            Error::RateLimited {
                kind: RateLimitKind::PerSecond,
                retry_at: Some(now() + chrono::Duration::seconds(3))
            }
        );
    }

    #[test]
    fn daily_429_with_and_without_retry_after() {
        let e = from_api_response(
            429,
            &headers(&[("x-ratelimit-type", "Daily-limit"), ("retry-after", "2026-11-30T00:00:00Z")]),
            br#"{"code":429,"message":"You have reached the maximum daily rate limit for this API. Refer to the response header for details on when you can make another request."}"#,
            now(),
            &[],
        );
        assert_eq!(
            e,
            Error::RateLimited {
                kind: RateLimitKind::Daily,
                retry_at: Some(Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap())
            }
        );
        let e = from_api_response(
            429,
            &HeaderMap::new(),
            br#"{"code":429,"message":"You have reached the maximum daily rate limit for this API."}"#,
            now(),
            &[],
        );
        assert_eq!(
            e,
            Error::RateLimited {
                kind: RateLimitKind::Daily,
                retry_at: Some(Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap())
            }
        );
    }

    #[test]
    fn per_user_meeting_limit_429() {
        let e = api(
            429,
            r#"{"code":429,"message":"You have exceeded the daily rate limit (100) of Meeting Create/Update API requests permitted for this particular user. You may resume these requests at GMT 00:00:00."}"#,
        );
        assert_eq!(
            e,
            Error::RateLimited {
                kind: RateLimitKind::UserDailyMeetingLimit,
                retry_at: Some(Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap())
            }
        );
    }

    #[test]
    fn token_endpoint_errors() {
        let dead = |e: Error| matches!(e, Error::GrantDead { .. });
        assert_eq!(
            oauth(
                400,
                r#"{"reason":"Invalid Token!","error":"invalid_grant"}"#
            ),
            Error::GrantDead {
                reason: "Invalid Token!".into()
            }
        );
        assert!(dead(oauth(
            401,
            r#"{"reason":"Invalid Token!","error":"invalid_grant"}"#
        )));
        assert!(dead(oauth(
            400,
            r#"{"reason":"Invalid Token!","error":"invalid_request"}"#
        )));
        assert!(dead(oauth(400, r#"{"reason":"Invalid Token!"}"#)));
        assert!(dead(oauth(400, r#"{"error":"invalid_grant"}"#)));
        assert!(dead(oauth(
            400,
            r#"{"code":4733,"message":"Code is expired."}"#
        )));
        assert_eq!(
            oauth(
                400,
                r#"{"reason":"Invalid client_id or client_secret","error":"invalid_client"}"#
            ),
            Error::InvalidClient
        );
        assert_eq!(
            oauth(
                401,
                r#"{"reason":"Invalid client_id or client_secret","error":"invalid_client"}"#
            ),
            Error::InvalidClient
        );
        assert_eq!(oauth(502, ""), Error::Server { status: 502 });
        assert_eq!(
            oauth(
                400,
                r#"{"reason":"Unsupported grant type","error":"unsupported_grant_type"}"#
            ),
            Error::Other {
                status: 400,
                code: None,
                message: "Unsupported grant type".into()
            }
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bodies_map_without_panics_or_leaks(
            status in 400u16..600,
            body in "\\PC{0,200}",
        ) {
            let body = format!("{body}ZCANARY_AT_9");
            for e in [
                from_api_response(status, &HeaderMap::new(), body.as_bytes(), now(), &["ZCANARY_AT_9"]),
                from_oauth_response(status, &HeaderMap::new(), body.as_bytes(), now(), &["ZCANARY_AT_9"]),
            ] {
                proptest::prop_assert!(!e.to_string().contains("ZCANARY_AT_9"));
                let debug = format!("{:?}", e);
                proptest::prop_assert!(!debug.contains("ZCANARY_AT_9"));
            }
            let json = serde_json::json!({"code": 999, "message": body, "reason": body, "error": "x"}).to_string();
            for e in [
                from_api_response(status, &HeaderMap::new(), json.as_bytes(), now(), &["ZCANARY_AT_9"]),
                from_oauth_response(status, &HeaderMap::new(), json.as_bytes(), now(), &["ZCANARY_AT_9"]),
            ] {
                proptest::prop_assert!(!e.to_string().contains("ZCANARY_AT_9"), "{}", e);
            }
        }
    }

    #[test]
    fn a_credential_at_the_length_limit_is_not_left_half_visible() {
        let msg = format!("{}ZCANARY_AT_1", "x".repeat(MAX_MESSAGE_CHARS - 4));
        let out = sanitize(&msg, &["ZCANARY_AT_1"]);
        assert!(!out.contains("ZCAN"), "{out}");
        assert!(out.chars().count() <= MAX_MESSAGE_CHARS);
    }

    #[test]
    fn credentials_echoed_by_zoom_are_removed() {
        let e = from_api_response(
            400,
            &HeaderMap::new(),
            br#"{"code":999,"message":"bad token ZCANARY_AT_1 here"}"#,
            now(),
            &["ZCANARY_AT_1"],
        );
        assert!(!e.to_string().contains("ZCANARY"), "{e}");
        assert!(!format!("{e:?}").contains("ZCANARY"));
    }
}
