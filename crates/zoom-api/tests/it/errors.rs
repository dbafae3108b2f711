//! Every Zoom error body, over real HTTP, mapped to the variant a caller acts on.

use std::time::Duration;

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use zoom_api::meetings::{DeleteOptions, NewMeeting};
use zoom_api::{Error, FieldError, RateLimitKind, RetryPolicy, UnknownOutcome};

use crate::support::*;

async fn server_answering(m: &str, p: &str, status: u16, body: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method(m))
        .and(path(p))
        .respond_with(ResponseTemplate::new(status).set_body_string(body))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn expired_and_invalid_access_tokens() {
    for (msg, expired) in [
        ("Access token is expired.", true),
        ("Invalid access token.", false),
    ] {
        let body = format!(r#"{{"code":124,"message":"{msg}"}}"#);
        let server = server_answering("GET", "/v2/users/me", 401, &body).await;
        let err = api_client(&server.uri()).me(&token()).await.unwrap_err();
        assert_eq!(err, Error::AccessTokenInvalid { expired });
        assert_no_secrets(&err);
    }
}

#[tokio::test]
async fn missing_scopes_are_listed() {
    let server = server_answering(
        "POST",
        "/v2/users/me/meetings",
        400,
        r#"{"code":4711,"message":"Invalid access token, does not contain scopes:[meeting:write:meeting, meeting:write:meeting:admin]."}"#,
    )
    .await;
    let err = api_client(&server.uri())
        .create_meeting(&token(), &NewMeeting::default())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::MissingScopes {
            scopes: vec![
                "meeting:write:meeting".into(),
                "meeting:write:meeting:admin".into()
            ]
        }
    );
    assert!(err.needs_reconnect());
}

#[tokio::test]
async fn not_found_in_progress_and_ended() {
    let cases = [
        (
            404,
            r#"{"code":3001,"message":"Meeting does not exist: 5."}"#,
            Error::NotFound { code: 3001 },
        ),
        (
            404,
            r#"{"code":1001,"message":"User does not exist: me."}"#,
            Error::NotFound { code: 1001 },
        ),
        (
            400,
            r#"{"code":3002,"message":"Sorry, you cannot delete this meeting since it is in progress."}"#,
            Error::MeetingInProgress,
        ),
        (
            400,
            r#"{"code":3007,"message":"Sorry, you cannot delete this meeting since it has ended."}"#,
            Error::MeetingEnded,
        ),
    ];
    for (status, body, expected) in cases {
        let server = server_answering("DELETE", "/v2/meetings/5", status, body).await;
        let err = api_client(&server.uri())
            .delete_meeting(&token(), 5, &DeleteOptions::default())
            .await
            .unwrap_err();
        assert_eq!(err, expected);
    }
    let server = server_answering(
        "GET",
        "/v2/meetings/5",
        404,
        r#"{"code":3001,"message":"Meeting does not exist: 5."}"#,
    )
    .await;
    assert_eq!(
        api_client(&server.uri())
            .get_meeting(&token(), 5)
            .await
            .unwrap_err(),
        Error::NotFound { code: 3001 }
    );
}

#[tokio::test]
async fn validation_errors_carry_field_errors() {
    let server = server_answering(
        "PATCH",
        "/v2/meetings/5",
        400,
        r#"{"code":300,"message":"Validation Failed.","errors":[{"field":"start_time","message":"Invalid field."}]}"#,
    )
    .await;
    let err = api_client(&server.uri())
        .update_meeting(&token(), 5, &Default::default())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::Validation {
            message: "Validation Failed.".into(),
            errors: vec![FieldError {
                field: "start_time".into(),
                message: "Invalid field.".into()
            }]
        }
    );
}

