//! Setting up the data a scenario needs the way a user would: through Rapport's pages
//! (sign-up, contacts, connecting Zoom through the simulator's consent step).

use std::collections::BTreeMap;
use std::sync::Mutex;

use anyhow::{Context, Result, bail};
use reqwest::{RequestBuilder, Response, StatusCode, header};
use zoom_sim::{AuthorizeOutcome, AuthorizeRequest, Plan};

pub const PASSWORD: &str = "bench horse battery staple";

/// A signed-in browser of one Rapport user.
pub struct Browser {
    pub base: String,
    pub client: reqwest::Client,
    /// Rapport's cookies, by name. One origin, no paths or expiry to honour: a map is the
    /// whole jar this needs (reqwest's `cookies` feature adds five crates to the build).
    cookies: Mutex<BTreeMap<String, String>>,
}

impl Browser {
    pub fn new(base: &str) -> Result<Browser> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Browser {
            base: base.to_owned(),
            client,
            cookies: Mutex::new(BTreeMap::new()),
        })
    }

    /// The `Cookie` header this browser sends (session and anti-forgery cookies), for load
    /// workers that share the session without sharing a cookie store.
    pub fn cookie_header(&self) -> Result<String> {
        let header = self.cookies_sent();
        if header.is_empty() {
            bail!("no cookies: not signed in");
        }
        Ok(header)
    }

    fn cookies_sent(&self) -> String {
        let jar = self.cookies.lock().unwrap_or_else(|e| e.into_inner());
        jar.iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Sends a request to Rapport with this browser's cookies and keeps the ones it sets.
    async fn send(&self, request: RequestBuilder) -> Result<Response> {
        let cookies = self.cookies_sent();
        let request = if cookies.is_empty() {
            request
        } else {
            request.header(header::COOKIE, cookies)
        };
        let response = request.send().await?;
        let mut jar = self.cookies.lock().unwrap_or_else(|e| e.into_inner());
        for set in response.headers().get_all(header::SET_COOKIE) {
            let Some((name, value)) = set.to_str().ok().and_then(parse_set_cookie) else {
                continue;
            };
            if value.is_empty() {
                jar.remove(&name);
            } else {
                jar.insert(name, value);
            }
        }
        Ok(response)
    }

    pub async fn page(&self, path: &str) -> Result<String> {
        let r = self
            .send(self.client.get(format!("{}{path}", self.base)))
            .await?;
        if r.status() != StatusCode::OK {
            bail!("GET {path}: {}", r.status());
        }
        Ok(r.text().await?)
    }

    /// The anti-forgery token of the forms on `page`.
    pub async fn csrf(&self, page: &str) -> Result<String> {
        let html = self.page(page).await?;
        hidden_value(&html, "csrf_token").with_context(|| format!("no csrf_token on {page}"))
    }

    /// Posts a form the way the page at `form_page` would; returns the redirect target.
    pub async fn submit(
        &self,
        form_page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> Result<String> {
        let token = self.csrf(form_page).await?;
        let mut all = fields.to_vec();
        all.push(("csrf_token", &token));
        let r = self
            .send(
                self.client
                    .post(format!("{}{action}", self.base))
                    .form(&all),
            )
            .await?;
        if r.status() != StatusCode::SEE_OTHER {
            let status = r.status();
            let body = r.text().await.unwrap_or_default();
            bail!("POST {action}: {status}: {}", excerpt(&body));
        }
        location(&r)
    }

    pub async fn sign_up(base: &str, name: &str, email: &str, org: &str) -> Result<Browser> {
        let b = Browser::new(base)?;
        b.submit(
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
        .await?;
        Ok(b)
    }

    pub async fn add_contact(&self, name: &str, email: &str) -> Result<i64> {
        let to = self
            .submit(
                "/contacts/new",
                "/contacts",
                &[
                    ("name", name),
                    ("email", email),
                    ("company", "Bench Industries"),
                    ("time_zone", "America/New_York"),
                ],
            )
            .await?;
        to.trim_start_matches("/contacts/")
            .parse()
            .with_context(|| format!("contact location {to}"))
    }

    /// Connects this user's Zoom as `zoom_email` through the simulator's consent step.
    pub async fn connect_zoom(&self, sim: &str, zoom_email: &str) -> Result<()> {
        let to_zoom = self
            .submit("/settings", "/settings/zoom/connect", &[])
            .await?;
        let url = url::Url::parse(&to_zoom)?;
        let q = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        let consent = AuthorizeRequest {
            email: zoom_email.to_owned(),
            plan: Some(Plan::Licensed),
            client_id: q("client_id").context("client_id")?,
            redirect_uri: q("redirect_uri").context("redirect_uri")?,
            state: q("state"),
            code_challenge: q("code_challenge"),
            code_challenge_method: q("code_challenge_method"),
            decline: false,
        };
        let outcome: AuthorizeOutcome = self
            .client
            .post(format!("{sim}/_sim/authorize"))
            .json(&consent)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let r = self.send(self.client.get(&outcome.redirect_url)).await?;
        let back = location(&r)?;
        if back != "/settings" {
            bail!("Zoom callback went to {back}");
        }
        let settings = self.page("/settings").await?;
        if !settings.contains("Disconnect") {
            bail!("Zoom is not connected after the callback");
        }
        Ok(())
    }
}

/// The name and value of a `Set-Cookie` header; an empty value when it deletes the cookie.
fn parse_set_cookie(header: &str) -> Option<(String, String)> {
    let mut parts = header.split(';').map(str::trim);
    let (name, value) = parts.next()?.split_once('=')?;
    let expired = parts.any(|attribute| attribute.eq_ignore_ascii_case("max-age=0"));
    let value = if expired { "" } else { value };
    Some((name.to_owned(), value.to_owned()))
}

pub fn hidden_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

pub fn location(r: &reqwest::Response) -> Result<String> {
    Ok(r.headers()
        .get(header::LOCATION)
        .context("no Location header")?
        .to_str()?
        .to_owned())
}

fn excerpt(body: &str) -> String {
    body.chars().take(300).collect()
}
