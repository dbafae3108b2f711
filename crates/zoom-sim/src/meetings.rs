//! Meetings: validation like Zoom's, storage, status changes and the events they emit.
//! Used by the REST API, the account page and the control API alike.

use crate::api_error::{ApiError, FieldError};
use crate::ids;
use crate::model::{Meeting, MeetingStatus, User, Zak};
use crate::state::{Inner, SimError, SimState};
use crate::webhook::Outgoing;
use axum::http::StatusCode;
use chrono::{DateTime, Duration, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value, json};

pub(crate) fn fmt_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Zoom's `start_time`: `yyyy-MM-ddTHH:mm:ssZ` is UTC; without `Z` it is local time in
/// `tz`. Offsets like `+02:00` are accepted too.
pub fn parse_start_time(s: &str, tz: Tz) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f"))
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M"))
        .ok()?;
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

fn default_settings() -> Value {
    json!({
        "host_video": false,
        "participant_video": false,
        "cn_meeting": false,
        "in_meeting": false,
        "join_before_host": false,
        "jbh_time": 0,
        "mute_upon_entry": false,
        "watermark": false,
        "use_pmi": false,
        "approval_type": 2,
        "audio": "voip",
        "auto_recording": "none",
        "enforce_login": false,
        "enforce_login_domains": "",
        "alternative_hosts": "",
        "alternative_hosts_email_notification": true,
        "close_registration": false,
        "show_share_button": false,
        "allow_multiple_devices": false,
        "registrants_confirmation_email": true,
        "waiting_room": true,
        "registrants_email_notification": true,
        "meeting_authentication": false,
        "encryption_type": "enhanced_encryption",
        "approved_or_denied_countries_or_regions": {"enable": false},
        "breakout_room": {"enable": false},
        "internal_meeting": false,
        "continuous_meeting_chat": {"enable": false, "auto_add_invited_external_users": false},
        "participant_focused_meeting": false,
        "push_change_to_calendar": false,
        "resources": [],
        "email_notification": true,
        "host_save_video_order": false,
        "sign_language_interpretation": {"enable": false},
        "focus_mode": false,
        "private_meeting": false,
    })
}

/// Settings a client may send that are not echoed in the defaults.
const EXTRA_SETTINGS: &[&str] = &[
    "authentication_option",
    "authentication_domains",
    "authentication_name",
    "authentication_exception",
    "contact_name",
    "contact_email",
    "registration_type",
    "language_interpretation",
    "global_dial_in_countries",
    "calendar_type",
    "alternative_host_update_polls",
];

fn same_type(a: &Value, b: &Value) -> bool {
    matches!(
        (a, b),
        (Value::Bool(_), Value::Bool(_))
            | (Value::Number(_), Value::Number(_))
            | (Value::String(_), Value::String(_))
            | (Value::Object(_), Value::Object(_))
            | (Value::Array(_), Value::Array(_))
    )
}

