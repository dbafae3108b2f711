//! Meetings end to end against each app's embedded Zoom simulator: scheduling (with the
//! invitation email and its `.ics`), validation, double submits, Zoom's errors and lost answers,
//! start, reschedule, cancel, changes made in Zoom (webhooks), disconnecting and the flag.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, TimeZone, Utc};
use reqwest::StatusCode;
use zoom_sim::{AuthorizeRequest, Fault, FaultAction, Plan, SimState};

use crate::both_databases;
use crate::kit::{self, browser_with_org, create_contact, get_text};
use crate::support::{TestApp, csrf_token_in, location, submit_with};

fn sim(app: &TestApp) -> &SimState {
    app.state
        .zoom
        .simulator
        .as_ref()
        .expect("test apps run the embedded simulator")
}

fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Connects this browser's user to Zoom as `email` (a new Zoom user on `plan`), the way the
/// consent page would, through the simulator's authorize shortcut.
async fn connect_zoom(app: &TestApp, client: &reqwest::Client, email: &str, plan: Plan) {
    connect_zoom_at(&app.base, sim(app), client, email, plan).await;
}

/// [`connect_zoom`] for a Rapport at `base` whose Zoom is `sim`.
pub(crate) async fn connect_zoom_at(
    base: &str,
    sim: &SimState,
    client: &reqwest::Client,
    email: &str,
    plan: Plan,
) {
    let r = submit_with(client, base, "/settings", "/settings/zoom/connect", &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "connect goes to Zoom");
    let to_zoom = location(&r);
    let outcome = sim
        .authorize(AuthorizeRequest {
            email: email.to_owned(),
            plan: Some(plan),
            client_id: query_param(&to_zoom, "client_id").expect("client_id"),
            redirect_uri: query_param(&to_zoom, "redirect_uri").expect("redirect_uri"),
            state: query_param(&to_zoom, "state"),
            code_challenge: query_param(&to_zoom, "code_challenge"),
            code_challenge_method: query_param(&to_zoom, "code_challenge_method"),
            decline: false,
        })
        .expect("consent");
    let r = client
        .get(&outcome.redirect_url)
        .send()
        .await
        .expect("callback");
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "callback redirects");
    let (_, settings) = get_text(client, base, "/settings").await;
    assert!(
        settings.contains("Disconnect"),
        "settings show Zoom connected"
    );
}

pub(crate) const HOST: &str = "ada@example.com";
pub(crate) const ZOOM_USER: &str = "ada.zoom@example.com";

/// Signs up Ada (Europe/Paris), connects her Zoom and adds a contact in New York.
async fn host_with_contact(app: &TestApp, plan: Plan) -> (reqwest::Client, i64) {
    let ada = browser_with_org(app, "Ada Lovelace", HOST, "Analytical Engines").await;
    connect_zoom(app, &ada, ZOOM_USER, plan).await;
    let contact = create_contact(
        &ada,
        &app.base,
        &[
            ("name", "Grace Hopper"),
            ("email", "grace@example.com"),
            ("time_zone", "America/New_York"),
        ],
    )
    .await;
    (ada, contact)
}

