//! The stylesheet and icons, compiled into the binary so Rapport is one file to deploy.

use axum::extract::Path;
use axum::http::header;
use axum::response::IntoResponse;

use crate::web::AppError;

const STYLE: &str = include_str!("../../static/style.css");
const FAVICON: &str = include_str!("../../static/favicon.svg");

pub async fn style() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLE,
    )
}

pub async fn favicon() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        FAVICON,
    )
}

/// The screenshots on /docs/zoom, taken by the browser tests
/// (`RAPPORT_UPDATE_DOC_SCREENSHOTS=1`, see `tests/it/browser.rs`).
const DOC_IMAGES: [(&str, &[u8]); 5] = [
    (
        "zoom-connect.png",
        include_bytes!("../../static/docs/zoom-connect.png"),
    ),
    (
        "zoom-consent.png",
        include_bytes!("../../static/docs/zoom-consent.png"),
    ),
    (
        "zoom-connected.png",
        include_bytes!("../../static/docs/zoom-connected.png"),
    ),
    (
        "zoom-schedule.png",
        include_bytes!("../../static/docs/zoom-schedule.png"),
    ),
    (
        "zoom-disconnect.png",
        include_bytes!("../../static/docs/zoom-disconnect.png"),
    ),
];

/// `/static/docs/{file}`: public, like the page that shows them.
pub async fn doc_image(Path(file): Path<String>) -> Result<impl IntoResponse, AppError> {
    let (_, bytes) = DOC_IMAGES
        .iter()
        .find(|(name, _)| *name == file)
        .ok_or(AppError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        *bytes,
    ))
}
