//! Helpers shared by the account, contact, mail and storage tests: database counts, sign-in,
//! raw cookies, multipart uploads and a tiny SMTP server that can be switched "down".

#![allow(dead_code)]

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::support::{TestApp, csrf_token_in, new_client, submit_with};

pub const PASSWORD: &str = "correct horse battery";

/// A contact with only a name, as stored by `contacts::storage::insert`; other fields with
/// `ContactData { email: …, ..contact_named(name) }`.
pub fn contact_named(name: impl Into<String>) -> rapport::contacts::storage::ContactData {
    rapport::contacts::storage::ContactData {
        name: name.into(),
        email: None,
        phone: None,
        company: None,
        job_title: None,
        time_zone: None,
        notes: None,
    }
}

/// Creates organizations with these names; their ids in the same order.
pub async fn insert_organizations(
    conn: &mut rapport::db::Conn<'_>,
    names: &[&str],
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<i64> {
    let mut ids = Vec::new();
    for name in names {
        ids.push(
            rapport::accounts::storage::insert_organization(conn, name, now)
                .await
                .unwrap(),
        );
    }
    ids
}

/// Runs a single-value query (no binds) on the app's database.
pub async fn scalar(app: &TestApp, sql: &str) -> i64 {
    let mut pooled = app.state.db.acquire().await.expect("conn");
    let mut conn = pooled.conn();
    rapport::sql_scalar!(
        &mut conn,
        i64,
        fetch_one,
        sqlx::AssertSqlSafe(sql.to_owned())
    )
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

pub async fn count(app: &TestApp, table_and_where: &str) -> i64 {
    scalar(app, &format!("SELECT COUNT(*) FROM {table_and_where}")).await
}

/// A fresh browser that signed up its own organization.
pub async fn browser_with_org(
    app: &TestApp,
    name: &str,
    email: &str,
    org: &str,
) -> reqwest::Client {
    let client = new_client();
    let response = submit_with(
        &client,
        &app.base,
        "/sign-up",
        "/sign-up",
        &[
            ("name", name),
            ("email", email),
            ("password", PASSWORD),
            ("org_name", org),
            ("time_zone", "Europe/Paris"),
        ],
    )
    .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "sign-up redirects"
    );
    client
}

pub async fn sign_in_with(
    client: &reqwest::Client,
    base: &str,
    email: &str,
    password: &str,
    next: &str,
) -> reqwest::Response {
    submit_with(
        client,
        base,
        "/sign-in",
        "/sign-in",
        &[("email", email), ("password", password), ("next", next)],
    )
    .await
}

pub async fn get(client: &reqwest::Client, base: &str, path: &str) -> reqwest::Response {
    client
        .get(format!("{base}{path}"))
        .send()
        .await
        .expect("GET")
}

pub async fn get_text(client: &reqwest::Client, base: &str, path: &str) -> (StatusCode, String) {
    let r = get(client, base, path).await;
    let status = r.status();
    (status, r.text().await.expect("body"))
}

/// Whether this browser is signed in (the contacts page opens instead of redirecting).
pub async fn is_signed_in(client: &reqwest::Client, base: &str) -> bool {
    let r = get(client, base, "/contacts").await;
    match r.status() {
        StatusCode::OK => true,
        StatusCode::SEE_OTHER | StatusCode::FOUND | StatusCode::TEMPORARY_REDIRECT => {
            assert!(
                crate::support::location(&r).starts_with("/sign-in"),
                "{:?}",
                r.headers()
            );
            false
        }
        other => panic!("unexpected status {other} for /contacts"),
    }
}

/// The `Set-Cookie` header for `name` in a response, if any.
pub fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// The value in a `Set-Cookie` header.
pub fn cookie_value(set_cookie: &str) -> String {
    let first = set_cookie.split(';').next().unwrap_or_default();
    first
        .split_once('=')
        .map(|(_, v)| v.to_owned())
        .unwrap_or_default()
}

/// A browser without a cookie jar, sending exactly `cookie` (e.g. a replayed session).
pub async fn get_with_cookie(base: &str, path: &str, cookie: &str) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(format!("{base}{path}"))
        .header(reqwest::header::COOKIE, cookie)
        .send()
        .await
        .expect("GET")
}

