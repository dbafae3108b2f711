//! Browser pages: the consent page (sign in, Allow/Decline), the account page (meetings
//! and installed apps), and the join/start landing pages.

use crate::config::Plan;
use crate::html::{esc, initials, page};
use crate::meetings::{Changes, fmt_time};
use crate::model::{MeetingStatus, User};
use crate::oauth::{AuthorizeProblem, AuthorizeRequest, redirect_with, validate_authorize};
use crate::state::SimState;
use axum::Form;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{NaiveDateTime, TimeZone, Utc};
use serde::Deserialize;
use std::collections::HashMap;

const COOKIE: &str = "zoom_sim_user";

fn signed_in(state: &SimState, headers: &HeaderMap) -> Option<User> {
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    let id = cookies
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)?
        .1;
    state.lock().data.users.get(id).cloned()
}

fn with_cookie(mut resp: Response, user_id: Option<&str>) -> Response {
    let value = match user_id {
        Some(id) => format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax"),
        None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    };
    if let Ok(v) = HeaderValue::from_str(&value) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, Html(body)).into_response();
    r.headers_mut()
        .insert("cache-control", HeaderValue::from_static("no-store"));
    r
}

fn message_page(status: StatusCode, title: &str, icon: &str, text: &str) -> Response {
    let body = format!(
        r#"<div class="center"><div class="card narrow status"><div class="icon {icon}">{glyph}</div><h1>{t}</h1><p class="muted">{text}</p></div></div>"#,
        glyph = if icon == "ok" { "" } else { "!" },
        t = esc(title),
        text = esc(text),
    );
    html(status, page(title, "", &body))
}

pub(crate) async fn home(State(state): State<SimState>, headers: HeaderMap) -> Response {
    let who = signed_in(&state, &headers);
    let link = match &who {
        Some(u) => format!(
            r#"<a class="btn primary" href="/account">Open {}'s account</a>"#,
            esc(&u.first_name)
        ),
        None => r#"<a class="btn primary" href="/account">Sign in to an account</a>"#.to_string(),
    };
    let body = format!(
        r#"<div class="center"><div class="card narrow"><h1>Zoom simulator</h1>
<p class="muted">This server plays Zoom for development and tests: OAuth consent, tokens, the meetings API, webhooks, rate limits and fault injection.</p>
<p>{link}</p><p class="small muted">Control API: <code>/_sim/</code> &middot; API base: <code>{base}/v2</code></p></div></div>"#,
        base = esc(&state.base_url()),
    );
    html(StatusCode::OK, page("Zoom simulator", "", &body))
}

fn scope_description(scope: &str) -> &'static str {
    match scope {
        "user:read:user" | "user:read" | "user_info:read" | "user_profile" => {
            "View your user information"
        }
        "user:read:token" => "View your user token (ZAK)",
        "meeting:write:meeting" => "Create meetings for you",
        "meeting:write" => "View and manage your meetings",
        "meeting:read:meeting" => "View a meeting's details",
        "meeting:read:list_meetings" => "View your list of meetings",
        "meeting:read" => "View your meetings",
        "meeting:update:meeting" => "Update your meetings",
        "meeting:delete:meeting" => "Delete your meetings",
        _ => "Access your Zoom data",
    }
}

fn hidden(name: &str, value: &str) -> String {
    format!(
        r#"<input type="hidden" name="{}" value="{}">"#,
        esc(name),
        esc(value)
    )
}

fn app_initial(name: &str) -> String {
    esc(&name
        .chars()
        .next()
        .map(|c| c.to_uppercase().to_string())
        .unwrap_or_else(|| "A".into()))
}

fn plan_picker() -> &'static str {
    r#"<label>Plan for a new user</label>
<div class="plans">
<label class="plan"><input type="radio" name="plan" value="basic" checked><div><strong>Basic</strong><span>Free &middot; 40-minute meetings</span></div></label>
<label class="plan"><input type="radio" name="plan" value="licensed"><div><strong>Licensed</strong><span>Pro &middot; cloud recording</span></div></label>
</div><p class="note">Used only when the email is new to this simulator (type 1 or 2 in <code>/v2/users/me</code>).</p>"#
}

