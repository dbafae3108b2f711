//! Meetings in the database, always scoped by organization, and by host for changes.

use chrono::{DateTime, Utc};

use crate::db::Conn;
use crate::{sql_as, sql_execute, sql_scalar};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Recorded, not yet (or not known to be) created in Zoom.
    Pending,
    Scheduled,
    Started,
    Ended,
    Cancelled,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Scheduled => "scheduled",
            Status::Started => "started",
            Status::Ended => "ended",
            Status::Cancelled => "cancelled",
            Status::Failed => "failed",
        }
    }
}

crate::db_row! {
    #[derive(Debug, Clone)]
    pub struct MeetingRow {
        pub id: i64,
        pub org_id: i64,
        pub host_user_id: i64,
        pub contact_id: Option<i64>,
        pub topic: String,
        pub agenda: Option<String>,
        pub start_at: DateTime<Utc>,
        pub time_zone: String,
        pub duration_minutes: i64,
        pub invite_contact: bool,
        pub record_cloud: bool,
        pub status: String,
        pub failure_reason: Option<String>,
        pub ics_uid: String,
        pub ics_sequence: i64,
        pub zoom_meeting_id: Option<String>,
        pub join_url: Option<String>,
        pub passcode: Option<String>,
        pub zoom_link_removed: bool,
        pub last_event_ts: Option<i64>,
        pub started_at: Option<DateTime<Utc>>,
        pub ended_at: Option<DateTime<Utc>>,
        pub created_at: DateTime<Utc>,
        /// Joined: the contact's name, and the host's name.
        pub contact_name: Option<String>,
        pub host_name: String,
    }
}

impl MeetingRow {
    pub fn end_at(&self) -> DateTime<Utc> {
        self.start_at + chrono::Duration::minutes(self.duration_minutes)
    }

    pub fn is_live_in_zoom(&self) -> bool {
        self.zoom_meeting_id.is_some() && matches!(self.status.as_str(), "scheduled" | "started")
    }

    /// Over: ended in Zoom, or scheduled and its planned end has passed (Zoom may never report
    /// a meeting nobody joined). A meeting Zoom reports as started is not over until it ends.
    pub fn is_over(&self, now: DateTime<Utc>) -> bool {
        self.status == "ended" || (self.status == "scheduled" && self.end_at() <= now)
    }

    /// Whether the host is offered "Start" (and "Cancel").
    pub fn can_start(&self, now: DateTime<Utc>) -> bool {
        self.is_live_in_zoom() && !self.is_over(now)
    }

    /// Whether the host is offered "Reschedule": Zoom refuses to change a started meeting, and
    /// an ended one is history.
    pub fn can_reschedule(&self, now: DateTime<Utc>) -> bool {
        self.zoom_meeting_id.is_some() && self.status == "scheduled" && !self.is_over(now)
    }

    /// The status as the host should read it at `now`.
    pub fn label_at(&self, now: DateTime<Utc>) -> &'static str {
        if self.status == "scheduled" && self.is_over(now) {
            "Past"
        } else {
            self.status_label()
        }
    }

    pub fn status_label(&self) -> &'static str {
        match self.status.as_str() {
            "pending" => "Being scheduled",
            "scheduled" => "Scheduled",
            "started" => "In progress",
            "ended" => "Ended",
            "cancelled" => "Cancelled",
            "failed" => "Not created",
            _ => "Unknown",
        }
    }

    pub fn status_badge(&self) -> &'static str {
        match self.status.as_str() {
            "scheduled" => "badge badge-green",
            "started" => "badge badge-blue",
            "pending" => "badge badge-amber",
            "cancelled" | "failed" => "badge badge-red",
            _ => "badge",
        }
    }
}

