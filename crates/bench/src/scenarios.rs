//! One backend's run: start the processes, set up data, run every scenario in order and
//! compare each with its baseline from the same run.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rand::Rng;
use reqwest::StatusCode;
use tokio::process::Command;

use crate::Args;
use crate::load::{self, Get, Limit, LoadResult, Plan};
use crate::procs::{self, Running, Usage};
use crate::report::{
    BackendRun, Budget, GrowthPoint, Machine, Outbox, RefreshStorm, Scenario, Startup,
};
use crate::smtp_sink::SmtpSink;
use crate::web::Browser;

const MB: f64 = 1024.0 * 1024.0;
/// Searches a user types: last names, a first name, a company word and an email fragment.
const SEARCHES: &[&str] = &[
    "garcia", "miller", "johnson", "wilson", "moore", "taylor", "anderson", "thomas", "jackson",
    "white", "harris", "martin", "lee", "clark", "lewis", "walker",
];

#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    /// A server URL without a database name.
    Postgres(String),
}

impl Backend {
    pub fn label(&self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres(_) => "PostgreSQL",
        }
    }

    fn slug(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }
}

/// Durations and sizes of one mode.
struct Settings {
    load_for: Duration,
    warmup: u64,
    growth_for: Duration,
    sizes: &'static [u64],
    outbox_messages: usize,
}

impl Settings {
    fn of(quick: bool) -> Settings {
        if quick {
            Settings {
                // Short enough that a clean `cargo xtask bench --quick`, build included, has
                // a chance at five minutes on two cores (docs/benchmarks.md); at 2,000-40,000
                // requests/s a second and a half still holds thousands of requests per p99.
                // Each second of the schedule scenario also queues ~1,000 invitations that
                // the webhook scenario waits for.
                load_for: Duration::from_millis(1500),
                warmup: 200,
                growth_for: Duration::from_millis(1000),
                sizes: &[1_000, 10_000, 100_000],
                outbox_messages: 2_000,
            }
        } else {
            Settings {
                load_for: Duration::from_secs(10),
                warmup: 1_000,
                growth_for: Duration::from_secs(5),
                sizes: &[1_000, 10_000, 100_000, 1_000_000],
                outbox_messages: 10_000,
            }
        }
    }

    fn plan(&self, concurrency: u32) -> Plan {
        Plan {
            concurrency,
            warmup: self.warmup,
            limit: Limit::For(self.load_for),
        }
    }
}

/// Everything a scenario needs to reach the processes.
struct Env {
    dir: PathBuf,
    raw: PathBuf,
    base: String,
    sim: String,
    client_id: String,
    client_secret: String,
    webhook_secret: String,
    rapport: PathBuf,
    rapport_env: Vec<(String, String)>,
    http: reqwest::Client,
    /// The PostgreSQL database under test, vacuumed before each measurement ([`vacuum`]).
    postgres: Option<String>,
}

