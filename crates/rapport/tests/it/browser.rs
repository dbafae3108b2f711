//! Browser tests: the foundation's user story walked in real headless Chromium through WebDriver
//! (`WEBDRIVER_URL`, started by `cargo xtask test`). Each test has its own Rapport (SQLite) and
//! its own browser session. Every page visited is checked for basic accessibility (labels, one
//! h1, one main, a nav, lang, alt text) and for console errors such as Content-Security-Policy
//! violations, and the main pages are saved as full-page screenshots to `RAPPORT_SCREENSHOT_DIR`
//! for review.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;
use fantoccini::elements::Element;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::support::{Db, TestApp, under_ci};

const PASSWORD: &str = "correct horse battery";

/// The WebDriver server, or `None` (with a note) when there is none. Under `CI=true` a missing
/// server fails the test instead: browser tests must not silently stop running there.
fn webdriver_url() -> Option<String> {
    match std::env::var("WEBDRIVER_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                !under_ci(),
                "CI=true but WEBDRIVER_URL is not set: the browser tests cannot run"
            );
            eprintln!(
                "note: WEBDRIVER_URL is not set; this browser test did not run (cargo xtask test sets it)"
            );
            None
        }
    }
}

fn screenshot_dir() -> Option<PathBuf> {
    std::env::var_os("RAPPORT_SCREENSHOT_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
}

/// A Chrome DevTools command sent through chromedriver (full-page screenshots, mobile emulation).
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({ "cmd": self.cmd, "params": self.params }).to_string()),
        )
    }
}

/// The browser console entries logged since the last call (chromedriver's log endpoint).
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({ "type": "browser" }).to_string()),
        )
    }
}

