use crate::common::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;
use zoom_sim::{LabelLimit, Plan, RateLimitConfig, SimConfig};

async fn sim_with(limits: RateLimitConfig) -> zoom_sim::SimHandle {
    builder()
        .config(SimConfig {
            rate_limits: limits,
            ..SimConfig::default()
        })
        .start("127.0.0.1:0")
        .await
        .unwrap()
}

#[tokio::test]
async fn per_second_limit_by_label_and_plan() {
    let sim = sim_with(RateLimitConfig::default()).await;
    sim.ensure_user("free@example.com", Some(Plan::Basic));
    let tok = at(&connect(&sim, "free@example.com").await);
    // Free plan, Light label: 4 per second.
    for i in 0..4 {
        let r = api(&sim, &tok, Method::GET, "/users/me", None).await;
        assert_eq!(r.status(), 200, "request {i}");
        assert_eq!(r.headers()["x-ratelimit-category"], "Light");
    }
    let r = api(&sim, &tok, Method::GET, "/users/me", None).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["x-ratelimit-type"], "QPS");
    assert_eq!(r.headers()["x-ratelimit-category"], "Light");
    assert_eq!(
        r.json::<Value>().await.unwrap()["message"],
        "You have reached the maximum per-second rate limit for this API. Try again later."
    );
    sim.advance_clock(Duration::from_secs(1));
    assert_eq!(
        api(&sim, &tok, Method::GET, "/users/me", None)
            .await
            .status(),
        200
    );
    // Medium (list) has its own bucket: 2 per second on the free plan.
    for _ in 0..2 {
        assert_eq!(
            api(&sim, &tok, Method::GET, "/users/me/meetings", None)
                .await
                .status(),
            200
        );
    }
    let r = api(&sim, &tok, Method::GET, "/users/me/meetings", None).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["x-ratelimit-category"], "Medium");

    // A licensed user gets Pro limits (30/s Light).
    sim.ensure_user("pro@example.com", Some(Plan::Licensed));
    let pro = at(&connect(&sim, "pro@example.com").await);
    for _ in 0..10 {
        assert_eq!(
            api(&sim, &pro, Method::GET, "/users/me", None)
                .await
                .status(),
            200
        );
    }
}

#[tokio::test]
async fn daily_limit_with_iso_retry_after_resets_at_utc_midnight() {
    let mut limits = RateLimitConfig::default();
    limits.free.light = LabelLimit {
        per_second: 1000,
        per_day: Some(3),
    };
    let sim = sim_with(limits).await;
    let tok = at(&connect(&sim, "day@example.com").await);
    for remaining in [2, 1, 0] {
        let r = api(&sim, &tok, Method::GET, "/users/me", None).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-ratelimit-limit"], "3");
        assert_eq!(
            r.headers()["x-ratelimit-remaining"],
            remaining.to_string().as_str()
        );
    }
    let r = api(&sim, &tok, Method::GET, "/users/me", None).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["x-ratelimit-type"], "Daily-limit");
    let ra = r.headers()["retry-after"].to_str().unwrap().to_string();
    let next_midnight = (sim.now().date_naive() + chrono::Duration::days(1))
        .format("%Y-%m-%dT00:00:00Z")
        .to_string();
    assert_eq!(ra, next_midnight);
    assert!(
        r.json::<Value>().await.unwrap()["message"]
            .as_str()
            .unwrap()
            .contains("maximum daily rate limit")
    );
    sim.advance_clock(Duration::from_secs(86400));
    let tok = at(&connect(&sim, "day@example.com").await);
    assert_eq!(
        api(&sim, &tok, Method::GET, "/users/me", None)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn per_user_meeting_create_update_limit() {
    let mut limits = RateLimitConfig::unlimited();
    limits.enabled = true;
    limits.meeting_create_update_per_day = 3;
    let sim = sim_with(limits).await;
    let tok = at(&connect(&sim, "busy@example.com").await);
    let m = create_meeting(&sim, &tok, meeting_body("a")).await;
    create_meeting(&sim, &tok, meeting_body("b")).await;
    let r = api(
        &sim,
        &tok,
        Method::PATCH,
        &format!("/meetings/{}", m["id"]),
        Some(json!({"topic": "c"})),
    )
    .await;
    assert_eq!(r.status(), 204);
    let r = api(
        &sim,
        &tok,
        Method::POST,
        "/users/me/meetings",
        Some(meeting_body("d")),
    )
    .await;
    assert_eq!(r.status(), 429);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"code": 429, "message": "You have exceeded the daily rate limit (3) of Meeting Create/Update API requests permitted for this particular user. You may resume these requests at GMT 00:00:00."})
    );
    // Deletes do not count.
    assert_eq!(
        api(
            &sim,
            &tok,
            Method::DELETE,
            &format!("/meetings/{}", m["id"]),
            None
        )
        .await
        .status(),
        204
    );
    sim.advance_clock(Duration::from_secs(86400));
    let tok = at(&connect(&sim, "busy@example.com").await);
    create_meeting(&sim, &tok, meeting_body("next day")).await;
}
