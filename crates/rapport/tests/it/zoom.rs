//! The Zoom connection over real HTTP against the embedded simulator: connect and callback
//! (and every refused case), refresh with the clocks, the refresh race across two nodes,
//! disconnect and deauthorization leaving no Zoom value behind, webhooks, the feature flag.

use std::collections::HashMap;

use reqwest::StatusCode;
use zoom_sim::{AuthorizeRequest, Fault, FaultAction, Plan};

use crate::kit::{self, PASSWORD, count, get_text, sign_in_with};
use crate::support::{Db, TestApp, location, new_client, submit_with};
use crate::{both_databases, both_databases_with};

pub fn sim(app: &TestApp) -> &zoom_sim::SimHandle {
    app.state
        .zoom
        .simulator
        .as_ref()
        .expect("embedded simulator")
}

/// Token requests at the simulator with this grant type.
pub fn token_requests(app: &TestApp, grant_type: &str) -> usize {
    sim(app)
        .requests()
        .iter()
        .filter(|r| r.path == "/oauth/token" && r.grant_type.as_deref() == Some(grant_type))
        .count()
}

fn all_token_requests(app: &TestApp) -> usize {
    sim(app)
        .requests()
        .iter()
        .filter(|r| r.path == "/oauth/token")
        .count()
}

/// What Rapport sent the browser to Zoom with.
struct Started {
    query: HashMap<String, String>,
}

/// Presses "Connect Zoom" on the settings page.
async fn start_connect(app: &TestApp, client: &reqwest::Client) -> Started {
    let response = submit_with(
        client,
        &app.base,
        "/settings",
        "/settings/zoom/connect",
        &[],
    )
    .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "connect redirects"
    );
    let to = location(&response);
    let url = url::Url::parse(&to).expect("absolute authorize URL");
    assert!(
        to.starts_with(&format!("{}/oauth/authorize", sim(app).base_url())),
        "{to}"
    );
    let query: HashMap<String, String> = url.query_pairs().into_owned().collect();
    Started { query }
}

/// The simulator's consent step for a started flow; returns the callback URL.
fn consent(app: &TestApp, started: &Started, email: &str, plan: Plan, decline: bool) -> String {
    let q = &started.query;
    sim(app)
        .authorize(AuthorizeRequest {
            email: email.into(),
            plan: Some(plan),
            client_id: q["client_id"].clone(),
            redirect_uri: q["redirect_uri"].clone(),
            state: q.get("state").cloned(),
            code_challenge: q.get("code_challenge").cloned(),
            code_challenge_method: q.get("code_challenge_method").cloned(),
            decline,
        })
        .expect("sim authorize")
        .redirect_url
}

async fn get_url(client: &reqwest::Client, url: &str) -> reqwest::Response {
    client.get(url).send().await.expect("GET")
}

/// The whole connect flow; asserts it ends on /settings.
pub async fn connect(app: &TestApp, client: &reqwest::Client, email: &str, plan: Plan) -> String {
    let started = start_connect(app, client).await;
    let callback = consent(app, &started, email, plan, false);
    let response = get_url(client, &callback).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "callback redirects"
    );
    assert_eq!(location(&response), "/settings");
    callback
}

/// Another Rapport node on `first`'s database and Zoom app (its embedded simulator), using
/// `key` for the token vault: a second server of the same installation.
pub async fn node_sharing(first: &TestApp, key: &str) -> TestApp {
    let app_config = sim(first).apps().into_iter().next().expect("sim app");
    let sim_url = sim(first).base_url();
    TestApp::spawn_with(
        first.db,
        Some(first.database_url.clone()),
        &[
            "--secret-key",
            key,
            "--zoom-client-id",
            &app_config.client_id,
            "--zoom-client-secret",
            &app_config.client_secret,
            "--zoom-webhook-secret-token",
            &app_config.webhook_secret,
            "--zoom-oauth-url",
            &sim_url,
            "--zoom-api-url",
            &sim_url,
        ],
    )
    .await
}

pub async fn user_id(app: &TestApp, email: &str) -> i64 {
    kit::scalar(
        app,
        &format!("SELECT id FROM users WHERE email = '{email}'"),
    )
    .await
}

async fn org_id(app: &TestApp, email: &str) -> i64 {
    kit::scalar(
        app,
        &format!("SELECT org_id FROM users WHERE email = '{email}'"),
    )
    .await
}

/// Every token value the simulator ever issued (from its state file).
fn sim_tokens(app: &TestApp) -> Vec<String> {
    sim(app).save_now().expect("save sim state");
    tokens_in_sim_state(&app.state.config.data_dir.join("zoom-simulator.json"))
}

/// Every access and refresh token (live or used up) in a simulator's state file.
pub fn tokens_in_sim_state(path: &std::path::Path) -> Vec<String> {
    let raw = std::fs::read_to_string(path).expect("sim state file");
    let json: serde_json::Value = serde_json::from_str(&raw).expect("sim state json");
    let mut out = Vec::new();
    fn walk(v: &serde_json::Value, key: Option<&str>, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    walk(v, Some(k), out);
                }
            }
            serde_json::Value::Array(a) => {
                for v in a {
                    walk(v, key, out);
                }
            }
            serde_json::Value::String(s)
                if matches!(key, Some("token" | "refresh_token" | "used_refresh_tokens")) =>
            {
                out.push(s.clone());
            }
            _ => {}
        }
    }
    walk(&json, None, &mut out);
    assert!(!out.is_empty(), "the simulator issued tokens");
    out
}

/// Every (table.column) holding `needle` anywhere in its text form.
async fn scan(app: &TestApp, needle: &str) -> Vec<String> {
    let mut pooled = app.state.db.acquire().await.expect("conn");
    let mut conn = pooled.conn();
    let list_sql = match app.db {
        Db::Sqlite => {
            "SELECT m.name || '.' || p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table'"
        }
        Db::Postgres => {
            "SELECT table_name::text || '.' || column_name::text FROM information_schema.columns WHERE table_schema = current_schema()"
        }
    };
    let columns: Vec<String> =
        rapport::sql_scalar!(&mut conn, String, fetch_all, list_sql).expect("list columns");
    assert!(columns.len() > 20, "found the schema: {columns:?}");
    let mut hits = Vec::new();
    for tc in columns {
        let (t, c) = tc.split_once('.').expect("table.column");
        let sql = match app.db {
            Db::Sqlite => {
                format!("SELECT COUNT(*) FROM \"{t}\" WHERE instr(CAST(\"{c}\" AS TEXT), $1) > 0")
            }
            Db::Postgres => {
                format!("SELECT COUNT(*) FROM \"{t}\" WHERE strpos(\"{c}\"::text, $1) > 0")
            }
        };
        let n: i64 = rapport::sql_scalar!(
            &mut conn,
            i64,
            fetch_one,
            sqlx::AssertSqlSafe(sql),
            needle.to_owned()
        )
        .expect("scan column");
        if n > 0 {
            hits.push(tc);
        }
    }
    hits
}

