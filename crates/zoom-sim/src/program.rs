//! The `zoom-sim` program: run the Zoom simulator standalone. `src/main.rs` only calls
//! [`main`]; the code lives in the library so that a release build compiles the simulator's
//! async code once, not again for the binary (as `rapport::program`).

use crate::{AppConfig, RateLimitConfig, SimConfig, ZoomSim};
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

#[derive(Parser, Debug)]
#[command(
    name = "zoom-sim",
    about = "A faithful Zoom simulator (OAuth, meetings API, webhooks, faults)"
)]
struct Cli {
    /// Address to listen on.
    #[arg(long, env = "ZOOM_SIM_ADDR", default_value = "127.0.0.1:9090")]
    addr: String,
    /// Base URL clients see (default: http://{addr}); set it behind a proxy.
    #[arg(long, env = "ZOOM_SIM_PUBLIC_URL")]
    public_url: Option<String>,
    /// Persist state to this JSON file (written atomically; loaded at start).
    #[arg(long, env = "ZOOM_SIM_STATE_FILE")]
    state_file: Option<PathBuf>,
    /// Register an app with this client id.
    #[arg(long, env = "ZOOM_SIM_CLIENT_ID")]
    client_id: Option<String>,
    #[arg(long, env = "ZOOM_SIM_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,
    /// Allowed redirect URL(s), comma separated.
    #[arg(long, env = "ZOOM_SIM_REDIRECT_URL", value_delimiter = ',')]
    redirect_url: Vec<String>,
    /// Event notification endpoint (also receives app_deauthorized).
    #[arg(long, env = "ZOOM_SIM_WEBHOOK_URL")]
    webhook_url: Option<String>,
    /// Webhook secret token (HMAC key of x-zm-signature).
    #[arg(
        long,
        env = "ZOOM_SIM_WEBHOOK_SECRET",
        hide_env_values = true,
        default_value = ""
    )]
    webhook_secret: String,
    /// Scopes, separated by spaces or commas.
    #[arg(
        long,
        env = "ZOOM_SIM_SCOPES",
        default_value = "meeting:write:meeting meeting:read:meeting meeting:update:meeting meeting:delete:meeting meeting:read:list_meetings user:read:user"
    )]
    scopes: String,
    #[arg(long, env = "ZOOM_SIM_APP_NAME", default_value = "Rapport")]
    app_name: String,
    /// Refresh-token lifetime in days.
    #[arg(long, env = "ZOOM_SIM_REFRESH_TOKEN_DAYS", default_value_t = 90)]
    refresh_token_days: i64,
    /// Turn rate limiting off (for benchmarks).
    #[arg(long, env = "ZOOM_SIM_NO_RATE_LIMITS")]
    no_rate_limits: bool,
}

/// `zoom-sim`'s `main`: a multi-threaded tokio runtime (as `#[tokio::main]` builds) running
/// the simulator until Ctrl-C or SIGTERM.
pub fn main() -> ExitCode {
    let outcome = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(run()),
        Err(err) => Err(err.into()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("zoom-sim: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    // `RUST_LOG` as levels per module (`info,zoom_sim::webhook=debug`): `Targets`, not
    // `EnvFilter`, whose regular expressions weigh on every release build (rapport's telemetry).
    let filter: Targets = match std::env::var("RUST_LOG") {
        Ok(value) => value.parse().unwrap_or_else(|err| {
            eprintln!("zoom-sim: RUST_LOG={value:?} is not a log filter ({err}); logging at info");
            Targets::new().with_default(tracing::Level::INFO)
        }),
        Err(_) => Targets::new().with_default(tracing::Level::INFO),
    };
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_filter(filter))
        .init();
    let cli = Cli::parse();
    let mut config = SimConfig {
        refresh_token_days: cli.refresh_token_days,
        ..SimConfig::default()
    };
    if cli.no_rate_limits {
        config.rate_limits = RateLimitConfig::unlimited();
    }
    let mut builder = ZoomSim::builder().config(config);
    if let Some(client_id) = cli.client_id {
        let Some(client_secret) = cli.client_secret else {
            return Err("--client-secret is required with --client-id".into());
        };
        builder = builder.app(AppConfig {
            client_id,
            client_secret,
            redirect_urls: cli.redirect_url,
            webhook_url: cli.webhook_url,
            webhook_secret: cli.webhook_secret,
            verification_token: None,
            scopes: cli
                .scopes
                .split([' ', ','])
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            name: cli.app_name,
            events: Vec::new(),
        });
    }
    if let Some(p) = cli.state_file {
        builder = builder.state_file(p);
    }
    if let Some(u) = cli.public_url {
        builder = builder.public_url(u);
    }
    let sim = builder.start(cli.addr.as_str()).await?;
    tracing::info!(base_url = %sim.base_url(), apps = sim.apps().len(), "zoom-sim listening");
    shutdown_signal().await;
    tracing::info!("shutting down");
    sim.shutdown().await?;
    Ok(())
}

/// Ctrl-C or SIGTERM: both stop the server and write the state file.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
