//! The crash between Zoom's answer and Rapport's write, with the real `rapport` binary: Zoom
//! creates the meeting, the process is killed (SIGKILL) before it hears back, and after a restart
//! there is exactly one meeting in Zoom and in Rapport, and the contact gets one invitation.
//!
//! The simulator and the SMTP server run in this test process, so they outlive Rapport.

use std::process::Stdio;
use std::time::Duration;

use reqwest::StatusCode;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use zoom_sim::{AppConfig, Fault, FaultAction, Plan, SimHandle, ZoomSim};

use crate::kit::{self, SmtpServer, create_contact, eventually, get_text};
use crate::meetings::{HOST, ZOOM_USER, connect_zoom_at, schedule_form_at, with};
use crate::support::{fresh_postgres_database, new_client, postgres_server_url, submit_with};

const CLIENT_ID: &str = "rapport-restart-test";
const CLIENT_SECRET: &str = "restart-test-client-secret";
/// Rapport's timeout for one Zoom call in this test: short enough that the safety-net
/// reconciliation (three timeouts after the pending record) is due soon after the restart, long
/// enough for the test to kill the process while it is still waiting for Zoom.
const ZOOM_TIMEOUT_SECS: &str = "5";

/// A `rapport serve` process and the URL it listens on.
struct Rapport {
    child: Child,
    base: String,
}

async fn start_rapport(args: &[String]) -> Rapport {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rapport"))
        .args(args)
        // Only what this test passes: no DATABASE_URL or ZOOM_* from the environment.
        .env_clear()
        .env("RAPPORT_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the rapport binary");
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    // Keep reading both pipes for the life of the process, or it blocks on a full pipe.
    for stream in [
        Box::new(stdout) as Box<dyn tokio::io::AsyncRead + Unpin + Send>,
        Box::new(stderr),
    ] {
        let tx = lines_tx.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stream).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                eprintln!("rapport> {line}");
                let _ = tx.send(line);
            }
        });
    }
    let marker = "listening on http://";
    let base = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.recv().await {
            if let Some(at) = line.find(marker) {
                let addr: String = line[at + marker.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                    .collect();
                return format!("http://{addr}");
            }
        }
        panic!("rapport exited before listening");
    })
    .await
    .expect("rapport starts within a minute");
    Rapport { child, base }
}