/// The Zoom-origin values of a connected user: ids, email, and every token the sim issued.
async fn zoom_values(app: &TestApp, zoom_email: &str) -> Vec<String> {
    let user = sim(app).user_by_email(zoom_email).expect("sim user");
    let mut values = vec![user.id, user.email, user.account_id];
    values.extend(sim_tokens(app));
    values
}

async fn assert_no_zoom_values(app: &TestApp, values: &[String]) {
    for v in values {
        let hits = scan(app, v).await;
        assert!(hits.is_empty(), "Zoom value {v:?} still stored in {hits:?}");
    }
}

async fn settings(app: &TestApp, client: &reqwest::Client) -> String {
    let (status, body) = get_text(client, &app.base, "/settings").await;
    assert_eq!(status, StatusCode::OK);
    body
}

// ---------------------------------------------------------------- connect flow

both_databases!(connect_flow_links_the_account, |app: TestApp| async move {
    app.sign_up("Ada", "ada@example.com", "Ada Co").await;
    let started = start_connect(&app, &app.client).await;
    assert_eq!(started.query["response_type"], "code");
    assert_eq!(started.query["code_challenge_method"], "S256");
    assert!(started.query["code_challenge"].len() >= 43);
    assert!(started.query["state"].len() >= 20);
    assert!(started.query["redirect_uri"].ends_with("/settings/zoom/callback"));
    let callback = consent(&app, &started, "ada.zoom@example.com", Plan::Basic, false);
    let response = get_url(&app.client, &callback).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/settings");
    assert_eq!(token_requests(&app, "authorization_code"), 1);

    let page = settings(&app, &app.client).await;
    assert!(page.contains("ada.zoom@example.com"), "{page}");
    assert!(page.contains("Basic (free)"));
    assert!(page.contains("Disconnect"));
    assert!(!page.contains("Connect Zoom</button>"));

    // Stored encrypted: no raw token issued by the sim is in the table.
    let values = sim_tokens(&app);
    for token in &values {
        assert!(
            scan(&app, token).await.is_empty(),
            "raw token stored in the database"
        );
    }
    let mut pooled = app.state.db.acquire().await.unwrap();
    let row = rapport::zoom::storage::for_user(
        &mut pooled.conn(),
        user_id(&app, "ada@example.com").await,
    )
    .await
    .unwrap()
    .expect("connection");
    assert!(row.access_token.starts_with("v1:"));
    assert!(row.refresh_token.starts_with("v1:"));
    drop(pooled);

    // Licensed plan shows as such.
    let app2_client = kit::browser_with_org(&app, "Bob", "bob@example.com", "Bob Co").await;
    connect(&app, &app2_client, "bob.zoom@example.com", Plan::Licensed).await;
    let page = settings(&app, &app2_client).await;
    assert!(page.contains("bob.zoom@example.com"));
    assert!(page.contains("Licensed"));

    // The tokens work.
    let token =
        rapport::zoom::tokens::access_token(&app.state, user_id(&app, "ada@example.com").await)
            .await
            .expect("token");
    let me = app.state.zoom.api.me(&token).await.expect("me");
    assert_eq!(me.email.as_deref(), Some("ada.zoom@example.com"));
});

// ---------------------------------------------------------------- refused callbacks

/// A refused callback: 4xx page saying so, no token request, nothing stored.
async fn assert_refused(app: &TestApp, client: &reqwest::Client, url: &str) {
    let before = all_token_requests(app);
    let response = get_url(client, url).await;
    let status = response.status();
    let body = response.text().await.unwrap();
    assert!(status.is_client_error(), "{status}: {body}");
    assert!(body.contains("Zoom connection not completed"), "{body}");
    assert_eq!(
        all_token_requests(app),
        before,
        "no token request for a refused state"
    );
    assert_eq!(count(app, "connections").await, 0, "nothing stored");
}

both_databases!(callback_refuses_bad_states, |app: TestApp| async move {
    app.sign_up("Ada", "ada@example.com", "Ada Co").await;
    let started = start_connect(&app, &app.client).await;
    let callback = consent(&app, &started, "ada.zoom@example.com", Plan::Basic, false);
    let mut url = url::Url::parse(&callback).unwrap();
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let code = pairs.iter().find(|(k, _)| k == "code").unwrap().1.clone();

    // Missing state.
    url.set_query(Some(&format!("code={code}")));
    assert_refused(&app, &app.client, url.as_str()).await;
    // Wrong state.
    url.set_query(Some(&format!("code={code}&state=not-the-state")));
    assert_refused(&app, &app.client, url.as_str()).await;

    // Expired: the app clock moves 11 minutes before the browser comes back.
    let started = start_connect(&app, &app.client).await;
    let callback = consent(&app, &started, "ada.zoom@example.com", Plan::Basic, false);
    app.state.clock.advance(chrono::Duration::minutes(11));
    assert_refused(&app, &app.client, &callback).await;

    // Started in browser A, finished in browser B of the same user.
    let other_browser = new_client();
    sign_in_with(
        &other_browser,
        &app.base,
        "ada@example.com",
        PASSWORD,
        "/contacts",
    )
    .await;
    let started = start_connect(&app, &app.client).await;
    let callback = consent(&app, &started, "ada.zoom@example.com", Plan::Basic, false);
    assert_refused(&app, &other_browser, &callback).await;
    // ... and the state is used up: browser A cannot finish it either.
    assert_refused(&app, &app.client, &callback).await;

    // Finished by another user.
    let mallory = kit::browser_with_org(&app, "Mal", "mal@example.com", "Mal Co").await;
    let started = start_connect(&app, &app.client).await;
    let callback = consent(&app, &started, "ada.zoom@example.com", Plan::Basic, false);
    assert_refused(&app, &mallory, &callback).await;

    // Reused: a successful callback replayed.
    let callback = connect(&app, &app.client, "ada.zoom@example.com", Plan::Basic).await;
    let before = all_token_requests(&app);
    let response = get_url(&app.client, &callback).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(all_token_requests(&app), before);
    assert_eq!(count(&app, "connections").await, 1);
});

