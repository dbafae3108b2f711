//! Contact pages: list and search, create, view with timeline, edit, delete, CSV import/export.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono_tz::Tz;
use serde::Deserialize;

use crate::accounts::CurrentUser;
use crate::app::AppState;
use crate::contacts::ContactForm;
use crate::contacts::activity::{self, ActivityRow};
use crate::contacts::csv::{self as contacts_csv, RejectedRow};
use crate::contacts::storage::{self, ContactData, ContactRow, Cursor};
use crate::domain::{self, FieldErrors};
use crate::web::csrf::{CsrfToken, token_matches};
use crate::web::flash::{self, FlashKind};
use crate::web::{AppError, AppResult, Form, Layout, Nav};

pub const PAGE_SIZE: i64 = 50;
const IMPORT_MAX_BYTES: usize = 10 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/contacts", get(list).post(create))
        .route("/contacts/new", get(new_page))
        .route("/contacts/export.csv", get(export))
        .route(
            "/contacts/import",
            get(import_page)
                .post(import)
                .layer(DefaultBodyLimit::max(IMPORT_MAX_BYTES + 64 * 1024)),
        )
        .route("/contacts/{id}", get(show).post(update))
        .route("/contacts/{id}/edit", get(edit_page))
        .route("/contacts/{id}/delete", get(delete_page).post(delete))
}

/// Ids in URLs are parsed by hand so that a malformed one is a plain 404, like a missing one.
fn parse_id(raw: &str) -> AppResult<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(AppError::NotFound)
}

fn encode_cursor(c: &storage::ContactListItem) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}\u{1f}{}", c.id, c.sort_key))
}

fn decode_cursor(raw: &str) -> Option<Cursor> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (id, sort_key) = text.split_once('\u{1f}')?;
    Some(Cursor {
        sort_key: sort_key.to_owned(),
        id: id.parse().ok()?,
    })
}

// ---- list ----

#[derive(Debug, Deserialize)]
struct ListQuery {
    q: Option<String>,
    after: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "contacts/list.html")]
struct ListPage {
    layout: Layout,
    contacts: Vec<storage::ContactListItem>,
    q: String,
    next_cursor: Option<String>,
    is_first_page: bool,
    total: i64,
}

impl ListPage {
    fn next_href(&self) -> String {
        let mut href = String::from("/contacts?");
        if !self.q.is_empty() {
            href.push_str("q=");
            href.push_str(
                &percent_encoding::utf8_percent_encode(&self.q, percent_encoding::NON_ALPHANUMERIC)
                    .to_string(),
            );
            href.push('&');
        }
        href.push_str("after=");
        href.push_str(self.next_cursor.as_deref().unwrap_or(""));
        href
    }

    fn first_href(&self) -> String {
        if self.q.is_empty() {
            "/contacts".into()
        } else {
            format!(
                "/contacts?q={}",
                percent_encoding::utf8_percent_encode(&self.q, percent_encoding::NON_ALPHANUMERIC)
            )
        }
    }
}

async fn list(
    State(state): State<AppState>,
    layout: Layout,
    user: CurrentUser,
    Query(query): Query<ListQuery>,
) -> AppResult<ListPage> {
    let q: String = query
        .q
        .unwrap_or_default()
        .trim()
        .chars()
        .take(100)
        .collect();
    let after = query.after.as_deref().and_then(decode_cursor);
    let org_id = user.org_id;
    let term = q.clone();
    let cursor = after.clone();
    let (total, mut contacts) = state
        .db
        .read(move |mut conn| {
            Box::pin(async move {
                let term = (!term.is_empty()).then_some(term.as_str());
                storage::count_and_list(&mut conn, org_id, term, cursor.as_ref(), PAGE_SIZE + 1)
                    .await
            })
        })
        .await?;
    let next_cursor = if contacts.len() as i64 > PAGE_SIZE {
        contacts.truncate(PAGE_SIZE as usize);
        contacts.last().map(encode_cursor)
    } else {
        None
    };
    Ok(ListPage {
        layout: layout.page("Contacts", Nav::Contacts),
        contacts,
        q,
        next_cursor,
        is_first_page: after.is_none(),
        total,
    })
}

