//! Scheduling in the order DESIGN §4 asks: a pending record, then Zoom, then one transaction
//! that stores Zoom's answer and queues the invitation. A Zoom call whose outcome is unknown is
//! settled by a reconciliation job that looks the meeting up in the user's Zoom account: never a
//! blind second create.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use zoom_api::meetings::{
    DeleteOptions, ListMeetings, MeetingSettings, MeetingUpdate, NewMeeting as ZoomNewMeeting,
};

use crate::accounts::CurrentUser;
use crate::app::AppState;
use crate::contacts::activity;
use crate::contacts::storage::ContactRow;
use crate::db::Conn;
use crate::jobs::worker::JobError;
use crate::jobs::{self, JobKind};
use crate::meetings::form::ValidMeeting;
use crate::meetings::invite::{self, Kind, Parties};
use crate::meetings::storage::{self, MeetingRow, NewMeeting, ZoomFields};
use crate::zoom::tokens::{self, TokenError};

/// What went wrong, in words the user can act on.
#[derive(Debug, thiserror::Error)]
pub enum MeetingError {
    #[error("Connect Zoom in Settings before scheduling meetings.")]
    NotConnected,
    #[error("Your Zoom connection needs reconnecting. Reconnect it in Settings, then try again.")]
    NeedsReconnect,
    #[error("Rapport is missing Zoom permissions ({0}). Reconnect Zoom in Settings to grant them.")]
    MissingScopes(String),
    #[error("You have reached Zoom's daily limit of meeting changes{0}. Try again after that.")]
    DailyLimit(String),
    #[error("Zoom is busy right now. Wait a moment and try again.")]
    RateLimited,
    #[error("Zoom refused the meeting: {0}")]
    Rejected(String),
    #[error("Zoom could not be reached. Nothing was created; try again in a moment.")]
    Unavailable,
    #[error("This meeting has already started in Zoom, so it cannot be changed now.")]
    InProgress,
    #[error("This meeting has already ended in Zoom.")]
    Ended,
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Internal(String),
}

impl From<TokenError> for MeetingError {
    fn from(e: TokenError) -> MeetingError {
        match e {
            TokenError::NotConnected => MeetingError::NotConnected,
            TokenError::NeedsReconnect => MeetingError::NeedsReconnect,
            TokenError::Transient(_) => MeetingError::Unavailable,
            TokenError::Database(e) => MeetingError::Database(e),
            TokenError::Vault(e) => MeetingError::Internal(e.to_string()),
        }
    }
}

