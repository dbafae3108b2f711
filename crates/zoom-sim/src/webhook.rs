//! Signed webhook delivery (contract §5): `x-zm-signature: v0=hex(HMAC-SHA256(secret,
//! "v0:{ts}:{raw body}"))`, `x-zm-request-timestamp` in seconds, `event_ts` in ms.

use crate::config::AppConfig;
use crate::ids;
use crate::model::WebhookDelivery;
use crate::state::SimState;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn hmac_hex(secret: &str, message: &[u8]) -> String {
    match HmacSha256::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(message);
            hex::encode(mac.finalize().into_bytes())
        }
        // HMAC accepts keys of any length; this branch cannot be reached.
        Err(_) => String::new(),
    }
}

/// Webhook requests the simulator has in flight at most (all receivers together).
pub(crate) const MAX_DELIVERIES_IN_FLIGHT: usize = 32;

/// The `x-zm-signature` value for `body` sent at `timestamp` (seconds).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut msg = format!("v0:{timestamp}:").into_bytes();
    msg.extend_from_slice(body);
    format!("v0={}", hmac_hex(secret, &msg))
}

/// The `encryptedToken` expected in answer to a URL validation challenge.
pub fn encrypt_plain_token(secret: &str, plain_token: &str) -> String {
    hmac_hex(secret, plain_token.as_bytes())
}

/// A webhook ready to send: the exact body bytes and where to.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    pub app: AppConfig,
    pub event: String,
    pub payload: Value,
}

impl SimState {
    /// Sends each webhook in its own task (fire and forget, with Zoom's short timeout),
    /// recording the outcome in the delivery log.
    pub(crate) fn dispatch(&self, outgoing: Vec<Outgoing>) {
        for o in outgoing {
            let Some(url) = o.app.webhook_url.clone() else {
                continue;
            };
            if !o.app.subscribed(&o.event) {
                continue;
            }
            let now = self.now();
            let body = json!({
                "event": o.event,
                "event_ts": now.timestamp_millis(),
                "payload": o.payload,
            })
            .to_string();
            self.send_attempt(PendingRetry {
                app: o.app,
                event: o.event,
                url,
                body,
                attempt: 1,
                first_at: now,
                due_at: now,
            });
        }
    }

    /// One delivery attempt in its own task. A network error or a 5xx schedules the next
    /// attempt on Zoom's schedule (5, 20 and 60 minutes apart, on the simulator's clock).
    fn send_attempt(&self, p: PendingRetry) {
        let now = self.now();
        let id = uuid::Uuid::new_v4().to_string();
        {
            let mut g = self.lock();
            if g.deliveries.len() >= 10_000 {
                g.deliveries.drain(..1_000);
            }
            g.deliveries.push(WebhookDelivery {
                id: id.clone(),
                at: now,
                client_id: p.app.client_id.clone(),
                event: p.event.clone(),
                url: p.url.clone(),
                body: p.body.clone(),
                status: None,
                error: None,
                done: false,
                attempt: p.attempt,
            });
        }
        let state = self.clone();
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let slots = self.shared.deliveries_in_flight.clone();
        rt.spawn(async move {
            // Waits its turn: at most MAX_DELIVERIES_IN_FLIGHT requests to receivers at once.
            let Ok(_slot) = slots.acquire_owned().await else {
                return;
            };
            let result = state
                .post_signed(&p.app, &p.url, p.body.clone(), state.now().timestamp())
                .await;
            let failed = match &result {
                Ok((status, _)) => *status >= 500,
                Err(_) => true,
            };
            let mut g = state.lock();
            if let Some(d) = g.deliveries.iter_mut().find(|d| d.id == id) {
                d.done = true;
                match result {
                    Ok((status, _)) => d.status = Some(status),
                    Err(e) => d.error = Some(e),
                }
            }
            let offsets = [5, 25, 85];
            if failed
                && g.config.webhook_retries
                && let Some(minutes) = offsets.get(p.attempt as usize - 1)
            {
                let due_at = p.first_at + chrono::Duration::minutes(*minutes);
                g.retries.push(PendingRetry {
                    attempt: p.attempt + 1,
                    due_at,
                    ..p
                });
            }
        });
    }