fn signin_card(heading: &str, sub: &str, then: &str, next: &str) -> String {
    format!(
        r#"<div class="center"><div class="card narrow">
<h1>{heading}</h1><p class="muted">{sub}</p>
<form method="post" action="/oauth/signin">
{then}{next}
<label for="email">Email address</label>
<input id="email" type="email" name="email" placeholder="you@example.com" required autofocus>
{plans}
<p style="margin-top:24px"><button class="btn primary block" type="submit">Sign In</button></p>
</form></div></div>"#,
        heading = esc(heading),
        sub = esc(sub),
        then = hidden("then", then),
        next = hidden("next", next),
        plans = plan_picker(),
    )
}

pub(crate) async fn authorize_page(
    State(state): State<SimState>,
    RawQuery(raw): RawQuery,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let client_id = q.get("client_id").cloned().unwrap_or_default();
    let redirect_uri = q.get("redirect_uri").cloned().unwrap_or_default();
    let app = state.app(&client_id);
    let challenge = q.get("code_challenge").map(String::as_str);
    let method = q.get("code_challenge_method").map(String::as_str);
    if let Err(p) = validate_authorize(
        app.as_ref(),
        q.get("response_type").map(String::as_str),
        Some(&redirect_uri),
        challenge,
        method,
    ) {
        return match p {
            AuthorizeProblem::Page(m) => {
                message_page(StatusCode::BAD_REQUEST, "Invalid request", "err", &m)
            }
            AuthorizeProblem::Redirect { error, description } => {
                let mut params = vec![
                    ("error", error),
                    ("error_description", description.as_str()),
                ];
                if let Some(s) = q.get("state") {
                    params.push(("state", s));
                }
                see_other(&redirect_with(&redirect_uri, &params))
            }
        };
    }
    let Some(app) = app else {
        return message_page(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "err",
            "Invalid client_id.",
        );
    };
    let raw = raw.unwrap_or_default();
    let Some(user) = signed_in(&state, &headers) else {
        let sub = format!("Sign in to continue to {}.", app.name);
        return html(
            StatusCode::OK,
            page(
                "Sign In - Zoom",
                "",
                &signin_card("Sign in", &sub, "authorize", &raw),
            ),
        );
    };
    let scopes: String = app
        .scopes
        .iter()
        .map(|s| {
            format!(
                "<li>{}<code>{}</code></li>",
                esc(scope_description(s)),
                esc(s)
            )
        })
        .collect();
    let mut fields = String::new();
    for k in [
        "client_id",
        "redirect_uri",
        "response_type",
        "state",
        "code_challenge",
        "code_challenge_method",
    ] {
        if let Some(v) = q.get(k) {
            fields.push_str(&hidden(k, v));
        }
    }
    let plan_class = if user.plan == Plan::Basic {
        "badge basic"
    } else {
        "badge"
    };
    let body = format!(
        r#"<div class="center"><div class="card narrow">
<div class="connect"><div class="appicon">{initial}</div><span class="dots">&bull;&bull;&bull;</span><div class="zoomicon"><span></span></div></div>
<p class="title">{name} would like to access your Zoom account</p>
<p class="muted" style="text-align:center;margin:0">Developed for the Zoom App Marketplace</p>
<div class="who"><div class="avatar">{ini}</div><div class="grow"><strong>{uname}</strong> <span class="{plan_class}">{plan}</span><br><span class="muted small">{email}</span></div>
<form method="post" action="/oauth/signout">{next}<button class="linkbtn small" type="submit">Not you?</button></form></div>
<p style="margin:0"><strong>This app will be able to:</strong></p>
<ul class="scopes">{scopes}</ul>
<p class="legal">By clicking Allow, you give permission to this app to use your information in accordance with its terms and privacy policy. You can remove this app at any time in your <a href="/account">account</a>.</p>
<form method="post" action="/oauth/authorize">{fields}
<div class="actions"><button class="btn secondary" type="submit" name="decision" value="decline">Decline</button>
<button class="btn primary" type="submit" name="decision" value="allow">Allow</button></div></form>
</div></div>"#,
        initial = app_initial(&app.name),
        name = esc(&app.name),
        ini = initials(&user.first_name, &user.last_name),
        uname = esc(&format!("{} {}", user.first_name, user.last_name)),
        email = esc(&user.email),
        plan = esc(user.plan.label()),
        next = hidden("next", &raw),
    );
    let right = format!("Signed in as {}", esc(&user.email));
    html(
        StatusCode::OK,
        page(&format!("Authorize {} - Zoom", app.name), &right, &body),
    )
}