fn check_settings(sent: &Map<String, Value>) -> Result<Map<String, Value>, ApiError> {
    let defaults = default_settings();
    let mut errors = Vec::new();
    let mut out = Map::new();
    for (k, v) in sent {
        match defaults.get(k) {
            Some(d) => {
                if v.is_null() {
                    continue;
                }
                if !same_type(d, v) {
                    errors.push(FieldError {
                        field: format!("settings.{k}"),
                        message: "Invalid field.".into(),
                    });
                    continue;
                }
                let enum_ok = match k.as_str() {
                    "auto_recording" => matches!(v.as_str(), Some("local" | "cloud" | "none")),
                    "audio" => matches!(
                        v.as_str(),
                        Some("both" | "telephony" | "voip" | "thirdParty")
                    ),
                    "approval_type" => matches!(v.as_i64(), Some(0..=2)),
                    "jbh_time" => matches!(v.as_i64(), Some(0 | 5 | 10)),
                    "encryption_type" => matches!(v.as_str(), Some("enhanced_encryption" | "e2ee")),
                    _ => true,
                };
                if !enum_ok {
                    errors.push(FieldError {
                        field: format!("settings.{k}"),
                        message: format!("Invalid parameter: {k}"),
                    });
                    continue;
                }
                out.insert(k.clone(), v.clone());
            }
            None if EXTRA_SETTINGS.contains(&k.as_str()) => {
                out.insert(k.clone(), v.clone());
            }
            // Zoom ignores settings it does not know (and request-only ones such as meeting_invitees).
            None => {}
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(ApiError::validation(errors))
    }
}

/// Fields a create or update request sets.
#[derive(Debug, Default, Clone)]
pub(crate) struct Changes {
    pub topic: Option<String>,
    pub meeting_type: Option<i64>,
    pub start_time: Option<DateTime<Utc>>,
    pub timezone: Option<String>,
    pub duration: Option<i64>,
    pub agenda: Option<String>,
    pub password: Option<String>,
    pub settings: Option<Map<String, Value>>,
    pub pre_schedule: Option<bool>,
}

fn tz_of(name: &str) -> Option<Tz> {
    if name.eq_ignore_ascii_case("UTC") || name == "GMT" {
        return Some(chrono_tz::UTC);
    }
    name.parse::<Tz>().ok()
}

pub(crate) fn parse_changes(body: &[u8], fallback_tz: &str) -> Result<Changes, ApiError> {
    let v: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(body).map_err(|_| ApiError::bad_json())?
    };
    let Value::Object(obj) = v else {
        return Err(ApiError::bad_json());
    };
    let mut c = Changes::default();
    let mut errors = Vec::new();
    let mut err = |field: &str, message: &str| {
        errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        })
    };
    let string = |k: &str| obj.get(k).filter(|v| !v.is_null());
    if let Some(v) = string("topic") {
        match v.as_str() {
            Some(s) if s.chars().count() > 200 => {
                err("topic", "Topic length should not exceed 200 characters.")
            }
            Some(s) => c.topic = Some(s.to_string()),
            None => err("topic", "Invalid field."),
        }
    }
    if let Some(v) = string("agenda") {
        match v.as_str() {
            Some(s) if s.chars().count() > 2000 => {
                err("agenda", "Agenda length should not exceed 2000 characters.")
            }
            Some(s) => c.agenda = Some(s.to_string()),
            None => err("agenda", "Invalid field."),
        }
    }
    if let Some(v) = string("type") {
        match v.as_i64() {
            Some(t @ (1 | 2 | 3 | 8)) => c.meeting_type = Some(t),
            _ => err("type", "Invalid field."),
        }
    }
    if let Some(v) = string("timezone") {
        match v.as_str() {
            Some("") => {}
            Some(s) if tz_of(s).is_some() => c.timezone = Some(s.to_string()),
            _ => err("timezone", "Invalid field."),
        }
    }
    if let Some(v) = string("duration") {
        match v.as_i64() {
            Some(d) if (0..=1440 * 7).contains(&d) => c.duration = Some(d),
            _ => err("duration", "Invalid field."),
        }
    }
    if let Some(v) = string("password") {
        let ok_chars = |s: &str| {
            s.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "@-_*".contains(ch))
        };
        match v.as_str() {
            Some(s) if s.len() <= 10 && ok_chars(s) => c.password = Some(s.to_string()),
            _ => err(
                "password",
                "Passcode may only contain the following characters: [a-z A-Z 0-9 @ - _ *] and can have a maximum of 10 characters.",
            ),
        }
    }
    if let Some(v) = string("pre_schedule") {
        match v.as_bool() {
            Some(b) => c.pre_schedule = Some(b),
            None => err("pre_schedule", "Invalid field."),
        }
    }
    if let Some(v) = string("start_time") {
        let tz_name = c
            .timezone
            .clone()
            .unwrap_or_else(|| fallback_tz.to_string());
        let tz = tz_of(&tz_name).unwrap_or(chrono_tz::UTC);
        match v.as_str().and_then(|s| parse_start_time(s, tz)) {
            Some(t) => c.start_time = Some(t),
            None => err("start_time", "Invalid field."),
        }
    }
    if let Some(v) = string("settings") {
        match v.as_object() {
            Some(m) => match check_settings(m) {
                Ok(s) => c.settings = Some(s),
                Err(e) => errors.extend(e.errors),
            },
            None => err("settings", "Invalid field."),
        }
    }
    if errors.is_empty() {
        Ok(c)
    } else {
        Err(ApiError::validation(errors))
    }
}

