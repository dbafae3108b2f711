//! Drives every client method against a recording server and checks that each request it
//! made is a row of the endpoint table, and that every row the client can call was called.

use std::collections::BTreeSet;

use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};
use zoom_api::endpoints::{ENDPOINTS, Host, find_for_request};
use zoom_api::meetings::{DeleteOptions, ListMeetings, MeetingUpdate, NewMeeting};
use zoom_api::{ManualClock, PkceVerifier, RefreshToken};

use crate::support::*;

/// Answers like Zoom would, for any path, so every client method completes.
struct Plausible;

impl Respond for Plausible {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let p = req.url.path();
        match (req.method.as_str(), p) {
            ("POST", "/oauth/token") => ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "access_token": "a", "refresh_token": "r", "expires_in": 3599, "scope": "", "token_type": "bearer"})),
            ("POST", "/oauth/revoke") => ResponseTemplate::new(200).set_body_json(serde_json::json!({"status": "success"})),
            ("GET", "/v2/users/me") => ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": "u"})),
            ("POST", "/v2/users/me/meetings") => ResponseTemplate::new(201).set_body_json(meeting_json(1, "t")),
            ("GET", "/v2/users/me/meetings") => ResponseTemplate::new(200).set_body_json(serde_json::json!({"meetings": [], "next_page_token": ""})),
            ("GET", _) => ResponseTemplate::new(200).set_body_json(meeting_json(1, "t")),
            ("PATCH", _) | ("DELETE", _) => ResponseTemplate::new(204),
            _ => ResponseTemplate::new(404),
        }
    }
}

#[tokio::test]
async fn every_request_the_client_makes_is_in_the_endpoint_table() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(Plausible)
        .mount(&server)
        .await;

    let oauth = oauth_client(&server, ManualClock::new(t0()));
    let auth = oauth.authorize_url().unwrap();
    oauth
        .exchange_code("c", &PkceVerifier::new_random())
        .await
        .unwrap();
    oauth.refresh(&RefreshToken::new("r")).await.unwrap();
    oauth.revoke(&token()).await.unwrap();
    oauth
        .revoke_refresh_token(&RefreshToken::new("r"))
        .await
        .unwrap();

    let api = api_client(&server.uri());
    api.me(&token()).await.unwrap();
    api.create_meeting(&token(), &NewMeeting::default())
        .await
        .unwrap();
    api.get_meeting(&token(), 1).await.unwrap();
    api.update_meeting(&token(), 1, &MeetingUpdate::default())
        .await
        .unwrap();
    api.delete_meeting(&token(), 1, &DeleteOptions::default())
        .await
        .unwrap();
    api.list_meetings(&token(), &ListMeetings::default())
        .await
        .unwrap();
    api.list_meetings_page(&token(), &ListMeetings::default(), None)
        .await
        .unwrap();

    let mut hit = BTreeSet::new();
    let authorize =
        find_for_request("GET", auth.url.path()).expect("authorize URL not in the table");
    hit.insert(authorize.to_string());
    for req in server.received_requests().await.unwrap() {
        let row = find_for_request(req.method.as_str(), req.url.path())
            .unwrap_or_else(|| panic!("{} {} is not in ENDPOINTS", req.method, req.url.path()));
        // Credentials only in the Authorization header: never in the URL.
        assert!(!req.url.as_str().contains("ZCANARY"), "{}", req.url);
        let auth_header = req.headers.get("authorization").unwrap().to_str().unwrap();
        match row.host {
            Host::OAuth => assert!(auth_header.starts_with("Basic "), "{row}"),
            Host::Api => assert_eq!(auth_header, format!("Bearer {ACCESS}"), "{row}"),
        }
        hit.insert(row.to_string());
    }
    let all: BTreeSet<String> = ENDPOINTS.iter().map(|e| e.to_string()).collect();
    assert_eq!(
        hit, all,
        "every table row is exercised and nothing else is called"
    );
}
