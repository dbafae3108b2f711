//! Meeting request and response types.
//!
//! Times go to Zoom as UTC with a literal `Z` (`2026-12-01T15:00:00Z`), never as local
//! time: a local time sent as UTC (or the reverse) is how peers land meetings at the wrong
//! hour. `timezone` is still sent so Zoom shows the meeting in the host's zone.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::de;

/// Zoom meeting type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MeetingType {
    Instant,
    #[default]
    Scheduled,
    RecurringNoFixedTime,
    RecurringFixedTime,
    Other(i64),
}

impl MeetingType {
    pub fn code(self) -> i64 {
        match self {
            MeetingType::Instant => 1,
            MeetingType::Scheduled => 2,
            MeetingType::RecurringNoFixedTime => 3,
            MeetingType::RecurringFixedTime => 8,
            MeetingType::Other(c) => c,
        }
    }

    pub fn from_code(code: i64) -> Self {
        match code {
            1 => MeetingType::Instant,
            2 => MeetingType::Scheduled,
            3 => MeetingType::RecurringNoFixedTime,
            8 => MeetingType::RecurringFixedTime,
            c => MeetingType::Other(c),
        }
    }
}

impl Serialize for MeetingType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.code())
    }
}

impl<'de> Deserialize<'de> for MeetingType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        de::i64_from_value(&v)
            .map(MeetingType::from_code)
            .ok_or_else(|| serde::de::Error::custom("meeting type is not an integer"))
    }
}

/// The subset of meeting settings the CRM sets; anything else Zoom returns is kept in `extra`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MeetingSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_video: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant_video: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_before_host: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mute_upon_entry: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_room: Option<bool>,
    /// `local`, `cloud` (licensed users only) or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_recording: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_notification: Option<bool>,
    #[serde(flatten, default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
}

/// Body of `POST /v2/users/me/meetings`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NewMeeting {
    pub topic: String,
    #[serde(rename = "type")]
    pub meeting_type: MeetingType,
    #[serde(
        serialize_with = "de::ser_opt_zoom_utc",
        skip_serializing_if = "Option::is_none"
    )]
    pub start_time: Option<DateTime<Utc>>,
    /// Minutes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<u32>,
    /// IANA zone used by Zoom to display the meeting; `start_time` is still UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agenda: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_password: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settings: Option<MeetingSettings>,
}

impl NewMeeting {
    /// A scheduled meeting at `start_time` for `duration_minutes`.
    pub fn scheduled(
        topic: impl Into<String>,
        start_time: DateTime<Utc>,
        duration_minutes: u32,
    ) -> Self {
        Self {
            topic: topic.into(),
            meeting_type: MeetingType::Scheduled,
            start_time: Some(start_time),
            duration: Some(duration_minutes),
            ..Self::default()
        }
    }
}

/// Body of `PATCH /v2/meetings/{id}`: only the fields set are sent, and Zoom changes only those.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MeetingUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    #[serde(
        serialize_with = "de::ser_opt_zoom_utc",
        skip_serializing_if = "Option::is_none"
    )]
    pub start_time: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agenda: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settings: Option<MeetingSettings>,
}

/// The host's start link. It embeds a host key (`zak`) valid for two hours, so it is a
/// credential: `Debug` hides it. Fetch it fresh with `get_meeting` right before "Start".
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct StartUrl(String);

impl StartUrl {
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for StartUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StartUrl([redacted])")
    }
}

/// A meeting as returned by create (201) and get (200). Unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Meeting {
    #[serde(deserialize_with = "de::id")]
    pub id: u64,
    #[serde(default)]
    pub uuid: Option<String>,
    #[serde(default)]
    pub host_id: Option<String>,
    #[serde(default)]
    pub host_email: Option<String>,
    #[serde(default)]
    pub topic: Option<String>,
    #[serde(rename = "type", default)]
    pub meeting_type: Option<MeetingType>,
    /// `waiting`, `started`, ...
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub start_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub duration: Option<u32>,
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub agenda: Option<String>,
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub start_url: Option<StartUrl>,
    #[serde(default)]
    pub join_url: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub encrypted_password: Option<String>,
    #[serde(default)]
    pub settings: Option<MeetingSettings>,
}

/// One entry of a meeting list page.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MeetingSummary {
    #[serde(deserialize_with = "de::id")]
    pub id: u64,
    #[serde(default)]
    pub uuid: Option<String>,
    #[serde(default)]
    pub host_id: Option<String>,
    #[serde(default)]
    pub topic: Option<String>,
    #[serde(rename = "type", default)]
    pub meeting_type: Option<MeetingType>,
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub start_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub duration: Option<u32>,
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub agenda: Option<String>,
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub join_url: Option<String>,
}

