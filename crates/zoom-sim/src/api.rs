//! The REST API under `/v2` (contract §2, §3): bearer tokens in the Authorization header
//! only, scopes per endpoint, rate limits, Zoom's error bodies.

use crate::api_error::ApiError;
use crate::meetings::{fmt_time, parse_changes};
use crate::model::{MeetingStatus, PageToken, User};
use crate::ratelimit::Label;
use crate::state::SimState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use serde_json::json;
use std::collections::HashMap;

/// What an endpoint needs: its rate-limit label and the scopes any one of which allows it
/// (granular or classic, user-level or admin).
pub(crate) struct Endpoint {
    label: Label,
    scopes: &'static [&'static str],
    /// Counts against the per-user 100 create/update requests a day.
    meeting_write: bool,
}

const USERS_ME: Endpoint = Endpoint {
    label: Label::Light,
    scopes: &[
        "user:read:user",
        "user:read:user:admin",
        "user:read",
        "user:read:admin",
        "user:write",
        "user:write:admin",
        "user_profile",
        "user_info:read",
    ],
    meeting_write: false,
};
const MEETING_CREATE: Endpoint = Endpoint {
    label: Label::Medium,
    scopes: &[
        "meeting:write:meeting",
        "meeting:write:meeting:admin",
        "meeting:write",
        "meeting:write:admin",
    ],
    meeting_write: true,
};
const MEETING_GET: Endpoint = Endpoint {
    label: Label::Light,
    scopes: &[
        "meeting:read:meeting",
        "meeting:read:meeting:admin",
        "meeting:read",
        "meeting:read:admin",
    ],
    meeting_write: false,
};
const MEETING_UPDATE: Endpoint = Endpoint {
    label: Label::Light,
    scopes: &[
        "meeting:update:meeting",
        "meeting:update:meeting:admin",
        "meeting:write",
        "meeting:write:admin",
    ],
    meeting_write: true,
};
const MEETING_DELETE: Endpoint = Endpoint {
    label: Label::Light,
    scopes: &[
        "meeting:delete:meeting",
        "meeting:delete:meeting:admin",
        "meeting:write",
        "meeting:write:admin",
    ],
    meeting_write: false,
};
const MEETING_LIST: Endpoint = Endpoint {
    label: Label::Medium,
    scopes: &[
        "meeting:read:list_meetings",
        "meeting:read:list_meetings:admin",
        "meeting:read",
        "meeting:read:admin",
    ],
    meeting_write: false,
};

pub(crate) struct Caller {
    pub user: User,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Caller {
    fn reply(&self, resp: impl IntoResponse) -> Response {
        let mut r = resp.into_response();
        for (k, v) in &self.headers {
            r.headers_mut().insert(k.clone(), v.clone());
        }
        r
    }
}

fn unauthorized(message: &str) -> Response {
    ApiError::new(StatusCode::UNAUTHORIZED, 124, message).into_response()
}

/// Authentication, scopes, account rate limits and the per-user meeting limit, in the
/// order Zoom applies them.
fn authenticate(
    state: &SimState,
    headers: &HeaderMap,
    query: Option<&str>,
    ep: &Endpoint,
) -> Result<Caller, Response> {
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_string())
        });
    let Some(token) = bearer else {
        let in_query = query.is_some_and(|q| {
            serde_urlencoded::from_str::<Vec<(String, String)>>(q)
                .map(|p| p.iter().any(|(k, _)| k == "access_token"))
                .unwrap_or(false)
        });
        return Err(unauthorized(if in_query {
            "Invalid access token, this access token is not supported as query parameter string."
        } else {
            "Invalid access token."
        }));
    };
    let now = state.now();
    let mut g = state.lock();
    let Some(grant) = g
        .access_index
        .get(&token)
        .and_then(|id| g.data.grants.get(id))
    else {
        return Err(unauthorized("Invalid access token."));
    };
    if !grant.active() {
        return Err(unauthorized("Invalid access token."));
    }
    let Some(at) = grant.access_tokens.iter().find(|t| t.token == token) else {
        return Err(unauthorized("Invalid access token."));
    };
    if at.expires_at <= now {
        return Err(unauthorized("Access token is expired."));
    }
    if !ep
        .scopes
        .iter()
        .any(|s| grant.scopes.iter().any(|g| g == s))
    {
        let wanted = ep
            .scopes
            .iter()
            .take(2)
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            4711,
            format!("Invalid access token, does not contain scopes:[{wanted}]."),
        )
        .into_response());
    }
    let Some(user) = g.data.users.get(&grant.user_id).cloned() else {
        return Err(unauthorized("Invalid access token."));
    };
    let cfg = g.config.rate_limits.clone();
    let headers = g
        .rate
        .check(&cfg, user.plan, &user.account_id, ep.label, now)?;
    if ep.meeting_write {
        g.rate.check_user_meetings(&cfg, &user.id, ep.label, now)?;
    }
    Ok(Caller { user, headers })
}