/// A browser whose connections come from `ip` (e.g. 127.0.0.2), to act as another client address.
pub fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .local_address(ip.parse::<IpAddr>().expect("ip"))
        .build()
        .expect("client")
}

/// A browser whose requests reach Rapport through a reverse proxy on 127.0.0.1 that records
/// `client_ip` in `X-Forwarded-For`.
pub fn client_behind_proxy(client_ip: &str) -> reqwest::Client {
    client_forwarding("127.0.0.1", client_ip)
}

/// A browser connecting from `local_ip` that sends `X-Forwarded-For: forwarded_for` with every
/// request (a proxy when `local_ip` is one, otherwise a client claiming another address).
pub fn client_forwarding(local_ip: &str, forwarded_for: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "x-forwarded-for",
        forwarded_for.parse().expect("header value"),
    );
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .local_address(local_ip.parse::<IpAddr>().expect("ip"))
        .default_headers(headers)
        .build()
        .expect("client")
}

/// Posts a CSV file to the import form, as a browser's multipart upload.
pub async fn upload_csv(client: &reqwest::Client, base: &str, bytes: &[u8]) -> reqwest::Response {
    let page = get(client, base, "/contacts/import")
        .await
        .text()
        .await
        .expect("page");
    let token = csrf_token_in(&page).unwrap_or_default();
    upload_csv_with_token(client, base, bytes, &token).await
}

pub async fn upload_csv_with_token(
    client: &reqwest::Client,
    base: &str,
    bytes: &[u8],
    token: &str,
) -> reqwest::Response {
    let boundary = "----rapport-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"contacts.csv\"\r\nContent-Type: text/csv\r\n\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    client
        .post(format!("{base}/contacts/import"))
        .header(
            reqwest::header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .expect("POST import")
}

/// Creates a contact through the form; returns its id.
pub async fn create_contact(client: &reqwest::Client, base: &str, fields: &[(&str, &str)]) -> i64 {
    let r = submit_with(client, base, "/contacts/new", "/contacts", fields).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "contact created");
    let loc = crate::support::location(&r);
    loc.trim_start_matches("/contacts/")
        .parse()
        .unwrap_or_else(|_| panic!("contact location {loc}"))
}

/// Unescapes the few HTML entities askama writes, for matching text on pages.
pub fn unescape(html: &str) -> String {
    html.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A minimal SMTP server: accepts every message while up; while down, answers 421 to the greeting
/// and to every command (so queued mail cannot be delivered).
#[derive(Clone)]
pub struct SmtpServer {
    pub addr: SocketAddr,
    down: Arc<AtomicBool>,
    messages: Arc<Mutex<Vec<String>>>,
}

impl SmtpServer {
    pub async fn start(down: bool) -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind smtp");
        let server = SmtpServer {
            addr: listener.local_addr().expect("addr"),
            down: Arc::new(AtomicBool::new(down)),
            messages: Arc::new(Mutex::new(Vec::new())),
        };
        let s = server.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = s.session(socket).await;
                });
            }
        });
        server
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.addr.port())
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// Every accepted message (the DATA section), in arrival order.
    pub fn messages(&self) -> Vec<String> {
        self.messages.lock().expect("lock").clone()
    }

    async fn session(&self, socket: tokio::net::TcpStream) -> std::io::Result<()> {
        let (read, mut write) = socket.into_split();
        let mut lines = BufReader::new(read);
        if self.down.load(Ordering::SeqCst) {
            write
                .write_all(b"421 4.3.2 Service not available, try later\r\n")
                .await?;
            return Ok(());
        }
        write.write_all(b"220 test-smtp ESMTP ready\r\n").await?;
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let command = line.trim_end().to_ascii_uppercase();
            if self.down.load(Ordering::SeqCst) {
                write
                    .write_all(b"421 4.3.2 Service not available, try later\r\n")
                    .await?;
                return Ok(());
            }
            if command.starts_with("EHLO") {
                write
                    .write_all(b"250-test-smtp\r\n250 8BITMIME\r\n")
                    .await?;
            } else if command.starts_with("HELO") {
                write.write_all(b"250 test-smtp\r\n").await?;
            } else if command.starts_with("DATA") {
                write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    let unstuffed = line.strip_prefix('.').unwrap_or(&line);
                    data.push_str(unstuffed);
                }
                if self.down.load(Ordering::SeqCst) {
                    write.write_all(b"451 4.3.0 try again later\r\n").await?;
                    continue;
                }
                self.messages.lock().expect("lock").push(data);
                write.write_all(b"250 2.0.0 queued\r\n").await?;
            } else if command.starts_with("QUIT") {
                write.write_all(b"221 2.0.0 bye\r\n").await?;
                return Ok(());
            } else {
                // MAIL, RCPT, RSET, NOOP and anything else.
                write.write_all(b"250 2.0.0 OK\r\n").await?;
            }
        }
    }
}

