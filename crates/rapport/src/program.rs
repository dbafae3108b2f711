//! The `rapport` program: parses the command line and runs the command. `src/main.rs` only
//! calls [`main`]. Kept in the library because a release build compiles the async code a
//! binary reaches once more for the binary: with this in `main.rs`, the binary alone took 28 s
//! of a 2-core release build, instantiating the job loops, the storage functions and sqlx again
//! (docs/benchmarks.md, "`--quick` in five minutes").

use std::process::ExitCode;

use crate::app::{AppState, Application};
use crate::cli::{
    Cli, Command, DevCommand, FlagsCommand, ManifestFormat, SecretsCommand, UserCommand,
    ZoomCommand,
};
use crate::clock::Clock;
use crate::config::Config;
use clap::Parser;
use tokio::sync::watch;

/// `rapport`'s `main`: a multi-threaded tokio runtime (as `#[tokio::main]` builds) running the
/// command given.
pub fn main() -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(run_cli()),
        Err(err) => {
            eprintln!("rapport: cannot start the async runtime: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run_cli() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_args(&cli.server) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("rapport: invalid configuration: {err}");
            return ExitCode::from(2);
        }
    };
    crate::telemetry::init(config.log_format);
    match run(cli.command.unwrap_or(Command::Serve), config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("rapport: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The application's state for a one-off command (migrations applied), or the error to print.
async fn command_state(config: Config) -> Result<AppState, String> {
    AppState::for_command(config, Clock::system())
        .await
        .map_err(|e| e.to_string())
}

/// Runs a one-off command on the application's state and closes the database after it,
/// whether it succeeded or not: on SQLite that leaves the whole database in its file (see
/// [`crate::db::Db::close`]).
async fn with_state<F, Fut>(config: Config, command: F) -> Result<(), String>
where
    F: FnOnce(AppState) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let state = command_state(config).await?;
    let db = state.db.clone();
    let result = command(state).await;
    db.close().await;
    result
}

async fn run(command: Command, config: Config) -> Result<(), String> {
    match command {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let backend = if config.database_url.starts_with("sqlite:") {
                "SQLite"
            } else {
                "PostgreSQL"
            };
            with_state(config, |_| async move {
                println!("Migrations applied ({backend}).");
                Ok(())
            })
            .await
        }
        Command::User(UserCommand::Add(args)) => {
            with_state(config, |state| async move {
                let message = crate::commands::add_user(&state, &args)
                    .await
                    .map_err(|e| e.to_string())?;
                println!("{message}");
                Ok(())
            })
            .await
        }
        Command::Flags(command) => {
            with_state(config, |state| async move {
                let message = match command {
                    FlagsCommand::Show => crate::commands::show_flags(&state).await,
                    FlagsCommand::Set(args) => crate::commands::set_flag(&state, &args).await,
                }
                .map_err(|e| e.to_string())?;
                println!("{message}");
                Ok(())
            })
            .await
        }
        Command::Zoom(ZoomCommand::Manifest(args)) => {
            let manifest = crate::marketplace::manifest::build(&config);
            match args.format {
                ManifestFormat::Markdown => {
                    println!("{}", crate::marketplace::manifest::to_markdown(&manifest))
                }
                ManifestFormat::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&manifest).map_err(|e| e.to_string())?
                ),
            }
            Ok(())
        }
        Command::Doctor(args) => doctor(config, args.online).await,
        Command::Secrets(SecretsCommand::GenerateKey) => {
            println!("{}", crate::vault::generate_key());
            Ok(())
        }
        Command::Secrets(SecretsCommand::Rotate) => {
            with_state(config, |state| async move {
                let message = crate::commands::rotate_secrets(&state)
                    .await
                    .map_err(|e| e.to_string())?;
                println!("{message}");
                Ok(())
            })
            .await
        }
        Command::Dev(DevCommand::Mail(args)) => {
            with_state(config, |state| async move {
                let n = crate::commands::queue_test_mail(&state, &args.to, args.count)
                    .await
                    .map_err(|e| e.to_string())?;
                println!("Queued {n} test messages to {}.", args.to);
                Ok(())
            })
            .await
        }
        Command::Dev(DevCommand::Seed(args)) => {
            with_state(config, |state| async move {
                let started = std::time::Instant::now();
                let n = crate::commands::seed_contacts(
                    &state,
                    &args.org,
                    args.contacts,
                    args.per_transaction,
                )
                .await
                .map_err(|e| e.to_string())?;
                println!(
                    "Added {n} contacts to {} in {:.1}s.",
                    args.org,
                    started.elapsed().as_secs_f64()
                );
                Ok(())
            })
            .await
        }
    }
}

async fn doctor(config: Config, online: bool) -> Result<(), String> {
    use crate::marketplace::doctor::{self, Facts, Finding, Severity};
    let mut facts = Facts::default();
    // The flag lives in the database; a doctor run without one still checks the rest.
    if let Ok(state) = AppState::for_command(config.clone(), Clock::system()).await {
        if let Ok(mut pooled) = state.db.acquire().await {
            facts.autovacuum = state.db.autovacuum().await.ok().flatten();
            let mut conn = pooled.conn();
            if let Ok(mode) = crate::flags::mode(&mut conn, crate::flags::ZOOM).await {
                facts.zoom_flag_limited = mode == crate::flags::Mode::Listed;
                facts.zoom_flag = crate::flags::describe(&mut conn, crate::flags::ZOOM)
                    .await
                    .ok();
            }
        }
        state.db.close().await;
    }
    let mut findings = doctor::check(&config, &facts);
    if online {
        findings.extend(online_checks(&config).await);
    }
    println!("{}", doctor::report(&findings));
    if findings
        .iter()
        .any(|f: &Finding| f.severity == Severity::Blocker)
    {
        Err("the configuration is not ready for a submission (see the blockers above)".into())
    } else {
        Ok(())
    }
}