#[derive(Deserialize)]
pub(crate) struct SignIn {
    email: String,
    #[serde(default)]
    plan: Option<String>,
    #[serde(default)]
    then: String,
    #[serde(default)]
    next: String,
}

/// Where to go after sign-in: only our own pages (no open redirect). The saved query is
/// decoded and re-encoded so that nothing but URL-safe text reaches the Location header.
fn after_signin(then: &str, next: &str) -> String {
    match then {
        "authorize" => {
            let pairs: Vec<(String, String)> =
                serde_urlencoded::from_str(next.trim_start_matches('?')).unwrap_or_default();
            format!(
                "/oauth/authorize?{}",
                serde_urlencoded::to_string(pairs).unwrap_or_default()
            )
        }
        _ => "/account".to_string(),
    }
}

/// 303 to `location`; a value that cannot be a header sends the browser home instead
/// (axum's `Redirect::to` would panic).
fn see_other(location: &str) -> Response {
    let value = HeaderValue::from_str(location).unwrap_or(HeaderValue::from_static("/"));
    (StatusCode::SEE_OTHER, [(header::LOCATION, value)]).into_response()
}

pub(crate) async fn signin(State(state): State<SimState>, Form(f): Form<SignIn>) -> Response {
    let email = f.email.trim();
    if !email.contains('@') || email.len() > 254 {
        return message_page(
            StatusCode::BAD_REQUEST,
            "Invalid email",
            "err",
            "Enter a valid email address.",
        );
    }
    let plan = f.plan.as_deref().and_then(Plan::parse);
    let user = state.ensure_user(email, plan);
    with_cookie(see_other(&after_signin(&f.then, &f.next)), Some(&user.id))
}

#[derive(Deserialize)]
pub(crate) struct SignOut {
    #[serde(default)]
    next: String,
}

pub(crate) async fn signout(Form(f): Form<SignOut>) -> Response {
    let to = if f.next.is_empty() {
        "/account".to_string()
    } else {
        after_signin("authorize", &f.next)
    };
    with_cookie(see_other(&to), None)
}

#[derive(Deserialize)]
pub(crate) struct Decision {
    client_id: String,
    redirect_uri: String,
    #[serde(default)]
    response_type: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    code_challenge: Option<String>,
    #[serde(default)]
    code_challenge_method: Option<String>,
    decision: String,
}

pub(crate) async fn authorize_submit(
    State(state): State<SimState>,
    headers: HeaderMap,
    Form(d): Form<Decision>,
) -> Response {
    let Some(user) = signed_in(&state, &headers) else {
        return message_page(
            StatusCode::UNAUTHORIZED,
            "Signed out",
            "warn",
            "Sign in again to continue.",
        );
    };
    if d.response_type.as_deref().is_some_and(|r| r != "code") {
        return message_page(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "err",
            "response_type must be code.",
        );
    }
    let req = AuthorizeRequest {
        email: user.email.clone(),
        plan: None,
        client_id: d.client_id,
        redirect_uri: d.redirect_uri,
        state: d.state,
        code_challenge: d.code_challenge.filter(|c| !c.is_empty()),
        code_challenge_method: d.code_challenge_method.filter(|c| !c.is_empty()),
        decline: d.decision != "allow",
    };
    match state.authorize(req) {
        Ok(o) => see_other(&o.redirect_url),
        Err(e) => message_page(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "err",
            &e.to_string(),
        ),
    }
}

/// The deprecated Data Compliance API: accepted (2xx) for historical clients.
pub(crate) async fn data_compliance() -> Response {
    (StatusCode::OK, axum::Json(serde_json::json!({}))).into_response()
}

// ---- account page ----

#[derive(Deserialize, Default)]
pub(crate) struct AccountQuery {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    notice: Option<String>,
}

fn account_user(state: &SimState, headers: &HeaderMap, email: Option<&str>) -> Option<User> {
    match email.filter(|e| !e.is_empty()) {
        Some(e) => state.user_by_email(e),
        None => signed_in(state, headers),
    }
}

fn local_time(t: chrono::DateTime<Utc>, tz: &str) -> String {
    match tz.parse::<chrono_tz::Tz>() {
        Ok(z) => t
            .with_timezone(&z)
            .format("%a %b %-d, %Y %-I:%M %p")
            .to_string(),
        Err(_) => t.format("%a %b %-d, %Y %H:%M UTC").to_string(),
    }
}