both_databases!(declining_stores_nothing, |app: TestApp| async move {
    app.sign_up("Ada", "ada@example.com", "Ada Co").await;
    let started = start_connect(&app, &app.client).await;
    let callback = consent(&app, &started, "ada.zoom@example.com", Plan::Basic, true);
    let response = get_url(&app.client, &callback).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/settings");
    let page = settings(&app, &app.client).await;
    assert!(page.contains("declined"), "{page}");
    assert!(page.contains("Connect Zoom"));
    assert_eq!(all_token_requests(&app), 0);
    assert_eq!(count(&app, "connections").await, 0);
});

both_databases!(a_replayed_code_is_refused, |app: TestApp| async move {
    app.sign_up("Ada", "ada@example.com", "Ada Co").await;
    let callback = connect(&app, &app.client, "ada.zoom@example.com", Plan::Basic).await;
    let old = url::Url::parse(&callback).unwrap();
    let code = old
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    // A new flow, finished with the old code.
    let started = start_connect(&app, &app.client).await;
    let mut url = old.clone();
    url.set_query(Some(&format!(
        "code={code}&state={}",
        started.query["state"]
    )));
    let response = get_url(&app.client, url.as_str()).await;
    assert!(!response.status().is_success() && !response.status().is_redirection());
    let body = response.text().await.unwrap();
    assert!(body.contains("Zoom connection not completed"), "{body}");
    let failed = sim(&app)
        .requests()
        .iter()
        .filter(|r| r.path == "/oauth/token" && r.status >= 400)
        .count();
    assert_eq!(failed, 1, "Zoom refused the replayed code");
});

both_databases!(
    a_zoom_account_links_one_user_only,
    |app: TestApp| async move {
        app.sign_up("Ada", "ada@example.com", "Ada Co").await;
        connect(&app, &app.client, "shared.zoom@example.com", Plan::Basic).await;
        let bob = kit::browser_with_org(&app, "Bob", "bob@example.com", "Bob Co").await;
        let started = start_connect(&app, &bob).await;
        let callback = consent(
            &app,
            &started,
            "shared.zoom@example.com",
            Plan::Basic,
            false,
        );
        let response = get_url(&bob, &callback).await;
        assert_eq!(response.status(), StatusCode::CONFLICT);
        let body = response.text().await.unwrap();
        assert!(body.contains("already connected"), "{body}");
        assert!(body.contains("shared.zoom@example.com"));
        assert_eq!(
            count(
                &app,
                &format!(
                    "connections WHERE user_id = {}",
                    user_id(&app, "bob@example.com").await
                )
            )
            .await,
            0
        );
        // Ada's connection still works.
        let token =
            rapport::zoom::tokens::access_token(&app.state, user_id(&app, "ada@example.com").await)
                .await
                .expect("ada's token");
        let me = app
            .state
            .zoom
            .api
            .me(&token)
            .await
            .expect("ada's token works");
        assert_eq!(me.email.as_deref(), Some("shared.zoom@example.com"));
        assert!(
            settings(&app, &app.client)
                .await
                .contains("shared.zoom@example.com")
        );
    }
);

// ---------------------------------------------------------------- expiry and refresh

pub fn advance_both(app: &TestApp, minutes: i64) {
    app.state.clock.advance(chrono::Duration::minutes(minutes));
    sim(app).advance_clock(std::time::Duration::from_secs(60 * minutes as u64));
}

both_databases!(expiry_refresh_and_reconnect, |app: TestApp| async move {
    app.sign_up("Ada", "ada@example.com", "Ada Co").await;
    connect(&app, &app.client, "ada.zoom@example.com", Plan::Basic).await;
    let uid = user_id(&app, "ada@example.com").await;
    let first = rapport::zoom::tokens::access_token(&app.state, uid)
        .await
        .unwrap();
    assert_eq!(
        token_requests(&app, "refresh_token"),
        0,
        "a fresh token is not refreshed"
    );

    advance_both(&app, 56);
    let token = rapport::zoom::tokens::access_token(&app.state, uid)
        .await
        .unwrap();
    assert_eq!(token_requests(&app, "refresh_token"), 1);
    assert_ne!(token.expose_secret(), first.expose_secret());
    app.state
        .zoom
        .api
        .me(&token)
        .await
        .expect("the new token works");
    // Used again: no second refresh.
    rapport::zoom::tokens::access_token(&app.state, uid)
        .await
        .unwrap();
    assert_eq!(token_requests(&app, "refresh_token"), 1);

    // Zoom refuses the next refresh: the connection needs reconnecting.
    assert_eq!(
        sim(&app).expire_refresh_tokens(Some("ada.zoom@example.com"), None),
        1
    );
    advance_both(&app, 56);
    let err = rapport::zoom::tokens::access_token(&app.state, uid)
        .await
        .unwrap_err();
    assert!(
        matches!(err, rapport::zoom::tokens::TokenError::NeedsReconnect),
        "{err}"
    );
    let (_, contacts) = get_text(&app.client, &app.base, "/contacts").await;
    assert!(
        contacts.contains("Zoom connection needs reconnecting"),
        "{contacts}"
    );
    let page = settings(&app, &app.client).await;
    assert!(page.contains("Needs reconnecting"));
    assert!(page.contains("Reconnect Zoom"));

    // Reconnecting clears it.
    connect(&app, &app.client, "ada.zoom@example.com", Plan::Basic).await;
    let (_, contacts) = get_text(&app.client, &app.base, "/contacts").await;
    assert!(!contacts.contains("Zoom connection needs reconnecting"));
    assert!(
        !settings(&app, &app.client)
            .await
            .contains("Needs reconnecting")
    );
    let token = rapport::zoom::tokens::access_token(&app.state, uid)
        .await
        .unwrap();
    app.state
        .zoom
        .api
        .me(&token)
        .await
        .expect("works after reconnecting");
});