#[tokio::test]
async fn other_codes_keep_status_code_and_message() {
    let server = server_answering(
        "POST",
        "/v2/users/me/meetings",
        400,
        r#"{"code":3161,"message":"Meeting hosting and scheduling capabilities are not allowed for your user account."}"#,
    )
    .await;
    let err = api_client(&server.uri())
        .create_meeting(&token(), &NewMeeting::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Other {
                status: 400,
                code: Some(3161),
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn daily_and_per_user_limits_are_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/meetings/5"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("x-ratelimit-type", "Daily-limit")
                .insert_header("retry-after", "2026-11-30T00:00:00Z")
                .set_body_string(r#"{"code":429,"message":"You have reached the maximum daily rate limit for this API."}"#),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = api_client(&server.uri())
        .get_meeting(&token(), 5)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::RateLimited {
            kind: RateLimitKind::Daily,
            retry_at: Some("2026-11-30T00:00:00Z".parse().unwrap())
        }
    );

    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path("/v2/meetings/5"))
        .respond_with(ResponseTemplate::new(429).set_body_string(
            r#"{"code":429,"message":"You have exceeded the daily rate limit (100) of Meeting Create/Update API requests permitted for this particular user. You may resume these requests at GMT 00:00:00."}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let err = api_client(&server.uri())
        .update_meeting(&token(), 5, &Default::default())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::RateLimited {
            kind: RateLimitKind::UserDailyMeetingLimit,
            // No Retry-After: next 00:00 UTC after the injected clock's now.
            retry_at: Some("2026-11-30T00:00:00Z".parse().unwrap())
        }
    );
}

#[tokio::test]
async fn a_get_that_times_out_is_a_timeout() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/users/me"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(800)))
        .expect(1)
        .mount(&server)
        .await;
    let err = api_client(&server.uri())
        .with_retry_policy(RetryPolicy::no_retries())
        .with_timeout(Duration::from_millis(100))
        .me(&token())
        .await
        .unwrap_err();
    assert_eq!(err, Error::Timeout);
}

#[tokio::test]
async fn a_create_that_times_out_has_an_unknown_outcome_and_is_sent_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/users/me/meetings"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(meeting_json(1, "x"))
                .set_delay(Duration::from_millis(800)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = api_client(&server.uri())
        .with_timeout(Duration::from_millis(100))
        .create_meeting(&token(), &NewMeeting::default())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::CreateOutcomeUnknown {
            cause: UnknownOutcome::Timeout
        }
    );
}

#[tokio::test]
async fn a_create_answered_with_5xx_has_an_unknown_outcome_and_is_sent_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/users/me/meetings"))
        .respond_with(ResponseTemplate::new(502))
        .expect(1)
        .mount(&server)
        .await;
    let err = api_client(&server.uri())
        .create_meeting(&token(), &NewMeeting::default())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::CreateOutcomeUnknown {
            cause: UnknownOutcome::ServerError { status: 502 }
        }
    );
}

#[tokio::test]
async fn a_create_whose_201_cannot_be_read_has_an_unknown_outcome() {
    let server =
        server_answering("POST", "/v2/users/me/meetings", 201, r#"{"topic":"no id"}"#).await;
    let err = api_client(&server.uri())
        .create_meeting(&token(), &NewMeeting::default())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::CreateOutcomeUnknown {
            cause: UnknownOutcome::UnreadableResponse
        }
    );
}

/// A server that reads the request, then closes the connection without answering: what
/// a crash or a proxy reset after Zoom processed the create looks like.
async fn drop_after_request_server() -> (String, tokio::task::JoinHandle<usize>) {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = tokio::spawn(async move {
        let mut seen = 0;
        // Serve connections until the client gives up.
        while let Ok(Ok((mut sock, _))) =
            tokio::time::timeout(Duration::from_millis(500), listener.accept()).await
        {
            let mut buf = vec![0u8; 16 * 1024];
            let mut got = Vec::new();
            loop {
                let n = sock.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&got);
                if let Some(head_end) = text.find("\r\n\r\n") {
                    let len = text[..head_end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if got.len() >= head_end + 4 + len {
                        break;
                    }
                }
            }
            seen += 1;
            drop(sock);
        }
        seen
    });
    (format!("http://{addr}"), handle)
}

#[tokio::test]
async fn a_create_whose_connection_drops_after_sending_has_an_unknown_outcome() {
    let (base, handle) = drop_after_request_server().await;
    let err = api_client(&base)
        .create_meeting(&token(), &NewMeeting::default())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::CreateOutcomeUnknown {
            cause: UnknownOutcome::ConnectionLost
        }
    );
    assert_eq!(handle.await.unwrap(), 1, "the create was sent exactly once");
}

#[tokio::test]
async fn a_get_whose_connection_drops_is_retried_then_reported_as_transport() {
    let (base, handle) = drop_after_request_server().await;
    let err = api_client(&base)
        .get_meeting(&token(), 5)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_no_secrets(&err);
    assert_eq!(
        handle.await.unwrap(),
        3,
        "three attempts under the test policy"
    );
}

#[tokio::test]
async fn a_create_to_a_closed_port_was_never_sent() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = api_client(&format!("http://{addr}"))
        .create_meeting(&token(), &NewMeeting::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
}
