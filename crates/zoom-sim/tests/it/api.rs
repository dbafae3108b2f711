use crate::common::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test]
async fn meeting_lifecycle_create_get_patch_delete() {
    let sim = start().await;
    let t = connect(&sim, "host@example.com").await;
    let tok = at(&t);
    let m = create_meeting(&sim, &tok, meeting_body("Intro call")).await;
    let id = m["id"].as_i64().unwrap();
    assert!(
        (1_000_000_000..100_000_000_000).contains(&id),
        "10-11 digits: {id}"
    );
    assert_eq!(m["status"], "waiting");
    assert_eq!(m["start_time"], "2099-06-01T15:00:00Z");
    assert_eq!(m["timezone"], "Europe/Paris");
    assert_eq!(m["duration"], 30);
    assert_eq!(m["host_email"], "host@example.com");
    let pwd = m["password"].as_str().unwrap();
    assert_eq!(pwd.len(), 6);
    assert!(pwd.chars().all(|c| c.is_ascii_alphanumeric()));
    let join = m["join_url"].as_str().unwrap();
    assert!(join.starts_with(&format!("{}/j/{id}?pwd=", sim.base_url())));
    assert!(
        m["start_url"]
            .as_str()
            .unwrap()
            .contains(&format!("/s/{id}?zak="))
    );
    assert_eq!(m["settings"]["auto_recording"], "none");

    let r = api(&sim, &tok, Method::GET, &format!("/meetings/{id}"), None).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("x-zm-trackingid").is_some());
    let got: Value = r.json().await.unwrap();
    assert_eq!(got["topic"], "Intro call");
    assert_ne!(
        got["start_url"], m["start_url"],
        "a fresh start_url on each GET"
    );

    let r = api(
        &sim,
        &tok,
        Method::PATCH,
        &format!("/meetings/{id}"),
        Some(json!({"topic": "Renamed", "start_time": "2099-06-02T09:00:00", "duration": 45})),
    )
    .await;
    assert_eq!(r.status(), 204);
    let got: Value = api(&sim, &tok, Method::GET, &format!("/meetings/{id}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got["topic"], "Renamed");
    // Local time in the meeting's zone (Paris, summer: UTC+2).
    assert_eq!(got["start_time"], "2099-06-02T07:00:00Z");
    assert_eq!(got["duration"], 45);

    let r = api(
        &sim,
        &tok,
        Method::DELETE,
        &format!("/meetings/{id}?schedule_for_reminder=true&cancel_meeting_reminder=false"),
        None,
    )
    .await;
    assert_eq!(r.status(), 204);
    let r = api(&sim, &tok, Method::GET, &format!("/meetings/{id}"), None).await;
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], 3001);
    let r = api(&sim, &tok, Method::DELETE, &format!("/meetings/{id}"), None).await;
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], 3001);
}

#[tokio::test]
async fn user_type_follows_plan() {
    let sim = start().await;
    sim.ensure_user("basic@example.com", Some(zoom_sim::Plan::Basic));
    let t = connect(&sim, "basic@example.com").await;
    let me: Value = api(&sim, &at(&t), Method::GET, "/users/me", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["type"], 1);
    assert!(me["id"].as_str().unwrap().len() >= 20);
    assert!(me["pmi"].is_i64());
    assert_eq!(me["status"], "active");
    let other = api(&sim, &at(&t), Method::GET, "/users/someone-else", None).await;
    assert_eq!(other.status(), 404);
    assert_eq!(other.json::<Value>().await.unwrap()["code"], 1001);
}

#[tokio::test]
async fn bearer_rules_and_error_124() {
    let sim = start().await;
    let t = connect(&sim, "q@example.com").await;
    let r = client()
        .get(format!(
            "{}/v2/users/me?access_token={}",
            sim.base_url(),
            at(&t)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"code": 124, "message": "Invalid access token, this access token is not supported as query parameter string."})
    );
    let r = api(&sim, "not-a-token", Method::GET, "/users/me", None).await;
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("x-zm-trackingid").is_some());
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"code": 124, "message": "Invalid access token."})
    );
}