impl Env {
    fn rapport(&self) -> Command {
        let mut c = Command::new(&self.rapport);
        c.envs(
            self.rapport_env
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        c
    }

    async fn rapport_once(&self, name: &str, args: &[&str]) -> Result<String> {
        let mut c = self.rapport();
        c.args(args);
        procs::run_to_end(name, c, &self.dir.join(format!("{name}.log"))).await
    }

    fn raw(&self, key: &str) -> PathBuf {
        self.raw.join(format!("{key}.json"))
    }
}

fn random_hex(bytes: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..bytes)
        .map(|_| format!("{:02x}", rng.r#gen::<u8>()))
        .collect()
}

pub async fn run_backend(args: &Args, backend: &Backend) -> Result<BackendRun> {
    let settings = Settings::of(args.quick);
    let dir = std::path::absolute(args.out.join(backend.slug()))?;
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let raw = dir.join("raw");
    std::fs::create_dir_all(&raw)?;
    let sink = SmtpSink::start().await?;
    let sim_port = procs::free_port()?;
    let app_port = procs::free_port()?;
    let base = format!("http://127.0.0.1:{app_port}");
    let sim = format!("http://127.0.0.1:{sim_port}");
    let client_id = format!("bench{}", random_hex(8));
    let client_secret = random_hex(16);
    let webhook_secret = random_hex(16);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;

    let mut sim_cmd = Command::new(procs::sibling_binary("zoom-sim")?);
    sim_cmd
        .args(["--addr", &format!("127.0.0.1:{sim_port}")])
        .args(["--client-id", &client_id, "--client-secret", &client_secret])
        .args([
            "--redirect-url",
            &format!("{base}/settings/zoom/callback"),
            "--webhook-url",
            &format!("{base}/webhooks/zoom"),
            "--webhook-secret",
            &webhook_secret,
            "--no-rate-limits",
        ])
        .env("RUST_LOG", "warn");
    let mut sim_proc = Running::spawn("zoom-sim", sim_cmd, &dir.join("zoom-sim.log")).await?;
    sim_proc
        .wait_ready(
            &http,
            &format!("{sim}/_sim/health"),
            Instant::now(),
            Duration::from_secs(10),
        )
        .await?;

    let data_dir = dir.join("data");
    std::fs::create_dir_all(&data_dir)?;
    let mut rapport_env = vec![
        ("RAPPORT_ADDR".to_owned(), format!("127.0.0.1:{app_port}")),
        ("RAPPORT_PUBLIC_URL".to_owned(), base.clone()),
        (
            "RAPPORT_DATA_DIR".to_owned(),
            data_dir.display().to_string(),
        ),
        ("RAPPORT_SMTP_URL".to_owned(), sink.url()),
        (
            "RAPPORT_MAIL_FROM".to_owned(),
            "Rapport <rapport@example.com>".to_owned(),
        ),
        ("ZOOM_CLIENT_ID".to_owned(), client_id.clone()),
        ("ZOOM_CLIENT_SECRET".to_owned(), client_secret.clone()),
        (
            "ZOOM_WEBHOOK_SECRET_TOKEN".to_owned(),
            webhook_secret.clone(),
        ),
        ("ZOOM_OAUTH_URL".to_owned(), sim.clone()),
        ("ZOOM_API_URL".to_owned(), sim.clone()),
        ("RAPPORT_LOG_FORMAT".to_owned(), "json".to_owned()),
    ];
    // Experiments: BENCH_RAPPORT_X=v runs Rapport with X=v (say, an allocator setting).
    rapport_env.extend(std::env::vars().filter_map(|(k, v)| {
        k.strip_prefix("BENCH_RAPPORT_")
            .map(|name| (name.to_owned(), v))
    }));
    let mut postgres = None;
    let mut maintenance = None;
    if let Backend::Postgres(server) = backend {
        reset_postgres(server, &dir).await?;
        let url = format!("{}/rapport_bench", server.trim_end_matches('/'));
        rapport_env.push(("DATABASE_URL".to_owned(), url.clone()));
        let autovacuum = psql(&url, "SHOW autovacuum", &dir.join("autovacuum.log")).await?;
        maintenance = Some(format!(
            "PostgreSQL's autovacuum is {} on this server; the benchmark runs `VACUUM (ANALYZE)` \
             before each measurement, the upkeep autovacuum does in a default installation, so \
             that the figures do not depend on when it last ran.",
            autovacuum.trim()
        ));
        postgres = Some(url);
    }
    let mut env = Env {
        dir: dir.clone(),
        raw,
        base: base.clone(),
        sim: sim.clone(),
        client_id,
        client_secret,
        webhook_secret,
        rapport: procs::sibling_binary("rapport")?,
        rapport_env,
        http: http.clone(),
        postgres,
    };
    let key = env
        .rapport_once("generate-key", &["secrets", "generate-key"])
        .await?;
    let key = key
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.contains(' '))
        .context("no key printed by `rapport secrets generate-key`")?
        .to_owned();
    env.rapport_env.push(("RAPPORT_SECRET_KEY".to_owned(), key));

    // Start: the schema is created first, so "ready" measures what every restart costs.
    let migrate_started = Instant::now();
    env.rapport_once("migrate", &["migrate"]).await?;
    let migrate_seconds = migrate_started.elapsed().as_secs_f64();
    let mut serve = env.rapport();
    serve.arg("serve");
    let started = Instant::now();
    let mut app = Running::spawn("rapport", serve, &dir.join("rapport.log")).await?;
    let ready = app
        .wait_ready(
            &http,
            &format!("{base}/readyz"),
            started,
            Duration::from_secs(30),
        )
        .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = app.usage()?;
    let ready_ms = ready.as_secs_f64() * 1000.0;
    let idle_rss_mb = idle.rss_bytes as f64 / MB;
    let startup = Startup {
        migrate_seconds,
        ready_ms,
        idle_rss_mb,
        budget: vec![
            Budget::new("ready < 300 ms", ready_ms < 300.0),
            Budget::new("idle RSS < 30 MB", idle_rss_mb < 30.0),
        ],
    };
    eprintln!("ready in {ready_ms:.0} ms, idle RSS {idle_rss_mb:.1} MB");

    let result = drive(&env, &settings, &app, &sink).await;
    app.stop().await?;
    sim_proc.stop().await?;
    let (scenarios, growth, outbox, refresh) = result?;
    Ok(BackendRun {
        backend: backend.label().to_owned(),
        maintenance,
        startup,
        scenarios,
        growth,
        outbox: Some(outbox),
        refresh: Some(refresh),
    })
}

type Driven = (Vec<Scenario>, Vec<GrowthPoint>, Outbox, RefreshStorm);

async fn drive(env: &Env, settings: &Settings, app: &Running, sink: &SmtpSink) -> Result<Driven> {
    let storm = prepare_refresh_storm(env).await?;
    // One organization per size; the 100,000 one is where the user of the main scenarios works.
    let mut orgs = Vec::new();
    for &size in settings.sizes {
        let org = format!("Bench {size}");
        let user = Browser::sign_up(
            &env.base,
            "Bench User",
            &format!("bench{size}@example.com"),
            &org,
        )
        .await?;
        let t = Instant::now();
        env.rapport_once(
            &format!("seed-{size}"),
            &[
                "dev",
                "seed",
                "--org",
                &org,
                "--contacts",
                &size.to_string(),
            ],
        )
        .await?;
        eprintln!(
            "seeded {size} contacts in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        orgs.push((size, user));
    }
    let main = &orgs
        .iter()
        .find(|(size, _)| *size == 100_000)
        .context("no 100,000-contact organization")?
        .1;
    main.connect_zoom(&env.sim, "bench.host@example.com")
        .await?;
    let invitee = main
        .add_contact("Grace Hopper", "grace@example.com")
        .await?;
    let regular = main
        .add_contact("Katherine Johnson", "katherine@example.com")
        .await?;
    for n in 0..5 {
        schedule_once(main, regular, &format!("Orbit review {n}"), 10 + n).await?;
    }
    // First, while the queue holds only the setup's few invitations: after the schedule
    // scenario it held thousands, and waiting for them was a third of a quick run.
    vacuum(env).await?;
    let outbox = outbox_drain(env, sink, settings.outbox_messages).await?;
    let cookie = main.cookie_header()?;
    let get = |paths: Vec<String>, cookie: Option<String>, expect| Get {
        client: env.http.clone(),
        base: env.base.clone(),
        paths: Arc::new(paths),
        cookie,
        expect,
    };
    let plan = settings.plan(32);
    let mut out = Vec::new();

    let healthz = scenario(
        env,
        app,
        "healthz",
        "GET /healthz (baseline)",
        get(vec!["/healthz".into()], None, StatusCode::OK),
        plan,
    )
    .await?;
    let list = scenario(
        env,
        app,
        "contacts_list",
        "contacts list page, signed in, 100,000 contacts",
        get(
            vec!["/contacts".into()],
            Some(cookie.clone()),
            StatusCode::OK,
        ),
        plan,
    )
    .await?;
    let search = scenario(
        env,
        app,
        "contacts_search",
        "contact search, 100,000 contacts",
        get(
            SEARCHES
                .iter()
                .map(|q| format!("/contacts?q={q}"))
                .collect(),
            Some(cookie.clone()),
            StatusCode::OK,
        ),
        plan,
    )
    .await?;
    let contact_page = scenario(
        env,
        app,
        "contact_page",
        "contact page with its meetings and timeline",
        get(
            vec![format!("/contacts/{regular}")],
            Some(cookie.clone()),
            StatusCode::OK,
        ),
        plan,
    )
    .await?;
    // Before Zoom's direct create: each meeting it creates sends Rapport a webhook, and the
    // job loops were still applying them (~50,000 in a full run) while PostgreSQL's growth
    // figures were taken.
    let mut growth = Vec::new();
    for (size, user) in &orgs {
        let cookie = user.cookie_header()?;
        let plan = Plan {
            concurrency: 32,
            warmup: settings.warmup / 2,
            limit: Limit::For(settings.growth_for),
        };
        vacuum(env).await?;
        app.reset_peak()?;
        let list = load::measure(
            get(
                vec!["/contacts".into()],
                Some(cookie.clone()),
                StatusCode::OK,
            ),
            plan,
            &env.raw(&format!("growth_list_{size}")),
        )
        .await?;
        let search = load::measure(
            get(
                SEARCHES
                    .iter()
                    .map(|q| format!("/contacts?q={q}"))
                    .collect(),
                Some(cookie),
                StatusCode::OK,
            ),
            plan,
            &env.raw(&format!("growth_search_{size}")),
        )
        .await?;
        let peak_rss_mb = app.usage()?.peak_rss_bytes as f64 / MB;
        eprintln!(
            "growth {size}: list p50 {:.2} ms, search p50 {:.2} ms, peak RSS {peak_rss_mb:.1} MB",
            list.p50_ms, search.p50_ms
        );
        growth.push(GrowthPoint {
            contacts: *size,
            list,
            search,
            peak_rss_mb,
            list_p50_growth: f64::NAN,
            search_p50_growth: f64::NAN,
        });
    }
    let direct_token = sim_token(env, "bench.direct@example.com").await?;
    let sim_create = scenario(
        env,
        app,
        "zoom_create_direct",
        "Zoom simulator's create meeting, called directly (baseline)",
        load::SimCreate {
            client: env.http.clone(),
            url: format!("{}/v2/users/me/meetings", env.sim),
            bearer: direct_token,
        },
        plan,
    )
    .await?;
    // The simulator sends Rapport a `meeting.created` for each meeting the baseline created
    // (~12,000 in a quick run): measured with them arriving, the schedule scenario shared the
    // two cores with another scenario's events.
    wait_jobs_idle(env, Duration::from_secs(900)).await?;
    let csrf = main
        .csrf(&format!("/contacts/{invitee}/meetings/new"))
        .await?;
    let schedule = scenario(
        env,
        app,
        "schedule",
        "schedule a meeting end to end (form → Zoom → stored → invitation queued)",
        load::Schedule {
            client: env.http.clone(),
            url: format!("{}/contacts/{invitee}/meetings", env.base),
            cookie: cookie.clone(),
            csrf,
            first_day: chrono::Utc::now().date_naive() + chrono::Days::new(30),
            run: random_hex(4),
        },
        plan,
    )
    .await?;
    out.push(healthz.clone());
    for (mut s, baseline, rules) in [
        (list, &healthz, page_rules()),
        (search, &healthz, page_rules()),
        (contact_page, &healthz, Vec::new()),
    ] {
        compare(&mut s, baseline, &rules);
        out.push(s);
    }
    out.push(sim_create.clone());
    let mut schedule = schedule;
    compare(
        &mut schedule,
        &sim_create,
        &[Rule::Ratio(0.5), Rule::PeakRss(64.0)],
    );
    out.push(schedule);

    // Last: its events queue thousands of jobs, which the job loops work off for a while
    // afterwards; run earlier, the outbox drain waited half a minute for that backlog, and the
    // other scenarios would share the two cores with it.
    // The schedule scenario's invitations are still being sent; measured while they are, the
    // figures moved by half from run to run.
    wait_jobs_idle(env, Duration::from_secs(900)).await?;
    let meetings = sim_meetings(env, 500).await?;
    let (account_id, operator_id) = sim_user(env, "bench.host@example.com").await?;
    let webhooks = scenario(
        env,
        app,
        "webhooks",
        "webhook ingestion (signed meeting.updated, verified, deduplicated, queued)",
        load::Webhooks {
            client: env.http.clone(),
            url: format!("{}/webhooks/zoom", env.base),
            secret: env.webhook_secret.clone(),
            meetings: Arc::new(meetings),
            account_id,
            operator_id,
            counter: Arc::new(AtomicU64::new(0)),
        },
        plan,
    )
    .await?;

    let mut webhooks = webhooks;
    compare(&mut webhooks, &healthz, &webhook_rules());
    // Reported after the other requests to the same process.
    out.insert(4, webhooks);
    // Very last: 1,000 requests at once leave the process ~50 MB larger (glibc keeps the freed
    // memory), which would otherwise count in every later scenario's peak.
    let refresh = refresh_storm(env, storm).await?;
    if let Some((l0, s0)) = growth.first().map(|g| (g.list.p50_ms, g.search.p50_ms)) {
        for g in &mut growth {
            g.list_p50_growth = g.list.p50_ms / l0;
            g.search_p50_growth = g.search.p50_ms / s0;
        }
    }
    Ok((out, growth, outbox, refresh))
}

/// A scenario with the Rapport process's CPU time and peak RSS over its run.
async fn scenario(
    env: &Env,
    app: &Running,
    key: &'static str,
    name: &str,
    suite: impl Into<load::Suite>,
    plan: Plan,
) -> Result<Scenario> {
    measure_scenario(env, app, key, name, suite.into(), plan).await
}

async fn measure_scenario(
    env: &Env,
    app: &Running,
    key: &'static str,
    name: &str,
    suite: load::Suite,
    plan: Plan,
) -> Result<Scenario> {
    vacuum(env).await?;
    app.reset_peak()?;
    let before = app.usage()?;
    let load = load::measure(suite, plan, &env.raw(key)).await?;
    let after: Usage = app.usage()?;
    let cpu = after.cpu_seconds - before.cpu_seconds;
    // Warm-up requests are not in `load.requests` but did use CPU: count them too.
    let served = (load.requests + load.errors + plan.warmup).max(1);
    eprintln!(
        "{name}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors{}",
        load.rps,
        load.p50_ms,
        load.p99_ms,
        load.errors,
        load.error_example
            .as_deref()
            .map(|e| format!(" (e.g. {e})"))
            .unwrap_or_default()
    );
    Ok(Scenario {
        key,
        name: name.to_owned(),
        cpu_seconds_per_1k: cpu / served as f64 * 1000.0,
        peak_rss_mb: after.peak_rss_bytes as f64 / MB,
        load,
        baseline: None,
        ratio: None,
        budget: Vec::new(),
    })
}

enum Rule {
    Ratio(f64),
    P99Under(f64),
    PeakRss(f64),
}

fn page_rules() -> Vec<Rule> {
    vec![Rule::Ratio(0.4), Rule::P99Under(20.0), Rule::PeakRss(64.0)]
}

fn webhook_rules() -> Vec<Rule> {
    vec![Rule::P99Under(20.0), Rule::PeakRss(64.0)]
}

fn compare(s: &mut Scenario, baseline: &Scenario, rules: &[Rule]) {
    let ratio = if baseline.load.rps > 0.0 {
        s.load.rps / baseline.load.rps
    } else {
        f64::NAN
    };
    s.baseline = Some(match baseline.key {
        "healthz" => "GET /healthz",
        _ => "Zoom's create called directly",
    });
    s.ratio = Some(ratio);
    let no_errors = s.load.errors == 0;
    s.budget = rules
        .iter()
        .map(|r| match r {
            Rule::Ratio(min) => Budget::new(
                format!("≥ {:.0}% of baseline", min * 100.0),
                ratio >= *min && no_errors,
            ),
            Rule::P99Under(ms) => Budget::new(format!("p99 < {ms:.0} ms"), s.load.p99_ms < *ms),
            Rule::PeakRss(mb) => Budget::new(format!("peak RSS < {mb:.0} MB"), s.peak_rss_mb < *mb),
        })
        .collect();
}

/// Schedules one meeting through the form, as a user does (page, then post).
async fn schedule_once(user: &Browser, contact: i64, topic: &str, days_ahead: u64) -> Result<()> {
    let page = user
        .page(&format!("/contacts/{contact}/meetings/new"))
        .await?;
    let key = crate::web::hidden_value(&page, "idempotency_key").context("idempotency key")?;
    let date = (chrono::Utc::now().date_naive() + chrono::Days::new(days_ahead))
        .format("%Y-%m-%d")
        .to_string();
    user.submit(
        &format!("/contacts/{contact}/meetings/new"),
        &format!("/contacts/{contact}/meetings"),
        &[
            ("topic", topic),
            ("date", &date),
            ("time", "16:00"),
            ("time_zone", "Europe/Paris"),
            ("duration", "30"),
            ("agenda", "Trajectories"),
            ("invite", "on"),
            ("idempotency_key", &key),
        ],
    )
    .await?;
    Ok(())
}

/// An access token of a Zoom user of our app, obtained from the simulator directly (the
/// baseline calls Zoom without Rapport).
async fn sim_token(env: &Env, email: &str) -> Result<String> {
    let redirect = format!("{}/settings/zoom/callback", env.base);
    let outcome: zoom_sim::AuthorizeOutcome = env
        .http
        .post(format!("{}/_sim/authorize", env.sim))
        .json(&zoom_sim::AuthorizeRequest {
            email: email.to_owned(),
            plan: Some(zoom_sim::Plan::Licensed),
            client_id: env.client_id.clone(),
            redirect_uri: redirect.clone(),
            state: Some("bench".into()),
            code_challenge: None,
            code_challenge_method: None,
            decline: false,
        })
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let code = outcome.code.context("consent gave no code")?;
    let token: serde_json::Value = env
        .http
        .post(format!("{}/oauth/token", env.sim))
        .basic_auth(&env.client_id, Some(&env.client_secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect.as_str()),
        ])
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    token
        .get("access_token")
        .and_then(|t| t.as_str())
        .map(str::to_owned)
        .context("no access_token")
}

/// Zoom ids and uuids of up to `n` meetings Rapport scheduled.
async fn sim_meetings(env: &Env, n: usize) -> Result<Vec<(i64, String)>> {
    let all: Vec<serde_json::Value> = env
        .http
        .get(format!("{}/_sim/meetings", env.sim))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let out: Vec<(i64, String)> = all
        .iter()
        .filter(|m| {
            m.get("topic")
                .and_then(|t| t.as_str())
                .is_some_and(|t| t.starts_with("Bench review"))
        })
        .filter_map(|m| Some((m.get("id")?.as_i64()?, m.get("uuid")?.as_str()?.to_owned())))
        .take(n)
        .collect();
    if out.is_empty() {
        bail!("the scheduling scenario left no meetings in Zoom");
    }
    Ok(out)
}

/// (account id, user id) of a simulated Zoom user.
async fn sim_user(env: &Env, email: &str) -> Result<(String, String)> {
    let users: Vec<serde_json::Value> = env
        .http
        .get(format!("{}/_sim/users", env.sim))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let user = users
        .iter()
        .find(|u| u.get("email").and_then(|e| e.as_str()) == Some(email))
        .with_context(|| format!("no Zoom user {email}"))?;
    let s = |k: &str| {
        user.get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    Ok((s("account_id"), s("id")))
}

/// Waits until no mail has arrived for `quiet`, so that one scenario's queued mail does not
/// count in the next.
async fn wait_mail_quiet(sink: &SmtpSink, quiet: Duration, max: Duration) -> usize {
    let started = Instant::now();
    let mut last = sink.received();
    let mut since = Instant::now();
    while started.elapsed() < max {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = sink.received();
        if now != last {
            last = now;
            since = Instant::now();
        } else if since.elapsed() >= quiet {
            break;
        }
    }
    last
}

/// Queued and running jobs, from Rapport's `/metrics`.
async fn job_counts(env: &Env) -> Result<(f64, f64)> {
    let text = env
        .http
        .get(format!("{}/metrics", env.base))
        .send()
        .await?
        .text()
        .await?;
    let value = |state: &str| {
        let prefix = format!("rapport_jobs{{state=\"{state}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    Ok((value("queued"), value("running")))
}

/// Waits until no job is running and the queue is empty, or the queued count (jobs due later
/// stay queued) has not changed for half a second: the backlog of earlier scenarios is worked
/// off. (While there is one, the job loops change the count many times a second.)
async fn wait_jobs_idle(env: &Env, max: Duration) -> Result<()> {
    let started = Instant::now();
    let mut last = f64::NAN;
    let mut since = Instant::now();
    loop {
        let (queued, running) = job_counts(env).await?;
        if queued == 0.0 && running == 0.0 {
            return Ok(());
        }
        if queued != last || running > 0.0 {
            last = queued;
            since = Instant::now();
        } else if since.elapsed() >= Duration::from_millis(500) {
            // Half a second without a change: while a backlog is being worked off, the count
            // changes every few milliseconds.
            return Ok(());
        }
        if started.elapsed() > max {
            bail!("jobs still queued after {max:?}: {queued} queued, {running} running");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn rate(arrivals: &[Instant]) -> f64 {
    match (arrivals.first(), arrivals.last()) {
        (Some(first), Some(last)) if arrivals.len() > 1 => {
            (arrivals.len() - 1) as f64 / last.duration_since(*first).as_secs_f64().max(1e-9)
        }
        _ => f64::NAN,
    }
}

/// Messages per second through Rapport's outbox to the SMTP server, against the same server
/// fed directly, one message at a time as Rapport's worker sends them.
async fn outbox_drain(env: &Env, sink: &SmtpSink, n: usize) -> Result<Outbox> {
    eprintln!("outbox: waiting for the job queue to drain");
    let t = Instant::now();
    wait_jobs_idle(env, Duration::from_secs(900)).await?;
    eprintln!(
        "outbox: earlier jobs done after {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let skip = wait_mail_quiet(sink, Duration::from_secs(1), Duration::from_secs(300)).await;
    env.rapport_once(
        "queue-mail",
        &[
            "dev",
            "mail",
            "--to",
            "outbox.bench@example.com",
            "--count",
            &n.to_string(),
        ],
    )
    .await?;
    let started = Instant::now();
    while sink.received() < skip + n {
        if started.elapsed() > Duration::from_secs(600) {
            bail!(
                "outbox: only {} of {n} messages arrived in 10 minutes",
                sink.received() - skip
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rapport_per_second = rate(&sink.arrivals_after(skip));

    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(sink.addr.port())
        .build();
    let before = sink.received();
    // As many senders as Rapport has job workers (RAPPORT_JOB_WORKERS' default), through a
    // transport built as Rapport's is: lettre with its connection pool.
    let senders = 4;
    let mut tasks = Vec::new();
    for s in 0..senders {
        let transport = transport.clone();
        tasks.push(tokio::spawn(async move {
            for i in (s..n).step_by(senders) {
                let message = Message::builder()
                    .from("Rapport <rapport@example.com>".parse()?)
                    .to("outbox.bench@example.com".parse()?)
                    .subject(format!("Direct test message {i}"))
                    .body(format!("This is direct test message {i}.\n"))?;
                transport.send(message).await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let direct_per_second = rate(&sink.arrivals_after(before));
    eprintln!(
        "outbox: {rapport_per_second:.0} msg/s via Rapport, {direct_per_second:.0} msg/s direct"
    );
    Ok(Outbox {
        messages: n,
        rapport_per_second,
        direct_per_second,
        ratio: rapport_per_second / direct_per_second,
    })
}

/// 1,000 concurrent requests that each need the user's Zoom access token, sent just after it
/// fell inside the refresh margin: Zoom must see exactly one refresh.
/// A user whose Zoom access token will need refreshing by the time the storm comes, and the
/// page that needs it.
struct StormSetup {
    user: Browser,
    start: String,
    connected: Instant,
}

/// Sets up the refresh storm at the start of the run, so that the token's last two seconds of
/// freshness pass while other scenarios run instead of in a wait (a twentieth of a quick run).
/// By the storm the token is inside Rapport's refresh margin, or, in a full run, expired: both
/// need the one refresh the storm counts.
async fn prepare_refresh_storm(env: &Env) -> Result<StormSetup> {
    let config_url = format!("{}/_sim/config", env.sim);
    let original: serde_json::Value = env.http.get(&config_url).send().await?.json().await?;
    let mut short = original.clone();
    // Two seconds of freshness before Rapport's five-minute refresh margin: enough for the
    // setup below (a contact and one schedule, which must not refresh it; ~0.1 s) on a busy
    // machine.
    short["access_token_secs"] = serde_json::json!(302);
    short["expires_in"] = serde_json::json!(302);
    env.http
        .put(&config_url)
        .json(&short)
        .send()
        .await?
        .error_for_status()?;
    let user = Browser::sign_up(
        &env.base,
        "Refresh Tester",
        "refresh@example.com",
        "Refresh Org",
    )
    .await?;
    user.connect_zoom(&env.sim, "bench.refresh@example.com")
        .await?;
    let connected = Instant::now();
    env.http
        .put(&config_url)
        .json(&original)
        .send()
        .await?
        .error_for_status()?;
    let contact = user
        .add_contact("Ada Storm", "ada.storm@example.com")
        .await?;
    schedule_once(&user, contact, "Storm review", 7).await?;
    let agenda = user.page("/meetings").await?;
    let start = agenda
        .split("href=\"")
        .filter_map(|s| s.split('"').next())
        .find(|h| h.starts_with("/meetings/") && h.ends_with("/start"))
        .context("no Start link on the meetings page")?
        .to_owned();
    Ok(StormSetup {
        user,
        start,
        connected,
    })
}

async fn refresh_storm(env: &Env, setup: StormSetup) -> Result<RefreshStorm> {
    let StormSetup {
        user,
        start,
        connected,
    } = setup;
    let wait = Duration::from_millis(2_500).saturating_sub(connected.elapsed());
    tokio::time::sleep(wait).await;
    env.http
        .delete(format!("{}/_sim/requests", env.sim))
        .send()
        .await?;
    let suite = Get {
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(1000)
            .build()?,
        base: env.base.clone(),
        paths: Arc::new(vec![start]),
        cookie: Some(user.cookie_header()?),
        expect: StatusCode::SEE_OTHER,
    };
    let load: LoadResult = load::measure(
        suite,
        Plan {
            concurrency: 1000,
            warmup: 0,
            limit: Limit::Iterations(1000),
        },
        &env.raw("refresh_storm"),
    )
    .await?;
    let requests: Vec<serde_json::Value> = env
        .http
        .get(format!("{}/_sim/requests", env.sim))
        .send()
        .await?
        .json()
        .await?;
    let refreshes = requests
        .iter()
        .filter(|r| {
            r.get("grant_type").and_then(|g| g.as_str()) == Some("refresh_token")
                && r.get("status").and_then(|s| s.as_u64()) == Some(200)
        })
        .count();
    eprintln!(
        "refresh storm: {refreshes} refresh(es), {} errors",
        load.errors
    );
    Ok(RefreshStorm {
        requests: load.requests + load.errors,
        errors: load.errors,
        refreshes,
        p99_ms: load.p99_ms,
        budget: vec![Budget::new(
            "exactly 1 refresh, no errors",
            refreshes == 1 && load.errors == 0,
        )],
    })
}

/// On PostgreSQL, `VACUUM (ANALYZE)` the database under test: removes the dead rows the
/// job queue and the contact-count triggers leave, sets the visibility map index-only scans
/// need, and gives the planner statistics. A default installation's autovacuum does this on
/// its own; this machine's server runs with it off (`conf.d/90-ci.conf`), and before this the
/// PostgreSQL figures were taken on tables that had never been vacuumed or analyzed.
async fn vacuum(env: &Env) -> Result<()> {
    if let Some(url) = &env.postgres {
        psql(url, "VACUUM (ANALYZE)", &env.dir.join("vacuum.log")).await?;
    }
    Ok(())
}

/// Runs one statement with `psql` and returns what it printed (unaligned, tuples only).
async fn psql(url: &str, statement: &str, log: &Path) -> Result<String> {
    let mut c = Command::new("psql");
    c.args([url, "-v", "ON_ERROR_STOP=1", "-Atc", statement]);
    procs::run_to_end("psql", c, log).await
}

async fn reset_postgres(server: &str, dir: &Path) -> Result<()> {
    let admin = format!("{}/postgres", server.trim_end_matches('/'));
    let drop = "DROP DATABASE IF EXISTS rapport_bench WITH (FORCE)";
    psql(&admin, drop, &dir.join("psql-drop.log")).await?;
    psql(
        &admin,
        "CREATE DATABASE rapport_bench",
        &dir.join("psql-create.log"),
    )
    .await?;
    Ok(())
}

pub fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let memory_gib = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0 / 1024.0)
        .unwrap_or(f64::NAN);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_owned();
    let rustc = std::process::Command::new("rustc")
        .arg("-V")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    Machine {
        cpu,
        cores: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        memory_gib,
        kernel,
        rustc,
    }
}
