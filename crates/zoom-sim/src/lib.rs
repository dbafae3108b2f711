//! A faithful Zoom simulator: OAuth consent and tokens, the REST endpoints Rapport uses,
//! signed webhooks, Zoom's rate limits and error bodies, a controllable clock and fault
//! injection. Written from `shared/zoom-contract.md`, independently of `zoom-api`.
//!
//! Start one for a test:
//! ```no_run
//! # async fn demo() -> Result<(), zoom_sim::SimError> {
//! use zoom_sim::{AppConfig, ZoomSim};
//! let sim = ZoomSim::builder()
//!     .app(AppConfig {
//!         client_id: "cid".into(),
//!         client_secret: "secret".into(),
//!         redirect_urls: vec!["http://127.0.0.1:3000/zoom/callback".into()],
//!         webhook_url: None,
//!         webhook_secret: "whsecret".into(),
//!         verification_token: None,
//!         scopes: vec!["meeting:write:meeting".into(), "user:read:user".into()],
//!         name: "Rapport".into(),
//!         events: vec![],
//!     })
//!     .start("127.0.0.1:0")
//!     .await?;
//! println!("{}", sim.base_url());
//! sim.shutdown().await?;
//! # Ok(()) }
//! ```

// Handlers return ready HTTP responses as their early-exit error; boxing them buys nothing.
#![allow(clippy::result_large_err)]

mod api;
mod api_error;
mod clock;
mod config;
mod control;
mod faults;
mod html;
mod ids;
mod meetings;
mod model;
mod oauth;
mod pages;
mod persist;
pub mod program;
mod prune;
mod ratelimit;
mod server;
mod state;
mod webhook;

pub use clock::Clock;
pub use config::{AppConfig, LabelLimit, Plan, PlanLimits, RateLimitConfig, SimConfig};
pub use faults::{Fault, FaultAction, FaultEntry, RateLimitKind};
pub use meetings::parse_start_time;
pub use model::{GrantView, Meeting, MeetingStatus, RequestRecord, User, WebhookDelivery};
pub use oauth::{AuthorizeOutcome, AuthorizeRequest};
pub use ratelimit::{Label, RetryAfter};
pub use server::{SimBuilder, SimHandle, ZoomSim, router, serve};
pub use state::{SimError, SimState};
pub use webhook::{ValidationResult, encrypt_plain_token, sign};