// ---- create / edit ----

#[derive(Template, WebTemplate)]
#[template(path = "contacts/form.html")]
struct FormPage {
    layout: Layout,
    form: ContactForm,
    errors: FieldErrors,
    /// None when creating.
    contact_id: Option<i64>,
    time_zones: &'static [&'static str],
}

impl FormPage {
    fn action(&self) -> String {
        match self.contact_id {
            Some(id) => format!("/contacts/{id}"),
            None => "/contacts".into(),
        }
    }

    fn cancel_href(&self) -> String {
        match self.contact_id {
            Some(id) => format!("/contacts/{id}"),
            None => "/contacts".into(),
        }
    }
}

async fn new_page(layout: Layout, _user: CurrentUser) -> FormPage {
    FormPage {
        layout: layout.page("New contact", Nav::Contacts),
        form: ContactForm::default(),
        errors: FieldErrors::new(),
        contact_id: None,
        time_zones: domain::time_zone_names(),
    }
}

async fn create(
    State(state): State<AppState>,
    layout: Layout,
    user: CurrentUser,
    Form(form): Form<ContactForm>,
) -> AppResult<Response> {
    let data = match form.validate() {
        Ok(data) => data,
        Err(errors) => {
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                FormPage {
                    layout: layout.page("New contact", Nav::Contacts),
                    form,
                    errors,
                    contact_id: None,
                    time_zones: domain::time_zone_names(),
                },
            )
                .into_response());
        }
    };
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let id = storage::insert(&mut tx.conn(), user.org_id, Some(user.user_id), &data, now).await?;
    activity::record(
        &mut tx.conn(),
        user.org_id,
        Some(id),
        Some(user.user_id),
        "contact_created",
        &format!("{} added this contact", user.name),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(flash::redirect(
        &state.config,
        &format!("/contacts/{id}"),
        FlashKind::Success,
        format!("{} was added.", data.name),
    ))
}

