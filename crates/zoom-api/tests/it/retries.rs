//! Which calls are retried, how often, and that `Retry-After` is respected.

use std::time::Duration;

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use zoom_api::meetings::{DeleteOptions, NewMeeting};
use zoom_api::{Error, RateLimitKind, RetryPolicy};

use crate::support::*;

const PER_SECOND: &str = r#"{"code":429,"message":"You have reached the maximum per-second rate limit for this API. Try again later."}"#;

async fn flaky(
    m: &str,
    p: &str,
    first: ResponseTemplate,
    times: u64,
    then: ResponseTemplate,
) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method(m))
        .and(path(p))
        .respond_with(first)
        .up_to_n_times(times)
        .with_priority(1)
        .expect(times)
        .mount(&server)
        .await;
    Mock::given(method(m))
        .and(path(p))
        .respond_with(then)
        .with_priority(2)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn per_second_429_on_a_get_is_retried_until_it_succeeds() {
    let server = flaky(
        "GET",
        "/v2/users/me",
        ResponseTemplate::new(429)
            .insert_header("x-ratelimit-type", "QPS")
            .set_body_string(PER_SECOND),
        2,
        ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": "u"})),
    )
    .await;
    let user = api_client(&server.uri()).me(&token()).await.unwrap();
    assert_eq!(user.id, "u");
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn server_errors_on_delete_and_patch_are_retried() {
    let server = flaky(
        "DELETE",
        "/v2/meetings/7",
        ResponseTemplate::new(503),
        1,
        ResponseTemplate::new(204),
    )
    .await;
    api_client(&server.uri())
        .delete_meeting(&token(), 7, &DeleteOptions::default())
        .await
        .unwrap();
    let server = flaky(
        "PATCH",
        "/v2/meetings/7",
        ResponseTemplate::new(500),
        2,
        ResponseTemplate::new(204),
    )
    .await;
    api_client(&server.uri())
        .update_meeting(&token(), 7, &Default::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn retries_stop_at_max_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/meetings/7"))
        .respond_with(ResponseTemplate::new(429).set_body_string(PER_SECOND))
        .expect(3)
        .mount(&server)
        .await;
    let err = api_client(&server.uri())
        .get_meeting(&token(), 7)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::RateLimited {
            kind: RateLimitKind::PerSecond,
            retry_at: None
        }
    );
}

#[tokio::test]
async fn create_is_never_retried_even_on_a_per_second_429() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/users/me/meetings"))
        .respond_with(ResponseTemplate::new(429).set_body_string(PER_SECOND))
        .expect(1)
        .mount(&server)
        .await;
    let err = api_client(&server.uri())
        .create_meeting(&token(), &NewMeeting::default())
        .await
        .unwrap_err();
    // A 429 means Zoom refused it: safe to report as rate limited, not as unknown.
    assert!(
        matches!(
            err,
            Error::RateLimited {
                kind: RateLimitKind::PerSecond,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn token_requests_are_never_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let client = oauth_client(&server, zoom_api::ManualClock::new(t0()));
    let err = client
        .refresh(&zoom_api::RefreshToken::new(REFRESH))
        .await
        .unwrap_err();
    assert_eq!(err, Error::Server { status: 503 });
}

#[tokio::test]
async fn a_retry_after_beyond_max_wait_is_returned_at_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/users/me"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "3600")
                .set_body_string(PER_SECOND),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = api_client(&server.uri()).me(&token()).await.unwrap_err();
    assert_eq!(
        err,
        Error::RateLimited {
            kind: RateLimitKind::PerSecond,
            retry_at: Some(t0() + chrono::Duration::seconds(3600))
        }
    );
}

#[tokio::test]
async fn a_short_retry_after_is_waited_for_then_retried() {
    // Retry-After as an HTTP-date equal to the injected "now": allowed at once.
    let date = httpdate_of(t0());
    let server = flaky(
        "GET",
        "/v2/users/me",
        ResponseTemplate::new(429)
            .insert_header("retry-after", date.as_str())
            .set_body_string(PER_SECOND),
        1,
        ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": "u"})),
    )
    .await;
    let client = api_client(&server.uri()).with_retry_policy(RetryPolicy {
        max_attempts: 2,
        base: Duration::from_millis(1),
        cap: Duration::from_millis(1),
        max_wait: Duration::from_millis(10),
    });
    assert_eq!(client.me(&token()).await.unwrap().id, "u");
}

fn httpdate_of(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

#[tokio::test]
async fn a_persistent_server_error_is_reported_after_the_last_attempt() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/users/me/meetings"))
        .respond_with(ResponseTemplate::new(500).set_body_string("oops"))
        .expect(3)
        .mount(&server)
        .await;
    let err = api_client(&server.uri())
        .list_meetings(&token(), &Default::default())
        .await
        .unwrap_err();
    assert_eq!(err, Error::Server { status: 500 });
    assert!(err.is_transient());
}
