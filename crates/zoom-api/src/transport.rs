//! The one function every request to Zoom goes through: it checks the endpoint is in the
//! table, attaches credentials (only ever in the `Authorization` header), applies the
//! timeout, retries idempotent calls, and maps failures to [`Error`].

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::clock::{Clock, SystemClock};
use crate::config::join;
use crate::endpoints::{self, Endpoint, Host};
use crate::error::{self, Error, UnknownOutcome};
use crate::retry::RetryPolicy;
use crate::tokens::AccessToken;

/// Default per-request timeout: below Rapport's refresh lease (checklist §5.5).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Requests one client has in flight to Zoom at once; more wait for a turn. Without a cap, a
/// burst (the benchmark's 1,000 users pressing Start as the token expires) opened 1,000
/// connections to Zoom at once: Zoom's per-second rate limits would refuse most of them, and
/// each holds a socket and buffers on both sides.
pub const MAX_IN_FLIGHT: usize = 32;

/// Largest response body read; Zoom's biggest answer here is a 300-meeting list page.
const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

pub(crate) enum Auth<'a> {
    Bearer(&'a AccessToken),
    Basic {
        client_id: &'a str,
        client_secret: &'a SecretString,
    },
}

pub(crate) enum Body {
    Empty,
    Json(serde_json::Value),
    /// Values may be credentials (codes, refresh tokens), so they stay secret until sent.
    Form(Vec<(&'static str, SecretString)>),
}

pub(crate) struct Call<'a> {
    pub endpoint: &'static Endpoint,
    pub path_params: Vec<(&'static str, String)>,
    pub query: Vec<(&'static str, String)>,
    pub body: Body,
    pub auth: Auth<'a>,
}

pub(crate) struct RawResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Looks an endpoint up in the table; the only way client code obtains one.
pub(crate) fn endpoint(
    method: &'static str,
    path: &'static str,
) -> Result<&'static Endpoint, Error> {
    match endpoints::lookup(method, path) {
        Some(e) => Ok(e),
        None => {
            debug_assert!(false, "{method} {path} is not in ENDPOINTS");
            Err(Error::UnlistedEndpoint { method, path })
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Transport {
    http: reqwest::Client,
    pub timeout: Duration,
    pub retry: RetryPolicy,
    pub clock: Arc<dyn Clock>,
    in_flight: Arc<tokio::sync::Semaphore>,
}

impl Transport {
    pub fn new(http: reqwest::Client) -> Self {
        Self {
            http,
            timeout: DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
            clock: Arc::new(SystemClock),
            in_flight: Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT)),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Sends `call` to `base`, retrying when the endpoint is idempotent and the failure is
    /// transient. Returns the 2xx answer or the mapped error.
    pub async fn send(&self, base: &Url, call: &Call<'_>) -> Result<RawResponse, Error> {
        let ep = call.endpoint;
        if !endpoints::is_listed(ep) {
            debug_assert!(false, "{ep} is not a row of ENDPOINTS");
            return Err(Error::UnlistedEndpoint {
                method: ep.method,
                path: ep.path,
            });
        }
        let path = ep.render(&call.path_params);
        if path.contains('{') {
            return Err(Error::UnlistedEndpoint {
                method: ep.method,
                path: ep.path,
            });
        }
        let mut url = join(base, &path).map_err(|e| Error::Transport {
            detail: format!("bad base URL: {e}"),
        })?;
        if !call.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in &call.query {
                pairs.append_pair(k, v);
            }
        }
        let attempts = if ep.idempotent {
            self.retry.max_attempts.max(1)
        } else {
            1
        };
        let mut retry = 0u32;
        loop {
            let result = self.attempt(&url, call).await;
            let err = match result {
                Ok(resp) => return Ok(resp),
                Err(err) => err,
            };
            if retry + 1 >= attempts || !retryable(&err) {
                return Err(err);
            }
            let mut wait = self.retry.backoff(retry, &mut rand::thread_rng());
            if let Error::RateLimited {
                retry_at: Some(at), ..
            } = &err
            {
                let until = (*at - self.now()).to_std().unwrap_or(Duration::ZERO);
                if until > self.retry.max_wait {
                    return Err(err);
                }
                wait = wait.max(until);
            }
            tracing::debug!(endpoint = %ep, retry, wait_ms = wait.as_millis() as u64, error = %err, "retrying Zoom call");
            tokio::time::sleep(wait).await;
            retry += 1;
        }
    }

    async fn attempt(&self, url: &Url, call: &Call<'_>) -> Result<RawResponse, Error> {
        let ep = call.endpoint;
        let method = reqwest::Method::from_bytes(ep.method.as_bytes()).map_err(|_| {
            Error::UnlistedEndpoint {
                method: ep.method,
                path: ep.path,
            }
        })?;
        let mut req = self.http.request(method, url.clone()).timeout(self.timeout);
        let auth_value = match &call.auth {
            Auth::Bearer(token) => format!("Bearer {}", token.expose_secret()),
            Auth::Basic {
                client_id,
                client_secret,
            } => basic_auth_value(client_id, client_secret)
                .expose_secret()
                .to_owned(),
        };
        let mut header = HeaderValue::from_str(&auth_value).map_err(|_| Error::Transport {
            detail: "credential contains characters not allowed in a header".into(),
        })?;
        header.set_sensitive(true);
        req = req.header(AUTHORIZATION, header);
        req = match &call.body {
            Body::Empty => req,
            Body::Json(v) => req.json(v),
            Body::Form(pairs) => {
                let exposed: Vec<(&str, &str)> =
                    pairs.iter().map(|(k, v)| (*k, v.expose_secret())).collect();
                req.form(&exposed)
            }
        };

        let secrets = secrets_of(call);
        let outcome_matters = !ep.idempotent && ep.host == Host::Api;
        // Held until the whole answer is read; the semaphore is never closed.
        let _turn = self
            .in_flight
            .acquire()
            .await
            .map_err(|_| Error::Transport {
                detail: "the client is shutting down".into(),
            })?;
        let sent = req.send().await;
        let mut resp = match sent {
            Ok(r) => r,
            Err(e) => return Err(classify(&e, outcome_matters)),
        };
        let status = resp.status().as_u16();
        let headers: HeaderMap = resp.headers().clone();
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_BODY_BYTES {
                        return Err(if outcome_matters && (200..300).contains(&status) {
                            Error::CreateOutcomeUnknown {
                                cause: UnknownOutcome::UnreadableResponse,
                            }
                        } else {
                            Error::UnexpectedResponse {
                                status,
                                detail: "response body too large".into(),
                            }
                        });
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    // Headers arrived, the body did not: for a create the meeting exists
                    // if the status was 2xx, and may exist otherwise.
                    return Err(classify_after_headers(&e, outcome_matters));
                }
            }
        }
        tracing::debug!(endpoint = %ep, status, "Zoom answered");
        if (200..300).contains(&status) {
            return Ok(RawResponse { status, body });
        }
        let now = self.now();
        let err = match ep.host {
            Host::Api => error::from_api_response(status, &headers, &body, now, &secrets),
            Host::OAuth => error::from_oauth_response(status, &headers, &body, now, &secrets),
        };
        if let (true, Error::Server { status }) = (outcome_matters, &err) {
            return Err(Error::CreateOutcomeUnknown {
                cause: UnknownOutcome::ServerError { status: *status },
            });
        }
        Err(err)
    }
}

fn secrets_of<'a>(call: &'a Call<'_>) -> Vec<&'a str> {
    let mut out = Vec::new();
    match &call.auth {
        Auth::Bearer(t) => out.push(t.expose_secret()),
        Auth::Basic { client_secret, .. } => out.push(client_secret.expose_secret()),
    }
    if let Body::Form(pairs) = &call.body {
        for (_, v) in pairs {
            out.push(v.expose_secret());
        }
    }
    out
}

fn retryable(err: &Error) -> bool {
    match err {
        Error::RateLimited { kind, .. } => *kind == crate::error::RateLimitKind::PerSecond,
        Error::Server { .. } | Error::Timeout | Error::Transport { .. } => true,
        _ => false,
    }
}

/// A failure before any answer arrived.
fn classify(e: &reqwest::Error, outcome_matters: bool) -> Error {
    if e.is_connect() {
        // The connection was never established, so the request was not sent: safe to
        // report as a plain transport failure even for a create.
        return if e.is_timeout() {
            Error::Timeout
        } else {
            Error::Transport {
                detail: describe(e),
            }
        };
    }
    if outcome_matters {
        let cause = if e.is_timeout() {
            UnknownOutcome::Timeout
        } else {
            UnknownOutcome::ConnectionLost
        };
        return Error::CreateOutcomeUnknown { cause };
    }
    if e.is_timeout() {
        Error::Timeout
    } else {
        Error::Transport {
            detail: describe(e),
        }
    }
}

fn classify_after_headers(e: &reqwest::Error, outcome_matters: bool) -> Error {
    if outcome_matters {
        return Error::CreateOutcomeUnknown {
            cause: if e.is_timeout() {
                UnknownOutcome::Timeout
            } else {
                UnknownOutcome::ConnectionLost
            },
        };
    }
    if e.is_timeout() {
        Error::Timeout
    } else {
        Error::Transport {
            detail: describe(e),
        }
    }
}

/// reqwest's message plus its causes. URLs in it carry no credentials: tokens and codes
/// travel only in headers and form bodies.
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// A reqwest client suited to Zoom calls: rustls, a connect timeout, and no redirects
/// (a redirected API call would otherwise be re-sent, possibly as another method, to a
/// host we did not choose). Pass it to [`crate::ZoomClient::new`] and
/// [`crate::OAuthClient::new`]; any other client works too.
pub fn http_client() -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("rapport-zoom-api/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::Transport {
            detail: describe(&e),
        })
}

/// `Basic base64(client_id:client_secret)`, the client authentication Zoom requires.
pub fn basic_auth_value(client_id: &str, client_secret: &SecretString) -> SecretString {
    use base64::Engine;
    let raw = format!("{client_id}:{}", client_secret.expose_secret());
    SecretString::from(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    ))
}