/// One headless Chromium session. Dropping it ends the WebDriver session (also when the test
/// fails), so no browser outlives its test.
struct Browser {
    client: Option<Client>,
    base: String,
    /// The emulated phone's width in CSS pixels, 0 on the desktop.
    phone_width: AtomicU64,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn open(webdriver: &str, base: &str) -> Browser {
        let profile = tempfile::tempdir().expect("profile dir");
        let binary = std::env::var("CHROME_BIN").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let capabilities = json!({
            "goog:loggingPrefs": { "browser": "ALL" },
            "goog:chromeOptions": {
                "binary": binary,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(webdriver)
            .await
            .expect("a WebDriver session with headless Chromium");
        Browser {
            client: Some(client),
            base: base.to_owned(),
            phone_width: AtomicU64::new(0),
            _profile: profile,
        }
    }

    fn c(&self) -> &Client {
        self.client.as_ref().expect("open session")
    }

    /// Opens `path` and checks the page it lands on.
    async fn visit(&self, path: &str) {
        self.c()
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("open {path}: {e}"));
        self.check_page().await;
    }

    async fn path(&self) -> String {
        let url = self.c().current_url().await.expect("current URL");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    async fn find(&self, css: &str) -> Element {
        match self
            .c()
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => panic!(
                "no element {css:?} on {}: {e}",
                self.path_or_unknown().await
            ),
        }
    }

    async fn path_or_unknown(&self) -> String {
        match self.c().current_url().await {
            Ok(u) => u.path().to_owned(),
            Err(_) => "?".into(),
        }
    }

    async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("text")
    }

    async fn count(&self, css: &str) -> usize {
        self.c()
            .find_all(Locator::Css(css))
            .await
            .expect("find_all")
            .len()
    }

    /// Types into the field labelled by `id` (clearing it first).
    async fn fill(&self, id: &str, value: &str) {
        let field = self.find(&format!("#{id}")).await;
        field.clear().await.expect("clear");
        field.send_keys(value).await.expect("type");
    }

    async fn value(&self, id: &str) -> String {
        self.find(&format!("#{id}"))
            .await
            .prop("value")
            .await
            .expect("value")
            .unwrap_or_default()
    }

    async fn select(&self, id: &str, value: &str) {
        self.find(&format!("#{id}"))
            .await
            .select_by_value(value)
            .await
            .expect("select option");
    }

    /// Clicks the element and waits until the browser has left the current page (a form post or
    /// a link), then checks the new page.
    async fn click_and_wait(&self, css: &str) {
        let marker = self.mark_page().await;
        self.find(css).await.click().await.expect("click");
        self.wait_for_new_page(&marker).await;
        self.check_page().await;
    }

    async fn mark_page(&self) -> String {
        let marker = format!("m{}", rand::random::<u64>());
        self.c()
            .execute("window.__rapportPage = arguments[0];", vec![json!(marker)])
            .await
            .expect("mark page");
        marker
    }

    async fn wait_for_new_page(&self, marker: &str) {
        let marker = marker.to_owned();
        for _ in 0..200 {
            let current = self
                .c()
                .execute(
                    "return document.readyState === 'complete' ? (window.__rapportPage || '') : arguments[0];",
                    vec![json!(marker)],
                )
                .await;
            if let Ok(Value::String(current)) = current
                && current != marker
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the page did not change after the click");
    }

    /// The message the page shows at the top (flash), or an empty string.
    async fn flash(&self) -> String {
        match self.c().find(Locator::Css("main > .flash")).await {
            Ok(e) => e.text().await.expect("flash text"),
            Err(_) => String::new(),
        }
    }

    async fn body_text(&self) -> String {
        self.text("body").await
    }

    /// Accessibility and console checks for the current page; panics with every finding.
    async fn check_page(&self) {
        let findings = self
            .c()
            .execute(A11Y_CHECK, vec![])
            .await
            .expect("run the accessibility check");
        let mut problems: Vec<String> = serde_json::from_value(findings).unwrap_or_default();
        for entry in self.console_entries().await {
            problems.push(format!("console: {entry}"));
        }
        assert!(
            problems.is_empty(),
            "{} has problems:\n  {}",
            self.path().await,
            problems.join("\n  ")
        );
    }

    /// Console errors and warnings since the last check (CSP violations are logged as SEVERE).
    async fn console_entries(&self) -> Vec<String> {
        let Ok(Value::Array(entries)) = self.c().issue_cmd(BrowserLog).await else {
            return Vec::new();
        };
        entries
            .into_iter()
            .filter(|e| matches!(e["level"].as_str(), Some("SEVERE" | "WARNING")))
            // The 404 and 422 pages are the point of some steps; their status line is not a defect.
            .filter(|e| {
                !e["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("the server responded with a status of"))
            })
            .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Saves a full-page PNG of the current page as `name` in `RAPPORT_SCREENSHOT_DIR`. The
    /// viewport is stretched to the page's height for the shot (capturing "beyond the viewport"
    /// leaves sandboxed frames such as the email preview blank).
    async fn screenshot(&self, name: &str) {
        let Some(dir) = screenshot_dir() else {
            return;
        };
        let phone_width = self.phone_width.load(Ordering::Relaxed);
        let phone = phone_width > 0;
        let height = self
            .c()
            .execute(
                "return Math.max(document.documentElement.scrollHeight, window.innerHeight);",
                vec![],
            )
            .await
            .expect("page height")
            .as_u64()
            .unwrap_or(900);
        self.emulate(if phone { phone_width } else { 1280 }, height, phone)
            .await;
        let shot = self
            .c()
            .issue_cmd(Cdp {
                cmd: "Page.captureScreenshot",
                params: json!({ "format": "png" }),
            })
            .await
            .expect("screenshot");
        if phone {
            self.phone_of_width(phone_width).await;
        } else {
            self.desktop().await;
        }
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("screenshot data"))
            .expect("base64 PNG");
        assert!(png.starts_with(b"\x89PNG"), "the screenshot is a PNG");
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        std::fs::write(dir.join(name), png).expect("write screenshot");
    }

    /// Saves a PNG of the elements `css` matches (the box around them all, with a margin of page
    /// around it, nothing focused), rendered 900 CSS pixels wide, as `name` for the public
    /// documentation: into `RAPPORT_SCREENSHOT_DIR`, and into `crates/rapport/static/docs/` when
    /// `RAPPORT_UPDATE_DOC_SCREENSHOTS=1` (how the committed pictures on /docs/zoom are made
    /// again after a page changes).
    async fn doc_shot(&self, css: &str, name: &str) {
        let update = std::env::var("RAPPORT_UPDATE_DOC_SCREENSHOTS").is_ok_and(|v| v == "1");
        let committed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("static/docs");
        let dirs: Vec<PathBuf> = screenshot_dir()
            .into_iter()
            .chain(update.then_some(committed))
            .collect();
        if dirs.is_empty() {
            return;
        }
        self.find(css).await;
        const WIDTH: u64 = 900;
        const MARGIN: f64 = 12.0;
        self.emulate(WIDTH, 900, false).await;
        let height = self
            .c()
            .execute("return document.documentElement.scrollHeight;", vec![])
            .await
            .expect("page height")
            .as_u64()
            .unwrap_or(900);
        // The whole page in the viewport, so the clip below never reaches past it.
        self.emulate(WIDTH, height, false).await;
        let rect = self
            .c()
            .execute(
                "if (document.activeElement) document.activeElement.blur(); \
                 const rs = [...document.querySelectorAll(arguments[0])].map(e => e.getBoundingClientRect()); \
                 const left = Math.min(...rs.map(r => r.left)), top = Math.min(...rs.map(r => r.top)); \
                 const right = Math.max(...rs.map(r => r.right)), bottom = Math.max(...rs.map(r => r.bottom)); \
                 return [left + window.scrollX, top + window.scrollY, right - left, bottom - top];",
                vec![json!(css)],
            )
            .await
            .expect("element position");
        let n = |i: usize| rect[i].as_f64().expect("a number");
        let (x, y) = ((n(0) - MARGIN).max(0.0), (n(1) - MARGIN).max(0.0));
        let shot = self
            .c()
            .issue_cmd(Cdp {
                cmd: "Page.captureScreenshot",
                params: json!({
                    "format": "png",
                    "clip": {
                        "x": x.floor(),
                        "y": y.floor(),
                        "width": (n(2) + 2.0 * MARGIN).min(WIDTH as f64 - x).ceil(),
                        "height": (n(3) + 2.0 * MARGIN).ceil(),
                        "scale": 1,
                    },
                }),
            })
            .await
            .expect("element screenshot");
        self.desktop().await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("screenshot data"))
            .expect("base64 PNG");
        assert!(png.starts_with(b"\x89PNG"), "the screenshot is a PNG");
        for dir in dirs {
            std::fs::create_dir_all(&dir).expect("screenshot dir");
            std::fs::write(dir.join(name), &png).expect("write screenshot");
        }
    }

    async fn emulate(&self, width: u64, height: u64, mobile: bool) {
        self.c()
            .issue_cmd(Cdp {
                cmd: "Emulation.setDeviceMetricsOverride",
                params: json!({
                    "width": width,
                    "height": height,
                    "deviceScaleFactor": if mobile { 2 } else { 1 },
                    "mobile": mobile,
                }),
            })
            .await
            .expect("device metrics");
    }

    /// Renders as a phone (390 CSS pixels wide) until `desktop()`.
    async fn phone(&self) {
        self.phone_of_width(390).await;
    }

    /// Renders as a phone `width` CSS pixels wide until `desktop()`.
    async fn phone_of_width(&self, width: u64) {
        self.emulate(width, 844, true).await;
        self.phone_width.store(width, Ordering::Relaxed);
    }

    async fn desktop(&self) {
        self.c()
            .issue_cmd(Cdp {
                cmd: "Emulation.clearDeviceMetricsOverride",
                params: json!({}),
            })
            .await
            .expect("end device emulation");
        self.phone_width.store(0, Ordering::Relaxed);
    }

    /// Visible elements that stick out past the right edge of the screen (content cut off or
    /// scrolling sideways), outside of containers meant to scroll.
    async fn sticking_out(&self) -> Vec<String> {
        let found = self
            .c()
            .execute(OVERFLOW_CHECK, vec![])
            .await
            .expect("measure");
        serde_json::from_value(found).unwrap_or_default()
    }

    /// A reqwest client that carries this browser's cookies (for downloads).
    async fn cookie_header(&self) -> String {
        self.c()
            .get_all_cookies()
            .await
            .expect("cookies")
            .iter()
            .map(|c| format!("{}={}", c.name(), c.value()))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Signs up a new organization through the form.
    async fn sign_up(&self, name: &str, email: &str, org: &str) {
        self.visit("/sign-up").await;
        self.fill("name", name).await;
        self.fill("email", email).await;
        self.fill("password", PASSWORD).await;
        self.fill("org_name", org).await;
        self.select("time_zone", "Europe/Paris").await;
        self.click_and_wait("form[action='/sign-up'] button[type=submit]")
            .await;
        assert_eq!(self.path().await, "/contacts");
    }

    async fn sign_in(&self, email: &str, password: &str) {
        self.visit("/sign-in").await;
        self.fill("email", email).await;
        self.fill("password", password).await;
        self.click_and_wait("form[action='/sign-in'] button[type=submit]")
            .await;
    }

    async fn sign_out(&self) {
        self.click_and_wait("form[action='/sign-out'] button").await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        // Drop cannot await: end the session on this worker thread (tests use the multi-thread
        // runtime), bounded so a hung chromedriver cannot hang the test.
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            tokio::task::block_in_place(|| {
                handle.block_on(async {
                    let _ = tokio::time::timeout(Duration::from_secs(20), client.close()).await;
                });
            });
        }
    }
}

/// Returns a list of findings (strings) about the current page.
const A11Y_CHECK: &str = r#"
const findings = [];
const lang = document.documentElement.getAttribute('lang');
if (!lang) findings.push('<html> has no lang attribute');
if (!document.title.trim()) findings.push('the page has no <title>');
const h1 = document.querySelectorAll('h1').length;
if (h1 !== 1) findings.push(`${h1} <h1> elements (expected exactly one)`);
if (document.querySelectorAll('main').length !== 1) findings.push('not exactly one <main> landmark');
if (!document.querySelector('nav')) findings.push('no <nav> landmark');
for (const el of document.querySelectorAll('input, select, textarea')) {
  if (el.type === 'hidden') continue;
  const named = (el.labels && el.labels.length > 0 && [...el.labels].some(l => l.textContent.trim()))
    || (el.getAttribute('aria-label') || '').trim()
    || el.getAttribute('aria-labelledby');
  if (!named) findings.push(`<${el.tagName.toLowerCase()} name="${el.name}"> has no label`);
  if (el.getAttribute('aria-invalid') === 'true' && !el.getAttribute('aria-describedby'))
    findings.push(`invalid <${el.tagName.toLowerCase()} name="${el.name}"> does not point to its error message`);
}
for (const el of document.querySelectorAll('[aria-describedby]')) {
  for (const id of el.getAttribute('aria-describedby').split(/\s+/).filter(Boolean)) {
    if (!document.getElementById(id)) findings.push(`aria-describedby="${id}" points to no element`);
  }
}
for (const img of document.querySelectorAll('img')) {
  if (!img.hasAttribute('alt')) findings.push(`<img src="${img.getAttribute('src')}"> has no alt`);
}
for (const el of document.querySelectorAll('a[href], button')) {
  const name = (el.textContent || '').trim() || el.getAttribute('aria-label') || el.getAttribute('title');
  if (!name) findings.push(`<${el.tagName.toLowerCase()}> without an accessible name: ${el.outerHTML.slice(0, 80)}`);
}
for (const frame of document.querySelectorAll('iframe')) {
  if (!frame.getAttribute('title')) findings.push('<iframe> without a title');
}
const ids = new Map();
for (const el of document.querySelectorAll('[id]')) ids.set(el.id, (ids.get(el.id) || 0) + 1);
for (const [id, n] of ids) if (n > 1) findings.push(`id "${id}" is used ${n} times`);
return findings;
"#;

/// Returns up to 5 descriptions of visible elements whose right edge is past the viewport.
const OVERFLOW_CHECK: &str = r#"
const width = document.documentElement.clientWidth;
const found = [];
for (const el of document.querySelectorAll('body *')) {
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.height === 0 || r.right <= width + 1) continue;
  let scrolls = false;
  for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
    const o = getComputedStyle(p).overflowX;
    if (o === 'auto' || o === 'scroll') { scrolls = true; break; }
  }
  if (!scrolls) found.push(`<${el.tagName.toLowerCase()} class="${el.className}"> ends at ${Math.round(r.right)}px: ${(el.textContent || '').trim().slice(0, 40)}`);
  if (found.length >= 5) break;
}
return found;
"#;

