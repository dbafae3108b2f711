use crate::common::*;
use reqwest::Method;
use serde_json::{Value, json};
use zoom_sim::{Fault, FaultAction, RateLimitKind, RetryAfter};

#[tokio::test]
async fn next_n_errors_then_success_without_processing() {
    let sim = start().await;
    let tok = at(&connect(&sim, "f@example.com").await);
    sim.inject(
        Fault::new(FaultAction::Error {
            status: 503,
            body: None,
        })
        .on("POST", "/v2/users/me/meetings")
        .times(2),
    );
    for _ in 0..2 {
        let r = api(
            &sim,
            &tok,
            Method::POST,
            "/users/me/meetings",
            Some(meeting_body("x")),
        )
        .await;
        assert_eq!(r.status(), 503);
        assert!(r.headers().get("x-zm-trackingid").is_some());
    }
    assert!(
        sim.meetings().is_empty(),
        "failed requests are not processed"
    );
    // Other paths were never affected.
    assert_eq!(
        api(&sim, &tok, Method::GET, "/users/me", None)
            .await
            .status(),
        200
    );
    create_meeting(&sim, &tok, meeting_body("x")).await;
    assert!(sim.faults().is_empty(), "a used-up fault disappears");
}

#[tokio::test]
async fn share_of_requests_fails_by_probability() {
    let sim = start().await;
    let tok = at(&connect(&sim, "f@example.com").await);
    let never = sim.inject(
        Fault::new(FaultAction::Error {
            status: 500,
            body: None,
        })
        .probability(0.0),
    );
    assert_eq!(
        api(&sim, &tok, Method::GET, "/users/me", None)
            .await
            .status(),
        200
    );
    assert!(sim.remove_fault(never));
    sim.inject(
        Fault::new(FaultAction::Error {
            status: 502,
            body: Some("<html>Bad Gateway</html>".into()),
        })
        .probability(1.0),
    );
    let r = api(&sim, &tok, Method::GET, "/users/me", None).await;
    assert_eq!(r.status(), 502);
    assert_eq!(r.text().await.unwrap(), "<html>Bad Gateway</html>");
    sim.clear_faults();
    assert_eq!(
        api(&sim, &tok, Method::GET, "/users/me", None)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn drop_processes_the_request_but_the_client_gets_no_response() {
    let sim = start().await;
    let tok = at(&connect(&sim, "d@example.com").await);
    sim.inject(
        Fault::new(FaultAction::Drop)
            .on("POST", "/v2/users/me/meetings")
            .times(1),
    );
    let r = client()
        .post(format!("{}/v2/users/me/meetings", sim.base_url()))
        .bearer_auth(&tok)
        .json(&meeting_body("unknown outcome"))
        .send()
        .await;
    assert!(r.is_err(), "expected a connection error, got {r:?}");
    let meetings = sim.meetings();
    assert_eq!(meetings.len(), 1, "the meeting IS created");
    assert_eq!(meetings[0].topic, "unknown outcome");
    // The client can find it by listing.
    let v: Value = api(&sim, &tok, Method::GET, "/users/me/meetings", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["total_records"], 1);
    let log = sim.requests();
    let rec = log
        .iter()
        .find(|r| r.fault.as_deref() == Some("drop"))
        .unwrap();
    assert_eq!(rec.status, 201);
}

#[tokio::test]
async fn hang_processes_then_never_answers_before_the_client_times_out() {
    let sim = start().await;
    let tok = at(&connect(&sim, "h@example.com").await);
    sim.inject(
        Fault::new(FaultAction::Hang { secs: Some(30) })
            .on("POST", "/v2/users/me/meetings")
            .times(1),
    );
    let r = client()
        .post(format!("{}/v2/users/me/meetings", sim.base_url()))
        .bearer_auth(&tok)
        .timeout(std::time::Duration::from_millis(500))
        .json(&meeting_body("slow"))
        .send()
        .await;
    assert!(r.unwrap_err().is_timeout());
    assert_eq!(sim.meetings().len(), 1);
}

#[tokio::test]
async fn latency_delays_but_answers() {
    let sim = start().await;
    let tok = at(&connect(&sim, "l@example.com").await);
    let id = sim.inject(Fault::new(FaultAction::Latency { ms: 20 }).on("GET", "/v2/users/me"));
    assert_eq!(
        api(&sim, &tok, Method::GET, "/users/me", None)
            .await
            .status(),
        200
    );
    let f = sim.faults().into_iter().find(|f| f.id == id).unwrap();
    assert_eq!(f.hits, 1);
}

#[tokio::test]
async fn malformed_body_is_not_json() {
    let sim = start().await;
    let tok = at(&connect(&sim, "m@example.com").await);
    sim.inject(
        Fault::new(FaultAction::Malformed)
            .on("POST", "/v2/users/me/meetings")
            .times(1),
    );
    let r = api(
        &sim,
        &tok,
        Method::POST,
        "/users/me/meetings",
        Some(meeting_body("x")),
    )
    .await;
    assert_eq!(r.status(), 201);
    let text = r.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    assert_eq!(sim.meetings().len(), 1);
}

async fn forced_429(limit_type: RateLimitKind, retry_after: RetryAfter) -> reqwest::Response {
    let sim = start().await;
    let tok = at(&connect(&sim, "r@example.com").await);
    sim.inject(
        Fault::new(FaultAction::RateLimit {
            limit_type,
            retry_after,
            retry_after_secs: None,
        })
        .on("POST", "/v2/users/me/meetings")
        .times(1),
    );
    let r = api(
        &sim,
        &tok,
        Method::POST,
        "/users/me/meetings",
        Some(meeting_body("x")),
    )
    .await;
    assert!(sim.meetings().is_empty());
    r
}

#[tokio::test]
async fn forced_429_in_every_retry_after_form() {
    let r = forced_429(RateLimitKind::Qps, RetryAfter::Seconds).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["x-ratelimit-type"], "QPS");
    assert_eq!(r.headers()["retry-after"], "1");
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"code": 429, "message": "You have reached the maximum per-second rate limit for this API. Try again later."})
    );

    let r = forced_429(RateLimitKind::Daily, RetryAfter::Iso).await;
    assert_eq!(r.headers()["x-ratelimit-type"], "Daily-limit");
    let ra = r.headers()["retry-after"].to_str().unwrap().to_string();
    assert!(ra.ends_with("T00:00:00Z"), "{ra}");
    assert!(chrono::DateTime::parse_from_rfc3339(&ra).is_ok());
    assert!(
        r.json::<Value>().await.unwrap()["message"]
            .as_str()
            .unwrap()
            .starts_with("You have reached the maximum daily rate limit")
    );

    let r = forced_429(RateLimitKind::Daily, RetryAfter::HttpDate).await;
    let ra = r.headers()["retry-after"].to_str().unwrap().to_string();
    assert!(
        chrono::DateTime::parse_from_rfc2822(&ra.replace("GMT", "+0000")).is_ok(),
        "{ra}"
    );

    let r = forced_429(RateLimitKind::Daily, RetryAfter::Absent).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_none());
}