both_databases!(
    a_grant_revoked_in_zoom_needs_reconnecting,
    |app: TestApp| async move {
        app.sign_up("Ada", "ada@example.com", "Ada Co").await;
        connect(&app, &app.client, "ada.zoom@example.com", Plan::Basic).await;
        let uid = user_id(&app, "ada@example.com").await;
        assert_eq!(
            sim(&app).revoke_grants(Some("ada.zoom@example.com"), None, false),
            1
        );
        advance_both(&app, 56);
        let err = rapport::zoom::tokens::access_token(&app.state, uid)
            .await
            .unwrap_err();
        assert!(
            matches!(err, rapport::zoom::tokens::TokenError::NeedsReconnect),
            "{err}"
        );
        assert!(
            settings(&app, &app.client)
                .await
                .contains("Needs reconnecting")
        );
    }
);

// ---------------------------------------------------------------- the refresh race

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refresh_race_across_two_nodes_refreshes_once() {
    let Some(server) = crate::support::postgres_server_url() else {
        return;
    };
    let url = crate::support::fresh_postgres_database(&server).await;
    let key = rapport::vault::generate_key();
    let a = TestApp::spawn_with(Db::Postgres, Some(url.clone()), &["--secret-key", &key]).await;
    let b = node_sharing(&a, &key).await;
    a.sign_up("Ada", "ada@example.com", "Ada Co").await;
    connect(&a, &a.client, "ada.zoom@example.com", Plan::Basic).await;
    let uid = user_id(&a, "ada@example.com").await;
    // Node B reads the same connection.
    rapport::zoom::tokens::access_token(&b.state, uid)
        .await
        .expect("node b reads the token");

    advance_both(&a, 56);
    b.state.clock.advance(chrono::Duration::minutes(56));
    let mut calls = Vec::new();
    for i in 0..100 {
        let state = if i % 2 == 0 {
            a.state.clone()
        } else {
            b.state.clone()
        };
        calls.push(tokio::spawn(async move {
            rapport::zoom::tokens::access_token(&state, uid).await
        }));
    }
    let mut tokens = std::collections::HashSet::new();
    for call in calls {
        let token = call.await.unwrap().expect("every caller gets a token");
        tokens.insert(token.expose_secret().to_owned());
    }
    assert_eq!(
        token_requests(&a, "refresh_token"),
        1,
        "exactly one refresh"
    );
    assert_eq!(tokens.len(), 1, "everyone got the refreshed token");
    let token = rapport::zoom::tokens::access_token(&b.state, uid)
        .await
        .unwrap();
    a.state
        .zoom
        .api
        .me(&token)
        .await
        .expect("refreshed token works");
    let mut pooled = a.state.db.acquire().await.unwrap();
    let row = rapport::zoom::storage::for_user(&mut pooled.conn(), uid)
        .await
        .unwrap()
        .unwrap();
    assert!(row.is_active());
}

// ---------------------------------------------------------------- disconnect, deauthorization

