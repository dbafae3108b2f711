use std::process::ExitCode;

use clap::Parser;
use rapport::app::{AppState, Application};
use rapport::cli::{Cli, Command, DevCommand, FlagsCommand, SecretsCommand, UserCommand};
use rapport::clock::Clock;
use rapport::config::Config;
use tokio::sync::watch;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_args(&cli.server) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("rapport: invalid configuration: {err}");
            return ExitCode::from(2);
        }
    };
    rapport::telemetry::init(config.log_format);
    match run(cli.command.unwrap_or(Command::Serve), config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("rapport: {err}");
            ExitCode::FAILURE
        }
    }
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
            AppState::for_command(config, Clock::system())
                .await
                .map_err(|e| e.to_string())?;
            println!("Migrations applied ({backend}).");
            Ok(())
        }
        Command::User(UserCommand::Add(args)) => {
            let state = AppState::for_command(config, Clock::system())
                .await
                .map_err(|e| e.to_string())?;
            let message = rapport::seed::add_user(&state, &args)
                .await
                .map_err(|e| e.to_string())?;
            println!("{message}");
            Ok(())
        }
        Command::Flags(command) => {
            let state = AppState::for_command(config, Clock::system())
                .await
                .map_err(|e| e.to_string())?;
            let message = match command {
                FlagsCommand::Show => rapport::seed::show_flags(&state).await,
                FlagsCommand::Set(args) => rapport::seed::set_flag(&state, &args).await,
            }
            .map_err(|e| e.to_string())?;
            println!("{message}");
            Ok(())
        }
        Command::Secrets(SecretsCommand::GenerateKey) => {
            println!("{}", rapport::vault::generate_key());
            Ok(())
        }
        Command::Secrets(SecretsCommand::Rotate) => {
            let state = AppState::for_command(config, Clock::system())
                .await
                .map_err(|e| e.to_string())?;
            let message = rapport::seed::rotate_secrets(&state)
                .await
                .map_err(|e| e.to_string())?;
            println!("{message}");
            Ok(())
        }
        Command::Dev(DevCommand::Seed(args)) => {
            let state = AppState::for_command(config, Clock::system())
                .await
                .map_err(|e| e.to_string())?;
            let started = std::time::Instant::now();
            let n = rapport::seed::seed_contacts(&state, &args.org, args.contacts)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "Added {n} contacts to {} in {:.1}s.",
                args.org,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
    }
}

async fn serve(config: Config) -> Result<(), String> {
    let data_dir = config.data_dir.display().to_string();
    let app = Application::build(config, Clock::system())
        .await
        .map_err(|e| e.to_string())?;
    let state = app.state().clone();
    let addr = app.local_addr().map(|a| a.to_string()).unwrap_or_default();
    match state.db.backend() {
        rapport::db::Backend::Sqlite => {
            tracing::info!(data_dir = %data_dir, "database: embedded SQLite in {data_dir}")
        }
        rapport::db::Backend::Postgres => tracing::info!("database: PostgreSQL"),
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
    app.run(rx).await.map_err(|e| e.to_string())
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
