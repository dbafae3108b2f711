//! zoom-api against zoom-sim over real HTTP. Both are written independently from
//! shared/zoom-contract.md, so each checks the other.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use url::Url;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};
use zoom_api::endpoints::{describe_missing_scopes, missing_scopes, required_scopes};
use zoom_api::meetings::{DeleteOptions, ListMeetings, MeetingUpdate, NewMeeting};
use zoom_api::users::UserType;
use zoom_api::webhook::{EventKind, Verifier, WebhookEvent};
use zoom_api::{
    AccessToken, Clock, Error, OAuthClient, RateLimitKind, TokenSet, UnknownOutcome, ZoomClient,
    ZoomConfig,
};
use zoom_sim::{
    AppConfig, AuthorizeRequest, Fault, FaultAction, RateLimitConfig, RetryAfter, SimConfig,
    SimHandle, SimState, ZoomSim,
};

use crate::support::fast_retries;

const CLIENT_ID: &str = "rapport_client";
const CLIENT_SECRET: &str = "ZCANARY_CS_sim";
const REDIRECT: &str = "http://127.0.0.1:1/zoom/callback";
const WEBHOOK_SECRET: &str = "8HpxXEAYTCCEDbM5QZi3DA";

/// Our client reads the simulator's (frozen, steerable) clock.
#[derive(Debug)]
struct SimClock(SimState);

impl Clock for SimClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.now()
    }
}

fn app(scopes: &[&str], webhook_url: Option<String>) -> AppConfig {
    AppConfig {
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
        redirect_urls: vec![REDIRECT.into()],
        webhook_url,
        webhook_secret: WEBHOOK_SECRET.into(),
        verification_token: None,
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        name: "Rapport CRM".into(),
        events: vec![],
    }
}

fn all_scopes() -> Vec<&'static str> {
    vec![
        "user:read:user",
        "meeting:write:meeting",
        "meeting:read:meeting",
        "meeting:update:meeting",
        "meeting:delete:meeting",
        "meeting:read:list_meetings",
    ]
}

async fn start_sim(app: AppConfig, config: SimConfig) -> SimHandle {
    ZoomSim::builder()
        .app(app)
        .config(config)
        .freeze_clock()
        .start("127.0.0.1:0")
        .await
        .unwrap()
}

fn unlimited() -> SimConfig {
    SimConfig {
        rate_limits: RateLimitConfig::unlimited(),
        ..SimConfig::default()
    }
}

struct Clients {
    oauth: OAuthClient,
    api: ZoomClient,
}

fn clients(sim: &SimHandle) -> Clients {
    let base = Url::parse(&sim.base_url()).unwrap();
    let config = ZoomConfig::new(
        CLIENT_ID,
        SecretString::from(CLIENT_SECRET),
        Url::parse(REDIRECT).unwrap(),
    )
    .with_oauth_base(base.clone())
    .with_api_base(base.clone());
    let clock: Arc<dyn Clock> = Arc::new(SimClock(sim.state()));
    Clients {
        oauth: OAuthClient::new(config, reqwest::Client::new()).with_clock(clock.clone()),
        api: ZoomClient::new(base, reqwest::Client::new())
            .with_clock(clock)
            .with_retry_policy(fast_retries())
            .with_timeout(Duration::from_secs(5)),
    }
}