const SELECT: &str = "SELECT m.id, m.org_id, m.host_user_id, m.contact_id, m.topic, m.agenda, m.start_at, m.time_zone, m.duration_minutes,
        m.invite_contact, m.record_cloud, m.status, m.failure_reason, m.ics_uid, m.ics_sequence, m.zoom_meeting_id, m.join_url,
        m.passcode, m.zoom_link_removed, m.last_event_ts, m.started_at, m.ended_at, m.created_at,
        c.name AS contact_name, u.name AS host_name
     FROM meetings m LEFT JOIN contacts c ON c.id = m.contact_id JOIN users u ON u.id = m.host_user_id";

pub struct NewMeeting<'a> {
    pub org_id: i64,
    pub host_user_id: i64,
    pub contact_id: i64,
    pub topic: &'a str,
    pub agenda: Option<&'a str>,
    pub start_at: DateTime<Utc>,
    pub time_zone: &'a str,
    pub duration_minutes: i64,
    pub invite_contact: bool,
    pub record_cloud: bool,
    pub idempotency_key: &'a str,
    pub ics_uid: &'a str,
}

/// Records a pending meeting; `None` when this idempotency key was already used (a repeated submit).
pub async fn insert_pending(
    conn: &mut Conn<'_>,
    m: &NewMeeting<'_>,
    now: DateTime<Utc>,
) -> Result<Option<i64>, sqlx::Error> {
    sql_scalar!(
        conn,
        i64,
        fetch_optional,
        "INSERT INTO meetings (org_id, host_user_id, contact_id, topic, agenda, start_at, time_zone, duration_minutes, invite_contact,
             record_cloud, status, idempotency_key, ics_uid, ics_sequence, zoom_link_removed, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11, $12, 0, FALSE, $13, $13)
         ON CONFLICT (org_id, idempotency_key) DO NOTHING RETURNING id",
        m.org_id,
        m.host_user_id,
        m.contact_id,
        m.topic,
        m.agenda,
        m.start_at,
        m.time_zone,
        m.duration_minutes,
        m.invite_contact,
        m.record_cloud,
        m.idempotency_key,
        m.ics_uid,
        now
    )
}

pub async fn by_idempotency_key(
    conn: &mut Conn<'_>,
    org_id: i64,
    key: &str,
) -> Result<Option<MeetingRow>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE m.org_id = $1 AND m.idempotency_key = $2"
    ));
    sql_as!(conn, MeetingRow, fetch_optional, sql, org_id, key)
}

pub async fn get(
    conn: &mut Conn<'_>,
    org_id: i64,
    id: i64,
) -> Result<Option<MeetingRow>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("{SELECT} WHERE m.org_id = $1 AND m.id = $2"));
    sql_as!(conn, MeetingRow, fetch_optional, sql, org_id, id)
}

pub async fn by_id(conn: &mut Conn<'_>, id: i64) -> Result<Option<MeetingRow>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("{SELECT} WHERE m.id = $1"));
    sql_as!(conn, MeetingRow, fetch_optional, sql, id)
}

pub async fn by_zoom_id(
    conn: &mut Conn<'_>,
    zoom_meeting_id: &str,
) -> Result<Option<MeetingRow>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("{SELECT} WHERE m.zoom_meeting_id = $1"));
    sql_as!(conn, MeetingRow, fetch_optional, sql, zoom_meeting_id)
}

pub async fn for_contact(
    conn: &mut Conn<'_>,
    org_id: i64,
    contact_id: i64,
) -> Result<Vec<MeetingRow>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE m.org_id = $1 AND m.contact_id = $2 AND m.status <> 'failed' ORDER BY m.start_at DESC LIMIT 200"
    ));
    sql_as!(conn, MeetingRow, fetch_all, sql, org_id, contact_id)
}

pub async fn for_host(
    conn: &mut Conn<'_>,
    org_id: i64,
    host_user_id: i64,
    from: DateTime<Utc>,
    upcoming: bool,
) -> Result<Vec<MeetingRow>, sqlx::Error> {
    if upcoming {
        let sql = sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE m.org_id = $1 AND m.host_user_id = $2 AND m.start_at >= $3 AND m.status <> 'failed' ORDER BY m.start_at LIMIT 500"
        ));
        sql_as!(conn, MeetingRow, fetch_all, sql, org_id, host_user_id, from)
    } else {
        let sql = sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE m.org_id = $1 AND m.host_user_id = $2 AND m.start_at < $3 AND m.status <> 'failed' ORDER BY m.start_at DESC LIMIT 200"
        ));
        sql_as!(conn, MeetingRow, fetch_all, sql, org_id, host_user_id, from)
    }
}

