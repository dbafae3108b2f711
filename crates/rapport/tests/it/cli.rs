//! The command line, run as the real `rapport` binary against the database of a running
//! Rapport: feature flags, key rotation and the readiness check.

use reqwest::StatusCode;
use zoom_sim::Plan;

use crate::both_databases;
use crate::kit::{self, RapportProcess, get_text, run_rapport};
use crate::support::{Db, TestApp, new_client, submit_with};
use crate::zoom::{advance_both, connect, node_sharing, token_requests, user_id};

/// The environment of a one-shot command on `app`'s database, in a data directory of its own.
/// (Every command on PostgreSQL needs a key; commands that decrypt nothing accept any.)
fn env_for<'a>(app: &'a TestApp, data_dir: &'a str, key: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("DATABASE_URL", app.database_url.as_str()),
        ("RAPPORT_DATA_DIR", data_dir),
        ("RAPPORT_SECRET_KEY", key),
    ]
}

async fn offers_zoom(app: &TestApp, client: &reqwest::Client) -> bool {
    let (status, page) = get_text(client, &app.base, "/settings").await;
    assert_eq!(status, StatusCode::OK);
    page.contains("Connect Zoom")
}

both_databases!(
    flags_set_changes_the_running_app,
    |app: TestApp| async move {
        app.sign_up("Ada", "ada@example.com", "Ada Co").await;
        let bob = kit::browser_with_org(&app, "Bob", "bob@example.com", "Bob Co").await;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().display().to_string();
        let key = rapport::vault::generate_key();
        let env = env_for(&app, &data, &key);
        let flags = |args: &[&str]| {
            let mut argv = vec!["flags"];
            argv.extend_from_slice(args);
            run_rapport(&argv, &env)
        };

        let (ok, out, err) = flags(&["show"]);
        assert!(ok, "{err}");
        assert_eq!(out.trim(), "zoom: on for everyone");
        assert!(offers_zoom(&app, &app.client).await);

        let (ok, out, err) = flags(&["set", "zoom", "--off"]);
        assert!(ok, "{err}");
        assert_eq!(out.trim(), "zoom: off");
        // The running app sees it at once, without a restart.
        assert!(!offers_zoom(&app, &app.client).await);
        assert!(!offers_zoom(&app, &bob).await);
        assert_eq!(flags(&["show"]).1.trim(), "zoom: off");

        let (ok, out, err) = flags(&["set", "zoom", "--org", "Bob Co"]);
        assert!(ok, "{err}");
        assert_eq!(out.trim(), "zoom: on only for organization Bob Co");
        assert!(!offers_zoom(&app, &app.client).await);
        assert!(offers_zoom(&app, &bob).await);

        let (ok, _, err) = flags(&["set", "zoom", "--user", "ada@example.com"]);
        assert!(ok, "{err}");
        assert!(offers_zoom(&app, &app.client).await);
        let (ok, _, err) = flags(&["set", "zoom", "--org", "Ada Co"]);
        assert!(ok, "{err}");
        // The same order on SQLite and PostgreSQL (NULLs sort differently in each):
        // organizations, then users, each by name, whatever order they were added in.
        let shown = flags(&["show"]).1;
        assert_eq!(
            shown.trim(),
            "zoom: on only for organization Ada Co, organization Bob Co, user ada@example.com"
        );

        // Refused changes say why and change nothing.
        let (ok, _, err) = flags(&["set", "zoom", "--org", "Nobody Inc"]);
        assert!(!ok);
        assert!(err.contains("no organization is named"), "{err}");
        let (ok, _, err) = flags(&["set", "video", "--all"]);
        assert!(!ok);
        assert!(err.contains("unknown flag"), "{err}");
        assert_eq!(flags(&["show"]).1, shown);

        let (ok, out, err) = flags(&["set", "zoom", "--all"]);
        assert!(ok, "{err}");
        assert_eq!(out.trim(), "zoom: on for everyone");
        assert!(offers_zoom(&app, &app.client).await);
        assert!(offers_zoom(&app, &bob).await);
    }
);

/// A fresh database URL for `db`, or None when PostgreSQL is not available.
async fn fresh_database(db: Db) -> Option<Option<String>> {
    match db {
        Db::Sqlite => Some(None),
        Db::Postgres => {
            let server = crate::support::postgres_server_url()?;
            Some(Some(crate::support::fresh_postgres_database(&server).await))
        }
    }
}

