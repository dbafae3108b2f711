//! One typed configuration, from command-line flags or environment variables (every flag has one),
//! validated once at start. Secrets also come from `*_FILE` variables so they need not sit in the
//! environment.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use secrecy::SecretString;
use url::Url;

use crate::db::Db;

/// SQLite's default number of reader connections (at most one per core is used; writes have
/// two connections of their own, `db`). Each connection is a thread with its own page cache:
/// on the 2-core benchmark machine 4 connections served pages and searches as fast as 10 (a
/// little faster) and searches peaked at 52 MB resident instead of 87–113 MB.
const SQLITE_POOL: u32 = 4;
/// PostgreSQL's default pool: connections are server processes, and requests wait on the
/// network, so more of them overlap usefully.
const POSTGRES_POOL: u32 = 10;
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

    /// SMTP server for outgoing mail, e.g. smtps://user:pass@host or smtp://user:pass@host:587?tls=required (STARTTLS); plain smtp:// is unencrypted. Unset: dev mailbox.
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

    /// Database connections: on PostgreSQL the pool size [default: 10]; on SQLite the reader
    /// connections, at most one per core [default: 4] (writes share two more).
    #[arg(long, env = "RAPPORT_DB_MAX_CONNECTIONS")]
    pub db_max_connections: Option<u32>,

    /// How many times a background job is tried before it is marked dead.
    #[arg(long, env = "RAPPORT_JOB_MAX_ATTEMPTS", default_value_t = 8)]
    pub job_max_attempts: u32,

    /// Background jobs (emails, Zoom calls, webhooks) one node runs at the same time.
    #[arg(long, env = "RAPPORT_JOB_WORKERS", default_value_t = 4)]
    pub job_workers: u32,

    /// Key that encrypts Zoom tokens at rest: 32 bytes, base64. Unset with SQLite: a key file is
    /// generated in the data directory.
    #[arg(long, env = "RAPPORT_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,

    /// File holding RAPPORT_SECRET_KEY.
    #[arg(long, env = "RAPPORT_SECRET_KEY_FILE")]
    pub secret_key_file: Option<PathBuf>,

    /// The key used before the current one, kept while `rapport secrets rotate` re-encrypts.
    #[arg(long, env = "RAPPORT_SECRET_KEY_PREVIOUS", hide_env_values = true)]
    pub secret_key_previous: Option<String>,

    /// Zoom app client id. Unset: Rapport starts its embedded Zoom simulator.
    #[arg(long, env = "ZOOM_CLIENT_ID")]
    pub zoom_client_id: Option<String>,

    /// Zoom app client secret.
    #[arg(long, env = "ZOOM_CLIENT_SECRET", hide_env_values = true)]
    pub zoom_client_secret: Option<String>,

    /// File holding ZOOM_CLIENT_SECRET.
    #[arg(long, env = "ZOOM_CLIENT_SECRET_FILE")]
    pub zoom_client_secret_file: Option<PathBuf>,

    /// Secret token of the Zoom app's event subscription (verifies webhooks).
    #[arg(long, env = "ZOOM_WEBHOOK_SECRET_TOKEN", hide_env_values = true)]
    pub zoom_webhook_secret_token: Option<String>,

    /// File holding ZOOM_WEBHOOK_SECRET_TOKEN.
    #[arg(long, env = "ZOOM_WEBHOOK_SECRET_TOKEN_FILE")]
    pub zoom_webhook_secret_token_file: Option<PathBuf>,

    /// Zoom's OAuth base URL.
    #[arg(long, env = "ZOOM_OAUTH_URL", default_value = "https://zoom.us")]
    pub zoom_oauth_url: String,

    /// Zoom's API base URL (paths are /v2/...).
    #[arg(long, env = "ZOOM_API_URL", default_value = "https://api.zoom.us")]
    pub zoom_api_url: String,

    /// Where the embedded Zoom simulator listens when no Zoom credentials are set.
    #[arg(long, env = "RAPPORT_ZOOM_SIM_ADDR", default_value = "127.0.0.1:8090")]
    pub zoom_sim_addr: SocketAddr,

    /// Call Zoom's (deprecated) data compliance API after a deauthorization.
    #[arg(long, env = "ZOOM_DATA_COMPLIANCE", value_enum, default_value = "off")]
    pub zoom_data_compliance: OnOff,

    /// Days after which Zoom data of a connection left "needs reconnecting" is deleted.
    #[arg(long, env = "RAPPORT_ZOOM_RETENTION_DAYS", default_value_t = 10)]
    pub zoom_retention_days: u32,

    /// Seconds Rapport waits for one answer from Zoom (1-25: below the 30 s token refresh lease).
    #[arg(long, env = "RAPPORT_ZOOM_TIMEOUT_SECS", default_value_t = 10)]
    pub zoom_timeout_secs: u64,

    /// What `GET /verifyzoom.html` serves: the domain verification code Zoom gives you.
    #[arg(long, env = "ZOOM_DOMAIN_VERIFICATION", hide_env_values = true)]
    pub zoom_domain_verification: Option<String>,

    /// File whose exact bytes `GET /verifyzoom.html` serves.
    #[arg(long, env = "ZOOM_DOMAIN_VERIFICATION_FILE")]
    pub zoom_domain_verification_file: Option<PathBuf>,

    /// Address users write to for support (shown on /support and in the documentation).
    #[arg(long, env = "RAPPORT_SUPPORT_EMAIL")]
    pub support_email: Option<String>,

    /// Name of the company running this Rapport (shown on the privacy and terms pages).
    #[arg(
        long,
        env = "RAPPORT_OPERATOR_NAME",
        default_value = "The operator of this Rapport server"
    )]
    pub operator_name: String,

    /// Directory of Markdown files replacing the public pages: zoom.md, privacy.md, terms.md, support.md.
    #[arg(long, env = "RAPPORT_PAGES_DIR")]
    pub pages_dir: Option<PathBuf>,

    /// Addresses of the reverse proxies in front of Rapport, comma-separated (e.g. 127.0.0.1). From
    /// these only, X-Forwarded-For is read for the client's address (sign-in throttling).
    #[arg(long, env = "RAPPORT_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,

    /// Deployment environment, checked by `rapport doctor`: development, staging or production.
    #[arg(long, env = "RAPPORT_ENV", default_value = "development")]
    pub environment: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

