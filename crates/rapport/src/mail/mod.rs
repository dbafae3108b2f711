//! Outgoing mail. A message is written to the `outbox` table together with a `send_email` job,
//! in the transaction of the change that causes it; the job delivers it through SMTP (lettre) or,
//! when no SMTP server is configured, into the dev mailbox (`/dev/mailbox`). Delivery is
//! at-least-once: a crash after the SMTP server accepted a message but before the row is marked
//! sent sends it again after restart. That window is the only source of duplicates.

pub mod devbox;
pub mod templates;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use lettre::message::header::ContentType;
use lettre::message::{Attachment as LettreAttachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::config::Config;
use crate::db::Conn;
use crate::jobs::worker::JobError;
use crate::jobs::{self, JobKind};
use crate::{sql_as, sql_execute, sql_scalar};

/// A file attached to a message. `content` is base64 so any bytes survive the JSON column.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    pub content_base64: String,
}

impl Attachment {
    pub fn new(filename: &str, content_type: &str, bytes: &[u8]) -> Attachment {
        Attachment {
            filename: filename.to_owned(),
            content_type: content_type.to_owned(),
            content_base64: STANDARD.encode(bytes),
        }
    }

    pub fn bytes(&self) -> Vec<u8> {
        STANDARD.decode(&self.content_base64).unwrap_or_default()
    }
}

/// A message to queue.
#[derive(Debug, Clone)]
pub struct Email {
    pub to_address: String,
    pub to_name: Option<String>,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub attachments: Vec<Attachment>,
    pub org_id: Option<i64>,
    /// When set, delivery is recorded on this contact's timeline.
    pub contact_id: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SendEmailJob {
    pub outbox_id: i64,
}

/// Queues `email` for delivery. Call inside the transaction of the change that causes it.
pub async fn enqueue(
    conn: &mut Conn<'_>,
    email: &Email,
    now: DateTime<Utc>,
    max_attempts: u32,
) -> Result<i64, sqlx::Error> {
    let attachments =
        serde_json::to_string(&email.attachments).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let outbox_id = sql_scalar!(
        conn,
        i64,
        fetch_one,
        "INSERT INTO outbox (org_id, contact_id, to_address, to_name, subject, text_body, html_body, attachments, state, attempts, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', 0, $9) RETURNING id",
        email.org_id,
        email.contact_id,
        &email.to_address,
        email.to_name.as_deref(),
        &email.subject,
        &email.text_body,
        &email.html_body,
        attachments,
        now
    )?;
    jobs::enqueue(
        conn,
        email.org_id,
        JobKind::SendEmail,
        &SendEmailJob { outbox_id },
        now,
        max_attempts,
    )
    .await?;
    Ok(outbox_id)
}

crate::db_row! {
    #[derive(Debug, Clone)]
    pub struct OutboxRow {
        pub id: i64,
        pub org_id: Option<i64>,
        pub contact_id: Option<i64>,
        pub to_address: String,
        pub to_name: Option<String>,
        pub subject: String,
        pub text_body: String,
        pub html_body: String,
        pub attachments: String,
        pub state: String,
    }
}

impl OutboxRow {
    pub fn attachments(&self) -> Vec<Attachment> {
        serde_json::from_str(&self.attachments).unwrap_or_default()
    }
}

/// Where messages go.
#[derive(Clone)]
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// No SMTP server configured: messages are kept for the dev mailbox page.
    DevMailbox,
}

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("RAPPORT_SMTP_URL: {0}")]
    InvalidUrl(String),
}

impl Transport {
    pub fn from_config(config: &Config) -> Result<Transport, TransportError> {
        match &config.smtp_url {
            None => Ok(Transport::DevMailbox),
            Some(url) => {
                // lettre's own error text may quote the URL (and its password); say only what kind.
                let builder =
                    AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                        .map_err(|_| TransportError::InvalidUrl("not a valid SMTP URL".into()))?;
                // lettre's `pool` feature keeps up to ten connections open for a minute: an
                // invitation no longer pays a connection, EHLO, STARTTLS and AUTH of its own, and
                // a pooled connection is checked with NOOP before it is reused.
                Ok(Transport::Smtp(
                    builder
                        .timeout(Some(std::time::Duration::from_secs(30)))
                        .build(),
                ))
            }
        }
    }

    pub fn is_dev_mailbox(&self) -> bool {
        matches!(self, Transport::DevMailbox)
    }
}

/// Builds the MIME message: text and HTML alternatives, then attachments.
pub fn build_message(from: &Mailbox, row: &OutboxRow) -> Result<Message, String> {
    let address = row
        .to_address
        .parse::<lettre::Address>()
        .map_err(|e| format!("invalid recipient: {e}"))?;
    let to = Mailbox::new(row.to_name.clone(), address);
    let alternative = MultiPart::alternative()
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(row.text_body.clone()),
        )
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(row.html_body.clone()),
        );
    let attachments = row.attachments();
    let body = if attachments.is_empty() {
        alternative
    } else {
        let mut mixed = MultiPart::mixed().multipart(alternative);
        for attachment in attachments {
            let content_type = ContentType::parse(&attachment.content_type)
                .map_err(|e| format!("attachment type: {e}"))?;
            mixed = mixed.singlepart(
                LettreAttachment::new(attachment.filename.clone())
                    .body(attachment.bytes(), content_type),
            );
        }
        mixed
    };
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(row.subject.clone())
        .multipart(body)
        .map_err(|e| format!("could not build message: {e}"))
}