/// Starts Rapport and a browser, or returns `None` (skip) when there is no WebDriver.
async fn start() -> Option<(TestApp, Browser)> {
    let webdriver = webdriver_url()?;
    let app = TestApp::spawn(Db::Sqlite).await;
    let browser = Browser::open(&webdriver, &app.base).await;
    Some((app, browser))
}

/// The newest dev-mailbox message sent to `to`, opened in the browser; returns the first link
/// of its plain-text body that starts with `prefix`.
async fn open_mail_and_find_link(
    app: &TestApp,
    b: &Browser,
    to: &str,
    subject_part: &str,
) -> String {
    app.drain_jobs().await;
    b.visit("/dev/mailbox").await;
    let rows = b
        .c()
        .find_all(Locator::Css("main table tbody tr"))
        .await
        .expect("mailbox rows");
    let mut target = None;
    for row in rows {
        let text = row.text().await.expect("row text");
        if text.contains(to) && text.contains(subject_part) {
            target = Some(row.find(Locator::Css("a")).await.expect("subject link"));
            break;
        }
    }
    let link =
        target.unwrap_or_else(|| panic!("no email to {to} about {subject_part:?} in the mailbox"));
    let marker = b.mark_page().await;
    link.click().await.expect("open message");
    b.wait_for_new_page(&marker).await;
    b.check_page().await;
    assert!(b.text("h1").await.contains(subject_part));
    // The HTML version is shown in a sandboxed frame; its button carries the link.
    b.find("iframe.mail-frame")
        .await
        .enter_frame()
        .await
        .expect("enter frame");
    let button = b
        .c()
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("a[href*='-password/']"))
        .await
        .expect("the email's button");
    let href = button.attr("href").await.expect("href").expect("a link");
    b.c().enter_parent_frame().await.expect("leave frame");
    let text = b.text("pre.mail-text").await;
    assert!(
        text.contains(&href),
        "the plain-text version has the same link"
    );
    href
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_then_add_edit_find_and_delete_a_contact() {
    let Some((app, b)) = start().await else {
        return;
    };

    b.visit("/sign-up").await;
    b.screenshot("sign-up.png").await;
    b.sign_up(
        "Ada Lovelace",
        "ada@analytical.example",
        "Analytical Engines",
    )
    .await;
    assert!(b.flash().await.contains("Welcome to Rapport"));
    assert!(b.text("h1").await.contains("Contacts"));
    assert!(b.body_text().await.contains("No contacts yet"));
    assert!(b.text(".user-org").await.contains("Analytical Engines"));
    b.screenshot("contacts-empty.png").await;

    // A bad email: the message sits next to the field, and what was typed is kept.
    b.click_and_wait("a[href='/contacts/new']").await;
    b.fill("name", "Grace Hopper").await;
    b.fill("email", "grace-at-navy").await;
    b.fill("company", "US Navy").await;
    b.fill("job_title", "Rear Admiral").await;
    b.fill(
        "notes",
        "Met at the compiler conference.\nLikes nanoseconds.",
    )
    .await;
    b.click_and_wait("main form button[type=submit]").await;
    assert_eq!(b.path().await, "/contacts");
    let email = b.find("#email").await;
    assert_eq!(
        email.attr("aria-invalid").await.unwrap().as_deref(),
        Some("true")
    );
    assert_eq!(
        email.attr("aria-describedby").await.unwrap().as_deref(),
        Some("email-error")
    );
    let error = b.text("#email-error").await;
    assert!(error.contains("not a valid email address"), "{error}");
    let parent_has_both = b
        .c()
        .execute(
            "const e = document.getElementById('email-error'); return e.parentElement.contains(document.getElementById('email'));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        parent_has_both,
        json!(true),
        "the error is next to its field"
    );
    assert_eq!(b.value("name").await, "Grace Hopper");
    assert_eq!(b.value("email").await, "grace-at-navy");
    assert_eq!(b.value("company").await, "US Navy");
    assert!(b.value("notes").await.contains("Likes nanoseconds."));
    assert!(b.text("[role=alert]").await.contains("Nothing was saved"));
    b.screenshot("contact-form-errors.png").await;

    b.fill("email", "grace@navy.example").await;
    b.click_and_wait("main form button[type=submit]").await;
    assert!(b.path().await.starts_with("/contacts/"));
    assert!(b.flash().await.contains("Grace Hopper was added"));
    assert_eq!(b.text("h1").await, "Grace Hopper");
    let contact_path = b.path().await;

    // Edit the job title; the timeline records both events.
    b.click_and_wait(&format!("a[href='{contact_path}/edit']"))
        .await;
    assert_eq!(b.value("email").await, "grace@navy.example");
    b.fill("job_title", "Computer scientist").await;
    b.fill("time_zone", "America/New_York").await;
    b.click_and_wait("main form button[type=submit]").await;
    assert_eq!(b.path().await, contact_path);
    let details = b.text(".details").await;
    assert!(details.contains("Computer scientist"), "{details}");
    assert!(details.contains("America/New_York"), "{details}");
    let timeline = b.text(".timeline").await;
    assert!(
        timeline.contains("Ada Lovelace added this contact"),
        "{timeline}"
    );
    assert!(
        timeline.to_lowercase().contains("edited") || timeline.contains("changed"),
        "{timeline}"
    );
    assert_eq!(b.count(".timeline li").await, 2);
    b.screenshot("contact-page.png").await;

    // Search finds her by company, and not by something she is not.
    b.visit("/contacts").await;
    b.fill("q", "navy").await;
    b.click_and_wait("form[role=search] button").await;
    assert_eq!(b.path().await, "/contacts?q=navy");
    assert!(b.text("main table").await.contains("Grace Hopper"));
    b.fill("q", "babbage").await;
    b.click_and_wait("form[role=search] button").await;
    assert!(b.body_text().await.contains("No contact matches “babbage”"));

    // Delete, through the confirmation page.
    b.visit(&contact_path).await;
    b.click_and_wait(&format!("a[href='{contact_path}/delete']"))
        .await;
    assert_eq!(b.text("h1").await, "Delete Grace Hopper?");
    b.screenshot("contact-delete.png").await;
    b.click_and_wait("main form button.btn-danger").await;
    assert_eq!(b.path().await, "/contacts");
    assert!(b.flash().await.contains("Grace Hopper was deleted"));
    assert!(b.body_text().await.contains("No contacts yet"));
    b.visit(&contact_path).await;
    assert_eq!(b.text("h1").await, "Page not found");

    drop(b);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_import_reports_bad_rows_and_export_downloads() {
    let Some((app, b)) = start().await else {
        return;
    };
    b.sign_up(
        "Ada Lovelace",
        "ada@analytical.example",
        "Analytical Engines",
    )
    .await;

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("contacts.csv");
    std::fs::write(
        &file,
        "name,email,company,job_title\n\
         Charles Babbage,charles@engines.example,Difference Engines,Inventor\n\
         Mary Somerville,mary@science.example,Royal Society,Scientist\n\
         Michael Faraday,not-an-email,Royal Institution,Chemist\n\
         Augustus De Morgan,augustus@ucl.example,UCL,Professor\n",
    )
    .unwrap();

    b.visit("/contacts").await;
    b.click_and_wait("a[href='/contacts/import']").await;
    b.screenshot("import.png").await;
    b.find("#file")
        .await
        .send_keys(&file.display().to_string())
        .await
        .expect("choose the file");
    b.click_and_wait("main form button[type=submit]").await;
    let status = b.text("main > .flash").await;
    assert!(status.contains("Imported 3 contacts"), "{status}");
    assert!(status.contains("1 row was not imported"), "{status}");
    let rejected = b.text("main table").await;
    // Line 4 of the file (the header is line 1).
    assert!(rejected.contains('4'), "{rejected}");
    assert!(rejected.contains("not a valid email address"), "{rejected}");
    assert_eq!(b.count("main table tbody tr").await, 1);
    b.screenshot("import-result.png").await;

    b.visit("/contacts").await;
    let list = b.text("main table").await;
    for name in ["Charles Babbage", "Mary Somerville", "Augustus De Morgan"] {
        assert!(list.contains(name), "{name} in {list}");
    }
    assert!(!list.contains("Michael Faraday"));

    // The export link downloads CSV for this signed-in browser.
    let href = b
        .find("a[href='/contacts/export.csv']")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let response = reqwest::Client::new()
        .get(app.url(&href))
        .header(reqwest::header::COOKIE, b.cookie_header().await)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let content_type = response.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    let disposition = response.headers()[reqwest::header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    let body = response.text().await.unwrap();
    assert!(body.starts_with("name,"), "{body}");
    assert_eq!(body.lines().count(), 4, "{body}");
    assert!(body.contains("charles@engines.example"));
    // Without the session there is no download.
    let anonymous = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url(&href))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), reqwest::StatusCode::SEE_OTHER);

    drop(b);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invited_teammate_sets_a_password_and_sees_the_same_contacts() {
    let Some((app, owner)) = start().await else {
        return;
    };
    let webdriver = webdriver_url().unwrap();
    owner
        .sign_up(
            "Ada Lovelace",
            "ada@analytical.example",
            "Analytical Engines",
        )
        .await;
    owner.visit("/contacts/new").await;
    owner.fill("name", "Charles Babbage").await;
    owner.click_and_wait("main form button[type=submit]").await;

    owner.visit("/settings/team").await;
    owner.fill("name", "Mary Somerville").await;
    owner.fill("email", "mary@analytical.example").await;
    owner
        .click_and_wait("main form[action='/settings/team'] button")
        .await;
    assert!(owner.flash().await.contains("mary@analytical.example"));
    let team = owner.text("main table").await;
    assert!(team.contains("Mary Somerville"), "{team}");
    assert!(team.contains("Invited"), "{team}");
    owner.screenshot("team.png").await;

    let link = open_mail_and_find_link(&app, &owner, "mary@analytical.example", "invited").await;
    owner.screenshot("mail-message.png").await;
    owner.visit("/dev/mailbox").await;
    owner.screenshot("mailbox.png").await;
    assert!(link.starts_with(&app.base), "{link}");
    assert!(link.contains("/set-password/"), "{link}");

    // Mary, in her own browser.
    let mary = Browser::open(&webdriver, &app.base).await;
    mary.visit(link.trim_start_matches(&app.base)).await;
    assert_eq!(mary.text("h1").await, "Choose a password");
    assert!(mary.body_text().await.contains("mary@analytical.example"));
    mary.fill("password", "short").await;
    mary.click_and_wait("main form button[type=submit]").await;
    assert!(mary.text("#password-error").await.contains("8"));
    mary.screenshot("set-password-error.png").await;
    mary.fill("password", "a notebook of sums").await;
    mary.click_and_wait("main form button[type=submit]").await;
    assert_eq!(mary.path().await, "/sign-in");
    assert!(mary.flash().await.contains("Your password is set"));
    mary.screenshot("sign-in.png").await;
    mary.sign_in("mary@analytical.example", "a notebook of sums")
        .await;
    assert_eq!(mary.path().await, "/contacts");
    assert!(mary.text(".user-org").await.contains("Analytical Engines"));
    assert!(mary.text("main table").await.contains("Charles Babbage"));
    // A member does not see the owner's pages.
    mary.visit("/settings/team").await;
    assert_eq!(mary.count("form[action='/settings/team']").await, 0);
    assert_eq!(mary.count("a[href='/admin/jobs']").await, 0);

    // The link worked once.
    mary.visit(link.trim_start_matches(&app.base)).await;
    assert_eq!(mary.text("h1").await, "This link no longer works");

    owner.visit("/settings/team").await;
    assert!(owner.text("main table").await.contains("Active"));

    drop(mary);
    drop(owner);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgotten_password_is_reset_through_the_emailed_link() {
    let Some((app, b)) = start().await else {
        return;
    };
    b.sign_up(
        "Ada Lovelace",
        "ada@analytical.example",
        "Analytical Engines",
    )
    .await;
    b.sign_out().await;
    assert_eq!(b.path().await, "/sign-in");

    b.sign_in("ada@analytical.example", "not my password").await;
    assert!(b.text("[role=alert]").await.len() > 5);
    assert_eq!(b.value("email").await, "ada@analytical.example");
    b.screenshot("sign-in-error.png").await;

    b.click_and_wait("a[href='/forgot-password']").await;
    b.screenshot("forgot-password.png").await;
    b.fill("email", "ada@analytical.example").await;
    b.click_and_wait("main form button[type=submit]").await;
    assert!(b.body_text().await.contains("we have sent it a link"));

    let link = open_mail_and_find_link(&app, &b, "ada@analytical.example", "password").await;
    assert!(link.contains("/reset-password/"), "{link}");
    b.visit(link.trim_start_matches(&app.base)).await;
    assert_eq!(b.text("h1").await, "Choose a password");
    b.screenshot("set-password.png").await;
    b.fill("password", "a brand new sentence").await;
    b.click_and_wait("main form button[type=submit]").await;
    assert_eq!(b.path().await, "/sign-in");

    b.sign_in("ada@analytical.example", PASSWORD).await;
    assert_eq!(
        b.path().await,
        "/sign-in",
        "the old password no longer works"
    );
    b.sign_in("ada@analytical.example", "a brand new sentence")
        .await;
    assert_eq!(b.path().await, "/contacts");
    assert!(b.text(".user-name").await.contains("Ada Lovelace"));

    drop(b);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_pages_and_other_organizations_contacts_are_not_found() {
    let Some((app, b)) = start().await else {
        return;
    };
    // Another organization's contact, created over HTTP by a second account.
    let other = app.new_browser();
    let response = crate::support::submit_with(
        &other,
        &app.base,
        "/sign-up",
        "/sign-up",
        &[
            ("name", "Other Owner"),
            ("email", "owner@other.example"),
            ("password", PASSWORD),
            ("org_name", "Other Org"),
            ("time_zone", "Europe/Paris"),
        ],
    )
    .await;
    assert_eq!(response.status(), reqwest::StatusCode::SEE_OTHER);
    let response = crate::support::submit_with(
        &other,
        &app.base,
        "/contacts/new",
        "/contacts",
        &[("name", "Secret Person"), ("email", "secret@other.example")],
    )
    .await;
    let their_contact = crate::support::location(&response);
    assert!(their_contact.starts_with("/contacts/"), "{their_contact}");

    b.visit("/no/such/page").await;
    assert_eq!(b.text("h1").await, "Page not found");
    assert!(b.find("a[href='/']").await.is_displayed().await.unwrap());
    b.screenshot("not-found.png").await;

    b.sign_up(
        "Ada Lovelace",
        "ada@analytical.example",
        "Analytical Engines",
    )
    .await;
    b.visit(&their_contact).await;
    assert_eq!(b.text("h1").await, "Page not found");
    assert!(!b.body_text().await.contains("Secret Person"));
    b.visit(&format!("{their_contact}/edit")).await;
    assert_eq!(b.text("h1").await, "Page not found");
    b.visit("/contacts?q=secret").await;
    assert!(b.body_text().await.contains("No contact matches"));

    drop(b);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_contact_list_settings_and_jobs_on_desktop_and_phone() {
    let Some((app, b)) = start().await else {
        return;
    };
    b.sign_up(
        "Ada Lovelace",
        "ada@analytical.example",
        "Analytical Engines",
    )
    .await;
    let org_id = {
        let mut pooled = app.state.db.acquire().await.unwrap();
        rapport::accounts::storage::find_user_by_email(&mut pooled.conn(), "ada@analytical.example")
            .await
            .unwrap()
            .unwrap()
            .0
            .org_id
    };
    {
        let mut rng = rand::thread_rng();
        let mut pooled = app.state.db.acquire().await.unwrap();
        let now = app.state.clock.now();
        for n in 0..30 {
            let contact = rapport::commands::fake_contact(&mut rng, n);
            rapport::contacts::storage::insert(&mut pooled.conn(), org_id, None, &contact, now)
                .await
                .unwrap();
        }
    }

    b.visit("/contacts").await;
    assert!(b.text(".page-head").await.contains("30 contacts"));
    assert!(b.count("main table tbody tr").await >= 25);
    b.screenshot("contacts-list.png").await;
    let first = b
        .find("main table tbody a.contact-link")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();

    b.visit("/settings").await;
    assert_eq!(b.value("name").await, "Ada Lovelace");
    b.screenshot("settings.png").await;
    b.fill("name", "Ada King").await;
    b.select("time_zone", "Europe/London").await;
    b.click_and_wait("main form[action='/settings'] button")
        .await;
    assert!(b.flash().await.contains("saved"));
    assert_eq!(b.value("name").await, "Ada King");
    assert!(b.text(".user-name").await.contains("Ada King"));

    // An invitation gives the job queue something to show.
    b.visit("/settings/team").await;
    b.fill("name", "Charles Babbage").await;
    b.fill("email", "charles@analytical.example").await;
    b.click_and_wait("main form[action='/settings/team'] button")
        .await;
    app.drain_jobs().await;
    b.visit("/admin/jobs").await;
    assert!(b.text("main h2").await.contains("Background jobs"));
    b.click_and_wait("a[href='/admin/jobs?state=done']").await;
    let done = b.text("main table").await;
    assert!(done.contains("1 / 4"), "{done}");
    b.screenshot("admin-jobs.png").await;

    b.visit("/meetings").await;
    b.screenshot("meetings.png").await;

    // A phone: nothing wider than the screen, and the main actions still there.
    b.phone().await;
    for (path, name) in [
        ("/contacts", "contacts-list-mobile.png"),
        (first.as_str(), "contact-page-mobile.png"),
        ("/contacts/new", "contact-form-mobile.png"),
    ] {
        b.visit(path).await;
        let out = b.sticking_out().await;
        assert!(
            out.is_empty(),
            "{path} does not fit a 390px screen: {out:?}"
        );
        b.screenshot(name).await;
    }
    b.visit("/contacts").await;
    assert!(
        b.find("a[href='/contacts/new']")
            .await
            .is_displayed()
            .await
            .unwrap()
    );
    b.sign_out().await;
    b.visit("/sign-in").await;
    let out = b.sticking_out().await;
    assert!(out.is_empty(), "sign-in does not fit a phone: {out:?}");
    b.screenshot("sign-in-mobile.png").await;
    b.desktop().await;

    drop(b);
    app.shutdown().await;
}

/// Clicks an element on a page that is not Rapport's (the Zoom simulator) and waits for the
/// next page, without Rapport's page checks.
async fn click_elsewhere(b: &Browser, css: &str) {
    let marker = b.mark_page().await;
    b.find(css).await.click().await.expect("click");
    b.wait_for_new_page(&marker).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zoom_is_connected_on_the_consent_page_a_meeting_is_scheduled_and_zoom_is_disconnected() {
    let Some((app, b)) = start().await else {
        return;
    };
    b.sign_up("Ada Lovelace", "ada@example.com", "Analytical Engines")
        .await;
    b.visit("/settings").await;
    b.screenshot("settings-zoom-not-connected.png").await;
    b.doc_shot("#connections", "zoom-connect.png").await;

    // Connect: off to the (simulated) Zoom sign-in and consent pages and back.
    click_elsewhere(&b, "form[action='/settings/zoom/connect'] button").await;
    b.fill("email", "ada.zoom@example.com").await;
    b.find("input[name=plan][value=licensed]")
        .await
        .click()
        .await
        .expect("plan");
    click_elsewhere(&b, "form[action='/oauth/signin'] button[type=submit]").await;
    assert!(
        b.body_text().await.contains("Rapport"),
        "the consent page names the app"
    );
    b.screenshot("zoom-consent.png").await;
    b.doc_shot(".card.narrow", "zoom-consent.png").await;
    b.click_and_wait("button[name=decision][value=allow]").await;
    assert_eq!(b.path().await, "/settings");
    let body = b.body_text().await;
    assert!(body.contains("Zoom is connected"), "{body}");
    assert!(
        body.contains("ada.zoom@example.com") && body.contains("Licensed"),
        "{body}"
    );
    b.screenshot("settings-zoom-connected.png").await;
    b.doc_shot("#connections", "zoom-connected.png").await;

    // A contact, then a meeting with them.
    b.visit("/contacts/new").await;
    b.fill("name", "Grace Hopper").await;
    b.fill("email", "grace@example.com").await;
    b.fill("time_zone", "America/New_York").await;
    b.click_and_wait("form[action='/contacts'] button[type=submit]")
        .await;
    b.click_and_wait("a[href$='/meetings/new']").await;
    assert_eq!(b.value("topic").await, "Meeting with Grace Hopper");
    // Before the fields change: the hint under the time zone describes the values shown.
    b.doc_shot(
        "main .breadcrumb, main .page-head, main section.card",
        "zoom-schedule.png",
    )
    .await;
    // Date and time inputs take locale-specific typing; set their values directly.
    b.c()
        .execute(
            "document.getElementById('date').value = '2030-03-05'; document.getElementById('time').value = '15:00';",
            vec![],
        )
        .await
        .expect("set date and time");
    b.select("time_zone", "Europe/Paris").await;
    b.fill("duration", "45").await;
    b.screenshot("meeting-form.png").await;
    b.click_and_wait("form[action$='/meetings'] button[type=submit]")
        .await;
    assert!(
        b.flash().await.contains("Meeting scheduled"),
        "{}",
        b.flash().await
    );
    assert!(b.body_text().await.contains("Scheduled"));
    b.screenshot("contact-with-meeting.png").await;

    // Zoom has exactly that meeting, at 14:00 UTC; Grace has her invitation.
    let sim = app
        .state
        .zoom
        .simulator
        .as_ref()
        .expect("embedded simulator");
    let meetings = sim.meetings();
    assert_eq!(meetings.len(), 1);
    assert_eq!(meetings[0].topic, "Meeting with Grace Hopper");
    assert_eq!(
        meetings[0].start_time.to_rfc3339(),
        "2030-03-05T14:00:00+00:00"
    );
    let mail = crate::kit::mailbox(&app).await;
    assert!(mail.iter().any(|m| {
        m.to_address.contains("grace@example.com")
            && m.subject
                .starts_with("Invitation: Meeting with Grace Hopper")
    }));

    b.visit("/meetings").await;
    assert!(b.body_text().await.contains("Meeting with Grace Hopper"));
    b.screenshot("meetings-agenda.png").await;

    // Disconnect: a confirmation first, then Settings offers Connect again.
    b.visit("/settings").await;
    b.click_and_wait("#connections a[href='/settings/zoom/disconnect']")
        .await;
    assert_eq!(b.text("h1").await, "Disconnect Zoom?");
    b.doc_shot("main .card", "zoom-disconnect.png").await;
    b.click_and_wait("form[action='/settings/zoom/disconnect'] button[type=submit]")
        .await;
    assert_eq!(b.path().await, "/settings");
    let connections = b.text("#connections").await;
    assert!(connections.contains("Not connected"), "{connections}");
    assert!(
        b.count("form[action='/settings/zoom/connect'] button")
            .await
            == 1,
        "Connect Zoom is offered again"
    );
}

/// The pages a Zoom reviewer and a new user see first, signed out: each passes the page checks
/// (lang, one h1, one main, a nav, labelled controls, alt text, no console errors), its pictures
/// load, and it fits a 375px phone without scrolling sideways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_pages_are_accessible_and_fit_a_small_phone_without_signing_in() {
    let Some((app, b)) = start().await else {
        return;
    };
    let pages = [
        ("/docs/zoom", "public-docs-zoom"),
        ("/privacy", "public-privacy"),
        ("/terms", "public-terms"),
        ("/support", "public-support"),
        ("/sign-in", "public-sign-in"),
    ];
    for (path, name) in pages {
        b.visit(path).await;
        assert_eq!(b.path().await, path, "{path} is shown without a session");
        assert!(
            b.count("footer nav a[href='/privacy']").await == 1,
            "{path} links the privacy policy"
        );
        let broken = b
            .c()
            .execute(
                "return [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.getAttribute('src'));",
                vec![],
            )
            .await
            .expect("images");
        assert_eq!(broken, json!([]), "{path} has pictures that do not load");
        if path == "/docs/zoom" {
            assert_eq!(b.count("main figure img").await, 5, "the Zoom screenshots");
        }
        b.screenshot(&format!("{name}.png")).await;
    }

    b.phone_of_width(375).await;
    for (path, name) in pages {
        b.visit(path).await;
        let out = b.sticking_out().await;
        assert!(
            out.is_empty(),
            "{path} does not fit a 375px screen: {out:?}"
        );
        b.screenshot(&format!("{name}-375.png")).await;
    }
    b.desktop().await;

    drop(b);
    app.shutdown().await;
}
