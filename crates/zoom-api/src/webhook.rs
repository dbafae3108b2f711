//! Zoom webhooks: signature verification, the `endpoint.url_validation` challenge, and
//! typed events with a dedupe key.
//!
//! Order for a receiver (security checklist §4.3): refuse everything when no secret is
//! configured; read the raw body; [`Verifier::verify`] (timestamp window, then HMAC in
//! constant time); only then [`WebhookEvent::parse`]; answer a url_validation with
//! [`url_validation_response`]; dedupe on [`WebhookEvent::dedupe_key`].

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use reqwest::header::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;

use crate::de;
use crate::meetings::MeetingType;

type HmacSha256 = Hmac<Sha256>;

pub const SIGNATURE_HEADER: &str = "x-zm-signature";
pub const TIMESTAMP_HEADER: &str = "x-zm-request-timestamp";
/// Zoom documents no replay window; five minutes is the common choice (Stripe, Svix).
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);
/// Longest `plainToken` we will sign (checklist §4.1: anything else could be a signing-oracle probe).
pub const MAX_PLAIN_TOKEN_LEN: usize = 128;

/// Why a webhook request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("no webhook secret is configured; refusing all webhooks")]
    NoSecretConfigured,
    #[error("missing x-zm-request-timestamp header")]
    MissingTimestamp,
    #[error("missing x-zm-signature header")]
    MissingSignature,
    #[error("x-zm-request-timestamp is not a Unix time in seconds")]
    MalformedTimestamp,
    #[error("x-zm-request-timestamp is outside the accepted window")]
    StaleTimestamp,
    #[error("x-zm-signature is not of the form v0=<64 hex digits>")]
    MalformedSignature,
    #[error("x-zm-signature does not match")]
    BadSignature,
    #[error("plainToken must be 1 to 128 characters of A-Z a-z 0-9 _ -")]
    InvalidPlainToken,
    #[error("webhook body is not a Zoom event: {detail}")]
    MalformedBody { detail: String },
}

/// `v0=` + hex(HMAC-SHA256(secret, "v0:{timestamp}:{body}")).
pub fn sign(secret: &SecretString, timestamp: &str, body: &[u8]) -> Result<String, WebhookError> {
    let hex = hmac_hex(secret, &[b"v0:", timestamp.as_bytes(), b":", body])?;
    Ok(format!("v0={hex}"))
}

/// hex(HMAC-SHA256(secret, concatenation of `parts`)).
fn hmac_hex(secret: &SecretString, parts: &[&[u8]]) -> Result<String, WebhookError> {
    let mut mac = mac_for(secret)?;
    for part in parts {
        mac.update(part);
    }
    Ok(hex::encode(mac.finalize().into_bytes()))
}

fn mac_for(secret: &SecretString) -> Result<HmacSha256, WebhookError> {
    let key = secret.expose_secret();
    // An empty key would let anyone sign: fail closed.
    if key.is_empty() {
        return Err(WebhookError::NoSecretConfigured);
    }
    HmacSha256::new_from_slice(key.as_bytes()).map_err(|_| WebhookError::NoSecretConfigured)
}