/// What Zoom answered for a created (or adopted) meeting.
pub struct ZoomFields<'a> {
    pub zoom_meeting_id: &'a str,
    pub zoom_uuid: Option<&'a str>,
    pub join_url: Option<&'a str>,
    pub passcode: Option<&'a str>,
}

pub async fn mark_scheduled(
    conn: &mut Conn<'_>,
    id: i64,
    z: &ZoomFields<'_>,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let n = sql_execute!(
        conn,
        "UPDATE meetings SET status = 'scheduled', zoom_meeting_id = $2, zoom_uuid = $3, join_url = $4, passcode = $5,
             failure_reason = NULL, updated_at = $6
         WHERE id = $1 AND status = 'pending'",
        id,
        z.zoom_meeting_id,
        z.zoom_uuid,
        z.join_url,
        z.passcode,
        now
    )?;
    Ok(n == 1)
}

pub async fn mark_failed(
    conn: &mut Conn<'_>,
    id: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sql_execute!(
        conn,
        "UPDATE meetings SET status = 'failed', failure_reason = $2, updated_at = $3 WHERE id = $1 AND status = 'pending'",
        id,
        reason,
        now
    )?;
    Ok(())
}

/// Pending meetings of a host whose Zoom connection is gone can no longer be settled.
pub async fn fail_pending_of_host(
    conn: &mut Conn<'_>,
    host_user_id: i64,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sql_execute!(
        conn,
        "UPDATE meetings SET status = 'failed', failure_reason = 'Zoom was disconnected before the meeting was confirmed', updated_at = $2
         WHERE host_user_id = $1 AND status = 'pending'",
        host_user_id,
        now
    )?;
    Ok(())
}

pub async fn delete_pending(conn: &mut Conn<'_>, id: i64) -> Result<(), sqlx::Error> {
    sql_execute!(
        conn,
        "DELETE FROM meetings WHERE id = $1 AND status = 'pending'",
        id
    )?;
    Ok(())
}

/// What a reschedule changes.
pub struct Rescheduled<'a> {
    pub topic: &'a str,
    pub agenda: Option<&'a str>,
    pub start_at: DateTime<Utc>,
    pub time_zone: &'a str,
    pub duration_minutes: i64,
}

/// Stores Rapport's own reschedule; true when it changed what the contact sees (topic, start,
/// duration or agenda), so they are sent one update. False when Zoom's `meeting.updated` webhook for this
/// very change was applied first: that already raised the SEQUENCE and queued the update. The
/// comparison is in the UPDATE, so a webhook applied concurrently is seen (row lock on
/// PostgreSQL, single writer on SQLite).
pub async fn reschedule(
    conn: &mut Conn<'_>,
    id: i64,
    to: &Rescheduled<'_>,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    // The zone only changes how the time is written, not when the meeting is.
    sql_execute!(
        conn,
        "UPDATE meetings SET time_zone = $2, updated_at = $3 WHERE id = $1 AND status = 'scheduled'",
        id,
        to.time_zone,
        now
    )?;
    let n = sql_execute!(
        conn,
        "UPDATE meetings SET topic = $2, start_at = $3, duration_minutes = $4, agenda = $6, ics_sequence = ics_sequence + 1, updated_at = $5
         WHERE id = $1 AND status = 'scheduled' AND (topic <> $2 OR start_at <> $3 OR duration_minutes <> $4 OR COALESCE(agenda, '') <> COALESCE($6, ''))",
        id,
        to.topic,
        to.start_at,
        to.duration_minutes,
        now,
        to.agenda
    )?;
    Ok(n == 1)
}

