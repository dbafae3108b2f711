//! What a Zoom Marketplace review asks for: public documentation, privacy, terms and support
//! pages (replaceable by the operator's own Markdown), the domain verification file, the
//! submission manifest and the readiness check (`rapport doctor`).

pub mod doctor;
pub mod manifest;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::app::AppState;
use crate::web::{AppError, AppResult, Layout, Nav};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/docs/zoom", get(zoom_docs))
        .route("/privacy", get(privacy))
        .route("/terms", get(terms))
        .route("/support", get(support))
        .route("/verifyzoom.html", get(verify_zoom))
}

/// The public pages and the Markdown file that replaces each.
pub const PAGES: [(&str, &str); 4] = [
    ("/docs/zoom", "zoom.md"),
    ("/privacy", "privacy.md"),
    ("/terms", "terms.md"),
    ("/support", "support.md"),
];

#[derive(Template, WebTemplate)]
#[template(path = "public/markdown.html")]
struct MarkdownPage {
    layout: Layout,
    /// Rendered from the operator's own file, with raw HTML removed.
    html: String,
}

/// The operator's replacement for a page, rendered, if there is one.
fn custom_page(state: &AppState, file: &str) -> Option<String> {
    let path = state.config.pages_dir.as_ref()?.join(file);
    let text = std::fs::read_to_string(path).ok()?;
    Some(render_markdown(&text))
}

/// Markdown to HTML. Raw HTML in the source is dropped, so a page cannot carry scripts.
pub fn render_markdown(text: &str) -> String {
    use pulldown_cmark::{Event, Options, Parser, html};
    let parser = Parser::new_ext(text, Options::ENABLE_TABLES)
        .filter(|e| !matches!(e, Event::Html(_) | Event::InlineHtml(_)));
    let mut out = String::new();
    html::push_html(&mut out, parser);
    out
}

fn title_of(file: &str) -> &'static str {
    match file {
        "zoom.md" => "Using Zoom with Rapport",
        "privacy.md" => "Privacy policy",
        "terms.md" => "Terms of use",
        _ => "Support",
    }
}

async fn page(
    state: &AppState,
    layout: Layout,
    file: &str,
    builtin: impl IntoResponse,
) -> Response {
    match custom_page(state, file) {
        Some(html) => MarkdownPage {
            layout: layout.page(title_of(file), Nav::None),
            html,
        }
        .into_response(),
        None => builtin.into_response(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "public/zoom_docs.html")]
struct ZoomDocs {
    layout: Layout,
    support_email: Option<String>,
    retention_days: u32,
}

async fn zoom_docs(State(state): State<AppState>, layout: Layout) -> Response {
    let builtin = ZoomDocs {
        layout: layout.clone().page("Using Zoom with Rapport", Nav::None),
        support_email: state.config.support_email.clone(),
        retention_days: state.config.zoom_retention_days,
    };
    page(&state, layout, "zoom.md", builtin).await
}

#[derive(Template, WebTemplate)]
#[template(path = "public/privacy.html")]
struct Privacy {
    layout: Layout,
    operator: String,
    support_email: Option<String>,
    retention_days: u32,
}

async fn privacy(State(state): State<AppState>, layout: Layout) -> Response {
    let builtin = Privacy {
        layout: layout.clone().page("Privacy policy", Nav::None),
        operator: state.config.operator_name.clone(),
        support_email: state.config.support_email.clone(),
        retention_days: state.config.zoom_retention_days,
    };
    page(&state, layout, "privacy.md", builtin).await
}

#[derive(Template, WebTemplate)]
#[template(path = "public/terms.html")]
struct Terms {
    layout: Layout,
    operator: String,
    support_email: Option<String>,
}

async fn terms(State(state): State<AppState>, layout: Layout) -> Response {
    let builtin = Terms {
        layout: layout.clone().page("Terms of use", Nav::None),
        operator: state.config.operator_name.clone(),
        support_email: state.config.support_email.clone(),
    };
    page(&state, layout, "terms.md", builtin).await
}

#[derive(Template, WebTemplate)]
#[template(path = "public/support.html")]
struct Support {
    layout: Layout,
    support_email: Option<String>,
}

async fn support(State(state): State<AppState>, layout: Layout) -> Response {
    let builtin = Support {
        layout: layout.clone().page("Support", Nav::None),
        support_email: state.config.support_email.clone(),
    };
    page(&state, layout, "support.md", builtin).await
}

/// Serves exactly the configured bytes, or 404 when none are configured.
async fn verify_zoom(State(state): State<AppState>) -> AppResult<Response> {
    let bytes = state
        .config
        .zoom_domain_verification
        .clone()
        .ok_or(AppError::NotFound)?;
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], bytes).into_response())
}

#[cfg(test)]
mod tests {
    use super::render_markdown;

    #[test]
    fn markdown_drops_raw_html() {
        let html = render_markdown(
            "# Privacy\n\nWe keep <script>alert(1)</script> **little**.\n\n<iframe src=x></iframe>\n",
        );
        assert!(html.contains("<h1>Privacy</h1>"));
        assert!(html.contains("<strong>little</strong>"));
        assert!(!html.contains("<script") && !html.contains("<iframe"));
    }
}
