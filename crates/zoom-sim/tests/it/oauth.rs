use crate::common::*;
use serde_json::{Value, json};
use std::time::Duration;
use zoom_sim::{AuthorizeRequest, Plan, SimConfig};

fn authorize_url(base: &str, extra: &str) -> String {
    format!(
        "{base}/oauth/authorize?response_type=code&client_id={CLIENT_ID}&redirect_uri={}&state=xyz{extra}",
        percent_encoding::utf8_percent_encode(REDIRECT, percent_encoding::NON_ALPHANUMERIC)
    )
}

/// Drives the HTML consent flow like a browser: sign in, then Allow or Decline.
async fn consent(
    sim: &zoom_sim::SimHandle,
    email: &str,
    plan: &str,
    decision: &str,
    extra: &str,
) -> String {
    let c = client();
    let url = authorize_url(&sim.base_url(), extra);
    let page = c.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Sign in"), "expected the sign-in form");
    let raw_query = url.split_once('?').unwrap().1;
    let signin = c
        .post(format!("{}/oauth/signin", sim.base_url()))
        .form(&[
            ("email", email),
            ("plan", plan),
            ("then", "authorize"),
            ("next", raw_query),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signin.status(), 303);
    let cookie = signin.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let location = signin.headers()["location"].to_str().unwrap().to_string();
    let consent = c
        .get(format!("{}{location}", sim.base_url()))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let html = consent.text().await.unwrap();
    assert!(html.contains("Rapport CRM would like to access your Zoom account"));
    assert!(html.contains("meeting:write:meeting"));
    assert!(html.contains(email));
    let mut form = vec![
        ("client_id", CLIENT_ID.to_string()),
        ("redirect_uri", REDIRECT.to_string()),
        ("response_type", "code".to_string()),
        ("state", "xyz".to_string()),
        ("decision", decision.to_string()),
    ];
    for (k, v) in url::Url::parse(&url).unwrap().query_pairs() {
        if k.starts_with("code_challenge") {
            form.push((
                if k == "code_challenge" {
                    "code_challenge"
                } else {
                    "code_challenge_method"
                },
                v.into_owned(),
            ));
        }
    }
    let done = c
        .post(format!("{}/oauth/authorize", sim.base_url()))
        .header("cookie", &cookie)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    done.headers()["location"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn consent_page_allow_issues_code_and_creates_user_with_plan() {
    let sim = start().await;
    let loc = consent(&sim, "ann.lee@example.com", "licensed", "allow", "").await;
    assert!(loc.starts_with(REDIRECT));
    assert_eq!(query_param(&loc, "state").as_deref(), Some("xyz"));
    let code = query_param(&loc, "code").unwrap();
    let r = exchange(&sim, &code).await;
    assert_eq!(r.status(), 200);
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["token_type"], "bearer");
    assert_eq!(t["expires_in"], 3599);
    assert_eq!(t["api_url"], sim.base_url());
    assert_eq!(t["scope"].as_str().unwrap().split(' ').count(), 6);
    let me: Value = api(&sim, &at(&t), reqwest::Method::GET, "/users/me", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "ann.lee@example.com");
    assert_eq!(me["type"], 2);
    assert_eq!(me["first_name"], "Ann");
}

#[tokio::test]
async fn consent_page_decline_redirects_with_access_denied() {
    let sim = start().await;
    let loc = consent(&sim, "bob@example.com", "basic", "decline", "").await;
    assert_eq!(query_param(&loc, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_param(&loc, "state").as_deref(), Some("xyz"));
    assert!(query_param(&loc, "code").is_none());
    assert_eq!(
        sim.user_by_email("bob@example.com").unwrap().plan,
        Plan::Basic
    );
}

#[tokio::test]
async fn authorize_rejects_unknown_client_and_unregistered_redirect_without_redirecting() {
    let sim = start().await;
    let c = client();
    let r = c
        .get(format!(
            "{}/oauth/authorize?response_type=code&client_id=nope&redirect_uri={REDIRECT}",
            sim.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = c
        .get(format!(
            "{}/oauth/authorize?response_type=code&client_id={CLIENT_ID}&redirect_uri=https://evil.example/cb",
            sim.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("location").is_none());
    let r = c
        .get(
            authorize_url(&sim.base_url(), "").replace("response_type=code", "response_type=token"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let loc = r.headers()["location"].to_str().unwrap();
    assert_eq!(
        query_param(loc, "error").as_deref(),
        Some("unsupported_response_type")
    );
}

#[tokio::test]
async fn consent_page_escapes_user_values() {
    let sim = start().await;
    let mut evil = app(None);
    evil.client_id = "evil".into();
    evil.name = "<script>alert(1)</script>".into();
    sim.add_app(evil);
    let c = client();
    let user = sim.ensure_user("x@example.com", None);
    let r = c
        .get(format!(
            "{}/oauth/authorize?response_type=code&client_id=evil&redirect_uri={}&state=%22%3E%3Cimg",
            sim.base_url(),
            percent_encoding::utf8_percent_encode(REDIRECT, percent_encoding::NON_ALPHANUMERIC)
        ))
        .header("cookie", format!("zoom_sim_user={}", user.id))
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    assert!(!html.contains("<script>alert"));
    assert!(html.contains("&lt;script&gt;"));
    assert!(!html.contains("\"><img"));
}

#[tokio::test]
async fn code_is_one_time_and_reuse_kills_the_grant() {
    let sim = start().await;
    let code = code_for(&sim, "u@example.com");
    let first = exchange(&sim, &code).await;
    assert_eq!(first.status(), 200);
    let t: Value = first.json().await.unwrap();
    let again = exchange(&sim, &code).await;
    assert_eq!(again.status(), 400);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    let me = api(&sim, &at(&t), reqwest::Method::GET, "/users/me", None).await;
    assert_eq!(me.status(), 401);
    let rt = t["refresh_token"].as_str().unwrap();
    assert_eq!(refresh(&sim, rt).await.status(), 400);
}

#[tokio::test]
async fn code_expires_after_five_minutes() {
    let sim = start().await;
    let code = code_for(&sim, "u@example.com");
    sim.advance_clock(Duration::from_secs(301));
    let r = exchange(&sim, &code).await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant");
    let code = code_for(&sim, "u@example.com");
    sim.advance_clock(Duration::from_secs(299));
    assert_eq!(exchange(&sim, &code).await.status(), 200);
}

#[tokio::test]
async fn token_checks_redirect_uri_client_and_grant_type() {
    let sim = start().await;
    let code = code_for(&sim, "u@example.com");
    let c = client();
    let url = format!("{}/oauth/token", sim.base_url());
    let r = c
        .post(&url)
        .header("authorization", basic())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:1/other"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = c
        .post(&url)
        .basic_auth(CLIENT_ID, Some("wrong"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"reason": "Invalid client_id or client_secret", "error": "invalid_client"})
    );
    let r = c
        .post(&url)
        .header("authorization", basic())
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );
    // Parameters in the query string work as well as in the body.
    let r = c
        .post(format!(
            "{url}?grant_type=authorization_code&code={code}&redirect_uri={REDIRECT}"
        ))
        .header("authorization", basic())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

async fn pkce_exchange(
    sim: &zoom_sim::SimHandle,
    challenge: &str,
    method: Option<&str>,
    verifier: Option<&str>,
) -> u16 {
    let code = sim
        .authorize(AuthorizeRequest {
            email: "p@example.com".into(),
            client_id: CLIENT_ID.into(),
            redirect_uri: REDIRECT.into(),
            code_challenge: Some(challenge.into()),
            code_challenge_method: method.map(str::to_string),
            ..Default::default()
        })
        .unwrap()
        .code
        .unwrap();
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    client()
        .post(format!("{}/oauth/token", sim.base_url()))
        .header("authorization", basic())
        .form(&form)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn pkce_s256_padded_or_not_and_plain() {
    let sim = start().await;
    let v = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let ch = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    assert_eq!(pkce_exchange(&sim, ch, Some("S256"), Some(v)).await, 200);
    assert_eq!(
        pkce_exchange(&sim, &format!("{ch}="), Some("S256"), Some(v)).await,
        200
    );
    assert_eq!(
        pkce_exchange(&sim, ch, Some("S256"), Some("wrong-verifier")).await,
        400
    );
    assert_eq!(pkce_exchange(&sim, ch, Some("S256"), None).await, 400);
    assert_eq!(
        pkce_exchange(&sim, "plainvalue", None, Some("plainvalue")).await,
        200
    );
    assert_eq!(
        pkce_exchange(&sim, "plainvalue", Some("plain"), Some("other")).await,
        400
    );
}

#[tokio::test]
async fn pkce_through_the_consent_page() {
    let sim = start().await;
    let loc = consent(
        &sim,
        "pk@example.com",
        "basic",
        "allow",
        "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
    )
    .await;
    let code = query_param(&loc, "code").unwrap();
    // Without the verifier the code is refused.
    assert_eq!(exchange(&sim, &code).await.status(), 400);
}

#[tokio::test]
async fn refresh_rotates_strictly() {
    let sim = start().await;
    let t = connect(&sim, "r@example.com").await;
    let rt1 = t["refresh_token"].as_str().unwrap().to_string();
    let r = refresh(&sim, &rt1).await;
    assert_eq!(r.status(), 200);
    let t2: Value = r.json().await.unwrap();
    let rt2 = t2["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(rt1, rt2);
    assert_eq!(t2["expires_in"], 3599);
    let old = refresh(&sim, &rt1).await;
    assert_eq!(old.status(), 400);
    assert_eq!(
        old.json::<Value>().await.unwrap(),
        json!({"reason": "Invalid Token!", "error": "invalid_grant"})
    );
    // The latest one still works (no theft detection by default).
    assert_eq!(refresh(&sim, &rt2).await.status(), 200);
}

#[tokio::test]
async fn refresh_reuse_can_kill_the_grant_when_configured() {
    let sim = builder()
        .config(SimConfig {
            refresh_reuse_kills_grant: true,
            ..SimConfig::default()
        })
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let t = connect(&sim, "r@example.com").await;
    let rt1 = t["refresh_token"].as_str().unwrap().to_string();
    let t2: Value = refresh(&sim, &rt1).await.json().await.unwrap();
    assert_eq!(refresh(&sim, &rt1).await.status(), 400);
    assert_eq!(
        refresh(&sim, t2["refresh_token"].as_str().unwrap())
            .await
            .status(),
        400
    );
}

#[tokio::test]
async fn access_token_expires_after_an_hour_and_refresh_token_after_its_lifetime() {
    let sim = start().await;
    let t = connect(&sim, "e@example.com").await;
    sim.advance_clock(Duration::from_secs(3601));
    let r = api(&sim, &at(&t), reqwest::Method::GET, "/users/me", None).await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"code": 124, "message": "Access token is expired."})
    );
    sim.advance_clock(Duration::from_secs(90 * 86400));
    assert_eq!(
        refresh(&sim, t["refresh_token"].as_str().unwrap())
            .await
            .status(),
        400
    );
}

#[tokio::test]
async fn expire_refresh_token_through_control_api() {
    let sim = start().await;
    let t = connect(&sim, "x@example.com").await;
    let r: Value = client()
        .post(format!("{}/_sim/grants/expire_refresh", sim.base_url()))
        .json(&json!({"email": "x@example.com"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["affected"], 1);
    let r = refresh(&sim, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(r.json::<Value>().await.unwrap()["reason"], "Invalid Token!");
}

#[tokio::test]
async fn reauthorization_revokes_older_grants() {
    let sim = start().await;
    let old = connect(&sim, "same@example.com").await;
    let new = connect(&sim, "same@example.com").await;
    assert_eq!(
        api(&sim, &at(&old), reqwest::Method::GET, "/users/me", None)
            .await
            .status(),
        401
    );
    assert_eq!(
        refresh(&sim, old["refresh_token"].as_str().unwrap())
            .await
            .status(),
        400
    );
    assert_eq!(
        api(&sim, &at(&new), reqwest::Method::GET, "/users/me", None)
            .await
            .status(),
        200
    );
    let grants = sim.grants();
    assert_eq!(grants.iter().filter(|g| g.active).count(), 1);
}

#[tokio::test]
async fn revoke_kills_grant_and_sends_signed_app_deauthorized() {
    let mut rx = Receiver::start(WEBHOOK_SECRET).await;
    let sim = builder()
        .app(app(Some(rx.url.clone())))
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let t = connect(&sim, "rev@example.com").await;
    // Token in the query string, as Zoom's docs show it.
    let r = client()
        .post(format!("{}/oauth/revoke?token={}", sim.base_url(), at(&t)))
        .header("authorization", basic())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"status": "success"})
    );
    assert_eq!(
        api(&sim, &at(&t), reqwest::Method::GET, "/users/me", None)
            .await
            .status(),
        401
    );
    assert_eq!(
        refresh(&sim, t["refresh_token"].as_str().unwrap())
            .await
            .status(),
        400
    );
    let hook = rx.next().await;
    assert!(signature_ok(&hook, WEBHOOK_SECRET));
    assert!(!signature_ok(&hook, "another-secret"));
    assert_eq!(hook.headers["user-agent"], "Zoom Marketplace/1.0a");
    let v = hook.json();
    assert_eq!(v["event"], "app_deauthorized");
    assert!(v["event_ts"].as_i64().unwrap() > 1_600_000_000_000);
    let user = sim.user_by_email("rev@example.com").unwrap();
    assert_eq!(v["payload"]["user_id"], user.id);
    assert_eq!(v["payload"]["account_id"], user.account_id);
    assert_eq!(v["payload"]["client_id"], CLIENT_ID);
    let ts: i64 = hook.headers["x-zm-request-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(ts, v["event_ts"].as_i64().unwrap() / 1000);
    // A second revoke of the dead token (form body this time) is refused.
    let r = client()
        .post(format!("{}/oauth/revoke", sim.base_url()))
        .header("authorization", basic())
        .form(&[("token", at(&t))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn data_compliance_endpoint_answers_2xx() {
    let sim = start().await;
    let r = client()
        .post(format!("{}/oauth/data/compliance", sim.base_url()))
        .header("authorization", basic())
        .json(&json!({"client_id": CLIENT_ID, "compliance_completed": true}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
}

#[tokio::test]
async fn concurrent_refreshes_with_one_token_let_exactly_one_win() {
    let sim = start().await;
    let t = connect(&sim, "race@example.com").await;
    let rt = t["refresh_token"].as_str().unwrap().to_string();
    let (a, b) = tokio::join!(refresh(&sim, &rt), refresh(&sim, &rt));
    let mut codes = [a.status().as_u16(), b.status().as_u16()];
    codes.sort();
    assert_eq!(codes, [200, 400]);
}

#[tokio::test]
async fn sign_in_never_redirects_off_site_or_breaks_on_odd_input() {
    let sim = start().await;
    for next in [
        "a=1\r\nSet-Cookie: x=y",
        "//evil.example/",
        "https://evil.example/?a=b",
    ] {
        let r = client()
            .post(format!("{}/oauth/signin", sim.base_url()))
            .form(&[
                ("email", "odd@example.com"),
                ("then", "authorize"),
                ("next", next),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let loc = r.headers()["location"].to_str().unwrap();
        assert!(loc.starts_with("/oauth/authorize?"), "{loc}");
        assert!(
            r.headers()
                .get_all("set-cookie")
                .iter()
                .all(|c| c.to_str().unwrap().starts_with("zoom_sim_user="))
        );
    }
}
