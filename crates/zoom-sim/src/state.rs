//! The simulator's shared state. One mutex guards everything; it is never held across
//! an `.await`, so handlers stay short and consistent.

use crate::clock::Clock;
use crate::config::{AppConfig, Plan, SimConfig};
use crate::faults::FaultEntry;
use crate::ids;
use crate::model::{
    Code, Grant, GrantView, Meeting, PageToken, RequestRecord, User, WebhookDelivery, Zak,
};
use crate::ratelimit::RateCounters;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use tokio::sync::Notify;

/// Errors from the simulator's library API.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("unknown client_id")]
    UnknownClient,
    #[error("redirect_uri is not registered for this app")]
    RedirectMismatch,
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("state file: {0}")]
    StateFile(String),
}

/// What is written to the state file.
#[derive(Default, Clone, Serialize, Deserialize)]
pub(crate) struct Persisted {
    #[serde(default)]
    pub apps: BTreeMap<String, AppConfig>,
    #[serde(default)]
    pub users: BTreeMap<String, User>,
    #[serde(default)]
    pub meetings: BTreeMap<i64, Meeting>,
    #[serde(default)]
    pub grants: BTreeMap<String, Grant>,
    #[serde(default)]
    pub codes: HashMap<String, Code>,
    #[serde(default)]
    pub zaks: HashMap<String, Zak>,
    #[serde(default)]
    pub page_tokens: HashMap<String, PageToken>,
}

pub(crate) struct Inner {
    pub config: SimConfig,
    pub data: Persisted,
    /// token -> grant id (rebuilt on load).
    pub access_index: HashMap<String, String>,
    /// refresh token (current or rotated) -> grant id.
    pub refresh_index: HashMap<String, String>,
    pub requests: Vec<RequestRecord>,
    pub deliveries: Vec<WebhookDelivery>,
    pub retries: Vec<crate::webhook::PendingRetry>,
    pub faults: Vec<FaultEntry>,
    pub next_fault_id: u64,
    pub rate: RateCounters,
    /// Sizes at which the expiring maps are next pruned (see `crate::prune`).
    pub prune_zaks: usize,
    pub prune_pages: usize,
    pub prune_codes: usize,
}

impl Inner {
    fn rebuild_indexes(&mut self) {
        self.access_index.clear();
        self.refresh_index.clear();
        for g in self.data.grants.values() {
            for t in &g.access_tokens {
                self.access_index.insert(t.token.clone(), g.id.clone());
            }
            self.refresh_index
                .insert(g.refresh_token.clone(), g.id.clone());
            for t in &g.used_refresh_tokens {
                self.refresh_index.insert(t.clone(), g.id.clone());
            }
        }
    }

    pub fn user_by_email(&self, email: &str) -> Option<&User> {
        let email = email.trim();
        self.data
            .users
            .values()
            .find(|u| u.email.eq_ignore_ascii_case(email))
    }

    /// Signs a user in by email, creating them with `plan` on first use.
    pub fn ensure_user(&mut self, email: &str, plan: Option<Plan>, now: DateTime<Utc>) -> User {
        if let Some(u) = self.user_by_email(email).cloned() {
            if let Some(u2) = self.data.users.get_mut(&u.id) {
                u2.last_login_time = now;
                return u2.clone();
            }
            return u;
        }
        let email = email.trim().to_string();
        let local = email.split('@').next().unwrap_or("user");
        let mut parts = local.split(['.', '_', '-', '+']).filter(|p| !p.is_empty());
        let first = parts
            .next()
            .map(capitalize)
            .unwrap_or_else(|| "Zoom".to_string());
        let last = parts
            .next()
            .map(capitalize)
            .unwrap_or_else(|| "User".to_string());
        let user = User {
            id: ids::user_id(),
            email,
            first_name: first,
            last_name: last,
            plan: plan.unwrap_or_default(),
            timezone: self.config.default_timezone.clone(),
            pmi: ids::pmi(),
            account_id: ids::user_id(),
            account_number: ids::account_number(),
            created_at: now,
            last_login_time: now,
        };
        self.data.users.insert(user.id.clone(), user.clone());
        user
    }