/// Notes that Rapport is about to delete the meeting in Zoom (`Some(now)`), or that the delete
/// did not happen after all (`None`): Zoom's `meeting.deleted` for it is then known as
/// Rapport's own cancellation, whichever is applied first.
pub async fn note_cancel_requested(
    conn: &mut Conn<'_>,
    id: i64,
    at: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    sql_execute!(
        conn,
        "UPDATE meetings SET cancel_requested_at = $2 WHERE id = $1",
        id,
        at
    )?;
    Ok(())
}

/// When Rapport last set out to delete the meeting in Zoom, if it did.
pub async fn cancel_requested_at(
    conn: &mut Conn<'_>,
    id: i64,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    Ok(sql_scalar!(
        conn,
        Option<DateTime<Utc>>,
        fetch_optional,
        "SELECT cancel_requested_at FROM meetings WHERE id = $1",
        id
    )?
    .flatten())
}

pub async fn mark_cancelled(
    conn: &mut Conn<'_>,
    id: i64,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let n = sql_execute!(
        conn,
        "UPDATE meetings SET status = 'cancelled', ics_sequence = ics_sequence + 1, updated_at = $2 WHERE id = $1 AND status <> 'cancelled'",
        id,
        now
    )?;
    Ok(n == 1)
}

pub async fn set_status_from_zoom(
    conn: &mut Conn<'_>,
    id: i64,
    status: Status,
    at: DateTime<Utc>,
    event_ts: Option<i64>,
) -> Result<(), sqlx::Error> {
    match status {
        Status::Started => sql_execute!(
            conn,
            "UPDATE meetings SET status = 'started', started_at = $2, last_event_ts = COALESCE($3, last_event_ts), updated_at = $2
             WHERE id = $1 AND status IN ('scheduled', 'started')",
            id,
            at,
            event_ts
        )?,
        _ => sql_execute!(
            conn,
            "UPDATE meetings SET status = 'ended', ended_at = $2, last_event_ts = COALESCE($3, last_event_ts), updated_at = $2
             WHERE id = $1 AND status IN ('scheduled', 'started', 'ended')",
            id,
            at,
            event_ts
        )?,
    };
    Ok(())
}

/// Applies a change made in Zoom, unless a newer event was already applied (out-of-order safe).
/// Zoom also reports Rapport's own changes: an event that changes nothing is not applied, so
/// the contact is not sent a second update.
pub async fn apply_zoom_update(
    conn: &mut Conn<'_>,
    id: i64,
    topic: Option<&str>,
    start_at: Option<DateTime<Utc>>,
    duration: Option<i64>,
    event_ts: i64,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let n = sql_execute!(
        conn,
        "UPDATE meetings SET topic = COALESCE($2, topic), start_at = COALESCE($3, start_at), duration_minutes = COALESCE($4, duration_minutes),
             ics_sequence = ics_sequence + 1, last_event_ts = $5, updated_at = $6
         WHERE id = $1 AND (last_event_ts IS NULL OR last_event_ts < $5) AND status IN ('scheduled', 'started')
           AND (topic <> COALESCE($2, topic) OR start_at <> COALESCE($3, start_at) OR duration_minutes <> COALESCE($4, duration_minutes))",
        id,
        topic,
        start_at,
        duration,
        event_ts,
        now
    )?;
    Ok(n == 1)
}

/// Clears every Zoom-origin value of a host's meetings (disconnect, deauthorization): the CRM's
/// record stays, marked as no longer linked.
pub async fn unlink_host(
    conn: &mut Conn<'_>,
    host_user_id: i64,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    sql_execute!(
        conn,
        "UPDATE meetings SET zoom_meeting_id = NULL, zoom_uuid = NULL, join_url = NULL, passcode = NULL, zoom_link_removed = TRUE,
             updated_at = $2
         WHERE host_user_id = $1 AND (zoom_meeting_id IS NOT NULL OR zoom_uuid IS NOT NULL OR join_url IS NOT NULL OR passcode IS NOT NULL)",
        host_user_id,
        now
    )
}
