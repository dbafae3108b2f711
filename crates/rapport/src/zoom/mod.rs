//! The Zoom connection: connect and callback, the token vault, single-flight refresh,
//! disconnect, deauthorization and webhooks. With no Zoom credentials configured, Rapport runs
//! the Zoom simulator itself and registers as an app there, so everything works on a laptop.

pub mod intake;
pub mod jobs;
pub mod routes;
pub mod storage;
pub mod tokens;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;
use zoom_api::webhook::Verifier;
use zoom_api::{OAuthClient, ZoomClient, ZoomConfig};

use crate::clock::Clock;
use crate::config::{Config, ZoomSettings};
use crate::vault::Vault;

/// The provider name stored in `connections.provider`.
pub const PROVIDER: &str = "zoom";

#[derive(Debug, thiserror::Error)]
pub enum ZoomSetupError {
    #[error("the embedded Zoom simulator could not start on {addr}: {message}")]
    Simulator { addr: String, message: String },
    #[error("cannot keep the simulator's app credentials in {path}: {message}")]
    SimulatorCredentials { path: String, message: String },
    #[error("{0}")]
    Url(String),
    #[error(transparent)]
    Vault(#[from] crate::vault::VaultError),
}

/// Adapts the application's clock for the Zoom client, so token expiry follows test time too.
#[derive(Debug)]
struct AppClock(Clock);

impl zoom_api::Clock for AppClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.now()
    }
}

/// Everything Rapport needs to talk to Zoom (or to the simulator standing in for it).
pub struct Zoom {
    pub oauth: OAuthClient,
    pub api: ZoomClient,
    /// None when no webhook secret is configured: then every webhook is refused (fail closed).
    pub webhook: Option<Verifier>,
    /// The OAuth base URL a flow was started against; a callback under another one is refused.
    pub issuer: String,
    pub vault: Vault,
    pub redirect_url: Url,
    pub webhook_url: Url,
    /// The embedded simulator, when Rapport runs one.
    pub simulator: Option<zoom_sim::SimHandle>,
    /// How long one call to Zoom may take (`RAPPORT_ZOOM_TIMEOUT_SECS`, below the 30 s refresh
    /// lease, so a refresh that hangs cannot outlive the lease that makes it single-flight).
    pub timeout: Duration,
}

impl std::fmt::Debug for Zoom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Zoom")
            .field("issuer", &self.issuer)
            .field("embedded", &self.simulator.is_some())
            .finish_non_exhaustive()
    }
}

/// Credentials Rapport generates for itself as an app of the embedded simulator, kept in the
/// data directory so a restart keeps every connection.
#[derive(Serialize, Deserialize)]
struct SimulatorApp {
    client_id: String,
    client_secret: String,
    webhook_secret: String,
}