    pub fn grant_view(&self, g: &Grant) -> GrantView {
        GrantView {
            id: g.id.clone(),
            client_id: g.client_id.clone(),
            user_id: g.user_id.clone(),
            email: self
                .data
                .users
                .get(&g.user_id)
                .map(|u| u.email.clone())
                .unwrap_or_default(),
            scopes: g.scopes.clone(),
            created_at: g.created_at,
            refresh_expires_at: g.refresh_expires_at,
            refresh_count: g.refresh_count,
            active: g.active(),
            revoked_at: g.revoked_at,
            revoked_reason: g.revoked_reason.clone(),
        }
    }

    /// Removes a grant's tokens from the indexes and marks it revoked.
    pub fn revoke_grant(&mut self, grant_id: &str, reason: &str, now: DateTime<Utc>) -> bool {
        let Some(g) = self.data.grants.get_mut(grant_id) else {
            return false;
        };
        if g.revoked_at.is_some() {
            return false;
        }
        g.revoked_at = Some(now);
        g.revoked_reason = Some(reason.to_string());
        true
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

pub(crate) struct Shared {
    pub inner: Mutex<Inner>,
    pub clock: Clock,
    pub base_url: RwLock<String>,
    pub http: reqwest::Client,
    /// Bounds webhook deliveries in flight: Zoom delivers an app's events over a limited
    /// number of connections, not one new connection per event however fast they come.
    pub deliveries_in_flight: Arc<tokio::sync::Semaphore>,
    pub state_file: Option<PathBuf>,
    pub dirty: Notify,
    /// Set by `crate::serve`, whose connection loop can abort a connection; under a
    /// plain `axum::serve` the `drop` fault hangs instead.
    pub can_abort: AtomicBool,
    pub saver_started: AtomicBool,
}

/// Cheap-to-clone handle on the simulator's state; `crate::router` serves it.
#[derive(Clone)]
pub struct SimState {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for SimState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimState")
            .field("base_url", &self.base_url())
            .finish_non_exhaustive()
    }
}

impl SimState {
    /// In-memory state with the given apps.
    pub fn new(config: SimConfig, apps: Vec<AppConfig>) -> Self {
        Self::build(config, apps, Persisted::default(), None)
    }

    /// State persisted to `path`: loaded from it when it exists, written back (atomically)
    /// after changes. Apps passed here replace stored apps with the same client id.
    pub fn with_state_file(
        config: SimConfig,
        apps: Vec<AppConfig>,
        path: impl Into<PathBuf>,
    ) -> Result<Self, SimError> {
        let path = path.into();
        let data = crate::persist::load(&path)?;
        Ok(Self::build(config, apps, data, Some(path)))
    }

