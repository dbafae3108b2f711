//! Builds the shared state and the router, binds the listener, and runs the server and the job
//! worker until shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::accounts::CurrentUser;
use crate::clock::Clock;
use crate::config::Config;
use crate::db::Db;
use crate::mail::Transport;
use crate::web::AppError;

/// Everything a handler or job needs. Cheap to clone: one reference count. Axum clones the
/// state for every extractor and middleware of every request; cloned field by field (the SMTP
/// transport's strings, the webhook intake's sender) that was 14% of `/healthz`'s CPU.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] shares.
pub struct Shared {
    pub config: Arc<Config>,
    pub db: Db,
    pub clock: Clock,
    pub transport: Transport,
    /// Wakes this process's job worker when a job is queued here.
    pub jobs_notify: Arc<Notify>,
    pub zoom: Arc<crate::zoom::Zoom>,
    /// Stores verified Zoom webhooks in batches (group commit).
    pub webhook_intake: crate::zoom::intake::WebhookIntake,
    /// The Content-Security-Policy of every page (names Zoom's OAuth origin for the Connect form).
    pub csp: Arc<str>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database: {0}")]
    Database(#[from] crate::db::DbError),
    #[error(transparent)]
    Transport(#[from] crate::mail::TransportError),
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("Zoom: {0}")]
    Zoom(#[from] crate::zoom::ZoomSetupError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

impl AppState {
    /// Connects to the database and applies migrations, for a server (starts the embedded Zoom
    /// simulator when no Zoom credentials are configured).
    pub async fn new(config: Config, clock: Clock) -> Result<AppState, StartError> {
        AppState::build(config, clock, true).await
    }

    /// The same for a one-shot command: does not start the Zoom simulator.
    pub async fn for_command(config: Config, clock: Clock) -> Result<AppState, StartError> {
        AppState::build(config, clock, false).await
    }

    async fn build(
        config: Config,
        clock: Clock,
        run_simulator: bool,
    ) -> Result<AppState, StartError> {
        if config.database_url.starts_with("sqlite:") {
            std::fs::create_dir_all(&config.data_dir).map_err(|source| StartError::DataDir {
                path: config.data_dir.display().to_string(),
                source,
            })?;
        }
        let db = Db::connect(&config.database_url, config.db_max_connections).await?;
        db.migrate().await?;
        let transport = Transport::from_config(&config)?;
        let zoom = crate::zoom::Zoom::start(&config, &clock, run_simulator).await?;
        let csp = crate::web::headers::content_security_policy(&zoom.oauth_origin());
        let jobs_notify = Arc::new(Notify::new());
        let webhook_intake =
            crate::zoom::intake::WebhookIntake::start(db.clone(), jobs_notify.clone());
        Ok(AppState(Arc::new(Shared {
            webhook_intake,
            zoom: Arc::new(zoom),
            csp: csp.into(),
            config: Arc::new(config),
            db,
            clock,
            transport,
            jobs_notify,
        })))
    }
}

pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let mut app = Router::new()
        .route("/", get(home))
        .route("/static/style.css", get(crate::web::assets::style))
        .route("/static/favicon.svg", get(crate::web::assets::favicon))
        .route("/static/docs/{file}", get(crate::web::assets::doc_image))
        .merge(crate::accounts::routes::router())
        .merge(crate::contacts::routes::router())
        .merge(crate::zoom::routes::router())
        .merge(crate::marketplace::router())
        .merge(crate::meetings::router())
        .merge(crate::jobs::admin::router())
        .merge(crate::ops::router());
    if state.transport.is_dev_mailbox() {
        app = app.merge(crate::mail::devbox::router());
    }
    app.fallback(not_found)
        .layer(middleware::from_fn(crate::ops::track))
        .layer(middleware::from_fn_with_state(state.clone(), crate::accounts::session::load))
        .layer(middleware::from_fn_with_state(state.clone(), crate::web::flash::layer))
        .layer(middleware::from_fn_with_state(state.clone(), crate::web::csrf::ensure_token))
        // Inside the headers layer, so its 403 carries the security headers too.
        .layer(tower_http::csrf::CsrfLayer::new())
        .layer(middleware::from_fn_with_state(state.clone(), crate::web::headers::layer))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_secs(30)))
        .layer(CatchPanicLayer::custom(|_| AppError::Internal("a request handler panicked".into()).into_response()))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let id = request
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            // The path only: query strings may carry search terms about people.
            tracing::info_span!("request", method = %request.method(), path = %loggable_path(request.uri().path()), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

/// Routes whose last path segment is a secret (a one-time password link's token).
const SECRET_PATH_PREFIXES: [&str; 2] = ["/reset-password/", "/set-password/"];

/// The request path as logs may show it: a password link's token is replaced, so that the
/// lines logged while serving it (warnings, errors) never carry a usable link.
fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    match SECRET_PATH_PREFIXES
        .iter()
        .find(|prefix| path.starts_with(**prefix) && path.len() > prefix.len())
    {
        Some(prefix) => format!("{prefix}[token]").into(),
        None => path.into(),
    }
}

async fn home(user: Option<CurrentUser>) -> Redirect {
    if user.is_some() {
        Redirect::to("/contacts")
    } else {
        Redirect::to("/sign-in")
    }
}

async fn not_found() -> Response {
    AppError::NotFound.into_response()
}

/// A bound, ready-to-run Rapport.
pub struct Application {
    state: AppState,
    listener: TcpListener,
}

impl Application {
    pub async fn build(mut config: Config, clock: Clock) -> Result<Application, StartError> {
        let addr = config.addr;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        // With port 0 the OS picks the port: links in emails must carry the one actually bound.
        if !config.public_url_explicit
            && let Ok(bound) = listener.local_addr()
        {
            let _ = config.public_url.set_port(Some(bound.port()));
        }
        let state = AppState::new(config, clock).await?;
        Ok(Application { state, listener })
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` turns true, with the job worker alongside.
    pub async fn run(self, shutdown: watch::Receiver<bool>) -> std::io::Result<()> {
        let worker = tokio::spawn(crate::jobs::worker::run(
            self.state.clone(),
            shutdown.clone(),
        ));
        let app = router(self.state.clone());
        let mut stop = shutdown.clone();
        let served = axum::serve(
            crate::web::listener::with_nodelay(self.listener),
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            while !*stop.borrow() {
                if stop.changed().await.is_err() {
                    break;
                }
            }
        })
        .await;
        let _ = worker.await;
        served
    }
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn a_password_links_token_never_reaches_the_request_log() {
        assert_eq!(
            loggable_path("/reset-password/Zq8mKjT3x7"),
            "/reset-password/[token]"
        );
        assert_eq!(
            loggable_path("/set-password/Zq8mKjT3x7/"),
            "/set-password/[token]"
        );
        assert_eq!(loggable_path("/contacts/42"), "/contacts/42");
        assert_eq!(loggable_path("/reset-password/"), "/reset-password/");
    }
}