/// Verifies a request signed with any of `secrets` (two during rotation) whose timestamp
/// is within `tolerance` of `now`, over the raw body bytes.
pub fn verify(
    secrets: &[SecretString],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
    tolerance: Duration,
) -> Result<(), WebhookError> {
    let usable: Vec<&SecretString> = secrets
        .iter()
        .filter(|s| !s.expose_secret().is_empty())
        .collect();
    if usable.is_empty() {
        return Err(WebhookError::NoSecretConfigured);
    }
    let timestamp = timestamp
        .map(str::trim)
        .ok_or(WebhookError::MissingTimestamp)?;
    let signature = signature
        .map(str::trim)
        .ok_or(WebhookError::MissingSignature)?;
    if timestamp.is_empty()
        || timestamp.len() > 12
        || !timestamp.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(WebhookError::MalformedTimestamp);
    }
    let ts: i64 = timestamp
        .parse()
        .map_err(|_| WebhookError::MalformedTimestamp)?;
    let tolerance = i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX);
    if now.timestamp().abs_diff(ts) > tolerance.unsigned_abs() {
        return Err(WebhookError::StaleTimestamp);
    }
    let hex_part = signature
        .strip_prefix("v0=")
        .ok_or(WebhookError::MalformedSignature)?;
    let expected = hex::decode(hex_part).map_err(|_| WebhookError::MalformedSignature)?;
    if expected.len() != 32 {
        return Err(WebhookError::MalformedSignature);
    }
    for secret in usable {
        let mut mac = mac_for(secret)?;
        mac.update(b"v0:");
        mac.update(timestamp.as_bytes());
        mac.update(b":");
        mac.update(body);
        // Constant-time comparison.
        if mac.verify_slice(&expected).is_ok() {
            return Ok(());
        }
    }
    Err(WebhookError::BadSignature)
}

