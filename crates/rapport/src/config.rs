//! One typed configuration, from command-line flags or environment variables (every flag has one),
//! validated once at start. Secrets also come from `*_FILE` variables so they need not sit in the
//! environment.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use secrecy::SecretString;
use url::Url;

use crate::db::Db;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Options shared by every subcommand that touches the database or serves pages.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// Address to listen on.
    #[arg(long, env = "RAPPORT_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// Directory for the embedded database, keys and simulator state.
    #[arg(long, env = "RAPPORT_DATA_DIR", default_value = "./rapport-data")]
    pub data_dir: PathBuf,

    /// Public URL users reach Rapport at; used in emails and redirects. Default: http:// + addr.
    #[arg(long, env = "RAPPORT_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Database URL: sqlite://PATH or postgres://…  Default: SQLite in the data directory.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// SMTP server for outgoing mail, e.g. smtp://user:pass@host:587 or smtps://host. Unset: dev mailbox.
    #[arg(long, env = "RAPPORT_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// File holding the SMTP URL (for secrets managers).
    #[arg(long, env = "RAPPORT_SMTP_URL_FILE")]
    pub smtp_url_file: Option<PathBuf>,

    /// Sender of outgoing mail.
    #[arg(
        long,
        env = "RAPPORT_MAIL_FROM",
        default_value = "Rapport <rapport@localhost>"
    )]
    pub mail_from: String,

    /// Log format.
    #[arg(long, env = "RAPPORT_LOG_FORMAT", value_enum, default_value = "pretty")]
    pub log_format: LogFormat,

    /// Maximum database connections in the pool.
    #[arg(long, env = "RAPPORT_DB_MAX_CONNECTIONS", default_value_t = 10)]
    pub db_max_connections: u32,

    /// How many times a background job is tried before it is marked dead.
    #[arg(long, env = "RAPPORT_JOB_MAX_ATTEMPTS", default_value_t = 8)]
    pub job_max_attempts: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{var}: {message}")]
    Invalid { var: &'static str, message: String },
}

fn invalid(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        var,
        message: message.into(),
    }
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub public_url: Url,
    /// False when the public URL was derived from the listen address (then it follows the port
    /// actually bound, which matters for port 0).
    pub public_url_explicit: bool,
    pub database_url: String,
    pub smtp_url: Option<SecretString>,
    pub mail_from: lettre::message::Mailbox,
    pub log_format: LogFormat,
    pub db_max_connections: u32,
    pub job_max_attempts: u32,
}

impl Config {
    pub fn from_args(args: &ServerArgs) -> Result<Config, ConfigError> {
        let public_url = match &args.public_url {
            Some(raw) => Url::parse(raw)
                .map_err(|e| invalid("RAPPORT_PUBLIC_URL", format!("not a URL ({e})")))?,
            None => Url::parse(&format!("http://{}", args.addr))
                .map_err(|e| invalid("RAPPORT_ADDR", format!("cannot form a URL ({e})")))?,
        };
        if !matches!(public_url.scheme(), "http" | "https") {
            return Err(invalid(
                "RAPPORT_PUBLIC_URL",
                "must start with http:// or https://",
            ));
        }
        if public_url.path() != "/" || public_url.query().is_some() {
            return Err(invalid(
                "RAPPORT_PUBLIC_URL",
                "must be an origin without a path, e.g. https://crm.example.com",
            ));
        }
        let database_url = match &args.database_url {
            Some(url)
                if url.starts_with("sqlite:")
                    || url.starts_with("postgres://")
                    || url.starts_with("postgresql://") =>
            {
                url.clone()
            }
            Some(_) => {
                return Err(invalid(
                    "DATABASE_URL",
                    "must start with sqlite:, postgres:// or postgresql://",
                ));
            }
            None => Db::sqlite_url_in(&args.data_dir),
        };
        let smtp_url = match (&args.smtp_url, &args.smtp_url_file) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "RAPPORT_SMTP_URL",
                    "set either RAPPORT_SMTP_URL or RAPPORT_SMTP_URL_FILE, not both",
                ));
            }
            (Some(url), None) => Some(url.clone()),
            (None, Some(path)) => Some(
                std::fs::read_to_string(path)
                    .map_err(|e| {
                        invalid(
                            "RAPPORT_SMTP_URL_FILE",
                            format!("cannot read {}: {e}", path.display()),
                        )
                    })?
                    .trim()
                    .to_owned(),
            ),
            (None, None) => None,
        };
        if let Some(url) = &smtp_url {
            // Parse without echoing the URL back: it may hold a password.
            let parsed =
                Url::parse(url).map_err(|_| invalid("RAPPORT_SMTP_URL", "not a valid URL"))?;
            if !matches!(parsed.scheme(), "smtp" | "smtps") {
                return Err(invalid(
                    "RAPPORT_SMTP_URL",
                    "must start with smtp:// or smtps://",
                ));
            }
        }
        let mail_from = args
            .mail_from
            .parse::<lettre::message::Mailbox>()
            .map_err(|e| invalid("RAPPORT_MAIL_FROM", format!("not a mail address ({e})")))?;
        if args.db_max_connections == 0 {
            return Err(invalid("RAPPORT_DB_MAX_CONNECTIONS", "must be at least 1"));
        }
        if args.job_max_attempts == 0 {
            return Err(invalid("RAPPORT_JOB_MAX_ATTEMPTS", "must be at least 1"));
        }
        Ok(Config {
            addr: args.addr,
            data_dir: args.data_dir.clone(),
            public_url,
            public_url_explicit: args.public_url.is_some(),
            database_url,
            smtp_url: smtp_url.map(SecretString::from),
            mail_from,
            log_format: args.log_format,
            db_max_connections: args.db_max_connections,
            job_max_attempts: args.job_max_attempts,
        })
    }

    /// Whether cookies get `Secure` and the `__Host-` prefix.
    pub fn is_https(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    /// Absolute URL for a path on the public origin.
    pub fn url_for(&self, path: &str) -> String {
        let base = self.public_url.as_str().trim_end_matches('/');
        format!("{base}{path}")
    }
}