/// The whole connect flow: our authorize URL, the simulator's consent shortcut with exactly
/// the parameters our URL carries, state check, code exchange with the PKCE verifier.
async fn connect(sim: &SimHandle, c: &Clients, email: &str) -> TokenSet {
    let auth = c.oauth.authorize_url().unwrap();
    let q = |name: &str| {
        auth.url
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(q("response_type").as_deref(), Some("code"));
    assert_eq!(q("redirect_uri").as_deref(), Some(REDIRECT));
    let outcome = sim
        .authorize(AuthorizeRequest {
            email: email.into(),
            client_id: q("client_id").unwrap(),
            redirect_uri: q("redirect_uri").unwrap(),
            state: q("state"),
            code_challenge: q("code_challenge"),
            code_challenge_method: q("code_challenge_method"),
            ..Default::default()
        })
        .unwrap();
    let back = Url::parse(&outcome.redirect_url).unwrap();
    let returned = |name: &str| {
        back.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    assert!(auth.state.matches(&returned("state")));
    c.oauth
        .exchange_code(&returned("code"), &auth.pkce_verifier)
        .await
        .unwrap()
}

#[tokio::test]
async fn full_oauth_flow_then_me() {
    let sim = start_sim(app(&all_scopes(), None), unlimited()).await;
    let c = clients(&sim);
    let tokens = connect(&sim, &c, "jill@example.com").await;
    assert_eq!(tokens.token_type.to_ascii_lowercase(), "bearer");
    assert_eq!(
        tokens.expires_at,
        sim.now() + chrono::Duration::seconds(3599)
    );
    assert_eq!(tokens.scopes, required_scopes());
    assert!(missing_scopes(&tokens.scopes).is_empty());

    let me = c.api.me(&tokens.access_token).await.unwrap();
    assert_eq!(me.email.as_deref(), Some("jill@example.com"));
    assert_eq!(me.user_type, Some(UserType::Basic));
    assert!(!me.id.is_empty());
    let user = sim.user_by_email("jill@example.com").unwrap();
    assert_eq!(me.id, user.id);
    assert_eq!(me.account_id.as_deref(), Some(user.account_id.as_str()));
}

#[tokio::test]
async fn wrong_verifier_and_reused_code_are_dead_grants() {
    let sim = start_sim(app(&all_scopes(), None), unlimited()).await;
    let c = clients(&sim);
    let auth = c.oauth.authorize_url().unwrap();
    let challenge = auth.pkce_verifier.challenge_s256();
    let authorize = || {
        sim.authorize(AuthorizeRequest {
            email: "a@example.com".into(),
            client_id: CLIENT_ID.into(),
            redirect_uri: REDIRECT.into(),
            state: Some(auth.state.secret().into()),
            code_challenge: Some(challenge.clone()),
            code_challenge_method: Some("S256".into()),
            ..Default::default()
        })
        .unwrap()
        .code
        .unwrap()
    };
    let code = authorize();
    let err = c
        .oauth
        .exchange_code(&code, &zoom_api::PkceVerifier::new_random())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::GrantDead { .. }), "{err:?}");

    let code = authorize();
    c.oauth
        .exchange_code(&code, &auth.pkce_verifier)
        .await
        .unwrap();
    let err = c
        .oauth
        .exchange_code(&code, &auth.pkce_verifier)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::GrantDead { .. }), "{err:?}");
}

#[tokio::test]
async fn bad_client_secret_is_invalid_client() {
    let sim = start_sim(app(&all_scopes(), None), unlimited()).await;
    let c = clients(&sim);
    let tokens = connect(&sim, &c, "a@example.com").await;
    let base = Url::parse(&sim.base_url()).unwrap();
    let wrong = OAuthClient::new(
        ZoomConfig::new(
            CLIENT_ID,
            SecretString::from("ZCANARY_wrong"),
            Url::parse(REDIRECT).unwrap(),
        )
        .with_oauth_base(base),
        reqwest::Client::new(),
    );
    let err = wrong.refresh(&tokens.refresh_token).await.unwrap_err();
    assert_eq!(err, Error::InvalidClient);
    crate::support::assert_no_secrets(&err);
}