/// One page of `GET /v2/users/me/meetings`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MeetingPage {
    #[serde(default)]
    pub meetings: Vec<MeetingSummary>,
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub total_records: Option<i64>,
    /// `""` or absent on the last page.
    #[serde(default)]
    pub next_page_token: Option<String>,
}

/// Which meetings to list (Zoom's `type` query parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListType {
    /// All valid, unexpired scheduled meetings (Zoom's default).
    #[default]
    Scheduled,
    Live,
    Upcoming,
    UpcomingMeetings,
    PreviousMeetings,
}

impl ListType {
    pub fn as_str(self) -> &'static str {
        match self {
            ListType::Scheduled => "scheduled",
            ListType::Live => "live",
            ListType::Upcoming => "upcoming",
            ListType::UpcomingMeetings => "upcoming_meetings",
            ListType::PreviousMeetings => "previous_meetings",
        }
    }
}

/// Options for listing meetings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListMeetings {
    pub list_type: ListType,
    /// 1..=300 (Zoom's maximum); values outside are clamped.
    pub page_size: u32,
}

impl Default for ListMeetings {
    fn default() -> Self {
        Self {
            list_type: ListType::Scheduled,
            page_size: 300,
        }
    }
}

/// Query options of `DELETE /v2/meetings/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    /// Email the host and alternative hosts about the cancellation.
    pub schedule_for_reminder: Option<bool>,
    /// Email registrants about the cancellation.
    pub cancel_meeting_reminder: Option<bool>,
    /// Delete one occurrence of a recurring meeting.
    pub occurrence_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn create_body_sends_utc_with_z_and_skips_unset_fields() {
        let start = chrono_tz::Europe::Paris
            .with_ymd_and_hms(2026, 12, 1, 16, 30, 0)
            .unwrap()
            .with_timezone(&Utc);
        let mut m = NewMeeting::scheduled("Intro call", start, 30);
        m.timezone = Some("Europe/Paris".into());
        m.settings = Some(MeetingSettings {
            waiting_room: Some(true),
            ..MeetingSettings::default()
        });
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "topic": "Intro call",
                "type": 2,
                "start_time": "2026-12-01T15:30:00Z",
                "duration": 30,
                "timezone": "Europe/Paris",
                "settings": {"waiting_room": true}
            })
        );
    }

    #[test]
    fn subsecond_times_are_truncated_to_zoom_format() {
        let t = Utc.timestamp_opt(1_700_000_000, 999_000_000).unwrap();
        let u = MeetingUpdate {
            start_time: Some(t),
            ..MeetingUpdate::default()
        };
        assert_eq!(
            serde_json::to_string(&u).unwrap(),
            r#"{"start_time":"2023-11-14T22:13:20Z"}"#
        );
    }

    #[test]
    fn reads_a_created_meeting_and_hides_the_start_url() {
        let body = r#"{"uuid":"jUh5o3dKQIytvcsfTtKBlg==","id":85393847045,"host_id":"8lzIwvZTSOqjndWPbPqzuA",
          "host_email":"h@example.com","topic":"T","type":2,"status":"waiting","start_time":"2026-12-01T15:30:00Z",
          "duration":30,"timezone":"Europe/Paris","created_at":"2026-11-29T02:00:00Z",
          "start_url":"https://us05web.zoom.us/s/85393847045?zak=ZCANARY_ZAK","join_url":"https://us05web.zoom.us/j/85393847045?pwd=abc.1",
          "password":"ZLPA2y","h323_password":"123","pre_schedule":false,"settings":{"waiting_room":true,"audio":"both"},
          "creation_source":"open_api","dynamic_host_key":"1"}"#;
        let m: Meeting = serde_json::from_str(body).unwrap();
        assert_eq!(m.id, 85_393_847_045);
        assert_eq!(m.meeting_type, Some(MeetingType::Scheduled));
        assert_eq!(
            m.start_time,
            Some(Utc.with_ymd_and_hms(2026, 12, 1, 15, 30, 0).unwrap())
        );
        assert_eq!(
            m.settings.as_ref().and_then(|s| s.extra.get("audio")),
            Some(&serde_json::json!("both"))
        );
        assert!(
            m.start_url
                .as_ref()
                .unwrap()
                .expose_secret()
                .contains("zak=")
        );
        assert!(!format!("{m:?}").contains("ZCANARY"));
    }

    #[test]
    fn list_page_tolerates_missing_fields_and_string_ids() {
        let body = r#"{"page_size":30,"total_records":2,"next_page_token":"",
          "meetings":[{"id":1,"topic":"a","start_time":""},{"id":"99999999999","type":8}]}"#;
        let p: MeetingPage = serde_json::from_str(body).unwrap();
        assert_eq!(p.meetings.len(), 2);
        assert_eq!(p.meetings[0].start_time, None);
        assert_eq!(p.meetings[1].id, 99_999_999_999);
        assert_eq!(
            p.meetings[1].meeting_type,
            Some(MeetingType::RecurringFixedTime)
        );
    }
}
