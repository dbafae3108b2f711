//! What the simulator stores. Everything here is serializable so that state can be
//! persisted to a JSON file and read back by the control API.

use crate::config::Plan;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct User {
    pub id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub plan: Plan,
    pub timezone: String,
    pub pmi: i64,
    /// Every simulated user has an account of their own.
    pub account_id: String,
    pub account_number: i64,
    pub created_at: DateTime<Utc>,
    pub last_login_time: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MeetingStatus {
    Waiting,
    Started,
    Finished,
}

impl MeetingStatus {
    /// Zoom's API reports `waiting` or `started`; an ended scheduled meeting can be
    /// started again, so it reads as `waiting`.
    pub fn api_value(self) -> &'static str {
        match self {
            MeetingStatus::Started => "started",
            MeetingStatus::Waiting | MeetingStatus::Finished => "waiting",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Meeting {
    pub id: i64,
    pub uuid: String,
    pub host_id: String,
    pub topic: String,
    #[serde(rename = "type")]
    pub meeting_type: i64,
    pub start_time: DateTime<Utc>,
    pub duration: i64,
    pub timezone: String,
    pub agenda: String,
    pub created_at: DateTime<Utc>,
    pub password: String,
    pub encrypted_password: String,
    pub status: MeetingStatus,
    pub pre_schedule: bool,
    /// When the current session started (status `started`).
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    /// The meeting's settings object as returned by the API (defaults merged with what
    /// the client sent).
    pub settings: serde_json::Value,
}

impl Meeting {
    pub fn end_time(&self) -> DateTime<Utc> {
        self.start_time + chrono::Duration::minutes(self.duration.max(0))
    }

    /// Zoom drops non-recurring meetings 30 days after their scheduled time.
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        self.status != MeetingStatus::Started && self.end_time() + chrono::Duration::days(30) < now
    }
}

#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct AccessToken {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// One authorization of one app by one user: the tokens issued from one code exchange
/// and its refreshes.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct Grant {
    pub id: String,
    pub client_id: String,
    pub user_id: String,
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub access_tokens: Vec<AccessToken>,
    pub refresh_token: String,
    pub refresh_expires_at: DateTime<Utc>,
    /// Refresh tokens already rotated away; presenting one is "Invalid Token!".
    pub used_refresh_tokens: Vec<String>,
    pub refresh_count: u64,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_reason: Option<String>,
}

impl Grant {
    pub fn active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

/// Grants as the control API shows them: no token values.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GrantView {
    pub id: String,
    pub client_id: String,
    pub user_id: String,
    pub email: String,
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub refresh_expires_at: DateTime<Utc>,
    pub refresh_count: u64,
    pub active: bool,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_reason: Option<String>,
}

#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct Code {
    pub code: String,
    pub client_id: String,
    pub user_id: String,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub code_challenge_method: String,
    pub expires_at: DateTime<Utc>,
    pub used: bool,
    /// The grant the code was exchanged for: reusing the code kills it (RFC 6749 §4.1.2).
    pub grant_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Zak {
    pub meeting_id: i64,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PageToken {
    pub user_id: String,
    pub list_type: String,
    pub offset: usize,
    pub page_size: usize,
    pub expires_at: DateTime<Utc>,
}

/// One request the simulator received (never with secret values: path without query).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RequestRecord {
    pub at: DateTime<Utc>,
    pub method: String,
    pub path: String,
    /// For `/oauth/token`: the `grant_type` parameter.
    pub grant_type: Option<String>,
    pub status: u16,
    /// The fault applied, if any (`error`, `drop`, `malformed`, ...).
    pub fault: Option<String>,
}

/// One webhook delivery attempt and its outcome.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WebhookDelivery {
    pub id: String,
    pub at: DateTime<Utc>,
    pub client_id: String,
    pub event: String,
    pub url: String,
    /// The exact body sent (signed bytes).
    pub body: String,
    /// HTTP status of the receiver's answer, None when the request failed.
    pub status: Option<u16>,
    pub error: Option<String>,
    /// False until the attempt finishes.
    pub done: bool,
    /// 1 for the first attempt; 2-4 for Zoom's retries after a 5xx or network error.
    #[serde(default)]
    pub attempt: u32,
}