fn is_me(user: &User, user_id: &str) -> bool {
    user_id == "me" || user_id == user.id || user_id.eq_ignore_ascii_case(&user.email)
}

pub(crate) async fn get_user(
    State(state): State<SimState>,
    Path(user_id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let caller = match authenticate(&state, &headers, q.as_deref(), &USERS_ME) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let u = &caller.user;
    if !is_me(u, &user_id) {
        return caller.reply(ApiError::user_not_found(&user_id));
    }
    let base = state.base_url();
    let body = json!({
        "id": u.id,
        "first_name": u.first_name,
        "last_name": u.last_name,
        "display_name": format!("{} {}", u.first_name, u.last_name),
        "email": u.email,
        "type": u.plan.user_type(),
        "role_name": "Owner",
        "pmi": u.pmi,
        "use_pmi": false,
        "personal_meeting_url": format!("{base}/j/{}", u.pmi),
        "timezone": u.timezone,
        "verified": 1,
        "dept": "",
        "created_at": fmt_time(u.created_at),
        "user_created_at": fmt_time(u.created_at),
        "last_login_time": fmt_time(u.last_login_time),
        "last_client_version": "6.2.5.54127(mac)",
        "pic_url": "",
        "cms_user_id": "",
        "jid": format!("{}@xmpp.zoom.us", u.id.to_ascii_lowercase()),
        "group_ids": [],
        "im_group_ids": [],
        "account_id": u.account_id,
        "language": "en-US",
        "phone_country": "",
        "phone_number": "",
        "status": "active",
        "job_title": "",
        "location": "",
        "login_types": [100],
        "role_id": "0",
        "account_number": u.account_number,
        "cluster": "us06",
    });
    caller.reply((StatusCode::OK, Json(body)))
}

pub(crate) async fn create_meeting(
    State(state): State<SimState>,
    Path(user_id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let caller = match authenticate(&state, &headers, q.as_deref(), &MEETING_CREATE) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !is_me(&caller.user, &user_id) {
        return caller.reply(ApiError::new(
            StatusCode::NOT_FOUND,
            1001,
            format!("User {user_id} not exist or not belong to this account."),
        ));
    }
    let changes = match parse_changes(&body, &caller.user.timezone) {
        Ok(c) => c,
        Err(e) => return caller.reply(e),
    };
    let (json_body, out) = state.create_meeting(&caller.user, changes);
    state.dispatch(out);
    caller.reply((StatusCode::CREATED, Json(json_body)))
}

pub(crate) async fn get_meeting(
    State(state): State<SimState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let caller = match authenticate(&state, &headers, q.as_deref(), &MEETING_GET) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let now = state.now();
    let base = state.base_url();
    let mut g = state.lock();
    let body = match g.owned_meeting(&caller.user.id, &id, now) {
        Ok(m) => g.meeting_json(&m, &base, now),
        Err(e) => return caller.reply(e),
    };
    drop(g);
    state.changed();
    caller.reply((StatusCode::OK, Json(body)))
}

pub(crate) async fn update_meeting(
    State(state): State<SimState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let caller = match authenticate(&state, &headers, q.as_deref(), &MEETING_UPDATE) {
        Ok(c) => c,
        Err(r) => return r,
    };
    // The meeting's own time zone interprets a local start_time when none is sent.
    let tz = {
        let now = state.now();
        let g = state.lock();
        match g.owned_meeting(&caller.user.id, &id, now) {
            Ok(m) => m.timezone,
            Err(e) => return caller.reply(e),
        }
    };
    let changes = match parse_changes(&body, &tz) {
        Ok(c) => c,
        Err(e) => return caller.reply(e),
    };
    match state.update_meeting(&caller.user, &id, changes, true) {
        Ok(out) => {
            state.dispatch(out);
            caller.reply(StatusCode::NO_CONTENT)
        }
        Err(e) => caller.reply(e),
    }
}

fn bool_param(params: &HashMap<String, String>, name: &str) -> Result<(), ApiError> {
    match params.get(name).map(String::as_str) {
        None | Some("true" | "false") => Ok(()),
        Some(_) => Err(ApiError::field(name, "Invalid field.")),
    }
}

pub(crate) async fn delete_meeting(
    State(state): State<SimState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let caller = match authenticate(&state, &headers, q.as_deref(), &MEETING_DELETE) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let params: HashMap<String, String> = q
        .as_deref()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    for p in ["schedule_for_reminder", "cancel_meeting_reminder"] {
        if let Err(e) = bool_param(&params, p) {
            return caller.reply(e);
        }
    }
    if params.get("occurrence_id").is_some_and(|o| !o.is_empty()) {
        let exists = state
            .lock()
            .owned_meeting(&caller.user.id, &id, state.now())
            .is_ok();
        if exists {
            return caller.reply(ApiError::new(
                StatusCode::BAD_REQUEST,
                3000,
                "Invalid occurrence_id.",
            ));
        }
    }
    match state.delete_meeting(&caller.user, &id, true) {
        Ok(out) => {
            state.dispatch(out);
            caller.reply(StatusCode::NO_CONTENT)
        }
        Err(e) => caller.reply(e),
    }
}

pub(crate) async fn list_meetings(
    State(state): State<SimState>,
    Path(user_id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let caller = match authenticate(&state, &headers, q.as_deref(), &MEETING_LIST) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !is_me(&caller.user, &user_id) {
        return caller.reply(ApiError::user_not_found(&user_id));
    }
    let params: HashMap<String, String> = q
        .as_deref()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let now = state.now();
    let base = state.base_url();
    let mut g = state.lock();
    let token = params.get("next_page_token").filter(|t| !t.is_empty());
    let (list_type, offset, page_size) = if let Some(t) = token {
        match g.data.page_tokens.get(t) {
            Some(p) if p.expires_at > now && p.user_id == caller.user.id => {
                (p.list_type.clone(), p.offset, p.page_size)
            }
            _ => {
                return caller.reply(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    300,
                    "The next page token is invalid or expired.",
                ));
            }
        }
    } else {
        let list_type = params
            .get("type")
            .cloned()
            .unwrap_or_else(|| "scheduled".into());
        if ![
            "scheduled",
            "live",
            "upcoming",
            "upcoming_meetings",
            "previous_meetings",
        ]
        .contains(&list_type.as_str())
        {
            return caller.reply(ApiError::field("type", "Invalid field."));
        }
        let page_size = match params.get("page_size").map(|s| s.parse::<i64>()) {
            None => 30,
            Some(Ok(n)) if n >= 1 => n.min(300) as usize,
            Some(_) => return caller.reply(ApiError::field("page_size", "Invalid field.")),
        };
        (list_type, 0, page_size)
    };
    let mut meetings: Vec<_> = g
        .data
        .meetings
        .values()
        .filter(|m| m.host_id == caller.user.id && !m.expired(now) && m.meeting_type != 1)
        .filter(|m| match list_type.as_str() {
            "live" => m.status == MeetingStatus::Started,
            "upcoming" | "upcoming_meetings" => {
                m.status == MeetingStatus::Started
                    || (m.status == MeetingStatus::Waiting && m.end_time() >= now)
            }
            "previous_meetings" => m.status == MeetingStatus::Finished || m.end_time() < now,
            _ => true,
        })
        .cloned()
        .collect();
    meetings.sort_by_key(|m| (m.start_time, m.id));
    let total = meetings.len();
    let page: Vec<_> = meetings
        .iter()
        .skip(offset)
        .take(page_size)
        .map(|m| g.list_item(m, &base))
        .collect();
    let next = if offset + page_size < total {
        let g2 = &mut *g;
        crate::prune::maybe_prune(&mut g2.data.page_tokens, &mut g2.prune_pages, |_, p| {
            p.expires_at > now
        });
        let t = crate::ids::alnum(35);
        let expires_at = now + Duration::seconds(g.config.page_token_secs);
        g.data.page_tokens.insert(
            t.clone(),
            PageToken {
                user_id: caller.user.id.clone(),
                list_type,
                offset: offset + page_size,
                page_size,
                expires_at,
            },
        );
        t
    } else {
        String::new()
    };
    drop(g);
    caller.reply((
        StatusCode::OK,
        Json(json!({
            "page_size": page_size,
            "total_records": total,
            "next_page_token": next,
            "meetings": page,
        })),
    ))
}

/// Unknown `/v2` paths.
pub(crate) async fn not_found() -> Response {
    ApiError::new(StatusCode::NOT_FOUND, 404, "Not Found").into_response()
}