pub(crate) async fn account(
    State(state): State<SimState>,
    headers: HeaderMap,
    Query(q): Query<AccountQuery>,
) -> Response {
    let Some(user) = account_user(&state, &headers, q.email.as_deref()) else {
        let body = signin_card(
            "Sign in",
            "Sign in to see your meetings and apps.",
            "account",
            "",
        );
        return html(StatusCode::OK, page("Sign In - Zoom", "", &body));
    };
    let now = state.now();
    let (mut meetings, apps) = {
        let g = state.lock();
        let meetings: Vec<_> = g
            .data
            .meetings
            .values()
            .filter(|m| m.host_id == user.id && !m.expired(now))
            .cloned()
            .collect();
        let mut apps: Vec<_> = g
            .data
            .grants
            .values()
            .filter(|gr| gr.active() && gr.user_id == user.id)
            .filter_map(|gr| {
                g.data
                    .apps
                    .get(&gr.client_id)
                    .map(|a| (a.clone(), gr.created_at))
            })
            .collect();
        apps.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        apps.dedup_by(|a, b| a.0.client_id == b.0.client_id);
        (meetings, apps)
    };
    meetings.sort_by_key(|m| m.start_time);
    let email_field = hidden("email", &user.email);
    let rows: String = meetings
        .iter()
        .filter(|m| m.status != MeetingStatus::Finished && (m.end_time() >= now || m.status == MeetingStatus::Started))
        .map(|m| {
            let badge = match m.status {
                MeetingStatus::Started => r#"<span class="badge live">Live</span>"#,
                _ => "",
            };
            let start_btn = if m.status == MeetingStatus::Started {
                format!(r#"<form method="post" action="/account/meetings/{id}/end">{email_field}<button class="btn secondary small">End</button></form>"#, id = m.id)
            } else {
                format!(r#"<form method="post" action="/account/meetings/{id}/start">{email_field}<button class="btn primary small">Start</button></form>"#, id = m.id)
            };
            format!(
                r#"<tr><td style="width:190px"><strong>{when}</strong><div class="mid">{tz}</div></td>
<td><div class="mt">{topic} {badge}</div><div class="mid">Meeting ID: {id} &middot; {dur} min</div>
<details><summary>Edit</summary><form class="editform" method="post" action="/account/meetings/{id}/update">{email_field}
<div><label>Topic</label><input type="text" name="topic" value="{topic}" maxlength="200"></div>
<div><label>Start (UTC)</label><input type="datetime-local" name="start_time" value="{start}"></div>
<div><label>Minutes</label><input type="number" name="duration" value="{dur}" min="1" max="1440"></div>
<div><button class="btn primary small" type="submit">Save</button></div></form></details></td>
<td><div class="rowactions">{start_btn}
<form method="post" action="/account/meetings/{id}/delete" onsubmit="return confirm('Delete this meeting?')">{email_field}<button class="btn danger small">Delete</button></form></div></td></tr>"#,
                when = esc(&local_time(m.start_time, &m.timezone)),
                tz = esc(&m.timezone),
                topic = esc(&m.topic),
                id = m.id,
                dur = m.duration,
                start = m.start_time.format("%Y-%m-%dT%H:%M"),
            )
        })
        .collect();
    let table = if rows.is_empty() {
        r#"<p class="empty">No upcoming meetings.</p>"#.to_string()
    } else {
        format!(
            r#"<table><thead><tr><th>When</th><th>Meeting</th><th></th></tr></thead><tbody>{rows}</tbody></table>"#
        )
    };
    let app_rows: String = apps
        .iter()
        .map(|(a, at)| {
            format!(
                r#"<tr><td style="width:56px"><div class="appicon" style="width:40px;height:40px;font-size:18px;border-radius:10px;margin:0">{ini}</div></td>
<td><div class="mt">{name}</div><div class="mid">Authorized {at} &middot; {scopes}</div></td>
<td><div class="rowactions"><form method="post" action="/account/apps/{cid}/remove" onsubmit="return confirm('Remove this app?')">{email_field}<button class="btn danger small">Remove</button></form></div></td></tr>"#,
                ini = app_initial(&a.name),
                name = esc(&a.name),
                at = esc(&fmt_time(*at)),
                scopes = esc(&a.scopes.join(" ")),
                cid = esc(&percent_encoding::utf8_percent_encode(&a.client_id, percent_encoding::NON_ALPHANUMERIC).to_string()),
            )
        })
        .collect();
    let app_table = if app_rows.is_empty() {
        r#"<p class="empty">No apps installed.</p>"#.to_string()
    } else {
        format!("<table><tbody>{app_rows}</tbody></table>")
    };
    let notice = q
        .notice
        .filter(|n| !n.is_empty())
        .map(|n| format!(r#"<div class="notice">{}</div>"#, esc(&n)))
        .unwrap_or_default();
    let plan_class = if user.plan == Plan::Basic {
        "badge basic"
    } else {
        "badge"
    };
    let body = format!(
        r#"{notice}<div class="grid">
<div class="card profile"><div class="avatar">{ini}</div><h2 style="margin:0">{name}</h2><div class="muted">{email}</div>
<p style="margin:8px 0 0"><span class="{plan_class}">{plan}</span></p>
<dl class="kv"><dt>User ID</dt><dd><code>{uid}</code></dd><dt>Account ID</dt><dd><code>{aid}</code></dd>
<dt>Personal Meeting ID</dt><dd>{pmi}</dd><dt>Time zone</dt><dd>{tz}</dd></dl></div>
<div><div class="card section"><h2>Upcoming meetings</h2>{table}</div>
<div class="card section"><h2>Installed apps</h2>{app_table}</div></div></div>"#,
        ini = initials(&user.first_name, &user.last_name),
        name = esc(&format!("{} {}", user.first_name, user.last_name)),
        email = esc(&user.email),
        plan = esc(user.plan.label()),
        uid = esc(&user.id),
        aid = esc(&user.account_id),
        pmi = user.pmi,
        tz = esc(&user.timezone),
    );
    let right = format!(
        r#"{} <form method="post" action="/oauth/signout"><button class="linkbtn" type="submit">Sign out</button></form>"#,
        esc(&user.email)
    );
    with_cookie(
        html(StatusCode::OK, page("My Account - Zoom", &right, &body)),
        Some(&user.id),
    )
}

#[derive(Deserialize, Default)]
pub(crate) struct AccountForm {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    topic: Option<String>,
    #[serde(default)]
    start_time: Option<String>,
    #[serde(default)]
    duration: Option<String>,
}

fn back(user: &User, notice: &str) -> Response {
    let q = serde_urlencoded::to_string([("email", user.email.as_str()), ("notice", notice)])
        .unwrap_or_default();
    see_other(&format!("/account?{q}"))
}

fn form_user(state: &SimState, headers: &HeaderMap, f: &AccountForm) -> Result<User, Response> {
    account_user(state, headers, f.email.as_deref()).ok_or_else(|| {
        message_page(
            StatusCode::UNAUTHORIZED,
            "Signed out",
            "warn",
            "Sign in again to continue.",
        )
    })
}

pub(crate) async fn account_update(
    State(state): State<SimState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<AccountForm>,
) -> Response {
    let user = match form_user(&state, &headers, &f) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let mut c = Changes::default();
    if let Some(t) = f.topic.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        if t.chars().count() > 200 {
            return back(&user, "Topic is too long (200 characters at most).");
        }
        c.topic = Some(t.to_string());
    }
    if let Some(s) = f.start_time.as_deref().filter(|s| !s.is_empty()) {
        let parsed = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
            .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"));
        match parsed {
            Ok(n) => c.start_time = Some(Utc.from_utc_datetime(&n)),
            Err(_) => return back(&user, "Start time is not valid."),
        }
    }
    if let Some(d) = f.duration.as_deref().filter(|s| !s.is_empty()) {
        match d.parse::<i64>() {
            Ok(n) if (1..=1440).contains(&n) => c.duration = Some(n),
            _ => return back(&user, "Duration must be between 1 and 1440 minutes."),
        }
    }
    match state.update_meeting(&user, &id, c, false) {
        Ok(out) => {
            let n = out.len();
            state.dispatch(out);
            back(
                &user,
                &format!("Meeting updated. meeting.updated sent to {n} app(s)."),
            )
        }
        Err(e) => back(&user, &e.message),
    }
}

pub(crate) async fn account_delete(
    State(state): State<SimState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<AccountForm>,
) -> Response {
    let user = match form_user(&state, &headers, &f) {
        Ok(u) => u,
        Err(r) => return r,
    };
    match state.delete_meeting(&user, &id, false) {
        Ok(out) => {
            let n = out.len();
            state.dispatch(out);
            back(
                &user,
                &format!("Meeting deleted. meeting.deleted sent to {n} app(s)."),
            )
        }
        Err(e) => back(&user, &e.message),
    }
}

fn owned_id(state: &SimState, user: &User, id: &str) -> Option<i64> {
    state
        .lock()
        .owned_meeting(&user.id, id, state.now())
        .ok()
        .map(|m| m.id)
}

pub(crate) async fn account_start(
    State(state): State<SimState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<AccountForm>,
) -> Response {
    let user = match form_user(&state, &headers, &f) {
        Ok(u) => u,
        Err(r) => return r,
    };
    match owned_id(&state, &user, &id).map(|mid| state.start_meeting(mid)) {
        Some(Ok(_)) => back(&user, "Meeting started. meeting.started sent."),
        _ => back(&user, "Meeting not found."),
    }
}

pub(crate) async fn account_end(
    State(state): State<SimState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<AccountForm>,
) -> Response {
    let user = match form_user(&state, &headers, &f) {
        Ok(u) => u,
        Err(r) => return r,
    };
    match owned_id(&state, &user, &id).map(|mid| state.end_meeting(mid)) {
        Some(Ok(_)) => back(&user, "Meeting ended. meeting.ended sent."),
        _ => back(&user, "Meeting not found."),
    }
}

pub(crate) async fn account_remove_app(
    State(state): State<SimState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
    Form(f): Form<AccountForm>,
) -> Response {
    let user = match form_user(&state, &headers, &f) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let n = state.remove_app_for_user(&user.id, &client_id);
    if n == 0 {
        back(&user, "That app is not installed.")
    } else {
        back(&user, "App removed. app_deauthorized sent.")
    }
}

// ---- join / start landing pages ----

#[derive(Deserialize, Default)]
pub(crate) struct JoinQuery {
    #[serde(default)]
    pwd: Option<String>,
    #[serde(default)]
    zak: Option<String>,
}

pub(crate) async fn join(
    State(state): State<SimState>,
    Path(id): Path<String>,
    Query(q): Query<JoinQuery>,
) -> Response {
    let now = state.now();
    let meeting = id
        .parse::<i64>()
        .ok()
        .and_then(|mid| state.meeting(mid))
        .filter(|m| !m.expired(now));
    let Some(m) = meeting else {
        return message_page(
            StatusCode::NOT_FOUND,
            "Invalid meeting ID",
            "err",
            "This meeting ID is not valid. Please check and try again.",
        );
    };
    let pwd = q.pwd.unwrap_or_default();
    if pwd != m.encrypted_password && pwd != m.password {
        return message_page(
            StatusCode::FORBIDDEN,
            "Incorrect meeting passcode",
            "warn",
            "The passcode in this link is wrong.",
        );
    }
    let _ = state.start_meeting(m.id);
    let text = format!(
        "You joined \u{201c}{}\u{201d} (meeting ID {}).",
        m.topic, m.id
    );
    message_page(StatusCode::OK, "You joined the meeting", "ok", &text)
}

pub(crate) async fn start(
    State(state): State<SimState>,
    Path(id): Path<String>,
    Query(q): Query<JoinQuery>,
) -> Response {
    let Ok(mid) = id.parse::<i64>() else {
        return message_page(
            StatusCode::NOT_FOUND,
            "Invalid meeting ID",
            "err",
            "This meeting ID is not valid.",
        );
    };
    let now = state.now();
    let Some(m) = state.meeting(mid).filter(|m| !m.expired(now)) else {
        return message_page(
            StatusCode::NOT_FOUND,
            "Invalid meeting ID",
            "err",
            "This meeting ID is not valid.",
        );
    };
    if !state.check_zak(mid, q.zak.as_deref().unwrap_or("")) {
        return message_page(
            StatusCode::UNAUTHORIZED,
            "Sign in to start this meeting",
            "warn",
            "This start link has expired. Get a new start link from the app that scheduled the meeting.",
        );
    }
    let _ = state.start_meeting(mid);
    let text = format!(
        "You started \u{201c}{}\u{201d} as host (meeting ID {}).",
        m.topic, m.id
    );
    message_page(StatusCode::OK, "Meeting started as host", "ok", &text)
}