both_databases!(disconnect_leaves_no_zoom_value, |app: TestApp| async move {
    app.sign_up("Ada", "ada@example.com", "Ada Co").await;
    connect(&app, &app.client, "ada.zoom@example.com", Plan::Licensed).await;
    let uid = user_id(&app, "ada@example.com").await;
    // A refresh too, so there are rotated tokens to look for.
    advance_both(&app, 56);
    rapport::zoom::tokens::access_token(&app.state, uid)
        .await
        .unwrap();
    let values = zoom_values(&app, "ada.zoom@example.com").await;
    // A Zoom event about Ada's meeting that Rapport could not apply yet: a job waiting for its
    // retry whose payload names her Zoom user, account and email. (Queued for later and claimed
    // at that time, so the app's own worker cannot run it first.)
    let ada_zoom = sim(&app).user_by_email("ada.zoom@example.com").unwrap();
    let body = serde_json::json!({
        "event": "meeting.updated",
        "event_ts": 1_700_000_000_000_i64,
        "payload": {
            "account_id": ada_zoom.account_id,
            "operator": ada_zoom.email,
            "object": {"id": 85393847045_i64, "host_id": ada_zoom.id, "topic": "Review"}
        }
    })
    .to_string();
    let later = app.state.clock.now() + chrono::Duration::days(1);
    {
        let mut pooled = app.state.db.acquire().await.unwrap();
        rapport::jobs::enqueue(
            &mut pooled.conn(),
            Some(org_id(&app, "ada@example.com").await),
            rapport::jobs::JobKind::ZoomWebhook,
            &rapport::zoom::jobs::WebhookJob { body },
            later,
            2,
        )
        .await
        .unwrap();
    }
    let job = rapport::jobs::claim(&app.state.db, later, "test")
        .await
        .unwrap()
        .expect("the job is due then");
    let mut pooled = app.state.db.acquire().await.unwrap();
    let outcome = rapport::jobs::fail(&mut pooled.conn(), &job, later, "could not apply", false)
        .await
        .unwrap();
    drop(pooled);
    assert_eq!(outcome, rapport::jobs::JobState::Queued);
    let waiting = format!("jobs WHERE id = {}", job.id);
    assert_eq!(count(&app, &waiting).await, 1);
    // The values are there while connected (the scan finds what it looks for), in the job too.
    assert!(!scan(&app, "ada.zoom@example.com").await.is_empty());
    assert!(
        scan(&app, &ada_zoom.id)
            .await
            .contains(&"jobs.payload".to_owned())
    );

    let response = submit_with(
        &app.client,
        &app.base,
        "/settings/zoom/disconnect",
        "/settings/zoom/disconnect",
        &[],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let revokes = || {
        sim(&app)
            .requests()
            .iter()
            .filter(|r| r.path == "/oauth/revoke")
            .count()
    };
    // The app's own worker may be running the job while the test drains the queue.
    assert!(
        kit::eventually(10, || async {
            app.drain_jobs().await;
            count(&app, "jobs WHERE state IN ('queued', 'running')").await == 0 && revokes() >= 1
        })
        .await
    );
    assert_eq!(revokes(), 1, "one revoke at Zoom");
    assert_eq!(
        count(&app, &waiting).await,
        0,
        "the job holding Ada's Zoom ids went with her connection"
    );
    // Zoom answers the revoke with app_deauthorized: let it arrive and be processed.
    assert!(
        kit::eventually(10, || async {
            sim(&app)
                .webhook_deliveries()
                .iter()
                .any(|d| d.event == "app_deauthorized" && d.done)
        })
        .await
    );
    app.drain_jobs().await;
    assert_no_zoom_values(&app, &values).await;
    assert!(settings(&app, &app.client).await.contains("Connect Zoom"));
});

/// Claims the one job due at `at` (queued for then, so the app's own worker leaves it alone).
async fn claim_at(app: &TestApp, at: chrono::DateTime<chrono::Utc>) -> rapport::jobs::ClaimedJob {
    rapport::jobs::claim(&app.state.db, at, "test")
        .await
        .unwrap()
        .expect("a job is due then")
}

async fn fail_job(
    app: &TestApp,
    job: &rapport::jobs::ClaimedJob,
    at: chrono::DateTime<chrono::Utc>,
    error: &str,
    permanent: bool,
) -> rapport::jobs::JobState {
    let mut pooled = app.state.db.acquire().await.unwrap();
    rapport::jobs::fail(&mut pooled.conn(), job, at, error, permanent)
        .await
        .unwrap()
}

both_databases!(
    given_up_and_finished_zoom_jobs_keep_no_zoom_value,
    |app: TestApp| async move {
        use rapport::jobs::{JobKind, JobState};
        app.sign_up("Ada", "ada@example.com", "Ada Co").await;
        let org = Some(org_id(&app, "ada@example.com").await);
        // Values as Zoom issues them (and tokens as Rapport seals them) in the payloads of jobs.
        let zoom_user = "KDcuGIm1QgePTO8WbOqwIQ";
        let zoom_account = "EPeQtiABC000VYxHMA";
        let zoom_email = "ada.zoom@example.com";
        let sealed_token = "v1.k1.sealed-access-token-Zx81";
        let sealed_refresh = "v1.k1.sealed-refresh-token-Qp27";
        let values: Vec<String> = [
            zoom_user,
            zoom_account,
            zoom_email,
            sealed_token,
            sealed_refresh,
        ]
        .map(str::to_owned)
        .to_vec();
        let event = serde_json::to_value(rapport::zoom::jobs::WebhookJob {
            body: serde_json::json!({
                "event": "app_deauthorized",
                "payload": {"account_id": zoom_account, "user_id": zoom_user, "operator": zoom_email}
            })
            .to_string(),
        })
        .unwrap();
        let revoke = serde_json::to_value(rapport::zoom::jobs::RevokeJob {
            connection_id: 7,
            sealed_token: sealed_token.into(),
            sealed_refresh: Some(sealed_refresh.into()),
        })
        .unwrap();
        // Due a day from now: the app's own worker (on the app's clock) leaves them alone.
        let at = app.state.clock.now() + chrono::Duration::days(1);
        let enqueue = |kind: JobKind, payload: &serde_json::Value, max_attempts: u32| {
            let app = &app;
            let payload = payload.clone();
            async move {
                let mut pooled = app.state.db.acquire().await.unwrap();
                rapport::jobs::enqueue(&mut pooled.conn(), org, kind, &payload, at, max_attempts)
                    .await
                    .unwrap()
            }
        };
        let in_jobs = |value: &'static str| {
            let app = &app;
            async move {
                scan(app, value)
                    .await
                    .iter()
                    .any(|c| c.starts_with("jobs."))
            }
        };

        // A webhook Rapport cannot apply: given up at once (a permanent failure).
        enqueue(JobKind::ZoomWebhook, &event, 5).await;
        let job = claim_at(&app, at).await;
        assert!(in_jobs(zoom_user).await, "the scan finds the payload");
        let outcome = fail_job(&app, &job, at, "unreadable event: missing object", true).await;
        assert_eq!(outcome, JobState::Dead);
        assert_no_zoom_values(&app, &values).await;

        // A data compliance report Zoom keeps refusing: kept for its retry, dropped when the
        // attempts are used up.
        enqueue(JobKind::ZoomDataCompliance, &event, 2).await;
        let job = claim_at(&app, at).await;
        let outcome = fail_job(&app, &job, at, "data compliance answered 503", false).await;
        assert_eq!(outcome, JobState::Queued);
        assert!(
            in_jobs(zoom_account).await,
            "the retry still has what it needs"
        );
        let retry_at = at + chrono::Duration::hours(2);
        let job = claim_at(&app, retry_at).await;
        assert_eq!(job.attempts, 2);
        let outcome = fail_job(&app, &job, retry_at, "data compliance answered 503", false).await;
        assert_eq!(outcome, JobState::Dead);
        assert_no_zoom_values(&app, &values).await;

        // A revoke that never got through: the sealed tokens go too.
        enqueue(JobKind::ZoomRevoke, &revoke, 1).await;
        let job = claim_at(&app, retry_at).await;
        assert!(in_jobs(sealed_refresh).await);
        let outcome = fail_job(&app, &job, retry_at, "Zoom revoke: timed out", false).await;
        assert_eq!(outcome, JobState::Dead);
        assert_no_zoom_values(&app, &values).await;

        // A reconciliation given up names no Zoom value, but is scrubbed the same way.
        let reconcile = serde_json::json!({"meeting_id": 4242});
        let id = enqueue(JobKind::ReconcileMeeting, &reconcile, 1).await;
        let job = claim_at(&app, retry_at).await;
        let outcome = fail_job(
            &app,
            &job,
            retry_at,
            "listing Zoom meetings: timed out",
            false,
        )
        .await;
        assert_eq!(outcome, JobState::Dead);
        assert_eq!(
            count(
                &app,
                &format!("jobs WHERE id = {id} AND payload LIKE '%4242%'")
            )
            .await,
            0
        );

        // A webhook applied normally keeps nothing either.
        enqueue(JobKind::ZoomWebhook, &event, 5).await;
        let job = claim_at(&app, retry_at).await;
        assert!(in_jobs(zoom_email).await);
        let mut pooled = app.state.db.acquire().await.unwrap();
        assert!(
            rapport::jobs::complete(&mut pooled.conn(), &job, retry_at)
                .await
                .unwrap()
        );
        drop(pooled);
        assert_no_zoom_values(&app, &values).await;

        // The owner's jobs page still explains each job given up: kind, attempts, error.
        let (status, page) = get_text(&app.client, &app.base, "/admin/jobs?state=dead").await;
        assert_eq!(status, StatusCode::OK);
        for (kind, attempts, error) in [
            ("zoom_webhook", "1 / 5", "unreadable event: missing object"),
            (
                "zoom_data_compliance",
                "2 / 2",
                "data compliance answered 503",
            ),
            ("zoom_revoke", "1 / 1", "Zoom revoke: timed out"),
            (
                "reconcile_meeting",
                "1 / 1",
                "listing Zoom meetings: timed out",
            ),
        ] {
            let row = page
                .split("<tr>")
                .find(|row| row.contains(&format!("<code>{kind}</code>")))
                .unwrap_or_else(|| panic!("{kind} listed: {page}"));
            assert!(row.contains(attempts), "{kind}: {row}");
            assert!(row.contains(error), "{kind}: {row}");
        }
    }
);