impl Inner {
    /// Apps with a live grant from this user: they receive the user's meeting events.
    pub(crate) fn events_for_user(
        &self,
        user_id: &str,
        event: &str,
        payload: &Value,
    ) -> Vec<Outgoing> {
        let mut clients: Vec<&String> = self
            .data
            .grants
            .values()
            .filter(|g| g.active() && g.user_id == user_id)
            .map(|g| &g.client_id)
            .collect();
        clients.sort();
        clients.dedup();
        clients
            .into_iter()
            .filter_map(|c| self.data.apps.get(c))
            .map(|app| Outgoing {
                app: app.clone(),
                event: event.to_string(),
                payload: payload.clone(),
            })
            .collect()
    }

    pub(crate) fn issue_zak(&mut self, meeting_id: i64, now: DateTime<Utc>) -> String {
        crate::prune::maybe_prune(&mut self.data.zaks, &mut self.prune_zaks, |_, z| {
            z.expires_at > now
        });
        let zak = ids::token("zak_");
        let expires_at = now + Duration::seconds(self.config.zak_secs);
        self.data.zaks.insert(
            zak.clone(),
            Zak {
                meeting_id,
                expires_at,
            },
        );
        zak
    }

    /// The meeting as `GET /meetings/{id}` returns it, with a fresh `start_url`.
    pub(crate) fn meeting_json(&mut self, m: &Meeting, base: &str, now: DateTime<Utc>) -> Value {
        let zak = self.issue_zak(m.id, now);
        let host_email = self
            .data
            .users
            .get(&m.host_id)
            .map(|u| u.email.clone())
            .unwrap_or_default();
        let mut v = json!({
            "uuid": m.uuid,
            "id": m.id,
            "host_id": m.host_id,
            "host_email": host_email,
            "assistant_id": "",
            "topic": m.topic,
            "type": m.meeting_type,
            "status": m.status.api_value(),
            "start_time": fmt_time(m.start_time),
            "duration": m.duration,
            "timezone": m.timezone,
            "created_at": fmt_time(m.created_at),
            "start_url": format!("{base}/s/{}?zak={zak}", m.id),
            "join_url": format!("{base}/j/{}?pwd={}", m.id, m.encrypted_password),
            "password": m.password,
            "h323_password": m.password,
            "pstn_password": m.password,
            "encrypted_password": m.encrypted_password,
            "settings": m.settings,
            "pre_schedule": m.pre_schedule,
            "creation_source": "open_api",
        });
        if !m.agenda.is_empty() {
            v["agenda"] = json!(m.agenda);
        }
        v
    }

    pub(crate) fn list_item(&self, m: &Meeting, base: &str) -> Value {
        let mut v = json!({
            "uuid": m.uuid,
            "id": m.id,
            "host_id": m.host_id,
            "topic": m.topic,
            "type": m.meeting_type,
            "start_time": fmt_time(m.start_time),
            "duration": m.duration,
            "timezone": m.timezone,
            "created_at": fmt_time(m.created_at),
            "join_url": format!("{base}/j/{}?pwd={}", m.id, m.encrypted_password),
        });
        if !m.agenda.is_empty() {
            // The list truncates agendas to 250 characters.
            v["agenda"] = json!(m.agenda.chars().take(250).collect::<String>());
        }
        v
    }

