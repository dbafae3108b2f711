//! `rapport zoom manifest`: everything to enter in the Zoom Marketplace, computed from the
//! configuration and from zoom-api's endpoint table (so the scopes cannot drift from the code).

use serde::Serialize;
use zoom_api::endpoints::ENDPOINTS;

use crate::config::Config;

/// Events Rapport subscribes to, and why.
pub const EVENTS: [(&str, &str); 5] = [
    (
        "app_deauthorized",
        "delete the user's Zoom data when they remove the app in Zoom",
    ),
    (
        "meeting.deleted",
        "mark meetings deleted in Zoom as cancelled and tell the contact",
    ),
    (
        "meeting.updated",
        "keep meetings edited in Zoom up to date in the CRM",
    ),
    (
        "meeting.started",
        "show on the contact's timeline that the meeting started",
    ),
    (
        "meeting.ended",
        "show on the contact's timeline that the meeting ended, with its duration",
    ),
];

#[derive(Debug, Serialize)]
pub struct ScopeEntry {
    pub scope: String,
    pub classic: Option<String>,
    pub endpoints: Vec<String>,
    pub why: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Manifest {
    pub app_type: &'static str,
    pub redirect_url: String,
    pub oauth_allow_list: Vec<String>,
    pub install_type: &'static str,
    pub install_url: String,
    pub event_notification_endpoint: String,
    pub events: Vec<(String, String)>,
    pub documentation_url: String,
    pub privacy_url: String,
    pub terms_url: String,
    pub support_url: String,
    pub domain_verification_url: String,
    pub scopes: Vec<ScopeEntry>,
}

pub fn build(config: &Config) -> Manifest {
    let redirect_url = config.url_for("/settings/zoom/callback");
    let mut scopes: Vec<ScopeEntry> = Vec::new();
    for e in ENDPOINTS {
        let Some(scope) = e.granular_scope else {
            continue;
        };
        let endpoint = format!("{} {}", e.method, e.path);
        match scopes.iter_mut().find(|s| s.scope == scope) {
            Some(entry) => {
                entry.endpoints.push(endpoint);
                entry.why.push(e.why.to_owned());
            }
            None => scopes.push(ScopeEntry {
                scope: scope.to_owned(),
                classic: e.classic_scope.map(str::to_owned),
                endpoints: vec![endpoint],
                why: vec![e.why.to_owned()],
            }),
        }
    }
    scopes.sort_by(|a, b| a.scope.cmp(&b.scope));
    Manifest {
        app_type: "General app, user-managed, OAuth (authorization code with PKCE)",
        oauth_allow_list: vec![redirect_url.clone()],
        redirect_url,
        install_type: "Visit site to install",
        install_url: config.url_for("/settings#connections"),
        event_notification_endpoint: config.url_for("/webhooks/zoom"),
        events: EVENTS
            .iter()
            .map(|(e, w)| ((*e).to_owned(), (*w).to_owned()))
            .collect(),
        documentation_url: config.url_for("/docs/zoom"),
        privacy_url: config.url_for("/privacy"),
        terms_url: config.url_for("/terms"),
        support_url: config.url_for("/support"),
        domain_verification_url: config.url_for("/verifyzoom.html"),
        scopes,
    }
}

pub fn to_markdown(m: &Manifest) -> String {
    let mut out = String::from("# Zoom Marketplace submission\n\n");
    out.push_str(&format!("- **App type:** {}\n", m.app_type));
    out.push_str(&format!("- **OAuth redirect URL:** `{}`\n", m.redirect_url));
    out.push_str(&format!(
        "- **OAuth allow list:** {}\n",
        m.oauth_allow_list
            .iter()
            .map(|u| format!("`{u}`"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    out.push_str(&format!(
        "- **Install type:** {} — `{}`\n",
        m.install_type, m.install_url
    ));
    out.push_str(&format!("- **Event notification endpoint:** `{}` (Secret Token: set the same value as `ZOOM_WEBHOOK_SECRET_TOKEN`)\n", m.event_notification_endpoint));
    out.push_str(&format!("- **Documentation:** {}\n- **Privacy policy:** {}\n- **Terms of use:** {}\n- **Support:** {}\n", m.documentation_url, m.privacy_url, m.terms_url, m.support_url));
    out.push_str(&format!(
        "- **Domain verification:** {} (set `ZOOM_DOMAIN_VERIFICATION`)\n\n",
        m.domain_verification_url
    ));
    out.push_str("## Events to subscribe to\n\n| event | why |\n|---|---|\n");
    for (event, why) in &m.events {
        out.push_str(&format!("| `{event}` | {why} |\n"));
    }
    out.push_str("\n## Scopes\n\n| granular scope | classic equivalent | endpoints | why |\n|---|---|---|---|\n");
    for s in &m.scopes {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            s.scope,
            s.classic
                .as_deref()
                .map(|c| format!("`{c}`"))
                .unwrap_or_else(|| "-".into()),
            s.endpoints
                .iter()
                .map(|e| format!("`{e}`"))
                .collect::<Vec<_>>()
                .join("<br>"),
            s.why.join("; ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_exactly_what_the_endpoint_table_needs() {
        // Every scope requested is used by an endpoint, and every endpoint's scope is requested.
        let config = crate::config::Config::from_args(
            &<crate::cli::Cli as clap::Parser>::parse_from(["rapport"]).server,
        )
        .unwrap();
        let manifest = build(&config);
        let requested: std::collections::BTreeSet<&str> =
            manifest.scopes.iter().map(|s| s.scope.as_str()).collect();
        let needed: std::collections::BTreeSet<&str> =
            ENDPOINTS.iter().filter_map(|e| e.granular_scope).collect();
        assert_eq!(requested, needed);
        assert_eq!(
            requested,
            zoom_api::endpoints::required_scopes().iter().collect()
        );
        for s in &manifest.scopes {
            assert!(
                !s.endpoints.is_empty() && s.why.iter().all(|w| !w.is_empty()),
                "{s:?}"
            );
        }
        assert!(manifest.redirect_url.ends_with("/settings/zoom/callback"));
        let md = to_markdown(&manifest);
        assert!(md.contains("meeting:write:meeting") && md.contains("app_deauthorized"));
    }
}