/// Polls `check` every 50 ms until it is true or `secs` seconds have passed.
pub async fn eventually<F, Fut>(secs: u64, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if check().await {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The dev mailbox, newest first, once every queued message has been delivered. (The app's own
/// worker may be delivering a message while the test drains the queue, so wait for the outbox.)
pub async fn mailbox(app: &TestApp) -> Vec<rapport::mail::devbox::MailboxRow> {
    let delivered = eventually(20, || async {
        app.drain_jobs().await;
        count(app, "outbox WHERE state <> 'sent'").await == 0
            && count(
                app,
                "jobs WHERE state IN ('queued', 'running') AND kind = 'send_email'",
            )
            .await
                == 0
    })
    .await;
    assert!(
        delivered,
        "queued mail was not delivered to the dev mailbox"
    );
    app.mailbox().await
}

/// The real `rapport` binary as a child process, with every line it writes (stdout and stderr)
/// kept for the test to read. Killed when dropped.
pub struct RapportProcess {
    child: std::process::Child,
    output: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

/// A `rapport` command with a clean environment (nothing inherited from the test runner can
/// change its configuration) plus `env`.
pub fn rapport_command(args: &[&str], env: &[(&str, &str)]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_rapport"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .envs(env.iter().copied());
    command
}

/// Runs a one-shot `rapport` command to the end: (success, stdout, stderr).
pub fn run_rapport(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let output = rapport_command(args, env)
        .output()
        .expect("run the rapport binary");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

impl RapportProcess {
    /// Starts `rapport serve` and waits until it says where it listens; returns it and its base URL.
    pub async fn serve(env: &[(&str, &str)]) -> (RapportProcess, String) {
        use std::io::BufRead;
        let mut child = rapport_command(&["serve"], env)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start the rapport binary");
        let output = Arc::new(Mutex::new(String::new()));
        let mut readers = Vec::new();
        let stdout: Box<dyn std::io::Read + Send> = Box::new(child.stdout.take().expect("stdout"));
        let stderr: Box<dyn std::io::Read + Send> = Box::new(child.stderr.take().expect("stderr"));
        for stream in [stdout, stderr] {
            let output = output.clone();
            readers.push(std::thread::spawn(move || {
                for line in std::io::BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    let mut out = output.lock().expect("lock");
                    out.push_str(&line);
                    out.push('\n');
                }
            }));
        }
        let mut process = RapportProcess {
            child,
            output,
            readers,
        };
        let marker = "is listening on http://";
        let mut base = None;
        for _ in 0..600 {
            let text = process.output();
            if let Some(at) = text.find(marker) {
                let rest = &text[at + marker.len()..];
                let end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
                base = Some(format!("http://{}", &rest[..end]));
                break;
            }
            if let Ok(Some(status)) = process.child.try_wait() {
                panic!("rapport exited ({status}):\n{text}");
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let base = base.unwrap_or_else(|| panic!("rapport did not start:\n{}", process.output()));
        (process, base)
    }

    /// Everything written so far.
    pub fn output(&self) -> String {
        self.output.lock().expect("lock").clone()
    }

    /// Asks the process to stop as systemd and `docker stop` do (SIGTERM), waits up to 30 s
    /// for it to exit, and returns its exit status and everything it wrote.
    pub async fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM failed");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for rapport") {
                break status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "rapport did not stop within 30 s of SIGTERM:\n{}",
                self.output()
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        (status, self.output())
    }

    /// Stops the process and returns everything it wrote.
    pub fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        self.output()
    }
}

impl Drop for RapportProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
