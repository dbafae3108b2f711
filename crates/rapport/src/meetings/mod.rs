//! Meetings with contacts. The Zoom connection that schedules them is not built yet; this page
//! lists what exists and says how meetings will appear.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::routing::get;

use crate::accounts::CurrentUser;
use crate::app::AppState;
use crate::web::{Layout, Nav};

pub fn router() -> Router<AppState> {
    Router::new().route("/meetings", get(page))
}

#[derive(Template, WebTemplate)]
#[template(path = "meetings/list.html")]
struct MeetingsPage {
    layout: Layout,
}

async fn page(layout: Layout, _user: CurrentUser) -> MeetingsPage {
    MeetingsPage {
        layout: layout.page("Meetings", Nav::Meetings),
    }
}
