//! Meeting pages: the schedule form on a contact, the agenda, start, reschedule and cancel.

use std::collections::BTreeMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use crate::accounts::CurrentUser;
use crate::app::AppState;
use crate::contacts::storage::{self as contacts_storage, ContactRow};
use crate::domain::{self, FieldErrors};
use crate::meetings::form::MeetingForm;
use crate::meetings::service::{self, MeetingError, Scheduled};
use crate::meetings::storage::{self, MeetingRow};
use crate::web::flash::{self, FlashKind};
use crate::web::{AppError, AppResult, Form, Layout, Nav};
use crate::zoom::storage::ConnectionRow;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/meetings", get(agenda))
        .route("/contacts/{id}/meetings/new", get(new_page))
        .route("/contacts/{id}/meetings", axum::routing::post(create))
        .route("/meetings/{id}/start", get(start))
        .route("/meetings/{id}/edit", get(edit_page).post(edit))
        .route("/meetings/{id}/cancel", get(cancel_page).post(cancel))
}

fn parse_id(raw: &str) -> AppResult<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(AppError::NotFound)
}

/// Where Zoom stands for this user: flag on, and the connection if any.
async fn zoom_for(
    state: &AppState,
    user: &CurrentUser,
) -> AppResult<(bool, Option<ConnectionRow>)> {
    let (org_id, user_id) = (user.org_id, user.user_id);
    Ok(state
        .db
        .read(move |mut conn| {
            Box::pin(async move {
                if !crate::flags::is_enabled(&mut conn, crate::flags::ZOOM, org_id, user_id).await?
                {
                    return Ok((false, None));
                }
                let connection = crate::zoom::storage::for_user(&mut conn, user_id).await?;
                Ok((true, connection))
            })
        })
        .await?)
}

async fn require_zoom(state: &AppState, user: &CurrentUser) -> AppResult<Option<ConnectionRow>> {
    match zoom_for(state, user).await? {
        (false, _) => Err(AppError::NotFound),
        (true, connection) => Ok(connection),
    }
}

async fn contact_of(state: &AppState, user: &CurrentUser, id: &str) -> AppResult<ContactRow> {
    let id = parse_id(id)?;
    let org_id = user.org_id;
    state
        .db
        .read(move |mut conn| {
            Box::pin(async move { contacts_storage::get(&mut conn, org_id, id).await })
        })
        .await?
        .ok_or(AppError::NotFound)
}

/// A meeting the user may change: theirs (only the host can start, reschedule or cancel).
async fn hosted_meeting(state: &AppState, user: &CurrentUser, id: &str) -> AppResult<MeetingRow> {
    let id = parse_id(id)?;
    let org_id = user.org_id;
    state
        .db
        .read(move |mut conn| Box::pin(async move { storage::get(&mut conn, org_id, id).await }))
        .await?
        .filter(|m| m.host_user_id == user.user_id)
        .ok_or(AppError::NotFound)
}

// ---- schedule ----

#[derive(Template, WebTemplate)]
#[template(path = "meetings/form.html")]
struct FormPage {
    layout: Layout,
    contact: ContactRow,
    form: MeetingForm,
    errors: FieldErrors,
    error: Option<String>,
    time_zones: &'static [&'static str],
    connection: Option<ConnectionRow>,
    /// None when scheduling; the meeting when rescheduling.
    meeting_id: Option<i64>,
    contact_time: Option<String>,
}

impl FormPage {
    fn action(&self) -> String {
        match self.meeting_id {
            Some(id) => format!("/meetings/{id}/edit"),
            None => format!("/contacts/{}/meetings", self.contact.id),
        }
    }

    fn licensed(&self) -> bool {
        self.connection
            .as_ref()
            .is_some_and(ConnectionRow::is_licensed)
    }

    fn basic(&self) -> bool {
        self.connection
            .as_ref()
            .is_some_and(|c| c.plan_type == Some(1))
    }

    fn connected(&self) -> bool {
        self.connection
            .as_ref()
            .is_some_and(ConnectionRow::is_active)
    }
}

/// The meeting's time in the contact's zone, when it differs from the form's zone.
fn contact_time(form: &MeetingForm, contact: &ContactRow) -> Option<String> {
    let contact_tz: Tz = contact.time_zone.as_deref()?.parse().ok()?;
    let tz: Tz = form.time_zone.parse().ok()?;
    if tz == contact_tz {
        return None;
    }
    let date = NaiveDate::parse_from_str(&form.date, "%Y-%m-%d").ok()?;
    let time = chrono::NaiveTime::parse_from_str(&form.time, "%H:%M").ok()?;
    let at = crate::meetings::form::local_to_utc(date, time, tz).ok()?;
    Some(format!(
        "{} for {} ({})",
        at.with_timezone(&contact_tz).format("%a %b %-d, %H:%M"),
        contact.name,
        contact_tz.name()
    ))
}