#[tokio::test]
async fn request_log_records_calls_without_secrets() {
    let sim = start().await;
    let t = connect(&sim, "log@example.com").await;
    refresh(&sim, t["refresh_token"].as_str().unwrap()).await;
    api(&sim, &at(&t), Method::GET, "/users/me", None).await;
    let log = sim.requests();
    let grants: Vec<_> = log
        .iter()
        .filter(|r| r.path == "/oauth/token")
        .map(|r| r.grant_type.clone().unwrap())
        .collect();
    assert_eq!(grants, vec!["authorization_code", "refresh_token"]);
    assert!(
        log.iter()
            .any(|r| r.method == "GET" && r.path == "/v2/users/me" && r.status == 200)
    );
    let dump = serde_json::to_string(&log).unwrap();
    assert!(!dump.contains(&at(&t)));
    assert!(!dump.contains(t["refresh_token"].as_str().unwrap()));
    assert!(!dump.contains(CLIENT_SECRET));
    sim.clear_requests();
    assert!(sim.requests().is_empty());
}

#[tokio::test]
async fn control_api_over_http() {
    let sim = start().await;
    let c = client();
    let base = sim.base_url();
    let o: Value = c
        .post(format!("{base}/_sim/authorize"))
        .json(&json!({"email": "ctl@example.com", "plan": "licensed", "client_id": CLIENT_ID, "redirect_uri": REDIRECT, "state": "s1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        query_param(o["redirect_url"].as_str().unwrap(), "state").as_deref(),
        Some("s1")
    );
    let t: Value = exchange(&sim, o["code"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    let r = c
        .post(format!("{base}/_sim/faults"))
        .json(&json!({"kind": "error", "status": 504, "method": "GET", "path_prefix": "/v2/users", "count": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let listed: Value = c
        .get(format!("{base}/_sim/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["kind"], "error");
    assert_eq!(listed[0]["status"], 504);
    assert_eq!(listed[0]["count"], 1);
    assert_eq!(
        api(&sim, &at(&t), Method::GET, "/users/me", None)
            .await
            .status(),
        504
    );
    assert_eq!(
        api(&sim, &at(&t), Method::GET, "/users/me", None)
            .await
            .status(),
        200
    );
    let before = sim.now();
    let clock: Value = c
        .post(format!("{base}/_sim/clock/advance"))
        .json(&json!({"hours": 2}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(clock["frozen"].as_bool().unwrap());
    assert_eq!((sim.now() - before).num_seconds(), 7200);
    assert_eq!(
        api(&sim, &at(&t), Method::GET, "/users/me", None)
            .await
            .status(),
        401
    );
    let users: Value = c
        .get(format!("{base}/_sim/users"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(users[0]["plan"], "licensed");
    let grants: Value = c
        .get(format!("{base}/_sim/grants"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(grants[0]["active"], true);
    assert!(
        !grants
            .to_string()
            .contains(t["refresh_token"].as_str().unwrap())
    );
    let log: Value = c
        .get(format!("{base}/_sim/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(log.as_array().unwrap().iter().any(|r| r["status"] == 504));
    let r: Value = c
        .post(format!("{base}/_sim/grants/revoke"))
        .json(&json!({"email": "ctl@example.com", "notify": false}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["affected"], 1);
    let limits: Value = c
        .put(format!("{base}/_sim/config/rate_limits"))
        .json(&json!({"meeting_create_update_per_day": 500}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(limits["meeting_create_update_per_day"], 500);
    assert_eq!(
        limits["free"]["light"]["per_second"], 4,
        "missing fields take Zoom's defaults"
    );
    let apps: Value = c
        .get(format!("{base}/_sim/apps"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!apps.to_string().contains(CLIENT_SECRET));
}

#[tokio::test]
async fn absurd_control_values_are_clamped_not_fatal() {
    let sim = start().await;
    let c = client();
    let base = sim.base_url();
    let r = c
        .post(format!("{base}/_sim/clock/advance"))
        .json(&json!({"days": i64::MAX}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .put(format!("{base}/_sim/config"))
        .json(&json!({"refresh_token_days": i64::MAX, "access_token_secs": i64::MIN}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let t = connect(&sim, "big@example.com").await;
    assert_eq!(
        refresh(&sim, t["refresh_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
}