/// Where Zoom is, and with which credentials.
#[derive(Debug, Clone)]
pub enum ZoomSettings {
    /// Real Zoom (or any Zoom-compatible server) with the operator's app credentials.
    Remote {
        client_id: String,
        client_secret: SecretString,
        webhook_secret: Option<SecretString>,
        oauth_url: Url,
        api_url: Url,
    },
    /// No credentials: Rapport runs the Zoom simulator itself on this address.
    EmbeddedSimulator { addr: SocketAddr },
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{var}: {message}")]
    Invalid { var: &'static str, message: String },
}

/// Whether this build makes TLS connections (the `tls` feature, on by default). Without it,
/// settings that need TLS are refused at start-up rather than failing on first use.
pub const TLS_BUILT: bool = cfg!(feature = "tls");

/// Why a setting that needs TLS is refused by a build without it.
pub const NO_TLS: &str = "this build of Rapport has no TLS: it was built without the `tls` feature (on by default); rebuild it with the default features";

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
    pub job_workers: u32,
    pub secret_key: Option<SecretString>,
    pub secret_key_previous: Option<SecretString>,
    pub zoom: ZoomSettings,
    pub zoom_data_compliance: bool,
    pub zoom_retention_days: u32,
    /// How long one call to Zoom may take before Rapport gives up on it.
    pub zoom_timeout: std::time::Duration,
    /// The exact bytes of `/verifyzoom.html`, when configured.
    pub zoom_domain_verification: Option<Vec<u8>>,
    pub support_email: Option<String>,
    pub operator_name: String,
    pub pages_dir: Option<PathBuf>,
    pub environment: String,
    /// The reverse proxies whose X-Forwarded-For is believed (web::client_address).
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

/// A secret from `VALUE` or `VALUE_FILE` (not both).
fn secret_from(
    value: &Option<String>,
    file: &Option<PathBuf>,
    var: &'static str,
) -> Result<Option<SecretString>, ConfigError> {
    match (value, file) {
        (Some(_), Some(_)) => Err(invalid(
            var,
            "set either the variable or its _FILE form, not both",
        )),
        (Some(v), None) if v.trim().is_empty() => Err(invalid(var, "is empty")),
        (Some(v), None) => Ok(Some(SecretString::from(v.trim().to_owned()))),
        (None, Some(path)) => {
            let v = std::fs::read_to_string(path)
                .map_err(|e| invalid(var, format!("cannot read {}: {e}", path.display())))?;
            if v.trim().is_empty() {
                return Err(invalid(var, format!("{} is empty", path.display())));
            }
            Ok(Some(SecretString::from(v.trim().to_owned())))
        }
        (None, None) => Ok(None),
    }
}

fn zoom_settings(args: &ServerArgs) -> Result<ZoomSettings, ConfigError> {
    let secret = secret_from(
        &args.zoom_client_secret,
        &args.zoom_client_secret_file,
        "ZOOM_CLIENT_SECRET",
    )?;
    let webhook_secret = secret_from(
        &args.zoom_webhook_secret_token,
        &args.zoom_webhook_secret_token_file,
        "ZOOM_WEBHOOK_SECRET_TOKEN",
    )?;
    match (&args.zoom_client_id, secret) {
        (None, None) => Ok(ZoomSettings::EmbeddedSimulator {
            addr: args.zoom_sim_addr,
        }),
        (None, Some(_)) => Err(invalid(
            "ZOOM_CLIENT_ID",
            "is required when ZOOM_CLIENT_SECRET is set",
        )),
        (Some(_), None) => Err(invalid(
            "ZOOM_CLIENT_SECRET",
            "is required when ZOOM_CLIENT_ID is set (or ZOOM_CLIENT_SECRET_FILE)",
        )),
        (Some(id), Some(client_secret)) => {
            if id.trim().is_empty() || id.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(invalid(
                    "ZOOM_CLIENT_ID",
                    "must be the app's client id, without spaces",
                ));
            }
            let url = |raw: &str, var: &'static str| -> Result<Url, ConfigError> {
                let u = Url::parse(raw).map_err(|e| invalid(var, format!("not a URL ({e})")))?;
                if !matches!(u.scheme(), "http" | "https") {
                    return Err(invalid(var, "must be an http(s) URL"));
                }
                if u.scheme() == "https" && !TLS_BUILT {
                    return Err(invalid(var, format!("is an https URL, but {NO_TLS}")));
                }
                Ok(u)
            };
            Ok(ZoomSettings::Remote {
                client_id: id.trim().to_owned(),
                client_secret,
                webhook_secret,
                oauth_url: url(&args.zoom_oauth_url, "ZOOM_OAUTH_URL")?,
                api_url: url(&args.zoom_api_url, "ZOOM_API_URL")?,
            })
        }
    }
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
        let db_max_connections =
            args.db_max_connections
                .unwrap_or(if database_url.starts_with("sqlite:") {
                    SQLITE_POOL
                } else {
                    POSTGRES_POOL
                });
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
            let wants_tls =
                parsed.scheme() == "smtps" || parsed.query_pairs().any(|(k, _)| k == "tls");
            if wants_tls && !TLS_BUILT {
                return Err(invalid(
                    "RAPPORT_SMTP_URL",
                    format!("asks for TLS (smtps:// or ?tls=), but {NO_TLS}"),
                ));
            }
        }
        let mail_from = args
            .mail_from
            .parse::<lettre::message::Mailbox>()
            .map_err(|e| invalid("RAPPORT_MAIL_FROM", format!("not a mail address ({e})")))?;
        if args.db_max_connections == Some(0) {
            return Err(invalid("RAPPORT_DB_MAX_CONNECTIONS", "must be at least 1"));
        }
        if args.job_workers == 0 || args.job_workers > 64 {
            return Err(invalid("RAPPORT_JOB_WORKERS", "must be between 1 and 64"));
        }
        if args.job_max_attempts == 0 {
            return Err(invalid("RAPPORT_JOB_MAX_ATTEMPTS", "must be at least 1"));
        }
        let secret_key = secret_from(
            &args.secret_key,
            &args.secret_key_file,
            "RAPPORT_SECRET_KEY",
        )?;
        let secret_key_previous = secret_from(
            &args.secret_key_previous,
            &None,
            "RAPPORT_SECRET_KEY_PREVIOUS",
        )?;
        let zoom = zoom_settings(args)?;
        if args.zoom_retention_days == 0 {
            return Err(invalid("RAPPORT_ZOOM_RETENTION_DAYS", "must be at least 1"));
        }
        if !(1..=25).contains(&args.zoom_timeout_secs) {
            // A refresh that outlives its 30 s lease would no longer be single-flight.
            return Err(invalid(
                "RAPPORT_ZOOM_TIMEOUT_SECS",
                "must be between 1 and 25 seconds",
            ));
        }
        let zoom_domain_verification = match (
            &args.zoom_domain_verification,
            &args.zoom_domain_verification_file,
        ) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "ZOOM_DOMAIN_VERIFICATION",
                    "set either the variable or its _FILE form, not both",
                ));
            }
            (Some(code), None) => Some(code.clone().into_bytes()),
            (None, Some(path)) => Some(std::fs::read(path).map_err(|e| {
                invalid(
                    "ZOOM_DOMAIN_VERIFICATION_FILE",
                    format!("cannot read {}: {e}", path.display()),
                )
            })?),
            (None, None) => None,
        };
        if let Some(email) = &args.support_email
            && crate::domain::email(email).is_err()
        {
            return Err(invalid(
                "RAPPORT_SUPPORT_EMAIL",
                "not a valid email address",
            ));
        }
        if !matches!(
            args.environment.as_str(),
            "development" | "staging" | "production"
        ) {
            return Err(invalid(
                "RAPPORT_ENV",
                "must be development, staging or production",
            ));
        }
        if let Some(dir) = &args.pages_dir
            && !dir.is_dir()
        {
            return Err(invalid(
                "RAPPORT_PAGES_DIR",
                format!("{} is not a directory", dir.display()),
            ));
        }
        let trusted_proxies = args
            .trusted_proxies
            .iter()
            .map(|raw| raw.trim())
            .filter(|raw| !raw.is_empty())
            .map(|raw| {
                raw.parse::<std::net::IpAddr>().map_err(|_| {
                    invalid(
                        "RAPPORT_TRUSTED_PROXIES",
                        format!(
                            "{raw:?} is not an IP address (list addresses, not names or ranges)"
                        ),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Config {
            addr: args.addr,
            data_dir: args.data_dir.clone(),
            public_url,
            public_url_explicit: args.public_url.is_some(),
            database_url,
            smtp_url: smtp_url.map(SecretString::from),
            mail_from,
            log_format: args.log_format,
            db_max_connections,
            job_max_attempts: args.job_max_attempts,
            job_workers: args.job_workers,
            secret_key,
            secret_key_previous,
            zoom,
            zoom_data_compliance: args.zoom_data_compliance == OnOff::On,
            zoom_retention_days: args.zoom_retention_days,
            zoom_timeout: std::time::Duration::from_secs(args.zoom_timeout_secs),
            zoom_domain_verification,
            support_email: args.support_email.clone(),
            operator_name: args.operator_name.clone(),
            pages_dir: args.pages_dir.clone(),
            environment: args.environment.clone(),
            trusted_proxies,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config(args: &[&str]) -> Result<Config, ConfigError> {
        let mut argv = vec!["rapport"];
        argv.extend_from_slice(args);
        let cli = <crate::cli::Cli as clap::Parser>::parse_from(argv);
        Config::from_args(&cli.server)
    }

    #[test]
    fn the_pool_size_defaults_by_database_and_can_be_set() {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = format!("--data-dir={}", dir.path().display());
        assert_eq!(config(&[&data_dir]).unwrap().db_max_connections, 4);
        let postgres = "--database-url=postgres://rapport@127.0.0.1/rapport";
        assert_eq!(
            config(&[&data_dir, postgres]).unwrap().db_max_connections,
            10
        );
        let set = "--db-max-connections=7";
        assert_eq!(config(&[&data_dir, set]).unwrap().db_max_connections, 7);
        let err = config(&[&data_dir, "--db-max-connections=0"])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("RAPPORT_DB_MAX_CONNECTIONS"), "{err}");
    }

    #[test]
    fn trusted_proxies_are_addresses() {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = format!("--data-dir={}", dir.path().display());
        assert!(config(&[&data_dir]).unwrap().trusted_proxies.is_empty());
        let two = config(&[&data_dir, "--trusted-proxies=127.0.0.1, ::1"]).unwrap();
        assert_eq!(
            two.trusted_proxies,
            vec![
                "127.0.0.1".parse::<std::net::IpAddr>().unwrap(),
                "::1".parse().unwrap()
            ]
        );
        let err = config(&[&data_dir, "--trusted-proxies=10.0.0.0/8"])
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.starts_with("RAPPORT_TRUSTED_PROXIES:") && err.contains("10.0.0.0/8"),
            "{err}"
        );
    }

    /// Zoom's own (https) URLs and a mail server reached over TLS are accepted by a build with
    /// TLS, and refused at start-up, saying why, by a build without it.
    #[test]
    fn settings_that_need_tls_are_refused_only_by_a_build_without_it() {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = format!("--data-dir={}", dir.path().display());
        let zoom = [
            data_dir.as_str(),
            "--zoom-client-id=abc123",
            "--zoom-client-secret=client-secret-value",
        ];
        let zoom_result = config(&zoom);
        let smtp_urls = [
            "smtps://mailer:pa55word@mail.example.com",
            "smtp://mailer:pa55word@mail.example.com:587?tls=required",
        ];
        let smtp_results: Vec<_> = smtp_urls
            .iter()
            .map(|url| config(&[&data_dir, &format!("--smtp-url={url}")]))
            .collect();
        // Plain http and smtp work either way.
        let plain = config(&[
            &data_dir,
            "--zoom-client-id=abc123",
            "--zoom-client-secret=client-secret-value",
            "--zoom-oauth-url=http://127.0.0.1:9/",
            "--zoom-api-url=http://127.0.0.1:9/",
            "--smtp-url=smtp://127.0.0.1:2525",
        ]);
        assert!(plain.is_ok(), "{:?}", plain.err());
        if TLS_BUILT {
            assert!(zoom_result.is_ok(), "{:?}", zoom_result.err());
            for result in &smtp_results {
                assert!(result.is_ok(), "{:?}", result.as_ref().err());
            }
        } else {
            let err = zoom_result.err().unwrap().to_string();
            assert!(err.starts_with("ZOOM_OAUTH_URL: is an https URL"), "{err}");
            assert!(err.contains("`tls` feature"), "{err}");
            for result in smtp_results {
                let err = result.err().unwrap().to_string();
                assert!(err.starts_with("RAPPORT_SMTP_URL: asks for TLS"), "{err}");
                assert!(err.contains("`tls` feature"), "{err}");
                assert!(!err.contains("pa55word"), "the password leaked: {err}");
            }
        }
    }
}