async fn new_page(
    State(state): State<AppState>,
    layout: Layout,
    user: CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let connection = require_zoom(&state, &user).await?;
    let contact = contact_of(&state, &user, &id).await?;
    let tomorrow = (state.clock.now().with_timezone(&user.tz()) + Duration::days(1)).date_naive();
    let form = MeetingForm {
        topic: format!("Meeting with {}", contact.name),
        date: tomorrow.format("%Y-%m-%d").to_string(),
        time: "10:00".into(),
        time_zone: user.time_zone.clone(),
        duration: "30".into(),
        invite: if contact.email.is_some() {
            "on".into()
        } else {
            String::new()
        },
        idempotency_key: crate::crypto::random_token(),
        ..MeetingForm::default()
    };
    Ok(FormPage {
        layout: layout.page(
            format!("Schedule a meeting with {}", contact.name),
            Nav::Contacts,
        ),
        contact_time: contact_time(&form, &contact),
        contact,
        form,
        errors: FieldErrors::new(),
        error: None,
        time_zones: domain::time_zone_names(),
        connection,
        meeting_id: None,
    }
    .into_response())
}

async fn create(
    State(state): State<AppState>,
    layout: Layout,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<MeetingForm>,
) -> AppResult<Response> {
    let connection = require_zoom(&state, &user).await?;
    let contact = contact_of(&state, &user, &id).await?;
    let licensed = connection.as_ref().is_some_and(ConnectionRow::is_licensed);
    let rerender = |layout: Layout,
                    contact: ContactRow,
                    form: MeetingForm,
                    errors: FieldErrors,
                    error: Option<String>,
                    connection| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            FormPage {
                layout: layout.page(
                    format!("Schedule a meeting with {}", contact.name),
                    Nav::Contacts,
                ),
                contact_time: contact_time(&form, &contact),
                contact,
                form,
                errors,
                error,
                time_zones: domain::time_zone_names(),
                connection,
                meeting_id: None,
            },
        )
            .into_response()
    };
    if form.idempotency_key.len() < 20 || form.idempotency_key.len() > 64 {
        return Err(AppError::BadRequest(
            "This form is incomplete. Reload the page and try again.".into(),
        ));
    }
    let valid = match form.validate(state.clock.now(), contact.email.is_some(), licensed) {
        Ok(v) => v,
        Err(errors) => return Ok(rerender(layout, contact, form, errors, None, connection)),
    };
    match service::schedule(&state, &user, &contact, &valid, &form.idempotency_key).await {
        Ok(Scheduled::Created(_)) => {
            let message = if valid.invite {
                format!(
                    "Meeting scheduled. {} will receive an invitation by email.",
                    contact.name
                )
            } else {
                "Meeting scheduled in Zoom.".to_owned()
            };
            Ok(flash::redirect(
                &state.config,
                &format!("/contacts/{}", contact.id),
                FlashKind::Success,
                message,
            ))
        }
        Ok(Scheduled::AlreadySubmitted(_)) => Ok(flash::redirect(
            &state.config,
            &format!("/contacts/{}", contact.id),
            FlashKind::Info,
            "This meeting was already scheduled (the form was sent twice).",
        )),
        Ok(Scheduled::Unknown(_)) => Ok(flash::redirect(
            &state.config,
            &format!("/contacts/{}", contact.id),
            FlashKind::Info,
            "Zoom did not answer in time. Rapport is checking whether the meeting was created and will finish it or mark it failed in a moment; do not schedule it again.",
        )),
        Err(MeetingError::Database(e)) => Err(e.into()),
        Err(MeetingError::Internal(e)) => Err(AppError::Internal(e)),
        failed @ (Ok(Scheduled::FirstSendFailed) | Err(_)) => {
            let message = match failed {
                Err(e) => e.to_string(),
                _ => "This form was sent twice and the first send failed, so nothing was scheduled. Check the details and schedule again.".to_owned(),
            };
            // Sent again, the form is a new attempt: it gets a key of its own.
            let form = MeetingForm {
                idempotency_key: crate::crypto::random_token(),
                ..form
            };
            Ok(rerender(
                layout,
                contact,
                form,
                FieldErrors::new(),
                Some(message),
                connection,
            ))
        }
    }
}

// ---- agenda ----

struct Day {
    label: String,
    meetings: Vec<MeetingRow>,
}

#[derive(Template, WebTemplate)]
#[template(path = "meetings/list.html")]
struct AgendaPage {
    layout: Layout,
    upcoming: Vec<Day>,
    past: Vec<MeetingRow>,
    tz: Tz,
    zoom_enabled: bool,
    connected: bool,
    now: DateTime<Utc>,
}

