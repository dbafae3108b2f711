//! Mail and background jobs: outbox to dev mailbox, SMTP delivery with retries, dead jobs, the
//! admin page, concurrent workers, expired leases, metrics, and a crash of the real binary.

use chrono::Duration;
use reqwest::StatusCode;

use crate::both_databases;
use crate::kit::{self, SmtpServer, count, eventually};
use crate::support::{Db, TestApp, new_client, submit_with};

/// Starts Rapport on a fresh database of `db` with extra options; `None` when PostgreSQL is
/// not available.
async fn spawn_on(db: Db, extra: &[&str]) -> Option<TestApp> {
    match db {
        Db::Sqlite => Some(TestApp::spawn_with(Db::Sqlite, None, extra).await),
        Db::Postgres => {
            let server = crate::support::postgres_server_url()?;
            let url = crate::support::fresh_postgres_database(&server).await;
            Some(TestApp::spawn_with(Db::Postgres, Some(url), extra).await)
        }
    }
}

async fn text(app: &TestApp, sql: &str) -> String {
    let mut pooled = app.state.db.acquire().await.unwrap();
    let mut conn = pooled.conn();
    rapport::sql_scalar!(
        &mut conn,
        String,
        fetch_one,
        sqlx::AssertSqlSafe(sql.to_owned())
    )
    .unwrap()
}

rapport::db_row! {
    #[derive(Debug)]
    struct JobSnapshot {
        state: String,
        attempts: i64,
        run_at: chrono::DateTime<chrono::Utc>,
        updated_at: chrono::DateTime<chrono::Utc>,
        last_error: Option<String>,
    }
}

async fn only_job(app: &TestApp) -> JobSnapshot {
    let mut pooled = app.state.db.acquire().await.unwrap();
    let mut conn = pooled.conn();
    rapport::sql_as!(
        &mut conn,
        JobSnapshot,
        fetch_one,
        "SELECT state, attempts, run_at, updated_at, last_error FROM jobs"
    )
    .unwrap()
}