/// What the test reads in Rapport's database (the binary owns it; this is a second client).
async fn db_count(db: &rapport::db::Db, sql: &str) -> i64 {
    let mut pooled = db.acquire().await.expect("conn");
    rapport::sql_scalar!(
        &mut pooled.conn(),
        i64,
        fetch_one,
        sqlx::AssertSqlSafe(sql.to_owned())
    )
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn start_sim() -> SimHandle {
    ZoomSim::builder()
        .start("127.0.0.1:0")
        .await
        .expect("simulator starts")
}

fn invitations(smtp: &SmtpServer) -> usize {
    smtp.messages()
        .iter()
        .filter(|m| m.contains("grace@example.com") && m.contains("Invitation: Compiler review"))
        .count()
}

async fn crash_between_zoom_and_rapport(database_url: String, data_dir: &std::path::Path) {
    let sim = start_sim().await;
    let smtp = SmtpServer::start(false).await;
    let args: Vec<String> = [
        "--addr",
        "127.0.0.1:0",
        "--data-dir",
        &data_dir.display().to_string(),
        "--database-url",
        &database_url,
        "--secret-key",
        &rapport::vault::generate_key(),
        "--zoom-client-id",
        CLIENT_ID,
        "--zoom-client-secret",
        CLIENT_SECRET,
        "--zoom-oauth-url",
        &sim.state().base_url(),
        "--zoom-api-url",
        &sim.state().base_url(),
        "--zoom-timeout-secs",
        ZOOM_TIMEOUT_SECS,
        "--smtp-url",
        &smtp.url(),
        "--log-format",
        "json",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();

    let first = start_rapport(&args).await;
    let base = first.base.clone();
    sim.state().add_app(AppConfig {
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
        redirect_urls: vec![format!("{base}/settings/zoom/callback")],
        webhook_url: None,
        webhook_secret: "restart-test-webhook-secret".into(),
        verification_token: None,
        scopes: zoom_api::endpoints::required_scopes()
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        name: "Rapport".into(),
        events: Vec::new(),
    });
    let ada = new_client();
    let r = submit_with(
        &ada,
        &base,
        "/sign-up",
        "/sign-up",
        &[
            ("name", "Ada Lovelace"),
            ("email", HOST),
            ("password", kit::PASSWORD),
            ("org_name", "Analytical Engines"),
            ("time_zone", "Europe/Paris"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "signed up");
    connect_zoom_at(&base, &sim.state(), &ada, ZOOM_USER, Plan::Licensed).await;
    let contact = create_contact(
        &ada,
        &base,
        &[
            ("name", "Grace Hopper"),
            ("email", "grace@example.com"),
            ("time_zone", "America/New_York"),
        ],
    )
    .await;

    // Zoom creates the meeting, then does not answer: Rapport waits (up to its timeout).
    sim.state().inject(
        Fault::new(FaultAction::Hang { secs: None })
            .on("POST", "/v2/users/me/meetings")
            .times(1),
    );
    let (csrf, key) = schedule_form_at(&base, &ada, contact).await;
    let submit = {
        let (base, ada) = (base.clone(), ada.clone());
        tokio::spawn(async move {
            let mut fields: Vec<(&str, String)> = with(&[]);
            fields.push(("csrf_token", csrf));
            fields.push(("idempotency_key", key));
            ada.post(format!("{base}/contacts/{contact}/meetings"))
                .form(&fields)
                .send()
                .await
                .map(|r| r.status())
        })
    };
    let created = eventually(10, || async { sim.state().meetings().len() == 1 }).await;
    assert!(created, "Zoom created the meeting");
    let mut first = first;
    first.child.kill().await.expect("kill -9 rapport");
    // The browser's request died with the process.
    let answer = submit.await.expect("request task");
    assert!(
        answer.is_err(),
        "the schedule request got no answer: {answer:?}"
    );

    let db = rapport::db::Db::connect(&database_url, 2)
        .await
        .expect("open Rapport's database");
    // Killed inside the window: Zoom has the meeting, Rapport only its pending record.
    assert_eq!(
        db_count(
            &db,
            "SELECT COUNT(*) FROM meetings WHERE status = 'pending' AND zoom_meeting_id IS NULL"
        )
        .await,
        1,
        "the process died before storing Zoom's answer"
    );
    assert_eq!(db_count(&db, "SELECT COUNT(*) FROM outbox").await, 0);
    assert_eq!(invitations(&smtp), 0);

    let second = start_rapport(&args).await;
    let invited = eventually(90, || async { invitations(&smtp) >= 1 }).await;
    assert!(
        invited,
        "the restarted Rapport adopted the meeting and sent the invitation"
    );
    // Every job (the safety net included) has run: nothing more will be sent.
    let idle = eventually(30, || async {
        db_count(
            &db,
            "SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running')",
        )
        .await
            == 0
    })
    .await;
    assert!(idle, "no job left to run");

    let zoom = sim.state().meetings();
    assert_eq!(zoom.len(), 1, "exactly one meeting in Zoom");
    assert_eq!(
        db_count(&db, "SELECT COUNT(*) FROM meetings").await,
        1,
        "exactly one meeting in Rapport"
    );
    assert_eq!(
        db_count(
            &db,
            &format!(
                "SELECT COUNT(*) FROM meetings WHERE status = 'scheduled' AND zoom_meeting_id = '{}'",
                zoom[0].id
            )
        )
        .await,
        1,
        "Rapport's meeting is Zoom's"
    );
    assert_eq!(db_count(&db, "SELECT COUNT(*) FROM outbox").await, 1);
    assert_eq!(invitations(&smtp), 1, "exactly one invitation");
    assert!(
        smtp.messages()
            .iter()
            .any(|m| m.contains(&zoom[0].password)),
        "the invitation carries the adopted meeting's passcode"
    );

    // The host sees it as scheduled.
    let again = new_client();
    let r = kit::sign_in_with(&again, &second.base, HOST, kit::PASSWORD, "").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, page) = get_text(&again, &second.base, &format!("/contacts/{contact}")).await;
    assert!(page.contains("Compiler review"), "{page}");
    assert!(page.contains("Scheduled"), "{page}");
    drop(second);
}

mod crash_between_zoom_answer_and_rapport_write {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = rapport::db::Db::sqlite_url_in(dir.path());
        crash_between_zoom_and_rapport(url, dir.path()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let Some(server) = postgres_server_url() else {
            return;
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let url = fresh_postgres_database(&server).await;
        crash_between_zoom_and_rapport(url, dir.path()).await;
    }
}