impl AgendaPage {
    fn can_start(&self, m: &MeetingRow) -> bool {
        m.can_start(self.now)
    }

    fn can_reschedule(&self, m: &MeetingRow) -> bool {
        m.can_reschedule(self.now)
    }

    fn label(&self, m: &MeetingRow) -> &'static str {
        m.label_at(self.now)
    }

    fn time(&self, m: &MeetingRow) -> String {
        format!(
            "{}–{}",
            m.start_at.with_timezone(&self.tz).format("%H:%M"),
            m.end_at().with_timezone(&self.tz).format("%H:%M")
        )
    }

    fn date(&self, m: &MeetingRow) -> String {
        m.start_at
            .with_timezone(&self.tz)
            .format("%a %b %-d, %Y %H:%M")
            .to_string()
    }
}

async fn agenda(
    State(state): State<AppState>,
    layout: Layout,
    user: CurrentUser,
) -> AppResult<AgendaPage> {
    let (zoom_enabled, connection) = zoom_for(&state, &user).await?;
    let tz = user.tz();
    let now = state.clock.now();
    let (upcoming, past) = {
        let mut pooled = state.db.acquire().await?;
        let mut conn = pooled.conn();
        // "Upcoming" includes meetings still in progress (started within the last day).
        let upcoming = storage::for_host(
            &mut conn,
            user.org_id,
            user.user_id,
            now - Duration::hours(24),
            true,
        )
        .await?;
        let past = storage::for_host(
            &mut conn,
            user.org_id,
            user.user_id,
            now - Duration::hours(24),
            false,
        )
        .await?;
        (upcoming, past)
    };
    let (upcoming, mut past): (Vec<MeetingRow>, Vec<MeetingRow>) = {
        let (soon, ended): (Vec<_>, Vec<_>) = upcoming
            .into_iter()
            // A meeting that ended early in Zoom is past, even before its planned end.
            .partition(|m| (m.end_at() > now && m.status != "ended") || m.status == "started");
        let mut all_past = ended;
        all_past.extend(past);
        (soon, all_past)
    };
    past.sort_by_key(|m| std::cmp::Reverse(m.start_at));
    let mut days: BTreeMap<NaiveDate, Vec<MeetingRow>> = BTreeMap::new();
    for m in upcoming {
        days.entry(m.start_at.with_timezone(&tz).date_naive())
            .or_default()
            .push(m);
    }
    let today = now.with_timezone(&tz).date_naive();
    let upcoming = days
        .into_iter()
        .map(|(date, meetings)| Day {
            label: if date == today {
                format!("Today · {}", date.format("%A %B %-d"))
            } else if Some(date) == today.succ_opt() {
                format!("Tomorrow · {}", date.format("%A %B %-d"))
            } else {
                date.format("%A %B %-d, %Y").to_string()
            },
            meetings,
        })
        .collect();
    Ok(AgendaPage {
        layout: layout.page("Meetings", Nav::Meetings),
        upcoming,
        past,
        tz,
        zoom_enabled,
        connected: connection.is_some_and(|c| c.is_active()),
        now,
    })
}

// ---- start ----

/// Asks Zoom for the meeting's current start link (host key valid two hours) and goes there.
async fn start(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    require_zoom(&state, &user).await?;
    let meeting = hosted_meeting(&state, &user, &id).await?;
    if !meeting.can_start(state.clock.now()) {
        return Ok(flash::redirect(
            &state.config,
            "/meetings",
            FlashKind::Error,
            "This meeting is over (or was cancelled), so it cannot be started.",
        ));
    }
    match service::start_url(&state, &meeting).await {
        Ok(url) => {
            let mut response = Redirect::to(&url).into_response();
            response.headers_mut().insert(
                axum::http::header::REFERRER_POLICY,
                axum::http::HeaderValue::from_static("no-referrer"),
            );
            Ok(response)
        }
        Err(MeetingError::Database(e)) => Err(e.into()),
        Err(e) => Ok(flash::redirect(
            &state.config,
            "/meetings",
            FlashKind::Error,
            e.to_string(),
        )),
    }
}

// ---- reschedule ----

fn not_reschedulable(state: &AppState) -> Response {
    flash::redirect(
        &state.config,
        "/meetings",
        FlashKind::Error,
        "This meeting has already started, ended or been cancelled, so it cannot be rescheduled. Schedule a new one from the contact's page.",
    )
}

