//! No secret in the logs: the real `rapport` binary, logging at debug level through its own
//! subscriber, goes through connect, refresh, scheduling, webhooks and disconnect against a
//! simulator this test controls, with canary credentials; then every secret it saw or was given
//! is searched for in everything it wrote.

use reqwest::StatusCode;
use zoom_sim::{AppConfig, AuthorizeRequest, Plan, SimConfig};

use crate::kit::{self, PASSWORD, RapportProcess, eventually};
use crate::support::{csrf_token_in, location, new_client, submit_with};

fn query_param(url: &str, name: &str) -> String {
    url::Url::parse(url)
        .expect("URL")
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("{name} in {url}"))
}

/// The session cookie's value, when a response sets one.
fn session_cookie(response: &reqwest::Response) -> Option<String> {
    kit::set_cookie(response, "rapport_session")
        .map(|c| kit::cookie_value(&c))
        .filter(|v| !v.is_empty())
}

async fn canary_run(database_url: Option<String>) {
    let data_dir = tempfile::tempdir().unwrap();
    let sim_dir = tempfile::tempdir().unwrap();
    let sim_state = sim_dir.path().join("sim.json");
    let client_id = "canary-client-id";
    let client_secret = format!("canary-client-secret-{}", rapport::crypto::random_token());
    let webhook_secret = format!("canary-webhook-secret-{}", rapport::crypto::random_token());
    let secret_key = rapport::vault::generate_key();
    // Tokens that expire in two minutes are inside the refresh margin at once: the first use
    // of the connection refreshes it.
    let sim = zoom_sim::ZoomSim::builder()
        .config(SimConfig {
            expires_in: 120,
            ..SimConfig::default()
        })
        .state_file(&sim_state)
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let sim_url = sim.base_url();
    let data = data_dir.path().display().to_string();
    let mut env = vec![
        ("RAPPORT_ADDR", "127.0.0.1:0"),
        ("RAPPORT_DATA_DIR", data.as_str()),
        ("RAPPORT_SECRET_KEY", secret_key.as_str()),
        ("ZOOM_CLIENT_ID", client_id),
        ("ZOOM_CLIENT_SECRET", client_secret.as_str()),
        ("ZOOM_WEBHOOK_SECRET_TOKEN", webhook_secret.as_str()),
        ("ZOOM_OAUTH_URL", sim_url.as_str()),
        ("ZOOM_API_URL", sim_url.as_str()),
        ("ZOOM_DATA_COMPLIANCE", "on"),
        ("RAPPORT_LOG", "debug"),
        ("RUST_LOG", "debug"),
    ];
    if let Some(url) = &database_url {
        env.push(("DATABASE_URL", url.as_str()));
    }
    let (rapport, base) = RapportProcess::serve(&env).await;
    sim.add_app(AppConfig {
        client_id: client_id.into(),
        client_secret: client_secret.clone(),
        redirect_urls: vec![format!("{base}/settings/zoom/callback")],
        webhook_url: Some(format!("{base}/webhooks/zoom")),
        webhook_secret: webhook_secret.clone(),
        verification_token: None,
        scopes: zoom_api::endpoints::required_scopes()
            .iter()
            .map(str::to_owned)
            .collect(),
        name: "Rapport".into(),
        events: Vec::new(),
    });
    let mut canaries = vec![
        client_secret.clone(),
        webhook_secret.clone(),
        secret_key.clone(),
        PASSWORD.to_owned(),
    ];

    // Sign up: the session cookie.
    let browser = new_client();
    let response = submit_with(
        &browser,
        &base,
        "/sign-up",
        "/sign-up",
        &[
            ("name", "Ada"),
            ("email", "ada@example.com"),
            ("password", PASSWORD),
            ("org_name", "Ada Co"),
            ("time_zone", "Europe/Paris"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    canaries.push(session_cookie(&response).expect("signing up sets the session cookie"));

    // Connect Zoom: the authorization code (and the state) travel in the callback URL.
    let response = submit_with(&browser, &base, "/settings", "/settings/zoom/connect", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let to_zoom = location(&response);
    let consent = sim
        .authorize(AuthorizeRequest {
            email: "ada.zoom@example.com".into(),
            plan: Some(Plan::Licensed),
            client_id: query_param(&to_zoom, "client_id"),
            redirect_uri: query_param(&to_zoom, "redirect_uri"),
            state: Some(query_param(&to_zoom, "state")),
            code_challenge: Some(query_param(&to_zoom, "code_challenge")),
            code_challenge_method: Some(query_param(&to_zoom, "code_challenge_method")),
            decline: false,
        })
        .expect("consent");
    canaries.push(consent.code.clone().expect("a code"));
    canaries.push(query_param(&to_zoom, "state"));
    let response = browser.get(&consent.redirect_url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/settings");
    canaries.extend(session_cookie(&response));
    let (_, settings) = kit::get_text(&browser, &base, "/settings").await;
    assert!(settings.contains("ada.zoom@example.com"), "{settings}");

    // Schedule a meeting: the token is refreshed first, then Zoom creates the meeting and sends
    // its webhook back.
    let contact = kit::create_contact(
        &browser,
        &base,
        &[("name", "Grace Hopper"), ("email", "grace@example.com")],
    )
    .await;
    let (status, form) = kit::get_text(
        &browser,
        &base,
        &format!("/contacts/{contact}/meetings/new"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{form}");
    let csrf = csrf_token_in(&form).expect("csrf");
    let marker = "name=\"idempotency_key\" value=\"";
    let start = form.find(marker).expect("idempotency key") + marker.len();
    let key = &form[start..start + form[start..].find('"').unwrap()];
    let response = browser
        .post(format!("{base}/contacts/{contact}/meetings"))
        .form(&[
            ("topic", "Compiler review"),
            ("date", "2027-03-02"),
            ("time", "15:00"),
            ("time_zone", "Europe/Paris"),
            ("duration", "30"),
            ("agenda", ""),
            ("csrf_token", csrf.as_str()),
            ("idempotency_key", key),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "scheduled");
    assert!(
        eventually(10, || async { sim.meetings().len() == 1 }).await,
        "the meeting exists in Zoom"
    );
    let refreshes = sim
        .requests()
        .iter()
        .filter(|r| r.grant_type.as_deref() == Some("refresh_token") && r.status == 200)
        .count();
    assert!(refreshes >= 1, "the token was refreshed");
    let validation = sim.validate_webhook_endpoint(client_id).await;
    assert!(validation.ok, "{validation:?}");

    // A password link's token is in its path; the request's log lines must not carry it.
    let link_token = format!("canary-link-token-{}", rapport::crypto::random_token());
    let response = browser
        .get(format!("{base}/reset-password/{link_token}"))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error(), "{}", response.status());
    canaries.push(link_token);

    // Disconnect: revoke at Zoom, app_deauthorized back, data compliance call.
    let response = submit_with(
        &browser,
        &base,
        "/settings/zoom/disconnect",
        "/settings/zoom/disconnect",
        &[],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let done = eventually(20, || async {
        let deliveries = sim.webhook_deliveries();
        let delivered = |event: &str| {
            deliveries
                .iter()
                .any(|d| d.event == event && d.done && d.status == Some(200))
        };
        delivered("meeting.created")
            && delivered("app_deauthorized")
            && sim
                .requests()
                .iter()
                .any(|r| r.path == "/oauth/data/compliance" && r.status == 200)
    })
    .await;
    assert!(
        done,
        "webhooks and the compliance call: {:?}\n{}",
        sim.webhook_deliveries(),
        rapport.output()
    );
    assert!(
        eventually(10, || async {
            let out = rapport.output();
            ["zoom_revoke", "zoom_webhook", "zoom_data_compliance"]
                .iter()
                .all(|kind| {
                    out.lines()
                        .any(|l| l.contains("job done") && l.contains(kind))
                })
        })
        .await,
        "Rapport's worker ran the revoke, webhook and compliance jobs:\n{}",
        rapport.output()
    );
    let log = rapport.stop();

    sim.save_now().unwrap();
    let tokens = crate::zoom::tokens_in_sim_state(&sim_state);
    assert!(tokens.len() >= 4, "two grants' worth of tokens: {tokens:?}");
    canaries.extend(tokens);
    // The logs are real: debug level, with the flow in them.
    assert!(log.contains("DEBUG"), "debug logging is on");
    assert!(log.contains("Zoom access token refreshed"), "{log}");
    for canary in &canaries {
        assert!(
            canary.len() >= 16,
            "a canary too short to mean anything: {canary:?}"
        );
        if let Some(line) = log.lines().find(|l| l.contains(canary.as_str())) {
            panic!("a secret is in the log: {line}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_the_logs_sqlite() {
    canary_run(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_the_logs_postgres() {
    let Some(server) = crate::support::postgres_server_url() else {
        return;
    };
    canary_run(Some(crate::support::fresh_postgres_database(&server).await)).await;
}
