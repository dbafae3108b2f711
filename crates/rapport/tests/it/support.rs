//! Test helpers: start Rapport on a fresh database, a browser-like HTTP client, form helpers,
//! and access to the dev mailbox and job queue.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;

use rapport::app::{AppState, Application};
use rapport::clock::Clock;
use rapport::config::{Config, ServerArgs};
use rapport::db::Backend;
use tokio::sync::watch;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// Runs a test body once per database: `both_databases!(name, |app| async move { ... });`
/// expands to a module `name` with `sqlite` and `postgres` tests.
#[macro_export]
macro_rules! both_databases {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::support::TestApp::spawn($crate::support::Db::Sqlite).await;
                let body = $body;
                body(app).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(app) = $crate::support::TestApp::spawn_postgres_or_skip().await else {
                    return;
                };
                let body = $body;
                body(app).await;
            }
        }
    };
}

/// [`both_databases!`] for an app started with extra command-line options:
/// `both_databases_with!(name, &["--zoom-retention-days", "3"], |app| async move { ... });`
#[macro_export]
macro_rules! both_databases_with {
    ($name:ident, $extra:expr, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app =
                    $crate::support::TestApp::spawn_with($crate::support::Db::Sqlite, None, $extra)
                        .await;
                let body = $body;
                body(app).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(app) = $crate::support::TestApp::spawn_postgres_or_skip_with($extra).await
                else {
                    return;
                };
                let body = $body;
                body(app).await;
            }
        }
    };
}

pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The PostgreSQL server for tests, or `None` (and a note on stderr) when there is none. Under
/// `CI=true` a missing server fails the test instead of skipping it.
pub fn postgres_server_url() -> Option<String> {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                !under_ci(),
                "CI=true but TEST_DATABASE_URL is not set: PostgreSQL tests cannot run"
            );
            eprintln!(
                "note: TEST_DATABASE_URL is not set; this PostgreSQL test did not run (cargo xtask test sets it)"
            );
            None
        }
    }
}

/// Creates an empty database on the test server and returns its URL.
pub async fn fresh_postgres_database(server_url: &str) -> String {
    use sqlx::Connection;
    let name = format!("rapport_test_{}", uuid_like());
    let mut admin = sqlx::PgConnection::connect(server_url)
        .await
        .expect("connect to TEST_DATABASE_URL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create test database");
    let mut url = url::Url::parse(server_url).expect("TEST_DATABASE_URL is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

fn uuid_like() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..16)
        .map(|_| char::from(b'a' + rng.gen_range(0..26)))
        .collect()
}

/// A running Rapport and a client with its own cookie jar (one "browser").
pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub state: AppState,
    pub client: reqwest::Client,
    pub db: Db,
    pub database_url: String,
    _data_dir: tempfile::TempDir,
    shutdown: watch::Sender<bool>,
}

pub fn test_config(data_dir: PathBuf, database_url: String, extra: &[&str]) -> Config {
    use clap::Parser;
    #[derive(Parser)]
    struct Args {
        #[command(flatten)]
        server: ServerArgs,
    }
    let mut argv = vec![
        "rapport".to_owned(),
        "--addr".into(),
        "127.0.0.1:0".into(),
        "--data-dir".into(),
        data_dir.display().to_string(),
        "--database-url".into(),
        database_url,
        "--job-max-attempts".into(),
        "4".into(),
        // Every test app runs its own embedded Zoom simulator on a random port.
        "--zoom-sim-addr".into(),
        "127.0.0.1:0".into(),
    ];
    // PostgreSQL needs an explicit key (nodes must share it: pass the same `--secret-key` in
    // `extra`); SQLite tests use one too.
    if !extra.iter().any(|a| a.starts_with("--secret-key")) {
        argv.push(format!("--secret-key={}", rapport::vault::generate_key()));
    }
    // `--flag=value`: a generated secret may begin with '-', which clap would take for a flag
    // (every server option takes a value).
    let mut rest = extra.iter();
    while let Some(arg) = rest.next() {
        match rest.as_slice().first() {
            Some(value) if arg.starts_with("--") && !arg.contains('=') => {
                argv.push(format!("{arg}={value}"));
                rest.next();
            }
            _ => argv.push((*arg).to_owned()),
        }
    }
    let args = Args::try_parse_from(argv).expect("test arguments parse");
    Config::from_args(&args.server).expect("test configuration is valid")
}