/// Calls this server's public URL the way Zoom will: a signed url_validation challenge to the
/// webhook endpoint, and the domain verification file.
async fn online_checks(config: &Config) -> Vec<crate::marketplace::doctor::Finding> {
    use crate::marketplace::doctor::{Finding, Severity};
    let mut out = Vec::new();
    let fail = |check: &'static str, problem: String, fix: &str| Finding {
        severity: Severity::Blocker,
        check,
        problem,
        fix: fix.to_owned(),
    };
    if config.public_url.scheme() == "https" && !crate::config::TLS_BUILT {
        out.push(fail(
            "public-url-online",
            format!(
                "cannot call {} to check it: {}",
                config.public_url,
                crate::config::NO_TLS
            ),
            "Run the online checks with a build of Rapport that has TLS",
        ));
        return out;
    }
    let http = reqwest::Client::new();
    if let crate::config::ZoomSettings::Remote {
        webhook_secret: Some(secret),
        ..
    } = &config.zoom
    {
        let plain = crate::crypto::random_token();
        let body = serde_json::json!({"event": "endpoint.url_validation", "event_ts": chrono::Utc::now().timestamp_millis(), "payload": {"plainToken": plain}}).to_string();
        let ts = chrono::Utc::now().timestamp().to_string();
        let signature = zoom_api::webhook::sign(secret, &ts, body.as_bytes()).unwrap_or_default();
        let expected = zoom_api::webhook::url_validation_response(secret, &plain)
            .map(|r| r.encrypted_token)
            .unwrap_or_default();
        let answer = http
            .post(config.url_for("/webhooks/zoom"))
            .header("content-type", "application/json")
            .header("x-zm-request-timestamp", ts)
            .header("x-zm-signature", signature)
            .body(body)
            .send()
            .await;
        match answer {
            Ok(r) if r.status().is_success() => {
                let json: serde_json::Value = r.json().await.unwrap_or_default();
                if json.get("encryptedToken").and_then(|v| v.as_str()) != Some(expected.as_str()) {
                    out.push(fail("webhook-online", "the webhook endpoint answered the validation challenge wrongly".into(), "Check that ZOOM_WEBHOOK_SECRET_TOKEN equals the Secret Token in the Marketplace"));
                }
            }
            Ok(r) => out.push(fail(
                "webhook-online",
                format!("the webhook endpoint answered {}", r.status()),
                "Check that Rapport is reachable at RAPPORT_PUBLIC_URL and the secret matches",
            )),
            Err(e) => out.push(fail(
                "webhook-online",
                format!(
                    "cannot reach {}: {}",
                    config.url_for("/webhooks/zoom"),
                    e.without_url()
                ),
                "Check DNS, TLS and the reverse proxy",
            )),
        }
    }
    match http.get(config.url_for("/verifyzoom.html")).send().await {
        Ok(r) if r.status().is_success() => {}
        Ok(r) => out.push(fail(
            "domain-online",
            format!("/verifyzoom.html answered {}", r.status()),
            "Set ZOOM_DOMAIN_VERIFICATION",
        )),
        Err(e) => out.push(fail(
            "domain-online",
            format!("cannot reach the public URL: {}", e.without_url()),
            "Check DNS, TLS and the reverse proxy",
        )),
    }
    out
}

/// How long a stopping `rapport serve` waits for its database connections to close.
const DATABASE_CLOSE_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

async fn serve(config: Config) -> Result<(), String> {
    let data_dir = config.data_dir.display().to_string();
    let app = Application::build(config, Clock::system())
        .await
        .map_err(|e| e.to_string())?;
    let state = app.state().clone();
    let addr = app.local_addr().map(|a| a.to_string()).unwrap_or_default();
    match state.db.backend() {
        crate::db::Backend::Sqlite => {
            tracing::info!(data_dir = %data_dir, "database: embedded SQLite in {data_dir}")
        }
        crate::db::Backend::Postgres => tracing::info!("database: PostgreSQL"),
    }
    if let Ok(Some(false)) = state.db.autovacuum().await {
        tracing::warn!("database: {}", crate::marketplace::doctor::AUTOVACUUM_OFF);
    }
    match &state.zoom.simulator {
        Some(sim) => tracing::info!(
            "zoom: no ZOOM_CLIENT_ID set, so Rapport runs its Zoom simulator at http://{} (consent and account pages there; no Zoom account needed)",
            sim.addr()
        ),
        None => tracing::info!(oauth = %state.zoom.issuer, "zoom: using the configured Zoom app"),
    }
    if state.transport.is_dev_mailbox() {
        tracing::warn!(
            "mail: no RAPPORT_SMTP_URL set, so emails go to the dev mailbox at {}/dev/mailbox, which anyone who can reach Rapport can read",
            state.config.public_url.as_str().trim_end_matches('/')
        );
    } else {
        tracing::info!("mail: sending through SMTP");
    }
    tracing::info!(addr = %addr, "Rapport is listening on http://{addr} (public URL {})", state.config.public_url);
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        let _ = tx.send(true);
    });
    let served = app.run(rx).await.map_err(|e| e.to_string());
    // The server and the job loops have stopped: nothing else will use the database. Bounded,
    // so that a connection somehow still in use cannot keep a stopping node alive; SQLite
    // then folds its WAL in at the next start instead.
    match tokio::time::timeout(DATABASE_CLOSE_LIMIT, state.db.close()).await {
        Ok(()) => tracing::info!("stopped"),
        Err(_) => tracing::warn!(
            "stopped with database connections still in use after {} s",
            DATABASE_CLOSE_LIMIT.as_secs()
        ),
    }
    served
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}