#[tokio::test]
async fn refresh_rotates_and_the_old_refresh_token_dies() {
    let sim = start_sim(app(&all_scopes(), None), unlimited()).await;
    let c = clients(&sim);
    let first = connect(&sim, &c, "a@example.com").await;
    sim.advance_clock(Duration::from_secs(3000));
    let second = c.oauth.refresh(&first.refresh_token).await.unwrap();
    assert_ne!(
        second.refresh_token.expose_secret(),
        first.refresh_token.expose_secret()
    );
    assert_ne!(
        second.access_token.expose_secret(),
        first.access_token.expose_secret()
    );
    assert_eq!(
        second.expires_at,
        sim.now() + chrono::Duration::seconds(3599)
    );

    let err = c.oauth.refresh(&first.refresh_token).await.unwrap_err();
    assert!(matches!(err, Error::GrantDead { .. }), "{err:?}");
    assert!(err.needs_reconnect());

    let third = c.oauth.refresh(&second.refresh_token).await.unwrap();
    c.api.me(&third.access_token).await.unwrap();
}

#[tokio::test]
async fn expired_access_token_is_124_expired_on_the_sim_clock() {
    let sim = start_sim(app(&all_scopes(), None), unlimited()).await;
    let c = clients(&sim);
    let tokens = connect(&sim, &c, "a@example.com").await;
    c.api.me(&tokens.access_token).await.unwrap();
    sim.advance_clock(Duration::from_secs(3601));
    let err = c.api.me(&tokens.access_token).await.unwrap_err();
    assert_eq!(err, Error::AccessTokenInvalid { expired: true });
    let err = c
        .api
        .me(&AccessToken::new("ZCANARY_not_a_token"))
        .await
        .unwrap_err();
    assert_eq!(err, Error::AccessTokenInvalid { expired: false });
    crate::support::assert_no_secrets(&err);
    // A refresh fixes it.
    let fresh = c.oauth.refresh(&tokens.refresh_token).await.unwrap();
    c.api.me(&fresh.access_token).await.unwrap();
}

#[tokio::test]
async fn revoke_kills_the_grant() {
    let sim = start_sim(app(&all_scopes(), None), unlimited()).await;
    let c = clients(&sim);
    let tokens = connect(&sim, &c, "a@example.com").await;
    c.oauth.revoke(&tokens.access_token).await.unwrap();
    let err = c.api.me(&tokens.access_token).await.unwrap_err();
    assert!(matches!(err, Error::AccessTokenInvalid { .. }), "{err:?}");
    let err = c.oauth.refresh(&tokens.refresh_token).await.unwrap_err();
    assert!(matches!(err, Error::GrantDead { .. }), "{err:?}");
    assert!(sim.grants().iter().all(|g| !g.active));
}

#[tokio::test]
async fn revoking_a_dead_token_again_reads_as_a_dead_grant() {
    let sim = start_sim(app(&all_scopes(), None), unlimited()).await;
    let c = clients(&sim);
    let tokens = connect(&sim, &c, "a@example.com").await;
    c.oauth.revoke(&tokens.access_token).await.unwrap();
    let err = c.oauth.revoke(&tokens.access_token).await.unwrap_err();
    assert!(matches!(err, Error::GrantDead { .. }), "{err:?}");
}

#[tokio::test]
async fn meetings_in_progress_or_ended_cannot_be_deleted() {
    let sim = start_sim(app(&all_scopes(), None), unlimited()).await;
    let c = clients(&sim);
    let t = connect(&sim, &c, "a@example.com").await.access_token;
    let m = c
        .api
        .create_meeting(
            &t,
            &NewMeeting::scheduled("x", "2099-01-01T10:00:00Z".parse().unwrap(), 30),
        )
        .await
        .unwrap();
    let sim_id = i64::try_from(m.id).unwrap();
    sim.start_meeting(sim_id).unwrap();
    assert_eq!(
        c.api.get_meeting(&t, m.id).await.unwrap().status.as_deref(),
        Some("started")
    );
    assert_eq!(
        c.api
            .delete_meeting(&t, m.id, &DeleteOptions::default())
            .await
            .unwrap_err(),
        Error::MeetingInProgress
    );
    let err = c
        .api
        .update_meeting(
            &t,
            m.id,
            &MeetingUpdate {
                duration: Some(10),
                ..MeetingUpdate::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Other {
                status: 400,
                code: Some(3000),
                ..
            }
        ),
        "{err:?}"
    );
    sim.end_meeting(sim_id).unwrap();
    assert_eq!(
        c.api
            .delete_meeting(&t, m.id, &DeleteOptions::default())
            .await
            .unwrap_err(),
        Error::MeetingEnded
    );
}

