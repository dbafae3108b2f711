//! Configuration: plain structs with public fields so that Rapport can embed the
//! simulator and register itself as an app, and tests can tune any behaviour.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An OAuth app registered with the simulator (a Zoom Marketplace "General" app).
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AppConfig {
    pub client_id: String,
    pub client_secret: String,
    /// Exact redirect URLs accepted on `/oauth/authorize` and `/oauth/token`.
    pub redirect_urls: Vec<String>,
    /// Event notification endpoint (also used for `app_deauthorized`). None: no webhooks.
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// The app's webhook "Secret Token", the HMAC key for `x-zm-signature`.
    #[serde(default)]
    pub webhook_secret: String,
    /// Legacy verification token sent in the `authorization` header of webhooks, if set.
    #[serde(default)]
    pub verification_token: Option<String>,
    /// Scopes granted on consent, e.g. `meeting:write:meeting` or classic `meeting:write`.
    pub scopes: Vec<String>,
    pub name: String,
    /// Events the app subscribed to (e.g. `meeting.updated`). Empty: every event.
    /// `app_deauthorized` is always sent.
    #[serde(default)]
    pub events: Vec<String>,
}

impl AppConfig {
    pub fn subscribed(&self, event: &str) -> bool {
        event == "app_deauthorized"
            || self.events.is_empty()
            || self.events.iter().any(|e| e == event)
    }
}

// Secrets never appear in Debug output.
impl fmt::Debug for AppConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("redirect_urls", &self.redirect_urls)
            .field("webhook_url", &self.webhook_url)
            .field("webhook_secret", &"<redacted>")
            .field(
                "verification_token",
                &self.verification_token.as_ref().map(|_| "<redacted>"),
            )
            .field("scopes", &self.scopes)
            .field("name", &self.name)
            .field("events", &self.events)
            .finish()
    }
}

/// Requests per second and per day for one rate-limit label on one plan.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct LabelLimit {
    pub per_second: u32,
    /// None: no daily cap for this label on this plan.
    pub per_day: Option<u32>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct PlanLimits {
    pub light: LabelLimit,
    pub medium: LabelLimit,
}

/// Zoom's account-level limits by plan and label, plus the per-user meeting limit.
/// Defaults are Zoom's published numbers (contract §4); raise them for benchmarks.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct RateLimitConfig {
    pub enabled: bool,
    /// Basic (type 1) users' accounts.
    pub free: PlanLimits,
    /// Licensed (type 2) users' accounts.
    pub pro: PlanLimits,
    /// Meeting create/update requests per user per UTC day.
    pub meeting_create_update_per_day: u32,
    /// Real captures of the per-user 429 came without `x-ratelimit-type` and `Retry-After`;
    /// set this to send them anyway.
    pub per_user_limit_headers: bool,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            free: PlanLimits {
                light: LabelLimit {
                    per_second: 4,
                    per_day: Some(6000),
                },
                medium: LabelLimit {
                    per_second: 2,
                    per_day: Some(2000),
                },
            },
            pro: PlanLimits {
                light: LabelLimit {
                    per_second: 30,
                    per_day: None,
                },
                medium: LabelLimit {
                    per_second: 20,
                    per_day: None,
                },
            },
            meeting_create_update_per_day: 100,
            per_user_limit_headers: false,
        }
    }
}

impl RateLimitConfig {
    /// Limits so high that benchmarks never meet them.
    pub fn unlimited() -> Self {
        let big = LabelLimit {
            per_second: u32::MAX,
            per_day: None,
        };
        Self {
            enabled: false,
            free: PlanLimits {
                light: big,
                medium: big,
            },
            pro: PlanLimits {
                light: big,
                medium: big,
            },
            meeting_create_update_per_day: u32::MAX,
            per_user_limit_headers: false,
        }
    }
}