fn value_of(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// The schedule form's hidden fields (anti-forgery token and idempotency key).
async fn schedule_form(app: &TestApp, client: &reqwest::Client, contact: i64) -> (String, String) {
    schedule_form_at(&app.base, client, contact).await
}

pub(crate) async fn schedule_form_at(
    base: &str,
    client: &reqwest::Client,
    contact: i64,
) -> (String, String) {
    let (status, page) = get_text(client, base, &format!("/contacts/{contact}/meetings/new")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    (
        csrf_token_in(&page).expect("csrf"),
        value_of(&page, "idempotency_key").expect("idempotency key"),
    )
}

const DEFAULTS: &[(&str, &str)] = &[
    ("topic", "Compiler review"),
    ("date", "2027-03-02"),
    ("time", "15:00"),
    ("time_zone", "Europe/Paris"),
    ("duration", "45"),
    ("agenda", "Walk through the A-0 system"),
    ("invite", "on"),
];

pub(crate) fn with(overrides: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut fields: Vec<(&'static str, String)> = DEFAULTS
        .iter()
        .filter(|(k, _)| !overrides.iter().any(|(o, _)| o == k))
        .map(|(k, v)| (*k, (*v).to_owned()))
        .collect();
    fields.extend(overrides.iter().map(|(k, v)| (*k, (*v).to_owned())));
    fields
}

async fn post_schedule(
    app: &TestApp,
    client: &reqwest::Client,
    contact: i64,
    fields: &[(&'static str, String)],
    csrf: &str,
    key: &str,
) -> reqwest::Response {
    post_schedule_at(&app.base, client, contact, fields, csrf, key).await
}

async fn post_schedule_at(
    base: &str,
    client: &reqwest::Client,
    contact: i64,
    fields: &[(&'static str, String)],
    csrf: &str,
    key: &str,
) -> reqwest::Response {
    let mut all: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    all.push(("csrf_token", csrf));
    all.push(("idempotency_key", key));
    client
        .post(format!("{base}/contacts/{contact}/meetings"))
        .form(&all)
        .send()
        .await
        .expect("POST meeting")
}

async fn schedule(
    app: &TestApp,
    client: &reqwest::Client,
    contact: i64,
    overrides: &[(&'static str, &str)],
) -> reqwest::Response {
    let (csrf, key) = schedule_form(app, client, contact).await;
    post_schedule(app, client, contact, &with(overrides), &csrf, &key).await
}

async fn meeting(app: &TestApp, id: i64) -> rapport::meetings::storage::MeetingRow {
    let mut pooled = app.state.db.acquire().await.expect("conn");
    rapport::meetings::storage::by_id(&mut pooled.conn(), id)
        .await
        .expect("query")
        .expect("meeting exists")
}

async fn only_meeting(app: &TestApp) -> rapport::meetings::storage::MeetingRow {
    let id = kit::scalar(app, "SELECT MAX(id) FROM meetings").await;
    meeting(app, id).await
}

/// The parsed `.ics` of an email: the calendar's METHOD and the event's properties.
struct Ics {
    method: String,
    event: HashMap<String, String>,
    raw: String,
}

fn ics_of(mail: &rapport::mail::devbox::MailboxRow) -> Ics {
    let attachments = mail.attachments();
    let ics = attachments
        .iter()
        .find(|a| a.filename.ends_with(".ics"))
        .unwrap_or_else(|| panic!("no .ics attached to {}", mail.subject));
    assert!(ics.content_type.starts_with("text/calendar"));
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&ics.content_base64)
        .expect("base64");
    let raw = String::from_utf8(bytes).expect("utf-8");
    let unfolded = icalendar::parser::unfold(&raw);
    let calendar = icalendar::parser::read_calendar(&unfolded).expect("the .ics parses");
    let method = calendar
        .properties
        .iter()
        .find(|p| p.name.as_str() == "METHOD")
        .map(|p| p.val.as_str().to_owned())
        .unwrap_or_default();
    let vevent = calendar
        .components
        .iter()
        .find(|c| c.name.as_str() == "VEVENT")
        .expect("a VEVENT");
    let event = vevent
        .properties
        .iter()
        .map(|p| (p.name.as_str().to_owned(), p.val.as_str().to_owned()))
        .collect();
    // The typed parser accepts it too.
    let typed: icalendar::Calendar = raw.parse().expect("Calendar::from_str");
    assert_eq!(typed.components.len(), 1);
    Ics { method, event, raw }
}

fn utc(s: &str) -> DateTime<Utc> {
    chrono::NaiveDateTime::parse_from_str(s, "%Y%m%dT%H%M%SZ")
        .map(|n| Utc.from_utc_datetime(&n))
        .unwrap_or_else(|e| panic!("{s} is not a UTC date-time: {e}"))
}

/// Jobs running, or due and never tried. (A job the worker is claiming can still look queued to
/// this connection; a reconciliation queued for later as a safety net is not due.)
async fn due_jobs(app: &TestApp) -> i64 {
    let mut pooled = app.state.db.acquire().await.expect("conn");
    let now = app.state.clock.now();
    rapport::sql_scalar!(
        &mut pooled.conn(),
        i64,
        fetch_one,
        "SELECT COUNT(*) FROM jobs WHERE state = 'running' OR (state = 'queued' AND attempts = 0 AND run_at <= $1)",
        now
    )
    .expect("count jobs")
}

/// Runs every due job, and waits for those the background worker is running to finish.
async fn settle(app: &TestApp) {
    for _ in 0..500 {
        app.drain_jobs().await;
        if due_jobs(app).await == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("jobs still running");
}

/// The dev mailbox (newest first) once every due job has run.
async fn mailbox(app: &TestApp) -> Vec<rapport::mail::devbox::MailboxRow> {
    settle(app).await;
    let mut pooled = app.state.db.acquire().await.expect("conn");
    rapport::mail::devbox::list(&mut pooled.conn(), 1000)
        .await
        .expect("mailbox")
}

/// Waits until the simulator has finished delivering its webhooks, then runs Rapport's jobs.
async fn settle_webhooks(app: &TestApp) {
    for _ in 0..250 {
        if sim(app).webhook_deliveries().iter().all(|d| d.done) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    settle(app).await;
}

async fn org_of(app: &TestApp, email: &str) -> i64 {
    kit::scalar(
        app,
        &format!("SELECT org_id FROM users WHERE email = '{email}'"),
    )
    .await
}

both_databases!(
    schedule_end_to_end_with_invitation_and_ics,
    |app: TestApp| async move {
        let (ada, contact) = host_with_contact(&app, Plan::Licensed).await;
        let r = schedule(&app, &ada, contact, &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&r), format!("/contacts/{contact}"));

        let zoom = sim(&app).meetings();
        assert_eq!(zoom.len(), 1, "one meeting in Zoom");
        let z = &zoom[0];
        assert_eq!(
            z.start_time,
            Utc.with_ymd_and_hms(2027, 3, 2, 14, 0, 0).unwrap()
        );
        assert_eq!(z.timezone, "Europe/Paris");
        assert_eq!(z.duration, 45);
        assert_eq!(z.agenda, "Walk through the A-0 system");
        assert_eq!(z.topic, "Compiler review");

        let m = only_meeting(&app).await;
        assert_eq!(m.status, "scheduled");
        assert_eq!(
            m.zoom_meeting_id.as_deref(),
            Some(z.id.to_string().as_str())
        );

        let (_, page) = get_text(&ada, &app.base, &format!("/contacts/{contact}")).await;
        assert!(page.contains("Compiler review"), "{page}");
        assert!(page.contains("Scheduled"), "contact page shows the status");

        let (_, agenda) = get_text(&ada, &app.base, "/meetings").await;
        assert!(agenda.contains("Tuesday March 2, 2027"), "{agenda}");
        assert!(agenda.contains("Compiler review"));
        assert!(agenda.contains("15:00"), "host's local time on the agenda");

        let mail = mailbox(&app).await;
        assert_eq!(mail.len(), 1, "one invitation");
        let invite = &mail[0];
        assert!(invite.to_address.contains("grace@example.com"));
        assert_eq!(
            invite.subject,
            "Invitation: Compiler review with Ada Lovelace"
        );
        let text = kit::unescape(&invite.text_body);
        // 14:00Z is 09:00 in New York and 15:00 in Paris.
        assert!(text.contains("09:00"), "contact's time: {text}");
        assert!(text.contains("America/New_York"), "{text}");
        assert!(text.contains("15:00"), "host's time: {text}");
        assert!(text.contains("Europe/Paris"), "{text}");
        let join_url = m.join_url.clone().expect("join url");
        assert!(join_url.starts_with(&sim(&app).base_url()));
        assert!(text.contains(&join_url), "join link: {text}");
        assert!(text.contains(&z.password), "passcode: {text}");
        assert!(text.contains("Ada Lovelace"));
        assert!(text.contains("Walk through the A-0 system"));
        assert!(kit::unescape(&invite.html_body).contains(&join_url));

        let ics = ics_of(invite);
        assert_eq!(ics.method, "REQUEST", "{}", ics.raw);
        assert_eq!(ics.event.get("UID"), Some(&m.ics_uid));
        assert_eq!(ics.event.get("SEQUENCE").map(String::as_str), Some("0"));
        assert_eq!(utc(&ics.event["DTSTART"]), z.start_time);
        assert_eq!(
            utc(&ics.event["DTEND"]),
            z.start_time + chrono::Duration::minutes(45)
        );
        assert_eq!(ics.event["ORGANIZER"], format!("mailto:{HOST}"));
        assert_eq!(ics.event["ATTENDEE"], "mailto:grace@example.com");
        assert_eq!(ics.event["LOCATION"], join_url);

        // Settled at once: the reconciliation queued as a safety net with the pending record
        // is withdrawn, so nothing is left waiting on the jobs page.
        assert_eq!(
            kit::count(&app, "jobs WHERE kind = 'reconcile_meeting'").await,
            0
        );
        let (_, jobs) = get_text(&ada, &app.base, "/admin/jobs").await;
        assert!(jobs.contains("No queued jobs."), "{jobs}");
    }
);

both_databases!(
    invalid_forms_keep_values_and_create_nothing,
    |app: TestApp| async move {
        let (ada, contact) = host_with_contact(&app, Plan::Licensed).await;
        let long_topic = "t".repeat(201);
        let long_agenda = "a".repeat(2001);
        let cases: Vec<(Vec<(&'static str, &str)>, &str)> = vec![
            (vec![("date", "2020-01-01")], "past"),
            (vec![("duration", "0")], "duration"),
            (vec![("duration", "2000")], "duration"),
            (vec![("topic", long_topic.as_str())], "200"),
            (vec![("agenda", long_agenda.as_str())], "2000"),
            (vec![("time_zone", "Mars/Olympus_Mons")], "zone"),
            (
                vec![
                    ("date", "2027-03-14"),
                    ("time", "02:30"),
                    ("time_zone", "America/New_York"),
                ],
                "does not exist",
            ),
            (
                vec![
                    ("date", "2027-11-07"),
                    ("time", "01:30"),
                    ("time_zone", "America/New_York"),
                ],
                "happens twice",
            ),
        ];
        for (overrides, message) in cases {
            let r = schedule(&app, &ada, contact, &overrides).await;
            assert_eq!(
                r.status(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "{overrides:?}"
            );
            let page = kit::unescape(&r.text().await.unwrap());
            assert!(
                page.to_lowercase().contains(&message.to_lowercase()),
                "{overrides:?}: expected {message:?} in the page"
            );
            // The zone is a list of known zones: an unknown one cannot be shown as chosen.
            for (field, value) in overrides.iter().filter(|(f, _)| *f != "time_zone") {
                assert!(
                    page.contains(&format!("value=\"{value}\""))
                        || page.contains(&format!(">{value}<")),
                    "{field} keeps the typed value"
                );
            }
        }
        // A contact without email cannot be invited.
        let no_email = create_contact(&ada, &app.base, &[("name", "No Mail")]).await;
        let r = schedule(&app, &ada, no_email, &[("invite", "on")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("email"));

        assert_eq!(kit::count(&app, "meetings").await, 0);
        assert!(sim(&app).meetings().is_empty());
        assert!(
            !sim(&app)
                .requests()
                .iter()
                .any(|r| r.method == "POST" && r.path.contains("/meetings")),
            "nothing was sent to Zoom"
        );

        // Licensed: the cloud-recording option, no 40-minute note.
        let (_, form) = get_text(
            &ada,
            &app.base,
            &format!("/contacts/{contact}/meetings/new"),
        )
        .await;
        assert!(form.contains("name=\"record\""));
        assert!(!form.contains("40 minutes"));
    }
);

both_databases!(
    basic_users_see_the_forty_minute_note,
    |app: TestApp| async move {
        let (ada, contact) = host_with_contact(&app, Plan::Basic).await;
        let (_, form) = get_text(
            &ada,
            &app.base,
            &format!("/contacts/{contact}/meetings/new"),
        )
        .await;
        assert!(form.contains("40 minutes"), "{form}");
        assert!(
            !form.contains("name=\"record\""),
            "no cloud recording on Basic"
        );
    }
);

both_databases!(
    the_same_form_sent_five_times_schedules_once,
    |app: TestApp| async move {
        let (ada, contact) = host_with_contact(&app, Plan::Licensed).await;
        let (csrf, key) = schedule_form(&app, &ada, contact).await;
        let fields = with(&[]);
        let posts = (0..5).map(|_| post_schedule(&app, &ada, contact, &fields, &csrf, &key));
        let responses = futures::future::join_all(posts).await;
        for r in &responses {
            assert_eq!(r.status(), StatusCode::SEE_OTHER);
        }
        assert_eq!(sim(&app).meetings().len(), 1, "one meeting in Zoom");
        assert_eq!(kit::count(&app, "meetings").await, 1, "one in Rapport");
        assert_eq!(mailbox(&app).await.len(), 1, "one invitation");
    }
);

/// `action` on the next meeting create Zoom receives.
fn on_next_create(action: FaultAction) -> Fault {
    Fault::new(action)
        .on("POST", "/v2/users/me/meetings")
        .times(1)
}

/// Zoom's answer when the user has reached their daily limit of meeting creates.
fn daily_limit() -> FaultAction {
    FaultAction::RateLimit {
        limit_type: zoom_sim::RateLimitKind::Daily,
        retry_after: Default::default(),
        retry_after_secs: None,
    }
}

both_databases!(
    a_double_click_whose_first_send_fails_shows_the_failure,
    |app: TestApp| async move {
        let (ada, contact) = host_with_contact(&app, Plan::Licensed).await;
        // Zoom takes its time, then refuses the first create (the user's daily limit).
        sim(&app).inject(on_next_create(FaultAction::Latency { ms: 800 }));
        sim(&app).inject(on_next_create(daily_limit()));
        let (csrf, key) = schedule_form(&app, &ada, contact).await;
        let fields = with(&[("topic", "Double click")]);
        let first = post_schedule(&app, &ada, contact, &fields, &csrf, &key);
        let second = async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            post_schedule(&app, &ada, contact, &fields, &csrf, &key).await
        };
        let (first, second) = tokio::join!(first, second);
        assert_eq!(first.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(kit::unescape(&first.text().await.unwrap()).contains("daily limit"));
        // The second send, the answer the browser shows, does not claim a meeting exists.
        assert_eq!(second.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = kit::unescape(&second.text().await.unwrap());
        assert!(!page.contains("already scheduled"), "{page}");
        assert!(page.contains("the first send failed"), "{page}");
        assert!(page.contains("value=\"Double click\""), "typed values kept");
        assert_eq!(kit::count(&app, "meetings").await, 0, "nothing stored");
        assert!(sim(&app).meetings().is_empty(), "nothing in Zoom");
    }
);

both_databases!(
    zoom_errors_leave_nothing_behind,
    |app: TestApp| async move {
        let (ada, contact) = host_with_contact(&app, Plan::Licensed).await;
        // A per-user daily limit: the reset time is mentioned.
        sim(&app).inject(on_next_create(daily_limit()));
        let r = schedule(&app, &ada, contact, &[("topic", "Daily limit")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = kit::unescape(&r.text().await.unwrap());
        assert!(page.contains("daily limit"), "{page}");
        assert!(page.contains("resets at"), "reset time mentioned");
        assert!(page.contains("value=\"Daily limit\""), "typed values kept");

        // An invalid access token: reconnect.
        sim(&app).inject(on_next_create(FaultAction::Error {
            status: 401,
            body: Some(r#"{"code":124,"message":"Invalid access token."}"#.into()),
        }));
        let r = schedule(&app, &ada, contact, &[]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = r.text().await.unwrap();
        assert!(
            page.contains("Reconnect") || page.contains("reconnect"),
            "{page}"
        );

        sim(&app).clear_faults();
        assert_eq!(kit::count(&app, "meetings").await, 0, "nothing stored");
        assert_eq!(
            kit::count(&app, "jobs WHERE kind = 'reconcile_meeting'").await,
            0,
            "no reconciliation left for attempts that certainly failed"
        );
        assert!(sim(&app).meetings().is_empty(), "nothing in Zoom");
        assert!(mailbox(&app).await.is_empty());
    }
);

both_databases!(
    a_server_error_on_create_is_settled_by_reconciliation,
    |app: TestApp| async move {
        let (ada, contact) = host_with_contact(&app, Plan::Licensed).await;
        // Zoom answers 500 without creating: the outcome is unknown to Rapport, which checks.
        sim(&app).inject(
            Fault::new(FaultAction::Error {
                status: 500,
                body: None,
            })
            .on("POST", "/v2/users/me/meetings")
            .times(1),
        );
        let r = schedule(&app, &ada, contact, &[]).await;
        let status = r.status();
        let page = r.text().await.unwrap();
        if status == StatusCode::UNPROCESSABLE_ENTITY {
            assert!(page.contains("try again"), "{page}");
            assert_eq!(kit::count(&app, "meetings").await, 0);
        } else {
            assert_eq!(status, StatusCode::SEE_OTHER);
            settle(&app).await;
            let m = only_meeting(&app).await;
            assert_eq!(m.status, "failed", "reconciliation marks it failed");
        }
        assert!(sim(&app).meetings().is_empty(), "nothing in Zoom");
        assert!(mailbox(&app).await.is_empty(), "no invitation");
    }
);

both_databases!(
    a_lost_answer_on_create_is_adopted_by_reconciliation,
    |app: TestApp| async move {
        let (ada, contact) = host_with_contact(&app, Plan::Licensed).await;
        sim(&app).inject(
            Fault::new(FaultAction::Drop)
                .on("POST", "/v2/users/me/meetings")
                .times(1),
        );
        let r = schedule(&app, &ada, contact, &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let (_, page) = get_text(&ada, &app.base, &location(&r)).await;
        assert!(page.contains("checking"), "{page}");
        settle(&app).await;
        let zoom = sim(&app).meetings();
        assert_eq!(zoom.len(), 1, "exactly one meeting in Zoom");
        let m = only_meeting(&app).await;
        assert_eq!(m.status, "scheduled");
        assert_eq!(m.zoom_meeting_id, Some(zoom[0].id.to_string()));
        let mail = mailbox(&app).await;
        assert_eq!(mail.len(), 1, "one invitation");
        assert!(mail[0].text_body.contains(&zoom[0].password));
    }
);

both_databases!(
    only_the_host_can_start_edit_or_cancel,
    |app: TestApp| async move {
        let (ada, contact) = host_with_contact(&app, Plan::Licensed).await;
        let r = schedule(&app, &ada, contact, &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let m = only_meeting(&app).await;
        let zoom_id = m.zoom_meeting_id.clone().unwrap();

        let r = kit::get(&ada, &app.base, &format!("/meetings/{}/start", m.id)).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let start = location(&r);
        assert!(
            start.starts_with(&format!("{}/s/{zoom_id}?zak=", sim(&app).base_url())),
            "{start}"
        );
        let r = kit::get(&ada, &app.base, &format!("/meetings/{}/start", m.id)).await;
        assert_ne!(location(&r), start, "a fresh start link each time");
        let landing = reqwest::get(&start).await.unwrap();
        assert_eq!(landing.status(), StatusCode::OK, "the start link works");

        // A teammate in the same organization.
        let r = submit_with(
            &ada,
            &app.base,
            "/settings/team",
            "/settings/team",
            &[("name", "Bob Babbage"), ("email", "bob@example.com")],
        )
        .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let mail = mailbox(&app).await;
        let invitation = mail
            .iter()
            .find(|m| m.to_address.contains("bob@example.com"))
            .expect("team invitation");
        let link =
            crate::support::link_in(&invitation.text_body, &app.url("/set-password/")).unwrap();
        let path = link.trim_start_matches(&app.base).to_owned();
        let bob = crate::support::new_client();
        submit_with(
            &bob,
            &app.base,
            &path,
            &path,
            &[("password", "bobs own passphrase")],
        )
        .await;
        let r = kit::sign_in_with(
            &bob,
            &app.base,
            "bob@example.com",
            "bobs own passphrase",
            "",
        )
        .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);

        let eve = browser_with_org(&app, "Eve", "eve@example.com", "Other Org").await;
        for client in [&bob, &eve] {
            for path in ["start", "edit", "cancel"] {
                let r = kit::get(client, &app.base, &format!("/meetings/{}/{path}", m.id)).await;
                assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
            }
            let r = submit_with(
                client,
                &app.base,
                "/contacts",
                &format!("/meetings/{}/cancel", m.id),
                &[],
            )
            .await;
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "POST cancel");
        }
        assert_eq!(sim(&app).meetings().len(), 1, "still in Zoom");
    }
);

both_databases!(
    reschedule_then_cancel_reach_zoom_and_the_contact,
    |app: TestApp| async move {
        let (ada, contact) = host_with_contact(&app, Plan::Licensed).await;
        schedule(&app, &ada, contact, &[]).await;
        let m = only_meeting(&app).await;
        let zoom_id: i64 = m.zoom_meeting_id.clone().unwrap().parse().unwrap();

        let edit = format!("/meetings/{}/edit", m.id);
        let fields: Vec<(&str, String)> = with(&[("time", "16:30")]);
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        // Zoom down: the form comes back with a message, nothing changes anywhere.
        sim(&app).inject(
            Fault::new(FaultAction::Error {
                status: 503,
                body: None,
            })
            .on("PATCH", "/v2/meetings/"),
        );
        let r = submit_with(&ada, &app.base, &edit, &edit, &fields).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = r.text().await.unwrap();
        assert!(page.contains("try again"), "{page}");
        assert!(page.contains("value=\"16:30\""), "typed time kept");
        sim(&app).clear_faults();
        assert_eq!(sim(&app).meeting(zoom_id).unwrap().start_time, m.start_at);
        assert_eq!(meeting(&app, m.id).await.start_at, m.start_at);
        assert_eq!(mailbox(&app).await.len(), 1, "only the invitation");

        let r = submit_with(&ada, &app.base, &edit, &edit, &fields).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let z = sim(&app).meeting(zoom_id).expect("still in Zoom");
        assert_eq!(
            z.start_time,
            Utc.with_ymd_and_hms(2027, 3, 2, 15, 30, 0).unwrap()
        );
        assert!(
            sim(&app)
                .requests()
                .iter()
                .any(|r| r.method == "PATCH" && r.path.ends_with(&zoom_id.to_string()))
        );
        // Zoom also tells Rapport about its own change (meeting.updated): no second email.
        settle_webhooks(&app).await;
        let mail = mailbox(&app).await;
        assert_eq!(mail.len(), 2);
        let update = &mail[0];
        assert!(update.subject.starts_with("Updated:"), "{}", update.subject);
        let ics = ics_of(update);
        assert_eq!(ics.method, "REQUEST");
        assert_eq!(ics.event["UID"], m.ics_uid);
        assert_eq!(ics.event["SEQUENCE"], "1");
        assert_eq!(utc(&ics.event["DTSTART"]), z.start_time);

        let cancel = format!("/meetings/{}/cancel", m.id);
        let r = submit_with(&ada, &app.base, &cancel, &cancel, &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(sim(&app).meeting(zoom_id).is_none(), "deleted in Zoom");
        settle_webhooks(&app).await;
        assert_eq!(meeting(&app, m.id).await.status, "cancelled");
        let mail = mailbox(&app).await;
        assert_eq!(mail.len(), 3);
        assert!(mail[0].subject.starts_with("Cancelled:"));
        let ics = ics_of(&mail[0]);
        assert_eq!(ics.method, "CANCEL");
        assert_eq!(ics.event["UID"], m.ics_uid);
        assert!(ics.event["SEQUENCE"].parse::<i64>().unwrap() > 1);
        let (_, page) = get_text(&ada, &app.base, &format!("/contacts/{contact}")).await;
        assert!(page.contains("Cancelled"));

        // Cancelling a meeting already deleted in Zoom still succeeds.
        schedule(&app, &ada, contact, &[("topic", "Second")]).await;
        let second = only_meeting(&app).await;
        let zoom_id: i64 = second.zoom_meeting_id.clone().unwrap().parse().unwrap();
        let r = reqwest::Client::new()
            .post(format!(
                "{}/account/meetings/{zoom_id}/delete",
                sim(&app).base_url()
            ))
            .form(&[("email", ZOOM_USER)])
            .send()
            .await
            .unwrap();
        assert!(r.status().is_redirection() || r.status().is_success());
        assert!(sim(&app).meeting(zoom_id).is_none());
        let cancel = format!("/meetings/{}/cancel", second.id);
        let r = submit_with(&ada, &app.base, &cancel, &cancel, &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(meeting(&app, second.id).await.status, "cancelled");
    }
);

/// Submits the reschedule form of meeting `id` with the schedule defaults and `overrides`.
async fn reschedule(
    app: &TestApp,
    client: &reqwest::Client,
    id: i64,
    overrides: &[(&'static str, &str)],
) -> StatusCode {
    let edit = format!("/meetings/{id}/edit");
    let fields = with(overrides);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    submit_with(client, &app.base, &edit, &edit, &fields)
        .await
        .status()
}

/// The update email whose `.ics` has this SEQUENCE, with its text.
async fn update_with_sequence(app: &TestApp, sequence: &str) -> (String, Ics) {
    let mail = mailbox(app).await;
    let update = mail
        .iter()
        .filter(|e| e.subject.starts_with("Updated:"))
        .find(|e| ics_of(e).event["SEQUENCE"] == sequence)
        .unwrap_or_else(|| panic!("no update with SEQUENCE {sequence}"));
    (kit::unescape(&update.text_body), ics_of(update))
}

both_databases!(
    reschedule_saves_the_agenda_for_rapport_zoom_and_the_contact,
    |app: TestApp| async move {
        let (ada, contact) = host_with_contact(&app, Plan::Licensed).await;
        schedule(&app, &ada, contact, &[]).await;
        let m = only_meeting(&app).await;
        let zoom_id: i64 = m.zoom_meeting_id.clone().unwrap().parse().unwrap();
        let edit_page = || {
            let (ada, app) = (&ada, &app);
            async move {
                let (status, page) =
                    get_text(ada, &app.base, &format!("/meetings/{}/edit", m.id)).await;
                assert_eq!(status, StatusCode::OK);
                kit::unescape(&page)
            }
        };
        let old = "Walk through the A-0 system";

        // A new time and a new agenda.
        let first = "Plan the FLOW-MATIC rollout";
        let r = reschedule(&app, &ada, m.id, &[("time", "16:30"), ("agenda", first)]).await;
        assert_eq!(r, StatusCode::SEE_OTHER);
        settle_webhooks(&app).await;
        assert_eq!(
            sim(&app).meeting(zoom_id).unwrap().agenda,
            first,
            "sent to Zoom"
        );
        let page = edit_page().await;
        assert!(page.contains(&format!(">{first}</textarea>")), "{page}");
        let (text, ics) = update_with_sequence(&app, "1").await;
        assert!(text.contains(first) && !text.contains(old), "{text}");
        assert!(ics.event["DESCRIPTION"].contains(first), "{}", ics.raw);

        // Only the agenda changes: still a change the contact is sent.
        let second = "Plan the FLOW-MATIC rollout and the COBOL report";
        let r = reschedule(&app, &ada, m.id, &[("time", "16:30"), ("agenda", second)]).await;
        assert_eq!(r, StatusCode::SEE_OTHER);
        settle_webhooks(&app).await;
        assert_eq!(sim(&app).meeting(zoom_id).unwrap().agenda, second);
        assert!(edit_page().await.contains(&format!(">{second}</textarea>")));
        let (text, _) = update_with_sequence(&app, "2").await;
        assert!(text.contains(second), "{text}");

        // The agenda removed: gone in Zoom, on the form and from the email.
        let r = reschedule(&app, &ada, m.id, &[("time", "16:30"), ("agenda", "")]).await;
        assert_eq!(r, StatusCode::SEE_OTHER);
        settle_webhooks(&app).await;
        assert_eq!(sim(&app).meeting(zoom_id).unwrap().agenda, "");
        assert!(edit_page().await.contains("></textarea>"));
        let (text, _) = update_with_sequence(&app, "3").await;
        assert!(!text.contains("COBOL"), "{text}");

        // Sending the same form again changes nothing and emails nobody.
        let r = reschedule(&app, &ada, m.id, &[("time", "16:30"), ("agenda", "")]).await;
        assert_eq!(r, StatusCode::SEE_OTHER);
        settle_webhooks(&app).await;
        assert_eq!(
            mailbox(&app).await.len(),
            4,
            "the invitation and three updates"
        );
    }
);

async fn post_signed(app: &TestApp, body: &str) -> StatusCode {
    let secret = sim(app).apps()[0].webhook_secret.clone();
    let ts = Utc::now().timestamp();
    reqwest::Client::new()
        .post(app.url("/webhooks/zoom"))
        .header("x-zm-request-timestamp", ts.to_string())
        .header(
            "x-zm-signature",
            zoom_sim::sign(&secret, ts, body.as_bytes()),
        )
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
        .status()
}

both_databases!(
    changes_made_in_zoom_reach_rapport,
    |app: TestApp| async move {
        let (ada, contact) = host_with_contact(&app, Plan::Licensed).await;
        schedule(&app, &ada, contact, &[]).await;
        let m = only_meeting(&app).await;
        let zoom_id: i64 = m.zoom_meeting_id.clone().unwrap().parse().unwrap();
        let account = |path: String, form: Vec<(&'static str, String)>| {
            let base = sim(&app).base_url();
            async move {
                reqwest::Client::new()
                    .post(format!("{base}{path}"))
                    .form(&form)
                    .send()
                    .await
                    .unwrap()
            }
        };
        sim(&app).clear_webhook_deliveries();

        // Edited in Zoom: Rapport follows, and the contact gets the update.
        account(
            format!("/account/meetings/{zoom_id}/update"),
            vec![
                ("email", ZOOM_USER.into()),
                ("topic", "Renamed in Zoom".into()),
                ("start_time", "2027-03-02T16:00".into()),
            ],
        )
        .await;
        settle_webhooks(&app).await;
        let updated = meeting(&app, m.id).await;
        assert_eq!(updated.topic, "Renamed in Zoom");
        assert_eq!(
            updated.start_at,
            Utc.with_ymd_and_hms(2027, 3, 2, 16, 0, 0).unwrap()
        );
        let mail = mailbox(&app).await;
        assert_eq!(mail.len(), 2, "invitation and update");
        assert!(mail.iter().any(|m| m.subject.starts_with("Updated:")));

        // The same delivery twice, and an older update after a newer one: applied once, newest wins.
        let deliveries = sim(&app).webhook_deliveries();
        let older = deliveries
            .iter()
            .find(|d| d.event == "meeting.updated")
            .expect("meeting.updated sent")
            .body
            .clone();
        assert_eq!(post_signed(&app, &older).await, StatusCode::OK);
        settle(&app).await;
        account(
            format!("/account/meetings/{zoom_id}/update"),
            vec![("email", ZOOM_USER.into()), ("topic", "Newest".into())],
        )
        .await;
        settle_webhooks(&app).await;
        assert_eq!(meeting(&app, m.id).await.topic, "Newest");
        // Replay the older event with a new timestamp field as a distinct event.
        let mut stale: serde_json::Value = serde_json::from_str(&older).unwrap();
        stale["event_ts"] = serde_json::json!(stale["event_ts"].as_i64().unwrap() + 1);
        let status = post_signed(&app, &stale.to_string()).await;
        assert!(status.is_success(), "{status}");
        settle(&app).await;
        assert_eq!(meeting(&app, m.id).await.topic, "Newest", "newest wins");
        assert_eq!(mailbox(&app).await.len(), 3, "one email per applied change");

        // Started and ended in Zoom: on the contact's timeline with a duration.
        sim(&app).start_meeting(zoom_id).unwrap();
        settle_webhooks(&app).await;
        // Within the webhook signature's five-minute tolerance.
        sim(&app).advance_clock(Duration::from_secs(4 * 60));
        sim(&app).end_meeting(zoom_id).unwrap();
        settle_webhooks(&app).await;
        let (_, page) = get_text(&ada, &app.base, &format!("/contacts/{contact}")).await;
        let page = kit::unescape(&page);
        assert!(page.contains("started in Zoom"), "{page}");
        assert!(page.contains("ended after"), "{page}");

        // Deleted in Zoom: cancelled in Rapport, and the contact is told.
        schedule(&app, &ada, contact, &[("topic", "To be deleted")]).await;
        let second = only_meeting(&app).await;
        let zoom_id: i64 = second.zoom_meeting_id.clone().unwrap().parse().unwrap();
        account(
            format!("/account/meetings/{zoom_id}/delete"),
            vec![("email", ZOOM_USER.into())],
        )
        .await;
        settle_webhooks(&app).await;
        assert_eq!(meeting(&app, second.id).await.status, "cancelled");
        let mail = mailbox(&app).await;
        // The invitation and the cancellation can be delivered within one instant: find it by subject.
        let cancellation = mail
            .iter()
            .find(|m| m.subject.starts_with("Cancelled: To be deleted"))
            .unwrap_or_else(|| {
                panic!(
                    "no cancellation among {:?}",
                    mail.iter().map(|m| &m.subject).collect::<Vec<_>>()
                )
            });
        assert_eq!(ics_of(cancellation).method, "CANCEL");
    }
);

both_databases!(
    disconnecting_keeps_the_record_and_the_flag_hides_meetings,
    |app: TestApp| async move {
        let (ada, contact) = host_with_contact(&app, Plan::Licensed).await;
        schedule(&app, &ada, contact, &[]).await;
        let m = only_meeting(&app).await;
        let r = submit_with(
            &ada,
            &app.base,
            "/settings/zoom/disconnect",
            "/settings/zoom/disconnect",
            &[],
        )
        .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let kept = meeting(&app, m.id).await;
        assert_eq!(kept.topic, "Compiler review");
        assert_eq!(kept.start_at, m.start_at);
        assert!(kept.join_url.is_none() && kept.zoom_meeting_id.is_none());
        let (_, page) = get_text(&ada, &app.base, &format!("/contacts/{contact}")).await;
        assert!(page.contains("Compiler review"));
        assert!(page.contains("Zoom link removed"), "{page}");
        assert!(!page.contains(&m.join_url.clone().unwrap()));
        let (_, form) = get_text(
            &ada,
            &app.base,
            &format!("/contacts/{contact}/meetings/new"),
        )
        .await;
        assert!(form.contains("Connect Zoom"), "{form}");

        let org = org_of(&app, HOST).await;
        assert!(org > 0);
        {
            let mut pooled = app.state.db.acquire().await.unwrap();
            rapport::flags::set(
                &mut pooled.conn(),
                rapport::flags::ZOOM,
                rapport::flags::Change::Off,
                Utc::now(),
            )
            .await
            .unwrap();
        }
        let (_, page) = get_text(&ada, &app.base, &format!("/contacts/{contact}")).await;
        assert!(!page.contains("/meetings/new"), "no Schedule button");
        for path in [
            format!("/contacts/{contact}/meetings/new"),
            format!("/meetings/{}/start", m.id),
            format!("/meetings/{}/edit", m.id),
            format!("/meetings/{}/cancel", m.id),
        ] {
            let r = kit::get(&ada, &app.base, &path).await;
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        }
    }
);

/// Invitations written to the contact (SMTP), in arrival order.
fn smtp_invitations(smtp: &kit::SmtpServer) -> usize {
    smtp.messages()
        .iter()
        .filter(|m| m.contains("grace@example.com") && m.contains("Invitation: Compiler review"))
        .count()
}

/// SMTP refuses every connection while a meeting is scheduled: the meeting is scheduled anyway,
/// the invitation waits (the host and the admin page say so), and once SMTP is back it is
/// delivered exactly once.
async fn invitation_waits_out_an_smtp_outage(app: TestApp, smtp: kit::SmtpServer) {
    let (ada, contact) = host_with_contact(&app, Plan::Licensed).await;
    let r = schedule(&app, &ada, contact, &[]).await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "scheduling does not wait for mail"
    );
    let (_, page) = get_text(&ada, &app.base, &location(&r)).await;
    assert!(page.contains("Meeting scheduled"), "{page}");
    assert_eq!(sim(&app).meetings().len(), 1);
    let m = only_meeting(&app).await;
    assert_eq!(m.status, "scheduled");

    // Delivery is tried (and refused) at least once.
    let tried = kit::eventually(20, || async {
        app.drain_jobs().await;
        kit::count(
            &app,
            "outbox WHERE state = 'pending' AND last_error IS NOT NULL AND to_address LIKE '%grace@example.com%'",
        )
        .await
            == 1
    })
    .await;
    assert!(tried, "the invitation was tried and stays queued");
    assert_eq!(smtp_invitations(&smtp), 0);
    let (_, page) = get_text(&ada, &app.base, &format!("/contacts/{contact}")).await;
    let page = kit::unescape(&page);
    assert!(page.contains("Not sent yet"), "{page}");
    assert!(
        page.contains("Invitation: Compiler review with Ada Lovelace"),
        "{page}"
    );
    // The admin sees the queued email and why (unless the worker is retrying it this instant).
    let admin_sees_it = kit::eventually(10, || async {
        let (status, admin) = get_text(&ada, &app.base, "/admin/jobs?state=queued").await;
        assert_eq!(status, StatusCode::OK);
        admin.contains("send_email") && admin.contains("SMTP")
    })
    .await;
    assert!(
        admin_sees_it,
        "the jobs page lists the waiting email with SMTP's error"
    );

    smtp.set_down(false);
    // Past any retry backoff.
    app.state.clock.advance(chrono::Duration::minutes(10));
    let sent = kit::eventually(20, || async {
        app.drain_jobs().await;
        smtp_invitations(&smtp) >= 1 && kit::count(&app, "outbox WHERE state <> 'sent'").await == 0
    })
    .await;
    assert!(sent, "the invitation is delivered once SMTP is back");
    app.state.clock.advance(chrono::Duration::hours(1));
    settle(&app).await;
    assert_eq!(smtp_invitations(&smtp), 1, "delivered exactly once");
    let (_, page) = get_text(&ada, &app.base, &format!("/contacts/{contact}")).await;
    assert!(!page.contains("Not sent yet"), "{page}");
}

mod invitations_wait_out_an_smtp_outage {
    use super::*;
    use crate::support::{Db, fresh_postgres_database, postgres_server_url};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let smtp = kit::SmtpServer::start(true).await;
        let app = TestApp::spawn_with(Db::Sqlite, None, &["--smtp-url", &smtp.url()]).await;
        invitation_waits_out_an_smtp_outage(app, smtp).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let Some(server) = postgres_server_url() else {
            return;
        };
        let smtp = kit::SmtpServer::start(true).await;
        let url = fresh_postgres_database(&server).await;
        let app = TestApp::spawn_with(Db::Postgres, Some(url), &["--smtp-url", &smtp.url()]).await;
        invitation_waits_out_an_smtp_outage(app, smtp).await;
    }
}

/// Deletes a meeting on the simulator's Zoom account page, as the host would in Zoom.
async fn delete_in_zoom(app: &TestApp, zoom_id: i64) {
    let r = reqwest::Client::new()
        .post(format!(
            "{}/account/meetings/{zoom_id}/delete",
            sim(app).base_url()
        ))
        .form(&[("email", ZOOM_USER)])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection() || r.status().is_success());
    assert!(sim(app).meeting(zoom_id).is_none(), "deleted in Zoom");
}

const NOTIFY_BOX: &str = "name=\"notify_contact_on_zoom_delete\" value=\"on\"";

both_databases!(
    a_host_can_choose_not_to_email_the_contact_about_deletions_in_zoom,
    |app: TestApp| async move {
        let (ada, contact) = host_with_contact(&app, Plan::Licensed).await;
        let (_, settings) = get_text(&ada, &app.base, "/settings").await;
        assert!(
            settings.contains("Email my contact when a meeting is deleted in Zoom"),
            "{settings}"
        );
        assert!(
            settings.contains(&format!("{NOTIFY_BOX} checked")),
            "on by default"
        );

        // Without the form's anti-forgery token nothing changes.
        let r = ada
            .post(app.url("/settings/meetings"))
            .form(&[("notify_contact_on_zoom_delete", "")])
            .send()
            .await
            .unwrap();
        assert!(r.status().is_client_error(), "{}", r.status());
        let (_, settings) = get_text(&ada, &app.base, "/settings").await;
        assert!(settings.contains(&format!("{NOTIFY_BOX} checked")));

        // Unticked (a browser sends no field for an unticked box).
        let r = submit_with(&ada, &app.base, "/settings", "/settings/meetings", &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(location(&r).starts_with("/settings"));
        let (_, settings) = get_text(&ada, &app.base, "/settings").await;
        assert!(
            settings.contains("without emailing the contact"),
            "flash: {settings}"
        );
        assert!(settings.contains(NOTIFY_BOX));
        assert!(!settings.contains(&format!("{NOTIFY_BOX} checked")), "off");

        schedule(&app, &ada, contact, &[]).await;
        let m = only_meeting(&app).await;
        delete_in_zoom(&app, m.zoom_meeting_id.clone().unwrap().parse().unwrap()).await;
        settle_webhooks(&app).await;
        assert_eq!(meeting(&app, m.id).await.status, "cancelled");
        let mail = mailbox(&app).await;
        assert_eq!(mail.len(), 1, "only the invitation, no cancellation");
        let (_, page) = get_text(&ada, &app.base, &format!("/contacts/{contact}")).await;
        assert!(page.contains("Cancelled"), "{page}");
        assert!(page.contains("the contact was not emailed"), "{page}");

        // Ticked again: the next deletion in Zoom reaches the contact.
        let r = submit_with(
            &ada,
            &app.base,
            "/settings",
            "/settings/meetings",
            &[("notify_contact_on_zoom_delete", "on")],
        )
        .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let (_, settings) = get_text(&ada, &app.base, "/settings").await;
        assert!(settings.contains(&format!("{NOTIFY_BOX} checked")));
        schedule(&app, &ada, contact, &[("topic", "Second")]).await;
        let second = only_meeting(&app).await;
        delete_in_zoom(
            &app,
            second.zoom_meeting_id.clone().unwrap().parse().unwrap(),
        )
        .await;
        settle_webhooks(&app).await;
        let mail = mailbox(&app).await;
        assert_eq!(mail.len(), 3, "second invitation and its cancellation");
        assert!(
            mail.iter()
                .any(|m| m.subject.starts_with("Cancelled: Second")),
            "the cancellation reached the contact"
        );
    }
);

both_databases!(
    zoom_reporting_a_reschedule_before_rapport_stored_it_sends_one_update,
    |app: TestApp| async move {
        let (ada, contact) = host_with_contact(&app, Plan::Licensed).await;
        schedule(&app, &ada, contact, &[]).await;
        let m = only_meeting(&app).await;
        let new_start = Utc.with_ymd_and_hms(2027, 3, 2, 15, 30, 0).unwrap();

        // Zoom applies the PATCH and sends meeting.updated at once, but answers Rapport late
        // (well within Rapport's Zoom timeout).
        sim(&app).inject(
            Fault::new(FaultAction::SlowAnswer { ms: 6000 })
                .on("PATCH", "/v2/meetings/")
                .times(1),
        );
        let edit = format!("/meetings/{}/edit", m.id);
        let submit = {
            let (ada, base, edit) = (ada.clone(), app.base.clone(), edit.clone());
            tokio::spawn(async move {
                let fields = with(&[("time", "16:30")]);
                let fields: Vec<(&str, &str)> =
                    fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                submit_with(&ada, &base, &edit, &edit, &fields)
                    .await
                    .status()
            })
        };
        let webhook_first = kit::eventually(5, || async {
            app.drain_jobs().await;
            meeting(&app, m.id).await.start_at == new_start
        })
        .await;
        assert!(
            webhook_first && !submit.is_finished(),
            "Zoom's webhook was applied while Rapport still waited for its PATCH"
        );
        assert_eq!(submit.await.unwrap(), StatusCode::SEE_OTHER);
        settle_webhooks(&app).await;

        let stored = meeting(&app, m.id).await;
        assert_eq!(stored.start_at, new_start);
        assert_eq!(stored.ics_sequence, 1, "one change, one SEQUENCE step");
        let mail = mailbox(&app).await;
        let updates: Vec<_> = mail
            .iter()
            .filter(|e| e.subject.starts_with("Updated:"))
            .collect();
        assert_eq!(updates.len(), 1, "exactly one update email");
        let ics = ics_of(updates[0]);
        assert_eq!(ics.event["SEQUENCE"], "1");
        assert_eq!(utc(&ics.event["DTSTART"]), new_start);
        assert_eq!(mail.len(), 2, "the invitation and the update");
    }
);

/// The agenda's "Past" section (empty when there is none).
fn past_section(agenda: &str) -> &str {
    agenda.split("<h2>Past</h2>").nth(1).unwrap_or_default()
}

fn upcoming_section(agenda: &str) -> &str {
    agenda.split("<h2>Past</h2>").next().unwrap_or_default()
}

/// Starting or rescheduling meeting `id` is refused (by link and by form), and Zoom is not asked.
async fn not_startable_or_reschedulable(app: &TestApp, ada: &reqwest::Client, id: i64) {
    let requests_before = sim(app).requests().len();
    let r = kit::get(ada, &app.base, &format!("/meetings/{id}/start")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/meetings", "not sent to Zoom");
    let (_, page) = get_text(ada, &app.base, "/meetings").await;
    assert!(page.contains("cannot be started"), "{page}");
    let edit = format!("/meetings/{id}/edit");
    let r = kit::get(ada, &app.base, &edit).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, page) = get_text(ada, &app.base, &location(&r)).await;
    assert!(page.contains("cannot be rescheduled"), "{page}");
    let (_, contact_page) = get_text(ada, &app.base, "/contacts/new").await;
    let csrf = csrf_token_in(&contact_page).unwrap();
    let fields = with(&[("time", "16:30"), ("csrf_token", csrf.as_str())]);
    let r = ada.post(app.url(&edit)).form(&fields).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "the form is refused too");
    assert!(
        !sim(app).requests()[requests_before..]
            .iter()
            .any(|r| r.method == "PATCH" || r.path.contains("/meetings/")),
        "nothing was asked of Zoom"
    );
}

both_databases!(
    a_meeting_that_is_over_is_past_without_start_or_reschedule,
    |app: TestApp| async move {
        let (ada, contact) = host_with_contact(&app, Plan::Licensed).await;

        // Ended in Zoom (meeting.ended), long before its planned end.
        schedule(&app, &ada, contact, &[]).await;
        let ended = only_meeting(&app).await;
        let zoom_id: i64 = ended.zoom_meeting_id.clone().unwrap().parse().unwrap();
        let (_, agenda) = get_text(&ada, &app.base, "/meetings").await;
        assert!(
            agenda.contains(&format!("/meetings/{}/start", ended.id)),
            "offered while upcoming"
        );
        sim(&app).start_meeting(zoom_id).unwrap();
        settle_webhooks(&app).await;
        sim(&app).end_meeting(zoom_id).unwrap();
        settle_webhooks(&app).await;
        assert_eq!(meeting(&app, ended.id).await.status, "ended");
        let (_, agenda) = get_text(&ada, &app.base, "/meetings").await;
        assert!(
            !upcoming_section(&agenda).contains("Compiler review"),
            "{agenda}"
        );
        assert!(
            past_section(&agenda).contains("Compiler review"),
            "{agenda}"
        );
        assert!(past_section(&agenda).contains("Ended"), "{agenda}");
        for page in [
            agenda.clone(),
            get_text(&ada, &app.base, &format!("/contacts/{contact}"))
                .await
                .1,
        ] {
            assert!(!page.contains(&format!("/meetings/{}/start", ended.id)));
            assert!(!page.contains(&format!("/meetings/{}/edit", ended.id)));
        }
        not_startable_or_reschedulable(&app, &ada, ended.id).await;

        // Time passed (no word from Zoom): two hours from now, half an hour long.
        let at = (app.state.clock.now() + chrono::Duration::hours(2))
            .with_timezone(&chrono_tz::Europe::Paris);
        let (date, time) = (
            at.format("%Y-%m-%d").to_string(),
            at.format("%H:%M").to_string(),
        );
        let r = schedule(
            &app,
            &ada,
            contact,
            &[
                ("topic", "Soon"),
                ("date", date.as_str()),
                ("time", time.as_str()),
                ("duration", "30"),
            ],
        )
        .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let soon = only_meeting(&app).await;
        let (_, agenda) = get_text(&ada, &app.base, "/meetings").await;
        assert!(upcoming_section(&agenda).contains("Soon"));
        assert!(agenda.contains(&format!("/meetings/{}/edit", soon.id)));
        app.state.clock.advance(chrono::Duration::hours(3));
        let (_, agenda) = get_text(&ada, &app.base, "/meetings").await;
        assert!(!upcoming_section(&agenda).contains("Soon"), "{agenda}");
        assert!(past_section(&agenda).contains("Soon"), "{agenda}");
        assert!(past_section(&agenda).contains("Past"), "{agenda}");
        let (_, contact_page) = get_text(&ada, &app.base, &format!("/contacts/{contact}")).await;
        for page in [agenda, contact_page] {
            assert!(!page.contains(&format!("/meetings/{}/start", soon.id)));
            assert!(!page.contains(&format!("/meetings/{}/edit", soon.id)));
        }
        not_startable_or_reschedulable(&app, &ada, soon.id).await;
    }
);

both_databases!(
    a_reconciliation_that_comes_early_looks_again_before_failing_the_meeting,
    |app: TestApp| async move {
        use rapport::meetings::service::{ReconcileJob, reconcile};
        use rapport::meetings::storage::{NewMeeting, insert_pending};
        let ada = browser_with_org(&app, "Ada Lovelace", HOST, "Analytical Engines").await;
        connect_zoom(&app, &ada, "ada.zoom@example.com", Plan::Licensed).await;
        let contact = create_contact(
            &ada,
            &app.base,
            &[("name", "Grace Hopper"), ("email", "grace@example.com")],
        )
        .await;
        let org_id = kit::scalar(&app, "SELECT id FROM organizations").await;
        let user_id = kit::scalar(&app, "SELECT id FROM users").await;
        // A pending record whose create Zoom has not answered: as the schedule form leaves it
        // while its call to Zoom is still in flight.
        let created = app.state.clock.now();
        let mut tx = app.state.db.begin().await.unwrap();
        let id = insert_pending(
            &mut tx.conn(),
            &NewMeeting {
                org_id,
                host_user_id: user_id,
                contact_id: contact,
                topic: "Still being created",
                agenda: None,
                start_at: created + chrono::Duration::days(2),
                time_zone: "Europe/Paris",
                duration_minutes: 30,
                invite_contact: true,
                record_cloud: false,
                idempotency_key: "early-reconcile",
                ics_uid: "early-reconcile@rapport.test",
            },
            created,
        )
        .await
        .unwrap()
        .expect("inserted");
        tx.commit().await.unwrap();
        let pending = format!("meetings WHERE id = {id} AND status = 'pending'");
        let failed = format!("meetings WHERE id = {id} AND status = 'failed'");
        // As the job worker runs the safety net queued with the record.
        let safety_net = || {
            reconcile(
                &app.state,
                ReconcileJob {
                    meeting_id: id,
                    call_over: false,
                },
            )
        };

        // Zoom has no such meeting yet, but the record is seconds old: not failed, looked at
        // again once the create is certainly over.
        safety_net().await.unwrap();
        assert_eq!(
            kit::count(&app, &pending).await,
            1,
            "failed while the create may be in flight"
        );
        assert_eq!(
            kit::count(
                &app,
                "jobs WHERE kind = 'reconcile_meeting' AND state = 'queued'"
            )
            .await,
            1,
            "no later look queued"
        );

        // Later, Zoom still has nothing: the attempt is marked failed, for the user to retry.
        app.state.clock.advance(chrono::Duration::minutes(10));
        safety_net().await.unwrap();
        assert_eq!(
            kit::count(&app, &failed).await,
            1,
            "not failed once old enough"
        );
        assert!(sim(&app).meetings().is_empty());
    }
);

both_databases!(
    a_cancel_in_rapport_reaches_the_contact_even_when_zooms_echo_is_applied_first,
    |app: TestApp| async move {
        let (ada, contact) = host_with_contact(&app, Plan::Licensed).await;
        // The host chose not to email contacts about deletions made in Zoom itself.
        let r = submit_with(&ada, &app.base, "/settings", "/settings/meetings", &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        schedule(&app, &ada, contact, &[("topic", "Echo")]).await;
        let m = only_meeting(&app).await;
        let zoom_id = m.zoom_meeting_id.clone().unwrap();
        settle(&app).await;
        // Zoom deletes at once and sends its meeting.deleted, but answers Rapport late: the
        // webhook is applied before Rapport records its own cancellation.
        sim(&app).inject(
            Fault::new(FaultAction::SlowAnswer { ms: 1500 })
                .on("DELETE", &format!("/v2/meetings/{zoom_id}"))
                .times(1),
        );
        let cancel = async {
            let r = submit_with(
                &ada,
                &app.base,
                "/contacts",
                &format!("/meetings/{}/cancel", m.id),
                &[],
            )
            .await;
            (r, std::time::Instant::now())
        };
        let echo_applied = async {
            kit::eventually(10, || async {
                app.drain_jobs().await;
                meeting(&app, m.id).await.status == "cancelled"
            })
            .await;
            std::time::Instant::now()
        };
        let ((r, answered), applied) = tokio::join!(cancel, echo_applied);
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(
            applied < answered,
            "Zoom's meeting.deleted was not applied before Rapport heard back"
        );
        let mail = mailbox(&app).await;
        assert!(
            mail.iter()
                .any(|m| m.subject.starts_with("Cancelled: Echo")),
            "a cancellation made in Rapport reaches the contact: {:?}",
            mail.iter().map(|m| &m.subject).collect::<Vec<_>>()
        );
        let (_, page) = get_text(&ada, &app.base, &format!("/contacts/{contact}")).await;
        assert!(page.contains("cancelled in Rapport"), "{page}");
        assert!(!page.contains("the contact was not emailed"), "{page}");
    }
);

both_databases!(
    deleting_a_contact_deletes_the_emails_to_them,
    |app: TestApp| async move {
        let (ada, contact) = host_with_contact(&app, Plan::Licensed).await;
        let r = schedule(&app, &ada, contact, &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        settle(&app).await;
        let to_grace = "outbox WHERE to_address = 'grace@example.com' OR to_name = 'Grace Hopper'";
        assert_eq!(kit::count(&app, to_grace).await, 1, "the invitation");
        let delete = format!("/contacts/{contact}/delete");
        let r = submit_with(&ada, &app.base, &delete, &delete, &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            kit::count(&app, to_grace).await,
            0,
            "the contact's address, name and subjects stayed in the outbox"
        );
        settle(&app).await;
        assert_eq!(kit::count(&app, "jobs WHERE state = 'dead'").await, 0);
    }
);
