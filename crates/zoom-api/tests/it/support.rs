use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use secrecy::SecretString;
use url::Url;
use wiremock::MockServer;
use zoom_api::{AccessToken, ManualClock, OAuthClient, RetryPolicy, ZoomClient, ZoomConfig};

pub const ACCESS: &str = "ZCANARY_AT_0123456789";
pub const REFRESH: &str = "ZCANARY_RT_0123456789";
pub const CLIENT_SECRET: &str = "ZCANARY_CS_0123456789";
pub const CLIENT_ID: &str = "client-id-1";

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap()
}

pub fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base: Duration::from_millis(1),
        cap: Duration::from_millis(5),
        max_wait: Duration::from_secs(2),
    }
}

pub fn token() -> AccessToken {
    AccessToken::new(ACCESS)
}

pub fn api_client(base: &str) -> ZoomClient {
    ZoomClient::new(Url::parse(base).unwrap(), reqwest::Client::new())
        .with_retry_policy(fast_retries())
        .with_timeout(Duration::from_secs(5))
        .with_clock(Arc::new(ManualClock::new(t0())))
}

pub fn config(base: &str) -> ZoomConfig {
    let base = Url::parse(base).unwrap();
    ZoomConfig::new(
        CLIENT_ID,
        SecretString::from(CLIENT_SECRET),
        Url::parse("https://crm.example/zoom/callback").unwrap(),
    )
    .with_oauth_base(base.clone())
    .with_api_base(base)
}

pub fn oauth_client(server: &MockServer, clock: ManualClock) -> OAuthClient {
    OAuthClient::new(config(&server.uri()), reqwest::Client::new())
        .with_clock(Arc::new(clock))
        .with_timeout(Duration::from_secs(5))
}

/// Neither the error's message nor its Debug form may carry a credential.
pub fn assert_no_secrets(e: &zoom_api::Error) {
    for text in [e.to_string(), format!("{e:?}")] {
        assert!(!text.contains("ZCANARY"), "credential leaked: {text}");
    }
}

/// A 201 body for a created meeting.
pub fn meeting_json(id: u64, topic: &str) -> serde_json::Value {
    serde_json::json!({
        "uuid": "jUh5o3dKQIytvcsfTtKBlg==", "id": id, "host_id": "8lzIwvZTSOqjndWPbPqzuA",
        "topic": topic, "type": 2, "status": "waiting", "start_time": "2026-12-01T15:30:00Z",
        "duration": 30, "timezone": "Europe/Paris", "created_at": "2026-11-29T12:00:00Z",
        "start_url": format!("https://us05web.zoom.us/s/{id}?zak=ZCANARY_ZAK"),
        "join_url": format!("https://us05web.zoom.us/j/{id}?pwd=abc.1"), "password": "ZLPA2y"
    })
}