async fn invite(app: &TestApp, name: &str, email: &str) {
    let r = app
        .submit(
            "/settings/team",
            "/settings/team",
            &[("name", name), ("email", email)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

both_databases!(
    outbox_mail_reaches_the_dev_mailbox_with_attachments,
    |app: TestApp| async move {
        let email = rapport::mail::Email {
            to_address: "grace@navy.example".into(),
            to_name: Some("Grace Hopper".into()),
            subject: "Your meeting notes".into(),
            text_body: "Plain text body".into(),
            html_body: "<p>HTML <b>body</b></p>".into(),
            attachments: vec![
                rapport::mail::Attachment::new("notes.txt", "text/plain", b"line one\nline two"),
                rapport::mail::Attachment::new(
                    "invite.ics",
                    "text/calendar",
                    b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
                ),
            ],
            org_id: None,
            contact_id: None,
        };
        let now = app.state.clock.now();
        let mut tx = app.state.db.begin().await.unwrap();
        rapport::mail::enqueue(&mut tx.conn(), &email, now, 4)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let mail = kit::mailbox(&app).await;
        assert_eq!(mail.len(), 1);
        let m = &mail[0];
        assert_eq!(m.text_body, "Plain text body");
        assert!(m.html_body.contains("<b>body</b>"));
        assert_eq!(count(&app, "outbox WHERE state = 'sent'").await, 1);
        assert_eq!(count(&app, "jobs WHERE state = 'done'").await, 1);

        let (status, list) = app.get_text("/dev/mailbox").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            list.contains("Your meeting notes") && list.contains("📎 2"),
            "{list}"
        );
        let (status, page) = app.get_text(&format!("/dev/mailbox/{}", m.id)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            page.contains("notes.txt")
                && page.contains("invite.ics")
                && page.contains("text/calendar")
        );
        assert!(page.contains("Plain text body"));
        let r = app
            .get(&format!("/dev/mailbox/{}/attachments/0", m.id))
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(
            r.headers()[reqwest::header::CONTENT_DISPOSITION]
                .to_str()
                .unwrap()
                .contains("notes.txt")
        );
        assert_eq!(r.bytes().await.unwrap().as_ref(), b"line one\nline two");
        let r = app.get(&format!("/dev/mailbox/{}/html", m.id)).await;
        assert!(
            r.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .starts_with("sandbox")
        );
        assert_eq!(
            app.get(&format!("/dev/mailbox/{}/attachments/2", m.id))
                .await
                .status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.get("/dev/mailbox/999999").await.status(),
            StatusCode::NOT_FOUND
        );

        // Once sent, the outbox row keeps its subject for the timeline but not the bodies or
        // attachments (an invitation's carry the join link and passcode).
        let mut pooled = app.state.db.acquire().await.unwrap();
        let row = rapport::sql_as!(
        &mut pooled.conn(),
        rapport::mail::OutboxRow,
        fetch_one,
        "SELECT id, org_id, contact_id, to_address, to_name, subject, text_body, html_body, attachments, state FROM outbox"
    )
    .unwrap();
        assert_eq!(
            (
                row.subject.as_str(),
                row.text_body.as_str(),
                row.html_body.as_str(),
                row.attachments().len()
            ),
            ("Your meeting notes", "", "", 0)
        );

        // The message as queued, as MIME: text and HTML alternatives, then the attachments.
        let row = rapport::mail::OutboxRow {
            text_body: email.text_body.clone(),
            html_body: email.html_body.clone(),
            attachments: serde_json::to_string(&email.attachments).unwrap(),
            state: "queued".into(),
            ..row
        };
        let mime = String::from_utf8(
            rapport::mail::build_message(&app.state.config.mail_from, &row)
                .unwrap()
                .formatted(),
        )
        .unwrap();
        for part in [
            "multipart/mixed",
            "multipart/alternative",
            "text/plain",
            "text/html",
            "filename=\"notes.txt\"",
            "text/calendar",
        ] {
            assert!(mime.contains(part), "{part} missing in {mime}");
        }
    }
);

async fn smtp_retry_then_delivery(db: Db) {
    let smtp = SmtpServer::start(true).await;
    let url = smtp.url();
    let Some(app) = spawn_on(db, &["--smtp-url", &url]).await else {
        return;
    };
    app.sign_up("Ada Lovelace", "ada@example.com", "Analytical Engines")
        .await;
    assert_eq!(
        app.get("/dev/mailbox").await.status(),
        StatusCode::NOT_FOUND,
        "no dev mailbox with SMTP"
    );
    invite(&app, "Bob Babbage", "bob@example.com").await;
    // The worker tries at once, the server is down: the job waits for a retry.
    assert!(
        eventually(20, || async {
            only_job(&app).await.attempts >= 1 && only_job(&app).await.state == "queued"
        })
        .await,
        "{:?}",
        only_job(&app).await
    );
    let job = only_job(&app).await;
    assert!(
        job.run_at > job.updated_at,
        "retry is scheduled later: {job:?}"
    );
    assert!(
        job.run_at - job.updated_at <= Duration::seconds(2 << job.attempts),
        "{job:?}"
    );
    assert!(
        job.last_error.as_deref().unwrap_or("").contains("SMTP"),
        "{job:?}"
    );
    assert!(job.attempts < 4);
    assert_eq!(count(&app, "outbox WHERE state = 'pending'").await, 1);
    assert!(smtp.messages().is_empty());

    smtp.set_down(false);
    app.state.clock.advance(Duration::hours(1));
    assert!(
        eventually(30, || async { !smtp.messages().is_empty() }).await,
        "never delivered"
    );
    assert!(
        eventually(10, || async {
            count(&app, "outbox WHERE state = 'sent'").await == 1
        })
        .await
    );
    app.state.clock.advance(Duration::hours(1));
    app.drain_jobs().await;
    assert_eq!(only_job(&app).await.state, "done");
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1, "delivered exactly once");
    let m = &messages[0];
    assert!(
        m.contains("To: \"Bob Babbage\" <bob@example.com>")
            || m.contains("To: Bob Babbage <bob@example.com>"),
        "{m}"
    );
    for part in [
        "multipart/alternative",
        "text/plain",
        "text/html",
        "/set-password/",
    ] {
        assert!(m.contains(part), "{part} missing: {m}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_down_then_up_delivers_once_sqlite() {
    smtp_retry_then_delivery(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_down_then_up_delivers_once_postgres() {
    smtp_retry_then_delivery(Db::Postgres).await;
}

async fn dead_job_on_admin_page(db: Db) {
    let smtp = SmtpServer::start(true).await;
    let url = smtp.url();
    let Some(app) = spawn_on(db, &["--smtp-url", &url]).await else {
        return;
    };
    app.sign_up("Ada Lovelace", "ada@example.com", "Analytical Engines")
        .await;
    invite(&app, "Bob Babbage", "bob@example.com").await;
    for _ in 0..12 {
        app.state.clock.advance(Duration::hours(2));
        app.drain_jobs().await;
    }
    assert!(eventually(20, || async { only_job(&app).await.state == "dead" }).await);
    let job = only_job(&app).await;
    assert_eq!(job.attempts, 4, "test configuration: 4 attempts");
    assert_eq!(
        count(&app, "outbox WHERE state = 'pending'").await,
        1,
        "the message is kept"
    );
    assert!(smtp.messages().is_empty());

    let (status, page) = app.get_text("/admin/jobs?state=dead").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("send_email") && page.contains("4 / 4"),
        "{page}"
    );
    assert!(page.contains("SMTP"), "last error shown");
    let (_, queued) = app.get_text("/admin/jobs?state=queued").await;
    let job_id = kit::scalar(&app, "SELECT id FROM jobs").await;
    assert!(
        !queued.contains(&format!("<tr><td>{job_id}</td>")),
        "the dead job is not listed as queued"
    );

    // Bob (a member) sets his password from the link in the stored message, and is refused the page.
    let body = text(&app, "SELECT text_body FROM outbox").await;
    let link = crate::support::link_in(&body, &app.url("/set-password/")).unwrap();
    let path = link.trim_start_matches(&app.base).to_owned();
    let bob = new_client();
    let r = submit_with(
        &bob,
        &app.base,
        &path,
        &path,
        &[("password", "bobs own passphrase")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = kit::sign_in_with(
        &bob,
        &app.base,
        "bob@example.com",
        "bobs own passphrase",
        "",
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        kit::get(&bob, &app.base, "/admin/jobs?state=dead")
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    // Another organization's owner sees none of it.
    let other = kit::browser_with_org(&app, "Mallory", "mallory@example.com", "Other Org").await;
    let (status, page) = kit::get_text(&other, &app.base, "/admin/jobs?state=dead").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("send_email"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_goes_dead_after_max_attempts_sqlite() {
    dead_job_on_admin_page(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_goes_dead_after_max_attempts_postgres() {
    dead_job_on_admin_page(Db::Postgres).await;
}

async fn concurrent_claims(db: Db) {
    let Some(first) = spawn_on(db, &[]).await else {
        return;
    };
    let second = TestApp::spawn_with(db, Some(first.database_url.clone()), &[]).await;
    // Jobs due a day from now: the apps' own workers (on the real clock) leave them alone, and the
    // claims below pass that time explicitly.
    let later = first.state.clock.now() + Duration::days(1);
    let mut tx = first.state.db.begin().await.unwrap();
    for n in 0..200 {
        rapport::jobs::enqueue(
            &mut tx.conn(),
            None,
            rapport::jobs::JobKind::SendEmail,
            &rapport::mail::SendEmailJob { outbox_id: n },
            later,
            4,
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let mut tasks = Vec::new();
    for w in 0..16 {
        let db = if w % 2 == 0 {
            first.state.db.clone()
        } else {
            second.state.db.clone()
        };
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                match rapport::jobs::claim(&db, later, &format!("worker-{w}")).await {
                    Ok(Some(job)) => mine.push(job.id),
                    Ok(None) => break,
                    Err(e) => panic!("claim failed: {e}"),
                }
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let total = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), total, "a job was claimed twice");
    assert_eq!(total, 200, "every job claimed");
    assert_eq!(
        count(&first, "jobs WHERE state = 'running' AND attempts = 1").await,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_never_claim_the_same_job_postgres() {
    concurrent_claims(Db::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_never_claim_the_same_job_sqlite() {
    concurrent_claims(Db::Sqlite).await;
}

both_databases!(
    job_whose_lease_expired_runs_again,
    |app: TestApp| async move {
        // A message due in a day, claimed by a worker that then dies (never completes it).
        let later = app.state.clock.now() + Duration::days(1);
        let email = rapport::mail::Email {
            to_address: "grace@navy.example".into(),
            to_name: None,
            subject: "Lease test".into(),
            text_body: "t".into(),
            html_body: "<p>t</p>".into(),
            attachments: vec![],
            org_id: None,
            contact_id: None,
        };
        let mut tx = app.state.db.begin().await.unwrap();
        rapport::mail::enqueue(&mut tx.conn(), &email, later, 4)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let claimed = rapport::jobs::claim(&app.state.db, later, "doomed-worker")
            .await
            .unwrap()
            .expect("claimed");
        assert_eq!(claimed.attempts, 1);

        // Within the lease nobody else takes it.
        app.state
            .clock
            .advance(Duration::days(1) + Duration::minutes(1));
        assert!(app.mailbox().await.is_empty());
        assert_eq!(only_job(&app).await.state, "running");
        // After the lease, it runs again and is delivered once.
        app.state.clock.advance(Duration::minutes(2));
        let mail = kit::mailbox(&app).await;
        assert_eq!(mail.len(), 1);
        assert_eq!(mail[0].subject, "Lease test");
        let job = only_job(&app).await;
        assert_eq!((job.state.as_str(), job.attempts), ("done", 2));
    }
);

both_databases!(
    metrics_count_requests_by_route_and_jobs_by_state,
    |app: TestApp| async move {
        app.sign_up("Ada Lovelace", "ada@example.com", "Analytical Engines")
            .await;
        assert_eq!(
            app.get("/contacts/424242").await.status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(app.get("/contacts").await.status(), StatusCode::OK);
        let (status, metrics) = app.get_text("/metrics").await;
        assert_eq!(status, StatusCode::OK);
        let lines: Vec<&str> = metrics
            .lines()
            .filter(|l| l.starts_with("http_requests_total{"))
            .collect();
        assert!(
            lines
                .iter()
                .any(|l| l.contains("route=\"/contacts/{id}\"") && l.contains("status=\"404\"")),
            "{metrics}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.contains("route=\"/contacts\"") && l.contains("method=\"GET\""))
        );
        assert!(!metrics.contains("424242"), "raw ids are not labels");
        for state in ["queued", "running", "done", "dead"] {
            assert!(
                metrics.contains(&format!("rapport_jobs{{state=\"{state}\"}}")),
                "{state}: {metrics}"
            );
        }
    }
);

/// A child `rapport serve` process, killed when dropped (also when an assertion fails).
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_rapport(data_dir: &std::path::Path, port: u16, smtp_url: &str) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(data_dir.join("rapport-test.log"))
        .unwrap();
    Child(
        std::process::Command::new(env!("CARGO_BIN_EXE_rapport"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RAPPORT_DATA_DIR", data_dir)
            .env("RAPPORT_ADDR", format!("127.0.0.1:{port}"))
            .env("RAPPORT_SMTP_URL", smtp_url)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start rapport"),
    )
}

async fn wait_ready(base: &str) {
    let client = new_client();
    let up = eventually(60, || {
        let client = client.clone();
        let base = base.to_owned();
        async move {
            matches!(client.get(format!("{base}/readyz")).send().await, Ok(r) if r.status() == StatusCode::OK)
        }
    })
    .await;
    assert!(up, "rapport did not start");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_server_loses_no_queued_mail() {
    let smtp = SmtpServer::start(true).await;
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = start_rapport(data.path(), port, &smtp.url());
    wait_ready(&base).await;

    let owner = new_client();
    let r = submit_with(
        &owner,
        &base,
        "/sign-up",
        "/sign-up",
        &[
            ("name", "Ada Lovelace"),
            ("email", "ada@example.com"),
            ("password", kit::PASSWORD),
            ("org_name", "Analytical Engines"),
            ("time_zone", "UTC"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let teammates = ["bob@example.com", "cyd@example.com", "dee@example.com"];
    for email in teammates {
        let r = submit_with(
            &owner,
            &base,
            "/settings/team",
            "/settings/team",
            &[("name", "Teammate"), ("email", email)],
        )
        .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
    // Every message has been tried once against the down server.
    let tried = eventually(30, || {
        let owner = owner.clone();
        let base = base.clone();
        async move {
            let page = kit::get(&owner, &base, "/admin/jobs?state=queued")
                .await
                .text()
                .await
                .unwrap();
            page.matches("send_email").count() == 3 && !page.contains("<td>0 / ")
        }
    })
    .await;
    assert!(tried, "jobs were not tried");
    assert!(smtp.messages().is_empty());

    child.0.kill().unwrap();
    child.0.wait().unwrap();
    smtp.set_down(false);

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let _restarted = start_rapport(data.path(), port, &smtp.url());
    wait_ready(&base).await;
    // Retries are at most a few seconds apart at this point; a job caught mid-attempt by the kill
    // waits for its two-minute lease.
    let all_arrived = eventually(170, || async { smtp.messages().len() >= 3 }).await;
    let log = std::fs::read_to_string(data.path().join("rapport-test.log")).unwrap_or_default();
    assert!(
        all_arrived,
        "messages lost: {} arrived\n{log}",
        smtp.messages().len()
    );
    let jobs_done = eventually(30, || {
        let owner = owner.clone();
        let base = base.clone();
        async move {
            let page = kit::get(&owner, &base, "/admin/jobs?state=done")
                .await
                .text()
                .await
                .unwrap();
            page.matches("send_email").count() == 3
        }
    })
    .await;
    assert!(jobs_done);
    let messages = smtp.messages();
    for email in teammates {
        assert_eq!(
            messages
                .iter()
                .filter(|m| m.contains(&format!("<{email}>")))
                .count(),
            1,
            "{email}"
        );
    }
    assert_eq!(messages.len(), 3);
}

// A worker loop records the job it ran together with its next claim. Stopped in the middle of
// a burst, it must still record the last job it ran: left `running`, that job would wait out
// its two-minute lease and its email would go out twice.
both_databases!(
    a_worker_stopped_mid_burst_leaves_no_job_running,
    |app: TestApp| async move {
        let now = app.state.clock.now();
        let mut tx = app.state.db.begin().await.unwrap();
        for n in 0..30 {
            let email = rapport::mail::Email {
                to_address: format!("guest{n}@example.com"),
                to_name: None,
                subject: format!("Message {n}"),
                text_body: "Body".into(),
                html_body: "<p>Body</p>".into(),
                attachments: Vec::new(),
                org_id: None,
                contact_id: None,
            };
            rapport::mail::enqueue(&mut tx.conn(), &email, now, 4)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        // A second set of loops on the same database, like another node, stopped as soon as
        // the first message is out.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let worker = tokio::spawn(rapport::jobs::worker::run(app.state.clone(), stopped));
        assert!(
            eventually(10, || async {
                count(&app, "outbox WHERE state = 'sent'").await > 0
            })
            .await
        );
        stop.send(true).unwrap();
        worker.await.unwrap();
        assert!(
            eventually(10, || async {
                count(&app, "jobs WHERE state <> 'done'").await == 0
                    && count(&app, "outbox WHERE state = 'sent'").await == 30
            })
            .await,
            "{} jobs not done",
            count(&app, "jobs WHERE state <> 'done'").await
        );
        assert_eq!(app.mailbox().await.len(), 30, "each message once");
    }
);