/// Delivers one outbox message (the `send_email` job). Safe to run twice: a sent row is skipped.
pub async fn deliver(state: &AppState, outbox_id: i64) -> Result<(), JobError> {
    // A read of its own (on SQLite, one trip to a reader thread rather than a statement at a
    // time on a lent connection): the message is sent outside any transaction.
    let row = state
        .db
        .read(move |mut conn| {
            Box::pin(async move {
                sql_as!(
                    &mut conn,
                    OutboxRow,
                    fetch_optional,
                    "SELECT id, org_id, contact_id, to_address, to_name, subject, text_body, html_body, attachments, state FROM outbox WHERE id = $1",
                    outbox_id
                )
            })
        })
        .await?;
    let Some(row) = row else {
        // Withdrawn: deleted with its contact or organization. Nothing is left to send.
        tracing::info!(outbox_id, "email withdrawn before it was sent");
        return Ok(());
    };
    if row.state == "sent" {
        return Ok(());
    }
    let now = state.clock.now();
    match &state.transport {
        Transport::DevMailbox => {
            // Storing and marking sent is one transaction, so the dev mailbox never shows a copy twice.
            let from = state.config.mail_from.to_string();
            state
                .db
                .write(move |mut conn| {
                    Box::pin(async move {
                        // Marked first: if another run of this job (one whose lease ran out) got
                        // here first, nothing is stored twice.
                        if mark_sent(&mut conn, &row, now).await? {
                            devbox::store(&mut conn, &from, &row, now).await?;
                        }
                        Ok::<_, sqlx::Error>(())
                    })
                })
                .await?;
        }
        Transport::Smtp(smtp) => {
            let message =
                build_message(&state.config.mail_from, &row).map_err(JobError::Permanent)?;
            if let Err(err) = smtp.send(message).await {
                let mut pooled = state.db.acquire().await?;
                sql_execute!(
                    &mut pooled.conn(),
                    "UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1",
                    row.id,
                    err.to_string()
                )?;
                return Err(if err.is_permanent() {
                    JobError::Permanent(format!("SMTP refused the message: {err}"))
                } else {
                    JobError::Retry(format!("SMTP: {err}"))
                });
            }
            state
                .db
                .write(move |mut conn| {
                    Box::pin(async move { mark_sent(&mut conn, &row, now).await })
                })
                .await?;
        }
    }
    crate::ops::metrics::get().email_sent();
    Ok(())
}

/// Marks the message sent and empties its bodies and attachments: an invitation carries the
/// meeting's join link and passcode, a password reset its link, and nothing reads them again
/// (docs/data-inventory.md). The row stays for the timeline and the counts. False when it was
/// already marked (a second run of the same job): nothing is recorded twice.
async fn mark_sent(
    conn: &mut Conn<'_>,
    row: &OutboxRow,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let marked = sql_execute!(
        conn,
        "UPDATE outbox SET state = 'sent', attempts = attempts + 1, sent_at = $2, last_error = NULL,
             text_body = '', html_body = '', attachments = '[]'
         WHERE id = $1 AND state <> 'sent'",
        row.id,
        now
    )? == 1;
    if !marked {
        return Ok(false);
    }
    if let (Some(org_id), Some(contact_id)) = (row.org_id, row.contact_id) {
        crate::contacts::activity::record(
            conn,
            org_id,
            Some(contact_id),
            None,
            "email_sent",
            &format!("Email sent: {}", row.subject),
            now,
        )
        .await?;
    }
    Ok(true)
}

/// The subjects of a contact's messages that are not sent yet (at most 20, oldest first), for
/// the contact page. Its condition matches the partial index `outbox_unsent_by_contact`
/// (SQLite migration 0009, PostgreSQL 0006), so the page reads the queue, not all mail ever
/// sent.
pub const UNSENT_FOR_CONTACT: &str = "SELECT subject FROM outbox WHERE org_id = $1 AND contact_id = $2 AND state <> 'sent' ORDER BY id LIMIT 20";

pub async fn unsent_for_contact(
    conn: &mut Conn<'_>,
    org_id: i64,
    contact_id: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sql_scalar!(
        conn,
        String,
        fetch_all,
        UNSENT_FOR_CONTACT,
        org_id,
        contact_id
    )
}

/// Counts of outbox messages by state (for tests and the admin page).
pub async fn outbox_counts(conn: &mut Conn<'_>) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sql_as!(
        conn,
        (String, i64),
        fetch_all,
        "SELECT state, COUNT(*) FROM outbox GROUP BY state"
    )
}