    /// Sends the webhook retries whose time has come on the simulator's clock. Called
    /// after clock changes and periodically by `crate::serve`.
    pub fn run_due_webhook_retries(&self) {
        let now = self.now();
        let due: Vec<PendingRetry> = {
            let mut g = self.lock();
            let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut g.retries)
                .into_iter()
                .partition(|r| r.due_at <= now);
            g.retries = later;
            due
        };
        for r in due {
            self.send_attempt(r);
        }
    }

    async fn post_signed(
        &self,
        app: &AppConfig,
        url: &str,
        body: String,
        ts: i64,
    ) -> Result<(u16, String), String> {
        let timeout = std::time::Duration::from_millis(self.config().webhook_timeout_ms);
        let mut req = self
            .shared
            .http
            .post(url)
            .timeout(timeout)
            .header("user-agent", "Zoom Marketplace/1.0a")
            .header("content-type", "application/json; charset=utf-8")
            .header("x-zm-request-timestamp", ts.to_string())
            .header(
                "x-zm-signature",
                sign(&app.webhook_secret, ts, body.as_bytes()),
            )
            .header("x-zm-request-id", uuid::Uuid::new_v4().to_string())
            .header("x-zm-trackingid", ids::tracking_id());
        if let Some(t) = &app.verification_token {
            req = req.header("authorization", t);
        }
        let resp = req.body(body).send().await.map_err(|e| format!("{e}"))?;
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        Ok((status, text))
    }

    /// Sends an `endpoint.url_validation` challenge to the app's endpoint and checks the
    /// answer the way Zoom does: 200/204 with the same `plainToken` and
    /// `encryptedToken = hex(HMAC-SHA256(secret, plainToken))`.
    pub async fn validate_webhook_endpoint(&self, client_id: &str) -> ValidationResult {
        let Some(app) = self.app(client_id) else {
            return ValidationResult::failed(None, "unknown client_id");
        };
        let Some(url) = app.webhook_url.clone() else {
            return ValidationResult::failed(None, "the app has no webhook_url");
        };
        let plain = ids::alnum(22);
        let now = self.now();
        let body = json!({
            "payload": {"plainToken": plain},
            "event_ts": now.timestamp_millis(),
            "event": "endpoint.url_validation",
        })
        .to_string();
        let id = uuid::Uuid::new_v4().to_string();
        self.lock().deliveries.push(WebhookDelivery {
            id: id.clone(),
            at: now,
            client_id: client_id.to_string(),
            event: "endpoint.url_validation".into(),
            url: url.clone(),
            body: body.clone(),
            status: None,
            error: None,
            done: false,
            attempt: 1,
        });
        let res = self.post_signed(&app, &url, body, now.timestamp()).await;
        let result = match &res {
            Err(e) => ValidationResult::failed(None, e),
            Ok((status, text)) => {
                let expected = encrypt_plain_token(&app.webhook_secret, &plain);
                let answer: Value = serde_json::from_str(text).unwrap_or(Value::Null);
                if *status != 200 && *status != 204 {
                    ValidationResult::failed(Some(*status), "status is not 200 or 204")
                } else if answer.get("plainToken").and_then(Value::as_str) != Some(plain.as_str()) {
                    ValidationResult::failed(Some(*status), "plainToken missing or different")
                } else if answer.get("encryptedToken").and_then(Value::as_str)
                    != Some(expected.as_str())
                {
                    ValidationResult::failed(Some(*status), "encryptedToken is wrong")
                } else {
                    ValidationResult {
                        ok: true,
                        status: Some(*status),
                        detail: "validated".into(),
                    }
                }
            }
        };
        let mut g = self.lock();
        if let Some(d) = g.deliveries.iter_mut().find(|d| d.id == id) {
            d.done = true;
            d.status = result.status;
            if !result.ok {
                d.error = Some(result.detail.clone());
            }
        }
        result
    }
}

