//! The emails a contact receives about a meeting, each with an `.ics` calendar file: an
//! invitation and updates (METHOD:REQUEST, the same UID with a higher SEQUENCE each time) and a
//! cancellation (METHOD:CANCEL). Times in the `.ics` are UTC (`…Z`), which every calendar
//! program converts to its own zone; the email states the time in the contact's zone and the host's.

use askama::Template;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use icalendar::{Calendar, Component, Event, EventLike, EventStatus, Property};

use crate::mail::{Attachment, Email};
use crate::meetings::storage::MeetingRow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Invitation,
    Update,
    Cancellation,
}

pub struct Parties<'a> {
    pub host_name: &'a str,
    pub host_email: &'a str,
    pub host_tz: Tz,
    pub contact_name: &'a str,
    pub contact_email: &'a str,
    pub contact_tz: Option<Tz>,
}

#[derive(Template)]
#[template(path = "emails/meeting.txt")]
struct MeetingText<'a> {
    kind: Kind,
    m: &'a MeetingRow,
    p: &'a Parties<'a>,
    when_contact: String,
    when_host: Option<String>,
}

#[derive(Template)]
#[template(path = "emails/meeting.html")]
struct MeetingHtml<'a> {
    kind: Kind,
    m: &'a MeetingRow,
    p: &'a Parties<'a>,
    when_contact: String,
    when_host: Option<String>,
}

pub fn describe_time(start: DateTime<Utc>, minutes: i64, tz: Tz) -> String {
    let local = start.with_timezone(&tz);
    let end = (start + chrono::Duration::minutes(minutes)).with_timezone(&tz);
    format!(
        "{} – {} ({})",
        local.format("%A, %B %-d, %Y, %H:%M"),
        end.format("%H:%M"),
        tz.name()
    )
}

pub fn build(
    kind: Kind,
    m: &MeetingRow,
    p: &Parties<'_>,
    now: DateTime<Utc>,
) -> Result<Email, askama::Error> {
    let contact_tz = p.contact_tz.unwrap_or(p.host_tz);
    let when_contact = describe_time(m.start_at, m.duration_minutes, contact_tz);
    let when_host =
        (contact_tz != p.host_tz).then(|| describe_time(m.start_at, m.duration_minutes, p.host_tz));
    let subject = match kind {
        Kind::Invitation => format!("Invitation: {} with {}", m.topic, p.host_name),
        Kind::Update => format!("Updated: {} with {}", m.topic, p.host_name),
        Kind::Cancellation => format!("Cancelled: {} with {}", m.topic, p.host_name),
    };
    let text = MeetingText {
        kind,
        m,
        p,
        when_contact: when_contact.clone(),
        when_host: when_host.clone(),
    }
    .render()?;
    let html = MeetingHtml {
        kind,
        m,
        p,
        when_contact,
        when_host,
    }
    .render()?;
    let ics = ics(kind, m, p, now);
    let method = if kind == Kind::Cancellation {
        "CANCEL"
    } else {
        "REQUEST"
    };
    Ok(Email {
        to_address: p.contact_email.to_owned(),
        to_name: Some(p.contact_name.to_owned()),
        subject,
        text_body: text,
        html_body: html,
        attachments: vec![Attachment::new(
            "invite.ics",
            &format!("text/calendar; charset=utf-8; method={method}"),
            ics.as_bytes(),
        )],
        org_id: Some(m.org_id),
        contact_id: m.contact_id,
    })
}

/// The calendar file. icalendar escapes and folds the text values.
pub fn ics(kind: Kind, m: &MeetingRow, p: &Parties<'_>, now: DateTime<Utc>) -> String {
    let mut description = String::new();
    if let Some(url) = &m.join_url {
        description.push_str(&format!("Join Zoom meeting: {url}\n"));
    }
    if let Some(code) = &m.passcode {
        description.push_str(&format!("Passcode: {code}\n"));
    }
    description.push_str(&format!("Host: {}\n", p.host_name));
    if let Some(agenda) = &m.agenda {
        description.push_str(&format!("\n{agenda}\n"));
    }
    let mut event = Event::new();
    event
        .uid(&m.ics_uid)
        .sequence(u32::try_from(m.ics_sequence).unwrap_or(0))
        .timestamp(now)
        .summary(&m.topic)
        .description(&description)
        .starts(m.start_at)
        .ends(m.end_at());
    if let Some(url) = &m.join_url {
        event.location(url).url(url);
    }
    event.status(if kind == Kind::Cancellation {
        EventStatus::Cancelled
    } else {
        EventStatus::Confirmed
    });
    let mut organizer = Property::new("ORGANIZER", format!("mailto:{}", p.host_email));
    organizer.add_parameter("CN", p.host_name);
    event.append_property(organizer);
    let mut attendee = Property::new("ATTENDEE", format!("mailto:{}", p.contact_email));
    attendee
        .add_parameter("CN", p.contact_name)
        .add_parameter("ROLE", "REQ-PARTICIPANT")
        .add_parameter("RSVP", "TRUE");
    event.append_multi_property(attendee);
    let mut calendar = Calendar::new();
    calendar.append_property((
        "METHOD",
        if kind == Kind::Cancellation {
            "CANCEL"
        } else {
            "REQUEST"
        },
    ));
    calendar.push(event.done());
    calendar.done().to_string()
}
