use crate::common::*;
use reqwest::Method;
use serde_json::Value;

async fn setup() -> (zoom_sim::SimHandle, Receiver, String, Value) {
    let rx = Receiver::start(WEBHOOK_SECRET).await;
    let sim = builder()
        .app(app(Some(rx.url.clone())))
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let tok = at(&connect(&sim, "wh@example.com").await);
    let m = create_meeting(&sim, &tok, meeting_body("Webhook test")).await;
    (sim, rx, tok, m)
}

async fn next_event(rx: &mut Receiver, event: &str) -> Value {
    loop {
        let r = rx.next().await;
        assert!(signature_ok(&r, WEBHOOK_SECRET));
        let v = r.json();
        if v["event"] == event {
            return v;
        }
    }
}

#[tokio::test]
async fn account_page_edit_delete_and_remove_app_send_signed_events() {
    let (sim, mut rx, tok, m) = setup().await;
    let id = m["id"].as_i64().unwrap();
    let base = sim.base_url();
    let c = client();
    let page = c
        .get(format!("{base}/account?email=wh@example.com"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Webhook test"));
    assert!(page.contains("Rapport CRM"));
    let r = c
        .post(format!("{base}/account/meetings/{id}/update"))
        .form(&[
            ("email", "wh@example.com"),
            ("topic", "Moved"),
            ("start_time", "2099-07-01T08:30"),
            ("duration", "50"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let v = next_event(&mut rx, "meeting.updated").await;
    assert_eq!(v["payload"]["object"]["id"], id.to_string());
    assert_eq!(v["payload"]["object"]["topic"], "Moved");
    assert_eq!(v["payload"]["object"]["start_time"], "2099-07-01T08:30:00Z");
    assert_eq!(v["payload"]["old_object"]["topic"], "Webhook test");
    assert_eq!(v["payload"]["operator"], "wh@example.com");
    let got: Value = api(&sim, &tok, Method::GET, &format!("/meetings/{id}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got["topic"], "Moved");
    assert_eq!(got["duration"], 50);

    c.post(format!("{base}/account/meetings/{id}/delete"))
        .form(&[("email", "wh@example.com")])
        .send()
        .await
        .unwrap();
    let v = next_event(&mut rx, "meeting.deleted").await;
    assert_eq!(v["payload"]["object"]["id"], id.to_string());
    assert_eq!(v["payload"]["object"]["uuid"], m["uuid"]);
    assert_eq!(
        api(&sim, &tok, Method::GET, &format!("/meetings/{id}"), None)
            .await
            .status(),
        404
    );

    c.post(format!("{base}/account/apps/{CLIENT_ID}/remove"))
        .form(&[("email", "wh@example.com")])
        .send()
        .await
        .unwrap();
    let v = next_event(&mut rx, "app_deauthorized").await;
    assert_eq!(v["payload"]["client_id"], CLIENT_ID);
    assert_eq!(
        api(&sim, &tok, Method::GET, "/users/me", None)
            .await
            .status(),
        401
    );

    // Every delivery is recorded with the receiver's answer once it completes.
    let mut done = None;
    for _ in 0..200 {
        done = sim
            .webhook_deliveries()
            .into_iter()
            .find(|d| d.event == "app_deauthorized" && d.done);
        if done.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let d = done.expect("delivery recorded");
    assert_eq!(d.status, Some(200));
    assert!(d.body.contains("app_deauthorized"));
}

#[tokio::test]
async fn api_changes_also_send_events() {
    let (sim, mut rx, tok, m) = setup().await;
    let v = next_event(&mut rx, "meeting.created").await;
    assert_eq!(v["payload"]["object"]["id"], m["id"].to_string());
    api(
        &sim,
        &tok,
        Method::DELETE,
        &format!("/meetings/{}", m["id"]),
        None,
    )
    .await;
    let v = next_event(&mut rx, "meeting.deleted").await;
    assert_eq!(v["payload"]["object"]["id"], m["id"].to_string());
}

#[tokio::test]
async fn meeting_started_and_ended_from_control_api() {
    let (sim, mut rx, _tok, m) = setup().await;
    let base = sim.base_url();
    let r = client()
        .post(format!("{base}/_sim/meetings/{}/start", m["id"]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v = next_event(&mut rx, "meeting.started").await;
    assert_eq!(v["payload"]["object"]["id"], m["id"].to_string());
    client()
        .post(format!("{base}/_sim/meetings/{}/end", m["id"]))
        .send()
        .await
        .unwrap();
    let v = next_event(&mut rx, "meeting.ended").await;
    assert!(v["payload"]["object"]["end_time"].is_string());
}

#[tokio::test]
async fn url_validation_challenge_checks_the_answer() {
    let rx = Receiver::start(WEBHOOK_SECRET).await;
    let sim = builder()
        .app(app(Some(rx.url.clone())))
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let ok = sim.validate_webhook_endpoint(CLIENT_ID).await;
    assert!(ok.ok, "{ok:?}");
    let wrong = Receiver::start("not-the-secret").await;
    sim.add_app(app(Some(wrong.url.clone())));
    let bad: Value = client()
        .post(format!("{}/_sim/webhooks/validate", sim.base_url()))
        .json(&serde_json::json!({"client_id": CLIENT_ID}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(bad["ok"], false);
    assert_eq!(bad["detail"], "encryptedToken is wrong");
}

async fn wait_done(
    sim: &zoom_sim::SimHandle,
    event: &str,
    attempt: u32,
) -> zoom_sim::WebhookDelivery {
    for _ in 0..400 {
        if let Some(d) = sim
            .webhook_deliveries()
            .into_iter()
            .find(|d| d.event == event && d.attempt == attempt && d.done)
        {
            return d;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("delivery {event} attempt {attempt} not finished");
}

#[tokio::test]
async fn failed_deliveries_are_retried_on_zooms_schedule() {
    let mut rx = Receiver::start(WEBHOOK_SECRET).await;
    *rx.status.lock().unwrap() = 500;
    let sim = builder()
        .app(app(Some(rx.url.clone())))
        .start("127.0.0.1:0")
        .await
        .unwrap();
    connect(&sim, "retry@example.com").await;
    sim.revoke_grants(Some("retry@example.com"), None, true);
    let first = rx.next().await;
    assert_eq!(
        wait_done(&sim, "app_deauthorized", 1).await.status,
        Some(500)
    );
    // Nothing before 5 minutes.
    sim.advance_clock(std::time::Duration::from_secs(4 * 60));
    assert!(sim.webhook_deliveries().iter().all(|d| d.attempt == 1));
    sim.advance_clock(std::time::Duration::from_secs(60));
    let second = rx.next().await;
    assert_eq!(second.body, first.body, "a retry resends the same event");
    assert!(signature_ok(&second, WEBHOOK_SECRET));
    assert_eq!(
        wait_done(&sim, "app_deauthorized", 2).await.status,
        Some(500)
    );
    // Then 20 minutes after the first retry; this time the receiver accepts it.
    *rx.status.lock().unwrap() = 200;
    sim.advance_clock(std::time::Duration::from_secs(20 * 60));
    rx.next().await;
    assert_eq!(
        wait_done(&sim, "app_deauthorized", 3).await.status,
        Some(200)
    );
    sim.advance_clock(std::time::Duration::from_secs(3 * 3600));
    assert!(
        sim.webhook_deliveries().iter().all(|d| d.attempt <= 3),
        "no retry after a success"
    );
}

#[tokio::test]
async fn a_basic_hosts_meeting_ends_after_forty_minutes() {
    let (sim, mut rx, _tok, m) = setup().await;
    let basic_id = m["id"].as_i64().unwrap();
    sim.ensure_user("pro-host@example.com", Some(zoom_sim::Plan::Licensed));
    let pro_tok = at(&connect(&sim, "pro-host@example.com").await);
    let pro_id = create_meeting(&sim, &pro_tok, meeting_body("Long one")).await["id"]
        .as_i64()
        .unwrap();
    sim.start_meeting(basic_id).unwrap();
    sim.start_meeting(pro_id).unwrap();
    sim.advance_clock(std::time::Duration::from_secs(39 * 60));
    assert_eq!(
        sim.meeting(basic_id).unwrap().status,
        zoom_sim::MeetingStatus::Started
    );
    sim.advance_clock(std::time::Duration::from_secs(60));
    assert_eq!(
        sim.meeting(basic_id).unwrap().status,
        zoom_sim::MeetingStatus::Finished
    );
    assert_eq!(
        sim.meeting(pro_id).unwrap().status,
        zoom_sim::MeetingStatus::Started
    );
    let v = next_event(&mut rx, "meeting.ended").await;
    assert_eq!(v["payload"]["object"]["id"], basic_id.to_string());
}

#[tokio::test]
async fn webhook_meeting_ids_can_be_numbers() {
    let mut rx = Receiver::start(WEBHOOK_SECRET).await;
    let config = zoom_sim::SimConfig {
        webhook_ids_as_strings: false,
        rate_limits: zoom_sim::RateLimitConfig::unlimited(),
        ..Default::default()
    };
    let sim = builder()
        .config(config)
        .app(app(Some(rx.url.clone())))
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let tok = at(&connect(&sim, "num@example.com").await);
    let m = create_meeting(&sim, &tok, meeting_body("n")).await;
    let v = next_event(&mut rx, "meeting.created").await;
    assert_eq!(v["payload"]["object"]["id"], m["id"]);
    assert!(v["payload"]["object"]["id"].is_i64());
}