/// A webhook attempt waiting for its time.
#[derive(Debug, Clone)]
pub(crate) struct PendingRetry {
    pub app: AppConfig,
    pub event: String,
    pub url: String,
    pub body: String,
    /// 1 for the first attempt, up to 4 (three retries).
    pub attempt: u32,
    pub first_at: chrono::DateTime<chrono::Utc>,
    pub due_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ValidationResult {
    pub ok: bool,
    pub status: Option<u16>,
    pub detail: String,
}

impl ValidationResult {
    fn failed(status: Option<u16>, detail: impl std::fmt::Display) -> Self {
        Self {
            ok: false,
            status,
            detail: detail.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Contract §5.1 vector 1.
    #[test]
    fn vector_1_url_validation_body() {
        let body = r#"{"payload":{"plainToken":"xys8n8PGS7mAU0m5-YJjRA"},"event_ts":1720705455858,"event":"endpoint.url_validation"}"#;
        assert_eq!(
            sign("4fv1RkqGQUq5sWbEz6hA5A", 1720705455, body.as_bytes()),
            "v0=93a1a675965ceb9c5a50c5dfb31f20e50f763be37a54ef74cd2d16a1a8e5c0d6"
        );
    }

    // Vector 2: literal \uXXXX escapes plus raw UTF-8; signing must use the raw bytes.
    #[test]
    fn vector_2_escapes_and_utf8() {
        let body = "{\"event\":\"meeting.started\",\"payload\":{\"account_id\":\"VjZoEArIT5y-HlWxkV-tVA\",\"object\":{\"duration\":60,\"start_time\":\"2024-07-11T14:12:55Z\",\"timezone\":\"America/New_York\",\"topic\":\"Test \\uD83D\\uDE92\\uD83D\\uDE92 ? - \u{2019} - \u{2013} \\uD83D\\uDE97 HOLA\",\"id\":\"85393847045\",\"type\":2,\"uuid\":\"jUh5o3dKQIytvcsfTtKBlg==\",\"host_id\":\"8lzIwvZTSOqjndWPbPqzuA\"}},\"event_ts\":1720707175904}";
        assert_eq!(
            sign("4fv1RkqGQUq5sWbEz6hA5A", 1720707175, body.as_bytes()),
            "v0=1a14e79349318fa1bead50ebbd3c185ae078e182d3bbd30ab8010fcb7f4357c7"
        );
    }

    #[test]
    fn vector_3_plain_token() {
        assert_eq!(
            encrypt_plain_token("UB_rdTwhTruoYCMr6x6-MQ", "qgg8vlvZRS6UYooatFL8Aw"),
            "439d1ed256e8d5513d2acd195e0adc64bbbfeb6b795b9d1880534610b58c674c"
        );
    }

    #[test]
    fn vector_4_app_deauthorized_and_plain_token() {
        let body = r#"{"event":"app_deauthorized","event_ts":1739923528123,"payload":{"account_id":"AAAAAABBBB","user_id":"abcD3ojfdbjfg","signature":"827edc3452044f0bc86bdd5684afb7d1e6becfa1a767f24df1b287853cf73000","deauthorization_time":"2025-02-19T00:05:28.123Z","client_id":"ABCDEFGHIJKLMNOPQRST"}}"#;
        assert_eq!(
            sign("8HpxXEAYTCCEDbM5QZi3DA", 1739923528, body.as_bytes()),
            "v0=0fb59cd69f2b9124902837f21b545865c993203c2b05b68ae491dc34e36b21df"
        );
        assert_eq!(
            encrypt_plain_token("8HpxXEAYTCCEDbM5QZi3DA", "qgg8vlvZRS6UYooatFL8Aw"),
            "96b47c23009a59c8f82d6ec03969976eb033eb2dd75e1316a369a4aca02d0bda"
        );
    }
}