#[tokio::test]
async fn create_get_update_delete_and_list_all_pages() {
    let sim = start_sim(app(&all_scopes(), None), unlimited()).await;
    let c = clients(&sim);
    let t = connect(&sim, &c, "a@example.com").await.access_token;
    let start: DateTime<Utc> = "2099-06-01T15:00:00Z".parse().unwrap();

    let mut ids = Vec::new();
    for i in 0..5 {
        let mut m = NewMeeting::scheduled(
            format!("Meeting {i}"),
            start + chrono::Duration::hours(i),
            30,
        );
        m.timezone = Some("Europe/Paris".into());
        m.agenda = Some("Talk".into());
        let created = c.api.create_meeting(&t, &m).await.unwrap();
        assert_eq!(created.start_time, Some(start + chrono::Duration::hours(i)));
        assert_eq!(
            created.topic.as_deref(),
            Some(format!("Meeting {i}").as_str())
        );
        assert!(created.join_url.is_some());
        assert!(created.start_url.is_some());
        // The simulator stored the UTC instant we sent, not a local-time reading of it.
        let stored = sim.meeting(i64::try_from(created.id).unwrap()).unwrap();
        assert_eq!(stored.start_time, start + chrono::Duration::hours(i));
        ids.push(created.id);
    }

    let all = c
        .api
        .list_meetings(
            &t,
            &ListMeetings {
                page_size: 2,
                ..ListMeetings::default()
            },
        )
        .await
        .unwrap();
    let mut listed: Vec<u64> = all.iter().map(|m| m.id).collect();
    listed.sort_unstable();
    let mut expected = ids.clone();
    expected.sort_unstable();
    assert_eq!(listed, expected);
    let paged_requests = sim
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.starts_with("/v2/users/me/meetings"))
        .count();
    assert_eq!(paged_requests, 3, "5 meetings at 2 a page");

    let id = ids[0];
    let got = c.api.get_meeting(&t, id).await.unwrap();
    assert_eq!(got.id, id);
    let new_start = start + chrono::Duration::days(1);
    c.api
        .update_meeting(
            &t,
            id,
            &MeetingUpdate {
                start_time: Some(new_start),
                duration: Some(45),
                topic: Some("Moved".into()),
                ..MeetingUpdate::default()
            },
        )
        .await
        .unwrap();
    let got = c.api.get_meeting(&t, id).await.unwrap();
    assert_eq!(got.start_time, Some(new_start));
    assert_eq!(got.duration, Some(45));
    assert_eq!(got.topic.as_deref(), Some("Moved"));

    c.api
        .delete_meeting(
            &t,
            id,
            &DeleteOptions {
                schedule_for_reminder: Some(true),
                cancel_meeting_reminder: Some(false),
                occurrence_id: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        c.api.get_meeting(&t, id).await.unwrap_err(),
        Error::NotFound { code: 3001 }
    );
    assert_eq!(
        c.api
            .delete_meeting(&t, id, &DeleteOptions::default())
            .await
            .unwrap_err(),
        Error::NotFound { code: 3001 }
    );
    assert_eq!(
        c.api.get_meeting(&t, 12_345).await.unwrap_err(),
        Error::NotFound { code: 3001 }
    );
    assert_eq!(sim.meetings().len(), 4);
}

