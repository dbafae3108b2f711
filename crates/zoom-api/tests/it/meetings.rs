use chrono::TimeZone;
use wiremock::matchers::{body_json, header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};
use zoom_api::meetings::{DeleteOptions, ListMeetings, ListType, MeetingUpdate, NewMeeting};
use zoom_api::users::UserType;

use crate::support::*;

const BEARER: &str = "Bearer ZCANARY_AT_0123456789";

#[tokio::test]
async fn me_reads_the_user_with_the_bearer_header() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/users/me"))
        .and(header("authorization", BEARER))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "id": "zJKyaiAyTNC-MWjiWC18KQ", "email": "jchill@example.com", "first_name": "Jill",
            "last_name": "Chill", "type": 1, "timezone": "America/New_York", "account_id": "acc",
            "some_new_field": [1, 2]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let user = api_client(&server.uri()).me(&token()).await.unwrap();
    assert_eq!(user.email.as_deref(), Some("jchill@example.com"));
    assert_eq!(user.user_type, Some(UserType::Basic));
    assert_eq!(user.account_id.as_deref(), Some("acc"));
    let req = &server.received_requests().await.unwrap()[0];
    assert_eq!(req.url.query(), None);
}

#[tokio::test]
async fn create_posts_utc_times_with_z_and_reads_the_201() {
    let server = MockServer::start().await;
    let start = chrono_tz::America::New_York
        .with_ymd_and_hms(2026, 12, 1, 9, 30, 0)
        .unwrap()
        .with_timezone(&chrono::Utc);
    Mock::given(method("POST"))
        .and(path("/v2/users/me/meetings"))
        .and(header("authorization", BEARER))
        .and(body_json(serde_json::json!({
            "topic": "Intro", "type": 2, "start_time": "2026-12-01T14:30:00Z",
            "duration": 30, "timezone": "America/New_York", "agenda": "Say hi"
        })))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(meeting_json(85_393_847_045, "Intro")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let mut new = NewMeeting::scheduled("Intro", start, 30);
    new.timezone = Some("America/New_York".into());
    new.agenda = Some("Say hi".into());
    let m = api_client(&server.uri())
        .create_meeting(&token(), &new)
        .await
        .unwrap();
    assert_eq!(m.id, 85_393_847_045);
    assert_eq!(m.status.as_deref(), Some("waiting"));
    assert!(m.join_url.unwrap().contains("pwd="));
    assert!(m.start_url.unwrap().expose_secret().contains("zak="));
}

#[tokio::test]
async fn get_update_and_delete_one_meeting() {
    let server = MockServer::start().await;
    let id = 99_999_999_999u64;
    Mock::given(method("GET"))
        .and(path(format!("/v2/meetings/{id}")))
        .and(header("authorization", BEARER))
        .respond_with(ResponseTemplate::new(200).set_body_json(meeting_json(id, "T")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("/v2/meetings/{id}")))
        .and(header("authorization", BEARER))
        .and(body_json(
            serde_json::json!({"start_time": "2026-12-02T10:00:00Z", "duration": 45}),
        ))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("/v2/meetings/{id}")))
        .and(header("authorization", BEARER))
        .and(query_param("schedule_for_reminder", "true"))
        .and(query_param("cancel_meeting_reminder", "false"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let client = api_client(&server.uri());
    let m = client.get_meeting(&token(), id).await.unwrap();
    assert_eq!(m.id, id);
    client
        .update_meeting(
            &token(),
            id,
            &MeetingUpdate {
                start_time: Some(chrono::Utc.with_ymd_and_hms(2026, 12, 2, 10, 0, 0).unwrap()),
                duration: Some(45),
                ..MeetingUpdate::default()
            },
        )
        .await
        .unwrap();
    client
        .delete_meeting(
            &token(),
            id,
            &DeleteOptions {
                schedule_for_reminder: Some(true),
                cancel_meeting_reminder: Some(false),
                occurrence_id: None,
            },
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn list_follows_next_page_token_to_the_last_page() {
    let server = MockServer::start().await;
    let summary = |id: u64| serde_json::json!({"id": id, "topic": format!("m{id}"), "type": 2, "start_time": "2026-12-01T10:00:00Z", "duration": 30});
    Mock::given(method("GET"))
        .and(path("/v2/users/me/meetings"))
        .and(query_param("type", "upcoming"))
        .and(query_param("page_size", "2"))
        .and(query_param_is_missing("next_page_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "page_size": 2, "total_records": 5, "next_page_token": "tok2",
            "meetings": [summary(1), summary(2)]
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/users/me/meetings"))
        .and(query_param("next_page_token", "tok2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "page_size": 2, "total_records": 5, "next_page_token": "tok3",
            "meetings": [summary(3), summary(4)]
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/users/me/meetings"))
        .and(query_param("next_page_token", "tok3"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "page_size": 2, "total_records": 5, "next_page_token": "",
            "meetings": [summary(5)]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let all = api_client(&server.uri())
        .list_meetings(
            &token(),
            &ListMeetings {
                list_type: ListType::Upcoming,
                page_size: 2,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|m| m.id).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
}

#[tokio::test]
async fn list_refuses_a_server_that_repeats_its_page_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/users/me/meetings"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "next_page_token": "same", "meetings": []
        })))
        .mount(&server)
        .await;
    let err = api_client(&server.uri())
        .list_meetings(&token(), &ListMeetings::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, zoom_api::Error::UnexpectedResponse { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_base_url_with_a_path_prefix_is_kept() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/zoom/v2/users/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": "u"})))
        .expect(1)
        .mount(&server)
        .await;
    let user = api_client(&format!("{}/zoom/", server.uri()))
        .me(&token())
        .await
        .unwrap();
    assert_eq!(user.id, "u");
}

#[tokio::test]
async fn the_recommended_http_client_does_not_follow_redirects() {
    let server = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/users/me"))
        .respond_with(ResponseTemplate::new(302).insert_header(
            "location",
            format!("{}/v2/users/me", elsewhere.uri()).as_str(),
        ))
        .mount(&server)
        .await;
    let client = zoom_api::ZoomClient::new(
        url::Url::parse(&server.uri()).unwrap(),
        zoom_api::http_client().unwrap(),
    );
    let err = client.me(&token()).await.unwrap_err();
    assert!(
        matches!(err, zoom_api::Error::Other { status: 302, .. }),
        "{err:?}"
    );
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
}