async fn rotation(db: Db) {
    let Some(url) = fresh_database(db).await else {
        return;
    };
    let old_key = rapport::vault::generate_key();
    let new_key = rapport::vault::generate_key();
    let first = TestApp::spawn_with(db, url, &["--secret-key", &old_key]).await;
    first.sign_up("Ada", "ada@example.com", "Ada Co").await;
    connect(&first, &first.client, "ada.zoom@example.com", Plan::Basic).await;
    let uid = user_id(&first, "ada@example.com").await;

    // Only the new key, before any rotation: the stored tokens cannot be read, and that is an
    // error the caller can show, not a crash; the pages still work.
    let early = node_sharing(&first, &new_key).await;
    let err = rapport::zoom::tokens::access_token(&early.state, uid)
        .await
        .unwrap_err();
    assert!(
        matches!(err, rapport::zoom::tokens::TokenError::Vault(_)),
        "{err}"
    );
    kit::sign_in_with(
        &early.client,
        &early.base,
        "ada@example.com",
        kit::PASSWORD,
        "/settings",
    )
    .await;
    let (status, page) = get_text(&early.client, &early.base, "/settings").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    early.shutdown().await;

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let mut env = env_for(&first, &data, &new_key);
    // Without the previous key the rotation cannot read the tokens: it fails and changes nothing.
    let (ok, _, err) = run_rapport(&["secrets", "rotate"], &env);
    assert!(!ok, "rotation without the previous key must fail");
    assert!(err.contains("connection"), "{err}");
    assert!(!err.contains(&old_key) && !err.contains(&new_key), "{err}");
    rapport::zoom::tokens::access_token(&first.state, uid)
        .await
        .expect("the old key still reads every token");

    env.push(("RAPPORT_SECRET_KEY_PREVIOUS", old_key.as_str()));
    let (ok, out, err) = run_rapport(&["secrets", "rotate"], &env);
    assert!(ok, "{err}");
    assert!(out.contains("Re-encrypted 1 of 1 connections"), "{out}");

    // A node with only the new key uses the connection: the access token now, and the refresh
    // token when the access token runs out.
    let rotated = node_sharing(&first, &new_key).await;
    let token = rapport::zoom::tokens::access_token(&rotated.state, uid)
        .await
        .expect("the new key reads the access token");
    let me = rotated
        .state
        .zoom
        .api
        .me(&token)
        .await
        .expect("Zoom accepts it");
    assert_eq!(me.email.as_deref(), Some("ada.zoom@example.com"));
    advance_both(&first, 56);
    rotated.state.clock.advance(chrono::Duration::minutes(56));
    let refreshed = rapport::zoom::tokens::access_token(&rotated.state, uid)
        .await
        .expect("the new key reads the refresh token");
    assert_eq!(token_requests(&first, "refresh_token"), 1);
    rotated
        .state
        .zoom
        .api
        .me(&refreshed)
        .await
        .expect("the refreshed token works");
    // The old key alone no longer reads them.
    let stale = node_sharing(&first, &old_key).await;
    assert!(matches!(
        rapport::zoom::tokens::access_token(&stale.state, uid).await,
        Err(rapport::zoom::tokens::TokenError::Vault(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_rotate_reencrypts_stored_tokens_sqlite() {
    rotation(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_rotate_reencrypts_stored_tokens_postgres() {
    rotation(Db::Postgres).await;
}

/// A complete production-like configuration (see `marketplace::doctor`'s unit tests).
const PRODUCTION: &[(&str, &str)] = &[
    ("RAPPORT_ENV", "production"),
    ("RAPPORT_PUBLIC_URL", "https://crm.example.com"),
    ("ZOOM_CLIENT_ID", "AbC123prod"),
    ("ZOOM_CLIENT_SECRET", "s3cret-from-the-marketplace"),
    ("ZOOM_WEBHOOK_SECRET_TOKEN", "whsec-from-the-marketplace"),
    (
        "RAPPORT_SMTP_URL",
        "smtp://mail.example.com:587?tls=required",
    ),
    ("RAPPORT_TRUSTED_PROXIES", "127.0.0.1"),
    ("RAPPORT_SUPPORT_EMAIL", "help@example.com"),
    ("RAPPORT_OPERATOR_NAME", "Example Ltd"),
    ("ZOOM_DOMAIN_VERIFICATION", "abc123"),
    (
        "RAPPORT_SECRET_KEY",
        "BwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSY=",
    ),
];

fn doctor(data_dir: &str, drop: &[&str], extra: &[(&str, &str)]) -> (bool, String, String) {
    let mut env: Vec<(&str, &str)> = PRODUCTION
        .iter()
        .filter(|(k, _)| !drop.contains(k))
        .copied()
        .collect();
    env.push(("RAPPORT_DATA_DIR", data_dir));
    env.extend_from_slice(extra);
    run_rapport(&["doctor"], &env)
}

#[test]
fn doctor_exit_status_follows_the_blockers() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();

    let (ok, out, err) = doctor(&data, &[], &[]);
    assert!(ok, "a complete configuration passes:\n{out}\n{err}");
    assert!(!out.contains("BLOCKER"), "{out}");
    // SQLite in production is worth a warning, not a blocker.
    assert!(out.contains("[warning] database"), "{out}");

    let (ok, out, _) = doctor(
        &data,
        &["ZOOM_WEBHOOK_SECRET_TOKEN", "RAPPORT_SMTP_URL"],
        &[],
    );
    assert!(!ok, "missing pieces block a submission:\n{out}");
    assert!(out.contains("[BLOCKER] webhook-secret"), "{out}");
    assert!(out.contains("[BLOCKER] smtp"), "{out}");
    assert!(out.contains("2 blocker(s)"), "{out}");

    let (ok, out, _) = doctor(
        &data,
        &[],
        &[("RAPPORT_PUBLIC_URL", "https://abcd.ngrok-free.app")],
    );
    assert!(!ok, "{out}");
    assert!(out.contains("[BLOCKER] public-url"), "{out}");

    // What the database says counts too: the Zoom feature still limited to a test account.
    let mut env: Vec<(&str, &str)> = PRODUCTION.to_vec();
    env.push(("RAPPORT_DATA_DIR", &data));
    let (ok, _, err) = run_rapport(
        &[
            "user",
            "add",
            "--org",
            "Example",
            "--email",
            "tester@example.com",
            "--name",
            "Tess",
        ],
        &env,
    );
    assert!(ok, "{err}");
    let (ok, _, err) = run_rapport(
        &["flags", "set", "zoom", "--user", "tester@example.com"],
        &env,
    );
    assert!(ok, "{err}");
    let (ok, out, err) = doctor(&data, &[], &[]);
    assert!(ok, "a warning does not block:\n{out}\n{err}");
    assert!(out.contains("[warning] feature-flag"), "{out}");
    assert!(out.contains("tester@example.com"), "{out}");
    // The report never prints the secrets it checked.
    for (_, secret) in PRODUCTION.iter().filter(|(k, _)| k.contains("SECRET")) {
        assert!(!out.contains(secret), "{out}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_reads_the_flag_from_postgresql() {
    let Some(server) = crate::support::postgres_server_url() else {
        return;
    };
    let url = crate::support::fresh_postgres_database(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let mut env: Vec<(&str, &str)> = PRODUCTION.to_vec();
    env.push(("RAPPORT_DATA_DIR", &data));
    env.push(("DATABASE_URL", &url));
    let (ok, out, err) = run_rapport(&["doctor"], &env);
    assert!(ok, "{out}\n{err}");
    // PostgreSQL in production: nothing to report, but for the server's autovacuum if it is
    // off (this machine's CI server runs with it off).
    let db = rapport::db::Db::connect(&url, 1).await.unwrap();
    if db.autovacuum().await.unwrap() == Some(false) {
        assert!(
            out.contains(rapport::marketplace::doctor::AUTOVACUUM_OFF)
                && out.contains("0 blocker(s), 1 warning(s)"),
            "{out}"
        );
    } else {
        assert!(out.contains("All checks passed"), "{out}");
    }
    db.close().await;
    let (ok, _, err) = run_rapport(&["flags", "set", "zoom", "--off"], &env);
    assert!(ok, "{err}");
    let (ok, out, _) = run_rapport(&["flags", "show"], &env);
    assert!(ok);
    assert_eq!(out.trim(), "zoom: off");
}

both_databases!(
    dev_mail_queues_test_messages_that_the_running_app_delivers,
    |app: TestApp| async move {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().display().to_string();
        let key = rapport::vault::generate_key();
        let env = env_for(&app, &data, &key);

        // A bad address is refused with the option named, and nothing is queued.
        let (ok, _, err) = run_rapport(&["dev", "mail", "--to", "not an address"], &env);
        assert!(!ok);
        assert!(err.contains("--to"), "{err}");
        assert_eq!(kit::count(&app, "outbox").await, 0);

        let (ok, out, err) = run_rapport(
            &["dev", "mail", "--to", "ops@example.com", "--count", "3"],
            &env,
        );
        assert!(ok, "{err}");
        assert_eq!(out.trim(), "Queued 3 test messages to ops@example.com.");
        // The running app's worker picks them up (within its idle poll) and sends each once.
        let mut sent = 0;
        for _ in 0..100 {
            sent = kit::count(
                &app,
                "outbox WHERE to_address = 'ops@example.com' AND state = 'sent'",
            )
            .await;
            if sent == 3 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(sent, 3, "the three test messages were delivered");
        assert_eq!(kit::count(&app, "outbox").await, 3);
    }
);

both_databases!(
    dev_seed_fills_an_organization_with_searchable_contacts,
    |app: TestApp| async move {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().display().to_string();
        let key = rapport::vault::generate_key();
        let env = env_for(&app, &data, &key);
        let client = kit::browser_with_org(&app, "Sam Seed", "sam@example.com", "Seeded Co").await;

        let (ok, _, err) = run_rapport(
            &[
                "dev",
                "seed",
                "--org",
                "Seeded Co",
                "--per-transaction",
                "0",
            ],
            &env,
        );
        assert!(!ok && err.contains("--per-transaction"), "{err}");

        // More than one transaction's and one statement's worth, not a multiple of either.
        let (ok, out, err) = run_rapport(
            &[
                "dev",
                "seed",
                "--org",
                "Seeded Co",
                "--contacts",
                "1234",
                "--per-transaction",
                "500",
            ],
            &env,
        );
        assert!(ok, "{err}");
        assert!(out.contains("Added 1234 contacts to Seeded Co"), "{out}");
        let in_org =
            "contacts c JOIN organizations o ON o.id = c.org_id WHERE o.name = 'Seeded Co'";
        assert_eq!(kit::count(&app, in_org).await, 1234);
        let (status, page) = get_text(&client, &app.base, "/contacts").await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("1,234 contacts in Seeded Co"), "{page}");

        // The last contact stored is found by its name.
        let last = kit::scalar(&app, &format!("SELECT MAX(c.id) FROM {in_org}")).await;
        let (_, contact) = get_text(&client, &app.base, &format!("/contacts/{last}")).await;
        let name = contact
            .split_once("<h1>")
            .and_then(|(_, rest)| rest.split_once("</h1>"))
            .map(|(name, _)| kit::unescape(name))
            .expect("the contact page names the contact");
        let query: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
        let (_, found) = get_text(&client, &app.base, &format!("/contacts?q={query}")).await;
        assert!(
            found.contains(&format!("/contacts/{last}\"")),
            "{name}: {found}"
        );
    }
);

/// Counts `sql`'s rows in a copy of `data_dir`'s `rapport.db` alone, without the WAL and
/// shared-memory files beside it: what an operator who copies the database file of a stopped
/// Rapport has.
async fn count_in_a_copy_of_the_file(data_dir: &std::path::Path, sql: &str) -> i64 {
    use sqlx::Connection;
    let copy = tempfile::tempdir().unwrap();
    let file = copy.path().join("rapport.db");
    std::fs::copy(data_dir.join("rapport.db"), &file).expect("copy rapport.db");
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", file.display()))
        .await
        .expect("open the copy");
    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    conn.close().await.expect("close the copy");
    n
}

/// SQLite's write-ahead log of `data_dir`'s database holds nothing: it was copied into the
/// database file and removed when the last connection closed.
fn assert_wal_is_empty(data_dir: &std::path::Path) {
    let wal = data_dir.join("rapport.db-wal");
    let len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert_eq!(len, 0, "{} still holds {len} bytes", wal.display());
}

#[tokio::test]
async fn a_command_leaves_its_writes_in_the_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let (ok, out, err) = run_rapport(
        &["dev", "seed", "--org", "Acme", "--contacts", "250"],
        &[("RAPPORT_DATA_DIR", data.as_str())],
    );
    assert!(ok, "{err}");
    assert!(out.contains("Added 250 contacts to Acme"), "{out}");
    assert_wal_is_empty(dir.path());
    assert_eq!(
        count_in_a_copy_of_the_file(dir.path(), "SELECT count(*) FROM contacts").await,
        250
    );
}

#[tokio::test]
async fn a_stopped_server_leaves_its_writes_in_the_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let (rapport, base) = RapportProcess::serve(&[
        ("RAPPORT_ADDR", "127.0.0.1:0"),
        ("RAPPORT_DATA_DIR", data.as_str()),
        ("RAPPORT_ZOOM_SIM_ADDR", "127.0.0.1:0"),
    ])
    .await;
    let response = submit_with(
        &new_client(),
        &base,
        "/sign-up",
        "/sign-up",
        &[
            ("name", "Ada"),
            ("email", "ada@example.com"),
            ("password", "correct horse battery staple"),
            ("org_name", "Ada Co"),
            ("time_zone", "Europe/Paris"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    let (status, output) = rapport.terminate().await;
    assert!(status.success(), "{status}:\n{output}");
    assert!(!output.contains("still in use"), "{output}");
    assert_wal_is_empty(dir.path());
    assert_eq!(
        count_in_a_copy_of_the_file(
            dir.path(),
            "SELECT count(*) FROM users WHERE email = 'ada@example.com'"
        )
        .await,
        1
    );
}