/// Behaviour switches. Where Zoom's behaviour is unconfirmed, the default is the most
/// pessimistic choice (contract, introduction).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct SimConfig {
    pub access_token_secs: i64,
    /// `expires_in` reported in token responses (Zoom reports 3599 for a one-hour token).
    pub expires_in: i64,
    pub refresh_token_days: i64,
    pub code_secs: i64,
    /// Host key (`zak`) lifetime in `start_url`.
    pub zak_secs: i64,
    pub page_token_secs: i64,
    /// A rotated (already used) refresh token presented again also kills the live grant,
    /// as RFC 9700 suggests for theft detection. Zoom does not say it does this.
    pub refresh_reuse_kills_grant: bool,
    /// Send meeting.updated/deleted/created webhooks for changes made through the API
    /// too (Zoom does: apps receive events for their own changes).
    pub webhooks_for_api_changes: bool,
    /// Timeout for one webhook delivery attempt (Zoom waits 3 s).
    pub webhook_timeout_ms: u64,
    /// Retry deliveries that failed with a 5xx or a network error 5, 20 and 60 minutes
    /// apart (simulated clock), as Zoom does. Retries are signed with a fresh timestamp.
    pub webhook_retries: bool,
    /// Meeting ids in webhook payloads as strings (as in captured Zoom traffic) rather
    /// than numbers (as in Zoom's SDK types). Receivers must accept both.
    pub webhook_ids_as_strings: bool,
    /// New users' time zone.
    pub default_timezone: String,
    pub rate_limits: RateLimitConfig,
    /// A Basic host's meeting ends after this many minutes (Zoom's free-plan limit).
    pub basic_meeting_limit_minutes: Option<i64>,
    /// A Licensed host's meeting ends after this many minutes (30 hours).
    pub licensed_meeting_limit_minutes: Option<i64>,
    /// How long the `hang` fault (and `drop` where the connection cannot be aborted)
    /// keeps a request open.
    pub hang_secs: u64,
}

/// About a century: far beyond any useful setting, well inside chrono's range.
const MAX_SECS: i64 = 100 * 366 * 86_400;

impl SimConfig {
    /// Clamps durations to sane ranges so that no setting can overflow date arithmetic.
    pub fn sanitized(mut self) -> Self {
        let secs = |v: i64| v.clamp(0, MAX_SECS);
        self.access_token_secs = secs(self.access_token_secs);
        self.code_secs = secs(self.code_secs);
        self.zak_secs = secs(self.zak_secs);
        self.page_token_secs = secs(self.page_token_secs);
        self.refresh_token_days = self.refresh_token_days.clamp(0, MAX_SECS / 86_400);
        self.basic_meeting_limit_minutes = self
            .basic_meeting_limit_minutes
            .map(|m| m.clamp(0, MAX_SECS / 60));
        self.licensed_meeting_limit_minutes = self
            .licensed_meeting_limit_minutes
            .map(|m| m.clamp(0, MAX_SECS / 60));
        self.hang_secs = self.hang_secs.min(MAX_SECS as u64);
        self
    }
}

pub(crate) fn clamp_secs(v: i64) -> i64 {
    v.clamp(-MAX_SECS, MAX_SECS)
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            access_token_secs: 3600,
            expires_in: 3599,
            refresh_token_days: 90,
            code_secs: 300,
            zak_secs: 7200,
            page_token_secs: 900,
            refresh_reuse_kills_grant: false,
            webhooks_for_api_changes: true,
            webhook_timeout_ms: 3000,
            webhook_retries: true,
            webhook_ids_as_strings: true,
            default_timezone: "America/New_York".to_string(),
            rate_limits: RateLimitConfig::default(),
            hang_secs: 120,
            basic_meeting_limit_minutes: Some(40),
            licensed_meeting_limit_minutes: Some(30 * 60),
        }
    }
}

/// A Zoom user's plan. The simulator gives every user their own account.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    /// `type: 1`: free; meetings end after 40 minutes; free-plan rate limits.
    #[default]
    Basic,
    /// `type: 2`: paid licence; Pro rate limits; cloud recording.
    Licensed,
}

impl Plan {
    pub fn user_type(self) -> i64 {
        match self {
            Plan::Basic => 1,
            Plan::Licensed => 2,
        }
    }

    pub fn parse(s: &str) -> Option<Plan> {
        match s.trim().to_ascii_lowercase().as_str() {
            "basic" | "1" | "free" => Some(Plan::Basic),
            "licensed" | "2" | "pro" => Some(Plan::Licensed),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Plan::Basic => "Basic",
            Plan::Licensed => "Licensed",
        }
    }
}