#[tokio::test]
async fn missing_scope_is_4711_and_listed_in_words() {
    let scopes: Vec<&str> = all_scopes()
        .into_iter()
        .filter(|s| *s != "meeting:delete:meeting")
        .collect();
    let sim = start_sim(app(&scopes, None), unlimited()).await;
    let c = clients(&sim);
    let tokens = connect(&sim, &c, "a@example.com").await;
    let words = describe_missing_scopes(&tokens.scopes);
    assert_eq!(words.len(), 1, "{words:?}");
    assert!(words[0].contains("meeting:delete:meeting"));
    let m = c
        .api
        .create_meeting(
            &tokens.access_token,
            &NewMeeting::scheduled("x", "2099-01-01T10:00:00Z".parse().unwrap(), 30),
        )
        .await
        .unwrap();
    let err = c
        .api
        .delete_meeting(&tokens.access_token, m.id, &DeleteOptions::default())
        .await
        .unwrap_err();
    let Error::MissingScopes { scopes } = &err else {
        panic!("{err:?}")
    };
    assert!(
        scopes.iter().any(|s| s == "meeting:delete:meeting"),
        "{scopes:?}"
    );
}

#[tokio::test]
async fn per_second_429s_are_retried_and_daily_ones_are_not() {
    let sim = start_sim(app(&all_scopes(), None), unlimited()).await;
    let c = clients(&sim);
    let t = connect(&sim, &c, "a@example.com").await.access_token;
    sim.inject(
        Fault::new(FaultAction::RateLimit {
            limit_type: zoom_sim::RateLimitKind::Qps,
            retry_after: RetryAfter::Seconds,
            retry_after_secs: Some(0),
        })
        .on("GET", "/v2/users/me")
        .times(2),
    );
    c.api.me(&t).await.unwrap();

    sim.inject(
        Fault::new(FaultAction::RateLimit {
            limit_type: zoom_sim::RateLimitKind::Daily,
            retry_after: RetryAfter::Iso,
            retry_after_secs: None,
        })
        .on("GET", "/v2/users/me")
        .times(5),
    );
    let before = sim.requests().len();
    let err = c.api.me(&t).await.unwrap_err();
    let expected_reset = zoom_api::retry::next_utc_midnight(sim.now());
    assert_eq!(
        err,
        Error::RateLimited {
            kind: RateLimitKind::Daily,
            retry_at: Some(expected_reset)
        }
    );
    assert_eq!(
        sim.requests().len(),
        before + 1,
        "a daily limit is not retried"
    );
}

#[tokio::test]
async fn the_per_user_meeting_limit_is_recognised() {
    let mut config = SimConfig::default();
    config.rate_limits.meeting_create_update_per_day = 2;
    let sim = start_sim(app(&all_scopes(), None), config).await;
    let c = clients(&sim);
    let t = connect(&sim, &c, "a@example.com").await.access_token;
    let m = NewMeeting::scheduled("x", "2099-01-01T10:00:00Z".parse().unwrap(), 30);
    // One create per simulated second, so the free plan's 2/s Medium limit stays out of the way.
    c.api.create_meeting(&t, &m).await.unwrap();
    sim.advance_clock(Duration::from_secs(1));
    c.api.create_meeting(&t, &m).await.unwrap();
    sim.advance_clock(Duration::from_secs(1));
    let err = c.api.create_meeting(&t, &m).await.unwrap_err();
    let Error::RateLimited { kind, retry_at } = err else {
        panic!("{err:?}")
    };
    assert_eq!(kind, RateLimitKind::UserDailyMeetingLimit);
    assert_eq!(
        retry_at,
        Some(zoom_api::retry::next_utc_midnight(sim.now()))
    );
    assert_eq!(sim.meetings().len(), 2);
}

#[tokio::test]
async fn dropped_create_is_unknown_with_exactly_one_meeting_and_reconcilable() {
    let sim = start_sim(app(&all_scopes(), None), unlimited()).await;
    let c = clients(&sim);
    let t = connect(&sim, &c, "a@example.com").await.access_token;
    sim.inject(
        Fault::new(FaultAction::Drop)
            .on("POST", "/v2/users/me/meetings")
            .times(1),
    );
    let m = NewMeeting::scheduled("Unknown fate", "2099-01-01T10:00:00Z".parse().unwrap(), 30);
    let err = c.api.create_meeting(&t, &m).await.unwrap_err();
    assert_eq!(
        err,
        Error::CreateOutcomeUnknown {
            cause: UnknownOutcome::ConnectionLost
        }
    );
    assert_eq!(sim.meetings().len(), 1, "processed once, never re-sent");
    // Reconciliation finds it.
    let listed = c
        .api
        .list_meetings(&t, &ListMeetings::default())
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].topic.as_deref(), Some("Unknown fate"));
}