#[tokio::test]
async fn scopes_are_enforced_granular_or_classic() {
    let sim = start().await;
    let mut narrow = app(None);
    narrow.client_id = "narrow".into();
    narrow.scopes = vec!["user:read:user".into()];
    sim.add_app(narrow);
    let mut classic = app(None);
    classic.client_id = "classic".into();
    classic.scopes = vec![
        "meeting:write".into(),
        "meeting:read".into(),
        "user:read".into(),
    ];
    sim.add_app(classic);
    for (cid, expect_create) in [("narrow", 400), ("classic", 201)] {
        let code = sim
            .authorize(zoom_sim::AuthorizeRequest {
                email: format!("{cid}@example.com"),
                client_id: cid.into(),
                redirect_uri: REDIRECT.into(),
                ..Default::default()
            })
            .unwrap()
            .code
            .unwrap();
        let t: Value = client()
            .post(format!("{}/oauth/token", sim.base_url()))
            .basic_auth(cid, Some(CLIENT_SECRET))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let r = api(
            &sim,
            &at(&t),
            Method::POST,
            "/users/me/meetings",
            Some(meeting_body("x")),
        )
        .await;
        assert_eq!(r.status(), expect_create, "{cid}");
        if expect_create == 400 {
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["code"], 4711);
            assert!(v["message"].as_str().unwrap().starts_with(
                "Invalid access token, does not contain scopes:[meeting:write:meeting"
            ));
        }
    }
}

#[tokio::test]
async fn validation_errors_are_code_300_with_fields() {
    let sim = start().await;
    let tok = at(&connect(&sim, "v@example.com").await);
    let bad = client()
        .post(format!("{}/v2/users/me/meetings", sim.base_url()))
        .bearer_auth(&tok)
        .header("content-type", "application/json")
        .body("{\"topic\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(
        bad.json::<Value>().await.unwrap(),
        json!({"code": 300, "message": "Request Body should be a valid JSON object."})
    );
    for (body, field) in [
        (json!({"topic": "x".repeat(201)}), "topic"),
        (json!({"agenda": "x".repeat(2001)}), "agenda"),
        (json!({"start_time": "next tuesday"}), "start_time"),
        (json!({"timezone": "Mars/Olympus"}), "timezone"),
        (json!({"topic": 5}), "topic"),
    ] {
        let r = api(&sim, &tok, Method::POST, "/users/me/meetings", Some(body)).await;
        assert_eq!(r.status(), 400);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["code"], 300);
        assert_eq!(v["errors"][0]["field"], field);
    }
    let m = create_meeting(&sim, &tok, meeting_body("ok")).await;
    let r = api(
        &sim,
        &tok,
        Method::PATCH,
        &format!("/meetings/{}", m["id"]),
        Some(json!({"start_time": "2001-01-01T00:00:00Z"})),
    )
    .await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["errors"][0]["field"],
        "start_time"
    );
    let r = api(
        &sim,
        &tok,
        Method::POST,
        "/users/someone/meetings",
        Some(meeting_body("x")),
    )
    .await;
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], 1001);
}

#[tokio::test]
async fn started_and_ended_meetings_refuse_changes() {
    let sim = start().await;
    let tok = at(&connect(&sim, "s@example.com").await);
    let m = create_meeting(&sim, &tok, meeting_body("live")).await;
    let id = m["id"].as_i64().unwrap();
    sim.start_meeting(id).unwrap();
    let got: Value = api(&sim, &tok, Method::GET, &format!("/meetings/{id}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got["status"], "started");
    let r = api(&sim, &tok, Method::DELETE, &format!("/meetings/{id}"), None).await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], 3002);
    let r = api(
        &sim,
        &tok,
        Method::PATCH,
        &format!("/meetings/{id}"),
        Some(json!({"topic": "x"})),
    )
    .await;
    assert_eq!(r.json::<Value>().await.unwrap()["code"], 3000);
    sim.end_meeting(id).unwrap();
    let r = api(&sim, &tok, Method::DELETE, &format!("/meetings/{id}"), None).await;
    assert_eq!(r.json::<Value>().await.unwrap()["code"], 3007);
}

