//! The schedule/reschedule form: parsing a local date and time in an IANA zone (with daylight
//! saving gaps and overlaps), and the limits Zoom and the user's plan impose.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use crate::domain::{self, FieldErrors};

pub const TOPIC_MAX: usize = 200;
pub const AGENDA_MAX: usize = 2000;
pub const DURATION_MIN: i64 = 5;
pub const DURATION_MAX: i64 = 24 * 60;

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct MeetingForm {
    pub topic: String,
    pub date: String,
    pub time: String,
    pub time_zone: String,
    pub duration: String,
    pub agenda: String,
    /// "on" when checked.
    pub invite: String,
    pub record: String,
    pub idempotency_key: String,
}

/// A validated meeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidMeeting {
    pub topic: String,
    pub agenda: Option<String>,
    pub start_at: DateTime<Utc>,
    pub time_zone: Tz,
    pub duration_minutes: i64,
    pub invite: bool,
    pub record_cloud: bool,
}

/// A local time in a zone, refusing times that do not exist (spring forward) or that happen
/// twice (fall back), with a message that says which.
pub fn local_to_utc(date: NaiveDate, time: NaiveTime, tz: Tz) -> Result<DateTime<Utc>, String> {
    match tz.from_local_datetime(&date.and_time(time)) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        LocalResult::None => Err(format!(
            "{} {} does not exist in {}: the clocks jump forward then (daylight saving). Pick another time.",
            date.format("%b %-d"),
            time.format("%H:%M"),
            tz.name()
        )),
        LocalResult::Ambiguous(a, b) => Err(format!(
            "{} {} happens twice in {} (the clocks go back): it could be {} or {}. Pick a time outside that hour.",
            date.format("%b %-d"),
            time.format("%H:%M"),
            tz.name(),
            a.format("%H:%M %Z"),
            b.format("%H:%M %Z")
        )),
    }
}

impl MeetingForm {
    pub fn checked(value: &str) -> bool {
        matches!(value, "on" | "true" | "1" | "yes")
    }

    pub fn invite_checked(&self) -> bool {
        Self::checked(&self.invite)
    }

    pub fn record_checked(&self) -> bool {
        Self::checked(&self.record)
    }

    pub fn validate(
        &self,
        now: DateTime<Utc>,
        contact_has_email: bool,
        licensed: bool,
    ) -> Result<ValidMeeting, FieldErrors> {
        let mut errors = FieldErrors::new();
        let topic = errors.check(
            "topic",
            domain::required_text(&self.topic, "Topic", TOPIC_MAX),
        );
        let agenda = errors.check(
            "agenda",
            domain::optional_long_text(&self.agenda, "Agenda", AGENDA_MAX),
        );
        let tz = errors.check("time_zone", domain::time_zone(&self.time_zone));
        let date = errors.check(
            "date",
            NaiveDate::parse_from_str(self.date.trim(), "%Y-%m-%d")
                .map_err(|_| "Enter the date as YYYY-MM-DD.".to_owned()),
        );
        let time = errors.check(
            "time",
            NaiveTime::parse_from_str(self.time.trim(), "%H:%M")
                .map_err(|_| "Enter the time as HH:MM (24-hour).".to_owned()),
        );
        let duration = errors.check(
            "duration",
            self.duration
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|d| (DURATION_MIN..=DURATION_MAX).contains(d))
                .ok_or_else(|| {
                    format!("Duration must be between {DURATION_MIN} and {DURATION_MAX} minutes.")
                }),
        );
        let start_at = match (date, time, tz) {
            (Some(d), Some(t), Some(tz)) => match local_to_utc(d, t, tz) {
                Ok(at) if at <= now => {
                    errors.add(
                        "time",
                        "This time is in the past. Pick a time in the future.",
                    );
                    None
                }
                Ok(at) => Some(at),
                Err(message) => {
                    errors.add("time", message);
                    None
                }
            },
            _ => None,
        };
        let invite = Self::checked(&self.invite);
        if invite && !contact_has_email {
            errors.add("invite", "This contact has no email address. Add one to the contact, or turn off the invitation.");
        }
        let record_cloud = Self::checked(&self.record);
        if record_cloud && !licensed {
            errors.add("record", "Cloud recording needs a Licensed Zoom account.");
        }
        match (topic, agenda, tz, start_at, duration) {
            (
                Some(topic),
                Some(agenda),
                Some(time_zone),
                Some(start_at),
                Some(duration_minutes),
            ) if errors.is_empty() => Ok(ValidMeeting {
                topic,
                agenda,
                start_at,
                time_zone,
                duration_minutes,
                invite,
                record_cloud,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(date: &str, time: &str, tz: &str) -> MeetingForm {
        MeetingForm {
            topic: "Intro".into(),
            date: date.into(),
            time: time.into(),
            time_zone: tz.into(),
            duration: "30".into(),
            invite: "on".into(),
            ..MeetingForm::default()
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 10, 12, 0, 0).unwrap()
    }

    #[test]
    fn local_time_becomes_utc() {
        let m = form("2026-03-02", "09:30", "America/New_York")
            .validate(now(), true, false)
            .unwrap();
        assert_eq!(
            m.start_at,
            Utc.with_ymd_and_hms(2026, 3, 2, 14, 30, 0).unwrap()
        );
        let m = form("2026-07-02", "09:30", "America/New_York")
            .validate(now(), true, false)
            .unwrap();
        assert_eq!(
            m.start_at,
            Utc.with_ymd_and_hms(2026, 7, 2, 13, 30, 0).unwrap()
        );
    }

    #[test]
    fn daylight_saving_gaps_and_overlaps_are_refused() {
        // 2026-03-08 02:30 does not exist in New York; 2026-11-01 01:30 happens twice.
        let gap = form("2026-03-08", "02:30", "America/New_York")
            .validate(now(), true, false)
            .unwrap_err();
        assert!(gap.get("time").unwrap().contains("does not exist"));
        let overlap = form("2026-11-01", "01:30", "America/New_York")
            .validate(now(), true, false)
            .unwrap_err();
        assert!(overlap.get("time").unwrap().contains("happens twice"));
    }

    #[test]
    fn limits() {
        let past = form("2026-01-01", "10:00", "UTC")
            .validate(now(), true, false)
            .unwrap_err();
        assert!(past.has("time"));
        let mut f = form("2026-02-01", "10:00", "UTC");
        f.duration = "0".into();
        f.topic = "x".repeat(201);
        f.agenda = "y".repeat(2001);
        f.time_zone = "Nowhere/Land".into();
        let e = f.validate(now(), false, false).unwrap_err();
        assert!(
            e.has("duration")
                && e.has("topic")
                && e.has("agenda")
                && e.has("time_zone")
                && e.has("invite")
        );
        let mut f = form("2026-02-01", "10:00", "UTC");
        f.record = "on".into();
        assert!(f.validate(now(), true, false).unwrap_err().has("record"));
        assert!(f.validate(now(), true, true).is_ok());
    }
}
