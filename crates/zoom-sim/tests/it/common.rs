use base64::Engine;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use zoom_sim::{AppConfig, SimBuilder, SimHandle, ZoomSim};

pub const CLIENT_ID: &str = "rapport_client";
pub const CLIENT_SECRET: &str = "rapport_secret_value";
pub const REDIRECT: &str = "http://127.0.0.1:1/zoom/callback";
pub const WEBHOOK_SECRET: &str = "8HpxXEAYTCCEDbM5QZi3DA";

pub fn app(webhook_url: Option<String>) -> AppConfig {
    AppConfig {
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
        redirect_urls: vec![REDIRECT.into()],
        webhook_url,
        webhook_secret: WEBHOOK_SECRET.into(),
        verification_token: None,
        scopes: vec![
            "meeting:write:meeting".into(),
            "meeting:read:meeting".into(),
            "meeting:update:meeting".into(),
            "meeting:delete:meeting".into(),
            "meeting:read:list_meetings".into(),
            "user:read:user".into(),
        ],
        name: "Rapport CRM".into(),
        events: vec![],
    }
}

/// Frozen clock; rate limits off (the rate-limit tests turn them on).
pub fn builder() -> SimBuilder {
    ZoomSim::builder()
        .app(app(None))
        .freeze_clock()
        .rate_limits(zoom_sim::RateLimitConfig::unlimited())
}

pub async fn start() -> SimHandle {
    builder().start("127.0.0.1:0").await.unwrap()
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn basic() -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    )
}

pub fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

pub fn code_for(sim: &SimHandle, email: &str) -> String {
    sim.authorize(zoom_sim::AuthorizeRequest {
        email: email.into(),
        client_id: CLIENT_ID.into(),
        redirect_uri: REDIRECT.into(),
        state: Some("st".into()),
        ..Default::default()
    })
    .unwrap()
    .code
    .unwrap()
}

pub async fn exchange(sim: &SimHandle, code: &str) -> reqwest::Response {
    client()
        .post(format!("{}/oauth/token", sim.base_url()))
        .header("authorization", basic())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
        ])
        .send()
        .await
        .unwrap()
}

/// Consent + code exchange: returns the token response.
pub async fn connect(sim: &SimHandle, email: &str) -> Value {
    let code = code_for(sim, email);
    let r = exchange(sim, &code).await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

pub async fn refresh(sim: &SimHandle, rt: &str) -> reqwest::Response {
    client()
        .post(format!("{}/oauth/token", sim.base_url()))
        .header("authorization", basic())
        .form(&[("grant_type", "refresh_token"), ("refresh_token", rt)])
        .send()
        .await
        .unwrap()
}

pub fn at(tokens: &Value) -> String {
    tokens["access_token"].as_str().unwrap().to_string()
}

pub async fn api(
    sim: &SimHandle,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut req = client()
        .request(method, format!("{}/v2{path}", sim.base_url()))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap()
}

pub async fn create_meeting(sim: &SimHandle, token: &str, body: Value) -> Value {
    let r = api(
        sim,
        token,
        reqwest::Method::POST,
        "/users/me/meetings",
        Some(body),
    )
    .await;
    assert_eq!(r.status(), 201);
    r.json().await.unwrap()
}

pub fn future_start() -> String {
    "2099-06-01T15:00:00Z".to_string()
}

pub fn meeting_body(topic: &str) -> Value {
    json!({"topic": topic, "type": 2, "start_time": future_start(), "duration": 30, "timezone": "Europe/Paris", "agenda": "Talk"})
}

/// A webhook as the test receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A tiny axum receiver; answers URL validation challenges with `answer_secret`.
#[allow(dead_code)]
pub struct Receiver {
    pub url: String,
    pub rx: mpsc::UnboundedReceiver<Received>,
    pub status: Arc<Mutex<u16>>,
}

impl Receiver {
    pub async fn start(answer_secret: &'static str) -> Receiver {
        let (tx, rx) = mpsc::unbounded_channel();
        let status = Arc::new(Mutex::new(200u16));
        let st = status.clone();
        let handler = move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let tx = tx.clone();
            let st = st.clone();
            async move {
                let mut h = reqwest::header::HeaderMap::new();
                for (k, v) in headers.iter() {
                    h.insert(k.clone(), v.clone());
                }
                let _ = tx.send(Received {
                    headers: h,
                    body: body.to_vec(),
                });
                let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let code = axum::http::StatusCode::from_u16(*st.lock().unwrap()).unwrap();
                if v["event"] == "endpoint.url_validation" {
                    let plain = v["payload"]["plainToken"]
                        .as_str()
                        .unwrap_or("")
                        .to_string();
                    let enc = zoom_sim::encrypt_plain_token(answer_secret, &plain);
                    return (
                        code,
                        axum::Json(json!({"plainToken": plain, "encryptedToken": enc})),
                    );
                }
                (code, axum::Json(json!({})))
            }
        };
        let router = axum::Router::new().route("/hook", axum::routing::post(handler));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Receiver {
            url: format!("http://{addr}/hook"),
            rx,
            status,
        }
    }

    pub async fn next(&mut self) -> Received {
        tokio::time::timeout(std::time::Duration::from_secs(10), self.rx.recv())
            .await
            .expect("webhook not received in 10 s")
            .expect("receiver closed")
    }
}

/// Verifies a webhook's signature the way a receiver should (raw bytes).
pub fn signature_ok(r: &Received, secret: &str) -> bool {
    let ts: i64 = r.headers["x-zm-request-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let sig = r.headers["x-zm-signature"].to_str().unwrap();
    zoom_sim::sign(secret, ts, &r.body) == sig
}