async fn edit_page(
    State(state): State<AppState>,
    layout: Layout,
    user: CurrentUser,
    Path(id): Path<String>,
) -> AppResult<FormPage> {
    let id = parse_id(&id)?;
    let mut pooled = state.db.acquire().await?;
    let contact = storage::get(&mut pooled.conn(), user.org_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(FormPage {
        layout: layout.page(format!("Edit {}", contact.name), Nav::Contacts),
        form: ContactForm::from_row(&contact),
        errors: FieldErrors::new(),
        contact_id: Some(id),
        time_zones: domain::time_zone_names(),
    })
}

async fn update(
    State(state): State<AppState>,
    layout: Layout,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<ContactForm>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let data = match form.validate() {
        Ok(data) => data,
        Err(errors) => {
            // Still a 404 for someone else's contact, even with a bad form.
            let mut pooled = state.db.acquire().await?;
            storage::get(&mut pooled.conn(), user.org_id, id)
                .await?
                .ok_or(AppError::NotFound)?;
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                FormPage {
                    layout: layout.page("Edit contact", Nav::Contacts),
                    form,
                    errors,
                    contact_id: Some(id),
                    time_zones: domain::time_zone_names(),
                },
            )
                .into_response());
        }
    };
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let before = storage::get(&mut tx.conn(), user.org_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    storage::update(&mut tx.conn(), user.org_id, id, &data, now).await?;
    let changed = changed_fields(&ContactForm::from_row(&before), &data);
    if !changed.is_empty() {
        activity::record(
            &mut tx.conn(),
            user.org_id,
            Some(id),
            Some(user.user_id),
            "contact_edited",
            &format!("{} edited {}", user.name, changed.join(", ")),
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(flash::redirect(
        &state.config,
        &format!("/contacts/{id}"),
        FlashKind::Success,
        "Changes saved.",
    ))
}

fn changed_fields(before: &ContactForm, after: &storage::ContactData) -> Vec<&'static str> {
    let pairs: [(&'static str, &str, Option<&str>); 7] = [
        ("name", &before.name, Some(after.name.as_str())),
        ("email", &before.email, after.email.as_deref()),
        ("phone", &before.phone, after.phone.as_deref()),
        ("company", &before.company, after.company.as_deref()),
        ("job title", &before.job_title, after.job_title.as_deref()),
        ("time zone", &before.time_zone, after.time_zone.as_deref()),
        ("notes", &before.notes, after.notes.as_deref()),
    ];
    pairs
        .into_iter()
        .filter(|(_, b, a)| *b != a.unwrap_or(""))
        .map(|(n, _, _)| n)
        .collect()
}

// ---- show ----

#[derive(Template, WebTemplate)]
#[template(path = "contacts/show.html")]
struct ShowPage {
    layout: Layout,
    contact: ContactRow,
    timeline: Vec<ActivityRow>,
    viewer_tz: Tz,
    meetings: Vec<crate::meetings::storage::MeetingRow>,
    zoom_enabled: bool,
    zoom_connected: bool,
    viewer_id: i64,
    /// Subjects of emails to this contact that the mail server has not accepted yet.
    waiting_emails: Vec<String>,
    now: chrono::DateTime<chrono::Utc>,
}

impl ShowPage {
    fn can_start(&self, m: &crate::meetings::storage::MeetingRow) -> bool {
        m.can_start(self.now)
    }

    fn can_reschedule(&self, m: &crate::meetings::storage::MeetingRow) -> bool {
        m.can_reschedule(self.now)
    }

    fn label(&self, m: &crate::meetings::storage::MeetingRow) -> &'static str {
        m.label_at(self.now)
    }

    fn when(&self, a: &ActivityRow) -> String {
        a.created_at
            .with_timezone(&self.viewer_tz)
            .format("%b %-d, %Y at %H:%M")
            .to_string()
    }

    fn meeting_when(&self, m: &crate::meetings::storage::MeetingRow) -> String {
        m.start_at
            .with_timezone(&self.viewer_tz)
            .format("%a %b %-d, %Y · %H:%M")
            .to_string()
    }

    fn local_time(&self) -> Option<String> {
        let tz: Tz = self.contact.time_zone.as_deref()?.parse().ok()?;
        Some(
            chrono::Utc::now()
                .with_timezone(&tz)
                .format("%H:%M")
                .to_string(),
        )
    }
}

/// What the contact page reads, in one read.
struct ContactReads {
    contact: ContactRow,
    timeline: Vec<activity::ActivityRow>,
    zoom_enabled: bool,
    meetings: Vec<crate::meetings::storage::MeetingRow>,
    zoom_connected: bool,
    waiting_emails: Vec<String>,
}

async fn show(
    State(state): State<AppState>,
    layout: Layout,
    user: CurrentUser,
    Path(id): Path<String>,
) -> AppResult<ShowPage> {
    let id = parse_id(&id)?;
    let (org_id, user_id) = (user.org_id, user.user_id);
    let read = state
        .db
        .read(move |mut conn| {
            Box::pin(async move {
                let Some(contact) = storage::get(&mut conn, org_id, id).await? else {
                    return Ok(None);
                };
                let timeline = activity::for_contact(&mut conn, org_id, id, 100).await?;
                let zoom_enabled =
                    crate::flags::is_enabled(&mut conn, crate::flags::ZOOM, org_id, user_id)
                        .await?;
                let (meetings, zoom_connected) = if zoom_enabled {
                    let meetings =
                        crate::meetings::storage::for_contact(&mut conn, org_id, id).await?;
                    let connected = crate::zoom::storage::for_user(&mut conn, user_id)
                        .await?
                        .is_some_and(|c| c.is_active());
                    (meetings, connected)
                } else {
                    (Vec::new(), false)
                };
                // An invitation written while SMTP is down stays queued; say so instead of
                // letting the user believe the contact already has it.
                let waiting_emails = crate::mail::unsent_for_contact(&mut conn, org_id, id).await?;
                Ok(Some(ContactReads {
                    contact,
                    timeline,
                    zoom_enabled,
                    meetings,
                    zoom_connected,
                    waiting_emails,
                }))
            })
        })
        .await?;
    let ContactReads {
        contact,
        timeline,
        zoom_enabled,
        mut meetings,
        zoom_connected,
        waiting_emails,
    } = read.ok_or(AppError::NotFound)?;
    // Upcoming first (soonest at the top), then past meetings, most recent first.
    let now = state.clock.now();
    meetings.sort_by_key(|m| {
        if m.end_at() >= now {
            (0, m.start_at.timestamp())
        } else {
            (1, -m.start_at.timestamp())
        }
    });
    Ok(ShowPage {
        layout: layout.page(contact.name.clone(), Nav::Contacts),
        contact,
        timeline,
        waiting_emails,
        now: state.clock.now(),
        viewer_tz: user.tz(),
        meetings,
        zoom_enabled,
        zoom_connected,
        viewer_id: user.user_id,
    })
}

// ---- delete ----

#[derive(Template, WebTemplate)]
#[template(path = "contacts/delete.html")]
struct DeletePage {
    layout: Layout,
    contact: ContactRow,
}

async fn delete_page(
    State(state): State<AppState>,
    layout: Layout,
    user: CurrentUser,
    Path(id): Path<String>,
) -> AppResult<DeletePage> {
    let id = parse_id(&id)?;
    let mut pooled = state.db.acquire().await?;
    let contact = storage::get(&mut pooled.conn(), user.org_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(DeletePage {
        layout: layout.page(format!("Delete {}", contact.name), Nav::Contacts),
        contact,
    })
}

#[derive(Debug, Default, Deserialize)]
struct DeleteForm {}

async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(_): Form<DeleteForm>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let mut tx = state.db.begin().await?;
    let contact = storage::get(&mut tx.conn(), user.org_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    storage::delete(&mut tx.conn(), user.org_id, id).await?;
    tx.commit().await?;
    tracing::info!(user_id = user.user_id, contact_id = id, "contact deleted");
    Ok(flash::redirect(
        &state.config,
        "/contacts",
        FlashKind::Success,
        format!("{} was deleted.", contact.name),
    ))
}

// ---- import / export ----

#[derive(Template, WebTemplate)]
#[template(path = "contacts/import.html")]
struct ImportPage {
    layout: Layout,
    error: Option<String>,
    imported: Option<usize>,
    rejected: Vec<RejectedRow>,
    columns: &'static [&'static str],
}

async fn import_page(layout: Layout, _user: CurrentUser) -> ImportPage {
    ImportPage {
        layout: layout.page("Import contacts", Nav::Contacts),
        error: None,
        imported: None,
        rejected: Vec::new(),
        columns: &contacts_csv::COLUMNS,
    }
}

async fn import(
    State(state): State<AppState>,
    layout: Layout,
    user: CurrentUser,
    axum::Extension(csrf): axum::Extension<CsrfToken>,
    mut multipart: Multipart,
) -> AppResult<Response> {
    let layout = layout.page("Import contacts", Nav::Contacts);
    let fail = |layout: Layout, message: String| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            ImportPage {
                layout,
                error: Some(message),
                imported: None,
                rejected: Vec::new(),
                columns: &contacts_csv::COLUMNS,
            },
        )
            .into_response()
    };
    let mut token = None;
    let mut file: Option<Vec<u8>> = None;
    while let Some(field) = multipart.next_field().await.map_err(|_| {
        AppError::BadRequest(
            "The upload could not be read. The file may be larger than 10 MB.".into(),
        )
    })? {
        match field.name() {
            Some("csrf_token") => token = field.text().await.ok(),
            Some("file") => {
                let bytes = field.bytes().await.map_err(|_| {
                    AppError::BadRequest(
                        "The upload could not be read. The file may be larger than 10 MB.".into(),
                    )
                })?;
                file = Some(bytes.to_vec());
            }
            _ => {}
        }
    }
    if !token.as_deref().is_some_and(|t| token_matches(&csrf.0, t)) {
        return Err(AppError::Csrf);
    }
    let Some(bytes) = file.filter(|b| !b.is_empty()) else {
        return Ok(fail(layout, "Choose a CSV file to import.".into()));
    };
    let parsed = match contacts_csv::parse(&bytes) {
        Ok(parsed) => parsed,
        Err(e) => return Ok(fail(layout, e.to_string())),
    };
    let now = state.clock.now();
    let imported = parsed.valid.len();
    let mut valid: Vec<ContactData> = parsed.valid.into_iter().map(|(_, data)| data).collect();
    storage::sort_for_bulk_insert(&mut valid);
    let (org_id, user_id) = (user.org_id, user.user_id);
    let summary = format!("{} imported this contact from CSV", user.name);
    // One write transaction for the whole file: on SQLite it runs on the writer thread in one
    // hand-off instead of two per hundred rows and one per returned id (`Db::write`).
    state
        .db
        .write(move |mut conn| {
            Box::pin(async move {
                let valid: Vec<&ContactData> = valid.iter().collect();
                let ids =
                    storage::insert_many(&mut conn, org_id, Some(user_id), &valid, now).await?;
                activity::record_many(
                    &mut conn,
                    org_id,
                    &ids,
                    Some(user_id),
                    "contact_created",
                    &summary,
                    now,
                )
                .await
            })
        })
        .await?;
    let status = if parsed.rejected.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((
        status,
        ImportPage {
            layout,
            error: None,
            imported: Some(imported),
            rejected: parsed.rejected,
            columns: &contacts_csv::COLUMNS,
        },
    )
        .into_response())
}