#[tokio::test]
async fn other_users_meetings_are_invisible() {
    let sim = start().await;
    let a = at(&connect(&sim, "a@example.com").await);
    let b = at(&connect(&sim, "b@example.com").await);
    let m = create_meeting(&sim, &a, meeting_body("a's")).await;
    let r = api(
        &sim,
        &b,
        Method::GET,
        &format!("/meetings/{}", m["id"]),
        None,
    )
    .await;
    assert_eq!(r.status(), 404);
    let r = api(
        &sim,
        &b,
        Method::DELETE,
        &format!("/meetings/{}", m["id"]),
        None,
    )
    .await;
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn list_paginates_with_expiring_tokens() {
    let sim = start().await;
    let tok = at(&connect(&sim, "l@example.com").await);
    sim.set_user_plan("l@example.com", zoom_sim::Plan::Licensed)
        .unwrap();
    for i in 0..7 {
        create_meeting(&sim, &tok, json!({"topic": format!("m{i}"), "start_time": format!("2099-01-0{}T10:00:00Z", i + 1)})).await;
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let path = format!("/users/me/meetings?type=upcoming&page_size=3&next_page_token={token}");
        let v: Value = api(&sim, &tok, Method::GET, &path, None)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(v["total_records"], 7);
        assert_eq!(v["page_size"], 3);
        for m in v["meetings"].as_array().unwrap() {
            seen.push(m["topic"].as_str().unwrap().to_string());
            assert!(m["id"].is_i64());
        }
        token = v["next_page_token"].as_str().unwrap().to_string();
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(seen, (0..7).map(|i| format!("m{i}")).collect::<Vec<_>>());
    // Default page size 30, max 300.
    let v: Value = api(&sim, &tok, Method::GET, "/users/me/meetings", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["page_size"], 30);
    assert_eq!(v["next_page_token"], "");
    let v: Value = api(
        &sim,
        &tok,
        Method::GET,
        "/users/me/meetings?page_size=1000",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(v["page_size"], 300);
    // Page tokens expire after 15 minutes.
    let v: Value = api(
        &sim,
        &tok,
        Method::GET,
        "/users/me/meetings?page_size=2",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let t = v["next_page_token"].as_str().unwrap().to_string();
    sim.advance_clock(Duration::from_secs(16 * 60));
    let tok = at(&connect(&sim, "l@example.com").await);
    let r = api(
        &sim,
        &tok,
        Method::GET,
        &format!("/users/me/meetings?next_page_token={t}"),
        None,
    )
    .await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], 300);
    let live: Value = api(
        &sim,
        &tok,
        Method::GET,
        "/users/me/meetings?type=live",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(live["total_records"], 0);
    let r = api(
        &sim,
        &tok,
        Method::GET,
        "/users/me/meetings?type=bogus",
        None,
    )
    .await;
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn start_url_host_key_expires_after_two_hours_and_pages_mark_started() {
    let sim = start().await;
    let tok = at(&connect(&sim, "h@example.com").await);
    let m = create_meeting(&sim, &tok, meeting_body("host me")).await;
    let id = m["id"].as_i64().unwrap();
    let start_url = m["start_url"].as_str().unwrap().to_string();
    sim.advance_clock(Duration::from_secs(2 * 3600 + 1));
    let r = client().get(&start_url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let tok = at(&connect(&sim, "h@example.com").await);
    let fresh: Value = api(&sim, &tok, Method::GET, &format!("/meetings/{id}"), None)
        .await
        .json()
        .await
        .unwrap();
    let r = client()
        .get(fresh["start_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("started"));
    assert_eq!(
        sim.meeting(id).unwrap().status,
        zoom_sim::MeetingStatus::Started
    );

    let m2 = create_meeting(&sim, &tok, meeting_body("join me")).await;
    let r = client()
        .get(m2["join_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("joined"));
    let r = client()
        .get(format!("{}/j/{}?pwd=wrong", sim.base_url(), m2["id"]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}
