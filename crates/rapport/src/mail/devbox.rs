//! The dev mailbox: when no SMTP server is configured, "sent" messages are kept here and shown at
//! `/dev/mailbox`, so a newcomer can click reset and invitation links on a laptop. The routes
//! exist only in that mode; Rapport warns at start that anyone who can reach it can read them.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};

use crate::app::AppState;
use crate::db::Conn;
use crate::mail::{Attachment, OutboxRow};
use crate::web::{AppError, AppResult, Layout, Nav};
use crate::{sql_as, sql_execute};

crate::db_row! {
    #[derive(Debug, Clone)]
    pub struct MailboxRow {
        pub id: i64,
        pub from_address: String,
        pub to_address: String,
        pub subject: String,
        pub text_body: String,
        pub html_body: String,
        pub attachments: String,
        pub received_at: DateTime<Utc>,
    }
}

impl MailboxRow {
    pub fn attachments(&self) -> Vec<Attachment> {
        serde_json::from_str(&self.attachments).unwrap_or_default()
    }
}

pub async fn store(
    conn: &mut Conn<'_>,
    from: &str,
    row: &OutboxRow,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let to = match &row.to_name {
        Some(name) => format!("{name} <{}>", row.to_address),
        None => row.to_address.clone(),
    };
    sql_execute!(
        conn,
        "INSERT INTO dev_mailbox (outbox_id, from_address, to_address, subject, text_body, html_body, attachments, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        row.id,
        from,
        to,
        &row.subject,
        &row.text_body,
        &row.html_body,
        &row.attachments,
        now
    )?;
    Ok(())
}

pub async fn list(conn: &mut Conn<'_>, limit: i64) -> Result<Vec<MailboxRow>, sqlx::Error> {
    sql_as!(
        conn,
        MailboxRow,
        fetch_all,
        "SELECT id, from_address, to_address, subject, text_body, html_body, attachments, received_at FROM dev_mailbox ORDER BY id DESC LIMIT $1",
        limit
    )
}

pub async fn find(conn: &mut Conn<'_>, id: i64) -> Result<Option<MailboxRow>, sqlx::Error> {
    sql_as!(
        conn,
        MailboxRow,
        fetch_optional,
        "SELECT id, from_address, to_address, subject, text_body, html_body, attachments, received_at FROM dev_mailbox WHERE id = $1",
        id
    )
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dev/mailbox", get(list_page))
        .route("/dev/mailbox/{id}", get(message_page))
        .route("/dev/mailbox/{id}/html", get(message_html))
        .route("/dev/mailbox/{id}/attachments/{n}", get(attachment))
}

#[derive(Template, WebTemplate)]
#[template(path = "mail/mailbox.html")]
struct ListPage {
    layout: Layout,
    messages: Vec<MailboxRow>,
}

async fn list_page(State(state): State<AppState>, layout: Layout) -> AppResult<ListPage> {
    let mut pooled = state.db.acquire().await?;
    let messages = list(&mut pooled.conn(), 200).await?;
    Ok(ListPage {
        layout: layout.page("Dev mailbox", Nav::None),
        messages,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "mail/message.html")]
struct MessagePage {
    layout: Layout,
    message: MailboxRow,
    attachments: Vec<Attachment>,
}

fn parse_id(raw: &str) -> AppResult<i64> {
    raw.parse().map_err(|_| AppError::NotFound)
}

async fn load(state: &AppState, id: &str) -> AppResult<MailboxRow> {
    let id = parse_id(id)?;
    let mut pooled = state.db.acquire().await?;
    find(&mut pooled.conn(), id)
        .await?
        .ok_or(AppError::NotFound)
}

async fn message_page(
    State(state): State<AppState>,
    layout: Layout,
    Path(id): Path<String>,
) -> AppResult<MessagePage> {
    let message = load(&state, &id).await?;
    Ok(MessagePage {
        layout: layout.page(message.subject.clone(), Nav::None),
        attachments: message.attachments(),
        message,
    })
}

/// The HTML part, for the preview frame. It gets a sandboxing CSP of its own: an email's HTML is
/// shown as it would look, but nothing in it can run or reach out.
async fn message_html(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let message = load(&state, &id).await?;
    let mut response = (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        message.html_body,
    )
        .into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"),
    );
    response.headers_mut().insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    Ok(response)
}

async fn attachment(
    State(state): State<AppState>,
    Path((id, n)): Path<(String, usize)>,
) -> AppResult<Response> {
    let message = load(&state, &id).await?;
    let attachment = message
        .attachments()
        .into_iter()
        .nth(n)
        .ok_or(AppError::NotFound)?;
    let content_type = HeaderValue::from_str(&attachment.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let filename: String = attachment
        .filename
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || ".-_".contains(*c))
        .collect();
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\""))
        .unwrap_or(HeaderValue::from_static("attachment"));
    let mut response = attachment.bytes().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, content_type);
    response
        .headers_mut()
        .insert(header::CONTENT_DISPOSITION, disposition);
    Ok(response)
}