#[tokio::test]
async fn hung_create_times_out_as_unknown_with_exactly_one_meeting() {
    let sim = start_sim(app(&all_scopes(), None), unlimited()).await;
    let c = clients(&sim);
    let t = connect(&sim, &c, "a@example.com").await.access_token;
    sim.inject(
        Fault::new(FaultAction::Hang { secs: Some(3) })
            .on("POST", "/v2/users/me/meetings")
            .times(1),
    );
    let api = c.api.clone().with_timeout(Duration::from_millis(300));
    let m = NewMeeting::scheduled("Slow", "2099-01-01T10:00:00Z".parse().unwrap(), 30);
    let err = api.create_meeting(&t, &m).await.unwrap_err();
    assert_eq!(
        err,
        Error::CreateOutcomeUnknown {
            cause: UnknownOutcome::Timeout
        }
    );
    assert_eq!(sim.meetings().len(), 1);
}

#[tokio::test]
async fn server_errors_retry_gets_but_not_creates() {
    let sim = start_sim(app(&all_scopes(), None), unlimited()).await;
    let c = clients(&sim);
    let t = connect(&sim, &c, "a@example.com").await.access_token;
    sim.inject(
        Fault::new(FaultAction::Error {
            status: 503,
            body: None,
        })
        .on("GET", "/v2/users/me")
        .times(2),
    );
    c.api.me(&t).await.unwrap();
    sim.inject(
        Fault::new(FaultAction::Error {
            status: 500,
            body: None,
        })
        .on("POST", "/v2/users/me/meetings")
        .times(1),
    );
    let m = NewMeeting::scheduled("x", "2099-01-01T10:00:00Z".parse().unwrap(), 30);
    let err = c.api.create_meeting(&t, &m).await.unwrap_err();
    assert_eq!(
        err,
        Error::CreateOutcomeUnknown {
            cause: UnknownOutcome::ServerError { status: 500 }
        }
    );
    assert_eq!(
        sim.meetings().len(),
        0,
        "the simulator's error fault does not process"
    );
    sim.inject(
        Fault::new(FaultAction::Malformed)
            .on("GET", "/v2/users/me")
            .times(1),
    );
    let err = c.api.me(&t).await.unwrap_err();
    assert!(matches!(err, Error::UnexpectedResponse { .. }), "{err:?}");
}

/// A webhook receiver that answers url_validation with zoom-api's own code, after
/// verifying the challenge's signature when it carries one.
struct HookResponder {
    sim: SimState,
}

impl Respond for HookResponder {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let verifier = Verifier::new(SecretString::from(WEBHOOK_SECRET));
        let ts = req
            .headers
            .get("x-zm-request-timestamp")
            .and_then(|v| v.to_str().ok());
        let sig = req
            .headers
            .get("x-zm-signature")
            .and_then(|v| v.to_str().ok());
        if verifier.verify(ts, sig, &req.body, self.sim.now()).is_err() {
            return ResponseTemplate::new(401);
        }
        match WebhookEvent::parse(&req.body) {
            Ok(WebhookEvent {
                kind: EventKind::UrlValidation { plain_token },
                ..
            }) => match verifier.url_validation_response(&plain_token) {
                Ok(answer) => ResponseTemplate::new(200).set_body_json(answer),
                Err(_) => ResponseTemplate::new(400),
            },
            Ok(_) => ResponseTemplate::new(200),
            Err(_) => ResponseTemplate::new(400),
        }
    }
}