impl TestApp {
    pub async fn spawn(db: Db) -> TestApp {
        match db {
            Db::Sqlite => TestApp::spawn_with(Db::Sqlite, None, &[]).await,
            Db::Postgres => TestApp::spawn_postgres_or_skip()
                .await
                .expect("PostgreSQL available"),
        }
    }

    pub async fn spawn_postgres_or_skip() -> Option<TestApp> {
        TestApp::spawn_postgres_or_skip_with(&[]).await
    }

    pub async fn spawn_postgres_or_skip_with(extra: &[&str]) -> Option<TestApp> {
        let server = postgres_server_url()?;
        let url = fresh_postgres_database(&server).await;
        Some(TestApp::spawn_with(Db::Postgres, Some(url), extra).await)
    }

    /// Starts Rapport with extra command-line options (e.g. `--smtp-url`).
    pub async fn spawn_with(db: Db, database_url: Option<String>, extra: &[&str]) -> TestApp {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let database_url =
            database_url.unwrap_or_else(|| rapport::db::Db::sqlite_url_in(data_dir.path()));
        let config = test_config(data_dir.path().to_path_buf(), database_url.clone(), extra);
        let app = Application::build(config, Clock::system())
            .await
            .expect("Rapport starts");
        let addr = app.local_addr().expect("bound");
        let state = app.state().clone();
        let (shutdown, rx) = watch::channel(false);
        tokio::spawn(app.run(rx));
        assert_eq!(
            state.db.backend(),
            if db == Db::Sqlite {
                Backend::Sqlite
            } else {
                Backend::Postgres
            }
        );
        TestApp {
            addr,
            base: format!("http://{addr}"),
            state,
            client: new_client(),
            db,
            database_url,
            _data_dir: data_dir,
            shutdown,
        }
    }

    /// Another browser (its own cookies) on the same server.
    pub fn new_browser(&self) -> reqwest::Client {
        new_client()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn get_text(&self, path: &str) -> (reqwest::StatusCode, String) {
        let response = self.get(path).await;
        let status = response.status();
        (status, response.text().await.expect("body"))
    }

    /// Submits a form the way a browser does: loads `form_page` for its anti-forgery token, then
    /// posts `fields` (plus the token) to `action`.
    pub async fn submit(
        &self,
        form_page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        submit_with(&self.client, &self.base, form_page, action, fields).await
    }

    pub async fn sign_up(&self, name: &str, email: &str, org: &str) -> reqwest::Response {
        let response = self
            .submit(
                "/sign-up",
                "/sign-up",
                &[
                    ("name", name),
                    ("email", email),
                    ("password", "correct horse battery"),
                    ("org_name", org),
                    ("time_zone", "Europe/Paris"),
                ],
            )
            .await;
        assert_eq!(
            response.status(),
            reqwest::StatusCode::SEE_OTHER,
            "sign-up should redirect"
        );
        response
    }

    /// Runs every due background job now (instead of waiting for the worker's next poll).
    pub async fn drain_jobs(&self) {
        rapport::jobs::worker::drain(&self.state)
            .await
            .expect("drain jobs");
    }

    /// Messages in the dev mailbox, newest first.
    pub async fn mailbox(&self) -> Vec<rapport::mail::devbox::MailboxRow> {
        self.drain_jobs().await;
        let mut pooled = self.state.db.acquire().await.expect("conn");
        rapport::mail::devbox::list(&mut pooled.conn(), 1000)
            .await
            .expect("mailbox")
    }

    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
    }
}

pub fn new_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

pub async fn submit_with(
    client: &reqwest::Client,
    base: &str,
    form_page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let page = client
        .get(format!("{base}{form_page}"))
        .send()
        .await
        .expect("GET form")
        .text()
        .await
        .expect("form body");
    let token = csrf_token_in(&page).unwrap_or_default();
    let mut all: Vec<(&str, &str)> = fields.to_vec();
    all.push(("csrf_token", &token));
    client
        .post(format!("{base}{action}"))
        .form(&all)
        .send()
        .await
        .expect("POST form")
}

/// The anti-forgery token embedded in a page's forms.
pub fn csrf_token_in(html: &str) -> Option<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// The first link in `text` that starts with `prefix`.
pub fn link_in(text: &str, prefix: &str) -> Option<String> {
    let start = text.find(prefix)?;
    let rest = &text[start..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '"' || c == '<')
        .unwrap_or(rest.len());
    Some(rest[..end].to_owned())
}

pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}