    /// A meeting the user hosts, or 3001 (absent, another user's, or expired).
    pub(crate) fn owned_meeting(
        &self,
        user_id: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Meeting, ApiError> {
        let mid: i64 = id
            .trim()
            .parse()
            .map_err(|_| ApiError::meeting_not_found(id))?;
        match self.data.meetings.get(&mid) {
            Some(m) if m.host_id == user_id && !m.expired(now) => Ok(m.clone()),
            _ => Err(ApiError::meeting_not_found(id)),
        }
    }
}

/// A meeting id inside a webhook: captured Zoom traffic sends it as a string
/// (`"id":"85393847045"`, contract §5), Zoom's SDK types say number; configurable.
fn event_id(id: i64, as_string: bool) -> Value {
    if as_string {
        json!(id.to_string())
    } else {
        json!(id)
    }
}

fn event_object(m: &Meeting, ids_as_strings: bool) -> Value {
    json!({
        "uuid": m.uuid,
        "id": event_id(m.id, ids_as_strings),
        "host_id": m.host_id,
        "topic": m.topic,
        "type": m.meeting_type,
        "start_time": fmt_time(m.start_time),
        "duration": m.duration,
        "timezone": m.timezone,
    })
}

impl SimState {
    pub(crate) fn create_meeting(&self, user: &User, c: Changes) -> (Value, Vec<Outgoing>) {
        let now = self.now();
        let base = self.base_url();
        let mut g = self.lock();
        let mut id = ids::meeting_id();
        while g.data.meetings.contains_key(&id) {
            id = ids::meeting_id();
        }
        let meeting_type = c.meeting_type.unwrap_or(2);
        let mut settings = default_settings();
        if let (Some(s), Some(obj)) = (c.settings, settings.as_object_mut()) {
            obj.extend(s);
        }
        let start_time = if meeting_type == 1 {
            now
        } else {
            c.start_time.unwrap_or(now)
        };
        let m = Meeting {
            id,
            uuid: ids::meeting_uuid(),
            host_id: user.id.clone(),
            topic: c.topic.unwrap_or_else(|| "Zoom meeting".to_string()),
            meeting_type,
            start_time: start_time.with_timezone(&Utc),
            duration: c.duration.unwrap_or(60),
            timezone: c.timezone.unwrap_or_else(|| user.timezone.clone()),
            agenda: c.agenda.unwrap_or_default(),
            created_at: now,
            password: c.password.unwrap_or_else(|| ids::alnum(6)),
            encrypted_password: format!("{}.1", ids::alnum(32)),
            status: MeetingStatus::Waiting,
            pre_schedule: c.pre_schedule.unwrap_or(false),
            started_at: None,
            settings,
        };
        g.data.meetings.insert(id, m.clone());
        let body = g.meeting_json(&m, &base, now);
        let out = if g.config.webhooks_for_api_changes {
            let payload = json!({
                "account_id": self_account(&g, &user.id),
                "operator": user.email,
                "operator_id": user.id,
                "object": event_object(&m, g.config.webhook_ids_as_strings),
            });
            g.events_for_user(&user.id, "meeting.created", &payload)
        } else {
            Vec::new()
        };
        drop(g);
        self.changed();
        (body, out)
    }