both_databases!(
    deauthorization_leaves_no_zoom_value,
    |app: TestApp| async move {
        app.sign_up("Ada", "ada@example.com", "Ada Co").await;
        connect(&app, &app.client, "ada.zoom@example.com", Plan::Basic).await;
        let values = zoom_values(&app, "ada.zoom@example.com").await;
        let zoom_user = sim(&app).user_by_email("ada.zoom@example.com").unwrap().id;
        let client_id = sim(&app).apps()[0].client_id.clone();
        assert_eq!(sim(&app).remove_app_for_user(&zoom_user, &client_id), 1);
        assert!(
            kit::eventually(10, || async {
                sim(&app)
                    .webhook_deliveries()
                    .iter()
                    .any(|d| d.event == "app_deauthorized" && d.done && d.status == Some(200))
            })
            .await,
            "app_deauthorized delivered: {:?}",
            sim(&app).webhook_deliveries()
        );
        assert!(
            kit::eventually(10, || async {
                app.drain_jobs().await;
                count(&app, "connections").await == 0
            })
            .await
        );
        assert_no_zoom_values(&app, &values).await;
        assert!(settings(&app, &app.client).await.contains("Connect Zoom"));
        // ZOOM_DATA_COMPLIANCE is off by default: Zoom's deprecated API is not called.
        assert!(compliance_calls(&app).is_empty());

        // Connected again, a replay of that delivery is acknowledged but not applied again.
        connect(&app, &app.client, "ada.zoom@example.com", Plan::Basic).await;
        let body = sim(&app)
            .webhook_deliveries()
            .into_iter()
            .find(|d| d.event == "app_deauthorized")
            .unwrap()
            .body;
        let now = app.state.clock.now().timestamp();
        let replay = post_webhook(&app, &webhook_secret(&app), now, &body).await;
        assert_eq!(replay.status(), StatusCode::OK);
        app.drain_jobs().await;
        assert_eq!(
            count(&app, "connections").await,
            1,
            "the replay changed nothing"
        );
    }
);

/// Statuses of the calls Rapport made to Zoom's data compliance endpoint, in order.
fn compliance_calls(app: &TestApp) -> Vec<u16> {
    sim(app)
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/oauth/data/compliance")
        .map(|r| r.status)
        .collect()
}

/// Removes Rapport in the simulator's account page for `zoom_email` and waits until Rapport
/// acknowledged the `app_deauthorized` delivery.
async fn remove_app_in_zoom(app: &TestApp, zoom_email: &str) {
    let zoom_user = sim(app).user_by_email(zoom_email).unwrap().id;
    let client_id = sim(app).apps()[0].client_id.clone();
    assert_eq!(sim(app).remove_app_for_user(&zoom_user, &client_id), 1);
    assert!(
        kit::eventually(10, || async {
            sim(app)
                .webhook_deliveries()
                .iter()
                .any(|d| d.event == "app_deauthorized" && d.done && d.status == Some(200))
        })
        .await,
        "app_deauthorized delivered: {:?}",
        sim(app).webhook_deliveries()
    );
}

both_databases_with!(
    with_data_compliance_on_deauthorization_is_reported_to_zoom,
    &["--zoom-data-compliance", "on"],
    |app: TestApp| async move {
        app.sign_up("Ada", "ada@example.com", "Ada Co").await;
        connect(&app, &app.client, "ada.zoom@example.com", Plan::Basic).await;
        let values = zoom_values(&app, "ada.zoom@example.com").await;
        assert!(compliance_calls(&app).is_empty(), "nothing to report yet");
        // Zoom fails the first report: Rapport must try again until Zoom acknowledges.
        sim(&app).inject(
            Fault::new(FaultAction::Error {
                status: 503,
                body: None,
            })
            .on("POST", "/oauth/data/compliance")
            .times(1),
        );
        remove_app_in_zoom(&app, "ada.zoom@example.com").await;
        assert!(
            kit::eventually(10, || async {
                app.drain_jobs().await;
                !compliance_calls(&app).is_empty()
            })
            .await,
            "Rapport called the data compliance endpoint after app_deauthorized"
        );
        assert_eq!(count(&app, "connections").await, 0, "purged first");
        // The retry waits for its backoff (at most a few seconds of the app's clock).
        app.state.clock.advance(chrono::Duration::minutes(5));
        assert!(
            kit::eventually(10, || async {
                app.drain_jobs().await;
                compliance_calls(&app).last() == Some(&200)
            })
            .await,
            "retried until acknowledged: {:?}",
            compliance_calls(&app)
        );
        assert_eq!(
            compliance_calls(&app),
            vec![503, 200],
            "one retry, then done"
        );
        app.drain_jobs().await;
        assert_eq!(
            count(
                &app,
                "jobs WHERE kind = 'zoom_data_compliance' AND state <> 'done'"
            )
            .await,
            0
        );
        // Once acknowledged, the report (which names the Zoom user) is not kept either.
        assert_no_zoom_values(&app, &values).await;
    }
);