    fn build(
        config: SimConfig,
        apps: Vec<AppConfig>,
        mut data: Persisted,
        state_file: Option<PathBuf>,
    ) -> Self {
        for a in apps {
            data.apps.insert(a.client_id.clone(), a);
        }
        let mut inner = Inner {
            config: config.sanitized(),
            data,
            access_index: HashMap::new(),
            refresh_index: HashMap::new(),
            requests: Vec::new(),
            deliveries: Vec::new(),
            retries: Vec::new(),
            faults: Vec::new(),
            next_fault_id: 1,
            rate: RateCounters::default(),
            prune_zaks: 0,
            prune_pages: 0,
            prune_codes: 0,
        };
        inner.rebuild_indexes();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        let state = SimState {
            shared: Arc::new(Shared {
                inner: Mutex::new(inner),
                clock: Clock::default(),
                base_url: RwLock::new("http://127.0.0.1:9090".to_string()),
                http,
                deliveries_in_flight: Arc::new(tokio::sync::Semaphore::new(
                    crate::webhook::MAX_DELIVERIES_IN_FLIGHT,
                )),
                state_file,
                dirty: Notify::new(),
                can_abort: AtomicBool::new(false),
                saver_started: AtomicBool::new(false),
            }),
        };
        state.changed();
        state
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        match self.shared.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Marks state as changed so the persister writes it.
    pub(crate) fn changed(&self) {
        if self.shared.state_file.is_none() {
            return;
        }
        if tokio::runtime::Handle::try_current().is_ok()
            && !self.shared.saver_started.swap(true, Ordering::SeqCst)
        {
            crate::persist::spawn_saver(self.clone());
        }
        self.shared.dirty.notify_one();
    }

    /// Writes the state file now (no-op without one).
    pub fn save_now(&self) -> Result<(), SimError> {
        crate::persist::save(self)
    }

    pub fn base_url(&self) -> String {
        match self.shared.base_url.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// The externally visible base URL (used for `api_url`, `join_url`, `start_url`).
    pub fn set_base_url(&self, url: impl Into<String>) {
        let url = url.into().trim_end_matches('/').to_string();
        match self.shared.base_url.write() {
            Ok(mut g) => *g = url,
            Err(p) => *p.into_inner() = url,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.shared.clock.now()
    }

    pub fn clock(&self) -> &Clock {
        &self.shared.clock
    }

    pub fn advance_clock(&self, by: std::time::Duration) {
        let secs = crate::config::clamp_secs(by.as_secs().min(i64::MAX as u64) as i64);
        let d = chrono::Duration::seconds(secs)
            + chrono::Duration::nanoseconds(i64::from(by.subsec_nanos()));
        self.shared.clock.advance(d);
        self.tick();
    }

    pub fn config(&self) -> SimConfig {
        self.lock().config.clone()
    }

    pub fn set_config(&self, config: SimConfig) {
        self.lock().config = config.sanitized();
    }

    pub fn add_app(&self, app: AppConfig) {
        self.lock().data.apps.insert(app.client_id.clone(), app);
        self.changed();
    }

    pub fn apps(&self) -> Vec<AppConfig> {
        self.lock().data.apps.values().cloned().collect()
    }

    pub fn app(&self, client_id: &str) -> Option<AppConfig> {
        self.lock().data.apps.get(client_id).cloned()
    }

    /// Creates the user if needed (a programmatic "sign in").
    pub fn ensure_user(&self, email: &str, plan: Option<Plan>) -> User {
        let now = self.now();
        let u = self.lock().ensure_user(email, plan, now);
        self.changed();
        u
    }

    /// Changes a user's plan (e.g. a Basic user buys a licence).
    pub fn set_user_plan(&self, email: &str, plan: Plan) -> Result<User, SimError> {
        let mut g = self.lock();
        let id = g
            .user_by_email(email)
            .map(|u| u.id.clone())
            .ok_or_else(|| SimError::NotFound(email.to_string()))?;
        let u = g
            .data
            .users
            .get_mut(&id)
            .ok_or_else(|| SimError::NotFound(email.to_string()))?;
        u.plan = plan;
        let u = u.clone();
        drop(g);
        self.changed();
        Ok(u)
    }

    pub fn users(&self) -> Vec<User> {
        self.lock().data.users.values().cloned().collect()
    }

    pub fn user_by_email(&self, email: &str) -> Option<User> {
        self.lock().user_by_email(email).cloned()
    }

    pub fn meetings(&self) -> Vec<Meeting> {
        self.lock().data.meetings.values().cloned().collect()
    }

    pub fn meeting(&self, id: i64) -> Option<Meeting> {
        self.lock().data.meetings.get(&id).cloned()
    }

    pub fn grants(&self) -> Vec<GrantView> {
        let g = self.lock();
        g.data.grants.values().map(|x| g.grant_view(x)).collect()
    }

    pub fn requests(&self) -> Vec<RequestRecord> {
        self.lock().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.lock().requests.clear();
    }

    pub fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        self.lock().deliveries.clone()
    }

    pub fn clear_webhook_deliveries(&self) {
        self.lock().deliveries.clear();
    }
}