    /// Applies an update. `via_api` decides whether Zoom's API-only rules apply and
    /// whether the event is sent (account-page edits always send it).
    pub(crate) fn update_meeting(
        &self,
        user: &User,
        id: &str,
        c: Changes,
        via_api: bool,
    ) -> Result<Vec<Outgoing>, ApiError> {
        let now = self.now();
        let mut g = self.lock();
        let m = g.owned_meeting(&user.id, id, now)?;
        if m.status == MeetingStatus::Started {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                3000,
                "You cannot update or delete meetings that have started using this method.",
            ));
        }
        if via_api
            && let Some(t) = c.start_time
            && t <= now
        {
            return Err(ApiError::field(
                "start_time",
                "start_time must be in the future.",
            ));
        }
        let mut new = m.clone();
        let mut changed = Map::new();
        let mut old = Map::new();
        macro_rules! set {
            ($field:ident, $json:expr, $val:expr) => {
                if let Some(v) = $val {
                    if new.$field != v {
                        old.insert($json.into(), json!(new.$field));
                        new.$field = v;
                        changed.insert($json.into(), json!(new.$field));
                    }
                }
            };
        }
        set!(topic, "topic", c.topic);
        set!(meeting_type, "type", c.meeting_type);
        set!(duration, "duration", c.duration);
        set!(timezone, "timezone", c.timezone);
        set!(agenda, "agenda", c.agenda);
        set!(password, "password", c.password);
        set!(pre_schedule, "pre_schedule", c.pre_schedule);
        if let Some(t) = c.start_time
            && t != new.start_time
        {
            old.insert("start_time".into(), json!(fmt_time(new.start_time)));
            new.start_time = t;
            changed.insert("start_time".into(), json!(fmt_time(t)));
        }
        if let Some(s) = c.settings
            && !s.is_empty()
        {
            let mut old_s = Map::new();
            let mut new_s = Map::new();
            if let Some(obj) = new.settings.as_object_mut() {
                for (k, v) in s {
                    if obj.get(&k) != Some(&v) {
                        old_s.insert(k.clone(), obj.get(&k).cloned().unwrap_or(Value::Null));
                        new_s.insert(k.clone(), v.clone());
                        obj.insert(k, v);
                    }
                }
            }
            if !new_s.is_empty() {
                old.insert("settings".into(), Value::Object(old_s));
                changed.insert("settings".into(), Value::Object(new_s));
            }
        }
        if changed.is_empty() {
            return Ok(Vec::new());
        }
        g.data.meetings.insert(new.id, new.clone());
        let mut out = Vec::new();
        if !via_api || g.config.webhooks_for_api_changes {
            let mut object = changed;
            object.insert(
                "id".into(),
                event_id(new.id, g.config.webhook_ids_as_strings),
            );
            object.insert("uuid".into(), json!(new.uuid));
            old.insert(
                "id".into(),
                event_id(new.id, g.config.webhook_ids_as_strings),
            );
            old.insert("uuid".into(), json!(new.uuid));
            let payload = json!({
                "account_id": self_account(&g, &user.id),
                "operator": user.email,
                "operator_id": user.id,
                "object": object,
                "old_object": old,
                "time_stamp": now.timestamp_millis(),
            });
            out = g.events_for_user(&user.id, "meeting.updated", &payload);
        }
        drop(g);
        self.changed();
        Ok(out)
    }

    pub(crate) fn delete_meeting(
        &self,
        user: &User,
        id: &str,
        via_api: bool,
    ) -> Result<Vec<Outgoing>, ApiError> {
        let now = self.now();
        let mut g = self.lock();
        let m = g.owned_meeting(&user.id, id, now)?;
        match m.status {
            MeetingStatus::Started => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    3002,
                    "Sorry, you cannot delete this meeting since it is in progress.",
                ));
            }
            MeetingStatus::Finished => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    3007,
                    "Sorry, you cannot delete this meeting since it has ended.",
                ));
            }
            MeetingStatus::Waiting => {}
        }
        g.data.meetings.remove(&m.id);
        let mut out = Vec::new();
        if !via_api || g.config.webhooks_for_api_changes {
            let payload = json!({
                "account_id": self_account(&g, &user.id),
                "operator": user.email,
                "operator_id": user.id,
                "operation": "single",
                "object": event_object(&m, g.config.webhook_ids_as_strings),
            });
            out = g.events_for_user(&user.id, "meeting.deleted", &payload);
        }
        drop(g);
        self.changed();
        Ok(out)
    }

    /// The host starts the meeting: status `started`, `meeting.started` sent.
    pub fn start_meeting(&self, id: i64) -> Result<Meeting, SimError> {
        self.set_status(id, MeetingStatus::Started, "meeting.started")
    }

    /// The meeting ends: status finished, `meeting.ended` sent.
    pub fn end_meeting(&self, id: i64) -> Result<Meeting, SimError> {
        self.set_status(id, MeetingStatus::Finished, "meeting.ended")
    }

    fn set_status(&self, id: i64, status: MeetingStatus, event: &str) -> Result<Meeting, SimError> {
        let now = self.now();
        let mut g = self.lock();
        let m = g
            .data
            .meetings
            .get_mut(&id)
            .ok_or_else(|| SimError::NotFound(format!("meeting {id}")))?;
        if m.status == status {
            return Ok(m.clone());
        }
        m.status = status;
        m.started_at = (status == MeetingStatus::Started).then_some(now);
        let m = m.clone();
        let mut object = event_object(&m, g.config.webhook_ids_as_strings);
        if status == MeetingStatus::Started {
            object["start_time"] = json!(fmt_time(now));
        } else {
            object["end_time"] = json!(fmt_time(now));
        }
        let payload = json!({"account_id": self_account(&g, &m.host_id), "object": object});
        let out = g.events_for_user(&m.host_id, event, &payload);
        drop(g);
        self.changed();
        self.dispatch(out);
        Ok(m)
    }

    /// Ends started meetings that ran past their host's plan limit (Basic: 40 minutes,
    /// Licensed: 30 hours), sending `meeting.ended`.
    pub fn end_overdue_meetings(&self) {
        let now = self.now();
        let overdue: Vec<i64> = {
            let g = self.lock();
            let (basic, licensed) = (
                g.config.basic_meeting_limit_minutes,
                g.config.licensed_meeting_limit_minutes,
            );
            g.data
                .meetings
                .values()
                .filter(|m| m.status == MeetingStatus::Started)
                .filter(|m| {
                    let limit = match g.data.users.get(&m.host_id).map(|u| u.plan) {
                        Some(crate::config::Plan::Basic) => basic,
                        Some(crate::config::Plan::Licensed) => licensed,
                        None => None,
                    };
                    matches!((limit, m.started_at), (Some(l), Some(at)) if at + Duration::minutes(l) <= now)
                })
                .map(|m| m.id)
                .collect()
        };
        for id in overdue {
            let _ = self.end_meeting(id);
        }
    }

    /// Everything the passing of (simulated) time triggers: webhook retries that fell due
    /// and meetings that hit their plan's time limit. Runs after clock changes and
    /// periodically under `crate::serve`.
    pub fn tick(&self) {
        self.end_overdue_meetings();
        self.run_due_webhook_retries();
    }

    /// Opens `/s/{id}?zak=...`: Ok when the host key is valid for this meeting.
    pub(crate) fn check_zak(&self, id: i64, zak: &str) -> bool {
        let now = self.now();
        let g = self.lock();
        g.data
            .zaks
            .get(zak)
            .is_some_and(|z| z.meeting_id == id && z.expires_at > now)
    }
}