/// Whether Zoom's `plainToken` is one we are willing to sign.
pub fn is_valid_plain_token(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= MAX_PLAIN_TOKEN_LEN
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The answer to `endpoint.url_validation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UrlValidationResponse {
    #[serde(rename = "plainToken")]
    pub plain_token: String,
    #[serde(rename = "encryptedToken")]
    pub encrypted_token: String,
}

/// `{plainToken, encryptedToken = hex(HMAC-SHA256(secret, plainToken))}`, refusing tokens
/// outside `[A-Za-z0-9_-]{1,128}` so the endpoint cannot be used to sign forged events.
pub fn url_validation_response(
    secret: &SecretString,
    plain_token: &str,
) -> Result<UrlValidationResponse, WebhookError> {
    if !is_valid_plain_token(plain_token) {
        return Err(WebhookError::InvalidPlainToken);
    }
    Ok(UrlValidationResponse {
        plain_token: plain_token.to_owned(),
        encrypted_token: hmac_hex(secret, &[plain_token.as_bytes()])?,
    })
}

/// The app's webhook secret(s) and replay window.
#[derive(Clone)]
pub struct Verifier {
    /// Current first; the previous one is accepted too while Zoom switches over.
    secrets: Vec<SecretString>,
    tolerance: Duration,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field(
                "secrets",
                &format_args!("[{} redacted]", self.secrets.len()),
            )
            .field("tolerance", &self.tolerance)
            .finish()
    }
}

impl Verifier {
    pub fn new(current: SecretString) -> Self {
        Self {
            secrets: vec![current],
            tolerance: DEFAULT_TOLERANCE,
        }
    }

    /// Also accept signatures made with the previous secret (during rotation).
    pub fn with_previous(mut self, previous: SecretString) -> Self {
        self.secrets.truncate(1);
        self.secrets.push(previous);
        self
    }

    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    pub fn verify(
        &self,
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), WebhookError> {
        verify(
            &self.secrets,
            timestamp,
            signature,
            body,
            now,
            self.tolerance,
        )
    }

    /// [`Self::verify`] reading Zoom's two headers from a request.
    pub fn verify_headers(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), WebhookError> {
        let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        self.verify(get(TIMESTAMP_HEADER), get(SIGNATURE_HEADER), body, now)
    }

    /// Answers a url_validation challenge with the current secret.
    pub fn url_validation_response(
        &self,
        plain_token: &str,
    ) -> Result<UrlValidationResponse, WebhookError> {
        let current = self
            .secrets
            .first()
            .ok_or(WebhookError::NoSecretConfigured)?;
        url_validation_response(current, plain_token)
    }
}

/// A meeting as it appears in webhook payloads: ids as number or string, most fields optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct MeetingObject {
    #[serde(default, deserialize_with = "de::opt_id")]
    pub id: Option<u64>,
    #[serde(default)]
    pub uuid: Option<String>,
    #[serde(default)]
    pub host_id: Option<String>,
    #[serde(default)]
    pub topic: Option<String>,
    #[serde(rename = "type", default)]
    pub meeting_type: Option<MeetingType>,
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub start_time: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub end_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub duration: Option<u32>,
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub agenda: Option<String>,
    #[serde(default)]
    pub join_url: Option<String>,
}

/// `meeting.deleted`, `meeting.started`, `meeting.ended`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct MeetingEvent {
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default)]
    pub operator: Option<String>,
    #[serde(default)]
    pub operator_id: Option<String>,
    /// `single` or `all` for deletions of recurring meetings.
    #[serde(default)]
    pub operation: Option<String>,
    #[serde(default)]
    pub object: MeetingObject,
}

/// `meeting.updated`: `object` holds the id and the changed fields only.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct MeetingUpdated {
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default)]
    pub operator: Option<String>,
    #[serde(default)]
    pub operator_id: Option<String>,
    #[serde(default)]
    pub object: MeetingObject,
    #[serde(default)]
    pub old_object: Option<MeetingObject>,
    /// Milliseconds since the epoch.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub time_stamp: Option<i64>,
}

/// `app_deauthorized`: delete this user's Zoom data.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct AppDeauthorized {
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub deauthorization_time: Option<DateTime<Utc>>,
    /// "A unique ID for each instance of app deauthorization".
    #[serde(default)]
    pub signature: Option<String>,
}

/// What an event is about.
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    UrlValidation {
        plain_token: String,
    },
    AppDeauthorized(AppDeauthorized),
    MeetingDeleted(MeetingEvent),
    MeetingUpdated(MeetingUpdated),
    MeetingStarted(MeetingEvent),
    MeetingEnded(MeetingEvent),
    /// An event this crate does not model; `payload` is kept as sent.
    Other {
        payload: Value,
    },
}

/// A verified webhook delivery, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEvent {
    /// Zoom's event name, e.g. `meeting.deleted`.
    pub event: String,
    /// Milliseconds since the epoch, from the top level or from `payload` (Zoom has put it in
    /// either), whether sent as a number, a numeric string or a date-time string.
    pub event_ts: Option<i64>,
    pub kind: EventKind,
}

/// Identifies one event across Zoom's retries: (event, event_ts, object id/uuid, account id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DedupeKey {
    pub event: String,
    pub event_ts: Option<i64>,
    pub object: String,
    pub account_id: String,
}

impl fmt::Display for DedupeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ts = self.event_ts.map(|t| t.to_string()).unwrap_or_default();
        write!(
            f,
            "{}|{}|{}|{}",
            self.event, ts, self.object, self.account_id
        )
    }
}

/// Reads an `event_ts` in any of the shapes Zoom has used; bare seconds are scaled to ms.
fn event_ts_from(v: &Value) -> Option<i64> {
    let ms = match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s)
            if s.trim().bytes().all(|b| b.is_ascii_digit()) && !s.trim().is_empty() =>
        {
            s.trim().parse().ok()
        }
        Value::String(s) => de::parse_datetime(s).map(|t| t.timestamp_millis()),
        _ => None,
    }?;
    // Below 10^11 a value is more plausibly seconds (year 5138) than ms (March 1973).
    Some(if ms.abs() < 100_000_000_000 {
        ms * 1000
    } else {
        ms
    })
}

impl WebhookEvent {
    /// Parses a body that has already passed [`verify`].
    pub fn parse(body: &[u8]) -> Result<Self, WebhookError> {
        let malformed = |detail: &str| WebhookError::MalformedBody {
            detail: detail.to_owned(),
        };
        let root: Value =
            serde_json::from_slice(body).map_err(|e| WebhookError::MalformedBody {
                detail: crate::error::describe_json_error(&e),
            })?;
        let Value::Object(root) = root else {
            return Err(malformed("not a JSON object"));
        };
        let event = root
            .get("event")
            .and_then(Value::as_str)
            .ok_or_else(|| malformed("no event name"))?
            .to_owned();
        let payload = root.get("payload").cloned().unwrap_or(Value::Null);
        let event_ts = root
            .get("event_ts")
            .and_then(event_ts_from)
            .or_else(|| payload.get("event_ts").and_then(event_ts_from));
        let typed = |what: &str| -> WebhookError {
            WebhookError::MalformedBody {
                detail: format!("{event} payload is not a valid {what}"),
            }
        };
        let kind = match event.as_str() {
            "endpoint.url_validation" => EventKind::UrlValidation {
                plain_token: payload
                    .get("plainToken")
                    .and_then(Value::as_str)
                    .ok_or_else(|| malformed("url_validation without plainToken"))?
                    .to_owned(),
            },
            "app_deauthorized" => EventKind::AppDeauthorized(
                serde_json::from_value(payload).map_err(|_| typed("deauthorization"))?,
            ),
            "meeting.deleted" => EventKind::MeetingDeleted(
                serde_json::from_value(payload).map_err(|_| typed("meeting event"))?,
            ),
            "meeting.updated" => EventKind::MeetingUpdated(
                serde_json::from_value(payload).map_err(|_| typed("meeting update"))?,
            ),
            "meeting.started" => EventKind::MeetingStarted(
                serde_json::from_value(payload).map_err(|_| typed("meeting event"))?,
            ),
            "meeting.ended" => EventKind::MeetingEnded(
                serde_json::from_value(payload).map_err(|_| typed("meeting event"))?,
            ),
            _ => EventKind::Other { payload },
        };
        Ok(Self {
            event,
            event_ts,
            kind,
        })
    }

    /// The event time, when Zoom sent one.
    pub fn event_time(&self) -> Option<DateTime<Utc>> {
        self.event_ts
            .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
    }

    pub fn account_id(&self) -> Option<&str> {
        match &self.kind {
            EventKind::AppDeauthorized(d) => d.account_id.as_deref(),
            EventKind::MeetingDeleted(m)
            | EventKind::MeetingStarted(m)
            | EventKind::MeetingEnded(m) => m.account_id.as_deref(),
            EventKind::MeetingUpdated(m) => m.account_id.as_deref(),
            EventKind::Other { payload } => payload.get("account_id").and_then(Value::as_str),
            EventKind::UrlValidation { .. } => None,
        }
    }

    /// The meeting this event is about, if any.
    pub fn meeting(&self) -> Option<&MeetingObject> {
        match &self.kind {
            EventKind::MeetingDeleted(m)
            | EventKind::MeetingStarted(m)
            | EventKind::MeetingEnded(m) => Some(&m.object),
            EventKind::MeetingUpdated(m) => Some(&m.object),
            _ => None,
        }
    }

    /// The key to record (insert-if-absent) before acting, so Zoom's redeliveries are ignored.
    pub fn dedupe_key(&self) -> DedupeKey {
        let object = match &self.kind {
            EventKind::AppDeauthorized(d) => d.user_id.clone().unwrap_or_default(),
            EventKind::UrlValidation { plain_token } => plain_token.clone(),
            EventKind::Other { payload } => payload
                .get("object")
                .and_then(|o| o.get("uuid").or_else(|| o.get("id")))
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .unwrap_or_default(),
            _ => self
                .meeting()
                .map(|m| {
                    m.uuid
                        .clone()
                        .or_else(|| m.id.map(|id| id.to_string()))
                        .unwrap_or_default()
                })
                .unwrap_or_default(),
        };
        DedupeKey {
            event: self.event.clone(),
            event_ts: self.event_ts,
            object,
            account_id: self.account_id().unwrap_or_default().to_owned(),
        }
    }
}

#[cfg(test)]
mod tests;
