//! The router, a connection loop that can abort connections (for the `drop` fault),
//! and the builder/handle used by tests and by Rapport to embed the simulator.

use crate::config::{AppConfig, RateLimitConfig, SimConfig};
use crate::faults::AbortConnection;
use crate::state::{SimError, SimState};
use crate::{api, control, faults, oauth, pages};
use axum::Router;
use axum::routing::{any, get, post};
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt;

/// Every route of the simulator on one base URL: `/oauth/*`, `/v2/*`, `/account`,
/// `/j/{id}`, `/s/{id}` and the control API under `/_sim/`.
pub fn router(state: SimState) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route(
            "/oauth/authorize",
            get(pages::authorize_page).post(pages::authorize_submit),
        )
        .route("/oauth/signin", post(pages::signin))
        .route("/oauth/signout", post(pages::signout))
        .route("/oauth/token", post(oauth::token))
        .route("/oauth/revoke", post(oauth::revoke))
        .route("/oauth/data/compliance", post(pages::data_compliance))
        .route("/v2/users/{user_id}", get(api::get_user))
        .route(
            "/v2/users/{user_id}/meetings",
            get(api::list_meetings).post(api::create_meeting),
        )
        .route(
            "/v2/meetings/{id}",
            get(api::get_meeting)
                .patch(api::update_meeting)
                .delete(api::delete_meeting),
        )
        .route("/v2/{*rest}", any(api::not_found))
        .route("/account", get(pages::account))
        .route("/account/meetings/{id}/update", post(pages::account_update))
        .route("/account/meetings/{id}/delete", post(pages::account_delete))
        .route("/account/meetings/{id}/start", post(pages::account_start))
        .route("/account/meetings/{id}/end", post(pages::account_end))
        .route(
            "/account/apps/{client_id}/remove",
            post(pages::account_remove_app),
        )
        .route("/j/{id}", get(pages::join))
        .route("/s/{id}", get(pages::start))
        .nest("/_sim", control::router())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            faults::middleware,
        ))
        .with_state(state)
}

#[derive(Debug)]
struct Aborted;

impl std::fmt::Display for Aborted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for Aborted {}

/// Serves the simulator on `listener` until `shutdown` completes. Unlike a plain
/// `axum::serve`, this loop can drop a connection after the request was processed.
pub async fn serve(listener: TcpListener, state: SimState, shutdown: impl Future<Output = ()>) {
    state.shared.can_abort.store(true, Ordering::SeqCst);
    let app = router(state.clone());
    let mut conns = JoinSet::new();
    // Webhook retries and meeting time limits fall due as the (possibly real-time) clock runs.
    let ticker_state = state.clone();
    conns.spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(500));
        loop {
            tick.tick().await;
            ticker_state.tick();
        }
    });
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let app = app.clone();
                conns.spawn(async move {
                    let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let app = app.clone();
                        async move {
                            let resp = match app.oneshot(req).await {
                                Ok(r) => r,
                                Err(never) => match never {},
                            };
                            if resp.extensions().get::<AbortConnection>().is_some() {
                                Err(Aborted)
                            } else {
                                Ok(resp)
                            }
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
                while conns.try_join_next().is_some() {}
            }
        }
    }
    conns.abort_all();
}

/// Entry point: `ZoomSim::builder().app(..).start("127.0.0.1:0").await`.
#[derive(Debug)]
pub struct ZoomSim;

impl ZoomSim {
    pub fn builder() -> SimBuilder {
        SimBuilder::default()
    }
}

#[derive(Debug, Default, Clone)]
pub struct SimBuilder {
    pub apps: Vec<AppConfig>,
    pub config: SimConfig,
    pub state_file: Option<PathBuf>,
    /// Base URL clients see; default `http://{bound address}`.
    pub public_url: Option<String>,
    pub freeze_clock: bool,
}

impl SimBuilder {
    pub fn app(mut self, app: AppConfig) -> Self {
        self.apps.push(app);
        self
    }
    pub fn config(mut self, config: SimConfig) -> Self {
        self.config = config;
        self
    }
    pub fn rate_limits(mut self, limits: RateLimitConfig) -> Self {
        self.config.rate_limits = limits;
        self
    }
    pub fn state_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.state_file = Some(path.into());
        self
    }
    pub fn public_url(mut self, url: impl Into<String>) -> Self {
        self.public_url = Some(url.into());
        self
    }
    /// Time moves only through `advance_clock` (deterministic rate-limit windows).
    pub fn freeze_clock(mut self) -> Self {
        self.freeze_clock = true;
        self
    }

    /// The state alone, for embedding with `router` / `serve` (call `set_base_url`).
    pub fn build(self) -> Result<SimState, SimError> {
        let state = match &self.state_file {
            Some(p) => SimState::with_state_file(self.config, self.apps, p)?,
            None => SimState::new(self.config, self.apps),
        };
        if self.freeze_clock {
            state.clock().freeze();
        }
        if let Some(u) = self.public_url {
            state.set_base_url(u);
        }
        Ok(state)
    }

    /// Binds `addr` (port 0 for a random port) and serves in a background task.
    pub async fn start(self, addr: impl tokio::net::ToSocketAddrs) -> Result<SimHandle, SimError> {
        let has_public = self.public_url.is_some();
        let state = self.build()?;
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        if !has_public {
            state.set_base_url(format!("http://{addr}"));
        }
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, state.clone(), async {
            let _ = rx.await;
        }));
        Ok(SimHandle {
            state,
            addr,
            shutdown: Some(tx),
            task: Some(task),
        })
    }
}

/// A running simulator. Derefs to [`SimState`], so every state method (clock, faults,
/// logs, users, grants, meetings, webhooks) is available on the handle.
#[derive(Debug)]
pub struct SimHandle {
    state: SimState,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::ops::Deref for SimHandle {
    type Target = SimState;
    fn deref(&self) -> &SimState {
        &self.state
    }
}

impl SimHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn state(&self) -> SimState {
        self.state.clone()
    }

    /// Stops serving and writes the state file.
    pub async fn shutdown(mut self) -> Result<(), SimError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
        self.state.save_now()
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