fn self_account(g: &Inner, user_id: &str) -> String {
    g.data
        .users
        .get(user_id)
        .map(|u| u.account_id.clone())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_utc_local_and_offset() {
        let ny: Tz = "America/New_York".parse().unwrap();
        assert_eq!(
            fmt_time(parse_start_time("2030-01-15T10:00:00Z", ny).unwrap()),
            "2030-01-15T10:00:00Z"
        );
        assert_eq!(
            fmt_time(parse_start_time("2030-01-15T10:00:00", ny).unwrap()),
            "2030-01-15T15:00:00Z"
        );
        assert_eq!(
            fmt_time(parse_start_time("2030-07-15T10:00:00", ny).unwrap()),
            "2030-07-15T14:00:00Z"
        );
        assert_eq!(
            fmt_time(parse_start_time("2030-01-15T10:00:00+02:00", ny).unwrap()),
            "2030-01-15T08:00:00Z"
        );
        assert!(parse_start_time("tomorrow", ny).is_none());
        assert!(parse_start_time("2030-13-15T10:00:00Z", ny).is_none());
    }

    #[test]
    fn validation_reports_fields() {
        let long = "x".repeat(201);
        let body = format!(
            r#"{{"topic":"{long}","timezone":"Mars/Base","settings":{{"auto_recording":"tape"}}}}"#
        );
        let e = parse_changes(body.as_bytes(), "UTC").unwrap_err();
        assert_eq!(e.code, 300);
        let fields: Vec<_> = e.errors.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, vec!["topic", "timezone", "settings.auto_recording"]);
        assert_eq!(
            parse_changes(b"{not json", "UTC").unwrap_err(),
            ApiError::bad_json()
        );
        assert_eq!(
            parse_changes(b"[1]", "UTC").unwrap_err(),
            ApiError::bad_json()
        );
    }
}
