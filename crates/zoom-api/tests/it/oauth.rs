use chrono::Duration;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use zoom_api::{Error, ManualClock, PkceVerifier, RefreshToken, ScopeSet};

use crate::support::*;

const BASIC: &str = "Basic Y2xpZW50LWlkLTE6WkNBTkFSWV9DU18wMTIzNDU2Nzg5";

fn token_body(at: &str, rt: &str) -> serde_json::Value {
    serde_json::json!({"access_token": at, "token_type": "bearer", "refresh_token": rt,
        "expires_in": 3599, "scope": "meeting:read:meeting meeting:write:meeting user:read:user",
        "api_url": "https://api.zoom.us"})
}

#[tokio::test]
async fn code_exchange_sends_basic_auth_code_redirect_and_verifier() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(header("authorization", BASIC))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("grant_type=authorization_code"))
        .and(body_string_contains("code=the-code"))
        .and(body_string_contains(
            "redirect_uri=https%3A%2F%2Fcrm.example%2Fzoom%2Fcallback",
        ))
        .and(body_string_contains(
            "code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body(ACCESS, REFRESH)))
        .expect(1)
        .mount(&server)
        .await;
    let clock = ManualClock::new(t0());
    let client = oauth_client(&server, clock.clone());
    let verifier = PkceVerifier::from_string("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
    let tokens = client.exchange_code("the-code", &verifier).await.unwrap();
    assert_eq!(tokens.access_token.expose_secret(), ACCESS);
    assert_eq!(tokens.refresh_token.expose_secret(), REFRESH);
    assert_eq!(tokens.expires_at, t0() + Duration::seconds(3599));
    assert_eq!(
        tokens.scopes,
        ScopeSet::parse("user:read:user meeting:write:meeting meeting:read:meeting")
    );
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests[0].url.query(), None, "nothing in the query string");
}

#[tokio::test]
async fn refresh_returns_the_rotated_token_and_expiry_from_the_injected_clock() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(header("authorization", BASIC))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains(format!("refresh_token={REFRESH}")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_body("ZCANARY_AT_new", "ZCANARY_RT_new")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let clock = ManualClock::new(t0());
    clock.advance(Duration::hours(5));
    let client = oauth_client(&server, clock);
    let tokens = client.refresh(&RefreshToken::new(REFRESH)).await.unwrap();
    assert_eq!(tokens.refresh_token.expose_secret(), "ZCANARY_RT_new");
    assert_eq!(
        tokens.expires_at,
        t0() + Duration::hours(5) + Duration::seconds(3599)
    );
}

#[tokio::test]
async fn refresh_failures_map_to_actions_and_are_not_retried() {
    type Case = (u16, &'static str, fn(&Error) -> bool);
    let cases: Vec<Case> = vec![
        (
            400,
            r#"{"reason":"Invalid Token!","error":"invalid_grant"}"#,
            |e| matches!(e, Error::GrantDead { .. }),
        ),
        (
            401,
            r#"{"reason":"Invalid Token!","error":"invalid_grant"}"#,
            |e| matches!(e, Error::GrantDead { .. }),
        ),
        (
            400,
            r#"{"reason":"Invalid Token!","error":"invalid_request"}"#,
            |e| matches!(e, Error::GrantDead { .. }),
        ),
        (
            400,
            r#"{"reason":"Invalid client_id or client_secret","error":"invalid_client"}"#,
            |e| matches!(e, Error::InvalidClient),
        ),
        (503, "", |e| matches!(e, Error::Server { status: 503 })),
        (429, r#"{"code":429,"message":"slow down"}"#, |e| {
            matches!(e, Error::RateLimited { .. })
        }),
    ];
    for (status, body, check) in cases {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/oauth/token"))
            .respond_with(ResponseTemplate::new(status).set_body_string(body))
            .expect(1)
            .mount(&server)
            .await;
        let client = oauth_client(&server, ManualClock::new(t0()));
        let err = client
            .refresh(&RefreshToken::new(REFRESH))
            .await
            .unwrap_err();
        assert!(check(&err), "{status} {body} -> {err:?}");
        assert_no_secrets(&err);
        assert_eq!(
            err.needs_reconnect(),
            matches!(err, Error::GrantDead { .. })
        );
    }
}

#[tokio::test]
async fn exchange_of_a_bad_code_needs_a_new_authorization() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(400).set_body_string(
            r#"{"reason":"Invalid authorization code the-code","error":"invalid_grant"}"#,
        ))
        .mount(&server)
        .await;
    let client = oauth_client(&server, ManualClock::new(t0()));
    let err = client
        .exchange_code("the-code", &PkceVerifier::new_random())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::GrantDead { ref reason } if !reason.contains("the-code")),
        "{err:?}"
    );
}

#[tokio::test]
async fn revoke_sends_the_token_in_the_form_body_only() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/revoke"))
        .and(header("authorization", BASIC))
        .and(body_string_contains(format!("token={ACCESS}")))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"status":"success"}"#))
        .expect(1)
        .mount(&server)
        .await;
    let client = oauth_client(&server, ManualClock::new(t0()));
    client.revoke(&token()).await.unwrap();
    let requests = server.received_requests().await.unwrap();
    assert!(!requests[0].url.as_str().contains("ZCANARY"));
}

#[tokio::test]
async fn a_malformed_success_answer_is_reported_without_its_content() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(r#"{"access_token":"ZCANARY_AT_x","expires_in":"later"}"#),
        )
        .mount(&server)
        .await;
    let client = oauth_client(&server, ManualClock::new(t0()));
    let err = client
        .refresh(&RefreshToken::new(REFRESH))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnexpectedResponse { .. }), "{err:?}");
    assert_no_secrets(&err);
}