fn from_zoom(err: zoom_api::Error) -> MeetingError {
    use zoom_api::Error as Z;
    match err {
        Z::GrantDead { .. } | Z::AccessTokenInvalid { .. } => MeetingError::NeedsReconnect,
        Z::MissingScopes { scopes } => MeetingError::MissingScopes(scopes.join(", ")),
        Z::RateLimited {
            kind: zoom_api::RateLimitKind::PerSecond,
            ..
        } => MeetingError::RateLimited,
        Z::RateLimited { retry_at, .. } => MeetingError::DailyLimit(
            retry_at
                .map(|t| format!(" (it resets at {} UTC)", t.format("%Y-%m-%d %H:%M")))
                .unwrap_or_default(),
        ),
        Z::Validation { message, .. } => MeetingError::Rejected(message),
        Z::MeetingInProgress => MeetingError::InProgress,
        Z::MeetingEnded => MeetingError::Ended,
        other => {
            tracing::warn!(error = %other, "Zoom call failed");
            MeetingError::Unavailable
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ReconcileJob {
    pub meeting_id: i64,
    /// Queued after Zoom answered the create with an unknown outcome: the call is over, so
    /// nothing Zoom lists later can still be on its way. False for the safety net queued with
    /// the pending record (and for jobs queued before this field existed), which may run while
    /// a slow create is still in flight.
    #[serde(default)]
    pub call_over: bool,
}

/// The outcome of a schedule request.
pub enum Scheduled {
    Created(i64),
    /// The same form was submitted before: here is that meeting.
    AlreadySubmitted(i64),
    /// Zoom did not answer; reconciliation will settle it.
    Unknown(i64),
    /// The same form was submitted before, and that send failed: nothing was scheduled. (The
    /// browser shows the last answer, so a double click must not hide the first one's error.)
    FirstSendFailed,
}

fn ics_uid(state: &AppState) -> String {
    let host = state
        .config
        .public_url
        .host_str()
        .unwrap_or("rapport.local")
        .to_owned();
    format!("rapport-{}@{host}", &crate::crypto::random_token()[..20])
}

fn zoom_request(m: &ValidMeeting) -> ZoomNewMeeting {
    let mut request = ZoomNewMeeting::scheduled(
        m.topic.clone(),
        m.start_at,
        u32::try_from(m.duration_minutes).unwrap_or(30),
    );
    request.timezone = Some(m.time_zone.name().to_owned());
    request.agenda = m.agenda.clone();
    // Zoom emails the host about its own meetings only when asked; Rapport sends the contact's.
    let mut settings = MeetingSettings::default();
    if m.record_cloud {
        settings.auto_recording = Some("cloud".into());
    }
    request.settings = Some(settings);
    request
}

/// How long after its pending record a create is certainly over: a token refresh and the create
/// itself, each bounded by the Zoom timeout, with as much again to spare. Reconciling earlier
/// could mark failed a meeting that Zoom is still creating.
pub fn in_flight_bound(state: &AppState) -> chrono::Duration {
    chrono::Duration::from_std(state.zoom.timeout * 3).unwrap_or(chrono::Duration::minutes(1))
}

pub async fn schedule(
    state: &AppState,
    user: &CurrentUser,
    contact: &ContactRow,
    m: &ValidMeeting,
    idempotency_key: &str,
) -> Result<Scheduled, MeetingError> {
    let now = state.clock.now();
    let uid = ics_uid(state);
    // If this process dies after Zoom created the meeting but before its answer is stored,
    // nothing else would ever look at this record: its reconciliation is queued with it, due
    // once the call below is certainly over. Withdrawn when the call settles the record.
    let reconcile_at = now + in_flight_bound(state);
    let (org_id, host_user_id, contact_id) = (user.org_id, user.user_id, contact.id);
    let (meeting, key) = (m.clone(), idempotency_key.to_owned());
    let pending = state
        .db
        .write(move |mut conn| {
            Box::pin(async move {
                let new = NewMeeting {
                    org_id,
                    host_user_id,
                    contact_id,
                    topic: &meeting.topic,
                    agenda: meeting.agenda.as_deref(),
                    start_at: meeting.start_at,
                    time_zone: meeting.time_zone.name(),
                    duration_minutes: meeting.duration_minutes,
                    invite_contact: meeting.invite,
                    record_cloud: meeting.record_cloud,
                    idempotency_key: &key,
                    ics_uid: &uid,
                };
                let Some(id) = storage::insert_pending(&mut conn, &new, now).await? else {
                    let first = storage::by_idempotency_key(&mut conn, org_id, &key).await?;
                    return Ok(Pending::Repeated(first.map(Box::new)));
                };
                let safety_net = jobs::enqueue_at(
                    &mut conn,
                    Some(org_id),
                    JobKind::ReconcileMeeting,
                    &ReconcileJob {
                        meeting_id: id,
                        call_over: false,
                    },
                    reconcile_at,
                    now,
                    6,
                )
                .await?;
                Ok::<_, sqlx::Error>(Pending::Recorded { id, safety_net })
            })
        })
        .await?;
    let (id, safety_net) = match pending {
        Pending::Recorded { id, safety_net } => (id, safety_net),
        Pending::Repeated(Some(first)) => return settle_duplicate(state, *first).await,
        // The first send failed and left nothing behind between our insert and our read.
        Pending::Repeated(None) => return Ok(Scheduled::FirstSendFailed),
    };
    // No transaction is held across the call to Zoom.
    let token = match tokens::access_token(state, user.user_id).await {
        Ok(t) => t,
        Err(e) => {
            forget_pending(state, id, safety_net).await?;
            return Err(e.into());
        }
    };
    match state
        .zoom
        .api
        .create_meeting(&token, &zoom_request(m))
        .await
    {
        Ok(created) => {
            let zoom_id = created.id.to_string();
            let fields = ZoomFields {
                zoom_meeting_id: &zoom_id,
                zoom_uuid: created.uuid.as_deref(),
                join_url: created.join_url.as_deref(),
                passcode: created.password.as_deref(),
            };
            finish_scheduling(state, id, &fields, Some(safety_net)).await?;
            Ok(Scheduled::Created(id))
        }
        Err(zoom_api::Error::CreateOutcomeUnknown { .. }) | Err(zoom_api::Error::Timeout) => {
            let mut tx = state.db.begin().await?;
            jobs::enqueue(
                &mut tx.conn(),
                Some(user.org_id),
                JobKind::ReconcileMeeting,
                &ReconcileJob {
                    meeting_id: id,
                    call_over: true,
                },
                now,
                6,
            )
            .await?;
            tx.commit().await?;
            state.jobs_notify.notify_one();
            tracing::warn!(
                meeting = id,
                "Zoom create outcome unknown; reconciliation queued"
            );
            Ok(Scheduled::Unknown(id))
        }
        Err(err) => {
            forget_pending(state, id, safety_net).await?;
            Err(from_zoom(err))
        }
    }
}

/// What the schedule form's first transaction found.
enum Pending {
    /// The meeting is recorded as pending, with its safety-net reconciliation job.
    Recorded { id: i64, safety_net: i64 },
    /// The idempotency key was used before: the first send's meeting, if it is still there.
    Repeated(Option<Box<MeetingRow>>),
}

/// Answers a repeated send of the schedule form once the first send has settled, as the first
/// would have: a double click's second request is the one the browser shows. Waits (without
/// holding a transaction) for at most as long as the first send's call to Zoom can take.
async fn settle_duplicate(state: &AppState, first: MeetingRow) -> Result<Scheduled, MeetingError> {
    let id = first.id;
    let patience = in_flight_bound(state)
        .to_std()
        .unwrap_or(std::time::Duration::from_secs(30));
    let deadline = tokio::time::Instant::now() + patience;
    let mut current = Some(first);
    loop {
        match &current {
            None => return Ok(Scheduled::FirstSendFailed),
            Some(m) if m.status == "failed" => return Ok(Scheduled::FirstSendFailed),
            Some(m) if m.status != "pending" => return Ok(Scheduled::AlreadySubmitted(m.id)),
            Some(_) if tokio::time::Instant::now() >= deadline => {
                return Ok(Scheduled::Unknown(id));
            }
            Some(_) => {}
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let mut pooled = state.db.acquire().await?;
        current = storage::by_id(&mut pooled.conn(), id).await?;
    }
}

/// A create that certainly did not happen leaves nothing behind (neither the record nor its
/// safety net), so the same form can be sent again.
async fn forget_pending(state: &AppState, id: i64, safety_net: i64) -> Result<(), sqlx::Error> {
    let mut tx = state.db.begin().await?;
    storage::delete_pending(&mut tx.conn(), id).await?;
    jobs::withdraw(&mut tx.conn(), safety_net).await?;
    tx.commit().await
}

/// Stores Zoom's answer, queues the invitation and withdraws the record's `safety_net`
/// reconciliation (when called from the request that created it), in one transaction.
async fn finish_scheduling(
    state: &AppState,
    id: i64,
    fields: &ZoomFields<'_>,
    safety_net: Option<i64>,
) -> Result<(), MeetingError> {
    let now = state.clock.now();
    let max_attempts = state.config.job_max_attempts;
    let zoom_meeting_id = fields.zoom_meeting_id.to_owned();
    let zoom_uuid = fields.zoom_uuid.map(str::to_owned);
    let join_url = fields.join_url.map(str::to_owned);
    let passcode = fields.passcode.map(str::to_owned);
    state
        .db
        .write(move |mut conn| {
            Box::pin(async move {
                let fields = ZoomFields {
                    zoom_meeting_id: &zoom_meeting_id,
                    zoom_uuid: zoom_uuid.as_deref(),
                    join_url: join_url.as_deref(),
                    passcode: passcode.as_deref(),
                };
                let marked = storage::mark_scheduled(&mut conn, id, &fields, now).await?;
                // Settled now, or already (failed on disconnect): nothing is left for the net
                // to catch.
                if let Some(job) = safety_net {
                    jobs::withdraw(&mut conn, job).await?;
                }
                if !marked {
                    return Ok(());
                }
                let meeting = storage::by_id(&mut conn, id)
                    .await?
                    .ok_or_else(|| MeetingError::Internal("meeting vanished".into()))?;
                if let Some(contact_id) = meeting.contact_id {
                    activity::record(
                        &mut conn,
                        meeting.org_id,
                        Some(contact_id),
                        Some(meeting.host_user_id),
                        "meeting_scheduled",
                        &format!(
                            "{} scheduled “{}” for {}",
                            meeting.host_name,
                            meeting.topic,
                            meeting.start_at.format("%Y-%m-%d %H:%M UTC")
                        ),
                        now,
                    )
                    .await?;
                }
                if meeting.invite_contact {
                    queue_email(&mut conn, max_attempts, &meeting, Kind::Invitation, now).await?;
                }
                Ok::<_, MeetingError>(())
            })
        })
        .await?;
    state.jobs_notify.notify_one();
    Ok(())
}

/// Queues the contact's email about `meeting` (no-op when the contact has no email).
async fn queue_email(
    conn: &mut Conn<'_>,
    max_attempts: u32,
    meeting: &MeetingRow,
    kind: Kind,
    now: DateTime<Utc>,
) -> Result<(), MeetingError> {
    let Some(contact_id) = meeting.contact_id else {
        return Ok(());
    };
    let Some(contact) = crate::contacts::storage::get(conn, meeting.org_id, contact_id).await?
    else {
        return Ok(());
    };
    let Some(contact_email) = contact.email.clone() else {
        return Ok(());
    };
    let host = crate::sql_as!(
        conn,
        (String, String),
        fetch_one,
        "SELECT email, time_zone FROM users WHERE id = $1",
        meeting.host_user_id
    )?;
    let host_tz: Tz = host.1.parse().unwrap_or(chrono_tz::UTC);
    let contact_tz: Option<Tz> = contact.time_zone.as_deref().and_then(|z| z.parse().ok());
    let parties = Parties {
        host_name: &meeting.host_name,
        host_email: &host.0,
        host_tz,
        contact_name: &contact.name,
        contact_email: &contact_email,
        contact_tz,
    };
    let email = invite::build(kind, meeting, &parties, now)
        .map_err(|e| MeetingError::Internal(e.to_string()))?;
    crate::mail::enqueue(conn, &email, now, max_attempts).await?;
    Ok(())
}

/// Settles a create whose outcome was unknown: adopt the meeting if Zoom has it, else mark the
/// attempt failed. Never creates a second meeting.
pub async fn reconcile(state: &AppState, job: ReconcileJob) -> Result<(), JobError> {
    let meeting = {
        let mut pooled = state.db.acquire().await?;
        storage::by_id(&mut pooled.conn(), job.meeting_id).await?
    };
    let Some(meeting) = meeting.filter(|m| m.status == "pending") else {
        return Ok(());
    };
    let token = match tokens::access_token(state, meeting.host_user_id).await {
        Ok(t) => t,
        Err(TokenError::Transient(e)) => return Err(JobError::Retry(e)),
        Err(e) => {
            let mut pooled = state.db.acquire().await?;
            storage::mark_failed(
                &mut pooled.conn(),
                meeting.id,
                &format!("could not check Zoom: {e}"),
                state.clock.now(),
            )
            .await?;
            return Ok(());
        }
    };
    let listed = state
        .zoom
        .api
        .list_meetings(&token, &ListMeetings::default())
        .await
        .map_err(|e| JobError::Retry(format!("listing Zoom meetings: {e}")))?;
    let taken = |zoom_id: String| async move {
        let found = state
            .db
            .read(move |mut conn| {
                Box::pin(async move { storage::by_zoom_id(&mut conn, &zoom_id).await })
            })
            .await?;
        Ok::<bool, sqlx::Error>(found.is_some())
    };
    for candidate in listed {
        let same_topic = candidate.topic.as_deref() == Some(meeting.topic.as_str());
        let same_start = candidate.start_time == Some(meeting.start_at);
        if !(same_topic && same_start) || taken(candidate.id.to_string()).await? {
            continue;
        }
        // The list has no passcode; fetch the meeting for its join details.
        let full = state
            .zoom
            .api
            .get_meeting(&token, candidate.id)
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?;
        let zoom_id = full.id.to_string();
        let fields = ZoomFields {
            zoom_meeting_id: &zoom_id,
            zoom_uuid: full.uuid.as_deref(),
            join_url: full.join_url.as_deref(),
            passcode: full.password.as_deref(),
        };
        finish_scheduling(state, meeting.id, &fields, None)
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?;
        tracing::info!(
            meeting = meeting.id,
            "adopted the Zoom meeting created before the connection dropped"
        );
        return Ok(());
    }
    // The job is due once the create is certainly over, but that bound is counted from before
    // the request waited for the writer and the pools (each bounded, at 10 s). A record this
    // young may belong to a create still in flight: failing it now would leave Zoom's meeting
    // orphaned and the user told it was scheduled. Look again once it is old enough, in a job
    // of its own (a retry could use up this one's attempts first and leave the record pending).
    let now = state.clock.now();
    let settled_by = meeting.created_at + in_flight_bound(state) + chrono::Duration::minutes(1);
    if !job.call_over && now < settled_by {
        let mut pooled = state.db.acquire().await?;
        jobs::enqueue_at(
            &mut pooled.conn(),
            Some(meeting.org_id),
            JobKind::ReconcileMeeting,
            &ReconcileJob {
                meeting_id: meeting.id,
                call_over: false,
            },
            settled_by,
            now,
            6,
        )
        .await?;
        tracing::info!(
            meeting = meeting.id,
            "Zoom has no such meeting yet; looking again once the create is certainly over"
        );
        return Ok(());
    }
    let mut pooled = state.db.acquire().await?;
    storage::mark_failed(
        &mut pooled.conn(),
        meeting.id,
        "Zoom did not create this meeting. Schedule it again.",
        state.clock.now(),
    )
    .await?;
    tracing::info!(
        meeting = meeting.id,
        "Zoom has no such meeting: attempt marked failed"
    );
    Ok(())
}

/// A fresh `start_url` for the host (it expires two hours after Zoom issues it).
pub async fn start_url(state: &AppState, meeting: &MeetingRow) -> Result<String, MeetingError> {
    let zoom_id = meeting
        .zoom_meeting_id
        .as_deref()
        .and_then(|z| z.parse::<u64>().ok())
        .ok_or(MeetingError::NotConnected)?;
    let token = tokens::access_token(state, meeting.host_user_id).await?;
    let fresh = state
        .zoom
        .api
        .get_meeting(&token, zoom_id)
        .await
        .map_err(from_zoom)?;
    fresh
        .start_url
        .map(|u| u.expose_secret().to_owned())
        .ok_or(MeetingError::Unavailable)
}

pub async fn reschedule(
    state: &AppState,
    meeting: &MeetingRow,
    m: &ValidMeeting,
) -> Result<(), MeetingError> {
    let zoom_id = meeting
        .zoom_meeting_id
        .as_deref()
        .and_then(|z| z.parse::<u64>().ok())
        .ok_or(MeetingError::NotConnected)?;
    let token = tokens::access_token(state, meeting.host_user_id).await?;
    let update = MeetingUpdate {
        topic: Some(m.topic.clone()),
        start_time: Some(m.start_at),
        duration: u32::try_from(m.duration_minutes).ok(),
        timezone: Some(m.time_zone.name().to_owned()),
        // An empty agenda clears Zoom's (leaving it out would keep the old one there).
        agenda: Some(m.agenda.clone().unwrap_or_default()),
        ..MeetingUpdate::default()
    };
    state
        .zoom
        .api
        .update_meeting(&token, zoom_id, &update)
        .await
        .map_err(from_zoom)?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let changed = storage::reschedule(
        &mut tx.conn(),
        meeting.id,
        &storage::Rescheduled {
            topic: &m.topic,
            agenda: m.agenda.as_deref(),
            start_at: m.start_at,
            time_zone: m.time_zone.name(),
            duration_minutes: m.duration_minutes,
        },
        now,
    )
    .await?;
    if !changed {
        // Nothing new for the contact: unchanged, or Zoom's webhook for this PATCH got here
        // first and already sent them the update.
        tx.commit().await?;
        return Ok(());
    }
    let updated = storage::by_id(&mut tx.conn(), meeting.id)
        .await?
        .ok_or_else(|| MeetingError::Internal("meeting vanished".into()))?;
    if let Some(contact_id) = updated.contact_id {
        activity::record(
            &mut tx.conn(),
            updated.org_id,
            Some(contact_id),
            Some(updated.host_user_id),
            "meeting_rescheduled",
            &format!(
                "“{}” moved to {}",
                updated.topic,
                updated.start_at.format("%Y-%m-%d %H:%M UTC")
            ),
            now,
        )
        .await?;
    }
    if updated.invite_contact {
        queue_email(
            &mut tx.conn(),
            state.config.job_max_attempts,
            &updated,
            Kind::Update,
            now,
        )
        .await?;
    }
    tx.commit().await?;
    state.jobs_notify.notify_one();
    Ok(())
}

/// Deletes the meeting in Zoom (already gone counts as done), then records the cancellation and
/// queues the contact's cancellation email.
pub async fn cancel(state: &AppState, meeting: &MeetingRow) -> Result<(), MeetingError> {
    if let Some(zoom_id) = meeting
        .zoom_meeting_id
        .as_deref()
        .and_then(|z| z.parse::<u64>().ok())
    {
        let token = tokens::access_token(state, meeting.host_user_id).await?;
        // Zoom sends meeting.deleted for this delete, and it may be applied before the
        // cancellation below is recorded: marked first, it is recognized as this cancellation.
        {
            let mut pooled = state.db.acquire().await?;
            storage::note_cancel_requested(&mut pooled.conn(), meeting.id, Some(state.clock.now()))
                .await?;
        }
        match state
            .zoom
            .api
            .delete_meeting(&token, zoom_id, &DeleteOptions::default())
            .await
        {
            Ok(()) | Err(zoom_api::Error::NotFound { .. }) => {}
            Err(err) => {
                let mut pooled = state.db.acquire().await?;
                storage::note_cancel_requested(&mut pooled.conn(), meeting.id, None).await?;
                return Err(from_zoom(err));
            }
        }
    }
    record_cancellation(state, meeting.id, true, CANCELLED_IN_RAPPORT).await
}

const CANCELLED_IN_RAPPORT: &str = "cancelled in Rapport";

/// How long after Rapport set out to delete a meeting Zoom's `meeting.deleted` is taken as that
/// delete's echo. Past it (the process died between the mark and the delete), a delete made in
/// Zoom is treated as one.
const OWN_DELETE_ECHO: chrono::Duration = chrono::Duration::minutes(10);

/// Marks a meeting cancelled and tells the contact (when they were invited and `notify`).
pub async fn record_cancellation(
    state: &AppState,
    meeting_id: i64,
    notify: bool,
    why: &str,
) -> Result<(), MeetingError> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    if !storage::mark_cancelled(&mut tx.conn(), meeting_id, now).await? {
        return Ok(());
    }
    let meeting = storage::by_id(&mut tx.conn(), meeting_id)
        .await?
        .ok_or_else(|| MeetingError::Internal("meeting vanished".into()))?;
    if let Some(contact_id) = meeting.contact_id {
        activity::record(
            &mut tx.conn(),
            meeting.org_id,
            Some(contact_id),
            Some(meeting.host_user_id),
            "meeting_cancelled",
            &format!("“{}” was {why}", meeting.topic),
            now,
        )
        .await?;
    }
    if notify && meeting.invite_contact {
        queue_email(
            &mut tx.conn(),
            state.config.job_max_attempts,
            &meeting,
            Kind::Cancellation,
            now,
        )
        .await?;
    }
    tx.commit().await?;
    state.jobs_notify.notify_one();
    Ok(())
}

/// Applies a meeting webhook from Zoom (deleted, updated, started, ended).
pub async fn apply_zoom_event(
    state: &AppState,
    event: &zoom_api::webhook::WebhookEvent,
) -> Result<(), JobError> {
    use zoom_api::webhook::EventKind;
    let now = state.clock.now();
    let event_ts = event.event_ts.unwrap_or_else(|| now.timestamp_millis());
    // Every event a job applies starts here: a read of its own (one trip to a reader thread on
    // SQLite, see `Db::read`).
    let find = |id: Option<u64>| async move {
        let Some(id) = id else { return Ok(None) };
        let zoom_id = id.to_string();
        state
            .db
            .read(move |mut conn| {
                Box::pin(async move { storage::by_zoom_id(&mut conn, &zoom_id).await })
            })
            .await
    };
    match &event.kind {
        EventKind::MeetingDeleted(e) => {
            if let Some(m) = find(e.object.id).await? {
                let own_delete = {
                    let mut pooled = state.db.acquire().await?;
                    storage::cancel_requested_at(&mut pooled.conn(), m.id)
                        .await?
                        .is_some_and(|at| now - at < OWN_DELETE_ECHO)
                };
                if own_delete {
                    // The echo of Rapport's own cancel, applied before the cancel recorded
                    // itself: the contact is told, as for any cancellation made in Rapport.
                    record_cancellation(state, m.id, true, CANCELLED_IN_RAPPORT)
                        .await
                        .map_err(|e| JobError::Retry(e.to_string()))?;
                    return Ok(());
                }
                // The host may have told the contact themselves (Settings → Meetings).
                let notify = {
                    let mut pooled = state.db.acquire().await?;
                    crate::accounts::storage::notifies_contact_on_zoom_delete(
                        &mut pooled.conn(),
                        m.host_user_id,
                    )
                    .await?
                };
                let why = if notify {
                    "deleted in Zoom"
                } else {
                    "deleted in Zoom (the contact was not emailed, as the host chose)"
                };
                record_cancellation(state, m.id, notify, why)
                    .await
                    .map_err(|e| JobError::Retry(e.to_string()))?;
            }
        }
        EventKind::MeetingUpdated(e) => {
            if let Some(m) = find(e.object.id).await? {
                let id = m.id;
                let topic = e.object.topic.clone();
                let start_time = e.object.start_time;
                let duration = e.object.duration.map(i64::from);
                let max_attempts = state.config.job_max_attempts;
                state
                    .db
                    .write(move |mut conn| {
                        Box::pin(async move {
                            let applied = storage::apply_zoom_update(
                                &mut conn,
                                id,
                                topic.as_deref(),
                                start_time,
                                duration,
                                event_ts,
                                now,
                            )
                            .await?;
                            if !applied {
                                return Ok(());
                            }
                            let Some(updated) = storage::by_id(&mut conn, id).await? else {
                                return Ok(());
                            };
                            if let Some(contact_id) = updated.contact_id {
                                activity::record(
                                    &mut conn,
                                    updated.org_id,
                                    Some(contact_id),
                                    Some(updated.host_user_id),
                                    "meeting_updated",
                                    &format!("“{}” was changed in Zoom", updated.topic),
                                    now,
                                )
                                .await?;
                            }
                            if updated.invite_contact {
                                queue_email(&mut conn, max_attempts, &updated, Kind::Update, now)
                                    .await
                                    .map_err(|e| JobError::Retry(e.to_string()))?;
                            }
                            Ok::<_, JobError>(())
                        })
                    })
                    .await?;
            }
        }
        EventKind::MeetingStarted(e) | EventKind::MeetingEnded(e) => {
            let started = matches!(event.kind, EventKind::MeetingStarted(_));
            if let Some(m) = find(e.object.id).await? {
                let at = DateTime::<Utc>::from_timestamp_millis(event_ts).unwrap_or(now);
                let mut tx = state.db.begin().await?;
                let status = if started {
                    storage::Status::Started
                } else {
                    storage::Status::Ended
                };
                storage::set_status_from_zoom(&mut tx.conn(), m.id, status, at, Some(event_ts))
                    .await?;
                if let Some(contact_id) = m.contact_id {
                    let summary = if started {
                        format!("“{}” started in Zoom", m.topic)
                    } else {
                        let minutes = m.started_at.map(|s| (at - s).num_minutes().max(0));
                        match minutes {
                            Some(n) => format!("“{}” ended after {n} minutes", m.topic),
                            None => format!("“{}” ended", m.topic),
                        }
                    };
                    let kind = if started {
                        "meeting_started"
                    } else {
                        "meeting_ended"
                    };
                    activity::record(
                        &mut tx.conn(),
                        m.org_id,
                        Some(contact_id),
                        Some(m.host_user_id),
                        kind,
                        &summary,
                        now,
                    )
                    .await?;
                }
                tx.commit().await?;
            }
        }
        _ => {}
    }
    Ok(())
}