/// Waits (polling, at most 5 s) until every expected event has been delivered.
async fn deliveries(server: &MockServer, expected: &[&str]) -> Vec<Request> {
    for _ in 0..500 {
        let got = server.received_requests().await.unwrap_or_default();
        let events: Vec<String> = got
            .iter()
            .filter_map(|r| serde_json::from_slice::<serde_json::Value>(&r.body).ok())
            .filter_map(|v| v["event"].as_str().map(str::to_owned))
            .collect();
        if expected.iter().all(|e| events.iter().any(|x| x == e)) {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("not every one of {expected:?} arrived");
}

#[tokio::test]
async fn simulator_webhooks_verify_parse_and_answer_url_validation() {
    let hooks = MockServer::start().await;
    let sim = start_sim(
        app(&all_scopes(), Some(format!("{}/hook", hooks.uri()))),
        unlimited(),
    )
    .await;
    Mock::given(wiremock::matchers::any())
        .respond_with(HookResponder { sim: sim.state() })
        .mount(&hooks)
        .await;

    // The challenge, answered by zoom-api, satisfies the simulator.
    let result = sim.validate_webhook_endpoint(CLIENT_ID).await;
    assert!(result.ok, "{result:?}");

    let c = clients(&sim);
    let tokens = connect(&sim, &c, "a@example.com").await;
    let m = c
        .api
        .create_meeting(
            &tokens.access_token,
            &NewMeeting::scheduled("x", "2099-01-01T10:00:00Z".parse().unwrap(), 30),
        )
        .await
        .unwrap();
    c.api
        .update_meeting(
            &tokens.access_token,
            m.id,
            &MeetingUpdate {
                duration: Some(50),
                ..MeetingUpdate::default()
            },
        )
        .await
        .unwrap();
    c.api
        .delete_meeting(&tokens.access_token, m.id, &DeleteOptions::default())
        .await
        .unwrap();
    let m2 = c
        .api
        .create_meeting(
            &tokens.access_token,
            &NewMeeting::scheduled("y", "2099-01-01T10:00:00Z".parse().unwrap(), 30),
        )
        .await
        .unwrap();
    sim.start_meeting(i64::try_from(m2.id).unwrap()).unwrap();
    sim.end_meeting(i64::try_from(m2.id).unwrap()).unwrap();
    c.oauth.revoke(&tokens.access_token).await.unwrap();

    let verifier = Verifier::new(SecretString::from(WEBHOOK_SECRET));
    let mut seen = Vec::new();
    let expected = [
        "endpoint.url_validation",
        "meeting.updated",
        "meeting.deleted",
        "meeting.started",
        "meeting.ended",
        "app_deauthorized",
    ];
    for req in deliveries(&hooks, &expected).await {
        let ts = req
            .headers
            .get("x-zm-request-timestamp")
            .and_then(|v| v.to_str().ok());
        let sig = req
            .headers
            .get("x-zm-signature")
            .and_then(|v| v.to_str().ok());
        verifier.verify(ts, sig, &req.body, sim.now()).unwrap();
        let event = WebhookEvent::parse(&req.body).unwrap();
        assert!(event.event_ts.is_some(), "{event:?}");
        match &event.kind {
            EventKind::MeetingUpdated(u) => {
                assert_eq!(u.object.id, Some(m.id));
                assert_eq!(u.object.duration, Some(50));
            }
            EventKind::MeetingDeleted(d) => assert_eq!(d.object.id, Some(m.id)),
            EventKind::MeetingStarted(e) | EventKind::MeetingEnded(e) => {
                assert_eq!(e.object.id, Some(m2.id));
                assert!(e.object.uuid.is_some());
            }
            EventKind::AppDeauthorized(d) => {
                let user = sim.user_by_email("a@example.com").unwrap();
                assert_eq!(d.user_id.as_deref(), Some(user.id.as_str()));
                assert_eq!(event.dedupe_key().object, user.id);
            }
            _ => {}
        }
        seen.push(event.event.clone());
    }
    for e in expected {
        assert!(seen.iter().any(|s| s == e), "{e} missing from {seen:?}");
    }
}
