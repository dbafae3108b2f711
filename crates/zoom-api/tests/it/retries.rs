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

/// A burst of calls never has more than `MAX_IN_FLIGHT` requests open at Zoom at once; the
/// rest wait for a turn and all succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_calls_keeps_at_most_max_in_flight_open_at_zoom() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let open = std::sync::Arc::new(AtomicUsize::new(0));
    let most = std::sync::Arc::new(AtomicUsize::new(0));
    let (open2, most2) = (open.clone(), most.clone());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let (open, most) = (open2.clone(), most2.clone());
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                // Each request on the connection: headers only (GET), answered after 30 ms.
                while let Ok(n) = stream.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    request.extend_from_slice(&buf[..n]);
                    while let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                        request.drain(..end + 4);
                        let now = open.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(30)).await;
                        open.fetch_sub(1, Ordering::SeqCst);
                        let body = r#"{"id":"u"}"#;
                        let answer = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if stream.write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    let client = api_client(&base);
    let token = token();
    let calls = (0..3 * zoom_api::MAX_IN_FLIGHT).map(|_| client.me(&token));
    let results = futures::future::join_all(calls).await;
    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
    let most = most.load(Ordering::SeqCst);
    assert!(
        most <= zoom_api::MAX_IN_FLIGHT,
        "{most} requests were open at once"
    );
    assert!(most > 1, "the calls ran one at a time");
}