both_databases_with!(
    retention_purges_connections_left_needing_reconnect,
    &["--zoom-retention-days", "3"],
    |app: TestApp| async move {
        app.sign_up("Ada", "ada@example.com", "Ada Co").await;
        connect(&app, &app.client, "ada.zoom@example.com", Plan::Basic).await;
        let ada = user_id(&app, "ada@example.com").await;
        let ada_zoom = sim(&app).user_by_email("ada.zoom@example.com").unwrap();
        let mut ada_values = vec![ada_zoom.id, ada_zoom.email, ada_zoom.account_id];
        ada_values.extend(sim_tokens(&app));
        let bob = kit::browser_with_org(&app, "Bob", "bob@example.com", "Bob Co").await;
        connect(&app, &bob, "bob.zoom@example.com", Plan::Basic).await;
        let bob_id = user_id(&app, "bob@example.com").await;

        // Zoom refuses Ada's grant: her connection needs reconnecting from now on.
        sim(&app).expire_refresh_tokens(Some("ada.zoom@example.com"), None);
        advance_both(&app, 56);
        assert!(matches!(
            rapport::zoom::tokens::access_token(&app.state, ada).await,
            Err(rapport::zoom::tokens::TokenError::NeedsReconnect)
        ));
        let connections_of = |uid: i64| {
            let app = &app;
            async move { count(app, &format!("connections WHERE user_id = {uid}")).await }
        };

        // Within the retention period (3 days here), the maintenance job keeps it.
        app.state.clock.advance(chrono::Duration::days(2));
        rapport::zoom::jobs::maintenance(&app.state).await.unwrap();
        assert_eq!(connections_of(ada).await, 1, "kept within the retention");
        assert!(
            settings(&app, &app.client)
                .await
                .contains("Needs reconnecting")
        );

        // Past it (and still short of the 10-day default), her Zoom data is gone.
        app.state.clock.advance(chrono::Duration::days(2));
        rapport::zoom::jobs::maintenance(&app.state).await.unwrap();
        assert_eq!(connections_of(ada).await, 0, "purged after the retention");
        assert_no_zoom_values(&app, &ada_values).await;
        assert!(settings(&app, &app.client).await.contains("Connect Zoom"));
        assert_eq!(
            count(
                &app,
                &format!(
                    "activities WHERE kind = 'zoom_disconnected' AND user_id = {ada} AND summary LIKE '%retention%'"
                )
            )
            .await,
            1,
            "the purge is on the activity log"
        );
        // A healthy connection of the same age is not touched.
        assert_eq!(connections_of(bob_id).await, 1);
        rapport::zoom::tokens::access_token(&app.state, bob_id)
            .await
            .expect("bob's connection still works");
    }
);

// ---------------------------------------------------------------- webhooks

fn webhook_secret(app: &TestApp) -> String {
    sim(app).apps()[0].webhook_secret.clone()
}