impl Zoom {
    /// Sets up the Zoom client. In simulator mode, `run_simulator` starts it (for `serve`); the
    /// one-shot commands (`migrate`, `user add`, …) leave it to the running server.
    pub async fn start(
        config: &Config,
        clock: &Clock,
        run_simulator: bool,
    ) -> Result<Zoom, ZoomSetupError> {
        let vault = Vault::from_config(config)?;
        let redirect_url = parse_url(&config.url_for("/settings/zoom/callback"))?;
        let webhook_url = parse_url(&config.url_for("/webhooks/zoom"))?;
        let http = reqwest::Client::builder()
            .timeout(config.zoom_timeout)
            .build()
            .map_err(|e| ZoomSetupError::Url(e.to_string()))?;
        let (zoom_config, webhook_secret, simulator) = match &config.zoom {
            ZoomSettings::Remote {
                client_id,
                client_secret,
                webhook_secret,
                oauth_url,
                api_url,
            } => (
                ZoomConfig::new(
                    client_id.clone(),
                    client_secret.clone(),
                    redirect_url.clone(),
                )
                .with_oauth_base(oauth_url.clone())
                .with_api_base(api_url.clone()),
                webhook_secret.clone(),
                None,
            ),
            ZoomSettings::EmbeddedSimulator { addr } if !run_simulator => {
                let app = simulator_app(&config.data_dir)?;
                let base = parse_url(&format!("http://{addr}"))?;
                (
                    ZoomConfig::new(
                        app.client_id,
                        SecretString::from(app.client_secret),
                        redirect_url.clone(),
                    )
                    .with_oauth_base(base.clone())
                    .with_api_base(base),
                    Some(SecretString::from(app.webhook_secret)),
                    None,
                )
            }
            ZoomSettings::EmbeddedSimulator { addr } => {
                let app = simulator_app(&config.data_dir)?;
                let handle = zoom_sim::ZoomSim::builder()
                    .app(zoom_sim::AppConfig {
                        client_id: app.client_id.clone(),
                        client_secret: app.client_secret.clone(),
                        redirect_urls: vec![redirect_url.to_string()],
                        webhook_url: Some(webhook_url.to_string()),
                        webhook_secret: app.webhook_secret.clone(),
                        verification_token: None,
                        scopes: zoom_api::endpoints::required_scopes()
                            .iter()
                            .map(str::to_owned)
                            .collect(),
                        name: "Rapport".into(),
                        events: Vec::new(),
                    })
                    .state_file(config.data_dir.join("zoom-simulator.json"))
                    .start(*addr)
                    .await
                    .map_err(|e| ZoomSetupError::Simulator {
                        addr: addr.to_string(),
                        message: e.to_string(),
                    })?;
                let base = parse_url(&format!("http://{}", handle.addr()))?;
                (
                    ZoomConfig::new(
                        app.client_id,
                        SecretString::from(app.client_secret),
                        redirect_url.clone(),
                    )
                    .with_oauth_base(base.clone())
                    .with_api_base(base),
                    Some(SecretString::from(app.webhook_secret)),
                    Some(handle),
                )
            }
        };
        let issuer = zoom_config.oauth_base.to_string();
        let app_clock: Arc<dyn zoom_api::Clock> = Arc::new(AppClock(clock.clone()));
        let oauth = OAuthClient::new(zoom_config.clone(), http.clone())
            .with_clock(app_clock.clone())
            .with_timeout(config.zoom_timeout);
        let api = ZoomClient::new(zoom_config.api_base.clone(), http)
            .with_clock(app_clock)
            .with_timeout(config.zoom_timeout);
        let webhook = webhook_secret.map(Verifier::new);
        Ok(Zoom {
            oauth,
            api,
            webhook,
            issuer,
            vault,
            redirect_url,
            webhook_url,
            simulator,
            timeout: config.zoom_timeout,
        })
    }

    /// The origin of Zoom's OAuth pages (the Connect form posts, then redirects there).
    pub fn oauth_origin(&self) -> String {
        self.oauth
            .config()
            .oauth_base
            .origin()
            .ascii_serialization()
    }

    pub fn is_embedded(&self) -> bool {
        self.simulator.is_some()
    }
}

fn parse_url(raw: &str) -> Result<Url, ZoomSetupError> {
    Url::parse(raw).map_err(|e| ZoomSetupError::Url(format!("{raw}: {e}")))
}

fn simulator_app(data_dir: &Path) -> Result<SimulatorApp, ZoomSetupError> {
    let path = data_dir.join("zoom-simulator-app.json");
    let fail = |message: String| ZoomSetupError::SimulatorCredentials {
        path: path.display().to_string(),
        message,
    };
    if let Ok(raw) = std::fs::read_to_string(&path) {
        return serde_json::from_str(&raw).map_err(|e| fail(e.to_string()));
    }
    let app = SimulatorApp {
        client_id: format!("rapport-{}", &crate::crypto::random_token()[..12]),
        client_secret: crate::crypto::random_token(),
        webhook_secret: crate::crypto::random_token(),
    };
    std::fs::create_dir_all(data_dir).map_err(|e| fail(e.to_string()))?;
    let json = serde_json::to_string_pretty(&app).map_err(|e| fail(e.to_string()))?;
    crate::vault::write_private_file(&path, json.as_bytes()).map_err(|e| fail(e.to_string()))?;
    Ok(app)
}

/// Keeps `ExposeSecret` in scope for the submodules that open sealed tokens.
pub(crate) fn expose(secret: &SecretString) -> &str {
    secret.expose_secret()
}