async fn edit_page(
    State(state): State<AppState>,
    layout: Layout,
    user: CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let connection = require_zoom(&state, &user).await?;
    let meeting = hosted_meeting(&state, &user, &id).await?;
    if !meeting.can_reschedule(state.clock.now()) {
        return Ok(not_reschedulable(&state));
    }
    let contact_id = meeting.contact_id.ok_or(AppError::NotFound)?;
    let contact = contact_of(&state, &user, &contact_id.to_string()).await?;
    let tz: Tz = meeting.time_zone.parse().unwrap_or(chrono_tz::UTC);
    let local = meeting.start_at.with_timezone(&tz);
    let form = MeetingForm {
        topic: meeting.topic.clone(),
        date: local.format("%Y-%m-%d").to_string(),
        time: local.format("%H:%M").to_string(),
        time_zone: meeting.time_zone.clone(),
        duration: meeting.duration_minutes.to_string(),
        agenda: meeting.agenda.clone().unwrap_or_default(),
        invite: if meeting.invite_contact {
            "on".into()
        } else {
            String::new()
        },
        record: if meeting.record_cloud {
            "on".into()
        } else {
            String::new()
        },
        idempotency_key: String::new(),
    };
    Ok(FormPage {
        layout: layout.page(format!("Reschedule {}", meeting.topic), Nav::Meetings),
        contact_time: contact_time(&form, &contact),
        contact,
        form,
        errors: FieldErrors::new(),
        error: None,
        time_zones: domain::time_zone_names(),
        connection,
        meeting_id: Some(meeting.id),
    }
    .into_response())
}

async fn edit(
    State(state): State<AppState>,
    layout: Layout,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<MeetingForm>,
) -> AppResult<Response> {
    let connection = require_zoom(&state, &user).await?;
    let meeting = hosted_meeting(&state, &user, &id).await?;
    if !meeting.can_reschedule(state.clock.now()) {
        return Ok(not_reschedulable(&state));
    }
    let contact_id = meeting.contact_id.ok_or(AppError::NotFound)?;
    let contact = contact_of(&state, &user, &contact_id.to_string()).await?;
    let licensed = connection.as_ref().is_some_and(ConnectionRow::is_licensed);
    // Keep the original invitation choice: an update goes to whoever got the invitation.
    let form = MeetingForm {
        invite: if meeting.invite_contact {
            "on".into()
        } else {
            String::new()
        },
        ..form
    };
    let result = match form.validate(
        state.clock.now(),
        contact.email.is_some() || !meeting.invite_contact,
        licensed,
    ) {
        Err(errors) => Err((errors, None)),
        Ok(valid) => match service::reschedule(&state, &meeting, &valid).await {
            Ok(()) => Ok(()),
            Err(MeetingError::Database(e)) => return Err(e.into()),
            Err(e) => Err((FieldErrors::new(), Some(e.to_string()))),
        },
    };
    match result {
        Ok(()) => Ok(flash::redirect(
            &state.config,
            &format!("/contacts/{}", contact.id),
            FlashKind::Success,
            "Meeting rescheduled. The contact is sent the new time.",
        )),
        Err((errors, error)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            FormPage {
                layout: layout.page(format!("Reschedule {}", meeting.topic), Nav::Meetings),
                contact_time: contact_time(&form, &contact),
                contact,
                form,
                errors,
                error,
                time_zones: domain::time_zone_names(),
                connection,
                meeting_id: Some(meeting.id),
            },
        )
            .into_response()),
    }
}

// ---- cancel ----

#[derive(Template, WebTemplate)]
#[template(path = "meetings/cancel.html")]
struct CancelPage {
    layout: Layout,
    meeting: MeetingRow,
    when: String,
}

async fn cancel_page(
    State(state): State<AppState>,
    layout: Layout,
    user: CurrentUser,
    Path(id): Path<String>,
) -> AppResult<CancelPage> {
    require_zoom(&state, &user).await?;
    let meeting = hosted_meeting(&state, &user, &id).await?;
    Ok(CancelPage {
        layout: layout.page(format!("Cancel {}", meeting.topic), Nav::Meetings),
        when: meeting
            .start_at
            .with_timezone(&user.tz())
            .format("%A %B %-d, %Y at %H:%M")
            .to_string(),
        meeting,
    })
}

#[derive(Debug, Default, Deserialize)]
struct Empty {}

async fn cancel(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(_): Form<Empty>,
) -> AppResult<Response> {
    require_zoom(&state, &user).await?;
    let meeting = hosted_meeting(&state, &user, &id).await?;
    let back = meeting
        .contact_id
        .map(|c| format!("/contacts/{c}"))
        .unwrap_or_else(|| "/meetings".into());
    match service::cancel(&state, &meeting).await {
        Ok(()) => Ok(flash::redirect(
            &state.config,
            &back,
            FlashKind::Success,
            "Meeting cancelled. The contact is told.",
        )),
        Err(MeetingError::Database(e)) => Err(e.into()),
        Err(e) => Ok(flash::redirect(
            &state.config,
            &back,
            FlashKind::Error,
            e.to_string(),
        )),
    }
}