async fn post_webhook(app: &TestApp, secret: &str, ts: i64, body: &str) -> reqwest::Response {
    new_client()
        .post(app.url("/webhooks/zoom"))
        .header("content-type", "application/json")
        .header("x-zm-request-timestamp", ts.to_string())
        .header(
            "x-zm-signature",
            zoom_sim::sign(secret, ts, body.as_bytes()),
        )
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

both_databases!(webhooks_are_verified, |app: TestApp| async move {
    let secret = webhook_secret(&app);
    let now = app.state.clock.now().timestamp();
    let event = r#"{"event":"meeting.deleted","event_ts":1700000000000,"payload":{"account_id":"acc1","object":{"id":"85393847045","uuid":"abc==","host_id":"h1"}}}"#;
    // Bad signature.
    assert_eq!(
        post_webhook(&app, "wrong-secret", now, event)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    // Stale timestamp.
    assert_eq!(
        post_webhook(&app, &secret, now - 301, event).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // No signature at all.
    let r = new_client()
        .post(app.url("/webhooks/zoom"))
        .body(event)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(count(&app, "jobs WHERE kind LIKE '%webhook%'").await, 0);
    // Valid, then replayed: accepted twice, queued once.
    assert_eq!(
        post_webhook(&app, &secret, now, event).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        post_webhook(&app, &secret, now + 1, event).await.status(),
        StatusCode::OK
    );
    assert_eq!(count(&app, "jobs WHERE kind LIKE '%webhook%'").await, 1);
    assert_eq!(count(&app, "webhook_events").await, 1);

    // url_validation.
    let plain = "qgg8vlvZRS6UYooatFL8Aw";
    let body = format!(
        r#"{{"event":"endpoint.url_validation","event_ts":1700000000001,"payload":{{"plainToken":"{plain}"}}}}"#
    );
    let r = post_webhook(&app, &secret, now, &body).await;
    assert_eq!(r.status(), StatusCode::OK);
    let answer: serde_json::Value = r.json().await.unwrap();
    assert_eq!(answer["plainToken"], plain);
    assert_eq!(
        answer["encryptedToken"],
        zoom_sim::encrypt_plain_token(&secret, plain)
    );
    // A plainToken shaped like a signed message would make Rapport a signing oracle.
    let oracle = format!("v0:{now}:{{\\\"event\\\":\\\"app_deauthorized\\\"}}");
    let body = format!(
        r#"{{"event":"endpoint.url_validation","event_ts":1700000000002,"payload":{{"plainToken":"{oracle}"}}}}"#
    );
    assert_eq!(
        post_webhook(&app, &secret, now, &body).await.status(),
        StatusCode::BAD_REQUEST
    );
    // The simulator's own validation passes.
    let client_id = sim(&app).apps()[0].client_id.clone();
    let result = sim(&app).validate_webhook_endpoint(&client_id).await;
    assert!(result.ok, "{result:?}");
});

both_databases!(
    a_burst_of_webhooks_is_stored_once_each,
    |app: TestApp| async move {
        // Events arriving together are committed together (group commit); each delivery is
        // still answered only after its event is stored, and a redelivery in the same burst is
        // a duplicate like any other.
        let secret = webhook_secret(&app);
        let now = app.state.clock.now().timestamp();
        let events: Vec<String> = (0..10)
            .map(|i| {
                format!(
                    r#"{{"event":"meeting.deleted","event_ts":17000000000{i:02},"payload":{{"account_id":"acc1","object":{{"id":"8539384704{i}","uuid":"u{i}==","host_id":"h1"}}}}}}"#
                )
            })
            .collect();
        let deliveries = events
            .iter()
            .cycle()
            .take(events.len() * 4)
            .map(|event| post_webhook(&app, &secret, now, event));
        let statuses: Vec<StatusCode> = futures::future::join_all(deliveries)
            .await
            .into_iter()
            .map(|r| r.status())
            .collect();
        assert!(
            statuses.iter().all(|s| *s == StatusCode::OK),
            "{statuses:?}"
        );
        assert_eq!(count(&app, "webhook_events").await, 10);
        assert_eq!(count(&app, "jobs WHERE kind LIKE '%webhook%'").await, 10);
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_that_cannot_be_stored_is_answered_503_so_zoom_redelivers() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let secret = webhook_secret(&app);
    let now = app.state.clock.now().timestamp();
    let event = r#"{"event":"meeting.deleted","event_ts":1700000000000,"payload":{"account_id":"acc1","object":{"id":"85393847045","uuid":"abc==","host_id":"h1"}}}"#;
    app.state.db.close().await;
    assert_eq!(
        post_webhook(&app, &secret, now, event).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_webhook_secret_every_webhook_is_refused() {
    let app = TestApp::spawn_with(
        Db::Sqlite,
        None,
        &[
            "--zoom-client-id",
            "cid",
            "--zoom-client-secret",
            "csecret",
            "--zoom-oauth-url",
            "http://127.0.0.1:9",
            "--zoom-api-url",
            "http://127.0.0.1:9",
        ],
    )
    .await;
    assert!(app.state.zoom.simulator.is_none());
    let now = app.state.clock.now().timestamp();
    let body = r#"{"event":"endpoint.url_validation","event_ts":1,"payload":{"plainToken":"abc"}}"#;
    assert_eq!(
        post_webhook(&app, "", now, body).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        post_webhook(&app, "anything", now, body).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

// ---------------------------------------------------------------- feature flag

both_databases!(the_feature_flag_hides_zoom, |app: TestApp| async move {
    app.sign_up("Ada", "ada@example.com", "Ada Co").await;
    let bob = kit::browser_with_org(&app, "Bob", "bob@example.com", "Bob Co").await;
    let csrf_page = settings(&app, &app.client).await;
    assert!(csrf_page.contains("Connect Zoom"));
    let set = |change| {
        let state = app.state.clone();
        async move {
            let mut pooled = state.db.acquire().await.unwrap();
            rapport::flags::set(
                &mut pooled.conn(),
                rapport::flags::ZOOM,
                change,
                state.clock.now(),
            )
            .await
            .unwrap();
        }
    };
    set(rapport::flags::Change::Off).await;
    let page = settings(&app, &app.client).await;
    assert!(!page.contains("Connect Zoom"));
    let r = submit_with(
        &app.client,
        &app.base,
        "/settings",
        "/settings/zoom/connect",
        &[],
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let (status, _) = get_text(
        &app.client,
        &app.base,
        "/settings/zoom/callback?code=x&state=y",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(all_token_requests(&app), 0);
    kit::create_contact(
        &app.client,
        &app.base,
        &[("name", "Grace Hopper"), ("email", "grace@example.com")],
    )
    .await;
    let (status, contacts) = get_text(&app.client, &app.base, "/contacts").await;
    assert_eq!(status, StatusCode::OK);
    assert!(contacts.contains("Grace Hopper"));

    // On for Bob's organization only.
    set(rapport::flags::Change::AddOrg(
        org_id(&app, "bob@example.com").await,
    ))
    .await;
    assert!(!settings(&app, &app.client).await.contains("Connect Zoom"));
    assert!(settings(&app, &bob).await.contains("Connect Zoom"));
    connect(&app, &bob, "bob.zoom@example.com", Plan::Basic).await;
    let r = submit_with(
        &app.client,
        &app.base,
        "/settings",
        "/settings/zoom/connect",
        &[],
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
});

// ---------------------------------------------------------------- secrets in Debug output

both_databases!(debug_output_holds_no_token, |app: TestApp| async move {
    app.sign_up("Ada", "ada@example.com", "Ada Co").await;
    connect(&app, &app.client, "ada.zoom@example.com", Plan::Basic).await;
    let uid = user_id(&app, "ada@example.com").await;
    let token = rapport::zoom::tokens::access_token(&app.state, uid)
        .await
        .unwrap();
    let refresh = zoom_api::RefreshToken::new("a-refresh-token-value");
    let tokens = sim_tokens(&app);
    let mut debug = format!(
        "{:?} {:?} {:?} {:?}",
        app.state.zoom, token, refresh, app.state.config
    );
    debug.push_str(&format!("{:?}", app.state.zoom.oauth));
    for t in &tokens {
        assert!(!debug.contains(t.as_str()), "a token in Debug output");
    }
    assert!(!debug.contains("a-refresh-token-value"));
    assert!(!debug.contains(&webhook_secret(&app)));
    assert!(!debug.contains(sim(&app).apps()[0].client_secret.as_str()));
});

both_databases!(
    a_deauthorization_older_than_the_grant_leaves_the_new_connection_alone,
    |app: TestApp| async move {
        use rapport::zoom::jobs::{WebhookJob, handle_webhook};
        app.sign_up("Ada", "ada@example.com", "Ada Co").await;
        connect(&app, &app.client, "ada.zoom@example.com", Plan::Basic).await;
        let zoom_user = sim(&app).user_by_email("ada.zoom@example.com").unwrap().id;
        let deauthorized = |at: chrono::DateTime<chrono::Utc>| WebhookJob {
            body: serde_json::json!({
                "event": "app_deauthorized",
                "event_ts": at.timestamp_millis(),
                "payload": {
                    "user_id": zoom_user,
                    "deauthorization_time": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                }
            })
            .to_string(),
        };
        // The app was removed (or Rapport revoked the grant on a disconnect) a minute before
        // this connection was made; the event is applied only now. The new grant stays.
        let before = app.state.clock.now() - chrono::Duration::minutes(1);
        handle_webhook(&app.state, deauthorized(before))
            .await
            .unwrap();
        assert_eq!(
            count(&app, "connections").await,
            1,
            "the new grant was purged"
        );
        assert!(!settings(&app, &app.client).await.contains("Connect Zoom"));

        // Removed after this connection was made: its Zoom data goes.
        app.state.clock.advance(chrono::Duration::minutes(5));
        let after = app.state.clock.now();
        handle_webhook(&app.state, deauthorized(after))
            .await
            .unwrap();
        assert_eq!(count(&app, "connections").await, 0);
        assert!(settings(&app, &app.client).await.contains("Connect Zoom"));
    }
);