/// Streams every contact of the organization as CSV, a page at a time, so exporting 100,000
/// contacts does not hold them all in memory.
async fn export(State(state): State<AppState>, user: CurrentUser) -> AppResult<Response> {
    let org_id = user.org_id;
    let db = state.db.clone();
    let stream = async_stream_pages(db, org_id);
    let filename = format!(
        "rapport-contacts-{}.csv",
        state.clock.now().format("%Y-%m-%d")
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

fn async_stream_pages(
    db: crate::db::Db,
    org_id: i64,
) -> impl futures::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures::stream::unfold(
        (db, Some(None::<Cursor>), true),
        move |(db, cursor, first)| async move {
            let after = cursor?;
            let page = db
                .read(move |mut conn| {
                    Box::pin(async move {
                        storage::export_page(&mut conn, org_id, after.as_ref(), 1000).await
                    })
                })
                .await;
            let rows = match page {
                Ok(rows) => rows,
                Err(e) => return Some((Err(std::io::Error::other(e)), (db, None, false))),
            };
            let mut writer = ::csv::Writer::from_writer(Vec::new());
            if first {
                let _ = writer.write_record(contacts_csv::COLUMNS);
            }
            for row in &rows {
                if let Err(e) = contacts_csv::write_row(&mut writer, row) {
                    return Some((Err(std::io::Error::other(e)), (db, None, false)));
                }
            }
            let next = if rows.len() == 1000 {
                rows.last().map(|c| {
                    Some(Cursor {
                        sort_key: c.sort_key.clone(),
                        id: c.id,
                    })
                })
            } else {
                None
            };
            let bytes = writer.into_inner().unwrap_or_default();
            if bytes.is_empty() && !first {
                return None;
            }
            Some((Ok(bytes), (db, next, false)))
        },
    )
}
